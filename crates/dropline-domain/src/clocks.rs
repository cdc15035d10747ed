//! The clocks of an order's stages and the exceptions they raise (DESIGN "Clocks and
//! exceptions"): received → placed, placed → accepted, accepted → shipped, shipped → first
//! carrier scan, transit; and the parcel's own troubles (no news for too long, stuck in
//! customs, past its delivery window, a failed attempt). [`check_clocks`] is a pure function
//! of (order, limits, measured lanes, now): the caller raises what it finds and resolves the
//! clock exceptions that no longer hold.
//!
//! A finding's `detail` names its subject and the moment its clock started, never the
//! current time, so checking again finds the same exception instead of a new one.

use crate::catalog::ClockLimits;
use crate::ids::{ShipmentId, SupplierId, SupplierOrderId};
use crate::order::{ExceptionKind, Order, Shipment, SuggestedAction, SupplierOrder};
use crate::state::{OrderState, RequestStatus, ShipmentState, SupplierOrderStatus};
use time::{Duration, OffsetDateTime};

/// Deliveries a lane needs before its measured time replaces the store's transit limit.
pub const MIN_LANE_SAMPLES: usize = 5;

/// The exception kinds the clocks raise (and resolve when their condition clears).
pub const CLOCK_KINDS: [ExceptionKind; 8] = [
    ExceptionKind::PlacementLate,
    ExceptionKind::AcceptanceLate,
    ExceptionKind::ShippingLate,
    ExceptionKind::NoFirstScan,
    ExceptionKind::TrackingStalled,
    ExceptionKind::PastDeliveryWindow,
    ExceptionKind::StuckInCustoms,
    ExceptionKind::DeliveryProblem,
];

/// The transit time measured on one supplier × destination lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneTransit {
    pub supplier_id: SupplierId,
    pub country: String,
    /// Deliveries measured.
    pub samples: usize,
    /// Hours from shipped to delivered that 90 % of the lane's parcels stayed within.
    pub p90_hours: u32,
}

/// Measures lanes from delivered parcels: (supplier, destination, shipped, delivered).
/// Lanes with fewer than [`MIN_LANE_SAMPLES`] deliveries are left out.
pub fn measure_lanes(samples: &[(SupplierId, String, OffsetDateTime, OffsetDateTime)]) -> Vec<LaneTransit> {
    let mut by_lane: std::collections::BTreeMap<(SupplierId, String), Vec<i64>> = Default::default();
    for (supplier, country, shipped, delivered) in samples {
        if delivered < shipped {
            continue;
        }
        by_lane
            .entry((*supplier, country.clone()))
            .or_default()
            .push((*delivered - *shipped).whole_hours());
    }
    by_lane
        .into_iter()
        .filter(|(_, hours)| hours.len() >= MIN_LANE_SAMPLES)
        .map(|((supplier_id, country), mut hours)| {
            hours.sort_unstable();
            // Nearest-rank 90th percentile.
            let rank = (hours.len() * 9).div_ceil(10).max(1);
            LaneTransit {
                supplier_id,
                country,
                samples: hours.len(),
                p90_hours: u32::try_from(hours[rank - 1]).unwrap_or(u32::MAX).max(1),
            }
        })
        .collect()
}

/// What a clock found: an exception to raise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockFinding {
    pub kind: ExceptionKind,
    pub detail: String,
    pub suggested_action: SuggestedAction,
    pub supplier_order_id: Option<SupplierOrderId>,
    pub shipment_id: Option<ShipmentId>,
    /// The customer is waiting longer than promised: the store may tell them.
    pub customer_late: bool,
    /// When the customer may now expect the parcel, when that can be said.
    pub new_expected_by: Option<OffsetDateTime>,
}

fn hours(limit: u32) -> Duration {
    Duration::hours(i64::from(limit))
}

fn date(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}

/// The transit limit of a parcel's lane: measured when the lane has history, else the store's.
pub fn transit_limit(
    limits: &ClockLimits,
    lanes: &[LaneTransit],
    supplier: SupplierId,
    country: &str,
) -> (Duration, bool) {
    lanes
        .iter()
        .find(|l| l.supplier_id == supplier && l.country == country && l.samples >= MIN_LANE_SAMPLES)
        .map_or((hours(limits.transit_within_hours), false), |l| {
            (hours(l.p90_hours), true)
        })
}

