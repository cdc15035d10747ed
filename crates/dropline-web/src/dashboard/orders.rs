//! The orders list (filters, search, sort, keyset pages, bulk actions, CSV export) and the
//! order page with the actions its state allows.
//!
//! Every action is a plain form post: it checks the session's CSRF token, finds the order in
//! the user's scope (another store's id is "not found"), runs the use case, and answers 303
//! back to the page with a notice. An action the state does not allow is not offered; when
//! forced anyway the use case refuses it and the page says why (409). A refused field
//! re-renders the order page with the message next to the field (422).

use super::pages::{self, FieldErrors, Layout};
use super::{Signed, failure, forbidden_csrf, given, message, not_found, page, refusal, see_other};
use crate::AppState;
use crate::spreadsheet::cell;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use dropline_app::after_sale::{NewClaim, NewRefund};
use dropline_app::ports::OrderFilter;
use dropline_app::{AppError, Decision, ParcelAction, Scope};
use dropline_domain::after_sale::Resolution;
use dropline_domain::carrier::detect_carrier;
use dropline_domain::ids::{ClaimId, DisputeId, ReturnId};
use dropline_domain::ids::{OrderId, ShipmentId, StoreId, SupplierId, SupplierOrderId};
use dropline_domain::ledger::{ClaimEvent, DisputeEvent, ReturnEvent};
use dropline_domain::money::Money;
use dropline_domain::order::Order;
use dropline_domain::state::OrderState;
use serde::Deserialize;
use time::{Date, Duration, Time};

/// Orders on one page of the list.
const PAGE_SIZE: u32 = 50;

/// At most this many orders in one bulk action (a page is 50; a few pages' worth).
const MAX_BULK: usize = 500;

/// At most this many orders in one CSV export of a filter.
const MAX_EXPORT: usize = 10_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders", get(orders_page))
        .route("/orders.csv", get(export_filtered))
        .route("/orders/bulk", post(bulk_action))
        .route("/orders/{id}", get(order_page))
        .route("/orders/{id}/{action}", post(order_action))
        .route("/orders/{id}/{kind}/{item}/{action}", post(after_sale_action))
        .route("/orders/{id}/supplier-orders/{so}/reference", post(record_reference))
        .route("/orders/{id}/supplier-orders/{so}/tracking", post(add_tracking))
        .route(
            "/orders/{id}/supplier-orders/{so}/{action}",
            post(supplier_order_action),
        )
        .route("/orders/{id}/supplier-orders/{so}/shipments/{sh}/reship", post(reship))
        .route(
            "/orders/{id}/supplier-orders/{so}/shipments/{sh}/{event}",
            post(mark_parcel),
        )
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

/// The list's query string, as typed.
#[derive(Deserialize, Default, Clone)]
pub(super) struct OrdersQuery {
    #[serde(default)]
    pub(super) state: Option<String>,
    #[serde(default)]
    pub(super) store: Option<String>,
    #[serde(default)]
    pub(super) supplier: Option<String>,
    #[serde(default)]
    pub(super) exception: Option<String>,
    #[serde(default)]
    pub(super) from: Option<String>,
    #[serde(default)]
    pub(super) to: Option<String>,
    #[serde(default)]
    pub(super) q: Option<String>,
    #[serde(default)]
    pub(super) sort: Option<String>,
    #[serde(default)]
    pub(super) before: Option<String>,
    #[serde(default)]
    pub(super) after: Option<String>,
}

/// The filters of the list, read and checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ListFilters {
    pub(super) state: Option<OrderState>,
    pub(super) store: Option<StoreId>,
    pub(super) supplier: Option<SupplierId>,
    pub(super) exception: bool,
    pub(super) from: Option<Date>,
    pub(super) to: Option<Date>,
    pub(super) search: Option<String>,
    pub(super) oldest_first: bool,
}

/// A filter of the address that dropline does not understand: its name, for the message.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct BadFilter(pub(super) &'static str);

fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

