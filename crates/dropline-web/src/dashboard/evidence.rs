//! The evidence of a payment dispute (`/orders/{id}/disputes/{dispute}/evidence`): one
//! printable page assembled from the order's own history — the order and its payment, the
//! shipping address, each parcel's carrier events and delivery, the emails the customer was
//! sent, the timeline — for the seller to submit to the payment processor (saved as PDF
//! with the browser's print). Nothing on it is typed by hand.

use super::pages::{label, moment, safe_url};
use super::{Signed, failure, not_found, page, refusal};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::Scope;
use dropline_app::ports::MessageFilter;
use dropline_domain::ids::{DisputeId, OrderId};
use dropline_domain::order::Order;
use dropline_domain::timeline::TimelineEvent;

pub(crate) struct ParcelView {
    carrier: String,
    tracking_number: String,
    url: Option<String>,
    summary: String,
    /// When, what, where.
    events: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "dashboard/evidence.html")]
pub(crate) struct Evidence {
    store_name: String,
    prepared: String,
    number: String,
    placed: String,
    customer_name: String,
    customer_email: Option<String>,
    paid: String,
    payment: String,
    refunds: Vec<String>,
    /// Title, quantity, price.
    lines: Vec<(String, u32, String)>,
    address: Vec<String>,
    dispute_amount: String,
    dispute_reason: String,
    dispute_opened: String,
    dispute_due: String,
    parcels: Vec<ParcelView>,
    /// When, which email, to whom.
    messages: Vec<(String, String, String)>,
    /// When, what.
    history: Vec<(String, String)>,
}

impl Evidence {
    fn new(
        store_name: String,
        order: &Order,
        dispute: DisputeId,
        timeline: &[TimelineEvent],
        messages: &[dropline_app::ports::Message],
        now: time::OffsetDateTime,
    ) -> Option<Self> {
        let dispute = order.after_sale.disputes.iter().find(|d| d.id == dispute)?;
        let a = &order.shipping_address;
        let mut address = vec![format!("{} {}", a.first_name, a.last_name)];
        address.extend(a.company.clone());
        address.push(a.address1.clone());
        address.extend(a.address2.clone());
        address.push(format!(
            "{} {} {}",
            a.postal_code,
            a.city,
            a.region.clone().unwrap_or_default()
        ));
        address.push(a.country_code.clone());
        let parcels = order
            .supplier_orders
            .iter()
            .flat_map(|so| so.shipments.iter())
            .map(|parcel| {
                let summary = match (parcel.shipped_at, parcel.delivered_at) {
                    (_, Some(delivered)) => format!("Delivered {}", moment(delivered)),
                    (Some(shipped), None) => format!("Shipped {}, {}", moment(shipped), label(parcel.state.as_str())),
                    (None, None) => label(parcel.state.as_str()),
                };
                ParcelView {
                    carrier: parcel.carrier.clone(),
                    tracking_number: parcel.tracking_number.clone(),
                    url: safe_url(parcel.public_tracking_url().as_deref()),
                    summary,
                    events: parcel
                        .events
                        .iter()
                        .map(|e| {
                            (
                                moment(e.at),
                                e.note.clone().unwrap_or_else(|| label(e.state.as_str())),
                                e.location.clone().unwrap_or_default(),
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        Some(Self {
            store_name,
            prepared: moment(now),
            number: order.number.clone(),
            placed: moment(order.placed_at),
            customer_name: order.customer.name.clone(),
            customer_email: order.customer.email.clone(),
            paid: order.paid_total().to_string(),
            payment: label(order.payment.as_str()),
            refunds: order
                .after_sale
                .refunds
                .iter()
                .map(|r| format!("{} on {}: {}", r.amount, moment(r.at), r.reason))
                .collect(),
            lines: order
                .lines
                .iter()
                .map(|l| (l.title.clone(), l.quantity, l.unit_price.to_string()))
                .collect(),
            address,
            dispute_amount: dispute.amount.to_string(),
            dispute_reason: dispute.reason_code.clone(),
            dispute_opened: moment(dispute.opened_at),
            dispute_due: moment(dispute.due_at),
            parcels,
            // Only what the customer received: the seller's own notices stay out.
            messages: messages
                .iter()
                .filter(|m| !m.template.starts_with("seller_"))
                .map(|m| {
                    (
                        moment(m.sent_at.unwrap_or(m.created_at)),
                        label(&m.template),
                        m.recipient.clone().unwrap_or_default(),
                    )
                })
                .collect(),
            // The order's, the payment's and the after-sale steps only: supplier orders
            // (names, references, costs) stay out, as do the seller's own exceptions.
            history: timeline
                .iter()
                .filter(|e| {
                    ["order.", "payment.", "refund.", "return.", "dispute."]
                        .iter()
                        .any(|prefix| e.kind.starts_with(prefix))
                        && e.kind != "order.exception"
                })
                .map(|e| (moment(e.at), e.message.clone()))
                .collect(),
        })
    }
}

pub(super) async fn evidence_page(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, dispute)): Path<(String, String)>,
) -> Response {
    let (Ok(id), Ok(dispute)) = (id.parse::<OrderId>(), dispute.parse::<DisputeId>()) else {
        return not_found(Some(signed.layout()));
    };
    let order = match state.app.get_order(signed.scope, id).await {
        Ok(order) => order,
        Err(err) => return refusal(signed.layout(), &err),
    };
    let store = match state.app.get_store(Scope::Operator, order.store_id).await {
        Ok(record) => record.store,
        Err(err) => return failure(&err),
    };
    let timeline = match state.app.timeline(signed.scope, id).await {
        Ok(events) => events,
        Err(err) => return failure(&err),
    };
    let filter = MessageFilter {
        order_id: Some(id),
        limit: 500,
        ..MessageFilter::default()
    };
    let mut messages = match state.app.list_messages(signed.scope, filter).await {
        Ok(messages) => messages,
        Err(err) => return failure(&err),
    };
    messages.reverse();
    let name = store.settings.brand.display_name.clone().unwrap_or(store.name);
    match Evidence::new(name, &order, dispute, &timeline, &messages, state.app.now()) {
        Some(evidence) => page(StatusCode::OK, &evidence),
        None => not_found(Some(signed.layout())),
    }
}
