//! `dropline demo`: three simulated storefronts send their orders to dropline through the
//! webhook path, over real HTTP on 127.0.0.1, exactly as real platforms would; the orders are
//! then moved to every order state through the app's use cases (never a raw write), and the
//! API is served.
//!
//! The flow:
//! 1. dropline's HTTP server starts first (on the listen address; on a free port with
//!    `--no-serve`), wired to the platforms: their webhook formats and HTTP storefront clients.
//! 2. Simulators from `dropline-sim` start on free ports: the main Shopify store, "Northwind
//!    Goods" (mugs, T-shirts, a poster and a lamp), and two smaller stores on WooCommerce and
//!    Wix selling the mugs and T-shirts. Each gets a dropline store connected to its simulator
//!    (API base, credentials, webhook secret), and sends its webhooks to
//!    `/webhooks/{platform}/{store}`.
//! 3. Each store's catalogue is pulled from its simulator, page by page, and three manual
//!    suppliers get offers for the pulled variants, by SKU: mugs and T-shirts with a primary
//!    and a backup offer, a poster out of stock everywhere, a lamp that ships within the EU.
//! 4. The simulators deliver their orders, every webhook more than once (some copies at the
//!    same moment, and on Shopify a stale redelivery at the end) so that deduplication shows.
//!    Some Shopify orders are unpaid or have an address that fails validation (held); one is
//!    paid later, one gets its address corrected, one is cancelled by the customer, and one
//!    is a test order (never sent to a supplier).
//! 5. The seller reviews, accepts, rejects and cancels; the worker routes the accepted orders;
//!    the vendor places the supplier orders, adds parcels, marks them shipped, some delivered
//!    or failed, re-ships one and completes one (the carriers deliver others: 7.). The worker
//!    writes shipments, deliveries and cancellations back to the simulators, and the summary
//!    says what each of them received.
//! 6. Simulated CJ and AliExpress APIs run beside the storefronts (`dropline_sim::CjSim`,
//!    `AliExpressSim`, seeded). The WooCommerce store launches products bought from them (CJ
//!    primary with an AliExpress or a manual backup, socks from AliExpress alone), with offers
//!    priced from the suppliers' own catalogues and quotes, and a rule that accepts orders of
//!    only those products. Its storefront then sends orders one at a time, and the worker places
//!    their supplier orders through the suppliers' APIs, exactly once. Each case takes the first
//!    order that shows it: one placed at CJ and one at AliExpress as they are; one held before
//!    submission because CJ's price rose above the store's tolerance, then released by the
//!    seller over the API with `accept_price`; one failed over because CJ had no stock; one
//!    whose answer from CJ was lost (the worker finds the order by its key). Then the
//!    simulators' days pass and the worker's polls (every second here, with retries within a
//!    second: [`placement_config`]) follow the parcels to the door; someone orders at CJ by hand
//!    and the seller asks for a reconciliation of CJ's order list. The summary says what each
//!    supplier simulator received, and that no key was placed twice.
//! 7. After shipping, the carriers' days pass. A simulated 17TRACK (`TrackingServiceSim`) is
//!    the engine's tracking source, and the engine's emails link to the tracking pages on the
//!    demo's address. The parcels of the orders to be delivered get carrier journeys that
//!    arrive (most on time, two held in customs for a week, one at the second attempt), the
//!    other parcels in transit are still on their way at the end, and those the vendor
//!    reported failed wait at the depot. The engine's clock and 17TRACK's then move a day at
//!    a time, until the parcels due have arrived (at most [`MAX_CARRIER_DAYS`]): each day the
//!    worker runs the jobs due at that moment (`Worker::run_pass_at`: each parcel's
//!    `poll_tracking`, the write-back of deliveries) and every order's clocks are checked
//!    (exceptions raised and cleared, customers told of late parcels); at the end the sellers
//!    get their daily digest. The summary counts the parcels by state, the exceptions by kind
//!    and the outbox's emails by template (the customers' and the sellers'; without a mail
//!    server they stay queued), and gives a tracking page to open. The engine then goes back
//!    to the wall clock, days behind the simulated ones (the parcels' events stay dated in the
//!    simulated days, as the suppliers' are in 6.), so the served demo checks no clocks.
//!
//! Anything that did not happen as a case expects is printed as `UNEXPECTED` (and logged),
//! never hidden: the demo does not work around the engine.
//!
//! The demo keeps its own data directory, `<data-dir>/demo`, and starts its database afresh
//! at every run, so it can run any number of times; the installation's own
//! `<data-dir>/dropline.db` is never touched. With a PostgreSQL URL it seeds new stores each
//! run instead (nothing is deleted there). The simulators live as long as the demo serves.

use crate::config::Settings;
use crate::database::{Database, SQLITE_FILE};
use crate::output;
use crate::serve;
use anyhow::Context;
use clap::Args;
use dropline_app::follow::ClockReport;
use dropline_app::notify::{CUSTOMER_TEMPLATES, NotifyConfig, is_seller_template};
use dropline_app::placement::PlacementConfig;
use dropline_app::ports::MessageFilter;
use dropline_app::{App, NewOffer, NewStore, NewSupplier, ParcelAction, Scope};
use dropline_connect::cj::client::{CjClient, FreightRequest, Line as CjLine, OrderRequest as CjOrderRequest};
use dropline_connect::tracking_service::{TrackingServiceClient, TrackingServiceConfig};
use dropline_domain::address::Address;
use dropline_domain::catalog::{
    AutoAcceptRules, OfferPriority, Platform, ShippingMethod, StoreConnection, StoreSettings, SupplierConnection,
    SupplierKind, Variant,
};
use dropline_domain::ids::{OrderId, StoreId, SupplierId, SupplierOrderId};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{Order, SupplierOrder};
use dropline_domain::state::{HoldReason, OrderState, RequestStatus, ShipmentState, SupplierOrderStatus};
use dropline_domain::submission::{check_submission, requirements_for};
use dropline_sim::{
    AeSimProduct, AeSimSku, AliExpressSim, CjSim, CjVariant, DeliveryKind, OrderRun, ProductIds, Scenario,
    ScriptedEvent, ShopifySim, SimConfig, SimError, SimProduct, SimVariant, Topic, TrackingServiceSim, WebhookDelivery,
    WixSim, WooCommerceSim,
};
use dropline_web::WebConfig;
use dropline_worker::{PassReport, Worker, WorkerConfig};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Sub-folder of the data directory that the demo owns.
pub const DEMO_DIR: &str = "demo";

/// Seed of the simulated storefronts: the same credentials, customers and orders every run.
const SIM_SEED: u64 = 4;
/// Orders the main (Shopify) store receives before it launches its poster and its lamp, and
/// after (besides its test order).
const SHOPIFY_ORDERS: (usize, usize) = (28, 8);
/// Orders each of the smaller stores receives.
const SMALL_STORE_ORDERS: usize = 4;
/// Catalogue pages pulled at most per store (the demo catalogues fit in one).
const MAX_CATALOG_PAGES: usize = 20;
/// How long requests in flight get to finish when the server stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

const MAIN_STORE: &str = "Northwind Goods";
const WOO_STORE: &str = "Maple & Moss";
const WIX_STORE: &str = "Kiln & Cotton";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to serve on [default: 127.0.0.1:8080]
    #[arg(long, env = "DROPLINE_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    /// Seed and print, but do not serve afterwards (the webhooks are received on a free port)
    #[arg(long)]
    no_serve: bool,
}

pub async fn run(settings: &Settings, args: DemoArgs, json: bool) -> anyhow::Result<ExitCode> {
    let demo_dir = settings.data_dir.join(DEMO_DIR);
    let database = match Database::from_settings(settings)? {
        Database::Postgres { url } => Database::Postgres { url },
        Database::Sqlite { .. } => {
            reset_sqlite(&demo_dir)?;
            Database::Sqlite {
                path: demo_dir.join(SQLITE_FILE),
            }
        }
    };
    let backend = database.open().await?;
    let admin = serve::admin_token(&demo_dir)?;
    let listen = args.listen.clone().unwrap_or_else(|| settings.listen.clone());

    // The server is up before the first webhook arrives. Without serving afterwards, any
    // free port does (and two demos may run side by side).
    let bind = if args.no_serve { "127.0.0.1:0" } else { listen.as_str() };
    let listener = Server::listen(bind).await?;
    // The commands to try, and the tracking-page links in the customers' emails, name the
    // address the demo serves on, or would serve on.
    let base = if args.no_serve {
        format!("http://{listen}")
    } else {
        base_url_of(listener.local_addr().context("while reading the listen address")?)
    };

    // The carriers' parcels are followed through a simulated 17TRACK, on a free port.
    let carriers = TrackingServiceSim::start(TRACKING_KEY)
        .await
        .context("while starting the 17TRACK simulator")?;
    let tracking = TrackingServiceClient::new(
        TrackingServiceConfig::new(TRACKING_KEY)
            .with_api_base(carriers.base_url())
            .with_requests_per_second(None),
    )
    .map_err(|err| anyhow::anyhow!("the 17TRACK simulator cannot be used: {err}"))?;
    let clock = DemoClock::default();
    let engine_clock = clock.clone();
    // Supplier orders are polled every second instead of every six hours, and retried within a
    // second: the simulated suppliers' days pass in a moment, so the demo sees them through.
    // The engine reads the time from the demo's clock, which stands still at each simulated
    // day while the carriers' days pass, and is the wall clock otherwise.
    let app = dropline_connect::connected(App::new(backend))
        .with_placement_config(placement_config())
        .with_clock(move || engine_clock.now())
        .with_tracking_source(Arc::new(tracking))
        .with_notify_config(NotifyConfig {
            public_url: Some(base.clone()),
            ..NotifyConfig::default()
        });
    let server = Server::start(&app, listener, admin.token.clone())?;
    let seeded = seed(&app, &server.base_url(), carriers, &clock)
        .await
        .context("while seeding the demo")?;
    let report = Report::gather(&app, &seeded).await?;
    let seller = dashboard_seller(&app, seeded.stores[0].id).await?;

    if json {
        print_json(&seeded, &report, &admin, &demo_dir, &database, (&base, &seller))?;
    } else {
        print_summary(&seeded, &report, &admin, &demo_dir, &database, &base)?;
    }
    let dashboard = format!(
        "open the dashboard: {base}/sign-in?email={} and sign in with the password {} (the seller of {})",
        seller.0, seller.1, seeded.stores[0].name
    );
    if !json && args.no_serve {
        println!();
        println!("{dashboard}");
    }
    if args.no_serve {
        return server.stop().await;
    }

    // Serving: the worker keeps running jobs (routing the orders accepted last, writing back
    // to the simulators) until Ctrl-C; the simulators answer as long as the demo runs. The
    // engine is back on the wall clock, days behind the carriers' simulated days: checking
    // the clocks now would clear the exceptions those days raised, so the served demo leaves
    // them be.
    let worker = Worker::new(
        app.clone(),
        WorkerConfig {
            schedule_every: None,
            ..WorkerConfig::default()
        },
    );
    let (stop_worker, worker_stopped) = watch::channel(false);
    let worker_task = tokio::spawn(async move { worker.run(worker_stopped).await });
    if !json {
        println!();
        println!("dropline demo is listening on {} (Ctrl-C to stop)", server.base_url());
        println!("{dashboard}");
    }
    tracing::info!(address = %server.address, "serving");
    serve::shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight and the worker's current jobs");
    let _ = stop_worker.send(true);
    let stopped = server.stop().await;
    worker_task.await.context("the worker task failed")?;
    drop(seeded);
    stopped
}

