//! AliExpress dropshipping behind the engine's supplier port.
//!
//! | port | AliExpress |
//! | --- | --- |
//! | quote | `aliexpress.ds.product.get` per line (price, SKU drift) + `aliexpress.ds.freight.query` per line (the supplier order's service, else the cheapest) |
//! | place | `aliexpress.ds.order.create` with the idempotency key as `out_order_id`; a resend within 24 hours names the orders already made |
//! | find | not offered by AliExpress: the engine resends within the 24-hour window instead ([`SupplierClient::resend_window`](dropline_app::supplier::SupplierClient::resend_window)) |
//! | status | `aliexpress.trade.ds.order.get` for each AliExpress order of the supplier order |
//! | cancel | not offered by AliExpress: refused, for a person to cancel in AliExpress |
//! | tracking | `aliexpress.logistics.ds.trackinginfo.query` |
//! | stock | `aliexpress.ds.product.get`, once per product |
//! | product | `aliexpress.ds.product.get` |
//! | list_orders | not offered |
//!
//! An offer names AliExpress's product id (`supplier_product_id`) and SKU id
//! (`supplier_variant_id`); the SKU attributes order creation needs are read fresh from the
//! product. One supplier order may become several AliExpress orders (one per AliExpress
//! seller): its reference is their ids joined by commas.

use super::remark;
use crate::aliexpress::client::{AeAddress, AliExpressClient, PlaceItem, PlaceOrder};
use crate::aliexpress::error::{AeError, RejectKind};
use crate::aliexpress::orders::{AeOrder, AeOrderStatus, AeProduct};
use dropline_app::supplier::{
    CancelOutcome, PlaceRequest, RemoteOrder, RemoteOrderPage, RemoteParcel, RemoteStatus, StockLevel, SupplierError,
    SupplierProduct, SupplierProductVariant, TrackingEvent,
};
use dropline_domain::catalog::{Offer, SupplierConnection};
use dropline_domain::money::Money;
use dropline_domain::order::{SupplierOrder, SupplierOrderLine};
use dropline_domain::placement::FailureKind;
use dropline_domain::state::ShipmentState;
use dropline_domain::submission::Quote;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The service AliExpress uses when none is named.
const DEFAULT_SERVICE: &str = "CAINIAO_STANDARD";

pub(crate) fn build(connection: &SupplierConnection, timeout: Duration) -> Result<AliExpressClient, SupplierError> {
    let missing = |what: &str| SupplierError::Misconfigured(format!("the AliExpress supplier has no {what}"));
    let app_key = connection
        .api_key
        .as_deref()
        .ok_or_else(|| missing("app key (api_key)"))?;
    let secret = connection
        .api_secret
        .as_deref()
        .ok_or_else(|| missing("app secret (api_secret)"))?;
    let token = connection
        .access_token
        .as_deref()
        .ok_or_else(|| missing("access token"))?;
    let base = connection.api_base.as_deref().unwrap_or(AliExpressClient::PRODUCTION);
    let mut client = AliExpressClient::new(base, app_key, secret, token)
        .map_err(|error| SupplierError::Misconfigured(error.to_string()))?
        .with_timeout(timeout);
    if let Some(refresh) = &connection.refresh_token {
        client = client.with_refresh_token(refresh);
    }
    if let Some(per_second) = connection.requests_per_second {
        client = client.with_rate_limit(per_second);
    }
    Ok(client)
}

/// AliExpress's refusal in the port's terms.
pub(crate) fn error(error: AeError) -> SupplierError {
    let reason = error.to_string();
    match &error {
        AeError::RateLimited { retry_after, .. } => SupplierError::RateLimited {
            retry_after: *retry_after,
        },
        AeError::Credentials { .. } | AeError::TokenInvalid { .. } => SupplierError::Misconfigured(reason),
        AeError::Rejected { .. } | AeError::Invalid { .. } => {
            let kind = match error.reject_kind() {
                Some(RejectKind::AlreadyPlaced) => return SupplierError::Unconfirmed(reason),
                Some(RejectKind::Account) => return SupplierError::Misconfigured(reason),
                Some(RejectKind::AddressInvalid) => return SupplierError::AddressRefused(reason),
                Some(RejectKind::OutOfStock) => FailureKind::OutOfStock,
                Some(RejectKind::CannotShip | RejectKind::ShippingMethod) => FailureKind::CannotShip,
                Some(RejectKind::Other) | None => FailureKind::Rejected,
            };
            SupplierError::Rejected { kind, reason }
        }
        AeError::Unavailable { .. } | AeError::Malformed(_) | AeError::Transport(_) => SupplierError::Retryable(reason),
    }
}

