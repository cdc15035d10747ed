//! Shopify: the REST Admin API (version 2025-07) endpoints dropline calls — shop, products
//! paged by `page_info` cursors in the `Link` header, fulfillment orders, fulfillments and their
//! events, cancellation, refunds, and listings (locations, variants, inventory levels, product
//! status) — and the `orders/*` webhooks, HMAC-SHA256 signed with the app secret.

use super::Retry;
use super::platform::{
    Core, EventIds, FulfilledLine, Fulfillment, IdKind, IdStyle, Line, Order, Payment, Platform, Product, Refund,
    RefundTransaction, RefundedLine, Server, SimConfig, SimError, Topic, Webhook, country_name, format_amount,
    hmac_base64, launch, lock, merge, now_seconds, parse_amount, parse_json, query_params, region_name, sim_methods,
    splitmix,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, UtcOffset};

/// The Admin API version the simulator serves (and writes in `X-Shopify-API-Version`).
pub(crate) const API_VERSION: &str = "2025-07";

/// The shop's time zone: Shopify prints times with the shop's offset.
const SHOP_OFFSET: UtcOffset = offset!(-5);

/// The shipment statuses a fulfillment event may carry.
const SHIPMENT_STATUSES: [&str; 9] = [
    "label_printed",
    "label_purchased",
    "attempted_delivery",
    "ready_for_pickup",
    "confirmed",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "failure",
];

const CANCEL_REASONS: [&str; 6] = ["customer", "inventory", "fraud", "declined", "other", "staff"];

/// A simulated Shopify store.
///
/// API (all under `/admin/api/2025-07`, header `X-Shopify-Access-Token`): `shop.json`,
/// `products.json` (`limit` 1–250, default 50, `page_info` cursors announced in `Link`),
/// `orders/{id}.json`, `orders/{id}/fulfillment_orders.json` (one fulfillment order per order),
/// `orders/{id}/fulfillments.json`, `POST fulfillments.json` (422 when a line has less
/// fulfillable quantity than asked or the fulfillment order is closed or cancelled),
/// `POST orders/{id}/fulfillments/{id}/events.json`, `POST fulfillments/{id}/update_tracking.json`
/// (replaces the tracking number, company and url, keeps the shipment status; 404 for an
/// unknown fulfillment, 422 for a cancelled one), `POST orders/{id}/cancel.json` (422 when
/// already cancelled), `orders/{id}/transactions.json` (the `sale`, or `authorization`, and the
/// refunds' transactions), `GET|POST orders/{id}/refunds.json` (a refund's `transactions` of
/// `kind: refund` must name a successful sale as `parent_id`, on its `gateway`, for at most
/// what is left of it; its lines at most the units not refunded yet: 422 otherwise, 400 for a
/// malformed body). Refunds are not deduplicated, as on Shopify.
///
/// Listings: `locations.json` (an inactive former warehouse listed first, then the shop's
/// active location), `GET|PUT variants/{id}.json` (PUT takes `price` and `compare_at_price`,
/// decimal strings or numbers, `null` or `""` clearing the compare-at price: 422 for an amount
/// the currency cannot hold, 404 for an unknown variant), `POST inventory_levels/set.json`
/// (`location_id`, `inventory_item_id`, `available` from 0: 422 at the inactive location, 404
/// for an unknown location or item), `PUT products/{id}.json` (`status` `active`, `draft` or
/// `archived`, 422 otherwise; a hidden product is listed as `draft`). Every variant starts
/// with 100 in stock; `products.json` shows the prices, stock and status as written.
///
/// Webhooks: the REST order as body; `X-Shopify-Topic`, `X-Shopify-Hmac-Sha256` (base64
/// HMAC-SHA256 of the body with [`Self::webhook_secret`]), `X-Shopify-Shop-Domain`,
/// `X-Shopify-API-Version`, `X-Shopify-Webhook-Id` (the same for every copy and retry of one
/// delivery), `X-Shopify-Event-Id`, `X-Shopify-Triggered-At`. Success is any 2xx; anything else
/// or no answer within the time-out (default 5 s) is retried, 8 times with doubling waits from
/// 5 ms (Shopify: 8 times over 4 hours).
///
/// Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct ShopifySim {
    core: Arc<Core>,
    platform: Arc<ShopifyPlatform>,
    _server: Arc<Server>,
}

impl fmt::Debug for ShopifySim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopifySim")
            .field("base_url", &self.core.base_url)
            .field("shop_domain", &self.platform.domain)
            .field("access_token", &"[redacted]")
            .finish()
    }
}

impl ShopifySim {
    /// The `{platform}` segment of dropline's webhook path: `/webhooks/shopify/{store_id}`.
    pub const PLATFORM: &'static str = "shopify";

    /// Starts the store's API on 127.0.0.1 (a free port) with the configured catalogue.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let platform = Arc::new(ShopifyPlatform::new(&config));
        let shop = Arc::clone(&platform);
        let (core, server) = launch(platform.clone(), config, move |core| routes(Ctx { core, shop })).await?;
        Ok(Self {
            core,
            platform,
            _server: server,
        })
    }

    /// The Admin API access token (`shpat_…`) every request must carry.
    pub fn access_token(&self) -> &str {
        &self.platform.access_token
    }

    /// The app's client secret webhooks are signed with.
    pub fn webhook_secret(&self) -> &str {
        &self.platform.webhook_secret
    }

    /// `{shop}.myshopify.com`, as in `X-Shopify-Shop-Domain`.
    pub fn shop_domain(&self) -> &str {
        &self.platform.domain
    }

    /// Creates a test-mode order (`"test": true`, paid through the Bogus gateway), as a shop in
    /// test mode makes them; otherwise like [`Self::create_order`].
    pub fn create_test_order(&self) -> Result<String, SimError> {
        self.core.create_order(true)
    }

    /// The order's fulfillments, oldest first (empty for an unknown order).
    pub fn fulfillments(&self, order_id: &str) -> Vec<Fulfillment> {
        self.core.fulfillments(order_id)
    }

    /// `cancelled` when cancelled, else the fulfillment state: `unfulfilled`, `partial` or
    /// `fulfilled`. `None` for an unknown order.
    pub fn status(&self, order_id: &str) -> Option<String> {
        self.core.status(order_id)
    }

    /// The status of the order's fulfillment order: `open`, `in_progress`, `closed` or
    /// `cancelled`.
    pub fn fulfillment_order_status(&self, order_id: &str) -> Option<String> {
        lock(&self.core.state)
            .order(order_id)
            .map(|order| order.fulfillment_order_status.clone())
    }

    sim_methods!();
}

pub(crate) struct ShopifyPlatform {
    access_token: String,
    webhook_secret: String,
    domain: String,
    shop_name: String,
    shop_id: u64,
    location_id: u64,
}

impl ShopifyPlatform {
    fn new(config: &SimConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(splitmix(config.seed ^ 0x5348_4F50_4946_5900));
        let mut hex = |length: usize| -> String {
            (0..length)
                .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
                .collect()
        };
        let access_token = format!("shpat_{}", hex(32));
        let webhook_secret = format!("shpss_{}", hex(32));
        let shop_id = 48_000_000_000 + splitmix(config.seed) % 1_000_000_000;
        Self {
            access_token,
            webhook_secret,
            domain: format!("{}.myshopify.com", super::platform::slug(&config.shop_name)),
            shop_name: config.shop_name.clone(),
            shop_id,
            location_id: 61_000_000_000 + splitmix(config.seed ^ 1) % 1_000_000_000,
        }
    }
}

impl Platform for ShopifyPlatform {
    fn id_style(&self) -> IdStyle {
        IdStyle::Global
    }

    fn first_number(&self) -> u64 {
        1001
    }

