//! Orders over HTTP: automatic acceptance, holds, bulk review, idempotent ingest, keyset
//! pagination and filters.

use crate::{id_of, ids_in};
use dropline_testkit::{TestApp, data};
use serde_json::{Value, json};

fn hold_reasons(order: &Value) -> Vec<&str> {
    order["hold_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

async fn the_store_rules_accept_orders_by_themselves(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let settings = json!({
        "auto_accept": {"enabled": true, "max_total": data::usd("150.00"), "allowed_skus": [seeded.skus[0]]},
        "routing_policy": "cheapest_landed",
    });
    let store = api.update_store_settings(&seeded.store_id, &settings).await.expect(200);
    assert_eq!(
        store["settings"]["auto_accept"]["max_total"],
        json!({"amount": "150.00", "currency": "USD"})
    );
    assert_eq!(store["settings"]["routing_policy"], "cheapest_landed");

    // Paid, valid, routable, under the limit, an allowed product: accepted by the rule and
    // routed in the same transaction, with no job left to run.
    let order = api.post_order(&seeded.order("auto-1")).await.expect(201);
    assert_eq!(order["state"], "in_fulfillment");
    assert_eq!(order["supplier_orders"].as_array().map(Vec::len), Some(1), "{order}");
    app.run_pending_jobs().await;
    let order = api.get_order(&id_of(&order)).await.expect(200);
    assert_eq!(order["state"], "in_fulfillment");
    let timeline = api.timeline(&id_of(&order)).await.expect(200);
    let accept = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "order.accept")
        .unwrap();
    assert_eq!(accept["actor"], json!({"kind": "rule", "name": "auto_accept"}));

    // Over the limit (3 × 49.99 + 5.00): left for the seller.
    let big = data::order(&seeded.store_id, "auto-2", &[(seeded.skus[0].as_str(), 3)]);
    assert_eq!(api.post_order(&big).await.expect(201)["state"], "pending_review");
    // A product not yet automated: left for the seller.
    let other = data::order(&seeded.store_id, "auto-3", &[(seeded.skus[1].as_str(), 1)]);
    assert_eq!(api.post_order(&other).await.expect(201)["state"], "pending_review");
    // Not paid: on hold, not accepted.
    let mut unpaid = seeded.order("auto-4");
    unpaid["payment"] = json!("pending");
    let unpaid = api.post_order(&unpaid).await.expect(201);
    assert_eq!(unpaid["state"], "on_hold");
    assert_eq!(hold_reasons(&unpaid), ["payment_not_captured"]);
}

async fn an_invalid_address_holds_the_order_until_a_resend_fixes_it(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let mut body = seeded.order("addr-1");
    body["shipping_address"] = data::invalid_address();
    let order = api.post_order(&body).await.expect(201);
    assert_eq!(order["state"], "on_hold");
    assert_eq!(hold_reasons(&order), ["invalid_address"]);
    let fields: Vec<&str> = order["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"shipping_address.postal_code"), "{fields:?}");
    // On hold, it cannot be accepted.
    let refused = api.accept(&id_of(&order)).await;
    refused.expect_error(409, "illegal_transition");
    assert_eq!(refused.error_message(), "order in state 'on_hold' cannot take 'accept'");

    // The storefront sends the corrected order: back to review, on the timeline.
    let fixed = api.post_order(&seeded.order("addr-1")).await.expect(200);
    assert_eq!(id_of(&fixed), id_of(&order));
    assert_eq!(fixed["state"], "pending_review");
    assert!(hold_reasons(&fixed).is_empty());
    let timeline = api.timeline(&id_of(&order)).await.expect(200);
    let kinds: Vec<&str> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"order.updated") && kinds.contains(&"order.release"),
        "{kinds:?}"
    );
}