fn product_id(line_product: Option<&String>, sku: &str) -> Result<String, SupplierError> {
    line_product.cloned().ok_or_else(|| {
        SupplierError::Misconfigured(format!(
            "the offer of {sku} names no AliExpress product id (supplier_product_id)"
        ))
    })
}

/// The SKU of a line in a fresh product answer: by SKU id, else by its attributes.
fn find_sku<'a>(
    product: &'a AeProduct,
    line_sku_id: Option<&str>,
    sku: &str,
) -> Option<&'a crate::aliexpress::orders::AeSku> {
    line_sku_id
        .and_then(|id| product.sku(id))
        .or_else(|| product.skus.iter().find(|s| s.sku_attr == sku || s.sku_id == sku))
}

struct LineAtAe {
    product_id: String,
    sku_id: String,
    sku_attr: String,
    price: Money,
    available: bool,
}

async fn line_at_ae(
    client: &AliExpressClient,
    line: &SupplierOrderLine,
    country: &str,
) -> Result<Option<LineAtAe>, SupplierError> {
    let product_id = product_id(line.supplier_product_id.as_ref(), &line.supplier_sku)?;
    let Some(product) = client.product(&product_id, country).await.map_err(error)? else {
        return Ok(None);
    };
    // The line's own SKU unreadable: AliExpress's answer for it cannot be bought on.
    let wanted = line.supplier_variant_id.as_deref().unwrap_or(&line.supplier_sku);
    if find_sku(&product, line.supplier_variant_id.as_deref(), &line.supplier_sku).is_none()
        && let Some(bad) = product
            .unreadable_sku(wanted)
            .or_else(|| product.unreadable_sku(&line.supplier_sku))
    {
        return Err(SupplierError::Retryable(format!(
            "AliExpress's answer for {} cannot be read: {}",
            line.supplier_sku, bad.reason
        )));
    }
    Ok(
        find_sku(&product, line.supplier_variant_id.as_deref(), &line.supplier_sku).map(|sku| LineAtAe {
            product_id: product_id.clone(),
            sku_id: sku.sku_id.clone(),
            sku_attr: sku.sku_attr.clone(),
            price: sku.price,
            available: sku.available,
        }),
    )
}

/// The service for a line: the supplier order's when AliExpress offers it, else the cheapest.
async fn service_for(
    client: &AliExpressClient,
    at_ae: &LineAtAe,
    quantity: u32,
    country: &str,
    wanted: Option<&str>,
) -> Result<(String, Money), SupplierError> {
    let options = client
        .freight(&at_ae.product_id, &at_ae.sku_id, quantity, country)
        .await
        .map_err(error)?;
    wanted
        .and_then(|w| options.iter().find(|o| o.service.eq_ignore_ascii_case(w)))
        .or_else(|| options.iter().min_by_key(|o| o.cost.minor))
        .map(|o| (o.service.clone(), o.cost))
        .ok_or_else(|| SupplierError::Rejected {
            kind: FailureKind::CannotShip,
            reason: format!(
                "AliExpress offers no shipping of product {} to {country}",
                at_ae.product_id
            ),
        })
}

pub(crate) async fn quote(client: &AliExpressClient, order: &SupplierOrder) -> Result<Quote, SupplierError> {
    let country = order.ship_to.country_code.as_str();
    let mut unit_costs = BTreeMap::new();
    let mut variant_exists = BTreeMap::new();
    let mut shipping = Money::zero(order.expected_cost.currency);
    for line in &order.lines {
        match line_at_ae(client, line, country).await? {
            Some(at_ae) if at_ae.available => {
                let (_, cost) =
                    service_for(client, &at_ae, line.quantity, country, order.shipping_method.as_deref()).await?;
                shipping = shipping
                    .checked_add(cost)
                    .map_err(|e| SupplierError::Retryable(e.to_string()))?;
                unit_costs.insert(line.supplier_sku.clone(), at_ae.price);
                variant_exists.insert(line.supplier_sku.clone(), true);
            }
            _ => {
                variant_exists.insert(line.supplier_sku.clone(), false);
            }
        }
    }
    Ok(Quote {
        unit_costs,
        shipping,
        variant_exists,
    })
}