    fn default_retry(&self) -> Retry {
        Retry {
            max_attempts: 9,
            first_backoff: Duration::from_millis(5),
        }
    }

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn initial_stock(&self) -> Option<u32> {
        // Shopify tracks inventory by default; the simulator's shop starts with 100 of each.
        Some(100)
    }

    fn accepts(&self, status: u16) -> bool {
        (200..300).contains(&status)
    }

    fn authorized(&self, headers: &HeaderMap, _query: Option<&str>) -> bool {
        headers
            .get("x-shopify-access-token")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|token| token == self.access_token)
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        let text = match status {
            StatusCode::UNAUTHORIZED => "[API] Invalid API key or access token".to_string(),
            StatusCode::NOT_FOUND => "Not Found".to_string(),
            StatusCode::INTERNAL_SERVER_ERROR => "Internal Server Error".to_string(),
            _ => message.to_string(),
        };
        reply(status, json!({ "errors": text }))
    }

    fn retry_after(&self, wait: Duration) -> String {
        format!("{:.1}", wait.as_secs_f64())
    }

    fn initial_status(&self, _payment: Payment) -> String {
        "open".to_string()
    }

    fn on_paid(&self, _order: &mut Order) {}

    fn on_cancelled(&self, _order: &mut Order) {}

    fn status(&self, order: &Order) -> String {
        if order.cancelled_at.is_some() {
            "cancelled"
        } else if order.fully_fulfilled() {
            "fulfilled"
        } else if order.partially_fulfilled() {
            "partial"
        } else {
            "unfulfilled"
        }
        .to_string()
    }

    fn render_order(&self, core: &Core, order: &Order) -> Value {
        render_order(self, core, order)
    }

    fn webhook(&self, core: &Core, order: &Order, topic: Topic, ids: EventIds) -> Result<Webhook, SimError> {
        let platform_topic = match topic {
            Topic::Created => "orders/create",
            Topic::Paid => "orders/paid",
            Topic::Updated => "orders/updated",
            Topic::Cancelled => "orders/cancelled",
        };
        let body = serde_json::to_vec(&render_order(self, core, order))
            .map_err(|err| SimError::Signing(format!("the order did not serialize: {err}")))?;
        let EventIds {
            uuid: delivery_id,
            other_uuid: event_id,
            ..
        } = ids;
        let triggered_at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("User-Agent".to_string(), "Shopify-Captain-Hook".to_string()),
            ("X-Shopify-Topic".to_string(), platform_topic.to_string()),
            (
                "X-Shopify-Hmac-Sha256".to_string(),
                hmac_base64(&self.webhook_secret, &body),
            ),
            ("X-Shopify-Shop-Domain".to_string(), self.domain.clone()),
            ("X-Shopify-API-Version".to_string(), API_VERSION.to_string()),
            ("X-Shopify-Webhook-Id".to_string(), delivery_id.clone()),
            ("X-Shopify-Event-Id".to_string(), event_id.clone()),
            ("X-Shopify-Triggered-At".to_string(), triggered_at),
            ("X-Shopify-Order-Id".to_string(), order.id.clone()),
        ];
        Ok(Webhook {
            platform_topic: platform_topic.to_string(),
            delivery_id,
            event_id,
            headers,
            body: Bytes::from(body),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(SHOP_OFFSET)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
        ))
        .unwrap_or_default()
}

fn optional_timestamp(at: Option<OffsetDateTime>) -> Value {
    at.map_or(Value::Null, |at| json!(timestamp(at)))
}

/// Shopify ids are JSON numbers.
fn number(id: &str) -> Value {
    id.parse::<u64>().map_or_else(|_| json!(id), |id| json!(id))
}

fn money_set(amount: &str, currency: &str) -> Value {
    json!({
        "shop_money": { "amount": amount, "currency_code": currency },
        "presentment_money": { "amount": amount, "currency_code": currency },
    })
}

fn render_address(address: &super::platform::Address) -> Value {
    let region = address.region.as_deref();
    json!({
        "first_name": address.first_name,
        "address1": address.address1,
        "phone": address.phone,
        "city": address.city,
        "zip": address.postal_code,
        "province": region.map(|region| region_name(&address.country_code, region)),
        "country": country_name(&address.country_code),
        "last_name": address.last_name,
        "address2": address.address2,
        "company": address.company,
        "latitude": null,
        "longitude": null,
        "name": format!("{} {}", address.first_name, address.last_name),
        "country_code": address.country_code,
        "province_code": region,
    })
}

fn line_fulfillment_status(line: &Line) -> Value {
    match (line.fulfilled, line.remaining()) {
        (0, _) => Value::Null,
        (_, 0) => json!("fulfilled"),
        _ => json!("partial"),
    }
}

fn render_line(platform: &ShopifyPlatform, order: &Order, line: &Line, quantity: u32) -> Value {
    let scale = super::platform::currency_scale(&order.currency);
    let price = format_amount(line.price, scale);
    let zero = format_amount(0, scale);
    let name = match &line.variant_title {
        Some(variant) => format!("{} - {variant}", line.title),
        None => line.title.clone(),
    };
    let fulfillable = if order.cancelled_at.is_some() {
        0
    } else {
        line.remaining()
    };
    json!({
        "id": number(&line.id),
        "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", line.id),
        "current_quantity": if order.cancelled_at.is_some() { 0 } else { line.quantity },
        "fulfillable_quantity": fulfillable,
        "fulfillment_service": "manual",
        "fulfillment_status": line_fulfillment_status(line),
        "gift_card": false,
        "grams": 250,
        "name": name,
        "price": price,
        "price_set": money_set(&price, &order.currency),
        "product_exists": true,
        "product_id": number(&line.product_id),
        "properties": [],
        "quantity": quantity,
        "requires_shipping": true,
        "sku": line.sku,
        "taxable": true,
        "title": line.title,
        "total_discount": zero,
        "total_discount_set": money_set(&zero, &order.currency),
        "variant_id": number(&line.variant_id),
        "variant_inventory_management": "shopify",
        "variant_title": line.variant_title,
        "vendor": platform.shop_name,
        "tax_lines": [],
        "duties": [],
        "discount_allocations": [],
    })
}

fn render_fulfillment(platform: &ShopifyPlatform, order: &Order, fulfillment: &Fulfillment, position: usize) -> Value {
    let lines: Vec<Value> = fulfillment
        .lines
        .iter()
        .filter_map(|shipped| {
            order
                .lines
                .iter()
                .find(|line| line.id == shipped.line_id)
                .map(|line| render_line(platform, order, line, shipped.quantity))
        })
        .collect();
    let numbers: Vec<&String> = fulfillment.tracking_number.iter().collect();
    let urls: Vec<&String> = fulfillment.tracking_url.iter().collect();
    json!({
        "id": number(&fulfillment.id),
        "admin_graphql_api_id": format!("gid://shopify/Fulfillment/{}", fulfillment.id),
        "created_at": timestamp(fulfillment.created_at),
        "location_id": platform.location_id,
        "name": format!("#{}.{}", order.number, position + 1),
        "order_id": number(&order.id),
        "origin_address": {},
        "receipt": {},
        "service": "manual",
        "shipment_status": fulfillment.shipment_status,
        "status": fulfillment.status,
        "tracking_company": fulfillment.tracking_company,
        "tracking_number": fulfillment.tracking_number,
        "tracking_numbers": numbers,
        "tracking_url": fulfillment.tracking_url,
        "tracking_urls": urls,
        "updated_at": timestamp(order.updated_at),
        "line_items": lines,
    })
}

