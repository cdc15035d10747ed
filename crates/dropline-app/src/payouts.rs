//! Vendor earnings and payouts (marketplace mode). A store's balance is summed on every
//! reading from the earnings derived from its delivered orders
//! ([`Order::earnings`](dropline_domain::order::Order)) with the store's fees and holding
//! period, less its payouts: there is no stored running total that could drift from what
//! the orders say. Only the operator makes and moves payouts; a store sees its own.

use crate::error::AppError;
use crate::ports::{PayoutFilter, PayoutTotals, StoreError};
use crate::scope::Scope;
use crate::service::App;
use dropline_domain::catalog::Store as Shop;
use dropline_domain::ids::{OrderId, PayoutId, StoreId};
use dropline_domain::ledger::{Balance, EarningEntry, EarningKind};
use dropline_domain::money::{Currency, Money};
use dropline_domain::payout::{Payout, PayoutEvent, PayoutState, payout_text};
use time::{Duration, OffsetDateTime};

/// Orders read per page while summing a store's earnings.
const EARNINGS_PAGE: u32 = 500;

/// How often a payout is tried again when another payout of the same store came first.
const PAYOUT_RETRIES: u32 = 3;

/// A store's balance at a moment, summed from its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorBalance {
    pub store_id: StoreId,
    pub currency: Currency,
    /// Earned, still within the holding period (less debits taken from it).
    pub pending: Money,
    /// Earned after the holding period, less debits and payouts: what a payout may take.
    /// Negative when refunds or chargebacks came after the money was paid out.
    pub available: Money,
    /// Payouts created and not paid yet (already taken from `available`).
    pub payouts_pending: Money,
    /// Payouts paid.
    pub paid_out: Money,
    pub holding_days: u32,
    /// Delivered orders whose earnings were counted.
    pub orders: u64,
    /// Delivered orders left out because they are in another currency than the store's.
    pub orders_in_other_currencies: u64,
    pub as_of: OffsetDateTime,
}

/// A payout as the operator asks for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewPayout {
    /// `None`: everything available.
    pub amount: Option<Money>,
    pub note: Option<String>,
}

fn ledger_error(field: &str, err: impl std::fmt::Display) -> AppError {
    AppError::invalid(field, err.to_string())
}

impl App {
    /// Every earning entry of a store's delivered orders in its currency, page by page, each
    /// page handed to `page`; gives the number of orders counted and left out.
    async fn walk_earnings(
        &self,
        store: &Shop,
        mut page: impl FnMut(&[EarningEntry]) -> Result<(), AppError>,
    ) -> Result<(u64, u64), AppError> {
        let holding = Duration::days(i64::from(store.settings.holding_days));
        let (mut counted, mut left_out) = (0_u64, 0_u64);
        let mut after: Option<OrderId> = None;
        loop {
            let orders = self.backend.delivered_orders(store.id, after, EARNINGS_PAGE).await?;
            let Some(last) = orders.last() else {
                break;
            };
            after = Some(last.id);
            let mut entries = Vec::new();
            for order in &orders {
                if order.currency != store.currency {
                    left_out += 1;
                    continue;
                }
                counted += 1;
                entries.extend(
                    order
                        .earnings(&store.settings.fees, holding)
                        .map_err(|err| ledger_error("earnings", err))?,
                );
            }
            page(&entries)?;
            if orders.len() < EARNINGS_PAGE as usize {
                break;
            }
        }
        Ok((counted, left_out))
    }

    /// The balance of `store` with `totals` of its payouts, at the engine's now.
    async fn balance_with(&self, store: &Shop, totals: PayoutTotals) -> Result<VendorBalance, AppError> {
        let now = self.now();
        let currency = store.currency;
        let zero = Money::zero(currency);
        let mut sum = Balance {
            pending: zero,
            available: zero,
            paid_out: zero,
        };
        let (orders, left_out) = self
            .walk_earnings(store, |entries| {
                let page = Balance::of(entries, currency, now).map_err(|err| ledger_error("earnings", err))?;
                sum.pending = sum
                    .pending
                    .checked_add(page.pending)
                    .map_err(|err| ledger_error("earnings", err))?;
                sum.available = sum
                    .available
                    .checked_add(page.available)
                    .map_err(|err| ledger_error("earnings", err))?;
                Ok(())
            })
            .await?;
        // The payouts that count (pending and paid) are one more entry of the same sum.
        let payouts = EarningEntry {
            kind: EarningKind::Payout,
            amount: Money::new(totals.counted_minor(), currency),
            at: now,
            available_at: now,
            order_id: None,
        };
        let paid = Balance::of(&[payouts], currency, now).map_err(|err| ledger_error("payouts", err))?;
        let available = sum
            .available
            .checked_add(paid.available)
            .map_err(|err| ledger_error("payouts", err))?;
        Ok(VendorBalance {
            store_id: store.id,
            currency,
            pending: sum.pending,
            available,
            payouts_pending: Money::new(totals.pending_minor, currency),
            paid_out: Money::new(totals.paid_minor, currency),
            holding_days: store.settings.holding_days,
            orders,
            orders_in_other_currencies: left_out,
            as_of: now,
        })
    }

