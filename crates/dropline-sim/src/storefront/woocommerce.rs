//! WooCommerce: the REST API v3 endpoints dropline calls — system status, products paged by
//! `page` with `X-WP-Total` / `X-WP-TotalPages`, variations, orders, order notes, refunds,
//! product updates and variation batches — the Shipment Tracking extension's endpoints, and
//! the `order.*` webhooks, HMAC-SHA256 signed.

use super::Retry;
use super::platform::{
    Attempt, Core, EventIds, IdKind, IdStyle, Line, Order, OrderNote, Payment, Platform, Product, Refund,
    RefundTransaction, RefundedLine, Server, SimConfig, SimError, Topic, TrackingItem, Variant, Webhook, amount_number,
    format_amount, hmac_base64, launch, lock, merge, now_seconds, parse_amount, parse_json, query_params, sim_methods,
    slug, splitmix,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime, UtcOffset};

/// The WooCommerce and WordPress versions the simulated site runs.
const WOOCOMMERCE_VERSION: &str = "9.8.3";
const USER_AGENT: &str = "WooCommerce/9.8.3 Hookshot (WordPress/6.8.1)";

/// The site's time zone: `date_*` fields are local time, `date_*_gmt` UTC.
const SITE_OFFSET: UtcOffset = offset!(-5);

const STATUSES: [&str; 8] = [
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
];

/// A simulated WooCommerce site with the Shipment Tracking extension.
///
/// API (HTTP Basic with the consumer key and secret, or `consumer_key` / `consumer_secret` in
/// the query): `GET /wp-json/wc/v3/system_status`, `GET /wp-json/wc/v3/products` (`per_page`
/// 1–100, default 10, `page`; newest first; `X-WP-Total`, `X-WP-TotalPages`, `Link`),
/// `GET …/products/{id}/variations`, `GET|PUT /wp-json/wc/v3/orders/{id}` (PUT changes `status`
/// only, and writes the status-change note WooCommerce writes), `GET|POST …/orders/{id}/notes`,
/// `GET|POST /wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings`,
/// `GET|POST /wp-json/wc/v3/orders/{id}/refunds` (`amount` first, else the lines'
/// `refund_total`; 400 for a malformed body or an amount not above zero, 500
/// `woocommerce_rest_cannot_create_order_refund` for more than is left or a gateway refusal;
/// a full refund sets the order `refunded`). Refunds are not deduplicated, as on WooCommerce.
///
/// Listings: `GET|PUT /wp-json/wc/v3/products/{id}` (PUT takes `status` — `publish` shows
/// the product; `private`, `draft`, `pending`, `future` hide it — and, for a simple product,
/// `manage_stock`, `stock_quantity`, `regular_price`, `sale_price`; 400 `rest_invalid_param`
/// for a bad value, 404 `woocommerce_rest_product_invalid_id`),
/// `POST …/products/{id}/variations/batch` (`update` only, at most 100 items, 413 above; each
/// item answered on its own, one that cannot be updated as `{id, error: {code, message}}`).
/// Prices are decimal strings; a sale price below the regular price puts the variant on sale.
/// Stock is not managed at first.
///
/// Webhooks: the v3 order JSON as body; `X-WC-Webhook-Source`, `-Topic` (`order.created`,
/// `order.updated`), `-Resource`, `-Event`, `-Signature` (base64 HMAC-SHA256 of the body with
/// [`Self::webhook_secret`]), `-ID`, `-Delivery-ID` (shared by copies of one delivery). Success
/// is 200 to 302; WooCommerce does not retry (the default), but duplicates happen.
///
/// Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct WooCommerceSim {
    core: Arc<Core>,
    platform: Arc<WooPlatform>,
    _server: Arc<Server>,
}

impl fmt::Debug for WooCommerceSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WooCommerceSim")
            .field("base_url", &self.core.base_url)
            .field("site_url", &self.platform.site_url)
            .field("consumer_key", &self.platform.consumer_key)
            .field("consumer_secret", &"[redacted]")
            .finish()
    }
}

impl WooCommerceSim {
    /// The `{platform}` segment of dropline's webhook path: `/webhooks/woocommerce/{store_id}`.
    pub const PLATFORM: &'static str = "woocommerce";

    /// Starts the site's API on 127.0.0.1 (a free port) with the configured catalogue.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let platform = Arc::new(WooPlatform::new(&config));
        let site = Arc::clone(&platform);
        let (core, server) = launch(platform.clone(), config, move |core| routes(Ctx { core, site })).await?;
        Ok(Self {
            core,
            platform,
            _server: server,
        })
    }

    /// The REST API consumer key (`ck_…`): the Basic auth user.
    pub fn consumer_key(&self) -> &str {
        &self.platform.consumer_key
    }

    /// The REST API consumer secret (`cs_…`): the Basic auth password.
    pub fn consumer_secret(&self) -> &str {
        &self.platform.consumer_secret
    }

    /// The secret the webhooks are signed with.
    pub fn webhook_secret(&self) -> &str {
        &self.platform.webhook_secret
    }

    /// The site's public URL (`https://{shop}.example`), as in `X-WC-Webhook-Source` (which
    /// adds a trailing `/`).
    pub fn site_url(&self) -> &str {
        &self.platform.site_url
    }

    /// Sends the ping WooCommerce sends when a webhook is saved: `webhook_id=N`, form-encoded,
    /// unsigned. WooCommerce wants a 200 for it.
    pub async fn send_ping(&self) -> Result<Attempt, SimError> {
        let body = format!("webhook_id={}", self.platform.created_webhook_id);
        self.core
            .post_once(
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("User-Agent", USER_AGENT),
                ],
                Bytes::from(body),
            )
            .await
    }

    /// The order's notes, oldest first: the ones the API added and the status-change notes
    /// the site wrote itself (author `system`).
    pub fn notes(&self, order_id: &str) -> Vec<OrderNote> {
        self.core.notes(order_id)
    }

    /// The order's Shipment Tracking items, oldest first.
    pub fn tracking_items(&self, order_id: &str) -> Vec<TrackingItem> {
        self.core.tracking_items(order_id)
    }

    /// The order's `status`: `pending`, `processing`, `on-hold`, `completed`, `cancelled`, ….
    pub fn status(&self, order_id: &str) -> Option<String> {
        self.core.status(order_id)
    }

    sim_methods!();
}

pub(crate) struct WooPlatform {
    consumer_key: String,
    consumer_secret: String,
    webhook_secret: String,
    site_url: String,
    created_webhook_id: u64,
    updated_webhook_id: u64,
}

