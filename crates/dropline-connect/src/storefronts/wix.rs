//! Wix: site properties, the Stores catalogue (queried by offset), the eCommerce
//! fulfillments of an order, refunds through the eCommerce order billing API, and listings
//! (Stores inventory, variant prices with the product's discount, visibility).

use super::HttpStorefronts;
use super::http::{self, Api, DecimalText, IdText};
use super::listing::{self, Batch};
use dropline_app::storefront::{
    FulfillmentPush, ListingPush, ListingReceipt, ProductPage, RefundPush, RefundReceipt, RemoteProduct, RemoteVariant,
    ShopInfo, StatusPush, StorefrontError, StorefrontTarget,
};
use dropline_domain::money::{Currency, Money};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderName};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use std::fmt;

const PLATFORM: &str = "Wix";
const HOST: &str = "www.wixapis.com";
const PAGE_SIZE: u64 = 50;

pub(super) fn api<'a>(client: &'a HttpStorefronts, target: &StorefrontTarget) -> Result<Api<'a>, StorefrontError> {
    let connection = &target.connection;
    let base = http::base_url(connection, PLATFORM, Some(HOST))?;
    let api_key = http::required(&connection.access_token, PLATFORM, "access_token", "the Wix API key")?;
    let site_id = http::required(&connection.api_key, PLATFORM, "api_key", "the Wix site id")?;
    Ok(Api {
        http: &client.http,
        timeout: client.timeout,
        platform: PLATFORM,
        base,
        headers: vec![
            (AUTHORIZATION, http::secret_header(api_key, "access_token")?),
            (
                HeaderName::from_static("wix-site-id"),
                http::secret_header(site_id, "api_key")?,
            ),
        ],
        secrets: vec![api_key.to_string()],
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertiesEnvelope {
    properties: Properties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties {
    #[serde(default)]
    site_display_name: Option<String>,
    #[serde(default)]
    payment_currency: Option<String>,
}

pub(super) async fn check(api: &Api<'_>) -> Result<ShopInfo, StorefrontError> {
    let properties = api
        .get("/site-properties/v4/properties", &[])
        .await?
        .json::<PropertiesEnvelope>()?
        .properties;
    Ok(ShopInfo {
        name: properties
            .site_display_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Wix site".to_string()),
        currency: properties.payment_currency.filter(|c| !c.is_empty()),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductsAnswer {
    #[serde(default)]
    products: Vec<Product>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    total_results: Option<u64>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    items: Option<u64>,
    #[serde(default)]
    offset: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Product {
    id: IdText,
    #[serde(default)]
    name: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price_data: Option<PriceData>,
    /// The option names in the seller's order (the variant title follows it).
    #[serde(default)]
    product_options: Vec<ProductOption>,
    #[serde(default)]
    variants: Vec<Variant>,
}

#[derive(Deserialize)]
struct ProductOption {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceData {
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    price: Option<DecimalText>,
    /// What the customer pays once the product's discount is taken off `price`.
    #[serde(default)]
    discounted_price: Option<DecimalText>,
}

#[derive(Deserialize)]
struct Variant {
    id: IdText,
    #[serde(default)]
    choices: Choices,
    #[serde(default)]
    variant: Option<VariantData>,
}

/// A variant's `choices` object (option name → value) in the order it was written.
#[derive(Default)]
struct Choices(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Choices {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoicesVisitor;
        impl<'de> Visitor<'de> for ChoicesVisitor {
            type Value = Choices;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of option names and values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Choices, A::Error> {
                let mut choices = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    choices.push(entry);
                }
                Ok(Choices(choices))
            }
        }
        deserializer.deserialize_map(ChoicesVisitor)
    }
}

impl Choices {
    /// The values joined by " / ", in the order of the product's options (any choice the
    /// options do not name comes after, as written).
    fn title(&self, options: &[ProductOption]) -> String {
        let mut values: Vec<&str> = options
            .iter()
            .filter_map(|option| self.0.iter().find(|(name, _)| *name == option.name))
            .map(|(_, value)| value.as_str())
            .collect();
        values.extend(
            self.0
                .iter()
                .filter(|(name, _)| !options.iter().any(|option| option.name == *name))
                .map(|(_, value)| value.as_str()),
        );
        values.join(" / ")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantData {
    #[serde(default)]
    price_data: Option<PriceData>,
    #[serde(default)]
    sku: Option<String>,
}

/// A Wix selling price (`discountedPrice`, else `price`: a JSON number, read from its text),
/// refused when it is in another currency than the store's.
fn wix_price(data: Option<&PriceData>, currency: Currency, what: &str) -> Result<Money, StorefrontError> {
    let data = data.ok_or_else(|| StorefrontError::BadResponse(format!("{what}: no priceData")))?;
    if let Some(code) = data.currency.as_deref().filter(|c| !c.is_empty())
        && !code.eq_ignore_ascii_case(currency.code())
    {
        return Err(StorefrontError::BadResponse(format!(
            "{what}: price in {code}, the store's currency is {}",
            currency.code()
        )));
    }
    // The selling price: with a discount, `price` is the struck-through one.
    let price = data
        .discounted_price
        .as_ref()
        .or(data.price.as_ref())
        .ok_or_else(|| StorefrontError::BadResponse(format!("{what}: no priceData.price")))?;
    http::price(&price.0, currency, what)
}

pub(super) async fn products_page(
    api: &Api<'_>,
    currency: Currency,
    cursor: Option<&str>,
) -> Result<ProductPage, StorefrontError> {
    let offset: u64 = match cursor {
        None => 0,
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| StorefrontError::BadResponse(format!("Wix catalogue cursor {text:?} is not an offset")))?,
    };
    let body = json!({"query": {"paging": {"limit": PAGE_SIZE, "offset": offset}}, "includeVariants": true});
    let answer = api
        .post("/stores/v1/products/query", &body)
        .await?
        .json::<ProductsAnswer>()?;
    let listed = answer.products.len() as u64;
    let (page_offset, items) = match &answer.metadata {
        Some(meta) => (meta.offset.unwrap_or(offset), meta.items.unwrap_or(listed)),
        None => (offset, listed),
    };
    let end = page_offset + items;
    let has_more = match answer.total_results {
        Some(total) => items > 0 && end < total,
        None => listed >= PAGE_SIZE,
    };
    let mut products = Vec::with_capacity(answer.products.len());
    for product in answer.products {
        let product_what = format!("Wix product {}", product.id);
        let variants = if product.variants.is_empty() {
            vec![RemoteVariant {
                platform_variant_id: product.id.0.clone(),
                sku: product.sku.clone().unwrap_or_default(),
                title: product.name.clone(),
                price: wix_price(product.price_data.as_ref(), currency, &product_what)?,
            }]
        } else {
            product
                .variants
                .iter()
                .map(|variant| {
                    let what = format!("{product_what} variant {}", variant.id);
                    let data = variant.variant.as_ref();
                    let price_data = data.and_then(|d| d.price_data.as_ref()).or(product.price_data.as_ref());
                    let title = if variant.choices.0.is_empty() {
                        product.name.clone()
                    } else {
                        variant.choices.title(&product.product_options)
                    };
                    Ok(RemoteVariant {
                        // Wix gives every product without options the same all-zero variant
                        // id: the product's id names that one variant.
                        platform_variant_id: if is_nil_id(&variant.id.0) {
                            product.id.0.clone()
                        } else {
                            variant.id.0.clone()
                        },
                        sku: data.and_then(|d| d.sku.clone()).unwrap_or_default(),
                        title,
                        price: wix_price(price_data, currency, &what)?,
                    })
                })
                .collect::<Result<Vec<_>, StorefrontError>>()?
        };
        products.push(RemoteProduct {
            platform_product_id: product.id.0,
            title: product.name,
            variants,
        });
    }
    Ok(ProductPage {
        products,
        next: has_more.then(|| end.to_string()),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfillmentsEnvelope {
    order_with_fulfillments: OrderWithFulfillments,
}

#[derive(Deserialize)]
struct OrderWithFulfillments {
    #[serde(default)]
    fulfillments: Vec<Fulfillment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fulfillment {
    #[serde(default)]
    line_items: Vec<FulfilledLine>,
    #[serde(default)]
    tracking_info: Option<TrackingInfo>,
}

#[derive(Deserialize)]
struct FulfilledLine {
    id: String,
    #[serde(default)]
    quantity: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingInfo {
    #[serde(default)]
    tracking_number: Option<String>,
}

/// Creates the Wix fulfillment of the pushed lines with tracking, unless one with this
/// tracking number exists. A reship (`replaces_tracking_number`) cannot move the tracking of
/// the failed parcel's fulfillment (Wix fulfillment tracking update not supported yet): only
/// quantities still unfulfilled are fulfilled, and with none left it does nothing.
pub(super) async fn push_fulfillment(api: &Api<'_>, push: &FulfillmentPush) -> Result<(), StorefrontError> {
    let order = http::segment(&push.order_external_id)?;
    let mut line_items: Vec<(String, u64)> = Vec::new();
    for line in &push.lines {
        let Some(id) = line.external_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) else {
            return Err(StorefrontError::Refused(format!(
                "line with SKU {:?} has no Wix line item id: it cannot be fulfilled on Wix",
                line.sku
            )));
        };
        match line_items.iter_mut().find(|(known, _)| known == id) {
            Some((_, quantity)) => *quantity += u64::from(line.quantity),
            None => line_items.push((id.to_string(), u64::from(line.quantity))),
        }
    }
    let path = format!("/ecom/v1/fulfillments/orders/{order}");
    let wanted = push.tracking_number.trim();
    let existing = api
        .get(&path, &[])
        .await?
        .json::<FulfillmentsEnvelope>()?
        .order_with_fulfillments
        .fulfillments;
    let known = existing
        .iter()
        .filter_map(|f| f.tracking_info.as_ref()?.tracking_number.as_deref())
        .any(|number| number.trim().eq_ignore_ascii_case(wanted));
    if known {
        return Ok(());
    }
    if let Some(replaced) = &push.replaces_tracking_number {
        // A reship. Wix fulfillment tracking update not supported yet: the failed parcel's
        // fulfillment keeps its number. Only what that fulfillment did not cover is
        // fulfilled now; when nothing remains, nothing is written.
        for (id, quantity) in &mut line_items {
            let done: u64 = existing
                .iter()
                .flat_map(|f| &f.line_items)
                .filter(|line| line.id.trim() == id.as_str())
                .map(|line| line.quantity)
                .sum();
            *quantity = quantity.saturating_sub(done);
        }
        line_items.retain(|(_, quantity)| *quantity > 0);
        if line_items.is_empty() {
            tracing::info!(
                platform = PLATFORM,
                order = %push.order_external_id,
                replaced = %replaced,
                tracking_number = %push.tracking_number,
                "reship not written: Wix fulfillment tracking update not supported yet"
            );
            return Ok(());
        }
    }
    let mut tracking_info = json!({
        "trackingNumber": push.tracking_number,
        "shippingProvider": push.carrier,
    });
    if let Some(url) = &push.tracking_url {
        tracking_info["trackingLink"] = json!(url);
    }
    let body = json!({
        "fulfillment": {
            "lineItems": line_items
                .iter()
                .map(|(id, quantity)| json!({"id": id, "quantity": quantity}))
                .collect::<Vec<_>>(),
            "trackingInfo": tracking_info,
        }
    });
    api.post(&format!("{path}/create-fulfillment"), &body).await?;
    Ok(())
}

pub(super) async fn push_status(api: &Api<'_>, order_id: &str, status: &StatusPush) -> Result<(), StorefrontError> {
    let order = http::segment(order_id)?;
    match status {
        // Wix orders have no delivered status and its fulfillments no delivery event: there
        // is nothing to write.
        StatusPush::Delivered { .. } => Ok(()),
        StatusPush::Cancelled { .. } => {
            let body = json!({"sendOrderCanceledEmail": false});
            match api.post(&format!("/ecom/v1/orders/{order}/cancel"), &body).await {
                Ok(_) => Ok(()),
                Err(error) if http::says_already_cancelled(&error) => Ok(()),
                Err(error) => Err(error),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------------
//
// Wix eCommerce has a refund call open to apps with the Manage Orders permission: Refund
// Payments of the Order Billing API (`POST /ecom/v1/order-billing/refund-payments`, body
// `orderId`, `paymentRefunds` [{`paymentId`, `amount`, `externalRefund`}], `refundItems`,
// `sideEffects`, `customerReason` of at most 200 characters; answer `refund` and the order's
// `orderTransactions`). A payment made through a provider is refunded by Wix calling it
// (`externalRefund: false`), as on the other platforms; an offline payment has no provider to
// call, so it is only marked refunded (`externalRefund: true`) and the seller returns the cash.
// The payment ids come from List Transactions For Single Order
// (`GET /ecom/v1/payments/orders/{id}`), whose `refunds` are also where a retried push finds
// the refund it made: Wix keeps no idempotency key, so the reason carries the refund's mark.
// Stock is not restocked (the goods were never the seller's) and Wix sends no email of its
// own unless the store lets the storefront tell the customer. What was read of the docs: the
// endpoint, the top-level fields above, `paymentRefunds.externalRefund`, and the shapes of
// List Transactions (payments with `regularPaymentDetails`, refunds with `transactions` of
// `paymentId` and `amount`). The nested names sent here were not confirmed against the full
// schema: `amount` as `{amount}`, `refundItems.lineItems` [{`lineItemId`, `quantity`}],
// `sideEffects.restockInfo.type` and `sideEffects.sendOrderRefundedEmail`.

/// Longest `customerReason` Wix takes.
const MAX_REASON_CHARS: usize = 200;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionsEnvelope {
    order_transactions: OrderTransactions,
}

#[derive(Default, Deserialize)]
struct OrderTransactions {
    #[serde(default)]
    payments: Vec<WixPayment>,
    #[serde(default)]
    refunds: Vec<WixRefund>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WixPayment {
    id: String,
    #[serde(default)]
    regular_payment_details: Option<RegularPaymentDetails>,
    #[serde(default)]
    amount: Option<WixAmount>,
    #[serde(default)]
    refund_disabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegularPaymentDetails {
    #[serde(default)]
    offline_payment: bool,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct WixAmount {
    amount: DecimalText,
}

#[derive(Deserialize)]
struct WixRefund {
    id: String,
    #[serde(default)]
    transactions: Vec<RefundTransaction>,
    #[serde(default)]
    details: Option<RefundDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundTransaction {
    payment_id: String,
    #[serde(default)]
    amount: Option<WixAmount>,
    #[serde(default)]
    refund_status: Option<String>,
}

#[derive(Deserialize)]
struct RefundDetails {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct RefundAnswer {
    refund: CreatedRefund,
}

#[derive(Deserialize)]
struct CreatedRefund {
    id: String,
}

/// A payment a refund can be taken from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Refundable {
    payment_id: String,
    /// Paid offline: Wix has no provider to call, the refund is marked only.
    offline: bool,
}

/// The order's payments made through a provider or offline (not gift cards), refunds allowed,
/// with what is left of each after its refunds that did not fail.
fn refundable_payments(
    transactions: &OrderTransactions,
    currency: Currency,
    order: &str,
) -> Result<Vec<(Refundable, Money)>, StorefrontError> {
    let mut payments = Vec::new();
    for payment in &transactions.payments {
        let Some(details) = &payment.regular_payment_details else {
            continue;
        };
        let usable = details
            .status
            .as_deref()
            .is_none_or(|status| matches!(status, "APPROVED" | "PARTIALLY_REFUNDED"));
        if payment.refund_disabled || !usable {
            continue;
        }
        let what = format!("Wix order {order} payment {}", payment.id);
        let paid = payment
            .amount
            .as_ref()
            .ok_or_else(|| StorefrontError::BadResponse(format!("{what}: no amount")))?;
        let mut left = http::price(&paid.amount.0, currency, &what)?;
        for transaction in transactions
            .refunds
            .iter()
            .flat_map(|refund| &refund.transactions)
            .filter(|t| t.payment_id == payment.id && t.refund_status.as_deref() != Some("FAILED"))
        {
            if let Some(amount) = &transaction.amount {
                let refunded = http::price(&amount.amount.0, currency, &what)?;
                left = Money::new((left.minor - refunded.minor).max(0), currency);
            }
        }
        payments.push((
            Refundable {
                payment_id: payment.id.clone(),
                offline: details.offline_payment,
            },
            left,
        ));
    }
    Ok(payments)
}

/// The body of Refund Payments: one payment refund per share, the lines refunded (merged by
/// line item id; lines without one are refunded by amount only).
fn refund_body(push: &RefundPush, shares: &[(Refundable, Money)]) -> serde_json::Value {
    let lines = push.platform_lines();
    let mut body = json!({
        "orderId": push.order_external_id.trim(),
        "paymentRefunds": shares
            .iter()
            .map(|(payment, amount)| json!({
                "paymentId": payment.payment_id,
                "amount": { "amount": amount.amount_string() },
                "externalRefund": payment.offline,
            }))
            .collect::<Vec<_>>(),
        "sideEffects": {
            "restockInfo": { "type": "NO_ITEMS" },
            "sendOrderRefundedEmail": push.notify_customer,
        },
        "customerReason": http::marked_reason(&push.reason, &push.idempotency_key, MAX_REASON_CHARS),
    });
    if !lines.is_empty() {
        body["refundItems"] = json!({
            "lineItems": lines
                .iter()
                .map(|(id, quantity)| json!({ "lineItemId": id, "quantity": quantity }))
                .collect::<Vec<_>>(),
        });
    }
    body
}

pub(super) async fn push_refund(api: &Api<'_>, push: &RefundPush) -> Result<RefundReceipt, StorefrontError> {
    let order = http::segment(&push.order_external_id)?;
    let transactions = api
        .get(&format!("/ecom/v1/payments/orders/{order}"), &[])
        .await?
        .json::<TransactionsEnvelope>()?
        .order_transactions;
    let mark = http::refund_mark(&push.idempotency_key);
    let found = transactions.refunds.iter().find(|refund| {
        refund
            .details
            .as_ref()
            .and_then(|details| details.reason.as_deref())
            .is_some_and(|reason| reason.contains(&mark))
    });
    if let Some(found) = found {
        return Ok(RefundReceipt {
            platform_refund_id: found.id.clone(),
            found_existing: true,
        });
    }
    let payments = refundable_payments(&transactions, push.amount.currency, &push.order_external_id)?;
    let Some(shares) = http::split_over(&payments, push.amount) else {
        let left = payments
            .iter()
            .fold(0_i64, |sum, (_, left)| sum.saturating_add(left.minor));
        return Err(StorefrontError::Refused(format!(
            "Wix order {} has {} left to refund on its payments, less than the refund of {}",
            push.order_external_id,
            Money::new(left, push.amount.currency),
            push.amount
        )));
    };
    let created = api
        .post("/ecom/v1/order-billing/refund-payments", &refund_body(push, &shares))
        .await?
        .json::<RefundAnswer>()?
        .refund;
    Ok(RefundReceipt {
        platform_refund_id: created.id,
        found_existing: false,
    })
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------
//
// Stock: Update Inventory Variants (`PATCH /stores/v2/inventoryItems/product/{id}`) with
// `inventoryItem {productId, trackQuantity: true, variants: [{variantId, quantity}]}`; the one
// variant of a product without options has the all-zero id there. Tracking quantities is
// product-wide on Wix: once on, a variant given no quantity counts what it had (0 at first).
//
// Prices: Wix Stores (catalog v1) has no compare-at price per variant. A product has one
// `discount` (`{type: NONE | AMOUNT | PERCENT, value}`) taken off every variant's price: the
// variant's `price` is then shown struck through and the discounted one is what the customer
// pays. So a push's prices are written as:
// - every priced variant with a compare-at price the same amount above its price: the
//   variants' prices are the compare-at prices, the product's discount that amount;
// - otherwise the variants' prices are the prices and the discount `NONE`; a variant whose
//   compare-at price could not be shown that way is refused, its price written (the reason
//   says so).
// Variant prices go through Update Product Variants (`PATCH /stores/v1/products/{id}/variants`,
// `variants: [{variantIds, price}]`, one entry per price), a product without options' price
// through Update Product's `priceData.price`. The discount, and the visibility (`visible`), go
// in one Update Product (`PATCH /stores/v1/products/{id}`). Hiding goes first, everything else
// before showing. The discount applies to the product's variants that a push does not name
// too: a push with prices is expected to carry every variant of the product.
//
// Stores amounts are JSON numbers: they are written from the decimal text (see [`Body`]),
// never through a float. When a call for several variants is refused whole (one unknown
// variant), each is sent alone so that only the unknown one is refused.

/// The variant id Wix gives the one variant of a product without options.
const NIL_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A JSON body written by hand around amounts: Wix Stores takes prices as JSON numbers, and a
/// number inside a `serde_json::Value` would be carried by an `f64`. An amount is written with
/// the digits of its decimal text; text and the rest go through serde_json.
#[derive(Clone, Debug)]
enum Body {
    Amount(Money),
    Value(serde_json::Value),
    Object(Vec<(&'static str, Body)>),
    Array(Vec<Body>),
}

impl Body {
    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            // `12.99`, `1200`: a JSON number's grammar (non-negative amounts only are sent).
            Body::Amount(money) => out.push_str(&money.amount_string()),
            Body::Value(value) => out.push_str(&value.to_string()),
            Body::Object(fields) => {
                out.push('{');
                for (index, (name, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::from(*name).to_string());
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
            Body::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
        }
    }
}

/// How a push's prices are written on one product.
#[derive(Debug, PartialEq, Eq)]
struct PricePlan<'a> {
    /// The product's discount: an amount off every variant's price, `None` for `NONE`.
    discount: Option<Money>,
    /// Each priced variant's Wix price (before the discount).
    bases: Vec<(&'a str, Money)>,
    /// Variants whose compare-at price cannot be shown beside the others'.
    unshown: Vec<&'a str>,
}

/// The plan for the priced variants of one product: `(id, price, compare-at)` each, checked.
fn price_plan<'a>(priced: &[(&'a str, Money, Option<Money>)]) -> PricePlan<'a> {
    let off = |price: &Money, was: &Option<Money>| was.map(|was| was.minor - price.minor);
    let first = priced.first().and_then(|(_, price, was)| off(price, was));
    let one_discount = first.is_some() && priced.iter().all(|(_, price, was)| off(price, was) == first);
    if one_discount {
        return PricePlan {
            discount: priced
                .first()
                .and_then(|(_, price, was)| was.map(|was| Money::new(was.minor - price.minor, price.currency))),
            bases: priced
                .iter()
                .map(|(id, price, was)| (*id, was.unwrap_or(*price)))
                .collect(),
            unshown: Vec::new(),
        };
    }
    PricePlan {
        discount: None,
        bases: priced.iter().map(|(id, price, _)| (*id, *price)).collect(),
        unshown: priced
            .iter()
            .filter(|(_, _, was)| was.is_some())
            .map(|(id, _, _)| *id)
            .collect(),
    }
}

fn inventory_body(product: &str, quantities: &[(&str, String, u32)]) -> String {
    json!({
        "inventoryItem": {
            "productId": product,
            "trackQuantity": true,
            "variants": quantities
                .iter()
                .map(|(_, variant, quantity)| json!({ "variantId": variant, "quantity": quantity }))
                .collect::<Vec<_>>(),
        }
    })
    .to_string()
}

/// Update Product Variants' body: one entry per price, naming every variant at that price.
fn variants_body(bases: &[(&str, Money)]) -> String {
    let mut entries: Vec<(Money, Vec<&str>)> = Vec::new();
    for (id, base) in bases {
        match entries.iter_mut().find(|(price, _)| price == base) {
            Some((_, ids)) => ids.push(id),
            None => entries.push((*base, vec![id])),
        }
    }
    Body::Object(vec![(
        "variants",
        Body::Array(
            entries
                .into_iter()
                .map(|(price, ids)| {
                    Body::Object(vec![
                        ("variantIds", Body::Value(json!(ids))),
                        ("price", Body::Amount(price)),
                    ])
                })
                .collect(),
        ),
    )])
    .text()
}

/// Update Product's body: visibility, a product without options' price, the discount.
fn product_body(product: &str, visible: Option<bool>, own_price: Option<Money>, plan: Option<&PricePlan>) -> String {
    let mut fields = vec![("id", Body::Value(json!(product)))];
    if let Some(visible) = visible {
        fields.push(("visible", Body::Value(json!(visible))));
    }
    if let Some(price) = own_price {
        fields.push(("priceData", Body::Object(vec![("price", Body::Amount(price))])));
    }
    if let Some(plan) = plan {
        let discount = match plan.discount {
            Some(off) => Body::Object(vec![
                ("type", Body::Value(json!("AMOUNT"))),
                ("value", Body::Amount(off)),
            ]),
            None => Body::Object(vec![("type", Body::Value(json!("NONE")))]),
        };
        fields.push(("discount", discount));
    }
    Body::Object(vec![("product", Body::Object(fields))]).text()
}

/// Update Product Variants' answer: only its shape is checked.
#[derive(Deserialize)]
struct UpdatedVariants {
    #[serde(rename = "variants")]
    _variants: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct UpdatedProduct {
    product: WrittenProduct,
}

#[derive(Deserialize)]
struct WrittenProduct {
    id: IdText,
    #[serde(default)]
    visible: Option<bool>,
}

pub(super) async fn push_listings(
    api: &Api<'_>,
    currency: Currency,
    pushes: &[ListingPush],
) -> Result<ListingReceipt, StorefrontError> {
    let mut batch = Batch::new(api);
    for push in pushes {
        push_product(&mut batch, currency, push).await?;
    }
    Ok(batch.receipt())
}

async fn push_product(batch: &mut Batch<'_>, currency: Currency, push: &ListingPush) -> Result<(), StorefrontError> {
    let Some(product) = listing::id_of(&push.platform_product_id) else {
        batch.refuse(&push.platform_product_id, "the product has no Wix id");
        return Ok(());
    };
    let segment = http::segment(product)?;
    // (dropline's id, Wix's variant id, units)
    let mut stock: Vec<(&str, String, u32)> = Vec::new();
    let mut priced: Vec<(&str, Money, Option<Money>)> = Vec::new();
    for variant in &push.variants {
        let Some(id) = listing::id_of(&variant.platform_variant_id) else {
            batch.refuse(
                &variant.platform_variant_id,
                format!("the variant with SKU {:?} has no Wix id", variant.sku),
            );
            continue;
        };
        // The one variant of a product without options goes by the product's id in dropline.
        let own = id == product || is_nil_id(id);
        if let Some(units) = variant.stock {
            stock.push((id, if own { NIL_ID.to_string() } else { id.to_string() }, units));
        }
        if let Some(price) = &variant.price {
            match listing::checked_price(price, currency) {
                Ok((price, compare_at)) => priced.push((id, price, compare_at)),
                Err(reason) => batch.refuse(id, reason),
            }
        }
    }
    let plan = (!priced.is_empty()).then(|| price_plan(&priced));
    let own_price = plan.as_ref().and_then(|plan| {
        plan.bases
            .iter()
            .find(|(id, _)| *id == product || is_nil_id(id))
            .map(|(_, base)| *base)
    });
    let variant_bases: Vec<(&str, Money)> = plan
        .as_ref()
        .map(|plan| {
            plan.bases
                .iter()
                .filter(|(id, _)| *id != product && !is_nil_id(id))
                .copied()
                .collect()
        })
        .unwrap_or_default();
    let product_path = format!("/stores/v1/products/{segment}");
    let write_product = push.published.is_some() || plan.is_some();
    let hide_first = push.published == Some(false);
    if hide_first {
        update_product(batch, product, &product_path, push.published, own_price, plan.as_ref()).await?;
    }
    let inventory_path = format!("/stores/v2/inventoryItems/product/{segment}");
    for answer in batch
        .attempt_each_on_refusal(
            &stock,
            |(id, _, _)| id,
            Method::PATCH,
            &inventory_path,
            |some| inventory_body(product, some),
        )
        .await?
    {
        answer.json::<serde_json::Map<String, serde_json::Value>>()?;
    }
    for answer in batch
        .attempt_each_on_refusal(
            &variant_bases,
            |(id, _)| id,
            Method::PATCH,
            &format!("{product_path}/variants"),
            variants_body,
        )
        .await?
    {
        answer.json::<UpdatedVariants>()?;
    }
    if write_product && !hide_first {
        update_product(batch, product, &product_path, push.published, own_price, plan.as_ref()).await?;
    }
    if let Some(plan) = &plan {
        for id in &plan.unshown {
            batch.refuse(
                id,
                "price written, compare-at price not shown: a Wix product has one discount for all its \
                 variants, and the pushed compare-at prices are not the same amount above their prices",
            );
        }
    }
    Ok(())
}

/// Update Product with the visibility, the price of a product without options and the
/// discount. Refused, it refuses the product and every variant whose price hangs on it.
async fn update_product(
    batch: &mut Batch<'_>,
    product: &str,
    path: &str,
    visible: Option<bool>,
    own_price: Option<Money>,
    plan: Option<&PricePlan<'_>>,
) -> Result<(), StorefrontError> {
    let mut ids = vec![product];
    if let Some(plan) = plan {
        ids.extend(plan.bases.iter().map(|(id, _)| *id).filter(|id| *id != product));
    }
    let body = product_body(product, visible, own_price, plan);
    if let Some(answer) = batch.attempt(&ids, Method::PATCH, path, Some(body)).await? {
        let written = answer.json::<UpdatedProduct>()?.product;
        if let (Some(wanted), Some(kept)) = (visible, written.visible)
            && wanted != kept
        {
            batch.refuse(product, format!("Wix kept product {} visible: {kept}", written.id));
        }
    }
    Ok(())
}

/// Whether a Wix id is the all-zero UUID (the one variant of a product without options).
pub(crate) fn is_nil_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c == '0' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_app::storefront::RefundLine;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("usd"))
    }

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, Currency::parse(code).expect("currency"))
    }

    /// Amounts are written as JSON numbers with the digits of their decimal text, in the
    /// currency's decimals; text goes through serde_json's escaping.
    #[test]
    fn bodies_write_amounts_as_exact_json_numbers() {
        let body = Body::Object(vec![
            ("usd", Body::Amount(money(1299, "USD"))),
            ("jpy", Body::Amount(money(1200, "JPY"))),
            ("kwd", Body::Amount(money(1234, "KWD"))),
            ("cents", Body::Amount(money(5, "USD"))),
            ("large", Body::Amount(money(9_007_199_254_740_993, "USD"))),
            ("text", Body::Value(json!("a \"quoted\" name"))),
            (
                "list",
                Body::Array(vec![Body::Value(json!(1)), Body::Amount(money(10, "USD"))]),
            ),
        ])
        .text();
        assert_eq!(
            body,
            r#"{"usd":12.99,"jpy":1200,"kwd":1.234,"cents":0.05,"large":90071992547409.93,"text":"a \"quoted\" name","list":[1,0.10]}"#
        );
        // It is JSON.
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["text"], "a \"quoted\" name");
    }

    #[test]
    fn one_amount_off_every_variant_is_the_products_discount() {
        let plan = price_plan(&[("a", usd(1299), Some(usd(1999))), ("b", usd(1499), Some(usd(2199)))]);
        assert_eq!(
            plan,
            PricePlan {
                discount: Some(usd(700)),
                bases: vec![("a", usd(1999)), ("b", usd(2199))],
                unshown: Vec::new(),
            }
        );
        let plan = price_plan(&[("a", usd(1299), None), ("b", usd(1499), None)]);
        assert_eq!(plan.discount, None);
        assert_eq!(plan.bases, vec![("a", usd(1299)), ("b", usd(1499))]);
        assert!(plan.unshown.is_empty());
        // Different amounts off, or some without: no discount, those compare-at prices unshown.
        let plan = price_plan(&[
            ("a", usd(1299), Some(usd(1999))),
            ("b", usd(1499), Some(usd(2999))),
            ("c", usd(999), None),
        ]);
        assert_eq!(plan.discount, None);
        assert_eq!(plan.bases, vec![("a", usd(1299)), ("b", usd(1499)), ("c", usd(999))]);
        assert_eq!(plan.unshown, vec!["a", "b"]);
    }

    /// The bodies have the shapes of Update Product Variants (`variants: [{variantIds, price}]`),
    /// Update Product (`product: {id, visible, priceData.price, discount}`) and Update Inventory
    /// Variants (`inventoryItem: {productId, trackQuantity, variants: [{variantId, quantity}]}`).
    #[test]
    fn listing_bodies_have_the_stores_shapes() {
        let variants = variants_body(&[("v1", usd(1999)), ("v2", usd(2199)), ("v3", usd(1999))]);
        assert_eq!(
            variants,
            r#"{"variants":[{"variantIds":["v1","v3"],"price":19.99},{"variantIds":["v2"],"price":21.99}]}"#
        );
        let plan = price_plan(&[("v1", usd(1299), Some(usd(1999)))]);
        assert_eq!(
            product_body("p1", Some(false), None, Some(&plan)),
            r#"{"product":{"id":"p1","visible":false,"discount":{"type":"AMOUNT","value":7.00}}}"#
        );
        let none = price_plan(&[("p1", usd(1750), None)]);
        assert_eq!(
            product_body("p1", None, Some(usd(1750)), Some(&none)),
            r#"{"product":{"id":"p1","priceData":{"price":17.50},"discount":{"type":"NONE"}}}"#
        );
        assert_eq!(
            product_body("p1", Some(true), None, None),
            r#"{"product":{"id":"p1","visible":true}}"#
        );
        let inventory: serde_json::Value =
            serde_json::from_str(&inventory_body("p1", &[("p1", NIL_ID.to_string(), 4)])).expect("JSON");
        assert_eq!(
            inventory,
            json!({"inventoryItem": {"productId": "p1", "trackQuantity": true, "variants": [
                {"variantId": "00000000-0000-0000-0000-000000000000", "quantity": 4}
            ]}})
        );
    }

    #[test]
    fn listing_answers_of_another_shape_are_bad_responses() {
        let answer = |body: &str| http::Answer {
            headers: reqwest::header::HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            call: "PATCH /stores/v1/products/p1".into(),
            platform: PLATFORM,
        };
        assert!(
            answer(r#"{"product": {"id": "p1", "visible": false}}"#)
                .json::<UpdatedProduct>()
                .is_ok()
        );
        assert!(answer(r#"{"variants": []}"#).json::<UpdatedVariants>().is_ok());
        for bad in [r#"{"product": null}"#, r#"{}"#, "oops"] {
            let error = answer(bad).json::<UpdatedProduct>().map(|_| ()).expect_err(bad);
            assert!(matches!(error, StorefrontError::BadResponse(_)), "{bad}: {error:?}");
        }
        let error = answer(r#"{"variants": "none"}"#)
            .json::<UpdatedVariants>()
            .map(|_| ())
            .expect_err("shape");
        assert!(matches!(error, StorefrontError::BadResponse(_)));
    }

    /// With a discount, the catalogue's `price` is the struck-through one: the selling price is
    /// `discountedPrice`.
    #[test]
    fn the_catalogue_reads_the_discounted_price() {
        let data: PriceData =
            serde_json::from_value(json!({"currency": "USD", "price": 19.99, "discountedPrice": 12.99})).expect("data");
        assert_eq!(wix_price(Some(&data), usd(0).currency, "x").expect("price"), usd(1299));
        let plain: PriceData = serde_json::from_value(json!({"currency": "USD", "price": 19.99})).expect("data");
        assert_eq!(wix_price(Some(&plain), usd(0).currency, "x").expect("price"), usd(1999));
    }

    /// The body has the fields of Wix's Refund Payments: `orderId`, `paymentRefunds`
    /// (`paymentId`, `amount`, `externalRefund`), `refundItems`, `sideEffects` and
    /// `customerReason` (at most 200 characters); the payments are read from the order's
    /// transactions as List Transactions For Single Order shows them.
    #[test]
    fn a_refund_body_refunds_the_provider_payment_and_marks_the_offline_one() {
        let listed: TransactionsEnvelope = serde_json::from_value(json!({"orderTransactions": {
            "orderId": "8d009fbe-6600-4c7a-ad23-37e9f0477947",
            "payments": [
                {"id": "gift", "giftcardPaymentDetails": {"giftCardPaymentId": "g"}, "amount": {"amount": "25.0"}},
                {"id": "card", "regularPaymentDetails": {"paymentMethod": "CreditCard", "offlinePayment": false, "status": "APPROVED"},
                 "amount": {"amount": "17.99", "formattedAmount": "$17.99"}, "refundDisabled": false},
                {"id": "cash", "regularPaymentDetails": {"paymentMethod": "Cash", "offlinePayment": true, "status": "APPROVED"},
                 "amount": {"amount": "10"}, "refundDisabled": false},
            ],
            "refunds": [
                {"id": "r1", "transactions": [{"paymentId": "card", "amount": {"amount": "5"}, "refundStatus": "SUCCEEDED"}],
                 "details": {"reason": "earlier"}},
                {"id": "r2", "transactions": [{"paymentId": "card", "amount": {"amount": "12.99"}, "refundStatus": "FAILED"}]},
            ],
        }}))
        .expect("transactions");
        let payments = refundable_payments(&listed.order_transactions, usd(0).currency, "8d00").expect("payments");
        assert_eq!(
            payments,
            vec![
                (
                    Refundable {
                        payment_id: "card".into(),
                        offline: false
                    },
                    usd(1_299)
                ),
                (
                    Refundable {
                        payment_id: "cash".into(),
                        offline: true
                    },
                    usd(1_000)
                ),
            ],
            "gift cards are left out; a failed refund leaves the money where it was"
        );
        let push = RefundPush {
            order_external_id: "8d009fbe-6600-4c7a-ad23-37e9f0477947".into(),
            idempotency_key: "0190a4b2-7c1d-7e00-8000-000000000003".into(),
            amount: usd(1_500),
            reason: "wrong colour".into(),
            lines: vec![RefundLine {
                external_id: Some("00000000-0000-0000-0000-000000000001".into()),
                sku: "SHIRT-RED".into(),
                quantity: 1,
                amount: usd(1_500),
            }],
            notify_customer: false,
        };
        let shares = http::split_over(&payments, push.amount).expect("enough left");
        assert_eq!(
            refund_body(&push, &shares),
            json!({
                "orderId": "8d009fbe-6600-4c7a-ad23-37e9f0477947",
                "paymentRefunds": [
                    {"paymentId": "card", "amount": {"amount": "12.99"}, "externalRefund": false},
                    {"paymentId": "cash", "amount": {"amount": "2.01"}, "externalRefund": true},
                ],
                "refundItems": {"lineItems": [{"lineItemId": "00000000-0000-0000-0000-000000000001", "quantity": 1}]},
                "sideEffects": {"restockInfo": {"type": "NO_ITEMS"}, "sendOrderRefundedEmail": false},
                "customerReason": "wrong colour (dropline refund 0190a4b2-7c1d-7e00-8000-000000000003)",
            })
        );
        // An amount only: no refund items.
        let amount_only = RefundPush {
            lines: Vec::new(),
            ..push
        };
        assert!(refund_body(&amount_only, &shares).get("refundItems").is_none());
    }
}
