//! No overselling: an accepted order holds its units until its supplier order is placed, so
//! two orders for the last unit end with one accepted and one on hold, on both backends.

use dropline_testkit::{TestApp, data};
use serde_json::json;

backend_tests!(
    two_orders_for_the_last_unit_end_one_accepted_one_on_hold,
    a_rule_that_accepts_holds_an_order_the_stock_cannot_serve,
    a_cancelled_order_gives_its_units_back,
);

/// A store (seeded) with one more product whose only SKU has one unit left at its only
/// supplier: (seeded, that SKU, its variant id).
async fn last_unit(app: &TestApp) -> (data::Seeded, String, String) {
    let seeded = data::seed(app).await;
    let admin = app.admin();
    let sku = format!("LAST-{}", data::unique());
    let product = admin
        .create_product(&data::product(&seeded.store_id, &[sku.as_str()], "19.99"))
        .await
        .expect(201);
    let variant_id = product["variants"][0]["id"].as_str().unwrap().to_string();
    admin
        .add_offer(&data::offer(
            &variant_id,
            &seeded.supplier_id,
            "https://supplier.example/item/last",
            Some(1),
        ))
        .await
        .expect(201);
    (seeded, sku, variant_id)
}

fn one_unit_order(seeded: &data::Seeded, sku: &str, external_id: &str) -> serde_json::Value {
    data::order(&seeded.store_id, external_id, &[(sku, 1)])
}

async fn two_orders_for_the_last_unit_end_one_accepted_one_on_hold(app: TestApp) {
    let (seeded, sku, variant_id) = last_unit(&app).await;
    let admin = app.admin();
    let first = admin
        .post_order(&one_unit_order(&seeded, &sku, "last-1"))
        .await
        .expect(201);
    let second = admin
        .post_order(&one_unit_order(&seeded, &sku, "last-2"))
        .await
        .expect(201);
    let (a, b) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    assert_eq!(first["state"], "pending_review");

    // Both accepted at the same moment.
    let (one, two) = tokio::join!(admin.accept(a), admin.accept(b));
    let states = [one.expect(200)["state"].clone(), two.expect(200)["state"].clone()];
    let mut sorted: Vec<&str> = states.iter().map(|s| s.as_str().unwrap()).collect();
    sorted.sort_unstable();
    assert_eq!(sorted, ["accepted", "on_hold"], "exactly one takes the last unit");

    let held = if states[0] == "on_hold" { a } else { b };
    let order = admin.get_order(held).await.expect(200);
    assert_eq!(order["hold_reasons"], json!(["out_of_stock"]));
    let timeline = admin.timeline(held).await.expect(200);
    assert!(
        timeline["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "inventory.out_of_stock" && e["message"].as_str().unwrap().contains(&sku)),
        "the timeline says why: {timeline}"
    );

    // The variant shows one unit held and nothing left to sell.
    let stock = admin
        .get(&format!("/api/v1/variants/{}/stock", variant_id))
        .await
        .expect(200);
    assert_eq!(stock["reserved"], 1);
    assert_eq!(stock["shown"], 0);
}

async fn a_rule_that_accepts_holds_an_order_the_stock_cannot_serve(app: TestApp) {
    let (seeded, sku, _) = last_unit(&app).await;
    let admin = app.admin();
    admin
        .update_store_settings(
            &seeded.store_id,
            &json!({ "auto_accept": { "enabled": true, "require_paid": false } }),
        )
        .await
        .expect(200);
    let first = admin
        .post_order(&one_unit_order(&seeded, &sku, "rule-1"))
        .await
        .expect(201);
    assert_ne!(first["state"], "on_hold", "the first takes the last unit: {first}");
    assert_ne!(first["state"], "pending_review", "{first}");
    let second = admin
        .post_order(&one_unit_order(&seeded, &sku, "rule-2"))
        .await
        .expect(201);
    assert_eq!(second["state"], "on_hold", "{second}");
    assert_eq!(second["hold_reasons"], json!(["out_of_stock"]));
}

async fn a_cancelled_order_gives_its_units_back(app: TestApp) {
    let (seeded, sku, variant_id) = last_unit(&app).await;
    let admin = app.admin();
    let first = admin
        .post_order(&one_unit_order(&seeded, &sku, "back-1"))
        .await
        .expect(201);
    let a = first["id"].as_str().unwrap();
    assert_eq!(admin.accept(a).await.expect(200)["state"], "accepted");
    admin.cancel(a).await.expect(200);
    let stock = admin
        .get(&format!("/api/v1/variants/{}/stock", variant_id))
        .await
        .expect(200);
    assert_eq!(stock["reserved"], 0, "{stock}");
    assert_eq!(stock["shown"], 1);
    let second = admin
        .post_order(&one_unit_order(&seeded, &sku, "back-2"))
        .await
        .expect(201);
    let b = second["id"].as_str().unwrap();
    assert_eq!(admin.accept(b).await.expect(200)["state"], "accepted");
}
