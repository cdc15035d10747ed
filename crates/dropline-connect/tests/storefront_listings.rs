//! Listing pushes (stock, prices, visibility) over real HTTP on 127.0.0.1: the storefront
//! clients against the simulated Shopify, WooCommerce and Wix of `dropline-sim`. The same
//! checks run on each platform through [`ListingSim`]; what only one platform does is tested
//! beside them.

use dropline_app::storefront::{
    ListingPrice, ListingPush, ListingReceipt, StorefrontClient, StorefrontError, StorefrontTarget, VariantListing,
};
use dropline_connect::storefronts::HttpStorefronts;
use dropline_domain::catalog::{Platform, StoreConnection};
use dropline_domain::money::{Currency, Money};
use dropline_sim::storefront::{
    ApiRequest, ProductIds, ShopifySim, SimConfig, SimError, SimProduct, SimVariant, WixSim, WooCommerceSim,
};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::parse("USD").expect("USD is a currency"))
}

fn client() -> HttpStorefronts {
    HttpStorefronts::new().with_timeout(Duration::from_secs(10))
}

/// What the tests need of a simulated platform.
trait ListingSim {
    fn target(&self) -> StorefrontTarget;
    fn add(&self, product: SimProduct) -> Result<ProductIds, SimError>;
    fn stock(&self, variant: &str) -> Option<u32>;
    fn price(&self, variant: &str) -> Option<(i64, Option<i64>)>;
    fn published(&self, product: &str) -> bool;
    fn writes(&self) -> usize;
    fn answered(&self) -> Vec<ApiRequest>;
    fn limit_next(&self, count: u32, retry_after: Duration);
    fn fail(&self, count: u32);
}

fn target(platform: Platform, connection: StoreConnection) -> StorefrontTarget {
    StorefrontTarget {
        platform,
        connection,
        currency: Currency::parse("USD").expect("USD"),
    }
}

macro_rules! listing_sim {
    ($sim:ty, $target:expr) => {
        impl ListingSim for $sim {
            fn target(&self) -> StorefrontTarget {
                $target(self)
            }
            fn add(&self, product: SimProduct) -> Result<ProductIds, SimError> {
                self.add_product(product)
            }
            fn stock(&self, variant: &str) -> Option<u32> {
                self.stock_of(variant)
            }
            fn price(&self, variant: &str) -> Option<(i64, Option<i64>)> {
                self.price_of(variant)
            }
            fn published(&self, product: &str) -> bool {
                self.is_published(product)
            }
            fn writes(&self) -> usize {
                self.listing_writes()
            }
            fn answered(&self) -> Vec<ApiRequest> {
                self.requests()
            }
            fn limit_next(&self, count: u32, retry_after: Duration) {
                self.rate_limit_next(count, retry_after);
            }
            fn fail(&self, count: u32) {
                self.fail_next(count);
            }
        }
    };
}

listing_sim!(ShopifySim, |sim: &ShopifySim| target(
    Platform::Shopify,
    StoreConnection {
        domain: Some(sim.shop_domain().to_string()),
        api_base: Some(sim.base_url().to_string()),
        access_token: Some(sim.access_token().to_string()),
        ..StoreConnection::default()
    },
));
listing_sim!(WooCommerceSim, |sim: &WooCommerceSim| target(
    Platform::Woocommerce,
    StoreConnection {
        api_base: Some(sim.base_url().to_string()),
        api_key: Some(sim.consumer_key().to_string()),
        api_secret: Some(sim.consumer_secret().to_string()),
        ..StoreConnection::default()
    },
));
listing_sim!(WixSim, |sim: &WixSim| target(
    Platform::Wix,
    StoreConnection {
        api_base: Some(sim.base_url().to_string()),
        access_token: Some(sim.api_key().to_string()),
        api_key: Some(sim.site_id().to_string()),
        ..StoreConnection::default()
    },
));

fn config() -> SimConfig {
    SimConfig::new(8).catalogue(Vec::new())
}

async fn shopify() -> ShopifySim {
    ShopifySim::start(config()).await.expect("the Shopify simulator starts")
}

async fn woocommerce() -> WooCommerceSim {
    WooCommerceSim::start(config())
        .await
        .expect("the WooCommerce simulator starts")
}

async fn wix() -> WixSim {
    WixSim::start(config()).await.expect("the Wix simulator starts")
}

