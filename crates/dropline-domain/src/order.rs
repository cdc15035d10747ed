//! The order aggregate: an order with its lines, supplier orders and shipments. Every change
//! goes through a state machine of [`crate::state`] and writes its entry into a [`Journal`].

use crate::address::{Address, Customer};
use crate::catalog::SupplierKind;
use crate::ids::{LineItemId, OfferId, OrderId, ShipmentId, StoreId, SupplierId, SupplierOrderId, VariantId};
use crate::money::{Currency, Money};
use crate::state::{
    HoldReason, OrderEvent, OrderState, PaymentEvent, PaymentState, Progress, ShipmentState, SupplierOrderEvent,
    SupplierOrderState, TransitionError, next_order_state, next_payment_state, next_shipment_state,
    next_supplier_order_state, payment_event_towards,
};
use crate::timeline::Journal;
use crate::validation::Finding;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One line of an order, as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub id: LineItemId,
    /// The storefront's own id of the line, if it has one.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The catalogue variant, when the SKU matched one.
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub sku: String,
    pub title: String,
    #[serde(default)]
    pub variant_title: Option<String>,
    pub quantity: u32,
    pub unit_price: Money,
    /// Digital goods and gift cards need no supplier.
    pub requires_shipping: bool,
    /// The storefront's product id of the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_product_id: Option<String>,
    /// The storefront's variant id of the line (mapped to a catalogue variant before the SKU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_variant_id: Option<String>,
    /// Units still to fulfil, when the storefront says (some may be fulfilled or removed
    /// there already); `None` means all of `quantity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillable_quantity: Option<u32>,
    /// The offer the seller chose for this line before placement, over what routing would
    /// pick (a per-order override of the variant's mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_override: Option<crate::ids::OfferId>,
}

impl LineItem {
    /// Units a supplier must ship: the fulfillable quantity when known, at most the quantity.
    pub fn quantity_to_ship(&self) -> u32 {
        self.fulfillable_quantity
            .map_or(self.quantity, |q| q.min(self.quantity))
    }
}

/// The order as it arrives from a storefront, the API or a CSV file: what ingestion needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingOrder {
    pub external_id: String,
    pub number: String,
    pub customer: Customer,
    pub shipping_address: Address,
    pub lines: Vec<IncomingLine>,
    pub currency: Currency,
    pub shipping_total: Money,
    pub payment: PaymentState,
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    /// A test order of the storefront: kept and shown, never sent to a supplier.
    #[serde(default)]
    pub test: bool,
    /// When the storefront cancelled the order.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub cancelled_at: Option<OffsetDateTime>,
    /// When the storefront last changed the order: an older resend never overwrites a newer one.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_updated_at: Option<OffsetDateTime>,
    /// What the storefront charged in all (taxes and discounts included), when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charged_total: Option<Money>,
    /// The discounts the storefront gave on the order, when it says (order currency, not negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_total: Option<Money>,
    /// The taxes the storefront collected, when it says (order currency, not negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_total: Option<Money>,
    /// The shipping method the customer chose at checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
}

/// A line of an [`IncomingOrder`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingLine {
    #[serde(default)]
    pub external_id: Option<String>,
    pub sku: String,
    pub title: String,
    #[serde(default)]
    pub variant_title: Option<String>,
    pub quantity: u32,
    pub unit_price: Money,
    pub requires_shipping: bool,
    /// The storefront's product id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_product_id: Option<String>,
    /// The storefront's variant id: mapped to a catalogue variant before the SKU is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_variant_id: Option<String>,
    /// Units still to fulfil, when the storefront says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillable_quantity: Option<u32>,
}

crate::state::snake_enum!(
    /// What kind of problem an order has.
    ExceptionKind {
        /// The storefront changed the address or lines after supplier orders were made.
        ChangedAfterRouting => "changed_after_routing",
        /// A supplier order is held before submission (a check failed) for the seller's decision.
        SupplierOrderHeld => "supplier_order_held",
        /// A supplier failed part of the order and no other offer can take its lines.
        NoFailoverOffer => "no_failover_offer",
        /// The supplier holds an order that dropline did not place, or two for one request.
        SupplierMismatch => "supplier_mismatch",
        /// A supplier reported a tracking number that fails its carrier's check.
        InvalidTracking => "invalid_tracking",
        /// Paid but not placed with a supplier within the store's limit.
        PlacementLate => "placement_late",
        /// Placed but not accepted by the supplier within the limit.
        AcceptanceLate => "acceptance_late",
        /// Accepted but not shipped (no tracking number) within the limit.
        ShippingLate => "shipping_late",
        /// Shipped but the carrier has not scanned the parcel within the limit.
        NoFirstScan => "no_first_scan",
        /// A moving parcel has had no new carrier event for too long.
        TrackingStalled => "tracking_stalled",
        /// A parcel is past its expected delivery window.
        PastDeliveryWindow => "past_delivery_window",
        /// A parcel has been in customs for too long.
        StuckInCustoms => "stuck_in_customs",
        /// The carrier could not deliver (attempt failed, exception, returned to sender).
        DeliveryProblem => "delivery_problem",
        /// A tracking source answered something unreadable or named an unknown carrier.
        TrackingUnreadable => "tracking_unreadable",
        /// A message to the customer could not be delivered (bad address, bounce).
        MessageUndeliverable => "message_undeliverable",
        /// A payment dispute waits for the seller's evidence (until its due date).
        DisputeNeedsResponse => "dispute_needs_response",
        /// The storefront's platform refused a refund dropline issued: the customer's money may
        /// not have gone back; refund it on the platform by hand.
        StorefrontRefundRefused => "storefront_refund_refused",
    }
);

crate::state::snake_enum!(
    /// What the seller should probably do about an exception.
    SuggestedAction {
        /// Ask the supplier to change (or cancel and re-place) the supplier order.
        ContactSupplier => "contact_supplier",
        TellCustomer => "tell_customer",
        Reship => "reship",
        Refund => "refund",
        SwitchSupplier => "switch_supplier",
        /// Remind the supplier to ship (or to hand the parcel to the carrier).
        NudgeSupplier => "nudge_supplier",
        /// Check the customer's contact details.
        CheckCustomerContact => "check_customer_contact",
        /// Send the dispute's evidence to the payment processor before its due date.
        AnswerDispute => "answer_dispute",
    }
);

/// A problem of an order that needs the seller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderException {
    pub kind: ExceptionKind,
    pub detail: String,
    pub suggested_action: SuggestedAction,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

/// A parcel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub id: ShipmentId,
    pub carrier: String,
    pub tracking_number: String,
    #[serde(default)]
    pub tracking_url: Option<String>,
    pub state: ShipmentState,
    pub events: Vec<ShipmentEvent>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub shipped_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    /// The detected carrier's code (`ups`, `s10`, `yunexpress`, …), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_code: Option<String>,
    /// The delivery window promised to the customer (earliest, latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_window: Option<DeliveryWindow>,
    /// When a tracking source was last asked about the parcel.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_checked_at: Option<OffsetDateTime>,
    /// The carrier's first scan (the first carrier event past `info_received`).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_scan_at: Option<OffsetDateTime>,
}

impl Shipment {
    /// The link a customer follows to the carrier's own tracking page: the carrier's public
    /// page when the number is recognised (never a supplier's page), else the link given
    /// with the parcel.
    pub fn public_tracking_url(&self) -> Option<String> {
        let detection = crate::carrier::detect_carrier(&self.tracking_number);
        detection
            .best()
            .filter(|c| c.valid && !c.tracking_url.is_empty())
            .map(|c| c.tracking_url.clone())
            .or_else(|| self.tracking_url.clone())
    }

    /// When the carrier last reported something, if it ever did.
    pub fn last_carrier_event_at(&self) -> Option<OffsetDateTime> {
        self.events.iter().filter(|e| e.from_carrier).map(|e| e.at).max()
    }

    /// When the parcel last changed in any way (carrier or dropline).
    pub fn last_event_at(&self) -> Option<OffsetDateTime> {
        self.events.iter().map(|e| e.at).max()
    }

    /// When it entered its current state.
    pub fn state_since(&self) -> Option<OffsetDateTime> {
        let mut since = None;
        for event in &self.events {
            if event.state == self.state {
                since = since.or(Some(event.at));
            } else {
                since = None;
            }
        }
        since
    }
}

/// The dates between which a parcel is expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryWindow {
    #[serde(with = "time::serde::rfc3339")]
    pub earliest: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub latest: OffsetDateTime,
}

