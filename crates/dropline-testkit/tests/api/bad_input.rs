//! Bad input, rule by rule (issue "Bad input"): unknown fields ignored; missing or
//! malformed fields → 422 listing each; over 1 MiB → 413; bad token → 401; illegal
//! transition → 409 naming the state. After every refusal, nothing was written.

use crate::id_of;
use dropline_testkit::{TestApp, data};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn sorted(mut fields: Vec<String>) -> Vec<String> {
    fields.sort();
    fields
}

async fn missing_required_fields_are_all_listed(app: TestApp) {
    let seeded = app.seed().await;
    let admin = app.admin();
    let before = app.snapshot().await;

    let answer = admin.post_order(&json!({})).await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(
        sorted(answer.refused_fields()),
        [
            "customer",
            "external_id",
            "lines",
            "number",
            "payment",
            "shipping_address",
            "store_id"
        ]
    );
    assert!(
        answer
            .field_errors()
            .iter()
            .all(|(_, reason)| reason.starts_with("is required")),
        "{}",
        answer.text
    );

    insta::assert_json_snapshot!("order_with_missing_fields", answer.body);

    // An empty body reads as {}: the same list.
    let empty = admin.request_raw(Method::POST, "/api/v1/stores", Vec::new()).await;
    empty.expect_error(422, "invalid_input");
    assert_eq!(sorted(empty.refused_fields()), ["currency", "name", "platform"]);

    let offer = admin.add_offer(&json!({"stock": 3})).await;
    assert_eq!(
        sorted(offer.refused_fields()),
        ["shipping", "supplier_id", "supplier_sku", "unit_cost", "variant_id"]
    );
    let supplier = app.with_token(&seeded.token).create_supplier(&json!({})).await;
    // A store's token may leave store_id out.
    assert_eq!(sorted(supplier.refused_fields()), ["kind", "name"]);

    assert_eq!(before, app.snapshot().await);
}

async fn malformed_fields_are_all_listed_with_their_reason(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let before = app.snapshot().await;

    let mut body = seeded.order("bad-1");
    body["payment"] = json!("maybe");
    body["placed_at"] = json!("yesterday");
    body["customer"] = json!({"email": "ada@example.com"});
    body["shipping_address"]["country_code"] = Value::Null;
    body["shipping_address"]["city"] = json!(42);
    body["lines"][0]["quantity"] = json!("two");
    body["lines"][0]["unit_price"] = json!({"amount": "12.345", "currency": "USD"});
    body["lines"]
        .as_array_mut()
        .unwrap()
        .push(json!({"sku": "X", "title": "Y", "quantity": -1, "unit_price": 3}));
    body["shipping_total"] = json!({"amount": 5, "currency": "DOLLARS"});
    let answer = api.post_order(&body).await;
    answer.expect_error(422, "invalid_input");
    let fields = answer.field_errors();
    let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        sorted(names.iter().map(|s| s.to_string()).collect()),
        [
            "customer.name",
            "lines[0].quantity",
            "lines[0].unit_price.amount",
            "lines[1].quantity",
            "lines[1].unit_price",
            "payment",
            "placed_at",
            "shipping_address.city",
            "shipping_address.country_code",
            "shipping_total.amount",
            "shipping_total.currency",
        ],
        "{}",
        answer.text
    );
    let reason = |field: &str| fields.iter().find(|(f, _)| f == field).map(|(_, r)| r.clone()).unwrap();
    assert!(
        reason("payment").contains("pending, authorized, paid"),
        "{}",
        reason("payment")
    );
    assert!(
        reason("lines[0].unit_price.amount").contains("12.345"),
        "{}",
        reason("lines[0].unit_price.amount")
    );
    assert_eq!(reason("shipping_address.country_code"), "is required");

    // Rules of the use case are listed the same way.
    let mut body = seeded.order("bad-2");
    body["lines"][0]["quantity"] = json!(0);
    body["external_id"] = json!("  ");
    let answer = api.post_order(&body).await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(sorted(answer.refused_fields()), ["external_id", "lines[0].quantity"]);

    // Amounts in another currency than the order's, every one of them.
    let mut body = data::order(
        &seeded.store_id,
        "bad-3",
        &[(seeded.skus[0].as_str(), 1), (seeded.skus[1].as_str(), 1)],
    );
    for line in body["lines"].as_array_mut().unwrap() {
        line["unit_price"] = json!({"amount": "10.00", "currency": "EUR"});
    }
    body["shipping_total"] = json!({"amount": "1.00", "currency": "GBP"});
    let answer = api.post_order(&body).await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(
        sorted(answer.refused_fields()),
        [
            "lines[0].unit_price.currency",
            "lines[1].unit_price.currency",
            "shipping_total.currency"
        ]
    );

    // Query parameters too.
    let answer = api
        .list_orders(&format!(
            "state=lost&limit=0&placed_from=yesterday&before=nope&has_exception=maybe&q={}",
            "x".repeat(201)
        ))
        .await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(
        sorted(answer.refused_fields()),
        ["before", "has_exception", "limit", "placed_from", "q", "state"]
    );

    assert_eq!(before, app.snapshot().await);
}

