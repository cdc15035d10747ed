//! CJ Dropshipping behind the engine's supplier port.
//!
//! | port | CJ |
//! | --- | --- |
//! | quote | `variant/queryByVid` per line (price, SKU drift) + `freightCalculate` (the supplier order's method, else the cheapest) |
//! | place | `createOrderV2` with the idempotency key as `orderNumber`, `payType` 2 (paid from the CJ balance), then `getOrderDetail` for the amount |
//! | find | `getOrderDetail` by `orderNumber` |
//! | status | `getOrderDetail` by CJ's order id |
//! | cancel | `deleteOrder` |
//! | tracking | `trackInfo` |
//! | stock | per CJ product: `variant/query?pid=` + `getInventoryByPid`; offers without a product id: `variant/queryByVid` + `stock/queryByVid` |
//! | product | `product/query` + `variant/query?pid=` + `getInventoryByPid` |
//! | list_orders | `shopping/order/list`, 50 a page |
//!
//! CJ's line id is the offer's `supplier_variant_id` (CJ's `vid`), else its SKU. CJ documents
//! no business codes for "out of stock", "cannot ship there" or "no such variant", so a
//! refusal is sorted by the words of its message; anything else is a plain rejection.

use super::remark;
use crate::cj::CjError;
use crate::cj::client::{CjClient, FreightRequest, Line, OrderRequest};
use crate::cj::orders::{CancelOutcome as CjCancel, CjOrderStatus, OrderDetail};
use crate::cj::product::{CjProductStock, CjProductVariants};
use dropline_app::supplier::{
    CancelOutcome, PlaceRequest, RemoteOrder, RemoteOrderPage, RemoteParcel, RemoteStatus, StockLevel, SupplierError,
    SupplierProduct, SupplierProductVariant, TrackingEvent,
};
use dropline_domain::catalog::{Offer, Supplier, SupplierConnection};
use dropline_domain::money::Money;
use dropline_domain::order::{SupplierOrder, SupplierOrderLine};
use dropline_domain::placement::FailureKind;
use dropline_domain::state::ShipmentState;
use dropline_domain::submission::Quote;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Orders per page of CJ's order list (CJ's own client asks for at most 50).
const PAGE_SIZE: u32 = 50;

pub(crate) fn build(connection: &SupplierConnection, timeout: Duration) -> Result<CjClient, SupplierError> {
    let key = connection
        .api_key
        .as_deref()
        .ok_or_else(|| SupplierError::Misconfigured("the CJ supplier has no API key".into()))?;
    let base = connection.api_base.as_deref().unwrap_or(CjClient::PRODUCTION);
    let client = CjClient::new(base, key)
        .map(|client| client.with_timeout(timeout))
        .map_err(|error| SupplierError::Misconfigured(error.to_string()))?;
    Ok(match connection.requests_per_second {
        Some(per_second) => client.with_rate_limit(per_second),
        None => client,
    })
}

/// CJ's refusal in the port's terms.
pub(crate) fn error(error: CjError) -> SupplierError {
    match error {
        CjError::RateLimited { retry_after, .. } => SupplierError::RateLimited { retry_after },
        CjError::Credentials { .. } => SupplierError::Misconfigured(error.to_string()),
        CjError::Invalid { .. } | CjError::Rejected { .. } => SupplierError::Rejected {
            kind: failure_kind(&error.to_string()),
            reason: error.to_string(),
        },
        // A token refused twice, CJ busy, no answer or an unreadable one: later.
        CjError::TokenExpired { .. }
        | CjError::TokenInvalid { .. }
        | CjError::Unavailable { .. }
        | CjError::Malformed(_)
        | CjError::Transport(_) => SupplierError::Retryable(error.to_string()),
    }
}

fn failure_kind(message: &str) -> FailureKind {
    let text = message.to_ascii_lowercase();
    if text.contains("stock") || text.contains("inventory") {
        FailureKind::OutOfStock
    } else if text.contains("country") || text.contains("destination") || text.contains("not deliver") {
        FailureKind::CannotShip
    } else if text.contains("variant") || text.contains("sku") || text.contains("product") {
        FailureKind::SkuMissing
    } else {
        FailureKind::Rejected
    }
}

