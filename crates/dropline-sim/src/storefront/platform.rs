//! What the Shopify, WooCommerce and Wix simulators share: their settings, the catalogue and
//! orders they keep in memory, the API server with its credential check and fault injection,
//! and the webhook sender with its misbehaviour (retries, duplicates, out-of-order versions,
//! stale redeliveries).
//!
//! Each platform module only knows its own wire format: how an order, a product or an error
//! looks, how a webhook is signed and which statuses its sender takes for success. They plug
//! in through the crate-private [`Platform`] trait.

use super::Retry;
use crate::orders::{CatalogueItem, OrderGenerator};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------------
// Public settings and results
// ---------------------------------------------------------------------------------------------

/// The settings of a simulated storefront: what it sells, how its orders are drawn and where
/// and how its webhooks go. The same seed gives the same credentials, ids and orders.
///
/// Defaults: seed 0, a USD store named "Sim Supply Co", the demo catalogue
/// ([`SimProduct::demo_catalogue`]), every order paid with a valid address, no webhook target
/// yet, and the platform's own retry policy and time-out (see each simulator).
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub(crate) seed: u64,
    pub(crate) currency: String,
    pub(crate) shop_name: String,
    pub(crate) webhook_url: Option<String>,
    pub(crate) retry: Option<Retry>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) catalogue: Option<Vec<SimProduct>>,
    pub(crate) unpaid: f64,
    pub(crate) invalid_addresses: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::new(0)
    }
}

impl SimConfig {
    /// The default settings with this seed.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            currency: "USD".to_string(),
            shop_name: "Sim Supply Co".to_string(),
            webhook_url: None,
            retry: None,
            timeout: None,
            catalogue: None,
            unpaid: 0.0,
            invalid_addresses: 0.0,
        }
    }

    /// The store currency (ISO 4217): orders and the demo catalogue are in it.
    pub fn currency(mut self, code: impl Into<String>) -> Self {
        self.currency = code.into();
        self
    }

    /// The shop's display name; the Shopify domain and the WooCommerce site URL derive from it.
    pub fn shop_name(mut self, name: impl Into<String>) -> Self {
        self.shop_name = name.into();
        self
    }

    /// Where webhooks go: `{dropline}/webhooks/{platform}/{store_id}`. Can also be set after the
    /// start, once dropline knows the store (see `set_webhook_url`).
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// How a webhook delivery that failed is tried again, instead of the platform's policy.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// How long one webhook attempt may take before it counts as failed (and is retried).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The products the store starts with, instead of the demo catalogue (may be empty; more
    /// can be added with `add_product`).
    pub fn catalogue(mut self, products: Vec<SimProduct>) -> Self {
        self.catalogue = Some(products);
        self
    }

    /// The probability (0 to 1) that a new order is not paid yet.
    pub fn unpaid(mut self, share: f64) -> Self {
        self.unpaid = share.clamp(0.0, 1.0);
        self
    }

    /// The probability (0 to 1) that a new order's shipping address fails validation.
    pub fn invalid_addresses(mut self, share: f64) -> Self {
        self.invalid_addresses = share.clamp(0.0, 1.0);
        self
    }
}

/// A product of the simulated store: a title and at least one variant. A product whose only
/// variant has no options is a "simple" product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimProduct {
    pub title: String,
    pub variants: Vec<SimVariant>,
}

impl SimProduct {
    /// A product without options, sold as one variant.
    pub fn simple(title: impl Into<String>, sku: impl Into<String>, price: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            variants: vec![SimVariant::new(sku, price)],
        }
    }

    /// A product without variants yet; add them with [`Self::variant`].
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            variants: Vec::new(),
        }
    }

    /// The same product with one more variant.
    pub fn variant(mut self, variant: SimVariant) -> Self {
        self.variants.push(variant);
        self
    }

    /// A small dropshipping catalogue (gadgets, home, pets), simple and variable products,
    /// priced in `currency` (two decimals, none or three, as the currency has).
    pub fn demo_catalogue(currency: &str) -> Vec<SimProduct> {
        let scale = currency_scale(currency);
        // Prices in hundredths, shown with the currency's own number of decimals.
        let price = |hundredths: i64| format_amount(hundredths, scale);
        vec![
            SimProduct::new("Wireless Earbuds Pro")
                .variant(SimVariant::new("EARBUDS-PRO-BLK", price(4999)).option("Color", "Black"))
                .variant(SimVariant::new("EARBUDS-PRO-WHT", price(4999)).option("Color", "White")),
            SimProduct::simple("Magnetic Car Phone Mount", "MOUNT-MAG-01", price(1950)),
            SimProduct::new("LED Strip Lights")
                .variant(SimVariant::new("LED-STRIP-5M", price(1899)).option("Length", "5 m"))
                .variant(SimVariant::new("LED-STRIP-10M", price(2999)).option("Length", "10 m")),
            SimProduct::new("Posture Corrector")
                .variant(
                    SimVariant::new("POSTURE-S-BEI", price(2499))
                        .option("Size", "S")
                        .option("Color", "Beige"),
                )
                .variant(
                    SimVariant::new("POSTURE-M-BEI", price(2499))
                        .option("Size", "M")
                        .option("Color", "Beige"),
                )
                .variant(
                    SimVariant::new("POSTURE-L-BLK", price(2699))
                        .option("Size", "L")
                        .option("Color", "Black"),
                ),
            SimProduct::simple("Silicone Kitchen Utensil Set", "UTENSIL-SET-12", price(3450)),
            SimProduct::simple("Pet Hair Remover Roller", "PET-ROLLER-01", price(1299)),
        ]
    }
}

/// One variant of a [`SimProduct`]: its SKU (unique in the store), its price as a decimal string
/// in the store currency (`"24.99"`) and its option choices (`("Color", "Black")`), in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimVariant {
    pub sku: String,
    pub price: String,
    pub options: Vec<(String, String)>,
}

impl SimVariant {
    /// A variant without options.
    pub fn new(sku: impl Into<String>, price: impl Into<String>) -> Self {
        Self {
            sku: sku.into(),
            price: price.into(),
            options: Vec::new(),
        }
    }

    /// The same variant with one more option choice.
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((name.into(), value.into()));
        self
    }

    /// The choices joined by " / " (`"M / Beige"`), `None` without options.
    pub fn title(&self) -> Option<String> {
        option_title(&self.options)
    }
}

/// The ids the platform gave a product and its variants (in the order of
/// [`SimProduct::variants`]), as text: Shopify and WooCommerce ids are numbers, Wix ids UUIDs.
/// A simple WooCommerce product is its own variant (the variant id is the product id); a simple
/// Wix product has the all-zero variant id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductIds {
    pub product_id: String,
    pub variant_ids: Vec<String>,
}

/// A change to an order that the platform announces with a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// The order was placed (Shopify `orders/create`, WooCommerce `order.created`, Wix
    /// `order_created`).
    Created,
    /// The payment was captured (Shopify `orders/paid`, WooCommerce `order.updated` with status
    /// `processing`, Wix `order_approved`).
    Paid,
    /// The customer changed the shipping address (Shopify `orders/updated`, WooCommerce
    /// `order.updated`, Wix `order_updated`).
    Updated,
    /// The order was cancelled (Shopify `orders/cancelled`, WooCommerce `order.updated` with
    /// status `cancelled`, Wix `order_canceled`).
    Cancelled,
}

/// How one delivery misbehaves: extra copies of the very same delivery (same delivery id, same
/// bytes, same signature), some of them sent at the same moment as the delivery itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// How many extra copies are sent.
    pub duplicates: u32,
    /// How many of those copies leave at the same moment as the delivery (at most
    /// `duplicates`); the others follow one after another once those were answered.
    pub concurrent: u32,
}

impl Misbehaviour {
    /// Each delivery sent once (retries aside).
    pub fn none() -> Self {
        Self::default()
    }

    /// `extra` copies of each delivery, one after another.
    pub fn duplicates(extra: u32) -> Self {
        Self {
            duplicates: extra,
            concurrent: 0,
        }
    }

    /// The same, with `count` of the copies racing the delivery itself.
    pub fn concurrent(mut self, count: u32) -> Self {
        self.concurrent = count;
        self
    }
}

/// What [`deliver_orders`](crate::ShopifySim::deliver_orders) does for every order it creates:
/// `orders/create` (or the platform's equivalent) and then, as chosen, paid, updated and
/// cancelled, each with [`Misbehaviour`], the orders `concurrency` at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Deliver the paid event after the creation.
    pub paid: bool,
    /// Change the shipping address and deliver the update.
    pub updated: bool,
    /// Cancel the order and deliver the cancellation, last.
    pub cancelled: bool,
    /// Deliver the second event (the next version, newer `updated_at`) BEFORE the creation.
    /// With neither `paid` nor `updated`, an address update is made to be that second event.
    pub out_of_order: bool,
    /// Once everything was delivered, send the creation delivery again: the same delivery id
    /// and the same old body, after newer versions (a late platform retry).
    pub stale_redelivery: bool,
    /// Duplicates of every delivery.
    pub misbehaviour: Misbehaviour,
    /// How many orders are being delivered at the same time (at least 1).
    pub concurrency: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            paid: false,
            updated: false,
            cancelled: false,
            out_of_order: false,
            stale_redelivery: false,
            misbehaviour: Misbehaviour::none(),
            concurrency: 4,
        }
    }
}

impl Scenario {
    /// Only the creation, 4 orders at a time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also deliver the paid event.
    pub fn paid(mut self) -> Self {
        self.paid = true;
        self
    }

