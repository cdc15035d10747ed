//! Order metrics over time, for the dashboard's overview.
//!
//! Loading every order document to draw a chart would not scale to a million orders, so each
//! order write also writes a small row of facts about the order ([`OrderFacts`], derived here
//! once, so both stores agree), and a store sums those rows per UTC day in SQL
//! ([`DailyMetrics`]). [`App::overview`] turns the sums into a dense daily series with the
//! averages and rates the charts show, all in integer arithmetic.

use crate::error::AppError;
use crate::scope::Scope;
use crate::service::App;
use dropline_domain::ids::{OrderId, StoreId};
use dropline_domain::money::Currency;
use dropline_domain::order::Order;
use dropline_domain::state::{OrderState, PaymentState};
use time::{Date, Duration, OffsetDateTime, Time};

/// What the metrics need to know of one order, kept beside it in the `order_facts` table and
/// rewritten with every write of the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub placed_at: OffsetDateTime,
    pub currency: Currency,
    /// The order's total, in minor units of `currency`.
    pub total_minor: i64,
    /// Seconds from receipt to the first request sent to a supplier; `None` until one is.
    /// The order keeps no payment time, so the clock starts when dropline received the order
    /// (as the placement clock of `clocks` does).
    pub processing_seconds: Option<i64>,
    /// When the first of its parcels left (the earliest `shipped_at`).
    pub first_shipped_at: Option<OffsetDateTime>,
    /// When its last parcel arrived, once the whole order is delivered.
    pub delivered_at: Option<OffsetDateTime>,
    /// Seconds from the first parcel leaving to the order being delivered.
    pub shipping_seconds: Option<i64>,
    /// What its live supplier orders cost (the charged amount when known, else the expected
    /// one), in minor units of `currency`; `None` without a live supplier order or when one
    /// is in another currency (amounts in two currencies are never added).
    pub fulfillment_cost_minor: Option<i64>,
    /// The payment was refunded, in part or in full.
    pub refunded: bool,
    /// When the customer first disputed the payment (a chargeback).
    pub disputed_at: Option<OffsetDateTime>,
}

impl OrderFacts {
    /// The facts of an order as it stands.
    pub fn of(order: &Order) -> Self {
        let first_placed = order
            .supplier_orders
            .iter()
            .filter_map(|supplier_order| supplier_order.placement.submitted_at)
            .min();
        let parcels = || order.supplier_orders.iter().flat_map(|so| so.shipments.iter());
        let first_shipped_at = parcels().filter_map(|parcel| parcel.shipped_at).min();
        let delivered_at = order.delivered_at();
        let shipping_seconds = match (first_shipped_at, delivered_at) {
            (Some(shipped), Some(delivered)) => Some(seconds_between(shipped, delivered)),
            _ => None,
        };
        Self {
            order_id: order.id,
            store_id: order.store_id,
            placed_at: order.placed_at,
            currency: order.currency,
            total_minor: order.total.minor,
            processing_seconds: first_placed.map(|placed| seconds_between(order.received_at, placed)),
            first_shipped_at,
            delivered_at,
            shipping_seconds,
            fulfillment_cost_minor: fulfillment_cost(order),
            refunded: matches!(order.payment, PaymentState::Refunded | PaymentState::PartiallyRefunded),
            disputed_at: order.after_sale.disputes.iter().map(|d| d.opened_at).min(),
        }
    }
}

/// Whole seconds from `from` to `to`, never negative (clocks of partners disagree).
pub(crate) fn seconds_between(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_seconds().max(0)
}

fn fulfillment_cost(order: &Order) -> Option<i64> {
    let mut live = order.supplier_orders.iter().filter(|so| so.is_live()).peekable();
    live.peek()?;
    let mut sum: i64 = 0;
    for supplier_order in live {
        let cost = supplier_order.actual_cost.unwrap_or(supplier_order.expected_cost);
        if cost.currency != order.currency {
            return None;
        }
        sum = sum.checked_add(cost.minor)?;
    }
    Some(sum)
}

