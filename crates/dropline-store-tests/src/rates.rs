//! Conformance cases of the operator's exchange-rate table.
//!
//! Behaviour the suite fixes where `ports.rs` is silent:
//! - a row with the same pair, effective date and set time as a stored one is a Conflict;
//! - a rate set for a later day is not in effect before that day.

use crate::builders::at;
use dropline_app::ports::{Backend, StoreError};
use dropline_domain::ledger::ExchangeRate;
use dropline_domain::money::Currency;
use std::sync::Arc;
use time::Date;
use time::macros::date;

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn rate(from: &str, to: &str, per_million: u64, effective_on: Date, set_at: i64) -> ExchangeRate {
    ExchangeRate {
        from: currency(from),
        to: currency(to),
        per_million,
        effective_on,
        set_at: at(set_at),
        set_by: "operator@example.com".into(),
    }
}

pub async fn exchange_rates_newest_effective_wins<B: Backend>(db: Arc<B>) {
    let (usd, eur) = (currency("USD"), currency("EUR"));
    assert_eq!(db.exchange_rate(usd, eur, date!(2026 - 12 - 10)).await.unwrap(), None);
    let december = rate("USD", "EUR", 920_000, date!(2026 - 12 - 01), 10);
    // Set later, but effective earlier: the December rate stays in effect in December.
    let november = rate("USD", "EUR", 900_000, date!(2026 - 11 - 01), 20);
    // Corrected on the same effective date: the one set last wins.
    let corrected = rate("USD", "EUR", 925_000, date!(2026 - 12 - 01), 30);
    let next_year = rate("USD", "EUR", 950_000, date!(2027 - 01 - 01), 40);
    let other_way = rate("EUR", "USD", 1_090_000, date!(2026 - 12 - 01), 50);
    for row in [&december, &november, &corrected, &next_year, &other_way] {
        db.insert_exchange_rate(row.clone()).await.unwrap();
    }
    let on = |day: Date| db.exchange_rate(usd, eur, day);
    assert_eq!(on(date!(2026 - 10 - 31)).await.unwrap(), None);
    assert_eq!(on(date!(2026 - 11 - 30)).await.unwrap(), Some(november.clone()));
    assert_eq!(on(date!(2026 - 12 - 01)).await.unwrap(), Some(corrected.clone()));
    assert_eq!(on(date!(2026 - 12 - 31)).await.unwrap(), Some(corrected.clone()));
    assert_eq!(on(date!(2027 - 06 - 01)).await.unwrap(), Some(next_year.clone()));
    assert_eq!(
        db.exchange_rate(eur, usd, date!(2026 - 12 - 02)).await.unwrap(),
        Some(other_way.clone())
    );
    assert_eq!(
        db.exchange_rate(usd, currency("GBP"), date!(2026 - 12 - 02))
            .await
            .unwrap(),
        None
    );
    // The same row twice is refused.
    assert!(matches!(
        db.insert_exchange_rate(corrected.clone()).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn exchange_rates_listing_by_pair_newest_first<B: Backend>(db: Arc<B>) {
    assert!(db.list_exchange_rates().await.unwrap().is_empty());
    let rows = [
        rate("USD", "EUR", 920_000, date!(2026 - 12 - 01), 10),
        rate("CNY", "EUR", 128_000, date!(2026 - 12 - 01), 11),
        rate("USD", "EUR", 950_000, date!(2027 - 01 - 01), 12),
        rate("USD", "EUR", 930_000, date!(2026 - 12 - 01), 13),
        rate("EUR", "USD", 1_090_000, date!(2026 - 11 - 01), 14),
    ];
    for row in &rows {
        db.insert_exchange_rate(row.clone()).await.unwrap();
    }
    let listed = db.list_exchange_rates().await.unwrap();
    assert_eq!(
        listed,
        vec![
            rows[1].clone(),
            rows[4].clone(),
            rows[2].clone(),
            rows[3].clone(),
            rows[0].clone()
        ]
    );
}
