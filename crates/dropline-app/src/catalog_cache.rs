//! A short-lived cache of what ingestion and routing read for every order: the store, its
//! suppliers, the variant per SKU and per storefront variant id, and per variant its offers.
//! Without it every order would read the catalogue several times; with it a new order costs
//! one write.
//!
//! Changes made through this [`App`](crate::App) drop the store's entries at once; changes
//! made by another process (another node on the same PostgreSQL) are seen after the
//! time-to-live at the latest.

use crate::ports::{Backend, StoreError};
use dropline_domain::catalog::{Offer, Store as Shop, StoreConnection, Supplier, Variant};
use dropline_domain::ids::{StoreId, VariantId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an entry is trusted.
const TIME_TO_LIVE: Duration = Duration::from_secs(2);
/// Above this many cached SKUs the cache starts over, so memory stays bounded.
const MAX_SKUS: usize = 200_000;

/// A store with its suppliers.
#[derive(Debug)]
pub(crate) struct StoreContext {
    pub store: Shop,
    pub suppliers: Vec<Supplier>,
    /// The platform connection (webhook secrets, credentials).
    pub connection: StoreConnection,
}

/// A SKU's variant, if the store has one.
#[derive(Debug)]
pub(crate) struct SkuEntry {
    pub variant: Option<Variant>,
}

struct Timed<T> {
    loaded: Instant,
    value: Arc<T>,
}

impl<T> Timed<T> {
    fn fresh(&self) -> Option<Arc<T>> {
        (self.loaded.elapsed() < TIME_TO_LIVE).then(|| self.value.clone())
    }
}

/// Entries of one kind, keyed by store and something of the store.
type Entries<K, V> = Mutex<HashMap<(StoreId, K), Timed<V>>>;

#[derive(Default)]
pub(crate) struct CatalogCache {
    stores: Mutex<HashMap<StoreId, Timed<StoreContext>>>,
    skus: Entries<String, SkuEntry>,
    /// Storefront variant id → catalogue variant (or none).
    platform_ids: Entries<String, Option<VariantId>>,
    /// A variant's offers.
    offers: Entries<VariantId, Vec<Offer>>,
}

impl CatalogCache {
    /// The store with its suppliers, or `None` when there is no such store.
    pub async fn store(&self, backend: &dyn Backend, id: StoreId) -> Result<Option<Arc<StoreContext>>, StoreError> {
        if let Some(hit) = self
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .and_then(Timed::fresh)
        {
            return Ok(Some(hit));
        }
        let Some(record) = backend.get_store(id).await? else {
            return Ok(None);
        };
        let suppliers = backend.list_suppliers(Some(id)).await?;
        let value = Arc::new(StoreContext {
            store: record.store,
            suppliers,
            connection: record.connection,
        });
        self.stores.lock().unwrap_or_else(PoisonError::into_inner).insert(
            id,
            Timed {
                loaded: Instant::now(),
                value: value.clone(),
            },
        );
        Ok(Some(value))
    }

    /// The entries of these SKUs of a store, loading the missing ones in two reads.
    pub async fn skus(
        &self,
        backend: &dyn Backend,
        store_id: StoreId,
        skus: &[String],
    ) -> Result<HashMap<String, Arc<SkuEntry>>, StoreError> {
        let mut found = HashMap::with_capacity(skus.len());
        let mut missing = Vec::new();
        {
            let cache = self.skus.lock().unwrap_or_else(PoisonError::into_inner);
            for sku in skus {
                match cache.get(&(store_id, sku.clone())).and_then(Timed::fresh) {
                    Some(entry) => {
                        found.insert(sku.clone(), entry);
                    }
                    None if !missing.contains(sku) => missing.push(sku.clone()),
                    None => {}
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let variants = backend.variants_by_sku(store_id, &missing).await?;
        let now = Instant::now();
        let mut cache = self.skus.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() + missing.len() > MAX_SKUS {
            cache.clear();
        }
        for sku in missing {
            let variant = variants.iter().find(|v| v.sku == sku).cloned();
            let entry = Arc::new(SkuEntry { variant });
            cache.insert(
                (store_id, sku.clone()),
                Timed {
                    loaded: now,
                    value: entry.clone(),
                },
            );
            found.insert(sku, entry);
        }
        Ok(found)
    }

    /// The catalogue variants of these storefront variant ids (those that exist).
    pub async fn platform_variants(
        &self,
        backend: &dyn Backend,
        store_id: StoreId,
        ids: &[String],
    ) -> Result<HashMap<String, VariantId>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let cache = self.platform_ids.lock().unwrap_or_else(PoisonError::into_inner);
            for id in ids {
                match cache.get(&(store_id, id.clone())).and_then(Timed::fresh) {
                    Some(entry) => {
                        if let Some(variant) = *entry {
                            found.insert(id.clone(), variant);
                        }
                    }
                    None if !missing.contains(id) => missing.push(id.clone()),
                    None => {}
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let variants = backend.variants_by_platform_id(store_id, &missing).await?;
        let now = Instant::now();
        let mut cache = self.platform_ids.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() + missing.len() > MAX_SKUS {
            cache.clear();
        }
        for id in missing {
            let variant = variants
                .iter()
                .find(|v| v.platform_variant_id.as_deref() == Some(id.as_str()))
                .map(|v| v.id);
            if let Some(variant) = variant {
                found.insert(id.clone(), variant);
            }
            cache.insert(
                (store_id, id),
                Timed {
                    loaded: now,
                    value: Arc::new(variant),
                },
            );
        }
        Ok(found)
    }

    /// The offers of these variants of a store.
    pub async fn offers(
        &self,
        backend: &dyn Backend,
        store_id: StoreId,
        variant_ids: &[VariantId],
    ) -> Result<Vec<Offer>, StoreError> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        {
            let cache = self.offers.lock().unwrap_or_else(PoisonError::into_inner);
            for id in variant_ids {
                match cache.get(&(store_id, *id)).and_then(Timed::fresh) {
                    Some(offers) => found.extend(offers.iter().cloned()),
                    None if !missing.contains(id) => missing.push(*id),
                    None => {}
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let offers = backend.offers_for_variants(&missing).await?;
        let now = Instant::now();
        let mut cache = self.offers.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() + missing.len() > MAX_SKUS {
            cache.clear();
        }
        for id in missing {
            let mine: Vec<Offer> = offers.iter().filter(|o| o.variant_id == id).cloned().collect();
            found.extend(mine.iter().cloned());
            cache.insert(
                (store_id, id),
                Timed {
                    loaded: now,
                    value: Arc::new(mine),
                },
            );
        }
        Ok(found)
    }

    /// Forgets everything cached of a store (after a change to its catalogue or settings).
    pub fn forget_store(&self, store_id: StoreId) {
        self.stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&store_id);
        self.skus
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(id, _), _| *id != store_id);
        self.platform_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(id, _), _| *id != store_id);
        self.offers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(id, _), _| *id != store_id);
    }
}
