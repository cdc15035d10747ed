//! Stock and prices of a catalogue the suppliers hold: the sync that reads every offer's stock
//! and cost at its supplier, the price monitor and pricing rules, and the listings written to
//! the storefront (only what changed since the last write).

use crate::connected::{is_connected_platform, partner_error, target_of};
use crate::error::AppError;
use crate::ports::{ChangeSet, Job, StoreRecord};
use crate::scope::Scope;
use crate::service::App;
use crate::storefront::{ListingPrice, ListingPush, VariantListing};
use crate::supplier::{StockLevel, SupplierClient, SupplierError, SupplierNotice, SupplierWebhookError};
use dropline_domain::catalog::{Offer, Product, Supplier, Variant};
use dropline_domain::ids::{OfferId, PriceChangeId, StoreId, SupplierId, SyncProblemId, VariantId};
use dropline_domain::inventory::{
    CostPoint, InventorySettings, Listing, OfferReading, PriceChange, PriceChangeStatus, PricingSettings,
    ReadingProblem, StockSyncSummary, SyncProblem, WhenOutOfStock, judge_cost, pricing_cost, sellable_units,
    shown_stock,
};
use dropline_domain::ledger::RateUsed;
use dropline_domain::money::Money;
use dropline_domain::pricing::{ComputedPrice, price_change_needs_approval};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use time::OffsetDateTime;

/// Offers read from storage per page during a sync.
const OFFER_PAGE: u32 = 500;
/// Offers asked of a supplier per call of its connector (which groups them by product).
const SUPPLIER_BATCH: usize = 100;
/// Products written to the storefront per connector call.
const PUSH_BATCH: usize = 50;
/// Variants refreshed per round (their offers, reservations and listings read together).
const REFRESH_BATCH: usize = 1_000;
/// A supplier's 429 asking to wait longer than this ends the sync's pass.
const MAX_WAIT_PER_LIMIT: Duration = Duration::from_secs(10);
/// The waits for a supplier's rate limit during one sync add up to at most this.
const MAX_WAIT_PER_SYNC: Duration = Duration::from_secs(120);
/// How many 429s in a row one batch takes before the sync's pass ends.
const MAX_LIMITED_ATTEMPTS: u32 = 5;
/// The wait after a 429 that names none.
const DEFAULT_LIMIT_WAIT: Duration = Duration::from_secs(1);

/// What a stock and price sync of one supplier did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub supplier_id: SupplierId,
    pub summary: StockSyncSummary,
    /// What writing the storefront's listings did.
    pub listings: ListingReport,
}

/// What refreshing a store's listings did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ListingReport {
    /// Variants whose stock and price were worked out.
    pub variants_checked: u32,
    /// Variants written to the storefront (what changed since the last write).
    pub variants_pushed: u32,
    /// Of those, how many had a new stock level, a new price, a new visibility.
    pub stock_writes: u32,
    pub price_writes: u32,
    pub visibility_writes: u32,
    /// HTTP requests made to the storefront.
    pub requests: u32,
    /// Variants the storefront refused, with its reason.
    pub refused: Vec<(String, String)>,
    /// New prices applied by the rules, and those left for the seller's approval.
    pub prices_applied: u32,
    pub prices_pending: u32,
    /// Why the storefront was not written (no connection, sync off), if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// A variant's stock as dropline sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VariantStock {
    pub variant_id: VariantId,
    pub sku: String,
    /// Per offer: its id, supplier SKU, stock (`None`: unknown) and units per store unit.
    pub offers: Vec<OfferStock>,
    /// What the offers can ship together (`None`: unknown, no limit).
    pub sellable: Option<u32>,
    /// Units accepted orders hold until their supplier orders are placed.
    pub reserved: u32,
    pub safety_buffer: u32,
    /// What the storefront should show.
    pub shown: Option<u32>,
    /// What was last written to the storefront.
    pub listing: Option<Listing>,
}

/// One offer's part of a [`VariantStock`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfferStock {
    pub offer_id: OfferId,
    pub supplier_id: SupplierId,
    pub supplier_sku: String,
    pub stock: Option<u32>,
    pub units: u32,
    pub unit_cost: Money,
}

/// A price the rules would give a variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PriceQuote {
    pub variant_id: VariantId,
    pub product_id: dropline_domain::ids::ProductId,
    pub sku: String,
    pub current: Money,
    pub computed: ComputedPrice,
    pub offer_id: OfferId,
    pub rule_index: usize,
    /// Whether the change would wait for the seller.
    pub needs_approval: bool,
}

/// Why a variant could not be priced by the rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unpriced {
    pub variant_id: VariantId,
    pub sku: String,
    pub reason: String,
}

