//! Inventory and pricing of a catalogue whose stock belongs to the suppliers: what the
//! storefront may show of a variant (what its offers can ship, less what accepted orders
//! hold and the store's safety buffer), which units an order holds until its supplier order
//! is placed, which pricing rule prices a product, and which supplier readings are too odd
//! to apply.

use crate::catalog::{Offer, OfferPriority, Product};
use crate::ids::{OfferId, PriceChangeId, ProductId, StoreId, SupplierId, SyncProblemId, VariantId};
use crate::money::{Currency, Money};
use crate::order::Order;
use crate::pricing::{PriceReason, PricingRule, RuleIssue, SupplierCost};
use crate::state::{OrderState, RequestStatus, snake_enum};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

snake_enum!(
    /// What the storefront does with a variant none of whose offers has stock.
    WhenOutOfStock {
        /// Its stock is set to zero: the product stays visible, sold out.
        ShowZero => "show_zero",
        /// The product is hidden from the shop once all its variants are out, and shown
        /// again when one is back.
        Unpublish => "unpublish",
    }
);

/// The most units a store may keep back from what its suppliers can ship.
pub const MAX_SAFETY_BUFFER: u32 = 10_000;
/// The shortest and longest time between two stock and price syncs of a supplier.
pub const SYNC_MINUTES: std::ops::RangeInclusive<u32> = 5..=1440;

/// How a store keeps its storefront's stock in line with its suppliers'.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySettings {
    /// Whether stock and prices are synced from the suppliers and pushed to the storefront.
    #[serde(default)]
    pub sync: bool,
    /// Units kept back from what the offers can ship, so a sync that comes late does not
    /// sell what the supplier no longer has.
    #[serde(default)]
    pub safety_buffer: u32,
    #[serde(default = "default_when_out")]
    pub when_out: WhenOutOfStock,
    /// Minutes between two syncs of each supplier.
    #[serde(default = "default_sync_minutes")]
    pub sync_every_minutes: u32,
}

fn default_when_out() -> WhenOutOfStock {
    WhenOutOfStock::ShowZero
}

fn default_sync_minutes() -> u32 {
    60
}

impl Default for InventorySettings {
    fn default() -> Self {
        Self {
            sync: false,
            safety_buffer: 0,
            when_out: default_when_out(),
            sync_every_minutes: default_sync_minutes(),
        }
    }
}

impl InventorySettings {
    /// Every field out of bounds, named.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.safety_buffer > MAX_SAFETY_BUFFER {
            problems.push((
                "inventory.safety_buffer".into(),
                format!("must be at most {MAX_SAFETY_BUFFER} units"),
            ));
        }
        if !SYNC_MINUTES.contains(&self.sync_every_minutes) {
            problems.push((
                "inventory.sync_every_minutes".into(),
                format!("must be {} to {} minutes", SYNC_MINUTES.start(), SYNC_MINUTES.end()),
            ));
        }
        problems
    }
}

/// Which products a pricing rule prices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PricingScope {
    /// Every product of the store without a narrower rule.
    Store,
    /// The products in this collection.
    Collection { name: String },
    /// One product.
    Product { product_id: ProductId },
}

impl PricingScope {
    fn covers(&self, product: &Product) -> bool {
        match self {
            Self::Store => true,
            Self::Collection { name } => product.collections.iter().any(|c| c.eq_ignore_ascii_case(name)),
            Self::Product { product_id } => *product_id == product.id,
        }
    }

    /// Narrower scopes win: a product's own rule, then a collection's, then the store's.
    fn rank(&self) -> u8 {
        match self {
            Self::Product { .. } => 0,
            Self::Collection { .. } => 1,
            Self::Store => 2,
        }
    }
}

/// A pricing rule and the products it prices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedRule {
    pub scope: PricingScope,
    pub rule: PricingRule,
}

/// The most pricing rules a store may have.
pub const MAX_PRICING_RULES: usize = 200;

