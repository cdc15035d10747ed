//! Conformance of the tracking-number checks with the public tracking-number data set in
//! `../shared/fixtures/tracking_number_data/` (read when it exists; skipped otherwise): every
//! valid S10, UPS `1Z` and 22-digit USPS number passes as its format, and no invalid one does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dropline_domain::tracking::{TrackingFormat, check_tracking_number};
use serde_json::Value;
use std::path::PathBuf;

fn courier(name: &str) -> Option<Vec<Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/tracking_number_data/couriers")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).ok()?;
    let value: Value = serde_json::from_str(&text).expect("the data set's JSON");
    let formats = match value {
        Value::Object(ref o) => o["tracking_numbers"].as_array().cloned().unwrap_or_default(),
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    Some(formats)
}

fn numbers<'a>(format: &'a Value, which: &str) -> impl Iterator<Item = String> + 'a {
    let which = which.to_string();
    format["test_numbers"][which.as_str()]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
}

/// A format, the data set's entries of it, and which of their numbers this module claims.
type Case = (TrackingFormat, Vec<Value>, fn(&str) -> bool);

fn compact(number: &str) -> String {
    number.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn the_data_sets_numbers_pass_or_fail_as_it_says() {
    let Some(s10) = courier("s10") else {
        println!("skipped: ../shared/fixtures/tracking_number_data is not here");
        return;
    };
    let mut checked = 0;
    let mut cases: Vec<Case> = vec![(TrackingFormat::S10, s10, |_| true)];
    if let Some(ups) = courier("ups") {
        // The `1Z` numbers; UPS's other formats have no check this module makes.
        let ones: Vec<Value> = ups.into_iter().filter(|f| f["name"] == "UPS").collect();
        cases.push((TrackingFormat::Ups, ones, |n| compact(n).len() == 18));
    }
    if let Some(usps) = courier("usps") {
        cases.push((TrackingFormat::Usps, usps, |n| {
            let n = compact(n);
            n.len() == 22 && n.starts_with('9') && n.chars().all(|c| c.is_ascii_digit())
        }));
    }
    for (expected, formats, claimed) in cases {
        for format in &formats {
            for number in numbers(format, "valid").filter(|n| claimed(n)) {
                assert_eq!(check_tracking_number(&number), Ok(expected), "valid {number}");
                checked += 1;
            }
            for number in numbers(format, "invalid").filter(|n| claimed(n)) {
                assert_ne!(check_tracking_number(&number), Ok(expected), "invalid {number}");
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "only {checked} numbers checked");
    println!("{checked} numbers of the data set checked");
}