impl ListFilters {
    /// Reads the query; `operator` decides whether the store filter counts (a seller's list
    /// is always their own store).
    pub(super) fn read(query: &OrdersQuery, operator: bool) -> Result<Self, BadFilter> {
        let state = match given(query.state.as_ref()) {
            None => None,
            Some(text) => Some(OrderState::parse(text).ok_or(BadFilter("state"))?),
        };
        let store = match given(query.store.as_ref()) {
            Some(text) if operator => Some(text.parse::<StoreId>().map_err(|_| BadFilter("store"))?),
            _ => None,
        };
        let supplier = match given(query.supplier.as_ref()) {
            None => None,
            Some(text) => Some(text.parse::<SupplierId>().map_err(|_| BadFilter("supplier"))?),
        };
        let exception = match given(query.exception.as_ref()) {
            None | Some("0") => false,
            Some("1") => true,
            Some(_) => return Err(BadFilter("exception")),
        };
        let from = match given(query.from.as_ref()) {
            None => None,
            Some(text) => Some(parse_date(text).ok_or(BadFilter("from date"))?),
        };
        let to = match given(query.to.as_ref()) {
            None => None,
            Some(text) => Some(parse_date(text).ok_or(BadFilter("to date"))?),
        };
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            return Err(BadFilter("date range (it ends before it starts)"));
        }
        let search = given(query.q.as_ref()).map(str::to_string);
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(BadFilter("search (longer than 200 characters)"));
        }
        let oldest_first = match given(query.sort.as_ref()) {
            None | Some("newest") => false,
            Some("oldest") => true,
            Some(_) => return Err(BadFilter("sort")),
        };
        Ok(Self {
            state,
            store,
            supplier,
            exception,
            from,
            to,
            search,
            oldest_first,
        })
    }

    /// The store's filter of these, for up to `limit` orders.
    pub(super) fn order_filter(&self, limit: u32) -> OrderFilter {
        OrderFilter {
            store_id: self.store,
            state: self.state,
            supplier_id: self.supplier,
            placed_from: self.from.map(|d| d.with_time(Time::MIDNIGHT).assume_utc()),
            // The "to" date is included: up to the start of the next day.
            placed_to: self
                .to
                .map(|d| (d.with_time(Time::MIDNIGHT) + Duration::days(1)).assume_utc()),
            with_exception: self.exception,
            search: self.search.clone(),
            oldest_first: self.oldest_first,
            limit,
            ..OrderFilter::default()
        }
    }

    /// The query string of these filters (no page cursor), `&`-joined and encoded.
    pub(super) fn query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(state) = self.state {
            pairs.push(("state", state.as_str().to_string()));
        }
        if let Some(store) = self.store {
            pairs.push(("store", store.to_string()));
        }
        if let Some(supplier) = self.supplier {
            pairs.push(("supplier", supplier.to_string()));
        }
        if self.exception {
            pairs.push(("exception", "1".into()));
        }
        if let Some(from) = self.from {
            pairs.push(("from", from.to_string()));
        }
        if let Some(to) = self.to {
            pairs.push(("to", to.to_string()));
        }
        if let Some(search) = &self.search {
            pairs.push(("q", search.clone()));
        }
        if self.oldest_first {
            pairs.push(("sort", "oldest".into()));
        }
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            out.append_pair(name, &value);
        }
        out.finish()
    }
}

fn bad_filter(layout: Layout, BadFilter(what): BadFilter) -> Response {
    message(
        StatusCode::BAD_REQUEST,
        Some(layout),
        "Unknown filter",
        &format!("The {what} in the address is not one dropline understands."),
    )
}

async fn orders_page(State(state): State<AppState>, signed: Signed, Query(query): Query<OrdersQuery>) -> Response {
    let operator = signed.scope == Scope::Operator;
    let filters = match ListFilters::read(&query, operator) {
        Ok(filters) => filters,
        Err(bad) => return bad_filter(signed.layout(), bad),
    };
    let cursor = |text: Option<&String>| -> Result<Option<OrderId>, BadFilter> {
        given(text)
            .map(|t| t.parse::<OrderId>().map_err(|_| BadFilter("page")))
            .transpose()
    };
    let (before, after) = match (cursor(query.before.as_ref()), cursor(query.after.as_ref())) {
        (Ok(before), Ok(after)) => (before, after),
        (Err(bad), _) | (_, Err(bad)) => return bad_filter(signed.layout(), bad),
    };
    let mut filter = filters.order_filter(PAGE_SIZE + 1);
    filter.before = before;
    filter.after = after;
    let mut orders = match state.app.list_orders(signed.scope, filter).await {
        Ok(orders) => orders,
        Err(err) => return failure(&err),
    };
    let more = orders.len() > PAGE_SIZE as usize;
    orders.truncate(PAGE_SIZE as usize);
    let suppliers = match state.app.list_suppliers(signed.scope, filters.store).await {
        Ok(suppliers) => suppliers,
        Err(err) => return failure(&err),
    };
    let paged = before.is_some() || after.is_some();
    page(
        StatusCode::OK,
        &pages::Orders::new(signed.layout(), operator, &filters, &suppliers, &orders, more, paged),
    )
}

// ---------------------------------------------------------------------------------------------
// Bulk actions and CSV
// ---------------------------------------------------------------------------------------------

/// A bulk form: `ids` repeats, so it is read with `form_urlencoded` rather than serde (which
/// keeps one value per name).
struct BulkForm {
    csrf: Option<String>,
    action: String,
    ids: Vec<String>,
    /// The list's query string, to go back to the same filters.
    back: String,
}

fn read_bulk_form(body: &[u8]) -> BulkForm {
    let mut form = BulkForm {
        csrf: None,
        action: String::new(),
        ids: Vec::new(),
        back: String::new(),
    };
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "csrf" => form.csrf = Some(value.into_owned()),
            "action" => form.action = value.into_owned(),
            "ids" => form.ids.push(value.into_owned()),
            "back" => form.back = value.into_owned(),
            _ => {}
        }
    }
    form
}

