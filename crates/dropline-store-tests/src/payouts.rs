//! Conformance cases of vendor payouts and the walk over a store's delivered orders.
//!
//! Behaviour the suite fixes where `ports.rs` is silent:
//! - `list_payouts` gives payouts newest first (by id), `before` pages on;
//! - `payout_totals` leaves cancelled payouts out;
//! - `delivered_orders` gives only orders whose facts say delivered, in id order.

use crate::builders::{OrderBuilder, at, delivered_shipment, store_record, usd_minor};
use dropline_app::ports::{Backend, ChangeSet, OrderWrite, PayoutFilter, PayoutTotals, StoreError};
use dropline_domain::ids::{OrderId, StoreId, SupplierId};
use dropline_domain::order::Order;
use dropline_domain::payout::{Payout, PayoutEvent, PayoutState};
use dropline_domain::state::OrderState;
use std::sync::Arc;

async fn store<B: Backend>(db: &B) -> StoreId {
    let record = store_record();
    db.insert_store(record.clone()).await.unwrap();
    record.store.id
}

async fn insert<B: Backend>(db: &B, order: Order) -> Order {
    db.commit(ChangeSet {
        orders: vec![OrderWrite::Insert(order.clone())],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    order
}

fn delivered(store_id: StoreId, n: i64) -> Order {
    OrderBuilder::new(store_id)
        .state(OrderState::Delivered)
        .shipped(
            SupplierId::new(),
            vec![delivered_shipment(
                &format!("1ZDELIVERED{n:08}"),
                Some(at(n)),
                at(n + 100),
            )],
        )
        .build()
}

fn payout(store_id: StoreId, minor: i64, seconds: i64) -> Payout {
    Payout::new(
        store_id,
        usd_minor(minor),
        Some(format!("payout {seconds}")),
        at(seconds),
    )
}

pub async fn payouts_insert_only_on_the_expected_total<B: Backend>(db: Arc<B>) {
    let s1 = store(&*db).await;
    let s2 = store(&*db).await;
    let first = payout(s1, 5_000, 1);
    db.insert_payout(first.clone(), 0).await.unwrap();
    assert_eq!(db.get_payout(first.id).await.unwrap(), Some(first.clone()));
    // Computed before the first one landed: refused, nothing written.
    let stale = payout(s1, 1_000, 2);
    let refused = db.insert_payout(stale.clone(), 0).await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused:?}");
    assert_eq!(db.get_payout(stale.id).await.unwrap(), None);
    db.insert_payout(stale.clone(), 5_000).await.unwrap();
    // Another store's payouts are its own.
    db.insert_payout(payout(s2, 700, 3), 0).await.unwrap();
    assert_eq!(
        db.payout_totals(s1).await.unwrap(),
        PayoutTotals {
            pending_minor: 6_000,
            paid_minor: 0
        }
    );
    // A payout of an unknown store is refused.
    assert!(db.insert_payout(payout(StoreId::new(), 1, 4), 0).await.is_err());
}

pub async fn payouts_move_from_their_state_only<B: Backend>(db: Arc<B>) {
    let s = store(&*db).await;
    let mut paid = payout(s, 5_000, 1);
    db.insert_payout(paid.clone(), 0).await.unwrap();
    let mut cancelled = payout(s, 2_000, 2);
    db.insert_payout(cancelled.clone(), 5_000).await.unwrap();

    paid.apply(PayoutEvent::MarkPaid, Some("TR-1".into()), at(10)).unwrap();
    db.update_payout(paid.clone(), PayoutState::Pending).await.unwrap();
    assert_eq!(db.get_payout(paid.id).await.unwrap(), Some(paid.clone()));
    // Moved meanwhile: the second move is refused and changes nothing.
    let mut again = paid.clone();
    again.state = PayoutState::Cancelled;
    let refused = db.update_payout(again, PayoutState::Pending).await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused:?}");
    assert_eq!(db.get_payout(paid.id).await.unwrap(), Some(paid.clone()));

    cancelled.apply(PayoutEvent::Cancel, None, at(11)).unwrap();
    db.update_payout(cancelled.clone(), PayoutState::Pending).await.unwrap();
    assert_eq!(
        db.payout_totals(s).await.unwrap(),
        PayoutTotals {
            pending_minor: 0,
            paid_minor: 5_000
        }
    );
    // A cancelled payout no longer counts: the next one is written against 5 000.
    db.insert_payout(payout(s, 1_000, 3), 5_000).await.unwrap();

    let unknown = payout(s, 1, 4);
    assert!(matches!(
        db.update_payout(unknown, PayoutState::Pending).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn payouts_listing_filters_and_pages<B: Backend>(db: Arc<B>) {
    let s1 = store(&*db).await;
    let s2 = store(&*db).await;
    let mut written = Vec::new();
    let mut total = 0;
    for n in 0..5 {
        let p = payout(s1, 100 + n, n);
        db.insert_payout(p.clone(), total).await.unwrap();
        total += p.amount.minor;
        written.push(p);
    }
    let other = payout(s2, 999, 9);
    db.insert_payout(other.clone(), 0).await.unwrap();
    let mut paid = written[1].clone();
    paid.apply(PayoutEvent::MarkPaid, None, at(20)).unwrap();
    db.update_payout(paid.clone(), PayoutState::Pending).await.unwrap();

    let ids = |payouts: Vec<Payout>| payouts.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let newest_first: Vec<_> = written.iter().rev().map(|p| p.id).collect();
    let of_s1 = PayoutFilter {
        store_id: Some(s1),
        ..PayoutFilter::default()
    };
    assert_eq!(ids(db.list_payouts(&of_s1).await.unwrap()), newest_first);
    let page = PayoutFilter {
        limit: 2,
        ..of_s1.clone()
    };
    let first = db.list_payouts(&page).await.unwrap();
    assert_eq!(ids(first.clone()), newest_first[..2]);
    let next = PayoutFilter {
        before: first.last().map(|p| p.id),
        ..page
    };
    assert_eq!(ids(db.list_payouts(&next).await.unwrap()), newest_first[2..4]);
    let paid_only = PayoutFilter {
        state: Some(PayoutState::Paid),
        ..PayoutFilter::default()
    };
    assert_eq!(db.list_payouts(&paid_only).await.unwrap(), vec![paid]);
    let everyone = db.list_payouts(&PayoutFilter::default()).await.unwrap();
    assert_eq!(everyone.len(), 6);
    assert_eq!(everyone[0], other);
}

pub async fn delivered_orders_walk_a_store_by_id<B: Backend>(db: Arc<B>) {
    let s1 = store(&*db).await;
    let s2 = store(&*db).await;
    let mut ours = Vec::new();
    for n in 0..5 {
        ours.push(insert(&*db, delivered(s1, n)).await.id);
    }
    // Not delivered, or another store's: never walked.
    insert(&*db, OrderBuilder::new(s1).state(OrderState::Shipped).build()).await;
    insert(&*db, delivered(s2, 9)).await;
    ours.sort();

    let ids = |orders: Vec<Order>| orders.into_iter().map(|o| o.id).collect::<Vec<OrderId>>();
    assert_eq!(ids(db.delivered_orders(s1, None, 100).await.unwrap()), ours);
    let first = db.delivered_orders(s1, None, 2).await.unwrap();
    assert_eq!(ids(first.clone()), ours[..2]);
    let rest = db.delivered_orders(s1, first.last().map(|o| o.id), 100).await.unwrap();
    assert_eq!(ids(rest), ours[2..]);

    // An order that stops being delivered (a parcel re-sent) leaves the walk with its write.
    let mut moved = db.get_order(ours[0]).await.unwrap().unwrap();
    moved.state = OrderState::InFulfillment;
    db.commit(ChangeSet {
        orders: vec![OrderWrite::Update(moved)],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(ids(db.delivered_orders(s1, None, 100).await.unwrap()), ours[1..]);
}