fn render_fulfillment_order(platform: &ShopifyPlatform, order: &Order) -> Value {
    let address = &order.shipping_address;
    let open = matches!(order.fulfillment_order_status.as_str(), "open" | "in_progress");
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|line| {
            json!({
                "id": number(&line.fulfillment_order_line_id),
                "shop_id": platform.shop_id,
                "fulfillment_order_id": number(&order.fulfillment_order_id),
                "quantity": line.quantity,
                "line_item_id": number(&line.id),
                "inventory_item_id": number(&line.inventory_item_id),
                "fulfillable_quantity": if open { line.remaining() } else { 0 },
                "variant_id": number(&line.variant_id),
            })
        })
        .collect();
    json!({
        "id": number(&order.fulfillment_order_id),
        "shop_id": platform.shop_id,
        "order_id": number(&order.id),
        "assigned_location_id": platform.location_id,
        "request_status": "unsubmitted",
        "status": order.fulfillment_order_status,
        "fulfill_at": timestamp(order.created_at),
        "fulfill_by": null,
        "international_duties": null,
        "fulfillment_holds": [],
        "delivery_method": { "id": null, "method_type": "shipping" },
        "created_at": timestamp(order.created_at),
        "updated_at": timestamp(order.updated_at),
        "supported_actions": if open { json!(["create_fulfillment", "hold"]) } else { json!([]) },
        "destination": {
            "address1": address.address1,
            "address2": address.address2,
            "city": address.city,
            "company": address.company,
            "country": country_name(&address.country_code),
            "email": order.customer.email,
            "first_name": address.first_name,
            "last_name": address.last_name,
            "phone": address.phone,
            "province": address.region.as_deref().map(|region| region_name(&address.country_code, region)),
            "zip": address.postal_code,
        },
        "line_items": lines,
        "merchant_requests": [],
        "assigned_location": {
            "name": platform.shop_name,
            "location_id": platform.location_id,
            "country_code": "US",
        },
    })
}

fn render_order(platform: &ShopifyPlatform, core: &Core, order: &Order) -> Value {
    let currency = &order.currency;
    let scale = core.currency_scale();
    let amount = |minor: i64| format_amount(minor, scale);
    let (subtotal, total, shipping, zero) = (
        amount(order.subtotal()),
        amount(order.total()),
        amount(order.shipping_price),
        amount(0),
    );
    let financial_status = match order.payment {
        Payment::Pending => "pending",
        Payment::Authorized => "authorized",
        Payment::Paid if order.refunded() >= order.total() => "refunded",
        Payment::Paid if order.refunded() > 0 => "partially_refunded",
        Payment::Paid => "paid",
        Payment::Voided => "voided",
    };
    let fulfillment_status = if order.fully_fulfilled() {
        json!("fulfilled")
    } else if order.partially_fulfilled() {
        json!("partial")
    } else {
        Value::Null
    };
    let gateway = gateway(order);
    let customer = &order.customer;
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|line| render_line(platform, order, line, line.quantity))
        .collect();
    let fulfillments: Vec<Value> = order
        .fulfillments
        .iter()
        .enumerate()
        .map(|(position, fulfillment)| render_fulfillment(platform, order, fulfillment, position))
        .collect();
    let grams: u32 = order.lines.iter().map(|line| 250 * line.quantity).sum();
    let mut body = json!({
        "id": number(&order.id),
        "admin_graphql_api_id": format!("gid://shopify/Order/{}", order.id),
        "app_id": 580111,
        "browser_ip": "203.0.113.24",
        "buyer_accepts_marketing": false,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": optional_timestamp(order.cancelled_at),
        "cart_token": &order.token[..16],
        "checkout_id": number(&order.fulfillment_order_id).as_u64().map(|id| id + 7),
        "checkout_token": &order.token[16..],
        "closed_at": null,
        "confirmed": true,
        "contact_email": customer.email,
        "created_at": timestamp(order.created_at),
        "currency": currency,
        "current_subtotal_price": subtotal,
        "current_total_discounts": zero,
        "current_total_price": total,
        "current_total_tax": zero,
        "customer_locale": "en",
        "email": customer.email,
        "financial_status": financial_status,
        "fulfillment_status": fulfillment_status,
        "gateway": gateway,
        "landing_site": "/",
        "landing_site_ref": null,
    });
    merge(
        &mut body,
        json!({
            "name": format!("#{}", order.number),
            "note": null,
            "note_attributes": [],
            "number": order.number.saturating_sub(1000),
            "order_number": order.number,
            "order_status_url": format!(
                "https://{}/{}/orders/{}/authenticate?key={}",
                platform.domain, platform.shop_id, order.token, &order.token[..24]
            ),
            "payment_gateway_names": [gateway],
            "phone": customer.phone,
            "presentment_currency": currency,
            "processed_at": timestamp(order.created_at),
            "reference": null,
            "referring_site": "",
            "source_name": "web",
            "subtotal_price": subtotal,
            "subtotal_price_set": money_set(&subtotal, currency),
            "tags": "",
            "tax_lines": [],
            "taxes_included": false,
            "test": order.test,
            "token": order.token,
            "total_discounts": zero,
            "total_discounts_set": money_set(&zero, currency),
            "total_line_items_price": subtotal,
            "total_line_items_price_set": money_set(&subtotal, currency),
            "total_outstanding": if order.payment == Payment::Paid { zero.clone() } else { total.clone() },
            "total_price": total,
            "total_price_set": money_set(&total, currency),
            "total_shipping_price_set": money_set(&shipping, currency),
            "total_tax": zero,
            "total_tax_set": money_set(&zero, currency),
            "total_tip_received": zero,
            "total_weight": grams,
            "updated_at": timestamp(order.updated_at),
            "user_id": null,
        }),
    );
    merge(
        &mut body,
        json!({
            "billing_address": render_address(&order.billing_address),
            "customer": {
                "id": number(&customer.id),
                "email": customer.email,
                "created_at": timestamp(order.created_at),
                "updated_at": timestamp(order.updated_at),
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "state": "disabled",
                "note": null,
                "verified_email": true,
                "multipass_identifier": null,
                "tax_exempt": false,
                "phone": customer.phone,
                "currency": currency,
                "tags": "",
                "admin_graphql_api_id": format!("gid://shopify/Customer/{}", customer.id),
                "default_address": render_address(&order.billing_address),
            },
            "discount_applications": [],
            "discount_codes": [],
            "fulfillments": fulfillments,
            "line_items": lines,
            "payment_terms": null,
            "refunds": order
                .refunds
                .iter()
                .map(|refund| render_refund(platform, order, refund))
                .collect::<Vec<_>>(),
            "shipping_address": render_address(&order.shipping_address),
            "shipping_lines": [{
                "id": number(&order.shipping_line_id),
                "carrier_identifier": null,
                "code": order.shipping_title,
                "delivery_category": null,
                "discounted_price": shipping,
                "discounted_price_set": money_set(&shipping, currency),
                "phone": null,
                "price": shipping,
                "price_set": money_set(&shipping, currency),
                "requested_fulfillment_service_id": null,
                "source": "shopify",
                "title": order.shipping_title,
                "tax_lines": [],
                "discount_allocations": [],
            }],
        }),
    );
    body
}

/// The gateway the order was paid through.
fn gateway(order: &Order) -> &'static str {
    if order.test { "bogus" } else { "shopify_payments" }
}

/// The order's payment transaction (`sale`, or `authorization` before capture), if any.
fn payment_transaction(order: &Order) -> Option<Value> {
    let kind = match order.payment {
        Payment::Paid => "sale",
        Payment::Authorized => "authorization",
        Payment::Pending | Payment::Voided => return None,
    };
    let at = order.paid_at.unwrap_or(order.created_at);
    let amount = format_amount(order.total(), super::platform::currency_scale(&order.currency));
    Some(json!({
        "id": number(&order.payment_id),
        "order_id": number(&order.id),
        "kind": kind,
        "gateway": gateway(order),
        "status": "success",
        "message": "Transaction approved",
        "created_at": timestamp(at),
        "test": order.test,
        "authorization": format!("ch_{}", &order.token[..24]),
        "location_id": null,
        "user_id": null,
        "parent_id": null,
        "processed_at": timestamp(at),
        "device_id": null,
        "error_code": null,
        "source_name": "web",
        "amount": amount,
        "currency": order.currency,
        "admin_graphql_api_id": format!("gid://shopify/OrderTransaction/{}", order.payment_id),
    }))
}