/// The list's address for a `back` query string: only a query string is taken (never
/// another path or host).
fn list_address(back: &str) -> String {
    let query: String = back
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=&%+-_.~".contains(*c))
        .collect();
    if query.is_empty() {
        "/orders".into()
    } else {
        format!("/orders?{query}")
    }
}

async fn bulk_action(State(state): State<AppState>, signed: Signed, body: axum::body::Bytes) -> Response {
    let form = read_bulk_form(&body);
    if !signed.csrf_ok(form.csrf.as_deref()) {
        return forbidden_csrf(signed.layout());
    }
    let back = list_address(&form.back);
    let refused = |text: &str| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &pages::BulkResult::refused(signed.layout(), text, &back),
        )
    };
    if form.ids.is_empty() {
        return refused("Select at least one order first.");
    }
    if form.ids.len() > MAX_BULK {
        return refused(&format!("Select at most {MAX_BULK} orders at once."));
    }
    let mut ids = Vec::with_capacity(form.ids.len());
    for text in &form.ids {
        match text.trim().parse::<OrderId>() {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => return refused(&format!("\"{text}\" is not an order id.")),
        }
    }
    let scope = signed.scope;
    let results: Vec<(OrderId, Result<OrderState, AppError>)> = match form.action.as_str() {
        "accept" | "reject" => {
            let decision = if form.action == "accept" {
                Decision::Accept
            } else {
                Decision::Reject
            };
            state
                .app
                .review_orders(scope, &ids, decision)
                .await
                .into_iter()
                .map(|outcome| (outcome.order_id, outcome.result))
                .collect()
        }
        "cancel" => {
            let mut results = Vec::with_capacity(ids.len());
            for &id in &ids {
                results.push((id, state.app.cancel_order(scope, id).await.map(|o| o.state)));
            }
            results
        }
        "export" => {
            let mut orders = Vec::with_capacity(ids.len());
            for &id in &ids {
                match state.app.get_order(scope, id).await {
                    Ok(order) => orders.push(order),
                    // Another store's id is skipped like an unknown one.
                    Err(AppError::NotFound(_)) => {}
                    Err(err) => return failure(&err),
                }
            }
            return csv_response(&orders);
        }
        _ => return refused("Choose an action: accept, reject, cancel or export."),
    };
    // Name each order by its number where it can be read.
    let mut rows = Vec::with_capacity(results.len());
    for (id, result) in results {
        let number = match state.app.get_order(scope, id).await {
            Ok(order) => Some(order.number),
            Err(_) => None,
        };
        rows.push(pages::BulkRow::new(id, number, result));
    }
    page(
        StatusCode::OK,
        &pages::BulkResult::done(signed.layout(), &form.action, rows, &back),
    )
}

async fn export_filtered(State(state): State<AppState>, signed: Signed, Query(query): Query<OrdersQuery>) -> Response {
    let filters = match ListFilters::read(&query, signed.scope == Scope::Operator) {
        Ok(filters) => filters,
        Err(bad) => return bad_filter(signed.layout(), bad),
    };
    let mut orders: Vec<Order> = Vec::new();
    let mut filter = filters.order_filter(500);
    loop {
        let batch = match state.app.list_orders(signed.scope, filter.clone()).await {
            Ok(batch) => batch,
            Err(err) => return failure(&err),
        };
        let done = batch.len() < 500;
        let last = batch.last().map(|o| o.id);
        orders.extend(batch);
        if done || orders.len() >= MAX_EXPORT {
            break;
        }
        if filters.oldest_first {
            filter.after = last;
        } else {
            filter.before = last;
        }
    }
    orders.truncate(MAX_EXPORT);
    csv_response(&orders)
}

/// The CSV of orders: one row per order.
pub(super) fn orders_csv(orders: &[Order]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "order_id",
        "number",
        "placed_at",
        "state",
        "payment",
        "customer_name",
        "customer_email",
        "country",
        "total",
        "currency",
        "suppliers",
        "supplier_order_ids",
        "tracking_numbers",
        "open_exceptions",
    ])?;
    for order in orders {
        let suppliers: Vec<&str> = order
            .supplier_orders
            .iter()
            .map(|so| so.supplier_name.as_str())
            .collect();
        let references: Vec<&str> = order
            .supplier_orders
            .iter()
            .filter_map(|so| so.supplier_reference.as_deref())
            .collect();
        let tracking: Vec<&str> = order
            .supplier_orders
            .iter()
            .flat_map(|so| so.shipments.iter().map(|s| s.tracking_number.as_str()))
            .collect();
        let exceptions: Vec<&str> = order.open_exceptions().map(|e| e.kind.as_str()).collect();
        let placed = order
            .placed_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        writer.write_record([
            order.id.to_string(),
            cell(&order.number),
            placed,
            order.state.as_str().to_string(),
            order.payment.as_str().to_string(),
            cell(&order.customer.name),
            cell(order.customer.email.as_deref().unwrap_or_default()),
            cell(&order.shipping_address.country_code),
            order.total.amount_string(),
            order.currency.to_string(),
            cell(&suppliers.join("; ")),
            cell(&references.join("; ")),
            cell(&tracking.join("; ")),
            exceptions.join("; "),
        ])?;
    }
    writer.into_inner().map_err(|err| err.into_error().into())
}

