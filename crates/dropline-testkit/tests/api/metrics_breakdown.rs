//! The breakdown per supplier, lane and product (`GET /api/v1/metrics/breakdown` and the
//! dashboard overview's tables) on a store whose orders went through two suppliers to two
//! countries, on an engine clock moved by the test: every figure is checked to the minor
//! unit and the second. Bad input is refused by name; another store's token sees nothing.

use crate::dashboard::{Web, seller, user};
use crate::id_of;
use dropline_app::Scope;
use dropline_app::ports::{ChangeSet, OrderWrite};
use dropline_domain::account::Role;
use dropline_domain::money::{Currency, Money};
use dropline_testkit::{Api, Clock, Seeded, TestApp, data};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Time};

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

/// What the test built: the store, its two suppliers and two products.
struct Shop {
    seeded: Seeded,
    second_supplier: String,
    cable_product: String,
    cable_sku: String,
}

/// The seeded store (its manual supplier sells the earbuds at 12.00 + 3.00 shipping), a
/// second manual supplier selling a cable at 8.00 + 3.00, and the store's fees: 0.30 per
/// order to the payment processor, 15.00 per lost dispute.
async fn shop(app: &TestApp) -> Shop {
    let seeded = app.seed().await;
    let admin = app.admin();
    let second = admin
        .create_supplier(&data::manual_supplier(&seeded.store_id))
        .await
        .expect(201);
    let second_supplier = id_of(&second);
    let cable_sku = format!("CABLE-{}", data::unique());
    let cable = admin
        .create_product(&json!({
            "store_id": seeded.store_id,
            "title": "USB cable",
            "variants": [{"sku": cable_sku, "title": "1 m", "price": data::usd("49.99")}],
        }))
        .await
        .expect(201);
    let variant = cable["variants"][0]["id"].as_str().expect("variant id").to_string();
    let mut offer = data::offer(&variant, &second_supplier, "https://cables.example/item/1", Some(100));
    offer["unit_cost"] = data::usd("8.00");
    admin.add_offer(&offer).await.expect(201);
    admin
        .update_store_settings(
            &seeded.store_id,
            &json!({"fees": {"payment_fixed": data::usd("0.30"), "chargeback_fee": data::usd("15.00")}}),
        )
        .await
        .expect(200);
    Shop {
        cable_product: id_of(&cable),
        seeded,
        second_supplier,
        cable_sku,
    }
}

/// An order of these lines (49.99 each, 5.00 shipping) placed an hour ago.
fn order_of(shop: &Shop, clock: &Clock, lines: &[(&str, u32)]) -> Value {
    let mut order = data::order(&shop.seeded.store_id, &shop.seeded.next_external_id(), lines);
    order["placed_at"] = json!((clock.now() - Duration::hours(1)).format(&Rfc3339).expect("RFC 3339"));
    order
}

/// The supplier orders of an order, by supplier id.
async fn supplier_orders(api: &Api<'_>, order_id: &str) -> Vec<(String, String)> {
    let order = api.get_order(order_id).await.expect(200);
    order["supplier_orders"]
        .as_array()
        .expect("supplier orders")
        .iter()
        .map(|so| (so["supplier_id"].as_str().expect("supplier").to_string(), id_of(so)))
        .collect()
}

fn of_supplier(supplier_orders: &[(String, String)], supplier: &str) -> String {
    supplier_orders
        .iter()
        .find(|(s, _)| s == supplier)
        .map(|(_, id)| id.clone())
        .unwrap_or_else(|| panic!("no supplier order at {supplier} in {supplier_orders:?}"))
}

fn usd(amount: &str) -> Value {
    data::usd(amount)
}

fn durations(orders: u64, median: i64, p90: i64) -> Value {
    json!({"orders": orders, "median_seconds": median, "p90_seconds": p90})
}