/// How a store prices its catalogue from its suppliers' costs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingSettings {
    /// Whether prices follow the rules (otherwise costs are only recorded).
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub rules: Vec<ScopedRule>,
    /// A new price that differs from the current one by more than this share (basis points
    /// of the current price) waits for the seller's approval instead of being pushed.
    #[serde(default = "default_approval_threshold")]
    pub approval_threshold_bp: u32,
}

fn default_approval_threshold() -> u32 {
    2_000
}

impl Default for PricingSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            rules: Vec::new(),
            approval_threshold_bp: default_approval_threshold(),
        }
    }
}

impl PricingSettings {
    /// The rule that prices a product, with its index: the product's own, else the first
    /// rule of one of its collections, else the store's.
    pub fn rule_for(&self, product: &Product) -> Option<(usize, &ScopedRule)> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.scope.covers(product))
            .min_by_key(|(index, r)| (r.scope.rank(), *index))
    }

    /// Every field out of bounds, named (`pricing.rules[2].multiplier_bp`, ...).
    pub fn problems(&self, store_currency: Currency) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.rules.len() > MAX_PRICING_RULES {
            problems.push(("pricing.rules".into(), format!("at most {MAX_PRICING_RULES} rules")));
        }
        if self.approval_threshold_bp > 100_000 {
            problems.push((
                "pricing.approval_threshold_bp".into(),
                "must be at most 100000 (1000%)".into(),
            ));
        }
        for (index, scoped) in self.rules.iter().enumerate() {
            let field = format!("pricing.rules[{index}]");
            if scoped.rule.currency != store_currency {
                problems.push((
                    format!("{field}.currency"),
                    format!("must be the store's currency, {store_currency}"),
                ));
            }
            if let PricingScope::Collection { name } = &scoped.scope
                && (name.trim().is_empty() || name.len() > 100)
            {
                problems.push((format!("{field}.scope.name"), "must be 1 to 100 characters".into()));
            }
            let duplicate = self.rules[..index].iter().any(|r| r.scope == scoped.scope);
            if duplicate {
                problems.push((format!("{field}.scope"), "another rule already has this scope".into()));
            }
            if let Err(issues) = scoped.rule.validate() {
                problems.extend(
                    issues
                        .into_iter()
                        .map(|RuleIssue { field: f, problem }| (format!("{field}.{f}"), problem.to_string())),
                );
            }
        }
        problems
    }
}

/// Whether an order holds stock now: from its acceptance until its supplier orders are
/// placed, and never once it is rejected, held, cancelled or done.
fn holds_stock(order: &Order) -> bool {
    !order.test
        && matches!(
            order.state,
            OrderState::Accepted
                | OrderState::InFulfillment
                | OrderState::PartiallyShipped
                | OrderState::Shipped
                | OrderState::PartiallyDelivered
                | OrderState::DeliveryFailed
        )
}

/// The units an order holds per variant: its accepted lines that no placed supplier order
/// covers yet. Units of the seller's own warehouse are taken off the offer's stock when their
/// supplier order is made, so they hold nothing here.
pub fn reserved_units(order: &Order) -> Vec<(VariantId, u32)> {
    if !holds_stock(order) {
        return Vec::new();
    }
    let mut held: Vec<(VariantId, u32)> = Vec::new();
    for line in order.shippable_lines() {
        let Some(variant_id) = line.variant_id else {
            continue;
        };
        let covering: Vec<_> = order
            .supplier_orders
            .iter()
            .filter(|so| so.is_live() && so.lines.iter().any(|l| l.line_item_id == line.id))
            .collect();
        let placed = covering.iter().any(|so| {
            so.supplier_kind == crate::catalog::SupplierKind::Warehouse
                || so.state.request_status != RequestStatus::Unsubmitted
        });
        if placed {
            continue;
        }
        let units = line.quantity_to_ship();
        match held.iter_mut().find(|(v, _)| *v == variant_id) {
            Some((_, total)) => *total = total.saturating_add(units),
            None => held.push((variant_id, units)),
        }
    }
    held.sort_unstable();
    held
}

