//! The jobs the engine enqueues. Each has a stable stored name that never changes and a
//! JSON payload; every job is idempotent, so a job run twice after a crash does no harm.

use crate::error::AppError;
use crate::ports::{Job, NewJob};
use dropline_domain::ids::{JobId, MessageId, OrderId, RefundId, ShipmentId, StoreId, SupplierId, SupplierOrderId};
use dropline_domain::order::Order;
use serde_json::json;
use time::OffsetDateTime;

/// Stored name of the routing job.
pub const ROUTE_ORDER: &str = "route_order";
/// Stored name of the job that writes a shipment back to the storefront as a fulfillment.
pub const STOREFRONT_FULFILLMENT: &str = "storefront_fulfillment";
/// Stored name of the job that writes a delivery or a cancellation back to the storefront.
pub const STOREFRONT_STATUS: &str = "storefront_status";
/// Stored name of the job that makes a refund dropline issued on the order's storefront.
pub const STOREFRONT_REFUND: &str = "storefront_refund";
/// Stored name of the job that pulls one page of a store's catalogue from its platform.
pub const CATALOG_PULL: &str = "catalog_pull";
/// Stored name of the job that places a supplier order with its supplier (exactly once).
pub const PLACE_SUPPLIER_ORDER: &str = "place_supplier_order";
/// Stored name of the job that follows a placed supplier order at its supplier.
pub const SYNC_SUPPLIER_ORDER: &str = "sync_supplier_order";
/// Stored name of the job that asks a supplier to cancel a supplier order.
pub const CANCEL_AT_SUPPLIER: &str = "cancel_at_supplier";
/// Stored name of the job that compares a supplier's own order list with dropline's.
pub const RECONCILE_SUPPLIER: &str = "reconcile_supplier";
/// Stored name of the job that syncs a supplier's stock and costs and writes the storefront.
pub const STOCK_SYNC: &str = "stock_sync";
/// Stored name of the job that sends one message of the outbox.
pub const SEND_MESSAGE: &str = "send_message";
/// Stored name of the job that asks the tracking sources about one parcel.
pub const POLL_TRACKING: &str = "poll_tracking";

/// A status written back to the storefront.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum StorefrontStatus {
    Delivered { tracking_number: String },
    Cancelled,
}

