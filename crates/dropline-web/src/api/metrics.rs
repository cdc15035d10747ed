//! Metrics over the API: the shipping time of each lane (supplier × destination), and the
//! breakdown of a store's orders (times, rates, fulfillment cost, profit) per supplier, lane
//! or product.

use crate::AppState;
use crate::api::suppliers::store_filter;
use crate::api::{CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::MoneyJson;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Problems, QueryParams};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::Scope;
use dropline_app::breakdown::{Breakdown, BreakdownBy, BreakdownGroup, Durations, Figures};
use dropline_domain::ids::StoreId;
use serde::Serialize;
use time::OffsetDateTime;
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
    let store_id = required_store(scope, store_id, &mut problems);
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

/// The store a per-store metric is about: the one asked for, else the caller's own; the
/// operator must name one.
fn required_store(scope: Scope, asked: Option<StoreId>, problems: &mut Problems) -> Option<StoreId> {
    match (asked, scope) {
        (Some(id), _) | (None, Scope::Store(id)) => Some(id),
        (None, Scope::Operator) => {
            problems.push("store_id", "is required with the operator token");
            None
        }
    }
}

/// Days of a breakdown by default.
const DEFAULT_BREAKDOWN_DAYS: u32 = 30;

/// Durations of a group's orders, in whole seconds.
#[derive(Serialize, ToSchema)]
pub struct DurationsJson {
    /// Orders measured.
    pub orders: u64,
    /// The middle order's.
    pub median_seconds: i64,
    /// What 90 % of the orders stayed within (nearest rank).
    pub p90_seconds: i64,
}

impl From<Durations> for DurationsJson {
    fn from(d: Durations) -> Self {
        Self {
            orders: d.orders,
            median_seconds: d.median_seconds,
            p90_seconds: d.p90_seconds,
        }
    }
}

/// What a group's (or the period's) orders came to. Rates are basis points (1/100 of a
/// percent) of the orders, rounded half up; money is in the store's currency.
#[derive(Serialize, ToSchema)]
pub struct FiguresJson {
    /// Orders with a part in the group (an order through two suppliers counts in both).
    pub orders: u64,
    /// Of them, those in another currency than the store's: their money is left out.
    pub orders_left_out: u64,
    /// From receipt to the first request sent to the group's supplier; null without one.
    pub processing: Option<DurationsJson>,
    /// From the group's first parcel shipped to its last delivered, of delivered orders.
    pub shipping: Option<DurationsJson>,
    /// Orders refunded in part or in full (a refund of lines counts in their groups only).
    pub refunded_orders: u64,
    pub refund_rate_bp: Option<u64>,
    /// Orders whose payment was disputed (chargebacks).
    pub disputed_orders: u64,
    pub chargeback_rate_bp: Option<u64>,
    /// Orders with a fulfillment cost (supplier orders, re-shipments).
    pub costed_orders: u64,
    pub fulfillment_cost: MoneyJson,
    /// Average fulfillment cost of the costed orders, rounded; null without any.
    pub fulfillment_cost_per_order: Option<MoneyJson>,
    /// Charged, less discounts, refunds and chargebacks.
    pub revenue: MoneyJson,
    /// Supplier costs, re-shipments, fees, chargeback fees.
    pub costs: MoneyJson,
    pub profit: MoneyJson,
    /// The profit in basis points of the revenue, rounded; null without revenue.
    pub margin_bp: Option<i64>,
}

impl From<Figures> for FiguresJson {
    fn from(f: Figures) -> Self {
        Self {
            orders: f.orders,
            orders_left_out: f.orders_left_out,
            processing: f.processing.map(Into::into),
            shipping: f.shipping.map(Into::into),
            refunded_orders: f.refunded,
            refund_rate_bp: f.refund_rate_bp,
            disputed_orders: f.disputed,
            chargeback_rate_bp: f.chargeback_rate_bp,
            costed_orders: f.costed,
            fulfillment_cost: f.fulfillment_cost.into(),
            fulfillment_cost_per_order: f.cost_per_order.map(Into::into),
            revenue: f.revenue.into(),
            costs: f.costs.into(),
            profit: f.profit.into(),
            margin_bp: f.margin_bp,
        }
    }
}

