//! The webhook formats of Shopify, WooCommerce and Wix against real payloads (the shared
//! fixtures, when present) and against deliveries built and signed here: verification,
//! topics, the order mapping field by field, and refusals naming the bad field.

use dropline_app::storefront::{Verified, WebhookError, WebhookFormat, WebhookRequest, WebhookTopic};
use dropline_connect::shopify::{self, ShopifyWebhooks};
use dropline_connect::signature::sign_hmac_sha256_base64;
use dropline_connect::webhooks::webhook_formats;
use dropline_connect::wix::{self, WixWebhooks};
use dropline_connect::woocommerce::{self, WooCommerceWebhooks};
use dropline_domain::address::{Address, Customer};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{IncomingLine, IncomingOrder};
use dropline_domain::state::PaymentState;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::path::PathBuf;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn fixtures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: shared fixtures not found at {}", dir.display());
        None
    }
}

fn fixture_bytes(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fixture(dir: &std::path::Path, name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(dir, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn money(minor: i64, code: &str) -> Money {
    Money::new(minor, Currency::parse(code).expect("currency"))
}

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("timestamp")
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), (*value).to_string()))
        .collect()
}

fn secrets(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

fn line(external_id: &str, sku: &str, title: &str, quantity: u32, unit_price: Money) -> IncomingLine {
    IncomingLine {
        external_id: Some(external_id.into()),
        sku: sku.into(),
        title: title.into(),
        variant_title: None,
        quantity,
        unit_price,
        requires_shipping: true,
        platform_product_id: None,
        platform_variant_id: None,
        fulfillable_quantity: None,
    }
}

/// A change made to a payload to break it.
type Change = Box<dyn Fn(&mut Value)>;

fn remove(value: &mut Value, key: &str) {
    if let Some(map) = value.as_object_mut() {
        map.remove(key);
    }
}

fn refused_field(result: Result<IncomingOrder, WebhookError>) -> String {
    match result {
        Err(WebhookError::BadPayload { field, .. }) => field,
        other => panic!("expected a refused field, got {other:?}"),
    }
}

fn assert_unauthorized<T: std::fmt::Debug>(result: Result<T, WebhookError>, reason_part: &str) {
    match result {
        Err(WebhookError::Unauthorized(reason)) => {
            assert!(
                reason.contains(reason_part),
                "{reason:?} should mention {reason_part:?}"
            )
        }
        other => panic!("expected Unauthorized({reason_part}), got {other:?}"),
    }
}

#[test]
fn the_formats_cover_the_three_platforms() {
    assert_eq!(webhook_formats().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Shopify
// ---------------------------------------------------------------------------------------------

const SHOPIFY_SECRET: &str = "shpss_test_secret";

fn shopify_now() -> OffsetDateTime {
    datetime!(2026-03-10 12:00 UTC)
}

fn shopify_format() -> ShopifyWebhooks {
    ShopifyWebhooks::new().with_clock(shopify_now)
}

/// A small `orders/create` body of our own.
fn shopify_order() -> Value {
    json!({
        "id": 5_123_456_789_012_345_678u64,
        "name": "#2001",
        "order_number": 2001,
        "email": "ada@example.com",
        "phone": null,
        "currency": "EUR",
        "financial_status": "paid",
        "total_price": "64.90",
        "created_at": "2026-03-09T10:00:00+01:00",
        "updated_at": "2026-03-09T10:05:00+01:00",
        "cancelled_at": null,
        "test": false,
        "customer": {"first_name": "Ada", "last_name": "Lovelace", "email": "other@example.com", "phone": "+49 30 5550100"},
        "shipping_address": {
            "first_name": "Ada", "last_name": "Lovelace", "company": null,
            "address1": "Unter den Linden 1", "address2": "", "city": "Berlin",
            "province": null, "province_code": null, "zip": "10117", "country_code": "de", "phone": null
        },
        "line_items": [
            {"id": 9_007_199_254_740_993u64, "product_id": 1, "variant_id": 2, "sku": "MUG-BLK", "title": "Mug",
             "variant_title": "Black", "quantity": 2, "price": "12.50", "requires_shipping": true, "gift_card": false,
             "fulfillable_quantity": 2},
            {"id": 11, "product_id": null, "variant_id": null, "sku": null, "title": "Gift card",
             "variant_title": null, "quantity": 1, "price": "30.00", "requires_shipping": false, "gift_card": true,
             "fulfillable_quantity": 1}
        ],
        "shipping_lines": [
            {"title": "DHL", "price": "4.90"},
            {"title": "Removed", "price": "9.99", "is_removed": true},
            {"title": "Express surcharge", "price": "5.00"}
        ]
    })
}

fn shopify_request_headers(topic: &str, body: &[u8], triggered_at: &str) -> Vec<(String, String)> {
    headers(&[
        ("X-Shopify-Topic", topic),
        (
            "X-Shopify-Hmac-Sha256",
            &sign_hmac_sha256_base64(SHOPIFY_SECRET.as_bytes(), body),
        ),
        ("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
        ("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
        ("X-Shopify-Triggered-At", triggered_at),
        ("X-Shopify-Shop-Domain", "example.myshopify.com"),
    ])
}

#[test]
fn shopify_maps_our_order_field_by_field() {
    let order = shopify::map_order(&shopify_order()).expect("maps");
    let mug = IncomingLine {
        variant_title: Some("Black".into()),
        platform_product_id: Some("1".into()),
        platform_variant_id: Some("2".into()),
        fulfillable_quantity: Some(2),
        ..line("9007199254740993", "MUG-BLK", "Mug", 2, money(1250, "EUR"))
    };
    let gift = IncomingLine {
        requires_shipping: false,
        fulfillable_quantity: Some(1),
        ..line("11", "", "Gift card", 1, money(3000, "EUR"))
    };
    let expected = IncomingOrder {
        external_id: "5123456789012345678".into(),
        number: "#2001".into(),
        customer: Customer {
            name: "Ada Lovelace".into(),
            email: Some("ada@example.com".into()),
            phone: Some("+49 30 5550100".into()),
        },
        shipping_address: Address {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            company: None,
            address1: "Unter den Linden 1".into(),
            address2: None,
            city: "Berlin".into(),
            region: None,
            postal_code: "10117".into(),
            country_code: "DE".into(),
            phone: None,
        },
        lines: vec![mug, gift],
        currency: Currency::parse("EUR").expect("EUR"),
        shipping_total: money(990, "EUR"),
        payment: PaymentState::Paid,
        placed_at: datetime!(2026-03-09 09:00 UTC),
        test: false,
        cancelled_at: None,
        source_updated_at: Some(datetime!(2026-03-09 09:05 UTC)),
        charged_total: Some(money(6490, "EUR")),
        discount_total: None,
        tax_total: None,
        shipping_method: Some("DHL".into()),
    };
    assert_eq!(order, expected);
    // The bytes path gives the same.
    assert_eq!(
        shopify::map_order_bytes(shopify_order().to_string().as_bytes()),
        Ok(expected)
    );
}

#[test]
fn shopify_round_trip_with_a_signed_delivery() {
    let format = shopify_format();
    let body = shopify_order().to_string().into_bytes();
    let h = shopify_request_headers("orders/create", &body, "2026-03-10T11:59:58.123456789Z");
    let request = WebhookRequest {
        headers: &h,
        body: &body,
    };
    assert_eq!(
        format.verify(&request, &secrets(&[SHOPIFY_SECRET])),
        Ok(Verified::Signed)
    );
    let delivery = format.parse(&request).expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderCreated);
    assert_eq!(
        delivery.delivery_id.as_deref(),
        Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    );
    assert_eq!(delivery.triggered_at, Some(at("2026-03-10T11:59:58.123456789Z")));
    assert_eq!(
        delivery.order,
        Some(shopify::map_order(&shopify_order()).expect("maps"))
    );
}

#[test]
fn shopify_topics() {
    let format = shopify_format();
    let body = shopify_order().to_string().into_bytes();
    for (topic, expected) in [
        ("orders/create", WebhookTopic::OrderCreated),
        ("orders/updated", WebhookTopic::OrderUpdated),
        ("orders/edited", WebhookTopic::OrderUpdated),
        ("orders/paid", WebhookTopic::OrderPaid),
        ("orders/cancelled", WebhookTopic::OrderCancelled),
    ] {
        let h = shopify_request_headers(topic, &body, "2026-03-10T11:00:00Z");
        let delivery = format
            .parse(&WebhookRequest {
                headers: &h,
                body: &body,
            })
            .expect("parses");
        assert_eq!(delivery.topic, expected, "{topic}");
        assert!(delivery.order.is_some(), "{topic}");
    }

    // Other topics: only checked to be JSON, never read as an order.
    let h = shopify_request_headers("products/update", b"{\"id\": 1}", "2026-03-10T11:00:00Z");
    let delivery = format
        .parse(&WebhookRequest {
            headers: &h,
            body: b"{\"id\": 1}",
        })
        .expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::Other("products/update".into()));
    assert_eq!(delivery.order, None);
    let err = format
        .parse(&WebhookRequest {
            headers: &h,
            body: b"not json",
        })
        .expect_err("not JSON");
    assert!(
        matches!(err, WebhookError::BadPayload { ref field, .. } if field == "body"),
        "{err}"
    );

    // An order edit describes only the change: not an order.
    let edit = json!({"order_edit": {"id": 1, "order_id": 2, "line_items": {"additions": [], "removals": []}}});
    let edit = edit.to_string().into_bytes();
    let h = shopify_request_headers("orders/edited", &edit, "2026-03-10T11:00:00Z");
    let delivery = format
        .parse(&WebhookRequest {
            headers: &h,
            body: &edit,
        })
        .expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::Other("orders/edited".into()));
    assert_eq!(delivery.order, None);

    // Without a topic the delivery cannot be read.
    let h = headers(&[("X-Shopify-Webhook-Id", "x")]);
    let err = format
        .parse(&WebhookRequest {
            headers: &h,
            body: &body,
        })
        .expect_err("no topic");
    assert_eq!(err, WebhookError::bad("X-Shopify-Topic", "missing"));

    // The event id stands in for a missing webhook id.
    let h = headers(&[("x-shopify-topic", "orders/paid"), ("X-SHOPIFY-EVENT-ID", "evt-9")]);
    let delivery = format
        .parse(&WebhookRequest {
            headers: &h,
            body: &body,
        })
        .expect("parses");
    assert_eq!(delivery.delivery_id.as_deref(), Some("evt-9"));
    assert_eq!(delivery.triggered_at, None);
}

#[test]
fn shopify_refuses_wrong_missing_and_stale_signatures() {
    let format = shopify_format();
    let body = shopify_order().to_string().into_bytes();
    let fresh = "2026-03-10T11:00:00Z";
    let h = shopify_request_headers("orders/create", &body, fresh);
    let request = WebhookRequest {
        headers: &h,
        body: &body,
    };
    assert_unauthorized(
        format.verify(&request, &secrets(&["another"])),
        "none of the store's secrets",
    );
    // Rotation: the old secret second still verifies.
    assert_eq!(
        format.verify(&request, &secrets(&["the-new-one", SHOPIFY_SECRET])),
        Ok(Verified::Signed)
    );
    // One changed byte of the body.
    let mut tampered = body.clone();
    let at_digit = tampered.iter().position(u8::is_ascii_digit).expect("a digit");
    tampered[at_digit] = if tampered[at_digit] == b'9' { b'8' } else { b'9' };
    assert_unauthorized(
        format.verify(
            &WebhookRequest {
                headers: &h,
                body: &tampered,
            },
            &secrets(&[SHOPIFY_SECRET]),
        ),
        "none of the store's secrets",
    );

    let unsigned: Vec<_> = h
        .iter()
        .filter(|(n, _)| n != "x-shopify-hmac-sha256")
        .cloned()
        .collect();
    assert_eq!(
        format.verify(
            &WebhookRequest {
                headers: &unsigned,
                body: &body,
            },
            &secrets(&[SHOPIFY_SECRET]),
        ),
        Err(WebhookError::Unauthorized("missing X-Shopify-Hmac-Sha256".into()))
    );
    let mut garbled = unsigned.clone();
    garbled.push(("x-shopify-hmac-sha256".into(), "not-a-signature".into()));
    assert_unauthorized(
        format.verify(
            &WebhookRequest {
                headers: &garbled,
                body: &body,
            },
            &secrets(&[SHOPIFY_SECRET]),
        ),
        "not a base64",
    );

    // 47 hours old passes, 49 hours old is stale; a garbled time is refused.
    for (triggered_at, fresh_enough) in [
        ("2026-03-08T13:00:00Z", true),
        ("2026-03-08T11:00:00Z", false),
        ("2026-03-08T12:30:00+01:00", false),
    ] {
        let h = shopify_request_headers("orders/create", &body, triggered_at);
        let result = format.verify(
            &WebhookRequest {
                headers: &h,
                body: &body,
            },
            &secrets(&[SHOPIFY_SECRET]),
        );
        if fresh_enough {
            assert_eq!(result, Ok(Verified::Signed), "{triggered_at}");
        } else {
            assert_eq!(
                result,
                Err(WebhookError::Unauthorized("stale".into())),
                "{triggered_at}"
            );
        }
    }
    let h = shopify_request_headers("orders/create", &body, "last tuesday");
    assert_unauthorized(
        format.verify(
            &WebhookRequest {
                headers: &h,
                body: &body,
            },
            &secrets(&[SHOPIFY_SECRET]),
        ),
        "X-Shopify-Triggered-At",
    );
    // A longer maximum age accepts the old delivery.
    let h = shopify_request_headers("orders/create", &body, "2026-03-08T11:00:00Z");
    let patient = shopify_format().with_max_age(time::Duration::hours(72));
    assert_eq!(
        patient.verify(
            &WebhookRequest {
                headers: &h,
                body: &body,
            },
            &secrets(&[SHOPIFY_SECRET]),
        ),
        Ok(Verified::Signed)
    );
}

#[test]
fn shopify_refuses_bad_payloads_naming_the_field() {
    let with = |change: &dyn Fn(&mut Value)| {
        let mut order = shopify_order();
        change(&mut order);
        shopify::map_order(&order)
    };
    let cases: Vec<(&str, Change)> = vec![
        ("id", Box::new(|o| o["id"] = Value::Null)),
        ("id", Box::new(|o| o["id"] = json!(8.2e17))),
        ("id", Box::new(|o| o["id"] = json!({"x": 1}))),
        ("currency", Box::new(|o| o["currency"] = json!("XYZ"))),
        ("currency", Box::new(|o| o["currency"] = Value::Null)),
        (
            "line_items[0].price",
            Box::new(|o| o["line_items"][0]["price"] = json!("12,50")),
        ),
        (
            "line_items[1].price",
            Box::new(|o| o["line_items"][1]["price"] = json!("-1.00")),
        ),
        (
            "line_items[0].price",
            Box::new(|o| o["line_items"][0]["price"] = json!("12.505")),
        ),
        (
            "line_items[0].price",
            Box::new(|o| o["line_items"][0]["price"] = Value::Null),
        ),
        (
            "line_items[0].quantity",
            Box::new(|o| o["line_items"][0]["quantity"] = json!(0)),
        ),
        (
            "line_items[1].quantity",
            Box::new(|o| o["line_items"][1]["quantity"] = json!(-3)),
        ),
        (
            "line_items[0].quantity",
            Box::new(|o| o["line_items"][0]["quantity"] = json!("two")),
        ),
        (
            "line_items[0].fulfillable_quantity",
            Box::new(|o| o["line_items"][0]["fulfillable_quantity"] = json!(-1)),
        ),
        (
            "line_items[0].requires_shipping",
            Box::new(|o| o["line_items"][0]["requires_shipping"] = json!("yes")),
        ),
        ("line_items[0]", Box::new(|o| o["line_items"][0] = json!(42))),
        ("line_items[1]", Box::new(|o| o["line_items"][1] = Value::Null)),
        ("line_items", Box::new(|o| o["line_items"] = json!({"id": 1}))),
        ("line_items", Box::new(|o| o["line_items"] = json!([]))),
        (
            "shipping_lines[0].price",
            Box::new(|o| o["shipping_lines"][0]["price"] = json!("free")),
        ),
        ("created_at", Box::new(|o| o["created_at"] = json!("09/03/2026"))),
        ("created_at", Box::new(|o| o["created_at"] = Value::Null)),
        ("cancelled_at", Box::new(|o| o["cancelled_at"] = json!(12))),
        ("test", Box::new(|o| o["test"] = json!("false"))),
        (
            "shipping_address",
            Box::new(|o| o["shipping_address"] = json!("Berlin")),
        ),
        (
            "shipping_address.city",
            Box::new(|o| o["shipping_address"]["city"] = json!(["Berlin"])),
        ),
        (
            "customer.first_name",
            Box::new(|o| o["customer"]["first_name"] = json!({"a": 1})),
        ),
    ];
    for (field, change) in cases {
        assert_eq!(refused_field(with(&*change)), field);
    }
    // Not JSON, or JSON that is not an object.
    for body in [&b"<html>"[..], b"", b"[1,2]", b"null", b"\"order\"", b"{\"id\":1"] {
        let err = shopify::map_order_bytes(body).expect_err("refused");
        assert!(
            matches!(err, WebhookError::BadPayload { ref field, .. } if field == "body"),
            "{err}"
        );
    }
    // The message says what is wrong.
    let err = with(&|o: &mut Value| o["line_items"][0]["quantity"] = json!(0)).expect_err("refused");
    assert_eq!(
        err,
        WebhookError::bad("line_items[0].quantity", "must be at least 1, got 0")
    );
    let err = with(&|o: &mut Value| o["currency"] = json!("XYZ")).expect_err("refused");
    assert_eq!(err.to_string(), "currency: 'XYZ' is not an ISO 4217 currency code");
}

#[test]
fn shopify_falls_back_to_billing_when_nothing_ships() {
    let mut order = shopify_order();
    order.as_object_mut().expect("object").remove("shipping_address");
    order["billing_address"] = json!({
        "first_name": "Bob", "last_name": "Biller", "address1": "1 Bill St", "city": "Billtown",
        "province_code": "KY", "zip": "40003", "country_code": "US", "phone": "555"
    });
    let mapped = shopify::map_order(&order).expect("maps");
    assert_eq!(mapped.shipping_address.address1, "1 Bill St");
    assert_eq!(mapped.shipping_address.region.as_deref(), Some("KY"));
    // Neither address: an empty one, not a refusal.
    order.as_object_mut().expect("object").remove("billing_address");
    let mapped = shopify::map_order(&order).expect("maps");
    assert_eq!(mapped.shipping_address, Address::default());
}

#[test]
fn shopify_standard_test_notification_fixture() {
    let Some(dir) = fixtures_dir() else { return };
    let order =
        shopify::map_order(&fixture(&dir, "shopify/orders_create_standard_test_notification.json")).expect("maps");
    let pink = |id: &str| IncomingLine {
        platform_product_id: Some("632910392".into()),
        platform_variant_id: Some("808950810".into()),
        fulfillable_quantity: Some(1),
        ..line(id, "IPOD2008PINK", "IPod Nano - 8GB", 1, money(19900, "USD"))
    };
    let expected = IncomingOrder {
        external_id: "820982911946154508".into(),
        number: "#9999".into(),
        customer: Customer {
            name: "John Smith".into(),
            email: Some("jon@doe.ca".into()),
            phone: Some("555-555-BILL".into()),
        },
        shipping_address: Address {
            first_name: "Steve".into(),
            last_name: "Shipper".into(),
            company: Some("Shipping Company".into()),
            address1: "123 Shipping Street".into(),
            address2: None,
            city: "Shippington".into(),
            region: Some("KY".into()),
            postal_code: "40003".into(),
            country_code: "US".into(),
            phone: Some("555-555-SHIP".into()),
        },
        lines: vec![pink("866550311766439020"), pink("141249953214522974")],
        currency: Currency::parse("USD").expect("USD"),
        shipping_total: money(1000, "USD"),
        payment: PaymentState::Voided,
        placed_at: at("2019-06-04T13:53:06-04:00"),
        test: true,
        cancelled_at: Some(at("2019-06-04T13:53:06-04:00")),
        source_updated_at: Some(at("2019-06-04T13:53:06-04:00")),
        charged_total: Some(money(40300, "USD")),
        discount_total: Some(money(500, "USD")),
        tax_total: Some(money(0, "USD")),
        shipping_method: Some("Generic Shipping".into()),
    };
    assert_eq!(order, expected);
}

/// What differs between the two test-mode AUD orders.
struct AudOrder {
    id: &'static str,
    number: &'static str,
    line_id: &'static str,
    price: i64,
    shipping: i64,
    total: i64,
    tax: i64,
    created: &'static str,
    updated: &'static str,
}

fn shopify_aud_expected(o: AudOrder) -> IncomingOrder {
    IncomingOrder {
        external_id: o.id.into(),
        number: o.number.into(),
        customer: Customer {
            name: "Alex Example".into(),
            email: Some("customer1@example.com".into()),
            phone: None,
        },
        shipping_address: Address {
            first_name: "Alex".into(),
            last_name: "Example".into(),
            company: None,
            address1: "12 Example Street".into(),
            address2: None,
            city: "Canberra".into(),
            region: Some("ACT".into()),
            postal_code: "2601".into(),
            country_code: "AU".into(),
            phone: None,
        },
        lines: vec![IncomingLine {
            variant_title: Some("Fine / Bordeaux".into()),
            platform_product_id: Some("6122640146581".into()),
            platform_variant_id: Some("37319198802069".into()),
            fulfillable_quantity: Some(1),
            ..line(o.line_id, "", "Classic Fountain Pen", 1, money(o.price, "AUD"))
        }],
        currency: Currency::parse("AUD").expect("AUD"),
        shipping_total: money(o.shipping, "AUD"),
        payment: PaymentState::Paid,
        placed_at: at(o.created),
        test: true,
        cancelled_at: None,
        source_updated_at: Some(at(o.updated)),
        charged_total: Some(money(o.total, "AUD")),
        discount_total: Some(money(0, "AUD")),
        tax_total: Some(money(o.tax, "AUD")),
        shipping_method: Some("Standard".into()),
    }
}

#[test]
fn shopify_paid_test_mode_fixtures() {
    let Some(dir) = fixtures_dir() else { return };
    let order_1030 = shopify::map_order(&fixture(&dir, "shopify/orders_paid_test_mode_aud_1030.json")).expect("maps");
    assert_eq!(
        order_1030,
        shopify_aud_expected(AudOrder {
            id: "2998557704341",
            number: "#1030",
            line_id: "6456927060117",
            price: 4495,
            shipping: 1000,
            total: 5945,
            tax: 450,
            created: "2020-12-27T08:23:58+11:00",
            updated: "2020-12-27T08:23:59+11:00",
        })
    );
    // Order 1029 was presented in USD; its amounts are still read in the shop currency.
    let order_1029 = shopify::map_order(&fixture(&dir, "shopify/orders_paid_test_mode_aud_1029.json")).expect("maps");
    assert_eq!(
        order_1029,
        shopify_aud_expected(AudOrder {
            id: "2998548365461",
            number: "#1029",
            line_id: "6456910643349",
            price: 4562,
            shipping: 1015,
            total: 6033,
            tax: 456,
            created: "2020-12-27T08:18:47+11:00",
            updated: "2020-12-27T08:18:48+11:00",
        })
    );
}

#[test]
fn shopify_rest_order_fixture() {
    let Some(dir) = fixtures_dir() else { return };
    let response = fixture(&dir, "shopify/order_get_response_shopify_fixture.json");
    let order = shopify::map_order(&response["order"]).expect("maps");
    let ipod = |id: &str, sku: &str, variant: &str, color: &str| IncomingLine {
        variant_title: Some(color.into()),
        platform_product_id: Some("632910392".into()),
        platform_variant_id: Some(variant.into()),
        ..line(id, sku, "IPod Nano - 8gb", 1, money(19900, "USD"))
    };
    let expected = IncomingOrder {
        external_id: "450789469".into(),
        number: "#1001".into(),
        customer: Customer {
            name: "Bob Norman".into(),
            email: Some("bob.norman@hostmail.com".into()),
            phone: Some("555-625-1199".into()),
        },
        shipping_address: Address {
            first_name: "Bob".into(),
            last_name: "Norman".into(),
            company: None,
            address1: "Chestnut Street 92".into(),
            address2: None,
            city: "Louisville".into(),
            region: Some("KY".into()),
            postal_code: "40202".into(),
            country_code: "US".into(),
            phone: Some("555-625-1199".into()),
        },
        lines: vec![
            ipod("466157049", "IPOD2008GREEN", "39072856", "green"),
            ipod("518995019", "IPOD2008RED", "49148385", "red"),
            ipod("703073504", "IPOD2008BLACK", "457924702", "black"),
        ],
        currency: Currency::parse("USD").expect("USD"),
        shipping_total: money(0, "USD"),
        payment: PaymentState::Authorized,
        placed_at: at("2008-01-10T11:00:00-05:00"),
        test: false,
        cancelled_at: None,
        source_updated_at: Some(at("2008-01-10T11:00:00-05:00")),
        charged_total: Some(money(40994, "USD")),
        discount_total: Some(money(0, "USD")),
        tax_total: Some(money(1194, "USD")),
        shipping_method: Some("Free Shipping".into()),
    };
    assert_eq!(order, expected);
    // The wrapper itself is not an order.
    assert_eq!(refused_field(shopify::map_order(&response)), "id");
}

#[test]
fn shopify_fixtures_round_trip_as_signed_deliveries() {
    let Some(dir) = fixtures_dir() else { return };
    let format = shopify_format();
    for (name, topic) in [
        (
            "shopify/orders_create_standard_test_notification.json",
            WebhookTopic::OrderCancelled,
        ),
        ("shopify/orders_paid_test_mode_aud_1030.json", WebhookTopic::OrderPaid),
        ("shopify/orders_paid_test_mode_aud_1029.json", WebhookTopic::OrderPaid),
    ] {
        let body = fixture_bytes(&dir, name);
        let topic_name = match topic {
            WebhookTopic::OrderCancelled => "orders/cancelled",
            _ => "orders/paid",
        };
        let h = shopify_request_headers(topic_name, &body, "2026-03-10T10:00:00Z");
        let request = WebhookRequest {
            headers: &h,
            body: &body,
        };
        assert_eq!(
            format.verify(&request, &secrets(&[SHOPIFY_SECRET])),
            Ok(Verified::Signed),
            "{name}"
        );
        let delivery = format.parse(&request).expect(name);
        assert_eq!(delivery.topic, topic, "{name}");
        assert_eq!(
            delivery.order,
            Some(shopify::map_order(&fixture(&dir, name)).expect(name))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// WooCommerce
// ---------------------------------------------------------------------------------------------

const WOO_SECRET: &str = "wc-secret-123";

/// A small order of our own: a variation line and a simple line, one shipping line.
fn woo_order() -> Value {
    json!({
        "id": 1207,
        "number": "WC-1207",
        "status": "processing",
        "currency": "USD",
        "total": "58.96",
        "date_created_gmt": "2026-02-01T09:30:00",
        "date_modified_gmt": "2026-02-01T09:31:10",
        "date_paid_gmt": "2026-02-01T09:31:00",
        "billing": {"first_name": "Grace", "last_name": "Hopper", "company": "", "address_1": "1 Navy Way",
                    "address_2": "", "city": "Arlington", "state": "VA", "postcode": "22201", "country": "US",
                    "email": "grace@example.com", "phone": "+1 703 555 0100"},
        "shipping": {"first_name": "Grace", "last_name": "Hopper", "company": "Navy", "address_1": "2 Fleet St",
                     "address_2": "Apt 3", "city": "Norfolk", "state": "VA", "postcode": "23511", "country": "us",
                     "phone": ""},
        "line_items": [
            {"id": 31, "name": "Hoodie - Blue, L", "parent_name": "Hoodie", "product_id": 70, "variation_id": 75,
             "quantity": 3, "subtotal": "45.00", "total": "40.50", "sku": "HOOD-BL-L", "price": 13.5},
            {"id": 32, "name": "Sticker", "parent_name": null, "product_id": 80, "variation_id": 0,
             "quantity": 2, "subtotal": "5.98", "total": "5.98", "sku": null, "price": 2.99}
        ],
        "shipping_lines": [{"id": 33, "method_title": "Flat rate", "method_id": "flat_rate", "total": "12.48"}],
        "refunds": []
    })
}

fn woo_headers(topic: &str, body: &[u8]) -> Vec<(String, String)> {
    headers(&[
        ("X-WC-Webhook-Topic", topic),
        (
            "X-WC-Webhook-Signature",
            &sign_hmac_sha256_base64(WOO_SECRET.as_bytes(), body),
        ),
        ("X-WC-Webhook-Delivery-ID", "6b3c1f0d2e5a"),
        ("X-WC-Webhook-ID", "15"),
        ("X-WC-Webhook-Source", "https://shop.example/"),
    ])
}

#[test]
fn woocommerce_maps_our_order_field_by_field() {
    let order = woocommerce::map_order(&woo_order()).expect("maps");
    let expected = IncomingOrder {
        external_id: "1207".into(),
        number: "WC-1207".into(),
        customer: Customer {
            name: "Grace Hopper".into(),
            email: Some("grace@example.com".into()),
            phone: Some("+1 703 555 0100".into()),
        },
        shipping_address: Address {
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            company: Some("Navy".into()),
            address1: "2 Fleet St".into(),
            address2: Some("Apt 3".into()),
            city: "Norfolk".into(),
            region: Some("VA".into()),
            postal_code: "23511".into(),
            country_code: "US".into(),
            phone: None,
        },
        lines: vec![
            IncomingLine {
                variant_title: Some("Blue, L".into()),
                platform_product_id: Some("70".into()),
                platform_variant_id: Some("75".into()),
                ..line("31", "HOOD-BL-L", "Hoodie", 3, money(1500, "USD"))
            },
            IncomingLine {
                platform_product_id: Some("80".into()),
                platform_variant_id: Some("80".into()),
                ..line("32", "", "Sticker", 2, money(299, "USD"))
            },
        ],
        currency: Currency::parse("USD").expect("USD"),
        shipping_total: money(1248, "USD"),
        payment: PaymentState::Paid,
        placed_at: datetime!(2026-02-01 09:30 UTC),
        test: false,
        cancelled_at: None,
        source_updated_at: Some(datetime!(2026-02-01 09:31:10 UTC)),
        charged_total: Some(money(5896, "USD")),
        discount_total: None,
        tax_total: None,
        shipping_method: Some("Flat rate".into()),
    };
    assert_eq!(order, expected);
    assert_eq!(
        woocommerce::map_order_bytes(woo_order().to_string().as_bytes()),
        Ok(expected)
    );
}

#[test]
fn woocommerce_round_trip_and_topics() {
    let format = WooCommerceWebhooks::new();
    let body = woo_order().to_string().into_bytes();
    let h = woo_headers("order.created", &body);
    let request = WebhookRequest {
        headers: &h,
        body: &body,
    };
    assert_eq!(format.verify(&request, &secrets(&[WOO_SECRET])), Ok(Verified::Signed));
    let delivery = format.parse(&request).expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderCreated);
    assert_eq!(delivery.delivery_id.as_deref(), Some("6b3c1f0d2e5a"));
    assert_eq!(delivery.triggered_at, None);
    assert_eq!(
        delivery.order,
        Some(woocommerce::map_order(&woo_order()).expect("maps"))
    );

    for topic in ["order.updated", "order.restored"] {
        let h = woo_headers(topic, &body);
        let delivery = format
            .parse(&WebhookRequest {
                headers: &h,
                body: &body,
            })
            .expect("parses");
        assert_eq!(delivery.topic, WebhookTopic::OrderUpdated, "{topic}");
    }

    // An update to `cancelled` is a cancellation, dated by the modification.
    let mut cancelled = woo_order();
    cancelled["status"] = json!("cancelled");
    cancelled["date_paid_gmt"] = Value::Null;
    let cancelled_body = cancelled.to_string().into_bytes();
    let h = woo_headers("order.updated", &cancelled_body);
    let delivery = format
        .parse(&WebhookRequest {
            headers: &h,
            body: &cancelled_body,
        })
        .expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderCancelled);
    let order = delivery.order.expect("order");
    assert_eq!(order.cancelled_at, Some(datetime!(2026-02-01 09:31:10 UTC)));
    assert_eq!(order.payment, PaymentState::Voided);

    // Deleted orders and other resources are not read as orders.
    for (topic, body) in [
        ("order.deleted", &b"{\"id\":1207}"[..]),
        ("product.updated", b"{\"id\":5}"),
    ] {
        let h = woo_headers(topic, body);
        let delivery = format.parse(&WebhookRequest { headers: &h, body }).expect("parses");
        assert_eq!(delivery.topic, WebhookTopic::Other(topic.into()));
        assert_eq!(delivery.order, None);
    }
    // Without the topic header, resource and event name it.
    let h = headers(&[("X-WC-Webhook-Resource", "order"), ("X-WC-Webhook-Event", "updated")]);
    let delivery = format
        .parse(&WebhookRequest {
            headers: &h,
            body: &body,
        })
        .expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderUpdated);
    let err = format
        .parse(&WebhookRequest {
            headers: &[],
            body: &body,
        })
        .expect_err("no topic");
    assert_eq!(err, WebhookError::bad("X-WC-Webhook-Topic", "missing"));
}

#[test]
fn woocommerce_ping_and_signatures() {
    let format = WooCommerceWebhooks::new();
    let ping = WebhookRequest {
        headers: &headers(&[("Content-Type", "application/x-www-form-urlencoded")]),
        body: b"webhook_id=15",
    };
    assert_eq!(
        format.verify(&ping, &secrets(&[WOO_SECRET])),
        Ok(Verified::UnsignedPing)
    );
    assert_eq!(
        format.parse(&ping).map(|d| d.topic),
        Ok(WebhookTopic::Other("ping".into()))
    );
    for body in [&b"webhook_id=15&topic=order.created"[..], b"{}", b"webhook_id=", b""] {
        let unsigned = WebhookRequest { headers: &[], body };
        assert_eq!(
            format.verify(&unsigned, &secrets(&[WOO_SECRET])),
            Err(WebhookError::Unauthorized("missing X-WC-Webhook-Signature".into())),
            "{body:?}"
        );
    }

    let body = woo_order().to_string().into_bytes();
    let h = woo_headers("order.created", &body);
    let request = WebhookRequest {
        headers: &h,
        body: &body,
    };
    assert_unauthorized(
        format.verify(&request, &secrets(&["wrong"])),
        "none of the store's secrets",
    );
    assert_eq!(
        format.verify(&request, &secrets(&["rotated-in", WOO_SECRET])),
        Ok(Verified::Signed)
    );
    let mut garbled = h.clone();
    for (name, value) in &mut garbled {
        if name == "x-wc-webhook-signature" {
            *value = "%%%".into();
        }
    }
    assert_unauthorized(
        format.verify(
            &WebhookRequest {
                headers: &garbled,
                body: &body,
            },
            &secrets(&[WOO_SECRET]),
        ),
        "X-WC-Webhook-Signature",
    );

    // WooCommerce signs with the entity-decoded secret.
    let h = headers(&[
        ("X-WC-Webhook-Topic", "order.created"),
        ("X-WC-Webhook-Signature", &sign_hmac_sha256_base64(b"s3cr&t<x>", &body)),
    ]);
    assert_eq!(
        format.verify(
            &WebhookRequest {
                headers: &h,
                body: &body,
            },
            &secrets(&["s3cr&amp;t&lt;x&gt;"]),
        ),
        Ok(Verified::Signed)
    );
}

#[test]
fn woocommerce_refuses_bad_payloads_naming_the_field() {
    let with = |change: &dyn Fn(&mut Value)| {
        let mut order = woo_order();
        change(&mut order);
        woocommerce::map_order(&order)
    };
    let cases: Vec<(&str, Change)> = vec![
        (
            "id",
            Box::new(|o| o.as_object_mut().map(|m| m.remove("id")).map(drop).unwrap_or(())),
        ),
        ("currency", Box::new(|o| o["currency"] = json!("US$"))),
        (
            "line_items[0].subtotal",
            Box::new(|o| o["line_items"][0]["subtotal"] = json!("forty-five")),
        ),
        (
            "line_items[1].subtotal",
            Box::new(|o| o["line_items"][1]["subtotal"] = json!("-5.98")),
        ),
        (
            "line_items[0].quantity",
            Box::new(|o| o["line_items"][0]["quantity"] = json!(0)),
        ),
        (
            "line_items[1].quantity",
            Box::new(|o| o["line_items"][1]["quantity"] = json!(-1)),
        ),
        (
            "line_items[0].product_id",
            Box::new(|o| o["line_items"][0]["product_id"] = json!(true)),
        ),
        ("line_items", Box::new(|o| o["line_items"] = json!("none"))),
        (
            "shipping_lines[0].total",
            Box::new(|o| o["shipping_lines"][0]["total"] = json!("1.2.3")),
        ),
        ("date_created_gmt", Box::new(|o| o["date_created_gmt"] = Value::Null)),
        (
            "date_created_gmt",
            Box::new(|o| o["date_created_gmt"] = json!("1st of February")),
        ),
        ("billing.email", Box::new(|o| o["billing"]["email"] = json!(["a@b"]))),
        ("shipping", Box::new(|o| o["shipping"] = json!(7))),
    ];
    for (field, change) in cases {
        assert_eq!(refused_field(with(&*change)), field);
    }
    // Without a subtotal the unit price is WooCommerce's own `price` (a JSON number).
    let mapped = with(&|o: &mut Value| {
        remove(&mut o["line_items"][1], "subtotal");
    })
    .expect("maps");
    assert_eq!(mapped.lines[1].unit_price, money(299, "USD"));
    let err = with(&|o: &mut Value| {
        remove(&mut o["line_items"][1], "subtotal");
        o["line_items"][1]["price"] = json!(3.3333333333333335);
    })
    .expect_err("too many decimals");
    assert!(
        matches!(err, WebhookError::BadPayload { ref field, .. } if field == "line_items[1].price"),
        "{err}"
    );
}

#[test]
fn woocommerce_processing_fixture() {
    let Some(dir) = fixtures_dir() else { return };
    let order = woocommerce::map_order(&fixture(&dir, "woocommerce/order_processing_usd_stripe.json")).expect("maps");
    let expected = IncomingOrder {
        external_id: "897".into(),
        number: "897".into(),
        customer: Customer {
            name: "Alex Example".into(),
            email: Some("customer1@example.com".into()),
            phone: Some("55501005550".into()),
        },
        shipping_address: Address {
            first_name: "Alex".into(),
            last_name: "Example".into(),
            company: None,
            address1: "31 Example Street".into(),
            address2: None,
            city: "Lagos".into(),
            region: Some("TX".into()),
            postal_code: "23401".into(),
            country_code: "US".into(),
            phone: None,
        },
        lines: vec![IncomingLine {
            platform_product_id: Some("753".into()),
            platform_variant_id: Some("753".into()),
            ..line(
                "58",
                "",
                "Rhapsody of Realities- A Topical Compendium volume 5",
                1,
                money(1499, "USD"),
            )
        }],
        currency: Currency::parse("USD").expect("USD"),
        shipping_total: money(1345, "USD"),
        payment: PaymentState::Paid,
        placed_at: datetime!(2021-09-06 18:05:09 UTC),
        test: false,
        cancelled_at: None,
        source_updated_at: Some(datetime!(2021-09-06 18:05:12 UTC)),
        charged_total: Some(money(2844, "USD")),
        discount_total: Some(money(0, "USD")),
        tax_total: Some(money(0, "USD")),
        shipping_method: Some("Flat rate".into()),
    };
    assert_eq!(order, expected);
}

#[test]
fn woocommerce_virtual_fixture_falls_back_to_billing() {
    let Some(dir) = fixtures_dir() else { return };
    let order = woocommerce::map_order(&fixture(
        &dir,
        "woocommerce/order_completed_cad_virtual_no_shipping.json",
    ))
    .expect("maps");
    let expected = IncomingOrder {
        external_id: "14489".into(),
        number: "14489".into(),
        customer: Customer {
            name: "Alex Example".into(),
            email: Some("customer1@example.com".into()),
            phone: Some("+2355501005550".into()),
        },
        shipping_address: Address {
            first_name: "Alex".into(),
            last_name: "Example".into(),
            company: Some("Example Company".into()),
            address1: "16 Example Street".into(),
            address2: None,
            city: "Toronto".into(),
            region: Some("NB".into()),
            postal_code: "M4C 2Z8".into(),
            country_code: "CA".into(),
            phone: Some("+2355501005550".into()),
        },
        lines: vec![IncomingLine {
            requires_shipping: false,
            platform_product_id: Some("4154".into()),
            platform_variant_id: Some("4154".into()),
            ..line(
                "1523",
                "",
                "Saturday Night at Backroom Comedy Club",
                1,
                money(2435, "CAD"),
            )
        }],
        currency: Currency::parse("CAD").expect("CAD"),
        shipping_total: money(0, "CAD"),
        payment: PaymentState::Paid,
        placed_at: datetime!(2025-05-10 22:50:32 UTC),
        test: false,
        cancelled_at: None,
        source_updated_at: Some(datetime!(2025-05-10 22:51:48 UTC)),
        charged_total: Some(money(2435, "CAD")),
        discount_total: Some(money(0, "CAD")),
        tax_total: Some(money(0, "CAD")),
        shipping_method: None,
    };
    assert_eq!(order, expected);
}

#[test]
fn woocommerce_fixtures_round_trip_as_signed_deliveries() {
    let Some(dir) = fixtures_dir() else { return };
    let format = WooCommerceWebhooks::new();
    for name in [
        "woocommerce/order_processing_usd_stripe.json",
        "woocommerce/order_completed_cad_virtual_no_shipping.json",
    ] {
        let body = fixture_bytes(&dir, name);
        let h = woo_headers("order.updated", &body);
        let request = WebhookRequest {
            headers: &h,
            body: &body,
        };
        assert_eq!(
            format.verify(&request, &secrets(&[WOO_SECRET])),
            Ok(Verified::Signed),
            "{name}"
        );
        let delivery = format.parse(&request).expect(name);
        assert_eq!(delivery.topic, WebhookTopic::OrderUpdated, "{name}");
        assert_eq!(
            delivery.order,
            Some(woocommerce::map_order(&fixture(&dir, name)).expect(name))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Wix
// ---------------------------------------------------------------------------------------------

const KEY_A_PRIVATE: &str = include_str!("keys/test-only-key-a.private.pem");
const KEY_A_PUBLIC: &str = include_str!("keys/test-only-key-a.public.pem");
const KEY_B_PRIVATE: &str = include_str!("keys/test-only-key-b.private.pem");
const KEY_B_PUBLIC: &str = include_str!("keys/test-only-key-b.public.pem");

fn wix_now() -> OffsetDateTime {
    datetime!(2026-03-10 12:00 UTC)
}

fn wix_format() -> WixWebhooks {
    WixWebhooks::new().with_clock(wix_now)
}

/// An eCommerce order in the shape of Wix's `wix.ecom.v1.order`.
fn wix_order() -> Value {
    json!({
        "id": "a1b2c3d4-0000-4000-8000-000000000001",
        "number": "10042",
        "createdDate": "2026-03-05T10:15:30.123Z",
        "updatedDate": "2026-03-05T10:16:00Z",
        "currency": "EUR",
        "status": "APPROVED",
        "paymentStatus": "PAID",
        "fulfillmentStatus": "NOT_FULFILLED",
        "buyerInfo": {"contactId": "c-1", "email": "ada@example.com"},
        "billingInfo": {
            "address": {"country": "DE", "subdivision": "DE-BE", "city": "Berlin", "postalCode": "10115",
                        "addressLine1": "Invalidenstraße 1"},
            "contactDetails": {"firstName": "Ada", "lastName": "Lovelace", "phone": "+49 30 555010"}
        },
        "shippingInfo": {
            "title": "DHL Paket",
            "logistics": {"shippingDestination": {
                "address": {"country": "DE", "subdivision": "DE-BY", "city": "München", "postalCode": "80331",
                            "addressLine1": "Marienplatz 8", "addressLine2": "3. OG"},
                "contactDetails": {"firstName": "Grace", "lastName": "Hopper", "company": "Example GmbH",
                                   "phone": "+49 89 555020"}
            }},
            "cost": {"price": {"amount": "4.90"}}
        },
        "lineItems": [
            {"id": "00000000-0000-0000-0000-000000000001",
             "productName": {"original": "Spiral vase", "translated": "Spiralvase"},
             "catalogReference": {"catalogItemId": "prod-1", "appId": "215238eb-22a5-4c36-9e7b-e7c08025e04e",
                                  "options": {"variantId": "var-7"}},
             "quantity": 2,
             "price": {"amount": "25.00", "formattedAmount": "€25.00"},
             "physicalProperties": {"sku": "VASE-BLUE", "shippable": true},
             "itemType": {"preset": "PHYSICAL"},
             "descriptionLines": [
                 {"name": {"original": "Color"}, "colorInfo": {"original": "Blue", "code": "#0000ff"}},
                 {"name": {"original": "Size"}, "plainText": {"original": "Large"}}
             ]},
            {"id": "00000000-0000-0000-0000-000000000002",
             "productName": {"original": "Care guide (PDF)"},
             "catalogReference": {"catalogItemId": "prod-2"},
             "quantity": 1,
             "price": {"amount": "3.5"},
             "itemType": {"preset": "DIGITAL"}}
        ],
        "priceSummary": {"subtotal": {"amount": "53.50"}, "shipping": {"amount": "4.90"}, "tax": {"amount": "0"},
                         "discount": {"amount": "0"}, "total": {"amount": "58.40"}}
    })
}

fn wix_expected() -> IncomingOrder {
    IncomingOrder {
        external_id: "a1b2c3d4-0000-4000-8000-000000000001".into(),
        number: "10042".into(),
        customer: Customer {
            name: "Ada Lovelace".into(),
            email: Some("ada@example.com".into()),
            phone: Some("+49 30 555010".into()),
        },
        shipping_address: Address {
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            company: Some("Example GmbH".into()),
            address1: "Marienplatz 8".into(),
            address2: Some("3. OG".into()),
            city: "München".into(),
            region: Some("BY".into()),
            postal_code: "80331".into(),
            country_code: "DE".into(),
            phone: Some("+49 89 555020".into()),
        },
        lines: vec![
            IncomingLine {
                variant_title: Some("Blue / Large".into()),
                platform_product_id: Some("prod-1".into()),
                platform_variant_id: Some("var-7".into()),
                ..line(
                    "00000000-0000-0000-0000-000000000001",
                    "VASE-BLUE",
                    "Spiral vase",
                    2,
                    money(2500, "EUR"),
                )
            },
            IncomingLine {
                requires_shipping: false,
                platform_product_id: Some("prod-2".into()),
                ..line(
                    "00000000-0000-0000-0000-000000000002",
                    "",
                    "Care guide (PDF)",
                    1,
                    money(350, "EUR"),
                )
            },
        ],
        currency: Currency::parse("EUR").expect("EUR"),
        shipping_total: money(490, "EUR"),
        payment: PaymentState::Paid,
        placed_at: at("2026-03-05T10:15:30.123Z"),
        test: false,
        cancelled_at: None,
        source_updated_at: Some(at("2026-03-05T10:16:00Z")),
        charged_total: Some(money(5840, "EUR")),
        discount_total: Some(money(0, "EUR")),
        tax_total: Some(money(0, "EUR")),
        shipping_method: Some("DHL Paket".into()),
    }
}

fn wix_event(slug: &str, payload: Value) -> Value {
    let mut event = json!({
        "id": format!("evt-{slug}-1"),
        "entityFqdn": "wix.ecom.v1.order",
        "slug": slug,
        "entityId": "a1b2c3d4-0000-4000-8000-000000000001",
        "eventTime": "2026-03-10T11:59:00.5Z",
        "triggeredByAnonymizeRequest": false
    });
    if let (Some(event), Some(payload)) = (event.as_object_mut(), payload.as_object()) {
        event.extend(payload.clone());
    }
    event
}

fn wix_token(event_type: &str, event: &Value, exp: Option<i64>, private_key: &str) -> String {
    let outer = json!({"eventType": event_type, "instanceId": "6d3f7a2c-instance", "data": event.to_string()});
    let mut claims = json!({"data": outer.to_string(), "iat": wix_now().unix_timestamp() - 5});
    if let Some(exp) = exp {
        claims["exp"] = json!(exp);
    }
    let key = EncodingKey::from_rsa_pem(private_key.as_bytes()).expect("test key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signs")
}

fn wix_delivery(token: &str) -> Result<dropline_app::storefront::WebhookDelivery, WebhookError> {
    wix_format().parse(&WebhookRequest {
        headers: &headers(&[("Content-Type", "text/plain")]),
        body: token.as_bytes(),
    })
}

#[test]
fn wix_maps_an_ecommerce_order_field_by_field() {
    assert_eq!(wix::map_order(&wix_order()), Ok(wix_expected()));
    assert_eq!(
        wix::map_order_bytes(wix_order().to_string().as_bytes()),
        Ok(wix_expected())
    );
}

#[test]
fn wix_round_trip_with_a_signed_token() {
    let format = wix_format();
    let exp = wix_now().unix_timestamp() + 300;
    let event = wix_event("approved", json!({"actionEvent": {"body": {"order": wix_order()}}}));
    let token = wix_token("wix.ecom.v1.order_approved", &event, Some(exp), KEY_A_PRIVATE);
    let request = WebhookRequest {
        headers: &[],
        body: token.as_bytes(),
    };
    assert_eq!(format.verify(&request, &secrets(&[KEY_A_PUBLIC])), Ok(Verified::Signed));
    // Rotation: the right key second.
    assert_eq!(
        format.verify(&request, &secrets(&[KEY_B_PUBLIC, KEY_A_PUBLIC])),
        Ok(Verified::Signed)
    );
    // The key as an escaped one-line PEM, and as bare base64, both work.
    assert_eq!(
        format.verify(&request, &secrets(&[&KEY_A_PUBLIC.trim().replace('\n', "\\n")])),
        Ok(Verified::Signed)
    );
    let bare: String = KEY_A_PUBLIC.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(format.verify(&request, &secrets(&[&bare])), Ok(Verified::Signed));

    let delivery = format.parse(&request).expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderPaid);
    assert_eq!(delivery.delivery_id.as_deref(), Some("evt-approved-1"));
    assert_eq!(delivery.triggered_at, Some(at("2026-03-10T11:59:00.5Z")));
    assert_eq!(delivery.order, Some(wix_expected()));
}

#[test]
fn wix_event_types_and_where_the_order_sits() {
    let order = wix_order();
    let cases = [
        (
            "wix.ecom.v1.order_created",
            wix_event("created", json!({"createdEvent": {"entity": order}})),
            WebhookTopic::OrderCreated,
        ),
        (
            "wix.ecom.v1.order_created",
            wix_event("created", json!({"createdEvent": {"entityAsJson": order.to_string()}})),
            WebhookTopic::OrderCreated,
        ),
        (
            "wix.ecom.v1.order_updated",
            wix_event("updated", json!({"updatedEvent": {"currentEntity": order}})),
            WebhookTopic::OrderUpdated,
        ),
        (
            "wix.ecom.v1.order_updated",
            wix_event(
                "updated",
                json!({"updatedEvent": {"currentEntityAsJson": order.to_string()}}),
            ),
            WebhookTopic::OrderUpdated,
        ),
        (
            "wix.ecom.v1.order_payment_status_updated",
            wix_event(
                "payment_status_updated",
                json!({"actionEvent": {"bodyAsJson": json!({"order": order}).to_string()}}),
            ),
            WebhookTopic::OrderPaid,
        ),
    ];
    for (event_type, event, topic) in cases {
        let token = wix_token(event_type, &event, None, KEY_A_PRIVATE);
        let delivery = wix_delivery(&token).expect(event_type);
        assert_eq!(delivery.topic, topic, "{event_type}");
        assert_eq!(delivery.order, Some(wix_expected()), "{event_type}");
    }

    // Approved but not paid (an offline payment): an update, not a payment.
    let mut unpaid = wix_order();
    unpaid["paymentStatus"] = json!("NOT_PAID");
    let event = wix_event("approved", json!({"actionEvent": {"body": {"order": unpaid}}}));
    let delivery = wix_delivery(&wix_token("wix.ecom.v1.order_approved", &event, None, KEY_A_PRIVATE)).expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderUpdated);
    assert_eq!(delivery.order.map(|o| o.payment), Some(PaymentState::Pending));

    // Canceled: a cancellation dated by the order's last update.
    let mut canceled = wix_order();
    canceled["status"] = json!("CANCELED");
    canceled["updatedDate"] = json!("2026-03-06T08:00:00Z");
    let event = wix_event("canceled", json!({"actionEvent": {"body": {"order": canceled}}}));
    let delivery = wix_delivery(&wix_token("wix.ecom.v1.order_canceled", &event, None, KEY_A_PRIVATE)).expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderCancelled);
    assert_eq!(
        delivery.order.and_then(|o| o.cancelled_at),
        Some(datetime!(2026-03-06 08:00 UTC))
    );

    // A cancellation that names the order without carrying all of it: cancelled by its id.
    let event = wix_event(
        "canceled",
        json!({"actionEvent": {"body": {"order": {"id": "a1b2c3d4-0000-4000-8000-000000000001", "status": "CANCELED"}}}}),
    );
    let delivery = wix_delivery(&wix_token("wix.ecom.v1.order_canceled", &event, None, KEY_A_PRIVATE)).expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderCancelled);
    assert_eq!(delivery.order, None);
    assert_eq!(
        delivery.order_ref.as_deref(),
        Some("a1b2c3d4-0000-4000-8000-000000000001")
    );
    // A creation that lacks the order is still refused (only a cancellation can do with an id).
    let event = wix_event(
        "created",
        json!({"createdEvent": {"entity": {"id": "a1b2c3d4-0000-4000-8000-000000000001"}}}),
    );
    assert!(wix_delivery(&wix_token("wix.ecom.v1.order_created", &event, None, KEY_A_PRIVATE)).is_err());

    // Other events: only their id and time are read.
    let event = json!({"id": "evt-p-1", "eventTime": "2026-03-10T10:00:00Z", "entityFqdn": "wix.stores.v3.product",
                       "createdEvent": {"entity": {"id": "p-1", "lineItems": "not an order"}}});
    let delivery =
        wix_delivery(&wix_token("wix.stores.v3.product_created", &event, None, KEY_A_PRIVATE)).expect("parses");
    assert_eq!(
        delivery.topic,
        WebhookTopic::Other("wix.stores.v3.product_created".into())
    );
    assert_eq!(delivery.delivery_id.as_deref(), Some("evt-p-1"));
    assert_eq!(delivery.order, None);

    // An order event without an order is refused.
    let event = wix_event("created", json!({}));
    let err = wix_delivery(&wix_token("wix.ecom.v1.order_created", &event, None, KEY_A_PRIVATE)).expect_err("no order");
    assert!(
        matches!(err, WebhookError::BadPayload { ref field, .. } if field == "data.data"),
        "{err}"
    );
}

#[test]
fn wix_refuses_wrong_keys_expired_and_forged_tokens() {
    let format = wix_format();
    let event = wix_event("approved", json!({"actionEvent": {"body": {"order": wix_order()}}}));
    let now = wix_now().unix_timestamp();
    let token = wix_token("wix.ecom.v1.order_approved", &event, Some(now + 60), KEY_A_PRIVATE);
    let verify = |token: &str, keys: &[&str]| {
        format.verify(
            &WebhookRequest {
                headers: &[],
                body: token.as_bytes(),
            },
            &secrets(keys),
        )
    };
    assert_unauthorized(
        verify(&token, &[KEY_B_PUBLIC]),
        "matches none of the store's public keys",
    );
    assert_unauthorized(verify(&token, &["not a key"]), "no usable Wix public key");
    assert_unauthorized(verify(&token, &[]), "no usable Wix public key");
    // A private key is not a public key, but the right public key beside it still works.
    assert_eq!(verify(&token, &[KEY_A_PRIVATE, KEY_A_PUBLIC]), Ok(Verified::Signed));

    // Expired: more than a minute past `exp` is stale; within the minute passes.
    let expired = wix_token("wix.ecom.v1.order_approved", &event, Some(now - 120), KEY_A_PRIVATE);
    assert_eq!(
        verify(&expired, &[KEY_A_PUBLIC]),
        Err(WebhookError::Unauthorized("stale".into()))
    );
    let just = wix_token("wix.ecom.v1.order_approved", &event, Some(now - 30), KEY_A_PRIVATE);
    assert_eq!(verify(&just, &[KEY_A_PUBLIC]), Ok(Verified::Signed));

    // Signed with the other key.
    let forged = wix_token("wix.ecom.v1.order_approved", &event, None, KEY_B_PRIVATE);
    assert_unauthorized(verify(&forged, &[KEY_A_PUBLIC]), "matches none");

    // The payload changed under the old signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut other_event = event.clone();
    other_event["actionEvent"]["body"]["order"]["lineItems"][0]["quantity"] = json!(200);
    let other = wix_token(
        "wix.ecom.v1.order_approved",
        &other_event,
        Some(now + 60),
        KEY_A_PRIVATE,
    );
    let other_payload = other.split('.').nth(1).expect("payload");
    let tampered = format!("{}.{}.{}", parts[0], other_payload, parts[2]);
    assert_unauthorized(verify(&tampered, &[KEY_A_PUBLIC]), "matches none");

    // HS256 keyed with the public key's text (the algorithm-confusion forgery).
    let claims = json!({"data": "{}", "exp": now + 60});
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(KEY_A_PUBLIC.as_bytes()),
    )
    .expect("signs");
    assert_unauthorized(verify(&confused, &[KEY_A_PUBLIC]), "not RS256");

    // Not a JWT at all.
    for body in ["{\"data\":\"x\"}", "", "a.b", "eyJhbGciOiJSUzI1NiJ9.e30", "x.y.z"] {
        assert_unauthorized(verify(body, &[KEY_A_PUBLIC]), "not a JWT");
    }
}