impl WooPlatform {
    fn new(config: &SimConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(splitmix(config.seed ^ 0x574F_4F43_4F4D_4D45));
        let mut hex = |length: usize| -> String {
            (0..length)
                .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
                .collect()
        };
        let consumer_key = format!("ck_{}", hex(40));
        let consumer_secret = format!("cs_{}", hex(40));
        // WordPress draws webhook secrets with punctuation; no `&` or `;`, which WooCommerce
        // would decode as HTML entities before signing.
        const SECRET_CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@#$%^*()-_=+[]{}:,.?~";
        let mut rng = StdRng::seed_from_u64(splitmix(config.seed ^ 0x5345_4352_4554));
        let webhook_secret = (0..50)
            .map(|_| char::from(SECRET_CHARS[rng.random_range(0..SECRET_CHARS.len())]))
            .collect();
        let first_webhook = 3 + splitmix(config.seed) % 40;
        Self {
            consumer_key,
            consumer_secret,
            webhook_secret,
            site_url: format!("https://{}.example", slug(&config.shop_name)),
            created_webhook_id: first_webhook,
            updated_webhook_id: first_webhook + 1,
        }
    }

    /// The key and secret of HTTP Basic auth, or of the query string.
    fn credentials(headers: &HeaderMap, query: Option<&str>) -> Option<(String, String)> {
        if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()) {
            let (scheme, encoded) = value.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return None;
            }
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (key, secret) = decoded.split_once(':')?;
            return Some((key.to_string(), secret.to_string()));
        }
        let params = query_params(query);
        Some((
            params.get("consumer_key")?.clone(),
            params.get("consumer_secret")?.clone(),
        ))
    }
}

impl Platform for WooPlatform {
    fn id_style(&self) -> IdStyle {
        IdStyle::PerTable
    }

    fn first_number(&self) -> u64 {
        // WooCommerce order numbers are the order ids.
        0
    }

    fn default_retry(&self) -> Retry {
        Retry::never()
    }

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn accepts(&self, status: u16) -> bool {
        (200..=302).contains(&status)
    }

    fn authorized(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        Self::credentials(headers, query)
            .is_some_and(|(key, secret)| key == self.consumer_key && secret == self.consumer_secret)
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        let code = match status {
            StatusCode::UNAUTHORIZED => "woocommerce_rest_authentication_error",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            StatusCode::NOT_FOUND => "rest_no_route",
            _ => "internal_server_error",
        };
        wp_error(status, code, message)
    }

    fn retry_after(&self, wait: Duration) -> String {
        wait.as_secs_f64().ceil().max(1.0).to_string()
    }

    fn initial_status(&self, payment: Payment) -> String {
        match payment {
            Payment::Paid => "processing",
            Payment::Authorized => "on-hold",
            Payment::Pending | Payment::Voided => "pending",
        }
        .to_string()
    }

    fn on_paid(&self, order: &mut Order) {
        if matches!(order.status.as_str(), "pending" | "on-hold" | "failed") {
            order.status = "processing".to_string();
        }
    }

    fn on_cancelled(&self, order: &mut Order) {
        order.status = "cancelled".to_string();
    }

    fn status(&self, order: &Order) -> String {
        order.status.clone()
    }

    fn render_order(&self, core: &Core, order: &Order) -> Value {
        render_order(self, core, order)
    }