fn csv_response(orders: &[Order]) -> Response {
    match orders_csv(orders) {
        Ok(body) => super::csv_download(body, "orders.csv"),
        Err(err) => {
            tracing::error!(error = %err, "writing the orders CSV failed");
            super::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "Something went wrong",
                "The export could not be written.",
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The order page and its actions
// ---------------------------------------------------------------------------------------------

/// The form of the page that was refused, with what was typed and why.
#[derive(Default)]
pub(super) struct Refused {
    /// Which form: `reference-{so}`, `tracking-{so}`, `reship-{shipment}`.
    pub(super) form: String,
    pub(super) values: Vec<(String, String)>,
    pub(super) errors: FieldErrors,
}

async fn render_order(
    state: &AppState,
    signed: &Signed,
    id: OrderId,
    status: StatusCode,
    notice: Option<String>,
    refused: Refused,
) -> Response {
    let order = match state.app.get_order(signed.scope, id).await {
        Ok(order) => order,
        Err(err) => return refusal(signed.layout(), &err),
    };
    let timeline = match state.app.timeline(signed.scope, id).await {
        Ok(events) => events,
        Err(err) => return refusal(signed.layout(), &err),
    };
    // The ledger is shown when it can be summed (an order mixing currencies cannot).
    let money = state.app.money_of(signed.scope, &order).await.ok();
    // The exchange form's choice: read only when a returned item is there to exchange.
    let returned = order
        .after_sale
        .returns
        .iter()
        .any(|r| r.state == dropline_domain::ledger::ReturnState::Received);
    let products = if returned {
        state
            .app
            .list_products(signed.scope, Some(order.store_id))
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    page(
        status,
        &pages::OrderPage::new(signed.layout(), &order, &timeline, money.as_ref(), notice, refused)
            .with_variants(&products),
    )
}

#[derive(Deserialize, Default)]
struct OrderPageQuery {
    #[serde(default)]
    done: Option<String>,
}

/// The notice shown after an action, by its code in `?done=` (unknown codes show nothing).
fn done_notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "accept" => "Order accepted: dropline is routing it to its suppliers.",
        "reject" => "Order rejected.",
        "cancel" => "Order cancelled.",
        "reference" => "Supplier order id recorded.",
        "tracking" => "Tracking added: the parcel is on its way to the storefront.",
        "shipped" => "Parcel marked shipped.",
        "delivered" => "Parcel marked delivered.",
        "failed" => "Parcel marked as a failed delivery.",
        "reship" => "Re-shipment recorded.",
        "cancel-supplier-order" => "Supplier order cancelled.",
        "release" => "Hold released: the supplier order goes out again.",
        "accept-price" => "New price accepted: the supplier order goes out again.",
        "switch" => "Moved to the next supplier offer.",
        "refund" => "Refund issued: the customer is told.",
        "return-approve" => "Return approved.",
        "return-reject" => "Return rejected.",
        "return-await-item" => "The customer is to send the item back.",
        "return-receive" => "Returned item received.",
        "return-refund" | "return-returnless-refund" => "Return resolved with a refund: the customer is told.",
        "return-store-credit" => "Return resolved with store credit.",
        "return-replacement" | "return-exchange" => {
            "Return resolved: a new supplier order sends it to the customer, who hears when it ships."
        }
        "dispute-respond" => "Dispute answered: waiting for the decision.",
        "dispute-win" => "Dispute won.",
        "dispute-lose" => "Dispute lost: its amount and fee are in the ledger.",
        "return-claim" => "Claim opened: send it to the supplier.",
        "claim-submit" => "Claim sent to the supplier: waiting for its answer.",
        "claim-accept" => "Claim accepted: the supplier's refund is in the ledger.",
        "claim-reject" => "Claim refused by the supplier.",
        _ => return None,
    })
}

async fn order_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<OrderPageQuery>,
) -> Response {
    let Ok(id) = id.parse::<OrderId>() else {
        return not_found(Some(signed.layout()));
    };
    let notice = query.done.as_deref().and_then(done_notice).map(str::to_string);
    render_order(&state, &signed, id, StatusCode::OK, notice, Refused::default()).await
}

