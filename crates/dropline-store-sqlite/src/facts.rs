//! The `order_facts` side table: the [`OrderFacts`] of every order, written with each order
//! write (in its savepoint), summed per UTC day for the dashboard's charts; and the backfill
//! of the orders stored before the table existed.

use crate::sql::{SqlResult, collect, column, from_json, from_micros, micros, parse_name};
use dropline_app::metrics::{DailyMetrics, OrderFacts};
use dropline_app::ports::{PLACED_PAGE_MAX, PlacedCursor, PlacedPage, StoreError};
use dropline_domain::ids::{OrderId, StoreId};
use dropline_domain::money::Currency;
use dropline_domain::order::Order;
use rusqlite::types::Value;
use rusqlite::{Connection, Row, TransactionBehavior, params};
use time::Date;
use uuid::Uuid;

/// A row of `order_facts`, ready for SQL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EncodedFacts {
    order_id: Uuid,
    store_id: Uuid,
    placed_at: i64,
    currency: &'static str,
    total_minor: i64,
    processing_seconds: Option<i64>,
    first_shipped_at: Option<i64>,
    delivered_at: Option<i64>,
    shipping_seconds: Option<i64>,
    fulfillment_cost_minor: Option<i64>,
    refunded: bool,
    disputed_at: Option<i64>,
}

/// The facts of an order, as stored.
pub(crate) fn encode_facts(order: &Order) -> EncodedFacts {
    let facts = OrderFacts::of(order);
    EncodedFacts {
        order_id: facts.order_id.0,
        store_id: facts.store_id.0,
        placed_at: micros(facts.placed_at),
        currency: facts.currency.code(),
        total_minor: facts.total_minor,
        processing_seconds: facts.processing_seconds,
        first_shipped_at: facts.first_shipped_at.map(micros),
        delivered_at: facts.delivered_at.map(micros),
        shipping_seconds: facts.shipping_seconds,
        fulfillment_cost_minor: facts.fulfillment_cost_minor,
        refunded: facts.refunded,
        disputed_at: facts.disputed_at.map(micros),
    }
}

/// Writes an order's facts: inserted, or updated when they changed (an unchanged row is not
/// written again, so most order writes leave its pages alone).
pub(crate) fn write_facts(conn: &Connection, facts: &EncodedFacts) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO order_facts (order_id, store_id, placed_at, currency, total_minor, processing_seconds,
                                  first_shipped_at, delivered_at, shipping_seconds, fulfillment_cost_minor,
                                  refunded, disputed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (order_id) DO UPDATE SET
             store_id = excluded.store_id, placed_at = excluded.placed_at, currency = excluded.currency,
             total_minor = excluded.total_minor, processing_seconds = excluded.processing_seconds,
             first_shipped_at = excluded.first_shipped_at, delivered_at = excluded.delivered_at,
             shipping_seconds = excluded.shipping_seconds, fulfillment_cost_minor = excluded.fulfillment_cost_minor,
             refunded = excluded.refunded, disputed_at = excluded.disputed_at
         WHERE order_facts.store_id IS NOT excluded.store_id OR order_facts.placed_at IS NOT excluded.placed_at
             OR order_facts.currency IS NOT excluded.currency OR order_facts.total_minor IS NOT excluded.total_minor
             OR order_facts.processing_seconds IS NOT excluded.processing_seconds
             OR order_facts.first_shipped_at IS NOT excluded.first_shipped_at
             OR order_facts.delivered_at IS NOT excluded.delivered_at
             OR order_facts.shipping_seconds IS NOT excluded.shipping_seconds
             OR order_facts.fulfillment_cost_minor IS NOT excluded.fulfillment_cost_minor
             OR order_facts.refunded IS NOT excluded.refunded OR order_facts.disputed_at IS NOT excluded.disputed_at",
    )
    .store()?
    .execute(params![
        facts.order_id,
        facts.store_id,
        facts.placed_at,
        facts.currency,
        facts.total_minor,
        facts.processing_seconds,
        facts.first_shipped_at,
        facts.delivered_at,
        facts.shipping_seconds,
        facts.fulfillment_cost_minor,
        facts.refunded,
        facts.disputed_at,
    ])
    .store()?;
    Ok(())
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The Julian day number of 1970-01-01: day numbers since the epoch become dates with it.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The UTC day (days since 1970-01-01, floored also before 1970) of a moment in microseconds.
fn day_of(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// The sums per UTC day and currency, from the daily rows the triggers on `order_facts`
/// keep (summed over the stores when no store is named).
fn daily_metrics_query(store_id: Option<StoreId>, from: i64, to: i64) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT day, currency, sum(orders), sum(processed), sum(processing_seconds), sum(delivered),
                sum(shipping_seconds), sum(refunded), sum(disputed), sum(fulfillment_cost_minor),
                sum(fulfillment_costed)
         FROM order_metrics_daily WHERE",
    );
    let mut values = Vec::with_capacity(3);
    if let Some(store_id) = store_id {
        sql.push_str(" store_id = ? AND");
        values.push(Value::Blob(store_id.0.as_bytes().to_vec()));
    }
    sql.push_str(" day >= ? AND day < ? GROUP BY day, currency HAVING sum(orders) > 0 ORDER BY day, currency");
    values.push(Value::Integer(day_of(from)));
    values.push(Value::Integer(day_of(to)));
    (sql, values)
}

