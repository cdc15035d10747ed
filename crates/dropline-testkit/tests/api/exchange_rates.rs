//! Supplier costs in another currency: the operator's exchange-rate table, the rate a
//! supplier order records (from the table, or the one the seller was charged at), and the
//! order's ledger converting the cost with it.

use crate::id_of;
use dropline_testkit::{Api, TestApp, data};
use serde_json::{Value, json};

fn eur(amount: &str) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

/// The ledger's converted entries: kind, amount, and what was charged at which rate.
fn converted(ledger: &Value) -> Vec<(String, Value, Value)> {
    ledger["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| !e["converted_from"].is_null())
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["amount"].clone(),
                e["converted_from"].clone(),
            )
        })
        .collect()
}

fn usd_at(amount: &str, rate: &str) -> Value {
    json!({"amount": {"amount": amount, "currency": "USD"}, "rate": rate})
}

/// Posts, accepts and routes an order of two EU-1 at 49.99 EUR: its id and its supplier order's.
async fn routed(app: &TestApp, api: &Api<'_>, store_id: &str, external: &str) -> (String, String) {
    let mut order = data::order(store_id, external, &[("EU-1", 2)]);
    order["lines"][0]["unit_price"] = eur("49.99");
    order["shipping_total"] = eur("5.00");
    let order_id = id_of(&api.post_order(&order).await.expect(201));
    api.accept(&order_id).await.expect(200);
    app.run_pending_jobs().await;
    let order = api.get_order(&order_id).await.expect(200);
    assert_eq!(order["state"], "in_fulfillment", "{order}");
    (order_id, id_of(&order["supplier_orders"][0]))
}

backend_tests!(
    a_cost_in_dollars_enters_a_euro_ledger_at_the_rate_recorded,
    only_the_operator_sets_sound_rates
);

