//! The Shopify, WooCommerce and Wix simulators seen from outside: their APIs called over HTTP
//! with reqwest, their webhooks received by a small axum receiver that verifies them with the
//! secret or public key each simulator publishes, as dropline would.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use base64::Engine;
use dropline_sim::{
    DeliveryKind, Misbehaviour, Retry, Scenario, ShopifySim, SimConfig, SimError, SimProduct, SimVariant, Topic,
    WixSim, WooCommerceSim,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// A webhook receiver that checks signatures
// ---------------------------------------------------------------------------------------------

/// How the receiver checks a delivery.
#[derive(Clone)]
enum Check {
    /// base64 HMAC-SHA256 of the body in this header.
    Hmac { header: &'static str, secret: String },
    /// The body is an RS256 JWT signed by this public key.
    Jwt { public_key_pem: String },
}

#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    verified: bool,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(&name.to_ascii_lowercase()).map_or("", String::as_str)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct Inbox {
    check: Check,
    received: Mutex<Vec<Received>>,
    /// The statuses to answer, in order; 200 once they are used up.
    answers: Mutex<VecDeque<u16>>,
    /// How long to wait before answering, request by request; at once when used up.
    delays: Mutex<VecDeque<Duration>>,
}

impl Inbox {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn answer(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    fn delay(&self, delays: &[Duration]) {
        self.delays.lock().unwrap().extend(delays);
    }
}

fn hmac_ok(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The claims of a Wix webhook JWT, verified with the public key (signature and expiry).
fn verify_jwt(public_key_pem: &str, token: &[u8]) -> Option<Value> {
    let token = std::str::from_utf8(token).ok()?;
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key_pem.as_bytes()).ok()?;
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

async fn receive(State(inbox): State<Arc<Inbox>>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let verified = match &inbox.check {
        Check::Hmac { header, secret } => headers
            .get(*header)
            .is_some_and(|signature| hmac_ok(secret, &body, signature)),
        Check::Jwt { public_key_pem } => verify_jwt(public_key_pem, &body).is_some(),
    };
    inbox.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
        verified,
    });
    let delay = inbox.delays.lock().unwrap().pop_front();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if !verified {
        return StatusCode::UNAUTHORIZED;
    }
    let status = inbox.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// Starts a receiver; returns dropline-like webhook base (`http://…/webhooks`) and the inbox.
async fn receiver(check: Check) -> (String, Arc<Inbox>) {
    let inbox = Arc::new(Inbox {
        check,
        received: Mutex::new(Vec::new()),
        answers: Mutex::new(VecDeque::new()),
        delays: Mutex::new(VecDeque::new()),
    });
    let app = Router::new()
        .route("/webhooks/{platform}/{store}", post(receive))
        .with_state(Arc::clone(&inbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/webhooks"), inbox)
}

fn quick_retry(attempts: u32) -> Retry {
    Retry {
        max_attempts: attempts,
        first_backoff: Duration::from_millis(1),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

fn shopify(sim: &ShopifySim, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    dropline_sim::http_client()
        .request(method, format!("{}/admin/api/2025-07/{path}", sim.base_url()))
        .header("X-Shopify-Access-Token", sim.access_token())
}

fn woo(sim: &WooCommerceSim, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    dropline_sim::http_client()
        .request(method, format!("{}{path}", sim.base_url()))
        .basic_auth(sim.consumer_key(), Some(sim.consumer_secret()))
}

fn wix(sim: &WixSim, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    dropline_sim::http_client()
        .request(method, format!("{}{path}", sim.base_url()))
        .header("Authorization", sim.api_key())
        .header("wix-site-id", sim.site_id())
}

fn many_products(count: usize) -> Vec<SimProduct> {
    (0..count)
        .map(|index| SimProduct::simple(format!("Gadget {index}"), format!("GADGET-{index:03}"), "9.99"))
        .collect()
}

/// The next page URL of a `Link` header, if it announces one.
fn next_link(link: Option<&str>) -> Option<String> {
    link?.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        (rel.trim() == "rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

// ---------------------------------------------------------------------------------------------
// Shopify
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn shopify_checks_the_access_token_and_serves_the_shop() {
    let sim = ShopifySim::start(SimConfig::new(1).currency("EUR").shop_name("Nordic Gear"))
        .await
        .unwrap();
    assert!(sim.access_token().starts_with("shpat_"));
    assert_eq!(sim.shop_domain(), "nordic-gear.myshopify.com");
    let client = dropline_sim::http_client();
    let url = format!("{}/admin/api/2025-07/shop.json", sim.base_url());
    let missing = answer(client.get(&url)).await;
    assert_eq!(missing.status, 401);
    assert!(missing.body["errors"].is_string());
    let wrong = answer(client.get(&url).header("X-Shopify-Access-Token", "shpat_wrong")).await;
    assert_eq!(wrong.status, 401);
    let shop = answer(shopify(&sim, reqwest::Method::GET, "shop.json")).await;
    assert_eq!(shop.status, 200);
    assert_eq!(shop.body["shop"]["currency"], "EUR");
    assert_eq!(shop.body["shop"]["name"], "Nordic Gear");
    assert_eq!(shop.body["shop"]["myshopify_domain"], "nordic-gear.myshopify.com");
    // Another API version is not served.
    let other = answer(
        client
            .get(format!("{}/admin/api/2024-01/shop.json", sim.base_url()))
            .header("X-Shopify-Access-Token", sim.access_token()),
    )
    .await;
    assert_eq!(other.status, 404);
    let log = sim.requests();
    assert_eq!(
        log.iter().map(|request| request.status).collect::<Vec<_>>(),
        [401, 401, 200, 404]
    );
    assert_eq!(log[2].path, "/admin/api/2025-07/shop.json");
}

#[tokio::test]
async fn shopify_products_page_through_link_headers() {
    let sim = ShopifySim::start(SimConfig::new(2).catalogue(many_products(120)))
        .await
        .unwrap();
    let mut url = format!("{}/admin/api/2025-07/products.json?limit=50", sim.base_url());
    let mut pages = Vec::new();
    let mut ids = BTreeSet::new();
    loop {
        let page = answer(
            dropline_sim::http_client()
                .get(&url)
                .header("X-Shopify-Access-Token", sim.access_token()),
        )
        .await;
        assert_eq!(page.status, 200);
        let products = page.body["products"].as_array().unwrap();
        pages.push(products.len());
        for product in products {
            assert!(product["id"].is_u64());
            let variant = &product["variants"][0];
            assert_eq!(variant["product_id"], product["id"]);
            assert_eq!(variant["title"], "Default Title");
            assert_eq!(variant["price"], "9.99");
            assert!(variant["sku"].as_str().unwrap().starts_with("GADGET-"));
            ids.insert(product["id"].as_u64().unwrap());
        }
        let link = page.header("link");
        if pages.len() > 1 {
            assert!(link.as_deref().unwrap().contains("rel=\"previous\""), "{link:?}");
        }
        match next_link(link.as_deref()) {
            Some(next) => {
                assert!(next.contains("page_info="), "{next}");
                url = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, [50, 50, 20]);
    assert_eq!(ids.len(), 120);

    let bad_limit = answer(shopify(&sim, reqwest::Method::GET, "products.json?limit=251")).await;
    assert_eq!(bad_limit.status, 400);
    assert!(bad_limit.body["errors"]["limit"].is_string());
    let bad_cursor = answer(shopify(
        &sim,
        reqwest::Method::GET,
        "products.json?page_info=not-a-cursor",
    ))
    .await;
    assert_eq!(bad_cursor.status, 400);
    assert!(bad_cursor.body["errors"]["page_info"].is_string());

    // A variable product: the variant titles join the options.
    let added = sim
        .add_product(
            SimProduct::new("Travel Mug")
                .variant(
                    SimVariant::new("MUG-S-RED", "14.00")
                        .option("Size", "S")
                        .option("Color", "Red"),
                )
                .variant(
                    SimVariant::new("MUG-L-RED", "16.50")
                        .option("Size", "L")
                        .option("Color", "Red"),
                ),
        )
        .unwrap();
    assert_eq!(added.variant_ids.len(), 2);
    let last = answer(shopify(&sim, reqwest::Method::GET, "products.json?limit=250")).await;
    let mug = last.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|product| product["id"] == json!(added.product_id.parse::<u64>().unwrap()))
        .cloned()
        .unwrap();
    assert_eq!(mug["variants"][1]["title"], "L / Red");
    assert_eq!(mug["variants"][1]["price"], "16.50");
    assert_eq!(mug["variants"][1]["id"].to_string(), added.variant_ids[1]);
    assert_eq!(mug["options"][0]["values"], json!(["S", "L"]));
}

#[tokio::test]
async fn products_are_checked_before_they_are_added() {
    let sim = ShopifySim::start(SimConfig::new(3).catalogue(Vec::new()))
        .await
        .unwrap();
    assert_eq!(sim.create_order(), Err(SimError::EmptyCatalogue));
    let refused = |product: SimProduct| {
        let sim = sim.clone();
        move || match sim.add_product(product) {
            Err(SimError::InvalidProduct(reason)) => reason,
            other => panic!("{other:?}"),
        }
    };
    assert!(refused(SimProduct::simple(" ", "A", "1.00"))().starts_with("title"));
    assert!(refused(SimProduct::new("No variants"))().starts_with("variants"));
    assert!(refused(SimProduct::simple("Bad price", "A", "1.999"))().starts_with("variants[0].price"));
    assert!(refused(SimProduct::simple("Bad price", "A", "abc"))().starts_with("variants[0].price"));
    assert!(refused(SimProduct::simple("Empty SKU", "", "1.00"))().starts_with("variants[0].sku"));
    let mismatched = SimProduct::new("Shirt")
        .variant(SimVariant::new("S1", "1.00").option("Size", "S"))
        .variant(SimVariant::new("S2", "1.00").option("Color", "Red"));
    assert!(refused(mismatched)().starts_with("variants[1].options"));
    let twice = SimProduct::new("Shirt")
        .variant(SimVariant::new("S1", "1.00").option("Size", "S"))
        .variant(SimVariant::new("S1", "1.00").option("Size", "M"));
    assert!(refused(twice)().starts_with("variants[1].sku"));
    sim.add_product(SimProduct::simple("Cable", "CABLE", "3.00")).unwrap();
    assert!(refused(SimProduct::simple("Other cable", "CABLE", "3.00"))().contains("already used"));
    // Nothing refused was added.
    let products = answer(shopify(&sim, reqwest::Method::GET, "products.json")).await;
    assert_eq!(products.body["products"].as_array().unwrap().len(), 1);
    let order_id = sim.create_order().unwrap();
    assert_eq!(sim.order(&order_id).unwrap()["line_items"][0]["sku"], "CABLE");
    assert!(matches!(
        sim.send(&order_id, Topic::Created).await,
        Err(SimError::NoWebhookUrl)
    ));
    assert_eq!(
        sim.record("42", Topic::Paid).unwrap_err(),
        SimError::UnknownOrder("42".to_string())
    );
}

/// An order with at least two items, so that it can be fulfilled in two parts.
fn order_with_two_items(sim: &ShopifySim) -> (String, Value) {
    for _ in 0..50 {
        let id = sim.create_order().unwrap();
        let order = sim.order(&id).unwrap();
        let items: u64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| line["quantity"].as_u64().unwrap())
            .sum();
        if items >= 2 {
            return (id, order);
        }
    }
    panic!("no order with two items in 50");
}

#[tokio::test]
async fn shopify_fulfillment_flow_changes_the_order_and_refuses_over_fulfilling() {
    let sim = ShopifySim::start(SimConfig::new(4)).await.unwrap();
    let (order_id, order) = order_with_two_items(&sim);
    let fulfillment_orders = answer(shopify(
        &sim,
        reqwest::Method::GET,
        &format!("orders/{order_id}/fulfillment_orders.json"),
    ))
    .await;
    assert_eq!(fulfillment_orders.status, 200);
    let fulfillment_order = &fulfillment_orders.body["fulfillment_orders"][0];
    assert_eq!(fulfillment_order["status"], "open");
    assert_eq!(fulfillment_order["order_id"].to_string(), order_id);
    let fo_lines = fulfillment_order["line_items"].as_array().unwrap().clone();
    let line_ids: Vec<&Value> = order["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| &line["id"])
        .collect();
    assert_eq!(fo_lines.len(), line_ids.len());
    for (fo_line, line_id) in fo_lines.iter().zip(&line_ids) {
        assert_eq!(&&fo_line["line_item_id"], line_id);
        assert_eq!(fo_line["fulfillment_order_id"], fulfillment_order["id"]);
        assert_eq!(fo_line["fulfillable_quantity"], fo_line["quantity"]);
    }
    let fo_id = fulfillment_order["id"].clone();
    let first = &fo_lines[0];
    let post = |lines: Value, number: &str| {
        shopify(&sim, reqwest::Method::POST, "fulfillments.json").json(&json!({
            "fulfillment": {
                "line_items_by_fulfillment_order": [{ "fulfillment_order_id": fo_id, "fulfillment_order_line_items": lines }],
                "tracking_info": { "number": number, "company": "YunExpress", "url": format!("https://track.example/{number}") },
                "notify_customer": false,
            }
        }))
    };

    // More than can be fulfilled: refused, nothing changes.
    let too_many = first["fulfillable_quantity"].as_u64().unwrap() + 1;
    let over = answer(post(json!([{ "id": first["id"], "quantity": too_many }]), "YT1")).await;
    assert_eq!(over.status, 422, "{}", over.body);
    assert!(over.body["errors"][0].as_str().unwrap().contains("fulfillable"));
    let unknown_line = answer(post(json!([{ "id": 1, "quantity": 1 }]), "YT1")).await;
    assert_eq!(unknown_line.status, 422);
    let zero = answer(post(json!([{ "id": first["id"], "quantity": 0 }]), "YT1")).await;
    assert_eq!(zero.status, 400);
    assert!(sim.fulfillments(&order_id).is_empty());
    let unknown_fo = answer(shopify(&sim, reqwest::Method::POST, "fulfillments.json").json(&json!({
        "fulfillment": { "line_items_by_fulfillment_order": [{ "fulfillment_order_id": 12345 }] }
    })))
    .await;
    assert_eq!(unknown_fo.status, 422);
    let malformed = answer(shopify(&sim, reqwest::Method::POST, "fulfillments.json").body("{not json")).await;
    assert_eq!(malformed.status, 400);

    // One item of the first line: the fulfillment order is in progress.
    let created = answer(post(json!([{ "id": first["id"], "quantity": 1 }]), "YT2401234567890")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let fulfillment = &created.body["fulfillment"];
    assert_eq!(fulfillment["status"], "success");
    assert_eq!(fulfillment["tracking_number"], "YT2401234567890");
    assert_eq!(fulfillment["tracking_numbers"], json!(["YT2401234567890"]));
    assert_eq!(fulfillment["tracking_company"], "YunExpress");
    assert_eq!(fulfillment["line_items"][0]["id"], *line_ids[0]);
    assert_eq!(fulfillment["line_items"][0]["quantity"], 1);
    assert_eq!(sim.fulfillment_order_status(&order_id).as_deref(), Some("in_progress"));
    assert_eq!(sim.status(&order_id).as_deref(), Some("partial"));

    // The rest (no lines named: everything left).
    let rest = answer(shopify(&sim, reqwest::Method::POST, "fulfillments.json").json(&json!({
        "fulfillment": {
            "line_items_by_fulfillment_order": [{ "fulfillment_order_id": fo_id }],
            "tracking_info": { "number": "YT2409999999999", "company": "YunExpress" },
        }
    })))
    .await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(sim.fulfillment_order_status(&order_id).as_deref(), Some("closed"));
    assert_eq!(sim.status(&order_id).as_deref(), Some("fulfilled"));
    let again = answer(post(json!([{ "id": first["id"], "quantity": 1 }]), "YT3")).await;
    assert_eq!(again.status, 422);
    assert!(again.body["errors"][0].as_str().unwrap().contains("closed"));

    let listed = answer(shopify(
        &sim,
        reqwest::Method::GET,
        &format!("orders/{order_id}/fulfillments.json"),
    ))
    .await;
    let numbers: Vec<&str> = listed.body["fulfillments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["tracking_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["YT2401234567890", "YT2409999999999"]);
    let fulfillments = sim.fulfillments(&order_id);
    assert_eq!(fulfillments.len(), 2);
    let shipped: u32 = fulfillments
        .iter()
        .flat_map(|f| &f.lines)
        .map(|line| line.quantity)
        .sum();
    assert_eq!(
        u64::from(shipped),
        order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["quantity"].as_u64().unwrap())
            .sum::<u64>()
    );
    assert_eq!(sim.order(&order_id).unwrap()["fulfillment_status"], "fulfilled");

    // Delivered.
    let fulfillment_id = &fulfillments[0].id;
    let event_path = format!("orders/{order_id}/fulfillments/{fulfillment_id}/events.json");
    let event =
        answer(shopify(&sim, reqwest::Method::POST, &event_path).json(&json!({ "event": { "status": "delivered" } })))
            .await;
    assert_eq!(event.status, 201, "{}", event.body);
    assert_eq!(event.body["fulfillment_event"]["status"], "delivered");
    assert_eq!(
        sim.fulfillments(&order_id)[0].shipment_status.as_deref(),
        Some("delivered")
    );
    let bad_event =
        answer(shopify(&sim, reqwest::Method::POST, &event_path).json(&json!({ "event": { "status": "lost" } }))).await;
    assert_eq!(bad_event.status, 422);
    let unknown_fulfillment = answer(
        shopify(
            &sim,
            reqwest::Method::POST,
            &format!("orders/{order_id}/fulfillments/1/events.json"),
        )
        .json(&json!({ "event": { "status": "delivered" } })),
    )
    .await;
    assert_eq!(unknown_fulfillment.status, 404);
    let unknown_order = answer(shopify(&sim, reqwest::Method::GET, "orders/1/fulfillment_orders.json")).await;
    assert_eq!(unknown_order.status, 404);
    assert_eq!(unknown_order.body["errors"], "Not Found");
}

#[tokio::test]
async fn shopify_cancellation_is_refused_the_second_time_and_closes_fulfillment() {
    let sim = ShopifySim::start(SimConfig::new(5)).await.unwrap();
    let order_id = sim.create_order().unwrap();
    let path = format!("orders/{order_id}/cancel.json");
    let bad_reason = answer(shopify(&sim, reqwest::Method::POST, &path).json(&json!({ "reason": "bored" }))).await;
    assert_eq!(bad_reason.status, 422);
    assert_eq!(sim.status(&order_id).as_deref(), Some("unfulfilled"));
    let cancelled =
        answer(shopify(&sim, reqwest::Method::POST, &path).json(&json!({ "reason": "other", "email": false }))).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["order"]["cancel_reason"], "other");
    assert!(cancelled.body["order"]["cancelled_at"].is_string());
    assert_eq!(sim.status(&order_id).as_deref(), Some("cancelled"));
    assert_eq!(sim.fulfillment_order_status(&order_id).as_deref(), Some("cancelled"));
    let again = answer(shopify(&sim, reqwest::Method::POST, &path).json(&json!({ "reason": "other" }))).await;
    assert_eq!(again.status, 422);
    assert_eq!(
        again.body["errors"],
        "Cannot cancel an order that has already been cancelled"
    );
    let fo = answer(shopify(
        &sim,
        reqwest::Method::GET,
        &format!("orders/{order_id}/fulfillment_orders.json"),
    ))
    .await;
    let fo_id = fo.body["fulfillment_orders"][0]["id"].clone();
    assert_eq!(
        fo.body["fulfillment_orders"][0]["line_items"][0]["fulfillable_quantity"],
        0
    );
    let fulfil = answer(shopify(&sim, reqwest::Method::POST, "fulfillments.json").json(&json!({
        "fulfillment": { "line_items_by_fulfillment_order": [{ "fulfillment_order_id": fo_id }] }
    })))
    .await;
    assert_eq!(fulfil.status, 422);
    assert!(fulfil.body["errors"][0].as_str().unwrap().contains("cancelled"));
    assert!(
        answer(shopify(&sim, reqwest::Method::POST, "orders/1/cancel.json"))
            .await
            .status
            == 404
    );
}

#[tokio::test]
async fn injected_rate_limits_and_failures_come_before_the_real_answers() {
    let sim = ShopifySim::start(SimConfig::new(6)).await.unwrap();
    sim.rate_limit_next(2, Duration::from_secs(2));
    sim.fail_next(1);
    // Without the token, a request is refused and does not use up a fault.
    let refused =
        answer(dropline_sim::http_client().get(format!("{}/admin/api/2025-07/shop.json", sim.base_url()))).await;
    assert_eq!(refused.status, 401);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let reply = answer(shopify(&sim, reqwest::Method::GET, "shop.json")).await;
        if reply.status == 429 {
            assert_eq!(reply.header("retry-after").as_deref(), Some("2.0"));
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [429, 429, 500, 200]);

    let woo_sim = WooCommerceSim::start(SimConfig::new(6)).await.unwrap();
    woo_sim.rate_limit_next(1, Duration::from_millis(1500));
    let limited = answer(woo(&woo_sim, reqwest::Method::GET, "/wp-json/wc/v3/system_status")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after").as_deref(), Some("2"));
    assert_eq!(limited.body["data"]["status"], 429);
    let wix_sim = WixSim::start(SimConfig::new(6)).await.unwrap();
    wix_sim.fail_next(1);
    let failed = answer(wix(&wix_sim, reqwest::Method::GET, "/site-properties/v4/properties")).await;
    assert_eq!(failed.status, 500);
    let ok = answer(wix(&wix_sim, reqwest::Method::GET, "/site-properties/v4/properties")).await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn shopify_webhooks_are_signed_and_retried_with_the_same_webhook_id() {
    let sim = ShopifySim::start(SimConfig::new(7).retry(quick_retry(5)))
        .await
        .unwrap();
    let (base, inbox) = receiver(Check::Hmac {
        header: "x-shopify-hmac-sha256",
        secret: sim.webhook_secret().to_string(),
    })
    .await;
    sim.set_webhook_url(format!("{base}/{}/store-1", ShopifySim::PLATFORM));
    let order_id = sim.create_order().unwrap();
    inbox.answer(&[500, 503]);
    let delivery = sim.send(&order_id, Topic::Created).await.unwrap();
    assert_eq!(delivery.statuses(), [Some(500), Some(503), Some(200)]);
    assert!(delivery.accepted);
    assert_eq!(delivery.kind, DeliveryKind::First);
    assert_eq!(delivery.platform_topic, "orders/create");
    let received = inbox.received();
    assert_eq!(received.len(), 3);
    for copy in &received {
        assert!(copy.verified);
        assert_eq!(copy.path, "/webhooks/shopify/store-1");
        assert_eq!(copy.header("X-Shopify-Webhook-Id"), delivery.delivery_id);
        assert_eq!(copy.header("X-Shopify-Topic"), "orders/create");
        assert_eq!(copy.header("X-Shopify-Shop-Domain"), sim.shop_domain());
        assert_eq!(copy.header("X-Shopify-API-Version"), "2025-07");
        assert!(!copy.header("X-Shopify-Event-Id").is_empty());
        assert!(!copy.header("X-Shopify-Triggered-At").is_empty());
        assert_eq!(copy.body, received[0].body);
    }
    let body = received[0].json();
    assert_eq!(body["id"].to_string(), order_id);
    assert_eq!(body["financial_status"], "paid");
    assert_eq!(body["test"], false);
    assert!(body["line_items"][0]["id"].is_u64());
    assert!(body["shipping_address"]["zip"].is_string());
    assert_eq!(body, sim.order(&order_id).unwrap());

    // Retries stop at the policy's limit; a forged signature is refused by the receiver.
    inbox.answer(&[500, 500, 500, 500, 500]);
    let given_up = sim.send(&order_id, Topic::Updated).await.unwrap();
    assert_eq!(given_up.attempts.len(), 5);
    assert!(!given_up.accepted);
    assert_eq!(given_up.status(), Some(500));
    let forged = dropline_sim::http_client()
        .post(format!("{base}/shopify/store-1"))
        .header("X-Shopify-Hmac-Sha256", "AAAA")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn a_delivery_answered_too_late_is_retried_as_the_same_delivery() {
    let config = SimConfig::new(14)
        .retry(quick_retry(3))
        .timeout(Duration::from_millis(150));
    let sim = ShopifySim::start(config).await.unwrap();
    let (base, inbox) = receiver(Check::Hmac {
        header: "x-shopify-hmac-sha256",
        secret: sim.webhook_secret().to_string(),
    })
    .await;
    sim.set_webhook_url(format!("{base}/shopify/s"));
    let order_id = sim.create_order().unwrap();
    inbox.delay(&[Duration::from_millis(600)]);
    let delivery = sim.send(&order_id, Topic::Created).await.unwrap();
    assert_eq!(delivery.statuses(), [None, Some(200)]);
    assert!(delivery.attempts[0].error.is_some());
    assert!(delivery.accepted);
    // The late answer arrives after the retry; both copies are the same delivery.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let received = inbox.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|copy| copy.verified
        && copy.header("X-Shopify-Webhook-Id") == delivery.delivery_id
        && copy.body == received[0].body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_share_the_delivery_id_and_some_race_the_first() {
    let sim = ShopifySim::start(SimConfig::new(8)).await.unwrap();
    let (base, inbox) = receiver(Check::Hmac {
        header: "x-shopify-hmac-sha256",
        secret: sim.webhook_secret().to_string(),
    })
    .await;
    sim.set_webhook_url(format!("{base}/shopify/s"));
    let order_id = sim.create_order().unwrap();
    let event = sim.record(&order_id, Topic::Created).unwrap();
    let deliveries = sim
        .deliver(&event, Misbehaviour::duplicates(3).concurrent(2))
        .await
        .unwrap();
    assert_eq!(
        deliveries.iter().map(|d| d.kind).collect::<Vec<_>>(),
        [
            DeliveryKind::First,
            DeliveryKind::Duplicate,
            DeliveryKind::Duplicate,
            DeliveryKind::Duplicate
        ]
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.accepted && d.delivery_id == event.delivery_id())
    );
    let received = inbox.received();
    assert_eq!(received.len(), 4);
    assert!(received.iter().all(|copy| copy.verified
        && copy.header("X-Shopify-Webhook-Id") == event.delivery_id()
        && copy.body == event.body()));
    let alone = sim.deliver(&event, Misbehaviour::none().concurrent(5)).await.unwrap();
    assert_eq!(alone.len(), 1);
    // Another event of the same order is another delivery.
    let paid = sim.record(&order_id, Topic::Paid).unwrap();
    assert_ne!(paid.delivery_id(), event.delivery_id());
    assert_ne!(paid.event_id(), event.event_id());
    assert_eq!(paid.header("x-shopify-topic"), Some("orders/paid"));
}

fn shopify_updated_at(copy: &Received) -> time::OffsetDateTime {
    let text = copy.json()["updated_at"].as_str().unwrap().to_string();
    time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_and_stale_deliveries_carry_older_versions() {
    let sim = ShopifySim::start(SimConfig::new(9).unpaid(1.0)).await.unwrap();
    let (base, inbox) = receiver(Check::Hmac {
        header: "x-shopify-hmac-sha256",
        secret: sim.webhook_secret().to_string(),
    })
    .await;
    sim.set_webhook_url(format!("{base}/shopify/s"));
    let scenario = Scenario::new()
        .paid()
        .updated()
        .out_of_order()
        .stale_redelivery()
        .concurrency(3);
    let runs = sim.deliver_orders(5, &scenario).await.unwrap();
    assert_eq!(runs.len(), 5);
    assert_eq!(
        runs.iter().map(|run| run.order_id.clone()).collect::<Vec<_>>(),
        sim.order_ids()
    );
    let received = inbox.received();
    assert!(received.iter().all(|copy| copy.verified));
    for run in &runs {
        assert!(run.all_accepted(), "{:?}", run.statuses());
        let topics: Vec<(Topic, DeliveryKind)> = run.deliveries.iter().map(|d| (d.topic, d.kind)).collect();
        assert_eq!(
            topics,
            [
                (Topic::Paid, DeliveryKind::First),
                (Topic::Created, DeliveryKind::First),
                (Topic::Updated, DeliveryKind::First),
                (Topic::Created, DeliveryKind::Redelivery),
            ]
        );
        // What the receiver got for this order, in arrival order.
        let mine: Vec<&Received> = received
            .iter()
            .filter(|copy| copy.header("X-Shopify-Order-Id") == run.order_id)
            .collect();
        assert_eq!(mine.len(), 4);
        assert_eq!(mine[0].header("X-Shopify-Topic"), "orders/paid");
        assert_eq!(mine[1].header("X-Shopify-Topic"), "orders/create");
        assert!(
            shopify_updated_at(mine[1]) < shopify_updated_at(mine[0]),
            "the older version came second"
        );
        assert_eq!(mine[1].json()["financial_status"], "pending");
        assert_eq!(mine[0].json()["financial_status"], "paid");
        assert!(shopify_updated_at(mine[2]) > shopify_updated_at(mine[0]));
        assert_ne!(mine[2].json()["shipping_address"], mine[1].json()["shipping_address"]);
        // The stale redelivery: the creation, same delivery, same old bytes, after the update.
        assert_eq!(
            mine[3].header("X-Shopify-Webhook-Id"),
            mine[1].header("X-Shopify-Webhook-Id")
        );
        assert_eq!(mine[3].body, mine[1].body);
        assert_eq!(run.deliveries[3].delivery_id, run.deliveries[1].delivery_id);
        // The API shows the latest version.
        let now = sim.order(&run.order_id).unwrap();
        assert_eq!(now["shipping_address"], mine[2].json()["shipping_address"]);
        assert_eq!(now["financial_status"], "paid");
    }
}

#[tokio::test]
async fn shopify_test_orders_and_cancellations_look_like_shopifys() {
    let sim = ShopifySim::start(SimConfig::new(10)).await.unwrap();
    let (base, inbox) = receiver(Check::Hmac {
        header: "x-shopify-hmac-sha256",
        secret: sim.webhook_secret().to_string(),
    })
    .await;
    sim.set_webhook_url(format!("{base}/shopify/s"));
    let test_order = sim.create_test_order().unwrap();
    assert_eq!(sim.order(&test_order).unwrap()["test"], true);
    sim.send(&test_order, Topic::Created).await.unwrap();
    let cancelled = sim.send(&test_order, Topic::Cancelled).await.unwrap();
    assert_eq!(cancelled.platform_topic, "orders/cancelled");
    let received = inbox.received();
    assert_eq!(received[0].json()["test"], true);
    assert_eq!(received[0].json()["payment_gateway_names"], json!(["bogus"]));
    let body = received[1].json();
    assert_eq!(received[1].header("X-Shopify-Topic"), "orders/cancelled");
    assert!(body["cancelled_at"].is_string());
    assert_eq!(body["cancel_reason"], "customer");
    assert_eq!(sim.status(&test_order).as_deref(), Some("cancelled"));
}

#[tokio::test]
async fn the_same_seed_makes_the_same_store_and_orders() {
    let make = |seed| async move {
        let sim = ShopifySim::start(SimConfig::new(seed)).await.unwrap();
        let orders: Vec<Value> = (0..20)
            .map(|_| {
                let order = sim.order(&sim.create_order().unwrap()).unwrap();
                json!({
                    "id": order["id"],
                    "name": order["name"],
                    "email": order["email"],
                    "address": order["shipping_address"],
                    "lines": order["line_items"].as_array().unwrap().iter().map(|l| json!([l["id"], l["sku"], l["quantity"], l["price"]])).collect::<Vec<_>>(),
                    "total": order["total_price"],
                })
            })
            .collect();
        (sim.access_token().to_string(), orders)
    };
    let (token, orders) = make(11).await;
    let (same_token, same_orders) = make(11).await;
    assert_eq!(token, same_token);
    assert_eq!(orders, same_orders);
    let (other_token, other_orders) = make(12).await;
    assert_ne!(token, other_token);
    assert_ne!(orders, other_orders);
    // Sequential numbers, several countries, totals that add up.
    let names: Vec<&str> = orders.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "#1001");
    assert_eq!(names[19], "#1020");
    let countries: BTreeSet<&str> = orders
        .iter()
        .map(|o| o["address"]["country_code"].as_str().unwrap())
        .collect();
    assert!(countries.len() >= 3, "{countries:?}");
}

#[tokio::test]
async fn order_totals_add_up_in_every_format() {
    let shop = ShopifySim::start(SimConfig::new(13)).await.unwrap();
    let site = WooCommerceSim::start(SimConfig::new(13)).await.unwrap();
    let wix_site = WixSim::start(SimConfig::new(13).currency("JPY")).await.unwrap();
    let cents = |text: &str| -> i64 {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        whole.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}")[..2].parse::<i64>().unwrap()
    };
    for _ in 0..10 {
        let order = shop.order(&shop.create_order().unwrap()).unwrap();
        let lines: i64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| cents(l["price"].as_str().unwrap()) * l["quantity"].as_i64().unwrap())
            .sum();
        let shipping = cents(order["shipping_lines"][0]["price"].as_str().unwrap());
        assert_eq!(cents(order["subtotal_price"].as_str().unwrap()), lines);
        assert_eq!(cents(order["total_price"].as_str().unwrap()), lines + shipping);

        let order = site.order(&site.create_order().unwrap()).unwrap();
        let lines: i64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| cents(l["total"].as_str().unwrap()))
            .sum();
        assert_eq!(
            cents(order["total"].as_str().unwrap()),
            lines + cents(order["shipping_total"].as_str().unwrap())
        );

        let order = wix_site.order(&wix_site.create_order().unwrap()).unwrap();
        assert_eq!(order["currency"], "JPY");
        let summary = &order["priceSummary"];
        let yen = |value: &Value| value["amount"].as_str().unwrap().parse::<i64>().unwrap();
        assert_eq!(
            yen(&summary["total"]),
            yen(&summary["subtotal"]) + yen(&summary["shipping"])
        );
    }
}

// ---------------------------------------------------------------------------------------------
// WooCommerce
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn woocommerce_checks_basic_auth_or_query_keys() {
    let sim = WooCommerceSim::start(SimConfig::new(20).currency("CAD")).await.unwrap();
    assert!(sim.consumer_key().starts_with("ck_"));
    assert!(sim.consumer_secret().starts_with("cs_"));
    let url = format!("{}/wp-json/wc/v3/system_status", sim.base_url());
    let client = dropline_sim::http_client();
    let none = answer(client.get(&url)).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body["data"]["status"], 401);
    assert!(none.body["code"].is_string());
    let wrong = answer(client.get(&url).basic_auth(sim.consumer_key(), Some("cs_wrong"))).await;
    assert_eq!(wrong.status, 401);
    let status = answer(woo(&sim, reqwest::Method::GET, "/wp-json/wc/v3/system_status")).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body["settings"]["currency"], "CAD");
    assert_eq!(status.body["environment"]["site_url"], sim.site_url());
    let by_query = answer(client.get(format!(
        "{url}?consumer_key={}&consumer_secret={}",
        sim.consumer_key(),
        sim.consumer_secret()
    )))
    .await;
    assert_eq!(by_query.status, 200);
}

#[tokio::test]
async fn woocommerce_products_page_with_the_wordpress_headers() {
    let mut catalogue = many_products(24);
    catalogue.push(
        SimProduct::new("Hoodie")
            .variant(
                SimVariant::new("HOOD-M-BLK", "39.00")
                    .option("Size", "M")
                    .option("Color", "Black"),
            )
            .variant(
                SimVariant::new("HOOD-L-BLK", "41.00")
                    .option("Size", "L")
                    .option("Color", "Black"),
            ),
    );
    let sim = WooCommerceSim::start(SimConfig::new(21).catalogue(catalogue))
        .await
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut variable = None;
    for page in 1..=3 {
        let reply = answer(woo(
            &sim,
            reqwest::Method::GET,
            &format!("/wp-json/wc/v3/products?per_page=10&page={page}"),
        ))
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("x-wp-total").as_deref(), Some("25"));
        assert_eq!(reply.header("x-wp-totalpages").as_deref(), Some("3"));
        let products = reply.body.as_array().unwrap();
        assert_eq!(products.len(), if page < 3 { 10 } else { 5 });
        assert_eq!(next_link(reply.header("link").as_deref()).is_some(), page < 3);
        for product in products {
            seen.insert(product["id"].as_u64().unwrap());
            if product["type"] == "variable" {
                variable = Some(product.clone());
            } else {
                assert_eq!(product["type"], "simple");
                assert_eq!(product["price"], "9.99");
                assert!(product["variations"].as_array().unwrap().is_empty());
            }
        }
    }
    assert_eq!(seen.len(), 25);
    let beyond = answer(woo(
        &sim,
        reqwest::Method::GET,
        "/wp-json/wc/v3/products?per_page=10&page=4",
    ))
    .await;
    assert_eq!(beyond.body, json!([]));
    let too_many = answer(woo(&sim, reqwest::Method::GET, "/wp-json/wc/v3/products?per_page=101")).await;
    assert_eq!(too_many.status, 400);
    assert!(too_many.body["data"]["params"]["per_page"].is_string());
    let page_zero = answer(woo(&sim, reqwest::Method::GET, "/wp-json/wc/v3/products?page=0")).await;
    assert_eq!(page_zero.status, 400);

    let hoodie = variable.unwrap();
    assert_eq!(hoodie["price"], "39.00");
    let variation_ids = hoodie["variations"].as_array().unwrap().clone();
    assert_eq!(variation_ids.len(), 2);
    let variations = answer(woo(
        &sim,
        reqwest::Method::GET,
        &format!("/wp-json/wc/v3/products/{}/variations?per_page=100", hoodie["id"]),
    ))
    .await;
    assert_eq!(variations.status, 200);
    let variations = variations.body.as_array().unwrap().clone();
    assert_eq!(
        variations.iter().map(|v| v["id"].clone()).collect::<Vec<_>>(),
        variation_ids
    );
    assert_eq!(variations[1]["sku"], "HOOD-L-BLK");
    assert_eq!(variations[1]["price"], "41.00");
    assert_eq!(variations[1]["attributes"][0]["name"], "Size");
    assert_eq!(variations[1]["attributes"][0]["option"], "L");
    assert_eq!(variations[1]["attributes"][1]["option"], "Black");
    let simple_id = seen.iter().find(|id| json!(**id) != hoodie["id"]).unwrap();
    let simple = answer(woo(
        &sim,
        reqwest::Method::GET,
        &format!("/wp-json/wc/v3/products/{simple_id}/variations"),
    ))
    .await;
    assert_eq!(simple.body, json!([]));
    let unknown = answer(woo(&sim, reqwest::Method::GET, "/wp-json/wc/v3/products/1/variations")).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn woocommerce_tracking_notes_and_status_change_the_order() {
    let sim = WooCommerceSim::start(SimConfig::new(22)).await.unwrap();
    let order_id = sim.create_order().unwrap();
    let order = answer(woo(
        &sim,
        reqwest::Method::GET,
        &format!("/wp-json/wc/v3/orders/{order_id}"),
    ))
    .await;
    assert_eq!(order.status, 200);
    assert_eq!(order.body["id"].to_string(), order_id);
    assert_eq!(order.body["status"], "processing");
    assert!(order.body["line_items"][0]["price"].is_number());
    assert!(order.body["shipping"]["postcode"].is_string());
    assert_eq!(order.body, sim.order(&order_id).unwrap());

    let trackings = format!("/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings");
    let missing =
        answer(woo(&sim, reqwest::Method::POST, &trackings).json(&json!({ "custom_tracking_provider": "YunExpress" })))
            .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["code"], "rest_missing_callback_param");
    let bad_date = answer(woo(&sim, reqwest::Method::POST, &trackings).json(&json!({
        "tracking_number": "YT1", "date_shipped": "20/11/2026",
    })))
    .await;
    assert_eq!(bad_date.status, 400);
    assert!(bad_date.body["data"]["params"]["date_shipped"].is_string());
    assert!(sim.tracking_items(&order_id).is_empty());
    let created = answer(woo(&sim, reqwest::Method::POST, &trackings).json(&json!({
        "tracking_number": "YT2401234567890",
        "custom_tracking_provider": "YunExpress",
        "custom_tracking_link": "https://www.yuntrack.com/track?id=%1$s",
        "date_shipped": "2026-11-20",
    })))
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["tracking_number"], "YT2401234567890");
    assert_eq!(
        created.body["tracking_link"],
        "https://www.yuntrack.com/track?id=YT2401234567890"
    );
    assert_eq!(created.body["date_shipped"], "2026-11-20");
    let listed = answer(woo(&sim, reqwest::Method::GET, &trackings)).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["tracking_id"], created.body["tracking_id"]);
    let items = sim.tracking_items(&order_id);
    assert_eq!(
        (items[0].provider.as_str(), items[0].custom_provider),
        ("YunExpress", true)
    );

    let notes = format!("/wp-json/wc/v3/orders/{order_id}/notes");
    let empty = answer(woo(&sim, reqwest::Method::POST, &notes).json(&json!({ "note": "  " }))).await;
    assert_eq!(empty.status, 400);
    let note = answer(
        woo(&sim, reqwest::Method::POST, &notes)
            .json(&json!({ "note": "Delivered: YT2401234567890", "customer_note": false })),
    )
    .await;
    assert_eq!(note.status, 201);
    assert_eq!(note.body["note"], "Delivered: YT2401234567890");
    assert_eq!(note.body["customer_note"], false);

    let path = format!("/wp-json/wc/v3/orders/{order_id}");
    let invalid = answer(woo(&sim, reqwest::Method::PUT, &path).json(&json!({ "status": "shipped" }))).await;
    assert_eq!(invalid.status, 400);
    assert!(invalid.body["data"]["params"]["status"].is_string());
    let completed = answer(woo(&sim, reqwest::Method::PUT, &path).json(&json!({ "status": "completed" }))).await;
    assert_eq!(completed.status, 200);
    assert_eq!(completed.body["status"], "completed");
    assert!(completed.body["date_completed_gmt"].is_string());
    assert_eq!(sim.status(&order_id).as_deref(), Some("completed"));
    let notes_now = sim.notes(&order_id);
    assert_eq!(notes_now.len(), 2);
    assert_eq!(notes_now[0].note, "Delivered: YT2401234567890");
    assert_eq!(notes_now[1].author, "system");
    assert!(
        notes_now[1].note.contains("Processing to Completed"),
        "{}",
        notes_now[1].note
    );
    // The same status again changes nothing.
    answer(woo(&sim, reqwest::Method::PUT, &path).json(&json!({ "status": "completed" }))).await;
    assert_eq!(sim.notes(&order_id).len(), 2);

    let unknown = answer(woo(&sim, reqwest::Method::GET, "/wp-json/wc/v3/orders/1")).await;
    assert_eq!(unknown.status, 404);
    let unknown_tracking = answer(
        woo(
            &sim,
            reqwest::Method::POST,
            "/wp-json/wc-shipment-tracking/v3/orders/1/shipment-trackings",
        )
        .json(&json!({ "tracking_number": "X" })),
    )
    .await;
    assert_eq!(unknown_tracking.status, 404);
}

#[tokio::test]
async fn woocommerce_webhooks_are_signed_sent_once_and_the_ping_is_unsigned() {
    let sim = WooCommerceSim::start(SimConfig::new(23).unpaid(1.0)).await.unwrap();
    let (base, inbox) = receiver(Check::Hmac {
        header: "x-wc-webhook-signature",
        secret: sim.webhook_secret().to_string(),
    })
    .await;
    sim.set_webhook_url(format!("{base}/{}/store-2", WooCommerceSim::PLATFORM));
    // The ping has no signature: the receiver refuses it as unverified.
    let ping = sim.send_ping().await.unwrap();
    assert_eq!(ping.status, Some(401));
    let ping_copy = &inbox.received()[0];
    assert!(String::from_utf8_lossy(&ping_copy.body).starts_with("webhook_id="));
    assert_eq!(ping_copy.header("x-wc-webhook-signature"), "");

    let order_id = sim.create_order().unwrap();
    inbox.answer(&[500]);
    let failed = sim.send(&order_id, Topic::Created).await.unwrap();
    assert_eq!(failed.statuses(), [Some(500)], "WooCommerce does not retry");
    assert!(!failed.accepted);
    inbox.answer(&[302]);
    let redirected = sim.send(&order_id, Topic::Paid).await.unwrap();
    assert!(redirected.accepted, "WooCommerce counts 200 to 302 as delivered");
    sim.send(&order_id, Topic::Cancelled).await.unwrap();
    let received = inbox.received();
    let [created, paid, cancelled] = &received[1..] else {
        panic!("{} deliveries", received.len());
    };
    for copy in [created, paid, cancelled] {
        assert!(copy.verified);
        assert_eq!(copy.header("x-wc-webhook-resource"), "order");
        assert_eq!(copy.header("x-wc-webhook-source"), format!("{}/", sim.site_url()));
        assert!(!copy.header("x-wc-webhook-delivery-id").is_empty());
        assert_eq!(copy.json()["id"].to_string(), order_id);
    }
    assert_eq!(created.header("x-wc-webhook-topic"), "order.created");
    assert_eq!(created.header("x-wc-webhook-event"), "created");
    assert_eq!(created.json()["status"], "pending");
    assert_eq!(paid.header("x-wc-webhook-topic"), "order.updated");
    assert_eq!(paid.json()["status"], "processing");
    assert!(paid.json()["date_paid_gmt"].is_string());
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_ne!(created.header("x-wc-webhook-id"), paid.header("x-wc-webhook-id"));
    assert_ne!(
        paid.header("x-wc-webhook-delivery-id"),
        cancelled.header("x-wc-webhook-delivery-id")
    );

    // Duplicates of one delivery share its delivery id.
    let runs = sim
        .deliver_orders(3, &Scenario::new().duplicates(2, 1).concurrency(2))
        .await
        .unwrap();
    for run in &runs {
        assert_eq!(run.deliveries.len(), 3);
        let ids: BTreeSet<&str> = run.deliveries.iter().map(|d| d.delivery_id.as_str()).collect();
        assert_eq!(ids.len(), 1);
        let copies = inbox
            .received()
            .into_iter()
            .filter(|copy| copy.header("x-wc-webhook-delivery-id") == run.deliveries[0].delivery_id)
            .count();
        assert_eq!(copies, 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Wix
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wix_checks_the_api_key_and_the_site() {
    let sim = WixSim::start(SimConfig::new(30).shop_name("Casa Verde")).await.unwrap();
    let url = format!("{}/site-properties/v4/properties", sim.base_url());
    let client = dropline_sim::http_client();
    let no_site = answer(client.get(&url).header("Authorization", sim.api_key())).await;
    assert_eq!(no_site.status, 401);
    let wrong_key = answer(
        client
            .get(&url)
            .header("Authorization", "IST.wrong")
            .header("wix-site-id", sim.site_id()),
    )
    .await;
    assert_eq!(wrong_key.status, 401);
    let properties = answer(wix(&sim, reqwest::Method::GET, "/site-properties/v4/properties")).await;
    assert_eq!(properties.status, 200);
    assert_eq!(properties.body["properties"]["siteDisplayName"], "Casa Verde");
    assert_eq!(properties.body["properties"]["paymentCurrency"], "USD");
}

#[tokio::test]
async fn wix_products_are_queried_by_offset() {
    let mut catalogue = many_products(29);
    catalogue.push(
        SimProduct::new("Linen Shirt")
            .variant(SimVariant::new("LINEN-S", "29.5").option("Size", "S"))
            .variant(SimVariant::new("LINEN-M", "29.5").option("Size", "M")),
    );
    let sim = WixSim::start(SimConfig::new(31).catalogue(catalogue)).await.unwrap();
    let query = |limit: u64, offset: u64, variants: bool| {
        wix(&sim, reqwest::Method::POST, "/stores/v1/products/query")
            .json(&json!({ "query": { "paging": { "limit": limit, "offset": offset } }, "includeVariants": variants }))
    };
    let mut offset = 0;
    let mut ids = BTreeSet::new();
    let mut shirt = None;
    loop {
        let page = answer(query(10, offset, true)).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.body["totalResults"], 30);
        assert_eq!(page.body["metadata"]["offset"], offset);
        let products = page.body["products"].as_array().unwrap();
        assert_eq!(page.body["metadata"]["items"], products.len());
        for product in products {
            ids.insert(product["id"].as_str().unwrap().to_string());
            assert!(product["priceData"]["price"].is_number());
            assert!(product["variants"].is_array());
            if product["name"] == "Linen Shirt" {
                shirt = Some(product.clone());
            }
        }
        offset += products.len() as u64;
        if offset >= 30 {
            break;
        }
    }
    assert_eq!(ids.len(), 30);
    let shirt = shirt.unwrap();
    assert_eq!(shirt["variants"][1]["choices"]["Size"], "M");
    assert_eq!(shirt["variants"][1]["variant"]["sku"], "LINEN-M");
    assert_eq!(
        shirt["variants"][1]["variant"]["priceData"]["price"].to_string(),
        "29.5"
    );
    let simple = answer(query(1, 0, true)).await;
    assert_eq!(
        simple.body["products"][0]["variants"][0]["id"],
        "00000000-0000-0000-0000-000000000000"
    );
    let without = answer(query(5, 0, false)).await;
    assert!(without.body["products"][0].get("variants").is_none());
    let too_many = answer(query(101, 0, true)).await;
    assert_eq!(too_many.status, 400);
    assert!(
        too_many.body["message"]
            .as_str()
            .unwrap()
            .contains("query.paging.limit")
    );
}

#[tokio::test]
async fn wix_fulfillment_flow_and_cancellation() {
    let sim = WixSim::start(SimConfig::new(32)).await.unwrap();
    let order_id = sim.create_order().unwrap();
    let order = sim.order(&order_id).unwrap();
    assert_eq!(order["status"], "APPROVED");
    assert_eq!(order["paymentStatus"], "PAID");
    let line = &order["lineItems"][0];
    let line_id = line["id"].as_str().unwrap().to_string();
    let quantity = line["quantity"].as_u64().unwrap();
    let path = format!("/ecom/v1/fulfillments/orders/{order_id}");
    let empty = answer(wix(&sim, reqwest::Method::GET, &path)).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["orderWithFulfillments"]["orderId"], order_id.as_str());
    assert_eq!(empty.body["orderWithFulfillments"]["fulfillments"], json!([]));
    let create = |lines: Value| {
        wix(&sim, reqwest::Method::POST, &format!("{path}/create-fulfillment")).json(&json!({
            "fulfillment": {
                "lineItems": lines,
                "trackingInfo": { "trackingNumber": "LP00112233", "shippingProvider": "Cainiao", "trackingLink": "https://global.cainiao.com/detail.htm?mailNoList=LP00112233" },
            }
        }))
    };
    let over = answer(create(json!([{ "id": line_id, "quantity": quantity + 1 }]))).await;
    assert_eq!(over.status, 422, "{}", over.body);
    let unknown_line = answer(create(json!([{ "id": "no-such-line", "quantity": 1 }]))).await;
    assert_eq!(unknown_line.status, 422);
    let no_lines = answer(create(json!([]))).await;
    assert_eq!(no_lines.status, 400);
    assert!(sim.fulfillments(&order_id).is_empty());
    let created = answer(create(json!([{ "id": line_id, "quantity": quantity }]))).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let fulfillment = &created.body["orderWithFulfillments"]["fulfillments"][0];
    assert_eq!(fulfillment["lineItems"][0]["id"], line_id.as_str());
    assert_eq!(fulfillment["trackingInfo"]["trackingNumber"], "LP00112233");
    let recorded = sim.fulfillments(&order_id);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].tracking_company.as_deref(), Some("Cainiao"));
    let lines = order["lineItems"].as_array().unwrap().len();
    let expected = if lines == 1 { "FULFILLED" } else { "PARTIALLY_FULFILLED" };
    assert_eq!(sim.fulfillment_status(&order_id).as_deref(), Some(expected));

    let cancel = format!("/ecom/v1/orders/{order_id}/cancel");
    let cancelled =
        answer(wix(&sim, reqwest::Method::POST, &cancel).json(&json!({ "sendOrderCanceledEmail": false }))).await;
    assert_eq!(cancelled.status, 200);
    assert_eq!(cancelled.body["order"]["status"], "CANCELED");
    let again =
        answer(wix(&sim, reqwest::Method::POST, &cancel).json(&json!({ "sendOrderCanceledEmail": false }))).await;
    assert_eq!(again.status, 200);
    assert_eq!(sim.status(&order_id).as_deref(), Some("CANCELED"));
    let after = answer(create(json!([{ "id": line_id, "quantity": 1 }]))).await;
    assert_eq!(after.status, 422);
    let unknown = answer(wix(&sim, reqwest::Method::GET, "/ecom/v1/fulfillments/orders/nope")).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["details"]["applicationError"]["code"].is_string());
}

/// The event envelope inside a Wix webhook JWT.
fn wix_event(sim: &WixSim, copy: &Received) -> (Value, Value) {
    let claims = verify_jwt(sim.public_key_pem(), &copy.body).unwrap();
    assert!(claims["iat"].is_i64() && claims["exp"].as_i64() > claims["iat"].as_i64());
    let data: Value = serde_json::from_str(claims["data"].as_str().unwrap()).unwrap();
    let envelope: Value = serde_json::from_str(data["data"].as_str().unwrap()).unwrap();
    (data, envelope)
}

#[tokio::test]
async fn wix_webhooks_are_jwts_signed_with_the_published_key() {
    let sim = WixSim::start(SimConfig::new(33).unpaid(1.0).retry(quick_retry(4)))
        .await
        .unwrap();
    let (base, inbox) = receiver(Check::Jwt {
        public_key_pem: sim.public_key_pem().to_string(),
    })
    .await;
    sim.set_webhook_url(format!("{base}/{}/store-3", WixSim::PLATFORM));
    let order_id = sim.create_order().unwrap();
    assert_eq!(sim.status(&order_id).as_deref(), Some("INITIALIZED"));
    inbox.answer(&[500]);
    let created = sim.send(&order_id, Topic::Created).await.unwrap();
    assert_eq!(created.statuses(), [Some(500), Some(200)]);
    sim.send(&order_id, Topic::Paid).await.unwrap();
    sim.send(&order_id, Topic::Updated).await.unwrap();
    sim.send(&order_id, Topic::Cancelled).await.unwrap();
    let received = inbox.received();
    assert_eq!(received.len(), 5);
    assert!(received.iter().all(|copy| copy.verified));
    // The retry is the same delivery: same event id.
    assert_eq!(received[0].body, received[1].body);
    let (data, envelope) = wix_event(&sim, &received[1]);
    assert_eq!(data["eventType"], "wix.ecom.v1.order_created");
    assert_eq!(data["instanceId"], sim.instance_id());
    assert_eq!(envelope["id"], created.delivery_id.as_str());
    assert_eq!(envelope["entityFqdn"], "wix.ecom.v1.order");
    assert_eq!(envelope["slug"], "created");
    assert_eq!(envelope["entityId"], order_id.as_str());
    let order = &envelope["createdEvent"]["entity"];
    assert_eq!(order["id"], order_id.as_str());
    assert_eq!(order["paymentStatus"], "NOT_PAID");
    let line = &order["lineItems"][0];
    assert!(line["productName"]["original"].is_string());
    assert_eq!(
        line["catalogReference"]["appId"],
        "215238eb-22a5-4c36-9e7b-e7c08025e04e"
    );
    assert!(line["catalogReference"]["options"]["variantId"].is_string());
    assert!(line["physicalProperties"]["sku"].is_string());
    assert_eq!(line["itemType"]["preset"], "PHYSICAL");
    assert!(line["price"]["amount"].is_string());
    let destination = &order["shippingInfo"]["logistics"]["shippingDestination"];
    assert!(destination["address"]["country"].as_str().unwrap().len() == 2);
    assert!(destination["contactDetails"]["firstName"].is_string());
    assert!(order["priceSummary"]["total"]["amount"].is_string());

    let (data, envelope) = wix_event(&sim, &received[2]);
    assert_eq!(data["eventType"], "wix.ecom.v1.order_approved");
    assert_eq!(envelope["actionEvent"]["body"]["order"]["status"], "APPROVED");
    assert_eq!(envelope["actionEvent"]["body"]["order"]["paymentStatus"], "PAID");
    let (data, envelope) = wix_event(&sim, &received[3]);
    assert_eq!(data["eventType"], "wix.ecom.v1.order_updated");
    let updated = &envelope["updatedEvent"]["currentEntity"];
    assert_ne!(
        updated["shippingInfo"]["logistics"]["shippingDestination"]["address"],
        destination["address"]
    );
    assert!(updated["updatedDate"].as_str().unwrap() > order["updatedDate"].as_str().unwrap());
    let (data, envelope) = wix_event(&sim, &received[4]);
    assert_eq!(data["eventType"], "wix.ecom.v1.order_canceled");
    assert_eq!(envelope["slug"], "canceled");
    assert_eq!(envelope["actionEvent"]["body"]["order"]["status"], "CANCELED");

    // A token signed with another key, or altered, does not verify.
    let mut altered = received[1].body.clone();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    assert!(verify_jwt(sim.public_key_pem(), &altered).is_none());
    let other_key = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
    assert!(verify_jwt(other_key, &received[1].body).is_none());
}

// ---------------------------------------------------------------------------------------------
// Conformance with real payloads
// ---------------------------------------------------------------------------------------------

fn fixtures() -> Option<std::path::PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if path.is_dir() {
        Some(path)
    } else {
        println!("skipped: shared fixtures not found at {}", path.display());
        None
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `real` that the simulated `ours` lacks or has with another JSON type (null
/// goes with anything), except `ignored`.
fn differences(real: &Value, ours: &Value, ignored: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (key, value) in real.as_object().unwrap() {
        if ignored.contains(&key.as_str()) {
            continue;
        }
        match ours.get(key) {
            None => found.push(format!("{key}: missing")),
            Some(mine) if !value.is_null() && !mine.is_null() && kind(mine) != kind(value) => {
                found.push(format!("{key}: {} instead of {}", kind(mine), kind(value)))
            }
            Some(_) => {}
        }
    }
    found
}

#[tokio::test]
async fn shopify_orders_have_the_fields_of_a_real_webhook() {
    let Some(fixtures) = fixtures() else { return };
    let real: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("shopify/orders_paid_test_mode_aud_1030.json")).unwrap(),
    )
    .unwrap();
    let sim = ShopifySim::start(SimConfig::new(40).currency("AUD")).await.unwrap();
    let ours = sim.order(&sim.create_order().unwrap()).unwrap();
    // Fields of that 2020 payload that later API versions dropped or that only some shops send.
    let dropped = [
        "total_price_usd",
        "client_details",
        "payment_details",
        "processing_method",
        "source_identifier",
        "source_url",
        "device_id",
        "location_id",
        "original_total_duties_set",
        "current_total_duties_set",
    ];
    assert_eq!(differences(&real, &ours, &dropped), Vec::<String>::new());
    let line_dropped = ["origin_location", "tax_lines"];
    assert_eq!(
        differences(&real["line_items"][0], &ours["line_items"][0], &line_dropped),
        Vec::<String>::new()
    );
    assert_eq!(
        differences(&real["shipping_address"], &ours["shipping_address"], &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        differences(&real["shipping_lines"][0], &ours["shipping_lines"][0], &[]),
        Vec::<String>::new()
    );
    let fulfillment_order: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("shopify/fulfillment_order_get_response_captured.json")).unwrap(),
    )
    .unwrap();
    let order_id = sim.order_ids()[0].clone();
    let listed = answer(shopify(
        &sim,
        reqwest::Method::GET,
        &format!("orders/{order_id}/fulfillment_orders.json"),
    ))
    .await;
    let ours = &listed.body["fulfillment_orders"][0];
    assert_eq!(
        differences(
            &fulfillment_order["fulfillment_order"],
            ours,
            &["fulfillment_service_handle"]
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        differences(
            &fulfillment_order["fulfillment_order"]["line_items"][0],
            &ours["line_items"][0],
            &[]
        ),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn woocommerce_orders_have_the_fields_of_a_real_order() {
    let Some(fixtures) = fixtures() else { return };
    let real: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("woocommerce/order_processing_usd_stripe.json")).unwrap(),
    )
    .unwrap();
    let sim = WooCommerceSim::start(SimConfig::new(41)).await.unwrap();
    let ours = sim.order(&sim.create_order().unwrap()).unwrap();
    assert_eq!(differences(&real, &ours, &[]), Vec::<String>::new());
    assert_eq!(
        differences(&real["line_items"][0], &ours["line_items"][0], &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        differences(&real["shipping"], &ours["shipping"], &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        differences(&real["billing"], &ours["billing"], &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        differences(&real["shipping_lines"][0], &ours["shipping_lines"][0], &[]),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------------

/// Cents of a decimal amount text.
fn cents_of(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    whole.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}")[..2].parse::<i64>().unwrap()
}

#[tokio::test]
async fn shopify_refunds_take_their_transactions_from_the_sale_and_refuse_over_refunding() {
    let sim = ShopifySim::start(SimConfig::new(41)).await.unwrap();
    let (order_id, _) = order_with_two_items(&sim);
    // Captured: only a paid order has money to give back.
    sim.record(&order_id, Topic::Paid).unwrap();
    let order = sim.order(&order_id).unwrap();
    let total = cents_of(order["total_price"].as_str().unwrap());
    let line = &order["line_items"][0];
    let listed = answer(shopify(
        &sim,
        reqwest::Method::GET,
        &format!("orders/{order_id}/transactions.json"),
    ))
    .await;
    assert_eq!(listed.status, 200);
    let sale = &listed.body["transactions"][0];
    assert_eq!(listed.body["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(
        (sale["kind"].as_str(), sale["status"].as_str()),
        (Some("sale"), Some("success"))
    );
    assert_eq!(sale["gateway"], "shopify_payments");
    assert_eq!(sale["amount"], order["total_price"]);
    let refunds = format!("orders/{order_id}/refunds.json");
    let post = |body: Value| shopify(&sim, reqwest::Method::POST, &refunds).json(&body);
    let refund = |amount: &str, kind: &str| {
        json!({ "refund": {
            "currency": "USD",
            "notify": false,
            "note": "damaged",
            "refund_line_items": [{ "line_item_id": line["id"], "quantity": 1, "restock_type": "no_restock" }],
            "transactions": [{ "parent_id": sale["id"], "amount": amount, "kind": kind, "gateway": "shopify_payments" }],
        }})
    };

    // Malformed or impossible: refused in Shopify's words, nothing recorded.
    let malformed = answer(shopify(&sim, reqwest::Method::POST, &refunds).body("{nope")).await;
    assert_eq!(malformed.status, 400);
    let missing = answer(post(json!({ "note": "x" }))).await;
    assert_eq!(missing.status, 400);
    assert!(missing.body["errors"]["refund"].is_string(), "{}", missing.body);
    let not_refund = answer(post(refund("1.00", "sale"))).await;
    assert_eq!(not_refund.status, 422, "{}", not_refund.body);
    let too_much = answer(post(refund(
        &format!("{}.{:02}", total / 100 + 1, total % 100),
        "refund",
    )))
    .await;
    assert_eq!(too_much.status, 422, "{}", too_much.body);
    let mut other_parent = refund("1.00", "refund");
    other_parent["refund"]["transactions"][0]["parent_id"] = json!(1);
    assert_eq!(answer(post(other_parent)).await.status, 422);
    let mut too_many_units = refund("1.00", "refund");
    too_many_units["refund"]["refund_line_items"][0]["quantity"] = json!(line["quantity"].as_u64().unwrap() + 1);
    assert_eq!(answer(post(too_many_units)).await.status, 422);
    assert!(sim.refunds(&order_id).is_empty());

    // A refund: recorded, listed, shown on the order, its transaction listed.
    let created = answer(post(refund("5.00", "refund"))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let body = &created.body["refund"];
    assert_eq!(body["note"], "damaged");
    assert_eq!(body["refund_line_items"][0]["line_item_id"], line["id"]);
    assert_eq!(body["refund_line_items"][0]["restock_type"], "no_restock");
    assert_eq!(body["transactions"][0]["kind"], "refund");
    assert_eq!(body["transactions"][0]["parent_id"], sale["id"]);
    assert_eq!(body["transactions"][0]["amount"], "5.00");
    let recorded = sim.refunds(&order_id);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].amount, 500);
    assert_eq!(recorded[0].id, body["id"].to_string());
    assert!(recorded[0].transactions[0].through_gateway);
    let again = answer(shopify(&sim, reqwest::Method::GET, &refunds)).await;
    assert_eq!(again.body["refunds"][0]["id"], body["id"]);
    let after = answer(shopify(
        &sim,
        reqwest::Method::GET,
        &format!("orders/{order_id}/transactions.json"),
    ))
    .await;
    assert_eq!(after.body["transactions"][1]["kind"], "refund");
    assert_eq!(sim.order(&order_id).unwrap()["financial_status"], "partially_refunded");

    // The same refund again is a second refund: Shopify does not deduplicate.
    let amount_only = |amount: &str| {
        let mut body = refund(amount, "refund");
        body["refund"]["refund_line_items"] = json!([]);
        body
    };
    assert_eq!(answer(post(amount_only("5.00"))).await.status, 201);
    assert_eq!(sim.refunds(&order_id).len(), 2);

    // The gateway refuses: 422; a lost answer: made, then 500.
    sim.refuse_refunds(Some("card declined the refund"));
    let refused = answer(post(amount_only("1.00"))).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.to_string().contains("card declined the refund"),
        "{}",
        refused.body
    );
    sim.refuse_refunds(None);
    sim.lose_next_refund_answers(1);
    let lost = answer(post(amount_only("1.00"))).await;
    assert_eq!(lost.status, 500);
    assert_eq!(sim.refunds(&order_id).len(), 3, "made, though the answer was lost");
    assert_eq!(answer(post(amount_only("1.00"))).await.status, 201);
}

#[tokio::test]
async fn woocommerce_refunds_go_through_the_gateway_and_a_full_one_refunds_the_order() {
    let sim = WooCommerceSim::start(SimConfig::new(42)).await.unwrap();
    let order_id = sim.create_order().unwrap();
    sim.record(&order_id, Topic::Paid).unwrap();
    let order = sim.order(&order_id).unwrap();
    let total = cents_of(order["total"].as_str().unwrap());
    let item = &order["line_items"][0];
    let path = format!("/wp-json/wc/v3/orders/{order_id}/refunds");
    let post = |body: Value| woo(&sim, reqwest::Method::POST, &path).json(&body);

    let malformed = answer(woo(&sim, reqwest::Method::POST, &path).body("{nope")).await;
    assert_eq!(
        (malformed.status, malformed.body["code"].as_str()),
        (400, Some("rest_invalid_json"))
    );
    let zero = answer(post(json!({ "amount": "0.00" }))).await;
    assert_eq!(zero.status, 400);
    assert_eq!(zero.body["code"], "woocommerce_rest_invalid_order_refund");
    let bad_amount = answer(post(json!({ "amount": "ten" }))).await;
    assert_eq!(
        (bad_amount.status, bad_amount.body["code"].as_str()),
        (400, Some("rest_invalid_param"))
    );
    let over = answer(post(
        json!({ "amount": format!("{}.{:02}", total / 100 + 1, total % 100) }),
    ))
    .await;
    assert_eq!(over.status, 500);
    assert_eq!(over.body["code"], "woocommerce_rest_cannot_create_order_refund");
    let unknown_item = answer(post(
        json!({ "amount": "1.00", "line_items": [{ "id": 1, "quantity": 1 }] }),
    ))
    .await;
    assert_eq!(unknown_item.status, 400);
    assert!(sim.refunds(&order_id).is_empty());

    // The gateway cannot refund: WooCommerce's 500; a manual refund still goes through.
    sim.refuse_refunds(Some(
        "The payment gateway for this order does not support automatic refunds.",
    ));
    let refused = answer(post(json!({ "amount": "1.00" }))).await;
    assert_eq!(refused.status, 500);
    assert_eq!(refused.body["code"], "woocommerce_rest_cannot_create_order_refund");
    let manual = answer(post(json!({ "amount": "1.00", "api_refund": false }))).await;
    assert_eq!(manual.status, 201, "{}", manual.body);
    assert_eq!(manual.body["refunded_payment"], false);
    sim.refuse_refunds(None);

    let created = answer(post(json!({
        "amount": "2.50",
        "reason": "damaged",
        "api_refund": true,
        "api_restock": false,
        "line_items": [{ "id": item["id"], "quantity": 1, "refund_total": "2.50" }],
        "meta_data": [{ "key": "_dropline_refund_id", "value": "k-1" }],
    })))
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["amount"], "2.50");
    assert_eq!(created.body["reason"], "damaged");
    assert_eq!(created.body["refunded_payment"], true);
    assert_eq!(created.body["line_items"][0]["quantity"], -1);
    assert_eq!(created.body["line_items"][0]["total"], "-2.50");
    assert_eq!(created.body["meta_data"][0]["key"], "_dropline_refund_id");
    assert_eq!(created.body["meta_data"][0]["value"], "k-1");
    let listed = answer(woo(&sim, reqwest::Method::GET, &path)).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    assert_eq!(listed.body[0]["id"], created.body["id"], "newest first");
    let recorded = sim.refunds(&order_id);
    assert_eq!(
        recorded[1].meta,
        vec![("_dropline_refund_id".to_string(), "k-1".to_string())]
    );
    assert!(!recorded[1].restock);
    assert_eq!(sim.status(&order_id).as_deref(), Some("processing"));

    // What is left, refunded: the order is refunded, with WooCommerce's note.
    let left = total - 350;
    let rest = answer(post(json!({ "amount": format!("{}.{:02}", left / 100, left % 100) }))).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(sim.status(&order_id).as_deref(), Some("refunded"));
    assert!(sim.notes(&order_id).iter().any(|n| n.note.contains("to Refunded")));
    assert_eq!(sim.order(&order_id).unwrap()["refunds"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn wix_refund_payments_refund_the_order_payment_and_are_listed_with_its_transactions() {
    let sim = WixSim::start(SimConfig::new(43)).await.unwrap();
    let order_id = sim.create_order().unwrap();
    sim.record(&order_id, Topic::Paid).unwrap();
    let order = sim.order(&order_id).unwrap();
    let line = &order["lineItems"][0];
    let transactions_path = format!("/ecom/v1/payments/orders/{order_id}");
    let listed = answer(wix(&sim, reqwest::Method::GET, &transactions_path)).await;
    assert_eq!(listed.status, 200);
    let payment = &listed.body["orderTransactions"]["payments"][0];
    assert_eq!(payment["regularPaymentDetails"]["status"], "APPROVED");
    assert_eq!(payment["regularPaymentDetails"]["offlinePayment"], false);
    assert_eq!(payment["amount"]["amount"], order["priceSummary"]["total"]["amount"]);
    let payment_id = payment["id"].as_str().unwrap().to_string();
    let post = |body: Value| wix(&sim, reqwest::Method::POST, "/ecom/v1/order-billing/refund-payments").json(&body);
    let refund = |amount: &str| {
        json!({
            "orderId": order_id,
            "paymentRefunds": [{ "paymentId": payment_id, "amount": { "amount": amount }, "externalRefund": false }],
            "refundItems": { "lineItems": [{ "lineItemId": line["id"], "quantity": 1 }] },
            "sideEffects": { "restockInfo": { "type": "NO_ITEMS" }, "sendOrderRefundedEmail": false },
            "customerReason": "wrong size",
        })
    };

    let malformed = answer(wix(&sim, reqwest::Method::POST, "/ecom/v1/order-billing/refund-payments").body("{x")).await;
    assert_eq!(malformed.status, 400);
    let no_payments = answer(post(json!({ "orderId": order_id, "paymentRefunds": [] }))).await;
    assert_eq!(no_payments.status, 400);
    assert!(no_payments.body["details"]["validationError"].is_object());
    let mut long_reason = refund("1.00");
    long_reason["customerReason"] = json!("x".repeat(201));
    assert_eq!(answer(post(long_reason)).await.status, 400);
    let mut unknown_payment = refund("1.00");
    unknown_payment["paymentRefunds"][0]["paymentId"] = json!("nope");
    assert_eq!(answer(post(unknown_payment)).await.status, 404);
    let mut unknown_order = refund("1.00");
    unknown_order["orderId"] = json!("nope");
    assert_eq!(answer(post(unknown_order)).await.status, 404);
    let over = answer(post(refund("100000.00"))).await;
    assert_eq!(over.status, 428, "{}", over.body);
    assert!(sim.refunds(&order_id).is_empty());

    let created = answer(post(refund("3.00"))).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let body = &created.body["refund"];
    assert_eq!(body["transactions"][0]["paymentId"], payment_id.as_str());
    assert_eq!(body["transactions"][0]["amount"]["amount"], "3");
    assert_eq!(body["transactions"][0]["externalRefund"], false);
    assert_eq!(body["details"]["items"][0]["lineItemId"], line["id"]);
    assert_eq!(body["details"]["reason"], "wrong size");
    assert_eq!(created.body["orderTransactions"]["refunds"][0]["id"], body["id"]);
    let recorded = sim.refunds(&order_id);
    assert_eq!((recorded.len(), recorded[0].amount), (1, 300));
    assert!(!recorded[0].restock && !recorded[0].notify_customer);
    let listed = answer(wix(&sim, reqwest::Method::GET, &transactions_path)).await;
    assert_eq!(listed.body["orderTransactions"]["refunds"][0]["id"], body["id"]);
    assert_eq!(
        listed.body["orderTransactions"]["payments"][0]["regularPaymentDetails"]["status"],
        "PARTIALLY_REFUNDED"
    );
    assert_eq!(sim.order(&order_id).unwrap()["paymentStatus"], "PARTIALLY_REFUNDED");

    // The provider refuses: 428; an external refund (nothing to call) still goes through.
    sim.refuse_refunds(Some("the provider declined"));
    assert_eq!(answer(post(refund("1.00"))).await.status, 428);
    let mut external = refund("1.00");
    external["paymentRefunds"][0]["externalRefund"] = json!(true);
    external["refundItems"] = Value::Null;
    assert_eq!(answer(post(external)).await.status, 200);
    sim.refuse_refunds(None);
    sim.lose_next_refund_answers(1);
    let mut lost = refund("1.00");
    lost["refundItems"] = Value::Null;
    assert_eq!(answer(post(lost)).await.status, 500);
    assert_eq!(sim.refunds(&order_id).len(), 3, "made, though the answer was lost");
}
