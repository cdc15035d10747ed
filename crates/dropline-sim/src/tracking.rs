//! A parcel-tracking aggregator: 17TRACK's Tracking API v2.2, served under `/track/v2.2` on
//! 127.0.0.1, with parcels whose journeys the test scripts, a simulated clock deciding which
//! scripted events have happened, signed pushes, and faults on request.
//!
//! # Endpoints
//!
//! Both take `17token: <key>` and a JSON array `[{"number", "carrier"?}]` (at most 40), and
//! answer HTTP 200 with `{"code": 0, "data": {"accepted": [...], "rejected": [...]}}`:
//!
//! - `POST /track/v2.2/register`: accepted `{origin: 1, number, carrier}`; a number
//!   registered before is rejected with -18019901; an unscripted number (while
//!   [`TrackingServiceSim::reject_unknown_numbers`] holds, the default) with -18019903
//!   (carrier not detected); a carrier code other than the scripted one with -18019910.
//! - `POST /track/v2.2/gettrackinfo`: accepted `{number, carrier, param, tag, track_info}`
//!   with `track_info` as 17TRACK v2.2 shapes it (`shipping_info`, `latest_status`,
//!   `latest_event`, `time_metrics` with `estimated_delivery_date`, `milestone`,
//!   `misc_info`, `tracking.providers[].events[]`, events newest first, each with `time_iso`
//!   in the carrier's zone, `time_utc`, `time_raw`, `description`, `location`, `stage`,
//!   `sub_status`, `address`). Only the events whose time has come on the simulated clock
//!   are shown; with none, `latest_status` is `NotFound`/`NotFound_Other`. A number not
//!   registered is rejected with -18019902.
//!
//! A missing or wrong key answers HTTP 401 with `{"code": -18010002, "data": {"errors":
//! [{"code", "message"}]}}`; a body that is not such an array answers HTTP 200 with code
//! -18010012 (the format of data is invalid); more than 40 numbers, -18010014.
//!
//! # Pushes
//!
//! [`TrackingServiceSim::push`] POSTs `{"event": "TRACKING_UPDATED", "data": <the
//! gettrackinfo entry>}` to the URL of [`TrackingServiceSim::set_webhook`], with the header
//! `sign`: the hex SHA-256 of the body, `/`, and the key. [`TrackingServiceSim::push_changed`]
//! pushes every registered number whose visible events changed since its last push (after
//! [`TrackingServiceSim::advance`], or use [`TrackingServiceSim::advance_and_push`]);
//! [`TrackingServiceSim::push_stopped`] sends `TRACKING_STOPPED`. [`PushFault`]s spoil the
//! next pushes (wrong key, body changed after signing, no header). [`WebhookInbox`] is a
//! receiver on 127.0.0.1 that keeps what it is sent, for tests without a web server.
//!
//! # The simulator's own choices
//!
//! 17TRACK does not document these: the body of a 401 and of a 429 (a 429 here has a plain
//! text body and `Retry-After` when asked for), which `stage` an event has (derived here
//! from its sub-status for the milestone ones, null otherwise), and the carriers' names.
//!
//! # Faults
//!
//! [`TrackingFault`]s are taken one per request, first from the queue of that endpoint
//! ([`TrackingServiceSim::fault_on`]), else from the queue for any endpoint
//! ([`TrackingServiceSim::fail_next`], [`TrackingServiceSim::rate_limit_next`],
//! [`TrackingServiceSim::malformed_next`], [`TrackingServiceSim::delay_next`],
//! [`TrackingServiceSim::reject_next`]).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use time::format_description::well_known::Rfc3339;
use time::macros::{datetime, format_description};
use time::{Duration, OffsetDateTime, UtcOffset};

/// The path every endpoint is under.
pub const PREFIX: &str = "/track/v2.2";
/// `register`'s path after [`PREFIX`].
pub const REGISTER: &str = "/register";
/// `gettrackinfo`'s path after [`PREFIX`].
pub const GET_TRACK_INFO: &str = "/gettrackinfo";
/// Where the simulated clock starts.
pub const EPOCH: OffsetDateTime = datetime!(2025-03-03 00:00:00 UTC);
/// The most numbers one call takes.
const MAX_NUMBERS: usize = 40;

/// 17TRACK's codes the simulator answers with.
pub mod codes {
    pub const INVALID_KEY: i64 = -18_010_002;
    pub const INTERNAL_ERROR: i64 = -18_010_003;
    pub const DATA_FORMAT_INVALID: i64 = -18_010_012;
    pub const TOO_MANY_NUMBERS: i64 = -18_010_014;
    pub const ALREADY_REGISTERED: i64 = -18_019_901;
    pub const NOT_REGISTERED: i64 = -18_019_902;
    pub const CARRIER_NOT_DETECTED: i64 = -18_019_903;
    pub const QUOTA_EXHAUSTED: i64 = -18_019_908;
    pub const NO_TRACKING_YET: i64 = -18_019_909;
    pub const CARRIER_CODE_INVALID: i64 = -18_019_910;
}

/// When a scripted event happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// This long after the moment the parcel was scripted (the simulated clock then).
    After(std::time::Duration),
    /// At this moment.
    At(OffsetDateTime),
}

/// One carrier event of a scripted parcel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedEvent {
    pub when: When,
    /// 17TRACK's sub-status (`InfoReceived`, `InTransit_PickedUp`, `Delivered_Other`, …;
    /// any text, to test what a client makes of an unknown one).
    pub sub_status: String,
    /// The carrier's words.
    pub description: String,
    /// `"City, ST, CC"`, `"City, CC"` or a free text; `None`: no place given.
    pub location: Option<String>,
    /// The carrier's local zone, in which `time_iso` is written.
    pub zone: UtcOffset,
}

impl ScriptedEvent {
    /// An event `after` the scripting moment, its time written in UTC.
    pub fn after(after: std::time::Duration, sub_status: &str, description: &str, location: Option<&str>) -> Self {
        Self {
            when: When::After(after),
            sub_status: sub_status.to_string(),
            description: description.to_string(),
            location: location.map(str::to_string),
            zone: UtcOffset::UTC,
        }
    }

