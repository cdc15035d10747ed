//! The simulated `api` storefront (`dropline-sim`) against a real dropline: 100 generated
//! orders, each delivered four times over HTTP (some of the copies at the same moment), must
//! make exactly 100 orders, each created once, received once on its timeline and announced
//! once to its customer, held for exactly the reasons its data gives. On SQLite always, on
//! PostgreSQL when `DROPLINE_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dropline_sim::{ApiStorefront, CatalogueItem, Delivery, GeneratedOrder, OrderGenerator, OrderOutcome, Retry};
use dropline_testkit::{Api, POSTGRES_URL_VARIABLE, TestApp};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const ORDERS: usize = 100;
const DUPLICATES: u32 = 3;
/// Orders in flight at once; with the racing duplicates up to 4 × this many requests.
const CONCURRENCY: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_every_order_delivered_with_duplicates_is_one_order() {
    every_order_delivered_with_duplicates_is_one_order(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_every_order_delivered_with_duplicates_is_one_order() {
    match TestApp::spawn_postgres().await {
        Some(app) => every_order_delivered_with_duplicates_is_one_order(app).await,
        None => println!("skipped: {POSTGRES_URL_VARIABLE} is not set"),
    }
}

async fn every_order_delivered_with_duplicates_is_one_order(app: TestApp) {
    let seeded = app.seed().await;
    let catalogue = seeded
        .skus
        .iter()
        .map(|sku| CatalogueItem::new(sku, "Wireless earbuds", "49.99").with_variant_title(format!("Variant {sku}")))
        .collect();
    let generated = OrderGenerator::new(20_260_301, catalogue)
        .invalid_addresses(0.15)
        .unpaid(0.1)
        .orders(ORDERS);
    assert!(
        generated.iter().any(|o| o.address_fault.is_some() && !o.paid),
        "the seed should make an order that is both invalid and unpaid"
    );
    let bodies: Vec<Value> = generated.iter().map(|o| o.body.clone()).collect();

    // No retries: every delivery's own answer is asserted (a 5xx retried into a 200 would
    // hide a failure). The duplicates are the storefront's "at least once".
    let storefront = ApiStorefront::new(app.base_url(), &seeded.token)
        .duplicates(DUPLICATES)
        .seed(7)
        .retry(Retry::never());
    let outcomes = storefront.send_all(&bodies, CONCURRENCY).await;
    assert_eq!(outcomes.len(), ORDERS);

    let plans: BTreeSet<usize> = outcomes.iter().map(|o| o.racing).collect();
    assert!(
        plans.contains(&0) && plans.iter().any(|r| *r > 0),
        "the seed should send some orders alone first and race others: {plans:?}"
    );
    let mut order_ids: BTreeMap<String, String> = BTreeMap::new();
    for (outcome, order) in outcomes.iter().zip(&generated) {
        check_answers(outcome, order);
        order_ids.insert(order.external_id.clone(), outcome.order_ids()[0].clone());
    }

    // Which delivery created each order, by plan: shown with `--nocapture` to see that the
    // racing copies really race (a racer, not only the first, sometimes wins).
    let mut winners: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for outcome in &outcomes {
        let winner = outcome.statuses().iter().position(|s| *s == Some(201)).unwrap();
        *winners.entry((outcome.racing, winner)).or_default() += 1;
    }
    println!("(racing duplicates, delivery that created the order) -> orders: {winners:?}");

    let api = app.with_token(&seeded.token);
    let listed = list_all_orders(&api, &seeded.store_id).await;
    assert_eq!(listed.len(), ORDERS, "exactly one order per external id");
    let listed_external: BTreeMap<String, String> = listed
        .iter()
        .map(|o| (o["external_id"].as_str().unwrap().to_string(), id(o)))
        .collect();
    assert_eq!(
        listed_external, order_ids,
        "the listed orders are the ones the answers named"
    );

    let by_external: BTreeMap<&str, &GeneratedOrder> = generated.iter().map(|o| (o.external_id.as_str(), o)).collect();
    for order in &listed {
        let generated = by_external[order["external_id"].as_str().unwrap()];
        check_state(order, generated);
        let timeline = api.timeline(&id(order)).await.expect(200);
        let kinds: Vec<&str> = timeline["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "order.received").count(),
            1,
            "{}: {kinds:?}",
            generated.external_id
        );
        assert!(
            !kinds.contains(&"order.updated"),
            "an identical resend changes nothing: {kinds:?}"
        );
        let messages = api.order_messages(&id(order)).await.expect(200);
        let received: Vec<&Value> = messages["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["template"] == "order_received")
            .collect();
        assert_eq!(received.len(), 1, "{}: {messages}", generated.external_id);
    }

    let held = generated.iter().filter(|o| o.should_be_held()).count();
    let counts = api
        .count_orders(&format!("store_id={}", seeded.store_id))
        .await
        .expect(200);
    assert_eq!(counts["total"], ORDERS);
    assert_eq!(counts["counts"]["on_hold"], held);
    assert_eq!(counts["counts"]["pending_review"], ORDERS - held);

    app.run_pending_jobs().await;
    assert_eq!(list_all_orders(&api, &seeded.store_id).await.len(), ORDERS);
}

/// One creation per order: exactly one delivery answered 201, all others 200, all naming
/// the same order. An order sent alone first is created by that first delivery; when
/// duplicates race it, any one of the racers may be the one. A duplicate sent after those
/// were answered always finds the order.
fn check_answers(outcome: &OrderOutcome, order: &GeneratedOrder) {
    let answers: Vec<&Delivery> = outcome
        .deliveries
        .iter()
        .map(|d| {
            d.as_ref()
                .unwrap_or_else(|err| panic!("{}: no answer: {err}", order.external_id))
        })
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|d| d.status).collect();
    let context = format!(
        "{} (racing {}): statuses {statuses:?}, bodies {:?}",
        order.external_id,
        outcome.racing,
        answers.iter().map(|d| &d.body).collect::<Vec<_>>()
    );
    assert_eq!(answers.len(), 1 + DUPLICATES as usize, "{context}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 201), "{context}");
    assert_eq!(outcome.created(), 1, "exactly one creation: {context}");
    if outcome.racing == 0 {
        assert_eq!(statuses[0], 201, "{context}");
    }
    let first_wave = outcome.first_wave().len();
    assert!(statuses[first_wave..].iter().all(|s| *s == 200), "{context}");
    assert_eq!(outcome.order_ids().len(), 1, "{context}");
    for answer in answers {
        assert_eq!(answer.body["external_id"], order.external_id.as_str(), "{context}");
        check_state(&answer.body, order);
    }
}

/// On hold for exactly the reasons the generated data gives, else waiting for review.
fn check_state(order: &Value, generated: &GeneratedOrder) {
    let mut expected = Vec::new();
    if generated.address_fault.is_some() {
        expected.push("invalid_address");
    }
    if !generated.paid {
        expected.push("payment_not_captured");
    }
    let mut reasons: Vec<&str> = order["hold_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    reasons.sort_unstable();
    let state = if expected.is_empty() {
        "pending_review"
    } else {
        "on_hold"
    };
    let context = format!("{} ({:?}): {order}", generated.external_id, generated.address_fault);
    assert_eq!(
        (order["state"].as_str().unwrap(), reasons),
        (state, expected),
        "{context}"
    );
    let address_errors = order["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && f["field"] != "payment")
        .count();
    assert_eq!(address_errors > 0, generated.address_fault.is_some(), "{context}");
}

/// Every order of the store, page by page (a page size that does not divide 100).
async fn list_all_orders(api: &Api<'_>, store_id: &str) -> Vec<Value> {
    let mut orders = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = format!("store_id={store_id}&limit=30");
        if let Some(before) = &cursor {
            query.push_str(&format!("&before={before}"));
        }
        let page = api.list_orders(&query).await.expect(200);
        orders.extend(page["orders"].as_array().unwrap().iter().cloned());
        pages += 1;
        assert!(pages <= ORDERS, "paging does not end");
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<String> = orders.iter().map(id).collect();
    assert_eq!(unique.len(), orders.len(), "an order listed twice");
    orders
}

fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}
