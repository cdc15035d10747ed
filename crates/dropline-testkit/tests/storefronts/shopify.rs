//! Shopify: the access token checked, a catalogue of two pages pulled through `page_info`
//! cursors, `orders/*` webhooks made into one order each, test orders kept aside, and shipments,
//! deliveries and cancellations written back through the fulfillment-order flow.

use crate::support::{self, Sim, SimLine, SimOrder, cents, id_of, id_text};
use dropline_sim::{
    ApiRequest, OrderRun, ProductIds, RefundedLine, Scenario, ShopifySim, SimConfig, SimError, SimProduct, Topic,
};
use dropline_testkit::TestApp;
use serde_json::{Value, json};
use std::time::Duration;

backend_tests!(
    the_access_token_is_checked_against_the_shop,
    a_catalogue_of_two_pages_is_pulled_whole_and_once,
    orders_arrive_once_each_and_test_orders_stay_aside,
    a_shipment_becomes_one_fulfillment_then_delivered,
    the_seller_cancelling_cancels_the_shopify_order,
    a_rate_limited_fulfillment_is_retried_after_retry_after,
    a_reshipped_parcel_moves_the_fulfillment_to_its_new_number,
    a_refund_reaches_shopify_once_against_the_sale,
    a_refund_survives_a_failure_and_a_lost_answer,
    a_refund_shopify_refuses_leaves_an_exception,
);

impl Sim for ShopifySim {
    const PLATFORM: &'static str = ShopifySim::PLATFORM;

    fn base_url(&self) -> &str {
        ShopifySim::base_url(self)
    }

    fn set_webhook_url(&self, url: String) {
        ShopifySim::set_webhook_url(self, url);
    }

    fn connection(&self) -> Value {
        json!({
            "domain": self.shop_domain(),
            "webhook_secret": self.webhook_secret(),
            "access_token": self.access_token(),
            "api_base": ShopifySim::base_url(self),
        })
    }

    fn wrong_connections(&self) -> Vec<(&'static str, Value)> {
        vec![(
            "access_token",
            json!({
                "domain": self.shop_domain(),
                "webhook_secrets": [self.webhook_secret()],
                "access_token": format!("shpat_{}", "0".repeat(32)),
                "api_base": ShopifySim::base_url(self),
            }),
        )]
    }

    fn shop_name(&self) -> String {
        "Sim Supply Co".to_string()
    }

    fn add_product(&self, product: SimProduct) -> Result<ProductIds, SimError> {
        ShopifySim::add_product(self, product)
    }

    fn order(&self, id: &str) -> SimOrder {
        let order = ShopifySim::order(self, id).unwrap_or_else(|| panic!("no Shopify order {id}"));
        let lines = order["line_items"]
            .as_array()
            .expect("line_items")
            .iter()
            .map(|line| SimLine {
                line_id: id_text(&line["id"]),
                variant_id: id_text(&line["variant_id"]),
                sku: line["sku"].as_str().expect("sku").to_string(),
                quantity: line["quantity"].as_u64().expect("quantity"),
                unit_price: cents(&line["price"]),
            })
            .collect();
        let shipping = order["shipping_lines"]
            .as_array()
            .expect("shipping_lines")
            .iter()
            .map(|line| cents(&line["price"]))
            .sum();
        SimOrder {
            id: id_text(&order["id"]),
            number: order["name"].as_str().expect("name").to_string(),
            lines,
            subtotal: cents(&order["subtotal_price"]),
            shipping,
            total: cents(&order["total_price"]),
        }
    }

    fn requests(&self) -> Vec<ApiRequest> {
        ShopifySim::requests(self)
    }

    fn rate_limit_next(&self, count: u32, retry_after: Duration) {
        ShopifySim::rate_limit_next(self, count, retry_after);
    }

    fn fail_next(&self, count: u32) {
        ShopifySim::fail_next(self, count);
    }

    fn refunds(&self, id: &str) -> Vec<dropline_sim::Refund> {
        ShopifySim::refunds(self, id)
    }

