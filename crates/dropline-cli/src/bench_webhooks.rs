//! `dropline bench --target webhooks`: signed Shopify `orders/create` webhooks over HTTP on
//! 127.0.0.1 against dropline's real server (embedded SQLite, durable before the answer), and in the
//! same run against a minimal axum handler that only verifies the HMAC and parses the same
//! payload (no storage): the ceiling. Every order of the full path is verified, parsed,
//! mapped, validated, stored durably, accepted by the store's rule, routed and given its
//! supplier order before the 200.
//!
//! Three runs per target: a closed loop with `--connections` requests in flight (peak
//! rate), then dropline alone in an open loop at half its peak rate (latency at normal load).

use crate::database::open_sqlite;
use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use dropline_app::service::NewVariant;
use dropline_app::storefront::{WebhookFormat, WebhookRequest};
use dropline_app::{App, NewOffer, NewProduct, NewStore, NewSupplier, Scope};
use dropline_connect::shopify::ShopifyWebhooks;
use dropline_domain::catalog::{
    AutoAcceptRules, OfferPriority, Platform, ShippingMethod, StoreConnection, StoreSettings, SupplierKind,
};
use dropline_domain::money::{Currency, Money};
use dropline_store_sqlite::{SqliteOptions, Synchronous};
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-webhook-secret";
/// Catalogue size: each order buys one or two of these.
const VARIANTS: u64 = 40;

/// One run against one target.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub target: &'static str,
    pub requests: u64,
    pub connections: u64,
    /// Requests per second asked for (open loop); `None` for the closed loop.
    pub offered_per_second: Option<f64>,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Answers other than 200 (should be 0).
    pub failed: u64,
}

/// The whole benchmark.
#[derive(Debug, Serialize)]
pub struct WebhookReport {
    pub payload_bytes: usize,
    pub ceiling: RunReport,
    pub dropline_peak: RunReport,
    /// dropline's peak rate over the ceiling's.
    pub ratio: f64,
    pub dropline_half_load: RunReport,
    /// Orders delivered to dropline in all (warm-up included), and how many of them got
    /// their supplier order (should be all).
    pub delivered: u64,
    pub supplier_orders: u64,
    /// Change sets per SQLite transaction during the peak run (group commit).
    pub change_sets_per_commit: f64,
}

/// Runs the webhook benchmark with the database in `dir`.
pub async fn run(
    dir: PathBuf,
    requests: u64,
    connections: u64,
    synchronous: Synchronous,
    keep: bool,
) -> anyhow::Result<WebhookReport> {
    anyhow::ensure!(requests > 0, "--orders must be at least 1");
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = dir.join(format!("bench-webhooks-{stamp}-{}.db", std::process::id()));
    let _cleanup = crate::bench::Cleanup {
        path: path.clone(),
        keep,
    };
    let options = SqliteOptions {
        synchronous,
        ..SqliteOptions::default()
    };
    let store = Arc::new(open_sqlite(&path, options).await?);
    let app = dropline_connect::connected(App::new(store.clone()));
    let store_id = seed(&app).await.context("while creating the benchmark store")?;

    let dropline = serve(dropline_web::router(
        app.clone(),
        dropline_web::WebConfig {
            admin_token: String::new(),
        },
    ))
    .await?;
    let ceiling = serve(ceiling_router()).await?;
    dropline_connect::install_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections as usize)
        .timeout(Duration::from_secs(30))
        .build()?;

    let payload_bytes = order_body(1).len();
    let path = format!("/webhooks/shopify/{store_id}");
    // Warm both up (connections, caches), on ids the measured runs do not use.
    let warm = requests.min(500);
    let ids = AtomicU64::new(1_000_000_000);
    load(&client, &ceiling, &path, warm, connections, None, &ids).await;
    load(&client, &dropline, &path, warm, connections, None, &ids).await;

    let ids = AtomicU64::new(1);
    let ceiling_run = load(&client, &ceiling, &path, requests, connections, None, &ids)
        .await
        .report("ceiling (verify + parse)", connections, None);
    let before = store.stats();
    let peak = load(&client, &dropline, &path, requests, connections, None, &ids)
        .await
        .report("dropline (full path)", connections, None);
    let after = store.stats();
    let batches = after.batches.saturating_sub(before.batches).max(1);
    let change_sets_per_commit = after.writes.saturating_sub(before.writes) as f64 / batches as f64;
    let half = peak.per_second / 2.0;
    let half_run = load(&client, &dropline, &path, requests, connections, Some(half), &ids)
        .await
        .report("dropline at half its peak", connections, Some(half));
    let supplier_orders = app
        .count_orders_by_state(Scope::Operator, Some(store_id))
        .await?
        .iter()
        .filter(|(state, _)| state.as_str() == "in_fulfillment")
        .map(|(_, n)| n)
        .sum();
    Ok(WebhookReport {
        payload_bytes,
        ratio: peak.per_second / ceiling_run.per_second.max(1e-9),
        ceiling: ceiling_run,
        dropline_peak: peak,
        dropline_half_load: half_run,
        delivered: warm + 2 * requests,
        change_sets_per_commit,
        supplier_orders,
    })
}

