//! `dropline bench-sync`: a stock and price sync of a large mapped catalogue against the CJ
//! simulator and a storefront simulator (WooCommerce or Shopify), all in this process, on a
//! fresh embedded SQLite database.
//!
//! The catalogue has the same shape at CJ, in dropline and at the storefront: N products of
//! M variants, each dropline variant mapped to one CJ variant by one primary offer and to its
//! storefront variant by its platform id. Prices follow a pricing rule from CJ's cost. Three
//! syncs are measured: the first writes everything (nothing was written before: the
//! baseline); then CJ's catalogue drifts (`--drift-bp`) and the second sync must write
//! exactly the variants whose shown stock or price changed; the third, with no drift, must
//! write nothing. The storefront's values are read before and after each sync, so a write of
//! a value the storefront already showed (wasted rate limit) is counted, not assumed away.
//!
//! CJ answers at most `--supplier-rate` requests over any sliding second (429 above) and the
//! supplier's connection paces dropline at `--pacing-rate` (by default the same rate: the
//! pacer spaces calls 2 % wider than the rate it is given, since CJ counts calls when they
//! arrive and dropline spaces them when they leave). A sync's wall time is bound below by its
//! CJ requests over the pacing rate; the report gives the same floor at CJ's real account levels (1 to 6
//! requests a second) from the request count. The default of 100 requests a second is the
//! most a supplier connection takes, and the only kind of rate at which 10,000 products (two
//! CJ requests each) can be read in under the five minutes.

use crate::config::Settings;
use crate::database::open_sqlite;
use crate::output;
use anyhow::Context;
use clap::{Args, ValueEnum};
use dropline_app::inventory::SyncReport;
use dropline_app::{App, NewStore, NewSupplier, Scope};
use dropline_domain::catalog::{
    Offer, OfferPriority, Platform, Product, ShippingMethod, StoreConnection, StoreSettings, SupplierConnection,
    SupplierKind, Variant,
};
use dropline_domain::ids::{OfferId, ProductId, StoreId, SupplierId, VariantId};
use dropline_domain::inventory::{
    InventorySettings, PricingScope, PricingSettings, ScopedRule, WhenOutOfStock, judge_cost,
};
use dropline_domain::money::{Currency, Money};
use dropline_domain::pricing::{PricingRule, Rounding, ShippingInPrice, SupplierCost};
use dropline_sim::{CjSim, CjVariant, ProductIds, ShopifySim, SimConfig, SimError, SimProduct, WooCommerceSim};
use dropline_store_sqlite::SqliteOptions;
use serde::Serialize;
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Products imported into dropline per transaction.
const IMPORT_BATCH: usize = 1_000;
/// Offers inserted at once (the SQLite writer commits them in batches).
const OFFERS_IN_FLIGHT: usize = 1_024;
/// The sync target of the issue: the whole catalogue in under five minutes.
const TARGET_SECONDS: f64 = 300.0;
/// CJ's account levels: requests a second (its rate-limit page; dropline's own cap is 100).
const CJ_LEVELS: [u32; 6] = [1, 2, 3, 4, 5, 6];
/// Shipping of every offer, US cents: the pricing rule includes it in the landed cost.
const SHIPPING_CENTS: i64 = 200;

#[derive(Debug, Args)]
pub struct BenchSyncArgs {
    /// Variants in the catalogue, rounded up to whole products
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    variants: u64,
    /// Variants per product (CJ's stock is read per product: two requests a product)
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    variants_per_product: u64,
    /// Share of CJ's variants moved between the first and the second sync, in basis points
    /// (500: 5 %): stock out, back or changed, prices up or down, a few absurd prices
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    drift_bp: u32,
    /// CJ's rate limit, requests a second over a sliding second: the simulator answers 429
    /// above it. 100 is the most a supplier connection takes; CJ's real account levels are 1
    /// to 6 (the report gives the wall time they imply from the request count)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    supplier_rate: u32,
    /// The supplier connection's `requests_per_second`, the rate dropline paces its CJ calls
    /// to (spaced 2 % wider) [default: --supplier-rate]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pacing_rate: Option<u32>,
    /// The storefront written to: WooCommerce takes a product's variations in one request,
    /// Shopify needs requests per variant
    #[arg(long, value_enum, default_value_t = StorefrontKind::Woocommerce)]
    storefront: StorefrontKind,
    /// Seed of the simulators' catalogues and of the drift
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the benchmark database afterwards (it is deleted by default)
    #[arg(long)]
    keep: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
enum StorefrontKind {
    Woocommerce,
    Shopify,
}

impl StorefrontKind {
    fn label(self) -> &'static str {
        match self {
            Self::Woocommerce => "WooCommerce",
            Self::Shopify => "Shopify",
        }
    }
}

