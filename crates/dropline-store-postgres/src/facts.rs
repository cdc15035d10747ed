//! The `order_facts` side table: the [`OrderFacts`] of every order, written with each order
//! write (in its transaction), summed per UTC day for the dashboard's charts; and the
//! backfill of the orders stored before the table existed.

use crate::catalog::doc;
use crate::error::{corrupt, store_error};
use dropline_app::metrics::{DailyMetrics, OrderFacts};
use dropline_app::ports::{PLACED_PAGE_MAX, PlacedCursor, PlacedPage, StoreError};
use dropline_domain::ids::{OrderId, StoreId};
use dropline_domain::money::Currency;
use dropline_domain::order::Order;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Postgres, QueryBuilder, Row};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Writes facts from arrays, one statement; `{conflict}` decides what an existing row gets.
const INSERT_FACTS: &str = "INSERT INTO order_facts (order_id, store_id, placed_at, currency, total_minor, \
         processing_seconds, first_shipped_at, delivered_at, shipping_seconds, fulfillment_cost_minor, refunded, \
         disputed_at) \
     SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::bigint[], $6::bigint[], \
         $7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::bigint[], $11::boolean[], $12::timestamptz[]) ";

/// An order write replaces its facts, writing the row only when something changed.
const ON_CONFLICT_REPLACE: &str = "ON CONFLICT (order_id) DO UPDATE SET store_id = EXCLUDED.store_id, \
         placed_at = EXCLUDED.placed_at, currency = EXCLUDED.currency, total_minor = EXCLUDED.total_minor, \
         processing_seconds = EXCLUDED.processing_seconds, first_shipped_at = EXCLUDED.first_shipped_at, \
         delivered_at = EXCLUDED.delivered_at, shipping_seconds = EXCLUDED.shipping_seconds, \
         fulfillment_cost_minor = EXCLUDED.fulfillment_cost_minor, refunded = EXCLUDED.refunded, \
         disputed_at = EXCLUDED.disputed_at \
     WHERE (order_facts.store_id, order_facts.placed_at, order_facts.currency, order_facts.total_minor, \
            order_facts.processing_seconds, order_facts.first_shipped_at, order_facts.delivered_at, \
            order_facts.shipping_seconds, order_facts.fulfillment_cost_minor, order_facts.refunded, \
            order_facts.disputed_at) \
       IS DISTINCT FROM (EXCLUDED.store_id, EXCLUDED.placed_at, EXCLUDED.currency, EXCLUDED.total_minor, \
            EXCLUDED.processing_seconds, EXCLUDED.first_shipped_at, EXCLUDED.delivered_at, \
            EXCLUDED.shipping_seconds, EXCLUDED.fulfillment_cost_minor, EXCLUDED.refunded, EXCLUDED.disputed_at)";

/// The backfill never overwrites: a row that exists was written by an order write, from a
/// document at least as new as the one the backfill read.
const ON_CONFLICT_KEEP: &str = "ON CONFLICT (order_id) DO NOTHING";

async fn insert_facts(conn: &mut PgConnection, facts: &[OrderFacts], on_conflict: &str) -> Result<(), StoreError> {
    if facts.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&OrderFacts) -> Option<OffsetDateTime>| facts.iter().map(f).collect::<Vec<_>>();
    let seconds = |f: fn(&OrderFacts) -> Option<i64>| facts.iter().map(f).collect::<Vec<_>>();
    sqlx::query(sqlx::AssertSqlSafe(format!("{INSERT_FACTS}{on_conflict}")))
        .bind(facts.iter().map(|f| f.order_id.0).collect::<Vec<Uuid>>())
        .bind(facts.iter().map(|f| f.store_id.0).collect::<Vec<Uuid>>())
        .bind(facts.iter().map(|f| f.placed_at).collect::<Vec<OffsetDateTime>>())
        .bind(facts.iter().map(|f| f.currency.code()).collect::<Vec<&str>>())
        .bind(facts.iter().map(|f| f.total_minor).collect::<Vec<i64>>())
        .bind(seconds(|f| f.processing_seconds))
        .bind(column(|f| f.first_shipped_at))
        .bind(column(|f| f.delivered_at))
        .bind(seconds(|f| f.shipping_seconds))
        .bind(seconds(|f| f.fulfillment_cost_minor))
        .bind(facts.iter().map(|f| f.refunded).collect::<Vec<bool>>())
        .bind(column(|f| f.disputed_at))
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Writes an order's facts with the order (part of its side rows).
pub(crate) async fn write_facts(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    insert_facts(conn, &[OrderFacts::of(order)], ON_CONFLICT_REPLACE).await
}

