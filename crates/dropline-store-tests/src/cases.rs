//! The conformance cases. Each takes a fresh, empty backend; [`crate::conformance_tests!`]
//! runs every one of them as its own test. They are public so that a store crate can also
//! call one directly while it is being written.
//!
//! Behaviour the suite fixes where `ports.rs` is silent:
//! - inserting an order keeps its `version` (0 from the builders); each update stores
//!   `version + 1`; updating an order that does not exist is `NotFound`;
//! - `list_messages` and `list_orders` give newest first (by id); `timeline` is oldest first
//!   by `at`, then by id;
//! - `claim_jobs` gives the due jobs earliest `run_after` first; a claim does not count an
//!   attempt, `retry_job` does and releases the lease; `retry_job` and `bury_job` of an
//!   unknown job are `NotFound`;
//! - `update_store` of an unknown store and `update_offer` of an unknown offer are `NotFound`;
//! - `update_store_connection` of an unknown store is `NotFound`; `update_store` keeps the
//!   connection;
//! - `replace_store_token_hash` of an unknown store is `NotFound`; onto another store's hash
//!   it is `Conflict`;
//! - a change set refused for any reason records none of its deliveries;
//! - `import_products` counts a product as updated when its title changed and a variant when
//!   its SKU, title or price changed (a re-import of the same catalogue counts nothing); a new
//!   variant of a matched product goes after its stored variants; an import of an unknown
//!   store is `NotFound`; one with a storefront id given twice is `Conflict`; one with a
//!   product of another store or without a storefront id is `Other`;
//! - a new message whose (store, dedupe key) is taken, also by an earlier message of the same
//!   change set, is skipped and the rest of the change set lands; a taken message id is still
//!   `Conflict`; message updates apply after the change set's new messages, and an update of
//!   an unknown message is `NotFound` for the whole change set;
//! - a tracking token belongs to one order over all stores (`Conflict` otherwise);
//! - `list_exceptions` orders by time raised, then order id; `raised_before` is strict; a
//!   limit of 0 means the cap of 500;
//! - `lane_samples` gives parcels in the `delivered` state with both times set, `since`
//!   included, newest delivery first.

use crate::builders::{
    OrderBuilder, at, changed_settings, connection, dedupe_key, delivered_change_set, delivered_shipment, delivery,
    digest_message, exception, failed_attempt, insert_change_set, job, keyed_message, message, offer, platform_id,
    platform_product, product, sent_attempt, shipment, sku, store_record, supplier, supplier_order_for, timeline_event,
    tracking_number, tracking_token, update_change_set, updated, usd_minor, variant,
};
use dropline_app::ports::{
    Backend, CatalogImport, ChangeSet, DeliveryRecord, ExceptionEntry, ExceptionFilter, Job, LaneSample, Message,
    MessageFilter, MessageState, OrderFilter, OrderWrite, ShipmentRef, StoreError, StoreRecord,
};
use dropline_domain::catalog::{OfferPriority, Product, StoreConnection, Variant};
use dropline_domain::ids::{JobId, MessageId, OfferId, OrderId, StoreId, SupplierId, SupplierOrderId, VariantId};
use dropline_domain::order::{ExceptionKind, Order, OrderException, Shipment, SuggestedAction};
use dropline_domain::state::{OrderState, ShipmentState};
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::Arc;
use time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_conflict<T: Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// An `Other` error whose message names `field`.
#[track_caller]
fn assert_other_naming<T: Debug>(result: Result<T, StoreError>, field: &str) {
    match result {
        Err(StoreError::Other(message)) if message.contains(field) => {}
        other => panic!("expected Other naming {field}, got {other:?}"),
    }
}

fn sorted_by_key<T, K: Ord>(mut items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    items.sort_by_key(|item| key(item));
    items
}

async fn seed_store<B: Backend>(db: &B) -> StoreRecord {
    let record = store_record();
    db.insert_store(record.clone()).await.unwrap();
    record
}

async fn seed_order<B: Backend>(db: &B, order: Order) -> Order {
    db.commit(insert_change_set(&order)).await.unwrap();
    order
}

fn all_orders_of(store_id: StoreId) -> OrderFilter {
    OrderFilter {
        store_id: Some(store_id),
        limit: 500,
        ..OrderFilter::default()
    }
}

fn messages_of_order(order_id: OrderId) -> MessageFilter {
    MessageFilter {
        order_id: Some(order_id),
        limit: 500,
        ..MessageFilter::default()
    }
}

async fn order_ids<B: Backend>(db: &B, filter: OrderFilter) -> Vec<OrderId> {
    db.list_orders(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect()
}

fn newest_first(mut ids: Vec<OrderId>) -> Vec<OrderId> {
    ids.sort_by_key(|id| std::cmp::Reverse(*id));
    ids
}

fn claim_ids(jobs: &[Job]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id).collect()
}

const HOUR: Duration = Duration::hours(1);

// ---------------------------------------------------------------------------------------------
// Stores
// ---------------------------------------------------------------------------------------------

