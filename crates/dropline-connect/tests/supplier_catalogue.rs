//! The supplier port's catalogue reads (`stock` for the stock-and-price sync, `product` for
//! the catalogue import) through [`HttpSuppliers`] against the CJ and AliExpress simulators,
//! over real HTTP on 127.0.0.1: one read per product however many of its offers are asked,
//! one variant's bad data kept to that variant, removed variants told apart from untrusted
//! answers, and the account's rate limit kept.
#![allow(clippy::unwrap_used)]

use dropline_app::supplier::{StockLevel, SupplierClient, SupplierError};
use dropline_connect::suppliers::HttpSuppliers;
use dropline_domain::catalog::{Offer, Supplier};
use dropline_domain::ids::{OfferId, StoreId, SupplierId, VariantId};
use dropline_domain::money::{Currency, Money};
use dropline_sim::{AliExpressSim, CjSim};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const VARIANTS_OF: &str = "/product/variant/query";
const INVENTORY_OF: &str = "/product/stock/getInventoryByPid";
const DETAIL_OF: &str = "/product/query";
const VARIANT_BY_VID: &str = "/product/variant/queryByVid";
const STOCK_BY_VID: &str = "/product/stock/queryByVid";
const AE_PRODUCT: &str = "aliexpress.ds.product.get";

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::parse("USD").unwrap())
}

fn suppliers() -> HttpSuppliers {
    HttpSuppliers::new().with_timeout(Duration::from_secs(5))
}

/// A supplier of `kind` reached through `connection` (built from JSON, as the store keeps it).
fn supplier(kind: &str, connection: Value) -> Supplier {
    serde_json::from_value(json!({
        "id": SupplierId::new(),
        "store_id": StoreId::new(),
        "name": format!("{kind} supplier"),
        "kind": kind,
        "ships_from": "CN",
        "connection": connection,
    }))
    .unwrap()
}

fn cj_supplier(sim: &CjSim, requests_per_second: Option<u32>) -> Supplier {
    supplier(
        "cj",
        json!({
            "api_base": sim.base_url(),
            "api_key": sim.api_key(),
            "requests_per_second": requests_per_second,
        }),
    )
}

fn ae_supplier(sim: &AliExpressSim) -> Supplier {
    supplier(
        "aliexpress",
        json!({
            "api_base": sim.base_url(),
            "api_key": sim.app_key(),
            "api_secret": sim.app_secret(),
            "access_token": sim.access_token(),
            "refresh_token": sim.refresh_token(),
        }),
    )
}

/// An offer of `supplier` for the supplier's SKU, product and variant ids.
fn offer(supplier: &Supplier, sku: &str, product_id: Option<&str>, variant_id: Option<&str>) -> Offer {
    serde_json::from_value(json!({
        "id": OfferId::new(),
        "variant_id": VariantId::new(),
        "supplier_id": supplier.id,
        "supplier_sku": sku,
        "supplier_product_id": product_id,
        "supplier_variant_id": variant_id,
        "unit_cost": usd(100),
        "stock": null,
        "shipping": [],
        "priority": "primary",
    }))
    .unwrap()
}

fn level(sku: &str, available: Option<u32>, cost: Option<i64>) -> StockLevel {
    StockLevel {
        supplier_sku: sku.to_string(),
        available,
        unit_cost: cost.map(usd),
        problem: None,
    }
}

/// The CJ offer of each variant of these products, in the order given.
fn cj_offers(sim: &CjSim, supplier: &Supplier, vids: &[&String]) -> Vec<Offer> {
    vids.iter()
        .map(|vid| {
            let variant = sim.variant(vid).unwrap();
            offer(supplier, &variant.sku, Some(&variant.pid), Some(&variant.vid))
        })
        .collect()
}

#[tokio::test]
async fn cj_stock_reads_each_product_once_whatever_its_offers() {
    let sim = CjSim::start(101).await.unwrap();
    let added = sim.add_products(2, 4);
    let supplier = cj_supplier(&sim, None);
    // The two products' offers interleaved: levels come back in the order asked.
    let (first, second) = (&added[0].1, &added[1].1);
    let vids: Vec<&String> = first.iter().zip(second).flat_map(|(a, b)| [a, b]).collect();
    let offers = cj_offers(&sim, &supplier, &vids);
    let levels = suppliers().stock(&supplier, &offers).await.unwrap();
    let expected: Vec<StockLevel> = vids
        .iter()
        .map(|vid| {
            let variant = sim.variant(vid).unwrap();
            level(&variant.sku, Some(variant.stock), Some(variant.price_cents))
        })
        .collect();
    assert_eq!(levels, expected);
    assert_eq!(sim.calls(VARIANTS_OF), 2, "one variant list per product");
    assert_eq!(sim.calls(INVENTORY_OF), 2, "one inventory per product");
    assert_eq!(sim.calls(VARIANT_BY_VID) + sim.calls(STOCK_BY_VID), 0);
}

