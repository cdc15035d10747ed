//! The outbox's bad days and the seller's side, over a real SMTP server: an address that
//! cannot receive, a server that says "try later", the daily digest of exceptions, pushes
//! from the tracking service (and forged ones), and the exception work list's filters.

use crate::customer_journey::{DAY, NUMBER, World, YUNEXPRESS, brand_store, subject_of};
use crate::id_of;
use dropline_app::Scope;
use dropline_domain::ids::OrderId;
use dropline_sim::tracking::{JourneyDelays, PushFault};
use serde_json::json;
use std::time::Duration;

/// An order of the seeded store for `email`, accepted and routed to the manual supplier;
/// returns (order id, supplier order id).
async fn accepted_order(world: &World, seeded: &dropline_testkit::Seeded, email: &str) -> (String, String) {
    let api = world.app.with_token(&seeded.token);
    let mut order = seeded.order(&seeded.next_external_id());
    order["customer"] = json!({ "name": "Ada Lovelace", "email": email });
    let order_id = id_of(&api.post_order(&order).await.expect(201));
    api.accept(&order_id).await.expect(200);
    world.app.run_pending_jobs().await;
    let got = api.get_order(&order_id).await.expect(200);
    (order_id, id_of(&got["supplier_orders"][0]))
}

#[tokio::test]
async fn an_address_that_cannot_receive_fails_its_message_alerts_the_seller_and_blocks_nothing() {
    let world = World::start().await;
    world.smtp.refuse_recipients_containing("bounce");
    let seeded = world.app.seed().await;
    brand_store(&world, &seeded.store_id).await;
    let (bounced, _) = accepted_order(&world, &seeded, "bounce@example.com").await;
    let (fine, _) = accepted_order(&world, &seeded, "fine@example.com").await;
    world.run_due(world.start).await;

    let api = world.app.with_token(&seeded.token);
    let outbox = api.order_messages(&bounced).await.expect(200);
    let customer: Vec<_> = outbox["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["recipient"] == "bounce@example.com")
        .collect();
    assert!(!customer.is_empty());
    for message in &customer {
        assert_eq!(message["state"], "failed", "{message}");
        assert!(
            message["last_error"].as_str().is_some_and(|e| e.contains("550")),
            "{message}"
        );
    }
    let order = api.get_order(&bounced).await.expect(200);
    assert!(
        order["exceptions"]
            .as_array()
            .expect("exceptions")
            .iter()
            .any(|e| e["kind"] == "message_undeliverable" && e["resolved_at"].is_null()),
        "{order}"
    );
    let alerts: Vec<_> = world
        .emails_to("owner@lumen.example")
        .into_iter()
        .filter(|e| subject_of(e).starts_with("An email to your customer could not be delivered"))
        .collect();
    assert!(!alerts.is_empty(), "the seller is told");
    assert!(
        alerts[0]
            .text
            .as_deref()
            .unwrap_or_default()
            .contains("bounce@example.com")
    );
    // The other customer's emails went out.
    assert!(world.emails_to("fine@example.com").len() >= 2);
    let outbox = api.order_messages(&fine).await.expect(200);
    assert!(
        outbox["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["recipient"] == "fine@example.com")
            .all(|m| m["state"] == "sent"),
        "{outbox}"
    );
}

#[tokio::test]
async fn a_server_that_says_try_later_gets_the_message_again_and_it_arrives_once() {
    let world = World::start().await;
    let seeded = world.app.seed().await;
    brand_store(&world, &seeded.store_id).await;
    world.smtp.fail_next_transactions(2);
    let (order_id, _) = accepted_order(&world, &seeded, "later@example.com").await;
    let api = world.app.with_token(&seeded.token);
    // The failed attempts were counted and tried again after a backoff; all went out.
    world.app.run_jobs_ahead(Duration::from_secs(120)).await;
    let outbox = api.order_messages(&order_id).await.expect(200);
    let messages = outbox["messages"].as_array().expect("messages");
    assert!(messages.iter().all(|m| m["state"] == "sent"), "{outbox}");
    assert!(
        messages.iter().any(|m| m["attempts"].as_u64() == Some(2)),
        "a temporary failure is tried again: {outbox}"
    );
    let received = world.emails_to("later@example.com");
    let mut subjects: Vec<String> = received.iter().map(subject_of).collect();
    let count = subjects.len();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), count, "each email once: {subjects:?}");
}