/// A product as dropline knows it after a catalogue pull: its id and its variants' ids (the
/// one variant of a Wix product without options goes by the product's id).
struct Known {
    product: String,
    variants: Vec<String>,
}

fn known(ids: ProductIds) -> Known {
    let variants = ids
        .variant_ids
        .iter()
        .map(|id| {
            if id == "00000000-0000-0000-0000-000000000000" {
                ids.product_id.clone()
            } else {
                id.clone()
            }
        })
        .collect();
    Known {
        product: ids.product_id,
        variants,
    }
}

/// A posture corrector in two sizes (24.99, 26.50) and a simple phone mount (19.50).
fn stock_the_shop<S: ListingSim>(sim: &S) -> (Known, Known) {
    let corrector = sim
        .add(
            SimProduct::new("Posture Corrector")
                .variant(SimVariant::new("POSTURE-M", "24.99").option("Size", "M"))
                .variant(SimVariant::new("POSTURE-L", "26.50").option("Size", "L")),
        )
        .expect("the corrector is added");
    let mount = sim
        .add(SimProduct::simple("Magnetic Phone Mount", "MOUNT-1", "19.50"))
        .expect("the mount is added");
    (known(corrector), known(mount))
}

fn variant(id: &str, stock: Option<u32>, price: Option<(i64, Option<i64>)>) -> VariantListing {
    VariantListing {
        platform_variant_id: id.to_string(),
        sku: format!("SKU-{id}"),
        stock,
        price: price.map(|(price, compare_at)| ListingPrice {
            price: usd(price),
            compare_at: compare_at.map(usd),
        }),
    }
}

fn push(product: &str, published: Option<bool>, variants: Vec<VariantListing>) -> ListingPush {
    ListingPush {
        platform_product_id: product.to_string(),
        published,
        variants,
    }
}

async fn push_ok<S: ListingSim>(sim: &S, client: &HttpStorefronts, pushes: &[ListingPush]) -> ListingReceipt {
    let before = sim.answered().len();
    let receipt = client
        .push_listings(&sim.target(), pushes)
        .await
        .expect("the push goes through");
    assert_eq!(
        receipt.requests as usize,
        sim.answered().len() - before,
        "every request is counted: {receipt:?}"
    );
    receipt
}

