//! The storefront clients over real HTTP on 127.0.0.1, against the simulated Shopify,
//! WooCommerce and Wix of `dropline-sim` (and, for transport failures the simulators do not
//! stage, a few raw TCP listeners).

use dropline_app::storefront::{
    FulfillmentPush, ProductPage, PushLine, StatusPush, StorefrontClient, StorefrontError, StorefrontTarget,
};
use dropline_connect::storefronts::HttpStorefronts;
use dropline_domain::catalog::{Platform, StoreConnection};
use dropline_domain::money::{Currency, Money};
use dropline_sim::storefront::{ShopifySim, SimConfig, SimProduct, SimVariant, WixSim, WooCommerceSim};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn usd() -> Currency {
    Currency::parse("USD").expect("USD is a currency")
}

fn client() -> HttpStorefronts {
    HttpStorefronts::new().with_timeout(Duration::from_secs(10))
}

fn target(platform: Platform, connection: StoreConnection) -> StorefrontTarget {
    StorefrontTarget {
        platform,
        connection,
        currency: usd(),
    }
}

fn shopify_target(sim: &ShopifySim) -> StorefrontTarget {
    target(
        Platform::Shopify,
        StoreConnection {
            domain: Some(sim.shop_domain().to_string()),
            api_base: Some(sim.base_url().to_string()),
            access_token: Some(sim.access_token().to_string()),
            ..StoreConnection::default()
        },
    )
}

fn woo_target(sim: &WooCommerceSim) -> StorefrontTarget {
    target(
        Platform::Woocommerce,
        StoreConnection {
            api_base: Some(sim.base_url().to_string()),
            api_key: Some(sim.consumer_key().to_string()),
            api_secret: Some(sim.consumer_secret().to_string()),
            ..StoreConnection::default()
        },
    )
}

fn wix_target(sim: &WixSim) -> StorefrontTarget {
    target(
        Platform::Wix,
        StoreConnection {
            api_base: Some(sim.base_url().to_string()),
            access_token: Some(sim.api_key().to_string()),
            api_key: Some(sim.site_id().to_string()),
            ..StoreConnection::default()
        },
    )
}

/// An id written as a JSON number or string, as text.
fn id_text(value: &Value) -> String {
    match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        other => panic!("not an id: {other}"),
    }
}

/// The order's lines as dropline pushes them back: platform line id, SKU, quantity.
fn push_lines(order: &Value, lines_field: &str, sku: impl Fn(&Value) -> String) -> Vec<PushLine> {
    let lines = order[lines_field].as_array().expect("the order has lines");
    assert!(!lines.is_empty(), "the simulated order has no line");
    lines
        .iter()
        .map(|line| PushLine {
            external_id: Some(id_text(&line["id"])),
            sku: sku(line),
            quantity: u32::try_from(line["quantity"].as_u64().expect("quantity")).expect("small quantity"),
        })
        .collect()
}

fn fulfillment_push(order_id: &str, lines: Vec<PushLine>, tracking_number: &str) -> FulfillmentPush {
    FulfillmentPush {
        order_external_id: order_id.to_string(),
        lines,
        tracking_number: tracking_number.to_string(),
        carrier: "YunExpress".to_string(),
        tracking_url: Some(format!("https://www.yuntrack.com/parcelTracking?id={tracking_number}")),
        notify_customer: true,
        order_fully_shipped: true,
        replaces_tracking_number: None,
    }
}

/// How many requests of this method whose path contains `fragment` the simulator answered.
fn count_requests(requests: &[dropline_sim::storefront::ApiRequest], method: &str, fragment: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.method == method && r.path.contains(fragment))
        .count()
}

/// A catalogue larger than one page (50): `count` simple products and two variable ones.
fn big_catalogue(count: usize) -> Vec<SimProduct> {
    let mut products: Vec<SimProduct> = (0..count)
        .map(|i| {
            SimProduct::simple(
                format!("Gadget {i}"),
                format!("GADGET-{i:03}"),
                format!("{}.{:02}", 10 + i, i),
            )
        })
        .collect();
    products.push(
        SimProduct::new("Posture Corrector")
            .variant(
                SimVariant::new("POSTURE-M-BEI", "24.99")
                    .option("Size", "M")
                    .option("Color", "Beige"),
            )
            .variant(
                SimVariant::new("POSTURE-L-BLK", "26.5")
                    .option("Size", "L")
                    .option("Color", "Black"),
            ),
    );
    products.push(
        SimProduct::new("LED Strip Lights")
            .variant(SimVariant::new("LED-STRIP-5M", "18.99").option("Length", "5 m"))
            .variant(SimVariant::new("LED-STRIP-10M", "29.99").option("Length", "10 m")),
    );
    products
}

/// SKU → (variant title, price) of every variant of the pages.
fn variants_by_sku(pages: &[ProductPage]) -> BTreeMap<String, (String, Money)> {
    pages
        .iter()
        .flat_map(|page| &page.products)
        .flat_map(|product| &product.variants)
        .map(|variant| (variant.sku.clone(), (variant.title.clone(), variant.price)))
        .collect()
}

fn money(text: &str) -> Money {
    Money::parse_decimal(text, usd()).expect("an amount")
}

