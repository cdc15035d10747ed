//! WooCommerce: the consumer key and secret checked, a catalogue of two numbered pages pulled
//! (variable products through their variations), `order.*` webhooks made into one order each,
//! and shipments written back as a Shipment Tracking item, an order note and the `completed`
//! status; deliveries as a note, cancellations as the `cancelled` status.

use crate::support::{self, Sim, SimLine, SimOrder, cents, id_text};
use dropline_sim::{
    ApiRequest, OrderRun, ProductIds, RefundedLine, Scenario, SimConfig, SimError, SimProduct, Topic, WooCommerceSim,
};
use dropline_testkit::TestApp;
use serde_json::{Value, json};
use std::time::Duration;

backend_tests!(
    the_consumer_key_and_secret_are_checked,
    a_catalogue_of_two_pages_is_pulled_with_its_variations,
    orders_arrive_once_each,
    a_shipment_becomes_a_tracking_item_a_note_and_completed,
    a_delivery_is_noted_once_even_when_its_job_runs_twice,
    the_seller_cancelling_cancels_the_woocommerce_order,
    a_rate_limited_tracking_item_is_retried_after_retry_after,
    a_refund_reaches_woocommerce_once_through_the_gateway,
    a_refund_survives_a_failure_and_a_lost_answer,
    a_refund_the_gateway_refuses_leaves_an_exception,
);

impl Sim for WooCommerceSim {
    const PLATFORM: &'static str = WooCommerceSim::PLATFORM;

    fn base_url(&self) -> &str {
        WooCommerceSim::base_url(self)
    }

    fn set_webhook_url(&self, url: String) {
        WooCommerceSim::set_webhook_url(self, url);
    }

    fn connection(&self) -> Value {
        json!({
            "domain": self.site_url().trim_start_matches("https://"),
            "webhook_secret": self.webhook_secret(),
            "api_key": self.consumer_key(),
            "api_secret": self.consumer_secret(),
            "api_base": WooCommerceSim::base_url(self),
        })
    }

    fn wrong_connections(&self) -> Vec<(&'static str, Value)> {
        let with = |key: String, secret: String| {
            json!({
                "domain": self.site_url().trim_start_matches("https://"),
                "webhook_secrets": [self.webhook_secret()],
                "api_key": key,
                "api_secret": secret,
                "api_base": WooCommerceSim::base_url(self),
            })
        };
        vec![
            (
                "api_key",
                with(format!("ck_{}", "0".repeat(40)), self.consumer_secret().to_string()),
            ),
            (
                "api_secret",
                with(self.consumer_key().to_string(), format!("cs_{}", "0".repeat(40))),
            ),
        ]
    }

    fn shop_name(&self) -> String {
        // WooCommerce's API has no shop name: the site's address stands for it.
        self.site_url().to_string()
    }

    fn add_product(&self, product: SimProduct) -> Result<ProductIds, SimError> {
        WooCommerceSim::add_product(self, product)
    }

    fn order(&self, id: &str) -> SimOrder {
        let order = WooCommerceSim::order(self, id).unwrap_or_else(|| panic!("no WooCommerce order {id}"));
        let items = order["line_items"].as_array().expect("line_items");
        let lines = items
            .iter()
            .map(|line| {
                // A simple product is its own variant: `variation_id` is 0.
                let variant = match line["variation_id"].as_u64() {
                    Some(0) => &line["product_id"],
                    _ => &line["variation_id"],
                };
                SimLine {
                    line_id: id_text(&line["id"]),
                    variant_id: id_text(variant),
                    sku: line["sku"].as_str().expect("sku").to_string(),
                    quantity: line["quantity"].as_u64().expect("quantity"),
                    unit_price: cents(&line["price"]),
                }
            })
            .collect();
        SimOrder {
            id: id_text(&order["id"]),
            number: order["number"].as_str().expect("number").to_string(),
            lines,
            subtotal: items.iter().map(|line| cents(&line["subtotal"])).sum(),
            shipping: cents(&order["shipping_total"]),
            total: cents(&order["total"]),
        }
    }

    fn requests(&self) -> Vec<ApiRequest> {
        WooCommerceSim::requests(self)
    }

    fn rate_limit_next(&self, count: u32, retry_after: Duration) {
        WooCommerceSim::rate_limit_next(self, count, retry_after);
    }