async fn serve(router: Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(format!("http://{address}"))
}

/// The ceiling: the same extraction, verification and parsing as dropline's receiver,
/// nothing stored.
fn ceiling_router() -> Router {
    async fn receive(Path((_, _)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let headers: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_string(), v.to_string())))
            .collect();
        let request = WebhookRequest {
            headers: &headers,
            body: &body,
        };
        let format = ShopifyWebhooks::new();
        if format.verify(&request, &[SECRET.to_string()]).is_err() {
            return StatusCode::UNAUTHORIZED;
        }
        match format.parse(&request) {
            Ok(_) => StatusCode::OK,
            Err(_) => StatusCode::BAD_REQUEST,
        }
    }
    Router::new().route("/webhooks/{platform}/{store}", post(receive))
}

struct Samples {
    latencies: Vec<Duration>,
    failed: u64,
    elapsed: Duration,
}

impl Samples {
    fn report(mut self, target: &'static str, connections: u64, offered: Option<f64>) -> RunReport {
        self.latencies.sort_unstable();
        let at = |q: f64| {
            if self.latencies.is_empty() {
                return 0.0;
            }
            let index = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
            self.latencies[index.min(self.latencies.len() - 1)].as_secs_f64() * 1_000.0
        };
        let requests = self.latencies.len() as u64;
        RunReport {
            target,
            requests,
            connections,
            offered_per_second: offered,
            seconds: self.elapsed.as_secs_f64(),
            per_second: requests as f64 / self.elapsed.as_secs_f64().max(1e-9),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
            failed: self.failed,
        }
    }
}