async fn a_cost_in_dollars_enters_a_euro_ledger_at_the_rate_recorded(app: TestApp) {
    let admin = app.admin();
    // A store in euros, its supplier charging in dollars (12.00 USD a unit, 3.00 shipping).
    let mut store = data::store("Euro store");
    store["currency"] = json!("EUR");
    let created = admin.create_store(&store).await.expect(201);
    let store_id = id_of(&created);
    let api = app.with_token(created["api_token"].as_str().expect("a token"));
    let supplier = admin
        .create_supplier(&data::manual_supplier(&store_id))
        .await
        .expect(201);
    let mut product = data::product(&store_id, &["EU-1"], "49.99");
    product["variants"][0]["price"] = eur("49.99");
    let product = admin.create_product(&product).await.expect(201);
    let variant_id = id_of(&product["variants"][0]);
    admin
        .add_offer(&data::offer(
            &variant_id,
            &id_of(&supplier),
            "https://supplier.example/eu-1",
            Some(100),
        ))
        .await
        .expect(201);
    // Before any rate: the supplier order says its cost is left out, and the ledger has none.
    let (unrated_order, unrated_so) = routed(&app, &api, &store_id, "eu-1").await;
    let so = api.get_supplier_order(&unrated_so).await.expect(200);
    assert_eq!(
        (so["cost_rate"].clone(), so["cost_in_ledger"].clone()),
        (Value::Null, json!(false))
    );
    let ledger = api
        .get(&format!("/api/v1/orders/{unrated_order}/ledger"))
        .await
        .expect(200);
    assert!(
        !ledger["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["kind"] == "supplier_cost"),
        "{ledger}"
    );

    // The operator sets USD→EUR; every token reads the table.
    let set = admin
        .put(
            "/api/v1/exchange-rates",
            &json!({"from": "USD", "to": "EUR", "rate": "0.92", "effective_on": "2000-01-01"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (set["rate"].as_str(), set["effective_on"].as_str()),
        (Some("0.92"), Some("2000-01-01"))
    );
    let table = api.get("/api/v1/exchange-rates").await.expect(200);
    assert_eq!(table["rates"].as_array().map(Vec::len), Some(1), "{table}");

    // Routed now: the expected 30.00 USD is converted at 0.92.
    let (order_id, so_id) = routed(&app, &api, &store_id, "eu-2").await;
    let so = api.get_supplier_order(&so_id).await.expect(200);
    assert_eq!(so["expected_cost"], json!({"amount": "30.00", "currency": "USD"}));
    assert_eq!(so["cost_rate"]["rate"], "0.92", "{so}");
    assert_eq!(so["cost_in_ledger"], true);
    // Ordered by hand at 29.50 USD: re-converted at the rate in effect.
    let so = api
        .record_reference(
            &so_id,
            &json!({"supplier_reference": "US-1", "actual_cost": data::usd("29.50")}),
        )
        .await
        .expect(200);
    assert_eq!(
        (so["cost_rate"]["rate"].as_str(), so["cost_rate"]["charged"].as_bool()),
        (Some("0.92"), Some(false))
    );
    api.add_shipment(&so_id, &json!({"carrier": "UPS", "tracking_number": "1ZEUR0001"}))
        .await
        .expect(201);
    api.mark_delivered(&so_id, &json!({})).await.expect(200);
    // A later rate changes nothing recorded.
    admin
        .put(
            "/api/v1/exchange-rates",
            &json!({"from": "USD", "to": "EUR", "rate": "0.5", "effective_on": "2000-01-02"}),
        )
        .await
        .expect(200);
    let ledger = api.get(&format!("/api/v1/orders/{order_id}/ledger")).await.expect(200);
    // The goods (2 × 12.00 USD) and the supplier's shipping (the rest, 5.50 USD), each
    // converted at 0.92 and showing what was charged.
    assert_eq!(
        converted(&ledger),
        [
            ("supplier_cost".to_string(), eur("22.08"), usd_at("24.00", "0.92")),
            ("supplier_shipping".to_string(), eur("5.06"), usd_at("5.50", "0.92")),
        ]
    );
    assert_eq!(ledger["costs"]["currency"], "EUR");

    // The rate the seller was charged at wins over the table (0.5 now).
    let (charged_order, charged_so) = routed(&app, &api, &store_id, "eu-3").await;
    let so = api.get_supplier_order(&charged_so).await.expect(200);
    assert_eq!(so["cost_rate"]["rate"], "0.5");
    let so = api
        .record_reference(
            &charged_so,
            &json!({"supplier_reference": "US-2", "actual_cost": data::usd("29.50"), "rate": "0.93"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (so["cost_rate"]["rate"].as_str(), so["cost_rate"]["charged"].as_bool()),
        (Some("0.93"), Some(true))
    );
    let ledger = api
        .get(&format!("/api/v1/orders/{charged_order}/ledger"))
        .await
        .expect(200);
    // 5.50 × 0.93 = 5.115 → 5.12 EUR, half away from zero.
    assert_eq!(
        converted(&ledger),
        [
            ("supplier_cost".to_string(), eur("22.32"), usd_at("24.00", "0.93")),
            ("supplier_shipping".to_string(), eur("5.12"), usd_at("5.50", "0.93")),
        ]
    );
}

async fn only_the_operator_sets_sound_rates(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let admin = app.admin();
    let good = json!({"from": "USD", "to": "EUR", "rate": "0.92", "effective_on": "2026-12-01"});
    api.put("/api/v1/exchange-rates", &good)
        .await
        .expect_error(403, "forbidden");
    for (body, field) in [
        (
            json!({"from": "USD", "to": "EUR", "rate": "0", "effective_on": "2026-12-01"}),
            "rate",
        ),
        (
            json!({"from": "USD", "to": "EUR", "rate": "-0.5", "effective_on": "2026-12-01"}),
            "rate",
        ),
        (
            json!({"from": "USD", "to": "EUR", "rate": "5000000", "effective_on": "2026-12-01"}),
            "rate",
        ),
        (
            json!({"from": "USD", "to": "EUR", "rate": 0.92, "effective_on": "2026-12-01"}),
            "rate",
        ),
        (
            json!({"from": "USD", "to": "USD", "rate": "1", "effective_on": "2026-12-01"}),
            "to",
        ),
        (
            json!({"from": "USD", "to": "EUR", "rate": "0.92", "effective_on": "2026-13-01"}),
            "effective_on",
        ),
        (
            json!({"from": "XX", "to": "EUR", "rate": "0.92", "effective_on": "2026-12-01"}),
            "from",
        ),
    ] {
        let refused = admin.put("/api/v1/exchange-rates", &body).await;
        refused.expect_error(422, "invalid_input");
        assert_eq!(refused.refused_fields(), [field], "{body}");
    }
    let table = admin.get("/api/v1/exchange-rates").await.expect(200);
    assert_eq!(table["rates"], json!([]), "nothing was written");
    admin.put("/api/v1/exchange-rates", &good).await.expect(200);

    // A charged rate needs an actual cost in another currency, and a sound value.
    let order_id = id_of(&api.post_order(&seeded.order("rate-1")).await.expect(201));
    api.accept(&order_id).await.expect(200);
    app.run_pending_jobs().await;
    let order = api.get_order(&order_id).await.expect(200);
    let so_id = id_of(&order["supplier_orders"][0]);
    for body in [
        json!({"supplier_reference": "X-1", "actual_cost": data::usd("29.50"), "rate": "0"}),
        json!({"supplier_reference": "X-1", "actual_cost": data::usd("29.50"), "rate": "0.92"}),
    ] {
        let refused = api.record_reference(&so_id, &body).await;
        refused.expect_error(422, "invalid_input");
        assert_eq!(refused.refused_fields(), ["rate"], "{body}");
    }
    let so = api.get_supplier_order(&so_id).await.expect(200);
    assert_eq!(so["supplier_reference"], Value::Null, "nothing was written");
}
