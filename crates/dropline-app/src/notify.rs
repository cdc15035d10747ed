//! Who is told what, and when: the customer emails (in the store's name) and the seller's
//! notifications, written to the outbox in the transaction of the change that causes them,
//! and the `send_message` job that hands them to the [`Mailer`](crate::mail::Mailer).
//!
//! What a change tells is found by comparing the order before and after it
//! ([`notices_for_change`]), so every path that changes an order (a webhook, a job, the
//! seller) tells the same things. Each message carries a dedupe key naming its event
//! (`shipped:{parcel}`), and the store writes a key once: one event never gives two emails.
//! Customer messages never carry a supplier's name, price or link.

use crate::error::AppError;
use crate::jobs;
use crate::mail::{MailError, OutgoingEmail};
use crate::ports::{ChangeSet, Job, Message, MessageState, MessageUpdate, OrderWrite, StoreError};
use crate::service::App;
use dropline_domain::address::Address;
use dropline_domain::after_sale::{LineUnits, Return};
use dropline_domain::catalog::Store as Shop;
use dropline_domain::ids::{MessageId, ReturnId, ShipmentId};
use dropline_domain::ledger::ReturnState;
use dropline_domain::order::{ExceptionKind, Order, OrderException, Shipment, SuggestedAction};
use dropline_domain::state::{OrderState, PaymentState, ShipmentState};
use dropline_domain::timeline::{Actor, Journal};
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;

/// How the outbox is sent.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// The public address of dropline's web server (`https://track.shop.example`): links to
    /// the tracking page are built on it. `None`: emails carry no tracking-page link.
    pub public_url: Option<String>,
    /// Send attempts before a message is failed.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt.
    pub base_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            max_attempts: 8,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(6 * 3600),
        }
    }
}

/// Customer templates, by the event that sends them.
pub const CUSTOMER_TEMPLATES: [&str; 11] = [
    "order_received",
    "order_confirmed",
    "shipped",
    "delayed",
    "out_for_delivery",
    "delivered",
    "delivery_failed",
    "cancelled",
    "refund_issued",
    "return_approved",
    "replacement_on_its_way",
];

/// Whether a template is written to the seller rather than the customer.
pub fn is_seller_template(template: &str) -> bool {
    template.starts_with("seller_")
}

/// A new random tracking-page token: 24 random bytes as 48 hex characters (unguessable, and
/// safe in a URL).
pub fn new_tracking_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The order as a customer email shows it: no supplier, no cost.
pub fn order_data(order: &Order) -> Value {
    json!({
        "number": order.number,
        "customer_name": order.customer.name,
        "placed_at": order.placed_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "total": order.total.to_string(),
        "items": order.lines.iter().map(|l| json!({
            "title": l.title,
            "variant_title": l.variant_title,
            "quantity": l.quantity,
        })).collect::<Vec<_>>(),
        "shipping_city": order.shipping_address.city,
        "shipping_country": order.shipping_address.country_code,
    })
}

/// Where a return goes, as the customer's email shows it: per address, the items to put in
/// the parcel and the address's lines. A supplier's address is shown without its company
/// (the customer sends the parcel to the store's returns desk, in the store's name);
/// `address` is missing when no address is known yet.
pub fn return_data(order: &Order, found: &Return) -> Value {
    let items = |lines: &[LineUnits]| {
        lines
            .iter()
            .filter_map(|units| {
                let line = order.lines.iter().find(|l| l.id == units.line_item_id)?;
                Some(json!({
                    "title": line.title,
                    "variant_title": line.variant_title,
                    "quantity": units.quantity,
                }))
            })
            .collect::<Vec<_>>()
    };
    let destinations: Vec<Value> = if found.send_to.is_empty() {
        vec![json!({ "items": items(&found.lines) })]
    } else {
        found
            .send_to
            .iter()
            .map(|d| {
                json!({
                    "items": items(&d.lines),
                    "address": d.address.as_ref().map(|a| address_lines(a, d.supplier_id.is_none())),
                })
            })
            .collect()
    };
    json!({ "destinations": destinations })
}

/// What a return resolved by replacement or exchange sends, as the customer's email shows
/// it: `kind` (`replacement`, `exchange`) and the titles and quantities of the supplier
/// orders sent for it; no supplier, no cost.
pub fn replacement_data(order: &Order, return_id: ReturnId) -> Value {
    let kind = order
        .after_sale
        .returns
        .iter()
        .find(|r| r.id == return_id)
        .and_then(|r| r.resolution)
        .map(|resolution| resolution.to_string());
    let items: Vec<Value> = order
        .after_sale
        .replacements
        .iter()
        .filter(|r| r.return_id == return_id)
        .filter_map(|r| order.supplier_orders.iter().find(|so| so.id == r.supplier_order_id))
        .flat_map(|so| &so.lines)
        .map(|line| {
            json!({
                "title": line.title,
                "variant_title": line.variant_title,
                "quantity": line.quantity,
            })
        })
        .collect();
    json!({ "kind": kind, "items": items })
}

