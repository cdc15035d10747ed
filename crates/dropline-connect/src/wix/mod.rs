//! Wix's order webhooks: [`WixWebhooks`] verifies and parses them, [`map_order`] turns a Wix
//! order into an [`IncomingOrder`].
//!
//! # Delivery
//!
//! The whole body is a JWT signed RS256 by Wix; the store's secrets are the app's public
//! keys (PEM, `-----BEGIN PUBLIC KEY-----`; the bare base64 of the key is also taken). The
//! signature is checked against each key, and a token whose `exp` (when it has one) is
//! more than a minute past is refused as stale. A body that is not a JWT is refused.
//!
//! Once verified the token nests three layers of JSON: the claims' `data` is JSON text
//! holding `{eventType, instanceId, data}`, whose `data` is again JSON text holding the
//! event `{id, entityFqdn, slug, entityId, eventTime, …}`. The order is in the event's
//! `createdEvent.entity`, `updatedEvent.currentEntity` or `actionEvent.body.order` (each
//! also taken as JSON text in `entityAsJson`, `currentEntityAsJson`, `bodyAsJson`).
//!
//! | `eventType` | [`WebhookTopic`] |
//! |---|---|
//! | `wix.ecom.v1.order_created` | `OrderCreated` |
//! | `wix.ecom.v1.order_approved`, `wix.ecom.v1.order_payment_status_updated` | `OrderPaid` when the order is paid, else `OrderUpdated` |
//! | `wix.ecom.v1.order_updated` | `OrderUpdated` |
//! | `wix.ecom.v1.order_canceled` | `OrderCancelled` |
//! | anything else | `Other(eventType)`; the event is read only for its `id` and `eventTime` |
//!
//! `delivery_id` is the event's `id`; `triggered_at` its `eventTime`.
//!
//! # Order mapping
//!
//! [`map_order`] reads both the eCommerce order (`wix.ecom.v1.order`, what the webhooks carry)
//! and the older Wix Stores order (as in the Stores `onOrderPaid` event). The shape is told by
//! its fields: each value is read where the eCommerce order has it, else where the Stores
//! order has it (second column).
//!
//! | eCommerce order | Stores order | Core field |
//! |---|---|---|
//! | `id` (or `_id`) | `_id` | `external_id` |
//! | `number` (text) | `number` (integer) | `number` |
//! | `createdDate` (or `_createdDate`) | `dateCreated` (or `_dateCreated`) | `placed_at` |
//! | `updatedDate` (or `_updatedDate`) | `_updatedDate` | `source_updated_at` |
//! | `billingInfo.contactDetails.firstName` + `lastName`; else the shipping contact's | `billingInfo.firstName` + `lastName`; else `buyerInfo`'s | `customer.name` |
//! | `buyerInfo.email` | `buyerInfo.email`; else `billingInfo.email` | `customer.email` |
//! | `billingInfo.contactDetails.phone` | `billingInfo.phone`; else `buyerInfo.phone` | `customer.phone` |
//! | `shippingInfo.logistics.shippingDestination` `{address, contactDetails}`; when absent or blank (pickup, digital goods), `billingInfo`; else empty | `shippingInfo.shipmentDetails` `{address, firstName, …}`; else `billingInfo` | `shipping_address` |
//! | contact `firstName`, `lastName`, `company`, `phone` | the same, beside the address | `first_name`, `last_name`, `company`, `phone` |
//! | address `addressLine1`; else `streetAddress.number` + `name` | address `addressLine` | `address1` |
//! | address `addressLine2` | address `addressLine2` | `address2` |
//! | address `city`, `postalCode` | the same | `city`, `postal_code` |
//! | address `subdivision` (ISO 3166-2 `US-NY`, the country prefix dropped) | address `subdivision` (`NY`) | `region` |
//! | address `country` (alpha-2) | address `country` (alpha-3 `USA`, converted; an unknown code is refused) | `country_code` |
//! | `lineItems[].id` | `lineItems[].index` | line `external_id` |
//! | `lineItems[].catalogReference.catalogItemId` | `lineItems[].productId` | `platform_product_id` |
//! | `lineItems[].catalogReference.options.variantId` | `lineItems[].variantId` | `platform_variant_id` |
//! | `lineItems[].physicalProperties.sku` (absent is `""`) | `lineItems[].sku` | `sku` |
//! | `lineItems[].productName.original` | `lineItems[].name` | `title` |
//! | `lineItems[].descriptionLines[]` values (`plainText` or `colorInfo`), joined with ` / ` | `lineItems[].options[].selection`, joined | `variant_title` |
//! | `lineItems[].quantity` (at least 1) | the same | `quantity` |
//! | `lineItems[].price.amount` (after line discounts) | `lineItems[].price` (a JSON number, read through its text) | `unit_price` |
//! | `physicalProperties.shippable`; else `itemType.preset` is not `DIGITAL`, `GIFT_CARD` or `SERVICE` | `lineItemType` is not `DIGITAL` or `CUSTOM_AMOUNT_ITEM` | `requires_shipping` |
//! | — | — | `fulfillable_quantity` is `None` |
//! | `currency` | `currency` | `currency` |
//! | `priceSummary.shipping.amount`; else `shippingInfo.cost.price.amount`; else 0 | `totals.shipping` | `shipping_total` |
//! | `priceSummary.total.amount` | `totals.total` | `charged_total` |
//! | `priceSummary.discount.amount` (not negative) | `totals.discount` | `discount_total` |
//! | `priceSummary.tax.amount` (not negative) | `totals.tax` | `tax_total` |
//! | `shippingInfo.title` | `shippingInfo.deliveryOption` | `shipping_method` |
//! | `paymentStatus`: `PAID` / `AUTHORIZED` / `PARTIALLY_REFUNDED` / `FULLY_REFUNDED` / `VOIDED` | the same | `paid` / `authorized` / `partially_refunded` / `refunded` / `voided` |
//! | `paymentStatus`: `CANCELED` | the same | `voided` |
//! | `paymentStatus`: `NOT_PAID`, `PENDING`, `PENDING_MERCHANT`, `PARTIALLY_PAID`, `DECLINED`, unknown, absent | the same | `pending` |
//! | `status` is `CANCELED`: `updatedDate` (else `createdDate`) | `fulfillmentStatus` is `CANCELED`: the same | `cancelled_at` |
//! | — | — | `test` is false |

