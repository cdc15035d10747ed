//! The CJ client against the CJ simulator, over real HTTP on 127.0.0.1: tokens, every call,
//! and what the client makes of each fault the simulator can inject.
#![allow(clippy::unwrap_used)]

use dropline_connect::cj::client::{CjClient, FreightRequest, Line, OrderRequest};
use dropline_connect::cj::{CancelOutcome, CjError, CjOrderStatus};
use dropline_domain::money::{Currency, Money};
use dropline_sim::CjSim;
use dropline_sim::supplier::cj::Fault;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

const CREATE: &str = "/shopping/order/createOrderV2";
const DETAIL: &str = "/shopping/order/getOrderDetail";
const VARIANT: &str = "/product/variant/queryByVid";
const STOCK: &str = "/product/stock/queryByVid";
const LIST: &str = "/shopping/order/list";
const TRACK: &str = "/logistic/trackInfo";
const DELETE: &str = "/shopping/order/deleteOrder";

fn client(sim: &CjSim) -> CjClient {
    CjClient::new(sim.base_url(), sim.api_key())
        .unwrap()
        .with_timeout(Duration::from_secs(5))
}

fn freight_request(sim: &CjSim) -> FreightRequest {
    FreightRequest {
        from_country: "CN".into(),
        to_country: "US".into(),
        zip: Some("93650".into()),
        lines: vec![
            Line {
                vid: sim.variants()[0].vid.clone(),
                quantity: 1,
            },
            Line {
                vid: sim.variants()[1].vid.clone(),
                quantity: 2,
            },
        ],
    }
}

fn order(sim: &CjSim) -> OrderRequest {
    OrderRequest {
        country_code: "US".into(),
        country: "United States".into(),
        province: "California".into(),
        city: "Fresno".into(),
        address: "1 Main St".into(),
        address2: Some("Apt 2".into()),
        customer_name: "Ann Lee".into(),
        zip: "93650".into(),
        phone: "5595550100".into(),
        email: None,
        remark: Some("dropline order".into()),
        logistic_name: "USPS+".into(),
        from_country: "CN".into(),
        pay_type: Some(3),
        tax_id: None,
        lines: vec![Line {
            vid: sim.variants()[0].vid.clone(),
            quantity: 1,
        }],
    }
}

#[tokio::test]
async fn one_token_serves_several_calls() {
    let sim = CjSim::start(11).await.unwrap();
    let client = client(&sim);
    for _ in 0..3 {
        client.freight(&freight_request(&sim)).await.unwrap();
    }
    client.create_order("T-1", &order(&sim)).await.unwrap();
    assert_eq!(sim.token_grants(), 1);
    assert_eq!(sim.token_refreshes(), 0);
}

#[tokio::test]
async fn expired_token_is_renewed_transparently() {
    let sim = CjSim::start(12).await.unwrap();
    let client = client(&sim);
    client.freight(&freight_request(&sim)).await.unwrap();
    sim.expire_tokens();
    let quotes = client.freight(&freight_request(&sim)).await.unwrap();
    assert!(!quotes.is_empty());
    assert_eq!(sim.token_refreshes(), 1, "renewed with the refresh token");
    assert_eq!(sim.token_grants(), 1);
    // When the refresh token is refused too, the API key gives a new pair.
    sim.expire_tokens();
    sim.expire_refresh_tokens();
    client.freight(&freight_request(&sim)).await.unwrap();
    assert_eq!(sim.token_grants(), 2);
}

