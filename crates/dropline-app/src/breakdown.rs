//! Profit and metrics per supplier, per lane (supplier × destination country) or per product,
//! over the orders a store placed in a period (issue 7). Every figure is derived from the
//! orders themselves and from each order's ledger with the store's fees
//! ([`Order::ledger`]), so a group's profit is made of the same entries as the order pages.
//!
//! An order through two suppliers, or of two products, gives each group its share:
//! - a supplier order's cost (supplier cost or re-shipment) goes to its supplier and lane; by
//!   product it is split over the supplier order's lines by their cost (unit cost × quantity);
//! - the sale goes to the lines by their price (unit price × quantity);
//! - a refund of lines goes to those lines by their price;
//! - the money of the whole order (shipping charged, discounts, payment and platform fees,
//!   refunds without lines, chargebacks and their fees, and any entry matched to nothing
//!   above, such as money a supplier gave back) is apportioned by the lines' price.
//!
//! Apportioning is in integers by largest remainder ([`apportion`]): each share is the floor
//! of the exact share, and the minor units left over go one each to the largest remainders
//! (the first group on a tie), so the shares always add up to the amount exactly and the
//! groups' profits add up to the store's.
//!
//! A line belongs to the supplier of the live supplier order that holds it (the last one,
//! after a failover), else of the last one charged for it; a line at no supplier yet (not
//! routed, or digital) belongs to the group without a supplier. An order counts once in each
//! group it has a part in, so the groups' orders may add up to more than the period's.
//!
//! Amounts in two currencies are never added: an order in another currency than the store's
//! counts in the orders, times and rates but its money is left out, and counted
//! (`orders_left_out`); a supplier order charged in another currency than its order is
//! converted at the rate recorded on it, and without one left out of the ledger and counted
//! (`supplier_costs_left_out`).

use crate::error::AppError;
use crate::metrics::{MAX_OVERVIEW_DAYS, basis_points, nearest_rank, seconds_between};
use crate::ports::PLACED_PAGE_MAX;
use crate::scope::Scope;
use crate::service::App;
use dropline_domain::after_sale::Fees;
use dropline_domain::ids::{LineItemId, ProductId, StoreId, SupplierId, VariantId};
use dropline_domain::ledger::{LedgerEntry, LedgerKind};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{Order, SupplierOrder};
use dropline_domain::state::PaymentState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use time::{Duration, OffsetDateTime, Time};

/// What a breakdown groups the orders by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakdownBy {
    Supplier,
    /// Supplier × destination country.
    Lane,
    /// The catalogue product of each line's variant.
    Product,
}

impl BreakdownBy {
    pub const ALL: [Self; 3] = [Self::Supplier, Self::Lane, Self::Product];

    /// The name in the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Supplier => "supplier",
            Self::Lane => "lane",
            Self::Product => "product",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|by| by.as_str() == text)
    }
}

impl std::fmt::Display for BreakdownBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One group of a breakdown. By supplier only `supplier_id` is set, by lane also `country`,
/// by product only `product_id`; `None` is the group of what is at no supplier yet, or of
/// lines whose variant is in no product of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub supplier_id: Option<SupplierId>,
    /// ISO 3166-1 alpha-2 of the destination (by lane only).
    pub country: Option<String>,
    pub product_id: Option<ProductId>,
}

/// Durations of a group's orders: how many, the middle one and the one 90 % stayed within
/// (nearest rank), in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durations {
    pub orders: u64,
    pub median_seconds: i64,
    pub p90_seconds: i64,
}

impl Durations {
    /// The durations of these samples; `None` without any.
    pub fn of(mut seconds: Vec<i64>) -> Option<Self> {
        seconds.sort_unstable();
        Some(Self {
            orders: seconds.len() as u64,
            median_seconds: nearest_rank(&seconds, 50)?,
            p90_seconds: nearest_rank(&seconds, 90)?,
        })
    }
}

/// The figures of a group (or of the whole period). Money is in the store's currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figures {
    pub orders: u64,
    /// Of them, those whose money is left out (in another currency than the store's).
    pub orders_left_out: u64,
    /// From receipt to the first request sent to the group's supplier (the order keeps no
    /// payment time; the clock of `clocks` starts there too).
    pub processing: Option<Durations>,
    /// From the group's first parcel leaving to its last arriving, of delivered orders.
    pub shipping: Option<Durations>,
    /// Orders refunded, in part or in full (a refund of lines counts in the lines' groups
    /// only), and their rate in basis points of the orders.
    pub refunded: u64,
    pub refund_rate_bp: Option<u64>,
    /// Orders whose payment the customer disputed, and their rate.
    pub disputed: u64,
    pub chargeback_rate_bp: Option<u64>,
    /// Orders with a fulfillment cost (supplier orders and re-shipments), what it came to,
    /// and its average per such order (rounded half away from zero).
    pub costed: u64,
    pub fulfillment_cost: Money,
    pub cost_per_order: Option<Money>,
    /// As [`Profit`](dropline_domain::ledger::Profit): charged less discounts, refunds and
    /// chargebacks; everything paid out; their difference.
    pub revenue: Money,
    pub costs: Money,
    pub profit: Money,
    /// The profit in basis points of the revenue, rounded half away from zero; `None`
    /// without revenue.
    pub margin_bp: Option<i64>,
}

/// One group with its names, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakdownGroup {
    pub key: GroupKey,
    /// The supplier's name (its current one, else the one its supplier orders carry).
    pub supplier_name: Option<String>,
    /// The product's title.
    pub product_title: Option<String>,
    pub figures: Figures,
}

/// A store's orders of a period, grouped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breakdown {
    pub store_id: StoreId,
    pub by: BreakdownBy,
    pub days: u32,
    /// The period: orders placed in `[from, to)`, the last `days` UTC days with today.
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    /// The store's currency: every amount is in it.
    pub currency: Currency,
    /// Every order of the period, counted once.
    pub total: Figures,
    /// Supplier orders charged in another currency than their order's without a recorded
    /// rate, left out.
    pub supplier_costs_left_out: u64,
    /// Most profit first.
    pub groups: Vec<BreakdownGroup>,
}

/// `amount` split by `weights` in integers (largest remainder): the shares add up to
/// `amount` exactly; when every weight is zero the split is even. Empty without weights.
pub fn apportion(amount: i64, weights: &[u64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let even = weights.iter().all(|w| *w == 0);
    let weight = |w: u64| if even { 1 } else { u128::from(w) };
    let total: u128 = weights.iter().map(|w| weight(*w)).sum();
    let magnitude = u128::from(amount.unsigned_abs());
    let mut shares: Vec<u128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (index, w) in weights.iter().enumerate() {
        let exact = magnitude * weight(*w);
        shares.push(exact / total);
        remainders.push((exact % total, index));
    }
    let left = magnitude - shares.iter().sum::<u128>();
    // Largest remainder first; on a tie, the first group.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders.into_iter().take(left as usize) {
        shares[index] += 1;
    }
    shares
        .into_iter()
        .map(|share| {
            // A share is at most |amount|, so it fits.
            let share = i64::try_from(share).unwrap_or(i64::MAX);
            if amount < 0 { -share } else { share }
        })
        .collect()
}

