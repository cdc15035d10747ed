//! The simulators' listing endpoints (stock, prices, visibility) seen from outside: called over
//! HTTP with reqwest as a platform client would, their answers and errors in each platform's
//! own shapes, and the handles tests read the state through.

#![allow(clippy::unwrap_used)]

use dropline_sim::{ProductIds, ShopifySim, SimConfig, SimProduct, SimVariant, WixSim, WooCommerceSim};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use std::time::Duration;

fn config() -> SimConfig {
    SimConfig::new(3).catalogue(vec![
        SimProduct::new("Posture Corrector")
            .variant(SimVariant::new("POSTURE-M", "24.99").option("Size", "M"))
            .variant(SimVariant::new("POSTURE-L", "26.50").option("Size", "L")),
        SimProduct::simple("Phone Mount", "MOUNT-1", "19.50"),
    ])
}

/// The ids of the catalogue of [`config`]: the corrector's, then the mount's.
fn catalogue_ids(products: &Value, id: &str, variants: &str) -> Vec<ProductIds> {
    products
        .as_array()
        .unwrap()
        .iter()
        .map(|product| ProductIds {
            product_id: text(&product[id]),
            variant_ids: product[variants]
                .as_array()
                .map(|list| list.iter().map(|variant| text(&variant["id"])).collect())
                .unwrap_or_default(),
        })
        .collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

async fn call(request: RequestBuilder, body: Option<&str>) -> (u16, Value) {
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(body.to_string()),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

// ---------------------------------------------------------------------------------------------
// Shopify
// ---------------------------------------------------------------------------------------------

async fn shopify_call(sim: &ShopifySim, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
    let http = dropline_sim::http_client();
    let request = http
        .request(method, format!("{}/admin/api/2025-07/{path}", sim.base_url()))
        .header("x-shopify-access-token", sim.access_token());
    call(request, body).await
}

#[tokio::test]
async fn shopify_sets_prices_stock_and_status_with_shopify_errors() {
    let sim = ShopifySim::start(config()).await.unwrap();
    let (_, products) = shopify_call(&sim, Method::GET, "products.json", None).await;
    let ids = catalogue_ids(&products["products"], "id", "variants");
    let (corrector, m) = (&ids[0].product_id, &ids[0].variant_ids[0]);
    assert_eq!(sim.stock_of(m), Some(100), "Shopify's shop starts with 100 of each");
    assert_eq!(sim.price_of(m), Some((2499, None)));
    assert!(sim.is_published(corrector));

    // The location: the first listed is inactive, the second holds the stock.
    let (status, locations) = shopify_call(&sim, Method::GET, "locations.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(locations["locations"][0]["active"], false);
    let inactive = locations["locations"][0]["id"].clone();
    let active = locations["locations"][1]["id"].clone();
    let (status, variant) = shopify_call(&sim, Method::GET, &format!("variants/{m}.json"), None).await;
    assert_eq!(status, 200);
    let item = variant["variant"]["inventory_item_id"].clone();

    let set = |location: &Value, available: i64| {
        json!({"location_id": location, "inventory_item_id": item, "available": available}).to_string()
    };
    let (status, level) = shopify_call(&sim, Method::POST, "inventory_levels/set.json", Some(&set(&active, 7))).await;
    assert_eq!(status, 200, "{level}");
    assert_eq!(level["inventory_level"]["available"], 7);
    assert_eq!(sim.stock_of(m), Some(7));
    let (status, error) = shopify_call(
        &sim,
        Method::POST,
        "inventory_levels/set.json",
        Some(&set(&inactive, 1)),
    )
    .await;
    assert_eq!(status, 422);
    assert!(error["errors"][0].as_str().unwrap().contains("not active"), "{error}");
    let unknown_item = json!({"location_id": active, "inventory_item_id": 1, "available": 1}).to_string();
    let (status, error) = shopify_call(&sim, Method::POST, "inventory_levels/set.json", Some(&unknown_item)).await;
    assert_eq!((status, error), (404, json!({"errors": "Not Found"})));
    let (status, error) = shopify_call(&sim, Method::POST, "inventory_levels/set.json", Some("{}")).await;
    assert_eq!(status, 400);
    assert!(error["errors"]["location_id"].is_string(), "{error}");

    // Prices: decimal strings; null clears the compare-at price.
    let put = |body: Value| body.to_string();
    let path = format!("variants/{m}.json");
    let (status, answer) = shopify_call(
        &sim,
        Method::PUT,
        &path,
        Some(&put(
            json!({"variant": {"id": 1, "price": "12.99", "compare_at_price": "19.99"}}),
        )),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["variant"]["price"], "12.99");
    assert_eq!(answer["variant"]["compare_at_price"], "19.99");
    assert_eq!(answer["variant"]["inventory_quantity"], 7);
    assert_eq!(sim.price_of(m), Some((1299, Some(1999))));
    shopify_call(
        &sim,
        Method::PUT,
        &path,
        Some(&put(json!({"variant": {"compare_at_price": null}}))),
    )
    .await;
    assert_eq!(sim.price_of(m), Some((1299, None)));
    let (status, error) = shopify_call(
        &sim,
        Method::PUT,
        &path,
        Some(&put(json!({"variant": {"price": "12.999"}}))),
    )
    .await;
    assert_eq!(status, 422);
    assert!(error["errors"]["price"][0].is_string(), "{error}");
    let (status, error) = shopify_call(&sim, Method::PUT, &path, Some("{}")).await;
    assert_eq!(status, 400, "{error}");
    let (status, _) = shopify_call(
        &sim,
        Method::PUT,
        "variants/42.json",
        Some(&put(json!({"variant": {"price": "1.00"}}))),
    )
    .await;
    assert_eq!(status, 404);

    // Status: draft hides the product, and the catalogue says so.
    let product_path = format!("products/{corrector}.json");
    let (status, answer) = shopify_call(
        &sim,
        Method::PUT,
        &product_path,
        Some(&put(json!({"product": {"status": "draft"}}))),
    )
    .await;
    assert_eq!((status, answer["product"]["status"].clone()), (200, json!("draft")));
    assert!(!sim.is_published(corrector));
    let (status, error) = shopify_call(
        &sim,
        Method::PUT,
        &product_path,
        Some(&put(json!({"product": {"status": "gone"}}))),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        error["errors"]["status"][0].as_str().unwrap().contains("not included"),
        "{error}"
    );
    let (_, products) = shopify_call(&sim, Method::GET, "products.json", None).await;
    assert_eq!(products["products"][0]["status"], "draft");
    assert_eq!(products["products"][0]["published_at"], Value::Null);
    assert_eq!(products["products"][0]["variants"][0]["price"], "12.99");

    // Writes counted whatever their answer (4 stock sets, 5 variant puts, 2 product puts); the
    // injected faults come before them and are not.
    assert_eq!(sim.listing_writes(), 11);
    sim.rate_limit_next(1, Duration::from_secs(2));
    let (status, _) = shopify_call(&sim, Method::POST, "inventory_levels/set.json", Some(&set(&active, 3))).await;
    assert_eq!(status, 429);
    assert_eq!(sim.listing_writes(), 11);
    assert_eq!(sim.stock_of(m), Some(7));
}

// ---------------------------------------------------------------------------------------------
// WooCommerce
// ---------------------------------------------------------------------------------------------

async fn woo_call(sim: &WooCommerceSim, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
    let http = dropline_sim::http_client();
    let request = http
        .request(method, format!("{}/wp-json/wc/v3/{path}", sim.base_url()))
        .basic_auth(sim.consumer_key(), Some(sim.consumer_secret()));
    call(request, body).await
}

#[tokio::test]
async fn woocommerce_batches_variations_and_answers_each_item() {
    let sim = WooCommerceSim::start(config()).await.unwrap();
    let (_, products) = woo_call(&sim, Method::GET, "products", None).await;
    // Newest first: the mount, then the corrector.
    let mount = text(&products[0]["id"]);
    let corrector = text(&products[1]["id"]);
    let variations: Vec<String> = products[1]["variations"].as_array().unwrap().iter().map(text).collect();
    assert_eq!(
        sim.stock_of(&variations[0]),
        None,
        "WooCommerce manages no stock at first"
    );

    let batch = json!({"update": [
        {"id": variations[0].parse::<u64>().unwrap(), "manage_stock": true, "stock_quantity": 5, "regular_price": "19.99", "sale_price": "12.99"},
        {"id": 999999, "stock_quantity": 1},
        {"id": variations[1], "regular_price": 26},
    ]})
    .to_string();
    let path = format!("products/{corrector}/variations/batch");
    let (status, answer) = woo_call(&sim, Method::POST, &path, Some(&batch)).await;
    assert_eq!(status, 200, "{answer}");
    let items = answer["update"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["price"], "12.99");
    assert_eq!(items[0]["regular_price"], "19.99");
    assert_eq!(items[0]["on_sale"], true);
    assert_eq!(items[0]["stock_quantity"], 5);
    assert_eq!(items[1]["id"], 999999);
    assert_eq!(
        items[1]["error"]["code"],
        "woocommerce_rest_product_variation_invalid_id"
    );
    assert_eq!(
        items[2]["error"]["code"], "rest_invalid_param",
        "a price must be a string"
    );
    assert_eq!(sim.stock_of(&variations[0]), Some(5));
    assert_eq!(sim.price_of(&variations[0]), Some((1299, Some(1999))));
    assert_eq!(sim.price_of(&variations[1]), Some((2650, None)));

    // No sale price any more: the regular price is the price.
    let clear = json!({"update": [{"id": variations[0], "regular_price": "24.99", "sale_price": ""}]}).to_string();
    woo_call(&sim, Method::POST, &path, Some(&clear)).await;
    assert_eq!(sim.price_of(&variations[0]), Some((2499, None)));

    let too_many = json!({"update": (0..101).map(|id| json!({"id": id})).collect::<Vec<_>>()}).to_string();
    let (status, error) = woo_call(&sim, Method::POST, &path, Some(&too_many)).await;
    assert_eq!(status, 413);
    assert_eq!(error["code"], "woocommerce_rest_request_entity_too_large");
    let (status, error) = woo_call(&sim, Method::POST, "products/424242/variations/batch", Some(&batch)).await;
    assert_eq!(
        (status, error["code"].clone()),
        (404, json!("woocommerce_rest_product_invalid_id"))
    );
    let (status, error) = woo_call(&sim, Method::POST, &path, Some("{not json")).await;
    assert_eq!((status, error["code"].clone()), (400, json!("rest_invalid_json")));

    // A simple product: stock, prices and status in one PUT.
    let product = json!({"status": "private", "manage_stock": true, "stock_quantity": 0, "regular_price": "19.50", "sale_price": "15.00"})
        .to_string();
    let (status, answer) = woo_call(&sim, Method::PUT, &format!("products/{mount}"), Some(&product)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "private");
    assert_eq!(answer["stock_status"], "outofstock");
    assert_eq!(answer["sale_price"], "15.00");
    assert!(!sim.is_published(&mount));
    assert_eq!(sim.stock_of(&mount), Some(0));
    assert_eq!(sim.price_of(&mount), Some((1500, Some(1950))));
    let (status, error) = woo_call(
        &sim,
        Method::PUT,
        &format!("products/{mount}"),
        Some(r#"{"status": "hidden"}"#),
    )
    .await;
    assert_eq!((status, error["code"].clone()), (400, json!("rest_invalid_param")));
    assert_eq!(sim.listing_writes(), 7);
}

// ---------------------------------------------------------------------------------------------
// Wix
// ---------------------------------------------------------------------------------------------

async fn wix_call(sim: &WixSim, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
    let http = dropline_sim::http_client();
    let request = http
        .request(method, format!("{}{path}", sim.base_url()))
        .header("authorization", sim.api_key())
        .header("wix-site-id", sim.site_id());
    call(request, body).await
}

#[tokio::test]
async fn wix_keeps_inventory_variant_prices_and_the_products_discount() {
    let sim = WixSim::start(config()).await.unwrap();
    let (_, listed) = wix_call(
        &sim,
        Method::POST,
        "/stores/v1/products/query",
        Some(r#"{"includeVariants": true}"#),
    )
    .await;
    let ids = catalogue_ids(&listed["products"], "id", "variants");
    let (corrector, m, l) = (&ids[0].product_id, &ids[0].variant_ids[0], &ids[0].variant_ids[1]);
    let mount = &ids[1].product_id;
    assert_eq!(ids[1].variant_ids, ["00000000-0000-0000-0000-000000000000"]);

    // Inventory: quantities tracked for the whole product once asked.
    let inventory = format!("/stores/v2/inventoryItems/product/{corrector}");
    let body = json!({"inventoryItem": {"productId": corrector, "trackQuantity": true, "variants": [{"variantId": m, "quantity": 3}]}})
        .to_string();
    let (status, answer) = wix_call(&sim, Method::PATCH, &inventory, Some(&body)).await;
    assert_eq!((status, answer), (200, json!({})));
    assert_eq!(sim.stock_of(m), Some(3));
    assert_eq!(sim.stock_of(l), Some(0));
    let unknown = json!({"inventoryItem": {"variants": [{"variantId": "nope", "quantity": 1}]}}).to_string();
    let (status, error) = wix_call(&sim, Method::PATCH, &inventory, Some(&unknown)).await;
    assert_eq!(status, 404);
    assert_eq!(error["details"]["applicationError"]["code"], "VARIANT_NOT_FOUND");
    let simple = json!({"inventoryItem": {"trackQuantity": true, "variants": [{"variantId": "00000000-0000-0000-0000-000000000000", "quantity": 9}]}})
        .to_string();
    wix_call(
        &sim,
        Method::PATCH,
        &format!("/stores/v2/inventoryItems/product/{mount}"),
        Some(&simple),
    )
    .await;
    assert_eq!(
        sim.stock_of(mount),
        Some(9),
        "a simple product's variant is named by the product"
    );

    // Variant prices (JSON numbers) before the product's discount.
    let variants = format!("/stores/v1/products/{corrector}/variants");
    let body = format!(r#"{{"variants": [{{"variantIds": ["{m}", "{l}"], "price": 19.99}}]}}"#);
    let (status, answer) = wix_call(&sim, Method::PATCH, &variants, Some(&body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["variants"].as_array().unwrap().len(), 2);
    assert_eq!(sim.price_of(m), Some((1999, None)));
    let discount = r#"{"product": {"visible": false, "discount": {"type": "AMOUNT", "value": 7}}}"#;
    let (status, answer) = wix_call(
        &sim,
        Method::PATCH,
        &format!("/stores/v1/products/{corrector}"),
        Some(discount),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["product"]["visible"], false);
    assert_eq!(answer["product"]["discount"]["type"], "AMOUNT");
    assert_eq!(
        answer["product"]["variants"][0]["variant"]["priceData"]["discountedPrice"],
        json!(12.99)
    );
    assert_eq!(sim.price_of(m), Some((1299, Some(1999))));
    assert!(!sim.is_published(corrector));
    let percent = r#"{"product": {"discount": {"type": "PERCENT", "value": 10}}}"#;
    wix_call(
        &sim,
        Method::PATCH,
        &format!("/stores/v1/products/{corrector}"),
        Some(percent),
    )
    .await;
    assert_eq!(sim.price_of(l), Some((1799, Some(1999))));

    // Errors in Wix's shapes.
    let (status, error) = wix_call(
        &sim,
        Method::PATCH,
        &variants,
        Some(r#"{"variants": [{"variantIds": ["x"], "price": "19.99"}]}"#),
    )
    .await;
    assert_eq!(status, 400, "a Stores price is a number");
    assert!(error["details"]["validationError"]["fieldViolations"][0]["field"].is_string());
    let (status, _) = wix_call(
        &sim,
        Method::PATCH,
        &format!("/stores/v1/products/{mount}/variants"),
        Some(r#"{"variants": [{"variantIds": ["00000000-0000-0000-0000-000000000000"], "price": 1}]}"#),
    )
    .await;
    assert_eq!(status, 400, "a product without options has its price on the product");
    let (status, error) = wix_call(
        &sim,
        Method::PATCH,
        "/stores/v1/products/4b4e4b4e-0000-4000-8000-000000000000",
        Some(r#"{"product": {"visible": true}}"#),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(error["details"]["applicationError"]["code"], "PRODUCT_NOT_FOUND");
    let (status, _) = wix_call(
        &sim,
        Method::PATCH,
        &format!("/stores/v1/products/{mount}"),
        Some(r#"{"product": {"priceData": {"price": 17.5}}}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sim.price_of(mount), Some((1750, None)));
    assert_eq!(sim.listing_writes(), 10);
}

#[tokio::test]
async fn add_products_seeds_a_large_catalogue_at_once() {
    let sim = WooCommerceSim::start(SimConfig::new(1).catalogue(Vec::new()))
        .await
        .unwrap();
    let added = sim.add_products(200, 3).unwrap();
    assert_eq!(added.len(), 200);
    let (product, ids) = &added[199];
    assert_eq!(product.variants.len(), 3);
    assert_eq!(product.variants[2].sku, "BULK-199-2");
    assert_eq!(ids.variant_ids.len(), 3);
    assert_eq!(sim.stock_of(&ids.variant_ids[0]), None);
    assert!(sim.price_of(&ids.variant_ids[1]).is_some());
    assert!(sim.is_published(&ids.product_id));
    let simple = sim.add_products(2, 1).unwrap();
    assert_eq!(simple[0].0.variants[0].sku, "BULK-200");
    assert_eq!(simple[0].1.variant_ids, [simple[0].1.product_id.clone()]);
    assert!(sim.add_products(1, 0).is_err());
    // SKUs stay unique next to products added one by one.
    sim.add_product(SimProduct::simple("Lamp", "LAMP-1", "9.99")).unwrap();
    let more = sim.add_products(1, 2).unwrap();
    assert_eq!(more[0].0.variants[0].sku, "BULK-203-0");
}
