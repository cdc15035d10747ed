//! Routing: choosing the supplier for every line.
//!
//! [`route_order`] is a pure function of (order, offers, suppliers, lane statistics, policy)
//! to a [`RoutePlan`]: for every shippable line it picks one offer among the variant's offers
//! that can serve it, then puts the lines that end on the same supplier into one planned
//! supplier order. A line no offer can serve is not an error: it is listed in
//! [`RoutePlan::unroutable`] with the [`HoldReason`] the order goes on hold for and an
//! explanation for the seller, so nothing fails silently.
//!
//! Rules every policy shares:
//!
//! - An offer is a candidate for a line when its supplier is known, it has a shipping method to
//!   the destination ([`Offer::shipping_to`]), its shipping is priced in the currency of its unit
//!   cost, and it has stock for the line's quantity plus the units earlier lines of the same
//!   plan already took from it.
//! - Landed cost of a line = (unit cost + shipping cost of one unit) × quantity, because
//!   [`ShippingMethod::cost`] is per unit.
//! - Currencies are never converted here (that comes later). Costs are compared only within one
//!   *comparison currency* per line: the order currency when a candidate is priced in it, else
//!   the currency most candidates use (ties: the lowest ISO code). A candidate in another
//!   currency loses every cost comparison to one in the comparison currency and scores zero
//!   margin; among themselves such candidates compare by currency code, then amount.
//! - Ties are broken by priority (primary first), then lower landed cost, then offer id, so the
//!   same input always gives the same plan, whatever the order of the offers.
//! - No floating point: the weighted score is integer arithmetic.
//!
//! Two tiers and a failover list sit on top of the policy:
//!
//! - **Own warehouse first** ([`RoutingContext::prefer_own_warehouse`]): when a candidate of a
//!   line is an offer of a [`SupplierKind::Warehouse`] supplier with a *known* stock count that
//!   covers the line (after earlier lines), only such candidates compete and the policy picks
//!   among them; otherwise every candidate competes exactly as without the preference.
//! - **Exclusions** ([`RoutingContext::excluded_offers`]): offers that already failed for this
//!   order (rejected, out of stock, cannot ship, missed the deadline) are never candidates, so a
//!   re-route lands on the next offer.
//! - **Some lines only** ([`RoutingContext::only_lines`]): a re-route plans the failed lines and
//!   leaves the others out of the plan.

use crate::catalog::{Offer, OfferPriority, RoutingPolicy, RoutingWeights, ShippingMethod, Supplier, SupplierKind};
use crate::ids::{LineItemId, OfferId, SupplierId, VariantId};
use crate::money::{Currency, Money};
use crate::order::{LineItem, Order};
use crate::state::HoldReason;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// What dropline measured on one supplier × destination lane, from past deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneStats {
    /// The supplier shipping on the lane.
    pub supplier_id: SupplierId,
    /// Destination, ISO 3166-1 alpha-2 (compared case-insensitively).
    pub country: String,
    /// Median days from hand-over to the carrier until delivery; the supplier's processing
    /// days are added on top, as they are to an offer's stated days.
    #[serde(default)]
    pub measured_days: Option<u32>,
    /// Share of parcels delivered by the promised date, per mille (0..=1000).
    #[serde(default)]
    pub on_time_per_mille: Option<u32>,
}

/// Everything routing chooses from, and how. Borrowed, so callers keep their catalogue.
///
/// When a supplier or a lane appears twice, the first one counts.
#[derive(Clone, Copy, Debug)]
pub struct RoutingContext<'a> {
    /// The store's offers; each line only looks at those of its variant.
    pub offers: &'a [Offer],
    /// The suppliers the offers refer to. An offer whose supplier is missing is not used:
    /// a supplier order needs the supplier's name and kind.
    pub suppliers: &'a [Supplier],
    /// Lane statistics; only those of the destination are read.
    pub lanes: &'a [LaneStats],
    /// The seller's policy for these lines.
    pub policy: RoutingPolicy,
    /// Used by [`RoutingPolicy::Weighted`] only.
    pub weights: RoutingWeights,
    /// Hybrid model: serve a line from the seller's own stock when possible. On by default:
    /// callers pass `true` unless the seller turned the preference off. On, a line goes to an
    /// offer of a [`SupplierKind::Warehouse`] supplier that ships to the destination and whose
    /// **known** stock covers the line, counting the units earlier lines of the same plan
    /// took, whatever the policy; the policy only decides among several such warehouse offers.
    /// When no warehouse offer qualifies, every candidate (dropshipping offers and warehouse
    /// offers of unknown stock) competes by the policy exactly as with the preference off.
    ///
    /// A warehouse offer with unknown stock (`stock: None`) does not qualify for the preference:
    /// a warehouse is the seller's own inventory, so a missing count means nobody counted, not
    /// "the supplier has plenty", and sending the line there on trust would leave it unpicked
    /// while a dropshipping supplier could have shipped it. Such an offer keeps the ordinary
    /// meaning of unknown stock ([`Offer::has_stock`]: available) and competes like any offer
    /// when no stocked warehouse can serve the line.
    ///
    /// Off, warehouse offers are ordinary offers and the policy alone decides.
    pub prefer_own_warehouse: bool,
    /// Offers never to be chosen in this plan: those that already failed for the order (the
    /// supplier rejected the lines, was out of stock, could not ship to the destination or
    /// missed its processing deadline), so a re-route fails over to the next offer. An excluded
    /// offer is skipped like an offer without stock, and takes precedence over every other
    /// reason to skip it in the explanation. Empty for a first routing.
    ///
    /// A line whose every offer is excluded is [`Unroutable`] with [`HoldReason::NoRoute`]: the
    /// offers failed for reasons routing cannot see and stay excluded for this plan, so no
    /// restock of theirs releases the line; the seller has to map another offer or override.
    /// When some other offer of the line ships there but lacks stock, the reason is
    /// [`HoldReason::OutOfStock`] as usual, since a restock of that offer would serve it.
    pub excluded_offers: &'a [OfferId],
    /// When set, only the order's lines with these ids are routed (the lines being re-routed
    /// after a failover); every other line is left out of the plan entirely, neither planned nor
    /// [`Unroutable`], and takes no stock from any offer. Ids of lines that are not in the order,
    /// or that need no shipping, are ignored. `None` routes every shippable line.
    ///
    /// The caller passes stock net of what the lines left alone already took from suppliers.
    pub only_lines: Option<&'a [LineItemId]>,
}

/// One line as routing planned it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedLine {
    /// The order line.
    pub line_item_id: LineItemId,
    /// The line's catalogue variant.
    pub variant_id: VariantId,
    /// The chosen offer, which names the supplier's SKU and product page.
    pub offer_id: OfferId,
    /// The line's quantity: a line is never split between suppliers.
    pub quantity: u32,
    /// The offer's cost of one unit, in the offer's currency.
    pub unit_cost: Money,
    /// The supplier's name of the shipping method to the destination.
    pub shipping_method: String,
    /// Shipping for the whole line: the method's per-unit cost × quantity.
    pub shipping_cost: Money,
    /// Units plus shipping for the whole line.
    pub landed_cost: Money,
    /// The method's stated fewest transit days (processing days not included).
    pub min_days: u32,
    /// The method's stated most transit days (processing days not included).
    pub max_days: u32,
}

/// The lines that will be bought from one supplier: one future supplier order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSupplierOrder {
    /// Who ships the group.
    pub supplier_id: SupplierId,
    /// Copied so the supplier order can be created from the plan alone.
    pub supplier_name: String,
    /// How the supplier is reached, copied for the same reason.
    pub supplier_kind: SupplierKind,
    /// In the order of the order's lines.
    pub lines: Vec<PlannedLine>,
    /// Sum of the lines' landed costs: what the supplier is expected to charge.
    pub expected_cost: Money,
    /// The shipping method when every line uses the same one; `None` when they differ, and
    /// then each line names its own.
    pub shipping_method: Option<String>,
}

/// A line no offer can serve, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unroutable {
    /// The order line that cannot be served.
    pub line_item_id: LineItemId,
    /// [`HoldReason::OutOfStock`] when some offer that is not excluded ships to the destination
    /// but none has the stock; [`HoldReason::NoRoute`] otherwise (no variant, no offer, none
    /// ships there, every offer excluded after failing: see
    /// [`RoutingContext::excluded_offers`]).
    pub reason: HoldReason,
    /// For the seller: what was tried and what stopped each offer.
    pub explanation: String,
}

/// The result of routing an order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePlan {
    /// One per supplier (and per currency that supplier charges in), in the order the
    /// supplier first appears among the order's lines.
    pub groups: Vec<PlannedSupplierOrder>,
    /// Shippable lines no offer can serve, in line order. Lines that need no shipping appear
    /// in neither list.
    pub unroutable: Vec<Unroutable>,
}

impl RoutePlan {
    /// The distinct reasons the order must wait, in [`HoldReason`] declaration order; empty
    /// when every shippable line is planned.
    pub fn hold_reasons(&self) -> Vec<HoldReason> {
        HoldReason::ALL
            .iter()
            .copied()
            .filter(|reason| self.unroutable.iter().any(|u| u.reason == *reason))
            .collect()
    }

    /// Whether every shippable line found an offer.
    pub fn is_complete(&self) -> bool {
        self.unroutable.is_empty()
    }
}

/// Why routing could not produce a plan: only amounts beyond `i64` minor units, which means
/// corrupt catalogue data rather than a routing decision.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// (Unit cost + shipping) × quantity of one candidate offer does not fit.
    #[error("the cost of line {line_item_id} through offer {offer_id} overflows")]
    LineCostOverflow {
        line_item_id: LineItemId,
        offer_id: OfferId,
    },
    /// The sum of the lines planned at one supplier does not fit.
    #[error("the expected cost of the supplier order at {supplier_id} overflows")]
    SupplierOrderCostOverflow { supplier_id: SupplierId },
}

/// Routes an order's shippable lines to its shipping address.
pub fn route_order(order: &Order, context: &RoutingContext<'_>) -> Result<RoutePlan, RoutingError> {
    route_lines(
        &order.shipping_address.country_code,
        order.currency,
        order.shippable_lines(),
        context,
    )
}

