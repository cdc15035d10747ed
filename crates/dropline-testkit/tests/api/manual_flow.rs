//! The whole journey of an order with a manual supplier, over HTTP: create the catalogue,
//! take an order, review it, route it, order at the supplier by hand, track, deliver; and
//! the detours: failed delivery and re-ship, cancellations.

use crate::{id_of, strings};
use dropline_testkit::{Api, Seeded, TestApp, data};
use serde_json::{Value, json};

/// Posts an order, accepts it and routes it: the order, in fulfillment, and its one
/// supplier order.
async fn routed_order(app: &TestApp, api: &Api<'_>, seeded: &Seeded) -> (String, Value) {
    let order = api
        .post_order(&seeded.order(&seeded.next_external_id()))
        .await
        .expect(201);
    let order_id = id_of(&order);
    api.accept(&order_id).await.expect(200);
    app.run_pending_jobs().await;
    let order = api.get_order(&order_id).await.expect(200);
    assert_eq!(order["state"], "in_fulfillment", "{order}");
    let supplier_order_id = id_of(&order["supplier_orders"][0]);
    let supplier_order = api.get_supplier_order(&supplier_order_id).await.expect(200);
    (order_id, supplier_order)
}

fn actions(supplier_order: &Value) -> Vec<String> {
    strings(&supplier_order["allowed_actions"])
}