#[tokio::test]
async fn cj_one_bad_variant_gives_a_problem_for_that_sku_only() {
    let sim = CjSim::start(102).await.unwrap();
    let (_, vids) = sim.add_products(1, 4).remove(0);
    let supplier = cj_supplier(&sim, None);
    assert!(sim.set_raw_stock(&vids[0], json!(-5)));
    assert!(sim.set_raw_price(&vids[1], json!("abc")));
    assert!(sim.set_raw_price(&vids[2], json!(0)));
    let offers = cj_offers(&sim, &supplier, &vids.iter().collect::<Vec<_>>());
    let levels = suppliers().stock(&supplier, &offers).await.unwrap();
    for (i, why) in [(0, "totalInventory"), (1, "variantSellPrice"), (2, "0 is not a price")] {
        let level = &levels[i];
        assert_eq!((level.available, level.unit_cost), (None, None), "{level:?}");
        let problem = level.problem.as_deref().unwrap();
        assert!(problem.contains(why), "{problem}");
        assert!(problem.contains(&offers[i].supplier_sku), "{problem}");
    }
    let good = sim.variant(&vids[3]).unwrap();
    assert_eq!(levels[3], level(&good.sku, Some(good.stock), Some(good.price_cents)));
    // Once the data is sound again, so are the levels.
    for vid in &vids {
        sim.clear_raw(vid);
    }
    let levels = suppliers().stock(&supplier, &offers).await.unwrap();
    assert!(levels.iter().all(|l| l.problem.is_none() && l.available.is_some()));
}

#[tokio::test]
async fn cj_removed_variant_is_no_longer_sold_and_so_is_a_removed_product() {
    let sim = CjSim::start(103).await.unwrap();
    let added = sim.add_products(2, 3);
    let supplier = cj_supplier(&sim, None);
    let vids: Vec<&String> = added.iter().flat_map(|(_, vids)| vids).collect();
    let offers = cj_offers(&sim, &supplier, &vids);
    assert!(sim.remove_variant(vids[1]));
    assert!(sim.remove_product(&added[1].0));
    let http = suppliers();
    let levels = http.stock(&supplier, &offers).await.unwrap();
    assert_eq!(levels[1], level(&offers[1].supplier_sku, None, None));
    for gone in &levels[3..] {
        assert_eq!(gone, &level(&gone.supplier_sku, None, None));
    }
    let kept = sim.variant(vids[0]).unwrap();
    assert_eq!(levels[0], level(&kept.sku, Some(kept.stock), Some(kept.price_cents)));
    // A product CJ lists no variant of needs no inventory call.
    assert_eq!(sim.calls(INVENTORY_OF), 1);
    // Out of stock is not gone.
    sim.restore_variant(vids[1]);
    sim.set_stock(vids[1], 0);
    let levels = http.stock(&supplier, &offers[..3]).await.unwrap();
    assert_eq!(levels[1].available, Some(0));
}

#[tokio::test]
async fn cj_offers_without_a_product_id_are_read_by_variant() {
    let sim = CjSim::start(104).await.unwrap();
    let supplier = cj_supplier(&sim, None);
    let seeded = sim.variants();
    let offers = vec![
        offer(&supplier, &seeded[0].sku, None, Some(&seeded[0].vid)),
        offer(&supplier, &seeded[1].sku, None, Some(&seeded[1].vid)),
        offer(&supplier, "NO-SUCH-SKU", None, Some("NO-SUCH-VID")),
    ];
    sim.set_raw_price(&seeded[1].vid, json!(-2));
    let levels = suppliers().stock(&supplier, &offers).await.unwrap();
    assert_eq!(
        levels[0],
        level(&seeded[0].sku, Some(seeded[0].stock), Some(seeded[0].price_cents))
    );
    assert!(levels[1].problem.as_deref().unwrap().contains("negative"));
    assert_eq!(levels[2], level("NO-SUCH-SKU", None, None));
    assert_eq!(sim.calls(VARIANT_BY_VID), 3);
    assert_eq!(
        sim.calls(STOCK_BY_VID),
        1,
        "only a variant CJ sells at a believable price"
    );
    assert_eq!(sim.calls(VARIANTS_OF), 0);
}

