//! What the three platform clients share: addresses built from a store connection, one call
//! sent with the platform's credentials, and the answer sorted into a [`StorefrontError`].
//!
//! Credentials travel only in headers marked sensitive; error texts carry the platform's own
//! words (with any of the connection's secrets blanked out) and never a header or a body we
//! sent.

use base64::Engine as _;
use dropline_app::storefront::StorefrontError;
use dropline_domain::catalog::StoreConnection;
use dropline_domain::money::{Currency, Money};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// How much of a platform's error text is kept.
const ERROR_TEXT_CHARS: usize = 300;
/// Answers larger than this are not read (a catalogue page is a few hundred kilobytes).
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// A connection field, `None` when absent or blank.
pub(crate) fn field(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A connection field the platform cannot do without.
pub(crate) fn required<'a>(
    value: &'a Option<String>,
    platform: &str,
    name: &str,
    meaning: &str,
) -> Result<&'a str, StorefrontError> {
    field(value).ok_or_else(|| StorefrontError::NotConfigured(format!("{platform} needs {name} ({meaning})")))
}

/// The base address of a platform's API: `api_base` when set, else `https://{domain}` (or
/// `fixed_host` for platforms reached at one address whatever the shop).
pub(crate) fn base_url(
    connection: &StoreConnection,
    platform: &str,
    fixed_host: Option<&str>,
) -> Result<String, StorefrontError> {
    if let Some(api_base) = field(&connection.api_base) {
        let url = Url::parse(api_base)
            .map_err(|_| StorefrontError::NotConfigured(format!("api_base: {api_base:?} is not an address")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(StorefrontError::NotConfigured(format!(
                "api_base: {api_base:?} is not an http(s) address"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(StorefrontError::NotConfigured(format!(
                "api_base: {api_base:?} must not carry a query or fragment"
            )));
        }
        return Ok(api_base.trim_end_matches('/').to_string());
    }
    if let Some(host) = fixed_host {
        return Ok(format!("https://{host}"));
    }
    let domain = field(&connection.domain).ok_or_else(|| {
        StorefrontError::NotConfigured(format!("{platform} needs domain (the shop's host name) or api_base"))
    })?;
    let host = domain.strip_prefix("https://").unwrap_or(domain).trim_end_matches('/');
    let bad_host = host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if bad_host {
        return Err(StorefrontError::NotConfigured(format!(
            "domain: {domain:?} is not a host name such as shop.example"
        )));
    }
    Ok(format!("https://{host}"))
}

/// Percent-encodes one path segment (an order id from outside must not change the path).
pub(crate) fn segment(value: &str) -> Result<String, StorefrontError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(StorefrontError::Refused("the order id is empty".to_string()));
    }
    // `.` and `..` alone would be read as dot segments: their dots are encoded too.
    let dots_only = value == "." || value == "..";
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let unreserved =
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~') || (byte == b'.' && !dots_only);
        if unreserved {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

/// A value of a header to send; invalid characters are a configuration error naming the field.
pub(crate) fn secret_header(value: &str, field_name: &str) -> Result<HeaderValue, StorefrontError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        StorefrontError::NotConfigured(format!(
            "{field_name}: contains characters not allowed in an HTTP header"
        ))
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// An HTTP Basic `Authorization` value.
pub(crate) fn basic_auth(user: &str, password: &str) -> Result<HeaderValue, StorefrontError> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    secret_header(&format!("Basic {encoded}"), "api_key/api_secret")
}

/// One store's API on one platform: where it is and how to sign the calls.
pub(crate) struct Api<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) timeout: Duration,
    /// The platform's name, for messages.
    pub(crate) platform: &'static str,
    /// Without a trailing slash.
    pub(crate) base: String,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// Values blanked out of any text that leaves this module.
    pub(crate) secrets: Vec<String>,
}

/// A successful (2xx) answer, read whole.
pub(crate) struct Answer {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// `METHOD /path`, for messages.
    pub(crate) call: String,
    pub(crate) platform: &'static str,
}

impl Answer {
    /// The first value of a header, when it is text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON of the expected shape.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, StorefrontError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            StorefrontError::BadResponse(format!(
                "{} answered {} with JSON dropline cannot read: {error}",
                self.platform, self.call
            ))
        })
    }
}

