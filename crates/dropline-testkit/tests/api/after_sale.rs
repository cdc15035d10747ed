//! After delivery, through the engine on a real store (`TestApp`): an order delivered by the
//! manual flow goes return requested → approved → refunded with its ledger and the
//! customer's email; refunds stop at what was paid; a dispute is recorded and lost, and the
//! ledger shows it; a supplier's return policy sends the item back to it and a claim recovers
//! its cost. Refusals change nothing.

use crate::id_of;
use dropline_app::AppError;
use dropline_app::after_sale::{NewDispute, NewRefund, NewReturn};
use dropline_domain::after_sale::{LineUnits, Resolution, ReturnReason};
use dropline_domain::ids::OrderId;
use dropline_domain::ledger::{DisputeEvent, LedgerKind, ReturnEvent, ReturnState};
use dropline_domain::money::Money;
use dropline_domain::state::PaymentState;
use dropline_testkit::{Api, Seeded, TestApp, data};
use serde_json::json;

/// An order of two units at 49.99 with 5.00 shipping, delivered through the manual flow at
/// an actual supplier cost of 29.50.
pub(crate) async fn delivered_order(app: &TestApp, api: &Api<'_>, seeded: &Seeded) -> OrderId {
    let order = api
        .post_order(&seeded.order(&seeded.next_external_id()))
        .await
        .expect(201);
    let order_id = id_of(&order);
    api.accept(&order_id).await.expect(200);
    app.run_pending_jobs().await;
    let so = id_of(&api.get_order(&order_id).await.expect(200)["supplier_orders"][0]);
    api.record_reference(
        &so,
        &json!({"supplier_reference": "AE-1", "actual_cost": data::usd("29.50")}),
    )
    .await
    .expect(200);
    api.add_shipment(
        &so,
        &json!({"carrier": "USPS", "tracking_number": "9400111899223344556677"}),
    )
    .await
    .expect(201);
    api.mark_shipped(&so, &json!({})).await.expect(200);
    api.mark_delivered(&so, &json!({})).await.expect(200);
    order_id.parse().expect("an order id")
}

fn usd(minor: i64) -> Money {
    Money::new(minor, dropline_domain::money::Currency::parse("USD").expect("USD"))
}

async fn a_delivered_order_is_returned_and_refunded_with_its_ledger(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = delivered_order(&app, &api, &seeded).await;
    let engine = app.app();
    let scope = dropline_app::Scope::Operator;
    let order = engine.get_order(scope, id).await.expect("the order");
    let line = order.lines[0].id;

    // More units than were delivered: refused, nothing written.
    let before = app.snapshot().await;
    let refused = engine
        .request_return(
            scope,
            id,
            NewReturn {
                lines: vec![LineUnits {
                    line_item_id: line,
                    quantity: 3,
                }],
                reason: ReturnReason::Damaged,
                note: None,
                photos: vec![],
            },
        )
        .await
        .expect_err("three of two units");
    assert!(
        matches!(&refused, AppError::Invalid(fields) if fields[0].field == "lines[0].quantity"),
        "{refused:?}"
    );
    assert_eq!(before, app.snapshot().await);

    // One unit back, approved, no need to ship it back: refunded at its price.
    let (_, return_id) = engine
        .request_return(
            scope,
            id,
            NewReturn {
                lines: vec![LineUnits {
                    line_item_id: line,
                    quantity: 1,
                }],
                reason: ReturnReason::Damaged,
                note: Some("cracked lid".into()),
                photos: vec!["https://photos.example/1.jpg".into()],
            },
        )
        .await
        .expect("a return");
    engine
        .move_return(scope, id, return_id, ReturnEvent::Approve)
        .await
        .expect("approved");
    let (order, refund) = engine
        .resolve_return(scope, id, return_id, Resolution::ReturnlessRefund, None, None)
        .await
        .expect("resolved");
    assert!(refund.is_some());
    assert_eq!(order.after_sale.returns[0].state, ReturnState::Resolved);
    assert_eq!(order.after_sale.refunds[0].amount, usd(4_999));
    assert_eq!(order.payment, PaymentState::PartiallyRefunded);

    // The ledger: sale 99.98, shipping 5.00, supplier 29.50 (2 × 12.00 of goods and 5.50 of
    // its shipping), refund 49.99.
    let money = engine.order_money(scope, id).await.expect("the ledger");
    let amount_of = |kind: LedgerKind| {
        money
            .entries
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.amount.minor)
            .sum::<i64>()
    };
    assert_eq!(amount_of(LedgerKind::Sale), 9_998);
    assert_eq!(amount_of(LedgerKind::ShippingCharged), 500);
    assert_eq!(amount_of(LedgerKind::SupplierCost), 2_400);
    assert_eq!(amount_of(LedgerKind::SupplierShipping), 550);
    assert_eq!(amount_of(LedgerKind::Refund), 4_999);
    assert_eq!(money.profit.profit, usd(9_998 + 500 - 2_950 - 4_999));

    // The customer is told, with the amount.
    let refund_emails = api.order_messages_of(&id.to_string(), "refund_issued").await;
    assert_eq!(refund_emails.len(), 1, "{refund_emails:?}");
    assert_eq!(refund_emails[0]["data"]["refund"]["amount"], "49.99 USD");

    // The timeline tells the story.
    let timeline = api.timeline(&id.to_string()).await.expect(200);
    let kinds: Vec<&str> = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["return.requested", "return.approve", "refund.issued", "return.resolve"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }

    // A refund above what is left: refused, nothing written; the rest is refundable.
    let before = app.snapshot().await;
    let left = order.paid_total().checked_sub(usd(4_999)).expect("left");
    let too_much = engine
        .refund_order(
            scope,
            id,
            NewRefund {
                amount: Some(Money::new(left.minor + 1, left.currency)),
                reason: "goodwill".into(),
                lines: vec![],
            },
        )
        .await
        .expect_err("too much");
    assert!(
        matches!(&too_much, AppError::Invalid(fields) if fields[0].field == "amount"),
        "{too_much:?}"
    );
    assert_eq!(before, app.snapshot().await);
    let (order, _) = engine
        .refund_order(
            scope,
            id,
            NewRefund {
                amount: Some(left),
                reason: "goodwill".into(),
                lines: vec![],
            },
        )
        .await
        .expect("the rest");
    assert_eq!(order.payment, PaymentState::Refunded);
    // Each refund has its own email.
    let emails = api.order_messages_of(&id.to_string(), "refund_issued").await;
    let amounts: Vec<&str> = emails
        .iter()
        .filter_map(|m| m["data"]["refund"]["amount"].as_str())
        .collect();
    assert_eq!(amounts.len(), 2, "{emails:?}");
}