    /// An event at `at`, its time written in UTC.
    pub fn at(at: OffsetDateTime, sub_status: &str, description: &str, location: Option<&str>) -> Self {
        Self {
            when: When::At(at),
            ..Self::after(std::time::Duration::ZERO, sub_status, description, location)
        }
    }

    /// The same event with its time written in the carrier's zone `hours` from UTC.
    pub fn in_zone(mut self, hours: i8) -> Self {
        self.zone = UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC);
        self
    }
}

/// The delays of a scripted cross-border journey (China to the United States), each from
/// the step before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JourneyDelays {
    /// Label made ("info received") → picked up.
    pub pickup: std::time::Duration,
    /// Picked up → departed the origin country.
    pub departure: std::time::Duration,
    /// Departed → arrived in the destination country.
    pub flight: std::time::Duration,
    /// Arrived → released by customs (customs processing an hour after arrival).
    pub customs: std::time::Duration,
    /// Released → out for delivery.
    pub last_mile: std::time::Duration,
    /// Out for delivery → delivered.
    pub delivery: std::time::Duration,
}

const HOUR: u64 = 3_600;
const DAY: u64 = 24 * HOUR;

impl Default for JourneyDelays {
    /// Picked up after a day, departs after another, a 3-day flight, a day in customs, two
    /// days to the last mile, delivered 6 hours after going out: delivered on day 8.
    fn default() -> Self {
        let secs = std::time::Duration::from_secs;
        Self {
            pickup: secs(DAY),
            departure: secs(DAY),
            flight: secs(3 * DAY),
            customs: secs(DAY),
            last_mile: secs(2 * DAY),
            delivery: secs(6 * HOUR),
        }
    }
}

impl JourneyDelays {
    /// Every step `step` after the one before.
    pub fn every(step: std::time::Duration) -> Self {
        Self {
            pickup: step,
            departure: step,
            flight: step,
            customs: step,
            last_mile: step,
            delivery: step,
        }
    }

    /// From the label to delivery, for [`journey`].
    pub fn total(&self) -> std::time::Duration {
        self.pickup + self.departure + self.flight + self.customs + self.last_mile + self.delivery
    }
}

const ORIGIN: &str = "Shenzhen, GD, CN";
const EXPORT_HUB: &str = "Hong Kong, HK";
const IMPORT_HUB: &str = "Los Angeles, CA, US";
const DESTINATION: &str = "Fresno, CA, US";

/// A typical cross-border journey, every step on time: info received → picked up → departed
/// → arrived → customs processing → released → out for delivery → delivered. Chinese steps
/// are written in +08:00, American ones in −08:00.
pub fn journey(delays: JourneyDelays) -> Vec<ScriptedEvent> {
    build_journey(delays, None, false)
}

/// [`journey`], held `extra` longer in customs (an `Exception_Delayed` event a day into
/// customs): every later step comes `extra` late.
pub fn delayed_journey(delays: JourneyDelays, extra: std::time::Duration) -> Vec<ScriptedEvent> {
    build_journey(delays, Some(extra), false)
}

/// [`journey`] whose first delivery attempt fails (`DeliveryFailure_NoBody`, 4 hours after
/// going out); the parcel goes out again a day later and is delivered `delays.delivery`
/// after that.
pub fn failed_attempt_journey(delays: JourneyDelays) -> Vec<ScriptedEvent> {
    build_journey(delays, None, true)
}

fn build_journey(d: JourneyDelays, customs_delay: Option<std::time::Duration>, fail_once: bool) -> Vec<ScriptedEvent> {
    let hour = std::time::Duration::from_secs(HOUR);
    let day = std::time::Duration::from_secs(DAY);
    let mut events = Vec::new();
    let mut t = std::time::Duration::ZERO;
    let china = |at, sub: &str, text: &str, place: &str| ScriptedEvent::after(at, sub, text, Some(place)).in_zone(8);
    let usa = |at, sub: &str, text: &str, place: &str| ScriptedEvent::after(at, sub, text, Some(place)).in_zone(-8);
    events.push(china(
        t,
        "InfoReceived",
        "Shipping label created, electronic data received",
        ORIGIN,
    ));
    t += d.pickup;
    events.push(china(
        t,
        "InTransit_PickedUp",
        "Parcel collected from the seller",
        ORIGIN,
    ));
    t += d.departure;
    events.push(china(t, "InTransit_Departure", "Departed the export hub", EXPORT_HUB));
    t += d.flight;
    events.push(usa(
        t,
        "InTransit_Arrival",
        "Arrived in the destination country",
        IMPORT_HUB,
    ));
    let arrived = t;
    events.push(usa(
        arrived + hour.min(d.customs / 2),
        "InTransit_CustomsProcessing",
        "Held for import clearance",
        IMPORT_HUB,
    ));
    t += d.customs;
    if let Some(extra) = customs_delay {
        events.push(usa(
            arrived + day.min(d.customs + extra / 2),
            "Exception_Delayed",
            "Clearance delayed: inspection requested",
            IMPORT_HUB,
        ));
        t += extra;
    }
    events.push(usa(t, "InTransit_CustomsReleased", "Released by customs", IMPORT_HUB));
    t += d.last_mile;
    events.push(usa(t, "OutForDelivery_Other", "Out for delivery", DESTINATION));
    if fail_once {
        let failed = t + (4 * hour).min(d.delivery / 2);
        events.push(usa(
            failed,
            "DeliveryFailure_NoBody",
            "Delivery attempted, nobody at the address",
            DESTINATION,
        ));
        t = failed + day;
        events.push(usa(
            t,
            "OutForDelivery_Other",
            "Out for delivery, second attempt",
            DESTINATION,
        ));
    }
    t += d.delivery;
    events.push(usa(
        t,
        "Delivered_Other",
        "Delivered, left at the front door",
        DESTINATION,
    ));
    events
}

/// A fault one request meets instead of (or on top of) its normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackingFault {
    /// HTTP 500 with a plain-text body; nothing is done.
    ServerError,
    /// HTTP 429 with `Retry-After` (seconds) when given; nothing is done.
    RateLimited { retry_after_secs: Option<u64> },
    /// The request is carried out, then its answer is cut in half (HTTP 200, not JSON).
    Malformed,
    /// The request is carried out, then its answer is held back this long.
    Delay(std::time::Duration),
    /// Every number of the request is rejected with this code and message (HTTP 200);
    /// nothing is done.
    Reject { code: i64, message: String },
    /// The whole call fails with this code (HTTP 200, `{"code": code, "data": {"errors"}}`);
    /// nothing is done.
    Code { code: i64, message: String },
}

