//! Vendor earnings and payouts over HTTP, with the engine's clock moved past the holding
//! period: a delivered order's earning is pending, then available; refunds and a lost
//! dispute are debited; the operator pays out at most what is available (two payouts at once
//! never both take it), marks paid or cancels; a store's token reads but never pays; the
//! holding period is the operator's. Every refusal writes nothing.

use crate::after_sale::delivered_order;
use dropline_testkit::{Api, Clock, TestApp, data};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

async fn balance(api: &Api<'_>, store_id: &str) -> Value {
    api.get(&format!("/api/v1/stores/{store_id}/balance")).await.expect(200)
}

fn amounts(balance: &Value) -> [String; 4] {
    ["pending", "available", "payouts_pending", "paid_out"].map(|k| {
        balance[k]["amount"]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {balance}"))
            .to_string()
    })
}

async fn payouts_follow_the_holding_period_and_never_overdraw(app: TestApp, clock: Clock) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let admin = app.admin();
    let store = seeded.store_id.to_string();

    // The holding period is the operator's: a store's token cannot change it, and its own
    // settings update keeps it.
    let refused = api.update_store_settings(&store, &json!({"holding_days": 3})).await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["settings.holding_days"]);
    let kept = api
        .update_store_settings(&store, &json!({"supplier_price_tolerance_bp": 700}))
        .await
        .expect(200);
    assert_eq!(kept["settings"]["holding_days"], 14);
    let bad = admin.update_store_settings(&store, &json!({"holding_days": 400})).await;
    assert_eq!(bad.refused_fields(), ["holding_days"]);
    admin
        .update_store_settings(&store, &json!({"holding_days": 10}))
        .await
        .expect(200);

    // Delivered: 99.98 + 5.00 shipping − 29.50 supplier cost earned, held for 10 days.
    let first = delivered_order(&app, &api, &seeded).await;
    let b = balance(&api, &store).await;
    assert_eq!(amounts(&b), ["75.48", "0.00", "0.00", "0.00"], "{b}");
    assert_eq!((b["holding_days"].as_u64(), b["orders"].as_u64()), (Some(10), Some(1)));

    // Nothing is available yet: refused, nothing written.
    let early = admin
        .post(
            "/api/v1/payouts",
            &json!({"store_id": store, "amount": data::usd("10.00")}),
        )
        .await;
    early.expect_error(422, "invalid_input");
    assert_eq!(early.refused_fields(), ["amount"]);
    // A store's token never pays out.
    api.post("/api/v1/payouts", &json!({"store_id": store}))
        .await
        .expect_error(403, "forbidden");
    assert_eq!(api.get("/api/v1/payouts").await.expect(200)["payouts"], json!([]));

    // A refund within the holding period comes out of the pending part.
    api.post(
        &format!("/api/v1/orders/{first}/refunds"),
        &json!({"amount": data::usd("10.00"), "reason": "late"}),
    )
    .await
    .expect(201);
    assert_eq!(amounts(&balance(&api, &store).await), ["65.48", "0.00", "0.00", "0.00"]);

    // After the holding period it is available.
    clock.advance(Duration::days(11));
    assert_eq!(amounts(&balance(&api, &store).await), ["0.00", "65.48", "0.00", "0.00"]);

    for (body, field) in [
        (json!({"store_id": store, "amount": data::usd("65.49")}), "amount"),
        (
            json!({"store_id": store, "amount": {"amount": "1.00", "currency": "EUR"}}),
            "amount.currency",
        ),
        (json!({"store_id": store, "amount": data::usd("-1.00")}), "amount"),
        (json!({"store_id": store, "note": "x".repeat(201)}), "note"),
    ] {
        let refused = admin.post("/api/v1/payouts", &body).await;
        refused.expect_error(422, "invalid_input");
        assert_eq!(refused.refused_fields(), [field], "{body}");
    }
    admin
        .post(
            "/api/v1/payouts",
            &json!({"store_id": dropline_domain::ids::StoreId::new().to_string()}),
        )
        .await
        .expect_error(404, "store_not_found");
    assert_eq!(amounts(&balance(&api, &store).await)[1], "65.48", "nothing was written");

    // Everything available, by default.
    let payout = admin
        .post("/api/v1/payouts", &json!({"store_id": store, "note": "=first half"}))
        .await
        .expect(201);
    assert_eq!(payout["amount"]["amount"], "65.48");
    assert_eq!(payout["state"], "pending");
    let payout_id = payout["id"].as_str().expect("id").to_string();
    assert_eq!(amounts(&balance(&api, &store).await), ["0.00", "0.00", "65.48", "0.00"]);
    let again = admin.post("/api/v1/payouts", &json!({"store_id": store})).await;
    assert_eq!(again.refused_fields(), ["amount"]);

    // The store sees it and cannot move it; the operator's CSV lists it, defused.
    let mine = api.get("/api/v1/payouts").await.expect(200);
    assert_eq!(mine["payouts"][0]["id"], json!(payout_id));
    api.post(&format!("/api/v1/payouts/{payout_id}/paid"), &json!({}))
        .await
        .expect_error(403, "forbidden");
    let csv = admin.get("/api/v1/payouts/export?state=pending").await;
    assert_eq!(csv.status, 200);
    let text = csv.text.clone();
    assert!(
        text.starts_with("payout_id,store_id,store_name,amount,currency,state"),
        "{text}"
    );
    assert!(text.contains(&format!("{payout_id},{store},")), "{text}");
    assert!(
        text.contains(",65.48,USD,pending,") && text.contains(",'=first half"),
        "{text}"
    );
    admin
        .get("/api/v1/payouts?state=sent")
        .await
        .expect_error(422, "invalid_input");

    let paid = admin
        .post(
            &format!("/api/v1/payouts/{payout_id}/paid"),
            &json!({"reference": "SEPA-0042"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (paid["state"].as_str(), paid["reference"].as_str()),
        (Some("paid"), Some("SEPA-0042"))
    );
    admin
        .post_empty(&format!("/api/v1/payouts/{payout_id}/cancel"))
        .await
        .expect_error(409, "illegal_transition");
    assert_eq!(amounts(&balance(&api, &store).await), ["0.00", "0.00", "0.00", "65.48"]);

    // A lost dispute after the payout leaves the vendor owing it.
    let dispute = api
        .post(
            &format!("/api/v1/orders/{first}/disputes"),
            &json!({
                "amount": data::usd("20.00"),
                "reason_code": "fraudulent",
                "due_at": (OffsetDateTime::now_utc() + Duration::days(30))
                    .format(&time::format_description::well_known::Rfc3339)
                    .expect("time"),
            }),
        )
        .await
        .expect(201);
    let dispute_id = dispute["created_id"].as_str().expect("the dispute's id").to_string();
    api.post_empty(&format!("/api/v1/orders/{first}/disputes/{dispute_id}/lose"))
        .await
        .expect(200);
    assert_eq!(amounts(&balance(&api, &store).await)[1], "-20.00");

    // Two more delivered orders, released: two payouts of everything at once, one wins.
    delivered_order(&app, &api, &seeded).await;
    delivered_order(&app, &api, &seeded).await;
    clock.advance(Duration::days(11));
    assert_eq!(amounts(&balance(&api, &store).await)[1], "130.96");
    let body = json!({"store_id": store});
    let (a, b) = tokio::join!(
        admin.post("/api/v1/payouts", &body),
        admin.post("/api/v1/payouts", &body)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 422], "{} / {}", a.text, b.text);
    let pending = admin
        .get(&format!("/api/v1/payouts?store_id={store}&state=pending"))
        .await
        .expect(200);
    let pending = pending["payouts"].as_array().expect("payouts").clone();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["amount"]["amount"], "130.96");

    // Cancelled before it was paid: available again.
    let id = pending[0]["id"].as_str().expect("id");
    admin
        .post_empty(&format!("/api/v1/payouts/{id}/cancel"))
        .await
        .expect(200);
    assert_eq!(
        amounts(&balance(&api, &store).await),
        ["0.00", "130.96", "0.00", "65.48"]
    );
}