/// Store units the offers can ship together: each offer's stock divided by the supplier
/// units one store unit takes (a bundle), summed over primary and backup offers. `None` when
/// an offer's stock is unknown (it is treated as available, so there is no limit to show).
pub fn sellable_units(offers: &[Offer]) -> Option<u32> {
    offers.iter().try_fold(0u32, |total, offer| {
        offer
            .stock
            .map(|stock| total.saturating_add(stock / offer.units.max(1)))
    })
}

/// What the storefront shows of a variant: what its offers can ship, less the units accepted
/// orders hold and the store's safety buffer, never below zero. `None` when the offers'
/// stock is unknown, or the variant has no offer (nothing to sync).
pub fn shown_stock(offers: &[Offer], reserved: u32, safety_buffer: u32) -> Option<u32> {
    if offers.is_empty() {
        return None;
    }
    sellable_units(offers).map(|units| units.saturating_sub(reserved).saturating_sub(safety_buffer))
}

/// The offer a variant's price is computed from, with its cost: the primary offer with
/// stock, else any offer with stock, else the primary; its shipping to `country` (else to
/// anywhere, else its cheapest method). Bundles cost their units.
pub fn pricing_cost<'a>(offers: &'a [Offer], country: Option<&str>) -> Option<(&'a Offer, SupplierCost)> {
    let with_stock = |o: &&Offer| o.has_stock(o.units.max(1));
    let offer = offers
        .iter()
        .filter(with_stock)
        .find(|o| o.priority == OfferPriority::Primary)
        .or_else(|| offers.iter().find(with_stock))
        .or_else(|| offers.iter().find(|o| o.priority == OfferPriority::Primary))
        .or_else(|| offers.first())?;
    let units = offer.units.max(1);
    let method = country
        .and_then(|c| offer.shipping_to(c))
        .or_else(|| offer.shipping.iter().find(|m| m.country == "*"))
        .or_else(|| offer.shipping.iter().min_by_key(|m| m.cost.minor));
    let unit_cost = offer.unit_cost.checked_mul(units).ok()?;
    let shipping = match method {
        Some(m) => Some(m.cost.checked_mul(units).ok()?),
        None => None,
    };
    Some((offer, SupplierCost { unit_cost, shipping }))
}

/// A change of a supplier's cost by this factor or more, either way, is too odd to apply
/// without a person: a misplaced decimal point, a price in another unit.
pub const ABSURD_COST_FACTOR: i64 = 10;

/// Why a supplier's reading of an offer was not applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReadingProblem {
    /// The answer for this SKU could not be read (a negative count, a price that is no
    /// number).
    #[error("the supplier's answer could not be read: {detail}")]
    Malformed { detail: String },
    /// The supplier no longer knows the SKU.
    #[error("the supplier does not know SKU {sku}")]
    UnknownSku { sku: String },
    /// The cost moved by a factor of [`ABSURD_COST_FACTOR`] or more.
    #[error("the cost went from {previous} to {new}, too far to apply without a person")]
    AbsurdCost { previous: Money, new: Money },
    /// The cost came in another currency than the offer's.
    #[error("the cost came in {got}, the offer is in {expected}")]
    WrongCurrency { expected: Currency, got: Currency },
    /// A zero or negative cost.
    #[error("the cost {cost} is not a price")]
    NotAPrice { cost: Money },
}

/// Checks a new cost against the last one recorded before it is applied.
pub fn judge_cost(previous: Money, new: Money) -> Result<(), ReadingProblem> {
    if new.currency != previous.currency {
        return Err(ReadingProblem::WrongCurrency {
            expected: previous.currency,
            got: new.currency,
        });
    }
    if new.minor <= 0 {
        return Err(ReadingProblem::NotAPrice { cost: new });
    }
    let (old, now) = (i128::from(previous.minor), i128::from(new.minor));
    let factor = i128::from(ABSURD_COST_FACTOR);
    if old > 0 && (now >= old * factor || now * factor <= old) {
        return Err(ReadingProblem::AbsurdCost { previous, new });
    }
    Ok(())
}

