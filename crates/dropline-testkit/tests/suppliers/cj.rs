//! CJ Dropshipping: placement, checks before submitting, failover, following, cancelling,
//! reconciling.

use crate::support::{POLL_HORIZON, accepted_order, cj_store, order, settle, supplier_orders, timeline_kinds};
use dropline_sim::CjSim;
use dropline_testkit::TestApp;
use serde_json::{Value, json};
use std::time::Duration;

backend_tests!(
    an_accepted_order_is_placed_at_cj_once_and_followed_to_delivery,
    a_price_above_the_tolerance_holds_until_the_seller_accepts_it,
    a_variant_gone_at_cj_holds_with_the_remap_fix,
    a_missing_phone_holds_before_cj_is_called,
    a_margin_below_the_floor_holds,
    an_out_of_stock_refusal_fails_over_to_the_backup_offer,
    a_refusal_without_another_offer_puts_the_order_on_hold,
    cancelling_the_order_cancels_it_at_cj,
    reconciliation_reports_ghosts_and_what_cj_lost,
    a_tracking_number_failing_its_check_is_flagged_for_the_seller,
    a_destination_needing_a_tax_id_holds_until_the_seller_enters_it,
    bad_supplier_input_is_refused_and_changes_nothing,
);

async fn an_accepted_order_is_placed_at_cj_once_and_followed_to_delivery(app: TestApp) {
    let sim = CjSim::start(11).await.unwrap();
    let store = cj_store(
        &app,
        &sim,
        false,
        json!({ "supplier_note": "No invoice, no prices, neutral packaging please" }),
    )
    .await;
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;

    let sos = supplier_orders(&app, &order_id).await;
    assert_eq!(sos.len(), 1);
    let so = &sos[0];
    assert_eq!(so["request_status"], "accepted", "{so:#}");
    assert_eq!(so["status"], "in_progress");
    let key = so["placement"]["idempotency_key"].as_str().unwrap();
    assert!(key.len() <= 40, "CJ's orderNumber takes 40 characters: {key}");
    let cj_orders = sim.orders();
    assert_eq!(cj_orders.len(), 1, "exactly one order at CJ");
    let placed = &cj_orders[0];
    assert_eq!(placed.order_number, key);
    assert_eq!(so["supplier_reference"], placed.order_id.as_str());
    assert_eq!(placed.country_code, "US", "shipped to the customer, not the store");
    assert_eq!(placed.products, vec![(store.vids[0].clone(), 2)]);
    assert_eq!(placed.logistic_name, "CJPacket Ordinary");
    assert_eq!(
        so["placement"]["note"], "No invoice, no prices, neutral packaging please",
        "the store's note for blind dropshipping went with the order"
    );
    assert!(so["actual_cost"]["amount"].is_string(), "CJ's amount recorded: {so:#}");
    let kinds = timeline_kinds(&app, &order_id).await;
    assert!(kinds.contains(&"supplier_order.submit".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"supplier_order.reference_recorded".to_string()));

    // CJ pays, packs and ships; the poll sees the parcel.
    sim.advance_days(4);
    app.run_jobs_ahead(POLL_HORIZON).await;
    let placed = sim.order(&placed.order_id).unwrap();
    let tracking = placed.track_number.clone().expect("CJ shipped");
    let shown = order(&app, &order_id).await;
    assert_eq!(shown["state"], "shipped", "{shown:#}");
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["shipments"][0]["tracking_number"], tracking.as_str());
    assert_eq!(so["shipments"][0]["state"], "in_transit");

    // Delivered at CJ: delivered here, and the supplier order is closed.
    sim.advance_days(30);
    app.run_jobs_ahead(POLL_HORIZON * 2).await;
    let shown = order(&app, &order_id).await;
    assert_eq!(shown["state"], "delivered", "{shown:#}");
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "closed");
    assert_eq!(sim.orders().len(), 1, "following an order never places another");
    // The parcel was followed through CJ's tracking too, each status once.
    let events = so["shipments"][0]["events"].as_array().unwrap();
    let from_cj: Vec<&Value> = events.iter().filter(|e| e["from_carrier"] == true).collect();
    assert!(!from_cj.is_empty(), "{so:#}");
    let mut notes: Vec<&str> = from_cj.iter().filter_map(|e| e["note"].as_str()).collect();
    let count = notes.len();
    notes.dedup();
    assert_eq!(
        notes.len(),
        count,
        "a status repeated on every look is kept once: {so:#}"
    );
}

