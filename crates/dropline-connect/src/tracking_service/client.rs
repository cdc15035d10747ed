//! 17TRACK's API over HTTP: [`TrackingServiceClient`], the [`TrackingSource`] the engine
//! follows parcels with. Each answer is read by the pure readers of [`super::wire`].
//!
//! # Secrets
//!
//! The security key travels only in the `17token` header, marked sensitive; no error text or
//! log line carries it, and the configuration and client print it as `[redacted]`.

use super::wire::{self, Push, ReadParcel, Registration, TrackAnswer};
use async_trait::async_trait;
use dropline_app::tracking::{ParcelTracking, TrackingSource, TrackingSourceError};
use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;
use time::OffsetDateTime;

/// The longest `Retry-After` believed.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// The wait given for a 429 without a readable `Retry-After`: a little more than one slot of
/// 17TRACK's 3 requests a second.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Answers and pushes larger than this are refused (one parcel's answer is a few kilobytes).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The longest tracking number sent (17TRACK takes 5 to 50 characters).
const MAX_NUMBER_CHARS: usize = 50;

/// Where and how to reach 17TRACK. `Debug` never prints the key.
#[derive(Clone)]
pub struct TrackingServiceConfig {
    /// The API's base address, the version included: [`Self::PRODUCTION_BASE`], or a
    /// simulator's.
    pub api_base: String,
    /// The account's security key: sent as `17token`, and the key push signatures are made
    /// with.
    pub api_key: String,
    /// How long one call may take.
    pub timeout: Duration,
    /// At most this many calls a second (17TRACK allows 3 per key); `None`: no spacing.
    pub requests_per_second: Option<u32>,
}

impl fmt::Debug for TrackingServiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackingServiceConfig")
            .field("api_base", &self.api_base)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("requests_per_second", &self.requests_per_second)
            .finish()
    }
}

impl TrackingServiceConfig {
    /// 17TRACK's production address for API v2.2.
    pub const PRODUCTION_BASE: &'static str = "https://api.17track.net/track/v2.2";
    /// How long one call may take, unless said.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// 17TRACK's documented limit per key.
    pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 3;

    /// Production, with this key, the default time-out and 3 calls a second.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_base: Self::PRODUCTION_BASE.to_string(),
            api_key: api_key.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            requests_per_second: Some(Self::DEFAULT_REQUESTS_PER_SECOND),
        }
    }

    /// The same configuration for another address (a simulator's).
    pub fn with_api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = api_base.into();
        self
    }

    /// The same configuration with another time-out per call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same configuration with another spacing of calls (`None`: none).
    pub fn with_requests_per_second(mut self, per_second: Option<u32>) -> Self {
        self.requests_per_second = per_second;
        self
    }
}

/// A 17TRACK client for one account. Cheap to share behind an `Arc`.
pub struct TrackingServiceClient {
    http: reqwest::Client,
    base: String,
    api_key: String,
    timeout: Duration,
    pacer: Option<crate::pace::Pacer>,
}