/// The lines of a postal address as written on a parcel; `with_company` keeps the company
/// (the store's own), which a supplier's address leaves out.
fn address_lines(address: &Address, with_company: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let name = address.full_name();
    if !name.is_empty() {
        lines.push(name);
    }
    if with_company {
        lines.extend(address.company.clone().filter(|c| !c.trim().is_empty()));
    }
    lines.push(address.address1.clone());
    lines.extend(address.address2.clone().filter(|a| !a.trim().is_empty()));
    let region = address.region.clone().unwrap_or_default();
    let town = [address.postal_code.as_str(), address.city.as_str(), region.as_str()]
        .iter()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !town.is_empty() {
        lines.push(town);
    }
    lines.push(address.country_code.clone());
    lines.retain(|line| !line.trim().is_empty());
    lines
}

/// A parcel as a customer email shows it: the carrier, never the supplier.
pub fn parcel_data(parcel: &Shipment) -> Value {
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    json!({
        "carrier": parcel.carrier,
        "tracking_number": parcel.tracking_number,
        "tracking_url": parcel.public_tracking_url(),
        "state": parcel.state.to_string(),
        "expected_latest": parcel.expected_window.and_then(|w| w.latest.format(rfc3339).ok()),
    })
}

fn message(
    order: Option<&Order>,
    store: &Shop,
    template: &str,
    recipient: Option<String>,
    data: Value,
    key: String,
    now: OffsetDateTime,
) -> Message {
    Message {
        id: MessageId::new(),
        store_id: store.id,
        order_id: order.map(|o| o.id),
        template: template.to_string(),
        recipient,
        data,
        state: MessageState::Queued,
        created_at: now,
        dedupe_key: Some(key),
        attempts: 0,
        last_error: None,
        sent_at: None,
    }
}

/// What an order change tells the customer and the seller.
pub struct Notices<'a> {
    pub store: &'a Shop,
    pub public_url: Option<&'a str>,
    pub now: OffsetDateTime,
}

impl Notices<'_> {
    fn tracking_page(&self, order: &Order) -> Option<String> {
        let token = order.tracking_token.as_deref()?;
        let base = self.public_url?.trim_end_matches('/');
        Some(format!("{base}/track/{token}"))
    }

    /// A customer email about `order`, when the store sends it and the customer has an
    /// address (test orders tell nobody).
    pub fn customer(&self, order: &Order, template: &str, key: String, extra: Value) -> Option<Message> {
        // `order_received` has no switch: it is the receipt of the purchase itself.
        let switched_off = template != "order_received" && !self.store.settings.customer_emails.allows(template);
        if order.test || switched_off {
            return None;
        }
        let recipient = order.customer.email.clone().filter(|e| !e.trim().is_empty())?;
        let mut data = json!({
            "order": order_data(order),
            "tracking_page_url": self.tracking_page(order),
        });
        merge(&mut data, extra);
        Some(message(
            Some(order),
            self.store,
            template,
            Some(recipient),
            data,
            key,
            self.now,
        ))
    }

    /// A seller notification, when the store has a seller address and the switch is on.
    pub fn seller(&self, order: Option<&Order>, template: &str, key: String, extra: Value) -> Option<Message> {
        let settings = &self.store.settings.seller_notifications;
        let on = match template {
            "seller_new_order" => settings.new_order,
            "seller_needs_attention" | "seller_message_failed" | "seller_dispute_due" => settings.needs_attention,
            "seller_digest" => settings.daily_digest,
            _ => false,
        };
        if !on || order.is_some_and(|o| o.test) {
            return None;
        }
        let recipient = settings.email.clone()?;
        let mut data = json!({});
        if let Some(order) = order {
            data = json!({ "order": order_data(order) });
        }
        merge(&mut data, extra);
        Some(message(
            order,
            self.store,
            template,
            Some(recipient),
            data,
            key,
            self.now,
        ))
    }
}

fn merge(data: &mut Value, extra: Value) {
    if let (Value::Object(data), Value::Object(extra)) = (data, extra) {
        data.extend(extra);
    }
}

/// What the seller is told about an exception.
pub fn attention_data(exception: &OrderException) -> Value {
    json!({
        "attention": {
            "kind": exception.kind.to_string(),
            "detail": exception.detail,
            "suggested_action": exception.suggested_action.to_string(),
        }
    })
}

fn parcels(order: &Order) -> impl Iterator<Item = &Shipment> {
    order.supplier_orders.iter().flat_map(|so| &so.shipments)
}

