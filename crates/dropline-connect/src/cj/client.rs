//! CJ's API over HTTP: the access token kept and renewed, and the calls dropline makes
//! (freight, variant and stock look-ups, create, detail, list and cancel orders, tracking),
//! each answer read by this module's pure readers.
//!
//! # HTTP faults
//!
//! CJ answers with HTTP 200 and its envelope, errors included. Anything else is typed here:
//! HTTP 429 is [`CjError::RateLimited`] carrying the `Retry-After` wait when given (seconds or
//! an HTTP date, at most [`MAX_RETRY_AFTER`]); another non-2xx status is the error for its
//! envelope code when the body is CJ's envelope, else the error for the status (5xx →
//! [`CjError::Unavailable`]); a 2xx body that is not the envelope is [`CjError::Malformed`]; a
//! time-out, refused or dropped connection or a cut answer is [`CjError::Transport`].
//!
//! # Tokens
//!
//! The first call obtains a token pair with the API key (`getAccessToken`). A token is used
//! until [`RENEW_BEFORE`] before the expiry CJ gave with it (read against the client's clock,
//! which tests can replace); then it is refreshed with the refresh token
//! (`refreshAccessToken`), or obtained again with the API key when the refresh token is itself
//! near its end or refused. A call CJ answers with a token error
//! ([`CjError::needs_new_token`]) gets a new token the same way and is sent once more; a second
//! token error is returned.
//!
//! The cache is behind a plain mutex that is never held across a call: two first calls made
//! at the same moment may both obtain a token (the last one is kept).
//!
//! # Secrets
//!
//! The API key travels only in the body of `getAccessToken`, the tokens only in a header
//! marked sensitive and in the body of `refreshAccessToken`; no error text or log line carries
//! any of them, nor a body that was sent.

use super::catalog::{self, CjVariantInfo, WarehouseStock};
use super::envelope::{self, CjError};
use super::freight::{self, FreightQuote};
use super::orders::{self, CancelOutcome, CjOrderPage, CjOrderStatus, ORDER_NOT_FOUND_CODE};
use super::product::{self, CjProductInfo, CjProductStock, CjProductVariants, CjVariantEntry};
use super::tracking::{self, TrackInfo};
use super::values::Fields;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use super::orders::OrderDetail;

/// How long before its expiry a token is renewed.
pub const RENEW_BEFORE: time::Duration = time::Duration::hours(1);
/// The longest `Retry-After` believed: CJ's longest limit is a daily quota, reset at 00:00 UTC.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// The largest order-list page asked for (CJ's own client never asks for more than 50).
pub const MAX_PAGE_SIZE: u32 = 50;
/// The most tracking numbers sent in one `trackInfo` call; more are sent in several calls.
/// CJ does not document a limit; this keeps the address short.
pub const TRACK_NUMBERS_PER_CALL: usize = 20;
/// Answers larger than this are refused (CJ's answers here are a few kilobytes).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Where the client reads the time, for token expiries.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

#[derive(Clone)]
struct Tokens {
    access: String,
    access_expiry: OffsetDateTime,
    refresh: String,
    refresh_expiry: OffsetDateTime,
}

/// One line of a freight request or an order: a CJ variant and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// CJ's variant id (`vid`).
    pub vid: String,
    pub quantity: u32,
}

/// What `freightCalculate` is asked to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreightRequest {
    /// Ship-from warehouse country, ISO alpha-2 (`startCountryCode`).
    pub from_country: String,
    /// Destination country, ISO alpha-2 (`endCountryCode`).
    pub to_country: String,
    /// Destination postcode, when known.
    pub zip: Option<String>,
    pub lines: Vec<Line>,
}

/// The body of `createOrderV2`, less the order number (given to [`CjClient::create_order`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// ISO alpha-2 (`shippingCountryCode`).
    pub country_code: String,
    /// Country name (`shippingCountry`).
    pub country: String,
    pub province: String,
    pub city: String,
    pub address: String,
    pub address2: Option<String>,
    pub customer_name: String,
    pub zip: String,
    pub phone: String,
    pub email: Option<String>,
    pub remark: Option<String>,
    /// The shipping method, as `freightCalculate` names it (`logisticName`).
    pub logistic_name: String,
    /// Ship-from warehouse country (`fromCountryCode`).
    pub from_country: String,
    /// `payType`: 2 = pay from the CJ balance, 3 = create only.
    pub pay_type: Option<u8>,
    pub lines: Vec<Line>,
    /// The recipient's tax id for customs (`taxId`), when the destination needs one.
    pub tax_id: Option<String>,
}

