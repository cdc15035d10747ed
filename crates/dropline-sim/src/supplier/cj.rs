//! A CJ Dropshipping Open API v2.0 simulator, served under `/api2.0/v1` on 127.0.0.1.
//!
//! Every answer is CJ's envelope `{code, result, message, data, requestId, success}` with HTTP
//! 200, except the injected faults. Endpoints:
//!
//! - `POST /authentication/getAccessToken` `{"apiKey"}` (an `email` beside it is accepted and
//!   ignored): access token (15 days), refresh token (180 days), dates ISO 8601 in `+08:00`.
//!   A wrong or missing key answers 1600005 (API key wrong).
//! - `POST /authentication/refreshAccessToken` `{"refreshToken"}`: a new pair; an unknown or
//!   expired refresh token answers 1600003.
//! - `POST /logistic/freightCalculate`: one quote per shipping method for the route, priced
//!   from the catalogue's weights, in the shape of CJ's answer.
//! - `GET /product/query?pid=`: the product (`pid`, `productNameEn`, `productSku`,
//!   `productImage`, `status` "3", …) with its listed `variants`, in the shape of CJ's product
//!   page (§1.3).
//! - `GET /product/variant/query?pid=`: the product's listed variants (§2.1).
//! - `GET /product/variant/queryByVid?vid=`: the variant (`vid`, `pid`, `variantSku`,
//!   `variantNameEn`, `variantKey`, `variantWeight`, `variantSellPrice`), in the shape of CJ's
//!   product page.
//! - `GET /product/stock/queryByVid?vid=`: the variant's stock in two warehouses (China and
//!   US), `totalInventoryNum` each (and the deprecated `storageNum`).
//! - `GET /product/stock/getInventoryByPid?pid=`: `{inventories, variantInventories}` as in
//!   CJ's example (§3.3): per warehouse `totalInventoryNum`, per variant and warehouse
//!   `totalInventory` (the name CJ's example uses; its table says `totalInventoryNum`).
//! - `POST /shopping/order/createOrderV2`: creates an order; `orderNumber` is the idempotency
//!   key. Stock goes down by the quantities ordered.
//! - `GET /shopping/order/getOrderDetail?orderId=`: by CJ order id or by the caller's
//!   `orderNumber` (CJ documents both); an unknown order answers 1600300 "order not found"
//!   (CJ's documented code).
//! - `GET /shopping/order/list?pageNum=&pageSize=&status=`: a page of orders, newest first,
//!   `{pageNum, pageSize, total, list}`.
//! - `DELETE /shopping/order/deleteOrder?orderId=`: cancels an order not yet paid.
//! - `GET /logistic/trackInfo?trackNumber=…` (the key repeated): one entry per shipped parcel
//!   asked for, in the shape of CJ's example.
//!
//! Every call except authentication needs `CJ-Access-Token`: absent → 1600002, unknown →
//! 1600001, expired → 401 (the code CJ's own client reads as "token expired"). A bad body or
//! parameter answers 1600100 with the field named. Tokens expire on the real clock.
//!
//! # Orders over simulated time
//!
//! Orders live on the simulator's own clock ([`CjSim::now`]), which starts at
//! 2025-01-06 00:00 UTC and moves only when a test calls [`CjSim::advance`]. An order created
//! with `payType` 2 (pay from the CJ balance) is `CREATED`, is paid after
//! [`CjSim::set_payment_delay`] (`UNSHIPPED`), leaves the warehouse after
//! [`CjSim::set_processing_delay`] (`SHIPPED`, with its `trackNumber`) and is `DELIVERED`
//! after the method's transit time. An order created with `payType` 3 or none stays `CREATED`
//! until [`CjSim::pay`] (a person paying in MyCJ). Tracking numbers follow the carrier's
//! format: `CJPKL` + 10 digits + 2 letters (CJPacket), 22 digits with a mod-10 check digit
//! (USPS+), a UPU S10 number with its mod-11 check digit ending `CN` (China Post), 10 digits
//! with a mod-7 check digit (DHL).
//!
//! # The simulator's own choices
//!
//! CJ does not document these; the simulator picks and the client must not depend on them:
//!
//! - A second create with a known `orderNumber` is refused with [`CjSim::DUPLICATE_ORDER_CODE`]
//!   and the existing order's `orderId` in `data`; no second order is made.
//! - An order over stock is refused with [`CjSim::OUT_OF_STOCK_CODE`], one for a variant CJ
//!   no longer sells with [`CjSim::VARIANT_UNAVAILABLE_CODE`], one to a refused destination
//!   with [`CjSim::COUNTRY_REFUSED_CODE`]; nothing is created. Freight to a refused
//!   destination is an empty list.
//! - `variant/queryByVid` and `stock/queryByVid` answer code 200 with `data: null` for a
//!   variant that is unknown or no longer sold; `product/query` and `getInventoryByPid` the
//!   same for a product; `variant/query?pid=` answers an empty list. A removed variant is
//!   left out of its product's answers.
//! - Every variant belongs to a product ([`CjProduct`]); [`CjSim::start`] makes four
//!   products of one variant each, [`CjSim::add_products`] adds more.
//! - Bad data on request: [`CjSim::set_raw_price`] and [`CjSim::set_raw_stock`] make a
//!   variant's answers print any JSON value as its price or China stock.
//! - `deleteOrder` cancels an order that is `CREATED` (the order stays, `CANCELLED`, and its
//!   stock comes back); deleting a cancelled order again succeeds; an order paid, shipped or
//!   delivered is refused with [`CjSim::CANCEL_REFUSED_CODE`]; an unknown id answers 1600300.
//! - The order list is newest first and ignores a `pageSize` above 50 (50 are given); without
//!   `status` it lists every order (CJ's page says the filter defaults to `CANCELLED`).
//! - `trackInfo` leaves out numbers it does not know or that have not shipped; its
//!   `trackingStatus` moves `Info received` → `In transit` → `Out for delivery` →
//!   `Delivered` as the days pass.
//! - A 429 carries `Retry-After` and a plain-text body (CJ's 429 body is not documented).
//! - With [`CjSim::set_rate_limit`], requests past the account's requests per second (over a
//!   sliding second; the account level's QPS of CJ's limit page) get that 429 with
//!   `Retry-After: 1` and do nothing.
//!
//! # Faults
//!
//! [`Fault`]s are taken one per request, first from the queue aimed at that endpoint
//! ([`CjSim::fault_on`]), else from the queue for any endpoint ([`CjSim::fail_next`],
//! [`CjSim::rate_limit_next`], [`CjSim::malformed_next`], [`CjSim::delay_next`]): the same
//! calls meet the same faults on every run.

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use time::format_description::well_known::Rfc3339;
use time::macros::{datetime, format_description};
use time::{Duration, OffsetDateTime, UtcOffset};

/// The path every endpoint is under.
const PREFIX: &str = "/api2.0/v1";
const ACCESS_TOKEN_DAYS: i64 = 15;
const REFRESH_TOKEN_DAYS: i64 = 180;
const PARAM_ERROR: i64 = 1_600_100;
/// CNY per USD used for the `…Cn` prices.
const CNY_PER_USD_MILLI: i64 = 6_480;
/// Where the simulated clock starts.
const EPOCH: OffsetDateTime = datetime!(2025-01-06 00:00:00 UTC);
/// The most orders one list page holds.
const MAX_PAGE_SIZE: usize = 50;
/// Stock of each variant at start.
const INITIAL_STOCK: u32 = 100;
/// Option values of the simulated variants.
const COLOURS: [&str; 5] = ["Black", "White", "Blue", "Red", "Green"];
const SIZES: [&str; 4] = ["S", "M", "L", "XL"];

/// A product CJ sells (or sold): the variants with its `pid` belong to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CjProduct {
    /// CJ's product id.
    pub pid: String,
    /// English name (`productNameEn`).
    pub title: String,
    /// `productSku`.
    pub sku: String,
    /// Whether CJ still sells it ([`CjSim::remove_product`] ends that).
    pub listed: bool,
}

/// A variant CJ sells (or sold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CjVariant {
    pub vid: String,
    /// CJ's product id.
    pub pid: String,
    pub sku: String,
    /// English name.
    pub name: String,
    /// The option values (`variantKey`), e.g. `Black-M`.
    pub key: String,
    /// Shipping weight in grams.
    pub weight_grams: u32,
    /// Price in US cents.
    pub price_cents: i64,
    /// Units over all warehouses.
    pub stock: u32,
    /// Whether CJ still sells it ([`CjSim::remove_variant`] ends that).
    pub listed: bool,
}

/// An order created at the simulator, as it stands at the simulated time it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CjOrder {
    pub order_id: String,
    pub order_number: String,
    pub logistic_name: String,
    /// Destination country.
    pub country_code: String,
    /// Ship-from country.
    pub from_country: String,
    /// `(vid, quantity)` lines.
    pub products: Vec<(String, u32)>,
    /// `orderStatus`: `CREATED`, `UNSHIPPED`, `SHIPPED`, `DELIVERED` or `CANCELLED`.
    pub status: String,
    /// `payType` as sent.
    pub pay_type: Option<u8>,
    /// Sum of the lines at the prices of the moment of creation, in US cents.
    pub product_cents: i64,
    /// Postage, in US cents.
    pub postage_cents: i64,
    /// The parcel's tracking number, once shipped.
    pub track_number: Option<String>,
    /// When it was created, on the simulated clock.
    pub created_at: OffsetDateTime,
}

/// A fault one request meets instead of (or on top of) its normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with a plain-text body; nothing is done.
    ServerError,
    /// HTTP 429 with `Retry-After` (seconds) when given; nothing is done.
    RateLimited { retry_after_secs: Option<u64> },
    /// The request is carried out, then its answer is cut in half: HTTP 200, a body that is
    /// not JSON.
    Malformed,
    /// The request is carried out, then its answer is held back this long (a client with a
    /// shorter time-out gives up while the work is done).
    Delay(std::time::Duration),
    /// The request is carried out, then the status line and headers go out and the body never
    /// does (the connection is closed).
    LoseResponse,
    /// A business refusal with this CJ code and message (HTTP 200, CJ's envelope); nothing is
    /// done.
    Reject { code: i64, message: String },
}

/// How a shipping method's tracking numbers look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrackFormat {
    CjPacket,
    Usps,
    UpuS10,
    Dhl,
}

/// A shipping method: name, base cents, cents per 100 g started, aging, transit days, numbers.
struct Method {
    name: &'static str,
    base_cents: i64,
    per_100g_cents: i64,
    aging: &'static str,
    transit_days: i64,
    track: TrackFormat,
    /// Whether a US warehouse ships with it.
    from_us: bool,
}