/// What spoils a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushFault {
    /// Signed with another key.
    WrongKey,
    /// A byte of the body changed after signing.
    TamperedBody,
    /// Sent without the `sign` header.
    Unsigned,
}

/// A push the simulator sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRecord {
    pub number: String,
    /// `TRACKING_UPDATED` or `TRACKING_STOPPED`.
    pub event: String,
    /// The fault it was sent with, if any.
    pub fault: Option<PushFault>,
    /// The receiver's status, `None` when no answer came.
    pub status: Option<u16>,
}

/// Why a push was not sent or not answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// No webhook URL set.
    NoWebhook,
    /// The number is not registered.
    NotRegistered(String),
    /// The receiver did not answer (refused, time-out); the text says why.
    Transport(String),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::NoWebhook => write!(f, "no webhook URL set (TrackingServiceSim::set_webhook)"),
            PushError::NotRegistered(number) => write!(f, "{number} is not registered at the simulator"),
            PushError::Transport(why) => write!(f, "the push was not answered: {why}"),
        }
    }
}

impl std::error::Error for PushError {}

/// A scripted parcel, its events at absolute times (sorted).
struct Parcel {
    number: String,
    carrier: u32,
    events: Vec<(OffsetDateTime, ScriptedEvent)>,
    estimate: Option<(OffsetDateTime, OffsetDateTime)>,
    /// How many events were visible at its last push.
    pushed: usize,
}

impl Parcel {
    fn visible(&self, now: OffsetDateTime) -> usize {
        self.events.iter().take_while(|(at, _)| *at <= now).count()
    }
}

struct World {
    now: OffsetDateTime,
    /// By number, upper case without spaces.
    parcels: BTreeMap<String, Parcel>,
    registered: BTreeSet<String>,
    reject_unknown: bool,
    duplicate_events: bool,
    webhook: Option<String>,
}

#[derive(Default)]
struct Faults {
    any: VecDeque<TrackingFault>,
    on: BTreeMap<String, VecDeque<TrackingFault>>,
    pushes: VecDeque<PushFault>,
}

struct Inner {
    api_key: String,
    world: Mutex<World>,
    faults: Mutex<Faults>,
    calls: Mutex<BTreeMap<String, u32>>,
    pushes: Mutex<Vec<PushRecord>>,
    http: reqwest::Client,
}

/// 17TRACK's API on a local port. Cheap to clone; the server stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct TrackingServiceSim {
    inner: Arc<Inner>,
    base_url: String,
    _server: Arc<crate::Server>,
}

impl fmt::Debug for TrackingServiceSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackingServiceSim")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn to_span(duration: std::time::Duration) -> Duration {
    Duration::try_from(duration).unwrap_or(Duration::MAX)
}