fn render_refund_transaction(order: &Order, refund: &Refund, transaction: &RefundTransaction) -> Value {
    let amount = format_amount(transaction.amount, super::platform::currency_scale(&order.currency));
    json!({
        "id": number(&transaction.id),
        "order_id": number(&order.id),
        "kind": "refund",
        "gateway": transaction.gateway,
        "status": "success",
        "message": "Transaction approved",
        "created_at": timestamp(refund.created_at),
        "test": order.test,
        "authorization": null,
        "location_id": null,
        "user_id": null,
        "parent_id": number(&transaction.payment_id),
        "processed_at": timestamp(refund.created_at),
        "device_id": null,
        "error_code": null,
        "source_name": "external",
        "amount": amount,
        "currency": order.currency,
        "admin_graphql_api_id": format!("gid://shopify/OrderTransaction/{}", transaction.id),
    })
}

fn render_refund(platform: &ShopifyPlatform, order: &Order, refund: &Refund) -> Value {
    let scale = super::platform::currency_scale(&order.currency);
    let lines: Vec<Value> = refund
        .lines
        .iter()
        .enumerate()
        .filter_map(|(index, refunded)| {
            let line = order.lines.iter().find(|line| line.id == refunded.line_id)?;
            let subtotal = format_amount(line.price * i64::from(refunded.quantity), scale);
            Some(json!({
                "id": number(&refund.id).as_u64().map_or(json!(index), |id| json!(id + 1 + index as u64)),
                "line_item_id": number(&line.id),
                "location_id": null,
                "quantity": refunded.quantity,
                "restock_type": if refund.restock { "return" } else { "no_restock" },
                "subtotal": subtotal,
                "subtotal_set": money_set(&subtotal, &order.currency),
                "total_tax": format_amount(0, scale),
                "line_item": render_line(platform, order, line, line.quantity),
            }))
        })
        .collect();
    json!({
        "id": number(&refund.id),
        "order_id": number(&order.id),
        "created_at": timestamp(refund.created_at),
        "note": refund.note,
        "user_id": null,
        "processed_at": timestamp(refund.created_at),
        "restock": refund.restock,
        "duties": [],
        "total_duties_set": money_set(&format_amount(0, scale), &order.currency),
        "additional_fees": [],
        "admin_graphql_api_id": format!("gid://shopify/Refund/{}", refund.id),
        "refund_line_items": lines,
        "transactions": refund
            .transactions
            .iter()
            .map(|transaction| render_refund_transaction(order, refund, transaction))
            .collect::<Vec<_>>(),
        "order_adjustments": [],
    })
}

/// A variant as `products.json` and `variants/{id}.json` show it.
fn render_variant(product: &Product, position: usize, scale: u32) -> Value {
    let variant = &product.variants[position];
    let created = timestamp(product.created_at);
    let option = |index: usize| {
        variant
            .options
            .get(index)
            .map(|(_, value)| json!(value))
            .unwrap_or(if index == 0 {
                json!("Default Title")
            } else {
                Value::Null
            })
    };
    let quantity = variant.stock.unwrap_or(0);
    json!({
        "id": number(&variant.id),
        "product_id": number(&product.id),
        "title": variant.title().unwrap_or_else(|| "Default Title".to_string()),
        "price": format_amount(variant.price, scale),
        "position": position + 1,
        "inventory_policy": "deny",
        "compare_at_price": variant.compare_at.map(|minor| format_amount(minor, scale)),
        "option1": option(0),
        "option2": option(1),
        "option3": option(2),
        "created_at": created,
        "updated_at": created,
        "taxable": true,
        "barcode": null,
        "sku": variant.sku,
        "inventory_management": variant.stock.map(|_| "shopify"),
        "inventory_item_id": number(&variant.inventory_item_id),
        "inventory_quantity": quantity,
        "old_inventory_quantity": quantity,
        "requires_shipping": true,
        "image_id": null,
        "admin_graphql_api_id": format!("gid://shopify/ProductVariant/{}", variant.id),
    })
}

fn render_product(platform: &ShopifyPlatform, product: &Product, scale: u32) -> Value {
    let created = timestamp(product.created_at);
    let product_number = product.id.parse::<u64>().unwrap_or_default();
    let variants: Vec<Value> = (0..product.variants.len())
        .map(|position| render_variant(product, position, scale))
        .collect();
    let options: Vec<Value> = if product.is_simple() {
        vec![json!({
            "id": product_number + 1,
            "product_id": number(&product.id),
            "name": "Title",
            "position": 1,
            "values": ["Default Title"],
        })]
    } else {
        product
            .option_names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let mut values: Vec<&String> = Vec::new();
                for variant in &product.variants {
                    if let Some((_, value)) = variant.options.get(index)
                        && !values.contains(&value)
                    {
                        values.push(value);
                    }
                }
                json!({
                    "id": product_number + 1 + index as u64,
                    "product_id": number(&product.id),
                    "name": name,
                    "position": index + 1,
                    "values": values,
                })
            })
            .collect()
    };
    json!({
        "id": number(&product.id),
        "title": product.title,
        "body_html": "",
        "vendor": platform.shop_name,
        "product_type": "",
        "created_at": created,
        "handle": product.handle,
        "updated_at": created,
        "published_at": if product.published { json!(created) } else { Value::Null },
        "template_suffix": null,
        "published_scope": "global",
        "tags": "",
        "status": if product.published { "active" } else { "draft" },
        "admin_graphql_api_id": format!("gid://shopify/Product/{}", product.id),
        "variants": variants,
        "options": options,
        "images": [],
        "image": null,
    })
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

/// What the handlers see: the store and the Shopify specifics.
#[derive(Clone)]
struct Ctx {
    core: Arc<Core>,
    shop: Arc<ShopifyPlatform>,
}

fn routes(ctx: Ctx) -> Router {
    Router::new()
        .route("/admin/api/2025-07/shop.json", get(get_shop))
        .route("/admin/api/2025-07/products.json", get(list_products))
        .route("/admin/api/2025-07/products/{file}", put(put_product))
        .route("/admin/api/2025-07/variants/{file}", get(get_variant).put(put_variant))
        .route("/admin/api/2025-07/locations.json", get(list_locations))
        .route(
            "/admin/api/2025-07/inventory_levels/set.json",
            post(set_inventory_level),
        )
        .route("/admin/api/2025-07/orders/{order_id}", get(get_order))
        .route(
            "/admin/api/2025-07/orders/{order_id}/fulfillment_orders.json",
            get(list_fulfillment_orders),
        )
        .route(
            "/admin/api/2025-07/orders/{order_id}/fulfillments.json",
            get(list_fulfillments),
        )
        .route("/admin/api/2025-07/fulfillments.json", post(create_fulfillment))
        .route(
            "/admin/api/2025-07/orders/{order_id}/fulfillments/{fulfillment_id}/events.json",
            post(create_fulfillment_event),
        )
        .route(
            "/admin/api/2025-07/fulfillments/{fulfillment_id}/update_tracking.json",
            post(update_tracking),
        )
        .route("/admin/api/2025-07/orders/{order_id}/cancel.json", post(cancel_order))
        .route(
            "/admin/api/2025-07/orders/{order_id}/transactions.json",
            get(list_transactions),
        )
        .route(
            "/admin/api/2025-07/orders/{order_id}/refunds.json",
            get(list_refunds).post(create_refund),
        )
        .fallback(not_found)
        .with_state(ctx)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn not_found_reply() -> Response {
    reply(StatusCode::NOT_FOUND, json!({ "errors": "Not Found" }))
}

async fn not_found() -> Response {
    not_found_reply()
}

/// A 400 for a missing or malformed parameter, naming it.
fn bad_request(field: &str, reason: &str) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({ "errors": { field: reason } }))
}

