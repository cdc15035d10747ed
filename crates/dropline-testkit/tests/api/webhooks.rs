//! Storefront webhooks over HTTP: signed deliveries make orders, duplicates and concurrent
//! redeliveries make one, forged ones are refused before parsing and write nothing, and the
//! topics (paid, updated, cancelled, test orders) move the order as a seller expects.

use base64::Engine;
use dropline_testkit::TestApp;
use dropline_testkit::data::{manual_supplier, offer, unique, usd, warehouse_address};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

backend_tests!(
    shopify_order_arrives_mapped_by_platform_variant_id,
    the_same_delivery_five_times_at_once_makes_one_order,
    forged_missing_and_stale_signatures_are_refused_and_write_nothing,
    unknown_store_platform_and_bad_bodies_are_refused,
    a_rotated_secret_and_the_old_one_both_verify,
    an_unknown_variant_is_kept_on_hold,
    paid_updated_and_cancelled_topics_move_the_order,
    a_change_after_routing_becomes_an_exception,
    a_test_order_is_never_sent_to_a_supplier,
    woocommerce_ping_is_answered_and_orders_arrive,
    a_wix_cancellation_naming_only_the_order_cancels_it,
);

const SECRET: &str = "shpss_test_secret_1";

/// A Shopify store (with a manual supplier and one mapped variant, platform id 4001).
struct ShopifyStore {
    id: String,
    sku: String,
}

async fn shopify_store(app: &TestApp, auto_accept: bool) -> ShopifyStore {
    let admin = app.admin();
    let n = unique();
    let created = admin
        .create_store(&json!({
            "name": format!("Shopify store {n}"),
            "platform": "shopify",
            "currency": "USD",
            "address": warehouse_address(),
            "domain": format!("shop-{n}.myshopify.com"),
            "webhook_secret": SECRET,
            "access_token": "shpat_test",
            "settings": { "auto_accept": { "enabled": auto_accept } },
        }))
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["connection"]["webhook_secrets"], 1);
    assert_eq!(created["connection"]["has_access_token"], true);
    assert!(created.to_string().find(SECRET).is_none(), "the secret is never shown");
    let supplier = admin.create_supplier(&manual_supplier(&id)).await.expect(201);
    let sku = format!("EARBUDS-{n}");
    let product = admin
        .create_product(&json!({
            "store_id": id,
            "title": "Wireless earbuds",
            "variants": [{ "sku": sku, "title": "Black", "price": usd("49.99"), "platform_variant_id": "4001" }],
        }))
        .await
        .expect(201);
    let variant_id = product["variants"][0]["id"].as_str().unwrap();
    admin
        .add_offer(&offer(
            variant_id,
            supplier["id"].as_str().unwrap(),
            "https://supplier.example/e",
            Some(50),
        ))
        .await
        .expect(201);
    ShopifyStore { id, sku }
}