/// A tracking number as compared: without spaces, upper case.
fn key(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The `sign` header for `body`: hex SHA-256 of the body, `/`, and `key`.
pub fn sign(body: &[u8], key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(body);
    hasher.update(b"/");
    hasher.update(key.as_bytes());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl TrackingServiceSim {
    /// Starts the API on 127.0.0.1 (a free port), accepting `api_key` as `17token`.
    pub async fn start(api_key: &str) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            api_key: api_key.to_string(),
            world: Mutex::new(World {
                now: EPOCH,
                parcels: BTreeMap::new(),
                registered: BTreeSet::new(),
                reject_unknown: true,
                duplicate_events: false,
                webhook: None,
            }),
            faults: Mutex::new(Faults::default()),
            calls: Mutex::new(BTreeMap::new()),
            pushes: Mutex::new(Vec::new()),
            http: crate::http_client(),
        });
        let app = Router::new()
            .route(&format!("{PREFIX}{REGISTER}"), post(register))
            .route(&format!("{PREFIX}{GET_TRACK_INFO}"), post(get_track_info))
            .layer(axum::middleware::from_fn_with_state(Arc::clone(&inner), gate))
            .with_state(Arc::clone(&inner));
        let (address, server) = crate::serve_on_loopback(app).await?;
        Ok(Self {
            inner,
            base_url: format!("http://{address}{PREFIX}"),
            _server: Arc::new(server),
        })
    }

    /// `http://127.0.0.1:PORT/track/v2.2`: the client's `api_base`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The key the simulator accepts and signs pushes with.
    pub fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    // ----- parcels -----

    /// Scripts a parcel: its 17TRACK carrier code and its events ([`When::After`] counts
    /// from now on the simulated clock). Scripting a number again replaces its events.
    pub fn script(&self, number: &str, carrier: u32, events: Vec<ScriptedEvent>) {
        let mut world = lock(&self.inner.world);
        let start = world.now;
        let mut events: Vec<(OffsetDateTime, ScriptedEvent)> = events
            .into_iter()
            .map(|event| {
                let at = match event.when {
                    When::After(after) => start.saturating_add(to_span(after)),
                    When::At(at) => at,
                };
                (at, event)
            })
            .collect();
        events.sort_by_key(|(at, _)| *at);
        world.parcels.insert(
            key(number),
            Parcel {
                number: number.trim().to_string(),
                carrier,
                events,
                estimate: None,
                pushed: 0,
            },
        );
    }

    /// Scripts [`journey`] for the number.
    pub fn script_journey(&self, number: &str, carrier: u32, delays: JourneyDelays) {
        self.script(number, carrier, journey(delays));
    }

    /// Scripts [`delayed_journey`] for the number.
    pub fn script_delayed_journey(
        &self,
        number: &str,
        carrier: u32,
        delays: JourneyDelays,
        extra: std::time::Duration,
    ) {
        self.script(number, carrier, delayed_journey(delays, extra));
    }

    /// Scripts [`failed_attempt_journey`] for the number.
    pub fn script_failed_attempt_journey(&self, number: &str, carrier: u32, delays: JourneyDelays) {
        self.script(number, carrier, failed_attempt_journey(delays));
    }

    /// The delivery window 17TRACK estimates for the parcel (`estimated_delivery_date`).
    /// False when the number is not scripted.
    pub fn set_estimated_delivery(&self, number: &str, from: OffsetDateTime, to: OffsetDateTime) -> bool {
        match lock(&self.inner.world).parcels.get_mut(&key(number)) {
            Some(parcel) => {
                parcel.estimate = Some((from, to));
                true
            }
            None => false,
        }
    }

    /// Whether `register` rejects numbers nobody scripted (-18019903; default true). When
    /// false they are accepted (carrier 0) and tracked without events.
    pub fn reject_unknown_numbers(&self, reject: bool) {
        lock(&self.inner.world).reject_unknown = reject;
    }

    /// Whether every event is listed twice in answers and pushes (duplicates, as carriers
    /// send them).
    pub fn duplicate_events(&self, duplicate: bool) {
        lock(&self.inner.world).duplicate_events = duplicate;
    }

    /// Whether the number was registered.
    pub fn is_registered(&self, number: &str) -> bool {
        lock(&self.inner.world).registered.contains(&key(number))
    }

    /// The numbers registered, as compared (upper case, no spaces).
    pub fn registered(&self) -> Vec<String> {
        lock(&self.inner.world).registered.iter().cloned().collect()
    }

    /// Forgets a registration (as 17TRACK's `deletetrack`): `gettrackinfo` rejects the
    /// number with -18019902 until it is registered again.
    pub fn forget(&self, number: &str) -> bool {
        lock(&self.inner.world).registered.remove(&key(number))
    }

    /// How many of the parcel's events have happened on the simulated clock.
    pub fn visible_events(&self, number: &str) -> usize {
        let world = lock(&self.inner.world);
        world.parcels.get(&key(number)).map_or(0, |p| p.visible(world.now))
    }

    /// The gettrackinfo entry of a number as it would be answered now (`None` when not
    /// registered).
    pub fn entry(&self, number: &str) -> Option<Value> {
        let world = lock(&self.inner.world);
        world
            .registered
            .contains(&key(number))
            .then(|| tracked_entry(&world, number))
    }

    // ----- clock -----

    /// The simulated time (starts at [`EPOCH`]).
    pub fn now(&self) -> OffsetDateTime {
        lock(&self.inner.world).now
    }

    /// Moves the simulated clock forward; scripted events whose time comes become visible.
    pub fn advance(&self, by: std::time::Duration) {
        let mut world = lock(&self.inner.world);
        world.now = world.now.saturating_add(to_span(by));
    }

    /// Sets the simulated clock (back in time as well).
    pub fn set_now(&self, now: OffsetDateTime) {
        lock(&self.inner.world).now = now;
    }

    /// [`Self::advance`], then [`Self::push_changed`].
    pub async fn advance_and_push(&self, by: std::time::Duration) -> Vec<(String, Result<u16, PushError>)> {
        self.advance(by);
        self.push_changed().await
    }

    // ----- pushes -----

    /// Where pushes go (`None`: nowhere).
    pub fn set_webhook(&self, url: Option<&str>) {
        lock(&self.inner.world).webhook = url.map(str::to_string);
    }

    /// The next pushes are spoiled, one fault each, in order.
    pub fn spoil_next_push(&self, fault: PushFault) {
        lock(&self.inner.faults).pushes.push_back(fault);
    }

    /// POSTs a signed `TRACKING_UPDATED` for the registered number, as it stands now; the
    /// receiver's status.
    pub async fn push(&self, number: &str) -> Result<u16, PushError> {
        let (url, body) = {
            let mut world = lock(&self.inner.world);
            let url = world.webhook.clone().ok_or(PushError::NoWebhook)?;
            if !world.registered.contains(&key(number)) {
                return Err(PushError::NotRegistered(number.to_string()));
            }
            let entry = tracked_entry(&world, number);
            let now = world.now;
            if let Some(parcel) = world.parcels.get_mut(&key(number)) {
                parcel.pushed = parcel.visible(now);
            }
            (url, json!({ "event": "TRACKING_UPDATED", "data": entry }))
        };
        self.send_push(&url, number, "TRACKING_UPDATED", body).await
    }

    /// POSTs a signed `TRACKING_STOPPED` for the number (registered or not).
    pub async fn push_stopped(&self, number: &str) -> Result<u16, PushError> {
        let (url, body) = {
            let world = lock(&self.inner.world);
            let url = world.webhook.clone().ok_or(PushError::NoWebhook)?;
            let carrier = world.parcels.get(&key(number)).map_or(0, |p| p.carrier);
            let data = json!({ "number": number.trim(), "carrier": carrier, "param": null, "tag": "" });
            (url, json!({ "event": "TRACKING_STOPPED", "data": data }))
        };
        self.send_push(&url, number, "TRACKING_STOPPED", body).await
    }

    /// Pushes every registered, scripted number whose visible events changed since its last
    /// push; each number with what came of it.
    pub async fn push_changed(&self) -> Vec<(String, Result<u16, PushError>)> {
        let changed: Vec<String> = {
            let world = lock(&self.inner.world);
            world
                .parcels
                .iter()
                .filter(|(k, p)| world.registered.contains(*k) && p.visible(world.now) != p.pushed)
                .map(|(_, p)| p.number.clone())
                .collect()
        };
        let mut outcomes = Vec::new();
        for number in changed {
            let outcome = self.push(&number).await;
            outcomes.push((number, outcome));
        }
        outcomes
    }

    async fn send_push(&self, url: &str, number: &str, event: &str, body: Value) -> Result<u16, PushError> {
        let mut bytes = body.to_string().into_bytes();
        let fault = lock(&self.inner.faults).pushes.pop_front();
        let signature = match fault {
            Some(PushFault::WrongKey) => Some(sign(&bytes, "not-the-key")),
            Some(PushFault::Unsigned) => None,
            _ => Some(sign(&bytes, &self.inner.api_key)),
        };
        if fault == Some(PushFault::TamperedBody) {
            // A digit of the body changes after signing (the JSON stays JSON).
            if let Some(at) = bytes.iter().rposition(u8::is_ascii_digit) {
                bytes[at] = if bytes[at] == b'9' { b'0' } else { bytes[at] + 1 };
            }
        }
        let mut request = self
            .inner
            .http
            .post(url)
            .timeout(std::time::Duration::from_secs(10))
            .header(header::CONTENT_TYPE, "application/json")
            .body(bytes);
        if let Some(signature) = signature {
            request = request.header("sign", signature);
        }
        let outcome = request
            .send()
            .await
            .map(|response| response.status().as_u16())
            .map_err(|e| PushError::Transport(e.to_string()));
        lock(&self.inner.pushes).push(PushRecord {
            number: number.trim().to_string(),
            event: event.to_string(),
            fault,
            status: outcome.as_ref().ok().copied(),
        });
        outcome
    }

    /// The pushes sent so far, oldest first.
    pub fn pushes(&self) -> Vec<PushRecord> {
        lock(&self.inner.pushes).clone()
    }

    // ----- calls and faults -----

    /// How many requests reached the endpoint (its path after `/track/v2.2`: [`REGISTER`],
    /// [`GET_TRACK_INFO`]), faulted ones included.
    pub fn calls(&self, path: &str) -> u32 {
        lock(&self.inner.calls).get(path).copied().unwrap_or(0)
    }

    /// Requests per endpoint path so far.
    pub fn call_counts(&self) -> BTreeMap<String, u32> {
        lock(&self.inner.calls).clone()
    }

    fn push_any(&self, count: u32, fault: TrackingFault) {
        lock(&self.inner.faults)
            .any
            .extend(std::iter::repeat_n(fault, count as usize));
    }

    /// The next `count` requests (any endpoint) answer HTTP 500, doing nothing.
    pub fn fail_next(&self, count: u32) {
        self.push_any(count, TrackingFault::ServerError);
    }

    /// The next `count` requests (any endpoint) answer HTTP 429 with `Retry-After:
    /// retry_after_secs`, doing nothing.
    pub fn rate_limit_next(&self, count: u32, retry_after_secs: u64) {
        self.push_any(
            count,
            TrackingFault::RateLimited {
                retry_after_secs: Some(retry_after_secs),
            },
        );
    }

    /// The next `count` requests (any endpoint) are carried out and answered with a body cut
    /// in half.
    pub fn malformed_next(&self, count: u32) {
        self.push_any(count, TrackingFault::Malformed);
    }

    /// The next `count` requests (any endpoint) are carried out and answered `delay` late.
    pub fn delay_next(&self, count: u32, delay: std::time::Duration) {
        self.push_any(count, TrackingFault::Delay(delay));
    }

    /// The next `count` requests (any endpoint) reject every number with this code.
    pub fn reject_next(&self, count: u32, code: i64, message: &str) {
        self.push_any(
            count,
            TrackingFault::Reject {
                code,
                message: message.to_string(),
            },
        );
    }

    /// The next request to `path` ([`REGISTER`] or [`GET_TRACK_INFO`]) meets `fault`;
    /// several calls queue several faults, taken in order.
    pub fn fault_on(&self, path: &str, fault: TrackingFault) {
        lock(&self.inner.faults)
            .on
            .entry(path.to_string())
            .or_default()
            .push_back(fault);
    }

    /// Request faults still waiting (0 once every injected fault was met).
    pub fn pending_faults(&self) -> usize {
        let faults = lock(&self.inner.faults);
        faults.any.len() + faults.on.values().map(VecDeque::len).sum::<usize>()
    }

    /// Every pending fault (push faults too) is dropped.
    pub fn clear_faults(&self) {
        *lock(&self.inner.faults) = Faults::default();
    }
}

