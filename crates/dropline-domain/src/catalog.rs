//! Stores, suppliers and the catalogue: products, variants and the offers (variant mappings)
//! that say which supplier variant ships each store variant.

use crate::address::Address;
use crate::ids::{OfferId, ProductId, StoreId, SupplierId, VariantId};
use crate::money::{Currency, Money};
use crate::state::snake_enum;
use serde::{Deserialize, Serialize};
use std::fmt;

snake_enum!(
    /// Where a store's orders come from.
    Platform {
        Shopify => "shopify",
        Woocommerce => "woocommerce",
        Wix => "wix",
        Api => "api",
        Csv => "csv",
    }
);

snake_enum!(
    /// How the router picks among a variant's offers.
    RoutingPolicy {
        /// Lowest unit cost plus shipping to the destination.
        CheapestLanded => "cheapest_landed",
        /// Fewest delivery days (measured lane, else the offer's stated days).
        Fastest => "fastest",
        /// Highest supplier rating.
        BestRated => "best_rated",
        /// The primary offer, the backup only when the primary cannot serve.
        PrimaryThenBackup => "primary_then_backup",
        /// A weighted score of margin, speed, rating and on-time rate.
        Weighted => "weighted",
    }
);

/// Weights of the `weighted` policy, in whole percent points (no floats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingWeights {
    pub margin: u32,
    pub speed: u32,
    pub rating: u32,
    pub on_time: u32,
}

impl Default for RoutingWeights {
    fn default() -> Self {
        Self {
            margin: 40,
            speed: 30,
            rating: 15,
            on_time: 15,
        }
    }
}

/// When a store accepts orders by itself. Every condition set must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoAcceptRules {
    /// Automatic acceptance is on.
    #[serde(default)]
    pub enabled: bool,
    /// Only orders whose payment is captured.
    #[serde(default = "yes")]
    pub require_paid: bool,
    /// Only orders whose total is at most this (minor units of the store currency).
    #[serde(default)]
    pub max_total_minor: Option<i64>,
    /// Only orders whose every line is one of these SKUs (empty = any product), so a seller
    /// can automate a few products first.
    #[serde(default)]
    pub allowed_skus: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A store's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSettings {
    #[serde(default)]
    pub auto_accept: AutoAcceptRules,
    #[serde(default = "default_policy")]
    pub routing_policy: RoutingPolicy,
    #[serde(default)]
    pub routing_weights: RoutingWeights,
    /// Whether the storefront itself emails the customer when dropline writes a fulfillment
    /// back (off when dropline sends its own emails).
    #[serde(default)]
    pub storefront_notifies_customer: bool,
    /// How far above the expected cost (basis points) a supplier's fresh quote or charge
    /// may be before the supplier order is held for the seller's decision.
    #[serde(default = "default_price_tolerance_bp")]
    pub supplier_price_tolerance_bp: u32,
    /// The lowest margin (basis points of the lines' revenue) a supplier order may leave
    /// after its fresh quote; below it the supplier order is held. `None`: no floor.
    #[serde(default)]
    pub margin_floor_bp: Option<u32>,
    /// A note sent to every supplier with the order, for blind dropshipping (e.g. "no
    /// invoice, no prices, neutral packaging").
    #[serde(default)]
    pub supplier_note: Option<String>,
    /// How the store appears to its customers in emails and on the tracking page.
    #[serde(default)]
    pub brand: StoreBrand,
    /// Which customer emails the store sends.
    #[serde(default)]
    pub customer_emails: CustomerEmails,
    /// What the seller is told, and where.
    #[serde(default)]
    pub seller_notifications: SellerNotifications,
    /// The limit of each stage's clock.
    #[serde(default)]
    pub clocks: ClockLimits,
    /// What the engine does by itself about an exception.
    #[serde(default)]
    pub exception_automation: ExceptionAutomation,
    /// What the store pays on its sales (payment processor, platform, lost disputes): the
    /// ledger's fee entries.
    #[serde(default)]
    pub fees: crate::after_sale::Fees,
    /// Days a vendor's earning of a delivered order is held before it can be paid out
    /// (marketplace mode); only the operator changes it.
    #[serde(default = "default_holding_days")]
    pub holding_days: u32,
    /// The store's rules on its customers' returns: the window, and what is decided
    /// without the seller.
    #[serde(default)]
    pub returns: ReturnRules,
    /// Stock sync from the suppliers to the storefront.
    #[serde(default)]
    pub inventory: crate::inventory::InventorySettings,
    /// Prices computed from the suppliers' costs.
    #[serde(default)]
    pub pricing: crate::inventory::PricingSettings,
}