#[tokio::test]
async fn the_daily_digest_lists_the_seeded_exceptions_once_a_day() {
    let world = World::start().await;
    let seeded = world.app.seed().await;
    brand_store(&world, &seeded.store_id).await;
    let api = world.app.with_token(&seeded.token);
    // An order left in review, one never placed, one shipped and never scanned.
    let mut review = seeded.order(&seeded.next_external_id());
    review["customer"] = json!({ "name": "Ada", "email": "review@example.com" });
    let in_review = api.post_order(&review).await.expect(201);
    let (unplaced, _) = accepted_order(&world, &seeded, "unplaced@example.com").await;
    let (shipped, so) = accepted_order(&world, &seeded, "shipped@example.com").await;
    api.record_reference(&so, &json!({ "supplier_reference": "S-1" }))
        .await
        .expect(200);
    api.add_shipment(
        &so,
        &json!({ "carrier": "China Post", "tracking_number": "RB123456785CN" }),
    )
    .await
    .expect(201);
    world.tracker.reject_unknown_numbers(false);
    for _ in 0..5 {
        world.advance(DAY).await;
    }
    let id: dropline_domain::ids::StoreId = seeded.store_id.parse().expect("id");
    let mut settings = world
        .app
        .app()
        .get_store(Scope::Operator, id)
        .await
        .expect("store")
        .store
        .settings;
    settings.seller_notifications.digest_hour_utc = 0;
    world
        .app
        .app()
        .update_store_settings(Scope::Operator, id, settings, None)
        .await
        .expect("settings");
    assert_eq!(world.app.app().send_digests().await.expect("digest"), 1);
    world.run_due(world.now()).await;
    let digests: Vec<_> = world
        .emails_to("owner@lumen.example")
        .into_iter()
        .filter(|e| subject_of(e).starts_with("Daily digest"))
        .collect();
    assert_eq!(digests.len(), 1);
    let text = digests[0].text.clone().expect("text part");
    let html = digests[0].html.clone().expect("html part");
    for order_id in [&unplaced, &shipped] {
        let order = api.get_order(order_id).await.expect(200);
        let number = order["number"].as_str().expect("number");
        assert!(text.contains(number), "{number} missing from {text}");
        assert!(html.contains(number));
    }
    assert!(text.contains(in_review["number"].as_str().expect("number")), "{text}");
    assert!(
        text.to_lowercase().contains("never scanned") || text.contains("No first scan"),
        "{text}"
    );
    // Written once a day, however often the schedule runs.
    world.app.app().send_digests().await.expect("digest");
    world.run_due(world.now()).await;
    let digests = world
        .emails_to("owner@lumen.example")
        .into_iter()
        .filter(|e| subject_of(e).starts_with("Daily digest"))
        .count();
    assert_eq!(digests, 1);

    // The work list: by kind, by age; a bad kind names the field.
    let all = api.get("/api/v1/exceptions").await.expect(200);
    let kinds: Vec<&str> = all["exceptions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"placement_late") && kinds.contains(&"no_first_scan"),
        "{all}"
    );
    let placement = api.get("/api/v1/exceptions?kind=placement_late").await.expect(200);
    assert!(
        placement["exceptions"]
            .as_array()
            .expect("list")
            .iter()
            .all(|e| e["kind"] == "placement_late" && e["age_hours"].as_i64().is_some())
    );
    let old = api.get("/api/v1/exceptions?older_than_hours=8000").await.expect(200);
    assert_eq!(old["exceptions"].as_array().map(Vec::len), Some(0));
    // Another store sees none of them.
    let other = world.app.seed().await;
    let theirs = world
        .app
        .with_token(&other.token)
        .get("/api/v1/exceptions")
        .await
        .expect(200);
    assert_eq!(theirs["exceptions"].as_array().map(Vec::len), Some(0), "{theirs}");
    let refused = api.get("/api/v1/exceptions?kind=on_fire&limit=0").await;
    refused.expect_error(422, "invalid_input");
    let mut fields = refused.refused_fields();
    fields.sort();
    assert_eq!(fields, vec!["kind".to_string(), "limit".to_string()]);
}

#[tokio::test]
async fn a_push_moves_the_parcel_and_a_forged_one_changes_nothing() {
    let world = World::start().await;
    let seeded = world.app.seed().await;
    brand_store(&world, &seeded.store_id).await;
    let api = world.app.with_token(&seeded.token);
    let (order_id, so) = accepted_order(&world, &seeded, "push@example.com").await;
    api.record_reference(&so, &json!({ "supplier_reference": "S-2" }))
        .await
        .expect(200);
    world
        .tracker
        .script_journey(NUMBER, YUNEXPRESS, JourneyDelays::every(Duration::from_secs(3600)));
    api.add_shipment(&so, &json!({ "carrier": "YunExpress", "tracking_number": NUMBER }))
        .await
        .expect(201);
    world
        .tracker
        .set_webhook(Some(&format!("{}/webhooks/tracking", world.app.base_url())));
    let order_id: OrderId = order_id.parse().expect("id");
    let events = || async {
        let order = world
            .app
            .app()
            .get_order(Scope::Operator, order_id)
            .await
            .expect("order");
        order.supplier_orders[0].shipments[0].events.len()
    };
    // The first look registers the number with the service.
    world.advance(Duration::from_secs(3600)).await;
    assert!(world.tracker.is_registered(NUMBER));
    // A forged push (signed with another key) is refused and changes nothing.
    world.tracker.advance(Duration::from_secs(2 * 3600));
    let before = events().await;
    world.tracker.spoil_next_push(PushFault::WrongKey);
    let status = world.tracker.push(NUMBER).await.expect("push");
    assert_eq!(status, 401);
    assert_eq!(events().await, before);
    // The real one moves the parcel, with no poll.
    let status = world.tracker.push(NUMBER).await.expect("push");
    assert_eq!(status, 200);
    let order = world
        .app
        .app()
        .get_order(Scope::Operator, order_id)
        .await
        .expect("order");
    let parcel = &order.supplier_orders[0].shipments[0];
    assert!(parcel.events.len() > before, "{parcel:?}");
    assert_eq!(parcel.state, dropline_domain::state::ShipmentState::InTransit);
    assert!(parcel.events.iter().any(|e| e.location.is_some()));
    // The same push again adds nothing.
    world.tracker.push(NUMBER).await.expect("push");
    assert_eq!(events().await, parcel.events.len());
}

