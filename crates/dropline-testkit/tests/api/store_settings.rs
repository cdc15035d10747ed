//! A store's brand, customer emails, seller notifications, clock limits, exception
//! automation and return rules over HTTP: set by `POST /stores` and `PUT /stores/{id}/settings`, shown by
//! every store answer; partial objects take the defaults for the rest; every bad value is
//! refused naming its field, with nothing written; another store's token reaches none of it.

use crate::id_of;
use dropline_testkit::{Api, TestApp, data};
use serde_json::{Value, json};

/// Every new setting, none of them at its default.
fn every_setting() -> Value {
    json!({
        "brand": {
            "display_name": "Acme Gadgets",
            "logo_url": "https://cdn.acme.example/logo.png?v=2",
            "from_email": "orders@acme.example",
            "reply_to": "help+replies@acme.example",
            "support_email": "help@acme.example",
            "website_url": "https://acme.example",
        },
        "customer_emails": {
            "order_confirmed": false,
            "shipped": false,
            "delayed": false,
            "out_for_delivery": false,
            "delivered": false,
            "delivery_failed": false,
            "cancelled": false,
            "refund_issued": false,
            "return_approved": false,
            "replacement_on_its_way": false,
        },
        "seller_notifications": {
            "email": "owner@acme.example",
            "new_order": false,
            "needs_attention": false,
            "daily_digest": false,
            "digest_hour_utc": 23,
        },
        "clocks": {
            "placed_within_hours": 1,
            "accepted_within_hours": 12,
            "shipped_within_hours": 72,
            "first_scan_within_hours": 36,
            "transit_within_hours": 8760,
            "no_news_hours": 100,
            "customs_hours": 240,
        },
        "exception_automation": {
            "tell_customer_when_late": false,
            "switch_supplier_when_late": true,
        },
        "returns": {
            "window_days": 365,
            "auto_approve_reasons": ["damaged", "wrong_item", "not_as_described"],
            "returnless_refund_up_to": {"amount": "12.50", "currency": "USD"},
        },
    })
}

/// The new settings of a store nobody configured.
fn defaults() -> Value {
    json!({
        "brand": {
            "display_name": null,
            "logo_url": null,
            "from_email": null,
            "reply_to": null,
            "support_email": null,
            "website_url": null,
        },
        "customer_emails": {
            "order_confirmed": true,
            "shipped": true,
            "delayed": true,
            "out_for_delivery": true,
            "delivered": true,
            "delivery_failed": true,
            "cancelled": true,
            "refund_issued": true,
            "return_approved": true,
            "replacement_on_its_way": true,
        },
        "seller_notifications": {
            "email": null,
            "new_order": true,
            "needs_attention": true,
            "daily_digest": true,
            "digest_hour_utc": 7,
        },
        "clocks": {
            "placed_within_hours": 24,
            "accepted_within_hours": 48,
            "shipped_within_hours": 120,
            "first_scan_within_hours": 96,
            "transit_within_hours": 600,
            "no_news_hours": 168,
            "customs_hours": 120,
        },
        "exception_automation": {
            "tell_customer_when_late": true,
            "switch_supplier_when_late": false,
        },
        "returns": {
            "window_days": 30,
            "auto_approve_reasons": [],
            "returnless_refund_up_to": null,
        },
    })
}

const NEW_KEYS: [&str; 6] = [
    "brand",
    "customer_emails",
    "seller_notifications",
    "clocks",
    "exception_automation",
    "returns",
];

/// Asserts that the new settings of a store answer are `expected` (an object of the six).
#[track_caller]
fn assert_new_settings(store: &Value, expected: &Value) {
    for key in NEW_KEYS {
        assert_eq!(store["settings"][key], expected[key], "settings.{key} of {store}");
    }
}

/// The settings of a store as `GET /stores/{id}` shows them.
async fn settings_of(api: &Api<'_>, id: &str) -> Value {
    api.get_store(id).await.expect(200)["settings"].clone()
}