    /// A store's vendor balance now.
    pub async fn vendor_balance(&self, scope: Scope, store_id: StoreId) -> Result<VendorBalance, AppError> {
        let store = self.get_store(scope, store_id).await?.store;
        let totals = self.backend.payout_totals(store_id).await?;
        self.balance_with(&store, totals).await
    }

    /// The operator pays a store out: `amount` (everything available when `None`), at most
    /// what is available now. Two payouts made at once never both take the same money: the
    /// store writes one only if the payouts it was computed with are still all there is.
    pub async fn create_payout(&self, scope: Scope, store_id: StoreId, new: NewPayout) -> Result<Payout, AppError> {
        if scope != Scope::Operator {
            return Err(AppError::NotFound("store"));
        }
        let store = self.get_store(scope, store_id).await?.store;
        let note = payout_text(new.note.as_deref()).map_err(|reason| AppError::invalid("note", reason))?;
        if let Some(amount) = new.amount
            && amount.currency != store.currency
        {
            return Err(AppError::invalid(
                "amount.currency",
                format!("must be {}, the store's currency", store.currency),
            ));
        }
        let mut attempt = 0;
        loop {
            let totals = self.backend.payout_totals(store_id).await?;
            let balance = self.balance_with(&store, totals).await?;
            let amount = new.amount.unwrap_or(balance.available);
            if new.amount.is_none() && amount.minor <= 0 {
                return Err(AppError::invalid(
                    "amount",
                    format!("nothing is available to pay out (available: {})", balance.available),
                ));
            }
            Balance {
                pending: balance.pending,
                available: balance.available,
                paid_out: balance.paid_out,
            }
            .check_payout(amount)
            .map_err(|err| ledger_error("amount", err))?;
            let payout = Payout::new(store_id, amount, note.clone(), self.now());
            match self.backend.insert_payout(payout.clone(), totals.counted_minor()).await {
                Ok(()) => return Ok(payout),
                Err(StoreError::Conflict(_)) if attempt < PAYOUT_RETRIES => attempt += 1,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// A payout the caller may see.
    pub async fn get_payout(&self, scope: Scope, id: PayoutId) -> Result<Payout, AppError> {
        match self.backend.get_payout(id).await? {
            Some(payout) if scope.allows(payout.store_id) => Ok(payout),
            _ => Err(AppError::NotFound("payout")),
        }
    }

    /// Payouts the caller may see, newest first: one store's, or every store's for the
    /// operator.
    pub async fn list_payouts(
        &self,
        scope: Scope,
        store_id: Option<StoreId>,
        state: Option<PayoutState>,
        before: Option<PayoutId>,
        limit: u32,
    ) -> Result<Vec<Payout>, AppError> {
        if let Some(store_id) = store_id {
            self.get_store(scope, store_id).await?;
        }
        let filter = PayoutFilter {
            store_id: scope.store_filter(store_id),
            state,
            before,
            limit,
        };
        Ok(self.backend.list_payouts(&filter).await?)
    }

    /// The operator records that a payout was paid (with the transfer's reference) or
    /// withdraws it before it is paid (its amount is available again).
    pub async fn move_payout(
        &self,
        scope: Scope,
        id: PayoutId,
        event: PayoutEvent,
        reference: Option<String>,
    ) -> Result<Payout, AppError> {
        let mut payout = self.get_payout(scope, id).await?;
        if scope != Scope::Operator {
            return Err(AppError::NotFound("payout"));
        }
        let reference = payout_text(reference.as_deref()).map_err(|reason| AppError::invalid("reference", reason))?;
        let from = payout.state;
        payout.apply(event, reference, self.now())?;
        match self.backend.update_payout(payout.clone(), from).await {
            Ok(()) => Ok(payout),
            Err(StoreError::Conflict(what)) => Err(AppError::Conflict(what)),
            Err(err) => Err(err.into()),
        }
    }

    /// The operator sets a store's holding period.
    pub async fn set_holding_days(&self, scope: Scope, store_id: StoreId, days: u32) -> Result<(), AppError> {
        if scope != Scope::Operator {
            return Err(AppError::invalid(
                "holding_days",
                crate::store_settings::HOLDING_DAYS_OPERATOR_ONLY,
            ));
        }
        let record = self.get_store(scope, store_id).await?;
        let mut settings = record.store.settings.clone();
        settings.holding_days = days;
        self.update_store_settings(scope, store_id, settings, None).await?;
        Ok(())
    }
}