/// `requests` deliveries over `connections` concurrent senders; with `rate`, each sender
/// keeps a fixed schedule (open loop) so the latency is measured at that load.
async fn load(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    requests: u64,
    connections: u64,
    rate: Option<f64>,
    ids: &AtomicU64,
) -> Samples {
    let remaining = Arc::new(AtomicU64::new(requests));
    let started = Instant::now();
    let interval = rate.map(|r| Duration::from_secs_f64(connections as f64 / r.max(1.0)));
    let mut tasks = tokio::task::JoinSet::new();
    // Bodies are made before the clock of each request starts.
    for sender in 0..connections {
        let client = client.clone();
        let url = format!("{base}{path}");
        let remaining = remaining.clone();
        let first_id = ids.fetch_add(requests + 1, Ordering::Relaxed);
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            let mut n = 0u64;
            let mut next = Instant::now();
            if let Some(interval) = interval {
                next += interval.mul_f64(sender as f64 / connections as f64);
            }
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
                .is_ok()
            {
                let id = first_id + n;
                n += 1;
                let body = order_body(id);
                let headers = headers(&body, id);
                if let Some(interval) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                }
                let sent = Instant::now();
                let mut request = client.post(&url).body(body);
                for (name, value) in &headers {
                    request = request.header(*name, value);
                }
                match request.send().await {
                    Ok(response) if response.status() == StatusCode::OK => {
                        let _ = response.bytes().await;
                    }
                    Ok(response) => {
                        failed += 1;
                        let _ = response.bytes().await;
                    }
                    Err(_) => failed += 1,
                }
                // In the open loop the latency counts from the scheduled time, so a slow
                // server cannot hide behind a late sender.
                let start = match interval {
                    Some(interval) => (next - interval).min(sent),
                    None => sent,
                };
                latencies.push(start.elapsed());
            }
            (latencies, failed)
        });
    }
    let mut samples = Samples {
        latencies: Vec::with_capacity(requests as usize),
        failed: 0,
        elapsed: Duration::ZERO,
    };
    while let Some(done) = tasks.join_next().await {
        if let Ok((latencies, failed)) = done {
            samples.latencies.extend(latencies);
            samples.failed += failed;
        }
    }
    samples.elapsed = started.elapsed();
    samples
}

fn headers(body: &[u8], id: u64) -> Vec<(&'static str, String)> {
    let signature = dropline_connect::signature::sign_hmac_sha256_base64(SECRET.as_bytes(), body);
    vec![
        ("content-type", "application/json".to_string()),
        ("x-shopify-topic", "orders/create".to_string()),
        ("x-shopify-hmac-sha256", signature),
        ("x-shopify-shop-domain", "bench.myshopify.com".to_string()),
        ("x-shopify-api-version", "2025-07".to_string()),
        ("x-shopify-webhook-id", format!("bench-{id}")),
    ]
}

/// A Shopify REST order as `orders/create` carries it, of realistic size.
fn order_body(id: u64) -> Vec<u8> {
    let first = id % VARIANTS;
    let second = (id * 7 + 3) % VARIANTS;
    let line = |n: u64, variant: u64, quantity: u64| {
        json!({
            "id": id * 10 + n, "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", id * 10 + n),
            "product_id": 7_000_000 + variant / 4, "variant_id": 8_000_000 + variant,
            "sku": format!("BENCH-{variant}"), "title": "Insulated steel bottle", "variant_title": format!("Colour {variant}"),
            "name": format!("Insulated steel bottle - Colour {variant}"), "vendor": "Bench Goods",
            "quantity": quantity, "current_quantity": quantity, "fulfillable_quantity": quantity,
            "fulfillment_status": null, "fulfillment_service": "manual", "requires_shipping": true,
            "gift_card": false, "taxable": true, "grams": 450, "price": "24.90", "total_discount": "0.00",
            "price_set": { "shop_money": { "amount": "24.90", "currency_code": "USD" }, "presentment_money": { "amount": "24.90", "currency_code": "USD" } },
            "properties": [], "tax_lines": [{ "title": "State tax", "price": "1.49", "rate": 0.06 }],
            "discount_allocations": [], "duties": []
        })
    };
    let address = json!({
        "first_name": "Ada", "last_name": "Lovelace", "name": "Ada Lovelace", "company": null,
        "address1": format!("{} Main Street", 1 + id % 900), "address2": null, "city": "Springfield",
        "province": "Illinois", "province_code": "IL", "zip": "62701", "country": "United States",
        "country_code": "US", "phone": "+12175550100", "latitude": 39.8, "longitude": -89.6
    });
    let order = json!({
        "id": 5_000_000_000_000u64 + id, "admin_graphql_api_id": format!("gid://shopify/Order/{}", 5_000_000_000_000u64 + id),
        "name": format!("#{}", 1000 + id), "order_number": 1000 + id, "number": id,
        "email": format!("customer{id}@example.com"), "contact_email": format!("customer{id}@example.com"), "phone": null,
        "financial_status": "paid", "fulfillment_status": null, "currency": "USD", "presentment_currency": "USD",
        "total_price": "64.78", "subtotal_price": "49.80", "total_tax": "2.98", "total_discounts": "0.00",
        "current_total_price": "64.78", "created_at": "2026-11-20T10:00:00-05:00", "updated_at": "2026-11-20T10:00:01-05:00",
        "processed_at": "2026-11-20T10:00:00-05:00", "cancelled_at": null, "cancel_reason": null, "closed_at": null,
        "test": false, "tags": "", "note": null, "note_attributes": [], "source_name": "web", "gateway": "shopify_payments",
        "customer": { "id": 900 + id, "email": format!("customer{id}@example.com"), "first_name": "Ada", "last_name": "Lovelace",
                      "phone": null, "default_address": address.clone() },
        "billing_address": address.clone(),
        "shipping_address": address,
        "shipping_lines": [{ "id": id, "code": "standard", "title": "Standard shipping", "price": "12.00", "source": "shopify",
                             "carrier_identifier": null, "discounted_price": "12.00" }],
        "line_items": [line(1, first, 1), line(2, second, 1)],
        "fulfillments": [], "refunds": []
    });
    serde_json::to_vec(&order).expect("a JSON value serializes")
}

