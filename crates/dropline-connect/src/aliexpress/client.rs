//! AliExpress's dropshipping API over HTTP: signed calls to the `/sync` gateway, the access
//! token kept and refreshed, and the answers read by [`super::orders`].
//!
//! # Calls
//!
//! | Method | AliExpress API |
//! |---|---|
//! | [`AliExpressClient::create_order`] / [`AliExpressClient::place_order`] | `aliexpress.ds.order.create` |
//! | [`AliExpressClient::order`] | `aliexpress.trade.ds.order.get` |
//! | [`AliExpressClient::tracking`] | `aliexpress.logistics.ds.trackinginfo.query` |
//! | [`AliExpressClient::product`] | `aliexpress.ds.product.get` |
//! | [`AliExpressClient::freight`] | `aliexpress.ds.freight.query` |
//! | token refresh | `/rest/auth/token/refresh` |
//!
//! Every business call is a form POST to `{base}/sync`, signed with [`super::RequestBuilder`]
//! (timestamp from the client's clock, the access token as `session`). Prices and freight are
//! asked in USD.
//!
//! # Finding an order after a lost answer
//!
//! AliExpress documents no call that lists a dropshipper's orders or finds one by
//! `out_order_id`. What it documents is that `out_order_id` is an idempotency key for 24 hours
//! ([`IDEMPOTENCY_WINDOW`]): an order creation sent again with the same `out_order_id` does not
//! make a second order, and is answered `REPEATED_ORDER_ERROR` ("request already been handled
//! successfully"). So the lookup after a lost answer ([`AeError::Transport`], or an unreadable
//! answer to a creation) is **sending the same creation again**, with the same `out_order_id`,
//! within those 24 hours:
//!
//! - if AliExpress names the orders it made (the simulator does, with `order_list` beside
//!   `REPEATED_ORDER_ERROR`; whether AliExpress does is not documented), the call gives their
//!   ids as if it had created them ([`PlacedOrder::already_placed`] tells the difference);
//! - if it does not, the call fails with [`RejectKind::AlreadyPlaced`]: the order exists but
//!   its id must be found by a person in the AliExpress account; it must never be sent under
//!   another `out_order_id`.
//!
//! After 24 hours the key is forgotten and a resend creates a second order: the engine must
//! not resend a creation older than [`IDEMPOTENCY_WINDOW`].
//!
//! # Cancelling
//!
//! AliExpress's API has no call to cancel a dropshipping order (its order-creation FAQ says to
//! cancel on the website with the same account), so this client has none: the engine treats a
//! cancellation at AliExpress as emulated (a person cancels; the order's status shows it).
//!
//! # Tokens
//!
//! The client starts with the seller's access token. When a call is answered with a token
//! error ([`AeError::needs_new_token`], e.g. `IllegalAccessToken`) and a refresh token was
//! given ([`AliExpressClient::with_refresh_token`]), the token is refreshed once over
//! `/rest/auth/token/refresh` and the call is sent once more; a second refusal is returned.
//! A token whose lifetime AliExpress gave with a refresh is refreshed
//! [`RENEW_BEFORE`] before it ends, by the client's clock. Two calls failing at the same moment
//! may both refresh; the second sees the first's new token and uses it instead when it can.
//!
//! # Secrets
//!
//! The app secret never leaves the process (it only keys the signature); the tokens travel in
//! form bodies only. `Debug` shows neither, and every error text is scrubbed of all three.

use super::RequestBuilder;
use super::error::{AeError, RejectKind};
use super::orders::{self, AeFreightOption, AeOrder, AeProduct, AeTrackingEvent, PlacedOrder, TokenGrant};
use dropline_domain::money::Currency;
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde_json::json;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// How long AliExpress keeps an `out_order_id` as an idempotency key (its order-creation page).
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// How long before its known expiry an access token is refreshed.
pub const RENEW_BEFORE: time::Duration = time::Duration::minutes(10);
/// The code of an [`AeError::Invalid`] the client raises itself, before sending anything.
pub const LOCAL_CHECK: &str = "LOCAL_CHECK";
/// The longest `out_order_id` accepted (AliExpress gives no limit; this keeps it sane).
pub const MAX_OUT_ORDER_ID: usize = 64;
/// Answers larger than this are refused (AliExpress's answers here are a few kilobytes).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// The currency prices and freight are asked in.
const CURRENCY: &str = "USD";
/// The language asked for in product and freight queries.
const LANGUAGE: &str = "en_US";