/// What a change of `before` into `after` tells: a parcel that appeared (shipped), a
/// parcel that reached the door, or failed to; the order cancelled, refunded; a new
/// exception for the seller. A first parcel gives the order its tracking-page token.
pub fn notices_for_change(notices: &Notices<'_>, before: Option<&Order>, after: &mut Order) -> Vec<Message> {
    let mut out = Vec::new();
    let accepted = |o: &Order| {
        !matches!(
            o.state,
            OrderState::PendingReview | OrderState::OnHold | OrderState::Rejected | OrderState::Cancelled
        )
    };
    let Some(before) = before else {
        if after.state == OrderState::Cancelled {
            return out;
        }
        out.extend(notices.customer(
            after,
            "order_received",
            format!("order_received:{}", after.id),
            json!({}),
        ));
        out.extend(notices.seller(
            Some(after),
            "seller_new_order",
            format!("new_order:{}", after.id),
            json!({}),
        ));
        if accepted(after) {
            out.extend(notices.customer(
                after,
                "order_confirmed",
                format!("order_confirmed:{}", after.id),
                json!({}),
            ));
        }
        return out;
    };
    if accepted(after) && !accepted(before) && before.state != OrderState::Cancelled {
        out.extend(notices.customer(
            after,
            "order_confirmed",
            format!("order_confirmed:{}", after.id),
            json!({}),
        ));
    }
    let shipped_now: Vec<ShipmentId> = parcels(after)
        .filter(|p| !parcels(before).any(|b| b.id == p.id))
        .map(|p| p.id)
        .collect();
    if !shipped_now.is_empty() && after.tracking_token.is_none() {
        after.tracking_token = Some(new_tracking_token());
    }
    let after_ref: &Order = after;
    for parcel in parcels(after_ref) {
        let was = parcels(before).find(|b| b.id == parcel.id);
        if was.is_none() && !parcel.state.is_failure() {
            out.extend(notices.customer(
                after_ref,
                "shipped",
                format!("shipped:{}", parcel.id),
                json!({ "parcel": parcel_data(parcel) }),
            ));
        }
        let before_state = was.map(|b| b.state);
        if before_state == Some(parcel.state) {
            continue;
        }
        let (template, extra) = match parcel.state {
            ShipmentState::OutForDelivery => ("out_for_delivery", json!({})),
            ShipmentState::Delivered => ("delivered", json!({})),
            ShipmentState::AttemptFailed | ShipmentState::Exception | ShipmentState::ReturnedToSender => {
                let reason = parcel
                    .events
                    .iter()
                    .rev()
                    .find(|e| e.state == parcel.state)
                    .and_then(|e| e.note.clone())
                    .unwrap_or_else(|| parcel.state.to_string().replace('_', " "));
                let next_step = match parcel.state {
                    ShipmentState::AttemptFailed => {
                        "The carrier will try again or leave a notice telling you where to collect it. \
                         Reply to this email if your address needs a correction."
                    }
                    ShipmentState::ReturnedToSender => {
                        "The parcel is on its way back to us. We will send it again or refund you, and \
                         will write to you within two working days."
                    }
                    _ => "We are looking into it with the carrier and will write to you as soon as we know more.",
                };
                (
                    "delivery_failed",
                    json!({ "failure": { "reason": reason, "next_step": next_step } }),
                )
            }
            _ => continue,
        };
        let mut extra = extra;
        merge(&mut extra, json!({ "parcel": parcel_data(parcel) }));
        out.extend(notices.customer(
            after_ref,
            template,
            format!("{template}:{}:{}", parcel.id, parcel.state),
            extra,
        ));
    }
    if after_ref.state == OrderState::Cancelled && before.state != OrderState::Cancelled {
        out.extend(notices.customer(after_ref, "cancelled", format!("cancelled:{}", after_ref.id), json!({})));
    }
    // One email per refund dropline issued (a second partial refund leaves the payment
    // state as it was, yet is news to the customer); a refund the storefront reports
    // without one is told by the payment's change.
    let new_refunds: Vec<_> = after_ref
        .after_sale
        .refunds
        .iter()
        .filter(|r| !before.after_sale.refunds.iter().any(|b| b.id == r.id))
        .collect();
    for refund in &new_refunds {
        out.extend(notices.customer(
            after_ref,
            "refund_issued",
            format!("refund_issued:{}", refund.id),
            json!({ "refund": {
                "full": after_ref.payment == PaymentState::Refunded,
                "amount": refund.amount.to_string(),
            } }),
        ));
    }
    // A return the customer is now to send back: where to, and what.
    for found in &after_ref.after_sale.returns {
        let was = before
            .after_sale
            .returns
            .iter()
            .find(|b| b.id == found.id)
            .map(|b| b.state);
        if found.state == ReturnState::AwaitingItem && was != Some(ReturnState::AwaitingItem) {
            out.extend(notices.customer(
                after_ref,
                "return_approved",
                format!("return_approved:{}", found.id),
                json!({ "return": return_data(after_ref, found) }),
            ));
        }
    }
    // A return resolved by sending something instead (a replacement or an exchange): what
    // the new supplier orders carry, one email per return.
    let mut sent_for: Vec<ReturnId> = Vec::new();
    for sent in &after_ref.after_sale.replacements {
        if !before.after_sale.replacements.contains(sent) && !sent_for.contains(&sent.return_id) {
            sent_for.push(sent.return_id);
        }
    }
    for return_id in sent_for {
        let replacement = replacement_data(after_ref, return_id);
        out.extend(notices.customer(
            after_ref,
            "replacement_on_its_way",
            format!("replacement_on_its_way:{return_id}"),
            json!({ "replacement": replacement }),
        ));
    }
    let refunded = |p: PaymentState| matches!(p, PaymentState::Refunded | PaymentState::PartiallyRefunded);
    if new_refunds.is_empty() && refunded(after_ref.payment) && after_ref.payment != before.payment {
        out.extend(notices.customer(
            after_ref,
            "refund_issued",
            format!("refund_issued:{}:{}", after_ref.id, after_ref.payment),
            json!({ "refund": { "full": after_ref.payment == PaymentState::Refunded } }),
        ));
    }
    for exception in after_ref.open_exceptions() {
        let new = !before
            .exceptions
            .iter()
            .any(|b| b.kind == exception.kind && b.detail == exception.detail);
        if new {
            out.extend(notices.seller(
                Some(after_ref),
                "seller_needs_attention",
                format!(
                    "attention:{}:{}:{}",
                    after_ref.id,
                    exception.kind,
                    exception.raised_at.unix_timestamp()
                ),
                attention_data(exception),
            ));
        }
    }
    out
}