    /// Also change the address and deliver the update.
    pub fn updated(mut self) -> Self {
        self.updated = true;
        self
    }

    /// Also cancel the order and deliver the cancellation.
    pub fn cancelled(mut self) -> Self {
        self.cancelled = true;
        self
    }

    /// Deliver the newer version before the creation.
    pub fn out_of_order(mut self) -> Self {
        self.out_of_order = true;
        self
    }

    /// Send the creation delivery once more at the end.
    pub fn stale_redelivery(mut self) -> Self {
        self.stale_redelivery = true;
        self
    }

    /// `extra` copies of every delivery, `concurrent` of them racing it.
    pub fn duplicates(mut self, extra: u32, concurrent: u32) -> Self {
        self.misbehaviour = Misbehaviour::duplicates(extra).concurrent(concurrent);
        self
    }

    /// How many orders are in flight at a time.
    pub fn concurrency(mut self, orders: usize) -> Self {
        self.concurrency = orders;
        self
    }
}

/// One webhook the platform produced, ready to be sent (and sent again): the exact bytes and
/// headers, signed. Every copy, retry and redelivery of it carries the same delivery id.
#[derive(Clone, Debug)]
pub struct WebhookEvent {
    pub(crate) topic: Topic,
    pub(crate) platform_topic: String,
    pub(crate) order_id: String,
    pub(crate) delivery_id: String,
    pub(crate) event_id: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

impl WebhookEvent {
    pub fn topic(&self) -> Topic {
        self.topic
    }

    /// The platform's name of the topic: `orders/create`, `order.updated`,
    /// `wix.ecom.v1.order_approved`.
    pub fn platform_topic(&self) -> &str {
        &self.platform_topic
    }

    /// The platform's id of the order.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The delivery's id: Shopify `X-Shopify-Webhook-Id`, WooCommerce
    /// `X-WC-Webhook-Delivery-ID`, Wix the event `id`.
    pub fn delivery_id(&self) -> &str {
        &self.delivery_id
    }

    /// The id of the change behind it: Shopify `X-Shopify-Event-Id`; the delivery id elsewhere.
    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// Every header sent with the body, signature included.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// One header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The exact bytes sent (JSON, or a JWT for Wix).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Which copy of a webhook a delivery was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryKind {
    /// The delivery itself.
    First,
    /// An extra copy, sent at the same moment or just after.
    Duplicate,
    /// The same delivery sent again later, after newer events (stale).
    Redelivery,
}

/// One try to deliver a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The answer's status; `None` when there was no answer (refused, reset, timed out).
    pub status: Option<u16>,
    /// Why there was no answer.
    pub error: Option<String>,
    pub latency: Duration,
}

/// A webhook sent to dropline, with every attempt it took (the platform retries failures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub order_id: String,
    pub topic: Topic,
    /// See [`WebhookEvent::platform_topic`].
    pub platform_topic: String,
    /// See [`WebhookEvent::delivery_id`]: the same for copies, retries and redeliveries.
    pub delivery_id: String,
    pub kind: DeliveryKind,
    /// At least one.
    pub attempts: Vec<Attempt>,
    /// Whether the last attempt counted as success for the platform (Shopify and Wix: 2xx;
    /// WooCommerce: 200 to 302).
    pub accepted: bool,
}

impl WebhookDelivery {
    /// The status of the last attempt (`None`: it got no answer).
    pub fn status(&self) -> Option<u16> {
        self.attempts.last().and_then(|attempt| attempt.status)
    }

    /// The status of every attempt, in order.
    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.attempts.iter().map(|attempt| attempt.status).collect()
    }
}

/// Everything [`deliver_orders`](crate::ShopifySim::deliver_orders) sent for one order, in the
/// order it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRun {
    /// The platform's id of the order (dropline's external id).
    pub order_id: String,
    pub deliveries: Vec<WebhookDelivery>,
}

impl OrderRun {
    /// Whether every delivery was finally accepted.
    pub fn all_accepted(&self) -> bool {
        self.deliveries.iter().all(|delivery| delivery.accepted)
    }

    /// The last status of every delivery, in order.
    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.deliveries.iter().map(WebhookDelivery::status).collect()
    }
}

/// A shipment recorded on an order through the API (Shopify fulfillment, Wix fulfillment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fulfillment {
    pub id: String,
    /// Shopify `success` (or `cancelled`); Wix has no status and says `success` too.
    pub status: String,
    /// The order lines shipped: the platform's line ids (Shopify line item ids, Wix line
    /// item ids) and quantities.
    pub lines: Vec<FulfilledLine>,
    pub tracking_number: Option<String>,
    pub tracking_company: Option<String>,
    pub tracking_url: Option<String>,
    /// The last fulfillment event's status (Shopify `delivered`, `in_transit`, ...).
    pub shipment_status: Option<String>,
    pub created_at: OffsetDateTime,
}

/// One line of a [`Fulfillment`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfilledLine {
    pub line_id: String,
    pub quantity: u32,
}

/// A refund recorded on an order through the API: a Shopify refund, a WooCommerce order
/// refund, a Wix refund of payments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    /// In minor units of the order's currency.
    pub amount: i64,
    /// Its text: Shopify's `note`, WooCommerce's `reason`, Wix's `customerReason`.
    pub note: Option<String>,
    /// The order lines refunded, by the platform's line ids (empty for an amount only).
    pub lines: Vec<RefundedLine>,
    /// Where the money came from, one entry per payment refunded.
    pub transactions: Vec<RefundTransaction>,
    /// Whether the refunded items went back to the store's stock.
    pub restock: bool,
    /// Whether the platform emailed the customer about it.
    pub notify_customer: bool,
    /// WooCommerce's `meta_data` pairs (empty on the other platforms).
    pub meta: Vec<(String, String)>,
    pub created_at: OffsetDateTime,
}

/// Units of one order line in a [`Refund`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundedLine {
    pub line_id: String,
    pub quantity: u32,
    /// What the refund gives back for them, minor units (WooCommerce's `refund_total`; their
    /// price on the other platforms).
    pub amount: i64,
}

/// The part of a [`Refund`] taken from one payment of the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundTransaction {
    pub id: String,
    /// The payment refunded: Shopify's sale transaction, Wix's payment; WooCommerce's order
    /// (one payment per order).
    pub payment_id: String,
    /// In minor units of the order's currency.
    pub amount: i64,
    /// The payment's gateway (`shopify_payments`, `stripe`, ...).
    pub gateway: String,
    /// Returned through the gateway (Shopify: a gateway other than `manual`; WooCommerce
    /// `api_refund`; Wix not `externalRefund`), not only written down.
    pub through_gateway: bool,
}

/// A WooCommerce order note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderNote {
    pub id: String,
    pub note: String,
    pub customer_note: bool,
    /// `system` for the notes WooCommerce writes itself (status changes).
    pub author: String,
    pub created_at: OffsetDateTime,
}

/// A WooCommerce Shipment Tracking item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingItem {
    pub tracking_id: String,
    pub tracking_number: String,
    /// The predefined provider, or the custom one's name.
    pub provider: String,
    /// Whether `provider` is a custom one (`custom_tracking_provider`).
    pub custom_provider: bool,
    /// The tracking link, the number put in place of `%1$s`.
    pub link: String,
    /// `YYYY-MM-DD`.
    pub date_shipped: String,
}

/// One API request the simulator answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRequest {
    pub method: String,
    /// The path with its query string.
    pub path: String,
    pub status: u16,
}

/// What went wrong in the simulator itself (not in dropline's answers, which are results).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    /// The API server could not listen on 127.0.0.1.
    Bind(String),
    /// A product was refused; the text names the field.
    InvalidProduct(String),
    /// An order was asked for while the store sells nothing.
    EmptyCatalogue,
    /// No order with this id.
    UnknownOrder(String),
    /// A webhook was to be sent before a target URL was set.
    NoWebhookUrl,
    /// The webhook could not be signed.
    Signing(String),
    /// A delivery task was cancelled before it finished (the runtime is shutting down).
    Interrupted(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Bind(reason) => write!(f, "the simulator could not listen on 127.0.0.1: {reason}"),
            SimError::InvalidProduct(reason) => write!(f, "invalid product: {reason}"),
            SimError::EmptyCatalogue => write!(f, "the store has no product to order"),
            SimError::UnknownOrder(id) => write!(f, "no order {id} in the simulated store"),
            SimError::NoWebhookUrl => write!(f, "no webhook URL set (SimConfig::webhook_url or set_webhook_url)"),
            SimError::Signing(reason) => write!(f, "the webhook could not be signed: {reason}"),
            SimError::Interrupted(reason) => write!(f, "a delivery was interrupted: {reason}"),
        }
    }
}

impl std::error::Error for SimError {}

// ---------------------------------------------------------------------------------------------
// The in-memory store
// ---------------------------------------------------------------------------------------------

/// A product as the store keeps it.
#[derive(Clone, Debug)]
pub(crate) struct Product {
    pub id: String,
    pub title: String,
    pub handle: String,
    pub created_at: OffsetDateTime,
    /// The option names, in order (empty for a simple product).
    pub option_names: Vec<String>,
    pub variants: Vec<Variant>,
    /// Shown in the shop (Shopify `active`, WooCommerce `publish`, Wix `visible`); hidden is
    /// Shopify `draft` or `archived`, WooCommerce `private`, `draft` or `pending`, Wix
    /// `visible: false`.
    pub published: bool,
    /// Wix's product discount, off every variant's price (the other platforms keep none).
    pub discount: Discount,
}