impl App {
    /// Sets a store's stock-sync settings (the rest of its settings stay).
    pub async fn update_inventory_settings(
        &self,
        scope: Scope,
        store_id: StoreId,
        settings: InventorySettings,
    ) -> Result<StoreRecord, AppError> {
        let mut record = self.get_store(scope, store_id).await?;
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(AppError::Invalid(
                problems
                    .into_iter()
                    .map(|(f, r)| crate::error::FieldError::new(f, r))
                    .collect(),
            ));
        }
        record.store.settings.inventory = settings;
        self.backend.update_store(record.store.clone()).await?;
        self.catalog.forget_store(store_id);
        Ok(record)
    }

    /// Sets a store's pricing rules (the rest of its settings stay). Prices follow at the
    /// next sync, or at once with [`Self::apply_pricing`].
    pub async fn update_pricing_settings(
        &self,
        scope: Scope,
        store_id: StoreId,
        settings: PricingSettings,
    ) -> Result<StoreRecord, AppError> {
        let mut record = self.get_store(scope, store_id).await?;
        check_pricing(&record, &settings)?;
        record.store.settings.pricing = settings;
        self.backend.update_store(record.store.clone()).await?;
        self.catalog.forget_store(store_id);
        Ok(record)
    }

    /// Sets the pricing rules and reprices the catalogue by them now.
    pub async fn apply_pricing(
        &self,
        scope: Scope,
        store_id: StoreId,
        settings: PricingSettings,
    ) -> Result<ListingReport, AppError> {
        self.update_pricing_settings(scope, store_id, settings).await?;
        self.refresh_listings(store_id, None).await
    }

    /// What the rules would price every variant of the store at, written nowhere: the
    /// current catalogue and offers, with `settings` instead of the store's rules.
    pub async fn quote_prices(
        &self,
        scope: Scope,
        store_id: StoreId,
        settings: &PricingSettings,
    ) -> Result<(Vec<PriceQuote>, Vec<Unpriced>), AppError> {
        let record = self.get_store(scope, store_id).await?;
        check_pricing(&record, settings)?;
        let products = self.backend.list_products(Some(store_id)).await?;
        let variant_ids: Vec<VariantId> = products.iter().flat_map(|p| p.variants.iter().map(|v| v.id)).collect();
        let offers = self.offers_by_variant(&variant_ids).await?;
        let mut rates = Rates::default();
        let mut quotes = Vec::new();
        let mut unpriced = Vec::new();
        for product in &products {
            for variant in &product.variants {
                let offers = offers.get(&variant.id).map(Vec::as_slice).unwrap_or_default();
                match self
                    .price_by_rules(&record, settings, product, variant, offers, &mut rates)
                    .await
                {
                    Ok(Some(quote)) => quotes.push(quote),
                    Ok(None) => {}
                    Err(reason) => unpriced.push(Unpriced {
                        variant_id: variant.id,
                        sku: variant.sku.clone(),
                        reason,
                    }),
                }
            }
        }
        Ok((quotes, unpriced))
    }

    /// The price the rules give a variant: `Ok(None)` when no rule covers it or pricing is
    /// off; `Err` with the reason when a rule covers it and cannot price it.
    async fn price_by_rules(
        &self,
        record: &StoreRecord,
        settings: &PricingSettings,
        product: &Product,
        variant: &Variant,
        offers: &[Offer],
        rates: &mut Rates,
    ) -> Result<Option<PriceQuote>, String> {
        if !settings.enabled {
            return Ok(None);
        }
        let Some((rule_index, scoped)) = settings.rule_for(product) else {
            return Ok(None);
        };
        let country = record.store.address.as_ref().map(|a| a.country_code.as_str());
        let Some((offer, cost)) = pricing_cost(offers, country) else {
            return Err("no offer to price it from".into());
        };
        let rate = if cost.unit_cost.currency == scoped.rule.currency {
            None
        } else {
            Some(
                self.rate_now(cost.unit_cost.currency, scoped.rule.currency, rates)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| {
                        format!(
                            "no exchange rate from {} to {} in the rate table",
                            cost.unit_cost.currency, scoped.rule.currency
                        )
                    })?,
            )
        };
        let computed = scoped
            .rule
            .compute_price(&cost, rate.as_ref())
            .map_err(|e| e.to_string())?;
        let needs_approval = price_change_needs_approval(variant.price, computed.price, settings.approval_threshold_bp)
            .map_err(|e| e.to_string())?;
        Ok(Some(PriceQuote {
            variant_id: variant.id,
            product_id: product.id,
            sku: variant.sku.clone(),
            current: variant.price,
            computed,
            offer_id: offer.id,
            rule_index,
            needs_approval,
        }))
    }

    /// Today's rate of the table, read once per pair for a whole repricing.
    async fn rate_now(
        &self,
        from: dropline_domain::money::Currency,
        to: dropline_domain::money::Currency,
        rates: &mut Rates,
    ) -> Result<Option<RateUsed>, AppError> {
        if let Some(known) = rates.0.get(&(from, to)) {
            return Ok(*known);
        }
        let now = self.now();
        let rate = self
            .backend
            .exchange_rate(from, to, now.date())
            .await?
            .map(|rate| rate.used(now));
        rates.0.insert((from, to), rate);
        Ok(rate)
    }

    pub(crate) async fn offers_by_variant(
        &self,
        variant_ids: &[VariantId],
    ) -> Result<HashMap<VariantId, Vec<Offer>>, AppError> {
        let mut by_variant: HashMap<VariantId, Vec<Offer>> = HashMap::new();
        for chunk in variant_ids.chunks(REFRESH_BATCH) {
            for offer in self.backend.offers_for_variants(chunk).await? {
                by_variant.entry(offer.variant_id).or_default().push(offer);
            }
        }
        Ok(by_variant)
    }

    /// Asks for a stock and price sync of a store's suppliers (or one of them) as background
    /// jobs.
    pub async fn request_stock_sync(
        &self,
        scope: Scope,
        store_id: StoreId,
        supplier_id: Option<SupplierId>,
    ) -> Result<u32, AppError> {
        let suppliers = match supplier_id {
            Some(id) => {
                let supplier = self.get_supplier(scope, id).await?;
                if supplier.store_id != store_id {
                    return Err(AppError::NotFound("supplier"));
                }
                vec![supplier]
            }
            None => {
                self.get_store(scope, store_id).await?;
                self.backend.list_suppliers(Some(store_id)).await?
            }
        };
        let now = self.now();
        let jobs: Vec<_> = suppliers
            .iter()
            .map(|s| crate::jobs::stock_sync_job(s.id, s.store_id, now))
            .collect();
        let count = jobs.len() as u32;
        self.backend
            .commit(ChangeSet {
                jobs,
                ..ChangeSet::default()
            })
            .await?;
        Ok(count)
    }

    /// The scheduled part: a sync job for every supplier of a store that syncs whose last
    /// sync is older than the store's interval. Returns the jobs queued.
    pub async fn schedule_stock_syncs(&self) -> Result<u32, AppError> {
        let now = self.now();
        let mut jobs = Vec::new();
        for record in self.backend.list_stores().await? {
            let settings = &record.store.settings.inventory;
            if !settings.sync {
                continue;
            }
            let every = time::Duration::minutes(i64::from(settings.sync_every_minutes));
            for supplier in self.backend.list_suppliers(Some(record.store.id)).await? {
                let due = supplier
                    .last_stock_sync
                    .as_ref()
                    .is_none_or(|last| last.at + every <= now);
                if due {
                    jobs.push(crate::jobs::stock_sync_job(supplier.id, supplier.store_id, now));
                }
            }
        }
        let count = jobs.len() as u32;
        if count > 0 {
            self.backend
                .commit(ChangeSet {
                    jobs,
                    ..ChangeSet::default()
                })
                .await?;
        }
        Ok(count)
    }

    /// The `stock_sync` job.
    pub(crate) async fn stock_sync_job(
        &self,
        job: &Job,
        supplier_id: SupplierId,
        only: Option<SupplierNotice>,
    ) -> Result<(), AppError> {
        match self.sync_offers(Scope::Operator, supplier_id, only.as_ref()).await {
            Ok(_) | Err(AppError::NotFound(_)) | Err(AppError::Invalid(_)) => self.finish_job(job).await,
            Err(err) => Err(err),
        }
    }

    /// Reads the stock and cost of every offer of a supplier at the supplier, applies what
    /// can be trusted (the rest becomes sync problems), reprices by the store's rules and
    /// writes what changed to the storefront. Suppliers without an API only have their
    /// listings refreshed (their stock comes from price lists).
    pub async fn sync_stock(&self, scope: Scope, supplier_id: SupplierId) -> Result<SyncReport, AppError> {
        self.sync_offers(scope, supplier_id, None).await
    }

    /// Takes a supplier's webhook message (its signature checked first): the products and
    /// variants it names are read again from the supplier by a `stock_sync` job, so the
    /// message itself is never applied. Returns whether a job was queued (messages about
    /// orders name nothing to sync).
    pub async fn receive_supplier_webhook(
        &self,
        supplier_id: SupplierId,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<bool, AppError> {
        let supplier = self
            .backend
            .get_supplier(supplier_id)
            .await?
            .ok_or(AppError::NotFound("supplier"))?;
        let client = self
            .suppliers
            .clone()
            .ok_or_else(|| AppError::PartnerRefused("no supplier connector".into()))?;
        let notice = client.read_webhook(&supplier, headers, body).map_err(|err| match err {
            // Nothing is told to an unsigned caller beyond "refused".
            SupplierWebhookError::Unauthorized(reason) | SupplierWebhookError::Unsupported(reason) => {
                AppError::Unauthorized(reason)
            }
            SupplierWebhookError::Malformed(reason) => AppError::invalid("body", reason),
        })?;
        if notice.is_empty() {
            return Ok(false);
        }
        let job = crate::jobs::stock_notice_job(supplier.id, supplier.store_id, &notice, self.now());
        self.backend
            .commit(ChangeSet {
                jobs: vec![job],
                ..ChangeSet::default()
            })
            .await?;
        Ok(true)
    }

    /// [`Self::sync_stock`] of every offer, or only of the offers of the products and variants
    /// a webhook named (which leaves the schedule of the full sync as it is).
    pub async fn sync_offers(
        &self,
        scope: Scope,
        supplier_id: SupplierId,
        only: Option<&SupplierNotice>,
    ) -> Result<SyncReport, AppError> {
        let mut supplier = self.get_supplier(scope, supplier_id).await?;
        let now = self.now();
        let mut summary = StockSyncSummary {
            at: now,
            offers_read: 0,
            stock_changed: 0,
            costs_changed: 0,
            problems: 0,
            variants_pushed: 0,
            prices_pending: 0,
            error: None,
        };
        let client = self.suppliers.clone().filter(|c| c.places(supplier.kind));
        let mut touched: Vec<VariantId> = Vec::new();
        let mut open = self.open_problem_keys(supplier.store_id).await?;
        let mut waited = Duration::ZERO;
        let mut after = None;
        let mut failure = None;
        loop {
            let page = self.backend.offers_of_supplier(supplier.id, after, OFFER_PAGE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.id);
            let full_page = page.len() >= OFFER_PAGE as usize;
            let page: Vec<Offer> = match only {
                None => page,
                Some(notice) => page
                    .into_iter()
                    .filter(|o| {
                        o.supplier_product_id
                            .as_ref()
                            .is_some_and(|p| notice.product_ids.contains(p))
                            || o.supplier_variant_id
                                .as_ref()
                                .is_some_and(|v| notice.variant_ids.contains(v))
                    })
                    .collect(),
            };
            touched.extend(page.iter().map(|o| o.variant_id));
            let Some(client) = &client else {
                if !full_page {
                    break;
                }
                continue;
            };
            for batch in page.chunks(SUPPLIER_BATCH) {
                let levels = match read_levels(client.as_ref(), &supplier, batch, &mut waited).await {
                    Ok(levels) => levels,
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                };
                summary.offers_read += batch.len() as u32;
                let (readings, problems) = judge_levels(&supplier, batch, &levels, now);
                for problem in problems {
                    summary.problems += 1;
                    let key = problem_key(&problem);
                    if open.insert(key) {
                        self.backend.insert_sync_problem(&problem).await?;
                    }
                }
                for reading in &readings {
                    let Some(offer) = batch.iter().find(|o| o.id == reading.offer_id) else {
                        continue;
                    };
                    if offer.stock != Some(reading.stock) {
                        summary.stock_changed += 1;
                    }
                    if reading.unit_cost.is_some_and(|c| c != offer.unit_cost) {
                        summary.costs_changed += 1;
                    }
                }
                self.backend.apply_offer_readings(&readings).await?;
            }
            if failure.is_some() || !full_page {
                break;
            }
        }
        self.catalog.forget_store(supplier.store_id);
        touched.sort_unstable();
        touched.dedup();
        let listings = if touched.is_empty() {
            ListingReport::default()
        } else {
            match self.refresh_listings(supplier.store_id, Some(touched)).await {
                Ok(report) => report,
                Err(err) => ListingReport {
                    skipped: Some(err.to_string()),
                    ..ListingReport::default()
                },
            }
        };
        summary.variants_pushed = listings.variants_pushed;
        summary.prices_pending = listings.prices_pending;
        summary.error = failure
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| listings.skipped.clone());
        if only.is_none() {
            supplier.last_stock_sync = Some(summary.clone());
            self.backend.update_supplier(supplier.clone()).await?;
            self.catalog.forget_store(supplier.store_id);
        }
        if let Some(err) = failure
            && err.is_retryable()
        {
            // The job runs again later; what was read so far is applied.
            return Err(AppError::RetryLater {
                reason: err.to_string(),
                after: match err {
                    SupplierError::RateLimited { retry_after } => retry_after,
                    _ => None,
                },
            });
        }
        Ok(SyncReport {
            supplier_id,
            summary,
            listings,
        })
    }

    async fn open_problem_keys(&self, store_id: StoreId) -> Result<HashSet<String>, AppError> {
        Ok(self
            .backend
            .list_sync_problems(Some(store_id), true, 10_000)
            .await?
            .iter()
            .map(problem_key)
            .collect())
    }

    /// Works out the stock and price of a store's variants (all of them: `None`), applies
    /// new prices by the store's rules (or leaves them for approval), and writes to the
    /// storefront what differs from what was last written there.
    pub async fn refresh_listings(
        &self,
        store_id: StoreId,
        variants: Option<Vec<VariantId>>,
    ) -> Result<ListingReport, AppError> {
        let record = self
            .backend
            .get_store(store_id)
            .await?
            .ok_or(AppError::NotFound("store"))?;
        let products = self.backend.list_products(Some(store_id)).await?;
        let wanted: Option<HashSet<VariantId>> = variants.map(|v| v.into_iter().collect());
        let mut report = ListingReport::default();
        let pending: Vec<PriceChange> = self
            .backend
            .list_price_changes(Some(store_id), Some(PriceChangeStatus::Pending), 100_000)
            .await?;
        let pushing = record.store.settings.inventory.sync && is_connected_platform(record.store.platform);
        if !pushing {
            report.skipped = Some(if record.store.settings.inventory.sync {
                format!("a {} store has no storefront to write to", record.store.platform)
            } else {
                "stock sync is off for this store".into()
            });
        }
        // Whole products are refreshed together: visibility is decided per product.
        let selected: Vec<&Product> = products
            .iter()
            .filter(|p| {
                wanted
                    .as_ref()
                    .is_none_or(|w| p.variants.iter().any(|v| w.contains(&v.id)))
            })
            .collect();
        let mut rates = Rates::default();
        let mut batch: Vec<&Product> = Vec::new();
        let mut batch_variants = 0;
        for product in selected {
            batch_variants += product.variants.len();
            batch.push(product);
            if batch_variants >= REFRESH_BATCH {
                self.refresh_products(&record, &batch, &pending, pushing, &mut report, &mut rates)
                    .await?;
                batch.clear();
                batch_variants = 0;
            }
        }
        if !batch.is_empty() {
            self.refresh_products(&record, &batch, &pending, pushing, &mut report, &mut rates)
                .await?;
        }
        Ok(report)
    }

    async fn refresh_products(
        &self,
        record: &StoreRecord,
        products: &[&Product],
        pending: &[PriceChange],
        pushing: bool,
        report: &mut ListingReport,
        rates: &mut Rates,
    ) -> Result<(), AppError> {
        let settings = &record.store.settings;
        let now = self.now();
        let ids: Vec<VariantId> = products.iter().flat_map(|p| p.variants.iter().map(|v| v.id)).collect();
        let offers = self.offers_by_variant(&ids).await?;
        let reserved: HashMap<VariantId, u32> = self.backend.reserved_units(&ids).await?.into_iter().collect();
        let listings: HashMap<VariantId, Listing> = self
            .backend
            .listings(&ids)
            .await?
            .into_iter()
            .map(|l| (l.variant_id, l))
            .collect();
        let mut pushes: Vec<ListingPush> = Vec::new();
        let mut written: Vec<Listing> = Vec::new();
        for product in products {
            let mut variant_pushes = Vec::new();
            let mut product_listings = Vec::new();
            let mut any_in_stock = false;
            let mut all_known = true;
            for variant in &product.variants {
                report.variants_checked += 1;
                let offers = offers.get(&variant.id).map(Vec::as_slice).unwrap_or_default();
                let shown = shown_stock(
                    offers,
                    reserved.get(&variant.id).copied().unwrap_or(0),
                    settings.inventory.safety_buffer,
                );
                match shown {
                    Some(units) => any_in_stock |= units > 0,
                    None => all_known = false,
                }
                let price = self
                    .reprice(record, product, variant, offers, pending, report, rates, now)
                    .await?;
                let listing = listings.get(&variant.id);
                let stock_changed = shown.is_some() && listing.is_none_or(|l| l.stock != shown);
                let price_changed =
                    listing.is_none_or(|l| l.price != Some(price.price) || l.compare_at != price.compare_at);
                product_listings.push((variant, shown, price.clone(), stock_changed, price_changed));
            }
            let published = match settings.inventory.when_out {
                WhenOutOfStock::Unpublish => Some(any_in_stock || !all_known),
                WhenOutOfStock::ShowZero => None,
            };
            let was_published = product
                .variants
                .iter()
                .find_map(|v| listings.get(&v.id).and_then(|l| l.published));
            let visibility_changed = published.is_some() && published != was_published.or(Some(true));
            for (variant, shown, price, stock_changed, price_changed) in product_listings {
                if !stock_changed && !price_changed {
                    continue;
                }
                let Some(platform_variant_id) = variant.platform_variant_id.clone() else {
                    continue;
                };
                report.stock_writes += u32::from(stock_changed);
                report.price_writes += u32::from(price_changed);
                variant_pushes.push(VariantListing {
                    platform_variant_id,
                    sku: variant.sku.clone(),
                    stock: shown.filter(|_| stock_changed),
                    price: price_changed.then_some(price.clone()),
                });
                written.push(Listing {
                    variant_id: variant.id,
                    store_id: record.store.id,
                    stock: shown,
                    price: Some(price.price),
                    compare_at: price.compare_at,
                    published: published.or(was_published),
                    updated_at: now,
                });
            }
            if visibility_changed {
                report.visibility_writes += 1;
                for variant in &product.variants {
                    if !written.iter().any(|l| l.variant_id == variant.id) {
                        let mut listing = listings.get(&variant.id).cloned().unwrap_or(Listing {
                            variant_id: variant.id,
                            store_id: record.store.id,
                            stock: None,
                            price: None,
                            compare_at: None,
                            published: None,
                            updated_at: now,
                        });
                        listing.published = published;
                        listing.updated_at = now;
                        written.push(listing);
                    }
                }
            }
            if variant_pushes.is_empty() && !visibility_changed {
                continue;
            }
            let Some(platform_product_id) = product.platform_product_id.clone() else {
                continue;
            };
            report.variants_pushed += variant_pushes.len() as u32;
            pushes.push(ListingPush {
                platform_product_id,
                published: published.filter(|_| visibility_changed),
                variants: variant_pushes,
            });
        }
        if !pushing || pushes.is_empty() {
            // Nothing is written to the storefront, so nothing is recorded as written.
            if !pushing {
                report.variants_pushed = 0;
                report.stock_writes = 0;
                report.price_writes = 0;
                report.visibility_writes = 0;
            }
            return Ok(());
        }
        let client = self
            .storefronts
            .clone()
            .ok_or_else(|| AppError::PartnerRefused("no storefront connector".into()))?;
        let target = target_of(&record.store, &record.connection)?;
        let mut refused_ids = HashSet::new();
        for chunk in pushes.chunks(PUSH_BATCH) {
            let receipt = client.push_listings(&target, chunk).await.map_err(partner_error)?;
            report.requests += receipt.requests;
            for (id, reason) in receipt.refused {
                refused_ids.insert(id.clone());
                report.refused.push((id, reason));
            }
        }
        let platform_ids: HashMap<VariantId, &str> = products
            .iter()
            .flat_map(|p| p.variants.iter())
            .filter_map(|v| Some((v.id, v.platform_variant_id.as_deref()?)))
            .collect();
        written.retain(|l| {
            platform_ids
                .get(&l.variant_id)
                .is_none_or(|id| !refused_ids.contains(*id))
        });
        self.backend.save_listings(&written).await?;
        Ok(())
    }

    /// The price the storefront should show for a variant now: a new price by the store's
    /// rules when they give one (recorded as a price change, applied or left for approval),
    /// else the catalogue's.
    #[allow(clippy::too_many_arguments)]
    async fn reprice(
        &self,
        record: &StoreRecord,
        product: &Product,
        variant: &Variant,
        offers: &[Offer],
        pending: &[PriceChange],
        report: &mut ListingReport,
        rates: &mut Rates,
        now: OffsetDateTime,
    ) -> Result<ListingPrice, AppError> {
        let pricing = &record.store.settings.pricing;
        let current = ListingPrice {
            price: variant.price,
            compare_at: None,
        };
        let quote = match self
            .price_by_rules(record, pricing, product, variant, offers, rates)
            .await
        {
            Ok(Some(quote)) => quote,
            Ok(None) | Err(_) => return Ok(current),
        };
        let compare_at = quote.computed.compare_at;
        if quote.computed.price == variant.price {
            return Ok(ListingPrice {
                price: variant.price,
                compare_at,
            });
        }
        let waiting = pending
            .iter()
            .any(|p| p.variant_id == variant.id && p.new_price == quote.computed.price);
        if waiting {
            return Ok(current);
        }
        let offer = offers.iter().find(|o| o.id == quote.offer_id);
        let history = self.backend.cost_history(quote.offer_id, 1).await?;
        let cost_after = offer.map_or(quote.computed.reason.unit_cost, |o| o.unit_cost);
        let cost_before = history.first().and_then(|p| p.previous);
        let status = if quote.needs_approval {
            PriceChangeStatus::Pending
        } else {
            PriceChangeStatus::Applied
        };
        let change = PriceChange {
            id: PriceChangeId::new(),
            store_id: record.store.id,
            variant_id: variant.id,
            product_id: product.id,
            sku: variant.sku.clone(),
            old_price: variant.price,
            new_price: quote.computed.price,
            compare_at,
            offer_id: quote.offer_id,
            cost_before,
            cost_after,
            rule_index: quote.rule_index,
            scope: pricing.rules[quote.rule_index].scope.clone(),
            computed: quote.computed.reason.clone(),
            status,
            created_at: now,
            decided_at: (status == PriceChangeStatus::Applied).then_some(now),
            decided_by: (status == PriceChangeStatus::Applied).then(|| "rule".to_string()),
        };
        self.backend.record_price_change(&change).await?;
        if quote.needs_approval {
            report.prices_pending += 1;
            Ok(current)
        } else {
            report.prices_applied += 1;
            Ok(ListingPrice {
                price: quote.computed.price,
                compare_at,
            })
        }
    }

    /// A variant's stock: its offers, what accepted orders hold, the buffer and what the
    /// storefront shows.
    pub async fn variant_stock(&self, scope: Scope, variant_id: VariantId) -> Result<VariantStock, AppError> {
        let (product, variant) = self.get_variant(scope, variant_id).await?;
        let record = self.get_store(scope, product.store_id).await?;
        let offers = self.backend.offers_for_variants(&[variant_id]).await?;
        let reserved = self
            .backend
            .reserved_units(&[variant_id])
            .await?
            .into_iter()
            .map(|(_, units)| units)
            .sum();
        let buffer = record.store.settings.inventory.safety_buffer;
        let listing = self.backend.listings(&[variant_id]).await?.pop();
        Ok(VariantStock {
            variant_id,
            sku: variant.sku,
            sellable: sellable_units(&offers),
            shown: shown_stock(&offers, reserved, buffer),
            offers: offers
                .iter()
                .map(|o| OfferStock {
                    offer_id: o.id,
                    supplier_id: o.supplier_id,
                    supplier_sku: o.supplier_sku.clone(),
                    stock: o.stock,
                    units: o.units,
                    unit_cost: o.unit_cost,
                })
                .collect(),
            reserved,
            safety_buffer: buffer,
            listing,
        })
    }

    /// An offer's cost history, newest first.
    pub async fn cost_history(&self, scope: Scope, offer_id: OfferId, limit: u32) -> Result<Vec<CostPoint>, AppError> {
        self.get_offer(scope, offer_id).await?;
        Ok(self.backend.cost_history(offer_id, limit.clamp(1, 1000)).await?)
    }

    /// The price changes of a store (all stores the caller may see: `None`).
    pub async fn list_price_changes(
        &self,
        scope: Scope,
        store_id: Option<StoreId>,
        status: Option<PriceChangeStatus>,
        limit: u32,
    ) -> Result<Vec<PriceChange>, AppError> {
        let store_id = scope.store_filter(store_id);
        Ok(self
            .backend
            .list_price_changes(store_id, status, limit.clamp(1, 1000))
            .await?)
    }

    pub async fn get_price_change(&self, scope: Scope, id: PriceChangeId) -> Result<PriceChange, AppError> {
        match self.backend.get_price_change(id).await? {
            Some(change) if scope.allows(change.store_id) => Ok(change),
            _ => Err(AppError::NotFound("price change")),
        }
    }

    /// The seller approves a price waiting for approval: the variant takes it and the
    /// storefront is written.
    pub async fn approve_price_change(
        &self,
        scope: Scope,
        id: PriceChangeId,
        by: &str,
    ) -> Result<PriceChange, AppError> {
        let change = self.decide(scope, id, PriceChangeStatus::Applied, by).await?;
        self.catalog.forget_store(change.store_id);
        self.refresh_listings(change.store_id, Some(vec![change.variant_id]))
            .await?;
        Ok(change)
    }

    /// The seller refuses a price waiting for approval: the price stays.
    pub async fn reject_price_change(
        &self,
        scope: Scope,
        id: PriceChangeId,
        by: &str,
    ) -> Result<PriceChange, AppError> {
        self.decide(scope, id, PriceChangeStatus::Rejected, by).await
    }

    async fn decide(
        &self,
        scope: Scope,
        id: PriceChangeId,
        status: PriceChangeStatus,
        by: &str,
    ) -> Result<PriceChange, AppError> {
        let mut change = self.get_price_change(scope, id).await?;
        if change.status != PriceChangeStatus::Pending {
            return Err(AppError::Conflict(format!(
                "the price change is {}, not pending",
                change.status
            )));
        }
        change.status = status;
        change.decided_at = Some(self.now());
        change.decided_by = Some(by.to_string());
        self.backend.decide_price_change(&change).await?;
        Ok(change)
    }

    /// A store's sync problems (open ones only, or all).
    pub async fn list_sync_problems(
        &self,
        scope: Scope,
        store_id: Option<StoreId>,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<SyncProblem>, AppError> {
        let store_id = scope.store_filter(store_id);
        Ok(self
            .backend
            .list_sync_problems(store_id, open_only, limit.clamp(1, 1000))
            .await?)
    }

    /// Marks a sync problem dealt with.
    pub async fn resolve_sync_problem(&self, scope: Scope, id: SyncProblemId) -> Result<(), AppError> {
        let store_id = scope.store_filter(None);
        let known = self
            .backend
            .list_sync_problems(store_id, true, 10_000)
            .await?
            .into_iter()
            .any(|p| p.id == id && scope.allows(p.store_id));
        if !known || !self.backend.resolve_sync_problem(id, self.now()).await? {
            return Err(AppError::NotFound("open sync problem"));
        }
        Ok(())
    }
}

