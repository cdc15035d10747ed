//! The dashboard's orders over HTTP: filters and search, bulk actions, CSV export, and the
//! order page's actions — with their refusals (CSRF, another store's ids, illegal actions,
//! refused fields) changing nothing.

use crate::dashboard::{Web, assert_controls_are_labelled, form_body, seller};
use crate::id_of;
use dropline_testkit::{Api, Seeded, TestApp};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Value, json};

/// An order of the seeded store with this customer; its id.
async fn order_of(api: &Api<'_>, seeded: &Seeded, number: &str, name: &str, email: &str, placed: &str) -> String {
    let mut order = seeded.order(number);
    order["number"] = json!(format!("#{number}"));
    order["customer"] = json!({"name": name, "email": email});
    order["placed_at"] = json!(placed);
    id_of(&api.post_order(&order).await.expect(201))
}

/// The order numbers listed on a page of the list, in order.
fn listed(body: &str) -> Vec<String> {
    body.split("class=\"order-link\">")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_string)
        .collect()
}

/// POSTs the bulk form with these ids (each its own `ids` field).
async fn bulk(web: &Web, action: &str, ids: &[&str]) -> reqwest::Response {
    let csrf = web.csrf().await;
    let mut pairs = vec![
        ("csrf", csrf.as_str()),
        ("action", action),
        ("back", "state=pending_review"),
    ];
    for id in ids {
        pairs.push(("ids", id));
    }
    web.post_raw("/orders/bulk", &pairs).await
}

async fn state_of(api: &Api<'_>, id: &str) -> String {
    api.get_order(id).await.expect(200)["state"]
        .as_str()
        .expect("a state")
        .to_string()
}

