//! An AliExpress Open Platform (IOP) dropshipping simulator on 127.0.0.1.
//!
//! It speaks the gateway's wire format: form (or query) parameters, the HMAC-SHA256
//! signature, `<method>_response` envelopes, `error_response` and IOP-style top-level errors.
//! It knows dropline only as an HTTP caller and checks the signature itself.
//!
//! # Endpoints
//!
//! - `POST|GET /sync` with `method` = one of
//!   - `aliexpress.ds.order.create` (`param_place_order_request4_open_api_d_t_o`, optional
//!     `ds_extend_request`): creates one order per store the items come from, awaiting
//!     payment; refusals as `result.is_success: false` with AliExpress's `error_code`s.
//!   - `aliexpress.trade.ds.order.get` (`single_order_query` `{order_id}`).
//!   - `aliexpress.logistics.ds.trackinginfo.query` (`logistics_no`, `origin`, `out_ref`,
//!     `service_name`, `to_area`).
//!   - `aliexpress.ds.product.get` (`product_id`, `ship_to_country`): `rsp_code` 605 for an
//!     unknown product, 602 for a country it does not sell to; prices in USD; each SKU with
//!     its properties (`ae_sku_property_dtos`: colour and size, the seller's value names).
//!   - `aliexpress.ds.freight.query` (`queryDeliveryReq`): one option per service that goes
//!     to the country; `code` 505 `DELIVERY_NOT_AVAILABLE_TO_YOUR_ADDRESS` otherwise.
//! - `POST|GET /rest/auth/token/refresh` (`refresh_token`): a new token pair, top-level
//!   fields with `code` `"0"`.
//!
//! Every call is checked like the gateway does: `app_key` (unknown → `InvalidAppKey`),
//! `sign_method` `sha256` and `sign` (sorted `name`+`value` pairs, the API path in front for
//! `/rest`, HMAC-SHA256 keyed with the app secret, hex; wrong → `IncompleteSignature`),
//! `timestamp` (missing or not epoch milliseconds → `MissingParameter`/`InvalidTimestamp`),
//! and for `/sync` the `session` (missing → `MissingParameter`, unknown or expired →
//! `IllegalAccessToken`). These gateway errors are IOP style (`{"type","code","message"}`);
//! a missing or unreadable business parameter is TOP style
//! (`{"error_response":{"code":"40"|"41","sub_code":"isv.…"}}`).
//!
//! # Time
//!
//! Orders move on a simulated day counter that the test advances
//! ([`AliExpressSim::advance_days`]): created `PLACE_ORDER_SUCCESS` on day 0, paid
//! (`WAIT_SELLER_SEND_GOODS`) on day 1, shipped with a tracking number after the processing
//! delay ([`AliExpressSim::set_processing_days`], 2 by default; an order of several lines is
//! `SELLER_PART_SEND_GOODS` for its first day), `FINISH` once the service's transit days have
//! passed. Tracking numbers are Cainiao's `LP` + 14 digits for AliExpress Standard Shipping,
//! UPU S10 (`RR…CN`, `EE…CN`, with the check digit) for China Post and EMS.
//!
//! # The simulator's own choices
//!
//! AliExpress does not document these; the simulator decides, and a client must not rely on
//! them against the real platform:
//!
//! - a second creation with an `out_order_id` seen within the last simulated day (AliExpress's
//!   24-hour idempotency window) makes nothing and answers `REPEATED_ORDER_ERROR` **with the
//!   existing ids in `order_list`**; after the window the key is forgotten and a resend
//!   creates a new order;
//! - orders are paid by the account on the day after creation, without a payment call;
//! - an order query for an unknown id answers a `…_response` without `result`;
//! - a product id or `sku_attr` it does not sell answers `ERROR_WHEN_BUILD_FOR_PLACE_ORDER`;
//!   an empty `logistics_service_name` means `CAINIAO_STANDARD`; a destination outside its
//!   list answers `A005_INVALID_COUNTRIES`; a pay currency other than USD answers
//!   `PRICE_PAY_CURRENCY_ERROR`;
//! - a tracking query whose number, service or country does not match the order answers
//!   `result_success: false` with an `error_desc`; events are listed oldest first;
//! - a refresh token is used once (the refresh hands out a new one); an unknown one answers
//!   `IllegalRefreshToken`;
//! - bad data on request: [`AliExpressSim::set_raw_price`] and
//!   [`AliExpressSim::set_raw_stock`] make a SKU's answers print any JSON value;
//! - with [`AliExpressSim::set_rate_limit`], requests past the limit (over a sliding second)
//!   get the gateway's throttling error (`ApiCallLimit`, HTTP 200) and do nothing;
//! - the freight query answers `605`/`ITEM_ID_NOT_FOUND` for an unknown product and
//!   `506`/`SKU_NOT_FOUND` for an unknown SKU; its fee is a decimal amount in
//!   `shipping_fee_cent`, as in AliExpress's own sample.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as Shared;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// `aliexpress.ds.order.create`.
pub const CREATE: &str = "aliexpress.ds.order.create";
/// `aliexpress.trade.ds.order.get`.
pub const ORDER_GET: &str = "aliexpress.trade.ds.order.get";
/// `aliexpress.logistics.ds.trackinginfo.query`.
pub const TRACKING: &str = "aliexpress.logistics.ds.trackinginfo.query";
/// `aliexpress.ds.product.get`.
pub const PRODUCT: &str = "aliexpress.ds.product.get";
/// `aliexpress.ds.freight.query`.
pub const FREIGHT: &str = "aliexpress.ds.freight.query";
/// The token refresh, counted under this name.
pub const TOKEN_REFRESH: &str = "/auth/token/refresh";

/// The countries the simulated sellers ship to.
pub const SHIPS_TO: [&str; 18] = [
    "US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "AU", "NZ", "BR", "MX", "CL", "JP", "KR", "PL", "SE",
];

/// The calendar day of simulated day 0 (`gmt_create`, tracking dates).
const EPOCH: (i32, u8, u8) = (2025, 3, 3);

/// How a service's tracking numbers look.
#[derive(Clone, Copy, Debug)]
enum Carrier {
    /// `LP` + 14 digits.
    Cainiao,
    /// UPU S10: two letters, 8 digits, the check digit, `CN`.
    S10([u8; 2]),
}

/// A shipping service the simulator offers.
struct Service {
    code: &'static str,
    company: &'static str,
    base_cents: i64,
    per_unit_cents: i64,
    min_days: u32,
    max_days: u32,
    /// Days from shipping to delivery.
    transit_days: u32,
    carrier: Carrier,
    /// Countries this service does not go to (the seller still ships there otherwise).
    excluded: &'static [&'static str],
    website: &'static str,
}

const SERVICES: [Service; 3] = [
    Service {
        code: "CAINIAO_STANDARD",
        company: "AliExpress Standard Shipping",
        base_cents: 199,
        per_unit_cents: 50,
        min_days: 12,
        max_days: 20,
        transit_days: 15,
        carrier: Carrier::Cainiao,
        excluded: &[],
        website: "https://global.cainiao.com",
    },
    Service {
        code: "CHINA_POST_REGISTERED_AIR_MAIL",
        company: "China Post Registered Air Mail",
        base_cents: 99,
        per_unit_cents: 30,
        min_days: 20,
        max_days: 40,
        transit_days: 25,
        carrier: Carrier::S10(*b"RR"),
        excluded: &[],
        website: "http://www.chinapost.com.cn",
    },
    Service {
        code: "EMS",
        company: "EMS",
        base_cents: 1_299,
        per_unit_cents: 200,
        min_days: 7,
        max_days: 15,
        transit_days: 10,
        carrier: Carrier::S10(*b"EE"),
        excluded: &["BR", "CL"],
        website: "http://www.ems.com.cn",
    },
];

fn service(code: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.code == code)
}

/// The UPU S10 check digit of 8 serial digits: weights 8,6,4,2,3,5,9,7; 11 − sum mod 11,
/// with 10 → 0 and 11 → 5.
pub fn s10_check_digit(serial: &[u8; 8]) -> u8 {
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = serial
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit.saturating_sub(b'0')) * weight)
        .sum();
    match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        check => check as u8,
    }
}

/// Whether `number` is a well-formed UPU S10 number (two letters, 8 digits, the right check
/// digit, two letters).
pub fn is_s10(number: &str) -> bool {
    let bytes = number.as_bytes();
    if bytes.len() != 13
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..11].iter().all(u8::is_ascii_digit)
        || !bytes[11..].iter().all(u8::is_ascii_uppercase)
    {
        return false;
    }
    let mut serial = [0u8; 8];
    serial.copy_from_slice(&bytes[2..10]);
    s10_check_digit(&serial) == bytes[10] - b'0'
}

/// A SKU of the simulated catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AeSimSku {
    pub sku_id: String,
    /// `14:350853#Black;5:361386`.
    pub sku_attr: String,
    /// Price the account pays, in US cents.
    pub price_cents: i64,
    pub stock: u32,
}

/// A product of the simulated catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AeSimProduct {
    pub product_id: String,
    pub title: String,
    /// The seller; items of different stores become different orders.
    pub store_id: u64,
    pub skus: Vec<AeSimSku>,
}

/// One line of a simulated order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AeSimLine {
    pub product_id: String,
    pub sku_id: String,
    pub sku_attr: String,
    pub count: u32,
    pub unit_cents: i64,
}