async fn a_line_no_offer_can_serve_holds_the_order_with_the_reason(app: TestApp) {
    let seeded = app.seed().await;
    let admin = app.admin();
    let api = app.with_token(&seeded.token);

    // Out of stock: the only offer has 1 unit, the order wants 2.
    let scarce = admin
        .create_product(&data::product(&seeded.store_id, &["SCARCE-1"], "20.00"))
        .await
        .expect(201);
    let variant = id_of(&scarce["variants"][0]);
    admin
        .add_offer(&data::offer(
            &variant,
            &seeded.supplier_id,
            "https://supplier.example/s",
            Some(1),
        ))
        .await
        .expect(201);
    let order = api
        .post_order(&data::order(&seeded.store_id, "oos-1", &[("SCARCE-1", 2)]))
        .await
        .expect(201);
    api.accept(&id_of(&order)).await.expect(200);

    // Unmapped: a SKU the catalogue does not know waits on hold from the start.
    let unmapped = api
        .post_order(&data::order(&seeded.store_id, "um-1", &[("NOT-IN-CATALOGUE", 1)]))
        .await
        .expect(201);
    assert_eq!(unmapped["lines"][0]["variant_id"], Value::Null);
    assert_eq!(
        (unmapped["state"].as_str(), hold_reasons(&unmapped)),
        (Some("on_hold"), vec!["unmapped_variant"])
    );
    api.accept(&id_of(&unmapped))
        .await
        .expect_error(409, "illegal_transition");

    // No route: a catalogue variant no supplier offers.
    admin
        .create_product(&data::product(&seeded.store_id, &["ORPHAN-1"], "19.99"))
        .await
        .expect(201);
    let lost = api
        .post_order(&data::order(&seeded.store_id, "nr-1", &[("ORPHAN-1", 1)]))
        .await
        .expect(201);
    assert!(lost["lines"][0]["variant_id"].is_string());
    api.accept(&id_of(&lost)).await.expect(200);

    app.run_pending_jobs().await;
    let order = api.get_order(&id_of(&order)).await.expect(200);
    assert_eq!(
        (order["state"].as_str(), hold_reasons(&order)),
        (Some("on_hold"), vec!["out_of_stock"])
    );
    assert_eq!(order["supplier_orders"], json!([]));
    let lost = api.get_order(&id_of(&lost)).await.expect(200);
    assert_eq!(
        (lost["state"].as_str(), hold_reasons(&lost)),
        (Some("on_hold"), vec!["no_route"])
    );
    let timeline = api.timeline(&id_of(&lost)).await.expect(200);
    assert!(
        timeline["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "routing.unroutable"),
        "{timeline}"
    );
}

async fn bulk_review_answers_each_order(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(id_of(
            &api.post_order(&seeded.order(&format!("bulk-{n}"))).await.expect(201),
        ));
    }
    api.reject(&ids[3]).await.expect(200);
    let unknown = dropline_domain::ids::OrderId::new().to_string();

    let answer = api
        .bulk("accept", &[&ids[0], &ids[1], &ids[3], &unknown, "not-an-id"])
        .await
        .expect(200);
    assert_eq!(
        (answer["succeeded"].as_u64(), answer["failed"].as_u64()),
        (Some(2), Some(3))
    );
    let results = answer["results"].as_array().unwrap();
    let summary: Vec<(String, bool, String)> = results
        .iter()
        .map(|r| {
            let outcome = if r["ok"] == true {
                r["state"].clone()
            } else {
                r["error"]["code"].clone()
            };
            (
                r["order_id"].as_str().unwrap().to_string(),
                r["ok"] == true,
                outcome.as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (ids[0].clone(), true, "accepted".to_string()),
            (ids[1].clone(), true, "accepted".to_string()),
            (ids[3].clone(), false, "illegal_transition".to_string()),
            (unknown.clone(), false, "order_not_found".to_string()),
            ("not-an-id".to_string(), false, "order_not_found".to_string()),
        ]
    );
    assert_eq!(
        results[2]["error"]["message"],
        "order in state 'rejected' cannot take 'accept'"
    );

    // Reject: the accepted ones refuse, the one in review goes.
    let answer = api.bulk("reject", &[&ids[0], &ids[2]]).await.expect(200);
    assert_eq!(answer["results"][0]["error"]["code"], "illegal_transition");
    assert_eq!(answer["results"][1]["state"], "rejected");
    assert_eq!(api.get_order(&ids[2]).await.expect(200)["state"], "rejected");
    assert_eq!(api.get_order(&ids[0]).await.expect(200)["state"], "accepted");
}

async fn the_same_order_twice_is_one_order_and_a_changed_resend_updates_it(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let body = seeded.order("dup-1");
    let first = api.post_order(&body).await.expect(201);
    app.run_pending_jobs().await;

    let before = app.snapshot().await;
    let again = api.post_order(&body).await.expect(200);
    assert_eq!(id_of(&again), id_of(&first));
    assert_eq!(before, app.snapshot().await, "an identical resend must write nothing");
    assert_eq!(before.order_count(), 1);

    let mut changed = body.clone();
    changed["lines"][0]["quantity"] = json!(3);
    let updated = api.post_order(&changed).await.expect(200);
    assert_eq!(id_of(&updated), id_of(&first));
    assert_eq!(updated["lines"][0]["quantity"], 3);
    assert_eq!(updated["total"], json!({"amount": "154.97", "currency": "USD"}));
    let page = api.list_orders("").await.expect(200);
    assert_eq!(page["orders"].as_array().unwrap().len(), 1);
    let timeline = api.timeline(&id_of(&first)).await.expect(200);
    let update = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "order.updated");
    let update = update.unwrap_or_else(|| panic!("no order.updated in {timeline}"));
    assert!(update["message"].as_str().unwrap().contains("lines"), "{update}");
}