impl Product {
    pub fn is_simple(&self) -> bool {
        self.option_names.is_empty()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Variant {
    pub id: String,
    pub sku: String,
    /// What the customer pays, in minor units of the store currency.
    pub price: i64,
    /// The "was" price shown struck through (Shopify `compare_at_price`, WooCommerce
    /// `regular_price` beside a `sale_price`, Wix `priceData.price` beside a discount).
    pub compare_at: Option<i64>,
    /// Units in stock when the platform counts them (`None`: stock not tracked).
    pub stock: Option<u32>,
    pub options: Vec<(String, String)>,
    pub inventory_item_id: String,
}

/// A Wix product's discount (Stores catalog v1), taken off every variant's price: the variant's
/// price is then the struck-through "was" price and the discounted one is what the customer pays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Discount {
    #[default]
    None,
    /// Minor units off.
    Amount(i64),
    /// Hundredths of a percent off (`1250` is 12.5 %).
    Percent(i64),
}

impl Discount {
    /// What the customer pays for a variant whose price (before the discount) is `base`.
    pub fn apply(self, base: i64) -> i64 {
        match self {
            Discount::None => base,
            Discount::Amount(off) => (base - off).max(0),
            // Rounded half up, in integers.
            Discount::Percent(hundredths) => {
                let off = (i128::from(base) * i128::from(hundredths) + 5_000) / 10_000;
                (base - i64::try_from(off).unwrap_or(base)).max(0)
            }
        }
    }
}

impl Variant {
    pub fn title(&self) -> Option<String> {
        option_title(&self.options)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub address1: String,
    pub address2: Option<String>,
    pub city: String,
    /// As the customer gave it: a code (`NY`, `ON`) or a name (`Tokyo`).
    pub region: Option<String>,
    pub postal_code: String,
    pub country_code: String,
    pub phone: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payment {
    Pending,
    Authorized,
    Paid,
    /// An authorization released when the order was cancelled.
    Voided,
}

#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub id: String,
    pub product_id: String,
    pub variant_id: String,
    pub simple: bool,
    pub sku: String,
    pub title: String,
    pub variant_title: Option<String>,
    pub options: Vec<(String, String)>,
    pub quantity: u32,
    /// Unit price, minor units.
    pub price: i64,
    pub fulfilled: u32,
    /// The line of the Shopify fulfillment order that holds this line.
    pub fulfillment_order_line_id: String,
    pub inventory_item_id: String,
}

impl Line {
    pub fn remaining(&self) -> u32 {
        self.quantity.saturating_sub(self.fulfilled)
    }
}

/// An order as the store keeps it; each platform renders it in its own format.
#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub id: String,
    pub number: u64,
    /// A test-mode order (Shopify `test: true`).
    pub test: bool,
    /// Random text the platforms put in tokens and keys (`wc_order_...`).
    pub token: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
    pub cancelled_at: Option<OffsetDateTime>,
    pub cancel_reason: Option<String>,
    pub completed_at: Option<OffsetDateTime>,
    pub currency: String,
    pub customer: Customer,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub lines: Vec<Line>,
    pub shipping_line_id: String,
    pub shipping_title: String,
    pub shipping_price: i64,
    pub payment: Payment,
    /// The platform's own order status (WooCommerce `processing`, Wix `APPROVED`; Shopify
    /// keeps `open`).
    pub status: String,
    pub fulfillment_order_id: String,
    /// Shopify fulfillment order status: open, in_progress, closed, cancelled.
    pub fulfillment_order_status: String,
    pub fulfillments: Vec<Fulfillment>,
    pub notes: Vec<OrderNote>,
    pub tracking: Vec<TrackingItem>,
    /// The id of the customer's payment (Shopify's sale transaction, Wix's payment).
    pub payment_id: String,
    pub refunds: Vec<Refund>,
    /// Where the order came in the store's sequence, and how often its address changed: the
    /// seeds of its address updates.
    pub sequence: u64,
    pub address_changes: u64,
}

impl Order {
    pub fn subtotal(&self) -> i64 {
        self.lines
            .iter()
            .map(|line| line.price * i64::from(line.quantity))
            .sum()
    }

    pub fn total(&self) -> i64 {
        self.subtotal() + self.shipping_price
    }

    /// What the refunds gave back, minor units.
    pub fn refunded(&self) -> i64 {
        self.refunds.iter().map(|refund| refund.amount).sum()
    }

    /// What may still be refunded: what the customer paid less the refunds (nothing before
    /// the payment is captured).
    pub fn refundable(&self) -> i64 {
        if self.payment == Payment::Paid {
            (self.total() - self.refunded()).max(0)
        } else {
            0
        }
    }

    /// Units of the line already refunded.
    pub fn refunded_units(&self, line_id: &str) -> u32 {
        self.refunds
            .iter()
            .flat_map(|refund| &refund.lines)
            .filter(|line| line.line_id == line_id)
            .map(|line| line.quantity)
            .sum()
    }

    /// No line is left to ship.
    pub fn fully_fulfilled(&self) -> bool {
        self.lines.iter().all(|line| line.remaining() == 0)
    }

    /// Some line, not all, was shipped.
    pub fn partially_fulfilled(&self) -> bool {
        self.lines.iter().any(|line| line.fulfilled > 0) && !self.fully_fulfilled()
    }

    /// The next version's timestamp: now, and always at least a second after the previous
    /// version, so that versions of one order never share an `updated_at`.
    pub fn touch(&mut self) -> OffsetDateTime {
        let now = now_seconds();
        let next = if now > self.updated_at {
            now
        } else {
            self.updated_at + time::Duration::SECOND
        };
        self.updated_at = next;
        next
    }
}

/// How a platform numbers its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdStyle {
    /// One sequence of large numbers for everything, with gaps (Shopify).
    Global,
    /// A sequence per table (WordPress posts, order items, comments, users).
    PerTable,
    /// UUIDs (Wix).
    Uuid,
}

/// What an id is for, which picks the sequence under [`IdStyle::PerTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdKind {
    /// Products, variations and orders (WordPress posts).
    Record,
    /// Order lines, shipping lines, fulfillments (order items).
    Item,
    /// Order notes (comments).
    Note,
    /// Customers (users).
    Customer,
}

/// The store's ids, drawn from the seed.
pub(crate) struct Ids {
    rng: StdRng,
    style: IdStyle,
    global: u64,
    records: u64,
    items: u64,
    notes: u64,
    customers: u64,
}

impl Ids {
    fn new(seed: u64, style: IdStyle) -> Self {
        let mix = splitmix(seed);
        Self {
            rng: StdRng::seed_from_u64(mix),
            style,
            global: 5_200_000_000_000 + mix % 400_000_000_000,
            records: 100 + mix % 700,
            items: 20 + mix % 300,
            notes: 40 + mix % 500,
            customers: 2 + mix % 40,
        }
    }

    pub fn next(&mut self, kind: IdKind) -> String {
        match self.style {
            IdStyle::Global => {
                self.global += self.rng.random_range(1..=4096);
                self.global.to_string()
            }
            IdStyle::PerTable => {
                let counter = match kind {
                    IdKind::Record => &mut self.records,
                    IdKind::Item => &mut self.items,
                    IdKind::Note => &mut self.notes,
                    IdKind::Customer => &mut self.customers,
                };
                *counter += 1;
                counter.to_string()
            }
            IdStyle::Uuid => self.uuid(),
        }
    }

    pub fn uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    /// `length` lower-case hex digits.
    pub fn hex(&mut self, length: usize) -> String {
        (0..length)
            .map(|_| char::from(b"0123456789abcdef"[self.rng.random_range(0..16)]))
            .collect()
    }
}

/// Fresh ids for one webhook (each platform takes the ones its format uses).
pub(crate) struct EventIds {
    pub uuid: String,
    pub other_uuid: String,
    /// 32 lower-case hex digits.
    pub hex: String,
}

/// A webhook as a platform renders it.
pub(crate) struct Webhook {
    pub platform_topic: String,
    pub delivery_id: String,
    pub event_id: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

pub(crate) struct State {
    pub ids: Ids,
    pub products: Vec<Product>,
    /// Where each product is in `products`, by id.
    product_index: HashMap<String, usize>,
    /// Where each variant is (product, variant), by id; Wix's all-zero variant ids, shared by
    /// every product without options, are left out (such a variant is found by its product).
    variant_index: HashMap<String, (usize, usize)>,
    /// Where each variant is, by its inventory item id (Shopify).
    inventory_index: HashMap<String, (usize, usize)>,
    pub orders: HashMap<String, Order>,
    /// Order ids in the order they were created.
    pub order_list: Vec<String>,
    /// The order of each fulfillment order id.
    pub fulfillment_orders: HashMap<String, String>,
    next_number: u64,
    generator: Option<OrderGenerator>,
}

impl State {
    pub fn order(&self, id: &str) -> Option<&Order> {
        self.orders.get(id)
    }

    pub fn order_mut(&mut self, id: &str) -> Option<&mut Order> {
        self.orders.get_mut(id)
    }

    /// The position of a product in `products`.
    pub fn product_position(&self, id: &str) -> Option<usize> {
        self.product_index.get(id).copied()
    }

    /// The position (product, variant) of a variant by its id; the one variant of a product
    /// without options is also found by the product's id (as dropline names it).
    pub fn variant_position(&self, id: &str) -> Option<(usize, usize)> {
        if let Some(found) = self.variant_index.get(id) {
            return Some(*found);
        }
        let product = self.product_position(id)?;
        (self.products[product].variants.len() == 1 && self.products[product].is_simple()).then_some((product, 0))
    }

