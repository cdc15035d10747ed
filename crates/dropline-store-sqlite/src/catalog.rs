//! Stores, suppliers, products with their variants, and offers.
//!
//! Each write function runs on the writer's connection inside its own savepoint, so a
//! product whose third variant is refused leaves nothing behind.

use crate::sql::{
    SqlResult, collect, column, conflict_as, first, from_json, from_micros, is_unique_violation, micros, parse_name,
    store_error, to_json,
};
use dropline_app::ports::{CatalogImport, StoreError, StoreRecord};
use dropline_domain::address::Address;
use dropline_domain::catalog::{
    Offer, Platform, Product, Store as Shop, StoreConnection, StoreSettings, Supplier, Variant,
};
use dropline_domain::ids::{ProductId, StoreId, SupplierId, VariantId};
use dropline_domain::money::{Currency, Money};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Stores
// ---------------------------------------------------------------------------------------------

/// What the `doc` column of `stores` holds.
#[derive(Serialize, Deserialize)]
struct StoreDoc {
    #[serde(default)]
    address: Option<Address>,
    #[serde(default)]
    settings: StoreSettings,
}

/// The doc of a store.
pub(crate) fn store_doc(store: &Shop) -> Result<String, StoreError> {
    to_json(&StoreDoc {
        address: store.address.clone(),
        settings: store.settings.clone(),
    })
}

/// The stored form of a store's platform connection.
pub(crate) fn connection_doc(connection: &StoreConnection) -> Result<String, StoreError> {
    to_json(connection)
}

pub(crate) fn insert_store(
    conn: &Connection,
    record: &StoreRecord,
    doc: &str,
    connection: &str,
) -> Result<(), StoreError> {
    let store = &record.store;
    conn.prepare_cached(
        "INSERT INTO stores (id, name, platform, currency, token_hash, doc, created_at, connection)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .store()?
    .execute(rusqlite::params![
        store.id.0,
        store.name,
        store.platform.as_str(),
        store.currency.code(),
        record.token_hash,
        doc,
        micros(record.created_at),
        connection,
    ])
    .map_err(conflict_as(|| {
        format!("store {} or its token already exists", store.id)
    }))?;
    Ok(())
}

pub(crate) fn update_store(conn: &Connection, store: &Shop, doc: &str) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE stores SET name = ?2, doc = ?3 WHERE id = ?1")
        .store()?
        .execute(rusqlite::params![store.id.0, store.name, doc])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("store {}", store.id)));
    }
    Ok(())
}

/// Replaces a store's connection; nothing else of the store changes.
pub(crate) fn update_store_connection(conn: &Connection, id: StoreId, connection: &str) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE stores SET connection = ?2 WHERE id = ?1")
        .store()?
        .execute(rusqlite::params![id.0, connection])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("store {id}")));
    }
    Ok(())
}

/// Replaces a store's token hash; nothing else of the store changes.
pub(crate) fn replace_store_token_hash(conn: &Connection, id: StoreId, token_hash: &str) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE stores SET token_hash = ?2 WHERE id = ?1")
        .store()?
        .execute(rusqlite::params![id.0, token_hash])
        .map_err(conflict_as(|| format!("another store has this token (store {id})")))?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("store {id}")));
    }
    Ok(())
}

fn store_exists(conn: &Connection, id: StoreId) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM stores WHERE id = ?1)")
        .store()?
        .query_row([id.0], |row| row.get(0))
        .store()
}

const STORE_COLUMNS: &str = "id, name, platform, currency, token_hash, doc, created_at, connection";

fn decode_store(row: &Row<'_>) -> Result<StoreRecord, StoreError> {
    let platform: String = column(row, 2)?;
    let currency: String = column(row, 3)?;
    let doc: StoreDoc = from_json(&column::<String>(row, 5)?, "store")?;
    Ok(StoreRecord {
        store: Shop {
            id: StoreId(column(row, 0)?),
            name: column(row, 1)?,
            platform: parse_name(&platform, Platform::parse, "platform")?,
            currency: Currency::parse(&currency).map_err(|e| StoreError::Other(e.to_string()))?,
            address: doc.address,
            settings: doc.settings,
        },
        token_hash: column(row, 4)?,
        connection: from_json(&column::<String>(row, 7)?, "store connection")?,
        created_at: from_micros(column(row, 6)?)?,
    })
}

