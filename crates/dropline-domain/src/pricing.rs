//! Pricing rules (issue 8 "Price monitor and pricing rules"): a store's selling price computed
//! from a supplier's landed cost (unit cost, plus shipping to the destination unless the store
//! charges shipping separately), converted to the store's currency at a recorded rate, then
//! multiplied and marked up (by cost-range tier), held above a minimum margin, and rounded up
//! to a chosen ending; with an optional compare-at price. Every price carries its
//! [`PriceReason`], so a price change can say why.
//!
//! Integers only: rates are `per_million`, multipliers and margins basis points, amounts
//! minor units; every step is checked in `i128` and an overflow is an error, never a wrap.

use crate::ledger::{LedgerError, RateUsed, format_rate};
use crate::money::{Currency, Money, MoneyError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Basis points in one whole (×1, 100 %).
const WHOLE_BP: u32 = 10_000;

/// The largest multiplier a rule takes, in basis points (×100): more is a typo, not a price.
pub const MAX_MULTIPLIER_BP: u32 = 100 * WHOLE_BP;

/// Whether the price a rule computes pays for the supplier's shipping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShippingInPrice {
    /// Landed cost = unit cost + shipping to the destination ("free shipping" stores).
    #[default]
    Included,
    /// Landed cost = unit cost; the customer pays shipping at checkout.
    ChargedSeparately,
}

/// How a computed price is rounded: always up, so rounding never gives back margin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rounding {
    /// The price as computed, to the minor unit.
    #[default]
    None,
    /// Up to the next whole unit (`20.00`).
    WholeUnits,
    /// Up to the next amount whose minor digits are `minor` (`99` gives `19.99`); below
    /// `10^exponent` of the store's currency (so only `0` for JPY).
    EndingIn { minor: u32 },
}

/// One cost range of a rule: a landed cost up to `up_to` (inclusive, in the rule's currency)
/// is priced with this multiplier and markup instead of the rule's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingTier {
    pub up_to: Money,
    pub multiplier_bp: u32,
    pub markup: Money,
}

/// A store's (or a collection's, or a product's) pricing rule.
///
/// The price of a landed cost is `ceil(cost × multiplier_bp / 10 000) + markup`, using the
/// first tier whose `up_to` covers the cost, or the rule's own multiplier and markup above
/// every tier (and when there are none). It is never below the price at the top of a lower
/// tier, so a higher cost never sells for less; then raised until `min_margin_bp` of the
/// price is margin over the landed cost; then rounded up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingRule {
    /// The store's currency: prices, markups and tier bounds are in it.
    pub currency: Currency,
    #[serde(default)]
    pub shipping: ShippingInPrice,
    /// 25 000 is ×2.5.
    pub multiplier_bp: u32,
    pub markup: Money,
    /// Strictly increasing `up_to`.
    #[serde(default)]
    pub tiers: Vec<PricingTier>,
    /// The least margin, in basis points of the price (3 000: 30 % of the price is margin).
    #[serde(default)]
    pub min_margin_bp: u32,
    #[serde(default)]
    pub rounding: Rounding,
    /// The compare-at ("was") price as this multiple of the selling price, rounded the same
    /// way; more than ×1.
    #[serde(default)]
    pub compare_at_multiplier_bp: Option<u32>,
}

/// What is wrong with one field of a rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleProblem {
    #[error("must be more than 0 and at most {MAX_MULTIPLIER_BP} (×100)")]
    MultiplierOutOfRange,
    #[error("must be more than {WHOLE_BP} (×1) and at most {MAX_MULTIPLIER_BP} (×100)")]
    CompareAtOutOfRange,
    #[error("must be in {expected}, the rule's currency")]
    WrongCurrency { expected: Currency },
    #[error("must not be negative")]
    Negative,
    #[error("must be more than the previous tier's")]
    TiersNotIncreasing,
    #[error("must be below {WHOLE_BP} (100 %)")]
    MarginTooHigh,
    #[error("must be at most {max} in {currency}")]
    EndingTooLarge { max: u32, currency: Currency },
}

/// A rule's field (named as it is serialized: `tiers[1].up_to`) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct RuleIssue {
    pub field: String,
    pub problem: RuleProblem,
}

/// Why a price could not be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("the pricing rule is not valid: {}", join_issues(.0))]
    InvalidRule(Vec<RuleIssue>),
    #[error("a cost must not be negative (got {0})")]
    NegativeCost(Money),
    #[error("the rule includes shipping and there is no shipping to the destination")]
    MissingShipping,
    #[error("the cost is in {from} and the store sells in {to}: a rate is needed")]
    MissingRate { from: Currency, to: Currency },
    #[error("the rate converts {rate_from} to {rate_to}, not {from} to {to}")]
    RateMismatch {
        from: Currency,
        to: Currency,
        rate_from: Currency,
        rate_to: Currency,
    },
    #[error("a conversion rate must be more than zero")]
    BadRate,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

fn join_issues(issues: &[RuleIssue]) -> String {
    issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl From<LedgerError> for PricingError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Money(money) => Self::Money(money),
            _ => Self::BadRate,
        }
    }
}

/// A supplier's cost for one unit, in the supplier's currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierCost {
    pub unit_cost: Money,
    /// Shipping one unit to the destination; `None` when the offer does not ship there.
    pub shipping: Option<Money>,
}

