//! Wix: the eCommerce and Stores API endpoints dropline calls — site properties, the Stores
//! catalogue queried by offset, order fulfillments, cancellation, refunds, and the Stores
//! product, variant and inventory updates — and the eCommerce order webhooks, whose whole body
//! is a JWT signed (RS256) with the app's key.

use super::Retry;
use super::platform::{
    Core, Discount, EventIds, FulfilledLine, Fulfillment, IdStyle, Line, Order, Payment, Platform, Product, Refund,
    RefundTransaction, RefundedLine, Server, SimConfig, SimError, Topic, Variant, Webhook, amount_number, country_name,
    format_amount, formatted_amount, launch, lock, merge, now_seconds, parse_amount, parse_json, region_name,
    sim_methods, splitmix,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::format_description;

// The simulator's own RSA key pair, made for it and published with it: NOT a secret of any real
// Wix app. Tests verify the simulator's webhooks with the public half.
const PRIVATE_KEY_PEM: &str = include_str!("../../keys/wix_webhook_private.pem");
const PUBLIC_KEY_PEM: &str = include_str!("../../keys/wix_webhook_public.pem");

/// The Wix Stores app, which every Stores product line names in `catalogReference.appId`.
const STORES_APP_ID: &str = "215238eb-22a5-4c36-9e7b-e7c08025e04e";

/// How long a webhook JWT is valid after it was signed.
const TOKEN_LIFETIME: time::Duration = time::Duration::days(3);

/// A simulated Wix site with Wix Stores and Wix eCommerce.
///
/// API (headers `Authorization: {api key}` and `wix-site-id: {site id}`):
/// `GET /site-properties/v4/properties`, `POST /stores/v1/products/query` (paging `limit` 1–100,
/// default 100, `offset`; variants only with `includeVariants`), `GET /ecom/v1/orders/{id}`,
/// `GET /ecom/v1/fulfillments/orders/{id}`,
/// `POST /ecom/v1/fulfillments/orders/{id}/create-fulfillment` (422 when a line is asked more
/// than remains to ship or the order is cancelled), `POST /ecom/v1/orders/{id}/cancel`
/// (cancelling a cancelled order answers 200 with the order unchanged),
/// `GET /ecom/v1/payments/orders/{id}` (the order's transactions: its payment and refunds),
/// `POST /ecom/v1/order-billing/refund-payments` (400 for a malformed body or a
/// `customerReason` over 200 characters, 404 for an unknown order or payment, 428 for more
/// than is left of a payment or a provider that refuses). Refunds are not deduplicated, as on
/// Wix.
///
/// Listings: `GET|PATCH /stores/v1/products/{id}` (PATCH takes `visible`, `priceData.price`
/// for a product without options, and `discount` `{type: NONE | AMOUNT | PERCENT, value}`
/// taken off every variant's price), `PATCH /stores/v1/products/{id}/variants` (`variants` of
/// `{variantIds, price}`, the price before the discount; 400 for a product without options),
/// `PATCH /stores/v2/inventoryItems/product/{id}` (`trackQuantity` for the whole product,
/// `variants` of `{variantId, quantity}`; answers `{}`). Prices are JSON numbers; a bad body is
/// a 400 with `validationError.fieldViolations`, an unknown product or variant a 404
/// `PRODUCT_NOT_FOUND` / `VARIANT_NOT_FOUND`. The one variant of a product without options is
/// the all-zero id. Stock is not tracked at first.
///
/// Webhooks: the body is a JWT (RS256, verify with [`Self::public_key_pem`]) with claims
/// `{data, iat, exp}`; `data` is the JSON text of `{eventType, instanceId, data, identity}`,
/// whose `data` is the JSON text of the event: `{id, entityFqdn: "wix.ecom.v1.order", slug,
/// entityId, eventTime, …}` with `createdEvent.entity` (order_created),
/// `actionEvent.body.order` (order_approved, order_canceled) or `updatedEvent.currentEntity`
/// (order_updated). The event `id` is the delivery id. Success is any 2xx; otherwise, or
/// without an answer within 1.25 s, it is retried 3 times with doubling waits from 10 ms.
///
/// Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct WixSim {
    core: Arc<Core>,
    platform: Arc<WixPlatform>,
    _server: Arc<Server>,
}

impl fmt::Debug for WixSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WixSim")
            .field("base_url", &self.core.base_url)
            .field("site_id", &self.platform.site_id)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

impl WixSim {
    /// The `{platform}` segment of dropline's webhook path: `/webhooks/wix/{store_id}`.
    pub const PLATFORM: &'static str = "wix";

    /// Starts the site's API on 127.0.0.1 (a free port) with the configured catalogue.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let platform = Arc::new(WixPlatform::new(&config)?);
        let site = Arc::clone(&platform);
        let (core, server) = launch(platform.clone(), config, move |core| routes(Ctx { core, site })).await?;
        Ok(Self {
            core,
            platform,
            _server: server,
        })
    }

    /// The API key, sent as the `Authorization` header.
    pub fn api_key(&self) -> &str {
        &self.platform.api_key
    }

    /// The site id, sent as the `wix-site-id` header.
    pub fn site_id(&self) -> &str {
        &self.platform.site_id
    }

    /// The app instance id the webhooks carry in `instanceId`.
    pub fn instance_id(&self) -> &str {
        &self.platform.instance_id
    }

    /// The PEM public key (SPKI) that verifies the webhooks' RS256 signatures.
    pub fn public_key_pem(&self) -> &'static str {
        PUBLIC_KEY_PEM
    }

    /// The order's fulfillments, oldest first (empty for an unknown order). Wix fulfillments
    /// have no status; the simulator says `success`.
    pub fn fulfillments(&self, order_id: &str) -> Vec<Fulfillment> {
        self.core.fulfillments(order_id)
    }

    /// The order's `status`: `INITIALIZED` (not paid yet), `APPROVED` or `CANCELED`.
    pub fn status(&self, order_id: &str) -> Option<String> {
        self.core.status(order_id)
    }

    /// The order's `fulfillmentStatus`: `NOT_FULFILLED`, `PARTIALLY_FULFILLED` or `FULFILLED`.
    pub fn fulfillment_status(&self, order_id: &str) -> Option<String> {
        lock(&self.core.state)
            .order(order_id)
            .map(|order| fulfillment_status(order).to_string())
    }

    sim_methods!();
}

pub(crate) struct WixPlatform {
    api_key: String,
    site_id: String,
    instance_id: String,
    site_name: String,
    key_id: String,
    signing_key: EncodingKey,
}

