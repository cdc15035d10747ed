//! The store conformance suite, and a few PostgreSQL-only checks, against the database named
//! by `DROPLINE_TEST_POSTGRES_URL`. Without it every test prints that it was skipped and passes.
//!
//! Each test gets its own schema (`dropline_test_<uuid>`, see
//! [`dropline_store_postgres::scratch`]), created empty, reached through the pool's
//! `search_path` and migrated there; it is dropped when the test ends, so tests run in
//! parallel in one database without seeing each other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dropline_store_postgres::scratch::{ScratchSchema, open_scratch_store};
use dropline_store_postgres::{ConnectOptions, PostgresSettings, PostgresStore};
use dropline_store_tests::Fixture;

const URL_VARIABLE: &str = "DROPLINE_TEST_POSTGRES_URL";

/// A migrated store in a fresh schema, or `None` when no database is configured.
async fn postgres_fixture() -> Option<Fixture<PostgresStore>> {
    let (store, guard) = isolated_store(PostgresSettings::default()).await?;
    Some(Fixture::with_guard(store, guard))
}

async fn isolated_store(settings: PostgresSettings) -> Option<(PostgresStore, ScratchSchema)> {
    let url = std::env::var(URL_VARIABLE).ok().filter(|url| !url.is_empty())?;
    let settings = PostgresSettings {
        // Tests run in parallel against one server.
        max_connections: 5,
        ..settings
    };
    Some(open_scratch_store(&url, settings).await.expect("open a scratch store"))
}

dropline_store_tests::conformance_tests!(postgres_fixture());

/// Checks of this backend that the shared suite cannot make: that waiting change sets really
/// share a transaction, that migrating twice is harmless, that older schemas upgrade in
/// place with their data, and that a lost database is reported as `Unavailable`.
mod postgres_only {
    use super::*;
    use dropline_app::ports::{
        ChangeSet, ExceptionEntry, ExceptionFilter, LaneSample, Message, MessageState, OrderWrite, ShipmentRef, Store,
        StoreError,
    };
    use dropline_domain::catalog::StoreConnection;
    use dropline_domain::ids::SupplierId;
    use dropline_domain::order::ExceptionKind;
    use dropline_domain::state::OrderState;
    use dropline_store_tests::builders::{
        OrderBuilder, at, connection, delivered_change_set, delivered_shipment, delivery, digest_message, exception,
        insert_change_set, job, message, offer, platform_product, product, sent_attempt, shipment, sku, store_record,
        supplier, tracking_number, tracking_token, update_change_set, updated,
    };
    use sqlx::postgres::PgPoolOptions;
    use std::str::FromStr;
    use std::time::Duration;

    /// Change sets that wait while a transaction is being written go into the next one
    /// together; a refused one among them is rolled back alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn waiting_change_sets_share_one_transaction() {
        let Some((store, _guard)) = isolated_store(PostgresSettings::default()).await else {
            println!("{}", dropline_store_tests::SKIPPED);
            return;
        };
        let record = store_record();
        store.insert_store(record.clone()).await.unwrap();
        let shop = record.store.id;
        let existing = OrderBuilder::new(shop).build();
        store.commit(insert_change_set(&existing)).await.unwrap();