/// Which multiplier and markup priced a cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PriceBand {
    /// The tier at this index (its `up_to` covers the cost).
    Tier { index: usize, up_to: Money },
    /// The rule's own multiplier and markup (above every tier, or no tiers).
    Rule,
}

/// Everything a computed price came from, so a price change can say why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceReason {
    /// The supplier's cost as given.
    pub unit_cost: Money,
    /// The shipping counted in the landed cost (`None` when charged separately).
    pub shipping: Option<Money>,
    /// The cost the rule priced, in the rule's currency.
    pub landed_cost: Money,
    /// The rate the cost was converted with (`None` when already in the rule's currency).
    pub rate: Option<RateUsed>,
    pub band: PriceBand,
    pub multiplier_bp: u32,
    pub markup: Money,
    /// `landed_cost × multiplier + markup`, before any floor.
    pub marked_up: Money,
    /// Set when the price was held at the price of this lower tier's top (so a higher cost
    /// never sells for less).
    pub held_at_tier: Option<usize>,
    /// The least price that keeps the minimum margin.
    pub margin_floor: Money,
    /// Whether the price was raised to `margin_floor`.
    pub raised_for_margin: bool,
    /// The price before rounding.
    pub unrounded: Money,
    pub rounding: Rounding,
    /// The final price's margin over the landed cost, in basis points of the price
    /// (`None` for a zero price).
    pub margin_bp: Option<i64>,
}

/// A selling price with its compare-at price and its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputedPrice {
    pub price: Money,
    /// Above `price` whenever there is one.
    pub compare_at: Option<Money>,
    pub reason: PriceReason,
}

impl PricingRule {
    /// A rule that only multiplies: no markup, tiers, margin, rounding or compare-at price;
    /// shipping included.
    pub fn new(currency: Currency, multiplier_bp: u32) -> Self {
        Self {
            currency,
            shipping: ShippingInPrice::Included,
            multiplier_bp,
            markup: Money::zero(currency),
            tiers: Vec::new(),
            min_margin_bp: 0,
            rounding: Rounding::None,
            compare_at_multiplier_bp: None,
        }
    }

    /// Every problem of the rule, each named by its field; `Ok` when there is none.
    pub fn validate(&self) -> Result<(), Vec<RuleIssue>> {
        let mut issues = Vec::new();
        let mut push = |field: String, problem: RuleProblem| issues.push(RuleIssue { field, problem });
        let check_multiplier = |bp: u32| bp > 0 && bp <= MAX_MULTIPLIER_BP;
        let check_amount = |amount: Money| {
            if amount.currency != self.currency {
                Some(RuleProblem::WrongCurrency {
                    expected: self.currency,
                })
            } else if amount.minor < 0 {
                Some(RuleProblem::Negative)
            } else {
                None
            }
        };
        if !check_multiplier(self.multiplier_bp) {
            push("multiplier_bp".into(), RuleProblem::MultiplierOutOfRange);
        }
        if let Some(problem) = check_amount(self.markup) {
            push("markup".into(), problem);
        }
        let mut previous: Option<Money> = None;
        for (index, tier) in self.tiers.iter().enumerate() {
            if let Some(problem) = check_amount(tier.up_to) {
                push(format!("tiers[{index}].up_to"), problem);
            } else if previous.is_some_and(|p| p.currency == tier.up_to.currency && p.minor >= tier.up_to.minor) {
                push(format!("tiers[{index}].up_to"), RuleProblem::TiersNotIncreasing);
            }
            previous = Some(tier.up_to);
            if !check_multiplier(tier.multiplier_bp) {
                push(
                    format!("tiers[{index}].multiplier_bp"),
                    RuleProblem::MultiplierOutOfRange,
                );
            }
            if let Some(problem) = check_amount(tier.markup) {
                push(format!("tiers[{index}].markup"), problem);
            }
        }
        if self.min_margin_bp >= WHOLE_BP {
            push("min_margin_bp".into(), RuleProblem::MarginTooHigh);
        }
        if let Rounding::EndingIn { minor } = self.rounding {
            let max = minor_units_per_unit(self.currency) - 1;
            if i128::from(minor) > max {
                push(
                    "rounding.minor".into(),
                    RuleProblem::EndingTooLarge {
                        max: u32::try_from(max).unwrap_or(u32::MAX),
                        currency: self.currency,
                    },
                );
            }
        }
        if let Some(bp) = self.compare_at_multiplier_bp
            && (bp <= WHOLE_BP || bp > MAX_MULTIPLIER_BP)
        {
            push("compare_at_multiplier_bp".into(), RuleProblem::CompareAtOutOfRange);
        }
        if issues.is_empty() { Ok(()) } else { Err(issues) }
    }

