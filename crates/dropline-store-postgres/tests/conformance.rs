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
    use dropline_store_tests::builders::{OrderBuilder, insert_change_set, store_record};
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
