//! The dashboard's Stock & prices page over HTTP: price changes waiting for approval
//! approved or rejected from the page, the stock-sync settings saved or refused field by
//! field, "Sync now", sync problems resolved, unmapped variants linked, a variant's stock on
//! its catalogue page — and the refusals (staff, CSRF, another store's ids) changing nothing.

use crate::dashboard::{Web, assert_controls_are_labelled, seller, user};
use crate::id_of;
use dropline_app::Scope;
use dropline_domain::account::Role;
use dropline_domain::ids::{StoreId, SyncProblemId};
use dropline_domain::inventory::{InventorySettings, PriceChange, PriceChangeStatus, ReadingProblem, SyncProblem};
use dropline_domain::money::{Currency, Money};
use dropline_testkit::{Seeded, TestApp, data};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

fn store_of(seeded: &Seeded) -> StoreId {
    seeded.store_id.parse().expect("a store id")
}

/// A store-wide rule multiplying landed costs (12.00 + 3.00 shipping) by ten: 150.00 for
/// variants at 49.99, far above the approval threshold, so every change waits.
fn times_ten() -> Value {
    json!({
        "enabled": true,
        "rules": [{"scope": {"kind": "store"}, "rule": {"currency": "USD", "multiplier_bp": 100_000}}],
    })
}

/// Sets the ×10 rule over the API and applies it: both seeded variants get a pending change.
async fn price_changes_waiting(app: &TestApp, seeded: &Seeded) {
    let api = app.with_token(&seeded.token);
    let store = &seeded.store_id;
    api.put(&format!("/api/v1/stores/{store}/pricing"), &times_ten())
        .await
        .expect(200);
    let report = api
        .post(&format!("/api/v1/stores/{store}/pricing/apply"), &times_ten())
        .await
        .expect(200);
    assert_eq!(report["prices_pending"], 2, "{report}");
}

async fn changes(app: &TestApp, seeded: &Seeded, status: PriceChangeStatus) -> Vec<PriceChange> {
    app.app()
        .list_price_changes(Scope::Operator, Some(store_of(seeded)), Some(status), 100)
        .await
        .expect("price changes")
}

/// The pending change of the seeded store's first variant.
async fn first_pending(app: &TestApp, seeded: &Seeded) -> PriceChange {
    changes(app, seeded, PriceChangeStatus::Pending)
        .await
        .into_iter()
        .find(|c| c.variant_id.to_string() == seeded.variant_ids[0])
        .expect("a pending change of the first variant")
}

async fn price_of(app: &TestApp, variant_id: &str) -> Money {
    let (_, variant) = app
        .app()
        .get_variant(Scope::Operator, variant_id.parse().expect("a variant id"))
        .await
        .expect("the variant");
    variant.price
}

async fn inventory_settings(app: &TestApp, seeded: &Seeded) -> InventorySettings {
    app.app()
        .get_store(Scope::Operator, store_of(seeded))
        .await
        .expect("the store")
        .store
        .settings
        .inventory
}

fn usd(amount: &str) -> Money {
    Money::parse_decimal(amount, Currency::parse("USD").expect("USD")).expect("an amount")
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().expect("text").to_string()
}

/// An open sync problem of the seeded store's first offer, recorded as a sync would.
async fn sync_problem(app: &TestApp, seeded: &Seeded, sku: &str) -> SyncProblem {
    let problem = SyncProblem {
        id: SyncProblemId::new(),
        store_id: store_of(seeded),
        supplier_id: seeded.supplier_id.parse().expect("a supplier id"),
        offer_id: Some(seeded.offer_ids[0].parse().expect("an offer id")),
        supplier_sku: sku.to_string(),
        problem: ReadingProblem::UnknownSku { sku: sku.to_string() },
        at: time::OffsetDateTime::now_utc(),
        resolved_at: None,
    };
    app.app()
        .backend()
        .insert_sync_problem(&problem)
        .await
        .expect("recorded");
    problem
}

async fn open_problems(app: &TestApp, seeded: &Seeded) -> Vec<SyncProblem> {
    app.app()
        .list_sync_problems(Scope::Operator, Some(store_of(seeded)), true, 100)
        .await
        .expect("sync problems")
}

