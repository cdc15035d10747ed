//! The ports to storefront platforms (Shopify, WooCommerce, Wix): reading their webhooks,
//! and calling their APIs to write fulfillment back and to pull the catalogue. The engine
//! owns these traits; `dropline-connect` implements them, one connector per platform.

use async_trait::async_trait;
use dropline_domain::catalog::{Platform, StoreConnection};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::IncomingOrder;
use std::time::Duration;
use time::OffsetDateTime;

/// A webhook request as received: header names in lower case, the body untouched.
#[derive(Clone, Copy, Debug)]
pub struct WebhookRequest<'a> {
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl WebhookRequest<'_> {
    /// The first value of a header (the name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a verified signature says about the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    /// Signed with one of the store's secrets.
    Signed,
    /// A platform's unsigned reachability check (WooCommerce's ping when a webhook is saved):
    /// answered 200, nothing is parsed or written.
    UnsignedPing,
}

/// What a webhook is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookTopic {
    OrderCreated,
    OrderUpdated,
    OrderPaid,
    OrderCancelled,
    /// A topic dropline does not act on (answered 200, nothing written); the platform's name.
    Other(String),
}

/// A parsed webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The platform's id of this delivery (or of its event), for deduplication.
    pub delivery_id: Option<String>,
    pub topic: WebhookTopic,
    /// The order it carries, mapped to the core order (`None` for [`WebhookTopic::Other`],
    /// and for a cancellation that names the order without carrying it).
    pub order: Option<IncomingOrder>,
    /// The platform's order id when `order` is `None` but the delivery names one (a
    /// cancellation event with only the order's id).
    pub order_ref: Option<String>,
    /// When the platform triggered the delivery, when it says.
    pub triggered_at: Option<OffsetDateTime>,
}

/// Why a webhook was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The signature is missing, wrong or stale (HTTP 401); the body was not parsed.
    #[error("signature refused: {0}")]
    Unauthorized(String),
    /// The body is not the platform's payload (HTTP 400), naming the field.
    #[error("{field}: {reason}")]
    BadPayload { field: String, reason: String },
}

impl WebhookError {
    /// A refused payload field.
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadPayload {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// One platform's webhook format. `verify` runs on the raw body before anything is parsed,
/// compares in constant time and accepts any of the store's secrets (two during a rotation).
pub trait WebhookFormat: Send + Sync {
    fn platform(&self) -> Platform;
    fn verify(&self, request: &WebhookRequest<'_>, secrets: &[String]) -> Result<Verified, WebhookError>;
    fn parse(&self, request: &WebhookRequest<'_>) -> Result<WebhookDelivery, WebhookError>;
}

/// Where and how to call a store's platform.
#[derive(Clone, Debug)]
pub struct StorefrontTarget {
    pub platform: Platform,
    pub connection: StoreConnection,
    /// The store's currency (prices of pulled products are in it).
    pub currency: Currency,
}

/// A line of a fulfillment written back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushLine {
    /// The storefront's line id (`None` for lines that came without one).
    pub external_id: Option<String>,
    pub sku: String,
    pub quantity: u32,
}

/// A shipment to write back to the storefront as a fulfillment with tracking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillmentPush {
    /// The storefront's order id.
    pub order_external_id: String,
    pub lines: Vec<PushLine>,
    pub tracking_number: String,
    pub carrier: String,
    pub tracking_url: Option<String>,
    /// Whether the platform should email the customer itself.
    pub notify_customer: bool,
    /// Every shippable line of the order is now shipped (WooCommerce then completes the order).
    pub order_fully_shipped: bool,
    /// The failed parcel's tracking number this shipment replaces (a reship): the platform's
    /// fulfillment carrying that number takes the new tracking instead of a new fulfillment
    /// being created where the platform supports it.
    pub replaces_tracking_number: Option<String>,
}

/// A status written back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusPush {
    /// A parcel was delivered.
    Delivered { tracking_number: String },
    /// The seller cancelled the order in dropline.
    Cancelled { reason: String },
}

/// A line of a refund pushed to the storefront.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundLine {
    /// The storefront's line id (`None` for lines that came without one: the platform then
    /// gets the amount without this line).
    pub external_id: Option<String>,
    pub sku: String,
    pub quantity: u32,
    /// What these units sold for (unit price × quantity).
    pub amount: Money,
}

/// A refund dropline issued, to be made on the storefront's order: the platform returns the
/// money through the payment the customer made there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundPush {
    /// The storefront's order id.
    pub order_external_id: String,
    /// dropline's refund id. The platform's refund carries it (in a note, a meta field or the
    /// reason, by platform), so a push retried after a lost answer finds the refund it made
    /// instead of refunding twice: none of the three platforms dedupes refunds by itself.
    pub idempotency_key: String,
    pub amount: Money,
    pub reason: String,
    /// The lines refunded, for a refund of units (empty for an amount only).
    pub lines: Vec<RefundLine>,
    /// Whether the platform should email the customer itself (dropline sends its own
    /// `refund_issued` email).
    pub notify_customer: bool,
}

impl RefundPush {
    /// The refunded lines by the platform's line item id, each id once with its units added
    /// up; lines the platform has no id for are refunded by amount only, so they are left out.
    pub fn platform_lines(&self) -> Vec<(&str, u32)> {
        let mut lines: Vec<(&str, u32)> = Vec::new();
        for line in &self.lines {
            let Some(id) = line.external_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) else {
                continue;
            };
            match lines.iter_mut().find(|(known, _)| *known == id) {
                Some((_, quantity)) => *quantity += line.quantity,
                None => lines.push((id, line.quantity)),
            }
        }
        lines
    }
}