    /// The position (product, variant) of a variant by its own id only.
    pub fn variant_id_position(&self, id: &str) -> Option<(usize, usize)> {
        self.variant_index.get(id).copied()
    }

    /// The position of a variant by its inventory item id.
    pub fn inventory_position(&self, inventory_item_id: &str) -> Option<(usize, usize)> {
        self.inventory_index.get(inventory_item_id).copied()
    }

    fn variant_by_sku(&self, sku: &str) -> Option<(&Product, &Variant)> {
        self.products.iter().find_map(|product| {
            product
                .variants
                .iter()
                .find(|variant| variant.sku == sku)
                .map(|variant| (product, variant))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The platform plug-in
// ---------------------------------------------------------------------------------------------

/// What differs between platforms. Implemented by each platform module.
pub(crate) trait Platform: Send + Sync + 'static {
    fn id_style(&self) -> IdStyle;
    /// The first order number.
    fn first_number(&self) -> u64;
    fn default_retry(&self) -> Retry;
    fn default_timeout(&self) -> Duration;
    /// Whether the platform's webhook sender takes this answer for success.
    fn accepts(&self, status: u16) -> bool;
    /// Whether the request carries the store's credentials.
    fn authorized(&self, headers: &HeaderMap, query: Option<&str>) -> bool;
    /// An error answer in the platform's format.
    fn error(&self, status: StatusCode, message: &str) -> Response;
    /// The `Retry-After` value for this wait, as the platform writes it.
    fn retry_after(&self, wait: Duration) -> String;
    /// The status of a new order.
    fn initial_status(&self, payment: Payment) -> String;
    /// The order's own status once paid / cancelled.
    fn on_paid(&self, order: &mut Order);
    fn on_cancelled(&self, order: &mut Order);
    /// The status word tests read back (see each simulator's `status`).
    fn status(&self, order: &Order) -> String;
    /// The order in the platform's JSON (API and webhook body).
    fn render_order(&self, core: &Core, order: &Order) -> Value;
    /// The webhook announcing `topic` for this version of the order.
    fn webhook(&self, core: &Core, order: &Order, topic: Topic, ids: EventIds) -> Result<Webhook, SimError>;
    /// The stock a new variant starts with (`None`: not tracked).
    fn initial_stock(&self) -> Option<u32> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// The simulator core: state, server, webhook sender
// ---------------------------------------------------------------------------------------------

/// Faults the API serves before the real answers.
#[derive(Default)]
struct Faults {
    rate_limited: u32,
    retry_after: Duration,
    failing: u32,
    /// Refunds through the gateway are refused with this reason.
    refuse_refunds: Option<String>,
    /// Refunds made whose answer is then lost (answered 500).
    lost_refund_answers: u32,
}

pub(crate) struct Core {
    pub platform: Arc<dyn Platform>,
    pub config: SimConfig,
    pub base_url: String,
    pub state: Mutex<State>,
    faults: Mutex<Faults>,
    requests: Mutex<Vec<ApiRequest>>,
    /// Requests that reached a listing write (stock, price, visibility), whatever their answer.
    listing_writes: AtomicUsize,
    webhook_url: Mutex<Option<String>>,
    http: reqwest::Client,
    retry: Retry,
    timeout: Duration,
}

/// Stops the API server when the last handle of a simulator is dropped.
pub(crate) struct Server {
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Locks a mutex; a panic elsewhere while it was held does not poison the simulator.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts a simulator: binds 127.0.0.1:0, seeds the catalogue and serves `routes` behind the
/// credential check and the fault injection.
pub(crate) async fn launch(
    platform: Arc<dyn Platform>,
    config: SimConfig,
    routes: impl FnOnce(Arc<Core>) -> Router,
) -> Result<(Arc<Core>, Arc<Server>), SimError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| SimError::Bind(err.to_string()))?;
    let address = listener.local_addr().map_err(|err| SimError::Bind(err.to_string()))?;
    let retry = config.retry.unwrap_or_else(|| platform.default_retry());
    let timeout = config.timeout.unwrap_or_else(|| platform.default_timeout());
    let state = State {
        ids: Ids::new(config.seed, platform.id_style()),
        products: Vec::new(),
        product_index: HashMap::new(),
        variant_index: HashMap::new(),
        inventory_index: HashMap::new(),
        orders: HashMap::new(),
        order_list: Vec::new(),
        fulfillment_orders: HashMap::new(),
        next_number: platform.first_number(),
        generator: None,
    };
    let catalogue = config
        .catalogue
        .clone()
        .unwrap_or_else(|| SimProduct::demo_catalogue(&config.currency));
    let core = Arc::new(Core {
        webhook_url: Mutex::new(config.webhook_url.clone()),
        platform,
        config,
        base_url: format!("http://{address}"),
        state: Mutex::new(state),
        faults: Mutex::new(Faults::default()),
        requests: Mutex::new(Vec::new()),
        listing_writes: AtomicUsize::new(0),
        http: crate::http_client(),
        retry,
        timeout,
    });
    for product in catalogue {
        core.add_product(product)?;
    }
    let app = routes(Arc::clone(&core)).layer(axum::middleware::from_fn_with_state(Arc::clone(&core), gate));
    let task = tokio::spawn(async move {
        // The server ends only when the simulator is dropped (the task is aborted).
        let _ = axum::serve(listener, app).await;
    });
    Ok((core, Arc::new(Server { task })))
}

/// In front of every API route: the credential check, then the injected faults; every request
/// is logged with its answer's status.
async fn gate(Shared(core): Shared<Arc<Core>>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map(|path| path.as_str().to_string())
        .unwrap_or_default();
    let response = if !core.platform.authorized(request.headers(), request.uri().query()) {
        core.platform
            .error(StatusCode::UNAUTHORIZED, "invalid or missing API credentials")
    } else if let Some(fault) = core.take_fault() {
        fault
    } else {
        next.run(request).await
    };
    lock(&core.requests).push(ApiRequest {
        method,
        path,
        status: response.status().as_u16(),
    });
    response
}

impl Core {
    fn take_fault(&self) -> Option<Response> {
        let mut faults = lock(&self.faults);
        if faults.rate_limited > 0 {
            faults.rate_limited -= 1;
            let mut response = self
                .platform
                .error(StatusCode::TOO_MANY_REQUESTS, "too many requests, slow down");
            if let Ok(value) = HeaderValue::from_str(&self.platform.retry_after(faults.retry_after)) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Some(response);
        }
        if faults.failing > 0 {
            faults.failing -= 1;
            return Some(
                self.platform
                    .error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error"),
            );
        }
        None
    }

    pub fn rate_limit_next(&self, count: u32, retry_after: Duration) {
        let mut faults = lock(&self.faults);
        faults.rate_limited = count;
        faults.retry_after = retry_after;
    }

    pub fn fail_next(&self, count: u32) {
        lock(&self.faults).failing = count;
    }

    pub fn refuse_refunds(&self, reason: Option<String>) {
        lock(&self.faults).refuse_refunds = reason;
    }

    pub fn lose_next_refund_answers(&self, count: u32) {
        lock(&self.faults).lost_refund_answers = count;
    }

    /// Why refunds through the gateway are refused now, if they are.
    pub(crate) fn refund_refusal(&self) -> Option<String> {
        lock(&self.faults).refuse_refunds.clone()
    }

    /// Whether the answer of the refund just made is to be lost (counted down).
    pub(crate) fn take_lost_refund_answer(&self) -> bool {
        let mut faults = lock(&self.faults);
        if faults.lost_refund_answers > 0 {
            faults.lost_refund_answers -= 1;
            return true;
        }
        false
    }

    pub fn requests(&self) -> Vec<ApiRequest> {
        lock(&self.requests).clone()
    }

    pub fn set_webhook_url(&self, url: String) {
        *lock(&self.webhook_url) = Some(url);
    }

    fn target(&self) -> Result<String, SimError> {
        lock(&self.webhook_url).clone().ok_or(SimError::NoWebhookUrl)
    }

    pub fn currency_scale(&self) -> u32 {
        currency_scale(&self.config.currency)
    }

    /// Adds a product after checking it: a title, at least one variant, unique non-empty
    /// SKUs, prices in the store currency, and the same option names on every variant.
    pub fn add_product(&self, product: SimProduct) -> Result<ProductIds, SimError> {
        let mut state = lock(&self.state);
        let prices = self.check_product(&product, |sku| state.variant_by_sku(sku).is_some())?;
        let ids = self.insert_product(&mut state, product, prices);
        // The next order draws from the new catalogue.
        state.generator = None;
        Ok(ids)
    }

    /// Adds `products` generated products of `variants_each` variants (a simple product for
    /// one; options `Size` × `Color` otherwise) at once, for tests and benchmarks that need a
    /// large catalogue fast. SKUs are `BULK-{n}` (simple) or `BULK-{n}-{v}`, prices from 5.00
    /// up, in the store currency; the products come back in order, with their ids.
    pub fn add_products(
        &self,
        products: usize,
        variants_each: usize,
    ) -> Result<Vec<(SimProduct, ProductIds)>, SimError> {
        if variants_each == 0 {
            return Err(SimError::InvalidProduct(
                "variants_each: a product needs at least one variant".to_string(),
            ));
        }
        let scale = self.currency_scale();
        let mut state = lock(&self.state);
        let mut taken: HashSet<String> = state
            .products
            .iter()
            .flat_map(|product| product.variants.iter().map(|variant| variant.sku.clone()))
            .collect();
        let first = state.products.len();
        let mut added = Vec::with_capacity(products);
        for index in first..first + products {
            let price = |variant: usize| format_amount(500 + ((index * 7 + variant * 3) % 9_500) as i64, scale);
            let product = if variants_each == 1 {
                SimProduct::simple(format!("Bulk product {index}"), format!("BULK-{index}"), price(0))
            } else {
                (0..variants_each).fold(SimProduct::new(format!("Bulk product {index}")), |product, variant| {
                    product.variant(
                        SimVariant::new(format!("BULK-{index}-{variant}"), price(variant))
                            .option("Size", format!("S{}", variant / 4 + 1))
                            .option("Color", ["Black", "White", "Red", "Blue"][variant % 4]),
                    )
                })
            };
            let prices = self.check_product(&product, |sku| taken.contains(sku))?;
            taken.extend(product.variants.iter().map(|variant| variant.sku.clone()));
            let ids = self.insert_product(&mut state, product.clone(), prices);
            added.push((product, ids));
        }
        state.generator = None;
        Ok(added)
    }

    /// The variants' prices in minor units once the product is checked; `taken` says whether
    /// a SKU is already in the store.
    fn check_product(&self, product: &SimProduct, taken: impl Fn(&str) -> bool) -> Result<Vec<i64>, SimError> {
        let scale = self.currency_scale();
        if product.title.trim().is_empty() {
            return Err(SimError::InvalidProduct("title: must not be empty".to_string()));
        }
        let Some(first) = product.variants.first() else {
            return Err(SimError::InvalidProduct(format!(
                "variants: \"{}\" needs at least one variant",
                product.title
            )));
        };
        let option_names: Vec<&String> = first.options.iter().map(|(name, _)| name).collect();
        let mut prices = Vec::with_capacity(product.variants.len());
        for (index, variant) in product.variants.iter().enumerate() {
            if variant.sku.trim().is_empty() {
                return Err(SimError::InvalidProduct(format!(
                    "variants[{index}].sku: must not be empty"
                )));
            }
            if taken(&variant.sku) || product.variants[..index].iter().any(|other| other.sku == variant.sku) {
                return Err(SimError::InvalidProduct(format!(
                    "variants[{index}].sku: \"{}\" is already used",
                    variant.sku
                )));
            }
            let names: Vec<&String> = variant.options.iter().map(|(name, _)| name).collect();
            if names != option_names {
                return Err(SimError::InvalidProduct(format!(
                    "variants[{index}].options: must name the options {option_names:?} in that order"
                )));
            }
            let price = parse_amount(&variant.price, scale).ok_or_else(|| {
                SimError::InvalidProduct(format!(
                    "variants[{index}].price: \"{}\" is not an amount in {} (at most {scale} decimals)",
                    variant.price, self.config.currency
                ))
            })?;
            if price < 0 {
                return Err(SimError::InvalidProduct(format!(
                    "variants[{index}].price: \"{}\" is negative",
                    variant.price
                )));
            }
            prices.push(price);
        }
        if option_names.is_empty() && product.variants.len() > 1 {
            return Err(SimError::InvalidProduct(format!(
                "variants: \"{}\" has several variants without options",
                product.title
            )));
        }
        Ok(prices)
    }

    /// Gives a checked product its ids and stores it, published, at the platform's initial
    /// stock, without compare-at prices.
    fn insert_product(&self, state: &mut State, product: SimProduct, prices: Vec<i64>) -> ProductIds {
        let option_names: Vec<String> = product.variants[0]
            .options
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let simple = option_names.is_empty();
        let product_id = state.ids.next(IdKind::Record);
        let stock = self.platform.initial_stock();
        let variants: Vec<Variant> = product
            .variants
            .iter()
            .zip(prices)
            .map(|(variant, price)| Variant {
                id: match (self.platform.id_style(), simple) {
                    // A simple WooCommerce product is its own variant; Wix gives the one
                    // variant of a product without options the all-zero id.
                    (IdStyle::PerTable, true) => product_id.clone(),
                    (IdStyle::Uuid, true) => uuid::Uuid::nil().to_string(),
                    _ => state.ids.next(IdKind::Record),
                },
                sku: variant.sku.clone(),
                price,
                compare_at: None,
                stock,
                options: variant.options.clone(),
                inventory_item_id: state.ids.next(IdKind::Item),
            })
            .collect();
        let ids = ProductIds {
            product_id: product_id.clone(),
            variant_ids: variants.iter().map(|variant| variant.id.clone()).collect(),
        };
        let position = state.products.len();
        state.product_index.insert(product_id.clone(), position);
        for (index, variant) in variants.iter().enumerate() {
            if !(simple && self.platform.id_style() == IdStyle::Uuid) {
                state.variant_index.insert(variant.id.clone(), (position, index));
            }
            state
                .inventory_index
                .insert(variant.inventory_item_id.clone(), (position, index));
        }
        state.products.push(Product {
            id: product_id,
            handle: slug(&product.title),
            title: product.title,
            created_at: now_seconds(),
            option_names,
            variants,
            published: true,
            discount: Discount::None,
        });
        ids
    }

    /// Counts a request that reached a listing write.
    pub(crate) fn count_listing_write(&self) {
        self.listing_writes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn listing_writes(&self) -> usize {
        self.listing_writes.load(Ordering::Relaxed)
    }

    pub fn stock_of(&self, variant_id: &str) -> Option<u32> {
        let state = lock(&self.state);
        let (product, variant) = state.variant_position(variant_id)?;
        state.products[product].variants[variant].stock
    }

    pub fn price_of(&self, variant_id: &str) -> Option<(i64, Option<i64>)> {
        let state = lock(&self.state);
        let (product, variant) = state.variant_position(variant_id)?;
        let variant = &state.products[product].variants[variant];
        Some((variant.price, variant.compare_at))
    }

    pub fn is_published(&self, product_id: &str) -> bool {
        let state = lock(&self.state);
        state
            .product_position(product_id)
            .is_some_and(|product| state.products[product].published)
    }

    /// Creates an order drawn from the seed and the catalogue; no webhook is sent.
    pub fn create_order(&self, test: bool) -> Result<String, SimError> {
        let mut state = lock(&self.state);
        if state.products.is_empty() {
            return Err(SimError::EmptyCatalogue);
        }
        let sequence = state.order_list.len() as u64;
        let generated = match state.generator.as_mut() {
            Some(generator) => generator.next_order(),
            None => {
                let catalogue = catalogue_items(&state.products, self.currency_scale());
                let mut generator = self
                    .generator(
                        splitmix(self.config.seed ^ sequence.wrapping_mul(0x2545_F491_4F6C_DD1D)),
                        catalogue,
                    )
                    .unpaid(self.config.unpaid)
                    .invalid_addresses(self.config.invalid_addresses);
                let order = generator.next_order();
                state.generator = Some(generator);
                order
            }
        };
        let body = &generated.body;
        let shipping_address = address_from(&body["shipping_address"]);
        let number = state.next_number;
        state.next_number += 1;
        let scale = self.currency_scale();
        let mut lines = Vec::new();
        for line in body["lines"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let sku = line["sku"].as_str().unwrap_or_default();
            let Some((product, variant)) = state.variant_by_sku(sku) else {
                continue;
            };
            let (product_id, product_title, simple) = (product.id.clone(), product.title.clone(), product.is_simple());
            let variant = variant.clone();
            let quantity = line["quantity"].as_u64().unwrap_or(1).clamp(1, 99) as u32;
            lines.push(Line {
                id: state.ids.next(IdKind::Item),
                product_id,
                variant_id: variant.id.clone(),
                simple,
                sku: variant.sku.clone(),
                title: product_title,
                variant_title: variant.title(),
                options: variant.options.clone(),
                quantity,
                price: variant.price,
                fulfilled: 0,
                fulfillment_order_line_id: state.ids.next(IdKind::Item),
                inventory_item_id: variant.inventory_item_id.clone(),
            });
        }
        let shipping_price = parse_amount(body["shipping_total"]["amount"].as_str().unwrap_or("0"), scale).unwrap_or(0);
        let payment = match (test, body["payment"].as_str()) {
            (true, _) | (false, Some("paid")) => Payment::Paid,
            (false, Some("authorized")) => Payment::Authorized,
            _ => Payment::Pending,
        };
        let created_at = now_seconds();
        let customer = Customer {
            id: state.ids.next(IdKind::Customer),
            first_name: shipping_address.first_name.clone(),
            last_name: shipping_address.last_name.clone(),
            email: email_for(&shipping_address, number),
            phone: body["customer"]["phone"].as_str().map(str::to_string),
        };
        let id = state.ids.next(IdKind::Record);
        let order = Order {
            id: id.clone(),
            number,
            test,
            token: state.ids.hex(32),
            created_at,
            updated_at: created_at,
            paid_at: (payment == Payment::Paid).then_some(created_at),
            cancelled_at: None,
            cancel_reason: None,
            completed_at: None,
            currency: self.config.currency.clone(),
            customer,
            billing_address: shipping_address.clone(),
            shipping_address,
            lines,
            shipping_line_id: state.ids.next(IdKind::Item),
            shipping_title: if shipping_price == 0 {
                "Free Shipping"
            } else {
                "Standard Shipping"
            }
            .to_string(),
            shipping_price,
            payment,
            status: self.platform.initial_status(payment),
            fulfillment_order_id: state.ids.next(IdKind::Record),
            fulfillment_order_status: "open".to_string(),
            fulfillments: Vec::new(),
            notes: Vec::new(),
            tracking: Vec::new(),
            payment_id: state.ids.next(IdKind::Item),
            refunds: Vec::new(),
            sequence,
            address_changes: 0,
        };
        state
            .fulfillment_orders
            .insert(order.fulfillment_order_id.clone(), id.clone());
        state.orders.insert(id.clone(), order);
        state.order_list.push(id.clone());
        Ok(id)
    }

    fn generator(&self, seed: u64, catalogue: Vec<CatalogueItem>) -> OrderGenerator {
        let shipping: &[&str] = match self.currency_scale() {
            0 => &["0", "500", "800", "1200"],
            3 => &["0.000", "1.500", "2.750", "4.000"],
            _ => &["0.00", "4.99", "7.50", "12.00"],
        };
        OrderGenerator::new(seed, catalogue)
            .currency(&self.config.currency)
            .shipping_charges(shipping)
    }

    /// Applies the change `topic` stands for to the order and renders its webhook. The
    /// webhook is rendered and signed from a copy of this version, outside the lock.
    pub fn record(&self, order_id: &str, topic: Topic) -> Result<WebhookEvent, SimError> {
        let (version, ids) = {
            let mut state = lock(&self.state);
            let replacement = match topic {
                Topic::Updated => {
                    let order = state
                        .order(order_id)
                        .ok_or_else(|| SimError::UnknownOrder(order_id.to_string()))?;
                    Some(self.new_address(order))
                }
                _ => None,
            };
            let State { ids, orders, .. } = &mut *state;
            let order = orders
                .get_mut(order_id)
                .ok_or_else(|| SimError::UnknownOrder(order_id.to_string()))?;
            match topic {
                Topic::Created => {}
                Topic::Paid => {
                    let at = order.touch();
                    self.mark_paid(order, at);
                }
                Topic::Updated => {
                    order.touch();
                    if let Some(address) = replacement {
                        order.shipping_address = address;
                    }
                    order.address_changes += 1;
                }
                Topic::Cancelled => {
                    let at = order.touch();
                    self.cancel(order, at, "customer");
                }
            }
            let event_ids = EventIds {
                uuid: ids.uuid(),
                other_uuid: ids.uuid(),
                hex: ids.hex(32),
            };
            (order.clone(), event_ids)
        };
        let webhook = self.platform.webhook(self, &version, topic, ids)?;
        Ok(WebhookEvent {
            topic,
            platform_topic: webhook.platform_topic,
            order_id: order_id.to_string(),
            delivery_id: webhook.delivery_id,
            event_id: webhook.event_id,
            headers: webhook.headers,
            body: webhook.body,
        })
    }

    pub fn mark_paid(&self, order: &mut Order, at: OffsetDateTime) {
        if order.payment != Payment::Paid {
            order.payment = Payment::Paid;
            order.paid_at = Some(at);
        }
        self.platform.on_paid(order);
    }

    /// Cancels the order (again, if it was): the time, the reason, the platform's statuses.
    pub fn cancel(&self, order: &mut Order, at: OffsetDateTime, reason: &str) {
        if order.cancelled_at.is_none() {
            order.cancelled_at = Some(at);
        }
        order.cancel_reason = Some(reason.to_string());
        if order.payment == Payment::Authorized {
            order.payment = Payment::Voided;
        }
        if order.fulfillment_order_status == "open" || order.fulfillment_order_status == "in_progress" {
            let shipped_any = order.lines.iter().any(|line| line.fulfilled > 0);
            order.fulfillment_order_status = if shipped_any { "closed" } else { "cancelled" }.to_string();
        }
        self.platform.on_cancelled(order);
    }

    /// A valid address elsewhere for the same recipient, drawn from the order's seed.
    fn new_address(&self, order: &Order) -> Address {
        let seed = splitmix(self.config.seed ^ splitmix(order.sequence) ^ (order.address_changes + 1).rotate_left(32));
        let catalogue = vec![CatalogueItem::new("ADDRESS", "address", "1.00")];
        let mut generator = self.generator(seed, catalogue);
        let mut address = address_from(&generator.next_order().body["shipping_address"]);
        // Retry a few draws so that the address really changes.
        for _ in 0..8 {
            if address.address1 != order.shipping_address.address1 {
                break;
            }
            address = address_from(&generator.next_order().body["shipping_address"]);
        }
        address.first_name = order.shipping_address.first_name.clone();
        address.last_name = order.shipping_address.last_name.clone();
        address
    }

    pub fn order_json(&self, order_id: &str) -> Option<Value> {
        let state = lock(&self.state);
        state
            .order(order_id)
            .map(|order| self.platform.render_order(self, order))
    }

    pub fn status(&self, order_id: &str) -> Option<String> {
        lock(&self.state)
            .order(order_id)
            .map(|order| self.platform.status(order))
    }

    pub fn order_ids(&self) -> Vec<String> {
        lock(&self.state).order_list.clone()
    }

    pub fn fulfillments(&self, order_id: &str) -> Vec<Fulfillment> {
        lock(&self.state)
            .order(order_id)
            .map(|order| order.fulfillments.clone())
            .unwrap_or_default()
    }

    pub fn refunds(&self, order_id: &str) -> Vec<Refund> {
        lock(&self.state)
            .order(order_id)
            .map(|order| order.refunds.clone())
            .unwrap_or_default()
    }

    pub fn notes(&self, order_id: &str) -> Vec<OrderNote> {
        lock(&self.state)
            .order(order_id)
            .map(|order| order.notes.clone())
            .unwrap_or_default()
    }

    pub fn tracking_items(&self, order_id: &str) -> Vec<TrackingItem> {
        lock(&self.state)
            .order(order_id)
            .map(|order| order.tracking.clone())
            .unwrap_or_default()
    }

    /// Posts `body` with `headers` to the webhook target once, without retry.
    pub async fn post_once(&self, headers: &[(&str, &str)], body: Bytes) -> Result<Attempt, SimError> {
        let url = self.target()?;
        let started = Instant::now();
        let mut request = self.http.post(&url).timeout(self.timeout).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                response.bytes().await.map(|_| status)
            }
            Err(err) => Err(err),
        };
        Ok(match answer {
            Ok(status) => Attempt {
                status: Some(status),
                error: None,
                latency: started.elapsed(),
            },
            Err(err) => Attempt {
                status: None,
                error: Some(error_chain(&err)),
                latency: started.elapsed(),
            },
        })
    }

    /// Sends one copy of `event` with the platform's retries; never fails, an unanswered
    /// delivery is one whose attempts have no status.
    async fn send_copy(&self, url: &str, event: &WebhookEvent, kind: DeliveryKind) -> WebhookDelivery {
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempts = Vec::new();
        loop {
            let started = Instant::now();
            let mut request = self.http.post(url).timeout(self.timeout).body(event.body.clone());
            for (name, value) in &event.headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let answer = match request.send().await {
                // Reading the body is part of the answer: a body cut off is no answer.
                Ok(response) => {
                    let status = response.status().as_u16();
                    response.bytes().await.map(|_| status)
                }
                Err(err) => Err(err),
            };
            let (status, error) = match answer {
                Ok(status) => (Some(status), None),
                Err(err) => (None, Some(error_chain(&err))),
            };
            attempts.push(Attempt {
                status,
                error,
                latency: started.elapsed(),
            });
            let accepted = status.is_some_and(|status| self.platform.accepts(status));
            let attempt = attempts.len() as u32;
            if accepted || attempt >= max_attempts {
                return WebhookDelivery {
                    order_id: event.order_id.clone(),
                    topic: event.topic,
                    platform_topic: event.platform_topic.clone(),
                    delivery_id: event.delivery_id.clone(),
                    kind,
                    attempts,
                    accepted,
                };
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
        }
    }

    /// Sends `event` and its copies: the racing ones together with it, the rest after.
    pub async fn deliver(
        self: &Arc<Self>,
        event: &WebhookEvent,
        misbehaviour: Misbehaviour,
    ) -> Result<Vec<WebhookDelivery>, SimError> {
        let url = self.target()?;
        let racing = misbehaviour.concurrent.min(misbehaviour.duplicates) as usize;
        let barrier = Arc::new(Barrier::new(racing + 1));
        let wave: Vec<(DeliveryKind, JoinHandle<WebhookDelivery>)> = (0..=racing)
            .map(|copy| {
                let kind = if copy == 0 {
                    DeliveryKind::First
                } else {
                    DeliveryKind::Duplicate
                };
                let core = Arc::clone(self);
                let event = event.clone();
                let barrier = Arc::clone(&barrier);
                let url = url.clone();
                let handle = tokio::spawn(async move {
                    barrier.wait().await;
                    core.send_copy(&url, &event, kind).await
                });
                (kind, handle)
            })
            .collect();
        let mut deliveries = Vec::with_capacity(misbehaviour.duplicates as usize + 1);
        for (kind, handle) in wave {
            deliveries.push(joined(handle, event, kind).await);
        }
        for _ in racing..misbehaviour.duplicates as usize {
            deliveries.push(self.send_copy(&url, event, DeliveryKind::Duplicate).await);
        }
        Ok(deliveries)
    }

    /// Sends `event` once more, later: the same delivery id and bytes.
    pub async fn redeliver(&self, event: &WebhookEvent) -> Result<WebhookDelivery, SimError> {
        let url = self.target()?;
        Ok(self.send_copy(&url, event, DeliveryKind::Redelivery).await)
    }

    pub async fn send(self: &Arc<Self>, order_id: &str, topic: Topic) -> Result<WebhookDelivery, SimError> {
        let url = self.target()?;
        let event = self.record(order_id, topic)?;
        Ok(self.send_copy(&url, &event, DeliveryKind::First).await)
    }

    pub async fn deliver_orders(self: &Arc<Self>, count: usize, scenario: Scenario) -> Result<Vec<OrderRun>, SimError> {
        self.target()?;
        // Orders are created first, in sequence, so that the same seed gives the same orders
        // whatever the scheduling of their deliveries.
        let order_ids = (0..count)
            .map(|_| self.create_order(false))
            .collect::<Result<Vec<_>, _>>()?;
        let permits = Arc::new(Semaphore::new(scenario.concurrency.max(1)));
        let mut running = Vec::with_capacity(count);
        for order_id in order_ids {
            let permit = Arc::clone(&permits).acquire_owned().await.ok();
            let core = Arc::clone(self);
            running.push(tokio::spawn(async move {
                let run = core.run_order(order_id, scenario).await;
                drop(permit);
                run
            }));
        }
        let mut runs = Vec::with_capacity(running.len());
        for handle in running {
            match handle.await {
                Ok(run) => runs.push(run?),
                Err(err) => match err.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(err) => return Err(SimError::Interrupted(err.to_string())),
                },
            }
        }
        Ok(runs)
    }

    async fn run_order(self: &Arc<Self>, order_id: String, scenario: Scenario) -> Result<OrderRun, SimError> {
        let mut topics = vec![Topic::Created];
        if scenario.paid {
            topics.push(Topic::Paid);
        }
        if scenario.updated {
            topics.push(Topic::Updated);
        }
        if scenario.cancelled {
            topics.push(Topic::Cancelled);
        }
        if scenario.out_of_order && topics.len() < 2 {
            topics.push(Topic::Updated);
        }
        let misbehaviour = scenario.misbehaviour;
        let mut deliveries = Vec::new();
        let mut creation = None;
        let mut remaining = topics.as_slice();
        if scenario.out_of_order {
            let older = self.record(&order_id, topics[0])?;
            let newer = self.record(&order_id, topics[1])?;
            deliveries.extend(self.deliver(&newer, misbehaviour).await?);
            deliveries.extend(self.deliver(&older, misbehaviour).await?);
            creation = Some(older);
            remaining = &topics[2..];
        }
        for topic in remaining {
            let event = self.record(&order_id, *topic)?;
            deliveries.extend(self.deliver(&event, misbehaviour).await?);
            if creation.is_none() {
                creation = Some(event);
            }
        }
        if scenario.stale_redelivery
            && let Some(event) = &creation
        {
            deliveries.push(self.redeliver(event).await?);
        }
        Ok(OrderRun { order_id, deliveries })
    }
}

async fn joined(handle: JoinHandle<WebhookDelivery>, event: &WebhookEvent, kind: DeliveryKind) -> WebhookDelivery {
    match handle.await {
        Ok(delivery) => delivery,
        Err(err) => match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => WebhookDelivery {
                order_id: event.order_id.clone(),
                topic: event.topic,
                platform_topic: event.platform_topic.clone(),
                delivery_id: event.delivery_id.clone(),
                kind,
                attempts: vec![Attempt {
                    status: None,
                    error: Some(format!("the delivery task was dropped: {err}")),
                    latency: Duration::ZERO,
                }],
                accepted: false,
            },
        },
    }
}

/// The methods every platform simulator has, written once. The simulator type must have a
/// `core: Arc<Core>` field.
macro_rules! sim_methods {
    () => {
        /// The API base URL (`http://127.0.0.1:PORT`): dropline's `api_base` for this store.
        pub fn base_url(&self) -> &str {
            &self.core.base_url
        }

        /// Where webhooks go from now on: `{dropline}/webhooks/{platform}/{store_id}`.
        pub fn set_webhook_url(&self, url: impl Into<String>) {
            self.core.set_webhook_url(url.into());
        }

        /// Adds a product to the catalogue (the API lists it, new orders may contain it) and
        /// returns the ids the platform gave it. Refused, naming the field, when the title is
        /// empty, it has no variant, a SKU is empty or already used, a price is not an amount
        /// in the store currency, or the variants do not name the same options.
        pub fn add_product(
            &self,
            product: $crate::storefront::SimProduct,
        ) -> Result<$crate::storefront::ProductIds, $crate::storefront::SimError> {
            self.core.add_product(product)
        }

        /// Creates an order drawn from the seed and the catalogue (a customer, an address in
        /// one of ten countries, one to three lines, shipping, sequential number) and returns
        /// its platform id. Nothing is sent: see [`Self::record`] and [`Self::send`].
        pub fn create_order(&self) -> Result<String, $crate::storefront::SimError> {
            self.core.create_order(false)
        }

        /// Makes the change `topic` stands for (pays, changes the address, cancels; nothing for
        /// `Created`), which the API shows at once, and returns the webhook announcing this
        /// version, signed, without sending it.
        pub fn record(
            &self,
            order_id: &str,
            topic: $crate::storefront::Topic,
        ) -> Result<$crate::storefront::WebhookEvent, $crate::storefront::SimError> {
            self.core.record(order_id, topic)
        }

        /// Sends a recorded webhook with its duplicates, each retried as the platform retries,
        /// and returns every delivery: the first, then the copies.
        pub async fn deliver(
            &self,
            event: &$crate::storefront::WebhookEvent,
            misbehaviour: $crate::storefront::Misbehaviour,
        ) -> Result<Vec<$crate::storefront::WebhookDelivery>, $crate::storefront::SimError> {
            self.core.deliver(event, misbehaviour).await
        }

        /// Sends a webhook recorded earlier once more (a stale redelivery): the same delivery
        /// id, headers and bytes.
        pub async fn redeliver(
            &self,
            event: &$crate::storefront::WebhookEvent,
        ) -> Result<$crate::storefront::WebhookDelivery, $crate::storefront::SimError> {
            self.core.redeliver(event).await
        }

        /// [`Self::record`] and send once (with the platform's retries).
        pub async fn send(
            &self,
            order_id: &str,
            topic: $crate::storefront::Topic,
        ) -> Result<$crate::storefront::WebhookDelivery, $crate::storefront::SimError> {
            self.core.send(order_id, topic).await
        }

        /// Creates `count` orders and delivers each as `scenario` says; the runs come back in
        /// the order the orders were created, each naming its order id.
        pub async fn deliver_orders(
            &self,
            count: usize,
            scenario: &$crate::storefront::Scenario,
        ) -> Result<Vec<$crate::storefront::OrderRun>, $crate::storefront::SimError> {
            self.core.deliver_orders(count, *scenario).await
        }

        /// The order as the API returns it now (the platform's JSON), `None` if unknown.
        pub fn order(&self, order_id: &str) -> Option<serde_json::Value> {
            self.core.order_json(order_id)
        }

        /// Every order id, in the order the orders were created.
        pub fn order_ids(&self) -> Vec<String> {
            self.core.order_ids()
        }

        /// The next `count` authorized API requests are answered 429 with `Retry-After`.
        pub fn rate_limit_next(&self, count: u32, retry_after: std::time::Duration) {
            self.core.rate_limit_next(count, retry_after);
        }

        /// The next `count` authorized API requests (after any rate limiting) are answered 500.
        pub fn fail_next(&self, count: u32) {
            self.core.fail_next(count);
        }

        /// Every API request answered so far, in order, with its status.
        pub fn requests(&self) -> Vec<$crate::storefront::ApiRequest> {
            self.core.requests()
        }

        /// The order's refunds, oldest first (empty for an unknown order).
        pub fn refunds(&self, order_id: &str) -> Vec<$crate::storefront::Refund> {
            self.core.refunds(order_id)
        }

        /// From now on (`Some`), a refund the payment gateway is to return is refused with
        /// this reason, as the platform refuses one its gateway cannot make: Shopify 422,
        /// WooCommerce 500 `woocommerce_rest_cannot_create_order_refund`, Wix 428. `None`
        /// takes refunds again.
        pub fn refuse_refunds(&self, reason: Option<&str>) {
            self.core.refuse_refunds(reason.map(str::to_string));
        }

        /// The next `count` refunds are made, then answered 500, as when the answer is lost
        /// on its way back.
        pub fn lose_next_refund_answers(&self, count: u32) {
            self.core.lose_next_refund_answers(count);
        }

        /// Adds `products` generated products of `variants_each` variants each in one go (a
        /// simple product when `variants_each` is 1), for a large catalogue fast; see
        /// [`SimProduct`](crate::storefront::SimProduct) for what each is. SKUs are `BULK-{n}`
        /// or `BULK-{n}-{v}`. Refused when `variants_each` is 0.
        pub fn add_products(
            &self,
            products: usize,
            variants_each: usize,
        ) -> Result<Vec<($crate::storefront::SimProduct, $crate::storefront::ProductIds)>, $crate::storefront::SimError>
        {
            self.core.add_products(products, variants_each)
        }

        /// The variant's stock, `None` when the platform does not count it (or the variant is
        /// unknown). A variant is named by its platform id; the one variant of a product
        /// without options also by the product's id.
        pub fn stock_of(&self, platform_variant_id: &str) -> Option<u32> {
            self.core.stock_of(platform_variant_id)
        }

        /// The variant's price and compare-at ("was") price in minor units of the store
        /// currency, as the shop shows them; `None` for an unknown variant.
        pub fn price_of(&self, platform_variant_id: &str) -> Option<(i64, Option<i64>)> {
            self.core.price_of(platform_variant_id)
        }

        /// Whether the product is shown in the shop (`false` for an unknown product).
        pub fn is_published(&self, product_id: &str) -> bool {
            self.core.is_published(product_id)
        }

        /// How many requests reached one of the listing writes (stock, price, visibility),
        /// whatever they were answered; requests stopped by the credential check or an
        /// injected fault are not counted.
        pub fn listing_writes(&self) -> usize {
            self.core.listing_writes()
        }
    };
}

pub(crate) use sim_methods;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Adds the fields of `more` to the object `body` (for objects too large for one `json!`).
pub(crate) fn merge(body: &mut Value, more: Value) {
    if let (Value::Object(body), Value::Object(more)) = (body, more) {
        body.extend(more);
    }
}

/// A well-mixed 64-bit value of `x` (SplitMix64).
pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Now, whole seconds (platforms print seconds).
pub(crate) fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// How many decimals amounts of this currency have.
pub(crate) fn currency_scale(code: &str) -> u32 {
    match code {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" | "RWF" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        _ => 2,
    }
}

/// `"12.5"` with two decimals is 1250; `None` unless the text is a plain decimal number with
/// at most `scale` decimals.
pub(crate) fn parse_amount(text: &str, scale: u32) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (digits, ""),
    };
    let decimal = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !decimal(whole) || !decimal(fraction) || fraction.len() > scale as usize {
        return None;
    }
    if digits.contains('.') && fraction.is_empty() {
        return None;
    }
    let mut minor: i64 = whole.parse().ok()?;
    for index in 0..scale as usize {
        let digit = fraction.as_bytes().get(index).map_or(0, |b| i64::from(b - b'0'));
        minor = minor.checked_mul(10)?.checked_add(digit)?;
    }
    Some(if negative { -minor } else { minor })
}

