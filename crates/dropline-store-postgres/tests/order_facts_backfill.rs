//! Orders stored before the `order_facts` table existed get their facts when the store is
//! migrated: in batches, from their documents, once, skipping an unreadable one. Runs against
//! the database named by `DROPLINE_TEST_POSTGRES_URL`; skipped without it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dropline_app::ports::{ChangeSet, OrderWrite, Store};
use dropline_domain::ids::SupplierId;
use dropline_domain::order::Order;
use dropline_store_postgres::PostgresSettings;
use dropline_store_postgres::scratch::open_scratch_store;
use dropline_store_tests::builders::{OrderBuilder, at, store_record, supplier_order_for};

const DAY: i64 = 86_400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_without_facts_get_them_when_the_store_migrates() {
    let Some(url) = std::env::var("DROPLINE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        println!("{}", dropline_store_tests::SKIPPED);
        return;
    };
    let settings = PostgresSettings {
        max_connections: 3,
        ..PostgresSettings::default()
    };
    let (store, _guard) = open_scratch_store(&url, settings).await.expect("a scratch store");
    let record = store_record();
    let store_id = record.store.id;
    store.insert_store(record.clone()).await.unwrap();
    // More orders than one backfill batch, over two days; one placed with a supplier.
    let mut orders: Vec<Order> = (0..1_001_i64)
        .map(|i| OrderBuilder::new(store_id).placed_at(at(i * 100)).build())
        .collect();
    let supplier_order = supplier_order_for(&orders[3], SupplierId::new());
    orders[3].supplier_orders.push(supplier_order);
    orders[3].supplier_orders[0].placement.submitted_at = Some(orders[3].received_at + time::Duration::hours(3));
    // On a day of its own, with a document that will not read any more.
    let unreadable = OrderBuilder::new(store_id).placed_at(at(5 * DAY)).build();
    orders.push(unreadable.clone());
    store
        .commit(ChangeSet {
            orders: orders.iter().cloned().map(OrderWrite::Insert).collect(),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let metrics = || store.daily_metrics(Some(store_id), at(0), at(10 * DAY));
    let written = metrics().await.unwrap();
    assert_eq!(written.len(), 3, "{written:?}");
    assert_eq!(written.iter().map(|day| day.orders).sum::<u64>(), 1_002);
    assert_eq!((written[0].processed, written[0].processing_seconds), (1, 3 * 3600));

    // As a database of before the facts: none of them, the backfill pending.
    sqlx::raw_sql("DELETE FROM order_facts; INSERT INTO pending_backfills (name) VALUES ('order_facts');")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET doc = '{}'::jsonb WHERE id = $1")
        .bind(unreadable.id.0)
        .execute(store.pool())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert_eq!(metrics().await.unwrap(), written[..2].to_vec());
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM pending_backfills")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(pending, 0);

    // Done once: migrating again writes nothing (a deleted row stays deleted).
    sqlx::query("DELETE FROM order_facts WHERE order_id = $1")
        .bind(orders[0].id.0)
        .execute(store.pool())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert_eq!(metrics().await.unwrap()[0].orders, written[0].orders - 1);
    store.close().await;
}