fn vid(line: &SupplierOrderLine) -> String {
    line.supplier_variant_id
        .clone()
        .unwrap_or_else(|| line.supplier_sku.clone())
}

fn from_country(supplier: &Supplier) -> String {
    supplier.ships_from.clone().unwrap_or_else(|| "CN".to_string())
}

pub(crate) async fn quote(
    client: &CjClient,
    supplier: &Supplier,
    order: &SupplierOrder,
) -> Result<Quote, SupplierError> {
    let mut unit_costs = BTreeMap::new();
    let mut variant_exists = BTreeMap::new();
    let mut lines = Vec::new();
    for line in &order.lines {
        let id = vid(line);
        match client.variant(&id).await.map_err(error)? {
            Some(info) => {
                unit_costs.insert(line.supplier_sku.clone(), info.sell_price);
                variant_exists.insert(line.supplier_sku.clone(), true);
                lines.push(Line {
                    vid: id,
                    quantity: line.quantity,
                });
            }
            None => {
                variant_exists.insert(line.supplier_sku.clone(), false);
            }
        }
    }
    let currency = order.expected_cost.currency;
    if lines.is_empty() {
        // Nothing left to ship: the check reports every SKU as gone.
        return Ok(Quote {
            unit_costs,
            shipping: Money::zero(currency),
            variant_exists,
        });
    }
    let request = FreightRequest {
        from_country: from_country(supplier),
        to_country: order.ship_to.country_code.clone(),
        zip: Some(order.ship_to.postal_code.clone()).filter(|z| !z.trim().is_empty()),
        lines,
    };
    let quotes = client.freight(&request).await.map_err(error)?;
    let chosen = order
        .shipping_method
        .as_ref()
        .and_then(|method| quotes.iter().find(|q| q.logistic_name.eq_ignore_ascii_case(method)))
        .or_else(|| quotes.iter().min_by_key(|q| q.price.minor));
    let Some(chosen) = chosen else {
        return Err(SupplierError::Rejected {
            kind: FailureKind::CannotShip,
            reason: format!("CJ offers no shipping to {}", order.ship_to.country_code),
        });
    };
    Ok(Quote {
        unit_costs,
        shipping: chosen.price,
        variant_exists,
    })
}

pub(crate) async fn place(
    client: &CjClient,
    supplier: &Supplier,
    request: &PlaceRequest,
) -> Result<RemoteOrder, SupplierError> {
    let ship_to = &request.ship_to;
    // The routed method when CJ offers it on this route, else CJ's cheapest: an offer's
    // method may carry the seller's own name for it.
    let freight = FreightRequest {
        from_country: from_country(supplier),
        to_country: ship_to.country_code.clone(),
        zip: Some(ship_to.postal_code.clone()).filter(|z| !z.trim().is_empty()),
        lines: request
            .lines
            .iter()
            .map(|l| Line {
                vid: vid(l),
                quantity: l.quantity,
            })
            .collect(),
    };
    let quotes = client.freight(&freight).await.map_err(error)?;
    let logistic_name = request
        .shipping_method
        .as_ref()
        .and_then(|method| quotes.iter().find(|q| q.logistic_name.eq_ignore_ascii_case(method)))
        .or_else(|| quotes.iter().min_by_key(|q| q.price.minor))
        .map(|q| q.logistic_name.clone())
        .ok_or_else(|| SupplierError::Rejected {
            kind: FailureKind::CannotShip,
            reason: format!("CJ offers no shipping to {}", ship_to.country_code),
        })?;
    let order = OrderRequest {
        country_code: ship_to.country_code.clone(),
        // CJ asks for the country's name beside its code; the code is what dropline keeps.
        country: ship_to.country_code.clone(),
        province: ship_to.region.clone().unwrap_or_else(|| ship_to.city.clone()),
        city: ship_to.city.clone(),
        address: ship_to.address1.clone(),
        address2: ship_to.address2.clone(),
        customer_name: ship_to.full_name(),
        zip: ship_to.postal_code.clone(),
        phone: ship_to.phone.clone().unwrap_or_default(),
        email: request.email.clone(),
        remark: Some(remark(request)),
        logistic_name,
        from_country: from_country(supplier),
        pay_type: Some(2),
        tax_id: request.tax_id.clone(),
        lines: request
            .lines
            .iter()
            .map(|l| Line {
                vid: vid(l),
                quantity: l.quantity,
            })
            .collect(),
    };
    let order_id = client.create_order(&request.key, &order).await.map_err(error)?;
    // The amount CJ charged; the order stands even when this look fails.
    match client.order_detail(&order_id).await {
        Ok(Some(detail)) => Ok(remote(detail)),
        _ => Ok(RemoteOrder {
            reference: order_id,
            key: Some(request.key.clone()),
            status: RemoteStatus::Received,
            raw_status: "CREATED".into(),
            cost: None,
            estimated_ship_at: None,
            parcels: Vec::new(),
            refused_skus: Vec::new(),
        }),
    }
}