/// What dropline last wrote to the storefront for a variant: a sync pushes only what differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub variant_id: VariantId,
    pub store_id: StoreId,
    pub stock: Option<u32>,
    pub price: Option<Money>,
    pub compare_at: Option<Money>,
    /// Whether the product was last shown (`Some(true)`) or hidden.
    pub published: Option<bool>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What a stock and price sync of one supplier did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockSyncSummary {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Offers read at the supplier.
    pub offers_read: u32,
    /// Offers whose stock moved.
    pub stock_changed: u32,
    /// Offers whose cost moved.
    pub costs_changed: u32,
    /// Readings not applied (recorded as sync problems).
    pub problems: u32,
    /// Variants whose stock, price or visibility was written to the storefront.
    pub variants_pushed: u32,
    /// Price changes waiting for the seller.
    pub prices_pending: u32,
    /// Why the sync stopped early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A supplier's reading of one offer, to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferReading {
    pub offer_id: OfferId,
    /// Units the supplier has (0 when it no longer sells the variant).
    pub stock: u32,
    /// The supplier's new cost; `None` keeps the recorded one.
    pub unit_cost: Option<Money>,
    pub at: OffsetDateTime,
}

/// A supplier cost as it was at a time: the price monitor's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostPoint {
    pub offer_id: OfferId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub unit_cost: Money,
    /// What the cost was before (`None` for the first reading).
    pub previous: Option<Money>,
}

snake_enum!(
    /// Where a new price stands.
    PriceChangeStatus {
        /// Above the store's threshold: waits for the seller.
        Pending => "pending",
        /// Written to the catalogue (and pushed to the storefront where it has one).
        Applied => "applied",
        /// The seller said no: the price stays.
        Rejected => "rejected",
        /// A newer change of the same variant replaced it before anyone decided.
        Superseded => "superseded",
    }
);

/// A new selling price for a variant, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    pub id: PriceChangeId,
    pub store_id: StoreId,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub sku: String,
    pub old_price: Money,
    pub new_price: Money,
    pub compare_at: Option<Money>,
    /// The offer whose cost priced it.
    pub offer_id: OfferId,
    /// The cost before and after the move that caused this change (`None` before: the
    /// first price computed, or a rule change).
    pub cost_before: Option<Money>,
    pub cost_after: Money,
    /// Which rule (index in the store's pricing rules) and its scope.
    pub rule_index: usize,
    pub scope: PricingScope,
    /// How the rule computed the price.
    pub computed: PriceReason,
    pub status: PriceChangeStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// Who decided (a user's email, `rule` for an automatic change).
    #[serde(default)]
    pub decided_by: Option<String>,
}