/// One normalized carrier event of a parcel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub state: ShipmentState,
    /// The carrier's own words.
    #[serde(default)]
    pub note: Option<String>,
    /// Where it happened (city, country), when the carrier says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Reported by the carrier (through a tracking source or the seller), as opposed to
    /// written by dropline itself (parcel added, supplier said shipped).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_carrier: bool,
}

/// Most events kept per parcel: a source that repeats itself cannot grow an order forever.
pub const MAX_EVENTS_PER_PARCEL: usize = 200;

/// What merging a tracking source's events into a parcel did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackingUpdate {
    /// Events not seen before.
    pub new_events: usize,
    /// States the parcel moved into, in order.
    pub reached: Vec<ShipmentState>,
    /// New events older than the parcel's latest: kept in its history only.
    pub out_of_order: usize,
}

/// One line of a supplier order: which supplier variant, how many, at what cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierOrderLine {
    pub line_item_id: LineItemId,
    pub offer_id: OfferId,
    pub variant_id: VariantId,
    pub supplier_sku: String,
    #[serde(default)]
    pub product_url: Option<String>,
    pub title: String,
    #[serde(default)]
    pub variant_title: Option<String>,
    pub quantity: u32,
    pub unit_cost: Money,
    /// The supplier's product id (AliExpress product, CJ product), from the offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_product_id: Option<String>,
    /// The supplier's variant id (CJ `vid`, AliExpress SKU attributes), from the offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_variant_id: Option<String>,
}

/// The purchase placed with one supplier for part of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierOrder {
    pub id: SupplierOrderId,
    pub supplier_id: SupplierId,
    pub supplier_name: String,
    pub supplier_kind: SupplierKind,
    pub lines: Vec<SupplierOrderLine>,
    /// Always the customer's address.
    pub ship_to: Address,
    #[serde(default)]
    pub shipping_method: Option<String>,
    /// Cost expected at routing: units plus shipping.
    pub expected_cost: Money,
    /// Cost the supplier actually charged, once known.
    #[serde(default)]
    pub actual_cost: Option<Money>,
    /// When the cost is in another currency than the order's: the rate it was converted
    /// with, recorded when the supplier order was made and again when the actual cost was;
    /// `None` when no rate was known then (the cost is left out of the ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_rate: Option<crate::ledger::RateUsed>,
    /// The supplier's own order id.
    #[serde(default)]
    pub supplier_reference: Option<String>,
    /// Derived from (order, supplier, attempt): sent to suppliers that take one.
    pub idempotency_key: String,
    pub attempt: u32,
    pub state: SupplierOrderState,
    pub shipments: Vec<Shipment>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// How the request to the supplier went: holds, failure, dates (see [`crate::placement`]).
    #[serde(default)]
    pub placement: crate::placement::Placement,
}

/// Why a change to an order was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("supplier order {0} is not part of this order")]
    UnknownSupplierOrder(SupplierOrderId),
    #[error("shipment {0} is not part of this order")]
    UnknownShipment(ShipmentId),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("return {0} is not part of this order")]
    UnknownReturn(crate::ids::ReturnId),
    #[error("dispute {0} is not part of this order")]
    UnknownDispute(crate::ids::DisputeId),
    #[error("claim {0} is not part of this order")]
    UnknownClaim(crate::ids::ClaimId),
}

/// A customer order with everything that happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub store_id: StoreId,
    /// The storefront's id of the order; unique per store.
    pub external_id: String,
    /// The order name the customer sees (`#1001`).
    pub number: String,
    pub customer: Customer,
    pub shipping_address: Address,
    pub lines: Vec<LineItem>,
    pub currency: Currency,
    pub subtotal: Money,
    pub shipping_total: Money,
    pub total: Money,
    pub payment: PaymentState,
    pub state: OrderState,
    /// Why the order is on hold (empty unless it is).
    #[serde(default)]
    pub hold_reasons: Vec<HoldReason>,
    /// Validation findings of the current address and payment.
    #[serde(default)]
    pub findings: Vec<Finding>,
    pub supplier_orders: Vec<SupplierOrder>,
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// A test order of the storefront: never sent to a supplier.
    #[serde(default)]
    pub test: bool,
    /// What the storefront charged in all, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charged_total: Option<Money>,
    /// The discounts given on the order, when the storefront said (a `discount` entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_total: Option<Money>,
    /// The taxes collected with the order, when the storefront said (a `tax_collected` entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_total: Option<Money>,
    /// The shipping method the customer chose at checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    /// When the storefront last changed the order.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_updated_at: Option<OffsetDateTime>,
    /// Problems the seller must look at (open and resolved).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<OrderException>,
    /// The unguessable token of the customer's tracking page (`/track/{token}`), set when
    /// the first parcel ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_token: Option<String>,
    /// Returns, refunds and disputes.
    #[serde(default, skip_serializing_if = "crate::after_sale::AfterSale::is_empty")]
    pub after_sale: crate::after_sale::AfterSale,
    /// Optimistic-concurrency version, kept by the store.
    #[serde(default)]
    pub version: u64,
}

impl Order {
    /// A new order from what a storefront sent; it starts in `pending_review`. Totals are
    /// computed here, exactly, from the lines.
    pub fn receive(
        store_id: StoreId,
        incoming: IncomingOrder,
        variant_of: impl Fn(&IncomingLine) -> Option<VariantId>,
        journal: &mut Journal,
    ) -> Result<Order, OrderError> {
        let id = journal.order_id;
        let lines = build_lines(&incoming, &variant_of)?;
        let (subtotal, total) = totals(&incoming, &lines)?;
        let order = Order {
            id,
            store_id,
            external_id: incoming.external_id,
            number: incoming.number,
            customer: incoming.customer,
            shipping_address: incoming.shipping_address,
            lines,
            currency: incoming.currency,
            subtotal,
            shipping_total: incoming.shipping_total,
            total,
            payment: incoming.payment,
            state: OrderState::PendingReview,
            hold_reasons: Vec::new(),
            findings: Vec::new(),
            supplier_orders: Vec::new(),
            placed_at: incoming.placed_at,
            received_at: journal.at,
            updated_at: journal.at,
            test: incoming.test,
            charged_total: incoming.charged_total,
            discount_total: incoming.discount_total,
            tax_total: incoming.tax_total,
            shipping_method: incoming.shipping_method,
            source_updated_at: incoming.source_updated_at,
            exceptions: Vec::new(),
            tracking_token: None,
            after_sale: crate::after_sale::AfterSale::default(),
            version: 0,
        };
        journal.record(
            "order.received",
            format!("Order {} received", order.number),
            None,
            Some(order.state.to_string()),
        );
        Ok(order)
    }

    /// Replaces customer, address, lines and totals with a changed resend of the same order.
    /// Before routing the order takes the change; once supplier orders exist (the supplier
    /// may already ship to the old address) the change is not applied but raised as an
    /// exception for the seller. The payment follows the storefront either way. A resend
    /// older than what the order already has (`source_updated_at`) changes nothing.
    /// Returns whether anything changed.
    pub fn update_from(
        &mut self,
        incoming: IncomingOrder,
        variant_of: impl Fn(&IncomingLine) -> Option<VariantId>,
        journal: &mut Journal,
    ) -> Result<bool, OrderError> {
        if let (Some(seen), Some(sent)) = (self.source_updated_at, incoming.source_updated_at)
            && sent < seen
        {
            return Ok(false);
        }
        let lines = build_lines(&incoming, &variant_of)?;
        let (subtotal, total) = totals(&incoming, &lines)?;
        let same_lines = self.lines.len() == lines.len()
            && self.lines.iter().zip(&lines).all(|(a, b)| {
                (
                    &a.sku,
                    a.quantity,
                    a.unit_price,
                    &a.title,
                    &a.variant_title,
                    a.requires_shipping,
                    a.fulfillable_quantity,
                ) == (
                    &b.sku,
                    b.quantity,
                    b.unit_price,
                    &b.title,
                    &b.variant_title,
                    b.requires_shipping,
                    b.fulfillable_quantity,
                )
            });
        let mut changed = Vec::new();
        if self.customer != incoming.customer {
            changed.push("customer");
        }
        if self.shipping_address != incoming.shipping_address {
            changed.push("shipping_address");
        }
        if !same_lines {
            changed.push("lines");
        }
        if self.shipping_total != incoming.shipping_total
            || self.total != total
            || (self.discount_total, self.tax_total) != (incoming.discount_total, incoming.tax_total)
        {
            changed.push("totals");
        }
        if self.number != incoming.number {
            changed.push("number");
        }
        // Once supplier orders exist, the supplier may already ship to the old address:
        // the order itself can no longer change (the payment still can).
        let routed = !self.supplier_orders.is_empty()
            || !matches!(
                self.state,
                OrderState::PendingReview | OrderState::OnHold | OrderState::Accepted
            );
        let mut raised = false;
        if routed && !changed.is_empty() {
            let material: Vec<&str> = changed
                .iter()
                .copied()
                .filter(|c| matches!(*c, "shipping_address" | "lines" | "customer"))
                .collect();
            if !material.is_empty() {
                raised = self.raise_exception(
                    ExceptionKind::ChangedAfterRouting,
                    format!(
                        "the storefront changed {} after the order was {}; the supplier may ship the old one",
                        material.join(", "),
                        self.state
                    ),
                    SuggestedAction::ContactSupplier,
                    journal,
                );
            }
            changed.clear();
        }
        if !changed.is_empty() {
            self.customer = incoming.customer;
            self.shipping_address = incoming.shipping_address;
            if !same_lines {
                self.lines = lines;
            }
            self.shipping_total = incoming.shipping_total;
            self.subtotal = subtotal;
            self.total = total;
            self.number = incoming.number;
            self.charged_total = incoming.charged_total;
            self.discount_total = incoming.discount_total;
            self.tax_total = incoming.tax_total;
            self.shipping_method = incoming.shipping_method;
            self.updated_at = journal.at;
            journal.record(
                "order.updated",
                format!("Order changed by the storefront: {}", changed.join(", ")),
                None,
                None,
            );
        }
        if incoming.source_updated_at.is_some() {
            self.source_updated_at = incoming.source_updated_at;
        }
        let payment_changed = self.payment != incoming.payment;
        if payment_changed {
            let event = payment_event_towards(self.payment, incoming.payment).ok_or_else(|| TransitionError {
                machine: "payment",
                from: self.payment.to_string(),
                event: format!("become {}", incoming.payment),
            })?;
            self.apply_payment(event, journal)?;
        }
        Ok(!changed.is_empty() || payment_changed || raised)
    }