fn remote(detail: OrderDetail) -> RemoteOrder {
    let state = detail
        .state
        .or_else(|| detail.status.as_deref().map(CjOrderStatus::from_cj))
        .unwrap_or(CjOrderStatus::Unknown);
    let status = match state {
        CjOrderStatus::Created | CjOrderStatus::InCart | CjOrderStatus::Unpaid => RemoteStatus::Received,
        CjOrderStatus::Unshipped => RemoteStatus::Accepted,
        CjOrderStatus::Shipped => RemoteStatus::Shipped,
        CjOrderStatus::Delivered => RemoteStatus::Delivered,
        CjOrderStatus::Cancelled => RemoteStatus::Cancelled,
        CjOrderStatus::Other | CjOrderStatus::Unknown => RemoteStatus::Unknown,
    };
    let parcels = detail
        .track_number
        .clone()
        .filter(|t| !t.trim().is_empty())
        .map(|tracking_number| RemoteParcel {
            carrier: detail.logistic_name.clone().unwrap_or_else(|| "CJ Packet".into()),
            tracking_number,
            tracking_url: detail.tracking_url.clone(),
        })
        .into_iter()
        .collect();
    // A negative amount is no charge at all.
    let cost = detail.order_amount.filter(|m| m.minor >= 0);
    RemoteOrder {
        reference: detail.order_id,
        key: detail.order_number,
        status,
        raw_status: detail.status.unwrap_or_else(|| state.to_string()),
        cost,
        estimated_ship_at: None,
        parcels,
        refused_skus: Vec::new(),
    }
}

pub(crate) async fn find(client: &CjClient, key: &str) -> Result<Option<RemoteOrder>, SupplierError> {
    Ok(client.order_by_number(key).await.map_err(error)?.map(remote))
}

pub(crate) async fn status(client: &CjClient, reference: &str) -> Result<Option<RemoteOrder>, SupplierError> {
    Ok(client.order_detail(reference).await.map_err(error)?.map(remote))
}

pub(crate) async fn cancel(client: &CjClient, reference: &str) -> Result<CancelOutcome, SupplierError> {
    Ok(match client.cancel_order(reference).await.map_err(error)? {
        CjCancel::Cancelled | CjCancel::NotFound => CancelOutcome::Cancelled,
        CjCancel::Refused { code, message } => CancelOutcome::Refused {
            reason: format!("CJ code {code}: {message}"),
        },
    })
}