/// Removes the demo's previous database (the admin token file stays, so the token is stable).
fn reset_sqlite(demo_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(demo_dir).with_context(|| format!("while creating {}", demo_dir.display()))?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = PathBuf::from(format!("{}{suffix}", demo_dir.join(SQLITE_FILE).display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err).with_context(|| format!("while removing the old demo file {}", path.display()));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The HTTP server
// ---------------------------------------------------------------------------------------------

/// dropline's HTTP server (the API and the webhook receivers), running in the background.
struct Server {
    address: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Listens on `listen`, before the app exists (its emails name the address).
    async fn listen(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
        tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("while listening on {listen}"))
    }

    fn start(app: &App, listener: tokio::net::TcpListener, admin_token: String) -> anyhow::Result<Self> {
        let address = listener.local_addr().context("while reading the listen address")?;
        let router = dropline_web::router(app.clone(), WebConfig { admin_token });
        let (stop, mut stopping) = watch::channel(false);
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            })
            .await
        });
        Ok(Self { address, stop, task })
    }

    /// Where this machine reaches the server: the loopback address when it listens on every
    /// interface.
    fn base_url(&self) -> String {
        base_url_of(self.address)
    }

    /// Stops accepting, and lets the requests in flight finish (for a while).
    async fn stop(self) -> anyhow::Result<ExitCode> {
        let _ = self.stop.send(true);
        match tokio::time::timeout(DRAIN_TIMEOUT, self.task).await {
            Ok(joined) => joined
                .context("the HTTP server task failed")?
                .context("while serving HTTP")?,
            Err(_) => tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}: closing them"),
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Where this machine reaches a server listening on `address`: the loopback address when it
/// listens on every interface.
fn base_url_of(address: SocketAddr) -> String {
    let ip = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => Ipv4Addr::LOCALHOST.into(),
        ip if ip.is_unspecified() => Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

// ---------------------------------------------------------------------------------------------
// The simulated storefronts
// ---------------------------------------------------------------------------------------------

/// One simulated storefront.
enum Sim {
    Shopify(ShopifySim),
    WooCommerce(WooCommerceSim),
    Wix(WixSim),
}

impl Sim {
    fn platform(&self) -> Platform {
        match self {
            Self::Shopify(_) => Platform::Shopify,
            Self::WooCommerce(_) => Platform::Woocommerce,
            Self::Wix(_) => Platform::Wix,
        }
    }

    /// The platform's name for people.
    fn label(&self) -> &'static str {
        match self {
            Self::Shopify(_) => "Shopify",
            Self::WooCommerce(_) => "WooCommerce",
            Self::Wix(_) => "Wix",
        }
    }

    fn base_url(&self) -> &str {
        match self {
            Self::Shopify(sim) => sim.base_url(),
            Self::WooCommerce(sim) => sim.base_url(),
            Self::Wix(sim) => sim.base_url(),
        }
    }

    fn set_webhook_url(&self, url: &str) {
        match self {
            Self::Shopify(sim) => sim.set_webhook_url(url),
            Self::WooCommerce(sim) => sim.set_webhook_url(url),
            Self::Wix(sim) => sim.set_webhook_url(url),
        }
    }

    /// Every order of the storefront, in the order they were created.
    fn order_ids(&self) -> Vec<String> {
        match self {
            Self::Shopify(sim) => sim.order_ids(),
            Self::WooCommerce(sim) => sim.order_ids(),
            Self::Wix(sim) => sim.order_ids(),
        }
    }

    /// How dropline reaches the storefront: its API on the simulator, its credentials and the
    /// secret its webhooks are signed with.
    fn connection(&self) -> StoreConnection {
        match self {
            Self::Shopify(sim) => StoreConnection {
                domain: Some(sim.shop_domain().to_string()),
                api_base: Some(sim.base_url().to_string()),
                access_token: Some(sim.access_token().to_string()),
                webhook_secrets: vec![sim.webhook_secret().to_string()],
                ..StoreConnection::default()
            },
            Self::WooCommerce(sim) => StoreConnection {
                domain: Some(host_of(sim.site_url())),
                api_base: Some(sim.base_url().to_string()),
                api_key: Some(sim.consumer_key().to_string()),
                api_secret: Some(sim.consumer_secret().to_string()),
                webhook_secrets: vec![sim.webhook_secret().to_string()],
                ..StoreConnection::default()
            },
            Self::Wix(sim) => StoreConnection {
                api_base: Some(sim.base_url().to_string()),
                access_token: Some(sim.api_key().to_string()),
                api_key: Some(sim.site_id().to_string()),
                webhook_secrets: vec![sim.public_key_pem().to_string()],
                ..StoreConnection::default()
            },
        }
    }

    async fn deliver_orders(&self, count: usize, scenario: &Scenario) -> Result<Vec<OrderRun>, SimError> {
        match self {
            Self::Shopify(sim) => sim.deliver_orders(count, scenario).await,
            Self::WooCommerce(sim) => sim.deliver_orders(count, scenario).await,
            Self::Wix(sim) => sim.deliver_orders(count, scenario).await,
        }
    }

    fn add_product(&self, product: SimProduct) -> Result<ProductIds, SimError> {
        match self {
            Self::Shopify(sim) => sim.add_product(product),
            Self::WooCommerce(sim) => sim.add_product(product),
            Self::Wix(sim) => sim.add_product(product),
        }
    }

    async fn send(&self, order_id: &str, topic: Topic) -> Result<WebhookDelivery, SimError> {
        match self {
            Self::Shopify(sim) => sim.send(order_id, topic).await,
            Self::WooCommerce(sim) => sim.send(order_id, topic).await,
            Self::Wix(sim) => sim.send(order_id, topic).await,
        }
    }

    /// What dropline wrote back to the storefront, read from the simulator's own records.
    fn written_back(&self) -> WrittenBack {
        let mut written = WrittenBack::default();
        let order_ids = self.order_ids();
        match self {
            Self::Shopify(sim) => {
                for fulfillment in order_ids.iter().flat_map(|id| sim.fulfillments(id)) {
                    written.shipments += 1;
                    written.with_tracking += usize::from(fulfillment.tracking_number.is_some());
                    written.delivered += usize::from(fulfillment.shipment_status.as_deref() == Some("delivered"));
                }
                written.cancelled = sim
                    .requests()
                    .iter()
                    .filter(|r| r.method == "POST" && r.path.ends_with("/cancel.json") && r.status == 200)
                    .count();
            }
            Self::WooCommerce(sim) => {
                for id in &order_ids {
                    let tracking = sim.tracking_items(id);
                    written.shipments += tracking.len();
                    written.with_tracking += tracking.iter().filter(|t| !t.tracking_number.is_empty()).count();
                    written.notes += sim.notes(id).iter().filter(|n| n.author != "system").count();
                    match sim.status(id).as_deref() {
                        Some("completed") => written.completed += 1,
                        Some("cancelled") => written.cancelled += 1,
                        _ => {}
                    }
                }
            }
            Self::Wix(sim) => {
                for fulfillment in order_ids.iter().flat_map(|id| sim.fulfillments(id)) {
                    written.shipments += 1;
                    written.with_tracking += usize::from(fulfillment.tracking_number.is_some());
                }
                written.cancelled = sim
                    .requests()
                    .iter()
                    .filter(|r| r.method == "POST" && r.path.ends_with("/cancel") && r.status == 200)
                    .count();
            }
        }
        written
    }
}

/// `https://maple-moss.example/` is `maple-moss.example`.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// What the worker wrote back to one storefront.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
struct WrittenBack {
    /// Shopify and Wix fulfillments, WooCommerce shipment trackings.
    shipments: usize,
    /// Of those, the ones carrying a tracking number.
    with_tracking: usize,
    /// Shopify fulfillments marked delivered.
    delivered: usize,
    /// WooCommerce order notes (shipped, delivered).
    notes: usize,
    /// WooCommerce orders set `completed` (everything shipped).
    completed: usize,
    /// Orders cancelled by the seller in dropline, cancelled on the platform too.
    cancelled: usize,
}

impl WrittenBack {
    fn describe(&self, platform: Platform) -> String {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        match platform {
            Platform::Woocommerce => {
                parts.push(plural(self.shipments, "shipment tracking", "shipment trackings"));
                parts.push(plural(self.notes, "order note", "order notes"));
                parts.push(format!("{} set completed", plural(self.completed, "order", "orders")));
            }
            _ => {
                parts.push(format!(
                    "{} with tracking",
                    plural(self.with_tracking, "fulfillment", "fulfillments")
                ));
                if self.shipments > self.with_tracking {
                    parts.push(format!("{} without", self.shipments - self.with_tracking));
                }
                if platform == Platform::Shopify {
                    parts.push(format!("{} marked delivered", self.delivered));
                }
            }
        }
        if self.cancelled > 0 {
            parts.push(plural(self.cancelled, "cancellation", "cancellations"));
        }
        parts.join(", ")
    }
}

/// The webhooks one storefront sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
struct Webhooks {
    /// Deliveries sent, copies included (retries of one delivery count once).
    sent: usize,
    /// Of those, the extra copies of a delivery and the stale redeliveries.
    copies: usize,
    /// Deliveries dropline answered with success.
    accepted: usize,
}

impl Webhooks {
    /// Counts a delivery; dropline must have taken it.
    fn add(&mut self, platform: &str, delivery: &WebhookDelivery) -> anyhow::Result<()> {
        self.sent += 1;
        self.copies += usize::from(delivery.kind != DeliveryKind::First);
        self.accepted += usize::from(delivery.accepted);
        anyhow::ensure!(
            delivery.accepted,
            "dropline did not take the {platform} webhook {} of order {} (status {})",
            delivery.platform_topic,
            delivery.order_id,
            delivery
                .status()
                .map_or_else(|| "none: no answer".to_string(), |s| s.to_string())
        );
        Ok(())
    }

    fn add_runs(&mut self, platform: &str, runs: &[OrderRun]) -> anyhow::Result<()> {
        for delivery in runs.iter().flat_map(|run| &run.deliveries) {
            self.add(platform, delivery)?;
        }
        Ok(())
    }
}

/// The main store's products, as its Shopify store sells them in the end.
#[cfg(test)]
fn northwind_catalogue() -> Vec<SimProduct> {
    let mut products = everyday_catalogue();
    products.extend(launched_products());
    products
}

/// The products the main store launches while the demo runs.
fn launched_products() -> Vec<SimProduct> {
    vec![
        SimProduct::new("Night sky poster").variant(SimVariant::new("POSTER-A2", "19.00").option("Size", "A2")),
        SimProduct::new("Linen desk lamp")
            .variant(SimVariant::new("LAMP-LIN", "59.00").option("Shade", "Natural linen")),
    ]
}

/// Mugs and T-shirts: what every demo store sells.
fn everyday_catalogue() -> Vec<SimProduct> {
    vec![
        SimProduct::new("Ceramic mug")
            .variant(
                SimVariant::new("MUG-BLK-11", "14.00")
                    .option("Color", "Black")
                    .option("Size", "11 oz"),
            )
            .variant(
                SimVariant::new("MUG-WHT-11", "14.00")
                    .option("Color", "White")
                    .option("Size", "11 oz"),
            ),
        SimProduct::new("Organic T-shirt")
            .variant(
                SimVariant::new("TSHIRT-W-M", "24.00")
                    .option("Color", "White")
                    .option("Size", "M"),
            )
            .variant(
                SimVariant::new("TSHIRT-B-L", "24.00")
                    .option("Color", "Black")
                    .option("Size", "L"),
            ),
    ]
}

/// SKUs every supplier has in stock and ships anywhere: the seller reviews those orders by
/// hand; orders with the poster or the lamp are accepted, and routing decides.
const EVERYDAY_SKUS: &[&str] = &["MUG-BLK-11", "MUG-WHT-11", "TSHIRT-W-M", "TSHIRT-B-L"];

// ---------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------

/// A demo store and the simulated storefront it is connected to.
struct DemoStore {
    id: StoreId,
    name: String,
    platform: Platform,
    token: String,
    webhook_url: String,
    sim: Sim,
    webhooks: Webhooks,
    casting: &'static Casting,
    /// Its suppliers, in the order of [`SUPPLIERS`].
    suppliers: Vec<SupplierId>,
    /// SKUs given their offers.
    offered: HashSet<String>,
    /// How often the catalogue was pulled.
    catalog_pulls: usize,
    /// Variants in the catalogue after the last pull.
    variants: usize,
    /// What changed on the storefront while its orders came in, for people.
    changes: Vec<String>,
}

/// An order of the demo and what the demo does with it.
struct Tracked {
    /// Index of its store in [`Seeded::stores`].
    store: usize,
    id: OrderId,
    external_id: String,
    plan: Plan,
}

/// What the demo created; the simulators stop when it is dropped.
struct Seeded {
    /// The main (Shopify) store first.
    stores: Vec<DemoStore>,
    /// Every order, store by store, in the order the storefronts created them.
    orders: Vec<Tracked>,
    /// The jobs the worker ran while seeding (routing, placement, polls, write-back).
    jobs: PassReport,
    /// The suppliers with an API (their simulators) and what they were shown.
    sourcing: Sourcing,
    /// The simulated 17TRACK, and what the carriers' days showed.
    carriers: TrackingServiceSim,
    after_shipping: AfterShipping,
}

/// Where an order of the demo should end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Left as it arrived: held at ingest, cancelled by the customer, a test order, or
    /// accepted by the store's rule (then given a routed plan).
    AsArrived,
    /// Left for the seller to review.
    Review,
    /// Accepted after the worker's last pass: routing is still to come.
    Accept,
    Reject,
    /// Cancelled while in review.
    CancelInReview,
    /// Accepted now; routing sends it to suppliers or holds it (out of stock, cannot ship
    /// there), and then it gets one of the plans below.
    Route,
    /// Routed, then cancelled (its supplier orders are cancelled with it).
    CancelAfterRouting,
    /// Routed; the supplier orders wait to be placed.
    Fulfill,
    /// Routed and placed with the supplier (its order id recorded), no parcel yet.
    Placed,
    /// Two supplier orders, one parcel shipped.
    PartlyShip,
    /// Shipped; the carrier has the parcel on a slow lane, still on its way when the demo's
    /// days end.
    Ship,
    /// Two supplier orders, both shipped, one delivered (marked by hand), the other on its
    /// way.
    PartlyDeliver,
    /// Shipped; the carrier delivers it as the simulated days pass (17TRACK says so), on time,
    /// late out of customs, or at a second attempt.
    Deliver,
    /// Shipped, the carrier could not deliver.
    FailDelivery,
    /// Failed, re-shipped with a new parcel, then delivered.
    ReshipAndDeliver,
    /// Delivered, then completed when the return window is over.
    Complete,
    /// An order of the products bought from CJ and AliExpress: accepted (by the store's rule
    /// or the seller), placed by the worker through the suppliers' APIs and followed.
    Sourced,
}

impl Plan {
    /// Whether the plan needs an order with at least two supplier orders.
    fn needs_two(self) -> bool {
        matches!(self, Self::PartlyShip | Self::PartlyDeliver)
    }

    /// Whether the vendor ships parcels for it.
    fn ships(self) -> bool {
        matches!(
            self,
            Self::PartlyShip
                | Self::Ship
                | Self::PartlyDeliver
                | Self::Deliver
                | Self::FailDelivery
                | Self::ReshipAndDeliver
                | Self::Complete
        )
    }
}

/// Which plans a store's orders get.
struct Casting {
    /// Taken, in turn, by the store's orders of everyday products left in review; the others
    /// are accepted and routed.
    in_review: &'static [Plan],
    /// Taken, in turn, by the routed orders (the plans needing two supplier orders by orders
    /// that have them).
    routed: &'static [Plan],
    /// Then, in a cycle, by the routed orders left.
    extra: &'static [Plan],
}

/// The main store goes through every state. Its orders are not re-shipped: a re-shipped
/// parcel is not written back as a fulfillment, so Shopify would refuse its delivery.
const SHOPIFY_CASTING: Casting = Casting {
    in_review: &[
        Plan::Review,
        Plan::Reject,
        Plan::Review,
        Plan::CancelInReview,
        Plan::Accept,
        Plan::Reject,
        Plan::Accept,
    ],
    routed: &[
        Plan::PartlyShip,
        Plan::PartlyDeliver,
        Plan::Deliver,
        Plan::Ship,
        Plan::Complete,
        Plan::Placed,
        Plan::FailDelivery,
        Plan::CancelAfterRouting,
        Plan::Fulfill,
    ],
    extra: &[Plan::Ship, Plan::Deliver, Plan::Placed, Plan::Complete, Plan::Fulfill],
};

const WOO_CASTING: Casting = Casting {
    in_review: &[],
    routed: &[Plan::Deliver, Plan::ReshipAndDeliver, Plan::Ship],
    extra: &[Plan::Deliver],
};

const WIX_CASTING: Casting = Casting {
    in_review: &[Plan::Review],
    routed: &[Plan::Deliver, Plan::Ship, Plan::CancelAfterRouting],
    extra: &[Plan::Ship],
};

async fn seed(app: &App, dropline: &str, carriers: TrackingServiceSim, clock: &DemoClock) -> anyhow::Result<Seeded> {
    let usd = Currency::parse("USD")?;
    let shopify = ShopifySim::start(
        SimConfig::new(SIM_SEED)
            .shop_name(MAIN_STORE)
            .catalogue(everyday_catalogue())
            .unpaid(0.1)
            .invalid_addresses(0.1),
    )
    .await
    .context("while starting the Shopify simulator")?;
    let woo = WooCommerceSim::start(
        SimConfig::new(SIM_SEED + 1)
            .shop_name(WOO_STORE)
            .catalogue(everyday_catalogue()),
    )
    .await
    .context("while starting the WooCommerce simulator")?;
    let wix = WixSim::start(
        SimConfig::new(SIM_SEED + 2)
            .shop_name(WIX_STORE)
            .catalogue(everyday_catalogue()),
    )
    .await
    .context("while starting the Wix simulator")?;
    // And two suppliers with an API, where the worker places orders by itself.
    let supplier_sims = SupplierSims::start().await?;

    let main_settings = StoreSettings {
        // Automation for one product first: paid orders of black mugs alone under $100.
        auto_accept: AutoAcceptRules {
            enabled: true,
            require_paid: true,
            max_total_minor: Some(10_000),
            allowed_skus: vec!["MUG-BLK-11".into()],
        },
        ..StoreSettings::default()
    };
    let specs = [
        StoreSpec {
            sim: Sim::Shopify(shopify),
            name: MAIN_STORE,
            settings: main_settings,
            address: Some(main_store_address()),
            casting: &SHOPIFY_CASTING,
        },
        StoreSpec {
            sim: Sim::WooCommerce(woo),
            name: WOO_STORE,
            settings: StoreSettings::default(),
            address: None,
            casting: &WOO_CASTING,
        },
        StoreSpec {
            sim: Sim::Wix(wix),
            name: WIX_STORE,
            settings: StoreSettings::default(),
            address: None,
            casting: &WIX_CASTING,
        },
    ];
    let mut stores = Vec::new();
    for spec in specs {
        let (label, name) = (spec.sim.label(), spec.name);
        let store = connect_store(app, spec, dropline, usd)
            .await
            .with_context(|| format!("while connecting the {label} store {name}"))?;
        stores.push(store);
    }

    receive_orders(app, &mut stores, usd).await?;
    let mut orders = Vec::new();
    for (index, store) in stores.iter().enumerate() {
        for external_id in store.sim.order_ids() {
            let order = find_order(app, store, &external_id).await?;
            orders.push(Tracked {
                store: index,
                id: order.id,
                external_id,
                plan: Plan::AsArrived,
            });
        }
    }

    let worker = Worker::new(app.clone(), WorkerConfig::default());
    let mut jobs = PassReport::default();

    // The seller reviews: rejects some, cancels one and accepts those to be routed now; the
    // worker routes them (supplier orders, or a hold).
    review(app, &stores, &mut orders).await?;
    drain(&worker, &mut jobs).await?;
    cast_routed(app, &stores, &mut orders).await?;

    // The vendor works the manual supplier orders: first the parcels (the worker writes them
    // back as fulfillments), then what became of them (written back as deliveries).
    for (n, tracked) in orders.iter().enumerate() {
        ship(app, n, tracked)
            .await
            .with_context(|| format!("while fulfilling demo order {}", tracked.external_id))?;
    }
    drain(&worker, &mut jobs).await?;
    for (n, tracked) in orders.iter().enumerate() {
        settle(app, n, tracked)
            .await
            .with_context(|| format!("while settling demo order {}", tracked.external_id))?;
    }
    drain(&worker, &mut jobs).await?;

    // The WooCommerce store launches products bought from CJ and AliExpress: the worker places
    // their supplier orders through the suppliers' APIs and follows them to the door.
    let sourcing = source_from_suppliers(
        app,
        dropline,
        &mut stores,
        &mut orders,
        supplier_sims,
        &worker,
        &mut jobs,
        usd,
    )
    .await
    .context("while placing supplier orders through the suppliers' APIs")?;

    // The carriers' days pass: 17TRACK follows the parcels to the door, the clocks of every
    // order are checked each day, and the sellers get their digest.
    let after_shipping = follow_parcels(app, &worker, &mut jobs, &carriers, clock, &stores, &orders)
        .await
        .context("while following the parcels through 17TRACK")?;

    // Last, accept a few more: routing them is the worker's next job (the served demo runs it).
    for tracked in orders.iter().filter(|t| t.plan == Plan::Accept) {
        app.accept_order(Scope::Operator, tracked.id).await?;
    }

    Ok(Seeded {
        stores,
        orders,
        jobs,
        sourcing,
        carriers,
        after_shipping,
    })
}

/// Runs the jobs that are due (routing, write-back) until none is left, and counts them.
async fn drain(worker: &Worker, jobs: &mut PassReport) -> anyhow::Result<()> {
    let pass = worker.run_until_idle().await.context("while running the worker")?;
    jobs.succeeded += pass.succeeded;
    jobs.retried += pass.retried;
    jobs.buried += pass.buried;
    Ok(())
}

/// A demo store to create: its storefront, name, settings and plans.
struct StoreSpec {
    sim: Sim,
    name: &'static str,
    settings: StoreSettings,
    address: Option<Address>,
    casting: &'static Casting,
}

/// Creates the store connected to its simulator, points the simulator's webhooks at it, adds
/// its suppliers, pulls the catalogue and gives the pulled variants their supplier offers.
async fn connect_store(app: &App, spec: StoreSpec, dropline: &str, usd: Currency) -> anyhow::Result<DemoStore> {
    let StoreSpec {
        sim,
        name,
        settings,
        address,
        casting,
    } = spec;
    let platform = sim.platform();
    // The seller hears of every order and exception, and gets a digest whatever the hour.
    let mut settings = settings;
    settings.seller_notifications.email = Some(seller_email(name));
    settings.seller_notifications.digest_hour_utc = 0;
    let (record, token) = app
        .create_store(
            Scope::Operator,
            NewStore {
                name: name.to_string(),
                platform,
                currency: usd,
                address,
                settings,
                connection: sim.connection(),
            },
        )
        .await?;
    let id = record.store.id;
    let webhook_url = format!("{dropline}/webhooks/{platform}/{id}");
    sim.set_webhook_url(&webhook_url);
    let suppliers = create_suppliers(app, id).await?;
    let mut store = DemoStore {
        id,
        name: name.to_string(),
        platform,
        token,
        webhook_url,
        sim,
        webhooks: Webhooks::default(),
        casting,
        suppliers,
        offered: HashSet::new(),
        catalog_pulls: 0,
        variants: 0,
        changes: Vec::new(),
    };
    pull_catalog(app, &mut store, usd).await?;
    Ok(store)
}

/// `owner@maple-moss.example` for "Maple & Moss".
fn seller_email(store: &str) -> String {
    let words: Vec<String> = store
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("owner@{}.example", words.join("-"))
}

/// Pulls the store's catalogue from its storefront, page by page, and gives the variants
/// that have none yet their supplier offers.
async fn pull_catalog(app: &App, store: &mut DemoStore, usd: Currency) -> anyhow::Result<()> {
    let mut cursor: Option<String> = None;
    for page in 1.. {
        let (_, next) = app
            .import_catalog_page(Scope::Operator, store.id, cursor.as_deref())
            .await
            .with_context(|| format!("while pulling page {page} of the {} catalogue", store.sim.label()))?;
        match next {
            None => break,
            Some(_) if page >= MAX_CATALOG_PAGES => {
                anyhow::bail!(
                    "the {} catalogue has more than {MAX_CATALOG_PAGES} pages",
                    store.sim.label()
                )
            }
            next => cursor = next,
        }
    }
    store.catalog_pulls += 1;
    let variants: Vec<Variant> = app
        .list_products(Scope::Operator, Some(store.id))
        .await?
        .into_iter()
        .flat_map(|product| product.variants)
        .collect();
    anyhow::ensure!(
        !variants.is_empty(),
        "the catalogue pulled from {} is empty",
        store.sim.label()
    );
    store.variants = variants.len();
    add_offers(app, store, usd, &variants).await
}

