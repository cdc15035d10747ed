//! The dashboard's Store settings page over plain HTTP: it shows the stored settings, each
//! section's form saves what the REST API then shows, refused values are shown again with
//! their reason and change nothing, webhook secrets and the API token are shown once and
//! rotate as promised, and only the store's seller or the operator reach any of it.

use crate::dashboard::{Web, hidden, seller, user};
use base64::Engine;
use dropline_domain::account::Role;
use dropline_testkit::data::unique;
use dropline_testkit::{TestApp, TestResponse, data};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, LOCATION};
use serde_json::{Value, json};
use sha2::Sha256;

backend_tests!(
    the_page_shows_the_current_settings,
    each_section_saves_what_the_api_then_shows,
    refused_values_are_shown_again_with_their_reason_and_change_nothing,
    a_generated_webhook_secret_is_shown_once_verifies_and_the_retired_one_stops,
    the_platforms_secret_is_set_and_a_short_one_refused,
    a_rotated_api_token_works_and_the_old_one_is_refused,
    staff_are_refused_every_settings_route,
    a_missing_or_wrong_csrf_token_is_refused_and_changes_nothing,
    an_operator_picks_a_store,
    another_stores_id_is_not_found_and_changes_nothing,
    markup_in_a_brand_name_is_escaped,
);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Text as it is in the page, unescaped (named and numeric character references).
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of `name="…"` in a tag's head (quotes inside values are escaped in the page).
fn attribute(head: &str, name: &str) -> Option<String> {
    let start = head.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = head[start..].find('"')? + start;
    Some(unescape(&head[start..end]))
}

/// A tag's head without its quoted values, to look for bare attributes (`checked`).
fn bare(head: &str) -> String {
    head.split('"').step_by(2).collect::<Vec<_>>().join("")
}

/// The text of the form posting to `action` in a page.
fn form_html<'a>(body: &'a str, action: &str) -> &'a str {
    let start = body
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action} in {body}"));
    let rest = &body[start..];
    &rest[..rest.find("</form>").expect("the form's end")]
}

/// The pairs a browser sends with the form posting to `action` (with the page's CSRF token):
/// text fields, text areas, the selected option and the ticked checkboxes.
fn form_fields(body: &str, action: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut select = None;
    for tag in form_html(body, action).split('<').skip(1) {
        let (head, after) = tag.split_once('>').unwrap_or((tag, ""));
        let name = attribute(head, "name");
        if head.starts_with("input ") {
            let kind = attribute(head, "type").unwrap_or_default();
            let value = attribute(head, "value").unwrap_or_default();
            if kind == "checkbox" && !bare(head).contains(" checked") {
                continue;
            }
            if let Some(name) = name {
                fields.push((name, value));
            }
        } else if head.starts_with("textarea ") {
            fields.push((name.expect("a named text area"), unescape(after)));
        } else if head.starts_with("select ") {
            select = name;
        } else if head.starts_with("option ") && bare(head).contains(" selected") {
            let value = attribute(head, "value").expect("an option's value");
            fields.push((select.clone().expect("an option in a select"), value));
        }
    }
    fields
}

/// The one value of `name` among the pairs.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Replaces (or adds) a text field.
fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_string(), value.to_string()));
}

/// Ticks or unticks a checkbox.
fn tick(fields: &mut Vec<(String, String)>, name: &str, on: bool) {
    fields.retain(|(n, _)| n != name);
    if on {
        fields.push((name.to_string(), "on".to_string()));
    }
}

async fn post_pairs(web: &Web, action: &str, fields: &[(String, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    web.post_raw(action, &pairs).await
}

/// Opens `page`, edits the form to `action` with `edit`, and posts it as a browser would.
async fn submit(
    web: &Web,
    page: &str,
    action: &str,
    edit: impl FnOnce(&mut Vec<(String, String)>),
) -> reqwest::Response {
    let (status, body) = web.get(page).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut fields = form_fields(&body, action);
    edit(&mut fields);
    post_pairs(web, action, &fields).await
}

/// Asserts a 303 to `location` and follows it: the page with its notice.
async fn saved(web: &Web, response: reqwest::Response, location: &str) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{:?}", response.text().await);
    assert_eq!(response.headers()[LOCATION], location);
    let (status, body) = web.get(location).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"saved\""), "{body}");
    assert!(body.contains("Saved"), "{body}");
    body
}

/// The store as the REST API shows it to the operator.
async fn store_json(app: &TestApp, id: &str) -> Value {
    app.admin().get_store(id).await.expect(200)
}

/// Every `id` of a form control in the page has its `<label for=…>`.
#[track_caller]
fn assert_every_control_is_labelled(body: &str) {
    for tag in body.split('<').skip(1) {
        let head = tag.split('>').next().unwrap_or_default();
        let control = head.starts_with("input ") || head.starts_with("select ") || head.starts_with("textarea ");
        if !control || attribute(head, "type").as_deref() == Some("hidden") {
            continue;
        }
        let id = attribute(head, "id").unwrap_or_else(|| panic!("a control without an id: <{head}>"));
        assert!(body.contains(&format!("<label for=\"{id}\"")), "no label for {id}");
    }
}

