//! `dropline bench`: orders pushed through the engine on a fresh embedded SQLite database,
//! measured from "order received" (the start of `App::ingest_order`) to "supplier orders
//! created" (the app's `OrderRouted` event, sent after the routing commit).
//!
//! With `--review rules` (the default) the store accepts orders by itself: ingest, validate,
//! accept, route, supplier orders and the two customer notices land in one transaction.
//! With `--review seller` every order waits for review and is accepted right after it is
//! received, so routing goes through a `route_order` job that the worker claims and runs.
//! `--preload` first fills the database with stored orders (imported in batches) to show
//! that the cost per order does not grow with what is stored.

use crate::config::Settings;
use crate::database::open_sqlite;
use crate::output;
use anyhow::Context;
use clap::{Args, ValueEnum};
use dropline_app::service::NewVariant;
use dropline_app::{App, AppEvent, NewOffer, NewProduct, NewStore, NewSupplier, Scope};
use dropline_domain::address::{Address, Customer};
use dropline_domain::catalog::{AutoAcceptRules, OfferPriority, Platform, ShippingMethod, StoreSettings, SupplierKind};
use dropline_domain::ids::{OrderId, StoreId, VariantId};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{IncomingLine, IncomingOrder};
use dropline_domain::state::PaymentState;
use dropline_domain::timeline::Actor;
use dropline_store_sqlite::{SqliteOptions, Synchronous};
use dropline_worker::{Worker, WorkerConfig};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// Orders per transaction while preloading.
const PRELOAD_BATCH: usize = 2_000;
/// A measured step gives up when no order got routed for this long.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure: the engine (orders handed to it directly), or signed Shopify
    /// webhooks over HTTP against the server, next to a verify-and-parse-only ceiling
    #[arg(long, value_enum, default_value_t = Target::Engine)]
    target: Target,
    /// Orders to measure (per step)
    #[arg(long, default_value_t = 20_000)]
    orders: u64,
    /// With `--target webhooks`: HTTP requests in flight
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4_096))]
    connections: u64,
    /// Orders in flight at once
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    concurrency: u64,
    /// SQLite durability: full flushes every commit to disk (synchronous=FULL);
    /// full-overlapped flushes each batch from a sync thread while the next one is written;
    /// normal flushes only at checkpoints
    #[arg(long, value_enum, default_value_t = SyncMode::Full)]
    synchronous: SyncMode,
    /// Who accepts the orders: the store's rules at ingest, or the seller (then routing is
    /// a worker job)
    #[arg(long, value_enum, default_value_t = Review::Rules)]
    review: Review,
    /// Stored orders before a measured step; several values (10000,100000,1000000) measure
    /// one step per value as the database grows
    #[arg(long, value_delimiter = ',', value_name = "M[,M...]")]
    preload: Vec<u64>,
    /// Jobs the worker claims at once [default: the worker's default]
    #[arg(long)]
    worker_batch: Option<u32>,
    /// Milliseconds the worker sleeps when no job is due [default: the worker's default]
    #[arg(long)]
    worker_idle_ms: Option<u64>,
    /// Keep the benchmark database afterwards (it is deleted by default)
    #[arg(long)]
    keep: bool,
}

/// What `dropline bench` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
enum Target {
    Engine,
    Webhooks,
}