/// The whole benchmark.
#[derive(Debug, Serialize)]
struct SyncBenchReport {
    database: String,
    storefront: StorefrontKind,
    products: u64,
    variants: u64,
    variants_per_product: u64,
    supplier_rate: u32,
    pacing_rate: u32,
    drift_bp: u32,
    setup: SetupReport,
    /// The first sync, the sync after the drift, the sync without drift.
    phases: Vec<PhaseReport>,
    drift: DriftReport,
    /// The drift sync's CJ requests at each of CJ's account levels: (requests a second,
    /// seconds of pacing alone, seconds with dropline's own time of this run added).
    at_cj_levels: Vec<LevelEstimate>,
    /// The drift sync took under five minutes and wrote only real changes.
    target_met: bool,
    /// Peak resident memory of the whole process (both simulators included), KiB.
    peak_memory_kib: u64,
}

#[derive(Debug, Serialize)]
struct SetupReport {
    /// Seeding both simulators' catalogues.
    simulators_seconds: f64,
    /// Importing the catalogue into dropline (the storefront's ids, prices by the rule).
    import_seconds: f64,
    /// Inserting one offer per variant.
    offers_seconds: f64,
    /// Resident memory once set up, before the first sync, KiB.
    rss_kib: u64,
}

/// One measured sync.
#[derive(Debug, Serialize)]
struct PhaseReport {
    name: &'static str,
    seconds: f64,
    /// CJ requests (token included) and those refused for the rate limit.
    supplier_requests: u64,
    supplier_rate_limited: u64,
    /// The pacing floor: supplier requests over the pacing rate.
    supplier_floor_seconds: f64,
    /// Requests the storefront simulator answered, and those that reached a listing write.
    storefront_requests: u64,
    storefront_listing_writes: u64,
    offers_read: u32,
    stock_changed: u32,
    costs_changed: u32,
    /// Readings not applied (absurd prices and the like), counted per sync.
    problems: u32,
    variants_checked: u32,
    variants_pushed: u32,
    stock_writes: u32,
    price_writes: u32,
    prices_applied: u32,
    prices_pending: u32,
    refused: usize,
    /// Variants whose stock or price at the storefront differs after the sync.
    changed_at_storefront: u64,
    /// Of the variants pushed, the share that really changed at the storefront.
    real_change_share: f64,
    /// Variants whose storefront stock or price differs from what CJ's values and the
    /// pricing rule give (0 when the storefront is in line with the supplier).
    out_of_line: u64,
    /// Peak resident memory during the sync, KiB (of the whole process when the kernel
    /// cannot reset the peak).
    peak_rss_kib: u64,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct DriftReport {
    /// CJ variants the drift moved.
    moved_at_supplier: u64,
    /// Of those, how many now show a different stock or price at the storefront.
    changed_at_storefront: u64,
    /// Variants the drift sync wrote.
    pushed: u32,
    /// Pushes of a value the storefront already showed (wasted rate limit).
    wasted_pushes: u64,
    /// Readings refused (absurd prices), the prices they would have moved left as they were.
    problems: u32,
}

#[derive(Debug, Serialize)]
struct LevelEstimate {
    requests_per_second: u32,
    pacing_seconds: f64,
    estimated_seconds: f64,
}

pub async fn run(settings: &Settings, args: BenchSyncArgs, json: bool) -> anyhow::Result<ExitCode> {
    let pacing_rate = args.pacing_rate.unwrap_or(args.supplier_rate);
    let per_product = args.variants_per_product as usize;
    let products = args.variants.div_ceil(args.variants_per_product) as usize;
    let variant_count = (products * per_product) as u64;
    let dir = settings.data_dir.join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = dir.join(format!("bench-sync-{stamp}-{}.db", std::process::id()));
    let _cleanup = crate::bench::Cleanup {
        path: path.clone(),
        keep: args.keep,
    };
    let store = open_sqlite(&path, SqliteOptions::default()).await?;
    let app = dropline_connect::connected(App::new(Arc::new(store)));
    let usd = Currency::parse("USD")?;
    let rule = pricing_rule(usd);
    let say = |text: String| {
        if !json {
            eprintln!("{text}");
        }
    };
    say(format!(
        "dropline bench-sync: {variant_count} variants ({products} products of {per_product}), CJ limited to {} requests/s, dropline paced at {pacing_rate}, {}, {}",
        args.supplier_rate,
        args.storefront.label(),
        path.display()
    ));

    // The partners, seeded with the same shape.
    let started = Instant::now();
    let cj = CjSim::start(args.seed)
        .await
        .context("while starting the CJ simulator")?;
    cj.set_rate_limit(Some(args.supplier_rate));
    let shop = Storefront::start(args.storefront, args.seed).await?;
    let cj_products = cj.add_products(products, per_product);
    let shop_products = shop.add_products(products, per_product)?;
    let by_vid: HashMap<String, CjVariant> = cj.variants().into_iter().map(|v| (v.vid.clone(), v)).collect();
    let simulators_seconds = started.elapsed().as_secs_f64();
    say(format!("  simulators seeded in {simulators_seconds:.1} s"));

    // The store, its CJ supplier, the catalogue and its offers.
    let (record, _token) = app
        .create_store(
            Scope::Operator,
            NewStore {
                name: "Bench Sync Store".into(),
                platform: shop.platform(),
                currency: usd,
                address: None,
                settings: StoreSettings::default(),
                connection: shop.connection(),
            },
        )
        .await
        .context("while creating the benchmark store")?;
    let store_id = record.store.id;
    let supplier = app
        .create_supplier(
            Scope::Operator,
            NewSupplier {
                store_id,
                name: "CJ Dropshipping (simulated)".into(),
                kind: SupplierKind::Cj,
                ships_from: Some("CN".into()),
                processing_days: 2,
                rating: 90,
                processing_deadline_days: None,
                connection: SupplierConnection {
                    api_base: Some(cj.base_url().to_string()),
                    api_key: Some(cj.api_key().to_string()),
                    requests_per_second: Some(pacing_rate),
                    ..SupplierConnection::default()
                },
                agent_layout: None,
                return_policy: Default::default(),
            },
        )
        .await
        .context("while creating the CJ supplier")?;
    let started = Instant::now();
    let catalogue = import_catalogue(&app, store_id, &shop_products, &cj_products, &by_vid, &rule).await?;
    let import_seconds = started.elapsed().as_secs_f64();
    say(format!("  catalogue imported in {import_seconds:.1} s"));
    let started = Instant::now();
    insert_offers(&app, store_id, supplier.id, &catalogue, &by_vid, usd).await?;
    let offers_seconds = started.elapsed().as_secs_f64();
    say(format!(
        "  {} offers inserted in {offers_seconds:.1} s",
        catalogue.len()
    ));
    app.update_inventory_settings(
        Scope::Operator,
        store_id,
        InventorySettings {
            sync: true,
            safety_buffer: 0,
            when_out: WhenOutOfStock::ShowZero,
            sync_every_minutes: 60,
        },
    )
    .await
    .context("while turning stock sync on")?;
    app.update_pricing_settings(
        Scope::Operator,
        store_id,
        PricingSettings {
            enabled: true,
            rules: vec![ScopedRule {
                scope: PricingScope::Store,
                rule: rule.clone(),
            }],
            // The drift moves costs by 1 to 10 %: every new price is applied, none waits.
            approval_threshold_bp: 5_000,
        },
    )
    .await
    .context("while setting the pricing rule")?;
    let setup = SetupReport {
        simulators_seconds,
        import_seconds,
        offers_seconds,
        rss_kib: proc_status_kib("VmRSS").unwrap_or(0),
    };

    let measure = Measure {
        app: &app,
        cj: &cj,
        shop: &shop,
        supplier_id: supplier.id,
        catalogue: &catalogue,
        rule: &rule,
        usd,
        rate: pacing_rate,
    };
    let mut phases = Vec::new();
    // What CJ asked before each sync: costs a reading refuses leave the price where it was.
    let mut accepted: HashMap<String, i64> = by_vid.iter().map(|(vid, v)| (vid.clone(), v.price_cents)).collect();

    let first = measure.sync("first sync (baseline)", &mut accepted).await?;
    say(first.progress());
    phases.push(first);

    let moved = cj.drift(args.seed, args.drift_bp);
    let before_drift_sync = measure.shown();
    let second = measure.sync("sync after drift", &mut accepted).await?;
    let after_drift_sync = measure.shown();
    let position: HashMap<&str, usize> = catalogue.iter().enumerate().map(|(i, v)| (v.vid.as_str(), i)).collect();
    let moved_changed = moved
        .iter()
        .filter_map(|vid| position.get(vid.as_str()))
        .filter(|&&i| before_drift_sync[i] != after_drift_sync[i])
        .count() as u64;
    say(second.progress());
    let drift = DriftReport {
        moved_at_supplier: moved.len() as u64,
        changed_at_storefront: moved_changed,
        pushed: second.variants_pushed,
        wasted_pushes: u64::from(second.variants_pushed).saturating_sub(second.changed_at_storefront),
        problems: second.problems,
    };
    phases.push(second);

    let third = measure.sync("sync without drift", &mut accepted).await?;
    say(third.progress());
    phases.push(third);

    let drift_phase = &phases[1];
    let own_seconds = (drift_phase.seconds - drift_phase.supplier_floor_seconds).max(0.0);
    let at_cj_levels = CJ_LEVELS
        .iter()
        .map(|&level| {
            let pacing = drift_phase.supplier_requests as f64 * 1.02 / f64::from(level);
            LevelEstimate {
                requests_per_second: level,
                pacing_seconds: pacing,
                estimated_seconds: pacing + own_seconds,
            }
        })
        .collect();
    let target_met = drift_phase.seconds < TARGET_SECONDS
        && drift.wasted_pushes == 0
        && drift_phase.out_of_line == 0
        && drift_phase.error.is_none();
    let report = SyncBenchReport {
        database: format!("SQLite {}", path.display()),
        storefront: args.storefront,
        products: products as u64,
        variants: variant_count,
        variants_per_product: args.variants_per_product,
        supplier_rate: args.supplier_rate,
        pacing_rate,
        drift_bp: args.drift_bp,
        setup,
        phases,
        drift,
        at_cj_levels,
        target_met,
        peak_memory_kib: proc_status_kib("VmHWM").unwrap_or(0),
    };
    if json {
        output::print_json(&report)?;
    } else {
        print_report(&report);
    }
    check(&report)?;
    Ok(ExitCode::SUCCESS)
}

/// The benchmark's own invariants: a figure from a sync that failed or wrote the wrong
/// thing is no figure.
fn check(report: &SyncBenchReport) -> anyhow::Result<()> {
    for phase in &report.phases {
        if let Some(error) = &phase.error {
            anyhow::bail!("the {} failed: {error}", phase.name);
        }
        anyhow::ensure!(
            phase.out_of_line == 0,
            "after the {}, {} variant(s) at the storefront are not what CJ and the pricing rule give",
            phase.name,
            phase.out_of_line
        );
    }
    anyhow::ensure!(
        report.drift.wasted_pushes == 0,
        "the sync after drift wrote {} unchanged variant(s)",
        report.drift.wasted_pushes
    );
    let last = &report.phases[2];
    anyhow::ensure!(
        last.variants_pushed == 0 && last.storefront_listing_writes == 0,
        "the sync without drift wrote {} variant(s) in {} request(s)",
        last.variants_pushed,
        last.storefront_listing_writes
    );
    Ok(())
}

/// The store's pricing rule: landed cost (CJ's price and shipping) × 2.5, ending in .99.
fn pricing_rule(usd: Currency) -> PricingRule {
    PricingRule {
        currency: usd,
        shipping: ShippingInPrice::Included,
        multiplier_bp: 25_000,
        markup: Money::new(0, usd),
        tiers: Vec::new(),
        min_margin_bp: 0,
        rounding: Rounding::EndingIn { minor: 99 },
        compare_at_multiplier_bp: None,
    }
}

/// What the rule prices a CJ cost at.
fn rule_price(rule: &PricingRule, cost_cents: i64, usd: Currency) -> anyhow::Result<i64> {
    let cost = SupplierCost {
        unit_cost: Money::new(cost_cents, usd),
        shipping: Some(Money::new(SHIPPING_CENTS, usd)),
    };
    Ok(rule
        .compute_price(&cost, None)
        .context("while pricing a variant by the rule")?
        .price
        .minor)
}

/// One variant of the benchmark catalogue, as the three parties know it.
struct Mapped {
    variant_id: VariantId,
    /// CJ's variant id.
    vid: String,
    /// The storefront's variant id.
    platform_variant_id: String,
}

/// Imports the storefront's products into dropline with their platform ids, each variant
/// mapped (by position) to a CJ variant and priced by the rule from its CJ cost, so the
/// first sync writes prices without making price changes.
async fn import_catalogue(
    app: &App,
    store_id: StoreId,
    shop_products: &[(SimProduct, ProductIds)],
    cj_products: &[(String, Vec<String>)],
    by_vid: &HashMap<String, CjVariant>,
    rule: &PricingRule,
) -> anyhow::Result<Vec<Mapped>> {
    let usd = rule.currency;
    let mut mapped = Vec::with_capacity(shop_products.len() * cj_products.first().map_or(0, |p| p.1.len()));
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    for ((sim, ids), (_, vids)) in shop_products.iter().zip(cj_products) {
        let product_id = ProductId::new();
        let mut variants = Vec::with_capacity(sim.variants.len());
        for ((sim_variant, platform_variant_id), vid) in sim.variants.iter().zip(&ids.variant_ids).zip(vids) {
            let cj_variant = by_vid
                .get(vid)
                .with_context(|| format!("the CJ simulator has no variant {vid}"))?;
            let variant_id = VariantId::new();
            variants.push(Variant {
                id: variant_id,
                product_id,
                sku: sim_variant.sku.clone(),
                title: sim_variant.title().unwrap_or_else(|| sim.title.clone()),
                price: Money::new(rule_price(rule, cj_variant.price_cents, usd)?, usd),
                platform_variant_id: Some(platform_variant_id.clone()),
            });
            mapped.push(Mapped {
                variant_id,
                vid: vid.clone(),
                platform_variant_id: platform_variant_id.clone(),
            });
        }
        batch.push(Product {
            id: product_id,
            store_id,
            title: sim.title.clone(),
            variants,
            platform_product_id: Some(ids.product_id.clone()),
            collections: Vec::new(),
        });
        if batch.len() == IMPORT_BATCH {
            app.backend()
                .import_products(store_id, std::mem::take(&mut batch))
                .await
                .context("while importing the catalogue")?;
        }
    }
    if !batch.is_empty() {
        app.backend()
            .import_products(store_id, batch)
            .await
            .context("while importing the catalogue")?;
    }
    Ok(mapped)
}

/// One primary CJ offer per variant at CJ's price, stock unknown until the first sync.
/// Inserted many at once so the writer commits them in batches.
async fn insert_offers(
    app: &App,
    store_id: StoreId,
    supplier_id: SupplierId,
    catalogue: &[Mapped],
    by_vid: &HashMap<String, CjVariant>,
    usd: Currency,
) -> anyhow::Result<()> {
    for chunk in catalogue.chunks(OFFERS_IN_FLIGHT) {
        let mut inserts = tokio::task::JoinSet::new();
        for variant in chunk {
            let cj_variant = by_vid
                .get(&variant.vid)
                .with_context(|| format!("the CJ simulator has no variant {}", variant.vid))?;
            let offer = Offer {
                id: OfferId::new(),
                variant_id: variant.variant_id,
                supplier_id,
                supplier_sku: cj_variant.sku.clone(),
                supplier_product_id: Some(cj_variant.pid.clone()),
                supplier_variant_id: Some(cj_variant.vid.clone()),
                product_url: None,
                unit_cost: Money::new(cj_variant.price_cents, usd),
                stock: None,
                shipping: vec![ShippingMethod {
                    country: "*".into(),
                    name: "CJPacket Ordinary".into(),
                    cost: Money::new(SHIPPING_CENTS, usd),
                    min_days: 7,
                    max_days: 12,
                }],
                priority: OfferPriority::Primary,
                units: 1,
            };
            let backend = app.backend().clone();
            inserts.spawn(async move { backend.insert_offer(store_id, offer).await });
        }
        while let Some(inserted) = inserts.join_next().await {
            inserted
                .context("an offer insert failed")?
                .context("while inserting the offers")?;
        }
    }
    Ok(())
}

/// What one variant shows at the storefront: stock, and price with compare-at price.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shown {
    stock: Option<u32>,
    price: Option<(i64, Option<i64>)>,
}