impl Api<'_> {
    /// The address of `path` (starting with `/`) with a query.
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, StorefrontError> {
        let mut url = Url::parse(&format!("{}{path}", self.base))
            .map_err(|_| StorefrontError::NotConfigured(format!("api_base: cannot build an address for {path}")))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        Ok(url)
    }

    pub(crate) async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Answer, StorefrontError> {
        self.send(Method::GET, path, query, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Answer, StorefrontError> {
        self.send(Method::POST, path, &[], Some(body.to_string())).await
    }

    pub(crate) async fn put(&self, path: &str, body: &serde_json::Value) -> Result<Answer, StorefrontError> {
        self.send(Method::PUT, path, &[], Some(body.to_string())).await
    }

    /// Sends one call and sorts the answer: 2xx is returned read whole, anything else is the
    /// matching [`StorefrontError`]. `body` is JSON text.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, StorefrontError> {
        let url = self.url(path, query)?;
        let call = format!("{method} {path}");
        let mut request = self
            .http
            .request(method, url)
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.clone());
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let started = std::time::Instant::now();
        let mut response = request.send().await.map_err(|e| self.transport_error(&call, e))?;
        let status = response.status();
        tracing::debug!(
            platform = self.platform,
            call = %call,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "storefront call"
        );
        let headers = response.headers().clone();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport_error(&call, e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                if !status.is_success() {
                    // An error is sorted by its status; the start of its body is enough.
                    break;
                }
                return Err(StorefrontError::BadResponse(format!(
                    "{} answered {call} with more than {MAX_ANSWER_BYTES} bytes",
                    self.platform
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(Answer {
                headers,
                body: bytes,
                call,
                platform: self.platform,
            });
        }
        Err(self.status_error(status, &headers, &bytes, &call))
    }

    fn status_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8], call: &str) -> StorefrontError {
        let platform = self.platform;
        let code = status.as_u16();
        let said = || {
            // Blanked out before cutting: a cut must not leave part of a secret behind.
            let text = truncate(&self.redact(&error_text(body)), ERROR_TEXT_CHARS);
            if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            }
        };
        match code {
            429 => StorefrontError::RateLimited {
                retry_after: headers
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after),
            },
            401 | 403 => StorefrontError::Unauthorized(format!("{platform} answered HTTP {code} to {call}{}", said())),
            300..=399 => StorefrontError::BadResponse(format!(
                "{platform} answered HTTP {code} (a redirect) to {call}; check the store's domain or api_base"
            )),
            400..=499 => StorefrontError::Refused(format!("{platform} answered HTTP {code} to {call}{}", said())),
            500..=599 => StorefrontError::Unavailable(format!("{platform} answered HTTP {code} to {call}{}", said())),
            _ => StorefrontError::BadResponse(format!("{platform} answered HTTP {code} to {call}")),
        }
    }

    fn transport_error(&self, call: &str, error: reqwest::Error) -> StorefrontError {
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else if error.is_builder() {
            return StorefrontError::NotConfigured(format!("{} {call}: {}", self.platform, error.without_url()));
        } else {
            "failed"
        };
        let mut causes = String::new();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            causes.push_str(": ");
            causes.push_str(&cause.to_string());
            source = cause.source();
        }
        let chain = format!("{}{causes}", error.without_url());
        StorefrontError::Unavailable(self.redact(&format!("{} {call} {what}: {chain}", self.platform)))
    }

    /// Blanks the connection's secrets out of a text.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            if secret.len() >= 4 && text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "<hidden>");
            }
        }
        text
    }
}

