//! Vendor payouts (marketplace mode): the operator pays a store what its earnings made
//! available after the holding period. A payout is an entry of the vendor's balance (see
//! [`crate::ledger::Balance`]) from the moment it is created until it is cancelled; paying
//! it only records that the money left.

use crate::ids::{PayoutId, StoreId};
use crate::ledger::{EarningEntry, EarningKind};
use crate::money::Money;
use crate::state::{TransitionError, snake_enum};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The holding period of a store that did not choose one, in days.
pub const DEFAULT_HOLDING_DAYS: u32 = 14;

/// The longest holding period a store may have, in days.
pub const MAX_HOLDING_DAYS: u32 = 365;

/// Longest payment reference or note a payout keeps.
pub const MAX_PAYOUT_TEXT_CHARS: usize = 200;

snake_enum!(
    /// Where a payout stands.
    PayoutState {
        /// Created: the amount is taken from the available balance, the money not sent yet.
        Pending => "pending",
        /// The operator sent the money.
        Paid => "paid",
        /// Withdrawn before it was paid: the amount is available again.
        Cancelled => "cancelled",
    }
);

snake_enum!(
    /// What happens to a payout.
    PayoutEvent {
        MarkPaid => "mark_paid",
        Cancel => "cancel",
    }
);

/// The payout machine: `pending` → `paid` | `cancelled`; both are final.
pub fn next_payout_state(state: PayoutState, event: PayoutEvent) -> Result<PayoutState, TransitionError> {
    match (state, event) {
        (PayoutState::Pending, PayoutEvent::MarkPaid) => Ok(PayoutState::Paid),
        (PayoutState::Pending, PayoutEvent::Cancel) => Ok(PayoutState::Cancelled),
        _ => Err(TransitionError {
            machine: "payout",
            from: state.to_string(),
            event: event.to_string(),
        }),
    }
}

/// A payment of a store's available earnings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub id: PayoutId,
    pub store_id: StoreId,
    pub amount: Money,
    pub state: PayoutState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was paid or cancelled.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<OffsetDateTime>,
    /// The operator's reference of the money transfer (their payment system's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A payout text field, trimmed: `None` when blank, refused when too long.
pub fn payout_text(text: Option<&str>) -> Result<Option<String>, String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    match text {
        Some(t) if t.chars().count() > MAX_PAYOUT_TEXT_CHARS => {
            Err(format!("must be at most {MAX_PAYOUT_TEXT_CHARS} characters"))
        }
        Some(t) if t.chars().any(char::is_control) => Err("must be one line of text".into()),
        other => Ok(other.map(str::to_string)),
    }
}

impl Payout {
    /// A new pending payout.
    pub fn new(store_id: StoreId, amount: Money, note: Option<String>, at: OffsetDateTime) -> Self {
        Self {
            id: PayoutId::new(),
            store_id,
            amount,
            state: PayoutState::Pending,
            created_at: at,
            closed_at: None,
            reference: None,
            note,
        }
    }

    /// Its entry in the vendor's balance: none once cancelled.
    pub fn entry(&self) -> Option<EarningEntry> {
        (self.state != PayoutState::Cancelled).then_some(EarningEntry {
            kind: EarningKind::Payout,
            amount: self.amount,
            at: self.created_at,
            available_at: self.created_at,
            order_id: None,
        })
    }

    /// Moves the payout through its machine; paying records the operator's reference.
    pub fn apply(
        &mut self,
        event: PayoutEvent,
        reference: Option<String>,
        at: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.state = next_payout_state(self.state, event)?;
        self.closed_at = Some(at);
        if event == PayoutEvent::MarkPaid {
            self.reference = reference;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Balance;
    use crate::money::Currency;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    #[test]
    fn a_payout_is_paid_or_cancelled_once() {
        let mut payout = Payout::new(StoreId::new(), usd(5_000), None, AT);
        payout
            .apply(PayoutEvent::MarkPaid, Some("TR-1".into()), AT)
            .expect("paid");
        assert_eq!(
            (payout.state, payout.reference.as_deref()),
            (PayoutState::Paid, Some("TR-1"))
        );
        let refused = payout.apply(PayoutEvent::Cancel, None, AT).expect_err("final");
        assert_eq!((refused.machine, refused.from.as_str()), ("payout", "paid"));
        let mut cancelled = Payout::new(StoreId::new(), usd(5_000), None, AT);
        cancelled.apply(PayoutEvent::Cancel, None, AT).expect("cancelled");
        assert!(cancelled.apply(PayoutEvent::MarkPaid, None, AT).is_err());
    }

    #[test]
    fn a_cancelled_payout_gives_its_amount_back() {
        let earned = EarningEntry {
            kind: EarningKind::Earned,
            amount: usd(8_000),
            at: AT,
            available_at: AT,
            order_id: None,
        };
        let mut payout = Payout::new(StoreId::new(), usd(5_000), None, AT);
        let entries =
            |payout: &Payout| -> Vec<EarningEntry> { std::iter::once(earned.clone()).chain(payout.entry()).collect() };
        let currency = usd(0).currency;
        let balance = Balance::of(&entries(&payout), currency, AT).expect("balance");
        assert_eq!((balance.available, balance.paid_out), (usd(3_000), usd(5_000)));
        payout.apply(PayoutEvent::Cancel, None, AT).expect("cancelled");
        let balance = Balance::of(&entries(&payout), currency, AT).expect("balance");
        assert_eq!((balance.available, balance.paid_out), (usd(8_000), usd(0)));
    }

    #[test]
    fn payout_texts_are_one_trimmed_line() {
        assert_eq!(payout_text(Some("  TR-1 ")), Ok(Some("TR-1".into())));
        assert_eq!(payout_text(Some("   ")), Ok(None));
        assert!(payout_text(Some("a\nb")).is_err());
        assert!(payout_text(Some(&"x".repeat(MAX_PAYOUT_TEXT_CHARS + 1))).is_err());
    }
}
