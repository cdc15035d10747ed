//! Conformance of carrier detection with the public tracking-number data set
//! jkeen/tracking_number_data (MIT), whose courier files are in
//! `../shared/fixtures/tracking_number_data/couriers/` (read when there; skipped otherwise).
//!
//! For every format of every courier file that dropline supports: each `valid` test number is
//! detected as that carrier (in that format) and valid; no `invalid` one is reported valid for
//! that carrier in that format. A format dropline does not support is listed as skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dropline_domain::carrier::{Detection, Format, detect_carrier};
use serde_json::Value;
use std::path::PathBuf;

/// What a format of the data set is in dropline: the carrier (`None`: the S10 operator of
/// the number's country) and the format (`None`: any of the carrier's; USPS's legacy, 20-digit
/// and IMpb forms overlap, and dropline reads them together).
struct Expected {
    carrier: Option<&'static str>,
    format: Option<Format>,
}

/// (courier file, format name in it) → what dropline calls it.
fn expected(courier: &str, name: &str) -> Option<Expected> {
    let of = |carrier: &'static str, format: Format| {
        Some(Expected {
            carrier: Some(carrier),
            format: Some(format),
        })
    };
    match (courier, name) {
        ("s10", _) => Some(Expected {
            carrier: None,
            format: Some(Format::S10),
        }),
        ("ups", "UPS") => of("ups", Format::Ups),
        ("ups", "UPS Waybill") => of("ups", Format::UpsWaybill),
        ("usps", _) => Some(Expected {
            carrier: Some("usps"),
            format: None,
        }),
        ("fedex", "FedEx Express (12)") => of("fedex", Format::FedexExpress12),
        ("fedex", "FedEx Express (34)") => of("fedex", Format::FedexExpress34),
        ("fedex", "FedEx ASTRA (32)") => of("fedex", Format::FedexAstra32),
        ("fedex", "FedEx Ground") => of("fedex", Format::FedexGround15),
        ("fedex", "FedEx Ground (SSCC-18)") => of("fedex", Format::FedexSscc18),
        ("fedex", "FedEx Ground 96 (22)") => of("fedex", Format::FedexGround96),
        ("fedex", "FedEx Ground GSN") => of("fedex", Format::FedexGsn),
        ("dhl", "DHL Express") => of("dhl_express", Format::DhlExpress),
        ("dhl", "DHL Express (Piece ID)") => of("dhl_express", Format::DhlExpressPiece),
        ("dhl", "DHL E-Commerce") => of("dhl_ecommerce", Format::DhlEcommerce),
        ("dhl", "DHL E-Commerce (14)") => of("dhl_ecommerce", Format::DhlEcommerce14),
        ("yunexpress", "YunExpress") => of("yunexpress", Format::YunExpress),
        ("amazon", "Amazon Logistics") => of("amazon", Format::AmazonLogistics),
        ("amazon", "Amazon International") => of("amazon", Format::AmazonInternational),
        ("canadapost", "Canada Post (16)") => of("canada_post", Format::CanadaPost16),
        ("canpar", "Canpar (22)") => of("canpar", Format::Canpar22),
        ("dpd", "DPD (28)") => of("dpd", Format::Dpd28),
        ("dpd", "DPD (14)") => of("dpd", Format::Dpd14),
        ("gofo", "GOFO Express (US)") => of("gofo", Format::GofoUs),
        ("landmark", "Landmark Global LTN") => of("landmark", Format::LandmarkLtn),
        ("lasership", "LaserShip LX") => of("lasership", Format::LasershipLx),
        ("lasership", "LaserShip 1LS7 (15)" | "LaserShip 1LS7 (18)") => of("lasership", Format::Lasership1ls7),
        ("lasership", "LaserShip 1LSCX (15)") => of("lasership", Format::Lasership1lscx),
        ("old_dominion", _) => of("old_dominion", Format::OldDominion),
        ("ontrac", "OnTrac") => of("ontrac", Format::OntracC),
        ("ontrac", "OnTrac D") => of("ontrac", Format::OntracD),
        ("purolator", "Purolator (12)") => of("purolator", Format::Purolator12),
        ("purolator", "Purolator (alpha + 9)") => of("purolator", Format::PurolatorAlpha),
        ("speedee", "Spee-Dee (20)") => of("speedee", Format::Speedee),
        ("yodel", "Yodel") => of("yodel", Format::Yodel),
        _ => None,
    }
}

impl Expected {
    /// Whether `detection` has a valid candidate of this carrier and format.
    fn valid_in(&self, detection: &Detection) -> bool {
        detection.candidates.iter().any(|c| {
            c.valid
                && self.carrier.is_none_or(|carrier| c.carrier == carrier)
                && self.format.is_none_or(|format| c.format == format)
        })
    }
}

fn data_set() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/tracking_number_data"
    ))
}

/// The formats of a courier file (an object with `tracking_numbers`, or a bare array).
fn formats(value: Value) -> Vec<Value> {
    match value {
        Value::Object(mut object) => match object.remove("tracking_numbers") {
            Some(Value::Array(formats)) => formats,
            _ => Vec::new(),
        },
        Value::Array(formats) => formats,
        _ => Vec::new(),
    }
}

fn numbers(format: &Value, which: &str) -> Vec<String> {
    format["test_numbers"][which]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_data_sets_numbers_are_detected_as_it_says() {
    let couriers = data_set().join("couriers");
    let Ok(entries) = std::fs::read_dir(&couriers) else {
        println!("skipped: {} does not exist", couriers.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();

    let (mut valid_checked, mut invalid_checked) = (0, 0);
    let mut failures = Vec::new();
    for file in &files {
        let courier = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(file).expect("a readable courier file");
        let value: Value = serde_json::from_str(&text).expect("the data set's JSON");
        for format in formats(value) {
            let name = format["name"].as_str().unwrap_or("?").to_string();
            let (valid, invalid) = (numbers(&format, "valid"), numbers(&format, "invalid"));
            let Some(expected) = expected(&courier, &name) else {
                println!(
                    "skipped {courier}/{name}: not supported ({} valid, {} invalid examples)",
                    valid.len(),
                    invalid.len()
                );
                continue;
            };
            let mut best = 0;
            for number in &valid {
                let detection = detect_carrier(number);
                if !expected.valid_in(&detection) {
                    failures.push(format!(
                        "{courier}/{name}: valid {number:?} not detected as valid: {:?}",
                        detection.candidates
                    ));
                }
                let first = detection.best().is_some_and(|c| {
                    expected.carrier.is_none_or(|carrier| c.carrier == carrier)
                        && expected.format.is_none_or(|format| c.format == format)
                });
                best += usize::from(first);
            }
            for number in &invalid {
                let detection = detect_carrier(number);
                if expected.valid_in(&detection) {
                    failures.push(format!(
                        "{courier}/{name}: invalid {number:?} reported valid: {:?}",
                        detection.candidates
                    ));
                } else if let Some(carrier) = expected.carrier.filter(|c| detection.is_valid_for(c)) {
                    println!("  note {courier}/{name}: invalid {number:?} is valid for {carrier} in another format");
                }
            }
            println!(
                "{courier}/{name}: {} valid ({best} as best candidate), {} invalid checked",
                valid.len(),
                invalid.len()
            );
            valid_checked += valid.len();
            invalid_checked += invalid.len();
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        valid_checked > 100 && invalid_checked > 40,
        "only {valid_checked} valid and {invalid_checked} invalid numbers checked"
    );
    println!(
        "{valid_checked} valid and {invalid_checked} invalid numbers of {} courier files checked",
        files.len()
    );
}
