//! Conformance cases of inventory and pricing: the reservations written with every order
//! write and the stock check of [`ChangeSet::stock_checked`], supplier readings of offers
//! with their cost history, storefront listings, price changes and sync problems.
//!
//! Behaviour the suite fixes where `ports.rs` is silent:
//! - the stock check runs after the change set's other writes: the offers it reads have
//!   already moved by the change set's `stock_changes`;
//! - a variant without any offer is not checked (like one whose stock is unknown);
//! - `reserved_units` gives variants in id order; `listings` too;
//! - `offers_of_supplier` gives at most 1 000 offers a page (0 means that many);
//! - `cost_history`, `list_price_changes` and `list_sync_problems` give at most 500 (0 means
//!   500); price changes newest first by `created_at`, sync problems by `at`;
//! - a cost point keeps the previous cost of the offer (in its currency);
//! - `record_price_change` supersedes the variant's pending changes created at or before it;
//!   applied, it is `NotFound` when the variant is gone;
//! - `decide_price_change` to `pending` is refused (`Other`).

use crate::builders::{OrderBuilder, at, offer, platform_product, product, sku, store_record, supplier, usd_minor};
use dropline_app::ports::{Backend, ChangeSet, OrderWrite, StockChange, StoreError};
use dropline_domain::catalog::{Offer, Product};
use dropline_domain::ids::{OfferId, OrderId, PriceChangeId, StoreId, SupplierId, SyncProblemId, VariantId};
use dropline_domain::inventory::{
    CostPoint, Listing, OfferReading, PriceChange, PriceChangeStatus, PricingScope, ReadingProblem, SyncProblem,
};
use dropline_domain::money::Money;
use dropline_domain::order::Order;
use dropline_domain::pricing::{PricingRule, SupplierCost};
use dropline_domain::state::{OrderState, RequestStatus};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A store with a supplier and a product of `variants` variants, each with one offer of
/// `stock` units; the offers are in the order of the product's variants.
struct Catalogue {
    store: StoreId,
    supplier: SupplierId,
    product: Product,
    offers: Vec<Offer>,
}

impl Catalogue {
    fn variant(&self, index: usize) -> VariantId {
        self.product.variants[index].id
    }
}

async fn catalogue<B: Backend>(db: &B, variants: usize, stock: Option<u32>) -> Catalogue {
    let record = store_record();
    db.insert_store(record.clone()).await.unwrap();
    let store = record.store.id;
    let sup = supplier(store);
    db.insert_supplier(sup.clone()).await.unwrap();
    let skus: Vec<String> = (0..variants).map(|_| sku()).collect();
    let skus: Vec<&str> = skus.iter().map(String::as_str).collect();
    let p = product(store, &skus);
    db.insert_product(p.clone()).await.unwrap();
    let mut offers = Vec::new();
    for v in &p.variants {
        let mut o = offer(v.id, sup.id);
        o.stock = stock;
        db.insert_offer(store, o.clone()).await.unwrap();
        offers.push(o);
    }
    Catalogue {
        store,
        supplier: sup.id,
        product: p,
        offers,
    }
}

/// An order of `lines` (variant, units) in `state`.
fn order(store: StoreId, state: OrderState, lines: &[(VariantId, u32)]) -> Order {
    OrderBuilder::new(store).state(state).lines(lines).build()
}

/// The change set that accepts an order (inserted as accepted, or updated), checked.
fn accepting(write: OrderWrite) -> ChangeSet {
    let (OrderWrite::Insert(order) | OrderWrite::Update(order)) = &write;
    let id = order.id;
    ChangeSet {
        timeline: vec![crate::builders::timeline_event(id, at(5), "order.accepted")],
        orders: vec![write],
        stock_checked: vec![id],
        ..ChangeSet::default()
    }
}