impl WixPlatform {
    fn new(config: &SimConfig) -> Result<Self, SimError> {
        let signing_key = EncodingKey::from_rsa_pem(PRIVATE_KEY_PEM.as_bytes())
            .map_err(|err| SimError::Signing(format!("the simulator's RSA key did not load: {err}")))?;
        let mut rng = StdRng::seed_from_u64(splitmix(config.seed ^ 0x5749_5853_4954_4500));
        let mut uuid = || uuid::Builder::from_random_bytes(rng.random()).into_uuid().to_string();
        let site_id = uuid();
        let instance_id = uuid();
        let key_id = uuid()[..8].to_string();
        let mut rng = StdRng::seed_from_u64(splitmix(config.seed ^ 0x4150_494B_4559));
        let mut part = |length: usize| {
            let bytes: Vec<u8> = (0..length).map(|_| rng.random()).collect();
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        };
        let api_key = format!("IST.{}.{}.{}", part(24), part(96), part(64));
        Ok(Self {
            api_key,
            site_id,
            instance_id,
            site_name: config.shop_name.clone(),
            key_id,
            signing_key,
        })
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    data: &'a str,
    iat: i64,
    exp: i64,
}

impl Platform for WixPlatform {
    fn id_style(&self) -> IdStyle {
        IdStyle::Uuid
    }

    fn first_number(&self) -> u64 {
        10001
    }

    fn default_retry(&self) -> Retry {
        Retry {
            max_attempts: 4,
            first_backoff: Duration::from_millis(10),
        }
    }

    fn default_timeout(&self) -> Duration {
        Duration::from_millis(1250)
    }

    fn accepts(&self, status: u16) -> bool {
        (200..300).contains(&status)
    }

    fn authorized(&self, headers: &HeaderMap, _query: Option<&str>) -> bool {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        header("authorization") == Some(self.api_key.as_str()) && header("wix-site-id") == Some(self.site_id.as_str())
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        let code = match status {
            StatusCode::UNAUTHORIZED => return reply(status, json!({ "message": message, "details": {} })),
            StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
            StatusCode::NOT_FOUND => "NOT_FOUND",
            _ => "INTERNAL_ERROR",
        };
        wix_error(status, code, message)
    }

    fn retry_after(&self, wait: Duration) -> String {
        wait.as_secs_f64().ceil().max(1.0).to_string()
    }

    fn initial_status(&self, payment: Payment) -> String {
        match payment {
            Payment::Pending | Payment::Voided => "INITIALIZED",
            Payment::Authorized | Payment::Paid => "APPROVED",
        }
        .to_string()
    }

    fn on_paid(&self, order: &mut Order) {
        if order.status == "INITIALIZED" {
            order.status = "APPROVED".to_string();
        }
    }

    fn on_cancelled(&self, order: &mut Order) {
        order.status = "CANCELED".to_string();
    }

    fn status(&self, order: &Order) -> String {
        order.status.clone()
    }

    fn render_order(&self, _core: &Core, order: &Order) -> Value {
        render_order(order)
    }