struct Measure<'a> {
    app: &'a App,
    cj: &'a CjSim,
    shop: &'a Storefront,
    supplier_id: SupplierId,
    catalogue: &'a [Mapped],
    rule: &'a PricingRule,
    usd: Currency,
    rate: u32,
}

impl Measure<'_> {
    /// Every variant as the storefront shows it, in catalogue order.
    fn shown(&self) -> Vec<Shown> {
        self.catalogue
            .iter()
            .map(|v| Shown {
                stock: self.shop.stock_of(&v.platform_variant_id),
                price: self.shop.price_of(&v.platform_variant_id),
            })
            .collect()
    }

    fn supplier_requests(&self) -> u64 {
        self.cj.call_counts().values().map(|n| u64::from(*n)).sum()
    }

    /// Runs one sync and measures it. `accepted` holds the CJ cost each variant is priced
    /// from: a new cost the sync must refuse (an absurd price) leaves it where it was.
    async fn sync(&self, name: &'static str, accepted: &mut HashMap<String, i64>) -> anyhow::Result<PhaseReport> {
        let before = self.shown();
        let requests = self.supplier_requests();
        let rate_limited = self.cj.rate_limited();
        let shop_requests = self.shop.request_count();
        let shop_writes = self.shop.listing_writes();
        reset_peak_rss();
        let started = Instant::now();
        let report: SyncReport = self
            .app
            .sync_stock(Scope::Operator, self.supplier_id)
            .await
            .with_context(|| format!("while running the {name}"))?;
        let seconds = started.elapsed().as_secs_f64();
        let peak_rss_kib = proc_status_kib("VmHWM").unwrap_or(0);
        let supplier_requests = self.supplier_requests() - requests;
        let after = self.shown();

        // What the storefront should show now: CJ's stock, and the rule's price of the last
        // cost a reading could accept.
        let now: HashMap<String, CjVariant> = self.cj.variants().into_iter().map(|v| (v.vid.clone(), v)).collect();
        let mut out_of_line = 0;
        for (variant, shown) in self.catalogue.iter().zip(&after) {
            let Some(cj_variant) = now.get(&variant.vid) else {
                continue;
            };
            let cost = accepted.entry(variant.vid.clone()).or_insert(cj_variant.price_cents);
            if cj_variant.price_cents != *cost
                && judge_cost(
                    Money::new(*cost, self.usd),
                    Money::new(cj_variant.price_cents, self.usd),
                )
                .is_ok()
            {
                *cost = cj_variant.price_cents;
            }
            let expected = Shown {
                stock: Some(cj_variant.stock),
                price: Some((rule_price(self.rule, *cost, self.usd)?, None)),
            };
            if *shown != expected {
                out_of_line += 1;
            }
        }

        let changed = before.iter().zip(&after).filter(|(b, a)| b != a).count() as u64;
        let pushed = report.listings.variants_pushed;
        Ok(PhaseReport {
            name,
            seconds,
            supplier_requests,
            supplier_rate_limited: u64::from(self.cj.rate_limited() - rate_limited),
            // The pacer spaces calls 2 % wider than the rate.
            supplier_floor_seconds: supplier_requests as f64 * 1.02 / f64::from(self.rate),
            storefront_requests: (self.shop.request_count() - shop_requests) as u64,
            storefront_listing_writes: (self.shop.listing_writes() - shop_writes) as u64,
            offers_read: report.summary.offers_read,
            stock_changed: report.summary.stock_changed,
            costs_changed: report.summary.costs_changed,
            problems: report.summary.problems,
            variants_checked: report.listings.variants_checked,
            variants_pushed: pushed,
            stock_writes: report.listings.stock_writes,
            price_writes: report.listings.price_writes,
            prices_applied: report.listings.prices_applied,
            prices_pending: report.listings.prices_pending,
            refused: report.listings.refused.len(),
            changed_at_storefront: changed,
            real_change_share: if pushed == 0 {
                1.0
            } else {
                changed as f64 / f64::from(pushed)
            },
            out_of_line,
            peak_rss_kib,
            error: report.summary.error.clone(),
        })
    }
}

