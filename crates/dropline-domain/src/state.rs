//! The state machines of DESIGN.md "States": order, payment, supplier order, shipment.
//! Each is a pure function of (state, event) that returns the new state or a
//! [`TransitionError`] naming the machine, the state and the refused event.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An event the machine does not accept in its current state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{machine} in state '{from}' cannot take '{event}'")]
pub struct TransitionError {
    /// `order`, `payment`, `supplier_order` or `shipment`.
    pub machine: &'static str,
    /// The state the machine was in (snake_case name).
    pub from: String,
    /// The refused event (snake_case name).
    pub event: String,
}

macro_rules! snake_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable snake_case name used in storage and the API.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the snake_case name.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use snake_enum;

fn refuse(machine: &'static str, from: impl fmt::Display, event: impl fmt::Display) -> TransitionError {
    TransitionError {
        machine,
        from: from.to_string(),
        event: event.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------------------------

snake_enum!(
    /// Lifecycle state of an order.
    OrderState {
        PendingReview => "pending_review",
        Accepted => "accepted",
        Rejected => "rejected",
        OnHold => "on_hold",
        InFulfillment => "in_fulfillment",
        PartiallyShipped => "partially_shipped",
        Shipped => "shipped",
        PartiallyDelivered => "partially_delivered",
        Delivered => "delivered",
        Completed => "completed",
        DeliveryFailed => "delivery_failed",
        Cancelled => "cancelled",
    }
);

impl OrderState {
    /// States no event leaves.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Rejected | Self::Completed | Self::Cancelled)
    }
}

/// The fulfillment progress of an order, derived from its supplier orders and shipments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    InFulfillment,
    PartiallyShipped,
    Shipped,
    PartiallyDelivered,
    Delivered,
}

impl Progress {
    /// The order state this progress stands for.
    pub fn state(self) -> OrderState {
        match self {
            Self::InFulfillment => OrderState::InFulfillment,
            Self::PartiallyShipped => OrderState::PartiallyShipped,
            Self::Shipped => OrderState::Shipped,
            Self::PartiallyDelivered => OrderState::PartiallyDelivered,
            Self::Delivered => OrderState::Delivered,
        }
    }
}

snake_enum!(
    /// Why an order waits on hold.
    HoldReason {
        InvalidAddress => "invalid_address",
        PaymentNotCaptured => "payment_not_captured",
        OutOfStock => "out_of_stock",
        NoRoute => "no_route",
        /// A line's storefront variant maps to no catalogue variant.
        UnmappedVariant => "unmapped_variant",
        FraudRisk => "fraud_risk",
        Manual => "manual",
    }
);

/// What can happen to an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum OrderEvent {
    /// The seller or a rule accepts the order.
    Accept,
    /// The seller rejects the order.
    Reject,
    /// The order waits, for the given reasons.
    Hold { reasons: Vec<HoldReason> },
    /// Every hold reason cleared: back to review.
    Release,
    /// Supplier orders exist: fulfillment starts.
    StartFulfillment,
    /// Supplier orders and shipments moved: the derived progress.
    Progress { progress: Progress },
    /// A parcel could not be delivered.
    DeliveryFailed,
    /// A failed delivery is retried (re-shipped).
    Retry,
    /// The return window is over.
    Complete,
    /// The order is cancelled.
    Cancel,
}

impl OrderEvent {
    /// The stable snake_case name of the event.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Reject => "reject",
            Self::Hold { .. } => "hold",
            Self::Release => "release",
            Self::StartFulfillment => "start_fulfillment",
            Self::Progress { .. } => "progress",
            Self::DeliveryFailed => "delivery_failed",
            Self::Retry => "retry",
            Self::Complete => "complete",
            Self::Cancel => "cancel",
        }
    }
}