async fn a_lost_dispute_costs_its_amount_and_fee(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = delivered_order(&app, &api, &seeded).await;
    // The store's fees: 2.9 % + 0.30 to the processor, 15.00 for a lost dispute.
    let store_id = seeded.store_id.clone();
    let settings = json!({
        "fees": {
            "payment_bp": 290,
            "payment_fixed": data::usd("0.30"),
            "chargeback_fee": data::usd("15.00"),
        }
    });
    let stored = app
        .admin()
        .update_store_settings(&store_id, &settings)
        .await
        .expect(200);
    assert_eq!(stored["settings"]["fees"]["payment_bp"], 290);
    assert_eq!(
        stored["settings"]["fees"]["chargeback_fee"],
        json!({"amount": "15.00", "currency": "USD"})
    );
    // A share above 100 %, a fee in another currency, a negative fee: refused by name.
    for (fees, field) in [
        (json!({"payment_bp": 10001}), "fees.payment_bp"),
        (
            json!({"payment_fixed": {"amount": "0.30", "currency": "EUR"}}),
            "fees.payment_fixed.currency",
        ),
        (json!({"chargeback_fee": data::usd("-1.00")}), "fees.chargeback_fee"),
    ] {
        let refused = app
            .admin()
            .update_store_settings(&store_id, &json!({ "fees": fees }))
            .await;
        refused.expect_error(422, "invalid_input");
        assert_eq!(refused.refused_fields(), [field], "{fees}");
    }
    let kept = app.admin().get_store(&store_id).await.expect(200);
    assert_eq!(kept["settings"]["fees"]["payment_bp"], 290);

    let engine = app.app();
    let scope = dropline_app::Scope::Operator;
    let base = engine.order_money(scope, id).await.expect("ledger");
    // 2.9 % of 104.98 = 3.04 (rounded), plus 0.30.
    let fee: i64 = base
        .entries
        .iter()
        .filter(|e| e.kind == LedgerKind::PaymentFee)
        .map(|e| e.amount.minor)
        .sum();
    assert_eq!(fee, 334);
    let order = engine.get_order(scope, id).await.expect("order");
    let due = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let bad = engine
        .open_dispute(
            scope,
            id,
            NewDispute {
                amount: Money::new(order.paid_total().minor + 1, order.currency),
                reason_code: "fraudulent".into(),
                due_at: due,
            },
        )
        .await
        .expect_err("more than was paid");
    assert!(matches!(&bad, AppError::Invalid(fields) if fields[0].field == "amount"));
    let (_, dispute) = engine
        .open_dispute(
            scope,
            id,
            NewDispute {
                amount: order.paid_total(),
                reason_code: "fraudulent".into(),
                due_at: due,
            },
        )
        .await
        .expect("a dispute");
    // Until the evidence is sent, the dispute is on the seller's work list with its due date.
    let work = api
        .get("/api/v1/exceptions?kind=dispute_needs_response")
        .await
        .expect(200);
    assert_eq!(work["exceptions"].as_array().map(Vec::len), Some(1), "{work}");
    assert_eq!(work["exceptions"][0]["suggested_action"], "answer_dispute");
    engine
        .move_dispute(scope, id, dispute, DisputeEvent::Respond)
        .await
        .expect("responded");
    let work = api
        .get("/api/v1/exceptions?kind=dispute_needs_response")
        .await
        .expect(200);
    assert_eq!(work["exceptions"], json!([]), "answered: nothing left to do");
    engine
        .move_dispute(scope, id, dispute, DisputeEvent::Lose)
        .await
        .expect("lost");
    let after = engine.order_money(scope, id).await.expect("ledger");
    assert_eq!(
        after.profit.profit.minor,
        base.profit.profit.minor - order.paid_total().minor - 1_500
    );
    // Another store's scope cannot see or touch it.
    let other = app.seed().await;
    let theirs = dropline_app::Scope::Store(other.store_id.parse().expect("a store id"));
    assert!(matches!(
        engine.move_dispute(theirs, id, dispute, DisputeEvent::Win).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        engine.order_money(theirs, id).await,
        Err(AppError::NotFound(_))
    ));
}

