//! WooCommerce's REST API v3, with the Shipment Tracking extension's endpoints for tracking
//! items. Catalogue pages are numbered; a variable product's variants are its variations.

use super::HttpStorefronts;
use super::http::{self, Api, DecimalText, IdText};
use dropline_app::storefront::{
    FulfillmentPush, ProductPage, RemoteProduct, RemoteVariant, ShopInfo, StatusPush, StorefrontError, StorefrontTarget,
};
use dropline_domain::money::{Currency, Money};
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