impl Inner {
    fn take_fault(&self, path: &str) -> Option<TrackingFault> {
        let mut faults = lock(&self.faults);
        if let Some(fault) = faults.on.get_mut(path).and_then(VecDeque::pop_front) {
            return Some(fault);
        }
        faults.any.pop_front()
    }
}

/// In front of every route: counts the request, checks the key, then applies the fault it
/// meets.
async fn gate(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    let full = request.uri().path();
    let path = full.strip_prefix(PREFIX).unwrap_or(full).to_string();
    *lock(&inner.calls).entry(path.clone()).or_default() += 1;
    if let Some(refusal) = unauthorized(&inner, request.headers()) {
        return refusal;
    }
    let Some(fault) = inner.take_fault(&path) else {
        return next.run(request).await;
    };
    match fault {
        TrackingFault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response(),
        TrackingFault::RateLimited { retry_after_secs } => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
            if let Some(seconds) = retry_after_secs {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        TrackingFault::Malformed => {
            let (mut parts, body) = next.run(request).await.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.status = StatusCode::OK;
            Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
        }
        TrackingFault::Delay(delay) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        TrackingFault::Reject { code, message } => {
            let (_, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
            match numbers(&bytes) {
                Ok(items) => {
                    let rejected = items
                        .iter()
                        .map(|(number, _)| rejected(number, code, &message))
                        .collect();
                    envelope(Vec::new(), rejected)
                }
                Err(response) => response,
            }
        }
        TrackingFault::Code { code, message } => failure(StatusCode::OK, code, &message),
    }
}

/// The key check: `None` when the request may go on.
fn unauthorized(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    let given = headers.get("17token").and_then(|v| v.to_str().ok()).unwrap_or("");
    (given.trim() != inner.api_key || inner.api_key.is_empty())
        .then(|| failure(StatusCode::UNAUTHORIZED, codes::INVALID_KEY, "Invalid security key."))
}

/// A whole-call failure: `{"code", "data": {"errors": [{"code", "message"}]}}`.
fn failure(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({ "code": code, "data": { "errors": [{ "code": code, "message": message }] } });
    (status, axum::Json(body)).into_response()
}

fn envelope(accepted: Vec<Value>, rejected: Vec<Value>) -> Response {
    let body = json!({ "code": 0, "data": { "accepted": accepted, "rejected": rejected } });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn rejected(number: &str, code: i64, message: &str) -> Value {
    json!({ "number": number, "error": { "code": code, "message": message } })
}

/// The request's `[{"number", "carrier"?}]`, or the failure to answer.
#[allow(clippy::result_large_err)]
fn numbers(body: &[u8]) -> Result<Vec<(String, Option<i64>)>, Response> {
    let invalid = |what: &str| failure(StatusCode::OK, codes::DATA_FORMAT_INVALID, what);
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid("The format of data is invalid: a JSON array is expected."));
    };
    if items.len() > MAX_NUMBERS {
        return Err(failure(
            StatusCode::OK,
            codes::TOO_MANY_NUMBERS,
            "Tracking numbers exceed the 40 limit.",
        ));
    }
    let mut numbers = Vec::new();
    for item in items {
        let number = item.get("number").and_then(Value::as_str).map(str::trim).unwrap_or("");
        if number.is_empty() {
            return Err(invalid("The format of data number is invalid."));
        }
        let carrier = item.get("carrier").and_then(Value::as_i64).filter(|c| *c != 0);
        numbers.push((number.to_string(), carrier));
    }
    Ok(numbers)
}

async fn register(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let items = match numbers(&body) {
        Ok(items) => items,
        Err(response) => return response,
    };
    let mut world = lock(&inner.world);
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for (number, carrier) in items {
        let k = key(&number);
        let scripted = world.parcels.get(&k).map(|p| p.carrier);
        if world.registered.contains(&k) {
            refused.push(rejected(
                &number,
                codes::ALREADY_REGISTERED,
                &format!("Tracking number {number} is already registered."),
            ));
            continue;
        }
        match (scripted, carrier) {
            (None, _) if world.reject_unknown => refused.push(rejected(
                &number,
                codes::CARRIER_NOT_DETECTED,
                "Carrier cannot be detected.",
            )),
            (Some(code), Some(given)) if i64::from(code) != given => refused.push(rejected(
                &number,
                codes::CARRIER_CODE_INVALID,
                "The carrier code is incorrect.",
            )),
            (scripted, _) => {
                world.registered.insert(k);
                accepted.push(json!({ "origin": 1, "number": number, "carrier": scripted.unwrap_or(0) }));
            }
        }
    }
    drop(world);
    envelope(accepted, refused)
}

async fn get_track_info(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let items = match numbers(&body) {
        Ok(items) => items,
        Err(response) => return response,
    };
    let world = lock(&inner.world);
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for (number, _) in items {
        if world.registered.contains(&key(&number)) {
            accepted.push(tracked_entry(&world, &number));
        } else {
            refused.push(rejected(
                &number,
                codes::NOT_REGISTERED,
                &format!("Tracking number {number} is not registered yet. Register first."),
            ));
        }
    }
    drop(world);
    envelope(accepted, refused)
}

// ----- the track_info of 17TRACK v2.2 -----

fn main_status(sub_status: &str) -> &str {
    sub_status.split('_').next().unwrap_or(sub_status)
}

fn stage(sub_status: &str) -> Option<&'static str> {
    Some(match sub_status {
        "InfoReceived" => "InfoReceived",
        "InTransit_PickedUp" => "PickedUp",
        "InTransit_Departure" => "Departure",
        "InTransit_Arrival" => "Arrival",
        "AvailableForPickup_Other" => "AvailableForPickup",
        "OutForDelivery_Other" => "OutForDelivery",
        "Delivered_Other" => "Delivered",
        "Exception_Returning" => "Returning",
        "Exception_Returned" => "Returned",
        _ => return None,
    })
}