pub(crate) async fn place(client: &AliExpressClient, request: &PlaceRequest) -> Result<RemoteOrder, SupplierError> {
    let ship_to = &request.ship_to;
    let country = ship_to.country_code.as_str();
    let mut items = Vec::with_capacity(request.lines.len());
    for line in &request.lines {
        let at_ae = line_at_ae(client, line, country)
            .await?
            .ok_or_else(|| SupplierError::Rejected {
                kind: FailureKind::SkuMissing,
                reason: format!("AliExpress no longer sells {}", line.supplier_sku),
            })?;
        let (service, _) = service_for(
            client,
            &at_ae,
            line.quantity,
            country,
            request.shipping_method.as_deref(),
        )
        .await?;
        items.push(PlaceItem {
            product_id: at_ae.product_id,
            product_count: line.quantity,
            sku_attr: at_ae.sku_attr,
            logistics_service_name: Some(service),
            order_memo: Some(remark(request)),
        });
    }
    // AliExpress wants the calling code apart and the number in digits only.
    let (phone_country, mobile) = match ship_to.phone.as_deref() {
        Some(phone) => match dropline_domain::address::phone_parts(phone, country) {
            Some((code, national)) => (Some(code), national),
            None => (None, phone.chars().filter(char::is_ascii_digit).collect()),
        },
        None => (None, String::new()),
    };
    let order = PlaceOrder {
        address: AeAddress {
            address: ship_to.address1.clone(),
            address2: ship_to.address2.clone(),
            city: ship_to.city.clone(),
            province: ship_to.region.clone().unwrap_or_else(|| ship_to.city.clone()),
            country: country.to_ascii_uppercase(),
            zip: Some(ship_to.postal_code.clone()).filter(|z| !z.trim().is_empty()),
            full_name: Some(ship_to.full_name()),
            contact_person: Some(ship_to.full_name()),
            mobile_no: Some(mobile).filter(|m| !m.is_empty()),
            phone_country,
            locale: Some("en_US".into()),
            // AliExpress takes the tax id in the field of the destination's kind of id.
            cpf: request.tax_id.clone().filter(|_| country.eq_ignore_ascii_case("BR")),
            rut_no: request.tax_id.clone().filter(|_| country.eq_ignore_ascii_case("CL")),
            tax_number: request
                .tax_id
                .clone()
                .filter(|_| !country.eq_ignore_ascii_case("BR") && !country.eq_ignore_ascii_case("CL")),
        },
        items,
        pay_currency: Some("USD".into()),
    };
    let placed = client.place_order(&request.key, &order).await.map_err(error)?;
    if placed.order_ids.is_empty() {
        return Err(SupplierError::Unconfirmed(
            "AliExpress answered without an order id".into(),
        ));
    }
    let reference = placed.order_ids.join(",");
    // The state and amount of the order(s) just made; the order stands even when this fails.
    match status(client, &reference).await {
        Ok(Some(mut remote)) => {
            remote.key = Some(request.key.clone());
            Ok(remote)
        }
        _ => Ok(RemoteOrder {
            reference,
            key: Some(request.key.clone()),
            status: RemoteStatus::Received,
            raw_status: "PLACE_ORDER_SUCCESS".into(),
            cost: None,
            estimated_ship_at: None,
            parcels: Vec::new(),
            refused_skus: Vec::new(),
        }),
    }
}

pub(crate) async fn find(_client: &AliExpressClient, _key: &str) -> Result<Option<RemoteOrder>, SupplierError> {
    // AliExpress cannot be asked by `out_order_id`; within its 24-hour window a resend of the
    // creation is answered with the orders already made, which the engine relies on.
    Ok(None)
}