fn refused(reason: String) -> Response {
    reply(StatusCode::UNPROCESSABLE_ENTITY, json!({ "errors": [reason] }))
}

async fn get_shop(Shared(Ctx { core, shop }): Shared<Ctx>) -> Response {
    let platform = &*shop;
    reply(
        StatusCode::OK,
        json!({
            "shop": {
                "id": platform.shop_id,
                "name": platform.shop_name,
                "email": format!("owner@{}", platform.domain),
                "domain": platform.domain,
                "myshopify_domain": platform.domain,
                "currency": core.config.currency,
                "iana_timezone": "America/New_York",
                "timezone": "(GMT-05:00) Eastern Time (US & Canada)",
                "country_code": "US",
                "plan_name": "basic",
            }
        }),
    )
}

/// A `page_info` cursor: opaque to clients, the offset of the page's first product inside.
fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("products:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("products:")?.parse().ok()
}

async fn list_products(Shared(Ctx { core, shop }): Shared<Ctx>, RawQuery(query): RawQuery) -> Response {
    let platform = &*shop;
    let params = query_params(query.as_deref());
    let limit = match params.get("limit") {
        None => 50,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=250).contains(&limit) => limit,
            _ => return bad_request("limit", "must be a whole number from 1 to 250"),
        },
    };
    let state = lock(&core.state);
    let total = state.products.len();
    let offset = match params.get("page_info") {
        None => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(offset) if offset <= total => offset,
            _ => return bad_request("page_info", "Invalid value."),
        },
    };
    let scale = core.currency_scale();
    let products: Vec<Value> = state
        .products
        .iter()
        .skip(offset)
        .take(limit)
        .map(|product| render_product(platform, product, scale))
        .collect();
    drop(state);
    let page_url = |offset: usize| {
        format!(
            "{}/admin/api/{API_VERSION}/products.json?limit={limit}&page_info={}",
            core.base_url,
            encode_cursor(offset)
        )
    };
    let mut links = Vec::new();
    if offset > 0 {
        links.push(format!(
            "<{}>; rel=\"previous\"",
            page_url(offset.saturating_sub(limit))
        ));
    }
    if offset + limit < total {
        links.push(format!("<{}>; rel=\"next\"", page_url(offset + limit)));
    }
    let mut response = reply(StatusCode::OK, json!({ "products": products }));
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links.join(", "))
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

async fn get_order(Shared(Ctx { core, .. }): Shared<Ctx>, Path(file): Path<String>) -> Response {
    let Some(order_id) = file.strip_suffix(".json") else {
        return not_found_reply();
    };
    match core.order_json(order_id) {
        Some(order) => reply(StatusCode::OK, json!({ "order": order })),
        None => not_found_reply(),
    }
}

async fn list_fulfillment_orders(Shared(Ctx { core, shop }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    let platform = &*shop;
    let state = lock(&core.state);
    match state.order(&order_id) {
        Some(order) => reply(
            StatusCode::OK,
            json!({ "fulfillment_orders": [render_fulfillment_order(platform, order)] }),
        ),
        None => not_found_reply(),
    }
}

async fn list_fulfillments(Shared(Ctx { core, shop }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    let platform = &*shop;
    let state = lock(&core.state);
    match state.order(&order_id) {
        Some(order) => {
            let fulfillments: Vec<Value> = order
                .fulfillments
                .iter()
                .enumerate()
                .map(|(position, fulfillment)| render_fulfillment(platform, order, fulfillment, position))
                .collect();
            reply(StatusCode::OK, json!({ "fulfillments": fulfillments }))
        }
        None => not_found_reply(),
    }
}

/// An id sent as a JSON number or a numeric string.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(number) => number.as_u64().map(|id| id.to_string()),
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => Some(text.clone()),
        _ => None,
    }
}

/// Fulfillment order line ids and the quantities asked of them.
type LineRequests = Vec<(String, u32)>;

/// What a `POST fulfillments.json` asks for, checked for shape.
struct FulfillmentRequest {
    /// Per fulfillment order: the lines and quantities, or `None` for all that remains.
    groups: Vec<(String, Option<LineRequests>)>,
    number: Option<String>,
    company: Option<String>,
    url: Option<String>,
}

fn parse_fulfillment_request(body: &[u8]) -> Result<FulfillmentRequest, Box<Response>> {
    let body = parse_json(body).map_err(|reason| Box::new(bad_request("fulfillment", &reason)))?;
    let fulfillment = &body["fulfillment"];
    if !fulfillment.is_object() {
        return Err(Box::new(bad_request(
            "fulfillment",
            "Required parameter missing or invalid",
        )));
    }
    let groups_json = match fulfillment["line_items_by_fulfillment_order"].as_array() {
        Some(groups) if !groups.is_empty() => groups,
        _ => {
            return Err(Box::new(bad_request(
                "line_items_by_fulfillment_order",
                "Required parameter missing or invalid: a non-empty list is expected",
            )));
        }
    };
    let mut groups = Vec::new();
    for (index, group) in groups_json.iter().enumerate() {
        let field = format!("line_items_by_fulfillment_order[{index}]");
        let Some(fulfillment_order_id) = id_text(&group["fulfillment_order_id"]) else {
            return Err(Box::new(bad_request(
                &format!("{field}.fulfillment_order_id"),
                "must be the id of a fulfillment order",
            )));
        };
        let lines = match &group["fulfillment_order_line_items"] {
            Value::Null => None,
            Value::Array(items) => {
                let mut lines = Vec::new();
                for (line_index, item) in items.iter().enumerate() {
                    let line_field = format!("{field}.fulfillment_order_line_items[{line_index}]");
                    let Some(id) = id_text(&item["id"]) else {
                        return Err(Box::new(bad_request(
                            &format!("{line_field}.id"),
                            "must be the id of a fulfillment order line item",
                        )));
                    };
                    let quantity = match item["quantity"].as_u64() {
                        Some(quantity) if (1..=u64::from(u32::MAX)).contains(&quantity) => quantity as u32,
                        _ => {
                            return Err(Box::new(bad_request(
                                &format!("{line_field}.quantity"),
                                "must be a whole number of at least 1",
                            )));
                        }
                    };
                    lines.push((id, quantity));
                }
                Some(lines)
            }
            _ => {
                return Err(Box::new(bad_request(
                    &format!("{field}.fulfillment_order_line_items"),
                    "must be a list",
                )));
            }
        };
        groups.push((fulfillment_order_id, lines));
    }
    let tracking = &fulfillment["tracking_info"];
    let first_text = |single: &str, many: &str| -> Option<String> {
        tracking[single]
            .as_str()
            .or_else(|| {
                tracking[many]
                    .as_array()
                    .and_then(|list| list.first())
                    .and_then(Value::as_str)
            })
            .filter(|text| !text.trim().is_empty())
            .map(str::to_string)
    };
    Ok(FulfillmentRequest {
        groups,
        number: first_text("number", "numbers"),
        company: tracking["company"]
            .as_str()
            .filter(|text| !text.is_empty())
            .map(str::to_string),
        url: first_text("url", "urls"),
    })
}