/// An order held by the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AeSimOrder {
    pub order_id: String,
    pub out_order_id: Option<String>,
    pub store_id: u64,
    /// Destination, ISO alpha-2.
    pub country: String,
    /// The contact person or full name.
    pub recipient: String,
    /// Service code, e.g. `CAINIAO_STANDARD`.
    pub service: String,
    pub lines: Vec<AeSimLine>,
    pub shipping_cents: i64,
    /// Simulated day it was created on.
    pub created_day: u32,
    /// `order_status` today.
    pub status: String,
    pub tracking_number: Option<String>,
    pub shipped_day: Option<u32>,
}

impl AeSimOrder {
    /// Products plus shipping, in US cents.
    pub fn total_cents(&self) -> i64 {
        self.lines
            .iter()
            .map(|line| line.unit_cents * i64::from(line.count))
            .sum::<i64>()
            + self.shipping_cents
    }
}

/// A misbehaviour the next matching request(s) show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AeFault {
    /// HTTP 500, nothing done.
    ServerError,
    /// HTTP 429 with `Retry-After`, nothing done.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 200 with the gateway's throttling error (`ApiCallLimit`, "this ban will last N
    /// seconds"), nothing done.
    Throttled { ban_secs: u64 },
    /// HTTP 200 with an HTML page instead of JSON (a proxy in the way), nothing done.
    NotJson,
    /// The request is carried out; the answer's JSON is cut in half (a complete HTTP answer
    /// whose body is not valid JSON).
    Malformed,
    /// The request is carried out; the answer is sent only after this long.
    Delay(Duration),
    /// The request is carried out; the answer's headers go out, its body never does.
    LoseAnswer,
    /// Order creation only: refused with this `error_code`, nothing created.
    Reject(String),
}

struct PendingFault {
    method: Option<String>,
    fault: AeFault,
    remaining: u32,
}

struct World {
    day: u32,
    processing_days: u32,
    catalogue: Vec<AeSimProduct>,
    orders: Vec<AeSimOrder>,
    /// access token → still valid.
    access: HashMap<String, bool>,
    /// refresh token → still valid.
    refresh: HashMap<String, bool>,
    current_access: String,
    current_refresh: String,
    /// out_order_id → (day first created, order ids).
    idempotency: HashMap<String, (u32, Vec<String>)>,
    faults: Vec<PendingFault>,
    calls: BTreeMap<String, u32>,
    refreshes: u32,
    rng: u64,
    /// SKU id → what its answers print instead of its price and stock.
    raw: HashMap<String, RawValues>,
    /// At most this many requests a second, when set.
    rate_limit: Option<u32>,
    /// When the requests let through in the last second arrived.
    recent: std::collections::VecDeque<std::time::Instant>,
    rate_limited: u32,
}

/// What a SKU's answers print instead of its price or stock (bad data, for tests).
#[derive(Clone, Default)]
struct RawValues {
    price: Option<Value>,
    stock: Option<Value>,
}

struct Inner {
    app_key: String,
    app_secret: String,
    state: Mutex<World>,
}

/// AliExpress's dropshipping API on a local port. Cheap to clone; the server stops when the
/// last clone is dropped.
#[derive(Clone)]
pub struct AliExpressSim {
    inner: Arc<Inner>,
    base_url: String,
    _server: Arc<crate::Server>,
}

impl fmt::Debug for AliExpressSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliExpressSim")
            .field("base_url", &self.base_url)
            .field("app_key", &self.inner.app_key)
            .field("app_secret", &"[redacted]")
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// splitmix64: deterministic values from the seed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `count` decimal digits from the rng.
fn digits(rng: &mut u64, count: usize) -> String {
    (0..count).map(|_| char::from(b'0' + (next(rng) % 10) as u8)).collect()
}

fn token(rng: &mut u64, prefix: &str) -> String {
    format!("{prefix}{:016x}{:016x}", next(rng), next(rng))
}

/// Colour and size values for the seeded SKUs: `(property value id, custom name)`.
const COLOURS: [(u32, &str); 4] = [(350_853, "Black"), (691, "Grey"), (173, "Blue"), (10, "Red")];
const SIZES: [u32; 3] = [361_386, 361_385, 100_014_064];
/// The platform's names of [`SIZES`].
const SIZE_NAMES: [&str; 3] = ["M", "L", "XL"];
const TITLES: [&str; 5] = [
    "Stainless Steel Insulated Water Bottle 500ML",
    "Polarized Square Sunglasses UV400",
    "Silicone Phone Case Shockproof",
    "LED Desk Lamp Touch Dimmable",
    "Cotton Crew Socks 5 Pairs",
];

fn seed_catalogue(rng: &mut u64) -> Vec<AeSimProduct> {
    let stores = [1_103_000_000 + next(rng) % 900_000, 1_104_000_000 + next(rng) % 900_000];
    TITLES
        .iter()
        .enumerate()
        .map(|(p, title)| {
            let product_id = format!("1005{}", digits(rng, 12));
            // The last product has a single SKU, whose sku_attr is empty (as AliExpress does).
            let sku_count = if p + 1 == TITLES.len() {
                1
            } else {
                2 + (next(rng) % 3) as usize
            };
            let skus = (0..sku_count)
                .map(|s| {
                    let (colour, name) = COLOURS[s % COLOURS.len()];
                    let size = SIZES[(s + p) % SIZES.len()];
                    let sku_attr = if sku_count == 1 {
                        String::new()
                    } else {
                        format!("14:{colour}#{name};5:{size}")
                    };
                    AeSimSku {
                        sku_id: format!("12000{}", digits(rng, 12)),
                        sku_attr,
                        price_cents: 199 + (next(rng) % 4_800) as i64,
                        stock: 20 + (next(rng) % 180) as u32,
                    }
                })
                .collect();
            AeSimProduct {
                product_id,
                title: (*title).to_string(),
                store_id: stores[p % 2],
                skus,
            }
        })
        .collect()
}

impl AliExpressSim {
    /// Starts the API on 127.0.0.1 (a free port); keys, tokens, catalogue and ids follow
    /// `seed`.
    pub async fn start(seed: u64) -> std::io::Result<Self> {
        let mut rng = seed ^ 0xAE00_0000_0000_0000;
        let app_key = format!("5{:05}", next(&mut rng) % 100_000);
        let app_secret: String = (0..32)
            .map(|_| {
                const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                char::from(ALPHABET[(next(&mut rng) % ALPHABET.len() as u64) as usize])
            })
            .collect();
        let access = token(&mut rng, "50000");
        let refresh = token(&mut rng, "50001");
        let catalogue = seed_catalogue(&mut rng);
        let state = World {
            day: 0,
            processing_days: 2,
            catalogue,
            orders: Vec::new(),
            access: HashMap::from([(access.clone(), true)]),
            refresh: HashMap::from([(refresh.clone(), true)]),
            current_access: access,
            current_refresh: refresh,
            idempotency: HashMap::new(),
            faults: Vec::new(),
            calls: BTreeMap::new(),
            refreshes: 0,
            rng,
            raw: HashMap::new(),
            rate_limit: None,
            recent: std::collections::VecDeque::new(),
            rate_limited: 0,
        };
        let inner = Arc::new(Inner {
            app_key,
            app_secret,
            state: Mutex::new(state),
        });
        let app = Router::new()
            .route("/sync", post(sync).get(sync))
            .route(&format!("/rest{TOKEN_REFRESH}"), post(refresh_token).get(refresh_token))
            .with_state(Arc::clone(&inner));
        let (address, server) = crate::serve_on_loopback(app).await?;
        Ok(Self {
            inner,
            base_url: format!("http://{address}"),
            _server: Arc::new(server),
        })
    }

    /// `http://127.0.0.1:PORT`: the gateway root (`/sync`, `/rest/...` go after it).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The app key the gateway accepts.
    pub fn app_key(&self) -> &str {
        &self.inner.app_key
    }

    /// The app secret signatures are keyed with.
    pub fn app_secret(&self) -> &str {
        &self.inner.app_secret
    }

    /// The seller's current access token.
    pub fn access_token(&self) -> String {
        lock(&self.inner.state).current_access.clone()
    }

    /// The seller's current refresh token.
    pub fn refresh_token(&self) -> String {
        lock(&self.inner.state).current_refresh.clone()
    }

    /// Every access token handed out so far stops working (`IllegalAccessToken`); the refresh
    /// token still works.
    pub fn expire_access_token(&self) {
        let mut state = lock(&self.inner.state);
        for valid in state.access.values_mut() {
            *valid = false;
        }
    }

    /// Every refresh token handed out so far stops working.
    pub fn revoke_refresh_token(&self) {
        let mut state = lock(&self.inner.state);
        for valid in state.refresh.values_mut() {
            *valid = false;
        }
    }

    /// How many refreshes handed out a new token.
    pub fn token_refreshes(&self) -> u32 {
        lock(&self.inner.state).refreshes
    }

    /// Requests received for `method` (a dotted method, or [`TOKEN_REFRESH`]), faulty and
    /// refused ones included.
    pub fn calls(&self, method: &str) -> u32 {
        lock(&self.inner.state).calls.get(method).copied().unwrap_or(0)
    }

    /// Requests received, by method.
    pub fn call_counts(&self) -> BTreeMap<String, u32> {
        lock(&self.inner.state).calls.clone()
    }

    /// The catalogue as it is now.
    pub fn products(&self) -> Vec<AeSimProduct> {
        lock(&self.inner.state).catalogue.clone()
    }

    /// One product of the catalogue.
    pub fn product(&self, product_id: &str) -> Option<AeSimProduct> {
        lock(&self.inner.state)
            .catalogue
            .iter()
            .find(|p| p.product_id == product_id)
            .cloned()
    }