async fn the_api_takes_a_return_to_a_refund_and_shows_the_ledger(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = delivered_order(&app, &api, &seeded).await.to_string();
    let order = api.get_order(&id).await.expect(200);
    let line = order["lines"][0]["id"].as_str().expect("a line").to_string();
    let path = |rest: &str| format!("/api/v1/orders/{id}{rest}");

    // Bad requests are refused by field, and write nothing.
    let before = app.snapshot().await;
    for (body, fields) in [
        (
            json!({"lines": [{"line_item_id": line, "quantity": 3}], "reason": "damaged"}),
            vec!["lines[0].quantity"],
        ),
        (
            json!({"lines": [{"line_item_id": "nope", "quantity": 0}], "reason": "lost it"}),
            vec!["lines[0].line_item_id", "reason"],
        ),
        (json!({"reason": "damaged"}), vec!["lines"]),
    ] {
        let refused = api.post(&path("/returns"), &body).await;
        refused.expect_error(422, "invalid_input");
        let mut got = refused.refused_fields();
        got.sort();
        assert_eq!(got, fields, "{body}");
    }
    let refused = api.post(&path("/refunds"), &json!({"reason": "goodwill"})).await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["amount"]);
    let refused = api
        .post(
            &path("/disputes"),
            &json!({"amount": data::usd("1.00"), "reason_code": "x", "due_at": "tomorrow"}),
        )
        .await;
    assert_eq!(refused.refused_fields(), ["due_at"]);
    assert_eq!(before, app.snapshot().await);

    // A return, approved, resolved without the item: refunded at the line's price.
    let created = api
        .post(
            &path("/returns"),
            &json!({"lines": [{"line_item_id": line, "quantity": 1}], "reason": "damaged", "photos": ["https://photos.example/1.jpg"]}),
        )
        .await
        .expect(201);
    let return_id = created["created_id"].as_str().expect("a return id").to_string();
    assert_eq!(created["returns"][0]["state"], "requested");
    assert_eq!(
        api.post_empty(&path(&format!("/returns/{return_id}/explode")))
            .await
            .status,
        404
    );
    // Receiving before it was approved: the state says no.
    api.post_empty(&path(&format!("/returns/{return_id}/receive")))
        .await
        .expect_error(409, "illegal_transition");
    let approved = api
        .post_empty(&path(&format!("/returns/{return_id}/approve")))
        .await
        .expect(200);
    assert_eq!(approved["returns"][0]["state"], "approved");
    let resolved = api
        .post(
            &path(&format!("/returns/{return_id}/resolve")),
            &json!({"resolution": "returnless_refund"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["returns"][0]["resolution"], "returnless_refund");
    assert_eq!(resolved["refunds"][0]["amount"], data::usd("49.99"));
    assert_eq!(resolved["payment"], "partially_refunded");
    assert_eq!(resolved["refunded"], data::usd("49.99"));
    assert_eq!(resolved["created_id"], resolved["refunds"][0]["id"]);

    let ledger = api.get(&path("/ledger")).await.expect(200);
    let kinds: Vec<&str> = ledger["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "sale",
            "shipping_charged",
            "supplier_cost",
            "supplier_shipping",
            "refund"
        ]
    );
    assert_eq!(ledger["profit"], data::usd("25.49"));
    assert_eq!(ledger["revenue"], data::usd("54.99"));
    assert_eq!(ledger["margin_bp"], 4635);
    let after_sale = api.get(&path("/after-sale")).await.expect(200);
    assert_eq!(after_sale["returns"], resolved["returns"]);
}