async fn a_new_store_shows_the_defaults(app: TestApp) {
    let created = app.admin().create_store(&data::store("Plain")).await.expect(201);
    assert_new_settings(&created, &defaults());
    let read = app.admin().get_store(&id_of(&created)).await.expect(200);
    assert_new_settings(&read, &defaults());
}

async fn every_new_setting_is_set_and_read_back(app: TestApp) {
    // At creation, inside `settings`.
    let mut body = data::store("Branded");
    body["settings"] = every_setting();
    let created = app.admin().create_store(&body).await.expect(201);
    assert_new_settings(&created, &every_setting());
    let id = id_of(&created);
    let token = created["api_token"].as_str().unwrap().to_string();
    let api = app.with_token(&token);
    let read = api.get_store(&id).await.expect(200);
    assert_new_settings(&read, &every_setting());
    let listed = api.list_stores().await.expect(200);
    assert_new_settings(&listed["stores"][0], &every_setting());

    // By the store's own token, with other values (and the existing settings alongside).
    let mut other = json!({
        "routing_policy": "fastest",
        "supplier_note": "No invoice, neutral packaging",
        "brand": {
            "display_name": "  Ácme — Gadgets & Co  ",
            "logo_url": "http://localhost:3000/logo.png",
            "from_email": "first.last+shop@mail.sub.acme.example",
            "reply_to": "r@acme.example",
            "support_email": "SUPPORT@ACME.EXAMPLE",
            "website_url": "HTTPS://Acme.Example:8443/shop?ref=email#top",
        },
        "customer_emails": {
            "order_confirmed": true,
            "shipped": false,
            "delayed": true,
            "out_for_delivery": false,
            "delivered": true,
            "delivery_failed": false,
            "cancelled": true,
            "refund_issued": false,
            "return_approved": true,
            "replacement_on_its_way": false,
        },
        "seller_notifications": {
            "email": "ops@acme.example",
            "new_order": true,
            "needs_attention": false,
            "daily_digest": true,
            "digest_hour_utc": 0,
        },
        "clocks": {
            "placed_within_hours": 2,
            "accepted_within_hours": 3,
            "shipped_within_hours": 4,
            "first_scan_within_hours": 5,
            "transit_within_hours": 6,
            "no_news_hours": 7,
            "customs_hours": 8,
        },
        "exception_automation": {
            "tell_customer_when_late": true,
            "switch_supplier_when_late": false,
        },
        "returns": {
            "window_days": 0,
            "auto_approve_reasons": ["changed_mind"],
            "returnless_refund_up_to": {"amount": "0.00", "currency": "USD"},
        },
    });
    let updated = api.update_store_settings(&id, &other).await.expect(200);
    // The display name is kept trimmed.
    other["brand"]["display_name"] = json!("Ácme — Gadgets & Co");
    assert_new_settings(&updated, &other);
    assert_eq!(updated["settings"]["routing_policy"], "fastest");
    assert_eq!(updated["settings"]["supplier_note"], "No invoice, neutral packaging");
    let read = api.get_store(&id).await.expect(200);
    assert_new_settings(&read, &other);
    assert_eq!(read["settings"], updated["settings"]);

    // The loopback addresses may be plain http, a 100-character name is fine.
    let name = "N".repeat(100);
    let local = json!({"brand": {
        "display_name": name,
        "logo_url": "http://127.0.0.1:8080/l.png",
        "website_url": "http://localhost",
    }});
    let updated = api.update_store_settings(&id, &local).await.expect(200);
    assert_eq!(updated["settings"]["brand"]["display_name"], json!(name));
    assert_eq!(updated["settings"]["brand"]["logo_url"], "http://127.0.0.1:8080/l.png");
    assert_eq!(updated["settings"]["brand"]["website_url"], "http://localhost");
}