/// Orders whose facts one backfill statement writes.
const BACKFILL_BATCH: i64 = 1_000;

/// Writes the facts of the stored orders that have none, when the `order_facts` backfill is
/// pending: batch after batch in id order, then marks it done. Several processes migrating
/// at once may all run it: no row is ever written twice or overwritten. Returns how many
/// orders got facts. An order whose document cannot be read is skipped with a warning.
pub(crate) async fn backfill(pool: &PgPool) -> Result<u64, StoreError> {
    let pending: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pending_backfills WHERE name = 'order_facts')")
            .fetch_one(pool)
            .await
            .map_err(store_error)?;
    if !pending {
        return Ok(0);
    }
    let mut conn = pool.acquire().await.map_err(store_error)?;
    let mut after: Option<Uuid> = None;
    let mut written = 0_u64;
    loop {
        let rows = sqlx::query(
            "SELECT o.id, o.doc FROM orders o \
             WHERE ($1::uuid IS NULL OR o.id > $1) \
               AND NOT EXISTS (SELECT 1 FROM order_facts f WHERE f.order_id = o.id) \
             ORDER BY o.id LIMIT $2",
        )
        .bind(after)
        .bind(BACKFILL_BATCH)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
        if rows.is_empty() {
            break;
        }
        let mut facts = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("id").map_err(|err| corrupt("order id", err))?;
            after = Some(id);
            match doc::<Order>(row, "order") {
                Ok(order) => facts.push(OrderFacts::of(&order)),
                Err(error) => {
                    tracing::warn!(order = %id, %error, "order facts not backfilled: the order cannot be read");
                }
            }
        }
        insert_facts(&mut conn, &facts, ON_CONFLICT_KEEP).await?;
        written += facts.len() as u64;
    }
    sqlx::query("DELETE FROM pending_backfills WHERE name = 'order_facts'")
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    if written > 0 {
        tracing::info!(orders = written, "order facts backfilled");
    }
    Ok(written)
}

fn count(row: &sqlx::postgres::PgRow, name: &str) -> Result<u64, StoreError> {
    let value: i64 = row.try_get(name).map_err(|err| corrupt("daily metrics", err))?;
    u64::try_from(value).map_err(|err| corrupt("daily metrics", err))
}