#[tokio::test]
async fn cj_whole_answers_that_fail_fail_the_read() {
    let sim = CjSim::start(105).await.unwrap();
    let added = sim.add_products(2, 2);
    let supplier = cj_supplier(&sim, None);
    let vids: Vec<&String> = added.iter().flat_map(|(_, vids)| vids).collect();
    let offers = cj_offers(&sim, &supplier, &vids);
    let http = suppliers();
    // Token first, so that the faults meet the catalogue calls.
    http.stock(&supplier, &offers[..1]).await.unwrap();
    sim.malformed_next(1);
    assert!(matches!(
        http.stock(&supplier, &offers).await,
        Err(SupplierError::Retryable(_))
    ));
    sim.rate_limit_next(1, 9);
    assert_eq!(
        http.stock(&supplier, &offers).await,
        Err(SupplierError::RateLimited {
            retry_after: Some(Duration::from_secs(9))
        })
    );
}

#[tokio::test]
async fn cj_product_gives_its_variants_with_options_costs_and_stock() {
    let sim = CjSim::start(106).await.unwrap();
    let (pid, vids) = sim.add_products(1, 3).remove(0);
    let supplier = cj_supplier(&sim, None);
    sim.set_raw_price(&vids[2], json!("12.345"));
    sim.set_raw_stock(&vids[1], json!(-1));
    let http = suppliers();
    let product = http.product(&supplier, &pid).await.unwrap().unwrap();
    let (listed, variants) = sim.product(&pid).unwrap();
    assert_eq!(product.product_id, pid);
    assert_eq!(product.title, listed.title);
    let url = product.url.as_deref().unwrap();
    assert!(
        url.starts_with("https://cjdropshipping.com/product/simulated-product-")
            && url.ends_with(&format!("-p-{pid}.html")),
        "{url}"
    );
    // The variant with an unreadable price is left out; the one with unreadable stock is
    // given without stock.
    assert_eq!(product.variants.len(), 2);
    let first = &product.variants[0];
    assert_eq!(first.sku, variants[0].sku);
    assert_eq!(first.variant_id.as_deref(), Some(variants[0].vid.as_str()));
    assert_eq!(first.options, "Black-S");
    assert_eq!(first.barcode, None);
    assert_eq!(first.unit_cost, usd(variants[0].price_cents));
    assert_eq!(first.stock, Some(variants[0].stock));
    assert_eq!(product.variants[1].options, "White-S");
    assert_eq!(product.variants[1].stock, None);
    assert_eq!(
        (sim.calls(DETAIL_OF), sim.calls(VARIANTS_OF), sim.calls(INVENTORY_OF)),
        (1, 1, 1)
    );
    // A product CJ does not have, or no longer sells.
    assert_eq!(http.product(&supplier, "NO-SUCH-PID").await, Ok(None));
    assert_eq!(http.product(&supplier, "  ").await, Ok(None));
    sim.remove_product(&pid);
    assert_eq!(http.product(&supplier, &pid).await, Ok(None));
}

#[tokio::test]
async fn cj_rate_limit_is_honoured() {
    let sim = CjSim::start(107).await.unwrap();
    let added = sim.add_products(3, 2);
    let vids: Vec<&String> = added.iter().flat_map(|(_, vids)| vids).collect();
    sim.set_rate_limit(Some(5));
    // Paced below CJ's limit: the token and six catalogue calls all pass, a quarter second
    // apart.
    let paced = cj_supplier(&sim, Some(4));
    let offers = cj_offers(&sim, &paced, &vids);
    let started = Instant::now();
    let levels = suppliers().stock(&paced, &offers).await.unwrap();
    assert!(levels.iter().all(|l| l.problem.is_none() && l.available.is_some()));
    assert!(
        started.elapsed() >= Duration::from_millis(1_400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sim.rate_limited(), 0);
    // Without pacing, CJ's refusal comes back as the port's rate limit, with CJ's wait.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    sim.set_rate_limit(Some(2));
    let unpaced = cj_supplier(&sim, None);
    let offers = cj_offers(&sim, &unpaced, &vids);
    assert_eq!(
        suppliers().stock(&unpaced, &offers).await,
        Err(SupplierError::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        })
    );
    assert!(sim.rate_limited() >= 1);
}

/// The AliExpress offer of each SKU of these products (the SKU is its `sku_attr`, else its
/// id, as the catalogue import gives it).
fn ae_offers(sim: &AliExpressSim, supplier: &Supplier, products: &[&str]) -> Vec<Offer> {
    products
        .iter()
        .flat_map(|id| sim.product(id).unwrap().skus.into_iter().map(move |sku| (id, sku)))
        .map(|(id, sku)| {
            let name = if sku.sku_attr.is_empty() {
                sku.sku_id.clone()
            } else {
                sku.sku_attr.clone()
            };
            offer(supplier, &name, Some(id), Some(&sku.sku_id))
        })
        .collect()
}