fn default_holding_days() -> u32 {
    crate::payout::DEFAULT_HOLDING_DAYS
}

/// The longest return window a store may give, in days after delivery.
pub const MAX_STORE_RETURN_WINDOW_DAYS: u32 = 365;

/// A store's rules on returns, applied in the write of the request itself (see
/// `Order::request_return_under_rules`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRules {
    /// Days after delivery within which a return may be requested, counted in whole UTC
    /// days (the last day is accepted); 0: the store takes no returns.
    #[serde(default = "default_return_window")]
    pub window_days: u32,
    /// The reasons whose returns are approved at once, without the seller.
    #[serde(default)]
    pub auto_approve_reasons: Vec<crate::after_sale::ReturnReason>,
    /// When set, an auto-approved return whose units sold for at most this amount (minor
    /// units of the store's currency) is refunded at once and the customer keeps the item:
    /// sending it back would cost more than it is worth. `None`: never.
    #[serde(default)]
    pub returnless_refund_up_to_minor: Option<i64>,
}

impl Default for ReturnRules {
    fn default() -> Self {
        Self {
            window_days: default_return_window(),
            auto_approve_reasons: Vec::new(),
            returnless_refund_up_to_minor: None,
        }
    }
}

/// The store's brand, the only name a customer ever sees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreBrand {
    /// The name in the From header and on the page; the store's name when unset.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `https://` URL of the logo shown in emails and on the tracking page.
    #[serde(default)]
    pub logo_url: Option<String>,
    /// The address emails are sent from (`orders@shop.example`).
    #[serde(default)]
    pub from_email: Option<String>,
    /// Where the customer's replies go; `support_email` when unset.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The support address shown to the customer.
    #[serde(default)]
    pub support_email: Option<String>,
    /// The storefront's public URL (links in emails).
    #[serde(default)]
    pub website_url: Option<String>,
}

/// Per-message switches of the customer emails (all on by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerEmails {
    #[serde(default = "yes")]
    pub order_confirmed: bool,
    #[serde(default = "yes")]
    pub shipped: bool,
    #[serde(default = "yes")]
    pub delayed: bool,
    #[serde(default = "yes")]
    pub out_for_delivery: bool,
    #[serde(default = "yes")]
    pub delivered: bool,
    #[serde(default = "yes")]
    pub delivery_failed: bool,
    #[serde(default = "yes")]
    pub cancelled: bool,
    #[serde(default = "yes")]
    pub refund_issued: bool,
    /// The customer is to send a return back: where to, and what.
    #[serde(default = "yes")]
    pub return_approved: bool,
    /// A return resolved by replacement or exchange: what is being sent instead.
    #[serde(default = "yes")]
    pub replacement_on_its_way: bool,
}

impl Default for CustomerEmails {
    fn default() -> Self {
        Self {
            order_confirmed: true,
            shipped: true,
            delayed: true,
            out_for_delivery: true,
            delivered: true,
            delivery_failed: true,
            cancelled: true,
            refund_issued: true,
            return_approved: true,
            replacement_on_its_way: true,
        }
    }
}

impl CustomerEmails {
    /// Whether the customer email of this template is on (unknown templates are off).
    pub fn allows(&self, template: &str) -> bool {
        match template {
            "order_confirmed" => self.order_confirmed,
            "shipped" => self.shipped,
            "delayed" => self.delayed,
            "out_for_delivery" => self.out_for_delivery,
            "delivered" => self.delivered,
            "delivery_failed" => self.delivery_failed,
            "cancelled" => self.cancelled,
            "refund_issued" => self.refund_issued,
            "return_approved" => self.return_approved,
            "replacement_on_its_way" => self.replacement_on_its_way,
            _ => false,
        }
    }
}

/// What the seller is emailed about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerNotifications {
    /// The seller's address; no seller email is sent without it.
    #[serde(default)]
    pub email: Option<String>,
    /// An email for every new order.
    #[serde(default = "yes")]
    pub new_order: bool,
    /// An email when an order needs the seller (an exception is raised).
    #[serde(default = "yes")]
    pub needs_attention: bool,
    /// A daily digest of the open exceptions.
    #[serde(default = "yes")]
    pub daily_digest: bool,
    /// The UTC hour (0–23) the digest goes out.
    #[serde(default = "default_digest_hour")]
    pub digest_hour_utc: u8,
}

fn default_digest_hour() -> u8 {
    7
}