#[tokio::test]
async fn token_is_refreshed_before_its_expiry_by_the_clock() {
    let sim = CjSim::start(13).await.unwrap();
    let now = Arc::new(Mutex::new(OffsetDateTime::now_utc()));
    let clock = Arc::clone(&now);
    let client = client(&sim).with_clock(move || *clock.lock().unwrap());
    client.freight(&freight_request(&sim)).await.unwrap();
    // 14 days 23 h 30 min later: within the renewal margin of the 15-day token.
    *now.lock().unwrap() += time::Duration::days(15) - time::Duration::minutes(30);
    client.freight(&freight_request(&sim)).await.unwrap();
    assert_eq!((sim.token_grants(), sim.token_refreshes()), (1, 1));
    // A year later the refresh token (180 days) is over too: a new pair from the API key.
    *now.lock().unwrap() += time::Duration::days(365);
    client.freight(&freight_request(&sim)).await.unwrap();
    assert_eq!((sim.token_grants(), sim.token_refreshes()), (2, 1));
}

#[tokio::test]
async fn wrong_api_key_is_a_credentials_error_not_retried() {
    let sim = CjSim::start(14).await.unwrap();
    let client = CjClient::new(sim.base_url(), "CJ0000@api@wrongkey").unwrap();
    let error = client.freight(&freight_request(&sim)).await.unwrap_err();
    assert!(
        matches!(error, CjError::Credentials { code: 1_600_005, .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(!error.needs_new_token());
    assert!(!error.to_string().contains("wrongkey"));
    assert_eq!(sim.token_grants(), 0);
}

#[tokio::test]
async fn freight_is_read_into_quotes() {
    let sim = CjSim::start(15).await.unwrap();
    let quotes = client(&sim).freight(&freight_request(&sim)).await.unwrap();
    assert_eq!(quotes.len(), 4);
    let usps = quotes.iter().find(|q| q.logistic_name == "USPS+").unwrap();
    // 80 g + 2 × 200 g = 480 g: the simulator's 3.71 USD base and 0.50 per 100 g started.
    let usd = Currency::parse("USD").unwrap();
    let cny = Currency::parse("CNY").unwrap();
    assert_eq!(usps.price, Money::new(621, usd));
    assert_eq!(usps.price_cny, Some(Money::new(4024, cny)));
    let aging = usps.aging.unwrap();
    assert_eq!((aging.min, aging.max), (2, 5));
    // A variant CJ does not sell is refused as a parameter error naming it.
    let mut bad = freight_request(&sim);
    bad.lines[0].vid = "no-such-vid".into();
    let error = client(&sim).freight(&bad).await.unwrap_err();
    assert!(matches!(error, CjError::Invalid { code: 1_600_100, .. }), "{error:?}");
    assert!(error.to_string().contains("products[0].vid"), "{error}");
}

#[tokio::test]
async fn creating_twice_with_one_order_number_makes_one_order() {
    let sim = CjSim::start(16).await.unwrap();
    let client = client(&sim);
    let first = client.create_order("DUP-1", &order(&sim)).await.unwrap();
    let second = client.create_order("DUP-1", &order(&sim)).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(sim.orders().len(), 1);
    let detail = client.order_detail(&first).await.unwrap().unwrap();
    assert_eq!(detail.order_number.as_deref(), Some("DUP-1"));
    assert_eq!(detail.status.as_deref(), Some("CREATED"));
    assert_eq!(detail.logistic_name.as_deref(), Some("USPS+"));
    assert_eq!(client.order_detail("SD-unknown").await.unwrap(), None);
}

#[tokio::test]
async fn lost_create_answer_is_retryable_and_the_order_is_found_by_number() {
    let sim = CjSim::start(17).await.unwrap();
    let client = client(&sim);
    assert_eq!(client.order_by_number("LOST-1").await.unwrap(), None);
    sim.lose_next_create_response();
    let error = client.create_order("LOST-1", &order(&sim)).await.unwrap_err();
    assert!(matches!(error, CjError::Transport(_)), "{error:?}");
    assert!(error.is_retryable());
    // The caller looks before sending again, and finds the order: nothing is sent twice.
    let found = client
        .order_by_number("LOST-1")
        .await
        .unwrap()
        .expect("the order was created");
    let orders = sim.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(found.order_id, orders[0].order_id);
    assert_eq!(orders[0].order_number, "LOST-1");
}

#[tokio::test]
async fn server_error_is_retryable_and_creates_nothing() {
    let sim = CjSim::start(18).await.unwrap();
    let client = client(&sim);
    client.freight(&freight_request(&sim)).await.unwrap();
    sim.fail_next(1);
    let error = client.create_order("E-1", &order(&sim)).await.unwrap_err();
    assert!(matches!(error, CjError::Unavailable { code: 500, .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(sim.orders().is_empty());
    // The next attempt goes through.
    client.create_order("E-1", &order(&sim)).await.unwrap();
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn unreachable_cj_is_a_retryable_transport_error() {
    let sim = CjSim::start(19).await.unwrap();
    let base = sim.base_url().to_string();
    let key = sim.api_key().to_string();
    drop(sim);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let client = CjClient::new(&base, &key).unwrap().with_timeout(Duration::from_secs(2));
    let error = client.order_detail("X").await.unwrap_err();
    assert!(matches!(error, CjError::Transport(_)), "{error:?}");
    assert!(error.is_retryable());
    assert!(!error.to_string().contains(&key));
}

#[tokio::test]
async fn bad_order_input_is_refused_before_sending() {
    let sim = CjSim::start(20).await.unwrap();
    let client = client(&sim);
    let long = "N".repeat(41);
    assert!(matches!(
        client.create_order(&long, &order(&sim)).await,
        Err(CjError::Malformed(_))
    ));
    assert!(matches!(
        client.create_order(" ", &order(&sim)).await,
        Err(CjError::Malformed(_))
    ));
    let mut missing = order(&sim);
    missing.logistic_name = "Pigeon".into();
    let error = client.create_order("B-1", &missing).await.unwrap_err();
    assert!(error.to_string().contains("logisticName"), "{error}");
    assert!(sim.orders().is_empty());
}

fn usd(cents: i64) -> Money {
    Money::new(cents, Currency::parse("USD").unwrap())
}

/// An order of `quantity` × `vid`, shipped by `method`, with this `payType`.
fn order_of(sim: &CjSim, vid: &str, quantity: u32, method: &str, pay_type: u8) -> OrderRequest {
    let mut order = order(sim);
    order.lines = vec![Line {
        vid: vid.to_string(),
        quantity,
    }];
    order.logistic_name = method.to_string();
    order.pay_type = Some(pay_type);
    order
}

/// A 22-digit USPS number whose last digit is the mod-10 check of the others (weights 3, 1
/// from the right), computed here independently of the simulator.
fn is_usps_number(number: &str) -> bool {
    if number.len() != 22 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = number.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits[..21]
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| d * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10 == digits[21]
}

/// A UPU S10 number (2 letters, 8 digits, mod-11 check digit, country), checked here.
fn is_s10_number(number: &str) -> bool {
    let bytes = number.as_bytes();
    if bytes.len() != 13
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..11].iter().all(u8::is_ascii_digit)
        || !bytes[11..].iter().all(u8::is_ascii_uppercase)
    {
        return false;
    }
    let sum: u32 = bytes[2..10]
        .iter()
        .zip([8, 6, 4, 2, 3, 5, 9, 7])
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c,
    };
    u32::from(bytes[10] - b'0') == check
}

#[tokio::test]
async fn create_answer_late_past_the_timeout_is_transport_and_the_order_exists_once() {
    let sim = CjSim::start(30).await.unwrap();
    let client = client(&sim).with_timeout(Duration::from_millis(250));
    client.freight(&freight_request(&sim)).await.unwrap();
    sim.fault_on(CREATE, Fault::Delay(Duration::from_secs(1)));
    let error = client.create_order("SLOW-1", &order(&sim)).await.unwrap_err();
    assert!(
        matches!(&error, CjError::Transport(m) if m.contains("timed out")),
        "{error:?}"
    );
    assert!(error.is_retryable() && error.outcome_unknown());
    // The creation was carried out although its answer never arrived in time.
    let found = client.order_by_number("SLOW-1").await.unwrap().expect("created");
    assert_eq!(sim.orders().len(), 1);
    assert_eq!(sim.orders()[0].order_id, found.order_id);
    // Even a caller that sends the creation again gets the one order, not a second.
    let again = client.create_order("SLOW-1", &order(&sim)).await.unwrap();
    assert_eq!(again, found.order_id);
    assert_eq!(sim.orders().len(), 1);
    assert_eq!(sim.calls(CREATE), 2);
}

#[tokio::test]
async fn late_answer_to_any_call_times_out_then_calls_go_through() {
    let sim = CjSim::start(31).await.unwrap();
    let client = client(&sim).with_timeout(Duration::from_millis(250));
    let vid = sim.variants()[1].vid.clone();
    assert_eq!(client.stock(&vid).await.unwrap(), Some(100));
    sim.delay_next(1, Duration::from_secs(1));
    assert!(matches!(client.stock(&vid).await, Err(CjError::Transport(_))));
    assert_eq!(client.stock(&vid).await.unwrap(), Some(100));
    assert_eq!(sim.calls(STOCK), 3);
}

#[tokio::test]
async fn http_429_is_rate_limited_with_its_retry_after() {
    let sim = CjSim::start(32).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[0].vid.clone();
    // Even the very first call, for the token, is read as a rate limit.
    sim.rate_limit_next(1, 7);
    let error = client.variant(&vid).await.unwrap_err();
    assert_eq!(
        error,
        CjError::RateLimited {
            code: 429,
            message: "HTTP 429 Too Many Requests to POST /authentication/getAccessToken".into(),
            retry_after: Some(Duration::from_secs(7)),
        }
    );
    assert_eq!(sim.token_grants(), 0);
    client.variant(&vid).await.unwrap().expect("known variant");
    sim.rate_limit_next(2, 30);
    let error = client.variant(&vid).await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    assert!(error.is_retryable() && !error.needs_new_token() && !error.outcome_unknown());
    // Without a Retry-After the wait is unknown.
    sim.clear_faults();
    sim.fault_on(VARIANT, Fault::RateLimited { retry_after_secs: None });
    let error = client.variant(&vid).await.unwrap_err();
    assert!(
        matches!(error, CjError::RateLimited { retry_after: None, .. }),
        "{error:?}"
    );
    client.variant(&vid).await.unwrap().expect("then it answers");
}

#[tokio::test]
async fn a_body_that_is_not_cjs_envelope_is_malformed() {
    let sim = CjSim::start(33).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[0].vid.clone();
    client.variant(&vid).await.unwrap();
    sim.malformed_next(1);
    let error = client.stock(&vid).await.unwrap_err();
    assert!(
        matches!(&error, CjError::Malformed(m) if m.starts_with("body is not JSON")),
        "{error:?}"
    );
    assert!(!error.is_retryable() && error.outcome_unknown());
    sim.fault_on(DETAIL, Fault::Malformed);
    assert!(matches!(client.order_detail("X").await, Err(CjError::Malformed(_))));
}

#[tokio::test]
async fn malformed_create_answer_is_resolved_by_looking_the_order_up() {
    let sim = CjSim::start(34).await.unwrap();
    let client = client(&sim);
    sim.fault_on(CREATE, Fault::Malformed);
    let id = client.create_order("CUT-1", &order(&sim)).await.unwrap();
    assert_eq!(sim.orders().len(), 1);
    assert_eq!(sim.orders()[0].order_id, id);
    assert_eq!(sim.calls(DETAIL), 1, "one look-up by number");
    // A cut answer to a creation that was refused stays the error.
    sim.set_stock(&sim.variants()[0].vid, 0);
    sim.fault_on(CREATE, Fault::Malformed);
    let error = client.create_order("CUT-2", &order(&sim)).await.unwrap_err();
    assert!(matches!(error, CjError::Malformed(_)), "{error:?}");
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn each_step_of_placement_can_fail_alone() {
    let sim = CjSim::start(35).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[2].vid.clone();
    // Look-up fails, creation and detail are untouched.
    sim.fault_on(VARIANT, Fault::ServerError);
    let error = client.variant(&vid).await.unwrap_err();
    assert!(matches!(error, CjError::Unavailable { code: 500, .. }), "{error:?}");
    let info = client.variant(&vid).await.unwrap().unwrap();
    let id = client
        .create_order("STEP-1", &order_of(&sim, &vid, 1, "USPS+", 3))
        .await
        .unwrap();
    // Detail fails once; the order is there all the same.
    sim.fault_on(DETAIL, Fault::LoseResponse);
    let error = client.order_detail(&id).await.unwrap_err();
    assert!(matches!(error, CjError::Transport(_)), "{error:?}");
    let detail = client.order_detail(&id).await.unwrap().unwrap();
    assert_eq!(detail.lines[0].sell_price, Some(info.sell_price));
    // A business refusal aimed at creation.
    sim.reject_next_create(1_603_999, "Order intercepted by risk control");
    let error = client
        .create_order("STEP-2", &order_of(&sim, &vid, 1, "USPS+", 3))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CjError::Rejected {
            code: 1_603_999,
            message: "Order intercepted by risk control".into()
        }
    );
    assert_eq!(sim.orders().len(), 1);
    assert_eq!(
        (sim.calls(VARIANT), sim.calls(CREATE), sim.calls(DETAIL)),
        (2, 2, 3),
        "the refusal was checked against an order with its number"
    );
}

#[tokio::test]
async fn an_order_over_stock_is_a_typed_rejection_and_creates_nothing() {
    let sim = CjSim::start(36).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[0].vid.clone();
    sim.set_stock(&vid, 2);
    let error = client
        .create_order("STOCK-1", &order_of(&sim, &vid, 3, "USPS+", 3))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CjError::Rejected { code, .. } if *code == CjSim::OUT_OF_STOCK_CODE),
        "{error:?}"
    );
    assert!(!error.is_retryable() && !error.outcome_unknown());
    assert!(sim.orders().is_empty());
    assert_eq!(client.stock(&vid).await.unwrap(), Some(2));
    client
        .create_order("STOCK-2", &order_of(&sim, &vid, 2, "USPS+", 3))
        .await
        .unwrap();
    assert_eq!(client.stock(&vid).await.unwrap(), Some(0));
}

#[tokio::test]
async fn a_refused_destination_has_no_method_and_no_order() {
    let sim = CjSim::start(37).await.unwrap();
    let client = client(&sim);
    sim.refuse_country("US");
    assert!(client.freight(&freight_request(&sim)).await.unwrap().is_empty());
    let error = client.create_order("DEST-1", &order(&sim)).await.unwrap_err();
    assert!(
        matches!(&error, CjError::Rejected { code, .. } if *code == CjSim::COUNTRY_REFUSED_CODE),
        "{error:?}"
    );
    assert!(sim.orders().is_empty());
}

#[tokio::test]
async fn sku_drift_is_seen_by_variant_and_stock() {
    let sim = CjSim::start(38).await.unwrap();
    let client = client(&sim);
    let known = sim.variants()[1].clone();
    let info = client.variant(&known.vid).await.unwrap().expect("sold");
    assert_eq!(info.vid, known.vid);
    assert_eq!(info.sku, known.sku);
    assert_eq!(info.sell_price, usd(known.price_cents));
    // The price moves: seen exactly, in cents.
    sim.set_price(&known.vid, 1_099);
    assert_eq!(
        client.variant(&known.vid).await.unwrap().unwrap().sell_price,
        usd(1_099)
    );
    // CJ stops selling it: no data, no stock, and an order for it is refused.
    sim.remove_variant(&known.vid);
    assert_eq!(client.variant(&known.vid).await.unwrap(), None);
    assert_eq!(client.stock(&known.vid).await.unwrap(), None);
    let error = client
        .create_order("DRIFT-1", &order_of(&sim, &known.vid, 1, "USPS+", 3))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CjError::Rejected { code, .. } if *code == CjSim::VARIANT_UNAVAILABLE_CODE),
        "{error:?}"
    );
    assert_eq!(client.variant("no-such-vid").await.unwrap(), None);
    assert!(matches!(client.variant("  ").await, Err(CjError::Malformed(_))));
    assert_eq!(sim.calls(VARIANT), 4, "a blank vid is never sent");
}

#[tokio::test]
async fn stock_sums_the_warehouses_and_follows_orders_and_cancellations() {
    let sim = CjSim::start(39).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[0].vid.clone();
    sim.set_stock(&vid, 41);
    let warehouses = client.stock_by_warehouse(&vid).await.unwrap().unwrap();
    let countries: Vec<_> = warehouses.iter().map(|w| w.country_code.as_deref()).collect();
    assert_eq!(countries, [Some("CN"), Some("US")]);
    assert_eq!(warehouses.iter().map(|w| w.quantity).sum::<u32>(), 41);
    assert_eq!(client.stock(&vid).await.unwrap(), Some(41));
    let id = client
        .create_order("ST-1", &order_of(&sim, &vid, 3, "USPS+", 3))
        .await
        .unwrap();
    assert_eq!(client.stock(&vid).await.unwrap(), Some(38));
    assert_eq!(client.cancel_order(&id).await.unwrap(), CancelOutcome::Cancelled);
    assert_eq!(client.stock(&vid).await.unwrap(), Some(41));
}

#[tokio::test]
async fn order_status_amounts_and_tracking_move_with_the_clock() {
    let sim = CjSim::start(40).await.unwrap();
    let client = client(&sim);
    let variant = sim.variants()[1].clone();
    let id = client
        .create_order("LIFE-1", &order_of(&sim, &variant.vid, 2, "USPS+", 2))
        .await
        .unwrap();
    let detail = client.order_detail(&id).await.unwrap().unwrap();
    assert_eq!(detail.state, Some(CjOrderStatus::Created));
    assert_eq!(detail.order_number.as_deref(), Some("LIFE-1"));
    assert_eq!(detail.track_number, None);
    let product = usd(2 * variant.price_cents);
    assert_eq!(detail.product_amount, Some(product));
    let postage = detail.postage_amount.unwrap();
    assert_eq!(detail.order_amount, Some(product.checked_add(postage).unwrap()));
    assert_eq!(sim.orders()[0].postage_cents, postage.minor);
    assert_eq!(detail.lines.len(), 1);
    assert_eq!(
        (detail.lines[0].vid.as_str(), detail.lines[0].quantity),
        (variant.vid.as_str(), 2)
    );
    // A price change later does not change what the order costs.
    sim.set_price(&variant.vid, variant.price_cents + 500);

    sim.advance(Duration::from_secs(2 * 3600));
    let paid = client.order_detail(&id).await.unwrap().unwrap();
    assert_eq!(paid.state, Some(CjOrderStatus::Unshipped));
    assert_eq!(paid.product_amount, Some(product));

    sim.advance_days(2);
    let shipped = client.order_detail(&id).await.unwrap().unwrap();
    assert_eq!(shipped.state, Some(CjOrderStatus::Shipped));
    let number = shipped.track_number.clone().expect("a tracking number once shipped");
    assert!(is_usps_number(&number), "{number}");
    let tracks = client.track_info(&[number.as_str()]).await.unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].tracking_number, number);
    assert_eq!(tracks[0].status.as_deref(), Some("Info received"));
    assert_eq!(tracks[0].delivery_time, None);

    sim.advance_days(2);
    let tracks = client.track_info(&[number.as_str()]).await.unwrap();
    assert_eq!(tracks[0].status.as_deref(), Some("In transit"));
    assert_eq!(tracks[0].delivery_days, Some(2));

    sim.advance_days(3);
    let delivered = client.order_detail(&id).await.unwrap().unwrap();
    assert_eq!(delivered.state, Some(CjOrderStatus::Delivered));
    let tracks = client.track_info(&[number.as_str()]).await.unwrap();
    assert_eq!(tracks[0].status.as_deref(), Some("Delivered"));
    assert_eq!(tracks[0].delivery_days, Some(5));
    assert!(tracks[0].delivery_time.is_some());
}

