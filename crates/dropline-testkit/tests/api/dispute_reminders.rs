//! The seller's reminder of a dispute's evidence, written by the worker's schedule on an
//! engine clock moved by the test: nothing while the deadline is far, one email once it is
//! within the window (with the hours left and links to the order and its evidence page),
//! still one however often the schedule runs, and none for a dispute answered in time.

use crate::after_sale::delivered_order;
use dropline_app::Scope;
use dropline_app::notify::NotifyConfig;
use dropline_testkit::{Api, Clock, TestApp, data};
use dropline_worker::{Worker, WorkerConfig};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The engine reads `clock` and builds links on a public address.
fn configure(clock: &Clock) -> impl FnOnce(dropline_app::App) -> dropline_app::App + use<> {
    let with_clock = clock.configure();
    move |app| {
        with_clock(app).with_notify_config(NotifyConfig {
            public_url: Some("https://shop.example/".into()),
            ..NotifyConfig::default()
        })
    }
}

async fn open_dispute(api: &Api<'_>, order: &str, due_at: OffsetDateTime) -> String {
    let created = api
        .post(
            &format!("/api/v1/orders/{order}/disputes"),
            &json!({
                "amount": data::usd("20.00"),
                "reason_code": "fraudulent",
                "due_at": due_at.format(&Rfc3339).expect("time"),
            }),
        )
        .await
        .expect(201);
    created["created_id"].as_str().expect("the dispute's id").to_string()
}

/// The order's dispute reminders.
async fn reminders(api: &Api<'_>, order: &str) -> Vec<Value> {
    api.order_messages_of(order, "seller_dispute_due").await
}

async fn the_seller_is_reminded_once_before_the_evidence_is_due(app: TestApp, clock: Clock) {
    let api = app.admin();
    let seeded = app.seed().await;
    let store_id = seeded.store_id.parse().expect("a store id");
    let mut settings = app
        .app()
        .get_store(Scope::Operator, store_id)
        .await
        .expect("store")
        .store
        .settings;
    settings.seller_notifications.email = Some("owner@shop.example".into());
    app.app()
        .update_store_settings(Scope::Operator, store_id, settings, None)
        .await
        .expect("settings");
    let worker = Worker::new(app.app().clone(), WorkerConfig::default());

    let waiting = delivered_order(&app, &api, &seeded).await.to_string();
    let answered = delivered_order(&app, &api, &seeded).await.to_string();
    let due_at = clock.now() + Duration::days(5);
    let dispute = open_dispute(&api, &waiting, due_at).await;
    let answered_dispute = open_dispute(&api, &answered, due_at).await;

    // Five days ahead: too early.
    worker.run_schedules().await.expect("schedules");
    assert!(reminders(&api, &waiting).await.is_empty());

    // One dispute is answered in time; the other is still waiting two days before its due date.
    api.post_empty(&format!(
        "/api/v1/orders/{answered}/disputes/{answered_dispute}/respond"
    ))
    .await
    .expect(200);
    clock.advance(Duration::days(3));
    worker.run_schedules().await.expect("schedules");
    let sent = reminders(&api, &waiting).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let reminder = &sent[0];
    assert_eq!(reminder["recipient"], "owner@shop.example");
    let number = api.get_order(&waiting).await.expect(200)["number"].clone();
    assert_eq!(reminder["data"]["order"]["number"], number);
    let told = &reminder["data"]["dispute"];
    assert_eq!(told["id"], dispute.as_str());
    assert_eq!(told["amount"], "20.00 USD");
    assert_eq!(told["hours_left"], 48);
    assert_eq!(
        told["evidence_url"],
        format!("https://shop.example/orders/{waiting}/disputes/{dispute}/evidence")
    );
    assert_eq!(
        reminder["data"]["dashboard_url"],
        format!("https://shop.example/orders/{waiting}")
    );
    assert!(
        reminders(&api, &answered).await.is_empty(),
        "an answered dispute is not reminded of"
    );

    // Every later run finds it written.
    clock.advance(Duration::hours(12));
    worker.run_schedules().await.expect("schedules");
    worker.run_schedules().await.expect("schedules");
    assert_eq!(reminders(&api, &waiting).await.len(), 1);
}

#[tokio::test]
async fn sqlite_the_seller_is_reminded_once_before_the_evidence_is_due() {
    let clock = Clock::days_back(5);
    let app = TestApp::spawn_with(configure(&clock)).await;
    the_seller_is_reminded_once_before_the_evidence_is_due(app, clock).await;
}

#[tokio::test]
async fn postgres_the_seller_is_reminded_once_before_the_evidence_is_due() {
    let clock = Clock::days_back(5);
    match TestApp::spawn_postgres_with(configure(&clock)).await {
        Some(app) => the_seller_is_reminded_once_before_the_evidence_is_due(app, clock).await,
        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
    }
}
