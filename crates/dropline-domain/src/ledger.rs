//! The money after the sale (DESIGN.md "Concepts": ledger entry; return, refund, dispute):
//! an order's ledger entries and the profit they add up to, currency conversion at a recorded
//! rate, a vendor's balance (pending within the holding period, available, paid out) always
//! summed from its entries, and the return, dispute and supplier-claim machines.
//!
//! Amounts are integer minor units; every sum is checked, so an overflow is an error and never
//! wraps. Entries hold magnitudes; their kind says which way the money moves.

use crate::ids::OrderId;
use crate::money::{Currency, Money, MoneyError};
use crate::state::{TransitionError, snake_enum};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// Why a money step is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("an amount must not be negative (got {0})")]
    Negative(Money),
    #[error("a refund of {requested} is more than the {left} still refundable")]
    RefundAbovePaid { requested: Money, left: Money },
    #[error("a payout of {requested} is more than the {available} available")]
    PayoutAboveAvailable { requested: Money, available: Money },
    #[error("an amount must be more than zero")]
    Zero,
    #[error("a conversion rate must be more than zero")]
    BadRate,
}

snake_enum!(
    /// One kind of money movement of an order.
    LedgerKind {
        /// What the customer paid for the lines.
        Sale => "sale",
        ShippingCharged => "shipping_charged",
        Discount => "discount",
        /// Collected for the tax authority: recorded, never profit.
        TaxCollected => "tax_collected",
        SupplierCost => "supplier_cost",
        SupplierShipping => "supplier_shipping",
        PaymentFee => "payment_fee",
        PlatformFee => "platform_fee",
        Refund => "refund",
        Chargeback => "chargeback",
        ChargebackFee => "chargeback_fee",
        /// Money a supplier gave back (a return claim, a cancelled supplier order).
        SupplierRefund => "supplier_refund",
        /// A re-shipment's supplier order, charged to the original order.
        ReshipmentCost => "reshipment_cost",
    }
);

impl LedgerKind {
    /// +1 for money coming to the seller, -1 for money going out, 0 for money only passing
    /// through (taxes).
    pub fn sign(self) -> i64 {
        use LedgerKind as K;
        match self {
            K::Sale | K::ShippingCharged | K::SupplierRefund => 1,
            K::TaxCollected => 0,
            K::Discount
            | K::SupplierCost
            | K::SupplierShipping
            | K::PaymentFee
            | K::PlatformFee
            | K::Refund
            | K::Chargeback
            | K::ChargebackFee
            | K::ReshipmentCost => -1,
        }
    }

    /// Whether the entry counts towards the revenue that a margin is a share of: what the
    /// customer was charged, less discounts and refunds.
    pub fn is_revenue(self) -> bool {
        use LedgerKind as K;
        matches!(
            self,
            K::Sale | K::ShippingCharged | K::Discount | K::Refund | K::Chargeback
        )
    }
}

/// A rate between two currencies, as dropline used it: one unit of `from` is
/// `per_million / 1_000_000` units of `to`, as of `as_of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub from: Currency,
    pub to: Currency,
    pub per_million: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
}

impl Rate {
    /// `amount` (in `from`) in `to`, rounded half away from zero to the minor unit of `to`.
    pub fn convert(&self, amount: Money) -> Result<Money, LedgerError> {
        if self.per_million == 0 {
            return Err(LedgerError::BadRate);
        }
        if amount.currency != self.from {
            return Err(MoneyError::CurrencyMismatch {
                left: amount.currency,
                right: self.from,
            }
            .into());
        }
        // minor_to = minor_from × rate × 10^exp_to / (10^6 × 10^exp_from), in checked i128.
        let numerator = i128::from(amount.minor)
            .checked_mul(i128::from(self.per_million))
            .and_then(|n| n.checked_mul(10i128.pow(self.to.exponent())))
            .ok_or(MoneyError::Overflow)?;
        let denominator = 1_000_000i128 * 10i128.pow(self.from.exponent());
        let quotient = numerator / denominator;
        let remainder = numerator % denominator;
        let rounded = if remainder.abs() * 2 >= denominator {
            quotient + numerator.signum()
        } else {
            quotient
        };
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.to))
    }
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// The largest rate the table takes: one unit of `from` for a million units of `to`
/// (more is a typo, not a currency).
pub const MAX_RATE_PER_MILLION: u64 = 1_000_000 * 1_000_000;