    fn refuse_refunds(&self, reason: Option<&str>) {
        ShopifySim::refuse_refunds(self, reason);
    }

    fn lose_next_refund_answers(&self, count: u32) {
        ShopifySim::lose_next_refund_answers(self, count);
    }

    async fn deliver_orders(&self, count: usize, scenario: &Scenario) -> Vec<OrderRun> {
        ShopifySim::deliver_orders(self, count, scenario)
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

/// A Shopify store with the demo catalogue.
async fn shop() -> ShopifySim {
    ShopifySim::start(SimConfig::new(11))
        .await
        .expect("start the Shopify simulator")
}

async fn the_access_token_is_checked_against_the_shop(app: TestApp) {
    let sim = shop().await;
    // A refused access token reaches the platform, which answers 401.
    support::connection_is_tested(&app, &sim, (502, "partner_refused")).await;

    // A store without an access token is not called at all.
    let mut body = sim.connection();
    body.as_object_mut().unwrap().remove("access_token");
    body["name"] = json!("No token");
    body["platform"] = json!("shopify");
    body["currency"] = json!("USD");
    let store = id_of(&app.admin().create_store(&body).await.expect(201));
    let before = sim.requests().len();
    let answer = app
        .admin()
        .post_empty(&format!("/api/v1/stores/{store}/connection/test"))
        .await;
    answer.expect_error(502, "partner_refused");
    assert!(answer.error_message().contains("access_token"), "{}", answer.text);
    assert_eq!(sim.requests().len(), before, "nothing was sent");
    // Its catalogue pull is refused for good (buried, not retried), naming what is missing.
    app.admin()
        .post_empty(&format!("/api/v1/stores/{store}/catalog/pull"))
        .await
        .expect(202);
    let pass = support::worker(&app).run_pass().await.unwrap();
    assert_eq!((pass.succeeded, pass.retried, pass.buried), (0, 0, 1));
    let buried = support::buried(&app).await;
    assert_eq!(buried.len(), 1);
    assert_eq!(buried[0].kind, "catalog_pull");
    let error = buried[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("access_token"), "{error}");
    assert_eq!(sim.requests().len(), before, "nothing was sent");

    // A store of the `api` platform has no platform to call at all.
    let api_store = id_of(
        &app.admin()
            .create_store(&dropline_testkit::data::store("An api store"))
            .await
            .expect(201),
    );
    for action in ["connection/test", "catalog/pull"] {
        let answer = app
            .admin()
            .post_empty(&format!("/api/v1/stores/{api_store}/{action}"))
            .await;
        answer.expect_error(422, "invalid_input");
        assert_eq!(answer.refused_fields(), ["platform"], "{action}");
    }
}

async fn a_catalogue_of_two_pages_is_pulled_whole_and_once(app: TestApp) {
    let sim = ShopifySim::start(SimConfig::new(12).catalogue(Vec::new()))
        .await
        .unwrap();
    // 55 products (a third of them simple) are two pages of 50 products.
    support::catalogue_is_pulled(&app, &sim, support::large_catalogue(55, true), 2).await;
    let pages: Vec<ApiRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/admin/api/2025-07/products.json"))
        .collect();
    // Three pulls of two pages each, the second page by its cursor.
    assert_eq!(pages.len(), 6, "{pages:?}");
    assert!(pages.iter().all(|r| r.status == 200));
    assert_eq!(pages.iter().filter(|r| r.path.contains("page_info=")).count(), 3);
}

async fn orders_arrive_once_each_and_test_orders_stay_aside(app: TestApp) {
    let sim = shop().await;
    let store = support::orders_arrive_once(&app, &sim, true).await;

    // A test order (the shop in test mode): kept, marked, never accepted nor routed even
    // though the store accepts orders by itself.
    let test_order = sim.create_test_order().unwrap();
    let delivery = sim.send(&test_order, Topic::Created).await.unwrap();
    assert_eq!(delivery.statuses(), [Some(200)]);
    let order = support::order_by_external_id(&app, &store.store_id, &test_order).await;
    assert_eq!(order["test"], true, "{order:#}");
    assert_eq!(order["state"], "pending_review", "{order:#}");
    support::assert_order_is(&order, &Sim::order(&sim, &test_order), &store.catalogue);
    app.run_pending_jobs().await;
    let id = id_of(&order);
    let order = app.admin().get_order(&id).await.expect(200);
    assert_eq!(order["supplier_orders"], json!([]), "never routed: {order:#}");
    app.admin().accept(&id).await.expect_error(422, "invalid_input");
    assert_eq!(app.admin().get_order(&id).await.expect(200)["state"], "pending_review");
}

async fn a_shipment_becomes_one_fulfillment_then_delivered(app: TestApp) {
    let sim = shop().await;
    let written = support::shipment_is_written_back(&app, &sim).await;
    let external = &written.external_id;
    let expected = Sim::order(&sim, external);

    let fulfillments = sim.fulfillments(external);
    assert_eq!(fulfillments.len(), 1, "{fulfillments:#?}");
    let fulfillment = &fulfillments[0];
    assert_eq!(
        (
            fulfillment.status.as_str(),
            fulfillment.tracking_number.as_deref(),
            fulfillment.tracking_company.as_deref(),
            fulfillment.tracking_url.as_deref(),
            fulfillment.shipment_status.as_deref(),
        ),
        (
            "success",
            Some(written.tracking_number.as_str()),
            Some(support::CARRIER),
            Some(written.tracking_url.as_str()),
            None,
        )
    );
    assert_eq!(support::fulfilled(&fulfillment.lines), expected.line_quantities());
    assert_eq!(sim.status(external).as_deref(), Some("fulfilled"));
    assert_eq!(sim.fulfillment_order_status(external).as_deref(), Some("closed"));
    let written_calls = support::calls(&sim.requests()[written.requests_before..]);
    assert_eq!(
        written_calls.get("POST /admin/api/2025-07/fulfillments.json"),
        Some(&1),
        "{written_calls:?}"
    );

    // The job run again (a worker died before it could finish it): still one fulfillment.
    let before = sim.requests().len();
    support::write_back_runs_again(&app, &written).await;
    assert_eq!(sim.fulfillments(external).len(), 1);
    assert!(
        support::writes(&sim.requests()[before..]).is_empty(),
        "a re-run only reads"
    );

    // Delivered in dropline: one fulfillment event, and the fulfillment says delivered.
    let before = sim.requests().len();
    support::delivery_is_written_back(&app, &written).await;
    let fulfillments = sim.fulfillments(external);
    assert_eq!(fulfillments.len(), 1);
    assert_eq!(fulfillments[0].shipment_status.as_deref(), Some("delivered"));
    let delivered = support::writes(&sim.requests()[before..]).len();
    assert_eq!(delivered, 1, "one event posted");

    // That job run again: the fulfillment is delivered already, nothing is posted.
    let before = sim.requests().len();
    support::delivery_write_back_runs_again(&app, &written).await;
    assert!(
        support::writes(&sim.requests()[before..]).is_empty(),
        "a re-run only reads"
    );
    assert_eq!(
        sim.fulfillments(external)[0].shipment_status.as_deref(),
        Some("delivered")
    );
}

async fn the_seller_cancelling_cancels_the_shopify_order(app: TestApp) {
    let sim = shop().await;
    let store = support::connected_store(&app, &sim, false).await;
    let external = support::seller_cancels(&app, &sim, &store).await;
    assert_eq!(sim.status(&external).as_deref(), Some("cancelled"));
    assert_eq!(sim.fulfillment_order_status(&external).as_deref(), Some("cancelled"));
    assert!(sim.fulfillments(&external).is_empty());

    // Shopify then announces the cancellation: dropline already knows.
    let delivery = sim.send(&external, Topic::Cancelled).await.unwrap();
    assert_eq!(delivery.statuses(), [Some(200)]);
    let order = support::order_by_external_id(&app, &store.store_id, &external).await;
    assert_eq!(order["state"], "cancelled");
    assert_eq!(app.run_pending_jobs().await.claimed(), 0, "nothing more to write back");
}

async fn a_rate_limited_fulfillment_is_retried_after_retry_after(app: TestApp) {
    let sim = shop().await;
    let written = support::rate_limited_write_back(&app, &sim).await;
    let fulfillments = sim.fulfillments(&written.external_id);
    assert_eq!(fulfillments.len(), 1, "{fulfillments:#?}");
    assert_eq!(
        fulfillments[0].tracking_number.as_deref(),
        Some(written.tracking_number.as_str())
    );
    assert_eq!(
        support::fulfilled(&fulfillments[0].lines),
        Sim::order(&sim, &written.external_id).line_quantities()
    );
}

async fn a_reshipped_parcel_moves_the_fulfillment_to_its_new_number(app: TestApp) {
    let sim = shop().await;
    let written = support::shipment_is_written_back(&app, &sim).await;
    let external = &written.external_id;
    let so_id = &written.supplier_order_id;
    let admin = app.admin();
    admin.mark_shipped(so_id, &json!({})).await.expect(200);
    let so = admin
        .mark_failed(so_id, &json!({"note": "address not found"}))
        .await
        .expect(200);
    assert_eq!(so["shipments"][0]["state"], "attempt_failed", "{so:#}");
    assert_eq!(
        app.run_pending_jobs().await.claimed(),
        0,
        "a failure writes nothing back"
    );

    // The parcel is sent again with a new number: one job moves the one fulfillment to it.
    let new_number = format!("YT{:016}", dropline_testkit::data::unique());
    let so = admin
        .reship(so_id, &json!({"carrier": "DHL", "tracking_number": new_number}))
        .await
        .expect(201);
    assert_eq!(so["shipments"][1]["tracking_number"], new_number.as_str(), "{so:#}");
    let before = sim.requests().len();
    let report = app.run_pending_jobs().await;
    assert_eq!(report.succeeded, 1, "{report:?}");
    let fulfillments = sim.fulfillments(external);
    assert_eq!(fulfillments.len(), 1, "no second fulfillment: {fulfillments:#?}");
    let fulfillment = &fulfillments[0];
    assert_eq!(
        (
            fulfillment.status.as_str(),
            fulfillment.tracking_number.as_deref(),
            fulfillment.tracking_company.as_deref(),
            fulfillment.tracking_url.as_deref(),
        ),
        ("success", Some(new_number.as_str()), Some("DHL"), None)
    );
    assert_eq!(
        support::fulfilled(&fulfillment.lines),
        Sim::order(&sim, external).line_quantities()
    );
    let writes: Vec<String> = support::writes(&sim.requests()[before..])
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert_eq!(
        writes,
        [format!(
            "POST /admin/api/2025-07/fulfillments/{}/update_tracking.json 200",
            fulfillment.id
        )]
    );
    assert_eq!(
        support::entries(&app, &written.order_id, "storefront.fulfillment_written").await,
        2
    );

    // The reship's job run again: the fulfillment has the new number, nothing is written.
    let order = app
        .app()
        .backend()
        .get_order(written.order_id.parse().expect("an order id"))
        .await
        .expect("read the order")
        .expect("the order");
    let new_shipment = order.supplier_orders[0].shipments[1].id;
    let job = dropline_app::jobs::storefront_fulfillment_job(&order, new_shipment, time::OffsetDateTime::now_utc());
    app.app()
        .backend()
        .commit(dropline_app::ports::ChangeSet {
            jobs: vec![job],
            ..Default::default()
        })
        .await
        .expect("queue the job again");
    let before = sim.requests().len();
    assert_eq!(app.run_pending_jobs().await.succeeded, 1);
    assert!(
        support::writes(&sim.requests()[before..]).is_empty(),
        "a re-run only reads"
    );
    assert_eq!(sim.fulfillments(external).len(), 1);

    // The new parcel delivered: Shopify takes the delivery for the new number.
    admin.mark_shipped(so_id, &json!({})).await.expect(200);
    let so = admin.mark_delivered(so_id, &json!({})).await.expect(200);
    assert_eq!(so["shipments"][1]["state"], "delivered", "{so:#}");
    let report = app.run_pending_jobs().await;
    assert_eq!((report.succeeded, report.buried), (1, 0), "{report:?}");
    assert!(support::buried(&app).await.is_empty(), "no buried job");
    let fulfillments = sim.fulfillments(external);
    assert_eq!(fulfillments.len(), 1);
    assert_eq!(fulfillments[0].shipment_status.as_deref(), Some("delivered"));
    assert_eq!(fulfillments[0].tracking_number.as_deref(), Some(new_number.as_str()));
    assert_eq!(
        support::entries(&app, &written.order_id, "storefront.status_written").await,
        1
    );
    let order = app.admin().get_order(&written.order_id).await.expect(200);
    assert_eq!(order["state"], "delivered", "{order:#}");
}

/// The POSTs of refunds the simulator answered.
fn refund_posts(sim: &ShopifySim) -> Vec<ApiRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/refunds.json"))
        .collect()
}

async fn a_refund_reaches_shopify_once_against_the_sale(app: TestApp) {
    let sim = shop().await;
    let refunded = support::refund_is_pushed_once(&app, &sim).await;
    let made = &sim.refunds(&refunded.external_id)[0];
    assert_eq!(
        made.lines,
        vec![RefundedLine {
            line_id: refunded.line_id.clone(),
            quantity: 1,
            amount: refunded.unit_price,
        }],
        "the unit refunded, by its Shopify line item id"
    );
    assert_eq!(made.transactions.len(), 1, "{made:#?}");
    let transaction = &made.transactions[0];
    assert_eq!(
        (
            transaction.amount,
            transaction.gateway.as_str(),
            transaction.through_gateway
        ),
        (refunded.unit_price, "shopify_payments", true),
        "a refund transaction on the sale's gateway returns the money"
    );
    assert!(!made.restock, "dropshipped goods never were in the seller's stock");
    assert!(!made.notify_customer, "dropline emails the customer itself");
    let note = made.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("arrived broken") && note.contains(&refunded.refund_id),
        "the note carries the reason and dropline's key: {note}"
    );
    let order = ShopifySim::order(&sim, &refunded.external_id).expect("the order");
    assert_eq!(order["financial_status"], "partially_refunded");
    assert_eq!(order["refunds"][0]["id"].to_string(), made.id);
    assert_eq!(refund_posts(&sim).len(), 1);
    // The API shows where the refund went.
    let after_sale = app
        .admin()
        .get(&format!("/api/v1/orders/{}/after-sale", refunded.order_id))
        .await
        .expect(200);
    let refund = after_sale["refunds"]
        .as_array()
        .and_then(|refunds| refunds.iter().find(|r| r["id"] == refunded.refund_id.as_str()))
        .unwrap_or_else(|| panic!("the refund in {after_sale:#}"));
    assert_eq!(refund["storefront_refund_id"], made.id.as_str(), "{refund:#}");
}

async fn a_refund_survives_a_failure_and_a_lost_answer(app: TestApp) {
    let sim = shop().await;
    let refunded = support::refund_survives_platform_failures(&app, &sim).await;
    let posts = refund_posts(&sim);
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [201, 500],
        "one POST per refund: the unanswered one was found, not sent again"
    );
    let order = ShopifySim::order(&sim, &refunded.external_id).expect("the order");
    assert_eq!(order["refunds"].as_array().map(Vec::len), Some(2));
}

async fn a_refund_shopify_refuses_leaves_an_exception(app: TestApp) {
    let sim = shop().await;
    support::refused_refund_leaves_an_exception(&app, &sim).await;
    let posts = refund_posts(&sim);
    assert_eq!(posts.len(), 1, "asked once, not retried: {posts:?}");
    assert_eq!(posts[0].status, 422);
}