/// `part / whole` in basis points rounded half away from zero; `None` when `whole` is not
/// more than zero.
pub fn margin_bp(part: i128, whole: i128) -> Option<i64> {
    if whole <= 0 {
        return None;
    }
    let scaled = part.checked_mul(10_000)?;
    let rounded = if scaled >= 0 {
        (scaled * 2 + whole) / (whole * 2)
    } else {
        -((-scaled * 2 + whole) / (whole * 2))
    };
    Some(i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX }))
}

/// What one group gathers, in wide integers until the end.
#[derive(Clone, Debug, Default)]
struct Tally {
    orders: u64,
    orders_left_out: u64,
    processing: Vec<i64>,
    shipping: Vec<i64>,
    refunded: u64,
    disputed: u64,
    costed: u64,
    fulfillment_cost: i128,
    revenue: i128,
    costs: i128,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.orders += other.orders;
        self.orders_left_out += other.orders_left_out;
        self.processing.extend(other.processing);
        self.shipping.extend(other.shipping);
        self.refunded += other.refunded;
        self.disputed += other.disputed;
        self.costed += other.costed;
        self.fulfillment_cost += other.fulfillment_cost;
        self.revenue += other.revenue;
        self.costs += other.costs;
    }
}

fn money(minor: i128, currency: Currency) -> Money {
    let minor = i64::try_from(minor).unwrap_or(if minor < 0 { i64::MIN } else { i64::MAX });
    Money::new(minor, currency)
}

impl Tally {
    fn figures(self, currency: Currency) -> Figures {
        let cost_per_order = (self.costed > 0).then(|| {
            let count = i128::from(self.costed);
            let sum = self.fulfillment_cost;
            let rounded = if sum >= 0 {
                (sum * 2 + count) / (count * 2)
            } else {
                -((-sum * 2 + count) / (count * 2))
            };
            money(rounded, currency)
        });
        Figures {
            orders: self.orders,
            orders_left_out: self.orders_left_out,
            processing: Durations::of(self.processing),
            shipping: Durations::of(self.shipping),
            refunded: self.refunded,
            refund_rate_bp: basis_points(self.refunded, self.orders),
            disputed: self.disputed,
            chargeback_rate_bp: basis_points(self.disputed, self.orders),
            costed: self.costed,
            fulfillment_cost: money(self.fulfillment_cost, currency),
            cost_per_order,
            revenue: money(self.revenue, currency),
            costs: money(self.costs, currency),
            profit: money(self.revenue - self.costs, currency),
            margin_bp: margin_bp(self.revenue - self.costs, self.revenue),
        }
    }
}

/// One order's part in one group.
#[derive(Debug, Default)]
struct Share {
    /// Indexes of the order's supplier orders that serve the group.
    supplier_orders: Vec<usize>,
    refunded: bool,
    costed: bool,
    fulfillment_cost: i128,
    revenue: i128,
    costs: i128,
}

/// A supplier order that the ledger may count: live, or charged before it died.
fn counted(supplier_order: &SupplierOrder) -> bool {
    supplier_order.is_live() || supplier_order.actual_cost.is_some()
}

fn cost_of(supplier_order: &SupplierOrder) -> Money {
    supplier_order.actual_cost.unwrap_or(supplier_order.expected_cost)
}

/// The ledger entries of a supplier order's cost as an entry of `kind` sees them: the goods
/// and the supplier's shipping of a first shipment apart, a re-shipment whole.
fn cost_parts(kind: LedgerKind, supplier_order: &SupplierOrder) -> Vec<(LedgerKind, Money)> {
    let kind = match kind {
        LedgerKind::ReshipmentCost => kind,
        _ => LedgerKind::SupplierCost,
    };
    dropline_domain::after_sale::split_supplier_cost(kind, supplier_order, cost_of(supplier_order))
}

/// Whether the ledger has the supplier order's cost: in the order's currency, or in another
/// with the rate it was converted at recorded.
fn converts(supplier_order: &SupplierOrder, currency: Currency) -> bool {
    let cost = cost_of(supplier_order).currency;
    cost == currency
        || supplier_order
            .cost_rate
            .is_some_and(|used| used.rate.from == cost && used.rate.to == currency)
}

fn holds(supplier_order: &SupplierOrder, line: LineItemId) -> bool {
    supplier_order.lines.iter().any(|l| l.line_item_id == line)
}

/// `quantity × unit` minor units as a weight (nothing below zero).
fn weight(unit_minor: i64, quantity: u32) -> u64 {
    u64::try_from(unit_minor)
        .unwrap_or(0)
        .saturating_mul(u64::from(quantity))
}

/// Adds `(key, weight)` to `targets`, merging a key already there (first seen first).
fn push_target(targets: &mut Vec<(GroupKey, u64)>, key: GroupKey, weight: u64) {
    match targets.iter_mut().find(|(k, _)| *k == key) {
        Some((_, w)) => *w = w.saturating_add(weight),
        None => targets.push((key, weight)),
    }
}

/// Gathers a breakdown order by order (see the module's documentation for the rules).
pub struct BreakdownBuilder {
    by: BreakdownBy,
    currency: Currency,
    fees: Fees,
    products: HashMap<VariantId, ProductId>,
    groups: BTreeMap<GroupKey, Tally>,
    total: Tally,
    supplier_names: HashMap<SupplierId, String>,
    supplier_costs_left_out: u64,
}

impl BreakdownBuilder {
    /// A builder of a store in `currency` with `fees`; `products` maps the catalogue's
    /// variants to their product (needed by product only).
    pub fn new(by: BreakdownBy, currency: Currency, fees: Fees, products: HashMap<VariantId, ProductId>) -> Self {
        Self {
            by,
            currency,
            fees,
            products,
            groups: BTreeMap::new(),
            total: Tally::default(),
            supplier_names: HashMap::new(),
            supplier_costs_left_out: 0,
        }
    }

    fn product_key(&self, variant: Option<VariantId>) -> GroupKey {
        GroupKey {
            supplier_id: None,
            country: None,
            product_id: variant.and_then(|v| self.products.get(&v).copied()),
        }
    }

    /// The group of a supplier order (by supplier or lane).
    fn supplier_key(&self, supplier_order: &SupplierOrder) -> GroupKey {
        GroupKey {
            supplier_id: Some(supplier_order.supplier_id),
            country: (self.by == BreakdownBy::Lane).then(|| supplier_order.ship_to.country_code.clone()),
            product_id: None,
        }
    }

    /// The group of a line of `order`.
    fn line_key(&self, order: &Order, index: usize) -> GroupKey {
        let line = &order.lines[index];
        if self.by == BreakdownBy::Product {
            return self.product_key(line.variant_id);
        }
        let serving = order
            .supplier_orders
            .iter()
            .rev()
            .find(|so| so.is_live() && holds(so, line.id))
            .or_else(|| {
                order
                    .supplier_orders
                    .iter()
                    .rev()
                    .find(|so| so.actual_cost.is_some() && holds(so, line.id))
            });
        match serving {
            Some(supplier_order) => self.supplier_key(supplier_order),
            None => GroupKey {
                supplier_id: None,
                country: (self.by == BreakdownBy::Lane).then(|| order.shipping_address.country_code.clone()),
                product_id: None,
            },
        }
    }