/// A CJ API client for one account. Cheap to share behind an `Arc`; the token is shared by
/// all calls.
pub struct CjClient {
    http: reqwest::Client,
    base: String,
    api_key: String,
    timeout: Duration,
    clock: Clock,
    tokens: Mutex<Option<Tokens>>,
    /// Spacing of calls to honour the account's rate limit, when set.
    pacer: Option<crate::pace::Pacer>,
}

impl fmt::Debug for CjClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CjClient")
            .field("base", &self.base)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl CjClient {
    /// CJ's production address.
    pub const PRODUCTION: &'static str = "https://developers.cjdropshipping.com/api2.0/v1";
    /// How long one call may take, unless [`Self::with_timeout`] says.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A client for the API at `base_url` (e.g. [`Self::PRODUCTION`]) with this API key.
    /// `base_url` must be an http(s) address without query; the key must not be blank.
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, CjError> {
        let base = base_url.trim().trim_end_matches('/');
        let parsed =
            Url::parse(base).map_err(|_| CjError::Malformed(format!("base_url: {base:?} is not an address")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || parsed.query().is_some() {
            return Err(CjError::Malformed(format!(
                "base_url: {base:?} is not an http(s) address without query"
            )));
        }
        let api_key = api_key.trim();
        if api_key.is_empty() {
            return Err(CjError::Malformed("api_key: empty".to_string()));
        }
        // Fails only when a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("dropline/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                // A redirect would carry the token to another host: never follow.
                .redirect(reqwest::redirect::Policy::none())
        };
        let http = match builder().build() {
            Ok(http) => http,
            Err(error) => {
                tracing::warn!(%error, "no system CA certificates: HTTPS calls to CJ will fail");
                builder()
                    .tls_certs_only(std::iter::empty())
                    .build()
                    .map_err(|e| CjError::Transport(format!("cannot build an HTTP client: {e}")))?
            }
        };
        Ok(Self {
            http,
            base: base.to_string(),
            api_key: api_key.to_string(),
            timeout: Self::DEFAULT_TIMEOUT,
            clock: Arc::new(OffsetDateTime::now_utc),
            tokens: Mutex::new(None),
            pacer: None,
        })
    }

    /// The same client with another limit on each call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same client sending at most `per_second` requests a second (the account's rate
    /// limit); calls beyond it wait their turn.
    pub fn with_rate_limit(mut self, per_second: u32) -> Self {
        self.pacer = Some(crate::pace::Pacer::new(per_second));
        self
    }

    /// The same client reading the time from `clock` (token expiries are compared with it).
    pub fn with_clock(mut self, clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Shipping quotes for the lines on the route, one per method CJ offers.
    pub async fn freight(&self, request: &FreightRequest) -> Result<Vec<FreightQuote>, CjError> {
        let mut body = json!({
            "startCountryCode": request.from_country,
            "endCountryCode": request.to_country,
            "products": lines_json(&request.lines),
        });
        if let Some(zip) = &request.zip {
            body["zip"] = json!(zip);
        }
        self.authed(
            Method::POST,
            "/logistic/freightCalculate",
            &[],
            Some(&body),
            freight::parse_freight_calculate,
        )
        .await
    }

    /// The variant as CJ sells it now (`product/variant/queryByVid`): its SKU and exact sell
    /// price. `None` when CJ answers without data: it no longer sells this variant (SKU
    /// drift). An answer for another variant than the one asked for is
    /// [`CjError::Malformed`].
    pub async fn variant(&self, vid: &str) -> Result<Option<CjVariantInfo>, CjError> {
        let vid = required("vid", vid)?;
        let info = self
            .authed(
                Method::GET,
                "/product/variant/queryByVid",
                &[("vid", vid)],
                None,
                catalog::parse_variant,
            )
            .await?;
        asked_for(info, vid, "data.vid", "variant", |info| &info.vid)
    }

    /// Units of the variant over all CJ warehouses (`product/stock/queryByVid`); `None` when
    /// CJ answers without data (it does not know the variant).
    pub async fn stock(&self, vid: &str) -> Result<Option<u32>, CjError> {
        match self.stock_by_warehouse(vid).await? {
            Some(warehouses) => catalog::total_stock(&warehouses).map(Some),
            None => Ok(None),
        }
    }

    /// The variant's stock in each CJ warehouse; `None` as for [`Self::stock`].
    pub async fn stock_by_warehouse(&self, vid: &str) -> Result<Option<Vec<WarehouseStock>>, CjError> {
        let vid = required("vid", vid)?;
        self.authed(
            Method::GET,
            "/product/stock/queryByVid",
            &[("vid", vid)],
            None,
            catalog::parse_stock,
        )
        .await
    }

    /// The variant by its id, read leniently (`product/variant/queryByVid`): `None` when CJ
    /// answers without data (it no longer sells it), `Some(Err(why))` when the answer for it
    /// cannot be read or is about another variant. Its price may itself be untrusted (see
    /// [`CjVariantEntry::sell_price`]). Only a body that is not CJ's envelope is an error.
    pub async fn variant_entry(&self, vid: &str) -> Result<Option<Result<CjVariantEntry, String>>, CjError> {
        let vid = required("vid", vid)?;
        let entry = self
            .authed(
                Method::GET,
                "/product/variant/queryByVid",
                &[("vid", vid)],
                None,
                product::parse_variant_entry,
            )
            .await?;
        Ok(entry.map(|entry| {
            entry.and_then(|entry| {
                if entry.vid.eq_ignore_ascii_case(vid) {
                    Ok(entry)
                } else {
                    Err(format!("data.vid: {:?} is not the variant asked for", entry.vid))
                }
            })
        }))
    }

    /// The variant's units over all warehouses, read leniently (`product/stock/queryByVid`):
    /// `None` when CJ answers without data, `Some(Err(why))` when a count cannot be believed.
    pub async fn stock_entry(&self, vid: &str) -> Result<Option<Result<u32, String>>, CjError> {
        let vid = required("vid", vid)?;
        self.authed(
            Method::GET,
            "/product/stock/queryByVid",
            &[("vid", vid)],
            None,
            product::parse_stock_entry,
        )
        .await
    }

    /// The product's name and SKU (`product/query`); `None` when CJ answers without data. An
    /// answer for another product than the one asked for is [`CjError::Malformed`].
    pub async fn product(&self, pid: &str) -> Result<Option<CjProductInfo>, CjError> {
        let pid = required("pid", pid)?;
        let info = self
            .authed(
                Method::GET,
                "/product/query",
                &[("pid", pid)],
                None,
                product::parse_product,
            )
            .await?;
        asked_for(info, pid, "data.pid", "product", |info| &info.pid)
    }

    /// Every variant of the product with its SKU, options and sell price
    /// (`product/variant/query?pid=`), each price kept with why it cannot be believed when it
    /// cannot; empty when CJ lists none (it no longer sells the product).
    pub async fn product_variants(&self, pid: &str) -> Result<CjProductVariants, CjError> {
        let pid = required("pid", pid)?;
        self.authed(Method::GET, "/product/variant/query", &[("pid", pid)], None, |body| {
            product::parse_product_variants(body, pid)
        })
        .await
    }

    /// The units of each of the product's variants over all warehouses
    /// (`product/stock/getInventoryByPid`), each kept with why it cannot be believed when it
    /// cannot; `None` when CJ answers without data.
    pub async fn product_stock(&self, pid: &str) -> Result<Option<CjProductStock>, CjError> {
        let pid = required("pid", pid)?;
        self.authed(
            Method::GET,
            "/product/stock/getInventoryByPid",
            &[("pid", pid)],
            None,
            product::parse_product_stock,
        )
        .await
    }

    /// Creates the order at CJ and gives CJ's order id. `order_number` (≤ 40 characters) is
    /// the idempotency key: when CJ refuses the creation for a business reason and an order
    /// with this number exists, that order's id is given.
    ///
    /// When the answer is not CJ's envelope (cut or garbled), the order is looked up by its
    /// number too: found, its id is given; else [`CjError::Malformed`] is returned.
    ///
    /// An error for which [`CjError::outcome_unknown`] holds (notably [`CjError::Transport`]:
    /// the answer was lost or came too late) may mean the order WAS created: look it up with
    /// [`Self::order_by_number`] before ever sending the creation again.
    pub async fn create_order(&self, order_number: &str, order: &OrderRequest) -> Result<String, CjError> {
        let order_number = order_number.trim();
        if order_number.is_empty() || order_number.chars().count() > 40 {
            return Err(CjError::Malformed(format!(
                "orderNumber: {order_number:?} must be 1 to 40 characters"
            )));
        }
        let body = order_json(order_number, order);
        let created = self
            .authed(
                Method::POST,
                "/shopping/order/createOrderV2",
                &[],
                Some(&body),
                |answer| {
                    let data: Value = envelope::parse(answer)?;
                    Fields::new(&data, "data")?.required_text("orderId")
                },
            )
            .await;
        match created {
            // A refusal may be CJ's answer to a number it already holds; a body that is not
            // CJ's envelope may be the answer to an order it created. Either way the order, if
            // it exists, is the one to keep.
            Err(error @ (CjError::Rejected { .. } | CjError::Malformed(_))) => {
                match self.order_by_number(order_number).await {
                    Ok(Some(existing)) => {
                        tracing::info!(order_number, "CJ already holds this order number; its order is kept");
                        Ok(existing.order_id)
                    }
                    _ => Err(error),
                }
            }
            other => other,
        }
    }

    /// The order created with this order number, `None` when CJ has none.
    pub async fn order_by_number(&self, order_number: &str) -> Result<Option<OrderDetail>, CjError> {
        let detail = self.order_detail(order_number).await?;
        // getOrderDetail takes either id; an order whose own id happens to equal the number
        // asked for is not the one sought unless its number matches too.
        Ok(detail.filter(|d| d.order_number.as_deref().is_none_or(|n| n == order_number.trim())))
    }

    /// The order with this CJ order id (or order number), `None` when CJ has none.
    pub async fn order_detail(&self, order_id: &str) -> Result<Option<OrderDetail>, CjError> {
        let order_id = required("orderId", order_id)?;
        self.authed(
            Method::GET,
            "/shopping/order/getOrderDetail",
            &[("orderId", order_id)],
            None,
            orders::parse_order_detail,
        )
        .await
    }

    /// One page (from 1, at most [`MAX_PAGE_SIZE`] orders) of the account's orders at CJ
    /// (`shopping/order/list`), for reconciliation: orders CJ holds that dropline does not
    /// know, or whose status moved. Read pages while [`CjOrderPage::has_more`].
    ///
    /// CJ's page says its `status` filter defaults to `CANCELLED`; CJ's own client lists
    /// without it. Whether an unfiltered list holds every status is not verified: see
    /// [`Self::list_orders_by_status`].
    pub async fn list_orders(&self, page: u32, page_size: u32) -> Result<CjOrderPage, CjError> {
        self.list(page, page_size, None).await
    }

    /// Like [`Self::list_orders`], only the orders in `status` (not
    /// [`CjOrderStatus::Unknown`]).
    pub async fn list_orders_by_status(
        &self,
        status: CjOrderStatus,
        page: u32,
        page_size: u32,
    ) -> Result<CjOrderPage, CjError> {
        let status = status
            .as_cj()
            .ok_or_else(|| CjError::Malformed("status: an unknown status cannot be asked for".to_string()))?;
        self.list(page, page_size, Some(status)).await
    }

    async fn list(&self, page: u32, page_size: u32, status: Option<&str>) -> Result<CjOrderPage, CjError> {
        if page == 0 {
            return Err(CjError::Malformed("pageNum: pages start at 1".to_string()));
        }
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(CjError::Malformed(format!(
                "pageSize: {page_size} is not from 1 to {MAX_PAGE_SIZE}"
            )));
        }
        let (page_text, size_text) = (page.to_string(), page_size.to_string());
        let mut query = vec![("pageNum", page_text.as_str()), ("pageSize", size_text.as_str())];
        if let Some(status) = status {
            query.push(("status", status));
        }
        self.authed(Method::GET, "/shopping/order/list", &query, None, |answer| {
            orders::read_order_list(answer, page, page_size)
        })
        .await
    }

    /// What CJ knows about these parcels (`logistic/trackInfo`, the key repeated), in CJ's
    /// order; numbers CJ does not know may be left out. Blank numbers are refused before
    /// anything is sent; more than [`TRACK_NUMBERS_PER_CALL`] are asked in several calls.
    pub async fn track_info<S: AsRef<str>>(&self, track_numbers: &[S]) -> Result<Vec<TrackInfo>, CjError> {
        let numbers = track_numbers
            .iter()
            .map(|number| required("trackNumber", number.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut infos = Vec::new();
        for chunk in numbers.chunks(TRACK_NUMBERS_PER_CALL) {
            let query: Vec<(&str, &str)> = chunk.iter().map(|number| ("trackNumber", *number)).collect();
            let mut answer = self
                .authed(
                    Method::GET,
                    "/logistic/trackInfo",
                    &query,
                    None,
                    tracking::parse_track_info,
                )
                .await?;
            infos.append(&mut answer);
        }
        Ok(infos)
    }

    /// Asks CJ to cancel the order (`DELETE shopping/order/deleteOrder?orderId=`, CJ's only
    /// documented way). CJ documents neither which statuses it accepts nor its refusal codes:
    /// any business refusal is [`CancelOutcome::Refused`] with CJ's code and message (a shipped
    /// order cannot be cancelled); code [`ORDER_NOT_FOUND_CODE`] is
    /// [`CancelOutcome::NotFound`]. Other errors are returned; after one for which
    /// [`CjError::outcome_unknown`] holds, read the order before asking again.
    pub async fn cancel_order(&self, order_id: &str) -> Result<CancelOutcome, CjError> {
        let order_id = required("orderId", order_id)?;
        let answer = self
            .authed(
                Method::DELETE,
                "/shopping/order/deleteOrder",
                &[("orderId", order_id)],
                None,
                // CJ documents no data for this call: whatever comes with success is ignored.
                |answer| envelope::parse::<Value>(answer).map(|_| ()),
            )
            .await;
        match answer {
            Ok(()) => Ok(CancelOutcome::Cancelled),
            Err(error) if error.code() == Some(ORDER_NOT_FOUND_CODE) => Ok(CancelOutcome::NotFound),
            Err(CjError::Rejected { code, message }) => Ok(CancelOutcome::Refused { code, message }),
            Err(error) => Err(error),
        }
    }

    /// One call with the access token; on a token error, once more with a new token.
    async fn authed<T>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        read: impl Fn(&[u8]) -> Result<T, CjError>,
    ) -> Result<T, CjError> {
        let token = self.access_token().await?;
        let first = self.send(method.clone(), path, query, body, Some(&token)).await;
        match first.and_then(|answer| read(&answer)) {
            Err(error) if error.needs_new_token() => {
                tracing::info!(
                    call = path,
                    code = error.code(),
                    "CJ refused the access token; getting a new one"
                );
                self.forget(&token);
                let token = self.access_token().await?;
                let answer = self.send(method, path, query, body, Some(&token)).await?;
                read(&answer)
            }
            other => other,
        }
    }

    /// Marks `token` as unusable, if it is still the cached one (the refresh token is kept).
    fn forget(&self, token: &str) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = tokens.as_mut().filter(|t| t.access == token) {
            cached.access_expiry = OffsetDateTime::UNIX_EPOCH;
        }
    }

    /// A usable access token: the cached one, a refreshed one or a new one.
    async fn access_token(&self) -> Result<String, CjError> {
        let now = (self.clock)();
        let cached = self.tokens.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(tokens) = cached {
            if tokens.access_expiry - RENEW_BEFORE > now {
                return Ok(tokens.access);
            }
            if tokens.refresh_expiry - RENEW_BEFORE > now {
                let body = json!({ "refreshToken": tokens.refresh });
                match self.token_call("/authentication/refreshAccessToken", &body).await {
                    Ok(fresh) => return Ok(self.keep(fresh)),
                    // The refresh token is refused: the API key still gives a new pair.
                    Err(error) if error.needs_new_token() => {
                        tracing::info!(code = error.code(), "CJ refused the refresh token; getting a new token");
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        let body = json!({ "apiKey": self.api_key });
        let fresh = self.token_call("/authentication/getAccessToken", &body).await?;
        Ok(self.keep(fresh))
    }

    fn keep(&self, tokens: Tokens) -> String {
        let access = tokens.access.clone();
        *self.tokens.lock().unwrap_or_else(PoisonError::into_inner) = Some(tokens);
        access
    }

    async fn token_call(&self, path: &str, body: &Value) -> Result<Tokens, CjError> {
        let answer = self.send(Method::POST, path, &[], Some(body), None).await?;
        let data: Value = envelope::parse(&answer)?;
        let fields = Fields::new(&data, "data")?;
        let date = |key: &str| -> Result<OffsetDateTime, CjError> {
            let text = fields.required_text(key)?;
            OffsetDateTime::parse(&text, &Rfc3339)
                .map_err(|_| fields.invalid(key, format!("{text:?} is not an ISO 8601 date with offset")))
        };
        let tokens = Tokens {
            access: fields.required_text("accessToken")?,
            access_expiry: date("accessTokenExpiryDate")?,
            refresh: fields.required_text("refreshToken")?,
            refresh_expiry: date("refreshTokenExpiryDate")?,
        };
        for (key, value) in [("accessToken", &tokens.access), ("refreshToken", &tokens.refresh)] {
            if HeaderValue::from_str(value).is_err() {
                return Err(fields.invalid(key, "contains characters not allowed in a header"));
            }
        }
        Ok(tokens)
    }

    /// Sends one call and gives the body of a 2xx answer; another status is the error for
    /// that code (429 with its `Retry-After`), a lost answer [`CjError::Transport`].
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<Vec<u8>, CjError> {
        if let Some(pacer) = &self.pacer {
            pacer.wait_turn().await;
        }
        let call = format!("{method} {path}");
        let mut url = Url::parse(&format!("{}{path}", self.base))
            .map_err(|_| CjError::Malformed(format!("base_url: cannot build an address for {path}")))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        let mut request = self
            .http
            .request(method, url)
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(token)
                .map_err(|_| CjError::Malformed("accessToken: not allowed in a header".to_string()))?;
            value.set_sensitive(true);
            request = request.header("CJ-Access-Token", value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = std::time::Instant::now();
        let mut response = request.send().await.map_err(|e| transport(&call, &e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, (self.clock)()));
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(&call, &e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(CjError::Malformed(format!(
                    "{call}: answer larger than {MAX_ANSWER_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(call = %call, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "CJ call");
        if status.is_success() {
            return Ok(bytes);
        }
        let in_envelope = match envelope::parse::<Value>(&bytes) {
            Err(error) if error.code().is_some() => Some(error),
            _ => None,
        };
        // For a rate limit or a server failure the status decides whatever the body says (a
        // gateway may wrap anything); CJ's own error, when the body is its envelope, is kept in
        // the text.
        let message = match &in_envelope {
            Some(error) => format!("HTTP {status} to {call}: {error}"),
            None => format!("HTTP {status} to {call}"),
        };
        let code = i64::from(status.as_u16());
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(CjError::RateLimited {
                code,
                message,
                retry_after,
            });
        }
        if status.is_server_error() {
            return Err(CjError::Unavailable { code, message });
        }
        // Otherwise a CJ envelope with an error code says more than the status.
        if let Some(error) = in_envelope {
            return Err(error);
        }
        Err(CjError::from_code(
            i64::from(status.as_u16()),
            format!("HTTP {status} to {call}"),
        ))
    }
}

/// `value` trimmed, refused when blank (nothing is sent for it).
fn required<'a>(name: &str, value: &'a str) -> Result<&'a str, CjError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(CjError::Malformed(format!("{name}: empty")));
    }
    Ok(value)
}

/// `Retry-After` as a wait: whole or decimal seconds, or an HTTP date (read against `now`). A
/// date already past is no wait; a wait above [`MAX_RETRY_AFTER`] is cut to it; anything else
/// is ignored (`None`: the caller uses its own backoff).
fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    crate::http_text::parse_retry_after(value, now, MAX_RETRY_AFTER)
}

fn transport(call: &str, error: &reqwest::Error) -> CjError {
    // Without the address (it carries the order id or number in its query); the token never
    // appears in reqwest's texts.
    CjError::Transport(crate::http_text::describe_transport_error(call, error))
}

fn lines_json(lines: &[Line]) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|line| json!({ "vid": line.vid, "quantity": line.quantity }))
            .collect(),
    )
}

fn order_json(order_number: &str, order: &OrderRequest) -> Value {
    let mut body = json!({
        "orderNumber": order_number,
        "shippingCountryCode": order.country_code,
        "shippingCountry": order.country,
        "shippingProvince": order.province,
        "shippingCity": order.city,
        "shippingAddress": order.address,
        "shippingCustomerName": order.customer_name,
        "shippingZip": order.zip,
        "shippingPhone": order.phone,
        "logisticName": order.logistic_name,
        "fromCountryCode": order.from_country,
        "products": lines_json(&order.lines),
    });
    let optional = [
        ("shippingAddress2", &order.address2),
        ("email", &order.email),
        ("remark", &order.remark),
        ("taxId", &order.tax_id),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            body[key] = json!(value);
        }
    }
    if let Some(pay_type) = order.pay_type {
        body["payType"] = json!(pay_type);
    }
    body
}

/// CJ's answer when it names the id asked for (`None` stays `None`); an answer for another
/// one is [`CjError::Malformed`].
fn asked_for<T>(
    info: Option<T>,
    asked: &str,
    field: &str,
    what: &str,
    id: impl Fn(&T) -> &str,
) -> Result<Option<T>, CjError> {
    match info {
        Some(info) if !id(&info).eq_ignore_ascii_case(asked) => Err(CjError::Malformed(format!(
            "{field}: {:?} is not the {what} asked for",
            id(&info)
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = time::macros::datetime!(2015-10-21 07:27:00 UTC);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 1.5 ", now), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER));
        for odd in ["", "-1", "1.", ".5", "soon", "1e3"] {
            assert_eq!(parse_retry_after(odd, now), None, "{odd:?}");
        }
    }

    #[test]
    fn new_refuses_bad_configuration() {
        assert!(CjClient::new("not an address", "k").is_err());
        assert!(CjClient::new("ftp://cj.example", "k").is_err());
        assert!(CjClient::new("https://cj.example/api2.0/v1?x=1", "k").is_err());
        assert!(CjClient::new(CjClient::PRODUCTION, "  ").is_err());
        let client = CjClient::new(CjClient::PRODUCTION, "CJ1@api@secret").unwrap();
        assert!(!format!("{client:?}").contains("secret"));
    }

    #[test]
    fn optional_order_fields_are_sent_only_when_given() {
        let order = OrderRequest {
            country_code: "US".into(),
            country: "United States".into(),
            province: "CA".into(),
            city: "Fresno".into(),
            address: "1 Main St".into(),
            address2: None,
            customer_name: "Ann".into(),
            zip: "93650".into(),
            phone: "5595550100".into(),
            email: Some("a@example.com".into()),
            remark: None,
            logistic_name: "USPS+".into(),
            from_country: "CN".into(),
            pay_type: Some(3),
            tax_id: None,
            lines: vec![Line {
                vid: "V1".into(),
                quantity: 2,
            }],
        };
        let body = order_json("N-1", &order);
        assert_eq!(body["orderNumber"], "N-1");
        assert_eq!(body["email"], "a@example.com");
        assert_eq!(body["payType"], 3);
        assert!(body.get("shippingAddress2").is_none());
        assert_eq!(body["products"][0]["quantity"], 2);
    }
}