async fn a_price_above_the_tolerance_holds_until_the_seller_accepts_it(app: TestApp) {
    let sim = CjSim::start(12).await.unwrap();
    let store = cj_store(&app, &sim, false, json!({ "supplier_price_tolerance_bp": 500 })).await;
    let variant = sim.variant(&store.vids[0]).unwrap();
    sim.set_price(&store.vids[0], variant.price_cents * 4);
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;

    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "on_hold", "{so:#}");
    assert_eq!(so["request_status"], "unsubmitted", "nothing went to CJ");
    let codes: Vec<&str> = so["placement"]["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["price_above_tolerance"]);
    assert_eq!(so["placement"]["holds"][0]["fix"], "accept_new_price");
    assert!(so["placement"]["quoted_cost"]["amount"].is_string());
    assert!(
        so["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("accept_price"))
    );
    assert!(sim.orders().is_empty());
    let shown = order(&app, &order_id).await;
    assert!(
        shown["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "supplier_order_held"),
        "{shown:#}"
    );

    // The seller accepts the new price: it becomes the expected cost and CJ gets the order.
    let id = so["id"].as_str().unwrap();
    let released = app
        .admin()
        .post(
            &format!("/api/v1/supplier-orders/{id}/release"),
            &json!({ "accept_price": true }),
        )
        .await
        .expect(200);
    assert_eq!(released["expected_cost"], so["placement"]["quoted_cost"]);
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["request_status"], "accepted", "{so:#}");
    assert_eq!(sim.orders().len(), 1);
}

async fn a_variant_gone_at_cj_holds_with_the_remap_fix(app: TestApp) {
    let sim = CjSim::start(13).await.unwrap();
    let store = cj_store(&app, &sim, true, Value::Null).await;
    sim.remove_variant(&store.vids[0]);
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "on_hold", "{so:#}");
    let hold = &so["placement"]["holds"][0];
    assert_eq!(hold["code"], "sku_missing_at_supplier");
    assert_eq!(hold["fix"], "remap_variant");
    assert!(hold["field"].as_str().unwrap().starts_with("lines[0]"));
    assert!(sim.orders().is_empty());

    // The seller switches the lines to the next offer.
    let id = so["id"].as_str().unwrap();
    let switched = app
        .admin()
        .post_empty(&format!("/api/v1/supplier-orders/{id}/switch"))
        .await
        .expect(200);
    assert_eq!(switched["status"], "cancelled");
    assert_eq!(switched["placement"]["failure"]["detail"], "switched by the seller");
    let sos = supplier_orders(&app, &order_id).await;
    assert_eq!(sos.len(), 2);
    assert_eq!(sos[1]["supplier_id"], store.backup_supplier_id.as_deref().unwrap());
    // Switching a cancelled supplier order again is refused.
    app.admin()
        .post_empty(&format!("/api/v1/supplier-orders/{id}/switch"))
        .await
        .expect_error(409, "illegal_transition");
    assert!(sim.orders().is_empty());
}