/// The main store's own address: a supplier order is never shipped there.
fn main_store_address() -> Address {
    Address {
        first_name: "Northwind".into(),
        last_name: "Goods".into(),
        company: Some("Northwind Goods LLC".into()),
        address1: "500 Terry A Francois Blvd".into(),
        address2: None,
        city: "San Francisco".into(),
        region: Some("CA".into()),
        postal_code: "94158".into(),
        country_code: "US".into(),
        phone: Some("+1 415 555 0100".into()),
    }
}

/// The simulators send their orders, as webhooks over HTTP.
async fn receive_orders(app: &App, stores: &mut [DemoStore], usd: Currency) -> anyhow::Result<()> {
    let [main, woo, wix] = stores else {
        anyhow::bail!("the demo has three stores");
    };
    let label = main.sim.label();

    // Shopify: three copies of every webhook (one racing the first), and the creation sent
    // once more at the end, stale. Midway, the shop launches two products; dropline pulls the
    // catalogue again and the new variants get their offers.
    let scenario = Scenario::new().duplicates(2, 1).stale_redelivery();
    let (before, after) = SHOPIFY_ORDERS;
    let runs = main
        .sim
        .deliver_orders(before, &scenario)
        .await
        .context("while the Shopify simulator delivered its orders")?;
    main.webhooks.add_runs(label, &runs)?;
    for product in launched_products() {
        main.sim.add_product(product)?;
    }
    pull_catalog(app, main, usd).await?;
    main.changes.push(format!(
        "a poster and a lamp launched after {before} orders: the catalogue was pulled again"
    ));
    let runs = main
        .sim
        .deliver_orders(after, &scenario)
        .await
        .context("while the Shopify simulator delivered its orders")?;
    main.webhooks.add_runs(label, &runs)?;

    // Then a few changes on the storefront: one unpaid order is paid, one address is corrected
    // (both leave their hold), one order in review is cancelled by the customer.
    let mut follow_ups = Vec::new();
    let mut cancelled = false;
    let (mut paid, mut corrected) = (false, false);
    for external_id in main.sim.order_ids() {
        let order = find_order(app, main, &external_id).await?;
        let only = |reason: HoldReason| order.state == OrderState::OnHold && order.hold_reasons == [reason];
        if !paid && only(HoldReason::PaymentNotCaptured) {
            paid = true;
            follow_ups.push((external_id, Topic::Paid));
        } else if !corrected && only(HoldReason::InvalidAddress) {
            corrected = true;
            follow_ups.push((external_id, Topic::Updated));
        } else if !cancelled && order.state == OrderState::PendingReview && !order.test {
            cancelled = true;
            follow_ups.push((external_id, Topic::Cancelled));
        }
    }
    // And the shop makes a test order.
    if let Sim::Shopify(shopify) = &main.sim {
        follow_ups.push((shopify.create_test_order()?, Topic::Created));
    }
    for (external_id, topic) in follow_ups {
        let delivery = main
            .sim
            .send(&external_id, topic)
            .await
            .with_context(|| format!("while the Shopify simulator sent {topic:?} for order {external_id}"))?;
        main.webhooks.add(label, &delivery)?;
        let order = find_order(app, main, &external_id).await?;
        let (number, state) = (order.number, order.state);
        main.changes.push(match topic {
            Topic::Paid => format!("{number} paid after it arrived; dropline moved it to {state}"),
            Topic::Updated => format!("{number} got a corrected shipping address; dropline moved it to {state}"),
            Topic::Cancelled => format!("{number} cancelled by the customer; dropline moved it to {state}"),
            Topic::Created => format!("{number} is a test order ({state}, never sent to a supplier)"),
        });
    }

    // The smaller stores: every webhook twice, on Wix the copy at the same moment.
    for (store, scenario) in [
        (woo, Scenario::new().duplicates(1, 0)),
        (wix, Scenario::new().duplicates(1, 1)),
    ] {
        let label = store.sim.label();
        let runs = store
            .sim
            .deliver_orders(SMALL_STORE_ORDERS, &scenario)
            .await
            .with_context(|| format!("while the {label} simulator delivered its orders"))?;
        store.webhooks.add_runs(label, &runs)?;
    }
    Ok(())
}

/// The order a storefront order became in dropline.
async fn find_order(app: &App, store: &DemoStore, external_id: &str) -> anyhow::Result<Order> {
    app.backend()
        .order_by_external_id(store.id, external_id)
        .await?
        .with_context(|| format!("{} order {external_id} never reached dropline", store.sim.label()))
}

/// The seller's review: the everyday orders in review get the store's review plans in turn;
/// the rest (and orders with the poster or the lamp) are accepted, for routing.
async fn review(app: &App, stores: &[DemoStore], orders: &mut [Tracked]) -> anyhow::Result<()> {
    let mut turns: Vec<std::slice::Iter<'_, Plan>> = stores.iter().map(|s| s.casting.in_review.iter()).collect();
    for tracked in orders.iter_mut() {
        let order = app.get_order(Scope::Operator, tracked.id).await?;
        if order.state != OrderState::PendingReview || order.test {
            continue;
        }
        let everyday = order
            .lines
            .iter()
            .all(|line| EVERYDAY_SKUS.contains(&line.sku.as_str()));
        let plan = if everyday {
            turns[tracked.store].next().copied().unwrap_or(Plan::Route)
        } else {
            Plan::Route
        };
        match plan {
            Plan::Reject => {
                app.reject_order(Scope::Operator, tracked.id).await?;
            }
            Plan::CancelInReview => {
                app.cancel_order(Scope::Operator, tracked.id).await?;
            }
            Plan::Route => {
                app.accept_order(Scope::Operator, tracked.id).await?;
            }
            _ => {}
        }
        tracked.plan = plan;
    }
    Ok(())
}

/// Gives every order in fulfillment (routed now, or accepted by the store's rule when it
/// arrived) its routed plan.
async fn cast_routed(app: &App, stores: &[DemoStore], orders: &mut [Tracked]) -> anyhow::Result<()> {
    let mut turns: Vec<Vec<Plan>> = stores.iter().map(|s| s.casting.routed.to_vec()).collect();
    let mut extras: Vec<_> = stores.iter().map(|s| s.casting.extra.iter().cycle()).collect();
    for tracked in orders.iter_mut() {
        let order = app.get_order(Scope::Operator, tracked.id).await?;
        if order.state != OrderState::InFulfillment {
            continue;
        }
        let two = order.supplier_orders.len() >= 2;
        let turn = &mut turns[tracked.store];
        tracked.plan = match turn.iter().position(|plan| two || !plan.needs_two()) {
            Some(index) => turn.remove(index),
            None => extras[tracked.store].next().copied().unwrap_or(Plan::Fulfill),
        };
    }
    Ok(())
}

/// Parcel carriers and tracking number stems, one picked per order.
const CARRIERS: [(&str, &str); 4] = [
    ("USPS", "9400111899223344556677"),
    ("DHL", "JD014600003828"),
    ("Royal Mail", "RM1234567"),
    ("Cainiao", "LP0012345678"),
];

/// The tracking number of parcel `k` of demo order `n`.
fn tracking(n: usize, k: usize) -> (&'static str, String) {
    let (carrier, base) = CARRIERS[n % CARRIERS.len()];
    (carrier, format!("{base}{n:02}{k}"))
}

/// What the vendor does first with the supplier orders of one routed order, by its plan:
/// cancel the order, or place the supplier orders (record the supplier's order id) and ship
/// parcels.
async fn ship(app: &App, n: usize, tracked: &Tracked) -> anyhow::Result<()> {
    let plan = tracked.plan;
    if plan == Plan::CancelAfterRouting {
        app.cancel_order(Scope::Operator, tracked.id).await?;
        return Ok(());
    }
    if plan != Plan::Placed && !plan.ships() {
        return Ok(());
    }
    let order = app.get_order(Scope::Operator, tracked.id).await?;
    let number = order.number.trim_start_matches('#').to_string();
    for (k, supplier_order) in order.supplier_orders.iter().enumerate() {
        let reference = format!("SO-{number}-{}", k + 1);
        app.record_supplier_reference(
            Scope::Operator,
            supplier_order.id,
            &reference,
            Some(supplier_order.expected_cost),
        )
        .await?;
        if !plan.ships() || (plan == Plan::PartlyShip && k > 0) {
            continue;
        }
        let (carrier, number) = tracking(n, k);
        app.add_shipment(Scope::Operator, supplier_order.id, carrier, &number, None)
            .await?;
        app.mark_parcel(Scope::Operator, supplier_order.id, None, ParcelAction::Shipped, None)
            .await?;
    }
    Ok(())
}

/// What the vendor saw become of the parcels: delivered, failed, re-shipped; and the order
/// completed. The parcels of [`Plan::Deliver`] are left to the carrier ([`follow_parcels`]).
async fn settle(app: &App, n: usize, tracked: &Tracked) -> anyhow::Result<()> {
    let plan = tracked.plan;
    if !plan.ships() || matches!(plan, Plan::PartlyShip | Plan::Ship | Plan::Deliver) {
        return Ok(());
    }
    let order = app.get_order(Scope::Operator, tracked.id).await?;
    for (k, supplier_order) in order.supplier_orders.iter().enumerate() {
        let id = supplier_order.id;
        let deliver = match plan {
            Plan::Complete => true,
            Plan::PartlyDeliver => k == 0,
            _ => false,
        };
        if deliver {
            app.mark_parcel(
                Scope::Operator,
                id,
                None,
                ParcelAction::Delivered,
                Some("Left at the front door".into()),
            )
            .await?;
        }
        if matches!(plan, Plan::FailDelivery | Plan::ReshipAndDeliver) {
            app.mark_parcel(
                Scope::Operator,
                id,
                None,
                ParcelAction::Failed,
                Some("Recipient not at home; returned to depot".into()),
            )
            .await?;
        }
        if plan == Plan::ReshipAndDeliver {
            let (carrier, number) = tracking(n, k + 5);
            app.reship(Scope::Operator, id, None, carrier, &number).await?;
            app.mark_parcel(Scope::Operator, id, None, ParcelAction::Shipped, None)
                .await?;
            app.mark_parcel(Scope::Operator, id, None, ParcelAction::Delivered, None)
                .await?;
        }
    }
    if plan == Plan::Complete {
        app.complete_order(Scope::Operator, tracked.id).await?;
    }
    Ok(())
}

/// The store's three manual suppliers, in the order of [`SUPPLIERS`].
async fn create_suppliers(app: &App, store_id: StoreId) -> anyhow::Result<Vec<SupplierId>> {
    let mut suppliers = Vec::with_capacity(SUPPLIERS.len());
    for (name, from, processing_days, rating) in SUPPLIERS {
        let supplier = NewSupplier {
            store_id,
            name: name.into(),
            kind: SupplierKind::Manual,
            ships_from: Some(from.into()),
            processing_days,
            rating,
            processing_deadline_days: None,
            connection: Default::default(),
            agent_layout: None,
            return_policy: Default::default(),
        };
        suppliers.push(app.create_supplier(Scope::Operator, supplier).await?.id);
    }
    Ok(suppliers)
}

/// Offers for the store's variants by SKU, for those that have none yet: mugs and T-shirts
/// with a primary and a backup offer, a poster out of stock everywhere, a lamp that ships
/// within the EU only. SKUs the store does not sell get no offer.
async fn add_offers(app: &App, store: &mut DemoStore, usd: Currency, variants: &[Variant]) -> anyhow::Result<()> {
    for variant in variants {
        if store.offered.contains(&variant.sku) {
            continue;
        }
        for row in OFFERS.iter().filter(|row| row.sku == variant.sku) {
            let offer = NewOffer {
                units: 1,
                variant_id: variant.id,
                supplier_id: store.suppliers[row.supplier],
                supplier_sku: row.supplier_sku.into(),
                supplier_product_id: None,
                supplier_variant_id: None,
                product_url: row.url.map(Into::into),
                unit_cost: Money::new(row.cost, usd),
                stock: Some(row.stock),
                shipping: row.lanes.methods(usd),
                priority: row.priority,
            };
            app.add_offer(Scope::Operator, offer)
                .await
                .with_context(|| format!("while adding the offer {} for {}", row.supplier_sku, row.sku))?;
        }
        store.offered.insert(variant.sku.clone());
    }
    Ok(())
}

/// The suppliers: name, country shipped from, processing days, rating.
const SUPPLIERS: [(&str, &str, u32, u32); 3] = [
    ("Shenzhen Homeware Co.", "CN", 3, 88),
    ("Lisbon Textile Studio", "PT", 2, 93),
    ("Ohio Print & Ship", "US", 1, 81),
];
const SHENZHEN: usize = 0;
const LISBON: usize = 1;
const OHIO: usize = 2;

/// Where an offer ships.
#[derive(Clone, Copy, Debug)]
enum Lanes {
    Worldwide,
    NorthAmerica,
    Europe,
    EuOnly,
}

impl Lanes {
    fn methods(self, usd: Currency) -> Vec<ShippingMethod> {
        let ship = |country: &str, name: &str, cost: i64, min_days: u32, max_days: u32| ShippingMethod {
            country: country.into(),
            name: name.into(),
            cost: Money::new(cost, usd),
            min_days,
            max_days,
        };
        match self {
            Self::Worldwide => vec![
                ship("US", "ePacket", 250, 8, 15),
                ship("*", "AliExpress Standard Shipping", 390, 12, 25),
            ],
            Self::NorthAmerica => vec![
                ship("US", "USPS Ground Advantage", 450, 2, 5),
                ship("CA", "UPS Standard", 900, 4, 8),
            ],
            Self::Europe => vec![
                ship("*", "CTT Expresso International", 650, 5, 12),
                ship("US", "CTT Expresso International", 1_200, 7, 14),
            ],
            Self::EuOnly => ["AT", "BE", "DE", "ES", "FR", "IE", "IT", "NL", "PT"]
                .iter()
                .map(|country| ship(country, "CTT Expresso", 890, 3, 7))
                .collect(),
        }
    }
}

/// One supplier offer of the demo catalogue.
struct OfferRow {
    sku: &'static str,
    /// Index in [`SUPPLIERS`].
    supplier: usize,
    supplier_sku: &'static str,
    /// The product page, for the person who orders.
    url: Option<&'static str>,
    /// Unit cost, in cents.
    cost: i64,
    stock: u32,
    lanes: Lanes,
    priority: OfferPriority,
}

const OFFERS: &[OfferRow] = &[
    // Mugs: China primary (with its product pages), Ohio backup.
    OfferRow {
        sku: "MUG-BLK-11",
        supplier: SHENZHEN,
        supplier_sku: "SZH-MUG-11-BK",
        url: Some("https://supplier.example/shenzhen-homeware/item/10051-black"),
        cost: 320,
        stock: 5_000,
        lanes: Lanes::Worldwide,
        priority: OfferPriority::Primary,
    },
    OfferRow {
        sku: "MUG-BLK-11",
        supplier: OHIO,
        supplier_sku: "OPS-MUG11-BLK",
        url: None,
        cost: 510,
        stock: 400,
        lanes: Lanes::NorthAmerica,
        priority: OfferPriority::Backup,
    },
    OfferRow {
        sku: "MUG-WHT-11",
        supplier: SHENZHEN,
        supplier_sku: "SZH-MUG-11-WH",
        url: Some("https://supplier.example/shenzhen-homeware/item/10051-white"),
        cost: 300,
        stock: 5_000,
        lanes: Lanes::Worldwide,
        priority: OfferPriority::Primary,
    },
    OfferRow {
        sku: "MUG-WHT-11",
        supplier: OHIO,
        supplier_sku: "OPS-MUG11-WHT",
        url: None,
        cost: 490,
        stock: 400,
        lanes: Lanes::NorthAmerica,
        priority: OfferPriority::Backup,
    },
    // T-shirts: Lisbon primary, Ohio backup for North America.
    OfferRow {
        sku: "TSHIRT-W-M",
        supplier: LISBON,
        supplier_sku: "LTS-ORG-WM",
        url: None,
        cost: 780,
        stock: 800,
        lanes: Lanes::Europe,
        priority: OfferPriority::Primary,
    },
    OfferRow {
        sku: "TSHIRT-W-M",
        supplier: OHIO,
        supplier_sku: "OPS-TEE-WM",
        url: None,
        cost: 950,
        stock: 300,
        lanes: Lanes::NorthAmerica,
        priority: OfferPriority::Backup,
    },
    OfferRow {
        sku: "TSHIRT-B-L",
        supplier: LISBON,
        supplier_sku: "LTS-ORG-BL",
        url: None,
        cost: 780,
        stock: 800,
        lanes: Lanes::Europe,
        priority: OfferPriority::Primary,
    },
    OfferRow {
        sku: "TSHIRT-B-L",
        supplier: OHIO,
        supplier_sku: "OPS-TEE-BL",
        url: None,
        cost: 950,
        stock: 300,
        lanes: Lanes::NorthAmerica,
        priority: OfferPriority::Backup,
    },
    // The poster is out of stock at both suppliers.
    OfferRow {
        sku: "POSTER-A2",
        supplier: SHENZHEN,
        supplier_sku: "SZH-PST-A2-NIGHT",
        url: Some("https://supplier.example/shenzhen-homeware/item/20417"),
        cost: 260,
        stock: 0,
        lanes: Lanes::Worldwide,
        priority: OfferPriority::Primary,
    },
    OfferRow {
        sku: "POSTER-A2",
        supplier: OHIO,
        supplier_sku: "OPS-PST-A2",
        url: None,
        cost: 610,
        stock: 0,
        lanes: Lanes::NorthAmerica,
        priority: OfferPriority::Backup,
    },
    // The lamp ships within the EU only.
    OfferRow {
        sku: "LAMP-LIN",
        supplier: LISBON,
        supplier_sku: "LTS-LAMP-NAT",
        url: None,
        cost: 2_150,
        stock: 60,
        lanes: Lanes::EuOnly,
        priority: OfferPriority::Primary,
    },
];

// ---------------------------------------------------------------------------------------------
// Supplier orders placed through the suppliers' APIs
// ---------------------------------------------------------------------------------------------