const METHODS: [Method; 4] = [
    Method {
        name: "USPS+",
        base_cents: 371,
        per_100g_cents: 50,
        aging: "2-5",
        transit_days: 5,
        track: TrackFormat::Usps,
        from_us: true,
    },
    Method {
        name: "CJPacket Ordinary",
        base_cents: 250,
        per_100g_cents: 35,
        aging: "7-12",
        transit_days: 12,
        track: TrackFormat::CjPacket,
        from_us: true,
    },
    Method {
        name: "DHL Official",
        base_cents: 1_890,
        per_100g_cents: 120,
        aging: "3-7",
        transit_days: 7,
        track: TrackFormat::Dhl,
        from_us: false,
    },
    Method {
        name: "China Post Registered Air Mail",
        base_cents: 180,
        per_100g_cents: 30,
        aging: "15-30",
        transit_days: 30,
        track: TrackFormat::UpuS10,
        from_us: false,
    },
];

fn method(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

fn postage_cents(method: &Method, grams: i64) -> i64 {
    method.base_cents + method.per_100g_cents * ((grams + 99) / 100)
}

struct Tokens {
    /// access token → expiry.
    access: HashMap<String, OffsetDateTime>,
    /// refresh token → expiry.
    refresh: HashMap<String, OffsetDateTime>,
}

#[derive(Default)]
struct Faults {
    /// For any endpoint, in order.
    any: VecDeque<Fault>,
    /// Per endpoint path (after the prefix), in order.
    on: HashMap<String, VecDeque<Fault>>,
    lose_next_create: bool,
}

/// Delays an order goes through, fixed at its creation.
#[derive(Clone, Copy)]
struct Timings {
    payment: Duration,
    processing: Duration,
    /// Overrides every method's transit time.
    transit: Option<Duration>,
}

/// An order as the simulator keeps it; its status is derived from the clock.
#[derive(Clone)]
struct SimOrder {
    order_id: String,
    order_number: String,
    logistic_name: String,
    country_code: String,
    from_country: String,
    pay_type: Option<u8>,
    /// `(vid, quantity, unit cents)`.
    lines: Vec<(String, u32, i64)>,
    postage_cents: i64,
    created_at: OffsetDateTime,
    /// When it is (or will be) paid.
    paid_at: Option<OffsetDateTime>,
    cancelled_at: Option<OffsetDateTime>,
    processing: Duration,
    transit: Duration,
    /// Given at creation, shown once shipped.
    track_number: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Created,
    Unshipped,
    Shipped,
    Delivered,
    Cancelled,
}

impl Stage {
    fn cj(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Unshipped => "UNSHIPPED",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

impl SimOrder {
    fn shipped_at(&self) -> Option<OffsetDateTime> {
        self.paid_at.map(|paid| paid + self.processing)
    }

    fn delivered_at(&self) -> Option<OffsetDateTime> {
        self.shipped_at().map(|shipped| shipped + self.transit)
    }

    fn stage(&self, now: OffsetDateTime) -> Stage {
        if self.cancelled_at.is_some_and(|at| at <= now) {
            return Stage::Cancelled;
        }
        match (self.paid_at, self.shipped_at(), self.delivered_at()) {
            (Some(_), _, Some(delivered)) if delivered <= now => Stage::Delivered,
            (Some(_), Some(shipped), _) if shipped <= now => Stage::Shipped,
            (Some(paid), _, _) if paid <= now => Stage::Unshipped,
            _ => Stage::Created,
        }
    }

    fn product_cents(&self) -> i64 {
        self.lines.iter().map(|(_, q, cents)| cents * i64::from(*q)).sum()
    }

    fn public(&self, now: OffsetDateTime) -> CjOrder {
        let stage = self.stage(now);
        CjOrder {
            order_id: self.order_id.clone(),
            order_number: self.order_number.clone(),
            logistic_name: self.logistic_name.clone(),
            country_code: self.country_code.clone(),
            from_country: self.from_country.clone(),
            products: self.lines.iter().map(|(vid, q, _)| (vid.clone(), *q)).collect(),
            status: stage.cj().to_string(),
            pay_type: self.pay_type,
            product_cents: self.product_cents(),
            postage_cents: self.postage_cents,
            track_number: matches!(stage, Stage::Shipped | Stage::Delivered).then(|| self.track_number.clone()),
            created_at: self.created_at,
        }
    }
}

/// What a variant's answers print instead of its price or stock (bad data, for tests).
#[derive(Clone, Default)]
struct RawValues {
    price: Option<Value>,
    stock: Option<Value>,
}

/// Products and variants, indexed: a catalogue of 10,000 products is looked up per request.
#[derive(Default)]
struct Catalogue {
    products: Vec<CjProduct>,
    variants: Vec<CjVariant>,
    /// vid → index in `variants`.
    by_vid: HashMap<String, usize>,
    /// pid → (index in `products`, indexes of its variants).
    by_pid: HashMap<String, (usize, Vec<usize>)>,
    /// Variant index → what its answers print instead.
    raw: HashMap<usize, RawValues>,
}

impl Catalogue {
    fn add(&mut self, product: CjProduct, variants: Vec<CjVariant>) {
        let at = self.products.len();
        let mut members = Vec::with_capacity(variants.len());
        for variant in variants {
            self.by_vid.insert(variant.vid.clone(), self.variants.len());
            members.push(self.variants.len());
            self.variants.push(variant);
        }
        self.by_pid.insert(product.pid.clone(), (at, members));
        self.products.push(product);
    }

    fn variant(&self, vid: &str) -> Option<&CjVariant> {
        self.by_vid.get(vid).map(|&i| &self.variants[i])
    }

    fn variant_mut(&mut self, vid: &str) -> Option<&mut CjVariant> {
        self.by_vid.get(vid).map(|&i| &mut self.variants[i])
    }

    /// A listed variant, with what its answers print instead of its price and stock.
    fn listed_variant(&self, vid: &str) -> Option<(&CjVariant, RawValues)> {
        let &i = self.by_vid.get(vid)?;
        let variant = &self.variants[i];
        variant
            .listed
            .then(|| (variant, self.raw.get(&i).cloned().unwrap_or_default()))
    }

    /// A listed product and its listed variants (each with its raw values).
    fn listed_product(&self, pid: &str) -> Option<(&CjProduct, Vec<(&CjVariant, RawValues)>)> {
        let (at, members) = self.by_pid.get(pid)?;
        let product = &self.products[*at];
        if !product.listed {
            return None;
        }
        let variants = members
            .iter()
            .map(|&i| (&self.variants[i], self.raw.get(&i).cloned().unwrap_or_default()))
            .filter(|(v, _)| v.listed)
            .collect();
        Some((product, variants))
    }
}

/// The catalogue, the orders and the clock, behind one lock.
struct World {
    catalogue: Catalogue,
    orders: Vec<SimOrder>,
    now: OffsetDateTime,
    timings: Timings,
    refused_countries: BTreeSet<String>,
}

/// The account's requests-per-second limit, over a sliding second.
#[derive(Default)]
struct RateLimit {
    per_second: Option<u32>,
    /// When the requests let through in the last second arrived.
    recent: VecDeque<std::time::Instant>,
    refused: u32,
}

impl RateLimit {
    /// Whether a request arriving now is over the limit; one let through is counted.
    fn refuses(&mut self, now: std::time::Instant) -> bool {
        let Some(limit) = self.per_second else {
            return false;
        };
        while self
            .recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= std::time::Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= limit as usize {
            self.refused += 1;
            return true;
        }
        self.recent.push_back(now);
        false
    }
}

struct Inner {
    api_key: String,
    tokens: Mutex<Tokens>,
    state: Mutex<World>,
    faults: Mutex<Faults>,
    counters: Mutex<Counters>,
    rate: Mutex<RateLimit>,
    rng: Mutex<u64>,
}

#[derive(Default)]
struct Counters {
    token_grants: u32,
    token_refreshes: u32,
    /// Requests per endpoint path (after the prefix), faulted ones included.
    calls: BTreeMap<String, u32>,
}

/// CJ's API on a local port. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct CjSim {
    inner: Arc<Inner>,
    base_url: String,
    _server: Arc<crate::Server>,
}

impl fmt::Debug for CjSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CjSim")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// splitmix64: deterministic ids from the seed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `count` decimal digits from the generator.
fn digits(rng: &mut u64, count: usize) -> String {
    (0..count).map(|_| char::from(b'0' + (next(rng) % 10) as u8)).collect()
}

/// One uppercase letter from the generator.
fn letter(rng: &mut u64) -> char {
    char::from(b'A' + (next(rng) % 26) as u8)
}

/// The UPU S10 check digit of 8 serial digits: weights 8 6 4 2 3 5 9 7, 11 − sum mod 11, with
/// 10 → 0 and 11 → 5.
pub fn s10_check_digit(serial: &str) -> Option<u8> {
    if serial.len() != 8 || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = serial
        .bytes()
        .zip([8u32, 6, 4, 2, 3, 5, 9, 7])
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        check => check as u8,
    })
}

/// The mod-10 check digit USPS (and GS1) numbers end with: from the right, digits weighted
/// 3, 1, 3, 1…; the check brings the sum to a multiple of 10.
pub fn mod10_check_digit(body: &str) -> Option<u8> {
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    Some(((10 - sum % 10) % 10) as u8)
}

fn track_number(format: TrackFormat, rng: &mut u64) -> String {
    match format {
        TrackFormat::CjPacket => format!("CJPKL{}{}{}", digits(rng, 10), letter(rng), letter(rng)),
        TrackFormat::Usps => {
            let body = format!("92001{}", digits(rng, 16));
            let check = mod10_check_digit(&body).unwrap_or(0);
            format!("{body}{check}")
        }
        TrackFormat::UpuS10 => {
            let serial = digits(rng, 8);
            let check = s10_check_digit(&serial).unwrap_or(0);
            format!("R{}{serial}{check}CN", letter(rng))
        }
        TrackFormat::Dhl => {
            // IATA air waybill style: the tenth digit is the first nine mod 7.
            let body = format!("{}{}", 1 + next(rng) % 9, digits(rng, 8));
            let check = body.parse::<u64>().map_or(0, |n| n % 7);
            format!("{body}{check}")
        }
    }
}

fn to_span(duration: std::time::Duration) -> Duration {
    Duration::try_from(duration).unwrap_or(Duration::MAX)
}

impl CjSim {
    /// The code a second create with a known `orderNumber` is refused with (the simulator's
    /// own: CJ's documentation does not give one); `data.orderId` is the existing order.
    pub const DUPLICATE_ORDER_CODE: i64 = 1_603_001;
    /// The code an order over stock is refused with (the simulator's own).
    pub const OUT_OF_STOCK_CODE: i64 = 1_603_002;
    /// The code an order for a variant CJ no longer sells is refused with (the simulator's
    /// own).
    pub const VARIANT_UNAVAILABLE_CODE: i64 = 1_603_003;
    /// The code an order to a refused destination is refused with (the simulator's own).
    pub const COUNTRY_REFUSED_CODE: i64 = 1_603_004;
    /// The code `deleteOrder` refuses a paid, shipped or delivered order with (the
    /// simulator's own).
    pub const CANCEL_REFUSED_CODE: i64 = 1_603_005;
    /// CJ's code for an order it does not have (documented for `getOrderDetail`).
    pub const ORDER_NOT_FOUND_CODE: i64 = 1_600_300;

