//! Shopify's order webhooks: [`ShopifyWebhooks`] verifies and parses them, [`map_order`]
//! turns the REST Order resource they carry into an [`IncomingOrder`].
//!
//! # Delivery
//!
//! | Header | Use |
//! |---|---|
//! | `X-Shopify-Hmac-Sha256` | base64 HMAC-SHA256 of the raw body with the app's secret; required |
//! | `X-Shopify-Triggered-At` | when Shopify triggered the delivery; older than 48 hours is refused as stale, and it becomes `triggered_at` |
//! | `X-Shopify-Topic` | the topic, below |
//! | `X-Shopify-Webhook-Id` | `delivery_id` (one per delivery); `X-Shopify-Event-Id` when it is absent |
//!
//! | Topic | [`WebhookTopic`] |
//! |---|---|
//! | `orders/create` | `OrderCreated` |
//! | `orders/updated` | `OrderUpdated` |
//! | `orders/edited` | `OrderUpdated` when the body is an order; Shopify's `{"order_edit": …}` body describes only the change and is `Other` (the `orders/updated` that follows every edit carries the whole order) |
//! | `orders/paid` | `OrderPaid` |
//! | `orders/cancelled` | `OrderCancelled` |
//! | anything else | `Other(topic)`; the body is only checked to be JSON |
//!
//! # Order mapping
//!
//! | Shopify field | Core field |
//! |---|---|
//! | `id` (an integer, kept exact) | `external_id` |
//! | `name` (`#1001`); else `order_number`; else `id` | `number` |
//! | `customer.first_name` + `last_name`; else the billing, then the shipping address's names | `customer.name` |
//! | `email`; else `contact_email`; else `customer.email` | `customer.email` |
//! | `phone`; else `customer.phone`; else `billing_address.phone` | `customer.phone` |
//! | `shipping_address`; when absent or blank, `billing_address`; else empty | `shipping_address` |
//! | address `first_name`, `last_name`, `company`, `address1`, `address2`, `city` | the same fields |
//! | address `province_code`; else `province` | `region` |
//! | address `zip` | `postal_code` |
//! | address `country_code` (ISO alpha-2, upper-cased) | `country_code` |
//! | address `phone` | `phone` |
//! | `line_items[].id` | line `external_id` |
//! | `line_items[].product_id`, `variant_id` | `platform_product_id`, `platform_variant_id` |
//! | `line_items[].sku` (`null` is `""`) | `sku` |
//! | `line_items[].title` (else `name`), `variant_title` | `title`, `variant_title` |
//! | `line_items[].quantity` (at least 1) | `quantity` |
//! | `line_items[].price` (shop currency, before discounts) | `unit_price` |
//! | `line_items[].requires_shipping` and not `gift_card` | `requires_shipping` |
//! | `line_items[].fulfillable_quantity` | `fulfillable_quantity` |
//! | `currency` (the shop currency, which all the amounts above are in) | `currency` |
//! | sum of `shipping_lines[].price` (lines marked `is_removed` left out) | `shipping_total` |
//! | `total_price` | `charged_total` |
//! | `total_discounts` (not negative) | `discount_total` |
//! | `total_tax` (not negative) | `tax_total` |
//! | first `shipping_lines[].title` | `shipping_method` |
//! | `financial_status`: `pending` / `authorized` / `paid` / `partially_refunded` / `refunded` / `voided` | the payment state of the same name |
//! | `financial_status`: `expired` (an authorization that lapsed) | `voided` |
//! | `financial_status`: `partially_paid`, anything unknown, absent | `pending` (validation holds the order until it is paid) |
//! | `cancelled_at` | `cancelled_at` |
//! | `test` | `test` |
//! | `created_at`; else `processed_at` | `placed_at` |
//! | `updated_at` | `source_updated_at` |

use crate::signature::verify_hmac_sha256_base64;
use crate::webhooks::json::{self, List, Obj, Path, Scalar};
use crate::webhooks::{full_name, header, shipping_or_billing};
use dropline_app::storefront::{Verified, WebhookDelivery, WebhookError, WebhookFormat, WebhookRequest, WebhookTopic};
use dropline_domain::address::{Address, Customer};
use dropline_domain::catalog::Platform;
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{IncomingLine, IncomingOrder};
use dropline_domain::state::PaymentState;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

const HMAC_HEADER: &str = "X-Shopify-Hmac-Sha256";
const TRIGGERED_AT_HEADER: &str = "X-Shopify-Triggered-At";
const TOPIC_HEADER: &str = "X-Shopify-Topic";

