//! Reading orders, their timeline, parcels and open exceptions, the outbox and the webhook
//! deliveries handled. Writes go through `commit.rs`.

use crate::catalog::doc;
use crate::error::{corrupt, store_error};
use crate::page_limit;
use dropline_app::ports::{
    ExceptionEntry, ExceptionFilter, LaneSample, Message, MessageFilter, OrderFilter, ShipmentRef, StoreError,
    contains_pattern, search_numbers,
};
use dropline_domain::ids::{MessageId, OrderId, ShipmentId, StoreId, SupplierId, SupplierOrderId};
use dropline_domain::order::{ExceptionKind, Order, SuggestedAction};
use dropline_domain::state::OrderState;
use dropline_domain::timeline::TimelineEvent;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// Most lane samples one call gives.
const LANE_SAMPLES_LIMIT: i64 = 10_000;

/// An order from a `SELECT doc, version` row: the version column is the truth, the copy
/// inside the document may lag behind it.
pub(crate) fn order_from_row(row: &PgRow) -> Result<Order, StoreError> {
    let mut order: Order = doc(row, "order")?;
    let version: i64 = row.try_get("version").map_err(|err| corrupt("order version", err))?;
    order.version = u64::try_from(version).map_err(|err| corrupt("order version", err))?;
    Ok(order)
}

impl crate::PostgresStore {
    pub(crate) async fn fetch_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query("SELECT doc, version FROM orders WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(order_from_row).transpose()
    }

    pub(crate) async fn fetch_order_by_external_id(
        &self,
        store_id: StoreId,
        external_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query("SELECT doc, version FROM orders WHERE store_id = $1 AND external_id = $2")
            .bind(store_id.0)
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(order_from_row).transpose()
    }