async fn create_fulfillment(Shared(Ctx { core, shop }): Shared<Ctx>, body: Bytes) -> Response {
    let request = match parse_fulfillment_request(&body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let platform = &*shop;
    let mut state = lock(&core.state);
    // Every fulfillment order named must exist and belong to one order.
    let mut order_id: Option<String> = None;
    for (fulfillment_order_id, _) in &request.groups {
        let Some(owner) = state.fulfillment_orders.get(fulfillment_order_id).cloned() else {
            return refused(format!("fulfillment order {fulfillment_order_id} does not exist"));
        };
        match &order_id {
            Some(first) if *first != owner => {
                return refused("all fulfillment orders must belong to the same order".to_string());
            }
            _ => order_id = Some(owner),
        }
    }
    let Some(order_id) = order_id else {
        return bad_request(
            "line_items_by_fulfillment_order",
            "Required parameter missing or invalid",
        );
    };
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&order_id) else {
        return not_found_reply();
    };
    let status = order.fulfillment_order_status.clone();
    if !matches!(status.as_str(), "open" | "in_progress") {
        return refused(format!(
            "fulfillment order {} is {status} and cannot be fulfilled",
            order.fulfillment_order_id
        ));
    }
    // Quantities asked per fulfillment order line (summed when a line is named twice).
    let mut asked: BTreeMap<String, u32> = BTreeMap::new();
    for (_, lines) in &request.groups {
        match lines {
            Some(lines) => {
                for (line_id, quantity) in lines {
                    let total = asked.entry(line_id.clone()).or_default();
                    *total = total.saturating_add(*quantity);
                }
            }
            None => {
                for line in order.lines.iter().filter(|line| line.remaining() > 0) {
                    asked.insert(line.fulfillment_order_line_id.clone(), line.remaining());
                }
            }
        }
    }
    if asked.is_empty() {
        return refused(format!(
            "fulfillment order {} has nothing left to fulfill",
            order.fulfillment_order_id
        ));
    }
    for (line_id, quantity) in &asked {
        let Some(line) = order
            .lines
            .iter()
            .find(|line| &line.fulfillment_order_line_id == line_id)
        else {
            return refused(format!(
                "fulfillment order line item {line_id} is not on fulfillment order {}",
                order.fulfillment_order_id
            ));
        };
        if *quantity > line.remaining() {
            return refused(format!(
                "fulfillment order line item {line_id}: {quantity} requested but only {} fulfillable",
                line.remaining()
            ));
        }
    }
    let mut shipped = Vec::new();
    for line in &mut order.lines {
        if let Some(quantity) = asked.get(&line.fulfillment_order_line_id) {
            line.fulfilled += quantity;
            shipped.push(FulfilledLine {
                line_id: line.id.clone(),
                quantity: *quantity,
            });
        }
    }
    order.fulfillment_order_status = if order.fully_fulfilled() {
        "closed"
    } else {
        "in_progress"
    }
    .to_string();
    order.touch();
    let fulfillment = Fulfillment {
        id: ids.next(IdKind::Item),
        status: "success".to_string(),
        lines: shipped,
        tracking_number: request.number,
        tracking_company: request.company,
        tracking_url: request.url,
        shipment_status: None,
        created_at: now_seconds(),
    };
    order.fulfillments.push(fulfillment);
    let position = order.fulfillments.len() - 1;
    let body = render_fulfillment(platform, order, &order.fulfillments[position], position);
    reply(StatusCode::CREATED, json!({ "fulfillment": body }))
}

async fn create_fulfillment_event(
    Shared(Ctx { core, shop }): Shared<Ctx>,
    Path((order_id, fulfillment_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return bad_request("event", &reason),
    };
    let Some(status) = body["event"]["status"].as_str() else {
        return bad_request("event.status", "Required parameter missing or invalid");
    };
    if !SHIPMENT_STATUSES.contains(&status) {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": { "status": [format!("\"{status}\" is not included in the list")] } }),
        );
    }
    let platform = &*shop;
    let mut state = lock(&core.state);
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&order_id) else {
        return not_found_reply();
    };
    let Some(fulfillment) = order
        .fulfillments
        .iter_mut()
        .find(|fulfillment| fulfillment.id == fulfillment_id)
    else {
        return not_found_reply();
    };
    fulfillment.shipment_status = Some(status.to_string());
    let now = now_seconds();
    let event_id = ids.next(IdKind::Item);
    order.touch();
    reply(
        StatusCode::CREATED,
        json!({
            "fulfillment_event": {
                "id": number(&event_id),
                "fulfillment_id": number(&fulfillment_id),
                "status": status,
                "message": null,
                "happened_at": timestamp(now),
                "city": null,
                "province": null,
                "country": null,
                "zip": null,
                "address1": null,
                "latitude": null,
                "longitude": null,
                "shop_id": platform.shop_id,
                "created_at": timestamp(now),
                "updated_at": timestamp(now),
                "estimated_delivery_at": null,
                "order_id": number(&order_id),
                "admin_graphql_api_id": format!("gid://shopify/FulfillmentEvent/{event_id}"),
            }
        }),
    )
}

/// The new tracking of a `POST fulfillments/{id}/update_tracking.json`: the number is
/// required, the company is kept when not given, the url (tied to the old number) is
/// cleared when not given.
struct TrackingUpdate {
    number: String,
    company: Option<String>,
    url: Option<String>,
}

fn parse_tracking_update(body: &[u8]) -> Result<TrackingUpdate, Box<Response>> {
    let body = parse_json(body).map_err(|reason| Box::new(bad_request("fulfillment", &reason)))?;
    let tracking = &body["fulfillment"]["tracking_info"];
    if !tracking.is_object() {
        return Err(Box::new(bad_request(
            "fulfillment.tracking_info",
            "Required parameter missing or invalid",
        )));
    }
    let text = |field: &str| -> Result<Option<String>, Box<Response>> {
        match &tracking[field] {
            Value::Null => Ok(None),
            Value::String(text) if text.trim().is_empty() => Ok(None),
            Value::String(text) => Ok(Some(text.clone())),
            _ => Err(Box::new(bad_request(
                &format!("fulfillment.tracking_info.{field}"),
                "must be a string",
            ))),
        }
    };
    let Some(number) = text("number")? else {
        return Err(Box::new(bad_request(
            "fulfillment.tracking_info.number",
            "Required parameter missing or invalid",
        )));
    };
    if !matches!(body["fulfillment"]["notify_customer"], Value::Null | Value::Bool(_)) {
        return Err(Box::new(bad_request(
            "fulfillment.notify_customer",
            "must be true or false",
        )));
    }
    Ok(TrackingUpdate {
        number,
        company: text("company")?,
        url: text("url")?,
    })
}

async fn update_tracking(
    Shared(Ctx { core, shop }): Shared<Ctx>,
    Path(fulfillment_id): Path<String>,
    body: Bytes,
) -> Response {
    let update = match parse_tracking_update(&body) {
        Ok(update) => update,
        Err(response) => return *response,
    };
    let platform = &*shop;
    let mut state = lock(&core.state);
    let Some((order, position)) = state.orders.values_mut().find_map(|order| {
        let position = order.fulfillments.iter().position(|f| f.id == fulfillment_id)?;
        Some((order, position))
    }) else {
        return not_found_reply();
    };
    let fulfillment = &mut order.fulfillments[position];
    if fulfillment.status == "cancelled" {
        return refused(format!(
            "fulfillment {fulfillment_id} is cancelled and its tracking cannot be updated"
        ));
    }
    fulfillment.tracking_number = Some(update.number);
    if update.company.is_some() {
        fulfillment.tracking_company = update.company;
    }
    fulfillment.tracking_url = update.url;
    order.touch();
    let body = render_fulfillment(platform, order, &order.fulfillments[position], position);
    reply(StatusCode::OK, json!({ "fulfillment": body }))
}