/// Parses a rate written as a decimal (`0.92`, `151.2345`): more than zero, at most six
/// decimals, at most [`MAX_RATE_PER_MILLION`]; the reason when refused.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    if whole.is_empty()
        || whole.len() > 7
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (trimmed.contains('.') && fraction.is_empty())
    {
        return Err("must be a positive decimal such as 0.92".into());
    }
    if fraction.len() > 6 {
        return Err("must have at most 6 decimals".into());
    }
    let mut per_million: u64 = whole
        .parse()
        .map_err(|_| "must be a positive decimal such as 0.92".to_string())?;
    per_million *= 1_000_000;
    let mut scale = 100_000;
    for digit in fraction.bytes() {
        per_million += u64::from(digit - b'0') * scale;
        scale /= 10;
    }
    if per_million == 0 {
        return Err("must be more than zero".into());
    }
    if per_million > MAX_RATE_PER_MILLION {
        return Err("must be at most 1000000".into());
    }
    Ok(per_million)
}

/// A rate as a decimal without trailing zeros: `0.92`, `151.2345`, `1`.
pub fn format_rate(per_million: u64) -> String {
    let whole = per_million / 1_000_000;
    let fraction = per_million % 1_000_000;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// One row of the exchange-rate table the operator keeps: from `effective_on`, one unit of
/// `from` is `per_million / 1_000_000` units of `to`. For a pair and a day the row with the
/// newest effective date not after that day wins (on the same date, the one set last).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRate {
    pub from: Currency,
    pub to: Currency,
    pub per_million: u64,
    #[serde(with = "iso_date")]
    pub effective_on: Date,
    #[serde(with = "time::serde::rfc3339")]
    pub set_at: OffsetDateTime,
    /// Who set it (the operator's name or email, `cli`).
    pub set_by: String,
}

impl ExchangeRate {
    /// Checks a row's pair and rate: the field and the reason when refused.
    pub fn check(from: Currency, to: Currency, per_million: u64) -> Result<(), (&'static str, String)> {
        if from == to {
            return Err(("to", "must be another currency than from".into()));
        }
        if per_million == 0 {
            return Err(("rate", "must be more than zero".into()));
        }
        if per_million > MAX_RATE_PER_MILLION {
            return Err(("rate", "must be at most 1000000".into()));
        }
        Ok(())
    }

    /// This row as the rate a cost was converted with at `at`.
    pub fn used(&self, at: OffsetDateTime) -> RateUsed {
        RateUsed {
            rate: Rate {
                from: self.from,
                to: self.to,
                per_million: self.per_million,
                as_of: at,
            },
            effective_on: self.effective_on,
            charged: false,
        }
    }
}

/// The rate a supplier order's cost in another currency was converted with, recorded once
/// on the supplier order (a later change of the table does not move it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateUsed {
    /// The rate; `as_of` is when it was applied.
    pub rate: Rate,
    /// The table row's effective date, or the day a charged rate was recorded.
    #[serde(with = "iso_date")]
    pub effective_on: Date,
    /// The rate the seller says it was charged at (not the table's).
    #[serde(default)]
    pub charged: bool,
}

/// One money movement of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub order_id: OrderId,
    pub kind: LedgerKind,
    /// The magnitude, in the order's currency; the kind gives the direction.
    pub amount: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// When the amount was charged in another currency: what was charged, and the rate used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<(Money, Rate)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl LedgerEntry {
    /// An entry of `amount` (not negative).
    pub fn new(order_id: OrderId, kind: LedgerKind, amount: Money, at: OffsetDateTime) -> Result<Self, LedgerError> {
        if amount.minor < 0 {
            return Err(LedgerError::Negative(amount));
        }
        Ok(Self {
            order_id,
            kind,
            amount,
            at,
            converted_from: None,
            note: None,
        })
    }

    /// An entry of an amount charged in another currency, converted at `rate` into the
    /// rate's target (the order's currency); both are kept.
    pub fn converted(
        order_id: OrderId,
        kind: LedgerKind,
        charged: Money,
        rate: Rate,
        at: OffsetDateTime,
    ) -> Result<Self, LedgerError> {
        if charged.minor < 0 {
            return Err(LedgerError::Negative(charged));
        }
        let mut entry = Self::new(order_id, kind, rate.convert(charged)?, at)?;
        entry.converted_from = Some((charged, rate));
        Ok(entry)
    }

    /// The entry's effect on the seller's money: the amount with its kind's sign.
    pub fn signed(&self) -> Money {
        Money::new(self.amount.minor * self.kind.sign(), self.amount.currency)
    }
}

