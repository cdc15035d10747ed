//! Vendor balances and payouts over the API (marketplace mode): a store's balance summed
//! from its delivered orders' earnings, and the operator's payouts. A store's token reads
//! its own balance and payouts; only the operator's token makes and moves payouts.

use crate::AppState;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::MoneyJson;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, QueryParams, ReadJson, parse_id, parse_limit, path_id};
use crate::spreadsheet::cell;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dropline_app::Scope;
use dropline_app::payouts::{NewPayout, VendorBalance};
use dropline_app::ports::StoreRecord;
use dropline_domain::ids::{PayoutId, StoreId};
use dropline_domain::money::Money;
use dropline_domain::payout::{Payout, PayoutEvent, PayoutState};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

/// Most payouts one CSV export holds.
const MAX_EXPORT: u32 = 500;

/// A store's vendor balance, summed now from its entries.
#[derive(Serialize, ToSchema)]
pub struct BalanceJson {
    pub store_id: String,
    /// Earned on delivered orders, still within the holding period (less refunds and
    /// chargebacks taken from it).
    pub pending: MoneyJson,
    /// Past the holding period, less debits and payouts: what a payout may take. Negative
    /// when refunds or chargebacks came after the money was paid out.
    pub available: MoneyJson,
    /// Payouts made and not paid yet (already out of `available`).
    pub payouts_pending: MoneyJson,
    pub paid_out: MoneyJson,
    pub holding_days: u32,
    /// Delivered orders counted.
    pub orders: u64,
    /// Delivered orders left out: they are in another currency than the store's.
    pub orders_in_other_currencies: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub as_of: OffsetDateTime,
}

impl From<VendorBalance> for BalanceJson {
    fn from(b: VendorBalance) -> Self {
        Self {
            store_id: b.store_id.to_string(),
            pending: b.pending.into(),
            available: b.available.into(),
            payouts_pending: b.payouts_pending.into(),
            paid_out: b.paid_out.into(),
            holding_days: b.holding_days,
            orders: b.orders,
            orders_in_other_currencies: b.orders_in_other_currencies,
            as_of: b.as_of,
        }
    }
}

/// A payment of a store's available earnings.
#[derive(Serialize, ToSchema)]
pub struct PayoutJson {
    pub id: String,
    pub store_id: String,
    pub amount: MoneyJson,
    /// `pending`, `paid` or `cancelled`.
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: OffsetDateTime,
    /// When it was paid or cancelled.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<OffsetDateTime>,
    /// The operator's reference of the transfer.
    pub reference: Option<String>,
    pub note: Option<String>,
}

impl From<Payout> for PayoutJson {
    fn from(p: Payout) -> Self {
        Self {
            id: p.id.to_string(),
            store_id: p.store_id.to_string(),
            amount: p.amount.into(),
            state: p.state.to_string(),
            created_at: p.created_at,
            closed_at: p.closed_at,
            reference: p.reference,
            note: p.note,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PayoutList {
    pub payouts: Vec<PayoutJson>,
    /// Pass as `before` for the next page; `null` on the last page.
    pub next_before: Option<String>,
}

/// A payout as the operator makes it.
#[derive(ToSchema)]
pub struct PayoutRequest {
    pub store_id: String,
    /// In the store's currency; default: everything available.
    #[schema(value_type = Option<MoneyJson>)]
    pub amount: Option<Money>,
    #[schema(example = "December, first half")]
    pub note: Option<String>,
}

impl ReadJson for PayoutRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let store_id = input.field("store_id").required(problems, Input::text);
        let amount = input.field("amount").optional(problems, Input::money);
        let note = input.field("note").optional(problems, Input::text);
        Some(Self {
            store_id: store_id?,
            amount: amount?,
            note: note?,
        })
    }
}

/// The transfer that paid a payout.
#[derive(ToSchema)]
pub struct PaidRequest {
    /// The payment system's reference of the transfer (at most 200 characters).
    #[schema(example = "SEPA-2026-12-0042")]
    pub reference: Option<String>,
}

impl ReadJson for PaidRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let reference = input.field("reference").optional(problems, Input::text);
        Some(Self { reference: reference? })
    }
}

