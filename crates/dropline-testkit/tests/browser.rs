//! What a person sees in a real browser (headless Chromium through chromedriver, see
//! `dropline_testkit::browser`): the customer's tracking page with markup in the store's
//! name, the customer's name and the items' titles shown as text and never run, and the page
//! of an unknown link. Skipped (with a message) where chromedriver is not installed, except
//! under `CI`. Screenshots go to `target/browser-screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dropline_app::Scope;
use dropline_domain::ids::{OrderId, StoreId};
use dropline_testkit::TestApp;
use dropline_testkit::browser::Browser;
use dropline_testkit::data;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const STORE_NAME: &str = "Lumen & <em>Co</em>";
const LAMP: &str = "Desk lamp <script>alert(1)</script>";
const SHADE: &str = "<b>Linen</b> shade & \"cord\"";
const NUMBER: &str = "YT2229521272164446";

fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}

/// An order with markup in the customer's name and the items' titles, accepted, placed with
/// the manual supplier and shipped with a YunExpress parcel; its tracking-page token.
async fn shipped_order(app: &TestApp) -> String {
    let seeded = app.seed().await;
    let store_id: StoreId = seeded.store_id.parse().expect("store id");
    let mut settings = app
        .app()
        .get_store(Scope::Operator, store_id)
        .await
        .expect("store")
        .store
        .settings;
    settings.brand.display_name = Some(STORE_NAME.into());
    app.app()
        .update_store_settings(Scope::Operator, store_id, settings, None)
        .await
        .expect("brand");

    let api = app.with_token(&seeded.token);
    let mut order = data::order(
        &seeded.store_id,
        &seeded.next_external_id(),
        &[(seeded.skus[0].as_str(), 2), (seeded.skus[1].as_str(), 1)],
    );
    order["customer"] = json!({ "name": "<script>alert(1)</script>", "email": "grace@example.com" });
    order["lines"][0]["title"] = json!(LAMP);
    order["lines"][1]["title"] = json!(SHADE);
    let order_id = id_of(&api.post_order(&order).await.expect(201));
    api.accept(&order_id).await.expect(200);
    app.run_pending_jobs().await;

    let got = api.get_order(&order_id).await.expect(200);
    let so_id = id_of(&got["supplier_orders"][0]);
    api.record_reference(&so_id, &json!({ "supplier_reference": "SUP-889" }))
        .await
        .expect(200);
    api.add_shipment(&so_id, &json!({ "carrier": "YunExpress", "tracking_number": NUMBER }))
        .await
        .expect(201);

    let id: OrderId = order_id.parse().expect("order id");
    let order = app.app().get_order(Scope::Operator, id).await.expect("order");
    order.tracking_token.expect("a parcel gives the order a tracking token")
}

#[tokio::test]
async fn the_tracking_page_shows_markup_as_text_and_runs_none_of_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let token = shipped_order(&app).await;

    browser.goto(&format!("{}/track/{token}", app.base_url())).await;
    let shot = browser.screenshot("tracking_page").await;

    // No dialog opened, and the markup in the titles became no element.
    assert_eq!(browser.alert_text().await, None, "an alert opened");
    assert!(
        browser.find_all("script").await.is_empty(),
        "{}",
        browser.page_source().await
    );
    assert!(browser.find_all("main b, main em").await.is_empty());
    let title = browser.title().await;
    assert!(title.starts_with("Order #ext-"), "{title}");
    assert!(title.ends_with(STORE_NAME), "{title}");

    // The store's name and each item, as literal text.
    assert_eq!(browser.text("header h1").await, STORE_NAME);
    let items = browser.texts("ul.items li").await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items[0].starts_with(&format!("2 × {LAMP}")), "{items:?}");
    assert!(items[1].starts_with(&format!("1 × {SHADE}")), "{items:?}");
    let source = browser.page_source().await;
    assert!(source.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{source}");

    // The parcel: its state and tracking number, linked to the carrier's own page.
    let parcel = browser.text("section.parcel").await;
    assert!(parcel.contains("Parcel 1 of 1"), "{parcel}");
    assert_eq!(browser.text("section.parcel .state").await, "Label created");
    assert!(
        parcel.contains(&format!("YunExpress · tracking number {NUMBER}")),
        "{parcel}"
    );
    let link = browser.find("section.parcel a").await;
    assert_eq!(link.text().await.expect("link text"), NUMBER);
    let href = link.attr("href").await.expect("href").unwrap_or_default();
    assert!(href.starts_with("https://"), "{href}");

    // Nothing of the supplier.
    let body = browser.text("body").await;
    for hidden in ["SUP-889", "supplier.example", "Manual supplier", "12.00"] {
        assert!(!body.contains(hidden), "{hidden} on the page: {body}");
    }
    assert!(shot.is_file(), "{}", shot.display());
    browser.quit().await;
}

