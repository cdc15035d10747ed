#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{CUSTOMER_TEMPLATES, RenderError, RenderedEmail, SELLER_TEMPLATES, render};
use dropline_domain::catalog::Store as Shop;
use serde_json::{Value, json};
use std::path::Path;

const STORE_ID: &str = "0190a6f0-0000-7000-8000-000000000001";
const OTHER_STORE_ID: &str = "0190a6f0-0000-7000-8000-000000000002";

fn store(id: &str) -> Shop {
    serde_json::from_value(json!({
        "id": id,
        "name": "acme-store",
        "platform": "shopify",
        "currency": "EUR",
        "settings": {"brand": {
            "display_name": "Acme Goods",
            "logo_url": "https://cdn.acme.example/logo.png",
            "from_email": "orders@acme.example",
            "reply_to": "help@acme.example",
            "support_email": "support@acme.example",
            "website_url": "https://acme.example",
        }},
    }))
    .unwrap()
}

fn bare_store() -> Shop {
    serde_json::from_value(json!({
        "id": STORE_ID,
        "name": "Plain Shop",
        "platform": "api",
        "currency": "EUR",
    }))
    .unwrap()
}

fn entry(number: &str, kind: &str, detail: &str, action: &str, age: u32) -> Value {
    json!({"order_number": number, "kind": kind, "detail": detail, "suggested_action": action, "age_hours": age})
}

/// Every field the engine may send.
fn full_data() -> Value {
    json!({
        "order": {
            "number": "#1042",
            "customer_name": "Jane Doe",
            "placed_at": "2026-12-01T09:30:00Z",
            "total": "59.80 EUR",
            "items": [
                {"title": "Linen shirt", "variant_title": "M / Blue", "quantity": 2},
                {"title": "Canvas tote", "quantity": 1},
            ],
            "shipping_city": "Lyon",
            "shipping_country": "FR",
        },
        "tracking_page_url": "https://acme.example/track/4f2a",
        "parcel": {
            "carrier": "La Poste",
            "tracking_number": "LP123456789FR",
            "tracking_url": "https://carrier.example/track?n=LP123456789FR",
            "state": "in_transit",
            "expected_latest": "2026-12-10",
        },
        "delay": {"reason": "The carrier is handling more parcels than usual.", "expected_latest": "2026-12-14"},
        "failure": {"reason": "Recipient absent", "next_step": "The parcel waits for you at the post office for 10 days."},
        "refund": {"amount": "29.90 EUR"},
        "return": {"destinations": [
            {
                "items": [{"title": "Linen shirt", "variant_title": "M / Blue", "quantity": 1}],
                "address": ["Returns Desk", "Acme Goods", "4 Rue du Port", "69002 Lyon", "FR"],
            },
            {"items": [{"title": "Canvas tote", "quantity": 1}]},
        ]},
        "replacement": {
            "kind": "exchange",
            "items": [{"title": "Linen shirt", "variant_title": "L / Blue", "quantity": 1}],
        },
        "attention": {
            "kind": "shipping_late",
            "detail": "Not shipped 6 days after acceptance.",
            "suggested_action": "nudge_supplier",
        },
        "digest": {
            "date": "2026-12-04",
            "no_tracking_days": 5,
            "not_processed": [entry("#1040", "placement_late", "Paid 30 hours ago, not placed.", "contact_supplier", 30)],
            "no_tracking": [
                entry("#1031", "shipping_late", "No tracking number yet.", "nudge_supplier", 130),
                entry("#1033", "shipping_late", "No tracking number yet.", "switch_supplier", 1),
            ],
            "stuck": [entry("#1012", "stuck_in_customs", "In customs since 28 November.", "tell_customer", 170)],
            "other": [entry("#1050", "message_undeliverable", "Bounced.", "check_customer_contact", 2)],
        },
        "failed_message": {
            "template": "shipped",
            "recipient": "jane@example.invalid",
            "reason": "550 5.1.1 no such user",
            "order_number": "#1042",
        },
        "dispute": {
            "id": "0190a6f0-0000-7000-8000-0000000000d1",
            "amount": "20.00 EUR",
            "reason_code": "fraudulent",
            "due_at": "2026-12-07T12:00:00Z",
            "hours_left": 48,
            "evidence_url": "https://app.example/orders/1042/disputes/0190a6f0-0000-7000-8000-0000000000d1/evidence",
        },
        "dashboard_url": "https://app.example/orders/1042",
    })
}