    /// Where a supplier order's cost goes, with weights.
    fn supplier_order_targets(&self, supplier_order: &SupplierOrder) -> Vec<(GroupKey, u64)> {
        if self.by != BreakdownBy::Product {
            return vec![(self.supplier_key(supplier_order), 1)];
        }
        let mut targets = Vec::new();
        for line in &supplier_order.lines {
            push_target(
                &mut targets,
                self.product_key(Some(line.variant_id)),
                weight(line.unit_cost.minor, line.quantity),
            );
        }
        targets
    }

    /// Adds one order of the period.
    pub fn add(&mut self, order: &Order) {
        let entries = if order.currency == self.currency {
            order.ledger(&self.fees).ok()
        } else {
            None
        };
        let line_keys: Vec<GroupKey> = (0..order.lines.len()).map(|i| self.line_key(order, i)).collect();
        // The whole order's money goes by the lines' price.
        let mut by_price: Vec<(GroupKey, u64)> = Vec::new();
        for (line, key) in order.lines.iter().zip(&line_keys) {
            push_target(&mut by_price, key.clone(), weight(line.unit_price.minor, line.quantity));
        }
        if by_price.is_empty() {
            let nobody = GroupKey {
                supplier_id: None,
                country: (self.by == BreakdownBy::Lane).then(|| order.shipping_address.country_code.clone()),
                product_id: None,
            };
            by_price.push((nobody, 1));
        }

        let mut shares: BTreeMap<GroupKey, Share> = BTreeMap::new();
        for (key, _) in &by_price {
            shares.entry(key.clone()).or_default();
        }
        for (index, supplier_order) in order.supplier_orders.iter().enumerate() {
            if !counted(supplier_order) {
                continue;
            }
            self.supplier_names
                .entry(supplier_order.supplier_id)
                .or_insert_with(|| supplier_order.supplier_name.clone());
            if entries.is_some() && !converts(supplier_order, order.currency) {
                self.supplier_costs_left_out += 1;
            }
            let keys: Vec<GroupKey> = match self.by {
                BreakdownBy::Product => supplier_order
                    .lines
                    .iter()
                    .map(|l| self.product_key(Some(l.variant_id)))
                    .collect(),
                _ => vec![self.supplier_key(supplier_order)],
            };
            for key in keys {
                let share = shares.entry(key).or_default();
                if !share.supplier_orders.contains(&index) {
                    share.supplier_orders.push(index);
                }
            }
        }

        // Refunds: those of lines in the lines' groups, when every refund names lines;
        // otherwise (an amount refunded, or a payment refunded on the storefront) every group.
        let refunds: Vec<_> = order.after_sale.refunds.iter().filter(|r| r.amount.minor > 0).collect();
        let payment_refunded = matches!(order.payment, PaymentState::Refunded | PaymentState::PartiallyRefunded);
        if !refunds.is_empty() && refunds.iter().all(|r| !r.lines.is_empty()) {
            for refund in &refunds {
                for units in &refund.lines {
                    if let Some(index) = order.lines.iter().position(|l| l.id == units.line_item_id)
                        && let Some(share) = shares.get_mut(&line_keys[index])
                    {
                        share.refunded = true;
                    }
                }
            }
        } else if !refunds.is_empty() || payment_refunded {
            shares.values_mut().for_each(|share| share.refunded = true);
        }

        if let Some(entries) = &entries {
            self.spread_entries(order, entries, &line_keys, &by_price, &mut shares);
        }

        let disputed = !order.after_sale.disputes.is_empty();
        let delivered = order.delivered_at().is_some();
        let left_out = entries.is_none();
        for (key, share) in shares {
            let tally = self.groups.entry(key).or_default();
            tally.orders += 1;
            tally.orders_left_out += u64::from(left_out);
            tally.refunded += u64::from(share.refunded);
            tally.disputed += u64::from(disputed);
            tally.costed += u64::from(share.costed);
            tally.fulfillment_cost += share.fulfillment_cost;
            tally.revenue += share.revenue;
            tally.costs += share.costs;
            let served = || share.supplier_orders.iter().map(|i| &order.supplier_orders[*i]);
            if let Some(first) = served().filter_map(|so| so.placement.submitted_at).min() {
                tally.processing.push(seconds_between(order.received_at, first));
            }
            if delivered {
                let parcels = || served().flat_map(|so| so.shipments.iter());
                let left = parcels().filter_map(|p| p.shipped_at).min();
                let arrived = parcels().filter_map(|p| p.delivered_at).max();
                if let (Some(left), Some(arrived)) = (left, arrived) {
                    tally.shipping.push(seconds_between(left, arrived));
                }
            }
        }

        // The period as a whole: the order once, with the overview's facts.
        let facts = crate::metrics::OrderFacts::of(order);
        let total = &mut self.total;
        total.orders += 1;
        total.orders_left_out += u64::from(left_out);
        total.processing.extend(facts.processing_seconds);
        total.shipping.extend(facts.shipping_seconds);
        total.refunded += u64::from(payment_refunded || !refunds.is_empty());
        total.disputed += u64::from(disputed);
        if let Some(entries) = &entries {
            let mut costed = false;
            for entry in entries {
                let signed = i128::from(entry.amount.minor) * i128::from(entry.kind.sign());
                if is_fulfillment(entry.kind) {
                    costed = true;
                    total.fulfillment_cost += i128::from(entry.amount.minor);
                }
                if entry.kind.sign() == 0 {
                    continue;
                }
                if entry.kind.is_revenue() {
                    total.revenue += signed;
                } else {
                    total.costs -= signed;
                }
            }
            total.costed += u64::from(costed);
        }
    }