/// Who accepts the benchmark's orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
enum Review {
    /// The store's auto-accept rules, at ingest.
    Rules,
    /// The seller, one call per order after ingest; routing then runs as a worker job.
    Seller,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
enum SyncMode {
    Full,
    FullOverlapped,
    Normal,
}

/// One measured step.
#[derive(Debug, Serialize)]
struct StepReport {
    /// Orders stored when the step started.
    stored_before: u64,
    /// Seconds the preload before this step took (0 without preload).
    preload_seconds: f64,
    /// Orders per second of the preload.
    preload_orders_per_second: f64,
    orders: u64,
    /// From the first ingest to the last routing.
    seconds: f64,
    /// End to end: orders routed per second.
    orders_per_second: f64,
    /// Orders received (ingest returned) per second.
    ingest_per_second: f64,
    latency_ms: Latency,
    /// Ingest call alone (receipt to durable acknowledgement).
    ingest_latency_ms: Latency,
    /// Orders that went on hold instead of getting supplier orders (should be 0).
    held: u64,
    /// Orders whose routing was not seen (lost events or a stall; should be 0).
    missing: u64,
    /// Resident memory after the step, KiB.
    rss_kib: u64,
}

#[derive(Debug, Default, Serialize)]
struct Latency {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[index.min(samples.len() - 1)].as_secs_f64() * 1_000.0
        };
        Self {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

#[derive(Debug, Serialize)]
struct BenchReport {
    database: String,
    synchronous: SyncMode,
    review: Review,
    orders: u64,
    concurrency: u64,
    worker_batch: u32,
    steps: Vec<StepReport>,
    /// Peak resident memory of the process (VmHWM), KiB.
    peak_memory_kib: u64,
}

pub async fn run(settings: &Settings, args: BenchArgs, json: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.orders > 0, "--orders must be at least 1");
    let mut preload = args.preload.clone();
    preload.sort_unstable();
    preload.dedup();
    if preload.is_empty() {
        preload.push(0);
    }

    let dir = settings.data_dir.join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    if args.target == Target::Webhooks {
        if !json {
            eprintln!(
                "dropline bench --target webhooks: {} signed Shopify webhooks per run, {} connections, SQLite synchronous={}",
                args.orders,
                args.connections,
                sync_label(args.synchronous)
            );
        }
        let synchronous = match args.synchronous {
            SyncMode::Full => Synchronous::Full,
            SyncMode::FullOverlapped => Synchronous::FullOverlapped,
            SyncMode::Normal => Synchronous::Normal,
        };
        let report = crate::bench_webhooks::run(dir, args.orders, args.connections, synchronous, args.keep).await?;
        if json {
            output::print_json(&report)?;
        } else {
            print_webhook_report(&report);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = dir.join(format!("bench-{stamp}-{}.db", std::process::id()));
    let _cleanup = Cleanup {
        path: path.clone(),
        keep: args.keep,
    };
    let synchronous = match args.synchronous {
        SyncMode::Full => Synchronous::Full,
        SyncMode::FullOverlapped => Synchronous::FullOverlapped,
        SyncMode::Normal => Synchronous::Normal,
    };
    let options = SqliteOptions {
        synchronous,
        ..SqliteOptions::default()
    };
    let store = open_sqlite(&path, options).await?;
    let app = App::new(Arc::new(store));

    let mut config = WorkerConfig::default();
    if let Some(batch) = args.worker_batch {
        config.batch = batch.max(1);
    }
    if let Some(ms) = args.worker_idle_ms {
        config.idle_sleep = Duration::from_millis(ms);
    }
    let worker_batch = config.batch;

    let catalog = Arc::new(
        seed(&app, preload.iter().any(|m| *m > 0))
            .await
            .context("while creating the benchmark store")?,
    );
    let collector = Collector::start(app.subscribe());

    if !json {
        eprintln!(
            "dropline bench: {} orders per step, {} in flight, SQLite synchronous={}, {}",
            args.orders,
            args.concurrency,
            sync_label(args.synchronous),
            path.display()
        );
    }

    let mut steps = Vec::new();
    let mut stored: u64 = 0;
    for (step_index, target) in preload.iter().copied().enumerate() {
        let mut preload_seconds = 0.0;
        let mut preload_rate = 0.0;
        if target > stored {
            let started = Instant::now();
            let added = target - stored;
            preload_orders(&app, &catalog, stored, added, config.clone(), json).await?;
            preload_seconds = started.elapsed().as_secs_f64();
            preload_rate = added as f64 / preload_seconds.max(1e-9);
            stored = target;
        }
        if catalog.preloading || args.review == Review::Seller {
            set_auto_accept(&app, catalog.store_id, args.review == Review::Rules).await?;
        }
        let step = measure(&app, &catalog, &collector, &args, config.clone(), step_index, stored).await?;
        stored += args.orders;
        if catalog.preloading {
            set_auto_accept(&app, catalog.store_id, false).await?;
        }
        let report = StepReport {
            preload_seconds,
            preload_orders_per_second: preload_rate,
            ..step
        };
        if !json {
            eprintln!(
                "  stored {:>9}: {:>8.0} orders/s end to end, p50 {:.1} ms, p99 {:.1} ms",
                report.stored_before, report.orders_per_second, report.latency_ms.p50, report.latency_ms.p99
            );
        }
        steps.push(report);
    }

    let report = BenchReport {
        database: format!("SQLite {}", path.display()),
        synchronous: args.synchronous,
        review: args.review,
        orders: args.orders,
        concurrency: args.concurrency,
        worker_batch,
        steps,
        peak_memory_kib: proc_status_kib("VmHWM").unwrap_or(0),
    };
    if json {
        output::print_json(&report)?;
    } else {
        print_report(&report);
    }
    let incomplete: u64 = report.steps.iter().map(|s| s.missing).sum();
    anyhow::ensure!(incomplete == 0, "{incomplete} order(s) were never routed");
    Ok(ExitCode::SUCCESS)
}

fn sync_label(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Full => "FULL",
        SyncMode::FullOverlapped => "NORMAL with the WAL flushed before each answer",
        SyncMode::Normal => "NORMAL",
    }
}

fn print_webhook_report(report: &crate::bench_webhooks::WebhookReport) {
    let mut table = output::table([
        "RUN",
        "REQUESTS",
        "PER SECOND",
        "P50 MS",
        "P90 MS",
        "P99 MS",
        "MAX MS",
        "FAILED",
    ]);
    for run in [&report.ceiling, &report.dropline_peak, &report.dropline_half_load] {
        table.add_row([
            match run.offered_per_second {
                Some(rate) => format!("{} ({rate:.0}/s offered)", run.target),
                None => run.target.to_string(),
            },
            run.requests.to_string(),
            format!("{:.0}", run.per_second),
            format!("{:.2}", run.p50_ms),
            format!("{:.2}", run.p90_ms),
            format!("{:.2}", run.p99_ms),
            format!("{:.2}", run.max_ms),
            run.failed.to_string(),
        ]);
    }
    println!("{table}");
    println!(
        "payload {} bytes; dropline's peak is {:.0} % of the ceiling; {} of the {} orders delivered got their supplier order; {:.1} orders per commit at the peak",
        report.payload_bytes,
        report.ratio * 100.0,
        report.supplier_orders,
        report.delivered,
        report.change_sets_per_commit
    );
}

fn print_report(report: &BenchReport) {
    let mut table = output::table([
        "STORED BEFORE",
        "ORDERS",
        "ORDERS/S (END TO END)",
        "INGEST/S",
        "P50 MS",
        "P90 MS",
        "P99 MS",
        "MAX MS",
        "INGEST P99 MS",
        "HELD",
        "RSS MIB",
    ]);
    for step in &report.steps {
        table.add_row([
            step.stored_before.to_string(),
            step.orders.to_string(),
            format!("{:.0}", step.orders_per_second),
            format!("{:.0}", step.ingest_per_second),
            format!("{:.1}", step.latency_ms.p50),
            format!("{:.1}", step.latency_ms.p90),
            format!("{:.1}", step.latency_ms.p99),
            format!("{:.1}", step.latency_ms.max),
            format!("{:.1}", step.ingest_latency_ms.p99),
            step.held.to_string(),
            format!("{:.0}", step.rss_kib as f64 / 1024.0),
        ]);
    }
    println!("{table}");
    let preloads: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.preload_seconds > 0.0)
        .map(|s| {
            format!(
                "to {} in {:.1} s ({:.0} orders/s)",
                s.stored_before, s.preload_seconds, s.preload_orders_per_second
            )
        })
        .collect();
    if !preloads.is_empty() {
        println!(
            "preload (imported in batches of {PRELOAD_BATCH}): {}",
            preloads.join("; ")
        );
    }
    println!(
        "{}, synchronous={:?}, {} in flight, worker claims {} jobs at once; peak memory (VmHWM) {:.0} MiB",
        report.database,
        report.synchronous,
        report.concurrency,
        report.worker_batch,
        report.peak_memory_kib as f64 / 1024.0
    );
}

/// Deletes the benchmark database when the run ends (unless `--keep`).
pub(crate) struct Cleanup {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The store under test
// ---------------------------------------------------------------------------------------------

struct Catalog {
    store_id: StoreId,
    usd: Currency,
    /// (sku, title, price) of every variant.
    variants: Vec<(String, String, i64)>,
    /// Auto-accept is switched off while preloading, so stored orders wait in review.
    preloading: bool,
}

async fn seed(app: &App, preloading: bool) -> anyhow::Result<Catalog> {
    let usd = Currency::parse("USD")?;
    let (record, _token) = app
        .create_store(
            Scope::Operator,
            NewStore {
                name: "Bench Store".into(),
                platform: Platform::Api,
                currency: usd,
                address: None,
                settings: StoreSettings {
                    auto_accept: AutoAcceptRules {
                        enabled: !preloading,
                        require_paid: true,
                        ..AutoAcceptRules::default()
                    },
                    ..StoreSettings::default()
                },
                connection: Default::default(),
            },
        )
        .await?;
    let store_id = record.store.id;
    let supplier = |name: &str, from: &str| NewSupplier {
        store_id,
        name: name.into(),
        kind: SupplierKind::Manual,
        ships_from: Some(from.into()),
        processing_days: 2,
        rating: 90,
        processing_deadline_days: None,
        connection: Default::default(),
        agent_layout: None,
        return_policy: Default::default(),
    };
    let primary = app
        .create_supplier(Scope::Operator, supplier("Bench Primary Supply", "CN"))
        .await?
        .id;
    let backup = app
        .create_supplier(Scope::Operator, supplier("Bench Backup Supply", "US"))
        .await?
        .id;
    let mut variants = Vec::new();
    for p in 0..5 {
        let product = app
            .create_product(
                Scope::Operator,
                NewProduct {
                    store_id,
                    title: format!("Bench product {p}"),
                    variants: (0..4)
                        .map(|v| NewVariant {
                            sku: format!("BENCH-{p}-{v}"),
                            title: format!("Variant {v}"),
                            price: Money::new(1_000 + 250 * (p * 4 + v), usd),
                            platform_variant_id: None,
                        })
                        .collect(),
                },
            )
            .await?;
        for variant in product.variants {
            variants.push((variant.sku.clone(), product.title.clone(), variant.price.minor));
            for (supplier_id, priority, cost) in [
                (primary, OfferPriority::Primary, 300),
                (backup, OfferPriority::Backup, 450),
            ] {
                app.add_offer(
                    Scope::Operator,
                    offer(variant.id, supplier_id, &variant.sku, priority, Money::new(cost, usd)),
                )
                .await?;
            }
        }
    }
    Ok(Catalog {
        store_id,
        usd,
        variants,
        preloading,
    })
}

fn offer(
    variant_id: VariantId,
    supplier_id: dropline_domain::ids::SupplierId,
    sku: &str,
    priority: OfferPriority,
    unit_cost: Money,
) -> NewOffer {
    NewOffer {
        units: 1,
        variant_id,
        supplier_id,
        supplier_sku: format!("SUP-{sku}-{priority}"),
        supplier_product_id: None,
        supplier_variant_id: None,
        product_url: Some(format!("https://supplier.example/item/{sku}")),
        unit_cost,
        stock: None,
        shipping: vec![ShippingMethod {
            country: "*".into(),
            name: "Standard".into(),
            cost: Money::new(250, unit_cost.currency),
            min_days: 7,
            max_days: 15,
        }],
        priority,
    }
}

async fn set_auto_accept(app: &App, store_id: StoreId, enabled: bool) -> anyhow::Result<()> {
    let mut settings = app.get_store(Scope::Operator, store_id).await?.store.settings;
    settings.auto_accept.enabled = enabled;
    app.update_store_settings(Scope::Operator, store_id, settings, None)
        .await?;
    Ok(())
}

/// Addresses the benchmark's customers live at: valid, in several countries.
const ADDRESSES: &[(&str, &str, Option<&str>, &str, &str)] = &[
    ("1 Market St", "San Francisco", Some("CA"), "94105", "US"),
    ("221B Baker Street", "London", None, "NW1 6XE", "GB"),
    ("Unter den Linden 77", "Berlin", None, "10117", "DE"),
    ("8 Rue de Rivoli", "Paris", None, "75004", "FR"),
    ("290 Bremner Blvd", "Toronto", Some("ON"), "M5V 3L9", "CA"),
    ("1 Macquarie St", "Sydney", Some("NSW"), "2000", "AU"),
    ("350 5th Ave", "New York", Some("NY"), "10118", "US"),
    ("Damrak 70", "Amsterdam", None, "1012 LM", "NL"),
];

/// The `n`-th benchmark order: one to three lines, paid, a valid address.
fn bench_order(catalog: &Catalog, prefix: &str, n: u64) -> IncomingOrder {
    let (address1, city, region, postal, country) = ADDRESSES[(n % ADDRESSES.len() as u64) as usize];
    let line_count = 1 + (n % 3) as usize;
    let lines = (0..line_count)
        .map(|i| {
            let (sku, title, price) = &catalog.variants[((n as usize) * 7 + i * 3) % catalog.variants.len()];
            IncomingLine {
                external_id: None,
                sku: sku.clone(),
                title: title.clone(),
                variant_title: None,
                quantity: 1 + (i as u32 % 2),
                unit_price: Money::new(*price, catalog.usd),
                requires_shipping: true,
                platform_product_id: None,
                platform_variant_id: None,
                fulfillable_quantity: None,
            }
        })
        .collect();
    IncomingOrder {
        external_id: format!("{prefix}-{n}"),
        number: format!("#{prefix}-{n}"),
        customer: Customer {
            name: "Alex Bench".into(),
            email: Some(format!("alex{n}@example.com")),
            phone: None,
        },
        shipping_address: Address {
            first_name: "Alex".into(),
            last_name: "Bench".into(),
            company: None,
            address1: address1.into(),
            address2: None,
            city: city.into(),
            region: region.map(Into::into),
            postal_code: postal.into(),
            country_code: country.into(),
            phone: None,
        },
        lines,
        currency: catalog.usd,
        shipping_total: Money::new(499, catalog.usd),
        payment: PaymentState::Paid,
        placed_at: time::OffsetDateTime::now_utc(),
        test: false,
        cancelled_at: None,
        source_updated_at: None,
        charged_total: None,
        discount_total: None,
        tax_total: None,
        shipping_method: None,
    }
}

/// Adds `count` stored orders (they wait in review).
async fn preload_orders(
    app: &App,
    catalog: &Catalog,
    already: u64,
    count: u64,
    config: WorkerConfig,
    json: bool,
) -> anyhow::Result<()> {
    let bar = if !json && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(count), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("  preloading [{bar:40}] {pos}/{len} orders ({per_sec}, {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let worker = Worker::new(app.clone(), config);
    let mut next = already;
    let end = already + count;
    while next < end {
        let batch_end = (next + PRELOAD_BATCH as u64).min(end);
        let orders: Vec<IncomingOrder> = (next..batch_end).map(|n| bench_order(catalog, "stored", n)).collect();
        app.import_orders(
            Scope::Operator,
            catalog.store_id,
            orders,
            Actor::Storefront("bench preload".into()),
        )
        .await
        .context("while preloading orders")?;
        // Drain as we go, so the job queue stays short like in a running installation.
        worker
            .run_until_idle()
            .await
            .context("while draining the preload's jobs")?;
        bar.inc(batch_end - next);
        next = batch_end;
    }
    bar.finish_and_clear();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

/// Watches `OrderRouted` events on its own thread, so their time is taken when they happen
/// and not when a busy runtime gets round to it.
struct Collector {
    routed: Arc<Mutex<HashMap<OrderId, (Instant, bool)>>>,
    count: Arc<AtomicU64>,
    lagged: Arc<AtomicU64>,
}

impl Collector {
    fn start(mut events: broadcast::Receiver<AppEvent>) -> Self {
        let routed = Arc::new(Mutex::new(HashMap::new()));
        let count = Arc::new(AtomicU64::new(0));
        let lagged = Arc::new(AtomicU64::new(0));
        let (map, counter, lost) = (routed.clone(), count.clone(), lagged.clone());
        std::thread::Builder::new()
            .name("bench-events".into())
            .spawn(move || {
                loop {
                    match events.blocking_recv() {
                        Ok(AppEvent::OrderRouted { order_id, held }) => {
                            let at = Instant::now();
                            if let Ok(mut map) = map.lock() {
                                map.insert(order_id, (at, held));
                            }
                            counter.fetch_add(1, Ordering::Release);
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            lost.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|err| tracing::error!(error = %err, "cannot start the event thread"));
        Self { routed, count, lagged }
    }
}

/// Receipt of one order: when ingest started and when it returned.
struct Received {
    order_id: OrderId,
    started: Instant,
    acknowledged: Instant,
}

async fn measure(
    app: &App,
    catalog: &Arc<Catalog>,
    collector: &Collector,
    args: &BenchArgs,
    config: WorkerConfig,
    step: usize,
    stored_before: u64,
) -> anyhow::Result<StepReport> {
    let (stop, stopped) = watch::channel(false);
    let worker = Worker::new(app.clone(), config.clone());
    let worker_task = tokio::spawn(async move { worker.run(stopped).await });

    let routed_at_start = collector.count.load(Ordering::Acquire);
    let lagged_at_start = collector.lagged.load(Ordering::Relaxed);
    let next = Arc::new(AtomicU64::new(0));
    let total = args.orders;
    let prefix = format!("bench{step}");
    let review = args.review;
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.min(total) {
        let (app, next, prefix, catalog) = (app.clone(), next.clone(), prefix.clone(), catalog.clone());
        clients.spawn(async move {
            let mut received = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, anyhow::Error>(received);
                }
                let order = bench_order(&catalog, &prefix, n);
                let started = Instant::now();
                let outcome = app
                    .ingest_order(
                        Scope::Operator,
                        catalog.store_id,
                        order,
                        Actor::Storefront("bench".into()),
                    )
                    .await
                    .context("while ingesting a benchmark order")?;
                if review == Review::Seller {
                    app.accept_order(Scope::Operator, outcome.order_id)
                        .await
                        .context("while accepting a benchmark order")?;
                }
                received.push(Received {
                    order_id: outcome.order_id,
                    started,
                    acknowledged: Instant::now(),
                });
            }
        });
    }
    let mut received = Vec::with_capacity(total as usize);
    while let Some(result) = clients.join_next().await {
        received.extend(result.context("a benchmark client failed")??);
    }
    let ingested_at = Instant::now();

    // Wait for the worker to route them all.
    let mut last_progress = (collector.count.load(Ordering::Acquire), Instant::now());
    loop {
        let seen = collector.count.load(Ordering::Acquire) - routed_at_start;
        if seen >= total {
            break;
        }
        if seen != last_progress.0 {
            last_progress = (seen, Instant::now());
        } else if last_progress.1.elapsed() > STALL_TIMEOUT {
            tracing::error!(seen, total, "routing stalled");
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = stop.send(true);
    worker_task.await.context("the benchmark worker failed")?;
    // Leave no job behind for the next step.
    Worker::new(app.clone(), config).run_until_idle().await?;

    let routed = {
        let mut map = collector
            .routed
            .lock()
            .map_err(|_| anyhow::anyhow!("the event thread panicked"))?;
        std::mem::take(&mut *map)
    };
    let mut latencies = Vec::with_capacity(received.len());
    let mut ingest_latencies = Vec::with_capacity(received.len());
    let (mut held, mut missing) = (0, 0);
    let mut last_routed = started;
    for order in &received {
        ingest_latencies.push(order.acknowledged - order.started);
        match routed.get(&order.order_id) {
            Some((at, was_held)) => {
                latencies.push(at.saturating_duration_since(order.started));
                last_routed = last_routed.max(*at);
                held += u64::from(*was_held);
            }
            None => missing += 1,
        }
    }
    let lagged = collector.lagged.load(Ordering::Relaxed) - lagged_at_start;
    if lagged > 0 {
        tracing::warn!(lagged, "the event thread missed events; their orders count as missing");
    }
    let seconds = (last_routed - started).as_secs_f64().max(1e-9);
    let ingest_seconds = (ingested_at - started).as_secs_f64().max(1e-9);
    Ok(StepReport {
        stored_before,
        preload_seconds: 0.0,
        preload_orders_per_second: 0.0,
        orders: total,
        seconds,
        orders_per_second: latencies.len() as f64 / seconds,
        ingest_per_second: received.len() as f64 / ingest_seconds,
        latency_ms: Latency::of(latencies),
        ingest_latency_ms: Latency::of(ingest_latencies),
        held,
        missing,
        rss_kib: proc_status_kib("VmRSS").unwrap_or(0),
    })
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