    /// Starts the API on 127.0.0.1 (a free port); the key, ids and catalogue follow `seed`.
    pub async fn start(seed: u64) -> std::io::Result<Self> {
        let mut rng = seed;
        let api_key = format!(
            "CJ{}@api@{:016x}{:016x}",
            1000 + next(&mut rng) % 9000,
            next(&mut rng),
            next(&mut rng)
        );
        // Four products of one variant each.
        let mut catalogue = Catalogue::default();
        for i in 0..4u8 {
            let hi = next(&mut rng);
            let lo = next(&mut rng);
            let variant = CjVariant {
                vid: uuid::Uuid::from_u64_pair(hi, lo).to_string().to_uppercase(),
                pid: uuid::Uuid::from_u64_pair(next(&mut rng), next(&mut rng))
                    .to_string()
                    .to_uppercase(),
                sku: format!("CJSIM{:04}{:02}", seed % 10_000, i + 1),
                name: format!("Simulated gadget {}", i + 1),
                key: COLOURS[usize::from(i) % COLOURS.len()].to_string(),
                weight_grams: 80 + 120 * u32::from(i),
                price_cents: 299 + 450 * i64::from(i),
                stock: INITIAL_STOCK,
                listed: true,
            };
            let product = CjProduct {
                pid: variant.pid.clone(),
                title: variant.name.clone(),
                sku: format!("CJSIM{:04}{:02}P", seed % 10_000, i + 1),
                listed: true,
            };
            catalogue.add(product, vec![variant]);
        }
        let inner = Arc::new(Inner {
            api_key,
            tokens: Mutex::new(Tokens {
                access: HashMap::new(),
                refresh: HashMap::new(),
            }),
            state: Mutex::new(World {
                catalogue,
                orders: Vec::new(),
                now: EPOCH,
                timings: Timings {
                    payment: Duration::hours(1),
                    processing: Duration::days(2),
                    transit: None,
                },
                refused_countries: BTreeSet::new(),
            }),
            faults: Mutex::new(Faults::default()),
            counters: Mutex::new(Counters::default()),
            rate: Mutex::new(RateLimit::default()),
            rng: Mutex::new(rng),
        });
        let route = |path: &str| format!("{PREFIX}{path}");
        let app = Router::new()
            .route(&route("/authentication/getAccessToken"), post(get_access_token))
            .route(&route("/authentication/refreshAccessToken"), post(refresh_access_token))
            .route(&route("/logistic/freightCalculate"), post(freight_calculate))
            .route(&route("/logistic/trackInfo"), get(track_info))
            .route(&route("/product/query"), get(product_detail))
            .route(&route("/product/variant/query"), get(product_variants))
            .route(&route("/product/variant/queryByVid"), get(variant_by_vid))
            .route(&route("/product/stock/queryByVid"), get(stock_by_vid))
            .route(&route("/product/stock/getInventoryByPid"), get(inventory_by_pid))
            .route(&route("/shopping/order/createOrderV2"), post(create_order))
            .route(&route("/shopping/order/getOrderDetail"), get(order_detail))
            .route(&route("/shopping/order/list"), get(order_list))
            .route(&route("/shopping/order/deleteOrder"), delete(delete_order))
            .layer(axum::middleware::from_fn_with_state(Arc::clone(&inner), gate))
            .with_state(Arc::clone(&inner));
        let (address, server) = crate::serve_on_loopback(app).await?;
        Ok(Self {
            inner,
            base_url: format!("http://{address}{PREFIX}"),
            _server: Arc::new(server),
        })
    }

    /// `http://127.0.0.1:PORT/api2.0/v1`: the base every path is appended to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The one API key `getAccessToken` accepts.
    pub fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    // ----- catalogue -----

    /// The catalogue as it stands, removed variants included (`listed` false).
    pub fn variants(&self) -> Vec<CjVariant> {
        lock(&self.inner.state).catalogue.variants.clone()
    }

    /// One variant as it stands.
    pub fn variant(&self, vid: &str) -> Option<CjVariant> {
        lock(&self.inner.state).catalogue.variant(vid).cloned()
    }

    /// The products as they stand, removed ones included (`listed` false).
    pub fn products(&self) -> Vec<CjProduct> {
        lock(&self.inner.state).catalogue.products.clone()
    }

    /// One product and its variants (removed ones included), as they stand.
    pub fn product(&self, pid: &str) -> Option<(CjProduct, Vec<CjVariant>)> {
        let state = lock(&self.inner.state);
        let catalogue = &state.catalogue;
        let (at, members) = catalogue.by_pid.get(pid)?;
        Some((
            catalogue.products[*at].clone(),
            members.iter().map(|&i| catalogue.variants[i].clone()).collect(),
        ))
    }

    /// Adds `count` products of `variants_each` variants (options `Colour-Size`, prices from
    /// 1.99 to 49.99 USD, 20 to 299 units each), ids and values following the simulator's
    /// seed. Gives each product's id with its variants' ids. Quick enough to seed 10,000
    /// products of 10 variants for a benchmark.
    pub fn add_products(&self, count: usize, variants_each: usize) -> Vec<(String, Vec<String>)> {
        let mut rng = lock(&self.inner.rng);
        let mut state = lock(&self.inner.state);
        let catalogue = &mut state.catalogue;
        let mut added = Vec::with_capacity(count);
        for _ in 0..count {
            let n = catalogue.products.len() + 1;
            let pid = uuid::Uuid::from_u64_pair(next(&mut rng), next(&mut rng))
                .to_string()
                .to_uppercase();
            let title = format!("Simulated product {n}");
            let variants: Vec<CjVariant> = (0..variants_each)
                .map(|v| {
                    let colour = COLOURS[v % COLOURS.len()];
                    let size = SIZES[(v / COLOURS.len()) % SIZES.len()];
                    let round = v / (COLOURS.len() * SIZES.len());
                    let key = if round == 0 {
                        format!("{colour}-{size}")
                    } else {
                        format!("{colour}-{size}-{}", round + 1)
                    };
                    CjVariant {
                        vid: uuid::Uuid::from_u64_pair(next(&mut rng), next(&mut rng))
                            .to_string()
                            .to_uppercase(),
                        pid: pid.clone(),
                        sku: format!("CJSP{n:06}-{:02}", v + 1),
                        name: format!("{title} {}", key.replace('-', " ")),
                        key,
                        weight_grams: 50 + (next(&mut rng) % 950) as u32,
                        price_cents: 199 + (next(&mut rng) % 4_801) as i64,
                        stock: 20 + (next(&mut rng) % 280) as u32,
                        listed: true,
                    }
                })
                .collect();
            added.push((pid.clone(), variants.iter().map(|v| v.vid.clone()).collect()));
            catalogue.add(
                CjProduct {
                    pid,
                    title,
                    sku: format!("CJSP{n:06}"),
                    listed: true,
                },
                variants,
            );
        }
        added
    }

    /// CJ stops selling the product and all its variants. False when unknown.
    pub fn remove_product(&self, pid: &str) -> bool {
        let mut state = lock(&self.inner.state);
        let catalogue = &mut state.catalogue;
        let Some((at, members)) = catalogue.by_pid.get(pid).cloned() else {
            return false;
        };
        catalogue.products[at].listed = false;
        for i in members {
            catalogue.variants[i].listed = false;
        }
        true
    }

    /// Moves about `share_bp` / 10,000 of the listed variants, chosen from `seed` (the same
    /// seed moves the same variants the same way): a quarter run out (or come back when
    /// already out), a quarter change stock by a few dozen units, most others change price by
    /// 1 to 10 % up or down, and about one in thirty gets an absurd price (0, or 10,000 times
    /// its price, which a reader must refuse). Gives the ids of the variants moved.
    pub fn drift(&self, seed: u64, share_bp: u32) -> Vec<String> {
        let mut rng = seed ^ 0xD41F_7000_0000_0000;
        let mut state = lock(&self.inner.state);
        let mut moved = Vec::new();
        for variant in state.catalogue.variants.iter_mut().filter(|v| v.listed) {
            if next(&mut rng) % 10_000 >= u64::from(share_bp) {
                continue;
            }
            let roll = next(&mut rng) % 100;
            let amount = next(&mut rng);
            match roll {
                0..25 => {
                    variant.stock = if variant.stock == 0 {
                        10 + (amount % 200) as u32
                    } else {
                        0
                    }
                }
                25..50 => {
                    let change = (amount % 60) as u32;
                    variant.stock = if amount.is_multiple_of(2) {
                        variant.stock.saturating_add(change)
                    } else {
                        variant.stock.saturating_sub(change)
                    };
                }
                50..97 => {
                    let step = (variant.price_cents * (1 + (amount % 10) as i64) / 100).max(1);
                    variant.price_cents = if roll < 74 {
                        variant.price_cents.saturating_add(step)
                    } else {
                        (variant.price_cents - step).max(1)
                    };
                }
                _ => {
                    variant.price_cents = if amount.is_multiple_of(2) {
                        0
                    } else {
                        variant.price_cents.saturating_mul(10_000)
                    };
                }
            }
            moved.push(variant.vid.clone());
        }
        moved
    }

    /// The variant's answers print `value` as its price (`variantSellPrice`), whatever it is:
    /// `json!(-1)`, `json!("abc")`, `json!(null)`. False when unknown.
    pub fn set_raw_price(&self, vid: &str, value: Value) -> bool {
        self.with_raw(vid, |raw| raw.price = Some(value))
    }

    /// The variant's answers print `value` as its China warehouse's count (`json!(-5)`);
    /// orders still go by its real stock. False when unknown.
    pub fn set_raw_stock(&self, vid: &str, value: Value) -> bool {
        self.with_raw(vid, |raw| raw.stock = Some(value))
    }

    /// The variant's answers print its real price and stock again. False when unknown.
    pub fn clear_raw(&self, vid: &str) -> bool {
        let mut state = lock(&self.inner.state);
        match state.catalogue.by_vid.get(vid).copied() {
            Some(i) => {
                state.catalogue.raw.remove(&i);
                true
            }
            None => false,
        }
    }

    fn with_raw(&self, vid: &str, change: impl FnOnce(&mut RawValues)) -> bool {
        let mut state = lock(&self.inner.state);
        match state.catalogue.by_vid.get(vid).copied() {
            Some(i) => {
                change(state.catalogue.raw.entry(i).or_default());
                true
            }
            None => false,
        }
    }

    fn with_variant(&self, vid: &str, change: impl FnOnce(&mut CjVariant)) -> bool {
        let mut state = lock(&self.inner.state);
        match state.catalogue.variant_mut(vid) {
            Some(variant) => {
                change(variant);
                true
            }
            None => false,
        }
    }

    /// CJ's price for the variant moves to `cents` (orders already made keep theirs). False
    /// when the variant is unknown.
    pub fn set_price(&self, vid: &str, cents: i64) -> bool {
        self.with_variant(vid, |v| v.price_cents = cents)
    }