impl fmt::Debug for TrackingServiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackingServiceClient")
            .field("base", &self.base)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl TrackingServiceClient {
    /// A client for `config`. Refused ([`TrackingSourceError::Misconfigured`]) when the base
    /// is not an http(s) address without query, or the key is blank or not a header value.
    pub fn new(config: TrackingServiceConfig) -> Result<Self, TrackingSourceError> {
        let misconfigured = |what: String| TrackingSourceError::Misconfigured(what);
        let base = config.api_base.trim().trim_end_matches('/');
        let parsed = Url::parse(base).map_err(|_| misconfigured(format!("api_base: {base:?} is not an address")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || parsed.query().is_some() {
            return Err(misconfigured(format!(
                "api_base: {base:?} is not an http(s) address without query"
            )));
        }
        let api_key = config.api_key.trim();
        if api_key.is_empty() {
            return Err(misconfigured("api_key: empty".to_string()));
        }
        if HeaderValue::from_str(api_key).is_err() {
            return Err(misconfigured(
                "api_key: holds characters not allowed in a header".to_string(),
            ));
        }
        if config.timeout.is_zero() {
            return Err(misconfigured("timeout: zero".to_string()));
        }
        crate::install_crypto_provider();
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("dropline/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10).min(config.timeout))
                // A redirect would carry the key to another host: never follow.
                .redirect(reqwest::redirect::Policy::none())
        };
        let http = match builder().build() {
            Ok(http) => http,
            Err(error) => {
                tracing::warn!(%error, "no system CA certificates: HTTPS calls to 17TRACK will fail");
                builder()
                    .tls_certs_only(std::iter::empty())
                    .build()
                    .map_err(|e| misconfigured(format!("cannot build an HTTP client: {e}")))?
            }
        };
        Ok(Self {
            http,
            base: base.to_string(),
            api_key: api_key.to_string(),
            timeout: config.timeout,
            pacer: config.requests_per_second.map(crate::pace::Pacer::new),
        })
    }

    /// Registers the number (`POST /register`); see [`TrackingSource::register`].
    pub async fn register_number(
        &self,
        number: &str,
        carrier: Option<&str>,
    ) -> Result<Registration, TrackingSourceError> {
        let number = checked_number(number)?;
        let body = request_body(number, carrier);
        let answer = self.send("/register", &body).await?;
        wire::parse_register(&answer, number)
    }

    /// What `gettrackinfo` says of the number, read but not yet judged.
    pub async fn track_info(&self, number: &str, carrier: Option<&str>) -> Result<TrackAnswer, TrackingSourceError> {
        let number = checked_number(number)?;
        let body = request_body(number, carrier);
        let answer = self.send("/gettrackinfo", &body).await?;
        wire::parse_track_info(&answer, number)
    }

    /// POSTs one call and gives the body of a 2xx answer; any other answer is the error for
    /// its status (and 17TRACK's code, when the body carries one).
    async fn send(&self, path: &str, body: &Value) -> Result<Vec<u8>, TrackingSourceError> {
        if let Some(pacer) = &self.pacer {
            pacer.wait_turn().await;
        }
        let call = format!("POST {path}");
        let url = Url::parse(&format!("{}{path}", self.base))
            .map_err(|_| TrackingSourceError::Misconfigured(format!("api_base: cannot build an address for {path}")))?;
        let mut key = HeaderValue::from_str(&self.api_key)
            .map_err(|_| TrackingSourceError::Misconfigured("api_key: not allowed in a header".to_string()))?;
        key.set_sensitive(true);
        let started = std::time::Instant::now();
        let mut response = self
            .http
            .post(url)
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json")
            .header("17token", key)
            .json(body)
            .send()
            .await
            .map_err(|e| transport(&call, &e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, OffsetDateTime::now_utc()));
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(&call, &e))? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(TrackingSourceError::Malformed(format!(
                    "{call}: answer larger than {MAX_BODY_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(call = %call, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "17TRACK call");
        if status.is_success() {
            return Ok(bytes);
        }
        let coded = wire::error_envelope(&bytes);
        let detail = match &coded {
            Some((code, message)) if message.is_empty() => format!("HTTP {status} to {call} (code {code})"),
            Some((code, message)) => format!("HTTP {status} to {call} (code {code}: {message})"),
            None => format!("HTTP {status} to {call}"),
        };
        match status {
            StatusCode::TOO_MANY_REQUESTS => Err(TrackingSourceError::RateLimited {
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            }),
            // Wrong key, IP not whitelisted, account disabled; or a wrong base address.
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                Err(TrackingSourceError::Misconfigured(detail))
            }
            _ if status.is_server_error() => Err(TrackingSourceError::Retryable(detail)),
            _ => match coded {
                Some((code, message)) => Err(wire::error_for_code(code, &message)),
                None => Err(TrackingSourceError::Refused(detail)),
            },
        }
    }

    /// Logs what the reader left out of a parcel.
    fn note_dropped(read: &ReadParcel) {
        if read.unreadable_times > 0 || read.unclassified > 0 {
            tracing::warn!(
                tracking_number = %read.parcel.tracking_number,
                unreadable_times = read.unreadable_times,
                unclassified = read.unclassified,
                "17TRACK events dropped (time unreadable) or kept as in_transit (status unknown)"
            );
        }
    }
}

#[async_trait]
impl TrackingSource for TrackingServiceClient {
    /// `POST /register`. Accepted, or already registered (-18019901), is success; another
    /// refusal is the error for its code (see the module table).
    async fn register(&self, tracking_number: &str, carrier_code: Option<&str>) -> Result<(), TrackingSourceError> {
        match self.register_number(tracking_number, carrier_code).await? {
            Registration::Accepted { .. } | Registration::AlreadyRegistered => Ok(()),
            Registration::Rejected { code, message } => Err(wire::error_for_code(code, &message)),
        }
    }

    /// `POST /gettrackinfo`. A number 17TRACK does not hold (-18019902: never registered,
    /// or deleted) is registered again and [`TrackingSourceError::NotYet`] is returned; a
    /// number with nothing found yet is `NotYet` too, except one 17TRACK calls invalid
    /// (`NotFound_InvalidCode`), which is [`TrackingSourceError::Refused`].
    async fn fetch(
        &self,
        tracking_number: &str,
        carrier_code: Option<&str>,
    ) -> Result<ParcelTracking, TrackingSourceError> {
        match self.track_info(tracking_number, carrier_code).await? {
            TrackAnswer::Rejected {
                code: wire::NOT_REGISTERED,
                ..
            } => {
                tracing::info!(
                    tracking_number,
                    "17TRACK does not hold the number; registering it again"
                );
                self.register(tracking_number, carrier_code).await?;
                Err(TrackingSourceError::NotYet(
                    "17TRACK did not hold the number; it is registered now".to_string(),
                ))
            }
            TrackAnswer::Rejected { code, message } => Err(wire::error_for_code(code, &message)),
            TrackAnswer::Tracked(read) => {
                Self::note_dropped(&read);
                if read.invalid_number() && read.parcel.events.is_empty() {
                    return Err(TrackingSourceError::Refused(
                        "17TRACK calls the tracking number invalid (NotFound_InvalidCode)".to_string(),
                    ));
                }
                if read.nothing_yet() {
                    return Err(TrackingSourceError::NotYet(
                        "17TRACK has found no tracking information yet".to_string(),
                    ));
                }
                let mut parcel = read.parcel;
                // The number as the engine knows it.
                parcel.tracking_number = tracking_number.trim().to_string();
                Ok(parcel)
            }
        }
    }

    /// Checks the `sign` header (hex SHA-256 of the raw body, `/`, the key) in constant time,
    /// then reads the body: `TRACKING_UPDATED` gives its parcel; `TRACKING_STOPPED` and any
    /// other event give nothing.
    fn read_push(&self, headers: &[(String, String)], body: &[u8]) -> Result<Vec<ParcelTracking>, TrackingSourceError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(TrackingSourceError::Malformed(format!(
                "push larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        wire::verify_sign(headers, body, &self.api_key)?;
        match wire::parse_push(body)? {
            Push::Updated(parcels) => Ok(parcels
                .into_iter()
                .map(|read| {
                    Self::note_dropped(&read);
                    read.parcel
                })
                .collect()),
            Push::Stopped(numbers) => {
                tracing::info!(count = numbers.len(), "17TRACK stopped following numbers");
                Ok(Vec::new())
            }
            Push::Other(event) => {
                tracing::debug!(event = %event, "17TRACK push of another kind ignored");
                Ok(Vec::new())
            }
        }
    }
}

/// The number trimmed, refused when blank or longer than 17TRACK takes (nothing is sent).
fn checked_number(number: &str) -> Result<&str, TrackingSourceError> {
    let number = number.trim();
    if number.is_empty() {
        return Err(TrackingSourceError::Refused("tracking number: empty".to_string()));
    }
    if number.chars().count() > MAX_NUMBER_CHARS {
        return Err(TrackingSourceError::Refused(format!(
            "tracking number: longer than {MAX_NUMBER_CHARS} characters"
        )));
    }
    Ok(number)
}

/// `[{"number": …, "carrier": …}]`: the carrier only when it is 17TRACK's numeric code;
/// another carrier name is left out and 17TRACK detects the carrier itself.
fn request_body(number: &str, carrier: Option<&str>) -> Value {
    let mut item = json!({ "number": number });
    if let Some(code) = carrier.map(str::trim).filter(|c| !c.is_empty()) {
        match code.parse::<u32>() {
            Ok(code) if code > 0 => item["carrier"] = json!(code),
            _ => tracing::debug!(
                carrier = code,
                "not a 17TRACK carrier code; 17TRACK detects the carrier"
            ),
        }
    }
    Value::Array(vec![item])
}

/// `Retry-After` as a wait: whole seconds or an HTTP date (read against `now`); at most
/// [`MAX_RETRY_AFTER`]; `None` when unreadable.
fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    crate::http_text::parse_retry_after(value, now, MAX_RETRY_AFTER)
}

fn transport(call: &str, error: &reqwest::Error) -> TrackingSourceError {
    TrackingSourceError::Retryable(crate::http_text::describe_transport_error(call, error))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn configuration_is_checked_and_the_key_never_printed() {
        let config = TrackingServiceConfig::new("s3cr3t-key");
        assert!(!format!("{config:?}").contains("s3cr3t"));
        let client = TrackingServiceClient::new(config.clone()).unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t"));
        for bad in [
            config.clone().with_api_base("not an address"),
            config.clone().with_api_base("ftp://api.example/track/v2.2"),
            config.clone().with_api_base("https://api.example/track/v2.2?x=1"),
            TrackingServiceConfig::new("  "),
            TrackingServiceConfig::new("bad\nkey"),
            config.clone().with_timeout(Duration::ZERO),
        ] {
            assert!(matches!(
                TrackingServiceClient::new(bad),
                Err(TrackingSourceError::Misconfigured(_))
            ));
        }
    }

    #[test]
    fn the_carrier_is_sent_only_as_a_17track_code() {
        assert_eq!(
            request_body("RR1", Some(" 3011 ")),
            json!([{"number": "RR1", "carrier": 3011}])
        );
        assert_eq!(request_body("RR1", Some("ups")), json!([{"number": "RR1"}]));
        assert_eq!(request_body("RR1", Some("0")), json!([{"number": "RR1"}]));
        assert_eq!(request_body("RR1", None), json!([{"number": "RR1"}]));
    }

    #[test]
    fn numbers_are_checked_before_sending() {
        assert_eq!(checked_number("  AB12 "), Ok("AB12"));
        assert!(matches!(checked_number(" "), Err(TrackingSourceError::Refused(_))));
        assert!(matches!(
            checked_number(&"9".repeat(51)),
            Err(TrackingSourceError::Refused(_))
        ));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = time::macros::datetime!(2025-03-01 12:00:00 UTC);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sat, 01 Mar 2025 12:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("99999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn a_push_is_refused_before_it_is_read() {
        let client = TrackingServiceClient::new(TrackingServiceConfig::new("k-1")).unwrap();
        let body = br#"{"event":"TRACKING_UPDATED","data":{"number":"A1"}}"#;
        let good = vec![("sign".to_string(), wire::sign(body, "k-1"))];
        assert_eq!(client.read_push(&good, body).unwrap().len(), 1);
        // A body that would not parse is refused for its signature first.
        let garbage = b"{{{";
        assert!(matches!(
            client.read_push(&good, garbage),
            Err(TrackingSourceError::Refused(_))
        ));
        let stopped = br#"{"event":"TRACKING_STOPPED","data":{"number":"A1"}}"#;
        let signed = vec![("sign".to_string(), wire::sign(stopped, "k-1"))];
        assert_eq!(client.read_push(&signed, stopped), Ok(Vec::new()));
    }
}
