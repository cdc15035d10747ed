//! The dashboard's overview page over plain HTTP: today's orders, the orders waiting for a
//! person, and the numbers under each chart after orders went through the manual flow on an
//! engine clock moved forward day by day; a seller sees only their store, the operator picks
//! one or sees all, and an unknown period is refused.

use crate::dashboard::{Web, seller, user};
use crate::id_of;
use dropline_domain::account::Role;
use dropline_testkit::{Clock, Seeded, TestApp, data};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

async fn spawn_sqlite(clock: &Clock) -> Option<TestApp> {
    Some(TestApp::spawn_with(clock.configure()).await)
}

async fn spawn_postgres(clock: &Clock) -> Option<TestApp> {
    let app = TestApp::spawn_postgres_with(clock.configure()).await;
    if app.is_none() {
        println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE);
    }
    app
}

/// An order of the seeded store placed at `placed_at`.
fn order_placed(seeded: &Seeded, placed_at: OffsetDateTime) -> Value {
    let mut order = seeded.order(&seeded.next_external_id());
    order["placed_at"] = json!(placed_at.format(&Rfc3339).expect("RFC 3339"));
    order
}

/// The cells of a chart's table on one day (without the day itself).
fn cells(body: &str, chart: &str, day: Date) -> Vec<String> {
    let table = body
        .split(&format!("<table id=\"table-{chart}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap_or_else(|| panic!("no table of {chart} in {body}"));
    let row = table
        .split(&format!("<tr data-day=\"{day}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row of {day} in the table of {chart}: {table}"));
    row.split("<td>")
        .skip(1)
        .map(|cell| cell.split("</td>").next().unwrap_or_default().to_string())
        .collect()
}

/// The number shown in the element with this id (`<… id="x">12</…>`, or with a `<strong>`).
fn number(body: &str, id: &str) -> u64 {
    let after = body
        .split(&format!("id=\"{id}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no element {id} in {body}"));
    let digits: String = after
        .trim_start_matches("<strong>")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number in {id}: {after:.80}"))
}

async fn the_overview_shows_a_stores_orders_over_time(spawn: impl AsyncFnOnce(&Clock) -> Option<TestApp>) {
    let clock = nine_five_days_back();
    let Some(app) = spawn(&clock).await else {
        return;
    };
    let ours = app.seed().await;
    let theirs = app.seed().await;
    let api = app.with_token(&ours.token);
    let first_day = clock.now().date();

    // Day one, 09:00: two orders of ours (placed an hour before) and one of another store.
    let received = clock.now();
    let journey = id_of(
        &api.post_order(&order_placed(&ours, received - Duration::hours(1)))
            .await
            .expect(201),
    );
    api.post_order(&order_placed(&ours, received - Duration::minutes(30)))
        .await
        .expect(201);
    app.with_token(&theirs.token)
        .post_order(&order_placed(&theirs, received - Duration::hours(1)))
        .await
        .expect(201);

    // Accepted and routed at once; ordered at the supplier two hours after receipt, for 29.50.
    api.accept(&journey).await.expect(200);
    app.run_pending_jobs().await;
    let order = api.get_order(&journey).await.expect(200);
    let supplier_order = id_of(&order["supplier_orders"][0]);
    clock.advance(Duration::hours(2));
    api.record_reference(
        &supplier_order,
        &json!({"supplier_reference": "AE-1", "actual_cost": data::usd("29.50")}),
    )
    .await
    .expect(200);
    api.add_shipment(
        &supplier_order,
        &json!({"carrier": "USPS", "tracking_number": "9400111899223344556677"}),
    )
    .await
    .expect(201);
    // Shipped the next day, delivered three days after that.
    clock.advance(Duration::days(1));
    api.mark_shipped(&supplier_order, &json!({})).await.expect(200);
    clock.advance(Duration::days(3));
    api.mark_delivered(&supplier_order, &json!({})).await.expect(200);
    assert_eq!(api.get_order(&journey).await.expect(200)["state"], "delivered");

    // Today (four days later): one more order of ours, one of theirs.
    let today = clock.now().date();
    api.post_order(&order_placed(&ours, clock.now() - Duration::minutes(5)))
        .await
        .expect(201);
    app.with_token(&theirs.token)
        .post_order(&order_placed(&theirs, clock.now() - Duration::minutes(5)))
        .await
        .expect(201);

    let web = Web::sign_in(&app, &seller(&app, &ours.store_id, "sam@example.com").await).await;
    let (status, body) = web.get("/?days=7").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"overview\""), "{body}");
    // The charts are drawings, not programs.
    let content = body.split("<main>").nth(1).expect("the page's content");
    assert!(!content.contains("<script"), "{content}");
    assert_eq!(body.matches("role=\"img\"").count(), 6, "{body}");
    assert_eq!(body.matches("<details>").count(), 6, "{body}");
    assert_eq!(number(&body, "orders-today"), 1);
    assert_eq!(number(&body, "attention-pending-review"), 2);
    assert_eq!(number(&body, "attention-on-hold"), 0);
    assert_eq!(number(&body, "attention-exceptions"), 0);
    for link in [
        "/orders?state=pending_review",
        "/orders?state=on_hold",
        "/orders?exception=1",
    ] {
        assert!(body.contains(&format!("href=\"{link}\"")), "{link}");
    }
    // Seven days, newest first, the quiet ones at zero.
    let table = body
        .split("<table id=\"table-orders\">")
        .nth(1)
        .expect("the orders table");
    assert_eq!(
        table
            .split("</table>")
            .next()
            .unwrap_or_default()
            .matches("<tr data-day=")
            .count(),
        7
    );
    assert_eq!(cells(&body, "orders", first_day), ["2"]);
    assert_eq!(cells(&body, "orders", first_day + Duration::days(1)), ["0"]);
    assert_eq!(cells(&body, "orders", today), ["1"]);
    // The day's orders: one placed with the supplier after 2 hours, delivered 3 days after it
    // shipped, none refunded or disputed, fulfilled at 29.50.
    assert_eq!(cells(&body, "processing", first_day), ["1", "2.0"]);
    assert_eq!(cells(&body, "processing", today), ["0", "–"]);
    assert_eq!(cells(&body, "shipping", first_day), ["1", "3.0"]);
    assert_eq!(cells(&body, "refunds", first_day), ["2", "0", "0.00"]);
    assert_eq!(cells(&body, "refunds", first_day + Duration::days(1)), ["0", "0", "–"]);
    assert_eq!(cells(&body, "chargebacks", first_day), ["2", "0", "0.00"]);
    assert!(body.contains("No disputes recorded"), "{body}");
    assert_eq!(cells(&body, "cost", first_day), ["1", "29.50"]);
    assert!(body.contains("Fulfillment cost per order (USD)"), "{body}");
    assert!(body.contains("highest 2.0 on"), "{body}");

    // A seller cannot look at another store, even by asking.
    let (_, asked) = web.get(&format!("/?days=7&store={}", theirs.store_id)).await;
    assert_eq!(cells(&asked, "orders", first_day), ["2"]);

    // The operator sees every store, or the one picked.
    let operator = Web::sign_in(&app, &user(&app, None, Role::Operator, "op@example.com").await).await;
    let (status, all) = operator.get("/?days=7").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert!(all.contains("All stores"), "{all}");
    assert_eq!(cells(&all, "orders", first_day), ["3"]);
    assert_eq!(cells(&all, "orders", today), ["2"]);
    assert_eq!(number(&all, "orders-today"), 2);
    assert_eq!(number(&all, "attention-pending-review"), 4);
    let (status, one) = operator.get(&format!("/?days=30&store={}", theirs.store_id)).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert!(
        one.contains(&format!("<option value=\"{}\" selected>", theirs.store_id)),
        "{one}"
    );
    assert_eq!(cells(&one, "orders", first_day), ["1"]);
    assert_eq!(cells(&one, "processing", first_day), ["0", "–"]);
    assert_eq!(
        one.split("<table id=\"table-orders\">")
            .nth(1)
            .and_then(|t| t.split("</table>").next())
            .map(|t| t.matches("<tr data-day=").count()),
        Some(30)
    );
}

