//! Inventory and pricing: the units accepted orders hold (rewritten with every order write,
//! and checked for the orders a change set accepts), supplier readings of offers and the cost
//! history they leave, what was last written to the storefront, price changes, and the
//! supplier readings that were not applied.

use crate::sql::{
    SqlResult, collect, column, conflict_as, first, from_json, from_micros, listing_limit, micros, parse_name, to_json,
};
use dropline_app::ports::StoreError;
use dropline_domain::catalog::Offer;
use dropline_domain::ids::{OfferId, PriceChangeId, StoreId, SupplierId, SyncProblemId, VariantId};
use dropline_domain::inventory::{
    CostPoint, Listing, OfferReading, PriceChange, PriceChangeStatus, SyncProblem, sellable_units,
};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::Order;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Most offers one page of `offers_of_supplier` gives.
const OFFER_PAGE_MAX: u32 = 1_000;

// ---------------------------------------------------------------------------------------------
// Reservations
// ---------------------------------------------------------------------------------------------

/// An order's rows of `reservations`: (variant, units), units above zero.
pub(crate) fn encode_reservations(order: &Order) -> Vec<(Uuid, i64)> {
    dropline_domain::inventory::reserved_units(order)
        .into_iter()
        .filter(|(_, units)| *units > 0)
        .map(|(variant_id, units)| (variant_id.0, i64::from(units)))
        .collect()
}

/// Writes the reservations of a new order.
pub(crate) fn insert_reservations(
    conn: &Connection,
    order_id: Uuid,
    store_id: Uuid,
    rows: &[(Uuid, i64)],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut statement = conn
        .prepare_cached("INSERT INTO reservations (order_id, variant_id, store_id, quantity) VALUES (?1, ?2, ?3, ?4)")
        .store()?;
    for (variant_id, quantity) in rows {
        statement
            .execute(params![order_id, variant_id, store_id, quantity])
            .store()?;
    }
    Ok(())
}

/// Replaces the reservations of an updated order. The DELETE is one seek of the primary key
/// and changes no page when the order held nothing (in review, placed, shipped), which is
/// what nearly every order write finds.
pub(crate) fn replace_reservations(
    conn: &Connection,
    order_id: Uuid,
    store_id: Uuid,
    rows: &[(Uuid, i64)],
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM reservations WHERE order_id = ?1")
        .store()?
        .execute([order_id])
        .store()?;
    insert_reservations(conn, order_id, store_id, rows)
}

/// The stored reservations of an order: (variant, units).
pub(crate) fn reservations_of(conn: &Connection, order_id: Uuid) -> Result<Vec<(Uuid, i64)>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT variant_id, quantity FROM reservations WHERE order_id = ?1")
        .store()?;
    collect(&mut statement, [order_id], |row| Ok((column(row, 0)?, column(row, 1)?)))
}

/// Adds to `grown` the variants of which an order holds more units `after` than `before`.
pub(crate) fn note_growth(before: &[(Uuid, i64)], after: &[(Uuid, i64)], grown: &mut Vec<Uuid>) {
    for (variant_id, units) in after {
        let held = before
            .iter()
            .find(|(v, _)| v == variant_id)
            .map_or(0, |(_, units)| *units);
        if *units > held && !grown.contains(variant_id) {
            grown.push(*variant_id);
        }
    }
}

/// What a variant's offers can ship together; `None` when that is unknown (an offer's stock
/// is unknown) or when the variant has no offer: without a supplier to ask there is no count
/// to hold an order to, and routing tells the seller what is missing.
fn capacity(offers: &[Offer]) -> Option<u32> {
    if offers.is_empty() {
        return None;
    }
    sellable_units(offers)
}

/// Refuses with [`StoreError::OutOfStock`] when the reservations of one of these variants,
/// this change set's included, add up to more than its offers can ship. Runs on the one
/// writer, inside the change set's transaction: no other change set can come between the
/// sum and the commit, so no variant lock is needed.
pub(crate) fn check_stock(conn: &Connection, variants: &[Uuid]) -> Result<(), StoreError> {
    if variants.is_empty() {
        return Ok(());
    }
    let mut offers = conn
        .prepare_cached("SELECT doc FROM offers WHERE variant_id = ?1")
        .store()?;
    let mut held = conn
        .prepare_cached("SELECT coalesce(sum(quantity), 0) FROM reservations WHERE variant_id = ?1")
        .store()?;
    let mut variants = variants.to_vec();
    variants.sort_unstable();
    for variant_id in variants {
        let offers: Vec<Offer> = collect(&mut offers, [variant_id], |row| {
            from_json(&column::<String>(row, 0)?, "offer")
        })?;
        let Some(capacity) = capacity(&offers) else {
            continue;
        };
        let held: i64 = held.query_row([variant_id], |row| row.get(0)).store()?;
        if held > i64::from(capacity) {
            return Err(StoreError::OutOfStock(VariantId(variant_id)));
        }
    }
    Ok(())
}

