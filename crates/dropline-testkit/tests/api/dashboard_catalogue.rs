//! The dashboard's catalogue and suppliers over HTTP: what the pages list, adding, editing
//! and promoting offers, adding and editing suppliers — and the refusals (bad fields named
//! one by one, another store's ids, staff, CSRF) changing nothing.

use crate::dashboard::{Web, assert_controls_are_labelled, hidden, seller, user};
use crate::id_of;
use dropline_app::Scope;
use dropline_domain::account::Role;
use dropline_domain::catalog::{Offer, OfferPriority, Supplier};
use dropline_domain::ids::StoreId;
use dropline_testkit::{Seeded, TestApp, data};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

fn store_of(seeded: &Seeded) -> StoreId {
    seeded.store_id.parse().expect("a store id")
}

/// The store's offers, read through the engine.
async fn offers_of(app: &TestApp, seeded: &Seeded) -> Vec<Offer> {
    app.app()
        .list_offers(Scope::Operator, Some(store_of(seeded)))
        .await
        .expect("offers")
}

async fn offer(app: &TestApp, seeded: &Seeded, id: &str) -> Offer {
    offers_of(app, seeded)
        .await
        .into_iter()
        .find(|o| o.id.to_string() == id)
        .expect("the offer")
}

async fn supplier(app: &TestApp, id: &str) -> Supplier {
    app.app()
        .get_supplier(Scope::Operator, id.parse().expect("a supplier id"))
        .await
        .expect("the supplier")
}

/// A product of the seeded store with one variant and no offer; the variant's id.
async fn unmapped_variant(app: &TestApp, seeded: &Seeded, title: &str, sku: &str) -> String {
    let product = app
        .admin()
        .create_product(&json!({
            "store_id": seeded.store_id,
            "title": title,
            "variants": [{ "sku": sku, "title": "Large", "price": data::usd("19.99") }],
        }))
        .await
        .expect(201);
    id_of(&product["variants"][0])
}

/// A complete offer form for `supplier_id` (two shipping methods).
fn offer_form(supplier_id: &str) -> Vec<(&str, &str)> {
    vec![
        ("supplier_id", supplier_id),
        ("supplier_sku", "CJ-NEW-1"),
        ("supplier_product_id", "P-77"),
        ("supplier_variant_id", ""),
        ("product_url", "https://supplier.example/p/77"),
        ("currency", "USD"),
        ("unit_cost", "9.75"),
        ("stock", "40"),
        ("priority", "primary"),
        ("shipping-0-country", "us"),
        ("shipping-0-name", "Express"),
        ("shipping-0-cost", "4.50"),
        ("shipping-0-min_days", "3"),
        ("shipping-0-max_days", "6"),
        ("shipping-1-country", "*"),
        ("shipping-1-name", "Standard"),
        ("shipping-1-cost", "2"),
        ("shipping-1-min_days", "8"),
        ("shipping-1-max_days", "15"),
    ]
}

/// `form` with some fields replaced.
fn with<'a>(form: &[(&'a str, &'a str)], changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    form.iter()
        .map(|(name, value)| {
            let changed = changes.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            (*name, changed.unwrap_or(value))
        })
        .collect()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().expect("text").to_string()
}

/// Asserts that the page names `field` as refused, next to its input.
fn assert_refused(body: &str, field: &str) {
    assert!(
        body.contains(&format!("<p class=\"field-error\" id=\"{field}-error\">")),
        "{field} is not refused in {body}"
    );
    assert!(
        body.contains(&format!("{field}-error\"")) && body.contains("aria-describedby="),
        "{field} has no aria-describedby"
    );
}

fn position(body: &str, needle: &str) -> usize {
    body.find(needle).unwrap_or_else(|| panic!("{needle} not in {body}"))
}