#[tokio::test]
async fn the_overview_shows_a_stores_orders_over_time_on_sqlite() {
    the_overview_shows_a_stores_orders_over_time(spawn_sqlite).await;
}

#[tokio::test]
async fn the_overview_shows_a_stores_orders_over_time_on_postgres() {
    the_overview_shows_a_stores_orders_over_time(spawn_postgres).await;
}

async fn an_unknown_period_or_store_is_refused_and_every_role_sees_the_page(app: TestApp) {
    let seeded = app.seed().await;
    let staff = Web::sign_in(
        &app,
        &user(&app, Some(&seeded.store_id), Role::Staff, "staff@example.com").await,
    )
    .await;
    for path in ["/", "/?days=7", "/?days=30", "/?days=90", "/?days="] {
        let (status, body) = staff.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(number(&body, "orders-today"), 0, "{path}");
        // Only the operator picks a store.
        assert!(!body.contains("<select id=\"store\""), "{path}");
    }
    for path in ["/?days=14", "/?days=abc", "/?days=-7", "/?days=7.0"] {
        let (status, body) = staff.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(body.contains("days filter"), "{path}: {body}");
    }
    let operator = Web::sign_in(&app, &user(&app, None, Role::Operator, "op@example.com").await).await;
    let (status, body) = operator.get("/?store=not-a-store").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("store filter"), "{body}");
    let (status, _) = operator
        .get(&format!("/?store={}", dropline_domain::ids::StoreId::new()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = operator.get("/").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<select id=\"store\""), "{body}");
    assert!(
        body.contains(&format!("<option value=\"{}\">", seeded.store_id)),
        "{body}"
    );
    assert!(body.contains("No orders in this period."), "{body}");
}

backend_tests!(an_unknown_period_or_store_is_refused_and_every_role_sees_the_page);

/// 09:00 UTC five days ago: every moment the test reaches is still in the past, so the jobs
/// it causes are due for the worker (which claims by the real time).
fn nine_five_days_back() -> Clock {
    Clock::starting_at(
        (OffsetDateTime::now_utc() - Duration::days(5))
            .date()
            .with_time(Time::from_hms(9, 0, 0).expect("09:00"))
            .assume_utc(),
    )
}