/// Checks two pages of the big catalogue: 50 products on the first, the rest on the second,
/// every SKU once with its exact price and option title.
fn check_two_pages(first: &ProductPage, second: &ProductPage, count: usize) {
    assert_eq!(first.products.len(), 50);
    assert!(first.next.is_some(), "the first page announces a next one");
    assert_eq!(second.products.len(), count + 2 - 50);
    assert_eq!(second.next, None, "the second page is the last");
    let pages = [first.clone(), second.clone()];
    let variants = variants_by_sku(&pages);
    assert_eq!(variants.len(), count + 4, "every variant once");
    assert_eq!(variants["GADGET-007"].1, money("17.07"));
    assert_eq!(variants["GADGET-042"].1, money("52.42"));
    assert_eq!(variants["POSTURE-M-BEI"], ("M / Beige".to_string(), money("24.99")));
    assert_eq!(variants["POSTURE-L-BLK"], ("L / Black".to_string(), money("26.50")));
    assert_eq!(variants["LED-STRIP-10M"], ("10 m".to_string(), money("29.99")));
    let posture = pages
        .iter()
        .flat_map(|page| &page.products)
        .find(|product| product.title == "Posture Corrector")
        .expect("the variable product is listed");
    assert_eq!(posture.variants.len(), 2);
    assert!(!posture.platform_product_id.is_empty());
    let mut ids: Vec<&str> = pages
        .iter()
        .flat_map(|page| &page.products)
        .map(|product| product.platform_product_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count + 2, "no product twice across the pages");
}

/// A listener that answers every connection with these raw bytes, then closes it.
async fn raw_server(response: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{address}")
}

fn raw_response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

// ---------------------------------------------------------------------------------------------
// Shopify
// ---------------------------------------------------------------------------------------------

async fn shopify() -> ShopifySim {
    ShopifySim::start(SimConfig::new(7).shop_name("Pine Gadgets"))
        .await
        .expect("the Shopify simulator starts")
}

fn shopify_lines(sim: &ShopifySim, order_id: &str) -> Vec<PushLine> {
    let order = sim.order(order_id).expect("the order exists");
    push_lines(&order, "line_items", |line| {
        line["sku"].as_str().unwrap_or_default().to_string()
    })
}

#[tokio::test]
async fn shopify_check_reads_the_shop() {
    let sim = shopify().await;
    let info = client().check(&shopify_target(&sim)).await.expect("check");
    assert_eq!(info.name, "Pine Gadgets");
    assert_eq!(info.currency.as_deref(), Some("USD"));
}

#[tokio::test]
async fn shopify_check_with_a_wrong_token_is_unauthorized_and_hides_the_token() {
    let sim = shopify().await;
    let mut target = shopify_target(&sim);
    target.connection.access_token = Some("shpat_wrong_token_0000".to_string());
    let error = client().check(&target).await.expect_err("a wrong token is refused");
    assert!(matches!(&error, StorefrontError::Unauthorized(_)), "{error:?}");
    assert!(!error.to_string().contains("shpat_wrong_token_0000"));
}

#[tokio::test]
async fn shopify_push_fulfillment_creates_it_once() {
    let sim = shopify().await;
    let target = shopify_target(&sim);
    let order_id = sim.create_order().expect("an order");
    let lines = shopify_lines(&sim, &order_id);
    let push = fulfillment_push(&order_id, lines.clone(), "YT2412345678901234");
    let client = client();

    client.push_fulfillment(&target, &push).await.expect("fulfilled");
    let fulfillments = sim.fulfillments(&order_id);
    assert_eq!(fulfillments.len(), 1);
    let fulfillment = &fulfillments[0];
    assert_eq!(fulfillment.tracking_number.as_deref(), Some("YT2412345678901234"));
    assert_eq!(fulfillment.tracking_company.as_deref(), Some("YunExpress"));
    assert_eq!(
        fulfillment.tracking_url.as_deref(),
        Some("https://www.yuntrack.com/parcelTracking?id=YT2412345678901234")
    );
    let shipped: BTreeMap<String, u32> = fulfillment
        .lines
        .iter()
        .map(|line| (line.line_id.clone(), line.quantity))
        .collect();
    let pushed: BTreeMap<String, u32> = lines
        .iter()
        .map(|line| (line.external_id.clone().expect("id"), line.quantity))
        .collect();
    assert_eq!(shipped, pushed);
    assert_eq!(sim.status(&order_id).as_deref(), Some("fulfilled"));

    // The same push again (a retried job): nothing new.
    client
        .push_fulfillment(&target, &push)
        .await
        .expect("second push is fine");
    assert_eq!(sim.fulfillments(&order_id).len(), 1);
    assert_eq!(count_requests(&sim.requests(), "POST", "/fulfillments.json"), 1);
}

#[tokio::test]
async fn shopify_partial_shipments_are_fulfilled_separately() {
    let sim = shopify().await;
    let target = shopify_target(&sim);
    let client = client();
    // An order with a line of more than one unit, or at least two lines.
    let (order_id, lines) = loop {
        let order_id = sim.create_order().expect("an order");
        let lines = shopify_lines(&sim, &order_id);
        let units: u32 = lines.iter().map(|line| line.quantity).sum();
        if units >= 2 {
            break (order_id, lines);
        }
    };
    // First parcel: one unit of the first line.
    let mut first = lines[0].clone();
    first.quantity = 1;
    let mut push = fulfillment_push(&order_id, vec![first], "PARCEL-1");
    push.order_fully_shipped = false;
    client.push_fulfillment(&target, &push).await.expect("first parcel");
    assert_eq!(sim.status(&order_id).as_deref(), Some("partial"));
    assert_eq!(sim.fulfillment_order_status(&order_id).as_deref(), Some("in_progress"));

    // Second parcel: everything, asked in full; what is left is fulfilled (min of pushed and
    // fulfillable), nothing more.
    let rest = fulfillment_push(&order_id, lines.clone(), "PARCEL-2");
    client.push_fulfillment(&target, &rest).await.expect("second parcel");
    let fulfillments = sim.fulfillments(&order_id);
    assert_eq!(fulfillments.len(), 2);
    let total_shipped: u32 = fulfillments
        .iter()
        .flat_map(|f| &f.lines)
        .map(|line| line.quantity)
        .sum();
    let ordered: u32 = lines.iter().map(|line| line.quantity).sum();
    assert_eq!(total_shipped, ordered);
    assert_eq!(sim.status(&order_id).as_deref(), Some("fulfilled"));

    // A third tracking number for an order with nothing left is refused, naming the order.
    let error = client
        .push_fulfillment(&target, &fulfillment_push(&order_id, lines, "PARCEL-3"))
        .await
        .expect_err("nothing left to fulfil");
    assert!(
        matches!(&error, StorefrontError::Refused(m) if m.contains(&order_id)),
        "{error:?}"
    );
}

