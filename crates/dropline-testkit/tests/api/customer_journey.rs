//! The customer's side of an order, end to end over real parts: a real SMTP server on
//! 127.0.0.1 receives the emails, the tracking service simulator (17TRACK's wire format)
//! follows the parcel and pushes updates, and the tracking page is fetched over HTTP. The
//! order goes placed → shipped → in transit → delayed (stuck in customs) → out for delivery →
//! delivered, with the engine's clock moved a day at a time.

use crate::id_of;
use dropline_app::Scope;
use dropline_app::follow::FollowConfig;
use dropline_app::notify::NotifyConfig;
use dropline_connect::tracking_service::{TrackingServiceClient, TrackingServiceConfig};
use dropline_domain::ids::StoreId;
use dropline_mail::{SmtpConfig, SmtpMailer, TlsMode};
use dropline_sim::tracking::{JourneyDelays, TrackingServiceSim};
use dropline_testkit::TestApp;
use dropline_testkit::smtp::{ReceivedEmail, SmtpSink};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

pub(crate) const PUBLIC_URL: &str = "https://track.lumen.example";
const TRACKING_KEY: &str = "sim-tracking-key";
pub(crate) const NUMBER: &str = "YT2229521272164446";
/// 17TRACK's code of YunExpress.
pub(crate) const YUNEXPRESS: u32 = 190_008;
pub(crate) const DAY: Duration = Duration::from_secs(24 * 3600);

/// A dropline whose clock the test moves, sending through `smtp` and following parcels
/// through `tracker`.
pub(crate) struct World {
    pub(crate) app: TestApp,
    clock: Arc<Mutex<OffsetDateTime>>,
    pub(crate) start: OffsetDateTime,
    pub(crate) smtp: SmtpSink,
    pub(crate) tracker: TrackingServiceSim,
}

impl World {
    pub(crate) async fn start() -> World {
        Self::start_on(false).await.expect("SQLite is always there")
    }

    /// On PostgreSQL, when `DROPLINE_TEST_POSTGRES_URL` is set.
    pub(crate) async fn start_postgres() -> Option<World> {
        Self::start_on(true).await
    }

    async fn start_on(postgres: bool) -> Option<World> {
        let smtp = SmtpSink::start().await;
        let tracker = TrackingServiceSim::start(TRACKING_KEY)
            .await
            .expect("tracking simulator");
        let start = OffsetDateTime::now_utc();
        tracker.set_now(start);
        let clock = Arc::new(Mutex::new(start));
        let mut mail = SmtpConfig::new(smtp.host());
        mail.port = smtp.port();
        mail.tls = TlsMode::None;
        mail.timeout = Duration::from_secs(5);
        let tracking = TrackingServiceClient::new(
            TrackingServiceConfig::new(TRACKING_KEY)
                .with_api_base(tracker.base_url())
                .with_requests_per_second(None),
        )
        .expect("tracking client");
        let engine_clock = clock.clone();
        let configure = move |app: dropline_app::App| {
            app.with_clock(move || *engine_clock.lock().expect("clock"))
                .with_mailer(Arc::new(SmtpMailer::new(mail)))
                .with_tracking_source(Arc::new(tracking))
                .with_notify_config(NotifyConfig {
                    public_url: Some(PUBLIC_URL.into()),
                    base_backoff: Duration::from_millis(10),
                    ..NotifyConfig::default()
                })
                .with_follow_config(FollowConfig::default())
        };
        let app = if postgres {
            TestApp::spawn_postgres_with(configure).await?
        } else {
            TestApp::spawn_with(configure).await
        };
        Some(World {
            app,
            clock,
            start,
            smtp,
            tracker,
        })
    }

    /// Moves the engine's and the carrier's clocks `by` forward and runs what became due.
    pub(crate) async fn advance(&self, by: Duration) {
        let now = {
            let mut clock = self.clock.lock().expect("clock");
            *clock += by;
            *clock
        };
        self.tracker.advance(by);
        self.run_due(now).await;
    }

    pub(crate) async fn run_due(&self, now: OffsetDateTime) {
        let ahead = (now - self.start).unsigned_abs() + Duration::from_secs(60);
        self.app.run_jobs_ahead(ahead).await;
        self.app.app().check_all_clocks().await.expect("clocks");
        self.app.run_jobs_ahead(ahead).await;
    }

