//! Wix: the API key and site id checked, the Stores catalogue pulled by offset, eCommerce order
//! webhooks (JWTs verified with the app's public key) made into one order each, and shipments
//! written back as eCommerce fulfillments; cancellations through the cancel call.

use crate::support::{self, Sim, SimLine, SimOrder, cents, id_text};
use dropline_sim::{
    ApiRequest, OrderRun, ProductIds, RefundedLine, Scenario, SimConfig, SimError, SimProduct, Topic, WixSim,
};
use dropline_testkit::TestApp;
use serde_json::{Value, json};
use std::time::Duration;

backend_tests!(
    the_api_key_and_site_id_are_checked,
    a_catalogue_of_two_pages_is_pulled_whole_and_once,
    products_without_options_are_pulled_and_their_orders_mapped,
    orders_arrive_once_each,
    a_shipment_becomes_one_fulfillment,
    the_seller_cancelling_cancels_the_wix_order,
    a_rate_limited_fulfillment_is_retried_after_retry_after,
    a_refund_reaches_wix_once_through_refund_payments,
    a_refund_survives_a_failure_and_a_lost_answer,
    a_refund_wix_refuses_leaves_an_exception,
);

impl Sim for WixSim {
    const PLATFORM: &'static str = WixSim::PLATFORM;

    fn base_url(&self) -> &str {
        WixSim::base_url(self)
    }

    fn set_webhook_url(&self, url: String) {
        WixSim::set_webhook_url(self, url);
    }

    fn connection(&self) -> Value {
        json!({
            "domain": "sim-supply-co.example",
            "webhook_secret": self.public_key_pem(),
            "access_token": self.api_key(),
            "api_key": self.site_id(),
            "api_base": WixSim::base_url(self),
        })
    }

    fn wrong_connections(&self) -> Vec<(&'static str, Value)> {
        let with = |api_key: &str, site_id: &str| {
            json!({
                "domain": "sim-supply-co.example",
                "webhook_secrets": [self.public_key_pem()],
                "access_token": api_key,
                "api_key": site_id,
                "api_base": WixSim::base_url(self),
            })
        };
        vec![
            ("access_token", with("IST.not-the-key", self.site_id())),
            ("api_key", with(self.api_key(), "00000000-1111-2222-3333-444444444444")),
        ]
    }

    fn shop_name(&self) -> String {
        "Sim Supply Co".to_string()
    }

    fn add_product(&self, product: SimProduct) -> Result<ProductIds, SimError> {
        WixSim::add_product(self, product)
    }

    fn order(&self, id: &str) -> SimOrder {
        let order = WixSim::order(self, id).unwrap_or_else(|| panic!("no Wix order {id}"));
        let lines = order["lineItems"]
            .as_array()
            .expect("lineItems")
            .iter()
            .map(|line| SimLine {
                line_id: id_text(&line["id"]),
                variant_id: id_text(&line["catalogReference"]["options"]["variantId"]),
                sku: line["physicalProperties"]["sku"].as_str().expect("sku").to_string(),
                quantity: line["quantity"].as_u64().expect("quantity"),
                unit_price: cents(&line["price"]["amount"]),
            })
            .collect();
        let summary = &order["priceSummary"];
        SimOrder {
            id: id_text(&order["id"]),
            number: order["number"].as_str().expect("number").to_string(),
            lines,
            subtotal: cents(&summary["subtotal"]["amount"]),
            shipping: cents(&summary["shipping"]["amount"]),
            total: cents(&summary["total"]["amount"]),
        }
    }

    fn requests(&self) -> Vec<ApiRequest> {
        WixSim::requests(self)
    }

    fn rate_limit_next(&self, count: u32, retry_after: Duration) {
        WixSim::rate_limit_next(self, count, retry_after);
    }

    fn fail_next(&self, count: u32) {
        WixSim::fail_next(self, count);
    }

    fn refunds(&self, id: &str) -> Vec<dropline_sim::Refund> {
        WixSim::refunds(self, id)
    }

    fn refuse_refunds(&self, reason: Option<&str>) {
        WixSim::refuse_refunds(self, reason);
    }

    fn lose_next_refund_answers(&self, count: u32) {
        WixSim::lose_next_refund_answers(self, count);
    }