fn operator_only(scope: Scope) -> Result<(), ApiError> {
    if scope == Scope::Operator {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the marketplace operator makes and moves payouts",
        ))
    }
}

/// A store's vendor balance: pending within the holding period, available, paid out.
#[utoipa::path(
    get, path = "/stores/{id}/balance", tag = "payouts",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, body = BalanceJson),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_balance(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: StoreId = path_id(&id, "store")?;
    let balance = state.app.vendor_balance(scope, id).await?;
    Ok(reply(StatusCode::OK, BalanceJson::from(balance)))
}

/// Pays a store out (operator only): `amount`, or everything available, never more.
#[utoipa::path(
    post, path = "/payouts", tag = "payouts",
    request_body = PayoutRequest,
    responses(
        (status = 201, body = PayoutJson),
        (status = 403, description = "Only the operator makes payouts", body = ErrorBody),
        (status = 404, description = "No such store", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn create_payout(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    operator_only(scope)?;
    let request: PayoutRequest = body.read()?;
    let store_id: StoreId = path_id(&request.store_id, "store")?;
    let payout = state
        .app
        .create_payout(
            scope,
            store_id,
            NewPayout {
                amount: request.amount,
                note: request.note,
            },
        )
        .await?;
    Ok(reply(StatusCode::CREATED, PayoutJson::from(payout)))
}

/// The payouts a listing's query asks for, and the page size it used.
async fn listed(
    state: &AppState,
    scope: Scope,
    query: &QueryParams,
    limit: u32,
) -> Result<(Vec<Payout>, u32), ApiError> {
    let mut problems = Problems::default();
    let store_id: Option<StoreId> = query.get(&mut problems, "store_id", parse_id);
    let payout_state = query.get(&mut problems, "state", |text| {
        PayoutState::parse(text).ok_or_else(|| "must be pending, paid or cancelled".to_string())
    });
    let before: Option<PayoutId> = query.get(&mut problems, "before", parse_id);
    let limit = query.get(&mut problems, "limit", parse_limit).unwrap_or(limit);
    problems.finish(Some(()))?;
    let payouts = state
        .app
        .list_payouts(scope, store_id, payout_state, before, limit)
        .await?;
    Ok((payouts, limit))
}

/// Payouts, newest first: the caller's store's, or every store's with the operator token.
#[utoipa::path(
    get, path = "/payouts", tag = "payouts",
    params(
        ("store_id" = Option<String>, Query, description = "Only this store's"),
        ("state" = Option<String>, Query, description = "pending, paid or cancelled"),
        ("before" = Option<String>, Query, description = "The `next_before` of the previous page"),
        ("limit" = Option<u32>, Query, description = "1 to 500 (default 50)"),
    ),
    responses(
        (status = 200, body = PayoutList),
        (status = 404, description = "The store names a store the caller may not see", body = ErrorBody),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_payouts(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let (payouts, limit) = listed(&state, scope, &query, 50).await?;
    let next_before = (payouts.len() >= limit as usize)
        .then(|| payouts.last().map(|p| p.id.to_string()))
        .flatten();
    Ok(reply(
        StatusCode::OK,
        PayoutList {
            payouts: payouts.into_iter().map(PayoutJson::from).collect(),
            next_before,
        },
    ))
}

/// The CSV of payouts for the operator's payment system (same filters as the listing, at
/// most 500 rows): one row per payout with the store's name and the amount as a decimal.
#[utoipa::path(
    get, path = "/payouts/export", tag = "payouts",
    params(
        ("store_id" = Option<String>, Query, description = "Only this store's"),
        ("state" = Option<String>, Query, description = "pending, paid or cancelled"),
    ),
    responses(
        (status = 200, description = "The CSV file", content_type = "text/csv", body = String),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn export_payouts(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let (payouts, _) = listed(&state, scope, &query, MAX_EXPORT).await?;
    let stores = state.app.list_stores(scope).await?;
    let csv = payouts_csv(&payouts, &stores).map_err(|err| {
        ApiError::App(dropline_app::AppError::Conflict(format!(
            "the CSV cannot be written: {err}"
        )))
    })?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"payouts.csv\""),
        ],
        csv,
    )
        .into_response())
}

