//! WooCommerce's order webhooks: [`WooCommerceWebhooks`] verifies and parses them,
//! [`map_order`] turns the REST API v3 order they carry into an [`IncomingOrder`].
//!
//! # Delivery
//!
//! | Header | Use |
//! |---|---|
//! | `X-WC-Webhook-Signature` | base64 HMAC-SHA256 of the raw body with the webhook secret. WooCommerce decodes HTML entities in the secret before signing (`&amp;` signs as `&`), so a secret holding entities is also tried decoded |
//! | `X-WC-Webhook-Topic` | the topic, below (else `X-WC-Webhook-Resource` `.` `X-WC-Webhook-Event`) |
//! | `X-WC-Webhook-Delivery-ID` | `delivery_id` |
//!
//! When a webhook is saved, WooCommerce checks the URL with an unsigned form body
//! `webhook_id=<id>`: that exact body without a signature is [`Verified::UnsignedPing`];
//! any other unsigned request is refused.
//!
//! | Topic | [`WebhookTopic`] |
//! |---|---|
//! | `order.created` | `OrderCreated` |
//! | `order.updated`, `order.restored` | `OrderUpdated`; `OrderCancelled` when the order's `status` is `cancelled` |
//! | `order.deleted` (the body is only `{"id": …}`) | `Other` |
//! | anything else (`product.*`, `customer.*`, `action.*`) | `Other(topic)`; the body is only checked to be JSON |
//!
//! # Order mapping
//!
//! | WooCommerce field | Core field |
//! |---|---|
//! | `id` | `external_id` |
//! | `number`; else `id` | `number` |
//! | `billing.first_name` + `last_name`; else the shipping names | `customer.name` |
//! | `billing.email`, `billing.phone` | `customer.email`, `customer.phone` |
//! | `shipping`; when blank (a virtual order's empty block), `billing`; else empty | `shipping_address` |
//! | address `first_name`, `last_name`, `company`, `city`, `phone` | the same fields |
//! | address `address_1`, `address_2` | `address1`, `address2` |
//! | address `state` | `region` |
//! | address `postcode` | `postal_code` |
//! | address `country` (ISO alpha-2, upper-cased) | `country_code` |
//! | `line_items[].id` | line `external_id` |
//! | `line_items[].product_id` (0 is none) | `platform_product_id` |
//! | `line_items[].variation_id` when not 0, else `product_id` | `platform_variant_id` |
//! | `line_items[].sku` (`null` is `""`) | `sku` |
//! | `line_items[].parent_name` when set (a variation), else `name` | `title` |
//! | for a variation, `name` without its leading `parent_name - ` | `variant_title` |
//! | `line_items[].quantity` (at least 1) | `quantity` |
//! | `line_items[].subtotal` ÷ `quantity` (the line before discounts, to the nearest minor unit); `price` when there is no subtotal | `unit_price` |
//! | false when the order has no `shipping_lines` and a blank `shipping` address (virtual and downloadable goods); else true | every line's `requires_shipping` |
//! | — | `fulfillable_quantity` is `None` |
//! | `currency` | `currency` |
//! | sum of `shipping_lines[].total` | `shipping_total` |
//! | `total` | `charged_total` |
//! | `discount_total` (before tax; `discount_tax` is within `total_tax`), not negative | `discount_total` |
//! | `total_tax` (not negative) | `tax_total` |
//! | first `shipping_lines[].method_title` | `shipping_method` |
//! | `status`: `processing`, `completed` | `paid`; `partially_refunded` when `refunds` is not empty |
//! | `status`: `refunded` | `refunded` |
//! | `status`: `cancelled` | `voided`; `paid` when `date_paid_gmt` is set (cancelled after payment, not refunded) |
//! | `status`: `pending`, `on-hold`, `failed`, `checkout-draft` | `pending` |
//! | any other `status` (plugins add their own) | `paid` when `date_paid_gmt` is set, else `pending` |
//! | `date_modified_gmt` when `status` is `cancelled` (WooCommerce keeps no cancellation time) | `cancelled_at` |
//! | — | `test` is false |
//! | `date_created_gmt` (UTC, written without an offset) | `placed_at` |
//! | `date_modified_gmt` | `source_updated_at` |