/// A supplier reading that was not applied: a catalogue exception for the seller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProblem {
    pub id: SyncProblemId,
    pub store_id: StoreId,
    pub supplier_id: SupplierId,
    /// The offer read, when the reading was for a known one.
    pub offer_id: Option<OfferId>,
    pub supplier_sku: String,
    pub problem: ReadingProblem,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ShippingMethod;
    use crate::ids::{OfferId, SupplierId};

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn offer(stock: Option<u32>, priority: OfferPriority) -> Offer {
        Offer {
            id: OfferId::new(),
            variant_id: VariantId::new(),
            supplier_id: SupplierId::new(),
            supplier_sku: "S".into(),
            supplier_product_id: None,
            supplier_variant_id: None,
            product_url: None,
            unit_cost: usd(500),
            stock,
            shipping: vec![ShippingMethod {
                country: "*".into(),
                name: "Standard".into(),
                cost: usd(200),
                min_days: 7,
                max_days: 12,
            }],
            priority,
            units: 1,
        }
    }

    #[test]
    fn shown_stock_sums_offers_and_takes_off_reservations_and_the_buffer() {
        let offers = [
            offer(Some(3), OfferPriority::Primary),
            offer(Some(4), OfferPriority::Backup),
        ];
        assert_eq!(sellable_units(&offers), Some(7));
        assert_eq!(shown_stock(&offers, 2, 1), Some(4));
        assert_eq!(shown_stock(&offers, 9, 0), Some(0), "never below zero");
        let unknown = [
            offer(Some(3), OfferPriority::Primary),
            offer(None, OfferPriority::Backup),
        ];
        assert_eq!(
            shown_stock(&unknown, 0, 0),
            None,
            "unknown stock is not a number to show"
        );
        assert_eq!(shown_stock(&[], 0, 0), None);
    }

    #[test]
    fn a_bundle_sells_whole_sets_only() {
        let mut pack = offer(Some(11), OfferPriority::Primary);
        pack.units = 3;
        assert_eq!(sellable_units(&[pack.clone()]), Some(3));
        let (_, cost) = pricing_cost(std::slice::from_ref(&pack), Some("US")).expect("cost");
        assert_eq!(cost.unit_cost, usd(1500));
        assert_eq!(cost.shipping, Some(usd(600)));
    }

    #[test]
    fn the_price_follows_the_primary_offer_with_stock() {
        let mut primary = offer(Some(0), OfferPriority::Primary);
        primary.unit_cost = usd(400);
        let mut backup = offer(Some(5), OfferPriority::Backup);
        backup.unit_cost = usd(700);
        let offers = [primary.clone(), backup.clone()];
        assert_eq!(pricing_cost(&offers, None).map(|(o, _)| o.id), Some(backup.id));
        primary.stock = Some(2);
        let offers = [primary.clone(), backup];
        assert_eq!(pricing_cost(&offers, None).map(|(o, _)| o.id), Some(primary.id));
        assert!(pricing_cost(&[], None).is_none());
    }

    #[test]
    fn odd_costs_are_refused() {
        assert_eq!(judge_cost(usd(1000), usd(1200)), Ok(()));
        assert_eq!(judge_cost(usd(1000), usd(9999)), Ok(()));
        assert!(matches!(
            judge_cost(usd(1000), usd(10_000)),
            Err(ReadingProblem::AbsurdCost { .. })
        ));
        assert!(matches!(
            judge_cost(usd(1000), usd(100)),
            Err(ReadingProblem::AbsurdCost { .. })
        ));
        assert!(matches!(
            judge_cost(usd(1000), usd(0)),
            Err(ReadingProblem::NotAPrice { .. })
        ));
        assert!(matches!(
            judge_cost(usd(1000), Money::new(1000, Currency::parse("EUR").expect("EUR"))),
            Err(ReadingProblem::WrongCurrency { .. })
        ));
    }

    #[test]
    fn narrower_pricing_rules_win() {
        let product = Product {
            id: ProductId::new(),
            store_id: crate::ids::StoreId::new(),
            title: "Tee".into(),
            variants: vec![],
            platform_product_id: None,
            collections: vec!["Summer".into()],
        };
        let rule = |scope| ScopedRule {
            scope,
            rule: PricingRule::new(Currency::parse("USD").expect("USD"), 20_000),
        };
        let mut settings = PricingSettings {
            enabled: true,
            rules: vec![
                rule(PricingScope::Store),
                rule(PricingScope::Collection { name: "summer".into() }),
            ],
            ..PricingSettings::default()
        };
        assert_eq!(settings.rule_for(&product).map(|(i, _)| i), Some(1));
        settings
            .rules
            .push(rule(PricingScope::Product { product_id: product.id }));
        assert_eq!(settings.rule_for(&product).map(|(i, _)| i), Some(2));
        settings.rules.push(rule(PricingScope::Store));
        let problems = settings.problems(Currency::parse("EUR").expect("EUR"));
        assert!(
            problems.iter().any(|(f, _)| f == "pricing.rules[0].currency"),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|(f, _)| f == "pricing.rules[3].scope"),
            "{problems:?}"
        );
    }

    #[test]
    fn inventory_settings_are_bounded() {
        let settings = InventorySettings {
            safety_buffer: MAX_SAFETY_BUFFER + 1,
            sync_every_minutes: 1,
            ..InventorySettings::default()
        };
        let fields: Vec<String> = settings.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["inventory.safety_buffer", "inventory.sync_every_minutes"]);
        assert!(InventorySettings::default().problems().is_empty());
    }
}