    /// The SKU with this id and its product's id.
    pub fn sku(&self, sku_id: &str) -> Option<(String, AeSimSku)> {
        lock(&self.inner.state).catalogue.iter().find_map(|p| {
            p.skus
                .iter()
                .find(|s| s.sku_id == sku_id)
                .map(|s| (p.product_id.clone(), s.clone()))
        })
    }

    /// Changes a SKU's price; false when there is no such SKU.
    pub fn set_price(&self, sku_id: &str, cents: i64) -> bool {
        self.with_sku(sku_id, |sku| sku.price_cents = cents)
    }

    /// Changes a SKU's stock; false when there is no such SKU.
    pub fn set_stock(&self, sku_id: &str, stock: u32) -> bool {
        self.with_sku(sku_id, |sku| sku.stock = stock)
    }

    /// Removes a SKU from its product (the seller dropped the variant); false when there is
    /// no such SKU.
    pub fn remove_sku(&self, sku_id: &str) -> bool {
        let mut state = lock(&self.inner.state);
        for product in &mut state.catalogue {
            if let Some(at) = product.skus.iter().position(|s| s.sku_id == sku_id) {
                product.skus.remove(at);
                return true;
            }
        }
        false
    }

    /// Removes a product (the seller took it off the shelves); false when there is none.
    pub fn remove_product(&self, product_id: &str) -> bool {
        let mut state = lock(&self.inner.state);
        let before = state.catalogue.len();
        state.catalogue.retain(|p| p.product_id != product_id);
        state.catalogue.len() != before
    }

    /// Adds `count` products of `skus_each` SKUs (colour and size properties, prices from 1.99
    /// to 49.99 USD, 20 to 299 units), ids following the simulator's seed. Gives each
    /// product's id with its SKU ids.
    pub fn add_products(&self, count: usize, skus_each: usize) -> Vec<(String, Vec<String>)> {
        let mut state = lock(&self.inner.state);
        let mut added = Vec::with_capacity(count);
        for _ in 0..count {
            let rng = &mut state.rng;
            let product_id = format!("1005{}", digits(rng, 12));
            let skus: Vec<AeSimSku> = (0..skus_each)
                .map(|s| {
                    let (colour, name) = COLOURS[s % COLOURS.len()];
                    let size = SIZES[(s / COLOURS.len()) % SIZES.len()];
                    AeSimSku {
                        sku_id: format!("12000{}", digits(rng, 12)),
                        sku_attr: if skus_each == 1 {
                            String::new()
                        } else {
                            format!("14:{colour}#{name};5:{size}")
                        },
                        price_cents: 199 + (next(rng) % 4_801) as i64,
                        stock: 20 + (next(rng) % 280) as u32,
                    }
                })
                .collect();
            let store_id = 1_105_000_000 + next(rng) % 900_000;
            added.push((product_id.clone(), skus.iter().map(|s| s.sku_id.clone()).collect()));
            let title = format!("Simulated product {}", state.catalogue.len() + 1);
            state.catalogue.push(AeSimProduct {
                product_id,
                title,
                store_id,
                skus,
            });
        }
        added
    }

    /// Moves about `share_bp` / 10,000 of the SKUs, chosen from `seed` (the same seed moves
    /// the same SKUs the same way): a quarter run out (or come back), a quarter change stock
    /// by a few dozen units, most others change price by 1 to 10 % up or down, and about one in
    /// thirty gets an absurd price (0, or 10,000 times its price). Gives the SKU ids moved.
    pub fn drift(&self, seed: u64, share_bp: u32) -> Vec<String> {
        let mut rng = seed ^ 0xAED1_F700_0000_0000;
        let mut state = lock(&self.inner.state);
        let mut moved = Vec::new();
        for sku in state.catalogue.iter_mut().flat_map(|p| p.skus.iter_mut()) {
            if next(&mut rng) % 10_000 >= u64::from(share_bp) {
                continue;
            }
            let roll = next(&mut rng) % 100;
            let amount = next(&mut rng);
            match roll {
                0..25 => sku.stock = if sku.stock == 0 { 10 + (amount % 200) as u32 } else { 0 },
                25..50 => {
                    let change = (amount % 60) as u32;
                    sku.stock = if amount.is_multiple_of(2) {
                        sku.stock.saturating_add(change)
                    } else {
                        sku.stock.saturating_sub(change)
                    };
                }
                50..97 => {
                    let step = (sku.price_cents * (1 + (amount % 10) as i64) / 100).max(1);
                    sku.price_cents = if roll < 74 {
                        sku.price_cents.saturating_add(step)
                    } else {
                        (sku.price_cents - step).max(1)
                    };
                }
                _ => {
                    sku.price_cents = if amount.is_multiple_of(2) {
                        0
                    } else {
                        sku.price_cents.saturating_mul(10_000)
                    };
                }
            }
            moved.push(sku.sku_id.clone());
        }
        moved
    }

    /// The SKU's answers print `value` as its price (`offer_sale_price` and `sku_price`),
    /// whatever it is (`json!("-3.00")`, `json!("abc")`). False when there is no such SKU.
    pub fn set_raw_price(&self, sku_id: &str, value: Value) -> bool {
        self.with_raw(sku_id, |raw| raw.price = Some(value))
    }

    /// The SKU's answers print `value` as its stock (`sku_available_stock`); orders still go
    /// by its real stock. False when there is no such SKU.
    pub fn set_raw_stock(&self, sku_id: &str, value: Value) -> bool {
        self.with_raw(sku_id, |raw| raw.stock = Some(value))
    }

    /// The SKU's answers print its real price and stock again.
    pub fn clear_raw(&self, sku_id: &str) {
        lock(&self.inner.state).raw.remove(sku_id);
    }

    fn with_raw(&self, sku_id: &str, change: impl FnOnce(&mut RawValues)) -> bool {
        if self.sku(sku_id).is_none() {
            return false;
        }
        change(lock(&self.inner.state).raw.entry(sku_id.to_string()).or_default());
        true
    }

    /// At most `per_second` requests a second (over a sliding second) are answered; the ones
    /// past it get the gateway's throttling error, as [`AeFault::Throttled`] gives it
    /// (`ApiCallLimit`, "this ban will last 1 seconds"), and do nothing. `None` lifts it.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        let mut state = lock(&self.inner.state);
        state.rate_limit = per_second;
        state.recent.clear();
    }

    /// How many requests the rate limit of [`Self::set_rate_limit`] refused.
    pub fn rate_limited(&self) -> u32 {
        lock(&self.inner.state).rate_limited
    }

    fn with_sku(&self, sku_id: &str, change: impl FnOnce(&mut AeSimSku)) -> bool {
        let mut state = lock(&self.inner.state);
        match state
            .catalogue
            .iter_mut()
            .flat_map(|p| p.skus.iter_mut())
            .find(|s| s.sku_id == sku_id)
        {
            Some(sku) => {
                change(sku);
                true
            }
            None => false,
        }
    }

    /// The orders created, oldest first, as they are today.
    pub fn orders(&self) -> Vec<AeSimOrder> {
        lock(&self.inner.state).orders.clone()
    }

    /// The simulated day (0 at start).
    pub fn day(&self) -> u32 {
        lock(&self.inner.state).day
    }

    /// Days between payment and shipping, for orders moved from now on (2 by default).
    pub fn set_processing_days(&self, days: u32) {
        lock(&self.inner.state).processing_days = days;
    }

    /// Moves the simulated clock `days` forward; orders move with it.
    pub fn advance_days(&self, days: u32) {
        let mut state = lock(&self.inner.state);
        state.day = state.day.saturating_add(days);
        progress_all(&mut state);
    }

    /// Queues `fault` for the next `times` requests of `method` (any request when `None`).
    /// Faults are used in the order they were queued.
    pub fn inject(&self, method: Option<&str>, fault: AeFault, times: u32) {
        if times == 0 {
            return;
        }
        lock(&self.inner.state).faults.push(PendingFault {
            method: method.map(str::to_string),
            fault,
            remaining: times,
        });
    }

    /// Requests still to meet an injected fault (0 once every fault was met).
    pub fn pending_faults(&self) -> u32 {
        lock(&self.inner.state).faults.iter().map(|f| f.remaining).sum()
    }

    /// The next `count` requests answer HTTP 500 without doing anything.
    pub fn fail_next(&self, count: u32) {
        self.inject(None, AeFault::ServerError, count);
    }

    /// The next `count` requests answer HTTP 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limit_next(&self, count: u32, retry_after_secs: u64) {
        self.inject(None, AeFault::RateLimited { retry_after_secs }, count);
    }

    /// The next `count` requests are carried out and answered with JSON cut in half.
    pub fn malformed_next(&self, count: u32) {
        self.inject(None, AeFault::Malformed, count);
    }

    /// The next `count` requests are carried out and answered only after `delay`.
    pub fn delay_next(&self, count: u32, delay: Duration) {
        self.inject(None, AeFault::Delay(delay), count);
    }

    /// The next order creation is carried out and its answer is cut off.
    pub fn lose_next_create_response(&self) {
        self.inject(Some(CREATE), AeFault::LoseAnswer, 1);
    }

    /// The next order creation is refused with `error_code`, nothing created.
    pub fn reject_next_create(&self, error_code: &str) {
        self.inject(Some(CREATE), AeFault::Reject(error_code.to_string()), 1);
    }
}

/// The pending fault for `method`, used up by one.
fn take_fault(state: &mut World, method: &str) -> Option<AeFault> {
    let at = state
        .faults
        .iter()
        .position(|f| f.method.as_deref().is_none_or(|m| m == method))?;
    let pending = &mut state.faults[at];
    pending.remaining -= 1;
    let fault = pending.fault.clone();
    if pending.remaining == 0 {
        state.faults.remove(at);
    }
    Some(fault)
}