async fn cancel_order(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>, body: Bytes) -> Response {
    // The body is optional; when there is one it must be JSON.
    let body = if body.is_empty() {
        json!({})
    } else {
        match parse_json(&body) {
            Ok(body) => body,
            Err(reason) => return bad_request("order", &reason),
        }
    };
    let reason = match &body["reason"] {
        Value::Null => "other".to_string(),
        Value::String(reason) if CANCEL_REASONS.contains(&reason.as_str()) => reason.clone(),
        other => {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "errors": { "reason": [format!("{other} is not included in the list")] } }),
            );
        }
    };
    let mut state = lock(&core.state);
    let Some(order) = state.order_mut(&order_id) else {
        return not_found_reply();
    };
    if order.cancelled_at.is_some() {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": "Cannot cancel an order that has already been cancelled" }),
        );
    }
    let at = order.touch();
    core.cancel(order, at, &reason);
    let rendered = core.platform.render_order(&core, order);
    reply(StatusCode::OK, json!({ "order": rendered }))
}

async fn list_transactions(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    let state = lock(&core.state);
    let Some(order) = state.order(&order_id) else {
        return not_found_reply();
    };
    let mut transactions: Vec<Value> = payment_transaction(order).into_iter().collect();
    for refund in &order.refunds {
        transactions.extend(
            refund
                .transactions
                .iter()
                .map(|transaction| render_refund_transaction(order, refund, transaction)),
        );
    }
    reply(StatusCode::OK, json!({ "transactions": transactions }))
}

async fn list_refunds(Shared(Ctx { core, shop }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    let state = lock(&core.state);
    match state.order(&order_id) {
        Some(order) => reply(
            StatusCode::OK,
            json!({ "refunds": order.refunds.iter().map(|refund| render_refund(&shop, order, refund)).collect::<Vec<_>>() }),
        ),
        None => not_found_reply(),
    }
}

/// A 422 with Shopify's errors by field.
fn unprocessable(field: &str, reason: String) -> Response {
    reply(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({ "errors": { field: [reason] } }),
    )
}

/// What a `POST orders/{id}/refunds.json` asks for, checked for shape.
struct RefundRequest {
    currency: Option<String>,
    notify: bool,
    note: Option<String>,
    /// Line item id, quantity, whether it is restocked.
    lines: Vec<(String, u32, bool)>,
    /// Parent transaction id, amount text, kind, gateway.
    transactions: Vec<(String, String, String, Option<String>)>,
}

fn parse_refund_request(body: &[u8]) -> Result<RefundRequest, Box<Response>> {
    let body = parse_json(body).map_err(|reason| Box::new(bad_request("refund", &reason)))?;
    let refund = &body["refund"];
    if !refund.is_object() {
        return Err(Box::new(bad_request("refund", "Required parameter missing or invalid")));
    }
    let text = |field: &str| -> Result<Option<String>, Box<Response>> {
        match &refund[field] {
            Value::Null => Ok(None),
            Value::String(text) => Ok(Some(text.clone())),
            _ => Err(Box::new(bad_request(&format!("refund.{field}"), "must be a string"))),
        }
    };
    let notify = match &refund["notify"] {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        _ => return Err(Box::new(bad_request("refund.notify", "must be true or false"))),
    };
    let list = |field: &str| -> Result<Vec<Value>, Box<Response>> {
        match &refund[field] {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => Ok(items.clone()),
            _ => Err(Box::new(bad_request(&format!("refund.{field}"), "must be a list"))),
        }
    };
    let mut lines = Vec::new();
    for (index, item) in list("refund_line_items")?.iter().enumerate() {
        let field = format!("refund.refund_line_items[{index}]");
        let Some(line_id) = id_text(&item["line_item_id"]) else {
            return Err(Box::new(bad_request(
                &format!("{field}.line_item_id"),
                "must be the id of a line item",
            )));
        };
        let quantity = match item["quantity"].as_u64() {
            Some(quantity) if (1..=u64::from(u32::MAX)).contains(&quantity) => quantity as u32,
            _ => {
                return Err(Box::new(bad_request(
                    &format!("{field}.quantity"),
                    "must be a whole number of at least 1",
                )));
            }
        };
        let restock = match &item["restock_type"] {
            Value::Null => false,
            Value::String(kind) if kind == "no_restock" => false,
            Value::String(kind) if kind == "cancel" || kind == "return" => true,
            other => {
                return Err(Box::new(unprocessable(
                    "restock_type",
                    format!("{other} is not included in the list"),
                )));
            }
        };
        lines.push((line_id, quantity, restock));
    }
    let mut transactions = Vec::new();
    for (index, item) in list("transactions")?.iter().enumerate() {
        let field = format!("refund.transactions[{index}]");
        let Some(parent_id) = id_text(&item["parent_id"]) else {
            return Err(Box::new(bad_request(
                &format!("{field}.parent_id"),
                "must be the id of a transaction",
            )));
        };
        let amount = match &item["amount"] {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => {
                return Err(Box::new(bad_request(
                    &format!("{field}.amount"),
                    "Required parameter missing or invalid",
                )));
            }
        };
        let kind = item["kind"].as_str().unwrap_or_default().to_string();
        let gateway = item["gateway"].as_str().map(str::to_string);
        transactions.push((parent_id, amount, kind, gateway));
    }
    Ok(RefundRequest {
        currency: text("currency")?,
        notify,
        note: text("note")?,
        lines,
        transactions,
    })
}

async fn create_refund(Shared(Ctx { core, shop }): Shared<Ctx>, Path(order_id): Path<String>, body: Bytes) -> Response {
    let request = match parse_refund_request(&body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let scale = core.currency_scale();
    let mut state = lock(&core.state);
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&order_id) else {
        return not_found_reply();
    };
    if let Some(currency) = &request.currency
        && !currency.eq_ignore_ascii_case(&order.currency)
    {
        return unprocessable("currency", format!("must be the order's currency, {}", order.currency));
    }
    if request.lines.is_empty() && request.transactions.is_empty() {
        return unprocessable("base", "a refund needs refund line items or transactions".to_string());
    }
    // Lines: on the order, at most the units not refunded yet.
    let mut lines: Vec<RefundedLine> = Vec::new();
    let mut restock = false;
    for (line_id, quantity, restocked) in &request.lines {
        let Some(line) = order.lines.iter().find(|line| &line.id == line_id) else {
            return unprocessable(
                "refund_line_items",
                format!("line item {line_id} is not on order {order_id}"),
            );
        };
        let asked = lines
            .iter()
            .filter(|known| &known.line_id == line_id)
            .map(|known| known.quantity)
            .sum::<u32>()
            + quantity;
        let left = line.quantity.saturating_sub(order.refunded_units(line_id));
        if asked > left {
            return unprocessable(
                "refund_line_items",
                format!("line item {line_id}: {asked} to refund but only {left} refundable"),
            );
        }
        restock |= *restocked;
        lines.push(RefundedLine {
            line_id: line_id.clone(),
            quantity: *quantity,
            amount: line.price * i64::from(*quantity),
        });
    }
    // Transactions: refunds of the order's sale, on its gateway, within what is left of it.
    let mut amount = 0_i64;
    let mut transactions = Vec::new();
    for (parent_id, text, kind, gateway) in &request.transactions {
        if kind != "refund" {
            return unprocessable(
                "kind",
                format!("{kind:?} is not a refund: only kind refund is allowed here"),
            );
        }
        if parent_id != &order.payment_id || order.payment != Payment::Paid {
            return unprocessable(
                "parent_id",
                format!("transaction {parent_id} is not a captured payment of this order"),
            );
        }
        let paid_through = self::gateway(order);
        if let Some(gateway) = gateway
            && gateway != paid_through
        {
            return unprocessable(
                "gateway",
                format!("{gateway:?} is not the gateway of transaction {parent_id}"),
            );
        }
        let Some(minor) = parse_amount(text, scale).filter(|minor| *minor > 0) else {
            return unprocessable("amount", format!("{text:?} is not a positive amount"));
        };
        amount += minor;
        transactions.push(RefundTransaction {
            id: ids.next(IdKind::Item),
            payment_id: parent_id.clone(),
            amount: minor,
            gateway: paid_through.to_string(),
            through_gateway: paid_through != "manual",
        });
    }
    if amount > order.refundable() {
        return unprocessable(
            "base",
            format!(
                "Refund amount {} is more than the {} that can be refunded",
                format_amount(amount, scale),
                format_amount(order.refundable(), scale)
            ),
        );
    }
    if let Some(reason) = core.refund_refusal()
        && transactions.iter().any(|transaction| transaction.through_gateway)
    {
        return unprocessable("base", reason);
    }
    let created_at = order.touch();
    let refund = Refund {
        id: ids.next(IdKind::Record),
        amount,
        note: request.note,
        lines,
        transactions,
        restock,
        notify_customer: request.notify,
        meta: Vec::new(),
        created_at,
    };
    let body = render_refund(&shop, order, &refund);
    order.refunds.push(refund);
    if core.take_lost_refund_answer() {
        return shop.error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
    }
    reply(StatusCode::CREATED, json!({ "refund": body }))
}

// ---------------------------------------------------------------------------------------------
// Listings: stock, prices, visibility
// ---------------------------------------------------------------------------------------------

/// The id of a `{id}.json` path segment.
fn json_file_id(file: &str) -> Option<&str> {
    file.strip_suffix(".json").filter(|id| !id.is_empty())
}

/// The shop's former warehouse: listed, but no longer active (stock cannot be set there).
fn inactive_location_id(platform: &ShopifyPlatform) -> u64 {
    platform.location_id - 1_000
}

/// An amount written as a decimal string or a JSON number, in minor units; `None` when it is
/// neither, has more decimals than the currency or is negative.
fn listing_amount(value: &Value, scale: u32) -> Option<i64> {
    let text = match value {
        Value::String(text) => text.trim().to_string(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    parse_amount(&text, scale).filter(|minor| *minor >= 0)
}

async fn list_locations(Shared(Ctx { shop, .. }): Shared<Ctx>) -> Response {
    let location = |id: u64, name: &str, active: bool| {
        json!({
            "id": id,
            "name": name,
            "address1": "150 Elgin Street",
            "address2": null,
            "city": "Ottawa",
            "zip": "K2P 1L4",
            "province": "Ontario",
            "country": "CA",
            "phone": null,
            "country_code": "CA",
            "province_code": "ON",
            "legacy": false,
            "active": active,
            "admin_graphql_api_id": format!("gid://shopify/Location/{id}"),
        })
    };
    reply(
        StatusCode::OK,
        json!({ "locations": [
            location(inactive_location_id(&shop), "Old warehouse", false),
            location(shop.location_id, "Shop location", true),
        ]}),
    )
}

async fn get_variant(Shared(Ctx { core, .. }): Shared<Ctx>, Path(file): Path<String>) -> Response {
    let Some(id) = json_file_id(&file) else {
        return not_found_reply();
    };
    let state = lock(&core.state);
    match state.variant_id_position(id) {
        Some((product, variant)) => reply(
            StatusCode::OK,
            json!({ "variant": render_variant(&state.products[product], variant, core.currency_scale()) }),
        ),
        None => not_found_reply(),
    }
}

/// `PUT variants/{id}.json`: takes `price` and `compare_at_price` (`null` or `""` clears it);
/// other fields are ignored.
async fn put_variant(Shared(Ctx { core, .. }): Shared<Ctx>, Path(file): Path<String>, body: Bytes) -> Response {
    core.count_listing_write();
    let Some(id) = json_file_id(&file) else {
        return not_found_reply();
    };
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return bad_request("variant", &reason),
    };
    let fields = &body["variant"];
    if !fields.is_object() {
        return bad_request("variant", "Required parameter missing or invalid");
    }
    let scale = core.currency_scale();
    let price = match fields.get("price") {
        None => None,
        Some(value) => match listing_amount(value, scale) {
            Some(minor) => Some(minor),
            None => return unprocessable("price", format!("{value} is invalid")),
        },
    };
    let compare_at = match fields.get("compare_at_price") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(text)) if text.trim().is_empty() => Some(None),
        Some(value) => match listing_amount(value, scale) {
            Some(minor) => Some(Some(minor)),
            None => return unprocessable("compare_at_price", format!("{value} is invalid")),
        },
    };
    let mut state = lock(&core.state);
    let Some((product, position)) = state.variant_id_position(id) else {
        return not_found_reply();
    };
    let variant = &mut state.products[product].variants[position];
    if let Some(price) = price {
        variant.price = price;
    }
    if let Some(compare_at) = compare_at {
        variant.compare_at = compare_at;
    }
    reply(
        StatusCode::OK,
        json!({ "variant": render_variant(&state.products[product], position, scale) }),
    )
}