    async fn deliver_orders(&self, count: usize, scenario: &Scenario) -> Vec<OrderRun> {
        WixSim::deliver_orders(self, count, scenario)
            .await
            .expect("the simulator delivers")
    }

    async fn new_order(&self) -> String {
        let id = self.create_order().expect("an order");
        let delivery = self.send(&id, Topic::Created).await.expect("the simulator delivers");
        assert_eq!(delivery.statuses(), [Some(200)]);
        id
    }
}

/// A Wix site with the products of the demo catalogue that have options. Wix gives the one
/// variant of every product without options the same all-zero id; those products have their
/// own test (`products_without_options_are_pulled_and_their_orders_mapped`), so that the other
/// tests say what they are about.
async fn site() -> WixSim {
    let with_options = SimProduct::demo_catalogue("USD")
        .into_iter()
        .filter(|product| product.variants.iter().all(|variant| !variant.options.is_empty()))
        .collect();
    WixSim::start(SimConfig::new(31).catalogue(with_options))
        .await
        .expect("start the Wix simulator")
}

async fn the_api_key_and_site_id_are_checked(app: TestApp) {
    let sim = site().await;
    support::connection_is_tested(&app, &sim, (502, "partner_refused")).await;
}

async fn a_catalogue_of_two_pages_is_pulled_whole_and_once(app: TestApp) {
    let sim = WixSim::start(SimConfig::new(32).catalogue(Vec::new())).await.unwrap();
    support::catalogue_is_pulled(&app, &sim, support::large_catalogue(55, false), 2).await;
    let calls = support::calls(&sim.requests());
    assert_eq!(calls.get("POST /stores/v1/products/query"), Some(&6), "{calls:?}");
}

/// Three products without options, each with Wix's all-zero variant id, beside products with
/// options: each is pulled as a variant of its own, and order lines of each map to it.
async fn products_without_options_are_pulled_and_their_orders_mapped(app: TestApp) {
    let sim = WixSim::start(SimConfig::new(33).catalogue(Vec::new())).await.unwrap();
    let stocked = support::stock(&sim, SimProduct::demo_catalogue("USD"));
    let simple = stocked
        .iter()
        .filter(|(product, _)| product.variants[0].options.is_empty())
        .count();
    assert_eq!(simple, 3);
    let store_id = support::create_store(&app, &sim, json!({})).await;
    support::pull_catalogue(&app, &store_id).await;
    let mut first = support::catalogue(&app, &store_id).await;
    support::assert_catalogue_is(&first, &stocked);
    // Pulled again: each product without options keeps its own variant.
    support::pull_catalogue(&app, &store_id).await;
    let mut catalogue = support::catalogue(&app, &store_id).await;
    first.sort_by(|a, b| a.id.cmp(&b.id));
    catalogue.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(catalogue, first, "a second pull changes nothing");

    sim.set_webhook_url(format!("{}/webhooks/wix/{store_id}", app.base_url()));
    let runs = Sim::deliver_orders(&sim, 12, &Scenario::new()).await;
    let mut simple_lines = 0;
    for run in &runs {
        assert!(run.all_accepted(), "{:?}", run.statuses());
        let expected = Sim::order(&sim, &run.order_id);
        simple_lines += expected
            .lines
            .iter()
            .filter(|line| support::shared_variant_id(&line.variant_id))
            .count();
        let order = support::order_by_external_id(&app, &store_id, &run.order_id).await;
        support::assert_order_is(&order, &expected, &catalogue);
    }
    assert!(simple_lines > 0, "some order has a product without options");
}

async fn orders_arrive_once_each(app: TestApp) {
    let sim = site().await;
    support::orders_arrive_once(&app, &sim, true).await;
}

