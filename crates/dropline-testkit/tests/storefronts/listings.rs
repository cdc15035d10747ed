//! Stock and prices follow the supplier: a CJ variant's stock going to zero sets the Shopify
//! variant's stock to zero and back, a cost rise reprices by the store's rules and is written
//! to Shopify, or waits for the seller above the threshold; only what changed is written.

use crate::support::{create_store, id_of, pull_catalogue, worker};
use dropline_connect::signature::sign_hmac_sha256_base64;
use dropline_sim::{CjSim, ShopifySim, SimConfig, SimProduct, SimVariant};
use dropline_testkit::{TestApp, data};
use serde_json::{Value, json};

backend_tests!(
    stock_and_prices_follow_the_supplier_to_shopify,
    a_signed_cj_message_reads_again_what_it_names,
    a_rate_limit_during_a_sync_is_waited_out,
);

/// The CJ account's `openId`, which signs its webhook messages.
const OPEN_ID: &str = "424242";

struct Wired {
    store_id: String,
    supplier_id: String,
    variant_id: String,
    platform_variant_id: String,
    platform_product_id: String,
    vid: String,
}

/// A Shopify store with one product of one variant, mapped to a CJ variant; sync on.
async fn wired(app: &TestApp, shopify: &ShopifySim, cj: &CjSim) -> Wired {
    let ids = shopify
        .add_product(SimProduct::new("Desk lamp").variant(SimVariant::new("LAMP-1", "30.00").option("Color", "Black")))
        .expect("the simulator takes the product");
    let store_id = create_store(app, shopify, json!({})).await;
    pull_catalogue(app, &store_id).await;
    let admin = app.admin();
    let products = admin.list_products(&format!("store_id={store_id}")).await.expect(200);
    let variant = products["products"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["variants"].as_array().unwrap().iter())
        .find(|v| v["sku"] == "LAMP-1")
        .cloned()
        .expect("the pulled variant");
    let variant_id = id_of(&variant);
    let supplier = admin
        .create_supplier(&json!({
            "store_id": store_id,
            "name": "CJ Dropshipping",
            "kind": "cj",
            "ships_from": "CN",
            "processing_days": 2,
            "rating": 80,
            "connection": { "api_base": cj.base_url(), "api_key": cj.api_key(), "webhook_secret": OPEN_ID },
        }))
        .await
        .expect(201);
    let supplier_id = id_of(&supplier);
    let cj_variant = cj.variants().into_iter().next().expect("a CJ variant");
    cj.set_price(&cj_variant.vid, 1000);
    cj.set_stock(&cj_variant.vid, 5);
    admin
        .add_offer(&json!({
            "variant_id": variant_id,
            "supplier_id": supplier_id,
            "supplier_sku": cj_variant.sku,
            "supplier_product_id": cj_variant.pid,
            "supplier_variant_id": cj_variant.vid,
            "unit_cost": data::usd("10.00"),
            "stock": null,
            "shipping": [{ "country": "*", "name": "CJPacket Ordinary", "cost": data::usd("2.00"), "min_days": 7, "max_days": 12 }],
            "priority": "primary",
        }))
        .await
        .expect(201);
    admin
        .put(
            &format!("/api/v1/stores/{store_id}/inventory"),
            &json!({ "sync": true, "safety_buffer": 0, "when_out": "show_zero", "sync_every_minutes": 60 }),
        )
        .await
        .expect(200);
    Wired {
        store_id,
        supplier_id,
        variant_id,
        platform_variant_id: ids.variant_ids[0].clone(),
        platform_product_id: ids.product_id,
        vid: cj_variant.vid,
    }
}

async fn sync(app: &TestApp, wired: &Wired) -> Value {
    app.admin()
        .post_empty(&format!("/api/v1/suppliers/{}/stock/sync", wired.supplier_id))
        .await
        .expect(200)
}

