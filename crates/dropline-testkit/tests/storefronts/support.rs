//! What the platform modules share: the [`Sim`] trait each simulator is driven through, the
//! platform's view of an order ([`SimOrder`]), helpers over dropline's REST API, and the
//! flows every platform goes through (connect, pull the catalogue, take orders in, write a
//! shipment back, survive a rate limit, make a refund once).

use dropline_app::ports::Job;
use dropline_sim::{ApiRequest, OrderRun, ProductIds, Scenario, SimError, SimProduct, SimVariant};
use dropline_testkit::{TestApp, data};
use dropline_worker::{PassReport, Worker, WorkerConfig};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The carrier of every shipment the tests write back.
pub const CARRIER: &str = "YunExpress";

/// How long the platforms ask dropline to wait after a 429 in the rate-limit tests.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// The simulators
// ---------------------------------------------------------------------------------------------

/// One line of an order as the platform's API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimLine {
    /// The platform's line id (dropline's line `external_id`).
    pub line_id: String,
    /// The platform's variant id (a simple WooCommerce product: the product id).
    pub variant_id: String,
    pub sku: String,
    pub quantity: u64,
    /// Unit price in cents.
    pub unit_price: i64,
}

/// An order as the platform's API shows it, amounts in cents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimOrder {
    pub id: String,
    /// The number the seller sees (`#1001`, `727`, `10001`).
    pub number: String,
    pub lines: Vec<SimLine>,
    pub subtotal: i64,
    pub shipping: i64,
    pub total: i64,
}

impl SimOrder {
    /// (line id, quantity) of every line, sorted.
    pub fn line_quantities(&self) -> Vec<(String, u64)> {
        let mut lines: Vec<(String, u64)> = self.lines.iter().map(|l| (l.line_id.clone(), l.quantity)).collect();
        lines.sort();
        lines
    }
}

/// A simulated platform as these tests drive it; implemented in each platform's module.
pub trait Sim {
    /// `shopify`, `woocommerce` or `wix`: the platform of the store and of the webhook path.
    const PLATFORM: &'static str;

    fn base_url(&self) -> &str;
    fn set_webhook_url(&self, url: String);
    /// The fields of `POST /stores` (and of `PUT /stores/{id}/connection`, but for the
    /// webhook secret) that connect a store to this simulator.
    fn connection(&self) -> Value;
    /// `PUT /stores/{id}/connection` bodies with one credential wrong, each named.
    fn wrong_connections(&self) -> Vec<(&'static str, Value)>;
    /// The name `connection/test` must report.
    fn shop_name(&self) -> String;
    fn add_product(&self, product: SimProduct) -> Result<ProductIds, SimError>;
    /// The order as the platform's API shows it now.
    fn order(&self, id: &str) -> SimOrder;
    fn requests(&self) -> Vec<ApiRequest>;
    fn rate_limit_next(&self, count: u32, retry_after: Duration);
    /// The next `count` API requests are answered 500.
    fn fail_next(&self, count: u32);
    /// The order's refunds as the platform recorded them.
    fn refunds(&self, id: &str) -> Vec<dropline_sim::Refund>;
    /// Refunds through the payment gateway refused with this reason (`None`: taken again).
    fn refuse_refunds(&self, reason: Option<&str>);
    /// The next `count` refunds are made, then answered 500.
    fn lose_next_refund_answers(&self, count: u32);
    async fn deliver_orders(&self, count: usize, scenario: &Scenario) -> Vec<OrderRun>;
    /// Creates one order and sends its creation webhook; returns its platform id.
    async fn new_order(&self) -> String;
}

/// Adds every product to the simulator; returns each with the ids the platform gave it.
pub fn stock<S: Sim>(sim: &S, products: Vec<SimProduct>) -> Vec<(SimProduct, ProductIds)> {
    products
        .into_iter()
        .map(|product| {
            let ids = sim
                .add_product(product.clone())
                .expect("the simulator takes the product");
            (product, ids)
        })
        .collect()
}

/// `count` products priced from 10.00 up: every third one simple (when `with_simple`), the others
/// in two colours.
pub fn large_catalogue(count: usize, with_simple: bool) -> Vec<SimProduct> {
    (0..count)
        .map(|n| {
            let price = format!("{}.{:02}", 10 + n, (n * 7) % 100);
            if with_simple && n % 3 == 0 {
                SimProduct::simple(format!("Gadget {n}"), format!("GADGET-{n:03}"), price)
            } else {
                SimProduct::new(format!("Lamp {n}"))
                    .variant(SimVariant::new(format!("LAMP-{n:03}-BLK"), price).option("Color", "Black"))
                    .variant(
                        SimVariant::new(format!("LAMP-{n:03}-WHT"), format!("{}.50", 11 + n)).option("Color", "White"),
                    )
            }
        })
        .collect()
}

/// Cents of an amount written as text (`"49.99"`, `"12.5"`, `"10"`) or as a JSON number.
pub fn cents(value: &Value) -> i64 {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => panic!("not an amount: {other}"),
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    assert!(fraction.len() <= 2, "more than two decimals in {text}");
    let whole: i64 = whole.parse().unwrap_or_else(|_| panic!("not an amount: {text}"));
    let fraction: i64 = format!("{fraction:0<2}")
        .parse()
        .unwrap_or_else(|_| panic!("not an amount: {text}"));
    whole * 100 + fraction
}

/// A JSON id (number or text) as text.
pub fn id_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => panic!("not an id: {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// dropline over HTTP
// ---------------------------------------------------------------------------------------------

/// The `id` of a JSON object.
pub fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}

/// A variant in dropline's catalogue, as `GET /products` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    pub id: String,
    pub product_id: String,
    pub product_title: String,
    pub platform_product_id: Option<String>,
    pub platform_variant_id: Option<String>,
    pub sku: String,
    pub price: i64,
}

