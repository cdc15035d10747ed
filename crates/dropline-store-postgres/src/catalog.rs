//! Stores with their platform connection, suppliers, products with their variants (and
//! their import from a storefront), and offers.
//!
//! A product's doc holds its variants too; every write of a variant rewrites the doc of its
//! product in the same transaction.

use crate::error::{corrupt, store_error};
use crate::finish;
use dropline_app::ports::{CatalogImport, StoreError, StoreRecord};
use dropline_domain::catalog::{Offer, Product, Store as Shop, StoreConnection, Supplier, Variant};
use dropline_domain::ids::{ProductId, StoreId, SupplierId, VariantId};
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::types::Json;
use sqlx::{Executor, Postgres, Row};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Reads the `doc` column of a row as `T`.
pub(crate) fn doc<T: DeserializeOwned>(row: &PgRow, what: &str) -> Result<T, StoreError> {
    row.try_get::<Json<T>, _>("doc")
        .map(|Json(value)| value)
        .map_err(|err| corrupt(what, err))
}

fn docs<T: DeserializeOwned>(rows: &[PgRow], what: &str) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|row| doc(row, what)).collect()
}

fn ids<T>(values: &[T], id: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
    values.iter().map(id).collect()
}

/// The `doc` of a store: the record without its connection, which has a column of its own
/// so that its secrets are read only where they are needed.
fn store_doc(record: &StoreRecord) -> Result<serde_json::Value, StoreError> {
    let mut doc =
        serde_json::to_value(record).map_err(|err| StoreError::Other(format!("cannot encode store: {err}")))?;
    if let Some(fields) = doc.as_object_mut() {
        fields.remove("connection");
    }
    Ok(doc)
}

/// A store from a `SELECT doc, connection` row.
fn store_from_row(row: &PgRow) -> Result<StoreRecord, StoreError> {
    let mut record: StoreRecord = doc(row, "store")?;
    let Json(connection) = row
        .try_get::<Json<StoreConnection>, _>("connection")
        .map_err(|err| corrupt("store connection", err))?;
    record.connection = connection;
    Ok(record)
}

