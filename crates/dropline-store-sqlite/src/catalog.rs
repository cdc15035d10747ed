//! Stores, suppliers, products with their variants, and offers.
//!
//! Each write function runs on the writer's connection inside its own savepoint, so a
//! product whose third variant is refused leaves nothing behind.

use crate::sql::{SqlResult, collect, column, conflict_as, first, from_json, from_micros, micros, parse_name, to_json};
use dropline_app::ports::{StoreError, StoreRecord};
use dropline_domain::address::Address;
use dropline_domain::catalog::{Offer, Platform, Product, Store as Shop, StoreSettings, Supplier, Variant};
use dropline_domain::ids::{ProductId, StoreId, SupplierId, VariantId};
use dropline_domain::money::{Currency, Money};
use rusqlite::{Connection, Row};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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

pub(crate) fn insert_store(conn: &Connection, record: &StoreRecord, doc: &str) -> Result<(), StoreError> {
    let store = &record.store;
    conn.prepare_cached(
        "INSERT INTO stores (id, name, platform, currency, token_hash, doc, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
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

const STORE_COLUMNS: &str = "id, name, platform, currency, token_hash, doc, created_at";

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

pub(crate) fn insert_product(conn: &Connection, product: &Product) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO products (id, store_id, title) VALUES (?1, ?2, ?3)")
        .store()?
        .execute(rusqlite::params![product.id.0, product.store_id.0, product.title])
        .map_err(conflict_as(|| format!("product {} already exists", product.id)))?;
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO variants (id, product_id, store_id, position, sku, title, price_minor, currency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .store()?;
    for (position, variant) in product.variants.iter().enumerate() {
        statement
            .execute(rusqlite::params![
                variant.id.0,
                product.id.0,
                product.store_id.0,
                position as i64,
                variant.sku,
                variant.title,
                variant.price.minor,
                variant.price.currency.code(),
            ])
            .map_err(conflict_as(|| {
                format!(
                    "variant {} or SKU '{}' already exists in store {}",
                    variant.id, variant.sku, product.store_id
                )
            }))?;
    }
    Ok(())
}

const VARIANT_COLUMNS: &str = "id, product_id, sku, title, price_minor, currency";

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
    })
}

fn decode_product(row: &Row<'_>) -> Result<Product, StoreError> {
    Ok(Product {
        id: ProductId(column(row, 0)?),
        store_id: StoreId(column(row, 1)?),
        title: column(row, 2)?,
        variants: Vec::new(),
    })
}

pub(crate) fn get_product(conn: &Connection, id: ProductId) -> Result<Option<Product>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT id, store_id, title FROM products WHERE id = ?1")
        .store()?;
    let Some(mut product) = first(&mut statement, [id.0], decode_product)? else {
        return Ok(None);
    };
    let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id = ?1 ORDER BY position");
    product.variants = collect(&mut *conn.prepare_cached(&sql).store()?, [id.0], decode_variant)?;
    Ok(Some(product))
}

pub(crate) fn list_products(conn: &Connection, store_id: Option<StoreId>) -> Result<Vec<Product>, StoreError> {
    let (mut products, variants) = match store_id {
        Some(store_id) => {
            let mut statement = conn
                .prepare_cached("SELECT id, store_id, title FROM products WHERE store_id = ?1 ORDER BY id")
                .store()?;
            let products = collect(&mut statement, [store_id.0], decode_product)?;
            let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE store_id = ?1 ORDER BY position");
            let variants = collect(&mut *conn.prepare_cached(&sql).store()?, [store_id.0], decode_variant)?;
            (products, variants)
        }
        None => {
            let mut statement = conn
                .prepare_cached("SELECT id, store_id, title FROM products ORDER BY id")
                .store()?;
            let products = collect(&mut statement, [], decode_product)?;
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