/// Creates a store of the simulator's platform connected to it; `settings` as `POST /stores`
/// takes them. Returns the store id.
pub async fn create_store<S: Sim>(app: &TestApp, sim: &S, settings: Value) -> String {
    let mut body = json!({
        "name": format!("{} store {}", S::PLATFORM, data::unique()),
        "platform": S::PLATFORM,
        "currency": "USD",
        "address": data::warehouse_address(),
        "settings": settings,
    });
    for (field, value) in sim.connection().as_object().expect("connection fields") {
        body[field] = value.clone();
    }
    let created = app.admin().create_store(&body).await.expect(201);
    let id = id_of(&created);
    let connection = &created["connection"];
    assert_eq!(connection["api_base"], sim.base_url(), "{created:#}");
    assert_eq!(connection["webhook_secrets"], 1, "{created:#}");
    assert_eq!(
        connection["webhook_path"],
        format!("/webhooks/{}/{id}", S::PLATFORM),
        "{created:#}"
    );
    for secret in ["access_token", "api_key", "api_secret", "webhook_secret"] {
        if let Some(value) = body[secret].as_str() {
            assert!(!shows(&created, value), "{secret} is never shown: {created:#}");
        }
    }
    id
}

/// Whether any text of `value` contains `needle`.
fn shows(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(text) => text.contains(needle),
        Value::Array(items) => items.iter().any(|item| shows(item, needle)),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, item)| key.contains(needle) || shows(item, needle)),
        _ => false,
    }
}

/// `POST /stores/{id}/catalog/pull` (202), then every job it queued; returns what the jobs did.
/// A job that fails is buried at once, and the test fails with its error.
pub async fn pull_catalogue(app: &TestApp, store_id: &str) -> PassReport {
    let queued = app
        .admin()
        .post_empty(&format!("/api/v1/stores/{store_id}/catalog/pull"))
        .await
        .expect(202);
    assert_eq!(queued, json!({ "queued": true }));
    let worker = Worker::new(
        app.app().clone(),
        WorkerConfig {
            name: "catalogue-pull".into(),
            max_attempts: 1,
            ..WorkerConfig::default()
        },
    );
    let report = worker.run_until_idle().await.expect("run the pull jobs");
    if report.retried > 0 || report.buried > 0 {
        let errors: Vec<Option<String>> = buried(app).await.into_iter().map(|job| job.last_error).collect();
        panic!("the catalogue pull failed: {errors:#?}");
    }
    report
}

/// Every variant of the store's catalogue in dropline.
pub async fn catalogue(app: &TestApp, store_id: &str) -> Vec<Pulled> {
    let listed = app
        .admin()
        .list_products(&format!("store_id={store_id}"))
        .await
        .expect(200);
    let mut variants = Vec::new();
    for product in listed["products"].as_array().expect("products") {
        for variant in product["variants"].as_array().expect("variants") {
            assert_eq!(variant["price"]["currency"], "USD", "{variant}");
            variants.push(Pulled {
                id: id_of(variant),
                product_id: id_of(product),
                product_title: product["title"].as_str().unwrap_or_default().to_string(),
                platform_product_id: product["platform_product_id"].as_str().map(str::to_string),
                platform_variant_id: variant["platform_variant_id"].as_str().map(str::to_string),
                sku: variant["sku"].as_str().expect("sku").to_string(),
                price: cents(&variant["price"]["amount"]),
            });
        }
    }
    variants
}

/// Wix's id of the one variant of a product without options, the same for every such product:
/// it names no variant on its own, so dropline may keep another id for it.
pub fn shared_variant_id(id: &str) -> bool {
    id == uuid::Uuid::nil().to_string()
}

/// Asserts that dropline's catalogue is exactly the simulator's: every variant once, with the
/// platform's product and variant ids, SKU, price and product title; no platform variant id twice.
pub fn assert_catalogue_is(pulled: &[Pulled], stocked: &[(SimProduct, ProductIds)]) {
    let expected: usize = stocked.iter().map(|(product, _)| product.variants.len()).sum();
    assert_eq!(
        pulled.len(),
        expected,
        "one variant in dropline per variant of the platform"
    );
    let skus: BTreeSet<&str> = pulled.iter().map(|v| v.sku.as_str()).collect();
    assert_eq!(skus.len(), pulled.len(), "no SKU twice");
    let platform_ids: BTreeSet<&str> = pulled.iter().filter_map(|v| v.platform_variant_id.as_deref()).collect();
    assert_eq!(
        platform_ids.len(),
        pulled.len(),
        "every variant has a platform id of its own"
    );
    for (product, ids) in stocked {
        let mut dropline_products = BTreeSet::new();
        for (variant, variant_id) in product.variants.iter().zip(&ids.variant_ids) {
            let found = pulled
                .iter()
                .find(|v| v.sku == variant.sku)
                .unwrap_or_else(|| panic!("{} was not pulled", variant.sku));
            if !shared_variant_id(variant_id) {
                assert_eq!(
                    found.platform_variant_id.as_deref(),
                    Some(variant_id.as_str()),
                    "{} as pulled",
                    variant.sku
                );
            }
            assert_eq!(
                (
                    found.platform_product_id.as_deref(),
                    found.price,
                    found.product_title.as_str()
                ),
                (
                    Some(ids.product_id.as_str()),
                    cents(&json!(variant.price)),
                    product.title.as_str()
                ),
                "{} as pulled",
                variant.sku
            );
            dropline_products.insert(found.product_id.clone());
        }
        assert_eq!(
            dropline_products.len(),
            1,
            "the variants of {} stay one product",
            product.title
        );
    }
}