/// The sums of the facts of the orders placed on one UTC day in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyMetrics {
    pub day: Date,
    pub currency: Currency,
    /// Orders placed that day.
    pub orders: u64,
    /// Of them, those placed with a supplier, and their processing seconds summed.
    pub processed: u64,
    pub processing_seconds: i64,
    /// Of them, those delivered (with a shipping time), and their shipping seconds summed.
    pub delivered: u64,
    pub shipping_seconds: i64,
    /// Of them, those refunded in part or in full.
    pub refunded: u64,
    /// Of them, those disputed by the customer.
    pub disputed: u64,
    /// The fulfillment cost of those that have one, in minor units of `currency`, and how
    /// many orders that sum covers.
    pub fulfillment_cost_minor: i64,
    pub fulfillment_costed: u64,
}

/// `part / whole` in basis points (1/100 of a percent), rounded half up; `None` when `whole`
/// is zero (no rate without orders).
pub fn basis_points(part: u64, whole: u64) -> Option<u64> {
    if whole == 0 {
        return None;
    }
    let scaled = u128::from(part) * 10_000;
    let whole = u128::from(whole);
    u64::try_from((scaled * 2 + whole) / (whole * 2)).ok()
}

/// The nearest-rank `percent` percentile of `sorted` (ascending): the smallest value that at
/// least `percent` % of the values do not exceed; `None` when there are none.
pub fn nearest_rank<T: Copy>(sorted: &[T], percent: usize) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * percent.min(100)).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// `sum / count` rounded half away from zero; `None` when `count` is zero.
pub fn rounded_average(sum: i64, count: u64) -> Option<i64> {
    if count == 0 {
        return None;
    }
    let count = i128::from(count);
    let sum = i128::from(sum);
    let rounded = if sum >= 0 {
        (sum * 2 + count) / (count * 2)
    } else {
        -((-sum * 2 + count) / (count * 2))
    };
    i64::try_from(rounded).ok()
}

/// One day of the overview: every currency's orders counted together, money only in the
/// overview's [`Overview::cost_currency`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaySummary {
    pub orders: u64,
    pub processed: u64,
    pub processing_seconds: i64,
    pub delivered: u64,
    pub shipping_seconds: i64,
    pub refunded: u64,
    pub disputed: u64,
    pub fulfillment_cost_minor: i64,
    pub fulfillment_costed: u64,
}

impl DaySummary {
    fn add(&mut self, other: &DaySummary) {
        self.orders += other.orders;
        self.processed += other.processed;
        self.processing_seconds = self.processing_seconds.saturating_add(other.processing_seconds);
        self.delivered += other.delivered;
        self.shipping_seconds = self.shipping_seconds.saturating_add(other.shipping_seconds);
        self.refunded += other.refunded;
        self.disputed += other.disputed;
        self.fulfillment_cost_minor = self.fulfillment_cost_minor.saturating_add(other.fulfillment_cost_minor);
        self.fulfillment_costed += other.fulfillment_costed;
    }

    /// Average seconds from receipt to the first supplier order, of the orders placed.
    pub fn average_processing_seconds(&self) -> Option<i64> {
        rounded_average(self.processing_seconds, self.processed)
    }

    /// Average seconds from the first parcel leaving to delivery, of the orders delivered.
    pub fn average_shipping_seconds(&self) -> Option<i64> {
        rounded_average(self.shipping_seconds, self.delivered)
    }

    /// Refunded orders per order, in basis points.
    pub fn refund_rate_bp(&self) -> Option<u64> {
        basis_points(self.refunded, self.orders)
    }

    /// Disputed orders per order, in basis points.
    pub fn chargeback_rate_bp(&self) -> Option<u64> {
        basis_points(self.disputed, self.orders)
    }

    /// Average fulfillment cost of the orders that have one, in minor units.
    pub fn cost_per_order_minor(&self) -> Option<i64> {
        rounded_average(self.fulfillment_cost_minor, self.fulfillment_costed)
    }
}

/// The overview's days: how many at most.
pub const MAX_OVERVIEW_DAYS: u32 = 366;