pub(crate) async fn tracking(client: &CjClient, tracking_number: &str) -> Result<Vec<TrackingEvent>, SupplierError> {
    let infos = client.track_info(&[tracking_number]).await.map_err(error)?;
    let now = time::OffsetDateTime::now_utc();
    Ok(infos
        .into_iter()
        .filter(|i| i.tracking_number == tracking_number)
        .filter_map(|info| {
            let status = info.status.clone()?;
            let lower = status.to_ascii_lowercase();
            let state = if lower.contains("deliver") && !lower.contains("fail") {
                ShipmentState::Delivered
            } else if lower.contains("fail") || lower.contains("return") {
                ShipmentState::Exception
            } else if lower.contains("transit") || lower.contains("ship") {
                ShipmentState::InTransit
            } else {
                ShipmentState::InfoReceived
            };
            Some(TrackingEvent {
                // CJ prints times without a zone; UTC is assumed.
                at: info.delivery_time.map_or(now, |t| t.assume_utc()),
                state,
                description: status,
                location: info.to_country,
            })
        })
        .collect())
}

/// The trimmed, non-blank text.
fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// A level for an offer whose answer cannot be trusted: nothing of it is applied.
fn untrusted(offer: &Offer, reason: impl Into<String>) -> StockLevel {
    StockLevel {
        supplier_sku: offer.supplier_sku.clone(),
        available: None,
        unit_cost: None,
        problem: Some(reason.into()),
    }
}

/// A level for an offer CJ no longer sells.
fn gone(offer: &Offer) -> StockLevel {
    StockLevel {
        supplier_sku: offer.supplier_sku.clone(),
        available: None,
        unit_cost: None,
        problem: None,
    }
}

/// Whether a CJ error concerns the one product (or variant) asked about rather than the
/// whole account or connection: a parameter refused or a business refusal. Those become a
/// problem of the offers concerned; every other error fails the whole read.
fn concerns_one_item(error: &CjError) -> bool {
    matches!(error, CjError::Invalid { .. } | CjError::Rejected { .. })
}

/// Stock and cost of the offers, read by product: `variant/query?pid=` and
/// `getInventoryByPid` once per CJ product (`supplier_product_id`), whatever the number of its
/// offers; offers without a product id are read by variant (`variant/queryByVid` +
/// `stock/queryByVid`). Levels come back in the order of `offers`.
///
/// - A variant missing from its product's list (or a product CJ lists no variant of) is no
///   longer sold: `available` `None`, no problem.
/// - A variant whose price or stock cannot be believed, a variant missing from its product's
///   inventory, a product whose list had entries that could not be read (so an absence proves
///   nothing), or a product CJ refused to answer for: a `problem`, nothing applied.
/// - A body that is not CJ's envelope, a token, rate-limit or transport failure: the error
///   for the whole read (the sync tries again later).
pub(crate) async fn stock(client: &CjClient, offers: &[Offer]) -> Result<Vec<StockLevel>, SupplierError> {
    let mut levels: Vec<Option<StockLevel>> = vec![None; offers.len()];
    // Products in the order first met, with the offers of each (CJ's ids compared without
    // case).
    let mut products: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut loose = Vec::new();
    for (i, offer) in offers.iter().enumerate() {
        let Some(pid) = given(offer.supplier_product_id.as_deref()) else {
            loose.push(i);
            continue;
        };
        match index.get(&pid.to_ascii_uppercase()) {
            Some(&at) => products[at].1.push(i),
            None => {
                index.insert(pid.to_ascii_uppercase(), products.len());
                products.push((pid, vec![i]));
            }
        }
    }
    for (pid, members) in products {
        let variants = match client.product_variants(pid).await {
            Ok(variants) => variants,
            Err(refused) if concerns_one_item(&refused) => {
                for i in members {
                    levels[i] = Some(untrusted(
                        &offers[i],
                        format!("CJ refused to list product {pid}: {refused}"),
                    ));
                }
                continue;
            }
            Err(other) => return Err(error(other)),
        };
        // A product without variants has no stock to read.
        let inventory = if variants.variants.is_empty() {
            None
        } else {
            match client.product_stock(pid).await {
                Ok(inventory) => inventory,
                Err(refused) if concerns_one_item(&refused) => {
                    for i in members {
                        levels[i] = Some(untrusted(
                            &offers[i],
                            format!("CJ refused the inventory of product {pid}: {refused}"),
                        ));
                    }
                    continue;
                }
                Err(other) => return Err(error(other)),
            }
        };
        for i in members {
            levels[i] = Some(level_in_product(&offers[i], pid, &variants, inventory.as_ref()));
        }
    }
    for i in loose {
        levels[i] = Some(level_by_variant(client, &offers[i]).await?);
    }
    Ok(levels.into_iter().flatten().collect())
}