    /// The selling price of `cost` under this rule. A cost in another currency than the
    /// rule's is converted with `rate` first (its pair must be the cost's currency to the
    /// rule's); a rate given for a cost already in the rule's currency is not used.
    pub fn compute_price(&self, cost: &SupplierCost, rate: Option<&RateUsed>) -> Result<ComputedPrice, PricingError> {
        self.validate().map_err(PricingError::InvalidRule)?;
        let currency = self.currency;

        // The landed cost, in the supplier's currency, then in the rule's.
        let shipping = match self.shipping {
            ShippingInPrice::Included => Some(cost.shipping.ok_or(PricingError::MissingShipping)?),
            ShippingInPrice::ChargedSeparately => None,
        };
        for amount in std::iter::once(cost.unit_cost).chain(shipping) {
            if amount.minor < 0 {
                return Err(PricingError::NegativeCost(amount));
            }
        }
        let source = match shipping {
            Some(shipping) => cost.unit_cost.checked_add(shipping)?,
            None => cost.unit_cost,
        };
        let (landed, rate_used) = if source.currency == currency {
            (source, None)
        } else {
            let rate = rate.ok_or(PricingError::MissingRate {
                from: source.currency,
                to: currency,
            })?;
            if rate.rate.from != source.currency || rate.rate.to != currency {
                return Err(PricingError::RateMismatch {
                    from: source.currency,
                    to: currency,
                    rate_from: rate.rate.from,
                    rate_to: rate.rate.to,
                });
            }
            (rate.rate.convert(source)?, Some(*rate))
        };
        let landed_minor = i128::from(landed.minor);

        // The band that prices it, and the floor of the lower tiers' tops.
        let band_index = self.tiers.iter().position(|tier| tier.up_to.minor >= landed.minor);
        let (band, multiplier_bp, markup) = match band_index {
            Some(index) => {
                let tier = &self.tiers[index];
                (
                    PriceBand::Tier {
                        index,
                        up_to: tier.up_to,
                    },
                    tier.multiplier_bp,
                    tier.markup,
                )
            }
            None => (PriceBand::Rule, self.multiplier_bp, self.markup),
        };
        let marked_up = mark_up(landed_minor, multiplier_bp, markup.minor)?;
        let mut price = marked_up;
        let mut held_at_tier = None;
        let lower_tiers = band_index.unwrap_or(self.tiers.len());
        for (index, tier) in self.tiers.iter().enumerate().take(lower_tiers) {
            let top = mark_up(i128::from(tier.up_to.minor), tier.multiplier_bp, tier.markup.minor)?;
            if top > price {
                price = top;
                held_at_tier = Some(index);
            }
        }

        // price × (1 - margin) ≥ landed  ⇔  price ≥ ceil(landed × 10 000 / (10 000 - margin)).
        let margin_floor = ceil_div(
            landed_minor
                .checked_mul(i128::from(WHOLE_BP))
                .ok_or(MoneyError::Overflow)?,
            i128::from(WHOLE_BP - self.min_margin_bp),
        )?;
        let raised_for_margin = margin_floor > price;
        if raised_for_margin {
            price = margin_floor;
        }
        let unrounded = price;
        let price = round_up(price, self.rounding, currency)?;

        let compare_at = match self.compare_at_multiplier_bp {
            Some(bp) => {
                let raw = ceil_div(
                    price.checked_mul(i128::from(bp)).ok_or(MoneyError::Overflow)?,
                    i128::from(WHOLE_BP),
                )?;
                let rounded = round_up(raw, self.rounding, currency)?;
                (rounded > price).then_some(rounded)
            }
            None => None,
        };
        let margin_bp = (price > 0).then(|| (price - landed_minor) * i128::from(WHOLE_BP) / price);

        let money = |minor: i128| to_money(minor, currency);
        Ok(ComputedPrice {
            price: money(price)?,
            compare_at: compare_at.map(money).transpose()?,
            reason: PriceReason {
                unit_cost: cost.unit_cost,
                shipping,
                landed_cost: landed,
                rate: rate_used,
                band,
                multiplier_bp,
                markup,
                marked_up: money(marked_up)?,
                held_at_tier,
                margin_floor: money(margin_floor)?,
                raised_for_margin,
                unrounded: money(unrounded)?,
                rounding: self.rounding,
                // Between 0 and 10 000 since price ≥ landed ≥ 0.
                margin_bp: margin_bp.map(|bp| i64::try_from(bp).unwrap_or(i64::MAX)),
            },
        })
    }
}

/// Whether moving a price from `old` to `new` changes it by more than `threshold_bp` basis
/// points of `old`, up or down. Any change from a zero price needs approval.
pub fn price_change_needs_approval(old: Money, new: Money, threshold_bp: u32) -> Result<bool, MoneyError> {
    // |new - old| / |old| > threshold / 10 000, multiplied out to stay in integers.
    let change = new.checked_sub(old)?;
    let change_scaled = i128::from(change.minor)
        .abs()
        .checked_mul(i128::from(WHOLE_BP))
        .ok_or(MoneyError::Overflow)?;
    let allowed_scaled = i128::from(old.minor)
        .abs()
        .checked_mul(i128::from(threshold_bp))
        .ok_or(MoneyError::Overflow)?;
    Ok(change_scaled > allowed_scaled)
}

/// `ceil(cost × bp / 10 000) + markup`: the multiplied cost is rounded up, never against the
/// seller.
fn mark_up(cost_minor: i128, multiplier_bp: u32, markup_minor: i64) -> Result<i128, MoneyError> {
    let multiplied = ceil_div(
        cost_minor
            .checked_mul(i128::from(multiplier_bp))
            .ok_or(MoneyError::Overflow)?,
        i128::from(WHOLE_BP),
    )?;
    multiplied
        .checked_add(i128::from(markup_minor))
        .ok_or(MoneyError::Overflow)
}