async fn partial_objects_take_the_defaults_for_the_rest(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = &seeded.store_id;
    api.update_store_settings(id, &every_setting()).await.expect(200);

    // Settings replace the current ones: each object given in part takes the defaults (not
    // the current values) for what it leaves out. Unknown fields are ignored.
    let partial = json!({
        "brand": {"from_email": "orders@acme.example", "slogan": "ignored"},
        "customer_emails": {"delivered": false},
        "seller_notifications": {"email": "owner@acme.example", "digest_hour_utc": 5},
        "clocks": {"customs_hours": 200, "transit_within_hours": null},
        "exception_automation": {"switch_supplier_when_late": true},
        "returns": {"auto_approve_reasons": ["wrong_item", " damaged", "wrong_item"]},
        "not_a_setting": 1,
    });
    let updated = api.update_store_settings(id, &partial).await.expect(200);
    let mut expected = defaults();
    expected["brand"]["from_email"] = json!("orders@acme.example");
    expected["customer_emails"]["delivered"] = json!(false);
    expected["seller_notifications"]["email"] = json!("owner@acme.example");
    expected["seller_notifications"]["digest_hour_utc"] = json!(5);
    expected["clocks"]["customs_hours"] = json!(200);
    expected["exception_automation"]["switch_supplier_when_late"] = json!(true);
    // Reasons are kept once each, in the order given.
    expected["returns"]["auto_approve_reasons"] = json!(["wrong_item", "damaged"]);
    assert_new_settings(&updated, &expected);
    assert_new_settings(&api.get_store(id).await.expect(200), &expected);

    // Empty objects, `null` and objects left out all mean the defaults.
    api.update_store_settings(id, &every_setting()).await.expect(200);
    let empty = json!({
        "brand": {},
        "customer_emails": {},
        "seller_notifications": {},
        "clocks": {},
        "exception_automation": {},
        "returns": {},
    });
    assert_new_settings(&api.update_store_settings(id, &empty).await.expect(200), &defaults());
    api.update_store_settings(id, &every_setting()).await.expect(200);
    let nulls = json!({
        "brand": null,
        "customer_emails": null,
        "seller_notifications": null,
        "clocks": null,
        "exception_automation": null,
        "returns": null,
    });
    assert_new_settings(&api.update_store_settings(id, &nulls).await.expect(200), &defaults());
    api.update_store_settings(id, &every_setting()).await.expect(200);
    let other_settings_only = json!({"routing_policy": "best_rated"});
    let updated = api.update_store_settings(id, &other_settings_only).await.expect(200);
    assert_new_settings(&updated, &defaults());
    assert_eq!(updated["settings"]["routing_policy"], "best_rated");

    // At creation as well.
    let mut body = data::store("Partial");
    body["settings"] = json!({"clocks": {"no_news_hours": 48}, "brand": {"display_name": "Partial Co"}});
    let created = app.admin().create_store(&body).await.expect(201);
    let mut expected = defaults();
    expected["clocks"]["no_news_hours"] = json!(48);
    expected["brand"]["display_name"] = json!("Partial Co");
    assert_new_settings(&created, &expected);
    assert_new_settings(&app.admin().get_store(&id_of(&created)).await.expect(200), &expected);
}