impl PhaseReport {
    fn progress(&self) -> String {
        format!(
            "  {}: {:.1} s, {} CJ requests, {} storefront requests, {} variants pushed, {} really changed",
            self.name,
            self.seconds,
            self.supplier_requests,
            self.storefront_requests,
            self.variants_pushed,
            self.changed_at_storefront
        )
    }
}

/// The storefront simulator the store is connected to.
enum Storefront {
    WooCommerce(WooCommerceSim),
    Shopify(ShopifySim),
}

impl Storefront {
    async fn start(kind: StorefrontKind, seed: u64) -> anyhow::Result<Self> {
        let config = SimConfig::new(seed).catalogue(Vec::new());
        Ok(match kind {
            StorefrontKind::Woocommerce => Self::WooCommerce(
                WooCommerceSim::start(config)
                    .await
                    .context("while starting the WooCommerce simulator")?,
            ),
            StorefrontKind::Shopify => Self::Shopify(
                ShopifySim::start(config)
                    .await
                    .context("while starting the Shopify simulator")?,
            ),
        })
    }

    fn platform(&self) -> Platform {
        match self {
            Self::WooCommerce(_) => Platform::Woocommerce,
            Self::Shopify(_) => Platform::Shopify,
        }
    }

    /// The store's connection to the simulator, as a seller would enter it.
    fn connection(&self) -> StoreConnection {
        match self {
            Self::WooCommerce(sim) => StoreConnection {
                domain: Some(sim.site_url().trim_start_matches("https://").to_string()),
                api_base: Some(sim.base_url().to_string()),
                api_key: Some(sim.consumer_key().to_string()),
                api_secret: Some(sim.consumer_secret().to_string()),
                webhook_secrets: vec![sim.webhook_secret().to_string()],
                ..StoreConnection::default()
            },
            Self::Shopify(sim) => StoreConnection {
                domain: Some(sim.shop_domain().to_string()),
                api_base: Some(sim.base_url().to_string()),
                access_token: Some(sim.access_token().to_string()),
                webhook_secrets: vec![sim.webhook_secret().to_string()],
                ..StoreConnection::default()
            },
        }
    }

