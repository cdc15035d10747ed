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
//! - `POST /shopping/order/createOrderV2`: creates an order; `orderNumber` is the idempotency
//!   key. CJ's documentation does not say what a second create with a known `orderNumber`
//!   answers, so the simulator refuses it with [`CjSim::DUPLICATE_ORDER_CODE`] (a code of its
//!   own) and the existing order's `orderId` in `data`; no second order is made.
//! - `GET /shopping/order/getOrderDetail?orderId=`: by CJ order id or by the caller's
//!   `orderNumber` (CJ documents both). An unknown order answers code 200 with `data: null`
//!   (CJ's answer for this case is not documented).
//!
//! Every call except authentication needs `CJ-Access-Token`: absent → 1600002, unknown →
//! 1600001, expired → 401 (the code CJ's own client reads as "token expired"). A bad body or
//! parameter answers 1600100 with the field named.

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};
use tokio::task::JoinHandle;

/// The path every endpoint is under.
const PREFIX: &str = "/api2.0/v1";
const ACCESS_TOKEN_DAYS: i64 = 15;
const REFRESH_TOKEN_DAYS: i64 = 180;
const PARAM_ERROR: i64 = 1_600_100;
/// CNY per USD used for the `…Cn` prices.
const CNY_PER_USD_MILLI: i64 = 6_480;

/// A variant CJ sells: its `vid` and its shipping weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CjVariant {
    pub vid: String,
    pub sku: String,
    /// Shipping weight in grams.
    pub weight_grams: u32,
    /// Price in US cents.
    pub price_cents: i64,
}

/// An order created at the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CjOrder {
    pub order_id: String,
    pub order_number: String,
    pub logistic_name: String,
    pub country_code: String,
    /// `(vid, quantity)` lines.
    pub products: Vec<(String, u32)>,
    pub status: String,
}

/// A shipping method: `(name, base cents, cents per 100 g, aging)`.
const METHODS: [(&str, i64, i64, &str); 3] = [
    ("USPS+", 371, 50, "2-5"),
    ("CJPacket Ordinary", 250, 35, "7-12"),
    ("DHL Official", 1_890, 120, "3-7"),
];

struct Tokens {
    /// access token → expiry.
    access: HashMap<String, OffsetDateTime>,
    /// refresh token → expiry.
    refresh: HashMap<String, OffsetDateTime>,
}

struct Faults {
    fail_next: u32,
    lose_next_create: bool,
}

struct Inner {
    api_key: String,
    variants: Vec<CjVariant>,
    tokens: Mutex<Tokens>,
    orders: Mutex<Vec<CjOrder>>,
    faults: Mutex<Faults>,
    counters: Mutex<Counters>,
    rng: Mutex<u64>,
}

#[derive(Default, Clone, Copy)]
struct Counters {
    token_grants: u32,
    token_refreshes: u32,
}