#[tokio::test]
async fn aliexpress_stock_asks_each_product_once() {
    let sim = AliExpressSim::start(201).await.unwrap();
    let supplier = ae_supplier(&sim);
    let products = sim.products();
    let ids = [products[0].product_id.as_str(), products[1].product_id.as_str()];
    let offers = ae_offers(&sim, &supplier, &ids);
    assert!(offers.len() > 2);
    let levels = suppliers().stock(&supplier, &offers).await.unwrap();
    let expected: Vec<StockLevel> = products[..2]
        .iter()
        .flat_map(|p| &p.skus)
        .zip(&offers)
        .map(|(sku, offer)| level(&offer.supplier_sku, Some(sku.stock), Some(sku.price_cents)))
        .collect();
    assert_eq!(levels, expected);
    assert_eq!(sim.calls(AE_PRODUCT), 2);
}

#[tokio::test]
async fn aliexpress_bad_sku_is_a_problem_a_removed_one_is_gone() {
    let sim = AliExpressSim::start(202).await.unwrap();
    let supplier = ae_supplier(&sim);
    let products = sim.products();
    let (first, second) = (&products[0], &products[1]);
    let mut offers = ae_offers(&sim, &supplier, &[&first.product_id, &second.product_id]);
    assert!(sim.set_raw_price(&first.skus[0].sku_id, json!("-3.00")));
    assert!(sim.set_raw_stock(&first.skus[1].sku_id, json!(-5)));
    assert!(sim.remove_sku(&second.skus[0].sku_id));
    offers.push(offer(&supplier, "NO-PRODUCT-ID", None, None));
    let levels = suppliers().stock(&supplier, &offers).await.unwrap();
    assert!(
        levels[0].problem.as_deref().unwrap().contains("negative amount"),
        "{:?}",
        levels[0]
    );
    assert!(
        levels[1].problem.as_deref().unwrap().contains("sku_available_stock"),
        "{:?}",
        levels[1]
    );
    assert_eq!((levels[0].available, levels[1].unit_cost), (None, None));
    let at_second = first.skus.len();
    assert_eq!(levels[at_second], level(&offers[at_second].supplier_sku, None, None));
    let kept = &second.skus[1];
    assert_eq!(
        levels[at_second + 1],
        level(
            &offers[at_second + 1].supplier_sku,
            Some(kept.stock),
            Some(kept.price_cents)
        )
    );
    assert!(
        levels
            .last()
            .unwrap()
            .problem
            .as_deref()
            .unwrap()
            .contains("product id")
    );
    // A product AliExpress no longer has: every SKU of it is gone.
    sim.remove_product(&second.product_id);
    let levels = suppliers().stock(&supplier, &offers[at_second..]).await.unwrap();
    assert!(
        levels[..levels.len() - 1]
            .iter()
            .all(|l| l.available.is_none() && l.problem.is_none())
    );
}

#[tokio::test]
async fn aliexpress_product_gives_skus_with_their_properties() {
    let sim = AliExpressSim::start(203).await.unwrap();
    let supplier = ae_supplier(&sim);
    let (id, sku_ids) = sim.add_products(1, 3).remove(0);
    let http = suppliers();
    let product = http.product(&supplier, &id).await.unwrap().unwrap();
    let seeded = sim.product(&id).unwrap();
    assert_eq!(product.product_id, id);
    assert_eq!(product.title, seeded.title);
    assert_eq!(product.url, Some(format!("https://www.aliexpress.com/item/{id}.html")));
    assert_eq!(product.variants.len(), 3);
    let first = &product.variants[0];
    assert_eq!(first.sku, seeded.skus[0].sku_attr);
    assert_eq!(first.variant_id.as_deref(), Some(sku_ids[0].as_str()));
    assert_eq!(first.options, "Color:Black;Size:M");
    assert_eq!(first.unit_cost, usd(seeded.skus[0].price_cents));
    assert_eq!(first.stock, Some(seeded.skus[0].stock));
    assert_eq!(product.variants[1].options, "Color:Grey;Size:M");
    // A product of a single SKU is ordered by the SKU's id.
    let single = sim.products().into_iter().find(|p| p.skus.len() == 1).unwrap();
    let read = http.product(&supplier, &single.product_id).await.unwrap().unwrap();
    assert_eq!(read.variants[0].sku, single.skus[0].sku_id);
    assert_eq!(read.variants[0].options, "");
    assert_eq!(http.product(&supplier, "1005000000000000").await, Ok(None));
    assert_eq!(http.product(&supplier, "not-an-id").await, Ok(None));
}

#[tokio::test]
async fn suppliers_without_an_api_have_no_catalogue() {
    let manual = supplier("manual", json!({}));
    assert!(matches!(
        suppliers().product(&manual, "P1").await,
        Err(SupplierError::Misconfigured(_))
    ));
}