    fn add_products(&self, products: usize, variants_each: usize) -> anyhow::Result<Vec<(SimProduct, ProductIds)>> {
        let added: Result<_, SimError> = match self {
            Self::WooCommerce(sim) => sim.add_products(products, variants_each),
            Self::Shopify(sim) => sim.add_products(products, variants_each),
        };
        added.context("while seeding the storefront simulator")
    }

    fn stock_of(&self, platform_variant_id: &str) -> Option<u32> {
        match self {
            Self::WooCommerce(sim) => sim.stock_of(platform_variant_id),
            Self::Shopify(sim) => sim.stock_of(platform_variant_id),
        }
    }

    fn price_of(&self, platform_variant_id: &str) -> Option<(i64, Option<i64>)> {
        match self {
            Self::WooCommerce(sim) => sim.price_of(platform_variant_id),
            Self::Shopify(sim) => sim.price_of(platform_variant_id),
        }
    }

    fn request_count(&self) -> usize {
        match self {
            Self::WooCommerce(sim) => sim.requests().len(),
            Self::Shopify(sim) => sim.requests().len(),
        }
    }

    fn listing_writes(&self) -> usize {
        match self {
            Self::WooCommerce(sim) => sim.listing_writes(),
            Self::Shopify(sim) => sim.listing_writes(),
        }
    }
}