async fn filters_and_search_find_the_right_orders(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    order_of(
        &api,
        &seeded,
        "7001",
        "Ada Lovelace",
        "ada@example.com",
        "2026-03-01T12:00:00Z",
    )
    .await;
    order_of(
        &api,
        &seeded,
        "7002",
        "Grace Hopper",
        "grace@navy.example",
        "2026-03-05T12:00:00Z",
    )
    .await;
    let alan = order_of(
        &api,
        &seeded,
        "7003",
        "Alan Turing",
        "alan@example.org",
        "2026-03-09T12:00:00Z",
    )
    .await;
    api.accept(&alan).await.expect(200);
    app.run_pending_jobs().await;
    let so = id_of(&api.get_order(&alan).await.expect(200)["supplier_orders"][0]);
    api.record_reference(&so, &json!({"supplier_reference": "SUP-1"}))
        .await
        .expect(200);
    api.add_shipment(&so, &json!({"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}))
        .await
        .expect(201);
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;

    let (status, body) = web.get("/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&body), ["#7003", "#7002", "#7001"]);
    assert_controls_are_labelled(&body);
    let cases: [(&str, &[&str]); 11] = [
        ("/orders?sort=oldest", &["#7001", "#7002", "#7003"]),
        ("/orders?q=7002", &["#7002"]),
        ("/orders?q=%237001", &["#7001"]),
        ("/orders?q=hopper", &["#7002"]),
        ("/orders?q=NAVY.EXAMPLE", &["#7002"]),
        ("/orders?q=1z999aa10123456784", &["#7003"]),
        ("/orders?state=pending_review", &["#7002", "#7001"]),
        ("/orders?state=in_fulfillment&q=alan", &["#7003"]),
        ("/orders?from=2026-03-05&to=2026-03-05", &["#7002"]),
        ("/orders?from=2026-03-02", &["#7003", "#7002"]),
        ("/orders?q=nobody", &[]),
    ];
    for (path, expected) in cases {
        let (status, body) = web.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(listed(&body), expected, "{path}");
    }
    let supplier_filter = format!("/orders?supplier={}", seeded.supplier_id);
    assert_eq!(listed(&web.get(&supplier_filter).await.1), ["#7003"]);
    // The filters are kept in the form and in the export link.
    let (_, body) = web.get("/orders?q=hopper&sort=oldest").await;
    assert!(body.contains("value=\"hopper\""), "{body}");
    assert!(body.contains("href=\"/orders.csv?q=hopper&#38;sort=oldest\""), "{body}");

    for (path, named) in [
        ("/orders?state=lost", "state"),
        ("/orders?supplier=nope", "supplier"),
        ("/orders?from=03/01/2026", "from date"),
        ("/orders?from=2026-03-09&to=2026-03-01", "date range"),
        ("/orders?sort=total", "sort"),
        ("/orders?exception=maybe", "exception"),
        ("/orders?before=x", "page"),
    ] {
        let (status, body) = web.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(body.contains(&format!("The {named}")), "{path}: {body}");
    }
}

async fn pages_follow_the_filter_with_a_cursor(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    for n in 0..53 {
        order_of(
            &api,
            &seeded,
            &format!("80{n:02}"),
            "Ada Lovelace",
            "ada@example.com",
            "2026-03-01T12:00:00Z",
        )
        .await;
    }
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;
    let (_, first) = web.get("/orders?sort=oldest&q=ada").await;
    let first_rows = listed(&first);
    assert_eq!(first_rows.len(), 50);
    assert_eq!(first_rows[0], "#8000");
    let next = first
        .split("id=\"next-page\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .and_then(|rest| rest.split('"').next())
        .expect("a next page link")
        .replace("&#38;", "&");
    assert!(
        next.contains("sort=oldest") && next.contains("q=ada") && next.contains("after="),
        "{next}"
    );
    let (_, second) = web.get(&next).await;
    assert_eq!(listed(&second), ["#8050", "#8051", "#8052"]);
    assert!(!second.contains("id=\"next-page\""));
    assert!(second.contains("id=\"first-page\""));
}

async fn bulk_accept_reports_each_order_and_refuses_without_changing(app: TestApp) {
    let seeded = app.seed().await;
    let theirs = app.seed().await;
    let api = app.with_token(&seeded.token);
    let a = order_of(
        &api,
        &seeded,
        "9001",
        "Ada Lovelace",
        "ada@example.com",
        "2026-03-01T12:00:00Z",
    )
    .await;
    let b = order_of(
        &api,
        &seeded,
        "9002",
        "Grace Hopper",
        "grace@example.com",
        "2026-03-01T12:00:00Z",
    )
    .await;
    let c = order_of(
        &api,
        &seeded,
        "9003",
        "Alan Turing",
        "alan@example.com",
        "2026-03-01T12:00:00Z",
    )
    .await;
    api.reject(&c).await.expect(200);
    let their_api = app.with_token(&theirs.token);
    let their_order = id_of(&their_api.post_order(&theirs.order("t-1")).await.expect(201));
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;

    // Refused as a whole: no CSRF, no selection, a malformed id, an unknown action.
    let response = web
        .post_raw("/orders/bulk", &[("action", "accept"), ("ids", a.as_str())])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let refusals: [(&str, &[&str], &str); 3] = [
        ("accept", &[], "Select at least one order"),
        ("accept", &[a.as_str(), "not-an-id"], "is not an order id"),
        ("ship", &[a.as_str()], "Choose an action"),
    ];
    for (action, ids, says) in refusals {
        let response = bulk(&web, action, ids).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{action} {ids:?}");
        let body = response.text().await.expect("body");
        assert!(body.contains(says), "{body}");
        assert!(body.contains("href=\"/orders?state=pending_review\""), "{body}");
    }
    assert_eq!(state_of(&api, &a).await, "pending_review");

    // Accept two good ones, a rejected one and another store's: each has its outcome.
    let response = bulk(&web, "accept", &[&a, &b, &c, &their_order]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    assert!(body.contains("Accepted 2 of 4 orders; 2 could not be."), "{body}");
    assert!(body.contains("#9003") && body.contains("Not possible now"), "{body}");
    assert!(body.contains("Not found"), "{body}");
    assert!(!body.contains("#t-1"), "{body}");
    assert_eq!(state_of(&api, &a).await, "accepted");
    assert_eq!(state_of(&api, &b).await, "accepted");
    assert_eq!(state_of(&api, &c).await, "rejected");
    assert_eq!(state_of(&their_api, &their_order).await, "pending_review");

    // Cancel one through the bulk form.
    let response = bulk(&web, "cancel", &[&b]).await;
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Cancelled 1 of 1 orders.")
    );
    assert_eq!(state_of(&api, &b).await, "cancelled");
}

async fn csv_export_of_the_selection_and_of_a_filter(app: TestApp) {
    let seeded = app.seed().await;
    let theirs = app.seed().await;
    let api = app.with_token(&seeded.token);
    let a = order_of(
        &api,
        &seeded,
        "6001",
        "=HYPERLINK(\"x\")",
        "ada@example.com",
        "2026-03-01T12:00:00Z",
    )
    .await;
    let b = order_of(
        &api,
        &seeded,
        "6002",
        "Grace, \"Amazing\" Hopper",
        "grace@example.com",
        "2026-03-02T12:00:00Z",
    )
    .await;
    let their_order = id_of(
        &app.with_token(&theirs.token)
            .post_order(&theirs.order("t-1"))
            .await
            .expect(201),
    );
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;

    let response = bulk(&web, "export", &[&a, &their_order]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    let text = response.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(&rows[0][0], a.as_str());
    assert_eq!(&rows[0][1], "#6001");
    assert_eq!(&rows[0][5], "'=HYPERLINK(\"x\")", "a formula is defused");
    assert_eq!(&rows[0][8], "104.98");

    let (status, text) = web.get("/orders.csv?q=grace").await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], b.as_str());
    assert_eq!(&rows[0][5], "Grace, \"Amazing\" Hopper");
    let (status, _) = web.get("/orders.csv?state=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Posts an order form of the order page (with the session's token).
async fn act(web: &Web, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    web.post(path, pairs).await
}

async fn the_order_page_acts_as_its_state_allows(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = order_of(
        &api,
        &seeded,
        "5001",
        "Ada Lovelace",
        "ada@example.com",
        "2026-03-01T12:00:00Z",
    )
    .await;
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;
    let page = format!("/orders/{id}");

    // Pending review: accept, reject and cancel are offered.
    let (_, body) = web.get(&page).await;
    assert_controls_are_labelled(&body);
    for button in ["id=\"accept\"", "id=\"reject\"", "id=\"cancel\""] {
        assert!(body.contains(button), "{button}");
    }
    let response = act(&web, &format!("{page}/accept"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], format!("{page}?done=accept").as_str());
    app.run_pending_jobs().await;
    let (_, body) = web.get(&format!("{page}?done=accept")).await;
    assert!(body.contains("Order accepted"), "{body}");
    assert!(
        !body.contains("id=\"accept\"") && !body.contains("id=\"reject\""),
        "{body}"
    );

    // Forcing a reject now is refused with the reason, and changes nothing.
    let response = act(&web, &format!("{page}/reject"), &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("cannot be done in the current state")
    );
    assert_eq!(state_of(&api, &id).await, "in_fulfillment");

    // Record the supplier order id: a blank one is refused next to its field, typed values kept.
    let so = id_of(&api.get_order(&id).await.expect(200)["supplier_orders"][0]);
    let reference = format!("{page}/supplier-orders/{so}/reference");
    let response = act(&web, &reference, &[("reference", " "), ("actual_cost", "12.x")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(body.contains(&format!("id=\"actual-cost-{so}-error\"")), "{body}");
    assert!(body.contains("value=\"12.x\""), "{body}");
    let response = act(&web, &reference, &[("reference", "  "), ("actual_cost", "")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains(&format!("id=\"reference-{so}-error\""))
    );
    assert_eq!(
        api.get_supplier_order(&so).await.expect(200)["supplier_reference"],
        Value::Null
    );
    let response = act(&web, &reference, &[("reference", "AE-123"), ("actual_cost", "29.50")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let recorded = api.get_supplier_order(&so).await.expect(200);
    assert_eq!(recorded["supplier_reference"], "AE-123");
    assert_eq!(recorded["actual_cost"], json!({"amount": "29.50", "currency": "USD"}));

    // Add tracking: a javascript: page and an unknown number without a carrier are refused.
    let tracking = format!("{page}/supplier-orders/{so}/tracking");
    let response = act(
        &web,
        &tracking,
        &[
            ("tracking_number", "1Z999AA10123456784"),
            ("carrier", ""),
            ("tracking_url", "javascript:alert(1)"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains(&format!("id=\"tracking-url-{so}-error\""))
    );
    let response = act(&web, &tracking, &[("tracking_number", "???"), ("carrier", "")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("no carrier could be recognised")
    );
    assert_eq!(api.get_supplier_order(&so).await.expect(200)["shipments"], json!([]));
    // The carrier is recognised from a UPS number.
    let response = act(
        &web,
        &tracking,
        &[("tracking_number", "1Z999AA10123456784"), ("carrier", "")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let shipment = api.get_supplier_order(&so).await.expect(200)["shipments"][0].clone();
    assert!(
        shipment["carrier"].as_str().expect("carrier").contains("UPS"),
        "{shipment}"
    );
    let sh = id_of(&shipment);
    assert_controls_are_labelled(&web.get(&page).await.1);

    // Mark shipped, then delivered; the timeline shows it.
    let parcel = format!("{page}/supplier-orders/{so}/shipments/{sh}");
    assert_eq!(
        act(&web, &format!("{parcel}/shipped"), &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(&web, &format!("{parcel}/delivered"), &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(state_of(&api, &id).await, "delivered");
    let (_, body) = web.get(&page).await;
    assert!(body.contains("Delivered"), "{body}");
    assert!(
        !body.contains(&format!("id=\"delivered-{sh}\"")),
        "no second delivery offered"
    );
    let timeline = api.timeline(&id).await.expect(200);
    let last = timeline["events"]
        .as_array()
        .and_then(|events| events.last())
        .and_then(|event| event["message"].as_str())
        .expect("an event")
        .to_string();
    assert!(body.contains(&last), "{last} in {body}");

    // Unknown actions, parcel events and ids of nothing here are "not found".
    for path in [
        format!("{page}/ship"),
        format!("{parcel}/lost"),
        format!("{page}/supplier-orders/{}/reference", uuid_of_nothing()),
        format!("{page}/supplier-orders/{so}/shipments/{}/delivered", uuid_of_nothing()),
    ] {
        assert_eq!(
            act(&web, &path, &[("reference", "X")]).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

fn uuid_of_nothing() -> String {
    "00000000-0000-7000-8000-000000000000".to_string()
}

async fn another_stores_order_cannot_be_acted_on(app: TestApp) {
    let ours = app.seed().await;
    let theirs = app.seed().await;
    let their_api = app.with_token(&theirs.token);
    let their_order = id_of(&their_api.post_order(&theirs.order("t-1")).await.expect(201));
    let email = seller(&app, &ours.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;
    for action in ["accept", "reject", "cancel"] {
        let response = web.post(&format!("/orders/{their_order}/{action}"), &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(state_of(&their_api, &their_order).await, "pending_review");

    // A form without the session's token is refused before anything is looked up.
    let own = id_of(
        &app.with_token(&ours.token)
            .post_order(&ours.order("o-1"))
            .await
            .expect(201),
    );
    let response = web
        .post_raw(&format!("/orders/{own}/accept"), &[("csrf", "wrong")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(state_of(&app.with_token(&ours.token), &own).await, "pending_review");
    // Without a session at all: to the sign-in page.
    let response = crate::dashboard::client()
        .post(format!("{}/orders/{own}/accept", app.base_url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(COOKIE, format!("dropline_session={}", "ab".repeat(32)))
        .body(form_body(&[("csrf", "x")]))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/sign-in");
}

async fn the_order_page_shows_the_money_and_works_returns_refunds_and_disputes(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = crate::after_sale::delivered_order(&app, &api, &seeded)
        .await
        .to_string();
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;
    let page = format!("/orders/{id}");

    // Sold 99.98 + 5.00 shipping, supplier 29.50: the profit is 75.48.
    let (_, body) = web.get(&page).await;
    assert!(body.contains("<span id=\"profit\">75.48 USD</span>"), "{body}");
    assert_controls_are_labelled(&body);

    // A refund above what was paid, and one without a reason: refused next to the field.
    for (amount, reason, field) in [
        ("200.00", "late", "refund-amount"),
        ("5.00", " ", "refund-reason"),
        ("x", "late", "refund-amount"),
    ] {
        let response = web
            .post(&format!("{page}/refund"), &[("amount", amount), ("reason", reason)])
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{amount} {reason}");
        let body = response.text().await.expect("body");
        assert!(body.contains(&format!("id=\"{field}-error\"")), "{field}: {body}");
    }
    assert_eq!(
        api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200)["refunds"],
        json!([])
    );
    let response = web
        .post(&format!("{page}/refund"), &[("amount", "5.00"), ("reason", "late")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, body) = web.get(&format!("{page}?done=refund")).await;
    assert!(body.contains("Refund issued"), "{body}");
    assert!(body.contains("Refunded 5.00 USD"), "{body}");
    assert!(body.contains("<span id=\"profit\">70.48 USD</span>"), "{body}");

    // A return the customer asked for, approved and refunded without the item.
    let order = api.get_order(&id).await.expect(200);
    let line = order["lines"][0]["id"].as_str().expect("a line").to_string();
    let created = api
        .post(
            &format!("/api/v1/orders/{id}/returns"),
            &json!({"lines": [{"line_item_id": line, "quantity": 1}], "reason": "damaged"}),
        )
        .await
        .expect(201);
    let return_id = created["created_id"].as_str().expect("a return").to_string();
    let (_, body) = web.get(&page).await;
    assert!(body.contains(&format!("id=\"return-approve-{return_id}\"")), "{body}");
    assert!(!body.contains(&format!("id=\"return-receive-{return_id}\"")), "{body}");
    // Forced out of order: refused with the reason, nothing changes.
    let response = web.post(&format!("{page}/returns/{return_id}/receive"), &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    for action in ["approve", "returnless-refund"] {
        let response = web.post(&format!("{page}/returns/{return_id}/{action}"), &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let after = api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][0]["state"], "resolved");
    let refund_emails_sent = api.order_messages_of(&id, "refund_issued").await;
    let refund_emails = refund_emails_sent.len();
    assert_eq!(refund_emails, 2, "{refund_emails_sent:?}");
    assert_eq!(
        after["refunds"][1]["amount"],
        json!({"amount": "49.99", "currency": "USD"})
    );

    // A dispute, answered and lost: its amount leaves the profit.
    let disputed = api
        .post(
            &format!("/api/v1/orders/{id}/disputes"),
            &json!({"amount": {"amount": "20.00", "currency": "USD"}, "reason_code": "fraudulent", "due_at": "2099-01-01T00:00:00Z"}),
        )
        .await
        .expect(201);
    let dispute = disputed["created_id"].as_str().expect("a dispute").to_string();
    for action in ["respond", "lose"] {
        let response = web.post(&format!("{page}/disputes/{dispute}/{action}"), &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let (_, body) = web.get(&page).await;
    assert!(body.contains("<span id=\"profit\">0.49 USD</span>"), "{body}");

    // The evidence: the order, the address, the parcel's carrier events and the emails.
    let (status, evidence) = web.get(&format!("{page}/disputes/{dispute}/evidence")).await;
    assert_eq!(status, StatusCode::OK, "{evidence}");
    for shown in [
        "Evidence for the dispute of order",
        "fraudulent",
        "20.00 USD",
        "9400111899223344556677",
        "Delivered",
        "12 Main Street",
        "Refund issued",
        "ada@example.com",
    ] {
        assert!(evidence.contains(shown), "{shown} in {evidence}");
    }
    assert!(
        !evidence.contains("AE-1"),
        "no supplier data on the evidence: {evidence}"
    );
    let other = app.seed().await;
    let other_email = seller(&app, &other.store_id, "other@example.com").await;
    let other_web = Web::sign_in(&app, &other_email).await;
    assert_eq!(
        other_web.get(&format!("{page}/disputes/{dispute}/evidence")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web.get(&format!("{page}/disputes/{}/evidence", uuid_of_nothing()))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // Ids of nothing on this order, and unknown moves: not found.
    for path in [
        format!("{page}/disputes/{dispute}/explode"),
        format!("{page}/returns/{}/approve", uuid_of_nothing()),
        format!("{page}/parcels/{return_id}/approve"),
    ] {
        assert_eq!(web.post(&path, &[]).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

async fn the_order_page_shows_where_a_return_goes_and_moves_its_claims(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    api.put(
        &format!("/api/v1/suppliers/{}/return-policy", seeded.supplier_id),
        &json!({
            "accepts_returns": true,
            "refunds_returned_items": true,
            "return_address": {
                "first_name": "Returns", "last_name": "Desk", "address1": "77 Harbor Blvd",
                "city": "Long Beach", "region": "CA", "postal_code": "90802", "country_code": "US",
            },
        }),
    )
    .await
    .expect(200);
    let id = crate::after_sale::delivered_order(&app, &api, &seeded)
        .await
        .to_string();
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;
    let page = format!("/orders/{id}");
    let order = api.get_order(&id).await.expect(200);
    let line = order["lines"][0]["id"].as_str().expect("a line").to_string();
    let so = order["supplier_orders"][0]["id"]
        .as_str()
        .expect("a supplier order")
        .to_string();
    let new_return = || async {
        api.post(
            &format!("/api/v1/orders/{id}/returns"),
            &json!({"lines": [{"line_item_id": line, "quantity": 1}], "reason": "changed_mind"}),
        )
        .await
        .expect(201)["created_id"]
            .as_str()
            .expect("a return")
            .to_string()
    };
    let return_id = new_return().await;

    // Approved: the page says where the item goes back to.
    for action in ["approve", "await-item", "receive"] {
        let response = web.post(&format!("{page}/returns/{return_id}/{action}"), &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
        if action == "approve" {
            let (_, body) = web.get(&page).await;
            assert!(body.contains(&format!("id=\"return-address-{return_id}-1\"")), "{body}");
            assert!(body.contains("77 Harbor Blvd"), "{body}");
            assert!(body.contains("s return address"), "{body}");
        }
    }
    // Refunded: the claim to the supplier opens by itself, with the moves its state allows.
    let response = web.post(&format!("{page}/returns/{return_id}/refund"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200);
    let claim = after["claims"][0]["id"].as_str().expect("a claim").to_string();
    let (_, body) = web.get(&page).await;
    assert_controls_are_labelled(&body);
    assert!(body.contains(&format!("id=\"claim-submit-{claim}\"")), "{body}");
    assert!(!body.contains(&format!("id=\"claim-accept-{claim}\"")), "{body}");
    assert!(body.contains("claimed 12.00 USD"), "{body}");
    assert!(body.contains("<span id=\"profit\">25.49 USD</span>"), "{body}");
    // Accepting before it was sent: refused, nothing changes.
    let response = web
        .post(&format!("{page}/claims/{claim}/accept"), &[("recovered", "10.00")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = web.post(&format!("{page}/claims/{claim}/submit"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, body) = web.get(&format!("{page}?done=claim-submit")).await;
    assert!(body.contains("Claim sent to the supplier"), "{body}");
    assert!(body.contains(&format!("id=\"claim-accept-{claim}\"")), "{body}");
    assert_controls_are_labelled(&body);
    // More than was claimed: refused next to the field.
    for recovered in ["12.01", "x"] {
        let response = web
            .post(&format!("{page}/claims/{claim}/accept"), &[("recovered", recovered)])
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{recovered}");
        let body = response.text().await.expect("body");
        assert!(body.contains(&format!("id=\"recovered-{claim}-error\"")), "{body}");
    }
    let response = web
        .post(&format!("{page}/claims/{claim}/accept"), &[("recovered", "10.00")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, body) = web.get(&page).await;
    assert!(body.contains("recovered 10.00 USD"), "{body}");
    assert!(body.contains("<span id=\"profit\">35.49 USD</span>"), "{body}");

    // Another return, approved: a claim by hand from its row.
    let second = new_return().await;
    let response = web.post(&format!("{page}/returns/{second}/approve"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, body) = web.get(&page).await;
    assert!(body.contains(&format!("id=\"return-claim-{second}-{so}\"")), "{body}");
    let response = web
        .post(
            &format!("{page}/returns/{second}/claim"),
            &[("supplier_order_id", so.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200);
    assert_eq!(after["claims"].as_array().map(Vec::len), Some(2), "{after}");
    // Unknown claims and moves: not found.
    for path in [
        format!("{page}/claims/{}/submit", uuid_of_nothing()),
        format!("{page}/claims/{claim}/explode"),
    ] {
        assert_eq!(web.post(&path, &[]).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

async fn the_order_page_sends_a_replacement_or_an_exchange_for_a_returned_item(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let web = Web::sign_in(&app, &email).await;
    // The supplier orders of an order after its first (the one that delivered it).
    let sent_for_return = |order: &Value| -> Vec<Value> {
        let sos = order["supplier_orders"].as_array().expect("supplier orders");
        assert!(sos.len() > 1, "{order}");
        sos[1..].to_vec()
    };

    // A replacement: a new supplier order, shown on the page; the order stays delivered.
    let id = crate::after_sale::delivered_order(&app, &api, &seeded)
        .await
        .to_string();
    let page = format!("/orders/{id}");
    let return_id = crate::after_sale::received_return(&api, &id).await;
    let (_, body) = web.get(&page).await;
    assert!(body.contains(&format!("id=\"return-exchange-{return_id}\"")), "{body}");
    assert_controls_are_labelled(&body);
    let response = web.post(&format!("{page}/returns/{return_id}/replacement"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let order = api.get_order(&id).await.expect(200);
    assert_eq!(order["state"], "delivered");
    let sent = sent_for_return(&order);
    assert_eq!(sent.len(), 1, "{order}");
    let sent_id = sent[0]["id"].as_str().expect("an id");
    let (_, body) = web.get(&format!("{page}?done=return-replacement")).await;
    assert!(body.contains("Return resolved: a new supplier order"), "{body}");
    assert!(body.contains(&format!("id=\"supplier-order-{sent_id}\"")), "{body}");
    assert!(!body.contains(&format!("id=\"return-exchange-{return_id}\"")), "{body}");
    let after = api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][0]["resolution"], "replacement");

    // An exchange without a chosen variant: refused next to the field, nothing written.
    let id = crate::after_sale::delivered_order(&app, &api, &seeded)
        .await
        .to_string();
    let page = format!("/orders/{id}");
    let return_id = crate::after_sale::received_return(&api, &id).await;
    let before = app.snapshot().await;
    let response = web
        .post(&format!("{page}/returns/{return_id}/exchange"), &[("variant_id", "")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(
        body.contains(&format!("id=\"exchange-variant-{return_id}-error\"")),
        "{body}"
    );
    assert_eq!(before, app.snapshot().await);
    let after = api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][0]["state"], "received");

    // An exchange to the store's second variant: sent, on the page.
    let variant = seeded.variant_ids[1].as_str();
    let response = web
        .post(
            &format!("{page}/returns/{return_id}/exchange"),
            &[("variant_id", variant)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let order = api.get_order(&id).await.expect(200);
    assert_eq!(order["state"], "delivered");
    let sent = sent_for_return(&order);
    assert_eq!(sent.len(), 1, "{order}");
    assert_eq!(sent[0]["lines"][0]["variant_id"], variant, "{order}");
    let sent_id = sent[0]["id"].as_str().expect("an id");
    let (_, body) = web.get(&page).await;
    assert!(body.contains(&format!("id=\"supplier-order-{sent_id}\"")), "{body}");
    let after = api.get(&format!("/api/v1/orders/{id}/after-sale")).await.expect(200);
    assert_eq!(after["returns"][0]["resolution"], "exchange");
}

backend_tests!(
    the_order_page_sends_a_replacement_or_an_exchange_for_a_returned_item,
    the_order_page_shows_where_a_return_goes_and_moves_its_claims,
    the_order_page_shows_the_money_and_works_returns_refunds_and_disputes,
    filters_and_search_find_the_right_orders,
    pages_follow_the_filter_with_a_cursor,
    bulk_accept_reports_each_order_and_refuses_without_changing,
    csv_export_of_the_selection_and_of_a_filter,
    the_order_page_acts_as_its_state_allows,
    another_stores_order_cannot_be_acted_on,
);
