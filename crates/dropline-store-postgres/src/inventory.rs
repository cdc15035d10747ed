//! Inventory and pricing: the units accepted orders hold (rewritten with every order write in
//! `commit.rs`, and checked for the orders a change set accepts), supplier readings of offers
//! and the cost history they leave, what was last written to the storefront, price changes,
//! and the supplier readings that were not applied.

use crate::catalog::doc;
use crate::error::{corrupt, store_error};
use crate::{finish, page_limit};
use dropline_app::ports::StoreError;
use dropline_domain::catalog::Offer;
use dropline_domain::ids::{OfferId, PriceChangeId, StoreId, SupplierId, SyncProblemId, VariantId};
use dropline_domain::inventory::{
    CostPoint, Listing, OfferReading, PriceChange, PriceChangeStatus, SyncProblem, sellable_units,
};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::Order;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Most offers one page of `offers_of_supplier` gives.
const OFFER_PAGE_MAX: u32 = 1_000;

fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
    row: &'r PgRow,
    column: &str,
    what: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|err| corrupt(what, err))
}

// ---------------------------------------------------------------------------------------------
// Reservations
// ---------------------------------------------------------------------------------------------

/// An order's rows of `reservations`: (variant, units), units above zero.
pub(crate) fn reservations(order: &Order) -> Vec<(Uuid, i64)> {
    dropline_domain::inventory::reserved_units(order)
        .into_iter()
        .filter(|(_, units)| *units > 0)
        .map(|(variant_id, units)| (variant_id.0, i64::from(units)))
        .collect()
}