    /// Applies an order event through the order machine.
    pub fn apply(&mut self, event: OrderEvent, journal: &mut Journal) -> Result<(), OrderError> {
        let from = self.state;
        let to = next_order_state(from, &event)?;
        self.hold_reasons = match &event {
            OrderEvent::Hold { reasons } => reasons.clone(),
            _ => Vec::new(),
        };
        self.state = to;
        self.updated_at = journal.at;
        let message = match &event {
            OrderEvent::Hold { reasons } => {
                format!(
                    "On hold: {}",
                    reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                )
            }
            _ => format!("Order {to}"),
        };
        journal.record(
            &format!("order.{}", event.name()),
            message,
            Some(from.to_string()),
            Some(to.to_string()),
        );
        // Delivered, cancelled or completed: no stage's clock runs any more, so what the
        // clocks raised is over (the clock check no longer looks at such orders).
        if matches!(
            to,
            OrderState::Delivered | OrderState::Cancelled | OrderState::Completed
        ) {
            let over: Vec<(ExceptionKind, String)> = self
                .open_exceptions()
                .filter(|e| crate::clocks::CLOCK_KINDS.contains(&e.kind))
                .map(|e| (e.kind, e.detail.clone()))
                .collect();
            for (kind, detail) in over {
                self.resolve_exception(kind, &detail, journal);
            }
        }
        Ok(())
    }

    /// Notes that a tracking source was asked about a parcel (and knew nothing new).
    pub fn note_parcel_checked(&mut self, shipment_id: ShipmentId, at: OffsetDateTime) -> Result<(), OrderError> {
        let (_, shipment) = self.shipment_mut(shipment_id)?;
        shipment.last_checked_at = Some(at);
        Ok(())
    }

    /// Applies a payment event through the payment machine.
    pub fn apply_payment(&mut self, event: PaymentEvent, journal: &mut Journal) -> Result<(), OrderError> {
        let from = self.payment;
        let to = next_payment_state(from, event)?;
        self.payment = to;
        self.updated_at = journal.at;
        journal.record(
            &format!("payment.{event}"),
            format!("Payment {to}"),
            Some(from.to_string()),
            Some(to.to_string()),
        );
        Ok(())
    }

    /// Lines that need a supplier (shipping required, units left to ship).
    pub fn shippable_lines(&self) -> impl Iterator<Item = &LineItem> {
        self.lines
            .iter()
            .filter(|l| l.requires_shipping && l.quantity_to_ship() > 0)
    }

    /// Records a problem for the seller (once per kind while it is open); returns whether it
    /// was new.
    pub fn raise_exception(
        &mut self,
        kind: ExceptionKind,
        detail: String,
        suggested_action: SuggestedAction,
        journal: &mut Journal,
    ) -> bool {
        if self
            .exceptions
            .iter()
            .any(|e| e.kind == kind && e.resolved_at.is_none() && e.detail == detail)
        {
            return false;
        }
        journal.record(
            "order.exception",
            format!("Exception {kind}: {detail} (suggested: {suggested_action})"),
            None,
            None,
        );
        self.exceptions.push(OrderException {
            kind,
            detail,
            suggested_action,
            raised_at: journal.at,
            resolved_at: None,
        });
        self.updated_at = journal.at;
        true
    }

    /// Resolves the open exception of this kind and detail (its condition cleared); false
    /// when there is none.
    pub fn resolve_exception(&mut self, kind: ExceptionKind, detail: &str, journal: &mut Journal) -> bool {
        let Some(exception) = self
            .exceptions
            .iter_mut()
            .find(|e| e.kind == kind && e.detail == detail && e.resolved_at.is_none())
        else {
            return false;
        };
        exception.resolved_at = Some(journal.at);
        self.updated_at = journal.at;
        journal.record("exception.resolved", format!("{kind} cleared: {detail}"), None, None);
        true
    }

    /// Promises the customer a new delivery window for a parcel (after telling them it is late).
    pub fn promise_delivery(
        &mut self,
        shipment_id: ShipmentId,
        window: DeliveryWindow,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        if window.latest < window.earliest {
            return Err(OrderError::Invalid {
                field: "expected_window".into(),
                reason: "the latest date is before the earliest".into(),
            });
        }
        let (_, shipment) = self.shipment_mut(shipment_id)?;
        shipment.expected_window = Some(window);
        let number = shipment.tracking_number.clone();
        self.updated_at = journal.at;
        journal.record(
            "shipment.window_promised",
            format!("Parcel {number} now expected by {}", window.latest.date()),
            None,
            None,
        );
        Ok(())
    }

    /// The exceptions still open.
    pub fn open_exceptions(&self) -> impl Iterator<Item = &OrderException> {
        self.exceptions.iter().filter(|e| e.resolved_at.is_none())
    }

    /// Adds a supplier order created by routing.
    pub fn add_supplier_order(&mut self, supplier_order: SupplierOrder, journal: &mut Journal) {
        journal.record(
            "supplier_order.created",
            format!(
                "Supplier order for {} created ({} line(s), expected cost {})",
                supplier_order.supplier_name,
                supplier_order.lines.len(),
                supplier_order.expected_cost
            ),
            None,
            Some(supplier_order.state.to_string()),
        );
        self.supplier_orders.push(supplier_order);
        self.updated_at = journal.at;
    }

    /// The supplier order with this id.
    pub fn supplier_order(&self, id: SupplierOrderId) -> Result<&SupplierOrder, OrderError> {
        self.supplier_orders
            .iter()
            .find(|s| s.id == id)
            .ok_or(OrderError::UnknownSupplierOrder(id))
    }

    pub(crate) fn supplier_order_mut(&mut self, id: SupplierOrderId) -> Result<&mut SupplierOrder, OrderError> {
        self.supplier_orders
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or(OrderError::UnknownSupplierOrder(id))
    }

    /// Applies a supplier-order event through the supplier-order machine.
    pub fn apply_supplier_order(
        &mut self,
        id: SupplierOrderId,
        event: SupplierOrderEvent,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let supplier_order = self.supplier_order_mut(id)?;
        let from = supplier_order.state;
        let to = next_supplier_order_state(from, event)?;
        supplier_order.state = to;
        let name = supplier_order.supplier_name.clone();
        self.updated_at = journal.at;
        journal.record(
            &format!("supplier_order.{event}"),
            format!("Supplier order at {name}: {event}"),
            Some(from.to_string()),
            Some(to.to_string()),
        );
        Ok(())
    }

