//! Mapping supplier products onto the store's variants, and the dry-run of rule changes
//! (pricing rules, routing policy) over the catalogue and the orders of the last days.

use crate::error::AppError;
use crate::inventory::{PriceQuote, Unpriced};
use crate::ports::PLACED_PAGE_MAX;
use crate::scope::Scope;
use crate::service::{App, NewOffer};
use crate::supplier::{SupplierError, SupplierProduct};
use dropline_domain::catalog::{Offer, OfferPriority, Product, RoutingPolicy, RoutingWeights, ShippingMethod};
use dropline_domain::ids::{OrderId, ProductId, StoreId, SupplierId, VariantId};
use dropline_domain::inventory::{OfferReading, PricingSettings, judge_cost};
use dropline_domain::mapping::{StoreVariant, SupplierVariant, VariantSuggestions, check_mapping, suggest_mappings};
use dropline_domain::money::Money;
use dropline_domain::routing::{RoutingContext, route_order};
use serde::Serialize;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Suggestions kept per store variant.
const SUGGESTIONS_PER_VARIANT: usize = 3;
/// The longest look back of a dry-run.
pub const MAX_PREVIEW_DAYS: u32 = 365;

/// A store variant no offer ships yet: work to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnmappedVariant {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub product_title: String,
    pub sku: String,
    pub title: String,
}

/// What importing supplier products found: the products, the offers of this supplier they
/// updated (same supplier SKU), and mapping suggestions for the store's unmapped variants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SupplierImport {
    pub supplier_id: SupplierId,
    pub products: Vec<SupplierProduct>,
    pub offers_updated: u32,
    pub suggestions: Vec<VariantSuggestions>,
}

/// A store variant mapped to a supplier variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapVariant {
    pub variant_id: VariantId,
    pub supplier_id: SupplierId,
    pub supplier_sku: String,
    pub supplier_product_id: Option<String>,
    pub supplier_variant_id: Option<String>,
    /// The supplier's option text, checked against the store variant's.
    pub options: String,
    pub barcode: Option<String>,
    pub product_url: Option<String>,
    pub unit_cost: Money,
    pub stock: Option<u32>,
    /// Supplier units per store unit (a bundle).
    pub units: u32,
    pub shipping: Vec<ShippingMethod>,
    pub priority: OfferPriority,
}

/// What a pricing change would do: the new prices, and what the orders of the last days
/// would have brought at them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PricingPreview {
    pub days: u32,
    /// Variants whose price would change.
    pub changes: Vec<PriceQuote>,
    /// Variants a rule covers and cannot price, with why.
    pub unpriced: Vec<Unpriced>,
    /// Orders of the period with at least one repriced variant.
    pub orders: u32,
    /// Units of repriced variants sold in the period.
    pub units: u32,
    /// What those units sold for, and what they would have sold for at the new prices.
    pub revenue_actual: Money,
    pub revenue_at_new_prices: Money,
}

/// Which supplier a past order had, and which it would have had under a routing policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoutedAgain {
    pub order_id: OrderId,
    pub number: String,
    pub placed_at: OffsetDateTime,
    /// What the customer paid for the goods (lines).
    pub revenue: Money,
    pub suppliers_then: Vec<String>,
    pub suppliers_now: Vec<String>,
    /// Expected cost of the supplier orders made then, and of the plan now (`None`: none,
    /// or not every line can be served now).
    pub cost_then: Option<Money>,
    pub cost_now: Option<Money>,
    /// Margin over the goods' revenue, in basis points.
    pub margin_then_bp: Option<i64>,
    pub margin_now_bp: Option<i64>,
    pub changed: bool,
}

/// A routing policy tried on the orders of the last days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoutingPreview {
    pub days: u32,
    pub policy: RoutingPolicy,
    pub orders: Vec<RoutedAgain>,
    /// Orders whose suppliers would differ.
    pub changed: u32,
}

impl App {
    /// The store's variants without an offer, by product.
    pub async fn unmapped_variants(&self, scope: Scope, store_id: StoreId) -> Result<Vec<UnmappedVariant>, AppError> {
        self.get_store(scope, store_id).await?;
        let products = self.backend.list_products(Some(store_id)).await?;
        self.unmapped_of(&products).await
    }

