//! Vendor payouts, plain rows, and the walk over a store's delivered orders that a vendor's
//! earnings are derived from.

use crate::sql::{SqlResult, collect, column, conflict_as, first, from_micros, micros, parse_name};
use dropline_app::ports::{PayoutFilter, PayoutTotals, StoreError};
use dropline_domain::ids::{OrderId, PayoutId, StoreId};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::Order;
use dropline_domain::payout::{Payout, PayoutState};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params};
use uuid::Uuid;

const PAYOUT_COLUMNS: &str = "id, store_id, currency, amount_minor, state, created_at, closed_at, reference, note";

/// The most delivered orders one page gives.
const DELIVERED_PAGE_LIMIT: u32 = 1_000;

fn decode_payout(row: &Row<'_>) -> Result<Payout, StoreError> {
    let currency: String = column(row, 2)?;
    let state: String = column(row, 4)?;
    Ok(Payout {
        id: PayoutId(column(row, 0)?),
        store_id: StoreId(column(row, 1)?),
        amount: Money::new(
            column(row, 3)?,
            parse_name(&currency, |c| Currency::parse(c).ok(), "currency")?,
        ),
        state: parse_name(&state, PayoutState::parse, "payout state")?,
        created_at: from_micros(column(row, 5)?)?,
        closed_at: column::<Option<i64>>(row, 6)?.map(from_micros).transpose()?,
        reference: column(row, 7)?,
        note: column(row, 8)?,
    })
}

fn counted_minor(conn: &Connection, store_id: StoreId) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "SELECT COALESCE(SUM(amount_minor), 0) FROM payouts WHERE store_id = ?1 AND state <> 'cancelled'",
    )
    .store()?
    .query_row([store_id.0], |row| row.get(0))
    .store()
}

pub(crate) fn insert_payout(conn: &Connection, payout: &Payout, expected: i64) -> Result<(), StoreError> {
    // The check and the insert run on the one writer, in one transaction: nothing can
    // come between them.
    let counted = counted_minor(conn, payout.store_id)?;
    if counted != expected {
        return Err(StoreError::Conflict(format!(
            "the payouts of store {} changed meanwhile",
            payout.store_id
        )));
    }
    let sql = format!("INSERT INTO payouts ({PAYOUT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    conn.prepare_cached(&sql)
        .store()?
        .execute(params![
            payout.id.0,
            payout.store_id.0,
            payout.amount.currency.code(),
            payout.amount.minor,
            payout.state.as_str(),
            micros(payout.created_at),
            payout.closed_at.map(micros),
            payout.reference,
            payout.note,
        ])
        .map_err(conflict_as(|| format!("a payout with the id {} exists", payout.id)))?;
    Ok(())
}

pub(crate) fn update_payout(conn: &Connection, payout: &Payout, from: PayoutState) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE payouts SET state = ?2, closed_at = ?3, reference = ?4, note = ?5 WHERE id = ?1 AND state = ?6",
        )
        .store()?
        .execute(params![
            payout.id.0,
            payout.state.as_str(),
            payout.closed_at.map(micros),
            payout.reference,
            payout.note,
            from.as_str(),
        ])
        .store()?;
    if changed == 0 {
        return Err(match get_payout(conn, payout.id)? {
            Some(stored) => StoreError::Conflict(format!("payout {} is {} now", payout.id, stored.state)),
            None => StoreError::NotFound(format!("payout {}", payout.id)),
        });
    }
    Ok(())
}

pub(crate) fn get_payout(conn: &Connection, id: PayoutId) -> Result<Option<Payout>, StoreError> {
    let sql = format!("SELECT {PAYOUT_COLUMNS} FROM payouts WHERE id = ?1");
    let mut statement = conn.prepare_cached(&sql).store()?;
    first(&mut statement, [id.0], decode_payout)
}

pub(crate) fn list_payouts(conn: &Connection, filter: &PayoutFilter) -> Result<Vec<Payout>, StoreError> {
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(store_id) = filter.store_id {
        values.push(Value::Blob(store_id.0.as_bytes().to_vec()));
        clauses.push(format!("store_id = ?{}", values.len()));
    }
    if let Some(state) = filter.state {
        values.push(Value::Text(state.as_str().to_string()));
        clauses.push(format!("state = ?{}", values.len()));
    }
    if let Some(before) = filter.before {
        values.push(Value::Blob(before.0.as_bytes().to_vec()));
        clauses.push(format!("id < ?{}", values.len()));
    }
    let filter_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    values.push(Value::Integer(crate::sql::listing_limit(filter.limit)));
    let sql = format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts {filter_sql} ORDER BY id DESC LIMIT ?{}",
        values.len()
    );
    let mut statement = conn.prepare_cached(&sql).store()?;
    collect(&mut statement, rusqlite::params_from_iter(values), decode_payout)
}

pub(crate) fn payout_totals(conn: &Connection, store_id: StoreId) -> Result<PayoutTotals, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT state, SUM(amount_minor) FROM payouts WHERE store_id = ?1 GROUP BY state")
        .store()?;
    let sums = collect(&mut statement, [store_id.0], |row| {
        Ok((column::<String>(row, 0)?, column::<i64>(row, 1)?))
    })?;
    let mut totals = PayoutTotals::default();
    for (state, sum) in sums {
        match parse_name(&state, PayoutState::parse, "payout state")? {
            PayoutState::Pending => totals.pending_minor = sum,
            PayoutState::Paid => totals.paid_minor = sum,
            PayoutState::Cancelled => {}
        }
    }
    Ok(totals)
}

pub(crate) fn delivered_orders(
    conn: &Connection,
    store_id: StoreId,
    after: Option<OrderId>,
    limit: u32,
) -> Result<Vec<Order>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT o.version, o.doc FROM order_facts f JOIN orders o ON o.id = f.order_id \
             WHERE f.store_id = ?1 AND f.delivered_at IS NOT NULL AND f.order_id > ?2 \
             ORDER BY f.order_id LIMIT ?3",
        )
        .store()?;
    let after = after.map_or(Uuid::nil(), |id| id.0);
    collect(
        &mut statement,
        params![store_id.0, after, limit.clamp(1, DELIVERED_PAGE_LIMIT)],
        crate::orders::decode_order,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk over delivered orders reads the partial index in id order: no scan of the
    /// store's orders, no sort.
    #[test]
    fn delivered_orders_walk_their_index() {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::migrations::run(&mut conn).expect("migrations");
        let mut statement = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT o.version, o.doc FROM order_facts f JOIN orders o ON o.id = f.order_id \
                 WHERE f.store_id = ?1 AND f.delivered_at IS NOT NULL AND f.order_id > ?2 \
                 ORDER BY f.order_id LIMIT ?3",
            )
            .expect("plan");
        let plan: Vec<String> = statement
            .query_map(params![StoreId::new().0, Uuid::nil(), 10], |row| {
                row.get::<_, String>(3)
            })
            .expect("rows")
            .map(|row| row.expect("row"))
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("order_facts_delivered_idx"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