fn remote_status(status: AeOrderStatus) -> RemoteStatus {
    match status {
        AeOrderStatus::PlaceOrderSuccess
        | AeOrderStatus::WaitBuyerPay
        | AeOrderStatus::PaymentProcessing
        | AeOrderStatus::WaitSellerExamineMoney
        | AeOrderStatus::FundProcessing
        | AeOrderStatus::RiskControl
        | AeOrderStatus::WaitGroup
        | AeOrderStatus::WaitCompleteAddress => RemoteStatus::Received,
        AeOrderStatus::WaitSellerSendGoods => RemoteStatus::Accepted,
        AeOrderStatus::SellerPartSendGoods | AeOrderStatus::WaitBuyerAcceptGoods | AeOrderStatus::InIssue => {
            RemoteStatus::Shipped
        }
        AeOrderStatus::Finish => RemoteStatus::Delivered,
        AeOrderStatus::InCancel | AeOrderStatus::Cancelled => RemoteStatus::Cancelled,
        AeOrderStatus::InFrozen | AeOrderStatus::Unknown => RemoteStatus::Unknown,
    }
}

/// The supplier order's status from its AliExpress orders: the least advanced one counts
/// (all must ship for the supplier order to be shipped), cancelled only when all are.
fn combine(orders: &[AeOrder], reference: &str) -> RemoteOrder {
    let rank = |s: RemoteStatus| match s {
        RemoteStatus::Unknown => 0,
        RemoteStatus::Received => 1,
        RemoteStatus::Accepted => 2,
        RemoteStatus::Shipped => 3,
        RemoteStatus::Delivered => 4,
        RemoteStatus::Cancelled => 5,
    };
    let statuses: Vec<RemoteStatus> = orders.iter().map(|o| remote_status(o.status)).collect();
    let status = statuses
        .iter()
        .copied()
        .min_by_key(|s| rank(*s))
        .unwrap_or(RemoteStatus::Unknown);
    let mut cost: Option<Money> = None;
    for order in orders {
        cost = match (cost, order.amount) {
            (None, amount) => amount,
            (Some(total), Some(amount)) => total.checked_add(amount).ok(),
            (Some(total), None) => Some(total),
        };
    }
    let parcels = orders
        .iter()
        .flat_map(|o| o.logistics.iter())
        .filter(|l| !l.tracking_number.trim().is_empty())
        .map(|l| RemoteParcel {
            carrier: l.service.clone().unwrap_or_else(|| DEFAULT_SERVICE.into()),
            tracking_number: l.tracking_number.clone(),
            tracking_url: None,
        })
        .collect();
    RemoteOrder {
        reference: reference.to_string(),
        key: None,
        status,
        raw_status: orders
            .iter()
            .map(|o| o.status_text.clone())
            .collect::<Vec<_>>()
            .join(","),
        cost: cost.filter(|c| c.minor >= 0),
        estimated_ship_at: None,
        parcels,
        refused_skus: Vec::new(),
    }
}

pub(crate) async fn status(client: &AliExpressClient, reference: &str) -> Result<Option<RemoteOrder>, SupplierError> {
    let mut orders = Vec::new();
    for id in reference.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        match client.order(id).await.map_err(error)? {
            Some(order) => orders.push(order),
            None => return Ok(None),
        }
    }
    if orders.is_empty() {
        return Ok(None);
    }
    Ok(Some(combine(&orders, reference)))
}

pub(crate) async fn cancel(_client: &AliExpressClient, reference: &str) -> Result<CancelOutcome, SupplierError> {
    Ok(CancelOutcome::Refused {
        reason: format!(
            "AliExpress has no cancellation API: cancel order(s) {reference} in the AliExpress order list (an unpaid order closes by itself)"
        ),
    })
}