fn count(row: &Row<'_>, index: usize) -> Result<u64, StoreError> {
    let value: i64 = column(row, index)?;
    u64::try_from(value).map_err(|_| StoreError::Other(format!("a stored count is negative ({value})")))
}

/// Orders placed in `[from, to)` (UTC unix microseconds), summed per day and currency.
pub(crate) fn daily_metrics(
    conn: &Connection,
    store_id: Option<StoreId>,
    from: i64,
    to: i64,
) -> Result<Vec<DailyMetrics>, StoreError> {
    let (sql, values) = daily_metrics_query(store_id, from, to);
    let mut statement = conn.prepare_cached(&sql).store()?;
    collect(&mut statement, rusqlite::params_from_iter(values), |row| {
        let day: i64 = column(row, 0)?;
        let day = i32::try_from(day + UNIX_EPOCH_JULIAN_DAY)
            .ok()
            .and_then(|julian| Date::from_julian_day(julian).ok())
            .ok_or_else(|| StoreError::Other(format!("stored day {day} is out of range")))?;
        Ok(DailyMetrics {
            day,
            currency: parse_name(
                &column::<String>(row, 1)?,
                |code| Currency::parse(code).ok(),
                "currency",
            )?,
            orders: count(row, 2)?,
            processed: count(row, 3)?,
            processing_seconds: column(row, 4)?,
            delivered: count(row, 5)?,
            shipping_seconds: column(row, 6)?,
            refunded: count(row, 7)?,
            disputed: count(row, 8)?,
            fulfillment_cost_minor: column(row, 9)?,
            fulfillment_costed: count(row, 10)?,
        })
    })
}

const ORDERS_WITH_EXCEPTIONS_SQL: &str = "SELECT count(DISTINCT order_id) FROM order_exceptions";
const STORE_ORDERS_WITH_EXCEPTIONS_SQL: &str =
    "SELECT count(DISTINCT order_id) FROM order_exceptions WHERE store_id = ?1";

/// Orders with at least one open exception (one row per open exception in `order_exceptions`).
pub(crate) fn count_orders_with_open_exceptions(
    conn: &Connection,
    store_id: Option<StoreId>,
) -> Result<u64, StoreError> {
    let counted: i64 = match store_id {
        Some(store_id) => conn
            .prepare_cached(STORE_ORDERS_WITH_EXCEPTIONS_SQL)
            .store()?
            .query_row([store_id.0], |row| row.get(0))
            .store()?,
        None => conn
            .prepare_cached(ORDERS_WITH_EXCEPTIONS_SQL)
            .store()?
            .query_row([], |row| row.get(0))
            .store()?,
    };
    u64::try_from(counted).map_err(|_| StoreError::Other(format!("a count is negative ({counted})")))
}