pub(crate) fn get_store(conn: &Connection, id: StoreId) -> Result<Option<StoreRecord>, StoreError> {
    let sql = format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = ?1");
    first(&mut *conn.prepare_cached(&sql).store()?, [id.0], decode_store)
}

pub(crate) fn store_by_token_hash(conn: &Connection, token_hash: &str) -> Result<Option<StoreRecord>, StoreError> {
    let sql = format!("SELECT {STORE_COLUMNS} FROM stores WHERE token_hash = ?1");
    first(&mut *conn.prepare_cached(&sql).store()?, [token_hash], decode_store)
}

pub(crate) fn list_stores(conn: &Connection) -> Result<Vec<StoreRecord>, StoreError> {
    let sql = format!("SELECT {STORE_COLUMNS} FROM stores ORDER BY id");
    collect(&mut *conn.prepare_cached(&sql).store()?, [], decode_store)
}

// ---------------------------------------------------------------------------------------------
// Suppliers
// ---------------------------------------------------------------------------------------------

pub(crate) fn insert_supplier(conn: &Connection, supplier: &Supplier, doc: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO suppliers (id, store_id, name, kind, doc) VALUES (?1, ?2, ?3, ?4, ?5)")
        .store()?
        .execute(rusqlite::params![
            supplier.id.0,
            supplier.store_id.0,
            supplier.name,
            supplier.kind.as_str(),
            doc
        ])
        .map_err(conflict_as(|| format!("supplier {} already exists", supplier.id)))?;
    Ok(())
}

pub(crate) fn update_supplier(conn: &Connection, supplier: &Supplier, doc: &str) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE suppliers SET name = ?2, doc = ?3 WHERE id = ?1 AND store_id = ?4 AND kind = ?5")
        .store()?
        .execute(rusqlite::params![
            supplier.id.0,
            supplier.name,
            doc,
            supplier.store_id.0,
            supplier.kind.as_str()
        ])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("supplier {}", supplier.id)));
    }
    Ok(())
}

fn decode_doc<T: serde::de::DeserializeOwned>(what: &'static str) -> impl Fn(&Row<'_>) -> Result<T, StoreError> {
    move |row| from_json(&column::<String>(row, 0)?, what)
}

pub(crate) fn get_supplier(conn: &Connection, id: SupplierId) -> Result<Option<Supplier>, StoreError> {
    let mut statement = conn.prepare_cached("SELECT doc FROM suppliers WHERE id = ?1").store()?;
    first(&mut statement, [id.0], decode_doc("supplier"))
}