    /// CJ stops selling the variant (SKU drift): `queryByVid` answers without data and
    /// orders for it are refused with [`Self::VARIANT_UNAVAILABLE_CODE`]. False when unknown.
    pub fn remove_variant(&self, vid: &str) -> bool {
        self.with_variant(vid, |v| v.listed = false)
    }

    /// CJ sells the variant again. False when unknown.
    pub fn restore_variant(&self, vid: &str) -> bool {
        self.with_variant(vid, |v| v.listed = true)
    }

    /// The variant's stock over all warehouses becomes `units`. False when unknown.
    pub fn set_stock(&self, vid: &str, units: u32) -> bool {
        self.with_variant(vid, |v| v.stock = units)
    }

    /// Orders to this destination (ISO alpha-2) are refused with
    /// [`Self::COUNTRY_REFUSED_CODE`], and no method is quoted for it.
    pub fn refuse_country(&self, country_code: &str) {
        lock(&self.inner.state)
            .refused_countries
            .insert(country_code.trim().to_ascii_uppercase());
    }

    /// At most `per_second` requests a second (over a sliding second) are answered; the ones
    /// past it get CJ's refusal for too many requests, as [`Self::rate_limit_next`] gives it
    /// (HTTP 429, `Retry-After: 1`), and do nothing. `None` lifts the limit.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        let mut rate = lock(&self.inner.rate);
        rate.per_second = per_second;
        rate.recent.clear();
    }

    /// How many requests the rate limit of [`Self::set_rate_limit`] refused.
    pub fn rate_limited(&self) -> u32 {
        lock(&self.inner.rate).refused
    }

    // ----- clock and order life -----

    /// The simulated time orders live on.
    pub fn now(&self) -> OffsetDateTime {
        lock(&self.inner.state).now
    }

    /// Moves the simulated clock forward: orders pay, ship and arrive as their times pass.
    pub fn advance(&self, by: std::time::Duration) {
        let mut state = lock(&self.inner.state);
        state.now = state.now.saturating_add(to_span(by));
    }

    /// [`Self::advance`] by whole days.
    pub fn advance_days(&self, days: u32) {
        self.advance(std::time::Duration::from_secs(u64::from(days) * 86_400));
    }

    /// How long after creation an order with `payType` 2 is paid (default 1 hour), for orders
    /// created afterwards.
    pub fn set_payment_delay(&self, delay: std::time::Duration) {
        lock(&self.inner.state).timings.payment = to_span(delay);
    }

    /// How long a paid order waits in the warehouse before it ships (default 2 days), for
    /// orders created afterwards.
    pub fn set_processing_delay(&self, delay: std::time::Duration) {
        lock(&self.inner.state).timings.processing = to_span(delay);
    }

    /// How long every parcel travels, instead of its method's time (`None`: the method's:
    /// USPS+ 5 days, CJPacket 12, DHL 7, China Post 30), for orders created afterwards.
    pub fn set_transit_delay(&self, delay: Option<std::time::Duration>) {
        lock(&self.inner.state).timings.transit = delay.map(to_span);
    }

    /// The order (by CJ id or order number) is paid now, as a person paying it in MyCJ would.
    /// False when unknown, cancelled or already paid.
    pub fn pay(&self, order: &str) -> bool {
        let mut state = lock(&self.inner.state);
        let now = state.now;
        match state
            .orders
            .iter_mut()
            .find(|o| o.order_id == order || o.order_number == order)
        {
            Some(found) if found.stage(now) == Stage::Created && found.paid_at.is_none_or(|at| at > now) => {
                found.paid_at = Some(now);
                true
            }
            _ => false,
        }
    }

    /// The order's parcel will carry this tracking number (a supplier's typo, for tests of
    /// what dropline does with a number that fails its check). False when unknown.
    pub fn set_track_number(&self, order: &str, number: &str) -> bool {
        let mut state = lock(&self.inner.state);
        match state
            .orders
            .iter_mut()
            .find(|o| o.order_id == order || o.order_number == order)
        {
            Some(found) => {
                found.track_number = number.to_string();
                true
            }
            None => false,
        }
    }

    // ----- what happened -----

    /// The orders created, oldest first, as they stand at the simulated time.
    pub fn orders(&self) -> Vec<CjOrder> {
        let state = lock(&self.inner.state);
        state.orders.iter().map(|o| o.public(state.now)).collect()
    }

    /// One order by CJ id or order number, as it stands.
    pub fn order(&self, order: &str) -> Option<CjOrder> {
        let state = lock(&self.inner.state);
        state
            .orders
            .iter()
            .find(|o| o.order_id == order || o.order_number == order)
            .map(|o| o.public(state.now))
    }

    /// How many requests reached this endpoint (its path after `/api2.0/v1`, e.g.
    /// `/shopping/order/createOrderV2`), faulted ones included.
    pub fn calls(&self, path: &str) -> u32 {
        lock(&self.inner.counters).calls.get(path).copied().unwrap_or(0)
    }

    /// Requests per endpoint path so far.
    pub fn call_counts(&self) -> BTreeMap<String, u32> {
        lock(&self.inner.counters).calls.clone()
    }

    /// How many times `getAccessToken` handed out a token.
    pub fn token_grants(&self) -> u32 {
        lock(&self.inner.counters).token_grants
    }

    /// How many times `refreshAccessToken` handed out a token.
    pub fn token_refreshes(&self) -> u32 {
        lock(&self.inner.counters).token_refreshes
    }

    // ----- tokens -----

    /// Every access token handed out so far expires now (refresh tokens stay valid).
    pub fn expire_tokens(&self) {
        let past = OffsetDateTime::now_utc() - Duration::seconds(1);
        for expiry in lock(&self.inner.tokens).access.values_mut() {
            *expiry = past;
        }
    }

    /// Every refresh token handed out so far expires now.
    pub fn expire_refresh_tokens(&self) {
        let past = OffsetDateTime::now_utc() - Duration::seconds(1);
        for expiry in lock(&self.inner.tokens).refresh.values_mut() {
            *expiry = past;
        }
    }

    // ----- faults -----

    fn push_any(&self, count: u32, fault: Fault) {
        let mut faults = lock(&self.inner.faults);
        faults.any.extend(std::iter::repeat_n(fault, count as usize));
    }

    /// The next `count` requests (any endpoint; after the faults already queued) answer HTTP
    /// 500 without doing anything.
    pub fn fail_next(&self, count: u32) {
        self.push_any(count, Fault::ServerError);
    }

    /// The next `count` requests (any endpoint; after the faults already queued) answer HTTP
    /// 429 with `Retry-After: retry_after_secs`, without doing anything.
    pub fn rate_limit_next(&self, count: u32, retry_after_secs: u64) {
        self.push_any(
            count,
            Fault::RateLimited {
                retry_after_secs: Some(retry_after_secs),
            },
        );
    }

    /// The next `count` requests (any endpoint; after the faults already queued) are carried
    /// out and answered with a body cut in half.
    pub fn malformed_next(&self, count: u32) {
        self.push_any(count, Fault::Malformed);
    }

    /// The next `count` requests (any endpoint; after the faults already queued) are carried
    /// out and answered `delay` late.
    pub fn delay_next(&self, count: u32, delay: std::time::Duration) {
        self.push_any(count, Fault::Delay(delay));
    }

    /// The next request to `path` (after `/api2.0/v1`, e.g. `/shopping/order/getOrderDetail`)
    /// meets `fault`; several calls queue several faults, taken in order.
    pub fn fault_on(&self, path: &str, fault: Fault) {
        lock(&self.inner.faults)
            .on
            .entry(path.to_string())
            .or_default()
            .push_back(fault);
    }

    /// The next `createOrderV2` is refused with this code and message; nothing is created.
    pub fn reject_next_create(&self, code: i64, message: &str) {
        self.fault_on(
            "/shopping/order/createOrderV2",
            Fault::Reject {
                code,
                message: message.to_string(),
            },
        );
    }

    /// The next successful `createOrderV2` creates its order, then its answer is cut off: the
    /// status line and headers go out, the body never does and the connection is closed.
    pub fn lose_next_create_response(&self) {
        lock(&self.inner.faults).lose_next_create = true;
    }

    /// Faults still waiting for a request (0 once every injected fault was met).
    pub fn pending_faults(&self) -> usize {
        let faults = lock(&self.inner.faults);
        faults.any.len() + faults.on.values().map(VecDeque::len).sum::<usize>() + usize::from(faults.lose_next_create)
    }

    /// Every pending fault is dropped.
    pub fn clear_faults(&self) {
        *lock(&self.inner.faults) = Faults::default();
    }
}

impl Inner {
    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        if let Some(fault) = faults.on.get_mut(path).and_then(VecDeque::pop_front) {
            return Some(fault);
        }
        faults.any.pop_front()
    }
}

/// In front of every route: counts the request, then applies the fault it meets.
async fn gate(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    let full = request.uri().path();
    let path = full.strip_prefix(PREFIX).unwrap_or(full).to_string();
    *lock(&inner.counters).calls.entry(path.clone()).or_default() += 1;
    if lock(&inner.rate).refuses(std::time::Instant::now()) {
        return too_many_requests(Some(1));
    }
    let Some(fault) = inner.take_fault(&path) else {
        return next.run(request).await;
    };
    match fault {
        Fault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response(),
        Fault::RateLimited { retry_after_secs } => too_many_requests(retry_after_secs),
        Fault::Reject { code, message } => envelope(code, &message, Value::Null, &inner),
        Fault::Malformed => {
            let (mut parts, body) = next.run(request).await.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.status = StatusCode::OK;
            Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
        }
        Fault::Delay(delay) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        Fault::LoseResponse => {
            let _ = next.run(request).await;
            lost_answer()
        }
    }
}

/// HTTP 429 with a plain-text body (CJ's 429 body is not documented) and `Retry-After`.
fn too_many_requests(retry_after_secs: Option<u64>) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
    if let Some(seconds) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A length is promised and never sent: the server closes the connection mid-answer.