/// A seeded store with its seller signed in.
async fn seller_of_seeded(app: &TestApp) -> (data::Seeded, Web) {
    let seeded = app.seed().await;
    let email = seller(app, &seeded.store_id, &format!("seller-{}@example.com", unique())).await;
    (seeded, Web::sign_in(app, &email).await)
}

/// Every settings route posts, with their section or action.
const ACTIONS: [&str; 9] = [
    "/settings/automation",
    "/settings/brand",
    "/settings/notifications",
    "/settings/returns",
    "/settings/clocks",
    "/settings/webhook-secret/generate",
    "/settings/webhook-secret/set",
    "/settings/webhook-secret/retire",
    "/settings/api-token/rotate",
];

// Storefront webhooks -------------------------------------------------------------------------

const OLD_SECRET: &str = "shpss_settings_old_secret";

/// A Shopify store with one webhook secret ([`OLD_SECRET`]) and its seller signed in.
async fn shopify_store(app: &TestApp) -> (String, Web) {
    let n = unique();
    let created = app
        .admin()
        .create_store(&json!({
            "name": format!("Shopify settings {n}"),
            "platform": "shopify",
            "currency": "USD",
            "address": data::warehouse_address(),
            "domain": format!("settings-{n}.myshopify.com"),
            "webhook_secret": OLD_SECRET,
            "access_token": "shpat_test",
        }))
        .await
        .expect(201);
    let id = created["id"].as_str().expect("an id").to_string();
    let email = seller(app, &id, &format!("shopify-{n}@example.com")).await;
    (id, Web::sign_in(app, &email).await)
}