    /// The supplier orders whose cost is in another currency than the order's and needs
    /// its rate recorded by this change (from `before`): new ones, and those whose actual
    /// cost changed, unless the change recorded a rate itself (a rate the seller was charged
    /// at); with the currency to convert from.
    pub fn costs_to_rate(&self, before: Option<&Order>) -> Vec<(SupplierOrderId, Currency)> {
        self.supplier_orders
            .iter()
            .filter_map(|so| {
                let currency = so.actual_cost.unwrap_or(so.expected_cost).currency;
                if currency == self.currency {
                    return None;
                }
                let previous = before.and_then(|b| b.supplier_orders.iter().find(|p| p.id == so.id));
                let (cost_changed, rate_changed) = match previous {
                    None => (true, so.cost_rate.is_some()),
                    Some(p) => (p.actual_cost != so.actual_cost, p.cost_rate != so.cost_rate),
                };
                (cost_changed && !rate_changed).then_some((so.id, currency))
            })
            .collect()
    }

    /// Records the rate a supplier order's cost is converted with (`None`: no rate is known,
    /// the cost stays out of the ledger), saying so in the journal.
    pub fn record_cost_rate(
        &mut self,
        id: SupplierOrderId,
        rate: Option<crate::ledger::RateUsed>,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let currency = self.currency;
        let supplier_order = self.supplier_order_mut(id)?;
        let cost = supplier_order.actual_cost.unwrap_or(supplier_order.expected_cost);
        if let Some(used) = rate
            && (used.rate.from != cost.currency || used.rate.to != currency)
        {
            return Err(OrderError::Invalid {
                field: "rate".into(),
                reason: format!("must convert {} to {currency}", cost.currency),
            });
        }
        supplier_order.cost_rate = rate;
        let message = match rate {
            Some(used) => format!(
                "Supplier cost {cost} converted to {currency} at {} ({})",
                crate::ledger::format_rate(used.rate.per_million),
                if used.charged {
                    "the rate charged".to_string()
                } else {
                    format!("rate effective {}", used.effective_on)
                }
            ),
            None => format!(
                "No {} to {currency} rate is set: the supplier cost {cost} is left out of the ledger",
                cost.currency
            ),
        };
        journal.record("supplier_order.cost_rate", message, None, None);
        Ok(())
    }

    /// The vendor placed the order with the supplier and records the supplier's order id
    /// (and, when known, what it actually cost).
    pub fn record_supplier_reference(
        &mut self,
        id: SupplierOrderId,
        reference: &str,
        actual_cost: Option<Money>,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let reference = reference.trim();
        if reference.is_empty() {
            return Err(OrderError::Invalid {
                field: "supplier_reference".into(),
                reason: "must not be empty".into(),
            });
        }
        let supplier_order = self.supplier_order(id)?;
        if let Some(cost) = actual_cost
            && cost.currency != supplier_order.expected_cost.currency
        {
            return Err(OrderError::Invalid {
                field: "actual_cost.currency".into(),
                reason: format!("must be {}", supplier_order.expected_cost.currency),
            });
        }
        if supplier_order.supplier_reference.is_some() {
            return Err(TransitionError {
                machine: "supplier_order",
                from: supplier_order.state.to_string(),
                event: "record_supplier_reference".into(),
            }
            .into());
        }
        self.apply_supplier_order(id, SupplierOrderEvent::Accept, journal)?;
        let supplier_order = self.supplier_order_mut(id)?;
        supplier_order.supplier_reference = Some(reference.to_string());
        supplier_order.actual_cost = actual_cost;
        // Placed and accepted in one step (the seller ordered by hand): both clocks start.
        supplier_order.placement.submitted_at.get_or_insert(journal.at);
        supplier_order.placement.accepted_at = Some(journal.at);
        journal.record(
            "supplier_order.reference_recorded",
            format!("Supplier order id {reference} recorded"),
            None,
            None,
        );
        Ok(())
    }

    /// Adds a parcel with its carrier and tracking number to an accepted supplier order.
    pub fn add_shipment(
        &mut self,
        id: SupplierOrderId,
        carrier: &str,
        tracking_number: &str,
        tracking_url: Option<String>,
        journal: &mut Journal,
    ) -> Result<ShipmentId, OrderError> {
        for (field, value) in [("carrier", carrier), ("tracking_number", tracking_number)] {
            if value.trim().is_empty() {
                return Err(OrderError::Invalid {
                    field: field.into(),
                    reason: "must not be empty".into(),
                });
            }
        }
        let order_state = self.state;
        // A replacement or an exchange still travels after a completed order's return.
        let for_return = self.after_sale.is_return_shipment(id);
        let supplier_order = self.supplier_order_mut(id)?;
        let state = supplier_order.state;
        let open_for_parcels = state.status == crate::state::SupplierOrderStatus::InProgress
            && order_state != OrderState::Cancelled
            && (order_state != OrderState::Completed || for_return);
        if !open_for_parcels {
            return Err(TransitionError {
                machine: "supplier_order",
                from: state.to_string(),
                event: "add_shipment".into(),
            }
            .into());
        }
        let shipment_id = ShipmentId::new();
        let detected = crate::carrier::detect_carrier(tracking_number);
        let carrier_code = detected.best().filter(|c| c.valid).map(|c| c.carrier.to_string());
        let expected_window = supplier_order
            .placement
            .transit_days
            .map(|(fewest, most)| DeliveryWindow {
                earliest: journal.at + time::Duration::days(i64::from(fewest)),
                latest: journal.at + time::Duration::days(i64::from(most.max(fewest))),
            });
        supplier_order.shipments.push(Shipment {
            id: shipment_id,
            carrier: carrier.trim().to_string(),
            tracking_number: tracking_number.trim().to_string(),
            tracking_url,
            state: ShipmentState::InfoReceived,
            events: vec![ShipmentEvent {
                at: journal.at,
                state: ShipmentState::InfoReceived,
                note: None,
                location: None,
                from_carrier: false,
            }],
            shipped_at: None,
            delivered_at: None,
            carrier_code,
            expected_window,
            last_checked_at: None,
            first_scan_at: None,
        });
        self.updated_at = journal.at;
        journal.record(
            "shipment.added",
            format!("Tracking {} ({}) added", tracking_number.trim(), carrier.trim()),
            None,
            Some(ShipmentState::InfoReceived.to_string()),
        );
        Ok(shipment_id)
    }

    /// Records a parcel event (shipped = in transit, delivered, attempt failed, ...) and
    /// moves the supplier order and the order with it.
    pub fn record_shipment_event(
        &mut self,
        shipment_id: ShipmentId,
        event: ShipmentState,
        note: Option<String>,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let event = ShipmentEvent {
            at: journal.at,
            state: event,
            note,
            location: None,
            from_carrier: false,
        };
        self.move_parcel(shipment_id, event, journal)
    }

    /// Merges what a tracking source reports about a parcel: events already known are
    /// skipped (the same time, state, place and words), the rest join the history in time
    /// order, and the newest carrier events move the parcel (and its supplier order and the
    /// order) through the shipment machine. An event older than the parcel's latest carrier
    /// event only joins the history, so a late, out-of-order report never moves a parcel
    /// back. Events the machine refuses (a delivered parcel reported in transit again) are
    /// kept in the history too.
    pub fn record_tracking(
        &mut self,
        shipment_id: ShipmentId,
        mut events: Vec<ShipmentEvent>,
        journal: &mut Journal,
    ) -> Result<TrackingUpdate, OrderError> {
        events.sort_by_key(|e| e.at);
        let mut update = TrackingUpdate::default();
        for mut event in events {
            event.from_carrier = true;
            let (_, shipment) = self.shipment_mut(shipment_id)?;
            let same =
                |e: &ShipmentEvent| e.state == event.state && e.location == event.location && e.note == event.note;
            let known = shipment
                .events
                .iter()
                .any(|e| e.from_carrier && e.at == event.at && same(e));
            // A source that gives only a status (no event times) repeats it on every look:
            // the same words again after the latest carrier event are no news.
            let repeated = shipment
                .events
                .iter()
                .filter(|e| e.from_carrier)
                .max_by_key(|e| e.at)
                .is_some_and(|latest| latest.at <= event.at && same(latest));
            let known = known || repeated;
            if known {
                continue;
            }
            update.new_events += 1;
            let latest = shipment.last_carrier_event_at();
            if event.state != ShipmentState::InfoReceived && shipment.first_scan_at.is_none_or(|t| event.at < t) {
                shipment.first_scan_at = Some(event.at);
            }
            let in_order = latest.is_none_or(|latest| event.at >= latest);
            let moves =
                in_order && event.state != shipment.state && next_shipment_state(shipment.state, event.state).is_ok();
            if !in_order {
                update.out_of_order += 1;
            }
            if moves {
                update.reached.push(event.state);
                self.move_parcel(shipment_id, event, journal)?;
            } else {
                let (_, shipment) = self.shipment_mut(shipment_id)?;
                let at = shipment.events.partition_point(|e| e.at <= event.at);
                shipment.events.insert(at, event);
            }
        }
        let (_, shipment) = self.shipment_mut(shipment_id)?;
        shipment.last_checked_at = Some(journal.at);
        if shipment.events.len() > MAX_EVENTS_PER_PARCEL {
            // Keep the first event (when the parcel was added) and the newest ones.
            let excess = shipment.events.len() - MAX_EVENTS_PER_PARCEL;
            shipment.events.drain(1..=excess);
        }
        if update.new_events > 0 {
            self.updated_at = journal.at;
        }
        Ok(update)
    }