/// Routes lines to a destination country; [`route_order`] for callers that hold no [`Order`]
/// (a what-if in the dashboard). Lines that need no shipping or have no quantity are ignored,
/// as in [`Order::shippable_lines`], and so are lines outside [`RoutingContext::only_lines`]
/// when it is set.
pub fn route_lines<'l>(
    destination_country: &str,
    order_currency: Currency,
    lines: impl IntoIterator<Item = &'l LineItem>,
    context: &RoutingContext<'_>,
) -> Result<RoutePlan, RoutingError> {
    let routing = Routing::new(destination_country, order_currency, context);

    // Units earlier lines took from an offer, so two lines never count the same stock twice.
    // At most one entry per line: a vector is enough.
    let mut reserved: Vec<(OfferId, u32)> = Vec::new();
    let mut plan = RoutePlan::default();
    let only_lines = context.only_lines;
    for line in lines
        .into_iter()
        .filter(|l| l.requires_shipping && l.quantity_to_ship() > 0 && only_lines.is_none_or(|ids| ids.contains(&l.id)))
    {
        match routing.choose(line, &reserved)? {
            Choice::Offer(chosen) => {
                match reserved.iter_mut().find(|(id, _)| *id == chosen.offer.id) {
                    Some((_, taken)) => *taken += line.quantity_to_ship(),
                    None => reserved.push((chosen.offer.id, line.quantity_to_ship())),
                }
                add_to_group(&mut plan.groups, line, &chosen)?;
            }
            Choice::Unroutable(unroutable) => plan.unroutable.push(unroutable),
        }
    }
    Ok(plan)
}

/// The per-route lookups, built once so every line reuses them.
struct Routing<'a, 'c> {
    destination_country: &'a str,
    order_currency: Currency,
    context: &'a RoutingContext<'c>,
    /// Sorted by id.
    suppliers: Vec<&'c Supplier>,
    /// The destination's lanes, sorted by supplier.
    lanes: Vec<&'c LaneStats>,
}

/// An offer that can serve a line, with what the policies compare.
struct Candidate<'c> {
    offer: &'c Offer,
    supplier: &'c Supplier,
    method: &'c ShippingMethod,
    shipping_cost: Money,
    landed_cost: Money,
    /// Lane (else stated maximum) transit days plus processing days.
    days: u32,
    on_time_per_mille: Option<u32>,
    /// Weighted policy only; zero otherwise.
    score: u64,
}

/// What routing decided for one line.
enum Choice<'c> {
    Offer(Candidate<'c>),
    Unroutable(Unroutable),
}

/// Why offers of a line were passed over, for the explanation of an unroutable line.
#[derive(Default)]
struct Skipped {
    /// In [`RoutingContext::excluded_offers`].
    excluded: usize,
    unknown_supplier: usize,
    no_shipping: usize,
    mixed_currency: usize,
    out_of_stock: usize,
    /// The most units any out-of-stock offer still had.
    most_available: u32,
}

impl<'a, 'c> Routing<'a, 'c> {
    fn new(destination_country: &'a str, order_currency: Currency, context: &'a RoutingContext<'c>) -> Self {
        // Sorted slices rather than hash maps: a few dozen suppliers are searched faster than
        // hashed, and a stable sort keeps the first of duplicates first.
        let mut suppliers: Vec<&Supplier> = context.suppliers.iter().collect();
        suppliers.sort_by_key(|s| s.id);
        let mut lanes: Vec<&LaneStats> = context
            .lanes
            .iter()
            .filter(|l| l.country.eq_ignore_ascii_case(destination_country))
            .collect();
        lanes.sort_by_key(|l| l.supplier_id);
        Self {
            destination_country,
            order_currency,
            context,
            suppliers,
            lanes,
        }
    }

    fn supplier(&self, id: SupplierId) -> Option<&'c Supplier> {
        first_with_key(&self.suppliers, id, |s| s.id)
    }

    /// The best candidate of a line, or why there is none.
    fn choose(&self, line: &LineItem, reserved: &[(OfferId, u32)]) -> Result<Choice<'c>, RoutingError> {
        let unroutable = |reason, explanation| {
            Ok(Choice::Unroutable(Unroutable {
                line_item_id: line.id,
                reason,
                explanation,
            }))
        };
        let Some(variant_id) = line.variant_id else {
            return unroutable(
                HoldReason::NoRoute,
                format!(
                    "line '{}' is not mapped to a catalogue variant, so no supplier offer applies",
                    line.sku
                ),
            );
        };

        let mut offers = 0;
        let mut skipped = Skipped::default();
        let mut candidates = Vec::new();
        for offer in self.context.offers.iter().filter(|o| o.variant_id == variant_id) {
            offers += 1;
            if self.context.excluded_offers.contains(&offer.id) {
                skipped.excluded += 1;
                continue;
            }
            let Some(supplier) = self.supplier(offer.supplier_id) else {
                skipped.unknown_supplier += 1;
                continue;
            };
            let Some(method) = offer.shipping_to(self.destination_country) else {
                skipped.no_shipping += 1;
                continue;
            };
            if method.cost.currency != offer.unit_cost.currency {
                skipped.mixed_currency += 1;
                continue;
            }
            let taken = reserved
                .iter()
                .find(|(id, _)| *id == offer.id)
                .map_or(0, |(_, taken)| *taken);
            // A sum beyond u32 is more than any stock can hold.
            if !taken
                .checked_add(line.quantity_to_ship())
                .is_some_and(|needed| offer.has_stock(needed))
            {
                skipped.out_of_stock += 1;
                let available = offer.stock.unwrap_or(0).saturating_sub(taken);
                skipped.most_available = skipped.most_available.max(available);
                continue;
            }
            candidates.push(self.candidate(line, offer, supplier, method)?);
        }

        if offers == 0 {
            return unroutable(
                HoldReason::NoRoute,
                format!("variant {variant_id} of line '{}' has no supplier offer", line.sku),
            );
        }
        if self.context.prefer_own_warehouse && candidates.iter().any(is_stocked_warehouse) {
            candidates.retain(is_stocked_warehouse);
        }
        let comparison = comparison_currency(&candidates, self.order_currency);
        if self.context.policy == RoutingPolicy::Weighted {
            score_weighted(&mut candidates, comparison, self.context.weights);
        }
        let policy = self.context.policy;
        match candidates.into_iter().min_by(|a, b| compare(policy, comparison, a, b)) {
            Some(best) => Ok(Choice::Offer(best)),
            None => {
                // Out of stock only when stock is what stands in the way: some offer ships there.
                // Excluded offers failed for reasons routing cannot see: they never make it so.
                let reason = if skipped.out_of_stock > 0 {
                    HoldReason::OutOfStock
                } else {
                    HoldReason::NoRoute
                };
                unroutable(reason, self.explain(line, offers, &skipped))
            }
        }
    }

    fn candidate(
        &self,
        line: &LineItem,
        offer: &'c Offer,
        supplier: &'c Supplier,
        method: &'c ShippingMethod,
    ) -> Result<Candidate<'c>, RoutingError> {
        let overflow = || RoutingError::LineCostOverflow {
            line_item_id: line.id,
            offer_id: offer.id,
        };
        let shipping_cost = method
            .cost
            .checked_mul(line.quantity_to_ship())
            .map_err(|_| overflow())?;
        let landed_cost = offer
            .unit_cost
            .checked_add(method.cost)
            .and_then(|per_unit| per_unit.checked_mul(line.quantity_to_ship()))
            .map_err(|_| overflow())?;
        let lane = first_with_key(&self.lanes, supplier.id, |l| l.supplier_id);
        let transit_days = lane.and_then(|l| l.measured_days).unwrap_or(method.max_days);
        Ok(Candidate {
            offer,
            supplier,
            method,
            shipping_cost,
            landed_cost,
            days: transit_days.saturating_add(supplier.processing_days),
            on_time_per_mille: lane.and_then(|l| l.on_time_per_mille),
            score: 0,
        })
    }

    fn explain(&self, line: &LineItem, offers: usize, skipped: &Skipped) -> String {
        let country = self.destination_country;
        let mut causes = Vec::new();
        if skipped.excluded > 0 {
            causes.push(format!(
                "{} were excluded after failing for this order (rejected, out of stock, \
                 could not ship or missed the deadline)",
                skipped.excluded
            ));
        }
        if skipped.out_of_stock > 0 {
            causes.push(format!(
                "{} ship to {country} but lack stock for {} unit(s) (at most {} available)",
                skipped.out_of_stock,
                line.quantity_to_ship(),
                skipped.most_available
            ));
        }
        if skipped.no_shipping > 0 {
            causes.push(format!("{} have no shipping method to {country}", skipped.no_shipping));
        }
        if skipped.mixed_currency > 0 {
            causes.push(format!(
                "{} price shipping in another currency than the goods",
                skipped.mixed_currency
            ));
        }
        if skipped.unknown_supplier > 0 {
            causes.push(format!("{} belong to an unknown supplier", skipped.unknown_supplier));
        }
        format!(
            "no offer can supply {} × '{}' to {country}: of {offers} offer(s), {}",
            line.quantity_to_ship(),
            line.sku,
            causes.join("; ")
        )
    }
}

/// Whether a candidate qualifies for [`RoutingContext::prefer_own_warehouse`]: the seller's
/// warehouse with a known count. Candidates already have the stock for the line, so a known
/// count is enough; an unknown one is not trusted.
fn is_stocked_warehouse(candidate: &Candidate<'_>) -> bool {
    candidate.supplier.kind == SupplierKind::Warehouse && candidate.offer.stock.is_some()
}