fn iso(at: OffsetDateTime, zone: UtcOffset) -> String {
    at.to_offset(zone).format(&Rfc3339).unwrap_or_default()
}

fn utc(at: OffsetDateTime) -> String {
    iso(at, UtcOffset::UTC)
}

/// `(city, state, country)` from `"City, ST, CC"` / `"City, CC"` / `"City"`.
fn address(location: Option<&str>) -> Value {
    let parts: Vec<&str> = location
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let country = parts
        .last()
        .filter(|p| parts.len() > 1 && p.len() == 2 && p.chars().all(|c| c.is_ascii_uppercase()))
        .copied();
    let state = (parts.len() == 3).then(|| parts[1]);
    json!({
        "country": country,
        "state": state,
        "city": parts.first(),
        "street": null,
        "postal_code": null,
        "coordinates": { "longitude": null, "latitude": null },
    })
}

fn event_json(at: OffsetDateTime, event: &ScriptedEvent) -> Value {
    let local = at.to_offset(event.zone);
    json!({
        "time_iso": iso(at, event.zone),
        "time_utc": utc(at),
        "time_raw": {
            "date": local.format(format_description!("[year]-[month]-[day]")).unwrap_or_default(),
            "time": local.format(format_description!("[hour]:[minute]:[second]")).unwrap_or_default(),
            "timezone": local.offset().format(format_description!("[offset_hour sign:mandatory]:[offset_minute]")).unwrap_or_default(),
        },
        "description": event.description,
        "description_translation": null,
        "location": event.location,
        "stage": stage(&event.sub_status),
        "sub_status": event.sub_status,
        "address": address(event.location.as_deref()),
    })
}

fn carrier_name(code: u32) -> String {
    match code {
        3011 => "China Post".to_string(),
        21051 => "USPS".to_string(),
        0 => "Unknown".to_string(),
        other => format!("Carrier {other}"),
    }
}

fn whole_days(span: Duration) -> i64 {
    span.whole_days().max(0)
}