async fn commit_update<B: Backend>(db: &B, order: &Order) -> Order {
    db.commit(ChangeSet {
        orders: vec![OrderWrite::Update(order.clone())],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    db.get_order(order.id).await.unwrap().unwrap()
}

fn price_change(c: &Catalogue, index: usize, new_minor: i64, status: PriceChangeStatus, seconds: i64) -> PriceChange {
    let variant = &c.product.variants[index];
    let cost = SupplierCost {
        unit_cost: usd_minor(750),
        shipping: Some(usd_minor(300)),
    };
    let computed = PricingRule::new(crate::builders::usd(), 20_000)
        .compute_price(&cost, None)
        .expect("a price");
    PriceChange {
        id: PriceChangeId::new(),
        store_id: c.store,
        variant_id: variant.id,
        product_id: c.product.id,
        sku: variant.sku.clone(),
        old_price: variant.price,
        new_price: usd_minor(new_minor),
        compare_at: None,
        offer_id: c.offers[index].id,
        cost_before: Some(usd_minor(700)),
        cost_after: usd_minor(750),
        rule_index: 0,
        scope: PricingScope::Store,
        computed: computed.reason,
        status,
        created_at: at(seconds),
        decided_at: (status != PriceChangeStatus::Pending).then(|| at(seconds)),
        decided_by: (status != PriceChangeStatus::Pending).then(|| "rule".to_string()),
    }
}

fn decided(change: &PriceChange, status: PriceChangeStatus, seconds: i64) -> PriceChange {
    PriceChange {
        status,
        decided_at: Some(at(seconds)),
        decided_by: Some("ada@example.com".into()),
        ..change.clone()
    }
}

async fn price_of<B: Backend>(db: &B, c: &Catalogue, index: usize) -> Money {
    let product = db.get_product(c.product.id).await.unwrap().unwrap();
    product.variants[index].price
}

fn sync_problem(store: StoreId, supplier: SupplierId, offer_id: Option<OfferId>, seconds: i64) -> SyncProblem {
    SyncProblem {
        id: SyncProblemId::new(),
        store_id: store,
        supplier_id: supplier,
        offer_id,
        supplier_sku: format!("SUP-{}", crate::builders::unique()),
        problem: ReadingProblem::AbsurdCost {
            previous: usd_minor(1_000),
            new: usd_minor(10_000),
        },
        at: at(seconds),
        resolved_at: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Reservations and the stock check
// ---------------------------------------------------------------------------------------------

/// An accepted order holds its lines' units until a supplier order covering them is placed;
/// an order in review or cancelled holds nothing.
pub async fn reservations_follow_the_order<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 2, Some(40)).await;
    let (v0, v1) = (c.variant(0), c.variant(1));
    let mut sorted = [v0, v1];
    sorted.sort();

    let pending = order(c.store, OrderState::PendingReview, &[(v0, 2), (v1, 1)]);
    db.commit(ChangeSet {
        orders: vec![OrderWrite::Insert(pending.clone())],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.reserved_units(&[v0, v1]).await.unwrap(), vec![]);

    let mut accepted = pending.clone();
    accepted.state = OrderState::Accepted;
    let accepted = commit_update(&*db, &accepted).await;
    let held = db.reserved_units(&[v1, v0, v1]).await.unwrap();
    let expected: Vec<(VariantId, u32)> = sorted.iter().map(|v| (*v, if *v == v0 { 2 } else { 1 })).collect();
    assert_eq!(held, expected);
    // Another order inserted accepted adds to them.
    let other = order(c.store, OrderState::Accepted, &[(v0, 3)]);
    db.commit(ChangeSet {
        orders: vec![OrderWrite::Insert(other.clone())],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.reserved_units(&[v0]).await.unwrap(), vec![(v0, 5)]);

    // A supplier order for the first line holds its units until it is placed.
    let mut routed = accepted.clone();
    routed.state = OrderState::InFulfillment;
    routed
        .supplier_orders
        .push(crate::builders::supplier_order_for(&routed, c.supplier));
    let mut routed = commit_update(&*db, &routed).await;
    assert_eq!(db.reserved_units(&[v0]).await.unwrap(), vec![(v0, 5)]);
    routed.supplier_orders[0].state.request_status = RequestStatus::Submitted;
    let routed = commit_update(&*db, &routed).await;
    let expected: Vec<(VariantId, u32)> = sorted.iter().map(|v| (*v, if *v == v0 { 3 } else { 1 })).collect();
    assert_eq!(db.reserved_units(&[v0, v1]).await.unwrap(), expected);

    // Cancelled: nothing held any more.
    let mut cancelled = routed.clone();
    cancelled.state = OrderState::Cancelled;
    commit_update(&*db, &cancelled).await;
    let mut other_cancelled = other.clone();
    other_cancelled.state = OrderState::Cancelled;
    commit_update(&*db, &other_cancelled).await;
    assert_eq!(db.reserved_units(&[v0, v1]).await.unwrap(), vec![]);
    assert_eq!(db.reserved_units(&[]).await.unwrap(), vec![]);
}

/// The second of two orders for the last unit is refused whole; one that holds no more than
/// before passes; unknown stock and variants without offers are not checked.
pub async fn stock_checked_orders_fit_what_the_offers_can_ship<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 1, Some(1)).await;
    let v = c.variant(0);
    let first = order(c.store, OrderState::Accepted, &[(v, 1)]);
    db.commit(accepting(OrderWrite::Insert(first.clone()))).await.unwrap();

    let second = order(c.store, OrderState::Accepted, &[(v, 1)]);
    let refused = db.commit(accepting(OrderWrite::Insert(second.clone()))).await;
    assert_eq!(refused, Err(StoreError::OutOfStock(v)));
    assert_eq!(db.get_order(second.id).await.unwrap(), None, "nothing of it is written");
    assert_eq!(db.timeline(second.id).await.unwrap(), vec![]);
    assert_eq!(db.reserved_units(&[v]).await.unwrap(), vec![(v, 1)]);

    // The same order in review, then accepted by an update: refused too, and left as it was.
    db.commit(ChangeSet {
        orders: vec![OrderWrite::Insert(
            OrderBuilder::new(c.store).lines(&[(v, 1)]).id(second.id).build(),
        )],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let stored = db.get_order(second.id).await.unwrap().unwrap();
    let mut accepted = stored.clone();
    accepted.state = OrderState::Accepted;
    let refused = db.commit(accepting(OrderWrite::Update(accepted))).await;
    assert_eq!(refused, Err(StoreError::OutOfStock(v)));
    assert_eq!(db.get_order(second.id).await.unwrap(), Some(stored.clone()));

    // The supplier has none left: an order that holds no more than it did still passes.
    let mut empty = c.offers[0].clone();
    empty.stock = Some(0);
    db.update_offer(empty).await.unwrap();
    let held = db.get_order(first.id).await.unwrap().unwrap();
    db.commit(accepting(OrderWrite::Update(held))).await.unwrap();

    // Unknown stock is no limit; neither is a variant without offers.
    let unknown = catalogue(&*db, 1, None).await;
    for _ in 0..2 {
        let many = order(unknown.store, OrderState::Accepted, &[(unknown.variant(0), 50)]);
        db.commit(accepting(OrderWrite::Insert(many))).await.unwrap();
    }
    let unmapped = order(c.store, OrderState::Accepted, &[(VariantId::new(), 3)]);
    db.commit(accepting(OrderWrite::Insert(unmapped))).await.unwrap();

    // Two orders of one change set count each other.
    let two = catalogue(&*db, 1, Some(3)).await;
    let v2 = two.variant(0);
    let (a, b) = (
        order(two.store, OrderState::Accepted, &[(v2, 2)]),
        order(two.store, OrderState::Accepted, &[(v2, 2)]),
    );
    let refused = db
        .commit(ChangeSet {
            orders: vec![OrderWrite::Insert(a.clone()), OrderWrite::Insert(b.clone())],
            stock_checked: vec![a.id, b.id],
            ..ChangeSet::default()
        })
        .await;
    assert_eq!(refused, Err(StoreError::OutOfStock(v2)));
    assert_eq!(db.get_order(a.id).await.unwrap(), None);
    assert_eq!(db.reserved_units(&[v2]).await.unwrap(), vec![]);

    // The check reads the offers after the change set's own stock moves.
    let refused = db
        .commit(ChangeSet {
            stock_changes: vec![StockChange {
                offer_id: two.offers[0].id,
                delta: -2,
            }],
            ..accepting(OrderWrite::Insert(a.clone()))
        })
        .await;
    assert_eq!(refused, Err(StoreError::OutOfStock(v2)));
    let stock = db.offers_for_variants(&[v2]).await.unwrap()[0].stock;
    assert_eq!(stock, Some(3), "the refused change set moved no stock");
    db.commit(accepting(OrderWrite::Insert(a.clone()))).await.unwrap();
    // Unchecked writes are not refused.
    db.commit(ChangeSet {
        orders: vec![OrderWrite::Insert(b.clone())],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.reserved_units(&[v2]).await.unwrap(), vec![(v2, 4)]);
}

/// Change sets that race for the last units of a variant: as many land as there are units,
/// every other one is `OutOfStock`.
pub async fn concurrent_stock_checked_commits_never_share_a_unit<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 1, Some(3)).await;
    let v = c.variant(0);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let db = Arc::clone(&db);
        let contender = order(c.store, OrderState::Accepted, &[(v, 1)]);
        tasks.spawn(async move {
            let result = db.commit(accepting(OrderWrite::Insert(contender.clone()))).await;
            (result, contender.id)
        });
    }
    let mut landed: Vec<OrderId> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (Ok(()), id) => landed.push(id),
            (Err(StoreError::OutOfStock(refused)), _) => assert_eq!(refused, v),
            (Err(other), _) => panic!("expected Ok or OutOfStock, got {other:?}"),
        }
    }
    assert_eq!(landed.len(), 3, "{landed:?}");
    assert_eq!(db.reserved_units(&[v]).await.unwrap(), vec![(v, 3)]);

    // Two at once for the last unit of another variant: exactly one lands.
    let last = catalogue(&*db, 1, Some(1)).await;
    let w = last.variant(0);
    let (a, b) = (
        order(last.store, OrderState::Accepted, &[(w, 1)]),
        order(last.store, OrderState::Accepted, &[(w, 1)]),
    );
    let first = tokio::spawn({
        let db = Arc::clone(&db);
        async move { db.commit(accepting(OrderWrite::Insert(a))).await }
    });
    let second = tokio::spawn({
        let db = Arc::clone(&db);
        async move { db.commit(accepting(OrderWrite::Insert(b))).await }
    });
    let mut results = vec![first.await.unwrap(), second.await.unwrap()];
    results.sort_by_key(Result::is_err);
    assert_eq!(results, vec![Ok(()), Err(StoreError::OutOfStock(w))]);
}