/// 1250 with two decimals is `"12.50"`.
pub(crate) fn format_amount(minor: i64, scale: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{minor}");
    }
    let unit = 10u64.pow(scale);
    format!(
        "{sign}{}.{:0width$}",
        minor / unit,
        minor % unit,
        width = scale as usize
    )
}

/// An amount as a JSON number with the decimal text's digits (for the formats that send prices
/// as numbers).
pub(crate) fn amount_number(minor: i64, scale: u32) -> Value {
    serde_json::from_str::<serde_json::Number>(&format_amount(minor, scale))
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// `base64(HMAC-SHA256(secret, body))`, as Shopify and WooCommerce sign webhooks.
pub(crate) fn hmac_base64(secret: &str, body: &[u8]) -> String {
    use base64::Engine;
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length: this never happens.
        Err(_) => String::new(),
    }
}

/// Lower-case words joined by `-` (`"Sim Supply Co"` → `sim-supply-co`).
pub(crate) fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() { "store".to_string() } else { slug }
}

fn option_title(options: &[(String, String)]) -> Option<String> {
    (!options.is_empty()).then(|| {
        options
            .iter()
            .map(|(_, value)| value.as_str())
            .collect::<Vec<_>>()
            .join(" / ")
    })
}

fn catalogue_items(products: &[Product], scale: u32) -> Vec<CatalogueItem> {
    products
        .iter()
        .flat_map(|product| {
            product.variants.iter().map(|variant| {
                let item = CatalogueItem::new(&variant.sku, &product.title, format_amount(variant.price, scale));
                match variant.title() {
                    Some(title) => item.with_variant_title(title),
                    None => item,
                }
            })
        })
        .collect()
}