    fn webhook(&self, core: &Core, order: &Order, topic: Topic, ids: EventIds) -> Result<Webhook, SimError> {
        let (event, webhook_id) = match topic {
            Topic::Created => ("created", self.created_webhook_id),
            Topic::Paid | Topic::Updated | Topic::Cancelled => ("updated", self.updated_webhook_id),
        };
        let platform_topic = format!("order.{event}");
        let body = serde_json::to_vec(&render_order(self, core, order))
            .map_err(|err| SimError::Signing(format!("the order did not serialize: {err}")))?;
        let delivery_id = ids.hex;
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("User-Agent".to_string(), USER_AGENT.to_string()),
            ("X-WC-Webhook-Source".to_string(), format!("{}/", self.site_url)),
            ("X-WC-Webhook-Topic".to_string(), platform_topic.clone()),
            ("X-WC-Webhook-Resource".to_string(), "order".to_string()),
            ("X-WC-Webhook-Event".to_string(), event.to_string()),
            (
                "X-WC-Webhook-Signature".to_string(),
                hmac_base64(&self.webhook_secret, &body),
            ),
            ("X-WC-Webhook-ID".to_string(), webhook_id.to_string()),
            ("X-WC-Webhook-Delivery-ID".to_string(), delivery_id.clone()),
        ];
        Ok(Webhook {
            platform_topic,
            event_id: delivery_id.clone(),
            delivery_id,
            headers,
            body: Bytes::from(body),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

fn local_time(at: OffsetDateTime) -> String {
    at.to_offset(SITE_OFFSET)
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"))
        .unwrap_or_default()
}

fn gmt_time(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"))
        .unwrap_or_default()
}

fn optional(at: Option<OffsetDateTime>, render: fn(OffsetDateTime) -> String) -> Value {
    at.map_or(Value::Null, |at| json!(render(at)))
}

/// WooCommerce ids are JSON numbers.
fn number(id: &str) -> Value {
    id.parse::<u64>().map_or_else(|_| json!(id), |id| json!(id))
}

fn status_label(status: &str) -> &str {
    match status {
        "pending" => "Pending payment",
        "processing" => "Processing",
        "on-hold" => "On hold",
        "completed" => "Completed",
        "cancelled" => "Cancelled",
        "refunded" => "Refunded",
        "failed" => "Failed",
        "trash" => "Trash",
        other => other,
    }
}

fn render_address(address: &super::platform::Address, email: Option<&str>) -> Value {
    let mut json = json!({
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company.clone().unwrap_or_default(),
        "address_1": address.address1,
        "address_2": address.address2.clone().unwrap_or_default(),
        "city": address.city,
        "state": address.region.clone().unwrap_or_default(),
        "postcode": address.postal_code,
        "country": address.country_code,
    });
    if let Some(email) = email {
        json["email"] = json!(email);
    }
    json["phone"] = json!(address.phone.clone().unwrap_or_default());
    json
}

/// The attribute ids of the site: one per option name, numbered as first used.
fn attribute_id(products: &[Product], name: &str) -> usize {
    let mut names: Vec<&str> = Vec::new();
    for product in products {
        for option in &product.option_names {
            if !names.contains(&option.as_str()) {
                names.push(option);
            }
        }
    }
    names
        .iter()
        .position(|known| *known == name)
        .map_or(0, |index| index + 1)
}

fn render_line(order: &Order, line: &Line, scale: u32, meta_ids: &mut u64) -> Value {
    let total = format_amount(line.price * i64::from(line.quantity), scale);
    let name = if line.options.is_empty() {
        line.title.clone()
    } else {
        let values: Vec<&str> = line.options.iter().map(|(_, value)| value.as_str()).collect();
        format!("{} - {}", line.title, values.join(", "))
    };
    let meta: Vec<Value> = line
        .options
        .iter()
        .map(|(option, value)| {
            *meta_ids += 1;
            json!({
                "id": *meta_ids,
                "key": format!("pa_{}", slug(option)),
                "value": slug(value),
                "display_key": option,
                "display_value": value,
            })
        })
        .collect();
    json!({
        "id": number(&line.id),
        "name": name,
        "product_id": number(&line.product_id),
        "variation_id": if line.simple { json!(0) } else { number(&line.variant_id) },
        "quantity": line.quantity,
        "tax_class": "",
        "subtotal": total,
        "subtotal_tax": format_amount(0, scale),
        "total": total,
        "total_tax": format_amount(0, scale),
        "taxes": [],
        "meta_data": meta,
        "sku": line.sku,
        "price": amount_number(line.price, scale),
        "image": { "id": "", "src": "" },
        "parent_name": if line.simple { Value::Null } else { json!(line.title) },
        "currency": order.currency,
    })
}

fn render_order(site: &WooPlatform, core: &Core, order: &Order) -> Value {
    let scale = core.currency_scale();
    let amount = |minor: i64| format_amount(minor, scale);
    let zero = amount(0);
    // Meta ids of the lines: a sequence of their own, stable for one order.
    let mut meta_ids = order.id.parse::<u64>().unwrap_or_default() * 10;
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|line| render_line(order, line, scale, &mut meta_ids))
        .collect();
    let items_text: Vec<String> = order
        .lines
        .iter()
        .map(|line| format!("{} &times; {}", line.title, line.quantity))
        .collect();
    let paid = order.paid_at.is_some() && order.payment == Payment::Paid;
    let free_shipping = order.shipping_price == 0;
    let order_url = format!("{}/wp-json/wc/v3/orders/{}", site.site_url, order.id);
    let mut body = json!({
        "id": number(&order.id),
        "parent_id": 0,
        "status": order.status,
        "currency": order.currency,
        "version": WOOCOMMERCE_VERSION,
        "prices_include_tax": false,
        "date_created": local_time(order.created_at),
        "date_modified": local_time(order.updated_at),
        "discount_total": zero,
        "discount_tax": zero,
        "shipping_total": amount(order.shipping_price),
        "shipping_tax": zero,
        "cart_tax": zero,
        "total": amount(order.total()),
        "total_tax": zero,
        "customer_id": number(&order.customer.id),
        "order_key": format!("wc_order_{}", &order.token[..13]),
        "billing": render_address(&order.billing_address, Some(&order.customer.email)),
        "shipping": render_address(&order.shipping_address, None),
        "payment_method": "stripe",
        "payment_method_title": "Credit Card (Stripe)",
        "transaction_id": if paid { format!("ch_{}", &order.token[8..32]) } else { String::new() },
        "customer_ip_address": "203.0.113.42",
        "customer_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
        "created_via": "checkout",
        "customer_note": "",
        "date_completed": optional(order.completed_at, local_time),
        "date_paid": optional(order.paid_at, local_time),
        "cart_hash": &order.token[..32],
        "number": order.id,
    });
    merge(
        &mut body,
        json!({
            "meta_data": [],
            "line_items": lines,
            "tax_lines": [],
            "shipping_lines": [{
                "id": number(&order.shipping_line_id),
                "method_title": if free_shipping { "Free shipping" } else { "Flat rate" },
                "method_id": if free_shipping { "free_shipping" } else { "flat_rate" },
                "instance_id": "1",
                "total": amount(order.shipping_price),
                "total_tax": zero,
                "taxes": [],
                "meta_data": [{
                    "id": meta_ids + 1,
                    "key": "Items",
                    "value": items_text.join(", "),
                    "display_key": "Items",
                    "display_value": items_text.join(", "),
                }],
            }],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": order
                .refunds
                .iter()
                .rev()
                .map(|refund| json!({
                    "id": number(&refund.id),
                    "reason": refund.note.clone().unwrap_or_default(),
                    "total": format!("-{}", amount(refund.amount)),
                }))
                .collect::<Vec<_>>(),
            "payment_url": format!("{}/checkout/order-pay/{}/?pay_for_order=true&key=wc_order_{}", site.site_url, order.id, &order.token[..13]),
            "is_editable": matches!(order.status.as_str(), "pending" | "on-hold"),
            "needs_payment": order.status == "pending",
            "needs_processing": true,
            "date_created_gmt": gmt_time(order.created_at),
            "date_modified_gmt": gmt_time(order.updated_at),
            "date_completed_gmt": optional(order.completed_at, gmt_time),
            "date_paid_gmt": optional(order.paid_at, gmt_time),
            "currency_symbol": currency_symbol(&order.currency),
            "_links": {
                "self": [{ "href": order_url }],
                "collection": [{ "href": format!("{}/wp-json/wc/v3/orders", site.site_url) }],
                "customer": [{ "href": format!("{}/wp-json/wc/v3/customers/{}", site.site_url, order.customer.id) }],
            },
        }),
    );
    body
}

fn currency_symbol(currency: &str) -> &str {
    match currency {
        "USD" | "CAD" | "AUD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "¥",
        "BRL" => "R$",
        other => other,
    }
}

/// The price fields of a product or variation: `price` (what the customer pays),
/// `regular_price`, `sale_price` (set when on sale, the regular price then struck through) and
/// `on_sale`.
fn price_fields(variant: &Variant, scale: u32) -> Value {
    let regular = variant.compare_at.unwrap_or(variant.price);
    json!({
        "price": format_amount(variant.price, scale),
        "regular_price": format_amount(regular, scale),
        "sale_price": variant.compare_at.map_or(String::new(), |_| format_amount(variant.price, scale)),
        "on_sale": variant.compare_at.is_some(),
    })
}

/// The stock fields of a product or variation.
fn stock_fields(stock: Option<u32>) -> Value {
    json!({
        "manage_stock": stock.is_some(),
        "stock_quantity": stock,
        "stock_status": if stock == Some(0) { "outofstock" } else { "instock" },
    })
}

fn render_product(site: &WooPlatform, products: &[Product], product: &Product, scale: u32) -> Value {
    let created = product.created_at;
    let simple = product.is_simple();
    let min_price = product.variants.iter().map(|variant| variant.price).min().unwrap_or(0);
    let attributes: Vec<Value> = product
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
                "id": attribute_id(products, name),
                "name": name,
                "slug": format!("pa_{}", slug(name)),
                "position": index,
                "visible": true,
                "variation": true,
                "options": values,
            })
        })
        .collect();
    let variations: Vec<Value> = if simple {
        Vec::new()
    } else {
        product.variants.iter().map(|variant| number(&variant.id)).collect()
    };
    let mut json = json!({
        "id": number(&product.id),
        "name": product.title,
        "slug": product.handle,
        "permalink": format!("{}/product/{}/", site.site_url, product.handle),
        "date_created": local_time(created),
        "date_created_gmt": gmt_time(created),
        "date_modified": local_time(created),
        "date_modified_gmt": gmt_time(created),
        "type": if simple { "simple" } else { "variable" },
        "status": if product.published { "publish" } else { "private" },
        "featured": false,
        "catalog_visibility": "visible",
        "description": "",
        "short_description": "",
        "sku": if simple { product.variants[0].sku.clone() } else { String::new() },
        "price": format_amount(min_price, scale),
        "regular_price": "",
        "sale_price": "",
        "on_sale": false,
        "purchasable": true,
        "total_sales": 0,
        "virtual": false,
        "downloadable": false,
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": false,
        "stock_quantity": null,
        "stock_status": "instock",
        "weight": "0.25",
        "shipping_required": true,
        "categories": [{ "id": 15, "name": "Uncategorized", "slug": "uncategorized" }],
        "tags": [],
        "images": [],
        "attributes": attributes,
        "default_attributes": [],
        "variations": variations,
        "meta_data": [],
    });
    if simple {
        merge(&mut json, price_fields(&product.variants[0], scale));
        merge(&mut json, stock_fields(product.variants[0].stock));
    } else if product.variants.iter().all(|variant| variant.stock == Some(0)) {
        json["stock_status"] = json!("outofstock");
    }
    json
}

