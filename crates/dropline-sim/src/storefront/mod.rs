//! Simulated storefronts: they deliver orders to dropline over HTTP the way the real
//! platforms do — at least once, retried when the answer is late or an error, sometimes
//! the same order twice at the same moment. One module per platform.
//!
//! [`ShopifySim`], [`WooCommerceSim`] and [`WixSim`] also serve the platform's API (the
//! endpoints dropline calls back) from an in-memory store, and send its order webhooks in the
//! platform's own format, signed; their shared settings and results live in `platform`.

mod api;
mod platform;
mod shopify;
mod wix;
mod woocommerce;

pub use api::ApiStorefront;
pub use platform::{
    ApiRequest, Attempt, DeliveryKind, FulfilledLine, Fulfillment, Misbehaviour, OrderNote, OrderRun, ProductIds,
    Refund, RefundTransaction, RefundedLine, Scenario, SimConfig, SimError, SimProduct, SimVariant, Topic,
    TrackingItem, WebhookDelivery, WebhookEvent,
};
pub use shopify::ShopifySim;
pub use wix::WixSim;
pub use woocommerce::WooCommerceSim;

use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// When a storefront tries a delivery again: after a transport error (no answer, a time-out)
/// or an answer that says "later" (5xx, 429), never after a refusal (4xx).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles for each next one. Real platforms
    /// wait seconds to hours; the simulation keeps the shape and shortens the waits.
    pub first_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            first_backoff: Duration::from_millis(50),
        }
    }
}

impl Retry {
    /// One attempt, no retry.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            first_backoff: Duration::ZERO,
        }
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        self.first_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
    }

    /// Whether an answer with this status is tried again.
    pub(crate) fn retries_status(status: u16) -> bool {
        status == 429 || status >= 500
    }
}

/// dropline's answer to one delivery (after the retries it took).
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// The HTTP status of the last attempt.
    pub status: u16,
    /// From the first attempt to the last answer, retries and their waits included: how
    /// long the storefront waited.
    pub latency: Duration,
    /// The answer's JSON body (`Value::Null` when it was empty or not JSON).
    pub body: Value,
    /// Attempts made, the answered one included.
    pub attempts: u32,
}

impl Delivery {
    /// `id` of the answered order, when the answer is one.
    pub fn order_id(&self) -> Option<&str> {
        self.body["id"].as_str()
    }
}

/// A delivery that got no answer at all, after every attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryError {
    /// The last transport error.
    pub message: String,
    pub attempts: u32,
    pub latency: Duration,
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no answer after {} attempt(s) in {:?}: {}",
            self.attempts, self.latency, self.message
        )
    }
}

impl std::error::Error for DeliveryError {}

/// Everything a storefront sent for one order: the delivery itself and its duplicates.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderOutcome {
    /// The order's `external_id`.
    pub external_id: String,
    /// `deliveries[0]` is the delivery itself, `deliveries[1..=racing]` the duplicates sent
    /// at the same moment, the rest the duplicates sent one after another once those were
    /// answered, in that order.
    pub deliveries: Vec<Result<Delivery, DeliveryError>>,
    /// How many duplicates raced the first delivery.
    pub racing: usize,
}

impl OrderOutcome {
    /// The deliveries sent at the same moment: the first and its racing duplicates.
    pub fn first_wave(&self) -> &[Result<Delivery, DeliveryError>] {
        &self.deliveries[..(self.racing + 1).min(self.deliveries.len())]
    }

    /// The duplicates sent after the first wave was answered.
    pub fn later(&self) -> &[Result<Delivery, DeliveryError>] {
        &self.deliveries[(self.racing + 1).min(self.deliveries.len())..]
    }

    /// The status of every delivery (`None`: no answer), in the order of `deliveries`.
    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.deliveries
            .iter()
            .map(|d| d.as_ref().ok().map(|d| d.status))
            .collect()
    }

    /// How many deliveries were answered 201 (created).
    pub fn created(&self) -> usize {
        self.statuses().iter().filter(|s| **s == Some(201)).count()
    }

    /// Every distinct order id the answers named, sorted.
    pub fn order_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .deliveries
            .iter()
            .filter_map(|d| d.as_ref().ok().and_then(Delivery::order_id).map(str::to_string))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}