async fn stock_and_prices_follow_the_supplier_to_shopify(app: TestApp) {
    let shopify = ShopifySim::start(SimConfig::new(41).catalogue(Vec::new()))
        .await
        .expect("start the Shopify simulator");
    let cj = CjSim::start(41).await.expect("start the CJ simulator");
    let wired = wired(&app, &shopify, &cj).await;
    let admin = app.admin();

    // The first sync writes what CJ has.
    let report = sync(&app, &wired).await;
    assert_eq!(report["summary"]["offers_read"], 1, "{report:#}");
    assert_eq!(shopify.stock_of(&wired.platform_variant_id), Some(5));

    // CJ runs out: Shopify shows zero; it comes back: Shopify shows it again.
    cj.set_stock(&wired.vid, 0);
    sync(&app, &wired).await;
    assert_eq!(shopify.stock_of(&wired.platform_variant_id), Some(0));
    cj.set_stock(&wired.vid, 7);
    sync(&app, &wired).await;
    assert_eq!(shopify.stock_of(&wired.platform_variant_id), Some(7));

    // Nothing moved: nothing is written.
    let writes = shopify.listing_writes();
    let report = sync(&app, &wired).await;
    assert_eq!(
        shopify.listing_writes(),
        writes,
        "an unchanged sync writes nothing: {report:#}"
    );
    assert_eq!(report["listings"]["variants_pushed"], 0);

    // Prices by rule: landed cost (10.00 + 2.00 shipping) × 3, ending in .99.
    let rules = json!({
        "enabled": true,
        "approval_threshold_bp": 2000,
        "rules": [{
            "scope": { "kind": "store" },
            "rule": {
                "currency": "USD", "shipping": "included", "multiplier_bp": 30000, "markup": data::usd("0.00"),
                "tiers": [], "min_margin_bp": 0, "rounding": { "kind": "ending_in", "minor": 99 }, "compare_at_multiplier_bp": null
            }
        }]
    });
    admin
        .put(&format!("/api/v1/stores/{}/pricing", wired.store_id), &rules)
        .await
        .expect(200);
    // 30.00 → 36.99 is a change of more than 20%: it waits for the seller.
    sync(&app, &wired).await;
    let pending = admin
        .get(&format!(
            "/api/v1/price-changes?store_id={}&status=pending",
            wired.store_id
        ))
        .await
        .expect(200);
    let pending = pending["price_changes"].as_array().expect("a list").clone();
    assert_eq!(pending.len(), 1, "{pending:#?}");
    assert_eq!(
        shopify.price_of(&wired.platform_variant_id).map(|p| p.0),
        Some(3000),
        "not written before approval"
    );
    let change_id = id_of(&pending[0]);
    admin
        .post_empty(&format!("/api/v1/price-changes/{change_id}/approve"))
        .await
        .expect(200);
    assert_eq!(shopify.price_of(&wired.platform_variant_id).map(|p| p.0), Some(3699));
    let variant = admin
        .get(&format!("/api/v1/variants/{}/stock", wired.variant_id))
        .await
        .expect(200);
    assert_eq!(variant["listing"]["price"]["amount"], "36.99", "{variant:#}");

    // A small cost rise (10.00 → 10.50) reprices at once: 12.50 × 3 → 37.99.
    cj.set_price(&wired.vid, 1050);
    sync(&app, &wired).await;
    assert_eq!(shopify.price_of(&wired.platform_variant_id).map(|p| p.0), Some(3799));
    let applied = admin
        .get(&format!(
            "/api/v1/price-changes?store_id={}&status=applied",
            wired.store_id
        ))
        .await
        .expect(200);
    let newest = &applied["price_changes"].as_array().expect("a list")[0];
    assert_eq!(
        newest["cost_after"]["amount"], "10.50",
        "the reason names the cost that moved: {newest:#}"
    );
    assert_eq!(newest["decided_by"], "rule");

    // An absurd cost (100×) is not applied: a sync problem, the price stays.
    cj.set_price(&wired.vid, 105_000);
    sync(&app, &wired).await;
    assert_eq!(shopify.price_of(&wired.platform_variant_id).map(|p| p.0), Some(3799));
    let problems = admin
        .get(&format!("/api/v1/sync-problems?store_id={}", wired.store_id))
        .await
        .expect(200);
    assert!(
        problems["sync_problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["problem"]["kind"] == "absurd_cost"),
        "{problems:#}"
    );
    assert!(shopify.is_published(&wired.platform_product_id));

    // A store that unpublishes what is out: the product is hidden, and shown again.
    admin
        .put(
            &format!("/api/v1/stores/{}/inventory", wired.store_id),
            &json!({ "sync": true, "safety_buffer": 0, "when_out": "unpublish", "sync_every_minutes": 60 }),
        )
        .await
        .expect(200);
    cj.set_stock(&wired.vid, 0);
    sync(&app, &wired).await;
    assert!(!shopify.is_published(&wired.platform_product_id), "hidden while out");
    cj.set_stock(&wired.vid, 4);
    sync(&app, &wired).await;
    assert!(shopify.is_published(&wired.platform_product_id), "shown again");
    assert_eq!(shopify.stock_of(&wired.platform_variant_id), Some(4));

    // A safety buffer keeps units back from what the storefront shows.
    admin
        .put(
            &format!("/api/v1/stores/{}/inventory", wired.store_id),
            &json!({ "sync": true, "safety_buffer": 3, "when_out": "unpublish", "sync_every_minutes": 60 }),
        )
        .await
        .expect(200);
    sync(&app, &wired).await;
    assert_eq!(shopify.stock_of(&wired.platform_variant_id), Some(1));
}

/// A CJ message, signed with `key`.
fn cj_message(body: &Value, key: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let body = serde_json::to_vec(body).expect("a JSON body");
    let sign = sign_hmac_sha256_base64(key.as_bytes(), &body);
    (vec![("sign".to_string(), sign)], body)
}

async fn a_signed_cj_message_reads_again_what_it_names(app: TestApp) {
    let shopify = ShopifySim::start(SimConfig::new(42).catalogue(Vec::new()))
        .await
        .expect("start the Shopify simulator");
    let cj = CjSim::start(42).await.expect("start the CJ simulator");
    let wired = wired(&app, &shopify, &cj).await;
    let admin = app.admin();
    sync(&app, &wired).await;
    assert_eq!(shopify.stock_of(&wired.platform_variant_id), Some(5));
    let path = format!("/webhooks/suppliers/{}", wired.supplier_id);

    // The message says the stock moved; the numbers come from CJ's API, not from it.
    cj.set_stock(&wired.vid, 0);
    let stock = json!({ "messageId": "m-1", "type": "STOCK", "messageType": "UPDATE", "params": { "vid": wired.vid, "storageNum": 9999 } });
    let (headers, body) = cj_message(&stock, OPEN_ID);
    let receipt = admin.webhook(&path, &headers, body).await.expect(200);
    assert_eq!(
        receipt,
        json!({ "code": 200, "result": "success", "message": "sync queued" })
    );
    let report = worker(&app).run_until_idle().await.expect("run the queued sync");
    assert_eq!(report.succeeded, 1, "{report:?}");
    assert_eq!(
        shopify.stock_of(&wired.platform_variant_id),
        Some(0),
        "CJ's own count, not the message's"
    );

    // Unsigned, signed with another key, or not CJ's: refused, nothing queued.
    let (_, body) = cj_message(&stock, OPEN_ID);
    admin.webhook(&path, &[], body).await.expect_error(401, "unauthorized");
    let (headers, body) = cj_message(&stock, "999");
    admin
        .webhook(&path, &headers, body)
        .await
        .expect_error(401, "unauthorized");
    let (headers, body) = cj_message(&json!({ "type": "STOCK", "params": {} }), OPEN_ID);
    let refused = admin.webhook(&path, &headers, body).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(refused.refused_fields(), ["body"]);
    let other = format!("/webhooks/suppliers/{}", dropline_domain::ids::SupplierId::new());
    let (headers, body) = cj_message(&stock, OPEN_ID);
    admin
        .webhook(&other, &headers, body)
        .await
        .expect_error(404, "supplier_not_found");
    let report = worker(&app).run_until_idle().await.expect("nothing to run");
    assert_eq!(report.succeeded, 0, "refused messages queue nothing: {report:?}");

    // An order message names nothing to sync.
    let (headers, body) = cj_message(
        &json!({ "messageId": "m-2", "type": "ORDER", "params": { "orderId": "X" } }),
        OPEN_ID,
    );
    let receipt = admin.webhook(&path, &headers, body).await.expect(200);
    assert_eq!(receipt["message"], "nothing to sync");
}

/// A 429 in the middle of a sync (CJ counts its window when calls arrive, dropline paces them
/// when they leave) is waited out and the batch asked again: the pass is not thrown away.
async fn a_rate_limit_during_a_sync_is_waited_out(app: TestApp) {
    let shopify = ShopifySim::start(SimConfig::new(43).catalogue(Vec::new()))
        .await
        .expect("start the Shopify simulator");
    let cj = CjSim::start(43).await.expect("start the CJ simulator");
    let wired = wired(&app, &shopify, &cj).await;
    cj.rate_limit_next(2, 0);
    let report = sync(&app, &wired).await;
    assert_eq!(report["summary"]["offers_read"], 1, "{report:#}");
    assert!(report["summary"]["error"].is_null(), "{report:#}");
    assert_eq!(shopify.stock_of(&wired.platform_variant_id), Some(5));
}
