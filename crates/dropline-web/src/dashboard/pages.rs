//! The dashboard's pages: askama templates (in `templates/dashboard/`, every value escaped)
//! and the views they show, made from the engine's types.

use crate::api::supplier_orders::{SupplierOrderAction, allowed_actions};
use askama::Template;
use dropline_app::AppError;
use dropline_domain::catalog::Supplier;
use dropline_domain::ids::OrderId;
use dropline_domain::ledger::{ClaimEvent, ClaimState, DisputeState, ReturnState, next_claim_state};
use dropline_domain::money::Money;
use dropline_domain::order::{Order, SupplierOrder};
use dropline_domain::state::{OrderEvent, OrderState, PaymentState, ShipmentState, next_order_state};
use dropline_domain::timeline::{Actor, TimelineEvent};
use dropline_domain::validation::Severity;
use time::OffsetDateTime;

/// What the shared layout shows of the signed-in user.
pub(crate) struct Layout {
    pub(crate) email: String,
    /// The session's CSRF token, for the sign-out form in the header.
    pub(crate) csrf: String,
    /// Whether the user may change settings, suppliers and the catalogue (not staff).
    pub(crate) settings: bool,
}

/// A posted form, as name and value pairs (checkboxes and lists repeat names).
pub(crate) struct Posted(pub(crate) Vec<(String, String)>);

impl Posted {
    /// The value of a field (the last one when the name is repeated).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The field's text as typed (empty when absent).
    pub(crate) fn raw(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// The field's text, trimmed; `None` when empty.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        Some(self.raw(name).trim().to_string()).filter(|t| !t.is_empty())
    }

    /// Every value of a repeated field.
    pub(crate) fn values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Whether the checkbox was ticked (a browser sends an unticked one not at all).
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// The refused fields of a posted form, by field name, shown next to each field when the
/// form is rendered again.
#[derive(Default)]
pub(crate) struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub(crate) fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push((field.into(), reason.into()));
    }

    /// The reason the named field was refused, if it was.
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, reason)| reason.as_str())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every refused field, for a summary at the top of the form.
    pub(crate) fn all(&self) -> &[(String, String)] {
        &self.0
    }
}

impl From<&[dropline_app::FieldError]> for FieldErrors {
    fn from(fields: &[dropline_app::FieldError]) -> Self {
        Self(fields.iter().map(|f| (f.field.clone(), f.reason.clone())).collect())
    }
}

/// A page with only a title and a sentence (not found, forbidden, failures).
#[derive(Template)]
#[template(path = "dashboard/message.html")]
pub(crate) struct Message {
    pub(crate) layout: Option<Layout>,
    pub(crate) title: String,
    pub(crate) text: String,
}

#[derive(Template, Default)]
#[template(path = "dashboard/sign_in.html")]
pub(crate) struct SignIn {
    /// Always `None`: no header before signing in.
    pub(crate) layout: Option<Layout>,
    pub(crate) email: String,
    pub(crate) error: Option<String>,
    /// The form's token, paired with the `dropline_sign_in` cookie.
    pub(crate) token: String,
}

pub(crate) fn moment(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}

pub(crate) fn label(code: &str) -> String {
    let text = code.replace('_', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn chip_class(state: OrderState) -> &'static str {
    match state {
        OrderState::Delivered | OrderState::Completed => "ok",
        OrderState::DeliveryFailed | OrderState::Cancelled | OrderState::Rejected => "bad",
        OrderState::PendingReview | OrderState::OnHold => "wait",
        _ => "",
    }
}

/// Only `https://` and `http://` links reach an `href`: a `javascript:` URL would run when
/// clicked, escaped or not.
pub(crate) fn safe_url(url: Option<&str>) -> Option<String> {
    let url = url?.trim();
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.to_string())
}

pub(crate) struct OrderRow {
    id: String,
    number: String,
    date: String,
    customer: String,
    total: String,
    state_label: String,
    state_class: &'static str,
    dropshipping: bool,
    open_exceptions: usize,
}

