//! The database file outlives the process: reopening keeps every write, and migrations run
//! once however often the file is opened or migrated.

use dropline_app::ports::{JobQueue, Store, StoreError};
use dropline_domain::catalog::StoreConnection;
use dropline_store_sqlite::{SqliteOptions, SqliteStore, Synchronous, migrate};
use dropline_store_tests::builders::{
    OrderBuilder, at, connection, insert_change_set, platform_product, product, sku, store_record,
};
use rusqlite::Connection;

fn applied_migrations(path: &std::path::Path) -> Vec<(i64, String)> {
    let conn = Connection::open(path).expect("the file opens");
    let mut statement = conn
        .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
        .expect("schema_migrations exists");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("the query runs")
        .collect::<Result<_, _>>()
        .expect("rows decode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_the_data() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // A directory that does not exist yet: the store creates it.
    let path = dir.path().join("data").join("dropline.db");
    let record = store_record();
    let order = OrderBuilder::new(record.store.id).build();
    let changes = insert_change_set(&order);
    {
        let store = SqliteStore::open(&path, SqliteOptions::default()).expect("the store opens");
        store.insert_store(record.clone()).await.expect("the store is written");
        store.commit(changes.clone()).await.expect("the order is written");
    }
    let options = SqliteOptions {
        synchronous: Synchronous::Normal,
        read_connections: 1,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(&path, options).expect("the store opens again");
    assert_eq!(store.path(), path);
    assert_eq!(store.get_store(record.store.id).await.expect("read"), Some(record));
    assert_eq!(store.get_order(order.id).await.expect("read"), Some(order.clone()));
    assert_eq!(store.timeline(order.id).await.expect("read"), changes.timeline);
    let claimed = store
        .claim_jobs("w", 10, time::Duration::minutes(1), at(10))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, changes.jobs[0].id);
    drop(store);

    let conn = Connection::open(&path).expect("the file opens");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("pragma");
    assert_eq!(mode, "wal");
}

#[test]
fn migrations_are_applied_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("dropline.db");
    assert_eq!(
        migrate(&path).expect("first migration"),
        vec!["0001_initial".to_string(), "0002_storefront_connections".to_string()]
    );
    assert_eq!(migrate(&path).expect("second migration"), Vec::<String>::new());
    drop(SqliteStore::open(&path, SqliteOptions::default()).expect("the store opens"));
    drop(SqliteStore::open(&path, SqliteOptions::default()).expect("the store opens again"));
    assert_eq!(migrate(&path).expect("third migration"), Vec::<String>::new());
    assert_eq!(
        applied_migrations(&path),
        vec![(1, "initial".to_string()), (2, "storefront_connections".to_string())]
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("dropline.db");
    migrate(&path).expect("migration");
    Connection::open(&path)
        .expect("the file opens")
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from_the_future', 0)",
            [],
        )
        .expect("insert");
    match SqliteStore::open(&path, SqliteOptions::default()) {
        Err(StoreError::Other(message)) => assert!(message.contains("9999"), "{message}"),
        other => panic!("expected the newer schema to be refused, got {other:?}"),
    }
}

#[test]
fn an_in_memory_database_is_refused() {
    let refused = SqliteStore::open(std::path::Path::new(":memory:"), SqliteOptions::default());
    assert!(matches!(refused, Err(StoreError::Other(_))), "{refused:?}");
}

#[tokio::test]
async fn references_to_missing_rows_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("dropline.db"), SqliteOptions::default()).expect("the store opens");
    // The store of this order was never inserted.
    let order = OrderBuilder::new(dropline_domain::ids::StoreId::new()).build();
    let refused = store.commit(insert_change_set(&order)).await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
    assert_eq!(store.get_order(order.id).await.expect("read"), None);
}

/// A database made by the first schema, with a store and a product in it, upgrades in place:
/// the store reads back unconnected, the product without storefront ids, and both take the
/// new fields from then on.
#[tokio::test]
async fn upgrading_from_the_first_schema_keeps_the_data() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("dropline.db");
    let mut record = store_record();
    record.connection = StoreConnection::default();
    let old_product = product(record.store.id, &[&sku(), &sku()]);
    {
        let conn = Connection::open(&path).expect("the file opens");
        conn.execute_batch(include_str!("../migrations/0001_initial.sql"))
            .expect("the first schema");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL,
                 CONSTRAINT schema_migrations_pkey PRIMARY KEY (version));
             INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'initial', 0);",
        )
        .expect("the first migration is recorded");
        let store = &record.store;
        let doc = serde_json::json!({ "address": store.address, "settings": store.settings }).to_string();
        conn.execute(
            "INSERT INTO stores (id, name, platform, currency, token_hash, doc, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                store.id.0,
                store.name,
                store.platform.as_str(),
                store.currency.code(),
                record.token_hash,
                doc,
                record.created_at.unix_timestamp() * 1_000_000,
            ],
        )
        .expect("a store of the first schema");
        conn.execute(
            "INSERT INTO products (id, store_id, title) VALUES (?1, ?2, ?3)",
            rusqlite::params![old_product.id.0, store.id.0, old_product.title],
        )
        .expect("a product of the first schema");
        for (position, variant) in old_product.variants.iter().enumerate() {
            conn.execute(
                "INSERT INTO variants (id, product_id, store_id, position, sku, title, price_minor, currency)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    variant.id.0,
                    old_product.id.0,
                    store.id.0,
                    position as i64,
                    variant.sku,
                    variant.title,
                    variant.price.minor,
                    variant.price.currency.code(),
                ],
            )
            .expect("a variant of the first schema");
        }
    }

    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("the store opens and upgrades");
    assert_eq!(
        store.get_store(record.store.id).await.expect("read"),
        Some(record.clone())
    );
    assert_eq!(
        store.get_product(old_product.id).await.expect("read"),
        Some(old_product.clone())
    );

    let connected = connection();
    store
        .update_store_connection(record.store.id, connected.clone())
        .await
        .expect("the store takes a connection");
    assert_eq!(
        store
            .get_store(record.store.id)
            .await
            .expect("read")
            .map(|r| r.connection),
        Some(connected)
    );
    let pulled = platform_product(record.store.id, "prod-1", &[("var-1", &sku())]);
    let import = store
        .import_products(record.store.id, vec![pulled.clone()])
        .await
        .expect("an import");
    assert_eq!((import.products_created, import.variants_created), (1, 1));
    assert_eq!(store.get_product(pulled.id).await.expect("read"), Some(pulled));
    assert_eq!(
        store.get_product(old_product.id).await.expect("read"),
        Some(old_product)
    );
}
