//! The AliExpress client against the AliExpress simulator, over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use dropline_connect::aliexpress::client::{AeAddress, AliExpressClient, PlaceItem, PlaceOrder, outcome_unknown};
use dropline_connect::aliexpress::orders::{AeOrderStatus, CREATE, FREIGHT, ORDER_GET, PRODUCT, TOKEN_REFRESH};
use dropline_connect::aliexpress::{AeError, RejectKind};
use dropline_domain::money::{Currency, Money};
use dropline_sim::{AeFault, AeSimProduct, AliExpressSim};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn client(sim: &AliExpressSim) -> AliExpressClient {
    AliExpressClient::new(sim.base_url(), sim.app_key(), sim.app_secret(), &sim.access_token())
        .unwrap()
        .with_timeout(Duration::from_secs(5))
}

fn address(country: &str) -> AeAddress {
    AeAddress {
        address: "1 Main St".into(),
        address2: Some("Apt 2".into()),
        city: "Fresno".into(),
        province: "California".into(),
        country: country.into(),
        zip: Some("93650".into()),
        full_name: Some("Ann Lee".into()),
        contact_person: Some("Ann Lee".into()),
        mobile_no: Some("5595550100".into()),
        phone_country: Some("+1".into()),
        locale: Some("en_US".into()),
        ..AeAddress::default()
    }
}

fn item(product: &AeSimProduct, sku: usize, count: u32, service: &str) -> PlaceItem {
    PlaceItem {
        product_id: product.product_id.clone(),
        product_count: count,
        sku_attr: product.skus[sku].sku_attr.clone(),
        logistics_service_name: Some(service.into()),
        order_memo: Some("dropline".into()),
    }
}

fn order(sim: &AliExpressSim, count: u32) -> PlaceOrder {
    PlaceOrder {
        address: address("US"),
        items: vec![item(&sim.products()[0], 0, count, "CAINIAO_STANDARD")],
        pay_currency: Some("USD".into()),
    }
}

/// An independent UPU S10 check: two letters, 8 digits, check digit, two letters.
fn valid_s10(number: &str) -> bool {
    let b = number.as_bytes();
    if b.len() != 13 || !b[..2].iter().all(u8::is_ascii_uppercase) || !b[11..].iter().all(u8::is_ascii_uppercase) {
        return false;
    }
    let digits: Vec<u32> = b[2..11].iter().map(|d| u32::from(d.wrapping_sub(b'0'))).collect();
    if digits.iter().any(|d| *d > 9) {
        return false;
    }
    let sum: u32 = digits[..8]
        .iter()
        .zip([8, 6, 4, 2, 3, 5, 9, 7])
        .map(|(d, w)| d * w)
        .sum();
    let check = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c,
    };
    check == digits[8]
}