fn lost_answer() -> Response {
    let mut response = Response::new(Body::from_stream(Body::empty().into_data_stream()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("512"));
    response
}

fn envelope(code: i64, message: &str, data: Value, inner: &Inner) -> Response {
    let request_id = {
        let mut rng = lock(&inner.rng);
        uuid::Uuid::from_u64_pair(next(&mut rng), next(&mut rng)).to_string()
    };
    let ok = code == 200;
    let body = json!({
        "code": code,
        "result": ok,
        "message": message,
        "data": data,
        "requestId": request_id,
        "success": ok,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn success(inner: &Inner, data: Value) -> Response {
    envelope(200, "Success", data, inner)
}

fn param_error(inner: &Inner, message: impl fmt::Display) -> Response {
    envelope(PARAM_ERROR, &format!("Param error: {message}"), Value::Null, inner)
}

/// The access-token check: `None` when the request may go on.
fn unauthorized(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("CJ-Access-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if token.is_empty() {
        return Some(envelope(1_600_002, "Access token is empty", Value::Null, inner));
    }
    let expiry = lock(&inner.tokens).access.get(token).copied();
    match expiry {
        None => Some(envelope(
            1_600_001,
            "Invalid API key or access token",
            Value::Null,
            inner,
        )),
        Some(expiry) if expiry <= OffsetDateTime::now_utc() => {
            Some(envelope(401, "Access token expired", Value::Null, inner))
        }
        Some(_) => None,
    }
}

fn cj_date(at: OffsetDateTime) -> String {
    let offset = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
    at.to_offset(offset)
        .replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// `2025-03-14 13:21:07`, in UTC: the form of CJ's order and tracking dates.
fn plain_date(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))
        .unwrap_or_default()
}

/// Cents as a JSON number with two decimals (`6.21`), made from its decimal text so that no
/// amount is ever computed in floating point.
fn price(cents: i64) -> Value {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    serde_json::from_str(&format!("{sign}{}.{:02}", abs / 100, abs % 100)).unwrap_or(Value::Null)
}

fn issue_tokens(inner: &Inner) -> Value {
    let now = OffsetDateTime::now_utc();
    let access_expiry = now + Duration::days(ACCESS_TOKEN_DAYS);
    let refresh_expiry = now + Duration::days(REFRESH_TOKEN_DAYS);
    let (access, refresh) = {
        let mut rng = lock(&inner.rng);
        (
            format!("{:016x}{:016x}", next(&mut rng), next(&mut rng)),
            format!("{:016x}{:016x}", next(&mut rng), next(&mut rng)),
        )
    };
    let mut tokens = lock(&inner.tokens);
    tokens.access.insert(access.clone(), access_expiry);
    tokens.refresh.insert(refresh.clone(), refresh_expiry);
    json!({
        "openId": 1_000_000_000_000_000u64 + u64::from(inner.api_key.len() as u32),
        "accessToken": access,
        "accessTokenExpiryDate": cj_date(access_expiry),
        "refreshToken": refresh,
        "refreshTokenExpiryDate": cj_date(refresh_expiry),
        "createDate": cj_date(now),
    })
}

/// The body as a JSON object, or what the param error says.
fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the body is not a JSON object".to_string()),
        Err(err) => Err(format!("the body is not JSON: {err}")),
    }
}

fn text<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A query parameter, trimmed and not blank.
fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

async fn get_access_token(State(inner): State<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    let map = match object(&body) {
        Ok(map) => map,
        Err(why) => return param_error(&inner, why),
    };
    if text(&map, "apiKey") != Some(inner.api_key.as_str()) {
        return envelope(1_600_005, "API key wrong", Value::Null, &inner);
    }
    lock(&inner.counters).token_grants += 1;
    let data = issue_tokens(&inner);
    success(&inner, data)
}

async fn refresh_access_token(State(inner): State<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    let map = match object(&body) {
        Ok(map) => map,
        Err(why) => return param_error(&inner, why),
    };
    let Some(refresh) = text(&map, "refreshToken") else {
        return envelope(1_600_003, "Invalid refresh token", Value::Null, &inner);
    };
    let valid = lock(&inner.tokens)
        .refresh
        .get(refresh)
        .is_some_and(|expiry| *expiry > OffsetDateTime::now_utc());
    if !valid {
        return envelope(1_600_003, "Invalid refresh token", Value::Null, &inner);
    }
    lock(&inner.tokens).refresh.remove(refresh);
    lock(&inner.counters).token_refreshes += 1;
    let data = issue_tokens(&inner);
    success(&inner, data)
}

/// `products[]` as `(variant, quantity)` (the variant as it stands), or what the param error
/// says (naming the field).
fn products(catalogue: &Catalogue, map: &serde_json::Map<String, Value>) -> Result<Vec<(CjVariant, u32)>, String> {
    let Some(items) = map
        .get("products")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
    else {
        return Err("products must be a non-empty list".to_string());
    };
    let mut lines = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let vid = item.get("vid").and_then(Value::as_str).unwrap_or("");
        let Some(variant) = catalogue.variant(vid) else {
            return Err(format!("products[{i}].vid: unknown variant {vid:?}"));
        };
        let quantity = item
            .get("quantity")
            .and_then(Value::as_u64)
            .filter(|q| (1..=10_000).contains(q));
        let Some(quantity) = quantity else {
            return Err(format!("products[{i}].quantity must be a whole number from 1"));
        };
        lines.push((variant.clone(), quantity as u32));
    }
    Ok(lines)
}

fn country(value: Option<&str>) -> Option<&str> {
    value.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
}

fn grams(lines: &[(CjVariant, u32)]) -> i64 {
    lines
        .iter()
        .map(|(v, q)| i64::from(v.weight_grams) * i64::from(*q))
        .sum()
}

async fn freight_calculate(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let map = match object(&body) {
        Ok(map) => map,
        Err(why) => return param_error(&inner, why),
    };
    let Some(from) = country(text(&map, "startCountryCode")) else {
        return param_error(&inner, "startCountryCode must be an ISO alpha-2 code");
    };
    let Some(to) = country(text(&map, "endCountryCode")) else {
        return param_error(&inner, "endCountryCode must be an ISO alpha-2 code");
    };
    let (lines, refused) = {
        let state = lock(&inner.state);
        (products(&state.catalogue, &map), state.refused_countries.contains(to))
    };
    let lines = match lines {
        Ok(lines) => lines,
        Err(why) => return param_error(&inner, why),
    };
    if refused {
        return success(&inner, json!([]));
    }
    let grams = grams(&lines);
    // A US warehouse ships domestically: the cheap methods only.
    let data: Vec<Value> = METHODS
        .iter()
        .filter(|m| from != "US" || m.from_us)
        .map(|m| {
            let cents = postage_cents(m, grams);
            json!({
                "logisticAging": m.aging,
                "logisticPrice": price(cents),
                "logisticPriceCn": price(cents * CNY_PER_USD_MILLI / 1000),
                "logisticName": m.name,
            })
        })
        .collect();
    success(&inner, Value::Array(data))
}

/// A variant in the shape of CJ's product page, its price as `raw` says when it says.
fn variant_json(v: &CjVariant, raw: &RawValues) -> Value {
    json!({
        "vid": v.vid,
        "pid": v.pid,
        "variantName": v.name,
        "variantNameEn": v.name,
        "variantSku": v.sku,
        "variantKey": v.key,
        "variantUnit": "unit(s)",
        "variantProperty": null,
        "variantWeight": v.weight_grams,
        "variantSellPrice": raw.price.clone().unwrap_or_else(|| price(v.price_cents)),
        "createTime": "2024-11-02 08:15:00",
    })
}