#[tokio::test]
async fn shopify_push_fulfillment_refuses_lines_it_cannot_map() {
    let sim = shopify().await;
    let target = shopify_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    let mut lines = shopify_lines(&sim, &order_id);

    let mut without_id = lines.clone();
    without_id[0].external_id = None;
    let error = client
        .push_fulfillment(&target, &fulfillment_push(&order_id, without_id, "T-1"))
        .await
        .expect_err("a line without a Shopify id");
    assert!(
        matches!(&error, StorefrontError::Refused(m) if m.contains(&lines[0].sku)),
        "{error:?}"
    );

    lines[0].external_id = Some("999999999".to_string());
    let error = client
        .push_fulfillment(&target, &fulfillment_push(&order_id, lines, "T-1"))
        .await
        .expect_err("a line not on the order");
    assert!(
        matches!(&error, StorefrontError::Refused(m) if m.contains("999999999")),
        "{error:?}"
    );
    assert!(sim.fulfillments(&order_id).is_empty(), "nothing was written");

    let error = client
        .push_fulfillment(&target, &fulfillment_push("123", Vec::new(), "T-1"))
        .await
        .expect_err("an unknown order");
    assert!(
        matches!(&error, StorefrontError::Refused(m) if m.contains("404")),
        "{error:?}"
    );
}

#[tokio::test]
async fn shopify_push_status_delivered_and_cancelled() {
    let sim = shopify().await;
    let target = shopify_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    let lines = shopify_lines(&sim, &order_id);
    client
        .push_fulfillment(&target, &fulfillment_push(&order_id, lines, "YT-DELIVER-1"))
        .await
        .expect("fulfilled");

    let delivered = StatusPush::Delivered {
        tracking_number: "YT-DELIVER-1".to_string(),
    };
    client
        .push_status(&target, &order_id, &delivered)
        .await
        .expect("delivered");
    assert_eq!(
        sim.fulfillments(&order_id)[0].shipment_status.as_deref(),
        Some("delivered")
    );
    client
        .push_status(&target, &order_id, &delivered)
        .await
        .expect("delivered twice");
    assert_eq!(
        count_requests(&sim.requests(), "POST", "/events.json"),
        1,
        "one event only"
    );

    let unknown = StatusPush::Delivered {
        tracking_number: "NOT-SHIPPED".to_string(),
    };
    let error = client
        .push_status(&target, &order_id, &unknown)
        .await
        .expect_err("no such parcel");
    assert!(
        matches!(&error, StorefrontError::Refused(m) if m.contains("NOT-SHIPPED")),
        "{error:?}"
    );

    let other = sim.create_order().expect("another order");
    let cancel = StatusPush::Cancelled {
        reason: "out of stock".to_string(),
    };
    client.push_status(&target, &other, &cancel).await.expect("cancelled");
    assert_eq!(sim.status(&other).as_deref(), Some("cancelled"));
    // Shopify answers 422 to a second cancellation; that is done, not an error.
    client
        .push_status(&target, &other, &cancel)
        .await
        .expect("cancelled twice");
    assert_eq!(sim.status(&other).as_deref(), Some("cancelled"));
}

/// The push of a parcel that replaces a failed one.
fn reship_push(order_id: &str, lines: Vec<PushLine>, tracking_number: &str, replaces: &str) -> FulfillmentPush {
    FulfillmentPush {
        carrier: "DHL".to_string(),
        tracking_url: None,
        replaces_tracking_number: Some(replaces.to_string()),
        ..fulfillment_push(order_id, lines, tracking_number)
    }
}