/// Where the client reads the time: request timestamps and token expiries.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The delivery address of an order (`logistics_address`, AliExpress's
/// `MaillingAddressRequestDTO`). Optional fields left `None` are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AeAddress {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    pub city: String,
    pub province: String,
    /// ISO alpha-2, upper case.
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_person: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_no: Option<String>,
    /// The calling code, e.g. `+1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_country: Option<String>,
    /// e.g. `en_US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Brazil's taxpayer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpf: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    /// Chile's tax id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rut_no: Option<String>,
}

/// One line of an order (`product_items[]`, AliExpress's `ProductBaseItem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceItem {
    /// AliExpress's product id (digits).
    pub product_id: String,
    pub product_count: u32,
    /// The SKU as `aliexpress.ds.product.get` gives it (`14:350853#Black;5:361386`); empty for a
    /// product with one SKU.
    pub sku_attr: String,
    /// The service code the freight query gave (`CAINIAO_STANDARD`).
    pub logistics_service_name: Option<String>,
    pub order_memo: Option<String>,
}

/// What `aliexpress.ds.order.create` is asked to place, less the `out_order_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    pub address: AeAddress,
    pub items: Vec<PlaceItem>,
    /// `ds_extend_request.payment.pay_currency`, when the account should pay in a given
    /// currency.
    pub pay_currency: Option<String>,
}

#[derive(Clone)]
struct Tokens {
    access: String,
    /// Known only once the client refreshed the token itself.
    access_expiry: Option<OffsetDateTime>,
    refresh: Option<String>,
}

/// An AliExpress dropshipping API client for one authorised account. Cheap to share behind an
/// `Arc`; the token is shared by all calls.
pub struct AliExpressClient {
    http: reqwest::Client,
    base: String,
    app_key: String,
    app_secret: String,
    timeout: Duration,
    clock: Clock,
    currency: Currency,
    tokens: Mutex<Tokens>,
    /// Spacing of calls to honour the account's rate limit, when set.
    pacer: Option<crate::pace::Pacer>,
}

