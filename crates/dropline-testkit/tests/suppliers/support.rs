//! Shared set-up: an engine with fast retries and a short supplier time-out, a store with
//! CJ as primary supplier (and optionally a manual backup), orders, and waiting for jobs.

use dropline_app::App;
use dropline_app::placement::PlacementConfig;
use dropline_connect::suppliers::HttpSuppliers;
use dropline_sim::CjSim;
use dropline_testkit::TestApp;
use dropline_testkit::data::{self, unique, usd};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// How long one supplier call may take in these tests: the simulator's delay fault is longer.
pub const SUPPLIER_TIMEOUT: Duration = Duration::from_millis(400);
/// How far ahead the tests run scheduled jobs (retries); polls are further out.
pub const RETRY_HORIZON: Duration = Duration::from_secs(30);
/// How far ahead the tests run the polls of placed orders.
pub const POLL_HORIZON: Duration = Duration::from_secs(2 * 3600);

/// Retries within milliseconds, polls every hour, a short time-out.
pub fn configure(app: App) -> App {
    app.with_placement_config(PlacementConfig {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        breaker_threshold: 50,
        breaker_cooldown: Duration::from_millis(50),
        poll_interval: Duration::from_secs(3600),
    })
    .with_suppliers(Arc::new(HttpSuppliers::new().with_timeout(SUPPLIER_TIMEOUT)))
}

/// [`configure`] with the engine's clock `offset` seconds ahead of now (to reach deadlines).
pub fn clocked(offset: std::sync::Arc<std::sync::atomic::AtomicI64>) -> impl FnOnce(App) -> App {
    move |app| {
        configure(app).with_clock(move || {
            time::OffsetDateTime::now_utc() + time::Duration::seconds(offset.load(std::sync::atomic::Ordering::SeqCst))
        })
    }
}

/// A store selling CJ's variants: one product variant per CJ variant, each with a CJ offer
/// (priced as CJ sells it) and, when `backup` is set, a manual backup offer.
pub struct CjStore {
    pub store_id: String,
    pub cj_supplier_id: String,
    pub backup_supplier_id: Option<String>,
    pub skus: Vec<String>,
    /// CJ's variant id of each SKU.
    pub vids: Vec<String>,
}

impl CjStore {
    /// A paid order of the first SKU (2 units) to a US customer with a phone.
    pub fn order(&self) -> Value {
        let external_id = format!("ext-{}", unique());
        data::order(&self.store_id, &external_id, &[(self.skus[0].as_str(), 2)])
    }
}

pub async fn cj_store(app: &TestApp, sim: &CjSim, backup: bool, settings: Value) -> CjStore {
    cj_store_with(app, sim, backup, settings, json!({})).await
}

/// [`cj_store`] whose CJ supplier also has the fields of `supplier` (e.g. a deadline).
pub async fn cj_store_with(app: &TestApp, sim: &CjSim, backup: bool, settings: Value, supplier: Value) -> CjStore {
    let admin = app.admin();
    let n = unique();
    let store = admin
        .create_store(&data::store(&format!("CJ store {n}")))
        .await
        .expect(201);
    let store_id = store["id"].as_str().unwrap().to_string();
    if !settings.is_null() {
        admin.update_store_settings(&store_id, &settings).await.expect(200);
    }
    let mut body = json!({
        "store_id": store_id,
        "name": "CJ Dropshipping",
        "kind": "cj",
        "ships_from": "CN",
        "processing_days": 2,
        "rating": 80,
        "connection": { "api_base": sim.base_url(), "api_key": sim.api_key() },
    });
    for (key, value) in supplier.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    let cj = admin.create_supplier(&body).await.expect(201);
    let cj_supplier_id = cj["id"].as_str().unwrap().to_string();
    let backup_supplier_id = if backup {
        let manual = admin
            .create_supplier(&data::manual_supplier(&store_id))
            .await
            .expect(201);
        Some(manual["id"].as_str().unwrap().to_string())
    } else {
        None
    };
    let variants: Vec<_> = sim.variants().into_iter().take(2).collect();
    let skus: Vec<String> = variants.iter().map(|v| format!("STORE-{n}-{}", v.sku)).collect();
    let sku_refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    let product = admin
        .create_product(&data::product(&store_id, &sku_refs, "49.99"))
        .await
        .expect(201);
    for (i, variant) in variants.iter().enumerate() {
        let variant_id = product["variants"][i]["id"].as_str().unwrap();
        let cost = format!("{}.{:02}", variant.price_cents / 100, variant.price_cents % 100);
        admin
            .add_offer(&json!({
                "variant_id": variant_id,
                "supplier_id": cj_supplier_id,
                "supplier_sku": variant.sku,
                "supplier_product_id": variant.pid,
                "supplier_variant_id": variant.vid,
                "product_url": format!("https://cjdropshipping.com/product/{}", variant.pid),
                "unit_cost": usd(&cost),
                "stock": null,
                "shipping": [{ "country": "*", "name": "CJPacket Ordinary", "cost": usd("6.00"), "min_days": 7, "max_days": 12 }],
                "priority": "primary",
            }))
            .await
            .expect(201);
        if let Some(backup) = &backup_supplier_id {
            let mut offer = data::offer(variant_id, backup, "https://agent.example/item", Some(50));
            offer["priority"] = json!("backup");
            admin.add_offer(&offer).await.expect(201);
        }
    }
    CjStore {
        store_id,
        cj_supplier_id,
        backup_supplier_id,
        skus,
        vids: variants.iter().map(|v| v.vid.clone()).collect(),
    }
}

/// Posts and accepts an order; returns its id.
pub async fn accepted_order(app: &TestApp, order: &Value) -> String {
    let admin = app.admin();
    let created = admin.post_order(order).await.expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    admin.accept(&id).await.expect(200);
    id
}

/// Runs jobs (and the retries they schedule) until none is due within [`RETRY_HORIZON`].
pub async fn settle(app: &TestApp) {
    app.run_pending_jobs().await;
    app.run_jobs_ahead(RETRY_HORIZON).await;
}

/// The order as the API shows it.
pub async fn order(app: &TestApp, id: &str) -> Value {
    app.admin().get_order(id).await.expect(200)
}

/// The order's supplier orders (as the supplier-orders endpoint shows them).
pub async fn supplier_orders(app: &TestApp, order_id: &str) -> Vec<Value> {
    let order = order(app, order_id).await;
    let mut out = Vec::new();
    for so in order["supplier_orders"].as_array().unwrap() {
        let id = so["id"].as_str().unwrap();
        out.push(app.admin().get_supplier_order(id).await.expect(200));
    }
    out
}

/// The kinds of the order's timeline entries.
pub async fn timeline_kinds(app: &TestApp, order_id: &str) -> Vec<String> {
    let timeline = app.admin().timeline(order_id).await.expect(200);
    timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}
