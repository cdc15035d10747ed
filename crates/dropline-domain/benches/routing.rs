//! Routing one order: a 5-line order, 50 offers per variant at 50 suppliers, each policy.
//!
//! Routing runs on every accepted order and on every what-if in the dashboard, so it should
//! stay far below a millisecond even for a catalogue with many offers per variant.

use criterion::{Criterion, criterion_group, criterion_main};
use dropline_domain::catalog::{
    Offer, OfferPriority, RoutingPolicy, RoutingWeights, ShippingMethod, Supplier, SupplierKind,
};
use dropline_domain::ids::{LineItemId, OfferId, StoreId, SupplierId, VariantId};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::LineItem;
use dropline_domain::routing::{LaneStats, RoutingContext, route_lines};
use std::hint::black_box;
use uuid::Uuid;

const VARIANTS: u32 = 5;
const OFFERS_PER_VARIANT: u32 = 50;
const SUPPLIERS: u32 = 50;

/// Spreads `n` over `0..modulo` without a random generator, so every run measures the same
/// catalogue.
fn spread(n: u32, salt: u32, modulo: u32) -> u32 {
    n.wrapping_mul(2_654_435_761).wrapping_add(salt.wrapping_mul(40_503)) % modulo
}

struct Catalogue {
    lines: Vec<LineItem>,
    offers: Vec<Offer>,
    suppliers: Vec<Supplier>,
    lanes: Vec<LaneStats>,
}

fn catalogue() -> Catalogue {
    let usd = Currency::parse("USD").expect("USD");
    let variant = |v: u32| VariantId(Uuid::from_u128(u128::from(v) + 1));
    let supplier_id = |s: u32| SupplierId(Uuid::from_u128(u128::from(s) + 1_000));
    let suppliers = (0..SUPPLIERS)
        .map(|s| Supplier {
            last_stock_sync: None,
            id: supplier_id(s),
            store_id: StoreId(Uuid::from_u128(1)),
            name: format!("Supplier {s}"),
            kind: SupplierKind::Aliexpress,
            ships_from: Some("CN".into()),
            processing_days: spread(s, 1, 5),
            rating: 50 + spread(s, 2, 51),
            processing_deadline_days: None,
            connection: Default::default(),
            last_reconciliation: None,
            agent_layout: None,
            return_policy: Default::default(),
        })
        .collect();
    // Half the suppliers have measured lanes to the destination, some to elsewhere only.
    let lanes = (0..SUPPLIERS)
        .filter(|s| s % 2 == 0)
        .map(|s| LaneStats {
            supplier_id: supplier_id(s),
            country: if s % 10 == 0 { "FR".into() } else { "US".into() },
            measured_days: Some(5 + spread(s, 3, 20)),
            on_time_per_mille: (s % 4 == 0).then(|| 700 + spread(s, 4, 300)),
        })
        .collect();
    let offers = (0..VARIANTS * OFFERS_PER_VARIANT)
        .map(|n| {
            let (v, i) = (n / OFFERS_PER_VARIANT, n % OFFERS_PER_VARIANT);
            // A few offers ship only elsewhere and a few are out of stock, so the skipping
            // paths are part of the measurement.
            let country = match i % 7 {
                0 => "FR",
                1 => "*",
                _ => "US",
            };
            Offer {
                units: 1,
                id: OfferId(Uuid::from_u128(u128::from(n) + 10_000)),
                variant_id: variant(v),
                supplier_id: supplier_id(i),
                supplier_sku: format!("SUP-{n}"),
                supplier_product_id: None,
                supplier_variant_id: None,
                product_url: None,
                unit_cost: Money::new(i64::from(500 + spread(n, 5, 2_000)), usd),
                stock: if i % 5 == 0 { Some(spread(n, 6, 4)) } else { None },
                shipping: vec![ShippingMethod {
                    country: country.into(),
                    name: "Standard".into(),
                    cost: Money::new(i64::from(100 + spread(n, 7, 900)), usd),
                    min_days: 5,
                    max_days: 8 + spread(n, 8, 25),
                }],
                priority: if i < 2 {
                    OfferPriority::Primary
                } else {
                    OfferPriority::Backup
                },
            }
        })
        .collect();
    let lines = (0..VARIANTS)
        .map(|v| LineItem {
            offer_override: None,
            id: LineItemId(Uuid::from_u128(u128::from(v) + 100)),
            external_id: None,
            variant_id: Some(variant(v)),
            sku: format!("SKU-{v}"),
            title: format!("Item {v}"),
            variant_title: None,
            quantity: 1 + v % 3,
            unit_price: Money::new(4_999, usd),
            requires_shipping: true,
            platform_product_id: None,
            platform_variant_id: None,
            fulfillable_quantity: None,
        })
        .collect();
    Catalogue {
        lines,
        offers,
        suppliers,
        lanes,
    }
}

fn route_each_policy(c: &mut Criterion) {
    let catalogue = catalogue();
    let usd = Currency::parse("USD").expect("USD");
    let mut group = c.benchmark_group("route_5_lines_50_offers_each");
    for policy in RoutingPolicy::ALL {
        let context = RoutingContext {
            offers: &catalogue.offers,
            suppliers: &catalogue.suppliers,
            lanes: &catalogue.lanes,
            policy: *policy,
            weights: RoutingWeights::default(),
            prefer_own_warehouse: true,
            excluded_offers: &[],
            only_lines: None,
        };
        let plan = route_lines("US", usd, &catalogue.lines, &context).expect("no overflow");
        assert!(plan.is_complete(), "every line should be routable: {plan:#?}");
        group.bench_function(policy.as_str(), |b| {
            b.iter(|| route_lines(black_box("US"), usd, black_box(&catalogue.lines), black_box(&context)))
        });
    }
    group.finish();
}

criterion_group!(benches, route_each_policy);
criterion_main!(benches);
