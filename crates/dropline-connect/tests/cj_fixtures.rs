//! CJ's published example responses (shared fixtures, `cj/`) read through the CJ module.

use dropline_connect::cj::DayRange;
use dropline_connect::cj::envelope::{self, CjError};
use dropline_connect::cj::freight::{self, Area, FreightQuote, IossCharge, PartnerFreightQuote, RuleTip};
use dropline_connect::cj::tracking::{self, TrackInfo};
use dropline_domain::money::{Currency, Money};
use std::path::{Path, PathBuf};
use time::macros::datetime;

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/cj");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: shared fixtures not found at {}", dir.display());
        None
    }
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::parse("USD").expect("USD"))
}

fn cny(minor: i64) -> Money {
    Money::new(minor, Currency::parse("CNY").expect("CNY"))
}

/// Every file of the folder is one of the cases below, so a new fixture is not silently left out.
#[test]
fn every_fixture_is_covered() {
    let Some(dir) = fixtures() else { return };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "error_param_error_response.json",
            "freight_calculate_response.json",
            "freight_calculate_tip_response.json",
            "partner_freight_calculate_response.json",
            "track_info_response.json",
        ]
    );
}

#[test]
fn error_response() {
    let Some(dir) = fixtures() else { return };
    let body = read(&dir, "error_param_error_response.json");
    let error = envelope::parse::<serde_json::Value>(&body).expect_err("an error");
    assert_eq!(
        error,
        CjError::Invalid {
            code: 1_600_100,
            message: "Param error".into()
        }
    );
    assert!(!error.is_retryable());
    assert!(!error.needs_new_token());
    // The typed readers give the same error.
    assert_eq!(freight::parse_freight_calculate(&body), Err(error.clone()));
    assert_eq!(tracking::parse_track_info(&body), Err(error));
}

#[test]
fn freight_calculate() {
    let Some(dir) = fixtures() else { return };
    let quotes = freight::parse_freight_calculate(&read(&dir, "freight_calculate_response.json")).expect("quotes");
    assert_eq!(
        quotes,
        vec![FreightQuote {
            logistic_name: "USPS+".into(),
            price: usd(471),
            price_cny: Some(cny(3054)),
            aging: Some(DayRange { min: 2, max: 5 }),
        }]
    );
}

#[test]
fn freight_calculate_tip() {
    let Some(dir) = fixtures() else { return };
    let tips = freight::parse_freight_calculate_tip(&read(&dir, "freight_calculate_tip_response.json")).expect("tips");
    assert_eq!(tips.len(), 1);
    let tip = &tips[0];
    assert_eq!(tip.option_id, "1564849338719199233");
    assert_eq!(tip.logistic_name, "CJPacket Postal");
    assert_eq!(tip.logistic_name_cn.as_deref(), Some("CJ航空挂号小包"));
    assert_eq!(tip.arrival, Some(DayRange { min: 12, max: 50 }));
    assert_eq!(tip.postage, usd(355));
    assert_eq!(tip.postage_cny, Some(cny(2200)));
    assert_eq!(tip.discount_fee, Some(usd(409)));
    assert_eq!(tip.discount_fee_cny, Some(cny(2530)));
    assert_eq!(tip.wrap_postage, Some(usd(409)));
    assert_eq!(tip.wrap_postage_cny, Some(cny(2530)));
    assert_eq!(tip.remote_fee, Some(usd(0)));
    assert_eq!(tip.remote_fee_cny, Some(cny(0)));
    assert_eq!(
        tip.from,
        Some(Area {
            country_code: "CN".into(),
            name: Some("China".into())
        })
    );
    assert_eq!(
        tip.to,
        Some(Area {
            country_code: "US".into(),
            name: Some("United States of America (the)".into())
        })
    );
    assert_eq!(tip.error, None);
    assert!(
        tip.notice
            .as_deref()
            .is_some_and(|n| n.starts_with("Hi, CJ will not accept any disputes"))
    );
    assert_eq!(
        tip.rule_tips,
        vec![RuleTip {
            kind: "phone".into(),
            pattern: Some("^[\\s\\d\\-（）()+]{6,32}$".into()),
            message_code: Some("1001".into()),
            message: Some("Must be a 6-32 digit number (only numbers, symbols and spaces are supported).".into()),
        }]
    );
}

#[test]
fn partner_freight_calculate() {
    let Some(dir) = fixtures() else { return };
    let quotes = freight::parse_partner_freight_calculate(&read(&dir, "partner_freight_calculate_response.json"))
        .expect("quotes");
    assert_eq!(
        quotes,
        vec![PartnerFreightQuote {
            logistics_code: "YTGN".into(),
            logistic_name: "YTO China Domestic".into(),
            postage: usd(169),
            arrival: Some(DayRange { min: 2, max: 3 }),
            supports_ioss: false,
            // The one entry is all empty strings.
            ioss: Vec::<IossCharge>::new(),
        }]
    );
}

#[test]
fn track_info() {
    let Some(dir) = fixtures() else { return };
    let tracks = tracking::parse_track_info(&read(&dir, "track_info_response.json")).expect("tracking");
    assert_eq!(
        tracks,
        vec![TrackInfo {
            tracking_number: "CJPKL7160102171YQ".into(),
            logistic_name: Some("CJPacket Sensitive".into()),
            from_country: Some("CN".into()),
            to_country: Some("US".into()),
            delivery_days: Some(13),
            delivery_time: Some(datetime!(2021-06-17 07:04:04)),
            status: Some("In transit".into()),
            last_mile_carrier: Some("CJPacket".into()),
            last_mile_tracking_number: Some("926112903032124".into()),
        }]
    );
}

/// Each fixture's `data` also reads generically, and a success fixture read with the wrong
/// reader fails as malformed rather than passing.
#[test]
fn wrong_reader_is_malformed() {
    let Some(dir) = fixtures() else { return };
    let tracking_body = read(&dir, "track_info_response.json");
    assert!(matches!(
        freight::parse_freight_calculate(&tracking_body),
        Err(CjError::Malformed(m)) if m == "data[0].logisticPrice: missing"
    ));
    let freight_body = read(&dir, "freight_calculate_response.json");
    assert!(matches!(
        tracking::parse_track_info(&freight_body),
        Err(CjError::Malformed(m)) if m == "data[0].trackingNumber: missing"
    ));
}