/// The platform's own words from an error body: Shopify's `errors` (a text, a list, or
/// lists by field), WooCommerce's `message`, Wix's `message`; else the body as text.
pub(crate) fn error_text(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => json_error_text(&json).unwrap_or_else(|| json.to_string()),
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    }
}

fn json_error_text(json: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    fn flatten(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join(", "),
            Value::Object(map) => map
                .iter()
                .map(|(key, value)| format!("{key}: {}", flatten(value)))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }
    if let Some(errors) = json.get("errors").filter(|v| !v.is_null()) {
        return Some(flatten(errors));
    }
    if let Some(message) = json.get("message").and_then(Value::as_str) {
        return Some(match json.get("code").and_then(Value::as_str) {
            Some(code) if !code.is_empty() => format!("{message} ({code})"),
            _ => message.to_string(),
        });
    }
    match json.get("error") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(object @ Value::Object(_)) => json_error_text(object).or_else(|| Some(flatten(object))),
        _ => None,
    }
}

/// At most `max` characters, with `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `Retry-After` in seconds, whole (`2`) or decimal (`2.0`, Shopify's form). An HTTP date or
/// anything else is ignored (the caller falls back to its own backoff).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if value.ends_with('.') {
        return None;
    }
    let seconds: u64 = whole.parse().ok()?;
    let mut nanos: u32 = 0;
    for i in 0..9 {
        let digit = fraction.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
        nanos = nanos * 10 + digit;
    }
    Some(Duration::new(seconds, nanos))
}

/// Whether a refusal says the order was already cancelled (the platforms word it in their
/// own ways; cancelling twice is not an error for dropline).
pub(crate) fn says_already_cancelled(error: &StorefrontError) -> bool {
    match error {
        StorefrontError::Refused(text) => {
            let text = text.to_ascii_lowercase();
            text.contains("already") && text.contains("cancel")
        }
        _ => false,
    }
}

/// The mark a refund dropline made carries on the platform (in its note, reason or meta):
/// how a retried push finds it.
pub(crate) fn refund_mark(key: &str) -> String {
    format!("dropline refund {key}")
}

/// The refund's text on the platform: the reason, then the mark, in at most `max` characters
/// (the reason is cut, never the mark).
pub(crate) fn marked_reason(reason: &str, key: &str, max: usize) -> String {
    let mark = format!("({})", refund_mark(key));
    let room = max.saturating_sub(mark.chars().count() + 1);
    let reason = reason.trim();
    if reason.is_empty() || room < 2 {
        return mark;
    }
    format!("{} {mark}", truncate(reason, room - 1))
}

/// Splits `amount` over what is left of each payment, taking the first ones first; `None`
/// when together they hold less than `amount`. Every share is positive.
pub(crate) fn split_over<T: Clone>(payments: &[(T, Money)], amount: Money) -> Option<Vec<(T, Money)>> {
    let mut left = amount.minor;
    let mut shares = Vec::new();
    for (payment, available) in payments {
        if left <= 0 {
            break;
        }
        let take = left.min(available.minor);
        if take > 0 {
            shares.push((payment.clone(), Money::new(take, amount.currency)));
            left -= take;
        }
    }
    (left <= 0 && !shares.is_empty()).then_some(shares)
}

/// A price as the platform wrote it (a decimal string, or a JSON number kept as its text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DecimalText(pub(crate) String);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Text(text) => Self(text),
            // The number's own text: no arithmetic on a float ever touches the amount.
            Raw::Number(number) => Self(number.to_string()),
        })
    }
}

/// A platform id, a JSON number (Shopify, WooCommerce) or a string (Wix), kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct IdText(pub(crate) String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Unsigned(u64),
            Signed(i64),
        }
        Ok(Self(match Raw::deserialize(deserializer)? {
            Raw::Text(text) => text,
            Raw::Unsigned(n) => n.to_string(),
            Raw::Signed(n) => n.to_string(),
        }))
    }
}