/// What an order's entries add up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profit {
    /// Charged, less discounts, refunds and chargebacks.
    pub revenue: Money,
    /// Everything paid out for the order: supplier, shipping, fees, chargeback fees,
    /// re-shipments, less what suppliers refunded.
    pub costs: Money,
    pub profit: Money,
    /// The profit as basis points of the revenue; `None` without revenue.
    pub margin_bp: Option<i64>,
}

impl Profit {
    /// The profit of these entries, all in `currency` (another currency is an error).
    pub fn of(entries: &[LedgerEntry], currency: Currency) -> Result<Self, LedgerError> {
        let zero = Money::zero(currency);
        let (mut revenue, mut costs) = (zero, zero);
        for entry in entries {
            let signed = entry.signed();
            if entry.kind.sign() == 0 {
                // Taxes pass through: still, an entry in another currency is refused.
                zero.checked_add(signed)?;
            } else if entry.kind.is_revenue() {
                revenue = revenue.checked_add(signed)?;
            } else {
                costs = costs.checked_sub(signed)?;
            }
        }
        let profit = revenue.checked_sub(costs)?;
        let margin_bp = (revenue.minor > 0).then(|| {
            let bp = i128::from(profit.minor) * 10_000 / i128::from(revenue.minor);
            i64::try_from(bp).unwrap_or(if bp < 0 { i64::MIN } else { i64::MAX })
        });
        Ok(Self {
            revenue,
            costs,
            profit,
            margin_bp,
        })
    }
}

/// What may still be refunded of `paid` after `refunded`; `requested` above it is refused.
pub fn check_refund(paid: Money, refunded: Money, requested: Money) -> Result<Money, LedgerError> {
    if requested.minor < 0 {
        return Err(LedgerError::Negative(requested));
    }
    if requested.minor == 0 {
        return Err(LedgerError::Zero);
    }
    let left = paid.checked_sub(refunded)?;
    // The currency of the request is checked by the comparison's subtraction.
    let after = left.checked_sub(requested)?;
    if after.minor < 0 {
        return Err(LedgerError::RefundAbovePaid { requested, left });
    }
    Ok(left)
}

snake_enum!(
    /// A vendor's money movement (marketplace mode).
    EarningKind {
        /// The vendor's share of a delivered order; available after the holding period.
        Earned => "earned",
        /// A refund or chargeback taken back from the vendor.
        Debit => "debit",
        /// Money paid out to the vendor.
        Payout => "payout",
    }
);

/// One entry of a vendor's balance. Balances are only ever sums of these: there is no stored
/// running total that could drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarningEntry {
    pub kind: EarningKind,
    /// The magnitude; the kind gives the direction.
    pub amount: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// From when the entry counts as available: the end of the holding period for an
    /// earning, and for a debit the end of its order's holding period when that is later
    /// than the debit (a debit of a still-pending earning is taken from the pending part).
    #[serde(with = "time::serde::rfc3339")]
    pub available_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
}

/// A vendor's balance at a moment, summed from the entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Earned, still within the holding period (less debits taken from it).
    pub pending: Money,
    /// Earned after the holding period, less debits and payouts: what a payout may take.
    pub available: Money,
    pub paid_out: Money,
}

impl Balance {
    /// The balance of `entries` (all in `currency`) at `now`.
    pub fn of(entries: &[EarningEntry], currency: Currency, now: OffsetDateTime) -> Result<Self, LedgerError> {
        let zero = Money::zero(currency);
        let mut balance = Self {
            pending: zero,
            available: zero,
            paid_out: zero,
        };
        for entry in entries {
            if entry.amount.minor < 0 {
                return Err(LedgerError::Negative(entry.amount));
            }
            match entry.kind {
                EarningKind::Payout => {
                    balance.available = balance.available.checked_sub(entry.amount)?;
                    balance.paid_out = balance.paid_out.checked_add(entry.amount)?;
                }
                EarningKind::Earned | EarningKind::Debit => {
                    let signed = if entry.kind == EarningKind::Earned {
                        entry.amount
                    } else {
                        Money::new(-entry.amount.minor, entry.amount.currency)
                    };
                    if entry.available_at > now {
                        balance.pending = balance.pending.checked_add(signed)?;
                    } else {
                        balance.available = balance.available.checked_add(signed)?;
                    }
                }
            }
        }
        Ok(balance)
    }