impl crate::PostgresStore {
    /// Orders placed in `[from, to)`, summed per UTC day and currency, over one index range.
    pub(crate) async fn fetch_daily_metrics(
        &self,
        store_id: Option<StoreId>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<DailyMetrics>, StoreError> {
        // The daily rows the trigger on `order_facts` keeps, summed over the stores when no
        // store is named.
        let mut query = QueryBuilder::<Postgres>::new(
            "SELECT day, currency, sum(orders)::bigint AS orders, sum(processed)::bigint AS processed, \
                    sum(processing_seconds)::bigint AS processing_seconds, \
                    sum(delivered)::bigint AS delivered, sum(shipping_seconds)::bigint AS shipping_seconds, \
                    sum(refunded)::bigint AS refunded, sum(disputed)::bigint AS disputed, \
                    sum(fulfillment_cost_minor)::bigint AS fulfillment_cost_minor, \
                    sum(fulfillment_costed)::bigint AS fulfillment_costed \
             FROM order_metrics_daily WHERE day >= (",
        );
        query
            .push_bind(from)
            .push(" AT TIME ZONE 'UTC')::date AND day < (")
            .push_bind(to)
            .push(" AT TIME ZONE 'UTC')::date");
        if let Some(store_id) = store_id {
            query.push(" AND store_id = ").push_bind(store_id.0);
        }
        query.push(" GROUP BY 1, 2 HAVING sum(orders) > 0 ORDER BY 1, 2");
        let rows = query.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let currency: String = row.try_get("currency").map_err(|err| corrupt("currency", err))?;
                let metric = |name: &str| -> Result<i64, StoreError> {
                    row.try_get(name).map_err(|err| corrupt("daily metrics", err))
                };
                Ok(DailyMetrics {
                    day: row.try_get::<Date, _>("day").map_err(|err| corrupt("day", err))?,
                    currency: Currency::parse(&currency).map_err(|err| corrupt("currency", err))?,
                    orders: count(row, "orders")?,
                    processed: count(row, "processed")?,
                    processing_seconds: metric("processing_seconds")?,
                    delivered: count(row, "delivered")?,
                    shipping_seconds: metric("shipping_seconds")?,
                    refunded: count(row, "refunded")?,
                    disputed: count(row, "disputed")?,
                    fulfillment_cost_minor: metric("fulfillment_cost_minor")?,
                    fulfillment_costed: count(row, "fulfillment_costed")?,
                })
            })
            .collect()
    }

    /// A page of a store's orders by placing time, keyset on (placed_at, order_id) over
    /// `order_facts_store_id_placed_at_order_id_idx`, each order then found by its id.
    pub(crate) async fn fetch_orders_placed_between(
        &self,
        store_id: StoreId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: Option<PlacedCursor>,
        limit: u32,
    ) -> Result<PlacedPage, StoreError> {
        let limit = match limit {
            0 => PLACED_PAGE_MAX,
            n => n.min(PLACED_PAGE_MAX),
        };
        let rows = match after {
            None => {
                sqlx::query(
                    "SELECT o.doc, o.version, f.placed_at, f.order_id \
                     FROM order_facts f JOIN orders o ON o.id = f.order_id \
                     WHERE f.store_id = $1 AND f.placed_at >= $2 AND f.placed_at < $3 \
                     ORDER BY f.placed_at, f.order_id LIMIT $4",
                )
                .bind(store_id.0)
                .bind(from)
                .bind(to)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
            Some(cursor) => {
                sqlx::query(
                    "SELECT o.doc, o.version, f.placed_at, f.order_id \
                     FROM order_facts f JOIN orders o ON o.id = f.order_id \
                     WHERE f.store_id = $1 AND f.placed_at >= $2 AND f.placed_at < $3 \
                       AND (f.placed_at, f.order_id) > ($5, $6) \
                     ORDER BY f.placed_at, f.order_id LIMIT $4",
                )
                .bind(store_id.0)
                .bind(from)
                .bind(to)
                .bind(i64::from(limit))
                .bind(cursor.placed_at)
                .bind(cursor.order_id.0)
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(store_error)?;
        let mut orders = Vec::with_capacity(rows.len());
        let mut last = None;
        for row in &rows {
            let mut order: Order = doc(row, "order")?;
            let version: i64 = row.try_get("version").map_err(|err| corrupt("order version", err))?;
            order.version = u64::try_from(version).map_err(|err| corrupt("order version", err))?;
            last = Some(PlacedCursor {
                placed_at: row.try_get("placed_at").map_err(|err| corrupt("placed_at", err))?,
                order_id: OrderId(row.try_get("order_id").map_err(|err| corrupt("order id", err))?),
            });
            orders.push(order);
        }
        let next = if orders.len() as u64 >= u64::from(limit) {
            last
        } else {
            None
        };
        Ok(PlacedPage { orders, next })
    }

    /// Orders with at least one open exception (one row per open exception).
    pub(crate) async fn fetch_orders_with_open_exceptions(&self, store_id: Option<StoreId>) -> Result<u64, StoreError> {
        let counted: i64 = match store_id {
            Some(store_id) => {
                sqlx::query_scalar("SELECT count(DISTINCT order_id) FROM order_exceptions WHERE store_id = $1")
                    .bind(store_id.0)
                    .fetch_one(&self.pool)
                    .await
            }
            None => {
                sqlx::query_scalar("SELECT count(DISTINCT order_id) FROM order_exceptions")
                    .fetch_one(&self.pool)
                    .await
            }
        }
        .map_err(store_error)?;
        u64::try_from(counted).map_err(|err| corrupt("exception count", err))
    }
}
