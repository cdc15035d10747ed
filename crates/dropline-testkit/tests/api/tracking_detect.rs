//! `POST /api/v1/tracking/detect`: the carriers of a tracking number, best first, with their
//! verdict; bad bodies are 422 naming the field; a token is needed; nothing is stored.

use dropline_testkit::{Api, TestApp, TestResponse};
use reqwest::Method;
use serde_json::{Value, json};

const PATH: &str = "/api/v1/tracking/detect";

async fn detect(api: &Api<'_>, number: &str) -> Value {
    api.post(PATH, &json!({ "tracking_number": number })).await.expect(200)
}

fn carriers(answer: &Value) -> Vec<(String, bool)> {
    answer["candidates"]
        .as_array()
        .unwrap_or_else(|| panic!("no candidates in {answer}"))
        .iter()
        .map(|c| {
            (
                c["carrier"].as_str().unwrap().to_string(),
                c["valid"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn numbers_of_several_carriers_are_detected(app: TestApp) {
    let seeded = app.seed().await;
    let before = app.snapshot().await;
    let store = app.with_token(&seeded.token);
    let admin = app.admin();
    for (number, carrier, format, url) in [
        (
            "1Z5R89390357567127",
            "ups",
            "ups",
            "https://www.ups.com/track?tracknum=1Z5R89390357567127",
        ),
        (
            "9400 1112 0108 0805 4830 16",
            "usps",
            "usps_impb",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111201080805483016",
        ),
        (
            "986578788855",
            "fedex",
            "fedex_express_12",
            "https://www.fedex.com/fedextrack/?trknbr=986578788855",
        ),
        (
            "3318810025",
            "dhl_express",
            "dhl_express",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=3318810025",
        ),
        (
            "rb123456785gb",
            "royal_mail",
            "s10",
            "https://www.royalmail.com/track-your-item#/tracking-results/RB123456785GB",
        ),
        (
            "LX473124829CN",
            "china_post",
            "s10",
            "https://t.17track.net/en#nums=LX473124829CN",
        ),
        (
            "YT2229521272164446",
            "yunexpress",
            "yunexpress",
            "https://www.yuntrack.com/parcelTracking?id=YT2229521272164446",
        ),
        (
            "LP00724622449605",
            "cainiao",
            "cainiao_lp",
            "https://global.cainiao.com/newDetail.htm?mailNoList=LP00724622449605",
        ),
    ] {
        for api in [&store, &admin] {
            let answer = detect(api, number).await;
            assert_eq!(answer["carrier"], carrier, "{number}: {answer}");
            assert_eq!(answer["valid"], true, "{number}: {answer}");
            let best = &answer["candidates"][0];
            assert_eq!(
                (&best["carrier"], &best["format"], &best["valid"], &best["tracking_url"]),
                (&json!(carrier), &json!(format), &json!(true), &json!(url)),
                "{number}: {answer}"
            );
            assert_eq!(best["reason"], Value::Null);
            assert_eq!(best["problem"], Value::Null);
        }
    }

    let s10 = detect(&store, "EE000000005CN").await;
    let best = &s10["candidates"][0];
    assert_eq!(
        (&best["carrier"], &best["service"], &best["country"], &best["checksum"]),
        (&json!("china_ems"), &json!("EMS"), &json!("CN"), &json!("s10")),
        "{s10}"
    );
    let ups = detect(&store, "1Z879E930346834440").await;
    assert_eq!(ups["candidates"][0]["service"], "Ground", "{ups}");
    let cj = detect(&store, "CJPKL7160102171YQ").await;
    assert_eq!(
        (&cj["carrier"], &cj["valid"], &cj["candidates"][0]["checksum"]),
        (&json!("cj_packet"), &json!(true), &json!("none")),
        "{cj}"
    );
    // Ambiguous: a USPS IMpb `92612…` number is also FedEx SmartPost's.
    let both = detect(&store, "9261292700768711948021").await;
    assert_eq!(
        carriers(&both),
        [("usps".to_string(), true), ("fedex".to_string(), true)],
        "{both}"
    );
    assert_eq!(before, app.snapshot().await, "nothing is stored");
}

async fn a_bad_check_digit_is_flagged_never_accepted(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);

    let ups = detect(&api, "1Z5R89390357567128").await;
    assert_eq!(
        (&ups["carrier"], &ups["valid"]),
        (&json!("ups"), &json!(false)),
        "{ups}"
    );
    let best = &ups["candidates"][0];
    assert_eq!(best["valid"], false);
    assert_eq!(best["reason"], "check digit is 8, the other characters give 7", "{ups}");
    assert_eq!(
        best["problem"],
        json!({"kind": "check_digit", "expected": "7", "found": "8"})
    );

    let s10 = detect(&api, "RB123456786US").await;
    assert_eq!(
        (&s10["carrier"], &s10["valid"]),
        (&json!("usps"), &json!(false)),
        "{s10}"
    );
    assert_eq!(carriers(&s10), [("usps".to_string(), false)]);

    let country = detect(&api, "RB123456785XX").await;
    assert_eq!(country["valid"], false);
    assert_eq!(
        country["candidates"][0]["problem"]["kind"], "unknown_country",
        "{country}"
    );
    assert_eq!(country["candidates"][0]["problem"]["found"], "XX");

    let short = detect(&api, "YT123456789012345").await;
    assert_eq!(
        (&short["carrier"], &short["valid"]),
        (&json!("yunexpress"), &json!(false))
    );
    assert_eq!(short["candidates"][0]["problem"]["kind"], "wrong_length", "{short}");

    let usps = detect(&api, "0307 1790 0005 2348 3742").await;
    assert_eq!(usps["valid"], false, "{usps}");
    assert!(carriers(&usps).iter().all(|(_, valid)| !valid), "{usps}");
}

async fn an_unknown_number_has_no_candidate(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    for number in ["HELLO", "2Z5R89390357567127", "12-34"] {
        let answer = detect(&api, number).await;
        assert_eq!(
            answer,
            json!({
                "tracking_number": number,
                "candidates": [],
                "carrier": null,
                "valid": false,
            })
        );
    }
}

fn assert_refused(answer: &TestResponse, reason: &str) {
    answer.expect_error(422, "invalid_input");
    assert_eq!(
        answer.field_errors(),
        [("tracking_number".to_string(), reason.to_string())],
        "{}",
        answer.text
    );
}

async fn bad_bodies_are_refused_naming_the_field(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let before = app.snapshot().await;
    for (body, reason) in [
        (json!({}), "is required"),
        (json!({"number": "1Z5R89390357567127"}), "is required"),
        (json!({"tracking_number": null}), "is required"),
        (json!({"tracking_number": 1234567890}), "must be a string"),
        (json!({"tracking_number": ["1Z5R89390357567127"]}), "must be a string"),
        (json!({"tracking_number": ""}), "must not be empty"),
        (json!({"tracking_number": "   "}), "must not be empty"),
        (
            json!({"tracking_number": "9".repeat(101)}),
            "must be at most 100 characters",
        ),
        (
            json!({"tracking_number": "1Z5R\u{0}89390357567127"}),
            "must not contain control characters",
        ),
    ] {
        assert_refused(&api.post(PATH, &body).await, reason);
    }
    // A body left out reads as `{}`.
    assert_refused(&api.post_empty(PATH).await, "is required");
    // Broken JSON and bodies that are not objects.
    api.request_raw(Method::POST, PATH, b"{\"tracking_number\":".to_vec())
        .await
        .expect_error(400, "malformed_json");
    let list = api.post(PATH, &json!(["1Z5R89390357567127"])).await;
    list.expect_error(422, "invalid_input");
    assert_eq!(list.refused_fields(), ["body"]);
    // 100 characters are fine, spaces included.
    let spaced = format!("{:<100}", "1Z5R89390357567127");
    assert_eq!(detect(&api, &spaced).await["carrier"], "ups");
    assert_eq!(before, app.snapshot().await);
}

async fn a_token_is_needed(app: TestApp) {
    let body = json!({"tracking_number": "1Z5R89390357567127"});
    for api in [
        app.anonymous(),
        app.with_token("dl_not-a-real-token"),
        app.with_token(""),
    ] {
        api.post(PATH, &body).await.expect_error(401, "unauthorized");
    }
    app.admin().post(PATH, &body).await.expect(200);
}

backend_tests!(
    numbers_of_several_carriers_are_detected,
    a_bad_check_digit_is_flagged_never_accepted,
    an_unknown_number_has_no_candidate,
    bad_bodies_are_refused_naming_the_field,
    a_token_is_needed,
);