    /// Gives each entry of the ledger to its groups.
    fn spread_entries(
        &self,
        order: &Order,
        entries: &[LedgerEntry],
        line_keys: &[GroupKey],
        by_price: &[(GroupKey, u64)],
        shares: &mut BTreeMap<GroupKey, Share>,
    ) {
        // The ledger gives no source with an entry: a supplier cost is matched to the first
        // unused supplier order of that cost and creation time, a refund to the first unused
        // refund of that amount and time. One matched to nothing goes by the lines' price.
        let mut used_supplier_orders = vec![false; order.supplier_orders.len()];
        let mut used_supplier_shipping = vec![false; order.supplier_orders.len()];
        let mut used_refunds = vec![false; order.after_sale.refunds.len()];
        for entry in entries {
            if entry.kind.sign() == 0 {
                continue;
            }
            let targets: Vec<(GroupKey, u64)> = match entry.kind {
                LedgerKind::SupplierCost | LedgerKind::SupplierShipping | LedgerKind::ReshipmentCost => {
                    // The goods and the supplier's shipping of one supplier order are two
                    // entries: each marks its supplier order used for its own kind.
                    let used = if entry.kind == LedgerKind::SupplierShipping {
                        &mut used_supplier_shipping
                    } else {
                        &mut used_supplier_orders
                    };
                    let found = order.supplier_orders.iter().enumerate().position(|(i, so)| {
                        // A converted cost is matched by what the supplier charged.
                        let charged = entry.converted_from.map_or(entry.amount, |(charged, _)| charged);
                        !used[i]
                            && so.created_at == entry.at
                            && cost_parts(entry.kind, so).contains(&(entry.kind, charged))
                    });
                    match found {
                        Some(index) => {
                            used[index] = true;
                            self.supplier_order_targets(&order.supplier_orders[index])
                        }
                        None => Vec::new(),
                    }
                }
                LedgerKind::Refund => {
                    let found = order.after_sale.refunds.iter().enumerate().position(|(i, refund)| {
                        !used_refunds[i] && refund.at == entry.at && refund.amount == entry.amount
                    });
                    let mut targets = Vec::new();
                    if let Some(index) = found {
                        used_refunds[index] = true;
                        for units in &order.after_sale.refunds[index].lines {
                            if let Some(i) = order.lines.iter().position(|l| l.id == units.line_item_id) {
                                push_target(
                                    &mut targets,
                                    line_keys[i].clone(),
                                    weight(order.lines[i].unit_price.minor, units.quantity),
                                );
                            }
                        }
                    }
                    targets
                }
                _ => Vec::new(),
            };
            let targets = if targets.is_empty() { by_price.to_vec() } else { targets };
            let weights: Vec<u64> = targets.iter().map(|(_, w)| *w).collect();
            let signed_sign = i128::from(entry.kind.sign());
            for ((key, _), part) in targets.into_iter().zip(apportion(entry.amount.minor, &weights)) {
                let share = shares.entry(key).or_default();
                let signed = i128::from(part) * signed_sign;
                if is_fulfillment(entry.kind) {
                    share.costed = true;
                    share.fulfillment_cost += i128::from(part);
                }
                if entry.kind.is_revenue() {
                    share.revenue += signed;
                } else {
                    share.costs -= signed;
                }
            }
        }
    }

    /// Adds what `other` gathered from other orders (the same grouping): the figures are
    /// those of one builder given every order of both.
    pub fn merge(&mut self, other: BreakdownBuilder) {
        for (key, tally) in other.groups {
            self.groups.entry(key).or_default().merge(tally);
        }
        self.total.merge(other.total);
        for (id, name) in other.supplier_names {
            self.supplier_names.entry(id).or_insert(name);
        }
        self.supplier_costs_left_out += other.supplier_costs_left_out;
    }

    /// The figures of the period and of each group, most profit first.
    pub fn finish(self) -> (Figures, Vec<BreakdownGroup>, u64) {
        let currency = self.currency;
        let mut groups: Vec<BreakdownGroup> = self
            .groups
            .into_iter()
            .map(|(key, tally)| BreakdownGroup {
                supplier_name: key.supplier_id.and_then(|id| self.supplier_names.get(&id).cloned()),
                product_title: None,
                key,
                figures: tally.figures(currency),
            })
            .collect();
        groups.sort_by(|a, b| {
            b.figures
                .profit
                .minor
                .cmp(&a.figures.profit.minor)
                .then(b.figures.orders.cmp(&a.figures.orders))
                .then(a.key.cmp(&b.key))
        });
        (self.total.figures(currency), groups, self.supplier_costs_left_out)
    }
}

/// Whether an entry is what fulfilling the order cost.
fn is_fulfillment(kind: LedgerKind) -> bool {
    matches!(
        kind,
        LedgerKind::SupplierCost | LedgerKind::SupplierShipping | LedgerKind::ReshipmentCost
    )
}

impl App {
    /// The breakdown of a store's orders placed in the last `days` UTC days (today
    /// included, the overview's period) by supplier, lane or product. The orders are read a
    /// day and a page at a time, so memory holds two pages and the groups.
    pub async fn breakdown(
        &self,
        scope: Scope,
        store_id: StoreId,
        days: u32,
        by: BreakdownBy,
    ) -> Result<Breakdown, AppError> {
        let mut breakdowns = self.breakdowns(scope, store_id, days, &[by]).await?;
        breakdowns.pop().ok_or(AppError::NotFound("breakdown"))
    }

    /// [`Self::breakdown`] by each of `bys`, from one reading of the orders.
    pub async fn breakdowns(
        &self,
        scope: Scope,
        store_id: StoreId,
        days: u32,
        bys: &[BreakdownBy],
    ) -> Result<Vec<Breakdown>, AppError> {
        if !(1..=MAX_OVERVIEW_DAYS).contains(&days) {
            return Err(AppError::invalid(
                "days",
                format!("must be between 1 and {MAX_OVERVIEW_DAYS}"),
            ));
        }
        let record = self.get_store(scope, store_id).await?;
        let store = record.store;
        let today = self.now().to_offset(time::UtcOffset::UTC).date();
        let from = (today - Duration::days(i64::from(days) - 1))
            .with_time(Time::MIDNIGHT)
            .assume_utc();
        let to = (today + Duration::days(1)).with_time(Time::MIDNIGHT).assume_utc();

        let catalogue = if bys.contains(&BreakdownBy::Product) {
            self.backend.list_products(Some(store_id)).await?
        } else {
            Vec::new()
        };
        let variants: HashMap<VariantId, ProductId> = catalogue
            .iter()
            .flat_map(|product| product.variants.iter().map(move |v| (v.id, product.id)))
            .collect();
        let new_builders = || -> Vec<BreakdownBuilder> {
            bys.iter()
                .map(|by| {
                    let products = if *by == BreakdownBy::Product {
                        variants.clone()
                    } else {
                        HashMap::new()
                    };
                    BreakdownBuilder::new(*by, store.currency, store.settings.fees, products)
                })
                .collect()
        };
        // Reading and decoding the orders is most of the work: the period's days are read
        // by two readers at once, each on its own read connection, each taking the next day
        // left until none is.
        let mut days_left: VecDeque<(OffsetDateTime, OffsetDateTime)> = VecDeque::new();
        let mut day = from;
        while day < to {
            days_left.push_back((day, day + Duration::days(1)));
            day += Duration::days(1);
        }
        let days_left = Mutex::new(days_left);
        let reader = || async {
            let mut builders = new_builders();
            loop {
                let next = days_left.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
                let Some((start, end)) = next else {
                    return Ok::<_, AppError>(builders);
                };
                builders = self.gather_placed(store_id, start, end, builders).await?;
            }
        };
        let (mut builders, second) = tokio::try_join!(reader(), reader())?;
        for (builder, part) in builders.iter_mut().zip(second) {
            builder.merge(part);
        }

        let suppliers = self.backend.list_suppliers(Some(store_id)).await?;
        let titles: HashMap<ProductId, &str> = catalogue.iter().map(|p| (p.id, p.title.as_str())).collect();
        let mut breakdowns = Vec::with_capacity(builders.len());
        for (builder, by) in builders.into_iter().zip(bys) {
            let (total, mut groups, supplier_costs_left_out) = builder.finish();
            for group in &mut groups {
                if let Some(id) = group.key.supplier_id
                    && let Some(supplier) = suppliers.iter().find(|s| s.id == id)
                {
                    group.supplier_name = Some(supplier.name.clone());
                }
                if let Some(id) = group.key.product_id {
                    group.product_title = titles.get(&id).map(|title| (*title).to_string());
                }
            }
            breakdowns.push(Breakdown {
                store_id,
                by: *by,
                days,
                from,
                to,
                currency: store.currency,
                total,
                supplier_costs_left_out,
                groups,
            });
        }
        Ok(breakdowns)
    }