#[tokio::test]
async fn sqlite_payouts_follow_the_holding_period_and_never_overdraw() {
    let clock = Clock::days_back(40);
    let app = TestApp::spawn_with(clock.configure()).await;
    payouts_follow_the_holding_period_and_never_overdraw(app, clock).await;
}

#[tokio::test]
async fn postgres_payouts_follow_the_holding_period_and_never_overdraw() {
    let clock = Clock::days_back(40);
    match TestApp::spawn_postgres_with(clock.configure()).await {
        Some(app) => payouts_follow_the_holding_period_and_never_overdraw(app, clock).await,
        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
    }
}

/// The dashboard's page: the operator pays out, records the transfer and sets the holding
/// period; refused forms say why and keep what was typed; a seller only reads; staff and
/// forged forms are refused.
async fn the_dashboard_pays_out_and_the_seller_reads(app: TestApp, clock: Clock) {
    use crate::dashboard::{Web, assert_controls_are_labelled, seller, user};
    use dropline_domain::account::Role;
    use reqwest::StatusCode;

    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let store = seeded.store_id.to_string();
    delivered_order(&app, &api, &seeded).await;
    clock.advance(Duration::days(15));

    let operator = Web::sign_in(&app, &user(&app, None, Role::Operator, "op@market.example").await).await;
    let (status, body) = operator.get("/payouts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_controls_are_labelled(&body);
    let row = body
        .split(&format!("id=\"balance-{store}\""))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no balance row in {body}"));
    assert!(row.contains("75.48 USD"), "{row}");

    // Above what is available: the page again, with the reason and the typed amount.
    let refused = operator
        .post("/payouts", &[("store", &store), ("amount", "100.00")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.expect("body");
    assert!(
        body.contains("id=\"payout-error\"") && body.contains("amount:"),
        "{body}"
    );
    assert!(body.contains("value=\"100.00\""), "{body}");
    // Without the session's token: refused, nothing written.
    let forged = operator.post_raw("/payouts", &[("store", &store)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(api.get("/api/v1/payouts").await.expect(200)["payouts"], json!([]));

    let made = operator
        .post("/payouts", &[("store", &store), ("note", "December")])
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let payouts = api.get("/api/v1/payouts").await.expect(200);
    let id = payouts["payouts"][0]["id"].as_str().expect("a payout").to_string();
    assert_eq!(payouts["payouts"][0]["amount"]["amount"], "75.48");
    let paid = operator
        .post(&format!("/payouts/{id}/paid"), &[("reference", "SEPA-7")])
        .await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let (_, body) = operator.get("/payouts?done=paid").await;
    let row = body
        .split(&format!("id=\"payout-{id}\""))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no payout row in {body}"));
    assert!(row.contains(">paid<") && row.contains("SEPA-7"), "{row}");
    assert!(!row.contains("Mark paid"), "a paid payout offers no more moves: {row}");
    let again = operator.post(&format!("/payouts/{id}/cancel"), &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    let (status, csv) = operator.get("/payouts.csv?state=paid").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.contains(&format!("{id},{store},")) && csv.contains("SEPA-7"),
        "{csv}"
    );
    let (status, _) = operator.get("/payouts.csv?state=lost").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The holding period: refused out of range, saved in range.
    let bad = operator
        .post("/payouts/holding", &[("store", &store), ("holding_days", "400")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let saved = operator
        .post("/payouts/holding", &[("store", &store), ("holding_days", "7")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(api.get_store(&store).await.expect(200)["settings"]["holding_days"], 7);

    // The seller reads their balance and payouts, and changes nothing.
    let seller = Web::sign_in(&app, &seller(&app, &store, "sam@shop.example").await).await;
    let (status, body) = seller.get("/payouts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("SEPA-7") && !body.contains("Create payout"), "{body}");
    assert!(!body.contains("name=\"holding_days\""), "{body}");
    for (path, pairs) in [
        ("/payouts", vec![("store", store.as_str())]),
        (
            "/payouts/holding",
            vec![("store", store.as_str()), ("holding_days", "0")],
        ),
        (&*format!("/payouts/{id}/cancel"), vec![]),
    ] {
        let response = seller.post(path, &pairs).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(api.get_store(&store).await.expect(200)["settings"]["holding_days"], 7);
    let staff = Web::sign_in(&app, &user(&app, Some(&store), Role::Staff, "kim@shop.example").await).await;
    assert_eq!(staff.get("/payouts").await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sqlite_the_dashboard_pays_out_and_the_seller_reads() {
    let clock = Clock::days_back(40);
    let app = TestApp::spawn_with(clock.configure()).await;
    the_dashboard_pays_out_and_the_seller_reads(app, clock).await;
}

#[tokio::test]
async fn postgres_the_dashboard_pays_out_and_the_seller_reads() {
    let clock = Clock::days_back(40);
    match TestApp::spawn_postgres_with(clock.configure()).await {
        Some(app) => the_dashboard_pays_out_and_the_seller_reads(app, clock).await,
        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
    }
}