mod countries;

use crate::webhooks::json::{self, List, Obj, Path, Scalar};
use crate::webhooks::{full_name, shipping_or_billing};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dropline_app::storefront::{Verified, WebhookDelivery, WebhookError, WebhookFormat, WebhookRequest, WebhookTopic};
use dropline_domain::address::{Address, Customer};
use dropline_domain::catalog::Platform;
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{IncomingLine, IncomingOrder};
use dropline_domain::state::PaymentState;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::borrow::Cow;
use time::{Duration, OffsetDateTime};

/// Wix's webhook format.
#[derive(Clone, Copy, Debug)]
pub struct WixWebhooks {
    leeway: Duration,
    now: fn() -> OffsetDateTime,
}

impl WixWebhooks {
    /// How far past its `exp` a token is still accepted (clocks differ a little).
    pub const DEFAULT_LEEWAY: Duration = Duration::seconds(60);

    /// The format with the system clock.
    pub fn new() -> Self {
        Self {
            leeway: Self::DEFAULT_LEEWAY,
            now: OffsetDateTime::now_utc,
        }
    }

    /// Reads the time from `now` instead of the system clock (for tests).
    pub fn with_clock(mut self, now: fn() -> OffsetDateTime) -> Self {
        self.now = now;
        self
    }
}

impl Default for WixWebhooks {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookFormat for WixWebhooks {
    fn platform(&self) -> Platform {
        Platform::Wix
    }

    fn verify(&self, request: &WebhookRequest<'_>, secrets: &[String]) -> Result<Verified, WebhookError> {
        let not_jwt = || WebhookError::Unauthorized("the body is not a JWT".into());
        let token = jwt_text(request.body).ok_or_else(not_jwt)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| not_jwt())?;
        if header.alg != Algorithm::RS256 {
            return Err(WebhookError::Unauthorized(format!(
                "the JWT is signed with {:?}, not RS256",
                header.alg
            )));
        }
        let mut validation = Validation::new(Algorithm::RS256);
        // `exp` is checked below against the injectable clock; Wix sets no audience.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let mut usable_key = false;
        let mut failure = None;
        for secret in secrets {
            let Ok(key) = DecodingKey::from_rsa_pem(pem(secret).as_bytes()) else {
                continue;
            };
            usable_key = true;
            match jsonwebtoken::decode::<ExpiryClaims>(token, &key, &validation) {
                Ok(data) => {
                    self.check_expiry(&data.claims.exp)?;
                    return Ok(Verified::Signed);
                }
                Err(e) if *e.kind() == ErrorKind::InvalidSignature => {}
                Err(e) => failure = Some(e.to_string()),
            }
        }
        Err(WebhookError::Unauthorized(match (usable_key, failure) {
            (false, _) => "the store has no usable Wix public key (PEM)".into(),
            (true, Some(reason)) => format!("the JWT could not be checked: {reason}"),
            (true, None) => "the JWT's signature matches none of the store's public keys".into(),
        }))
    }