#[test]
fn wix_refuses_bad_payloads_naming_the_field() {
    let with = |change: &dyn Fn(&mut Value)| {
        let mut order = wix_order();
        change(&mut order);
        wix::map_order(&order)
    };
    let cases: Vec<(&str, Change)> = vec![
        ("id", Box::new(|o| o["id"] = Value::Null)),
        ("currency", Box::new(|o| o["currency"] = json!("EURO"))),
        (
            "lineItems[0].price.amount",
            Box::new(|o| o["lineItems"][0]["price"]["amount"] = json!("25,00")),
        ),
        (
            "lineItems[1].price.amount",
            Box::new(|o| o["lineItems"][1]["price"]["amount"] = json!("3.555")),
        ),
        (
            "lineItems[0].price",
            Box::new(|o| o["lineItems"][0]["price"] = json!(true)),
        ),
        (
            "lineItems[0].price",
            Box::new(|o| o["lineItems"][0]["price"] = Value::Null),
        ),
        (
            "lineItems[0].quantity",
            Box::new(|o| o["lineItems"][0]["quantity"] = json!(0)),
        ),
        (
            "lineItems[1].quantity",
            Box::new(|o| o["lineItems"][1]["quantity"] = json!(-2)),
        ),
        (
            "lineItems[0].physicalProperties.shippable",
            Box::new(|o| o["lineItems"][0]["physicalProperties"]["shippable"] = json!("yes")),
        ),
        ("lineItems", Box::new(|o| o["lineItems"] = json!([]))),
        ("createdDate", Box::new(|o| o["createdDate"] = json!("March 5th"))),
        (
            "createdDate",
            Box::new(|o| {
                o.as_object_mut()
                    .map(|m| m.remove("createdDate"))
                    .map(drop)
                    .unwrap_or(())
            }),
        ),
        (
            "shippingInfo.logistics.shippingDestination.address.country",
            Box::new(|o| o["shippingInfo"]["logistics"]["shippingDestination"]["address"]["country"] = json!("XYZ")),
        ),
        (
            "priceSummary.total.amount",
            Box::new(|o| o["priceSummary"]["total"]["amount"] = json!("lots")),
        ),
    ];
    for (field, change) in cases {
        assert_eq!(refused_field(with(&*change)), field);
    }

    // Inside a webhook the path starts at where the order sits.
    let mut bad = wix_order();
    bad["lineItems"][0]["price"]["amount"] = json!("abc");
    let event = wix_event("approved", json!({"actionEvent": {"body": {"order": bad}}}));
    let err =
        wix_delivery(&wix_token("wix.ecom.v1.order_approved", &event, None, KEY_A_PRIVATE)).expect_err("bad price");
    assert!(
        matches!(err, WebhookError::BadPayload { ref field, .. } if field == "actionEvent.body.order.lineItems[0].price.amount"),
        "{err}"
    );

    // The nesting itself: `data` must be JSON text at both levels.
    let key = EncodingKey::from_rsa_pem(KEY_A_PRIVATE.as_bytes()).expect("key");
    let sign = |claims: Value| jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signs");
    for (claims, field) in [
        (json!({"data": {"eventType": "x"}}), "data"),
        (json!({"iat": 1}), "data"),
        (json!({"data": "not json"}), "data"),
        (
            json!({"data": json!({"eventType": "wix.ecom.v1.order_created"}).to_string()}),
            "data.data",
        ),
        (json!({"data": json!({"data": "{}"}).to_string()}), "data.eventType"),
        (
            json!({"data": json!({"eventType": "wix.ecom.v1.order_created", "data": "[1]"}).to_string()}),
            "data.data",
        ),
    ] {
        let err = wix_delivery(&sign(claims.clone())).expect_err("refused");
        assert!(
            matches!(err, WebhookError::BadPayload { field: ref f, .. } if f == field),
            "{claims}: {err}"
        );
    }
}