fn all_templates() -> impl Iterator<Item = &'static str> {
    CUSTOMER_TEMPLATES.iter().chain(SELLER_TEMPLATES).copied()
}

fn check_clean(template: &str, email: &RenderedEmail) {
    for (part, text) in [
        ("subject", &email.subject),
        ("html", &email.html),
        ("text", &email.text),
    ] {
        assert!(!text.trim().is_empty(), "{template}: empty {part}");
        let lower = text.to_lowercase();
        assert!(!lower.contains("dropline"), "{template}: {part} names the software");
        assert!(
            !lower.contains("undefined"),
            "{template}: {part} shows undefined:\n{text}"
        );
        assert!(
            !text.contains("{{") && !text.contains("{%"),
            "{template}: {part} has template syntax"
        );
    }
    for (part, text) in [("subject", &email.subject), ("text", &email.text)] {
        for line in text.lines().map(str::trim_start) {
            for gap in [" .", " ,", "  "] {
                assert!(!line.contains(gap), "{template}: {part} has a gap {gap:?}:\n{text}");
            }
        }
    }
    assert!(!email.subject.contains('\n'), "{template}: subject on several lines");
    assert!(
        !email.text.contains("\n\n\n"),
        "{template}: text with runs of blank lines"
    );
    assert!(
        email.html.starts_with("<!DOCTYPE html>"),
        "{template}: html without layout"
    );
}

fn show(email: &RenderedEmail) -> String {
    format!(
        "Subject: {}\n\n----- text -----\n{}\n----- html -----\n{}",
        email.subject, email.text, email.html
    )
}

#[test]
fn every_template_renders_with_full_data() {
    let store = store(STORE_ID);
    for template in all_templates() {
        let email = render(template, &store, &full_data(), None).unwrap();
        check_clean(template, &email);
        assert!(email.html.contains("Acme Goods"), "{template}: no brand name");
        assert!(email.text.contains("Acme Goods"), "{template}: no brand name in text");
        assert!(!email.text.contains(" none"), "{template}: text shows none");
    }
}

#[test]
fn every_template_renders_without_data() {
    for data in [
        json!({}),
        Value::Null,
        json!([1, 2]),
        json!({"order": null, "parcel": {"carrier": null}}),
    ] {
        for store in [store(STORE_ID), bare_store()] {
            for template in all_templates() {
                let email =
                    render(template, &store, &data, None).unwrap_or_else(|e| panic!("{template} with {data}: {e}"));
                check_clean(template, &email);
                assert!(!email.text.contains(" none"), "{template}: text shows none");
            }
        }
    }
}