    /// The variants of `products` without an offer.
    async fn unmapped_of(&self, products: &[Product]) -> Result<Vec<UnmappedVariant>, AppError> {
        let ids: Vec<VariantId> = products.iter().flat_map(|p| p.variants.iter().map(|v| v.id)).collect();
        let mapped = self.offers_by_variant(&ids).await?;
        Ok(products
            .iter()
            .flat_map(|p| {
                p.variants
                    .iter()
                    .filter(|v| !mapped.contains_key(&v.id))
                    .map(|v| UnmappedVariant {
                        variant_id: v.id,
                        product_id: p.id,
                        product_title: p.title.clone(),
                        sku: v.sku.clone(),
                        title: v.title.clone(),
                    })
            })
            .collect())
    }

    /// Imports a product from the supplier's catalogue (CJ product, AliExpress product) and
    /// suggests mappings for the store's unmapped variants.
    pub async fn import_supplier_product(
        &self,
        scope: Scope,
        supplier_id: SupplierId,
        product_id: &str,
    ) -> Result<SupplierImport, AppError> {
        let supplier = self.get_supplier(scope, supplier_id).await?;
        let product_id = product_id.trim();
        if product_id.is_empty() || product_id.len() > 100 {
            return Err(AppError::invalid("product_id", "must be 1 to 100 characters"));
        }
        let client = self
            .suppliers
            .clone()
            .filter(|c| c.places(supplier.kind))
            .ok_or_else(|| {
                AppError::invalid(
                    "supplier_id",
                    format!(
                        "a {} supplier has no catalogue to import from; send its price list",
                        supplier.kind
                    ),
                )
            })?;
        let product = match client.product(&supplier, product_id).await {
            Ok(Some(product)) => product,
            Ok(None) => return Err(AppError::invalid("product_id", "the supplier has no such product")),
            Err(SupplierError::Misconfigured(reason)) => return Err(AppError::PartnerRefused(reason)),
            Err(err) if err.is_retryable() => {
                return Err(AppError::RetryLater {
                    reason: err.to_string(),
                    after: None,
                });
            }
            Err(err) => return Err(AppError::PartnerRefused(err.to_string())),
        };
        self.import_supplier_products(scope, supplier_id, vec![product]).await
    }

