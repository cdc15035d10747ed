//! Shopify's REST Admin API (2025-07): the shop, the product catalogue paged by `page_info`
//! cursors, the fulfillment-order flow for writing shipments back, refunds, and listings
//! (stock at the shop's location, variant prices, product status).

use super::HttpStorefronts;
use super::http::{self, Api, DecimalText, IdText};
use super::listing::{self, Batch};
use dropline_app::storefront::{
    FulfillmentPush, ListingPush, ListingReceipt, ProductPage, RefundPush, RefundReceipt, RemoteProduct, RemoteVariant,
    ShopInfo, StatusPush, StorefrontError, StorefrontTarget, VariantListing,
};
use dropline_domain::money::{Currency, Money};
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

const PLATFORM: &str = "Shopify";
const PREFIX: &str = "/admin/api/2025-07";
const PAGE_SIZE: &str = "50";

pub(super) fn api<'a>(client: &'a HttpStorefronts, target: &StorefrontTarget) -> Result<Api<'a>, StorefrontError> {
    let connection = &target.connection;
    let base = http::base_url(connection, PLATFORM, None)?;
    let token = http::required(
        &connection.access_token,
        PLATFORM,
        "access_token",
        "the Admin API access token",
    )?;
    Ok(Api {
        http: &client.http,
        timeout: client.timeout,
        platform: PLATFORM,
        base,
        headers: vec![(
            HeaderName::from_static("x-shopify-access-token"),
            http::secret_header(token, "access_token")?,
        )],
        secrets: vec![token.to_string()],
    })
}

#[derive(Deserialize)]
struct ShopEnvelope {
    shop: Shop,
}

#[derive(Deserialize)]
struct Shop {
    name: String,
    #[serde(default)]
    currency: Option<String>,
}

pub(super) async fn check(api: &Api<'_>) -> Result<ShopInfo, StorefrontError> {
    let shop = api
        .get(&format!("{PREFIX}/shop.json"), &[])
        .await?
        .json::<ShopEnvelope>()?
        .shop;
    Ok(ShopInfo {
        name: shop.name,
        currency: shop.currency,
    })
}

#[derive(Deserialize)]
struct ProductsEnvelope {
    products: Vec<Product>,
}

#[derive(Deserialize)]
struct Product {
    id: IdText,
    #[serde(default)]
    title: String,
    #[serde(default)]
    variants: Vec<Variant>,
}

#[derive(Deserialize)]
struct Variant {
    id: IdText,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    sku: Option<String>,
    price: DecimalText,
}