async fn the_page_shows_a_waiting_price_and_approving_it_sets_the_price(app: TestApp) {
    let seeded = app.seed().await;
    price_changes_waiting(&app, &seeded).await;
    let change = first_pending(&app, &seeded).await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let (status, body) = web.get("/stock").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_controls_are_labelled(&body);
    assert!(
        body.contains("<a href=\"/stock\">Stock &amp; prices</a>"),
        "no nav link"
    );
    assert!(body.contains(&format!("id=\"price-change-{}\"", change.id)), "{body}");
    for text in [
        seeded.skus[0].as_str(),
        seeded.skus[1].as_str(),
        "49.99 USD → <strong>150.00 USD</strong>",
        "(+200.0 %)",
        "12.00 USD",
        "Whole store (rule 1): ×10 of the landed cost 15.00 USD",
        ">Approve</button>",
        ">Reject</button>",
        "Save the stock-sync settings",
        "Sync now",
        "Every variant has an offer.",
        "No open sync problem.",
    ] {
        assert!(body.contains(text), "{text} missing in {body}");
    }

    let response = web
        .post(&format!("/stock/price-changes/{}/approve", change.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/stock?done=approved#pending");
    assert_eq!(price_of(&app, &seeded.variant_ids[0]).await, usd("150.00"));
    assert_eq!(
        price_of(&app, &seeded.variant_ids[1]).await,
        usd("49.99"),
        "only the approved variant"
    );
    let applied = changes(&app, &seeded, PriceChangeStatus::Applied).await;
    let approved = applied.iter().find(|c| c.id == change.id).expect("applied");
    assert_eq!(approved.decided_by.as_deref(), Some("sam@example.com"));

    let (_, body) = web.get("/stock?done=approved").await;
    assert!(body.contains("The new price was approved"), "{body}");
    assert!(!body.contains(&format!("id=\"price-change-{}\"", change.id)));
    assert!(body.contains(&format!("id=\"applied-{}\"", change.id)), "{body}");
    assert!(body.contains("By sam@example.com"), "{body}");

    // Decided already: a second approval changes nothing.
    let again = web
        .post(&format!("/stock/price-changes/{}/approve", change.id), &[])
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

async fn rejecting_a_waiting_price_keeps_the_price(app: TestApp) {
    let seeded = app.seed().await;
    price_changes_waiting(&app, &seeded).await;
    let change = first_pending(&app, &seeded).await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let response = web
        .post(&format!("/stock/price-changes/{}/reject", change.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/stock?done=rejected#pending");
    assert_eq!(price_of(&app, &seeded.variant_ids[0]).await, usd("49.99"));
    let rejected = changes(&app, &seeded, PriceChangeStatus::Rejected).await;
    assert_eq!(rejected.iter().map(|c| c.id).collect::<Vec<_>>(), [change.id]);
    let (_, body) = web.get("/stock?done=rejected").await;
    assert!(body.contains("The price change was rejected: the price stays."));
    assert!(!body.contains(&format!("id=\"price-change-{}\"", change.id)));

    // Neither a decision the page does not offer nor an id that is none.
    let response = web
        .post(&format!("/stock/price-changes/{}/maybe", change.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = web.post("/stock/price-changes/nope/approve", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn settings_are_saved_and_bad_ones_shown_again_with_their_reason(app: TestApp) {
    let seeded = app.seed().await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let before = inventory_settings(&app, &seeded).await;

    let response = web
        .post(
            "/stock/settings",
            &[
                ("sync", "on"),
                ("safety_buffer", "10001"),
                ("when_out", "unpublish"),
                ("sync_every_minutes", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_controls_are_labelled(&body);
    for field in ["safety_buffer", "sync_every_minutes"] {
        assert!(
            body.contains(&format!("<p class=\"field-error\" id=\"{field}-error\">")),
            "{field} not refused in {body}"
        );
        assert!(body.contains(&format!("aria-describedby=\"{field}-hint {field}-error\"")));
    }
    assert!(body.contains("must be at most 10000 units"), "{body}");
    assert!(body.contains("must be 5 to 1440 minutes"), "{body}");
    assert!(body.contains("The stock-sync settings were not saved."));
    // What was typed is kept.
    assert!(body.contains("value=\"10001\""), "{body}");
    assert!(body.contains("value=\"1\""), "{body}");
    assert!(body.contains("<option value=\"unpublish\" selected>"), "{body}");
    assert!(
        body.contains("id=\"sync\" name=\"sync\" value=\"on\" checked"),
        "{body}"
    );
    assert_eq!(inventory_settings(&app, &seeded).await, before, "nothing written");

    // Text that is no number is refused too, and writes nothing.
    let response = web
        .post(
            "/stock/settings",
            &[
                ("safety_buffer", "lots"),
                ("when_out", "hide"),
                ("sync_every_minutes", "30"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(body.contains("<p class=\"field-error\" id=\"safety_buffer-error\">must be a whole number"));
    assert!(
        body.contains("<p class=\"field-error\" id=\"when_out-error\">"),
        "{body}"
    );
    assert!(!body.contains("id=\"sync_every_minutes-error\""));
    assert_eq!(inventory_settings(&app, &seeded).await, before);

    let response = web
        .post(
            "/stock/settings",
            &[
                ("sync", "on"),
                ("safety_buffer", "3"),
                ("when_out", "unpublish"),
                ("sync_every_minutes", "30"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/stock?done=settings#settings");
    assert_eq!(
        inventory_settings(&app, &seeded).await,
        InventorySettings {
            sync: true,
            safety_buffer: 3,
            when_out: dropline_domain::inventory::WhenOutOfStock::Unpublish,
            sync_every_minutes: 30,
        }
    );
    let (_, body) = web.get("/stock?done=settings").await;
    assert!(body.contains("Saved: the stock-sync settings."));
    assert!(body.contains("value=\"3\"") && body.contains("value=\"30\""), "{body}");
}

async fn sync_now_queues_a_sync_of_the_stores_suppliers(app: TestApp) {
    let seeded = app.seed().await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let (_, body) = web.get("/stock").await;
    assert!(body.contains("never synced"), "{body}");

    let response = web.post("/stock/sync", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/stock?done=sync&jobs=1#supplier-sync");
    let (_, body) = web.get("/stock?done=sync&jobs=1").await;
    assert!(
        body.contains("supplier was queued: stock and prices follow shortly."),
        "{body}"
    );

    app.run_pending_jobs().await;
    let (_, body) = web.get("/stock").await;
    assert!(!body.contains("never synced"), "{body}");
    assert!(body.contains("last sync "), "{body}");
}

async fn a_sync_problem_is_listed_and_resolved(app: TestApp) {
    let seeded = app.seed().await;
    let problem = sync_problem(&app, &seeded, "CJ-GONE-1").await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let (_, body) = web.get("/stock").await;
    assert!(body.contains(&format!("id=\"problem-{}\"", problem.id)), "{body}");
    assert!(body.contains("The supplier does not know SKU CJ-GONE-1"), "{body}");
    assert!(body.contains(&format!("/catalogue/offers/{}", seeded.offer_ids[0])));
    assert_controls_are_labelled(&body);

    let response = web
        .post(
            &format!("/stock/sync-problems/{}/resolve", problem.id),
            &[("store", &seeded.store_id)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/stock?done=resolved#problems");
    assert!(open_problems(&app, &seeded).await.is_empty());
    let (_, body) = web.get("/stock?done=resolved").await;
    assert!(body.contains("The sync problem was marked resolved."));
    assert!(body.contains("No open sync problem."));

    // Resolved already: not an open problem any more.
    let response = web
        .post(&format!("/stock/sync-problems/{}/resolve", problem.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn unmapped_variants_link_to_their_catalogue_page(app: TestApp) {
    let seeded = app.seed().await;
    let product = app
        .admin()
        .create_product(&json!({
            "store_id": seeded.store_id,
            "title": "<b>Phone stand</b>",
            "variants": [{ "sku": "STAND-L", "title": "Large", "price": data::usd("19.99") }],
        }))
        .await
        .expect(201);
    let variant = id_of(&product["variants"][0]);
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let (_, body) = web.get("/stock").await;
    assert!(body.contains(&format!("id=\"unmapped-{variant}\"")), "{body}");
    assert!(
        body.contains(&format!("<a href=\"/catalogue/variants/{variant}\">")),
        "{body}"
    );
    assert!(body.contains("SKU STAND-L"));
    assert!(!body.contains("<b>Phone stand</b>"), "markup is shown as text");
    assert!(body.contains("One variant has no offer"), "{body}");
}

async fn the_variant_page_shows_the_stock_the_storefront_sees(app: TestApp) {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;
    let path = format!("/catalogue/variants/{}", seeded.variant_ids[0]);

    let (status, body) = web.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_controls_are_labelled(&body);
    assert!(
        body.contains("<dd id=\"stock-shown\"><strong>100</strong></dd>"),
        "{body}"
    );
    assert!(body.contains("<dd id=\"stock-sellable\">100 "));
    assert!(body.contains("<dd id=\"stock-reserved\">0 "));

    // An accepted order holds its 2 units until its supplier order is placed.
    let order = id_of(&api.post_order(&seeded.order("held")).await.expect(201));
    api.accept(&order).await.expect(200);
    let (_, body) = web.get(&path).await;
    assert!(
        body.contains("<dd id=\"stock-shown\"><strong>98</strong></dd>"),
        "{body}"
    );
    assert!(body.contains("<dd id=\"stock-sellable\">100 "));
    assert!(body.contains("<dd id=\"stock-reserved\">2 "));
    assert!(body.contains("<dd id=\"stock-buffer\">0 "));
}

async fn staff_see_the_page_but_change_nothing(app: TestApp) {
    let seeded = app.seed().await;
    price_changes_waiting(&app, &seeded).await;
    let change = first_pending(&app, &seeded).await;
    let problem = sync_problem(&app, &seeded, "CJ-GONE-1").await;
    let before = inventory_settings(&app, &seeded).await;
    let email = user(&app, Some(&seeded.store_id), Role::Staff, "pat@example.com").await;
    let web = Web::sign_in(&app, &email).await;

    let (status, body) = web.get("/stock").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("id=\"price-change-{}\"", change.id)));
    assert!(body.contains("CJ-GONE-1"));
    assert!(body.contains("id=\"settings-described\""), "{body}");
    for control in [
        ">Approve<",
        ">Reject<",
        ">Resolve<",
        "Sync now",
        "Save the stock-sync settings",
    ] {
        assert!(!body.contains(control), "staff are offered {control}");
    }
    assert_controls_are_labelled(&body);

    let posts = [
        format!("/stock/price-changes/{}/approve", change.id),
        format!("/stock/price-changes/{}/reject", change.id),
        format!("/stock/sync-problems/{}/resolve", problem.id),
        "/stock/sync".to_string(),
        "/stock/settings".to_string(),
    ];
    let form = [
        ("store", seeded.store_id.as_str()),
        ("sync", "on"),
        ("safety_buffer", "5"),
        ("when_out", "unpublish"),
        ("sync_every_minutes", "30"),
    ];
    for path in &posts {
        let response = web.post(path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(response.text().await.expect("body").contains("Not allowed"));
    }
    assert_eq!(first_pending(&app, &seeded).await.status, PriceChangeStatus::Pending);
    assert_eq!(price_of(&app, &seeded.variant_ids[0]).await, usd("49.99"));
    assert_eq!(open_problems(&app, &seeded).await.len(), 1);
    assert_eq!(inventory_settings(&app, &seeded).await, before);
}

async fn forms_without_the_sessions_token_are_refused(app: TestApp) {
    let seeded = app.seed().await;
    price_changes_waiting(&app, &seeded).await;
    let change = first_pending(&app, &seeded).await;
    let problem = sync_problem(&app, &seeded, "CJ-GONE-1").await;
    let before = inventory_settings(&app, &seeded).await;
    let web = Web::sign_in(&app, &seller(&app, &seeded.store_id, "sam@example.com").await).await;

    let paths = [
        format!("/stock/price-changes/{}/approve", change.id),
        format!("/stock/price-changes/{}/reject", change.id),
        format!("/stock/sync-problems/{}/resolve", problem.id),
        "/stock/sync".to_string(),
        "/stock/settings".to_string(),
    ];
    let form = [
        ("store", seeded.store_id.as_str()),
        ("sync", "on"),
        ("safety_buffer", "5"),
        ("when_out", "unpublish"),
        ("sync_every_minutes", "30"),
    ];
    for path in &paths {
        for csrf in [None, Some(""), Some("wrong")] {
            let mut pairs = form.to_vec();
            if let Some(csrf) = csrf {
                pairs.push(("csrf", csrf));
            }
            let response = web.post_raw(path, &pairs).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} with {csrf:?}");
            let body = response.text().await.expect("body");
            assert!(body.contains("security token is missing or wrong"), "{body}");
        }
    }
    assert_eq!(first_pending(&app, &seeded).await.status, PriceChangeStatus::Pending);
    assert_eq!(price_of(&app, &seeded.variant_ids[0]).await, usd("49.99"));
    assert_eq!(open_problems(&app, &seeded).await.len(), 1);
    assert_eq!(inventory_settings(&app, &seeded).await, before);
}

async fn the_operator_picks_a_store_and_another_stores_ids_are_not_found(app: TestApp) {
    let ours = app.seed().await;
    let theirs = app.seed().await;
    price_changes_waiting(&app, &theirs).await;
    let their_change = first_pending(&app, &theirs).await;
    let their_problem = sync_problem(&app, &theirs, "CJ-THEIRS").await;
    let their_settings = inventory_settings(&app, &theirs).await;

    // A seller of another store sees none of it and changes none of it.
    let web = Web::sign_in(&app, &seller(&app, &ours.store_id, "sam@example.com").await).await;
    let (_, body) = web.get("/stock").await;
    assert!(!body.contains(theirs.skus[0].as_str()) && !body.contains("CJ-THEIRS"));
    let (status, _) = web.get(&format!("/stock?store={}", theirs.store_id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = web.get("/stock?store=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let settings_form = [
        ("store", theirs.store_id.as_str()),
        ("safety_buffer", "5"),
        ("when_out", "unpublish"),
        ("sync_every_minutes", "30"),
    ];
    for (path, form) in [
        (format!("/stock/price-changes/{}/approve", their_change.id), &[][..]),
        (format!("/stock/price-changes/{}/reject", their_change.id), &[][..]),
        (format!("/stock/sync-problems/{}/resolve", their_problem.id), &[][..]),
        ("/stock/sync".to_string(), &settings_form[..1]),
        ("/stock/settings".to_string(), &settings_form[..]),
    ] {
        let response = web.post(&path, form).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(first_pending(&app, &theirs).await.status, PriceChangeStatus::Pending);
    assert_eq!(open_problems(&app, &theirs).await.len(), 1);
    assert_eq!(inventory_settings(&app, &theirs).await, their_settings);

    // The operator picks the store, and decides for it.
    let operator = Web::sign_in(&app, &user(&app, None, Role::Operator, "op@example.com").await).await;
    let (status, body) = operator.get(&format!("/stock?store={}", theirs.store_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<label for=\"store\">"));
    assert!(body.contains(&format!("<option value=\"{}\" selected>", theirs.store_id)));
    assert!(body.contains(&format!("id=\"price-change-{}\"", their_change.id)));
    assert_controls_are_labelled(&body);
    let response = operator
        .post(&format!("/stock/price-changes/{}/approve", their_change.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/stock?store={}&done=approved#pending", theirs.store_id)
    );
    assert_eq!(price_of(&app, &theirs.variant_ids[0]).await, usd("150.00"));
    // The operator's forms name their store: one that does not is applied to none.
    let response = operator.post("/stock/sync", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

backend_tests!(
    the_page_shows_a_waiting_price_and_approving_it_sets_the_price,
    rejecting_a_waiting_price_keeps_the_price,
    settings_are_saved_and_bad_ones_shown_again_with_their_reason,
    sync_now_queues_a_sync_of_the_stores_suppliers,
    a_sync_problem_is_listed_and_resolved,
    unmapped_variants_link_to_their_catalogue_page,
    the_variant_page_shows_the_stock_the_storefront_sees,
    staff_see_the_page_but_change_nothing,
    forms_without_the_sessions_token_are_refused,
    the_operator_picks_a_store_and_another_stores_ids_are_not_found,
);