    /// A payout of `amount` from this balance: more than zero and at most what is
    /// available.
    pub fn check_payout(&self, amount: Money) -> Result<(), LedgerError> {
        if amount.minor <= 0 {
            return Err(if amount.minor < 0 {
                LedgerError::Negative(amount)
            } else {
                LedgerError::Zero
            });
        }
        if self.available.checked_sub(amount)?.minor < 0 {
            return Err(LedgerError::PayoutAboveAvailable {
                requested: amount,
                available: self.available,
            });
        }
        Ok(())
    }
}

snake_enum!(
    /// Where a return (RMA) stands.
    ReturnState {
        Requested => "requested",
        Approved => "approved",
        Rejected => "rejected",
        /// The item is on its way back.
        AwaitingItem => "awaiting_item",
        Received => "received",
        /// Refunded, replaced, exchanged or credited.
        Resolved => "resolved",
    }
);

snake_enum!(
    /// What can happen to a return.
    ReturnEvent {
        Approve => "approve",
        Reject => "reject",
        /// The customer is to send the item back.
        AwaitItem => "await_item",
        Receive => "receive",
        /// Resolved; from `approved` without the item coming back (a returnless refund).
        Resolve => "resolve",
    }
);

/// The return machine.
pub fn next_return_state(state: ReturnState, event: ReturnEvent) -> Result<ReturnState, TransitionError> {
    use ReturnEvent as E;
    use ReturnState as S;
    match (state, event) {
        (S::Requested, E::Approve) => Ok(S::Approved),
        (S::Requested, E::Reject) => Ok(S::Rejected),
        (S::Approved, E::AwaitItem) => Ok(S::AwaitingItem),
        (S::AwaitingItem, E::Receive) => Ok(S::Received),
        (S::Approved | S::Received, E::Resolve) => Ok(S::Resolved),
        _ => Err(TransitionError {
            machine: "return",
            from: state.to_string(),
            event: event.to_string(),
        }),
    }
}

snake_enum!(
    /// Where a dispute (chargeback) stands.
    DisputeState {
        NeedsResponse => "needs_response",
        UnderReview => "under_review",
        Won => "won",
        Lost => "lost",
    }
);

snake_enum!(
    /// What can happen to a dispute.
    DisputeEvent {
        /// The seller sent the evidence.
        Respond => "respond",
        Win => "win",
        /// Lost: decided against the seller, conceded, or the due date passed unanswered.
        Lose => "lose",
    }
);

/// The dispute machine.
pub fn next_dispute_state(state: DisputeState, event: DisputeEvent) -> Result<DisputeState, TransitionError> {
    use DisputeEvent as E;
    use DisputeState as S;
    match (state, event) {
        (S::NeedsResponse, E::Respond) => Ok(S::UnderReview),
        (S::UnderReview, E::Win) => Ok(S::Won),
        (S::NeedsResponse | S::UnderReview, E::Lose) => Ok(S::Lost),
        _ => Err(TransitionError {
            machine: "dispute",
            from: state.to_string(),
            event: event.to_string(),
        }),
    }
}

snake_enum!(
    /// Where a claim to a supplier stands.
    ClaimState {
        /// Recorded, not yet sent to the supplier.
        Open => "open",
        /// Sent to the supplier (its dispute or return form, an email), waiting for its answer.
        Submitted => "submitted",
        /// The supplier gave money back (all or part of what was claimed).
        Accepted => "accepted",
        Rejected => "rejected",
    }
);

snake_enum!(
    /// What can happen to a claim.
    ClaimEvent {
        Submit => "submit",
        Accept => "accept",
        Reject => "reject",
    }
);