/// A page of a store's orders by placing time, read through `order_facts`
/// (`order_facts_store_id_placed_at_idx`, which holds the order id after the time, as every
/// index of a `WITHOUT ROWID` table holds its key), each then found by its id.
const PLACED_FIRST_SQL: &str = "SELECT o.version, o.doc, f.placed_at, f.order_id
     FROM order_facts f CROSS JOIN orders o ON o.id = f.order_id
     WHERE f.store_id = ?1 AND f.placed_at >= ?2 AND f.placed_at < ?3
     ORDER BY f.placed_at, f.order_id LIMIT ?4";
const PLACED_AFTER_SQL: &str = "SELECT o.version, o.doc, f.placed_at, f.order_id
     FROM order_facts f CROSS JOIN orders o ON o.id = f.order_id
     WHERE f.store_id = ?1 AND f.placed_at >= ?2 AND f.placed_at < ?3 AND (f.placed_at, f.order_id) > (?5, ?6)
     ORDER BY f.placed_at, f.order_id LIMIT ?4";

/// The store's orders placed in `[from, to)` (unix microseconds), after `after`, oldest
/// placed first.
pub(crate) fn orders_placed_between(
    conn: &Connection,
    store_id: StoreId,
    from: i64,
    to: i64,
    after: Option<PlacedCursor>,
    limit: u32,
) -> Result<PlacedPage, StoreError> {
    let limit = match limit {
        0 => PLACED_PAGE_MAX,
        n => n.min(PLACED_PAGE_MAX),
    };
    let decode = |row: &Row<'_>| -> Result<(Order, PlacedCursor), StoreError> {
        let version: i64 = column(row, 0)?;
        let mut order: Order = from_json(&column::<String>(row, 1)?, "order")?;
        order.version = u64::try_from(version).map_err(|_| StoreError::Other(format!("stored version {version}")))?;
        let cursor = PlacedCursor {
            placed_at: from_micros(column(row, 2)?)?,
            order_id: OrderId(column(row, 3)?),
        };
        Ok((order, cursor))
    };
    let rows = match after {
        None => {
            let mut statement = conn.prepare_cached(PLACED_FIRST_SQL).store()?;
            collect(&mut statement, params![store_id.0, from, to, limit], decode)?
        }
        Some(cursor) => {
            let mut statement = conn.prepare_cached(PLACED_AFTER_SQL).store()?;
            let (placed_at, order_id) = (micros(cursor.placed_at), cursor.order_id.0);
            collect(
                &mut statement,
                params![store_id.0, from, to, limit, placed_at, order_id],
                decode,
            )?
        }
    };
    let next = if rows.len() as u64 >= u64::from(limit) {
        rows.last().map(|(_, cursor)| *cursor)
    } else {
        None
    };
    Ok(PlacedPage {
        orders: rows.into_iter().map(|(order, _)| order).collect(),
        next,
    })
}

/// Orders whose facts one backfill transaction writes.
const BACKFILL_BATCH: i64 = 1_000;