/// Every clock of the order past its limit at `now`.
pub fn check_clocks(
    order: &Order,
    limits: &ClockLimits,
    lanes: &[LaneTransit],
    now: OffsetDateTime,
) -> Vec<ClockFinding> {
    let mut found = Vec::new();
    if order.test
        || matches!(
            order.state,
            OrderState::Cancelled | OrderState::Rejected | OrderState::Completed
        )
    {
        return found;
    }
    // Received → placed: accepted orders whose lines are not yet all with a supplier.
    let unplaced = order
        .supplier_orders
        .iter()
        .filter(|so| so.is_live())
        .all(|so| so.placement.submitted_at.is_none() && so.state.request_status == RequestStatus::Unsubmitted);
    if matches!(order.state, OrderState::Accepted | OrderState::InFulfillment)
        && unplaced
        && now - order.received_at > hours(limits.placed_within_hours)
    {
        found.push(ClockFinding {
            kind: ExceptionKind::PlacementLate,
            detail: format!(
                "received {} and not yet placed with a supplier (limit {} h)",
                date(order.received_at),
                limits.placed_within_hours
            ),
            suggested_action: SuggestedAction::ContactSupplier,
            supplier_order_id: None,
            shipment_id: None,
            customer_late: false,
            new_expected_by: None,
        });
    }
    for so in order.supplier_orders.iter().filter(|so| so.is_live()) {
        check_supplier_order(order, so, limits, lanes, now, &mut found);
    }
    found
}

fn check_supplier_order(
    order: &Order,
    so: &SupplierOrder,
    limits: &ClockLimits,
    lanes: &[LaneTransit],
    now: OffsetDateTime,
    found: &mut Vec<ClockFinding>,
) {
    let finding = |kind, detail: String, action, customer_late| ClockFinding {
        kind,
        detail,
        suggested_action: action,
        supplier_order_id: Some(so.id),
        shipment_id: None,
        customer_late,
        new_expected_by: None,
    };
    // Placed → accepted.
    if so.state.request_status == RequestStatus::Submitted
        && let Some(submitted) = so.placement.submitted_at
        && now - submitted > hours(limits.accepted_within_hours)
    {
        found.push(finding(
            ExceptionKind::AcceptanceLate,
            format!(
                "supplier order at {} submitted {} and not accepted (limit {} h)",
                so.supplier_name,
                date(submitted),
                limits.accepted_within_hours
            ),
            SuggestedAction::NudgeSupplier,
            false,
        ));
    }
    // Accepted → shipped.
    if so.state.status == SupplierOrderStatus::InProgress
        && so.shipments.is_empty()
        && let Some(accepted) = so.placement.accepted_at
        && now - accepted > hours(limits.shipped_within_hours)
    {
        found.push(finding(
            ExceptionKind::ShippingLate,
            format!(
                "supplier order at {} accepted {} and not shipped (limit {} h)",
                so.supplier_name,
                date(accepted),
                limits.shipped_within_hours
            ),
            SuggestedAction::SwitchSupplier,
            false,
        ));
    }
    for parcel in &so.shipments {
        check_parcel(order, so, parcel, limits, lanes, now, found);
    }
}