    /// Moves a parcel to `event`'s state (refused by the shipment machine when it cannot)
    /// and the supplier order and order with it.
    fn move_parcel(
        &mut self,
        shipment_id: ShipmentId,
        event: ShipmentEvent,
        journal: &mut Journal,
    ) -> Result<(), OrderError> {
        let at = event.at;
        let state = event.state;
        let (supplier_order_id, from) = {
            let (supplier_order, shipment) = self.shipment_mut(shipment_id)?;
            let from = shipment.state;
            let to = next_shipment_state(from, state)?;
            shipment.state = to;
            let position = shipment.events.partition_point(|e| e.at <= at);
            shipment.events.insert(position, event);
            if to != ShipmentState::InfoReceived && shipment.shipped_at.is_none() && !to.is_failure() {
                shipment.shipped_at = Some(at);
            }
            if to == ShipmentState::Delivered {
                shipment.delivered_at = Some(at);
            }
            (supplier_order, from)
        };
        self.updated_at = self.updated_at.max(journal.at);
        journal.record(
            &format!("shipment.{state}"),
            format!("Parcel {state}"),
            Some(from.to_string()),
            Some(state.to_string()),
        );
        // A supplier order whose parcels are all delivered is done.
        let supplier_order = self.supplier_order(supplier_order_id)?;
        let all_delivered = !supplier_order.shipments.is_empty()
            && supplier_order
                .shipments
                .iter()
                .filter(|s| !s.state.is_failure())
                .all(|s| s.state == ShipmentState::Delivered)
            && supplier_order
                .shipments
                .iter()
                .any(|s| s.state == ShipmentState::Delivered);
        if all_delivered && !supplier_order.state.is_terminal() {
            self.apply_supplier_order(supplier_order_id, SupplierOrderEvent::Close, journal)?;
        }
        if state.is_failure() && state != ShipmentState::Expired {
            if matches!(
                self.state,
                OrderState::InFulfillment
                    | OrderState::PartiallyShipped
                    | OrderState::Shipped
                    | OrderState::PartiallyDelivered
            ) {
                self.apply(OrderEvent::DeliveryFailed, journal)?;
            }
            return Ok(());
        }
        self.sync_progress(journal)
    }

    /// A failed delivery is sent again: a new parcel replaces the failed one and the order
    /// goes back to fulfillment.
    pub fn reship(
        &mut self,
        failed_shipment: ShipmentId,
        carrier: &str,
        tracking_number: &str,
        journal: &mut Journal,
    ) -> Result<ShipmentId, OrderError> {
        let supplier_order_id = {
            let (supplier_order_id, shipment) = self.shipment_mut(failed_shipment)?;
            if !shipment.state.is_failure() {
                return Err(TransitionError {
                    machine: "shipment",
                    from: shipment.state.to_string(),
                    event: "reship".into(),
                }
                .into());
            }
            supplier_order_id
        };
        if self.state == OrderState::DeliveryFailed {
            self.apply(OrderEvent::Retry, journal)?;
        }
        let supplier_order = self.supplier_order(supplier_order_id)?;
        if supplier_order.state.status != crate::state::SupplierOrderStatus::InProgress {
            return Err(TransitionError {
                machine: "supplier_order",
                from: supplier_order.state.to_string(),
                event: "reship".into(),
            }
            .into());
        }
        let new_id = self.add_shipment(supplier_order_id, carrier, tracking_number, None, journal)?;
        self.sync_progress(journal)?;
        Ok(new_id)
    }

    fn shipment_mut(&mut self, shipment_id: ShipmentId) -> Result<(SupplierOrderId, &mut Shipment), OrderError> {
        self.supplier_orders
            .iter_mut()
            .find_map(|so| {
                let id = so.id;
                so.shipments.iter_mut().find(|s| s.id == shipment_id).map(|s| (id, s))
            })
            .ok_or(OrderError::UnknownShipment(shipment_id))
    }

    /// The progress derived from the supplier orders and their parcels.
    pub fn derived_progress(&self) -> Progress {
        let live: Vec<&SupplierOrder> = self.supplier_orders.iter().filter(|s| s.is_live()).collect();
        let shipped = |so: &SupplierOrder| {
            so.shipments
                .iter()
                .any(|s| !s.state.is_failure() && s.state != ShipmentState::InfoReceived)
        };
        let delivered = |so: &SupplierOrder| so.shipments.iter().any(|s| s.state == ShipmentState::Delivered);
        let count_delivered = live.iter().filter(|s| delivered(s)).count();
        let count_shipped = live.iter().filter(|s| shipped(s)).count();
        if live.is_empty() || count_shipped == 0 {
            Progress::InFulfillment
        } else if count_delivered == live.len() {
            Progress::Delivered
        } else if count_delivered > 0 {
            Progress::PartiallyDelivered
        } else if count_shipped == live.len() {
            Progress::Shipped
        } else {
            Progress::PartiallyShipped
        }
    }

    /// Moves the order to its derived progress when it is fulfilling and the progress changed.
    pub fn sync_progress(&mut self, journal: &mut Journal) -> Result<(), OrderError> {
        let fulfilling = matches!(
            self.state,
            OrderState::InFulfillment
                | OrderState::PartiallyShipped
                | OrderState::Shipped
                | OrderState::PartiallyDelivered
        ) || (self.state == OrderState::DeliveryFailed
            && self
                .supplier_orders
                .iter()
                .flat_map(|so| &so.shipments)
                .all(|s| !s.state.is_failure()));
        let progress = self.derived_progress();
        if fulfilling && progress.state() != self.state {
            self.apply(OrderEvent::Progress { progress }, journal)?;
        }
        Ok(())
    }
}

fn build_lines(
    incoming: &IncomingOrder,
    variant_of: &impl Fn(&IncomingLine) -> Option<VariantId>,
) -> Result<Vec<LineItem>, OrderError> {
    if incoming.lines.is_empty() {
        return Err(OrderError::Invalid {
            field: "lines".into(),
            reason: "an order needs at least one line".into(),
        });
    }
    incoming
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if line.quantity == 0 {
                return Err(OrderError::Invalid {
                    field: format!("lines[{i}].quantity"),
                    reason: "must be at least 1".into(),
                });
            }
            if line.unit_price.currency != incoming.currency {
                return Err(OrderError::Invalid {
                    field: format!("lines[{i}].unit_price.currency"),
                    reason: format!("must be the order currency {}", incoming.currency),
                });
            }
            if line.unit_price.minor < 0 {
                return Err(OrderError::Invalid {
                    field: format!("lines[{i}].unit_price"),
                    reason: "must not be negative".into(),
                });
            }
            Ok(LineItem {
                offer_override: None,
                id: LineItemId::new(),
                external_id: line.external_id.clone(),
                variant_id: variant_of(line),
                sku: line.sku.clone(),
                title: line.title.clone(),
                variant_title: line.variant_title.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                requires_shipping: line.requires_shipping,
                platform_product_id: line.platform_product_id.clone(),
                platform_variant_id: line.platform_variant_id.clone(),
                fulfillable_quantity: line.fulfillable_quantity,
            })
        })
        .collect()
}

/// An amount of the order as a whole (discounts, taxes): in the order's currency and not
/// negative, else refused with its field.
pub fn check_order_amount(field: &str, amount: Money, currency: Currency) -> Result<(), OrderError> {
    if amount.currency != currency {
        return Err(OrderError::Invalid {
            field: format!("{field}.currency"),
            reason: format!("must be the order currency {currency}"),
        });
    }
    if amount.minor < 0 {
        return Err(OrderError::Invalid {
            field: field.into(),
            reason: "must not be negative".into(),
        });
    }
    Ok(())
}

