//! The seller's work list: open exceptions of orders, oldest first.

use crate::AppState;
use crate::api::suppliers::store_filter;
use crate::api::{CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{ExceptionKindName, SuggestedActionName};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Problems, QueryParams, parse_choice, parse_limit};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::ports::{ExceptionEntry, ExceptionFilter};
use dropline_domain::order::ExceptionKind;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Exceptions per answer when `limit` is left out.
const DEFAULT_LIMIT: u32 = 100;

/// An open exception of an order.
#[derive(Serialize, ToSchema)]
#[schema(as = OpenException)]
pub struct ExceptionJson {
    pub order_id: String,
    pub store_id: String,
    /// The order name the customer sees.
    pub order_number: String,
    #[schema(value_type = ExceptionKindName)]
    pub kind: String,
    pub detail: String,
    #[schema(value_type = SuggestedActionName)]
    pub suggested_action: String,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    /// Whole hours since it was raised.
    pub age_hours: i64,
}

/// The work list.
#[derive(Serialize, ToSchema)]
pub struct ExceptionList {
    pub exceptions: Vec<ExceptionJson>,
}

fn parse_hours(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n @ 0..=87_600) => Ok(n),
        _ => Err("must be a whole number of hours from 0 to 87600".to_string()),
    }
}

/// Open exceptions of the caller's orders, oldest first: the seller's daily work list.
#[utoipa::path(
    get, path = "/exceptions", tag = "orders",
    params(
        ("store_id" = Option<String>, Query, description = "Only this store's"),
        ("kind" = Option<String>, Query, description = "Only this kind (see ExceptionKind)"),
        ("older_than_hours" = Option<u32>, Query, description = "Only those raised at least this many hours ago"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, body = ExceptionList),
        (status = 404, description = "The store filter names a store the caller may not see", body = ErrorBody),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_exceptions(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let kind: Option<ExceptionKind> = query.get(&mut problems, "kind", parse_choice);
    let older_than = query.get(&mut problems, "older_than_hours", parse_hours);
    let limit = query.get(&mut problems, "limit", parse_limit).unwrap_or(DEFAULT_LIMIT);
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    problems.finish(Some(()))?;
    let now = state.app.now();
    let filter = ExceptionFilter {
        store_id,
        kind,
        raised_before: older_than.map(|hours| now - time::Duration::hours(i64::from(hours))),
        after: None,
        limit,
    };
    let entries = state.app.list_exceptions(scope, filter).await?;
    Ok(reply(
        StatusCode::OK,
        ExceptionList {
            exceptions: entries.into_iter().map(|e| json(e, now)).collect(),
        },
    ))
}

fn json(e: ExceptionEntry, now: OffsetDateTime) -> ExceptionJson {
    ExceptionJson {
        order_id: e.order_id.to_string(),
        store_id: e.store_id.to_string(),
        order_number: e.order_number,
        kind: e.kind.to_string(),
        detail: e.detail,
        suggested_action: e.suggested_action.to_string(),
        raised_at: e.raised_at,
        age_hours: (now - e.raised_at).whole_hours().max(0),
    }
}