/// Shopify's webhook format.
#[derive(Clone, Copy, Debug)]
pub struct ShopifyWebhooks {
    max_age: Duration,
    now: fn() -> OffsetDateTime,
}

impl ShopifyWebhooks {
    /// How old a delivery may be. Shopify retries for 4 hours and may rarely be a day late;
    /// anything older is most likely a replay.
    pub const DEFAULT_MAX_AGE: Duration = Duration::hours(48);

    /// The format with the default maximum age and the system clock.
    pub fn new() -> Self {
        Self {
            max_age: Self::DEFAULT_MAX_AGE,
            now: OffsetDateTime::now_utc,
        }
    }

    /// Refuses deliveries triggered longer ago than `max_age`.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Reads the time from `now` instead of the system clock (for tests).
    pub fn with_clock(mut self, now: fn() -> OffsetDateTime) -> Self {
        self.now = now;
        self
    }
}

impl Default for ShopifyWebhooks {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookFormat for ShopifyWebhooks {
    fn platform(&self) -> Platform {
        Platform::Shopify
    }

    fn verify(&self, request: &WebhookRequest<'_>, secrets: &[String]) -> Result<Verified, WebhookError> {
        let signature =
            header(request, HMAC_HEADER).ok_or_else(|| WebhookError::Unauthorized(format!("missing {HMAC_HEADER}")))?;
        verify_hmac_sha256_base64(Some(signature), request.body, secrets)
            .map_err(|e| WebhookError::Unauthorized(format!("{HMAC_HEADER}: {e}")))?;
        if let Some(value) = header(request, TRIGGERED_AT_HEADER) {
            let triggered_at = json::parse_timestamp(value)
                .ok_or_else(|| WebhookError::Unauthorized(format!("{TRIGGERED_AT_HEADER} is not a timestamp")))?;
            if (self.now)() - triggered_at > self.max_age {
                return Err(WebhookError::Unauthorized("stale".into()));
            }
        }
        Ok(Verified::Signed)
    }