fn print_report(report: &SyncBenchReport) {
    let mib = |kib: u64| format!("{:.0}", kib as f64 / 1024.0);
    let mut table = output::table([
        "SYNC",
        "SECONDS",
        "CJ REQUESTS",
        "CJ 429S",
        "CJ FLOOR S",
        "STOREFRONT REQUESTS",
        "LISTING WRITES",
        "PUSHED",
        "REALLY CHANGED",
        "PRICES APPLIED",
        "PROBLEMS",
        "OUT OF LINE",
        "PEAK RSS MIB",
    ]);
    for phase in &report.phases {
        table.add_row([
            phase.name.to_string(),
            format!("{:.1}", phase.seconds),
            phase.supplier_requests.to_string(),
            phase.supplier_rate_limited.to_string(),
            format!("{:.1}", phase.supplier_floor_seconds),
            phase.storefront_requests.to_string(),
            phase.storefront_listing_writes.to_string(),
            phase.variants_pushed.to_string(),
            phase.changed_at_storefront.to_string(),
            phase.prices_applied.to_string(),
            phase.problems.to_string(),
            phase.out_of_line.to_string(),
            mib(phase.peak_rss_kib),
        ]);
    }
    println!("{table}");
    println!(
        "{} variants ({} products of {}) on {}; CJ limited to {} requests/s, dropline paced at {}; setup: simulators {:.1} s, import {:.1} s, offers {:.1} s; RSS before the first sync {} MiB, peak {} MiB (both simulators included)",
        report.variants,
        report.products,
        report.variants_per_product,
        report.storefront.label(),
        report.supplier_rate,
        report.pacing_rate,
        report.setup.simulators_seconds,
        report.setup.import_seconds,
        report.setup.offers_seconds,
        mib(report.setup.rss_kib),
        mib(report.peak_memory_kib)
    );
    let drift = &report.drift;
    let second = &report.phases[1];
    println!(
        "drift of {} bp: {} CJ variants moved, {} of them changed at the storefront; the sync pushed {} variants ({} stock, {} price writes), {} of them a real change ({:.1} %), {} wasted; {} readings refused (absurd prices)",
        report.drift_bp,
        drift.moved_at_supplier,
        drift.changed_at_storefront,
        drift.pushed,
        second.stock_writes,
        second.price_writes,
        second.changed_at_storefront.min(u64::from(drift.pushed)),
        second.real_change_share * 100.0,
        drift.wasted_pushes,
        drift.problems
    );
    let levels: Vec<String> = report
        .at_cj_levels
        .iter()
        .map(|level| format!("{}/s {}", level.requests_per_second, minutes(level.estimated_seconds)))
        .collect();
    println!(
        "the drift sync's {} CJ requests at CJ's account levels: {}",
        second.supplier_requests,
        levels.join(", ")
    );
    println!(
        "target (whole catalogue under {} with only changed values pushed): {}",
        minutes(TARGET_SECONDS),
        if report.target_met { "met" } else { "NOT met" }
    );
}

/// `95.2 s`, `12.5 min`, `3.1 h`.
fn minutes(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7_200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3_600.0)
    }
}

/// Resets the process's peak resident memory (Linux: `5` to `/proc/self/clear_refs`), so
/// `VmHWM` afterwards is the peak of what follows. False where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `kB` line of `/proc/self/status` (`VmHWM`, `VmRSS`), where there is one (Linux).
fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