// ---------------------------------------------------------------------------------------
// Order progress

fn progress_all(state: &mut World) {
    let day = state.day;
    let processing = state.processing_days;
    let World { orders, rng, .. } = state;
    for order in orders.iter_mut() {
        progress(order, day, processing, rng);
    }
}

/// Moves one order to where it is on `day`.
fn progress(order: &mut AeSimOrder, day: u32, processing: u32, rng: &mut u64) {
    if matches!(order.status.as_str(), "FINISH" | "IN_CANCEL") {
        return;
    }
    let age = day.saturating_sub(order.created_day);
    let ship_day = order.created_day + 1 + processing;
    let Some(service) = service(&order.service) else {
        return;
    };
    if day < ship_day {
        order.status = if age == 0 {
            "PLACE_ORDER_SUCCESS"
        } else {
            "WAIT_SELLER_SEND_GOODS"
        }
        .to_string();
        return;
    }
    if order.tracking_number.is_none() {
        order.tracking_number = Some(tracking_number(service.carrier, rng));
        order.shipped_day = Some(ship_day);
    }
    let shipped = order.shipped_day.unwrap_or(ship_day);
    order.status = if day >= shipped + service.transit_days {
        "FINISH"
    } else if order.lines.len() > 1 && day == shipped {
        "SELLER_PART_SEND_GOODS"
    } else {
        "WAIT_BUYER_ACCEPT_GOODS"
    }
    .to_string();
}

fn tracking_number(carrier: Carrier, rng: &mut u64) -> String {
    match carrier {
        Carrier::Cainiao => format!("LP{}", digits(rng, 14)),
        Carrier::S10(prefix) => {
            let serial_text = digits(rng, 8);
            let mut serial = [0u8; 8];
            serial.copy_from_slice(serial_text.as_bytes());
            let check = s10_check_digit(&serial);
            format!(
                "{}{}{serial_text}{check}CN",
                char::from(prefix[0]),
                char::from(prefix[1])
            )
        }
    }
}

/// `YYYY-MM-DD` of simulated `day`, with `time` after it when given.
fn date_of(day: u32, time: Option<&str>) -> String {
    let (year, month, dom) = EPOCH;
    let start = time::Date::from_calendar_date(year, time::Month::try_from(month).unwrap_or(time::Month::January), dom)
        .unwrap_or(time::Date::MIN);
    let date = start.checked_add(time::Duration::days(i64::from(day))).unwrap_or(start);
    let text = format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day());
    match time {
        Some(time) => format!("{text} {time}"),
        None => text,
    }
}