pub(crate) fn list_suppliers(conn: &Connection, store_id: Option<StoreId>) -> Result<Vec<Supplier>, StoreError> {
    match store_id {
        Some(store_id) => {
            let mut statement = conn
                .prepare_cached("SELECT doc FROM suppliers WHERE store_id = ?1 ORDER BY id")
                .store()?;
            collect(&mut statement, [store_id.0], decode_doc("supplier"))
        }
        None => {
            let mut statement = conn.prepare_cached("SELECT doc FROM suppliers ORDER BY id").store()?;
            collect(&mut statement, [], decode_doc("supplier"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Products and variants
// ---------------------------------------------------------------------------------------------

fn insert_product_row(
    conn: &Connection,
    id: ProductId,
    store_id: StoreId,
    product: &Product,
) -> Result<(), StoreError> {
    let collections = to_json(&product.collections)?;
    conn.prepare_cached(
        "INSERT INTO products (id, store_id, title, platform_product_id, collections) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .store()?
    .execute(rusqlite::params![
        id.0,
        store_id.0,
        product.title,
        product.platform_product_id,
        collections
    ])
    .map_err(conflict_as(|| match &product.platform_product_id {
        Some(platform_id) => {
            format!("product {id} or platform product id '{platform_id}' already exists in store {store_id}")
        }
        None => format!("product {id} already exists"),
    }))?;
    Ok(())
}

fn insert_variant_row(
    conn: &Connection,
    product_id: ProductId,
    store_id: StoreId,
    position: i64,
    variant: &Variant,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO variants (id, product_id, store_id, position, sku, title, price_minor, currency, platform_variant_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .store()?
    .execute(rusqlite::params![
        variant.id.0,
        product_id.0,
        store_id.0,
        position,
        variant.sku,
        variant.title,
        variant.price.minor,
        variant.price.currency.code(),
        variant.platform_variant_id,
    ])
    .map_err(conflict_as(|| {
        let platform = variant
            .platform_variant_id
            .as_ref()
            .map(|id| format!(", platform variant id '{id}'"))
            .unwrap_or_default();
        format!(
            "variant {}, SKU '{}'{platform} already exists in store {store_id}",
            variant.id, variant.sku
        )
    }))?;
    Ok(())
}

pub(crate) fn insert_product(conn: &Connection, product: &Product) -> Result<(), StoreError> {
    insert_product_row(conn, product.id, product.store_id, product)?;
    for (position, variant) in product.variants.iter().enumerate() {
        insert_variant_row(conn, product.id, product.store_id, position as i64, variant)?;
    }
    Ok(())
}

const VARIANT_COLUMNS: &str = "id, product_id, sku, title, price_minor, currency, platform_variant_id";

fn decode_variant(row: &Row<'_>) -> Result<Variant, StoreError> {
    let currency: String = column(row, 5)?;
    Ok(Variant {
        id: VariantId(column(row, 0)?),
        product_id: ProductId(column(row, 1)?),
        sku: column(row, 2)?,
        title: column(row, 3)?,
        price: Money::new(
            column(row, 4)?,
            Currency::parse(&currency).map_err(|e| StoreError::Other(e.to_string()))?,
        ),
        platform_variant_id: column(row, 6)?,
    })
}

const PRODUCT_COLUMNS: &str = "id, store_id, title, platform_product_id, collections";

fn decode_product(row: &Row<'_>) -> Result<Product, StoreError> {
    Ok(Product {
        id: ProductId(column(row, 0)?),
        store_id: StoreId(column(row, 1)?),
        title: column(row, 2)?,
        variants: Vec::new(),
        platform_product_id: column(row, 3)?,
        collections: from_json(&column::<String>(row, 4)?, "product collections")?,
    })
}

pub(crate) fn get_product(conn: &Connection, id: ProductId) -> Result<Option<Product>, StoreError> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1");
    let Some(mut product) = first(&mut *conn.prepare_cached(&sql).store()?, [id.0], decode_product)? else {
        return Ok(None);
    };
    let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id = ?1 ORDER BY position");
    product.variants = collect(&mut *conn.prepare_cached(&sql).store()?, [id.0], decode_variant)?;
    Ok(Some(product))
}

pub(crate) fn list_products(conn: &Connection, store_id: Option<StoreId>) -> Result<Vec<Product>, StoreError> {
    let (mut products, variants) = match store_id {
        Some(store_id) => {
            let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE store_id = ?1 ORDER BY id");
            let products = collect(&mut *conn.prepare_cached(&sql).store()?, [store_id.0], decode_product)?;
            let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE store_id = ?1 ORDER BY position");
            let variants = collect(&mut *conn.prepare_cached(&sql).store()?, [store_id.0], decode_variant)?;
            (products, variants)
        }
        None => {
            let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products ORDER BY id");
            let products = collect(&mut *conn.prepare_cached(&sql).store()?, [], decode_product)?;
            let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants ORDER BY position");
            let variants = collect(&mut *conn.prepare_cached(&sql).store()?, [], decode_variant)?;
            (products, variants)
        }
    };
    let mut by_product: HashMap<ProductId, Vec<Variant>> = HashMap::new();
    for variant in variants {
        by_product.entry(variant.product_id).or_default().push(variant);
    }
    for product in &mut products {
        product.variants = by_product.remove(&product.id).unwrap_or_default();
    }
    Ok(products)
}

pub(crate) fn variants_by_sku(
    conn: &Connection,
    store_id: StoreId,
    skus: &[String],
) -> Result<Vec<Variant>, StoreError> {
    let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE store_id = ?1 AND sku = ?2");
    let mut statement = conn.prepare_cached(&sql).store()?;
    let mut variants = Vec::with_capacity(skus.len());
    for sku in skus {
        if let Some(variant) = first(&mut statement, rusqlite::params![store_id.0, sku], decode_variant)?
            && !variants.iter().any(|v: &Variant| v.id == variant.id)
        {
            variants.push(variant);
        }
    }
    Ok(variants)
}

/// The variant query by storefront id: served by `variants_store_id_platform_variant_id_key`.
const VARIANT_BY_PLATFORM_ID_SQL: &str = "SELECT id, product_id, sku, title, price_minor, currency, platform_variant_id
     FROM variants WHERE store_id = ?1 AND platform_variant_id = ?2";

pub(crate) fn variants_by_platform_id(
    conn: &Connection,
    store_id: StoreId,
    ids: &[String],
) -> Result<Vec<Variant>, StoreError> {
    let mut statement = conn.prepare_cached(VARIANT_BY_PLATFORM_ID_SQL).store()?;
    let mut variants: Vec<Variant> = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(variant) = first(&mut statement, rusqlite::params![store_id.0, id], decode_variant)?
            && !variants.iter().any(|v| v.id == variant.id)
        {
            variants.push(variant);
        }
    }
    Ok(variants)
}

/// Refuses an import that cannot be matched: a product of another store, a product or
/// variant without its storefront id, or a storefront id given twice.
fn check_import(store_id: StoreId, products: &[Product]) -> Result<(), StoreError> {
    let mut product_ids = HashSet::new();
    let mut variant_ids = HashSet::new();
    for (p, product) in products.iter().enumerate() {
        if product.store_id != store_id {
            return Err(StoreError::Other(format!(
                "products[{p}].store_id is {}, not the importing store {store_id}",
                product.store_id
            )));
        }
        let Some(platform_id) = &product.platform_product_id else {
            return Err(StoreError::Other(format!(
                "products[{p}].platform_product_id is missing: an import matches products by it"
            )));
        };
        if !product_ids.insert(platform_id.as_str()) {
            return Err(StoreError::Conflict(format!(
                "products[{p}].platform_product_id '{platform_id}' appears twice in the import"
            )));
        }
        for (v, variant) in product.variants.iter().enumerate() {
            let Some(platform_id) = &variant.platform_variant_id else {
                return Err(StoreError::Other(format!(
                    "products[{p}].variants[{v}].platform_variant_id is missing: an import matches variants by it"
                )));
            };
            if !variant_ids.insert(platform_id.as_str()) {
                return Err(StoreError::Conflict(format!(
                    "products[{p}].variants[{v}].platform_variant_id '{platform_id}' appears twice in the import"
                )));
            }
        }
    }
    Ok(())
}

/// The product query by storefront id: served by `products_store_id_platform_product_id_key`.
const PRODUCT_BY_PLATFORM_ID_SQL: &str =
    "SELECT id, title FROM products WHERE store_id = ?1 AND platform_product_id = ?2";

/// A stored variant that an import changes.
struct VariantChange<'a> {
    id: VariantId,
    sku_changed: bool,
    variant: &'a Variant,
}

/// A variant that an import adds.
struct NewVariant<'a> {
    product_id: ProductId,
    position: i64,
    variant: &'a Variant,
}

/// Adds or updates products pulled from the storefront (see `Store::import_products`). Runs
/// on the writer inside the write's savepoint, so a refused import leaves nothing behind.
pub(crate) fn import_products(
    conn: &Connection,
    store_id: StoreId,
    products: &[Product],
) -> Result<CatalogImport, StoreError> {
    check_import(store_id, products)?;
    if !store_exists(conn, store_id)? {
        return Err(StoreError::NotFound(format!("store {store_id}")));
    }
    let mut import = CatalogImport::default();
    let mut changes: Vec<VariantChange<'_>> = Vec::new();
    let mut additions: Vec<NewVariant<'_>> = Vec::new();
    let mut next_position: HashMap<ProductId, i64> = HashMap::new();
    let mut find_product = conn.prepare_cached(PRODUCT_BY_PLATFORM_ID_SQL).store()?;
    let mut find_variant = conn.prepare_cached(VARIANT_BY_PLATFORM_ID_SQL).store()?;
    // Products are written as they are matched; variant writes wait until every variant is
    // matched, so that the matching reads see the catalogue as it was.
    for product in products {
        let stored: Option<(Uuid, String)> = find_product
            .query_row(rusqlite::params![store_id.0, product.platform_product_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .store()?;
        let product_id = match stored {
            Some((id, title)) => {
                if title != product.title {
                    conn.prepare_cached("UPDATE products SET title = ?2 WHERE id = ?1")
                        .store()?
                        .execute(rusqlite::params![id, product.title])
                        .store()?;
                    import.products_updated += 1;
                }
                ProductId(id)
            }
            None => {
                insert_product_row(conn, product.id, store_id, product)?;
                import.products_created += 1;
                next_position.insert(product.id, 0);
                product.id
            }
        };
        for variant in &product.variants {
            let params = rusqlite::params![store_id.0, variant.platform_variant_id];
            match first(&mut find_variant, params, decode_variant)? {
                Some(stored) => {
                    if (&stored.sku, &stored.title, &stored.price) != (&variant.sku, &variant.title, &variant.price) {
                        changes.push(VariantChange {
                            id: stored.id,
                            sku_changed: stored.sku != variant.sku,
                            variant,
                        });
                        import.variants_updated += 1;
                    }
                }
                None => {
                    let position = match next_position.get(&product_id) {
                        Some(position) => *position,
                        None => conn
                            .prepare_cached("SELECT coalesce(max(position) + 1, 0) FROM variants WHERE product_id = ?1")
                            .store()?
                            .query_row([product_id.0], |row| row.get(0))
                            .store()?,
                    };
                    next_position.insert(product_id, position + 1);
                    additions.push(NewVariant {
                        product_id,
                        position,
                        variant,
                    });
                    import.variants_created += 1;
                }
            }
        }
    }
    // A SKU may move from one variant of the import to another (a storefront swapped two):
    // the variants whose SKU changes let go of theirs first.
    for change in changes.iter().filter(|c| c.sku_changed) {
        conn.prepare_cached("UPDATE variants SET sku = ?2 WHERE id = ?1")
            .store()?
            .execute(rusqlite::params![
                change.id.0,
                format!("import-placeholder:{}", change.id)
            ])
            .store()?;
    }
    for change in &changes {
        let variant = change.variant;
        conn.prepare_cached("UPDATE variants SET sku = ?2, title = ?3, price_minor = ?4, currency = ?5 WHERE id = ?1")
            .store()?
            .execute(rusqlite::params![
                change.id.0,
                variant.sku,
                variant.title,
                variant.price.minor,
                variant.price.currency.code(),
            ])
            .map_err(|error| sku_taken(error, &variant.sku, store_id))?;
    }
    for addition in &additions {
        insert_variant_row(conn, addition.product_id, store_id, addition.position, addition.variant)?;
    }
    Ok(import)
}

fn sku_taken(error: rusqlite::Error, sku: &str, store_id: StoreId) -> StoreError {
    if is_unique_violation(&error) {
        StoreError::Conflict(format!("SKU '{sku}' is taken by another variant of store {store_id}"))
    } else {
        store_error(error)
    }
}

pub(crate) fn variant_store(conn: &Connection, variant_id: VariantId) -> Result<Option<StoreId>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT store_id FROM variants WHERE id = ?1")
        .store()?;
    first(&mut statement, [variant_id.0], |row| Ok(StoreId(column(row, 0)?)))
}

// ---------------------------------------------------------------------------------------------
// Offers
// ---------------------------------------------------------------------------------------------

pub(crate) fn insert_offer(conn: &Connection, store_id: StoreId, offer: &Offer, doc: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO offers (id, store_id, variant_id, supplier_id, doc) VALUES (?1, ?2, ?3, ?4, ?5)")
        .store()?
        .execute(rusqlite::params![
            offer.id.0,
            store_id.0,
            offer.variant_id.0,
            offer.supplier_id.0,
            doc
        ])
        .map_err(conflict_as(|| format!("offer {} already exists", offer.id)))?;
    Ok(())
}

pub(crate) fn update_offer(conn: &Connection, offer: &Offer, doc: &str) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE offers SET variant_id = ?2, supplier_id = ?3, doc = ?4 WHERE id = ?1")
        .store()?
        .execute(rusqlite::params![
            offer.id.0,
            offer.variant_id.0,
            offer.supplier_id.0,
            doc
        ])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("offer {}", offer.id)));
    }
    Ok(())
}