fn totals(incoming: &IncomingOrder, lines: &[LineItem]) -> Result<(Money, Money), OrderError> {
    let overflow = |field: &str| OrderError::Invalid {
        field: field.into(),
        reason: "amount too large".into(),
    };
    let mut subtotal = Money::zero(incoming.currency);
    for line in lines {
        let amount = line
            .unit_price
            .checked_mul(line.quantity)
            .map_err(|_| overflow("lines"))?;
        subtotal = subtotal.checked_add(amount).map_err(|_| overflow("lines"))?;
    }
    if incoming.shipping_total.currency != incoming.currency {
        return Err(OrderError::Invalid {
            field: "shipping_total.currency".into(),
            reason: format!("must be the order currency {}", incoming.currency),
        });
    }
    if incoming.shipping_total.minor < 0 {
        return Err(OrderError::Invalid {
            field: "shipping_total".into(),
            reason: "must not be negative".into(),
        });
    }
    for (field, amount) in [
        ("discount_total", incoming.discount_total),
        ("tax_total", incoming.tax_total),
    ] {
        if let Some(amount) = amount {
            check_order_amount(field, amount, incoming.currency)?;
        }
    }
    let total = subtotal
        .checked_add(incoming.shipping_total)
        .map_err(|_| overflow("shipping_total"))?;
    Ok((subtotal, total))
}