pub(super) async fn products_page(
    api: &Api<'_>,
    currency: Currency,
    cursor: Option<&str>,
) -> Result<ProductPage, StorefrontError> {
    let mut query = vec![("limit", PAGE_SIZE)];
    if let Some(cursor) = cursor {
        query.push(("page_info", cursor));
    }
    let answer = api.get(&format!("{PREFIX}/products.json"), &query).await?;
    let next = answer.header("link").and_then(next_page_info);
    let products = answer
        .json::<ProductsEnvelope>()?
        .products
        .into_iter()
        .map(|product| {
            let variants = product
                .variants
                .into_iter()
                .map(|variant| {
                    let what = format!("Shopify product {} variant {}", product.id, variant.id);
                    Ok(RemoteVariant {
                        price: http::price(&variant.price.0, currency, &what)?,
                        platform_variant_id: variant.id.0,
                        sku: variant.sku.unwrap_or_default(),
                        title: variant.title.unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, StorefrontError>>()?;
            Ok(RemoteProduct {
                platform_product_id: product.id.0,
                title: product.title,
                variants,
            })
        })
        .collect::<Result<Vec<_>, StorefrontError>>()?;
    Ok(ProductPage { products, next })
}

/// The `page_info` of the `rel="next"` link of a `Link` header, when there is one.
fn next_page_info(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params.split(';').any(|param| {
            let param = param.trim().replace(' ', "");
            param == "rel=\"next\"" || param == "rel=next"
        });
        if !is_next {
            return None;
        }
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let url = reqwest::Url::parse(target).ok()?;
        url.query_pairs()
            .find(|(name, _)| name == "page_info")
            .map(|(_, value)| value.into_owned())
            .filter(|value| !value.is_empty())
    })
}

#[derive(Deserialize)]
struct FulfillmentOrdersEnvelope {
    fulfillment_orders: Vec<FulfillmentOrder>,
}

#[derive(Deserialize)]
struct FulfillmentOrder {
    id: IdText,
    status: String,
    #[serde(default)]
    line_items: Vec<FulfillmentOrderLine>,
}

#[derive(Deserialize)]
struct FulfillmentOrderLine {
    id: IdText,
    line_item_id: IdText,
    fulfillable_quantity: u64,
}

#[derive(Deserialize)]
struct FulfillmentsEnvelope {
    fulfillments: Vec<Fulfillment>,
}

#[derive(Deserialize)]
struct Fulfillment {
    id: IdText,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    tracking_number: Option<String>,
    #[serde(default)]
    tracking_numbers: Vec<String>,
    #[serde(default)]
    shipment_status: Option<String>,
    #[serde(default)]
    line_items: Vec<FulfilledLine>,
}

#[derive(Deserialize)]
struct FulfilledLine {
    id: IdText,
    quantity: u64,
}

impl Fulfillment {
    /// Not cancelled (nor failed) and carrying this tracking number.
    fn is_live_with(&self, tracking_number: &str) -> bool {
        let live = !matches!(self.status.as_deref(), Some("cancelled" | "error" | "failure"));
        let wanted = tracking_number.trim();
        live && self
            .tracking_number
            .iter()
            .chain(&self.tracking_numbers)
            .any(|number| number.trim().eq_ignore_ascii_case(wanted))
    }
}

async fn fulfillments(api: &Api<'_>, order: &str) -> Result<Vec<Fulfillment>, StorefrontError> {
    Ok(api
        .get(&format!("{PREFIX}/orders/{order}/fulfillments.json"), &[])
        .await?
        .json::<FulfillmentsEnvelope>()?
        .fulfillments)
}

/// One pushed line, merged by Shopify line item id.
struct Wanted {
    line_item_id: String,
    sku: String,
    quantity: u64,
}

pub(super) async fn push_fulfillment(api: &Api<'_>, push: &FulfillmentPush) -> Result<(), StorefrontError> {
    let order = http::segment(&push.order_external_id)?;
    let mut wanted: Vec<Wanted> = Vec::new();
    for line in &push.lines {
        let Some(line_item_id) = line.external_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) else {
            return Err(StorefrontError::Refused(format!(
                "line with SKU {:?} has no Shopify line item id: it cannot be fulfilled on Shopify",
                line.sku
            )));
        };
        match wanted.iter_mut().find(|w| w.line_item_id == line_item_id) {
            Some(known) => known.quantity += u64::from(line.quantity),
            None => wanted.push(Wanted {
                line_item_id: line_item_id.to_string(),
                sku: line.sku.clone(),
                quantity: u64::from(line.quantity),
            }),
        }
    }

    let mut tracking_info = json!({
        "number": push.tracking_number,
        "company": push.carrier,
    });
    if let Some(url) = &push.tracking_url {
        tracking_info["url"] = json!(url);
    }
    let all = fulfillments(api, &order).await?;

    // A reship: the fulfillments that carry the failed parcel's number take the new tracking
    // (the lines they cover are already fulfilled, a new fulfillment could not be created).
    // Once updated they carry the new number, so a retried push finds nothing to update and
    // the idempotence check below sees the lines covered.
    if let Some(replaced) = push
        .replaces_tracking_number
        .as_deref()
        .map(str::trim)
        .filter(|number| !number.is_empty() && !number.eq_ignore_ascii_case(push.tracking_number.trim()))
    {
        let to_update: Vec<&Fulfillment> = all.iter().filter(|f| f.is_live_with(replaced)).collect();
        if !to_update.is_empty() {
            let body = json!({
                "fulfillment": {
                    "tracking_info": tracking_info,
                    "notify_customer": push.notify_customer,
                }
            });
            for fulfillment in to_update {
                let path = format!(
                    "{PREFIX}/fulfillments/{}/update_tracking.json",
                    http::segment(&fulfillment.id.0)?
                );
                api.post(&path, &body).await?;
            }
            return Ok(());
        }
    }

    // Idempotence: what fulfillments with this tracking number already cover is not asked
    // again. Normally that is everything (a retried push); after a push interrupted between
    // two fulfillment orders, the rest is fulfilled now.
    let existing: Vec<Fulfillment> = all
        .into_iter()
        .filter(|f| f.is_live_with(&push.tracking_number))
        .collect();
    let resuming = !existing.is_empty();
    if resuming {
        if existing.iter().any(|f| f.line_items.is_empty()) {
            return Ok(());
        }
        let mut done: HashMap<&str, u64> = HashMap::new();
        for line in existing.iter().flat_map(|f| &f.line_items) {
            *done.entry(line.id.0.as_str()).or_default() += line.quantity;
        }
        for want in &mut wanted {
            want.quantity = want
                .quantity
                .saturating_sub(done.get(want.line_item_id.as_str()).copied().unwrap_or(0));
        }
    }
    wanted.retain(|w| w.quantity > 0);
    if wanted.is_empty() {
        return Ok(());
    }

    let orders = api
        .get(&format!("{PREFIX}/orders/{order}/fulfillment_orders.json"), &[])
        .await?
        .json::<FulfillmentOrdersEnvelope>()?
        .fulfillment_orders;
    let open: Vec<&FulfillmentOrder> = orders
        .iter()
        .filter(|fo| matches!(fo.status.as_str(), "open" | "in_progress"))
        .collect();

    // Fulfillment order id → its lines to fulfil, in the order Shopify listed them.
    let mut plan: Vec<(&IdText, Vec<(&IdText, u64)>)> = Vec::new();
    for want in &wanted {
        let candidates: Vec<(&IdText, &FulfillmentOrderLine)> = open
            .iter()
            .flat_map(|fo| fo.line_items.iter().map(move |line| (&fo.id, line)))
            .filter(|(_, line)| line.line_item_id.0 == want.line_item_id)
            .collect();
        if candidates.is_empty() {
            if resuming {
                continue;
            }
            return Err(StorefrontError::Refused(format!(
                "line {} (SKU {:?}) is on no open fulfillment order of Shopify order {}",
                want.line_item_id, want.sku, push.order_external_id
            )));
        }
        let mut left = want.quantity;
        for (fo_id, line) in candidates {
            if left == 0 {
                break;
            }
            let take = left.min(line.fulfillable_quantity);
            if take == 0 {
                continue;
            }
            left -= take;
            match plan.iter_mut().find(|(id, _)| *id == fo_id) {
                Some((_, lines)) => lines.push((&line.id, take)),
                None => plan.push((fo_id, vec![(&line.id, take)])),
            }
        }
    }
    if plan.is_empty() {
        if resuming {
            return Ok(());
        }
        return Err(StorefrontError::Refused(format!(
            "nothing left to fulfil on Shopify order {}: its lines are already fulfilled",
            push.order_external_id
        )));
    }

    // One fulfillment per fulfillment order: orders at several locations cannot share one.
    for (fo_id, lines) in plan {
        let body = json!({
            "fulfillment": {
                "line_items_by_fulfillment_order": [{
                    "fulfillment_order_id": id_json(fo_id),
                    "fulfillment_order_line_items": lines
                        .iter()
                        .map(|(id, quantity)| json!({"id": id_json(id), "quantity": quantity}))
                        .collect::<Vec<_>>(),
                }],
                "tracking_info": tracking_info,
                "notify_customer": push.notify_customer,
            }
        });
        api.post(&format!("{PREFIX}/fulfillments.json"), &body).await?;
    }
    Ok(())
}

/// An id sent back as Shopify wrote it: a JSON number when it is one.
fn id_json(id: &IdText) -> serde_json::Value {
    match id.0.parse::<u64>() {
        Ok(number) => json!(number),
        Err(_) => json!(id.0),
    }
}

pub(super) async fn push_status(api: &Api<'_>, order_id: &str, status: &StatusPush) -> Result<(), StorefrontError> {
    let order = http::segment(order_id)?;
    match status {
        StatusPush::Delivered { tracking_number } => {
            let matching: Vec<Fulfillment> = fulfillments(api, &order)
                .await?
                .into_iter()
                .filter(|f| f.is_live_with(tracking_number))
                .collect();
            if matching.is_empty() {
                return Err(StorefrontError::Refused(format!(
                    "Shopify order {order_id} has no fulfillment with tracking number {tracking_number}"
                )));
            }
            for fulfillment in matching {
                if fulfillment.shipment_status.as_deref() == Some("delivered") {
                    continue;
                }
                let path = format!(
                    "{PREFIX}/orders/{order}/fulfillments/{}/events.json",
                    http::segment(&fulfillment.id.0)?
                );
                api.post(&path, &json!({"event": {"status": "delivered"}})).await?;
            }
            Ok(())
        }
        StatusPush::Cancelled { .. } => {
            // Shopify's reasons are a fixed list; dropline's own reason stays in dropline.
            let body = json!({"reason": "other", "email": false});
            match api.post(&format!("{PREFIX}/orders/{order}/cancel.json"), &body).await {
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
// `POST orders/{id}/refunds.json` with `refund: {currency, notify, note, refund_line_items,
// transactions}`. The money goes back through `transactions`, each of `kind: refund` against a
// payment of the order (`parent_id`: a successful `sale` or `capture`, the `gateway` it was
// made on), so the transactions are read first (`GET orders/{id}/transactions.json`). The
// lines are recorded with `restock_type: no_restock`: the goods were never in the seller's
// stock. Shopify keeps no idempotency key for REST refunds: the note carries the refund's mark
// and `GET orders/{id}/refunds.json` is read before anything is sent.

#[derive(Deserialize)]
struct RefundsEnvelope {
    refunds: Vec<ShopifyRefund>,
}

#[derive(Deserialize)]
struct RefundEnvelope {
    refund: ShopifyRefund,
}

#[derive(Deserialize)]
struct ShopifyRefund {
    id: IdText,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
struct TransactionsEnvelope {
    transactions: Vec<Transaction>,
}

#[derive(Deserialize)]
struct Transaction {
    id: IdText,
    kind: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    gateway: Option<String>,
    amount: DecimalText,
    #[serde(default)]
    parent_id: Option<IdText>,
}

/// A payment of the order a refund can be taken from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Payment {
    transaction_id: IdText,
    gateway: String,
}

/// The order's successful sales and captures with what is left of each after its refunds.
fn refundable_payments(
    transactions: &[Transaction],
    currency: Currency,
    order: &str,
) -> Result<Vec<(Payment, Money)>, StorefrontError> {
    let succeeded = |t: &&Transaction| t.status.as_deref().is_none_or(|status| status == "success");
    let mut payments = Vec::new();
    for paid in transactions
        .iter()
        .filter(succeeded)
        .filter(|t| matches!(t.kind.as_str(), "sale" | "capture"))
    {
        let what = format!("Shopify order {order} transaction {}", paid.id);
        let mut left = http::price(&paid.amount.0, currency, &what)?;
        for refund in transactions
            .iter()
            .filter(succeeded)
            .filter(|t| t.kind == "refund" && t.parent_id.as_ref() == Some(&paid.id))
        {
            let what = format!("Shopify order {order} transaction {}", refund.id);
            let refunded = http::price(&refund.amount.0, currency, &what)?;
            left = Money::new((left.minor - refunded.minor).max(0), currency);
        }
        payments.push((
            Payment {
                transaction_id: paid.id.clone(),
                gateway: paid.gateway.clone().unwrap_or_default(),
            },
            left,
        ));
    }
    Ok(payments)
}

/// The body of `POST orders/{id}/refunds.json`: the pushed lines (merged by line item id; lines
/// without one are refunded by amount only) and one refund transaction per payment share.
fn refund_body(push: &RefundPush, shares: &[(Payment, Money)]) -> serde_json::Value {
    let lines = push.platform_lines();
    json!({
        "refund": {
            "currency": push.amount.currency.code(),
            "notify": push.notify_customer,
            "note": http::marked_reason(&push.reason, &push.idempotency_key, 1_000),
            "refund_line_items": lines
                .iter()
                .map(|(id, quantity)| json!({
                    "line_item_id": id_json(&IdText((*id).to_string())),
                    "quantity": quantity,
                    "restock_type": "no_restock",
                }))
                .collect::<Vec<_>>(),
            "transactions": shares
                .iter()
                .map(|(payment, amount)| json!({
                    "parent_id": id_json(&payment.transaction_id),
                    "amount": amount.amount_string(),
                    "kind": "refund",
                    "gateway": payment.gateway,
                }))
                .collect::<Vec<_>>(),
        }
    })
}

pub(super) async fn push_refund(api: &Api<'_>, push: &RefundPush) -> Result<RefundReceipt, StorefrontError> {
    let order = http::segment(&push.order_external_id)?;
    let refunds_path = format!("{PREFIX}/orders/{order}/refunds.json");
    let mark = http::refund_mark(&push.idempotency_key);
    let existing = api.get(&refunds_path, &[]).await?.json::<RefundsEnvelope>()?.refunds;
    if let Some(found) = existing
        .into_iter()
        .find(|refund| refund.note.as_deref().is_some_and(|note| note.contains(&mark)))
    {
        return Ok(RefundReceipt {
            platform_refund_id: found.id.0,
            found_existing: true,
        });
    }
    let transactions = api
        .get(&format!("{PREFIX}/orders/{order}/transactions.json"), &[])
        .await?
        .json::<TransactionsEnvelope>()?
        .transactions;
    let payments = refundable_payments(&transactions, push.amount.currency, &push.order_external_id)?;
    let Some(shares) = http::split_over(&payments, push.amount) else {
        let left = payments
            .iter()
            .fold(0_i64, |sum, (_, left)| sum.saturating_add(left.minor));
        return Err(StorefrontError::Refused(format!(
            "Shopify order {} has {} left to refund on its payments, less than the refund of {}",
            push.order_external_id,
            Money::new(left, push.amount.currency),
            push.amount
        )));
    };
    let created = api
        .post(&refunds_path, &refund_body(push, &shares))
        .await?
        .json::<RefundEnvelope>()?
        .refund;
    Ok(RefundReceipt {
        platform_refund_id: created.id.0,
        found_existing: false,
    })
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------
//
// Stock: `POST inventory_levels/set.json` with `location_id`, `inventory_item_id` and
// `available`, at the shop's first active location (`GET locations.json`); a variant's
// inventory item is read from `GET variants/{id}.json`. Both are remembered per shop by the
// connector (a variant's inventory item never changes; a location whose write is refused is
// read again next time). Prices: `PUT variants/{id}.json` with `price` and `compare_at_price`
// (`null` clears it). Visibility: `PUT products/{id}.json` with `status` `active` or `draft`;
// hiding goes before the variants' writes and showing after them, so a product never shows
// with its old stock.

/// What the Shopify connector remembers between listing pushes, per shop (by API address).
#[derive(Default)]
pub(super) struct ListingCache {
    shops: Mutex<HashMap<String, ShopMemory>>,
}

impl std::fmt::Debug for ListingCache {
    /// How much is remembered, not all of it (a shop may have thousands of variants).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shops = self.shops.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("ListingCache")
            .field("shops", &shops.len())
            .field(
                "inventory_items",
                &shops.values().map(|shop| shop.inventory_items.len()).sum::<usize>(),
            )
            .finish()
    }
}

#[derive(Default)]
struct ShopMemory {
    location_id: Option<String>,
    /// Variant id → its inventory item id.
    inventory_items: HashMap<String, String>,
}

impl ListingCache {
    fn with_shop<T>(&self, shop: &str, f: impl FnOnce(&mut ShopMemory) -> T) -> T {
        let mut shops = self.shops.lock().unwrap_or_else(PoisonError::into_inner);
        f(shops.entry(shop.to_string()).or_default())
    }
}

#[derive(Deserialize)]
struct LocationsEnvelope {
    locations: Vec<Location>,
}

#[derive(Deserialize)]
struct Location {
    id: IdText,
    #[serde(default)]
    active: Option<bool>,
    /// A fulfillment service's own location: not the shop's stock.
    #[serde(default)]
    legacy: Option<bool>,
}

#[derive(Deserialize)]
struct VariantEnvelope {
    variant: ListedVariant,
}

#[derive(Deserialize)]
struct ListedVariant {
    id: IdText,
    #[serde(default)]
    inventory_item_id: Option<IdText>,
}

#[derive(Deserialize)]
struct InventoryLevelEnvelope {
    inventory_level: InventoryLevel,
}

#[derive(Deserialize)]
struct InventoryLevel {
    #[serde(default)]
    available: Option<i64>,
}

#[derive(Deserialize)]
struct ProductEnvelope {
    product: StatusOnly,
}

#[derive(Deserialize)]
struct StatusOnly {
    #[serde(default)]
    status: Option<String>,
}

/// The id of the shop's first active location that is its own (not a fulfillment service's).
fn first_active_location(locations: &[Location]) -> Option<String> {
    locations
        .iter()
        .find(|location| location.active != Some(false) && location.legacy != Some(true))
        .map(|location| location.id.0.clone())
}

/// The inventory item of a variant as `GET variants/{id}.json` answered it.
fn inventory_item_of(answer: &http::Answer, variant_id: &str) -> Result<String, StorefrontError> {
    let variant = answer.json::<VariantEnvelope>()?.variant;
    match variant.inventory_item_id {
        Some(item) if !item.0.trim().is_empty() => Ok(item.0),
        _ => Err(StorefrontError::BadResponse(format!(
            "Shopify answered variant {} (asked {variant_id}) without its inventory_item_id",
            variant.id
        ))),
    }
}

/// Checks the answer of `inventory_levels/set.json`: the level, at the units sent.
fn check_inventory_level(answer: &http::Answer, units: u32) -> Result<(), StorefrontError> {
    let level = answer.json::<InventoryLevelEnvelope>()?.inventory_level;
    match level.available {
        Some(available) if available == i64::from(units) => Ok(()),
        other => Err(StorefrontError::BadResponse(format!(
            "Shopify answered {} with available {} after {units} was set",
            answer.call,
            other.map_or("missing".to_string(), |n| n.to_string())
        ))),
    }
}

fn inventory_body(location_id: &str, inventory_item_id: &str, units: u32) -> serde_json::Value {
    json!({
        "location_id": id_json(&IdText(location_id.to_string())),
        "inventory_item_id": id_json(&IdText(inventory_item_id.to_string())),
        "available": units,
    })
}

fn variant_price_body(variant_id: &str, price: Money, compare_at: Option<Money>) -> serde_json::Value {
    json!({
        "variant": {
            "id": id_json(&IdText(variant_id.to_string())),
            "price": price.amount_string(),
            "compare_at_price": compare_at.map(|was| was.amount_string()),
        }
    })
}

fn product_status_body(product_id: &str, published: bool) -> serde_json::Value {
    json!({
        "product": {
            "id": id_json(&IdText(product_id.to_string())),
            "status": if published { "active" } else { "draft" },
        }
    })
}

/// One push's calls with what it knows of the shop.
struct ListingRun<'a, 'c> {
    batch: Batch<'a>,
    cache: &'c ListingCache,
    currency: Currency,
    /// The shop's key in the cache.
    shop: String,
    /// Why stock cannot be set at all, once found out in this push.
    no_location: Option<String>,
}

pub(super) async fn push_listings(
    api: &Api<'_>,
    cache: &ListingCache,
    currency: Currency,
    pushes: &[ListingPush],
) -> Result<ListingReceipt, StorefrontError> {
    let mut run = ListingRun {
        batch: Batch::new(api),
        cache,
        currency,
        shop: api.base.clone(),
        no_location: None,
    };
    for push in pushes {
        let Some(product) = listing::id_of(&push.platform_product_id) else {
            run.batch
                .refuse(&push.platform_product_id, "the product has no Shopify id");
            continue;
        };
        if push.published == Some(false) {
            run.set_status(product, false).await?;
        }
        for variant in &push.variants {
            run.push_variant(variant).await?;
        }
        if push.published == Some(true) {
            run.set_status(product, true).await?;
        }
    }
    Ok(run.batch.receipt())
}

impl ListingRun<'_, '_> {
    async fn set_status(&mut self, product: &str, published: bool) -> Result<(), StorefrontError> {
        let path = format!("{PREFIX}/products/{}.json", http::segment(product)?);
        let body = product_status_body(product, published).to_string();
        if let Some(answer) = self.batch.attempt(&[product], Method::PUT, &path, Some(body)).await? {
            let status = answer.json::<ProductEnvelope>()?.product.status;
            let wanted = if published { "active" } else { "draft" };
            if status.as_deref().is_some_and(|status| status != wanted) {
                self.batch.refuse(
                    product,
                    format!("Shopify kept the product {}, not {wanted}", status.unwrap_or_default()),
                );
            }
        }
        Ok(())
    }

    async fn push_variant(&mut self, variant: &VariantListing) -> Result<(), StorefrontError> {
        let Some(id) = listing::id_of(&variant.platform_variant_id) else {
            self.batch.refuse(
                &variant.platform_variant_id,
                format!("the variant with SKU {:?} has no Shopify id", variant.sku),
            );
            return Ok(());
        };
        let segment = http::segment(id)?;
        if let Some(units) = variant.stock
            && !self.set_stock(id, &segment, units).await?
        {
            // Shopify does not know the variant: its price would be refused the same way.
            return Ok(());
        }
        if let Some(price) = &variant.price {
            match listing::checked_price(price, self.currency) {
                Err(reason) => self.batch.refuse(id, reason),
                Ok((price, compare_at)) => {
                    let path = format!("{PREFIX}/variants/{segment}.json");
                    let body = variant_price_body(id, price, compare_at).to_string();
                    if let Some(answer) = self.batch.attempt(&[id], Method::PUT, &path, Some(body)).await? {
                        answer.json::<VariantEnvelope>()?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Sets the variant's stock, or records why it could not be; `false` when Shopify does not
    /// know the variant at all.
    async fn set_stock(&mut self, id: &str, segment: &str, units: u32) -> Result<bool, StorefrontError> {
        let known = self
            .cache
            .with_shop(&self.shop, |shop| shop.inventory_items.get(id).cloned());
        let item = match known {
            Some(item) => item,
            None => {
                let path = format!("{PREFIX}/variants/{segment}.json");
                let Some(answer) = self.batch.attempt(&[id], Method::GET, &path, None).await? else {
                    return Ok(false);
                };
                let item = inventory_item_of(&answer, id)?;
                self.cache.with_shop(&self.shop, |shop| {
                    shop.inventory_items.insert(id.to_string(), item.clone())
                });
                item
            }
        };
        let location = match self.location().await? {
            Ok(location) => location,
            Err(reason) => {
                self.batch.refuse(id, reason);
                return Ok(true);
            }
        };
        let path = format!("{PREFIX}/inventory_levels/set.json");
        let body = inventory_body(&location, &item, units).to_string();
        match self.batch.attempt(&[id], Method::POST, &path, Some(body)).await? {
            Some(answer) => check_inventory_level(&answer, units)?,
            // The location may have been deactivated: the next push reads it again.
            None => self.cache.with_shop(&self.shop, |shop| shop.location_id = None),
        }
        Ok(true)
    }

    /// The location stock is set at, or why there is none.
    async fn location(&mut self) -> Result<Result<String, String>, StorefrontError> {
        if let Some(reason) = &self.no_location {
            return Ok(Err(reason.clone()));
        }
        if let Some(known) = self.cache.with_shop(&self.shop, |shop| shop.location_id.clone()) {
            return Ok(Ok(known));
        }
        let answer = self
            .batch
            .send(Method::GET, &format!("{PREFIX}/locations.json"), None)
            .await?;
        let locations = answer.json::<LocationsEnvelope>()?.locations;
        match first_active_location(&locations) {
            Some(location) => {
                self.cache
                    .with_shop(&self.shop, |shop| shop.location_id = Some(location.clone()));
                Ok(Ok(location))
            }
            None => {
                let reason = "the Shopify shop has no active location to hold stock".to_string();
                self.no_location = Some(reason.clone());
                Ok(Err(reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_app::storefront::RefundLine;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("usd"))
    }

    fn transactions(json: serde_json::Value) -> Vec<Transaction> {
        serde_json::from_value::<TransactionsEnvelope>(json)
            .expect("transactions")
            .transactions
    }

    /// The refund body has the shape of Shopify's REST Refund resource: `refund` with
    /// `currency`, `notify`, `note`, `refund_line_items` (`line_item_id`, `quantity`,
    /// `restock_type`) and `transactions` (`parent_id`, `amount`, `kind: refund`, `gateway`).
    #[test]
    fn a_refund_body_names_its_lines_and_the_payment_it_refunds() {
        let push = RefundPush {
            order_external_id: "450789469".into(),
            idempotency_key: "0190a4b2-7c1d-7e00-8000-000000000001".into(),
            amount: usd(2_499),
            reason: "arrived broken".into(),
            lines: vec![
                RefundLine {
                    external_id: Some("466157049".into()),
                    sku: "MUG-1".into(),
                    quantity: 1,
                    amount: usd(1_999),
                },
                RefundLine {
                    external_id: Some("466157049".into()),
                    sku: "MUG-1".into(),
                    quantity: 1,
                    amount: usd(1_999),
                },
                RefundLine {
                    external_id: None,
                    sku: "GIFT-WRAP".into(),
                    quantity: 1,
                    amount: usd(500),
                },
            ],
            notify_customer: false,
        };
        let paid = transactions(json!({"transactions": [
            {"id": 389404469, "kind": "authorization", "status": "success", "gateway": "shopify_payments", "amount": "59.97"},
            {"id": 801038806, "kind": "capture", "status": "success", "gateway": "shopify_payments", "amount": "59.97", "parent_id": 389404469},
            {"id": 801038807, "kind": "refund", "status": "success", "gateway": "shopify_payments", "amount": "10.00", "parent_id": 801038806},
            {"id": 801038808, "kind": "refund", "status": "failure", "gateway": "shopify_payments", "amount": "40.00", "parent_id": 801038806},
        ]}));
        let payments = refundable_payments(&paid, push.amount.currency, "450789469").expect("payments");
        assert_eq!(
            payments,
            vec![(
                Payment {
                    transaction_id: IdText("801038806".into()),
                    gateway: "shopify_payments".into()
                },
                usd(4_997)
            )],
            "the capture, less its successful refund; the authorization is no payment"
        );
        let shares = http::split_over(&payments, push.amount).expect("enough left");
        assert_eq!(
            refund_body(&push, &shares),
            json!({"refund": {
                "currency": "USD",
                "notify": false,
                "note": "arrived broken (dropline refund 0190a4b2-7c1d-7e00-8000-000000000001)",
                "refund_line_items": [
                    {"line_item_id": 466157049_u64, "quantity": 2, "restock_type": "no_restock"},
                ],
                "transactions": [
                    {"parent_id": 801038806_u64, "amount": "24.99", "kind": "refund", "gateway": "shopify_payments"},
                ],
            }})
        );
        // More than the payments hold: nothing to send.
        assert_eq!(http::split_over(&payments, usd(4_998)), None);
    }

    #[test]
    fn a_refund_is_split_over_two_sales() {
        let paid = transactions(json!({"transactions": [
            {"id": 1, "kind": "sale", "status": "success", "gateway": "gift_card", "amount": "5.00"},
            {"id": 2, "kind": "sale", "status": "success", "gateway": "shopify_payments", "amount": "20.00"},
        ]}));
        let payments = refundable_payments(&paid, usd(0).currency, "7").expect("payments");
        let shares = http::split_over(&payments, usd(1_200)).expect("enough");
        let gateways: Vec<(&str, i64)> = shares.iter().map(|(p, m)| (p.gateway.as_str(), m.minor)).collect();
        assert_eq!(gateways, [("gift_card", 500), ("shopify_payments", 700)]);
    }

    fn answer(body: &str) -> http::Answer {
        http::Answer {
            headers: reqwest::header::HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            call: "GET /admin/api/2025-07/x.json".into(),
            platform: PLATFORM,
        }
    }

    /// The listing bodies have the shapes of the REST resources: `variant {id, price,
    /// compare_at_price}` with decimal strings (`null` clears the compare-at price),
    /// `inventory_levels/set` with numeric ids, `product {id, status}`.
    #[test]
    fn listing_bodies_carry_decimal_strings_and_numeric_ids() {
        assert_eq!(
            variant_price_body("808950810", usd(1299), Some(usd(1999))),
            json!({"variant": {"id": 808950810_u64, "price": "12.99", "compare_at_price": "19.99"}})
        );
        assert_eq!(
            variant_price_body("808950810", usd(1299), None),
            json!({"variant": {"id": 808950810_u64, "price": "12.99", "compare_at_price": null}})
        );
        assert_eq!(
            inventory_body("655441491", "808950810", 7),
            json!({"location_id": 655441491_u64, "inventory_item_id": 808950810_u64, "available": 7})
        );
        assert_eq!(
            product_status_body("632910392", false),
            json!({"product": {"id": 632910392_u64, "status": "draft"}})
        );
        assert_eq!(product_status_body("632910392", true)["product"]["status"], "active");
    }

    #[test]
    fn the_first_active_location_of_the_shop_holds_the_stock() {
        let listed: LocationsEnvelope = serde_json::from_value(json!({"locations": [
            {"id": 1, "name": "Closed", "active": false, "legacy": false},
            {"id": 2, "name": "A fulfillment service", "active": true, "legacy": true},
            {"id": 3, "name": "Shop", "active": true, "legacy": false},
            {"id": 4, "name": "Second", "active": true},
        ]}))
        .expect("locations");
        assert_eq!(first_active_location(&listed.locations).as_deref(), Some("3"));
        let none: LocationsEnvelope =
            serde_json::from_value(json!({"locations": [{"id": 1, "active": false}]})).expect("locations");
        assert_eq!(first_active_location(&none.locations), None);
    }

    #[test]
    fn a_variant_answer_without_its_inventory_item_is_a_bad_response() {
        let good = answer(r#"{"variant": {"id": 808950810, "inventory_item_id": 341629, "price": "12.99"}}"#);
        assert_eq!(inventory_item_of(&good, "808950810").expect("item"), "341629");
        for bad in [
            r#"{"variant": {"id": 808950810, "inventory_item_id": null}}"#,
            r#"{"variant": {"id": 808950810}}"#,
            r#"{"variants": []}"#,
            "<html>maintenance</html>",
        ] {
            let error = inventory_item_of(&answer(bad), "808950810").expect_err(bad);
            assert!(matches!(error, StorefrontError::BadResponse(_)), "{bad}: {error:?}");
        }
    }

    #[test]
    fn an_inventory_level_answer_must_show_the_units_set() {
        let level = r#"{"inventory_level": {"inventory_item_id": 1, "location_id": 2, "available": 7}}"#;
        assert!(check_inventory_level(&answer(level), 7).is_ok());
        let error = check_inventory_level(&answer(level), 8).expect_err("other units");
        assert!(
            matches!(&error, StorefrontError::BadResponse(text) if text.contains("available 7")),
            "{error:?}"
        );
        for bad in [r#"{"inventory_level": {}}"#, r#"{}"#, "null"] {
            let error = check_inventory_level(&answer(bad), 7).expect_err(bad);
            assert!(matches!(error, StorefrontError::BadResponse(_)), "{bad}: {error:?}");
        }
    }

    #[test]
    fn next_page_info_reads_the_next_link_only() {
        let both = concat!(
            "<https://x.myshopify.com/admin/api/2025-07/products.json?limit=50&page_info=prev1>; rel=\"previous\", ",
            "<https://x.myshopify.com/admin/api/2025-07/products.json?limit=50&page_info=abc%3D%3D>; rel=\"next\"",
        );
        assert_eq!(next_page_info(both).as_deref(), Some("abc=="));
        let previous_only = "<https://x.myshopify.com/admin/api/2025-07/products.json?page_info=p>; rel=\"previous\"";
        assert_eq!(next_page_info(previous_only), None);
        assert_eq!(next_page_info(""), None);
        assert_eq!(next_page_info("garbage; rel=\"next\""), None);
        assert_eq!(
            next_page_info("<http://127.0.0.1:9/admin/api/2025-07/products.json?limit=50&page_info=c2>; rel=next")
                .as_deref(),
            Some("c2")
        );
    }
}
