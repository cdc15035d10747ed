//! Group commit with webhook deliveries: a redelivery that waits in a batch with other change
//! sets is refused alone, and the others of its batch land. A message skipped for its dedupe
//! key is no refusal: its batch is not run again.

use dropline_app::ports::{ChangeSet, DeliveryRecord, Store, StoreError};
use dropline_store_sqlite::{SqliteOptions, SqliteStore};
use dropline_store_tests::builders::{
    OrderBuilder, dedupe_key, delivered_change_set, delivery, insert_change_set, keyed_message, store_record,
};
use rusqlite::Connection;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redelivery_is_refused_alone_in_its_batch() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("dropline.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("the store opens");
    let record = store_record();
    store.insert_store(record.clone()).await.expect("the store is written");
    let shop = record.store.id;
    let recorded = delivery(shop);
    let existing = OrderBuilder::new(shop).build();
    store
        .commit(delivered_change_set(&existing, &recorded))
        .await
        .expect("the first delivery is written");

    // Another connection holds the write lock: the writer waits on its first batch while
    // the next change sets queue up behind it.
    let blocker = Connection::open(&path).expect("the file opens");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("the write lock");
    let before = store.stats();
    let first = OrderBuilder::new(shop).build();
    let first_commit = tokio::spawn({
        let store = store.clone();
        let changes = delivered_change_set(&first, &delivery(shop));
        async move { store.commit(changes).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let good_a = OrderBuilder::new(shop).build();
    let redelivered_order = OrderBuilder::new(shop).build();
    let good_b = OrderBuilder::new(shop).build();
    let deliveries: Vec<DeliveryRecord> = vec![delivery(shop), recorded.clone(), delivery(shop)];
    let mut waiting = Vec::new();
    for (order, record) in [&good_a, &redelivered_order, &good_b].into_iter().zip(&deliveries) {
        let store = store.clone();
        let changes = delivered_change_set(order, record);
        waiting.push(tokio::spawn(async move { store.commit(changes).await }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    blocker.execute_batch("ROLLBACK").expect("the lock is released");

    first_commit.await.expect("joined").expect("the first change set lands");
    let mut results = Vec::new();
    for task in waiting {
        results.push(task.await.expect("joined"));
    }
    assert_eq!(results[0], Ok(()));
    assert!(
        matches!(&results[1], Err(StoreError::Conflict(m)) if m.contains(&recorded.delivery_id)),
        "{:?}",
        results[1]
    );
    assert_eq!(results[2], Ok(()));

    let after = store.stats();
    assert_eq!(
        after.batches - before.batches,
        2,
        "the three waiting change sets share one batch"
    );
    assert_eq!(after.refused_batches - before.refused_batches, 1);
    assert_eq!(store.get_order(good_a.id).await.expect("read"), Some(good_a));
    assert_eq!(store.get_order(good_b.id).await.expect("read"), Some(good_b));
    assert_eq!(store.get_order(redelivered_order.id).await.expect("read"), None);
    assert_eq!(store.timeline(redelivered_order.id).await.expect("read"), vec![]);
    for record in [&deliveries[0], &deliveries[2]] {
        assert!(store.delivery_seen(shop, &record.delivery_id).await.expect("read"));
    }
}

#[tokio::test]
async fn a_skipped_message_does_not_refuse_its_batch() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("dropline.db"), SqliteOptions::default()).expect("the store opens");
    let record = store_record();
    store.insert_store(record.clone()).await.expect("the store is written");
    let order = OrderBuilder::new(record.store.id).build();
    store
        .commit(insert_change_set(&order))
        .await
        .expect("the order is written");
    let key = dedupe_key();
    let first = keyed_message(&order, "shipped", &key);
    let before = store.stats();
    for message in [first.clone(), keyed_message(&order, "shipped", &key)] {
        store
            .commit(ChangeSet {
                messages: vec![message.clone(), keyed_message(&order, "shipped", &key)],
                ..ChangeSet::default()
            })
            .await
            .expect("a repeated key is skipped, not refused");
    }
    assert_eq!(store.stats().refused_batches, before.refused_batches);
    assert_eq!(store.get_message(first.id).await.expect("read"), Some(first));
}