    fn parse(&self, request: &WebhookRequest<'_>) -> Result<WebhookDelivery, WebhookError> {
        let topic_name = header(request, TOPIC_HEADER).ok_or_else(|| WebhookError::bad(TOPIC_HEADER, "missing"))?;
        let delivery_id = header(request, "X-Shopify-Webhook-Id")
            .or_else(|| header(request, "X-Shopify-Event-Id"))
            .map(str::to_string);
        let triggered_at = header(request, TRIGGERED_AT_HEADER).and_then(json::parse_timestamp);
        let topic = match topic_name {
            "orders/create" => WebhookTopic::OrderCreated,
            "orders/updated" | "orders/edited" => WebhookTopic::OrderUpdated,
            "orders/paid" => WebhookTopic::OrderPaid,
            "orders/cancelled" => WebhookTopic::OrderCancelled,
            other => {
                json::check_json(request.body)?;
                return Ok(WebhookDelivery {
                    delivery_id,
                    topic: WebhookTopic::Other(other.to_string()),
                    order: None,
                    order_ref: None,
                    triggered_at,
                });
            }
        };
        let order: Order = json::from_body(request.body, "a Shopify order")?;
        if topic_name == "orders/edited" && order.order_edit.is_present() && order.id.is_blank() {
            return Ok(WebhookDelivery {
                delivery_id,
                topic: WebhookTopic::Other(topic_name.to_string()),
                order: None,
                order_ref: None,
                triggered_at,
            });
        }
        Ok(WebhookDelivery {
            delivery_id,
            topic,
            order: Some(map(&order)?),
            order_ref: None,
            triggered_at,
        })
    }
}

/// Maps a Shopify REST Order (the body of an `orders/*` webhook, or the `order` of
/// `GET /orders/{id}.json`) to the core order.
pub fn map_order(json: &serde_json::Value) -> Result<IncomingOrder, WebhookError> {
    map(&json::from_value(json, "a Shopify order")?)
}

/// [`map_order`] from the JSON bytes.
pub fn map_order_bytes(body: &[u8]) -> Result<IncomingOrder, WebhookError> {
    map(&json::from_body(body, "a Shopify order")?)
}

// ---------------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Order {
    id: Scalar,
    name: Scalar,
    order_number: Scalar,
    email: Scalar,
    contact_email: Scalar,
    phone: Scalar,
    currency: Scalar,
    financial_status: Scalar,
    total_price: Scalar,
    total_discounts: Scalar,
    total_tax: Scalar,
    created_at: Scalar,
    processed_at: Scalar,
    updated_at: Scalar,
    cancelled_at: Scalar,
    test: Scalar,
    customer: Obj<CustomerPayload>,
    billing_address: Obj<AddressPayload>,
    shipping_address: Obj<AddressPayload>,
    line_items: List<LinePayload>,
    shipping_lines: List<ShippingLinePayload>,
    /// The body of an `orders/edited` delivery.
    order_edit: Obj<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CustomerPayload {
    email: Scalar,
    first_name: Scalar,
    last_name: Scalar,
    phone: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AddressPayload {
    first_name: Scalar,
    last_name: Scalar,
    company: Scalar,
    address1: Scalar,
    address2: Scalar,
    city: Scalar,
    province: Scalar,
    province_code: Scalar,
    zip: Scalar,
    country_code: Scalar,
    phone: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LinePayload {
    id: Scalar,
    product_id: Scalar,
    variant_id: Scalar,
    sku: Scalar,
    title: Scalar,
    name: Scalar,
    variant_title: Scalar,
    quantity: Scalar,
    price: Scalar,
    requires_shipping: Scalar,
    gift_card: Scalar,
    fulfillable_quantity: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShippingLinePayload {
    title: Scalar,
    price: Scalar,
    is_removed: Scalar,
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

fn map(order: &Order) -> Result<IncomingOrder, WebhookError> {
    let root = Path::root("");
    let external_id = order.id.required_id(&root.key("id"))?;
    let currency = order.currency.currency(&root.key("currency"))?;
    let number = match order.name.text(&root.key("name"))? {
        Some(name) => name,
        None => order
            .order_number
            .id(&root.key("order_number"))?
            .unwrap_or_else(|| external_id.clone()),
    };

    let customer_path = root.key("customer");
    let customer = order.customer.get(&customer_path)?;
    let billing_path = root.key("billing_address");
    let billing = order
        .billing_address
        .get(&billing_path)?
        .map(|a| address(a, &billing_path))
        .transpose()?;
    let shipping_path = root.key("shipping_address");
    let shipping = order
        .shipping_address
        .get(&shipping_path)?
        .map(|a| address(a, &shipping_path))
        .transpose()?;

    let customer_name = match customer {
        Some(c) => full_name(
            c.first_name.text(&customer_path.key("first_name"))?.as_deref(),
            c.last_name.text(&customer_path.key("last_name"))?.as_deref(),
        ),
        None => None,
    };
    let address_name = |a: &Option<Address>| {
        a.as_ref()
            .and_then(|a| full_name(Some(&a.first_name), Some(&a.last_name)))
    };
    let name = customer_name
        .or_else(|| address_name(&billing))
        .or_else(|| address_name(&shipping))
        .unwrap_or_default();
    let mut email = order.email.text(&root.key("email"))?;
    if email.is_none() {
        email = order.contact_email.text(&root.key("contact_email"))?;
    }
    if email.is_none()
        && let Some(c) = customer
    {
        email = c.email.text(&customer_path.key("email"))?;
    }
    let mut phone = order.phone.text(&root.key("phone"))?;
    if phone.is_none()
        && let Some(c) = customer
    {
        phone = c.phone.text(&customer_path.key("phone"))?;
    }
    if phone.is_none() {
        phone = billing.as_ref().and_then(|b| b.phone.clone());
    }

    let lines_path = root.key("line_items");
    let mut lines = Vec::new();
    for (i, item) in order.line_items.items(&lines_path)?.iter().enumerate() {
        let path = lines_path.index(i);
        lines.push(line(element(item, &path)?, currency, &path)?);
    }
    if lines.is_empty() {
        return Err(lines_path.bad("an order needs at least one line"));
    }

    let shipping_lines_path = root.key("shipping_lines");
    let mut shipping_total = Money::zero(currency);
    let mut shipping_method = None;
    for (i, item) in order.shipping_lines.items(&shipping_lines_path)?.iter().enumerate() {
        let path = shipping_lines_path.index(i);
        let shipping_line = element(item, &path)?;
        if shipping_line.is_removed.flag(&path.key("is_removed"))? == Some(true) {
            continue;
        }
        let price_path = path.key("price");
        let price = shipping_line.price.price(currency, &price_path)?;
        shipping_total = shipping_total
            .checked_add(price)
            .map_err(|e| price_path.bad(e.to_string()))?;
        if shipping_method.is_none() {
            shipping_method = shipping_line.title.text(&path.key("title"))?;
        }
    }

    let created_at = root.key("created_at");
    let placed_at = match order.created_at.timestamp(&created_at)? {
        Some(at) => at,
        None => order
            .processed_at
            .timestamp(&root.key("processed_at"))?
            .ok_or_else(|| created_at.bad("missing"))?,
    };

    Ok(IncomingOrder {
        external_id,
        number,
        customer: Customer { name, email, phone },
        shipping_address: shipping_or_billing(shipping, billing),
        lines,
        currency,
        shipping_total,
        payment: payment(order.financial_status.text(&root.key("financial_status"))?.as_deref()),
        placed_at,
        test: order.test.flag(&root.key("test"))?.unwrap_or(false),
        cancelled_at: order.cancelled_at.timestamp(&root.key("cancelled_at"))?,
        source_updated_at: order.updated_at.timestamp(&root.key("updated_at"))?,
        charged_total: order.total_price.money(currency, &root.key("total_price"))?,
        discount_total: order
            .total_discounts
            .optional_price(currency, &root.key("total_discounts"))?,
        tax_total: order.total_tax.optional_price(currency, &root.key("total_tax"))?,
        shipping_method,
    })
}

fn element<'a, T>(item: &'a Obj<T>, path: &Path<'_>) -> Result<&'a T, WebhookError> {
    item.get(path)?.ok_or_else(|| path.bad("expected an object, got null"))
}

fn line(item: &LinePayload, currency: Currency, path: &Path<'_>) -> Result<IncomingLine, WebhookError> {
    let title = match item.title.text(&path.key("title"))? {
        Some(title) => title,
        None => item.name.text_or_empty(&path.key("name"))?,
    };
    let requires_shipping = item
        .requires_shipping
        .flag(&path.key("requires_shipping"))?
        .unwrap_or(true);
    let gift_card = item.gift_card.flag(&path.key("gift_card"))?.unwrap_or(false);
    Ok(IncomingLine {
        external_id: item.id.id(&path.key("id"))?,
        sku: item.sku.text_or_empty(&path.key("sku"))?,
        title,
        variant_title: item.variant_title.text(&path.key("variant_title"))?,
        quantity: item.quantity.quantity(&path.key("quantity"))?,
        unit_price: item.price.price(currency, &path.key("price"))?,
        requires_shipping: requires_shipping && !gift_card,
        platform_product_id: item.product_id.id(&path.key("product_id"))?,
        platform_variant_id: item.variant_id.id(&path.key("variant_id"))?,
        fulfillable_quantity: item.fulfillable_quantity.count(&path.key("fulfillable_quantity"))?,
    })
}

fn address(a: &AddressPayload, path: &Path<'_>) -> Result<Address, WebhookError> {
    let region = match a.province_code.text(&path.key("province_code"))? {
        Some(code) => Some(code),
        None => a.province.text(&path.key("province"))?,
    };
    Ok(Address {
        first_name: a.first_name.text_or_empty(&path.key("first_name"))?,
        last_name: a.last_name.text_or_empty(&path.key("last_name"))?,
        company: a.company.text(&path.key("company"))?,
        address1: a.address1.text_or_empty(&path.key("address1"))?,
        address2: a.address2.text(&path.key("address2"))?,
        city: a.city.text_or_empty(&path.key("city"))?,
        region,
        postal_code: a.zip.text_or_empty(&path.key("zip"))?,
        country_code: a
            .country_code
            .text_or_empty(&path.key("country_code"))?
            .trim()
            .to_ascii_uppercase(),
        phone: a.phone.text(&path.key("phone"))?,
    })
}

fn payment(financial_status: Option<&str>) -> PaymentState {
    match financial_status.map(str::trim) {
        Some("authorized") => PaymentState::Authorized,
        Some("paid") => PaymentState::Paid,
        Some("partially_refunded") => PaymentState::PartiallyRefunded,
        Some("refunded") => PaymentState::Refunded,
        Some("voided" | "expired") => PaymentState::Voided,
        _ => PaymentState::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_financial_statuses() {
        assert_eq!(payment(Some("paid")), PaymentState::Paid);
        assert_eq!(payment(Some("authorized")), PaymentState::Authorized);
        assert_eq!(payment(Some("partially_refunded")), PaymentState::PartiallyRefunded);
        assert_eq!(payment(Some("refunded")), PaymentState::Refunded);
        assert_eq!(payment(Some("voided")), PaymentState::Voided);
        assert_eq!(payment(Some("expired")), PaymentState::Voided);
        assert_eq!(payment(Some("partially_paid")), PaymentState::Pending);
        assert_eq!(payment(Some("pending")), PaymentState::Pending);
        assert_eq!(payment(Some("something_new")), PaymentState::Pending);
        assert_eq!(payment(None), PaymentState::Pending);
    }
}