impl std::fmt::Display for IdText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A price in the store's currency; `what` names the product or variant in the error.
pub(crate) fn price(text: &str, currency: Currency, what: &str) -> Result<Money, StorefrontError> {
    let bad = || {
        StorefrontError::BadResponse(format!(
            "{what}: price {text:?} is not an amount in {}",
            currency.code()
        ))
    };
    let plain = plain_decimal(text).ok_or_else(bad)?;
    Money::parse_decimal(&plain, currency).map_err(|_| bad())
}

/// A decimal written plainly: the exponent of `1.25e1` applied, leading zeros of the whole
/// part and trailing zeros of the fraction dropped (`12.500` → `12.5`, `1200.0` → `1200`), so
/// that an amount with more written decimals than its currency has is still read exactly.
/// Digits are moved, never computed.
pub(crate) fn plain_decimal(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    if !(-40..=40).contains(&exponent) {
        return None;
    }
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits: String = format!("{whole}{fraction}");
    // Where the decimal point falls in `digits`.
    let point = whole.len() as i64 + i64::from(exponent);
    let (mut int_part, mut frac_part) = if point <= 0 {
        (String::new(), format!("{}{digits}", "0".repeat((-point) as usize)))
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let trimmed_int = int_part.trim_start_matches('0');
    int_part = if trimmed_int.is_empty() {
        "0".to_string()
    } else {
        trimmed_int.to_string()
    };
    frac_part.truncate(frac_part.trim_end_matches('0').len());
    let sign = if negative && (int_part != "0" || !frac_part.is_empty()) {
        "-"
    } else {
        ""
    };
    Some(if frac_part.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimal_moves_digits_without_arithmetic() {
        let check = |input: &str, expected: Option<&str>| {
            assert_eq!(plain_decimal(input).as_deref(), expected, "input {input:?}");
        };
        check("12.50", Some("12.5"));
        check("12.5", Some("12.5"));
        check("199.00", Some("199"));
        check("1200.0", Some("1200"));
        check("0.1", Some("0.1"));
        check("007.10", Some("7.1"));
        check("1.25e1", Some("12.5"));
        check("1e2", Some("100"));
        check("5E-3", Some("0.005"));
        check("1.5e-7", Some("0.00000015"));
        check("-3.20", Some("-3.2"));
        check("-0.00", Some("0"));
        check(".5", Some("0.5"));
        check("", None);
        check(".", None);
        check("12,50", None);
        check("abc", None);
        check("1e", None);
        check("1e400", None);
        check("NaN", None);
    }

    #[test]
    fn prices_are_exact_in_the_currency() {
        let usd = Currency::parse("USD").expect("usd");
        let jpy = Currency::parse("JPY").expect("jpy");
        assert_eq!(price("12.5", usd, "x").expect("price").minor, 1250);
        assert!(price("0.30000000000000004", usd, "x").is_err());
        assert_eq!(price("1200.0", jpy, "x").expect("price").minor, 1200);
        assert!(
            matches!(price("12.345", usd, "variant 7"), Err(StorefrontError::BadResponse(m)) if m.contains("variant 7"))
        );
    }

    #[test]
    fn retry_after_accepts_whole_and_decimal_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 2.0 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_retry_after("1.0000000019"), Some(Duration::new(1, 1)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("2."), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn error_text_takes_the_platforms_words() {
        assert_eq!(
            error_text(br#"{"errors":"Cannot cancel an order that has already been cancelled"}"#),
            "Cannot cancel an order that has already been cancelled"
        );
        assert_eq!(
            error_text(br#"{"errors":{"base":["Line item quantity is invalid","Other"]}}"#),
            "base: Line item quantity is invalid, Other"
        );
        assert_eq!(
            error_text(
                br#"{"code":"woocommerce_rest_shop_order_invalid_id","message":"Invalid ID.","data":{"status":404}}"#
            ),
            "Invalid ID. (woocommerce_rest_shop_order_invalid_id)"
        );
        assert_eq!(
            error_text(br#"{"message":"Order not found","details":{}}"#),
            "Order not found"
        );
        assert_eq!(error_text(b"  plain failure \n"), "plain failure");
        let cut = truncate(&"é".repeat(1000), ERROR_TEXT_CHARS);
        assert_eq!(cut.chars().count(), ERROR_TEXT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", ERROR_TEXT_CHARS), "short");
    }

    #[test]
    fn segments_cannot_change_the_path() {
        assert_eq!(segment("450789469").expect("id"), "450789469");
        assert_eq!(segment("a1b2-c3").expect("id"), "a1b2-c3");
        assert_eq!(segment("../admin").expect("id"), "..%2Fadmin");
        assert_eq!(segment("..").expect("id"), "%2E%2E");
        assert_eq!(segment("1?x=2").expect("id"), "1%3Fx%3D2");
        assert!(segment("  ").is_err());
    }

    #[test]
    fn a_refund_is_split_over_the_payments_in_order() {
        let usd = Currency::parse("USD").expect("usd");
        let m = |minor| Money::new(minor, usd);
        let payments = vec![("a", m(1_000)), ("b", m(0)), ("c", m(2_500))];
        assert_eq!(split_over(&payments, m(800)), Some(vec![("a", m(800))]));
        assert_eq!(
            split_over(&payments, m(1_200)),
            Some(vec![("a", m(1_000)), ("c", m(200))])
        );
        assert_eq!(
            split_over(&payments, m(3_500)),
            Some(vec![("a", m(1_000)), ("c", m(2_500))])
        );
        assert_eq!(split_over(&payments, m(3_501)), None);
        assert_eq!(split_over::<&str>(&[], m(1)), None);
    }

    #[test]
    fn the_mark_survives_a_reason_cut_to_the_limit() {
        let key = "0190a4b2-7c1d-7e00-8000-000000000001";
        assert_eq!(
            marked_reason("arrived late", key, 200),
            format!("arrived late (dropline refund {key})")
        );
        let long = marked_reason(&"x".repeat(500), key, 200);
        assert_eq!(long.chars().count(), 200, "{long}");
        assert!(long.ends_with(&format!("(dropline refund {key})")), "{long}");
        assert_eq!(marked_reason("  ", key, 200), format!("(dropline refund {key})"));
    }

    /// A `NotConfigured` error naming `field`.
    fn names(result: Result<String, StorefrontError>, field: &str) -> bool {
        matches!(result, Err(StorefrontError::NotConfigured(message)) if message.contains(field))
    }

    #[test]
    fn base_url_prefers_api_base_and_checks_the_domain() {
        let mut connection = StoreConnection::default();
        assert!(names(base_url(&connection, "Shopify", None), "domain"));
        assert_eq!(
            base_url(&connection, "Wix", Some("www.wixapis.com")).expect("wix"),
            "https://www.wixapis.com"
        );
        connection.domain = Some("shop.example/".to_string());
        assert_eq!(
            base_url(&connection, "Shopify", None).expect("domain"),
            "https://shop.example"
        );
        connection.domain = Some("https://x.myshopify.com".to_string());
        assert_eq!(
            base_url(&connection, "Shopify", None).expect("domain"),
            "https://x.myshopify.com"
        );
        connection.domain = Some("evil.example/path?x".to_string());
        assert!(names(base_url(&connection, "Shopify", None), "domain"));
        connection.api_base = Some("http://127.0.0.1:4000/".to_string());
        assert_eq!(
            base_url(&connection, "Shopify", None).expect("base"),
            "http://127.0.0.1:4000"
        );
        connection.api_base = Some("ftp://files".to_string());
        assert!(names(base_url(&connection, "Shopify", None), "api_base"));
    }
}