/// A variant's units per warehouse: a quarter in the US warehouse, the rest in China.
fn warehouses(v: &CjVariant) -> [(&'static str, &'static str, &'static str, u32); 2] {
    let us = v.stock / 4;
    [
        ("1", "China Warehouse", "CN", v.stock - us),
        ("2", "US Warehouse", "US", us),
    ]
}

async fn variant_by_vid(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let Some(vid) = param(&query, "vid") else {
        return param_error(&inner, "vid is required");
    };
    let data = {
        let state = lock(&inner.state);
        state
            .catalogue
            .listed_variant(vid)
            .map_or(Value::Null, |(v, raw)| variant_json(v, &raw))
    };
    success(&inner, data)
}

async fn stock_by_vid(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let Some(vid) = param(&query, "vid") else {
        return param_error(&inner, "vid is required");
    };
    let data = {
        let state = lock(&inner.state);
        state.catalogue.listed_variant(vid).map_or(Value::Null, |(v, raw)| {
            Value::Array(
                warehouses(v)
                    .iter()
                    .map(|(id, name, code, units)| {
                        let count = match (&raw.stock, *code) {
                            (Some(raw), "CN") => raw.clone(),
                            _ => json!(units),
                        };
                        json!({
                            "vid": v.vid, "areaId": id, "areaEn": name, "countryCode": code,
                            "totalInventoryNum": count, "cjInventoryNum": count, "factoryInventoryNum": 0,
                            "storageNum": count,
                        })
                    })
                    .collect(),
            )
        })
    };
    success(&inner, data)
}

async fn product_detail(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let Some(pid) = param(&query, "pid").map(str::to_string) else {
        return param_error(&inner, "pid is required");
    };
    let data = {
        let state = lock(&inner.state);
        state
            .catalogue
            .listed_product(&pid)
            .map_or(Value::Null, |(product, variants)| {
                let lowest = variants.iter().map(|(v, _)| v.price_cents).min().unwrap_or(0);
                json!({
                    "pid": product.pid,
                    "productName": serde_json::to_string(&[&product.title]).unwrap_or_default(),
                    "productNameEn": product.title,
                    "productSku": product.sku,
                    "productImage": format!("https://cf.cjdropshipping.example/{}.jpg", product.pid),
                    "productWeight": variants.iter().map(|(v, _)| v.weight_grams).max().unwrap_or(0),
                    "productUnit": "unit(s)",
                    "productType": "ORDINARY_PRODUCT",
                    "categoryName": "Home & Garden / Simulated",
                    "productKeyEn": "Color-Size",
                    "sellPrice": price(lowest),
                    "status": "3",
                    "variants": variants.iter().map(|(v, raw)| variant_json(v, raw)).collect::<Vec<_>>(),
                    "createrTime": "2024-11-02T08:15:00+08:00",
                })
            })
    };
    success(&inner, data)
}

async fn product_variants(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let Some(pid) = param(&query, "pid").map(str::to_string) else {
        return param_error(&inner, "pid is required");
    };
    let data: Vec<Value> = {
        let state = lock(&inner.state);
        state
            .catalogue
            .listed_product(&pid)
            .map(|(_, variants)| variants.iter().map(|(v, raw)| variant_json(v, raw)).collect())
            .unwrap_or_default()
    };
    success(&inner, Value::Array(data))
}

async fn inventory_by_pid(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let Some(pid) = param(&query, "pid").map(str::to_string) else {
        return param_error(&inner, "pid is required");
    };
    let data = {
        let state = lock(&inner.state);
        state
            .catalogue
            .listed_product(&pid)
            .map_or(Value::Null, |(_, variants)| {
                let mut totals = [0u64; 2];
                let per_variant: Vec<Value> = variants
                    .iter()
                    .map(|(v, raw)| {
                        let inventory: Vec<Value> = warehouses(v)
                            .iter()
                            .enumerate()
                            .map(|(i, (id, name, code, units))| {
                                totals[i] += u64::from(*units);
                                let count = match (&raw.stock, *code) {
                                    (Some(raw), "CN") => raw.clone(),
                                    _ => json!(units),
                                };
                                json!({
                                    "areaId": id, "areaEn": name, "countryCode": code,
                                    "totalInventory": count, "cjInventory": count, "factoryInventory": 0,
                                    "verifiedWarehouse": 1,
                                })
                            })
                            .collect();
                        json!({"vid": v.vid, "inventory": inventory})
                    })
                    .collect();
                let inventories: Vec<Value> = [
                    ("1", "China Warehouse", "CN", "China"),
                    ("2", "US Warehouse", "US", "United States"),
                ]
                .iter()
                .zip(totals)
                .map(|((id, name, code, country), total)| {
                    json!({
                        "areaEn": name, "areaId": id, "countryCode": code, "countryNameEn": country,
                        "totalInventoryNum": total, "cjInventoryNum": total, "factoryInventoryNum": 0,
                    })
                })
                .collect();
                json!({"inventories": inventories, "variantInventories": per_variant})
            })
    };
    success(&inner, data)
}

const REQUIRED_ORDER_FIELDS: [&str; 10] = [
    "shippingCountryCode",
    "shippingCountry",
    "shippingProvince",
    "shippingCity",
    "shippingAddress",
    "shippingCustomerName",
    "shippingZip",
    "shippingPhone",
    "logisticName",
    "fromCountryCode",
];

/// An order in the shape of `getOrderDetail` (with `productList`) or of a list entry.
fn order_json(order: &SimOrder, now: OffsetDateTime, with_lines: bool) -> Value {
    let stage = order.stage(now);
    let shipped = matches!(stage, Stage::Shipped | Stage::Delivered);
    let product_cents = order.product_cents();
    let mut data = json!({
        "orderId": order.order_id,
        "orderNum": order.order_number,
        "cjOrderId": order.order_id,
        "orderStatus": stage.cj(),
        "logisticName": order.logistic_name,
        "fromCountryCode": order.from_country,
        "shippingCountryCode": order.country_code,
        "trackNumber": if shipped { json!(order.track_number) } else { Value::Null },
        "orderAmount": price(product_cents + order.postage_cents),
        "productAmount": price(product_cents),
        "postageAmount": price(order.postage_cents),
        "createDate": plain_date(order.created_at),
        "paymentDate": order.paid_at.filter(|at| *at <= now).map(plain_date),
        "outWarehouseTime": order.shipped_at().filter(|at| shipped && *at <= now).map(plain_date),
        "isComplete": i32::from(stage == Stage::Delivered),
    });
    if with_lines {
        data["productList"] = order
            .lines
            .iter()
            .enumerate()
            .map(|(i, (vid, quantity, cents))| {
                json!({
                    "vid": vid, "quantity": quantity, "sellPrice": price(*cents),
                    "lineItemId": format!("{}-{}", order.order_id, i + 1),
                })
            })
            .collect();
    }
    data
}

async fn create_order(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let map = match object(&body) {
        Ok(map) => map,
        Err(why) => return param_error(&inner, why),
    };
    let Some(order_number) = text(&map, "orderNumber") else {
        return param_error(&inner, "orderNumber is required");
    };
    if order_number.chars().count() > 40 {
        return param_error(&inner, "orderNumber is longer than 40 characters");
    }
    for field in REQUIRED_ORDER_FIELDS {
        if text(&map, field).is_none() {
            return param_error(&inner, format!("{field} is required"));
        }
    }
    let Some(to) = country(text(&map, "shippingCountryCode")) else {
        return param_error(&inner, "shippingCountryCode must be an ISO alpha-2 code");
    };
    let logistic_name = text(&map, "logisticName").unwrap_or_default();
    let Some(method) = method(logistic_name) else {
        return param_error(&inner, format!("logisticName: unknown method {logistic_name:?}"));
    };
    let pay_type = match map.get("payType").filter(|v| !v.is_null()) {
        None => None,
        Some(value) => match value.as_u64() {
            Some(2) => Some(2),
            Some(3) => Some(3),
            _ => return param_error(&inner, "payType must be 2 or 3"),
        },
    };
    let created = {
        let mut state = lock(&inner.state);
        if let Some(existing) = state.orders.iter().find(|o| o.order_number == order_number) {
            let data = json!({"orderId": existing.order_id, "orderNumber": existing.order_number});
            drop(state);
            return envelope(
                CjSim::DUPLICATE_ORDER_CODE,
                "An order with this orderNumber already exists",
                data,
                &inner,
            );
        }
        let lines = match products(&state.catalogue, &map) {
            Ok(lines) => lines,
            Err(why) => {
                drop(state);
                return param_error(&inner, why);
            }
        };
        match check_order(&state, to, &lines) {
            Ok(()) => Ok(place(&mut state, &inner, order_number, &map, method, pay_type, lines)),
            Err(refusal) => Err(refusal),
        }
    };
    let order = match created {
        Ok(order) => order,
        Err((code, message)) => return envelope(code, &message, Value::Null, &inner),
    };
    let lose = std::mem::take(&mut lock(&inner.faults).lose_next_create);
    if lose {
        return lost_answer();
    }
    let product_cents = order.product_cents();
    let data = json!({
        "orderId": order.order_id,
        "orderNumber": order.order_number,
        "shipmentOrderId": Value::Null,
        "postageAmount": price(order.postage_cents),
        "productAmount": price(product_cents),
        "orderAmount": price(product_cents + order.postage_cents),
        "orderStatus": Stage::Created.cj(),
        "productInfoList": order.lines.iter().enumerate().map(|(i, (vid, quantity, _))| json!({
            "lineItemId": format!("{}-{}", order.order_id, i + 1), "variantId": vid, "quantity": quantity,
        })).collect::<Vec<_>>(),
        "interceptOrderReasons": [],
    });
    success(&inner, data)
}

/// Why CJ would refuse these lines to this destination, as `(code, message)`.
fn check_order(state: &World, to: &str, lines: &[(CjVariant, u32)]) -> Result<(), (i64, String)> {
    if state.refused_countries.contains(to) {
        return Err((
            CjSim::COUNTRY_REFUSED_CODE,
            format!("Shipping to {to} is not supported"),
        ));
    }
    let mut wanted: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for (variant, quantity) in lines {
        if !variant.listed {
            return Err((
                CjSim::VARIANT_UNAVAILABLE_CODE,
                format!("Variant {} is no longer available", variant.vid),
            ));
        }
        let entry = wanted.entry(variant.vid.as_str()).or_insert((0, variant.stock));
        entry.0 = entry.0.saturating_add(*quantity);
    }
    for (vid, (quantity, stock)) in wanted {
        if quantity > stock {
            return Err((
                CjSim::OUT_OF_STOCK_CODE,
                format!("Inventory shortage: variant {vid} has {stock}, {quantity} ordered"),
            ));
        }
    }
    Ok(())
}

/// Creates the order: stock goes down, prices and timings are those of now.
fn place(
    state: &mut World,
    inner: &Inner,
    order_number: &str,
    map: &serde_json::Map<String, Value>,
    method: &Method,
    pay_type: Option<u8>,
    lines: Vec<(CjVariant, u32)>,
) -> SimOrder {
    for (variant, quantity) in &lines {
        if let Some(stocked) = state.catalogue.variant_mut(&variant.vid) {
            stocked.stock = stocked.stock.saturating_sub(*quantity);
        }
    }
    let now = state.now;
    let serial = 1 + state.orders.len() as u64;
    let (order_id, track_number) = {
        let mut rng = lock(&inner.rng);
        (
            format!("SD{}{serial:06}", 2_600_000_000u64 + next(&mut rng) % 100_000_000),
            track_number(method.track, &mut rng),
        )
    };
    let order = SimOrder {
        order_id,
        order_number: order_number.to_string(),
        logistic_name: method.name.to_string(),
        country_code: text(map, "shippingCountryCode").unwrap_or_default().to_string(),
        from_country: text(map, "fromCountryCode").unwrap_or_default().to_string(),
        pay_type,
        postage_cents: postage_cents(method, grams(&lines)),
        lines: lines.into_iter().map(|(v, q)| (v.vid, q, v.price_cents)).collect(),
        created_at: now,
        paid_at: (pay_type == Some(2)).then(|| now + state.timings.payment),
        cancelled_at: None,
        processing: state.timings.processing,
        transit: state
            .timings
            .transit
            .unwrap_or_else(|| Duration::days(method.transit_days)),
        track_number,
    };
    state.orders.push(order.clone());
    order
}

async fn order_detail(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let Some(id) = param(&query, "orderId") else {
        return envelope(
            CjSim::ORDER_NOT_FOUND_CODE,
            "orderId must be not empty",
            Value::Null,
            &inner,
        );
    };
    let found = {
        let state = lock(&inner.state);
        state
            .orders
            .iter()
            .find(|o| o.order_id == id || o.order_number == id)
            .map(|o| order_json(o, state.now, true))
    };
    match found {
        Some(data) => success(&inner, data),
        None => envelope(CjSim::ORDER_NOT_FOUND_CODE, "order not found", Value::Null, &inner),
    }
}

async fn order_list(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let number = |key: &str, default: usize| -> Result<usize, String> {
        match param(&query, key) {
            None => Ok(default),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{key} must be a whole number from 1")),
        }
    };
    let (page, size) = match (number("pageNum", 1), number("pageSize", 20)) {
        (Ok(page), Ok(size)) => (page, size.min(MAX_PAGE_SIZE)),
        (Err(why), _) | (_, Err(why)) => return param_error(&inner, why),
    };
    let status = param(&query, "status").map(str::to_ascii_uppercase);
    let (total, list) = {
        let state = lock(&inner.state);
        let now = state.now;
        let matching: Vec<&SimOrder> = state
            .orders
            .iter()
            .rev()
            .filter(|o| status.as_deref().is_none_or(|s| o.stage(now).cj() == s))
            .collect();
        let list: Vec<Value> = matching
            .iter()
            .skip((page - 1).saturating_mul(size))
            .take(size)
            .map(|o| order_json(o, now, false))
            .collect();
        (matching.len(), list)
    };
    success(
        &inner,
        json!({"pageNum": page, "pageSize": size, "total": total, "list": list}),
    )
}

async fn delete_order(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let Some(id) = param(&query, "orderId") else {
        return param_error(&inner, "orderId is required");
    };
    let outcome = {
        let mut guard = lock(&inner.state);
        let state = &mut *guard;
        let now = state.now;
        match state.orders.iter_mut().find(|o| o.order_id == id) {
            None => Err((CjSim::ORDER_NOT_FOUND_CODE, "order not found".to_string())),
            Some(order) => match order.stage(now) {
                Stage::Cancelled => Ok(()),
                Stage::Created => {
                    order.cancelled_at = Some(now);
                    for (vid, quantity, _) in &order.lines {
                        if let Some(variant) = state.catalogue.variant_mut(vid) {
                            variant.stock = variant.stock.saturating_add(*quantity);
                        }
                    }
                    Ok(())
                }
                stage => Err((
                    CjSim::CANCEL_REFUSED_CODE,
                    format!("The order is {} and cannot be deleted", stage.cj()),
                )),
            },
        }
    };
    match outcome {
        Ok(()) => success(&inner, Value::Bool(true)),
        Err((code, message)) => envelope(code, &message, Value::Null, &inner),
    }
}

/// `trackingStatus` `elapsed` after shipping, for a parcel `transit` long on its way.
fn tracking_status(elapsed: Duration, transit: Duration) -> &'static str {
    if elapsed >= transit {
        "Delivered"
    } else if elapsed < Duration::days(1) {
        "Info received"
    } else if elapsed >= transit - Duration::days(1) {
        "Out for delivery"
    } else {
        "In transit"
    }
}