/// The tracking events of a shipped order up to `today`, oldest first.
fn events(order: &AeSimOrder, today: u32) -> Vec<Value> {
    let (Some(shipped), Some(service)) = (order.shipped_day, service(&order.service)) else {
        return Vec::new();
    };
    let transit = service.transit_days;
    let steps: [(u32, &str, &str, &str, &str); 6] = [
        (
            0,
            "08:12:40",
            "Shipment information received, parcel accepted",
            "ACCEPTED",
            "Shenzhen, CN",
        ),
        (
            1,
            "19:03:11",
            "Departed from sorting center",
            "IN_TRANSIT",
            "Shenzhen, CN",
        ),
        (
            3,
            "02:45:00",
            "Departed from country of origin",
            "IN_TRANSIT",
            "Guangzhou, CN",
        ),
        (
            transit.saturating_sub(4).max(4),
            "11:20:05",
            "Arrived in destination country",
            "IN_TRANSIT",
            "",
        ),
        (
            transit.saturating_sub(1).max(5),
            "07:55:31",
            "Out for delivery",
            "OUT_FOR_DELIVERY",
            "",
        ),
        (transit.max(6), "15:30:00", "Delivered", "DELIVERED", ""),
    ];
    steps
        .iter()
        .filter(|(offset, ..)| shipped + offset <= today)
        .map(|(offset, time, desc, status, address)| {
            let address = if address.is_empty() {
                order.country.clone()
            } else {
                (*address).to_string()
            };
            let signed = if *status == "DELIVERED" {
                order.recipient.clone()
            } else {
                String::new()
            };
            json!({
                "event_desc": desc,
                "status": status,
                "address": address,
                "signed_name": signed,
                "event_date": date_of(shipped + offset, Some(time)),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The wire

/// Form or query text → pairs, `+` as space, `%XX` decoded (invalid UTF-8 replaced).
fn parse_form(text: &str) -> Vec<(String, String)> {
    fn decode(part: &str) -> String {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = |b: u8| char::from(b).to_digit(16);
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(high), Some(low)) => {
                            out.push((high * 16 + low) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                byte => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// The request's parameters: the query's, then the form body's.
fn params_of(uri: &Uri, body: &[u8]) -> Vec<(String, String)> {
    let mut params = uri.query().map(parse_form).unwrap_or_default();
    params.extend(parse_form(&String::from_utf8_lossy(body)));
    params
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The gateway's signature check: HMAC-SHA256 over the sorted `name`+`value` pairs (all but
/// `sign`), with the API path in front for `/rest` APIs; the hex is accepted in either case.
fn signature_ok(secret: &str, api_path: Option<&str>, params: &[(String, String)]) -> bool {
    let mut signs = params.iter().filter(|(n, _)| n == "sign");
    let (Some((_, given)), None) = (signs.next(), signs.next()) else {
        return false;
    };
    let Some(given) = decode_hex(given.trim()) else {
        return false;
    };
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(n, _)| n != "sign").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text = String::new();
    if let Some(path) = api_path {
        text.push_str(path);
    }
    for (name, value) in sorted {
        text.push_str(name);
        text.push_str(value);
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(text.as_bytes());
    // Constant-time comparison, inside the hmac crate.
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            Some((high * 16 + low) as u8)
        })
        .collect()
}

fn request_id(state: &mut World) -> String {
    let hex = format!("{:016x}{:016x}", next(&mut state.rng), next(&mut state.rng));
    hex[..25].to_string()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// An IOP-style gateway error.
fn iop_error(state: &mut World, kind: &str, code: &str, message: &str) -> Value {
    json!({"type": kind, "code": code, "message": message, "request_id": request_id(state)})
}

/// A TOP-style `error_response` for a missing (40) or unreadable (41) business parameter.
fn parameter_error(state: &mut World, missing: bool, name: &str, why: &str) -> Value {
    let (code, msg, sub) = if missing {
        ("40", "Missing required arguments", "isv.missing-parameter")
    } else {
        ("41", "Invalid arguments", "isv.invalid-parameter")
    };
    json!({"error_response": {
        "code": code, "type": "ISV", "msg": msg,
        "sub_code": format!("{sub}:{name}"), "sub_msg": why,
        "request_id": request_id(state),
    }})
}

fn wrap(state: &mut World, method: &str, mut body: Value) -> Value {
    body["request_id"] = json!(request_id(state));
    json!({ format!("{}_response", method.replace('.', "_")): body })
}

async fn sync(Shared(inner): Shared<Arc<Inner>>, uri: Uri, body: Bytes) -> Response {
    let params = params_of(&uri, &body);
    let method = param(&params, "method").unwrap_or("").to_string();
    let (outcome, post_fault) = {
        let mut state = lock(&inner.state);
        *state
            .calls
            .entry(if method.is_empty() {
                "(none)".to_string()
            } else {
                method.clone()
            })
            .or_default() += 1;
        if over_rate_limit(&mut state) {
            return pre_fault(&mut state, Some(&AeFault::Throttled { ban_secs: 1 }))
                .unwrap_or_else(|| StatusCode::TOO_MANY_REQUESTS.into_response());
        }
        let fault = take_fault(&mut state, &method);
        if let Some(answer) = pre_fault(&mut state, fault.as_ref()) {
            return answer;
        }
        let reject = match &fault {
            Some(AeFault::Reject(code)) => Some(code.clone()),
            _ => None,
        };
        let outcome = match gateway_check(&inner, &mut state, None, &params) {
            Some(error) => (StatusCode::OK, error),
            None => dispatch(&mut state, &method, &params, reject.as_deref()),
        };
        (outcome, fault)
    };
    deliver(outcome, post_fault).await
}

async fn refresh_token(Shared(inner): Shared<Arc<Inner>>, uri: Uri, body: Bytes) -> Response {
    let params = params_of(&uri, &body);
    let (outcome, post_fault) = {
        let mut state = lock(&inner.state);
        *state.calls.entry(TOKEN_REFRESH.to_string()).or_default() += 1;
        let fault = take_fault(&mut state, TOKEN_REFRESH);
        if let Some(answer) = pre_fault(&mut state, fault.as_ref()) {
            return answer;
        }
        let answer = match gateway_check(&inner, &mut state, Some(TOKEN_REFRESH), &params) {
            Some(error) => error,
            None => refresh(&mut state, &params),
        };
        ((StatusCode::OK, answer), fault)
    };
    deliver(outcome, post_fault).await
}

/// Whether a request arriving now is past the rate limit; one let through is counted.
fn over_rate_limit(state: &mut World) -> bool {
    let Some(limit) = state.rate_limit else {
        return false;
    };
    let now = std::time::Instant::now();
    while state
        .recent
        .front()
        .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
    {
        state.recent.pop_front();
    }
    if state.recent.len() >= limit as usize {
        state.rate_limited += 1;
        return true;
    }
    state.recent.push_back(now);
    false
}

/// The answer of a fault that stops the request before it is carried out.
fn pre_fault(state: &mut World, fault: Option<&AeFault>) -> Option<Response> {
    match fault? {
        AeFault::ServerError => Some((StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()),
        AeFault::RateLimited { retry_after_secs } => {
            let body = iop_error(
                state,
                "ISV",
                "ApiCallLimit",
                &format!("Api access frequency exceeds the limit. this ban will last {retry_after_secs} seconds"),
            );
            let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, &body);
            if let Ok(value) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Some(response)
        }
        AeFault::Throttled { ban_secs } => {
            let body = iop_error(
                state,
                "ISV",
                "ApiCallLimit",
                &format!("Api access frequency exceeds the limit. this ban will last {ban_secs} seconds"),
            );
            Some(json_response(StatusCode::OK, &body))
        }
        AeFault::NotJson => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response(),
        ),
        AeFault::Malformed | AeFault::Delay(_) | AeFault::LoseAnswer | AeFault::Reject(_) => None,
    }
}

/// Sends the answer, bent by a fault that strikes after the request was carried out.
async fn deliver((status, body): (StatusCode, Value), fault: Option<AeFault>) -> Response {
    match fault {
        Some(AeFault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            json_response(status, &body)
        }
        Some(AeFault::LoseAnswer) => {
            // A length is promised and never sent: the server closes the connection mid-answer.
            let mut response = Response::new(Body::from_stream(Body::empty().into_data_stream()));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, header::HeaderValue::from_static("512"));
            response
        }
        Some(AeFault::Malformed) => {
            let text = body.to_string();
            let cut: String = text.chars().take(text.chars().count() / 2).collect();
            (status, [(header::CONTENT_TYPE, "application/json;charset=UTF-8")], cut).into_response()
        }
        _ => json_response(status, &body),
    }
}

/// The gateway's checks common to every call; the error answer when one fails.
fn gateway_check(
    inner: &Inner,
    state: &mut World,
    api_path: Option<&str>,
    params: &[(String, String)],
) -> Option<Value> {
    let Some(app_key) = param(params, "app_key") else {
        return Some(iop_error(
            state,
            "ISV",
            "MissingParameter",
            "The input parameter \"app_key\" that is mandatory for processing this request is not supplied.",
        ));
    };
    if app_key != inner.app_key {
        return Some(iop_error(state, "ISV", "InvalidAppKey", "Specified app key is invalid"));
    }
    let Some(timestamp) = param(params, "timestamp") else {
        return Some(iop_error(
            state,
            "ISV",
            "MissingParameter",
            "The input parameter \"timestamp\" that is mandatory for processing this request is not supplied.",
        ));
    };
    if timestamp.len() < 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Some(iop_error(
            state,
            "ISV",
            "InvalidTimestamp",
            "Timestamp must be epoch milliseconds",
        ));
    }
    if param(params, "sign_method") != Some("sha256") || !signature_ok(&inner.app_secret, api_path, params) {
        return Some(iop_error(
            state,
            "ISV",
            "IncompleteSignature",
            "The request signature does not conform to platform standards",
        ));
    }
    if api_path.is_some() {
        return None;
    }
    if !matches!(
        param(params, "method"),
        Some(CREATE | ORDER_GET | TRACKING | PRODUCT | FREIGHT)
    ) {
        return Some(iop_error(
            state,
            "ISV",
            "InvalidApiPath",
            "The specified API path is invalid",
        ));
    }
    let Some(session) = param(params, "session").or(param(params, "access_token")) else {
        return Some(iop_error(
            state,
            "ISV",
            "MissingParameter",
            "The input parameter \"session\" that is mandatory for processing this request is not supplied.",
        ));
    };
    if state.access.get(session) != Some(&true) {
        return Some(iop_error(
            state,
            "ISV",
            "IllegalAccessToken",
            "The specified access token is invalid or expired",
        ));
    }
    None
}

fn dispatch(state: &mut World, method: &str, params: &[(String, String)], reject: Option<&str>) -> (StatusCode, Value) {
    let body = match method {
        CREATE => create(state, params, reject),
        ORDER_GET => order_get(state, params),
        TRACKING => tracking(state, params),
        PRODUCT => product_get(state, params),
        FREIGHT => freight(state, params),
        _ => iop_error(state, "ISV", "InvalidApiPath", "The specified API path is invalid"),
    };
    (StatusCode::OK, body)
}

fn refresh(state: &mut World, params: &[(String, String)]) -> Value {
    let Some(given) = param(params, "refresh_token").map(str::to_string) else {
        return iop_error(
            state,
            "ISV",
            "MissingParameter",
            "The input parameter \"refresh_token\" that is mandatory for processing this request is not supplied.",
        );
    };
    if state.refresh.get(&given) != Some(&true) {
        return iop_error(
            state,
            "ISV",
            "IllegalRefreshToken",
            "The specified refresh token is invalid or expired",
        );
    }
    // Rotation: the used refresh token and every older access token stop working.
    state.refresh.insert(given, false);
    for valid in state.access.values_mut() {
        *valid = false;
    }
    let access = token(&mut state.rng, "50000");
    let refresh = token(&mut state.rng, "50001");
    state.access.insert(access.clone(), true);
    state.refresh.insert(refresh.clone(), true);
    state.current_access = access.clone();
    state.current_refresh = refresh.clone();
    state.refreshes += 1;
    json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": 86_400,
        "refresh_expires_in": 172_800,
        "user_id": "2000000001",
        "seller_id": "2000000001",
        "account": "dropshipper@example.com",
        "account_platform": "buyerApp",
        "code": "0",
        "request_id": request_id(state),
    })
}

/// A JSON object parameter, or the error answer.
fn json_param(
    state: &mut World,
    params: &[(String, String)],
    name: &str,
) -> Result<serde_json::Map<String, Value>, Value> {
    let Some(text) = param(params, name) else {
        return Err(parameter_error(state, true, name, &format!("{name} is required")));
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(parameter_error(
            state,
            false,
            name,
            &format!("{name} must be a JSON object"),
        )),
    }
}

fn text_of<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// An id given as a JSON number or as digits.
fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(text) if !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit()) => {
            Some(text.trim().to_string())
        }
        _ => None,
    }
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn refusal(state: &mut World, code: &str, message: &str) -> Value {
    wrap(
        state,
        CREATE,
        json!({"result": {"is_success": false, "error_code": code, "error_msg": message}}),
    )
}

/// `14:350853#Black;5:361386` → `14:350853;5:361386`: the custom names do not identify.
fn attr_key(attr: &str) -> String {
    attr.split(';')
        .map(|part| part.split('#').next().unwrap_or("").trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(";")
}

fn address_problem(address: &serde_json::Map<String, Value>) -> Option<(&'static str, String)> {
    const ADDRESS: &str = "B_DROPSHIPPER_DELIVERY_ADDRESS_VALIDATE_FAIL";
    if text_of(address, "address").is_none() {
        return Some((ADDRESS, "Please enter an address".to_string()));
    }
    if text_of(address, "city").is_none() {
        return Some((ADDRESS, "Please enter a city".to_string()));
    }
    if text_of(address, "province").is_none() {
        return Some((ADDRESS, "Please select a World/Province/County".to_string()));
    }
    let name = text_of(address, "contact_person").or(text_of(address, "full_name"));
    if name.is_none_or(|n| n.chars().count() < 2 || n.split_whitespace().any(|w| w.chars().count() > 32)) {
        return Some((ADDRESS, "Please enter between 2 - 32 characters".to_string()));
    }
    if let Some(mobile) = text_of(address, "mobile_no")
        && !mobile.bytes().all(|b| b.is_ascii_digit())
    {
        return Some((
            ADDRESS,
            "Please enter the country code and phone number without any spaces or special characters".to_string(),
        ));
    }
    if text_of(address, "country") == Some("BR")
        && !text_of(address, "cpf").is_some_and(|cpf| cpf.len() == 11 && cpf.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some((
            "B_DROPSHIPPER_DELIVERY_ADDRESS_CPF_CN_INVALID",
            "CPF invalid".to_string(),
        ));
    }
    None
}

fn create(state: &mut World, params: &[(String, String)], reject: Option<&str>) -> Value {
    let dto = match json_param(state, params, "param_place_order_request4_open_api_d_t_o") {
        Ok(dto) => dto,
        Err(error) => return error,
    };
    if let Some(code) = reject {
        return refusal(state, code, "Injected refusal");
    }
    let out_order_id = text_of(&dto, "out_order_id").map(str::to_string);
    if let Some(key) = &out_order_id
        && let Some((first_day, ids)) = state.idempotency.get(key).cloned()
    {
        if state.day < first_day + 1 {
            let numbers: Vec<Value> = ids
                .iter()
                .map(|id| id.parse::<u64>().map(Value::from).unwrap_or(Value::Null))
                .collect();
            return wrap(
                state,
                CREATE,
                json!({"result": {"is_success": false, "error_code": "REPEATED_ORDER_ERROR",
                    "error_msg": "Repeated placed order", "order_list": {"number": numbers}}}),
            );
        }
        // Past AliExpress's 24-hour window the key is forgotten.
        state.idempotency.remove(key);
    }
    let Some(address) = dto.get("logistics_address").and_then(Value::as_object).cloned() else {
        return parameter_error(state, true, "logistics_address", "logistics_address is required");
    };
    if let Some((code, message)) = address_problem(&address) {
        return refusal(state, code, &message);
    }
    let country = text_of(&address, "country").unwrap_or("").to_string();
    if !SHIPS_TO.contains(&country.as_str()) {
        return refusal(state, "A005_INVALID_COUNTRIES", "A005_INVALID_COUNTRIES");
    }
    if let Ok(extend) = json_param(state, params, "ds_extend_request")
        && let Some(currency) = extend
            .get("payment")
            .and_then(Value::as_object)
            .and_then(|payment| text_of(payment, "pay_currency"))
        && currency != "USD"
    {
        return refusal(
            state,
            "PRICE_PAY_CURRENCY_ERROR",
            "Products in the place order request should not be declared in different currencies",
        );
    }
    let Some(items) = dto
        .get("product_items")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .cloned()
    else {
        return parameter_error(state, true, "product_items", "product_items must be a non-empty list");
    };
    let recipient = text_of(&address, "contact_person")
        .or(text_of(&address, "full_name"))
        .unwrap_or("")
        .to_string();

    // Resolve every line before touching stock: a refusal creates nothing.
    let mut lines: Vec<(u64, String, AeSimLine)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(item) = item.as_object() else {
            return parameter_error(
                state,
                false,
                "product_items",
                &format!("product_items[{i}] is not an object"),
            );
        };
        let Some(product_id) = id_of(item.get("product_id")) else {
            return parameter_error(
                state,
                true,
                "product_id",
                &format!("product_items[{i}].product_id is required"),
            );
        };
        let count = item
            .get("product_count")
            .and_then(Value::as_u64)
            .filter(|c| (1..=9_999).contains(c));
        let Some(count) = count else {
            return parameter_error(
                state,
                false,
                "product_count",
                &format!("product_items[{i}].product_count must be 1 to 9999"),
            );
        };
        let Some(product) = state.catalogue.iter().find(|p| p.product_id == product_id) else {
            return refusal(
                state,
                "ERROR_WHEN_BUILD_FOR_PLACE_ORDER",
                &format!("product {product_id} is not available"),
            );
        };
        let wanted = attr_key(text_of(item, "sku_attr").unwrap_or(""));
        let sku = if wanted.is_empty() && product.skus.len() == 1 {
            product.skus.first()
        } else {
            product
                .skus
                .iter()
                .find(|s| attr_key(&s.sku_attr) == wanted && !wanted.is_empty())
        };
        let Some(sku) = sku.cloned() else {
            return refusal(
                state,
                "ERROR_WHEN_BUILD_FOR_PLACE_ORDER",
                &format!("sku_attr {wanted:?} of product {product_id} does not exist"),
            );
        };
        let store_id = product.store_id;
        let service_code = text_of(item, "logistics_service_name").unwrap_or("CAINIAO_STANDARD");
        if service(service_code).is_none_or(|s| s.excluded.contains(&country.as_str())) {
            return refusal(state, "DELIVERY_METHOD_NOT_EXIST", "Delivery method is not exist");
        }
        lines.push((
            store_id,
            service_code.to_string(),
            AeSimLine {
                product_id,
                sku_id: sku.sku_id.clone(),
                sku_attr: sku.sku_attr.clone(),
                count: count as u32,
                unit_cents: sku.price_cents,
            },
        ));
    }
    let mut wanted: HashMap<String, u64> = HashMap::new();
    for (_, _, line) in &lines {
        *wanted.entry(line.sku_id.clone()).or_default() += u64::from(line.count);
    }
    let short = state
        .catalogue
        .iter()
        .flat_map(|p| &p.skus)
        .any(|sku| wanted.get(&sku.sku_id).is_some_and(|w| *w > u64::from(sku.stock)));
    if short {
        return refusal(state, "INVENTORY_HOLD_ERROR", "Hold inventory error");
    }
    for sku in state.catalogue.iter_mut().flat_map(|p| p.skus.iter_mut()) {
        if let Some(w) = wanted.get(&sku.sku_id) {
            sku.stock -= *w as u32;
        }
    }

    // One order per store, in the order the stores first appear.
    let mut stores: Vec<u64> = Vec::new();
    for (store, ..) in &lines {
        if !stores.contains(store) {
            stores.push(*store);
        }
    }
    let mut ids = Vec::new();
    for store in stores {
        let mine: Vec<&(u64, String, AeSimLine)> = lines.iter().filter(|(s, ..)| *s == store).collect();
        let service_code = mine.first().map(|(_, code, _)| code.clone()).unwrap_or_default();
        let shipping_cents = mine
            .iter()
            .map(|(_, code, line)| service(code).map_or(0, |s| s.base_cents + s.per_unit_cents * i64::from(line.count)))
            .sum();
        let order_id = format!("81{}", digits(&mut state.rng, 14));
        let mut order = AeSimOrder {
            order_id: order_id.clone(),
            out_order_id: out_order_id.clone(),
            store_id: store,
            country: country.clone(),
            recipient: recipient.clone(),
            service: service_code,
            lines: mine.iter().map(|(.., line)| line.clone()).collect(),
            shipping_cents,
            created_day: state.day,
            status: "PLACE_ORDER_SUCCESS".to_string(),
            tracking_number: None,
            shipped_day: None,
        };
        progress(&mut order, state.day, state.processing_days, &mut state.rng);
        state.orders.push(order);
        ids.push(order_id);
    }
    if let Some(key) = out_order_id {
        state.idempotency.insert(key, (state.day, ids.clone()));
    }
    let numbers: Vec<Value> = ids
        .iter()
        .map(|id| id.parse::<u64>().map(Value::from).unwrap_or(Value::Null))
        .collect();
    wrap(
        state,
        CREATE,
        json!({"result": {"is_success": true, "order_list": {"number": numbers}}}),
    )
}

fn logistics_status(status: &str) -> &'static str {
    match status {
        "SELLER_PART_SEND_GOODS" => "SELLER_SEND_PART_GOODS",
        "WAIT_BUYER_ACCEPT_GOODS" => "SELLER_SEND_GOODS",
        "FINISH" => "BUYER_ACCEPT_GOODS",
        "WAIT_SELLER_SEND_GOODS" => "WAIT_SELLER_SEND_GOODS",
        _ => "NO_LOGISTICS",
    }
}

