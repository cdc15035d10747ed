//! The jobs the engine enqueues. Each has a stable stored name that never changes and a
//! JSON payload; every job is idempotent, so a job run twice after a crash does no harm.

use crate::error::AppError;
use crate::ports::{Job, NewJob};
use dropline_domain::ids::{JobId, OrderId, StoreId};
use serde_json::json;
use time::OffsetDateTime;

/// Stored name of the routing job.
pub const ROUTE_ORDER: &str = "route_order";

/// A parsed job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Route an accepted order and create its supplier orders.
    RouteOrder { order_id: OrderId },
}

impl JobKind {
    /// Reads a claimed job; an unknown kind or a bad payload is an error (the worker buries it).
    pub fn parse(job: &Job) -> Result<Self, AppError> {
        let order_id = || -> Result<OrderId, AppError> {
            job.payload
                .get("order_id")
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| AppError::invalid("payload.order_id", "missing or not an id"))
        };
        match job.kind.as_str() {
            ROUTE_ORDER => Ok(Self::RouteOrder { order_id: order_id()? }),
            other => Err(AppError::invalid("kind", format!("unknown job kind '{other}'"))),
        }
    }
}

/// The routing job of an order.
pub fn route_job(order_id: OrderId, store_id: StoreId, now: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: ROUTE_ORDER.into(),
        payload: json!({ "order_id": order_id }),
        run_after: now,
        store_id: Some(store_id),
    }
}