/// An address of the generator's JSON.
fn address_from(json: &Value) -> Address {
    let text = |field: &str| json[field].as_str().unwrap_or_default().to_string();
    let optional = |field: &str| {
        json[field]
            .as_str()
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    };
    Address {
        first_name: text("first_name"),
        last_name: text("last_name"),
        company: optional("company"),
        address1: text("address1"),
        address2: optional("address2"),
        city: text("city"),
        region: optional("region"),
        postal_code: text("postal_code"),
        country_code: text("country_code"),
        phone: optional("phone"),
    }
}

/// `first.last1042@example.com`, ASCII only.
fn email_for(address: &Address, number: u64) -> String {
    let part = |name: &str| -> String {
        name.chars()
            .flat_map(char::to_lowercase)
            .map(|c| match c {
                'à' | 'á' | 'â' | 'ã' | 'ä' => 'a',
                'ç' => 'c',
                'è' | 'é' | 'ê' | 'ë' => 'e',
                'ì' | 'í' | 'î' | 'ï' => 'i',
                'ñ' => 'n',
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
                'ù' | 'ú' | 'û' | 'ü' => 'u',
                other => other,
            })
            .filter(char::is_ascii_alphanumeric)
            .collect()
    };
    let local = format!("{}.{}", part(&address.first_name), part(&address.last_name));
    let local = if local == "." { "customer".to_string() } else { local };
    format!("{local}{number}@example.com")
}