use crate::signature::verify_hmac_sha256_base64;
use crate::webhooks::json::{self, List, Obj, Path, Scalar};
use crate::webhooks::{full_name, header, is_blank_address, shipping_or_billing};
use dropline_app::storefront::{Verified, WebhookDelivery, WebhookError, WebhookFormat, WebhookRequest, WebhookTopic};
use dropline_domain::address::{Address, Customer};
use dropline_domain::catalog::Platform;
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{IncomingLine, IncomingOrder};
use dropline_domain::state::PaymentState;
use serde::Deserialize;
use serde::de::IgnoredAny;

const SIGNATURE_HEADER: &str = "X-WC-Webhook-Signature";
const TOPIC_HEADER: &str = "X-WC-Webhook-Topic";

/// WooCommerce's webhook format.
#[derive(Clone, Copy, Debug, Default)]
pub struct WooCommerceWebhooks;

impl WooCommerceWebhooks {
    /// The format.
    pub fn new() -> Self {
        Self
    }
}

impl WebhookFormat for WooCommerceWebhooks {
    fn platform(&self) -> Platform {
        Platform::Woocommerce
    }

    fn verify(&self, request: &WebhookRequest<'_>, secrets: &[String]) -> Result<Verified, WebhookError> {
        let Some(signature) = header(request, SIGNATURE_HEADER) else {
            if is_ping(request.body) {
                return Ok(Verified::UnsignedPing);
            }
            return Err(WebhookError::Unauthorized(format!("missing {SIGNATURE_HEADER}")));
        };
        let decoded: Vec<String> = secrets.iter().filter_map(|s| decode_entities(s)).collect();
        let candidates: Vec<&[u8]> = secrets
            .iter()
            .map(String::as_bytes)
            .chain(decoded.iter().map(String::as_bytes))
            .collect();
        verify_hmac_sha256_base64(Some(signature), request.body, &candidates)
            .map_err(|e| WebhookError::Unauthorized(format!("{SIGNATURE_HEADER}: {e}")))?;
        Ok(Verified::Signed)
    }

    fn parse(&self, request: &WebhookRequest<'_>) -> Result<WebhookDelivery, WebhookError> {
        let delivery_id = header(request, "X-WC-Webhook-Delivery-ID").map(str::to_string);
        let other = |topic: String| WebhookDelivery {
            delivery_id: delivery_id.clone(),
            topic: WebhookTopic::Other(topic),
            order: None,
            order_ref: None,
            triggered_at: None,
        };
        if is_ping(request.body) {
            return Ok(other("ping".into()));
        }
        let topic = match header(request, TOPIC_HEADER) {
            Some(topic) => topic.to_string(),
            None => match (
                header(request, "X-WC-Webhook-Resource"),
                header(request, "X-WC-Webhook-Event"),
            ) {
                (Some(resource), Some(event)) => format!("{resource}.{event}"),
                _ => return Err(WebhookError::bad(TOPIC_HEADER, "missing")),
            },
        };
        let created = match topic.as_str() {
            "order.created" => true,
            "order.updated" | "order.restored" => false,
            _ => {
                json::check_json(request.body)?;
                return Ok(other(topic));
            }
        };
        let order: Order = json::from_body(request.body, "a WooCommerce order")?;
        let incoming = map(&order)?;
        let topic = if created {
            WebhookTopic::OrderCreated
        } else if is_cancelled(&order) {
            WebhookTopic::OrderCancelled
        } else {
            WebhookTopic::OrderUpdated
        };
        Ok(WebhookDelivery {
            delivery_id,
            topic,
            order: Some(incoming),
            order_ref: None,
            triggered_at: None,
        })
    }
}

/// Maps a WooCommerce REST API v3 order (the body of an `order.*` webhook, or
/// `GET /wp-json/wc/v3/orders/{id}`) to the core order.
pub fn map_order(json: &serde_json::Value) -> Result<IncomingOrder, WebhookError> {
    map(&json::from_value(json, "a WooCommerce order")?)
}