#[test]
fn customer_templates_show_the_brand_and_its_links() {
    let store = store(STORE_ID);
    for template in CUSTOMER_TEMPLATES {
        let email = render(template, &store, &full_data(), None).unwrap();
        assert!(
            email
                .html
                .contains(r#"<img src="https://cdn.acme.example/logo.png" alt="Acme Goods""#),
            "{template}: no logo"
        );
        assert!(
            email.html.contains(r#"href="mailto:support@acme.example""#),
            "{template}: no support mailto"
        );
        assert!(
            email.text.contains("support@acme.example"),
            "{template}: no support in text"
        );
        assert!(
            email.subject.contains("#1042"),
            "{template}: no order number in subject"
        );
    }
}

#[test]
fn shipped_links_the_tracking_page_and_the_carrier() {
    let email = render("shipped", &store(STORE_ID), &full_data(), None).unwrap();
    for part in [&email.html, &email.text] {
        assert!(part.contains("https://acme.example/track/4f2a"));
        assert!(part.contains("LP123456789FR"));
        assert!(part.contains("La Poste"));
        assert!(part.contains("10 December 2026"));
    }
    assert!(
        email
            .html
            .contains(r#"href="https://carrier.example/track?n=LP123456789FR""#)
    );
    assert!(email.text.contains("https://carrier.example/track?n=LP123456789FR"));
}

#[test]
fn the_brand_name_falls_back_to_the_store_name() {
    let email = render("order_confirmed", &bare_store(), &full_data(), None).unwrap();
    assert!(email.html.contains("Plain Shop"));
    assert!(!email.html.contains("<img"), "no logo configured");
    assert!(!email.html.contains("mailto:"), "no support address configured");
}

#[test]
fn injected_markup_is_escaped_in_html_only() {
    let mut data = full_data();
    data["order"]["customer_name"] = json!("<script>alert('x')</script>");
    data["order"]["items"][0]["title"] = json!("Shirt <img src=x onerror=alert(1)>");
    data["parcel"]["carrier"] = json!("\"><b>Carrier</b>");
    for template in ["shipped", "order_confirmed", "seller_new_order"] {
        let email = render(template, &store(STORE_ID), &data, None).unwrap();
        assert!(!email.html.contains("<script>"), "{template}");
        assert!(!email.html.contains("<img src=x"), "{template}");
        assert!(!email.html.contains("<b>Carrier"), "{template}");
        assert!(email.html.contains("&lt;script&gt;"), "{template}");
        assert!(
            email.text.contains("<script>alert('x')</script>"),
            "{template}: text is not escaped"
        );
    }
}

#[test]
fn links_that_are_not_http_are_dropped() {
    let mut data = full_data();
    data["parcel"]["tracking_url"] = json!("javascript:alert(1)");
    data["tracking_page_url"] = json!("data:text/html,hi");
    let email = render("shipped", &store(STORE_ID), &data, None).unwrap();
    assert!(!email.html.contains("javascript:"));
    assert!(!email.html.contains("data:text"));
    assert!(!email.text.contains("javascript:"));
}

#[test]
fn the_digest_has_its_three_sections_and_the_others() {
    let email = render("seller_digest", &store(STORE_ID), &full_data(), None).unwrap();
    assert_eq!(email.subject, "Daily digest for 4 December 2026: 5 open exceptions");
    for part in [&email.html, &email.text] {
        assert!(part.contains("Orders not processed within 24 hours (1)"));
        assert!(part.contains("Supplier orders without tracking after 5 days (2)"));
        assert!(part.contains("Parcels stuck (1)"));
        assert!(part.contains("Other exceptions (1)"));
        assert!(part.contains("Placement late"));
        assert!(part.contains("Nudge supplier"));
        assert!(part.contains("open for 30 hours"));
        assert!(part.contains("open for 5 days"));
        assert!(part.contains("open for 1 hour"));
    }
    let empty = render(
        "seller_digest",
        &store(STORE_ID),
        &json!({"digest": {"date": "2026-12-04"}}),
        None,
    )
    .unwrap();
    assert_eq!(empty.subject, "Daily digest for 4 December 2026: 0 open exceptions");
    assert!(empty.text.contains("no open exceptions"));
}

#[test]
fn the_flat_fields_of_older_messages_still_render() {
    let data = json!({"order_number": "#7", "customer_name": "Old Timer", "total": "10.00 EUR"});
    let email = render("order_received", &store(STORE_ID), &data, None).unwrap();
    assert_eq!(email.subject, "We've received your order #7");
    assert!(email.text.contains("Hi Old Timer,"));
    assert!(email.text.contains("Total: 10.00 EUR"));
}

#[test]
fn missing_fields_leave_no_gaps_in_the_subject() {
    let email = render("shipped", &store(STORE_ID), &json!({}), None).unwrap();
    assert_eq!(email.subject, "Your order is on its way");
    assert!(email.text.starts_with("Hello,\n"));
}

#[test]
fn unknown_or_unsafe_template_names_are_refused() {
    for name in ["nope", "../shipped", "Shipped", "", "shipped.html"] {
        assert_eq!(
            render(name, &store(STORE_ID), &json!({}), None),
            Err(RenderError::UnknownTemplate(name.to_string()))
        );
    }
}

fn write(dir: &Path, store_id: &str, file: &str, text: &[u8]) {
    let folder = dir.join(store_id);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(file), text).unwrap();
}

#[test]
fn an_override_replaces_the_default_for_its_store_only() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        STORE_ID,
        "shipped.subject.txt",
        b"{{ brand.name }}: parcel {{ parcel.tracking_number }} left",
    );
    write(
        dir.path(),
        STORE_ID,
        "shipped.txt",
        b"Yo {{ order.customer_name }}, it shipped: {{ tracking_page_url }}",
    );

    let overridden = render("shipped", &store(STORE_ID), &full_data(), Some(dir.path())).unwrap();
    assert_eq!(overridden.subject, "Acme Goods: parcel LP123456789FR left");
    assert_eq!(
        overridden.text,
        "Yo Jane Doe, it shipped: https://acme.example/track/4f2a\n"
    );
    let default = render("shipped", &store(STORE_ID), &full_data(), None).unwrap();
    assert_eq!(overridden.html, default.html, "the HTML part has no override");

    let other = render("shipped", &store(OTHER_STORE_ID), &full_data(), Some(dir.path())).unwrap();
    assert_eq!(other.subject, "Your order #1042 is on its way");
}

