//! The port of tracking sources other than the suppliers: [`TrackingSource`], a parcel
//! tracking service (an aggregator that follows thousands of carriers) reached over HTTP.
//! Events come back normalized to the shipment states; push updates (webhooks) are read by
//! the same port.

use async_trait::async_trait;
use dropline_domain::order::ShipmentEvent;
use std::time::Duration;
use time::OffsetDateTime;

/// Why a tracking source did not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrackingSourceError {
    /// The source does not know the number yet (just registered): ask again later.
    #[error("not tracked yet: {0}")]
    NotYet(String),
    /// Unreachable, time-out or 5xx: retry later.
    #[error("tracking source unavailable: {0}")]
    Retryable(String),
    /// Too many calls: wait this long.
    #[error("rate limited, retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// The answer could not be read (recorded as an exception; never crashes a job).
    #[error("unreadable answer: {0}")]
    Malformed(String),
    /// The source names a carrier it cannot follow, or refused the number.
    #[error("refused: {0}")]
    Refused(String),
    /// The key is missing or refused.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
}

/// What a source knows about one parcel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParcelTracking {
    pub tracking_number: String,
    /// The carrier as the source names it (its own code or name).
    pub carrier: Option<String>,
    /// Events, normalized; in any order, possibly repeated (the engine merges them).
    pub events: Vec<ShipmentEvent>,
    /// The delivery date the carrier expects, when it says.
    pub estimated_delivery: Option<OffsetDateTime>,
}

/// A tracking service.
#[async_trait]
pub trait TrackingSource: Send + Sync + 'static {
    /// Starts following a number (the source pushes or answers `fetch` from then on).
    /// Registering a number twice is not an error.
    async fn register(&self, tracking_number: &str, carrier_code: Option<&str>) -> Result<(), TrackingSourceError>;

    /// The parcel's events so far.
    async fn fetch(
        &self,
        tracking_number: &str,
        carrier_code: Option<&str>,
    ) -> Result<ParcelTracking, TrackingSourceError>;

    /// Reads a push (webhook) from the source: checks its signature over the raw body,
    /// then parses it. `headers` are lower-case names with their values. A missing or wrong
    /// signature is `Refused`; a signed body that cannot be read is `Malformed`.
    fn read_push(&self, headers: &[(String, String)], body: &[u8]) -> Result<Vec<ParcelTracking>, TrackingSourceError>;
}