/// `PUT products/{id}.json`: takes `status` (`active` shows the product, `draft` or `archived`
/// hides it; the simulator shows both hidden ones as `draft`); other fields are ignored.
async fn put_product(Shared(Ctx { core, shop }): Shared<Ctx>, Path(file): Path<String>, body: Bytes) -> Response {
    core.count_listing_write();
    let Some(id) = json_file_id(&file) else {
        return not_found_reply();
    };
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return bad_request("product", &reason),
    };
    let fields = &body["product"];
    if !fields.is_object() {
        return bad_request("product", "Required parameter missing or invalid");
    }
    let published = match fields.get("status") {
        None => None,
        Some(Value::String(status)) if matches!(status.as_str(), "active" | "draft" | "archived") => {
            Some(status == "active")
        }
        Some(other) => return unprocessable("status", format!("{other} is not included in the list")),
    };
    let mut state = lock(&core.state);
    let Some(position) = state.product_position(id) else {
        return not_found_reply();
    };
    if let Some(published) = published {
        state.products[position].published = published;
    }
    reply(
        StatusCode::OK,
        json!({ "product": render_product(&shop, &state.products[position], core.currency_scale()) }),
    )
}

/// `POST inventory_levels/set.json` with `location_id`, `inventory_item_id` and `available`.
async fn set_inventory_level(Shared(Ctx { core, shop }): Shared<Ctx>, body: Bytes) -> Response {
    core.count_listing_write();
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return bad_request("inventory_level", &reason),
    };
    let Some(location_id) = id_text(&body["location_id"]) else {
        return bad_request("location_id", "Required parameter missing or invalid");
    };
    let Some(inventory_item_id) = id_text(&body["inventory_item_id"]) else {
        return bad_request("inventory_item_id", "Required parameter missing or invalid");
    };
    let Some(available) = body["available"].as_i64() else {
        return bad_request("available", "Required parameter missing or invalid");
    };
    // Shopify lets stock go below zero (oversold); the simulator keeps whole units.
    let Ok(units) = u32::try_from(available) else {
        return unprocessable("available", format!("{available} is not a number of units from 0"));
    };
    if location_id == inactive_location_id(&shop).to_string() {
        return refused(format!("Location {location_id} is not active"));
    }
    if location_id != shop.location_id.to_string() {
        return not_found_reply();
    }
    let mut state = lock(&core.state);
    let Some((product, position)) = state.inventory_position(&inventory_item_id) else {
        return not_found_reply();
    };
    let variant = &mut state.products[product].variants[position];
    if variant.stock.is_none() {
        return refused("Inventory item does not have inventory tracking enabled".to_string());
    }
    variant.stock = Some(units);
    reply(
        StatusCode::OK,
        json!({ "inventory_level": {
            "inventory_item_id": number(&inventory_item_id),
            "location_id": number(&location_id),
            "available": units,
            "updated_at": timestamp(now_seconds()),
            "admin_graphql_api_id": format!(
                "gid://shopify/InventoryLevel/{location_id}?inventory_item_id={inventory_item_id}"
            ),
        }}),
    )
}