impl App {
    /// The public address tracking-page links are built on.
    pub fn public_url(&self) -> Option<&str> {
        self.notify.public_url.as_deref()
    }

    /// Adds a message to the outbox of `changes`, with its send job when a mailer is set.
    pub(crate) fn push_message(&self, changes: &mut ChangeSet, message: Message) {
        if self.mailer.is_some() {
            changes.jobs.push(jobs::send_message_job(&message, message.created_at));
        }
        changes.messages.push(message);
    }

    /// The `send_message` job: renders and sends one message; on a temporary failure it
    /// tries again later, on a permanent one it fails the message with the reason and tells
    /// the seller (a customer message also raises an exception on its order).
    pub(crate) async fn send_message_job(&self, job: &Job, id: MessageId) -> Result<(), AppError> {
        let finish = |extra: ChangeSet| {
            let mut changes = extra;
            changes.finished_jobs.push(job.id);
            changes
        };
        let Some(mailer) = self.mailer.clone() else {
            return Ok(self.backend.commit(finish(ChangeSet::default())).await?);
        };
        let Some(message) = self.backend.get_message(id).await? else {
            return Ok(self.backend.commit(finish(ChangeSet::default())).await?);
        };
        if message.state != MessageState::Queued {
            return Ok(self.backend.commit(finish(ChangeSet::default())).await?);
        }
        let Some(store) = self.backend.get_store(message.store_id).await? else {
            return Ok(self.backend.commit(finish(ChangeSet::default())).await?);
        };
        let message_id = format!("{}@{}", message.id, mail_domain(&store.store));
        let attempts = message.attempts + 1;
        let outcome = mailer
            .send(OutgoingEmail {
                message: &message,
                store: &store.store,
                message_id,
            })
            .await;
        let now = self.now();
        let update = |state, error: Option<String>| MessageUpdate {
            id: message.id,
            state,
            attempts,
            last_error: error,
            sent_at: (state == MessageState::Sent).then_some(now),
        };
        match outcome {
            Ok(()) => {
                let changes = ChangeSet {
                    message_updates: vec![update(MessageState::Sent, None)],
                    ..ChangeSet::default()
                };
                Ok(self.backend.commit(finish(changes)).await?)
            }
            Err(MailError::Retryable(reason)) if attempts < self.notify.max_attempts => {
                let delay = crate::placement::backoff(
                    self.notify.base_backoff,
                    self.notify.max_backoff,
                    attempts,
                    job.id.0.as_u128(),
                );
                let at = now + time::Duration::try_from(delay).unwrap_or(time::Duration::HOUR);
                tracing::warn!(message = %message.id, %reason, "email not sent; trying again");
                let changes = ChangeSet {
                    message_updates: vec![update(MessageState::Queued, Some(reason))],
                    jobs: vec![jobs::send_message_job(&message, at)],
                    ..ChangeSet::default()
                };
                Ok(self.backend.commit(finish(changes)).await?)
            }
            Err(error) => {
                let reason = error.to_string();
                tracing::warn!(message = %message.id, %reason, "email failed");
                self.fail_message(job, &store.store, &message, attempts, reason).await
            }
        }
    }