/// The gettrackinfo entry (and push `data`) of a registered number at the world's time.
fn tracked_entry(world: &World, number: &str) -> Value {
    let now = world.now;
    let parcel = world.parcels.get(&key(number));
    let carrier = parcel.map_or(0, |p| p.carrier);
    let visible: Vec<&(OffsetDateTime, ScriptedEvent)> = parcel
        .map(|p| p.events.iter().take_while(|(at, _)| *at <= now).collect())
        .unwrap_or_default();
    let mut events: Vec<Value> = Vec::new();
    for (at, event) in visible.iter().rev() {
        events.push(event_json(*at, event));
        if world.duplicate_events {
            events.push(event_json(*at, event));
        }
    }
    let latest = visible.last();
    let latest_status = match latest {
        Some((_, event)) => json!({
            "status": main_status(&event.sub_status),
            "sub_status": event.sub_status,
            "sub_status_descr": null,
        }),
        None => json!({ "status": "NotFound", "sub_status": "NotFound_Other", "sub_status_descr": null }),
    };
    let first_at = visible.first().map(|(at, _)| *at);
    let picked_at = visible
        .iter()
        .find(|(_, e)| e.sub_status != "InfoReceived")
        .map(|(at, _)| *at);
    let delivered_at = visible
        .iter()
        .find(|(_, e)| e.sub_status.starts_with("Delivered"))
        .map(|(at, _)| *at);
    let estimate = parcel.and_then(|p| p.estimate);
    let milestone: Vec<Value> = [
        "InfoReceived",
        "PickedUp",
        "Departure",
        "Arrival",
        "AvailableForPickup",
        "OutForDelivery",
        "Delivered",
        "Returning",
        "Returned",
    ]
    .iter()
    .map(|key_stage| {
        let reached = visible.iter().find(|(_, e)| stage(&e.sub_status) == Some(*key_stage));
        json!({
            "key_stage": key_stage,
            "time_iso": reached.map(|(at, e)| iso(*at, e.zone)),
            "time_utc": reached.map(|(at, _)| utc(*at)),
        })
    })
    .collect();
    let endpoint = |place: Option<&str>| {
        let address = address(place);
        json!({ "country": address["country"], "state": address["state"], "city": address["city"], "street": null, "postal_code": null, "coordinates": { "longitude": null, "latitude": null } })
    };
    let first_place = parcel
        .and_then(|p| p.events.first())
        .and_then(|(_, e)| e.location.as_deref());
    let last_place = parcel
        .and_then(|p| p.events.last())
        .and_then(|(_, e)| e.location.as_deref());
    let track_info = json!({
        "shipping_info": {
            "shipper_address": endpoint(first_place),
            "recipient_address": endpoint(last_place),
        },
        "latest_status": latest_status,
        "latest_event": latest.map(|(at, e)| event_json(*at, e)),
        "time_metrics": {
            "days_after_order": first_at.map_or(0, |at| whole_days(now - at)),
            "days_of_transit": picked_at.map_or(0, |at| whole_days(delivered_at.unwrap_or(now) - at)),
            "days_of_transit_done": match (picked_at, delivered_at) {
                (Some(picked), Some(delivered)) => whole_days(delivered - picked),
                _ => 0,
            },
            "days_after_last_update": latest.map_or(0, |(at, _)| whole_days(now - *at)),
            "estimated_delivery_date": {
                "source": estimate.map(|_| "17TRACK"),
                "from": estimate.map(|(from, _)| utc(from)),
                "to": estimate.map(|(_, to)| utc(to)),
            },
        },
        "milestone": milestone,
        "misc_info": {
            "risk_factor": 0,
            "service_type": null,
            "weight_raw": null,
            "weight_kg": null,
            "pieces": null,
            "dimensions": null,
            "customer_number": null,
            "reference_number": null,
            "local_number": null,
            "local_provider": null,
            "local_key": 0,
        },
        "tracking": {
            "providers_hash": visible.len(),
            "providers": [{
                "provider": {
                    "key": carrier,
                    "name": carrier_name(carrier),
                    "alias": carrier_name(carrier),
                    "tel": null,
                    "homepage": null,
                    "country": null,
                },
                "service_type": null,
                "latest_sync_status": "Success",
                "latest_sync_time": utc(now),
                "events_hash": visible.len(),
                "events": events,
            }],
        },
    });
    json!({
        "number": parcel.map_or_else(|| number.trim().to_string(), |p| p.number.clone()),
        "carrier": carrier,
        "param": null,
        "tag": "",
        "track_info": track_info,
    })
}

// ----- a receiver for pushes -----

/// A request a [`WebhookInbox`] received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedPush {
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    /// The body exactly as received.
    pub body: Vec<u8>,
}

struct InboxState {
    received: Mutex<Vec<ReceivedPush>>,
    status: Mutex<StatusCode>,
}

/// A webhook receiver on 127.0.0.1 that keeps every request (any path) and answers 200 (or
/// the status set). Stops when the last clone is dropped.
#[derive(Clone)]
pub struct WebhookInbox {
    state: Arc<InboxState>,
    url: String,
    _server: Arc<crate::Server>,
}

impl fmt::Debug for WebhookInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookInbox").field("url", &self.url).finish()
    }
}

async fn keep(State(state): State<Arc<InboxState>>, headers: HeaderMap, body: Bytes) -> Response {
    let headers = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    lock(&state.received).push(ReceivedPush {
        headers,
        body: body.to_vec(),
    });
    let status = *lock(&state.status);
    status.into_response()
}

impl WebhookInbox {
    /// Starts the receiver on a free port.
    pub async fn start() -> std::io::Result<Self> {
        let state = Arc::new(InboxState {
            received: Mutex::new(Vec::new()),
            status: Mutex::new(StatusCode::OK),
        });
        let app = Router::new().fallback(keep).with_state(Arc::clone(&state));
        let (address, server) = crate::serve_on_loopback(app).await?;
        Ok(Self {
            state,
            url: format!("http://{address}/webhooks/tracking"),
            _server: Arc::new(server),
        })
    }

    /// Where to send pushes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request received, oldest first.
    pub fn received(&self) -> Vec<ReceivedPush> {
        lock(&self.state.received).clone()
    }