#[tokio::test]
async fn happy_path_create_get_advance_track() {
    let sim = AliExpressSim::start(101).await.unwrap();
    let client = client(&sim);
    let seeded = sim.products()[0].clone();

    let product = client.product(&seeded.product_id, "US").await.unwrap().unwrap();
    assert_eq!(product.skus.len(), seeded.skus.len());
    let sku = product.sku(&seeded.skus[0].sku_id).unwrap();
    assert_eq!(sku.price, Money::new(seeded.skus[0].price_cents, usd()));
    assert_eq!(sku.sku_attr, seeded.skus[0].sku_attr);

    let options = client.freight(&seeded.product_id, &sku.sku_id, 2, "US").await.unwrap();
    let standard = options.iter().find(|o| o.service == "CAINIAO_STANDARD").unwrap();
    // The simulator's CAINIAO_STANDARD: 1.99 plus 0.50 a unit.
    assert_eq!(standard.cost, Money::new(299, usd()));
    assert_eq!((standard.min_days, standard.max_days), (Some(12), Some(20)));

    let ids = client.create_order("shop-1/1001", &order(&sim, 2)).await.unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(sim.orders()[0].order_id, ids[0]);
    assert_eq!(sim.orders()[0].out_order_id.as_deref(), Some("shop-1/1001"));

    let placed = client.order(&ids[0]).await.unwrap().unwrap();
    assert_eq!(placed.status, AeOrderStatus::PlaceOrderSuccess);
    assert!(placed.status.awaits_payment());
    assert!(placed.logistics.is_empty());
    let expected = sku.price.checked_mul(2).unwrap().checked_add(standard.cost).unwrap();
    assert_eq!(
        placed.amount,
        Some(expected),
        "order amount = 2 × price + freight, exactly"
    );

    sim.advance_days(1);
    let paid = client.order(&ids[0]).await.unwrap().unwrap();
    assert_eq!(paid.status, AeOrderStatus::WaitSellerSendGoods);
    assert_eq!(paid.status_text, "WAIT_SELLER_SEND_GOODS");

    sim.advance_days(2);
    let shipped = client.order(&ids[0]).await.unwrap().unwrap();
    assert_eq!(shipped.status, AeOrderStatus::WaitBuyerAcceptGoods);
    assert!(shipped.status.is_shipped());
    let parcel = &shipped.logistics[0];
    assert!(
        parcel.tracking_number.starts_with("LP")
            && parcel.tracking_number.len() == 16
            && parcel.tracking_number[2..].bytes().all(|b| b.is_ascii_digit()),
        "{}",
        parcel.tracking_number
    );
    let service = parcel.service.clone().unwrap();
    assert_eq!(service, "CAINIAO_STANDARD");

    let first = client
        .tracking(&ids[0], &parcel.tracking_number, &service, "US")
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(first[0].description.contains("accepted"), "{:?}", first[0]);
    sim.advance_days(15);
    let all = client
        .tracking(&ids[0], &parcel.tracking_number, &service, "US")
        .await
        .unwrap();
    assert!(all.len() > first.len());
    let delivered = all.last().unwrap();
    assert_eq!(delivered.status.as_deref(), Some("DELIVERED"));
    assert_eq!(delivered.signed_name.as_deref(), Some("Ann Lee"));
    assert!(delivered.date > first[0].date);
    assert_eq!(
        client.order(&ids[0]).await.unwrap().unwrap().status,
        AeOrderStatus::Finish
    );

    // A wrong number or country is refused, not answered with someone else's events.
    let wrong = client
        .tracking(&ids[0], "LP00000000000000", &service, "US")
        .await
        .unwrap_err();
    assert!(matches!(wrong, AeError::Rejected { .. }), "{wrong:?}");
    assert!(
        client
            .tracking(&ids[0], &parcel.tracking_number, &service, "GB")
            .await
            .is_err()
    );
    assert_eq!(client.order("8100000000000000").await.unwrap(), None);
}

#[tokio::test]
async fn items_of_two_stores_make_two_orders_and_china_post_numbers_are_s10() {
    let sim = AliExpressSim::start(102).await.unwrap();
    let client = client(&sim);
    let products = sim.products();
    let other_store = products.iter().find(|p| p.store_id != products[0].store_id).unwrap();
    let order = PlaceOrder {
        address: address("DE"),
        items: vec![
            item(&products[0], 0, 1, "CHINA_POST_REGISTERED_AIR_MAIL"),
            item(other_store, 0, 1, "CHINA_POST_REGISTERED_AIR_MAIL"),
        ],
        pay_currency: None,
    };
    let ids = client.create_order("shop-1/2002", &order).await.unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(sim.orders().len(), 2);
    sim.set_processing_days(0);
    sim.advance_days(1);
    for id in &ids {
        let shipped = client.order(id).await.unwrap().unwrap();
        let number = &shipped.logistics[0].tracking_number;
        assert!(
            valid_s10(number) && number.starts_with("RR") && number.ends_with("CN"),
            "{number}"
        );
    }
}

