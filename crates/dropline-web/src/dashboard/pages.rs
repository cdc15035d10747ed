//! The dashboard's pages: askama templates (in `templates/dashboard/`, every value escaped)
//! and the views they show, made from the engine's types.

use askama::Template;
use dropline_domain::ids::StoreId;
use dropline_domain::order::Order;
use dropline_domain::state::OrderState;
use dropline_domain::timeline::{Actor, TimelineEvent};
use time::OffsetDateTime;

/// What the shared layout shows of the signed-in user.
pub(crate) struct Layout {
    pub(crate) email: String,
    /// The session's CSRF token, for the sign-out form in the header.
    pub(crate) csrf: String,
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
}

fn moment(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}

fn label(code: &str) -> String {
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
fn safe_url(url: Option<&str>) -> Option<String> {
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

pub(crate) struct StateOption {
    code: &'static str,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "dashboard/orders.html")]
pub(crate) struct Orders {
    layout: Option<Layout>,
    operator: bool,
    states: Vec<StateOption>,
    store: String,
    rows: Vec<OrderRow>,
    /// The address of the next page, when there is one.
    next: Option<String>,
    filtered: bool,
}

impl Orders {
    pub(crate) fn new(
        layout: Layout,
        operator: bool,
        state: Option<OrderState>,
        store: Option<StoreId>,
        orders: &[Order],
        more: bool,
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
        let next = match (more, rows.last()) {
            (true, Some(last)) => {
                let mut url = format!("/orders?before={}", last.id);
                if let Some(state) = state {
                    url.push_str(&format!("&state={}", state.as_str()));
                }
                if let Some(store) = store {
                    url.push_str(&format!("&store={store}"));
                }
                Some(url)
            }
            _ => None,
        };
        Self {
            layout: Some(layout),
            operator,
            states: OrderState::ALL
                .iter()
                .map(|s| StateOption {
                    code: s.as_str(),
                    label: label(s.as_str()),
                    selected: Some(*s) == state,
                })
                .collect(),
            store: store.map(|s| s.to_string()).unwrap_or_default(),
            rows,
            next,
            filtered: state.is_some() || store.is_some(),
        }
    }
}

pub(crate) struct LineView {
    title: String,
    variant: Option<String>,
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
    carrier: String,
    tracking_number: String,
    tracking_url: Option<String>,
    state: String,
}

pub(crate) struct SupplierOrderView {
    supplier_name: String,
    cost: String,
    cost_is_actual: bool,
    reference: Option<String>,
    state: String,
    lines: Vec<SupplierLineView>,
    shipments: Vec<ShipmentView>,
}

pub(crate) struct EventView {
    when: String,
    who: String,
    message: String,
}

#[derive(Template)]
#[template(path = "dashboard/order.html")]
pub(crate) struct OrderPage {
    layout: Option<Layout>,
    number: String,
    placed: String,
    state_label: String,
    state_class: &'static str,
    customer_name: String,
    customer_email: Option<String>,
    customer_phone: Option<String>,
    address: Vec<String>,
    lines: Vec<LineView>,
    subtotal: String,
    shipping: String,
    total: String,
    supplier_orders: Vec<SupplierOrderView>,
    open_exceptions: Vec<String>,
    events: Vec<EventView>,
}

fn actor(actor: &Actor) -> String {
    match actor {
        Actor::System => "dropline".into(),
        Actor::Rule(name) => format!("Rule {name}"),
        Actor::Seller(name) => format!("Seller {name}"),
        Actor::Operator => "Operator".into(),
        Actor::Storefront(name) => format!("Storefront {name}"),
        Actor::Worker => "Worker".into(),
    }
}

impl OrderPage {
    pub(crate) fn new(layout: Layout, order: &Order, timeline: &[TimelineEvent]) -> Self {
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
        Self {
            layout: Some(layout),
            number: order.number.clone(),
            placed: moment(order.placed_at),
            state_label: label(order.state.as_str()),
            state_class: chip_class(order.state),
            customer_name: order.customer.name.clone(),
            customer_email: order.customer.email.clone(),
            customer_phone: order.customer.phone.clone(),
            address,
            lines: order
                .lines
                .iter()
                .map(|line| LineView {
                    title: line.title.clone(),
                    variant: line.variant_title.clone(),
                    quantity: line.quantity,
                    price: line.unit_price.to_string(),
                })
                .collect(),
            subtotal: order.subtotal.to_string(),
            shipping: order.shipping_total.to_string(),
            total: order.total.to_string(),
            supplier_orders: order
                .supplier_orders
                .iter()
                .map(|so| SupplierOrderView {
                    supplier_name: so.supplier_name.clone(),
                    cost: so.actual_cost.unwrap_or(so.expected_cost).to_string(),
                    cost_is_actual: so.actual_cost.is_some(),
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
                    shipments: so
                        .shipments
                        .iter()
                        .map(|shipment| ShipmentView {
                            carrier: shipment.carrier.clone(),
                            tracking_number: shipment.tracking_number.clone(),
                            tracking_url: safe_url(shipment.public_tracking_url().as_deref()),
                            state: label(shipment.state.as_str()),
                        })
                        .collect(),
                })
                .collect(),
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