/// `ceil(numerator / denominator)` for a non-negative numerator and a positive denominator.
fn ceil_div(numerator: i128, denominator: i128) -> Result<i128, MoneyError> {
    let quotient = numerator.checked_div(denominator).ok_or(MoneyError::Overflow)?;
    let remainder = numerator.checked_rem(denominator).ok_or(MoneyError::Overflow)?;
    if remainder > 0 {
        quotient.checked_add(1).ok_or(MoneyError::Overflow)
    } else {
        Ok(quotient)
    }
}

/// Minor units in one unit of `currency`: 100 for USD, 1 for JPY, 1 000 for KWD.
fn minor_units_per_unit(currency: Currency) -> i128 {
    10i128.pow(currency.exponent())
}

/// `price` (non-negative) up to the next amount with the rounding's ending.
fn round_up(price: i128, rounding: Rounding, currency: Currency) -> Result<i128, MoneyError> {
    let ending = match rounding {
        Rounding::None => return Ok(price),
        Rounding::WholeUnits => 0,
        Rounding::EndingIn { minor } => i128::from(minor),
    };
    let unit = minor_units_per_unit(currency);
    let candidate = (price - price.rem_euclid(unit))
        .checked_add(ending)
        .ok_or(MoneyError::Overflow)?;
    if candidate >= price {
        Ok(candidate)
    } else {
        candidate.checked_add(unit).ok_or(MoneyError::Overflow)
    }
}

fn to_money(minor: i128, currency: Currency) -> Result<Money, MoneyError> {
    i64::try_from(minor)
        .map(|minor| Money::new(minor, currency))
        .map_err(|_| MoneyError::Overflow)
}

/// A multiplier in basis points as `×2.5`.
fn format_multiplier(bp: u32) -> String {
    format!("×{}", format_rate(u64::from(bp) * 100))
}

impl fmt::Display for PriceReason {
    /// One line a seller reads: `landed cost 12.30 USD (10.00 CNY + 2.00 CNY shipping at
    /// 0.138 from 2026-12-01); tier 1 (up to 20.00 USD): ×2.5 + 1.00 USD = 31.75 USD; …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "landed cost {} (", self.landed_cost)?;
        match self.shipping {
            Some(shipping) => write!(f, "{} + {} shipping", self.unit_cost, shipping)?,
            None => write!(f, "{}, shipping charged separately", self.unit_cost)?,
        }
        if let Some(rate) = &self.rate {
            write!(
                f,
                " at {} {}/{} from {}",
                format_rate(rate.rate.per_million),
                rate.rate.to,
                rate.rate.from,
                rate.effective_on
            )?;
        }
        f.write_str("); ")?;
        match self.band {
            PriceBand::Tier { index, up_to } => write!(f, "tier {index} (up to {up_to})")?,
            PriceBand::Rule => f.write_str("the rule")?,
        }
        write!(
            f,
            ": {} + {} = {}",
            format_multiplier(self.multiplier_bp),
            self.markup,
            self.marked_up
        )?;
        if let Some(index) = self.held_at_tier {
            write!(f, "; held at tier {index}'s top price")?;
        }
        if self.raised_for_margin {
            write!(f, "; raised to {} for the minimum margin", self.margin_floor)?;
        }
        match self.rounding {
            Rounding::None => Ok(()),
            Rounding::WholeUnits => f.write_str("; rounded up to a whole unit"),
            Rounding::EndingIn { minor } => write!(f, "; rounded up to end in {minor}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Rate;
    use proptest::prelude::*;
    use time::OffsetDateTime;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect("a currency")
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, currency("USD"))
    }

    fn cny(minor: i64) -> Money {
        Money::new(minor, currency("CNY"))
    }

    fn rate(from: &str, to: &str, per_million: u64) -> RateUsed {
        RateUsed {
            rate: Rate {
                from: currency(from),
                to: currency(to),
                per_million,
                as_of: NOW,
            },
            effective_on: date!(2026 - 12 - 01),
            charged: false,
        }
    }

    fn cost(unit: Money, shipping: Option<Money>) -> SupplierCost {
        SupplierCost {
            unit_cost: unit,
            shipping,
        }
    }

    /// The price (and compare-at price) of a USD cost with no shipping charged.
    fn check(rule: &PricingRule, unit_minor: i64) -> (i64, Option<i64>) {
        let mut rule = rule.clone();
        rule.shipping = ShippingInPrice::ChargedSeparately;
        let computed = rule.compute_price(&cost(usd(unit_minor), None), None).expect("a price");
        (computed.price.minor, computed.compare_at.map(|m| m.minor))
    }

    fn tiered() -> PricingRule {
        PricingRule {
            tiers: vec![
                PricingTier {
                    up_to: usd(1_000),
                    multiplier_bp: 30_000,
                    markup: usd(0),
                },
                PricingTier {
                    up_to: usd(5_000),
                    multiplier_bp: 20_000,
                    markup: usd(100),
                },
            ],
            markup: usd(500),
            ..PricingRule::new(currency("USD"), 15_000)
        }
    }

    #[test]
    fn multiplier_and_markup() {
        let rule = PricingRule {
            markup: usd(150),
            ..PricingRule::new(currency("USD"), 25_000)
        };
        // 10.00 × 2.5 + 1.50.
        assert_eq!(check(&rule, 1_000), (2_650, None));
        // 0.01 × 2.5 = 0.025, rounded up to 0.03 (never against the seller), + 1.50.
        assert_eq!(check(&rule, 1), (153, None));
        assert_eq!(check(&rule, 0), (150, None));
    }