/// A Shopify REST order as its webhooks carry it: one earbuds line (variant 4001, with a SKU
/// the catalogue does not know, so only the platform id maps it) and a gift card.
fn shopify_order(id: u64, updated_at: &str) -> Value {
    json!({
        "id": id,
        "name": format!("#{}", 1000 + id % 1000),
        "order_number": 1000 + id % 1000,
        "email": "ada@example.com",
        "phone": null,
        "currency": "USD",
        "financial_status": "paid",
        "fulfillment_status": null,
        "test": false,
        "created_at": "2026-11-20T10:00:00-05:00",
        "updated_at": updated_at,
        "cancelled_at": null,
        "cancel_reason": null,
        "total_price": "109.98",
        "subtotal_price": "99.98",
        "total_tax": "0.00",
        "customer": { "id": 77, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace" },
        "shipping_address": {
            "first_name": "Ada", "last_name": "Lovelace", "company": null,
            "address1": "12 Main Street", "address2": "Apt 2", "city": "Springfield",
            "province": "Illinois", "province_code": "IL", "zip": "62701",
            "country": "United States", "country_code": "US", "phone": "+12175550100"
        },
        "shipping_lines": [{ "id": 1, "title": "Standard", "code": "standard", "price": "10.00" }],
        "line_items": [
            {
                "id": 9001, "product_id": 3001, "variant_id": 4001, "sku": "SHOPIFY-ONLY-SKU",
                "title": "Wireless earbuds", "variant_title": "Black", "name": "Wireless earbuds - Black",
                "quantity": 2, "fulfillable_quantity": 2, "requires_shipping": true, "gift_card": false,
                "price": "49.99"
            },
            {
                "id": 9002, "product_id": 3002, "variant_id": 4002, "sku": "GIFT-10",
                "title": "Gift card", "variant_title": null, "name": "Gift card",
                "quantity": 1, "fulfillable_quantity": 1, "requires_shipping": false, "gift_card": true,
                "price": "0.00"
            }
        ]
    })
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn shopify_headers(topic: &str, webhook_id: &str, secret: &str, body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("X-Shopify-Topic".into(), topic.into()),
        ("X-Shopify-Hmac-Sha256".into(), sign(secret, body)),
        ("X-Shopify-Shop-Domain".into(), "shop.myshopify.com".into()),
        ("X-Shopify-API-Version".into(), "2025-07".into()),
        ("X-Shopify-Webhook-Id".into(), webhook_id.into()),
        ("X-Shopify-Event-Id".into(), format!("event-{webhook_id}")),
        (
            "X-Shopify-Triggered-At".into(),
            time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        ),
    ]
}

async fn deliver(app: &TestApp, store: &str, topic: &str, order: &Value) -> dropline_testkit::TestResponse {
    let body = serde_json::to_vec(order).unwrap();
    let headers = shopify_headers(topic, &format!("wh-{}", unique()), SECRET, &body);
    app.anonymous()
        .webhook(&format!("/webhooks/shopify/{store}"), &headers, body)
        .await
}

async fn order_by_external_id(app: &TestApp, store: &str, external_id: &str) -> Vec<Value> {
    let listed = app
        .admin()
        .list_orders(&format!("store_id={store}&limit=100"))
        .await
        .ok();
    listed["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["external_id"] == external_id)
        .cloned()
        .collect()
}

async fn shopify_order_arrives_mapped_by_platform_variant_id(app: TestApp) {
    let store = shopify_store(&app, false).await;
    let external = 5_000_000_000_000_000_001u64;
    let answer = deliver(
        &app,
        &store.id,
        "orders/create",
        &shopify_order(external, "2026-11-20T10:00:00-05:00"),
    )
    .await
    .expect(200);
    assert_eq!(answer["outcome"], "created");
    let order_id = answer["order_id"].as_str().unwrap();
    let order = app.admin().get_order(order_id).await.ok();
    // A 64-bit id above 2^53 arrives exactly.
    assert_eq!(order["external_id"], "5000000000000000001");
    assert_eq!(order["state"], "pending_review", "{order:#}");
    assert_eq!(order["payment"], "paid");
    assert_eq!(order["shipping_address"]["region"], "IL");
    assert_eq!(order["shipping_address"]["postal_code"], "62701");
    assert_eq!(order["lines"].as_array().unwrap().len(), 2);
    assert!(
        order["lines"][0]["variant_id"].is_string(),
        "mapped by variant id 4001: {order:#}"
    );
    assert_eq!(order["shipping_total"], usd("10.00"));

    // Accepted and routed: the gift card needs no supplier.
    app.admin().accept(order_id).await.expect(200);
    app.run_pending_jobs().await;
    let order = app.admin().get_order(order_id).await.ok();
    assert_eq!(order["state"], "in_fulfillment", "{order:#}");
    let supplier_orders = order["supplier_orders"].as_array().unwrap();
    assert_eq!(supplier_orders.len(), 1);
    assert_eq!(supplier_orders[0]["lines"].as_array().unwrap().len(), 1);
    assert_eq!(supplier_orders[0]["lines"][0]["quantity"], 2);
    let _ = store.sku;
}

async fn the_same_delivery_five_times_at_once_makes_one_order(app: TestApp) {
    let store = shopify_store(&app, true).await;
    let order = shopify_order(7001, "2026-11-20T10:00:00-05:00");
    let body = serde_json::to_vec(&order).unwrap();
    let headers = shopify_headers("orders/create", "wh-same", SECRET, &body);
    let path = format!("/webhooks/shopify/{}", store.id);
    let client = app.anonymous();
    let deliver_once = || client.webhook(&path, &headers, body.clone());
    let (a, b, c, d, e) = tokio::join!(
        deliver_once(),
        deliver_once(),
        deliver_once(),
        deliver_once(),
        deliver_once()
    );
    let answers = [a, b, c, d, e];
    let mut outcomes: Vec<String> = answers
        .into_iter()
        .map(|a| a.expect(200)["outcome"].as_str().unwrap().to_string())
        .collect();
    outcomes.sort();
    assert_eq!(outcomes.iter().filter(|o| *o == "created").count(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| o == "created" || o == "duplicate" || o == "unchanged")
    );
    // And a later redelivery with another delivery id (a second subscription) changes nothing.
    let again = deliver(&app, &store.id, "orders/create", &order).await.expect(200);
    assert_eq!(again["outcome"], "unchanged");

    let orders = order_by_external_id(&app, &store.id, "7001").await;
    assert_eq!(orders.len(), 1);
    let id = orders[0]["id"].as_str().unwrap();
    let timeline = app.admin().timeline(id).await.ok();
    let received = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "order.received")
        .count();
    assert_eq!(received, 1, "{timeline:#}");
    // Auto-accepted and routed once: one supplier order.
    let order = app.admin().get_order(id).await.ok();
    assert_eq!(order["supplier_orders"].as_array().unwrap().len(), 1, "{order:#}");
}

async fn forged_missing_and_stale_signatures_are_refused_and_write_nothing(app: TestApp) {
    let store = shopify_store(&app, true).await;
    let before = app.snapshot().await;
    let path = format!("/webhooks/shopify/{}", store.id);
    let body = serde_json::to_vec(&shopify_order(8001, "2026-11-20T10:00:00-05:00")).unwrap();
    let client = app.anonymous();

    let forged = shopify_headers("orders/create", "wh-1", "not-the-secret", &body);
    client
        .webhook(&path, &forged, body.clone())
        .await
        .expect_error(401, "unauthorized");

    let mut missing = shopify_headers("orders/create", "wh-2", SECRET, &body);
    missing.retain(|(name, _)| name != "X-Shopify-Hmac-Sha256");
    client
        .webhook(&path, &missing, body.clone())
        .await
        .expect_error(401, "unauthorized");

    // Signed, then changed on the way: the signature no longer matches.
    let signed = shopify_headers("orders/create", "wh-3", SECRET, &body);
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'9').unwrap();
    tampered[at] = b'8';
    client
        .webhook(&path, &signed, tampered)
        .await
        .expect_error(401, "unauthorized");

    // A forged signature over a body that is not even JSON is refused before parsing: 401, not 400.
    let garbage = b"{not json".to_vec();
    let forged = shopify_headers("orders/create", "wh-4", "nope", &garbage);
    client
        .webhook(&path, &forged, garbage)
        .await
        .expect_error(401, "unauthorized");

    // A delivery triggered days ago (a replay) is stale.
    let mut stale = shopify_headers("orders/create", "wh-5", SECRET, &body);
    for (name, value) in &mut stale {
        if name == "X-Shopify-Triggered-At" {
            *value = "2020-01-01T00:00:00Z".into();
        }
    }
    client
        .webhook(&path, &stale, body.clone())
        .await
        .expect_error(401, "unauthorized");

    assert_eq!(app.snapshot().await, before, "a refused delivery writes nothing");
}