async fn broken_json_is_refused_with_a_clear_message(app: TestApp) {
    let seeded = app.seed().await;
    let before = app.snapshot().await;
    let answer = app
        .admin()
        .request_raw(Method::POST, "/api/v1/orders", b"{\"external_id\": ".to_vec())
        .await;
    answer.expect_error(400, "malformed_json");
    assert!(answer.error_message().contains("not valid JSON"), "{}", answer.text);
    let answer = app
        .with_token(&seeded.token)
        .post_order(&json!([seeded.order("x")]))
        .await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(answer.refused_fields(), ["body"]);
    assert_eq!(before, app.snapshot().await);
}

async fn unknown_fields_are_ignored(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let plain = api.post_order(&seeded.order("plain")).await.expect(201);

    let mut decorated = seeded.order("decorated");
    decorated["gift_wrap"] = json!(true);
    decorated["shipping_address"]["floor"] = json!(3);
    decorated["lines"][0]["discount_codes"] = json!(["SUMMER"]);
    decorated["customer"]["loyalty"] = json!({"tier": "gold"});
    let decorated = api.post_order(&decorated).await.expect(201);
    for field in ["state", "total", "shipping_address", "customer"] {
        assert_eq!(plain[field], decorated[field], "{field}");
    }
    assert_eq!(plain["lines"][0]["quantity"], decorated["lines"][0]["quantity"]);
    assert!(!decorated.to_string().contains("gift_wrap"));
}

async fn control_characters_in_texts_are_refused_by_field(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let before = app.snapshot().await;
    let mut order = seeded.order("nul-1");
    order["shipping_address"]["city"] = json!("San\u{0}Francisco");
    order["customer"]["name"] = json!("Ada\u{7}Lovelace");
    let answer = api.post_order(&order).await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(
        sorted(answer.refused_fields()),
        ["customer.name", "shipping_address.city"],
        "{}",
        answer.text
    );
    assert_eq!(before, app.snapshot().await);
}

async fn a_body_over_one_mebibyte_is_refused_unread(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let before = app.snapshot().await;

    // A valid order padded with an unknown field to just over the limit.
    let mut body = seeded.order("big");
    let size = serde_json::to_vec(&body).unwrap().len();
    body["padding"] = json!("x".repeat(1024 * 1024 + 1 - size));
    let bytes = serde_json::to_vec(&body).unwrap();
    assert!(bytes.len() > 1024 * 1024);
    let answer = api.request_raw(Method::POST, "/api/v1/orders", bytes).await;
    answer.expect_error(413, "payload_too_large");
    assert_eq!(before, app.snapshot().await);

    // Without Content-Length (chunked), the limit holds while reading.
    let answer = chunked_post(&app, &seeded.token, "/api/v1/orders", 1024 * 1024 + 10).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    assert_eq!(before, app.snapshot().await);

    // Just under the limit is fine.
    let mut body = seeded.order("big-but-fine");
    body["padding"] = json!("x".repeat(1000 * 1000));
    api.post_order(&body).await.expect(201);
}