fn render_variation(products: &[Product], product: &Product, index: usize, scale: u32) -> Value {
    let variant = &product.variants[index];
    let attributes: Vec<Value> = variant
        .options
        .iter()
        .map(|(name, option)| {
            json!({
                "id": attribute_id(products, name),
                "name": name,
                "option": option,
            })
        })
        .collect();
    let mut json = json!({
        "id": number(&variant.id),
        "date_created": local_time(product.created_at),
        "date_created_gmt": gmt_time(product.created_at),
        "date_modified": local_time(product.created_at),
        "date_modified_gmt": gmt_time(product.created_at),
        "description": "",
        "sku": variant.sku,
        "status": "publish",
        "purchasable": true,
        "virtual": false,
        "downloadable": false,
        "weight": "0.25",
        "image": null,
        "attributes": attributes,
        "menu_order": index,
        "meta_data": [],
    });
    merge(&mut json, price_fields(variant, scale));
    merge(&mut json, stock_fields(variant.stock));
    json
}

fn render_note(note: &OrderNote) -> Value {
    json!({
        "id": number(&note.id),
        "author": note.author,
        "date_created": local_time(note.created_at),
        "date_created_gmt": gmt_time(note.created_at),
        "note": note.note,
        "customer_note": note.customer_note,
    })
}

fn render_tracking(item: &TrackingItem) -> Value {
    json!({
        "tracking_id": item.tracking_id,
        "tracking_provider": if item.custom_provider { "" } else { item.provider.as_str() },
        "custom_tracking_provider": if item.custom_provider { item.provider.as_str() } else { "" },
        "custom_tracking_link": if item.custom_provider { item.link.as_str() } else { "" },
        "tracking_link": item.link,
        "tracking_number": item.tracking_number,
        "date_shipped": item.date_shipped,
    })
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

/// What the handlers see: the store and the WooCommerce specifics.
#[derive(Clone)]
struct Ctx {
    core: Arc<Core>,
    site: Arc<WooPlatform>,
}

fn routes(ctx: Ctx) -> Router {
    Router::new()
        .route("/wp-json/wc/v3/system_status", get(get_system_status))
        .route("/wp-json/wc/v3/products", get(list_products))
        .route(
            "/wp-json/wc/v3/products/{product_id}",
            get(get_product).put(put_product),
        )
        .route("/wp-json/wc/v3/products/{product_id}/variations", get(list_variations))
        .route(
            "/wp-json/wc/v3/products/{product_id}/variations/batch",
            post(batch_variations),
        )
        .route("/wp-json/wc/v3/orders/{order_id}", get(get_order).put(put_order))
        .route(
            "/wp-json/wc/v3/orders/{order_id}/notes",
            get(list_notes).post(post_note),
        )
        .route(
            "/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings",
            get(list_trackings).post(post_tracking),
        )
        .route(
            "/wp-json/wc/v3/orders/{order_id}/refunds",
            get(list_refunds).post(post_refund),
        )
        .fallback(no_route)
        .with_state(ctx)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The WordPress REST error body: `{"code", "message", "data": {"status"}}`.
fn wp_error(status: StatusCode, code: &str, message: &str) -> Response {
    reply(
        status,
        json!({ "code": code, "message": message, "data": { "status": status.as_u16() } }),
    )
}

/// A 400 naming the parameter and why.
fn invalid_param(param: &str, reason: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({
            "code": "rest_invalid_param",
            "message": format!("Invalid parameter(s): {param}"),
            "data": { "status": 400, "params": { param: reason } },
        }),
    )
}

fn missing_param(param: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({
            "code": "rest_missing_callback_param",
            "message": format!("Missing parameter(s): {param}"),
            "data": { "status": 400, "params": [param] },
        }),
    )
}

fn invalid_order() -> Response {
    wp_error(
        StatusCode::NOT_FOUND,
        "woocommerce_rest_shop_order_invalid_id",
        "Invalid ID.",
    )
}

async fn no_route() -> Response {
    wp_error(
        StatusCode::NOT_FOUND,
        "rest_no_route",
        "No route was found matching the URL and request method.",
    )
}

/// `per_page` (1 to `max`, default `default`) and `page` (from 1).
fn paging(query: Option<&str>, default: usize, max: usize) -> Result<(usize, usize), Box<Response>> {
    let params = query_params(query);
    let per_page = match params.get("per_page") {
        None => default,
        Some(text) => match text.parse::<usize>() {
            Ok(per_page) if (1..=max).contains(&per_page) => per_page,
            _ => {
                return Err(Box::new(invalid_param(
                    "per_page",
                    &format!("per_page must be between 1 (inclusive) and {max} (inclusive)"),
                )));
            }
        },
    };
    let page = match params.get("page") {
        None => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(page) if page >= 1 => page,
            _ => {
                return Err(Box::new(invalid_param(
                    "page",
                    "page must be greater than or equal to 1",
                )));
            }
        },
    };
    Ok((per_page, page))
}

