//! A store's return rules over HTTP, on the engine's clock: the customer's return from the
//! tracking page is approved at once for a reason the store approves, and refunded without
//! the item when it is worth at most the store's limit (one `refund_issued` email); a reason
//! the store does not approve waits for the seller; the last day of the window is accepted,
//! the day after is refused saying when it ended, and nothing is written.

use crate::after_sale::delivered_order;
use dropline_domain::ids::OrderId;
use dropline_testkit::{Clock, TestApp};
use serde_json::{Value, json};
use time::Duration;

/// The customer's tracking page of an order, and a client that does not follow redirects.
async fn tracking_page(app: &TestApp, id: OrderId) -> (String, String, reqwest::Client) {
    let order = app
        .app()
        .get_order(dropline_app::Scope::Operator, id)
        .await
        .expect("the order");
    let token = order.tracking_token.clone().expect("a tracking page");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    (
        format!("{}/track/{token}", app.base_url()),
        order.lines[0].id.to_string(),
        client,
    )
}

/// Posts the tracking page's return form: `quantity` units of the first line, for `reason`.
async fn ask(app: &TestApp, id: OrderId, quantity: u32, reason: &str) -> (u16, String) {
    let (page, line, client) = tracking_page(app, id).await;
    let response = client
        .post(format!("{page}/return"))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("qty-{line}={quantity}&reason={reason}"))
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

fn rule_events(timeline: &Value) -> Vec<(String, String)> {
    timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["actor"]["kind"] == "rule" && e["kind"].as_str().unwrap_or("").starts_with("return."))
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["actor"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn store_rules_decide_the_customers_return(app: TestApp, clock: Clock) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let rules = json!({"returns": {
        "window_days": 14,
        "auto_approve_reasons": ["damaged", "wrong_item"],
        "returnless_refund_up_to": {"amount": "50.00", "currency": "USD"},
    }});
    let stored = api.update_store_settings(&seeded.store_id, &rules).await.expect(200);
    assert_eq!(stored["settings"]["returns"], rules["returns"]);

    // Three orders of two units at 49.99, delivered now.
    let cheap = delivered_order(&app, &api, &seeded).await;
    let later = delivered_order(&app, &api, &seeded).await;
    let dear = delivered_order(&app, &api, &seeded).await;

    // Damaged, one unit (49.99, under the 50.00 limit): approved and refunded without the
    // item, at once, by the store's rules.
    let (status, body) = ask(&app, cheap, 1, "damaged").await;
    assert_eq!(status, 303, "{body}");
    let after = api.get(&format!("/api/v1/orders/{cheap}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][0]["state"], "resolved", "{after}");
    assert_eq!(after["returns"][0]["resolution"], "returnless_refund", "{after}");
    assert_eq!(after["refunds"].as_array().map(Vec::len), Some(1), "{after}");
    let timeline = api.timeline(&cheap.to_string()).await.expect(200);
    assert_eq!(
        rule_events(&timeline),
        [
            ("return.approve".to_string(), "return_auto_approve".to_string()),
            ("return.resolve".to_string(), "returnless_refund".to_string()),
        ],
        "{timeline}"
    );
    app.run_pending_jobs().await;
    let refunds = api.order_messages_of(&cheap.to_string(), "refund_issued").await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["data"]["refund"]["amount"], "49.99 USD");

    // Changed their mind: not a reason the store approves; it waits for the seller.
    let (status, body) = ask(&app, cheap, 1, "changed_mind").await;
    assert_eq!(status, 303, "{body}");
    let after = api.get(&format!("/api/v1/orders/{cheap}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][1]["state"], "requested", "{after}");
    assert_eq!(after["refunds"].as_array().map(Vec::len), Some(1), "{after}");

    // Both units of another order (99.98, over the limit): approved, the items to come
    // back, nothing refunded.
    let (status, body) = ask(&app, dear, 2, "wrong_item").await;
    assert_eq!(status, 303, "{body}");
    let after = api.get(&format!("/api/v1/orders/{dear}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][0]["state"], "approved", "{after}");
    assert!(after["refunds"].as_array().is_none_or(Vec::is_empty), "{after}");

    // The 14th day after delivery is still in the window.
    clock.advance(Duration::days(14));
    let (status, body) = ask(&app, later, 1, "changed_mind").await;
    assert_eq!(status, 303, "{body}");

    // The day after the window: refused, saying when it ended, and nothing written. The
    // seller's own request over the API is refused the same way, by field.
    clock.advance(Duration::days(1));
    let ended = (clock.now() - Duration::days(1)).date();
    let before = app.snapshot().await;
    let (status, body) = ask(&app, later, 1, "damaged").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains(&format!("ended on {ended}")), "{body}");
    let answer = api
        .post(
            &format!("/api/v1/orders/{later}/returns"),
            &json!({"lines": [{"line_item_id": tracking_page(&app, later).await.1, "quantity": 1}], "reason": "damaged"}),
        )
        .await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(answer.refused_fields(), ["lines"], "{}", answer.text);
    assert_eq!(before, app.snapshot().await);
}

#[tokio::test]
async fn sqlite_store_rules_decide_the_customers_return() {
    let clock = Clock::days_back(30);
    let app = TestApp::spawn_with(clock.configure()).await;
    store_rules_decide_the_customers_return(app, clock).await;
}

#[tokio::test]
async fn postgres_store_rules_decide_the_customers_return() {
    let clock = Clock::days_back(30);
    match TestApp::spawn_postgres_with(clock.configure()).await {
        Some(app) => store_rules_decide_the_customers_return(app, clock).await,
        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
    }
}