/// A parsed job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Route an accepted order and create its supplier orders.
    RouteOrder { order_id: OrderId },
    /// Write a shipment back to the storefront.
    StorefrontFulfillment { order_id: OrderId, shipment_id: ShipmentId },
    /// Write a status back to the storefront.
    StorefrontStatus {
        order_id: OrderId,
        status: StorefrontStatus,
    },
    /// Make a refund of the order on its storefront (once).
    StorefrontRefund { order_id: OrderId, refund_id: RefundId },
    /// Pull a page of the store's catalogue (`cursor` from the previous page).
    CatalogPull { store_id: StoreId, cursor: Option<String> },
    /// Place a supplier order with its supplier; `attempt` counts the tries so far.
    PlaceSupplierOrder {
        order_id: OrderId,
        supplier_order_id: SupplierOrderId,
        attempt: u32,
    },
    /// Follow a placed supplier order (status, parcels, deadline).
    SyncSupplierOrder {
        order_id: OrderId,
        supplier_order_id: SupplierOrderId,
        attempt: u32,
    },
    /// Ask the supplier to cancel a supplier order.
    CancelAtSupplier {
        order_id: OrderId,
        supplier_order_id: SupplierOrderId,
        attempt: u32,
    },
    /// Compare a supplier's order list with dropline's (`page` from 1).
    ReconcileSupplier { supplier_id: SupplierId },
    /// Read a supplier's stock and costs (all its offers, or those of the products and
    /// variants a webhook named), reprice and write the storefront.
    StockSync {
        supplier_id: SupplierId,
        only: Option<crate::supplier::SupplierNotice>,
    },
    /// Send one message of the outbox.
    SendMessage { message_id: MessageId },
    /// Ask the tracking sources about one parcel; `attempt` counts failed tries in a row.
    PollTracking {
        order_id: OrderId,
        shipment_id: ShipmentId,
        attempt: u32,
    },
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
        let field = |name: &str| -> Result<&serde_json::Value, AppError> {
            job.payload
                .get(name)
                .ok_or_else(|| AppError::invalid(format!("payload.{name}"), "missing"))
        };
        let parse_field = |name: &str| -> Result<String, AppError> {
            field(name)?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| AppError::invalid(format!("payload.{name}"), "not a string"))
        };
        match job.kind.as_str() {
            ROUTE_ORDER => Ok(Self::RouteOrder { order_id: order_id()? }),
            STOREFRONT_FULFILLMENT => Ok(Self::StorefrontFulfillment {
                order_id: order_id()?,
                shipment_id: parse_field("shipment_id")?
                    .parse()
                    .map_err(|_| AppError::invalid("payload.shipment_id", "not an id"))?,
            }),
            STOREFRONT_STATUS => Ok(Self::StorefrontStatus {
                order_id: order_id()?,
                status: serde_json::from_value(field("status")?.clone())
                    .map_err(|err| AppError::invalid("payload.status", err.to_string()))?,
            }),
            STOREFRONT_REFUND => Ok(Self::StorefrontRefund {
                order_id: order_id()?,
                refund_id: parse_field("refund_id")?
                    .parse()
                    .map_err(|_| AppError::invalid("payload.refund_id", "not an id"))?,
            }),
            CATALOG_PULL => Ok(Self::CatalogPull {
                store_id: parse_field("store_id")?
                    .parse()
                    .map_err(|_| AppError::invalid("payload.store_id", "not an id"))?,
                cursor: job.payload.get("cursor").and_then(|c| c.as_str()).map(str::to_string),
            }),
            PLACE_SUPPLIER_ORDER | SYNC_SUPPLIER_ORDER | CANCEL_AT_SUPPLIER => {
                let supplier_order_id = parse_field("supplier_order_id")?
                    .parse()
                    .map_err(|_| AppError::invalid("payload.supplier_order_id", "not an id"))?;
                let attempt = job
                    .payload
                    .get("attempt")
                    .and_then(|a| a.as_u64())
                    .map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX));
                let order_id = order_id()?;
                Ok(match job.kind.as_str() {
                    PLACE_SUPPLIER_ORDER => Self::PlaceSupplierOrder {
                        order_id,
                        supplier_order_id,
                        attempt,
                    },
                    SYNC_SUPPLIER_ORDER => Self::SyncSupplierOrder {
                        order_id,
                        supplier_order_id,
                        attempt,
                    },
                    _ => Self::CancelAtSupplier {
                        order_id,
                        supplier_order_id,
                        attempt,
                    },
                })
            }
            RECONCILE_SUPPLIER => Ok(Self::ReconcileSupplier {
                supplier_id: parse_field("supplier_id")?
                    .parse()
                    .map_err(|_| AppError::invalid("payload.supplier_id", "not an id"))?,
            }),
            STOCK_SYNC => {
                let ids = |name: &str| -> Option<Vec<String>> {
                    job.payload.get(name).and_then(|v| v.as_array()).map(|items| {
                        items
                            .iter()
                            .filter_map(|item| item.as_str().map(str::to_string))
                            .collect()
                    })
                };
                let only = match (ids("product_ids"), ids("variant_ids")) {
                    (None, None) => None,
                    (product_ids, variant_ids) => Some(crate::supplier::SupplierNotice {
                        product_ids: product_ids.unwrap_or_default(),
                        variant_ids: variant_ids.unwrap_or_default(),
                    }),
                };
                Ok(Self::StockSync {
                    supplier_id: parse_field("supplier_id")?
                        .parse()
                        .map_err(|_| AppError::invalid("payload.supplier_id", "not an id"))?,
                    only,
                })
            }
            SEND_MESSAGE => Ok(Self::SendMessage {
                message_id: parse_field("message_id")?
                    .parse()
                    .map_err(|_| AppError::invalid("payload.message_id", "not an id"))?,
            }),
            POLL_TRACKING => Ok(Self::PollTracking {
                order_id: order_id()?,
                shipment_id: parse_field("shipment_id")?
                    .parse()
                    .map_err(|_| AppError::invalid("payload.shipment_id", "not an id"))?,
                attempt: job
                    .payload
                    .get("attempt")
                    .and_then(|a| a.as_u64())
                    .map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX)),
            }),
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