// ---------------------------------------------------------------------------------------------
// Offers and their costs
// ---------------------------------------------------------------------------------------------

pub async fn offers_of_supplier_page_by_id<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 5, Some(1)).await;
    // Another supplier's offer of the same variant is not in the pages.
    let other = supplier(c.store);
    db.insert_supplier(other.clone()).await.unwrap();
    db.insert_offer(c.store, offer(c.variant(0), other.id)).await.unwrap();
    let mut ids: Vec<OfferId> = c.offers.iter().map(|o| o.id).collect();
    ids.sort();

    let page = |offers: Vec<Offer>| offers.into_iter().map(|o| o.id).collect::<Vec<_>>();
    let first = db.offers_of_supplier(c.supplier, None, 2).await.unwrap();
    assert_eq!(page(first.clone()), ids[..2]);
    let second = db.offers_of_supplier(c.supplier, Some(ids[1]), 2).await.unwrap();
    assert_eq!(page(second), ids[2..4]);
    let last = db.offers_of_supplier(c.supplier, Some(ids[3]), 2).await.unwrap();
    assert_eq!(page(last), ids[4..]);
    assert_eq!(
        db.offers_of_supplier(c.supplier, Some(ids[4]), 2).await.unwrap(),
        vec![]
    );
    assert_eq!(page(db.offers_of_supplier(c.supplier, None, 0).await.unwrap()), ids);
    let whole = c.offers.iter().find(|o| o.id == ids[0]).cloned();
    assert_eq!(first.into_iter().next(), whole, "whole offers");
    assert_eq!(
        db.offers_of_supplier(SupplierId::new(), None, 10).await.unwrap(),
        vec![]
    );
}

