//! The operator's exchange-rate table over the API: any token reads it, only the operator's
//! sets a rate. Supplier costs in another currency than their order's are converted with it
//! (the rate used is kept on the supplier order); issue 8 prices with it too.

use crate::AppState;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, ReadJson};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::Scope;
use dropline_app::rates::NewExchangeRate;
use dropline_domain::ledger::{ExchangeRate, RateUsed, format_rate, parse_rate};
use dropline_domain::money::Currency;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

/// One row of the exchange-rate table.
#[derive(Serialize, ToSchema)]
pub struct ExchangeRateJson {
    #[schema(example = "USD")]
    pub from: String,
    #[schema(example = "EUR")]
    pub to: String,
    /// One unit of `from` in `to`, as a decimal (at most 6 decimals).
    #[schema(example = "0.92")]
    pub rate: String,
    /// From this day (UTC) on, until a row of a later day.
    #[schema(example = "2026-12-01")]
    pub effective_on: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub set_at: OffsetDateTime,
    pub set_by: String,
}

impl From<ExchangeRate> for ExchangeRateJson {
    fn from(r: ExchangeRate) -> Self {
        Self {
            from: r.from.to_string(),
            to: r.to.to_string(),
            rate: format_rate(r.per_million),
            effective_on: r.effective_on.to_string(),
            set_at: r.set_at,
            set_by: r.set_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ExchangeRateList {
    /// By pair, then the newest effective date (and the newest set) first.
    pub rates: Vec<ExchangeRateJson>,
}

/// The rate a cost in another currency was converted with.
#[derive(Serialize, ToSchema)]
pub struct RateUsedJson {
    pub from: String,
    pub to: String,
    #[schema(example = "0.92")]
    pub rate: String,
    /// The table row's effective date, or the day a charged rate was recorded.
    pub effective_on: String,
    /// The rate the seller said it was charged at (not the table's).
    pub charged: bool,
}

impl From<RateUsed> for RateUsedJson {
    fn from(used: RateUsed) -> Self {
        Self {
            from: used.rate.from.to_string(),
            to: used.rate.to.to_string(),
            rate: format_rate(used.rate.per_million),
            effective_on: used.effective_on.to_string(),
            charged: used.charged,
        }
    }
}

/// A rate the operator sets.
#[derive(ToSchema)]
pub struct ExchangeRateRequest {
    #[schema(value_type = String, example = "USD")]
    pub from: Currency,
    #[schema(value_type = String, example = "EUR")]
    pub to: Currency,
    /// One unit of `from` in `to`: a decimal string, more than 0, at most 6 decimals, at
    /// most 1000000.
    #[schema(value_type = String, example = "0.92")]
    pub rate: u64,
    /// From which day (UTC) it applies, `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-12-01")]
    pub effective_on: Date,
}

/// Reads a rate given as a decimal string.
pub(crate) fn read_rate(input: &Input<'_>, problems: &mut Problems) -> Option<u64> {
    let text = input.text(problems)?;
    match parse_rate(&text) {
        Ok(per_million) => Some(per_million),
        Err(reason) => {
            problems.push(input.path(), reason);
            None
        }
    }
}

fn read_date(input: &Input<'_>, problems: &mut Problems) -> Option<Date> {
    let text = input.text(problems)?;
    let parsed = Date::parse(text.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok();
    if parsed.is_none() {
        problems.push(input.path(), "must be a date such as 2026-12-01");
    }
    parsed
}

impl ReadJson for ExchangeRateRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let from = input.field("from").required(problems, Input::currency);
        let to = input.field("to").required(problems, Input::currency);
        let rate = input.field("rate").required(problems, read_rate);
        let effective_on = input.field("effective_on").required(problems, read_date);
        if let (Some(from), Some(to)) = (from, to)
            && from == to
        {
            problems.push("to".to_string(), "must be another currency than from");
            return None;
        }
        Some(Self {
            from: from?,
            to: to?,
            rate: rate?,
            effective_on: effective_on?,
        })
    }
}

/// The exchange-rate table; any token may read it.
#[utoipa::path(
    get, path = "/exchange-rates", tag = "exchange rates",
    responses((status = 200, body = ExchangeRateList), CommonErrors)
)]
pub async fn list_exchange_rates(State(state): State<AppState>, Caller(scope): Caller) -> Result<Response, ApiError> {
    let rates = state.app.list_exchange_rates(scope).await?;
    Ok(reply(
        StatusCode::OK,
        ExchangeRateList {
            rates: rates.into_iter().map(ExchangeRateJson::from).collect(),
        },
    ))
}

/// Sets a rate from a day on (operator only). Rows are kept: a new rate of the same pair and
/// day replaces the old one from now on, and what supplier orders recorded stays.
#[utoipa::path(
    put, path = "/exchange-rates", tag = "exchange rates",
    request_body = ExchangeRateRequest,
    responses(
        (status = 200, body = ExchangeRateJson),
        (status = 403, description = "Only the operator sets rates", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_exchange_rate(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    if scope != Scope::Operator {
        return Err(ApiError::Forbidden("only the marketplace operator sets exchange rates"));
    }
    let request: ExchangeRateRequest = body.read()?;
    let rate = state
        .app
        .set_exchange_rate(
            scope,
            NewExchangeRate {
                from: request.from,
                to: request.to,
                per_million: request.rate,
                effective_on: request.effective_on,
                set_by: "operator (API token)".into(),
            },
        )
        .await?;
    Ok(reply(StatusCode::OK, ExchangeRateJson::from(rate)))
}