async fn unknown_store_platform_and_bad_bodies_are_refused(app: TestApp) {
    let store = shopify_store(&app, false).await;
    let before = app.snapshot().await;
    let client = app.anonymous();
    let body = serde_json::to_vec(&shopify_order(9001, "2026-11-20T10:00:00-05:00")).unwrap();
    let headers = shopify_headers("orders/create", "wh-1", SECRET, &body);

    let unknown_store = format!("/webhooks/shopify/{}", uuid::Uuid::now_v7());
    client
        .webhook(&unknown_store, &headers, body.clone())
        .await
        .expect_error(404, "store_not_found");
    client
        .webhook("/webhooks/shopify/not-an-id", &headers, body.clone())
        .await
        .expect_error(404, "store_not_found");
    client
        .webhook(&format!("/webhooks/magento/{}", store.id), &headers, body.clone())
        .await
        .expect_error(404, "platform_not_found");
    // The store is a Shopify store: its id under another platform is unknown there.
    client
        .webhook(&format!("/webhooks/wix/{}", store.id), &headers, body.clone())
        .await
        .expect_error(404, "store_not_found");

    let path = format!("/webhooks/shopify/{}", store.id);
    // Signed, but not Shopify's order JSON: 400 naming the problem.
    for (bad, field) in [
        (b"[1, 2, 3]".to_vec(), ""),
        (br#"{"id": 1}"#.to_vec(), ""),
        (b"{\"id\": ".to_vec(), ""),
    ] {
        let headers = shopify_headers("orders/create", &format!("wh-{}", unique()), SECRET, &bad);
        let answer = client.webhook(&path, &headers, bad).await;
        answer.expect_error(400, "bad_payload");
        let fields = answer.refused_fields();
        assert!(!fields.is_empty(), "{}", answer.text);
        if !field.is_empty() {
            assert!(fields.iter().any(|f| f.contains(field)), "{fields:?}");
        }
    }
    let mut order = shopify_order(9002, "2026-11-20T10:00:00-05:00");
    order["line_items"][0]["price"] = json!("12.x");
    let body = serde_json::to_vec(&order).unwrap();
    let headers = shopify_headers("orders/create", "wh-price", SECRET, &body);
    let answer = client.webhook(&path, &headers, body).await;
    answer.expect_error(400, "bad_payload");
    assert!(
        answer
            .refused_fields()
            .iter()
            .any(|f| f.contains("line_items[0].price")),
        "{}",
        answer.text
    );

    // Over the 1 MiB limit: 413 unread.
    let huge = vec![b' '; 2 * 1024 * 1024];
    let headers = shopify_headers("orders/create", "wh-huge", SECRET, &huge);
    client
        .webhook(&path, &headers, huge)
        .await
        .expect_error(413, "payload_too_large");

    assert_eq!(app.snapshot().await, before, "a refused delivery writes nothing");
}

async fn a_rotated_secret_and_the_old_one_both_verify(app: TestApp) {
    let store = shopify_store(&app, false).await;
    let rotated = app
        .admin()
        .put(
            &format!("/api/v1/stores/{}/connection", store.id),
            &json!({ "domain": "shop.myshopify.com", "webhook_secrets": ["shpss_new_secret", SECRET], "access_token": "shpat_test" }),
        )
        .await
        .expect(200);
    assert_eq!(rotated["connection"]["webhook_secrets"], 2);
    let path = format!("/webhooks/shopify/{}", store.id);
    let client = app.anonymous();
    for (n, secret) in [(1u64, "shpss_new_secret"), (2, SECRET)] {
        let body = serde_json::to_vec(&shopify_order(10_000 + n, "2026-11-20T10:00:00-05:00")).unwrap();
        let headers = shopify_headers("orders/create", &format!("wh-r{n}"), secret, &body);
        assert_eq!(
            client.webhook(&path, &headers, body).await.expect(200)["outcome"],
            "created"
        );
    }
    let body = serde_json::to_vec(&shopify_order(10_003, "2026-11-20T10:00:00-05:00")).unwrap();
    let headers = shopify_headers("orders/create", "wh-r3", "shpss_some_other", &body);
    client
        .webhook(&path, &headers, body)
        .await
        .expect_error(401, "unauthorized");

    // More than two secrets, or a short one, is refused naming the field.
    let answer = app
        .admin()
        .put(
            &format!("/api/v1/stores/{}/connection", store.id),
            &json!({ "webhook_secrets": ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"] }),
        )
        .await;
    answer.expect_error(422, "invalid_input");
    assert!(answer.refused_fields().contains(&"webhook_secrets".to_string()));
    let answer = app
        .admin()
        .put(
            &format!("/api/v1/stores/{}/connection", store.id),
            &json!({ "webhook_secrets": ["short"], "domain": "https://x/y" }),
        )
        .await;
    answer.expect_error(422, "invalid_input");
    let fields = answer.refused_fields();
    assert!(fields.contains(&"webhook_secrets[0]".to_string()), "{fields:?}");
    assert!(fields.contains(&"domain".to_string()), "{fields:?}");
}

async fn an_unknown_variant_is_kept_on_hold(app: TestApp) {
    let store = shopify_store(&app, true).await;
    let mut order = shopify_order(11_001, "2026-11-20T10:00:00-05:00");
    order["line_items"][0]["variant_id"] = json!(999_999);
    order["line_items"][0]["sku"] = json!("NOBODY-KNOWS");
    let answer = deliver(&app, &store.id, "orders/create", &order).await.expect(200);
    assert_eq!(answer["outcome"], "created");
    let order = app.admin().get_order(answer["order_id"].as_str().unwrap()).await.ok();
    assert_eq!(order["state"], "on_hold", "{order:#}");
    assert_eq!(order["hold_reasons"], json!(["unmapped_variant"]), "{order:#}");
    assert!(order["supplier_orders"].as_array().unwrap().is_empty());
}

async fn paid_updated_and_cancelled_topics_move_the_order(app: TestApp) {
    let store = shopify_store(&app, false).await;
    let mut order = shopify_order(12_001, "2026-11-20T10:00:00-05:00");
    order["financial_status"] = json!("pending");
    let created = deliver(&app, &store.id, "orders/create", &order).await.expect(200);
    let id = created["order_id"].as_str().unwrap().to_string();
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["state"], "on_hold");
    assert_eq!(got["hold_reasons"], json!(["payment_not_captured"]));

    order["financial_status"] = json!("paid");
    order["updated_at"] = json!("2026-11-20T10:05:00-05:00");
    assert_eq!(
        deliver(&app, &store.id, "orders/paid", &order).await.expect(200)["outcome"],
        "updated"
    );
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["payment"], "paid");
    assert_eq!(got["state"], "pending_review", "{got:#}");

    // The customer moved before anything was routed: the order takes the new address.
    order["shipping_address"]["address1"] = json!("99 Elm Street");
    order["updated_at"] = json!("2026-11-20T10:10:00-05:00");
    assert_eq!(
        deliver(&app, &store.id, "orders/updated", &order).await.expect(200)["outcome"],
        "updated"
    );
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["shipping_address"]["address1"], "99 Elm Street");

    // An older version arriving late changes nothing.
    let mut old = order.clone();
    old["shipping_address"]["address1"] = json!("1 Old Road");
    old["updated_at"] = json!("2026-11-20T10:01:00-05:00");
    assert_eq!(
        deliver(&app, &store.id, "orders/updated", &old).await.expect(200)["outcome"],
        "unchanged"
    );
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["shipping_address"]["address1"], "99 Elm Street");

    order["cancelled_at"] = json!("2026-11-20T10:20:00-05:00");
    order["cancel_reason"] = json!("customer");
    order["updated_at"] = json!("2026-11-20T10:20:00-05:00");
    deliver(&app, &store.id, "orders/cancelled", &order).await.expect(200);
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["state"], "cancelled");
    // A redelivered cancellation is fine.
    order["updated_at"] = json!("2026-11-20T10:21:00-05:00");
    assert_eq!(
        deliver(&app, &store.id, "orders/cancelled", &order).await.expect(200)["outcome"],
        "unchanged"
    );
}