fn check_parcel(
    order: &Order,
    so: &SupplierOrder,
    parcel: &Shipment,
    limits: &ClockLimits,
    lanes: &[LaneTransit],
    now: OffsetDateTime,
    found: &mut Vec<ClockFinding>,
) {
    let mut push = |kind, detail: String, action, customer_late, new_expected_by| {
        found.push(ClockFinding {
            kind,
            detail,
            suggested_action: action,
            supplier_order_id: Some(so.id),
            shipment_id: Some(parcel.id),
            customer_late,
            new_expected_by,
        })
    };
    let name = format!("parcel {} ({})", parcel.tracking_number, parcel.carrier);
    let (limit, measured) = transit_limit(limits, lanes, so.supplier_id, &so.ship_to.country_code);
    // A fair new promise for a late parcel: a quarter of the lane's (or store's) transit
    // time from now, at least two days.
    let new_promise = now + std::cmp::max(limit / 4_i32, Duration::days(2));
    match parcel.state {
        ShipmentState::Delivered => return,
        ShipmentState::AttemptFailed | ShipmentState::Exception | ShipmentState::ReturnedToSender => {
            let since = parcel.state_since().unwrap_or(order.updated_at);
            let (what, action) = match parcel.state {
                ShipmentState::AttemptFailed => ("a delivery attempt failed", SuggestedAction::TellCustomer),
                ShipmentState::ReturnedToSender => ("returned to the sender", SuggestedAction::Reship),
                _ => ("the carrier reported a problem", SuggestedAction::TellCustomer),
            };
            push(
                ExceptionKind::DeliveryProblem,
                format!("{name}: {what} on {}", date(since)),
                action,
                false,
                None,
            );
            return;
        }
        _ => {}
    }
    let added = parcel.events.first().map_or(order.updated_at, |e| e.at);
    // Shipped → first carrier scan.
    if parcel.first_scan_at.is_none() && now - added > hours(limits.first_scan_within_hours) {
        push(
            ExceptionKind::NoFirstScan,
            format!(
                "{name} shipped {} and never scanned by the carrier (limit {} h)",
                date(added),
                limits.first_scan_within_hours
            ),
            SuggestedAction::NudgeSupplier,
            false,
            None,
        );
    }
    // Stuck in customs.
    if parcel.state == ShipmentState::Customs
        && let Some(since) = parcel.state_since()
        && now - since > hours(limits.customs_hours)
    {
        push(
            ExceptionKind::StuckInCustoms,
            format!(
                "{name} in customs since {} (limit {} h)",
                date(since),
                limits.customs_hours
            ),
            SuggestedAction::TellCustomer,
            true,
            Some(new_promise),
        );
    }
    // No news for too long (only once the carrier has the parcel).
    if let Some(last) = parcel.last_carrier_event_at()
        && parcel.first_scan_at.is_some()
        && now - last > hours(limits.no_news_hours)
    {
        push(
            ExceptionKind::TrackingStalled,
            format!(
                "{name}: no carrier event since {} (limit {} h)",
                date(last),
                limits.no_news_hours
            ),
            SuggestedAction::TellCustomer,
            true,
            Some(new_promise),
        );
    }
    // Past the promised window, or past the lane's transit time.
    let started = parcel.first_scan_at.or(parcel.shipped_at).unwrap_or(added);
    let (deadline, basis) = match parcel.expected_window {
        Some(window) => (window.latest, "its promised window".to_string()),
        None if measured => (
            started + limit,
            format!("the lane's measured {} h", limit.whole_hours()),
        ),
        None => (
            started + limit,
            format!("the store's {} h transit limit", limit.whole_hours()),
        ),
    };
    if now > deadline {
        push(
            ExceptionKind::PastDeliveryWindow,
            format!("{name} expected by {} ({basis})", date(deadline)),
            SuggestedAction::TellCustomer,
            true,
            Some(new_promise),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrderId;
    use crate::order::{DeliveryWindow, ShipmentEvent};
    use crate::timeline::{Actor, Journal};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-01 08:00 UTC);

    fn supplier() -> SupplierId {
        SupplierId(uuid::Uuid::from_u128(7))
    }

    fn kinds(found: &[ClockFinding]) -> Vec<ExceptionKind> {
        found.iter().map(|f| f.kind).collect()
    }

    /// An order accepted and routed at T0 to one supplier, shipping to `country`.
    fn routed_order() -> Order {
        let mut order = crate::order::test_support::accepted_order(T0);
        let mut journal = Journal::new(order.id, Actor::System, T0);
        crate::order::test_support::route_to(&mut order, supplier(), &mut journal);
        order
    }

    #[test]
    fn an_unplaced_order_is_late_after_the_limit_and_not_before() {
        let order = routed_order();
        let limits = ClockLimits::default();
        assert!(check_clocks(&order, &limits, &[], T0 + Duration::hours(23)).is_empty());
        let found = check_clocks(&order, &limits, &[], T0 + Duration::hours(25));
        assert_eq!(kinds(&found), vec![ExceptionKind::PlacementLate]);
        // The same finding an hour later: same detail, so it is not raised twice.
        let again = check_clocks(&order, &limits, &[], T0 + Duration::hours(26));
        assert_eq!(found[0].detail, again[0].detail);
    }

    fn shipped_order() -> (Order, ShipmentId) {
        let mut order = routed_order();
        let so = order.supplier_orders[0].id;
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::hours(1));
        order.submit_to_supplier(so, None, &mut journal).expect("submit");
        order
            .record_supplier_acceptance(
                so,
                crate::placement::Acceptance {
                    reference: "R1".into(),
                    cost: None,
                    estimated_ship_at: None,
                },
                &mut journal,
            )
            .expect("accept");
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(2));
        let parcel = order
            .add_shipment(so, "YunExpress", "YT2229521272164446", None, &mut journal)
            .expect("add");
        (order, parcel)
    }

    fn carrier_event(at: OffsetDateTime, state: ShipmentState) -> ShipmentEvent {
        ShipmentEvent {
            at,
            state,
            note: Some(format!("{state}")),
            location: Some("Shenzhen, CN".into()),
            from_carrier: true,
        }
    }

    #[test]
    fn a_parcel_never_scanned_raises_no_first_scan() {
        let (order, _) = shipped_order();
        let limits = ClockLimits::default();
        let found = check_clocks(&order, &limits, &[], T0 + Duration::days(7));
        assert!(kinds(&found).contains(&ExceptionKind::NoFirstScan), "{found:?}");
    }

    #[test]
    fn a_moving_parcel_without_news_is_stalled_and_late_parcels_get_a_new_promise() {
        let (mut order, parcel) = shipped_order();
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(3));
        order
            .record_tracking(
                parcel,
                vec![carrier_event(T0 + Duration::days(3), ShipmentState::InTransit)],
                &mut journal,
            )
            .expect("tracking");
        let limits = ClockLimits::default();
        let found = check_clocks(&order, &limits, &[], T0 + Duration::days(9));
        assert!(kinds(&found).is_empty(), "{found:?}");
        let found = check_clocks(&order, &limits, &[], T0 + Duration::days(11));
        assert_eq!(kinds(&found), vec![ExceptionKind::TrackingStalled]);
        assert!(found[0].customer_late);
        let found = check_clocks(&order, &limits, &[], T0 + Duration::days(30));
        assert!(kinds(&found).contains(&ExceptionKind::PastDeliveryWindow));
        let late = found
            .iter()
            .find(|f| f.kind == ExceptionKind::PastDeliveryWindow)
            .expect("late");
        assert!(late.new_expected_by.expect("new date") > T0 + Duration::days(30));
    }

    #[test]
    fn the_promised_window_and_the_measured_lane_replace_the_store_limit() {
        let (mut order, parcel) = shipped_order();
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(3));
        order
            .record_tracking(
                parcel,
                vec![carrier_event(T0 + Duration::days(3), ShipmentState::InTransit)],
                &mut journal,
            )
            .expect("tracking");
        let limits = ClockLimits {
            no_news_hours: 10_000,
            ..ClockLimits::default()
        };
        // A fast lane measured at 5 days makes day 9 late.
        let samples: Vec<_> = (0..6)
            .map(|i| {
                (
                    supplier(),
                    "DE".to_string(),
                    T0,
                    T0 + Duration::days(5) - Duration::hours(i),
                )
            })
            .collect();
        let lanes = measure_lanes(&samples);
        assert_eq!(lanes.len(), 1);
        assert_eq!(lanes[0].p90_hours, 120);
        assert!(check_clocks(&order, &limits, &[], T0 + Duration::days(9)).is_empty());
        let found = check_clocks(&order, &limits, &lanes, T0 + Duration::days(9));
        assert_eq!(kinds(&found), vec![ExceptionKind::PastDeliveryWindow]);
        // A promised window wins over both.
        order.supplier_orders[0].shipments[0].expected_window = Some(DeliveryWindow {
            earliest: T0 + Duration::days(10),
            latest: T0 + Duration::days(20),
        });
        assert!(check_clocks(&order, &limits, &lanes, T0 + Duration::days(9)).is_empty());
    }

    #[test]
    fn customs_and_failed_attempts_raise_their_own_kinds_and_delivery_ends_the_clocks() {
        let (mut order, parcel) = shipped_order();
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(6));
        order
            .record_tracking(
                parcel,
                vec![
                    carrier_event(T0 + Duration::days(3), ShipmentState::InTransit),
                    carrier_event(T0 + Duration::days(5), ShipmentState::Customs),
                ],
                &mut journal,
            )
            .expect("tracking");
        let limits = ClockLimits::default();
        let found = check_clocks(&order, &limits, &[], T0 + Duration::days(11));
        assert!(kinds(&found).contains(&ExceptionKind::StuckInCustoms), "{found:?}");
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(12));
        order
            .record_tracking(
                parcel,
                vec![carrier_event(T0 + Duration::days(12), ShipmentState::AttemptFailed)],
                &mut journal,
            )
            .expect("tracking");
        let found = check_clocks(&order, &limits, &[], T0 + Duration::days(12));
        assert_eq!(kinds(&found), vec![ExceptionKind::DeliveryProblem]);
        let mut journal = Journal::new(order.id, Actor::System, T0 + Duration::days(13));
        order
            .record_tracking(
                parcel,
                vec![carrier_event(T0 + Duration::days(13), ShipmentState::Delivered)],
                &mut journal,
            )
            .expect("tracking");
        assert_eq!(order.state, OrderState::Delivered);
        assert!(check_clocks(&order, &limits, &[], T0 + Duration::days(60)).is_empty());
        let _ = OrderId::new();
    }
}