fn order_get(state: &mut World, params: &[(String, String)]) -> Value {
    let query = match json_param(state, params, "single_order_query") {
        Ok(query) => query,
        Err(error) => return error,
    };
    let Some(order_id) = id_of(query.get("order_id")) else {
        return parameter_error(state, true, "order_id", "single_order_query.order_id is required");
    };
    let Some(order) = state.orders.iter().find(|o| o.order_id == order_id).cloned() else {
        return wrap(state, ORDER_GET, json!({}));
    };
    let amount = json!({"amount": money(order.total_cents()), "currency_code": "USD"});
    let children: Vec<Value> = order
        .lines
        .iter()
        .map(|line| {
            let title = state
                .catalogue
                .iter()
                .find(|p| p.product_id == line.product_id)
                .map_or("", |p| p.title.as_str());
            json!({
                "product_id": line.product_id.parse::<u64>().unwrap_or(0),
                "sku_id": line.sku_id,
                "product_count": line.count,
                "product_name": title,
                "product_price": {"amount": money(line.unit_cents), "currency_code": "USD"},
            })
        })
        .collect();
    let mut result = json!({
        "gmt_create": date_of(order.created_day, Some("09:00:00")),
        "order_status": order.status,
        "logistics_status": logistics_status(&order.status),
        "order_amount": amount,
        "user_order_amount": amount,
        "child_order_list": {"aeop_child_order_info": children},
        "store_info": {"store_id": order.store_id, "store_name": format!("Store {}", order.store_id)},
    });
    if let Some(number) = &order.tracking_number {
        result["logistics_info_list"] = json!({"aeop_order_logistics_info": [
            {"logistics_no": number, "logistics_service": order.service}
        ]});
    }
    wrap(state, ORDER_GET, json!({ "result": result }))
}

fn tracking(state: &mut World, params: &[(String, String)]) -> Value {
    let mut fields = Vec::new();
    for name in ["logistics_no", "origin", "out_ref", "service_name", "to_area"] {
        match param(params, name) {
            Some(value) => fields.push(value.to_string()),
            None => return parameter_error(state, true, name, &format!("{name} is required")),
        }
    }
    let [number, _origin, out_ref, service_name, to_area] = <[String; 5]>::try_from(fields).unwrap_or_default();
    let found = state.orders.iter().find(|o| o.order_id == out_ref).cloned();
    let failure =
        |state: &mut World, why: &str| wrap(state, TRACKING, json!({"result_success": false, "error_desc": why}));
    let Some(order) = found else {
        return failure(state, "The order does not exist");
    };
    if order.tracking_number.as_deref() != Some(number.as_str()) {
        return failure(state, "The logistics number does not exist");
    }
    if order.service != service_name {
        return failure(state, "The logistics service does not match the logistics number");
    }
    if order.country != to_area {
        return failure(state, "The destination does not match the order");
    }
    let details = events(&order, state.day);
    let website = service(&order.service).map_or("", |s| s.website);
    wrap(
        state,
        TRACKING,
        json!({"result_success": true, "official_website": website, "details": {"details": details}}),
    )
}