impl fmt::Debug for AliExpressClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliExpressClient")
            .field("base", &self.base)
            .field("app_key", &self.app_key)
            .field("app_secret", &"[redacted]")
            .field("access_token", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl AliExpressClient {
    /// AliExpress's production gateway root (`/sync` and `/rest` are appended).
    pub const PRODUCTION: &'static str = "https://api-sg.aliexpress.com";
    /// How long one call may take, unless [`Self::with_timeout`] says.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A client for the gateway at `base_url` (e.g. [`Self::PRODUCTION`]), signing with the
    /// app's key and secret and calling with the seller's access token. `base_url` must be an
    /// http(s) address without query; key, secret and token must not be blank.
    pub fn new(base_url: &str, app_key: &str, app_secret: &str, access_token: &str) -> Result<Self, AeError> {
        let base = base_url.trim().trim_end_matches('/');
        let parsed = Url::parse(base).map_err(|_| local(format!("base_url: {base:?} is not an address")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || parsed.query().is_some() {
            return Err(local(format!(
                "base_url: {base:?} is not an http(s) address without query"
            )));
        }
        for (name, value) in [
            ("app_key", app_key),
            ("app_secret", app_secret),
            ("access_token", access_token),
        ] {
            if value.trim().is_empty() {
                return Err(local(format!("{name}: empty")));
            }
        }
        // Fails only when a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("dropline/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                // A redirect would carry the signed body elsewhere: never follow.
                .redirect(reqwest::redirect::Policy::none())
        };
        let http = match builder().build() {
            Ok(http) => http,
            Err(error) => {
                tracing::warn!(%error, "no system CA certificates: HTTPS calls to AliExpress will fail");
                builder()
                    .tls_certs_only(std::iter::empty())
                    .build()
                    .map_err(|e| AeError::Transport(format!("cannot build an HTTP client: {e}")))?
            }
        };
        Ok(Self {
            http,
            base: base.to_string(),
            app_key: app_key.trim().to_string(),
            app_secret: app_secret.trim().to_string(),
            timeout: Self::DEFAULT_TIMEOUT,
            clock: Arc::new(OffsetDateTime::now_utc),
            currency: Currency::parse(CURRENCY).map_err(|_| local("USD is not a currency".to_string()))?,
            tokens: Mutex::new(Tokens {
                access: access_token.trim().to_string(),
                access_expiry: None,
                refresh: None,
            }),
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

    /// The same client reading the time from `clock` (request timestamps, token expiries).
    pub fn with_clock(mut self, clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same client able to refresh its access token with this refresh token.
    pub fn with_refresh_token(self, refresh_token: &str) -> Self {
        let refresh = refresh_token.trim();
        self.lock_tokens().refresh = (!refresh.is_empty()).then(|| refresh.to_string());
        self
    }

    /// Places the order and gives AliExpress's order ids (one per seller of the items). The
    /// order is created awaiting payment.
    ///
    /// `out_order_id` is the idempotency key: after [`AeError::Transport`] (or a malformed
    /// answer), send the same call again with the same `out_order_id` within
    /// [`IDEMPOTENCY_WINDOW`] to learn whether it was made; see the module docs. A business
    /// refusal is [`AeError::Rejected`] with its [`RejectKind`].
    pub async fn create_order(&self, out_order_id: &str, order: &PlaceOrder) -> Result<Vec<String>, AeError> {
        self.place_order(out_order_id, order)
            .await
            .map(|placed| placed.order_ids)
    }

    /// [`Self::create_order`], telling also whether AliExpress had already placed it.
    pub async fn place_order(&self, out_order_id: &str, order: &PlaceOrder) -> Result<PlacedOrder, AeError> {
        let out_order_id = out_order_id.trim();
        check_out_order_id(out_order_id)?;
        let dto = order_dto(out_order_id, order)?;
        let mut params = vec![(
            "param_place_order_request4_open_api_d_t_o".to_string(),
            json_text(&dto)?,
        )];
        if let Some(currency) = order.pay_currency.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            params.push((
                "ds_extend_request".to_string(),
                json_text(&json!({"payment": {"pay_currency": currency}}))?,
            ));
        }
        let placed = self.authed(orders::CREATE, &params, orders::read_create).await?;
        if placed.already_placed {
            tracing::info!(
                out_order_id,
                orders = ?placed.order_ids,
                "AliExpress had already placed this out_order_id; its orders are kept"
            );
        }
        Ok(placed)
    }

    /// The order with this AliExpress id, `None` when the answer holds none.
    pub async fn order(&self, ae_order_id: &str) -> Result<Option<AeOrder>, AeError> {
        let id = digits("order_id", ae_order_id)?;
        let query = json_text(&json!({ "order_id": id }))?;
        let params = [("single_order_query".to_string(), query)];
        self.authed(orders::ORDER_GET, &params, |body| orders::read_order(body, ae_order_id))
            .await
    }

    /// The tracking events of a parcel of an order: its tracking number, the service carrying
    /// it (`logistics_service` of the order) and the destination country (ISO alpha-2).
    pub async fn tracking(
        &self,
        ae_order_id: &str,
        logistics_no: &str,
        service_name: &str,
        to_country: &str,
    ) -> Result<Vec<AeTrackingEvent>, AeError> {
        let id = digits("out_ref", ae_order_id)?;
        let params = [
            ("logistics_no".to_string(), required("logistics_no", logistics_no)?),
            // AliExpress's value for an ordinary AliExpress order.
            ("origin".to_string(), "ESCROW".to_string()),
            ("out_ref".to_string(), id.to_string()),
            ("service_name".to_string(), required("service_name", service_name)?),
            ("to_area".to_string(), country("to_area", to_country)?),
        ];
        self.authed(orders::TRACKING, &params, orders::read_tracking).await
    }

    /// A product with its SKUs as sold to `ship_to_country`, prices in USD; `None` when
    /// AliExpress does not know the product.
    pub async fn product(&self, product_id: &str, ship_to_country: &str) -> Result<Option<AeProduct>, AeError> {
        let id = digits("product_id", product_id)?;
        let params = [
            ("product_id".to_string(), id.to_string()),
            (
                "ship_to_country".to_string(),
                country("ship_to_country", ship_to_country)?,
            ),
            ("target_currency".to_string(), CURRENCY.to_string()),
            ("target_language".to_string(), "en".to_string()),
        ];
        let currency = self.currency;
        self.authed(orders::PRODUCT, &params, |body| {
            orders::read_product(body, product_id, currency)
        })
        .await
    }

    /// The shipping options for `quantity` of a SKU to `country`, costs in USD.
    pub async fn freight(
        &self,
        product_id: &str,
        sku_id: &str,
        quantity: u32,
        country_code: &str,
    ) -> Result<Vec<AeFreightOption>, AeError> {
        let product = digits("productId", product_id)?;
        let sku = digits("selectedSkuId", sku_id)?;
        if quantity == 0 {
            return Err(local("quantity: must be at least 1".to_string()));
        }
        // The freight page's own examples send every field as text.
        let request = json!({
            "quantity": quantity.to_string(),
            "shipToCountry": country("shipToCountry", country_code)?,
            "productId": product.to_string(),
            "selectedSkuId": sku.to_string(),
            "language": LANGUAGE,
            "locale": LANGUAGE,
            "currency": CURRENCY,
        });
        let params = [("queryDeliveryReq".to_string(), json_text(&request)?)];
        let currency = self.currency;
        self.authed(orders::FREIGHT, &params, |body| orders::read_freight(body, currency))
            .await
    }

    /// One business call; on a token error, a refresh (when possible) and the call once more.
    /// Whatever the outcome, no secret is left in an error's text.
    async fn authed<T>(
        &self,
        method: &str,
        params: &[(String, String)],
        read: impl Fn(&[u8]) -> Result<T, AeError>,
    ) -> Result<T, AeError> {
        self.authed_unscrubbed(method, params, read)
            .await
            .map_err(|error| self.scrub(error))
    }

    async fn authed_unscrubbed<T>(
        &self,
        method: &str,
        params: &[(String, String)],
        read: impl Fn(&[u8]) -> Result<T, AeError>,
    ) -> Result<T, AeError> {
        let token = self.usable_token().await?;
        let first = self.sync_call(method, params, &token).await;
        match first.and_then(|body| read(&body)) {
            Err(error) if error.needs_new_token() => {
                tracing::info!(
                    call = method,
                    code = error.code(),
                    "AliExpress refused the access token"
                );
                let token = self.renew_after_refusal(&token, error).await?;
                let body = self.sync_call(method, params, &token).await?;
                read(&body)
            }
            other => other,
        }
    }

    /// The access token to call with, refreshed first when its known expiry is near.
    async fn usable_token(&self) -> Result<String, AeError> {
        let tokens = self.lock_tokens().clone();
        let near_end = tokens
            .access_expiry
            .is_some_and(|expiry| expiry - RENEW_BEFORE <= (self.clock)());
        match (&tokens.refresh, near_end) {
            (Some(refresh), true) => self.refresh(refresh).await.map(|grant| self.keep(grant)),
            _ => Ok(tokens.access),
        }
    }

    /// A new token after `refused` was refused: the one another call already got, or a
    /// refreshed one; without a refresh token, the refusal itself.
    async fn renew_after_refusal(&self, refused: &str, error: AeError) -> Result<String, AeError> {
        let tokens = self.lock_tokens().clone();
        if tokens.access != refused {
            return Ok(tokens.access);
        }
        let Some(refresh) = tokens.refresh else {
            return Err(error);
        };
        let grant = self.refresh(&refresh).await?;
        Ok(self.keep(grant))
    }

    async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, AeError> {
        let request = RequestBuilder::new(
            &self.app_key,
            &self.app_secret,
            orders::TOKEN_REFRESH,
            self.timestamp_ms(),
        )
        .param("refresh_token", refresh_token)
        .build()
        .map_err(|e| local(e.to_string()))?;
        let url = format!("{}/rest{}", self.base, orders::TOKEN_REFRESH);
        let body = self.post(&url, orders::TOKEN_REFRESH, request.params()).await?;
        let grant = orders::read_token(&body)?;
        tracing::info!(expires_in = grant.expires_in, "AliExpress access token refreshed");
        Ok(grant)
    }

    fn keep(&self, grant: TokenGrant) -> String {
        let now = (self.clock)();
        let mut tokens = self.lock_tokens();
        tokens.access = grant.access_token.clone();
        tokens.access_expiry = grant
            .expires_in
            .and_then(|seconds| i64::try_from(seconds).ok())
            .map(|seconds| now + time::Duration::seconds(seconds));
        if let Some(refresh) = grant.refresh_token {
            tokens.refresh = Some(refresh);
        }
        grant.access_token
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn timestamp_ms(&self) -> u64 {
        let nanos = (self.clock)().unix_timestamp_nanos();
        u64::try_from(nanos / 1_000_000).unwrap_or(0)
    }

    /// One signed call of a dotted method on `/sync`; the body of a 2xx answer.
    async fn sync_call(&self, method: &str, params: &[(String, String)], token: &str) -> Result<Vec<u8>, AeError> {
        let mut builder =
            RequestBuilder::new(&self.app_key, &self.app_secret, method, self.timestamp_ms()).session(token);
        for (name, value) in params {
            builder = builder.param(name.as_str(), value.as_str());
        }
        let request = builder.build().map_err(|e| local(e.to_string()))?;
        let url = format!("{}/sync", self.base);
        self.post(&url, method, request.params()).await
    }

    /// POSTs the form and gives the body of a 2xx answer; another status is the error it
    /// says, a lost answer [`AeError::Transport`].
    async fn post(&self, url: &str, call: &str, params: &[(String, String)]) -> Result<Vec<u8>, AeError> {
        if let Some(pacer) = &self.pacer {
            pacer.wait_turn().await;
        }
        let started = std::time::Instant::now();
        let mut response = self
            .http
            .post(url)
            .timeout(self.timeout)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded;charset=utf-8"),
            )
            .header(reqwest::header::ACCEPT, HeaderValue::from_static("application/json"))
            .body(form_body(params))
            .send()
            .await
            .map_err(|e| transport(call, &e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(call, &e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(AeError::Malformed(format!(
                    "{call}: answer larger than {MAX_ANSWER_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(
            call,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "AliExpress call"
        );
        if status.is_success() {
            return Ok(bytes);
        }
        let code = format!("HTTP {}", status.as_u16());
        let failure = orders::read_failure(&bytes);
        if status.as_u16() == 429 {
            // The header's wait wins; the throttling text may say it too.
            let said = match &failure {
                Some(AeError::RateLimited { retry_after, .. }) => *retry_after,
                _ => None,
            };
            return Err(AeError::RateLimited {
                code,
                retry_after: retry_after.or(said),
            });
        }
        if status.is_server_error() {
            return Err(AeError::Unavailable {
                code,
                message: format!("{call} answered {status}"),
            });
        }
        // A 4xx with the gateway's error body says more than the status.
        if let Some(error) = failure {
            return Err(error);
        }
        Err(AeError::Rejected {
            code,
            message: format!("{call} answered {status}"),
        })
    }

    /// The error with every secret the client holds cut out of its texts.
    fn scrub(&self, error: AeError) -> AeError {
        let tokens = self.lock_tokens().clone();
        let secrets: Vec<&str> = [
            Some(self.app_secret.as_str()),
            Some(tokens.access.as_str()),
            tokens.refresh.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|s| s.len() >= 4)
        .collect();
        let clean = |text: String| {
            secrets
                .iter()
                .fold(text, |text, secret| text.replace(secret, "[redacted]"))
        };
        match error {
            AeError::TokenInvalid { code, message } => AeError::TokenInvalid {
                code: clean(code),
                message: clean(message),
            },
            AeError::Credentials { code, message } => AeError::Credentials {
                code: clean(code),
                message: clean(message),
            },
            AeError::RateLimited { code, retry_after } => AeError::RateLimited {
                code: clean(code),
                retry_after,
            },
            AeError::Unavailable { code, message } => AeError::Unavailable {
                code: clean(code),
                message: clean(message),
            },
            AeError::Invalid { code, message } => AeError::Invalid {
                code: clean(code),
                message: clean(message),
            },
            AeError::Rejected { code, message } => AeError::Rejected {
                code: clean(code),
                message: clean(message),
            },
            AeError::Malformed(text) => AeError::Malformed(clean(text)),
            AeError::Transport(text) => AeError::Transport(clean(text)),
        }
    }
}

fn local(message: String) -> AeError {
    AeError::Invalid {
        code: LOCAL_CHECK.to_string(),
        message,
    }
}

fn required(field: &str, value: &str) -> Result<String, AeError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(local(format!("{field}: empty")));
    }
    Ok(value.to_string())
}

/// An id of digits, as a number (AliExpress's ids are 64-bit integers).
fn digits(field: &str, value: &str) -> Result<u64, AeError> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(local(format!("{field}: {value:?} is not an AliExpress id")));
    }
    value
        .parse::<u64>()
        .map_err(|_| local(format!("{field}: {value} is too large for an AliExpress id")))
}

fn country(field: &str, value: &str) -> Result<String, AeError> {
    let value = value.trim();
    if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(local(format!("{field}: {value:?} is not an ISO alpha-2 country code")));
    }
    Ok(value.to_string())
}

fn check_out_order_id(out_order_id: &str) -> Result<(), AeError> {
    if out_order_id.is_empty()
        || out_order_id.chars().count() > MAX_OUT_ORDER_ID
        || out_order_id.chars().any(char::is_control)
    {
        return Err(local(format!(
            "out_order_id: {out_order_id:?} must be 1 to {MAX_OUT_ORDER_ID} printable characters"
        )));
    }
    Ok(())
}

/// `param_place_order_request4_open_api_d_t_o`, after the checks AliExpress's page marks as
/// required.
fn order_dto(out_order_id: &str, order: &PlaceOrder) -> Result<serde_json::Value, AeError> {
    let address = &order.address;
    for (field, value) in [
        ("address", &address.address),
        ("city", &address.city),
        ("province", &address.province),
    ] {
        required(&format!("logistics_address.{field}"), value)?;
    }
    country("logistics_address.country", &address.country)?;
    if order.items.is_empty() {
        return Err(local("product_items: empty".to_string()));
    }
    let mut items = Vec::with_capacity(order.items.len());
    for (i, item) in order.items.iter().enumerate() {
        let product_id = digits(&format!("product_items[{i}].product_id"), &item.product_id)?;
        if item.product_count == 0 {
            return Err(local(format!("product_items[{i}].product_count: must be at least 1")));
        }
        let mut line = json!({
            "product_id": product_id,
            "product_count": item.product_count,
            "sku_attr": item.sku_attr.trim(),
        });
        if let Some(service) = item
            .logistics_service_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            line["logistics_service_name"] = json!(service);
        }
        if let Some(memo) = item.order_memo.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            line["order_memo"] = json!(memo);
        }
        items.push(line);
    }
    let logistics_address = serde_json::to_value(address).map_err(|e| local(format!("logistics_address: {e}")))?;
    Ok(json!({
        "out_order_id": out_order_id,
        "logistics_address": logistics_address,
        "product_items": items,
    }))
}

fn json_text(value: &serde_json::Value) -> Result<String, AeError> {
    serde_json::to_string(value).map_err(|e| local(format!("cannot write JSON: {e}")))
}

/// `application/x-www-form-urlencoded`: letters, digits and `*-._` as they are, space as `+`,
/// every other byte of the UTF-8 as `%XX`.
fn form_body(params: &[(String, String)]) -> String {
    fn encode(text: &str, out: &mut String) {
        for byte in text.bytes() {
            match byte {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(char::from(byte)),
                b' ' => out.push('+'),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    out.push('%');
                    out.push(char::from(HEX[usize::from(byte >> 4)]));
                    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
                }
            }
        }
    }
    let mut body = String::new();
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            body.push('&');
        }
        encode(name, &mut body);
        body.push('=');
        encode(value, &mut body);
    }
    body
}