pub async fn offer_readings_set_stock_and_cost_and_record_moves<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 2, Some(40)).await;
    let (first, second) = (c.offers[0].clone(), c.offers[1].clone());
    let reading = |offer: &Offer, stock, cost: Option<i64>, seconds| OfferReading {
        offer_id: offer.id,
        stock,
        unit_cost: cost.map(usd_minor),
        at: at(seconds),
    };
    let read_offer = |offers: Vec<Offer>, id: OfferId| offers.into_iter().find(|o| o.id == id).unwrap();

    // Stock only, the same cost, and an offer that is gone: no history.
    db.apply_offer_readings(&[
        reading(&first, 10, None, 1),
        reading(&second, 7, Some(750), 1),
        OfferReading {
            offer_id: OfferId::new(),
            stock: 3,
            unit_cost: Some(usd_minor(1)),
            at: at(1),
        },
    ])
    .await
    .unwrap();
    let offers = db.offers_for_variants(&[c.variant(0), c.variant(1)]).await.unwrap();
    let expected = Offer {
        stock: Some(10),
        ..first.clone()
    };
    assert_eq!(read_offer(offers.clone(), first.id), expected);
    assert_eq!(read_offer(offers, second.id).stock, Some(7));
    assert_eq!(db.cost_history(first.id, 10).await.unwrap(), vec![]);
    assert_eq!(db.cost_history(second.id, 10).await.unwrap(), vec![]);

    // A cost that moves is applied and recorded; two moves at one time keep their order.
    db.apply_offer_readings(&[reading(&first, 9, Some(800), 10)])
        .await
        .unwrap();
    db.apply_offer_readings(&[reading(&first, 8, Some(900), 20), reading(&first, 8, Some(950), 20)])
        .await
        .unwrap();
    let stored = read_offer(db.offers_for_variants(&[c.variant(0)]).await.unwrap(), first.id);
    assert_eq!((stored.stock, stored.unit_cost), (Some(8), usd_minor(950)));
    let point = |cost, previous, seconds| CostPoint {
        offer_id: first.id,
        at: at(seconds),
        unit_cost: usd_minor(cost),
        previous: Some(usd_minor(previous)),
    };
    assert_eq!(
        db.cost_history(first.id, 10).await.unwrap(),
        vec![point(950, 900, 20), point(900, 800, 20), point(800, 750, 10)]
    );
    assert_eq!(db.cost_history(first.id, 1).await.unwrap(), vec![point(950, 900, 20)]);
    db.apply_offer_readings(&[]).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------