/// A store reads back whole, by id and by token hash.
pub async fn stores_insert_get_and_by_token_hash<B: Backend>(db: Arc<B>) {
    let record = store_record();
    db.insert_store(record.clone()).await.unwrap();
    assert_eq!(db.get_store(record.store.id).await.unwrap(), Some(record.clone()));
    assert_eq!(
        db.store_by_token_hash(&record.token_hash).await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(db.get_store(StoreId::new()).await.unwrap(), None);
    assert_eq!(db.store_by_token_hash("not-a-known-hash").await.unwrap(), None);

    let bare = {
        let mut bare = store_record();
        bare.store.address = None;
        bare.connection = StoreConnection::default();
        bare
    };
    db.insert_store(bare.clone()).await.unwrap();
    assert_eq!(db.get_store(bare.store.id).await.unwrap(), Some(bare));
}

/// A second store with the same id or the same token hash is refused and not written.
pub async fn stores_duplicate_id_or_token_hash_conflicts<B: Backend>(db: Arc<B>) {
    let record = seed_store(&*db).await;

    let mut same_id = store_record();
    same_id.store.id = record.store.id;
    assert_conflict(db.insert_store(same_id.clone()).await);
    assert_eq!(db.store_by_token_hash(&same_id.token_hash).await.unwrap(), None);

    let mut same_token = store_record();
    same_token.token_hash = record.token_hash.clone();
    assert_conflict(db.insert_store(same_token.clone()).await);
    assert_eq!(db.get_store(same_token.store.id).await.unwrap(), None);

    assert_eq!(db.list_stores().await.unwrap(), vec![record.clone()]);
    assert_eq!(db.store_by_token_hash(&record.token_hash).await.unwrap(), Some(record));
}

/// `update_store` replaces name, address and settings and keeps the token and creation time.
pub async fn stores_update_replaces_name_address_and_settings<B: Backend>(db: Arc<B>) {
    let record = seed_store(&*db).await;
    let other = seed_store(&*db).await;

    let mut store = record.store.clone();
    store.name = "Renamed store".into();
    store.address = None;
    store.settings = changed_settings();
    db.update_store(store.clone()).await.unwrap();
    let got = db.get_store(store.id).await.unwrap().unwrap();
    assert_eq!(got.store, store);
    assert_eq!(got.token_hash, record.token_hash);
    assert_eq!(got.created_at, record.created_at);
    assert_eq!(
        db.store_by_token_hash(&record.token_hash)
            .await
            .unwrap()
            .map(|r| r.store),
        Some(store.clone())
    );

    store.address = record.store.address.clone();
    db.update_store(store.clone()).await.unwrap();
    assert_eq!(db.get_store(store.id).await.unwrap().unwrap().store, store);

    // The other store is untouched.
    assert_eq!(db.get_store(other.store.id).await.unwrap(), Some(other.clone()));

    let mut unknown = other.store.clone();
    unknown.id = StoreId::new();
    assert_not_found(db.update_store(unknown).await);
}

/// `list_stores` gives every store.
pub async fn stores_list<B: Backend>(db: Arc<B>) {
    assert_eq!(db.list_stores().await.unwrap(), vec![]);
    let mut records = vec![seed_store(&*db).await, seed_store(&*db).await, seed_store(&*db).await];
    records.sort_by_key(|r| r.store.id);
    let listed = sorted_by_key(db.list_stores().await.unwrap(), |r| r.store.id);
    assert_eq!(listed, records);
}

/// A store's connection reads back whole, secrets included, by id, by token hash and in the
/// listing; `update_store_connection` replaces it and nothing else; `update_store` keeps it.
pub async fn stores_connection_round_trip_and_update<B: Backend>(db: Arc<B>) {
    let record = seed_store(&*db).await;
    let other = seed_store(&*db).await;
    let id = record.store.id;
    assert!(record.connection.access_token.is_some());
    assert_eq!(record.connection.webhook_secrets.len(), 2);
    assert_eq!(db.get_store(id).await.unwrap().unwrap().connection, record.connection);
    assert_eq!(
        db.store_by_token_hash(&record.token_hash)
            .await
            .unwrap()
            .unwrap()
            .connection,
        record.connection
    );
    let listed = db.list_stores().await.unwrap();
    assert!(listed.contains(&record) && listed.contains(&other), "{listed:?}");

    // A rotation: the new secret first, the old one kept while the platform still signs with it.
    let mut rotated = connection();
    rotated.webhook_secrets = vec!["whsec-rotated".into(), record.connection.webhook_secrets[0].clone()];
    rotated.api_base = None;
    db.update_store_connection(id, rotated.clone()).await.unwrap();
    let expected = StoreRecord {
        connection: rotated.clone(),
        ..record.clone()
    };
    assert_eq!(db.get_store(id).await.unwrap(), Some(expected.clone()));
    assert_eq!(
        db.store_by_token_hash(&record.token_hash).await.unwrap(),
        Some(expected)
    );

    // Changing the store's name and settings keeps its credentials and secrets.
    let mut store = record.store.clone();
    store.name = "Renamed store".into();
    store.settings = changed_settings();
    db.update_store(store.clone()).await.unwrap();
    assert_eq!(
        db.get_store(id).await.unwrap(),
        Some(StoreRecord {
            store: store.clone(),
            connection: rotated.clone(),
            ..record.clone()
        })
    );

    // Secrets are kept byte for byte: a PEM key with newlines, quotes, non-ASCII text.
    let pem = StoreConnection {
        domain: Some("boutique.example".into()),
        access_token: Some("tøken with spaces, 'quotes' and \"double quotes\"".into()),
        api_key: Some("site-1234".into()),
        webhook_secrets: vec!["-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqh\\kiG9w0B\n-----END PUBLIC KEY-----\n".into()],
        ..StoreConnection::default()
    };
    db.update_store_connection(id, pem.clone()).await.unwrap();
    assert_eq!(db.get_store(id).await.unwrap().unwrap().connection, pem);

    // Disconnecting clears everything.
    db.update_store_connection(id, StoreConnection::default())
        .await
        .unwrap();
    let disconnected = db.get_store(id).await.unwrap().unwrap();
    assert_eq!(disconnected.connection, StoreConnection::default());
    assert_eq!(disconnected.store, store);
    assert_eq!(disconnected.token_hash, record.token_hash);

    assert_eq!(db.get_store(other.store.id).await.unwrap(), Some(other));
}

/// `update_store_connection` of a store that does not exist is `NotFound` and writes nothing.
pub async fn stores_update_connection_of_unknown_store_is_not_found<B: Backend>(db: Arc<B>) {
    let record = seed_store(&*db).await;
    let unknown = StoreId::new();
    assert_not_found(db.update_store_connection(unknown, connection()).await);
    assert_eq!(db.get_store(unknown).await.unwrap(), None);
    assert_eq!(db.list_stores().await.unwrap(), vec![record]);
}

// ---------------------------------------------------------------------------------------------
// Suppliers and catalogue
// ---------------------------------------------------------------------------------------------

/// Suppliers read back whole, per store or all; a duplicate id is refused.
pub async fn suppliers_insert_get_and_list<B: Backend>(db: Arc<B>) {
    let first_store = seed_store(&*db).await.store.id;
    let second_store = seed_store(&*db).await.store.id;
    let a1 = supplier(first_store);
    let mut a2 = supplier(first_store);
    a2.ships_from = None;
    a2.rating = 0;
    let b1 = supplier(second_store);
    for s in [&a1, &a2, &b1] {
        db.insert_supplier(s.clone()).await.unwrap();
    }
    assert_eq!(db.get_supplier(a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(db.get_supplier(a2.id).await.unwrap(), Some(a2.clone()));
    assert_eq!(
        db.get_supplier(dropline_domain::ids::SupplierId::new()).await.unwrap(),
        None
    );

    let listed = sorted_by_key(db.list_suppliers(Some(first_store)).await.unwrap(), |s| s.id);
    assert_eq!(listed, sorted_by_key(vec![a1.clone(), a2.clone()], |s| s.id));
    let listed = db.list_suppliers(Some(second_store)).await.unwrap();
    assert_eq!(listed, vec![b1.clone()]);
    let listed = sorted_by_key(db.list_suppliers(None).await.unwrap(), |s| s.id);
    assert_eq!(listed, sorted_by_key(vec![a1.clone(), a2, b1], |s| s.id));

    let mut duplicate = supplier(first_store);
    duplicate.id = a1.id;
    assert_conflict(db.insert_supplier(duplicate).await);
    assert_eq!(db.get_supplier(a1.id).await.unwrap(), Some(a1));
}

/// A product reads back with its variants in their order, per store or all.
pub async fn products_insert_get_and_list<B: Backend>(db: Arc<B>) {
    let first_store = seed_store(&*db).await.store.id;
    let second_store = seed_store(&*db).await.store.id;
    let (x, y, z) = (sku(), sku(), sku());
    // Variants deliberately not in SKU or id order.
    let mut p1 = product(first_store, &[&z, &x, &y]);
    p1.variants.reverse();
    let p2 = product(second_store, &[&x]);
    let p3 = product(first_store, &[]);
    for p in [&p1, &p2, &p3] {
        db.insert_product(p.clone()).await.unwrap();
    }
    assert_eq!(db.get_product(p1.id).await.unwrap(), Some(p1.clone()));
    assert_eq!(db.get_product(p3.id).await.unwrap(), Some(p3.clone()));
    assert_eq!(
        db.get_product(dropline_domain::ids::ProductId::new()).await.unwrap(),
        None
    );
    let listed = sorted_by_key(db.list_products(Some(first_store)).await.unwrap(), |p| p.id);
    assert_eq!(listed, sorted_by_key(vec![p1.clone(), p3.clone()], |p| p.id));
    assert_eq!(db.list_products(Some(second_store)).await.unwrap(), vec![p2.clone()]);
    let listed = sorted_by_key(db.list_products(None).await.unwrap(), |p| p.id);
    assert_eq!(listed, sorted_by_key(vec![p1, p2, p3], |p| p.id));
}

/// A SKU is unique within a store: a product repeating one is refused whole; another store
/// may use the same SKU.
pub async fn products_duplicate_sku_in_store_conflicts<B: Backend>(db: Arc<B>) {
    let first_store = seed_store(&*db).await.store.id;
    let second_store = seed_store(&*db).await.store.id;
    let (x, y, z) = (sku(), sku(), sku());
    let p1 = product(first_store, &[&x]);
    db.insert_product(p1.clone()).await.unwrap();

    // The new SKU comes first, so a store that writes variant by variant must undo it.
    let p2 = product(first_store, &[&y, &x]);
    assert_conflict(db.insert_product(p2.clone()).await);
    assert_eq!(db.get_product(p2.id).await.unwrap(), None);
    assert_eq!(
        db.variants_by_sku(first_store, std::slice::from_ref(&y)).await.unwrap(),
        vec![]
    );
    assert_eq!(db.variant_store(p2.variants[0].id).await.unwrap(), None);

    let twice = product(first_store, &[&z, &z]);
    assert_conflict(db.insert_product(twice.clone()).await);
    assert_eq!(db.get_product(twice.id).await.unwrap(), None);

    let mut same_id = product(first_store, &[&sku()]);
    same_id.id = p1.id;
    for v in &mut same_id.variants {
        v.product_id = p1.id;
    }
    assert_conflict(db.insert_product(same_id).await);
    assert_eq!(db.get_product(p1.id).await.unwrap(), Some(p1.clone()));

    let elsewhere = product(second_store, &[&x, &y]);
    db.insert_product(elsewhere.clone()).await.unwrap();
    assert_eq!(db.get_product(elsewhere.id).await.unwrap(), Some(elsewhere));
    assert_eq!(db.list_products(Some(first_store)).await.unwrap(), vec![p1]);
}

/// Variants are found by SKU within their store, and know their store.
pub async fn variants_by_sku_and_variant_store<B: Backend>(db: Arc<B>) {
    let first_store = seed_store(&*db).await.store.id;
    let second_store = seed_store(&*db).await.store.id;
    let (a, b, c) = (sku(), sku(), sku());
    let p1 = product(first_store, &[&a, &b, &c]);
    let p2 = product(second_store, &[&a]);
    db.insert_product(p1.clone()).await.unwrap();
    db.insert_product(p2.clone()).await.unwrap();

    let found = db
        .variants_by_sku(first_store, &[a.clone(), c.clone(), "SKU-MISSING".into()])
        .await
        .unwrap();
    let found = sorted_by_key(found, |v| v.id);
    let expected = sorted_by_key(vec![p1.variants[0].clone(), p1.variants[2].clone()], |v| v.id);
    assert_eq!(found, expected);
    assert_eq!(
        db.variants_by_sku(second_store, &[a.clone(), b.clone()]).await.unwrap(),
        vec![p2.variants[0].clone()]
    );
    assert_eq!(db.variants_by_sku(first_store, &[]).await.unwrap(), vec![]);
    assert_eq!(db.variants_by_sku(StoreId::new(), &[a]).await.unwrap(), vec![]);

    assert_eq!(db.variant_store(p1.variants[1].id).await.unwrap(), Some(first_store));
    assert_eq!(db.variant_store(p2.variants[0].id).await.unwrap(), Some(second_store));
    assert_eq!(db.variant_store(VariantId::new()).await.unwrap(), None);
}

/// Offers read back whole per variant and per store, and are replaced by `update_offer`.
pub async fn offers_insert_update_and_query<B: Backend>(db: Arc<B>) {
    let first_store = seed_store(&*db).await.store.id;
    let second_store = seed_store(&*db).await.store.id;
    let sup1 = supplier(first_store);
    let sup2 = supplier(second_store);
    db.insert_supplier(sup1.clone()).await.unwrap();
    db.insert_supplier(sup2.clone()).await.unwrap();
    let p1 = product(first_store, &[&sku(), &sku()]);
    let p2 = product(second_store, &[&sku()]);
    db.insert_product(p1.clone()).await.unwrap();
    db.insert_product(p2.clone()).await.unwrap();
    let (va, vb, vc) = (p1.variants[0].id, p1.variants[1].id, p2.variants[0].id);

    let o1 = offer(va, sup1.id);
    let mut o2 = offer(va, sup1.id);
    o2.priority = OfferPriority::Backup;
    o2.stock = None;
    o2.shipping.truncate(1);
    let o3 = offer(vb, sup1.id);
    let o4 = offer(vc, sup2.id);
    for (store, o) in [
        (first_store, &o1),
        (first_store, &o2),
        (first_store, &o3),
        (second_store, &o4),
    ] {
        db.insert_offer(store, o.clone()).await.unwrap();
    }

    let by_id = |offers| sorted_by_key(offers, |o: &dropline_domain::catalog::Offer| o.id);
    assert_eq!(
        by_id(db.offers_for_variants(&[va]).await.unwrap()),
        by_id(vec![o1.clone(), o2.clone()])
    );
    assert_eq!(
        by_id(db.offers_for_variants(&[va, vb, VariantId::new()]).await.unwrap()),
        by_id(vec![o1.clone(), o2.clone(), o3.clone()])
    );
    assert_eq!(db.offers_for_variants(&[]).await.unwrap(), vec![]);
    assert_eq!(
        by_id(db.list_offers(Some(first_store)).await.unwrap()),
        by_id(vec![o1.clone(), o2.clone(), o3.clone()])
    );
    assert_eq!(db.list_offers(Some(second_store)).await.unwrap(), vec![o4.clone()]);
    assert_eq!(
        by_id(db.list_offers(None).await.unwrap()),
        by_id(vec![o1.clone(), o2.clone(), o3.clone(), o4.clone()])
    );

    let mut changed = o1.clone();
    changed.stock = Some(0);
    changed.unit_cost = usd_minor(810);
    changed.priority = OfferPriority::Backup;
    changed.shipping.remove(0);
    changed.product_url = None;
    db.update_offer(changed.clone()).await.unwrap();
    assert_eq!(
        by_id(db.offers_for_variants(&[va]).await.unwrap()),
        by_id(vec![changed.clone(), o2.clone()])
    );
    assert_eq!(
        by_id(db.list_offers(Some(first_store)).await.unwrap()),
        by_id(vec![changed.clone(), o2, o3])
    );

    let mut unknown = o4.clone();
    unknown.id = OfferId::new();
    assert_not_found(db.update_offer(unknown).await);
    let mut duplicate = offer(va, sup1.id);
    duplicate.id = o1.id;
    assert_conflict(db.insert_offer(first_store, duplicate).await);
    assert_eq!(
        db.offers_for_variants(&[vc]).await.unwrap(),
        vec![o4],
        "other offers are untouched"
    );
}

/// Stock changes of a change set move a known count (never below zero), leave an unknown
/// one unknown, and land with the rest of the change set or not at all.
pub async fn stock_changes_move_known_counts_with_their_change_set<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let sup = supplier(store);
    db.insert_supplier(sup.clone()).await.unwrap();
    let p = product(store, &[&sku()]);
    db.insert_product(p.clone()).await.unwrap();
    let variant = p.variants[0].id;
    let mut counted = offer(variant, sup.id);
    counted.stock = Some(5);
    let mut uncounted = offer(variant, sup.id);
    uncounted.stock = None;
    db.insert_offer(store, counted.clone()).await.unwrap();
    db.insert_offer(store, uncounted.clone()).await.unwrap();
    let stock_of = |offers: Vec<dropline_domain::catalog::Offer>, id| {
        offers.into_iter().find(|o| o.id == id).and_then(|o| o.stock)
    };
    let change = |offer_id, delta| dropline_app::ports::StockChange { offer_id, delta };
    db.commit(ChangeSet {
        stock_changes: vec![change(counted.id, -2), change(uncounted.id, -2)],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let offers = db.offers_for_variants(&[variant]).await.unwrap();
    assert_eq!(stock_of(offers.clone(), counted.id), Some(3));
    assert_eq!(stock_of(offers, uncounted.id), None, "unknown stays unknown");
    db.commit(ChangeSet {
        stock_changes: vec![change(counted.id, -10)],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(
        stock_of(db.offers_for_variants(&[variant]).await.unwrap(), counted.id),
        Some(0),
        "never below zero"
    );
    db.commit(ChangeSet {
        stock_changes: vec![change(counted.id, 4)],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(
        stock_of(db.offers_for_variants(&[variant]).await.unwrap(), counted.id),
        Some(4)
    );
    // Refused with its change set (the same order inserted twice): the stock does not move.
    let existing = OrderBuilder::new(store).build();
    db.commit(insert_change_set(&existing)).await.unwrap();
    let refused = db
        .commit(ChangeSet {
            orders: vec![OrderWrite::Insert(existing)],
            stock_changes: vec![change(counted.id, -1)],
            ..ChangeSet::default()
        })
        .await;
    assert_conflict(refused);
    assert_eq!(
        stock_of(db.offers_for_variants(&[variant]).await.unwrap(), counted.id),
        Some(4)
    );
}

/// Storefront ids read back wherever products and variants are read; variants are found by
/// storefront id within their store; a storefront id is unique within its store.
pub async fn variants_by_platform_id_within_store<B: Backend>(db: Arc<B>) {
    let first_store = seed_store(&*db).await.store.id;
    let second_store = seed_store(&*db).await.store.id;
    let (product_pid, red, blue) = (platform_id(), platform_id(), platform_id());
    let mut pulled = platform_product(first_store, &product_pid, &[(&red, &sku()), (&blue, &sku())]);
    // A variant added by hand, beside the pulled ones.
    pulled.variants.push(variant(pulled.id, &sku()));
    // Another store's storefront may use the same ids.
    let elsewhere = platform_product(second_store, &product_pid, &[(&red, &sku())]);
    let plain = product(first_store, &[&sku()]);
    for p in [&pulled, &elsewhere, &plain] {
        db.insert_product(p.clone()).await.unwrap();
    }

    assert_eq!(db.get_product(pulled.id).await.unwrap(), Some(pulled.clone()));
    assert_eq!(
        sorted_by_key(db.list_products(Some(first_store)).await.unwrap(), |p| p.id),
        sorted_by_key(vec![pulled.clone(), plain.clone()], |p| p.id)
    );
    assert_eq!(
        sorted_by_key(db.list_products(None).await.unwrap(), |p| p.id),
        sorted_by_key(vec![pulled.clone(), plain.clone(), elsewhere.clone()], |p| p.id)
    );
    assert_eq!(
        db.variants_by_sku(first_store, std::slice::from_ref(&pulled.variants[1].sku))
            .await
            .unwrap(),
        vec![pulled.variants[1].clone()]
    );

    let found = db
        .variants_by_platform_id(first_store, &[blue.clone(), red.clone(), "missing".into(), red.clone()])
        .await
        .unwrap();
    assert_eq!(
        sorted_by_key(found, |v| v.id),
        sorted_by_key(vec![pulled.variants[0].clone(), pulled.variants[1].clone()], |v| v.id)
    );
    assert_eq!(
        db.variants_by_platform_id(second_store, &[red.clone(), blue.clone()])
            .await
            .unwrap(),
        vec![elsewhere.variants[0].clone()]
    );
    // Exact match only.
    assert_eq!(
        db.variants_by_platform_id(first_store, &[red.to_uppercase(), format!(" {red}")])
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(db.variants_by_platform_id(first_store, &[]).await.unwrap(), vec![]);
    assert_eq!(
        db.variants_by_platform_id(StoreId::new(), std::slice::from_ref(&red))
            .await
            .unwrap(),
        vec![]
    );

    // A product repeating a storefront variant id of its store is refused whole.
    let repeat = platform_product(first_store, &platform_id(), &[(&platform_id(), &sku()), (&red, &sku())]);
    assert_conflict(db.insert_product(repeat.clone()).await);
    assert_eq!(db.get_product(repeat.id).await.unwrap(), None);
    assert_eq!(
        db.variants_by_sku(first_store, std::slice::from_ref(&repeat.variants[0].sku))
            .await
            .unwrap(),
        vec![]
    );
    // So is a second product with a storefront product id of its store.
    let same_product = platform_product(first_store, &product_pid, &[(&platform_id(), &sku())]);
    assert_conflict(db.insert_product(same_product.clone()).await);
    assert_eq!(db.get_product(same_product.id).await.unwrap(), None);
    // Products and variants without storefront ids are not limited.
    let another_plain = product(first_store, &[&sku(), &sku()]);
    db.insert_product(another_plain.clone()).await.unwrap();
    assert_eq!(db.get_product(another_plain.id).await.unwrap(), Some(another_plain));
}

/// The variant as an import leaves it: stored ids and product, the storefront's values.
fn imported_variant(stored: &Variant, pulled: &Variant) -> Variant {
    Variant {
        sku: pulled.sku.clone(),
        title: pulled.title.clone(),
        price: pulled.price,
        ..stored.clone()
    }
}

/// An import adds what is new and updates what it matches by storefront id (title, SKU,
/// price) keeping the stored ids; SKUs may swap between variants; it deletes nothing, and
/// the same import again changes nothing.
pub async fn import_products_creates_then_updates<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let other_store = seed_store(&*db).await.store.id;
    // The other store has the same storefront ids: never matched.
    let foreign = platform_product(other_store, "prod-1", &[("var-1", &sku())]);
    db.insert_product(foreign.clone()).await.unwrap();
    // A product added by hand is left alone.
    let manual = product(store, &[&sku()]);
    db.insert_product(manual.clone()).await.unwrap();

    let (sku_a, sku_b, sku_c) = (sku(), sku(), sku());
    let mug = platform_product(store, "prod-1", &[("var-1", &sku_a), ("var-2", &sku_b)]);
    let poster = platform_product(store, "prod-2", &[("var-3", &sku_c)]);
    let first = db
        .import_products(store, vec![mug.clone(), poster.clone()])
        .await
        .unwrap();
    assert_eq!(
        first,
        CatalogImport {
            products_created: 2,
            products_updated: 0,
            variants_created: 3,
            variants_updated: 0,
        }
    );
    // New products and variants keep the ids they were given.
    assert_eq!(db.get_product(mug.id).await.unwrap(), Some(mug.clone()));
    assert_eq!(db.get_product(poster.id).await.unwrap(), Some(poster.clone()));
    assert_eq!(
        db.variants_by_platform_id(store, &["var-1".into()]).await.unwrap(),
        vec![mug.variants[0].clone()]
    );
    assert_eq!(db.get_product(foreign.id).await.unwrap(), Some(foreign.clone()));

    // The storefront renamed the mug, swapped its SKUs, repriced one variant and added a
    // third; the poster is as it was; a lamp is new. A pull makes fresh ids every time.
    let sku_d = sku();
    let mut mug_again = platform_product(
        store,
        "prod-1",
        &[("var-2", &sku_a), ("var-1", &sku_b), ("var-4", &sku_d)],
    );
    mug_again.title = "Mug, renamed".into();
    mug_again.variants[0].price = usd_minor(2499);
    let mut poster_again = platform_product(store, "prod-2", &[("var-3", &sku_c)]);
    poster_again.title = poster.title.clone();
    let lamp = platform_product(store, "prod-3", &[("var-5", &sku())]);
    let second = db
        .import_products(store, vec![mug_again.clone(), poster_again.clone(), lamp.clone()])
        .await
        .unwrap();
    assert_eq!(
        second,
        CatalogImport {
            products_created: 1,
            products_updated: 1,
            variants_created: 2,
            variants_updated: 2,
        }
    );
    let expected_mug = Product {
        title: "Mug, renamed".into(),
        variants: vec![
            imported_variant(&mug.variants[0], &mug_again.variants[1]),
            imported_variant(&mug.variants[1], &mug_again.variants[0]),
            // Added after the stored variants, in the stored product.
            Variant {
                product_id: mug.id,
                ..mug_again.variants[2].clone()
            },
        ],
        ..mug.clone()
    };
    assert_eq!(expected_mug.variants[1].price, usd_minor(2499));
    assert_eq!(expected_mug.variants[1].sku, sku_a);
    assert_eq!(db.get_product(mug.id).await.unwrap(), Some(expected_mug.clone()));
    assert_eq!(db.get_product(mug_again.id).await.unwrap(), None);
    assert_eq!(db.get_product(poster.id).await.unwrap(), Some(poster.clone()));
    assert_eq!(db.get_product(lamp.id).await.unwrap(), Some(lamp.clone()));
    assert_eq!(
        db.variants_by_sku(store, std::slice::from_ref(&sku_a)).await.unwrap(),
        vec![expected_mug.variants[1].clone()]
    );
    assert_eq!(
        db.variants_by_platform_id(store, &["var-4".into()]).await.unwrap(),
        vec![expected_mug.variants[2].clone()]
    );
    assert_eq!(
        db.variant_store(expected_mug.variants[2].id).await.unwrap(),
        Some(store)
    );
    let listed = sorted_by_key(db.list_products(Some(store)).await.unwrap(), |p| p.id);
    assert_eq!(
        listed,
        sorted_by_key(vec![manual.clone(), expected_mug.clone(), poster, lamp.clone()], |p| p
            .id)
    );
    assert_eq!(db.get_product(foreign.id).await.unwrap(), Some(foreign));

    // The same catalogue again: nothing to do.
    let third = db
        .import_products(
            store,
            vec![
                pulled_again(&mug_again),
                pulled_again(&poster_again),
                pulled_again(&lamp),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        third,
        CatalogImport {
            products_created: 0,
            products_updated: 0,
            variants_created: 0,
            variants_updated: 0,
        }
    );
    // A variant the storefront no longer lists stays, and so does a product left out.
    let mut shrunk = mug_again;
    shrunk.variants.truncate(1);
    assert_eq!(
        db.import_products(store, vec![shrunk]).await.unwrap(),
        CatalogImport::default()
    );
    assert_eq!(db.get_product(mug.id).await.unwrap(), Some(expected_mug));
    assert_eq!(db.list_products(Some(store)).await.unwrap().len(), 4);
    assert_eq!(
        db.import_products(store, Vec::new()).await.unwrap(),
        CatalogImport::default()
    );
}

/// The product as a second pull would give it: the same storefront values under fresh ids.
fn pulled_again(product: &Product) -> Product {
    let pairs: Vec<(String, String)> = product
        .variants
        .iter()
        .map(|v| (v.platform_variant_id.clone().unwrap_or_default(), v.sku.clone()))
        .collect();
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(p, s)| (p.as_str(), s.as_str())).collect();
    let mut fresh = platform_product(
        product.store_id,
        product.platform_product_id.as_deref().unwrap_or_default(),
        &pairs,
    );
    fresh.title = product.title.clone();
    for (fresh, old) in fresh.variants.iter_mut().zip(&product.variants) {
        fresh.title = old.title.clone();
        fresh.price = old.price;
    }
    fresh
}

/// An import that would give a variant a SKU another variant of the store keeps is refused
/// with `Conflict` and writes nothing, not even its valid parts.
pub async fn import_products_sku_conflict_writes_nothing<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let other_store = seed_store(&*db).await.store.id;
    let taken = sku();
    let manual = product(store, &[&taken]);
    db.insert_product(manual.clone()).await.unwrap();
    let existing = platform_product(store, &platform_id(), &[(&platform_id(), &sku())]);
    db.import_products(store, vec![existing.clone()]).await.unwrap();
    let untouched = || {
        let db = Arc::clone(&db);
        let expected = sorted_by_key(vec![manual.clone(), existing.clone()], |p| p.id);
        async move {
            assert_eq!(
                sorted_by_key(db.list_products(Some(store)).await.unwrap(), |p| p.id),
                expected
            );
        }
    };

    // A valid update and a valid new product, then a new variant with the taken SKU.
    let mut renamed = existing.clone();
    renamed.title = "Renamed".into();
    renamed.variants[0].price = usd_minor(1);
    let fresh = platform_product(store, &platform_id(), &[(&platform_id(), &sku())]);
    let clash = platform_product(store, &platform_id(), &[(&platform_id(), &taken)]);
    assert_conflict(
        db.import_products(store, vec![renamed.clone(), fresh.clone(), clash.clone()])
            .await,
    );
    untouched().await;
    assert_eq!(db.get_product(fresh.id).await.unwrap(), None);
    assert_eq!(db.get_product(clash.id).await.unwrap(), None);
    assert_eq!(
        db.variants_by_platform_id(store, &[fresh.variants[0].platform_variant_id.clone().unwrap()])
            .await
            .unwrap(),
        vec![]
    );

    // A stored variant renamed to the taken SKU.
    let mut moved = renamed.clone();
    moved.variants[0].sku = taken.clone();
    assert_conflict(db.import_products(store, vec![fresh.clone(), moved]).await);
    untouched().await;
    assert_eq!(db.get_product(fresh.id).await.unwrap(), None);

    // Two variants of one import with one SKU.
    let twin_sku = sku();
    let twins = platform_product(
        store,
        &platform_id(),
        &[(&platform_id(), &twin_sku), (&platform_id(), &twin_sku)],
    );
    assert_conflict(db.import_products(store, vec![twins.clone()]).await);
    untouched().await;
    assert_eq!(db.get_product(twins.id).await.unwrap(), None);
    assert_eq!(
        db.variants_by_sku(store, std::slice::from_ref(&twin_sku))
            .await
            .unwrap(),
        vec![]
    );

    // The store still takes the valid part alone, and another store may use the SKU.
    let counts = db
        .import_products(store, vec![renamed.clone(), fresh.clone()])
        .await
        .unwrap();
    assert_eq!(
        counts,
        CatalogImport {
            products_created: 1,
            products_updated: 1,
            variants_created: 1,
            variants_updated: 1,
        }
    );
    assert_eq!(db.get_product(existing.id).await.unwrap(), Some(renamed));
    let elsewhere = platform_product(other_store, &platform_id(), &[(&platform_id(), &taken)]);
    db.import_products(other_store, vec![elsewhere.clone()]).await.unwrap();
    assert_eq!(db.get_product(elsewhere.id).await.unwrap(), Some(elsewhere));
}

/// An import the store cannot match is refused whole: a product or variant without its
/// storefront id, a product of another store, a storefront id given twice, an unknown store.
pub async fn import_products_refuses_bad_input<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let other_store = seed_store(&*db).await.store.id;
    let good = || platform_product(store, &platform_id(), &[(&platform_id(), &sku())]);
    let nothing_written = || {
        let db = Arc::clone(&db);
        async move {
            assert_eq!(db.list_products(Some(store)).await.unwrap(), vec![]);
        }
    };

    let mut no_product_id = good();
    no_product_id.platform_product_id = None;
    assert_other_naming(
        db.import_products(store, vec![good(), no_product_id]).await,
        "products[1].platform_product_id",
    );
    nothing_written().await;

    let mut no_variant_id = good();
    no_variant_id.variants[0].platform_variant_id = None;
    assert_other_naming(
        db.import_products(store, vec![good(), no_variant_id]).await,
        "products[1].variants[0].platform_variant_id",
    );
    nothing_written().await;

    let foreign = platform_product(other_store, &platform_id(), &[(&platform_id(), &sku())]);
    assert_other_naming(
        db.import_products(store, vec![good(), foreign]).await,
        "products[1].store_id",
    );
    nothing_written().await;
    assert_eq!(db.list_products(Some(other_store)).await.unwrap(), vec![]);

    let product_pid = platform_id();
    let first = platform_product(store, &product_pid, &[(&platform_id(), &sku())]);
    let second = platform_product(store, &product_pid, &[(&platform_id(), &sku())]);
    assert_conflict(db.import_products(store, vec![first, second]).await);
    nothing_written().await;

    let variant_pid = platform_id();
    let first = platform_product(store, &platform_id(), &[(&variant_pid, &sku())]);
    let second = platform_product(store, &platform_id(), &[(&variant_pid, &sku())]);
    assert_conflict(db.import_products(store, vec![first, second]).await);
    nothing_written().await;

    let unknown = StoreId::new();
    let orphan = platform_product(unknown, &platform_id(), &[(&platform_id(), &sku())]);
    assert_not_found(db.import_products(unknown, vec![orphan.clone()]).await);
    assert_eq!(db.get_product(orphan.id).await.unwrap(), None);

    let fine = good();
    db.import_products(store, vec![fine.clone()]).await.unwrap();
    assert_eq!(db.list_products(Some(store)).await.unwrap(), vec![fine]);
}

// ---------------------------------------------------------------------------------------------
// Webhook deliveries
// ---------------------------------------------------------------------------------------------

/// A delivery is recorded with its change set, per store and by exact id; a change set
/// refused for another reason records none of its deliveries.
pub async fn deliveries_recorded_with_their_change_set<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let other_store = seed_store(&*db).await.store.id;
    let first = delivery(store);
    assert!(!db.delivery_seen(store, &first.delivery_id).await.unwrap());
    let order = OrderBuilder::new(store).build();
    db.commit(delivered_change_set(&order, &first)).await.unwrap();
    assert!(db.delivery_seen(store, &first.delivery_id).await.unwrap());
    assert_eq!(db.get_order(order.id).await.unwrap(), Some(order.clone()));

    assert!(!db.delivery_seen(other_store, &first.delivery_id).await.unwrap());
    assert!(!db.delivery_seen(store, "no-such-delivery").await.unwrap());
    assert!(
        !db.delivery_seen(store, &first.delivery_id.to_uppercase())
            .await
            .unwrap()
    );
    assert!(
        !db.delivery_seen(store, &format!("{} ", first.delivery_id))
            .await
            .unwrap()
    );
    assert!(!db.delivery_seen(store, "").await.unwrap());

    // A delivery that changes nothing else (a topic dropline ignores) is a change set too.
    let quiet = delivery(store);
    db.commit(ChangeSet {
        deliveries: vec![quiet.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert!(db.delivery_seen(store, &quiet.delivery_id).await.unwrap());

    // Another store's delivery may have the same id.
    let elsewhere = DeliveryRecord {
        store_id: other_store,
        ..first.clone()
    };
    db.commit(ChangeSet {
        deliveries: vec![elsewhere],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert!(db.delivery_seen(other_store, &first.delivery_id).await.unwrap());

    // Refused for a stale order: the delivery is not recorded, and counts when it comes again.
    let lost = delivery(store);
    let mut stale = order.clone();
    stale.version = 5;
    let mut changes = update_change_set(&stale);
    changes.deliveries.push(lost.clone());
    assert_conflict(db.commit(changes).await);
    assert!(!db.delivery_seen(store, &lost.delivery_id).await.unwrap());
    let mut accepted = order.clone();
    accepted.state = OrderState::Accepted;
    let mut changes = update_change_set(&accepted);
    changes.deliveries.push(lost.clone());
    db.commit(changes).await.unwrap();
    assert!(db.delivery_seen(store, &lost.delivery_id).await.unwrap());
    assert_eq!(db.get_order(order.id).await.unwrap().unwrap().version, 1);
}

/// A redelivery is refused with `Conflict` and nothing of its change set is written; so is a
/// change set that names one delivery twice.
pub async fn duplicate_delivery_refuses_its_change_set<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let first = delivery(store);
    let order = OrderBuilder::new(store).build();
    db.commit(delivered_change_set(&order, &first)).await.unwrap();

    // The same delivery again, carrying an order of its own.
    let again = OrderBuilder::new(store).build();
    let redelivered = DeliveryRecord {
        received_at: at(90),
        ..first.clone()
    };
    assert_conflict(db.commit(delivered_change_set(&again, &redelivered)).await);
    assert_eq!(db.get_order(again.id).await.unwrap(), None);
    assert_eq!(db.timeline(again.id).await.unwrap(), vec![]);
    assert_eq!(db.list_messages(&messages_of_order(again.id)).await.unwrap(), vec![]);
    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);

    // Carrying an update of the stored order.
    let mut accepted = order.clone();
    accepted.state = OrderState::Accepted;
    let mut changes = update_change_set(&accepted);
    changes.deliveries.push(first.clone());
    assert_conflict(db.commit(changes).await);
    assert_eq!(db.get_order(order.id).await.unwrap(), Some(order.clone()));
    assert_eq!(db.timeline(order.id).await.unwrap().len(), 1);

    // One delivery twice in one change set.
    let twice = delivery(store);
    let fresh = OrderBuilder::new(store).build();
    let mut changes = delivered_change_set(&fresh, &twice);
    changes.deliveries.push(twice.clone());
    assert_conflict(db.commit(changes).await);
    assert_eq!(db.get_order(fresh.id).await.unwrap(), None);
    assert!(!db.delivery_seen(store, &twice.delivery_id).await.unwrap());

    assert_eq!(order_ids(&*db, all_orders_of(store)).await, vec![order.id]);
    // The refused order lands with a delivery of its own.
    db.commit(delivered_change_set(&again, &delivery(store))).await.unwrap();
    assert_eq!(db.get_order(again.id).await.unwrap(), Some(again));
}

// ---------------------------------------------------------------------------------------------
// Orders and change sets
// ---------------------------------------------------------------------------------------------

/// A committed order reads back whole, by id and by (store, external id), with its timeline,
/// job and message.
pub async fn orders_insert_then_get_and_by_external_id<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let other_store = seed_store(&*db).await.store.id;
    let sup = supplier(store);
    db.insert_supplier(sup.clone()).await.unwrap();
    let order = OrderBuilder::new(store).supplier_order(sup.id).build();
    let changes = insert_change_set(&order);
    db.commit(changes.clone()).await.unwrap();

    assert_eq!(db.get_order(order.id).await.unwrap(), Some(order.clone()));
    assert_eq!(
        db.order_by_external_id(store, &order.external_id).await.unwrap(),
        Some(order.clone())
    );
    assert_eq!(
        db.order_by_external_id(other_store, &order.external_id).await.unwrap(),
        None
    );
    assert_eq!(db.order_by_external_id(store, "no-such-order").await.unwrap(), None);
    assert_eq!(db.get_order(OrderId::new()).await.unwrap(), None);

    assert_eq!(db.timeline(order.id).await.unwrap(), changes.timeline);
    assert_eq!(
        db.list_messages(&messages_of_order(order.id)).await.unwrap(),
        changes.messages
    );
    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);
    let claimed = db.claim_jobs("w", 10, HOUR, at(10)).await.unwrap();
    let expected = &changes.jobs[0];
    assert_eq!(
        claimed,
        vec![Job {
            id: expected.id,
            kind: expected.kind.clone(),
            payload: expected.payload.clone(),
            attempts: 0,
            run_after: expected.run_after,
            store_id: expected.store_id,
            last_error: None,
        }]
    );
}

/// A second order with a store's external id is refused, and nothing of its change set is
/// written; another store may use the same external id.
pub async fn orders_duplicate_external_id_conflicts_and_writes_nothing<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let other_store = seed_store(&*db).await.store.id;
    let first = seed_order(&*db, OrderBuilder::new(store).build()).await;

    let duplicate = OrderBuilder::new(store).external_id(&first.external_id).build();
    assert_conflict(db.commit(insert_change_set(&duplicate)).await);
    assert_eq!(db.get_order(duplicate.id).await.unwrap(), None);
    assert_eq!(db.timeline(duplicate.id).await.unwrap(), vec![]);
    assert_eq!(
        db.list_messages(&messages_of_order(duplicate.id)).await.unwrap(),
        vec![]
    );
    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);
    assert_eq!(
        db.order_by_external_id(store, &first.external_id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(order_ids(&*db, all_orders_of(store)).await, vec![first.id]);

    let elsewhere = OrderBuilder::new(other_store).external_id(&first.external_id).build();
    db.commit(insert_change_set(&elsewhere)).await.unwrap();
    assert_eq!(
        db.order_by_external_id(other_store, &first.external_id).await.unwrap(),
        Some(elsewhere)
    );
    assert_eq!(db.count_pending_jobs().await.unwrap(), 2);
}

/// Inserting an order whose id exists is refused and leaves the stored order alone.
pub async fn orders_duplicate_id_conflicts<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let first = seed_order(&*db, OrderBuilder::new(store).build()).await;
    let same_id = OrderBuilder::new(store)
        .id(first.id)
        .state(OrderState::Accepted)
        .build();
    assert_conflict(db.commit(insert_change_set(&same_id)).await);
    assert_eq!(db.get_order(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(
        db.order_by_external_id(store, &same_id.external_id).await.unwrap(),
        None
    );
    assert_eq!(db.timeline(first.id).await.unwrap().len(), 1);
}

/// An update with the stored version is written and stores `version + 1`.
pub async fn orders_update_bumps_version<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let sup = supplier(store);
    db.insert_supplier(sup.clone()).await.unwrap();
    let order = seed_order(&*db, OrderBuilder::new(store).build()).await;
    assert_eq!(order.version, 0);

    let mut changed = order.clone();
    changed.state = OrderState::Accepted;
    changed.updated_at = at(100);
    db.commit(update_change_set(&changed)).await.unwrap();
    let stored = db.get_order(order.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored, Order { version: 1, ..changed });

    let mut routed = stored.clone();
    routed.state = OrderState::InFulfillment;
    routed.updated_at = at(200);
    let supplier_order = supplier_order_for(&routed, sup.id);
    routed.supplier_orders.push(supplier_order);
    db.commit(update_change_set(&routed)).await.unwrap();
    let stored = db.get_order(order.id).await.unwrap().unwrap();
    assert_eq!(stored, Order { version: 2, ..routed });
    assert_eq!(
        db.order_by_external_id(store, &order.external_id).await.unwrap(),
        Some(stored)
    );
    assert_eq!(db.timeline(order.id).await.unwrap().len(), 3);
    assert_eq!(db.list_messages(&messages_of_order(order.id)).await.unwrap().len(), 3);
    assert_eq!(db.count_pending_jobs().await.unwrap(), 3);
}

/// An update from a version that is no longer stored is refused and writes nothing.
pub async fn orders_stale_update_conflicts_and_writes_nothing<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = seed_order(&*db, OrderBuilder::new(store).build()).await;

    let mut accepted = order.clone();
    accepted.state = OrderState::Accepted;
    accepted.updated_at = at(100);
    db.commit(update_change_set(&accepted)).await.unwrap();

    // A second writer read version 0 too.
    let mut rejected = order.clone();
    rejected.state = OrderState::Rejected;
    rejected.updated_at = at(101);
    let stale = update_change_set(&rejected);
    assert_conflict(db.commit(stale.clone()).await);

    let stored = db.get_order(order.id).await.unwrap().unwrap();
    assert_eq!(stored, Order { version: 1, ..accepted });
    let timeline = db.timeline(order.id).await.unwrap();
    assert_eq!(timeline.len(), 2);
    assert!(timeline.iter().all(|e| e.id != stale.timeline[0].id));
    let messages = db.list_messages(&messages_of_order(order.id)).await.unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.id != stale.messages[0].id));
    assert_eq!(db.count_pending_jobs().await.unwrap(), 2);
    let claimed = db.claim_jobs("w", 10, HOUR, at(10)).await.unwrap();
    assert!(claimed.iter().all(|j| j.id != stale.jobs[0].id));

    // A version from the future is just as stale.
    let future = Order { version: 7, ..rejected };
    assert_conflict(db.commit(update_change_set(&future)).await);
    assert_eq!(
        db.get_order(order.id).await.unwrap().unwrap().state,
        OrderState::Accepted
    );
}

/// Updating an order that was never inserted is `NotFound` and writes nothing.
pub async fn orders_update_of_unknown_order_is_not_found<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let ghost = OrderBuilder::new(store).build();
    assert_not_found(db.commit(update_change_set(&ghost)).await);
    assert_eq!(db.get_order(ghost.id).await.unwrap(), None);
    assert_eq!(db.timeline(ghost.id).await.unwrap(), vec![]);
    assert_eq!(db.count_pending_jobs().await.unwrap(), 0);
}

/// A change set with one refused write leaves no trace of its other writes.
pub async fn change_set_is_all_or_nothing<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let existing = seed_order(&*db, OrderBuilder::new(store).build()).await;

    // A good insert, then a duplicate external id.
    let good = OrderBuilder::new(store).build();
    let duplicate = OrderBuilder::new(store).external_id(&existing.external_id).build();
    let mut changes = insert_change_set(&good);
    let second = insert_change_set(&duplicate);
    changes.orders.extend(second.orders);
    changes.timeline.extend(second.timeline);
    changes.jobs.extend(second.jobs);
    changes.messages.extend(second.messages);
    assert_conflict(db.commit(changes).await);
    assert_eq!(db.get_order(good.id).await.unwrap(), None);
    assert_eq!(db.order_by_external_id(store, &good.external_id).await.unwrap(), None);
    assert_eq!(db.timeline(good.id).await.unwrap(), vec![]);
    assert_eq!(db.list_messages(&messages_of_order(good.id)).await.unwrap(), vec![]);

    // A good insert, then a stale update.
    let mut stale = existing.clone();
    stale.version = 3;
    stale.state = OrderState::Cancelled;
    let mut changes = insert_change_set(&good);
    changes.orders.push(OrderWrite::Update(stale));
    assert_conflict(db.commit(changes).await);
    assert_eq!(db.get_order(good.id).await.unwrap(), None);
    assert_eq!(db.get_order(existing.id).await.unwrap(), Some(existing.clone()));

    // A good update, then an update of an unknown order.
    let mut accepted = existing.clone();
    accepted.state = OrderState::Accepted;
    let ghost = OrderBuilder::new(store).build();
    let changes = ChangeSet {
        orders: vec![OrderWrite::Update(accepted), OrderWrite::Update(ghost)],
        ..ChangeSet::default()
    };
    assert!(db.commit(changes).await.is_err());
    assert_eq!(db.get_order(existing.id).await.unwrap(), Some(existing.clone()));

    assert_eq!(order_ids(&*db, all_orders_of(store)).await, vec![existing.id]);
    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);

    // The store still takes the good change set on its own.
    db.commit(insert_change_set(&good)).await.unwrap();
    assert_eq!(db.get_order(good.id).await.unwrap(), Some(good));
}