/// The CSV of payouts: one row per payout with its store's name (from `stores`), texts
/// defused for spreadsheets.
pub fn payouts_csv(payouts: &[Payout], stores: &[StoreRecord]) -> Result<Vec<u8>, csv::Error> {
    let name_of = |id: StoreId| {
        stores
            .iter()
            .find(|r| r.store.id == id)
            .map_or("", |r| r.store.name.as_str())
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "payout_id",
        "store_id",
        "store_name",
        "amount",
        "currency",
        "state",
        "created_at",
        "closed_at",
        "reference",
        "note",
    ])?;
    let time = |at: OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
    for payout in payouts {
        writer.write_record([
            payout.id.to_string(),
            payout.store_id.to_string(),
            cell(name_of(payout.store_id)),
            payout.amount.amount_string(),
            payout.amount.currency.code().to_string(),
            payout.state.to_string(),
            time(payout.created_at),
            payout.closed_at.map(time).unwrap_or_default(),
            cell(payout.reference.as_deref().unwrap_or_default()),
            cell(payout.note.as_deref().unwrap_or_default()),
        ])?;
    }
    writer.into_inner().map_err(|err| err.into_error().into())
}

/// One payout.
#[utoipa::path(
    get, path = "/payouts/{id}", tag = "payouts",
    params(("id" = String, Path, description = "Payout id")),
    responses(
        (status = 200, body = PayoutJson),
        (status = 404, description = "No such payout, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_payout(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: PayoutId = path_id(&id, "payout")?;
    Ok(reply(
        StatusCode::OK,
        PayoutJson::from(state.app.get_payout(scope, id).await?),
    ))
}

/// Records that a payout was paid, with the transfer's reference (operator only).
#[utoipa::path(
    post, path = "/payouts/{id}/paid", tag = "payouts",
    params(("id" = String, Path, description = "Payout id")),
    request_body = PaidRequest,
    responses(
        (status = 200, body = PayoutJson),
        (status = 403, description = "Only the operator moves payouts", body = ErrorBody),
        (status = 404, description = "No such payout", body = ErrorBody),
        (status = 409, description = "The payout is paid or cancelled already", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_payout_paid(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: PayoutId = path_id(&id, "payout")?;
    state.app.get_payout(scope, id).await?;
    operator_only(scope)?;
    let request: PaidRequest = body.read()?;
    let payout = state
        .app
        .move_payout(scope, id, PayoutEvent::MarkPaid, request.reference)
        .await?;
    Ok(reply(StatusCode::OK, PayoutJson::from(payout)))
}

/// Withdraws a payout that was not paid (operator only): its amount is available again.
#[utoipa::path(
    post, path = "/payouts/{id}/cancel", tag = "payouts",
    params(("id" = String, Path, description = "Payout id")),
    responses(
        (status = 200, body = PayoutJson),
        (status = 403, description = "Only the operator moves payouts", body = ErrorBody),
        (status = 404, description = "No such payout", body = ErrorBody),
        (status = 409, description = "The payout is paid or cancelled already", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_payout_cancel(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: PayoutId = path_id(&id, "payout")?;
    state.app.get_payout(scope, id).await?;
    operator_only(scope)?;
    let payout = state.app.move_payout(scope, id, PayoutEvent::Cancel, None).await?;
    Ok(reply(StatusCode::OK, PayoutJson::from(payout)))
}