/// The country's English name (the codes the generator uses), else the code.
pub(crate) fn country_name(code: &str) -> &str {
    match code {
        "US" => "United States",
        "CA" => "Canada",
        "GB" => "United Kingdom",
        "DE" => "Germany",
        "FR" => "France",
        "AU" => "Australia",
        "JP" => "Japan",
        "BR" => "Brazil",
        "NL" => "Netherlands",
        "ES" => "Spain",
        other => other,
    }
}

/// The region's name where the code is one the generator uses, else the text as given.
pub(crate) fn region_name<'a>(country: &str, region: &'a str) -> &'a str {
    match (country, region) {
        ("US", "IL") => "Illinois",
        ("US", "OR") => "Oregon",
        ("US", "MA") => "Massachusetts",
        ("US", "CA") => "California",
        ("US", "GA") => "Georgia",
        ("US", "NY") => "New York",
        ("CA", "ON") => "Ontario",
        ("CA", "QC") => "Quebec",
        ("CA", "BC") => "British Columbia",
        ("AU", "NSW") => "New South Wales",
        ("AU", "VIC") => "Victoria",
        ("AU", "QLD") => "Queensland",
        ("BR", "SP") => "São Paulo",
        ("BR", "RJ") => "Rio de Janeiro",
        ("BR", "MG") => "Minas Gerais",
        ("ES", "M") => "Madrid",
        ("ES", "B") => "Barcelona",
        ("ES", "SE") => "Sevilla",
        _ => region,
    }
}

