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
/// share a transaction, that migrating twice is harmless, and that a lost database is
/// reported as `Unavailable`.
mod postgres_only {
    use super::*;
    use dropline_app::ports::{ChangeSet, Store, StoreError};
    use dropline_domain::catalog::StoreConnection;
    use dropline_store_tests::builders::{
        OrderBuilder, connection, delivered_change_set, delivery, insert_change_set, platform_product, product, sku,
        store_record,
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
        first_migration_only().await.run(&pool).await.unwrap();

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

    /// A migrator of this crate's first migration alone, read from a copy of its file.
    async fn first_migration_only() -> sqlx::migrate::Migrator {
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/20261122000000_initial.sql");
        let dir = std::env::temp_dir().join(format!("dropline-first-migration-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&source, dir.join("20261122000000_initial.sql")).unwrap();
        // The migrator reads the files now; the copy is not needed afterwards.
        let migrator = sqlx::migrate::Migrator::new(dir.as_path()).await;
        std::fs::remove_dir_all(&dir).unwrap();
        migrator.unwrap()
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