#[tokio::test]
async fn an_order_created_without_payment_waits_until_paid() {
    let sim = CjSim::start(41).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[0].vid.clone();
    let id = client
        .create_order("WAIT-1", &order_of(&sim, &vid, 1, "China Post Registered Air Mail", 3))
        .await
        .unwrap();
    sim.advance_days(10);
    let state = |detail: Option<dropline_connect::cj::client::OrderDetail>| detail.unwrap().state;
    assert_eq!(
        state(client.order_detail(&id).await.unwrap()),
        Some(CjOrderStatus::Created)
    );
    assert!(sim.pay(&id));
    assert!(!sim.pay(&id), "paid once");
    sim.advance_days(3);
    let shipped = client.order_detail(&id).await.unwrap().unwrap();
    assert_eq!(shipped.state, Some(CjOrderStatus::Shipped));
    let number = shipped.track_number.unwrap();
    assert!(is_s10_number(&number) && number.ends_with("CN"), "{number}");
}

#[tokio::test]
async fn tracking_numbers_are_sent_in_batches_and_unknown_ones_left_out() {
    let sim = CjSim::start(42).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[0].vid.clone();
    client
        .create_order("TR-1", &order_of(&sim, &vid, 1, "CJPacket Ordinary", 2))
        .await
        .unwrap();
    sim.advance_days(3);
    let number = sim.orders()[0].track_number.clone().unwrap();
    assert!(
        number.starts_with("CJPKL")
            && number.len() == 17
            && number[5..15].bytes().all(|b| b.is_ascii_digit())
            && number[15..].bytes().all(|b| b.is_ascii_uppercase()),
        "{number}"
    );
    let mut numbers: Vec<String> = (0..24).map(|i| format!("CJPKL{i:010}ZZ")).collect();
    numbers.push(number.clone());
    let tracks = client.track_info(&numbers).await.unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].tracking_number, number);
    assert_eq!(tracks[0].logistic_name.as_deref(), Some("CJPacket Ordinary"));
    assert_eq!(tracks[0].to_country.as_deref(), Some("US"));
    assert_eq!(sim.calls(TRACK), 2, "25 numbers in calls of 20");
    assert_eq!(client.track_info::<&str>(&[]).await.unwrap(), vec![]);
    assert!(matches!(
        client.track_info(&["A", " "]).await,
        Err(CjError::Malformed(_))
    ));
    assert_eq!(sim.calls(TRACK), 2);
}

