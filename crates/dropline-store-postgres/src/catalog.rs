//! Stores, suppliers, products with their variants, and offers.

use crate::error::{corrupt, store_error};
use crate::finish;
use dropline_app::ports::{StoreError, StoreRecord};
use dropline_domain::catalog::{Offer, Product, Store as Shop, Supplier, Variant};
use dropline_domain::ids::{ProductId, StoreId, SupplierId, VariantId};
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Executor, Postgres, Row};
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

impl crate::PostgresStore {
    pub(crate) async fn insert_store_record(&self, record: StoreRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO stores (id, name, token_hash, created_at, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind(record.store.id.0)
            .bind(&record.store.name)
            .bind(&record.token_hash)
            .bind(record.created_at)
            .bind(Json(&record))
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

    pub(crate) async fn fetch_store(&self, id: StoreId) -> Result<Option<StoreRecord>, StoreError> {
        let row = sqlx::query("SELECT doc FROM stores WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(|row| doc(&row, "store")).transpose()
    }

    pub(crate) async fn fetch_store_by_token_hash(&self, token_hash: &str) -> Result<Option<StoreRecord>, StoreError> {
        let row = sqlx::query("SELECT doc FROM stores WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(|row| doc(&row, "store")).transpose()
    }

    pub(crate) async fn fetch_stores(&self) -> Result<Vec<StoreRecord>, StoreError> {
        let rows = sqlx::query("SELECT doc FROM stores ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        docs(&rows, "store")
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
    pub(crate) async fn insert_product_record(&self, product: Product) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let written = async {
            sqlx::query("INSERT INTO products (id, store_id, title, doc) VALUES ($1, $2, $3, $4)")
                .bind(product.id.0)
                .bind(product.store_id.0)
                .bind(&product.title)
                .bind(Json(&product))
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            for (position, variant) in product.variants.iter().enumerate() {
                let position = i32::try_from(position)
                    .map_err(|_| StoreError::Other("a product cannot have that many variants".into()))?;
                insert_variant(&mut *tx, &product, position, variant).await?;
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

async fn insert_variant<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    product: &Product,
    position: i32,
    variant: &Variant,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO variants (id, product_id, store_id, position, sku, doc) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(variant.id.0)
        .bind(product.id.0)
        .bind(product.store_id.0)
        .bind(position)
        .bind(&variant.sku)
        .bind(Json(variant))
        .execute(executor)
        .await
        .map_err(store_error)?;
    Ok(())
}