/// What the platform answered to a refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundReceipt {
    /// The platform's id of the refund.
    pub platform_refund_id: String,
    /// The refund was already there (an earlier push made it and its answer was lost): it
    /// was found by its key, nothing was sent again.
    pub found_existing: bool,
}

/// A product of the storefront's catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteProduct {
    pub platform_product_id: String,
    pub title: String,
    pub variants: Vec<RemoteVariant>,
}

/// A variant of a [`RemoteProduct`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteVariant {
    pub platform_variant_id: String,
    /// Empty when the platform has none.
    pub sku: String,
    pub title: String,
    pub price: Money,
}

/// One page of the storefront's catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductPage {
    pub products: Vec<RemoteProduct>,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
}

/// A variant's stock and price as the storefront should show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantListing {
    /// The storefront's id of the variant.
    pub platform_variant_id: String,
    pub sku: String,
    /// Units to show; `None` leaves the platform's stock as it is.
    pub stock: Option<u32>,
    /// The selling price and compare-at price to set; `None` leaves the prices as they are.
    pub price: Option<ListingPrice>,
}

/// A selling price written to the storefront.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingPrice {
    pub price: Money,
    /// The "was" price shown struck through; `None` clears it.
    pub compare_at: Option<Money>,
}

/// Stock, prices and visibility of one storefront product, written in as few calls as the
/// platform allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingPush {
    /// The storefront's id of the product.
    pub platform_product_id: String,
    /// `Some(false)`: hide the product from the shop (every variant is out of stock and the
    /// store unpublishes rather than showing zero); `Some(true)`: show it again; `None`:
    /// leave it.
    pub published: Option<bool>,
    pub variants: Vec<VariantListing>,
}

/// What the platform made of a batch of [`ListingPush`]es.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListingReceipt {
    /// HTTP requests made, for the sync's report.
    pub requests: u32,
    /// Variants (by platform id) or products the platform refused, with its reason; the
    /// rest were written.
    pub refused: Vec<(String, String)>,
}

/// What a credentials check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopInfo {
    pub name: String,
    pub currency: Option<String>,
}

/// Why a call to a storefront failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorefrontError {
    /// HTTP 429: try again after the platform's `Retry-After` (or a backoff).
    #[error("rate limited by the platform")]
    RateLimited { retry_after: Option<Duration> },
    /// The platform could not be reached or failed (timeouts, 5xx): try again later.
    #[error("platform unavailable: {0}")]
    Unavailable(String),
    /// The credentials were refused (401/403).
    #[error("credentials refused: {0}")]
    Unauthorized(String),
    /// The platform refused the request for good (other 4xx), with its reason.
    #[error("refused by the platform: {0}")]
    Refused(String),
    /// The platform answered something dropline cannot read.
    #[error("unexpected answer from the platform: {0}")]
    BadResponse(String),
    /// The store's connection lacks what this platform needs (domain, credentials).
    #[error("store connection incomplete: {0}")]
    NotConfigured(String),
}

impl StorefrontError {
    /// Whether trying again later can help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// Calls to storefront platforms. One value serves every platform (it dispatches on
/// [`StorefrontTarget::platform`]). Every write is idempotent: a fulfillment whose tracking
/// number the order already has is not created twice, so a job retried after a timeout
/// does no harm.
#[async_trait]
pub trait StorefrontClient: Send + Sync {
    /// Checks the credentials against the platform.
    async fn check(&self, target: &StorefrontTarget) -> Result<ShopInfo, StorefrontError>;
    /// Creates the fulfillment with tracking (Shopify: the fulfillment-order flow;
    /// WooCommerce: tracking item, order note and status; Wix: its fulfillment call).
    async fn push_fulfillment(&self, target: &StorefrontTarget, push: &FulfillmentPush) -> Result<(), StorefrontError>;
    /// Writes a delivery or a cancellation back.
    async fn push_status(
        &self,
        target: &StorefrontTarget,
        order_external_id: &str,
        status: &StatusPush,
    ) -> Result<(), StorefrontError>;
    /// Makes a refund dropline issued on the platform's order, once: a refund carrying the
    /// push's key is looked up first and returned as it is (Shopify: a refund with
    /// transactions against the order's payments; WooCommerce: an order refund through the
    /// payment gateway; Wix: Refund Payments of the order billing API).
    async fn push_refund(&self, target: &StorefrontTarget, push: &RefundPush)
    -> Result<RefundReceipt, StorefrontError>;
    /// One page of the catalogue; `cursor` is the previous page's `next`.
    async fn products_page(
        &self,
        target: &StorefrontTarget,
        cursor: Option<&str>,
    ) -> Result<ProductPage, StorefrontError>;
    /// Writes stock levels, prices and visibility (Shopify: inventory levels at the shop's
    /// location, variant prices, product status; WooCommerce: variation batches with
    /// `stock_quantity`, prices and status; Wix: inventory and variant prices, product
    /// visibility). Writing the same values twice changes nothing.
    async fn push_listings(
        &self,
        target: &StorefrontTarget,
        pushes: &[ListingPush],
    ) -> Result<ListingReceipt, StorefrontError> {
        let _ = pushes;
        Err(StorefrontError::NotConfigured(format!(
            "{} takes no stock or price updates",
            target.platform
        )))
    }
}
