//! Mapping the catalogue, pricing rules and stock over HTTP, without simulators: unmapped
//! variants and mapping with options checked, the settings' bad fields named, a pricing
//! dry-run that writes nothing, pricing applied with its changes approved or rejected, a
//! routing dry-run, a variant's reserved stock, sync problems and a line's offer override.

use crate::id_of;
use dropline_testkit::{Api, Seeded, TestApp, data};
use serde_json::{Value, json};

/// A store-wide rule multiplying landed costs (12.00 + 3.00 shipping) by `multiplier_bp`.
fn pricing(multiplier_bp: u32) -> Value {
    json!({
        "enabled": true,
        "rules": [{"scope": {"kind": "store"}, "rule": {"currency": "USD", "multiplier_bp": multiplier_bp}}],
    })
}

/// A new product of the store with one variant titled `title`, priced `price`; its variant id.
async fn add_product(app: &TestApp, seeded: &Seeded, sku: &str, title: &str, price: &str) -> (String, String) {
    let product = app
        .admin()
        .create_product(&json!({
            "store_id": seeded.store_id, "title": "Hoodie",
            "variants": [{"sku": sku, "title": title, "price": data::usd(price)}],
        }))
        .await
        .expect(201);
    (id_of(&product), id_of(&product["variants"][0]))
}