#[derive(Deserialize, Default)]
struct ActionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    actual_cost: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    tracking_number: String,
    #[serde(default)]
    tracking_url: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    /// A claim's supplier order (opening a claim from a return).
    #[serde(default)]
    supplier_order_id: String,
    /// What a supplier gave back on a claim.
    #[serde(default)]
    recovered: String,
    /// The variant an exchange sends.
    #[serde(default)]
    variant_id: String,
}

/// The order of the path, in the user's scope, after the CSRF check; or the answer.
async fn checked_order(state: &AppState, signed: &Signed, id: &str, csrf: Option<&str>) -> Result<Order, Response> {
    let Ok(id) = id.parse::<OrderId>() else {
        return Err(not_found(Some(signed.layout())));
    };
    if !signed.csrf_ok(csrf) {
        return Err(forbidden_csrf(signed.layout()));
    }
    state
        .app
        .get_order(signed.scope, id)
        .await
        .map_err(|err| refusal(signed.layout(), &err))
}

/// The order and supplier order of the path (the supplier order one of the order's), after
/// the CSRF check; or the answer.
async fn checked_supplier_order(
    state: &AppState,
    signed: &Signed,
    id: &str,
    so: &str,
    csrf: Option<&str>,
) -> Result<(Order, SupplierOrderId), Response> {
    let order = checked_order(state, signed, id, csrf).await?;
    match supplier_order_of(&order, so) {
        Some(so) => Ok((order, so)),
        None => Err(not_found(Some(signed.layout()))),
    }
}

/// The supplier order of the path, when it belongs to `order`.
fn supplier_order_of(order: &Order, so: &str) -> Option<SupplierOrderId> {
    let id = so.parse::<SupplierOrderId>().ok()?;
    order.supplier_orders.iter().any(|s| s.id == id).then_some(id)
}

/// The parcel of the path, when it belongs to the supplier order.
fn shipment_of(order: &Order, so: SupplierOrderId, sh: &str) -> Option<ShipmentId> {
    let id = sh.parse::<ShipmentId>().ok()?;
    order
        .supplier_orders
        .iter()
        .find(|s| s.id == so)?
        .shipments
        .iter()
        .any(|s| s.id == id)
        .then_some(id)
}

fn done(id: OrderId, code: &str) -> Response {
    see_other(&format!("/orders/{id}?done={code}"))
}

/// What a use case's answer becomes: back to the page with a notice, the page again with the
/// refused fields, or the refusal's page.
async fn after_action(
    state: &AppState,
    signed: &Signed,
    id: OrderId,
    code: &str,
    result: Result<(), AppError>,
    form: &str,
    values: Vec<(String, String)>,
) -> Response {
    match result {
        Ok(()) => done(id, code),
        Err(AppError::Invalid(fields)) => {
            let refused = Refused {
                form: form.to_string(),
                values,
                errors: FieldErrors::from(fields.as_slice()),
            };
            render_order(state, signed, id, StatusCode::UNPROCESSABLE_ENTITY, None, refused).await
        }
        Err(err) => refusal(signed.layout(), &err),
    }
}

async fn order_action(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let order = match checked_order(&state, &signed, &id, form.csrf.as_deref()).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    let result = match action.as_str() {
        "accept" => state.app.accept_order(signed.scope, order.id).await,
        "reject" => state.app.reject_order(signed.scope, order.id).await,
        "cancel" => state.app.cancel_order(signed.scope, order.id).await,
        "refund" => return refund(&state, &signed, &order, &form).await,
        _ => return not_found(Some(signed.layout())),
    };
    after_action(&state, &signed, order.id, &action, result.map(drop), "", Vec::new()).await
}

async fn record_reference(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, so)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (order, so) = match checked_supplier_order(&state, &signed, &id, &so, form.csrf.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let values = vec![
        ("reference".to_string(), form.reference.clone()),
        ("actual_cost".to_string(), form.actual_cost.clone()),
    ];
    let form_key = format!("reference-{so}");
    // The supplier charges in the currency of its expected cost.
    let currency = order
        .supplier_orders
        .iter()
        .find(|s| s.id == so)
        .map_or(order.currency, |s| s.expected_cost.currency);
    let actual_cost = match form.actual_cost.trim() {
        "" => None,
        text => match Money::parse_decimal(text, currency) {
            Ok(money) => Some(money),
            Err(err) => {
                let result = Err(AppError::invalid("actual_cost", err.to_string()));
                return after_action(&state, &signed, order.id, "reference", result, &form_key, values).await;
            }
        },
    };
    let result = state
        .app
        .record_supplier_reference(signed.scope, so, form.reference.trim(), actual_cost)
        .await
        .map(drop)
        .map_err(|err| match err {
            // The use case names the API's fields; the form's are named after them.
            AppError::Invalid(fields) => AppError::Invalid(
                fields
                    .into_iter()
                    .map(|mut f| {
                        f.field = match f.field.as_str() {
                            "supplier_reference" => "reference".into(),
                            name if name.starts_with("actual_cost") => "actual_cost".into(),
                            _ => f.field,
                        };
                        f
                    })
                    .collect(),
            ),
            other => other,
        });
    after_action(&state, &signed, order.id, "reference", result, &form_key, values).await
}