/// An empty change set is accepted and changes nothing.
pub async fn empty_change_set_commits<B: Backend>(db: Arc<B>) {
    db.commit(ChangeSet::default()).await.unwrap();
    assert_eq!(db.count_pending_jobs().await.unwrap(), 0);
}

/// The timeline comes oldest first (by time, then id), whatever the order of writing.
pub async fn timeline_is_oldest_first<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = seed_order(&*db, OrderBuilder::new(store).build()).await;
    let other = seed_order(&*db, OrderBuilder::new(store).build()).await;
    let received = db.timeline(order.id).await.unwrap();
    assert_eq!(received.len(), 1);

    let late = timeline_event(order.id, at(30), "order.accepted");
    let early = timeline_event(order.id, at(10), "order.held");
    db.commit(ChangeSet {
        timeline: vec![late.clone(), early.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();

    // Three entries of one journal share a time; ids decide.
    let mut same_time: Vec<_> = (0..3)
        .map(|i| timeline_event(order.id, at(40), &format!("shipment.{i}")))
        .collect();
    same_time.sort_by_key(|e| e.id);
    let mut written = same_time.clone();
    written.rotate_left(1);
    db.commit(ChangeSet {
        timeline: written,
        ..ChangeSet::default()
    })
    .await
    .unwrap();

    let mut expected = vec![received[0].clone(), early, late];
    expected.extend(same_time);
    assert_eq!(db.timeline(order.id).await.unwrap(), expected);
    assert_eq!(db.timeline(other.id).await.unwrap().len(), 1);
    assert_eq!(db.timeline(OrderId::new()).await.unwrap(), vec![]);
}

/// `order_of_supplier_order` follows the supplier orders of the stored aggregate.
pub async fn order_of_supplier_order_follows_the_aggregate<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let (p1, p2) = (supplier(store), supplier(store));
    db.insert_supplier(p1.clone()).await.unwrap();
    db.insert_supplier(p2.clone()).await.unwrap();
    let order = seed_order(&*db, OrderBuilder::new(store).supplier_order(p1.id).build()).await;
    let other = seed_order(&*db, OrderBuilder::new(store).supplier_order(p1.id).build()).await;
    let first = order.supplier_orders[0].id;
    assert_eq!(db.order_of_supplier_order(first).await.unwrap(), Some(order.id));
    assert_eq!(
        db.order_of_supplier_order(other.supplier_orders[0].id).await.unwrap(),
        Some(other.id)
    );
    assert_eq!(db.order_of_supplier_order(SupplierOrderId::new()).await.unwrap(), None);

    // The first supplier order is replaced by one at another supplier.
    let mut rerouted = order.clone();
    rerouted.supplier_orders = vec![supplier_order_for(&order, p2.id)];
    let second = rerouted.supplier_orders[0].id;
    db.commit(update_change_set(&rerouted)).await.unwrap();
    assert_eq!(db.order_of_supplier_order(first).await.unwrap(), None);
    assert_eq!(db.order_of_supplier_order(second).await.unwrap(), Some(order.id));
    let by_supplier = |supplier_id| OrderFilter {
        supplier_id: Some(supplier_id),
        limit: 100,
        ..OrderFilter::default()
    };
    assert_eq!(order_ids(&*db, by_supplier(p1.id)).await, vec![other.id]);
    assert_eq!(order_ids(&*db, by_supplier(p2.id)).await, vec![order.id]);

    // A failed update does not touch the index.
    let mut stale = rerouted.clone();
    stale.supplier_orders.clear();
    assert_conflict(db.commit(update_change_set(&stale)).await);
    assert_eq!(db.order_of_supplier_order(second).await.unwrap(), Some(order.id));
}

/// Every filter of `list_orders`, alone and combined, and the limit.
pub async fn list_orders_filters<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let (p1, p2) = (supplier(s1), supplier(s1));
    db.insert_supplier(p1.clone()).await.unwrap();
    db.insert_supplier(p2.clone()).await.unwrap();
    let hour = |h: i64| at(h * 3600);

    let o1 = OrderBuilder::new(s1).placed_at(hour(1)).supplier_order(p1.id).build();
    let o2 = OrderBuilder::new(s1)
        .state(OrderState::Accepted)
        .placed_at(hour(2))
        .supplier_order(p2.id)
        .build();
    let o3 = OrderBuilder::new(s1)
        .state(OrderState::InFulfillment)
        .placed_at(hour(3))
        .supplier_order(p1.id)
        .supplier_order(p2.id)
        // Two attempts at one supplier still list the order once.
        .supplier_order(p1.id)
        .build();
    let o4 = OrderBuilder::new(s2).placed_at(hour(4)).build();
    let o5 = OrderBuilder::new(s1).placed_at(hour(5)).build();
    for o in [&o1, &o2, &o3, &o4, &o5] {
        seed_order(&*db, o.clone()).await;
    }
    let filter = |f: OrderFilter| OrderFilter { limit: 100, ..f };
    let ids = |v: &[&Order]| v.iter().map(|o| o.id).collect::<Vec<_>>();

    let all = db.list_orders(&filter(OrderFilter::default())).await.unwrap();
    assert_eq!(all, vec![o5.clone(), o4.clone(), o3.clone(), o2.clone(), o1.clone()]);

    let cases: Vec<(OrderFilter, Vec<OrderId>)> = vec![
        (
            OrderFilter {
                store_id: Some(s1),
                ..OrderFilter::default()
            },
            ids(&[&o5, &o3, &o2, &o1]),
        ),
        (
            OrderFilter {
                store_id: Some(s2),
                ..OrderFilter::default()
            },
            ids(&[&o4]),
        ),
        (
            OrderFilter {
                store_id: Some(StoreId::new()),
                ..OrderFilter::default()
            },
            vec![],
        ),
        (
            OrderFilter {
                state: Some(OrderState::PendingReview),
                ..OrderFilter::default()
            },
            ids(&[&o5, &o4, &o1]),
        ),
        (
            OrderFilter {
                store_id: Some(s1),
                state: Some(OrderState::PendingReview),
                ..OrderFilter::default()
            },
            ids(&[&o5, &o1]),
        ),
        (
            OrderFilter {
                state: Some(OrderState::Shipped),
                ..OrderFilter::default()
            },
            vec![],
        ),
        (
            OrderFilter {
                supplier_id: Some(p1.id),
                ..OrderFilter::default()
            },
            ids(&[&o3, &o1]),
        ),
        (
            OrderFilter {
                supplier_id: Some(p2.id),
                state: Some(OrderState::Accepted),
                ..OrderFilter::default()
            },
            ids(&[&o2]),
        ),
        (
            OrderFilter {
                placed_from: Some(hour(2)),
                ..OrderFilter::default()
            },
            ids(&[&o5, &o4, &o3, &o2]),
        ),
        (
            OrderFilter {
                placed_to: Some(hour(3)),
                ..OrderFilter::default()
            },
            ids(&[&o2, &o1]),
        ),
        (
            OrderFilter {
                store_id: Some(s1),
                placed_from: Some(hour(2)),
                placed_to: Some(hour(5)),
                ..OrderFilter::default()
            },
            ids(&[&o3, &o2]),
        ),
        (
            OrderFilter {
                store_id: Some(s1),
                supplier_id: Some(p2.id),
                placed_from: Some(hour(3)),
                ..OrderFilter::default()
            },
            ids(&[&o3]),
        ),
        (
            OrderFilter {
                before: Some(o3.id),
                ..OrderFilter::default()
            },
            ids(&[&o2, &o1]),
        ),
        (
            OrderFilter {
                store_id: Some(s1),
                before: Some(o4.id),
                ..OrderFilter::default()
            },
            ids(&[&o3, &o2, &o1]),
        ),
    ];
    for (case, expected) in cases {
        assert_eq!(order_ids(&*db, filter(case.clone())).await, expected, "filter {case:?}");
    }

    let limited = OrderFilter {
        store_id: Some(s1),
        limit: 2,
        ..OrderFilter::default()
    };
    assert_eq!(order_ids(&*db, limited).await, ids(&[&o5, &o3]));
}

