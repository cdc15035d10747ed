//! The operator's exchange-rate table: plain rows, never changed.

use crate::sql::{SqlResult, collect, column, conflict_as, first, from_micros, micros, parse_name};
use dropline_app::ports::StoreError;
use dropline_domain::ledger::ExchangeRate;
use dropline_domain::money::Currency;
use rusqlite::{Connection, Row, params};
use time::Date;

const RATE_COLUMNS: &str = "from_currency, to_currency, effective_on, set_at, per_million, set_by";

/// The stored form of a date: `YYYY-MM-DD`, which sorts as the dates do.
fn date_text(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

fn decode_rate(row: &Row<'_>) -> Result<ExchangeRate, StoreError> {
    let currency = |index: usize| -> Result<Currency, StoreError> {
        let code: String = column(row, index)?;
        parse_name(&code, |c| Currency::parse(c).ok(), "currency")
    };
    let effective_on: String = column(row, 2)?;
    let per_million: i64 = column(row, 4)?;
    Ok(ExchangeRate {
        from: currency(0)?,
        to: currency(1)?,
        effective_on: parse_name(
            &effective_on,
            |text| Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).ok(),
            "effective date",
        )?,
        set_at: from_micros(column(row, 3)?)?,
        per_million: u64::try_from(per_million)
            .map_err(|_| StoreError::Other(format!("a corrupt exchange rate {per_million}")))?,
        set_by: column(row, 5)?,
    })
}

pub(crate) fn insert_exchange_rate(conn: &Connection, rate: &ExchangeRate) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO exchange_rates ({RATE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    let per_million = i64::try_from(rate.per_million)
        .map_err(|_| StoreError::Other(format!("exchange rate {} is too large", rate.per_million)))?;
    conn.prepare_cached(&sql)
        .store()?
        .execute(params![
            rate.from.code(),
            rate.to.code(),
            date_text(rate.effective_on),
            micros(rate.set_at),
            per_million,
            rate.set_by,
        ])
        .map_err(conflict_as(|| {
            format!(
                "a {} to {} rate effective {} set at that moment exists",
                rate.from, rate.to, rate.effective_on
            )
        }))?;
    Ok(())
}

pub(crate) fn exchange_rate(
    conn: &Connection,
    from: Currency,
    to: Currency,
    on: Date,
) -> Result<Option<ExchangeRate>, StoreError> {
    let sql = format!(
        "SELECT {RATE_COLUMNS} FROM exchange_rates \
         WHERE from_currency = ?1 AND to_currency = ?2 AND effective_on <= ?3 \
         ORDER BY effective_on DESC, set_at DESC LIMIT 1"
    );
    let mut statement = conn.prepare_cached(&sql).store()?;
    first(
        &mut statement,
        params![from.code(), to.code(), date_text(on)],
        decode_rate,
    )
}

pub(crate) fn list_exchange_rates(conn: &Connection) -> Result<Vec<ExchangeRate>, StoreError> {
    let sql = format!(
        "SELECT {RATE_COLUMNS} FROM exchange_rates \
         ORDER BY from_currency, to_currency, effective_on DESC, set_at DESC LIMIT 1000"
    );
    let mut statement = conn.prepare_cached(&sql).store()?;
    collect(&mut statement, [], decode_rate)
}