async fn variant_price(api: &Api<'_>, product_id: &str, variant_id: &str) -> String {
    let product = api.get(&format!("/api/v1/products/{product_id}")).await.expect(200);
    product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == variant_id)
        .unwrap_or_else(|| panic!("{variant_id} in {product}"))["price"]["amount"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn unmapped_variants_are_mapped_with_their_options_checked(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let store = &seeded.store_id;
    let (_, variant) = add_product(&app, &seeded, "HOOD-BLK-XL", "Black / XL", "40.00").await;
    let unmapped = api.get(&format!("/api/v1/stores/{store}/unmapped")).await.expect(200);
    let ids: Vec<&str> = unmapped["variants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["variant_id"].as_str())
        .collect();
    assert_eq!(ids, [variant.as_str()], "{unmapped}");
    api.get("/api/v1/stores/not-an-id/unmapped")
        .await
        .expect_error(404, "store_not_found");

    let map = |options: &str, units: u32| {
        json!({
            "variant_id": variant, "supplier_id": seeded.supplier_id, "supplier_sku": "S-HOOD",
            "options": options, "unit_cost": data::usd("12.50"), "units": units,
            "shipping": [{"country": "*", "name": "Standard", "cost": data::usd("3.00"), "min_days": 7, "max_days": 14}],
        })
    };
    // Another colour is refused, so is a bundle of no units; nothing is written.
    let contradiction = api.post("/api/v1/catalogue/map", &map("White / XL", 1)).await;
    contradiction.expect_error(422, "invalid_input");
    assert_eq!(contradiction.refused_fields(), ["options"]);
    let no_units = api.post("/api/v1/catalogue/map", &map("Black / XL", 0)).await;
    assert_eq!(no_units.refused_fields(), ["units"], "{}", no_units.text);
    let bad = api
        .post(
            "/api/v1/catalogue/map",
            &json!({"variant_id": variant, "unit_cost": 12.5}),
        )
        .await;
    assert_eq!(
        bad.refused_fields(),
        ["supplier_id", "supplier_sku", "options", "unit_cost"],
        "{}",
        bad.text
    );
    let offer = api
        .post("/api/v1/catalogue/map", &map("Black / XL", 1))
        .await
        .expect(201);
    assert_eq!(offer["variant_id"], variant.as_str());
    assert_eq!(offer["unit_cost"], data::usd("12.50"));
    let unmapped = api.get(&format!("/api/v1/stores/{store}/unmapped")).await.expect(200);
    assert_eq!(unmapped["variants"], json!([]));

    // Importing from a manual supplier names the supplier: it has no catalogue.
    let import = api
        .post(
            &format!("/api/v1/suppliers/{}/import", seeded.supplier_id),
            &json!({"product_id": "1001"}),
        )
        .await;
    assert_eq!(import.refused_fields(), ["supplier_id"], "{}", import.text);
    let import = api
        .post(&format!("/api/v1/suppliers/{}/import", seeded.supplier_id), &json!({}))
        .await;
    assert_eq!(import.refused_fields(), ["product_id"]);
}

async fn settings_name_their_bad_fields(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let store = &seeded.store_id;
    let inventory = format!("/api/v1/stores/{store}/inventory");
    let saved = api
        .put(
            &inventory,
            &json!({"sync": true, "safety_buffer": 2, "when_out": "unpublish"}),
        )
        .await
        .expect(200);
    assert_eq!(saved["when_out"], "unpublish");
    assert_eq!(saved["sync_every_minutes"], 60);
    let bad = api.put(&inventory, &json!({"sync": "yes", "when_out": "hide"})).await;
    assert_eq!(bad.refused_fields(), ["sync", "when_out"]);
    let out_of_bounds = api
        .put(&inventory, &json!({"sync": true, "sync_every_minutes": 1}))
        .await;
    assert_eq!(out_of_bounds.refused_fields(), ["sync_every_minutes"]);

    let pricing_path = format!("/api/v1/stores/{store}/pricing");
    let saved = api.put(&pricing_path, &pricing(20_000)).await.expect(200);
    assert_eq!(saved["rules"][0]["rule"]["markup"], data::usd("0.00"));
    let bad = api
        .put(
            &pricing_path,
            &json!({"enabled": true, "rules": [
                {"scope": {"kind": "store"}, "rule": {"currency": "USD", "multiplier_bp": 20_000, "markup": 1}},
                {"scope": {"kind": "shelf"}, "rule": {"currency": "USD"}},
            ]}),
        )
        .await;
    assert_eq!(
        bad.refused_fields(),
        [
            "rules[0].rule.markup",
            "rules[1].scope.kind",
            "rules[1].rule.multiplier_bp"
        ],
        "{}",
        bad.text
    );
    let other_currency = api
        .put(
            &pricing_path,
            &json!({"enabled": true, "rules": [{"scope": {"kind": "store"}, "rule": {"currency": "EUR", "multiplier_bp": 20_000}}]}),
        )
        .await;
    assert_eq!(
        other_currency.refused_fields(),
        ["rules[0].currency"],
        "{}",
        other_currency.text
    );
}

async fn pricing_is_previewed_then_applied_and_decided(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let store = &seeded.store_id;
    let (dear_product, dear_variant) = add_product(&app, &seeded, "DEAR-1", "Dear", "100.00").await;
    api.post(
        "/api/v1/offers",
        &data::offer(&dear_variant, &seeded.supplier_id, "https://x.example/d", Some(5)),
    )
    .await
    .expect(201);

    // ×2 of 15.00 landed is 30.00: every variant would change; nothing is written.
    let preview = api
        .post(
            &format!("/api/v1/stores/{store}/pricing/preview"),
            &json!({"pricing": pricing(20_000), "days": 30}),
        )
        .await
        .expect(200);
    assert_eq!(preview["changes"].as_array().unwrap().len(), 3, "{preview}");
    assert_eq!(
        preview["changes"][0]["computed"]["price"],
        data::usd("30.00"),
        "{preview}"
    );
    assert_eq!(
        variant_price(&api, &seeded.product_id, &seeded.variant_ids[0]).await,
        "49.99"
    );
    let bad = api
        .post(
            &format!("/api/v1/stores/{store}/pricing/preview"),
            &json!({"pricing": pricing(20_000), "days": 0}),
        )
        .await;
    assert_eq!(bad.refused_fields(), ["days"]);

    // ×3 is 45.00: 10% under 49.99 is applied, 55% under 100.00 waits for the seller.
    let report = api
        .post(&format!("/api/v1/stores/{store}/pricing/apply"), &pricing(30_000))
        .await
        .expect(200);
    assert_eq!(
        (report["prices_applied"].as_u64(), report["prices_pending"].as_u64()),
        (Some(2), Some(1)),
        "{report}"
    );
    assert_eq!(
        variant_price(&api, &seeded.product_id, &seeded.variant_ids[0]).await,
        "45.00"
    );
    assert_eq!(variant_price(&api, &dear_product, &dear_variant).await, "100.00");
    let pending = api
        .get(&format!("/api/v1/price-changes?store_id={store}&status=pending"))
        .await
        .expect(200);
    let changes = pending["price_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{pending}");
    let change = id_of(&changes[0]);
    let applied = api.get("/api/v1/price-changes?status=applied").await.expect(200);
    assert_eq!(applied["price_changes"].as_array().unwrap().len(), 2);
    api.get("/api/v1/price-changes?status=maybe")
        .await
        .expect_error(422, "invalid_input");

    let approved = api
        .post_empty(&format!("/api/v1/price-changes/{change}/approve"))
        .await
        .expect(200);
    assert_eq!(approved["status"], "applied");
    assert_eq!(approved["decided_by"], "store (API token)");
    assert_eq!(variant_price(&api, &dear_product, &dear_variant).await, "45.00");
    api.post_empty(&format!("/api/v1/price-changes/{change}/approve"))
        .await
        .expect_error(409, "conflict");

    // A new rule: the dear variant's drop to 30.00 is within the threshold... the cheap
    // ones too; a ×10 rise waits, and is rejected.
    api.post(&format!("/api/v1/stores/{store}/pricing/apply"), &pricing(100_000))
        .await
        .expect(200);
    let pending = api
        .get("/api/v1/price-changes?status=pending&limit=1")
        .await
        .expect(200);
    let change = id_of(&pending["price_changes"][0]);
    let rejected = api
        .post_empty(&format!("/api/v1/price-changes/{change}/reject"))
        .await
        .expect(200);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(
        api.get(&format!("/api/v1/price-changes/{change}")).await.expect(200)["status"],
        "rejected"
    );
    api.get("/api/v1/price-changes/nope")
        .await
        .expect_error(404, "price_change_not_found");
}

async fn routing_is_previewed_over_past_orders(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let admin = app.admin();
    let store = &seeded.store_id;
    // Placed today, so within the days looked back.
    let mut placed = seeded.order("routed-once");
    placed["placed_at"] = json!(
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    let order = id_of(&api.post_order(&placed).await.expect(201));
    api.accept(&order).await.expect(200);
    app.run_pending_jobs().await;
    // A dearer supplier that ships in two days.
    let mut fast = data::manual_supplier(store);
    fast["processing_days"] = json!(0);
    let fast = id_of(&admin.create_supplier(&fast).await.expect(201));
    let mut offer = data::offer(&seeded.variant_ids[0], &fast, "https://x.example/fast", Some(100));
    offer["unit_cost"] = data::usd("30.00");
    offer["shipping"][0]["min_days"] = json!(1);
    offer["shipping"][0]["max_days"] = json!(2);
    admin.add_offer(&offer).await.expect(201);

    // A pricing rule tried on the same past order: its 2 units at the new price (15.00
    // landed × 2 = 30.00 each), against what they sold for; nothing written.
    let priced = api
        .post(
            &format!("/api/v1/stores/{store}/pricing/preview"),
            &json!({"pricing": pricing(20_000), "days": 7}),
        )
        .await
        .expect(200);
    assert_eq!(
        (priced["orders"].as_u64(), priced["units"].as_u64()),
        (Some(1), Some(2)),
        "{priced}"
    );
    assert_eq!(priced["revenue_at_new_prices"], data::usd("60.00"), "{priced}");
    assert_ne!(priced["revenue_actual"], priced["revenue_at_new_prices"]);
    assert!(
        api.get("/api/v1/price-changes?status=applied").await.expect(200)["price_changes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "a preview writes nothing"
    );

    let path = format!("/api/v1/stores/{store}/routing/preview");
    let cheapest = api.post(&path, &json!({"policy": "cheapest_landed"})).await.expect(200);
    assert_eq!(cheapest["orders"].as_array().unwrap().len(), 1, "{cheapest}");
    assert_eq!(cheapest["changed"], 0, "{cheapest}");
    let fastest = api
        .post(&path, &json!({"policy": "fastest", "days": 7}))
        .await
        .expect(200);
    assert_eq!(fastest["changed"], 1, "{fastest}");
    let bad = api.post(&path, &json!({"policy": "random", "days": 400})).await;
    assert_eq!(bad.refused_fields(), ["policy"]);
    let bad = api
        .post(&path, &json!({"policy": "cheapest_landed", "days": 400}))
        .await;
    assert_eq!(bad.refused_fields(), ["days"]);
}

async fn stock_is_reserved_and_lines_take_an_offer(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let variant = &seeded.variant_ids[0];
    let order = api.post_order(&seeded.order("held")).await.expect(201);
    let order_id = id_of(&order);
    let line = order["lines"][0]["id"].as_str().unwrap().to_string();

    // A line in review takes an offer of its variant, never another variant's.
    let path = format!("/api/v1/orders/{order_id}/lines/{line}/offer");
    api.put(&path, &json!({"offer_id": seeded.offer_ids[0]}))
        .await
        .expect(200);
    let wrong = api.put(&path, &json!({"offer_id": seeded.offer_ids[1]})).await;
    wrong.expect_error(422, "invalid_input");
    assert_eq!(wrong.refused_fields(), ["offer_id"]);
    api.put(&path, &json!({"offer_id": null})).await.expect(200);

    let stock = api.get(&format!("/api/v1/variants/{variant}/stock")).await.expect(200);
    assert_eq!(
        (stock["reserved"].as_u64(), stock["sellable"].as_u64()),
        (Some(0), Some(100)),
        "{stock}"
    );
    api.accept(&order_id).await.expect(200);
    let stock = api.get(&format!("/api/v1/variants/{variant}/stock")).await.expect(200);
    assert_eq!(stock["reserved"], 2, "{stock}");
    assert_eq!(stock["shown"], 98, "{stock}");
    assert_eq!(stock["offers"][0]["unit_cost"], data::usd("12.00"));
    api.get("/api/v1/variants/nope/stock")
        .await
        .expect_error(404, "variant_not_found");

    let costs = api
        .get(&format!("/api/v1/offers/{}/costs?limit=5", seeded.offer_ids[0]))
        .await
        .expect(200);
    assert!(costs["costs"].is_array(), "{costs}");
    let bad = api
        .get(&format!("/api/v1/offers/{}/costs?limit=0", seeded.offer_ids[0]))
        .await;
    assert_eq!(bad.refused_fields(), ["limit"]);

    let problems = api.get("/api/v1/sync-problems?open=false").await.expect(200);
    assert_eq!(problems["sync_problems"], json!([]));
    let bad = api.get("/api/v1/sync-problems?open=maybe").await;
    assert_eq!(bad.refused_fields(), ["open"]);

    // A sync asked for is queued; a manual supplier's sync refreshes its listings only.
    let queued = api
        .post(&format!("/api/v1/stores/{}/stock/sync", seeded.store_id), &json!({}))
        .await
        .expect(202);
    assert_eq!(queued["jobs"], 1);
    let report = api
        .post_empty(&format!("/api/v1/suppliers/{}/stock/sync", seeded.supplier_id))
        .await
        .expect(200);
    assert_eq!(report["supplier_id"], seeded.supplier_id.as_str());
}

backend_tests!(
    unmapped_variants_are_mapped_with_their_options_checked,
    settings_name_their_bad_fields,
    pricing_is_previewed_then_applied_and_decided,
    routing_is_previewed_over_past_orders,
    stock_is_reserved_and_lines_take_an_offer,
);