/// A store connected to the simulator, its catalogue pulled, a manual supplier with an offer
/// for every variant, and the simulator's webhooks pointed at it.
pub struct Connected {
    pub store_id: String,
    pub catalogue: Vec<Pulled>,
}

pub async fn connected_store<S: Sim>(app: &TestApp, sim: &S, auto_accept: bool) -> Connected {
    let store_id = create_store(app, sim, json!({ "auto_accept": { "enabled": auto_accept } })).await;
    pull_catalogue(app, &store_id).await;
    let catalogue = catalogue(app, &store_id).await;
    assert!(!catalogue.is_empty(), "the catalogue was pulled");
    let admin = app.admin();
    let supplier = admin
        .create_supplier(&data::manual_supplier(&store_id))
        .await
        .expect(201);
    let supplier_id = id_of(&supplier);
    for variant in &catalogue {
        let url = format!("https://supplier.example/item/{}", variant.sku);
        admin
            .add_offer(&data::offer(&variant.id, &supplier_id, &url, Some(500)))
            .await
            .expect(201);
    }
    sim.set_webhook_url(format!("{}/webhooks/{}/{store_id}", app.base_url(), S::PLATFORM));
    Connected { store_id, catalogue }
}

/// Every order of the store, newest first.
pub async fn orders(app: &TestApp, store_id: &str) -> Vec<Value> {
    let listed = app
        .admin()
        .list_orders(&format!("store_id={store_id}&limit=500"))
        .await
        .expect(200);
    assert!(listed["next_cursor"].is_null(), "one page holds them all");
    listed["orders"].as_array().expect("orders").clone()
}

/// The store's order with this platform id.
pub async fn order_by_external_id(app: &TestApp, store_id: &str, external_id: &str) -> Value {
    let mut found: Vec<Value> = orders(app, store_id)
        .await
        .into_iter()
        .filter(|order| order["external_id"] == external_id)
        .collect();
    assert_eq!(found.len(), 1, "one order {external_id}");
    found.remove(0)
}

/// The kinds of an order's timeline entries, oldest first.
pub async fn timeline(app: &TestApp, order_id: &str) -> Vec<String> {
    let timeline = app.admin().timeline(order_id).await.expect(200);
    timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["kind"].as_str().expect("kind").to_string())
        .collect()
}

/// How many entries of this kind the order's timeline has.
pub async fn entries(app: &TestApp, order_id: &str, kind: &str) -> usize {
    timeline(app, order_id).await.iter().filter(|k| *k == kind).count()
}