impl Default for SellerNotifications {
    fn default() -> Self {
        Self {
            email: None,
            new_order: true,
            needs_attention: true,
            daily_digest: true,
            digest_hour_utc: default_digest_hour(),
        }
    }
}

/// The limit of each stage's clock, in hours. A lane with history replaces the transit and
/// shipping limits with what was measured on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockLimits {
    /// Paid (received) → placed with the supplier.
    #[serde(default = "default_to_placed")]
    pub placed_within_hours: u32,
    /// Placed → accepted by the supplier.
    #[serde(default = "default_to_accepted")]
    pub accepted_within_hours: u32,
    /// Accepted → shipped (a tracking number).
    #[serde(default = "default_to_shipped")]
    pub shipped_within_hours: u32,
    /// Shipped → the carrier's first scan.
    #[serde(default = "default_to_first_scan")]
    pub first_scan_within_hours: u32,
    /// First scan → delivered, when the lane has no history.
    #[serde(default = "default_transit")]
    pub transit_within_hours: u32,
    /// A moving parcel with no news for this long is stalled.
    #[serde(default = "default_stalled")]
    pub no_news_hours: u32,
    /// A parcel in customs for this long is stuck.
    #[serde(default = "default_customs")]
    pub customs_hours: u32,
}

fn default_to_placed() -> u32 {
    24
}
fn default_to_accepted() -> u32 {
    48
}
fn default_to_shipped() -> u32 {
    5 * 24
}
fn default_to_first_scan() -> u32 {
    4 * 24
}
fn default_transit() -> u32 {
    25 * 24
}
fn default_stalled() -> u32 {
    7 * 24
}
fn default_customs() -> u32 {
    5 * 24
}

impl Default for ClockLimits {
    fn default() -> Self {
        Self {
            placed_within_hours: default_to_placed(),
            accepted_within_hours: default_to_accepted(),
            shipped_within_hours: default_to_shipped(),
            first_scan_within_hours: default_to_first_scan(),
            transit_within_hours: default_transit(),
            no_news_hours: default_stalled(),
            customs_hours: default_customs(),
        }
    }
}

/// What the engine may do about an exception without the seller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionAutomation {
    /// Email the customer when the parcel is late (the `delayed` message).
    #[serde(default = "yes")]
    pub tell_customer_when_late: bool,
    /// Switch a supplier order that missed its shipping clock to the next offer.
    #[serde(default)]
    pub switch_supplier_when_late: bool,
}

impl Default for ExceptionAutomation {
    fn default() -> Self {
        Self {
            tell_customer_when_late: true,
            switch_supplier_when_late: false,
        }
    }
}

fn default_price_tolerance_bp() -> u32 {
    500
}

fn default_policy() -> RoutingPolicy {
    RoutingPolicy::PrimaryThenBackup
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            auto_accept: AutoAcceptRules::default(),
            routing_policy: default_policy(),
            routing_weights: RoutingWeights::default(),
            storefront_notifies_customer: false,
            supplier_price_tolerance_bp: default_price_tolerance_bp(),
            margin_floor_bp: None,
            supplier_note: None,
            brand: StoreBrand::default(),
            customer_emails: CustomerEmails::default(),
            seller_notifications: SellerNotifications::default(),
            clocks: ClockLimits::default(),
            exception_automation: ExceptionAutomation::default(),
            fees: crate::after_sale::Fees::default(),
            holding_days: default_holding_days(),
            returns: ReturnRules::default(),
            inventory: crate::inventory::InventorySettings::default(),
            pricing: crate::inventory::PricingSettings::default(),
        }
    }
}

/// A seller's store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    pub id: StoreId,
    pub name: String,
    pub platform: Platform,
    pub currency: Currency,
    /// The store's own address: a supplier order is never shipped there.
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub settings: StoreSettings,
}

/// How dropline reaches a store's platform: where its API is, how to sign in, and the
/// secrets its webhooks are signed with. Kept apart from [`Store`] because it holds secrets
/// that are never shown again once set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreConnection {
    /// The shop's domain, e.g. `example.myshopify.com` or `shop.example`.
    #[serde(default)]
    pub domain: Option<String>,
    /// Base URL of the platform's API when it is not `https://{domain}` (a simulator, a
    /// proxy); for Wix, which is reached at `https://www.wixapis.com`.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Shopify: the Admin API access token. Wix: the API key.
    #[serde(default)]
    pub access_token: Option<String>,
    /// WooCommerce: the REST consumer key. Wix: the site id.
    #[serde(default)]
    pub api_key: Option<String>,
    /// WooCommerce: the REST consumer secret.
    #[serde(default)]
    pub api_secret: Option<String>,
    /// Webhook secrets, newest first; two during a rotation. Shopify and WooCommerce: the
    /// HMAC key. Wix: the app's public key (PEM) its JWTs are signed with.
    #[serde(default)]
    pub webhook_secrets: Vec<String>,
}