pub(crate) struct SelectOption {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "dashboard/orders.html")]
pub(crate) struct Orders {
    layout: Option<Layout>,
    operator: bool,
    states: Vec<SelectOption>,
    suppliers: Vec<SelectOption>,
    store: String,
    exception: bool,
    from: String,
    to: String,
    search: String,
    oldest_first: bool,
    rows: Vec<OrderRow>,
    /// The address of the next page, when there is one.
    next: Option<String>,
    /// The address of the first page, when this is not it.
    first: Option<String>,
    filtered: bool,
    /// The filters' query string, for the bulk form's way back and the CSV link.
    query: String,
}

impl Orders {
    pub(crate) fn new(
        layout: Layout,
        operator: bool,
        filters: &super::orders::ListFilters,
        suppliers: &[Supplier],
        orders: &[Order],
        more: bool,
        paged: bool,
    ) -> Self {
        let rows: Vec<OrderRow> = orders
            .iter()
            .map(|order| OrderRow {
                id: order.id.to_string(),
                number: order.number.clone(),
                date: moment(order.placed_at),
                customer: order.customer.name.clone(),
                total: order.total.to_string(),
                state_label: label(order.state.as_str()),
                state_class: chip_class(order.state),
                dropshipping: !order.supplier_orders.is_empty(),
                open_exceptions: order.open_exceptions().count(),
            })
            .collect();
        let query = filters.query_string();
        let joined = |cursor: String| {
            if query.is_empty() {
                format!("/orders?{cursor}")
            } else {
                format!("/orders?{query}&{cursor}")
            }
        };
        let next = match (more, rows.last()) {
            (true, Some(last)) if filters.oldest_first => Some(joined(format!("after={}", last.id))),
            (true, Some(last)) => Some(joined(format!("before={}", last.id))),
            _ => None,
        };
        let first = paged.then(|| {
            if query.is_empty() {
                "/orders".to_string()
            } else {
                format!("/orders?{query}")
            }
        });
        Self {
            layout: Some(layout),
            operator,
            states: OrderState::ALL
                .iter()
                .map(|s| SelectOption {
                    value: s.as_str().to_string(),
                    label: label(s.as_str()),
                    selected: Some(*s) == filters.state,
                })
                .collect(),
            suppliers: suppliers
                .iter()
                .map(|supplier| SelectOption {
                    value: supplier.id.to_string(),
                    label: supplier.name.clone(),
                    selected: Some(supplier.id) == filters.supplier,
                })
                .collect(),
            store: filters.store.map(|s| s.to_string()).unwrap_or_default(),
            exception: filters.exception,
            from: filters.from.map(|d| d.to_string()).unwrap_or_default(),
            to: filters.to.map(|d| d.to_string()).unwrap_or_default(),
            search: filters.search.clone().unwrap_or_default(),
            oldest_first: filters.oldest_first,
            rows,
            next,
            first,
            filtered: !query.is_empty(),
            query,
        }
    }
}

/// One order of a bulk action's result.
pub(crate) struct BulkRow {
    id: String,
    number: String,
    ok: bool,
    outcome: String,
}