pub(crate) async fn tracking(
    client: &AliExpressClient,
    reference: &str,
    tracking_number: &str,
    destination: &str,
) -> Result<Vec<TrackingEvent>, SupplierError> {
    for id in reference.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        let Some(order) = client.order(id).await.map_err(error)? else {
            continue;
        };
        let Some(logistics) = order.logistics.iter().find(|l| l.tracking_number == tracking_number) else {
            continue;
        };
        let service = logistics.service.as_deref().unwrap_or(DEFAULT_SERVICE);
        let events = client
            .tracking(id, tracking_number, service, destination)
            .await
            .map_err(error)?;
        return Ok(events
            .into_iter()
            .map(|event| {
                let lower = event.description.to_ascii_lowercase();
                let state = if lower.contains("deliver") && !lower.contains("fail") {
                    ShipmentState::Delivered
                } else if lower.contains("custom") {
                    ShipmentState::Customs
                } else if lower.contains("fail") || lower.contains("return") {
                    ShipmentState::Exception
                } else if lower.contains("accept") || lower.contains("transit") || lower.contains("depart") {
                    ShipmentState::InTransit
                } else {
                    ShipmentState::InfoReceived
                };
                TrackingEvent {
                    // AliExpress gives days without a zone; midnight UTC stands for the day.
                    at: event
                        .date
                        .map_or_else(time::OffsetDateTime::now_utc, |d| d.midnight().assume_utc()),
                    state,
                    description: event.description,
                    location: event.address,
                }
            })
            .collect());
    }
    Ok(Vec::new())
}

/// Stock and cost of the offers: `aliexpress.ds.product.get` once per AliExpress product
/// (`supplier_product_id`), however many of its SKUs are asked; levels come back in the
/// order of `offers`.
///
/// - A product AliExpress does not know, or a SKU missing from its product: no longer sold
///   (`available` `None`, no problem).
/// - An offer without a product id, a SKU whose price or stock cannot be believed, a product
///   whose answer has entries that cannot be tied to a SKU (an absence then proves nothing),
///   or a product AliExpress refuses to show (not sold to the country asked): a `problem`,
///   nothing applied.
/// - A gateway, token, rate-limit or transport failure, or an unreadable body: the error for
///   the whole read.
pub(crate) async fn stock(client: &AliExpressClient, offers: &[Offer]) -> Result<Vec<StockLevel>, SupplierError> {
    // Each product's answer (or why it could not be had), asked once.
    let mut answers: HashMap<String, Result<Option<AeProduct>, String>> = HashMap::new();
    let mut levels = Vec::with_capacity(offers.len());
    for offer in offers {
        let Some(product_id) = offer
            .supplier_product_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
        else {
            levels.push(untrusted(
                offer,
                "the offer names no AliExpress product id (supplier_product_id)",
            ));
            continue;
        };
        if !answers.contains_key(product_id) {
            // Stock is the same whatever the destination; the United States is asked.
            let answer = match client.product(product_id, "US").await {
                Ok(product) => Ok(product),
                Err(refused @ (AeError::Rejected { .. } | AeError::Invalid { .. })) => {
                    Err(format!("AliExpress refused to show product {product_id}: {refused}"))
                }
                Err(other) => return Err(error(other)),
            };
            answers.insert(product_id.to_string(), answer);
        }
        levels.push(match &answers[product_id] {
            Err(why) => untrusted(offer, why.clone()),
            Ok(None) => gone(offer),
            Ok(Some(product)) => level_in_product(offer, product),
        });
    }
    Ok(levels)
}

fn untrusted(offer: &Offer, reason: impl Into<String>) -> StockLevel {
    StockLevel {
        supplier_sku: offer.supplier_sku.clone(),
        available: None,
        unit_cost: None,
        problem: Some(reason.into()),
    }
}

fn gone(offer: &Offer) -> StockLevel {
    StockLevel {
        supplier_sku: offer.supplier_sku.clone(),
        available: None,
        unit_cost: None,
        problem: None,
    }
}

fn level_in_product(offer: &Offer, product: &AeProduct) -> StockLevel {
    let sku_id = offer.supplier_variant_id.as_deref();
    if let Some(sku) = find_sku(product, sku_id, &offer.supplier_sku) {
        return StockLevel {
            supplier_sku: offer.supplier_sku.clone(),
            available: Some(if sku.available { sku.stock } else { 0 }),
            unit_cost: Some(sku.price),
            problem: None,
        };
    }
    let bad = sku_id
        .and_then(|id| product.unreadable_sku(id))
        .or_else(|| product.unreadable_sku(&offer.supplier_sku));
    if let Some(bad) = bad {
        return untrusted(
            offer,
            format!(
                "AliExpress's answer for {} cannot be read: {}",
                offer.supplier_sku, bad.reason
            ),
        );
    }
    if product.has_untied_entries() {
        return untrusted(
            offer,
            format!(
                "AliExpress's answer for product {} has SKUs that cannot be read, so the absence of {} proves nothing",
                product.product_id, offer.supplier_sku
            ),
        );
    }
    gone(offer)
}