pub async fn listings_round_trip_and_upsert<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 3, Some(1)).await;
    let shown = Listing {
        variant_id: c.variant(0),
        store_id: c.store,
        stock: Some(12),
        price: Some(usd_minor(2_499)),
        compare_at: Some(usd_minor(2_999)),
        published: Some(true),
        updated_at: at(10),
    };
    let bare = Listing {
        variant_id: c.variant(1),
        store_id: c.store,
        stock: None,
        price: None,
        compare_at: None,
        published: None,
        updated_at: at(11),
    };
    db.save_listings(&[shown.clone(), bare.clone()]).await.unwrap();
    let mut expected = vec![shown.clone(), bare.clone()];
    expected.sort_by_key(|l| l.variant_id);
    let all = [c.variant(2), c.variant(1), c.variant(0)];
    assert_eq!(db.listings(&all).await.unwrap(), expected);

    let hidden = Listing {
        stock: Some(0),
        price: Some(usd_minor(2_599)),
        compare_at: None,
        published: Some(false),
        updated_at: at(20),
        ..shown.clone()
    };
    db.save_listings(std::slice::from_ref(&hidden)).await.unwrap();
    assert_eq!(db.listings(&[c.variant(0)]).await.unwrap(), vec![hidden]);
    assert_eq!(db.listings(&[VariantId::new()]).await.unwrap(), vec![]);
    assert_eq!(db.listings(&[]).await.unwrap(), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Price changes
// ---------------------------------------------------------------------------------------------

/// An applied change sets the variant's price wherever the catalogue is read.
pub async fn applied_price_change_sets_the_variant_price<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 2, Some(1)).await;
    let change = price_change(&c, 0, 2_499, PriceChangeStatus::Applied, 1);
    db.record_price_change(&change).await.unwrap();
    assert_eq!(db.get_price_change(change.id).await.unwrap(), Some(change.clone()));

    let mut expected = c.product.clone();
    expected.variants[0].price = usd_minor(2_499);
    assert_eq!(db.get_product(c.product.id).await.unwrap(), Some(expected.clone()));
    assert_eq!(db.list_products(Some(c.store)).await.unwrap(), vec![expected.clone()]);
    let sku = c.product.variants[0].sku.clone();
    assert_eq!(
        db.variants_by_sku(c.store, &[sku]).await.unwrap(),
        vec![expected.variants[0].clone()]
    );

    // The same id twice is a conflict; a change of a variant that is gone is not applied.
    assert!(matches!(
        db.record_price_change(&change).await,
        Err(StoreError::Conflict(_))
    ));
    let mut gone = price_change(&c, 1, 5_000, PriceChangeStatus::Applied, 2);
    gone.variant_id = VariantId::new();
    assert!(matches!(
        db.record_price_change(&gone).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(db.get_price_change(gone.id).await.unwrap(), None);
    assert_eq!(price_of(&*db, &c, 1).await, c.product.variants[1].price);
}

/// Pending changes wait without touching the price; a newer one supersedes them; a decision
/// is taken once.
pub async fn pending_price_changes_are_superseded_and_decided_once<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 2, Some(1)).await;
    let old_price = c.product.variants[0].price;
    let early = price_change(&c, 0, 2_100, PriceChangeStatus::Pending, 1);
    db.record_price_change(&early).await.unwrap();
    assert_eq!(price_of(&*db, &c, 0).await, old_price);
    // Another variant's pending change is left alone.
    let elsewhere = price_change(&c, 1, 3_000, PriceChangeStatus::Pending, 2);
    db.record_price_change(&elsewhere).await.unwrap();
    let late = price_change(&c, 0, 2_200, PriceChangeStatus::Pending, 3);
    db.record_price_change(&late).await.unwrap();
    let superseded = PriceChange {
        status: PriceChangeStatus::Superseded,
        ..early.clone()
    };
    assert_eq!(db.get_price_change(early.id).await.unwrap(), Some(superseded.clone()));
    assert_eq!(
        db.get_price_change(elsewhere.id).await.unwrap(),
        Some(elsewhere.clone())
    );

    let applied = decided(&late, PriceChangeStatus::Applied, 4);
    db.decide_price_change(&applied).await.unwrap();
    assert_eq!(db.get_price_change(late.id).await.unwrap(), Some(applied.clone()));
    assert_eq!(price_of(&*db, &c, 0).await, usd_minor(2_200));

    // Decided already, superseded, or gone.
    let again = decided(&late, PriceChangeStatus::Rejected, 5);
    assert!(matches!(
        db.decide_price_change(&again).await,
        Err(StoreError::Conflict(_))
    ));
    let revived = decided(&early, PriceChangeStatus::Applied, 5);
    assert!(matches!(
        db.decide_price_change(&revived).await,
        Err(StoreError::Conflict(_))
    ));
    let missing = decided(
        &price_change(&c, 0, 1, PriceChangeStatus::Pending, 6),
        PriceChangeStatus::Applied,
        6,
    );
    assert!(matches!(
        db.decide_price_change(&missing).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(price_of(&*db, &c, 0).await, usd_minor(2_200));
    let rejected = decided(&elsewhere, PriceChangeStatus::Rejected, 7);
    db.decide_price_change(&rejected).await.unwrap();
    assert_eq!(price_of(&*db, &c, 1).await, c.product.variants[1].price);

    // Listings: newest first, by status, by store.
    let other = catalogue(&*db, 1, Some(1)).await;
    let foreign = price_change(&other, 0, 999, PriceChangeStatus::Pending, 9);
    db.record_price_change(&foreign).await.unwrap();
    let ids = |changes: Vec<PriceChange>| changes.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(db.list_price_changes(Some(c.store), None, 0).await.unwrap()),
        vec![late.id, elsewhere.id, early.id]
    );
    assert_eq!(
        db.list_price_changes(Some(c.store), Some(PriceChangeStatus::Superseded), 10)
            .await
            .unwrap(),
        vec![superseded]
    );
    assert_eq!(
        ids(db.list_price_changes(Some(c.store), None, 2).await.unwrap()),
        vec![late.id, elsewhere.id]
    );
    assert_eq!(
        ids(db
            .list_price_changes(None, Some(PriceChangeStatus::Pending), 10)
            .await
            .unwrap()),
        vec![foreign.id]
    );
    assert_eq!(db.list_price_changes(None, None, 10).await.unwrap().len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Sync problems
// ---------------------------------------------------------------------------------------------

pub async fn sync_problems_are_listed_and_resolved_once<B: Backend>(db: Arc<B>) {
    let c = catalogue(&*db, 1, Some(1)).await;
    let other = catalogue(&*db, 1, Some(1)).await;
    let old = sync_problem(c.store, c.supplier, Some(c.offers[0].id), 1);
    let new = SyncProblem {
        problem: ReadingProblem::UnknownSku { sku: "GONE-1".into() },
        ..sync_problem(c.store, c.supplier, None, 2)
    };
    let foreign = sync_problem(other.store, other.supplier, None, 3);
    for problem in [&old, &new, &foreign] {
        db.insert_sync_problem(problem).await.unwrap();
    }
    assert!(matches!(
        db.insert_sync_problem(&old).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        db.list_sync_problems(Some(c.store), true, 0).await.unwrap(),
        vec![new.clone(), old.clone()]
    );

    assert!(db.resolve_sync_problem(old.id, at(10)).await.unwrap());
    assert!(
        !db.resolve_sync_problem(old.id, at(11)).await.unwrap(),
        "resolved already"
    );
    assert!(!db.resolve_sync_problem(SyncProblemId::new(), at(11)).await.unwrap());
    let resolved = SyncProblem {
        resolved_at: Some(at(10)),
        ..old.clone()
    };
    assert_eq!(
        db.list_sync_problems(Some(c.store), true, 10).await.unwrap(),
        vec![new.clone()]
    );
    assert_eq!(
        db.list_sync_problems(Some(c.store), false, 10).await.unwrap(),
        vec![new.clone(), resolved]
    );
    assert_eq!(
        db.list_sync_problems(None, true, 10).await.unwrap(),
        vec![foreign, new.clone()]
    );
    assert_eq!(db.list_sync_problems(None, false, 1).await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Product collections
// ---------------------------------------------------------------------------------------------

/// A product's collections are kept, and an import from the storefront leaves them alone.
pub async fn product_collections_survive_an_import<B: Backend>(db: Arc<B>) {
    let record = store_record();
    db.insert_store(record.clone()).await.unwrap();
    let store = record.store.id;
    let (product_id, variant_id, variant_sku) = (crate::builders::platform_id(), crate::builders::platform_id(), sku());
    let mut pulled = platform_product(store, &product_id, &[(variant_id.as_str(), variant_sku.as_str())]);
    pulled.collections = vec!["Summer".into(), "Mugs".into()];
    db.insert_product(pulled.clone()).await.unwrap();
    assert_eq!(db.get_product(pulled.id).await.unwrap(), Some(pulled.clone()));

    let again = Product {
        title: "Renamed on the storefront".into(),
        collections: Vec::new(),
        ..pulled.clone()
    };
    let import = db.import_products(store, vec![again]).await.unwrap();
    assert_eq!(import.products_updated, 1);
    let expected = Product {
        title: "Renamed on the storefront".into(),
        ..pulled.clone()
    };
    assert_eq!(db.get_product(pulled.id).await.unwrap(), Some(expected.clone()));
    assert_eq!(db.list_products(Some(store)).await.unwrap(), vec![expected]);

    // A product the import creates keeps the collections it came with.
    let mut created = platform_product(store, &crate::builders::platform_id(), &[]);
    created.collections = vec!["Winter".into()];
    db.import_products(store, vec![created.clone()]).await.unwrap();
    assert_eq!(db.get_product(created.id).await.unwrap(), Some(created));
}