    /// Gives `builders` the store's orders placed in `[from, to)`, a page at a time.
    async fn gather_placed(
        &self,
        store_id: StoreId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        mut builders: Vec<BreakdownBuilder>,
    ) -> Result<Vec<BreakdownBuilder>, AppError> {
        let mut after = None;
        loop {
            let page = self
                .backend
                .orders_placed_between(store_id, from, to, after, PLACED_PAGE_MAX)
                .await?;
            for order in &page.orders {
                for builder in &mut builders {
                    builder.add(order);
                }
            }
            match page.next {
                Some(next) if Some(next) != after => after = Some(next),
                _ => return Ok(builders),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::address::{Address, Customer};
    use dropline_domain::after_sale::{Dispute, LineUnits, Refund};
    use dropline_domain::catalog::SupplierKind;
    use dropline_domain::ids::{DisputeId, OfferId, OrderId, RefundId, ShipmentId, SupplierOrderId};
    use dropline_domain::ledger::DisputeState;
    use dropline_domain::order::{LineItem, Shipment, SupplierOrderLine};
    use dropline_domain::placement::Placement;
    use dropline_domain::state::{OrderState, ShipmentState, SupplierOrderState};
    use time::macros::datetime;

    const RECEIVED: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);
    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn eur() -> Currency {
        Currency::parse("EUR").expect("EUR")
    }

    fn address(country: &str) -> Address {
        Address {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            company: None,
            address1: "1 Main Street".into(),
            address2: None,
            city: "Springfield".into(),
            region: None,
            postal_code: "62701".into(),
            country_code: country.into(),
            phone: None,
        }
    }

    fn line(variant_id: Option<VariantId>, quantity: u32, unit: Money) -> LineItem {
        LineItem {
            offer_override: None,
            id: LineItemId::new(),
            external_id: None,
            variant_id,
            sku: "SKU".into(),
            title: "Thing".into(),
            variant_title: None,
            quantity,
            unit_price: unit,
            requires_shipping: true,
            platform_product_id: None,
            platform_variant_id: None,
            fulfillable_quantity: None,
        }
    }

    /// A paid order of these lines, with shipping charged, received at [`RECEIVED`].
    fn order(country: &str, lines: Vec<LineItem>, shipping: Money) -> Order {
        let currency = shipping.currency;
        let subtotal: i64 = lines.iter().map(|l| l.unit_price.minor * i64::from(l.quantity)).sum();
        Order {
            id: OrderId::new(),
            store_id: StoreId::new(),
            external_id: "ext".into(),
            number: "#1".into(),
            customer: Customer {
                name: "Ada".into(),
                email: None,
                phone: None,
            },
            shipping_address: address(country),
            lines,
            currency,
            subtotal: Money::new(subtotal, currency),
            shipping_total: shipping,
            total: Money::new(subtotal + shipping.minor, currency),
            payment: PaymentState::Paid,
            state: OrderState::InFulfillment,
            hold_reasons: Vec::new(),
            findings: Vec::new(),
            supplier_orders: Vec::new(),
            placed_at: RECEIVED,
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

    /// A supplier order of `order`'s lines at `indexes` (a unit costing `unit_cost`), for
    /// `cost` in all, sent `submitted_after` seconds after receipt.
    fn supplier_order(
        order: &Order,
        supplier_id: SupplierId,
        indexes: &[usize],
        unit_cost: i64,
        cost: Money,
        submitted_after: i64,
    ) -> SupplierOrder {
        SupplierOrder {
            id: SupplierOrderId::new(),
            supplier_id,
            supplier_name: format!("Supplier {supplier_id}"),
            supplier_kind: SupplierKind::Manual,
            lines: indexes
                .iter()
                .map(|i| {
                    let line = &order.lines[*i];
                    SupplierOrderLine {
                        line_item_id: line.id,
                        offer_id: OfferId::new(),
                        variant_id: line.variant_id.unwrap_or_default(),
                        supplier_sku: "SUP".into(),
                        product_url: None,
                        title: line.title.clone(),
                        variant_title: None,
                        quantity: line.quantity,
                        unit_cost: Money::new(unit_cost, cost.currency),
                        supplier_product_id: None,
                        supplier_variant_id: None,
                    }
                })
                .collect(),
            ship_to: order.shipping_address.clone(),
            shipping_method: None,
            expected_cost: cost,
            actual_cost: None,
            cost_rate: None,
            supplier_reference: None,
            idempotency_key: format!("key-{}", SupplierOrderId::new()),
            attempt: 1,
            state: SupplierOrderState::NEW,
            shipments: Vec::new(),
            created_at: RECEIVED + Duration::seconds(submitted_after),
            placement: Placement {
                submitted_at: Some(RECEIVED + Duration::seconds(submitted_after)),
                ..Placement::default()
            },
        }
    }

    fn parcel(shipped_after: i64, delivered_after: i64) -> Shipment {
        Shipment {
            id: ShipmentId::new(),
            carrier: "USPS".into(),
            tracking_number: "9400".into(),
            tracking_url: None,
            state: ShipmentState::Delivered,
            events: Vec::new(),
            shipped_at: Some(RECEIVED + Duration::seconds(shipped_after)),
            delivered_at: Some(RECEIVED + Duration::seconds(delivered_after)),
            carrier_code: None,
            expected_window: None,
            last_checked_at: None,
            first_scan_at: None,
        }
    }

    /// A payment fee of 1.00 per order, a lost dispute costs 15.00.
    fn fees() -> Fees {
        Fees {
            payment_bp: 0,
            payment_fixed_minor: 100,
            platform_bp: 0,
            chargeback_fee_minor: 1_500,
        }
    }

    fn usd_minor(minor: i64) -> Money {
        Money::new(minor, usd())
    }

    struct Scenario {
        orders: Vec<Order>,
        products: HashMap<VariantId, ProductId>,
        first: SupplierId,
        second: SupplierId,
        earbuds: ProductId,
        cable: ProductId,
    }

    /// Four orders of a USD store:
    /// 1. to the US: earbuds 2 × 25.00 at the first supplier (charged 18.00, sent after 2 h,
    ///    4 days in transit), a cable 1 × 10.00 at the second (expected 7.00, sent after 5 h,
    ///    2 days in transit), shipping 6.00; delivered; the cable refunded (10.00).
    /// 2. to Germany: earbuds 1 × 25.00 at the first supplier (expected 12.00, sent after
    ///    1 h), shipping 5.00; a dispute of 30.00 lost.
    /// 3. in euros: earbuds at the first supplier, sent after 3 h: money left out.
    /// 4. not routed: cables 2 × 10.00 and a line of no catalogue variant 1 × 5.00.
    fn scenario() -> Scenario {
        let (first, second) = (SupplierId::new(), SupplierId::new());
        let (earbuds, cable) = (ProductId::new(), ProductId::new());
        let (earbuds_variant, cable_variant) = (VariantId::new(), VariantId::new());
        let products = HashMap::from([(earbuds_variant, earbuds), (cable_variant, cable)]);

        let mut one = order(
            "US",
            vec![
                line(Some(earbuds_variant), 2, usd_minor(2_500)),
                line(Some(cable_variant), 1, usd_minor(1_000)),
            ],
            usd_minor(600),
        );
        let mut earbuds_order = supplier_order(&one, first, &[0], 800, usd_minor(2_000), 2 * HOUR);
        earbuds_order.actual_cost = Some(usd_minor(1_800));
        earbuds_order.shipments = vec![parcel(DAY, 5 * DAY)];
        let mut cable_order = supplier_order(&one, second, &[1], 600, usd_minor(700), 5 * HOUR);
        cable_order.shipments = vec![parcel(2 * DAY, 4 * DAY)];
        one.supplier_orders = vec![earbuds_order, cable_order];
        one.state = OrderState::Delivered;
        one.payment = PaymentState::PartiallyRefunded;
        one.after_sale.refunds.push(Refund {
            id: RefundId::new(),
            amount: usd_minor(1_000),
            reason: "broken".into(),
            lines: vec![LineUnits {
                line_item_id: one.lines[1].id,
                quantity: 1,
            }],
            return_id: None,
            at: RECEIVED + Duration::days(6),
            storefront_refund_id: None,
        });

        let mut two = order(
            "DE",
            vec![line(Some(earbuds_variant), 1, usd_minor(2_500))],
            usd_minor(500),
        );
        two.supplier_orders = vec![supplier_order(&two, first, &[0], 1_000, usd_minor(1_200), HOUR)];
        two.state = OrderState::Shipped;
        two.after_sale.disputes.push(Dispute {
            id: DisputeId::new(),
            amount: usd_minor(3_000),
            reason_code: "fraudulent".into(),
            due_at: RECEIVED + Duration::days(20),
            state: DisputeState::Lost,
            opened_at: RECEIVED + Duration::days(8),
            closed_at: Some(RECEIVED + Duration::days(25)),
        });

        let mut three = order(
            "US",
            vec![line(Some(earbuds_variant), 1, Money::new(2_500, eur()))],
            Money::new(500, eur()),
        );
        three.supplier_orders = vec![supplier_order(
            &three,
            first,
            &[0],
            900,
            Money::new(900, eur()),
            3 * HOUR,
        )];

        let four = order(
            "US",
            vec![
                line(Some(cable_variant), 2, usd_minor(1_000)),
                line(None, 1, usd_minor(500)),
            ],
            usd_minor(0),
        );
        Scenario {
            orders: vec![one, two, three, four],
            products,
            first,
            second,
            earbuds,
            cable,
        }
    }

    fn build(scenario: &Scenario, by: BreakdownBy) -> (Figures, Vec<BreakdownGroup>, u64) {
        let mut builder = BreakdownBuilder::new(by, usd(), fees(), scenario.products.clone());
        for order in &scenario.orders {
            builder.add(order);
        }
        builder.finish()
    }

    fn group<'a>(groups: &'a [BreakdownGroup], key: &GroupKey) -> &'a Figures {
        &groups
            .iter()
            .find(|g| g.key == *key)
            .unwrap_or_else(|| panic!("no group {key:?} in {groups:#?}"))
            .figures
    }

    fn supplier(id: Option<SupplierId>, country: Option<&str>) -> GroupKey {
        GroupKey {
            supplier_id: id,
            country: country.map(str::to_string),
            product_id: None,
        }
    }

    fn product(id: Option<ProductId>) -> GroupKey {
        GroupKey {
            supplier_id: None,
            country: None,
            product_id: id,
        }
    }

    fn durations(orders: u64, median: i64, p90: i64) -> Option<Durations> {
        Some(Durations {
            orders,
            median_seconds: median,
            p90_seconds: p90,
        })
    }

    #[test]
    fn apportioning_adds_up_and_gives_the_rest_to_the_largest_remainders() {
        assert_eq!(apportion(6_000, &[5_000, 1_000]), [5_000, 1_000]);
        // 83.33 and 16.67: the unit left goes to the larger remainder.
        assert_eq!(apportion(100, &[5_000, 1_000]), [83, 17]);
        // A tie goes to the first.
        assert_eq!(apportion(1, &[1, 1]), [1, 0]);
        assert_eq!(apportion(2, &[1, 1, 1]), [1, 1, 0]);
        assert_eq!(apportion(10, &[1, 1, 1]), [4, 3, 3]);
        // Negative amounts split the same way, signs kept.
        assert_eq!(apportion(-100, &[5_000, 1_000]), [-83, -17]);
        // No weight anywhere: an even split; a zero weight beside others: nothing.
        assert_eq!(apportion(7, &[0, 0]), [4, 3]);
        assert_eq!(apportion(7, &[0, 3]), [0, 7]);
        assert!(apportion(7, &[]).is_empty());
        assert_eq!(
            apportion(i64::MAX, &[u64::MAX, u64::MAX])
                .iter()
                .map(|s| i128::from(*s))
                .sum::<i128>(),
            i128::from(i64::MAX)
        );
        for (amount, weights) in [
            (999_i64, vec![3_u64, 7, 11, 13]),
            (-12_345, vec![1, 2, 0, 40_000]),
            (1, vec![9; 7]),
        ] {
            let shares = apportion(amount, &weights);
            assert_eq!(shares.iter().sum::<i64>(), amount, "{amount} by {weights:?}");
        }
    }

    #[test]
    fn margins_are_basis_points_rounded_half_away_from_zero() {
        assert_eq!(margin_bp(1, 3), Some(3_333));
        assert_eq!(margin_bp(2, 3), Some(6_667));
        assert_eq!(margin_bp(-1, 3), Some(-3_333));
        assert_eq!(margin_bp(-2, 3), Some(-6_667));
        // Half a basis point rounds away from zero.
        assert_eq!(margin_bp(1, 20_000), Some(1));
        assert_eq!(margin_bp(-1, 20_000), Some(-1));
        assert_eq!(margin_bp(1, 20_001), Some(0));
        assert_eq!(margin_bp(-617, 100), Some(-61_700));
        assert_eq!(margin_bp(5, 0), None);
        assert_eq!(margin_bp(5, -10), None);
    }

    #[test]
    fn percentiles_are_nearest_ranks() {
        assert_eq!(Durations::of(Vec::new()), None);
        assert_eq!(Durations::of(vec![42]), durations(1, 42, 42));
        // Given in any order.
        assert_eq!(Durations::of(vec![10, 3, 7, 1, 9, 2, 8, 4, 6, 5]), durations(10, 5, 9));
        assert_eq!(Durations::of(vec![3_600, 10_800, 7_200]), durations(3, 7_200, 10_800));
        // Two: the lower is the median, the higher the 90th percentile.
        assert_eq!(Durations::of(vec![20, 10]), durations(2, 10, 20));
        let hundred: Vec<i64> = (1..=100).rev().collect();
        assert_eq!(Durations::of(hundred), durations(100, 50, 90));
    }

    #[test]
    fn suppliers_get_their_costs_and_their_lines_share_of_the_rest() {
        let scenario = scenario();
        let (total, groups, left_out) = build(&scenario, BreakdownBy::Supplier);
        assert_eq!(left_out, 0);
        // Most profit first: the unrouted order (24.00), the first supplier, the second.
        let keys: Vec<GroupKey> = groups.iter().map(|g| g.key.clone()).collect();
        assert_eq!(
            keys,
            [
                supplier(None, None),
                supplier(Some(scenario.first), None),
                supplier(Some(scenario.second), None)
            ]
        );

        // The first supplier: order 1's earbuds (sale 50.00, shipping 5.00 of 6.00, fee 0.83
        // of 1.00, charged 18.00), order 2 (sale 25.00, shipping 5.00, fee 1.00, cost 12.00,
        // chargeback 30.00 and its fee 15.00), order 3 counted but left out.
        let first = group(&groups, &supplier(Some(scenario.first), None));
        assert_eq!((first.orders, first.orders_left_out), (3, 1));
        assert_eq!(first.revenue, usd_minor(5_000 + 500 + 2_500 + 500 - 3_000));
        assert_eq!(first.costs, usd_minor(1_800 + 83 + 1_200 + 100 + 1_500));
        assert_eq!(first.profit, usd_minor(817));
        assert_eq!(first.margin_bp, Some(1_485));
        assert_eq!(first.processing, durations(3, 2 * HOUR, 3 * HOUR));
        assert_eq!(first.shipping, durations(1, 4 * DAY, 4 * DAY));
        assert_eq!((first.refunded, first.refund_rate_bp), (0, Some(0)));
        assert_eq!((first.disputed, first.chargeback_rate_bp), (1, Some(3_333)));
        assert_eq!((first.costed, first.fulfillment_cost), (2, usd_minor(3_000)));
        assert_eq!(first.cost_per_order, Some(usd_minor(1_500)));

        // The second: the cable (sale 10.00, shipping 1.00, fee 0.17, cost 7.00) and its
        // refund, which is the cable's only.
        let second = group(&groups, &supplier(Some(scenario.second), None));
        assert_eq!((second.orders, second.orders_left_out), (1, 0));
        assert_eq!(second.revenue, usd_minor(1_000 + 100 - 1_000));
        assert_eq!(second.costs, usd_minor(700 + 17));
        assert_eq!(second.profit, usd_minor(-617));
        assert_eq!(second.margin_bp, Some(-61_700));
        assert_eq!(second.processing, durations(1, 5 * HOUR, 5 * HOUR));
        assert_eq!(second.shipping, durations(1, 2 * DAY, 2 * DAY));
        assert_eq!((second.refunded, second.refund_rate_bp), (1, Some(10_000)));
        assert_eq!((second.disputed, second.chargeback_rate_bp), (0, Some(0)));
        assert_eq!(second.cost_per_order, Some(usd_minor(700)));

        // At no supplier: order 4, no times, no fulfillment cost.
        let nobody = group(&groups, &supplier(None, None));
        assert_eq!(nobody.orders, 1);
        assert_eq!(
            (nobody.revenue, nobody.costs, nobody.profit),
            (usd_minor(2_500), usd_minor(100), usd_minor(2_400))
        );
        assert_eq!(nobody.margin_bp, Some(9_600));
        assert_eq!((nobody.processing, nobody.shipping), (None, None));
        assert_eq!((nobody.costed, nobody.cost_per_order), (0, None));

        // The period: each order once; the groups' money adds up to it exactly.
        assert_eq!((total.orders, total.orders_left_out), (4, 1));
        // Order 2's revenue is nothing: its chargeback took back what it charged.
        assert_eq!(total.revenue, usd_minor(5_600 + 2_500));
        assert_eq!(total.costs, usd_minor(2_600 + 2_800 + 100));
        assert_eq!(total.profit, usd_minor(2_600));
        let summed: i64 = groups.iter().map(|g| g.figures.profit.minor).sum();
        assert_eq!(summed, total.profit.minor);
        assert_eq!(total.processing, durations(3, 2 * HOUR, 3 * HOUR));
        assert_eq!(total.shipping, durations(1, 4 * DAY, 4 * DAY));
        assert_eq!((total.refunded, total.refund_rate_bp), (1, Some(2_500)));
        assert_eq!((total.disputed, total.chargeback_rate_bp), (1, Some(2_500)));
        assert_eq!((total.costed, total.fulfillment_cost), (2, usd_minor(3_700)));
        assert_eq!(total.cost_per_order, Some(usd_minor(1_850)));
        assert_eq!(total.margin_bp, Some(3_210));
    }

    #[test]
    fn lanes_split_a_supplier_by_destination() {
        let scenario = scenario();
        let (_, groups, _) = build(&scenario, BreakdownBy::Lane);
        assert_eq!(groups.len(), 4);
        let us = group(&groups, &supplier(Some(scenario.first), Some("US")));
        assert_eq!((us.orders, us.orders_left_out), (2, 1));
        assert_eq!(us.profit, usd_minor(5_500 - 1_883));
        assert_eq!(us.processing, durations(2, 2 * HOUR, 3 * HOUR));
        assert_eq!(us.chargeback_rate_bp, Some(0));
        let de = group(&groups, &supplier(Some(scenario.first), Some("DE")));
        assert_eq!(de.orders, 1);
        assert_eq!(
            (de.revenue, de.costs, de.profit),
            (usd_minor(0), usd_minor(2_800), usd_minor(-2_800))
        );
        assert_eq!(de.margin_bp, None);
        assert_eq!(de.chargeback_rate_bp, Some(10_000));
        assert_eq!(
            group(&groups, &supplier(Some(scenario.second), Some("US"))).profit,
            usd_minor(-617)
        );
        assert_eq!(group(&groups, &supplier(None, Some("US"))).profit, usd_minor(2_400));
    }

    #[test]
    fn products_get_their_lines_and_their_supplier_costs() {
        let scenario = scenario();
        let (total, groups, _) = build(&scenario, BreakdownBy::Product);
        let keys: Vec<GroupKey> = groups.iter().map(|g| g.key.clone()).collect();
        assert_eq!(
            keys,
            [
                product(Some(scenario.cable)),
                product(Some(scenario.earbuds)),
                product(None)
            ]
        );
        let earbuds = group(&groups, &product(Some(scenario.earbuds)));
        assert_eq!((earbuds.orders, earbuds.profit), (3, usd_minor(817)));
        // The cable: order 1 (-6.17) and order 4's two cables (20.00 less 0.80 of the fee).
        let cable = group(&groups, &product(Some(scenario.cable)));
        assert_eq!(cable.orders, 2);
        assert_eq!(
            (cable.revenue, cable.costs),
            (usd_minor(100 + 2_000), usd_minor(717 + 80))
        );
        assert_eq!(cable.profit, usd_minor(1_303));
        assert_eq!((cable.refunded, cable.refund_rate_bp), (1, Some(5_000)));
        assert_eq!(cable.processing, durations(1, 5 * HOUR, 5 * HOUR));
        // The line of no catalogue variant: 5.00 less 0.20 of the fee.
        let unknown = group(&groups, &product(None));
        assert_eq!((unknown.orders, unknown.profit), (1, usd_minor(480)));
        let summed: i64 = groups.iter().map(|g| g.figures.profit.minor).sum();
        assert_eq!(summed, total.profit.minor);
    }

    #[test]
    fn a_supplier_order_in_another_currency_is_left_out_and_counted() {
        let scenario = scenario();
        let mut order = scenario.orders[3].clone();
        let mut charged_in_euros = supplier_order(&order, scenario.second, &[0], 500, usd_minor(1_000), HOUR);
        charged_in_euros.actual_cost = Some(Money::new(950, eur()));
        order.supplier_orders = vec![charged_in_euros];
        let mut builder = BreakdownBuilder::new(BreakdownBy::Supplier, usd(), fees(), HashMap::new());
        builder.add(&order);
        let (total, groups, left_out) = builder.finish();
        assert_eq!(left_out, 1);
        // The cables are at the second supplier without a cost; the other line at nobody.
        let second = group(&groups, &supplier(Some(scenario.second), None));
        assert_eq!(
            (second.costed, second.fulfillment_cost, second.cost_per_order),
            (0, usd_minor(0), None)
        );
        assert_eq!(second.revenue, usd_minor(2_000));
        assert_eq!(total.costs, usd_minor(100));
        assert_eq!(total.orders_left_out, 0);
    }

    #[test]
    fn a_supplier_order_in_another_currency_with_its_rate_is_converted_and_counted_in() {
        let scenario = scenario();
        let mut order = scenario.orders[3].clone();
        let mut charged_in_euros = supplier_order(&order, scenario.second, &[0], 500, usd_minor(1_000), HOUR);
        charged_in_euros.actual_cost = Some(Money::new(950, eur()));
        // 9.50 EUR at 1.1 = 10.45 USD.
        charged_in_euros.cost_rate = Some(dropline_domain::ledger::RateUsed {
            rate: dropline_domain::ledger::Rate {
                from: eur(),
                to: usd(),
                per_million: 1_100_000,
                as_of: order.placed_at,
            },
            effective_on: order.placed_at.date(),
            charged: false,
        });
        order.supplier_orders = vec![charged_in_euros];
        let mut builder = BreakdownBuilder::new(BreakdownBy::Supplier, usd(), fees(), HashMap::new());
        builder.add(&order);
        let (total, groups, left_out) = builder.finish();
        assert_eq!(left_out, 0);
        let second = group(&groups, &supplier(Some(scenario.second), None));
        assert_eq!((second.costed, second.fulfillment_cost), (1, usd_minor(1_045)));
        assert_eq!(total.costs, usd_minor(1_145));
    }

    #[test]
    fn a_failed_over_line_belongs_to_its_live_supplier_and_a_reshipment_to_its_supplier() {
        let scenario = scenario();
        let mut order = scenario.orders[1].clone();
        // The first supplier refused (nothing charged); the third took the line, then
        // shipped it twice (the second parcel a re-shipment at 9.00).
        let third = SupplierId::new();
        order.supplier_orders[0].placement.failure = Some(dropline_domain::placement::SupplierFailure {
            kind: dropline_domain::placement::FailureKind::Rejected,
            detail: "no stock".into(),
            at: RECEIVED,
        });
        let taken = supplier_order(&order, third, &[0], 1_100, usd_minor(1_300), 4 * HOUR);
        let reshipped = supplier_order(&order, third, &[0], 900, usd_minor(900), 30 * HOUR);
        order.supplier_orders.extend([taken, reshipped]);
        order.after_sale = Default::default();
        let mut builder = BreakdownBuilder::new(BreakdownBy::Supplier, usd(), fees(), HashMap::new());
        builder.add(&order);
        let (total, groups, _) = builder.finish();
        assert_eq!(groups.len(), 1, "{groups:#?}");
        let at_third = group(&groups, &supplier(Some(third), None));
        assert_eq!(at_third.costs, usd_minor(1_300 + 900 + 100));
        assert_eq!(at_third.revenue, usd_minor(3_000));
        assert_eq!((at_third.costed, at_third.cost_per_order), (1, Some(usd_minor(2_200))));
        // Processing runs to the first request of the supplier that has the line.
        assert_eq!(at_third.processing, durations(1, 4 * HOUR, 4 * HOUR));
        assert_eq!(total.profit, at_third.profit);
    }

    #[test]
    fn an_order_in_another_currency_counts_without_its_money() {
        let scenario = scenario();
        let mut builder = BreakdownBuilder::new(BreakdownBy::Supplier, eur(), fees(), HashMap::new());
        for order in &scenario.orders {
            builder.add(order);
        }
        let (total, groups, _) = builder.finish();
        // In a euro store only order 3 has money: 25.00 + 5.00, fee 1.00, cost 9.00.
        assert_eq!((total.orders, total.orders_left_out), (4, 3));
        assert_eq!(
            (total.revenue, total.costs),
            (Money::new(3_000, eur()), Money::new(1_000, eur()))
        );
        let first = group(&groups, &supplier(Some(scenario.first), None));
        assert_eq!(first.profit, Money::new(2_000, eur()));
        assert_eq!((first.orders, first.orders_left_out), (3, 2));
    }

    #[test]
    fn builders_of_parts_merge_into_the_builder_of_the_whole() {
        let scenario = scenario();
        for by in BreakdownBy::ALL {
            let whole = build(&scenario, by);
            for split in 0..=scenario.orders.len() {
                let mut first = BreakdownBuilder::new(by, usd(), fees(), scenario.products.clone());
                let mut second = BreakdownBuilder::new(by, usd(), fees(), scenario.products.clone());
                for (index, order) in scenario.orders.iter().enumerate() {
                    if index < split {
                        first.add(order);
                    } else {
                        second.add(order);
                    }
                }
                // The later part first: the percentiles must not depend on the order.
                second.merge(first);
                assert_eq!(second.finish(), whole, "{by} split at {split}");
            }
        }
    }

    #[test]
    fn groupings_have_names() {
        assert_eq!(BreakdownBy::parse("lane"), Some(BreakdownBy::Lane));
        assert_eq!(BreakdownBy::parse("Lane"), None);
        for by in BreakdownBy::ALL {
            assert_eq!(BreakdownBy::parse(&by.to_string()), Some(by));
        }
    }
}