    /// Fails a message for good: the message records why, its order (for a customer's)
    /// gets an exception, and the seller is told, never blocking other messages.
    async fn fail_message(
        &self,
        job: &Job,
        store: &Shop,
        message: &Message,
        attempts: u32,
        reason: String,
    ) -> Result<(), AppError> {
        let now = self.now();
        let customer_message = !is_seller_template(&message.template);
        let mut tries = 0;
        loop {
            let mut changes = ChangeSet {
                message_updates: vec![MessageUpdate {
                    id: message.id,
                    state: MessageState::Failed,
                    attempts,
                    last_error: Some(reason.clone()),
                    sent_at: None,
                }],
                finished_jobs: vec![job.id],
                ..ChangeSet::default()
            };
            let order = match message.order_id {
                Some(id) => self.backend.get_order(id).await?,
                None => None,
            };
            if customer_message && let Some(mut order) = order.clone() {
                let mut journal = Journal::new(order.id, Actor::Worker, now);
                let raised = order.raise_exception(
                    ExceptionKind::MessageUndeliverable,
                    format!(
                        "emails to {} are not delivered: {reason}",
                        message.recipient.as_deref().unwrap_or("(no address)")
                    ),
                    SuggestedAction::CheckCustomerContact,
                    &mut journal,
                );
                if raised {
                    changes.timeline.append(&mut journal.events);
                    changes.orders.push(OrderWrite::Update(order));
                }
            }
            if customer_message {
                let notices = Notices {
                    store,
                    public_url: self.public_url(),
                    now,
                };
                let failed = json!({ "failed_message": {
                    "template": message.template,
                    "recipient": message.recipient,
                    "reason": reason,
                    "order_number": order.as_ref().map(|o| o.number.clone()),
                }});
                let key = format!("message_failed:{}", message.id);
                if let Some(alert) = notices.seller(order.as_ref(), "seller_message_failed", key, failed) {
                    self.push_message(&mut changes, alert);
                }
            }
            match self.backend.commit(changes).await {
                Ok(()) => return Ok(()),
                // The order changed meanwhile (another message of it failed too): read it again.
                Err(StoreError::Conflict(_)) if tries < crate::service::CONFLICT_RETRIES => tries += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// The domain of the store's sender address, for Message-IDs (the customer sees only the
/// store's own domain in them).
fn mail_domain(store: &Shop) -> String {
    store
        .settings
        .brand
        .from_email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, domain)| domain.to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Whether a change may tell someone something: cheap checks before the store is read.
pub(crate) fn worth_a_look(before: &Order, after: &Order) -> bool {
    // (An order's acceptance changes its state: covered by the first test.)
    before.state != after.state
        || before.payment != after.payment
        || before.exceptions.len() != after.exceptions.len()
        || parcels(before).count() != parcels(after).count()
        || parcels(before).zip(parcels(after)).any(|(b, a)| b.state != a.state)
        || before.after_sale.refunds.len() != after.after_sale.refunds.len()
        || before.after_sale.replacements.len() != after.after_sale.replacements.len()
        || before
            .after_sale
            .returns
            .iter()
            .map(|r| r.state)
            .ne(after.after_sale.returns.iter().map(|r| r.state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::address::{Address, Customer};
    use dropline_domain::catalog::{Platform, StoreSettings, SupplierKind};
    use dropline_domain::ids::{OrderId, StoreId, SupplierId, SupplierOrderId};
    use dropline_domain::money::{Currency, Money};
    use dropline_domain::order::{IncomingLine, IncomingOrder, SupplierOrder};
    use dropline_domain::state::{OrderEvent, SupplierOrderState};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-10 09:00 UTC);

    fn store(settings: StoreSettings) -> Shop {
        Shop {
            id: StoreId::new(),
            name: "Lumen & Co".into(),
            platform: Platform::Api,
            currency: Currency::parse("EUR").expect("EUR"),
            address: None,
            settings,
        }
    }

    fn order_in_fulfillment(store: &Shop) -> Order {
        let eur = |m| Money::new(m, Currency::parse("EUR").expect("EUR"));
        let incoming = IncomingOrder {
            external_id: "e-1".into(),
            number: "#1042".into(),
            customer: Customer {
                name: "Grace Hopper".into(),
                email: Some("grace@example.com".into()),
                phone: None,
            },
            shipping_address: Address {
                first_name: "Grace".into(),
                last_name: "Hopper".into(),
                address1: "Unter den Linden 1".into(),
                city: "Berlin".into(),
                postal_code: "10117".into(),
                country_code: "DE".into(),
                ..Address::default()
            },
            lines: vec![IncomingLine {
                external_id: None,
                sku: "LAMP".into(),
                title: "Desk lamp".into(),
                variant_title: Some("Brass".into()),
                quantity: 1,
                unit_price: eur(4500),
                requires_shipping: true,
                platform_product_id: None,
                platform_variant_id: None,
                fulfillable_quantity: None,
            }],
            currency: Currency::parse("EUR").expect("EUR"),
            shipping_total: eur(0),
            payment: PaymentState::Paid,
            placed_at: NOW,
            test: false,
            cancelled_at: None,
            source_updated_at: None,
            charged_total: None,
            discount_total: None,
            tax_total: None,
            shipping_method: None,
        };
        let mut journal = Journal::new(OrderId::new(), Actor::System, NOW);
        let mut order = Order::receive(store.id, incoming, |_| None, &mut journal).expect("order");
        order.apply(OrderEvent::Accept, &mut journal).expect("accept");
        order.add_supplier_order(
            SupplierOrder {
                id: SupplierOrderId::new(),
                supplier_id: SupplierId::new(),
                supplier_name: "Shenzhen Secret Supplier".into(),
                supplier_kind: SupplierKind::Manual,
                lines: Vec::new(),
                ship_to: order.shipping_address.clone(),
                shipping_method: None,
                expected_cost: eur(900),
                actual_cost: None,
                cost_rate: None,
                supplier_reference: None,
                idempotency_key: "k".into(),
                attempt: 1,
                state: SupplierOrderState::NEW,
                shipments: Vec::new(),
                created_at: NOW,
                placement: Default::default(),
            },
            &mut journal,
        );
        order.apply(OrderEvent::StartFulfillment, &mut journal).expect("start");
        let id = order.supplier_orders[0].id;
        order
            .record_supplier_reference(id, "CJ-778", None, &mut journal)
            .expect("reference");
        order
    }

    fn ship(order: &mut Order) -> ShipmentId {
        let id = order.supplier_orders[0].id;
        let mut journal = Journal::new(order.id, Actor::System, NOW);
        let parcel = order
            .add_shipment(id, "YunExpress", "YT2229521272164446", None, &mut journal)
            .expect("parcel");
        order
            .record_shipment_event(parcel, ShipmentState::InTransit, None, &mut journal)
            .expect("moving");
        parcel
    }

    fn templates(messages: &[Message]) -> Vec<&str> {
        messages.iter().map(|m| m.template.as_str()).collect()
    }

    #[test]
    fn a_return_to_send_back_tells_where_in_the_stores_name() {
        use dropline_domain::after_sale::{ReturnDestination, ReturnReason};
        use dropline_domain::ids::ReturnId;
        let store = store(StoreSettings::default());
        let mut before = order_in_fulfillment(&store);
        let line = LineUnits {
            line_item_id: before.lines[0].id,
            quantity: 1,
        };
        let supplier_id = before.supplier_orders[0].supplier_id;
        before.after_sale.returns.push(Return {
            id: ReturnId::new(),
            lines: vec![line],
            reason: ReturnReason::ChangedMind,
            note: None,
            photos: Vec::new(),
            state: ReturnState::Approved,
            requested_at: NOW,
            resolution: None,
            send_to: vec![ReturnDestination {
                lines: vec![line],
                supplier_id: Some(supplier_id),
                address: Some(Address {
                    first_name: "Returns".into(),
                    last_name: "Desk".into(),
                    company: Some("Shenzhen Secret Supplier".into()),
                    address1: "8 Harbour Road".into(),
                    city: "Hamburg".into(),
                    postal_code: "20457".into(),
                    country_code: "DE".into(),
                    ..Address::default()
                }),
            }],
            received_at: None,
        });
        let mut after = before.clone();
        after.after_sale.returns[0].state = ReturnState::AwaitingItem;
        assert!(worth_a_look(&before, &after));
        let notices = Notices {
            store: &store,
            public_url: None,
            now: NOW,
        };
        let messages = notices_for_change(&notices, Some(&before), &mut after.clone());
        assert_eq!(templates(&messages), vec!["return_approved"]);
        let destination = &messages[0].data["return"]["destinations"][0];
        assert_eq!(
            destination["address"],
            json!(["Returns Desk", "8 Harbour Road", "20457 Hamburg", "DE"])
        );
        assert_eq!(destination["items"][0]["title"], "Desk lamp");
        assert!(!messages[0].data.to_string().contains("Secret"));
        assert_eq!(
            messages[0].dedupe_key.as_deref(),
            Some(format!("return_approved:{}", after.after_sale.returns[0].id).as_str())
        );
        // Switched off: nothing.
        let mut settings = StoreSettings::default();
        settings.customer_emails.return_approved = false;
        let quiet = self::store(settings);
        let notices = Notices {
            store: &quiet,
            public_url: None,
            now: NOW,
        };
        assert!(notices_for_change(&notices, Some(&before), &mut after).is_empty());
    }

    /// The order with a return of its one line, received back.
    fn order_with_a_received_return(store: &Shop) -> (Order, dropline_domain::ids::ReturnId) {
        use dropline_domain::after_sale::ReturnReason;
        let mut order = order_in_fulfillment(store);
        let id = dropline_domain::ids::ReturnId::new();
        order.after_sale.returns.push(Return {
            id,
            lines: vec![LineUnits {
                line_item_id: order.lines[0].id,
                quantity: 1,
            }],
            reason: ReturnReason::Damaged,
            note: None,
            photos: Vec::new(),
            state: ReturnState::Received,
            requested_at: NOW,
            resolution: None,
            send_to: Vec::new(),
            received_at: Some(NOW),
        });
        (order, id)
    }

    /// `order` with `return_id` resolved by `resolution`, sending a new supplier order of the
    /// returned line (under `variant_title`) for the two that send something.
    fn resolved(
        order: &Order,
        return_id: dropline_domain::ids::ReturnId,
        resolution: dropline_domain::after_sale::Resolution,
        variant_title: &str,
    ) -> Order {
        use dropline_domain::after_sale::{Resolution, ReturnTerms};
        use dropline_domain::ids::{OfferId, VariantId};
        use dropline_domain::order::SupplierOrderLine;
        let mut after = order.clone();
        let mut journal = Journal::new(after.id, Actor::System, NOW);
        let terms = ReturnTerms::default();
        if matches!(resolution, Resolution::Replacement | Resolution::Exchange) {
            let mut sent = order.supplier_orders[0].clone();
            sent.id = SupplierOrderId::new();
            sent.state = SupplierOrderState::NEW;
            sent.supplier_reference = None;
            sent.shipments = Vec::new();
            sent.lines = vec![SupplierOrderLine {
                line_item_id: order.lines[0].id,
                offer_id: OfferId::new(),
                variant_id: VariantId::new(),
                supplier_sku: "SECRET-SKU-77".into(),
                product_url: None,
                title: "Desk lamp".into(),
                variant_title: Some(variant_title.into()),
                quantity: 1,
                unit_cost: Money::new(900, Currency::parse("EUR").expect("EUR")),
                supplier_product_id: None,
                supplier_variant_id: None,
            }];
            after
                .resolve_return_by_sending(return_id, resolution, vec![sent], &terms, &mut journal)
                .expect("sent");
        } else {
            after
                .resolve_return_and_claim(return_id, resolution, None, &terms, &mut journal)
                .expect("resolved");
        }
        after
    }

    #[test]
    fn a_replacement_or_an_exchange_tells_what_is_sent_once_per_return() {
        use dropline_domain::after_sale::Resolution;
        let store = store(StoreSettings::default());
        let (before, return_id) = order_with_a_received_return(&store);
        let notices = Notices {
            store: &store,
            public_url: None,
            now: NOW,
        };
        for (resolution, variant) in [(Resolution::Replacement, "Brass"), (Resolution::Exchange, "Chrome")] {
            let after = resolved(&before, return_id, resolution, variant);
            assert!(worth_a_look(&before, &after));
            let messages = notices_for_change(&notices, Some(&before), &mut after.clone());
            assert_eq!(templates(&messages), vec!["replacement_on_its_way"], "{resolution}");
            let message = &messages[0];
            assert_eq!(message.recipient.as_deref(), Some("grace@example.com"));
            assert_eq!(
                message.dedupe_key.as_deref(),
                Some(format!("replacement_on_its_way:{return_id}").as_str())
            );
            assert_eq!(
                message.data["replacement"],
                json!({
                    "kind": resolution.to_string(),
                    "items": [{"title": "Desk lamp", "variant_title": variant, "quantity": 1}],
                })
            );
            let text = message.data.to_string();
            assert!(
                !text.contains("Shenzhen") && !text.contains("SECRET-SKU") && !text.contains("9.00"),
                "{text}"
            );
            // Once: the same order changed again tells nothing new.
            let mut again = after.clone();
            assert!(notices_for_change(&notices, Some(&after), &mut again).is_empty());
        }
        // Other resolutions send nothing, so tell nothing of a replacement.
        for resolution in [Resolution::StoreCredit, Resolution::Refund] {
            let mut after = resolved(&before, return_id, resolution, "");
            let messages = notices_for_change(&notices, Some(&before), &mut after);
            assert!(
                !templates(&messages).contains(&"replacement_on_its_way"),
                "{resolution}: {:?}",
                templates(&messages)
            );
        }
        // Switched off: nothing.
        let mut settings = StoreSettings::default();
        settings.customer_emails.replacement_on_its_way = false;
        let quiet = self::store(settings);
        let notices = Notices {
            store: &quiet,
            public_url: None,
            now: NOW,
        };
        let mut after = resolved(&before, return_id, Resolution::Replacement, "Brass");
        assert!(notices_for_change(&notices, Some(&before), &mut after).is_empty());
    }

    #[test]
    fn a_new_parcel_tells_the_customer_with_links_and_no_supplier() {
        let mut settings = StoreSettings::default();
        settings.seller_notifications.email = Some("owner@lumen.example".into());
        let store = store(settings);
        let before = order_in_fulfillment(&store);
        let mut after = before.clone();
        ship(&mut after);
        let notices = Notices {
            store: &store,
            public_url: Some("https://track.lumen.example/"),
            now: NOW,
        };
        let messages = notices_for_change(&notices, Some(&before), &mut after);
        assert_eq!(templates(&messages), vec!["shipped"]);
        let token = after.tracking_token.clone().expect("a token");
        assert!(crate::follow::is_tracking_token(&token));
        let shipped = &messages[0];
        assert_eq!(shipped.recipient.as_deref(), Some("grace@example.com"));
        assert_eq!(
            shipped.data["tracking_page_url"],
            format!("https://track.lumen.example/track/{token}")
        );
        assert_eq!(shipped.data["parcel"]["tracking_number"], "YT2229521272164446");
        assert!(
            shipped.data["parcel"]["tracking_url"]
                .as_str()
                .is_some_and(|url| url.contains("YT2229521272164446")),
            "{}",
            shipped.data
        );
        let text = shipped.data.to_string();
        assert!(
            !text.contains("Shenzhen") && !text.contains("CJ-778") && !text.contains("9.00"),
            "{text}"
        );
        // The same change again tells nothing new: the parcel is known.
        let mut again = after.clone();
        assert!(notices_for_change(&notices, Some(&after), &mut again).is_empty());
    }

    #[test]
    fn delivery_failure_cancellation_and_refund_each_tell_once_and_switches_silence_them() {
        let store_all = store(StoreSettings::default());
        let mut before = order_in_fulfillment(&store_all);
        let parcel = ship(&mut before);
        let notices = Notices {
            store: &store_all,
            public_url: None,
            now: NOW,
        };
        let mut after = before.clone();
        let mut journal = Journal::new(after.id, Actor::System, NOW);
        after
            .record_shipment_event(parcel, ShipmentState::OutForDelivery, None, &mut journal)
            .expect("out");
        after
            .record_shipment_event(
                parcel,
                ShipmentState::AttemptFailed,
                Some("nobody home".into()),
                &mut journal,
            )
            .expect("failed");
        let messages = notices_for_change(&notices, Some(&before), &mut after);
        assert_eq!(templates(&messages), vec!["delivery_failed"]);
        assert_eq!(messages[0].data["failure"]["reason"], "nobody home");
        assert!(messages[0].data["tracking_page_url"].is_null());

        let mut off = StoreSettings::default();
        off.customer_emails.delivery_failed = false;
        let quiet = store(off);
        let quiet_notices = Notices {
            store: &quiet,
            public_url: None,
            now: NOW,
        };
        let mut after_quiet = after.clone();
        assert!(notices_for_change(&quiet_notices, Some(&before), &mut after_quiet).is_empty());

        let mut refunded = after.clone();
        refunded.payment = PaymentState::Refunded;
        let mut journal = Journal::new(refunded.id, Actor::System, NOW);
        refunded.apply(OrderEvent::Cancel, &mut journal).expect("cancel");
        let messages = notices_for_change(&notices, Some(&after), &mut refunded);
        assert_eq!(templates(&messages), vec!["cancelled", "refund_issued"]);
        let keys: Vec<_> = messages.iter().filter_map(|m| m.dedupe_key.clone()).collect();
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);
    }

    #[test]
    fn each_refund_dropline_issues_is_told_once_with_its_amount() {
        let store = store(StoreSettings::default());
        let notices = Notices {
            store: &store,
            public_url: None,
            now: NOW,
        };
        let before = order_in_fulfillment(&store);
        let mut first = before.clone();
        let mut journal = Journal::new(first.id, Actor::System, NOW);
        let part = Money::new(1_000, first.currency);
        first
            .refund(part, "late".into(), vec![], None, &mut journal)
            .expect("a refund");
        let messages = notices_for_change(&notices, Some(&before), &mut first.clone());
        assert_eq!(templates(&messages), vec!["refund_issued"]);
        assert_eq!(messages[0].data["refund"]["amount"], "10.00 EUR");
        assert_eq!(messages[0].data["refund"]["full"], false);
        // A second partial refund: the payment stays partially refunded, the email still goes.
        let mut second = first.clone();
        second
            .refund(part, "still late".into(), vec![], None, &mut journal)
            .expect("again");
        let messages = notices_for_change(&notices, Some(&first), &mut second.clone());
        assert_eq!(templates(&messages), vec!["refund_issued"]);
        assert_ne!(
            messages[0].dedupe_key,
            notices_for_change(&notices, Some(&before), &mut first.clone())[0].dedupe_key
        );
        // Nothing new: nothing told.
        assert!(notices_for_change(&notices, Some(&second), &mut second.clone()).is_empty());
        // The change paths look again when a refund is added, even with the payment as it was.
        assert!(worth_a_look(&first, &second));
        assert!(!worth_a_look(&second, &second));
    }

    #[test]
    fn a_new_order_tells_the_customer_and_the_seller_but_test_orders_tell_nobody() {
        let mut settings = StoreSettings::default();
        settings.seller_notifications.email = Some("owner@lumen.example".into());
        let store = store(settings);
        let notices = Notices {
            store: &store,
            public_url: None,
            now: NOW,
        };
        let mut order = order_in_fulfillment(&store);
        let messages = notices_for_change(&notices, None, &mut order);
        assert_eq!(
            templates(&messages),
            vec!["order_received", "seller_new_order", "order_confirmed"]
        );
        assert_eq!(messages[1].recipient.as_deref(), Some("owner@lumen.example"));
        order.test = true;
        assert!(notices_for_change(&notices, None, &mut order).is_empty());
    }

    #[test]
    fn a_new_exception_tells_the_seller_when_asked() {
        let mut settings = StoreSettings::default();
        settings.seller_notifications.email = Some("owner@lumen.example".into());
        let store = store(settings);
        let notices = Notices {
            store: &store,
            public_url: None,
            now: NOW,
        };
        let before = order_in_fulfillment(&store);
        let mut after = before.clone();
        let mut journal = Journal::new(after.id, Actor::System, NOW);
        after.raise_exception(
            ExceptionKind::TrackingStalled,
            "parcel X: no news".into(),
            SuggestedAction::TellCustomer,
            &mut journal,
        );
        let messages = notices_for_change(&notices, Some(&before), &mut after);
        assert_eq!(templates(&messages), vec!["seller_needs_attention"]);
        assert_eq!(messages[0].data["attention"]["kind"], "tracking_stalled");
    }
}