async fn an_order_goes_from_the_storefront_to_the_door(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);

    // The storefront sends the order: it waits for review (no automatic acceptance).
    let created = api.post_order(&seeded.order("shop-1001")).await.expect(201);
    let order_id = id_of(&created);
    assert_eq!(created["state"], "pending_review");
    assert_eq!(created["total"], json!({"amount": "104.98", "currency": "USD"}));
    assert_eq!(created["lines"][0]["variant_id"], json!(seeded.variant_ids[0]));
    assert_eq!(created["supplier_orders"], json!([]));

    // The seller accepts; routing happens in the background.
    let accepted = api.accept(&order_id).await.expect(200);
    assert_eq!(accepted["state"], "accepted");
    app.run_pending_jobs().await;

    let order = api.get_order(&order_id).await.expect(200);
    assert_eq!(order["state"], "in_fulfillment");
    let supplier_orders = order["supplier_orders"].as_array().unwrap();
    assert_eq!(supplier_orders.len(), 1);
    let supplier_order_id = id_of(&supplier_orders[0]);

    // The supplier order shows what a person needs to order by hand.
    let so = api.get_supplier_order(&supplier_order_id).await.expect(200);
    assert_eq!(so["order_id"], json!(order_id));
    assert_eq!(so["supplier_id"], json!(seeded.supplier_id));
    assert_eq!(so["supplier_kind"], "manual");
    assert_eq!(
        (so["status"].as_str(), so["request_status"].as_str()),
        (Some("open"), Some("unsubmitted"))
    );
    assert_eq!(so["lines"][0]["product_url"], json!(seeded.product_urls[0]));
    assert_eq!(so["lines"][0]["variant_id"], json!(seeded.variant_ids[0]));
    assert_eq!(so["lines"][0]["quantity"], 2);
    assert_eq!(
        so["lines"][0]["unit_cost"],
        json!({"amount": "12.00", "currency": "USD"})
    );
    // Two units at 12.00 plus 3.00 shipping each.
    assert_eq!(so["expected_cost"], json!({"amount": "30.00", "currency": "USD"}));
    assert_eq!(so["ship_to"]["address1"], data::address()["address1"]);
    assert_eq!(so["ship_to"]["postal_code"], "62701");
    assert_eq!(
        actions(&so),
        [
            "record_reference",
            "cancel",
            "edit_ship_to",
            "set_tax_id",
            "switch_supplier"
        ]
    );

    // Ordered at the supplier: record its order id and what it really cost.
    let so = api
        .record_reference(
            &supplier_order_id,
            &json!({"supplier_reference": "AE-77123", "actual_cost": data::usd("29.50")}),
        )
        .await
        .expect(200);
    assert_eq!(
        (so["status"].as_str(), so["request_status"].as_str()),
        (Some("in_progress"), Some("accepted"))
    );
    assert_eq!(so["supplier_reference"], "AE-77123");
    assert_eq!(so["actual_cost"], json!({"amount": "29.50", "currency": "USD"}));
    assert_eq!(actions(&so), ["add_shipment", "cancel", "switch_supplier"]);

    // Tracking.
    let so = api
        .add_shipment(
            &supplier_order_id,
            &json!({"carrier": "USPS", "tracking_number": "9400111899223344556677", "tracking_url": "https://tools.usps.com/t/1"}),
        )
        .await
        .expect(201);
    let shipment = &so["shipments"][0];
    assert_eq!(
        (shipment["carrier"].as_str(), shipment["state"].as_str()),
        (Some("USPS"), Some("info_received"))
    );
    assert_eq!(
        actions(&so),
        [
            "add_shipment",
            "mark_shipped",
            "mark_delivered",
            "mark_failed",
            "cancel"
        ]
    );

    let so = api.mark_shipped(&supplier_order_id, &json!({})).await.expect(200);
    assert_eq!(so["shipments"][0]["state"], "in_transit");
    assert_eq!(so["order_state"], "shipped");

    let so = api
        .mark_delivered(&supplier_order_id, &json!({"note": "left at the door"}))
        .await
        .expect(200);
    assert_eq!(so["shipments"][0]["state"], "delivered");
    assert_eq!(so["status"], "closed");
    assert!(actions(&so).is_empty(), "{so}");

    let order = api.get_order(&order_id).await.expect(200);
    assert_eq!(order["state"], "delivered");

    // The return window is over: the order is completed, and nothing moves it any more.
    let completed = api.complete(&order_id).await.expect(200);
    assert_eq!(completed["state"], "completed");
    let again = api.complete(&order_id).await;
    again.expect_error(409, "illegal_transition");
    assert!(
        again.error_message().contains("'completed'"),
        "{}",
        again.error_message()
    );

    // The timeline tells the whole story, with actors.
    let timeline = api.timeline(&order_id).await.expect(200);
    let kinds: Vec<&str> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "order.received",
        "order.accept",
        "supplier_order.created",
        "order.start_fulfillment",
        "supplier_order.accept",
        "supplier_order.reference_recorded",
        "shipment.added",
        "shipment.in_transit",
        "shipment.delivered",
        "supplier_order.close",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let first = &timeline["events"][0];
    assert_eq!(first["actor"], json!({"kind": "storefront", "name": "api"}));
    let accept = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "order.accept")
        .unwrap();
    assert_eq!(accept["actor"], json!({"kind": "seller", "name": seeded.store_id}));
    assert_eq!(
        (accept["from_state"].as_str(), accept["to_state"].as_str()),
        (Some("pending_review"), Some("accepted"))
    );

    // The customer emails queued in the outbox with the changes that caused them (no
    // mailer here: they wait), one per event.
    let messages = api.order_messages(&order_id).await.expect(200);
    let mut templates: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["template"].as_str().unwrap())
        .collect();
    templates.sort();
    assert_eq!(templates, ["delivered", "order_confirmed", "order_received", "shipped"]);
    let same = api.list_messages(&format!("order_id={order_id}")).await.expect(200);
    assert_eq!(same["messages"].as_array().unwrap().len(), 4);
    assert!(
        same["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] == "queued"),
        "{same}"
    );
}