/// `POST /orders/{id}/refund`: an amount in the order's currency and a reason.
async fn refund(state: &AppState, signed: &Signed, order: &Order, form: &ActionForm) -> Response {
    let values = vec![
        ("amount".to_string(), form.amount.clone()),
        ("reason".to_string(), form.reason.clone()),
    ];
    let result = match Money::parse_decimal(form.amount.trim(), order.currency) {
        Ok(amount) => state
            .app
            .refund_order(
                signed.scope,
                order.id,
                NewRefund {
                    amount: Some(amount),
                    reason: form.reason.clone(),
                    lines: Vec::new(),
                },
            )
            .await
            .map(drop),
        Err(err) => Err(AppError::invalid("amount", err.to_string())),
    };
    after_action(state, signed, order.id, "refund", result, "refund", values).await
}

/// A claim's move from its row on the order page; accepting takes what was recovered.
async fn claim_action(
    state: &AppState,
    signed: &Signed,
    order: &Order,
    item: &str,
    action: &str,
    form: &ActionForm,
) -> Response {
    let Some(claim) = item
        .parse::<ClaimId>()
        .ok()
        .and_then(|id| order.after_sale.claims.iter().find(|c| c.id == id))
    else {
        return not_found(Some(signed.layout()));
    };
    let event = match action {
        "submit" => ClaimEvent::Submit,
        "reject" => ClaimEvent::Reject,
        "accept" => ClaimEvent::Accept,
        _ => return not_found(Some(signed.layout())),
    };
    let code = format!("claim-{action}");
    if event != ClaimEvent::Accept {
        let result = state
            .app
            .move_claim(signed.scope, order.id, claim.id, event, None)
            .await
            .map(drop);
        return after_action(state, signed, order.id, &code, result, "", Vec::new()).await;
    }
    let values = vec![("recovered".to_string(), form.recovered.clone())];
    let result = match Money::parse_decimal(form.recovered.trim(), claim.claimed.currency) {
        Ok(recovered) => state
            .app
            .move_claim(signed.scope, order.id, claim.id, event, Some(recovered))
            .await
            .map(drop),
        Err(err) => Err(AppError::invalid("recovered", err.to_string())),
    };
    let form_key = format!("claim-{}", claim.id);
    after_action(state, signed, order.id, &code, result, &form_key, values).await
}

/// A return's or a dispute's move from its row on the order page.
async fn after_sale_action(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, kind, item, action)): Path<(String, String, String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let order = match checked_order(&state, &signed, &id, form.csrf.as_deref()).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    let scope = signed.scope;
    let result = match kind.as_str() {
        "returns" => {
            let Some(return_id) = item
                .parse::<ReturnId>()
                .ok()
                .filter(|r| order.after_sale.returns.iter().any(|x| x.id == *r))
            else {
                return not_found(Some(signed.layout()));
            };
            let event = match action.as_str() {
                "approve" => Some(ReturnEvent::Approve),
                "reject" => Some(ReturnEvent::Reject),
                "await-item" => Some(ReturnEvent::AwaitItem),
                "receive" => Some(ReturnEvent::Receive),
                _ => None,
            };
            let resolution = match action.as_str() {
                "refund" => Some(Resolution::Refund),
                "returnless-refund" => Some(Resolution::ReturnlessRefund),
                "store-credit" => Some(Resolution::StoreCredit),
                "replacement" => Some(Resolution::Replacement),
                "exchange" => Some(Resolution::Exchange),
                _ => None,
            };
            if let Some(resolution @ (Resolution::Replacement | Resolution::Exchange)) = resolution {
                // Sent again: refused input is shown next to the return's exchange form.
                let typed = form.variant_id.trim();
                let result = match (resolution, typed) {
                    (Resolution::Exchange, "") => Err(AppError::invalid("variant_id", "choose the variant to send")),
                    (Resolution::Exchange, text) => match text.parse() {
                        Ok(variant_id) => state
                            .app
                            .resolve_return(scope, order.id, return_id, resolution, None, Some(variant_id))
                            .await
                            .map(drop),
                        Err(_) => Err(AppError::invalid("variant_id", "choose one of the store's variants")),
                    },
                    _ => state
                        .app
                        .resolve_return(scope, order.id, return_id, resolution, None, None)
                        .await
                        .map(drop),
                };
                let values = vec![("variant_id".to_string(), form.variant_id.clone())];
                let code = format!("return-{action}");
                let form_key = format!("return-{return_id}");
                return after_action(&state, &signed, order.id, &code, result, &form_key, values).await;
            }
            if action == "claim" {
                // A claim by hand, for every unit of the return that supplier order brought.
                let Ok(supplier_order_id) = form.supplier_order_id.trim().parse() else {
                    return not_found(Some(signed.layout()));
                };
                let new = NewClaim {
                    return_id,
                    supplier_order_id,
                    lines: Vec::new(),
                };
                let result = state.app.open_claim(scope, order.id, new).await.map(drop);
                return after_action(&state, &signed, order.id, "return-claim", result, "", Vec::new()).await;
            }
            match (event, resolution) {
                (Some(event), _) => state.app.move_return(scope, order.id, return_id, event).await.map(drop),
                (None, Some(resolution)) => state
                    .app
                    .resolve_return(scope, order.id, return_id, resolution, None, None)
                    .await
                    .map(drop),
                (None, None) => return not_found(Some(signed.layout())),
            }
        }
        "disputes" => {
            let Some(dispute_id) = item
                .parse::<DisputeId>()
                .ok()
                .filter(|d| order.after_sale.disputes.iter().any(|x| x.id == *d))
            else {
                return not_found(Some(signed.layout()));
            };
            let event = match action.as_str() {
                "respond" => DisputeEvent::Respond,
                "win" => DisputeEvent::Win,
                "lose" => DisputeEvent::Lose,
                _ => return not_found(Some(signed.layout())),
            };
            state
                .app
                .move_dispute(scope, order.id, dispute_id, event)
                .await
                .map(drop)
        }
        "claims" => return claim_action(&state, &signed, &order, &item, &action, &form).await,
        _ => return not_found(Some(signed.layout())),
    };
    let code = format!("{}-{action}", kind.trim_end_matches('s'));
    after_action(&state, &signed, order.id, &code, result, "", Vec::new()).await
}