    /// The engine's time now.
    pub(crate) fn now(&self) -> OffsetDateTime {
        *self.clock.lock().expect("clock")
    }

    pub(crate) fn emails_to(&self, address: &str) -> Vec<ReceivedEmail> {
        self.smtp
            .received()
            .into_iter()
            .filter(|e| e.envelope_to.iter().any(|to| to == address))
            .collect()
    }
}

pub(crate) fn subject_of(email: &ReceivedEmail) -> String {
    email.subject.clone().unwrap_or_default()
}

/// The store's brand, a seller address and a short customs clock.
pub(crate) async fn brand_store(world: &World, store_id: &str) {
    let id: StoreId = store_id.parse().expect("store id");
    let app = world.app.app();
    let mut settings = app.get_store(Scope::Operator, id).await.expect("store").store.settings;
    settings.brand.display_name = Some("Lumen & Co".into());
    settings.brand.from_email = Some("orders@lumen.example".into());
    settings.brand.support_email = Some("help@lumen.example".into());
    settings.brand.logo_url = Some("https://lumen.example/logo.png".into());
    settings.seller_notifications.email = Some("owner@lumen.example".into());
    settings.clocks.customs_hours = 48;
    app.update_store_settings(Scope::Operator, id, settings, None)
        .await
        .expect("settings");
}

#[tokio::test]
async fn an_order_travels_to_the_door_with_the_right_emails_and_tracking_page() {
    journey(World::start().await).await;
}

#[tokio::test]
async fn an_order_travels_to_the_door_with_the_right_emails_and_tracking_page_on_postgres() {
    match World::start_postgres().await {
        Some(world) => journey(world).await,
        None => println!("skipped: {} is not set", dropline_testkit::POSTGRES_URL_VARIABLE),
    }
}