    #[test]
    fn shipping_is_included_or_charged_separately() {
        let included = PricingRule::new(currency("USD"), 20_000);
        let computed = included
            .compute_price(&cost(usd(1_000), Some(usd(300))), None)
            .expect("a price");
        assert_eq!(computed.price, usd(2_600));
        assert_eq!(computed.reason.landed_cost, usd(1_300));
        assert_eq!(computed.reason.shipping, Some(usd(300)));
        assert_eq!(
            included.compute_price(&cost(usd(1_000), None), None),
            Err(PricingError::MissingShipping)
        );

        let separate = PricingRule {
            shipping: ShippingInPrice::ChargedSeparately,
            ..included
        };
        let computed = separate
            .compute_price(&cost(usd(1_000), Some(usd(300))), None)
            .expect("a price");
        assert_eq!(computed.price, usd(2_000));
        assert_eq!(computed.reason.landed_cost, usd(1_000));
        assert_eq!(computed.reason.shipping, None);
        assert!(separate.compute_price(&cost(usd(1_000), None), None).is_ok());
    }

    #[test]
    fn tiers_pick_their_own_multiplier_and_never_sell_a_dearer_cost_for_less() {
        let rule = tiered();
        let band = |minor: i64| {
            let mut rule = rule.clone();
            rule.shipping = ShippingInPrice::ChargedSeparately;
            rule.compute_price(&cost(usd(minor), None), None)
                .expect("a price")
                .reason
        };
        // Up to 10.00 (inclusive): ×3.
        assert_eq!(check(&rule, 1_000), (3_000, None));
        assert_eq!(
            band(1_000).band,
            PriceBand::Tier {
                index: 0,
                up_to: usd(1_000)
            }
        );
        // Up to 50.00: ×2 + 1.00; 20.00 gives 41.00.
        assert_eq!(check(&rule, 2_000), (4_100, None));
        // 10.01 × 2 + 1.00 = 21.02 would be less than 30.00 for 10.00: held at tier 0's top.
        assert_eq!(check(&rule, 1_001), (3_000, None));
        let reason = band(1_001);
        assert_eq!(reason.marked_up, usd(2_102));
        assert_eq!(reason.held_at_tier, Some(0));
        // Above every tier: the rule's ×1.5 + 5.00; 80.00 gives 125.00 > 101.00 at 50.00.
        assert_eq!(check(&rule, 8_000), (12_500, None));
        assert_eq!(band(8_000).band, PriceBand::Rule);
        // 50.01 × 1.5 + 5.00 = 80.02 < 101.00: held at tier 1's top.
        assert_eq!(check(&rule, 5_001), (10_100, None));
        assert_eq!(band(5_001).held_at_tier, Some(1));
    }

    #[test]
    fn minimum_margin_raises_the_price() {
        let rule = PricingRule {
            min_margin_bp: 4_000,
            ..PricingRule::new(currency("USD"), 12_000)
        };
        // ×1.2 gives 12.00 for 10.00, a 16.7 % margin; 40 % needs 10.00 / 0.6 = 16.67 (up).
        assert_eq!(check(&rule, 1_000), (1_667, None));
        let mut separate = rule.clone();
        separate.shipping = ShippingInPrice::ChargedSeparately;
        let reason = separate
            .compute_price(&cost(usd(1_000), None), None)
            .expect("a price")
            .reason;
        assert!(reason.raised_for_margin);
        assert_eq!(reason.margin_floor, usd(1_667));
        assert_eq!(reason.margin_bp, Some(4_001));
        // A multiplier that already gives the margin is left alone.
        assert_eq!(
            check(
                &PricingRule {
                    min_margin_bp: 4_000,
                    ..PricingRule::new(currency("USD"), 20_000)
                },
                1_000
            ),
            (2_000, None)
        );
        // Below ×1 the price still covers the cost.
        assert_eq!(check(&PricingRule::new(currency("USD"), 5_000), 1_000), (1_000, None));
    }

    #[test]
    fn rounding_goes_up_to_the_ending() {
        let with = |rounding: Rounding| PricingRule {
            rounding,
            ..PricingRule::new(currency("USD"), 20_000)
        };
        let ninety_nine = with(Rounding::EndingIn { minor: 99 });
        assert_eq!(check(&ninety_nine, 1_000), (2_099, None));
        assert_eq!(check(&ninety_nine, 950), (1_999, None));
        // Already on the ending: unchanged.
        let at_cost = PricingRule {
            rounding: Rounding::EndingIn { minor: 99 },
            ..PricingRule::new(currency("USD"), 10_000)
        };
        assert_eq!(check(&at_cost, 1_999), (1_999, None));
        assert_eq!(check(&with(Rounding::EndingIn { minor: 50 }), 1_013), (2_050, None));
        assert_eq!(check(&with(Rounding::WholeUnits), 1_013), (2_100, None));
        assert_eq!(check(&with(Rounding::WholeUnits), 1_000), (2_000, None));
        assert_eq!(check(&with(Rounding::None), 1_013), (2_026, None));
        // Yen have no minor digits: whole units are every amount.
        let yen = PricingRule {
            rounding: Rounding::WholeUnits,
            shipping: ShippingInPrice::ChargedSeparately,
            ..PricingRule::new(currency("JPY"), 20_000)
        };
        let computed = yen
            .compute_price(&cost(Money::new(1_234, currency("JPY")), None), None)
            .expect("a price");
        assert_eq!(computed.price.minor, 2_468);
        // Rounding never gives the margin back: 40 % of 16.67 holds at 16.99 too.
        let rule = PricingRule {
            min_margin_bp: 4_000,
            rounding: Rounding::EndingIn { minor: 99 },
            ..PricingRule::new(currency("USD"), 12_000)
        };
        assert_eq!(check(&rule, 1_000), (1_699, None));
    }