    fn webhook(&self, _core: &Core, order: &Order, topic: Topic, ids: EventIds) -> Result<Webhook, SimError> {
        let (event_type, slug) = match topic {
            Topic::Created => ("wix.ecom.v1.order_created", "created"),
            Topic::Paid => ("wix.ecom.v1.order_approved", "approved"),
            Topic::Updated => ("wix.ecom.v1.order_updated", "updated"),
            Topic::Cancelled => ("wix.ecom.v1.order_canceled", "canceled"),
        };
        let entity = render_order(order);
        let event_id = ids.uuid;
        let now = OffsetDateTime::now_utc();
        let mut envelope = json!({
            "id": event_id,
            "entityFqdn": "wix.ecom.v1.order",
            "slug": slug,
            "entityId": order.id,
            "eventTime": wix_time(now),
            "triggeredByAnonymizeRequest": false,
        });
        match topic {
            Topic::Created => envelope["createdEvent"] = json!({ "entity": entity }),
            Topic::Updated => envelope["updatedEvent"] = json!({ "currentEntity": entity }),
            Topic::Paid | Topic::Cancelled => envelope["actionEvent"] = json!({ "body": { "order": entity } }),
        }
        let identity = json!({ "identityType": "ANONYMOUS_VISITOR", "anonymousVisitorId": order.customer.id });
        let data = json!({
            "eventType": event_type,
            "instanceId": self.instance_id,
            "data": envelope.to_string(),
            "identity": identity.to_string(),
        })
        .to_string();
        let issued = now.unix_timestamp();
        let claims = Claims {
            data: &data,
            iat: issued,
            exp: issued + TOKEN_LIFETIME.whole_seconds(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.signing_key)
            .map_err(|err| SimError::Signing(err.to_string()))?;
        Ok(Webhook {
            platform_topic: event_type.to_string(),
            delivery_id: event_id.clone(),
            event_id,
            headers: vec![
                ("Content-Type".to_string(), "text/plain; charset=utf-8".to_string()),
                ("User-Agent".to_string(), "Wix-Webhooks".to_string()),
            ],
            body: Bytes::from(token),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

fn wix_time(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .unwrap_or_default()
}

/// eCommerce amounts: the decimal text without trailing zeros (`"12.5"`, `"10"`) and the
/// amount as shown.
fn price(minor: i64, currency: &str) -> Value {
    let text = format_amount(minor, super::platform::currency_scale(currency));
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    json!({ "amount": text, "formattedAmount": formatted_amount(minor, currency) })
}

fn fulfillment_status(order: &Order) -> &'static str {
    if order.fully_fulfilled() {
        "FULFILLED"
    } else if order.partially_fulfilled() {
        "PARTIALLY_FULFILLED"
    } else {
        "NOT_FULFILLED"
    }
}

fn render_address(address: &super::platform::Address) -> Value {
    let country = address.country_code.as_str();
    let subdivision = address.region.as_deref().map(|region| {
        let is_code = region.len() <= 3 && region.bytes().all(|b| b.is_ascii_alphanumeric());
        if is_code {
            format!("{country}-{region}")
        } else {
            region.to_string()
        }
    });
    json!({
        "country": country,
        "subdivision": subdivision,
        "city": address.city,
        "postalCode": address.postal_code,
        "addressLine1": address.address1,
        "addressLine2": address.address2,
        "countryFullname": country_name(country),
        "subdivisionFullname": address.region.as_deref().map(|region| region_name(country, region)),
    })
}

fn contact_details(address: &super::platform::Address) -> Value {
    json!({
        "firstName": address.first_name,
        "lastName": address.last_name,
        "phone": address.phone,
        "company": address.company,
    })
}

fn render_line(order: &Order, line: &Line) -> Value {
    let currency = &order.currency;
    let total = line.price * i64::from(line.quantity);
    let description: Vec<Value> = line
        .options
        .iter()
        .map(|(name, value)| {
            json!({
                "name": { "original": name, "translated": name },
                "plainText": { "original": value, "translated": value },
                "lineType": "PLAIN_TEXT",
            })
        })
        .collect();
    json!({
        "id": line.id,
        "productName": { "original": line.title, "translated": line.title },
        "catalogReference": {
            "catalogItemId": line.product_id,
            "appId": STORES_APP_ID,
            "options": { "variantId": line.variant_id },
        },
        "quantity": line.quantity,
        "totalDiscount": price(0, currency),
        "descriptionLines": description,
        "physicalProperties": { "weight": 0.25, "sku": line.sku, "shippable": true },
        "itemType": { "preset": "PHYSICAL" },
        "price": price(line.price, currency),
        "priceBeforeDiscounts": price(line.price, currency),
        "totalPriceBeforeTax": price(total, currency),
        "totalPriceAfterTax": price(total, currency),
        "paymentOption": "FULL_PAYMENT_ONLINE",
        "taxDetails": { "taxRate": "0", "totalTax": price(0, currency) },
    })
}

fn render_order(order: &Order) -> Value {
    let currency = &order.currency;
    let payment_status = match order.payment {
        Payment::Pending => "NOT_PAID",
        Payment::Authorized => "AUTHORIZED",
        Payment::Paid if order.refunded() >= order.total() => "FULLY_REFUNDED",
        Payment::Paid if order.refunded() > 0 => "PARTIALLY_REFUNDED",
        Payment::Paid => "PAID",
        Payment::Voided => "VOIDED",
    };
    let mut activities = vec![
        json!({ "id": format!("{}-placed", &order.id[..8]), "createdDate": wix_time(order.created_at), "type": "ORDER_PLACED" }),
    ];
    if let Some(paid_at) = order.paid_at {
        activities.push(
            json!({ "id": format!("{}-paid", &order.id[..8]), "createdDate": wix_time(paid_at), "type": "ORDER_PAID" }),
        );
    }
    if let Some(cancelled_at) = order.cancelled_at {
        activities.push(json!({ "id": format!("{}-canceled", &order.id[..8]), "createdDate": wix_time(cancelled_at), "type": "ORDER_CANCELED" }));
    }
    let mut body = json!({
        "id": order.id,
        "number": order.number.to_string(),
        "createdDate": wix_time(order.created_at),
        "updatedDate": wix_time(order.updated_at),
        "purchasedDate": wix_time(order.created_at),
        "lineItems": order.lines.iter().map(|line| render_line(order, line)).collect::<Vec<_>>(),
        "buyerInfo": { "contactId": order.customer.id, "email": order.customer.email },
        "paymentStatus": payment_status,
        "fulfillmentStatus": fulfillment_status(order),
        "status": order.status,
        "buyerLanguage": "en",
        "weightUnit": "KG",
        "currency": currency,
        "taxIncludedInPrices": false,
        "siteLanguage": "en",
        "archived": false,
        "channelInfo": { "type": "WEB" },
    });
    merge(
        &mut body,
        json!({
            "priceSummary": {
                "subtotal": price(order.subtotal(), currency),
                "shipping": price(order.shipping_price, currency),
                "tax": price(0, currency),
                "discount": price(0, currency),
                "totalPrice": price(order.total(), currency),
                "total": price(order.total(), currency),
                "totalAdditionalFees": price(0, currency),
            },
            "billingInfo": {
                "address": render_address(&order.billing_address),
                "contactDetails": contact_details(&order.billing_address),
            },
            "shippingInfo": {
                "title": order.shipping_title,
                "logistics": {
                    "deliveryTime": "3-7 business days",
                    "shippingDestination": {
                        "address": render_address(&order.shipping_address),
                        "contactDetails": contact_details(&order.shipping_address),
                    },
                },
                "cost": {
                    "price": price(order.shipping_price, currency),
                    "totalPriceBeforeTax": price(order.shipping_price, currency),
                    "totalPriceAfterTax": price(order.shipping_price, currency),
                    "discount": price(0, currency),
                },
            },
            "activities": activities,
        }),
    );
    body
}

fn render_fulfillment(fulfillment: &Fulfillment) -> Value {
    let lines: Vec<Value> = fulfillment
        .lines
        .iter()
        .map(|line| json!({ "id": line.line_id, "quantity": line.quantity }))
        .collect();
    json!({
        "id": fulfillment.id,
        "createdDate": wix_time(fulfillment.created_at),
        "lineItems": lines,
        "trackingInfo": {
            "trackingNumber": fulfillment.tracking_number,
            "shippingProvider": fulfillment.tracking_company,
            "trackingLink": fulfillment.tracking_url,
        },
        "completed": true,
    })
}

fn order_with_fulfillments(order: &Order) -> Value {
    json!({
        "orderWithFulfillments": {
            "orderId": order.id,
            "fulfillments": order.fulfillments.iter().map(render_fulfillment).collect::<Vec<_>>(),
        }
    })
}

/// A variant's price before the product's discount: the "was" price when it is discounted.
fn base_price(variant: &Variant) -> i64 {
    variant.compare_at.unwrap_or(variant.price)
}

/// Wix's `stock` of a variant.
fn variant_stock(stock: Option<u32>) -> Value {
    match stock {
        Some(quantity) => json!({ "trackQuantity": true, "quantity": quantity, "inStock": quantity > 0 }),
        None => json!({ "trackQuantity": false, "inStock": true }),
    }
}

fn render_discount(discount: Discount, scale: u32) -> Value {
    match discount {
        Discount::None => json!({ "type": "NONE", "value": 0 }),
        Discount::Amount(minor) => json!({ "type": "AMOUNT", "value": amount_number(minor, scale) }),
        Discount::Percent(hundredths) => json!({ "type": "PERCENT", "value": amount_number(hundredths, 2) }),
    }
}

fn render_product(product: &Product, currency: &str, scale: u32, include_variants: bool) -> Value {
    let price_data = |base: i64, discounted: i64| {
        json!({
            "currency": currency,
            "price": amount_number(base, scale),
            "discountedPrice": amount_number(discounted, scale),
            "formatted": {
                "price": formatted_amount(base, currency),
                "discountedPrice": formatted_amount(discounted, currency),
            },
        })
    };
    let first = product.variants.first();
    let cheapest = product.variants.iter().min_by_key(|variant| variant.price);
    let (base, discounted) = cheapest.map_or((0, 0), |variant| (base_price(variant), variant.price));
    let tracked = product.variants.iter().any(|variant| variant.stock.is_some());
    let quantity: u64 = product
        .variants
        .iter()
        .filter_map(|variant| variant.stock)
        .map(u64::from)
        .sum();
    let in_stock = !tracked || product.variants.iter().any(|variant| variant.stock != Some(0));
    let mut stock = json!({
        "trackInventory": tracked,
        "inStock": in_stock,
        "inventoryStatus": if in_stock { "IN_STOCK" } else { "OUT_OF_STOCK" },
    });
    if tracked {
        stock["quantity"] = json!(quantity);
    }
    let options: Vec<Value> = product
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
                "optionType": "drop_down",
                "name": name,
                "choices": values
                    .iter()
                    .map(|value| json!({ "value": value, "description": value, "inStock": true, "visible": true }))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut json = json!({
        "id": product.id,
        "name": product.title,
        "slug": product.handle,
        "visible": product.published,
        "productType": "physical",
        "description": "",
        "sku": if product.is_simple() { first.map(|variant| variant.sku.clone()).unwrap_or_default() } else { String::new() },
        "weight": 0.25,
        "stock": stock,
        "price": price_data(base, discounted),
        "priceData": price_data(base, discounted),
        "discount": render_discount(product.discount, scale),
        "manageVariants": !product.is_simple(),
        "productOptions": options,
        "lastUpdated": wix_time(product.created_at),
        "createdDate": wix_time(product.created_at),
    });
    if include_variants {
        let variants: Vec<Value> = product
            .variants
            .iter()
            .map(|variant| render_variant(variant, currency, scale))
            .collect();
        json["variants"] = Value::Array(variants);
    }
    json
}

/// A variant as the Stores catalog shows it (in a product, or answering an update).
fn render_variant(variant: &Variant, currency: &str, scale: u32) -> Value {
    let price_data = json!({
        "currency": currency,
        "price": amount_number(base_price(variant), scale),
        "discountedPrice": amount_number(variant.price, scale),
        "formatted": {
            "price": formatted_amount(base_price(variant), currency),
            "discountedPrice": formatted_amount(variant.price, currency),
        },
    });
    let choices: BTreeMap<&String, &String> = variant.options.iter().map(|(name, value)| (name, value)).collect();
    json!({
        "id": variant.id,
        "choices": choices,
        "variant": {
            "priceData": price_data,
            "convertedPriceData": price_data,
            "weight": 0.25,
            "sku": variant.sku,
            "visible": true,
        },
        "stock": variant_stock(variant.stock),
    })
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

/// What the handlers see: the store and the Wix specifics.
#[derive(Clone)]
struct Ctx {
    core: Arc<Core>,
    site: Arc<WixPlatform>,
}

fn routes(ctx: Ctx) -> Router {
    Router::new()
        .route("/site-properties/v4/properties", get(get_properties))
        .route("/stores/v1/products/query", post(query_products))
        .route(
            "/stores/v1/products/{product_id}",
            get(get_product).patch(patch_product),
        )
        .route("/stores/v1/products/{product_id}/variants", patch(patch_variants))
        .route("/stores/v2/inventoryItems/product/{product_id}", patch(patch_inventory))
        .route("/ecom/v1/orders/{order_id}", get(get_order))
        .route("/ecom/v1/orders/{order_id}/cancel", post(cancel_order))
        .route("/ecom/v1/fulfillments/orders/{order_id}", get(list_fulfillments))
        .route(
            "/ecom/v1/fulfillments/orders/{order_id}/create-fulfillment",
            post(create_fulfillment),
        )
        .route("/ecom/v1/payments/orders/{order_id}", get(list_transactions))
        .route("/ecom/v1/order-billing/refund-payments", post(refund_payments))
        .fallback(not_found)
        .with_state(ctx)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The Wix error body: a message and an application error code.
fn wix_error(status: StatusCode, code: &str, message: &str) -> Response {
    reply(
        status,
        json!({
            "message": message,
            "details": { "applicationError": { "code": code, "description": message, "data": {} } },
        }),
    )
}

/// A 400 naming the field.
fn invalid(field: &str, reason: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({
            "message": format!("{field}: {reason}"),
            "details": {
                "validationError": {
                    "fieldViolations": [{ "field": field, "description": reason, "violatedRule": "INVALID" }],
                },
            },
        }),
    )
}

fn order_not_found(order_id: &str) -> Response {
    wix_error(
        StatusCode::NOT_FOUND,
        "ORDER_NOT_FOUND",
        &format!("Order with id {order_id} not found"),
    )
}

async fn not_found() -> Response {
    wix_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint")
}

async fn get_properties(Shared(Ctx { core, site }): Shared<Ctx>) -> Response {
    reply(
        StatusCode::OK,
        json!({
            "properties": {
                "siteDisplayName": site.site_name,
                "businessName": site.site_name,
                "paymentCurrency": core.config.currency,
                "timeZone": "America/New_York",
                "language": "en",
                "locale": { "languageCode": "en", "country": "US" },
                "email": "owner@example.com",
            },
            "version": 1,
        }),
    )
}

async fn query_products(Shared(Ctx { core, .. }): Shared<Ctx>, body: Bytes) -> Response {
    // An empty body is the empty query.
    let body = if body.is_empty() {
        json!({})
    } else {
        match parse_json(&body) {
            Ok(body) => body,
            Err(reason) => return invalid("query", &reason),
        }
    };
    let paging = &body["query"]["paging"];
    let limit = match &paging["limit"] {
        Value::Null => 100,
        value => match value.as_u64() {
            Some(limit) if (1..=100).contains(&limit) => limit as usize,
            _ => return invalid("query.paging.limit", "must be a whole number from 1 to 100"),
        },
    };
    let offset = match &paging["offset"] {
        Value::Null => 0,
        value => match value.as_u64() {
            Some(offset) => offset as usize,
            None => return invalid("query.paging.offset", "must be a whole number of at least 0"),
        },
    };
    let include_variants = match &body["includeVariants"] {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        _ => return invalid("includeVariants", "must be true or false"),
    };
    let currency = core.config.currency.clone();
    let scale = core.currency_scale();
    let state = lock(&core.state);
    let products: Vec<Value> = state
        .products
        .iter()
        .skip(offset)
        .take(limit)
        .map(|product| render_product(product, &currency, scale, include_variants))
        .collect();
    reply(
        StatusCode::OK,
        json!({
            "metadata": { "items": products.len(), "offset": offset },
            "totalResults": state.products.len(),
            "products": products,
        }),
    )
}

async fn get_order(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    match core.order_json(&order_id) {
        Some(order) => reply(StatusCode::OK, json!({ "order": order })),
        None => order_not_found(&order_id),
    }
}

async fn list_fulfillments(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    let state = lock(&core.state);
    match state.order(&order_id) {
        Some(order) => reply(StatusCode::OK, order_with_fulfillments(order)),
        None => order_not_found(&order_id),
    }
}

/// The lines and tracking of a create-fulfillment body, checked for shape.
struct FulfillmentRequest {
    lines: Vec<(String, Option<u32>)>,
    number: Option<String>,
    provider: Option<String>,
    link: Option<String>,
}

fn parse_fulfillment(body: &[u8]) -> Result<FulfillmentRequest, Box<Response>> {
    let body = parse_json(body).map_err(|reason| Box::new(invalid("fulfillment", &reason)))?;
    let fulfillment = &body["fulfillment"];
    if !fulfillment.is_object() {
        return Err(Box::new(invalid("fulfillment", "is required")));
    }
    let items = match fulfillment["lineItems"].as_array() {
        Some(items) if !items.is_empty() => items,
        _ => return Err(Box::new(invalid("fulfillment.lineItems", "must be a non-empty list"))),
    };
    let mut lines = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Some(id) = item["id"].as_str().filter(|id| !id.is_empty()) else {
            return Err(Box::new(invalid(
                &format!("fulfillment.lineItems[{index}].id"),
                "is required",
            )));
        };
        let quantity = match &item["quantity"] {
            Value::Null => None,
            value => match value.as_u64() {
                Some(quantity) if (1..=u64::from(u32::MAX)).contains(&quantity) => Some(quantity as u32),
                _ => {
                    return Err(Box::new(invalid(
                        &format!("fulfillment.lineItems[{index}].quantity"),
                        "must be a whole number of at least 1",
                    )));
                }
            },
        };
        lines.push((id.to_string(), quantity));
    }
    let tracking = &fulfillment["trackingInfo"];
    let text = |field: &str| -> Result<Option<String>, Box<Response>> {
        match &tracking[field] {
            Value::Null => Ok(None),
            Value::String(text) if text.trim().is_empty() => Ok(None),
            Value::String(text) => Ok(Some(text.clone())),
            _ => Err(Box::new(invalid(
                &format!("fulfillment.trackingInfo.{field}"),
                "must be text",
            ))),
        }
    };
    Ok(FulfillmentRequest {
        number: text("trackingNumber")?,
        provider: text("shippingProvider")?,
        link: text("trackingLink")?,
        lines,
    })
}

async fn create_fulfillment(
    Shared(Ctx { core, .. }): Shared<Ctx>,
    Path(order_id): Path<String>,
    body: Bytes,
) -> Response {
    let request = match parse_fulfillment(&body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let mut state = lock(&core.state);
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&order_id) else {
        return order_not_found(&order_id);
    };
    if order.status == "CANCELED" {
        return wix_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ORDER_CANCELED",
            &format!("order {order_id} is canceled and cannot be fulfilled"),
        );
    }
    // Quantities per line (a line named twice adds up; no quantity is what remains).
    let mut asked: BTreeMap<String, u32> = BTreeMap::new();
    for (line_id, quantity) in &request.lines {
        let Some(line) = order.lines.iter().find(|line| &line.id == line_id) else {
            return wix_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "LINE_ITEM_NOT_FOUND",
                &format!("line item {line_id} is not on order {order_id}"),
            );
        };
        let entry = asked.entry(line_id.clone()).or_default();
        *entry = entry.saturating_add(quantity.unwrap_or(line.remaining()));
    }
    for (line_id, quantity) in &asked {
        let remaining = order
            .lines
            .iter()
            .find(|line| &line.id == line_id)
            .map_or(0, Line::remaining);
        if *quantity == 0 || *quantity > remaining {
            return wix_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "FULFILLMENT_QUANTITY_EXCEEDS_REMAINING",
                &format!("line item {line_id}: {quantity} asked but {remaining} left to fulfill"),
            );
        }
    }
    let mut shipped = Vec::new();
    for line in &mut order.lines {
        if let Some(quantity) = asked.get(&line.id) {
            line.fulfilled += quantity;
            shipped.push(FulfilledLine {
                line_id: line.id.clone(),
                quantity: *quantity,
            });
        }
    }
    order.touch();
    order.fulfillments.push(Fulfillment {
        id: ids.uuid(),
        status: "success".to_string(),
        lines: shipped,
        tracking_number: request.number,
        tracking_company: request.provider,
        tracking_url: request.link,
        shipment_status: None,
        created_at: now_seconds(),
    });
    reply(StatusCode::OK, order_with_fulfillments(order))
}

async fn cancel_order(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>, body: Bytes) -> Response {
    if !body.is_empty() {
        match parse_json(&body) {
            Ok(body) => {
                if !matches!(body["sendOrderCanceledEmail"], Value::Null | Value::Bool(_)) {
                    return invalid("sendOrderCanceledEmail", "must be true or false");
                }
            }
            Err(reason) => return invalid("body", &reason),
        }
    }
    let mut state = lock(&core.state);
    let Some(order) = state.order_mut(&order_id) else {
        return order_not_found(&order_id);
    };
    if order.status != "CANCELED" {
        let at = order.touch();
        core.cancel(order, at, "canceled through the API");
    }
    reply(StatusCode::OK, json!({ "order": render_order(order) }))
}

/// The order's payment, as List Transactions For Single Order shows it (none before it is paid).
fn render_payment(order: &Order) -> Option<Value> {
    if order.payment != Payment::Paid {
        return None;
    }
    let paid_at = order.paid_at.unwrap_or(order.created_at);
    let status = if order.refundable() == 0 {
        "REFUNDED"
    } else if order.refunded() > 0 {
        "PARTIALLY_REFUNDED"
    } else {
        "APPROVED"
    };
    let updated = order.refunds.last().map_or(paid_at, |refund| refund.created_at);
    Some(json!({
        "id": order.payment_id,
        "regularPaymentDetails": {
            "paymentOrderId": order.id,
            "gatewayTransactionId": format!("{}-{}", &order.token[..8], &order.token[8..12]),
            "paymentMethod": "CreditCard",
            "providerTransactionId": format!("pi_{}", &order.token[..24]),
            "offlinePayment": false,
            "status": status,
            "creditCardDetails": { "lastFourDigits": "4242", "brand": "VISA" },
        },
        "createdDate": wix_time(paid_at),
        "updatedDate": wix_time(updated),
        "amount": price(order.total(), &order.currency),
        "refundDisabled": false,
    }))
}

fn render_refund(order: &Order, refund: &Refund) -> Value {
    json!({
        "id": refund.id,
        "transactions": refund
            .transactions
            .iter()
            .map(|transaction| json!({
                "paymentId": transaction.payment_id,
                "amount": price(transaction.amount, &order.currency),
                "refundStatus": "SUCCEEDED",
                "externalRefund": !transaction.through_gateway,
                "gatewayRefundId": transaction.id,
            }))
            .collect::<Vec<_>>(),
        "details": {
            "items": refund
                .lines
                .iter()
                .map(|line| json!({ "lineItemId": line.line_id, "quantity": line.quantity }))
                .collect::<Vec<_>>(),
            "shippingIncluded": false,
            "reason": refund.note,
        },
        "createdDate": wix_time(refund.created_at),
    })
}

fn order_transactions(order: &Order) -> Value {
    json!({
        "orderId": order.id,
        "payments": render_payment(order).into_iter().collect::<Vec<_>>(),
        "refunds": order.refunds.iter().map(|refund| render_refund(order, refund)).collect::<Vec<_>>(),
    })
}

async fn list_transactions(Shared(Ctx { core, .. }): Shared<Ctx>, Path(order_id): Path<String>) -> Response {
    let state = lock(&core.state);
    match state.order(&order_id) {
        Some(order) => reply(
            StatusCode::OK,
            json!({ "orderTransactions": order_transactions(order) }),
        ),
        None => order_not_found(&order_id),
    }
}

/// Longest `customerReason` Wix takes.
const MAX_REASON_CHARS: usize = 200;

/// What a Refund Payments body asks for, checked for shape.
struct RefundRequest {
    order_id: String,
    /// Payment id, amount in minor units, external.
    payments: Vec<(String, i64, bool)>,
    lines: Vec<(String, u32)>,
    restock: bool,
    email: bool,
    reason: Option<String>,
}

fn parse_refund(body: &[u8], scale: u32) -> Result<RefundRequest, Box<Response>> {
    let body = parse_json(body).map_err(|reason| Box::new(invalid("body", &reason)))?;
    let Some(order_id) = body["orderId"].as_str().filter(|id| !id.is_empty()) else {
        return Err(Box::new(invalid("orderId", "is required")));
    };
    let refunds = match body["paymentRefunds"].as_array() {
        Some(refunds) if (1..=50).contains(&refunds.len()) => refunds,
        _ => {
            return Err(Box::new(invalid(
                "paymentRefunds",
                "must be a list of 1 to 50 payment refunds",
            )));
        }
    };
    let mut payments = Vec::new();
    for (index, refund) in refunds.iter().enumerate() {
        let field = format!("paymentRefunds[{index}]");
        let Some(payment_id) = refund["paymentId"].as_str().filter(|id| !id.is_empty()) else {
            return Err(Box::new(invalid(&format!("{field}.paymentId"), "is required")));
        };
        let amount = refund["amount"]["amount"]
            .as_str()
            .and_then(|text| parse_amount(text.trim(), scale))
            .filter(|minor| *minor > 0);
        let Some(amount) = amount else {
            return Err(Box::new(invalid(
                &format!("{field}.amount.amount"),
                "must be a positive amount",
            )));
        };
        let external = match &refund["externalRefund"] {
            Value::Null => false,
            Value::Bool(flag) => *flag,
            _ => {
                return Err(Box::new(invalid(
                    &format!("{field}.externalRefund"),
                    "must be true or false",
                )));
            }
        };
        payments.push((payment_id.to_string(), amount, external));
    }
    let mut lines = Vec::new();
    let items = &body["refundItems"];
    if !items.is_null() && !items.is_object() {
        return Err(Box::new(invalid("refundItems", "must be an object")));
    }
    match &items["lineItems"] {
        Value::Null => {}
        Value::Array(list) => {
            for (index, item) in list.iter().enumerate() {
                let field = format!("refundItems.lineItems[{index}]");
                let Some(line_id) = item["lineItemId"].as_str().filter(|id| !id.is_empty()) else {
                    return Err(Box::new(invalid(&format!("{field}.lineItemId"), "is required")));
                };
                let quantity = match item["quantity"].as_u64() {
                    Some(quantity) if (1..=u64::from(u32::MAX)).contains(&quantity) => quantity as u32,
                    _ => {
                        return Err(Box::new(invalid(
                            &format!("{field}.quantity"),
                            "must be a whole number of at least 1",
                        )));
                    }
                };
                lines.push((line_id.to_string(), quantity));
            }
        }
        _ => return Err(Box::new(invalid("refundItems.lineItems", "must be a list"))),
    }
    let effects = &body["sideEffects"];
    if !effects.is_null() && !effects.is_object() {
        return Err(Box::new(invalid("sideEffects", "must be an object")));
    }
    let restock = match &effects["restockInfo"]["type"] {
        Value::Null => false,
        Value::String(kind) if kind == "NO_ITEMS" => false,
        Value::String(kind) if kind == "ALL_ITEMS" || kind == "SOME_ITEMS" => true,
        _ => {
            return Err(Box::new(invalid(
                "sideEffects.restockInfo.type",
                "must be NO_ITEMS, ALL_ITEMS or SOME_ITEMS",
            )));
        }
    };
    let email = match &effects["sendOrderRefundedEmail"] {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        _ => {
            return Err(Box::new(invalid(
                "sideEffects.sendOrderRefundedEmail",
                "must be true or false",
            )));
        }
    };
    let reason = match &body["customerReason"] {
        Value::Null => None,
        Value::String(reason) if reason.chars().count() > MAX_REASON_CHARS => {
            return Err(Box::new(invalid("customerReason", "must be at most 200 characters")));
        }
        Value::String(reason) => Some(reason.clone()),
        _ => return Err(Box::new(invalid("customerReason", "must be text"))),
    };
    Ok(RefundRequest {
        order_id: order_id.to_string(),
        payments,
        lines,
        restock,
        email,
        reason,
    })
}

async fn refund_payments(Shared(Ctx { core, site }): Shared<Ctx>, body: Bytes) -> Response {
    let scale = core.currency_scale();
    let request = match parse_refund(&body, scale) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let mut state = lock(&core.state);
    let super::platform::State { ids, orders, .. } = &mut *state;
    let Some(order) = orders.get_mut(&request.order_id) else {
        return order_not_found(&request.order_id);
    };
    let mut transactions = Vec::new();
    for (payment_id, amount, external) in &request.payments {
        if payment_id != &order.payment_id || order.payment != Payment::Paid {
            return wix_error(
                StatusCode::NOT_FOUND,
                "PAYMENT_NOT_FOUND",
                &format!("payment {payment_id} of order {} not found", order.id),
            );
        }
        transactions.push(RefundTransaction {
            id: ids.uuid(),
            payment_id: payment_id.clone(),
            amount: *amount,
            gateway: "CreditCard".to_string(),
            through_gateway: !external,
        });
    }
    let amount: i64 = transactions.iter().map(|t| t.amount).sum();
    if amount > order.refundable() {
        return wix_error(
            StatusCode::PRECONDITION_REQUIRED,
            "REFUND_AMOUNT_EXCEEDS_REFUNDABLE",
            &format!(
                "{} asked, {} left to refund",
                formatted_amount(amount, &order.currency),
                formatted_amount(order.refundable(), &order.currency)
            ),
        );
    }
    let mut lines: Vec<RefundedLine> = Vec::new();
    for (line_id, quantity) in &request.lines {
        let Some(line) = order.lines.iter().find(|line| &line.id == line_id) else {
            return invalid(
                "refundItems.lineItems.lineItemId",
                &format!("{line_id} is not a line item of the order"),
            );
        };
        let left = line.quantity.saturating_sub(order.refunded_units(line_id));
        if *quantity > left {
            return invalid(
                "refundItems.lineItems.quantity",
                &format!("{quantity} of line item {line_id} asked, {left} refundable"),
            );
        }
        lines.push(RefundedLine {
            line_id: line_id.clone(),
            quantity: *quantity,
            amount: line.price * i64::from(*quantity),
        });
    }
    if let Some(reason) = core.refund_refusal()
        && transactions.iter().any(|t| t.through_gateway)
    {
        return wix_error(
            StatusCode::PRECONDITION_REQUIRED,
            "PAYMENT_PROVIDER_REFUND_FAILED",
            &reason,
        );
    }
    let created_at = order.touch();
    let refund = Refund {
        id: ids.uuid(),
        amount,
        note: request.reason,
        lines,
        transactions,
        restock: request.restock,
        notify_customer: request.email,
        meta: Vec::new(),
        created_at,
    };
    let rendered = render_refund(order, &refund);
    order.refunds.push(refund);
    if core.take_lost_refund_answer() {
        return site.error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
    }
    reply(
        StatusCode::OK,
        json!({ "refund": rendered, "orderTransactions": order_transactions(order) }),
    )
}

// ---------------------------------------------------------------------------------------------
// Listings: stock, prices, visibility
// ---------------------------------------------------------------------------------------------

fn product_not_found(product_id: &str) -> Response {
    wix_error(
        StatusCode::NOT_FOUND,
        "PRODUCT_NOT_FOUND",
        &format!("Product with id {product_id} not found"),
    )
}

fn variant_not_found(product_id: &str, variant_id: &str) -> Response {
    wix_error(
        StatusCode::NOT_FOUND,
        "VARIANT_NOT_FOUND",
        &format!("Variant with id {variant_id} not found in product {product_id}"),
    )
}

/// A Stores amount (a JSON number) in minor units; `None` when it is not a number, is negative
/// or has more decimals than `scale`.
fn stores_amount(value: &Value, scale: u32) -> Option<i64> {
    match value {
        Value::Number(number) => parse_amount(&number.to_string(), scale).filter(|minor| *minor >= 0),
        _ => None,
    }
}

/// The variant of `product` a request names: the all-zero id is the one variant of a product
/// without options; other ids must be the product's own variants.
fn variant_of(state: &super::platform::State, product: usize, variant_id: &str) -> Option<usize> {
    let owner = &state.products[product];
    if owner.is_simple() {
        return (variant_id == uuid::Uuid::nil().to_string()).then_some(0);
    }
    state
        .variant_id_position(variant_id)
        .filter(|(found, _)| *found == product)
        .map(|(_, index)| index)
}

/// Sets a variant's price before the discount and what the customer pays after it.
fn set_base_price(variant: &mut Variant, base: i64, discount: Discount) {
    let paid = discount.apply(base);
    variant.price = paid;
    variant.compare_at = (paid < base).then_some(base);
}

async fn get_product(Shared(Ctx { core, .. }): Shared<Ctx>, Path(product_id): Path<String>) -> Response {
    let state = lock(&core.state);
    match state.product_position(&product_id) {
        Some(position) => reply(
            StatusCode::OK,
            json!({ "product": render_product(&state.products[position], &core.config.currency, core.currency_scale(), true) }),
        ),
        None => product_not_found(&product_id),
    }
}

/// Update Product (`PATCH /stores/v1/products/{id}`): takes `visible`, `priceData.price` (a
/// product without options: its one variant's price) and `discount` (`{type: NONE | AMOUNT |
/// PERCENT, value}`, off every variant's price); other fields are ignored.
async fn patch_product(Shared(Ctx { core, .. }): Shared<Ctx>, Path(product_id): Path<String>, body: Bytes) -> Response {
    core.count_listing_write();
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return invalid("product", &reason),
    };
    let fields = &body["product"];
    if !fields.is_object() {
        return invalid("product", "a product object is required");
    }
    if let Some(id) = fields.get("id")
        && id.as_str() != Some(product_id.as_str())
    {
        return invalid("product.id", "must be the id of the product in the path");
    }
    let visible = match fields.get("visible") {
        None => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => return invalid("product.visible", "must be true or false"),
    };
    let scale = core.currency_scale();
    let price = match fields.get("priceData").map(|data| data.get("price")) {
        None | Some(None) => None,
        Some(Some(value)) => match stores_amount(value, scale) {
            Some(minor) => Some(minor),
            None => {
                return invalid(
                    "product.priceData.price",
                    &format!(
                        "{value} is not a price in {} (a number, at most {scale} decimals)",
                        core.config.currency
                    ),
                );
            }
        },
    };
    let discount = match fields.get("discount") {
        None => None,
        Some(discount) => {
            let value = discount.get("value").unwrap_or(&Value::Null);
            match discount.get("type").and_then(Value::as_str) {
                Some("NONE") => Some(Discount::None),
                Some("AMOUNT") => match stores_amount(value, scale) {
                    Some(minor) => Some(Discount::Amount(minor)),
                    None => return invalid("product.discount.value", "must be an amount of at least 0"),
                },
                Some("PERCENT") => match stores_amount(value, 2).filter(|hundredths| *hundredths <= 10_000) {
                    Some(hundredths) => Some(Discount::Percent(hundredths)),
                    None => return invalid("product.discount.value", "must be a percentage from 0 to 100"),
                },
                _ => return invalid("product.discount.type", "must be NONE, AMOUNT or PERCENT"),
            }
        }
    };
    let mut state = lock(&core.state);
    let Some(position) = state.product_position(&product_id) else {
        return product_not_found(&product_id);
    };
    let product = &mut state.products[position];
    if price.is_some() && !product.is_simple() {
        return invalid(
            "product.priceData.price",
            "the product manages its variants: set their prices with Update Product Variants",
        );
    }
    if let Some(visible) = visible {
        product.published = visible;
    }
    if price.is_some() || discount.is_some() {
        let bases: Vec<i64> = product.variants.iter().map(base_price).collect();
        if let Some(discount) = discount {
            product.discount = discount;
        }
        let discount = product.discount;
        for (variant, base) in product.variants.iter_mut().zip(bases) {
            set_base_price(variant, price.unwrap_or(base), discount);
        }
    }
    reply(
        StatusCode::OK,
        json!({ "product": render_product(&state.products[position], &core.config.currency, scale, true) }),
    )
}

/// Update Product Variants (`PATCH /stores/v1/products/{id}/variants`): `variants` of
/// `{variantIds, price}` (the price before the product's discount); the simulator takes
/// variants by id only, not by `choices`, and ignores the other fields.
async fn patch_variants(
    Shared(Ctx { core, .. }): Shared<Ctx>,
    Path(product_id): Path<String>,
    body: Bytes,
) -> Response {
    core.count_listing_write();
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return invalid("variants", &reason),
    };
    let Some(entries) = body["variants"].as_array() else {
        return invalid("variants", "a list of variant updates is required");
    };
    let scale = core.currency_scale();
    let mut updates: Vec<(Vec<String>, Option<i64>)> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let field = format!("variants[{index}]");
        let ids: Option<Vec<String>> = entry["variantIds"]
            .as_array()
            .and_then(|ids| ids.iter().map(|id| id.as_str().map(str::to_string)).collect());
        let Some(ids) = ids.filter(|ids| !ids.is_empty()) else {
            return invalid(
                &format!("{field}.variantIds"),
                "a non-empty list of variant ids is required (the simulator does not take choices)",
            );
        };
        let price = match entry.get("price") {
            None => None,
            Some(value) => match stores_amount(value, scale) {
                Some(minor) => Some(minor),
                None => {
                    return invalid(
                        &format!("{field}.price"),
                        &format!("{value} is not a price (a number, at most {scale} decimals)"),
                    );
                }
            },
        };
        updates.push((ids, price));
    }
    let mut state = lock(&core.state);
    let Some(position) = state.product_position(&product_id) else {
        return product_not_found(&product_id);
    };
    if state.products[position].is_simple() {
        return invalid(
            "variants",
            "the product does not manage variants: set its price with Update Product",
        );
    }
    // Every variant is found before anything changes.
    let mut resolved: Vec<(usize, Option<i64>)> = Vec::new();
    for (ids, price) in &updates {
        for id in ids {
            match variant_of(&state, position, id) {
                Some(index) => resolved.push((index, *price)),
                None => return variant_not_found(&product_id, id),
            }
        }
    }
    let product = &mut state.products[position];
    let discount = product.discount;
    for (index, price) in &resolved {
        if let Some(price) = price {
            set_base_price(&mut product.variants[*index], *price, discount);
        }
    }
    let currency = &core.config.currency;
    let variants: Vec<Value> = resolved
        .iter()
        .map(|(index, _)| render_variant(&product.variants[*index], currency, scale))
        .collect();
    reply(StatusCode::OK, json!({ "variants": variants }))
}