pub(crate) fn reserved_units(
    conn: &Connection,
    variant_ids: &[VariantId],
) -> Result<Vec<(VariantId, u32)>, StoreError> {
    let mut ids: Vec<Uuid> = variant_ids.iter().map(|id| id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut statement = conn
        .prepare_cached("SELECT sum(quantity) FROM reservations WHERE variant_id = ?1")
        .store()?;
    let mut held = Vec::new();
    for id in ids {
        let units: Option<i64> = statement.query_row([id], |row| row.get(0)).store()?;
        if let Some(units) = units.filter(|units| *units > 0) {
            held.push((VariantId(id), u32::try_from(units).unwrap_or(u32::MAX)));
        }
    }
    Ok(held)
}

// ---------------------------------------------------------------------------------------------
// Offers and their costs
// ---------------------------------------------------------------------------------------------

pub(crate) fn offers_of_supplier(
    conn: &Connection,
    supplier_id: SupplierId,
    after: Option<OfferId>,
    limit: u32,
) -> Result<Vec<Offer>, StoreError> {
    let limit = match limit {
        0 => OFFER_PAGE_MAX,
        n => n.min(OFFER_PAGE_MAX),
    };
    let mut statement = conn
        .prepare_cached("SELECT doc FROM offers WHERE supplier_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3")
        .store()?;
    collect(
        &mut statement,
        params![supplier_id.0, after.map_or(Uuid::nil(), |id| id.0), limit],
        |row| from_json(&column::<String>(row, 0)?, "offer"),
    )
}

/// Applies the readings one after the other (a second reading of one offer sees the first).
/// An offer the reading leaves as it was is not written.
pub(crate) fn apply_offer_readings(conn: &Connection, readings: &[OfferReading]) -> Result<(), StoreError> {
    let mut read = conn.prepare_cached("SELECT doc FROM offers WHERE id = ?1").store()?;
    for reading in readings {
        let stored = first(&mut read, [reading.offer_id.0], |row| {
            from_json::<Offer>(&column::<String>(row, 0)?, "offer")
        })?;
        let Some(mut offer) = stored else {
            continue;
        };
        let moved = reading.unit_cost.filter(|cost| *cost != offer.unit_cost).map(|cost| {
            let point = cost_point(&offer, cost, reading.at);
            offer.unit_cost = cost;
            point
        });
        if moved.is_none() && offer.stock == Some(reading.stock) {
            continue;
        }
        offer.stock = Some(reading.stock);
        conn.prepare_cached("UPDATE offers SET doc = ?2 WHERE id = ?1")
            .store()?
            .execute(params![offer.id.0, to_json(&offer)?])
            .store()?;
        if let Some(point) = moved {
            insert_cost_point(conn, &point)?;
        }
    }
    Ok(())
}

/// The history point of a cost that moved from the offer's to `cost`. The previous cost is
/// kept only in the same currency: the history has one currency per point.
fn cost_point(offer: &Offer, cost: Money, at: OffsetDateTime) -> CostPoint {
    CostPoint {
        offer_id: offer.id,
        at,
        unit_cost: cost,
        previous: (offer.unit_cost.currency == cost.currency).then_some(offer.unit_cost),
    }
}

fn insert_cost_point(conn: &Connection, point: &CostPoint) -> Result<(), StoreError> {
    // `seq` keeps two points of one offer at the same time apart, in the order written.
    conn.prepare_cached(
        "INSERT INTO cost_history (offer_id, at, seq, unit_cost_minor, currency, previous_minor)
         VALUES (?1, ?2, (SELECT coalesce(max(seq), 0) + 1 FROM cost_history WHERE offer_id = ?1 AND at = ?2),
                 ?3, ?4, ?5)",
    )
    .store()?
    .execute(params![
        point.offer_id.0,
        micros(point.at),
        point.unit_cost.minor,
        point.unit_cost.currency.code(),
        point.previous.map(|previous| previous.minor),
    ])
    .store()?;
    Ok(())
}

fn parse_currency(code: &str) -> Result<Currency, StoreError> {
    parse_name(code, |c| Currency::parse(c).ok(), "currency")
}

pub(crate) fn cost_history(conn: &Connection, offer_id: OfferId, limit: u32) -> Result<Vec<CostPoint>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT at, unit_cost_minor, currency, previous_minor FROM cost_history
             WHERE offer_id = ?1 ORDER BY at DESC, seq DESC LIMIT ?2",
        )
        .store()?;
    collect(&mut statement, params![offer_id.0, listing_limit(limit)], |row| {
        let currency = parse_currency(&column::<String>(row, 2)?)?;
        Ok(CostPoint {
            offer_id,
            at: from_micros(column(row, 0)?)?,
            unit_cost: Money::new(column(row, 1)?, currency),
            previous: column::<Option<i64>>(row, 3)?.map(|minor| Money::new(minor, currency)),
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------

/// A row of `listings`, ready for SQL.
pub(crate) struct EncodedListing {
    variant_id: Uuid,
    store_id: Uuid,
    stock: Option<i64>,
    price_minor: Option<i64>,
    compare_at_minor: Option<i64>,
    currency: Option<&'static str>,
    published: Option<bool>,
    updated_at: i64,
}

/// A listing as stored: its two prices share the one currency column.
pub(crate) fn encode_listing(listing: &Listing) -> Result<EncodedListing, StoreError> {
    let currency = match (listing.price, listing.compare_at) {
        (Some(price), Some(compare_at)) if price.currency != compare_at.currency => {
            return Err(StoreError::Other(format!(
                "the listing of variant {} has a price in {} and a compare-at price in {}",
                listing.variant_id, price.currency, compare_at.currency
            )));
        }
        (Some(money), _) | (None, Some(money)) => Some(money.currency.code()),
        (None, None) => None,
    };
    Ok(EncodedListing {
        variant_id: listing.variant_id.0,
        store_id: listing.store_id.0,
        stock: listing.stock.map(i64::from),
        price_minor: listing.price.map(|m| m.minor),
        compare_at_minor: listing.compare_at.map(|m| m.minor),
        currency,
        published: listing.published,
        updated_at: micros(listing.updated_at),
    })
}

const LISTING_COLUMNS: &str =
    "variant_id, store_id, stock, price_minor, compare_at_minor, currency, published, updated_at";

fn decode_listing(row: &Row<'_>) -> Result<Listing, StoreError> {
    let currency = column::<Option<String>>(row, 5)?
        .map(|code| parse_currency(&code))
        .transpose()?;
    let money = |minor: Option<i64>| match (minor, currency) {
        (None, _) => Ok(None),
        (Some(minor), Some(currency)) => Ok(Some(Money::new(minor, currency))),
        (Some(_), None) => Err(StoreError::Other(
            "a stored listing has a price without a currency".into(),
        )),
    };
    let stock = column::<Option<i64>>(row, 2)?
        .map(|stock| u32::try_from(stock).map_err(|_| StoreError::Other(format!("stored listing stock {stock}"))))
        .transpose()?;
    Ok(Listing {
        variant_id: VariantId(column(row, 0)?),
        store_id: StoreId(column(row, 1)?),
        stock,
        price: money(column(row, 3)?)?,
        compare_at: money(column(row, 4)?)?,
        published: column(row, 6)?,
        updated_at: from_micros(column(row, 7)?)?,
    })
}

pub(crate) fn listings(conn: &Connection, variant_ids: &[VariantId]) -> Result<Vec<Listing>, StoreError> {
    let sql = format!("SELECT {LISTING_COLUMNS} FROM listings WHERE variant_id = ?1");
    let mut statement = conn.prepare_cached(&sql).store()?;
    let mut ids: Vec<Uuid> = variant_ids.iter().map(|id| id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        found.extend(first(&mut statement, [id], decode_listing)?);
    }
    Ok(found)
}

pub(crate) fn save_listings(conn: &Connection, listings: &[EncodedListing]) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO listings ({LISTING_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (variant_id) DO UPDATE SET store_id = excluded.store_id, stock = excluded.stock,
             price_minor = excluded.price_minor, compare_at_minor = excluded.compare_at_minor,
             currency = excluded.currency, published = excluded.published, updated_at = excluded.updated_at"
    );
    let mut statement = conn.prepare_cached(&sql).store()?;
    for listing in listings {
        statement
            .execute(params![
                listing.variant_id,
                listing.store_id,
                listing.stock,
                listing.price_minor,
                listing.compare_at_minor,
                listing.currency,
                listing.published,
                listing.updated_at,
            ])
            .store()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Price changes
// ---------------------------------------------------------------------------------------------

/// Writes a variant's selling price to the catalogue.
fn set_variant_price(conn: &Connection, variant_id: Uuid, price: Money) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE variants SET price_minor = ?2, currency = ?3 WHERE id = ?1")
        .store()?
        .execute(params![variant_id, price.minor, price.currency.code()])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("variant {}", VariantId(variant_id))));
    }
    Ok(())
}

/// Records a price change (`doc` is its JSON); an applied one sets the variant's price, and
/// the variant's pending changes made before it are superseded.
pub(crate) fn record_price_change(conn: &Connection, change: &PriceChange, doc: &str) -> Result<(), StoreError> {
    let created_at = micros(change.created_at);
    conn.prepare_cached(
        "INSERT INTO price_changes (id, store_id, variant_id, status, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .store()?
    .execute(params![
        change.id.0,
        change.store_id.0,
        change.variant_id.0,
        change.status.as_str(),
        created_at,
        doc,
    ])
    .map_err(conflict_as(|| format!("price change {} already exists", change.id)))?;
    conn.prepare_cached(
        "UPDATE price_changes SET status = 'superseded', doc = json_set(doc, '$.status', 'superseded')
         WHERE variant_id = ?1 AND status = 'pending' AND created_at <= ?2 AND id <> ?3",
    )
    .store()?
    .execute(params![change.variant_id.0, created_at, change.id.0])
    .store()?;
    if change.status == PriceChangeStatus::Applied {
        set_variant_price(conn, change.variant_id.0, change.new_price)?;
    }
    Ok(())
}

/// Moves a pending change to the caller's record (`doc` is its JSON). The row is read first:
/// on the one writer nothing changes it between the read and the write.
pub(crate) fn decide_price_change(conn: &Connection, change: &PriceChange, doc: &str) -> Result<(), StoreError> {
    if change.status == PriceChangeStatus::Pending {
        return Err(StoreError::Other(format!(
            "price change {}: a decision applies, rejects or supersedes it",
            change.id
        )));
    }
    let stored: Option<(Uuid, String)> = conn
        .prepare_cached("SELECT variant_id, status FROM price_changes WHERE id = ?1")
        .store()?
        .query_row([change.id.0], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .store()?;
    let Some((variant_id, status)) = stored else {
        return Err(StoreError::NotFound(format!("price change {}", change.id)));
    };
    if status != PriceChangeStatus::Pending.as_str() {
        return Err(StoreError::Conflict(format!(
            "price change {} is {status} now",
            change.id
        )));
    }
    conn.prepare_cached("UPDATE price_changes SET status = ?2, doc = ?3 WHERE id = ?1")
        .store()?
        .execute(params![change.id.0, change.status.as_str(), doc])
        .store()?;
    if change.status == PriceChangeStatus::Applied {
        set_variant_price(conn, variant_id, change.new_price)?;
    }
    Ok(())
}

fn decode_doc<T: serde::de::DeserializeOwned>(what: &'static str) -> impl Fn(&Row<'_>) -> Result<T, StoreError> {
    move |row| from_json(&column::<String>(row, 0)?, what)
}

pub(crate) fn get_price_change(conn: &Connection, id: PriceChangeId) -> Result<Option<PriceChange>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT doc FROM price_changes WHERE id = ?1")
        .store()?;
    first(&mut statement, [id.0], decode_doc("price change"))
}

pub(crate) fn list_price_changes(
    conn: &Connection,
    store_id: Option<StoreId>,
    status: Option<PriceChangeStatus>,
    limit: u32,
) -> Result<Vec<PriceChange>, StoreError> {
    let mut sql = String::from("SELECT doc FROM price_changes WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::with_capacity(3);
    if let Some(store_id) = store_id {
        sql.push_str(" AND store_id = ?");
        values.push(Value::Blob(store_id.0.as_bytes().to_vec()));
    }
    if let Some(status) = status {
        sql.push_str(" AND status = ?");
        values.push(Value::Text(status.as_str().to_string()));
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
    values.push(Value::Integer(listing_limit(limit)));
    let mut statement = conn.prepare_cached(&sql).store()?;
    collect(
        &mut statement,
        rusqlite::params_from_iter(values),
        decode_doc("price change"),
    )
}

// ---------------------------------------------------------------------------------------------
// Sync problems
// ---------------------------------------------------------------------------------------------

pub(crate) fn insert_sync_problem(conn: &Connection, problem: &SyncProblem, doc: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO sync_problems (id, store_id, at, resolved, doc) VALUES (?1, ?2, ?3, ?4, ?5)")
        .store()?
        .execute(params![
            problem.id.0,
            problem.store_id.0,
            micros(problem.at),
            problem.resolved_at.is_some(),
            doc,
        ])
        .map_err(conflict_as(|| format!("sync problem {} already exists", problem.id)))?;
    Ok(())
}

pub(crate) fn list_sync_problems(
    conn: &Connection,
    store_id: Option<StoreId>,
    open_only: bool,
    limit: u32,
) -> Result<Vec<SyncProblem>, StoreError> {
    let mut sql = String::from("SELECT doc FROM sync_problems WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::with_capacity(2);
    if let Some(store_id) = store_id {
        sql.push_str(" AND store_id = ?");
        values.push(Value::Blob(store_id.0.as_bytes().to_vec()));
    }
    if open_only {
        sql.push_str(" AND resolved = 0");
    }
    sql.push_str(" ORDER BY at DESC, id DESC LIMIT ?");
    values.push(Value::Integer(listing_limit(limit)));
    let mut statement = conn.prepare_cached(&sql).store()?;
    collect(
        &mut statement,
        rusqlite::params_from_iter(values),
        decode_doc("sync problem"),
    )
}

/// The time as the documents' serde form writes it (RFC 3339 text).
pub(crate) fn rfc3339(at: OffsetDateTime) -> Result<String, StoreError> {
    at.format(&Rfc3339)
        .map_err(|e| StoreError::Other(format!("{at} cannot be written as RFC 3339: {e}")))
}

/// `at` is the RFC 3339 text of the resolution time (see [`rfc3339`]).
pub(crate) fn resolve_sync_problem(conn: &Connection, id: SyncProblemId, at: &str) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE sync_problems SET resolved = 1, doc = json_set(doc, '$.resolved_at', ?2)
             WHERE id = ?1 AND resolved = 0",
        )
        .store()?
        .execute(params![id.0, at])
        .store()?;
    Ok(changed == 1)
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

    /// The reads of the order write path, the sync walk and the listings seek their indexes:
    /// no scan of a table, no sort of the whole result.
    #[test]
    fn inventory_reads_use_their_indexes() {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::migrations::run(&mut conn).expect("migrations");
        let id = || Value::Blob(Uuid::now_v7().as_bytes().to_vec());
        let cases = [
            (
                "SELECT doc FROM offers WHERE supplier_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                vec![id(), id(), Value::Integer(10)],
                "offers_supplier_id_idx",
            ),
            (
                "SELECT coalesce(sum(quantity), 0) FROM reservations WHERE variant_id = ?1",
                vec![id()],
                "reservations_variant_id_idx",
            ),
            (
                "SELECT variant_id, quantity FROM reservations WHERE order_id = ?1",
                vec![id()],
                "PRIMARY KEY",
            ),
            (
                "SELECT at, unit_cost_minor, currency, previous_minor FROM cost_history
                 WHERE offer_id = ?1 ORDER BY at DESC, seq DESC LIMIT ?2",
                vec![id(), Value::Integer(10)],
                "PRIMARY KEY",
            ),
            (
                "SELECT doc FROM sync_problems WHERE 1 = 1 AND store_id = ? AND resolved = 0
                 ORDER BY at DESC, id DESC LIMIT ?",
                vec![id(), Value::Integer(10)],
                "sync_problems_store_idx",
            ),
            (
                "SELECT doc FROM price_changes WHERE 1 = 1 AND store_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                vec![id(), Value::Integer(10)],
                "price_changes_store_idx",
            ),
        ];
        for (sql, values, index) in cases {
            let plan = plan(&conn, sql, values);
            assert!(plan.contains(index), "{sql}: {plan}");
            assert!(!plan.contains("SCAN"), "{sql}: {plan}");
            // Ties of the time may be sorted (by id); the times themselves come in index order.
            assert!(!plan.contains("TEMP B-TREE FOR ORDER BY"), "{sql}: {plan}");
        }
    }
}