/// An offer's level from its product's variants and inventory (`None`: CJ answered without
/// data, or it was not asked, the product having no variant).
fn level_in_product(
    offer: &Offer,
    pid: &str,
    variants: &CjProductVariants,
    inventory: Option<&CjProductStock>,
) -> StockLevel {
    let sku = offer.supplier_sku.as_str();
    let found = match given(offer.supplier_variant_id.as_deref()) {
        Some(vid) => variants.by_vid(vid),
        None => variants.by_sku(sku).or_else(|| variants.by_vid(sku)),
    };
    let Some(variant) = found else {
        if !variants.unreadable.is_empty() {
            return untrusted(
                offer,
                format!(
                    "CJ's variants of product {pid} include entries that cannot be read ({}), so the absence of {sku} proves nothing",
                    variants.unreadable.join("; ")
                ),
            );
        }
        return gone(offer);
    };
    let price = match &variant.sell_price {
        Ok(price) => *price,
        Err(why) => return untrusted(offer, format!("CJ's price of {sku} cannot be read: {why}")),
    };
    let units = match inventory {
        Some(stock) => match stock.of(&variant.vid) {
            Some(Ok(units)) => *units,
            Some(Err(why)) => return untrusted(offer, format!("CJ's stock of {sku} cannot be read: {why}")),
            None => {
                return untrusted(
                    offer,
                    format!("CJ's inventory of product {pid} does not list variant {}", variant.vid),
                );
            }
        },
        None => return untrusted(offer, format!("CJ gave no inventory for product {pid}")),
    };
    StockLevel {
        supplier_sku: offer.supplier_sku.clone(),
        available: Some(units),
        unit_cost: Some(price),
        problem: None,
    }
}

/// An offer's level read by its variant id (or its SKU when it has none): for offers that do
/// not name their CJ product.
async fn level_by_variant(client: &CjClient, offer: &Offer) -> Result<StockLevel, SupplierError> {
    let Some(id) = given(offer.supplier_variant_id.as_deref()).or(given(Some(&offer.supplier_sku))) else {
        return Ok(untrusted(offer, "the offer names no CJ variant id nor SKU"));
    };
    let sku = offer.supplier_sku.as_str();
    let variant = match client.variant_entry(id).await {
        Ok(Some(Ok(variant))) => variant,
        Ok(Some(Err(why))) => return Ok(untrusted(offer, format!("CJ's answer for {sku} cannot be read: {why}"))),
        Ok(None) => return Ok(gone(offer)),
        Err(refused) if concerns_one_item(&refused) => {
            return Ok(untrusted(offer, format!("CJ refused to show variant {id}: {refused}")));
        }
        Err(other) => return Err(error(other)),
    };
    let price = match variant.sell_price {
        Ok(price) => price,
        Err(why) => return Ok(untrusted(offer, format!("CJ's price of {sku} cannot be read: {why}"))),
    };
    let units = match client.stock_entry(id).await {
        Ok(Some(Ok(units))) => units,
        Ok(Some(Err(why))) => return Ok(untrusted(offer, format!("CJ's stock of {sku} cannot be read: {why}"))),
        // A variant CJ sells but holds in no warehouse.
        Ok(None) => 0,
        Err(refused) if concerns_one_item(&refused) => {
            return Ok(untrusted(
                offer,
                format!("CJ refused the stock of variant {id}: {refused}"),
            ));
        }
        Err(other) => return Err(error(other)),
    };
    Ok(StockLevel {
        supplier_sku: offer.supplier_sku.clone(),
        available: Some(units),
        unit_cost: Some(price),
        problem: None,
    })
}

