//! AliExpress: placement and following, and the fault matrix. AliExpress cannot be asked for
//! an order by key; a resend under the same `out_order_id` within 24 hours names the order
//! already made, so every fault still ends in exactly one AliExpress order per order.

use crate::support::{POLL_HORIZON, accepted_order, order, settle, supplier_orders};
use dropline_sim::{AeFault, AliExpressSim};
use dropline_testkit::TestApp;
use dropline_testkit::data::{self, unique, usd};
use serde_json::{Value, json};
use std::time::Duration;

backend_tests!(
    an_order_is_placed_at_aliexpress_once_and_followed,
    every_fault_at_every_aliexpress_step_places_each_order_exactly_once,
    a_sku_gone_at_aliexpress_holds_before_anything_is_sent,
    an_address_aliexpress_refuses_is_held_for_the_seller,
);

struct AeStore {
    store_id: String,
    skus: Vec<String>,
    sku_ids: Vec<String>,
}

impl AeStore {
    fn order(&self) -> Value {
        data::order(
            &self.store_id,
            &format!("ext-{}", unique()),
            &[(self.skus[0].as_str(), 1)],
        )
    }
}

async fn ae_store(app: &TestApp, sim: &AliExpressSim) -> AeStore {
    let admin = app.admin();
    let n = unique();
    let store = admin
        .create_store(&data::store(&format!("AE store {n}")))
        .await
        .expect(201);
    let store_id = store["id"].as_str().unwrap().to_string();
    let supplier = admin
        .create_supplier(&json!({
            "store_id": store_id,
            "name": "AliExpress",
            "kind": "aliexpress",
            "ships_from": "CN",
            "connection": {
                "api_base": sim.base_url(),
                "api_key": sim.app_key(),
                "api_secret": sim.app_secret(),
                "access_token": sim.access_token(),
                "refresh_token": sim.refresh_token(),
            },
        }))
        .await
        .expect(201);
    let supplier_id = supplier["id"].as_str().unwrap();
    let product = sim.products().into_iter().next().expect("a product");
    let skus_at_ae: Vec<_> = product.skus.iter().take(2).cloned().collect();
    let skus: Vec<String> = skus_at_ae.iter().map(|s| format!("AE-{n}-{}", s.sku_id)).collect();
    let sku_refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    let created = admin
        .create_product(&data::product(&store_id, &sku_refs, "39.99"))
        .await
        .expect(201);
    for (i, sku) in skus_at_ae.iter().enumerate() {
        let cost = format!("{}.{:02}", sku.price_cents / 100, sku.price_cents % 100);
        admin
            .add_offer(&json!({
                "variant_id": created["variants"][i]["id"],
                "supplier_id": supplier_id,
                "supplier_sku": sku.sku_attr,
                "supplier_product_id": product.product_id,
                "supplier_variant_id": sku.sku_id,
                "product_url": format!("https://www.aliexpress.com/item/{}.html", product.product_id),
                "unit_cost": usd(&cost),
                "shipping": [{ "country": "*", "name": "CAINIAO_STANDARD", "cost": usd("25.00"), "min_days": 10, "max_days": 20 }],
                "priority": "primary",
            }))
            .await
            .expect(201);
    }
    AeStore {
        store_id,
        skus,
        sku_ids: skus_at_ae.iter().map(|s| s.sku_id.clone()).collect(),
    }
}

async fn an_order_is_placed_at_aliexpress_once_and_followed(app: TestApp) {
    let sim = AliExpressSim::start(41).await.unwrap();
    let store = ae_store(&app, &sim).await;
    // Typed with spaces, as customers do: AliExpress takes the calling code apart, digits only.
    let mut body = store.order();
    body["shipping_address"]["phone"] = json!("+1 217 555 0142");
    let order_id = accepted_order(&app, &body).await;
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["request_status"], "accepted", "{so:#}");
    let key = so["placement"]["idempotency_key"].as_str().unwrap();
    let at_ae = sim.orders();
    assert_eq!(at_ae.len(), 1);
    assert_eq!(at_ae[0].out_order_id.as_deref(), Some(key));
    assert_eq!(so["supplier_reference"], at_ae[0].order_id.as_str());
    assert_eq!(at_ae[0].country, "US");
    assert_eq!(at_ae[0].lines[0].sku_id, store.sku_ids[0]);
    assert_eq!(
        so["actual_cost"]["amount"],
        format!("{}.{:02}", at_ae[0].total_cents() / 100, at_ae[0].total_cents() % 100),
        "AliExpress's amount recorded to the cent"
    );

    sim.advance_days(5);
    app.run_jobs_ahead(POLL_HORIZON).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    let tracking = sim.orders()[0].tracking_number.clone().expect("shipped");
    assert_eq!(so["shipments"][0]["tracking_number"], tracking.as_str(), "{so:#}");
    assert_eq!(order(&app, &order_id).await["state"], "shipped");
    assert_eq!(sim.orders().len(), 1);
}

async fn a_sku_gone_at_aliexpress_holds_before_anything_is_sent(app: TestApp) {
    let sim = AliExpressSim::start(42).await.unwrap();
    let store = ae_store(&app, &sim).await;
    sim.remove_sku(&store.sku_ids[0]);
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "on_hold", "{so:#}");
    assert_eq!(so["placement"]["holds"][0]["code"], "sku_missing_at_supplier");
    assert_eq!(sim.calls("aliexpress.ds.order.create"), 0);
}

async fn an_address_aliexpress_refuses_is_held_for_the_seller(app: TestApp) {
    let sim = AliExpressSim::start(45).await.unwrap();
    let store = ae_store(&app, &sim).await;
    sim.reject_next_create("B_DROPSHIPPER_DELIVERY_ADDRESS_VALIDATE_FAIL");
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "on_hold", "another supplier would refuse it too: {so:#}");
    assert_eq!(so["placement"]["holds"][0]["code"], "address_refused");
    assert_eq!(so["placement"]["holds"][0]["fix"], "edit_address");
    assert!(sim.orders().is_empty());
}