/// The carrier typed, or else the one the number's format names.
fn carrier_for(typed: &str, tracking_number: &str) -> Result<String, AppError> {
    if !typed.trim().is_empty() {
        return Ok(typed.trim().to_string());
    }
    if tracking_number.trim().is_empty() {
        // The use case names the missing number.
        return Ok(String::new());
    }
    detect_carrier(tracking_number)
        .candidates
        .into_iter()
        .find(|c| c.valid)
        .map(|c| c.name)
        .ok_or_else(|| {
            AppError::invalid(
                "carrier",
                "no carrier could be recognised from the tracking number: enter the carrier",
            )
        })
}

async fn add_tracking(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, so)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (order, so) = match checked_supplier_order(&state, &signed, &id, &so, form.csrf.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let values = vec![
        ("carrier".to_string(), form.carrier.clone()),
        ("tracking_number".to_string(), form.tracking_number.clone()),
        ("tracking_url".to_string(), form.tracking_url.clone()),
    ];
    let form_key = format!("tracking-{so}");
    let url = form.tracking_url.trim();
    let result = if !url.is_empty() && pages::safe_url(Some(url)).is_none() {
        Err(AppError::invalid(
            "tracking_url",
            "must be an http:// or https:// address",
        ))
    } else {
        match carrier_for(&form.carrier, &form.tracking_number) {
            Ok(carrier) => state
                .app
                .add_shipment(
                    signed.scope,
                    so,
                    &carrier,
                    form.tracking_number.trim(),
                    (!url.is_empty()).then(|| url.to_string()),
                )
                .await
                .map(drop),
            Err(err) => Err(err),
        }
    };
    after_action(&state, &signed, order.id, "tracking", result, &form_key, values).await
}