#[test]
fn an_overridden_layout_frames_every_default_template() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        STORE_ID,
        "layout.html",
        b"<!DOCTYPE html><html><body class=\"custom\">{% block content %}{% endblock %}</body></html>",
    );
    let email = render("delivered", &store(STORE_ID), &full_data(), Some(dir.path())).unwrap();
    assert!(email.html.contains("<body class=\"custom\">"));
    assert!(email.html.contains("has been delivered"));
}

#[test]
fn a_store_can_add_a_template_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        STORE_ID,
        "review_request.subject.txt",
        b"How was {{ order.number }}?",
    );
    write(
        dir.path(),
        STORE_ID,
        "review_request.html",
        b"{% extends \"layout.html\" %}{% block content %}Rate it{% endblock %}",
    );
    write(dir.path(), STORE_ID, "review_request.txt", b"Rate it");
    let email = render("review_request", &store(STORE_ID), &full_data(), Some(dir.path())).unwrap();
    assert_eq!(email.subject, "How was #1042?");
    assert!(email.html.contains("Rate it") && email.html.contains("Acme Goods"));
    let elsewhere = render("review_request", &store(OTHER_STORE_ID), &full_data(), Some(dir.path()));
    assert_eq!(
        elsewhere,
        Err(RenderError::UnknownTemplate("review_request".to_string()))
    );
}