/// The order machine: the new state, or why the event is refused.
pub fn next_order_state(state: OrderState, event: &OrderEvent) -> Result<OrderState, TransitionError> {
    use OrderState as S;
    let fulfilling = matches!(
        state,
        S::InFulfillment | S::PartiallyShipped | S::Shipped | S::PartiallyDelivered | S::Delivered
    );
    let next = match (state, event) {
        (S::PendingReview, OrderEvent::Accept) => S::Accepted,
        (S::PendingReview | S::OnHold, OrderEvent::Reject) => S::Rejected,
        // In fulfillment: a supplier failed and no other offer can take the lines.
        (S::PendingReview | S::Accepted | S::OnHold | S::InFulfillment, OrderEvent::Hold { reasons })
            if !reasons.is_empty() =>
        {
            S::OnHold
        }
        (S::OnHold, OrderEvent::Release) => S::PendingReview,
        (S::Accepted, OrderEvent::StartFulfillment) => S::InFulfillment,
        (_, OrderEvent::Progress { progress }) if fulfilling && state != S::Delivered => progress.state(),
        // The carrier recovered after a failed attempt (the parcel moved on, or arrived).
        (S::DeliveryFailed, OrderEvent::Progress { progress }) if *progress != Progress::InFulfillment => {
            progress.state()
        }
        (S::InFulfillment | S::PartiallyShipped | S::Shipped | S::PartiallyDelivered, OrderEvent::DeliveryFailed) => {
            S::DeliveryFailed
        }
        (S::DeliveryFailed, OrderEvent::Retry) => S::InFulfillment,
        (S::Delivered, OrderEvent::Complete) => S::Completed,
        (S::PendingReview | S::OnHold | S::Accepted | S::InFulfillment | S::DeliveryFailed, OrderEvent::Cancel) => {
            S::Cancelled
        }
        _ => return Err(refuse("order", state, event.name())),
    };
    Ok(next)
}

// ---------------------------------------------------------------------------------------------
// Payment
// ---------------------------------------------------------------------------------------------

snake_enum!(
    /// Payment state of an order, kept apart from its lifecycle.
    PaymentState {
        Pending => "pending",
        Authorized => "authorized",
        Paid => "paid",
        PartiallyRefunded => "partially_refunded",
        Refunded => "refunded",
        Voided => "voided",
    }
);

impl PaymentState {
    /// States no event leaves.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Refunded | Self::Voided)
    }
}

snake_enum!(
    /// What can happen to a payment.
    PaymentEvent {
        Authorize => "authorize",
        Capture => "capture",
        Void => "void",
        RefundPart => "refund_part",
        RefundAll => "refund_all",
    }
);

/// The payment machine.
pub fn next_payment_state(state: PaymentState, event: PaymentEvent) -> Result<PaymentState, TransitionError> {
    use PaymentEvent as E;
    use PaymentState as S;
    let next = match (state, event) {
        (S::Pending, E::Authorize) => S::Authorized,
        (S::Pending | S::Authorized, E::Capture) => S::Paid,
        (S::Pending | S::Authorized, E::Void) => S::Voided,
        (S::Paid | S::PartiallyRefunded, E::RefundPart) => S::PartiallyRefunded,
        (S::Paid | S::PartiallyRefunded, E::RefundAll) => S::Refunded,
        _ => return Err(refuse("payment", state, event)),
    };
    Ok(next)
}

/// The payment event that moves `from` to `to`, if the machine has one (a storefront
/// reports payment states, not events).
pub fn payment_event_towards(from: PaymentState, to: PaymentState) -> Option<PaymentEvent> {
    PaymentEvent::ALL
        .iter()
        .copied()
        .find(|event| next_payment_state(from, *event) == Ok(to))
}

// ---------------------------------------------------------------------------------------------
// Supplier order: Shopify's fulfillment-order model (status + request status)
// ---------------------------------------------------------------------------------------------

snake_enum!(
    /// Status of a supplier order.
    SupplierOrderStatus {
        Open => "open",
        InProgress => "in_progress",
        OnHold => "on_hold",
        Incomplete => "incomplete",
        Closed => "closed",
        Cancelled => "cancelled",
    }
);

snake_enum!(
    /// Where the request to the supplier stands.
    RequestStatus {
        Unsubmitted => "unsubmitted",
        Submitted => "submitted",
        Accepted => "accepted",
        Rejected => "rejected",
        CancellationRequested => "cancellation_requested",
        CancellationAccepted => "cancellation_accepted",
        CancellationRejected => "cancellation_rejected",
        Closed => "closed",
    }
);