#[test]
fn wix_stores_order_fixture() {
    let Some(dir) = fixtures_dir() else { return };
    let order = wix::map_order(&fixture(&dir, "wix/stores_order_paid_event_ils.json")).expect("maps");
    let expected = IncomingOrder {
        external_id: "d5d43d01-d9a4-4cc2-b257-61184b881447".into(),
        number: "10019".into(),
        customer: Customer {
            name: "Jane Doe".into(),
            email: Some("janedoe@gmail.com".into()),
            phone: Some("+15555555555".into()),
        },
        shipping_address: Address {
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            company: Some("company name".into()),
            address1: "235 W 23rd St".into(),
            address2: None,
            city: "New York".into(),
            region: Some("NY".into()),
            postal_code: "10011".into(),
            country_code: "US".into(),
            phone: Some("5555555555".into()),
        },
        lines: vec![IncomingLine {
            variant_title: Some("Medium".into()),
            platform_product_id: Some("3fb6a3c8-988b-8755-04bd-5c59ae0b18ea".into()),
            ..line("1", "36523641234523", "my product's name", 1, money(500, "ILS"))
        }],
        currency: Currency::parse("ILS").expect("ILS"),
        shipping_total: money(0, "ILS"),
        payment: PaymentState::Paid,
        placed_at: at("2020-05-27T12:20:37.966Z"),
        test: false,
        cancelled_at: None,
        source_updated_at: Some(at("2020-05-27T12:20:37.994Z")),
        charged_total: Some(money(500, "ILS")),
        discount_total: Some(money(0, "ILS")),
        tax_total: Some(money(0, "ILS")),
        shipping_method: Some("Free Shipping".into()),
    };
    assert_eq!(order, expected);

    // An unknown alpha-3 country is refused naming it.
    let mut bad = fixture(&dir, "wix/stores_order_paid_event_ils.json");
    bad["shippingInfo"]["shipmentDetails"]["address"]["country"] = json!("XXX");
    assert_eq!(
        refused_field(wix::map_order(&bad)),
        "shippingInfo.shipmentDetails.address.country"
    );
    // Stores prices are JSON numbers, read exactly through their text.
    bad = fixture(&dir, "wix/stores_order_paid_event_ils.json");
    bad["lineItems"][0]["price"] = json!(19.99);
    assert_eq!(
        wix::map_order(&bad).map(|o| o.lines[0].unit_price),
        Ok(money(1999, "ILS"))
    );
    bad["lineItems"][0]["price"] = json!(0.105);
    assert_eq!(refused_field(wix::map_order(&bad)), "lineItems[0].price");
}

#[test]
fn wix_stores_fixture_round_trips_in_a_signed_token() {
    let Some(dir) = fixtures_dir() else { return };
    let order = fixture(&dir, "wix/stores_order_paid_event_ils.json");
    let event = wix_event("updated", json!({"updatedEvent": {"currentEntity": order}}));
    let token = wix_token(
        "wix.ecom.v1.order_updated",
        &event,
        Some(wix_now().unix_timestamp() + 60),
        KEY_A_PRIVATE,
    );
    let request = WebhookRequest {
        headers: &[],
        body: token.as_bytes(),
    };
    assert_eq!(
        wix_format().verify(&request, &secrets(&[KEY_A_PUBLIC])),
        Ok(Verified::Signed)
    );
    let delivery = wix_format().parse(&request).expect("parses");
    assert_eq!(delivery.topic, WebhookTopic::OrderUpdated);
    assert_eq!(delivery.order, Some(wix::map_order(&order).expect("maps")));
}