impl fmt::Debug for StoreConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<hidden>");
        f.debug_struct("StoreConnection")
            .field("domain", &self.domain)
            .field("api_base", &self.api_base)
            .field("access_token", &hidden(&self.access_token))
            .field("api_key", &hidden(&self.api_key))
            .field("api_secret", &hidden(&self.api_secret))
            .field("webhook_secrets", &self.webhook_secrets.len())
            .finish()
    }
}

/// At most this many webhook secrets per store (the current one and the one being retired).
pub const MAX_WEBHOOK_SECRETS: usize = 2;

snake_enum!(
    /// How a supplier is reached.
    SupplierKind {
        Aliexpress => "aliexpress",
        Cj => "cj",
        Agent => "agent",
        Warehouse => "warehouse",
        Manual => "manual",
    }
);

/// Who ships the goods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supplier {
    pub id: SupplierId,
    pub store_id: StoreId,
    pub name: String,
    pub kind: SupplierKind,
    /// ISO 3166-1 alpha-2 country the goods leave from.
    #[serde(default)]
    pub ships_from: Option<String>,
    /// Days from order to hand-over to the carrier.
    #[serde(default)]
    pub processing_days: u32,
    /// Rating out of 100.
    #[serde(default)]
    pub rating: u32,
    /// Days after acceptance within which the supplier must give tracking; past them the
    /// lines fail over to the next offer. `None`: no deadline.
    #[serde(default)]
    pub processing_deadline_days: Option<u32>,
    /// How dropline reaches the supplier's API (with secrets: never shown).
    #[serde(default)]
    pub connection: SupplierConnection,
    /// What the last comparison of the supplier's order list with dropline's found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconciliation: Option<Reconciliation>,
    /// An agent's column layout for the spreadsheet of orders (`Header=field, ...`);
    /// `None`: the default layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_layout: Option<String>,
    /// What the supplier takes back and credits (returns, damaged or wrong items).
    #[serde(default)]
    pub return_policy: ReturnPolicy,
    /// What the last stock and price sync of the supplier's offers did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_stock_sync: Option<crate::inventory::StockSyncSummary>,
}

/// The longest return window a supplier's policy may have, in days after delivery.
pub const MAX_RETURN_WINDOW_DAYS: u32 = 365;

/// What a supplier takes back and credits. Suppliers such as AliExpress sellers and CJ rarely
/// take parcels back from abroad, yet credit a damaged or wrong item against photos; a
/// sourcing agent or a local warehouse may take returns at its own address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnPolicy {
    /// Whether returned items go back to the supplier.
    #[serde(default)]
    pub accepts_returns: bool,
    /// Days after delivery within which the supplier takes a claim (a return, or a damaged
    /// item without it).
    #[serde(default = "default_return_window")]
    pub window_days: u32,
    /// Where returned items go when the supplier takes them; `None`: the store's own address.
    #[serde(default)]
    pub return_address: Option<Address>,
    /// Whether the supplier refunds the cost of an item that came back to it.
    #[serde(default)]
    pub refunds_returned_items: bool,
    /// Whether the supplier credits a damaged, wrong or not-as-described item without having
    /// it back (a claim with photos).
    #[serde(default)]
    pub credits_without_return: bool,
}

fn default_return_window() -> u32 {
    30
}

impl Default for ReturnPolicy {
    fn default() -> Self {
        Self {
            accepts_returns: false,
            window_days: default_return_window(),
            return_address: None,
            refunds_returned_items: false,
            credits_without_return: false,
        }
    }
}

/// What comparing a supplier's own order list with dropline's supplier orders found, so
/// that no money leaks unseen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    /// Orders the supplier listed.
    pub remote_orders: u32,
    /// Of those, the ones that match a supplier order of dropline.
    pub matched: u32,
    /// The supplier's ids of orders dropline did not place (ghosts).
    pub ghosts: Vec<String>,
    /// Supplier orders that the supplier holds more than once: (supplier order, the
    /// supplier's ids).
    pub duplicates: Vec<(crate::ids::SupplierOrderId, Vec<String>)>,
    /// Supplier orders accepted here that the supplier's list lacks (only judged when the
    /// whole list was read).
    pub missing: Vec<crate::ids::SupplierOrderId>,
    /// Whether the whole list was read.
    pub complete: bool,
}