/// The pair of states a supplier order is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SupplierOrderState {
    pub status: SupplierOrderStatus,
    pub request_status: RequestStatus,
}

impl SupplierOrderState {
    /// A new supplier order: open, not yet submitted.
    pub const NEW: Self = Self {
        status: SupplierOrderStatus::Open,
        request_status: RequestStatus::Unsubmitted,
    };

    /// States no event leaves.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status,
            SupplierOrderStatus::Closed | SupplierOrderStatus::Cancelled | SupplierOrderStatus::Incomplete
        )
    }
}

impl fmt::Display for SupplierOrderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.status, self.request_status)
    }
}

snake_enum!(
    /// What can happen to a supplier order.
    SupplierOrderEvent {
        /// The request goes to the supplier.
        Submit => "submit",
        /// The supplier accepted (for a manual supplier: the vendor recorded the supplier's order id).
        Accept => "accept",
        /// The supplier refused the request; the lines can be routed elsewhere.
        Reject => "reject",
        /// Held for the seller's decision (price moved, SKU drift).
        Hold => "hold",
        /// The hold is lifted.
        ReleaseHold => "release_hold",
        /// The seller asks the supplier to cancel.
        RequestCancellation => "request_cancellation",
        /// The supplier agreed to cancel.
        AcceptCancellation => "accept_cancellation",
        /// The supplier refused to cancel (it has shipped already, say).
        RejectCancellation => "reject_cancellation",
        /// Cancelled before it ever reached the supplier.
        Cancel => "cancel",
        /// Every line delivered: done.
        Close => "close",
        /// The supplier closed the request with lines unfulfilled.
        CloseIncomplete => "close_incomplete",
    }
);

/// The supplier order machine.
pub fn next_supplier_order_state(
    state: SupplierOrderState,
    event: SupplierOrderEvent,
) -> Result<SupplierOrderState, TransitionError> {
    use RequestStatus as R;
    use SupplierOrderEvent as E;
    use SupplierOrderStatus as S;
    let at = |status, request_status| SupplierOrderState { status, request_status };
    let next = match (state.status, state.request_status, event) {
        (S::Open, R::Unsubmitted | R::Rejected, E::Submit) => at(S::Open, R::Submitted),
        (S::Open, R::Unsubmitted | R::Submitted, E::Accept) => at(S::InProgress, R::Accepted),
        (S::Open, R::Submitted, E::Reject) => at(S::Open, R::Rejected),
        (S::Open | S::InProgress, r, E::Hold) => at(S::OnHold, r),
        (S::OnHold, r @ (R::Unsubmitted | R::Submitted | R::Rejected), E::ReleaseHold) => at(S::Open, r),
        (S::OnHold, r, E::ReleaseHold) => at(S::InProgress, r),
        (S::Open | S::InProgress, R::Submitted | R::Accepted | R::CancellationRejected, E::RequestCancellation) => {
            at(state.status, R::CancellationRequested)
        }
        (_, R::CancellationRequested, E::AcceptCancellation) => at(S::Cancelled, R::CancellationAccepted),
        (S::Open, R::CancellationRequested, E::RejectCancellation) => at(S::Open, R::CancellationRejected),
        (S::InProgress, R::CancellationRequested, E::RejectCancellation) => at(S::InProgress, R::CancellationRejected),
        (S::Open | S::OnHold, R::Unsubmitted | R::Rejected, E::Cancel) => at(S::Cancelled, R::Closed),
        (S::InProgress, R::Accepted | R::CancellationRejected, E::Close) => at(S::Closed, R::Closed),
        (S::InProgress, R::Accepted | R::CancellationRejected, E::CloseIncomplete) => at(S::Incomplete, R::Closed),
        _ => return Err(refuse("supplier_order", state, event)),
    };
    Ok(next)
}

/// The events a supplier order accepts in its state, so interfaces offer only legal actions.
pub fn allowed_supplier_order_events(state: SupplierOrderState) -> Vec<SupplierOrderEvent> {
    SupplierOrderEvent::ALL
        .iter()
        .copied()
        .filter(|event| next_supplier_order_state(state, *event).is_ok())
        .collect()
}