async fn track_info(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let numbers: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "trackNumber")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if numbers.is_empty() {
        return param_error(&inner, "trackNumber is required");
    }
    let data: Vec<Value> = {
        let state = lock(&inner.state);
        let now = state.now;
        numbers
            .iter()
            .filter_map(|number| {
                let order = state.orders.iter().find(|o| o.track_number == *number)?;
                let shipped = order.shipped_at().filter(|at| *at <= now)?;
                if order.stage(now) == Stage::Cancelled {
                    return None;
                }
                let elapsed = (now - shipped).min(order.transit);
                let delivered = elapsed >= order.transit;
                let usps = method(&order.logistic_name).is_some_and(|m| m.track == TrackFormat::Usps);
                Some(json!({
                    "trackingNumber": order.track_number,
                    "logisticName": order.logistic_name,
                    "trackingFrom": order.from_country,
                    "trackingTo": order.country_code,
                    "deliveryDay": elapsed.whole_days().to_string(),
                    "deliveryTime": if delivered { json!(plain_date(shipped + order.transit)) } else { json!("") },
                    "trackingStatus": tracking_status(elapsed, order.transit),
                    "lastMileCarrier": if usps { "USPS" } else { "CJPacket" },
                    "lastTrackNumber": if usps { order.track_number.as_str() } else { "" },
                }))
            })
            .collect()
    };
    success(&inner, Value::Array(data))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    async fn call(sim: &CjSim, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut request = crate::http_client()
            .post(format!("{}{path}", sim.base_url()))
            .json(&body);
        if let Some(token) = token {
            request = request.header("CJ-Access-Token", token);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    async fn get_json(sim: &CjSim, path_and_query: &str, token: &str) -> Value {
        crate::http_client()
            .get(format!("{}{path_and_query}", sim.base_url()))
            .header("CJ-Access-Token", token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn token(sim: &CjSim) -> String {
        let answer = call(
            sim,
            "/authentication/getAccessToken",
            None,
            json!({"apiKey": sim.api_key()}),
        )
        .await;
        answer["data"]["accessToken"].as_str().unwrap().to_string()
    }

    fn order_body(sim: &CjSim, number: &str) -> Value {
        json!({
            "orderNumber": number, "shippingCountryCode": "US", "shippingCountry": "United States",
            "shippingProvince": "CA", "shippingCity": "Fresno", "shippingAddress": "1 Main St",
            "shippingCustomerName": "Ann Lee", "shippingZip": "93650", "shippingPhone": "5595550100",
            "logisticName": "USPS+", "fromCountryCode": "CN", "payType": 3,
            "products": [{"vid": sim.variants()[0].vid, "quantity": 2}],
        })
    }

    #[test]
    fn check_digits() {
        // LX 12345678 5 CN: 204 mod 11 = 6, 11 − 6 = 5.
        assert_eq!(s10_check_digit("12345678"), Some(5));
        // 56 mod 11 = 1: 11 − 1 = 10, written 0; a sum of 0 gives 11, written 5.
        assert_eq!(s10_check_digit("00000008"), Some(0));
        assert_eq!(s10_check_digit("00000000"), Some(5));
        assert_eq!(s10_check_digit("1234567"), None);
        // The mod-10 digit against the weighting done the long way.
        let body = "940010000000000000000";
        let sum: u32 = body
            .chars()
            .rev()
            .enumerate()
            .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 3 } else { 1 })
            .sum();
        assert_eq!(mod10_check_digit(body), Some(((10 - sum % 10) % 10) as u8));
        assert_eq!(mod10_check_digit("12x"), None);
        let mut rng = 5;
        for _ in 0..50 {
            let s10 = track_number(TrackFormat::UpuS10, &mut rng);
            assert_eq!(s10.len(), 13);
            assert!(s10.ends_with("CN") && s10.as_bytes()[..2].iter().all(u8::is_ascii_uppercase));
            let check = s10_check_digit(&s10[2..10]).unwrap();
            assert_eq!(s10.as_bytes()[10], b'0' + check, "{s10}");
            let usps = track_number(TrackFormat::Usps, &mut rng);
            assert_eq!(usps.len(), 22);
            assert_eq!(
                mod10_check_digit(&usps[..21]).map(|d| b'0' + d),
                Some(usps.as_bytes()[21])
            );
            let cj = track_number(TrackFormat::CjPacket, &mut rng);
            assert_eq!(cj.len(), 17);
            assert!(cj.starts_with("CJPKL") && cj[5..15].bytes().all(|b| b.is_ascii_digit()));
            assert!(cj[15..].bytes().all(|b| b.is_ascii_uppercase()));
            let dhl = track_number(TrackFormat::Dhl, &mut rng);
            let first: u64 = dhl[..9].parse().unwrap();
            assert_eq!(u64::from(dhl.as_bytes()[9] - b'0'), first % 7);
        }
    }

    #[test]
    fn prices_are_printed_from_their_decimal_text() {
        assert_eq!(price(621).to_string(), "6.21");
        assert_eq!(price(5).to_string(), "0.05");
        assert_eq!(price(120_000).to_string(), "1200.0");
    }

    #[tokio::test]
    async fn tokens_have_cj_dates_and_wrong_key_is_refused() {
        let sim = CjSim::start(7).await.unwrap();
        let ok = call(
            &sim,
            "/authentication/getAccessToken",
            None,
            json!({"apiKey": sim.api_key()}),
        )
        .await;
        assert_eq!(ok["code"], 200);
        let expiry = ok["data"]["accessTokenExpiryDate"].as_str().unwrap();
        assert!(expiry.ends_with("+08:00"), "{expiry}");
        let bad = call(&sim, "/authentication/getAccessToken", None, json!({"apiKey": "nope"})).await;
        assert_eq!(bad["code"], 1_600_005);
        assert_eq!(bad["result"], false);
        let refreshed = call(
            &sim,
            "/authentication/refreshAccessToken",
            None,
            json!({"refreshToken": ok["data"]["refreshToken"]}),
        )
        .await;
        assert_eq!(refreshed["code"], 200);
        let reused = call(
            &sim,
            "/authentication/refreshAccessToken",
            None,
            json!({"refreshToken": ok["data"]["refreshToken"]}),
        )
        .await;
        assert_eq!(reused["code"], 1_600_003, "a refresh token is used once");
        assert_eq!(sim.token_grants(), 1);
        assert_eq!(sim.token_refreshes(), 1);
        assert_eq!(sim.calls("/authentication/getAccessToken"), 2);
        assert_eq!(sim.calls("/authentication/refreshAccessToken"), 2);
    }

    #[tokio::test]
    async fn token_checks() {
        let sim = CjSim::start(1).await.unwrap();
        let body = json!({"startCountryCode": "CN", "endCountryCode": "US", "products": [{"vid": sim.variants()[0].vid, "quantity": 1}]});
        let none = call(&sim, "/logistic/freightCalculate", None, body.clone()).await;
        assert_eq!(none["code"], 1_600_002);
        let unknown = call(&sim, "/logistic/freightCalculate", Some("abc"), body.clone()).await;
        assert_eq!(unknown["code"], 1_600_001);
        let token = token(&sim).await;
        let ok = call(&sim, "/logistic/freightCalculate", Some(&token), body.clone()).await;
        assert_eq!(ok["code"], 200);
        assert_eq!(ok["data"].as_array().unwrap().len(), METHODS.len());
        sim.expire_tokens();
        let expired = call(&sim, "/logistic/freightCalculate", Some(&token), body).await;
        assert_eq!(expired["code"], 401);
    }

    #[tokio::test]
    async fn freight_refuses_bad_input_naming_the_field() {
        let sim = CjSim::start(2).await.unwrap();
        let token = token(&sim).await;
        let bad_vid =
            json!({"startCountryCode": "CN", "endCountryCode": "US", "products": [{"vid": "x", "quantity": 1}]});
        let answer = call(&sim, "/logistic/freightCalculate", Some(&token), bad_vid).await;
        assert_eq!(answer["code"], PARAM_ERROR);
        assert!(answer["message"].as_str().unwrap().contains("products[0].vid"));
        let bad_country = json!({"startCountryCode": "china", "endCountryCode": "US", "products": []});
        let answer = call(&sim, "/logistic/freightCalculate", Some(&token), bad_country).await;
        assert!(answer["message"].as_str().unwrap().contains("startCountryCode"));
        sim.refuse_country("BR");
        let refused = json!({"startCountryCode": "CN", "endCountryCode": "BR", "products": [{"vid": sim.variants()[0].vid, "quantity": 1}]});
        let answer = call(&sim, "/logistic/freightCalculate", Some(&token), refused).await;
        assert_eq!(answer["data"], json!([]));
    }

    #[tokio::test]
    async fn create_is_idempotent_on_order_number_and_detail_finds_both_ids() {
        let sim = CjSim::start(3).await.unwrap();
        let token = token(&sim).await;
        let first = call(
            &sim,
            "/shopping/order/createOrderV2",
            Some(&token),
            order_body(&sim, "D-1"),
        )
        .await;
        assert_eq!(first["code"], 200);
        let id = first["data"]["orderId"].as_str().unwrap().to_string();
        let second = call(
            &sim,
            "/shopping/order/createOrderV2",
            Some(&token),
            order_body(&sim, "D-1"),
        )
        .await;
        assert_eq!(second["code"], CjSim::DUPLICATE_ORDER_CODE);
        assert_eq!(second["data"]["orderId"], id.as_str());
        assert_eq!(sim.orders().len(), 1);
        let mut missing = order_body(&sim, "D-2");
        missing.as_object_mut().unwrap().remove("shippingZip");
        let refused = call(&sim, "/shopping/order/createOrderV2", Some(&token), missing).await;
        assert!(refused["message"].as_str().unwrap().contains("shippingZip"));
        assert_eq!(sim.orders().len(), 1);
        for key in [id.as_str(), "D-1"] {
            let detail = get_json(&sim, &format!("/shopping/order/getOrderDetail?orderId={key}"), &token).await;
            assert_eq!(detail["data"]["orderId"], id.as_str());
            assert_eq!(detail["data"]["orderNum"], "D-1");
            assert_eq!(detail["data"]["productList"][0]["quantity"], 2);
        }
        let unknown = get_json(&sim, "/shopping/order/getOrderDetail?orderId=nope", &token).await;
        assert_eq!(unknown["code"], CjSim::ORDER_NOT_FOUND_CODE);
    }

    #[tokio::test]
    async fn lost_create_answer_still_creates_and_500_does_nothing() {
        let sim = CjSim::start(4).await.unwrap();
        let token = token(&sim).await;
        sim.lose_next_create_response();
        let lost = crate::http_client()
            .post(format!("{}/shopping/order/createOrderV2", sim.base_url()))
            .header("CJ-Access-Token", &token)
            .json(&order_body(&sim, "L-1"))
            .send()
            .await;
        let failed = match lost {
            Err(_) => true,
            Ok(response) => response.bytes().await.is_err(),
        };
        assert!(failed, "the answer must not arrive");
        assert_eq!(sim.orders().len(), 1);
        sim.fail_next(1);
        let status = crate::http_client()
            .post(format!("{}/shopping/order/createOrderV2", sim.base_url()))
            .header("CJ-Access-Token", &token)
            .json(&order_body(&sim, "L-2"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(sim.orders().len(), 1);
        assert_eq!(sim.calls("/shopping/order/createOrderV2"), 2);
    }

    #[tokio::test]
    async fn faults_aimed_at_one_endpoint_spare_the_others() {
        let sim = CjSim::start(5).await.unwrap();
        let token = token(&sim).await;
        let vid = sim.variants()[0].vid.clone();
        sim.fault_on(
            "/product/stock/queryByVid",
            Fault::RateLimited {
                retry_after_secs: Some(7),
            },
        );
        let variant = get_json(&sim, &format!("/product/variant/queryByVid?vid={vid}"), &token).await;
        assert_eq!(variant["data"]["vid"], vid.as_str());
        let limited = crate::http_client()
            .get(format!("{}/product/stock/queryByVid?vid={vid}", sim.base_url()))
            .header("CJ-Access-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "7");
        let stock = get_json(&sim, &format!("/product/stock/queryByVid?vid={vid}"), &token).await;
        assert_eq!(stock["data"][0]["totalInventoryNum"], 75);
        assert_eq!(stock["data"][1]["totalInventoryNum"], 25);
        sim.malformed_next(1);
        let cut = crate::http_client()
            .get(format!("{}/product/variant/queryByVid?vid={vid}", sim.base_url()))
            .header("CJ-Access-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(cut.status(), StatusCode::OK);
        let bytes = cut.bytes().await.unwrap();
        assert!(serde_json::from_slice::<Value>(&bytes).is_err());
        assert_eq!(sim.calls("/product/stock/queryByVid"), 2);
        assert_eq!(sim.calls("/product/variant/queryByVid"), 2);
    }

    #[tokio::test]
    async fn orders_pay_ship_and_arrive_as_the_clock_moves() {
        let sim = CjSim::start(6).await.unwrap();
        let token = token(&sim).await;
        let vid = sim.variants()[0].vid.clone();
        let mut body = order_body(&sim, "T-1");
        body["payType"] = json!(2);
        body["logisticName"] = json!("China Post Registered Air Mail");
        let created = call(&sim, "/shopping/order/createOrderV2", Some(&token), body).await;
        assert_eq!(created["code"], 200);
        assert_eq!(sim.variant(&vid).unwrap().stock, INITIAL_STOCK - 2);
        let status = |sim: &CjSim| sim.orders()[0].status.clone();
        assert_eq!(status(&sim), "CREATED");
        sim.advance(std::time::Duration::from_secs(2 * 3600));
        assert_eq!(status(&sim), "UNSHIPPED");
        assert_eq!(sim.orders()[0].track_number, None);
        sim.advance_days(2);
        assert_eq!(status(&sim), "SHIPPED");
        let number = sim.orders()[0].track_number.clone().unwrap();
        assert!(number.ends_with("CN"), "{number}");
        let track = get_json(
            &sim,
            &format!("/logistic/trackInfo?trackNumber={number}&trackNumber=NOPE"),
            &token,
        )
        .await;
        assert_eq!(track["data"].as_array().unwrap().len(), 1);
        assert_eq!(track["data"][0]["trackingStatus"], "Info received");
        sim.advance_days(10);
        let track = get_json(&sim, &format!("/logistic/trackInfo?trackNumber={number}"), &token).await;
        assert_eq!(track["data"][0]["trackingStatus"], "In transit");
        assert_eq!(track["data"][0]["deliveryDay"], "10");
        sim.advance_days(30);
        assert_eq!(status(&sim), "DELIVERED");
        let track = get_json(&sim, &format!("/logistic/trackInfo?trackNumber={number}"), &token).await;
        assert_eq!(track["data"][0]["trackingStatus"], "Delivered");
        assert_eq!(track["data"][0]["deliveryDay"], "30");
    }

    #[tokio::test]
    async fn catalogue_moves_and_orders_are_refused_for_it() {
        let sim = CjSim::start(8).await.unwrap();
        let token = token(&sim).await;
        let vid = sim.variants()[0].vid.clone();
        assert!(sim.set_stock(&vid, 1));
        let over = call(
            &sim,
            "/shopping/order/createOrderV2",
            Some(&token),
            order_body(&sim, "S-1"),
        )
        .await;
        assert_eq!(over["code"], CjSim::OUT_OF_STOCK_CODE);
        assert!(sim.set_price(&vid, 1_234));
        let variant = get_json(&sim, &format!("/product/variant/queryByVid?vid={vid}"), &token).await;
        assert_eq!(variant["data"]["variantSellPrice"].to_string(), "12.34");
        assert!(sim.remove_variant(&vid));
        let gone = get_json(&sim, &format!("/product/variant/queryByVid?vid={vid}"), &token).await;
        assert_eq!((gone["code"].clone(), gone["data"].clone()), (json!(200), Value::Null));
        sim.set_stock(&vid, 10);
        let removed = call(
            &sim,
            "/shopping/order/createOrderV2",
            Some(&token),
            order_body(&sim, "S-2"),
        )
        .await;
        assert_eq!(removed["code"], CjSim::VARIANT_UNAVAILABLE_CODE);
        sim.restore_variant(&vid);
        sim.refuse_country("US");
        let refused = call(
            &sim,
            "/shopping/order/createOrderV2",
            Some(&token),
            order_body(&sim, "S-3"),
        )
        .await;
        assert_eq!(refused["code"], CjSim::COUNTRY_REFUSED_CODE);
        assert!(sim.orders().is_empty());
        assert!(!sim.set_price("no-such-vid", 1));
    }

    #[tokio::test]
    async fn products_answer_with_their_variants_and_inventory() {
        let sim = CjSim::start(9).await.unwrap();
        let token = token(&sim).await;
        let (pid, vids) = sim.add_products(1, 3).remove(0);
        let (product, variants) = sim.product(&pid).unwrap();
        assert!(variants.iter().all(|v| v.pid == pid));
        let detail = get_json(&sim, &format!("/product/query?pid={pid}"), &token).await;
        assert_eq!(detail["data"]["productNameEn"], product.title.as_str());
        assert_eq!(detail["data"]["variants"].as_array().unwrap().len(), 3);
        let listed = get_json(&sim, &format!("/product/variant/query?pid={pid}"), &token).await;
        assert_eq!(listed["data"][0]["vid"], vids[0].as_str());
        assert_eq!(listed["data"][0]["variantKey"], "Black-S");
        assert_eq!(
            listed["data"][0]["variantSellPrice"].to_string(),
            price(variants[0].price_cents).to_string()
        );
        let stock = get_json(&sim, &format!("/product/stock/getInventoryByPid?pid={pid}"), &token).await;
        let first = &stock["data"]["variantInventories"][0];
        assert_eq!(first["vid"], vids[0].as_str());
        let units: u64 = first["inventory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["totalInventory"].as_u64().unwrap())
            .sum();
        assert_eq!(units, u64::from(variants[0].stock));
        // Bad data printed on request; a removed variant is left out; an unknown product has
        // no data.
        assert!(sim.set_raw_price(&vids[1], json!("abc")));
        assert!(sim.set_raw_stock(&vids[1], json!(-5)));
        assert!(sim.remove_variant(&vids[2]));
        let listed = get_json(&sim, &format!("/product/variant/query?pid={pid}"), &token).await;
        assert_eq!(listed["data"].as_array().unwrap().len(), 2);
        assert_eq!(listed["data"][1]["variantSellPrice"], "abc");
        let stock = get_json(&sim, &format!("/product/stock/getInventoryByPid?pid={pid}"), &token).await;
        assert_eq!(
            stock["data"]["variantInventories"][1]["inventory"][0]["totalInventory"],
            -5
        );
        let by_vid = get_json(&sim, &format!("/product/stock/queryByVid?vid={}", vids[1]), &token).await;
        assert_eq!(by_vid["data"][0]["totalInventoryNum"], -5);
        assert!(sim.clear_raw(&vids[1]));
        for path in ["/product/query", "/product/stock/getInventoryByPid"] {
            let unknown = get_json(&sim, &format!("{path}?pid=nope"), &token).await;
            assert_eq!(
                (unknown["code"].clone(), unknown["data"].clone()),
                (json!(200), Value::Null)
            );
        }
        let unknown = get_json(&sim, "/product/variant/query?pid=nope", &token).await;
        assert_eq!(unknown["data"], json!([]));
        assert!(sim.remove_product(&pid));
        let gone = get_json(&sim, &format!("/product/query?pid={pid}"), &token).await;
        assert_eq!(gone["data"], Value::Null);
        let missing = get_json(&sim, "/product/variant/query", &token).await;
        assert_eq!(missing["code"], PARAM_ERROR);
    }

    #[tokio::test]
    async fn a_large_catalogue_drifts_the_same_way_for_the_same_seed() {
        let [one, two] = [CjSim::start(10).await.unwrap(), CjSim::start(10).await.unwrap()];
        let added = one.add_products(10_000, 10);
        assert_eq!(added.len(), 10_000);
        assert!(added.iter().all(|(_, vids)| vids.len() == 10));
        assert_eq!(one.variants().len(), 4 + 100_000);
        assert_eq!(two.add_products(10_000, 10), added, "ids follow the seed");
        let moved = one.drift(3, 500);
        assert_eq!(two.drift(3, 500), moved);
        // About 5 % of the listed variants.
        assert!((4_000..6_000).contains(&moved.len()), "{}", moved.len());
        let drifted = one.variants();
        assert!(drifted == two.variants(), "both drifted alike");
        assert!(
            drifted.iter().any(|v| v.price_cents == 0 || v.price_cents > 1_000_000),
            "some absurd prices"
        );
        assert_ne!(one.drift(4, 500), moved, "another seed moves others");
    }

    #[tokio::test]
    async fn requests_past_the_rate_limit_are_refused() {
        let sim = CjSim::start(11).await.unwrap();
        let token = token(&sim).await;
        sim.set_rate_limit(Some(2));
        let pid = sim.variants()[0].pid.clone();
        let ask = || {
            crate::http_client()
                .get(format!("{}/product/variant/query?pid={pid}", sim.base_url()))
                .header("CJ-Access-Token", &token)
                .send()
        };
        assert_eq!(ask().await.unwrap().status(), StatusCode::OK);
        assert_eq!(ask().await.unwrap().status(), StatusCode::OK);
        let refused = ask().await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        assert_eq!(sim.rate_limited(), 1);
        tokio::time::sleep(std::time::Duration::from_millis(1_050)).await;
        assert_eq!(ask().await.unwrap().status(), StatusCode::OK, "a second later");
        sim.set_rate_limit(None);
        for _ in 0..5 {
            assert_eq!(ask().await.unwrap().status(), StatusCode::OK);
        }
        assert_eq!(sim.calls("/product/variant/query"), 9);
    }
}