/// A Shopify store that accepts paid orders by itself, with a manual supplier offering
/// every variant (mapped by Shopify variant id).
async fn seed(app: &App) -> anyhow::Result<dropline_domain::ids::StoreId> {
    let usd = Currency::parse("USD")?;
    let (record, _) = app
        .create_store(
            Scope::Operator,
            NewStore {
                name: "Bench Shopify store".into(),
                platform: Platform::Shopify,
                currency: usd,
                address: None,
                settings: StoreSettings {
                    auto_accept: AutoAcceptRules {
                        enabled: true,
                        require_paid: true,
                        ..AutoAcceptRules::default()
                    },
                    ..StoreSettings::default()
                },
                connection: StoreConnection {
                    domain: Some("bench.myshopify.com".into()),
                    webhook_secrets: vec![SECRET.into()],
                    ..StoreConnection::default()
                },
            },
        )
        .await?;
    let store_id = record.store.id;
    let supplier = app
        .create_supplier(
            Scope::Operator,
            NewSupplier {
                store_id,
                name: "Bench supplier".into(),
                kind: SupplierKind::Manual,
                ships_from: Some("CN".into()),
                processing_days: 2,
                rating: 90,
                processing_deadline_days: None,
                connection: Default::default(),
                agent_layout: None,
                return_policy: Default::default(),
            },
        )
        .await?;
    for product in 0..VARIANTS / 4 {
        let created = app
            .create_product(
                Scope::Operator,
                NewProduct {
                    store_id,
                    title: format!("Insulated steel bottle {product}"),
                    variants: (0..4)
                        .map(|v| {
                            let variant = product * 4 + v;
                            NewVariant {
                                sku: format!("STORE-{variant}"),
                                title: format!("Colour {variant}"),
                                price: Money::new(2_490, usd),
                                platform_variant_id: Some((8_000_000 + variant).to_string()),
                            }
                        })
                        .collect(),
                },
            )
            .await?;
        for variant in created.variants {
            app.add_offer(
                Scope::Operator,
                NewOffer {
                    units: 1,
                    variant_id: variant.id,
                    supplier_id: supplier.id,
                    supplier_sku: format!("SUP-{}", variant.sku),
                    supplier_product_id: None,
                    supplier_variant_id: None,
                    product_url: None,
                    unit_cost: Money::new(900, usd),
                    stock: None,
                    shipping: vec![ShippingMethod {
                        country: "*".into(),
                        name: "Standard".into(),
                        cost: Money::new(300, usd),
                        min_days: 7,
                        max_days: 14,
                    }],
                    priority: OfferPriority::Primary,
                },
            )
            .await?;
        }
    }
    Ok(store_id)
}
