//! Orders stored before the `order_facts` table existed get their facts when the store is
//! opened (or migrated): in batches, from their documents, once, skipping an unreadable one.

use dropline_app::metrics::DailyMetrics;
use dropline_app::ports::{ChangeSet, OrderWrite, Store};
use dropline_domain::ids::SupplierId;
use dropline_domain::order::Order;
use dropline_store_sqlite::{SqliteOptions, SqliteStore, Synchronous, migrate};
use dropline_store_tests::builders::{OrderBuilder, at, store_record, supplier_order_for};
use rusqlite::Connection;

const DAY: i64 = 86_400;

fn options() -> SqliteOptions {
    SqliteOptions {
        synchronous: Synchronous::Normal,
        read_connections: 1,
        ..SqliteOptions::default()
    }
}

async fn metrics(store: &SqliteStore, store_id: dropline_domain::ids::StoreId) -> Vec<DailyMetrics> {
    store
        .daily_metrics(Some(store_id), at(0), at(10 * DAY))
        .await
        .expect("the metrics read")
}

fn pending_backfills(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .expect("the file opens")
        .query_row("SELECT count(*) FROM pending_backfills", [], |row| row.get(0))
        .expect("pending_backfills exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_without_facts_get_them_when_the_store_opens() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("dropline.db");
    let record = store_record();
    let store_id = record.store.id;
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

    let written = {
        let store = SqliteStore::open(&path, options()).expect("the store opens");
        store.insert_store(record.clone()).await.expect("the store is written");
        store
            .commit(ChangeSet {
                orders: orders.iter().cloned().map(OrderWrite::Insert).collect(),
                ..ChangeSet::default()
            })
            .await
            .expect("the orders are written");
        metrics(&store, store_id).await
    };
    assert_eq!(written.len(), 3, "{written:?}");
    assert_eq!(written.iter().map(|day| day.orders).sum::<u64>(), 1_002);
    assert_eq!((written[0].processed, written[0].processing_seconds), (1, 3 * 3600));
    assert_eq!(pending_backfills(&path), 0);

    // As a database of before the facts: none of them, the backfill pending.
    {
        let conn = Connection::open(&path).expect("the file opens");
        conn.execute_batch("DELETE FROM order_facts; INSERT INTO pending_backfills (name) VALUES ('order_facts');")
            .expect("the facts are gone");
        conn.execute("UPDATE orders SET doc = '{}' WHERE id = ?1", [unreadable.id.0])
            .expect("one document broken");
    }
    let store = SqliteStore::open(&path, options()).expect("the store opens and backfills");
    assert_eq!(metrics(&store, store_id).await, written[..2].to_vec());
    assert_eq!(pending_backfills(&path), 0);
    drop(store);

    // Done once: migrating again writes nothing (the deleted facts stay deleted).
    Connection::open(&path)
        .expect("the file opens")
        .execute("DELETE FROM order_facts WHERE order_id = ?1", [orders[0].id.0])
        .expect("one row gone");
    assert!(migrate(&path).expect("migrate").is_empty());
    let store = SqliteStore::open(&path, options()).expect("the store opens");
    let after = metrics(&store, store_id).await;
    assert_eq!(after[0].orders, written[0].orders - 1);
}