/// The properties of a SKU from its `sku_attr` (`14:350853#Black;5:361386`), in the shape of
/// `ae_sku_property_dtos`: the property's name (14 colour, 5 size), the platform's name of the
/// value and the seller's own (after `#`), when given.
fn sku_properties(sku_attr: &str) -> Vec<Value> {
    sku_attr
        .split(';')
        .filter(|part| !part.is_empty())
        .filter_map(|part| {
            let (ids, custom) = match part.split_once('#') {
                Some((ids, custom)) => (ids, Some(custom)),
                None => (part, None),
            };
            let (property, value) = ids.split_once(':')?;
            let value_id: u32 = value.parse().ok()?;
            let (name, standard) = match property {
                "14" => (
                    "Color",
                    COLOURS
                        .iter()
                        .find(|(id, _)| *id == value_id)
                        .map_or_else(|| "other".to_string(), |(_, name)| name.to_ascii_lowercase()),
                ),
                "5" => (
                    "Size",
                    SIZES
                        .iter()
                        .position(|id| *id == value_id)
                        .map_or_else(|| "One Size".to_string(), |at| SIZE_NAMES[at].to_string()),
                ),
                _ => ("Type", value.to_string()),
            };
            let mut dto = json!({
                "sku_property_id": property.parse::<u32>().unwrap_or(0),
                "sku_property_name": name,
                "sku_property_value": standard,
                "property_value_id": value_id,
            });
            if let Some(custom) = custom {
                dto["property_value_definition_name"] = json!(custom);
            }
            Some(dto)
        })
        .collect()
}

fn product_get(state: &mut World, params: &[(String, String)]) -> Value {
    let Some(product_id) = param(params, "product_id").map(str::to_string) else {
        return parameter_error(state, true, "product_id", "product_id is required");
    };
    let Some(country) = param(params, "ship_to_country").map(str::to_string) else {
        return parameter_error(state, true, "ship_to_country", "ship_to_country is required");
    };
    let Some(product) = state.catalogue.iter().find(|p| p.product_id == product_id).cloned() else {
        return wrap(
            state,
            PRODUCT,
            json!({"rsp_code": "605", "rsp_msg": "ITEM_ID_NOT_FOUND"}),
        );
    };
    if !SHIPS_TO.contains(&country.as_str()) {
        return wrap(
            state,
            PRODUCT,
            json!({"rsp_code": "602", "rsp_msg": "Item is not allowed to this country"}),
        );
    }
    let skus: Vec<Value> = product
        .skus
        .iter()
        .map(|sku| {
            let raw = state.raw.get(&sku.sku_id).cloned().unwrap_or_default();
            json!({
                "sku_id": sku.sku_id,
                "sku_attr": sku.sku_attr,
                "id": sku.sku_attr,
                // The list price before the account's discount: a third higher.
                "sku_price": raw.price.clone().unwrap_or_else(|| json!(money(sku.price_cents + sku.price_cents / 3))),
                "offer_sale_price": raw.price.unwrap_or_else(|| json!(money(sku.price_cents))),
                "currency_code": "USD",
                "sku_available_stock": raw.stock.unwrap_or_else(|| json!(sku.stock)),
                "price_include_tax": false,
                "ae_sku_property_dtos": {"ae_sku_property_d_t_o": sku_properties(&sku.sku_attr)},
            })
        })
        .collect();
    wrap(
        state,
        PRODUCT,
        json!({
            "result": {
                "ae_item_base_info_dto": {
                    "product_id": product.product_id.parse::<u64>().unwrap_or(0),
                    "subject": product.title,
                    "product_status_type": "onSelling",
                    "currency_code": "CNY",
                },
                "ae_item_sku_info_dtos": {"ae_item_sku_info_d_t_o": skus},
                "ae_store_info": {"store_id": product.store_id, "store_country_code": "CN"},
                "logistics_info_dto": {"ship_to_country": country, "delivery_time": 7},
            },
            "rsp_code": "200",
            "rsp_msg": "Call succeeds",
        }),
    )
}