        // Hold the committer on its first change set: another session locks the jobs table.
        let mut blocker = store.pool().begin().await.unwrap();
        sqlx::query("LOCK TABLE jobs IN EXCLUSIVE MODE")
            .execute(&mut *blocker)
            .await
            .unwrap();
        let before = store.commit_stats();
        let first = OrderBuilder::new(shop).build();
        let first_commit = tokio::spawn({
            let store = store.clone();
            let changes = insert_change_set(&first);
            async move { store.commit(changes).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;

        // These queue up behind it: two good ones around a duplicate external id.
        let good_a = OrderBuilder::new(shop).build();
        let duplicate = OrderBuilder::new(shop).external_id(&existing.external_id).build();
        let good_b = OrderBuilder::new(shop).build();
        let mut waiting = Vec::new();
        for order in [&good_a, &duplicate, &good_b] {
            let store = store.clone();
            let changes = insert_change_set(order);
            waiting.push(tokio::spawn(async move { store.commit(changes).await }));
            // Keep the order of arrival.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        blocker.rollback().await.unwrap();

        first_commit.await.unwrap().unwrap();
        let results: Vec<Result<(), StoreError>> = {
            let mut results = Vec::new();
            for task in waiting {
                results.push(task.await.unwrap());
            }
            results
        };
        assert_eq!(results[0], Ok(()));
        assert!(matches!(results[1], Err(StoreError::Conflict(_))), "{:?}", results[1]);
        assert_eq!(results[2], Ok(()));

        let after = store.commit_stats();
        assert_eq!(after.change_sets - before.change_sets, 4);
        assert_eq!(
            after.transactions - before.transactions,
            2,
            "the three waiting ones share one"
        );
        assert_eq!(store.get_order(first.id).await.unwrap(), Some(first));
        assert_eq!(store.get_order(good_a.id).await.unwrap(), Some(good_a));
        assert_eq!(store.get_order(duplicate.id).await.unwrap(), None);
        assert_eq!(store.get_order(good_b.id).await.unwrap(), Some(good_b));
    }

    /// A redelivery that waits in a batch with other change sets is refused alone: the
    /// others of its transaction land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_redelivery_is_refused_alone_in_its_batch() {
        let Some((store, _guard)) = isolated_store(PostgresSettings::default()).await else {
            println!("{}", dropline_store_tests::SKIPPED);
            return;
        };
        let record = store_record();
        store.insert_store(record.clone()).await.unwrap();
        let shop = record.store.id;
        let recorded = delivery(shop);
        let existing = OrderBuilder::new(shop).build();
        store.commit(delivered_change_set(&existing, &recorded)).await.unwrap();

        // Hold the committer on its first change set: another session locks the jobs table.
        let mut blocker = store.pool().begin().await.unwrap();
        sqlx::query("LOCK TABLE jobs IN EXCLUSIVE MODE")
            .execute(&mut *blocker)
            .await
            .unwrap();
        let before = store.commit_stats();
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
        let deliveries = [delivery(shop), recorded.clone(), delivery(shop)];
        let mut waiting = Vec::new();
        for (order, record) in [&good_a, &redelivered_order, &good_b].into_iter().zip(&deliveries) {
            let store = store.clone();
            let changes = delivered_change_set(order, record);
            waiting.push(tokio::spawn(async move { store.commit(changes).await }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        blocker.rollback().await.unwrap();

        first_commit.await.unwrap().unwrap();
        let mut results = Vec::new();
        for task in waiting {
            results.push(task.await.unwrap());
        }
        assert_eq!(results[0], Ok(()));
        assert!(
            matches!(&results[1], Err(StoreError::Conflict(m)) if m.contains(&recorded.delivery_id)),
            "{:?}",
            results[1]
        );
        assert_eq!(results[2], Ok(()));
        let after = store.commit_stats();
        assert_eq!(
            after.transactions - before.transactions,
            2,
            "the three waiting ones share one"
        );
        assert_eq!(store.get_order(good_a.id).await.unwrap(), Some(good_a));
        assert_eq!(store.get_order(good_b.id).await.unwrap(), Some(good_b));
        assert_eq!(store.get_order(redelivered_order.id).await.unwrap(), None);
        assert_eq!(store.timeline(redelivered_order.id).await.unwrap(), vec![]);
        for record in [&deliveries[0], &deliveries[2]] {
            assert!(store.delivery_seen(shop, &record.delivery_id).await.unwrap());
        }
    }

    /// Two processes (two stores on one schema, each with its own committer and so its own
    /// transactions) accept orders for the last units of one variant at once: the variant's
    /// row lock makes their checks take turns, so no unit is taken twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn stock_checks_of_two_processes_take_turns() {
        let Some((store, guard)) = isolated_store(PostgresSettings::default()).await else {
            println!("{}", dropline_store_tests::SKIPPED);
            return;
        };
        let url = std::env::var(URL_VARIABLE).unwrap();
        let options = ConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", guard.name())])
            .application_name(guard.name());
        let settings = PostgresSettings {
            max_connections: 5,
            ..PostgresSettings::default()
        };
        let other = PostgresStore::connect_with(options, settings).await.unwrap();

        let record = store_record();
        store.insert_store(record.clone()).await.unwrap();
        let shop = record.store.id;
        let sup = supplier(shop);
        store.insert_supplier(sup.clone()).await.unwrap();
        for _ in 0..3 {
            let p = product(shop, &[&sku()]);
            store.insert_product(p.clone()).await.unwrap();
            let variant = p.variants[0].id;
            let mut last_unit = offer(variant, sup.id);
            last_unit.stock = Some(1);
            store.insert_offer(shop, last_unit).await.unwrap();

            // Both change sets wait on the jobs table, so that both reach their checks at once.
            let mut blocker = store.pool().begin().await.unwrap();
            sqlx::query("LOCK TABLE jobs IN EXCLUSIVE MODE")
                .execute(&mut *blocker)
                .await
                .unwrap();
            let mut tasks = Vec::new();
            // Placed on different days: the daily metrics row of one day would make them take
            // turns anyway.
            for (day, db) in [store.clone(), other.clone()].into_iter().enumerate() {
                let order = OrderBuilder::new(shop)
                    .placed_at(at(day as i64 * 86_400))
                    .state(OrderState::Accepted)
                    .lines(&[(variant, 1)])
                    .build();
                tasks.push(tokio::spawn(async move {
                    db.commit(ChangeSet {
                        stock_checked: vec![order.id],
                        jobs: vec![job("route_order", at(0), Some(order.store_id))],
                        orders: vec![OrderWrite::Insert(order)],
                        ..ChangeSet::default()
                    })
                    .await
                }));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            blocker.rollback().await.unwrap();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results.sort_by_key(Result::is_err);
            assert_eq!(results, vec![Ok(()), Err(StoreError::OutOfStock(variant))]);
            assert_eq!(store.reserved_units(&[variant]).await.unwrap(), vec![(variant, 1)]);
        }
        other.close().await;
    }

    /// A schema made by the first migration, with a store and a product in it, upgrades in
    /// place: the store reads back unconnected, the product without storefront ids, and both
    /// take the new fields from then on.
    #[tokio::test]
    async fn upgrading_from_the_first_schema_keeps_the_data() {
        let Some((store, guard)) = isolated_store(PostgresSettings::default()).await else {
            println!("{}", dropline_store_tests::SKIPPED);
            return;
        };
        // Start the schema over with the first migration only, as a database made before.
        let schema = guard.name().to_string();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\""
        )))
        .execute(store.pool())
        .await
        .unwrap();
        store.close().await;
        let url = std::env::var(URL_VARIABLE).unwrap();
        let options = ConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())])
            .application_name(&schema);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap();
        migrations_until(1).await.run(&pool).await.unwrap();