/// A product of AliExpress's catalogue (`aliexpress.ds.product.get`, as sold to the United
/// States, in USD): `None` when AliExpress does not know it. Each SKU is a variant, its SKU
/// the `sku_attr` orders take (the SKU id for a product with a single SKU), its options the
/// seller's property names and values (`Color:Black;Size:XL`). SKUs whose price or stock
/// cannot be believed are left out; AliExpress gives no barcode.
pub(crate) async fn product(
    client: &AliExpressClient,
    product_id: &str,
) -> Result<Option<SupplierProduct>, SupplierError> {
    let product_id = product_id.trim();
    // AliExpress's ids are digits: anything else names no product of it.
    if product_id.is_empty() || !product_id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let Some(product) = client.product(product_id, "US").await.map_err(error)? else {
        return Ok(None);
    };
    for bad in &product.unreadable {
        tracing::warn!(product_id, sku_id = ?bad.sku_id, reason = %bad.reason, "AliExpress SKU left out of the import");
    }
    let variants = product
        .skus
        .iter()
        .map(|sku| SupplierProductVariant {
            sku: if sku.sku_attr.is_empty() {
                sku.sku_id.clone()
            } else {
                sku.sku_attr.clone()
            },
            variant_id: Some(sku.sku_id.clone()),
            options: sku.options.clone(),
            barcode: None,
            unit_cost: sku.price,
            stock: Some(if sku.available { sku.stock } else { 0 }),
        })
        .collect();
    Ok(Some(SupplierProduct {
        url: Some(format!("https://www.aliexpress.com/item/{}.html", product.product_id)),
        title: product.title.clone().unwrap_or_else(|| product.product_id.clone()),
        product_id: product.product_id,
        variants,
    }))
}

pub(crate) async fn list_orders(_client: &AliExpressClient, _page: u32) -> Result<RemoteOrderPage, SupplierError> {
    Err(SupplierError::Misconfigured(
        "AliExpress offers no order list to reconcile with".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_what_the_engine_does_next() {
        let rejected = |code: &str| error(AeError::rejected(code, "refused"));
        assert!(matches!(
            rejected("INVENTORY_HOLD_ERROR"),
            SupplierError::Rejected {
                kind: FailureKind::OutOfStock,
                ..
            }
        ));
        assert!(matches!(
            rejected("REPEATED_ORDER_ERROR"),
            SupplierError::Unconfirmed(_)
        ));
        assert!(matches!(
            rejected("USER_ACCOUNT_DISABLED"),
            SupplierError::Misconfigured(_)
        ));
        assert!(error(AeError::Transport("timed out".into())).is_retryable());
    }

    #[test]
    fn a_supplier_order_ships_when_every_aliexpress_order_did() {
        let order = |status: &str, amount: i64| AeOrder {
            order_id: "1".into(),
            status_text: status.into(),
            status: AeOrderStatus::from_code(status),
            logistics_status: None,
            created: None,
            amount: Some(Money::new(
                amount,
                dropline_domain::money::Currency::parse("USD").expect("usd"),
            )),
            user_amount: None,
            lines: Vec::new(),
            logistics: Vec::new(),
        };
        let both = combine(
            &[
                order("WAIT_BUYER_ACCEPT_GOODS", 500),
                order("WAIT_SELLER_SEND_GOODS", 700),
            ],
            "1,2",
        );
        assert_eq!(both.status, RemoteStatus::Accepted);
        assert_eq!(both.cost.map(|c| c.minor), Some(1200));
        let cancelled = combine(&[order("CLOSED", 1), order("FINISH", 1)], "1,2");
        assert_eq!(cancelled.status, RemoteStatus::Delivered);
    }
}
