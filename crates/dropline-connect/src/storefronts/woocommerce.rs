//! WooCommerce's REST API v3, with the Shipment Tracking extension's endpoints for tracking
//! items. Catalogue pages are numbered; a variable product's variants are its variations.
//! Refunds are order refunds made through the order's payment gateway. Listings are written
//! in variation batches and product updates.

use super::HttpStorefronts;
use super::http::{self, Api, DecimalText, IdText};
use super::listing::{self, Batch};
use dropline_app::storefront::{
    FulfillmentPush, ListingPush, ListingReceipt, ProductPage, RefundPush, RefundReceipt, RemoteProduct, RemoteVariant,
    ShopInfo, StatusPush, StorefrontError, StorefrontTarget, VariantListing,
};
use dropline_domain::money::{Currency, Money};
use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

const PLATFORM: &str = "WooCommerce";
const PAGE_SIZE: u32 = 50;
const VARIATIONS_PAGE_SIZE: &str = "100";

pub(super) fn api<'a>(client: &'a HttpStorefronts, target: &StorefrontTarget) -> Result<Api<'a>, StorefrontError> {
    let connection = &target.connection;
    let base = http::base_url(connection, PLATFORM, None)?;
    let key = http::required(&connection.api_key, PLATFORM, "api_key", "the REST consumer key")?;
    let secret = http::required(
        &connection.api_secret,
        PLATFORM,
        "api_secret",
        "the REST consumer secret",
    )?;
    Ok(Api {
        http: &client.http,
        timeout: client.timeout,
        platform: PLATFORM,
        base,
        headers: vec![(AUTHORIZATION, http::basic_auth(key, secret)?)],
        secrets: vec![key.to_string(), secret.to_string()],
    })
}

#[derive(Deserialize)]
struct SystemStatus {
    #[serde(default)]
    environment: Environment,
    #[serde(default)]
    settings: Settings,
}

#[derive(Default, Deserialize)]
struct Environment {
    #[serde(default)]
    site_url: Option<String>,
}

#[derive(Default, Deserialize)]
struct Settings {
    #[serde(default)]
    currency: Option<String>,
}

pub(super) async fn check(api: &Api<'_>) -> Result<ShopInfo, StorefrontError> {
    let status = api
        .get("/wp-json/wc/v3/system_status", &[])
        .await?
        .json::<SystemStatus>()?;
    // The API gives no shop name: the site's address names it.
    let name = status
        .environment
        .site_url
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| api.base.clone());
    Ok(ShopInfo {
        name,
        currency: status.settings.currency.filter(|c| !c.is_empty()),
    })
}

#[derive(Deserialize)]
struct Product {
    id: IdText,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price: Option<DecimalText>,
    #[serde(default)]
    variations: Vec<IdText>,
}

#[derive(Deserialize)]
struct Variation {
    id: IdText,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price: Option<DecimalText>,
    #[serde(default)]
    attributes: Vec<Attribute>,
}

#[derive(Deserialize)]
struct Attribute {
    #[serde(default)]
    option: String,
}

/// A WooCommerce price. A product without a price set comes with an empty string; it is
/// pulled as zero so that its variants can still be mapped to supplier offers.
fn woo_price(price: Option<&DecimalText>, currency: Currency, what: &str) -> Result<Money, StorefrontError> {
    match price.map(|p| p.0.trim()).filter(|p| !p.is_empty()) {
        Some(text) => http::price(text, currency, what),
        None => Ok(Money::zero(currency)),
    }
}

/// The `X-WP-TotalPages` header, when present and a number.
fn total_pages(answer: &http::Answer) -> Option<u32> {
    answer.header("x-wp-totalpages").and_then(|v| v.trim().parse().ok())
}