async fn the_customer_asks_for_a_return_from_the_tracking_page(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = delivered_order(&app, &api, &seeded).await;
    let order = app
        .app()
        .get_order(dropline_app::Scope::Operator, id)
        .await
        .expect("the order");
    let token = order.tracking_token.clone().expect("a tracking page");
    let line = order.lines[0].id;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let page = format!("{}/track/{token}", app.base_url());
    let body = client
        .get(&page)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");
    assert!(body.contains(&format!("name=\"qty-{line}\"")), "{body}");
    assert!(body.contains("(up to 2)"), "{body}");
    let post = |pairs: Vec<(String, String)>| {
        let client = client.clone();
        let url = format!("{page}/return");
        async move {
            client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(
                    pairs
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("&"),
                )
                .send()
                .await
                .expect("sent")
        }
    };
    let qty = |n: &str| (format!("qty-{line}"), n.to_string());
    let reason = |r: &str| ("reason".to_string(), r.to_string());

    // Refused with a message, nothing written.
    let before = app.snapshot().await;
    for (pairs, says) in [
        (vec![qty("0"), reason("damaged")], "at least one item"),
        (vec![qty("x"), reason("damaged")], "whole number"),
        (vec![qty("1"), reason("bored")], "why you return"),
    ] {
        let response = post(pairs).await;
        assert_eq!(response.status(), 422);
        let body = response.text().await.expect("body");
        assert!(body.contains(says), "{says}: {body}");
    }
    assert_eq!(before, app.snapshot().await);

    // A good request: back to the page, which lists it; the seller sees it from the customer.
    let response = post(vec![qty("1"), reason("damaged"), ("note".into(), "cracked+lid".into())]).await;
    assert_eq!(response.status(), 303);
    let body = client
        .get(format!("{page}?return=requested"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");
    assert!(body.contains("your return request was sent"), "{body}");
    assert!(body.contains("1 × Wireless earbuds: Requested"), "{body}");
    assert!(body.contains("(up to 1)"), "{body}");
    let after = api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][0]["note"], "cracked lid");
    let timeline = api.timeline(&id.to_string()).await.expect(200);
    let requested = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "return.requested")
        .expect("the request on the timeline");
    assert_eq!(requested["actor"]["kind"], "customer");

    // More than is left is refused; and the form is limited per hour.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(post(vec![qty("2"), reason("damaged")]).await.status().as_u16());
    }
    assert_eq!(statuses, [422, 422, 422, 422, 429, 429]);
    // An unknown page takes nothing.
    let response = client
        .post(format!("{}/track/{}/return", app.base_url(), "0".repeat(48)))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("qty-{line}=1&reason=damaged"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 404);
}

async fn lanes_show_the_shipping_time_per_supplier_and_country(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    delivered_order(&app, &api, &seeded).await;
    let lanes = api.get("/api/v1/metrics/lanes").await.expect(200);
    assert_eq!(lanes["days"], 90);
    let lane = &lanes["lanes"][0];
    assert_eq!(lane["supplier_id"], json!(seeded.supplier_id));
    assert_eq!(lane["country"], "US");
    assert_eq!(lane["deliveries"], 1);
    assert!(lane["supplier_name"].is_string(), "{lanes}");
    let admin = app.admin();
    admin
        .get("/api/v1/metrics/lanes")
        .await
        .expect_error(422, "invalid_input");
    let refused = api.get("/api/v1/metrics/lanes?days=0").await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["days"]);
    let mine = admin
        .get(&format!("/api/v1/metrics/lanes?store_id={}&days=7", seeded.store_id))
        .await
        .expect(200);
    assert_eq!(mine["lanes"], lanes["lanes"]);
}

/// A return address in the US that validates.
fn return_address() -> serde_json::Value {
    json!({
        "first_name": "Returns",
        "last_name": "Desk",
        "company": "Gadget Supply Co",
        "address1": "77 Harbor Blvd",
        "city": "Long Beach",
        "region": "CA",
        "postal_code": "90802",
        "country_code": "US",
    })
}

/// The amount of the ledger's entries of a kind, and the profit, in minor units.
async fn ledger_of(api: &Api<'_>, id: &str) -> (serde_json::Value, i64) {
    let ledger = api.get(&format!("/api/v1/orders/{id}/ledger")).await.expect(200);
    let profit = Money::parse_decimal(
        ledger["profit"]["amount"].as_str().expect("a profit"),
        dropline_domain::money::Currency::parse("USD").expect("USD"),
    )
    .expect("an amount")
    .minor;
    (ledger, profit)
}