    /// The status later requests are answered with.
    pub fn respond_with(&self, status: u16) {
        *lock(&self.state.status) = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KEY: &str = "sim-key-1";

    async fn call(sim: &TrackingServiceSim, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = crate::http_client()
            .post(format!("{}{path}", sim.base_url()))
            .header("17token", token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    #[test]
    fn journeys_are_in_order_and_end_delivered() {
        let delays = JourneyDelays::default();
        for (events, last_step) in [
            (journey(delays), delays.total()),
            (
                delayed_journey(delays, std::time::Duration::from_secs(3 * DAY)),
                delays.total() + std::time::Duration::from_secs(3 * DAY),
            ),
        ] {
            let times: Vec<_> = events
                .iter()
                .map(|e| match e.when {
                    When::After(d) => d,
                    When::At(_) => panic!("relative"),
                })
                .collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
            assert_eq!(times.last().copied(), Some(last_step));
            assert_eq!(events.last().unwrap().sub_status, "Delivered_Other");
        }
        let failed = failed_attempt_journey(delays);
        assert!(failed.iter().any(|e| e.sub_status == "DeliveryFailure_NoBody"));
        assert_eq!(
            failed.iter().filter(|e| e.sub_status == "OutForDelivery_Other").count(),
            2
        );
    }

    #[test]
    fn signatures_and_addresses() {
        assert_eq!(sign(b"{}", "k").len(), 64);
        assert_ne!(sign(b"{}", "k"), sign(b"{} ", "k"));
        assert_eq!(address(Some("Fresno, CA, US"))["state"], "CA");
        assert_eq!(address(Some("Fresno, CA, US"))["country"], "US");
        assert_eq!(address(Some("Hong Kong, HK"))["city"], "Hong Kong");
        assert_eq!(address(Some("Somewhere"))["country"], Value::Null);
        assert_eq!(address(None)["city"], Value::Null);
    }

    #[tokio::test]
    async fn registration_visibility_and_key() {
        let sim = TrackingServiceSim::start(KEY).await.unwrap();
        sim.script_journey("LP001", 3011, JourneyDelays::default());
        let (status, body) = call(&sim, REGISTER, "wrong", json!([{"number": "LP001"}])).await;
        assert_eq!((status, body["code"].as_i64()), (401, Some(codes::INVALID_KEY)));
        let (_, body) = call(&sim, GET_TRACK_INFO, KEY, json!([{"number": "LP001"}])).await;
        assert_eq!(body["data"]["rejected"][0]["error"]["code"], codes::NOT_REGISTERED);
        let (_, body) = call(&sim, REGISTER, KEY, json!([{"number": "LP001"}, {"number": "NOPE1"}])).await;
        assert_eq!(body["data"]["accepted"][0]["carrier"], 3011);
        assert_eq!(
            body["data"]["rejected"][0]["error"]["code"],
            codes::CARRIER_NOT_DETECTED
        );
        let (_, body) = call(&sim, REGISTER, KEY, json!([{"number": "lp001"}])).await;
        assert_eq!(body["data"]["rejected"][0]["error"]["code"], codes::ALREADY_REGISTERED);

        let events =
            |body: &Value| body["data"]["accepted"][0]["track_info"]["tracking"]["providers"][0]["events"].clone();
        let (_, body) = call(&sim, GET_TRACK_INFO, KEY, json!([{"number": "LP001"}])).await;
        assert_eq!(events(&body).as_array().unwrap().len(), 1, "info received at once");
        assert_eq!(
            body["data"]["accepted"][0]["track_info"]["latest_status"]["status"],
            "InfoReceived"
        );
        sim.advance(std::time::Duration::from_secs(30 * DAY));
        sim.duplicate_events(true);
        let (_, body) = call(&sim, GET_TRACK_INFO, KEY, json!([{"number": "LP001"}])).await;
        let all = events(&body);
        assert_eq!(
            all.as_array().unwrap().len(),
            2 * journey(JourneyDelays::default()).len()
        );
        assert_eq!(all[0]["sub_status"], "Delivered_Other");
        assert_eq!(all[0]["stage"], "Delivered");
        assert!(all[0]["time_iso"].as_str().unwrap().ends_with("-08:00"));
        assert!(all[0]["time_utc"].as_str().unwrap().ends_with('Z'));
        assert_eq!(sim.calls(REGISTER), 3);
        assert_eq!(sim.calls(GET_TRACK_INFO), 3);
    }

    #[tokio::test]
    async fn faults_are_met_in_order() {
        let sim = TrackingServiceSim::start(KEY).await.unwrap();
        sim.reject_unknown_numbers(false);
        sim.fault_on(GET_TRACK_INFO, TrackingFault::ServerError);
        sim.rate_limit_next(1, 9);
        sim.reject_next(1, codes::QUOTA_EXHAUSTED, "quota");
        assert_eq!(call(&sim, GET_TRACK_INFO, KEY, json!([{"number": "A1"}])).await.0, 500);
        let response = crate::http_client()
            .post(format!("{}{REGISTER}", sim.base_url()))
            .header("17token", KEY)
            .json(&json!([{"number": "A1"}]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "9");
        let (_, body) = call(&sim, REGISTER, KEY, json!([{"number": "A1"}])).await;
        assert_eq!(body["data"]["rejected"][0]["error"]["code"], codes::QUOTA_EXHAUSTED);
        assert!(!sim.is_registered("A1"));
        assert_eq!(sim.pending_faults(), 0);
        let (_, body) = call(&sim, REGISTER, KEY, json!([{"number": "A1"}])).await;
        assert_eq!(body["data"]["accepted"][0]["carrier"], 0);
    }

    #[tokio::test]
    async fn pushes_are_signed_and_sent_when_events_change() {
        let sim = TrackingServiceSim::start(KEY).await.unwrap();
        let inbox = WebhookInbox::start().await.unwrap();
        sim.script_journey(
            "LP002",
            3011,
            JourneyDelays::every(std::time::Duration::from_secs(HOUR)),
        );
        assert_eq!(sim.push("LP002").await, Err(PushError::NoWebhook));
        sim.set_webhook(Some(inbox.url()));
        assert!(matches!(sim.push("LP002").await, Err(PushError::NotRegistered(_))));
        call(&sim, REGISTER, KEY, json!([{"number": "LP002"}])).await;
        let pushed = sim.push_changed().await;
        assert_eq!(pushed.len(), 1);
        assert!(sim.push_changed().await.is_empty(), "nothing changed since");
        let pushed = sim.advance_and_push(std::time::Duration::from_secs(2 * HOUR)).await;
        assert_eq!(pushed, vec![("LP002".to_string(), Ok(200))]);
        sim.spoil_next_push(PushFault::TamperedBody);
        sim.push("LP002").await.unwrap();
        sim.push_stopped("LP002").await.unwrap();
        let received = inbox.received();
        assert_eq!(received.len(), 4);
        let sign_of = |r: &ReceivedPush| r.headers.iter().find(|(n, _)| n == "sign").map(|(_, v)| v.clone());
        assert_eq!(sign_of(&received[0]), Some(sign(&received[0].body, KEY)));
        assert_ne!(sign_of(&received[2]), Some(sign(&received[2].body, KEY)), "tampered");
        let last: Value = serde_json::from_slice(&received[3].body).unwrap();
        assert_eq!(last["event"], "TRACKING_STOPPED");
        assert_eq!(sim.pushes().len(), 4);
        assert_eq!(sim.pushes()[2].fault, Some(PushFault::TamperedBody));
    }
}