/// The dashboard's overview of one store, or of every store for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overview {
    /// The store looked at; `None`: every store.
    pub store_id: Option<StoreId>,
    /// Today (UTC), the last day of the series.
    pub today: Date,
    pub pending_review: u64,
    pub on_hold: u64,
    /// Orders with at least one open exception.
    pub with_exceptions: u64,
    /// The currency of the fulfillment costs: the store's own, or (over every store) the
    /// currency most of the period's orders are in. `None` when nothing tells.
    pub cost_currency: Option<Currency>,
    /// Orders of the period in other currencies than `cost_currency`: their costs are not in
    /// the cost series (amounts in two currencies are never added).
    pub orders_in_other_currencies: u64,
    /// One entry per day, oldest first, ending today; days without orders are zero.
    pub days: Vec<(Date, DaySummary)>,
}

impl Overview {
    /// Orders placed today.
    pub fn orders_today(&self) -> u64 {
        self.days
            .iter()
            .find(|(day, _)| *day == self.today)
            .map_or(0, |(_, summary)| summary.orders)
    }

    /// Every day of the period added up.
    pub fn period_total(&self) -> DaySummary {
        let mut total = DaySummary::default();
        for (_, summary) in &self.days {
            total.add(summary);
        }
        total
    }

    /// Orders that wait for a person: to review, on hold, or with an open exception (an
    /// order may be counted twice, once by state and once for its exception).
    pub fn needing_attention(&self) -> u64 {
        self.pending_review + self.on_hold + self.with_exceptions
    }
}

/// Builds the dense series of `days` days ending on `today` from a store's sums. Counts of
/// every currency are added together; money only in `cost_currency`.
pub fn daily_series(
    metrics: &[DailyMetrics],
    today: Date,
    days: u32,
    cost_currency: Option<Currency>,
) -> Vec<(Date, DaySummary)> {
    let first = today - Duration::days(i64::from(days.max(1)) - 1);
    let mut series: Vec<(Date, DaySummary)> = Vec::with_capacity(days as usize);
    let mut day = first;
    while day <= today {
        series.push((day, DaySummary::default()));
        day = match day.next_day() {
            Some(next) => next,
            None => break,
        };
    }
    for row in metrics {
        let Some((_, summary)) = series.iter_mut().find(|(day, _)| *day == row.day) else {
            continue;
        };
        let in_cost_currency = Some(row.currency) == cost_currency;
        summary.add(&DaySummary {
            orders: row.orders,
            processed: row.processed,
            processing_seconds: row.processing_seconds,
            delivered: row.delivered,
            shipping_seconds: row.shipping_seconds,
            refunded: row.refunded,
            disputed: row.disputed,
            fulfillment_cost_minor: if in_cost_currency {
                row.fulfillment_cost_minor
            } else {
                0
            },
            fulfillment_costed: if in_cost_currency { row.fulfillment_costed } else { 0 },
        });
    }
    series
}