async fn a_change_after_routing_becomes_an_exception(app: TestApp) {
    let store = shopify_store(&app, true).await;
    let mut order = shopify_order(13_001, "2026-11-20T10:00:00-05:00");
    let created = deliver(&app, &store.id, "orders/create", &order).await.expect(200);
    let id = created["order_id"].as_str().unwrap().to_string();
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["state"], "in_fulfillment", "auto-accepted and routed: {got:#}");
    let supplier_order = got["supplier_orders"][0]["id"].as_str().unwrap().to_string();

    order["shipping_address"]["address1"] = json!("500 New Street");
    order["updated_at"] = json!("2026-11-20T11:00:00-05:00");
    deliver(&app, &store.id, "orders/updated", &order).await.expect(200);
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(
        got["shipping_address"]["address1"], "12 Main Street",
        "the routed address stays"
    );
    let exceptions = got["exceptions"].as_array().unwrap();
    assert_eq!(exceptions.len(), 1, "{got:#}");
    assert_eq!(exceptions[0]["kind"], "changed_after_routing");
    assert_eq!(exceptions[0]["suggested_action"], "contact_supplier");

    // The storefront cancels: the order is cancelled and the open supplier order with it.
    order["cancelled_at"] = json!("2026-11-20T12:00:00-05:00");
    order["updated_at"] = json!("2026-11-20T12:00:00-05:00");
    deliver(&app, &store.id, "orders/cancelled", &order).await.expect(200);
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["state"], "cancelled");
    let so = app.admin().get_supplier_order(&supplier_order).await.ok();
    assert_eq!(so["status"], "cancelled", "{so:#}");
}