    #[test]
    fn compare_at_price_is_a_multiple_of_the_price_rounded_the_same_way() {
        let rule = PricingRule {
            rounding: Rounding::EndingIn { minor: 99 },
            compare_at_multiplier_bp: Some(15_000),
            ..PricingRule::new(currency("USD"), 20_000)
        };
        // 19.99 × 1.5 = 29.985 → 29.99.
        assert_eq!(check(&rule, 950), (1_999, Some(2_999)));
        // A zero price has no compare-at price.
        let free = PricingRule {
            compare_at_multiplier_bp: Some(15_000),
            ..PricingRule::new(currency("USD"), 20_000)
        };
        assert_eq!(check(&free, 0), (0, None));
        assert_eq!(check(&free, 1), (2, Some(3)));
    }

    #[test]
    fn a_cost_in_another_currency_is_converted_first() {
        let rule = PricingRule::new(currency("USD"), 20_000);
        let supplier_cost = cost(cny(8_000), Some(cny(2_000)));
        // (80.00 + 20.00) CNY at 0.138 = 13.80 USD, ×2 = 27.60.
        let computed = rule
            .compute_price(&supplier_cost, Some(&rate("CNY", "USD", 138_000)))
            .expect("a price");
        assert_eq!(computed.price, usd(2_760));
        assert_eq!(computed.reason.landed_cost, usd(1_380));
        assert_eq!(computed.reason.rate, Some(rate("CNY", "USD", 138_000)));
        assert_eq!(
            computed.reason.to_string(),
            "landed cost 13.80 USD (80.00 CNY + 20.00 CNY shipping at 0.138 USD/CNY from 2026-12-01); \
             the rule: ×2 + 0.00 USD = 27.60 USD"
        );

        assert_eq!(
            rule.compute_price(&supplier_cost, None),
            Err(PricingError::MissingRate {
                from: currency("CNY"),
                to: currency("USD")
            })
        );
        for wrong in [rate("EUR", "USD", 1_080_000), rate("CNY", "EUR", 128_000)] {
            assert!(matches!(
                rule.compute_price(&supplier_cost, Some(&wrong)),
                Err(PricingError::RateMismatch { .. })
            ));
        }
        assert_eq!(
            rule.compute_price(&supplier_cost, Some(&rate("CNY", "USD", 0))),
            Err(PricingError::BadRate)
        );
        // A rate for a cost already in the store's currency is not used.
        let same = rule
            .compute_price(&cost(usd(100), Some(usd(0))), Some(&rate("CNY", "USD", 138_000)))
            .expect("a price");
        assert_eq!(same.reason.rate, None);
        // Unit cost and shipping in two currencies are refused.
        assert!(matches!(
            rule.compute_price(&cost(cny(100), Some(usd(1))), Some(&rate("CNY", "USD", 138_000))),
            Err(PricingError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
    }

    #[test]
    fn the_reason_says_why() {
        let rule = PricingRule {
            min_margin_bp: 7_000,
            rounding: Rounding::EndingIn { minor: 99 },
            ..tiered()
        };
        let computed = rule
            .compute_price(&cost(usd(1_001), Some(usd(0))), None)
            .expect("a price");
        // 10.01 / 0.3 = 33.366… → 33.37, rounded up to 33.99.
        assert_eq!(computed.price, usd(3_399));
        assert_eq!(
            computed.reason.to_string(),
            "landed cost 10.01 USD (10.01 USD + 0.00 USD shipping); tier 1 (up to 50.00 USD): ×2 + 1.00 USD \
             = 21.02 USD; held at tier 0's top price; raised to 33.37 USD for the minimum margin; rounded up \
             to end in 99"
        );
    }

    #[test]
    fn negative_costs_and_overflow_are_errors() {
        let rule = PricingRule::new(currency("USD"), 20_000);
        assert_eq!(
            rule.compute_price(&cost(usd(-1), Some(usd(0))), None),
            Err(PricingError::NegativeCost(usd(-1)))
        );
        assert_eq!(
            rule.compute_price(&cost(usd(1), Some(usd(-5))), None),
            Err(PricingError::NegativeCost(usd(-5)))
        );
        assert_eq!(
            rule.compute_price(&cost(usd(i64::MAX), Some(usd(0))), None),
            Err(PricingError::Money(MoneyError::Overflow))
        );
        assert_eq!(
            rule.compute_price(&cost(usd(i64::MAX), Some(usd(1))), None),
            Err(PricingError::Money(MoneyError::Overflow))
        );
        let rounding = PricingRule {
            rounding: Rounding::EndingIn { minor: 99 },
            ..PricingRule::new(currency("USD"), 10_000)
        };
        assert_eq!(
            rounding.compute_price(&cost(usd(i64::MAX - 1), Some(usd(0))), None),
            Err(PricingError::Money(MoneyError::Overflow))
        );
    }

    #[test]
    fn validation_names_every_bad_field() {
        let fields = |rule: &PricingRule| -> Vec<String> {
            rule.validate()
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|issue| issue.field)
                .collect()
        };
        assert!(tiered().validate().is_ok());
        let bad = PricingRule {
            multiplier_bp: 0,
            markup: Money::new(100, currency("EUR")),
            tiers: vec![
                PricingTier {
                    up_to: usd(1_000),
                    multiplier_bp: MAX_MULTIPLIER_BP + 1,
                    markup: usd(-1),
                },
                PricingTier {
                    up_to: usd(1_000),
                    multiplier_bp: 20_000,
                    markup: usd(0),
                },
            ],
            min_margin_bp: 10_000,
            rounding: Rounding::EndingIn { minor: 100 },
            compare_at_multiplier_bp: Some(10_000),
            ..PricingRule::new(currency("USD"), 20_000)
        };
        assert_eq!(
            fields(&bad),
            [
                "multiplier_bp",
                "markup",
                "tiers[0].multiplier_bp",
                "tiers[0].markup",
                "tiers[1].up_to",
                "min_margin_bp",
                "rounding.minor",
                "compare_at_multiplier_bp",
            ]
        );
        let issues = bad.validate().expect_err("invalid");
        assert_eq!(issues[1].to_string(), "markup: must be in USD, the rule's currency");
        assert_eq!(issues[6].to_string(), "rounding.minor: must be at most 99 in USD");
        assert!(matches!(
            bad.compute_price(&cost(usd(1), Some(usd(1))), None),
            Err(PricingError::InvalidRule(issues)) if issues.len() == 8
        ));

        // The limits themselves are allowed.
        let edge = PricingRule {
            min_margin_bp: 9_999,
            rounding: Rounding::EndingIn { minor: 99 },
            compare_at_multiplier_bp: Some(MAX_MULTIPLIER_BP),
            ..PricingRule::new(currency("USD"), MAX_MULTIPLIER_BP)
        };
        assert!(edge.validate().is_ok());
        // Yen take only a zero ending; dinars up to 999.
        let ending = |code: &str, minor: u32| PricingRule {
            rounding: Rounding::EndingIn { minor },
            markup: Money::zero(currency(code)),
            ..PricingRule::new(currency(code), 20_000)
        };
        assert!(ending("JPY", 0).validate().is_ok());
        assert_eq!(fields(&ending("JPY", 1)), ["rounding.minor"]);
        assert!(ending("KWD", 999).validate().is_ok());
        assert_eq!(fields(&ending("KWD", 1_000)), ["rounding.minor"]);
        // Tiers must strictly increase: a lower bound after a higher one is refused too.
        let mut decreasing = tiered();
        decreasing.tiers.swap(0, 1);
        assert_eq!(fields(&decreasing), ["tiers[1].up_to"]);
    }

    #[test]
    fn rules_read_and_write_as_json() {
        let rule = PricingRule {
            rounding: Rounding::EndingIn { minor: 99 },
            compare_at_multiplier_bp: Some(15_000),
            ..tiered()
        };
        let json = serde_json::to_value(&rule).expect("json");
        assert_eq!(json["rounding"], serde_json::json!({"kind": "ending_in", "minor": 99}));
        assert_eq!(json["shipping"], "included");
        let back: PricingRule = serde_json::from_value(json).expect("a rule");
        assert_eq!(back, rule);
        let minimal: PricingRule = serde_json::from_value(serde_json::json!({
            "currency": "USD",
            "multiplier_bp": 25_000,
            "markup": {"minor": 0, "currency": "USD"},
        }))
        .expect("a rule with defaults");
        assert_eq!(minimal, PricingRule::new(currency("USD"), 25_000));
    }

    #[test]
    fn approval_is_needed_above_the_threshold_either_way() {
        // 10 % of 20.00 is 2.00.
        assert_eq!(price_change_needs_approval(usd(2_000), usd(2_200), 1_000), Ok(false));
        assert_eq!(price_change_needs_approval(usd(2_000), usd(2_201), 1_000), Ok(true));
        assert_eq!(price_change_needs_approval(usd(2_000), usd(1_800), 1_000), Ok(false));
        assert_eq!(price_change_needs_approval(usd(2_000), usd(1_799), 1_000), Ok(true));
        assert_eq!(price_change_needs_approval(usd(2_000), usd(2_000), 0), Ok(false));
        assert_eq!(price_change_needs_approval(usd(2_000), usd(2_001), 0), Ok(true));
        assert_eq!(price_change_needs_approval(usd(0), usd(1), 1_000_000), Ok(true));
        assert_eq!(price_change_needs_approval(usd(0), usd(0), 0), Ok(false));
        assert!(matches!(
            price_change_needs_approval(usd(1), cny(1), 1_000),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert_eq!(
            price_change_needs_approval(usd(i64::MIN), usd(1), 1_000),
            Err(MoneyError::Overflow)
        );
    }

    fn any_rounding() -> impl Strategy<Value = Rounding> {
        prop_oneof![
            Just(Rounding::None),
            Just(Rounding::WholeUnits),
            (0u32..100).prop_map(|minor| Rounding::EndingIn { minor }),
        ]
    }

    /// A valid USD rule: up to four tiers under 1 000.00, multipliers from ×0.5 to ×10.
    fn any_rule() -> impl Strategy<Value = PricingRule> {
        (
            5_000u32..100_000,
            0i64..5_000,
            prop::collection::btree_map(1i64..100_000, (5_000u32..100_000, 0i64..5_000), 0..4),
            0u32..9_000,
            any_rounding(),
            prop::option::of(10_001u32..40_000),
        )
            .prop_map(
                |(multiplier_bp, markup, tiers, min_margin_bp, rounding, compare_at)| PricingRule {
                    currency: currency("USD"),
                    shipping: ShippingInPrice::Included,
                    multiplier_bp,
                    markup: usd(markup),
                    tiers: tiers
                        .into_iter()
                        .map(|(up_to, (multiplier_bp, markup))| PricingTier {
                            up_to: usd(up_to),
                            multiplier_bp,
                            markup: usd(markup),
                        })
                        .collect(),
                    min_margin_bp,
                    rounding,
                    compare_at_multiplier_bp: compare_at,
                },
            )
    }

    proptest! {
        /// The price covers the landed cost and the minimum margin, rounding included, and
        /// ends in the chosen cents (the compare-at price too, and it is above the price).
        #[test]
        fn the_price_covers_the_cost_and_the_margin_and_ends_as_chosen(
            rule in any_rule(),
            unit in 0i64..200_000,
            shipping in 0i64..5_000,
        ) {
            prop_assert!(rule.validate().is_ok());
            let computed = rule.compute_price(&cost(usd(unit), Some(usd(shipping))), None).expect("a price");
            let price = i128::from(computed.price.minor);
            let landed = i128::from(unit + shipping);
            prop_assert_eq!(computed.reason.landed_cost.minor, unit + shipping);
            prop_assert!(price >= landed);
            prop_assert!((price - landed) * 10_000 >= price * i128::from(rule.min_margin_bp));
            prop_assert!(price >= i128::from(computed.reason.marked_up.minor));
            let ending = match rule.rounding {
                Rounding::None => None,
                Rounding::WholeUnits => Some(0),
                Rounding::EndingIn { minor } => Some(i64::from(minor)),
            };
            if let Some(ending) = ending {
                prop_assert_eq!(computed.price.minor % 100, ending);
                // Rounding moves up by less than one unit.
                prop_assert!(computed.price.minor - computed.reason.unrounded.minor < 100);
                if let Some(compare_at) = computed.compare_at {
                    prop_assert_eq!(compare_at.minor % 100, ending);
                }
            }
            if let Some(compare_at) = computed.compare_at {
                prop_assert!(compare_at.minor > computed.price.minor);
            }
        }

        /// A higher cost never gives a lower price (nor a lower compare-at price), across
        /// tiers of any shape.
        #[test]
        fn a_higher_cost_never_gives_a_lower_price(
            rule in any_rule(),
            low in 0i64..150_000,
            step in 0i64..50_000,
        ) {
            let price_of = |minor: i64| rule.compute_price(&cost(usd(minor), Some(usd(0))), None).expect("a price");
            let (lower, higher) = (price_of(low), price_of(low + step));
            prop_assert!(lower.price.minor <= higher.price.minor, "{} then {}", lower.reason, higher.reason);
            if let (Some(a), Some(b)) = (lower.compare_at, higher.compare_at) {
                prop_assert!(a.minor <= b.minor);
            }
        }

        /// The landed cost converted into the store's currency is within half a minor unit of
        /// the exact amount, across exponents (CNY to USD, USD to JPY, EUR to KWD).
        #[test]
        fn conversion_is_within_half_a_unit(
            pair in prop::sample::select(vec![("CNY", "USD"), ("USD", "JPY"), ("EUR", "KWD")]),
            unit in 0i64..1_000_000_000,
            shipping in 0i64..1_000_000,
            per_million in 1u64..10_000_000_000,
        ) {
            let (from, to) = (currency(pair.0), currency(pair.1));
            let rule = PricingRule::new(to, 10_000);
            let computed = rule
                .compute_price(
                    &cost(Money::new(unit, from), Some(Money::new(shipping, from))),
                    Some(&rate(pair.0, pair.1, per_million)),
                )
                .expect("a price");
            // landed / 10^exp_to ≈ source / 10^exp_from × rate / 10^6, multiplied out.
            let source = i128::from(unit + shipping);
            let exact = source * i128::from(per_million) * 10i128.pow(to.exponent());
            let denominator = 1_000_000 * 10i128.pow(from.exponent());
            let error = (i128::from(computed.reason.landed_cost.minor) * denominator - exact).abs();
            prop_assert!(error * 2 <= denominator);
        }

        /// Approval is symmetric in size: the same change up or down from a price is judged
        /// the same way, and never needed within the threshold.
        #[test]
        fn approval_is_symmetric(old in 1i64..1_000_000, change in 0i64..1_000_000, threshold in 0u32..20_000) {
            let up = price_change_needs_approval(usd(old), usd(old + change), threshold).expect("same currency");
            let down = price_change_needs_approval(usd(old), usd(old - change), threshold).expect("same currency");
            prop_assert_eq!(up, down);
            prop_assert_eq!(up, i128::from(change) * 10_000 > i128::from(old) * i128::from(threshold));
        }
    }
}