/// The currency most orders of `metrics` are in (ties: the first by code).
fn main_currency(metrics: &[DailyMetrics]) -> Option<Currency> {
    let mut counts: Vec<(Currency, u64)> = Vec::new();
    for row in metrics {
        match counts.iter_mut().find(|(currency, _)| *currency == row.currency) {
            Some((_, count)) => *count += row.orders,
            None => counts.push((row.currency, row.orders)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.code().cmp(b.0.code())));
    counts.first().map(|(currency, _)| *currency)
}

impl App {
    /// The overview of the dashboard: orders waiting for a person and the last `days` UTC
    /// days (ending with today, by `now`) of the metrics. A store's caller sees its own
    /// store whatever `store` says; the operator sees `store`, or every store with `None`.
    pub async fn overview(
        &self,
        scope: Scope,
        store: Option<StoreId>,
        days: u32,
        now: OffsetDateTime,
    ) -> Result<Overview, AppError> {
        if days == 0 || days > MAX_OVERVIEW_DAYS {
            return Err(AppError::invalid(
                "days",
                format!("must be between 1 and {MAX_OVERVIEW_DAYS}"),
            ));
        }
        let store_id = scope.store_filter(store);
        let store_currency = match store_id {
            Some(id) => Some(self.get_store(scope, id).await?.store.currency),
            None => None,
        };
        let today = now.to_offset(time::UtcOffset::UTC).date();
        let first = today - Duration::days(i64::from(days) - 1);
        let from = first.with_time(Time::MIDNIGHT).assume_utc();
        let to = (today + Duration::days(1)).with_time(Time::MIDNIGHT).assume_utc();
        let metrics = self.backend.daily_metrics(store_id, from, to).await?;
        let cost_currency = store_currency.or_else(|| main_currency(&metrics));
        let orders_in_other_currencies = metrics
            .iter()
            .filter(|row| Some(row.currency) != cost_currency)
            .map(|row| row.orders)
            .sum();
        let states = self.backend.count_orders_by_state(store_id).await?;
        let count_of = |wanted: OrderState| {
            states
                .iter()
                .find(|(state, _)| *state == wanted)
                .map_or(0, |(_, count)| *count)
        };
        let with_exceptions = self.backend.count_orders_with_open_exceptions(store_id).await?;
        Ok(Overview {
            store_id,
            today,
            pending_review: count_of(OrderState::PendingReview),
            on_hold: count_of(OrderState::OnHold),
            with_exceptions,
            cost_currency,
            orders_in_other_currencies,
            days: daily_series(&metrics, today, days, cost_currency),
        })
    }
}

/// Shipping time of one lane (a supplier to a destination country) over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneMetrics {
    pub supplier_id: dropline_domain::ids::SupplierId,
    /// ISO 3166-1 alpha-2 of the destination.
    pub country: String,
    pub deliveries: usize,
    /// Hours from shipped to delivered: the middle parcel's, and the one 90 % stayed within
    /// (nearest rank).
    pub median_hours: i64,
    pub p90_hours: i64,
}

/// The lanes of these deliveries, by supplier then country.
pub fn lane_metrics(samples: &[crate::ports::LaneSample]) -> Vec<LaneMetrics> {
    let mut by_lane: std::collections::BTreeMap<(dropline_domain::ids::SupplierId, String), Vec<i64>> =
        std::collections::BTreeMap::new();
    for sample in samples {
        if sample.delivered_at < sample.shipped_at {
            continue;
        }
        by_lane
            .entry((sample.supplier_id, sample.country.clone()))
            .or_default()
            .push((sample.delivered_at - sample.shipped_at).whole_hours());
    }
    by_lane
        .into_iter()
        .map(|((supplier_id, country), mut hours)| {
            hours.sort_unstable();
            LaneMetrics {
                supplier_id,
                country,
                deliveries: hours.len(),
                // A lane has at least one delivery.
                median_hours: nearest_rank(&hours, 50).unwrap_or_default(),
                p90_hours: nearest_rank(&hours, 90).unwrap_or_default(),
            }
        })
        .collect()
}