/// The group of a breakdown whose fields match `key`.
fn group<'a>(breakdown: &'a Value, key: &[(&str, Value)]) -> &'a Value {
    breakdown["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| key.iter().all(|(field, value)| g[*field] == *value))
        .unwrap_or_else(|| panic!("no group {key:?} in {breakdown:#}"))
}

/// The cells of a breakdown table's row (without its name).
fn row(body: &str, table: &str, key: &str) -> (String, Vec<String>) {
    let table = body
        .split(&format!("<table id=\"table-{table}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap_or_else(|| panic!("no table {table} in {body}"));
    let row = table
        .split(&format!("<tr data-group=\"{key}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row {key} in {table}"));
    let label = row
        .split("<th scope=\"row\">")
        .nth(1)
        .and_then(|rest| rest.split("</th>").next())
        .unwrap_or_default()
        .to_string();
    let cells = row
        .split("<td>")
        .skip(1)
        .map(|cell| cell.split("</td>").next().unwrap_or_default().to_string())
        .collect();
    (label, cells)
}

/// Three orders on the engine clock:
/// - A, to the US: earbuds (first supplier, charged 14.50, sent after 2 h, 3 days in
///   transit) and a cable (second supplier, charged 10.00, sent after 3 h, 2 days in
///   transit); delivered; the cable refunded (49.99).
/// - B, to Germany: two earbuds (first supplier, charged 26.00, sent after 3 h), shipped;
///   its payment disputed (104.98) and the dispute lost.
/// - C, to the US, a cable waiting for review (at no supplier).
/// - D, in euros, waiting for review: counted, its money left out.
async fn the_breakdown_gives_each_supplier_lane_and_product_its_share(
    spawn: impl AsyncFnOnce(&Clock) -> Option<TestApp>,
) {
    let clock = nine_five_days_back();
    let Some(app) = spawn(&clock).await else {
        return;
    };
    let shop = shop(&app).await;
    let seeded = &shop.seeded;
    let (first, second) = (seeded.supplier_id.clone(), shop.second_supplier.clone());
    let earbuds = seeded.skus[0].as_str();
    let api = app.with_token(&seeded.token);

    let a = id_of(
        &api.post_order(&order_of(&shop, &clock, &[(earbuds, 1), (&shop.cable_sku, 1)]))
            .await
            .expect(201),
    );
    let mut to_germany = order_of(&shop, &clock, &[(earbuds, 2)]);
    to_germany["shipping_address"] = json!({
        "first_name": "Grace", "last_name": "Hopper", "address1": "Hauptstraße 5",
        "city": "Berlin", "postal_code": "10115", "country_code": "DE", "phone": "+4930123456",
    });
    let b = id_of(&api.post_order(&to_germany).await.expect(201));
    api.post_order(&order_of(&shop, &clock, &[(&shop.cable_sku, 1)]))
        .await
        .expect(201);
    // D: the API takes orders in the store's currency only; one in euros (kept from before
    // the store changed its currency) is written to the database as it is.
    let d = id_of(
        &api.post_order(&order_of(&shop, &clock, &[(earbuds, 1)]))
            .await
            .expect(201),
    );
    let engine = app.app();
    let mut in_euros = engine
        .get_order(Scope::Operator, d.parse().expect("an order id"))
        .await
        .expect("order D");
    let eur = Currency::parse("EUR").expect("EUR");
    in_euros.currency = eur;
    in_euros.lines[0].unit_price = Money::new(4_999, eur);
    in_euros.subtotal = Money::new(4_999, eur);
    in_euros.shipping_total = Money::new(500, eur);
    in_euros.total = Money::new(5_499, eur);
    engine
        .backend()
        .commit(ChangeSet {
            orders: vec![OrderWrite::Update(in_euros)],
            ..ChangeSet::default()
        })
        .await
        .expect("order D in euros");

    for order in [&a, &b] {
        api.accept(order).await.expect(200);
    }
    app.run_pending_jobs().await;
    let a_orders = supplier_orders(&api, &a).await;
    let b_orders = supplier_orders(&api, &b).await;
    assert_eq!((a_orders.len(), b_orders.len()), (2, 1), "{a_orders:?} {b_orders:?}");
    let (a_first, a_second) = (of_supplier(&a_orders, &first), of_supplier(&a_orders, &second));
    let b_first = of_supplier(&b_orders, &first);

    clock.advance(Duration::hours(2));
    let charged =
        |amount: &str| json!({"supplier_reference": format!("REF-{}", data::unique()), "actual_cost": usd(amount)});
    api.record_reference(&a_first, &charged("14.50")).await.expect(200);
    clock.advance(Duration::hours(1));
    api.record_reference(&a_second, &charged("10.00")).await.expect(200);
    api.record_reference(&b_first, &charged("26.00")).await.expect(200);
    for (so, number) in [
        (&a_first, "9400111899223344556677"),
        (&a_second, "9400111899223344556684"),
        (&b_first, "9400111899223344556691"),
    ] {
        api.add_shipment(so, &json!({"carrier": "USPS", "tracking_number": number}))
            .await
            .expect(201);
    }
    clock.advance(Duration::days(1));
    for so in [&a_first, &a_second, &b_first] {
        api.mark_shipped(so, &json!({})).await.expect(200);
    }
    clock.advance(Duration::days(2));
    api.mark_delivered(&a_second, &json!({})).await.expect(200);
    clock.advance(Duration::days(1));
    api.mark_delivered(&a_first, &json!({})).await.expect(200);
    let delivered = api.get_order(&a).await.expect(200);
    assert_eq!(delivered["state"], "delivered");
    let cable_line = delivered["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["sku"] == json!(shop.cable_sku))
        .map(id_of)
        .expect("the cable's line");
    api.post(
        &format!("/api/v1/orders/{a}/refunds"),
        &json!({"reason": "broken", "lines": [{"line_item_id": cable_line, "quantity": 1}]}),
    )
    .await
    .expect(201);
    let due = (clock.now() + Duration::days(10)).format(&Rfc3339).expect("RFC 3339");
    let disputed = api
        .post(
            &format!("/api/v1/orders/{b}/disputes"),
            &json!({"amount": usd("104.98"), "reason_code": "fraudulent", "due_at": due}),
        )
        .await
        .expect(201);
    let dispute = disputed["created_id"].as_str().expect("dispute id").to_string();
    api.post_empty(&format!("/api/v1/orders/{b}/disputes/{dispute}/lose"))
        .await
        .expect(200);

    // By supplier (the default), the last 30 days.
    let by_supplier = api.get("/api/v1/metrics/breakdown").await.expect(200);
    assert_eq!(by_supplier["by"], "supplier");
    assert_eq!(by_supplier["days"], 30);
    assert_eq!(by_supplier["currency"], "USD");
    assert_eq!(by_supplier["store_id"], json!(seeded.store_id));
    assert_eq!(by_supplier["supplier_costs_left_out"], 0);
    // Most profit first: the orders at no supplier yet (C's 49.99 + 5.00 less 0.30, and D
    // without money), the first supplier, the second.
    let order_of_groups: Vec<Value> = by_supplier["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["supplier_id"].clone())
        .collect();
    assert_eq!(order_of_groups, [Value::Null, json!(first), json!(second)]);

    // The first supplier: A's earbuds (49.99, half of the 5.00 shipping and of the 0.30
    // fee, charged 14.50) and B (99.98 + 5.00 less the 104.98 chargeback; 0.30 fee, 26.00,
    // 15.00 dispute fee).
    let at_first = group(&by_supplier, &[("supplier_id", json!(first))]);
    assert!(
        at_first["supplier_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("Manual supplier"))
    );
    assert_eq!(at_first["country"], Value::Null);
    assert_eq!(at_first["orders"], 2);
    assert_eq!(at_first["orders_left_out"], 0);
    assert_eq!(at_first["processing"], durations(2, 2 * 3600, 3 * 3600));
    assert_eq!(at_first["shipping"], durations(1, 3 * 86_400, 3 * 86_400));
    assert_eq!(
        (&at_first["refunded_orders"], &at_first["refund_rate_bp"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(
        (&at_first["disputed_orders"], &at_first["chargeback_rate_bp"]),
        (&json!(1), &json!(5000))
    );
    assert_eq!(at_first["costed_orders"], 2);
    assert_eq!(at_first["fulfillment_cost"], usd("40.50"));
    assert_eq!(at_first["fulfillment_cost_per_order"], usd("20.25"));
    assert_eq!(at_first["revenue"], usd("52.49"));
    assert_eq!(at_first["costs"], usd("55.95"));
    assert_eq!(at_first["profit"], usd("-3.46"));
    assert_eq!(at_first["margin_bp"], -659);

    // The second: A's cable (49.99, 2.50, less its 49.99 refund; 0.15 fee, 10.00).
    let at_second = group(&by_supplier, &[("supplier_id", json!(second))]);
    assert_eq!(at_second["orders"], 1);
    assert_eq!(at_second["processing"], durations(1, 3 * 3600, 3 * 3600));
    assert_eq!(at_second["shipping"], durations(1, 2 * 86_400, 2 * 86_400));
    assert_eq!(
        (&at_second["refunded_orders"], &at_second["refund_rate_bp"]),
        (&json!(1), &json!(10_000))
    );
    assert_eq!(at_second["chargeback_rate_bp"], 0);
    assert_eq!(at_second["fulfillment_cost_per_order"], usd("10.00"));
    assert_eq!(at_second["revenue"], usd("2.50"));
    assert_eq!(at_second["costs"], usd("10.15"));
    assert_eq!(at_second["profit"], usd("-7.65"));
    assert_eq!(at_second["margin_bp"], -30_600);

    // At no supplier: C and D (in euros: counted, its money left out).
    let nowhere = group(&by_supplier, &[("supplier_id", Value::Null)]);
    assert_eq!(
        (&nowhere["orders"], &nowhere["orders_left_out"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(nowhere["processing"], Value::Null);
    assert_eq!(nowhere["costed_orders"], 0);
    assert_eq!(nowhere["fulfillment_cost_per_order"], Value::Null);
    assert_eq!(nowhere["revenue"], usd("54.99"));
    assert_eq!(nowhere["costs"], usd("0.30"));
    assert_eq!(nowhere["profit"], usd("54.69"));
    assert_eq!(nowhere["margin_bp"], 9945);

    // The period, each order once: the groups' profits add up to it.
    let total = &by_supplier["total"];
    assert_eq!((&total["orders"], &total["orders_left_out"]), (&json!(4), &json!(1)));
    assert_eq!(total["processing"], durations(2, 2 * 3600, 3 * 3600));
    assert_eq!(total["shipping"], durations(1, 3 * 86_400, 3 * 86_400));
    assert_eq!(
        (&total["refunded_orders"], &total["refund_rate_bp"]),
        (&json!(1), &json!(2500))
    );
    assert_eq!(
        (&total["disputed_orders"], &total["chargeback_rate_bp"]),
        (&json!(1), &json!(2500))
    );
    assert_eq!(total["fulfillment_cost"], usd("50.50"));
    assert_eq!(total["fulfillment_cost_per_order"], usd("25.25"));
    assert_eq!(total["revenue"], usd("109.98"));
    assert_eq!(total["costs"], usd("66.40"));
    assert_eq!(total["profit"], usd("43.58"));
    assert_eq!(total["margin_bp"], 3963);

    // By lane: the first supplier's orders part by country.
    let by_lane = api.get("/api/v1/metrics/breakdown?by=lane&days=7").await.expect(200);
    assert_eq!((&by_lane["by"], &by_lane["days"]), (&json!("lane"), &json!(7)));
    assert_eq!(by_lane["groups"].as_array().map(Vec::len), Some(4));
    let to_us = group(&by_lane, &[("supplier_id", json!(first)), ("country", json!("US"))]);
    assert_eq!((&to_us["orders"], &to_us["profit"]), (&json!(1), &usd("37.84")));
    assert_eq!(to_us["processing"], durations(1, 2 * 3600, 2 * 3600));
    let to_de = group(&by_lane, &[("supplier_id", json!(first)), ("country", json!("DE"))]);
    assert_eq!(to_de["orders"], 1);
    assert_eq!((&to_de["revenue"], &to_de["costs"]), (&usd("0.00"), &usd("41.30")));
    assert_eq!(
        (&to_de["margin_bp"], &to_de["chargeback_rate_bp"]),
        (&Value::Null, &json!(10_000))
    );
    assert_eq!(to_de["shipping"], Value::Null);
    let cable_lane = group(&by_lane, &[("supplier_id", json!(second)), ("country", json!("US"))]);
    assert_eq!(cable_lane["profit"], usd("-7.65"));

    // By product: the earbuds have the first supplier's part (and D, without money), the
    // cable A's cable and C.
    let by_product = api.get("/api/v1/metrics/breakdown?by=product").await.expect(200);
    let earbuds_group = group(&by_product, &[("product_id", json!(seeded.product_id))]);
    assert_eq!(earbuds_group["product_title"], "Wireless earbuds");
    assert_eq!(
        (&earbuds_group["orders"], &earbuds_group["orders_left_out"]),
        (&json!(3), &json!(1))
    );
    assert_eq!(earbuds_group["profit"], usd("-3.46"));
    let cable_group = group(&by_product, &[("product_id", json!(shop.cable_product))]);
    assert_eq!(cable_group["product_title"], "USB cable");
    assert_eq!(cable_group["orders"], 2);
    assert_eq!(cable_group["profit"], usd("47.04"));
    assert_eq!(
        (&cable_group["refunded_orders"], &cable_group["refund_rate_bp"]),
        (&json!(1), &json!(5000))
    );
    assert_eq!(by_product["total"], by_supplier["total"]);

    // The operator names the store; a store's token may name its own.
    let admin = app.admin();
    let named = admin
        .get(&format!("/api/v1/metrics/breakdown?store_id={}", seeded.store_id))
        .await
        .expect(200);
    assert_eq!(named, by_supplier);
    let own = api
        .get(&format!(
            "/api/v1/metrics/breakdown?store_id={}&by=supplier&days=30",
            seeded.store_id
        ))
        .await
        .expect(200);
    assert_eq!(own, by_supplier);

    // The dashboard's overview shows the same figures in its tables.
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let (status, body) = web.get("/?days=7").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for table in ["by-supplier", "by-lane", "by-product"] {
        assert!(body.contains(&format!("id=\"table-{table}\"")), "{table}: {body}");
    }
    assert!(body.contains("class=\"table-scroll\""), "{body}");
    let (label, cells) = row(&body, "by-supplier", &first);
    assert!(label.starts_with("Manual supplier"), "{label}");
    assert_eq!(
        cells,
        [
            "2",
            "2.0 / 3.0",
            "3.0 / 3.0",
            "0.00",
            "50.00",
            "20.25",
            "52.49",
            "55.95",
            "-3.46",
            "-6.59"
        ]
    );
    let (_, cells) = row(&body, "by-supplier", &second);
    assert_eq!(
        cells,
        [
            "1",
            "3.0 / 3.0",
            "2.0 / 2.0",
            "100.00",
            "0.00",
            "10.00",
            "2.50",
            "10.15",
            "-7.65",
            "-306.00"
        ]
    );
    let (label, cells) = row(&body, "by-supplier", "none");
    assert_eq!(label, "Not at a supplier yet");
    assert_eq!(
        cells,
        ["2", "–", "–", "0.00", "0.00", "–", "54.99", "0.30", "54.69", "99.45"]
    );
    let (label, cells) = row(&body, "by-supplier", "total");
    assert_eq!(label, "All orders");
    assert_eq!(
        cells,
        [
            "4",
            "2.0 / 3.0",
            "3.0 / 3.0",
            "25.00",
            "25.00",
            "25.25",
            "109.98",
            "66.40",
            "43.58",
            "39.63"
        ]
    );
    assert!(body.contains("1 order in another currency than USD"), "{body}");
    let (_, cells) = row(&body, "by-lane", &format!("{first}/DE"));
    assert_eq!(cells[0], "DE");
    assert_eq!(cells[9], "-41.30");
    let (label, cells) = row(&body, "by-product", &shop.cable_product);
    assert_eq!(label, "USB cable");
    assert_eq!((cells[8].as_str(), cells[9].as_str()), ("47.04", "81.82"));

    // Over every store the operator is asked to pick one.
    let operator = Web::sign_in(&app, &user(&app, None, Role::Operator, "op@example.com").await).await;
    let (status, all) = operator.get("/?days=7").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert!(all.contains("id=\"breakdown-choose\""), "{all}");
    assert!(!all.contains("id=\"table-by-supplier\""), "{all}");
    let (status, one) = operator.get(&format!("/?days=7&store={}", seeded.store_id)).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(row(&one, "by-supplier", &second).1[8], "-7.65");
}

#[tokio::test]
async fn the_breakdown_gives_each_supplier_lane_and_product_its_share_on_sqlite() {
    the_breakdown_gives_each_supplier_lane_and_product_its_share(spawn_sqlite).await;
}

#[tokio::test]
async fn the_breakdown_gives_each_supplier_lane_and_product_its_share_on_postgres() {
    the_breakdown_gives_each_supplier_lane_and_product_its_share(spawn_postgres).await;
}

async fn bad_breakdown_queries_are_refused_by_name(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    for (query, field) in [
        ("by=cheapest", "by"),
        ("by=SUPPLIER", "by"),
        ("days=0", "days"),
        ("days=367", "days"),
        ("days=seven", "days"),
        ("days=-1", "days"),
        ("store_id=not-a-store", "store_id"),
    ] {
        let refused = api.get(&format!("/api/v1/metrics/breakdown?{query}")).await;
        refused.expect_error(422, "invalid_input");
        assert_eq!(refused.refused_fields(), [field], "{query}");
    }
    let both = api.get("/api/v1/metrics/breakdown?by=x&days=0").await;
    both.expect_error(422, "invalid_input");
    let mut fields = both.refused_fields();
    fields.sort();
    assert_eq!(fields, ["by", "days"]);
    // The operator must name a store, one that exists.
    let admin = app.admin();
    let refused = admin.get("/api/v1/metrics/breakdown").await;
    refused.expect_error(422, "invalid_input");
    assert_eq!(refused.refused_fields(), ["store_id"]);
    admin
        .get(&format!(
            "/api/v1/metrics/breakdown?store_id={}",
            dropline_domain::ids::StoreId::new()
        ))
        .await
        .expect_error(404, "store_not_found");
    // Another store's token naming this store finds nothing.
    let other = app.seed().await;
    app.with_token(&other.token)
        .get(&format!("/api/v1/metrics/breakdown?store_id={}", seeded.store_id))
        .await
        .expect_error(404, "store_not_found");
    // An empty store: no groups, every rate and average empty, money zero.
    let empty = api.get("/api/v1/metrics/breakdown?by=product&days=1").await.expect(200);
    assert_eq!(empty["groups"], json!([]));
    assert_eq!(empty["total"]["orders"], 0);
    assert_eq!(empty["total"]["refund_rate_bp"], Value::Null);
    assert_eq!(empty["total"]["margin_bp"], Value::Null);
    assert_eq!(empty["total"]["profit"], usd("0.00"));
}

backend_tests!(bad_breakdown_queries_are_refused_by_name);

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