/// A page of `items` with the WordPress paging headers (and `Link`, built on `path`).
fn paged(base_url: &str, path: &str, items: Vec<Value>, per_page: usize, page: usize) -> Response {
    let total = items.len();
    let total_pages = total.div_ceil(per_page);
    let body: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let mut response = reply(StatusCode::OK, Value::Array(body));
    let headers = response.headers_mut();
    headers.insert("x-wp-total", HeaderValue::from(total));
    headers.insert("x-wp-totalpages", HeaderValue::from(total_pages));
    let link = |page: usize, rel: &str| format!("<{base_url}{path}?per_page={per_page}&page={page}>; rel=\"{rel}\"");
    let mut links = Vec::new();
    if page > 1 && page <= total_pages + 1 {
        links.push(link(page - 1, "prev"));
    }
    if page < total_pages {
        links.push(link(page + 1, "next"));
    }
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links.join(", "))
    {
        headers.insert(header::LINK, value);
    }
    response
}

async fn get_system_status(Shared(Ctx { core, site }): Shared<Ctx>) -> Response {
    reply(
        StatusCode::OK,
        json!({
            "environment": {
                "home_url": site.site_url,
                "site_url": site.site_url,
                "version": WOOCOMMERCE_VERSION,
                "wp_version": "6.8.1",
                "language": "en_US",
            },
            "database": { "wc_database_version": WOOCOMMERCE_VERSION },
            "active_plugins": [
                { "plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": WOOCOMMERCE_VERSION },
                { "plugin": "woocommerce-shipment-tracking/woocommerce-shipment-tracking.php", "name": "WooCommerce Shipment Tracking", "version": "2.6.0" },
            ],
            "settings": {
                "currency": core.config.currency,
                "currency_symbol": currency_symbol(&core.config.currency),
                "currency_position": "left",
                "thousand_separator": ",",
                "decimal_separator": ".",
                "number_of_decimals": core.currency_scale(),
                "api_enabled": true,
            },
        }),
    )
}

async fn list_products(Shared(Ctx { core, site }): Shared<Ctx>, RawQuery(query): RawQuery) -> Response {
    let (per_page, page) = match paging(query.as_deref(), 10, 100) {
        Ok(paging) => paging,
        Err(response) => return *response,
    };
    let scale = core.currency_scale();
    let products: Vec<Value> = {
        let state = lock(&core.state);
        // WooCommerce lists the newest first.
        state
            .products
            .iter()
            .rev()
            .map(|product| render_product(&site, &state.products, product, scale))
            .collect()
    };
    paged(&core.base_url, "/wp-json/wc/v3/products", products, per_page, page)
}

async fn list_variations(
    Shared(Ctx { core, .. }): Shared<Ctx>,
    Path(product_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (per_page, page) = match paging(query.as_deref(), 10, 100) {
        Ok(paging) => paging,
        Err(response) => return *response,
    };
    let scale = core.currency_scale();
    let variations: Vec<Value> = {
        let state = lock(&core.state);
        let Some(product) = state.products.iter().find(|product| product.id == product_id) else {
            return wp_error(
                StatusCode::NOT_FOUND,
                "woocommerce_rest_product_invalid_id",
                "Invalid ID.",
            );
        };
        if product.is_simple() {
            Vec::new()
        } else {
            (0..product.variants.len())
                .map(|index| render_variation(&state.products, product, index, scale))
                .collect()
        }
    };
    let path = format!("/wp-json/wc/v3/products/{product_id}/variations");
    paged(&core.base_url, &path, variations, per_page, page)
}

async fn get_order(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    match core.order_json(&order_id) {
        Some(order) => reply(StatusCode::OK, order),
        None => invalid_order(),
    }
}

/// Changes the order's status (the only field the simulator takes) and notes the change, as
/// WooCommerce does.
async fn put_order(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>, body: Bytes) -> Response {
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return wp_error(StatusCode::BAD_REQUEST, "rest_invalid_json", &reason),
    };
    let new_status = match &body["status"] {
        Value::Null => None,
        Value::String(status) if STATUSES.contains(&status.as_str()) => Some(status.clone()),
        _ => {
            return invalid_param(
                "status",
                "status is not one of pending, processing, on-hold, completed, cancelled, refunded, failed, and trash.",
            );
        }
    };
    let mut state = lock(&core.state);
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&order_id) else {
        return invalid_order();
    };
    if let Some(status) = new_status
        && status != order.status
    {
        let at = order.touch();
        let note = format!(
            "Order status changed from {} to {}.",
            status_label(&order.status),
            status_label(&status)
        );
        match status.as_str() {
            "cancelled" => core.cancel(order, at, "status change"),
            "completed" => {
                order.completed_at = Some(at);
                order.status = status;
            }
            _ => order.status = status,
        }
        order.notes.push(OrderNote {
            id: ids.next(IdKind::Note),
            note,
            customer_note: false,
            author: "system".to_string(),
            created_at: at,
        });
    }
    let rendered = core.platform.render_order(&core, order);
    reply(StatusCode::OK, rendered)
}

async fn list_notes(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    let state = lock(&core.state);
    match state.order(&order_id) {
        // Newest first, as WooCommerce lists them.
        Some(order) => reply(
            StatusCode::OK,
            Value::Array(order.notes.iter().rev().map(render_note).collect()),
        ),
        None => invalid_order(),
    }
}

async fn post_note(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>, body: Bytes) -> Response {
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return wp_error(StatusCode::BAD_REQUEST, "rest_invalid_json", &reason),
    };
    let note = match &body["note"] {
        Value::String(note) if !note.trim().is_empty() => note.clone(),
        Value::Null => return missing_param("note"),
        _ => return invalid_param("note", "note is not a non-empty string."),
    };
    let customer_note = match &body["customer_note"] {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        _ => return invalid_param("customer_note", "customer_note is not of type boolean."),
    };
    let mut state = lock(&core.state);
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&order_id) else {
        return invalid_order();
    };
    let note = OrderNote {
        id: ids.next(IdKind::Note),
        note,
        customer_note,
        author: "API User".to_string(),
        created_at: now_seconds(),
    };
    let rendered = render_note(&note);
    order.notes.push(note);
    reply(StatusCode::CREATED, rendered)
}

async fn list_trackings(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    let state = lock(&core.state);
    match state.order(&order_id) {
        Some(order) => reply(
            StatusCode::OK,
            Value::Array(order.tracking.iter().map(render_tracking).collect()),
        ),
        None => wp_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_order_invalid_id",
            "Invalid order ID.",
        ),
    }
}