pub(super) async fn products_page(
    api: &Api<'_>,
    currency: Currency,
    cursor: Option<&str>,
) -> Result<ProductPage, StorefrontError> {
    let page: u32 = match cursor {
        None => 1,
        Some(text) => text.trim().parse().ok().filter(|page| *page >= 1).ok_or_else(|| {
            StorefrontError::BadResponse(format!("WooCommerce catalogue cursor {text:?} is not a page number"))
        })?,
    };
    let page_text = page.to_string();
    let per_page = PAGE_SIZE.to_string();
    let answer = api
        .get(
            "/wp-json/wc/v3/products",
            &[("per_page", &per_page), ("page", &page_text)],
        )
        .await?;
    let listed = answer.json::<Vec<Product>>()?;
    let has_more = match total_pages(&answer) {
        Some(total) => page < total,
        // Without the header, a full page may have a successor.
        None => listed.len() >= PAGE_SIZE as usize,
    };
    let mut products = Vec::with_capacity(listed.len());
    for product in listed {
        let variants = match product.kind.as_str() {
            // A grouped product only gathers others, which are listed on their own.
            "grouped" => continue,
            "variable" if product.variations.is_empty() => Vec::new(),
            "variable" => variations(api, &product, currency).await?,
            _ => vec![RemoteVariant {
                platform_variant_id: product.id.0.clone(),
                sku: product.sku.clone().unwrap_or_default(),
                title: product.name.clone(),
                price: woo_price(
                    product.price.as_ref(),
                    currency,
                    &format!("WooCommerce product {}", product.id),
                )?,
            }],
        };
        products.push(RemoteProduct {
            platform_product_id: product.id.0,
            title: product.name,
            variants,
        });
    }
    Ok(ProductPage {
        products,
        next: has_more.then(|| (page + 1).to_string()),
    })
}

/// Every variation of a variable product (100 a page, more pages when it has more).
async fn variations(
    api: &Api<'_>,
    product: &Product,
    currency: Currency,
) -> Result<Vec<RemoteVariant>, StorefrontError> {
    let path = format!("/wp-json/wc/v3/products/{}/variations", http::segment(&product.id.0)?);
    let mut variants = Vec::new();
    let mut page: u32 = 1;
    loop {
        let page_text = page.to_string();
        let mut query = vec![("per_page", VARIATIONS_PAGE_SIZE)];
        if page > 1 {
            query.push(("page", &page_text));
        }
        let answer = api.get(&path, &query).await?;
        for variation in answer.json::<Vec<Variation>>()? {
            let options: Vec<&str> = variation
                .attributes
                .iter()
                .map(|a| a.option.trim())
                .filter(|o| !o.is_empty())
                .collect();
            let title = if options.is_empty() {
                product.name.clone()
            } else {
                options.join(" / ")
            };
            let what = format!("WooCommerce product {} variation {}", product.id, variation.id);
            variants.push(RemoteVariant {
                price: woo_price(variation.price.as_ref(), currency, &what)?,
                platform_variant_id: variation.id.0,
                sku: variation.sku.unwrap_or_default(),
                title,
            });
        }
        match total_pages(&answer) {
            Some(total) if page < total => page += 1,
            _ => return Ok(variants),
        }
    }
}

#[derive(Deserialize)]
struct TrackingItem {
    #[serde(default)]
    tracking_number: String,
}

#[derive(Deserialize)]
struct Order {
    #[serde(default)]
    status: String,
}

fn order_path(order: &str) -> String {
    format!("/wp-json/wc/v3/orders/{order}")
}

pub(super) async fn push_fulfillment(api: &Api<'_>, push: &FulfillmentPush) -> Result<(), StorefrontError> {
    let order = http::segment(&push.order_external_id)?;
    let trackings_path = format!("/wp-json/wc-shipment-tracking/v3/orders/{order}/shipment-trackings");
    let wanted = push.tracking_number.trim();
    let known = api
        .get(&trackings_path, &[])
        .await?
        .json::<Vec<TrackingItem>>()?
        .iter()
        .any(|item| item.tracking_number.trim().eq_ignore_ascii_case(wanted));
    if !known {
        let shipped_on = OffsetDateTime::now_utc().date();
        let mut tracking = json!({
            "tracking_number": push.tracking_number,
            "custom_tracking_provider": push.carrier,
            "date_shipped": format!(
                "{:04}-{:02}-{:02}",
                shipped_on.year(),
                u8::from(shipped_on.month()),
                shipped_on.day()
            ),
        });
        if let Some(url) = &push.tracking_url {
            tracking["custom_tracking_link"] = json!(url);
        }
        api.post(&trackings_path, &tracking).await?;
    }
    // The note is checked on its own: a run cut off between the tracking item and the note
    // still writes the note when it is retried.
    let mut note = format!(
        "Your order has shipped with {}. Tracking number: {}.",
        push.carrier, push.tracking_number
    );
    if let Some(replaced) = push
        .replaces_tracking_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        note.push_str(&format!(
            " It replaces the parcel with tracking number {replaced}, which could not be delivered."
        ));
    }
    if let Some(url) = &push.tracking_url {
        note.push_str(&format!(" Track it at {url}"));
    }
    add_note_once(api, &order, &note, push.notify_customer).await?;
    if push.order_fully_shipped {
        complete_order(api, &order).await?;
    }
    Ok(())
}