impl crate::PostgresStore {
    pub(crate) async fn insert_store_record(&self, record: StoreRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO stores (id, name, token_hash, created_at, doc, connection) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(record.store.id.0)
        .bind(&record.store.name)
        .bind(&record.token_hash)
        .bind(record.created_at)
        .bind(Json(store_doc(&record)?))
        .bind(Json(&record.connection))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// Replaces name, address and settings inside the stored record in one statement;
    /// platform, currency, token and creation time stay.
    pub(crate) async fn update_store_record(&self, store: Shop) -> Result<(), StoreError> {
        let changed = serde_json::json!({
            "name": store.name,
            "address": store.address,
            "settings": store.settings,
        });
        let result = sqlx::query(
            "UPDATE stores SET name = $2, doc = jsonb_set(doc, '{store}', (doc -> 'store') || $3) WHERE id = $1",
        )
        .bind(store.id.0)
        .bind(&store.name)
        .bind(Json(&changed))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("store {}", store.id)));
        }
        Ok(())
    }

    /// Replaces the connection alone: name, settings and token stay.
    pub(crate) async fn update_store_connection_record(
        &self,
        id: StoreId,
        connection: StoreConnection,
    ) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE stores SET connection = $2 WHERE id = $1")
            .bind(id.0)
            .bind(Json(&connection))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("store {id}")));
        }
        Ok(())
    }

    /// Replaces the token hash, in its column and in the doc; nothing else changes.
    pub(crate) async fn replace_store_token_hash_record(
        &self,
        id: StoreId,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE stores SET token_hash = $2, doc = jsonb_set(doc, '{token_hash}', to_jsonb($2::text)) WHERE id = $1",
        )
        .bind(id.0)
        .bind(token_hash)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("store {id}")));
        }
        Ok(())
    }

    pub(crate) async fn fetch_store(&self, id: StoreId) -> Result<Option<StoreRecord>, StoreError> {
        let row = sqlx::query("SELECT doc, connection FROM stores WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(store_from_row).transpose()
    }

    pub(crate) async fn fetch_store_by_token_hash(&self, token_hash: &str) -> Result<Option<StoreRecord>, StoreError> {
        let row = sqlx::query("SELECT doc, connection FROM stores WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(store_from_row).transpose()
    }

    pub(crate) async fn fetch_stores(&self) -> Result<Vec<StoreRecord>, StoreError> {
        let rows = sqlx::query("SELECT doc, connection FROM stores ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(store_from_row).collect()
    }

    pub(crate) async fn insert_supplier_record(&self, supplier: Supplier) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO suppliers (id, store_id, name, kind, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind(supplier.id.0)
            .bind(supplier.store_id.0)
            .bind(&supplier.name)
            .bind(supplier.kind.as_str())
            .bind(Json(&supplier))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    pub(crate) async fn update_supplier_record(&self, supplier: Supplier) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE suppliers SET name = $2, doc = $3 WHERE id = $1 AND store_id = $4 AND kind = $5")
                .bind(supplier.id.0)
                .bind(&supplier.name)
                .bind(Json(&supplier))
                .bind(supplier.store_id.0)
                .bind(supplier.kind.as_str())
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("supplier {}", supplier.id)));
        }
        Ok(())
    }

    pub(crate) async fn fetch_supplier(&self, id: SupplierId) -> Result<Option<Supplier>, StoreError> {
        let row = sqlx::query("SELECT doc FROM suppliers WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(|row| doc(&row, "supplier")).transpose()
    }

    pub(crate) async fn fetch_suppliers(&self, store_id: Option<StoreId>) -> Result<Vec<Supplier>, StoreError> {
        // Two plain statements rather than `$1 IS NULL OR ...`, which a cached generic plan
        // could only answer with a full scan.
        let query = match store_id {
            Some(store_id) => sqlx::query("SELECT doc FROM suppliers WHERE store_id = $1 ORDER BY id").bind(store_id.0),
            None => sqlx::query("SELECT doc FROM suppliers ORDER BY id"),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        docs(&rows, "supplier")
    }

    /// The product and its variants in one transaction, so a duplicate SKU leaves nothing.
    pub(crate) async fn insert_product_record(&self, mut product: Product) -> Result<(), StoreError> {
        // As the variants table has it: every variant is in this product.
        for variant in &mut product.variants {
            variant.product_id = product.id;
        }
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let written = async {
            insert_product_row(&mut *tx, &product).await?;
            for (position, variant) in product.variants.iter().enumerate() {
                let position = i32::try_from(position)
                    .map_err(|_| StoreError::Other("a product cannot have that many variants".into()))?;
                insert_variant(&mut *tx, product.id, product.store_id, position, variant).await?;
            }
            Ok(())
        }
        .await;
        finish(tx, written).await
    }

    pub(crate) async fn fetch_product(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        let row = sqlx::query("SELECT doc FROM products WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(|row| doc(&row, "product")).transpose()
    }

    pub(crate) async fn fetch_products(&self, store_id: Option<StoreId>) -> Result<Vec<Product>, StoreError> {
        let query = match store_id {
            Some(store_id) => sqlx::query("SELECT doc FROM products WHERE store_id = $1 ORDER BY id").bind(store_id.0),
            None => sqlx::query("SELECT doc FROM products ORDER BY id"),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        docs(&rows, "product")
    }

    pub(crate) async fn fetch_variants_by_sku(
        &self,
        store_id: StoreId,
        skus: &[String],
    ) -> Result<Vec<Variant>, StoreError> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let rows =
            sqlx::query("SELECT doc FROM variants WHERE store_id = $1 AND sku = ANY($2) ORDER BY product_id, position")
                .bind(store_id.0)
                .bind(skus)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        docs(&rows, "variant")
    }

    pub(crate) async fn fetch_variants_by_platform_id(
        &self,
        store_id: StoreId,
        ids: &[String],
    ) -> Result<Vec<Variant>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT doc FROM variants WHERE store_id = $1 AND platform_variant_id = ANY($2) ORDER BY product_id, position",
        )
        .bind(store_id.0)
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        docs(&rows, "variant")
    }

    /// See `Store::import_products`: one transaction, refused whole.
    pub(crate) async fn import_product_records(
        &self,
        store_id: StoreId,
        products: Vec<Product>,
    ) -> Result<CatalogImport, StoreError> {
        check_import(store_id, &products)?;
        let mut import = CatalogImport::default();
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let written = write_import(&mut tx, store_id, &products, &mut import).await;
        finish(tx, written).await?;
        Ok(import)
    }

    pub(crate) async fn fetch_variant_store(&self, variant_id: VariantId) -> Result<Option<StoreId>, StoreError> {
        let store_id: Option<Uuid> = sqlx::query_scalar("SELECT store_id FROM variants WHERE id = $1")
            .bind(variant_id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(store_id.map(StoreId))
    }

    pub(crate) async fn insert_offer_record(&self, store_id: StoreId, offer: Offer) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO offers (id, store_id, variant_id, supplier_id, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind(offer.id.0)
            .bind(store_id.0)
            .bind(offer.variant_id.0)
            .bind(offer.supplier_id.0)
            .bind(Json(&offer))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    pub(crate) async fn update_offer_record(&self, offer: Offer) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE offers SET variant_id = $2, supplier_id = $3, doc = $4 WHERE id = $1")
            .bind(offer.id.0)
            .bind(offer.variant_id.0)
            .bind(offer.supplier_id.0)
            .bind(Json(&offer))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("offer {}", offer.id)));
        }
        Ok(())
    }

    pub(crate) async fn fetch_offers_for_variants(&self, variant_ids: &[VariantId]) -> Result<Vec<Offer>, StoreError> {
        if variant_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query("SELECT doc FROM offers WHERE variant_id = ANY($1) ORDER BY variant_id, id")
            .bind(ids(variant_ids, |id| id.0))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        docs(&rows, "offer")
    }

    pub(crate) async fn fetch_offers(&self, store_id: Option<StoreId>) -> Result<Vec<Offer>, StoreError> {
        let query = match store_id {
            Some(store_id) => sqlx::query("SELECT doc FROM offers WHERE store_id = $1 ORDER BY id").bind(store_id.0),
            None => sqlx::query("SELECT doc FROM offers ORDER BY id"),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        docs(&rows, "offer")
    }
}