async fn the_pages_list_what_was_seeded(app: TestApp) {
    let seeded = app.seed().await;
    let unmapped = unmapped_variant(&app, &seeded, "Phone stand", "STAND-L").await;
    let seeded_supplier = supplier(&app, &seeded.supplier_id).await;
    let offers = offers_of(&app, &seeded).await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let (status, body) = web.get("/catalogue").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_controls_are_labelled(&body);
    for sku in &seeded.skus {
        assert!(body.contains(sku.as_str()), "{sku} missing");
    }
    for offer in &offers {
        assert!(body.contains(&offer.supplier_sku), "{} missing", offer.supplier_sku);
        assert!(body.contains(&format!("id=\"offer-{}\"", offer.id)));
    }
    for text in [
        "Wireless earbuds",
        "Phone stand",
        "49.99 USD",
        "Unit cost 12.00 USD",
        "Standard to everywhere else: 3.00 USD, 7–14 days",
        "100 in stock",
        ">Primary<",
        seeded_supplier.name.as_str(),
        "1 of 3 variants unmapped",
    ] {
        assert!(body.contains(text), "{text} missing in {body}");
    }
    assert!(body.contains(&format!("id=\"variant-{unmapped}\" class=\"variant unmapped\"")));
    assert!(body.contains(">Unmapped<"));

    // Only the unmapped ones.
    let (status, body) = web.get("/catalogue?unmapped=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("STAND-L"));
    assert!(!body.contains(seeded.skus[0].as_str()));

    let (status, body) = web.get("/suppliers").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_controls_are_labelled(&body);
    for text in [
        seeded_supplier.name.as_str(),
        "Manual",
        "CN",
        "2 days",
        "90/100",
        "By hand",
    ] {
        assert!(body.contains(text), "{text} missing in {body}");
    }
    let (status, body) = web.get(&format!("/suppliers/{}", seeded.supplier_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_controls_are_labelled(&body);
    for offer in &offers {
        assert!(body.contains(&offer.supplier_sku), "{body}");
    }
    assert!(body.contains(seeded.skus[1].as_str()));
}

async fn an_offer_added_on_the_variant_page_maps_the_variant(app: TestApp) {
    let seeded = app.seed().await;
    let variant = unmapped_variant(&app, &seeded, "Phone stand", "STAND-L").await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let (status, body) = web.get(&format!("/catalogue/variants/{variant}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_controls_are_labelled(&body);
    assert!(body.contains("<label for=\"supplier_id\">"));
    assert!(body.contains("<label for=\"shipping-0-country\">"));
    assert!(!hidden(&body, "csrf").is_empty());
    // A first offer is the primary one, in the store's currency.
    assert!(body.contains("<option value=\"primary\" selected>"));
    assert!(body.contains("value=\"USD\""));

    let response = web
        .post(
            &format!("/catalogue/variants/{variant}/offers"),
            &offer_form(&seeded.supplier_id),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/catalogue?saved=offer-added#variant-{variant}")
    );

    let added = offers_of(&app, &seeded)
        .await
        .into_iter()
        .find(|o| o.variant_id.to_string() == variant)
        .expect("the new offer");
    assert_eq!(added.supplier_sku, "CJ-NEW-1");
    assert_eq!(added.supplier_product_id.as_deref(), Some("P-77"));
    assert_eq!(added.supplier_variant_id, None);
    assert_eq!(added.unit_cost.minor, 975);
    assert_eq!(added.stock, Some(40));
    assert_eq!(added.priority, OfferPriority::Primary);
    assert_eq!(added.shipping.len(), 2);
    assert_eq!(added.shipping[0].country, "US");
    assert_eq!(added.shipping[1].cost.minor, 200);

    let (_, body) = web.get("/catalogue?saved=offer-added").await;
    assert!(body.contains("The offer was added."), "{body}");
    assert!(body.contains("Every variant has an offer."), "{body}");
    assert!(body.contains("CJ-NEW-1"));
    // The notice is one dropline wrote, never the address's text.
    let (_, body) = web.get("/catalogue?saved=%3Cb%3Ehi").await;
    assert!(!body.contains("<b>hi"));
}

async fn bad_offer_forms_name_each_refused_field_and_write_nothing(app: TestApp) {
    let seeded = app.seed().await;
    let variant = unmapped_variant(&app, &seeded, "Phone stand", "STAND-L").await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let before = offers_of(&app, &seeded).await;
    let path = format!("/catalogue/variants/{variant}/offers");
    let form = offer_form(&seeded.supplier_id);

    // Fields the form itself cannot read.
    let unreadable = with(
        &form,
        &[
            ("supplier_sku", " "),
            ("unit_cost", "abc"),
            ("stock", "-1"),
            ("shipping-0-cost", "x"),
            ("shipping-0-min_days", ""),
        ],
    );
    let response = web.post(&path, &unreadable).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_controls_are_labelled(&body);
    for field in [
        "supplier_sku",
        "unit_cost",
        "stock",
        "shipping-0-cost",
        "shipping-0-min_days",
    ] {
        assert_refused(&body, field);
    }
    assert!(!body.contains("id=\"shipping-1-cost-error\""));
    // What was typed is kept.
    assert!(body.contains("value=\"abc\""), "{body}");
    assert!(body.contains("value=\"https://supplier.example/p/77\""));
    assert!(body.contains("aria-describedby=\"unit_cost-hint unit_cost-error\""));

    // Fields the engine refuses, put next to the right inputs.
    let refused = with(
        &form,
        &[
            ("product_url", "ftp://supplier.example/p"),
            ("shipping-1-country", "USA"),
            ("shipping-1-min_days", "20"),
        ],
    );
    let response = web.post(&path, &refused).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    for field in ["product_url", "shipping-1-country", "shipping-1-min_days"] {
        assert_refused(&body, field);
    }
    assert!(body.contains("value=\"USA\""));

    // No supplier chosen, no shipping method.
    let mut empty: Vec<(&str, &str)> = with(&form, &[("supplier_id", "")])
        .into_iter()
        .filter(|(name, _)| !name.starts_with("shipping-"))
        .collect();
    empty.push(("shipping-0-country", ""));
    let response = web.post(&path, &empty).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_refused(&body, "supplier_id");
    assert!(body.contains("id=\"shipping-error\""), "{body}");

    assert_eq!(offers_of(&app, &seeded).await, before);
    let (_, body) = web.get("/catalogue").await;
    assert!(body.contains("1 of 3 variants unmapped"));
}

async fn make_primary_puts_a_backup_first(app: TestApp) {
    let seeded = app.seed().await;
    let primary = seeded.offer_ids[0].clone();
    let mut backup = data::offer(
        &seeded.variant_ids[0],
        &seeded.supplier_id,
        "https://s.example/b",
        Some(5),
    );
    backup["priority"] = json!("backup");
    backup["unit_cost"] = data::usd("8.00");
    let backup = id_of(&app.admin().add_offer(&backup).await.expect(201));
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let (_, body) = web.get("/catalogue").await;
    assert!(position(&body, &format!("id=\"offer-{primary}\"")) < position(&body, &format!("id=\"offer-{backup}\"")));
    assert!(body.contains(">Backup 1<"), "{body}");
    assert!(body.contains(&format!("action=\"/catalogue/offers/{backup}/primary\"")));
    assert!(!body.contains(&format!("action=\"/catalogue/offers/{primary}/primary\"")));

    let response = web.post(&format!("/catalogue/offers/{backup}/primary"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/catalogue?saved=primary#variant-{}", seeded.variant_ids[0])
    );
    assert_eq!(offer(&app, &seeded, &backup).await.priority, OfferPriority::Primary);
    assert_eq!(offer(&app, &seeded, &primary).await.priority, OfferPriority::Backup);
    // Nothing else of the offers moved.
    assert_eq!(offer(&app, &seeded, &backup).await.stock, Some(5));

    let (_, body) = web.get("/catalogue?saved=primary").await;
    assert!(body.contains("The offer is now the primary one"));
    assert!(position(&body, &format!("id=\"offer-{backup}\"")) < position(&body, &format!("id=\"offer-{primary}\"")));
    assert!(body.contains(&format!("action=\"/catalogue/offers/{primary}/primary\"")));
}

async fn an_offer_is_edited_and_a_bad_edit_changes_nothing(app: TestApp) {
    let seeded = app.seed().await;
    let id = seeded.offer_ids[1].clone();
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let path = format!("/catalogue/offers/{id}");

    let (status, body) = web.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_controls_are_labelled(&body);
    assert!(body.contains("value=\"12.00\""));
    assert!(body.contains("value=\"100\""));
    assert!(
        body.contains("<label for=\"shipping-1-country\">"),
        "a blank row to add a method"
    );

    let form = vec![
        ("supplier_sku", "SUP-EDITED"),
        ("supplier_product_id", "P-1"),
        ("supplier_variant_id", "V-2"),
        ("product_url", ""),
        ("currency", "USD"),
        ("unit_cost", "10.50"),
        ("stock", ""),
        ("stock_was", "100"),
        ("priority", "primary"),
        ("shipping-0-country", "*"),
        ("shipping-0-name", "Economy"),
        ("shipping-0-cost", "1.25"),
        ("shipping-0-min_days", "10"),
        ("shipping-0-max_days", "20"),
        ("shipping-1-country", ""),
        ("shipping-1-name", ""),
        ("shipping-1-cost", ""),
        ("shipping-1-min_days", ""),
        ("shipping-1-max_days", ""),
    ];
    let response = web.post(&path, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/catalogue?saved=offer#variant-{}", seeded.variant_ids[1])
    );
    let edited = offer(&app, &seeded, &id).await;
    assert_eq!(edited.supplier_sku, "SUP-EDITED");
    assert_eq!(edited.supplier_variant_id.as_deref(), Some("V-2"));
    assert_eq!(edited.product_url, None);
    assert_eq!(edited.unit_cost.minor, 1050);
    assert_eq!(edited.stock, None);
    assert_eq!(edited.shipping.len(), 1);
    assert_eq!(edited.shipping[0].name, "Economy");
    assert_eq!(edited.shipping[0].cost.minor, 125);
    let (_, body) = web.get("/catalogue?saved=offer").await;
    assert!(body.contains("The offer was saved."));
    assert!(body.contains("Stock unknown"));

    // A negative cost and a currency the shipping is not in: refused, nothing written.
    let response = web.post(&path, &with(&form, &[("unit_cost", "-1")])).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_refused(&body, "unit_cost");
    assert!(body.contains("value=\"-1\""));
    let response = web.post(&path, &with(&form, &[("currency", "EURO")])).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_refused(&response.text().await.expect("body"), "currency");
    assert_eq!(offer(&app, &seeded, &id).await, edited);
}

async fn a_save_that_leaves_the_stock_as_shown_keeps_a_stock_change_made_meanwhile(app: TestApp) {
    let seeded = app.seed().await;
    let id = seeded.offer_ids[0].clone();
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let path = format!("/catalogue/offers/{id}");
    let (_, body) = web.get(&path).await;
    let shown = hidden(&body, "stock_was");
    assert_eq!(shown, "100");

    // A reservation lands while the form is open.
    let offer_id = id.parse().expect("an offer id");
    app.app()
        .update_offer(
            Scope::Operator,
            offer_id,
            dropline_app::service::OfferChanges {
                stock: Some(Some(97)),
                ..Default::default()
            },
        )
        .await
        .expect("a stock change");

    // The seller saves a new cost with the stock as the form showed it: the 97 stays.
    let before = offer(&app, &seeded, &id).await;
    let form = vec![
        ("supplier_sku", before.supplier_sku.as_str()),
        ("currency", "USD"),
        ("unit_cost", "11.00"),
        ("stock", "100"),
        ("stock_was", shown.as_str()),
        ("priority", "primary"),
        ("shipping-0-country", "*"),
        ("shipping-0-name", "Standard"),
        ("shipping-0-cost", "3.00"),
        ("shipping-0-min_days", "7"),
        ("shipping-0-max_days", "14"),
    ];
    let response = web.post(&path, &form).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let saved = offer(&app, &seeded, &id).await;
    assert_eq!(saved.unit_cost.minor, 1100);
    assert_eq!(saved.stock, Some(97));

    // A stock the seller typed is written.
    let response = web.post(&path, &with(&form, &[("stock", "40")])).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(offer(&app, &seeded, &id).await.stock, Some(40));
}

async fn another_stores_ids_answer_not_found_and_change_nothing(app: TestApp) {
    let ours = app.seed().await;
    let theirs = app.seed().await;
    let web = Web::sign_in(&app, &seller(&app, &ours.store_id, "sam@example.com").await).await;
    let their_offer = theirs.offer_ids[0].clone();
    let their_variant = theirs.variant_ids[0].clone();
    let their_supplier = theirs.supplier_id.clone();
    let offers_before = offers_of(&app, &theirs).await;
    let our_offers_before = offers_of(&app, &ours).await;
    let supplier_before = supplier(&app, &their_supplier).await;

    for path in [
        format!("/catalogue/offers/{their_offer}"),
        format!("/catalogue/variants/{their_variant}"),
        format!("/suppliers/{their_supplier}"),
        "/catalogue/offers/not-an-id".to_string(),
        "/catalogue/variants/42".to_string(),
        "/suppliers/%3Cscript%3E".to_string(),
    ] {
        let (status, body) = web.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains("Not found"), "{body}");
    }

    let offer_form = offer_form(&ours.supplier_id);
    let their_supplier_form = offer_form
        .iter()
        .map(|(name, value)| {
            if *name == "supplier_id" {
                (*name, their_supplier.as_str())
            } else {
                (*name, *value)
            }
        })
        .collect::<Vec<_>>();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/catalogue/offers/{their_offer}"), offer_form.clone()),
        (format!("/catalogue/offers/{their_offer}/primary"), vec![]),
        (
            format!("/catalogue/variants/{their_variant}/offers"),
            offer_form.clone(),
        ),
        (
            format!("/catalogue/variants/{}/offers", ours.variant_ids[0]),
            their_supplier_form,
        ),
        (
            format!("/catalogue/variants/{}/offers", ours.variant_ids[0]),
            with(&offer_form, &[("supplier_id", "not-an-id")]),
        ),
        (format!("/suppliers/{their_supplier}"), vec![("name", "Taken over")]),
        ("/catalogue/offers/nope/primary".to_string(), vec![]),
    ];
    for (path, form) in posts {
        let response = web.post(&path, &form).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(offers_of(&app, &theirs).await, offers_before);
    assert_eq!(offers_of(&app, &ours).await, our_offers_before);
    assert_eq!(supplier(&app, &their_supplier).await, supplier_before);

    let (_, body) = web.get("/catalogue").await;
    assert!(!body.contains(theirs.skus[0].as_str()));
    let (_, body) = web.get("/suppliers").await;
    assert!(!body.contains(&supplier_before.name));
}

async fn staff_see_the_pages_but_change_nothing(app: TestApp) {
    let seeded = app.seed().await;
    let variant = unmapped_variant(&app, &seeded, "Phone stand", "STAND-L").await;
    let email = user(&app, Some(&seeded.store_id), Role::Staff, "pat@example.com").await;
    let web = Web::sign_in(&app, &email).await;
    let offers_before = offers_of(&app, &seeded).await;
    let supplier_before = supplier(&app, &seeded.supplier_id).await;

    for path in [
        "/catalogue".to_string(),
        format!("/catalogue/variants/{variant}"),
        format!("/catalogue/offers/{}", seeded.offer_ids[0]),
        "/suppliers".to_string(),
        format!("/suppliers/{}", seeded.supplier_id),
    ] {
        let (status, body) = web.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(!body.contains("class=\"primary\">Add"), "{path} offers a form");
        assert!(!body.contains("Save the"), "{path} offers a form");
        assert!(!body.contains("Make primary"), "{path} offers a button");
    }

    let offer_form = offer_form(&seeded.supplier_id);
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/catalogue/variants/{variant}/offers"), offer_form.clone()),
        (format!("/catalogue/offers/{}", seeded.offer_ids[0]), offer_form.clone()),
        (format!("/catalogue/offers/{}/primary", seeded.offer_ids[1]), vec![]),
        ("/suppliers".to_string(), vec![("name", "New"), ("kind", "manual")]),
        (format!("/suppliers/{}", seeded.supplier_id), vec![("name", "Renamed")]),
    ];
    for (path, form) in posts {
        let response = web.post(&path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(response.text().await.expect("body").contains("Not allowed"));
    }
    assert_eq!(offers_of(&app, &seeded).await, offers_before);
    assert_eq!(supplier(&app, &seeded.supplier_id).await, supplier_before);
    let suppliers = app
        .app()
        .list_suppliers(Scope::Operator, Some(store_of(&seeded)))
        .await
        .expect("suppliers");
    assert_eq!(suppliers.len(), 1);
}

async fn forms_without_the_sessions_token_are_refused(app: TestApp) {
    let seeded = app.seed().await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let offers_before = offers_of(&app, &seeded).await;
    let supplier_before = supplier(&app, &seeded.supplier_id).await;
    let paths = [
        format!("/catalogue/variants/{}/offers", seeded.variant_ids[0]),
        format!("/catalogue/offers/{}", seeded.offer_ids[0]),
        format!("/catalogue/offers/{}/primary", seeded.offer_ids[1]),
        "/suppliers".to_string(),
        format!("/suppliers/{}", seeded.supplier_id),
    ];
    let mut form = offer_form(&seeded.supplier_id);
    form.extend([("name", "Renamed"), ("kind", "manual")]);
    for path in &paths {
        for csrf in [None, Some(""), Some("wrong")] {
            let mut pairs = form.clone();
            if let Some(csrf) = csrf {
                pairs.push(("csrf", csrf));
            }
            let response = web.post_raw(path, &pairs).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} with {csrf:?}");
            assert!(
                response
                    .text()
                    .await
                    .expect("body")
                    .contains("security token is missing or wrong")
            );
        }
    }
    assert_eq!(offers_of(&app, &seeded).await, offers_before);
    assert_eq!(supplier(&app, &seeded.supplier_id).await, supplier_before);
}

/// Whether the page shows `text` as text: its markup characters escaped (named or numeric).
fn shows_escaped(body: &str, text: &str) -> bool {
    let escape = |named: bool| -> String {
        text.chars()
            .map(|c| match (c, named) {
                ('<', true) => "&lt;".to_string(),
                ('>', true) => "&gt;".to_string(),
                ('&', true) => "&amp;".to_string(),
                ('<' | '>' | '&', false) => format!("&#{};", c as u32),
                (c, _) => c.to_string(),
            })
            .collect()
    };
    body.contains(&escape(true)) || body.contains(&escape(false))
}

async fn what_sellers_typed_is_escaped(app: TestApp) {
    let seeded = app.seed().await;
    unmapped_variant(&app, &seeded, "<script>alert(1)</script>", "SKU-\"><img src=x>").await;
    let mut evil = data::manual_supplier(&seeded.store_id);
    evil["name"] = json!("<b>Evil & Co</b>");
    app.admin().create_supplier(&evil).await.expect(201);
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let (_, body) = web.get("/catalogue").await;
    assert!(!body.contains("<script>alert(1)"), "{body}");
    assert!(shows_escaped(&body, "<script>alert(1)</script>"), "{body}");
    assert!(!body.contains("<img src=x>"));
    let (_, body) = web.get("/suppliers").await;
    assert!(!body.contains("<b>Evil"), "{body}");
    assert!(shows_escaped(&body, "<b>Evil & Co</b>"), "{body}");
}

async fn suppliers_are_added_and_edited_without_showing_secrets(app: TestApp) {
    let seeded = app.seed().await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let store = store_of(&seeded);
    let count = || async {
        app.app()
            .list_suppliers(Scope::Operator, Some(store))
            .await
            .expect("suppliers")
            .len()
    };

    let (status, body) = web.get("/suppliers").await;
    assert_eq!(status, StatusCode::OK);
    for field in [
        "name",
        "kind",
        "ships_from",
        "processing_days",
        "rating",
        "processing_deadline_days",
    ] {
        assert!(body.contains(&format!("<label for=\"{field}\">")), "{field}");
    }
    assert!(
        !body.contains("<label for=\"store_id\">"),
        "a seller adds to their own store"
    );

    // Refused: a number the form cannot read, a country and a rating the engine refuses.
    let response = web
        .post(
            "/suppliers",
            &[
                ("name", "Gadget Co"),
                ("kind", "cj"),
                ("processing_days", "two"),
                ("rating", "80"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_refused(&body, "processing_days");
    assert!(body.contains("value=\"Gadget Co\""));
    assert!(body.contains("<option value=\"cj\" selected>"));
    let response = web
        .post(
            "/suppliers",
            &[
                ("name", "Gadget Co"),
                ("kind", "cj"),
                ("ships_from", "China"),
                ("rating", "101"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_refused(&body, "ships_from");
    assert_refused(&body, "rating");
    let response = web.post("/suppliers", &[("name", ""), ("kind", "robot")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_refused(&body, "name");
    assert_refused(&body, "kind");
    assert_eq!(count().await, 1);

    let response = web
        .post(
            "/suppliers",
            &[
                ("name", "Gadget Co"),
                ("kind", "cj"),
                ("ships_from", "cn"),
                ("processing_days", "3"),
                ("rating", "80"),
                ("processing_deadline_days", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(to.starts_with("/suppliers?saved=added#supplier-"), "{to}");
    assert_eq!(count().await, 2);
    let id = to.rsplit("supplier-").next().expect("an id").to_string();
    let added = supplier(&app, &id).await;
    assert_eq!(added.ships_from.as_deref(), Some("CN"));
    assert_eq!((added.processing_days, added.rating), (3, 80));
    let (_, body) = web.get("/suppliers?saved=added").await;
    assert!(body.contains("The supplier was added."));
    assert!(body.contains("API not connected"));

    // Edit the plain settings.
    let path = format!("/suppliers/{id}");
    let (status, body) = web.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("value=\"Gadget Co\""));
    let response = web
        .post(
            &path,
            &[
                ("name", "Gadget Co (Shenzhen)"),
                ("ships_from", "HK"),
                ("processing_days", "2"),
                ("rating", "85"),
                ("processing_deadline_days", "10"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/suppliers/{id}?saved=settings"));
    let edited = supplier(&app, &id).await;
    assert_eq!(edited.name, "Gadget Co (Shenzhen)");
    assert_eq!(edited.ships_from.as_deref(), Some("HK"));
    assert_eq!(edited.processing_deadline_days, Some(10));
    assert_eq!(edited.kind, added.kind);
    let (_, body) = web.get(&format!("{path}?saved=settings")).await;
    assert!(body.contains("settings were saved."), "{body}");
    assert!(body.contains("10 days"));

    let response = web
        .post(
            &path,
            &[
                ("name", "Gadget Co"),
                ("rating", "200"),
                ("processing_deadline_days", "0"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_refused(&body, "rating");
    assert_refused(&body, "processing_deadline_days");
    assert_eq!(supplier(&app, &id).await, edited);

    // Credentials set through the API are told as set, never shown.
    let mut connected = data::manual_supplier(&seeded.store_id);
    connected["kind"] = json!("cj");
    connected["connection"] = json!({"api_key": "sk-very-secret-123"});
    let connected = id_of(&app.admin().create_supplier(&connected).await.expect(201));
    for path in ["/suppliers".to_string(), format!("/suppliers/{connected}")] {
        let (_, body) = web.get(&path).await;
        assert!(body.contains("API connected"), "{body}");
        assert!(!body.contains("sk-very-secret-123"));
    }
}

async fn a_suppliers_return_policy_is_set_on_its_form(app: TestApp) {
    let seeded = app.seed().await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let path = format!("/suppliers/{}", seeded.supplier_id);
    let (status, body) = web.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_controls_are_labelled(&body);
    assert!(body.contains("Takes no returns"), "{body}");
    let plain = [("name", "Gadget Co"), ("processing_days", "2"), ("rating", "90")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = plain.to_vec();
        pairs.extend_from_slice(extra);
        pairs
    };
    let before = supplier(&app, &seeded.supplier_id).await;

    // A window over a year, an address the engine refuses: named next to their fields.
    let response = web
        .post(
            &path,
            &with(&[
                ("accepts_returns", "on"),
                ("return_window_days", "400"),
                ("return_first_name", "Returns"),
                ("return_last_name", "Desk"),
                ("return_address1", "77 Harbor Blvd"),
                ("return_city", "Long Beach"),
                ("return_postal_code", "ABCDE"),
                ("return_country_code", "US"),
            ]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_refused(&body, "return_window_days");
    assert_refused(&body, "return_postal_code");
    assert!(body.contains("value=\"77 Harbor Blvd\""), "what was typed is kept");
    let response = web.post(&path, &with(&[("return_window_days", "a month")])).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_refused(&response.text().await.expect("body"), "return_window_days");
    assert_eq!(supplier(&app, &seeded.supplier_id).await, before);

    let response = web
        .post(
            &path,
            &with(&[
                ("accepts_returns", "on"),
                ("refunds_returned_items", "on"),
                ("return_window_days", "45"),
                ("return_first_name", "Returns"),
                ("return_last_name", "Desk"),
                ("return_address1", "77 Harbor Blvd"),
                ("return_city", "Long Beach"),
                ("return_region", "CA"),
                ("return_postal_code", "90802"),
                ("return_country_code", "us"),
            ]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let saved = supplier(&app, &seeded.supplier_id).await;
    let policy = &saved.return_policy;
    assert!(policy.accepts_returns && policy.refunds_returned_items && !policy.credits_without_return);
    assert_eq!(policy.window_days, 45);
    let address = policy.return_address.as_ref().expect("an address");
    assert_eq!(
        (address.city.as_str(), address.country_code.as_str()),
        ("Long Beach", "US")
    );
    let (_, body) = web.get(&path).await;
    assert!(
        body.contains("Takes returns at its own address; refunds returned items, within 45 days"),
        "{body}"
    );
    assert!(
        body.contains("id=\"accepts_returns\" name=\"accepts_returns\" value=\"on\" checked"),
        "{body}"
    );
    assert!(body.contains("value=\"90802\""), "{body}");

    // An empty address: returns go to the store's address.
    let response = web
        .post(
            &path,
            &with(&[("credits_without_return", "on"), ("return_window_days", "")]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let saved = supplier(&app, &seeded.supplier_id).await;
    assert_eq!(saved.return_policy.return_address, None);
    assert_eq!(saved.return_policy.window_days, 30);
    assert!(saved.return_policy.credits_without_return && !saved.return_policy.accepts_returns);
}

async fn the_operator_sees_every_store(app: TestApp) {
    let first = app.seed().await;
    let second = app.seed().await;
    let email = user(&app, None, Role::Operator, "op@example.com").await;
    let web = Web::sign_in(&app, &email).await;

    let (status, body) = web.get("/catalogue").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(first.skus[0].as_str()) && body.contains(second.skus[0].as_str()));
    assert!(body.contains("<label for=\"store\">"));
    let (_, body) = web.get(&format!("/catalogue?store={}", first.store_id)).await;
    assert!(body.contains(first.skus[0].as_str()));
    assert!(!body.contains(second.skus[0].as_str()));
    let (status, _) = web.get("/catalogue?store=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, body) = web.get("/suppliers").await;
    assert!(body.contains(&supplier(&app, &first.supplier_id).await.name));
    assert!(body.contains(&supplier(&app, &second.supplier_id).await.name));
    // The operator names the store of a new supplier.
    let response = web.post("/suppliers", &[("name", "Op Co"), ("kind", "manual")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_refused(&response.text().await.expect("body"), "store_id");
    let response = web
        .post(
            "/suppliers",
            &[
                ("store_id", second.store_id.as_str()),
                ("name", "Op Co"),
                ("kind", "manual"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let suppliers = app
        .app()
        .list_suppliers(Scope::Operator, Some(store_of(&second)))
        .await
        .expect("suppliers");
    assert!(suppliers.iter().any(|s| s.name == "Op Co"));
    // And may change any store's offers.
    let response = web
        .post(&format!("/catalogue/offers/{}/primary", second.offer_ids[0]), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

backend_tests!(
    the_pages_list_what_was_seeded,
    an_offer_added_on_the_variant_page_maps_the_variant,
    bad_offer_forms_name_each_refused_field_and_write_nothing,
    make_primary_puts_a_backup_first,
    an_offer_is_edited_and_a_bad_edit_changes_nothing,
    a_save_that_leaves_the_stock_as_shown_keeps_a_stock_change_made_meanwhile,
    another_stores_ids_answer_not_found_and_change_nothing,
    staff_see_the_pages_but_change_nothing,
    forms_without_the_sessions_token_are_refused,
    what_sellers_typed_is_escaped,
    suppliers_are_added_and_edited_without_showing_secrets,
    a_suppliers_return_policy_is_set_on_its_form,
    the_operator_sees_every_store,
);