async fn a_supplier_takes_the_return_back_and_a_claim_recovers_its_cost(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    // The supplier takes returns at its own address and refunds them, within 30 days.
    let policy = api
        .put(
            &format!("/api/v1/suppliers/{}/return-policy", seeded.supplier_id),
            &json!({
                "accepts_returns": true,
                "window_days": 30,
                "return_address": return_address(),
                "refunds_returned_items": true,
            }),
        )
        .await
        .expect(200);
    assert_eq!(policy["return_policy"]["accepts_returns"], true);
    assert_eq!(policy["return_policy"]["credits_without_return"], false);
    assert_eq!(policy["return_policy"]["return_address"]["city"], "Long Beach");
    let got = api.get_supplier(&seeded.supplier_id).await.expect(200);
    assert_eq!(got["return_policy"], policy["return_policy"]);

    let id = delivered_order(&app, &api, &seeded).await.to_string();
    let (_, profit_before) = ledger_of(&api, &id).await;
    let order = api.get_order(&id).await.expect(200);
    let line = order["lines"][0]["id"].as_str().expect("a line").to_string();
    let so = order["supplier_orders"][0]["id"]
        .as_str()
        .expect("a supplier order")
        .to_string();
    let path = |rest: &str| format!("/api/v1/orders/{id}{rest}");

    let created = api
        .post(
            &path("/returns"),
            &json!({"lines": [{"line_item_id": line, "quantity": 1}], "reason": "changed_mind"}),
        )
        .await
        .expect(201);
    let return_id = created["created_id"].as_str().expect("a return").to_string();
    assert_eq!(created["returns"][0]["send_to"], json!([]));
    // Approved: the return knows it goes back to the supplier's address.
    let approved = api
        .post_empty(&path(&format!("/returns/{return_id}/approve")))
        .await
        .expect(200);
    let send_to = &approved["returns"][0]["send_to"];
    assert_eq!(send_to.as_array().map(Vec::len), Some(1), "{approved}");
    assert_eq!(send_to[0]["to"], "supplier");
    assert_eq!(send_to[0]["supplier_id"], json!(seeded.supplier_id));
    assert_eq!(send_to[0]["address"]["address1"], "77 Harbor Blvd");
    assert_eq!(send_to[0]["lines"], json!([{"line_item_id": line, "quantity": 1}]));
    // The customer is to send it: one email, in the store's name, with the address and what
    // to send, without the supplier's name.
    let awaiting = api
        .post_empty(&path(&format!("/returns/{return_id}/await-item")))
        .await
        .expect(200);
    assert_eq!(awaiting["returns"][0]["state"], "awaiting_item");
    let emails = api.order_messages_of(&id, "return_approved").await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["recipient"], "ada@example.com");
    let destination = &emails[0]["data"]["return"]["destinations"][0];
    assert_eq!(
        destination["address"],
        json!(["Returns Desk", "77 Harbor Blvd", "90802 Long Beach CA", "US"])
    );
    assert_eq!(destination["items"][0]["quantity"], 1);
    assert_eq!(destination["items"][0]["title"], "Wireless earbuds");
    let supplier_name = policy["name"].as_str().expect("a name");
    assert!(!emails[0]["data"].to_string().contains(supplier_name));
    assert!(!emails[0]["data"].to_string().contains("Gadget Supply Co"));

    // Received and refunded: a claim to the supplier is opened by itself, for the unit's
    // cost at the supplier (12.00).
    api.post_empty(&path(&format!("/returns/{return_id}/receive")))
        .await
        .expect(200);
    let resolved = api
        .post(
            &path(&format!("/returns/{return_id}/resolve")),
            &json!({"resolution": "refund"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["refunds"][0]["amount"], data::usd("49.99"));
    assert!(resolved["returns"][0]["received_at"].is_string(), "{resolved}");
    let claims = resolved["claims"].as_array().expect("claims");
    assert_eq!(claims.len(), 1, "{resolved}");
    let claim = &claims[0];
    assert_eq!(claim["state"], "open");
    assert_eq!(claim["basis"], "returned_item");
    assert_eq!(claim["claimed"], data::usd("12.00"));
    assert_eq!(claim["return_id"], json!(return_id));
    assert_eq!(claim["supplier_order_id"], json!(so));
    assert_eq!(claim["supplier_id"], json!(seeded.supplier_id));
    assert_eq!(claim["allowed_actions"], json!(["submit"]));
    let claim_id = claim["id"].as_str().expect("a claim").to_string();
    let (_, profit_refunded) = ledger_of(&api, &id).await;
    assert_eq!(profit_refunded, profit_before - 4_999);

    // Submitted, then accepted for part of it: the ledger gets the supplier's refund and the
    // profit rises by it.
    let submitted = api
        .post_empty(&path(&format!("/claims/{claim_id}/submit")))
        .await
        .expect(200);
    assert_eq!(submitted["claims"][0]["state"], "submitted");
    assert_eq!(submitted["claims"][0]["allowed_actions"], json!(["accept", "reject"]));
    let accepted = api
        .post(
            &path(&format!("/claims/{claim_id}/accept")),
            &json!({"recovered": data::usd("10.00")}),
        )
        .await
        .expect(200);
    assert_eq!(accepted["claims"][0]["state"], "accepted");
    assert_eq!(accepted["claims"][0]["recovered"], data::usd("10.00"));
    assert!(accepted["claims"][0]["closed_at"].is_string());
    let after_sale = api.get(&path("/after-sale")).await.expect(200);
    assert_eq!(after_sale["claims"], accepted["claims"]);
    let (ledger, profit_after) = ledger_of(&api, &id).await;
    let refunds: Vec<_> = ledger["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "supplier_refund")
        .collect();
    assert_eq!(refunds.len(), 1, "{ledger}");
    assert_eq!(refunds[0]["amount"], data::usd("10.00"));
    assert_eq!(refunds[0]["direction"], "in");
    assert_eq!(profit_after, profit_refunded + 1_000);
    // The timeline tells it.
    let timeline = api.timeline(&id).await.expect(200);
    let kinds: Vec<&str> = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["claim.opened", "claim.submit", "claim.accept"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

async fn a_damaged_item_kept_by_the_customer_is_claimed_on_photos(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    // Like AliExpress: no returns, but a credit for a damaged item. The store's own address
    // is where a returned item would go.
    api.put(
        &format!("/api/v1/suppliers/{}/return-policy", seeded.supplier_id),
        &json!({"credits_without_return": true}),
    )
    .await
    .expect(200);
    let id = delivered_order(&app, &api, &seeded).await.to_string();
    let order = api.get_order(&id).await.expect(200);
    let line = order["lines"][0]["id"].as_str().expect("a line").to_string();
    let path = |rest: &str| format!("/api/v1/orders/{id}{rest}");
    let return_id = api
        .post(
            &path("/returns"),
            &json!({"lines": [{"line_item_id": line, "quantity": 2}], "reason": "damaged"}),
        )
        .await
        .expect(201)["created_id"]
        .as_str()
        .expect("a return")
        .to_string();
    let approved = api
        .post_empty(&path(&format!("/returns/{return_id}/approve")))
        .await
        .expect(200);
    assert_eq!(approved["returns"][0]["send_to"][0]["to"], "store");
    assert_eq!(
        approved["returns"][0]["send_to"][0]["address"]["address1"],
        "400 Commerce Way"
    );
    let resolved = api
        .post(
            &path(&format!("/returns/{return_id}/resolve")),
            &json!({"resolution": "returnless_refund"}),
        )
        .await
        .expect(200);
    // Resolved without the item: it goes back nowhere, and the claim rests on photos.
    assert_eq!(resolved["returns"][0]["send_to"], json!([]));
    assert_eq!(resolved["claims"][0]["basis"], "without_item");
    assert_eq!(resolved["claims"][0]["claimed"], data::usd("24.00"));
    // No return_approved email: nothing is sent back.
    let messages = api.order_messages(&id).await.expect(200);
    assert!(
        !messages["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["template"] == "return_approved"),
        "{messages}"
    );
}

async fn claims_and_return_policies_refuse_bad_input_and_change_nothing(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = delivered_order(&app, &api, &seeded).await.to_string();
    let order = api.get_order(&id).await.expect(200);
    let line = order["lines"][0]["id"].as_str().expect("a line").to_string();
    let so = order["supplier_orders"][0]["id"]
        .as_str()
        .expect("a supplier order")
        .to_string();
    let path = |rest: &str| format!("/api/v1/orders/{id}{rest}");
    let return_id = api
        .post(
            &path("/returns"),
            &json!({"lines": [{"line_item_id": line, "quantity": 1}], "reason": "damaged"}),
        )
        .await
        .expect(201)["created_id"]
        .as_str()
        .expect("a return")
        .to_string();

    // A policy with a window over a year, a bad return address: refused by field.
    let before = app.snapshot().await;
    let supplier_path = format!("/api/v1/suppliers/{}/return-policy", seeded.supplier_id);
    for (body, fields) in [
        (json!({"window_days": 366}), vec!["window_days"]),
        (
            json!({"return_address": data::invalid_address()}),
            vec!["return_address.postal_code", "return_address.region"],
        ),
        (
            json!({"accepts_returns": "yes", "window_days": -1}),
            vec!["accepts_returns", "window_days"],
        ),
    ] {
        let refused = api.put(&supplier_path, &body).await;
        refused.expect_error(422, "invalid_input");
        let mut got = refused.refused_fields();
        got.sort();
        assert_eq!(got, fields, "{body}");
    }
    let mut supplier = data::manual_supplier(&seeded.store_id);
    supplier["return_policy"] = json!({"window_days": 400});
    let refused = api.create_supplier(&supplier).await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["return_policy.window_days"]);
    // A claim on a return not approved yet: the return's state says no.
    api.post(
        &path("/claims"),
        &json!({"return_id": return_id, "supplier_order_id": so}),
    )
    .await
    .expect_error(409, "illegal_transition");
    assert_eq!(before, app.snapshot().await);

    api.post_empty(&path(&format!("/returns/{return_id}/approve")))
        .await
        .expect(200);
    let before = app.snapshot().await;
    for (body, fields) in [
        (json!({}), vec!["return_id", "supplier_order_id"]),
        (
            json!({"return_id": "nope", "supplier_order_id": so, "lines": [{"line_item_id": line}]}),
            vec!["lines[0].quantity", "return_id"],
        ),
        // Units not returned: a line of nothing, more units than the return holds.
        (
            json!({"return_id": return_id, "supplier_order_id": so, "lines": [{"line_item_id": nothing(), "quantity": 1}]}),
            vec!["lines[0].line_item_id"],
        ),
        (
            json!({"return_id": return_id, "supplier_order_id": so, "lines": [{"line_item_id": line, "quantity": 2}]}),
            vec!["lines[0].quantity"],
        ),
        (
            json!({"return_id": return_id, "supplier_order_id": nothing()}),
            vec!["supplier_order_id"],
        ),
    ] {
        let refused = api.post(&path("/claims"), &body).await;
        refused.expect_error(422, "invalid_input");
        let mut got = refused.refused_fields();
        got.sort();
        assert_eq!(got, fields, "{body}");
    }
    api.post(
        &path("/claims"),
        &json!({"return_id": nothing(), "supplier_order_id": so}),
    )
    .await
    .expect_error(404, "return_not_found");
    assert_eq!(before, app.snapshot().await);

    // A claim by hand, for the returned unit.
    let opened = api
        .post(
            &path("/claims"),
            &json!({"return_id": return_id, "supplier_order_id": so}),
        )
        .await
        .expect(201);
    let claim_id = opened["created_id"].as_str().expect("a claim").to_string();
    assert_eq!(opened["claims"][0]["id"], json!(claim_id));
    assert_eq!(opened["claims"][0]["basis"], "without_item");
    assert_eq!(opened["claims"][0]["claimed"], data::usd("12.00"));
    // Its unit cannot be claimed twice.
    let refused = api
        .post(
            &path("/claims"),
            &json!({"return_id": return_id, "supplier_order_id": so}),
        )
        .await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["lines"]);

    let before = app.snapshot().await;
    // Unknown claims and moves, and moves the state does not allow.
    api.post_empty(&path(&format!("/claims/{}/submit", nothing())))
        .await
        .expect_error(404, "claim_not_found");
    api.post(
        &path(&format!("/claims/{}/accept", nothing())),
        &json!({"recovered": data::usd("1.00")}),
    )
    .await
    .expect_error(404, "claim_not_found");
    assert_eq!(
        api.post_empty(&path(&format!("/claims/{claim_id}/explode")))
            .await
            .status,
        404
    );
    api.post(
        &path(&format!("/claims/{claim_id}/accept")),
        &json!({"recovered": data::usd("5.00")}),
    )
    .await
    .expect_error(409, "illegal_transition");
    api.post_empty(&path(&format!("/claims/{claim_id}/reject")))
        .await
        .expect_error(409, "illegal_transition");
    assert_eq!(before, app.snapshot().await);

    api.post_empty(&path(&format!("/claims/{claim_id}/submit")))
        .await
        .expect(200);
    api.post_empty(&path(&format!("/claims/{claim_id}/submit")))
        .await
        .expect_error(409, "illegal_transition");
    let before = app.snapshot().await;
    // Recovered above what was claimed, in another currency, nothing, or missing: refused.
    for (body, field) in [
        (json!({"recovered": data::usd("12.01")}), "recovered"),
        (json!({"recovered": {"amount": "5.00", "currency": "EUR"}}), "recovered"),
        (json!({"recovered": data::usd("0.00")}), "recovered"),
        (json!({}), "recovered"),
    ] {
        let refused = api.post(&path(&format!("/claims/{claim_id}/accept")), &body).await;
        refused.expect_error(422, "invalid_input");
        assert_eq!(refused.refused_fields(), [field], "{body}");
    }
    assert_eq!(before, app.snapshot().await);
    // Refused by the supplier: its unit may be claimed again.
    let rejected = api
        .post_empty(&path(&format!("/claims/{claim_id}/reject")))
        .await
        .expect(200);
    assert_eq!(rejected["claims"][0]["state"], "rejected");
    assert_eq!(rejected["claims"][0]["allowed_actions"], json!([]));
    let ledger = api.get(&path("/ledger")).await.expect(200);
    assert!(
        !ledger["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["kind"] == "supplier_refund")
    );
    api.post(
        &path("/claims"),
        &json!({"return_id": return_id, "supplier_order_id": so}),
    )
    .await
    .expect(201);
}

/// A delivered order's unit back through the API (approved, sent back, received): the
/// return's id.
pub(crate) async fn received_return(api: &Api<'_>, id: &str) -> String {
    let order = api.get_order(id).await.expect(200);
    let line = order["lines"][0]["id"].as_str().expect("a line").to_string();
    let path = format!("/api/v1/orders/{id}/returns");
    let created = api
        .post(
            &path,
            &json!({"lines": [{"line_item_id": line, "quantity": 1}], "reason": "damaged"}),
        )
        .await
        .expect(201);
    let return_id = created["created_id"].as_str().expect("a return id").to_string();
    for step in ["approve", "await-item", "receive"] {
        api.post_empty(&format!("{path}/{return_id}/{step}")).await.expect(200);
    }
    return_id
}

/// The new supplier order a resolution created, checked against the order and its ledger.
async fn sent_for(api: &Api<'_>, id: &str, resolved: &serde_json::Value) -> serde_json::Value {
    let so_id = resolved["created_id"].as_str().expect("a supplier order id");
    assert_eq!(resolved["returns"][0]["supplier_order_ids"], json!([so_id]));
    let order = api.get_order(id).await.expect(200);
    assert_eq!(order["state"], "delivered", "the order stays delivered: {order}");
    let sos = order["supplier_orders"].as_array().expect("supplier orders");
    assert_eq!(sos.len(), 2, "{order}");
    let so = sos
        .iter()
        .find(|so| so["id"] == so_id)
        .expect("the new supplier order")
        .clone();
    let ledger = api.get(&format!("/api/v1/orders/{id}/ledger")).await.expect(200);
    let entries = ledger["entries"].as_array().expect("entries");
    assert_eq!(
        entries.iter().filter(|e| e["kind"] == "sale").count(),
        1,
        "not charged again: {ledger}"
    );
    assert!(!entries.iter().any(|e| e["kind"] == "refund"), "{ledger}");
    // The new supplier order's cost is the one re-shipment.
    let reshipments: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["kind"] == "reshipment_cost")
        .map(|e| &e["amount"])
        .collect();
    assert_eq!(reshipments, [&so["expected_cost"]], "{ledger}");
    so
}

async fn a_return_is_replaced_or_exchanged_by_a_new_supplier_order(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);

    // Replacement: the same variant, the returned unit, routed to its offer.
    let id = delivered_order(&app, &api, &seeded).await.to_string();
    let return_id = received_return(&api, &id).await;
    let resolve = format!("/api/v1/orders/{id}/returns/{return_id}/resolve");
    let resolved = api
        .post(&resolve, &json!({"resolution": "replacement"}))
        .await
        .expect(200);
    assert_eq!(resolved["returns"][0]["state"], "resolved");
    assert_eq!(resolved["returns"][0]["resolution"], "replacement");
    let so = sent_for(&api, &id, &resolved).await;
    assert_eq!(so["lines"].as_array().expect("lines").len(), 1, "{so}");
    assert_eq!(so["lines"][0]["variant_id"], seeded.variant_ids[0].as_str());
    assert_eq!(so["lines"][0]["offer_id"], seeded.offer_ids[0].as_str());
    assert_eq!(so["lines"][0]["quantity"], 1);
    assert_eq!(
        so["status"], "open",
        "waits for the seller like any manual supplier order"
    );
    // Placed once, like any: the jobs leave it as it is (a manual supplier's waits).
    app.run_pending_jobs().await;
    let order = api.get_order(&id).await.expect(200);
    assert_eq!(order["supplier_orders"].as_array().expect("supplier orders").len(), 2);
    // The customer hears once what is on its way, in the store's name: titles and
    // quantities, no supplier and no cost.
    let emails = api.order_messages_of(&id, "replacement_on_its_way").await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let replacement = &emails[0]["data"]["replacement"];
    assert_eq!(replacement["kind"], "replacement", "{replacement}");
    assert_eq!(replacement["items"].as_array().map(Vec::len), Some(1), "{replacement}");
    assert_eq!(replacement["items"][0]["quantity"], 1, "{replacement}");
    assert!(replacement["items"][0].get("unit_cost").is_none(), "{replacement}");
    // The new parcel is followed like any: tracking, shipped, delivered.
    let so_id = so["id"].as_str().expect("an id").to_string();
    api.record_reference(&so_id, &json!({"supplier_reference": "AE-2"}))
        .await
        .expect(200);
    api.add_shipment(
        &so_id,
        &json!({"carrier": "USPS", "tracking_number": "9400111899223344556688"}),
    )
    .await
    .expect(201);
    api.mark_shipped(&so_id, &json!({})).await.expect(200);
    api.mark_delivered(&so_id, &json!({})).await.expect(200);
    let order = api.get_order(&id).await.expect(200);
    assert_eq!(order["state"], "delivered");

    // Exchange: the seeded store's second variant instead.
    let id = delivered_order(&app, &api, &seeded).await.to_string();
    let return_id = received_return(&api, &id).await;
    let resolve = format!("/api/v1/orders/{id}/returns/{return_id}/resolve");
    let resolved = api
        .post(
            &resolve,
            &json!({"resolution": "exchange", "variant_id": seeded.variant_ids[1]}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["returns"][0]["resolution"], "exchange");
    let so = sent_for(&api, &id, &resolved).await;
    assert_eq!(so["lines"][0]["variant_id"], seeded.variant_ids[1].as_str());
    assert_eq!(so["lines"][0]["offer_id"], seeded.offer_ids[1].as_str());
    assert_eq!(so["lines"][0]["quantity"], 1);
}

async fn replacements_and_exchanges_refuse_bad_input_and_change_nothing(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = delivered_order(&app, &api, &seeded).await.to_string();
    let return_id = received_return(&api, &id).await;
    let resolve = format!("/api/v1/orders/{id}/returns/{return_id}/resolve");
    // Another store's variant is as unknown as one that never existed.
    let other = app.seed().await;
    let before = app.snapshot().await;
    for body in [
        json!({"resolution": "exchange"}),
        json!({"resolution": "exchange", "variant_id": "not-an-id"}),
        json!({"resolution": "exchange", "variant_id": dropline_domain::ids::VariantId::new().to_string()}),
        json!({"resolution": "exchange", "variant_id": other.variant_ids[0]}),
        json!({"resolution": "replacement", "variant_id": seeded.variant_ids[1]}),
        json!({"resolution": "refund", "variant_id": seeded.variant_ids[1]}),
    ] {
        let refused = api.post(&resolve, &body).await;
        refused.expect_error(422, "invalid_input");
        assert_eq!(refused.refused_fields(), ["variant_id"], "{body}");
    }
    assert_eq!(before, app.snapshot().await);
    let after = api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][0]["state"], "received");
}

/// An id of nothing.
pub(crate) fn nothing() -> String {
    dropline_domain::ids::ClaimId::new().to_string()
}

backend_tests!(
    a_supplier_takes_the_return_back_and_a_claim_recovers_its_cost,
    a_damaged_item_kept_by_the_customer_is_claimed_on_photos,
    claims_and_return_policies_refuse_bad_input_and_change_nothing,
    lanes_show_the_shipping_time_per_supplier_and_country,
    the_customer_asks_for_a_return_from_the_tracking_page,
    a_delivered_order_is_returned_and_refunded_with_its_ledger,
    a_lost_dispute_costs_its_amount_and_fee,
    the_api_takes_a_return_to_a_refund_and_shows_the_ledger,
    a_return_is_replaced_or_exchanged_by_a_new_supplier_order,
    replacements_and_exchanges_refuse_bad_input_and_change_nothing,
);
