//! An order's discount and taxes, as the API takes them and the ledger shows them: a
//! `discount` lowers the revenue, `tax_collected` is recorded and is no revenue; the
//! supplier's cost is split into the goods and its shipping. Bad amounts are refused by
//! field and write nothing.

use crate::id_of;
use dropline_testkit::{TestApp, data};
use serde_json::json;

/// The amount of the ledger's one entry of `kind`, as the API shows it.
fn entry_of(ledger: &serde_json::Value, kind: &str) -> Option<serde_json::Value> {
    let found: Vec<_> = ledger["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect();
    assert!(found.len() <= 1, "one {kind} entry at most: {ledger}");
    found.first().map(|e| e["amount"].clone())
}

async fn an_orders_discount_and_tax_are_in_its_ledger(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let mut body = seeded.order(&seeded.next_external_id());
    body["discount_total"] = data::usd("7.00");
    body["tax_total"] = data::usd("4.80");
    let order = api.post_order(&body).await.expect(201);
    assert_eq!(order["discount_total"], data::usd("7.00"));
    assert_eq!(order["tax_total"], data::usd("4.80"));
    let id = id_of(&order);

    let ledger = api.get(&format!("/api/v1/orders/{id}/ledger")).await.expect(200);
    assert_eq!(entry_of(&ledger, "discount"), Some(data::usd("7.00")));
    assert_eq!(entry_of(&ledger, "tax_collected"), Some(data::usd("4.80")));
    // 2 × 49.99 + 5.00 shipping − 7.00 discount; the tax is not revenue.
    assert_eq!(ledger["revenue"], data::usd("97.98"));

    // Routed and charged 29.50 by the supplier: its cost is the goods and its shipping,
    // adding up to what it charged.
    api.accept(&id).await.expect(200);
    app.run_pending_jobs().await;
    let so = id_of(&api.get_order(&id).await.expect(200)["supplier_orders"][0]);
    api.record_reference(
        &so,
        &json!({"supplier_reference": "AE-7", "actual_cost": data::usd("29.50")}),
    )
    .await
    .expect(200);
    let ledger = api.get(&format!("/api/v1/orders/{id}/ledger")).await.expect(200);
    let minor = |value: Option<serde_json::Value>| {
        value.map_or(0, |v| {
            let text = v["amount"].as_str().expect("an amount").replace('.', "");
            text.parse::<i64>().expect("minor units")
        })
    };
    let goods = minor(entry_of(&ledger, "supplier_cost"));
    let shipping = minor(entry_of(&ledger, "supplier_shipping"));
    assert!(goods > 0, "{ledger}");
    assert_eq!(goods + shipping, 2_950, "{ledger}");
    assert_eq!(ledger["revenue"], data::usd("97.98"));
}

async fn bad_discounts_and_taxes_are_refused_by_field(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let before = app.snapshot().await;
    for (field, value, refused) in [
        ("discount_total", data::usd("-1.00"), "discount_total"),
        ("tax_total", data::usd("-0.01"), "tax_total"),
        (
            "discount_total",
            json!({"amount": "1.00", "currency": "EUR"}),
            "discount_total.currency",
        ),
        (
            "tax_total",
            json!({"amount": "1.00", "currency": "EUR"}),
            "tax_total.currency",
        ),
        ("tax_total", json!("4.80"), "tax_total"),
    ] {
        let mut body = seeded.order(&seeded.next_external_id());
        body[field] = value;
        let answer = api.post_order(&body).await;
        answer.expect_error(422, "invalid_input");
        assert_eq!(answer.refused_fields(), [refused], "{field}");
    }
    assert_eq!(before, app.snapshot().await);
}

backend_tests!(
    an_orders_discount_and_tax_are_in_its_ledger,
    bad_discounts_and_taxes_are_refused_by_field,
);