async fn a_test_order_is_never_sent_to_a_supplier(app: TestApp) {
    let store = shopify_store(&app, true).await;
    let mut order = shopify_order(14_001, "2026-11-20T10:00:00-05:00");
    order["test"] = json!(true);
    let created = deliver(&app, &store.id, "orders/create", &order).await.expect(200);
    let id = created["order_id"].as_str().unwrap().to_string();
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["test"], true);
    assert_eq!(got["state"], "pending_review", "not auto-accepted: {got:#}");
    assert!(got["supplier_orders"].as_array().unwrap().is_empty());
    let answer = app.admin().accept(&id).await;
    answer.expect_error(422, "invalid_input");
    assert!(answer.text.contains("test order"), "{}", answer.text);
}

async fn woocommerce_ping_is_answered_and_orders_arrive(app: TestApp) {
    let admin = app.admin();
    let created = admin
        .create_store(&json!({
            "name": "Woo store", "platform": "woocommerce", "currency": "USD",
            "domain": "shop.example", "webhook_secret": "wc-secret-123",
        }))
        .await
        .expect(201);
    let store = created["id"].as_str().unwrap();
    let path = format!("/webhooks/woocommerce/{store}");
    let client = app.anonymous();
    // The unsigned ping WooCommerce sends when a webhook is saved.
    let ping = client.webhook(&path, &[], b"webhook_id=42".to_vec()).await.expect(200);
    assert_eq!(ping["outcome"], "ping");
    // Anything else unsigned is refused.
    client
        .webhook(&path, &[], br#"{"id": 1}"#.to_vec())
        .await
        .expect_error(401, "unauthorized");

    let order = json!({
        "id": 727, "number": "727", "status": "processing", "currency": "USD",
        "date_created_gmt": "2026-11-20T15:00:00", "date_modified_gmt": "2026-11-20T15:00:00",
        "total": "59.99", "shipping_total": "10.00",
        "billing": { "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+12175550100",
                     "address_1": "12 Main Street", "address_2": "", "city": "Springfield", "state": "IL", "postcode": "62701", "country": "US", "company": "" },
        "shipping": { "first_name": "Ada", "last_name": "Lovelace", "company": "", "address_1": "12 Main Street", "address_2": "",
                      "city": "Springfield", "state": "IL", "postcode": "62701", "country": "US", "phone": "" },
        "line_items": [{ "id": 31, "name": "Earbuds", "product_id": 70, "variation_id": 0, "quantity": 1, "sku": "EB-1", "price": 49.99, "subtotal": "49.99", "total": "49.99" }],
        "shipping_lines": [{ "id": 32, "method_title": "Flat rate", "method_id": "flat_rate", "total": "10.00" }]
    });
    let body = serde_json::to_vec(&order).unwrap();
    let headers = vec![
        ("X-WC-Webhook-Topic".to_string(), "order.created".to_string()),
        ("X-WC-Webhook-Resource".to_string(), "order".to_string()),
        ("X-WC-Webhook-Event".to_string(), "created".to_string()),
        ("X-WC-Webhook-Signature".to_string(), sign("wc-secret-123", &body)),
        ("X-WC-Webhook-ID".to_string(), "5".to_string()),
        ("X-WC-Webhook-Delivery-ID".to_string(), "d41d8cd98f00b204".to_string()),
        ("X-WC-Webhook-Source".to_string(), "https://shop.example/".to_string()),
    ];
    let answer = client.webhook(&path, &headers, body.clone()).await.expect(200);
    assert_eq!(answer["outcome"], "created");
    let again = client.webhook(&path, &headers, body).await.expect(200);
    assert_eq!(again["outcome"], "duplicate");
    let got = admin.get_order(answer["order_id"].as_str().unwrap()).await.ok();
    assert_eq!(got["external_id"], "727");
    assert_eq!(got["payment"], "paid");
    assert_eq!(got["lines"][0]["unit_price"], usd("49.99"));
}

async fn a_wix_cancellation_naming_only_the_order_cancels_it(app: TestApp) {
    use dropline_sim::{Misbehaviour, Topic, WixSim};
    let sim = WixSim::start(dropline_sim::SimConfig::new(3).currency("USD"))
        .await
        .unwrap();
    let created = app
        .admin()
        .create_store(&json!({
            "name": "Wix store", "platform": "wix", "currency": "USD",
            "webhook_secret": sim.public_key_pem(),
            "api_base": sim.base_url(), "access_token": sim.api_key(), "api_key": sim.site_id(),
        }))
        .await
        .expect(201);
    let store = created["id"].as_str().unwrap();
    sim.set_webhook_url(format!("{}/webhooks/wix/{store}", app.base_url()));
    let order_id = sim.create_order().unwrap();
    let event = sim.record(&order_id, Topic::Created).unwrap();
    let deliveries = sim.deliver(&event, Misbehaviour::none()).await.unwrap();
    assert_eq!(deliveries[0].status(), Some(200), "{deliveries:?}");
    let orders = order_by_external_id(&app, store, &order_id).await;
    assert_eq!(orders.len(), 1);
    let id = orders[0]["id"].as_str().unwrap().to_string();

    // Wix may name the order of a cancellation without carrying it whole.
    let event = json!({
        "id": format!("evt-cancel-{}", unique()), "entityFqdn": "wix.ecom.v1.order", "slug": "canceled",
        "entityId": order_id, "eventTime": "2026-11-20T12:00:00Z",
        "actionEvent": { "body": { "order": { "id": order_id, "status": "CANCELED" } } }
    });
    let outer = json!({ "eventType": "wix.ecom.v1.order_canceled", "instanceId": sim.instance_id(), "data": event.to_string() });
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({ "data": outer.to_string(), "iat": now, "exp": now + 600 });
    let key =
        jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!("../../../dropline-sim/keys/wix_webhook_private.pem"))
            .unwrap();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .unwrap();
    let path = format!("/webhooks/wix/{store}");
    let answer = app
        .anonymous()
        .webhook(&path, &[], token.clone().into_bytes())
        .await
        .expect(200);
    assert_eq!(answer["outcome"], "updated", "{answer}");
    let got = app.admin().get_order(&id).await.ok();
    assert_eq!(got["state"], "cancelled");
    // The same delivery again changes nothing; a forged token is refused.
    let entries = app.admin().timeline(&id).await.ok()["events"].as_array().unwrap().len();
    let again = app
        .anonymous()
        .webhook(&path, &[], token.clone().into_bytes())
        .await
        .expect(200);
    assert_eq!(again["outcome"], "unchanged");
    let after = app.admin().timeline(&id).await.ok()["events"].as_array().unwrap().len();
    assert_eq!(after, entries);
    let mut forged = token.into_bytes();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    app.anonymous()
        .webhook(&path, &[], forged)
        .await
        .expect_error(401, "unauthorized");
}
