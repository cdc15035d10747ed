//! The operator's exchange-rate table (issue 8 prices with it too) and the rate a supplier
//! order's cost in another currency is converted with: looked up once, when the supplier
//! order is made and again when its actual cost is recorded, and kept on the supplier order
//! ([`SupplierOrder::cost_rate`](dropline_domain::order::SupplierOrder)) so a later change of
//! the table never moves an order's ledger.

use crate::error::AppError;
use crate::scope::Scope;
use crate::service::App;
use dropline_domain::ledger::ExchangeRate;
use dropline_domain::money::Currency;
use dropline_domain::order::Order;
use dropline_domain::timeline::Journal;
use time::{Date, OffsetDateTime};

/// A row the operator sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewExchangeRate {
    pub from: Currency,
    pub to: Currency,
    pub per_million: u64,
    pub effective_on: Date,
    /// Who sets it (shown in the table).
    pub set_by: String,
}

impl App {
    /// Adds a row to the exchange-rate table: the operator only (NotFound otherwise, an
    /// interface answers 403 before); a pair of one currency or a rate out of range is
    /// refused by field.
    pub async fn set_exchange_rate(&self, scope: Scope, new: NewExchangeRate) -> Result<ExchangeRate, AppError> {
        if scope != Scope::Operator {
            return Err(AppError::NotFound("exchange rates"));
        }
        ExchangeRate::check(new.from, new.to, new.per_million)
            .map_err(|(field, reason)| AppError::invalid(field, reason))?;
        let set_by = new.set_by.trim();
        if set_by.is_empty() || set_by.chars().count() > 200 {
            return Err(AppError::invalid("set_by", "must be 1 to 200 characters"));
        }
        let rate = ExchangeRate {
            from: new.from,
            to: new.to,
            per_million: new.per_million,
            effective_on: new.effective_on,
            set_at: to_micros(self.now()),
            set_by: set_by.to_string(),
        };
        self.backend.insert_exchange_rate(rate.clone()).await?;
        Ok(rate)
    }

    /// The table, by pair then newest first; any caller may read it.
    pub async fn list_exchange_rates(&self, _scope: Scope) -> Result<Vec<ExchangeRate>, AppError> {
        Ok(self.backend.list_exchange_rates().await?)
    }

    /// Records the rate of every supplier order cost in another currency that this change
    /// (from `before`) made or re-priced, from the table as of the journal's day; one
    /// read per such cost, none when there is none (most changes).
    pub(crate) async fn rate_foreign_costs(
        &self,
        before: Option<&Order>,
        order: &mut Order,
        journal: &mut Journal,
    ) -> Result<(), AppError> {
        for (id, currency) in order.costs_to_rate(before) {
            let found = self
                .backend
                .exchange_rate(currency, order.currency, journal.at.date())
                .await?;
            order.record_cost_rate(id, found.map(|row| row.used(journal.at)), journal)?;
        }
        Ok(())
    }
}

/// `at` to the microsecond, as both stores keep times.
fn to_micros(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000).unwrap_or(at)
}