/// Keyset pages, newest first, cover every order exactly once, with and without filters.
pub async fn list_orders_keyset_pagination<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let mut in_s1 = Vec::new();
    let mut accepted_in_s1 = Vec::new();
    let mut everything = Vec::new();
    for i in 0..28 {
        // 24 in the first store, 4 in the second; every third accepted.
        let store = if i % 6 == 5 { s2 } else { s1 };
        let state = if i % 3 == 0 {
            OrderState::Accepted
        } else {
            OrderState::PendingReview
        };
        let order = seed_order(&*db, OrderBuilder::new(store).state(state).build()).await;
        everything.push(order.id);
        if store == s1 {
            in_s1.push(order.id);
            if state == OrderState::Accepted {
                accepted_in_s1.push(order.id);
            }
        }
    }

    async fn pages<B: Backend>(db: &B, filter: OrderFilter) -> (Vec<OrderId>, Vec<usize>) {
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut before = None;
        loop {
            let page = order_ids(
                db,
                OrderFilter {
                    before,
                    ..filter.clone()
                },
            )
            .await;
            sizes.push(page.len());
            let Some(last) = page.last() else { break };
            before = Some(*last);
            seen.extend(page);
            assert!(sizes.len() < 100, "pagination does not end");
        }
        (seen, sizes)
    }

    let (seen, sizes) = pages(
        &*db,
        OrderFilter {
            store_id: Some(s1),
            limit: 5,
            ..OrderFilter::default()
        },
    )
    .await;
    assert_eq!(in_s1.len(), 24);
    assert_eq!(sizes, vec![5, 5, 5, 5, 4, 0]);
    assert_eq!(seen, newest_first(in_s1));

    let (seen, _) = pages(
        &*db,
        OrderFilter {
            limit: 7,
            ..OrderFilter::default()
        },
    )
    .await;
    assert_eq!(seen, newest_first(everything));

    let (seen, _) = pages(
        &*db,
        OrderFilter {
            store_id: Some(s1),
            state: Some(OrderState::Accepted),
            limit: 2,
            ..OrderFilter::default()
        },
    )
    .await;
    assert_eq!(seen, newest_first(accepted_in_s1));
}

/// The dashboard's filters: open exceptions, a search by number, customer or tracking
/// number, and oldest-first pages.
pub async fn list_orders_search_exceptions_and_order<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let other = seed_store(&*db).await.store.id;
    let supplier = SupplierId::new();
    let o1 = OrderBuilder::new(store)
        .number("#5001")
        .customer("María García", Some("Maria.G@Example.com"))
        .build();
    let o2 = OrderBuilder::new(store)
        .number("#5002")
        .customer("Bob 100%_Sure", None)
        .exception(exception(ExceptionKind::ShippingLate, at(100)))
        .build();
    let o3 = OrderBuilder::new(store)
        .number("#5003")
        .customer("Carol Danvers", Some("carol@example.com"))
        .shipped(supplier, vec![shipment("YT2412345678901234", Some(at(50)))])
        .build();
    let theirs = OrderBuilder::new(other)
        .number("#5001")
        .customer("María García", None)
        .build();
    for o in [&o1, &o2, &o3, &theirs] {
        seed_order(&*db, o.clone()).await;
    }
    let ids = |v: &[&Order]| v.iter().map(|o| o.id).collect::<Vec<_>>();
    let find = |search: Option<&str>, with_exception: bool| OrderFilter {
        store_id: Some(store),
        search: search.map(str::to_string),
        with_exception,
        limit: 100,
        ..OrderFilter::default()
    };
    let cases: Vec<(OrderFilter, Vec<OrderId>)> = vec![
        (find(None, true), ids(&[&o2])),
        (find(Some("#5001"), false), ids(&[&o1])),
        (find(Some("5001"), false), ids(&[&o1])),
        (find(Some(" 5003 "), false), ids(&[&o3])),
        (find(Some("garcía"), false), ids(&[&o1])),
        (find(Some("MARIA.G@EXAMPLE"), false), ids(&[&o1])),
        (find(Some("example.com"), false), ids(&[&o3, &o1])),
        // LIKE's wildcards match only themselves.
        (find(Some("100%_"), false), ids(&[&o2])),
        (find(Some("%"), false), ids(&[&o2])),
        (find(Some("_"), false), ids(&[&o2])),
        (find(Some("yt2412345678901234"), false), ids(&[&o3])),
        (find(Some("YT24 1234 5678 9012 34"), false), ids(&[&o3])),
        (find(Some("YT2412345"), false), vec![]),
        (find(Some("nobody"), false), vec![]),
        (find(Some("carol"), true), vec![]),
        (find(Some("   "), false), ids(&[&o3, &o2, &o1])),
        (
            OrderFilter {
                search: Some("María".into()),
                limit: 100,
                ..OrderFilter::default()
            },
            ids(&[&theirs, &o1]),
        ),
        (
            OrderFilter {
                store_id: Some(store),
                oldest_first: true,
                limit: 100,
                ..OrderFilter::default()
            },
            ids(&[&o1, &o2, &o3]),
        ),
        (
            OrderFilter {
                store_id: Some(store),
                oldest_first: true,
                after: Some(o1.id),
                limit: 1,
                ..OrderFilter::default()
            },
            ids(&[&o2]),
        ),
    ];
    for (filter, expected) in cases {
        let found: Vec<OrderId> = db.list_orders(&filter).await.unwrap().iter().map(|o| o.id).collect();
        assert_eq!(found, expected, "{filter:?}");
    }

    // The search follows the order: a renamed customer is found by the new name only.
    let mut renamed = db.get_order(o3.id).await.unwrap().unwrap();
    renamed.customer.name = "Carol Marvel".into();
    db.commit(update_change_set(&renamed)).await.unwrap();
    let found = db.list_orders(&find(Some("marvel"), false)).await.unwrap();
    assert_eq!(found.iter().map(|o| o.id).collect::<Vec<_>>(), ids(&[&o3]));
    assert!(db.list_orders(&find(Some("danvers"), false)).await.unwrap().is_empty());
}

/// Orders are counted per state, for one store or all.
pub async fn count_orders_by_state<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let counts = |rows: Vec<(OrderState, u64)>| {
        let mut map = HashMap::new();
        for (state, count) in rows {
            assert!(map.insert(state, count).is_none(), "state {state} listed twice");
        }
        map.retain(|_, count| *count > 0);
        map
    };
    assert_eq!(counts(db.count_orders_by_state(None).await.unwrap()), HashMap::new());

    let mut pending = Vec::new();
    for (store, state, n) in [
        (s1, OrderState::PendingReview, 3),
        (s1, OrderState::Accepted, 2),
        (s2, OrderState::PendingReview, 1),
        (s2, OrderState::Shipped, 1),
    ] {
        for _ in 0..n {
            let order = seed_order(&*db, OrderBuilder::new(store).state(state).build()).await;
            if store == s1 && state == OrderState::PendingReview {
                pending.push(order);
            }
        }
    }
    use OrderState as S;
    assert_eq!(
        counts(db.count_orders_by_state(Some(s1)).await.unwrap()),
        HashMap::from([(S::PendingReview, 3), (S::Accepted, 2)])
    );
    assert_eq!(
        counts(db.count_orders_by_state(Some(s2)).await.unwrap()),
        HashMap::from([(S::PendingReview, 1), (S::Shipped, 1)])
    );
    assert_eq!(
        counts(db.count_orders_by_state(None).await.unwrap()),
        HashMap::from([(S::PendingReview, 4), (S::Accepted, 2), (S::Shipped, 1)])
    );

    // Counts follow updates.
    let mut accepted = pending[0].clone();
    accepted.state = S::Accepted;
    db.commit(update_change_set(&accepted)).await.unwrap();
    assert_eq!(
        counts(db.count_orders_by_state(Some(s1)).await.unwrap()),
        HashMap::from([(S::PendingReview, 2), (S::Accepted, 3)])
    );
    assert_eq!(
        counts(db.count_orders_by_state(Some(StoreId::new())).await.unwrap()),
        HashMap::new()
    );
}