/// Writes the facts of the stored orders that have none, when the `order_facts` backfill is
/// pending: batch after batch in id order, each in its own transaction, then marks it done.
/// Returns how many orders got facts. An order whose document cannot be read is skipped
/// with a warning (nothing could show it anyway).
pub(crate) fn backfill(conn: &mut Connection) -> Result<u64, StoreError> {
    let pending: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM pending_backfills WHERE name = 'order_facts')",
            [],
            |row| row.get(0),
        )
        .store()?;
    if !pending {
        return Ok(0);
    }
    let mut after: Vec<u8> = Vec::new();
    let mut written = 0_u64;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).store()?;
        let batch: Vec<(Vec<u8>, String)> = collect(
            &mut tx
                .prepare(
                    "SELECT o.id, o.doc FROM orders o
                     WHERE o.id > ?1 AND NOT EXISTS (SELECT 1 FROM order_facts f WHERE f.order_id = o.id)
                     ORDER BY o.id LIMIT ?2",
                )
                .store()?,
            params![after, BACKFILL_BATCH],
            |row| Ok((column(row, 0)?, column(row, 1)?)),
        )?;
        let Some((last, _)) = batch.last() else {
            tx.execute("DELETE FROM pending_backfills WHERE name = 'order_facts'", [])
                .store()?;
            tx.commit().store()?;
            break;
        };
        after = last.clone();
        for (id, doc) in &batch {
            match from_json::<Order>(doc, "order") {
                Ok(order) => {
                    write_facts(&tx, &encode_facts(&order))?;
                    written += 1;
                }
                Err(error) => {
                    let id = Uuid::from_slice(id).map_or_else(|_| hex_of(id), |id| id.to_string());
                    tracing::warn!(order = %id, %error, "order facts not backfilled: the order cannot be read");
                }
            }
        }
        tx.commit().store()?;
    }
    if written > 0 {
        tracing::info!(orders = written, "order facts backfilled");
    }
    Ok(written)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, sql: &str, values: Vec<Value>) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plan");
        let rows = statement
            .query_map(rusqlite::params_from_iter(values), |row| row.get::<_, String>(3))
            .expect("plan rows");
        rows.map(|row| row.expect("plan row")).collect::<Vec<_>>().join("\n")
    }

    /// The sums read one range of the daily rows (of a store, or of every store), never
    /// the whole table.
    #[test]
    fn daily_metrics_read_a_range_of_their_index() {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::migrations::run(&mut conn).expect("migrations");
        for (store, index) in [
            (Some(StoreId::new()), "PRIMARY KEY"),
            (None, "order_metrics_daily_day_idx"),
        ] {
            let (sql, values) = daily_metrics_query(store, 0, MICROS_PER_DAY);
            let plan = plan(&conn, &sql, values);
            assert!(plan.contains(index), "{plan}");
            assert!(
                !plan.contains("SCAN order_metrics_daily\n") && !plan.ends_with("SCAN order_metrics_daily"),
                "{plan}"
            );
        }
        let exceptions = plan(
            &conn,
            STORE_ORDERS_WITH_EXCEPTIONS_SQL,
            vec![Value::Blob(Uuid::now_v7().as_bytes().to_vec())],
        );
        assert!(
            exceptions.contains("order_exceptions_store_id_raised_at_idx"),
            "{exceptions}"
        );
    }

    /// A page of orders by placing time walks the facts' index in its order and finds
    /// each order by id: no scan, no sort, however many orders the store has.
    #[test]
    fn orders_placed_between_walk_the_placing_time_index() {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::migrations::run(&mut conn).expect("migrations");
        let store = Value::Blob(Uuid::now_v7().as_bytes().to_vec());
        for (sql, values) in [
            (
                PLACED_FIRST_SQL,
                vec![
                    store.clone(),
                    Value::Integer(0),
                    Value::Integer(MICROS_PER_DAY),
                    Value::Integer(500),
                ],
            ),
            (
                PLACED_AFTER_SQL,
                vec![
                    store.clone(),
                    Value::Integer(0),
                    Value::Integer(MICROS_PER_DAY),
                    Value::Integer(500),
                    Value::Integer(0),
                    Value::Blob(Uuid::now_v7().as_bytes().to_vec()),
                ],
            ),
        ] {
            let plan = plan(&conn, sql, values);
            assert!(plan.contains("order_facts_store_id_placed_at_idx"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
            assert!(!plan.contains("SCAN "), "{plan}");
        }
    }

    /// Days are floored, also before 1970, by the triggers' SQL as by [`day_of`].
    #[test]
    fn days_are_utc_days() {
        let conn = Connection::open_in_memory().expect("memory database");
        let sql_day_of = |micros: i64| -> i64 {
            conn.query_row(
                &format!(
                    "SELECT (?1 - ((?1 % {MICROS_PER_DAY}) + {MICROS_PER_DAY}) % {MICROS_PER_DAY}) / {MICROS_PER_DAY}"
                ),
                [micros],
                |row| row.get(0),
            )
            .expect("day")
        };
        for (micros, day) in [
            (0, 0),
            (MICROS_PER_DAY - 1, 0),
            (MICROS_PER_DAY, 1),
            (-1, -1),
            (-MICROS_PER_DAY, -1),
            (-MICROS_PER_DAY - 1, -2),
            (1_796_416_168_785_773, 20_791),
        ] {
            assert_eq!(sql_day_of(micros), day, "{micros}");
            assert_eq!(day_of(micros), day, "{micros}");
        }
        assert_eq!(
            Date::from_julian_day(UNIX_EPOCH_JULIAN_DAY as i32).ok(),
            Some(time::macros::date!(1970 - 01 - 01))
        );
    }
}