impl BulkRow {
    pub(crate) fn new(id: OrderId, number: Option<String>, result: Result<OrderState, AppError>) -> Self {
        let (ok, outcome) = match result {
            Ok(state) => (true, label(state.as_str())),
            Err(AppError::NotFound(_)) => (false, "Not found".to_string()),
            Err(AppError::IllegalTransition(reason)) => (false, format!("Not possible now: {reason}")),
            Err(AppError::Invalid(fields)) => (
                false,
                fields.iter().map(|f| f.reason.clone()).collect::<Vec<_>>().join("; "),
            ),
            Err(AppError::Conflict(_)) => (false, "Changed meanwhile: try again".to_string()),
            Err(_) => (false, "Could not be done just now: try again".to_string()),
        };
        Self {
            id: id.to_string(),
            number: number.unwrap_or_else(|| id.to_string()),
            ok,
            outcome,
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/bulk.html")]
pub(crate) struct BulkResult {
    layout: Option<Layout>,
    title: String,
    summary: String,
    refused: bool,
    rows: Vec<BulkRow>,
    back: String,
}

impl BulkResult {
    pub(crate) fn refused(layout: Layout, text: &str, back: &str) -> Self {
        Self {
            layout: Some(layout),
            title: "Nothing was done".into(),
            summary: text.to_string(),
            refused: true,
            rows: Vec::new(),
            back: back.to_string(),
        }
    }

    pub(crate) fn done(layout: Layout, action: &str, rows: Vec<BulkRow>, back: &str) -> Self {
        let done = rows.iter().filter(|r| r.ok).count();
        let verb = match action {
            "accept" => "Accepted",
            "reject" => "Rejected",
            _ => "Cancelled",
        };
        let summary = if done == rows.len() {
            format!("{verb} {done} of {} orders.", rows.len())
        } else {
            format!(
                "{verb} {done} of {} orders; {} could not be.",
                rows.len(),
                rows.len() - done
            )
        };
        Self {
            layout: Some(layout),
            title: format!("{verb} orders"),
            summary,
            refused: false,
            rows,
            back: back.to_string(),
        }
    }
}

pub(crate) struct LineView {
    title: String,
    variant: Option<String>,
    sku: String,
    quantity: u32,
    price: String,
}

pub(crate) struct SupplierLineView {
    title: String,
    variant: Option<String>,
    quantity: u32,
    unit_cost: String,
    product_url: Option<String>,
}

pub(crate) struct ShipmentView {
    id: String,
    carrier: String,
    tracking_number: String,
    tracking_url: Option<String>,
    state: String,
    state_class: &'static str,
    events: Vec<EventView>,
    can_ship: bool,
    can_deliver: bool,
    can_fail: bool,
    can_reship: bool,
    /// The re-ship form was refused: what was typed and why.
    reship: FormState,
}

/// A form of the order page as it is shown again: what was typed and why it was refused.
#[derive(Default)]
pub(crate) struct FormState {
    values: Vec<(String, String)>,
    errors: FieldErrors,
}

impl FormState {
    /// The value typed in the field (empty when none).
    pub(crate) fn value(&self, field: &str) -> &str {
        self.values
            .iter()
            .find(|(name, _)| name == field)
            .map_or("", |(_, value)| value.as_str())
    }

    pub(crate) fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    /// The refused fields that have no input of their own on the form.
    pub(crate) fn other_errors(&self, fields: &[&str]) -> Vec<String> {
        self.errors
            .all()
            .iter()
            .filter(|(name, _)| !fields.contains(&name.as_str()))
            .map(|(name, reason)| format!("{}: {reason}", label(name)))
            .collect()
    }
}

pub(crate) struct SupplierOrderView {
    id: String,
    supplier_name: String,
    cost: String,
    cost_is_actual: bool,
    margin: Option<String>,
    reference: Option<String>,
    state: String,
    lines: Vec<SupplierLineView>,
    shipments: Vec<ShipmentView>,
    can_record_reference: bool,
    can_add_tracking: bool,
    can_cancel: bool,
    can_release: bool,
    can_accept_price: bool,
    can_switch: bool,
    /// Why the supplier order is held or failed, when it is.
    holds: Vec<String>,
    reference_form: FormState,
    tracking_form: FormState,
}

pub(crate) struct EventView {
    when: String,
    who: String,
    message: String,
}

/// The order's ledger, as the page shows it.
pub(crate) struct MoneyView {
    revenue: String,
    costs: String,
    profit: String,
    profit_negative: bool,
    margin: Option<String>,
    entries: Vec<LedgerRow>,
}

pub(crate) struct LedgerRow {
    kind: String,
    amount: String,
    /// `+`, `−` or nothing (passing through).
    sign: &'static str,
    when: String,
    /// `(from 30.00 USD at 0.92)` when charged in another currency.
    converted: Option<String>,
}

pub(crate) struct ReturnView {
    id: String,
    summary: String,
    note: Option<String>,
    photos: Vec<String>,
    state: String,
    /// The moves offered: (path segment, button text).
    actions: Vec<(&'static str, &'static str)>,
    /// Where the units go back to, once approved.
    send_to: Vec<DestinationView>,
    /// Claims the seller may open by hand: (supplier order id, button text).
    claim_from: Vec<(String, String)>,
    /// Whether the item came back, so it may be exchanged for another variant.
    can_exchange: bool,
    /// The exchange form, refused input kept (`variant_id`, `resolution`).
    resolve_form: FormState,
}

/// Where some units of a return go back to.
pub(crate) struct DestinationView {
    units: String,
    /// Whose address it is.
    to: String,
    /// The address's lines; empty when no address is known.
    lines: Vec<String>,
}

/// A claim to a supplier.
pub(crate) struct ClaimView {
    id: String,
    summary: String,
    claimed: String,
    recovered: Option<String>,
    state: String,
    state_class: &'static str,
    /// The moves without input: (path segment, button text).
    actions: Vec<(&'static str, &'static str)>,
    /// Accepting asks what the supplier gave back.
    can_accept: bool,
    currency: String,
    accept_form: FormState,
}

pub(crate) struct RefundView {
    amount: String,
    reason: String,
    when: String,
    /// The platform's id of the refund, once the storefront made it.
    storefront_refund_id: Option<String>,
}

pub(crate) struct DisputeView {
    id: String,
    amount: String,
    reason_code: String,
    due: String,
    state: String,
    actions: Vec<(&'static str, &'static str)>,
}

/// Basis points as a percentage with one decimal, without floats.
fn percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    format!("{sign}{}.{} %", bp.abs() / 100, (bp.abs() % 100) / 10)
}

fn money_view(money: &dropline_app::after_sale::OrderMoney) -> MoneyView {
    MoneyView {
        revenue: money.profit.revenue.to_string(),
        costs: money.profit.costs.to_string(),
        profit: money.profit.profit.to_string(),
        profit_negative: money.profit.profit.minor < 0,
        margin: money.profit.margin_bp.map(percent),
        entries: money
            .entries
            .iter()
            .map(|e| LedgerRow {
                kind: label(e.kind.as_str()),
                amount: e.amount.to_string(),
                sign: match e.kind.sign() {
                    1 => "+",
                    0 => "",
                    _ => "−",
                },
                when: moment(e.at),
                converted: e.converted_from.map(|(charged, rate)| {
                    format!(
                        "(from {charged} at {})",
                        dropline_domain::ledger::format_rate(rate.per_million)
                    )
                }),
            })
            .collect(),
    }
}

fn return_actions(state: ReturnState) -> Vec<(&'static str, &'static str)> {
    match state {
        ReturnState::Requested => vec![("approve", "Approve"), ("reject", "Reject")],
        ReturnState::Approved => vec![
            ("await-item", "Ask for the item back"),
            ("returnless-refund", "Refund, customer keeps the item"),
            ("store-credit", "Store credit"),
        ],
        ReturnState::AwaitingItem => vec![("receive", "Item received")],
        ReturnState::Received => vec![
            ("refund", "Refund"),
            ("store-credit", "Store credit"),
            ("replacement", "Send a replacement"),
        ],
        ReturnState::Rejected | ReturnState::Resolved => Vec::new(),
    }
}

fn claim_actions(state: ClaimState) -> Vec<(&'static str, &'static str)> {
    [
        (ClaimEvent::Submit, "submit", "Sent to the supplier"),
        (ClaimEvent::Reject, "reject", "Refused by the supplier"),
    ]
    .into_iter()
    .filter(|(event, _, _)| next_claim_state(state, *event).is_ok())
    .map(|(_, action, text)| (action, text))
    .collect()
}

/// The lines of a postal address, as written on a parcel.
fn address_lines(a: &dropline_domain::address::Address) -> Vec<String> {
    let mut lines = vec![a.full_name()];
    lines.extend(a.company.clone());
    lines.push(a.address1.clone());
    lines.extend(a.address2.clone());
    let region = a.region.clone().unwrap_or_default();
    lines.push(
        [a.postal_code.as_str(), a.city.as_str(), region.as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
    );
    lines.push(a.country_code.clone());
    lines.extend(a.phone.clone());
    lines.retain(|line| !line.trim().is_empty());
    lines
}

fn dispute_actions(state: DisputeState) -> Vec<(&'static str, &'static str)> {
    match state {
        DisputeState::NeedsResponse => vec![("respond", "Evidence sent"), ("lose", "Accept the loss")],
        DisputeState::UnderReview => vec![("win", "Won"), ("lose", "Lost")],
        DisputeState::Won | DisputeState::Lost => Vec::new(),
    }
}

#[derive(Template)]
#[template(path = "dashboard/order.html")]
pub(crate) struct OrderPage {
    layout: Option<Layout>,
    /// The session's CSRF token, for the action forms.
    csrf: String,
    id: String,
    number: String,
    placed: String,
    state_label: String,
    state_class: &'static str,
    payment: String,
    customer_name: String,
    customer_email: Option<String>,
    customer_phone: Option<String>,
    address: Vec<String>,
    findings: Vec<String>,
    hold_reasons: Vec<String>,
    lines: Vec<LineView>,
    subtotal: String,
    shipping: String,
    total: String,
    supplier_orders: Vec<SupplierOrderView>,
    open_exceptions: Vec<String>,
    events: Vec<EventView>,
    notice: Option<String>,
    can_accept: bool,
    can_reject: bool,
    can_cancel: bool,
    refused: bool,
    money: Option<MoneyView>,
    returns: Vec<ReturnView>,
    refunds: Vec<RefundView>,
    disputes: Vec<DisputeView>,
    claims: Vec<ClaimView>,
    /// What may still be refunded, when a refund is possible.
    refundable: Option<String>,
    currency: String,
    refund_form: FormState,
    /// The store's variants an exchange may send: (id, label).
    variants: Vec<(String, String)>,
}

impl OrderPage {
    /// The store's variants, offered by the exchange form of a returned item.
    pub(crate) fn with_variants(mut self, products: &[dropline_domain::catalog::Product]) -> Self {
        self.variants = products
            .iter()
            .flat_map(|p| {
                p.variants
                    .iter()
                    .map(move |v| (v.id.to_string(), format!("{} · {} ({})", p.title, v.title, v.sku)))
            })
            .collect();
        self
    }
}

fn actor(actor: &Actor) -> String {
    match actor {
        Actor::System => "dropline".into(),
        Actor::Rule(name) => format!("Rule {name}"),
        Actor::Seller(name) => format!("Seller {name}"),
        Actor::Operator => "Operator".into(),
        Actor::Storefront(name) => format!("Storefront {name}"),
        Actor::Worker => "Worker".into(),
        Actor::Customer => "Customer".into(),
    }
}

fn shipment_class(state: ShipmentState) -> &'static str {
    if state == ShipmentState::Delivered {
        "ok"
    } else if state.is_failure() {
        "bad"
    } else {
        ""
    }
}

/// The margin of a supplier order: what its lines sell for, less what the supplier charges,
/// when both are in one currency.
fn margin(order: &Order, so: &SupplierOrder) -> Option<String> {
    let mut revenue = Money::zero(order.currency);
    for line in &so.lines {
        let sold = order.lines.iter().find(|l| l.id == line.line_item_id)?;
        revenue = revenue
            .checked_add(sold.unit_price.checked_mul(line.quantity).ok()?)
            .ok()?;
    }
    let cost = so.actual_cost.unwrap_or(so.expected_cost);
    let left = revenue.checked_sub(cost).ok()?;
    if revenue.minor <= 0 {
        return Some(left.to_string());
    }
    // Basis points of the revenue, as a percentage with one decimal, without floats.
    let bp = i128::from(left.minor) * 10_000 / i128::from(revenue.minor);
    Some(format!(
        "{left} ({}{}.{}%)",
        if bp < 0 { "-" } else { "" },
        bp.abs() / 100,
        (bp.abs() % 100) / 10
    ))
}

fn form_state(refused: &mut super::orders::Refused, key: &str) -> FormState {
    if refused.form == key {
        FormState {
            values: std::mem::take(&mut refused.values),
            errors: std::mem::take(&mut refused.errors),
        }
    } else {
        FormState::default()
    }
}

impl OrderPage {
    pub(crate) fn new(
        layout: Layout,
        order: &Order,
        timeline: &[TimelineEvent],
        money: Option<&dropline_app::after_sale::OrderMoney>,
        notice: Option<String>,
        mut refused: super::orders::Refused,
    ) -> Self {
        let line_title = |id: dropline_domain::ids::LineItemId| {
            order
                .lines
                .iter()
                .find(|l| l.id == id)
                .map_or_else(|| "a line".to_string(), |l| l.title.clone())
        };
        let units_text = |lines: &[dropline_domain::after_sale::LineUnits]| {
            lines
                .iter()
                .map(|l| format!("{} × {}", l.quantity, line_title(l.line_item_id)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let supplier_of = |id: dropline_domain::ids::SupplierId| {
            order
                .supplier_orders
                .iter()
                .find(|so| so.supplier_id == id)
                .map_or_else(|| "The supplier".to_string(), |so| so.supplier_name.clone())
        };
        let refundable = matches!(order.payment, PaymentState::Paid | PaymentState::PartiallyRefunded)
            .then(|| {
                order
                    .refunded_total()
                    .ok()
                    .and_then(|r| order.paid_total().checked_sub(r).ok())
                    .map(|left| left.to_string())
            })
            .flatten();
        let a = &order.shipping_address;
        let mut address = vec![format!("{} {}", a.first_name, a.last_name)];
        address.extend(a.company.clone());
        address.push(a.address1.clone());
        address.extend(a.address2.clone());
        let region = a.region.clone().unwrap_or_default();
        address.push(
            [a.postal_code.as_str(), a.city.as_str(), region.as_str()]
                .iter()
                .filter(|part| !part.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
        );
        address.push(a.country_code.clone());
        address.extend(a.phone.clone());
        let can = |event: OrderEvent| next_order_state(order.state, &event).is_ok();
        let was_refused = !refused.errors.is_empty();
        let supplier_orders = order
            .supplier_orders
            .iter()
            .map(|so| {
                // The same rules as the API's `allowed_actions`: one definition of what
                // fits the state. Parcel actions apply to the newest parcel.
                let allowed = allowed_actions(order, so);
                let has = |action: SupplierOrderAction| allowed.contains(&action);
                let newest = so.shipments.last().map(|s| s.id);
                let shipments = so
                    .shipments
                    .iter()
                    .map(|shipment| {
                        let is_newest = Some(shipment.id) == newest;
                        ShipmentView {
                            id: shipment.id.to_string(),
                            carrier: shipment.carrier.clone(),
                            tracking_number: shipment.tracking_number.clone(),
                            tracking_url: safe_url(shipment.public_tracking_url().as_deref()),
                            state: label(shipment.state.as_str()),
                            state_class: shipment_class(shipment.state),
                            events: shipment
                                .events
                                .iter()
                                .rev()
                                .map(|event| EventView {
                                    when: moment(event.at),
                                    who: event.location.clone().unwrap_or_default(),
                                    message: event.note.clone().unwrap_or_else(|| label(event.state.as_str())),
                                })
                                .collect(),
                            can_ship: is_newest && has(SupplierOrderAction::MarkShipped),
                            can_deliver: is_newest && has(SupplierOrderAction::MarkDelivered),
                            can_fail: is_newest && has(SupplierOrderAction::MarkFailed),
                            can_reship: is_newest && has(SupplierOrderAction::Reship),
                            reship: form_state(&mut refused, &format!("reship-{}", shipment.id)),
                        }
                    })
                    .collect();
                SupplierOrderView {
                    id: so.id.to_string(),
                    supplier_name: so.supplier_name.clone(),
                    cost: so.actual_cost.unwrap_or(so.expected_cost).to_string(),
                    cost_is_actual: so.actual_cost.is_some(),
                    margin: margin(order, so),
                    reference: so.supplier_reference.clone(),
                    state: format!(
                        "{} · request {}",
                        label(so.state.status.as_str()),
                        so.state.request_status.as_str().replace('_', " ")
                    ),
                    lines: so
                        .lines
                        .iter()
                        .map(|line| SupplierLineView {
                            title: line.title.clone(),
                            variant: line.variant_title.clone(),
                            quantity: line.quantity,
                            unit_cost: line.unit_cost.to_string(),
                            product_url: safe_url(line.product_url.as_deref()),
                        })
                        .collect(),
                    shipments,
                    can_record_reference: has(SupplierOrderAction::RecordReference),
                    can_add_tracking: has(SupplierOrderAction::AddShipment),
                    can_cancel: has(SupplierOrderAction::Cancel),
                    can_release: has(SupplierOrderAction::Release),
                    can_accept_price: has(SupplierOrderAction::AcceptPrice),
                    can_switch: has(SupplierOrderAction::SwitchSupplier),
                    holds: so
                        .placement
                        .holds
                        .iter()
                        .map(|h| h.message.clone())
                        .chain(so.placement.quoted_cost.map(|q| format!("The supplier now asks {q}")))
                        .chain(
                            so.placement
                                .failure
                                .as_ref()
                                .map(|f| format!("Supplier failed: {}", f.detail)),
                        )
                        .collect(),
                    reference_form: form_state(&mut refused, &format!("reference-{}", so.id)),
                    tracking_form: form_state(&mut refused, &format!("tracking-{}", so.id)),
                }
            })
            .collect();
        Self {
            csrf: layout.csrf.clone(),
            layout: Some(layout),
            id: order.id.to_string(),
            number: order.number.clone(),
            placed: moment(order.placed_at),
            state_label: label(order.state.as_str()),
            state_class: chip_class(order.state),
            payment: label(order.payment.as_str()),
            customer_name: order.customer.name.clone(),
            customer_email: order.customer.email.clone(),
            customer_phone: order.customer.phone.clone(),
            address,
            findings: order
                .findings
                .iter()
                .map(|f| {
                    let kind = match f.severity {
                        Severity::Error => "blocks shipping",
                        Severity::Warning => "warning",
                    };
                    format!("{}: {} ({kind})", label(&f.field), f.message)
                })
                .collect(),
            hold_reasons: order.hold_reasons.iter().map(|r| label(r.as_str())).collect(),
            lines: order
                .lines
                .iter()
                .map(|line| LineView {
                    title: line.title.clone(),
                    variant: line.variant_title.clone(),
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    price: line.unit_price.to_string(),
                })
                .collect(),
            subtotal: order.subtotal.to_string(),
            shipping: order.shipping_total.to_string(),
            total: order.total.to_string(),
            supplier_orders,
            open_exceptions: order
                .open_exceptions()
                .map(|e| format!("{}: {}", label(e.kind.as_str()), e.detail))
                .collect(),
            events: timeline
                .iter()
                .rev()
                .map(|event| EventView {
                    when: moment(event.at),
                    who: actor(&event.actor),
                    message: event.message.clone(),
                })
                .collect(),
            notice,
            can_accept: can(OrderEvent::Accept),
            can_reject: can(OrderEvent::Reject),
            can_cancel: can(OrderEvent::Cancel),
            refused: was_refused,
            money: money.map(money_view),
            returns: order
                .after_sale
                .returns
                .iter()
                .map(|r| ReturnView {
                    id: r.id.to_string(),
                    summary: format!(
                        "{} · {}{}",
                        units_text(&r.lines),
                        label(r.reason.as_str()),
                        r.resolution
                            .map(|x| format!(" · {}", label(x.as_str())))
                            .unwrap_or_default()
                    ),
                    note: r.note.clone(),
                    photos: r.photos.iter().filter_map(|p| safe_url(Some(p))).collect(),
                    state: label(r.state.as_str()),
                    actions: return_actions(r.state),
                    send_to: r
                        .send_to
                        .iter()
                        .map(|d| DestinationView {
                            units: units_text(&d.lines),
                            to: match d.supplier_id {
                                Some(id) => format!("{}'s return address", supplier_of(id)),
                                None => "The store's address".to_string(),
                            },
                            lines: d.address.as_ref().map(address_lines).unwrap_or_default(),
                        })
                        .collect(),
                    claim_from: order
                        .unclaimed_units(r.id)
                        .into_iter()
                        .map(|(so, lines)| {
                            let name = order
                                .supplier_orders
                                .iter()
                                .find(|s| s.id == so)
                                .map_or_else(String::new, |s| s.supplier_name.clone());
                            (so.to_string(), format!("Claim {} from {name}", units_text(&lines)))
                        })
                        .collect(),
                    can_exchange: r.state == ReturnState::Received,
                    resolve_form: form_state(&mut refused, &format!("return-{}", r.id)),
                })
                .collect(),
            refunds: order
                .after_sale
                .refunds
                .iter()
                .map(|r| RefundView {
                    amount: r.amount.to_string(),
                    reason: r.reason.clone(),
                    when: moment(r.at),
                    storefront_refund_id: r.storefront_refund_id.clone(),
                })
                .collect(),
            disputes: order
                .after_sale
                .disputes
                .iter()
                .map(|d| DisputeView {
                    id: d.id.to_string(),
                    amount: d.amount.to_string(),
                    reason_code: d.reason_code.clone(),
                    due: moment(d.due_at),
                    state: label(d.state.as_str()),
                    actions: dispute_actions(d.state),
                })
                .collect(),
            claims: order
                .after_sale
                .claims
                .iter()
                .map(|c| ClaimView {
                    id: c.id.to_string(),
                    summary: format!(
                        "{} from {} · {}",
                        units_text(&c.lines),
                        supplier_of(c.supplier_id),
                        match c.basis {
                            dropline_domain::after_sale::ClaimBasis::ReturnedItem => "item returned",
                            dropline_domain::after_sale::ClaimBasis::WithoutItem => "without the item (photos)",
                        }
                    ),
                    claimed: c.claimed.to_string(),
                    recovered: c.recovered.map(|m| m.to_string()),
                    state: label(c.state.as_str()),
                    state_class: match c.state {
                        ClaimState::Accepted => "ok",
                        ClaimState::Rejected => "bad",
                        ClaimState::Open | ClaimState::Submitted => "wait",
                    },
                    actions: claim_actions(c.state),
                    can_accept: next_claim_state(c.state, ClaimEvent::Accept).is_ok(),
                    currency: c.claimed.currency.to_string(),
                    accept_form: form_state(&mut refused, &format!("claim-{}", c.id)),
                })
                .collect(),
            refundable,
            currency: order.currency.to_string(),
            refund_form: form_state(&mut refused, "refund"),
            variants: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_links() {
        assert_eq!(
            safe_url(Some(" https://a.example/p ")).as_deref(),
            Some("https://a.example/p")
        );
        assert_eq!(safe_url(Some("javascript:alert(1)")), None);
        assert_eq!(safe_url(None), None);
    }

    #[test]
    fn codes_read_as_words() {
        assert_eq!(label("pending_review"), "Pending review");
        assert_eq!(label(""), "");
    }
}