/// Maps a refused write of the catalogue: a broken uniqueness rule says what is taken.
fn taken(what: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match store_error(err) {
        StoreError::Conflict(detail) => StoreError::Conflict(format!("{}: {detail}", what())),
        other => other,
    }
}

async fn insert_product_row<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    product: &Product,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO products (id, store_id, title, platform_product_id, doc) VALUES ($1, $2, $3, $4, $5)")
        .bind(product.id.0)
        .bind(product.store_id.0)
        .bind(&product.title)
        .bind(&product.platform_product_id)
        .bind(Json(product))
        .execute(executor)
        .await
        .map_err(taken(|| match &product.platform_product_id {
            Some(platform_id) => format!(
                "product {} or platform product id '{platform_id}' already exists in store {}",
                product.id, product.store_id
            ),
            None => format!("product {} already exists", product.id),
        }))?;
    Ok(())
}

async fn insert_variant<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    product_id: ProductId,
    store_id: StoreId,
    position: i32,
    variant: &Variant,
) -> Result<(), StoreError> {
    // The doc says which product the variant is in, whatever the caller's copy said.
    let variant = Variant {
        product_id,
        ..variant.clone()
    };
    sqlx::query(
        "INSERT INTO variants (id, product_id, store_id, position, sku, platform_variant_id, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(variant.id.0)
    .bind(product_id.0)
    .bind(store_id.0)
    .bind(position)
    .bind(&variant.sku)
    .bind(&variant.platform_variant_id)
    .bind(Json(&variant))
    .execute(executor)
    .await
    .map_err(taken(|| {
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

/// Writes an import planned against the catalogue as it is: products first, then the
/// variants, then the docs of every product whose variants changed.
async fn write_import(
    conn: &mut PgConnection,
    store_id: StoreId,
    products: &[Product],
    import: &mut CatalogImport,
) -> Result<(), StoreError> {
    // Imports of one store take turns (the row lock lasts until commit), so each plans
    // against what the one before it wrote.
    let store: Option<i32> = sqlx::query_scalar("SELECT 1 FROM stores WHERE id = $1 FOR UPDATE")
        .bind(store_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
    if store.is_none() {
        return Err(StoreError::NotFound(format!("store {store_id}")));
    }

    let platform_product_ids: Vec<&str> = products
        .iter()
        .filter_map(|p| p.platform_product_id.as_deref())
        .collect();
    let rows = sqlx::query(
        "SELECT id, title, platform_product_id FROM products WHERE store_id = $1 AND platform_product_id = ANY($2)",
    )
    .bind(store_id.0)
    .bind(&platform_product_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(store_error)?;
    let mut stored_products: HashMap<String, (Uuid, String)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let read = |err| corrupt("product", err);
        stored_products.insert(
            row.try_get("platform_product_id").map_err(read)?,
            (row.try_get("id").map_err(read)?, row.try_get("title").map_err(read)?),
        );
    }

    let platform_variant_ids: Vec<&str> = products
        .iter()
        .flat_map(|p| p.variants.iter().filter_map(|v| v.platform_variant_id.as_deref()))
        .collect();
    let rows = sqlx::query("SELECT doc FROM variants WHERE store_id = $1 AND platform_variant_id = ANY($2)")
        .bind(store_id.0)
        .bind(&platform_variant_ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
    let mut stored_variants: HashMap<String, Variant> = HashMap::with_capacity(rows.len());
    for variant in docs::<Variant>(&rows, "variant")? {
        if let Some(platform_id) = variant.platform_variant_id.clone() {
            stored_variants.insert(platform_id, variant);
        }
    }

    let matched: Vec<Uuid> = stored_products.values().map(|(id, _)| *id).collect();
    let rows = sqlx::query(
        "SELECT product_id, max(position) + 1 AS next FROM variants WHERE product_id = ANY($1) GROUP BY product_id",
    )
    .bind(&matched)
    .fetch_all(&mut *conn)
    .await
    .map_err(store_error)?;
    let mut next_position: HashMap<ProductId, i32> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let read = |err| corrupt("variant position", err);
        next_position.insert(
            ProductId(row.try_get("product_id").map_err(read)?),
            row.try_get("next").map_err(read)?,
        );
    }

    // The plan: what changes, and which products' docs must be rebuilt.
    let mut touched: HashSet<ProductId> = HashSet::new();
    let mut changed_variants: Vec<(Variant, bool)> = Vec::new();
    let mut new_variants: Vec<(ProductId, i32, &Variant)> = Vec::new();
    for product in products {
        let stored = product
            .platform_product_id
            .as_ref()
            .and_then(|id| stored_products.get(id));
        let product_id = match stored {
            Some((id, title)) => {
                let id = ProductId(*id);
                if *title != product.title {
                    sqlx::query(
                        "UPDATE products SET title = $2, doc = jsonb_set(doc, '{title}', to_jsonb($2::text)) \
                         WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(&product.title)
                    .execute(&mut *conn)
                    .await
                    .map_err(store_error)?;
                    import.products_updated += 1;
                }
                id
            }
            None => {
                let new = Product {
                    store_id,
                    variants: Vec::new(),
                    ..product.clone()
                };
                insert_product_row(&mut *conn, &new).await?;
                import.products_created += 1;
                touched.insert(product.id);
                product.id
            }
        };
        for variant in &product.variants {
            let stored = variant
                .platform_variant_id
                .as_ref()
                .and_then(|id| stored_variants.get(id));
            match stored {
                Some(stored) => {
                    if (&stored.sku, &stored.title, &stored.price) != (&variant.sku, &variant.title, &variant.price) {
                        let sku_changed = stored.sku != variant.sku;
                        let changed = Variant {
                            sku: variant.sku.clone(),
                            title: variant.title.clone(),
                            price: variant.price,
                            ..stored.clone()
                        };
                        touched.insert(changed.product_id);
                        changed_variants.push((changed, sku_changed));
                        import.variants_updated += 1;
                    }
                }
                None => {
                    let position = next_position.entry(product_id).or_insert(0);
                    new_variants.push((product_id, *position, variant));
                    *position = position
                        .checked_add(1)
                        .ok_or_else(|| StoreError::Other("a product cannot have that many variants".into()))?;
                    touched.insert(product_id);
                    import.variants_created += 1;
                }
            }
        }
    }

    // A SKU may move from one variant of the import to another (a storefront swapped two):
    // the variants whose SKU changes let go of theirs first.
    let releasing: Vec<Uuid> = changed_variants
        .iter()
        .filter(|(_, sku_changed)| *sku_changed)
        .map(|(variant, _)| variant.id.0)
        .collect();
    if !releasing.is_empty() {
        sqlx::query("UPDATE variants SET sku = 'import-placeholder:' || id::text WHERE id = ANY($1)")
            .bind(&releasing)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    for (variant, _) in &changed_variants {
        sqlx::query("UPDATE variants SET sku = $2, doc = $3 WHERE id = $1")
            .bind(variant.id.0)
            .bind(&variant.sku)
            .bind(Json(variant))
            .execute(&mut *conn)
            .await
            .map_err(taken(|| {
                format!("SKU '{}' is taken by another variant of store {store_id}", variant.sku)
            }))?;
    }
    for (product_id, position, variant) in new_variants {
        insert_variant(&mut *conn, product_id, store_id, position, variant).await?;
    }
    if !touched.is_empty() {
        let touched: Vec<Uuid> = touched.into_iter().map(|id| id.0).collect();
        rebuild_product_docs(conn, &touched).await?;
    }
    Ok(())
}

/// Rebuilds the `variants` array of these products' docs from their variant rows, after a
/// write of the variants.
pub(crate) async fn rebuild_product_docs(conn: &mut PgConnection, product_ids: &[Uuid]) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE products p SET doc = jsonb_set(p.doc, '{variants}', coalesce(\
           (SELECT jsonb_agg(v.doc ORDER BY v.position) FROM variants v WHERE v.product_id = p.id), \
           '[]'::jsonb)) \
         WHERE p.id = ANY($1)",
    )
    .bind(product_ids)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}