/// A note of the order.
#[derive(Deserialize)]
struct Note {
    #[serde(default)]
    note: String,
}

/// Adds an order note unless the order already has one with this text (a retried job
/// writes it once).
async fn add_note_once(api: &Api<'_>, order: &str, text: &str, customer_note: bool) -> Result<(), StorefrontError> {
    let notes_path = format!("{}/notes", order_path(order));
    let notes = api.get(&notes_path, &[]).await?.json::<Vec<Note>>()?;
    if notes.iter().any(|n| n.note.trim() == text.trim()) {
        return Ok(());
    }
    api.post(&notes_path, &json!({"note": text, "customer_note": customer_note}))
        .await?;
    Ok(())
}

/// Sets the order `completed` unless it already is, or was cancelled or refunded meanwhile
/// (completing would revive it).
async fn complete_order(api: &Api<'_>, order: &str) -> Result<(), StorefrontError> {
    let current = api.get(&order_path(order), &[]).await?.json::<Order>()?;
    match current.status.as_str() {
        "completed" => Ok(()),
        "cancelled" | "refunded" | "trash" => {
            tracing::info!(platform = PLATFORM, order, status = %current.status, "order not completed: it is closed");
            Ok(())
        }
        _ => {
            api.put(&order_path(order), &json!({"status": "completed"})).await?;
            Ok(())
        }
    }
}