/// A raw chunked POST of `size` bytes of JSON; the raw answer (status line and body).
async fn chunked_post(app: &TestApp, token: &str, path: &str, size: usize) -> String {
    let address = app.base_url().trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let payload = format!("{{\"padding\": \"{}\"}}", "x".repeat(size));
    for chunk in payload.as_bytes().chunks(64 * 1024) {
        // The server may answer and close before everything is sent.
        if stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
            || stream.write_all(chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn a_missing_or_bad_token_is_refused(app: TestApp) {
    let seeded = app.seed().await;
    let before = app.snapshot().await;
    let order = seeded.order("no-token");

    for api in [
        app.anonymous(),
        app.with_token("dl_not-a-real-token"),
        app.with_token(""),
    ] {
        let answer = api.post_order(&order).await;
        answer.expect_error(401, "unauthorized");
        assert_eq!(
            answer.headers.get("www-authenticate").and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        api.list_orders("").await.expect_error(401, "unauthorized");
    }
    // Not a bearer token.
    let basic = app
        .http()
        .get(format!("{}/api/v1/orders", app.base_url()))
        .header("authorization", format!("Basic {}", seeded.token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
    assert_eq!(before, app.snapshot().await);

    // Every route but health, the document and the webhooks (signed by their platform)
    // wants a token.
    for route in dropline_web::served_routes() {
        if route.path == "/healthz" || route.path.ends_with("/openapi.json") || route.path.starts_with("/webhooks/") {
            continue;
        }
        let path = route
            .path
            .replace("{id}", &dropline_domain::ids::OrderId::new().to_string());
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let answer = app.anonymous().request(method, &path, Some(&json!({}))).await;
        answer.expect_error(401, "unauthorized");
    }
    assert_eq!(before, app.snapshot().await);
    // Public routes stay public.
    app.anonymous().healthz().await.expect(200);
    app.anonymous().openapi().await.expect(200);
}

async fn an_illegal_transition_is_a_conflict_naming_the_state(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let order = api.post_order(&seeded.order("conflict")).await.expect(201);
    let order_id = id_of(&order);
    api.reject(&order_id).await.expect(200);
    let before = app.snapshot().await;

    let answer = api.accept(&order_id).await;
    answer.expect_error(409, "illegal_transition");
    assert_eq!(answer.error_message(), "order in state 'rejected' cannot take 'accept'");
    let answer = api.cancel(&order_id).await;
    answer.expect_error(409, "illegal_transition");
    assert_eq!(answer.error_message(), "order in state 'rejected' cannot take 'cancel'");
    assert_eq!(before, app.snapshot().await);

    // Supplier orders and parcels name their state too.
    let order = api.post_order(&seeded.order("conflict-2")).await.expect(201);
    api.accept(&id_of(&order)).await.expect(200);
    app.run_pending_jobs().await;
    let order = api.get_order(&id_of(&order)).await.expect(200);
    let so_id = id_of(&order["supplier_orders"][0]);
    let tracking = json!({"carrier": "UPS", "tracking_number": "1Z"});
    let before = app.snapshot().await;
    let answer = api.add_shipment(&so_id, &tracking).await;
    answer.expect_error(409, "illegal_transition");
    assert_eq!(
        answer.error_message(),
        "supplier_order in state 'open/unsubmitted' cannot take 'add_shipment'"
    );
    assert_eq!(before, app.snapshot().await);

    api.record_reference(&so_id, &json!({"supplier_reference": "R-1"}))
        .await
        .expect(200);
    api.add_shipment(&so_id, &tracking).await.expect(201);
    api.mark_delivered(&so_id, &json!({})).await.expect(200);
    let before = app.snapshot().await;
    let answer = api
        .record_reference(&so_id, &json!({"supplier_reference": "R-2"}))
        .await;
    answer.expect_error(409, "illegal_transition");
    let answer = api.mark_failed(&so_id, &json!({})).await;
    answer.expect_error(409, "illegal_transition");
    assert_eq!(
        answer.error_message(),
        "shipment in state 'delivered' cannot take 'attempt_failed'"
    );
    assert_eq!(before, app.snapshot().await);
}

async fn address_check_reports_findings_and_stores_nothing(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let before = app.snapshot().await;

    let good = api.validate_address(&data::address()).await.expect(200);
    assert_eq!(good["valid"], true, "{good}");
    let bad = api.validate_address(&data::invalid_address()).await.expect(200);
    assert_eq!(bad["valid"], false);
    let fields: Vec<&str> = bad["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"postal_code") && fields.contains(&"region"),
        "{fields:?}"
    );
    // Missing parts are findings, not refusals.
    let empty = api.validate_address(&json!({"country_code": "US"})).await.expect(200);
    assert_eq!(empty["valid"], false);
    assert!(
        empty["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "city" && f["code"] == "missing")
    );
    // Wrong types are refused.
    let answer = api.validate_address(&json!({"city": 7, "country_code": ["US"]})).await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(sorted(answer.refused_fields()), ["city", "country_code"]);
    assert_eq!(before, app.snapshot().await);
}

backend_tests!(
    missing_required_fields_are_all_listed,
    malformed_fields_are_all_listed_with_their_reason,
    broken_json_is_refused_with_a_clear_message,
    unknown_fields_are_ignored,
    control_characters_in_texts_are_refused_by_field,
    a_body_over_one_mebibyte_is_refused_unread,
    a_missing_or_bad_token_is_refused,
    an_illegal_transition_is_a_conflict_naming_the_state,
    address_check_reports_findings_and_stores_nothing,
);
