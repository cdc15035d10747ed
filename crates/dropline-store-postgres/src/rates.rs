//! The operator's exchange-rate table: plain rows, never changed.

use crate::error::{corrupt, store_error};
use dropline_app::ports::StoreError;
use dropline_domain::ledger::ExchangeRate;
use dropline_domain::money::Currency;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::Date;

const RATE_COLUMNS: &str = "from_currency, to_currency, effective_on, set_at, per_million, set_by";

fn rate_from_row(row: &PgRow) -> Result<ExchangeRate, StoreError> {
    let get_currency = |column: &str| -> Result<Currency, StoreError> {
        let code: String = row.try_get(column).map_err(|err| corrupt("exchange rate", err))?;
        Currency::parse(&code).map_err(|err| corrupt("exchange rate currency", err))
    };
    let per_million: i64 = row
        .try_get("per_million")
        .map_err(|err| corrupt("exchange rate", err))?;
    Ok(ExchangeRate {
        from: get_currency("from_currency")?,
        to: get_currency("to_currency")?,
        effective_on: row
            .try_get("effective_on")
            .map_err(|err| corrupt("exchange rate", err))?,
        set_at: row.try_get("set_at").map_err(|err| corrupt("exchange rate", err))?,
        per_million: u64::try_from(per_million).map_err(|err| corrupt("exchange rate", err))?,
        set_by: row.try_get("set_by").map_err(|err| corrupt("exchange rate", err))?,
    })
}

impl crate::PostgresStore {
    pub(crate) async fn insert_exchange_rate_record(&self, rate: ExchangeRate) -> Result<(), StoreError> {
        let per_million = i64::try_from(rate.per_million)
            .map_err(|_| StoreError::Other(format!("exchange rate {} is too large", rate.per_million)))?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO exchange_rates ({RATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        )))
        .bind(rate.from.code())
        .bind(rate.to.code())
        .bind(rate.effective_on)
        .bind(rate.set_at)
        .bind(per_million)
        .bind(&rate.set_by)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    pub(crate) async fn fetch_exchange_rate(
        &self,
        from: Currency,
        to: Currency,
        on: Date,
    ) -> Result<Option<ExchangeRate>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RATE_COLUMNS} FROM exchange_rates \
             WHERE from_currency = $1 AND to_currency = $2 AND effective_on <= $3 \
             ORDER BY effective_on DESC, set_at DESC LIMIT 1"
        )))
        .bind(from.code())
        .bind(to.code())
        .bind(on)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(rate_from_row).transpose()
    }

    pub(crate) async fn fetch_exchange_rates(&self) -> Result<Vec<ExchangeRate>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RATE_COLUMNS} FROM exchange_rates \
             ORDER BY from_currency, to_currency, effective_on DESC, set_at DESC LIMIT 1000"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(rate_from_row).collect()
    }
}