fn freight(state: &mut World, params: &[(String, String)]) -> Value {
    let request = match json_param(state, params, "queryDeliveryReq") {
        Ok(request) => request,
        Err(error) => return error,
    };
    let text = |key: &str| match request.get(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut values = Vec::new();
    for key in ["quantity", "shipToCountry", "productId", "selectedSkuId"] {
        match text(key) {
            Some(value) => values.push(value),
            None => return parameter_error(state, true, key, &format!("queryDeliveryReq.{key} is required")),
        }
    }
    let [quantity, country, product_id, sku_id] = <[String; 4]>::try_from(values).unwrap_or_default();
    let Some(quantity) = quantity.parse::<u32>().ok().filter(|q| *q >= 1) else {
        return parameter_error(
            state,
            false,
            "quantity",
            "queryDeliveryReq.quantity must be a whole number from 1",
        );
    };
    let failure = |state: &mut World, code: u32, msg: &str| {
        wrap(
            state,
            FREIGHT,
            json!({"result": {"code": code, "msg": msg, "success": false}}),
        )
    };
    let Some(product) = state.catalogue.iter().find(|p| p.product_id == product_id).cloned() else {
        return failure(state, 605, "ITEM_ID_NOT_FOUND");
    };
    let Some(sku) = product.skus.iter().find(|s| s.sku_id == sku_id) else {
        return failure(state, 506, "SKU_NOT_FOUND");
    };
    if !SHIPS_TO.contains(&country.as_str()) {
        return failure(state, 505, "DELIVERY_NOT_AVAILABLE_TO_YOUR_ADDRESS");
    }
    let options: Vec<Value> = SERVICES
        .iter()
        .filter(|s| !s.excluded.contains(&country.as_str()))
        .map(|s| {
            let cents = s.base_cents + s.per_unit_cents * i64::from(quantity);
            json!({
                "code": s.code,
                "company": s.company,
                "shipping_fee_cent": money(cents),
                "shipping_fee_format": format!("US ${}", money(cents)),
                "shipping_fee_currency": "USD",
                "free_shipping": false,
                "min_delivery_days": s.min_days,
                "max_delivery_days": s.max_days,
                "tracking": true,
                "ship_from_country": "CN",
                "available_stock": sku.stock.to_string(),
            })
        })
        .collect();
    wrap(
        state,
        FREIGHT,
        json!({"result": {"code": 200, "msg": "Call succeeds", "success": true,
            "delivery_options": {"delivery_option_d_t_o": options}}}),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Signs `params` the way the gateway checks, independently of dropline's code.
    fn signed(sim: &AliExpressSim, api_path: Option<&str>, mut params: Vec<(String, String)>) -> Vec<(String, String)> {
        params.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut text = api_path.unwrap_or("").to_string();
        for (name, value) in &params {
            text.push_str(name);
            text.push_str(value);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(sim.app_secret().as_bytes()).unwrap();
        mac.update(text.as_bytes());
        let sign: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02X}")).collect();
        params.push(("sign".into(), sign));
        params
    }

    fn encode(params: &[(String, String)]) -> String {
        params
            .iter()
            .map(|(n, v)| {
                let enc = |s: &str| {
                    s.bytes()
                        .map(|b| {
                            if b.is_ascii_alphanumeric() || b"-._*".contains(&b) {
                                char::from(b).to_string()
                            } else {
                                format!("%{b:02X}")
                            }
                        })
                        .collect::<String>()
                };
                format!("{}={}", enc(n), enc(v))
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    fn base(sim: &AliExpressSim, method: &str) -> Vec<(String, String)> {
        vec![
            ("app_key".into(), sim.app_key().into()),
            ("method".into(), method.into()),
            ("timestamp".into(), "1740000000000".into()),
            ("sign_method".into(), "sha256".into()),
            ("session".into(), sim.access_token()),
        ]
    }

    async fn call(sim: &AliExpressSim, params: &[(String, String)]) -> (u16, Value) {
        let response = crate::http_client()
            .post(format!("{}/sync", sim.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(params))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn order_dto(sim: &AliExpressSim, out_order_id: &str, count: u32) -> String {
        let product = &sim.products()[0];
        json!({
            "out_order_id": out_order_id,
            "logistics_address": {"address": "1 Main St", "city": "Fresno", "province": "California",
                "country": "US", "zip": "93650", "contact_person": "Ann Lee", "mobile_no": "5595550100"},
            "product_items": [{"product_id": product.product_id.parse::<u64>().unwrap(), "product_count": count,
                "sku_attr": product.skus[0].sku_attr, "logistics_service_name": "CAINIAO_STANDARD"}],
        })
        .to_string()
    }

    #[tokio::test]
    async fn skus_carry_their_properties_and_bad_data_on_request() {
        let sim = AliExpressSim::start(41).await.unwrap();
        let (id, skus) = sim.add_products(1, 2).remove(0);
        assert!(sim.set_raw_stock(&skus[1], json!(-5)));
        assert!(sim.set_raw_price(&skus[1], json!("abc")));
        assert!(!sim.set_raw_price("no-such-sku", json!(1)));
        let mut params = base(&sim, PRODUCT);
        params.push(("product_id".into(), id.clone()));
        params.push(("ship_to_country".into(), "US".into()));
        let (_, answer) = call(&sim, &signed(&sim, None, params)).await;
        let listed =
            &answer["aliexpress_ds_product_get_response"]["result"]["ae_item_sku_info_dtos"]["ae_item_sku_info_d_t_o"];
        let properties = &listed[0]["ae_sku_property_dtos"]["ae_sku_property_d_t_o"];
        assert_eq!(properties[0]["sku_property_name"], "Color");
        assert_eq!(properties[0]["sku_property_value"], "black");
        assert_eq!(properties[0]["property_value_definition_name"], "Black");
        assert_eq!(properties[1]["sku_property_name"], "Size");
        assert_eq!(properties[1]["sku_property_value"], "M");
        assert_eq!(listed[1]["sku_available_stock"], -5);
        assert_eq!(listed[1]["offer_sale_price"], "abc");
        assert_eq!(
            sim.drift(5, 10_000).len(),
            sim.products().iter().map(|p| p.skus.len()).sum::<usize>()
        );
    }

    #[tokio::test]
    async fn requests_past_the_rate_limit_are_throttled() {
        let sim = AliExpressSim::start(42).await.unwrap();
        sim.set_rate_limit(Some(1));
        let product = sim.products()[0].product_id.clone();
        let ask = || {
            let mut params = base(&sim, PRODUCT);
            params.push(("product_id".into(), product.clone()));
            params.push(("ship_to_country".into(), "US".into()));
            signed(&sim, None, params)
        };
        let (_, first) = call(&sim, &ask()).await;
        assert!(first.get("aliexpress_ds_product_get_response").is_some());
        let (status, second) = call(&sim, &ask()).await;
        assert_eq!((status, second["code"].clone()), (200, json!("ApiCallLimit")));
        assert_eq!(sim.rate_limited(), 1);
    }

    #[test]
    fn s10_check_digits() {
        // The UPU S10 worked example: serial 47312482 has check digit 9 (weighted sum 200,
        // 200 mod 11 = 2, 11 - 2 = 9).
        assert_eq!(s10_check_digit(b"47312482"), 9);
        // Sum ≡ 1 (mod 11) gives 10 → 0 (6 × 2 = 12); sum ≡ 0 gives 11 → 5.
        assert_eq!(s10_check_digit(b"00060000"), 0);
        assert_eq!(s10_check_digit(b"00000000"), 5);
        assert!(is_s10("RR473124829CN"));
        assert!(!is_s10("RR473124828CN"));
        assert!(!is_s10("RR47312482CN"));
        let mut rng = 7;
        for _ in 0..200 {
            assert!(is_s10(&tracking_number(Carrier::S10(*b"RR"), &mut rng)));
            let lp = tracking_number(Carrier::Cainiao, &mut rng);
            assert!(lp.len() == 16 && lp.starts_with("LP") && lp[2..].bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn forms_decode() {
        assert_eq!(
            parse_form("a+b=x%26y%3Dz&json=%7B%22k%22%3A%22Zo%C3%AB%22%7D&bad=%G1%&e"),
            vec![
                ("a b".into(), "x&y=z".into()),
                ("json".into(), "{\"k\":\"Zoë\"}".into()),
                ("bad".into(), "%G1%".into()),
                ("e".into(), String::new()),
            ]
        );
    }

    #[tokio::test]
    async fn signature_app_key_and_session_are_checked() {
        let sim = AliExpressSim::start(1).await.unwrap();
        let mut params = base(&sim, PRODUCT);
        params.push(("product_id".into(), sim.products()[0].product_id.clone()));
        params.push(("ship_to_country".into(), "US".into()));
        let (status, ok) = call(&sim, &signed(&sim, None, params.clone())).await;
        assert_eq!(status, 200);
        assert_eq!(ok["aliexpress_ds_product_get_response"]["rsp_code"], "200");

        let mut tampered = signed(&sim, None, params.clone());
        tampered[0].1 = sim.app_key().to_string();
        let ship = tampered.iter().position(|(n, _)| n == "ship_to_country").unwrap();
        tampered[ship].1 = "GB".into();
        assert_eq!(call(&sim, &tampered).await.1["code"], "IncompleteSignature");

        let mut wrong_key = params.clone();
        wrong_key[0].1 = "999999".into();
        assert_eq!(
            call(&sim, &signed(&sim, None, wrong_key)).await.1["code"],
            "InvalidAppKey"
        );

        let no_timestamp: Vec<_> = params.iter().filter(|(n, _)| n != "timestamp").cloned().collect();
        assert_eq!(
            call(&sim, &signed(&sim, None, no_timestamp)).await.1["code"],
            "MissingParameter"
        );

        sim.expire_access_token();
        assert_eq!(
            call(&sim, &signed(&sim, None, params)).await.1["code"],
            "IllegalAccessToken"
        );
        assert_eq!(sim.calls(PRODUCT), 5);
    }

    #[tokio::test]
    async fn refresh_rotates_tokens() {
        let sim = AliExpressSim::start(2).await.unwrap();
        let old_access = sim.access_token();
        let old_refresh = sim.refresh_token();
        let params = vec![
            ("app_key".to_string(), sim.app_key().to_string()),
            ("timestamp".to_string(), "1740000000000".to_string()),
            ("sign_method".to_string(), "sha256".to_string()),
            ("refresh_token".to_string(), old_refresh.clone()),
        ];
        let send = |params: Vec<(String, String)>| {
            let sim = sim.clone();
            async move {
                crate::http_client()
                    .post(format!("{}/rest/auth/token/refresh", sim.base_url()))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(encode(&params))
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        // Signed without the path prefix: refused.
        assert_eq!(
            send(signed(&sim, None, params.clone())).await["code"],
            "IncompleteSignature"
        );
        let grant = send(signed(&sim, Some(TOKEN_REFRESH), params.clone())).await;
        assert_eq!(grant["code"], "0");
        assert_eq!(grant["access_token"], sim.access_token().as_str());
        assert_ne!(sim.access_token(), old_access);
        assert_eq!(sim.token_refreshes(), 1);
        let again = send(signed(&sim, Some(TOKEN_REFRESH), params)).await;
        assert_eq!(again["code"], "IllegalRefreshToken", "a refresh token is used once");
    }

    #[tokio::test]
    async fn orders_move_with_the_clock_and_stock_falls() {
        let sim = AliExpressSim::start(3).await.unwrap();
        let sku = sim.products()[0].skus[0].clone();
        let mut params = base(&sim, CREATE);
        params.push((
            "param_place_order_request4_open_api_d_t_o".into(),
            order_dto(&sim, "O-1", 2),
        ));
        let (_, answer) = call(&sim, &signed(&sim, None, params)).await;
        let result = &answer["aliexpress_ds_order_create_response"]["result"];
        assert_eq!(result["is_success"], true, "{answer}");
        assert_eq!(sim.sku(&sku.sku_id).unwrap().1.stock, sku.stock - 2);
        let status = |sim: &AliExpressSim| sim.orders()[0].status.clone();
        assert_eq!(status(&sim), "PLACE_ORDER_SUCCESS");
        sim.advance_days(1);
        assert_eq!(status(&sim), "WAIT_SELLER_SEND_GOODS");
        sim.advance_days(2);
        assert_eq!(status(&sim), "WAIT_BUYER_ACCEPT_GOODS");
        let number = sim.orders()[0].tracking_number.clone().unwrap();
        assert!(number.starts_with("LP") && number.len() == 16, "{number}");
        sim.advance_days(15);
        assert_eq!(status(&sim), "FINISH");
        let order = &sim.orders()[0];
        assert_eq!(events(order, sim.day()).len(), 6);
        assert_eq!(events(order, sim.day())[5]["signed_name"], "Ann Lee");
    }

    #[tokio::test]
    async fn over_stock_unknown_service_and_country_are_refused() {
        let sim = AliExpressSim::start(4).await.unwrap();
        let sku = sim.products()[0].skus[0].clone();
        let send = |dto: String| {
            let sim = sim.clone();
            async move {
                let mut params = base(&sim, CREATE);
                params.push(("param_place_order_request4_open_api_d_t_o".into(), dto));
                let (_, answer) = call(&sim, &signed(&sim, None, params)).await;
                answer["aliexpress_ds_order_create_response"]["result"]["error_code"].clone()
            }
        };
        assert_eq!(
            send(order_dto(&sim, "S-1", sku.stock + 1)).await,
            "INVENTORY_HOLD_ERROR"
        );
        let service = order_dto(&sim, "S-2", 1).replace("CAINIAO_STANDARD", "PIGEON_POST");
        assert_eq!(send(service).await, "DELIVERY_METHOD_NOT_EXIST");
        let country = order_dto(&sim, "S-3", 1).replace("\"US\"", "\"KP\"");
        assert_eq!(send(country).await, "A005_INVALID_COUNTRIES");
        let city = order_dto(&sim, "S-4", 1).replace("Fresno", "");
        assert_eq!(send(city).await, "B_DROPSHIPPER_DELIVERY_ADDRESS_VALIDATE_FAIL");
        assert!(sim.orders().is_empty());
        assert_eq!(
            sim.sku(&sku.sku_id).unwrap().1.stock,
            sku.stock,
            "refusals hold no stock"
        );
    }

    #[tokio::test]
    async fn faults_target_a_method_and_are_used_up() {
        let sim = AliExpressSim::start(5).await.unwrap();
        sim.inject(Some(CREATE), AeFault::ServerError, 1);
        let mut product = base(&sim, PRODUCT);
        product.push(("product_id".into(), sim.products()[0].product_id.clone()));
        product.push(("ship_to_country".into(), "US".into()));
        let (status, _) = call(&sim, &signed(&sim, None, product.clone())).await;
        assert_eq!(status, 200, "a fault for another method does not strike");
        let mut create = base(&sim, CREATE);
        create.push((
            "param_place_order_request4_open_api_d_t_o".into(),
            order_dto(&sim, "F-1", 1),
        ));
        assert_eq!(call(&sim, &signed(&sim, None, create.clone())).await.0, 500);
        assert!(sim.orders().is_empty());
        sim.rate_limit_next(1, 3);
        let response = crate::http_client()
            .post(format!("{}/sync", sim.base_url()))
            .body(encode(&signed(&sim, None, product)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "3");
        let (status, answer) = call(&sim, &signed(&sim, None, create)).await;
        assert_eq!(
            (
                status,
                answer["aliexpress_ds_order_create_response"]["result"]["is_success"].clone()
            ),
            (200, json!(true))
        );
        assert_eq!(sim.calls(CREATE), 2);
        assert_eq!(sim.calls(PRODUCT), 2);
    }
}