#[tokio::test]
async fn shopify_reship_updates_the_fulfillment_tracking_once() {
    let sim = shopify().await;
    let target = shopify_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    let lines = shopify_lines(&sim, &order_id);
    client
        .push_fulfillment(&target, &fulfillment_push(&order_id, lines.clone(), "YT-FAILED-1"))
        .await
        .expect("fulfilled");
    let fulfillment_id = sim.fulfillments(&order_id)[0].id.clone();

    let reship = reship_push(&order_id, lines.clone(), "DHL-NEW-2", "YT-FAILED-1");
    client
        .push_fulfillment(&target, &reship)
        .await
        .expect("tracking updated");
    let fulfillments = sim.fulfillments(&order_id);
    assert_eq!(fulfillments.len(), 1, "no new fulfillment: {fulfillments:#?}");
    let fulfillment = &fulfillments[0];
    assert_eq!(fulfillment.id, fulfillment_id);
    assert_eq!(
        (
            fulfillment.tracking_number.as_deref(),
            fulfillment.tracking_company.as_deref(),
            fulfillment.tracking_url.as_deref(),
        ),
        (Some("DHL-NEW-2"), Some("DHL"), None)
    );
    let update_path = format!("/fulfillments/{fulfillment_id}/update_tracking.json");
    assert_eq!(count_requests(&sim.requests(), "POST", &update_path), 1);

    // The same push again (a retried job): the fulfillment has the new number already.
    client
        .push_fulfillment(&target, &reship)
        .await
        .expect("second push is fine");
    let requests = sim.requests();
    assert_eq!(
        count_requests(&requests, "POST", "update_tracking.json"),
        1,
        "updated once"
    );
    assert_eq!(
        count_requests(&requests, "POST", "/fulfillments.json"),
        1,
        "created once"
    );

    // The delivery of the new parcel is written to that fulfillment.
    let delivered = StatusPush::Delivered {
        tracking_number: "DHL-NEW-2".to_string(),
    };
    client
        .push_status(&target, &order_id, &delivered)
        .await
        .expect("delivered");
    let fulfillment = &sim.fulfillments(&order_id)[0];
    assert_eq!(fulfillment.shipment_status.as_deref(), Some("delivered"));

    // A second reship moves it on again, and the shipment status stays.
    let again = reship_push(&order_id, lines.clone(), "DHL-NEW-3", "DHL-NEW-2");
    client.push_fulfillment(&target, &again).await.expect("updated again");
    let fulfillment = &sim.fulfillments(&order_id)[0];
    assert_eq!(fulfillment.tracking_number.as_deref(), Some("DHL-NEW-3"));
    assert_eq!(fulfillment.shipment_status.as_deref(), Some("delivered"));

    // Replacing a number no fulfillment carries, with every line already fulfilled: Shopify
    // has nothing to fulfil and the push is refused, naming the order.
    let stray = reship_push(&order_id, lines, "DHL-NEW-4", "NEVER-SENT");
    let error = client
        .push_fulfillment(&target, &stray)
        .await
        .expect_err("nothing to update or fulfil");
    assert!(
        matches!(&error, StorefrontError::Refused(m) if m.contains(&order_id)),
        "{error:?}"
    );
    assert_eq!(count_requests(&sim.requests(), "POST", "update_tracking.json"), 2);
}

#[tokio::test]
async fn shopify_sim_update_tracking_checks_the_fulfillment_and_the_body() {
    let sim = shopify().await;
    let order_id = sim.create_order().expect("an order");
    client()
        .push_fulfillment(
            &shopify_target(&sim),
            &fulfillment_push(&order_id, shopify_lines(&sim, &order_id), "YT-SIM-1"),
        )
        .await
        .expect("fulfilled");
    let fulfillment_id = sim.fulfillments(&order_id)[0].id.clone();
    let http = reqwest::Client::new();
    let post = |id: &str, body: serde_json::Value| {
        http.post(format!(
            "{}/admin/api/2025-07/fulfillments/{id}/update_tracking.json",
            sim.base_url()
        ))
        .header("X-Shopify-Access-Token", sim.access_token())
        .json(&body)
        .send()
    };
    let good = serde_json::json!({
        "fulfillment": {"tracking_info": {"number": "YT-SIM-2", "url": "https://t.example/YT-SIM-2"},
                        "notify_customer": false}
    });

    let unknown = post("999999999", good.clone()).await.expect("an answer");
    assert_eq!(unknown.status().as_u16(), 404);
    for (body, field) in [
        (serde_json::json!({"fulfillment": {}}), "fulfillment.tracking_info"),
        (
            serde_json::json!({"fulfillment": {"tracking_info": {"number": "  "}}}),
            "fulfillment.tracking_info.number",
        ),
        (
            serde_json::json!({"fulfillment": {"tracking_info": {"number": 12}}}),
            "fulfillment.tracking_info.number",
        ),
    ] {
        let answer = post(&fulfillment_id, body).await.expect("an answer");
        assert_eq!(answer.status().as_u16(), 400);
        let text = answer.text().await.expect("a body");
        assert!(text.contains(field), "{field}: {text}");
    }
    assert_eq!(
        sim.fulfillments(&order_id)[0].tracking_number.as_deref(),
        Some("YT-SIM-1")
    );

    let answer = post(&fulfillment_id, good).await.expect("an answer");
    assert_eq!(answer.status().as_u16(), 200);
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(body["fulfillment"]["tracking_number"], "YT-SIM-2");
    let fulfillment = &sim.fulfillments(&order_id)[0];
    assert_eq!(fulfillment.tracking_number.as_deref(), Some("YT-SIM-2"));
    assert_eq!(
        fulfillment.tracking_company.as_deref(),
        Some("YunExpress"),
        "kept when not given"
    );
    assert_eq!(fulfillment.tracking_url.as_deref(), Some("https://t.example/YT-SIM-2"));
}

#[tokio::test]
async fn shopify_products_page_follows_the_link_cursor() {
    let sim = ShopifySim::start(SimConfig::new(3).catalogue(big_catalogue(56)))
        .await
        .expect("start");
    let target = shopify_target(&sim);
    let client = client();
    let first = client.products_page(&target, None).await.expect("first page");
    let second = client
        .products_page(&target, first.next.as_deref())
        .await
        .expect("second page");
    check_two_pages(&first, &second, 56);
    let requests = sim.requests();
    assert!(
        requests.iter().any(|r| r.path.contains("page_info=")),
        "the cursor was sent"
    );
}