/// Seed of the simulated suppliers: the same catalogues, order ids and tracking numbers every
/// run.
const SUPPLIER_SEED: u64 = 21;
/// The store (index in [`Seeded::stores`]) that buys products from CJ and AliExpress.
const SOURCING_STORE: usize = 1;
/// Orders that store receives after its launch, at most (the cases need fewer).
const SOURCED_ORDERS_MAX: usize = 24;
/// How long the worker gets to bring supplier orders where they should be; far more than it
/// needs (a poll a second, retries within a second).
const SUPPLIER_WAIT: Duration = Duration::from_secs(15);
/// The shipping method of the CJ offers, as CJ names it.
const CJ_METHOD: &str = "CJPacket Ordinary";
/// The shipping service of the AliExpress offers, as AliExpress names it.
const AE_SERVICE: &str = "CAINIAO_STANDARD";
/// Simulated days until every parcel left the suppliers' warehouses, then until every one
/// arrived (CJPacket travels 12 days, AliExpress Standard Shipping 15).
const DAYS_TO_SHIP: u32 = 4;
const DAYS_TO_DELIVER: u32 = 16;

/// How the demo's engine places and follows supplier orders: a placed order is polled every
/// second (6 hours in production) and a failed call retried within a second, so that the
/// simulated suppliers' days play out within the demo's run.
fn placement_config() -> PlacementConfig {
    PlacementConfig {
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        breaker_threshold: 5,
        breaker_cooldown: Duration::from_secs(2),
        poll_interval: Duration::from_secs(1),
    }
}

/// The simulated CJ and AliExpress APIs, on free ports of 127.0.0.1.
struct SupplierSims {
    cj: CjSim,
    aliexpress: AliExpressSim,
}

impl SupplierSims {
    async fn start() -> anyhow::Result<Self> {
        Ok(Self {
            cj: CjSim::start(SUPPLIER_SEED)
                .await
                .context("while starting the CJ simulator")?,
            aliexpress: AliExpressSim::start(SUPPLIER_SEED)
                .await
                .context("while starting the AliExpress simulator")?,
        })
    }
}

/// A product the sourcing store launches, and where it is bought.
struct SourcedRow {
    product: &'static str,
    /// The colour of a product with variants; `None`: a product without options.
    colour: Option<&'static str>,
    sku: &'static str,
    /// CJ's variant (index in its catalogue): the primary offer.
    cj: Option<usize>,
    /// AliExpress's product and SKU (indexes): the backup beside CJ, else the primary.
    aliexpress: Option<(usize, usize)>,
    /// A manual supplier (index in [`SUPPLIERS`]) as the backup.
    manual: Option<usize>,
}

/// Bottles and phone cases from CJ with AliExpress as the backup, a cable kit from CJ with a
/// manual backup, socks from AliExpress alone. AliExpress's products 0, 2 and 4 come from one
/// of its sellers, so that one supplier order is one AliExpress order.
const SOURCED: [SourcedRow; 5] = [
    SourcedRow {
        product: "Insulated bottle",
        colour: Some("Black"),
        sku: "BOTTLE-BLK",
        cj: Some(0),
        aliexpress: Some((0, 0)),
        manual: None,
    },
    SourcedRow {
        product: "Insulated bottle",
        colour: Some("Steel"),
        sku: "BOTTLE-STL",
        cj: Some(1),
        aliexpress: Some((0, 1)),
        manual: None,
    },
    SourcedRow {
        product: "Cable organiser kit",
        colour: None,
        sku: "CABLE-KIT",
        cj: Some(2),
        aliexpress: None,
        manual: Some(OHIO),
    },
    SourcedRow {
        product: "Silicone phone case",
        colour: None,
        sku: "PHONE-CASE",
        cj: Some(3),
        aliexpress: Some((2, 0)),
        manual: None,
    },
    SourcedRow {
        product: "Cotton crew socks, 5 pairs",
        colour: None,
        sku: "SOCKS-5",
        cj: None,
        aliexpress: Some((4, 0)),
        manual: None,
    },
];

/// What the demo shows with a supplier that has an API, each on an order of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
enum Case {
    /// Placed at CJ as it is, then followed to the customer's door as the days pass.
    Followed,
    /// Placed at AliExpress as it is, then followed likewise.
    #[serde(rename = "aliexpress")]
    AliExpress,
    /// CJ's price rose above the store's tolerance: held before anything is sent, until the
    /// seller accepts the new price.
    PriceRise,
    /// CJ refuses (out of stock): the lines go to the AliExpress backup.
    Failover,
    /// CJ creates the order and its answer is lost: the worker finds the order by its key
    /// instead of sending it again.
    LostAnswer,
}

const CASES: [Case; 5] = [
    Case::Followed,
    Case::AliExpress,
    Case::PriceRise,
    Case::Failover,
    Case::LostAnswer,
];

impl Case {
    fn title(self) -> &'static str {
        match self {
            Self::Followed => "placed at CJ and followed",
            Self::AliExpress => "placed at AliExpress and followed",
            Self::PriceRise => "held, then released",
            Self::Failover => "failed over",
            Self::LostAnswer => "answer lost",
        }
    }

    /// The supplier the case places its order at first.
    fn places_at(self) -> SupplierKind {
        match self {
            Self::AliExpress => SupplierKind::Aliexpress,
            _ => SupplierKind::Cj,
        }
    }

    /// The supplier whose parcels the case follows to the door (the backup's, after a
    /// failover).
    fn follows(self) -> Option<SupplierKind> {
        match self {
            Self::Followed => Some(SupplierKind::Cj),
            Self::AliExpress | Self::Failover => Some(SupplierKind::Aliexpress),
            Self::PriceRise | Self::LostAnswer => None,
        }
    }

    /// Whether the order, routed and not placed yet, shows this case:
    /// - placed at AliExpress: AliExpress ships the whole order;
    /// - the others: its CJ supplier order passes the checks CJ's form needs (phone, Latin
    ///   script, tax id), and
    ///   - followed: CJ ships the whole order;
    ///   - price rise: one unit at CJ, so that the price is the whole difference;
    ///   - failover: every line at CJ has an AliExpress backup.
    fn fits(self, order: &Order, backed_up: &[String]) -> bool {
        if self == Self::AliExpress {
            return matches!(order.supplier_orders.as_slice(), [so] if to_place(so, SupplierKind::Aliexpress));
        }
        let Some(so) = cj_to_place(order) else {
            return false;
        };
        match self {
            Self::Followed | Self::AliExpress => order.supplier_orders.len() == 1,
            Self::PriceRise => so.lines.iter().map(|l| l.quantity).sum::<u32>() == 1,
            Self::Failover => so.lines.iter().all(|l| {
                l.supplier_variant_id
                    .as_ref()
                    .is_some_and(|vid| backed_up.contains(vid))
            }),
            Self::LostAnswer => true,
        }
    }
}

/// What one case showed, step by step, for people.
#[derive(Clone, Debug, Serialize)]
struct CaseReport {
    case: Case,
    order_id: Option<OrderId>,
    /// The order as the summary names it.
    order: String,
    steps: Vec<String>,
    /// Whether everything happened as the case expects.
    as_expected: bool,
}

impl CaseReport {
    fn new(case: Case, order: Option<&Order>, label: String) -> Self {
        Self {
            case,
            order_id: order.map(|o| o.id),
            order: label,
            steps: Vec::new(),
            as_expected: true,
        }
    }

    /// Something the case did not expect: said, and logged.
    fn unexpected(&mut self, what: String) {
        tracing::warn!(case = ?self.case, order = %self.order, "{what}");
        self.steps.push(format!("UNEXPECTED: {what}"));
        self.as_expected = false;
    }
}

/// The suppliers with an API of the sourcing store, their simulators, and what they showed.
struct Sourcing {
    cj: CjSim,
    aliexpress: AliExpressSim,
    cj_supplier: SupplierId,
    aliexpress_supplier: SupplierId,
    /// CJ variant ids with an AliExpress backup.
    backed_up: Vec<String>,
    /// The store's orders after the launch.
    orders: Vec<OrderId>,
    cases: Vec<CaseReport>,
    /// The order at CJ someone placed by hand in MyCJ (CJ's id), for the reconciliation.
    ghost: Option<String>,
    /// `last_reconciliation` of the CJ supplier, as the API shows it.
    reconciliation: Option<Value>,
    /// Waits that ran out: the worker did not get there.
    stalled: Vec<String>,
}