pub(super) async fn push_status(api: &Api<'_>, order_id: &str, status: &StatusPush) -> Result<(), StorefrontError> {
    let order = http::segment(order_id)?;
    match status {
        StatusPush::Delivered { tracking_number } => {
            add_note_once(api, &order, &format!("Delivered: {tracking_number}"), false).await
        }
        StatusPush::Cancelled { .. } => {
            let current = api.get(&order_path(&order), &[]).await?.json::<Order>()?;
            if current.status == "cancelled" {
                return Ok(());
            }
            match api.put(&order_path(&order), &json!({"status": "cancelled"})).await {
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
// `POST /wp-json/wc/v3/orders/{id}/refunds` with `amount` (it takes precedence over the line
// totals), `reason`, `line_items` (`id`, `quantity`, `refund_total`), `meta_data` and:
//
// - `api_refund: true` (WooCommerce's default): the order's payment gateway returns the money.
//   dropline has no payment processor of its own; the customer paid on the storefront, and
//   dropline's refund (whose email tells the customer the money went back to their payment
//   method) is only true once the gateway has refunded. With `false` WooCommerce would only
//   write a ledger line and nobody would pay the customer back. Shopify (refund transactions on
//   the order's payments) and Wix (Refund Payments) return the money the same way. A gateway
//   that cannot refund by API (cash on delivery, bank transfer) makes WooCommerce refuse the
//   whole refund with HTTP 500 `woocommerce_rest_cannot_create_order_refund`: that is a
//   refusal for good (the seller refunds by hand), not an outage.
// - `api_restock: false`: the goods were never in the seller's stock.
//
// The API has no switch for WooCommerce's own "refunded order" email: the shop's email
// settings decide whether it goes out beside dropline's.
//
// WooCommerce keeps no idempotency key: the refund carries dropline's key in `meta_data`, and
// the order's refunds are read before anything is sent.

/// The meta key of dropline's refund id on a WooCommerce refund.
const REFUND_KEY_META: &str = "_dropline_refund_id";
/// WooCommerce's code for a refund it could not create (the gateway refused, the amount is
/// more than is left).
const CANNOT_REFUND: &str = "woocommerce_rest_cannot_create_order_refund";

#[derive(Deserialize)]
struct WooRefund {
    id: IdText,
    #[serde(default)]
    meta_data: Vec<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: serde_json::Value,
}

/// An id sent back as WooCommerce wrote it: a JSON number when it is one.
fn id_json(id: &str) -> serde_json::Value {
    match id.parse::<u64>() {
        Ok(number) => json!(number),
        Err(_) => json!(id),
    }
}

/// The body of `POST orders/{id}/refunds`. Amounts are decimal strings (WordPress takes a
/// numeric string for a number), so no float ever carries them.
fn refund_body(push: &RefundPush) -> serde_json::Value {
    let mut lines: Vec<(&str, u32, Money)> = Vec::new();
    for line in &push.lines {
        let Some(id) = line.external_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) else {
            continue;
        };
        match lines.iter_mut().find(|(known, _, _)| *known == id) {
            Some((_, quantity, total)) => {
                *quantity += line.quantity;
                *total = total.checked_add(line.amount).unwrap_or(*total);
            }
            None => lines.push((id, line.quantity, line.amount)),
        }
    }
    json!({
        "amount": push.amount.amount_string(),
        "reason": push.reason,
        "api_refund": true,
        "api_restock": false,
        "line_items": lines
            .iter()
            .map(|(id, quantity, total)| json!({
                "id": id_json(id),
                "quantity": quantity,
                "refund_total": total.amount_string(),
            }))
            .collect::<Vec<_>>(),
        "meta_data": [{ "key": REFUND_KEY_META, "value": push.idempotency_key }],
    })
}

/// WooCommerce answers a refund it could not make with HTTP 500: a gateway's refusal (or an
/// amount above what is left) is for good, only its "please try again" is an outage.
fn sort_refund_error(error: StorefrontError) -> StorefrontError {
    match error {
        StorefrontError::Unavailable(text) if text.contains(CANNOT_REFUND) && !text.contains("try again") => {
            StorefrontError::Refused(text)
        }
        other => other,
    }
}

pub(super) async fn push_refund(api: &Api<'_>, push: &RefundPush) -> Result<RefundReceipt, StorefrontError> {
    let order = http::segment(&push.order_external_id)?;
    let path = format!("{}/refunds", order_path(&order));
    let existing = api.get(&path, &[("per_page", "100")]).await?.json::<Vec<WooRefund>>()?;
    let carries_key = |refund: &WooRefund| {
        refund
            .meta_data
            .iter()
            .any(|meta| meta.key == REFUND_KEY_META && meta.value.as_str() == Some(push.idempotency_key.as_str()))
    };
    if let Some(found) = existing.into_iter().find(carries_key) {
        return Ok(RefundReceipt {
            platform_refund_id: found.id.0,
            found_existing: true,
        });
    }
    let created = api
        .post(&path, &refund_body(push))
        .await
        .map_err(sort_refund_error)?
        .json::<WooRefund>()?;
    Ok(RefundReceipt {
        platform_refund_id: created.id.0,
        found_existing: false,
    })
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------
//
// A variable product's variations: `POST products/{id}/variations/batch` with `update`, at most
// 100 a request, of `{id, manage_stock: true, stock_quantity, regular_price, sale_price}`. Each
// item is answered on its own: one WooCommerce could not update comes back as `{id, error:
// {code, message}}` and is refused alone. A simple product (its one variant has the product's
// id) takes the same fields in `PUT products/{id}`, which also carries the visibility: `status`
// `publish` or `private`. Hiding goes before the variations' writes and showing after them.
//
// WooCommerce shows the regular price struck through beside a lower sale price: with a
// compare-at price the regular price is the compare-at and the sale price the price; without
// one the regular price is the price and the sale price `""` (none). Prices are decimal
// strings, as WooCommerce writes them.

/// WooCommerce takes at most this many items in one batch request.
const BATCH_LIMIT: usize = 100;

/// The stock and price fields of a variation or simple product update (empty when the variant
/// asks for neither), or why its price cannot be written.
fn listing_fields(
    variant: &VariantListing,
    currency: Currency,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut fields = serde_json::Map::new();
    if let Some(units) = variant.stock {
        fields.insert("manage_stock".into(), json!(true));
        fields.insert("stock_quantity".into(), json!(units));
    }
    if let Some(price) = &variant.price {
        let (price, compare_at) = listing::checked_price(price, currency)?;
        let (regular, sale) = match compare_at {
            Some(was) => (was.amount_string(), price.amount_string()),
            None => (price.amount_string(), String::new()),
        };
        fields.insert("regular_price".into(), json!(regular));
        fields.insert("sale_price".into(), json!(sale));
    }
    Ok(fields)
}

/// The body of one variations batch.
fn batch_body(updates: &[(&str, serde_json::Map<String, serde_json::Value>)]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = updates
        .iter()
        .map(|(id, fields)| {
            let mut item = serde_json::Map::new();
            item.insert("id".into(), id_json(id));
            item.extend(fields.clone());
            serde_json::Value::Object(item)
        })
        .collect();
    json!({ "update": items })
}

#[derive(Deserialize)]
struct BatchAnswer {
    update: Vec<BatchItem>,
}

#[derive(Deserialize)]
struct BatchItem {
    #[serde(default)]
    id: Option<IdText>,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl ItemError {
    fn reason(&self) -> String {
        let message = self.message.as_deref().map(str::trim).filter(|m| !m.is_empty());
        match (message, self.code.as_deref().filter(|c| !c.is_empty())) {
            (Some(message), Some(code)) => format!("WooCommerce refused it: {message} ({code})"),
            (Some(message), None) => format!("WooCommerce refused it: {message}"),
            (None, Some(code)) => format!("WooCommerce refused it ({code})"),
            (None, None) => "WooCommerce refused it without a reason".to_string(),
        }
    }
}

/// What a batch answer says of each variation sent: `(id, None)` written, `(id, Some(reason))`
/// refused. An item is matched by its id, else by its place; a variation the answer does not
/// mention is refused as not written.
fn batch_outcome(sent: &[&str], answer: &BatchAnswer) -> Vec<(String, Option<String>)> {
    sent.iter()
        .enumerate()
        .map(|(position, id)| {
            let item = answer
                .update
                .iter()
                .find(|item| item.id.as_ref().is_some_and(|answered| answered.0 == *id))
                .or_else(|| {
                    answer
                        .update
                        .get(position)
                        .filter(|item| item.id.as_ref().is_none_or(|answered| answered.0 == "0"))
                });
            let outcome = match item {
                None => Some(format!("WooCommerce's batch answer does not mention variation {id}")),
                Some(item) => item.error.as_ref().map(ItemError::reason),
            };
            (id.to_string(), outcome)
        })
        .collect()
}

#[derive(Deserialize)]
struct WrittenProduct {
    id: IdText,
    #[serde(default)]
    status: Option<String>,
}

pub(super) async fn push_listings(
    api: &Api<'_>,
    currency: Currency,
    pushes: &[ListingPush],
) -> Result<ListingReceipt, StorefrontError> {
    let mut batch = Batch::new(api);
    for push in pushes {
        let Some(product) = listing::id_of(&push.platform_product_id) else {
            batch.refuse(&push.platform_product_id, "the product has no WooCommerce id");
            continue;
        };
        let product_path = format!("/wp-json/wc/v3/products/{}", http::segment(product)?);
        // The product's own fields (a simple product's stock and prices, the status).
        let mut own = serde_json::Map::new();
        let mut variations: Vec<(&str, serde_json::Map<String, serde_json::Value>)> = Vec::new();
        for variant in &push.variants {
            let Some(id) = listing::id_of(&variant.platform_variant_id) else {
                batch.refuse(
                    &variant.platform_variant_id,
                    format!("the variant with SKU {:?} has no WooCommerce id", variant.sku),
                );
                continue;
            };
            match listing_fields(variant, currency) {
                Err(reason) => batch.refuse(id, reason),
                Ok(fields) if fields.is_empty() => {}
                Ok(fields) if id == product => own.extend(fields),
                Ok(fields) => variations.push((id, fields)),
            }
        }
        let status = push.published.map(|shown| if shown { "publish" } else { "private" });
        if let Some(status) = status {
            own.insert("status".into(), json!(status));
        }
        let hide_first = push.published == Some(false);
        if hide_first {
            put_product(&mut batch, product, &product_path, own.clone(), status).await?;
        }
        for chunk in variations.chunks(BATCH_LIMIT) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _)| *id).collect();
            let path = format!("{product_path}/variations/batch");
            let body = batch_body(chunk).to_string();
            let Some(answer) = batch.attempt(&ids, Method::POST, &path, Some(body)).await? else {
                continue;
            };
            for (id, refusal) in batch_outcome(&ids, &answer.json::<BatchAnswer>()?) {
                if let Some(reason) = refusal {
                    batch.refuse(&id, reason);
                }
            }
        }
        if !hide_first {
            put_product(&mut batch, product, &product_path, own, status).await?;
        }
    }
    Ok(batch.receipt())
}

/// `PUT products/{id}` with the product's own fields, when there are any.
async fn put_product(
    batch: &mut Batch<'_>,
    product: &str,
    path: &str,
    fields: serde_json::Map<String, serde_json::Value>,
    status: Option<&str>,
) -> Result<(), StorefrontError> {
    if fields.is_empty() {
        return Ok(());
    }
    let body = serde_json::Value::Object(fields).to_string();
    if let Some(answer) = batch.attempt(&[product], Method::PUT, path, Some(body)).await? {
        let written = answer.json::<WrittenProduct>()?;
        if let (Some(wanted), Some(kept)) = (status, written.status.as_deref())
            && wanted != kept
        {
            batch.refuse(
                product,
                format!("WooCommerce kept product {} {kept}, not {wanted}", written.id),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_app::storefront::RefundLine;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("usd"))
    }

    /// The body has the fields of WooCommerce's "create a refund" (REST API v3 order refunds):
    /// `amount`, `reason`, `api_refund`, `api_restock`, `line_items` (`id`, `quantity`,
    /// `refund_total`) and `meta_data` (`key`, `value`).
    #[test]
    fn a_refund_body_goes_through_the_gateway_and_carries_the_key() {
        let push = RefundPush {
            order_external_id: "727".into(),
            idempotency_key: "0190a4b2-7c1d-7e00-8000-000000000002".into(),
            amount: usd(3_000),
            reason: "late".into(),
            lines: vec![
                RefundLine {
                    external_id: Some("315".into()),
                    sku: "LAMP".into(),
                    quantity: 1,
                    amount: usd(1_250),
                },
                RefundLine {
                    external_id: Some("315".into()),
                    sku: "LAMP".into(),
                    quantity: 1,
                    amount: usd(1_250),
                },
                RefundLine {
                    external_id: None,
                    sku: "CUSTOM".into(),
                    quantity: 1,
                    amount: usd(500),
                },
            ],
            notify_customer: false,
        };
        assert_eq!(
            refund_body(&push),
            json!({
                "amount": "30.00",
                "reason": "late",
                "api_refund": true,
                "api_restock": false,
                "line_items": [{ "id": 315, "quantity": 2, "refund_total": "25.00" }],
                "meta_data": [{ "key": "_dropline_refund_id", "value": "0190a4b2-7c1d-7e00-8000-000000000002" }],
            })
        );
    }

    fn listing(id: &str, stock: Option<u32>, price: Option<(i64, Option<i64>)>) -> VariantListing {
        VariantListing {
            platform_variant_id: id.into(),
            sku: "SKU".into(),
            stock,
            price: price.map(|(price, compare_at)| dropline_app::storefront::ListingPrice {
                price: usd(price),
                compare_at: compare_at.map(usd),
            }),
        }
    }

    /// With a compare-at price the regular price is the compare-at and the sale price the
    /// price; without, the regular price is the price and the sale price empty. Stock is
    /// managed. Prices are decimal strings.
    #[test]
    fn listing_fields_put_the_compare_at_in_the_regular_price() {
        let fields = |variant: &VariantListing| {
            serde_json::Value::Object(listing_fields(variant, usd(0).currency).expect("fields"))
        };
        assert_eq!(
            fields(&listing("733", Some(4), Some((1299, Some(1999))))),
            json!({"manage_stock": true, "stock_quantity": 4, "regular_price": "19.99", "sale_price": "12.99"})
        );
        assert_eq!(
            fields(&listing("733", None, Some((1299, None)))),
            json!({"regular_price": "12.99", "sale_price": ""})
        );
        assert_eq!(
            fields(&listing("733", Some(0), None)),
            json!({"manage_stock": true, "stock_quantity": 0})
        );
        assert_eq!(fields(&listing("733", None, None)), json!({}));
        let euros = VariantListing {
            price: Some(dropline_app::storefront::ListingPrice {
                price: Money::new(100, Currency::parse("EUR").expect("eur")),
                compare_at: None,
            }),
            ..listing("733", None, None)
        };
        assert!(listing_fields(&euros, usd(0).currency).is_err());
    }

    #[test]
    fn a_batch_body_names_each_variation_by_its_numeric_id() {
        let mut fields = serde_json::Map::new();
        fields.insert("stock_quantity".into(), json!(3));
        assert_eq!(
            batch_body(&[("733", fields.clone()), ("x-1", fields)]),
            json!({"update": [{"id": 733, "stock_quantity": 3}, {"id": "x-1", "stock_quantity": 3}]})
        );
    }

    fn outcome(sent: &[&str], answer: serde_json::Value) -> Vec<(String, Option<String>)> {
        batch_outcome(sent, &serde_json::from_value(answer).expect("a batch answer"))
    }

    /// WooCommerce answers each batch item: the variation, or `{id, error}`.
    #[test]
    fn a_batch_answer_refuses_only_its_failed_items() {
        let result = outcome(
            &["733", "999", "734"],
            json!({"update": [
                {"id": 733, "sku": "A", "stock_quantity": 3},
                {"id": 999, "error": {"code": "woocommerce_rest_product_variation_invalid_id", "message": "Invalid ID.", "data": {"status": 400}}},
            ]}),
        );
        assert_eq!(result[0], ("733".to_string(), None));
        assert_eq!(
            result[1],
            (
                "999".to_string(),
                Some("WooCommerce refused it: Invalid ID. (woocommerce_rest_product_variation_invalid_id)".to_string())
            )
        );
        let missing = result[2].1.as_deref().expect("not mentioned");
        assert!(missing.contains("does not mention variation 734"), "{missing}");
        // An error item without an id is matched by its place.
        let result = outcome(&["733"], json!({"update": [{"id": 0, "error": {"message": "Sorry"}}]}));
        assert_eq!(result[0].1.as_deref(), Some("WooCommerce refused it: Sorry"));
    }

    #[test]
    fn a_batch_answer_without_its_update_list_is_a_bad_response() {
        for bad in [r#"{"create": []}"#, r#"{"update": {}}"#, "[]", "not json"] {
            let answer = http::Answer {
                headers: reqwest::header::HeaderMap::new(),
                body: bad.as_bytes().to_vec(),
                call: "POST /wp-json/wc/v3/products/1/variations/batch".into(),
                platform: PLATFORM,
            };
            let error = answer.json::<BatchAnswer>().map(|_| ()).expect_err(bad);
            assert!(matches!(error, StorefrontError::BadResponse(_)), "{bad}: {error:?}");
        }
    }

    #[test]
    fn a_gateway_refusal_is_for_good_and_try_again_is_not() {
        let refused = sort_refund_error(StorefrontError::Unavailable(
            "WooCommerce answered HTTP 500 to POST /x: The payment gateway for this order does not support automatic refunds. (woocommerce_rest_cannot_create_order_refund)".into(),
        ));
        assert!(matches!(refused, StorefrontError::Refused(_)), "{refused:?}");
        let again = sort_refund_error(StorefrontError::Unavailable(
            "WooCommerce answered HTTP 500 to POST /x: Cannot create order refund, please try again. (woocommerce_rest_cannot_create_order_refund)".into(),
        ));
        assert!(again.is_retryable(), "{again:?}");
        let outage = sort_refund_error(StorefrontError::Unavailable("WooCommerce answered HTTP 502".into()));
        assert!(outage.is_retryable());
    }
}
