//! The database file outlives the process: reopening keeps every write, and migrations run
//! once however often the file is opened or migrated.

use dropline_app::ports::{
    ChangeSet, ExceptionEntry, ExceptionFilter, JobQueue, LaneSample, Message, MessageState, ShipmentRef, Store,
    StoreError,
};
use dropline_domain::catalog::StoreConnection;
use dropline_domain::order::ExceptionKind;
use dropline_store_sqlite::{SqliteOptions, SqliteStore, Synchronous, migrate};
use dropline_store_tests::builders::{
    OrderBuilder, at, connection, delivered_shipment, digest_message, exception, insert_change_set, platform_product,
    product, sent_attempt, shipment, sku, store_record, tracking_number, tracking_token, update_change_set, updated,
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
        vec![
            "0001_initial".to_string(),
            "0002_storefront_connections".to_string(),
            "0003_tracking_exceptions_outbox".to_string(),
            "0004_accounts".to_string(),
            "0005_order_search".to_string(),
            "0006_order_facts".to_string(),
            "0007_payouts".to_string(),
            "0008_exchange_rates".to_string(),
            "0009_inventory".to_string(),
        ]
    );
    assert_eq!(migrate(&path).expect("second migration"), Vec::<String>::new());
    drop(SqliteStore::open(&path, SqliteOptions::default()).expect("the store opens"));
    drop(SqliteStore::open(&path, SqliteOptions::default()).expect("the store opens again"));
    assert_eq!(migrate(&path).expect("third migration"), Vec::<String>::new());
    assert_eq!(
        applied_migrations(&path),
        vec![
            (1, "initial".to_string()),
            (2, "storefront_connections".to_string()),
            (3, "tracking_exceptions_outbox".to_string()),
            (4, "accounts".to_string()),
            (5, "order_search".to_string()),
            (6, "order_facts".to_string()),
            (7, "payouts".to_string()),
            (8, "exchange_rates".to_string()),
            (9, "inventory".to_string()),
        ]
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

/// A database of the second schema, with an order that has parcels, exceptions and a tracking
/// token in its document and a message of the old outbox, upgrades in place: the parcels, the
/// open exceptions and the token are found from the backfilled tables (document times cut to
/// microseconds), the old message reads back, and new writes use the new columns.
#[tokio::test]
async fn upgrading_from_the_second_schema_backfills_parcels_and_exceptions() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("dropline.db");
    let record = store_record();
    let supplier_id = dropline_domain::ids::SupplierId::new();
    let (moving, arrived) = (tracking_number(), tracking_number());
    // Sub-microsecond digits, as a document may hold them.
    let shipped = at(100) + time::Duration::nanoseconds(123_456_789);
    let token = tracking_token();
    let mut resolved = exception(ExceptionKind::NoFirstScan, at(30));
    resolved.resolved_at = Some(at(40));
    let order = OrderBuilder::new(record.store.id)
        .ship_to_country("NL")
        .tracking_token(&token)
        .shipped(
            supplier_id,
            vec![
                shipment(&moving, Some(at(90))),
                delivered_shipment(&arrived, Some(shipped), at(500)),
            ],
        )
        .exception(resolved)
        .exception(exception(
            ExceptionKind::ShippingLate,
            at(50) + time::Duration::nanoseconds(999),
        ))
        .build();
    let old_message = Message {
        recipient: Some("ada@example.com".into()),
        ..dropline_store_tests::builders::message(&order, "order_received")
    };
    {
        let conn = Connection::open(&path).expect("the file opens");
        conn.execute_batch(include_str!("../migrations/0001_initial.sql"))
            .expect("the first schema");
        conn.execute_batch(include_str!("../migrations/0002_storefront_connections.sql"))
            .expect("the second schema");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL,
                 CONSTRAINT schema_migrations_pkey PRIMARY KEY (version));
             INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'initial', 0), (2, 'storefront_connections', 0);",
        )
        .expect("the migrations are recorded");
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
                0,
            ],
        )
        .expect("a store of the second schema");
        conn.execute(
            "INSERT INTO orders (id, store_id, external_id, number, state, payment_state, placed_at, received_at,
                                 updated_at, version, customer_email, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0, 0, NULL, ?7)",
            rusqlite::params![
                order.id.0,
                store.id.0,
                order.external_id,
                order.number,
                order.state.as_str(),
                order.payment.as_str(),
                serde_json::to_string(&order).expect("the order as JSON"),
            ],
        )
        .expect("an order of the second schema");
        conn.execute(
            "INSERT INTO supplier_orders (id, order_id, store_id, supplier_id, status, request_status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                order.supplier_orders[0].id.0,
                order.id.0,
                store.id.0,
                supplier_id.0,
                order.supplier_orders[0].state.status.as_str(),
                order.supplier_orders[0].state.request_status.as_str(),
            ],
        )
        .expect("a supplier order of the second schema");
        conn.execute(
            "INSERT INTO messages (id, store_id, order_id, template, recipient, data, state, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7)",
            rusqlite::params![
                old_message.id.0,
                store.id.0,
                order.id.0,
                old_message.template,
                old_message.recipient,
                old_message.data.to_string(),
                old_message.created_at.unix_timestamp() * 1_000_000,
            ],
        )
        .expect("a message of the second schema");
    }

    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("the store opens and upgrades");
    assert_eq!(applied_migrations(&path).len(), 9);
    // The customer search column is filled from the stored orders.
    let found = store
        .list_orders(&dropline_app::ports::OrderFilter {
            search: Some("LOVELACE".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("a search");
    assert_eq!(found.iter().map(|o| o.id).collect::<Vec<_>>(), vec![order.id]);
    assert_eq!(store.get_order(order.id).await.expect("read"), Some(order.clone()));
    assert_eq!(
        store.order_by_tracking_token(&token).await.expect("read"),
        Some(order.clone())
    );
    let parcel = |index: usize| ShipmentRef {
        order_id: order.id,
        store_id: record.store.id,
        shipment_id: order.supplier_orders[0].shipments[index].id,
    };
    assert_eq!(
        store.shipments_by_tracking_number(&moving).await.expect("read"),
        vec![parcel(0)]
    );
    assert_eq!(
        store.shipments_by_tracking_number(&arrived).await.expect("read"),
        vec![parcel(1)]
    );
    assert_eq!(
        store.lane_samples(record.store.id, at(0)).await.expect("read"),
        vec![LaneSample {
            supplier_id,
            country: "NL".into(),
            shipped_at: at(100) + time::Duration::microseconds(123_456),
            delivered_at: at(500),
        }]
    );
    assert_eq!(
        store.list_exceptions(&ExceptionFilter::default()).await.expect("read"),
        vec![ExceptionEntry {
            order_id: order.id,
            store_id: record.store.id,
            order_number: order.number.clone(),
            kind: ExceptionKind::ShippingLate,
            detail: order.exceptions[1].detail.clone(),
            suggested_action: order.exceptions[1].suggested_action,
            raised_at: at(50),
        }]
    );
    assert_eq!(
        store.get_message(old_message.id).await.expect("read"),
        Some(old_message.clone())
    );

    // New writes: a message about no order, a send attempt, an order update.
    let digest = digest_message(record.store.id);
    let success = sent_attempt(&old_message, at(600));
    store
        .commit(ChangeSet {
            messages: vec![digest.clone()],
            message_updates: vec![success.clone()],
            ..ChangeSet::default()
        })
        .await
        .expect("the new outbox takes them");
    assert_eq!(store.get_message(digest.id).await.expect("read"), Some(digest));
    let sent = store.get_message(old_message.id).await.expect("read");
    assert_eq!(sent, Some(updated(&old_message, &success)));
    assert_eq!(sent.map(|m| m.state), Some(MessageState::Sent));
    let mut changed = order.clone();
    changed.supplier_orders[0].shipments.remove(0);
    changed.exceptions.clear();
    store
        .commit(update_change_set(&changed))
        .await
        .expect("the order is updated");
    assert_eq!(store.shipments_by_tracking_number(&moving).await.expect("read"), vec![]);
    assert_eq!(
        store.shipments_by_tracking_number(&arrived).await.expect("read"),
        vec![ShipmentRef {
            shipment_id: changed.supplier_orders[0].shipments[0].id,
            ..parcel(1)
        }]
    );
    assert_eq!(
        store.list_exceptions(&ExceptionFilter::default()).await.expect("read"),
        vec![]
    );
}