async fn a_missing_phone_holds_before_cj_is_called(app: TestApp) {
    let sim = CjSim::start(14).await.unwrap();
    let store = cj_store(&app, &sim, false, Value::Null).await;
    let mut body = store.order();
    body["shipping_address"].as_object_mut().unwrap().remove("phone");
    let order_id = accepted_order(&app, &body).await;
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "on_hold", "{so:#}");
    let hold = &so["placement"]["holds"][0];
    assert_eq!(hold["code"], "phone_missing");
    assert_eq!(hold["fix"], "edit_address");
    assert_eq!(sim.calls("/shopping/order/createOrderV2"), 0);
    assert!(
        so["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("edit_ship_to"))
    );

    // The seller adds the phone to the supplier order's address and releases it.
    let id = so["id"].as_str().unwrap();
    let admin = app.admin();
    let path = format!("/api/v1/supplier-orders/{id}/ship-to");
    let mut corrected = dropline_testkit::data::address();
    let before = app.snapshot().await;
    let mut abroad = corrected.clone();
    abroad["country_code"] = json!("CA");
    abroad["region"] = json!("QC");
    abroad["postal_code"] = json!("H2X 1Z4");
    let refused = admin.put(&path, &abroad).await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["country_code"]);
    let mut broken = corrected.clone();
    broken["postal_code"] = json!("ABCDE");
    admin.put(&path, &broken).await.expect_error(422, "invalid_input");
    assert_eq!(app.snapshot().await, before, "refused edits wrote nothing");
    corrected["phone"] = json!("+1 217 555 0199");
    let edited = admin.put(&path, &corrected).await.expect(200);
    assert_eq!(edited["ship_to"]["phone"], "+1 217 555 0199");
    admin
        .post(&format!("/api/v1/supplier-orders/{id}/release"), &json!({}))
        .await
        .expect(200);
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["request_status"], "accepted", "{so:#}");
    assert_eq!(sim.orders().len(), 1);
    // CJ has it now: the address can no longer change here.
    admin
        .put(&path, &corrected)
        .await
        .expect_error(409, "illegal_transition");
}

async fn a_margin_below_the_floor_holds(app: TestApp) {
    let sim = CjSim::start(15).await.unwrap();
    // A 95 % floor: no dropshipping margin passes it.
    let store = cj_store(&app, &sim, false, json!({ "margin_floor_bp": 9500 })).await;
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "on_hold", "{so:#}");
    let codes: Vec<&str> = so["placement"]["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"margin_below_floor"), "{codes:?}");
    assert!(sim.orders().is_empty());
}

async fn an_out_of_stock_refusal_fails_over_to_the_backup_offer(app: TestApp) {
    let sim = CjSim::start(16).await.unwrap();
    let store = cj_store(&app, &sim, true, Value::Null).await;
    sim.set_stock(&store.vids[0], 1);
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;

    let sos = supplier_orders(&app, &order_id).await;
    assert_eq!(sos.len(), 2, "{sos:#?}");
    let failed = &sos[0];
    assert_eq!(failed["supplier_id"], store.cj_supplier_id.as_str());
    assert_eq!(failed["status"], "cancelled");
    assert_eq!(failed["placement"]["failure"]["kind"], "out_of_stock", "{failed:#}");
    let next = &sos[1];
    assert_eq!(
        next["supplier_id"],
        store.backup_supplier_id.as_deref().unwrap(),
        "the lines went to the backup offer"
    );
    assert_eq!(next["status"], "open");
    assert_eq!(next["lines"][0]["quantity"], 2);
    assert!(sim.orders().is_empty(), "CJ created nothing");
    let shown = order(&app, &order_id).await;
    assert_eq!(shown["state"], "in_fulfillment");
    let kinds = timeline_kinds(&app, &order_id).await;
    assert!(kinds.contains(&"supplier_order.failed".to_string()), "{kinds:?}");
}

async fn a_refusal_without_another_offer_puts_the_order_on_hold(app: TestApp) {
    let sim = CjSim::start(17).await.unwrap();
    let store = cj_store(&app, &sim, false, Value::Null).await;
    sim.reject_next_create(1_603_099, "Order refused: account balance insufficient");
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    let shown = order(&app, &order_id).await;
    assert_eq!(shown["state"], "on_hold", "{shown:#}");
    assert!(
        shown["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "no_failover_offer")
    );
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["placement"]["failure"]["kind"], "rejected");
    assert!(
        so["placement"]["failure"]["detail"]
            .as_str()
            .unwrap()
            .contains("balance insufficient")
    );
}