/// How a supplier order is cancelled from its state: outright before it reached the
/// supplier, by asking the supplier once it has it, or not at all (`None`) when it is done.
pub fn cancellation_event(state: SupplierOrderState) -> Option<SupplierOrderEvent> {
    [SupplierOrderEvent::Cancel, SupplierOrderEvent::RequestCancellation]
        .into_iter()
        .find(|event| next_supplier_order_state(state, *event).is_ok())
}

// ---------------------------------------------------------------------------------------------
// Shipment
// ---------------------------------------------------------------------------------------------

snake_enum!(
    /// Normalized state of a parcel.
    ShipmentState {
        InfoReceived => "info_received",
        InTransit => "in_transit",
        Customs => "customs",
        OutForDelivery => "out_for_delivery",
        Delivered => "delivered",
        AttemptFailed => "attempt_failed",
        Exception => "exception",
        ReturnedToSender => "returned_to_sender",
        Expired => "expired",
    }
);

impl ShipmentState {
    /// States no event leaves.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Delivered | Self::ReturnedToSender)
    }

    /// Whether the parcel failed to reach the customer (for now or for good).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::AttemptFailed | Self::Exception | Self::ReturnedToSender | Self::Expired
        )
    }
}

/// The shipment machine: a carrier event moves a live parcel to the event's state, except
/// that a parcel cannot go back to `info_received` once it moved; delivered and
/// returned-to-sender parcels take no more events.
pub fn next_shipment_state(state: ShipmentState, event: ShipmentState) -> Result<ShipmentState, TransitionError> {
    if state.is_terminal() || (event == ShipmentState::InfoReceived && state != ShipmentState::InfoReceived) {
        return Err(refuse("shipment", state, event));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn order_event() -> impl Strategy<Value = OrderEvent> {
        prop_oneof![
            Just(OrderEvent::Accept),
            Just(OrderEvent::Reject),
            Just(OrderEvent::Hold {
                reasons: vec![HoldReason::Manual]
            }),
            Just(OrderEvent::Hold { reasons: vec![] }),
            Just(OrderEvent::Release),
            Just(OrderEvent::StartFulfillment),
            prop::sample::select(vec![
                Progress::InFulfillment,
                Progress::PartiallyShipped,
                Progress::Shipped,
                Progress::PartiallyDelivered,
                Progress::Delivered
            ])
            .prop_map(|progress| OrderEvent::Progress { progress }),
            Just(OrderEvent::DeliveryFailed),
            Just(OrderEvent::Retry),
            Just(OrderEvent::Complete),
            Just(OrderEvent::Cancel),
        ]
    }

    #[test]
    fn the_happy_path_is_legal() {
        let mut state = OrderState::PendingReview;
        for event in [
            OrderEvent::Accept,
            OrderEvent::StartFulfillment,
            OrderEvent::Progress {
                progress: Progress::PartiallyShipped,
            },
            OrderEvent::Progress {
                progress: Progress::Shipped,
            },
            OrderEvent::Progress {
                progress: Progress::Delivered,
            },
            OrderEvent::Complete,
        ] {
            state = next_order_state(state, &event).expect("legal");
        }
        assert_eq!(state, OrderState::Completed);
    }

    #[test]
    fn refusals_name_the_state_and_event() {
        let err = next_order_state(OrderState::Rejected, &OrderEvent::Accept).expect_err("illegal");
        assert_eq!(err.to_string(), "order in state 'rejected' cannot take 'accept'");
        assert!(next_order_state(OrderState::Shipped, &OrderEvent::Cancel).is_err());
        assert!(next_order_state(OrderState::PendingReview, &OrderEvent::Hold { reasons: vec![] }).is_err());
    }

    #[test]
    fn failed_delivery_retries_back_to_fulfillment() {
        let failed = next_order_state(OrderState::Shipped, &OrderEvent::DeliveryFailed).expect("legal");
        assert_eq!(
            next_order_state(failed, &OrderEvent::Retry),
            Ok(OrderState::InFulfillment)
        );
        assert_eq!(next_order_state(failed, &OrderEvent::Cancel), Ok(OrderState::Cancelled));
    }

    #[test]
    fn manual_supplier_flow() {
        let mut state = SupplierOrderState::NEW;
        assert!(allowed_supplier_order_events(state).contains(&SupplierOrderEvent::Accept));
        state = next_supplier_order_state(state, SupplierOrderEvent::Accept).expect("accept");
        assert_eq!(state.status, SupplierOrderStatus::InProgress);
        assert!(!allowed_supplier_order_events(state).contains(&SupplierOrderEvent::Cancel));
        state = next_supplier_order_state(state, SupplierOrderEvent::Close).expect("close");
        assert!(state.is_terminal());
        assert!(allowed_supplier_order_events(state).is_empty());
    }

    #[test]
    fn cancellation_depends_on_whether_the_supplier_has_the_order() {
        let placed = next_supplier_order_state(SupplierOrderState::NEW, SupplierOrderEvent::Accept).expect("accept");
        let closed = next_supplier_order_state(placed, SupplierOrderEvent::Close).expect("close");
        assert_eq!(
            cancellation_event(SupplierOrderState::NEW),
            Some(SupplierOrderEvent::Cancel)
        );
        assert_eq!(
            cancellation_event(placed),
            Some(SupplierOrderEvent::RequestCancellation)
        );
        assert_eq!(cancellation_event(closed), None);
    }

    #[test]
    fn rejected_request_can_be_resubmitted_or_cancelled() {
        let submitted = next_supplier_order_state(SupplierOrderState::NEW, SupplierOrderEvent::Submit).expect("submit");
        let rejected = next_supplier_order_state(submitted, SupplierOrderEvent::Reject).expect("reject");
        assert!(next_supplier_order_state(rejected, SupplierOrderEvent::Submit).is_ok());
        assert_eq!(
            next_supplier_order_state(rejected, SupplierOrderEvent::Cancel).map(|s| s.status),
            Ok(SupplierOrderStatus::Cancelled)
        );
    }

    proptest! {
        #[test]
        fn order_machine_stays_inside_and_terminals_stay_terminal(events in prop::collection::vec(order_event(), 0..40)) {
            let mut state = OrderState::PendingReview;
            for event in &events {
                let was_terminal = state.is_terminal();
                match next_order_state(state, event) {
                    Ok(next) => {
                        prop_assert!(!was_terminal, "left terminal state {state} on {}", event.name());
                        prop_assert!(OrderState::ALL.contains(&next));
                        state = next;
                    }
                    Err(err) => prop_assert_eq!(err.from, state.as_str()),
                }
            }
        }

        #[test]
        fn payment_machine_terminals_stay_terminal(events in prop::collection::vec(prop::sample::select(PaymentEvent::ALL.to_vec()), 0..20)) {
            let mut state = PaymentState::Pending;
            for event in events {
                if let Ok(next) = next_payment_state(state, event) {
                    prop_assert!(!state.is_terminal());
                    prop_assert!(PaymentState::ALL.contains(&next));
                    state = next;
                }
            }
        }

        #[test]
        fn supplier_order_machine_terminals_stay_terminal(events in prop::collection::vec(prop::sample::select(SupplierOrderEvent::ALL.to_vec()), 0..30)) {
            let mut state = SupplierOrderState::NEW;
            for event in events {
                if let Ok(next) = next_supplier_order_state(state, event) {
                    prop_assert!(!state.is_terminal(), "left {state} on {event}");
                    prop_assert!(SupplierOrderStatus::ALL.contains(&next.status));
                    prop_assert!(RequestStatus::ALL.contains(&next.request_status));
                    state = next;
                }
            }
        }

        #[test]
        fn shipment_machine_terminals_stay_terminal(events in prop::collection::vec(prop::sample::select(ShipmentState::ALL.to_vec()), 0..30)) {
            let mut state = ShipmentState::InfoReceived;
            for event in events {
                if let Ok(next) = next_shipment_state(state, event) {
                    prop_assert!(!state.is_terminal());
                    prop_assert_eq!(next, event);
                    state = next;
                }
            }
        }
    }
}