/// A Shopify `orders/create` delivery to `store`, signed with `secret`.
async fn deliver(app: &TestApp, store: &str, secret: &str) -> TestResponse {
    let n = unique();
    let body = serde_json::to_vec(&json!({
        "id": 7_000_000 + n,
        "name": format!("#S{n}"),
        "order_number": n,
        "email": "ada@example.com",
        "phone": null,
        "currency": "USD",
        "financial_status": "paid",
        "fulfillment_status": null,
        "test": false,
        "created_at": "2026-11-20T10:00:00-05:00",
        "updated_at": "2026-11-20T10:00:00-05:00",
        "cancelled_at": null,
        "cancel_reason": null,
        "total_price": "59.99",
        "subtotal_price": "49.99",
        "total_tax": "0.00",
        "customer": { "id": 77, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace" },
        "shipping_address": {
            "first_name": "Ada", "last_name": "Lovelace", "company": null,
            "address1": "12 Main Street", "address2": null, "city": "Springfield",
            "province": "Illinois", "province_code": "IL", "zip": "62701",
            "country": "United States", "country_code": "US", "phone": null
        },
        "shipping_lines": [{ "id": 1, "title": "Standard", "code": "standard", "price": "10.00" }],
        "line_items": [{
            "id": 9001, "product_id": 3001, "variant_id": 4001, "sku": "SETTINGS-SKU",
            "title": "Wireless earbuds", "variant_title": "Black", "name": "Wireless earbuds - Black",
            "quantity": 1, "fulfillable_quantity": 1, "requires_shipping": true,
            "gift_card": false, "price": "49.99"
        }]
    }))
    .expect("a body");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("a key");
    mac.update(&body);
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time");
    let headers: Vec<(String, String)> = [
        ("X-Shopify-Topic", "orders/create".to_string()),
        ("X-Shopify-Hmac-Sha256", signature),
        ("X-Shopify-Shop-Domain", "settings.myshopify.com".to_string()),
        ("X-Shopify-API-Version", "2025-07".to_string()),
        ("X-Shopify-Webhook-Id", format!("wh-settings-{n}")),
        ("X-Shopify-Event-Id", format!("event-settings-{n}")),
        ("X-Shopify-Triggered-At", now),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    app.anonymous()
        .webhook(&format!("/webhooks/shopify/{store}"), &headers, body)
        .await
}

/// The secret shown once in a page.
fn revealed(body: &str) -> String {
    let start = body
        .find("id=\"revealed-value\"")
        .unwrap_or_else(|| panic!("nothing revealed in {body}"));
    let rest = &body[start..];
    let value = &rest[rest.find('>').expect("the tag's end") + 1..];
    unescape(&value[..value.find('<').expect("the value's end")])
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

async fn the_page_shows_the_current_settings(app: TestApp) {
    let (seeded, web) = seller_of_seeded(&app).await;
    app.with_token(&seeded.token)
        .update_store_settings(
            &seeded.store_id,
            &json!({
                "auto_accept": {"enabled": true, "require_paid": false, "max_total": data::usd("150.00"),
                                "allowed_skus": [seeded.skus[1]]},
                "routing_policy": "fastest",
                "routing_weights": {"margin": 10, "speed": 60, "rating": 20, "on_time": 10},
                "supplier_price_tolerance_bp": 250,
                "margin_floor_bp": 1200,
                "supplier_note": "No invoice & neutral packaging",
                "storefront_notifies_customer": true,
                "brand": {"display_name": "Acme \"Gadgets\"", "logo_url": "https://cdn.acme.example/logo.png",
                          "from_email": "orders@acme.example", "reply_to": "replies@acme.example",
                          "support_email": "help@acme.example", "website_url": "https://acme.example"},
                "customer_emails": {"shipped": false, "refund_issued": false},
                "seller_notifications": {"email": "owner@acme.example", "new_order": false, "digest_hour_utc": 21},
                "clocks": {"placed_within_hours": 12, "customs_hours": 200},
                "exception_automation": {"switch_supplier_when_late": true},
            }),
        )
        .await
        .expect(200);

    let (status, body) = web.get("/settings").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("href=\"/settings\""), "the nav shows Settings: {body}");
    assert_every_control_is_labelled(&body);
    assert!(!body.contains("<script>"), "{body}");

    let automation = form_fields(&body, "/settings/automation");
    assert_eq!(field(&automation, "store"), Some(seeded.store_id.as_str()));
    assert_eq!(field(&automation, "auto_accept_enabled"), Some("on"));
    assert_eq!(field(&automation, "require_paid"), None);
    assert_eq!(field(&automation, "max_total"), Some("150.00"));
    let allowed: Vec<&str> = automation
        .iter()
        .filter(|(n, _)| n == "allowed_skus")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(allowed, [seeded.skus[1].as_str()]);
    // Both variants are offered, with their SKUs.
    for sku in &seeded.skus {
        assert!(body.contains(&format!("value=\"{sku}\"")), "{sku}: {body}");
    }
    assert_eq!(field(&automation, "routing_policy"), Some("fastest"));
    assert_eq!(field(&automation, "weight_speed"), Some("60"));
    assert_eq!(field(&automation, "supplier_price_tolerance"), Some("2.5"));
    assert_eq!(field(&automation, "margin_floor"), Some("12"));
    assert_eq!(
        field(&automation, "supplier_note"),
        Some("No invoice & neutral packaging")
    );
    assert_eq!(field(&automation, "storefront_notifies_customer"), Some("on"));

    let brand = form_fields(&body, "/settings/brand");
    assert_eq!(field(&brand, "display_name"), Some("Acme \"Gadgets\""));
    assert_eq!(field(&brand, "logo_url"), Some("https://cdn.acme.example/logo.png"));
    assert_eq!(field(&brand, "from_email"), Some("orders@acme.example"));
    assert_eq!(field(&brand, "reply_to"), Some("replies@acme.example"));
    assert_eq!(field(&brand, "support_email"), Some("help@acme.example"));
    assert_eq!(field(&brand, "website_url"), Some("https://acme.example"));

    let notifications = form_fields(&body, "/settings/notifications");
    assert_eq!(field(&notifications, "seller_email"), Some("owner@acme.example"));
    assert_eq!(field(&notifications, "new_order"), None);
    assert_eq!(field(&notifications, "needs_attention"), Some("on"));
    assert_eq!(field(&notifications, "digest_hour_utc"), Some("21"));
    assert_eq!(field(&notifications, "email_shipped"), None);
    assert_eq!(field(&notifications, "email_refund_issued"), None);
    assert_eq!(field(&notifications, "email_delivered"), Some("on"));
    assert_eq!(field(&notifications, "switch_supplier_when_late"), Some("on"));

    let clocks = form_fields(&body, "/settings/clocks");
    assert_eq!(field(&clocks, "placed_within_hours"), Some("12"));
    assert_eq!(field(&clocks, "customs_hours"), Some("200"));
    assert_eq!(field(&clocks, "transit_within_hours"), Some("600"));

    // An API store has no webhooks; its token can be rotated.
    assert!(!body.contains("/settings/webhook-secret/"), "{body}");
    assert!(body.contains("action=\"/settings/api-token/rotate\""), "{body}");
    // The token is never in the page.
    assert!(!body.contains(&seeded.token));
}

async fn each_section_saves_what_the_api_then_shows(app: TestApp) {
    let (seeded, web) = seller_of_seeded(&app).await;
    let id = seeded.store_id.clone();
    let before = store_json(&app, &id).await["settings"].clone();

    // Automation.
    let sku = seeded.skus[0].clone();
    let response = submit(&web, "/settings", "/settings/automation", |f| {
        tick(f, "auto_accept_enabled", true);
        tick(f, "require_paid", true);
        set(f, "max_total", "149.99");
        f.push(("allowed_skus".into(), sku.clone()));
        set(f, "routing_policy", "weighted");
        set(f, "weight_margin", "50");
        set(f, "weight_speed", "20");
        set(f, "weight_rating", "20");
        set(f, "weight_on_time", "10");
        set(f, "supplier_price_tolerance", "7.5");
        set(f, "margin_floor", "12");
        set(f, "supplier_note", "  No invoice, neutral packaging  ");
        tick(f, "storefront_notifies_customer", true);
        set(f, "payment_fee_percent", "2.9");
        set(f, "payment_fee_fixed", "0.30");
        set(f, "platform_fee_percent", "5");
        set(f, "chargeback_fee", "15.00");
    })
    .await;
    saved(&web, response, "/settings?saved=automation#automation").await;
    let fees = store_json(&app, &id).await["settings"]["fees"].clone();
    assert_eq!(
        fees,
        json!({"payment_bp": 290, "payment_fixed": data::usd("0.30"), "platform_bp": 500, "chargeback_fee": data::usd("15.00")})
    );
    let settings = store_json(&app, &id).await["settings"].clone();
    assert_eq!(
        settings["auto_accept"],
        json!({"enabled": true, "require_paid": true, "max_total": data::usd("149.99"), "allowed_skus": [sku]})
    );
    assert_eq!(settings["routing_policy"], "weighted");
    assert_eq!(
        settings["routing_weights"],
        json!({"margin": 50, "speed": 20, "rating": 20, "on_time": 10})
    );
    assert_eq!(settings["supplier_price_tolerance_bp"], 750);
    assert_eq!(settings["margin_floor_bp"], 1200);
    assert_eq!(settings["supplier_note"], "No invoice, neutral packaging");
    assert_eq!(settings["storefront_notifies_customer"], true);
    for untouched in [
        "brand",
        "customer_emails",
        "seller_notifications",
        "clocks",
        "exception_automation",
    ] {
        assert_eq!(settings[untouched], before[untouched], "{untouched}");
    }

    // Brand.
    let response = submit(&web, "/settings", "/settings/brand", |f| {
        set(f, "display_name", "  Acme Gadgets  ");
        set(f, "logo_url", "https://cdn.acme.example/logo.png");
        set(f, "from_email", "orders@acme.example");
        set(f, "reply_to", "replies@acme.example");
        set(f, "support_email", "help@acme.example");
        set(f, "website_url", "https://acme.example/shop");
    })
    .await;
    saved(&web, response, "/settings?saved=brand#brand").await;
    let brand = store_json(&app, &id).await["settings"]["brand"].clone();
    assert_eq!(
        brand,
        json!({
            "display_name": "Acme Gadgets",
            "logo_url": "https://cdn.acme.example/logo.png",
            "from_email": "orders@acme.example",
            "reply_to": "replies@acme.example",
            "support_email": "help@acme.example",
            "website_url": "https://acme.example/shop",
        })
    );
    // Emptied fields are unset again.
    let response = submit(&web, "/settings", "/settings/brand", |f| {
        set(f, "reply_to", "");
        set(f, "logo_url", "  ");
    })
    .await;
    saved(&web, response, "/settings?saved=brand#brand").await;
    let brand = store_json(&app, &id).await["settings"]["brand"].clone();
    assert_eq!(brand["reply_to"], Value::Null);
    assert_eq!(brand["logo_url"], Value::Null);
    assert_eq!(brand["display_name"], "Acme Gadgets");

    // Emails and notifications.
    let response = submit(&web, "/settings", "/settings/notifications", |f| {
        set(f, "seller_email", "owner@acme.example");
        tick(f, "new_order", false);
        tick(f, "daily_digest", true);
        set(f, "digest_hour_utc", "22");
        tick(f, "email_shipped", false);
        tick(f, "email_cancelled", false);
        tick(f, "tell_customer_when_late", false);
        tick(f, "switch_supplier_when_late", true);
    })
    .await;
    saved(&web, response, "/settings?saved=notifications#notifications").await;
    let settings = store_json(&app, &id).await["settings"].clone();
    assert_eq!(
        settings["seller_notifications"],
        json!({"email": "owner@acme.example", "new_order": false, "needs_attention": true,
               "daily_digest": true, "digest_hour_utc": 22})
    );
    assert_eq!(settings["customer_emails"]["shipped"], false);
    assert_eq!(settings["customer_emails"]["cancelled"], false);
    assert_eq!(settings["customer_emails"]["delivered"], true);
    assert_eq!(
        settings["exception_automation"],
        json!({"tell_customer_when_late": false, "switch_supplier_when_late": true})
    );

    // Return rules: the window, the reasons approved at once, the returnless limit.
    let (_, body) = web.get("/settings").await;
    let returns = form_fields(&body, "/settings/returns");
    assert_eq!(field(&returns, "return_window_days"), Some("30"));
    assert_eq!(field(&returns, "returnless_refund_up_to"), Some(""));
    assert_eq!(field(&returns, "return_approve_damaged"), None, "no reason ticked");
    let response = submit(&web, "/settings", "/settings/returns", |f| {
        set(f, "return_window_days", " 14 ");
        tick(f, "return_approve_damaged", true);
        tick(f, "return_approve_not_as_described", true);
        set(f, "returnless_refund_up_to", "12.5");
    })
    .await;
    saved(&web, response, "/settings?saved=returns#returns").await;
    let settings = store_json(&app, &id).await["settings"].clone();
    assert_eq!(
        settings["returns"],
        json!({"window_days": 14, "auto_approve_reasons": ["damaged", "not_as_described"],
               "returnless_refund_up_to": {"amount": "12.50", "currency": "USD"}})
    );
    let (_, body) = web.get("/settings").await;
    let returns = form_fields(&body, "/settings/returns");
    assert_eq!(field(&returns, "return_approve_damaged"), Some("on"));
    assert_eq!(field(&returns, "returnless_refund_up_to"), Some("12.50"));
    // Emptied: no returnless refunds; 0 days: no returns at all.
    let response = submit(&web, "/settings", "/settings/returns", |f| {
        set(f, "return_window_days", "0");
        tick(f, "return_approve_damaged", false);
        set(f, "returnless_refund_up_to", "");
    })
    .await;
    saved(&web, response, "/settings?saved=returns#returns").await;
    assert_eq!(
        store_json(&app, &id).await["settings"]["returns"],
        json!({"window_days": 0, "auto_approve_reasons": ["not_as_described"],
               "returnless_refund_up_to": null})
    );

    // Clock limits, the limits themselves included.
    let response = submit(&web, "/settings", "/settings/clocks", |f| {
        set(f, "placed_within_hours", "1");
        set(f, "accepted_within_hours", "12");
        set(f, "shipped_within_hours", "72");
        set(f, "first_scan_within_hours", "36");
        set(f, "transit_within_hours", "8760");
        set(f, "no_news_hours", "100");
        set(f, "customs_hours", " 240 ");
    })
    .await;
    saved(&web, response, "/settings?saved=clocks#clocks").await;
    let settings = store_json(&app, &id).await["settings"].clone();
    assert_eq!(
        settings["clocks"],
        json!({"placed_within_hours": 1, "accepted_within_hours": 12, "shipped_within_hours": 72,
               "first_scan_within_hours": 36, "transit_within_hours": 8760, "no_news_hours": 100,
               "customs_hours": 240})
    );
    // Each save kept the other sections.
    assert_eq!(settings["brand"]["display_name"], "Acme Gadgets");
    assert_eq!(settings["routing_policy"], "weighted");
    assert_eq!(settings["seller_notifications"]["digest_hour_utc"], 22);
    assert_eq!(settings["returns"]["auto_approve_reasons"], json!(["not_as_described"]));

    // Saving a page unchanged changes nothing.
    let stored = app.snapshot().await;
    for action in [
        "/settings/automation",
        "/settings/brand",
        "/settings/notifications",
        "/settings/returns",
        "/settings/clocks",
    ] {
        let response = submit(&web, "/settings", action, |_| {}).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
    }
    assert_eq!(stored, app.snapshot().await);
}

async fn refused_values_are_shown_again_with_their_reason_and_change_nothing(app: TestApp) {
    let (seeded, web) = seller_of_seeded(&app).await;
    let before = app.snapshot().await;
    let settings_before = store_json(&app, &seeded.store_id).await["settings"].clone();

    let long_name = "N".repeat(101);
    let long_note = "n".repeat(501);
    let cases: Vec<(&str, &str, &str)> = vec![
        ("/settings/brand", "from_email", "not-an-email"),
        ("/settings/brand", "from_email", "Acme <orders@acme.example>"),
        ("/settings/brand", "reply_to", "replies@"),
        ("/settings/brand", "support_email", "help@localhost"),
        ("/settings/brand", "logo_url", "http://cdn.acme.example/logo.png"),
        ("/settings/brand", "logo_url", "javascript:alert(1)"),
        ("/settings/brand", "website_url", "acme.example"),
        ("/settings/brand", "display_name", &long_name),
        ("/settings/notifications", "seller_email", "owner"),
        ("/settings/notifications", "digest_hour_utc", "24"),
        ("/settings/notifications", "digest_hour_utc", "-1"),
        ("/settings/notifications", "digest_hour_utc", "300"),
        ("/settings/notifications", "digest_hour_utc", "seven"),
        ("/settings/clocks", "placed_within_hours", "0"),
        ("/settings/clocks", "accepted_within_hours", "8761"),
        ("/settings/clocks", "shipped_within_hours", "-24"),
        ("/settings/clocks", "first_scan_within_hours", "99999999999"),
        ("/settings/clocks", "transit_within_hours", "1.5"),
        ("/settings/clocks", "customs_hours", ""),
        ("/settings/automation", "max_total", "-5"),
        ("/settings/automation", "max_total", "12.345"),
        ("/settings/automation", "max_total", "lots"),
        ("/settings/automation", "supplier_price_tolerance", "150"),
        ("/settings/automation", "supplier_price_tolerance", "-1"),
        ("/settings/automation", "supplier_price_tolerance", ""),
        ("/settings/automation", "margin_floor", "100.01"),
        ("/settings/automation", "weight_margin", "101"),
        ("/settings/automation", "weight_on_time", "4294967296"),
        ("/settings/automation", "routing_policy", "teleport"),
        ("/settings/automation", "supplier_note", &long_note),
        ("/settings/automation", "payment_fee_percent", "101"),
        ("/settings/automation", "payment_fee_fixed", "thirty cents"),
        ("/settings/automation", "chargeback_fee", "-15.00"),
        ("/settings/returns", "return_window_days", "366"),
        ("/settings/returns", "return_window_days", "-1"),
        ("/settings/returns", "return_window_days", ""),
        ("/settings/returns", "returnless_refund_up_to", "-5"),
        ("/settings/returns", "returnless_refund_up_to", "five"),
    ];
    for (action, name, value) in cases {
        let response = submit(&web, "/settings", action, |f| set(f, name, value)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}={value}");
        let body = response.text().await.expect("a body");
        // The reason is next to the field, which points at it, and the typed value is kept.
        let error_id = format!("id=\"{name}-error\"");
        assert!(
            body.contains(&format!("<p class=\"field-error\" {error_id}>")),
            "{name}={value}: {body}"
        );
        if name != "routing_policy" {
            let refused = form_fields(&body, action);
            assert_eq!(field(&refused, name), Some(value), "{name} kept as typed");
        }
        let control = body
            .split('<')
            .find(|tag| tag.contains(&format!(" id=\"{name}\"")))
            .expect("the control");
        assert!(
            control.contains(&format!("{name}-error")),
            "aria-describedby of {name}: {control}"
        );
        assert!(control.contains("aria-invalid=\"true\""), "{control}");
        assert!(body.contains("id=\"refused\""), "the summary: {body}");
        assert_every_control_is_labelled(&body);
        // The other sections still show what is stored.
        if action != "/settings/clocks" {
            let clocks = form_fields(&body, "/settings/clocks");
            assert_eq!(field(&clocks, "transit_within_hours"), Some("600"));
        }
    }
    // All weights at zero is refused for the group.
    let response = submit(&web, "/settings", "/settings/automation", |f| {
        for weight in ["weight_margin", "weight_speed", "weight_rating", "weight_on_time"] {
            set(f, weight, "0");
        }
    })
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("a body");
    assert!(body.contains("id=\"routing_weights-error\""), "{body}");

    // Several refused fields at once: each is named, and a good one beside them is not kept.
    let response = submit(&web, "/settings", "/settings/brand", |f| {
        set(f, "display_name", "Fine Name");
        set(f, "from_email", "x");
        set(f, "logo_url", "http://x.example/l.png");
        set(f, "website_url", "ftp://x.example");
    })
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("a body");
    for name in ["from_email", "logo_url", "website_url"] {
        assert!(body.contains(&format!("id=\"{name}-error\"")), "{name}: {body}");
    }
    assert!(!body.contains("id=\"display_name-error\""), "{body}");
    assert_eq!(
        field(&form_fields(&body, "/settings/brand"), "display_name"),
        Some("Fine Name")
    );

    assert_eq!(before, app.snapshot().await, "a refused form wrote something");
    assert_eq!(store_json(&app, &seeded.store_id).await["settings"], settings_before);
}

async fn a_generated_webhook_secret_is_shown_once_verifies_and_the_retired_one_stops(app: TestApp) {
    let (id, web) = shopify_store(&app).await;
    let (status, body) = web.get("/settings").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("One secret is set"), "{body}");
    assert!(body.contains(&format!("/webhooks/shopify/{id}")), "{body}");
    assert!(!body.contains(OLD_SECRET), "a secret is never shown");
    assert!(
        !body.contains("action=\"/settings/webhook-secret/retire\""),
        "nothing to retire yet: {body}"
    );

    // Generate: shown once, in an answer nobody caches.
    let response = submit(&web, "/settings", "/settings/webhook-secret/generate", |_| {}).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body = response.text().await.expect("a body");
    let secret = revealed(&body);
    assert!(secret.len() >= 32, "{secret}");
    assert!(body.contains("shown only this once"), "{body}");
    assert!(!body.contains(OLD_SECRET));
    let connection = store_json(&app, &id).await["connection"].clone();
    assert_eq!(connection["webhook_secrets"], 2);
    assert!(!connection.to_string().contains(&secret));

    let (status, body) = web.get("/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains(&secret), "the secret is shown only once");
    assert!(!body.contains(OLD_SECRET));
    assert!(body.contains("2 secrets are set"), "{body}");
    assert!(body.contains("action=\"/settings/webhook-secret/retire\""), "{body}");

    // During the rotation both secrets verify; another one does not.
    assert_eq!(deliver(&app, &id, &secret).await.expect(200)["outcome"], "created");
    assert_eq!(deliver(&app, &id, OLD_SECRET).await.expect(200)["outcome"], "created");
    deliver(&app, &id, "shpss_some_other_secret")
        .await
        .expect_error(401, "unauthorized");

    // Retire the older one: only the newest verifies.
    let response = submit(&web, "/settings", "/settings/webhook-secret/retire", |_| {}).await;
    let body = saved(&web, response, "/settings?saved=retired#webhooks").await;
    assert!(body.contains("One secret is set"), "{body}");
    assert_eq!(store_json(&app, &id).await["connection"]["webhook_secrets"], 1);
    deliver(&app, &id, OLD_SECRET).await.expect_error(401, "unauthorized");
    assert_eq!(deliver(&app, &id, &secret).await.expect(200)["outcome"], "created");

    // Retiring again changes nothing.
    let stored = app.snapshot().await;
    let response = post_pairs(
        &web,
        "/settings/webhook-secret/retire",
        &[
            ("csrf".to_string(), web.csrf().await),
            ("store".to_string(), id.clone()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored, app.snapshot().await);
}

async fn the_platforms_secret_is_set_and_a_short_one_refused(app: TestApp) {
    let (id, web) = shopify_store(&app).await;
    let pasted = "shpss_pasted_from_the_platform";
    let response = submit(&web, "/settings", "/settings/webhook-secret/set", |f| {
        set(f, "webhook_secret", &format!("  {pasted}\n"));
    })
    .await;
    let body = saved(&web, response, "/settings?saved=secret#webhooks").await;
    assert!(!body.contains(pasted), "{body}");
    assert_eq!(store_json(&app, &id).await["connection"]["webhook_secrets"], 2);
    assert_eq!(deliver(&app, &id, pasted).await.expect(200)["outcome"], "created");
    assert_eq!(deliver(&app, &id, OLD_SECRET).await.expect(200)["outcome"], "created");

    // A short secret is refused next to its field, not echoed, and nothing changes.
    let stored = app.snapshot().await;
    let response = submit(&web, "/settings", "/settings/webhook-secret/set", |f| {
        set(f, "webhook_secret", "short");
    })
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("a body");
    assert!(
        body.contains("<p class=\"field-error\" id=\"webhook_secret-error\">"),
        "{body}"
    );
    assert!(body.contains("webhook_secret-hint webhook_secret-error"), "{body}");
    assert!(!body.contains(">short<"), "{body}");
    assert_eq!(stored, app.snapshot().await);

    // An API store has no webhooks to set a secret for.
    let (seeded, seller_web) = seller_of_seeded(&app).await;
    let stored = app.snapshot().await;
    let response = post_pairs(
        &seller_web,
        "/settings/webhook-secret/generate",
        &[
            ("csrf".to_string(), seller_web.csrf().await),
            ("store".to_string(), seeded.store_id.clone()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!response.text().await.expect("a body").contains("revealed-value"));
    assert_eq!(stored, app.snapshot().await);
}

async fn a_rotated_api_token_works_and_the_old_one_is_refused(app: TestApp) {
    let (seeded, web) = seller_of_seeded(&app).await;
    let id = &seeded.store_id;
    app.with_token(&seeded.token).get_store(id).await.expect(200);

    let response = submit(&web, "/settings", "/settings/api-token/rotate", |_| {}).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body = response.text().await.expect("a body");
    let token = revealed(&body);
    assert!(token.starts_with("dl_"), "{token}");
    assert_ne!(token, seeded.token);

    app.with_token(&seeded.token)
        .get_store(id)
        .await
        .expect_error(401, "unauthorized");
    app.with_token(&seeded.token)
        .post_order(&seeded.order(&seeded.next_external_id()))
        .await
        .expect_error(401, "unauthorized");
    let read = app.with_token(&token).get_store(id).await.expect(200);
    assert_eq!(read["id"], id.as_str());
    app.with_token(&token)
        .post_order(&seeded.order(&seeded.next_external_id()))
        .await
        .expect(201);

    let (status, body) = web.get("/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains(&token), "the token is shown only once");
}

async fn staff_are_refused_every_settings_route(app: TestApp) {
    let seeded = app.seed().await;
    let email = user(&app, Some(&seeded.store_id), Role::Staff, "staff@example.com").await;
    let web = Web::sign_in(&app, &email).await;
    let (status, orders) = web.get("/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!orders.contains("href=\"/settings\""), "no Settings link for staff");

    for path in ["/settings", &format!("/settings?store={}", seeded.store_id)] {
        let (status, body) = web.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!body.contains("action=\"/settings/"), "{body}");
    }
    let before = app.snapshot().await;
    for action in ACTIONS {
        let response = web
            .post(
                action,
                &[
                    ("store", seeded.store_id.as_str()),
                    ("display_name", "Staff was here"),
                    ("webhook_secret", "staff-secret-123"),
                    ("routing_policy", "fastest"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
        assert!(!response.text().await.expect("a body").contains("revealed-value"));
    }
    assert_eq!(before, app.snapshot().await);
    app.with_token(&seeded.token)
        .get_store(&seeded.store_id)
        .await
        .expect(200);
}

async fn a_missing_or_wrong_csrf_token_is_refused_and_changes_nothing(app: TestApp) {
    let (seeded, web) = seller_of_seeded(&app).await;
    let (_, body) = web.get("/settings").await;
    let before = app.snapshot().await;
    for action in ACTIONS {
        let mut fields = if body.contains(&format!("action=\"{action}\"")) {
            form_fields(&body, action)
        } else {
            vec![("store".to_string(), seeded.store_id.clone())]
        };
        set(&mut fields, "display_name", "Forged");
        set(&mut fields, "customs_hours", "1");
        fields.retain(|(n, _)| n != "csrf");
        let response = post_pairs(&web, action, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action} without a token");
        set(&mut fields, "csrf", &"0".repeat(64));
        let response = post_pairs(&web, action, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action} with a wrong token");
        assert!(!response.text().await.expect("a body").contains("revealed-value"));
    }
    assert_eq!(before, app.snapshot().await);
    app.with_token(&seeded.token)
        .get_store(&seeded.store_id)
        .await
        .expect(200);
}

async fn an_operator_picks_a_store(app: TestApp) {
    let a = app.seed().await;
    let b = app.seed().await;
    let email = user(&app, None, Role::Operator, "operator@example.com").await;
    let web = Web::sign_in(&app, &email).await;

    // Without a store: the first, with a picker of every store.
    let (status, body) = web.get("/settings").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"store-picker\""), "{body}");
    for id in [&a.store_id, &b.store_id] {
        assert!(body.contains(&format!("<option value=\"{id}\"")), "{id}: {body}");
    }
    assert_every_control_is_labelled(&body);

    // Store B, picked.
    let page = format!("/settings?store={}", b.store_id);
    let (status, body) = web.get(&page).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(hidden(&body, "store"), b.store_id);
    assert!(
        body.contains(&format!("<option value=\"{}\" selected>", b.store_id)),
        "{body}"
    );
    let a_before = store_json(&app, &a.store_id).await;

    let response = submit(&web, &page, "/settings/brand", |f| set(f, "display_name", "Bee Store")).await;
    saved(
        &web,
        response,
        &format!("/settings?store={}&saved=brand#brand", b.store_id),
    )
    .await;
    assert_eq!(
        store_json(&app, &b.store_id).await["settings"]["brand"]["display_name"],
        "Bee Store"
    );
    assert_eq!(store_json(&app, &a.store_id).await, a_before);

    // The operator rotates a store's token too.
    let response = submit(&web, &page, "/settings/api-token/rotate", |_| {}).await;
    assert_eq!(response.status(), StatusCode::OK);
    let token = revealed(&response.text().await.expect("a body"));
    app.with_token(&token).get_store(&b.store_id).await.expect(200);
    app.with_token(&b.token)
        .get_store(&b.store_id)
        .await
        .expect_error(401, "unauthorized");
    app.with_token(&a.token).get_store(&a.store_id).await.expect(200);

    // A form without its store, or an unknown one, is not applied anywhere.
    let before = app.snapshot().await;
    let csrf = web.csrf().await;
    for store in ["", "not-a-store", "01900000-0000-7000-8000-000000000000"] {
        let response = web
            .post_raw(
                "/settings/brand",
                &[("csrf", &csrf), ("store", store), ("display_name", "Nobody's")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "store={store}");
        if !store.is_empty() {
            let (status, _) = web.get(&format!("/settings?store={store}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "store={store}");
        }
    }
    assert_eq!(before, app.snapshot().await);
}

async fn another_stores_id_is_not_found_and_changes_nothing(app: TestApp) {
    let (mine, web) = seller_of_seeded(&app).await;
    let theirs = app.seed().await;
    app.with_token(&theirs.token)
        .update_store_settings(
            &theirs.store_id,
            &json!({"brand": {"display_name": "Their Secret Shop"}}),
        )
        .await
        .expect(200);

    let (status, body) = web.get(&format!("/settings?store={}", theirs.store_id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("Their Secret Shop"), "{body}");

    let (_, page) = web.get("/settings").await;
    let before = app.snapshot().await;
    for action in ACTIONS {
        let mut fields = if page.contains(&format!("action=\"{action}\"")) {
            form_fields(&page, action)
        } else {
            vec![("csrf".to_string(), web.csrf().await)]
        };
        set(&mut fields, "store", &theirs.store_id);
        set(&mut fields, "display_name", "Hijacked");
        set(&mut fields, "webhook_secret", "hijacked-secret-123");
        let response = post_pairs(&web, action, &fields).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
        let body = response.text().await.expect("a body");
        assert!(!body.contains("revealed-value"), "{action}: {body}");
        assert!(!body.contains("Their Secret Shop"));
    }
    assert_eq!(before, app.snapshot().await);
    app.with_token(&theirs.token)
        .get_store(&theirs.store_id)
        .await
        .expect(200);
    // Their own forms still work for the seller.
    let (status, _) = web.get(&format!("/settings?store={}", mine.store_id)).await;
    assert_eq!(status, StatusCode::OK);
}

async fn markup_in_a_brand_name_is_escaped(app: TestApp) {
    let (seeded, web) = seller_of_seeded(&app).await;
    let markup = "<script>alert(1)</script>";
    let response = submit(&web, "/settings", "/settings/brand", |f| set(f, "display_name", markup)).await;
    let body = saved(&web, response, "/settings?saved=brand#brand").await;
    assert!(!body.contains(markup), "{body}");
    assert!(!body.contains("<script>"), "{body}");
    let escaped = [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
    ];
    assert!(escaped.iter().any(|e| body.contains(e)), "{body}");
    let brand = form_fields(&body, "/settings/brand");
    assert_eq!(field(&brand, "display_name"), Some(markup));
    assert_eq!(
        store_json(&app, &seeded.store_id).await["settings"]["brand"]["display_name"],
        markup
    );
    // Refused and shown again as typed, still escaped.
    let response = submit(&web, "/settings", "/settings/brand", |f| {
        set(f, "display_name", "<img src=x onerror=alert(1)>");
        set(f, "from_email", "\"><script>alert(2)</script>@x.example");
    })
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("a body");
    assert!(!body.contains("<img src=x"), "{body}");
    assert!(!body.contains("<script>"), "{body}");
}