/// Update Inventory Variants (`PATCH /stores/v2/inventoryItems/product/{id}`):
/// `inventoryItem.trackQuantity` (for the whole product) and `variants` of `{variantId,
/// quantity}`. Once quantities are tracked a variant not given one has 0; untracked, none
/// counts. Answers `{}`.
async fn patch_inventory(
    Shared(Ctx { core, .. }): Shared<Ctx>,
    Path(product_id): Path<String>,
    body: Bytes,
) -> Response {
    core.count_listing_write();
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(reason) => return invalid("inventoryItem", &reason),
    };
    let item = &body["inventoryItem"];
    if !item.is_object() {
        return invalid("inventoryItem", "an inventory item is required");
    }
    if let Some(id) = item.get("productId")
        && id.as_str() != Some(product_id.as_str())
    {
        return invalid("inventoryItem.productId", "must be the id of the product in the path");
    }
    let track = match item.get("trackQuantity") {
        None => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => return invalid("inventoryItem.trackQuantity", "must be true or false"),
    };
    let entries = match item.get("variants") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries.clone(),
        Some(_) => return invalid("inventoryItem.variants", "must be a list"),
    };
    let mut quantities: Vec<(String, Option<u32>)> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let field = format!("inventoryItem.variants[{index}]");
        let Some(id) = entry["variantId"].as_str() else {
            return invalid(&format!("{field}.variantId"), "a variant id is required");
        };
        let quantity = match entry.get("quantity") {
            None => None,
            Some(value) => match value.as_u64().and_then(|quantity| u32::try_from(quantity).ok()) {
                Some(quantity) => Some(quantity),
                None => {
                    return invalid(&format!("{field}.quantity"), "must be a whole number of units from 0");
                }
            },
        };
        quantities.push((id.to_string(), quantity));
    }
    let mut state = lock(&core.state);
    let Some(position) = state.product_position(&product_id) else {
        return product_not_found(&product_id);
    };
    let mut resolved = Vec::with_capacity(quantities.len());
    for (id, quantity) in &quantities {
        match variant_of(&state, position, id) {
            Some(index) => resolved.push((index, *quantity)),
            None => return variant_not_found(&product_id, id),
        }
    }
    let product = &mut state.products[position];
    let tracked = track.unwrap_or_else(|| product.variants.iter().any(|variant| variant.stock.is_some()));
    if tracked {
        for variant in &mut product.variants {
            variant.stock = Some(variant.stock.unwrap_or(0));
        }
        for (index, quantity) in resolved {
            if let Some(quantity) = quantity {
                product.variants[index].stock = Some(quantity);
            }
        }
    } else {
        for variant in &mut product.variants {
            variant.stock = None;
        }
    }
    reply(StatusCode::OK, json!({}))
}