/// Orders for the tests of other domain modules.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::catalog::SupplierKind;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("EUR").expect("EUR"))
    }

    /// An accepted, paid order of one line to Berlin, received at `at`.
    pub(crate) fn accepted_order(at: OffsetDateTime) -> Order {
        let mut journal = Journal::new(OrderId::new(), crate::timeline::Actor::System, at);
        let incoming = IncomingOrder {
            external_id: "ext-1".into(),
            number: "#1001".into(),
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
                variant_title: None,
                quantity: 1,
                unit_price: eur(2500),
                requires_shipping: true,
                platform_product_id: None,
                platform_variant_id: None,
                fulfillable_quantity: None,
            }],
            currency: Currency::parse("EUR").expect("EUR"),
            shipping_total: eur(0),
            payment: PaymentState::Paid,
            placed_at: at,
            test: false,
            cancelled_at: None,
            source_updated_at: None,
            charged_total: None,
            discount_total: None,
            tax_total: None,
            shipping_method: None,
        };
        let mut order = Order::receive(StoreId::new(), incoming, |_| None, &mut journal).expect("order");
        order.apply(OrderEvent::Accept, &mut journal).expect("accept");
        order
    }

    /// Gives the whole order to one supplier and starts fulfillment.
    pub(crate) fn route_to(order: &mut Order, supplier_id: SupplierId, journal: &mut Journal) {
        let supplier_order = SupplierOrder {
            id: SupplierOrderId::new(),
            supplier_id,
            supplier_name: "Shenzhen Lights".into(),
            supplier_kind: SupplierKind::Cj,
            lines: Vec::new(),
            ship_to: order.shipping_address.clone(),
            shipping_method: None,
            expected_cost: eur(900),
            actual_cost: None,
            cost_rate: None,
            supplier_reference: None,
            idempotency_key: "k-1".into(),
            attempt: 1,
            state: crate::state::SupplierOrderState::NEW,
            shipments: Vec::new(),
            created_at: journal.at,
            placement: Default::default(),
        };
        order.add_supplier_order(supplier_order, journal);
        order.apply(OrderEvent::StartFulfillment, journal).expect("start");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::SupplierKind;
    use crate::state::{Progress, SupplierOrderStatus};
    use crate::timeline::Actor;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn address() -> Address {
        Address {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            address1: "1 Market St".into(),
            city: "San Francisco".into(),
            region: Some("CA".into()),
            postal_code: "94105".into(),
            country_code: "US".into(),
            ..Address::default()
        }
    }

    fn incoming(lines: &[(&str, u32, i64)]) -> IncomingOrder {
        IncomingOrder {
            external_id: "ext-1".into(),
            number: "#1001".into(),
            customer: Customer {
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                phone: None,
            },
            shipping_address: address(),
            lines: lines
                .iter()
                .map(|(sku, quantity, price)| IncomingLine {
                    external_id: None,
                    sku: (*sku).into(),
                    title: format!("Product {sku}"),
                    variant_title: None,
                    quantity: *quantity,
                    unit_price: usd(*price),
                    requires_shipping: true,
                    platform_product_id: None,
                    platform_variant_id: None,
                    fulfillable_quantity: None,
                })
                .collect(),
            currency: Currency::parse("USD").expect("USD"),
            shipping_total: usd(500),
            payment: PaymentState::Paid,
            placed_at: datetime!(2026-11-01 10:00 UTC),
            test: false,
            cancelled_at: None,
            source_updated_at: None,
            charged_total: None,
            discount_total: None,
            tax_total: None,
            shipping_method: None,
        }
    }

    fn journal(order_id: OrderId) -> Journal {
        Journal::new(order_id, Actor::System, datetime!(2026-11-01 10:05 UTC))
    }

    pub(crate) fn received(lines: &[(&str, u32, i64)]) -> (Order, Journal) {
        let mut journal = journal(OrderId::new());
        let order = Order::receive(StoreId::new(), incoming(lines), |_| None, &mut journal).expect("valid order");
        (order, journal)
    }

    pub(crate) fn supplier_order(order: &Order, name: &str) -> SupplierOrder {
        SupplierOrder {
            id: SupplierOrderId::new(),
            supplier_id: SupplierId::new(),
            supplier_name: name.into(),
            supplier_kind: SupplierKind::Manual,
            lines: Vec::new(),
            ship_to: order.shipping_address.clone(),
            shipping_method: None,
            expected_cost: usd(1000),
            actual_cost: None,
            cost_rate: None,
            supplier_reference: None,
            idempotency_key: format!("{}-{name}-1", order.id),
            attempt: 1,
            state: SupplierOrderState::NEW,
            shipments: Vec::new(),
            created_at: datetime!(2026-11-01 10:06 UTC),
            placement: Default::default(),
        }
    }

    /// An order in fulfillment with one supplier order per name, each accepted by its supplier.
    fn fulfilling(names: &[&str]) -> (Order, Journal, Vec<SupplierOrderId>) {
        let (mut order, mut journal) = received(&[("A", 2, 1250)]);
        order.apply(OrderEvent::Accept, &mut journal).expect("accept");
        let mut ids = Vec::new();
        for name in names {
            let so = supplier_order(&order, name);
            ids.push(so.id);
            order.add_supplier_order(so, &mut journal);
        }
        order.apply(OrderEvent::StartFulfillment, &mut journal).expect("start");
        for id in &ids {
            order
                .record_supplier_reference(*id, "REF-1", None, &mut journal)
                .expect("reference");
        }
        (order, journal, ids)
    }

    #[test]
    fn receiving_computes_exact_totals_and_records_it() {
        let (order, journal) = received(&[("A", 2, 1250), ("B", 1, 999)]);
        assert_eq!(order.subtotal, usd(3499));
        assert_eq!(order.total, usd(3999));
        assert_eq!(order.state, OrderState::PendingReview);
        assert_eq!(journal.events.len(), 1);
        assert_eq!(journal.events[0].kind, "order.received");
    }

    #[test]
    fn receiving_refuses_bad_lines_naming_the_field() {
        let mut journal = journal(OrderId::new());
        let mut bad = incoming(&[("A", 1, 100), ("B", 0, 100)]);
        let err = Order::receive(StoreId::new(), bad.clone(), |_| None, &mut journal).expect_err("zero quantity");
        assert!(
            matches!(err, OrderError::Invalid { ref field, .. } if field == "lines[1].quantity"),
            "{err}"
        );
        bad.lines[1].quantity = 1;
        bad.lines[1].unit_price = Money::new(100, Currency::parse("EUR").expect("EUR"));
        let err = Order::receive(StoreId::new(), bad, |_| None, &mut journal).expect_err("mixed currency");
        assert!(matches!(err, OrderError::Invalid { ref field, .. } if field == "lines[1].unit_price.currency"));
        assert!(journal.events.is_empty(), "a refused order records nothing");
    }

    #[test]
    fn a_changed_resend_updates_before_routing_and_becomes_an_exception_after() {
        let (mut order, mut journal) = received(&[("A", 2, 1250)]);
        let mut resend = incoming(&[("A", 3, 1250)]);
        assert!(
            order
                .update_from(resend.clone(), |_| None, &mut journal)
                .expect("update")
        );
        assert_eq!(order.total, usd(4250));
        assert_eq!(journal.events.last().map(|e| e.kind.as_str()), Some("order.updated"));
        // The same resend again changes nothing and records nothing.
        let before = journal.events.len();
        assert!(
            !order
                .update_from(resend.clone(), |_| None, &mut journal)
                .expect("no-op")
        );
        assert_eq!(journal.events.len(), before);

        order.apply(OrderEvent::Accept, &mut journal).expect("accept");
        let so = supplier_order(&order, "S");
        order.add_supplier_order(so, &mut journal);
        order.apply(OrderEvent::StartFulfillment, &mut journal).expect("start");
        // An unchanged resend after routing is still fine; a changed one is not applied
        // but raised once as an exception for the seller.
        assert!(
            !order
                .update_from(resend.clone(), |_| None, &mut journal)
                .expect("no-op after routing")
        );
        resend.shipping_address.city = "Oakland".into();
        assert!(
            order
                .update_from(resend.clone(), |_| None, &mut journal)
                .expect("routed change")
        );
        assert_eq!(order.shipping_address.city, "San Francisco", "the routed address stays");
        assert_eq!(order.open_exceptions().count(), 1);
        assert_eq!(order.exceptions[0].kind, ExceptionKind::ChangedAfterRouting);
        assert!(
            order.exceptions[0].detail.contains("shipping_address"),
            "{:?}",
            order.exceptions
        );
        assert_eq!(journal.events.last().map(|e| e.kind.as_str()), Some("order.exception"));
        // The same change again raises nothing new.
        let before = journal.events.len();
        assert!(
            !order
                .update_from(resend.clone(), |_| None, &mut journal)
                .expect("same change")
        );
        assert_eq!(journal.events.len(), before);
        assert_eq!(order.exceptions.len(), 1);

        // The payment still moves, through the payment machine.
        resend.shipping_address.city = "San Francisco".into();
        resend.payment = PaymentState::Refunded;
        assert!(
            order
                .update_from(resend, |_| None, &mut journal)
                .expect("payment change")
        );
        assert_eq!(order.payment, PaymentState::Refunded);
        assert_eq!(
            journal.events.last().map(|e| e.kind.as_str()),
            Some("payment.refund_all")
        );
    }

    #[test]
    fn an_impossible_payment_change_is_refused() {
        let (mut order, mut journal) = received(&[("A", 1, 100)]);
        let mut resend = incoming(&[("A", 1, 100)]);
        resend.payment = PaymentState::Refunded;
        order
            .update_from(resend.clone(), |_| None, &mut journal)
            .expect("paid to refunded");
        resend.payment = PaymentState::Paid;
        let err = order
            .update_from(resend, |_| None, &mut journal)
            .expect_err("refunded is terminal");
        assert!(matches!(err, OrderError::Transition(_)), "{err}");
    }

    #[test]
    fn progress_follows_the_parcels_of_two_suppliers() {
        let (mut order, mut journal, ids) = fulfilling(&["S1", "S2"]);
        let first = order
            .add_shipment(ids[0], "UPS", "1Z999", None, &mut journal)
            .expect("parcel 1");
        let second = order
            .add_shipment(ids[1], "DHL", "JD014", None, &mut journal)
            .expect("parcel 2");
        assert_eq!(order.state, OrderState::InFulfillment, "tracking alone is not shipped");
        order
            .record_shipment_event(first, ShipmentState::InTransit, None, &mut journal)
            .expect("ship 1");
        assert_eq!(order.state, OrderState::PartiallyShipped);
        order
            .record_shipment_event(second, ShipmentState::InTransit, None, &mut journal)
            .expect("ship 2");
        assert_eq!(order.state, OrderState::Shipped);
        order
            .record_shipment_event(first, ShipmentState::Delivered, None, &mut journal)
            .expect("deliver 1");
        assert_eq!(order.state, OrderState::PartiallyDelivered);
        assert_eq!(
            order.supplier_order(ids[0]).map(|s| s.state.status),
            Ok(SupplierOrderStatus::Closed)
        );
        order
            .record_shipment_event(second, ShipmentState::Delivered, None, &mut journal)
            .expect("deliver 2");
        assert_eq!(order.state, OrderState::Delivered);
        assert_eq!(order.derived_progress(), Progress::Delivered);
        order.apply(OrderEvent::Complete, &mut journal).expect("complete");
        assert!(order.state.is_terminal());
    }

    #[test]
    fn a_failed_delivery_is_reshipped() {
        let (mut order, mut journal, ids) = fulfilling(&["S1"]);
        let parcel = order
            .add_shipment(ids[0], "USPS", "9400", None, &mut journal)
            .expect("parcel");
        order
            .record_shipment_event(parcel, ShipmentState::InTransit, None, &mut journal)
            .expect("ship");
        order
            .record_shipment_event(parcel, ShipmentState::AttemptFailed, None, &mut journal)
            .expect("fail");
        assert_eq!(order.state, OrderState::DeliveryFailed);
        // Only a failed parcel can be re-shipped.
        let new_parcel = order.reship(parcel, "USPS", "9401", &mut journal).expect("reship");
        assert_eq!(order.state, OrderState::InFulfillment);
        order
            .record_shipment_event(new_parcel, ShipmentState::InTransit, None, &mut journal)
            .expect("ship again");
        assert_eq!(order.state, OrderState::Shipped);
        assert!(
            order.reship(new_parcel, "USPS", "9402", &mut journal).is_err(),
            "a moving parcel is not re-shipped"
        );
        order
            .record_shipment_event(new_parcel, ShipmentState::Delivered, None, &mut journal)
            .expect("deliver");
        assert_eq!(order.state, OrderState::Delivered);
    }

    #[test]
    fn a_shipment_needs_an_accepted_supplier_order_and_its_fields() {
        let (mut order, mut journal) = received(&[("A", 1, 100)]);
        order.apply(OrderEvent::Accept, &mut journal).expect("accept");
        let so = supplier_order(&order, "S");
        let id = so.id;
        order.add_supplier_order(so, &mut journal);
        let err = order
            .add_shipment(id, "UPS", "1Z", None, &mut journal)
            .expect_err("not placed yet");
        assert!(
            matches!(err, OrderError::Transition(ref t) if t.from == "open/unsubmitted"),
            "{err}"
        );
        order
            .record_supplier_reference(id, "REF", None, &mut journal)
            .expect("placed");
        let err = order
            .add_shipment(id, " ", "1Z", None, &mut journal)
            .expect_err("no carrier");
        assert!(matches!(err, OrderError::Invalid { ref field, .. } if field == "carrier"));
        let err = order
            .record_supplier_reference(id, "REF-2", None, &mut journal)
            .expect_err("recorded twice");
        assert!(matches!(err, OrderError::Transition(_)));
    }

    fn event() -> impl Strategy<Value = u8> {
        0u8..12
    }

    proptest! {
        /// Random actions on the aggregate: every accepted change writes at least one
        /// timeline entry, every refused one writes none and changes nothing, and the order
        /// never leaves a terminal state.
        #[test]
        fn every_accepted_change_is_on_the_timeline(actions in prop::collection::vec(event(), 0..40)) {
            let (mut order, mut journal) = received(&[("A", 2, 1250)]);
            for action in actions {
                let before = order.clone();
                let entries = journal.events.len();
                let result = match action {
                    0 => order.apply(OrderEvent::Accept, &mut journal),
                    1 => order.apply(OrderEvent::Reject, &mut journal),
                    2 => order.apply(OrderEvent::Hold { reasons: vec![HoldReason::Manual] }, &mut journal),
                    3 => order.apply(OrderEvent::Release, &mut journal),
                    4 => {
                        if order.state == OrderState::Accepted && order.supplier_orders.is_empty() {
                            let so = supplier_order(&order, "S");
                            order.add_supplier_order(so, &mut journal);
                        }
                        order.apply(OrderEvent::StartFulfillment, &mut journal)
                    }
                    5 => match order.supplier_orders.first().map(|s| s.id) {
                        Some(id) => order.record_supplier_reference(id, "R", None, &mut journal),
                        None => Err(OrderError::Invalid { field: "none".into(), reason: "no supplier order".into() }),
                    },
                    6 => match order.supplier_orders.first().map(|s| s.id) {
                        Some(id) => order.add_shipment(id, "UPS", "1Z", None, &mut journal).map(|_| ()),
                        None => Err(OrderError::Invalid { field: "none".into(), reason: "no supplier order".into() }),
                    },
                    7..=9 => {
                        let parcel = order.supplier_orders.iter().flat_map(|s| &s.shipments).last().map(|s| s.id);
                        let state = [ShipmentState::InTransit, ShipmentState::Delivered, ShipmentState::AttemptFailed]
                            [usize::from(action - 7)];
                        match parcel {
                            Some(id) => order.record_shipment_event(id, state, None, &mut journal),
                            None => Err(OrderError::Invalid { field: "none".into(), reason: "no parcel".into() }),
                        }
                    }
                    10 => order.apply(OrderEvent::Complete, &mut journal),
                    _ => order.apply(OrderEvent::Cancel, &mut journal),
                };
                match result {
                    Ok(()) => {
                        prop_assert!(journal.events.len() > entries, "accepted change without a timeline entry");
                        prop_assert!(!before.state.is_terminal() || before.state == order.state);
                    }
                    Err(_) => {
                        prop_assert_eq!(journal.events.len(), entries, "a refused change wrote to the timeline");
                        prop_assert_eq!(&order, &before, "a refused change moved the order");
                    }
                }
                prop_assert!(OrderState::ALL.contains(&order.state));
            }
        }
    }

    #[test]
    fn an_older_resend_changes_nothing() {
        let (mut order, mut journal) = received(&[("A", 2, 1250)]);
        let mut newer = incoming(&[("A", 3, 1250)]);
        newer.source_updated_at = Some(datetime!(2026-11-01 12:00 UTC));
        assert!(order.update_from(newer.clone(), |_| None, &mut journal).expect("newer"));
        let mut older = incoming(&[("A", 5, 1250)]);
        older.source_updated_at = Some(datetime!(2026-11-01 11:00 UTC));
        let before = journal.events.len();
        assert!(!order.update_from(older, |_| None, &mut journal).expect("older"));
        assert_eq!(order.lines[0].quantity, 3);
        assert_eq!(journal.events.len(), before);
        assert_eq!(order.source_updated_at, newer.source_updated_at);
    }

    #[test]
    fn quantity_to_ship_is_the_fulfillable_part() {
        let (mut order, _) = received(&[("A", 4, 1250), ("B", 1, 100)]);
        order.lines[0].fulfillable_quantity = Some(1);
        order.lines[1].fulfillable_quantity = Some(0);
        assert_eq!(order.lines[0].quantity_to_ship(), 1);
        let shippable: Vec<&str> = order.shippable_lines().map(|l| l.sku.as_str()).collect();
        assert_eq!(shippable, ["A"]);
        // Never more than ordered.
        order.lines[0].fulfillable_quantity = Some(9);
        assert_eq!(order.lines[0].quantity_to_ship(), 4);
    }
}