async fn a_failed_delivery_is_reshipped_and_then_delivered(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let (order_id, so) = routed_order(&app, &api, &seeded).await;
    let so_id = id_of(&so);
    api.record_reference(&so_id, &json!({"supplier_reference": "CJ-1"}))
        .await
        .expect(200);
    api.add_shipment(&so_id, &json!({"carrier": "YunExpress", "tracking_number": "YT100"}))
        .await
        .expect(201);
    api.mark_shipped(&so_id, &json!({})).await.expect(200);

    let so = api
        .mark_failed(&so_id, &json!({"note": "address not found"}))
        .await
        .expect(200);
    let failed_shipment = id_of(&so["shipments"][0]);
    assert_eq!(so["shipments"][0]["state"], "attempt_failed");
    assert_eq!(so["order_state"], "delivery_failed");
    assert!(actions(&so).contains(&"reship".to_string()), "{so}");

    let so = api
        .reship(
            &so_id,
            &json!({"carrier": "YunExpress", "tracking_number": "YT200", "shipment_id": failed_shipment}),
        )
        .await
        .expect(201);
    assert_eq!(so["shipments"].as_array().unwrap().len(), 2);
    assert_eq!(so["shipments"][1]["tracking_number"], "YT200");
    assert_eq!(so["shipments"][1]["state"], "info_received");
    assert_eq!(so["order_state"], "in_fulfillment");
    assert!(!actions(&so).contains(&"reship".to_string()), "{so}");

    api.mark_shipped(&so_id, &json!({})).await.expect(200);
    let so = api.mark_delivered(&so_id, &json!({})).await.expect(200);
    assert_eq!(so["status"], "closed");
    let order = api.get_order(&order_id).await.expect(200);
    assert_eq!(order["state"], "delivered");
    let timeline = api.timeline(&order_id).await.expect(200);
    let kinds: Vec<&str> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"order.delivery_failed") && kinds.contains(&"order.retry"),
        "{kinds:?}"
    );
}

async fn a_failed_delivery_can_be_cancelled_instead(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let (order_id, so) = routed_order(&app, &api, &seeded).await;
    let so_id = id_of(&so);
    api.record_reference(&so_id, &json!({"supplier_reference": "CJ-2"}))
        .await
        .expect(200);
    api.add_shipment(&so_id, &json!({"carrier": "DHL", "tracking_number": "DHL1"}))
        .await
        .expect(201);
    api.mark_failed(&so_id, &json!({})).await.expect(200);

    let order = api.cancel(&order_id).await.expect(200);
    assert_eq!(order["state"], "cancelled");
    // The supplier already accepted: cancellation is asked of it.
    assert_eq!(order["supplier_orders"][0]["request_status"], "cancellation_requested");
    // A cancelled order takes no more parcels.
    let refused = api
        .reship(&so_id, &json!({"carrier": "DHL", "tracking_number": "DHL2"}))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
}

async fn an_unsubmitted_supplier_order_is_cancelled_outright(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let (_, so) = routed_order(&app, &api, &seeded).await;
    let so = api.cancel_supplier_order(&id_of(&so)).await.expect(200);
    assert_eq!(
        (so["status"].as_str(), so["request_status"].as_str()),
        (Some("cancelled"), Some("closed"))
    );
    assert!(actions(&so).is_empty(), "{so}");
    let again = api.cancel_supplier_order(&id_of(&so)).await;
    again.expect_error(409, "illegal_transition");
    assert!(again.error_message().contains("'cancelled/closed'"), "{}", again.text);
}

async fn an_order_in_review_is_cancelled(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let order = api.post_order(&seeded.order("to-cancel")).await.expect(201);
    let cancelled = api.cancel(&id_of(&order)).await.expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    api.accept(&id_of(&order)).await.expect_error(409, "illegal_transition");
}

backend_tests!(
    an_order_goes_from_the_storefront_to_the_door,
    a_failed_delivery_is_reshipped_and_then_delivered,
    a_failed_delivery_can_be_cancelled_instead,
    an_unsubmitted_supplier_order_is_cancelled_outright,
    an_order_in_review_is_cancelled,
);