    fn parse(&self, request: &WebhookRequest<'_>) -> Result<WebhookDelivery, WebhookError> {
        let token = jwt_text(request.body).ok_or_else(|| WebhookError::bad("body", "not a JWT"))?;
        let payload = token
            .split('.')
            .nth(1)
            .and_then(|part| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok())
            .ok_or_else(|| WebhookError::bad("body", "the JWT's payload is not base64url"))?;
        let claims: Claims = json::from_body(&payload, "JWT claims")?;
        let data_path = Path::root("data");
        let outer: Outer = json::from_text(embedded_text(&claims.data, &data_path)?, &data_path, "a Wix event")?;
        let event_type_path = data_path.key("eventType");
        let event_type = outer
            .event_type
            .text(&event_type_path)?
            .ok_or_else(|| event_type_path.bad("missing"))?;
        let event_path = data_path.key("data");
        let event_text = embedded_text(&outer.data, &event_path)?;
        let topic = match event_type.trim() {
            "wix.ecom.v1.order_created" => WebhookTopic::OrderCreated,
            "wix.ecom.v1.order_approved" | "wix.ecom.v1.order_payment_status_updated" => WebhookTopic::OrderPaid,
            "wix.ecom.v1.order_updated" => WebhookTopic::OrderUpdated,
            "wix.ecom.v1.order_canceled" => WebhookTopic::OrderCancelled,
            _ => {
                let head: EventHead = json::from_text(event_text, &event_path, "a Wix event")?;
                return Ok(WebhookDelivery {
                    delivery_id: head.id.id(&event_path.key("id"))?,
                    topic: WebhookTopic::Other(event_type),
                    order: None,
                    order_ref: None,
                    triggered_at: head.event_time.timestamp(&event_path.key("eventTime"))?,
                });
            }
        };
        let mut event: Event = json::from_text(event_text, &event_path, "a Wix event")?;
        let delivery_id = event.id.id(&event_path.key("id"))?;
        let triggered_at = event.event_time.timestamp(&event_path.key("eventTime"))?;
        let entity_id = event.entity_id.text(&event_path.key("entityId")).ok().flatten();
        let (order, prefix) = match event.take_order() {
            Ok(found) => found,
            // A cancellation may name the order without carrying it: cancel it by its id.
            Err(_) if topic == WebhookTopic::OrderCancelled && entity_id.is_some() => {
                return Ok(WebhookDelivery {
                    delivery_id,
                    topic,
                    order: None,
                    order_ref: entity_id,
                    triggered_at,
                });
            }
            Err(err) => return Err(err),
        };
        let order = match map(&order, prefix) {
            Ok(order) => order,
            Err(_) if topic == WebhookTopic::OrderCancelled && entity_id.is_some() => {
                return Ok(WebhookDelivery {
                    delivery_id,
                    topic,
                    order: None,
                    order_ref: entity_id,
                    triggered_at,
                });
            }
            Err(err) => return Err(err),
        };
        let topic = match topic {
            WebhookTopic::OrderPaid if order.payment != PaymentState::Paid => WebhookTopic::OrderUpdated,
            topic => topic,
        };
        Ok(WebhookDelivery {
            delivery_id,
            topic,
            order: Some(order),
            order_ref: None,
            triggered_at,
        })
    }
}

impl WixWebhooks {
    fn check_expiry(&self, exp: &Scalar) -> Result<(), WebhookError> {
        let seconds = match exp {
            Scalar::Null => return Ok(()),
            Scalar::Unsigned(n) => i64::try_from(*n).unwrap_or(i64::MAX),
            Scalar::Signed(n) => *n,
            Scalar::Float(f) if f.is_finite() => f.floor() as i64,
            _ => return Err(WebhookError::Unauthorized("the JWT's exp is not a time".into())),
        };
        let now = (self.now)().unix_timestamp();
        if now.saturating_sub(self.leeway.whole_seconds()) > seconds {
            return Err(WebhookError::Unauthorized("stale".into()));
        }
        Ok(())
    }
}

/// The body as JWT text: three base64url parts separated by dots.
fn jwt_text(body: &[u8]) -> Option<&str> {
    let token = std::str::from_utf8(body).ok()?.trim();
    let mut parts = token.split('.');
    let well_formed = parts.by_ref().take(3).all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    });
    (well_formed && token.split('.').count() == 3).then_some(token)
}

/// A public key as PEM text: taken as it is, with `\n` escapes turned into line breaks, or
/// wrapped when it is the bare base64 of the key.
fn pem(secret: &str) -> Cow<'_, str> {
    let secret = secret.trim();
    let secret: Cow<'_, str> = if secret.contains("\\n") {
        Cow::Owned(secret.replace("\\n", "\n"))
    } else {
        Cow::Borrowed(secret)
    };
    if secret.starts_with("-----BEGIN") {
        return secret;
    }
    let base64: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    let mut text = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in base64.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(chunk));
        text.push('\n');
    }
    text.push_str("-----END PUBLIC KEY-----\n");
    Cow::Owned(text)
}

/// A field that must hold JSON text.
fn embedded_text<'a>(value: &'a Scalar, path: &Path<'_>) -> Result<&'a str, WebhookError> {
    match value {
        Scalar::Text(text) => Ok(text),
        Scalar::Null => Err(path.bad("missing")),
        _ => Err(path.bad("expected JSON text")),
    }
}

/// Maps a Wix order, either the eCommerce order (`wix.ecom.v1.order`) or the older Wix
/// Stores order, to the core order.
pub fn map_order(json: &serde_json::Value) -> Result<IncomingOrder, WebhookError> {
    map(&json::from_value(json, "a Wix order")?, "")
}

/// [`map_order`] from the JSON bytes.
pub fn map_order_bytes(body: &[u8]) -> Result<IncomingOrder, WebhookError> {
    map(&json::from_body(body, "a Wix order")?, "")
}