/// Bad values of the update body, each with the one field it must be refused for.
fn bad_values() -> Vec<(Value, String)> {
    let long_email = format!("{}@{}.example", "a".repeat(64), "d".repeat(182));
    assert_eq!(long_email.len(), 255);
    let long_url = format!("https://acme.example/{}", "p".repeat(2030));
    let mut cases = Vec::new();
    let mut brand = |field: &str, value: Value, path: &str| {
        cases.push((json!({ "brand": { field: value } }), path.to_string()));
    };
    for name in [
        json!(""),
        json!("   "),
        json!("N".repeat(101)),
        json!("Acme\r\nBcc: x@evil.example"),
        json!(42),
    ] {
        brand("display_name", name, "brand.display_name");
    }
    for url in [
        json!("http://cdn.acme.example/logo.png"),
        json!("ftp://cdn.acme.example/logo.png"),
        json!("cdn.acme.example/logo.png"),
        json!("/logo.png"),
        json!("https://"),
        json!("https:///logo.png"),
        json!("https://cdn..example/logo.png"),
        json!("https://cdn.acme.example:99999/logo.png"),
        json!("https://user:pw@cdn.acme.example/logo.png"),
        json!("http://localhost@evil.example/logo.png"),
        json!("http://127.0.0.1.evil.example/logo.png"),
        json!("http://localhost.evil.example/logo.png"),
        json!("https://cdn.acme.example/my logo.png"),
        json!("https://cdn.acme.example/\tlogo.png"),
        json!(long_url),
        json!(["https://cdn.acme.example/logo.png"]),
    ] {
        brand("logo_url", url, "brand.logo_url");
    }
    brand("website_url", json!("javascript:alert(1)"), "brand.website_url");
    brand("website_url", json!("https://acme_example!/"), "brand.website_url");
    for address in [
        json!("orders"),
        json!("@acme.example"),
        json!("orders@"),
        json!("orders@acme"),
        json!("orders@acme..example"),
        json!("orders@.acme.example"),
        json!("orders@acme.example."),
        json!("or@ders@acme.example"),
        json!("or ders@acme.example"),
        json!(" orders@acme.example"),
        json!("orders@acme.example\n"),
        json!("Acme <orders@acme.example>"),
        json!("orders@acme.example, boss@acme.example"),
        json!(format!("{}@acme.example", "l".repeat(65))),
        json!(long_email),
        json!(""),
        json!(7),
    ] {
        brand("from_email", address, "brand.from_email");
    }
    brand("reply_to", json!("replies@"), "brand.reply_to");
    brand("support_email", json!("help;x@acme.example"), "brand.support_email");
    cases.push((json!({"brand": "Acme"}), "brand".into()));

    cases.push((
        json!({"customer_emails": {"shipped": "no"}}),
        "customer_emails.shipped".into(),
    ));
    cases.push((
        json!({"customer_emails": {"refund_issued": 0}}),
        "customer_emails.refund_issued".into(),
    ));
    cases.push((json!({"customer_emails": [true]}), "customer_emails".into()));

    let notifications = [
        (json!({"email": "owner"}), "seller_notifications.email"),
        (json!({"email": "owner@acme"}), "seller_notifications.email"),
        (json!({"new_order": "yes"}), "seller_notifications.new_order"),
        (json!({"needs_attention": 1}), "seller_notifications.needs_attention"),
        (
            json!({"daily_digest": null, "digest_hour_utc": 24}),
            "seller_notifications.digest_hour_utc",
        ),
        (json!({"digest_hour_utc": 300}), "seller_notifications.digest_hour_utc"),
        (json!({"digest_hour_utc": -1}), "seller_notifications.digest_hour_utc"),
        (json!({"digest_hour_utc": 7.5}), "seller_notifications.digest_hour_utc"),
        (json!({"digest_hour_utc": "7"}), "seller_notifications.digest_hour_utc"),
    ];
    for (value, path) in notifications {
        cases.push((json!({ "seller_notifications": value }), path.into()));
    }

    let clocks = [
        ("placed_within_hours", json!(0)),
        ("accepted_within_hours", json!(8761)),
        ("shipped_within_hours", json!(-24)),
        ("first_scan_within_hours", json!(4_294_967_296_u64)),
        ("transit_within_hours", json!(1.5)),
        ("no_news_hours", json!("168")),
        ("customs_hours", json!(100_000)),
    ];
    for (field, value) in clocks {
        cases.push((json!({ "clocks": { field: value } }), format!("clocks.{field}")));
    }

    cases.push((
        json!({"exception_automation": {"tell_customer_when_late": "true"}}),
        "exception_automation.tell_customer_when_late".into(),
    ));
    cases.push((
        json!({"exception_automation": {"switch_supplier_when_late": null, "tell_customer_when_late": []}}),
        "exception_automation.tell_customer_when_late".into(),
    ));
    cases.push((json!({"exception_automation": 1}), "exception_automation".into()));

    let returns = [
        (json!({"window_days": 366}), "returns.window_days"),
        (json!({"window_days": -1}), "returns.window_days"),
        (json!({"window_days": "30"}), "returns.window_days"),
        (
            json!({"auto_approve_reasons": ["broken"]}),
            "returns.auto_approve_reasons[0]",
        ),
        (
            json!({"auto_approve_reasons": ["damaged", 3]}),
            "returns.auto_approve_reasons[1]",
        ),
        (
            json!({"auto_approve_reasons": "damaged"}),
            "returns.auto_approve_reasons",
        ),
        (
            json!({"returnless_refund_up_to": {"amount": "-1.00", "currency": "USD"}}),
            "returns.returnless_refund_up_to",
        ),
        (
            json!({"returnless_refund_up_to": {"amount": "5.00", "currency": "EUR"}}),
            "returns.returnless_refund_up_to.currency",
        ),
        (
            json!({"returnless_refund_up_to": 500}),
            "returns.returnless_refund_up_to",
        ),
    ];
    for (value, path) in returns {
        cases.push((json!({ "returns": value }), path.into()));
    }
    cases.push((json!({"returns": []}), "returns".into()));
    cases
}