#[test]
fn a_broken_override_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        STORE_ID,
        "shipped.html",
        b"<p>{% if order.number %}unclosed</p>",
    );
    let error = render("shipped", &store(STORE_ID), &full_data(), Some(dir.path())).unwrap_err();
    let RenderError::Template { template, file, detail } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(template, "shipped");
    assert_eq!(Path::new(file), dir.path().join(STORE_ID).join("shipped.html"));
    assert!(detail.contains("syntax error"), "{detail}");
    assert!(error.to_string().contains("shipped.html"), "{error}");

    // An error while rendering (not parsing) names the file as well.
    write(dir.path(), STORE_ID, "shipped.html", b"{{ 1 / 0 }}");
    let error = render("shipped", &store(STORE_ID), &full_data(), Some(dir.path())).unwrap_err();
    assert!(
        matches!(&error, RenderError::Template { file, .. } if file.ends_with("shipped.html")),
        "{error:?}"
    );

    // So does a file that is not text.
    write(dir.path(), STORE_ID, "shipped.html", &[0xff, 0xfe, 0x00]);
    let error = render("shipped", &store(STORE_ID), &full_data(), Some(dir.path())).unwrap_err();
    assert!(error.to_string().contains("shipped.html"), "{error}");

    // A broken shared piece breaks the templates that use it, and says which piece.
    std::fs::remove_file(dir.path().join(STORE_ID).join("shipped.html")).unwrap();
    write(dir.path(), STORE_ID, "components.html", b"{% macro greeting(order) %}");
    let error = render("delivered", &store(STORE_ID), &full_data(), Some(dir.path())).unwrap_err();
    assert!(error.to_string().contains("components.html"), "{error}");
}

#[test]
fn an_override_cannot_read_outside_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "top secret").unwrap();
    write(
        dir.path(),
        STORE_ID,
        "shipped.txt",
        b"{% include \"../secret.txt\" ignore missing %}x",
    );
    let email = render("shipped", &store(STORE_ID), &full_data(), Some(dir.path())).unwrap();
    assert_eq!(email.text, "x\n");
}

#[test]
fn dates_are_written_out() {
    let mut data = full_data();
    data["parcel"]["expected_latest"] = json!("2026-12-10T18:00:00+01:00");
    let email = render("shipped", &store(STORE_ID), &data, None).unwrap();
    assert!(email.text.contains("It should arrive by 10 December 2026."));
    data["parcel"]["expected_latest"] = json!("next week");
    let email = render("shipped", &store(STORE_ID), &data, None).unwrap();
    assert!(email.text.contains("It should arrive by next week."));
}

#[test]
fn snapshot_shipped() {
    let email = render("shipped", &store(STORE_ID), &full_data(), None).unwrap();
    insta::assert_snapshot!("shipped", show(&email));
}

#[test]
fn snapshot_return_approved() {
    let email = render("return_approved", &store(STORE_ID), &full_data(), None).unwrap();
    insta::assert_snapshot!("return_approved", show(&email));
}

#[test]
fn snapshot_replacement_on_its_way() {
    let email = render("replacement_on_its_way", &store(STORE_ID), &full_data(), None).unwrap();
    insta::assert_snapshot!("replacement_on_its_way", show(&email));
    assert!(!email.text.contains("Total"), "a replacement shows no price");
    let mut data = full_data();
    data["replacement"]["kind"] = json!("replacement");
    let email = render("replacement_on_its_way", &store(STORE_ID), &data, None).unwrap();
    assert_eq!(email.subject, "Your replacement for order #1042 is on its way");
}

#[test]
fn snapshot_order_confirmed_without_brand() {
    let email = render("order_confirmed", &bare_store(), &full_data(), None).unwrap();
    insta::assert_snapshot!("order_confirmed_bare_store", show(&email));
}

#[test]
fn snapshot_delivery_failed_without_data() {
    let email = render("delivery_failed", &store(STORE_ID), &json!({}), None).unwrap();
    insta::assert_snapshot!("delivery_failed_empty", show(&email));
}

#[test]
fn snapshot_seller_dispute_due() {
    let email = render("seller_dispute_due", &store(STORE_ID), &full_data(), None).unwrap();
    assert_eq!(
        email.subject,
        "Evidence for the dispute of 20.00 EUR on order #1042 is due in 48 hours"
    );
    insta::assert_snapshot!("seller_dispute_due", show(&email));
}

#[test]
fn snapshot_seller_digest() {
    let email = render("seller_digest", &store(STORE_ID), &full_data(), None).unwrap();
    insta::assert_snapshot!("seller_digest", show(&email));
}