#[tokio::test]
async fn shopify_rate_limit_and_server_errors() {
    let sim = shopify().await;
    let target = shopify_target(&sim);
    let client = client();
    sim.rate_limit_next(1, Duration::from_millis(1500));
    let error = client.check(&target).await.expect_err("rate limited");
    assert_eq!(
        error,
        StorefrontError::RateLimited {
            retry_after: Some(Duration::from_millis(1500))
        }
    );
    assert!(error.is_retryable());

    sim.fail_next(1);
    let order_id = sim.create_order().expect("an order");
    let push = fulfillment_push(&order_id, shopify_lines(&sim, &order_id), "T-500");
    let error = client.push_fulfillment(&target, &push).await.expect_err("server error");
    assert!(
        matches!(&error, StorefrontError::Unavailable(m) if m.contains("500")),
        "{error:?}"
    );
    assert!(error.is_retryable());
    // The retry succeeds.
    client.push_fulfillment(&target, &push).await.expect("the retry works");
    assert_eq!(sim.fulfillments(&order_id).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// WooCommerce
// ---------------------------------------------------------------------------------------------

async fn woocommerce() -> WooCommerceSim {
    WooCommerceSim::start(SimConfig::new(11).shop_name("Maple Home"))
        .await
        .expect("the WooCommerce simulator starts")
}

fn woo_lines(sim: &WooCommerceSim, order_id: &str) -> Vec<PushLine> {
    let order = sim.order(order_id).expect("the order exists");
    push_lines(&order, "line_items", |line| {
        line["sku"].as_str().unwrap_or_default().to_string()
    })
}

#[tokio::test]
async fn woocommerce_check_reads_the_site() {
    let sim = woocommerce().await;
    let info = client().check(&woo_target(&sim)).await.expect("check");
    assert_eq!(info.name, sim.site_url());
    assert_eq!(info.currency.as_deref(), Some("USD"));

    let mut wrong = woo_target(&sim);
    wrong.connection.api_secret = Some("cs_not_the_secret".to_string());
    let error = client().check(&wrong).await.expect_err("a wrong secret is refused");
    assert!(matches!(&error, StorefrontError::Unauthorized(_)), "{error:?}");
    assert!(!error.to_string().contains("cs_not_the_secret"));
}

#[tokio::test]
async fn woocommerce_push_fulfillment_adds_tracking_note_and_completes_once() {
    let sim = woocommerce().await;
    let target = woo_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    assert_eq!(sim.status(&order_id).as_deref(), Some("processing"));
    let push = fulfillment_push(&order_id, woo_lines(&sim, &order_id), "YT9988776655");

    client.push_fulfillment(&target, &push).await.expect("fulfilled");
    let items = sim.tracking_items(&order_id);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].tracking_number, "YT9988776655");
    assert_eq!(items[0].provider, "YunExpress");
    assert_eq!(items[0].link, "https://www.yuntrack.com/parcelTracking?id=YT9988776655");
    assert_eq!(items[0].date_shipped.len(), 10, "YYYY-MM-DD");
    let notes: Vec<_> = sim
        .notes(&order_id)
        .into_iter()
        .filter(|note| note.author != "system")
        .collect();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].note.contains("YT9988776655") && notes[0].note.contains("YunExpress"));
    assert!(notes[0].customer_note, "notify_customer makes it a customer note");
    assert_eq!(sim.status(&order_id).as_deref(), Some("completed"));

    client
        .push_fulfillment(&target, &push)
        .await
        .expect("second push is fine");
    assert_eq!(sim.tracking_items(&order_id).len(), 1);
    let requests = sim.requests();
    assert_eq!(count_requests(&requests, "POST", "/shipment-trackings"), 1);
    assert_eq!(count_requests(&requests, "POST", "/notes"), 1);
    assert_eq!(count_requests(&requests, "PUT", "/orders/"), 1, "completed once");
}

#[tokio::test]
async fn woocommerce_reship_adds_the_new_tracking_and_says_what_it_replaces() {
    let sim = woocommerce().await;
    let target = woo_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    let lines = woo_lines(&sim, &order_id);
    client
        .push_fulfillment(&target, &fulfillment_push(&order_id, lines.clone(), "YT-WOO-1"))
        .await
        .expect("fulfilled");
    let reship = reship_push(&order_id, lines, "DHL-WOO-2", "YT-WOO-1");
    client.push_fulfillment(&target, &reship).await.expect("reshipped");
    client
        .push_fulfillment(&target, &reship)
        .await
        .expect("reshipped twice");

    let numbers: Vec<String> = sim
        .tracking_items(&order_id)
        .into_iter()
        .map(|item| item.tracking_number)
        .collect();
    assert_eq!(numbers, ["YT-WOO-1", "DHL-WOO-2"]);
    let notes: Vec<String> = sim
        .notes(&order_id)
        .into_iter()
        .filter(|note| note.author != "system")
        .map(|note| note.note)
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[1].contains("DHL-WOO-2") && notes[1].contains("replaces") && notes[1].contains("YT-WOO-1"),
        "{notes:?}"
    );
    assert!(!notes[0].contains("replaces"), "{notes:?}");
    assert_eq!(sim.status(&order_id).as_deref(), Some("completed"));
    let requests = sim.requests();
    assert_eq!(count_requests(&requests, "POST", "/shipment-trackings"), 2);
    assert_eq!(count_requests(&requests, "POST", "/notes"), 2);
}

