//! `dropline tracking detect` run as a user runs it: a table for people, JSON for scripts, and
//! an exit code that says whether the number is valid for some carrier.

use serde_json::Value;
use std::process::{Command, Output, Stdio};

fn dropline(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_dropline"))
        .env_clear()
        .current_dir(dir.path())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dropline")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn detect_json(number: &str) -> (i32, Value) {
    let output = dropline(&["tracking", "detect", number, "--json"]);
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("no JSON for {number} ({err}): {}", text(&output.stdout)));
    (output.status.code().unwrap_or(-1), json)
}

#[test]
fn valid_numbers_name_their_carrier_and_exit_zero() {
    for (number, carrier) in [
        ("1Z5R89390357567127", "ups"),
        ("9400 1112 0108 0805 4830 16", "usps"),
        ("986578788855", "fedex"),
        ("RB123456785GB", "royal_mail"),
        ("YT2229521272164446", "yunexpress"),
    ] {
        let (code, json) = detect_json(number);
        assert_eq!(code, 0, "{number}: {json}");
        assert_eq!(json["carrier"], carrier, "{json}");
        assert_eq!(json["valid"], true, "{json}");
        assert_eq!(json["candidates"][0]["valid"], true, "{json}");
        assert!(
            json["candidates"][0]["tracking_url"]
                .as_str()
                .is_some_and(|url| url.starts_with("https://")),
            "{json}"
        );
    }
}

#[test]
fn a_bad_check_digit_is_flagged_with_exit_code_one() {
    let (code, json) = detect_json("rb123456786us");
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["tracking_number"], "RB123456786US");
    assert_eq!(json["valid"], false);
    assert_eq!(json["candidates"][0]["carrier"], "usps");
    assert_eq!(json["candidates"][0]["problem"]["kind"], "check_digit");
    assert_eq!(json["candidates"][0]["problem"]["expected"], "5");
    assert_eq!(json["candidates"][0]["problem"]["found"], "6");
}

#[test]
fn an_unknown_number_has_no_candidate() {
    let (code, json) = detect_json("HELLO-WORLD");
    assert_eq!(code, 1);
    assert_eq!(json["carrier"], Value::Null);
    assert_eq!(json["candidates"], serde_json::json!([]));

    let output = dropline(&["tracking", "detect", "HELLO-WORLD"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains("no carrier recognised"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn people_get_a_table_and_a_number_may_come_in_parts() {
    let output = dropline(&["tracking", "detect", "1Z", "5R89", "3903", "5756", "7127"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    for expected in [
        "1Z5R89390357567127",
        "CARRIER",
        "ups",
        "mod10",
        "yes",
        "best: ups (UPS), valid",
        "https://www.ups.com/track?tracknum=1Z5R89390357567127",
    ] {
        assert!(table.contains(expected), "{expected:?} missing from:\n{table}");
    }

    let bad = dropline(&["tracking", "detect", "1Z5R89390357567128"]);
    assert_eq!(bad.status.code(), Some(1));
    let table = text(&bad.stdout);
    assert!(
        table.contains("check digit is 8, the other characters give 7"),
        "{table}"
    );
    assert!(table.contains("valid for no carrier"), "{table}");

    let missing = dropline(&["tracking", "detect"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
}
