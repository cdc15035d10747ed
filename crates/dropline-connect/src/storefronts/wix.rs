//! Wix: site properties, the Stores catalogue (queried by offset), the eCommerce
//! fulfillments of an order, and refunds through the eCommerce order billing API.

use super::HttpStorefronts;
use super::http::{self, Api, DecimalText, IdText};
use dropline_app::storefront::{
    FulfillmentPush, ProductPage, RefundPush, RefundReceipt, RemoteProduct, RemoteVariant, ShopInfo, StatusPush,
    StorefrontError, StorefrontTarget,
};
use dropline_domain::money::{Currency, Money};
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

/// A Wix price (a JSON number, read from its text), refused when it is in another currency
/// than the store's.
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
    let price = data
        .price
        .as_ref()
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