    pub(crate) async fn fetch_delivery_seen(&self, store_id: StoreId, delivery_id: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE store_id = $1 AND delivery_id = $2)")
            .bind(store_id.0)
            .bind(delivery_id)
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)
    }

    pub(crate) async fn fetch_order_of_supplier_order(
        &self,
        id: SupplierOrderId,
    ) -> Result<Option<OrderId>, StoreError> {
        let order_id: Option<Uuid> = sqlx::query_scalar("SELECT order_id FROM supplier_orders WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(order_id.map(OrderId))
    }

    /// Built per filter, so that each combination gets a plan that can use its index.
    /// Keyset pagination on the primary key: ids are UUIDv7, so `id DESC` is newest first
    /// and `id < before` continues after the previous page without an offset.
    pub(crate) async fn fetch_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        let mut query = QueryBuilder::<Postgres>::new("SELECT o.doc, o.version FROM orders o WHERE TRUE");
        if let Some(store_id) = filter.store_id {
            query.push(" AND o.store_id = ").push_bind(store_id.0);
        }
        if let Some(state) = filter.state {
            query.push(" AND o.state = ").push_bind(state.as_str());
        }
        if let Some(supplier_id) = filter.supplier_id {
            query
                .push(" AND EXISTS (SELECT 1 FROM supplier_orders so WHERE so.order_id = o.id AND so.supplier_id = ")
                .push_bind(supplier_id.0)
                .push(")");
        }
        if let Some(from) = filter.placed_from {
            query.push(" AND o.placed_at >= ").push_bind(from);
        }
        if let Some(to) = filter.placed_to {
            query.push(" AND o.placed_at < ").push_bind(to);
        }
        if let Some(before) = filter.before {
            query.push(" AND o.id < ").push_bind(before.0);
        }
        if let Some(after) = filter.after {
            query.push(" AND o.id > ").push_bind(after.0);
        }
        if filter.with_exception {
            query.push(" AND EXISTS (SELECT 1 FROM order_exceptions e WHERE e.order_id = o.id)");
        }
        if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let (bare, hashed, tracking) = search_numbers(search);
            // The candidates: by number, by part of the name or email, by tracking number.
            query
                .push(" AND o.id IN (SELECT n.id FROM orders n WHERE n.number IN (")
                .push_bind(bare)
                .push(", ")
                .push_bind(hashed)
                .push(") UNION ALL SELECT c.id FROM orders c WHERE c.customer_search LIKE ")
                .push_bind(contains_pattern(search))
                .push(" ESCAPE '\\'");
            if let Some(store_id) = filter.store_id {
                query.push(" AND c.store_id = ").push_bind(store_id.0);
            }
            query
                .push(" UNION ALL SELECT s.order_id FROM shipments s WHERE s.tracking_number IN (")
                .push_bind(search.to_string())
                .push(", ")
                .push_bind(tracking)
                .push("))");
        }
        query
            .push(if filter.oldest_first {
                " ORDER BY o.id ASC LIMIT "
            } else {
                " ORDER BY o.id DESC LIMIT "
            })
            .push_bind(page_limit(filter.limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(order_from_row).collect()
    }

    /// Only states that have orders, in the order of [`OrderState::ALL`].
    pub(crate) async fn fetch_order_counts(
        &self,
        store_id: Option<StoreId>,
    ) -> Result<Vec<(OrderState, u64)>, StoreError> {
        let query = match store_id {
            Some(store_id) => {
                sqlx::query("SELECT state, count(*) AS orders FROM orders WHERE store_id = $1 GROUP BY state")
                    .bind(store_id.0)
            }
            None => sqlx::query("SELECT state, count(*) AS orders FROM orders GROUP BY state"),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in &rows {
            let state: String = row.try_get("state").map_err(|err| corrupt("order state", err))?;
            let orders: i64 = row.try_get("orders").map_err(|err| corrupt("order count", err))?;
            let state = OrderState::parse(&state).ok_or_else(|| corrupt("order state", &state))?;
            let orders = u64::try_from(orders).map_err(|err| corrupt("order count", err))?;
            counts.push((state, orders));
        }
        counts.sort_by_key(|(state, _)| OrderState::ALL.iter().position(|s| s == state));
        Ok(counts)
    }

    pub(crate) async fn fetch_timeline(&self, order_id: OrderId) -> Result<Vec<TimelineEvent>, StoreError> {
        let rows = sqlx::query("SELECT doc FROM timeline_events WHERE order_id = $1 ORDER BY at, id")
            .bind(order_id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(|row| doc(row, "timeline event")).collect()
    }

    /// Newest first (ids are time-ordered).
    pub(crate) async fn fetch_messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
        let mut query = QueryBuilder::<Postgres>::new("SELECT doc FROM messages WHERE TRUE");
        if let Some(store_id) = filter.store_id {
            query.push(" AND store_id = ").push_bind(store_id.0);
        }
        if let Some(order_id) = filter.order_id {
            query.push(" AND order_id = ").push_bind(order_id.0);
        }
        if let Some(state) = filter.state {
            query.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(template) = &filter.template {
            query.push(" AND template = ").push_bind(template.clone());
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(page_limit(filter.limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(|row| doc(row, "message")).collect()
    }

    pub(crate) async fn fetch_message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let row = sqlx::query("SELECT doc FROM messages WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(|row| doc(row, "message")).transpose()
    }

    pub(crate) async fn fetch_order_by_tracking_token(&self, token: &str) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query("SELECT doc, version FROM orders WHERE tracking_token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// In shipment id order (creation order).
    pub(crate) async fn fetch_shipments_by_tracking_number(
        &self,
        tracking_number: &str,
    ) -> Result<Vec<ShipmentRef>, StoreError> {
        let rows: Vec<(Uuid, Uuid, Uuid)> =
            sqlx::query_as("SELECT order_id, store_id, id FROM shipments WHERE tracking_number = $1 ORDER BY id")
                .bind(tracking_number)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(order_id, store_id, id)| ShipmentRef {
                order_id: OrderId(order_id),
                store_id: StoreId(store_id),
                shipment_id: ShipmentId(id),
            })
            .collect())
    }

    /// Oldest first: by time raised, then order, then place in the order's list.
    pub(crate) async fn fetch_exceptions(&self, filter: &ExceptionFilter) -> Result<Vec<ExceptionEntry>, StoreError> {
        let mut query = QueryBuilder::<Postgres>::new(
            "SELECT order_id, store_id, order_number, kind, detail, suggested_action, raised_at \
             FROM order_exceptions WHERE TRUE",
        );
        if let Some(store_id) = filter.store_id {
            query.push(" AND store_id = ").push_bind(store_id.0);
        }
        if let Some(kind) = filter.kind {
            query.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let Some(before) = filter.raised_before {
            query.push(" AND raised_at < ").push_bind(before);
        }
        if let Some((raised_at, order_id)) = filter.after {
            query
                .push(" AND (raised_at, order_id) > (")
                .push_bind(raised_at)
                .push(", ")
                .push_bind(order_id.0)
                .push(")");
        }
        query
            .push(" ORDER BY raised_at, order_id, position LIMIT ")
            .push_bind(page_limit(filter.limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind").map_err(|err| corrupt("exception kind", err))?;
                let action: String = row
                    .try_get("suggested_action")
                    .map_err(|err| corrupt("suggested action", err))?;
                Ok(ExceptionEntry {
                    order_id: OrderId(row.try_get("order_id").map_err(|err| corrupt("exception", err))?),
                    store_id: StoreId(row.try_get("store_id").map_err(|err| corrupt("exception", err))?),
                    order_number: row.try_get("order_number").map_err(|err| corrupt("exception", err))?,
                    kind: ExceptionKind::parse(&kind).ok_or_else(|| corrupt("exception kind", &kind))?,
                    detail: row.try_get("detail").map_err(|err| corrupt("exception", err))?,
                    suggested_action: SuggestedAction::parse(&action)
                        .ok_or_else(|| corrupt("suggested action", &action))?,
                    raised_at: row.try_get("raised_at").map_err(|err| corrupt("exception", err))?,
                })
            })
            .collect()
    }

    /// Newest delivery first.
    pub(crate) async fn fetch_lane_samples(
        &self,
        store_id: StoreId,
        since: OffsetDateTime,
    ) -> Result<Vec<LaneSample>, StoreError> {
        let rows: Vec<(Uuid, String, OffsetDateTime, OffsetDateTime)> = sqlx::query_as(
            "SELECT supplier_id, country, shipped_at, delivered_at FROM shipments \
             WHERE store_id = $1 AND delivered_at >= $2 AND state = 'delivered' AND shipped_at IS NOT NULL \
             ORDER BY delivered_at DESC, id DESC LIMIT $3",
        )
        .bind(store_id.0)
        .bind(since)
        .bind(LANE_SAMPLES_LIMIT)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(supplier_id, country, shipped_at, delivered_at)| LaneSample {
                supplier_id: SupplierId(supplier_id),
                country,
                shipped_at,
                delivered_at,
            })
            .collect())
    }
}