async fn every_fault_at_every_aliexpress_step_places_each_order_exactly_once(app: TestApp) {
    let sim = AliExpressSim::start(43).await.unwrap();
    let store = ae_store(&app, &sim).await;
    let steps = [
        "aliexpress.ds.product.get",
        "aliexpress.ds.freight.query",
        "aliexpress.ds.order.create",
        "aliexpress.trade.ds.order.get",
    ];
    let faults = [
        ("500", AeFault::ServerError),
        ("429", AeFault::RateLimited { retry_after_secs: 1 }),
        ("throttled", AeFault::Throttled { ban_secs: 1 }),
        ("not json", AeFault::NotJson),
        ("malformed", AeFault::Malformed),
        ("timeout", AeFault::Delay(Duration::from_millis(900))),
        ("lost answer", AeFault::LoseAnswer),
    ];
    let mut cases = Vec::new();
    for step in steps {
        for (name, fault) in &faults {
            cases.push((format!("{name} at {step}"), vec![(step, fault.clone(), 1)]));
        }
    }
    cases.push((
        "lost creation twice, then a time-out".into(),
        vec![
            (steps[2], AeFault::LoseAnswer, 2),
            (steps[2], AeFault::Delay(Duration::from_millis(900)), 1),
        ],
    ));
    for (case, faults) in &cases {
        for (step, fault, times) in faults {
            sim.inject(Some(step), fault.clone(), *times);
        }
        let order_id = accepted_order(&app, &store.order()).await;
        settle(&app).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        settle(&app).await;
        assert_eq!(sim.pending_faults(), 0, "{case}: every fault was met");
        let sos = supplier_orders(&app, &order_id).await;
        assert_eq!(sos.len(), 1, "{case}: {sos:#?}");
        let so = &sos[0];
        assert_eq!(so["request_status"], "accepted", "{case}: {so:#}");
        let key = so["placement"]["idempotency_key"].as_str().unwrap();
        let at_ae: Vec<_> = sim
            .orders()
            .into_iter()
            .filter(|o| o.out_order_id.as_deref() == Some(key))
            .collect();
        assert_eq!(
            at_ae.len(),
            1,
            "{case}: AliExpress holds {} orders under {key}",
            at_ae.len()
        );
        assert_eq!(so["supplier_reference"], at_ae[0].order_id.as_str(), "{case}");
    }
    assert_eq!(
        sim.orders().len(),
        cases.len(),
        "one AliExpress order per order, no more"
    );
}

#[tokio::test]
async fn an_unconfirmed_order_is_never_resent_after_the_window_on_sqlite() {
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let app = TestApp::spawn_with(slow_retries(offset.clone())).await;
    an_unconfirmed_order_is_never_resent_after_the_window(app, offset).await;
}

#[tokio::test]
async fn an_unconfirmed_order_is_never_resent_after_the_window_on_postgres() {
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    match TestApp::spawn_postgres_with(slow_retries(offset.clone())).await {
        Some(app) => an_unconfirmed_order_is_never_resent_after_the_window(app, offset).await,
        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
    }
}

/// The test clock, with retries minutes apart: the retry comes only when the test moves
/// the clock.
fn slow_retries(
    offset: std::sync::Arc<std::sync::atomic::AtomicI64>,
) -> impl FnOnce(dropline_app::App) -> dropline_app::App {
    move |app| {
        crate::support::clocked(offset)(app).with_placement_config(dropline_app::placement::PlacementConfig {
            base_backoff: Duration::from_secs(600),
            max_backoff: Duration::from_secs(600),
            ..dropline_app::placement::PlacementConfig::default()
        })
    }
}

/// AliExpress cannot be asked by key: a creation whose answer was lost may only be sent
/// again within its 24-hour window. Past it the order is held for a person, who finds
/// nothing at AliExpress here and releases it to be sent.
async fn an_unconfirmed_order_is_never_resent_after_the_window(
    app: TestApp,
    offset: std::sync::Arc<std::sync::atomic::AtomicI64>,
) {
    use std::sync::atomic::Ordering;
    let sim = AliExpressSim::start(44).await.unwrap();
    let store = ae_store(&app, &sim).await;
    // The creation is refused outright (nothing made) and its answer looks lost: a 500.
    sim.inject(Some("aliexpress.ds.order.create"), AeFault::ServerError, 1);
    let order_id = accepted_order(&app, &store.order()).await;
    app.run_pending_jobs().await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["request_status"], "submitted", "{so:#}");
    // A day later the retry comes: past the window, nothing is sent.
    offset.store(24 * 3600, Ordering::SeqCst);
    app.run_jobs_ahead(Duration::from_secs(25 * 3600)).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "on_hold", "{so:#}");
    assert_eq!(so["placement"]["holds"][0]["code"], "placement_unconfirmed");
    assert_eq!(so["placement"]["holds"][0]["fix"], "check_at_supplier");
    assert_eq!(sim.calls("aliexpress.ds.order.create"), 1, "never resent unseen");
    assert!(sim.orders().is_empty());
    // The seller found nothing at AliExpress and releases it: sent now, once.
    let id = so["id"].as_str().unwrap();
    app.admin()
        .post(&format!("/api/v1/supplier-orders/{id}/release"), &json!({}))
        .await
        .expect(200);
    app.run_jobs_ahead(Duration::from_secs(25 * 3600)).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["request_status"], "accepted", "{so:#}");
    assert_eq!(sim.orders().len(), 1);
}