async fn post_tracking(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>, body: Bytes) -> Response {
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return wp_error(StatusCode::BAD_REQUEST, "rest_invalid_json", &reason),
    };
    let text = |field: &str| -> Result<Option<String>, Box<Response>> {
        match &body[field] {
            Value::Null => Ok(None),
            Value::String(text) if text.trim().is_empty() => Ok(None),
            Value::String(text) => Ok(Some(text.trim().to_string())),
            _ => Err(Box::new(invalid_param(
                field,
                &format!("{field} is not of type string."),
            ))),
        }
    };
    let fields = (|| {
        Ok::<_, Box<Response>>((
            text("tracking_number")?,
            text("tracking_provider")?,
            text("custom_tracking_provider")?,
            text("custom_tracking_link")?,
            text("date_shipped")?,
        ))
    })();
    let (number, provider, custom_provider, custom_link, date_shipped) = match fields {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let Some(number) = number else {
        return missing_param("tracking_number");
    };
    let date_shipped = match date_shipped {
        None => now_seconds()
            .to_offset(SITE_OFFSET)
            .format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_default(),
        Some(date) => match Date::parse(&date, format_description!("[year]-[month]-[day]")) {
            Ok(_) => date,
            Err(_) => return invalid_param("date_shipped", "date_shipped is not a date of the form YYYY-MM-DD."),
        },
    };
    let mut state = lock(&core.state);
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&order_id) else {
        return wp_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_order_invalid_id",
            "Invalid order ID.",
        );
    };
    let (provider, custom, link) = match (custom_provider, provider) {
        (Some(custom), _) => {
            let link = custom_link
                .unwrap_or_default()
                .replace("%1$s", &number)
                .replace("%2$s", &order.shipping_address.postal_code);
            (custom, true, link)
        }
        (None, Some(provider)) => (provider, false, String::new()),
        (None, None) => (String::new(), true, String::new()),
    };
    let item = TrackingItem {
        tracking_id: ids.hex(32),
        tracking_number: number,
        provider,
        custom_provider: custom,
        link,
        date_shipped,
    };
    let rendered = render_tracking(&item);
    order.tracking.push(item);
    reply(StatusCode::CREATED, rendered)
}

/// WooCommerce's code for a refund it could not create.
const CANNOT_REFUND: &str = "woocommerce_rest_cannot_create_order_refund";

fn render_refund(site: &WooPlatform, order: &Order, refund: &Refund, scale: u32) -> Value {
    let base = refund.id.parse::<u64>().unwrap_or_default() * 10;
    let lines: Vec<Value> = refund
        .lines
        .iter()
        .enumerate()
        .filter_map(|(index, refunded)| {
            let line = order.lines.iter().find(|line| line.id == refunded.line_id)?;
            let total = format!("-{}", format_amount(refunded.amount, scale));
            Some(json!({
                "id": base + 1 + index as u64,
                "name": line.title,
                "product_id": number(&line.product_id),
                "variation_id": if line.simple { json!(0) } else { number(&line.variant_id) },
                "quantity": -i64::from(refunded.quantity),
                "tax_class": "",
                "subtotal": total,
                "subtotal_tax": format_amount(0, scale),
                "total": total,
                "total_tax": format_amount(0, scale),
                "taxes": [],
                "meta_data": [{ "id": base + 5 + index as u64, "key": "_refunded_item_id", "value": line.id }],
                "sku": line.sku,
                "price": amount_number(-line.price, scale),
            }))
        })
        .collect();
    let meta: Vec<Value> = refund
        .meta
        .iter()
        .enumerate()
        .map(|(index, (key, value))| json!({ "id": base + 8 + index as u64, "key": key, "value": value }))
        .collect();
    json!({
        "id": number(&refund.id),
        "date_created": local_time(refund.created_at),
        "date_created_gmt": gmt_time(refund.created_at),
        "amount": format_amount(refund.amount, scale),
        "reason": refund.note.clone().unwrap_or_default(),
        "refunded_by": 1,
        "refunded_payment": refund.transactions.iter().any(|t| t.through_gateway),
        "meta_data": meta,
        "line_items": lines,
        "shipping_lines": [],
        "tax_lines": [],
        "fee_lines": [],
        "_links": {
            "self": [{ "href": format!("{}/wp-json/wc/v3/orders/{}/refunds/{}", site.site_url, order.id, refund.id) }],
            "collection": [{ "href": format!("{}/wp-json/wc/v3/orders/{}/refunds", site.site_url, order.id) }],
            "up": [{ "href": format!("{}/wp-json/wc/v3/orders/{}", site.site_url, order.id) }],
        },
    })
}

async fn list_refunds(
    Shared(Ctx { core, site }): Shared<Ctx>,
    Path(order_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (per_page, page) = match paging(query.as_deref(), 10, 100) {
        Ok(paging) => paging,
        Err(response) => return *response,
    };
    let scale = core.currency_scale();
    let refunds: Vec<Value> = {
        let state = lock(&core.state);
        let Some(order) = state.order(&order_id) else {
            return invalid_order();
        };
        // Newest first, as WooCommerce lists them.
        order
            .refunds
            .iter()
            .rev()
            .map(|refund| render_refund(&site, order, refund, scale))
            .collect()
    };
    let path = format!("/wp-json/wc/v3/orders/{order_id}/refunds");
    paged(&core.base_url, &path, refunds, per_page, page)
}

/// An amount sent as a decimal string or a JSON number.
fn amount_param(value: &Value, scale: u32) -> Option<i64> {
    match value {
        Value::String(text) => parse_amount(text.trim(), scale),
        Value::Number(number) => parse_amount(&number.to_string(), scale),
        _ => None,
    }
}

/// One item of a refund's `line_items`: the order item, units, `refund_total`.
type RefundItem = (String, u32, Option<i64>);

/// The refund's `line_items`, checked for shape.
fn refund_items(value: &Value, scale: u32) -> Result<Vec<RefundItem>, Box<Response>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => {
            return Err(Box::new(invalid_param(
                "line_items",
                "line_items is not of type array.",
            )));
        }
    };
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let id = match &item["id"] {
            Value::Number(number) => number.as_u64().map(|id| id.to_string()),
            Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => Some(text.clone()),
            _ => None,
        };
        let Some(id) = id else {
            return Err(Box::new(invalid_param(
                "line_items",
                &format!("line_items[{index}][id] is not of type integer."),
            )));
        };
        let quantity = match &item["quantity"] {
            Value::Null => 0,
            value => match value.as_u64() {
                Some(quantity) if quantity <= u64::from(u32::MAX) => quantity as u32,
                _ => {
                    return Err(Box::new(invalid_param(
                        "line_items",
                        &format!("line_items[{index}][quantity] is not of type integer."),
                    )));
                }
            },
        };
        let total = match &item["refund_total"] {
            Value::Null => None,
            value => match amount_param(value, scale) {
                Some(total) => Some(total),
                None => {
                    return Err(Box::new(invalid_param(
                        "line_items",
                        &format!("line_items[{index}][refund_total] is not of type number."),
                    )));
                }
            },
        };
        out.push((id, quantity, total));
    }
    Ok(out)
}