#[tokio::test]
async fn list_orders_pages_through_every_order_for_reconciliation() {
    let sim = CjSim::start(43).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[0].vid.clone();
    let mut known = BTreeSet::new();
    for i in 1..=5 {
        let number = format!("REC-{i}");
        client
            .create_order(&number, &order_of(&sim, &vid, 1, "USPS+", 3))
            .await
            .unwrap();
        known.insert(number);
    }
    // One more order reaches CJ while its answer is lost: dropline does not know it.
    sim.lose_next_create_response();
    assert!(client.create_order("REC-6", &order(&sim)).await.is_err());
    known.remove("REC-6");

    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let answer = client.list_orders(page, 2).await.unwrap();
        assert_eq!((answer.page, answer.page_size, answer.total), (page, 2, Some(6)));
        assert!(answer.orders.len() <= 2);
        seen.extend(answer.orders.iter().map(|o| {
            assert_eq!(o.state, Some(CjOrderStatus::Created));
            assert!(o.order_amount.is_some());
            o.order_number.clone().unwrap()
        }));
        if !answer.has_more() {
            break;
        }
        page += 1;
    }
    assert_eq!(page, 3);
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[0], "REC-6", "newest first");
    let unknown: Vec<_> = seen.iter().filter(|n| !known.contains(*n)).collect();
    assert_eq!(unknown, ["REC-6"]);
    assert!(client.list_orders(4, 2).await.unwrap().orders.is_empty());

    // Filtered by status.
    let first = sim.order("REC-1").unwrap().order_id;
    assert_eq!(client.cancel_order(&first).await.unwrap(), CancelOutcome::Cancelled);
    let cancelled = client
        .list_orders_by_status(CjOrderStatus::Cancelled, 1, 50)
        .await
        .unwrap();
    let numbers: Vec<_> = cancelled.orders.iter().map(|o| o.order_number.as_deref()).collect();
    assert_eq!(numbers, [Some("REC-1")]);

    // Bad paging is refused before anything is sent.
    let calls = sim.calls(LIST);
    assert!(matches!(client.list_orders(0, 10).await, Err(CjError::Malformed(_))));
    assert!(matches!(client.list_orders(1, 51).await, Err(CjError::Malformed(_))));
    assert!(matches!(client.list_orders(1, 0).await, Err(CjError::Malformed(_))));
    assert!(matches!(
        client.list_orders_by_status(CjOrderStatus::Unknown, 1, 10).await,
        Err(CjError::Malformed(_))
    ));
    assert_eq!(sim.calls(LIST), calls);
}