/// One supplier, lane or product.
#[derive(Serialize, ToSchema)]
pub struct BreakdownGroupJson {
    /// By supplier and lane; null: the part of the orders at no supplier yet.
    pub supplier_id: Option<String>,
    pub supplier_name: Option<String>,
    /// By lane: the destination (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// By product; null: lines whose variant is in no product of the catalogue.
    pub product_id: Option<String>,
    pub product_title: Option<String>,
    #[serde(flatten)]
    pub figures: FiguresJson,
}

impl From<BreakdownGroup> for BreakdownGroupJson {
    fn from(group: BreakdownGroup) -> Self {
        Self {
            supplier_id: group.key.supplier_id.map(|id| id.to_string()),
            supplier_name: group.supplier_name,
            country: group.key.country,
            product_id: group.key.product_id.map(|id| id.to_string()),
            product_title: group.product_title,
            figures: group.figures.into(),
        }
    }
}

/// A store's orders of a period, grouped.
#[derive(Serialize, ToSchema)]
pub struct BreakdownJson {
    pub store_id: String,
    /// `supplier`, `lane` or `product`.
    pub by: String,
    pub days: u32,
    /// The period: orders placed from `from` (included) to `to` (excluded), UTC days.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub to: OffsetDateTime,
    /// The store's currency: every amount is in it.
    pub currency: String,
    /// Every order of the period, once.
    pub total: FiguresJson,
    /// Supplier orders charged in another currency than their order: left out of the costs.
    pub supplier_costs_left_out: u64,
    /// Most profit first.
    pub groups: Vec<BreakdownGroupJson>,
}

impl From<Breakdown> for BreakdownJson {
    fn from(breakdown: Breakdown) -> Self {
        Self {
            store_id: breakdown.store_id.to_string(),
            by: breakdown.by.as_str().to_string(),
            days: breakdown.days,
            from: breakdown.from,
            to: breakdown.to,
            currency: breakdown.currency.code().to_string(),
            total: breakdown.total.into(),
            supplier_costs_left_out: breakdown.supplier_costs_left_out,
            groups: breakdown.groups.into_iter().map(Into::into).collect(),
        }
    }
}

/// Processing and shipping times (median and 90th percentile), refund and chargeback rates,
/// fulfillment cost per order, revenue, costs, profit and margin of a store's orders placed
/// in the last `days` UTC days (today included), per supplier, per lane (supplier ×
/// destination country) or per product. Money comes from each order's ledger with the
/// store's fees; an order through two suppliers or of two products gives each its share
/// (supplier costs by supplier order, the sale by line price, the order's shared money by
/// line value, in whole minor units that add up exactly).
#[utoipa::path(
    get, path = "/metrics/breakdown", tag = "metrics",
    params(
        ("store_id" = Option<String>, Query, description = "The store (required with the operator token; a store's token means its own)"),
        ("days" = Option<u32>, Query, description = "UTC days to look back, today included, 1 to 366 (default 30)"),
        ("by" = Option<String>, Query, description = "`supplier` (default), `lane` or `product`"),
    ),
    responses(
        (status = 200, body = BreakdownJson),
        (status = 404, description = "The store names a store the caller may not see", body = ErrorBody),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_breakdown(
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
        .unwrap_or(DEFAULT_BREAKDOWN_DAYS);
    let by = query
        .get(&mut problems, "by", |text| {
            BreakdownBy::parse(text).ok_or_else(|| "must be one of: supplier, lane, product".to_string())
        })
        .unwrap_or(BreakdownBy::Supplier);
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    let store_id = required_store(scope, store_id, &mut problems);
    problems.finish(Some(()))?;
    let Some(store_id) = store_id else {
        return Err(ApiError::not_found("store"));
    };
    let breakdown = state.app.breakdown(scope, store_id, days, by).await?;
    Ok(reply(StatusCode::OK, BreakdownJson::from(breakdown)))
}
