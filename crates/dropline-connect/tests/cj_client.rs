//! The CJ client against the CJ simulator, over real HTTP.
#![allow(clippy::unwrap_used)]

use dropline_connect::cj::CjError;
use dropline_connect::cj::client::{CjClient, FreightRequest, Line, OrderRequest};
use dropline_domain::money::{Currency, Money};
use dropline_sim::CjSim;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

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
    assert_eq!(quotes.len(), 3);
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