#[cfg(test)]
mod tracking_tests {
    use super::test_support::{accepted_order, route_to};
    use super::*;
    use crate::timeline::Actor;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-01 08:00 UTC);

    fn shipped() -> (Order, ShipmentId) {
        let mut order = accepted_order(T0);
        let mut journal = Journal::new(order.id, Actor::System, T0);
        route_to(&mut order, SupplierId::new(), &mut journal);
        let so = order.supplier_orders[0].id;
        order
            .record_supplier_reference(so, "R-1", None, &mut journal)
            .expect("reference");
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(2));
        let parcel = order
            .add_shipment(so, "China Post", "RB123456785CN", None, &mut journal)
            .expect("parcel");
        (order, parcel)
    }

    fn event(day: i64, state: ShipmentState, place: &str) -> ShipmentEvent {
        ShipmentEvent {
            at: T0 + Duration::days(day),
            state,
            note: Some(format!("{state} at {place}")),
            location: Some(place.into()),
            from_carrier: false,
        }
    }

    fn record(order: &mut Order, parcel: ShipmentId, day: i64, events: Vec<ShipmentEvent>) -> TrackingUpdate {
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(day));
        order.record_tracking(parcel, events, &mut journal).expect("tracking")
    }

    #[test]
    fn events_are_merged_in_time_order_and_duplicates_are_skipped() {
        let (mut order, parcel) = shipped();
        let first = record(
            &mut order,
            parcel,
            4,
            vec![
                event(4, ShipmentState::InTransit, "Guangzhou"),
                event(3, ShipmentState::InTransit, "Shenzhen"),
                event(4, ShipmentState::InTransit, "Guangzhou"),
            ],
        );
        assert_eq!(first.new_events, 2);
        assert_eq!(first.reached, vec![ShipmentState::InTransit]);
        assert_eq!(order.state, OrderState::Shipped);
        let again = record(
            &mut order,
            parcel,
            5,
            vec![event(4, ShipmentState::InTransit, "Guangzhou")],
        );
        assert_eq!(again, TrackingUpdate::default());
        let shipment = &order.supplier_orders[0].shipments[0];
        let times: Vec<_> = shipment.events.iter().map(|e| e.at).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);
        assert_eq!(shipment.first_scan_at, Some(T0 + Duration::days(3)));
        assert_eq!(shipment.last_checked_at, Some(T0 + Duration::days(5)));
    }

    #[test]
    fn a_status_repeated_on_every_look_is_no_news() {
        let (mut order, parcel) = shipped();
        record(
            &mut order,
            parcel,
            4,
            vec![event(4, ShipmentState::InTransit, "Guangzhou")],
        );
        let again = record(
            &mut order,
            parcel,
            5,
            vec![event(5, ShipmentState::InTransit, "Guangzhou")],
        );
        assert_eq!(again.new_events, 0);
        let shipment = &order.supplier_orders[0].shipments[0];
        assert_eq!(shipment.last_carrier_event_at(), Some(T0 + Duration::days(4)));
        // The same words at a new place are news.
        let moved = record(
            &mut order,
            parcel,
            6,
            vec![event(6, ShipmentState::InTransit, "Leipzig")],
        );
        assert_eq!(moved.new_events, 1);
    }

    #[test]
    fn a_late_report_of_an_older_event_never_moves_the_parcel_back() {
        let (mut order, parcel) = shipped();
        record(
            &mut order,
            parcel,
            9,
            vec![event(9, ShipmentState::OutForDelivery, "Berlin")],
        );
        let update = record(
            &mut order,
            parcel,
            10,
            vec![event(6, ShipmentState::Customs, "Frankfurt")],
        );
        assert_eq!(update.out_of_order, 1);
        assert!(update.reached.is_empty());
        let shipment = &order.supplier_orders[0].shipments[0];
        assert_eq!(shipment.state, ShipmentState::OutForDelivery);
        assert!(shipment.events.iter().any(|e| e.state == ShipmentState::Customs));
    }

    #[test]
    fn a_delivered_parcel_keeps_later_noise_in_its_history_only() {
        let (mut order, parcel) = shipped();
        let update = record(
            &mut order,
            parcel,
            12,
            vec![
                event(5, ShipmentState::InTransit, "Shenzhen"),
                event(11, ShipmentState::Delivered, "Berlin"),
                event(12, ShipmentState::InTransit, "Berlin"),
            ],
        );
        assert_eq!(update.reached, vec![ShipmentState::InTransit, ShipmentState::Delivered]);
        assert_eq!(order.state, OrderState::Delivered);
        assert_eq!(
            order.supplier_orders[0].shipments[0].delivered_at,
            Some(T0 + Duration::days(11))
        );
    }

    #[test]
    fn a_failed_attempt_then_delivery_recovers_the_order() {
        let (mut order, parcel) = shipped();
        record(
            &mut order,
            parcel,
            8,
            vec![event(8, ShipmentState::AttemptFailed, "Berlin")],
        );
        assert_eq!(order.state, OrderState::DeliveryFailed);
        record(
            &mut order,
            parcel,
            9,
            vec![event(9, ShipmentState::Delivered, "Berlin")],
        );
        assert_eq!(order.state, OrderState::Delivered);
    }

    #[test]
    fn delivery_ends_what_the_clocks_raised() {
        let (mut order, parcel) = shipped();
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(9));
        order.raise_exception(
            ExceptionKind::StuckInCustoms,
            "parcel in customs".into(),
            SuggestedAction::TellCustomer,
            &mut journal,
        );
        order.raise_exception(
            ExceptionKind::InvalidTracking,
            "a bad number".into(),
            SuggestedAction::ContactSupplier,
            &mut journal,
        );
        record(
            &mut order,
            parcel,
            10,
            vec![event(10, ShipmentState::Delivered, "Berlin")],
        );
        assert_eq!(order.state, OrderState::Delivered);
        let open: Vec<ExceptionKind> = order.open_exceptions().map(|e| e.kind).collect();
        assert_eq!(
            open,
            vec![ExceptionKind::InvalidTracking],
            "only the clocks' exceptions end"
        );
    }

    #[test]
    fn a_parcel_keeps_a_bounded_history() {
        let (mut order, parcel) = shipped();
        let events = (0..(MAX_EVENTS_PER_PARCEL as i64 + 50))
            .map(|i| ShipmentEvent {
                at: T0 + Duration::days(3) + Duration::minutes(i),
                state: ShipmentState::InTransit,
                note: Some(format!("scan {i}")),
                location: None,
                from_carrier: true,
            })
            .collect();
        record(&mut order, parcel, 4, events);
        let shipment = &order.supplier_orders[0].shipments[0];
        assert_eq!(shipment.events.len(), MAX_EVENTS_PER_PARCEL);
        assert_eq!(shipment.events[0].state, ShipmentState::InfoReceived);
        assert_eq!(
            shipment.events.last().and_then(|e| e.note.clone()).as_deref(),
            Some(format!("scan {}", MAX_EVENTS_PER_PARCEL + 49).as_str())
        );
    }
}