#[tokio::test]
async fn an_unreadable_tracking_answer_becomes_an_exception_and_the_parcel_is_followed_on() {
    let world = World::start().await;
    let seeded = world.app.seed().await;
    brand_store(&world, &seeded.store_id).await;
    let api = world.app.with_token(&seeded.token);
    let (order_id, so) = accepted_order(&world, &seeded, "garbled@example.com").await;
    api.record_reference(&so, &json!({ "supplier_reference": "S-3" }))
        .await
        .expect(200);
    world
        .tracker
        .script_journey(NUMBER, YUNEXPRESS, JourneyDelays::every(Duration::from_secs(6 * 3600)));
    api.add_shipment(&so, &json!({ "carrier": "YunExpress", "tracking_number": NUMBER }))
        .await
        .expect(201);
    world.tracker.fault_on(
        dropline_sim::tracking::GET_TRACK_INFO,
        dropline_sim::tracking::TrackingFault::Malformed,
    );
    // The job does not crash: the order gets an exception and the parcel a later look.
    world.advance(Duration::from_secs(3600)).await;
    let order = api.get_order(&order_id).await.expect(200);
    let unreadable: Vec<_> = order["exceptions"]
        .as_array()
        .expect("exceptions")
        .iter()
        .filter(|e| e["kind"] == "tracking_unreadable")
        .collect();
    assert_eq!(unreadable.len(), 1, "{order}");
    assert!(
        world
            .app
            .app()
            .backend()
            .list_buried_jobs(10)
            .await
            .expect("buried")
            .is_empty(),
        "no job buried"
    );
    // The next look reads the answer; the parcel moves on.
    world.advance(DAY).await;
    let order = api.get_order(&order_id).await.expect(200);
    let parcel = &order["supplier_orders"][0]["shipments"][0];
    assert_ne!(parcel["state"], "info_received", "{order}");
    assert!(parcel["events"].as_array().expect("events").len() > 2, "{order}");
}

#[tokio::test]
async fn a_supplier_that_misses_its_shipping_clock_is_switched_when_the_store_allows_it() {
    let world = World::start().await;
    let seeded = world.app.seed().await;
    brand_store(&world, &seeded.store_id).await;
    let admin = world.app.admin();
    let backup = id_of(
        &admin
            .create_supplier(&dropline_testkit::data::manual_supplier(&seeded.store_id))
            .await
            .expect(201),
    );
    let mut offer =
        dropline_testkit::data::offer(&seeded.variant_ids[0], &backup, "https://backup.example/item", Some(50));
    offer["priority"] = json!("backup");
    admin.add_offer(&offer).await.expect(201);
    let id: dropline_domain::ids::StoreId = seeded.store_id.parse().expect("id");
    let app = world.app.app();
    let mut settings = app.get_store(Scope::Operator, id).await.expect("store").store.settings;
    settings.exception_automation.switch_supplier_when_late = true;
    app.update_store_settings(Scope::Operator, id, settings, None)
        .await
        .expect("settings");
    let api = world.app.with_token(&seeded.token);
    let (order_id, so) = accepted_order(&world, &seeded, "switch@example.com").await;
    api.record_reference(&so, &json!({ "supplier_reference": "S-4" }))
        .await
        .expect(200);
    // Four days: within the five-day shipping clock, nothing happens.
    for _ in 0..4 {
        world.advance(DAY).await;
    }
    let order = api.get_order(&order_id).await.expect(200);
    assert_eq!(order["supplier_orders"].as_array().map(Vec::len), Some(1), "{order}");
    for _ in 0..2 {
        world.advance(DAY).await;
    }
    let order = api.get_order(&order_id).await.expect(200);
    let supplier_orders = order["supplier_orders"].as_array().expect("supplier orders");
    assert_eq!(supplier_orders.len(), 2, "{order}");
    assert_eq!(supplier_orders[1]["supplier_id"], backup.as_str(), "{order}");
    // The late supplier's order failed over (its cancellation is asked).
    assert!(!supplier_orders[0]["placement"]["failure"].is_null(), "{order}");
    assert_eq!(
        supplier_orders[0]["request_status"], "cancellation_requested",
        "{order}"
    );
    assert!(
        order["exceptions"]
            .as_array()
            .expect("exceptions")
            .iter()
            .any(|e| e["kind"] == "shipping_late"),
        "{order}"
    );
}