async fn listing_pages_by_keyset_newest_first(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(id_of(
            &api.post_order(&seeded.order(&format!("page-{n}"))).await.expect(201),
        ));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=2&before={c}"),
            None => "limit=2".to_string(),
        };
        let page = api.list_orders(&query).await.expect(200);
        seen.extend(ids_in(&page, "orders"));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    created.reverse();
    assert_eq!(seen, created, "every order once, newest first");

    // A page that is exactly full has no next page when nothing follows.
    let page = api.list_orders("limit=5").await.expect(200);
    assert_eq!(page["next_cursor"], Value::Null);

    // A search and the open-exception filter narrow the pages.
    let page = api.list_orders("q=%23page-3").await.expect(200);
    assert_eq!(ids_in(&page, "orders"), [created[1].clone()]);
    let page = api.list_orders("q=LOVELACE&limit=2").await.expect(200);
    assert_eq!(ids_in(&page, "orders"), created[..2].to_vec());
    let page = api.list_orders("has_exception=true").await.expect(200);
    assert_eq!(ids_in(&page, "orders"), Vec::<String>::new());
    let page = api.list_orders("has_exception=false&q=nobody").await.expect(200);
    assert_eq!(ids_in(&page, "orders"), Vec::<String>::new());
}

async fn listing_filters_by_state_store_supplier_and_date(app: TestApp) {
    let first = app.seed().await;
    let second = app.seed().await;
    let admin = app.admin();

    let mut march = first.order("f-1");
    march["placed_at"] = json!("2026-03-01T12:00:00Z");
    let march = id_of(&admin.post_order(&march).await.expect(201));
    let mut april = first.order("f-2");
    april["placed_at"] = json!("2026-04-01T12:00:00+02:00");
    let april = id_of(&admin.post_order(&april).await.expect(201));
    let mut held = first.order("f-3");
    held["shipping_address"] = data::invalid_address();
    let held = id_of(&admin.post_order(&held).await.expect(201));
    let elsewhere = id_of(&admin.post_order(&second.order("f-4")).await.expect(201));
    admin.accept(&march).await.expect(200);
    app.run_pending_jobs().await;

    let listed = |query: String| {
        let admin = admin.clone();
        async move { ids_in(&admin.list_orders(&query).await.expect(200), "orders") }
    };
    assert_eq!(listed("state=on_hold".into()).await, [held.as_str()]);
    assert_eq!(
        listed(format!("store_id={}", second.store_id)).await,
        [elsewhere.as_str()]
    );
    assert_eq!(
        listed(format!("supplier_id={}", first.supplier_id)).await,
        [march.as_str()]
    );
    assert_eq!(
        listed("placed_from=2026-03-15T00:00:00Z&placed_to=2026-04-15T00:00:00Z".into()).await,
        [april.as_str()]
    );
    assert_eq!(
        listed(format!("store_id={}&state=pending_review", first.store_id)).await,
        [april.as_str()]
    );
    assert_eq!(listed(String::new()).await.len(), 4);

    let counts = admin
        .count_orders(&format!("store_id={}", first.store_id))
        .await
        .expect(200);
    assert_eq!(counts["total"], 3);
    assert_eq!(
        (
            counts["counts"]["on_hold"].as_u64(),
            counts["counts"]["in_fulfillment"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(counts["counts"]["cancelled"], 0);
}

backend_tests!(
    the_store_rules_accept_orders_by_themselves,
    an_invalid_address_holds_the_order_until_a_resend_fixes_it,
    a_line_no_offer_can_serve_holds_the_order_with_the_reason,
    bulk_review_answers_each_order,
    the_same_order_twice_is_one_order_and_a_changed_resend_updates_it,
    listing_pages_by_keyset_newest_first,
    listing_filters_by_state_store_supplier_and_date,
);