/// A product of CJ's catalogue with its variants (`product/query`, `variant/query`,
/// `getInventoryByPid`): `None` when CJ has no such product. A variant whose price cannot be
/// believed is left out (there is no cost to map it with); one whose stock cannot be is given
/// without stock.
pub(crate) async fn product(client: &CjClient, product_id: &str) -> Result<Option<SupplierProduct>, SupplierError> {
    let Some(pid) = given(Some(product_id)) else {
        return Ok(None);
    };
    let Some(info) = client.product(pid).await.map_err(error)? else {
        return Ok(None);
    };
    let variants = client.product_variants(pid).await.map_err(error)?;
    let inventory = if variants.variants.is_empty() {
        None
    } else {
        client.product_stock(pid).await.map_err(error)?
    };
    let mut out = Vec::with_capacity(variants.variants.len());
    for variant in &variants.variants {
        let unit_cost = match &variant.sell_price {
            Ok(price) => *price,
            Err(why) => {
                tracing::warn!(pid, vid = %variant.vid, %why, "CJ variant left out of the import: its price cannot be read");
                continue;
            }
        };
        let stock = inventory
            .as_ref()
            .and_then(|stock| stock.of(&variant.vid))
            .and_then(|units| units.as_ref().ok().copied());
        out.push(SupplierProductVariant {
            // CJ places orders by variant id; a variant without a SKU is known by it.
            sku: variant.sku.clone().unwrap_or_else(|| variant.vid.clone()),
            variant_id: Some(variant.vid.clone()),
            options: variant.key.clone().or_else(|| variant.name.clone()).unwrap_or_default(),
            // CJ's API gives no UPC or EAN.
            barcode: None,
            unit_cost,
            stock,
        });
    }
    Ok(Some(SupplierProduct {
        url: Some(product_page(&info.name, &info.pid)),
        product_id: info.pid,
        title: info.name,
        variants: out,
    }))
}

/// CJ's product page: `https://cjdropshipping.com/product/<name as a slug>-p-<pid>.html`, the
/// form CJ's own pages link to. CJ's API gives no address; this one is built as CJ writes
/// them, the slug made of the English name's letters and digits.
fn product_page(name: &str, pid: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "product" } else { slug };
    format!("https://cjdropshipping.com/product/{slug}-p-{pid}.html")
}

pub(crate) async fn list_orders(client: &CjClient, page: u32) -> Result<RemoteOrderPage, SupplierError> {
    let listed = client.list_orders(page.max(1), PAGE_SIZE).await.map_err(error)?;
    let more = listed.has_more();
    Ok(RemoteOrderPage {
        orders: listed.orders.into_iter().map(remote).collect(),
        more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_sorted_by_their_words() {
        assert_eq!(
            failure_kind("Insufficient inventory for vid X"),
            FailureKind::OutOfStock
        );
        assert_eq!(failure_kind("The country is not supported"), FailureKind::CannotShip);
        assert_eq!(failure_kind("Variant does not exist"), FailureKind::SkuMissing);
        assert_eq!(failure_kind("Balance too low"), FailureKind::Rejected);
    }

    #[test]
    fn transport_and_rate_limits_are_retried_credentials_are_not() {
        assert!(error(CjError::Transport("timed out".into())).is_retryable());
        assert_eq!(
            error(CjError::RateLimited {
                code: 429,
                message: "slow down".into(),
                retry_after: Some(Duration::from_secs(7))
            }),
            SupplierError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert!(matches!(
            error(CjError::Credentials {
                code: 1_600_005,
                message: "bad key".into()
            }),
            SupplierError::Misconfigured(_)
        ));
        assert!(matches!(
            error(CjError::Rejected {
                code: 1_603_002,
                message: "Out of stock".into()
            }),
            SupplierError::Rejected {
                kind: FailureKind::OutOfStock,
                ..
            }
        ));
    }
}