/// The job that writes a new shipment back to the order's storefront.
pub fn storefront_fulfillment_job(order: &Order, shipment_id: ShipmentId, now: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: STOREFRONT_FULFILLMENT.into(),
        payload: json!({ "order_id": order.id, "shipment_id": shipment_id }),
        run_after: now,
        store_id: Some(order.store_id),
    }
}

/// The job that writes a status back to the order's storefront.
pub fn storefront_status_job(order: &Order, status: StorefrontStatus, now: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: STOREFRONT_STATUS.into(),
        payload: json!({ "order_id": order.id, "status": status }),
        run_after: now,
        store_id: Some(order.store_id),
    }
}

/// The job that makes a refund of the order on its storefront.
pub fn storefront_refund_job(order: &Order, refund_id: RefundId, now: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: STOREFRONT_REFUND.into(),
        payload: json!({ "order_id": order.id, "refund_id": refund_id }),
        run_after: now,
        store_id: Some(order.store_id),
    }
}

/// The job that pulls a page of a store's catalogue.
pub fn catalog_pull_job(store_id: StoreId, cursor: Option<&str>, now: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: CATALOG_PULL.into(),
        payload: json!({ "store_id": store_id, "cursor": cursor }),
        run_after: now,
        store_id: Some(store_id),
    }
}

/// A job about one supplier order (`place_supplier_order`, `sync_supplier_order`,
/// `cancel_at_supplier`), to run at `run_after`; `attempt` counts earlier tries.
pub fn supplier_order_job(
    kind: &str,
    order: &Order,
    supplier_order_id: SupplierOrderId,
    attempt: u32,
    run_after: OffsetDateTime,
) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: kind.into(),
        payload: json!({ "order_id": order.id, "supplier_order_id": supplier_order_id, "attempt": attempt }),
        run_after,
        store_id: Some(order.store_id),
    }
}

/// The job that reconciles a supplier's order list with dropline's.
pub fn reconcile_job(supplier_id: SupplierId, store_id: StoreId, now: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: RECONCILE_SUPPLIER.into(),
        payload: json!({ "supplier_id": supplier_id }),
        run_after: now,
        store_id: Some(store_id),
    }
}

/// The job that syncs a supplier's stock and costs.
pub fn stock_sync_job(supplier_id: SupplierId, store_id: StoreId, now: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: STOCK_SYNC.into(),
        payload: json!({ "supplier_id": supplier_id }),
        run_after: now,
        store_id: Some(store_id),
    }
}

/// The job that reads again the products and variants a supplier's webhook named.
pub fn stock_notice_job(
    supplier_id: SupplierId,
    store_id: StoreId,
    notice: &crate::supplier::SupplierNotice,
    now: OffsetDateTime,
) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: STOCK_SYNC.into(),
        payload: json!({
            "supplier_id": supplier_id,
            "product_ids": notice.product_ids,
            "variant_ids": notice.variant_ids,
        }),
        run_after: now,
        store_id: Some(store_id),
    }
}

/// The job that sends a message of the outbox.
pub fn send_message_job(message: &crate::ports::Message, run_after: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: SEND_MESSAGE.into(),
        payload: json!({ "message_id": message.id }),
        run_after,
        store_id: Some(message.store_id),
    }
}

/// The job that asks the tracking sources about a parcel, at `run_after`.
pub fn poll_tracking_job(order: &Order, shipment_id: ShipmentId, attempt: u32, run_after: OffsetDateTime) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: POLL_TRACKING.into(),
        payload: json!({ "order_id": order.id, "shipment_id": shipment_id, "attempt": attempt }),
        run_after,
        store_id: Some(order.store_id),
    }
}