#[tokio::test]
async fn server_error_on_create_is_retryable_and_creates_nothing() {
    let sim = AliExpressSim::start(103).await.unwrap();
    let client = client(&sim);
    sim.fail_next(1);
    let error = client.create_order("E-1", &order(&sim, 1)).await.unwrap_err();
    assert!(
        matches!(&error, AeError::Unavailable { code, .. } if code == "HTTP 500"),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(sim.orders().is_empty());
    client.create_order("E-1", &order(&sim, 1)).await.unwrap();
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn a_fault_targeted_at_create_fails_only_that_step() {
    let sim = AliExpressSim::start(104).await.unwrap();
    let client = client(&sim);
    let product = sim.products()[0].clone();
    sim.inject(Some(CREATE), AeFault::ServerError, 2);
    // The steps before placement go through.
    client.product(&product.product_id, "US").await.unwrap().unwrap();
    client
        .freight(&product.product_id, &product.skus[0].sku_id, 1, "US")
        .await
        .unwrap();
    for _ in 0..2 {
        assert!(matches!(
            client.create_order("T-1", &order(&sim, 1)).await,
            Err(AeError::Unavailable { .. })
        ));
    }
    assert!(sim.orders().is_empty());
    client.create_order("T-1", &order(&sim, 1)).await.unwrap();
    assert_eq!(sim.calls(CREATE), 3);
    assert_eq!((sim.calls(PRODUCT), sim.calls(FREIGHT)), (1, 1));
}

#[tokio::test]
async fn rate_limits_carry_the_wait() {
    let sim = AliExpressSim::start(105).await.unwrap();
    let client = client(&sim);
    sim.rate_limit_next(1, 7);
    let error = client.create_order("R-1", &order(&sim, 1)).await.unwrap_err();
    assert_eq!(
        error,
        AeError::RateLimited {
            code: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(error.is_retryable());
    // AliExpress's own throttling answer: HTTP 200, `ApiCallLimit`, the ban in the text.
    sim.inject(Some(CREATE), AeFault::Throttled { ban_secs: 2 }, 1);
    let error = client.create_order("R-1", &order(&sim, 1)).await.unwrap_err();
    assert_eq!(
        error,
        AeError::RateLimited {
            code: "ApiCallLimit".into(),
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert!(sim.orders().is_empty());
    client.create_order("R-1", &order(&sim, 1)).await.unwrap();
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn malformed_answers_are_typed_and_a_resend_finds_the_order() {
    let sim = AliExpressSim::start(106).await.unwrap();
    let client = client(&sim);
    // A proxy's HTML page: nothing was done.
    sim.inject(Some(CREATE), AeFault::NotJson, 1);
    let error = client.create_order("M-1", &order(&sim, 1)).await.unwrap_err();
    assert!(
        matches!(&error, AeError::Malformed(m) if m.contains("not JSON")),
        "{error:?}"
    );
    assert!(sim.orders().is_empty());
    // JSON cut in half: the order was made, the answer cannot be read.
    sim.malformed_next(1);
    let error = client.create_order("M-1", &order(&sim, 1)).await.unwrap_err();
    assert!(matches!(error, AeError::Malformed(_)), "{error:?}");
    assert!(outcome_unknown(&error));
    assert!(!error.is_retryable());
    assert_eq!(sim.orders().len(), 1);
    let placed = client.place_order("M-1", &order(&sim, 1)).await.unwrap();
    assert!(placed.already_placed);
    assert_eq!(placed.order_ids, [sim.orders()[0].order_id.clone()]);
    assert_eq!(sim.orders().len(), 1);
    // Reading an order malformed too.
    sim.malformed_next(1);
    assert!(matches!(
        client.order(&placed.order_ids[0]).await,
        Err(AeError::Malformed(_))
    ));
}

#[tokio::test]
async fn a_timed_out_create_was_carried_out_and_is_found_by_resending() {
    let sim = AliExpressSim::start(107).await.unwrap();
    let client = client(&sim).with_timeout(Duration::from_millis(300));
    sim.delay_next(1, Duration::from_secs(2));
    let error = client.create_order("D-1", &order(&sim, 1)).await.unwrap_err();
    assert!(
        matches!(&error, AeError::Transport(m) if m.contains("timed out")),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(outcome_unknown(&error));
    assert_eq!(sim.orders().len(), 1, "the late answer's order exists");
    let ids = client.create_order("D-1", &order(&sim, 1)).await.unwrap();
    assert_eq!(ids, [sim.orders()[0].order_id.clone()]);
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn lost_create_answer_then_lookup_finds_exactly_one_order() {
    let sim = AliExpressSim::start(108).await.unwrap();
    let client = client(&sim);
    let sku = sim.products()[0].skus[0].clone();
    sim.lose_next_create_response();
    let error = client.create_order("L-1", &order(&sim, 3)).await.unwrap_err();
    assert!(matches!(error, AeError::Transport(_)), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(sim.orders().len(), 1);

    // The lookup: the same creation, the same out_order_id.
    let found = client.place_order("L-1", &order(&sim, 3)).await.unwrap();
    assert!(found.already_placed);
    assert_eq!(found.order_ids, [sim.orders()[0].order_id.clone()]);
    // And once more: still the one order, stock taken once.
    let again = client.create_order("L-1", &order(&sim, 3)).await.unwrap();
    assert_eq!(again, found.order_ids);
    assert_eq!(sim.orders().len(), 1);
    assert_eq!(sim.calls(CREATE), 3);
    assert_eq!(sim.sku(&sku.sku_id).unwrap().1.stock, sku.stock - 3);
    let detail = client.order(&again[0]).await.unwrap().unwrap();
    assert_eq!(detail.lines[0].count, Some(3));
}

#[tokio::test]
async fn after_the_idempotency_window_a_resend_would_create_a_second_order() {
    let sim = AliExpressSim::start(109).await.unwrap();
    let client = client(&sim);
    sim.lose_next_create_response();
    assert!(client.create_order("W-1", &order(&sim, 1)).await.is_err());
    // 24 hours later AliExpress no longer knows the key: why the engine must not resend then.
    sim.advance_days(1);
    let ids = client.create_order("W-1", &order(&sim, 1)).await.unwrap();
    assert_eq!(sim.orders().len(), 2);
    assert_eq!(ids, [sim.orders()[1].order_id.clone()]);
}

#[tokio::test]
async fn business_refusals_are_told_apart() {
    let sim = AliExpressSim::start(110).await.unwrap();
    let client = client(&sim);
    let product = sim.products()[0].clone();
    let stock = product.skus[0].stock;

    let error = client.create_order("B-1", &order(&sim, stock + 1)).await.unwrap_err();
    assert!(error.is_out_of_stock(), "{error:?}");
    assert_eq!(error.code(), Some("INVENTORY_HOLD_ERROR"));
    assert!(!error.is_retryable());

    let mut unknown_service = order(&sim, 1);
    unknown_service.items[0].logistics_service_name = Some("PIGEON_POST".into());
    let error = client.create_order("B-2", &unknown_service).await.unwrap_err();
    assert_eq!(error.reject_kind(), Some(RejectKind::ShippingMethod));
    assert_eq!(error.code(), Some("DELIVERY_METHOD_NOT_EXIST"));

    // EMS does not go to Brazil in the simulator: a method, not a destination, problem.
    let mut brazil = order(&sim, 1);
    brazil.address = AeAddress {
        country: "BR".into(),
        cpf: Some("52998224725".into()),
        ..address("BR")
    };
    brazil.items[0].logistics_service_name = Some("EMS".into());
    let error = client.create_order("B-3", &brazil).await.unwrap_err();
    assert_eq!(error.reject_kind(), Some(RejectKind::ShippingMethod));

    let mut nowhere = order(&sim, 1);
    nowhere.address.country = "KP".into();
    let error = client.create_order("B-4", &nowhere).await.unwrap_err();
    assert!(error.is_cannot_ship(), "{error:?}");
    assert!(
        client
            .freight(&product.product_id, &product.skus[0].sku_id, 1, "KP")
            .await
            .unwrap_err()
            .is_cannot_ship()
    );
    assert!(
        client
            .product(&product.product_id, "KP")
            .await
            .unwrap_err()
            .is_cannot_ship()
    );

    let mut no_city = order(&sim, 1);
    no_city.address.city = " ".into();
    let error = client.create_order("B-5", &no_city).await.unwrap_err();
    assert!(
        matches!(&error, AeError::Invalid { .. }),
        "refused before sending: {error:?}"
    );
    assert_eq!(sim.calls(CREATE), 4);

    let mut no_cpf = brazil.clone();
    no_cpf.address.cpf = None;
    no_cpf.items[0].logistics_service_name = Some("CAINIAO_STANDARD".into());
    let error = client.create_order("B-6", &no_cpf).await.unwrap_err();
    assert_eq!(error.reject_kind(), Some(RejectKind::AddressInvalid));

    sim.reject_next_create("USER_ACCOUNT_DISABLED");
    let error = client.create_order("B-7", &order(&sim, 1)).await.unwrap_err();
    assert_eq!(error.reject_kind(), Some(RejectKind::Account));
    sim.reject_next_create("INVENTORY_HOLD_ERROR");
    assert!(
        client
            .create_order("B-8", &order(&sim, 1))
            .await
            .unwrap_err()
            .is_out_of_stock()
    );

    assert!(sim.orders().is_empty());
    assert_eq!(sim.sku(&product.skus[0].sku_id).unwrap().1.stock, stock);
    // None of those used up the key: the next creation goes through.
    client.create_order("B-1", &order(&sim, 1)).await.unwrap();
}

#[tokio::test]
async fn price_stock_and_sku_drift_show_through_product() {
    let sim = AliExpressSim::start(111).await.unwrap();
    let client = client(&sim);
    let product = sim.products()[1].clone();
    let [first, second] = [&product.skus[0], &product.skus[1]];

    assert!(sim.set_price(&first.sku_id, 1_234));
    assert!(sim.set_stock(&second.sku_id, 0));
    let seen = client.product(&product.product_id, "US").await.unwrap().unwrap();
    let a = seen.sku(&first.sku_id).unwrap();
    assert_eq!(a.price, Money::new(1_234, usd()));
    // The simulator's list price is a third above the price paid.
    assert_eq!(a.list_price, Some(Money::new(1_234 + 411, usd())));
    assert!(a.available);
    let b = seen.sku(&second.sku_id).unwrap();
    assert_eq!((b.stock, b.available), (0, false));

    // Placing an order takes stock.
    let mut buy = order(&sim, 2);
    buy.items = vec![item(&product, 0, 2, "CAINIAO_STANDARD")];
    client.create_order("S-1", &buy).await.unwrap();
    let after = client.product(&product.product_id, "US").await.unwrap().unwrap();
    assert_eq!(after.sku(&first.sku_id).unwrap().stock, first.stock - 2);

    // The seller drops a variant: gone from product(), refused by freight and creation.
    assert!(sim.remove_sku(&first.sku_id));
    let drifted = client.product(&product.product_id, "US").await.unwrap().unwrap();
    assert!(drifted.sku(&first.sku_id).is_none());
    assert_eq!(drifted.skus.len(), product.skus.len() - 1);
    let error = client
        .freight(&product.product_id, &first.sku_id, 1, "US")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AeError::Rejected { .. }) && error.reject_kind() == Some(RejectKind::Other),
        "{error:?}"
    );
    let error = client.create_order("S-2", &buy).await.unwrap_err();
    assert_eq!(error.code(), Some("ERROR_WHEN_BUILD_FOR_PLACE_ORDER"));

    // The product itself goes.
    assert!(sim.remove_product(&product.product_id));
    assert_eq!(client.product(&product.product_id, "US").await.unwrap(), None);
}

#[tokio::test]
async fn refused_token_is_refreshed_once_and_the_call_sent_again() {
    let sim = AliExpressSim::start(112).await.unwrap();
    let client = client(&sim).with_refresh_token(&sim.refresh_token());
    let product = sim.products()[0].product_id.clone();
    let old = sim.access_token();
    sim.expire_access_token();
    client.product(&product, "US").await.unwrap().unwrap();
    assert_eq!(sim.token_refreshes(), 1);
    assert_ne!(sim.access_token(), old);
    assert_eq!(sim.calls(PRODUCT), 2, "refused once, then sent again");
    assert_eq!(sim.calls(TOKEN_REFRESH), 1);
    // The new token serves the next calls without another refresh.
    client.product(&product, "US").await.unwrap();
    assert_eq!(sim.token_refreshes(), 1);

    // A refresh that is refused too: the token error, after one try.
    sim.expire_access_token();
    sim.revoke_refresh_token();
    let error = client.product(&product, "US").await.unwrap_err();
    assert!(error.needs_new_token(), "{error:?}");
    assert_eq!(error.code(), Some("IllegalRefreshToken"));
    assert_eq!(sim.calls(TOKEN_REFRESH), 2);
    assert_eq!(sim.calls(PRODUCT), 4);
}

#[tokio::test]
async fn without_a_refresh_token_the_refusal_is_returned() {
    let sim = AliExpressSim::start(113).await.unwrap();
    let client = client(&sim);
    sim.expire_access_token();
    let error = client.order("8100000000000001").await.unwrap_err();
    assert!(
        matches!(&error, AeError::TokenInvalid { code, .. } if code == "IllegalAccessToken"),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(sim.calls(TOKEN_REFRESH), 0);
    assert_eq!(sim.calls(ORDER_GET), 1);
    assert!(!error.to_string().contains(&sim.access_token()));
}

#[tokio::test]
async fn a_token_near_its_known_expiry_is_refreshed_before_the_call() {
    let sim = AliExpressSim::start(114).await.unwrap();
    let now = Arc::new(Mutex::new(OffsetDateTime::now_utc()));
    let clock = Arc::clone(&now);
    let client = client(&sim)
        .with_refresh_token(&sim.refresh_token())
        .with_clock(move || *clock.lock().unwrap());
    let product = sim.products()[0].product_id.clone();
    sim.expire_access_token();
    client.product(&product, "US").await.unwrap();
    assert_eq!(sim.token_refreshes(), 1);
    // The refresh said 86 400 s; 23 h 55 min later the client renews first.
    *now.lock().unwrap() += time::Duration::hours(23) + time::Duration::minutes(55);
    client.product(&product, "US").await.unwrap();
    assert_eq!(sim.token_refreshes(), 2);
    assert_eq!(sim.calls(PRODUCT), 3, "no refused call before the second refresh");
}

#[tokio::test]
async fn bad_signature_and_unknown_app_key_are_credential_errors() {
    let sim = AliExpressSim::start(115).await.unwrap();
    let secret = "WrongSecretWrongSecretWrongSecret";
    let wrong_secret = AliExpressClient::new(sim.base_url(), sim.app_key(), secret, &sim.access_token()).unwrap();
    let error = wrong_secret.create_order("C-1", &order(&sim, 1)).await.unwrap_err();
    assert!(
        matches!(&error, AeError::Credentials { code, .. } if code == "IncompleteSignature"),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(!error.needs_new_token());
    assert!(!error.to_string().contains(secret));
    assert!(!format!("{wrong_secret:?}").contains(secret));

    let wrong_key = AliExpressClient::new(sim.base_url(), "999999", sim.app_secret(), &sim.access_token()).unwrap();
    let error = wrong_key
        .product(&sim.products()[0].product_id, "US")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AeError::Credentials { code, .. } if code == "InvalidAppKey"),
        "{error:?}"
    );
    assert!(sim.orders().is_empty());
    assert_eq!(sim.token_refreshes(), 0);
}

#[tokio::test]
async fn unreachable_gateway_is_a_retryable_transport_error() {
    let sim = AliExpressSim::start(116).await.unwrap();
    let (base, key, secret, token) = (
        sim.base_url().to_string(),
        sim.app_key().to_string(),
        sim.app_secret().to_string(),
        sim.access_token(),
    );
    drop(sim);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let client = AliExpressClient::new(&base, &key, &secret, &token)
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    let error = client.order("8100000000000001").await.unwrap_err();
    assert!(matches!(error, AeError::Transport(_)), "{error:?}");
    assert!(error.is_retryable());
    let text = error.to_string();
    assert!(!text.contains(&secret) && !text.contains(&token));
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let sim = AliExpressSim::start(117).await.unwrap();
    let client = client(&sim);
    for out_order_id in ["", "   ", &"x".repeat(65)] {
        let error = client.create_order(out_order_id, &order(&sim, 1)).await.unwrap_err();
        assert!(
            matches!(&error, AeError::Invalid { message, .. } if message.contains("out_order_id")),
            "{error:?}"
        );
    }
    let mut zero = order(&sim, 1);
    zero.items[0].product_count = 0;
    assert!(client.create_order("I-1", &zero).await.is_err());
    assert!(client.order("81-abc").await.is_err());
    assert!(client.product("1005", "usa").await.is_err());
    assert!(client.freight("1005", "1200", 0, "US").await.is_err());
    assert!(sim.call_counts().is_empty(), "{:?}", sim.call_counts());
}