async fn each_bad_value_is_refused_naming_its_field_and_nothing_changes(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let id = &seeded.store_id;
    api.update_store_settings(id, &every_setting()).await.expect(200);
    let old = settings_of(&api, id).await;
    let before = app.snapshot().await;

    for (mut body, field) in bad_values() {
        // Good values alongside: only the bad one is refused, and nothing of the rest is
        // written either.
        body["routing_policy"] = json!("fastest");
        if body.get("clocks").is_none() {
            body["clocks"] = json!({"customs_hours": 1});
        }
        let answer = api.update_store_settings(id, &body).await;
        answer.expect_error(422, "invalid_input");
        assert_eq!(answer.refused_fields(), [field], "{body}: {}", answer.text);
        assert!(
            answer.field_errors().iter().all(|(_, reason)| !reason.is_empty()),
            "{}",
            answer.text
        );
        assert_eq!(settings_of(&api, id).await, old, "{body} changed the settings");
    }
    assert_eq!(before, app.snapshot().await);

    // Every refused field at once, each named.
    let answer = api
        .update_store_settings(
            id,
            &json!({
                "brand": {"display_name": "", "logo_url": "http://x.example", "from_email": "x",
                          "reply_to": "y@", "support_email": "@z.example", "website_url": "w"},
                "customer_emails": {"order_confirmed": "on"},
                "seller_notifications": {"email": "e", "digest_hour_utc": 24},
                "clocks": {"placed_within_hours": 0, "customs_hours": 8761},
                "exception_automation": {"switch_supplier_when_late": "yes"},
            }),
        )
        .await;
    answer.expect_error(422, "invalid_input");
    let mut fields = answer.refused_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "brand.display_name",
            "brand.from_email",
            "brand.logo_url",
            "brand.reply_to",
            "brand.support_email",
            "brand.website_url",
            "clocks.customs_hours",
            "clocks.placed_within_hours",
            "customer_emails.order_confirmed",
            "exception_automation.switch_supplier_when_late",
            "seller_notifications.digest_hour_utc",
            "seller_notifications.email",
        ],
        "{}",
        answer.text
    );
    let reason = |field: &str| {
        answer
            .field_errors()
            .into_iter()
            .find(|(f, _)| f == field)
            .map(|(_, r)| r)
            .unwrap()
    };
    assert!(reason("brand.logo_url").contains("https://"), "{}", answer.text);
    assert!(reason("brand.from_email").contains("email address"), "{}", answer.text);
    assert!(reason("clocks.customs_hours").contains("8760"), "{}", answer.text);
    assert!(
        reason("seller_notifications.digest_hour_utc").contains("23"),
        "{}",
        answer.text
    );
    assert_eq!(settings_of(&api, id).await, old);
    assert_eq!(before, app.snapshot().await);

    // At creation, the same values are refused under `settings.`, and no store is made.
    let admin = app.admin();
    for (bad, field) in [
        (
            json!({"brand": {"logo_url": "http://cdn.acme.example/l.png"}}),
            "settings.brand.logo_url",
        ),
        (json!({"brand": {"display_name": "  "}}), "settings.brand.display_name"),
        (
            json!({"seller_notifications": {"email": "owner@localhost"}}),
            "settings.seller_notifications.email",
        ),
        (
            json!({"seller_notifications": {"digest_hour_utc": 24}}),
            "settings.seller_notifications.digest_hour_utc",
        ),
        (
            json!({"clocks": {"transit_within_hours": 0}}),
            "settings.clocks.transit_within_hours",
        ),
        (
            json!({"customer_emails": {"cancelled": "off"}}),
            "settings.customer_emails.cancelled",
        ),
        (
            json!({"exception_automation": {"tell_customer_when_late": 0}}),
            "settings.exception_automation.tell_customer_when_late",
        ),
        (
            json!({"supplier_price_tolerance_bp": 10_001}),
            "settings.supplier_price_tolerance_bp",
        ),
        (json!({"returns": {"window_days": 400}}), "settings.returns.window_days"),
        (
            json!({"returns": {"returnless_refund_up_to": {"amount": "1.00", "currency": "EUR"}}}),
            "settings.returns.returnless_refund_up_to.currency",
        ),
    ] {
        let mut body = data::store("Refused");
        body["settings"] = bad.clone();
        let answer = admin.create_store(&body).await;
        answer.expect_error(422, "invalid_input");
        assert_eq!(answer.refused_fields(), [field], "{bad}: {}", answer.text);
    }
    assert_eq!(before, app.snapshot().await);
}