/// The paths of the requests answered after the first `from`.
fn calls_since(sim: &impl ListingSim, from: usize) -> Vec<String> {
    sim.answered()[from..]
        .iter()
        .map(|request| format!("{} {} {}", request.method, request.path, request.status))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The same checks on every platform
// ---------------------------------------------------------------------------------------------

/// Stock, prices with and without compare-at price, hiding and showing; pushed twice, the same
/// values change nothing.
async fn sets_stock_prices_and_visibility<S: ListingSim>(sim: S) {
    let (corrector, mount) = stock_the_shop(&sim);
    let client = client();
    let (m, l) = (&corrector.variants[0], &corrector.variants[1]);
    let simple = &mount.variants[0];
    // The corrector is out of stock in M and hidden; its prices drop with a compare-at price
    // (7.00 above each: one discount on Wix); the mount gets stock and a plain price.
    let pushes = vec![
        push(
            &corrector.product,
            Some(false),
            vec![
                variant(m, Some(0), Some((1299, Some(1999)))),
                variant(l, Some(4), Some((1499, Some(2199)))),
            ],
        ),
        push(
            &mount.product,
            None,
            vec![variant(simple, Some(12), Some((1750, None)))],
        ),
    ];
    let receipt = push_ok(&sim, &client, &pushes).await;
    assert!(receipt.refused.is_empty(), "{receipt:?}");
    assert_eq!(sim.stock(m), Some(0));
    assert_eq!(sim.stock(l), Some(4));
    assert_eq!(sim.stock(simple), Some(12));
    assert_eq!(sim.price(m), Some((1299, Some(1999))));
    assert_eq!(sim.price(l), Some((1499, Some(2199))));
    assert_eq!(sim.price(simple), Some((1750, None)));
    assert!(!sim.published(&corrector.product));
    assert!(sim.published(&mount.product));

    // The same push again: the same values, nothing refused.
    let again = push_ok(&sim, &client, &pushes).await;
    assert!(again.refused.is_empty(), "{again:?}");
    assert_eq!(sim.stock(m), Some(0));
    assert_eq!(sim.price(l), Some((1499, Some(2199))));
    assert_eq!(sim.price(simple), Some((1750, None)));
    assert!(!sim.published(&corrector.product));

    // The catalogue pulled back shows what the customer pays.
    let page = client
        .products_page(&sim.target(), None)
        .await
        .expect("the catalogue is read");
    let pulled = page
        .products
        .iter()
        .flat_map(|product| &product.variants)
        .find(|pulled| &pulled.platform_variant_id == m)
        .expect("the M variant is listed");
    assert_eq!(pulled.price, usd(1299));

    // Back in stock, shown again, the compare-at prices cleared.
    let back = vec![push(
        &corrector.product,
        Some(true),
        vec![
            variant(m, Some(3), Some((2499, None))),
            variant(l, None, Some((2650, None))),
        ],
    )];
    let receipt = push_ok(&sim, &client, &back).await;
    assert!(receipt.refused.is_empty(), "{receipt:?}");
    assert_eq!(sim.stock(m), Some(3));
    assert_eq!(sim.stock(l), Some(4), "a variant without stock keeps its stock");
    assert_eq!(sim.price(m), Some((2499, None)));
    assert_eq!(sim.price(l), Some((2650, None)));
    assert!(sim.published(&corrector.product));
}

/// Nothing asked, nothing sent; visibility alone is one call.
async fn sends_only_what_is_asked<S: ListingSim>(sim: S) {
    let (corrector, _) = stock_the_shop(&sim);
    let client = client();
    let before = sim.writes();
    let (stock_of_m, price_of_m) = (sim.stock(&corrector.variants[0]), sim.price(&corrector.variants[0]));
    let nothing = vec![push(
        &corrector.product,
        None,
        vec![variant(&corrector.variants[0], None, None)],
    )];
    let receipt = push_ok(&sim, &client, &nothing).await;
    assert_eq!(receipt, ListingReceipt::default());
    assert_eq!(sim.writes(), before);
    let hide = vec![push(&corrector.product, Some(false), Vec::new())];
    let receipt = push_ok(&sim, &client, &hide).await;
    assert_eq!(receipt.requests, 1, "{receipt:?}");
    assert_eq!(sim.writes(), before + 1);
    assert!(!sim.published(&corrector.product));
    assert_eq!(sim.stock(&corrector.variants[0]), stock_of_m, "untouched");
    assert_eq!(sim.price(&corrector.variants[0]), price_of_m, "untouched");
}

/// A variant the platform does not know is refused; the rest of the push is written.
async fn refuses_an_unknown_variant_alone<S: ListingSim>(sim: S, unknown: &str) {
    let (corrector, mount) = stock_the_shop(&sim);
    let client = client();
    let pushes = vec![
        push(
            &corrector.product,
            None,
            vec![
                variant(unknown, Some(5), Some((999, None))),
                variant(&corrector.variants[1], Some(6), Some((2100, None))),
            ],
        ),
        push(&mount.product, None, vec![variant(&mount.variants[0], Some(2), None)]),
    ];
    let receipt = push_ok(&sim, &client, &pushes).await;
    let refused: Vec<&str> = receipt.refused.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(refused, [unknown], "{receipt:?}");
    assert!(!receipt.refused[0].1.is_empty());
    assert_eq!(sim.stock(&corrector.variants[1]), Some(6));
    assert_eq!(sim.price(&corrector.variants[1]), Some((2100, None)));
    assert_eq!(sim.stock(&mount.variants[0]), Some(2));

    // An unknown product is refused by its id.
    let receipt = push_ok(&sim, &client, &[push(unknown, Some(false), Vec::new())]).await;
    let refused: Vec<&str> = receipt.refused.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(refused, [unknown], "{receipt:?}");
}

/// A short rate limit is waited out inside the push; a long one ends it, and the push tried
/// again later goes through. A server error ends the push as retryable.
async fn waits_out_a_short_rate_limit<S: ListingSim>(sim: S) {
    let (corrector, _) = stock_the_shop(&sim);
    let client = client();
    let pushes = vec![push(
        &corrector.product,
        None,
        vec![variant(&corrector.variants[0], Some(9), Some((1111, None)))],
    )];
    sim.limit_next(1, Duration::from_millis(20));
    let receipt = push_ok(&sim, &client, &pushes).await;
    assert!(receipt.refused.is_empty(), "{receipt:?}");
    assert!(
        sim.answered().iter().any(|request| request.status == 429),
        "the simulator answered 429"
    );
    assert_eq!(sim.stock(&corrector.variants[0]), Some(9));

    let later = vec![push(
        &corrector.product,
        None,
        vec![variant(&corrector.variants[0], Some(8), None)],
    )];
    sim.limit_next(1, Duration::from_secs(60));
    let error = client
        .push_listings(&sim.target(), &later)
        .await
        .expect_err("a long rate limit ends the push");
    assert_eq!(
        error,
        StorefrontError::RateLimited {
            retry_after: Some(Duration::from_secs(60))
        }
    );
    assert_eq!(sim.stock(&corrector.variants[0]), Some(9), "nothing written yet");
    push_ok(&sim, &client, &later).await;
    assert_eq!(sim.stock(&corrector.variants[0]), Some(8), "written when tried again");

    sim.fail(1);
    let error = client
        .push_listings(&sim.target(), &later)
        .await
        .expect_err("a server error ends the push");
    assert!(error.is_retryable(), "{error:?}");
}

#[tokio::test]
async fn shopify_push_listings_sets_stock_prices_and_visibility() {
    sets_stock_prices_and_visibility(shopify().await).await;
}

#[tokio::test]
async fn woocommerce_push_listings_sets_stock_prices_and_visibility() {
    sets_stock_prices_and_visibility(woocommerce().await).await;
}

#[tokio::test]
async fn wix_push_listings_sets_stock_prices_and_visibility() {
    sets_stock_prices_and_visibility(wix().await).await;
}

#[tokio::test]
async fn shopify_push_listings_sends_only_what_is_asked() {
    sends_only_what_is_asked(shopify().await).await;
}

#[tokio::test]
async fn woocommerce_push_listings_sends_only_what_is_asked() {
    sends_only_what_is_asked(woocommerce().await).await;
}

#[tokio::test]
async fn wix_push_listings_sends_only_what_is_asked() {
    sends_only_what_is_asked(wix().await).await;
}

#[tokio::test]
async fn shopify_push_listings_refuses_an_unknown_variant_alone() {
    refuses_an_unknown_variant_alone(shopify().await, "999999").await;
}

#[tokio::test]
async fn woocommerce_push_listings_refuses_an_unknown_variant_alone() {
    refuses_an_unknown_variant_alone(woocommerce().await, "999999").await;
}

#[tokio::test]
async fn wix_push_listings_refuses_an_unknown_variant_alone() {
    refuses_an_unknown_variant_alone(wix().await, "8f5d1a54-0000-4000-8000-00000000dead").await;
}

#[tokio::test]
async fn shopify_push_listings_waits_out_a_short_rate_limit() {
    waits_out_a_short_rate_limit(shopify().await).await;
}

#[tokio::test]
async fn woocommerce_push_listings_waits_out_a_short_rate_limit() {
    waits_out_a_short_rate_limit(woocommerce().await).await;
}

#[tokio::test]
async fn wix_push_listings_waits_out_a_short_rate_limit() {
    waits_out_a_short_rate_limit(wix().await).await;
}

// ---------------------------------------------------------------------------------------------
// One platform's own ways
// ---------------------------------------------------------------------------------------------

/// The location and the inventory items are read once per shop: a second push sets the stock
/// with one call per variant. The shop's first listed location is inactive: the active one
/// holds the stock.
#[tokio::test]
async fn shopify_reads_the_location_and_inventory_items_once() {
    let sim = shopify().await;
    let (corrector, _) = stock_the_shop(&sim);
    let client = client();
    let pushes = vec![push(
        &corrector.product,
        None,
        corrector.variants.iter().map(|id| variant(id, Some(5), None)).collect(),
    )];
    let from = sim.requests().len();
    let first = push_ok(&sim, &client, &pushes).await;
    assert_eq!(first.requests, 5, "{:?}", calls_since(&sim, from));
    let calls = calls_since(&sim, from);
    assert_eq!(
        calls.iter().filter(|call| call.contains("locations.json")).count(),
        1,
        "{calls:?}"
    );
    let from = sim.requests().len();
    // A clone shares what the client remembers.
    let second = push_ok(&sim, &client.clone(), &pushes).await;
    assert_eq!(
        calls_since(&sim, from)
            .iter()
            .filter(|call| call.starts_with("POST /admin/api/2025-07/inventory_levels/set.json 200"))
            .count(),
        2
    );
    assert_eq!(second.requests, 2, "{:?}", calls_since(&sim, from));
    assert_eq!(sim.stock(&corrector.variants[1]), Some(5));
}

/// A price in another currency than the store's is refused before anything is sent.
#[tokio::test]
async fn shopify_refuses_a_price_in_another_currency() {
    let sim = shopify().await;
    let (_, mount) = stock_the_shop(&sim);
    let mut listing = variant(&mount.variants[0], None, None);
    listing.price = Some(ListingPrice {
        price: Money::new(1500, Currency::parse("EUR").expect("EUR")),
        compare_at: None,
    });
    let receipt = push_ok(&sim, &client(), &[push(&mount.product, None, vec![listing])]).await;
    assert_eq!(receipt.requests, 0);
    assert_eq!(receipt.refused.len(), 1, "{receipt:?}");
    assert!(receipt.refused[0].1.contains("EUR"), "{receipt:?}");
    assert_eq!(sim.price_of(&mount.variants[0]), Some((1950, None)));
}

/// Variations go 100 to a batch; a simple product is updated with its product.
#[tokio::test]
async fn woocommerce_batches_variations_by_a_hundred() {
    let sim = woocommerce().await;
    let added = sim.add_products(1, 150).expect("a product of 150 variations");
    let (product, ids) = &added[0];
    assert_eq!(product.variants.len(), 150);
    let pushes = vec![push(
        &ids.product_id,
        Some(false),
        ids.variant_ids
            .iter()
            .enumerate()
            .map(|(index, id)| variant(id, Some(index as u32), Some((1000 + index as i64, Some(2000)))))
            .collect(),
    )];
    let from = sim.requests().len();
    let receipt = push_ok(&sim, &client(), &pushes).await;
    assert!(receipt.refused.is_empty(), "{receipt:?}");
    let calls = calls_since(&sim, from);
    assert_eq!(receipt.requests, 3, "hide, then two batches: {calls:?}");
    assert!(calls[0].starts_with("PUT /wp-json/wc/v3/products/"), "{calls:?}");
    assert_eq!(
        calls.iter().filter(|call| call.contains("/variations/batch")).count(),
        2
    );
    assert_eq!(sim.stock_of(&ids.variant_ids[149]), Some(149));
    assert_eq!(sim.price_of(&ids.variant_ids[120]), Some((1120, Some(2000))));
    assert!(!sim.is_published(&ids.product_id));

    // A simple product: one PUT of the product carries stock, prices and status.
    let (_, mount) = stock_the_shop(&sim);
    let from = sim.requests().len();
    let receipt = push_ok(
        &sim,
        &client(),
        &[push(
            &mount.product,
            Some(true),
            vec![variant(&mount.variants[0], Some(1), Some((1500, Some(1950))))],
        )],
    )
    .await;
    assert_eq!(receipt.requests, 1, "{:?}", calls_since(&sim, from));
    assert_eq!(sim.price_of(&mount.product), Some((1500, Some(1950))));
    assert_eq!(sim.stock_of(&mount.product), Some(1));
}

/// Compare-at prices that are not the same amount above their prices cannot share Wix's one
/// discount: the prices are written without it, and those variants say so.
#[tokio::test]
async fn wix_compare_at_prices_need_one_discount_per_product() {
    let sim = wix().await;
    let (corrector, _) = stock_the_shop(&sim);
    let (m, l) = (&corrector.variants[0], &corrector.variants[1]);
    let receipt = push_ok(
        &sim,
        &client(),
        &[push(
            &corrector.product,
            None,
            vec![
                variant(m, None, Some((1299, Some(1999)))),
                variant(l, None, Some((1499, Some(2999)))),
            ],
        )],
    )
    .await;
    let refused: Vec<&str> = receipt.refused.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(refused, [m.as_str(), l.as_str()], "{receipt:?}");
    assert!(receipt.refused[0].1.contains("price written"), "{receipt:?}");
    assert_eq!(sim.price_of(m), Some((1299, None)));
    assert_eq!(sim.price_of(l), Some((1499, None)));
}