/// Messages of the outbox, newest first, per order, per store or all, up to the limit.
pub async fn messages_listing<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let a = OrderBuilder::new(s1).build();
    let b = OrderBuilder::new(s1).build();
    let c = OrderBuilder::new(s2).build();
    let mut written = Vec::new();
    for order in [&a, &b, &c] {
        let changes = insert_change_set(order);
        written.extend(changes.messages.clone());
        db.commit(changes).await.unwrap();
    }
    let mut later = vec![message(&a, "order_confirmed"), message(&a, "order_shipped")];
    later[1].recipient = None;
    later[1].data = serde_json::json!({ "tracking": ["1Z999", "LX123"], "nested": { "ok": true } });
    db.commit(ChangeSet {
        messages: later.clone(),
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    written.extend(later);
    let expected = |filter: &dyn Fn(&dropline_app::ports::Message) -> bool| {
        let mut v: Vec<_> = written.iter().filter(|m| filter(m)).cloned().collect();
        v.sort_by_key(|m| std::cmp::Reverse(m.id));
        v
    };

    let list = |filter: MessageFilter| {
        let db = Arc::clone(&db);
        async move { db.list_messages(&filter).await.unwrap() }
    };
    assert_eq!(
        list(messages_of_order(a.id)).await,
        expected(&|m| m.order_id == Some(a.id))
    );
    assert_eq!(
        list(MessageFilter {
            store_id: Some(s1),
            limit: 100,
            ..MessageFilter::default()
        })
        .await,
        expected(&|m| m.store_id == s1)
    );
    assert_eq!(
        list(MessageFilter {
            store_id: Some(s2),
            order_id: Some(a.id),
            limit: 100,
            ..MessageFilter::default()
        })
        .await,
        vec![]
    );
    assert_eq!(
        list(MessageFilter {
            limit: 100,
            ..MessageFilter::default()
        })
        .await,
        expected(&|_| true)
    );
    let first_two: Vec<_> = expected(&|m| m.store_id == s1).into_iter().take(2).collect();
    assert_eq!(
        list(MessageFilter {
            store_id: Some(s1),
            limit: 2,
            ..MessageFilter::default()
        })
        .await,
        first_two
    );
}

// ---------------------------------------------------------------------------------------------
// Outbox: dedupe keys, send attempts, messages about no order
// ---------------------------------------------------------------------------------------------

fn messages_of_store(store_id: StoreId) -> MessageFilter {
    MessageFilter {
        store_id: Some(store_id),
        limit: 500,
        ..MessageFilter::default()
    }
}

/// A message whose (store, dedupe key) is already stored is skipped without an error and the
/// rest of its change set lands; of two messages with one key in one change set only the
/// first is kept; another store may use the same key; messages without a key are never
/// skipped; a taken message id still refuses its change set.
pub async fn messages_with_a_taken_dedupe_key_are_skipped<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let order = seed_order(&*db, OrderBuilder::new(s1).build()).await;
    let other = seed_order(&*db, OrderBuilder::new(s2).build()).await;
    let key = dedupe_key();

    let first = keyed_message(&order, "shipped", &key);
    db.commit(ChangeSet {
        messages: vec![first.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();

    // The same key in a later change set: skipped, and the change set's other writes land.
    let again = keyed_message(&order, "shipped", &key);
    let event = timeline_event(order.id, at(20), "shipment.shipped");
    let follow_up = job("poll_tracking", at(30), Some(s1));
    db.commit(ChangeSet {
        messages: vec![again.clone()],
        timeline: vec![event.clone()],
        jobs: vec![follow_up.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.get_message(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(db.get_message(again.id).await.unwrap(), None);
    assert!(db.timeline(order.id).await.unwrap().contains(&event));
    let claimed = db.claim_jobs("w", 10, HOUR, at(30)).await.unwrap();
    assert!(claim_ids(&claimed).contains(&follow_up.id));

    // Twice in one change set: the first is kept. Messages without a key are all kept.
    let key2 = dedupe_key();
    let (a, b) = (
        keyed_message(&order, "delivered", &key2),
        keyed_message(&order, "delivered", &key2),
    );
    let (plain1, plain2) = (message(&order, "note"), message(&order, "note"));
    db.commit(ChangeSet {
        messages: vec![a.clone(), b.clone(), plain1.clone(), plain2.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.get_message(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(db.get_message(b.id).await.unwrap(), None);
    assert_eq!(db.get_message(plain1.id).await.unwrap(), Some(plain1.clone()));
    assert_eq!(db.get_message(plain2.id).await.unwrap(), Some(plain2.clone()));

    // Another store may use the same key.
    let elsewhere = keyed_message(&other, "shipped", &key);
    db.commit(ChangeSet {
        messages: vec![elsewhere.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.get_message(elsewhere.id).await.unwrap(), Some(elsewhere));

    // The store's outbox holds each key once: its order_received, first, a and the two plain.
    let listed = db.list_messages(&messages_of_store(s1)).await.unwrap();
    assert_eq!(listed.len(), 5, "{listed:?}");
    let keys = sorted_by_key(
        listed.iter().filter_map(|m| m.dedupe_key.clone()).collect(),
        |k: &String| k.clone(),
    );
    assert_eq!(keys, sorted_by_key(vec![key.clone(), key2], |k: &String| k.clone()));

    // A taken message id still refuses its change set, whatever its key.
    let mut same_id = keyed_message(&order, "shipped", &dedupe_key());
    same_id.id = first.id;
    let ghost = OrderBuilder::new(s1).build();
    let mut changes = insert_change_set(&ghost);
    changes.messages.push(same_id);
    assert_conflict(db.commit(changes).await);
    assert_eq!(db.get_order(ghost.id).await.unwrap(), None);
    assert_eq!(db.list_messages(&messages_of_order(ghost.id)).await.unwrap(), vec![]);
    assert_eq!(db.get_message(first.id).await.unwrap(), Some(first));
}

/// Send attempts change a message's state, attempts, last error and send time, as read by
/// `get_message` and `list_messages`; other messages are untouched; a message may be written
/// and updated in one change set (updates apply after the new messages).
pub async fn message_updates_record_send_attempts<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = seed_order(&*db, OrderBuilder::new(store).build()).await;
    let queued = keyed_message(&order, "shipped", &dedupe_key());
    let bystander = message(&order, "order_confirmed");
    db.commit(ChangeSet {
        messages: vec![queued.clone(), bystander.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();

    let failure = failed_attempt(&queued, "550 mailbox unavailable");
    db.commit(ChangeSet {
        message_updates: vec![failure.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let after_failure = updated(&queued, &failure);
    assert_eq!(after_failure.state, MessageState::Failed);
    assert_eq!(db.get_message(queued.id).await.unwrap(), Some(after_failure.clone()));
    assert!(
        db.list_messages(&messages_of_order(order.id))
            .await
            .unwrap()
            .contains(&after_failure)
    );

    // Sent on the second attempt: the last error goes, the send time comes.
    let success = sent_attempt(&after_failure, at(40));
    db.commit(ChangeSet {
        message_updates: vec![success.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let after_success = updated(&after_failure, &success);
    assert_eq!(
        (
            after_success.attempts,
            after_success.last_error.clone(),
            after_success.sent_at
        ),
        (2, None, Some(at(40)))
    );
    assert_eq!(db.get_message(queued.id).await.unwrap(), Some(after_success.clone()));
    assert_eq!(db.get_message(bystander.id).await.unwrap(), Some(bystander));
    let sent = db
        .list_messages(&MessageFilter {
            state: Some(MessageState::Sent),
            ..messages_of_order(order.id)
        })
        .await
        .unwrap();
    assert_eq!(sent, vec![after_success]);

    // Written and updated in one change set.
    let fresh = message(&order, "delivered");
    let at_once = sent_attempt(&fresh, at(50));
    db.commit(ChangeSet {
        messages: vec![fresh.clone()],
        message_updates: vec![at_once.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.get_message(fresh.id).await.unwrap(), Some(updated(&fresh, &at_once)));
}

/// An update of a message that does not exist is `NotFound` and its whole change set leaves
/// no trace: no order, timeline, job or message, and no other update applied; the dedupe key
/// of its refused message stays free.
pub async fn message_update_of_unknown_message_refuses_its_change_set<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = seed_order(&*db, OrderBuilder::new(store).build()).await;
    let known = message(&order, "order_confirmed");
    db.commit(ChangeSet {
        messages: vec![known.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();

    let key = dedupe_key();
    let ghost_order = OrderBuilder::new(store).build();
    let mut changes = insert_change_set(&ghost_order);
    let fresh = keyed_message(&ghost_order, "shipped", &key);
    changes.messages.push(fresh.clone());
    let never_stored = digest_message(store);
    changes.message_updates = vec![sent_attempt(&known, at(40)), failed_attempt(&never_stored, "bounced")];
    assert_not_found(db.commit(changes).await);
    assert_eq!(db.get_order(ghost_order.id).await.unwrap(), None);
    assert_eq!(db.timeline(ghost_order.id).await.unwrap(), vec![]);
    assert_eq!(
        db.list_messages(&messages_of_order(ghost_order.id)).await.unwrap(),
        vec![]
    );
    assert_eq!(db.get_message(fresh.id).await.unwrap(), None);
    assert_eq!(db.get_message(never_stored.id).await.unwrap(), None);
    assert_eq!(db.get_message(known.id).await.unwrap(), Some(known.clone()));
    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);

    // Alone, an update of an unknown message is refused just the same.
    assert_not_found(
        db.commit(ChangeSet {
            message_updates: vec![sent_attempt(&never_stored, at(41))],
            ..ChangeSet::default()
        })
        .await,
    );

    // The key of the refused message is still free.
    let retry = keyed_message(&order, "shipped", &key);
    db.commit(ChangeSet {
        messages: vec![retry.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.get_message(retry.id).await.unwrap(), Some(retry));
}

/// `get_message` reads a message back whole, every field set; an unknown id is `None`.
pub async fn messages_get_by_id_round_trips_every_field<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = seed_order(&*db, OrderBuilder::new(store).build()).await;
    let mut full = keyed_message(&order, "shipped", &dedupe_key());
    full.state = MessageState::Sent;
    full.attempts = 3;
    full.last_error = Some("421 try again later".into());
    full.sent_at = Some(at(45));
    full.data = serde_json::json!({ "tracking": { "number": "YT1", "url": null }, "items": [1, 2] });
    let bare = Message {
        recipient: None,
        ..message(&order, "order_confirmed")
    };
    db.commit(ChangeSet {
        messages: vec![full.clone(), bare.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.get_message(full.id).await.unwrap(), Some(full));
    assert_eq!(db.get_message(bare.id).await.unwrap(), Some(bare));
    assert_eq!(db.get_message(MessageId::new()).await.unwrap(), None);
}

/// A message about no order (the seller's digest) is written, read, listed by store but never
/// by order, and updated, also in a store without orders.
pub async fn messages_without_an_order_round_trip<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let digest = digest_message(s1);
    db.commit(ChangeSet {
        messages: vec![digest.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(digest.order_id, None);
    assert_eq!(db.get_message(digest.id).await.unwrap(), Some(digest.clone()));
    assert_eq!(
        db.list_messages(&messages_of_store(s1)).await.unwrap(),
        vec![digest.clone()]
    );
    assert_eq!(db.list_messages(&messages_of_store(s2)).await.unwrap(), vec![]);

    let order = seed_order(&*db, OrderBuilder::new(s1).build()).await;
    let of_order = db.list_messages(&messages_of_order(order.id)).await.unwrap();
    assert_eq!(of_order.len(), 1);
    assert_eq!(of_order[0].order_id, Some(order.id));

    let success = sent_attempt(&digest, at(60));
    db.commit(ChangeSet {
        message_updates: vec![success.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(
        db.get_message(digest.id).await.unwrap(),
        Some(updated(&digest, &success))
    );
}

/// The outbox listing by state and by template, alone, together and with the other filters.
pub async fn messages_filter_by_state_and_template<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let a = seed_order(&*db, OrderBuilder::new(s1).build()).await;
    let c = seed_order(&*db, OrderBuilder::new(s2).build()).await;
    let m1 = message(&a, "shipped");
    let m2 = message(&a, "delivered");
    let m3 = message(&c, "shipped");
    let digest = digest_message(s1);
    db.commit(ChangeSet {
        messages: vec![m1.clone(), m2.clone(), m3.clone(), digest.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    db.commit(ChangeSet {
        message_updates: vec![sent_attempt(&m1, at(70)), failed_attempt(&m3, "bounced")],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let everything = db
        .list_messages(&MessageFilter {
            limit: 500,
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(everything.len(), 6);
    let expected = |keep: &dyn Fn(&Message) -> bool| -> Vec<Message> {
        let mut v: Vec<_> = everything.iter().filter(|m| keep(m)).cloned().collect();
        v.sort_by_key(|m| std::cmp::Reverse(m.id));
        v
    };
    let list = |filter: MessageFilter| {
        let db = Arc::clone(&db);
        async move { db.list_messages(&filter).await.unwrap() }
    };
    let filter = |state: Option<MessageState>, template: Option<&str>| MessageFilter {
        state,
        template: template.map(str::to_string),
        limit: 500,
        ..MessageFilter::default()
    };

    let sent = list(filter(Some(MessageState::Sent), None)).await;
    assert_eq!(sent.iter().map(|m| m.id).collect::<Vec<_>>(), vec![m1.id]);
    assert_eq!(sent[0].sent_at, Some(at(70)));
    let failed = list(filter(Some(MessageState::Failed), None)).await;
    assert_eq!(failed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![m3.id]);
    assert_eq!(failed[0].last_error.as_deref(), Some("bounced"));
    assert_eq!(
        list(filter(Some(MessageState::Queued), None)).await,
        expected(&|m| m.state == MessageState::Queued)
    );
    assert_eq!(
        list(MessageFilter {
            store_id: Some(s1),
            ..filter(Some(MessageState::Queued), None)
        })
        .await,
        expected(&|m| m.state == MessageState::Queued && m.store_id == s1)
    );
    assert_eq!(
        list(filter(None, Some("shipped"))).await,
        expected(&|m| m.template == "shipped")
    );
    assert_eq!(list(filter(None, Some("shipped"))).await.len(), 2);
    assert_eq!(
        list(MessageFilter {
            store_id: Some(s2),
            ..filter(None, Some("shipped"))
        })
        .await
        .iter()
        .map(|m| m.id)
        .collect::<Vec<_>>(),
        vec![m3.id]
    );
    assert_eq!(list(filter(Some(MessageState::Queued), Some("shipped"))).await, vec![]);
    assert_eq!(
        list(MessageFilter {
            store_id: Some(s1),
            ..filter(Some(MessageState::Queued), Some("seller_digest"))
        })
        .await,
        vec![digest]
    );
    assert_eq!(
        list(MessageFilter {
            order_id: Some(a.id),
            ..filter(None, Some("order_received"))
        })
        .await,
        expected(&|m| m.order_id == Some(a.id) && m.template == "order_received")
    );
    assert_eq!(list(filter(None, Some("no_such_template"))).await, vec![]);
    let first_queued: Vec<_> = expected(&|m| m.state == MessageState::Queued)
        .into_iter()
        .take(1)
        .collect();
    assert_eq!(
        list(MessageFilter {
            limit: 1,
            ..filter(Some(MessageState::Queued), None)
        })
        .await,
        first_queued
    );
}

// ---------------------------------------------------------------------------------------------
// Tracking pages and parcels
// ---------------------------------------------------------------------------------------------

/// An order is found by its tracking token, written on insert and on update; a changed or
/// removed token no longer finds it.
pub async fn orders_by_tracking_token<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let token = tracking_token();
    let tracked = seed_order(&*db, OrderBuilder::new(store).tracking_token(&token).build()).await;
    let plain = seed_order(&*db, OrderBuilder::new(store).build()).await;
    assert_eq!(db.order_by_tracking_token(&token).await.unwrap(), Some(tracked.clone()));
    assert_eq!(db.order_by_tracking_token("no-such-token").await.unwrap(), None);
    assert_eq!(
        db.order_by_tracking_token(&token[..token.len() - 1]).await.unwrap(),
        None
    );

    // Set by an update (the first parcel shipped).
    let later = tracking_token();
    let mut shipped = plain.clone();
    shipped.tracking_token = Some(later.clone());
    shipped.state = OrderState::Shipped;
    db.commit(update_change_set(&shipped)).await.unwrap();
    shipped.version += 1;
    assert_eq!(db.order_by_tracking_token(&later).await.unwrap(), Some(shipped.clone()));
    assert_eq!(db.get_order(shipped.id).await.unwrap(), Some(shipped.clone()));

    // Changed: the old token finds nothing.
    let renewed_token = tracking_token();
    let mut renewed = tracked.clone();
    renewed.tracking_token = Some(renewed_token.clone());
    db.commit(update_change_set(&renewed)).await.unwrap();
    renewed.version += 1;
    assert_eq!(db.order_by_tracking_token(&token).await.unwrap(), None);
    assert_eq!(
        db.order_by_tracking_token(&renewed_token).await.unwrap(),
        Some(renewed.clone())
    );

    // Removed.
    let mut cleared = renewed.clone();
    cleared.tracking_token = None;
    db.commit(update_change_set(&cleared)).await.unwrap();
    assert_eq!(db.order_by_tracking_token(&renewed_token).await.unwrap(), None);
    assert_eq!(db.order_by_tracking_token(&later).await.unwrap(), Some(shipped));
}

/// A tracking token belongs to one order over all stores: an insert or an update that takes a
/// token in use is `Conflict` and writes nothing; once given up, the token may be taken.
pub async fn orders_tracking_token_is_unique<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let token = tracking_token();
    let first = seed_order(&*db, OrderBuilder::new(s1).tracking_token(&token).build()).await;

    for store in [s1, s2] {
        let duplicate = OrderBuilder::new(store).tracking_token(&token).build();
        assert_conflict(db.commit(insert_change_set(&duplicate)).await);
        assert_eq!(db.get_order(duplicate.id).await.unwrap(), None);
        assert_eq!(db.timeline(duplicate.id).await.unwrap(), vec![]);
        assert_eq!(
            db.list_messages(&messages_of_order(duplicate.id)).await.unwrap(),
            vec![]
        );
    }

    let other = seed_order(&*db, OrderBuilder::new(s2).build()).await;
    let mut taking = other.clone();
    taking.tracking_token = Some(token.clone());
    taking.state = OrderState::Shipped;
    assert_conflict(db.commit(update_change_set(&taking)).await);
    assert_eq!(db.get_order(other.id).await.unwrap(), Some(other.clone()));
    assert_eq!(db.order_by_tracking_token(&token).await.unwrap(), Some(first.clone()));

    // Orders without a token never conflict with each other.
    seed_order(&*db, OrderBuilder::new(s1).build()).await;
    seed_order(&*db, OrderBuilder::new(s1).build()).await;

    // Given up, the token may go to another order.
    let mut released = first.clone();
    released.tracking_token = None;
    db.commit(update_change_set(&released)).await.unwrap();
    db.commit(update_change_set(&taking)).await.unwrap();
    taking.version += 1;
    assert_eq!(db.order_by_tracking_token(&token).await.unwrap(), Some(taking));
}

fn shipment_ref(order: &Order, supplier_order: usize, shipment: usize) -> ShipmentRef {
    ShipmentRef {
        order_id: order.id,
        store_id: order.store_id,
        shipment_id: order.supplier_orders[supplier_order].shipments[shipment].id,
    }
}

async fn shipment_refs<B: Backend>(db: &B, tracking_number: &str) -> Vec<ShipmentRef> {
    sorted_by_key(db.shipments_by_tracking_number(tracking_number).await.unwrap(), |r| {
        r.shipment_id
    })
}

fn sorted_refs(refs: Vec<ShipmentRef>) -> Vec<ShipmentRef> {
    sorted_by_key(refs, |r| r.shipment_id)
}

/// Parcels are found by their exact tracking number in every store, several per number.
pub async fn shipments_by_tracking_number_across_stores<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let (p1, p2) = (SupplierId::new(), SupplierId::new());
    let number = tracking_number();
    let second = tracking_number();
    let split = tracking_number();
    let a = seed_order(
        &*db,
        OrderBuilder::new(s1)
            .shipped(p1, vec![shipment(&number, Some(at(100))), shipment(&second, None)])
            .build(),
    )
    .await;
    // A parcel whose carrier was not detected.
    let undetected = Shipment {
        carrier_code: None,
        ..shipment(&number, Some(at(200)))
    };
    let b = seed_order(&*db, OrderBuilder::new(s2).shipped(p2, vec![undetected]).build()).await;
    // One number on parcels of two supplier orders of one order.
    let c = seed_order(
        &*db,
        OrderBuilder::new(s1)
            .shipped(p1, vec![shipment(&split, Some(at(300)))])
            .shipped(p2, vec![shipment(&split, Some(at(300)))])
            .build(),
    )
    .await;
    seed_order(&*db, OrderBuilder::new(s1).supplier_order(p1).build()).await;

    assert_eq!(
        shipment_refs(&*db, &number).await,
        sorted_refs(vec![shipment_ref(&a, 0, 0), shipment_ref(&b, 0, 0)])
    );
    assert_eq!(shipment_refs(&*db, &second).await, vec![shipment_ref(&a, 0, 1)]);
    assert_eq!(
        shipment_refs(&*db, &split).await,
        sorted_refs(vec![shipment_ref(&c, 0, 0), shipment_ref(&c, 1, 0)])
    );
    // Exact: no prefix, no other case.
    assert_eq!(shipment_refs(&*db, &number[..number.len() - 1]).await, vec![]);
    assert_eq!(shipment_refs(&*db, &number.to_lowercase()).await, vec![]);
    assert_eq!(shipment_refs(&*db, "unknown").await, vec![]);
}

/// The parcels found follow the stored aggregate: a corrected number, a removed parcel and a
/// new supplier order's parcel show after an update; a refused write changes nothing.
pub async fn shipments_follow_order_updates<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let (p1, p2) = (SupplierId::new(), SupplierId::new());
    let (n1, n2, n3) = (tracking_number(), tracking_number(), tracking_number());
    let order = seed_order(
        &*db,
        OrderBuilder::new(store)
            .shipped(p1, vec![shipment(&n1, Some(at(100))), shipment(&n2, Some(at(100)))])
            .build(),
    )
    .await;
    assert_eq!(shipment_refs(&*db, &n1).await, vec![shipment_ref(&order, 0, 0)]);
    assert_eq!(shipment_refs(&*db, &n2).await, vec![shipment_ref(&order, 0, 1)]);

    // The first parcel's number is corrected, the second parcel is gone, and a new supplier
    // order ships a new parcel under the second number.
    let mut changed = order.clone();
    changed.supplier_orders[0].shipments[0].tracking_number = n3.clone();
    changed.supplier_orders[0].shipments.remove(1);
    let mut rerouted = supplier_order_for(&changed, p2);
    rerouted.shipments = vec![shipment(&n2, Some(at(150)))];
    changed.supplier_orders.push(rerouted);
    db.commit(update_change_set(&changed)).await.unwrap();
    changed.version += 1;
    assert_eq!(shipment_refs(&*db, &n1).await, vec![]);
    assert_eq!(shipment_refs(&*db, &n3).await, vec![shipment_ref(&changed, 0, 0)]);
    assert_eq!(shipment_refs(&*db, &n2).await, vec![shipment_ref(&changed, 1, 0)]);
    assert_ne!(
        shipment_ref(&changed, 1, 0).shipment_id,
        shipment_ref(&order, 0, 1).shipment_id
    );

    // A stale update that drops every parcel is refused and changes nothing.
    let mut stale = order.clone();
    stale.supplier_orders.clear();
    assert_conflict(db.commit(update_change_set(&stale)).await);
    assert_eq!(shipment_refs(&*db, &n3).await, vec![shipment_ref(&changed, 0, 0)]);

    // A refused insert leaves no parcel behind.
    let n4 = tracking_number();
    let refused = OrderBuilder::new(store)
        .external_id(&order.external_id)
        .shipped(p1, vec![shipment(&n4, Some(at(100)))])
        .build();
    assert_conflict(db.commit(insert_change_set(&refused)).await);
    assert_eq!(shipment_refs(&*db, &n4).await, vec![]);

    // Every parcel of the order dropped (the supplier orders cancelled).
    let mut dropped = changed.clone();
    for supplier_order in &mut dropped.supplier_orders {
        supplier_order.shipments.clear();
    }
    db.commit(update_change_set(&dropped)).await.unwrap();
    assert_eq!(shipment_refs(&*db, &n2).await, vec![]);
    assert_eq!(shipment_refs(&*db, &n3).await, vec![]);
}

// ---------------------------------------------------------------------------------------------
// Exceptions (the seller's work list) and lane samples
// ---------------------------------------------------------------------------------------------

/// The open exceptions of orders as `list_exceptions` gives them, oldest first (by time
/// raised, then order id, then place in the order).
fn open_exceptions(orders: &[&Order]) -> Vec<ExceptionEntry> {
    let mut entries: Vec<(ExceptionEntry, usize)> = orders
        .iter()
        .flat_map(|order| {
            order
                .exceptions
                .iter()
                .enumerate()
                .filter(|(_, e)| e.resolved_at.is_none())
                .map(|(position, e)| {
                    (
                        ExceptionEntry {
                            order_id: order.id,
                            store_id: order.store_id,
                            order_number: order.number.clone(),
                            kind: e.kind,
                            detail: e.detail.clone(),
                            suggested_action: e.suggested_action,
                            raised_at: e.raised_at,
                        },
                        position,
                    )
                })
        })
        .collect();
    entries.sort_by_key(|(e, position)| (e.raised_at, e.order_id, *position));
    entries.into_iter().map(|(e, _)| e).collect()
}

fn resolved(mut exception: OrderException, at: time::OffsetDateTime) -> OrderException {
    exception.resolved_at = Some(at);
    exception
}

/// `list_exceptions` gives open exceptions only, oldest first, by store, by kind, raised
/// strictly before a time, combined, and up to the limit.
pub async fn exceptions_listing_filters<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let a = seed_order(
        &*db,
        OrderBuilder::new(s1)
            .number("#A-1")
            .exception(exception(ExceptionKind::ShippingLate, at(300)))
            .exception(resolved(exception(ExceptionKind::NoFirstScan, at(50)), at(60)))
            .exception(OrderException {
                suggested_action: SuggestedAction::Reship,
                ..exception(ExceptionKind::InvalidTracking, at(100))
            })
            .build(),
    )
    .await;
    let b = seed_order(
        &*db,
        OrderBuilder::new(s1)
            .exception(exception(ExceptionKind::ShippingLate, at(200)))
            .build(),
    )
    .await;
    let c = seed_order(
        &*db,
        OrderBuilder::new(s2)
            .exception(exception(ExceptionKind::ShippingLate, at(100)))
            .exception(exception(ExceptionKind::DeliveryProblem, at(400)))
            .build(),
    )
    .await;
    seed_order(&*db, OrderBuilder::new(s1).build()).await;
    let only_resolved = seed_order(
        &*db,
        OrderBuilder::new(s2)
            .exception(resolved(exception(ExceptionKind::PlacementLate, at(10)), at(20)))
            .build(),
    )
    .await;
    let all = open_exceptions(&[&a, &b, &c, &only_resolved]);
    assert_eq!(all.len(), 5);
    let list = |filter: ExceptionFilter| {
        let db = Arc::clone(&db);
        async move { db.list_exceptions(&filter).await.unwrap() }
    };
    let expected = |keep: &dyn Fn(&ExceptionEntry) -> bool| -> Vec<ExceptionEntry> {
        all.iter().filter(|e| keep(e)).cloned().collect()
    };

    assert_eq!(list(ExceptionFilter::default()).await, all);
    let first = &list(ExceptionFilter::default()).await[0];
    assert_eq!(
        (first.order_number.as_str(), first.kind, first.suggested_action),
        ("#A-1", ExceptionKind::InvalidTracking, SuggestedAction::Reship)
    );
    assert_eq!(
        list(ExceptionFilter {
            store_id: Some(s1),
            ..ExceptionFilter::default()
        })
        .await,
        expected(&|e| e.store_id == s1)
    );
    assert_eq!(
        list(ExceptionFilter {
            kind: Some(ExceptionKind::ShippingLate),
            ..ExceptionFilter::default()
        })
        .await,
        expected(&|e| e.kind == ExceptionKind::ShippingLate)
    );
    // Strictly before: the one raised at 200 is not.
    let before = list(ExceptionFilter {
        raised_before: Some(at(200)),
        ..ExceptionFilter::default()
    })
    .await;
    assert_eq!(before, expected(&|e| e.raised_at < at(200)));
    assert_eq!(before.len(), 2);
    assert_eq!(
        list(ExceptionFilter {
            store_id: Some(s1),
            kind: Some(ExceptionKind::ShippingLate),
            ..ExceptionFilter::default()
        })
        .await,
        expected(&|e| e.store_id == s1 && e.kind == ExceptionKind::ShippingLate)
    );
    assert_eq!(
        list(ExceptionFilter {
            store_id: Some(s2),
            raised_before: Some(at(400)),
            ..ExceptionFilter::default()
        })
        .await,
        expected(&|e| e.store_id == s2 && e.raised_at < at(400))
    );
    assert_eq!(
        list(ExceptionFilter {
            kind: Some(ExceptionKind::PlacementLate),
            ..ExceptionFilter::default()
        })
        .await,
        vec![]
    );
    assert_eq!(
        list(ExceptionFilter {
            limit: 2,
            ..ExceptionFilter::default()
        })
        .await,
        all[..2].to_vec()
    );
    // Pages by keyset: the entries after the last one read.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = list(ExceptionFilter {
            after,
            limit: 2,
            ..ExceptionFilter::default()
        })
        .await;
        let Some(last) = page.last() else { break };
        after = Some((last.raised_at, last.order_id));
        paged.extend(page);
    }
    assert_eq!(paged, all);
    assert_eq!(
        list(ExceptionFilter {
            store_id: Some(StoreId::new()),
            ..ExceptionFilter::default()
        })
        .await,
        vec![]
    );
}

/// The listed exceptions follow the stored aggregate: resolved ones go, new ones come, the
/// order's number follows; a refused update changes nothing.
pub async fn exceptions_follow_order_updates<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = seed_order(
        &*db,
        OrderBuilder::new(store)
            .exception(exception(ExceptionKind::ShippingLate, at(100)))
            .exception(exception(ExceptionKind::NoFirstScan, at(200)))
            .build(),
    )
    .await;
    let of_store = ExceptionFilter {
        store_id: Some(store),
        ..ExceptionFilter::default()
    };
    assert_eq!(db.list_exceptions(&of_store).await.unwrap(), open_exceptions(&[&order]));

    // The first is resolved, a third is raised.
    let mut changed = order.clone();
    changed.exceptions[0].resolved_at = Some(at(250));
    changed
        .exceptions
        .push(exception(ExceptionKind::TrackingStalled, at(300)));
    db.commit(update_change_set(&changed)).await.unwrap();
    changed.version += 1;
    let listed = db.list_exceptions(&of_store).await.unwrap();
    assert_eq!(listed, open_exceptions(&[&changed]));
    assert_eq!(
        listed.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![ExceptionKind::NoFirstScan, ExceptionKind::TrackingStalled]
    );

    // A stale update resolving everything is refused and changes nothing.
    let mut stale = order.clone();
    for exception in &mut stale.exceptions {
        exception.resolved_at = Some(at(260));
    }
    assert_conflict(db.commit(update_change_set(&stale)).await);
    assert_eq!(db.list_exceptions(&of_store).await.unwrap(), listed);

    // The order's number changes (a storefront rename): the entries follow.
    let mut renamed = changed.clone();
    renamed.number = "#renamed".into();
    db.commit(update_change_set(&renamed)).await.unwrap();
    renamed.version += 1;
    let listed = db.list_exceptions(&of_store).await.unwrap();
    assert_eq!(listed, open_exceptions(&[&renamed]));
    assert!(listed.iter().all(|e| e.order_number == "#renamed"));

    // An exception's detail is rewritten in place.
    let mut detailed = renamed.clone();
    detailed.exceptions[2].detail = "no carrier event for 9 days".into();
    db.commit(update_change_set(&detailed)).await.unwrap();
    detailed.version += 1;
    assert_eq!(
        db.list_exceptions(&of_store).await.unwrap(),
        open_exceptions(&[&detailed])
    );

    // All resolved: the work list is empty.
    let mut done = detailed.clone();
    for exception in &mut done.exceptions {
        exception.resolved_at.get_or_insert(at(400));
    }
    db.commit(update_change_set(&done)).await.unwrap();
    assert_eq!(db.list_exceptions(&of_store).await.unwrap(), vec![]);
    assert_eq!(
        db.get_order(order.id).await.unwrap().map(|o| o.exceptions.len()),
        Some(3)
    );
}

/// The exception listing gives at most 500; a limit of 0 means the full 500.
pub async fn exceptions_listing_is_capped<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let mut builder = OrderBuilder::new(store);
    for i in 0..501 {
        builder = builder.exception(exception(ExceptionKind::TrackingStalled, at(i)));
    }
    let order = seed_order(&*db, builder.build()).await;
    let all = open_exceptions(&[&order]);
    for limit in [0, 500, 501, 10_000] {
        let listed = db
            .list_exceptions(&ExceptionFilter {
                limit,
                ..ExceptionFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(listed, all[..500].to_vec(), "limit {limit}");
    }
    let three = db
        .list_exceptions(&ExceptionFilter {
            limit: 3,
            ..ExceptionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(three, all[..3].to_vec());
}

/// `lane_samples` gives the store's delivered parcels with both times known, delivered at or
/// after `since`, newest delivery first, with their supplier and destination country; a
/// parcel delivered by a later update joins them.
pub async fn lane_samples_window<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    let (p1, p2) = (SupplierId::new(), SupplierId::new());
    let since = at(1000);
    let x = seed_order(
        &*db,
        OrderBuilder::new(s1)
            .ship_to_country("DE")
            .shipped(
                p1,
                vec![
                    delivered_shipment(&tracking_number(), Some(at(500)), at(1000)),
                    delivered_shipment(&tracking_number(), Some(at(900)), at(2000)),
                    delivered_shipment(&tracking_number(), Some(at(100)), at(999)),
                    delivered_shipment(&tracking_number(), None, at(3000)),
                    shipment(&tracking_number(), Some(at(800))),
                ],
            )
            .build(),
    )
    .await;
    seed_order(
        &*db,
        OrderBuilder::new(s1)
            .ship_to_country("FR")
            .shipped(
                p2,
                vec![delivered_shipment(&tracking_number(), Some(at(1500)), at(2500))],
            )
            .build(),
    )
    .await;
    seed_order(
        &*db,
        OrderBuilder::new(s2)
            .ship_to_country("DE")
            .shipped(
                p1,
                vec![delivered_shipment(&tracking_number(), Some(at(1500)), at(2600))],
            )
            .build(),
    )
    .await;
    let sample = |supplier_id, country: &str, shipped, delivered| LaneSample {
        supplier_id,
        country: country.to_string(),
        shipped_at: at(shipped),
        delivered_at: at(delivered),
    };

    assert_eq!(
        db.lane_samples(s1, since).await.unwrap(),
        vec![
            sample(p2, "FR", 1500, 2500),
            sample(p1, "DE", 900, 2000),
            sample(p1, "DE", 500, 1000),
        ]
    );
    assert_eq!(
        db.lane_samples(s2, since).await.unwrap(),
        vec![sample(p1, "DE", 1500, 2600)]
    );
    assert_eq!(
        db.lane_samples(s1, at(2001)).await.unwrap(),
        vec![sample(p2, "FR", 1500, 2500)]
    );
    assert_eq!(db.lane_samples(s1, at(5000)).await.unwrap(), vec![]);
    assert_eq!(db.lane_samples(StoreId::new(), since).await.unwrap(), vec![]);

    // The parcel in transit is delivered.
    let mut delivered = x.clone();
    let parcel = &mut delivered.supplier_orders[0].shipments[4];
    parcel.state = ShipmentState::Delivered;
    parcel.delivered_at = Some(at(2200));
    db.commit(update_change_set(&delivered)).await.unwrap();
    assert_eq!(
        db.lane_samples(s1, since).await.unwrap(),
        vec![
            sample(p2, "FR", 1500, 2500),
            sample(p1, "DE", 800, 2200),
            sample(p1, "DE", 900, 2000),
            sample(p1, "DE", 500, 1000),
        ]
    );
}

/// A store's orders placed in a period come a page at a time, oldest placed first (ties by
/// id, whatever order they were created in), each page after the cursor of the one before;
/// never another store's orders or those placed before or at the end of the period; an
/// order moved to another time moves in the pages.
pub async fn orders_placed_between_pages_by_placing_time<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let other = seed_store(&*db).await.store.id;
    let mut orders = Vec::new();
    for seconds in [50, 10, 30, 30, 20, -5, 40, 60, 61] {
        orders.push(seed_order(&*db, OrderBuilder::new(store).placed_at(at(seconds)).build()).await);
    }
    seed_order(&*db, OrderBuilder::new(other).placed_at(at(15)).build()).await;
    let (from, to) = (at(0), at(60));
    let in_order = |orders: &[Order], from, to| -> Vec<Order> {
        let mut kept: Vec<Order> = orders
            .iter()
            .filter(|o| o.placed_at >= from && o.placed_at < to)
            .cloned()
            .collect();
        kept.sort_by_key(|o| (o.placed_at, o.id));
        kept
    };
    let expected = in_order(&orders, from, to);
    assert_eq!(expected.len(), 6);

    // Pages of two: three full pages, each with its cursor, then an empty last one.
    let mut seen = Vec::new();
    let mut after = None;
    let mut sizes = Vec::new();
    loop {
        let page = db.orders_placed_between(store, from, to, after, 2).await.unwrap();
        sizes.push(page.orders.len());
        seen.extend(page.orders.iter().cloned());
        let Some(next) = page.next else { break };
        let last = page.orders.last().expect("a full page has a last order");
        assert_eq!((next.placed_at, next.order_id), (last.placed_at, last.id));
        after = Some(next);
    }
    assert_eq!(sizes, [2, 2, 2, 0]);
    assert_eq!(seen, expected);

    // One page of everything (0 is the cap): no next page.
    let all = db.orders_placed_between(store, from, to, None, 0).await.unwrap();
    assert_eq!((all.orders, all.next), (expected.clone(), None));
    // The start is included; a cursor in the middle of a tie continues after its order.
    let from_30 = db.orders_placed_between(store, at(30), to, None, 1).await.unwrap();
    assert_eq!(from_30.orders, expected[2..3].to_vec());
    let rest = db
        .orders_placed_between(store, at(30), to, from_30.next, 500)
        .await
        .unwrap();
    assert_eq!(rest.orders, expected[3..].to_vec());
    // The end is excluded.
    let last = db.orders_placed_between(store, at(50), at(61), None, 0).await.unwrap();
    let times: Vec<_> = last.orders.iter().map(|o| o.placed_at).collect();
    assert_eq!(times, [at(50), at(60)]);
    assert_eq!(
        db.orders_placed_between(StoreId::new(), from, to, None, 10)
            .await
            .unwrap(),
        dropline_app::ports::PlacedPage::default()
    );

    // Moved: the order of 40 s to before the start, the one of -5 s to 35 s.
    let mut moved = Vec::new();
    for order in &mut orders {
        let to = match order.placed_at {
            t if t == at(40) => at(-10),
            t if t == at(-5) => at(35),
            _ => continue,
        };
        order.placed_at = to;
        db.commit(update_change_set(order)).await.unwrap();
        order.version += 1;
        moved.push(order.id);
    }
    assert_eq!(moved.len(), 2);
    let all = db.orders_placed_between(store, from, to, None, 0).await.unwrap();
    assert_eq!(all.orders, in_order(&orders, from, to));
    assert!(all.orders.iter().any(|o| o.placed_at == at(35)));
    assert!(all.orders.iter().all(|o| o.placed_at != at(40)));
}

/// Twenty concurrent change sets each with a message of one dedupe key: all are accepted,
/// one message is written, and every change set's other writes land.
pub async fn concurrent_messages_with_one_dedupe_key_one_lands<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = seed_order(&*db, OrderBuilder::new(store).build()).await;
    let key = dedupe_key();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let db = Arc::clone(&db);
        let changes = ChangeSet {
            messages: vec![keyed_message(&order, "shipped", &key)],
            jobs: vec![job("poll_tracking", at(30), Some(store))],
            ..ChangeSet::default()
        };
        tasks.spawn(async move { db.commit(changes).await });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap().unwrap();
    }
    let shipped = db
        .list_messages(&MessageFilter {
            template: Some("shipped".into()),
            ..messages_of_order(order.id)
        })
        .await
        .unwrap();
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert_eq!(shipped[0].dedupe_key.as_deref(), Some(key.as_str()));
    assert_eq!(db.count_pending_jobs().await.unwrap(), 21);
}

// ---------------------------------------------------------------------------------------------
// Concurrency and group commit
// ---------------------------------------------------------------------------------------------

/// 200 concurrent change sets all land, whole, and 200 concurrent updates after them.
pub async fn concurrent_commits_all_land<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let db = Arc::clone(&db);
        tasks.spawn(async move {
            let order = OrderBuilder::new(store).build();
            db.commit(insert_change_set(&order)).await.map(|()| order)
        });
    }
    let mut orders = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        orders.push(joined.unwrap().unwrap());
    }
    let listed = db.list_orders(&all_orders_of(store)).await.unwrap();
    assert_eq!(listed.len(), 200);
    let expected: HashMap<OrderId, Order> = orders.iter().map(|o| (o.id, o.clone())).collect();
    for order in &listed {
        assert_eq!(Some(order), expected.get(&order.id));
    }
    assert_eq!(db.count_pending_jobs().await.unwrap(), 200);
    let messages = db
        .list_messages(&MessageFilter {
            store_id: Some(store),
            limit: 500,
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(messages.len(), 200);
    for order in &orders {
        assert_eq!(db.timeline(order.id).await.unwrap().len(), 1);
    }

    for order in orders.clone() {
        let db = Arc::clone(&db);
        tasks.spawn(async move {
            let mut accepted = order;
            accepted.state = OrderState::Accepted;
            db.commit(update_change_set(&accepted)).await.map(|()| accepted)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let accepted = joined.unwrap().unwrap();
        let stored = db.get_order(accepted.id).await.unwrap().unwrap();
        assert_eq!(stored, Order { version: 1, ..accepted });
    }
    assert_eq!(db.count_pending_jobs().await.unwrap(), 400);
}

/// In a burst of concurrent change sets, the refused ones get their own error and leave no
/// trace; all the others land.
pub async fn concurrent_batch_with_failing_change_sets<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let existing = seed_order(&*db, OrderBuilder::new(store).build()).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..120 {
        let db = Arc::clone(&db);
        let existing = existing.clone();
        tasks.spawn(async move {
            // Every tenth repeats an external id, every tenth (shifted) updates a stale
            // version together with an insert of its own.
            let (order, changes, should_fail) = match i % 10 {
                0 => {
                    let order = OrderBuilder::new(store).external_id(&existing.external_id).build();
                    let changes = insert_change_set(&order);
                    (order, changes, true)
                }
                5 => {
                    let order = OrderBuilder::new(store).build();
                    let mut changes = insert_change_set(&order);
                    let mut stale = existing.clone();
                    stale.version = 9;
                    changes.orders.push(OrderWrite::Update(stale));
                    (order, changes, true)
                }
                _ => {
                    let order = OrderBuilder::new(store).build();
                    let changes = insert_change_set(&order);
                    (order, changes, false)
                }
            };
            let result = db.commit(changes.clone()).await;
            (order, changes, should_fail, result)
        });
    }
    let mut landed = 1;
    let mut failed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (order, changes, should_fail, result) = joined.unwrap();
        if should_fail {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "expected Conflict, got {result:?}"
            );
            failed.push((order, changes));
        } else {
            result.unwrap();
            landed += 1;
            assert_eq!(db.get_order(order.id).await.unwrap(), Some(order.clone()));
            assert_eq!(db.timeline(order.id).await.unwrap(), changes.timeline);
        }
    }
    assert_eq!(failed.len(), 24);
    for (order, _) in &failed {
        assert_eq!(db.get_order(order.id).await.unwrap(), None);
        assert_eq!(db.timeline(order.id).await.unwrap(), vec![]);
        assert_eq!(db.list_messages(&messages_of_order(order.id)).await.unwrap(), vec![]);
    }
    assert_eq!(db.get_order(existing.id).await.unwrap(), Some(existing));
    assert_eq!(db.list_orders(&all_orders_of(store)).await.unwrap().len(), landed);
    assert_eq!(db.count_pending_jobs().await.unwrap(), landed as u64);
    let messages = db
        .list_messages(&MessageFilter {
            store_id: Some(store),
            limit: 500,
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(messages.len(), landed);
    let failed_jobs: HashSet<JobId> = failed.iter().flat_map(|(_, c)| c.jobs.iter().map(|j| j.id)).collect();
    let claimed = db.claim_jobs("w", 500, HOUR, at(10)).await.unwrap();
    assert_eq!(claimed.len(), landed);
    assert!(claimed.iter().all(|j| !failed_jobs.contains(&j.id)));
}

/// Twenty concurrent inserts of one external id: exactly one wins.
pub async fn concurrent_inserts_of_one_external_id_one_wins<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let external_id = format!("race-{}", crate::builders::unique());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let db = Arc::clone(&db);
        let order = OrderBuilder::new(store).external_id(&external_id).build();
        tasks.spawn(async move { (db.commit(insert_change_set(&order)).await, order) });
    }
    let mut winners = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (result, order) = joined.unwrap();
        match result {
            Ok(()) => winners.push(order),
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("expected Ok or Conflict, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(
        db.order_by_external_id(store, &external_id).await.unwrap(),
        Some(winners[0].clone())
    );
    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);
    assert_eq!(
        db.list_messages(&MessageFilter {
            store_id: Some(store),
            limit: 100,
            ..MessageFilter::default()
        })
        .await
        .unwrap()
        .len(),
        1
    );
}

/// A burst of concurrent change sets, each with an order and a delivery: one repeats a
/// recorded delivery and two race with one new delivery id. The repeat and one racer are
/// refused and leave no trace; every other change set lands whole.
pub async fn concurrent_batch_with_a_duplicate_delivery<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let recorded = delivery(store);
    let existing = OrderBuilder::new(store).build();
    db.commit(delivered_change_set(&existing, &recorded)).await.unwrap();
    let raced = delivery(store);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let db = Arc::clone(&db);
        let record = match i {
            17 => recorded.clone(),
            30 | 31 => raced.clone(),
            _ => delivery(store),
        };
        let order = OrderBuilder::new(store).build();
        tasks.spawn(async move {
            let changes = delivered_change_set(&order, &record);
            let result = db.commit(changes.clone()).await;
            (i, order, changes, result)
        });
    }
    let mut landed = vec![existing.clone()];
    let mut refused = Vec::new();
    let mut racers_landed = 0;
    while let Some(joined) = tasks.join_next().await {
        let (i, order, changes, result) = joined.unwrap();
        match (i, result) {
            (17, result) => {
                assert_conflict(result);
                refused.push(order);
            }
            (30 | 31, Ok(())) => {
                racers_landed += 1;
                landed.push(order);
            }
            (30 | 31, result) => {
                assert_conflict(result);
                refused.push(order);
            }
            (_, result) => {
                result.unwrap();
                assert!(
                    db.delivery_seen(store, &changes.deliveries[0].delivery_id)
                        .await
                        .unwrap()
                );
                landed.push(order);
            }
        }
    }
    assert_eq!(racers_landed, 1, "exactly one change set of a raced delivery lands");
    assert_eq!(refused.len(), 2);
    for order in &refused {
        assert_eq!(db.get_order(order.id).await.unwrap(), None);
        assert_eq!(db.timeline(order.id).await.unwrap(), vec![]);
        assert_eq!(db.list_messages(&messages_of_order(order.id)).await.unwrap(), vec![]);
    }
    for order in &landed {
        assert_eq!(db.get_order(order.id).await.unwrap().as_ref(), Some(order));
        assert_eq!(db.timeline(order.id).await.unwrap().len(), 1);
    }
    assert!(db.delivery_seen(store, &raced.delivery_id).await.unwrap());
    assert_eq!(landed.len(), 59);
    assert_eq!(db.list_orders(&all_orders_of(store)).await.unwrap().len(), landed.len());
    assert_eq!(db.count_pending_jobs().await.unwrap(), landed.len() as u64);
}

/// Eight workers claiming from 100 jobs at once never get the same job twice.
pub async fn concurrent_claimers_never_share_a_job<B: Backend>(db: Arc<B>) {
    let mut all = HashSet::new();
    for _ in 0..4 {
        let jobs: Vec<_> = (0..25).map(|_| job("sync_tracking", at(0), None)).collect();
        all.extend(jobs.iter().map(|j| j.id));
        db.commit(ChangeSet {
            jobs,
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let db = Arc::clone(&db);
        tasks.spawn(async move {
            let name = format!("worker-{worker}");
            let mut mine = Vec::new();
            // Bounded, so a store that hands out leased jobs again fails instead of spinning.
            for _ in 0..100 {
                let claimed = db.claim_jobs(&name, 3, HOUR, at(10)).await.unwrap();
                if claimed.is_empty() {
                    break;
                }
                assert!(claimed.len() <= 3);
                mine.extend(claim_ids(&claimed));
                tokio::task::yield_now().await;
            }
            mine
        });
    }
    let mut claimed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        claimed.extend(joined.unwrap());
    }
    let unique: HashSet<JobId> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), 100, "a job was claimed twice or not at all");
    assert_eq!(unique, all);
    assert_eq!(db.count_pending_jobs().await.unwrap(), 100);
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

/// Only due jobs are claimed, earliest first, up to the limit.
pub async fn jobs_claim_respects_run_after<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let j1 = job("route_order", at(100), Some(store));
    let j2 = job("send_message", at(50), None);
    let j3 = job("route_order", at(200), Some(store));
    db.commit(ChangeSet {
        jobs: vec![j1.clone(), j2.clone(), j3.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();

    assert_eq!(db.claim_jobs("w1", 10, HOUR, at(49)).await.unwrap(), vec![]);
    let claimed = db.claim_jobs("w1", 10, HOUR, at(100)).await.unwrap();
    let expected: Vec<Job> = [&j2, &j1]
        .iter()
        .map(|j| Job {
            id: j.id,
            kind: j.kind.clone(),
            payload: j.payload.clone(),
            attempts: 0,
            run_after: j.run_after,
            store_id: j.store_id,
            last_error: None,
        })
        .collect();
    assert_eq!(claimed, expected);
    assert_eq!(db.claim_jobs("w2", 10, HOUR, at(150)).await.unwrap(), vec![]);
    assert_eq!(
        claim_ids(&db.claim_jobs("w2", 10, HOUR, at(200)).await.unwrap()),
        vec![j3.id]
    );

    // The limit holds.
    let many: Vec<_> = (0..5).map(|i| job("sync_tracking", at(300 + i), None)).collect();
    db.commit(ChangeSet {
        jobs: many.clone(),
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let first = db.claim_jobs("w3", 2, Duration::days(1), at(400)).await.unwrap();
    assert_eq!(claim_ids(&first), vec![many[0].id, many[1].id]);
    let second = db.claim_jobs("w3", 2, Duration::days(1), at(400)).await.unwrap();
    assert_eq!(claim_ids(&second), vec![many[2].id, many[3].id]);
    let third = db.claim_jobs("w3", 2, Duration::days(1), at(400)).await.unwrap();
    assert_eq!(claim_ids(&third), vec![many[4].id]);
    assert_eq!(
        db.claim_jobs("w3", 2, Duration::days(1), at(400)).await.unwrap(),
        vec![]
    );
}

/// A claimed job is not claimed again while its lease lives, and is after it expires.
pub async fn jobs_lease_blocks_until_it_expires<B: Backend>(db: Arc<B>) {
    let j = job("place_supplier_order", at(0), None);
    db.commit(ChangeSet {
        jobs: vec![j.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let lease = Duration::seconds(60);
    assert_eq!(
        claim_ids(&db.claim_jobs("a", 10, lease, at(10)).await.unwrap()),
        vec![j.id]
    );
    assert_eq!(db.claim_jobs("b", 10, lease, at(11)).await.unwrap(), vec![]);
    assert_eq!(db.claim_jobs("b", 10, lease, at(69)).await.unwrap(), vec![]);
    let again = db.claim_jobs("b", 10, lease, at(71)).await.unwrap();
    assert_eq!(claim_ids(&again), vec![j.id]);
    assert_eq!(again[0].kind, j.kind);
    assert_eq!(again[0].payload, j.payload);
    // And b's lease blocks a in turn.
    assert_eq!(db.claim_jobs("a", 10, lease, at(100)).await.unwrap(), vec![]);
    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);
}

/// A lease its worker extends keeps other workers away past its first end; only the holder
/// can extend it, and a lease that ran out and went to another worker is lost.
pub async fn jobs_lease_extended_by_its_holder<B: Backend>(db: Arc<B>) {
    let j = job("place_supplier_order", at(0), None);
    db.commit(ChangeSet {
        jobs: vec![j.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let lease = Duration::seconds(60);
    assert_eq!(
        claim_ids(&db.claim_jobs("a", 10, lease, at(10)).await.unwrap()),
        vec![j.id]
    );
    assert!(db.extend_lease(j.id, "a", at(130)).await.unwrap());
    assert!(
        !db.extend_lease(j.id, "b", at(500)).await.unwrap(),
        "only the holder extends"
    );
    assert_eq!(
        db.claim_jobs("b", 10, lease, at(100)).await.unwrap(),
        vec![],
        "still a's"
    );
    let taken = db.claim_jobs("b", 10, lease, at(131)).await.unwrap();
    assert_eq!(claim_ids(&taken), vec![j.id]);
    assert!(!db.extend_lease(j.id, "a", at(300)).await.unwrap(), "a lost it to b");
    assert!(!db.extend_lease(JobId::new(), "a", at(300)).await.unwrap());
}

/// A job named in `finished_jobs` is deleted together with the rest of its change set.
pub async fn jobs_finished_in_commit_are_deleted<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = OrderBuilder::new(store).build();
    let ingest = insert_change_set(&order);
    db.commit(ingest.clone()).await.unwrap();
    let claimed = db.claim_jobs("w", 10, Duration::seconds(30), at(10)).await.unwrap();
    assert_eq!(claim_ids(&claimed), vec![ingest.jobs[0].id]);

    let mut accepted = order.clone();
    accepted.state = OrderState::Accepted;
    let mut step = update_change_set(&accepted);
    step.finished_jobs = vec![claimed[0].id];
    db.commit(step.clone()).await.unwrap();

    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);
    // Long after every lease: only the new job is left.
    let left = db.claim_jobs("w", 10, HOUR, at(100_000)).await.unwrap();
    assert_eq!(claim_ids(&left), vec![step.jobs[0].id]);
    assert_eq!(db.list_buried_jobs(10).await.unwrap(), vec![]);
}

/// A job named in a refused change set stays, and runs again after its lease.
pub async fn jobs_finished_in_refused_change_set_stay<B: Backend>(db: Arc<B>) {
    let store = seed_store(&*db).await.store.id;
    let order = OrderBuilder::new(store).build();
    let ingest = insert_change_set(&order);
    db.commit(ingest.clone()).await.unwrap();
    let claimed = db.claim_jobs("w", 10, Duration::seconds(30), at(10)).await.unwrap();
    assert_eq!(claimed.len(), 1);

    let mut stale = order.clone();
    stale.version = 4;
    let mut step = update_change_set(&stale);
    step.finished_jobs = vec![claimed[0].id];
    assert_conflict(db.commit(step).await);

    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);
    let again = db.claim_jobs("w2", 10, HOUR, at(100)).await.unwrap();
    assert_eq!(claim_ids(&again), vec![ingest.jobs[0].id]);
}

/// `retry_job` releases the lease, counts the attempt, keeps the error and delays the job.
pub async fn jobs_retry_counts_attempts_and_delays<B: Backend>(db: Arc<B>) {
    let j = job("place_supplier_order", at(0), None);
    db.commit(ChangeSet {
        jobs: vec![j.clone()],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    let first = db.claim_jobs("w", 1, Duration::days(1), at(10)).await.unwrap();
    assert_eq!(first[0].attempts, 0);
    assert_eq!(first[0].last_error, None);

    db.retry_job(j.id, "supplier timed out", at(300)).await.unwrap();
    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);
    assert_eq!(db.claim_jobs("w", 1, Duration::days(1), at(299)).await.unwrap(), vec![]);
    // The day-long lease of the first claim no longer holds it.
    let second = db.claim_jobs("w", 1, Duration::days(1), at(300)).await.unwrap();
    assert_eq!(claim_ids(&second), vec![j.id]);
    assert_eq!(second[0].attempts, 1);
    assert_eq!(second[0].last_error.as_deref(), Some("supplier timed out"));
    assert_eq!(second[0].run_after, at(300));
    assert_eq!(second[0].payload, j.payload);

    db.retry_job(j.id, "rate limited", at(900)).await.unwrap();
    assert_eq!(db.claim_jobs("w", 1, HOUR, at(899)).await.unwrap(), vec![]);
    let third = db.claim_jobs("w", 1, HOUR, at(900)).await.unwrap();
    assert_eq!(third[0].attempts, 2);
    assert_eq!(third[0].last_error.as_deref(), Some("rate limited"));
}

/// A buried job is never claimed again, is not pending, and is listed newest first.
pub async fn jobs_bury_removes_from_claiming<B: Backend>(db: Arc<B>) {
    let jobs: Vec<_> = (0..3).map(|_| job("place_supplier_order", at(0), None)).collect();
    db.commit(ChangeSet {
        jobs: jobs.clone(),
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(
        db.claim_jobs("w", 10, Duration::seconds(5), at(1)).await.unwrap().len(),
        3
    );
    db.bury_job(jobs[0].id, "bad payload").await.unwrap();
    db.bury_job(jobs[1].id, "gave up after 8 attempts").await.unwrap();

    assert_eq!(db.count_pending_jobs().await.unwrap(), 1);
    let claimed = db.claim_jobs("w", 10, HOUR, at(100_000)).await.unwrap();
    assert_eq!(claim_ids(&claimed), vec![jobs[2].id]);

    let buried = db.list_buried_jobs(10).await.unwrap();
    assert_eq!(claim_ids(&buried), vec![jobs[1].id, jobs[0].id]);
    assert_eq!(buried[0].last_error.as_deref(), Some("gave up after 8 attempts"));
    assert_eq!(buried[1].last_error.as_deref(), Some("bad payload"));
    assert_eq!(buried[1].kind, jobs[0].kind);
    assert_eq!(buried[1].payload, jobs[0].payload);
    assert_eq!(claim_ids(&db.list_buried_jobs(1).await.unwrap()), vec![jobs[1].id]);
}

/// Retrying or burying a job that does not exist is `NotFound`.
pub async fn jobs_unknown_id_is_not_found<B: Backend>(db: Arc<B>) {
    assert_not_found(db.retry_job(JobId::new(), "boom", at(0)).await);
    assert_not_found(db.bury_job(JobId::new(), "boom").await);
    assert_eq!(db.count_pending_jobs().await.unwrap(), 0);
    assert_eq!(db.list_buried_jobs(10).await.unwrap(), vec![]);
}

/// Pending = waiting or leased, not buried, not finished.
pub async fn jobs_count_pending<B: Backend>(db: Arc<B>) {
    assert_eq!(db.count_pending_jobs().await.unwrap(), 0);
    let jobs: Vec<_> = (0..4).map(|i| job("sync_tracking", at(i), None)).collect();
    db.commit(ChangeSet {
        jobs: jobs.clone(),
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.count_pending_jobs().await.unwrap(), 4);
    let claimed = db.claim_jobs("w", 2, HOUR, at(10)).await.unwrap();
    assert_eq!(claim_ids(&claimed), vec![jobs[0].id, jobs[1].id]);
    assert_eq!(db.count_pending_jobs().await.unwrap(), 4);
    db.commit(ChangeSet {
        finished_jobs: vec![jobs[0].id],
        ..ChangeSet::default()
    })
    .await
    .unwrap();
    assert_eq!(db.count_pending_jobs().await.unwrap(), 3);
    db.bury_job(jobs[1].id, "no").await.unwrap();
    assert_eq!(db.count_pending_jobs().await.unwrap(), 2);
    db.retry_job(jobs[2].id, "later", at(50)).await.unwrap();
    assert_eq!(db.count_pending_jobs().await.unwrap(), 2);
}

/// `replace_store_token_hash` moves the store to the new hash alone (the old one finds
/// nothing, name, settings and connection stay); an unknown store is `NotFound`, another
/// store's hash is `Conflict` and changes nothing.
pub async fn stores_replace_token_hash<B: Backend>(db: Arc<B>) {
    let record = seed_store(&*db).await;
    let other = seed_store(&*db).await;
    db.replace_store_token_hash(record.store.id, "a-new-token-hash")
        .await
        .unwrap();
    let mut expected = record.clone();
    expected.token_hash = "a-new-token-hash".into();
    assert_eq!(db.get_store(record.store.id).await.unwrap(), Some(expected.clone()));
    assert_eq!(
        db.store_by_token_hash("a-new-token-hash").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(db.store_by_token_hash(&record.token_hash).await.unwrap(), None);

    assert_not_found(db.replace_store_token_hash(StoreId::new(), "unused-hash").await);
    assert_eq!(db.store_by_token_hash("unused-hash").await.unwrap(), None);
    assert_conflict(db.replace_store_token_hash(record.store.id, &other.token_hash).await);
    assert_eq!(db.get_store(record.store.id).await.unwrap(), Some(expected));
    assert_eq!(db.store_by_token_hash(&other.token_hash).await.unwrap(), Some(other));
}

// ---------------------------------------------------------------------------------------------
// Order facts: the dashboard's metrics over time
// ---------------------------------------------------------------------------------------------

/// A day's sums with every count but the orders at zero.
fn metrics_of(day: time::Date, currency: &str, orders: u64) -> dropline_app::metrics::DailyMetrics {
    dropline_app::metrics::DailyMetrics {
        day,
        currency: dropline_domain::money::Currency::parse(currency).unwrap(),
        orders,
        processed: 0,
        processing_seconds: 0,
        delivered: 0,
        shipping_seconds: 0,
        refunded: 0,
        disputed: 0,
        fulfillment_cost_minor: 0,
        fulfillment_costed: 0,
    }
}

/// The first request to a supplier sent `after` the order's receipt.
fn placed_with_supplier(order: &mut Order, supplier_id: SupplierId, after: Duration) {
    let mut supplier_order = supplier_order_for(order, supplier_id);
    supplier_order.placement.submitted_at = Some(order.received_at + after);
    order.supplier_orders.push(supplier_order);
}

/// The facts of every order are summed per UTC day of placement and currency (by day, then
/// currency), for one store or for all, over `[from, to)`; a day without orders has no row.
pub async fn daily_metrics_sum_order_facts_per_day<B: Backend>(db: Arc<B>) {
    use dropline_domain::money::{Currency, Money};
    use dropline_domain::state::PaymentState;
    use time::macros::date;
    const DAY: i64 = 86_400;
    let store = seed_store(&*db).await.store.id;
    let other = seed_store(&*db).await.store.id;
    let supplier = SupplierId::new();

    // 2026-01-01: placed at the very start of the range, placed with the supplier 2 h after
    // receipt, charged 14.50, shipped at 05:00 and delivered 3 days later.
    let mut delivered = OrderBuilder::new(store)
        .placed_at(at(0))
        .state(OrderState::Delivered)
        .build();
    placed_with_supplier(&mut delivered, supplier, HOUR * 2);
    delivered.supplier_orders[0].actual_cost = Some(usd_minor(1450));
    delivered.supplier_orders[0].shipments = vec![delivered_shipment(
        &tracking_number(),
        Some(at(5 * 3600)),
        at(5 * 3600 + 3 * DAY),
    )];
    // Refunded in full, never placed; placed at the day's last second.
    let mut refunded = OrderBuilder::new(store).placed_at(at(DAY - 1)).build();
    refunded.payment = PaymentState::Refunded;
    // Refunded in part, placed with the supplier 4 h after receipt (expected cost 15.00),
    // its parcel still moving.
    let mut moving = OrderBuilder::new(store)
        .placed_at(at(12 * 3600))
        .state(OrderState::Shipped)
        .build();
    moving.payment = PaymentState::PartiallyRefunded;
    placed_with_supplier(&mut moving, supplier, HOUR * 4);
    moving.supplier_orders[0].shipments = vec![shipment(&tracking_number(), Some(at(DAY)))];
    // In euros, with a supplier order in euros.
    let eur = Currency::parse("EUR").unwrap();
    let mut in_euros = OrderBuilder::new(store).placed_at(at(6 * 3600)).build();
    in_euros.currency = eur;
    in_euros.subtotal = Money::new(4500, eur);
    in_euros.shipping_total = Money::new(500, eur);
    in_euros.total = Money::new(5000, eur);
    placed_with_supplier(&mut in_euros, supplier, HOUR);
    in_euros.supplier_orders[0].expected_cost = Money::new(900, eur);
    // 2026-01-03: one order, nothing done yet. Outside the range: just before and at its end.
    let third_day = OrderBuilder::new(store).placed_at(at(2 * DAY + 10 * 3600)).build();
    let before = OrderBuilder::new(store).placed_at(at(-1)).build();
    let at_the_end = OrderBuilder::new(store).placed_at(at(3 * DAY)).build();
    // Another store's order on the first day.
    let theirs = OrderBuilder::new(other).placed_at(at(3600)).build();
    for order in [
        &delivered,
        &refunded,
        &moving,
        &in_euros,
        &third_day,
        &before,
        &at_the_end,
        &theirs,
    ] {
        seed_order(&*db, order.clone()).await;
    }

    let first = date!(2026 - 01 - 01);
    let euros = dropline_app::metrics::DailyMetrics {
        processed: 1,
        processing_seconds: 3600,
        fulfillment_cost_minor: 900,
        fulfillment_costed: 1,
        ..metrics_of(first, "EUR", 1)
    };
    let dollars = dropline_app::metrics::DailyMetrics {
        processed: 2,
        processing_seconds: 2 * 3600 + 4 * 3600,
        delivered: 1,
        shipping_seconds: 3 * DAY,
        refunded: 2,
        fulfillment_cost_minor: 1450 + 1500,
        fulfillment_costed: 2,
        ..metrics_of(first, "USD", 3)
    };
    let third = metrics_of(date!(2026 - 01 - 03), "USD", 1);
    assert_eq!(
        db.daily_metrics(Some(store), at(0), at(3 * DAY)).await.unwrap(),
        vec![euros.clone(), dollars.clone(), third.clone()]
    );
    assert_eq!(
        db.daily_metrics(None, at(0), at(3 * DAY)).await.unwrap(),
        vec![
            euros,
            dropline_app::metrics::DailyMetrics { orders: 4, ..dollars },
            third
        ]
    );
    assert_eq!(
        db.daily_metrics(Some(other), at(0), at(3 * DAY)).await.unwrap(),
        vec![metrics_of(first, "USD", 1)]
    );
    // A day with nothing, and the day before the range.
    assert_eq!(
        db.daily_metrics(Some(store), at(DAY), at(2 * DAY)).await.unwrap(),
        vec![]
    );
    assert_eq!(
        db.daily_metrics(Some(store), at(-DAY), at(0)).await.unwrap(),
        vec![metrics_of(date!(2025 - 12 - 31), "USD", 1)]
    );
}

/// An order's facts follow its writes: placed with a supplier, delivered, refunded, moved to
/// another day; a refused write (stale or duplicate) changes none of them.
pub async fn daily_metrics_follow_order_updates<B: Backend>(db: Arc<B>) {
    use dropline_domain::state::PaymentState;
    use time::macros::date;
    const DAY: i64 = 86_400;
    let store = seed_store(&*db).await.store.id;
    let (first, second) = (date!(2026 - 01 - 01), date!(2026 - 01 - 02));
    let metrics = || db.daily_metrics(Some(store), at(0), at(3 * DAY));
    let order = seed_order(&*db, OrderBuilder::new(store).placed_at(at(10 * 3600)).build()).await;
    assert_eq!(metrics().await.unwrap(), vec![metrics_of(first, "USD", 1)]);

    // Placed with a supplier an hour after receipt, at a charged 10.00.
    let mut placed = order.clone();
    placed.state = OrderState::InFulfillment;
    placed_with_supplier(&mut placed, SupplierId::new(), HOUR);
    placed.supplier_orders[0].actual_cost = Some(usd_minor(1000));
    db.commit(update_change_set(&placed)).await.unwrap();
    placed.version += 1;
    let processed = dropline_app::metrics::DailyMetrics {
        processed: 1,
        processing_seconds: 3600,
        fulfillment_cost_minor: 1000,
        fulfillment_costed: 1,
        ..metrics_of(first, "USD", 1)
    };
    assert_eq!(metrics().await.unwrap(), vec![processed.clone()]);

    // Shipped on day two, delivered two days later, then refunded.
    let mut done = placed.clone();
    done.state = OrderState::Delivered;
    done.payment = PaymentState::Refunded;
    done.supplier_orders[0].shipments = vec![delivered_shipment(&tracking_number(), Some(at(DAY)), at(3 * DAY))];
    db.commit(update_change_set(&done)).await.unwrap();
    done.version += 1;
    let delivered = dropline_app::metrics::DailyMetrics {
        delivered: 1,
        shipping_seconds: 2 * DAY,
        refunded: 1,
        ..processed.clone()
    };
    assert_eq!(metrics().await.unwrap(), vec![delivered.clone()]);

    // A stale write (of the version before) is refused and changes no fact.
    let mut stale = placed.clone();
    stale.payment = PaymentState::Paid;
    stale.supplier_orders.clear();
    assert_conflict(db.commit(update_change_set(&stale)).await);
    assert_eq!(metrics().await.unwrap(), vec![delivered.clone()]);

    // A refused insert (the external id is taken) leaves no facts behind.
    let duplicate = OrderBuilder::new(store)
        .external_id(&order.external_id)
        .placed_at(at(11 * 3600))
        .build();
    assert_conflict(db.commit(insert_change_set(&duplicate)).await);
    assert_eq!(metrics().await.unwrap(), vec![delivered.clone()]);

    // The storefront corrects the placing time: the order moves to the next day, the first
    // day is left with nothing.
    let mut moved = done.clone();
    moved.placed_at = at(DAY + 60);
    db.commit(update_change_set(&moved)).await.unwrap();
    assert_eq!(
        metrics().await.unwrap(),
        vec![dropline_app::metrics::DailyMetrics {
            day: second,
            ..delivered
        }]
    );
    assert_eq!(db.daily_metrics(Some(store), at(0), at(DAY)).await.unwrap(), vec![]);
}

/// Orders with at least one open exception are counted once each, per store or for all;
/// resolved exceptions do not count, and the count follows order writes.
pub async fn orders_with_open_exceptions_are_counted<B: Backend>(db: Arc<B>) {
    let s1 = seed_store(&*db).await.store.id;
    let s2 = seed_store(&*db).await.store.id;
    assert_eq!(db.count_orders_with_open_exceptions(None).await.unwrap(), 0);
    let mut resolved = exception(ExceptionKind::NoFirstScan, at(30));
    resolved.resolved_at = Some(at(40));
    let two_open = seed_order(
        &*db,
        OrderBuilder::new(s1)
            .exception(exception(ExceptionKind::ShippingLate, at(10)))
            .exception(exception(ExceptionKind::StuckInCustoms, at(20)))
            .build(),
    )
    .await;
    seed_order(&*db, OrderBuilder::new(s1).exception(resolved).build()).await;
    seed_order(
        &*db,
        OrderBuilder::new(s1)
            .exception(exception(ExceptionKind::DeliveryProblem, at(10)))
            .build(),
    )
    .await;
    seed_order(&*db, OrderBuilder::new(s1).build()).await;
    seed_order(
        &*db,
        OrderBuilder::new(s2)
            .exception(exception(ExceptionKind::ShippingLate, at(10)))
            .build(),
    )
    .await;
    assert_eq!(db.count_orders_with_open_exceptions(Some(s1)).await.unwrap(), 2);
    assert_eq!(db.count_orders_with_open_exceptions(Some(s2)).await.unwrap(), 1);
    assert_eq!(db.count_orders_with_open_exceptions(None).await.unwrap(), 3);
    assert_eq!(
        db.count_orders_with_open_exceptions(Some(StoreId::new()))
            .await
            .unwrap(),
        0
    );

    let mut cleared = two_open.clone();
    for exception in &mut cleared.exceptions {
        exception.resolved_at = Some(at(50));
    }
    db.commit(update_change_set(&cleared)).await.unwrap();
    assert_eq!(db.count_orders_with_open_exceptions(Some(s1)).await.unwrap(), 1);
    assert_eq!(db.count_orders_with_open_exceptions(None).await.unwrap(), 2);
}