    /// Takes supplier products (from the supplier's API or a price list): offers of this
    /// supplier with the same SKU get the new stock and cost (an odd cost is not applied,
    /// see [`judge_cost`]), and the store's unmapped variants get suggestions.
    pub async fn import_supplier_products(
        &self,
        scope: Scope,
        supplier_id: SupplierId,
        products: Vec<SupplierProduct>,
    ) -> Result<SupplierImport, AppError> {
        let supplier = self.get_supplier(scope, supplier_id).await?;
        let now = self.now();
        let mut by_sku: HashMap<&str, &crate::supplier::SupplierProductVariant> = HashMap::new();
        for variant in products.iter().flat_map(|p| p.variants.iter()) {
            by_sku.insert(variant.sku.as_str(), variant);
        }
        let mut readings = Vec::new();
        let mut touched = Vec::new();
        let mut after = None;
        loop {
            let page = self.backend.offers_of_supplier(supplier.id, after, 500).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.id);
            for offer in &page {
                let Some(variant) = by_sku.get(offer.supplier_sku.as_str()) else {
                    continue;
                };
                let unit_cost = Some(variant.unit_cost)
                    .filter(|c| *c != offer.unit_cost && judge_cost(offer.unit_cost, *c).is_ok());
                let stock = variant.stock.or(offer.stock).unwrap_or(0);
                if unit_cost.is_some() || Some(stock) != offer.stock {
                    readings.push(OfferReading {
                        offer_id: offer.id,
                        stock,
                        unit_cost,
                        at: now,
                    });
                    touched.push(offer.variant_id);
                }
            }
            if page.len() < 500 {
                break;
            }
        }
        for chunk in readings.chunks(500) {
            self.backend.apply_offer_readings(chunk).await?;
        }
        self.catalog.forget_store(supplier.store_id);
        if !touched.is_empty() {
            // Stock and prices follow at once; a store not connected only keeps its numbers.
            let _ = self.refresh_listings(supplier.store_id, Some(touched)).await;
        }
        let store_products = self.backend.list_products(Some(supplier.store_id)).await?;
        let unmapped: std::collections::HashSet<VariantId> = self
            .unmapped_of(&store_products)
            .await?
            .into_iter()
            .map(|u| u.variant_id)
            .collect();
        let store_variants: Vec<StoreVariant> = store_products
            .iter()
            .flat_map(|p| p.variants.iter())
            .filter(|v| unmapped.contains(&v.id))
            .map(StoreVariant::from)
            .collect();
        let supplier_variants: Vec<SupplierVariant> = products
            .iter()
            .flat_map(|p| p.variants.iter())
            .map(|v| SupplierVariant {
                sku: v.sku.clone(),
                options: v.options.clone(),
                barcode: v.barcode.clone(),
            })
            .collect();
        let suggestions = suggest_mappings(&store_variants, &supplier_variants, SUGGESTIONS_PER_VARIANT)
            .into_iter()
            .filter(|s| !s.is_unmapped())
            .collect();
        Ok(SupplierImport {
            supplier_id,
            products,
            offers_updated: readings.len() as u32,
            suggestions,
        })
    }

    /// Maps a store variant to a supplier variant: refused, with the reason, when their
    /// options contradict (another colour, another size, another pack).
    pub async fn map_variant(&self, scope: Scope, map: MapVariant) -> Result<Offer, AppError> {
        let (_, variant) = self.get_variant(scope, map.variant_id).await?;
        let mut supplier_variant = SupplierVariant::new(map.supplier_sku.clone(), map.options.clone());
        supplier_variant.barcode = map.barcode.clone();
        if let Err(refusal) = check_mapping(&StoreVariant::from(&variant), &supplier_variant) {
            return Err(AppError::invalid("options", refusal.to_string()));
        }
        self.add_offer(
            scope,
            NewOffer {
                variant_id: map.variant_id,
                supplier_id: map.supplier_id,
                supplier_sku: map.supplier_sku,
                supplier_product_id: map.supplier_product_id,
                supplier_variant_id: map.supplier_variant_id,
                product_url: map.product_url,
                unit_cost: map.unit_cost,
                stock: map.stock,
                shipping: map.shipping,
                priority: map.priority,
                units: map.units,
            },
        )
        .await
    }

    /// What new pricing rules would do, written nowhere: the prices that would change in
    /// the current catalogue, and the revenue of the last `days` days' orders at them.
    pub async fn preview_pricing(
        &self,
        scope: Scope,
        store_id: StoreId,
        settings: &PricingSettings,
        days: u32,
    ) -> Result<PricingPreview, AppError> {
        check_days(days)?;
        let record = self.get_store(scope, store_id).await?;
        let (quotes, unpriced) = self.quote_prices(scope, store_id, settings).await?;
        let changes: Vec<PriceQuote> = quotes.into_iter().filter(|q| q.computed.price != q.current).collect();
        let new_price: HashMap<VariantId, Money> = changes.iter().map(|q| (q.variant_id, q.computed.price)).collect();
        let currency = record.store.currency;
        let (mut orders, mut units, mut actual, mut at_new) = (0u32, 0u32, 0i64, 0i64);
        for order in self.orders_of_last_days(store_id, days).await? {
            let mut counted = false;
            for line in &order.lines {
                let Some(price) = line.variant_id.and_then(|v| new_price.get(&v)) else {
                    continue;
                };
                if line.unit_price.currency != currency {
                    continue;
                }
                counted = true;
                units = units.saturating_add(line.quantity);
                actual = actual.saturating_add(line.unit_price.minor.saturating_mul(i64::from(line.quantity)));
                at_new = at_new.saturating_add(price.minor.saturating_mul(i64::from(line.quantity)));
            }
            orders += u32::from(counted);
        }
        Ok(PricingPreview {
            days,
            changes,
            unpriced,
            orders,
            units,
            revenue_actual: Money::new(actual, currency),
            revenue_at_new_prices: Money::new(at_new, currency),
        })
    }

    /// Which supplier each order of the last `days` days would have had under `policy` with
    /// today's offers, and at what cost and margin; written nowhere.
    pub async fn preview_routing(
        &self,
        scope: Scope,
        store_id: StoreId,
        policy: RoutingPolicy,
        weights: RoutingWeights,
        days: u32,
    ) -> Result<RoutingPreview, AppError> {
        check_days(days)?;
        self.get_store(scope, store_id).await?;
        let suppliers = self.backend.list_suppliers(Some(store_id)).await?;
        let names: HashMap<SupplierId, String> = suppliers.iter().map(|s| (s.id, s.name.clone())).collect();
        let orders = self.orders_of_last_days(store_id, days).await?;
        let mut variant_ids: Vec<VariantId> = orders
            .iter()
            .flat_map(|o| o.lines.iter().filter_map(|l| l.variant_id))
            .collect();
        variant_ids.sort_unstable();
        variant_ids.dedup();
        let offers: Vec<Offer> = self
            .offers_by_variant(&variant_ids)
            .await?
            .into_values()
            .flatten()
            .collect();
        let mut routed = Vec::new();
        for order in orders.iter().filter(|o| !o.test) {
            let context = RoutingContext {
                offers: &offers,
                suppliers: &suppliers,
                lanes: &[],
                policy,
                weights,
                prefer_own_warehouse: true,
                excluded_offers: &[],
                only_lines: None,
            };
            let Ok(plan) = route_order(order, &context) else {
                continue;
            };
            let revenue = order
                .shippable_lines()
                .map(|l| l.unit_price.minor.saturating_mul(i64::from(l.quantity)))
                .sum::<i64>();
            let mut suppliers_then: Vec<String> = order
                .supplier_orders
                .iter()
                .filter(|so| so.is_live())
                .map(|so| so.supplier_name.clone())
                .collect();
            suppliers_then.dedup();
            let cost_then = sum_costs(
                order.currency,
                order
                    .supplier_orders
                    .iter()
                    .filter(|so| so.is_live())
                    .map(|so| so.expected_cost),
            );
            let mut suppliers_now: Vec<String> = plan
                .groups
                .iter()
                .map(|g| {
                    names
                        .get(&g.supplier_id)
                        .cloned()
                        .unwrap_or_else(|| g.supplier_name.clone())
                })
                .collect();
            suppliers_now.dedup();
            let cost_now = if plan.is_complete() {
                sum_costs(order.currency, plan.groups.iter().map(|g| g.expected_cost))
            } else {
                None
            };
            let margin = |cost: Option<Money>| {
                cost.filter(|_| revenue > 0)
                    .map(|c| (i128::from(revenue - c.minor) * 10_000 / i128::from(revenue)) as i64)
            };
            let changed = suppliers_then != suppliers_now;
            routed.push(RoutedAgain {
                order_id: order.id,
                number: order.number.clone(),
                placed_at: order.placed_at,
                revenue: Money::new(revenue, order.currency),
                margin_then_bp: margin(cost_then),
                margin_now_bp: margin(cost_now),
                suppliers_then,
                suppliers_now,
                cost_then,
                cost_now,
                changed,
            });
        }
        let changed = routed.iter().filter(|r| r.changed).count() as u32;
        Ok(RoutingPreview {
            days,
            policy,
            orders: routed,
            changed,
        })
    }

    async fn orders_of_last_days(
        &self,
        store_id: StoreId,
        days: u32,
    ) -> Result<Vec<dropline_domain::order::Order>, AppError> {
        let to = self.now();
        let from = to - time::Duration::days(i64::from(days));
        let mut orders = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .backend
                .orders_placed_between(store_id, from, to, after, PLACED_PAGE_MAX)
                .await?;
            orders.extend(page.orders);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(orders)
    }
}

fn check_days(days: u32) -> Result<(), AppError> {
    if (1..=MAX_PREVIEW_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(AppError::invalid("days", format!("must be 1 to {MAX_PREVIEW_DAYS}")))
    }
}

/// The sum of costs in the order's currency; `None` when there are none or one is in
/// another currency (no rate is guessed for a preview).
fn sum_costs(currency: dropline_domain::money::Currency, costs: impl Iterator<Item = Money>) -> Option<Money> {
    let mut total: Option<i64> = None;
    for cost in costs {
        if cost.currency != currency {
            return None;
        }
        total = Some(total.unwrap_or(0).saturating_add(cost.minor));
    }
    total.map(|minor| Money::new(minor, currency))
}