async fn journey(world: World) {
    let seeded = world.app.seed().await;
    brand_store(&world, &seeded.store_id).await;
    let api = world.app.with_token(&seeded.token);

    // A customer orders; the product title carries markup a page must not run.
    let mut order = seeded.order(&seeded.next_external_id());
    order["customer"] = json!({ "name": "Grace <b>Hopper</b>", "email": "grace@example.com" });
    order["lines"][0]["title"] = json!("Desk lamp <script>alert(1)</script>");
    let created = api.post_order(&order).await.expect(201);
    let order_id = id_of(&created);
    api.accept(&order_id).await.expect(200);
    world.app.run_pending_jobs().await;

    // Placed with the supplier, who ships with a YunExpress number.
    let got = api.get_order(&order_id).await.expect(200);
    let so_id = id_of(&got["supplier_orders"][0]);
    api.record_reference(&so_id, &json!({ "supplier_reference": "SUP-889" }))
        .await
        .expect(200);
    world
        .tracker
        .script_delayed_journey(NUMBER, YUNEXPRESS, JourneyDelays::default(), 4 * DAY);
    api.add_shipment(&so_id, &json!({ "carrier": "YunExpress", "tracking_number": NUMBER }))
        .await
        .expect(201);
    api.mark_shipped(&so_id, &json!({})).await.expect(200);
    world.run_due(world.start).await;

    let customer = world.smtp.wait_for(3, Duration::from_secs(10)).await;
    let subjects: Vec<String> = customer.iter().map(subject_of).collect();
    assert!(subjects.len() >= 3, "{subjects:?}");
    let shipped = world
        .emails_to("grace@example.com")
        .into_iter()
        .find(|e| {
            subject_of(e).to_lowercase().contains("shipped") || subject_of(e).to_lowercase().contains("on its way")
        })
        .unwrap_or_else(|| panic!("no shipped email among {subjects:?}"));
    let html = shipped.html.clone().expect("an HTML part");
    let text = shipped.text.clone().expect("a plain-text part");
    assert_eq!(
        shipped.from.as_ref().map(|f| f.address.as_str()),
        Some("orders@lumen.example")
    );
    assert_eq!(
        shipped.from.as_ref().and_then(|f| f.name.as_deref()),
        Some("Lumen & Co")
    );
    assert_eq!(
        shipped.reply_to.as_ref().map(|r| r.address.as_str()),
        Some("help@lumen.example")
    );
    assert!(text.contains(NUMBER) && html.contains(NUMBER));
    assert!(html.contains("yuntrack.com"), "the carrier's own page: {html}");
    assert!(!html.contains("<script>alert(1)</script>"), "{html}");
    let page_url = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{PUBLIC_URL}/track/")))
        .unwrap_or_else(|| panic!("no tracking page link in {text}"))
        .trim_end_matches(['.', ',', ')'])
        .to_string();
    let token = page_url.rsplit('/').next().expect("token").to_string();

    // Days pass: the parcel moves, then stays in customs past the store's 48 hours; the
    // customer hears of the delay before the parcel arrives.
    let delayed = |world: &World| -> Vec<ReceivedEmail> {
        world
            .emails_to("grace@example.com")
            .into_iter()
            .filter(|e| subject_of(e).starts_with("An update on your order"))
            .collect()
    };
    let mut days = 0;
    while delayed(&world).is_empty() && days < 10 {
        world.advance(DAY).await;
        days += 1;
    }
    let order = api.get_order(&order_id).await.expect(200);
    assert_eq!(delayed(&world).len(), 1, "one delay email after {days} days: {order}");
    assert_eq!(
        order["supplier_orders"][0]["shipments"][0]["state"], "customs",
        "{order}"
    );
    let exceptions = api.get("/api/v1/exceptions?kind=stuck_in_customs").await.expect(200);
    assert_eq!(
        exceptions["exceptions"].as_array().map(Vec::len),
        Some(1),
        "{exceptions}"
    );

    // Released, out for delivery, delivered; one delay email in all.
    for _ in 0..8 {
        world.advance(DAY).await;
    }
    assert_eq!(delayed(&world).len(), 1);
    let order = api.get_order(&order_id).await.expect(200);
    assert_eq!(order["state"], "delivered", "{order}");
    let to_customer = world.emails_to("grace@example.com");
    let subjects: Vec<String> = to_customer.iter().map(subject_of).collect();
    assert!(
        subjects.iter().any(|s| s.to_lowercase().contains("out for delivery")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.to_lowercase().contains("delivered")),
        "{subjects:?}"
    );
    // Every customer email: both parts, a Message-ID in the store's domain, never twice,
    // and nothing of the supplier.
    let mut ids: Vec<String> = Vec::new();
    for email in &to_customer {
        assert!(email.html.is_some() && email.text.is_some(), "{}", subject_of(email));
        let id = email.message_id.clone().expect("a Message-ID");
        assert!(
            id.ends_with("@lumen.example") || id.ends_with("@lumen.example>"),
            "{id}"
        );
        ids.push(id);
        let raw = email.raw_text();
        for secret in ["SUP-889", "supplier.example", "12.00", "Manual supplier"] {
            assert!(!raw.contains(secret), "{secret} leaked into {}", subject_of(email));
        }
    }
    let before = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), before, "one email per event");
    let outbox = api.order_messages(&order_id).await.expect(200);
    let sent = outbox["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["state"] == "sent")
        .count();
    assert!(sent >= to_customer.len(), "{outbox}");

    // The tracking page: the brand, the items, the events; escaped; nothing of the supplier.
    let page = world
        .app
        .http()
        .get(format!("{}/track/{token}", world.app.base_url()))
        .send()
        .await
        .expect("tracking page");
    assert_eq!(page.status(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let body = page.text().await.expect("page body");
    assert!(
        body.contains("Lumen &amp; Co") || body.contains("Lumen &#38; Co"),
        "{body}"
    );
    assert!(body.contains("Delivered") && body.contains("In customs") && body.contains(NUMBER));
    assert!(
        body.contains("Hong Kong") || body.contains("Shenzhen"),
        "locations on the timeline"
    );
    assert!(!body.contains("<script>alert(1)</script>"), "{body}");
    for secret in ["SUP-889", "supplier.example", "Manual supplier", "12.00"] {
        assert!(!body.contains(secret), "{secret} on the page");
    }
    let missing = world
        .app
        .http()
        .get(format!("{}/track/{}", world.app.base_url(), "0".repeat(48)))
        .send()
        .await
        .expect("page");
    assert_eq!(missing.status(), 404);
    let garbage = world
        .app
        .http()
        .get(format!("{}/track/%3Cscript%3E", world.app.base_url()))
        .send()
        .await
        .expect("page");
    assert_eq!(garbage.status(), 404);
}