#[tokio::test]
async fn an_unknown_link_shows_the_not_found_page() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;

    for token in ["0".repeat(48), "not-a-token".to_string()] {
        browser.goto(&format!("{}/track/{token}", app.base_url())).await;
        assert_eq!(browser.title().await, "Not found");
        assert_eq!(browser.text("h1").await, "We could not find this page");
        assert!(
            browser.text("main p").await.contains("link in your shipping email"),
            "{}",
            browser.page_source().await
        );
        assert!(browser.find_all("section.parcel").await.is_empty());
    }
    let shot = browser.screenshot("tracking_page_not_found").await;
    assert!(shot.is_file(), "{}", shot.display());
    browser.quit().await;
}

/// The helpers the dashboard's tests will lean on: fill, click, submit, the current URL.
#[tokio::test]
async fn the_browser_fills_clicks_and_submits_a_form() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let action = format!("{}/track/{}", app.base_url(), "0".repeat(48));
    let form = format!(
        "<form method=get action=\"{action}\"><input name=q value=old>\
         <input type=checkbox name=c value=on><button id=go>Go</button></form>"
    );
    let encoded: String = form
        .chars()
        .map(|c| match c {
            ' ' | '"' | '#' | '%' | '<' | '>' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect();
    let page = format!("data:text/html;charset=utf-8,{encoded}");

    browser.goto(&page).await;
    browser.fill("input[name=q]", "hello world").await;
    browser.click("input[name=c]").await;
    browser.click("#go").await;
    let url = wait_for_url(&browser, "q=hello+world").await;
    assert!(url.starts_with(&action) && url.contains("c=on"), "{url}");
    assert_eq!(browser.text("h1").await, "We could not find this page");

    browser.goto(&page).await;
    browser.fill("input[name=q]", "again").await;
    browser.submit("input[name=q]").await;
    let url = wait_for_url(&browser, "q=again").await;
    assert!(!url.contains("c=on"), "{url}");
    browser.quit().await;
}

/// The current URL once it contains `part` (a submitted form navigates asynchronously).
async fn wait_for_url(browser: &Browser, part: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = browser.current_url().await;
        if url.contains(part) {
            return url;
        }
        assert!(
            Instant::now() < deadline,
            "the browser stayed on {url}, waiting for {part}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The dashboard as a seller uses it: a wrong password shows a message, the right one opens
/// the orders list (the seeded order with the amber badge, the customer's markup as text),
/// the order page shows the supplier's side, another store's order is not found by typing
/// its id, and signing out goes back to the sign-in page.
#[tokio::test]
async fn a_seller_signs_in_sees_their_orders_and_signs_out() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    shipped_order(&app).await;
    let ours = app
        .app()
        .list_orders(Scope::Operator, dropline_app::ports::OrderFilter::default())
        .await
        .expect("orders");
    assert_eq!(ours.len(), 1);
    let store_id = ours[0].store_id;
    let theirs = app.seed().await;
    let their_order = id_of(
        &app.with_token(&theirs.token)
            .post_order(&theirs.order(&theirs.next_external_id()))
            .await
            .expect(201),
    );
    let password = "correct horse battery staple";
    dropline_app::accounts::Accounts::new(app.app().clone())
        .create_user(
            dropline_domain::account::Caller::operator(),
            dropline_app::accounts::NewUser {
                email: "sam@example.com".into(),
                name: "Sam Seller".into(),
                role: dropline_domain::account::Role::Seller,
                store_id: Some(store_id),
                password: password.into(),
            },
        )
        .await
        .expect("a seller");

    // Not signed in: the dashboard sends to the sign-in page.
    browser.goto(&format!("{}/orders", app.base_url())).await;
    wait_for_url(&browser, "/sign-in").await;
    assert_eq!(
        browser.find("label[for=email]").await.text().await.expect("label"),
        "Email"
    );
    assert_eq!(
        browser.find("label[for=password]").await.text().await.expect("label"),
        "Password"
    );
    let shot = browser.screenshot("dashboard_sign_in").await;
    assert!(shot.is_file(), "{}", shot.display());

    browser.fill("#email", "sam@example.com").await;
    browser.fill("#password", "not the password").await;
    browser.click("#sign-in").await;
    assert_eq!(browser.text("#sign-in-error").await, "Wrong email or password.");
    browser.fill("#email", "sam@example.com").await;
    browser.fill("#password", password).await;
    browser.click("#sign-in").await;
    // Signed in, the overview opens first: its charts are drawings, no script; then the list.
    browser.find("#overview").await;
    assert_eq!(browser.find_all("main svg.chart[role=img]").await.len(), 6);
    let shot = browser.screenshot("dashboard_overview").await;
    assert!(shot.is_file(), "{}", shot.display());
    browser.goto(&format!("{}/orders", app.base_url())).await;
    wait_for_url(&browser, "/orders").await;

    // The list: the order, its amber badge, the customer's name as text.
    let rows = browser.texts("tr.order-row").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(browser.text(".badge-drop").await, "Dropshipping");
    assert_eq!(browser.text("td.customer").await, "<script>alert(1)</script>");
    assert_eq!(browser.alert_text().await, None, "an alert opened");
    assert!(browser.find_all("main script").await.is_empty());
    assert!(browser.text("header.top").await.contains("sam@example.com"));
    let shot = browser.screenshot("dashboard_orders").await;
    assert!(shot.is_file(), "{}", shot.display());

    // The order page: address, lines, the supplier's side, the parcel, the timeline.
    browser.click("a.order-link").await;
    wait_for_url(&browser, &format!("/orders/{}", ours[0].id)).await;
    assert!(browser.text("h1").await.starts_with("Order #ext-"));
    let supplier = browser.text("section.supplier-order").await;
    assert!(supplier.contains("SUP-889"), "{supplier}");
    let link = browser.find("section.supplier-order a[target=_blank]").await;
    assert_eq!(link.text().await.expect("text"), "Open supplier page");
    let tracking = browser.find("a.tracking").await;
    assert_eq!(tracking.text().await.expect("text"), NUMBER);
    let href = tracking.attr("href").await.expect("href").unwrap_or_default();
    assert!(href.starts_with("https://"), "{href}");
    assert!(!browser.texts("ol.timeline li").await.is_empty());
    assert_eq!(browser.alert_text().await, None, "an alert opened");
    let shot = browser.screenshot("dashboard_order").await;
    assert!(shot.is_file(), "{}", shot.display());

    // Another store's order, its id typed into the address: not found.
    browser.goto(&format!("{}/orders/{their_order}", app.base_url())).await;
    assert_eq!(browser.text("h1").await, "Not found");

    // Signing out ends the session.
    browser.click("#sign-out").await;
    wait_for_url(&browser, "/sign-in").await;
    browser.goto(&format!("{}/orders", app.base_url())).await;
    wait_for_url(&browser, "/sign-in").await;
    browser.quit().await;
}

/// Waits until the page has an element matching `css` whose text contains `text`. An
/// element of the page being left can go stale between finding and reading it: that read
/// only counts as "not yet".
async fn wait_for_text(browser: &Browser, css: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut found = false;
        for element in browser.find_all(css).await {
            if element.text().await.is_ok_and(|t| t.contains(text)) {
                found = true;
            }
        }
        if found {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {css} with {text:?} on {}",
            browser.current_url().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A seller's day on the dashboard: filter the orders, select two and accept them in bulk,
/// open one, record the supplier's order id, add tracking, mark it shipped and delivered,
/// and see the timeline and the state follow.
#[tokio::test]
async fn a_seller_accepts_in_bulk_and_follows_an_order_to_the_door() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let mut ids = Vec::new();
    for (number, name) in [
        ("4001", "Ada Lovelace"),
        ("4002", "Grace Hopper"),
        ("4003", "Alan Turing"),
    ] {
        let mut order = seeded.order(number);
        order["number"] = json!(format!("#{number}"));
        order["customer"] = json!({"name": name, "email": "customer@example.com"});
        ids.push(id_of(&api.post_order(&order).await.expect(201)));
    }
    let password = "correct horse battery staple";
    dropline_app::accounts::Accounts::new(app.app().clone())
        .create_user(
            dropline_domain::account::Caller::operator(),
            dropline_app::accounts::NewUser {
                email: "sam@example.com".into(),
                name: "Sam Seller".into(),
                role: dropline_domain::account::Role::Seller,
                store_id: Some(seeded.store_id.parse().expect("store id")),
                password: password.into(),
            },
        )
        .await
        .expect("a seller");

    browser.goto(&format!("{}/sign-in", app.base_url())).await;
    browser.fill("#email", "sam@example.com").await;
    browser.fill("#password", password).await;
    browser.click("#sign-in").await;
    wait_for_text(&browser, "header.top", "sam@example.com").await;

    // Search, then filter by state.
    browser.goto(&format!("{}/orders", app.base_url())).await;
    browser.fill("#q", "hopper").await;
    browser.click("#filter").await;
    wait_for_url(&browser, "q=hopper").await;
    assert_eq!(browser.texts("a.order-link").await, ["#4002"]);
    let shot = browser.screenshot("dashboard_orders_search").await;
    assert!(shot.is_file(), "{}", shot.display());
    browser.click("#clear-filters").await;
    wait_for_text(&browser, "a.order-link", "#4001").await;
    browser
        .find("#state option[value=pending_review]")
        .await
        .click()
        .await
        .expect("choose");
    browser.click("#filter").await;
    wait_for_url(&browser, "state=pending_review").await;
    assert_eq!(browser.texts("a.order-link").await, ["#4003", "#4002", "#4001"]);

    // Select two and accept them together.
    // With the page's script: the bulk buttons wait for a selection, "select all" is there.
    assert_eq!(browser.find_all("#select-all").await.len(), 1);
    let accept = browser.find("#bulk-accept").await;
    assert!(!accept.is_enabled().await.expect("enabled?"), "nothing selected yet");
    browser.click(&format!("#select-{}", ids[0])).await;
    browser.click(&format!("#select-{}", ids[2])).await;
    assert!(accept.is_enabled().await.expect("enabled?"));
    browser.click("#bulk-accept").await;
    wait_for_text(&browser, "#bulk-summary", "Accepted 2 of 2 orders.").await;
    let shot = browser.screenshot("dashboard_bulk_accept").await;
    assert!(shot.is_file(), "{}", shot.display());
    browser.click("#back-to-orders").await;
    wait_for_url(&browser, "state=pending_review").await;
    assert_eq!(browser.texts("a.order-link").await, ["#4002"]);
    app.run_pending_jobs().await;

    // Open an accepted one and take it to the door by hand.
    let order = api.get_order(&ids[0]).await.expect(200);
    assert_eq!(order["state"], "in_fulfillment");
    let so = id_of(&order["supplier_orders"][0]);
    browser.goto(&format!("{}/orders/{}", app.base_url(), ids[0])).await;
    assert_eq!(browser.text("#order-state").await, "In fulfillment");
    browser.fill(&format!("#reference-{so}"), "AE-778899").await;
    browser.click(&format!("#record-reference-{so}")).await;
    wait_for_text(&browser, "#notice", "Supplier order id recorded").await;
    assert_eq!(browser.text(".supplier-reference").await, "AE-778899");
    // A number no carrier takes, without a carrier: refused next to the field.
    browser.fill(&format!("#tracking-number-{so}"), "???").await;
    browser.click(&format!("#add-tracking-{so}")).await;
    wait_for_text(
        &browser,
        &format!("#carrier-{so}-error"),
        "no carrier could be recognised",
    )
    .await;
    browser.fill(&format!("#tracking-number-{so}"), NUMBER).await;
    browser.click(&format!("#add-tracking-{so}")).await;
    wait_for_text(&browser, "#notice", "Tracking added").await;
    assert_eq!(browser.text("a.tracking").await, NUMBER);
    let sh = id_of(&api.get_supplier_order(&so).await.expect(200)["shipments"][0]);
    browser.click(&format!("#shipped-{sh}")).await;
    wait_for_text(&browser, "#notice", "Parcel marked shipped").await;
    browser.click(&format!("#delivered-{sh}")).await;
    wait_for_text(&browser, "#notice", "Parcel marked delivered").await;
    assert_eq!(browser.text("#order-state").await, "Delivered");
    assert!(browser.find_all(&format!("#delivered-{sh}")).await.is_empty());
    let newest = browser.texts("#timeline li").await;
    let timeline = api.timeline(&ids[0]).await.expect(200);
    let last = timeline["events"]
        .as_array()
        .and_then(|events| events.last())
        .and_then(|event| event["message"].as_str())
        .expect("an event")
        .to_string();
    assert!(newest[0].contains(&last), "{newest:?} {last}");
    let shot = browser.screenshot("dashboard_order_delivered").await;
    assert!(shot.is_file(), "{}", shot.display());
    assert_eq!(api.get_order(&ids[0]).await.expect(200)["state"], "delivered");

    // The other pages, through the menu.
    for (href, heading, shows, shot) in [
        (
            "/catalogue",
            "Catalogue",
            seeded.skus[0].as_str(),
            "dashboard_catalogue",
        ),
        ("/suppliers", "Suppliers", "Manual supplier", "dashboard_suppliers"),
        ("/settings", "Settings", "Accepting orders", "dashboard_settings"),
        ("/", "Overview", "Orders per day", "dashboard_overview_after"),
    ] {
        browser
            .find(&format!("header.top nav a[href='{href}']"))
            .await
            .click()
            .await
            .expect("a menu link");
        wait_for_text(&browser, "h1", heading).await;
        let main = browser.text("main").await;
        assert!(main.contains(shows), "{href}: {main}");
        assert_eq!(browser.alert_text().await, None);
        let shot = browser.screenshot(shot).await;
        assert!(shot.is_file(), "{}", shot.display());
    }

    // On a phone-sized screen the list fits the width: no sideways scrolling.
    browser
        .driver()
        .set_window_rect(0, 0, 390, 844)
        .await
        .expect("a phone-sized window");
    browser.goto(&format!("{}/orders", app.base_url())).await;
    let widths = browser
        .driver()
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            Vec::new(),
        )
        .await
        .expect("the page's widths")
        .json()
        .clone();
    assert!(widths[0].as_u64() <= widths[1].as_u64(), "{widths}");
    let shot = browser.screenshot("dashboard_orders_phone").await;
    assert!(shot.is_file(), "{}", shot.display());
    browser.quit().await;
}