/// The supplier order's actions without fields: cancel, release a hold, accept the
/// supplier's new price, switch to the next offer.
async fn supplier_order_action(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, so, action)): Path<(String, String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (order, so) = match checked_supplier_order(&state, &signed, &id, &so, form.csrf.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (code, result) = match action.as_str() {
        "cancel" => (
            "cancel-supplier-order",
            state.app.cancel_supplier_order(signed.scope, so).await,
        ),
        "release" => (
            "release",
            state.app.release_supplier_order(signed.scope, so, false).await,
        ),
        "accept-price" => (
            "accept-price",
            state.app.release_supplier_order(signed.scope, so, true).await,
        ),
        "switch" => ("switch", state.app.switch_supplier(signed.scope, so).await),
        _ => return not_found(Some(signed.layout())),
    };
    after_action(&state, &signed, order.id, code, result.map(drop), "", Vec::new()).await
}

async fn mark_parcel(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, so, sh, event)): Path<(String, String, String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (order, so) = match checked_supplier_order(&state, &signed, &id, &so, form.csrf.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(sh) = shipment_of(&order, so, &sh) else {
        return not_found(Some(signed.layout()));
    };
    let action = match event.as_str() {
        "shipped" => ParcelAction::Shipped,
        "delivered" => ParcelAction::Delivered,
        "failed" => ParcelAction::Failed,
        _ => return not_found(Some(signed.layout())),
    };
    let note = Some(form.note.trim().to_string()).filter(|n| !n.is_empty());
    let result = state
        .app
        .mark_parcel(signed.scope, so, Some(sh), action, note)
        .await
        .map(drop);
    after_action(&state, &signed, order.id, &event, result, "", Vec::new()).await
}

async fn reship(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, so, sh)): Path<(String, String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (order, so) = match checked_supplier_order(&state, &signed, &id, &so, form.csrf.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(sh) = shipment_of(&order, so, &sh) else {
        return not_found(Some(signed.layout()));
    };
    let values = vec![
        ("carrier".to_string(), form.carrier.clone()),
        ("tracking_number".to_string(), form.tracking_number.clone()),
    ];
    let form_key = format!("reship-{sh}");
    let result = match carrier_for(&form.carrier, &form.tracking_number) {
        Ok(carrier) => state
            .app
            .reship(signed.scope, so, Some(sh), &carrier, form.tracking_number.trim())
            .await
            .map(drop),
        Err(err) => Err(err),
    };
    after_action(&state, &signed, order.id, "reship", result, &form_key, values).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> OrdersQuery {
        let text = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().copied())
            .finish();
        serde_urlencoded_like(&text)
    }

    /// Reads a query string as axum's `Query` would.
    fn serde_urlencoded_like(text: &str) -> OrdersQuery {
        let mut query = OrdersQuery::default();
        for (name, value) in form_urlencoded::parse(text.as_bytes()) {
            let value = Some(value.into_owned());
            match name.as_ref() {
                "state" => query.state = value,
                "store" => query.store = value,
                "supplier" => query.supplier = value,
                "exception" => query.exception = value,
                "from" => query.from = value,
                "to" => query.to = value,
                "q" => query.q = value,
                "sort" => query.sort = value,
                _ => {}
            }
        }
        query
    }

    #[test]
    fn filters_read_and_write_back_the_same_query() {
        let store = StoreId::new().to_string();
        let supplier = SupplierId::new().to_string();
        let typed = query(&[
            ("state", "pending_review"),
            ("store", &store),
            ("supplier", &supplier),
            ("exception", "1"),
            ("from", "2026-12-01"),
            ("to", "2026-12-03"),
            ("q", "María & co"),
            ("sort", "oldest"),
        ]);
        let filters = ListFilters::read(&typed, true).expect("good filters");
        let again = ListFilters::read(&serde_urlencoded_like(&filters.query_string()), true).expect("again");
        assert_eq!(again, filters);
        let filter = filters.order_filter(10);
        assert_eq!(
            filter.placed_to.expect("to").date(),
            Date::from_calendar_date(2026, time::Month::December, 4).expect("a date")
        );
        assert!(filter.with_exception && filter.oldest_first);
        // A seller's store filter is ignored (their scope decides).
        assert_eq!(ListFilters::read(&typed, false).expect("read").store, None);
    }

    #[test]
    fn bad_filters_are_named() {
        let cases: [(&[(&str, &str)], &str); 8] = [
            (&[("state", "lost")], "state"),
            (&[("supplier", "x")], "supplier"),
            (&[("exception", "yes")], "exception"),
            (&[("from", "12/01/2026")], "from date"),
            (&[("to", "2026-13-01")], "to date"),
            (
                &[("from", "2026-12-03"), ("to", "2026-12-01")],
                "date range (it ends before it starts)",
            ),
            (&[("sort", "total")], "sort"),
            (&[("q", &"x".repeat(201))], "search (longer than 200 characters)"),
        ];
        for (pairs, named) in cases {
            assert_eq!(
                ListFilters::read(&query(pairs), true),
                Err(BadFilter(named)),
                "{pairs:?}"
            );
        }
        assert_eq!(
            ListFilters::read(&query(&[("store", "x")]), true),
            Err(BadFilter("store"))
        );
    }

    #[test]
    fn the_back_address_stays_on_the_list() {
        assert_eq!(list_address(""), "/orders");
        assert_eq!(list_address("state=on_hold&q=a%20b"), "/orders?state=on_hold&q=a%20b");
        assert_eq!(list_address("//evil.example/x"), "/orders?evil.examplex");
        assert_eq!(list_address("\r\nSet-Cookie: a"), "/orders?Set-Cookiea");
    }

    #[test]
    fn a_bulk_form_keeps_every_id() {
        let form = read_bulk_form(b"csrf=t&action=accept&ids=a&ids=b&back=state%3Don_hold");
        assert_eq!(form.ids, vec!["a", "b"]);
        assert_eq!(form.action, "accept");
        assert_eq!(form.csrf.as_deref(), Some("t"));
        assert_eq!(form.back, "state=on_hold");
    }

    #[test]
    fn the_carrier_is_detected_when_left_blank() {
        assert_eq!(carrier_for(" DHL ", "123").expect("typed"), "DHL");
        assert!(carrier_for("", "1Z999AA10123456784").expect("ups").contains("UPS"));
        assert!(matches!(carrier_for("", "not a number"), Err(AppError::Invalid(_))));
    }
}