async fn another_stores_token_reaches_none_of_the_settings(app: TestApp) {
    let a = app.seed().await;
    let b = app.seed().await;
    let a_api = app.with_token(&a.token);
    let b_api = app.with_token(&b.token);
    a_api
        .update_store_settings(&a.store_id, &every_setting())
        .await
        .expect(200);
    let a_settings = settings_of(&a_api, &a.store_id).await;
    let before = app.snapshot().await;

    // B can neither read A's settings nor change them, with a good body or a bad one (the
    // store is refused before the body is judged: nothing about A is told).
    let answer = b_api.get_store(&a.store_id).await;
    answer.expect_error(404, "store_not_found");
    assert!(!answer.text.contains("acme.example"), "{}", answer.text);
    let takeover = json!({
        "brand": {"display_name": "Hijacked", "from_email": "thief@evil.example"},
        "seller_notifications": {"email": "thief@evil.example"},
        "customer_emails": {"delivered": false},
    });
    b_api
        .update_store_settings(&a.store_id, &takeover)
        .await
        .expect_error(404, "store_not_found");
    b_api
        .update_store_settings(&a.store_id, &json!({"brand": {"logo_url": "http://evil.example"}}))
        .await
        .expect_error(404, "store_not_found");
    let listed = b_api.list_stores().await.expect(200);
    assert!(!listed.to_string().contains("acme.example"), "{listed}");
    // Only the operator creates stores, whatever their settings.
    let mut body = data::store("Sneaky");
    body["settings"] = every_setting();
    b_api.create_store(&body).await.expect_error(403, "forbidden");
    assert_eq!(before, app.snapshot().await);
    assert_eq!(settings_of(&a_api, &a.store_id).await, a_settings);
    assert_new_settings(&b_api.get_store(&b.store_id).await.expect(200), &defaults());

    // The same change with A's own token, and with the operator's, is taken.
    let own = a_api.update_store_settings(&a.store_id, &takeover).await.expect(200);
    assert_eq!(own["settings"]["brand"]["display_name"], "Hijacked");
    let operator = app
        .admin()
        .update_store_settings(&a.store_id, &json!({"clocks": {"customs_hours": 48}}))
        .await
        .expect(200);
    assert_eq!(operator["settings"]["clocks"]["customs_hours"], 48);
}

backend_tests!(
    a_new_store_shows_the_defaults,
    every_new_setting_is_set_and_read_back,
    partial_objects_take_the_defaults_for_the_rest,
    each_bad_value_is_refused_naming_its_field_and_nothing_changes,
    another_stores_token_reaches_none_of_the_settings,
);