async fn a_shipment_becomes_one_fulfillment(app: TestApp) {
    let sim = site().await;
    let written = support::shipment_is_written_back(&app, &sim).await;
    let external = &written.external_id;
    let fulfillments = sim.fulfillments(external);
    assert_eq!(fulfillments.len(), 1, "{fulfillments:#?}");
    let fulfillment = &fulfillments[0];
    assert_eq!(
        (
            fulfillment.tracking_number.as_deref(),
            fulfillment.tracking_company.as_deref(),
            fulfillment.tracking_url.as_deref(),
        ),
        (
            Some(written.tracking_number.as_str()),
            Some(support::CARRIER),
            Some(written.tracking_url.as_str()),
        )
    );
    assert_eq!(
        support::fulfilled(&fulfillment.lines),
        Sim::order(&sim, external).line_quantities()
    );
    assert_eq!(sim.fulfillment_status(external).as_deref(), Some("FULFILLED"));

    // The job run again: still one fulfillment.
    let before = sim.requests().len();
    support::write_back_runs_again(&app, &written).await;
    assert_eq!(sim.fulfillments(external).len(), 1);
    assert!(
        support::writes(&sim.requests()[before..]).is_empty(),
        "a re-run only reads"
    );

    // Delivered in dropline: Wix has no delivery status, so nothing is sent.
    let before = sim.requests().len();
    support::delivery_is_written_back(&app, &written).await;
    assert_eq!(sim.requests().len(), before, "nothing to tell Wix");
    assert_eq!(sim.status(external).as_deref(), Some("APPROVED"));
    support::delivery_write_back_runs_again(&app, &written).await;
    assert_eq!(sim.requests().len(), before, "still nothing to tell Wix");
}

async fn the_seller_cancelling_cancels_the_wix_order(app: TestApp) {
    let sim = site().await;
    let store = support::connected_store(&app, &sim, false).await;
    let external = support::seller_cancels(&app, &sim, &store).await;
    assert_eq!(sim.status(&external).as_deref(), Some("CANCELED"));
    assert!(sim.fulfillments(&external).is_empty());
}

async fn a_rate_limited_fulfillment_is_retried_after_retry_after(app: TestApp) {
    let sim = site().await;
    let written = support::rate_limited_write_back(&app, &sim).await;
    let fulfillments = sim.fulfillments(&written.external_id);
    assert_eq!(fulfillments.len(), 1, "{fulfillments:#?}");
    assert_eq!(
        fulfillments[0].tracking_number.as_deref(),
        Some(written.tracking_number.as_str())
    );
}

/// The Refund Payments calls the simulator answered.
fn refund_posts(sim: &WixSim) -> Vec<ApiRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/refund-payments"))
        .collect()
}

async fn a_refund_reaches_wix_once_through_refund_payments(app: TestApp) {
    let sim = site().await;
    let refunded = support::refund_is_pushed_once(&app, &sim).await;
    let made = &sim.refunds(&refunded.external_id)[0];
    assert_eq!(
        made.lines,
        vec![RefundedLine {
            line_id: refunded.line_id.clone(),
            quantity: 1,
            amount: refunded.unit_price,
        }],
        "the unit refunded, by its Wix line item id"
    );
    assert_eq!(made.transactions.len(), 1, "{made:#?}");
    assert!(
        made.transactions[0].through_gateway,
        "not an external refund: Wix has the provider return the money"
    );
    assert!(!made.restock, "restockInfo NO_ITEMS: the goods were never in stock");
    assert!(!made.notify_customer, "dropline emails the customer itself");
    let reason = made.note.as_deref().unwrap_or_default();
    assert!(
        reason.contains("arrived broken") && reason.contains(&refunded.refund_id) && reason.chars().count() <= 200,
        "the customer reason carries dropline's key: {reason}"
    );
    let order = WixSim::order(&sim, &refunded.external_id).expect("the order");
    assert_eq!(order["paymentStatus"], "PARTIALLY_REFUNDED");
    assert_eq!(refund_posts(&sim).len(), 1);
}

async fn a_refund_survives_a_failure_and_a_lost_answer(app: TestApp) {
    let sim = site().await;
    support::refund_survives_platform_failures(&app, &sim).await;
    let posts = refund_posts(&sim);
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 500],
        "one call per refund: the unanswered one was found, not sent again"
    );
}

async fn a_refund_wix_refuses_leaves_an_exception(app: TestApp) {
    let sim = site().await;
    support::refused_refund_leaves_an_exception(&app, &sim).await;
    let posts = refund_posts(&sim);
    assert_eq!(posts.len(), 1, "asked once, not retried: {posts:?}");
    assert_eq!(posts[0].status, 428);
}