/// Asserts that dropline's order is the platform's: id, number, lines (each mapped to the
/// pulled variant of its SKU, which carries the line's platform variant id), totals.
pub fn assert_order_is(order: &Value, expected: &SimOrder, catalogue: &[Pulled]) {
    assert_eq!(order["external_id"], expected.id.as_str(), "{order:#}");
    assert_eq!(order["number"], expected.number.as_str(), "{order:#}");
    assert_eq!(order["currency"], "USD");
    let lines = order["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), expected.lines.len(), "lines of {}: {order:#}", expected.id);
    for want in &expected.lines {
        let line = lines
            .iter()
            .find(|line| line["external_id"] == want.line_id.as_str())
            .unwrap_or_else(|| panic!("no line {} in {order:#}", want.line_id));
        let variant = catalogue
            .iter()
            .find(|v| v.sku == want.sku)
            .unwrap_or_else(|| panic!("{} is not in the pulled catalogue", want.sku));
        if !shared_variant_id(&want.variant_id) {
            assert_eq!(
                variant.platform_variant_id.as_deref(),
                Some(want.variant_id.as_str()),
                "the pulled {} carries the platform's variant id",
                want.sku
            );
        }
        assert_eq!(
            (
                line["variant_id"].as_str(),
                line["sku"].as_str(),
                line["quantity"].as_u64(),
                cents(&line["unit_price"]["amount"]),
            ),
            (
                Some(variant.id.as_str()),
                Some(want.sku.as_str()),
                Some(want.quantity),
                want.unit_price,
            ),
            "line {} of order {} ({})",
            want.line_id,
            expected.id,
            want.sku
        );
    }
    assert_eq!(
        (
            cents(&order["subtotal"]["amount"]),
            cents(&order["shipping_total"]["amount"]),
            cents(&order["total"]["amount"]),
        ),
        (expected.subtotal, expected.shipping, expected.total),
        "subtotal, shipping and total of {}",
        expected.id
    );
}

/// Records the supplier's reference on the order's only supplier order and adds a parcel of
/// [`CARRIER`] with this tracking number; returns the supplier order id and the tracking URL.
pub async fn ship(app: &TestApp, order: &Value, tracking_number: &str) -> (String, String) {
    let supplier_orders = order["supplier_orders"].as_array().expect("supplier orders");
    assert_eq!(supplier_orders.len(), 1, "one supplier order: {order:#}");
    let supplier_order_id = id_of(&supplier_orders[0]);
    let admin = app.admin();
    admin
        .record_reference(
            &supplier_order_id,
            &json!({ "supplier_reference": format!("SUP-{}", data::unique()) }),
        )
        .await
        .expect(200);
    let url = format!("https://www.yuntrack.com/parcelTracking?id={tracking_number}");
    let so = admin
        .add_shipment(
            &supplier_order_id,
            &json!({ "carrier": CARRIER, "tracking_number": tracking_number, "tracking_url": url }),
        )
        .await
        .expect(201);
    assert_eq!(so["shipments"].as_array().map(Vec::len), Some(1), "{so:#}");
    (supplier_order_id, url)
}

/// The API requests that may change something: neither a `GET` nor a query sent by `POST`
/// (Wix queries its catalogue that way).
pub fn writes(requests: &[ApiRequest]) -> Vec<&ApiRequest> {
    requests
        .iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/query"))
        .collect()
}

/// A worker of the test app's own, for the tests that expect a job to fail and be retried
/// (`TestApp::run_pending_jobs` treats a retry as a failed test).
pub fn worker(app: &TestApp) -> Worker {
    Worker::new(
        app.app().clone(),
        WorkerConfig {
            name: "storefront-tests".into(),
            ..WorkerConfig::default()
        },
    )
}

/// Runs passes of `worker` until one runs a job, for at most `limit`; returns that pass and
/// when it ran.
pub async fn next_job_run(worker: &Worker, limit: Duration) -> (PassReport, Instant) {
    let started = Instant::now();
    loop {
        let pass = worker.run_pass().await.expect("a worker pass");
        if pass.claimed() > 0 {
            return (pass, Instant::now());
        }
        assert!(started.elapsed() < limit, "no job became due within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The buried jobs (none, in a test that passes).
pub async fn buried(app: &TestApp) -> Vec<Job> {
    app.app()
        .backend()
        .list_buried_jobs(20)
        .await
        .expect("list the buried jobs")
}

// ---------------------------------------------------------------------------------------------
// The flows every platform goes through
// ---------------------------------------------------------------------------------------------

/// A connected store's `connection/test` answers the shop's name; with any credential wrong it
/// answers `error` (HTTP status and code) after asking the platform, and writes nothing; set
/// right again, it answers the name again.
pub async fn connection_is_tested<S: Sim>(app: &TestApp, sim: &S, error: (u16, &str)) {
    let store_id = create_store(app, sim, json!({})).await;
    let admin = app.admin();
    let path = format!("/api/v1/stores/{store_id}/connection/test");
    let answer = admin.post_empty(&path).await.expect(200);
    assert_eq!(
        answer,
        json!({ "ok": true, "shop_name": sim.shop_name(), "currency": "USD" })
    );
    let refused_before = sim.requests().iter().filter(|r| r.status == 401).count();
    assert_eq!(refused_before, 0);

    for (which, connection) in sim.wrong_connections() {
        admin
            .put(&format!("/api/v1/stores/{store_id}/connection"), &connection)
            .await
            .expect(200);
        let before = app.snapshot().await;
        let requests_before = sim.requests().len();
        let answer = admin.post_empty(&path).await;
        answer.expect_error(error.0, error.1);
        assert!(
            answer.error_message().contains("credentials refused") && answer.error_message().contains("HTTP 401"),
            "the answer says what the platform said ({which}): {}",
            answer.text
        );
        let asked: Vec<ApiRequest> = sim.requests()[requests_before..].to_vec();
        assert_eq!(asked.len(), 1, "one call to the platform ({which}): {asked:?}");
        assert_eq!(asked[0].status, 401, "{which}");
        assert_eq!(app.snapshot().await, before, "a failed check writes nothing ({which})");
    }

    let mut right = sim.connection();
    let secret = right
        .as_object_mut()
        .and_then(|fields| fields.remove("webhook_secret"))
        .expect("a webhook secret");
    right["webhook_secrets"] = json!([secret]);
    admin
        .put(&format!("/api/v1/stores/{store_id}/connection"), &right)
        .await
        .expect(200);
    assert_eq!(admin.post_empty(&path).await.expect(200)["shop_name"], sim.shop_name());
}

/// The catalogue is pulled whole (every page), then again without creating anything; a product
/// added on the platform meanwhile is the only new one. Returns the store id.
pub async fn catalogue_is_pulled<S: Sim>(app: &TestApp, sim: &S, products: Vec<SimProduct>, pages: u32) -> String {
    let mut stocked = stock(sim, products);
    let store_id = create_store(app, sim, json!({})).await;
    assert!(catalogue(app, &store_id).await.is_empty());

    let report = pull_catalogue(app, &store_id).await;
    assert_eq!(report.succeeded, pages, "one job per page of the catalogue: {report:?}");
    let first = catalogue(app, &store_id).await;
    assert_catalogue_is(&first, &stocked);

    // Pulled again: the same products and variants, the same dropline ids.
    let report = pull_catalogue(app, &store_id).await;
    assert_eq!(report.succeeded, pages, "{report:?}");
    let again = catalogue(app, &store_id).await;
    let ids = |variants: &[Pulled]| variants.iter().map(|v| v.id.clone()).collect::<BTreeSet<_>>();
    assert_eq!(ids(&again), ids(&first), "a second pull creates nothing");
    assert_catalogue_is(&again, &stocked);

    // A product added on the platform is the only new one after the next pull.
    let added = SimProduct::new("Travel Neck Pillow")
        .variant(SimVariant::new(format!("PILLOW-GRY-{}", data::unique()), "21.00").option("Color", "Grey"))
        .variant(SimVariant::new(format!("PILLOW-BLU-{}", data::unique()), "22.50").option("Color", "Blue"));
    stocked.extend(stock(sim, vec![added]));
    pull_catalogue(app, &store_id).await;
    let grown = catalogue(app, &store_id).await;
    assert_catalogue_is(&grown, &stocked);
    assert_eq!(grown.len(), first.len() + 2);
    assert!(
        ids(&first).is_subset(&ids(&grown)),
        "the variants pulled before keep their ids"
    );
    store_id
}

/// Ten orders, each delivered with two duplicates racing it and its newer version before its
/// creation: ten orders in dropline, each the platform's order, received once. Then three
/// orders cancelled on the platform end cancelled. Returns the store.
pub async fn orders_arrive_once<S: Sim>(app: &TestApp, sim: &S, auto_accept: bool) -> Connected {
    let store = connected_store(app, sim, auto_accept).await;
    let scenario = Scenario::new()
        .paid()
        .duplicates(2, 2)
        .out_of_order()
        .stale_redelivery();
    let runs = sim.deliver_orders(10, &scenario).await;
    assert_eq!(runs.len(), 10);
    for run in &runs {
        assert!(run.all_accepted(), "every delivery answered 2xx: {:?}", run.statuses());
        assert!(
            run.statuses().iter().all(|status| *status == Some(200)),
            "every delivery answered 200 at once: {:?}",
            run.statuses()
        );
        // Newer version, its two copies, the creation, its two copies, the stale redelivery.
        assert_eq!(run.deliveries.len(), 7, "{run:?}");
    }

    let stored = orders(app, &store.store_id).await;
    assert_eq!(stored.len(), 10, "one order per platform order");
    let external: BTreeSet<String> = stored
        .iter()
        .map(|o| o["external_id"].as_str().unwrap().to_string())
        .collect();
    let sent: BTreeSet<String> = runs.iter().map(|run| run.order_id.clone()).collect();
    assert_eq!(external, sent);
    for order in &stored {
        let external_id = order["external_id"].as_str().unwrap();
        assert_order_is(order, &sim.order(external_id), &store.catalogue);
        assert_eq!(order["payment"], "paid", "{order:#}");
        assert_eq!(order["test"], false);
        let id = id_of(order);
        assert_eq!(
            entries(app, &id, "order.received").await,
            1,
            "received once: {external_id}"
        );
        let expected_state = if auto_accept {
            "in_fulfillment"
        } else {
            "pending_review"
        };
        assert_eq!(order["state"], expected_state, "{order:#}");
        let supplier_orders = order["supplier_orders"].as_array().unwrap().len();
        assert_eq!(
            supplier_orders,
            usize::from(auto_accept),
            "routed once at most: {order:#}"
        );
    }

    // Cancelled on the platform after it was placed (with a duplicate of every delivery).
    let cancelled = sim
        .deliver_orders(3, &Scenario::new().paid().cancelled().duplicates(1, 1))
        .await;
    for run in &cancelled {
        assert!(run.all_accepted(), "{:?}", run.statuses());
        let order = order_by_external_id(app, &store.store_id, &run.order_id).await;
        assert_eq!(order["state"], "cancelled", "{order:#}");
        assert_order_is(&order, &sim.order(&run.order_id), &store.catalogue);
        assert_eq!(entries(app, &id_of(&order), "order.received").await, 1);
        let supplier_orders = order["supplier_orders"].as_array().unwrap();
        assert!(
            supplier_orders.iter().all(|so| so["status"] == "cancelled"),
            "nothing left open at the supplier: {order:#}"
        );
    }
    assert_eq!(orders(app, &store.store_id).await.len(), 13);
    assert!(
        writes(&sim.requests()).is_empty(),
        "taking orders in writes nothing to the platform"
    );
    store
}

/// What [`shipment_is_written_back`] made.
pub struct WrittenBack {
    /// The platform id and dropline id of the shipped order, and its supplier order.
    pub external_id: String,
    pub order_id: String,
    pub supplier_order_id: String,
    pub tracking_number: String,
    pub tracking_url: String,
    /// The API requests the simulator had answered before the write-back ran.
    pub requests_before: usize,
}

/// An order arrives, is accepted and routed; its parcel is recorded and written back by a job:
/// the order's timeline says so once. The platform side is for the caller to check.
pub async fn shipment_is_written_back<S: Sim>(app: &TestApp, sim: &S) -> WrittenBack {
    let store = connected_store(app, sim, false).await;
    let external_id = sim.new_order().await;
    let order = order_by_external_id(app, &store.store_id, &external_id).await;
    let order_id = id_of(&order);
    assert_eq!(order["state"], "pending_review", "{order:#}");
    app.admin().accept(&order_id).await.expect(200);
    app.run_pending_jobs().await;
    let order = app.admin().get_order(&order_id).await.expect(200);
    assert_eq!(order["state"], "in_fulfillment", "{order:#}");

    let tracking_number = format!("YT{:016}", data::unique());
    let requests_before = sim.requests().len();
    let (supplier_order_id, tracking_url) = ship(app, &order, &tracking_number).await;
    assert_eq!(
        sim.requests().len(),
        requests_before,
        "nothing is written before the job runs"
    );
    let report = app.run_pending_jobs().await;
    assert_eq!(report.succeeded, 1, "one write-back job: {report:?}");
    assert_eq!(entries(app, &order_id, "storefront.fulfillment_written").await, 1);

    // The next run of jobs finds nothing to do and writes nothing.
    let after = sim.requests().len();
    assert_eq!(app.run_pending_jobs().await.claimed(), 0);
    assert_eq!(sim.requests().len(), after);
    WrittenBack {
        external_id,
        order_id,
        supplier_order_id,
        tracking_number,
        tracking_url,
        requests_before,
    }
}

/// Queues the write-back job of the shipment again (as after a worker that died before it could
/// mark the job done) and runs it: the platform check is for the caller.
pub async fn write_back_runs_again(app: &TestApp, written: &WrittenBack) {
    let order_id = written.order_id.parse().expect("an order id");
    let order = app
        .app()
        .backend()
        .get_order(order_id)
        .await
        .expect("read the order")
        .expect("the order");
    let shipment_id = order.supplier_orders[0].shipments[0].id;
    let job = dropline_app::jobs::storefront_fulfillment_job(&order, shipment_id, time::OffsetDateTime::now_utc());
    app.app()
        .backend()
        .commit(dropline_app::ports::ChangeSet {
            jobs: vec![job],
            ..Default::default()
        })
        .await
        .expect("queue the job again");
    assert_eq!(app.run_pending_jobs().await.succeeded, 1);
}

/// Queues the job that writes the parcel's delivery back again (as after a worker that died
/// before it could mark it done) and runs it: the platform check is for the caller.
pub async fn delivery_write_back_runs_again(app: &TestApp, written: &WrittenBack) {
    let order_id = written.order_id.parse().expect("an order id");
    let order = app
        .app()
        .backend()
        .get_order(order_id)
        .await
        .expect("read the order")
        .expect("the order");
    let delivered = dropline_app::jobs::StorefrontStatus::Delivered {
        tracking_number: written.tracking_number.clone(),
    };
    let job = dropline_app::jobs::storefront_status_job(&order, delivered, time::OffsetDateTime::now_utc());
    app.app()
        .backend()
        .commit(dropline_app::ports::ChangeSet {
            jobs: vec![job],
            ..Default::default()
        })
        .await
        .expect("queue the job again");
    assert_eq!(app.run_pending_jobs().await.succeeded, 1);
}

/// The seller delivers the parcel in dropline: a status job runs and the timeline says it was
/// written. The platform side is for the caller to check.
pub async fn delivery_is_written_back(app: &TestApp, written: &WrittenBack) {
    let so = app
        .admin()
        .mark_delivered(&written.supplier_order_id, &json!({}))
        .await
        .expect(200);
    assert_eq!(so["shipments"][0]["state"], "delivered", "{so:#}");
    assert_eq!(app.run_pending_jobs().await.succeeded, 1);
    assert_eq!(entries(app, &written.order_id, "storefront.status_written").await, 1);
}

/// Another order of the store is accepted, routed, then cancelled by the seller in dropline:
/// the cancellation job runs. Returns the platform id of the order.
pub async fn seller_cancels<S: Sim>(app: &TestApp, sim: &S, store: &Connected) -> String {
    let external_id = sim.new_order().await;
    let order = order_by_external_id(app, &store.store_id, &external_id).await;
    let order_id = id_of(&order);
    app.admin().accept(&order_id).await.expect(200);
    app.run_pending_jobs().await;
    let cancelled = app.admin().cancel(&order_id).await.expect(200);
    assert_eq!(cancelled["state"], "cancelled", "{cancelled:#}");
    assert_eq!(app.run_pending_jobs().await.succeeded, 1, "one cancellation job");
    assert_eq!(entries(app, &order_id, "storefront.status_written").await, 1);
    assert!(
        cancelled["supplier_orders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|so| so["status"] == "cancelled"),
        "{cancelled:#}"
    );
    external_id
}

/// The platform answers the write-back's first call 429 with `Retry-After: 1`: the job is
/// retried (not buried), not before the platform said, and then succeeds. Returns what was
/// written back; the platform side is for the caller to check.
pub async fn rate_limited_write_back<S: Sim>(app: &TestApp, sim: &S) -> WrittenBack {
    let store = connected_store(app, sim, true).await;
    let external_id = sim.new_order().await;
    let order = order_by_external_id(app, &store.store_id, &external_id).await;
    assert_eq!(order["state"], "in_fulfillment", "auto-accepted and routed: {order:#}");
    let order_id = id_of(&order);
    app.run_pending_jobs().await;
    let tracking_number = format!("YT{:016}", data::unique());
    let (supplier_order_id, tracking_url) = ship(app, &order, &tracking_number).await;

    let requests_before = sim.requests().len();
    sim.rate_limit_next(1, RETRY_AFTER);
    let worker = worker(app);
    let first = worker.run_pass().await.expect("a worker pass");
    let limited_at = Instant::now();
    assert_eq!(
        first,
        PassReport {
            succeeded: 0,
            retried: 1,
            buried: 0
        },
        "the rate-limited job is retried"
    );
    assert!(buried(app).await.is_empty());
    let asked = sim.requests()[requests_before..].to_vec();
    assert_eq!(asked.len(), 1, "the job stopped at the 429: {asked:?}");
    assert_eq!(asked[0].status, 429);
    assert_eq!(entries(app, &order_id, "storefront.fulfillment_written").await, 0);

    // Not before the platform's Retry-After.
    let early = worker.run_pass().await.expect("a worker pass");
    if limited_at.elapsed() < RETRY_AFTER {
        assert_eq!(early.claimed(), 0, "the job waits for Retry-After");
    }
    let (pass, ran_at) = if early.claimed() > 0 {
        (early, Instant::now())
    } else {
        next_job_run(&worker, Duration::from_secs(10)).await
    };
    assert_eq!(
        pass,
        PassReport {
            succeeded: 1,
            retried: 0,
            buried: 0
        }
    );
    assert!(
        ran_at.duration_since(limited_at) >= RETRY_AFTER.mul_f32(0.9),
        "ran again after {:?}, sooner than Retry-After",
        ran_at.duration_since(limited_at)
    );
    assert_eq!(entries(app, &order_id, "storefront.fulfillment_written").await, 1);
    assert!(buried(app).await.is_empty());
    let statuses: Vec<u16> = sim.requests()[requests_before..].iter().map(|r| r.status).collect();
    assert_eq!(statuses[0], 429);
    assert!(statuses[1..].iter().all(|s| (200..300).contains(s)), "{statuses:?}");
    WrittenBack {
        external_id,
        order_id,
        supplier_order_id,
        tracking_number,
        tracking_url,
        requests_before,
    }
}

/// (line id, quantity) pairs of the platform's fulfillment lines, sorted.
pub fn fulfilled(lines: &[dropline_sim::FulfilledLine]) -> Vec<(String, u64)> {
    let mut lines: Vec<(String, u64)> = lines
        .iter()
        .map(|line| (line.line_id.clone(), u64::from(line.quantity)))
        .collect();
    lines.sort();
    lines
}

/// The platform's requests by method and path (the query left out), counted.
pub fn calls(requests: &[ApiRequest]) -> BTreeMap<String, usize> {
    let mut counted = BTreeMap::new();
    for request in requests {
        let path = request.path.split('?').next().unwrap_or_default();
        *counted.entry(format!("{} {path}", request.method)).or_default() += 1;
    }
    counted
}

// ---------------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------------

/// A refund the seller made in dropline on an order of a connected store.
pub struct RefundedOrder {
    pub external_id: String,
    pub order_id: String,
    pub refund_id: String,
    /// The platform's line id of the unit refunded, and its price in cents.
    pub line_id: String,
    pub unit_price: i64,
}

/// An order arrives paid; the seller refunds one unit of its first line in dropline: the
/// refund is recorded at once, and nothing reaches the platform before its job runs.
pub async fn order_refunded_in_dropline<S: Sim>(app: &TestApp, sim: &S, store: &Connected) -> RefundedOrder {
    let external_id = sim.new_order().await;
    let order = order_by_external_id(app, &store.store_id, &external_id).await;
    assert_eq!(order["payment"], "paid", "{order:#}");
    let order_id = id_of(&order);
    let line = &order["lines"][0];
    let line_id = line["external_id"]
        .as_str()
        .expect("the platform's line id")
        .to_string();
    let unit_price = cents(&line["unit_price"]["amount"]);
    let requests_before = sim.requests().len();
    let answer = app
        .admin()
        .post(
            &format!("/api/v1/orders/{order_id}/refunds"),
            &json!({ "reason": "arrived broken", "lines": [{ "line_item_id": id_of(line), "quantity": 1 }] }),
        )
        .await
        .expect(201);
    assert_eq!(answer["payment"], "partially_refunded", "{answer:#}");
    let refund_id = answer["created_id"].as_str().expect("the refund's id").to_string();
    assert_eq!(
        sim.requests().len(),
        requests_before,
        "nothing is sent before the job runs"
    );
    assert_eq!(storefront_refund_id(app, &order_id, &refund_id).await, None);
    RefundedOrder {
        external_id,
        order_id,
        refund_id,
        line_id,
        unit_price,
    }
}

/// The platform's id dropline keeps on the refund (`None` before the platform took it).
pub async fn storefront_refund_id(app: &TestApp, order_id: &str, refund_id: &str) -> Option<String> {
    let order = app
        .app()
        .backend()
        .get_order(order_id.parse().expect("an order id"))
        .await
        .expect("read the order")
        .expect("the order");
    order
        .after_sale
        .refunds
        .iter()
        .find(|refund| refund.id.to_string() == refund_id)
        .expect("the refund")
        .storefront_refund_id
        .clone()
}

/// Queues the refund's job again (as after a worker that died before it could mark it done)
/// and runs it.
pub async fn refund_job_runs_again(app: &TestApp, refunded: &RefundedOrder) {
    let order = app
        .app()
        .backend()
        .get_order(refunded.order_id.parse().expect("an order id"))
        .await
        .expect("read the order")
        .expect("the order");
    let job = dropline_app::jobs::storefront_refund_job(
        &order,
        refunded.refund_id.parse().expect("a refund id"),
        time::OffsetDateTime::now_utc(),
    );
    app.app()
        .backend()
        .commit(dropline_app::ports::ChangeSet {
            jobs: vec![job],
            ..Default::default()
        })
        .await
        .expect("queue the job again");
    assert_eq!(app.run_pending_jobs().await.succeeded, 1);
}

/// A refund made in dropline reaches the platform by its job, once: the timeline says so once
/// and the refund keeps the platform's id. The job queued again, and every later run of the
/// jobs, send nothing more. The platform's side (amount, lines, gateway) is for the caller.
pub async fn refund_is_pushed_once<S: Sim>(app: &TestApp, sim: &S) -> RefundedOrder {
    let store = connected_store(app, sim, false).await;
    let refunded = order_refunded_in_dropline(app, sim, &store).await;
    app.run_pending_jobs().await;
    assert_eq!(entries(app, &refunded.order_id, "storefront.refund_written").await, 1);
    let made = sim.refunds(&refunded.external_id);
    assert_eq!(made.len(), 1, "one refund on the platform: {made:#?}");
    assert_eq!(made[0].amount, refunded.unit_price);
    assert_eq!(
        storefront_refund_id(app, &refunded.order_id, &refunded.refund_id).await,
        Some(made[0].id.clone()),
        "the refund keeps the platform's id"
    );

    let requests = sim.requests().len();
    refund_job_runs_again(app, &refunded).await;
    assert_eq!(
        sim.requests().len(),
        requests,
        "a refund the platform has is not sent again"
    );
    assert_eq!(app.run_pending_jobs().await.claimed(), 0);
    assert_eq!(sim.refunds(&refunded.external_id).len(), 1);
    assert_eq!(entries(app, &refunded.order_id, "storefront.refund_written").await, 1);
    refunded
}

/// The platform answers the refund job's first call 500: the job is retried (not buried) and
/// the refund is made on the retry, once. A second refund is made on the platform but its
/// answer is lost (500): the retry finds it by its key and sends nothing again. Returns the
/// order; its two refunds are on the platform, each once.
pub async fn refund_survives_platform_failures<S: Sim>(app: &TestApp, sim: &S) -> RefundedOrder {
    let store = connected_store(app, sim, false).await;
    let refunded = order_refunded_in_dropline(app, sim, &store).await;
    let worker = worker(app);

    // 500, then 200.
    sim.fail_next(1);
    let first = worker.run_pass().await.expect("a worker pass");
    assert_eq!(
        (first.retried, first.buried),
        (1, 0),
        "the refund job is retried: {first:?}"
    );
    assert!(sim.refunds(&refunded.external_id).is_empty());
    assert_eq!(entries(app, &refunded.order_id, "storefront.refund_written").await, 0);
    let (pass, _) = next_job_run(&worker, Duration::from_secs(15)).await;
    assert_eq!((pass.retried, pass.buried), (0, 0), "{pass:?}");
    assert_eq!(sim.refunds(&refunded.external_id).len(), 1, "made on the retry");
    assert_eq!(entries(app, &refunded.order_id, "storefront.refund_written").await, 1);

    // Made, but the answer is lost: found by its key on the retry, not made twice.
    let second = app
        .admin()
        .post(
            &format!("/api/v1/orders/{}/refunds", refunded.order_id),
            &json!({ "reason": "late delivery", "amount": { "amount": "1.00", "currency": "USD" } }),
        )
        .await
        .expect(201);
    let second_id = second["created_id"].as_str().expect("the refund's id").to_string();
    sim.lose_next_refund_answers(1);
    let lost = worker.run_pass().await.expect("a worker pass");
    assert_eq!((lost.retried, lost.buried), (1, 0), "{lost:?}");
    assert_eq!(sim.refunds(&refunded.external_id).len(), 2, "made, though unanswered");
    assert_eq!(storefront_refund_id(app, &refunded.order_id, &second_id).await, None);
    let (pass, _) = next_job_run(&worker, Duration::from_secs(15)).await;
    assert_eq!((pass.retried, pass.buried), (0, 0), "{pass:?}");
    let made = sim.refunds(&refunded.external_id);
    assert_eq!(made.len(), 2, "the retry found the refund and made none: {made:#?}");
    assert_eq!(made[1].amount, 100);
    assert_eq!(
        storefront_refund_id(app, &refunded.order_id, &second_id).await,
        Some(made[1].id.clone())
    );
    assert_eq!(entries(app, &refunded.order_id, "storefront.refund_written").await, 2);
    let timeline = app.admin().timeline(&refunded.order_id).await.expect(200);
    let found = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["kind"] == "storefront.refund_written")
        .filter(|event| event["message"].as_str().unwrap_or_default().contains("found there"))
        .count();
    assert_eq!(found, 1, "the entry says the refund was found: {timeline:#}");
    assert!(buried(app).await.is_empty());
    refunded
}

/// The platform refuses the refund for good (its gateway cannot make it): the job gives up at
/// once, neither retried nor buried; the order gets a `storefront.refund_refused` entry and an
/// open `storefront_refund_refused` exception for the seller, the refund stays recorded in
/// dropline without a platform id, and nothing is refunded on the platform.
pub async fn refused_refund_leaves_an_exception<S: Sim>(app: &TestApp, sim: &S) -> RefundedOrder {
    let store = connected_store(app, sim, false).await;
    let reason = "The payment gateway for this order does not support automatic refunds.";
    sim.refuse_refunds(Some(reason));
    let refunded = order_refunded_in_dropline(app, sim, &store).await;
    // `run_pending_jobs` fails the test on a retried or buried job.
    app.run_pending_jobs().await;
    assert!(buried(app).await.is_empty());
    assert_eq!(entries(app, &refunded.order_id, "storefront.refund_refused").await, 1);
    assert_eq!(entries(app, &refunded.order_id, "storefront.refund_written").await, 0);
    assert!(sim.refunds(&refunded.external_id).is_empty());
    assert_eq!(
        storefront_refund_id(app, &refunded.order_id, &refunded.refund_id).await,
        None
    );
    let order = app.admin().get_order(&refunded.order_id).await.expect(200);
    assert_eq!(
        order["payment"], "partially_refunded",
        "the refund stays recorded: {order:#}"
    );
    let open: Vec<&Value> = order["exceptions"]
        .as_array()
        .expect("exceptions")
        .iter()
        .filter(|e| e["resolved_at"].is_null())
        .collect();
    assert_eq!(open.len(), 1, "{order:#}");
    assert_eq!(open[0]["kind"], "storefront_refund_refused");
    assert_eq!(open[0]["suggested_action"], "refund");
    let detail = open[0]["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&refunded.refund_id) && detail.contains(reason),
        "the seller reads which refund and why: {detail}"
    );
    // Nothing is retried later.
    let requests = sim.requests().len();
    assert_eq!(app.run_pending_jobs().await.claimed(), 0);
    assert_eq!(sim.requests().len(), requests);
    refunded
}