/// Stops the server when the last handle is dropped.
struct Server(JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// CJ's API on a local port. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct CjSim {
    inner: Arc<Inner>,
    base_url: String,
    _server: Arc<Server>,
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

impl CjSim {
    /// The code a second create with a known `orderNumber` is refused with (the simulator's
    /// own: CJ's documentation does not give one); `data.orderId` is the existing order.
    pub const DUPLICATE_ORDER_CODE: i64 = 1_603_001;

    /// Starts the API on 127.0.0.1 (a free port); the key, ids and catalogue follow `seed`.
    pub async fn start(seed: u64) -> std::io::Result<Self> {
        let mut rng = seed;
        let api_key = format!(
            "CJ{}@api@{:016x}{:016x}",
            1000 + next(&mut rng) % 9000,
            next(&mut rng),
            next(&mut rng)
        );
        let variants = (0..4)
            .map(|i| {
                let hi = next(&mut rng);
                let lo = next(&mut rng);
                CjVariant {
                    vid: uuid::Uuid::from_u64_pair(hi, lo).to_string().to_uppercase(),
                    sku: format!("CJSIM{:04}{:02}", seed % 10_000, i + 1),
                    weight_grams: 80 + 120 * i as u32,
                    price_cents: 299 + 450 * i64::from(i),
                }
            })
            .collect();
        let inner = Arc::new(Inner {
            api_key,
            variants,
            tokens: Mutex::new(Tokens {
                access: HashMap::new(),
                refresh: HashMap::new(),
            }),
            orders: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults {
                fail_next: 0,
                lose_next_create: false,
            }),
            counters: Mutex::new(Counters::default()),
            rng: Mutex::new(rng),
        });
        let app = Router::new()
            .route(
                &format!("{PREFIX}/authentication/getAccessToken"),
                post(get_access_token),
            )
            .route(
                &format!("{PREFIX}/authentication/refreshAccessToken"),
                post(refresh_access_token),
            )
            .route(&format!("{PREFIX}/logistic/freightCalculate"), post(freight_calculate))
            .route(&format!("{PREFIX}/shopping/order/createOrderV2"), post(create_order))
            .route(&format!("{PREFIX}/shopping/order/getOrderDetail"), get(order_detail))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            inner,
            base_url: format!("http://{address}{PREFIX}"),
            _server: Arc::new(Server(task)),
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

    /// The catalogue (freight is quoted and orders are accepted for these `vid`s only).
    pub fn variants(&self) -> &[CjVariant] {
        &self.inner.variants
    }

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

    /// How many times `getAccessToken` handed out a token.
    pub fn token_grants(&self) -> u32 {
        lock(&self.inner.counters).token_grants
    }

    /// How many times `refreshAccessToken` handed out a token.
    pub fn token_refreshes(&self) -> u32 {
        lock(&self.inner.counters).token_refreshes
    }

    /// The orders created, oldest first.
    pub fn orders(&self) -> Vec<CjOrder> {
        lock(&self.inner.orders).clone()
    }

    /// The next `count` requests (any endpoint) answer HTTP 500 without doing anything.
    pub fn fail_next(&self, count: u32) {
        lock(&self.inner.faults).fail_next = count;
    }

    /// The next successful `createOrderV2` creates its order, then its answer is cut off: the
    /// status line and headers go out, the body never does and the connection is closed.
    pub fn lose_next_create_response(&self) {
        lock(&self.inner.faults).lose_next_create = true;
    }
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

fn param_error(inner: &Inner, message: impl fmt::Display) -> Response {
    envelope(PARAM_ERROR, &format!("Param error: {message}"), Value::Null, inner)
}

/// An injected 500, when one is pending.
fn injected_failure(inner: &Inner) -> Option<Response> {
    let mut faults = lock(&inner.faults);
    if faults.fail_next == 0 {
        return None;
    }
    faults.fail_next -= 1;
    Some((StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response())
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

async fn get_access_token(State(inner): State<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    if let Some(failure) = injected_failure(&inner) {
        return failure;
    }
    let map = match object(&body) {
        Ok(map) => map,
        Err(why) => return param_error(&inner, why),
    };
    if text(&map, "apiKey") != Some(inner.api_key.as_str()) {
        return envelope(1_600_005, "API key wrong", Value::Null, &inner);
    }
    lock(&inner.counters).token_grants += 1;
    let data = issue_tokens(&inner);
    envelope(200, "Success", data, &inner)
}

async fn refresh_access_token(State(inner): State<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    if let Some(failure) = injected_failure(&inner) {
        return failure;
    }
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
    envelope(200, "Success", data, &inner)
}

/// `products[]` as `(variant, quantity)`, or what the param error says (naming the field).
fn products<'a>(inner: &'a Inner, map: &serde_json::Map<String, Value>) -> Result<Vec<(&'a CjVariant, u32)>, String> {
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
        let Some(variant) = inner.variants.iter().find(|v| v.vid == vid) else {
            return Err(format!("products[{i}].vid: unknown variant {vid:?}"));
        };
        let quantity = item
            .get("quantity")
            .and_then(Value::as_u64)
            .filter(|q| (1..=10_000).contains(q));
        let Some(quantity) = quantity else {
            return Err(format!("products[{i}].quantity must be a whole number from 1"));
        };
        lines.push((variant, quantity as u32));
    }
    Ok(lines)
}

fn country(value: Option<&str>) -> Option<&str> {
    value.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
}

fn price(cents: i64) -> Value {
    json!(cents as f64 / 100.0)
}

async fn freight_calculate(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(failure) = injected_failure(&inner) {
        return failure;
    }
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
    if country(text(&map, "endCountryCode")).is_none() {
        return param_error(&inner, "endCountryCode must be an ISO alpha-2 code");
    }
    let lines = match products(&inner, &map) {
        Ok(lines) => lines,
        Err(why) => return param_error(&inner, why),
    };
    let grams: i64 = lines
        .iter()
        .map(|(v, q)| i64::from(v.weight_grams) * i64::from(*q))
        .sum();
    let hundreds = (grams + 99) / 100;
    // A US warehouse ships domestically: the cheap methods only.
    let methods = METHODS.iter().filter(|m| from != "US" || m.0 != "DHL Official");
    let data: Vec<Value> = methods
        .map(|(name, base, per_100g, aging)| {
            let cents = base + per_100g * hundreds;
            json!({
                "logisticAging": aging,
                "logisticPrice": price(cents),
                "logisticPriceCn": price(cents * CNY_PER_USD_MILLI / 1000),
                "logisticName": name,
            })
        })
        .collect();
    envelope(200, "Success", Value::Array(data), &inner)
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

fn order_json(order: &CjOrder, inner: &Inner) -> Value {
    let products: Vec<Value> = order
        .products
        .iter()
        .map(|(vid, quantity)| json!({"vid": vid, "quantity": quantity}))
        .collect();
    let product_cents: i64 = order
        .products
        .iter()
        .map(|(vid, q)| {
            inner
                .variants
                .iter()
                .find(|v| &v.vid == vid)
                .map_or(0, |v| v.price_cents)
                * i64::from(*q)
        })
        .sum();
    json!({
        "orderId": order.order_id,
        "orderNumber": order.order_number,
        "orderStatus": order.status,
        "logisticName": order.logistic_name,
        "shippingCountryCode": order.country_code,
        "trackNumber": null,
        "productAmount": price(product_cents),
        "productList": products,
    })
}

async fn create_order(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(failure) = injected_failure(&inner) {
        return failure;
    }
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
    if country(text(&map, "shippingCountryCode")).is_none() {
        return param_error(&inner, "shippingCountryCode must be an ISO alpha-2 code");
    }
    let logistic_name = text(&map, "logisticName").unwrap_or_default();
    if !METHODS.iter().any(|m| m.0 == logistic_name) {
        return param_error(&inner, format!("logisticName: unknown method {logistic_name:?}"));
    }
    if let Some(pay_type) = map.get("payType").filter(|v| !v.is_null())
        && !matches!(pay_type.as_u64(), Some(2 | 3))
    {
        return param_error(&inner, "payType must be 2 or 3");
    }
    let lines = match products(&inner, &map) {
        Ok(lines) => lines,
        Err(why) => return param_error(&inner, why),
    };
    let order = {
        let mut orders = lock(&inner.orders);
        if let Some(existing) = orders.iter().find(|o| o.order_number == order_number) {
            let data = json!({"orderId": existing.order_id, "orderNumber": existing.order_number});
            drop(orders);
            return envelope(
                CjSim::DUPLICATE_ORDER_CODE,
                "An order with this orderNumber already exists",
                data,
                &inner,
            );
        }
        let serial = 1 + orders.len() as u64;
        let order = CjOrder {
            order_id: format!(
                "SD{}{serial:06}",
                2_600_000_000u64 + (next(&mut lock(&inner.rng)) % 100_000_000)
            ),
            order_number: order_number.to_string(),
            logistic_name: logistic_name.to_string(),
            country_code: text(&map, "shippingCountryCode").unwrap_or_default().to_string(),
            products: lines.iter().map(|(v, q)| (v.vid.clone(), *q)).collect(),
            status: "CREATED".to_string(),
        };
        orders.push(order.clone());
        order
    };
    let lose = std::mem::take(&mut lock(&inner.faults).lose_next_create);
    if lose {
        // A length is promised and never sent: the server closes the connection mid-answer.
        let mut response = Response::new(Body::from_stream(Body::empty().into_data_stream()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, header::HeaderValue::from_static("512"));
        return response;
    }
    let data = order_json(&order, &inner);
    envelope(200, "Success", data, &inner)
}

async fn order_detail(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(failure) = injected_failure(&inner) {
        return failure;
    }
    if let Some(answer) = unauthorized(&inner, &headers) {
        return answer;
    }
    let Some(id) = query.get("orderId").map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return param_error(&inner, "orderId is required");
    };
    let found = lock(&inner.orders)
        .iter()
        .find(|o| o.order_id == id || o.order_number == id)
        .cloned();
    let data = found.map_or(Value::Null, |order| order_json(&order, &inner));
    envelope(200, "Success", data, &inner)
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
        assert_eq!(ok["data"].as_array().unwrap().len(), 3);
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
        let client = crate::http_client();
        for key in [id.as_str(), "D-1"] {
            let detail: Value = client
                .get(format!(
                    "{}/shopping/order/getOrderDetail?orderId={key}",
                    sim.base_url()
                ))
                .header("CJ-Access-Token", &token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(detail["data"]["orderId"], id.as_str());
        }
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
    }
}