async fn post_refund(Shared(Ctx { core, site }): Shared<Ctx>, Path(order_id): Path<String>, body: Bytes) -> Response {
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return wp_error(StatusCode::BAD_REQUEST, "rest_invalid_json", &reason),
    };
    let scale = core.currency_scale();
    let amount = match &body["amount"] {
        Value::Null => None,
        value => match amount_param(value, scale) {
            Some(amount) => Some(amount),
            None => return invalid_param("amount", "amount is not of type string."),
        },
    };
    let reason = match &body["reason"] {
        Value::Null => None,
        Value::String(reason) if reason.trim().is_empty() => None,
        Value::String(reason) => Some(reason.clone()),
        _ => return invalid_param("reason", "reason is not of type string."),
    };
    // As WooCommerce does: anything but a boolean is the default, true.
    let api_refund = body["api_refund"].as_bool().unwrap_or(true);
    let api_restock = body["api_restock"].as_bool().unwrap_or(true);
    let items = match refund_items(&body["line_items"], scale) {
        Ok(items) => items,
        Err(response) => return *response,
    };
    let meta = match &body["meta_data"] {
        Value::Null => Vec::new(),
        Value::Array(entries) => {
            let mut meta = Vec::new();
            for entry in entries {
                let value = match &entry["value"] {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                match entry["key"].as_str() {
                    Some(key) if !key.is_empty() => meta.push((key.to_string(), value)),
                    _ => return invalid_param("meta_data", "meta_data[][key] is not of type string."),
                }
            }
            meta
        }
        _ => return invalid_param("meta_data", "meta_data is not of type array."),
    };
    let mut state = lock(&core.state);
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&order_id) else {
        return invalid_order();
    };
    let mut lines: Vec<RefundedLine> = Vec::new();
    for (item_id, quantity, total) in &items {
        let Some(line) = order.lines.iter().find(|line| &line.id == item_id) else {
            return invalid_param("line_items", &format!("{item_id} is not an item of order {order_id}."));
        };
        let left = line.quantity.saturating_sub(order.refunded_units(item_id));
        if *quantity > left {
            return wp_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                CANNOT_REFUND,
                "Invalid refund quantity.",
            );
        }
        if *quantity > 0 || total.is_some_and(|total| total > 0) {
            lines.push(RefundedLine {
                line_id: item_id.clone(),
                quantity: *quantity,
                amount: total.unwrap_or(0),
            });
        }
    }
    // `amount` takes precedence; without it, the lines' totals when every line has one.
    let amount = amount
        .or_else(|| {
            (!items.is_empty() && items.iter().all(|(_, _, total)| total.is_some()))
                .then(|| items.iter().filter_map(|(_, _, total)| *total).sum())
        })
        .unwrap_or(0);
    if amount <= 0 {
        return wp_error(
            StatusCode::BAD_REQUEST,
            "woocommerce_rest_invalid_order_refund",
            "Refund amount must be greater than zero.",
        );
    }
    if amount > order.refundable() {
        return wp_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            CANNOT_REFUND,
            "Invalid refund amount.",
        );
    }
    if api_refund && let Some(reason) = core.refund_refusal() {
        return wp_error(StatusCode::INTERNAL_SERVER_ERROR, CANNOT_REFUND, &reason);
    }
    let created_at = order.touch();
    let refund = Refund {
        id: ids.next(IdKind::Record),
        amount,
        note: reason,
        lines,
        transactions: vec![RefundTransaction {
            id: ids.hex(24),
            payment_id: order.id.clone(),
            amount,
            gateway: "stripe".to_string(),
            through_gateway: api_refund,
        }],
        restock: api_restock,
        // WooCommerce emails the customer about every refund.
        notify_customer: true,
        meta,
        created_at,
    };
    let rendered = render_refund(&site, order, &refund, scale);
    order.refunds.push(refund);
    if order.refundable() == 0 && order.status != "refunded" {
        let note = format!(
            "Order status changed from {} to {}.",
            status_label(&order.status),
            status_label("refunded")
        );
        order.status = "refunded".to_string();
        order.notes.push(OrderNote {
            id: ids.next(IdKind::Note),
            note,
            customer_note: false,
            author: "system".to_string(),
            created_at,
        });
    }
    if core.take_lost_refund_answer() {
        return site.error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
    }
    reply(StatusCode::CREATED, rendered)
}

// ---------------------------------------------------------------------------------------------
// Listings: stock, prices, visibility
// ---------------------------------------------------------------------------------------------

/// WooCommerce takes at most this many items in one batch request.
const BATCH_LIMIT: usize = 100;

/// The post statuses a product may be given; only `publish` shows it in the shop.
const PRODUCT_STATUSES: [&str; 5] = ["draft", "pending", "private", "publish", "future"];

fn invalid_product() -> Response {
    wp_error(
        StatusCode::NOT_FOUND,
        "woocommerce_rest_product_invalid_id",
        "Invalid ID.",
    )
}

/// The stock and price fields of a product or variation update, checked.
#[derive(Default)]
struct ListingFields {
    manage_stock: Option<bool>,
    stock_quantity: Option<u32>,
    regular_price: Option<i64>,
    /// `Some(None)`: `""`, no sale.
    sale_price: Option<Option<i64>>,
}

/// Reads the listing fields of an update; `Err((param, reason))` as WordPress words it.
fn listing_fields(fields: &Value, scale: u32) -> Result<ListingFields, (String, String)> {
    let bad = |param: &str, reason: String| Err((param.to_string(), reason));
    let mut out = ListingFields::default();
    match fields.get("manage_stock") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(flag)) => out.manage_stock = Some(*flag),
        Some(_) => return bad("manage_stock", "manage_stock is not of type boolean.".to_string()),
    }
    match fields.get("stock_quantity") {
        None | Some(Value::Null) => {}
        // WordPress takes an integer or its text for an integer parameter.
        Some(value) => {
            let units = match value {
                Value::Number(number) => number.as_u64(),
                Value::String(text) => text.trim().parse::<u64>().ok(),
                _ => None,
            };
            match units.and_then(|units| u32::try_from(units).ok()) {
                Some(units) => out.stock_quantity = Some(units),
                None => {
                    return bad(
                        "stock_quantity",
                        "stock_quantity is not of type integer (the simulator keeps stock from 0).".to_string(),
                    );
                }
            }
        }
    }
    let price = |param: &str| -> Result<Option<Option<i64>>, (String, String)> {
        match fields.get(param) {
            None => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(Some(None)),
            Some(Value::String(text)) => match parse_amount(text.trim(), scale).filter(|minor| *minor >= 0) {
                Some(minor) => Ok(Some(Some(minor))),
                None => Err((param.to_string(), format!("{param} {text:?} is not a price."))),
            },
            Some(_) => Err((param.to_string(), format!("{param} is not of type string."))),
        }
    };
    out.regular_price = match price("regular_price")? {
        None => None,
        Some(Some(minor)) => Some(minor),
        Some(None) => return bad("regular_price", "the simulator needs a regular price.".to_string()),
    };
    out.sale_price = price("sale_price")?;
    Ok(out)
}