/// [`map_order`] from the JSON bytes.
pub fn map_order_bytes(body: &[u8]) -> Result<IncomingOrder, WebhookError> {
    map(&json::from_body(body, "a WooCommerce order")?)
}

/// WooCommerce's reachability check: the form body `webhook_id=<digits>`.
fn is_ping(body: &[u8]) -> bool {
    let body = body.trim_ascii();
    body.strip_prefix(b"webhook_id=")
        .is_some_and(|id| !id.is_empty() && id.len() <= 20 && id.iter().all(u8::is_ascii_digit))
}

/// The secret with the HTML entities WordPress escapes decoded, when it has any.
fn decode_entities(secret: &str) -> Option<String> {
    if !secret.contains('&') {
        return None;
    }
    let decoded = secret
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    (decoded != secret).then_some(decoded)
}

// ---------------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Order {
    id: Scalar,
    number: Scalar,
    status: Scalar,
    currency: Scalar,
    total: Scalar,
    discount_total: Scalar,
    total_tax: Scalar,
    date_created_gmt: Scalar,
    date_modified_gmt: Scalar,
    date_paid_gmt: Scalar,
    billing: Obj<AddressPayload>,
    shipping: Obj<AddressPayload>,
    line_items: List<LinePayload>,
    shipping_lines: List<ShippingLinePayload>,
    refunds: List<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AddressPayload {
    first_name: Scalar,
    last_name: Scalar,
    company: Scalar,
    address_1: Scalar,
    address_2: Scalar,
    city: Scalar,
    state: Scalar,
    postcode: Scalar,
    country: Scalar,
    email: Scalar,
    phone: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LinePayload {
    id: Scalar,
    name: Scalar,
    parent_name: Scalar,
    product_id: Scalar,
    variation_id: Scalar,
    quantity: Scalar,
    subtotal: Scalar,
    sku: Scalar,
    price: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShippingLinePayload {
    method_title: Scalar,
    total: Scalar,
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

fn is_cancelled(order: &Order) -> bool {
    matches!(&order.status, Scalar::Text(status) if status.trim() == "cancelled")
}

fn map(order: &Order) -> Result<IncomingOrder, WebhookError> {
    let root = Path::root("");
    let external_id = order.id.required_id(&root.key("id"))?;
    let currency = order.currency.currency(&root.key("currency"))?;
    let number = order
        .number
        .id(&root.key("number"))?
        .unwrap_or_else(|| external_id.clone());

    let billing_path = root.key("billing");
    let billing_payload = order.billing.get(&billing_path)?;
    let billing = billing_payload.map(|a| address(a, &billing_path)).transpose()?;
    let shipping_path = root.key("shipping");
    let shipping = order
        .shipping
        .get(&shipping_path)?
        .map(|a| address(a, &shipping_path))
        .transpose()?;
    let address_name = |a: &Option<Address>| {
        a.as_ref()
            .and_then(|a| full_name(Some(&a.first_name), Some(&a.last_name)))
    };
    let customer = Customer {
        name: address_name(&billing)
            .or_else(|| address_name(&shipping))
            .unwrap_or_default(),
        email: match billing_payload {
            Some(b) => b.email.text(&billing_path.key("email"))?,
            None => None,
        },
        phone: billing.as_ref().and_then(|b| b.phone.clone()),
    };

    let shipping_lines_path = root.key("shipping_lines");
    let shipping_items = order.shipping_lines.items(&shipping_lines_path)?;
    let mut shipping_total = Money::zero(currency);
    let mut shipping_method = None;
    for (i, item) in shipping_items.iter().enumerate() {
        let path = shipping_lines_path.index(i);
        let shipping_line = element(item, &path)?;
        let total_path = path.key("total");
        let total = shipping_line.total.price(currency, &total_path)?;
        shipping_total = shipping_total
            .checked_add(total)
            .map_err(|e| total_path.bad(e.to_string()))?;
        if shipping_method.is_none() {
            shipping_method = shipping_line.method_title.text(&path.key("method_title"))?;
        }
    }
    let ships = !shipping_items.is_empty() || shipping.as_ref().is_some_and(|s| !is_blank_address(s));

    let lines_path = root.key("line_items");
    let mut lines = Vec::new();
    for (i, item) in order.line_items.items(&lines_path)?.iter().enumerate() {
        let path = lines_path.index(i);
        lines.push(line(element(item, &path)?, currency, ships, &path)?);
    }
    if lines.is_empty() {
        return Err(lines_path.bad("an order needs at least one line"));
    }

    let status = order.status.text(&root.key("status"))?;
    let status = status.as_deref().map(str::trim);
    let paid = !order.date_paid_gmt.is_blank();
    let refunded_in_part = !order.refunds.items(&root.key("refunds"))?.is_empty();
    let updated_path = root.key("date_modified_gmt");
    let source_updated_at = order.date_modified_gmt.utc_timestamp(&updated_path)?;
    let created_path = root.key("date_created_gmt");
    let placed_at = order
        .date_created_gmt
        .utc_timestamp(&created_path)?
        .ok_or_else(|| created_path.bad("missing"))?;

    Ok(IncomingOrder {
        external_id,
        number,
        customer,
        shipping_address: shipping_or_billing(shipping, billing),
        lines,
        currency,
        shipping_total,
        payment: payment(status, paid, refunded_in_part),
        placed_at,
        test: false,
        cancelled_at: if status == Some("cancelled") {
            Some(source_updated_at.unwrap_or(placed_at))
        } else {
            None
        },
        source_updated_at,
        charged_total: order.total.money(currency, &root.key("total"))?,
        discount_total: order
            .discount_total
            .optional_price(currency, &root.key("discount_total"))?,
        tax_total: order.total_tax.optional_price(currency, &root.key("total_tax"))?,
        shipping_method,
    })
}

fn element<'a, T>(item: &'a Obj<T>, path: &Path<'_>) -> Result<&'a T, WebhookError> {
    item.get(path)?.ok_or_else(|| path.bad("expected an object, got null"))
}

fn line(item: &LinePayload, currency: Currency, ships: bool, path: &Path<'_>) -> Result<IncomingLine, WebhookError> {
    let name = item.name.text_or_empty(&path.key("name"))?;
    let (title, variant_title) = match item.parent_name.text(&path.key("parent_name"))? {
        Some(parent) => {
            let variant = name
                .strip_prefix(parent.as_str())
                .and_then(|rest| rest.strip_prefix(" - "))
                .map(|rest| rest.trim().to_string())
                .filter(|rest| !rest.is_empty());
            (parent, variant)
        }
        None => (name, None),
    };
    let quantity = item.quantity.quantity(&path.key("quantity"))?;
    let product_id = item.product_id.nonzero_id(&path.key("product_id"))?;
    let variation_id = item.variation_id.nonzero_id(&path.key("variation_id"))?;
    Ok(IncomingLine {
        external_id: item.id.id(&path.key("id"))?,
        sku: item.sku.text_or_empty(&path.key("sku"))?,
        title,
        variant_title,
        quantity,
        unit_price: unit_price(item, quantity, currency, path)?,
        requires_shipping: ships,
        platform_variant_id: variation_id.or_else(|| product_id.clone()),
        platform_product_id: product_id,
        fulfillable_quantity: None,
    })
}

/// The unit price before discounts: the line's subtotal over its quantity, rounded half up
/// to the minor unit when it does not divide evenly (WooCommerce's own `price` is after
/// discounts and a float).
fn unit_price(item: &LinePayload, quantity: u32, currency: Currency, path: &Path<'_>) -> Result<Money, WebhookError> {
    let subtotal_path = path.key("subtotal");
    let Some(subtotal) = item.subtotal.money(currency, &subtotal_path)? else {
        return item.price.price(currency, &path.key("price"));
    };
    if subtotal.minor < 0 {
        return Err(subtotal_path.bad(format!("must not be negative, got {subtotal}")));
    }
    let quantity = i64::from(quantity);
    let minor = subtotal.minor / quantity + i64::from(subtotal.minor % quantity * 2 >= quantity);
    Ok(Money::new(minor, currency))
}

fn address(a: &AddressPayload, path: &Path<'_>) -> Result<Address, WebhookError> {
    Ok(Address {
        first_name: a.first_name.text_or_empty(&path.key("first_name"))?,
        last_name: a.last_name.text_or_empty(&path.key("last_name"))?,
        company: a.company.text(&path.key("company"))?,
        address1: a.address_1.text_or_empty(&path.key("address_1"))?,
        address2: a.address_2.text(&path.key("address_2"))?,
        city: a.city.text_or_empty(&path.key("city"))?,
        region: a.state.text(&path.key("state"))?,
        postal_code: a.postcode.text_or_empty(&path.key("postcode"))?,
        country_code: a
            .country
            .text_or_empty(&path.key("country"))?
            .trim()
            .to_ascii_uppercase(),
        phone: a.phone.text(&path.key("phone"))?,
    })
}

fn payment(status: Option<&str>, paid: bool, refunded_in_part: bool) -> PaymentState {
    match status {
        Some("processing" | "completed") if refunded_in_part => PaymentState::PartiallyRefunded,
        Some("processing" | "completed") => PaymentState::Paid,
        Some("refunded") => PaymentState::Refunded,
        Some("cancelled") if paid => PaymentState::Paid,
        Some("cancelled") => PaymentState::Voided,
        Some("pending" | "on-hold" | "failed" | "checkout-draft") | None => PaymentState::Pending,
        Some(_) if paid => PaymentState::Paid,
        Some(_) => PaymentState::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_the_ping_body() {
        assert!(is_ping(b"webhook_id=15"));
        assert!(is_ping(b"webhook_id=15\n"));
        for body in [
            &b"webhook_id="[..],
            b"webhook_id=abc",
            b"webhook_id=1&x=2",
            b"{}",
            b"",
            b"id=1",
        ] {
            assert!(!is_ping(body), "{body:?}");
        }
    }

    #[test]
    fn decodes_entities_in_secrets() {
        assert_eq!(decode_entities("a&amp;b"), Some("a&b".into()));
        assert_eq!(decode_entities("&lt;x&gt;&quot;&#039;"), Some("<x>\"'".into()));
        assert_eq!(decode_entities("plain"), None);
        assert_eq!(decode_entities("a&b"), None);
    }

    #[test]
    fn maps_statuses() {
        assert_eq!(payment(Some("processing"), true, false), PaymentState::Paid);
        assert_eq!(payment(Some("completed"), true, false), PaymentState::Paid);
        assert_eq!(payment(Some("completed"), true, true), PaymentState::PartiallyRefunded);
        assert_eq!(payment(Some("refunded"), true, true), PaymentState::Refunded);
        assert_eq!(payment(Some("cancelled"), false, false), PaymentState::Voided);
        assert_eq!(payment(Some("cancelled"), true, false), PaymentState::Paid);
        assert_eq!(payment(Some("on-hold"), false, false), PaymentState::Pending);
        assert_eq!(payment(Some("failed"), false, false), PaymentState::Pending);
        assert_eq!(payment(Some("shipped"), true, false), PaymentState::Paid);
        assert_eq!(payment(Some("awaiting-shipment"), false, false), PaymentState::Pending);
        assert_eq!(payment(None, false, false), PaymentState::Pending);
    }

    #[test]
    fn rounds_uneven_unit_prices_half_up() {
        let usd = Currency::parse("USD").expect("USD");
        let line = |subtotal: &str| LinePayload {
            subtotal: Scalar::Text(subtotal.into()),
            ..LinePayload::default()
        };
        let root = Path::root("");
        assert_eq!(unit_price(&line("10.00"), 3, usd, &root), Ok(Money::new(333, usd)));
        assert_eq!(unit_price(&line("20.00"), 3, usd, &root), Ok(Money::new(667, usd)));
        assert_eq!(unit_price(&line("0.05"), 2, usd, &root), Ok(Money::new(3, usd)));
        assert_eq!(unit_price(&line("29.98"), 2, usd, &root), Ok(Money::new(1499, usd)));
        assert!(unit_price(&line("-1.00"), 1, usd, &root).is_err());
    }
}