async fn cancelling_the_order_cancels_it_at_cj(app: TestApp) {
    let sim = CjSim::start(18).await.unwrap();
    // Not paid at once: CJ can still cancel it.
    sim.set_payment_delay(Duration::from_secs(3 * 86_400));
    let store = cj_store(&app, &sim, false, Value::Null).await;
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    assert_eq!(sim.orders().len(), 1);
    app.admin().cancel(&order_id).await.expect(200);
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["request_status"], "cancellation_requested");
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "cancelled", "{so:#}");
    assert_eq!(so["request_status"], "cancellation_accepted");
    assert_eq!(sim.orders()[0].status, "CANCELLED");
}

async fn reconciliation_reports_ghosts_and_what_cj_lost(app: TestApp) {
    let sim = CjSim::start(19).await.unwrap();
    let store = cj_store(&app, &sim, false, Value::Null).await;
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    // Someone ordered at CJ by hand: a ghost dropline never placed.
    let client = dropline_connect::cj::client::CjClient::new(sim.base_url(), sim.api_key()).unwrap();
    let ghost = client
        .create_order(
            "MANUAL-ORDER-1",
            &dropline_connect::cj::client::OrderRequest {
                country_code: "US".into(),
                country: "US".into(),
                province: "IL".into(),
                city: "Springfield".into(),
                address: "1 Elm St".into(),
                address2: None,
                customer_name: "Someone Else".into(),
                zip: "62701".into(),
                phone: "+12175550111".into(),
                email: None,
                remark: None,
                logistic_name: "CJPacket Ordinary".into(),
                from_country: "CN".into(),
                pay_type: Some(2),
                tax_id: None,
                lines: vec![dropline_connect::cj::client::Line {
                    vid: store.vids[1].clone(),
                    quantity: 1,
                }],
            },
        )
        .await
        .unwrap();
    app.admin()
        .post_empty(&format!("/api/v1/suppliers/{}/reconcile", store.cj_supplier_id))
        .await
        .expect(202);
    settle(&app).await;
    let supplier = app.admin().get_supplier(&store.cj_supplier_id).await.expect(200);
    let report = &supplier["last_reconciliation"];
    assert_eq!(report["remote_orders"], 2, "{report:#}");
    assert_eq!(report["matched"], 1);
    assert_eq!(report["ghosts"], json!([ghost]));
    assert_eq!(report["duplicates"], json!([]));
    assert_eq!(report["missing"], json!([]));
    assert_eq!(report["complete"], true);
    assert!(
        order(&app, &order_id).await["exceptions"]
            .as_array()
            .is_none_or(|e| e.is_empty())
    );
}

async fn bad_supplier_input_is_refused_and_changes_nothing(app: TestApp) {
    let sim = CjSim::start(20).await.unwrap();
    let store = cj_store(&app, &sim, true, Value::Null).await;
    let admin = app.admin();
    let before = app.snapshot().await;
    let refused = admin
        .create_supplier(&json!({
            "store_id": store.store_id,
            "name": "Broken",
            "kind": "cj",
            "processing_deadline_days": 0,
            "connection": { "api_base": "ftp://nowhere", "api_key": "", "requests_per_second": 0 },
        }))
        .await;
    refused.expect_error(422, "invalid_input");
    let mut fields = refused.refused_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "connection.api_base",
            "connection.api_key",
            "connection.requests_per_second",
            "processing_deadline_days"
        ],
        "{}",
        refused.text
    );
    let refused = admin
        .put(
            &format!("/api/v1/suppliers/{}/connection", store.cj_supplier_id),
            &json!({ "api_base": "http://" }),
        )
        .await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["api_base"]);
    // A manual supplier has no order list to reconcile.
    let manual = store.backup_supplier_id.as_deref().unwrap();
    admin
        .post_empty(&format!("/api/v1/suppliers/{manual}/reconcile"))
        .await
        .expect_error(422, "invalid_input");
    let settings = admin
        .update_store_settings(
            &store.store_id,
            &json!({ "supplier_price_tolerance_bp": 20_000, "margin_floor_bp": 10_001 }),
        )
        .await;
    settings.expect_error(422, "invalid_input");
    assert_eq!(app.snapshot().await, before, "refused requests wrote nothing");

    // Secrets are never shown.
    let shown = admin.get_supplier(&store.cj_supplier_id).await.expect(200);
    assert_eq!(shown["connection"]["has_api_key"], true);
    assert!(
        !shown.to_string().contains(sim.api_key()),
        "the API key leaked: {shown}"
    );

    // Releasing a supplier order that is not held is refused with its state.
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    let id = so["id"].as_str().unwrap();
    admin
        .post(&format!("/api/v1/supplier-orders/{id}/release"), &json!({}))
        .await
        .expect_error(409, "illegal_transition");
    admin
        .post(
            &format!("/api/v1/supplier-orders/{id}/release"),
            &json!({ "accept_price": "yes" }),
        )
        .await
        .expect_error(422, "invalid_input");
}