pub(crate) fn offers_for_variants(conn: &Connection, variant_ids: &[VariantId]) -> Result<Vec<Offer>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT doc FROM offers WHERE variant_id = ?1 ORDER BY id")
        .store()?;
    let mut seen: Vec<Uuid> = Vec::with_capacity(variant_ids.len());
    let mut offers = Vec::new();
    for variant_id in variant_ids {
        if seen.contains(&variant_id.0) {
            continue;
        }
        seen.push(variant_id.0);
        offers.extend(collect(&mut statement, [variant_id.0], decode_doc::<Offer>("offer"))?);
    }
    Ok(offers)
}

pub(crate) fn list_offers(conn: &Connection, store_id: Option<StoreId>) -> Result<Vec<Offer>, StoreError> {
    match store_id {
        Some(store_id) => {
            let mut statement = conn
                .prepare_cached("SELECT doc FROM offers WHERE store_id = ?1 ORDER BY id")
                .store()?;
            collect(&mut statement, [store_id.0], decode_doc("offer"))
        }
        None => {
            let mut statement = conn.prepare_cached("SELECT doc FROM offers ORDER BY id").store()?;
            collect(&mut statement, [], decode_doc("offer"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, sql: &str) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plan");
        let rows = statement
            .query_map(rusqlite::params![Uuid::nil(), "id"], |row| row.get::<_, String>(3))
            .expect("plan rows");
        rows.map(|row| row.expect("plan row")).collect::<Vec<_>>().join("\n")
    }

    /// Lookups by storefront id are served by the partial unique indexes, not by a scan.
    #[test]
    fn platform_id_lookups_use_their_indexes() {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::migrations::run(&mut conn).expect("migrations");
        let variants = plan(&conn, VARIANT_BY_PLATFORM_ID_SQL);
        assert!(
            variants.contains("variants_store_id_platform_variant_id_key"),
            "{variants}"
        );
        let products = plan(&conn, PRODUCT_BY_PLATFORM_ID_SQL);
        assert!(
            products.contains("products_store_id_platform_product_id_key"),
            "{products}"
        );
    }

    #[test]
    fn an_import_is_checked_before_it_is_written() {
        let store_id = StoreId::new();
        let product = |platform_id: Option<&str>, variants: &[Option<&str>]| {
            let id = ProductId::new();
            Product {
                collections: Vec::new(),
                id,
                store_id,
                title: "Mug".into(),
                platform_product_id: platform_id.map(str::to_string),
                variants: variants
                    .iter()
                    .enumerate()
                    .map(|(n, platform_id)| Variant {
                        id: VariantId::new(),
                        product_id: id,
                        sku: format!("SKU-{n}"),
                        title: "Blue".into(),
                        price: Money::new(100, Currency::parse("EUR").expect("EUR")),
                        platform_variant_id: platform_id.map(str::to_string),
                    })
                    .collect(),
            }
        };
        assert_eq!(check_import(store_id, &[]), Ok(()));
        assert_eq!(
            check_import(
                store_id,
                &[product(Some("p1"), &[Some("v1")]), product(Some("p2"), &[])]
            ),
            Ok(())
        );
        let message = |result: Result<(), StoreError>| match result {
            Err(StoreError::Other(message) | StoreError::Conflict(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(message(check_import(store_id, &[product(None, &[])])).contains("products[0].platform_product_id"));
        assert!(
            message(check_import(store_id, &[product(Some("p1"), &[Some("v1"), None])]))
                .contains("products[0].variants[1].platform_variant_id")
        );
        let twice = check_import(store_id, &[product(Some("p1"), &[]), product(Some("p1"), &[])]);
        assert!(matches!(&twice, Err(StoreError::Conflict(m)) if m.contains("products[1].platform_product_id 'p1'")));
        let twice = check_import(
            store_id,
            &[product(Some("p1"), &[Some("v")]), product(Some("p2"), &[Some("v")])],
        );
        assert!(matches!(&twice, Err(StoreError::Conflict(m)) if m.contains("products[1].variants[0]")));
        let mut foreign = product(Some("p1"), &[]);
        foreign.store_id = StoreId::new();
        assert!(message(check_import(store_id, &[foreign])).contains("products[0].store_id"));
    }
}