/// The currency costs are compared in: the order's when a candidate uses it (margins are
/// then real), else the most used one, ties to the lowest code so the input order never
/// matters.
fn comparison_currency(candidates: &[Candidate<'_>], order_currency: Currency) -> Currency {
    if candidates.iter().any(|c| c.landed_cost.currency == order_currency) {
        return order_currency;
    }
    let mut counts: Vec<(Currency, usize)> = Vec::new();
    for candidate in candidates {
        let currency = candidate.landed_cost.currency;
        match counts.iter_mut().find(|(c, _)| *c == currency) {
            Some((_, count)) => *count += 1,
            None => counts.push((currency, 1)),
        }
    }
    counts
        .into_iter()
        .max_by(|(a, a_count), (b, b_count)| a_count.cmp(b_count).then_with(|| b.code().cmp(a.code())))
        .map_or(order_currency, |(currency, _)| currency)
}

/// The first of a sorted slice's items with `key`.
fn first_with_key<T: Copy, K: Ord>(sorted: &[T], key: K, key_of: impl Fn(&T) -> K) -> Option<T> {
    let index = sorted.partition_point(|item| key_of(item) < key);
    sorted.get(index).copied().filter(|item| key_of(item) == key)
}

/// Orders landed costs: the comparison currency first, then by currency code and amount.
fn compare_cost(a: &Candidate<'_>, b: &Candidate<'_>, comparison: Currency) -> Ordering {
    let (a, b) = (a.landed_cost, b.landed_cost);
    // Nearly always one currency: skip the code lookup then.
    if a.currency == b.currency {
        return a.minor.cmp(&b.minor);
    }
    (a.currency != comparison, a.currency.code(), a.minor).cmp(&(b.currency != comparison, b.currency.code(), b.minor))
}

fn priority_rank(priority: OfferPriority) -> u8 {
    match priority {
        OfferPriority::Primary => 0,
        OfferPriority::Backup => 1,
    }
}

/// `Less` means `a` is the better choice.
fn compare(policy: RoutingPolicy, comparison: Currency, a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    let tie_break = || {
        priority_rank(a.offer.priority)
            .cmp(&priority_rank(b.offer.priority))
            .then_with(|| compare_cost(a, b, comparison))
            .then_with(|| a.offer.id.cmp(&b.offer.id))
    };
    let first = match policy {
        RoutingPolicy::CheapestLanded => compare_cost(a, b, comparison),
        RoutingPolicy::Fastest => a.days.cmp(&b.days),
        RoutingPolicy::BestRated => b.supplier.rating.cmp(&a.supplier.rating),
        // Candidates already can serve the line, so a backup only wins when no primary can.
        RoutingPolicy::PrimaryThenBackup => Ordering::Equal,
        RoutingPolicy::Weighted => b.score.cmp(&a.score),
    };
    first.then_with(tie_break)
}

/// The best possible normalized component.
const FULL_MARKS: i128 = 1000;

/// Scales `value` from `min..=max` onto 0..=1000, higher meaning better. When all candidates
/// are equal the component cannot separate them, so everyone gets full marks.
fn normalize(value: i128, min: i128, max: i128) -> u64 {
    if max <= min {
        return FULL_MARKS as u64;
    }
    u64::try_from((value - min) * FULL_MARKS / (max - min)).unwrap_or(0)
}

/// Normalizes each of `values` among the present ones; absent values score zero.
fn normalize_all(values: &[Option<i128>]) -> Vec<u64> {
    let present = values.iter().flatten();
    let (Some(min), Some(max)) = (present.clone().min().copied(), present.max().copied()) else {
        return vec![0; values.len()];
    };
    values.iter().map(|v| v.map_or(0, |v| normalize(v, min, max))).collect()
}

/// Sets the weighted score of every candidate: margin, speed, rating and on-time rate, each
/// normalized among the line's candidates to 0..=1000, times its weight.
///
/// Margin is line price minus landed cost; the price is the same for every candidate of a
/// line, so its normalized value is the normalized *inverse landed cost*, which is what is
/// computed (it needs no price in the offers' currency). Candidates outside the comparison
/// currency cannot be compared and score zero margin.
///
/// A lane without an on-time measurement counts as the mean of the measured candidates:
/// neither rewarded nor punished for being new.
fn score_weighted(candidates: &mut [Candidate<'_>], comparison: Currency, weights: RoutingWeights) {
    let margins: Vec<Option<i128>> = candidates
        .iter()
        .map(|c| (c.landed_cost.currency == comparison).then(|| -i128::from(c.landed_cost.minor)))
        .collect();
    let speeds: Vec<Option<i128>> = candidates.iter().map(|c| Some(-i128::from(c.days))).collect();
    let ratings: Vec<Option<i128>> = candidates.iter().map(|c| Some(i128::from(c.supplier.rating))).collect();
    let measured: Vec<i128> = candidates
        .iter()
        .filter_map(|c| c.on_time_per_mille.map(i128::from))
        .collect();
    let on_time_mean = match i128::try_from(measured.len()) {
        Ok(count) if count > 0 => measured.iter().sum::<i128>() / count,
        _ => 0,
    };
    let on_times: Vec<Option<i128>> = candidates
        .iter()
        .map(|c| Some(c.on_time_per_mille.map_or(on_time_mean, i128::from)))
        .collect();

    let components = [
        (weights.margin, normalize_all(&margins)),
        (weights.speed, normalize_all(&speeds)),
        (weights.rating, normalize_all(&ratings)),
        (weights.on_time, normalize_all(&on_times)),
    ];
    for (index, candidate) in candidates.iter_mut().enumerate() {
        // At most 4 × u32::MAX × 1000: far inside u64.
        candidate.score = components
            .iter()
            .map(|(weight, marks)| u64::from(*weight) * marks[index])
            .sum();
    }
}

/// Puts a chosen line into its supplier's group. A supplier pricing lines in two currencies
/// gets two groups, because one supplier order has one expected cost in one currency.
fn add_to_group(
    groups: &mut Vec<PlannedSupplierOrder>,
    line: &LineItem,
    chosen: &Candidate<'_>,
) -> Result<(), RoutingError> {
    let planned = PlannedLine {
        line_item_id: line.id,
        variant_id: chosen.offer.variant_id,
        offer_id: chosen.offer.id,
        quantity: line.quantity_to_ship(),
        unit_cost: chosen.offer.unit_cost,
        shipping_method: chosen.method.name.clone(),
        shipping_cost: chosen.shipping_cost,
        landed_cost: chosen.landed_cost,
        min_days: chosen.method.min_days,
        max_days: chosen.method.max_days,
    };
    let supplier = chosen.supplier;
    let currency = chosen.landed_cost.currency;
    let existing = groups
        .iter_mut()
        .find(|g| g.supplier_id == supplier.id && g.expected_cost.currency == currency);
    match existing {
        Some(group) => {
            group.expected_cost = group.expected_cost.checked_add(planned.landed_cost).map_err(|_| {
                RoutingError::SupplierOrderCostOverflow {
                    supplier_id: supplier.id,
                }
            })?;
            if group.shipping_method.as_deref() != Some(planned.shipping_method.as_str()) {
                group.shipping_method = None;
            }
            group.lines.push(planned);
        }
        None => groups.push(PlannedSupplierOrder {
            supplier_id: supplier.id,
            supplier_name: supplier.name.clone(),
            supplier_kind: supplier.kind,
            expected_cost: planned.landed_cost,
            shipping_method: Some(planned.shipping_method.clone()),
            lines: vec![planned],
        }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{Address, Customer};
    use crate::ids::{OrderId, StoreId};
    use crate::state::{OrderState, PaymentState};
    use proptest::prelude::*;
    use std::collections::HashMap;
    use uuid::Uuid;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn eur() -> Currency {
        Currency::parse("EUR").expect("EUR")
    }

    fn supplier_id(n: u128) -> SupplierId {
        SupplierId(Uuid::from_u128(n))
    }

    fn offer_id(n: u128) -> OfferId {
        OfferId(Uuid::from_u128(n))
    }

    fn variant_id(n: u128) -> VariantId {
        VariantId(Uuid::from_u128(n))
    }

    fn line_id(n: u128) -> LineItemId {
        LineItemId(Uuid::from_u128(n))
    }

    fn supplier(n: u128, rating: u32, processing_days: u32) -> Supplier {
        Supplier {
            last_stock_sync: None,
            id: supplier_id(n),
            store_id: StoreId(Uuid::from_u128(1)),
            name: format!("Supplier {n}"),
            kind: SupplierKind::Cj,
            ships_from: None,
            processing_days,
            rating,
            processing_deadline_days: None,
            connection: Default::default(),
            last_reconciliation: None,
            agent_layout: None,
            return_policy: Default::default(),
        }
    }

    fn method(country: &str, cost: Money, max_days: u32) -> ShippingMethod {
        ShippingMethod {
            country: country.into(),
            name: format!("Standard {country}"),
            cost,
            min_days: max_days / 2,
            max_days,
        }
    }

    /// A primary USD offer shipping to the US, with unknown (so available) stock.
    fn offer(n: u128, variant: u128, supplier: u128, unit_cost: i64, shipping_cost: i64, max_days: u32) -> Offer {
        Offer {
            units: 1,
            id: offer_id(n),
            variant_id: variant_id(variant),
            supplier_id: supplier_id(supplier),
            supplier_sku: format!("SUP-{n}"),
            supplier_product_id: None,
            supplier_variant_id: None,
            product_url: None,
            unit_cost: Money::new(unit_cost, usd()),
            stock: None,
            shipping: vec![method("US", Money::new(shipping_cost, usd()), max_days)],
            priority: OfferPriority::Primary,
        }
    }

    fn backup(offer: Offer) -> Offer {
        Offer {
            priority: OfferPriority::Backup,
            ..offer
        }
    }

    fn line(n: u128, variant: Option<u128>, quantity: u32) -> LineItem {
        LineItem {
            offer_override: None,
            id: line_id(n),
            external_id: None,
            variant_id: variant.map(variant_id),
            sku: format!("SKU-{n}"),
            title: format!("Item {n}"),
            variant_title: None,
            quantity,
            unit_price: Money::new(5000, usd()),
            requires_shipping: true,
            platform_product_id: None,
            platform_variant_id: None,
            fulfillable_quantity: None,
        }
    }

    fn lane(supplier: u128, measured_days: Option<u32>, on_time_per_mille: Option<u32>) -> LaneStats {
        LaneStats {
            supplier_id: supplier_id(supplier),
            country: "US".into(),
            measured_days,
            on_time_per_mille,
        }
    }

    /// Four suppliers and four offers of variant 1 where every policy picks another offer:
    ///
    /// | offer | supplier (rating, processing) | priority | landed | days | on time |
    /// | 1     | 1 (60, 1)                     | primary  | 1500   | 21   | 990     |
    /// | 2     | 2 (80, 3)                     | backup   | 1300   | 18   | 900     |
    /// | 3     | 3 (50, 0)                     | backup   | 1900   | 12   | 800     |
    /// | 4     | 4 (99, 2)                     | backup   | 1700   | 18   | unknown |
    struct Fixture {
        offers: Vec<Offer>,
        suppliers: Vec<Supplier>,
        lanes: Vec<LaneStats>,
    }

    fn fixture() -> Fixture {
        Fixture {
            offers: vec![
                offer(1, 1, 1, 1000, 500, 20),
                backup(offer(2, 1, 2, 1200, 100, 15)),
                backup(offer(3, 1, 3, 1500, 400, 12)),
                backup(offer(4, 1, 4, 1400, 300, 16)),
            ],
            suppliers: vec![
                supplier(1, 60, 1),
                supplier(2, 80, 3),
                supplier(3, 50, 0),
                supplier(4, 99, 2),
            ],
            lanes: vec![
                lane(1, None, Some(990)),
                lane(2, None, Some(900)),
                lane(3, None, Some(800)),
            ],
        }
    }

    impl Fixture {
        fn context(&self, policy: RoutingPolicy, weights: RoutingWeights) -> RoutingContext<'_> {
            RoutingContext {
                offers: &self.offers,
                suppliers: &self.suppliers,
                lanes: &self.lanes,
                policy,
                weights,
                prefer_own_warehouse: true,
                excluded_offers: &[],
                only_lines: None,
            }
        }

        fn route(&self, policy: RoutingPolicy, lines: &[LineItem]) -> RoutePlan {
            self.route_weighted(policy, RoutingWeights::default(), lines)
        }

        fn route_weighted(&self, policy: RoutingPolicy, weights: RoutingWeights, lines: &[LineItem]) -> RoutePlan {
            route_lines("US", usd(), lines, &self.context(policy, weights)).expect("no overflow")
        }
    }

    /// The offer chosen for each line, in plan order.
    fn chosen(plan: &RoutePlan) -> Vec<OfferId> {
        plan.groups
            .iter()
            .flat_map(|g| g.lines.iter().map(|l| l.offer_id))
            .collect()
    }

    /// Routes one line of variant 1 and checks the chosen offer.
    fn check(fixture: &Fixture, policy: RoutingPolicy, weights: RoutingWeights, expected_offer: u128) {
        let plan = fixture.route_weighted(policy, weights, &[line(1, Some(1), 1)]);
        assert_eq!(
            chosen(&plan),
            vec![offer_id(expected_offer)],
            "{policy} with {weights:?}: {plan:#?}"
        );
        assert!(plan.is_complete());
    }

    /// Routes lines of the fixture with its context changed by `adjust`.
    fn route_with<'f>(
        fixture: &'f Fixture,
        policy: RoutingPolicy,
        weights: RoutingWeights,
        lines: &[LineItem],
        adjust: impl FnOnce(&mut RoutingContext<'f>),
    ) -> RoutePlan {
        let mut context = fixture.context(policy, weights);
        adjust(&mut context);
        route_lines("US", usd(), lines, &context).expect("no overflow")
    }

    /// [`check`] with the context changed by `adjust`.
    fn check_with<'f>(
        fixture: &'f Fixture,
        policy: RoutingPolicy,
        weights: RoutingWeights,
        adjust: impl FnOnce(&mut RoutingContext<'f>),
        expected_offer: u128,
    ) {
        let plan = route_with(fixture, policy, weights, &[line(1, Some(1), 1)], adjust);
        assert_eq!(
            chosen(&plan),
            vec![offer_id(expected_offer)],
            "{policy} with {weights:?}: {plan:#?}"
        );
        assert!(plan.is_complete());
    }

    /// (line, chosen offer) of every planned line, in line id order.
    fn planned_lines(plan: &RoutePlan) -> Vec<(LineItemId, OfferId)> {
        let mut planned: Vec<(LineItemId, OfferId)> = plan
            .groups
            .iter()
            .flat_map(|g| g.lines.iter().map(|l| (l.line_item_id, l.offer_id)))
            .collect();
        planned.sort();
        planned
    }

    fn weights(margin: u32, speed: u32, rating: u32, on_time: u32) -> RoutingWeights {
        RoutingWeights {
            margin,
            speed,
            rating,
            on_time,
        }
    }

    /// What each policy picks in [`fixture`]: every policy another offer.
    fn fixture_choices() -> [(RoutingPolicy, RoutingWeights, u128); 10] {
        let default = RoutingWeights::default();
        [
            (RoutingPolicy::CheapestLanded, default, 2),
            (RoutingPolicy::Fastest, default, 3),
            (RoutingPolicy::BestRated, default, 4),
            (RoutingPolicy::PrimaryThenBackup, default, 1),
            // Scores: 1 = 44 700, 2 = 67 060, 3 = 30 000, 4 = 45 885.
            (RoutingPolicy::Weighted, default, 2),
            (RoutingPolicy::Weighted, weights(100, 0, 0, 0), 2),
            (RoutingPolicy::Weighted, weights(0, 100, 0, 0), 3),
            (RoutingPolicy::Weighted, weights(0, 0, 100, 0), 4),
            (RoutingPolicy::Weighted, weights(0, 0, 0, 100), 1),
            // Nothing weighs: every score is zero and the tie-break picks the primary.
            (RoutingPolicy::Weighted, weights(0, 0, 0, 0), 1),
        ]
    }

    #[test]
    fn each_policy_picks_its_offer() {
        let fixture = fixture();
        for (policy, weights, expected) in fixture_choices() {
            check(&fixture, policy, weights, expected);
        }
    }

    /// The weighted scores of the fixture's offers for one unit of variant 1, in offer order.
    fn weighted_scores(fixture: &Fixture, weights: RoutingWeights) -> Vec<u64> {
        let context = fixture.context(RoutingPolicy::Weighted, weights);
        let routing = Routing::new("US", usd(), &context);
        let line = line(1, Some(1), 1);
        let mut candidates: Vec<Candidate<'_>> = fixture
            .offers
            .iter()
            .map(|offer| {
                let supplier = routing.supplier(offer.supplier_id).expect("a known supplier");
                let method = offer.shipping_to("US").expect("ships to the US");
                routing.candidate(&line, offer, supplier, method).expect("no overflow")
            })
            .collect();
        score_weighted(&mut candidates, usd(), weights);
        candidates.iter().map(|c| c.score).collect()
    }

    #[test]
    fn weighted_scores_are_integer_sums_of_normalized_components() {
        let fixture = fixture();
        // Margin 666/1000/0/333, speed 0/333/1000/333, rating 204/612/0/1000 and on time
        // 1000/526/0/505, times 40/30/15/15.
        assert_eq!(
            weighted_scores(&fixture, RoutingWeights::default()),
            vec![44_700, 67_060, 30_000, 45_885]
        );
        // Offer 4's lane has no on-time measurement: it counts as the mean of the measured
        // ones (896), between the best (990) and the worst (800), neither rewarded nor punished.
        assert_eq!(
            weighted_scores(&fixture, weights(0, 0, 0, 100)),
            vec![100_000, 52_600, 0, 50_500]
        );
        // Every component the same for all: full marks each.
        let alike = Fixture {
            offers: vec![offer(1, 1, 1, 1000, 100, 10), offer(2, 1, 1, 1000, 100, 10)],
            ..fixture
        };
        assert_eq!(
            weighted_scores(&alike, RoutingWeights::default()),
            vec![100_000, 100_000]
        );
    }

    #[test]
    fn fastest_prefers_measured_lane_days_to_stated_days() {
        let mut fixture = fixture();
        // Supplier 1 states 20 days but delivers in 5: 5 + 1 processing day beats offer 3's 12.
        fixture.lanes[0].measured_days = Some(5);
        check(&fixture, RoutingPolicy::Fastest, RoutingWeights::default(), 1);
        // Lanes of another country are not read.
        fixture.lanes[0].country = "FR".into();
        check(&fixture, RoutingPolicy::Fastest, RoutingWeights::default(), 3);
    }

    #[test]
    fn fastest_adds_processing_days() {
        let mut fixture = fixture();
        // Offer 3 ships in 12 days but its supplier now needs 10 days to hand over: 22.
        fixture.suppliers[2].processing_days = 10;
        // Offers 2 and 4 both take 18 days; both are backups; offer 2 is cheaper.
        check(&fixture, RoutingPolicy::Fastest, RoutingWeights::default(), 2);
    }

    #[test]
    fn out_of_stock_offers_are_skipped() {
        let mut fixture = fixture();
        fixture.offers[1].stock = Some(0);
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 1);
        // Stock for fewer units than the line needs is out of stock too.
        fixture.offers[1].stock = Some(2);
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &[line(1, Some(1), 3)]);
        assert_eq!(chosen(&plan), vec![offer_id(1)]);
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &[line(1, Some(1), 2)]);
        assert_eq!(chosen(&plan), vec![offer_id(2)]);
    }

    #[test]
    fn stock_taken_by_an_earlier_line_is_not_counted_twice() {
        let mut fixture = fixture();
        fixture.offers[1].stock = Some(5);
        let plan = fixture.route(
            RoutingPolicy::CheapestLanded,
            &[line(1, Some(1), 3), line(2, Some(1), 3)],
        );
        assert_eq!(chosen(&plan), vec![offer_id(2), offer_id(1)]);
    }

    #[test]
    fn offers_that_cannot_ship_there_are_skipped() {
        let mut fixture = fixture();
        fixture.offers[1].shipping[0].country = "FR".into();
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 1);
        // A `*` method ships anywhere else, and the destination is matched case-insensitively.
        fixture.offers[1].shipping[0].country = "*".into();
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 2);
        fixture.offers[1].shipping[0].country = "us".into();
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 2);
    }

    #[test]
    fn offers_of_unknown_suppliers_or_mixed_currencies_are_skipped() {
        let mut fixture = fixture();
        fixture.suppliers.retain(|s| s.id != supplier_id(2));
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 1);
        let mut fixture = self::fixture();
        fixture.offers[1].shipping[0].cost = Money::new(100, eur());
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 1);
    }

    #[test]
    fn backup_serves_only_when_the_primary_cannot() {
        type Change = fn(&mut Offer);
        let table: [(&str, Change, u128); 4] = [
            ("primary serves", |_| {}, 1),
            ("primary out of stock", |o| o.stock = Some(0), 2),
            ("primary cannot ship there", |o| o.shipping[0].country = "FR".into(), 2),
            // Stock unknown counts as available.
            ("primary stock unknown", |o| o.stock = None, 1),
        ];
        for (case, change, expected) in table {
            let mut fixture = fixture();
            change(&mut fixture.offers[0]);
            let plan = fixture.route(RoutingPolicy::PrimaryThenBackup, &[line(1, Some(1), 1)]);
            // The cheapest backup when the primary cannot serve.
            assert_eq!(chosen(&plan), vec![offer_id(expected)], "{case}");
        }
    }

    /// Variants 1 and 2 cheapest at supplier 1, variant 3 cheapest at supplier 2.
    fn two_supplier_fixture() -> Fixture {
        Fixture {
            offers: vec![
                offer(11, 1, 1, 1000, 100, 10),
                offer(12, 1, 2, 2000, 100, 10),
                offer(21, 2, 1, 500, 50, 12),
                offer(22, 2, 2, 900, 50, 12),
                offer(31, 3, 1, 3000, 100, 10),
                offer(32, 3, 2, 2500, 100, 10),
            ],
            suppliers: vec![supplier(1, 80, 1), supplier(2, 80, 1)],
            lanes: vec![],
        }
    }

    #[test]
    fn lines_on_the_same_supplier_share_one_group() {
        let fixture = two_supplier_fixture();
        let plan = fixture.route(
            RoutingPolicy::CheapestLanded,
            &[line(1, Some(1), 2), line(2, Some(2), 1)],
        );
        assert_eq!(plan.groups.len(), 1, "{plan:#?}");
        let group = &plan.groups[0];
        assert_eq!(group.supplier_id, supplier_id(1));
        assert_eq!(group.supplier_name, "Supplier 1");
        assert_eq!(
            group.lines.iter().map(|l| l.line_item_id).collect::<Vec<_>>(),
            vec![line_id(1), line_id(2)]
        );
        // (1000 + 100) × 2 + (500 + 50) × 1
        assert_eq!(group.expected_cost, Money::new(2750, usd()));
        assert_eq!(group.lines[0].shipping_cost, Money::new(200, usd()));
        assert_eq!(group.lines[0].unit_cost, Money::new(1000, usd()));
        assert_eq!(group.lines[0].landed_cost, Money::new(2200, usd()));
        assert_eq!((group.lines[0].min_days, group.lines[0].max_days), (5, 10));
        assert_eq!(group.shipping_method.as_deref(), Some("Standard US"));
    }

    #[test]
    fn lines_on_two_suppliers_make_two_groups() {
        let fixture = two_supplier_fixture();
        let lines = [line(1, Some(3), 1), line(2, Some(1), 1), line(3, Some(2), 1)];
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &lines);
        let groups: Vec<(SupplierId, Vec<LineItemId>)> = plan
            .groups
            .iter()
            .map(|g| (g.supplier_id, g.lines.iter().map(|l| l.line_item_id).collect()))
            .collect();
        // In the order each supplier first appears among the lines.
        assert_eq!(
            groups,
            vec![
                (supplier_id(2), vec![line_id(1)]),
                (supplier_id(1), vec![line_id(2), line_id(3)])
            ]
        );
        assert_eq!(plan.groups[0].expected_cost, Money::new(2600, usd()));
        assert_eq!(plan.groups[1].expected_cost, Money::new(1650, usd()));
    }

    #[test]
    fn a_group_names_no_single_method_when_its_lines_differ() {
        let mut fixture = two_supplier_fixture();
        fixture.offers[2].shipping[0].name = "Express".into();
        let plan = fixture.route(
            RoutingPolicy::CheapestLanded,
            &[line(1, Some(1), 1), line(2, Some(2), 1)],
        );
        assert_eq!(plan.groups[0].shipping_method, None);
        assert_eq!(plan.groups[0].lines[1].shipping_method, "Express");
    }

    #[test]
    fn unroutable_lines_say_out_of_stock_or_no_route() {
        let mut fixture = fixture();
        // Variant 1: everything ships to the US, nothing has 4 units.
        for offer in &mut fixture.offers {
            offer.stock = Some(3);
        }
        fixture.offers[3].shipping[0].country = "FR".into();
        // Variant 2: only ships to France.
        let mut french = offer(5, 2, 1, 1000, 100, 10);
        french.shipping[0].country = "FR".into();
        fixture.offers.push(french);
        // Variant 3: a supplier that is not known.
        fixture.offers.push(offer(6, 3, 9, 1000, 100, 10));
        let lines = [
            line(1, Some(1), 4),
            line(2, Some(2), 1),
            line(3, None, 1),
            line(4, Some(7), 1),
            line(5, Some(3), 1),
        ];
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &lines);
        assert!(plan.groups.is_empty());
        let table: [(u128, HoldReason, &str); 5] = [
            (
                1,
                HoldReason::OutOfStock,
                "no offer can supply 4 × 'SKU-1' to US: of 4 offer(s), 3 ship to US but lack stock for 4 unit(s) \
                 (at most 3 available); 1 have no shipping method to US",
            ),
            (
                2,
                HoldReason::NoRoute,
                "no offer can supply 1 × 'SKU-2' to US: of 1 offer(s), 1 have no shipping method to US",
            ),
            (
                3,
                HoldReason::NoRoute,
                "line 'SKU-3' is not mapped to a catalogue variant, so no supplier offer applies",
            ),
            (
                4,
                HoldReason::NoRoute,
                "variant 00000000-0000-0000-0000-000000000007 of line 'SKU-4' has no supplier offer",
            ),
            (
                5,
                HoldReason::NoRoute,
                "no offer can supply 1 × 'SKU-5' to US: of 1 offer(s), 1 belong to an unknown supplier",
            ),
        ];
        assert_eq!(plan.unroutable.len(), table.len());
        for ((line, reason, explanation), unroutable) in table.into_iter().zip(&plan.unroutable) {
            assert_eq!(unroutable.line_item_id, line_id(line));
            assert_eq!(unroutable.reason, reason, "line {line}");
            assert_eq!(unroutable.explanation, explanation, "line {line}");
        }
        assert_eq!(plan.hold_reasons(), vec![HoldReason::OutOfStock, HoldReason::NoRoute]);
        assert!(!plan.is_complete());
    }

    #[test]
    fn a_partly_routable_order_plans_what_it_can() {
        let fixture = fixture();
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &[line(1, Some(1), 1), line(2, None, 1)]);
        assert_eq!(chosen(&plan), vec![offer_id(2)]);
        assert_eq!(plan.hold_reasons(), vec![HoldReason::NoRoute]);
        assert_eq!(fixture.route(RoutingPolicy::CheapestLanded, &[]).hold_reasons(), vec![]);
    }

    #[test]
    fn lines_that_need_no_shipping_are_ignored() {
        let fixture = fixture();
        let digital = LineItem {
            requires_shipping: false,
            ..line(2, None, 1)
        };
        let nothing = line(3, Some(1), 0);
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &[digital, line(1, Some(1), 1), nothing]);
        assert_eq!(chosen(&plan), vec![offer_id(2)]);
        assert!(plan.unroutable.is_empty());
        assert_eq!(plan.groups[0].lines.len(), 1);
    }

    #[test]
    fn ties_break_on_priority_then_cost_then_offer_id() {
        // Same supplier, same days, same rating everywhere: only the tie-break decides.
        let suppliers = vec![supplier(1, 80, 1)];
        let table: [(&str, Vec<Offer>, u128); 3] = [
            (
                "primary first",
                vec![backup(offer(1, 1, 1, 1000, 100, 10)), offer(2, 1, 1, 1000, 100, 10)],
                2,
            ),
            (
                "then lower landed cost",
                vec![
                    offer(1, 1, 1, 1000, 101, 10),
                    offer(2, 1, 1, 1000, 100, 10),
                    backup(offer(3, 1, 1, 10, 0, 10)),
                ],
                2,
            ),
            (
                "then lower offer id",
                vec![offer(2, 1, 1, 1000, 100, 10), offer(1, 1, 1, 1000, 100, 10)],
                1,
            ),
        ];
        for (case, offers, expected) in table {
            for policy in [
                RoutingPolicy::Fastest,
                RoutingPolicy::BestRated,
                RoutingPolicy::PrimaryThenBackup,
            ] {
                for offers in [offers.clone(), offers.iter().rev().cloned().collect()] {
                    let fixture = Fixture {
                        offers,
                        suppliers: suppliers.clone(),
                        lanes: vec![],
                    };
                    let plan = fixture.route(policy, &[line(1, Some(1), 1)]);
                    assert_eq!(chosen(&plan), vec![offer_id(expected)], "{case}, {policy}");
                }
            }
        }
        // Cheapest landed: a cost tie goes to the primary, then the lower id.
        let fixture = Fixture {
            offers: vec![
                offer(3, 1, 1, 900, 200, 10),
                backup(offer(1, 1, 1, 1000, 100, 10)),
                offer(2, 1, 1, 1000, 100, 10),
            ],
            suppliers,
            lanes: vec![],
        };
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 2);
        check(&fixture, RoutingPolicy::Weighted, RoutingWeights::default(), 2);
    }

    #[test]
    fn costs_compare_in_the_order_currency_first() {
        let in_euros = |mut offer: Offer| {
            offer.unit_cost.currency = eur();
            offer.shipping[0].cost.currency = eur();
            offer
        };
        let suppliers = vec![supplier(1, 80, 1)];
        // 900 EUR is not cheaper than 1000 USD: it cannot be compared, the USD offer wins.
        let fixture = Fixture {
            offers: vec![in_euros(offer(1, 1, 1, 800, 100, 10)), offer(2, 1, 1, 900, 100, 10)],
            suppliers: suppliers.clone(),
            lanes: vec![],
        };
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 2);
        check(&fixture, RoutingPolicy::Weighted, weights(100, 0, 0, 0), 2);
        // Without a USD offer the cheapest in the majority currency wins.
        let fixture = Fixture {
            offers: vec![
                in_euros(offer(1, 1, 1, 800, 100, 10)),
                in_euros(offer(2, 1, 1, 700, 100, 10)),
                Offer {
                    unit_cost: Money::new(1, Currency::parse("GBP").expect("GBP")),
                    shipping: vec![method("US", Money::new(1, Currency::parse("GBP").expect("GBP")), 10)],
                    ..offer(3, 1, 1, 0, 0, 10)
                },
            ],
            suppliers,
            lanes: vec![],
        };
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 2);
        check(&fixture, RoutingPolicy::Weighted, weights(100, 0, 0, 0), 2);
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &[line(1, Some(1), 1)]);
        assert_eq!(plan.groups[0].expected_cost, Money::new(800, eur()));
    }

    #[test]
    fn a_supplier_charging_in_two_currencies_gets_two_groups() {
        let mut fixture = two_supplier_fixture();
        fixture.offers[2].unit_cost.currency = eur();
        fixture.offers[2].shipping[0].cost.currency = eur();
        fixture.offers[3].unit_cost.currency = eur();
        fixture.offers[3].shipping[0].cost.currency = eur();
        let plan = fixture.route(
            RoutingPolicy::CheapestLanded,
            &[line(1, Some(1), 1), line(2, Some(2), 1)],
        );
        let costs: Vec<(SupplierId, Money)> = plan.groups.iter().map(|g| (g.supplier_id, g.expected_cost)).collect();
        assert_eq!(
            costs,
            vec![
                (supplier_id(1), Money::new(1100, usd())),
                (supplier_id(1), Money::new(550, eur()))
            ]
        );
    }

    #[test]
    fn overflowing_costs_are_errors() {
        let fixture = Fixture {
            offers: vec![offer(1, 1, 1, i64::MAX / 2, 0, 10)],
            suppliers: vec![supplier(1, 80, 1)],
            lanes: vec![],
        };
        let context = fixture.context(RoutingPolicy::CheapestLanded, RoutingWeights::default());
        assert_eq!(
            route_lines("US", usd(), &[line(1, Some(1), 3)], &context),
            Err(RoutingError::LineCostOverflow {
                line_item_id: line_id(1),
                offer_id: offer_id(1)
            })
        );
        assert_eq!(
            route_lines("US", usd(), &[line(1, Some(1), 1), line(2, Some(1), 2)], &context),
            Err(RoutingError::SupplierOrderCostOverflow {
                supplier_id: supplier_id(1)
            })
        );
    }

    #[test]
    fn route_order_uses_the_shipping_country_and_shippable_lines() {
        let fixture = fixture();
        let at = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let order = Order {
            id: OrderId(Uuid::from_u128(1)),
            store_id: StoreId(Uuid::from_u128(1)),
            external_id: "1001".into(),
            number: "#1001".into(),
            customer: Customer::default(),
            shipping_address: Address {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                company: None,
                address1: "1 Main St".into(),
                address2: None,
                city: "Springfield".into(),
                region: Some("IL".into()),
                postal_code: "62701".into(),
                country_code: "US".into(),
                phone: None,
            },
            lines: vec![
                line(1, Some(1), 1),
                LineItem {
                    requires_shipping: false,
                    ..line(2, None, 1)
                },
            ],
            currency: usd(),
            subtotal: Money::new(10_000, usd()),
            shipping_total: Money::zero(usd()),
            total: Money::new(10_000, usd()),
            payment: PaymentState::Paid,
            state: OrderState::Accepted,
            hold_reasons: vec![],
            findings: vec![],
            supplier_orders: vec![],
            placed_at: at,
            received_at: at,
            updated_at: at,
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
        };
        let context = fixture.context(RoutingPolicy::Fastest, RoutingWeights::default());
        let plan = route_order(&order, &context).expect("no overflow");
        assert_eq!(chosen(&plan), vec![offer_id(3)]);
        assert!(plan.unroutable.is_empty());
        // A re-route of no line of the order plans nothing.
        let none = [line_id(2)];
        let plan = route_order(
            &order,
            &RoutingContext {
                only_lines: Some(&none),
                ..context
            },
        )
        .expect("no overflow");
        assert_eq!(plan, RoutePlan::default());

        let mut in_france = order;
        in_france.shipping_address.country_code = "FR".into();
        let plan = route_order(&in_france, &context).expect("no overflow");
        assert_eq!(plan.hold_reasons(), vec![HoldReason::NoRoute]);
    }

    // ---------------------------------------------------------------------------------------
    // Own warehouse first
    // ---------------------------------------------------------------------------------------

    /// A warehouse location of the seller's, in the US.
    fn warehouse(n: u128, rating: u32, processing_days: u32) -> Supplier {
        Supplier {
            name: format!("Warehouse {n}"),
            kind: SupplierKind::Warehouse,
            ships_from: Some("US".into()),
            ..supplier(n, rating, processing_days)
        }
    }

    /// [`fixture`] plus offer 5 at warehouse 5, worse than every dropshipping offer on every
    /// count: landed 3500, 25 days, rating 10, a backup, no lane.
    fn with_warehouse(stock: Option<u32>) -> Fixture {
        let mut fixture = fixture();
        fixture.suppliers.push(warehouse(5, 10, 5));
        fixture.offers.push(Offer {
            stock,
            ..backup(offer(5, 1, 5, 3000, 500, 20))
        });
        fixture
    }

    /// Every policy; the weighted one also with each component alone and with none.
    fn every_policy() -> Vec<(RoutingPolicy, RoutingWeights)> {
        let mut all: Vec<(RoutingPolicy, RoutingWeights)> = RoutingPolicy::ALL
            .iter()
            .map(|policy| (*policy, RoutingWeights::default()))
            .collect();
        for weights in [
            weights(100, 0, 0, 0),
            weights(0, 100, 0, 0),
            weights(0, 0, 100, 0),
            weights(0, 0, 0, 100),
            weights(0, 0, 0, 0),
        ] {
            all.push((RoutingPolicy::Weighted, weights));
        }
        all
    }

    #[test]
    fn a_stocked_warehouse_wins_over_cheaper_dropshipping_under_every_policy() {
        let fixture = with_warehouse(Some(3));
        for (policy, weights) in every_policy() {
            check(&fixture, policy, weights, 5);
        }
        // Its whole stock, for one line.
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &[line(1, Some(1), 3)]);
        assert_eq!(chosen(&plan), vec![offer_id(5)]);
        assert_eq!(plan.groups[0].supplier_kind, SupplierKind::Warehouse);
        assert_eq!(plan.groups[0].expected_cost, Money::new(10_500, usd()));
    }

    #[test]
    fn switching_the_preference_off_restores_todays_choice() {
        let off = |context: &mut RoutingContext<'_>| context.prefer_own_warehouse = false;
        let fixture = with_warehouse(Some(3));
        for (policy, weights, expected) in fixture_choices() {
            check_with(&fixture, policy, weights, off, expected);
        }
        // Off, a warehouse is an ordinary offer: it wins where the policy says so.
        let mut cheap = with_warehouse(Some(3));
        cheap.offers[4].unit_cost = Money::new(100, usd());
        check_with(&cheap, RoutingPolicy::CheapestLanded, RoutingWeights::default(), off, 5);
        check_with(&cheap, RoutingPolicy::Fastest, RoutingWeights::default(), off, 3);
        check(&cheap, RoutingPolicy::Fastest, RoutingWeights::default(), 5);
    }

    #[test]
    fn a_warehouse_short_of_stock_falls_back_to_dropshipping() {
        let fixture = with_warehouse(Some(2));
        // 3 units wanted, 2 held: today's choice of each policy.
        for (policy, weights, expected) in fixture_choices() {
            let plan = fixture.route_weighted(policy, weights, &[line(1, Some(1), 3)]);
            assert_eq!(chosen(&plan), vec![offer_id(expected)], "{policy} with {weights:?}");
        }
        // An earlier line of the order took the warehouse's 2 units: the next line falls back.
        let lines = [line(1, Some(1), 2), line(2, Some(1), 1)];
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &lines);
        assert_eq!(
            planned_lines(&plan),
            vec![(line_id(1), offer_id(5)), (line_id(2), offer_id(2))]
        );
        // With 3 units held both lines stay home, in one group.
        let plan = with_warehouse(Some(3)).route(RoutingPolicy::CheapestLanded, &lines);
        assert_eq!(
            planned_lines(&plan),
            vec![(line_id(1), offer_id(5)), (line_id(2), offer_id(5))]
        );
        assert_eq!(plan.groups.len(), 1);
        // An empty warehouse.
        check(
            &with_warehouse(Some(0)),
            RoutingPolicy::CheapestLanded,
            RoutingWeights::default(),
            2,
        );
    }

    #[test]
    fn a_warehouse_that_does_not_serve_the_destination_is_skipped() {
        let mut fixture = with_warehouse(Some(3));
        fixture.offers[4].shipping[0].country = "FR".into();
        for (policy, weights, expected) in fixture_choices() {
            check(&fixture, policy, weights, expected);
        }
        // A method to anywhere else (`*`) serves the US.
        fixture.offers[4].shipping[0].country = "*".into();
        check(&fixture, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 5);
    }

    #[test]
    fn the_policy_decides_between_stocked_warehouses() {
        // Warehouse 5: cheap (2000), slow (20 + 5 days), rated 90, a backup. Warehouse 6: dear
        // (3000), fast (14 days), rated 10, a primary. Every dropshipping offer would beat both
        // on the policy's own criterion (cheapest 2, fastest 3, best rated 4, primary 1).
        let mut fixture = fixture();
        fixture.suppliers.extend([warehouse(5, 90, 5), warehouse(6, 10, 0)]);
        fixture.offers.extend([
            Offer {
                stock: Some(4),
                ..backup(offer(5, 1, 5, 1500, 500, 20))
            },
            Offer {
                stock: Some(4),
                ..offer(6, 1, 6, 2500, 500, 14)
            },
        ]);
        let default = RoutingWeights::default();
        let table = [
            (RoutingPolicy::CheapestLanded, default, 5),
            (RoutingPolicy::Fastest, default, 6),
            (RoutingPolicy::BestRated, default, 5),
            (RoutingPolicy::PrimaryThenBackup, default, 6),
            (RoutingPolicy::Weighted, weights(100, 0, 0, 0), 5),
            (RoutingPolicy::Weighted, weights(0, 100, 0, 0), 6),
            (RoutingPolicy::Weighted, weights(0, 0, 100, 0), 5),
            (RoutingPolicy::Weighted, weights(0, 0, 0, 0), 6),
        ];
        for (policy, weights, expected) in table {
            check(&fixture, policy, weights, expected);
        }
        // The policy's favourite lacks the stock: the other warehouse, not a dropshipper.
        fixture.offers[4].stock = Some(0);
        check(&fixture, RoutingPolicy::CheapestLanded, default, 6);
        // A warehouse of unknown stock is not among them: the counted one wins.
        fixture.offers[4].stock = Some(4);
        fixture.offers[5].stock = None;
        check(&fixture, RoutingPolicy::Fastest, default, 5);
    }

    #[test]
    fn a_warehouse_of_unknown_stock_is_not_preferred() {
        let fixture = with_warehouse(None);
        for (policy, weights, expected) in fixture_choices() {
            check(&fixture, policy, weights, expected);
        }
        // It still competes as any offer of unknown stock does: the cheapest wins on cost.
        let mut cheap = with_warehouse(None);
        cheap.offers[4].unit_cost = Money::new(100, usd());
        check(&cheap, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 5);
        check(&cheap, RoutingPolicy::Fastest, RoutingWeights::default(), 3);
        // A dropshipping offer with a known count gets no preference either.
        let mut counted = self::fixture();
        counted.offers[2].stock = Some(100);
        check(&counted, RoutingPolicy::CheapestLanded, RoutingWeights::default(), 2);
    }

    // ---------------------------------------------------------------------------------------
    // Failover: exclusions and some lines only
    // ---------------------------------------------------------------------------------------

    #[test]
    fn excluded_offers_are_skipped_for_the_next_offer() {
        let fixture = fixture();
        let default = RoutingWeights::default();
        let table: [(RoutingPolicy, &[u128], u128); 7] = [
            (RoutingPolicy::CheapestLanded, &[2], 1),
            (RoutingPolicy::CheapestLanded, &[2, 1], 4),
            (RoutingPolicy::Fastest, &[3], 2),
            (RoutingPolicy::BestRated, &[4], 2),
            (RoutingPolicy::PrimaryThenBackup, &[1], 2),
            // Scores among 1, 3 and 4 (on time of 4: the mean 895): 58 060, 30 000, 52 490.
            (RoutingPolicy::Weighted, &[2], 1),
            // An id that is no offer of the line changes nothing.
            (RoutingPolicy::CheapestLanded, &[99], 2),
        ];
        for (policy, excluded, expected) in table {
            let excluded: Vec<OfferId> = excluded.iter().copied().map(offer_id).collect();
            check_with(
                &fixture,
                policy,
                default,
                |context| context.excluded_offers = &excluded,
                expected,
            );
        }
        // An excluded warehouse loses its preference: back to dropshipping.
        let excluded = [offer_id(5)];
        check_with(
            &with_warehouse(Some(3)),
            RoutingPolicy::CheapestLanded,
            default,
            |context| context.excluded_offers = &excluded,
            2,
        );
    }

    #[test]
    fn a_line_whose_every_offer_is_excluded_is_unroutable() {
        let mut fixture = fixture();
        // Variant 2 has an offer that nobody excluded: its line is still planned.
        fixture.offers.push(offer(6, 2, 1, 1000, 100, 10));
        let lines = [line(1, Some(1), 1), line(2, Some(2), 1)];
        let all = [offer_id(1), offer_id(2), offer_id(3), offer_id(4)];
        let plan = route_with(
            &fixture,
            RoutingPolicy::CheapestLanded,
            RoutingWeights::default(),
            &lines,
            |context| context.excluded_offers = &all,
        );
        assert_eq!(planned_lines(&plan), vec![(line_id(2), offer_id(6))]);
        assert_eq!(
            plan.unroutable,
            vec![Unroutable {
                line_item_id: line_id(1),
                reason: HoldReason::NoRoute,
                explanation: "no offer can supply 1 × 'SKU-1' to US: of 4 offer(s), 4 were excluded after failing \
                              for this order (rejected, out of stock, could not ship or missed the deadline)"
                    .into(),
            }]
        );
        // Two excluded, the two others out of stock: a restock would serve the line.
        fixture.offers[2].stock = Some(0);
        fixture.offers[3].stock = Some(0);
        let two = [offer_id(1), offer_id(2)];
        let plan = route_with(
            &fixture,
            RoutingPolicy::CheapestLanded,
            RoutingWeights::default(),
            &lines[..1],
            |context| context.excluded_offers = &two,
        );
        assert_eq!(plan.hold_reasons(), vec![HoldReason::OutOfStock]);
        assert_eq!(
            plan.unroutable[0].explanation,
            "no offer can supply 1 × 'SKU-1' to US: of 4 offer(s), 2 were excluded after failing for this order \
             (rejected, out of stock, could not ship or missed the deadline); 2 ship to US but lack stock for 1 \
             unit(s) (at most 0 available)"
        );
    }

    #[test]
    fn only_the_listed_lines_are_routed() {
        let fixture = two_supplier_fixture();
        // Line 4 maps to no variant: unroutable whenever it is routed.
        let lines = [
            line(1, Some(1), 1),
            line(2, Some(2), 1),
            line(3, Some(3), 1),
            line(4, None, 1),
        ];
        let route_only = |only: Option<&[LineItemId]>| {
            route_with(
                &fixture,
                RoutingPolicy::CheapestLanded,
                RoutingWeights::default(),
                &lines,
                |context| context.only_lines = only,
            )
        };
        let everything = route_only(None);
        assert_eq!(everything.groups.len(), 2);
        assert_eq!(everything.unroutable.len(), 1);
        // Line 3 alone (line 9 is not in the order): the others are neither planned nor held.
        let plan = route_only(Some(&[line_id(3), line_id(9)]));
        assert_eq!(planned_lines(&plan), vec![(line_id(3), offer_id(32))]);
        assert_eq!(plan.groups.len(), 1);
        assert_eq!(plan.groups[0].expected_cost, Money::new(2600, usd()));
        assert!(plan.is_complete());
        let plan = route_only(Some(&[line_id(4), line_id(1)]));
        assert_eq!(planned_lines(&plan), vec![(line_id(1), offer_id(11))]);
        assert_eq!(
            plan.unroutable.iter().map(|u| u.line_item_id).collect::<Vec<_>>(),
            vec![line_id(4)]
        );
        assert_eq!(route_only(Some(&[])), RoutePlan::default());

        // A line left alone takes no stock: line 2 gets the 3 units line 1 would have taken.
        let mut fixture = self::fixture();
        fixture.offers[1].stock = Some(3);
        let lines = [line(1, Some(1), 3), line(2, Some(1), 3)];
        let plan = fixture.route(RoutingPolicy::CheapestLanded, &lines);
        assert_eq!(
            planned_lines(&plan),
            vec![(line_id(1), offer_id(2)), (line_id(2), offer_id(1))]
        );
        let only = [line_id(2)];
        let plan = route_with(
            &fixture,
            RoutingPolicy::CheapestLanded,
            RoutingWeights::default(),
            &lines,
            |context| context.only_lines = Some(&only),
        );
        assert_eq!(planned_lines(&plan), vec![(line_id(2), offer_id(2))]);
    }

    // ---------------------------------------------------------------------------------------
    // Properties
    // ---------------------------------------------------------------------------------------

    const COUNTRIES: [&str; 3] = ["US", "FR", "DE"];

    #[derive(Debug, Clone)]
    struct Scenario {
        country: &'static str,
        lines: Vec<LineItem>,
        offers: Vec<Offer>,
        suppliers: Vec<Supplier>,
        lanes: Vec<LaneStats>,
        policy: RoutingPolicy,
        weights: RoutingWeights,
        prefer_own_warehouse: bool,
        excluded: Vec<OfferId>,
        only_lines: Option<Vec<LineItemId>>,
    }

    impl Scenario {
        fn context(&self) -> RoutingContext<'_> {
            RoutingContext {
                offers: &self.offers,
                suppliers: &self.suppliers,
                lanes: &self.lanes,
                policy: self.policy,
                weights: self.weights,
                prefer_own_warehouse: self.prefer_own_warehouse,
                excluded_offers: &self.excluded,
                only_lines: self.only_lines.as_deref(),
            }
        }

        /// Whether routing is asked to plan the line.
        fn is_routed(&self, line: &LineItem) -> bool {
            line.requires_shipping
                && line.quantity > 0
                && self.only_lines.as_ref().is_none_or(|ids| ids.contains(&line.id))
        }

        fn route(&self) -> RoutePlan {
            route_lines(self.country, usd(), &self.lines, &self.context()).expect("small amounts never overflow")
        }
    }

    fn currency_strategy() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec![usd(), usd(), eur()])
    }

    /// An offer of variants 0..3 at suppliers 0..5 (supplier 4 is unknown), shipping to one
    /// to three of US, FR and anywhere (`*`), now and then priced inconsistently.
    fn offer_strategy(n: u128) -> impl Strategy<Value = Offer> {
        (
            (0u128..3, 0u128..5, 0i64..10_000, currency_strategy()),
            prop::option::of(0u32..5),
            prop::collection::vec(
                (prop::sample::select(vec!["US", "FR", "*"]), 0i64..2000, 1u32..40),
                1..3,
            ),
            prop::bool::weighted(0.1),
            any::<bool>(),
        )
            .prop_map(
                move |((variant, supplier, unit_cost, currency), stock, methods, mixed, primary)| {
                    let shipping_currency = match (mixed, currency == usd()) {
                        (false, _) => currency,
                        (true, true) => eur(),
                        (true, false) => usd(),
                    };
                    Offer {
                        unit_cost: Money::new(unit_cost, currency),
                        stock,
                        shipping: methods
                            .into_iter()
                            .map(|(country, cost, days)| method(country, Money::new(cost, shipping_currency), days))
                            .collect(),
                        priority: if primary {
                            OfferPriority::Primary
                        } else {
                            OfferPriority::Backup
                        },
                        ..offer(n, variant, supplier, 0, 0, 10)
                    }
                },
            )
    }

    /// Lines of variants 0..4 (variant 3 has no offer) or none, mostly shippable.
    fn line_strategy(n: u128) -> impl Strategy<Value = LineItem> {
        (
            prop::option::weighted(0.9, 0u128..4),
            0u32..5,
            prop::bool::weighted(0.85),
        )
            .prop_map(move |(variant, quantity, requires_shipping)| LineItem {
                requires_shipping,
                ..line(n, variant, quantity)
            })
    }

    fn lane_strategy() -> impl Strategy<Value = LaneStats> {
        (
            0u128..5,
            prop::sample::select(COUNTRIES.to_vec()),
            prop::option::of(1u32..30),
            prop::option::of(0u32..=1000),
        )
            .prop_map(|(supplier, country, measured_days, on_time_per_mille)| LaneStats {
                supplier_id: supplier_id(supplier),
                country: country.into(),
                measured_days,
                on_time_per_mille,
            })
    }

    /// Up to 7 lines and 24 offers at 4 known suppliers, some of them warehouses; now and then
    /// some offers excluded (ids up to 26: some are no offer) and only some lines routed (ids up
    /// to 8: some are no line).
    fn scenario_strategy() -> impl Strategy<Value = Scenario> {
        let lines = (0usize..7).prop_flat_map(|count| (0..count as u128).map(line_strategy).collect::<Vec<_>>());
        let offers = (0usize..24).prop_flat_map(|count| (0..count as u128).map(offer_strategy).collect::<Vec<_>>());
        (
            prop::sample::select(COUNTRIES.to_vec()),
            lines,
            offers,
            prop::collection::vec((0u32..=100, 0u32..5, prop::bool::weighted(0.4)), 4),
            prop::collection::vec(lane_strategy(), 0..8),
            prop::sample::select(RoutingPolicy::ALL.to_vec()),
            (0u32..100, 0u32..100, 0u32..100, 0u32..100),
            prop::bool::weighted(0.8),
            prop::collection::vec(0u128..26, 0..6),
            prop::option::weighted(0.4, prop::collection::vec(0u128..8, 0..5)),
        )
            .prop_map(
                |(
                    country,
                    lines,
                    offers,
                    suppliers,
                    lanes,
                    policy,
                    (margin, speed, rating, on_time),
                    prefer_own_warehouse,
                    excluded,
                    only_lines,
                )| Scenario {
                    country,
                    lines,
                    offers,
                    suppliers: suppliers
                        .into_iter()
                        .enumerate()
                        .map(|(n, (rating, processing_days, own))| {
                            if own {
                                warehouse(n as u128, rating, processing_days)
                            } else {
                                supplier(n as u128, rating, processing_days)
                            }
                        })
                        .collect(),
                    lanes,
                    policy,
                    weights: RoutingWeights {
                        margin,
                        speed,
                        rating,
                        on_time,
                    },
                    prefer_own_warehouse,
                    excluded: excluded.into_iter().map(offer_id).collect(),
                    only_lines: only_lines.map(|ids| ids.into_iter().map(line_id).collect()),
                },
            )
    }

    proptest! {
        #[test]
        fn every_shippable_line_is_planned_or_unroutable_once(scenario in scenario_strategy()) {
            let plan = scenario.route();
            let planned: Vec<LineItemId> =
                plan.groups.iter().flat_map(|g| g.lines.iter().map(|l| l.line_item_id)).collect();
            let unroutable: Vec<LineItemId> = plan.unroutable.iter().map(|u| u.line_item_id).collect();
            for line in &scenario.lines {
                let in_groups = planned.iter().filter(|id| **id == line.id).count();
                let in_unroutable = unroutable.iter().filter(|id| **id == line.id).count();
                if scenario.is_routed(line) {
                    prop_assert_eq!(in_groups + in_unroutable, 1, "line {} in {:#?}", line.id, plan);
                } else {
                    prop_assert_eq!(in_groups + in_unroutable, 0, "line {} in {:#?}", line.id, plan);
                }
            }
            // One group per supplier and currency.
            for (i, a) in plan.groups.iter().enumerate() {
                for b in &plan.groups[i + 1..] {
                    prop_assert!((a.supplier_id, a.expected_cost.currency) != (b.supplier_id, b.expected_cost.currency));
                }
            }
            prop_assert_eq!(plan.hold_reasons().is_empty(), plan.unroutable.is_empty());
        }

        #[test]
        fn chosen_offers_have_stock_and_ship_there(scenario in scenario_strategy()) {
            let plan = scenario.route();
            let mut taken: HashMap<OfferId, u32> = HashMap::new();
            for group in &plan.groups {
                let mut expected_cost = Money::zero(group.expected_cost.currency);
                for planned in &group.lines {
                    let offer = scenario.offers.iter().find(|o| o.id == planned.offer_id).expect("a known offer");
                    let line = scenario.lines.iter().find(|l| l.id == planned.line_item_id).expect("a known line");
                    prop_assert_eq!(Some(offer.variant_id), line.variant_id);
                    prop_assert_eq!(offer.supplier_id, group.supplier_id);
                    let method = offer.shipping_to(scenario.country);
                    prop_assert!(method.is_some(), "offer {} cannot ship to {}", offer.id, scenario.country);
                    *taken.entry(offer.id).or_insert(0) += planned.quantity;
                    prop_assert!(offer.has_stock(taken[&offer.id]), "offer {} oversold", offer.id);
                    expected_cost = expected_cost.checked_add(planned.landed_cost).expect("same currency");
                }
                prop_assert_eq!(expected_cost, group.expected_cost);
            }
        }

        #[test]
        fn the_plan_is_deterministic(scenario in scenario_strategy()) {
            let plan = scenario.route();
            prop_assert_eq!(&plan, &scenario.route());
            // Nor does the order of the offers matter: ties end on the offer id.
            let mut reversed = scenario.clone();
            reversed.offers.reverse();
            prop_assert_eq!(&plan, &reversed.route());
        }

        #[test]
        fn no_excluded_offer_and_no_line_outside_only_lines_is_planned(scenario in scenario_strategy()) {
            let plan = scenario.route();
            for group in &plan.groups {
                for planned in &group.lines {
                    prop_assert!(!scenario.excluded.contains(&planned.offer_id), "{} excluded", planned.offer_id);
                    if let Some(only) = &scenario.only_lines {
                        prop_assert!(only.contains(&planned.line_item_id), "{} planned", planned.line_item_id);
                    }
                }
            }
            if let Some(only) = &scenario.only_lines {
                for unroutable in &plan.unroutable {
                    prop_assert!(only.contains(&unroutable.line_item_id), "{} held", unroutable.line_item_id);
                }
            }
        }

        #[test]
        fn a_line_leaves_a_stocked_warehouse_only_when_none_can_serve_it(scenario in scenario_strategy()) {
            prop_assume!(scenario.prefer_own_warehouse);
            let plan = scenario.route();
            let planned: HashMap<LineItemId, &PlannedLine> =
                plan.groups.iter().flat_map(|g| g.lines.iter().map(|l| (l.line_item_id, l))).collect();
            let supplier_of = |offer: &Offer| scenario.suppliers.iter().find(|s| s.id == offer.supplier_id);
            let stocked_warehouse = |offer: &Offer| {
                offer.stock.is_some() && supplier_of(offer).is_some_and(|s| s.kind == SupplierKind::Warehouse)
            };
            // Units each offer gave to earlier lines, replayed in line order as routing does.
            let mut taken: HashMap<OfferId, u32> = HashMap::new();
            for line in &scenario.lines {
                let Some(planned) = planned.get(&line.id) else { continue };
                let chosen = scenario.offers.iter().find(|o| o.id == planned.offer_id).expect("a known offer");
                if !stocked_warehouse(chosen) {
                    for offer in scenario.offers.iter().filter(|o| {
                        Some(o.variant_id) == line.variant_id
                            && !scenario.excluded.contains(&o.id)
                            && stocked_warehouse(o)
                    }) {
                        let ships = offer
                            .shipping_to(scenario.country)
                            .is_some_and(|m| m.cost.currency == offer.unit_cost.currency);
                        let needed = taken.get(&offer.id).copied().unwrap_or(0) + planned.quantity;
                        prop_assert!(
                            !ships || !offer.has_stock(needed),
                            "line {} went to {} while warehouse offer {} could serve it",
                            line.id, chosen.id, offer.id
                        );
                    }
                }
                *taken.entry(chosen.id).or_insert(0) += planned.quantity;
            }
        }

        #[test]
        fn without_the_preference_supplier_kinds_do_not_matter(scenario in scenario_strategy()) {
            let mut off = scenario.clone();
            off.prefer_own_warehouse = false;
            let mut no_warehouses = off.clone();
            for supplier in &mut no_warehouses.suppliers {
                supplier.kind = SupplierKind::Cj;
            }
            prop_assert_eq!(planned_lines(&off.route()), planned_lines(&no_warehouses.route()));
            // Nor does the preference change anything when there is no warehouse.
            no_warehouses.prefer_own_warehouse = true;
            prop_assert_eq!(planned_lines(&off.route()), planned_lines(&no_warehouses.route()));
        }
    }
}