impl ListingFields {
    /// Writes the fields to a variant as WooCommerce does: stock counts only when managed; a
    /// sale price below the regular price puts the variant on sale (it then sells at the sale
    /// price, the regular one struck through), any other sale price is ignored.
    fn apply(&self, variant: &mut Variant) {
        match self.manage_stock {
            Some(false) => variant.stock = None,
            Some(true) => variant.stock = Some(self.stock_quantity.or(variant.stock).unwrap_or(0)),
            None => {
                if variant.stock.is_some()
                    && let Some(units) = self.stock_quantity
                {
                    variant.stock = Some(units);
                }
            }
        }
        if self.regular_price.is_none() && self.sale_price.is_none() {
            return;
        }
        let regular = self
            .regular_price
            .unwrap_or_else(|| variant.compare_at.unwrap_or(variant.price));
        let sale = match self.sale_price {
            Some(sale) => sale,
            None => variant.compare_at.map(|_| variant.price),
        };
        match sale {
            Some(sale) if sale < regular => {
                variant.price = sale;
                variant.compare_at = Some(regular);
            }
            _ => {
                variant.price = regular;
                variant.compare_at = None;
            }
        }
    }
}

/// The 400 of a parameter WordPress refused.
fn refused_param((param, reason): (String, String)) -> Response {
    invalid_param(&param, &reason)
}

async fn get_product(Shared(Ctx { core, site }): Shared<Ctx>, Path(product_id): Path<String>) -> Response {
    let state = lock(&core.state);
    match state.product_position(&product_id) {
        Some(position) => reply(
            StatusCode::OK,
            render_product(&site, &state.products, &state.products[position], core.currency_scale()),
        ),
        None => invalid_product(),
    }
}

/// `PUT products/{id}`: takes `status`, and for a simple product `manage_stock`,
/// `stock_quantity`, `regular_price` and `sale_price` (a variable product's prices and stock are
/// its variations'; the simulator ignores them here). Other fields are ignored.
async fn put_product(Shared(Ctx { core, site }): Shared<Ctx>, Path(product_id): Path<String>, body: Bytes) -> Response {
    core.count_listing_write();
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return wp_error(StatusCode::BAD_REQUEST, "rest_invalid_json", &reason),
    };
    let published = match body.get("status") {
        None => None,
        Some(Value::String(status)) if PRODUCT_STATUSES.contains(&status.as_str()) => Some(status == "publish"),
        Some(_) => {
            return invalid_param(
                "status",
                "status is not one of draft, pending, private, publish, and future.",
            );
        }
    };
    let scale = core.currency_scale();
    let fields = match listing_fields(&body, scale) {
        Ok(fields) => fields,
        Err(refusal) => return refused_param(refusal),
    };
    let mut state = lock(&core.state);
    let Some(position) = state.product_position(&product_id) else {
        return invalid_product();
    };
    let product = &mut state.products[position];
    if let Some(published) = published {
        product.published = published;
    }
    if product.is_simple() {
        fields.apply(&mut product.variants[0]);
    }
    reply(
        StatusCode::OK,
        render_product(&site, &state.products, &state.products[position], scale),
    )
}

/// A batch item WooCommerce could not update: its id and the error, in the batch answer.
fn item_error(id: &Value, code: &str, message: &str) -> Value {
    json!({ "id": id, "error": { "code": code, "message": message, "data": { "status": 400 } } })
}

/// `POST products/{id}/variations/batch`: `update` only (the simulator creates and deletes no
/// variations), at most 100 items; each item is answered on its own, an item WooCommerce could
/// not update as `{id, error}`.
async fn batch_variations(
    Shared(Ctx { core, .. }): Shared<Ctx>,
    Path(product_id): Path<String>,
    body: Bytes,
) -> Response {
    core.count_listing_write();
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return wp_error(StatusCode::BAD_REQUEST, "rest_invalid_json", &reason),
    };
    for unsupported in ["create", "delete"] {
        if body
            .get(unsupported)
            .is_some_and(|items| items.as_array().is_none_or(|items| !items.is_empty()))
        {
            return invalid_param(unsupported, "the simulator only updates variations.");
        }
    }
    let items = match body.get("update") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return invalid_param("update", "update is not of type array."),
    };
    if items.len() > BATCH_LIMIT {
        return wp_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "woocommerce_rest_request_entity_too_large",
            &format!("Unable to accept more than {BATCH_LIMIT} items for this request."),
        );
    }
    let scale = core.currency_scale();
    let mut state = lock(&core.state);
    let Some(product) = state.product_position(&product_id) else {
        return invalid_product();
    };
    let mut updated = Vec::with_capacity(items.len());
    for item in &items {
        let id = item.get("id").cloned().unwrap_or(Value::Null);
        let id_text = match &id {
            Value::Number(number) => number.as_u64().map(|id| id.to_string()),
            Value::String(text) => Some(text.trim().to_string()),
            _ => None,
        };
        let position = id_text
            .as_deref()
            .and_then(|id| state.variant_id_position(id))
            .filter(|(owner, _)| *owner == product && !state.products[product].is_simple());
        let Some((_, index)) = position else {
            updated.push(item_error(
                &id,
                "woocommerce_rest_product_variation_invalid_id",
                "Invalid ID.",
            ));
            continue;
        };
        match listing_fields(item, scale) {
            Ok(fields) => {
                fields.apply(&mut state.products[product].variants[index]);
                updated.push(render_variation(
                    &state.products,
                    &state.products[product],
                    index,
                    scale,
                ));
            }
            Err((param, reason)) => updated.push(item_error(
                &id,
                "rest_invalid_param",
                &format!("Invalid parameter(s): {param} ({reason})"),
            )),
        }
    }
    reply(StatusCode::OK, json!({ "update": updated }))
}