        let mut record = store_record();
        record.connection = StoreConnection::default();
        let mut doc = serde_json::to_value(&record).unwrap();
        doc.as_object_mut().unwrap().remove("connection");
        sqlx::query("INSERT INTO stores (id, name, token_hash, created_at, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind(record.store.id.0)
            .bind(&record.store.name)
            .bind(&record.token_hash)
            .bind(record.created_at)
            .bind(sqlx::types::Json(&doc))
            .execute(&pool)
            .await
            .unwrap();
        let old_product = product(record.store.id, &[&sku(), &sku()]);
        sqlx::query("INSERT INTO products (id, store_id, title, doc) VALUES ($1, $2, $3, $4)")
            .bind(old_product.id.0)
            .bind(record.store.id.0)
            .bind(&old_product.title)
            .bind(sqlx::types::Json(&old_product))
            .execute(&pool)
            .await
            .unwrap();
        for (position, variant) in old_product.variants.iter().enumerate() {
            sqlx::query(
                "INSERT INTO variants (id, product_id, store_id, position, sku, doc) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(variant.id.0)
            .bind(old_product.id.0)
            .bind(record.store.id.0)
            .bind(position as i32)
            .bind(&variant.sku)
            .bind(sqlx::types::Json(variant))
            .execute(&pool)
            .await
            .unwrap();
        }

        let store = PostgresStore::from_pool(pool);
        store.migrate().await.unwrap();
        assert_eq!(store.get_store(record.store.id).await.unwrap(), Some(record.clone()));
        assert_eq!(
            store.get_product(old_product.id).await.unwrap(),
            Some(old_product.clone())
        );

        let connected = connection();
        store
            .update_store_connection(record.store.id, connected.clone())
            .await
            .unwrap();
        assert_eq!(
            store.get_store(record.store.id).await.unwrap().map(|r| r.connection),
            Some(connected)
        );
        let pulled = platform_product(record.store.id, "prod-1", &[("var-1", &sku())]);
        let import = store
            .import_products(record.store.id, vec![pulled.clone()])
            .await
            .unwrap();
        assert_eq!((import.products_created, import.variants_created), (1, 1));
        assert_eq!(store.get_product(pulled.id).await.unwrap(), Some(pulled));
        assert_eq!(store.get_product(old_product.id).await.unwrap(), Some(old_product));
        store.close().await;
    }

    /// A migrator of this crate's first `count` migrations, read from copies of their files.
    async fn migrations_until(count: usize) -> sqlx::migrate::Migrator {
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&source)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        files.sort();
        assert!(files.len() >= count, "{files:?}");
        let dir = std::env::temp_dir().join(format!("dropline-migrations-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        for file in &files[..count] {
            std::fs::copy(source.join(file), dir.join(file)).unwrap();
        }
        // The migrator reads the files now; the copies are not needed afterwards.
        let migrator = sqlx::migrate::Migrator::new(dir.as_path()).await;
        std::fs::remove_dir_all(&dir).unwrap();
        migrator.unwrap()
    }

    /// A schema made by the first two migrations, with an order whose document has parcels,
    /// exceptions and a tracking token and a message of the old outbox, upgrades in place: the
    /// parcels, open exceptions and token are found from the backfilled tables (document times
    /// cut to microseconds, as writes store them), the old message reads back, and new writes
    /// use the new columns.
    #[tokio::test]
    async fn upgrading_from_the_second_schema_backfills_parcels_and_exceptions() {
        let Some((store, guard)) = isolated_store(PostgresSettings::default()).await else {
            println!("{}", dropline_store_tests::SKIPPED);
            return;
        };
        let schema = guard.name().to_string();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\""
        )))
        .execute(store.pool())
        .await
        .unwrap();
        store.close().await;
        let url = std::env::var(URL_VARIABLE).unwrap();
        let options = ConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())])
            .application_name(&schema);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap();
        migrations_until(2).await.run(&pool).await.unwrap();

        let record = store_record();
        let mut doc = serde_json::to_value(&record).unwrap();
        doc.as_object_mut().unwrap().remove("connection");
        sqlx::query("INSERT INTO stores (id, name, token_hash, created_at, doc) VALUES ($1, $2, $3, $4, $5)")
            .bind(record.store.id.0)
            .bind(&record.store.name)
            .bind(&record.token_hash)
            .bind(record.created_at)
            .bind(sqlx::types::Json(&doc))
            .execute(&pool)
            .await
            .unwrap();
        let supplier_id = SupplierId::new();
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
        sqlx::query(
            "INSERT INTO orders (id, store_id, external_id, number, state, payment_state, placed_at, received_at, \
             updated_at, version, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, 0, $8)",
        )
        .bind(order.id.0)
        .bind(record.store.id.0)
        .bind(&order.external_id)
        .bind(&order.number)
        .bind(order.state.as_str())
        .bind(order.payment.as_str())
        .bind(order.placed_at)
        .bind(sqlx::types::Json(&order))
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO supplier_orders (id, order_id, store_id, supplier_id, status, request_status) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(order.supplier_orders[0].id.0)
        .bind(order.id.0)
        .bind(record.store.id.0)
        .bind(supplier_id.0)
        .bind(order.supplier_orders[0].state.status.as_str())
        .bind(order.supplier_orders[0].state.request_status.as_str())
        .execute(&pool)
        .await
        .unwrap();
        // The old outbox document: an order id, none of the send fields.
        let old_message = message(&order, "order_received");
        let old_doc = serde_json::json!({
            "id": old_message.id,
            "store_id": old_message.store_id,
            "order_id": order.id,
            "template": old_message.template,
            "recipient": old_message.recipient,
            "data": old_message.data,
            "state": "queued",
            "created_at": old_message.created_at.format(&time::format_description::well_known::Rfc3339).unwrap(),
        });
        sqlx::query(
            "INSERT INTO messages (id, store_id, order_id, template, recipient, state, created_at, doc) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7)",
        )
        .bind(old_message.id.0)
        .bind(record.store.id.0)
        .bind(order.id.0)
        .bind(&old_message.template)
        .bind(&old_message.recipient)
        .bind(old_message.created_at)
        .bind(sqlx::types::Json(&old_doc))
        .execute(&pool)
        .await
        .unwrap();

        let store = PostgresStore::from_pool(pool);
        store.migrate().await.unwrap();
        assert_eq!(store.get_order(order.id).await.unwrap(), Some(order.clone()));
        assert_eq!(
            store.order_by_tracking_token(&token).await.unwrap(),
            Some(order.clone())
        );
        let parcel = |index: usize| ShipmentRef {
            order_id: order.id,
            store_id: record.store.id,
            shipment_id: order.supplier_orders[0].shipments[index].id,
        };
        assert_eq!(
            store.shipments_by_tracking_number(&moving).await.unwrap(),
            vec![parcel(0)]
        );
        assert_eq!(
            store.shipments_by_tracking_number(&arrived).await.unwrap(),
            vec![parcel(1)]
        );
        assert_eq!(
            store.lane_samples(record.store.id, at(0)).await.unwrap(),
            vec![LaneSample {
                supplier_id,
                country: "NL".into(),
                shipped_at: at(100) + time::Duration::microseconds(123_456),
                delivered_at: at(500),
            }]
        );
        assert_eq!(
            store.list_exceptions(&ExceptionFilter::default()).await.unwrap(),
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
            store.get_message(old_message.id).await.unwrap(),
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
            .unwrap();
        assert_eq!(store.get_message(digest.id).await.unwrap(), Some(digest));
        let sent: Option<Message> = store.get_message(old_message.id).await.unwrap();
        assert_eq!(sent, Some(updated(&old_message, &success)));
        assert_eq!(sent.map(|m| m.state), Some(MessageState::Sent));
        let mut changed = order.clone();
        changed.supplier_orders[0].shipments.remove(0);
        changed.exceptions.clear();
        store.commit(update_change_set(&changed)).await.unwrap();
        assert_eq!(store.shipments_by_tracking_number(&moving).await.unwrap(), vec![]);
        assert_eq!(
            store.shipments_by_tracking_number(&arrived).await.unwrap(),
            vec![parcel(1)]
        );
        assert_eq!(
            store.list_exceptions(&ExceptionFilter::default()).await.unwrap(),
            vec![]
        );
        store.close().await;
    }

    /// Migrating twice is harmless (every process migrates at start-up).
    #[tokio::test]
    async fn migrate_is_idempotent() {
        let Some((store, _guard)) = isolated_store(PostgresSettings::default()).await else {
            println!("{}", dropline_store_tests::SKIPPED);
            return;
        };
        store.migrate().await.unwrap();
        store.commit(ChangeSet::default()).await.unwrap();
    }

    /// A closed store answers `Unavailable`, the answer a caller retries on.
    #[tokio::test]
    async fn closed_pool_is_unavailable() {
        let Some((store, _guard)) = isolated_store(PostgresSettings::default()).await else {
            println!("{}", dropline_store_tests::SKIPPED);
            return;
        };
        store.close().await;
        let result = store
            .commit(insert_change_set(&OrderBuilder::new(store_record().store.id).build()))
            .await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
        assert!(matches!(store.list_stores().await, Err(StoreError::Unavailable(_))));
    }

    /// An unreachable server is `Unavailable` too, not a crash.
    #[tokio::test]
    async fn unreachable_server_is_unavailable() {
        let options = ConnectOptions::new().host("127.0.0.1").port(1).username("nobody");
        let settings = PostgresSettings {
            acquire_timeout: Duration::from_secs(2),
            ..PostgresSettings::default()
        };
        match PostgresStore::connect_with(options, settings).await {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