// ---------------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ExpiryClaims {
    exp: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Claims {
    data: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Outer {
    event_type: Scalar,
    data: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct EventHead {
    id: Scalar,
    event_time: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Event {
    id: Scalar,
    entity_id: Scalar,
    event_time: Scalar,
    created_event: Obj<CreatedEvent>,
    updated_event: Obj<UpdatedEvent>,
    action_event: Obj<ActionEvent>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct CreatedEvent {
    entity: Obj<Order>,
    entity_as_json: Obj<Order>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct UpdatedEvent {
    current_entity: Obj<Order>,
    current_entity_as_json: Obj<Order>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ActionEvent {
    body: Obj<ActionBody>,
    body_as_json: Obj<ActionBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionBody {
    order: Obj<Order>,
}

impl Event {
    /// The order the event carries, with the path it sits under.
    fn take_order(&mut self) -> Result<(Order, &'static str), WebhookError> {
        let event = Path::root("data.data");
        if let Obj::Present(created) = &mut self.created_event {
            let created_path = event.key("createdEvent");
            if let Some(order) = take(&mut created.entity, &created_path.key("entity"))? {
                return Ok((order, "createdEvent.entity"));
            }
            if let Some(order) = take(&mut created.entity_as_json, &created_path.key("entityAsJson"))? {
                return Ok((order, "createdEvent.entityAsJson"));
            }
        }
        if let Obj::Present(updated) = &mut self.updated_event {
            let updated_path = event.key("updatedEvent");
            if let Some(order) = take(&mut updated.current_entity, &updated_path.key("currentEntity"))? {
                return Ok((order, "updatedEvent.currentEntity"));
            }
            let as_json = updated_path.key("currentEntityAsJson");
            if let Some(order) = take(&mut updated.current_entity_as_json, &as_json)? {
                return Ok((order, "updatedEvent.currentEntityAsJson"));
            }
        }
        if let Obj::Present(action) = &mut self.action_event {
            let action_path = event.key("actionEvent");
            action.body.parse_embedded(&action_path.key("body"))?;
            action.body_as_json.parse_embedded(&action_path.key("bodyAsJson"))?;
            for (body, prefix) in [
                (&mut action.body, "actionEvent.body.order"),
                (&mut action.body_as_json, "actionEvent.bodyAsJson.order"),
            ] {
                if let Obj::Present(body) = body
                    && let Some(order) = take(&mut body.order, &Path::root(prefix))?
                {
                    return Ok((order, prefix));
                }
            }
        }
        Err(event.bad(
            "the event carries no order (createdEvent.entity, updatedEvent.currentEntity or actionEvent.body.order)",
        ))
    }
}

/// Takes the object out of `slot` (read from JSON text first when it is text).
fn take<T: serde::de::DeserializeOwned>(slot: &mut Obj<T>, path: &Path<'_>) -> Result<Option<T>, WebhookError> {
    slot.parse_embedded(path)?;
    slot.get(path)?;
    Ok(match std::mem::take(slot) {
        Obj::Present(value) => Some(value),
        _ => None,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Order {
    id: Scalar,
    #[serde(rename = "_id")]
    underscore_id: Scalar,
    number: Scalar,
    created_date: Scalar,
    #[serde(rename = "_createdDate")]
    underscore_created_date: Scalar,
    date_created: Scalar,
    #[serde(rename = "_dateCreated")]
    underscore_date_created: Scalar,
    updated_date: Scalar,
    #[serde(rename = "_updatedDate")]
    underscore_updated_date: Scalar,
    currency: Scalar,
    payment_status: Scalar,
    status: Scalar,
    fulfillment_status: Scalar,
    buyer_info: Obj<BuyerInfo>,
    billing_info: Obj<Contact>,
    shipping_info: Obj<ShippingInfo>,
    line_items: List<Line>,
    price_summary: Obj<PriceSummary>,
    totals: Obj<Totals>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct BuyerInfo {
    email: Scalar,
    first_name: Scalar,
    last_name: Scalar,
    phone: Scalar,
}

/// An address with its contact: `{address, contactDetails}` in the eCommerce order,
/// `{address, firstName, lastName, …}` in the Stores order.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Contact {
    address: Obj<AddressPayload>,
    contact_details: Obj<ContactDetails>,
    first_name: Scalar,
    last_name: Scalar,
    phone: Scalar,
    company: Scalar,
    email: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ContactDetails {
    first_name: Scalar,
    last_name: Scalar,
    phone: Scalar,
    company: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AddressPayload {
    country: Scalar,
    subdivision: Scalar,
    city: Scalar,
    postal_code: Scalar,
    address_line1: Scalar,
    address_line2: Scalar,
    address_line: Scalar,
    street_address: Obj<StreetAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StreetAddress {
    number: Scalar,
    name: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ShippingInfo {
    title: Scalar,
    logistics: Obj<Logistics>,
    cost: Obj<ShippingCost>,
    delivery_option: Scalar,
    shipment_details: Obj<Contact>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Logistics {
    shipping_destination: Obj<Contact>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShippingCost {
    price: Obj<Price>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Price {
    amount: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Line {
    id: Scalar,
    #[serde(rename = "_id")]
    underscore_id: Scalar,
    index: Scalar,
    product_name: Obj<Translated>,
    name: Scalar,
    catalog_reference: Obj<CatalogReference>,
    product_id: Scalar,
    variant_id: Scalar,
    quantity: Scalar,
    price: Obj<Price>,
    physical_properties: Obj<PhysicalProperties>,
    sku: Scalar,
    item_type: Obj<ItemType>,
    line_item_type: Scalar,
    description_lines: List<DescriptionLine>,
    options: List<StoresOption>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Translated {
    original: Scalar,
    translated: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct CatalogReference {
    catalog_item_id: Scalar,
    options: Obj<CatalogOptions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct CatalogOptions {
    variant_id: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PhysicalProperties {
    sku: Scalar,
    shippable: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ItemType {
    preset: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DescriptionLine {
    plain_text: Obj<Translated>,
    color_info: Obj<Translated>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StoresOption {
    selection: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PriceSummary {
    shipping: Obj<Price>,
    total: Obj<Price>,
    discount: Obj<Price>,
    tax: Obj<Price>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Totals {
    shipping: Scalar,
    total: Scalar,
    discount: Scalar,
    tax: Scalar,
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

/// The first of the fields that is not blank (else the first), with its name.
fn first<'a>(fields: &[(&'a Scalar, &'a str)]) -> (&'a Scalar, &'a str) {
    fields
        .iter()
        .copied()
        .find(|(value, _)| !value.is_blank())
        .unwrap_or(fields[0])
}

fn map(order: &Order, prefix: &str) -> Result<IncomingOrder, WebhookError> {
    let root = Path::root(prefix);
    let (id, id_key) = first(&[(&order.id, "id"), (&order.underscore_id, "_id")]);
    let external_id = id.required_id(&root.key(id_key))?;
    let currency = order.currency.currency(&root.key("currency"))?;
    let number = order
        .number
        .id(&root.key("number"))?
        .unwrap_or_else(|| external_id.clone());

    let (created, created_key) = first(&[
        (&order.created_date, "createdDate"),
        (&order.underscore_created_date, "_createdDate"),
        (&order.date_created, "dateCreated"),
        (&order.underscore_date_created, "_dateCreated"),
    ]);
    let created_path = root.key(created_key);
    let placed_at = created
        .timestamp(&created_path)?
        .ok_or_else(|| created_path.bad("missing"))?;
    let (updated, updated_key) = first(&[
        (&order.updated_date, "updatedDate"),
        (&order.underscore_updated_date, "_updatedDate"),
    ]);
    let source_updated_at = updated.timestamp(&root.key(updated_key))?;

    let billing_path = root.key("billingInfo");
    let billing_contact = order.billing_info.get(&billing_path)?;
    let billing = billing_contact.map(|c| contact_address(c, &billing_path)).transpose()?;
    let shipping_path = root.key("shippingInfo");
    let shipping_info = order.shipping_info.get(&shipping_path)?;
    let shipping = match shipping_info {
        Some(info) => shipping_destination(info, &shipping_path)?,
        None => None,
    };

    let buyer_path = root.key("buyerInfo");
    let buyer = order.buyer_info.get(&buyer_path)?;
    let address_name = |a: &Option<Address>| {
        a.as_ref()
            .and_then(|a| full_name(Some(&a.first_name), Some(&a.last_name)))
    };
    let buyer_name = match buyer {
        Some(b) => full_name(
            b.first_name.text(&buyer_path.key("firstName"))?.as_deref(),
            b.last_name.text(&buyer_path.key("lastName"))?.as_deref(),
        ),
        None => None,
    };
    let name = address_name(&billing)
        .or(buyer_name)
        .or_else(|| address_name(&shipping))
        .unwrap_or_default();
    let mut email = match buyer {
        Some(b) => b.email.text(&buyer_path.key("email"))?,
        None => None,
    };
    if email.is_none()
        && let Some(c) = billing_contact
    {
        email = c.email.text(&billing_path.key("email"))?;
    }
    let mut phone = billing.as_ref().and_then(|b| b.phone.clone());
    if phone.is_none()
        && let Some(b) = buyer
    {
        phone = b.phone.text(&buyer_path.key("phone"))?;
    }

    let lines_path = root.key("lineItems");
    let mut lines = Vec::new();
    for (i, item) in order.line_items.items(&lines_path)?.iter().enumerate() {
        let path = lines_path.index(i);
        let item = item
            .get(&path)?
            .ok_or_else(|| path.bad("expected an object, got null"))?;
        lines.push(line(item, currency, &path)?);
    }
    if lines.is_empty() {
        return Err(lines_path.bad("an order needs at least one line"));
    }

    let (shipping_total, charged_total) = totals(order, shipping_info, currency, &root)?;
    let (discount_total, tax_total) = discount_and_tax(order, currency, &root)?;
    let shipping_method = match shipping_info {
        Some(info) => match info.title.text(&shipping_path.key("title"))? {
            Some(title) => Some(title),
            None => info.delivery_option.text(&shipping_path.key("deliveryOption"))?,
        },
        None => None,
    };

    let is_canceled = |value: &Scalar| matches!(value, Scalar::Text(s) if s.trim() == "CANCELED");
    let cancelled_at = (is_canceled(&order.status) || is_canceled(&order.fulfillment_status))
        .then(|| source_updated_at.unwrap_or(placed_at));

    Ok(IncomingOrder {
        external_id,
        number,
        customer: Customer { name, email, phone },
        shipping_address: shipping_or_billing(shipping, billing),
        lines,
        currency,
        shipping_total,
        payment: payment(order.payment_status.text(&root.key("paymentStatus"))?.as_deref()),
        placed_at,
        test: false,
        cancelled_at,
        source_updated_at,
        charged_total,
        discount_total,
        tax_total,
        shipping_method,
    })
}

/// The shipping address of either shape, `None` when the order has none.
fn shipping_destination(info: &ShippingInfo, path: &Path<'_>) -> Result<Option<Address>, WebhookError> {
    let logistics_path = path.key("logistics");
    if let Some(logistics) = info.logistics.get(&logistics_path)? {
        let destination_path = logistics_path.key("shippingDestination");
        if let Some(destination) = logistics.shipping_destination.get(&destination_path)? {
            return contact_address(destination, &destination_path).map(Some);
        }
    }
    let details_path = path.key("shipmentDetails");
    match info.shipment_details.get(&details_path)? {
        Some(details) => contact_address(details, &details_path).map(Some),
        None => Ok(None),
    }
}

fn contact_address(contact: &Contact, path: &Path<'_>) -> Result<Address, WebhookError> {
    let details_path = path.key("contactDetails");
    let details = contact.contact_details.get(&details_path)?;
    let pick = |from_details: Option<&Scalar>, key: &str, own: &Scalar| -> Result<Option<String>, WebhookError> {
        if let Some(value) = from_details {
            let value = value.text(&details_path.key(key))?;
            if value.is_some() {
                return Ok(value);
            }
        }
        own.text(&path.key(key))
    };
    let first_name = pick(details.map(|d| &d.first_name), "firstName", &contact.first_name)?;
    let last_name = pick(details.map(|d| &d.last_name), "lastName", &contact.last_name)?;
    let company = pick(details.map(|d| &d.company), "company", &contact.company)?;
    let phone = pick(details.map(|d| &d.phone), "phone", &contact.phone)?;

    let address_path = path.key("address");
    let mut address = Address {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        company,
        phone,
        ..Address::default()
    };
    let Some(a) = contact.address.get(&address_path)? else {
        return Ok(address);
    };
    let country_path = address_path.key("country");
    let country = country_code(a.country.text(&country_path)?, &country_path)?;
    address.address1 = match a.address_line1.text(&address_path.key("addressLine1"))? {
        Some(line) => line,
        None => match a.address_line.text(&address_path.key("addressLine"))? {
            Some(line) => line,
            None => {
                let street_path = address_path.key("streetAddress");
                match a.street_address.get(&street_path)? {
                    Some(street) => full_name(
                        street.number.text(&street_path.key("number"))?.as_deref(),
                        street.name.text(&street_path.key("name"))?.as_deref(),
                    )
                    .unwrap_or_default(),
                    None => String::new(),
                }
            }
        },
    };
    address.address2 = a.address_line2.text(&address_path.key("addressLine2"))?;
    address.city = a.city.text_or_empty(&address_path.key("city"))?;
    address.postal_code = a.postal_code.text_or_empty(&address_path.key("postalCode"))?;
    address.region = a
        .subdivision
        .text(&address_path.key("subdivision"))?
        .map(|subdivision| region_of(subdivision.trim(), &country));
    address.country_code = country;
    Ok(address)
}

/// The ISO alpha-2 code of a Wix country: alpha-2 as it is, alpha-3 converted.
fn country_code(country: Option<String>, path: &Path<'_>) -> Result<String, WebhookError> {
    let Some(country) = country else {
        return Ok(String::new());
    };
    let country = country.trim();
    match country.len() {
        2 if country.bytes().all(|b| b.is_ascii_alphabetic()) => Ok(country.to_ascii_uppercase()),
        3 => countries::alpha2_of(country)
            .map(str::to_string)
            .ok_or_else(|| path.bad(format!("'{country}' is not an ISO 3166-1 country code"))),
        _ => Err(path.bad(format!("'{country}' is not an ISO 3166-1 country code"))),
    }
}

/// The region of an ISO 3166-2 subdivision (`US-NY` is `NY`); other text is kept.
fn region_of(subdivision: &str, country: &str) -> String {
    match subdivision.split_once('-') {
        Some((prefix, region)) if prefix.eq_ignore_ascii_case(country) && !region.is_empty() => region.to_string(),
        _ => subdivision.to_string(),
    }
}

fn line(item: &Line, currency: Currency, path: &Path<'_>) -> Result<IncomingLine, WebhookError> {
    let external_id = match item.id.id(&path.key("id"))? {
        Some(id) => Some(id),
        None => match item.underscore_id.id(&path.key("_id"))? {
            Some(id) => Some(id),
            None => item.index.id(&path.key("index"))?,
        },
    };

    let title = match item.product_name.get(&path.key("productName"))? {
        Some(name) => translated(name, &path.key("productName"))?,
        None => None,
    };
    let title = match title {
        Some(title) => title,
        None => item.name.text_or_empty(&path.key("name"))?,
    };

    let reference_path = path.key("catalogReference");
    let reference = item.catalog_reference.get(&reference_path)?;
    let mut product_id = match reference {
        Some(r) => r.catalog_item_id.id(&reference_path.key("catalogItemId"))?,
        None => None,
    };
    if product_id.is_none() {
        product_id = item.product_id.id(&path.key("productId"))?;
    }
    // `options` differ per catalogue; only Wix Stores' variant id is read, when it is there.
    let mut variant_id = reference
        .and_then(|r| r.options.present())
        .map(|o| o.variant_id.id(&reference_path.key("options").key("variantId")))
        .transpose()?
        .flatten();
    if variant_id.is_none() {
        variant_id = item.variant_id.id(&path.key("variantId"))?;
    }
    // The all-zero variant id is the one variant of a product without options, the same for
    // every such product: the product's id names it (as the catalogue pull does).
    if variant_id.as_deref().is_some_and(crate::storefronts::wix::is_nil_id) {
        variant_id = product_id.clone();
    }

    let physical_path = path.key("physicalProperties");
    let physical = item.physical_properties.get(&physical_path)?;
    let mut sku = match physical {
        Some(p) => p.sku.text(&physical_path.key("sku"))?,
        None => None,
    };
    if sku.is_none() {
        sku = item.sku.text(&path.key("sku"))?;
    }

    let requires_shipping = match physical {
        Some(p) => p.shippable.flag(&physical_path.key("shippable"))?,
        None => None,
    };
    let requires_shipping = match requires_shipping {
        Some(shippable) => shippable,
        None => {
            let item_type_path = path.key("itemType");
            let preset = match item.item_type.get(&item_type_path)? {
                Some(t) => t.preset.text(&item_type_path.key("preset"))?,
                None => None,
            };
            match preset {
                Some(preset) => !matches!(preset.trim(), "DIGITAL" | "GIFT_CARD" | "SERVICE"),
                None => !matches!(
                    item.line_item_type
                        .text(&path.key("lineItemType"))?
                        .as_deref()
                        .map(str::trim),
                    Some("DIGITAL" | "CUSTOM_AMOUNT_ITEM")
                ),
            }
        }
    };

    let price_path = path.key("price");
    let unit_price = match &item.price {
        Obj::Present(price) => price.amount.price(currency, &price_path.key("amount"))?,
        Obj::Absent => return Err(price_path.bad("missing")),
        Obj::Other(number) => number.price(currency, &price_path)?,
    };

    Ok(IncomingLine {
        external_id,
        sku: sku.unwrap_or_default(),
        title,
        variant_title: variant_title(item, path)?,
        quantity: item.quantity.quantity(&path.key("quantity"))?,
        unit_price,
        requires_shipping,
        platform_product_id: product_id,
        platform_variant_id: variant_id,
        fulfillable_quantity: None,
    })
}

fn translated(value: &Translated, path: &Path<'_>) -> Result<Option<String>, WebhookError> {
    match value.original.text(&path.key("original"))? {
        Some(text) => Ok(Some(text)),
        None => value.translated.text(&path.key("translated")),
    }
}

fn variant_title(item: &Line, path: &Path<'_>) -> Result<Option<String>, WebhookError> {
    let mut parts = Vec::new();
    let lines_path = path.key("descriptionLines");
    for (i, line) in item.description_lines.items(&lines_path)?.iter().enumerate() {
        let line_path = lines_path.index(i);
        let Some(line) = line.get(&line_path)? else {
            continue;
        };
        for (value, key) in [(&line.plain_text, "plainText"), (&line.color_info, "colorInfo")] {
            let value_path = line_path.key(key);
            if let Some(value) = value.get(&value_path)?
                && let Some(text) = translated(value, &value_path)?
            {
                parts.push(text);
                break;
            }
        }
    }
    if parts.is_empty() {
        let options_path = path.key("options");
        for (i, option) in item.options.items(&options_path)?.iter().enumerate() {
            let option_path = options_path.index(i);
            if let Some(option) = option.get(&option_path)?
                && let Some(selection) = option.selection.text(&option_path.key("selection"))?
            {
                parts.push(selection);
            }
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join(" / ")))
}

/// Shipping and the charged total, from the eCommerce `priceSummary` or the Stores `totals`.
fn totals(
    order: &Order,
    shipping_info: Option<&ShippingInfo>,
    currency: Currency,
    root: &Path<'_>,
) -> Result<(Money, Option<Money>), WebhookError> {
    let amount = |price: &Obj<Price>, path: &Path<'_>| -> Result<Option<Money>, WebhookError> {
        match price.get(path)? {
            Some(price) => price.amount.money(currency, &path.key("amount")),
            None => Ok(None),
        }
    };
    let summary_path = root.key("priceSummary");
    let (mut shipping, mut total) = match order.price_summary.get(&summary_path)? {
        Some(summary) => (
            amount(&summary.shipping, &summary_path.key("shipping"))?,
            amount(&summary.total, &summary_path.key("total"))?,
        ),
        None => (None, None),
    };
    if shipping.is_none()
        && let Some(info) = shipping_info
    {
        let shipping_path = root.key("shippingInfo");
        let cost_path = shipping_path.key("cost");
        if let Some(cost) = info.cost.get(&cost_path)? {
            shipping = amount(&cost.price, &cost_path.key("price"))?;
        }
    }
    let totals_path = root.key("totals");
    if let Some(totals) = order.totals.get(&totals_path)? {
        if shipping.is_none() {
            shipping = totals.shipping.money(currency, &totals_path.key("shipping"))?;
        }
        if total.is_none() {
            total = totals.total.money(currency, &totals_path.key("total"))?;
        }
    }
    let shipping = shipping.unwrap_or_else(|| Money::zero(currency));
    if shipping.minor < 0 {
        return Err(summary_path
            .key("shipping")
            .bad(format!("must not be negative, got {shipping}")));
    }
    Ok((shipping, total))
}

/// The order's discounts and taxes: the eCommerce `priceSummary`'s, else the Stores
/// `totals`'; neither may be negative.
fn discount_and_tax(
    order: &Order,
    currency: Currency,
    root: &Path<'_>,
) -> Result<(Option<Money>, Option<Money>), WebhookError> {
    let summary_path = root.key("priceSummary");
    let totals_path = root.key("totals");
    let summary = order.price_summary.get(&summary_path)?;
    let totals = order.totals.get(&totals_path)?;
    let pick = |key: &str,
                in_summary: fn(&PriceSummary) -> &Obj<Price>,
                in_totals: fn(&Totals) -> &Scalar|
     -> Result<Option<Money>, WebhookError> {
        if let Some(summary) = summary {
            let path = summary_path.key(key);
            if let Some(price) = in_summary(summary).get(&path)? {
                let found = price.amount.optional_price(currency, &path.key("amount"))?;
                if found.is_some() {
                    return Ok(found);
                }
            }
        }
        match totals {
            Some(totals) => in_totals(totals).optional_price(currency, &totals_path.key(key)),
            None => Ok(None),
        }
    };
    Ok((
        pick("discount", |s| &s.discount, |t| &t.discount)?,
        pick("tax", |s| &s.tax, |t| &t.tax)?,
    ))
}

fn payment(status: Option<&str>) -> PaymentState {
    match status.map(str::trim) {
        Some("PAID") => PaymentState::Paid,
        Some("AUTHORIZED") => PaymentState::Authorized,
        Some("PARTIALLY_REFUNDED") => PaymentState::PartiallyRefunded,
        Some("FULLY_REFUNDED") => PaymentState::Refunded,
        Some("VOIDED" | "CANCELED") => PaymentState::Voided,
        _ => PaymentState::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_payment_statuses() {
        assert_eq!(payment(Some("PAID")), PaymentState::Paid);
        assert_eq!(payment(Some("AUTHORIZED")), PaymentState::Authorized);
        assert_eq!(payment(Some("PARTIALLY_REFUNDED")), PaymentState::PartiallyRefunded);
        assert_eq!(payment(Some("FULLY_REFUNDED")), PaymentState::Refunded);
        assert_eq!(payment(Some("VOIDED")), PaymentState::Voided);
        assert_eq!(payment(Some("CANCELED")), PaymentState::Voided);
        for pending in [
            "NOT_PAID",
            "PENDING",
            "PENDING_MERCHANT",
            "PARTIALLY_PAID",
            "DECLINED",
            "NEW_ONE",
        ] {
            assert_eq!(payment(Some(pending)), PaymentState::Pending, "{pending}");
        }
        assert_eq!(payment(None), PaymentState::Pending);
    }

    #[test]
    fn reads_subdivisions_and_countries() {
        assert_eq!(region_of("US-NY", "US"), "NY");
        assert_eq!(region_of("NY", "US"), "NY");
        assert_eq!(region_of("GB-ENG", "GB"), "ENG");
        assert_eq!(region_of("XX-1", "US"), "XX-1");
        let path = Path::root("");
        assert_eq!(country_code(Some("USA".into()), &path), Ok("US".into()));
        assert_eq!(country_code(Some("us".into()), &path), Ok("US".into()));
        assert_eq!(country_code(None, &path), Ok(String::new()));
        assert!(country_code(Some("XYZ".into()), &path).is_err());
        assert!(country_code(Some("United States".into()), &path).is_err());
    }

    #[test]
    fn recognises_jwt_text() {
        assert_eq!(jwt_text(b" a.b.c\n"), Some("a.b.c"));
        for body in [
            &b"a.b"[..],
            b"a.b.c.d",
            b"a..c",
            b"{\"x\":1}",
            b"a.b.c d",
            b"\xff.a.b",
            b"",
        ] {
            assert_eq!(jwt_text(body), None, "{body:?}");
        }
    }

    #[test]
    fn wraps_a_bare_public_key() {
        let pem_text = pem("MIIBIjAN\\nBgkq");
        assert!(pem_text.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let given = "-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END PUBLIC KEY-----";
        assert_eq!(pem(given), "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----");
    }
}
