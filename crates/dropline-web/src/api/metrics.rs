//! Metrics over the API: the shipping time of each lane (supplier × destination).

use crate::AppState;
use crate::api::suppliers::store_filter;
use crate::api::{CommonErrors, reply};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Problems, QueryParams};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::Scope;
use serde::Serialize;
use utoipa::ToSchema;

/// Days looked back by default.
const DEFAULT_DAYS: u32 = 90;

#[derive(Serialize, ToSchema)]
pub struct LaneJson {
    pub supplier_id: String,
    pub supplier_name: Option<String>,
    /// ISO 3166-1 alpha-2 of the destination.
    pub country: String,
    pub deliveries: usize,
    /// Hours from shipped to delivered of the middle parcel.
    pub median_hours: i64,
    /// Hours 90 % of the parcels were delivered within.
    pub p90_hours: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LaneList {
    pub days: u32,
    pub lanes: Vec<LaneJson>,
}

/// The shipping time of each lane of a store: its parcels delivered in the last `days`
/// days, by supplier and destination country.
#[utoipa::path(
    get, path = "/metrics/lanes", tag = "metrics",
    params(
        ("store_id" = Option<String>, Query, description = "The store (required with the operator token; a store's token means its own)"),
        ("days" = Option<u32>, Query, description = "Days to look back, 1 to 366 (default 90)"),
    ),
    responses(
        (status = 200, body = LaneList),
        (status = 404, description = "The store names a store the caller may not see", body = ErrorBody),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_lanes(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let days = query
        .get(&mut problems, "days", |text| match text.parse::<u32>() {
            Ok(days @ 1..=366) => Ok(days),
            _ => Err("must be a whole number of days from 1 to 366".to_string()),
        })
        .unwrap_or(DEFAULT_DAYS);
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    let store_id = match (store_id, scope) {
        (Some(id), _) | (None, Scope::Store(id)) => Some(id),
        (None, Scope::Operator) => {
            problems.push("store_id", "is required with the operator token");
            None
        }
    };
    problems.finish(Some(()))?;
    let Some(store_id) = store_id else {
        return Err(ApiError::not_found("store"));
    };
    let lanes = state.app.lanes(scope, store_id, days).await?;
    let suppliers = state.app.list_suppliers(scope, Some(store_id)).await?;
    Ok(reply(
        StatusCode::OK,
        LaneList {
            days,
            lanes: lanes
                .into_iter()
                .map(|lane| LaneJson {
                    supplier_name: suppliers
                        .iter()
                        .find(|s| s.id == lane.supplier_id)
                        .map(|s| s.name.clone()),
                    supplier_id: lane.supplier_id.to_string(),
                    country: lane.country,
                    deliveries: lane.deliveries,
                    median_hours: lane.median_hours,
                    p90_hours: lane.p90_hours,
                })
                .collect(),
        },
    ))
}