/// The supplier-claim machine: open → submitted → accepted | rejected.
pub fn next_claim_state(state: ClaimState, event: ClaimEvent) -> Result<ClaimState, TransitionError> {
    use ClaimEvent as E;
    use ClaimState as S;
    match (state, event) {
        (S::Open, E::Submit) => Ok(S::Submitted),
        (S::Submitted, E::Accept) => Ok(S::Accepted),
        (S::Submitted, E::Reject) => Ok(S::Rejected),
        _ => Err(TransitionError {
            machine: "claim",
            from: state.to_string(),
            event: event.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect("a currency")
    }

    const NOW: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

    fn entry(kind: LedgerKind, minor: i64) -> LedgerEntry {
        LedgerEntry::new(OrderId::new(), kind, usd(minor), NOW).expect("an entry")
    }

    #[test]
    fn an_orders_profit_and_margin() {
        use LedgerKind as K;
        let entries = [
            entry(K::Sale, 9_998),
            entry(K::ShippingCharged, 500),
            entry(K::Discount, 1_000),
            entry(K::TaxCollected, 800),
            entry(K::SupplierCost, 2_400),
            entry(K::SupplierShipping, 600),
            entry(K::PaymentFee, 320),
            entry(K::Refund, 2_000),
            entry(K::SupplierRefund, 1_200),
            entry(K::ReshipmentCost, 300),
        ];
        let profit = Profit::of(&entries, currency("USD")).expect("a profit");
        // 99.98 + 5.00 - 10.00 - 20.00 = 74.98 revenue; the tax is not revenue.
        assert_eq!(profit.revenue, usd(7_498));
        // 24.00 + 6.00 + 3.20 + 3.00 - 12.00 = 24.20 costs.
        assert_eq!(profit.costs, usd(2_420));
        assert_eq!(profit.profit, usd(5_078));
        assert_eq!(profit.margin_bp, Some(6_772));
        assert_eq!(Profit::of(&[], currency("USD")).expect("empty").margin_bp, None);
    }

    #[test]
    fn mixed_currencies_and_negative_amounts_are_refused() {
        let mut euro = entry(LedgerKind::SupplierCost, 100);
        euro.amount = Money::new(100, currency("EUR"));
        assert!(matches!(
            Profit::of(&[entry(LedgerKind::Sale, 100), euro], currency("USD")),
            Err(LedgerError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
        assert_eq!(
            LedgerEntry::new(OrderId::new(), LedgerKind::Sale, usd(-1), NOW),
            Err(LedgerError::Negative(usd(-1)))
        );
    }

    #[test]
    fn overflowing_sums_are_errors() {
        let entries = [entry(LedgerKind::Sale, i64::MAX), entry(LedgerKind::Sale, 1)];
        assert_eq!(
            Profit::of(&entries, currency("USD")),
            Err(LedgerError::Money(MoneyError::Overflow))
        );
    }

    #[test]
    fn conversion_rounds_half_away_from_zero_across_exponents() {
        let rate = |from: &str, to: &str, per_million: u64| Rate {
            from: currency(from),
            to: currency(to),
            per_million,
            as_of: NOW,
        };
        // 10.00 CNY at 0.138 USD = 1.38 USD.
        assert_eq!(
            rate("CNY", "USD", 138_000).convert(Money::new(1_000, currency("CNY"))),
            Ok(usd(138))
        );
        // 0.05 USD at 0.5 = 0.025: half away from zero gives 0.03.
        assert_eq!(rate("USD", "USD", 500_000).convert(usd(5)), Ok(usd(3)));
        // 12.34 USD in yen (no decimals) at 151.2345.
        assert_eq!(
            rate("USD", "JPY", 151_234_500).convert(usd(1_234)),
            Ok(Money::new(1_866, currency("JPY")))
        );
        assert_eq!(rate("USD", "EUR", 0).convert(usd(1)), Err(LedgerError::BadRate));
        assert!(matches!(
            rate("EUR", "USD", 1_000_000).convert(usd(1)),
            Err(LedgerError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
        assert_eq!(
            rate("USD", "JPY", u64::MAX).convert(usd(i64::MAX)),
            Err(LedgerError::Money(MoneyError::Overflow))
        );
        let converted = LedgerEntry::converted(
            OrderId::new(),
            LedgerKind::SupplierCost,
            Money::new(1_000, currency("CNY")),
            rate("CNY", "USD", 138_000),
            NOW,
        )
        .expect("converted");
        assert_eq!(converted.amount, usd(138));
        assert_eq!(converted.converted_from.map(|(m, _)| m.minor), Some(1_000));
    }

    #[test]
    fn rates_are_parsed_exactly_and_checked() {
        assert_eq!(parse_rate("0.92"), Ok(920_000));
        assert_eq!(parse_rate("151.2345"), Ok(151_234_500));
        assert_eq!(parse_rate("1"), Ok(1_000_000));
        assert_eq!(parse_rate("0.000001"), Ok(1));
        for bad in ["0", "0.000", "-1", "1.", ".5", "abc", "", "0.0000001", "1000001", "1e3"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(format_rate(920_000), "0.92");
        assert_eq!(format_rate(151_234_500), "151.2345");
        assert_eq!(format_rate(2_000_000), "2");
        assert!(ExchangeRate::check(currency("USD"), currency("USD"), 1).is_err());
        assert!(ExchangeRate::check(currency("USD"), currency("EUR"), 0).is_err());
        assert!(ExchangeRate::check(currency("USD"), currency("EUR"), 920_000).is_ok());
    }

    #[test]
    fn a_refund_is_at_most_what_is_left() {
        assert_eq!(check_refund(usd(10_000), usd(2_500), usd(7_500)), Ok(usd(7_500)));
        assert_eq!(
            check_refund(usd(10_000), usd(2_500), usd(7_501)),
            Err(LedgerError::RefundAbovePaid {
                requested: usd(7_501),
                left: usd(7_500)
            })
        );
        assert_eq!(check_refund(usd(100), usd(0), usd(0)), Err(LedgerError::Zero));
        assert_eq!(
            check_refund(usd(100), usd(0), usd(-1)),
            Err(LedgerError::Negative(usd(-1)))
        );
        assert!(matches!(
            check_refund(usd(100), usd(0), Money::new(1, currency("EUR"))),
            Err(LedgerError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
    }

    fn earning(kind: EarningKind, minor: i64, available_at: OffsetDateTime) -> EarningEntry {
        EarningEntry {
            kind,
            amount: usd(minor),
            at: NOW,
            available_at,
            order_id: None,
        }
    }

    #[test]
    fn earnings_wait_for_the_holding_period_and_payouts_take_only_the_available() {
        let later = NOW + time::Duration::days(14);
        let earlier = NOW - time::Duration::days(1);
        let entries = [
            earning(EarningKind::Earned, 5_000, earlier),
            earning(EarningKind::Earned, 3_000, later),
            // A refund of the pending order comes out of the pending part.
            earning(EarningKind::Debit, 1_000, later),
            earning(EarningKind::Payout, 2_000, earlier),
        ];
        let balance = Balance::of(&entries, currency("USD"), NOW).expect("a balance");
        assert_eq!(balance.pending, usd(2_000));
        assert_eq!(balance.available, usd(3_000));
        assert_eq!(balance.paid_out, usd(2_000));
        assert_eq!(balance.check_payout(usd(3_000)), Ok(()));
        assert_eq!(
            balance.check_payout(usd(3_001)),
            Err(LedgerError::PayoutAboveAvailable {
                requested: usd(3_001),
                available: usd(3_000)
            })
        );
        assert_eq!(balance.check_payout(usd(0)), Err(LedgerError::Zero));
        // After the holding period everything is available.
        let after = Balance::of(&entries, currency("USD"), later).expect("later");
        assert_eq!((after.pending, after.available), (usd(0), usd(5_000)));
    }

    #[test]
    fn returns_and_disputes_move_only_as_their_machines_allow() {
        use ReturnEvent as E;
        use ReturnState as S;
        let path = [E::Approve, E::AwaitItem, E::Receive, E::Resolve];
        let mut state = S::Requested;
        for event in path {
            state = next_return_state(state, event).expect("a step");
        }
        assert_eq!(state, S::Resolved);
        // A returnless refund: resolved straight from approved.
        assert_eq!(next_return_state(S::Approved, E::Resolve), Ok(S::Resolved));
        for (from, event) in [
            (S::Requested, E::Resolve),
            (S::Rejected, E::Approve),
            (S::Resolved, E::Reject),
            (S::AwaitingItem, E::Resolve),
        ] {
            let refused = next_return_state(from, event).expect_err("refused");
            assert_eq!((refused.machine, refused.from.as_str()), ("return", from.as_str()));
        }
        assert_eq!(
            next_dispute_state(DisputeState::NeedsResponse, DisputeEvent::Respond),
            Ok(DisputeState::UnderReview)
        );
        assert_eq!(
            next_dispute_state(DisputeState::UnderReview, DisputeEvent::Win),
            Ok(DisputeState::Won)
        );
        assert_eq!(
            next_dispute_state(DisputeState::NeedsResponse, DisputeEvent::Lose),
            Ok(DisputeState::Lost)
        );
        for state in [DisputeState::Won, DisputeState::Lost] {
            for event in DisputeEvent::ALL {
                assert!(next_dispute_state(state, *event).is_err(), "{state} {event}");
            }
        }
        assert!(next_dispute_state(DisputeState::NeedsResponse, DisputeEvent::Win).is_err());
    }

    #[test]
    fn claims_are_submitted_before_they_are_answered() {
        use ClaimEvent as E;
        use ClaimState as S;
        assert_eq!(next_claim_state(S::Open, E::Submit), Ok(S::Submitted));
        assert_eq!(next_claim_state(S::Submitted, E::Accept), Ok(S::Accepted));
        assert_eq!(next_claim_state(S::Submitted, E::Reject), Ok(S::Rejected));
        // Every other move is refused, naming the machine and the state.
        for state in S::ALL {
            for event in E::ALL {
                let legal = matches!(
                    (state, event),
                    (S::Open, E::Submit) | (S::Submitted, E::Accept | E::Reject)
                );
                if !legal {
                    let refused = next_claim_state(*state, *event).expect_err("refused");
                    assert_eq!((refused.machine, refused.from.as_str()), ("claim", state.as_str()));
                }
            }
        }
    }

    fn any_earning() -> impl Strategy<Value = EarningEntry> {
        (
            prop::sample::select(EarningKind::ALL.to_vec()),
            0i64..1_000_000_000,
            -30i64..30,
        )
            .prop_map(|(kind, minor, days)| earning(kind, minor, NOW + time::Duration::days(days)))
    }

    proptest! {
        /// The balance is always the sum of its entries: pending + available + paid out is
        /// what was earned less what was debited, at any moment.
        #[test]
        fn the_balance_is_the_sum_of_its_entries(
            entries in prop::collection::vec(any_earning(), 0..60),
            offset in -40i64..40,
        ) {
            let now = NOW + time::Duration::days(offset);
            let balance = Balance::of(&entries, currency("USD"), now).expect("no overflow at these sizes");
            let net: i64 = entries
                .iter()
                .map(|e| match e.kind {
                    EarningKind::Earned => e.amount.minor,
                    EarningKind::Debit => -e.amount.minor,
                    EarningKind::Payout => 0,
                })
                .sum();
            let paid: i64 = entries.iter().filter(|e| e.kind == EarningKind::Payout).map(|e| e.amount.minor).sum();
            prop_assert_eq!(balance.pending.minor + balance.available.minor + balance.paid_out.minor, net);
            prop_assert_eq!(balance.paid_out.minor, paid);
            // The order of the entries does not matter.
            let mut reversed = entries.clone();
            reversed.reverse();
            prop_assert_eq!(Balance::of(&reversed, currency("USD"), now).expect("same"), balance);
        }

        /// Profit is revenue less costs, and equals the signed sum of the entries.
        #[test]
        fn profit_is_the_signed_sum(
            entries in prop::collection::vec(
                (prop::sample::select(LedgerKind::ALL.to_vec()), 0i64..1_000_000_000),
                0..40,
            ),
        ) {
            let entries: Vec<LedgerEntry> = entries.into_iter().map(|(k, m)| entry(k, m)).collect();
            let profit = Profit::of(&entries, currency("USD")).expect("no overflow at these sizes");
            let signed: i64 = entries.iter().map(|e| e.signed().minor).sum();
            prop_assert_eq!(profit.profit.minor, signed);
            prop_assert_eq!(profit.revenue.minor - profit.costs.minor, profit.profit.minor);
        }

        /// Converting never loses more than half a minor unit of the target.
        #[test]
        fn conversion_is_within_half_a_unit(minor in -1_000_000_000i64..1_000_000_000, per_million in 1u64..10_000_000_000) {
            let rate = Rate { from: currency("EUR"), to: currency("USD"), per_million, as_of: NOW };
            let converted = rate.convert(Money::new(minor, currency("EUR"))).expect("in range");
            let exact = i128::from(minor) * i128::from(per_million);
            let error = (i128::from(converted.minor) * 1_000_000 - exact).abs();
            prop_assert!(error * 2 <= 1_000_000, "{} -> {}", minor, converted.minor);
        }
    }
}