/// The exchange rates read during one repricing, by (from, to).
#[derive(Default)]
struct Rates(HashMap<(dropline_domain::money::Currency, dropline_domain::money::Currency), Option<RateUsed>>);

fn check_pricing(record: &StoreRecord, settings: &PricingSettings) -> Result<(), AppError> {
    let problems = settings.problems(record.store.currency);
    if problems.is_empty() {
        return Ok(());
    }
    Err(AppError::Invalid(
        problems
            .into_iter()
            .map(|(f, r)| crate::error::FieldError::new(f, r))
            .collect(),
    ))
}

/// The same problem of the same SKU is recorded once while it is open.
fn problem_key(problem: &SyncProblem) -> String {
    let kind = serde_json::to_value(&problem.problem)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_default();
    format!("{}|{}|{}", problem.supplier_id, problem.supplier_sku, kind)
}

/// Asks the supplier for a batch's stock. A 429 is a normal part of a long sync (the
/// supplier counts its window from when calls arrive, dropline paces them from when they
/// leave, and a few milliseconds between the two are enough): a short wait is waited out and
/// the batch asked again while the sync's budget lasts, instead of giving up a pass of
/// thousands of calls that would start again from the first offer.
async fn read_levels(
    client: &dyn SupplierClient,
    supplier: &Supplier,
    batch: &[Offer],
    waited: &mut Duration,
) -> Result<Vec<StockLevel>, SupplierError> {
    let mut limited = 0;
    loop {
        match client.stock(supplier, batch).await {
            Err(SupplierError::RateLimited { retry_after }) => {
                limited += 1;
                let wait = retry_after.unwrap_or(DEFAULT_LIMIT_WAIT);
                if limited >= MAX_LIMITED_ATTEMPTS || wait > MAX_WAIT_PER_LIMIT || *waited + wait > MAX_WAIT_PER_SYNC {
                    return Err(SupplierError::RateLimited { retry_after });
                }
                tracing::debug!(
                    supplier_id = %supplier.id,
                    wait_ms = wait.as_millis() as u64,
                    "rate limited during a stock sync: waiting"
                );
                *waited += wait;
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// Sorts a supplier's answer for a batch of offers into readings to apply and problems:
/// an answer that could not be read, a SKU the supplier no longer knows (its stock is set to
/// zero: nothing can be ordered), an odd cost (the stock is applied, the cost is not), and
/// an offer the supplier said nothing of.
fn judge_levels(
    supplier: &Supplier,
    offers: &[Offer],
    levels: &[StockLevel],
    now: OffsetDateTime,
) -> (Vec<OfferReading>, Vec<SyncProblem>) {
    let mut readings = Vec::new();
    let mut problems = Vec::new();
    let problem = |offer: &Offer, problem: ReadingProblem| SyncProblem {
        id: SyncProblemId::new(),
        store_id: supplier.store_id,
        supplier_id: supplier.id,
        offer_id: Some(offer.id),
        supplier_sku: offer.supplier_sku.clone(),
        problem,
        at: now,
        resolved_at: None,
    };
    for offer in offers {
        let Some(level) = levels.iter().find(|l| l.supplier_sku == offer.supplier_sku) else {
            problems.push(problem(
                offer,
                ReadingProblem::Malformed {
                    detail: "the supplier's answer has nothing for this SKU".into(),
                },
            ));
            continue;
        };
        if let Some(detail) = &level.problem {
            problems.push(problem(offer, ReadingProblem::Malformed { detail: detail.clone() }));
            continue;
        }
        let Some(available) = level.available else {
            problems.push(problem(
                offer,
                ReadingProblem::UnknownSku {
                    sku: offer.supplier_sku.clone(),
                },
            ));
            readings.push(OfferReading {
                offer_id: offer.id,
                stock: 0,
                unit_cost: None,
                at: now,
            });
            continue;
        };
        let unit_cost = match level.unit_cost {
            Some(cost) if cost == offer.unit_cost => None,
            Some(cost) => match judge_cost(offer.unit_cost, cost) {
                Ok(()) => Some(cost),
                Err(reading_problem) => {
                    problems.push(problem(offer, reading_problem));
                    None
                }
            },
            None => None,
        };
        readings.push(OfferReading {
            offer_id: offer.id,
            stock: available,
            unit_cost,
            at: now,
        });
    }
    // Answers for SKUs that were not asked are ignored: nothing of them is applied.
    (readings, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::catalog::{OfferPriority, SupplierKind};
    use dropline_domain::money::Currency;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("USD"))
    }

    fn offer(sku: &str) -> Offer {
        Offer {
            id: OfferId::new(),
            variant_id: VariantId::new(),
            supplier_id: SupplierId::new(),
            supplier_sku: sku.into(),
            supplier_product_id: None,
            supplier_variant_id: None,
            product_url: None,
            unit_cost: usd(1000),
            stock: Some(5),
            shipping: vec![],
            priority: OfferPriority::Primary,
            units: 1,
        }
    }

    fn level(sku: &str, available: Option<u32>, cost: Option<i64>, problem: Option<&str>) -> StockLevel {
        StockLevel {
            supplier_sku: sku.into(),
            available,
            unit_cost: cost.map(usd),
            problem: problem.map(str::to_string),
        }
    }

    #[test]
    fn only_trusted_readings_are_applied() {
        let supplier = Supplier {
            id: SupplierId::new(),
            store_id: StoreId::new(),
            name: "CJ".into(),
            kind: SupplierKind::Cj,
            ships_from: None,
            processing_days: 2,
            rating: 90,
            processing_deadline_days: None,
            connection: Default::default(),
            last_reconciliation: None,
            agent_layout: None,
            return_policy: Default::default(),
            last_stock_sync: None,
        };
        let offers = [offer("A"), offer("B"), offer("C"), offer("D"), offer("E"), offer("F")];
        let levels = [
            level("A", Some(7), Some(1100), None),
            level("B", None, None, None),
            level("C", Some(3), Some(100_000), None),
            level("D", None, None, Some("stock -4")),
            level("F", Some(0), Some(1000), None),
            level("Z", Some(9), Some(10), None),
        ];
        let now = OffsetDateTime::UNIX_EPOCH;
        let (readings, problems) = judge_levels(&supplier, &offers, &levels, now);
        let reading = |i: usize| readings.iter().find(|r| r.offer_id == offers[i].id);
        assert_eq!(reading(0).map(|r| (r.stock, r.unit_cost)), Some((7, Some(usd(1100)))));
        assert_eq!(
            reading(1).map(|r| r.stock),
            Some(0),
            "an unknown SKU can no longer be ordered"
        );
        assert_eq!(
            reading(2).map(|r| (r.stock, r.unit_cost)),
            Some((3, None)),
            "the odd cost is not applied"
        );
        assert!(reading(3).is_none(), "an unreadable answer applies nothing");
        assert!(reading(4).is_none(), "no answer applies nothing");
        assert_eq!(reading(5).map(|r| (r.stock, r.unit_cost)), Some((0, None)));
        let kinds: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| {
                let kind = match &p.problem {
                    ReadingProblem::Malformed { .. } => "malformed",
                    ReadingProblem::UnknownSku { .. } => "unknown_sku",
                    ReadingProblem::AbsurdCost { .. } => "absurd_cost",
                    _ => "other",
                };
                (p.supplier_sku.as_str(), kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("B", "unknown_sku"),
                ("C", "absurd_cost"),
                ("D", "malformed"),
                ("E", "malformed")
            ]
        );
    }
}