/// The symbol amounts are shown with (`$12.50`), else the code and a space.
pub(crate) fn formatted_amount(minor: i64, currency: &str) -> String {
    let amount = format_amount(minor, currency_scale(currency));
    match currency {
        "USD" => format!("${amount}"),
        "EUR" => format!("€{amount}"),
        "GBP" => format!("£{amount}"),
        "JPY" => format!("¥{amount}"),
        "CAD" => format!("CA${amount}"),
        "AUD" => format!("A${amount}"),
        "BRL" => format!("R${amount}"),
        other => format!("{other} {amount}"),
    }
}

/// An error with its sources, `outer: inner: innermost`.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The JSON body of a request, or the reason it is not one.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Err("the body is empty; a JSON object is expected".to_string());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err("the body must be a JSON object".to_string()),
        Err(err) => Err(format!("the body is not valid JSON: {err}")),
    }
}

/// A query string's parameters (later ones win), percent-decoded.
pub(crate) fn query_params(query: Option<&str>) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for pair in query.unwrap_or_default().split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(percent_decode(key), percent_decode(value));
    }
    params
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let decoded = std::str::from_utf8(&bytes[index + 1..index + 3])
                    .ok()
                    .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match decoded {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_and_format_in_minor_units() {
        assert_eq!(parse_amount("12.5", 2), Some(1250));
        assert_eq!(parse_amount("12.50", 2), Some(1250));
        assert_eq!(parse_amount("12", 2), Some(1200));
        assert_eq!(parse_amount("0.05", 2), Some(5));
        assert_eq!(parse_amount("-3.10", 2), Some(-310));
        assert_eq!(parse_amount("4999", 0), Some(4999));
        assert_eq!(parse_amount("1.234", 3), Some(1234));
        for bad in ["", "abc", "1.", ".5", "1.234", "1,50", "1e3", "- 1", "--1"] {
            assert_eq!(parse_amount(bad, 2), None, "{bad}");
        }
        assert_eq!(parse_amount("12.5", 0), None);
        assert_eq!(format_amount(1250, 2), "12.50");
        assert_eq!(format_amount(5, 2), "0.05");
        assert_eq!(format_amount(-310, 2), "-3.10");
        assert_eq!(format_amount(4999, 0), "4999");
        assert_eq!(format_amount(1234, 3), "1.234");
        assert_eq!(amount_number(1250, 2).to_string(), "12.5");
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // Computed independently with Python's hmac module.
        let body = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
        assert_eq!(
            hmac_base64("hush", body),
            "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8="
        );
    }

    #[test]
    fn query_strings_are_decoded() {
        let params = query_params(Some("limit=50&page_info=ab%2Bc%3D&q=a+b&flag&bad=%zz&end=%4"));
        assert_eq!(params["limit"], "50");
        assert_eq!(params["page_info"], "ab+c=");
        assert_eq!(params["q"], "a b");
        assert_eq!(params["flag"], "");
        assert_eq!(params["bad"], "%zz");
        assert_eq!(params["end"], "%4");
        assert!(query_params(None).is_empty());
    }

    #[test]
    fn slugs_and_emails_are_plain_ascii() {
        assert_eq!(slug("Sim Supply Co"), "sim-supply-co");
        assert_eq!(slug("  Café & Co.  "), "caf-co");
        assert_eq!(slug("!!!"), "store");
        let address = Address {
            first_name: "Chloé".into(),
            last_name: "de Jong".into(),
            company: None,
            address1: String::new(),
            address2: None,
            city: String::new(),
            region: None,
            postal_code: String::new(),
            country_code: "NL".into(),
            phone: None,
        };
        assert_eq!(email_for(&address, 1042), "chloe.dejong1042@example.com");
    }
}