/// How dropline reaches a supplier's API. Secrets are never shown again once set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierConnection {
    /// Base URL of the API when it is not the supplier's production address (a simulator).
    #[serde(default)]
    pub api_base: Option<String>,
    /// CJ: the API key. AliExpress: the app key.
    #[serde(default)]
    pub api_key: Option<String>,
    /// AliExpress: the app secret requests are signed with.
    #[serde(default)]
    pub api_secret: Option<String>,
    /// AliExpress: the access token (`session`).
    #[serde(default)]
    pub access_token: Option<String>,
    /// AliExpress: the refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The account's rate limit: at most this many requests a second (CJ: 1 to 6 by account
    /// level); `None`: no spacing, only the supplier's own refusals (429) slow dropline down.
    #[serde(default)]
    pub requests_per_second: Option<u32>,
    /// CJ: the account's `openId`, the key its webhook messages are signed with (HMAC-SHA256
    /// of the body, in the `sign` header); `None`: the supplier's webhooks are refused.
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

impl SupplierConnection {
    /// Whether any credential is set.
    pub fn is_configured(&self) -> bool {
        self.api_key.is_some() || self.access_token.is_some()
    }
}

impl fmt::Debug for SupplierConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<hidden>");
        f.debug_struct("SupplierConnection")
            .field("api_base", &self.api_base)
            .field("api_key", &hidden(&self.api_key))
            .field("api_secret", &hidden(&self.api_secret))
            .field("access_token", &hidden(&self.access_token))
            .field("refresh_token", &hidden(&self.refresh_token))
            .field("requests_per_second", &self.requests_per_second)
            .field("webhook_secret", &hidden(&self.webhook_secret))
            .finish()
    }
}

/// A product of a store's catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub store_id: StoreId,
    pub title: String,
    pub variants: Vec<Variant>,
    /// The storefront's id of the product, for products pulled from the storefront.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_product_id: Option<String>,
    /// The collections the product is in, for pricing rules by collection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<String>,
}

/// A variant: what a line item buys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub id: VariantId,
    pub product_id: ProductId,
    pub sku: String,
    pub title: String,
    pub price: Money,
    /// The storefront's id of the variant: orders map to it before they map by SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_variant_id: Option<String>,
}

snake_enum!(
    /// Whether an offer is the first choice or the fallback.
    OfferPriority {
        Primary => "primary",
        Backup => "backup",
    }
);

/// One way a supplier ships to a destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingMethod {
    /// Destination country (ISO 3166-1 alpha-2), or `*` for anywhere else.
    pub country: String,
    /// The supplier's name of the method (e.g. "AliExpress Standard Shipping").
    pub name: String,
    /// Shipping cost for one unit.
    pub cost: Money,
    pub min_days: u32,
    pub max_days: u32,
}

/// One store variant mapped to one supplier variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub variant_id: VariantId,
    pub supplier_id: SupplierId,
    pub supplier_sku: String,
    #[serde(default)]
    pub supplier_product_id: Option<String>,
    #[serde(default)]
    pub supplier_variant_id: Option<String>,
    /// The supplier's product page, for a person who orders by hand.
    #[serde(default)]
    pub product_url: Option<String>,
    pub unit_cost: Money,
    /// Units the supplier can ship; `None` when unknown (treated as available).
    #[serde(default)]
    pub stock: Option<u32>,
    pub shipping: Vec<ShippingMethod>,
    pub priority: OfferPriority,
    /// Supplier units one store unit takes (a bundle of n: the store's "pack of 3" is three
    /// of the supplier's units); 1 for a plain mapping.
    #[serde(default = "one_unit")]
    pub units: u32,
}

fn one_unit() -> u32 {
    1
}

impl Offer {
    /// The shipping method to a country: the country's own, else the `*` one.
    pub fn shipping_to(&self, country: &str) -> Option<&ShippingMethod> {
        self.shipping
            .iter()
            .find(|m| m.country.eq_ignore_ascii_case(country))
            .or_else(|| self.shipping.iter().find(|m| m.country == "*"))
    }

    /// Whether the offer can supply `quantity` units (unknown stock counts as available).
    pub fn has_stock(&self, quantity: u32) -> bool {
        self.stock.is_none_or(|stock| stock >= quantity)
    }
}

impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.supplier_sku, self.priority)
    }
}