impl App {
    /// The shipping time of each lane of a store over the last `days` days (at most 10 000
    /// deliveries, the newest).
    pub async fn lanes(&self, scope: Scope, store_id: StoreId, days: u32) -> Result<Vec<LaneMetrics>, AppError> {
        if !(1..=366).contains(&days) {
            return Err(AppError::invalid("days", "must be 1 to 366"));
        }
        self.get_store(scope, store_id).await?;
        let since = self.now() - Duration::days(i64::from(days));
        let samples = self.backend.lane_samples(store_id, since).await?;
        Ok(lane_metrics(&samples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::address::{Address, Customer};
    use dropline_domain::catalog::SupplierKind;
    use dropline_domain::ids::{ShipmentId, SupplierId, SupplierOrderId};
    use dropline_domain::money::Money;
    use dropline_domain::order::{Shipment, SupplierOrder};
    use dropline_domain::placement::{FailureKind, Placement, SupplierFailure};
    use dropline_domain::state::{ShipmentState, SupplierOrderState, SupplierOrderStatus};
    use time::macros::{date, datetime};

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn eur() -> Currency {
        Currency::parse("EUR").expect("EUR")
    }

    fn address() -> Address {
        Address {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            company: None,
            address1: "1 Main Street".into(),
            address2: None,
            city: "Springfield".into(),
            region: Some("IL".into()),
            postal_code: "62701".into(),
            country_code: "US".into(),
            phone: None,
        }
    }

    const RECEIVED: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);

    fn order() -> Order {
        Order {
            id: OrderId::new(),
            store_id: StoreId::new(),
            external_id: "ext-1".into(),
            number: "#1".into(),
            customer: Customer {
                name: "Ada".into(),
                email: None,
                phone: None,
            },
            shipping_address: address(),
            lines: Vec::new(),
            currency: usd(),
            subtotal: Money::new(3400, usd()),
            shipping_total: Money::new(500, usd()),
            total: Money::new(3900, usd()),
            payment: PaymentState::Paid,
            state: OrderState::PendingReview,
            hold_reasons: Vec::new(),
            findings: Vec::new(),
            supplier_orders: Vec::new(),
            placed_at: datetime!(2026-03-01 09:30 UTC),
            received_at: RECEIVED,
            updated_at: RECEIVED,
            test: false,
            charged_total: None,
            discount_total: None,
            tax_total: None,
            shipping_method: None,
            source_updated_at: None,
            exceptions: Vec::new(),
            tracking_token: None,
            after_sale: Default::default(),
            version: 0,
        }
    }

    fn supplier_order(expected: Money, submitted_at: Option<OffsetDateTime>) -> SupplierOrder {
        SupplierOrder {
            id: SupplierOrderId::new(),
            supplier_id: SupplierId::new(),
            supplier_name: "Supplier".into(),
            supplier_kind: SupplierKind::Manual,
            lines: Vec::new(),
            ship_to: address(),
            shipping_method: None,
            expected_cost: expected,
            actual_cost: None,
            cost_rate: None,
            supplier_reference: None,
            idempotency_key: "key".into(),
            attempt: 1,
            state: SupplierOrderState::NEW,
            shipments: Vec::new(),
            created_at: RECEIVED,
            placement: Placement {
                submitted_at,
                ..Placement::default()
            },
        }
    }

    fn parcel(shipped_at: Option<OffsetDateTime>, delivered_at: Option<OffsetDateTime>) -> Shipment {
        Shipment {
            id: ShipmentId::new(),
            carrier: "USPS".into(),
            tracking_number: "9400".into(),
            tracking_url: None,
            state: if delivered_at.is_some() {
                ShipmentState::Delivered
            } else {
                ShipmentState::InTransit
            },
            events: Vec::new(),
            shipped_at,
            delivered_at,
            carrier_code: None,
            expected_window: None,
            last_checked_at: None,
            first_scan_at: None,
        }
    }

    #[test]
    fn a_new_order_has_only_its_own_facts() {
        let order = order();
        let facts = OrderFacts::of(&order);
        assert_eq!(
            facts,
            OrderFacts {
                order_id: order.id,
                store_id: order.store_id,
                placed_at: order.placed_at,
                currency: usd(),
                total_minor: 3900,
                processing_seconds: None,
                first_shipped_at: None,
                delivered_at: None,
                shipping_seconds: None,
                fulfillment_cost_minor: None,
                refunded: false,
                disputed_at: None,
            }
        );
    }

    #[test]
    fn lanes_give_the_median_and_the_90th_percentile() {
        let supplier = dropline_domain::ids::SupplierId::new();
        let other = dropline_domain::ids::SupplierId::new();
        let sample = |supplier_id, country: &str, hours: i64| crate::ports::LaneSample {
            supplier_id,
            country: country.into(),
            shipped_at: RECEIVED,
            delivered_at: RECEIVED + Duration::hours(hours),
        };
        let mut samples: Vec<_> = (1..=10).map(|d| sample(supplier, "US", d * 24)).collect();
        samples.push(sample(supplier, "DE", 100));
        // Delivered before it shipped: a bad record, left out.
        samples.push(sample(other, "US", -5));
        let lanes = lane_metrics(&samples);
        assert_eq!(lanes.len(), 2);
        let us = lanes.iter().find(|l| l.country == "US").expect("US");
        assert_eq!((us.deliveries, us.median_hours, us.p90_hours), (10, 120, 216));
        let de = lanes.iter().find(|l| l.country == "DE").expect("DE");
        assert_eq!((de.deliveries, de.median_hours, de.p90_hours), (1, 100, 100));
        assert!(lane_metrics(&[]).is_empty());
    }

    #[test]
    fn a_dispute_and_a_refund_count_from_the_order() {
        let mut order = order();
        order.payment = PaymentState::Paid;
        let mut journal = dropline_domain::timeline::Journal::new(
            order.id,
            dropline_domain::timeline::Actor::System,
            RECEIVED + Duration::days(3),
        );
        order
            .open_dispute(
                Money::new(100, usd()),
                "fraudulent".into(),
                RECEIVED + Duration::days(10),
                &mut journal,
            )
            .expect("a dispute");
        order
            .refund(Money::new(100, usd()), "late".into(), vec![], None, &mut journal)
            .expect("a refund");
        let facts = OrderFacts::of(&order);
        assert_eq!(facts.disputed_at, Some(RECEIVED + Duration::days(3)));
        assert!(facts.refunded);
    }

    #[test]
    fn processing_runs_from_receipt_to_the_first_request_sent() {
        let mut order = order();
        order.supplier_orders = vec![
            supplier_order(Money::new(1000, usd()), Some(RECEIVED + Duration::hours(5))),
            supplier_order(Money::new(1000, usd()), Some(RECEIVED + Duration::hours(2))),
            supplier_order(Money::new(1000, usd()), None),
        ];
        assert_eq!(OrderFacts::of(&order).processing_seconds, Some(7200));
        // A request sent before dropline saw the order counts as immediate.
        order.supplier_orders[1].placement.submitted_at = Some(RECEIVED - Duration::minutes(1));
        assert_eq!(OrderFacts::of(&order).processing_seconds, Some(0));
    }

    #[test]
    fn shipping_runs_from_the_first_parcel_out_to_the_order_delivered() {
        let mut order = order();
        let shipped = RECEIVED + Duration::days(1);
        let mut first = supplier_order(Money::new(1000, usd()), Some(RECEIVED));
        first.shipments = vec![parcel(
            Some(shipped + Duration::hours(3)),
            Some(shipped + Duration::days(4)),
        )];
        let mut second = supplier_order(Money::new(1000, usd()), Some(RECEIVED));
        second.shipments = vec![
            parcel(Some(shipped), Some(shipped + Duration::days(6))),
            parcel(None, None),
        ];
        order.supplier_orders = vec![first, second];
        order.state = OrderState::PartiallyDelivered;
        let facts = OrderFacts::of(&order);
        assert_eq!(facts.first_shipped_at, Some(shipped));
        assert_eq!((facts.delivered_at, facts.shipping_seconds), (None, None));

        for state in [OrderState::Delivered, OrderState::Completed] {
            order.state = state;
            let facts = OrderFacts::of(&order);
            assert_eq!(facts.delivered_at, Some(shipped + Duration::days(6)));
            assert_eq!(facts.shipping_seconds, Some(6 * 86_400));
        }
    }

    #[test]
    fn fulfillment_cost_adds_live_supplier_orders_in_the_order_currency() {
        let mut order = order();
        let mut charged = supplier_order(Money::new(1500, usd()), None);
        charged.actual_cost = Some(Money::new(1450, usd()));
        let expected = supplier_order(Money::new(700, usd()), None);
        let mut cancelled = supplier_order(Money::new(9999, usd()), None);
        cancelled.state.status = SupplierOrderStatus::Cancelled;
        let mut failed = supplier_order(Money::new(8888, usd()), None);
        failed.placement.failure = Some(SupplierFailure {
            kind: FailureKind::Rejected,
            detail: "refused".into(),
            at: RECEIVED,
        });
        order.supplier_orders = vec![charged, expected, cancelled, failed];
        assert_eq!(OrderFacts::of(&order).fulfillment_cost_minor, Some(2150));

        // One supplier order in euros: no sum across currencies.
        order.supplier_orders.push(supplier_order(Money::new(100, eur()), None));
        assert_eq!(OrderFacts::of(&order).fulfillment_cost_minor, None);

        // Only dead supplier orders: no cost at all.
        order.supplier_orders.drain(..2);
        order.supplier_orders.pop();
        assert_eq!(OrderFacts::of(&order).fulfillment_cost_minor, None);
    }

    #[test]
    fn refunds_in_part_or_in_full_count() {
        let mut order = order();
        for (payment, refunded) in [
            (PaymentState::Pending, false),
            (PaymentState::Paid, false),
            (PaymentState::Voided, false),
            (PaymentState::PartiallyRefunded, true),
            (PaymentState::Refunded, true),
        ] {
            order.payment = payment;
            assert_eq!(OrderFacts::of(&order).refunded, refunded, "{payment}");
        }
    }

    #[test]
    fn rates_are_basis_points_rounded_half_up() {
        assert_eq!(basis_points(0, 0), None);
        assert_eq!(basis_points(0, 7), Some(0));
        assert_eq!(basis_points(1, 3), Some(3333));
        assert_eq!(basis_points(2, 3), Some(6667));
        assert_eq!(basis_points(1, 8), Some(1250));
        // 1/20000 = 0.5 bp: half rounds up.
        assert_eq!(basis_points(1, 20_000), Some(1));
        assert_eq!(basis_points(1, 20_001), Some(0));
        assert_eq!(basis_points(5, 5), Some(10_000));
        assert_eq!(basis_points(u64::MAX, u64::MAX), Some(10_000));
    }

    #[test]
    fn averages_round_half_away_from_zero() {
        assert_eq!(rounded_average(10, 0), None);
        assert_eq!(rounded_average(10, 4), Some(3));
        assert_eq!(rounded_average(9, 4), Some(2));
        assert_eq!(rounded_average(-10, 4), Some(-3));
        assert_eq!(rounded_average(7200, 1), Some(7200));
    }

    fn row(day: Date, currency: Currency, orders: u64) -> DailyMetrics {
        DailyMetrics {
            day,
            currency,
            orders,
            processed: orders,
            processing_seconds: 3600 * orders as i64,
            delivered: 1,
            shipping_seconds: 86_400,
            refunded: 1,
            disputed: 0,
            fulfillment_cost_minor: 1000 * orders as i64,
            fulfillment_costed: orders,
        }
    }

    #[test]
    fn the_series_has_every_day_and_money_in_one_currency() {
        let today = date!(2026 - 03 - 05);
        let metrics = [
            row(date!(2026 - 03 - 01), usd(), 9),
            row(date!(2026 - 03 - 02), usd(), 2),
            row(date!(2026 - 03 - 02), eur(), 2),
            row(date!(2026 - 03 - 05), usd(), 4),
        ];
        let series = daily_series(&metrics, today, 4, Some(usd()));
        let days: Vec<Date> = series.iter().map(|(day, _)| *day).collect();
        assert_eq!(
            days,
            [
                date!(2026 - 03 - 02),
                date!(2026 - 03 - 03),
                date!(2026 - 03 - 04),
                date!(2026 - 03 - 05)
            ]
        );
        let second = &series[0].1;
        assert_eq!(second.orders, 4);
        assert_eq!(second.refunded, 2);
        assert_eq!(second.refund_rate_bp(), Some(5000));
        assert_eq!(second.average_processing_seconds(), Some(3600));
        assert_eq!((second.fulfillment_cost_minor, second.fulfillment_costed), (2000, 2));
        assert_eq!(second.cost_per_order_minor(), Some(1000));
        assert_eq!(series[1].1, DaySummary::default());
        assert_eq!(series[1].1.refund_rate_bp(), None);
        assert_eq!(series[3].1.orders, 4);
        assert_eq!(main_currency(&metrics), Some(usd()));
        assert_eq!(main_currency(&[]), None);

        let overview = Overview {
            store_id: None,
            today,
            pending_review: 1,
            on_hold: 2,
            with_exceptions: 3,
            cost_currency: Some(usd()),
            orders_in_other_currencies: 2,
            days: series,
        };
        assert_eq!(overview.orders_today(), 4);
        assert_eq!(overview.needing_attention(), 6);
        let total = overview.period_total();
        assert_eq!((total.orders, total.processed, total.delivered), (8, 8, 3));
        assert_eq!(total.refund_rate_bp(), Some(3750));
        assert_eq!(total.chargeback_rate_bp(), Some(0));
    }
}