    fn fail_next(&self, count: u32) {
        WooCommerceSim::fail_next(self, count);
    }

    fn refunds(&self, id: &str) -> Vec<dropline_sim::Refund> {
        WooCommerceSim::refunds(self, id)
    }

    fn refuse_refunds(&self, reason: Option<&str>) {
        WooCommerceSim::refuse_refunds(self, reason);
    }

    fn lose_next_refund_answers(&self, count: u32) {
        WooCommerceSim::lose_next_refund_answers(self, count);
    }

    async fn deliver_orders(&self, count: usize, scenario: &Scenario) -> Vec<OrderRun> {
        WooCommerceSim::deliver_orders(self, count, scenario)
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

/// A WooCommerce site with the demo catalogue.
async fn site() -> WooCommerceSim {
    WooCommerceSim::start(SimConfig::new(21))
        .await
        .expect("start the WooCommerce simulator")
}

/// The notes dropline wrote (not the ones the site wrote itself), oldest first.
fn api_notes(sim: &WooCommerceSim, order: &str) -> Vec<(String, bool)> {
    sim.notes(order)
        .into_iter()
        .filter(|note| note.author != "system")
        .map(|note| (note.note, note.customer_note))
        .collect()
}

async fn the_consumer_key_and_secret_are_checked(app: TestApp) {
    let sim = site().await;
    support::connection_is_tested(&app, &sim, (502, "partner_refused")).await;
}

async fn a_catalogue_of_two_pages_is_pulled_with_its_variations(app: TestApp) {
    let sim = WooCommerceSim::start(SimConfig::new(22).catalogue(Vec::new()))
        .await
        .unwrap();
    support::catalogue_is_pulled(&app, &sim, support::large_catalogue(53, true), 2).await;
    let calls = support::calls(&sim.requests());
    // Three pulls of two pages; the variations of every variable product (35, then 36) once
    // per pull.
    assert_eq!(calls.get("GET /wp-json/wc/v3/products"), Some(&6), "{calls:?}");
    let variations: usize = calls
        .iter()
        .filter(|(call, _)| call.ends_with("/variations"))
        .map(|(_, count)| count)
        .sum();
    assert_eq!(variations, 35 + 35 + 36, "{calls:?}");
    assert!(sim.requests().iter().all(|r| r.status == 200));
}

async fn orders_arrive_once_each(app: TestApp) {
    let sim = site().await;
    support::orders_arrive_once(&app, &sim, false).await;
}

async fn a_shipment_becomes_a_tracking_item_a_note_and_completed(app: TestApp) {
    let sim = site().await;
    let written = support::shipment_is_written_back(&app, &sim).await;
    let external = &written.external_id;

    let tracking = sim.tracking_items(external);
    assert_eq!(tracking.len(), 1, "{tracking:#?}");
    assert_eq!(
        (
            tracking[0].tracking_number.as_str(),
            tracking[0].provider.as_str(),
            tracking[0].custom_provider,
            tracking[0].link.as_str(),
        ),
        (
            written.tracking_number.as_str(),
            support::CARRIER,
            true,
            written.tracking_url.as_str(),
        )
    );
    let shipped = time::Date::parse(
        &tracking[0].date_shipped,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .expect("date_shipped is a date");
    let today = time::OffsetDateTime::now_utc().date();
    assert!(
        shipped == today || shipped.next_day() == Some(today),
        "shipped {shipped}, today {today}"
    );
    let shipped_note = format!(
        "Your order has shipped with {}. Tracking number: {}. Track it at {}",
        support::CARRIER,
        written.tracking_number,
        written.tracking_url
    );
    // Private: the store does not let the platform email its customers.
    assert_eq!(api_notes(&sim, external), [(shipped_note.clone(), false)]);
    assert_eq!(sim.status(external).as_deref(), Some("completed"));
    let system: Vec<String> = sim
        .notes(external)
        .into_iter()
        .filter(|note| note.author == "system")
        .map(|note| note.note)
        .collect();
    assert_eq!(system, ["Order status changed from Processing to Completed."]);

    // The job run again: nothing added, the order left completed.
    let before = sim.requests().len();
    support::write_back_runs_again(&app, &written).await;
    assert_eq!(sim.tracking_items(external).len(), 1);
    assert_eq!(sim.notes(external).len(), 2);
    assert!(
        support::writes(&sim.requests()[before..]).is_empty(),
        "a re-run only reads"
    );

    // Delivered in dropline: a private note says so.
    support::delivery_is_written_back(&app, &written).await;
    assert_eq!(
        api_notes(&sim, external),
        [
            (shipped_note, false),
            (format!("Delivered: {}", written.tracking_number), false)
        ]
    );
    assert_eq!(sim.status(external).as_deref(), Some("completed"));
}

/// Jobs run at least once: the delivery's job run a second time (its first run wrote the note,
/// then the worker died before marking it done) must not note the delivery twice.
async fn a_delivery_is_noted_once_even_when_its_job_runs_twice(app: TestApp) {
    let sim = site().await;
    let written = support::shipment_is_written_back(&app, &sim).await;
    support::delivery_is_written_back(&app, &written).await;
    support::delivery_write_back_runs_again(&app, &written).await;
    let delivered = format!("Delivered: {}", written.tracking_number);
    let notes: Vec<String> = api_notes(&sim, &written.external_id)
        .into_iter()
        .map(|(note, _)| note)
        .filter(|note| *note == delivered)
        .collect();
    assert_eq!(notes, [delivered], "the delivery is noted once");
}

async fn the_seller_cancelling_cancels_the_woocommerce_order(app: TestApp) {
    let sim = site().await;
    let store = support::connected_store(&app, &sim, false).await;
    let external = support::seller_cancels(&app, &sim, &store).await;
    assert_eq!(sim.status(&external).as_deref(), Some("cancelled"));
    assert!(sim.tracking_items(&external).is_empty());
    let notes: Vec<String> = sim.notes(&external).into_iter().map(|note| note.note).collect();
    assert_eq!(notes, ["Order status changed from Processing to Cancelled."]);
}

async fn a_rate_limited_tracking_item_is_retried_after_retry_after(app: TestApp) {
    let sim = site().await;
    let written = support::rate_limited_write_back(&app, &sim).await;
    let tracking = sim.tracking_items(&written.external_id);
    assert_eq!(tracking.len(), 1, "{tracking:#?}");
    assert_eq!(tracking[0].tracking_number, written.tracking_number);
    assert_eq!(api_notes(&sim, &written.external_id).len(), 1);
    assert_eq!(sim.status(&written.external_id).as_deref(), Some("completed"));
}

/// The POSTs of refunds the simulator answered.
fn refund_posts(sim: &WooCommerceSim) -> Vec<ApiRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/refunds"))
        .collect()
}

async fn a_refund_reaches_woocommerce_once_through_the_gateway(app: TestApp) {
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
        "the unit refunded, by its order item id, with its refund total"
    );
    assert_eq!(made.note.as_deref(), Some("arrived broken"));
    assert_eq!(
        made.meta,
        vec![("_dropline_refund_id".to_string(), refunded.refund_id.clone())],
        "the refund carries dropline's key"
    );
    assert!(
        made.transactions.iter().all(|t| t.through_gateway),
        "api_refund: the gateway returns the money: {made:#?}"
    );
    assert!(!made.restock, "api_restock is false: the goods were never in stock");
    assert_eq!(
        WooCommerceSim::status(&sim, &refunded.external_id).as_deref(),
        Some("processing"),
        "a partial refund leaves the order as it was"
    );
    let order = WooCommerceSim::order(&sim, &refunded.external_id).expect("the order");
    assert_eq!(
        order["refunds"][0]["total"],
        format!("-{}.{:02}", refunded.unit_price / 100, refunded.unit_price % 100)
    );
    assert_eq!(refund_posts(&sim).len(), 1);
}

async fn a_refund_survives_a_failure_and_a_lost_answer(app: TestApp) {
    let sim = site().await;
    support::refund_survives_platform_failures(&app, &sim).await;
    let posts = refund_posts(&sim);
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [201, 500],
        "one POST per refund: the unanswered one was found, not sent again"
    );
}

async fn a_refund_the_gateway_refuses_leaves_an_exception(app: TestApp) {
    let sim = site().await;
    support::refused_refund_leaves_an_exception(&app, &sim).await;
    let posts = refund_posts(&sim);
    // WooCommerce answers a gateway's refusal with a 500 of its own code: read as a refusal
    // for good, the job is not retried.
    assert_eq!(posts.len(), 1, "asked once, not retried: {posts:?}");
    assert_eq!(posts[0].status, 500);
}