/// The seller's calls to dropline's API, with the store's token.
struct Seller {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Seller {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("while calling {method} {path}"))?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

/// Whether the worker places the supplier order through the supplier's API.
fn through_api(so: &SupplierOrder) -> bool {
    matches!(so.supplier_kind, SupplierKind::Cj | SupplierKind::Aliexpress)
}

/// Whether the supplier order passes what its supplier's form needs (phone, script, tax id).
fn ready_for(so: &SupplierOrder) -> bool {
    check_submission(so, &requirements_for(so.supplier_kind), None, None, 0).is_empty()
}

/// Whether the supplier order is at a supplier of this kind, waits to be placed and passes
/// the supplier's form.
fn to_place(so: &SupplierOrder, kind: SupplierKind) -> bool {
    so.supplier_kind == kind
        && so.state.status == SupplierOrderStatus::Open
        && so.state.request_status == RequestStatus::Unsubmitted
        && ready_for(so)
}

/// The order's CJ supplier order that waits to be placed and passes CJ's form.
fn cj_to_place(order: &Order) -> Option<&SupplierOrder> {
    order.supplier_orders.iter().find(|so| to_place(so, SupplierKind::Cj))
}

/// `2 × BOTTLE-BLK, 1 × CABLE-KIT`: the store's SKUs of a supplier order.
fn units_of(order: &Order, so: &SupplierOrder) -> String {
    so.lines
        .iter()
        .map(|line| {
            let sku = order
                .lines
                .iter()
                .find(|l| l.id == line.line_item_id)
                .map_or(line.supplier_sku.as_str(), |l| l.sku.as_str());
            format!("{} × {sku}", line.quantity)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a supplier order stands, for people: placed, held (why) or failed (why).
fn standing(so: &SupplierOrder) -> String {
    let mut text = format!("{} {}", so.supplier_name, so.state.status);
    if let Some(reference) = &so.supplier_reference {
        text.push_str(&format!(" as order {reference}"));
    }
    if !so.placement.holds.is_empty() {
        let codes: Vec<&str> = so.placement.holds.iter().map(|h| h.code.as_str()).collect();
        text.push_str(&format!(", held: {}", codes.join(", ")));
    }
    if let Some(failure) = &so.placement.failure {
        text.push_str(&format!(", failed ({}: {})", failure.kind, failure.detail));
    }
    text
}

/// Whether the worker is done placing the order's supplier orders: each placed, held or
/// failed (a retry waiting leaves it open).
fn placement_done(order: &Order) -> bool {
    order
        .supplier_orders
        .iter()
        .filter(|so| through_api(so))
        .all(|so| so.state.status != SupplierOrderStatus::Open)
}

/// Supplier orders at a supplier with an API, placed and not closed yet.
fn in_progress(orders: &[Order]) -> impl Iterator<Item = &SupplierOrder> {
    orders
        .iter()
        .flat_map(|o| &o.supplier_orders)
        .filter(|so| through_api(so) && so.state.status == SupplierOrderStatus::InProgress)
}

/// `"12.99"` for 1299 cents.
fn amount(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The shop's price for a product that costs `cost` cents landed: twice that plus ten
/// dollars, ending in .99.
fn retail_price(cost: i64) -> String {
    amount(up_to_99(cost * 2 + 1_000))
}

/// The first price ending in .99 at or above `cents`.
fn up_to_99(cents: i64) -> i64 {
    (cents + 100) / 100 * 100 - 1
}

/// CJ's new price in the price-rise case: at least 15 % of the supplier order more (a dollar
/// at least), ending in .99, so the fresh quote is clearly above the 5 % tolerance.
fn raised_price(price: i64, expected: i64) -> i64 {
    up_to_99(price + (expected * 15 / 100).max(100))
}

/// Runs the worker until `done` holds for the orders (or [`SUPPLIER_WAIT`] runs out, which is
/// noted in `stalled`); returns the orders as they are then.
async fn work_until(
    app: &App,
    worker: &Worker,
    jobs: &mut PassReport,
    ids: &[OrderId],
    stalled: &mut Vec<String>,
    what: &str,
    done: impl Fn(&[Order]) -> bool,
) -> anyhow::Result<Vec<Order>> {
    let deadline = std::time::Instant::now() + SUPPLIER_WAIT;
    loop {
        drain(worker, jobs).await?;
        let mut orders = Vec::with_capacity(ids.len());
        for id in ids {
            orders.push(app.get_order(Scope::Operator, *id).await?);
        }
        if done(&orders) {
            return Ok(orders);
        }
        if std::time::Instant::now() >= deadline {
            let note = format!("after {SUPPLIER_WAIT:?} the worker had still not {what}");
            tracing::warn!("{note}");
            stalled.push(note);
            return Ok(orders);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The store launches the products of [`SOURCED`] on its storefront, adds CJ and AliExpress
/// as suppliers with offers priced from their own catalogues, and accepts orders of those
/// products by itself. Its storefront then sends orders one at a time; each case of [`CASES`]
/// takes the first order that shows it. Then the suppliers' days pass, the worker follows the
/// orders to the door, and the seller reconciles CJ's order list.
#[allow(clippy::too_many_arguments)]
async fn source_from_suppliers(
    app: &App,
    dropline: &str,
    stores: &mut [DemoStore],
    orders: &mut Vec<Tracked>,
    sims: SupplierSims,
    worker: &Worker,
    jobs: &mut PassReport,
    usd: Currency,
) -> anyhow::Result<Sourcing> {
    let store = stores
        .get_mut(SOURCING_STORE)
        .context("the demo has no store to source from suppliers")?;
    let SupplierSims { cj, aliexpress } = sims;
    let cj_supplier = create_api_supplier(
        app,
        store.id,
        "CJ Dropshipping",
        SupplierKind::Cj,
        SupplierConnection {
            api_base: Some(cj.base_url().to_string()),
            api_key: Some(cj.api_key().to_string()),
            ..SupplierConnection::default()
        },
    )
    .await?;
    let aliexpress_supplier = create_api_supplier(
        app,
        store.id,
        "AliExpress",
        SupplierKind::Aliexpress,
        SupplierConnection {
            api_base: Some(aliexpress.base_url().to_string()),
            api_key: Some(aliexpress.app_key().to_string()),
            api_secret: Some(aliexpress.app_secret().to_string()),
            access_token: Some(aliexpress.access_token()),
            refresh_token: Some(aliexpress.refresh_token()),
            ..SupplierConnection::default()
        },
    )
    .await?;
    let mut sourcing = Sourcing {
        cj,
        aliexpress,
        cj_supplier,
        aliexpress_supplier,
        backed_up: Vec::new(),
        orders: Vec::new(),
        cases: Vec::new(),
        ghost: None,
        reconciliation: None,
        stalled: Vec::new(),
    };
    launch_sourced(app, store, &mut sourcing, usd).await?;

    let seller = Seller {
        client: reqwest::Client::new(),
        base: dropline.to_string(),
        token: store.token.clone(),
    };
    let mut pending = CASES.to_vec();
    let mut received = Vec::new();
    for _ in 0..SOURCED_ORDERS_MAX {
        if pending.is_empty() {
            break;
        }
        let (order, accepted) = next_sourced_order(app, store, worker, jobs).await?;
        sourcing.orders.push(order.id);
        received.push(Tracked {
            store: SOURCING_STORE,
            id: order.id,
            external_id: order.external_id.clone(),
            plan: Plan::Sourced,
        });
        let fitting = pending
            .iter()
            .position(|case| case.fits(&order, &sourcing.backed_up))
            .map(|at| pending.remove(at));
        match fitting {
            Some(case) => {
                let report = play(app, &seller, worker, jobs, &mut sourcing, store, case, &order, accepted).await?;
                sourcing.cases.push(report);
            }
            None => {
                place_all(app, worker, jobs, &mut sourcing.stalled, &order).await?;
            }
        }
    }
    for case in pending {
        let mut report = CaseReport::new(case, None, "-".into());
        report.unexpected(format!(
            "none of the {SOURCED_ORDERS_MAX} orders of {} fitted the case",
            store.name
        ));
        sourcing.cases.push(report);
    }
    // The store's orders stay together, in the order the storefront created them.
    let at = orders
        .iter()
        .position(|t| t.store > SOURCING_STORE)
        .unwrap_or(orders.len());
    orders.splice(at..at, received);

    // Someone also orders at CJ by hand, outside dropline: the reconciliation will see it.
    sourcing.ghost = Some(order_by_hand(&sourcing.cj).await?);
    follow_to_the_door(app, store, worker, jobs, &mut sourcing).await?;
    reconcile_cj(&seller, worker, jobs, &mut sourcing).await?;
    store.changes.push(format!(
        "launched {} products bought from CJ and AliExpress (the catalogue was pulled again); their \
         orders are accepted by the store's rule and placed through the suppliers' APIs",
        SOURCED.len()
    ));
    Ok(sourcing)
}

async fn create_api_supplier(
    app: &App,
    store_id: StoreId,
    name: &str,
    kind: SupplierKind,
    connection: SupplierConnection,
) -> anyhow::Result<SupplierId> {
    let supplier = NewSupplier {
        store_id,
        name: name.into(),
        kind,
        ships_from: Some("CN".into()),
        processing_days: 2,
        rating: 84,
        processing_deadline_days: None,
        connection,
        agent_layout: None,
        return_policy: Default::default(),
    };
    Ok(app
        .create_supplier(Scope::Operator, supplier)
        .await
        .with_context(|| format!("while adding the supplier {name}"))?
        .id)
}

/// The launch: the products on the storefront, priced from the suppliers' costs; the
/// catalogue pulled again; offers for CJ (priced and with postage as CJ quotes them) and
/// AliExpress; and the store's rule accepting orders of only those products.
async fn launch_sourced(
    app: &App,
    store: &mut DemoStore,
    sourcing: &mut Sourcing,
    usd: Currency,
) -> anyhow::Result<()> {
    let cj_variants = sourcing.cj.variants();
    let ae_products = sourcing.aliexpress.products();
    let cj_of = |row: &SourcedRow| -> anyhow::Result<Option<CjVariant>> {
        row.cj
            .map(|i| {
                cj_variants
                    .get(i)
                    .cloned()
                    .with_context(|| format!("CJ sells no variant {i}"))
            })
            .transpose()
    };
    let ae_of = |row: &SourcedRow| -> anyhow::Result<Option<(AeSimProduct, AeSimSku)>> {
        row.aliexpress
            .map(|(p, k)| {
                let product = ae_products
                    .get(p)
                    .with_context(|| format!("AliExpress sells no product {p}"))?;
                let sku = product
                    .skus
                    .get(k)
                    .with_context(|| format!("AliExpress's product {p} has no SKU {k}"))?;
                Ok((product.clone(), sku.clone()))
            })
            .transpose()
    };

    // On the storefront: one product per title, a variant per colour.
    let mut products: Vec<(&str, Vec<SimVariant>)> = Vec::new();
    for row in &SOURCED {
        let cost = [
            cj_of(row)?.map(|v| v.price_cents),
            ae_of(row)?.map(|(_, s)| s.price_cents),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(1_000);
        let variant = SimVariant::new(row.sku, retail_price(cost + 600));
        let variant = match row.colour {
            Some(colour) => variant.option("Color", colour),
            None => variant,
        };
        match products.iter_mut().find(|(title, _)| *title == row.product) {
            Some((_, variants)) => variants.push(variant),
            None => products.push((row.product, vec![variant])),
        }
    }
    for (title, variants) in products {
        let product = variants
            .into_iter()
            .fold(SimProduct::new(title), |product, variant| product.variant(variant));
        store.sim.add_product(product)?;
    }
    pull_catalog(app, store, usd).await?;

    let client = CjClient::new(sourcing.cj.base_url(), sourcing.cj.api_key()).context("while reaching CJ")?;
    let variants: Vec<Variant> = app
        .list_products(Scope::Operator, Some(store.id))
        .await?
        .into_iter()
        .flat_map(|product| product.variants)
        .collect();
    for row in &SOURCED {
        let variant = variants
            .iter()
            .find(|v| v.sku == row.sku)
            .with_context(|| format!("{} is not in the pulled catalogue", row.sku))?;
        let cj = cj_of(row)?;
        if let Some(cj) = &cj {
            let postage = cj_postage(&client, &cj.vid).await?;
            add_offer(
                app,
                NewOffer {
                    units: 1,
                    variant_id: variant.id,
                    supplier_id: sourcing.cj_supplier,
                    supplier_sku: cj.sku.clone(),
                    supplier_product_id: Some(cj.pid.clone()),
                    supplier_variant_id: Some(cj.vid.clone()),
                    product_url: Some(format!("https://cjdropshipping.com/product/{}", cj.pid)),
                    unit_cost: Money::new(cj.price_cents, usd),
                    stock: None,
                    shipping: vec![ShippingMethod {
                        country: "*".into(),
                        name: CJ_METHOD.into(),
                        cost: postage,
                        min_days: 7,
                        max_days: 12,
                    }],
                    priority: OfferPriority::Primary,
                },
            )
            .await?;
        }
        if let Some((product, sku)) = ae_of(row)? {
            if let Some(cj) = &cj {
                sourcing.backed_up.push(cj.vid.clone());
            }
            // A product with a single SKU has no attributes: its SKU id names it.
            let supplier_sku = if sku.sku_attr.is_empty() {
                sku.sku_id.clone()
            } else {
                sku.sku_attr.clone()
            };
            add_offer(
                app,
                NewOffer {
                    units: 1,
                    variant_id: variant.id,
                    supplier_id: sourcing.aliexpress_supplier,
                    supplier_sku,
                    supplier_product_id: Some(product.product_id.clone()),
                    supplier_variant_id: Some(sku.sku_id.clone()),
                    product_url: Some(format!("https://www.aliexpress.com/item/{}.html", product.product_id)),
                    unit_cost: Money::new(sku.price_cents, usd),
                    stock: None,
                    shipping: vec![ShippingMethod {
                        country: "*".into(),
                        name: AE_SERVICE.into(),
                        cost: Money::new(300, usd),
                        min_days: 12,
                        max_days: 20,
                    }],
                    priority: if cj.is_some() {
                        OfferPriority::Backup
                    } else {
                        OfferPriority::Primary
                    },
                },
            )
            .await?;
        }
        if let (Some(manual), Some(cj)) = (row.manual, &cj) {
            add_offer(
                app,
                NewOffer {
                    units: 1,
                    variant_id: variant.id,
                    supplier_id: store.suppliers[manual],
                    supplier_sku: format!("OPS-{}", row.sku),
                    supplier_product_id: None,
                    supplier_variant_id: None,
                    product_url: None,
                    unit_cost: Money::new(cj.price_cents + 250, usd),
                    stock: Some(200),
                    shipping: Lanes::NorthAmerica.methods(usd),
                    priority: OfferPriority::Backup,
                },
            )
            .await?;
        }
    }

    // Orders of only these products are accepted by the store's rule when paid.
    let mut settings = app.get_store(Scope::Operator, store.id).await?.store.settings;
    settings.auto_accept = AutoAcceptRules {
        enabled: true,
        require_paid: true,
        max_total_minor: None,
        allowed_skus: SOURCED.iter().map(|row| row.sku.to_string()).collect(),
    };
    app.update_store_settings(Scope::Operator, store.id, settings, None)
        .await?;
    Ok(())
}

async fn add_offer(app: &App, offer: NewOffer) -> anyhow::Result<()> {
    let sku = offer.supplier_sku.clone();
    app.add_offer(Scope::Operator, offer)
        .await
        .with_context(|| format!("while adding the offer {sku}"))?;
    Ok(())
}

/// What CJ charges to post one unit of the variant by [`CJ_METHOD`] (CJ's own quote).
async fn cj_postage(client: &CjClient, vid: &str) -> anyhow::Result<Money> {
    let quotes = client
        .freight(&FreightRequest {
            from_country: "CN".into(),
            to_country: "US".into(),
            zip: None,
            lines: vec![CjLine {
                vid: vid.to_string(),
                quantity: 1,
            }],
        })
        .await
        .context("while asking CJ for its postage")?;
    quotes
        .into_iter()
        .find(|q| q.logistic_name == CJ_METHOD)
        .map(|q| q.price)
        .with_context(|| format!("CJ quotes no {CJ_METHOD}"))
}

/// How an order of the launch was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Acceptance {
    /// By the store's rule, as it arrived.
    Rule,
    /// By the seller (the rule did not hold: another product in it, or not paid yet).
    Seller,
    /// Not at all: held as it arrived.
    No,
}

/// The storefront sends its next order; when the store's rule did not accept it, the seller
/// does and the worker routes it. Its supplier orders then wait to be placed.
async fn next_sourced_order(
    app: &App,
    store: &mut DemoStore,
    worker: &Worker,
    jobs: &mut PassReport,
) -> anyhow::Result<(Order, Acceptance)> {
    let label = store.sim.label();
    let runs = store
        .sim
        .deliver_orders(1, &Scenario::new().duplicates(1, 0))
        .await
        .with_context(|| format!("while the {label} simulator delivered its orders"))?;
    store.webhooks.add_runs(label, &runs)?;
    let run = runs.first().context("the simulator delivered no order")?;
    let order = find_order(app, store, &run.order_id).await?;
    if order.state != OrderState::PendingReview || order.test {
        let accepted = if order.supplier_orders.is_empty() {
            Acceptance::No
        } else {
            Acceptance::Rule
        };
        return Ok((order, accepted));
    }
    app.accept_order(Scope::Operator, order.id).await?;
    // One pass routes it; the placement jobs routing makes wait for the next pass.
    let pass = worker.run_pass().await.context("while running the worker")?;
    jobs.succeeded += pass.succeeded;
    jobs.retried += pass.retried;
    jobs.buried += pass.buried;
    Ok((app.get_order(Scope::Operator, order.id).await?, Acceptance::Seller))
}

/// Runs the worker until it is done placing the order's supplier orders; the order then.
async fn place_all(
    app: &App,
    worker: &Worker,
    jobs: &mut PassReport,
    stalled: &mut Vec<String>,
    order: &Order,
) -> anyhow::Result<Order> {
    let what = format!("placed the supplier orders of {}", order.number);
    let orders = work_until(app, worker, jobs, &[order.id], stalled, &what, |o| {
        o.iter().all(placement_done)
    })
    .await?;
    orders.into_iter().next().context("the order is gone")
}

/// Sets the case up at the simulator, lets the worker place the order, and says what happened.
#[allow(clippy::too_many_arguments)]
async fn play(
    app: &App,
    seller: &Seller,
    worker: &Worker,
    jobs: &mut PassReport,
    sourcing: &mut Sourcing,
    store: &DemoStore,
    case: Case,
    order: &Order,
    accepted: Acceptance,
) -> anyhow::Result<CaseReport> {
    let mut report = CaseReport::new(case, Some(order), order_label(store, order));
    let kind = case.places_at();
    let Some(so) = order.supplier_orders.iter().find(|so| to_place(so, kind)).cloned() else {
        report.unexpected(format!("the order has no {kind} supplier order to place"));
        return Ok(report);
    };
    let by = match accepted {
        Acceptance::Rule => "accepted by the store's rule",
        _ => "accepted by the seller",
    };
    match case {
        Case::Followed | Case::AliExpress | Case::LostAnswer => {
            if case == Case::LostAnswer {
                sourcing.cj.lose_next_create_response();
            }
            let after = place_all(app, worker, jobs, &mut sourcing.stalled, order).await?;
            let placed = after.supplier_order(so.id)?;
            let under_key = sourcing.held_under(kind, &placed.idempotency_key);
            let (Some(reference), SupplierOrderStatus::InProgress) = (&placed.supplier_reference, placed.state.status)
            else {
                report.unexpected(format!("{by}, then not placed: {}", standing(placed)));
                return Ok(report);
            };
            let cost = placed.actual_cost.map_or_else(|| "-".to_string(), |c| c.to_string());
            if case == Case::LostAnswer {
                let retries = app
                    .timeline(Scope::Operator, order.id)
                    .await?
                    .iter()
                    .filter(|e| e.kind == "supplier_order.retry")
                    .count();
                report.steps.push(format!(
                    "CJ created the order, then its answer was lost (the connection closed after the \
                     headers); the worker retried {retries} time(s), looked the key up at CJ before \
                     sending anything again, and found CJ order {reference} ({cost})"
                ));
                if retries == 0 || sourcing.cj.pending_faults() > 0 {
                    report.unexpected("the lost answer was never met".into());
                }
            } else {
                report.steps.push(format!(
                    "{by}, placed at {} as order {reference} ({cost}, {})",
                    placed.supplier_name,
                    units_of(order, placed)
                ));
            }
            report.steps.push(format!(
                "{} holds {under_key} order under the key {}",
                placed.supplier_name, placed.idempotency_key
            ));
            if under_key != 1 {
                report.unexpected(format!(
                    "{} holds {under_key} orders under the key {}",
                    placed.supplier_name, placed.idempotency_key
                ));
            }
        }
        Case::PriceRise => {
            let line = &so.lines[0];
            let vid = line.supplier_variant_id.clone().unwrap_or_default();
            let before = sourcing
                .cj
                .variant(&vid)
                .map(|v| v.price_cents)
                .with_context(|| format!("CJ has no variant {vid}"))?;
            let raised = raised_price(before, so.expected_cost.minor);
            sourcing.cj.set_price(&vid, raised);
            let after = place_all(app, worker, jobs, &mut sourcing.stalled, order).await?;
            let held = after.supplier_order(so.id)?;
            match held.placement.holds.first() {
                Some(hold) if held.state.status == SupplierOrderStatus::OnHold => {
                    report.steps.push(format!(
                        "{by} ({}); CJ's price rose from {} to {}: held before anything was sent ({}: {})",
                        units_of(order, &so),
                        amount(before),
                        amount(raised),
                        hold.code,
                        hold.message
                    ));
                    let path = format!("/api/v1/supplier-orders/{}/release", so.id);
                    let (status, body) = seller
                        .send(reqwest::Method::POST, &path, Some(json!({ "accept_price": true })))
                        .await?;
                    report.steps.push(format!(
                        "the seller accepts the new price: POST {path} {{\"accept_price\": true}} answered {status}"
                    ));
                    if status != 200 {
                        report.unexpected(format!("the release answered {status}: {body}"));
                    }
                    let after = place_all(app, worker, jobs, &mut sourcing.stalled, order).await?;
                    let placed = after.supplier_order(so.id)?;
                    match &placed.supplier_reference {
                        Some(reference) if placed.state.status == SupplierOrderStatus::InProgress => {
                            let cost = placed.actual_cost.map_or_else(|| "-".to_string(), |c| c.to_string());
                            let under_key = sourcing.held_under(kind, &placed.idempotency_key);
                            report.steps.push(format!(
                                "then placed at CJ as order {reference} ({cost}); CJ holds {under_key} order \
                                 under the key {}",
                                placed.idempotency_key
                            ));
                        }
                        _ => report.unexpected(format!("after the release: {}", standing(placed))),
                    }
                }
                _ => report.unexpected(format!(
                    "CJ's price rose from {} to {} and the supplier order was not held: {}",
                    amount(before),
                    amount(raised),
                    standing(held)
                )),
            }
            sourcing.cj.set_price(&vid, before);
        }
        Case::Failover => {
            let vids: Vec<String> = so.lines.iter().filter_map(|l| l.supplier_variant_id.clone()).collect();
            let stocks: Vec<(String, u32)> = vids
                .iter()
                .filter_map(|vid| sourcing.cj.variant(vid).map(|v| (vid.clone(), v.stock)))
                .collect();
            for vid in &vids {
                sourcing.cj.set_stock(vid, 0);
            }
            let after = place_all(app, worker, jobs, &mut sourcing.stalled, order).await?;
            let failed = after.supplier_order(so.id)?;
            match &failed.placement.failure {
                Some(failure) => report.steps.push(format!(
                    "{by} ({}); CJ's stock was set to 0 and CJ refused the order ({}: {})",
                    units_of(order, &so),
                    failure.kind,
                    failure.detail
                )),
                None => report.unexpected(format!("CJ had no stock, and: {}", standing(failed))),
            }
            let before: Vec<SupplierOrderId> = order.supplier_orders.iter().map(|s| s.id).collect();
            let next: Vec<&SupplierOrder> = after
                .supplier_orders
                .iter()
                .filter(|s| !before.contains(&s.id))
                .collect();
            if next.is_empty() {
                report.unexpected(format!("no other offer took the lines; the order is {}", after.state));
            }
            for next in next {
                match (&next.supplier_reference, next.state.status) {
                    (Some(reference), SupplierOrderStatus::InProgress) => report.steps.push(format!(
                        "its lines went to the backup offer: placed at {} as order {reference} under the key {}",
                        next.supplier_name, next.idempotency_key
                    )),
                    _ => report.unexpected(format!(
                        "its lines went to the backup offer, and then: {}; the order is {}",
                        standing(next),
                        after.state
                    )),
                }
            }
            for (vid, stock) in stocks {
                sourcing.cj.set_stock(&vid, stock);
            }
        }
    }
    Ok(report)
}

/// An order placed at CJ by a person in MyCJ, outside dropline; returns CJ's id for it.
async fn order_by_hand(cj: &CjSim) -> anyhow::Result<String> {
    let client = CjClient::new(cj.base_url(), cj.api_key()).context("while reaching CJ")?;
    let vid = cj
        .variants()
        .into_iter()
        .last()
        .map(|v| v.vid)
        .context("CJ sells nothing")?;
    let order = CjOrderRequest {
        country_code: "US".into(),
        country: "US".into(),
        province: "IL".into(),
        city: "Springfield".into(),
        address: "1 Elm St".into(),
        address2: None,
        customer_name: "Sample Request".into(),
        zip: "62701".into(),
        phone: "+12175550111".into(),
        email: None,
        remark: Some("a sample, ordered by hand in MyCJ".into()),
        logistic_name: CJ_METHOD.into(),
        from_country: "CN".into(),
        pay_type: Some(2),
        tax_id: None,
        lines: vec![CjLine { vid, quantity: 1 }],
    };
    client
        .create_order("MYCJ-SAMPLE-1", &order)
        .await
        .context("while ordering at CJ by hand")
}

/// The suppliers' days pass: their parcels ship, then arrive; the worker's polls see each
/// step and write it back to the storefront.
async fn follow_to_the_door(
    app: &App,
    store: &DemoStore,
    worker: &Worker,
    jobs: &mut PassReport,
    sourcing: &mut Sourcing,
) -> anyhow::Result<()> {
    let ids = sourcing.orders.clone();
    let mut elapsed = 0;
    for (days, expected) in [
        (DAYS_TO_SHIP, OrderState::Shipped),
        (DAYS_TO_DELIVER, OrderState::Delivered),
    ] {
        sourcing.cj.advance_days(days);
        sourcing.aliexpress.advance_days(days);
        elapsed += days;
        let note = format!("seen every placed supplier order {expected}");
        let orders = work_until(app, worker, jobs, &ids, &mut sourcing.stalled, &note, |orders| {
            if expected == OrderState::Shipped {
                in_progress(orders).all(|so| !so.shipments.is_empty())
            } else {
                in_progress(orders).next().is_none()
            }
        })
        .await?;
        for report in &mut sourcing.cases {
            let (Some(kind), Some(id)) = (report.case.follows(), report.order_id) else {
                continue;
            };
            let Some(order) = orders.iter().find(|o| o.id == id) else {
                continue;
            };
            if !report.as_expected {
                continue;
            }
            let parcel = order
                .supplier_orders
                .iter()
                .filter(|so| so.supplier_kind == kind)
                .flat_map(|so| &so.shipments)
                .next();
            let Some(parcel) = parcel else {
                report.unexpected(format!("{elapsed} simulated days later {kind} had shipped nothing"));
                continue;
            };
            let written = match (&store.sim, expected) {
                (Sim::WooCommerce(sim), OrderState::Shipped)
                    if sim
                        .tracking_items(&order.external_id)
                        .iter()
                        .any(|t| t.tracking_number == parcel.tracking_number) =>
                {
                    format!("; {} shows the tracking number", store.sim.label())
                }
                (Sim::WooCommerce(sim), OrderState::Delivered)
                    if sim.status(&order.external_id).as_deref() == Some("completed") =>
                {
                    format!("; {} set the order completed", store.sim.label())
                }
                _ => String::new(),
            };
            report.steps.push(format!(
                "{elapsed} simulated days later a poll saw the parcel {}: {} {}; the order is {}{written}",
                parcel.state, parcel.carrier, parcel.tracking_number, order.state
            ));
            // Only an order whose every supplier order is followed here moves with them.
            let followed_whole = order
                .supplier_orders
                .iter()
                .filter(|so| so.state.status != SupplierOrderStatus::Cancelled)
                .all(through_api);
            if followed_whole && order.state != expected {
                report.unexpected(format!("the order is {} instead of {expected}", order.state));
            }
        }
    }
    // The write-back of the last deliveries.
    drain(worker, jobs).await
}

/// The seller asks for a reconciliation of CJ's order list with dropline's supplier orders
/// and reads the result on the supplier.
async fn reconcile_cj(
    seller: &Seller,
    worker: &Worker,
    jobs: &mut PassReport,
    sourcing: &mut Sourcing,
) -> anyhow::Result<()> {
    let path = format!("/api/v1/suppliers/{}", sourcing.cj_supplier);
    let (status, body) = seller
        .send(reqwest::Method::POST, &format!("{path}/reconcile"), None)
        .await?;
    if status != 202 {
        let note = format!("POST {path}/reconcile answered {status}: {body}");
        tracing::warn!("{note}");
        sourcing.stalled.push(note);
        return Ok(());
    }
    let deadline = std::time::Instant::now() + SUPPLIER_WAIT;
    loop {
        drain(worker, jobs).await?;
        let (_, supplier) = seller.send(reqwest::Method::GET, &path, None).await?;
        let report = &supplier["last_reconciliation"];
        if !report.is_null() {
            sourcing.reconciliation = Some(report.clone());
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            sourcing.stalled.push(format!(
                "the reconciliation of CJ gave no result within {SUPPLIER_WAIT:?}"
            ));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What one supplier simulator received, read from its own records.
#[derive(Clone, Debug, Default, Serialize)]
struct SupplierSimReport {
    supplier: &'static str,
    simulator: String,
    /// Order creations asked for (refused and lost answers included).
    create_calls: u32,
    /// Orders it holds under a key of dropline's.
    orders: usize,
    /// Distinct keys among them.
    keys: usize,
    /// Keys that hold more than one order (of one seller): placed twice.
    keys_placed_twice: Vec<String>,
    /// Orders placed by someone else (not under a key of dropline's).
    other_orders: usize,
    /// Orders per status at the simulator's time.
    statuses: BTreeMap<String, usize>,
}

impl Sourcing {
    /// How many orders the supplier holds under the key (for AliExpress, of one seller: one
    /// supplier order may become an order per seller).
    fn held_under(&self, kind: SupplierKind, key: &str) -> usize {
        match kind {
            SupplierKind::Cj => self.cj.orders().iter().filter(|o| o.order_number == key).count(),
            _ => {
                let orders: Vec<u64> = self
                    .aliexpress
                    .orders()
                    .iter()
                    .filter(|o| o.out_order_id.as_deref() == Some(key))
                    .map(|o| o.store_id)
                    .collect();
                let sellers: HashSet<&u64> = orders.iter().collect();
                orders.len() - sellers.len() + usize::from(!orders.is_empty())
            }
        }
    }

    /// What each simulator received; `keys` are the idempotency keys of dropline's supplier
    /// orders.
    fn received(&self, keys: &HashSet<String>) -> [SupplierSimReport; 2] {
        let mut cj = SupplierSimReport {
            supplier: "CJ",
            simulator: self.cj.base_url().to_string(),
            create_calls: self.cj.calls("/shopping/order/createOrderV2"),
            ..SupplierSimReport::default()
        };
        let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
        for order in self.cj.orders() {
            if keys.contains(&order.order_number) {
                cj.orders += 1;
                *per_key.entry(order.order_number.clone()).or_default() += 1;
            } else {
                cj.other_orders += 1;
            }
            *cj.statuses.entry(order.status.clone()).or_default() += 1;
        }
        cj.keys = per_key.len();
        cj.keys_placed_twice = per_key.into_iter().filter(|(_, n)| *n > 1).map(|(k, _)| k).collect();

        let mut ae = SupplierSimReport {
            supplier: "AliExpress",
            simulator: self.aliexpress.base_url().to_string(),
            create_calls: self.aliexpress.calls(dropline_sim::supplier::aliexpress::CREATE),
            ..SupplierSimReport::default()
        };
        let mut per_key: BTreeMap<(String, u64), usize> = BTreeMap::new();
        for order in self.aliexpress.orders() {
            match order.out_order_id.as_ref().filter(|key| keys.contains(*key)) {
                Some(key) => {
                    ae.orders += 1;
                    *per_key.entry((key.clone(), order.store_id)).or_default() += 1;
                }
                None => ae.other_orders += 1,
            }
            *ae.statuses.entry(order.status.clone()).or_default() += 1;
        }
        ae.keys = per_key.keys().map(|(key, _)| key).collect::<HashSet<_>>().len();
        ae.keys_placed_twice = per_key
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((key, _), _)| key)
            .collect();
        [cj, ae]
    }
}

// ---------------------------------------------------------------------------------------------
// Parcels followed through 17TRACK
// ---------------------------------------------------------------------------------------------

/// The seller's templates, in the order the summary lists them.
const SELLER_TEMPLATES: [&str; 4] = [
    "seller_new_order",
    "seller_needs_attention",
    "seller_message_failed",
    "seller_digest",
];
/// The key of the simulated 17TRACK account.
const TRACKING_KEY: &str = "demo-17track-key";
/// The most simulated days the carriers get to bring the parcels due to arrive.
const MAX_CARRIER_DAYS: i64 = 30;

/// The engine's time: the wall clock, except while the carriers' days pass, when it stands at
/// the simulated moment (and the 17TRACK simulator's clock with it).
#[derive(Clone, Default)]
struct DemoClock(Arc<Mutex<Option<OffsetDateTime>>>);

impl DemoClock {
    fn now(&self) -> OffsetDateTime {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unwrap_or_else(OffsetDateTime::now_utc)
    }

    /// Stops the clock at `at`; `None`: the wall clock again.
    fn set(&self, at: Option<OffsetDateTime>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }
}

/// How a parcel's trip with its carrier goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
enum Journey {
    /// Collected, flown, cleared and delivered within eight days.
    OnTime,
    /// Held in customs for an inspection more than five days (the customer is told), then
    /// delivered.
    HeldInCustoms,
    /// Nobody at home at the first attempt; delivered at the second.
    FailedAttempt,
    /// On a slower lane: still on its way when the demo's days end.
    OnItsWay,
    /// The failed attempt the vendor reported: the carrier keeps the parcel at its depot.
    AtTheDepot,
}

/// The journeys of the parcels due to arrive, in turn: most on time.
const ARRIVING: [Journey; 7] = [
    Journey::OnTime,
    Journey::HeldInCustoms,
    Journey::OnTime,
    Journey::FailedAttempt,
    Journey::OnTime,
    Journey::HeldInCustoms,
    Journey::OnTime,
];

impl Journey {
    fn title(self) -> &'static str {
        match self {
            Self::OnTime => "delivered on time",
            Self::HeldInCustoms => "held in customs (the customer was told), then delivered",
            Self::FailedAttempt => "a failed attempt, delivered at the second",
            Self::OnItsWay => "on a slower lane, still on their way",
            Self::AtTheDepot => "failed as the vendor reported, waiting at the carrier's depot",
        }
    }

    /// Whether the carrier delivers the parcel within the demo's days.
    fn arrives(self) -> bool {
        matches!(self, Self::OnTime | Self::HeldInCustoms | Self::FailedAttempt)
    }

    /// The carrier's events, by the hour from the start of the carriers' days. The worker
    /// polls and the clocks are checked once a simulated day, at whole days, so no event falls
    /// on one; an out-for-delivery scan is seen a day before the delivery; a parcel held in
    /// customs is seen there past the stores' 5-day limit, then released; a failed attempt is
    /// seen a day before the second one, and that a day before the delivery.
    fn steps(self) -> &'static [Step] {
        use Leg::{Destination, ExportHub, ImportHub, Origin};
        const LABEL: (&str, &str) = ("InfoReceived", "Shipping label created, electronic data received");
        const PICKED_UP: (&str, &str) = ("InTransit_PickedUp", "Parcel collected from the sender");
        const DEPARTED: (&str, &str) = ("InTransit_Departure", "Departed the export hub");
        const ARRIVED: (&str, &str) = ("InTransit_Arrival", "Arrived in the destination country");
        const CUSTOMS: (&str, &str) = ("InTransit_CustomsProcessing", "Held for import clearance");
        const HELD: (&str, &str) = ("Exception_Delayed", "Clearance delayed: inspection requested");
        const RELEASED: (&str, &str) = ("InTransit_CustomsReleased", "Released by customs");
        const ONWARD: (&str, &str) = ("InTransit_Other", "In transit to the delivery office");
        const AT_OFFICE: (&str, &str) = ("InTransit_Other", "Arrived at the delivery office");
        const OUT: (&str, &str) = ("OutForDelivery_Other", "Out for delivery");
        const NOBODY: (&str, &str) = ("DeliveryFailure_NoBody", "Delivery attempted, nobody at the address");
        const AT_DEPOT: (&str, &str) = (
            "DeliveryFailure_NoBody",
            "Delivery attempted, nobody at the address; the parcel waits at the depot",
        );
        const OUT_AGAIN: (&str, &str) = ("OutForDelivery_Other", "Out for delivery, second attempt");
        const DELIVERED: (&str, &str) = ("Delivered_Other", "Delivered, left at the front door");
        match self {
            Self::OnTime => &[
                (2, LABEL, Origin),
                (14, PICKED_UP, Origin),
                (40, DEPARTED, ExportHub),
                (88, ARRIVED, ImportHub),
                (89, CUSTOMS, ImportHub),
                (106, RELEASED, ImportHub),
                (140, AT_OFFICE, Destination),
                (164, OUT, Destination),
                (172, DELIVERED, Destination),
            ],
            Self::HeldInCustoms => &[
                (2, LABEL, Origin),
                (10, PICKED_UP, Origin),
                (30, DEPARTED, ExportHub),
                (64, ARRIVED, ImportHub),
                (65, CUSTOMS, ImportHub),
                (89, HELD, ImportHub),
                (197, RELEASED, ImportHub),
                (212, OUT, Destination),
                (220, DELIVERED, Destination),
            ],
            Self::FailedAttempt => &[
                (2, LABEL, Origin),
                (14, PICKED_UP, Origin),
                (40, DEPARTED, ExportHub),
                (88, ARRIVED, ImportHub),
                (89, CUSTOMS, ImportHub),
                (106, RELEASED, ImportHub),
                (140, AT_OFFICE, Destination),
                (164, OUT, Destination),
                (170, NOBODY, Destination),
                (206, OUT_AGAIN, Destination),
                (220, DELIVERED, Destination),
            ],
            Self::OnItsWay => &[
                (3, LABEL, Origin),
                (30, PICKED_UP, Origin),
                (78, DEPARTED, ExportHub),
                (150, ARRIVED, ImportHub),
                (151, CUSTOMS, ImportHub),
                (180, RELEASED, ImportHub),
                (230, ONWARD, ImportHub),
                (290, OUT, Destination),
                (298, DELIVERED, Destination),
            ],
            Self::AtTheDepot => &[(2, AT_DEPOT, Destination)],
        }
    }
}

/// Where a carrier event happens.
#[derive(Clone, Copy, Debug)]
enum Leg {
    Origin,
    ExportHub,
    ImportHub,
    Destination,
}

/// A carrier event of a journey: hours after the carriers' days begin, (17TRACK's
/// sub-status, the carrier's words), where.
type Step = (u64, (&'static str, &'static str), Leg);

/// A parcel's events as its carrier reports them, from the supplier's country to the
/// customer's address; within one country there is no customs.
fn carrier_events(journey: Journey, from: &str, to: &Address) -> Vec<ScriptedEvent> {
    let (origin, export_hub) = match from {
        "CN" => ("Shenzhen, GD, CN", "Hong Kong, HK"),
        "PT" => ("Lisbon, PT", "Lisbon Airport, PT"),
        "US" => ("Columbus, OH, US", "Chicago, IL, US"),
        other => (other, other),
    };
    let country = to.country_code.as_str();
    let import_hub = format!("International mail centre, {country}");
    let destination = match to.city.trim() {
        "" => country.to_string(),
        city => format!("{city}, {country}"),
    };
    let domestic = from == country;
    journey
        .steps()
        .iter()
        .filter(|(_, (status, _), _)| !(domestic && (status.contains("Customs") || *status == "Exception_Delayed")))
        .map(|(hours, (status, words), leg)| {
            let place = match leg {
                Leg::Origin => origin,
                Leg::ExportHub => export_hub,
                Leg::ImportHub => import_hub.as_str(),
                Leg::Destination => destination.as_str(),
            };
            ScriptedEvent::after(Duration::from_secs(hours * 3_600), status, words, Some(place))
        })
        .collect()
}

/// 17TRACK's carrier code of the demo's carriers (0: 17TRACK detects it).
fn carrier_code(carrier: &str) -> u32 {
    match carrier {
        "USPS" => 21_051,
        "DHL" => 100_001,
        "Royal Mail" => 11_031,
        "Cainiao" => 190_271,
        _ => 0,
    }
}

/// A parcel the carriers' days followed.
#[derive(Clone, Debug, Serialize)]
struct FollowedParcel {
    order_id: OrderId,
    /// The order as the summary names it.
    order: String,
    carrier: String,
    tracking_number: String,
    journey: Journey,
    /// Where the parcel stood when the carriers' days ended.
    state: ShipmentState,
}

/// What the carriers' days showed.
#[derive(Debug)]
struct AfterShipping {
    days: i64,
    parcels: Vec<FollowedParcel>,
    /// What the daily clock checks did, in all.
    raised: u64,
    resolved: u64,
    customers_told: u64,
    digests: u32,
    /// Parcels due to arrive that had not when the days ran out.
    stalled: Vec<String>,
}

/// The carriers' days pass: the parcels the vendor shipped are scripted at the simulated
/// 17TRACK (those of orders to be delivered arrive, most on time, two a week late out of
/// customs, one at the second attempt; the others are still on their way at the end; those
/// the vendor reported failed wait at the depot), then
/// the engine's clock and 17TRACK's move on a day at a time. Each day the worker runs the
/// jobs due (the `poll_tracking` of every parcel, and the write-back of deliveries) and the
/// clocks of every order are checked. When the parcels due have arrived (or after
/// [`MAX_CARRIER_DAYS`]) the sellers get their daily digest, and the engine goes back to the
/// wall clock.
async fn follow_parcels(
    app: &App,
    worker: &Worker,
    jobs: &mut PassReport,
    carriers: &TrackingServiceSim,
    clock: &DemoClock,
    stores: &[DemoStore],
    orders: &[Tracked],
) -> anyhow::Result<AfterShipping> {
    let start = clock.now();
    clock.set(Some(start));
    carriers.set_now(start);
    // A number nobody scripted is followed without news (rather than refused) and shows as
    // "not tracked yet" in the log.
    carriers.reject_unknown_numbers(false);
    let mut parcels = Vec::new();
    let mut arriving = ARRIVING.iter().copied().cycle();
    for tracked in orders {
        let store = &stores[tracked.store];
        let order = app.get_order(Scope::Operator, tracked.id).await?;
        for so in &order.supplier_orders {
            let from = store
                .suppliers
                .iter()
                .position(|id| *id == so.supplier_id)
                .map_or("CN", |i| SUPPLIERS[i].1);
            for parcel in &so.shipments {
                let journey = match parcel.state {
                    ShipmentState::InfoReceived | ShipmentState::InTransit if tracked.plan == Plan::Deliver => {
                        arriving.next().unwrap_or(Journey::OnTime)
                    }
                    ShipmentState::InfoReceived | ShipmentState::InTransit => Journey::OnItsWay,
                    ShipmentState::AttemptFailed => Journey::AtTheDepot,
                    // Delivered (by hand, or followed through CJ and AliExpress): done.
                    _ => continue,
                };
                carriers.script(
                    &parcel.tracking_number,
                    carrier_code(&parcel.carrier),
                    carrier_events(journey, from, &order.shipping_address),
                );
                parcels.push(FollowedParcel {
                    order_id: order.id,
                    order: order_label(store, &order),
                    carrier: parcel.carrier.clone(),
                    tracking_number: parcel.tracking_number.clone(),
                    journey,
                    state: parcel.state,
                });
            }
        }
    }

    let mut after = AfterShipping {
        days: 0,
        parcels,
        raised: 0,
        resolved: 0,
        customers_told: 0,
        digests: 0,
        stalled: Vec::new(),
    };
    for day in 1..=MAX_CARRIER_DAYS {
        let now = start + time::Duration::days(day);
        clock.set(Some(now));
        carriers.set_now(now);
        drain_at(worker, jobs, now).await?;
        let checked: ClockReport = app.check_all_clocks().await?;
        after.raised += checked.raised;
        after.resolved += checked.resolved;
        after.customers_told += checked.customers_told;
        after.days = day;
        let mut seen: HashMap<OrderId, Order> = HashMap::new();
        for parcel in &after.parcels {
            if let std::collections::hash_map::Entry::Vacant(slot) = seen.entry(parcel.order_id) {
                slot.insert(app.get_order(Scope::Operator, parcel.order_id).await?);
            }
        }
        for parcel in &mut after.parcels {
            if let Some(state) = seen
                .get(&parcel.order_id)
                .into_iter()
                .flat_map(|o| &o.supplier_orders)
                .flat_map(|so| &so.shipments)
                .find(|p| p.tracking_number == parcel.tracking_number)
                .map(|p| p.state)
            {
                parcel.state = state;
            }
        }
        let arrived = |p: &FollowedParcel| !p.journey.arrives() || p.state == ShipmentState::Delivered;
        if after.parcels.iter().all(arrived) {
            break;
        }
    }
    for parcel in after.parcels.iter().filter(|p| p.journey.arrives()) {
        if parcel.state != ShipmentState::Delivered {
            let note = format!(
                "after {} simulated days the parcel {} of {} ({}) was {} instead of delivered",
                after.days,
                parcel.tracking_number,
                parcel.order,
                parcel.journey.title(),
                parcel.state
            );
            tracing::warn!("{note}");
            after.stalled.push(note);
        }
    }
    after.digests = app.send_digests().await?;
    clock.set(None);
    Ok(after)
}

/// Runs the jobs due at `now` (a simulated moment) until none is left, and counts them.
async fn drain_at(worker: &Worker, jobs: &mut PassReport, now: OffsetDateTime) -> anyhow::Result<()> {
    loop {
        let pass = worker.run_pass_at(now).await.context("while running the worker")?;
        if pass.claimed() == 0 {
            return Ok(());
        }
        jobs.succeeded += pass.succeeded;
        jobs.retried += pass.retried;
        jobs.buried += pass.buried;
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

/// What the demo came to, read back from dropline and the simulators.
struct Report {
    /// Every order as it is now, in the order of [`Seeded::orders`].
    orders: Vec<Order>,
    /// Order counts per state, over the demo's stores.
    counts: HashMap<OrderState, u64>,
    /// Orders in dropline, per store.
    per_store: Vec<u64>,
    /// What each simulator received, per store.
    written_back: Vec<WrittenBack>,
    /// What the CJ and AliExpress simulators received.
    suppliers: [SupplierSimReport; 2],
    /// The messages in the outbox of the demo's stores, by template.
    outbox: BTreeMap<String, u64>,
    /// Where the customers' tracking pages are (the app's public address).
    public_url: Option<String>,
}

impl Report {
    async fn gather(app: &App, seeded: &Seeded) -> anyhow::Result<Self> {
        let mut orders = Vec::with_capacity(seeded.orders.len());
        for tracked in &seeded.orders {
            orders.push(app.get_order(Scope::Operator, tracked.id).await?);
        }
        let mut counts: HashMap<OrderState, u64> = HashMap::new();
        let mut per_store = Vec::new();
        for store in &seeded.stores {
            let mut total = 0;
            for (state, count) in app.count_orders_by_state(Scope::Operator, Some(store.id)).await? {
                *counts.entry(state).or_default() += count;
                total += count;
            }
            per_store.push(total);
        }
        let written_back = seeded.stores.iter().map(|s| s.sim.written_back()).collect();
        let keys: HashSet<String> = orders
            .iter()
            .flat_map(|o| &o.supplier_orders)
            .map(|so| so.idempotency_key.clone())
            .collect();
        let suppliers = seeded.sourcing.received(&keys);
        let mut outbox: BTreeMap<String, u64> = BTreeMap::new();
        for store in &seeded.stores {
            let filter = MessageFilter {
                store_id: Some(store.id),
                limit: 500,
                ..MessageFilter::default()
            };
            for message in app.list_messages(Scope::Operator, filter).await? {
                *outbox.entry(message.template).or_default() += 1;
            }
        }
        Ok(Self {
            orders,
            counts,
            per_store,
            written_back,
            suppliers,
            outbox,
            public_url: app.public_url().map(str::to_string),
        })
    }

    /// The demo's parcels by state (the states some parcel is in, in the parcels' order).
    fn parcel_states(&self) -> Vec<(ShipmentState, u64)> {
        let parcels: Vec<ShipmentState> = self
            .orders
            .iter()
            .flat_map(|o| &o.supplier_orders)
            .flat_map(|so| &so.shipments)
            .map(|p| p.state)
            .collect();
        ShipmentState::ALL
            .iter()
            .map(|state| (*state, parcels.iter().filter(|s| *s == state).count() as u64))
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    /// The exceptions of the demo's orders by kind: (still open, raised and resolved).
    fn exceptions(&self) -> BTreeMap<String, (u64, u64)> {
        let mut kinds: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for exception in self.orders.iter().flat_map(|o| &o.exceptions) {
            let counts = kinds.entry(exception.kind.to_string()).or_default();
            match exception.resolved_at {
                None => counts.0 += 1,
                Some(_) => counts.1 += 1,
            }
        }
        kinds
    }

    /// The outbox's templates, the customer's first in the order of the journey, then the
    /// seller's; with their counts.
    fn emails(&self, seller: bool) -> Vec<(&str, u64)> {
        let rank = |template: &str| {
            CUSTOMER_TEMPLATES
                .iter()
                .chain(&SELLER_TEMPLATES)
                .position(|t| *t == template)
                .unwrap_or(usize::MAX)
        };
        let mut emails: Vec<(&str, u64)> = self
            .outbox
            .iter()
            .filter(|(template, _)| is_seller_template(template) == seller)
            .map(|(template, count)| (template.as_str(), *count))
            .collect();
        emails.sort_by_key(|(template, _)| rank(template));
        emails
    }

    /// The customer's tracking page of an order, when it has one.
    fn tracking_page(&self, id: OrderId) -> Option<String> {
        let order = self.orders.iter().find(|o| o.id == id)?;
        let base = self.public_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/track/{}", order.tracking_token.as_deref()?))
    }

    /// The tracking page shown as the example: of the first parcel held in customs (else of
    /// any parcel followed), with the parcel.
    fn example_page<'a>(&self, after: &'a AfterShipping) -> Option<(&'a FollowedParcel, String)> {
        let held = after.parcels.iter().find(|p| p.journey == Journey::HeldInCustoms);
        held.into_iter()
            .chain(&after.parcels)
            .find_map(|p| self.tracking_page(p.order_id).map(|url| (p, url)))
    }

    fn count(&self, state: OrderState) -> u64 {
        self.counts.get(&state).copied().unwrap_or(0)
    }

    /// The first order in this state (not a test order), as (store index, order).
    fn first_in(&self, seeded: &Seeded, state: OrderState) -> Option<(usize, &Order)> {
        seeded
            .orders
            .iter()
            .zip(&self.orders)
            .find(|(_, order)| order.state == state && !order.test)
            .map(|(tracked, order)| (tracked.store, order))
    }
}

/// A seller of the main store who signs in to the dashboard: (email, password). The
/// password is new on every run (the demo's database is too) and shown only in the summary.
async fn dashboard_seller(app: &App, store_id: StoreId) -> anyhow::Result<(String, String)> {
    use dropline_app::accounts::{Accounts, NewUser};
    use dropline_domain::account::{Caller, Role};
    let email = "seller@demo.example".to_string();
    let password: String = dropline_app::token::new_token().chars().skip(3).take(20).collect();
    Accounts::new(app.clone())
        .create_user(
            Caller::operator(),
            NewUser {
                email: email.clone(),
                name: "Demo seller".into(),
                role: Role::Seller,
                store_id: Some(store_id),
                password: password.clone(),
            },
        )
        .await
        .map_err(|err| anyhow::anyhow!("while creating the demo's seller: {err}"))?;
    Ok((email, password))
}

fn print_json(
    seeded: &Seeded,
    report: &Report,
    admin: &serve::AdminToken,
    demo_dir: &Path,
    database: &Database,
    (base, seller): (&str, &(String, String)),
) -> anyhow::Result<()> {
    let main = &seeded.stores[0];
    let stores: Vec<_> = seeded
        .stores
        .iter()
        .enumerate()
        .map(|(index, store)| {
            json!({
                "id": store.id,
                "name": store.name,
                "platform": store.platform,
                "token": store.token,
                "simulator": store.sim.base_url(),
                "webhook_url": store.webhook_url,
                "catalog": { "variants": store.variants, "pulls": store.catalog_pulls },
                "storefront_changes": store.changes,
                "storefront_orders": store.sim.order_ids().len(),
                "orders": report.per_store[index],
                "webhooks": store.webhooks,
                "written_back": report.written_back[index],
            })
        })
        .collect();
    let orders: Vec<_> = seeded
        .orders
        .iter()
        .zip(&report.orders)
        .map(|(tracked, order)| {
            json!({
                "id": order.id,
                "store_id": order.store_id,
                "platform": seeded.stores[tracked.store].platform,
                "external_id": tracked.external_id,
                "number": order.number,
                "test": order.test,
                "state": order.state,
                "payment": order.payment,
                "hold_reasons": order.hold_reasons,
            })
        })
        .collect();
    output::print_json(&json!({
        "database": database.describe(),
        "data_dir": demo_dir.display().to_string(),
        "store": { "id": main.id, "name": main.name, "token": main.token },
        "stores": stores,
        "admin_token": admin.token,
        "dashboard": {
            "url": format!("{base}/sign-in"),
            "email": seller.0,
            "password": seller.1,
            "store_id": main.id,
        },
        "counts": OrderState::ALL
            .iter()
            .map(|s| (s.as_str(), report.count(*s)))
            .collect::<BTreeMap<_, _>>(),
        "suppliers": sourcing_json(seeded, report),
        "after_shipping": after_shipping_json(seeded, report),
        "worker": {
            "succeeded": seeded.jobs.succeeded,
            "retried": seeded.jobs.retried,
            "buried": seeded.jobs.buried,
        },
        "orders": orders,
    }))
}

fn print_summary(
    seeded: &Seeded,
    report: &Report,
    admin: &serve::AdminToken,
    demo_dir: &Path,
    database: &Database,
    base: &str,
) -> anyhow::Result<()> {
    let main = &seeded.stores[0];
    println!("dropline demo on {}", database.describe());
    println!();
    println!("Orders arrived from simulated storefronts as webhooks over HTTP:");
    let mut table = output::table([
        "PLATFORM",
        "STORE",
        "SIMULATOR",
        "CATALOGUE",
        "ORDERS",
        "WEBHOOKS",
        "IN DROPLINE",
    ]);
    for (index, store) in seeded.stores.iter().enumerate() {
        let pulls = match store.catalog_pulls {
            1 => "1 pull".to_string(),
            n => format!("{n} pulls"),
        };
        table.add_row([
            store.sim.label().to_string(),
            store.name.clone(),
            store.sim.base_url().to_string(),
            format!("{} variants, {pulls}", store.variants),
            store.sim.order_ids().len().to_string(),
            format!("{} ({} copies)", store.webhooks.sent, store.webhooks.copies),
            report.per_store[index].to_string(),
        ]);
    }
    println!("{table}");
    let (sent, copies): (usize, usize) = seeded.stores.iter().fold((0, 0), |(s, c), store| {
        (s + store.webhooks.sent, c + store.webhooks.copies)
    });
    let one_each = seeded
        .stores
        .iter()
        .zip(&report.per_store)
        .all(|(store, orders)| store.sim.order_ids().len() as u64 == *orders);
    if one_each {
        println!(
            "  all {sent} deliveries were taken, and the {copies} copies among them (duplicates, stale \
             redeliveries) made no extra order"
        );
    } else {
        println!("  all {sent} deliveries were taken, but dropline does not hold one order per storefront order");
    }
    for store in &seeded.stores {
        for change in &store.changes {
            println!("  {}: {change}", store.sim.label());
        }
    }
    println!();

    // Examples per state; for holds, one per distinct set of reasons first.
    let mut by_state: HashMap<OrderState, Vec<(String, String)>> = HashMap::new();
    for (tracked, order) in seeded.orders.iter().zip(&report.orders) {
        let mut notes: Vec<&str> = order.hold_reasons.iter().map(|r| r.as_str()).collect();
        if order.test {
            notes.push("test");
        }
        let name = order_label(&seeded.stores[tracked.store], order);
        let label = if notes.is_empty() {
            name
        } else {
            format!("{name} ({})", notes.join(", "))
        };
        by_state.entry(order.state).or_default().push((notes.join(","), label));
    }
    let mut table = output::table(["STATE", "ORDERS", "EXAMPLES"]);
    for state in OrderState::ALL {
        let examples = by_state.get(state).map(|labels| examples(labels)).unwrap_or_default();
        table.add_row([state.to_string(), report.count(*state).to_string(), examples]);
    }
    println!("{table}");
    println!();

    print_sourcing(seeded, report);
    println!();

    print_after_shipping(seeded, report);
    println!();

    println!("Written back to the storefronts by the worker:");
    for (index, store) in seeded.stores.iter().enumerate() {
        println!(
            "  {} sim: {}",
            store.sim.label(),
            report.written_back[index].describe(store.platform)
        );
    }
    let jobs = seeded.jobs;
    println!(
        "  (the worker ran {} jobs: routing, placing at suppliers, polling them and the carriers, write-back)",
        jobs.succeeded
    );
    if jobs.retried > 0 || jobs.buried > 0 {
        println!(
            "  {} jobs failed and wait for a retry, {} were given up: see the log above",
            jobs.retried, jobs.buried
        );
    }
    println!();

    for store in &seeded.stores {
        println!("store {} ({}, {})", store.name, store.platform, store.id);
        println!("  store API token: {}", store.token);
        println!("  webhooks to:     {}", store.webhook_url);
    }
    println!("admin token: {}", admin.token);
    println!();

    let id_of = |state: OrderState| {
        report
            .first_in(seeded, state)
            .map(|(_, order)| order.id.to_string())
            .unwrap_or_default()
    };
    let (shown, pending) = (id_of(OrderState::PartiallyDelivered), id_of(OrderState::PendingReview));
    println!("try, while the demo serves:");
    println!("  STORE_TOKEN={} ADMIN_TOKEN={}", main.token, admin.token);
    println!("  curl {base}/healthz");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/orders/counts");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" '{base}/api/v1/orders?state=on_hold'");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/orders/{shown}");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/orders/{shown}/timeline");
    println!("  curl -X POST -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/orders/{pending}/accept");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/exceptions");
    println!("  curl -H \"Authorization: Bearer $ADMIN_TOKEN\" {base}/api/v1/stores");
    println!(
        "  curl -X POST -H \"Authorization: Bearer $STORE_TOKEN\" -H 'Content-Type: application/json' \\\n       \
         -d '{{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"address1\":\"1 Market St\",\"city\":\"San Francisco\",\
         \"region\":\"CA\",\"postal_code\":\"9410\",\"country_code\":\"US\"}}' {base}/api/v1/addresses/validate"
    );
    println!("  curl {base}/api/v1/openapi.json");
    let sourcing = &seeded.sourcing;
    if let Some(so) = followed_supplier_order(seeded, report) {
        println!("  curl -H \"Authorization: Bearer $ADMIN_TOKEN\" {base}/api/v1/supplier-orders/{so}");
    }
    println!(
        "  curl -X POST -H \"Authorization: Bearer $ADMIN_TOKEN\" {base}/api/v1/suppliers/{}/reconcile",
        sourcing.cj_supplier
    );
    println!(
        "  curl -H \"Authorization: Bearer $ADMIN_TOKEN\" {base}/api/v1/suppliers/{}",
        sourcing.cj_supplier
    );
    if let (Sim::Shopify(shopify), Some((0, order))) = (&main.sim, report.first_in(seeded, OrderState::Shipped)) {
        println!("and what the Shopify simulator holds:");
        println!(
            "  curl -H 'X-Shopify-Access-Token: {}' {}/admin/api/2025-07/orders/{}/fulfillments.json",
            shopify.access_token(),
            shopify.base_url(),
            order.external_id
        );
    }
    println!("and from the command line:");
    let data_dir = demo_dir.display();
    println!("  dropline --data-dir {data_dir} orders list --state on_hold");
    println!("  dropline --data-dir {data_dir} orders show {shown}");
    println!("  dropline --data-dir {data_dir} orders accept {pending}");
    println!(
        "  dropline address check --country US --region CA --postal-code 9410 --city 'San Francisco' --address1 '1 Market St'"
    );
    Ok(())
}

/// The CJ supplier order of the order followed to the door.
fn followed_supplier_order(seeded: &Seeded, report: &Report) -> Option<SupplierOrderId> {
    let id = seeded
        .sourcing
        .cases
        .iter()
        .find(|c| c.case == Case::Followed)
        .and_then(|c| c.order_id)?;
    report
        .orders
        .iter()
        .find(|o| o.id == id)?
        .supplier_orders
        .iter()
        .find(|so| so.supplier_kind == SupplierKind::Cj)
        .map(|so| so.id)
}

/// The orders the sourcing store received after its launch that no case took, each as
/// "label: state (how each supplier order stands)".
fn other_sourced_orders(seeded: &Seeded, report: &Report) -> Vec<String> {
    let store = &seeded.stores[SOURCING_STORE];
    let in_cases: Vec<OrderId> = seeded.sourcing.cases.iter().filter_map(|c| c.order_id).collect();
    seeded
        .sourcing
        .orders
        .iter()
        .filter(|id| !in_cases.contains(id))
        .filter_map(|id| report.orders.iter().find(|o| o.id == *id))
        .map(|order| {
            let parts: Vec<String> = order.supplier_orders.iter().map(standing).collect();
            let mut text = format!("{}: {}", order_label(store, order), order.state);
            if !order.hold_reasons.is_empty() {
                let reasons: Vec<&str> = order.hold_reasons.iter().map(|r| r.as_str()).collect();
                text.push_str(&format!(" ({})", reasons.join(", ")));
            }
            if !parts.is_empty() {
                text.push_str(&format!(" ({})", parts.join("; ")));
            }
            text
        })
        .collect()
}

/// The reconciliation as one line: what CJ lists and how it matches.
fn describe_reconciliation(report: &Value, ghost: Option<&str>) -> String {
    let count = |key: &str| report[key].as_array().map_or(0, Vec::len);
    let ghosts: Vec<String> = report["ghosts"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(|id| {
                    if Some(id) == ghost {
                        format!("{id}, the sample ordered by hand in MyCJ")
                    } else {
                        id.to_string()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut text = format!(
        "CJ lists {} orders, {} match dropline's supplier orders, {} unknown to dropline",
        report["remote_orders"],
        report["matched"],
        ghosts.len()
    );
    if !ghosts.is_empty() {
        text.push_str(&format!(" ({})", ghosts.join("; ")));
    }
    text.push_str(&format!(
        ", {} held twice, {} missing at CJ{}",
        count("duplicates"),
        count("missing"),
        if report["complete"] == true {
            ""
        } else {
            " (list incomplete)"
        }
    ));
    text
}

fn sourcing_json(seeded: &Seeded, report: &Report) -> Value {
    let sourcing = &seeded.sourcing;
    json!({
        "store_id": seeded.stores[SOURCING_STORE].id,
        "cj_supplier_id": sourcing.cj_supplier,
        "aliexpress_supplier_id": sourcing.aliexpress_supplier,
        "simulators": report.suppliers,
        "orders": sourcing.orders.len(),
        "cases": sourcing.cases,
        "other_orders": other_sourced_orders(seeded, report),
        "ghost": sourcing.ghost,
        "reconciliation": sourcing.reconciliation,
        "stalled": sourcing.stalled,
    })
}

/// What the supplier simulators received and what each case showed, for people.
fn print_sourcing(seeded: &Seeded, report: &Report) {
    let sourcing = &seeded.sourcing;
    let store = &seeded.stores[SOURCING_STORE];
    println!(
        "Supplier orders placed through the suppliers' APIs by the worker: {} ({}) launched {} products bought \
         from CJ and AliExpress, then received {} more orders; what the supplier simulators received:",
        store.name,
        store.sim.label(),
        SOURCED.len(),
        sourcing.orders.len(),
    );
    let mut table = output::table([
        "SUPPLIER",
        "SIMULATOR",
        "CREATE CALLS",
        "ORDERS",
        "KEYS",
        "PLACED TWICE",
        "THERE NOW",
    ]);
    for sim in &report.suppliers {
        let orders = match sim.other_orders {
            0 => sim.orders.to_string(),
            n => format!("{} (+{n} by hand)", sim.orders),
        };
        let twice = if sim.keys_placed_twice.is_empty() {
            "none".to_string()
        } else {
            sim.keys_placed_twice.join(", ")
        };
        let mut statuses: Vec<String> = sim.statuses.iter().map(|(status, n)| format!("{n} {status}")).collect();
        if statuses.is_empty() {
            statuses.push("-".into());
        }
        table.add_row([
            sim.supplier.to_string(),
            sim.simulator.clone(),
            sim.create_calls.to_string(),
            orders,
            sim.keys.to_string(),
            twice,
            statuses.join(", "),
        ]);
    }
    println!("{table}");
    for case in &sourcing.cases {
        println!("  {} ({}):", case.order, case.case.title());
        for step in &case.steps {
            println!("    - {step}");
        }
    }
    let others = other_sourced_orders(seeded, report);
    if !others.is_empty() {
        println!("  the other orders received after the launch:");
        for other in others {
            println!("    - {other}");
        }
    }
    match &sourcing.reconciliation {
        Some(result) => println!(
            "  reconciliation (POST /api/v1/suppliers/{}/reconcile): {}",
            sourcing.cj_supplier,
            describe_reconciliation(result, sourcing.ghost.as_deref())
        ),
        None => println!("  reconciliation of CJ: no result"),
    }
    for note in &sourcing.stalled {
        println!("  UNEXPECTED: {note}");
    }
}

/// `4 on time, 2 held in customs`: counts with their names, those above zero.
fn counted<'a>(counts: impl IntoIterator<Item = (&'a str, u64)>) -> String {
    let parts: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

fn after_shipping_json(seeded: &Seeded, report: &Report) -> Value {
    let after = &seeded.after_shipping;
    let mut journeys: BTreeMap<Journey, u64> = BTreeMap::new();
    for parcel in &after.parcels {
        *journeys.entry(parcel.journey).or_default() += 1;
    }
    let exceptions = report.exceptions();
    let (open, resolved): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        exceptions
            .iter()
            .map(|(kind, (open, _))| (kind, *open))
            .filter(|(_, n)| *n > 0)
            .collect(),
        exceptions
            .iter()
            .map(|(kind, (_, done))| (kind, *done))
            .filter(|(_, n)| *n > 0)
            .collect(),
    );
    let carriers = &seeded.carriers;
    json!({
        "tracking_simulator": {
            "url": carriers.base_url(),
            "calls": carriers.call_counts(),
        },
        "simulated_days": after.days,
        "journeys": journeys,
        "parcels": after.parcels,
        "parcel_states": report.parcel_states().into_iter().map(|(s, n)| (s.as_str(), n)).collect::<BTreeMap<_, _>>(),
        "exceptions": { "open": open, "resolved": resolved },
        "clock_checks": {
            "raised": after.raised,
            "resolved": after.resolved,
            "customers_told": after.customers_told,
        },
        "emails": report.outbox,
        "digests": after.digests,
        "tracking_page": report.example_page(after).map(|(_, url)| url),
        "stalled": after.stalled,
    })
}

/// What happened after shipping, for people: the carriers' journeys, where the parcels are,
/// the exceptions the clocks raised and cleared, what the customers and sellers were told,
/// and a tracking page to open.
fn print_after_shipping(seeded: &Seeded, report: &Report) {
    let (after, carriers) = (&seeded.after_shipping, &seeded.carriers);
    println!(
        "After shipping: the carriers' parcels followed through a simulated 17TRACK ({}: {} numbers registered, \
         {} look-ups) for {} simulated days, the worker looking at each parcel and the clocks of every order \
         checked each day:",
        carriers.base_url(),
        carriers.calls(dropline_sim::tracking::REGISTER),
        carriers.calls(dropline_sim::tracking::GET_TRACK_INFO),
        after.days
    );
    for journey in [
        Journey::OnTime,
        Journey::HeldInCustoms,
        Journey::FailedAttempt,
        Journey::OnItsWay,
        Journey::AtTheDepot,
    ] {
        let labels: Vec<(String, String)> = after
            .parcels
            .iter()
            .filter(|p| p.journey == journey)
            .map(|p| (String::new(), p.order.clone()))
            .collect();
        if !labels.is_empty() {
            println!("  {}: {}", journey.title(), examples(&labels));
        }
    }
    let states = report.parcel_states();
    println!(
        "  every parcel of the demo now: {}",
        counted(states.iter().map(|(state, n)| (state.as_str(), *n)))
    );
    let exceptions = report.exceptions();
    println!(
        "  exceptions open: {}; raised and cleared: {}",
        counted(exceptions.iter().map(|(kind, (open, _))| (kind.as_str(), *open))),
        counted(exceptions.iter().map(|(kind, (_, done))| (kind.as_str(), *done)))
    );
    println!(
        "  customer emails (queued in the outbox: the demo sends no mail): {}",
        counted(report.emails(false))
    );
    println!("  seller notifications: {}", counted(report.emails(true)));
    if let Some((parcel, url)) = report.example_page(after) {
        println!(
            "  the tracking page of {} ({} {}, {}): {url}",
            parcel.order,
            parcel.carrier,
            parcel.tracking_number,
            parcel.journey.title()
        );
    }
    for note in &after.stalled {
        println!("  UNEXPECTED: {note}");
    }
}

/// An order as the summary names it: its number, with its platform outside the main store.
fn order_label(store: &DemoStore, order: &Order) -> String {
    match store.platform {
        Platform::Shopify => order.number.clone(),
        _ => format!("{} {}", store.sim.label(), order.number),
    }
}

/// Up to five examples, distinct notes (hold reasons) first.
fn examples(labels: &[(String, String)]) -> String {
    let mut seen = HashSet::new();
    let mut picked: Vec<&str> = labels
        .iter()
        .filter(|(key, _)| seen.insert(key.as_str()))
        .map(|(_, l)| l.as_str())
        .collect();
    for (_, label) in labels {
        if picked.len() >= 5 {
            break;
        }
        if !picked.contains(&label.as_str()) {
            picked.push(label);
        }
    }
    picked.truncate(5);
    let more = labels.len().saturating_sub(picked.len());
    let mut text = picked.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_come_out_of_site_urls() {
        assert_eq!(host_of("https://maple-moss.example"), "maple-moss.example");
        assert_eq!(host_of("https://maple-moss.example/"), "maple-moss.example");
        assert_eq!(host_of("http://127.0.0.1:8080/shop"), "127.0.0.1:8080");
        assert_eq!(host_of("shop.example"), "shop.example");
    }

    #[test]
    fn written_back_names_what_each_platform_received() {
        let shopify = WrittenBack {
            shipments: 8,
            with_tracking: 8,
            delivered: 3,
            cancelled: 1,
            ..WrittenBack::default()
        };
        assert_eq!(
            shopify.describe(Platform::Shopify),
            "8 fulfillments with tracking, 3 marked delivered, 1 cancellation"
        );
        let woo = WrittenBack {
            shipments: 1,
            with_tracking: 1,
            notes: 3,
            completed: 2,
            ..WrittenBack::default()
        };
        assert_eq!(
            woo.describe(Platform::Woocommerce),
            "1 shipment tracking, 3 order notes, 2 orders set completed"
        );
        let wix = WrittenBack {
            shipments: 3,
            with_tracking: 2,
            cancelled: 2,
            ..WrittenBack::default()
        };
        assert_eq!(
            wix.describe(Platform::Wix),
            "2 fulfillments with tracking, 1 without, 2 cancellations"
        );
        assert_eq!(
            WrittenBack::default().describe(Platform::Wix),
            "0 fulfillments with tracking"
        );
    }

    #[test]
    fn plans_needing_two_supplier_orders_are_the_partial_ones() {
        assert!(Plan::PartlyShip.needs_two() && Plan::PartlyDeliver.needs_two());
        assert!(!Plan::Ship.needs_two() && !Plan::Deliver.needs_two());
        // Every store can place its routed plans: the partial ones come first, so that the
        // orders with two supplier orders take them.
        for casting in [&SHOPIFY_CASTING, &WOO_CASTING, &WIX_CASTING] {
            let first_single = casting.routed.iter().position(|p| !p.needs_two());
            let last_two = casting.routed.iter().rposition(|p| p.needs_two());
            if let (Some(single), Some(two)) = (first_single, last_two) {
                assert!(two < single, "{:?}", casting.routed);
            }
            assert!(casting.extra.iter().all(|p| !p.needs_two()));
        }
    }

    #[test]
    fn every_offer_sells_a_catalogue_sku() {
        let skus: Vec<String> = northwind_catalogue()
            .into_iter()
            .flat_map(|p| p.variants)
            .map(|v| v.sku)
            .collect();
        for row in OFFERS {
            assert!(skus.iter().any(|sku| sku == row.sku), "{}", row.sku);
            assert!(row.supplier < SUPPLIERS.len());
        }
        for sku in &skus {
            assert!(OFFERS.iter().any(|row| row.sku == sku), "{sku} has no offer");
        }
        for sku in EVERYDAY_SKUS {
            assert!(skus.iter().any(|s| s == sku), "{sku}");
        }
    }

    #[test]
    fn prices_end_in_99_and_a_rise_clears_the_tolerance() {
        assert_eq!(amount(1_299), "12.99");
        assert_eq!(amount(5), "0.05");
        // Twice the landed cost plus ten dollars, up to .99.
        assert_eq!(retail_price(899), "27.99");
        assert_eq!(retail_price(1_000), "30.99");
        assert_eq!(up_to_99(1_900), 1_999);
        assert_eq!(up_to_99(1_999), 1_999);
        for (price, expected) in [(299, 584), (1_649, 2_074), (4_999, 5_500)] {
            let raised = raised_price(price, expected);
            assert_eq!(raised % 100, 99, "{raised}");
            // The whole rise lands on one unit: clearly above the 5 % tolerance.
            assert!((raised - price) * 100 >= expected * 15, "{price} → {raised}");
        }
    }

    #[test]
    fn every_sourced_product_has_a_primary_and_the_cases_are_distinct() {
        let mut skus = HashSet::new();
        for row in &SOURCED {
            assert!(skus.insert(row.sku), "{} twice", row.sku);
            assert!(
                row.cj.is_some() || row.aliexpress.is_some(),
                "{} has no supplier",
                row.sku
            );
            assert!(row.manual.is_none_or(|m| m < SUPPLIERS.len()));
            assert!(row.manual.is_none() || row.cj.is_some(), "a manual backup backs CJ up");
        }
        // The failover case needs a CJ variant with an AliExpress backup.
        assert!(SOURCED.iter().any(|r| r.cj.is_some() && r.aliexpress.is_some()));
        let distinct: HashSet<Case> = CASES.into_iter().collect();
        assert_eq!(distinct.len(), CASES.len());
    }

    #[tokio::test]
    async fn the_suppliers_sell_what_the_launch_names_from_one_aliexpress_seller() {
        let SupplierSims { cj, aliexpress } = SupplierSims::start().await.expect("simulators");
        let variants = cj.variants();
        let products = aliexpress.products();
        let mut sellers = HashSet::new();
        for row in &SOURCED {
            if let Some(i) = row.cj {
                assert!(variants.get(i).is_some_and(|v| v.listed), "CJ variant {i}");
            }
            if let Some((p, k)) = row.aliexpress {
                let product = products.get(p).expect("an AliExpress product");
                assert!(product.skus.get(k).is_some(), "AliExpress SKU {p}/{k}");
                sellers.insert(product.store_id);
            }
        }
        assert_eq!(sellers.len(), 1, "one AliExpress order per supplier order");
    }

    const JOURNEYS: [Journey; 5] = [
        Journey::OnTime,
        Journey::HeldInCustoms,
        Journey::FailedAttempt,
        Journey::OnItsWay,
        Journey::AtTheDepot,
    ];

    /// The hour the journey's first event of this sub-status happens.
    fn hour_of(journey: Journey, status: &str) -> Option<u64> {
        journey
            .steps()
            .iter()
            .find(|(_, (s, _), _)| *s == status)
            .map(|(h, ..)| *h)
    }

    /// The whole day at which the worker first sees an event of `hour`.
    fn seen_on(hour: u64) -> u64 {
        hour.div_ceil(24)
    }

    #[test]
    fn carrier_events_fall_between_the_daily_looks_and_never_stall() {
        let limits = dropline_domain::catalog::ClockLimits::default();
        for journey in JOURNEYS {
            let steps = journey.steps();
            assert!(!steps.is_empty(), "{journey:?}");
            for pair in steps.windows(2) {
                assert!(pair[0].0 < pair[1].0, "{journey:?}: events in order");
                assert!(
                    pair[1].0 - pair[0].0 < u64::from(limits.no_news_hours),
                    "{journey:?}: no stall"
                );
            }
            for (hour, (status, _), _) in steps {
                assert_ne!(hour % 24, 0, "{journey:?}: {status} on a whole day");
            }
            let first_scan = steps
                .iter()
                .find(|(_, (s, _), _)| *s != "InfoReceived")
                .map(|(h, ..)| *h);
            assert!(first_scan.is_some_and(|h| h < u64::from(limits.first_scan_within_hours)));
        }
    }

    #[test]
    fn journeys_show_each_step_on_a_day_of_its_own() {
        let limits = dropline_domain::catalog::ClockLimits::default();
        let delivered = |j: Journey| hour_of(j, "Delivered_Other").expect("delivered");
        // An out-for-delivery scan is seen the day before the delivery (its email goes out).
        for journey in [Journey::OnTime, Journey::HeldInCustoms, Journey::FailedAttempt] {
            let out = hour_of(journey, "OutForDelivery_Other").expect("out for delivery");
            assert!(seen_on(out) < seen_on(delivered(journey)), "{journey:?}");
        }
        // Held in customs past the limit at a daily look, released a look later.
        let customs = hour_of(Journey::HeldInCustoms, "InTransit_CustomsProcessing").expect("customs");
        let released = hour_of(Journey::HeldInCustoms, "InTransit_CustomsReleased").expect("released");
        let last_look_held = (seen_on(released) - 1) * 24;
        assert!(last_look_held > customs + u64::from(limits.customs_hours));
        assert!(seen_on(released) < seen_on(delivered(Journey::HeldInCustoms)));
        // On time: through customs within the limit.
        let on_time = |status| hour_of(Journey::OnTime, status).expect(status);
        assert!(on_time("InTransit_CustomsReleased") - on_time("InTransit_CustomsProcessing") < 24);
        // The failed attempt is seen alone, and the second round before the delivery: the order
        // is back in transit at a clock check (which clears the delivery problem).
        let failed = hour_of(Journey::FailedAttempt, "DeliveryFailure_NoBody").expect("failed");
        let again = Journey::FailedAttempt
            .steps()
            .iter()
            .rfind(|(_, (s, _), _)| *s == "OutForDelivery_Other")
            .map(|(h, ..)| *h)
            .expect("second attempt");
        assert!(seen_on(hour_of(Journey::FailedAttempt, "OutForDelivery_Other").expect("out")) < seen_on(failed));
        assert!(seen_on(failed) < seen_on(again) && seen_on(again) < seen_on(delivered(Journey::FailedAttempt)));
        // The slower lane is still on its way when the last parcel due is seen delivered.
        let days = ARRIVING.iter().map(|j| seen_on(delivered(*j))).max().expect("arriving");
        assert!(seen_on(delivered(Journey::OnItsWay)) > days);
        assert!(ARRIVING.iter().all(|j| j.arrives()) && !Journey::OnItsWay.arrives());
        assert!(days <= MAX_CARRIER_DAYS as u64);
    }

    #[test]
    fn carrier_events_name_the_lane_and_skip_customs_at_home() {
        let to = |country: &str, city: &str| Address {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            company: None,
            address1: "1 Main St".into(),
            address2: None,
            city: city.into(),
            region: None,
            postal_code: "1000".into(),
            country_code: country.into(),
            phone: None,
        };
        let abroad = carrier_events(Journey::HeldInCustoms, "CN", &to("NL", "Amsterdam"));
        assert_eq!(abroad.len(), Journey::HeldInCustoms.steps().len());
        assert_eq!(abroad[0].location.as_deref(), Some("Shenzhen, GD, CN"));
        assert_eq!(abroad.last().and_then(|e| e.location.as_deref()), Some("Amsterdam, NL"));
        let home = carrier_events(Journey::HeldInCustoms, "US", &to("US", "Boston"));
        assert!(
            home.iter()
                .all(|e| !e.sub_status.contains("Customs") && e.sub_status != "Exception_Delayed")
        );
        assert_eq!(home.last().map(|e| e.sub_status.as_str()), Some("Delivered_Other"));
        assert_eq!(seller_email(WOO_STORE), "owner@maple-moss.example");
    }
}