async fn a_tracking_number_failing_its_check_is_flagged_for_the_seller(app: TestApp) {
    let sim = CjSim::start(21).await.unwrap();
    let store = cj_store(&app, &sim, false, Value::Null).await;
    let order_id = accepted_order(&app, &store.order()).await;
    settle(&app).await;
    let reference = supplier_orders(&app, &order_id).await[0]["supplier_reference"]
        .as_str()
        .unwrap()
        .to_string();
    // CJ's parcel carries an S10 number whose check digit is wrong (it should be 5).
    assert!(sim.set_track_number(&reference, "RB123456786CN"));
    sim.advance_days(4);
    app.run_jobs_ahead(POLL_HORIZON).await;
    let shown = order(&app, &order_id).await;
    let exception = shown["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "invalid_tracking")
        .unwrap_or_else(|| panic!("no invalid_tracking exception: {shown:#}"));
    assert!(exception["detail"].as_str().unwrap().contains("RB123456786CN"));
    assert_eq!(exception["suggested_action"], "contact_supplier");
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(
        so["shipments"][0]["tracking_number"], "RB123456786CN",
        "kept for the seller"
    );
}

async fn a_destination_needing_a_tax_id_holds_until_the_seller_enters_it(app: TestApp) {
    let sim = CjSim::start(22).await.unwrap();
    let store = cj_store(&app, &sim, false, Value::Null).await;
    let mut body = store.order();
    body["shipping_address"] = json!({
        "first_name": "Joana", "last_name": "Silva", "address1": "Avenida Paulista 1000",
        "city": "São Paulo", "region": "SP", "postal_code": "01310-100", "country_code": "BR",
        "phone": "+55 11 91234 5678",
    });
    let order_id = accepted_order(&app, &body).await;
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["status"], "on_hold", "{so:#}");
    assert_eq!(so["placement"]["holds"][0]["code"], "tax_id_required");
    assert_eq!(so["placement"]["holds"][0]["fix"], "add_tax_id");
    assert!(so["allowed_actions"].as_array().unwrap().contains(&json!("set_tax_id")));
    assert!(sim.orders().is_empty());
    let id = so["id"].as_str().unwrap();
    let path = format!("/api/v1/supplier-orders/{id}/tax-id");
    let admin = app.admin();
    let before = app.snapshot().await;
    // A CPF whose check digits are wrong, and none at all.
    let refused = admin.put(&path, &json!({ "tax_id": "111.444.777-00" })).await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["tax_id"]);
    admin.put(&path, &json!({})).await.expect_error(422, "invalid_input");
    assert_eq!(app.snapshot().await, before, "refused tax ids wrote nothing");
    let entered = admin
        .put(&path, &json!({ "tax_id": "529.982.247-25" }))
        .await
        .expect(200);
    assert_eq!(entered["placement"]["has_tax_id"], true);
    assert!(
        !entered.to_string().contains("529.982.247-25"),
        "the tax id is not shown again"
    );
    admin
        .post(&format!("/api/v1/supplier-orders/{id}/release"), &json!({}))
        .await
        .expect(200);
    settle(&app).await;
    let so = &supplier_orders(&app, &order_id).await[0];
    assert_eq!(so["request_status"], "accepted", "{so:#}");
    assert_eq!(sim.orders().len(), 1);
    assert_eq!(sim.orders()[0].country_code, "BR");
}
