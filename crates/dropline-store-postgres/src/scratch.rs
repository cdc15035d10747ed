//! Throwaway stores: a [`PostgresStore`] in a schema of its own, created empty, migrated, and
//! dropped again when its [`ScratchSchema`] guard is dropped.
//!
//! Meant for tests and tools that need a throwaway database (conformance suites, end-to-end
//! tests, benchmarks): many of them can run in parallel in one database without seeing each
//! other, and crates that use them need no database driver of their own. Never point a
//! production process at a scratch store: everything in it is gone when the guard is dropped.

use crate::{PostgresSettings, PostgresStore, error};
use dropline_app::ports::StoreError;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::str::FromStr;

/// The prefix of every scratch schema's name (followed by a UUID in hex).
pub const SCRATCH_SCHEMA_PREFIX: &str = "dropline_test_";

/// Owns a scratch schema: when dropped (also while unwinding from a panic) it ends the
/// schema's connections and drops the schema with everything in it.
///
/// Drop it after the store that uses it (or together with it): the store's connections are
/// ended, so a store that outlives its guard only answers errors.
#[derive(Debug)]
pub struct ScratchSchema {
    /// The server's URL as given to [`open_scratch_store`], for the cleanup connection.
    url: String,
    schema: String,
}

impl ScratchSchema {
    /// The schema's name (`dropline_test_<uuid>`); also the `application_name` of the
    /// store's connections.
    pub fn name(&self) -> &str {
        &self.schema
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        // Drop may run inside a Tokio runtime and cannot await: clean up from a thread of its
        // own with a runtime of its own. The store's connections (named after the schema) are
        // ended first: one may still sit in a transaction whose rollback was queued for a
        // runtime that is now blocked here, and its locks would hold the DROP forever.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut connection = PgConnection::connect(&url).await?;
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                    .bind(&schema)
                    .execute(&mut connection)
                    .await?;
                let drop = format!("SET lock_timeout = '30s'; DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut connection).await?;
                connection.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("could not drop scratch schema {}: {err}", self.schema),
            Err(_) => eprintln!("could not drop scratch schema {}: cleanup panicked", self.schema),
        }
    }
}

/// Creates a uniquely named empty schema in the database at `url`
/// (`postgres://user@host:port/database`), opens a store on it (`search_path` and
/// `application_name` set to the schema's name) with `settings`, and migrates it.
///
/// The schema lives as long as the returned [`ScratchSchema`]; if opening or migrating fails
/// it is dropped again before the error is returned. Several scratch stores share one server:
/// keep `settings.max_connections` small when many run at once.
pub async fn open_scratch_store(
    url: &str,
    settings: PostgresSettings,
) -> Result<(PostgresStore, ScratchSchema), StoreError> {
    let options =
        PgConnectOptions::from_str(url).map_err(|err| StoreError::Other(format!("invalid PostgreSQL URL: {err}")))?;
    let schema = format!("{SCRATCH_SCHEMA_PREFIX}{}", uuid::Uuid::now_v7().simple());

    let mut admin = PgConnection::connect(url).await.map_err(error::store_error)?;
    let created = sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&mut admin)
        .await
        .map_err(error::store_error);
    let closed = admin.close().await.map_err(error::store_error);
    created?;
    let guard = ScratchSchema {
        url: url.to_string(),
        schema,
    };
    closed?;

    let options = options
        .options([("search_path", guard.schema.as_str())])
        .application_name(&guard.schema);
    let store = PostgresStore::connect_with(options, settings).await?;
    store.migrate().await?;
    Ok((store, guard))
}