/// Writes an order's reservations, in one statement when it holds any. The rows it held
/// before are deleted with its other side rows (`rewrite_side_rows`).
pub(crate) async fn insert_reservations(conn: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    let rows = reservations(order);
    if rows.is_empty() {
        return Ok(());
    }
    let variant_ids: Vec<Uuid> = rows.iter().map(|(variant_id, _)| *variant_id).collect();
    let quantities: Vec<i64> = rows.iter().map(|(_, quantity)| *quantity).collect();
    sqlx::query(
        "INSERT INTO reservations (order_id, variant_id, store_id, quantity) \
         SELECT $1, variant_id, $2, quantity FROM UNNEST($3::uuid[], $4::bigint[]) AS t (variant_id, quantity)",
    )
    .bind(order.id.0)
    .bind(order.store_id.0)
    .bind(variant_ids)
    .bind(quantities)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// The stored reservations of an order: (variant, units).
pub(crate) async fn reservations_of(conn: &mut PgConnection, order_id: Uuid) -> Result<Vec<(Uuid, i64)>, StoreError> {
    let rows = sqlx::query("SELECT variant_id, quantity FROM reservations WHERE order_id = $1")
        .bind(order_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            Ok((
                get(row, "variant_id", "reservation")?,
                get(row, "quantity", "reservation")?,
            ))
        })
        .collect()
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
/// this change set's included, add up to more than its offers can ship.
///
/// The variants' rows are locked first, in id order (so two checks never wait on each other
/// in a circle), and held until commit: a concurrent check of the same variant waits, then
/// reads the sum with what this one wrote. Under READ COMMITTED each statement reads what is
/// committed when it starts, so the sums are read after the locks are taken.
pub(crate) async fn check_stock(conn: &mut PgConnection, variants: &[Uuid]) -> Result<(), StoreError> {
    if variants.is_empty() {
        return Ok(());
    }
    let mut variants = variants.to_vec();
    variants.sort_unstable();
    sqlx::query("SELECT id FROM variants WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(&variants)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    let rows = sqlx::query("SELECT doc FROM offers WHERE variant_id = ANY($1)")
        .bind(&variants)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
    let mut offers: HashMap<Uuid, Vec<Offer>> = HashMap::new();
    for row in &rows {
        let offer: Offer = doc(row, "offer")?;
        offers.entry(offer.variant_id.0).or_default().push(offer);
    }
    let rows = sqlx::query(
        "SELECT variant_id, SUM(quantity)::BIGINT AS held FROM reservations WHERE variant_id = ANY($1) \
         GROUP BY variant_id",
    )
    .bind(&variants)
    .fetch_all(&mut *conn)
    .await
    .map_err(store_error)?;
    let mut held: HashMap<Uuid, i64> = HashMap::with_capacity(rows.len());
    for row in &rows {
        held.insert(get(row, "variant_id", "reservation")?, get(row, "held", "reservation")?);
    }
    for variant_id in variants {
        let Some(capacity) = capacity(offers.get(&variant_id).map_or(&[], Vec::as_slice)) else {
            continue;
        };
        if held.get(&variant_id).copied().unwrap_or(0) > i64::from(capacity) {
            return Err(StoreError::OutOfStock(VariantId(variant_id)));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Listings: rows
// ---------------------------------------------------------------------------------------------

const LISTING_COLUMNS: &str =
    "variant_id, store_id, stock, price_minor, compare_at_minor, currency, published, updated_at";

fn listing_from_row(row: &PgRow) -> Result<Listing, StoreError> {
    let what = "listing";
    let currency = get::<Option<String>>(row, "currency", what)?
        .map(|code| Currency::parse(&code).map_err(|err| corrupt("listing currency", err)))
        .transpose()?;
    let money = |minor: Option<i64>| match (minor, currency) {
        (None, _) => Ok(None),
        (Some(minor), Some(currency)) => Ok(Some(Money::new(minor, currency))),
        (Some(_), None) => Err(corrupt(what, "a price without a currency")),
    };
    let stock = get::<Option<i64>>(row, "stock", what)?
        .map(|stock| u32::try_from(stock).map_err(|err| corrupt(what, err)))
        .transpose()?;
    Ok(Listing {
        variant_id: VariantId(get(row, "variant_id", what)?),
        store_id: StoreId(get(row, "store_id", what)?),
        stock,
        price: money(get(row, "price_minor", what)?)?,
        compare_at: money(get(row, "compare_at_minor", what)?)?,
        published: get(row, "published", what)?,
        updated_at: get(row, "updated_at", what)?,
    })
}

/// The one currency column of a listing's two prices.
fn listing_currency(listing: &Listing) -> Result<Option<&'static str>, StoreError> {
    match (listing.price, listing.compare_at) {
        (Some(price), Some(compare_at)) if price.currency != compare_at.currency => Err(StoreError::Other(format!(
            "the listing of variant {} has a price in {} and a compare-at price in {}",
            listing.variant_id, price.currency, compare_at.currency
        ))),
        (Some(money), _) | (None, Some(money)) => Ok(Some(money.currency.code())),
        (None, None) => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Price changes: the variant's price
// ---------------------------------------------------------------------------------------------

/// Writes a variant's selling price to its row and to its product's doc, which holds the
/// variants too.
async fn set_variant_price(conn: &mut PgConnection, variant_id: Uuid, price: Money) -> Result<(), StoreError> {
    let product_id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE variants SET doc = jsonb_set(doc, '{price}', $2) WHERE id = $1 RETURNING product_id",
    )
    .bind(variant_id)
    .bind(Json(price))
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    let Some(product_id) = product_id else {
        return Err(StoreError::NotFound(format!("variant {}", VariantId(variant_id))));
    };
    crate::catalog::rebuild_product_docs(conn, &[product_id]).await
}

async fn write_price_change(conn: &mut PgConnection, change: &PriceChange) -> Result<(), StoreError> {
    // The variant's row lock makes price changes of one variant take turns, so that each
    // supersedes what the one before it recorded.
    sqlx::query("SELECT id FROM variants WHERE id = $1 FOR UPDATE")
        .bind(change.variant_id.0)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    sqlx::query(
        "INSERT INTO price_changes (id, store_id, variant_id, status, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(change.id.0)
    .bind(change.store_id.0)
    .bind(change.variant_id.0)
    .bind(change.status.as_str())
    .bind(change.created_at)
    .bind(Json(change))
    .execute(&mut *conn)
    .await
    .map_err(|err| match store_error(err) {
        StoreError::Conflict(what) => {
            StoreError::Conflict(format!("price change {} already exists: {what}", change.id))
        }
        other => other,
    })?;
    sqlx::query(
        "UPDATE price_changes SET status = 'superseded', doc = jsonb_set(doc, '{status}', '\"superseded\"') \
         WHERE variant_id = $1 AND status = 'pending' AND created_at <= $2 AND id <> $3",
    )
    .bind(change.variant_id.0)
    .bind(change.created_at)
    .bind(change.id.0)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    if change.status == PriceChangeStatus::Applied {
        set_variant_price(conn, change.variant_id.0, change.new_price).await?;
    }
    Ok(())
}

async fn write_decision(conn: &mut PgConnection, change: &PriceChange) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT variant_id, status FROM price_changes WHERE id = $1 FOR UPDATE")
        .bind(change.id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
    let Some(row) = row else {
        return Err(StoreError::NotFound(format!("price change {}", change.id)));
    };
    let variant_id: Uuid = get(&row, "variant_id", "price change")?;
    let status: String = get(&row, "status", "price change")?;
    if status != PriceChangeStatus::Pending.as_str() {
        return Err(StoreError::Conflict(format!(
            "price change {} is {status} now",
            change.id
        )));
    }
    sqlx::query("UPDATE price_changes SET status = $2, doc = $3 WHERE id = $1")
        .bind(change.id.0)
        .bind(change.status.as_str())
        .bind(Json(change))
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    if change.status == PriceChangeStatus::Applied {
        set_variant_price(conn, variant_id, change.new_price).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Offer readings
// ---------------------------------------------------------------------------------------------

/// Applies the readings one after the other (a second reading of one offer sees the first)
/// to the offers read and locked in id order, then writes the offers that changed and the
/// cost points, one statement each.
async fn write_readings(conn: &mut PgConnection, readings: &[OfferReading]) -> Result<(), StoreError> {
    let mut ids: Vec<Uuid> = readings.iter().map(|r| r.offer_id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = sqlx::query("SELECT doc FROM offers WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
    let mut offers: HashMap<OfferId, Offer> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let offer: Offer = doc(row, "offer")?;
        offers.insert(offer.id, offer);
    }
    let mut changed: Vec<OfferId> = Vec::new();
    let mut points: Vec<CostPoint> = Vec::new();
    for reading in readings {
        let Some(offer) = offers.get_mut(&reading.offer_id) else {
            continue;
        };
        let moved = reading.unit_cost.filter(|cost| *cost != offer.unit_cost);
        if moved.is_none() && offer.stock == Some(reading.stock) {
            continue;
        }
        if let Some(cost) = moved {
            points.push(CostPoint {
                offer_id: offer.id,
                at: reading.at,
                unit_cost: cost,
                // One currency per point: a previous cost in another one is not kept.
                previous: (offer.unit_cost.currency == cost.currency).then_some(offer.unit_cost),
            });
            offer.unit_cost = cost;
        }
        offer.stock = Some(reading.stock);
        if !changed.contains(&offer.id) {
            changed.push(offer.id);
        }
    }
    if !changed.is_empty() {
        let docs = changed
            .iter()
            .filter_map(|id| offers.get(id))
            .map(|offer| {
                serde_json::to_value(offer).map_err(|err| StoreError::Other(format!("cannot encode offer: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<Uuid> = changed.iter().map(|id| id.0).collect();
        sqlx::query(
            "UPDATE offers SET doc = t.doc FROM UNNEST($1::uuid[], $2::jsonb[]) AS t (id, doc) WHERE offers.id = t.id",
        )
        .bind(ids)
        .bind(docs)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    if !points.is_empty() {
        // `seq` numbers the points in the order they are inserted: UNNEST's.
        sqlx::query(
            "INSERT INTO cost_history (offer_id, at, unit_cost_minor, currency, previous_minor) \
             SELECT * FROM UNNEST($1::uuid[], $2::timestamptz[], $3::bigint[], $4::text[], $5::bigint[])",
        )
        .bind(points.iter().map(|p| p.offer_id.0).collect::<Vec<_>>())
        .bind(points.iter().map(|p| p.at).collect::<Vec<_>>())
        .bind(points.iter().map(|p| p.unit_cost.minor).collect::<Vec<_>>())
        .bind(points.iter().map(|p| p.unit_cost.currency.code()).collect::<Vec<_>>())
        .bind(points.iter().map(|p| p.previous.map(|m| m.minor)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    Ok(())
}

impl crate::PostgresStore {
    pub(crate) async fn fetch_reserved_units(
        &self,
        variant_ids: &[VariantId],
    ) -> Result<Vec<(VariantId, u32)>, StoreError> {
        if variant_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = variant_ids.iter().map(|id| id.0).collect();
        let rows = sqlx::query(
            "SELECT variant_id, SUM(quantity)::BIGINT AS held FROM reservations WHERE variant_id = ANY($1) \
             GROUP BY variant_id ORDER BY variant_id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let mut held = Vec::with_capacity(rows.len());
        for row in &rows {
            let units: i64 = get(row, "held", "reservation")?;
            if units > 0 {
                held.push((
                    VariantId(get(row, "variant_id", "reservation")?),
                    u32::try_from(units).unwrap_or(u32::MAX),
                ));
            }
        }
        Ok(held)
    }

    pub(crate) async fn fetch_offers_of_supplier(
        &self,
        supplier_id: SupplierId,
        after: Option<OfferId>,
        limit: u32,
    ) -> Result<Vec<Offer>, StoreError> {
        let limit = match limit {
            0 => OFFER_PAGE_MAX,
            n => n.min(OFFER_PAGE_MAX),
        };
        let rows = sqlx::query("SELECT doc FROM offers WHERE supplier_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(supplier_id.0)
            .bind(after.map_or(Uuid::nil(), |id| id.0))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(|row| doc(row, "offer")).collect()
    }

    pub(crate) async fn apply_readings(&self, readings: &[OfferReading]) -> Result<(), StoreError> {
        if readings.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let written = write_readings(&mut tx, readings).await;
        finish(tx, written).await
    }

    pub(crate) async fn fetch_cost_history(&self, offer_id: OfferId, limit: u32) -> Result<Vec<CostPoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, unit_cost_minor, currency, previous_minor FROM cost_history \
             WHERE offer_id = $1 ORDER BY at DESC, seq DESC LIMIT $2",
        )
        .bind(offer_id.0)
        .bind(page_limit(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let what = "cost history";
                let code: String = get(row, "currency", what)?;
                let currency = Currency::parse(&code).map_err(|err| corrupt(what, err))?;
                Ok(CostPoint {
                    offer_id,
                    at: get(row, "at", what)?,
                    unit_cost: Money::new(get(row, "unit_cost_minor", what)?, currency),
                    previous: get::<Option<i64>>(row, "previous_minor", what)?.map(|minor| Money::new(minor, currency)),
                })
            })
            .collect()
    }

    pub(crate) async fn fetch_listings(&self, variant_ids: &[VariantId]) -> Result<Vec<Listing>, StoreError> {
        if variant_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = variant_ids.iter().map(|id| id.0).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LISTING_COLUMNS} FROM listings WHERE variant_id = ANY($1) ORDER BY variant_id"
        )))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(listing_from_row).collect()
    }

    /// One statement; a variant given twice keeps its last listing.
    pub(crate) async fn upsert_listings(&self, listings: &[Listing]) -> Result<(), StoreError> {
        let mut last: Vec<&Listing> = Vec::with_capacity(listings.len());
        for listing in listings.iter().rev() {
            if !last.iter().any(|l| l.variant_id == listing.variant_id) {
                last.push(listing);
            }
        }
        if last.is_empty() {
            return Ok(());
        }
        let currencies = last
            .iter()
            .map(|l| listing_currency(l))
            .collect::<Result<Vec<_>, _>>()?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO listings ({LISTING_COLUMNS}) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], \
                                  $7::boolean[], $8::timestamptz[]) \
             ON CONFLICT (variant_id) DO UPDATE SET store_id = excluded.store_id, stock = excluded.stock, \
                 price_minor = excluded.price_minor, compare_at_minor = excluded.compare_at_minor, \
                 currency = excluded.currency, published = excluded.published, updated_at = excluded.updated_at"
        )))
        .bind(last.iter().map(|l| l.variant_id.0).collect::<Vec<_>>())
        .bind(last.iter().map(|l| l.store_id.0).collect::<Vec<_>>())
        .bind(last.iter().map(|l| l.stock.map(i64::from)).collect::<Vec<_>>())
        .bind(last.iter().map(|l| l.price.map(|m| m.minor)).collect::<Vec<_>>())
        .bind(last.iter().map(|l| l.compare_at.map(|m| m.minor)).collect::<Vec<_>>())
        .bind(currencies)
        .bind(last.iter().map(|l| l.published).collect::<Vec<_>>())
        .bind(last.iter().map(|l| l.updated_at).collect::<Vec<_>>())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    pub(crate) async fn insert_price_change(&self, change: &PriceChange) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let written = write_price_change(&mut tx, change).await;
        finish(tx, written).await
    }

    pub(crate) async fn decide_pending_price_change(&self, change: &PriceChange) -> Result<(), StoreError> {
        if change.status == PriceChangeStatus::Pending {
            return Err(StoreError::Other(format!(
                "price change {}: a decision applies, rejects or supersedes it",
                change.id
            )));
        }
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let written = write_decision(&mut tx, change).await;
        finish(tx, written).await
    }

    pub(crate) async fn fetch_price_change(&self, id: PriceChangeId) -> Result<Option<PriceChange>, StoreError> {
        let row = sqlx::query("SELECT doc FROM price_changes WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(|row| doc(&row, "price change")).transpose()
    }

    pub(crate) async fn fetch_price_changes(
        &self,
        store_id: Option<StoreId>,
        status: Option<PriceChangeStatus>,
        limit: u32,
    ) -> Result<Vec<PriceChange>, StoreError> {
        let mut query: QueryBuilder<Postgres> = QueryBuilder::new("SELECT doc FROM price_changes WHERE TRUE");
        if let Some(store_id) = store_id {
            query.push(" AND store_id = ").push_bind(store_id.0);
        }
        if let Some(status) = status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        query
            .push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(page_limit(limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(|row| doc(row, "price change")).collect()
    }

    pub(crate) async fn insert_sync_problem_record(&self, problem: &SyncProblem) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sync_problems (id, store_id, at, resolved, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind(problem.id.0)
            .bind(problem.store_id.0)
            .bind(problem.at)
            .bind(problem.resolved_at.is_some())
            .bind(Json(problem))
            .execute(&self.pool)
            .await
            .map_err(|err| match store_error(err) {
                StoreError::Conflict(what) => {
                    StoreError::Conflict(format!("sync problem {} already exists: {what}", problem.id))
                }
                other => other,
            })?;
        Ok(())
    }

    pub(crate) async fn fetch_sync_problems(
        &self,
        store_id: Option<StoreId>,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<SyncProblem>, StoreError> {
        let mut query: QueryBuilder<Postgres> = QueryBuilder::new("SELECT doc FROM sync_problems WHERE TRUE");
        if let Some(store_id) = store_id {
            query.push(" AND store_id = ").push_bind(store_id.0);
        }
        if open_only {
            query.push(" AND NOT resolved");
        }
        query
            .push(" ORDER BY at DESC, id DESC LIMIT ")
            .push_bind(page_limit(limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(|row| doc(row, "sync problem")).collect()
    }

    pub(crate) async fn resolve_sync_problem_record(
        &self,
        id: SyncProblemId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // As the document's serde form writes it: RFC 3339 text.
        let at = at
            .format(&Rfc3339)
            .map_err(|err| StoreError::Other(format!("sync problem {id}: {at} cannot be written: {err}")))?;
        let result = sqlx::query(
            "UPDATE sync_problems SET resolved = TRUE, doc = jsonb_set(doc, '{resolved_at}', to_jsonb($2::text)) \
             WHERE id = $1 AND NOT resolved",
        )
        .bind(id.0)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() == 1)
    }
}