#[tokio::test]
async fn woocommerce_partial_shipment_keeps_the_order_open() {
    let sim = woocommerce().await;
    let target = woo_target(&sim);
    let order_id = sim.create_order().expect("an order");
    let mut push = fulfillment_push(&order_id, woo_lines(&sim, &order_id), "PART-1");
    push.order_fully_shipped = false;
    push.notify_customer = false;
    push.tracking_url = None;
    client().push_fulfillment(&target, &push).await.expect("fulfilled");
    assert_eq!(sim.status(&order_id).as_deref(), Some("processing"));
    let notes: Vec<_> = sim
        .notes(&order_id)
        .into_iter()
        .filter(|note| note.author != "system")
        .collect();
    assert_eq!(notes.len(), 1);
    assert!(
        !notes[0].customer_note,
        "a private note when the customer is not notified"
    );
    assert_eq!(sim.tracking_items(&order_id)[0].link, "");
}

#[tokio::test]
async fn woocommerce_push_status_delivered_and_cancelled() {
    let sim = woocommerce().await;
    let target = woo_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    let delivered = StatusPush::Delivered {
        tracking_number: "YT-DEL-7".to_string(),
    };
    client
        .push_status(&target, &order_id, &delivered)
        .await
        .expect("delivered");
    let notes = sim.notes(&order_id);
    let note = notes.last().expect("a note");
    assert_eq!(note.note, "Delivered: YT-DEL-7");
    assert!(!note.customer_note);

    let cancel = StatusPush::Cancelled {
        reason: "customer asked".to_string(),
    };
    client
        .push_status(&target, &order_id, &cancel)
        .await
        .expect("cancelled");
    assert_eq!(sim.status(&order_id).as_deref(), Some("cancelled"));
    client
        .push_status(&target, &order_id, &cancel)
        .await
        .expect("cancelled twice");
    assert_eq!(
        count_requests(&sim.requests(), "PUT", "/orders/"),
        1,
        "already cancelled: no write"
    );

    let error = client
        .push_status(&target, "424242", &cancel)
        .await
        .expect_err("unknown order");
    assert!(matches!(&error, StorefrontError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn woocommerce_products_page_counts_pages() {
    let sim = WooCommerceSim::start(SimConfig::new(5).catalogue(big_catalogue(56)))
        .await
        .expect("start");
    let target = woo_target(&sim);
    let client = client();
    let first = client.products_page(&target, None).await.expect("first page");
    assert_eq!(first.next.as_deref(), Some("2"));
    let second = client.products_page(&target, Some("2")).await.expect("second page");
    check_two_pages(&first, &second, 56);
    // A simple product is its own variant.
    let gadget = first
        .products
        .iter()
        .chain(&second.products)
        .find(|product| product.title == "Gadget 3")
        .expect("listed");
    assert_eq!(gadget.variants.len(), 1);
    assert_eq!(gadget.variants[0].platform_variant_id, gadget.platform_product_id);

    let error = client
        .products_page(&target, Some("two"))
        .await
        .expect_err("not a page number");
    assert!(matches!(error, StorefrontError::BadResponse(_)));
}

#[tokio::test]
async fn woocommerce_rate_limit_and_server_errors() {
    let sim = woocommerce().await;
    let target = woo_target(&sim);
    let client = client();
    sim.rate_limit_next(1, Duration::from_secs(3));
    let error = client.products_page(&target, None).await.expect_err("rate limited");
    assert_eq!(
        error,
        StorefrontError::RateLimited {
            retry_after: Some(Duration::from_secs(3))
        }
    );
    sim.fail_next(1);
    let error = client.check(&target).await.expect_err("server error");
    assert!(
        matches!(&error, StorefrontError::Unavailable(m) if m.contains("500")),
        "{error:?}"
    );
    client.check(&target).await.expect("then it works");
}

// ---------------------------------------------------------------------------------------------
// Wix
// ---------------------------------------------------------------------------------------------

async fn wix() -> WixSim {
    WixSim::start(SimConfig::new(13).shop_name("Birch Pets"))
        .await
        .expect("the Wix simulator starts")
}

fn wix_lines(sim: &WixSim, order_id: &str) -> Vec<PushLine> {
    let order = sim.order(order_id).expect("the order exists");
    push_lines(&order, "lineItems", |line| {
        line["physicalProperties"]["sku"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    })
}

#[tokio::test]
async fn wix_check_reads_the_site() {
    let sim = wix().await;
    let info = client().check(&wix_target(&sim)).await.expect("check");
    assert_eq!(info.name, "Birch Pets");
    assert_eq!(info.currency.as_deref(), Some("USD"));

    let mut wrong = wix_target(&sim);
    wrong.connection.api_key = Some("00000000-0000-0000-0000-00000000beef".to_string());
    let error = client().check(&wrong).await.expect_err("a wrong site id is refused");
    assert!(matches!(&error, StorefrontError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn wix_push_fulfillment_creates_it_once() {
    let sim = wix().await;
    let target = wix_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    let lines = wix_lines(&sim, &order_id);
    let push = fulfillment_push(&order_id, lines.clone(), "WX123456789");

    client.push_fulfillment(&target, &push).await.expect("fulfilled");
    let fulfillments = sim.fulfillments(&order_id);
    assert_eq!(fulfillments.len(), 1);
    let fulfillment = &fulfillments[0];
    assert_eq!(fulfillment.tracking_number.as_deref(), Some("WX123456789"));
    assert_eq!(fulfillment.tracking_company.as_deref(), Some("YunExpress"));
    assert_eq!(
        fulfillment.tracking_url.as_deref(),
        Some("https://www.yuntrack.com/parcelTracking?id=WX123456789")
    );
    let shipped: BTreeMap<String, u32> = fulfillment
        .lines
        .iter()
        .map(|line| (line.line_id.clone(), line.quantity))
        .collect();
    let pushed: BTreeMap<String, u32> = lines
        .iter()
        .map(|line| (line.external_id.clone().expect("id"), line.quantity))
        .collect();
    assert_eq!(shipped, pushed);
    assert_eq!(sim.fulfillment_status(&order_id).as_deref(), Some("FULFILLED"));

    client
        .push_fulfillment(&target, &push)
        .await
        .expect("second push is fine");
    assert_eq!(sim.fulfillments(&order_id).len(), 1);
    assert_eq!(count_requests(&sim.requests(), "POST", "/create-fulfillment"), 1);

    let mut without_id = lines;
    without_id[0].external_id = None;
    let error = client
        .push_fulfillment(&target, &fulfillment_push(&order_id, without_id, "WX-2"))
        .await
        .expect_err("a line without a Wix id");
    assert!(matches!(&error, StorefrontError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn wix_reship_of_a_fully_fulfilled_order_writes_nothing() {
    let sim = wix().await;
    let target = wix_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    let lines = wix_lines(&sim, &order_id);
    client
        .push_fulfillment(&target, &fulfillment_push(&order_id, lines.clone(), "WX-OLD-1"))
        .await
        .expect("fulfilled");
    let before = sim.requests().len();
    client
        .push_fulfillment(&target, &reship_push(&order_id, lines.clone(), "WX-NEW-2", "WX-OLD-1"))
        .await
        .expect("nothing left to fulfil is fine");
    let fulfillments = sim.fulfillments(&order_id);
    assert_eq!(fulfillments.len(), 1);
    assert_eq!(fulfillments[0].tracking_number.as_deref(), Some("WX-OLD-1"));
    let writes = sim.requests()[before..].iter().filter(|r| r.method != "GET").count();
    assert_eq!(writes, 0, "only read");

    // Without the reship mark the same push asks Wix to fulfil again, which it refuses.
    let error = client
        .push_fulfillment(&target, &fulfillment_push(&order_id, lines, "WX-NEW-2"))
        .await
        .expect_err("over-fulfilling");
    assert!(matches!(&error, StorefrontError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn wix_push_status_delivered_and_cancelled() {
    let sim = wix().await;
    let target = wix_target(&sim);
    let client = client();
    let order_id = sim.create_order().expect("an order");
    let before = sim.requests().len();
    let delivered = StatusPush::Delivered {
        tracking_number: "WX-1".to_string(),
    };
    client
        .push_status(&target, &order_id, &delivered)
        .await
        .expect("delivered");
    assert_eq!(sim.requests().len(), before, "Wix has no delivered status: no call");

    let cancel = StatusPush::Cancelled {
        reason: "fraud".to_string(),
    };
    client
        .push_status(&target, &order_id, &cancel)
        .await
        .expect("cancelled");
    assert_eq!(sim.status(&order_id).as_deref(), Some("CANCELED"));
    client
        .push_status(&target, &order_id, &cancel)
        .await
        .expect("cancelled twice");
    assert_eq!(sim.status(&order_id).as_deref(), Some("CANCELED"));
}

#[tokio::test]
async fn wix_products_page_pages_by_offset() {
    let sim = WixSim::start(SimConfig::new(9).catalogue(big_catalogue(56)))
        .await
        .expect("start");
    let target = wix_target(&sim);
    let client = client();
    let first = client.products_page(&target, None).await.expect("first page");
    assert_eq!(first.next.as_deref(), Some("50"));
    let second = client
        .products_page(&target, first.next.as_deref())
        .await
        .expect("second page");
    check_two_pages(&first, &second, 56);
}

#[tokio::test]
async fn wix_prices_in_a_three_decimal_currency_are_exact() {
    let catalogue = vec![
        SimProduct::simple("Lamp", "LAMP-1", "12.345"),
        SimProduct::simple("Rug", "RUG-1", "7.5"),
    ];
    let sim = WixSim::start(SimConfig::new(2).currency("KWD").catalogue(catalogue))
        .await
        .expect("start");
    let mut target = wix_target(&sim);
    target.currency = Currency::parse("KWD").expect("KWD");
    let page = client().products_page(&target, None).await.expect("page");
    let minor: BTreeMap<String, i64> = page
        .products
        .iter()
        .flat_map(|product| &product.variants)
        .map(|variant| (variant.sku.clone(), variant.price.minor))
        .collect();
    assert_eq!(minor["LAMP-1"], 12345);
    assert_eq!(minor["RUG-1"], 7500);
    assert_eq!(page.next, None);

    // Prices in another currency than the store's are not taken as the store's.
    let mut wrong = wix_target(&sim);
    wrong.currency = usd();
    let error = client()
        .products_page(&wrong, None)
        .await
        .expect_err("currency mismatch");
    assert!(
        matches!(&error, StorefrontError::BadResponse(m) if m.contains("KWD")),
        "{error:?}"
    );
}

#[tokio::test]
async fn wix_rate_limit_and_server_errors() {
    let sim = wix().await;
    let target = wix_target(&sim);
    let client = client();
    sim.rate_limit_next(1, Duration::from_secs(2));
    let error = client.products_page(&target, None).await.expect_err("rate limited");
    assert_eq!(
        error,
        StorefrontError::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    sim.fail_next(1);
    let order_id = sim.create_order().expect("an order");
    let cancel = StatusPush::Cancelled {
        reason: "x".to_string(),
    };
    let error = client
        .push_status(&target, &order_id, &cancel)
        .await
        .expect_err("server error");
    assert!(matches!(&error, StorefrontError::Unavailable(_)), "{error:?}");
}

// ---------------------------------------------------------------------------------------------
// Every platform: configuration and transport
// ---------------------------------------------------------------------------------------------

/// Asserts a `NotConfigured` error that names `field`.
fn not_configured<T: std::fmt::Debug>(result: Result<T, StorefrontError>, field: &str) {
    match result {
        Err(StorefrontError::NotConfigured(message)) => {
            assert!(message.contains(field), "{message:?} should name {field}")
        }
        other => panic!("expected NotConfigured naming {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_connection_fields_are_not_configured() {
    let client = client();
    let shopify_without_domain = target(
        Platform::Shopify,
        StoreConnection {
            access_token: Some("shpat_x".to_string()),
            ..StoreConnection::default()
        },
    );
    not_configured(client.check(&shopify_without_domain).await, "domain");
    let shopify_without_token = target(
        Platform::Shopify,
        StoreConnection {
            domain: Some("pine.myshopify.com".to_string()),
            access_token: Some("   ".to_string()),
            ..StoreConnection::default()
        },
    );
    not_configured(client.check(&shopify_without_token).await, "access_token");
    let woo_without_secret = target(
        Platform::Woocommerce,
        StoreConnection {
            domain: Some("maple.example".to_string()),
            api_key: Some("ck_x".to_string()),
            ..StoreConnection::default()
        },
    );
    not_configured(client.products_page(&woo_without_secret, None).await, "api_secret");
    let wix_without_site = target(
        Platform::Wix,
        StoreConnection {
            access_token: Some("IST.key".to_string()),
            ..StoreConnection::default()
        },
    );
    not_configured(
        client
            .push_status(
                &wix_without_site,
                "o-1",
                &StatusPush::Cancelled { reason: String::new() },
            )
            .await,
        "api_key",
    );
    let bad_base = target(
        Platform::Wix,
        StoreConnection {
            api_base: Some("not a url".to_string()),
            access_token: Some("IST.key".to_string()),
            api_key: Some("site".to_string()),
            ..StoreConnection::default()
        },
    );
    not_configured(client.check(&bad_base).await, "api_base");
    for platform in [Platform::Api, Platform::Csv] {
        let push = fulfillment_push("1", Vec::new(), "T");
        not_configured(
            client
                .push_fulfillment(&target(platform, StoreConnection::default()), &push)
                .await,
            platform.as_str(),
        );
    }
}

#[tokio::test]
async fn unreachable_and_silent_platforms_are_unavailable() {
    // Nobody listens: the port of a listener just closed.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let mut connection = StoreConnection {
        api_base: Some(format!("http://{closed}")),
        access_token: Some("shpat_secret_value_123".to_string()),
        ..StoreConnection::default()
    };
    let error = client()
        .check(&target(Platform::Shopify, connection.clone()))
        .await
        .expect_err("connection refused");
    assert!(matches!(&error, StorefrontError::Unavailable(_)), "{error:?}");

    // A listener that accepts and never answers: the timeout ends the call.
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = silent.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    connection.api_base = Some(format!("http://{address}"));
    let started = std::time::Instant::now();
    let error = HttpStorefronts::new()
        .with_timeout(Duration::from_millis(300))
        .check(&target(Platform::Shopify, connection))
        .await
        .expect_err("timed out");
    assert!(
        matches!(&error, StorefrontError::Unavailable(m) if m.contains("timed out")),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn unreadable_answers_and_error_bodies() {
    let shopify_at = |base: String| {
        target(
            Platform::Shopify,
            StoreConnection {
                api_base: Some(base),
                access_token: Some("shpat_secret_value_123".to_string()),
                ..StoreConnection::default()
            },
        )
    };
    let html = raw_server(raw_response("200 OK", "<html>maintenance</html>")).await;
    let error = client().check(&shopify_at(html)).await.expect_err("not JSON");
    assert!(matches!(&error, StorefrontError::BadResponse(_)), "{error:?}");

    // A refusal keeps the platform's words, cut short, with the token blanked out.
    let long_reason = format!(
        "{{\"errors\":\"token shpat_secret_value_123 may not do this {}\"}}",
        "x".repeat(2000)
    );
    let refusing = raw_server(raw_response("422 Unprocessable Entity", &long_reason)).await;
    let error = client().check(&shopify_at(refusing)).await.expect_err("refused");
    let StorefrontError::Refused(message) = &error else {
        panic!("expected Refused, got {error:?}");
    };
    assert!(message.contains("may not do this"));
    assert!(!message.contains("shpat_secret_value_123"), "{message}");
    assert!(message.len() < 500, "cut short: {} bytes", message.len());

    // Retry-After in seconds with decimals, and a 503.
    let limited = raw_server(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0.5\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_string(),
    )
    .await;
    assert_eq!(
        client().check(&shopify_at(limited)).await,
        Err(StorefrontError::RateLimited {
            retry_after: Some(Duration::from_millis(500))
        })
    );
    let down = raw_server(raw_response("503 Service Unavailable", "{}")).await;
    let error = client().check(&shopify_at(down)).await.expect_err("down");
    assert!(
        matches!(&error, StorefrontError::Unavailable(m) if m.contains("503")),
        "{error:?}"
    );
    let forbidden = raw_server(raw_response("403 Forbidden", "{\"errors\":\"scope missing\"}")).await;
    let error = client().check(&shopify_at(forbidden)).await.expect_err("forbidden");
    assert!(
        matches!(&error, StorefrontError::Unauthorized(m) if m.contains("scope missing")),
        "{error:?}"
    );
}