#[tokio::test]
async fn cancel_before_shipping_works_and_after_shipping_is_refused() {
    let sim = CjSim::start(44).await.unwrap();
    let client = client(&sim);
    let vid = sim.variants()[0].vid.clone();
    let unpaid = client
        .create_order("CAN-1", &order_of(&sim, &vid, 1, "USPS+", 3))
        .await
        .unwrap();
    assert_eq!(client.cancel_order(&unpaid).await.unwrap(), CancelOutcome::Cancelled);
    let detail = client.order_detail(&unpaid).await.unwrap().unwrap();
    assert_eq!(detail.state, Some(CjOrderStatus::Cancelled));
    assert_eq!(detail.status.as_deref(), Some("CANCELLED"));
    // Asking again (an answer lost the first time) is not an error.
    assert_eq!(client.cancel_order(&unpaid).await.unwrap(), CancelOutcome::Cancelled);

    let paid = client
        .create_order("CAN-2", &order_of(&sim, &vid, 1, "USPS+", 2))
        .await
        .unwrap();
    sim.advance_days(3);
    assert_eq!(
        client.order_detail(&paid).await.unwrap().unwrap().state,
        Some(CjOrderStatus::Shipped)
    );
    let outcome = client.cancel_order(&paid).await.unwrap();
    assert!(
        matches!(&outcome, CancelOutcome::Refused { code, message }
            if *code == CjSim::CANCEL_REFUSED_CODE && message.contains("SHIPPED")),
        "{outcome:?}"
    );
    assert_eq!(sim.order(&paid).unwrap().status, "SHIPPED");
    assert_eq!(client.cancel_order("SD-none").await.unwrap(), CancelOutcome::NotFound);
    // A cancellation whose answer is lost is a Transport error, and the order is cancelled.
    let third = client
        .create_order("CAN-3", &order_of(&sim, &vid, 1, "USPS+", 3))
        .await
        .unwrap();
    sim.fault_on(DELETE, Fault::LoseResponse);
    let error = client.cancel_order(&third).await.unwrap_err();
    assert!(error.outcome_unknown(), "{error:?}");
    assert_eq!(sim.order(&third).unwrap().status, "CANCELLED");
    assert_eq!(sim.calls(DELETE), 5);
}