fn transport(call: &str, error: &reqwest::Error) -> AeError {
    // The form body (with the token) is never part of reqwest's texts; the address has no
    // secret either.
    AeError::Transport(crate::http_text::describe_transport_error(call, error))
}

/// Whether an error from [`AliExpressClient::create_order`] leaves the order's existence
/// unknown, so that the same creation must be sent again (same `out_order_id`, within
/// [`IDEMPOTENCY_WINDOW`]) before anything else is decided.
pub fn outcome_unknown(error: &AeError) -> bool {
    matches!(error, AeError::Transport(_) | AeError::Malformed(_))
        || error.reject_kind() == Some(RejectKind::AlreadyPlaced)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn order() -> PlaceOrder {
        PlaceOrder {
            address: AeAddress {
                address: "1 Main St".into(),
                city: "Fresno".into(),
                province: "California".into(),
                country: "US".into(),
                zip: Some("93650".into()),
                contact_person: Some("Ann Lee".into()),
                ..AeAddress::default()
            },
            items: vec![PlaceItem {
                product_id: "1005001".into(),
                product_count: 2,
                sku_attr: "14:350853#Black;5:361386".into(),
                logistics_service_name: Some("CAINIAO_STANDARD".into()),
                order_memo: None,
            }],
            pay_currency: None,
        }
    }

    #[test]
    fn order_dto_has_the_documented_fields_and_numbers() {
        let dto = order_dto("D-1", &order()).unwrap();
        assert_eq!(dto["out_order_id"], "D-1");
        assert_eq!(dto["logistics_address"]["city"], "Fresno");
        assert!(
            dto["logistics_address"].get("cpf").is_none(),
            "unset fields are not sent"
        );
        assert_eq!(dto["product_items"][0]["product_id"], 1_005_001);
        assert_eq!(dto["product_items"][0]["product_count"], 2);
        assert_eq!(dto["product_items"][0]["sku_attr"], "14:350853#Black;5:361386");
        assert!(dto["product_items"][0].get("order_memo").is_none());
    }

    #[test]
    fn order_checks_name_the_field() {
        let mut bad = order();
        bad.address.country = "usa".into();
        let error = order_dto("D-1", &bad).unwrap_err();
        assert!(error.to_string().contains("logistics_address.country"), "{error}");
        let mut bad = order();
        bad.items[0].product_id = "10x".into();
        assert!(
            order_dto("D-1", &bad)
                .unwrap_err()
                .to_string()
                .contains("product_items[0].product_id")
        );
        let mut bad = order();
        bad.items[0].product_count = 0;
        assert!(
            order_dto("D-1", &bad)
                .unwrap_err()
                .to_string()
                .contains("product_count")
        );
        let mut bad = order();
        bad.items.clear();
        assert!(
            order_dto("D-1", &bad)
                .unwrap_err()
                .to_string()
                .contains("product_items")
        );
        assert!(check_out_order_id("").is_err());
        assert!(check_out_order_id(&"x".repeat(65)).is_err());
        assert!(check_out_order_id("a\nb").is_err());
        assert!(check_out_order_id("shop-1/order-1001").is_ok());
    }

    #[test]
    fn form_encoding() {
        let body = form_body(&[("a b".into(), "x&y=z".into()), ("json".into(), r#"{"k":"Zoë"}"#.into())]);
        assert_eq!(body, "a+b=x%26y%3Dz&json=%7B%22k%22%3A%22Zo%C3%AB%22%7D");
    }

    #[test]
    fn new_refuses_bad_configuration_and_hides_secrets() {
        assert!(AliExpressClient::new("not an address", "k", "s", "t").is_err());
        assert!(AliExpressClient::new("ftp://x.example", "k", "s", "t").is_err());
        assert!(AliExpressClient::new("https://x.example?a=1", "k", "s", "t").is_err());
        assert!(AliExpressClient::new(AliExpressClient::PRODUCTION, "k", " ", "t").is_err());
        assert!(AliExpressClient::new(AliExpressClient::PRODUCTION, "k", "s", "").is_err());
        let client = AliExpressClient::new(AliExpressClient::PRODUCTION, "12345", "secret-value", "token-value")
            .unwrap()
            .with_refresh_token("refresh-value");
        let shown = format!("{client:?}");
        assert!(shown.contains("12345"));
        for secret in ["secret-value", "token-value", "refresh-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let scrubbed = client.scrub(AeError::Rejected {
            code: "X".into(),
            message: "echo secret-value token-value refresh-value".into(),
        });
        assert_eq!(
            scrubbed.to_string(),
            "AliExpress refused the request (X): echo [redacted] [redacted] [redacted]"
        );
    }

    #[test]
    fn unknown_outcomes() {
        assert!(outcome_unknown(&AeError::Transport("cut".into())));
        assert!(outcome_unknown(&AeError::rejected("REPEATED_ORDER_ERROR", "")));
        assert!(!outcome_unknown(&AeError::rejected("INVENTORY_HOLD_ERROR", "")));
        assert!(!outcome_unknown(&AeError::Unavailable {
            code: "HTTP 500".into(),
            message: String::new()
        }));
    }
}
