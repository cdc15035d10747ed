//! dropline's [`Store`](dropline_app::ports::Store) and [`JobQueue`](dropline_app::ports::JobQueue)
//! on PostgreSQL, for installations where several `dropline serve` / `dropline worker`
//! processes share one database.
//!
//! Aggregates (stores, catalogue records, orders with their supplier orders and shipments)
//! are stored whole as JSONB documents; plain columns beside them exist to filter, sort and
//! enforce uniqueness. A store's platform connection, which holds its secrets, has a column
//! of its own and never enters the store's document. Every [`ChangeSet`](dropline_app::ports::ChangeSet) is written in one
//! transaction, and concurrent change sets are batched into one transaction by a background
//! task (group commit, see `commit.rs`). Workers claim jobs with `FOR UPDATE SKIP LOCKED`
//! leases.
//!
//! This crate must never hold domain rules (it stores what the domain decided, it does not
//! decide), never change an order except through a versioned [`OrderWrite`](dropline_app::ports::OrderWrite),
//! never acknowledge a change set before its transaction has committed, and never depend on
//! another adapter crate.
//!
//! [`scratch`] opens throwaway stores in schemas of their own, for tests and tools, so that
//! crates using them need no database driver.

mod accounts;
mod backend;
mod catalog;
mod commit;
mod error;
mod facts;
mod inventory;
mod jobs;
mod orders;
mod payouts;
mod rates;
pub mod scratch;

pub use commit::CommitStats;
use commit::{CommitCounters, Pending};
use dropline_app::ports::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Connection options for [`PostgresStore::connect_with`] (sqlx's `PgConnectOptions`),
/// re-exported so callers need no `sqlx` of their own.
pub use sqlx::postgres::PgConnectOptions as ConnectOptions;

/// How many change sets one group-commit transaction takes at most.
const DEFAULT_MAX_BATCH: usize = 64;
/// How many change sets may wait for the committer before `commit` callers queue up.
const COMMIT_QUEUE: usize = 1024;

/// Tuning of a [`PostgresStore`]; the defaults suit one `dropline` process.
#[derive(Clone, Debug)]
pub struct PostgresSettings {
    /// Connections of the pool.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before the store reports
    /// [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// Change sets per group-commit transaction at most.
    pub max_batch: usize,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            max_batch: DEFAULT_MAX_BATCH,
        }
    }
}

/// dropline's store and job queue on a PostgreSQL connection pool.
///
/// Cheap to clone: clones share the pool and the group-commit task, which ends when the last
/// clone is dropped.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    committer: mpsc::Sender<Pending>,
    counters: Arc<CommitCounters>,
}

impl PostgresStore {
    /// Opens a pool on `url` (`postgres://user@host:port/database`) with default settings.
    /// Does not run migrations: call [`PostgresStore::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| StoreError::Other(format!("invalid PostgreSQL URL: {err}")))?;
        Self::connect_with(options, PostgresSettings::default()).await
    }

    /// Opens a pool with explicit connection options (e.g. a `search_path` that points at
    /// one schema) and settings.
    pub async fn connect_with(options: PgConnectOptions, settings: PostgresSettings) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(error::store_error)?;
        Ok(Self::from_pool_with(pool, settings.max_batch))
    }

    /// Wraps an existing pool. Must be called inside a Tokio runtime: it starts the
    /// group-commit task.
    pub fn from_pool(pool: PgPool) -> Self {
        Self::from_pool_with(pool, DEFAULT_MAX_BATCH)
    }

    fn from_pool_with(pool: PgPool, max_batch: usize) -> Self {
        let (committer, receiver) = mpsc::channel(COMMIT_QUEUE);
        let counters = Arc::new(CommitCounters::default());
        tokio::spawn(commit::run_committer(
            pool.clone(),
            receiver,
            max_batch.max(1),
            Arc::clone(&counters),
        ));
        Self {
            pool,
            committer,
            counters,
        }
    }

    /// Brings the schema up to date with this crate's migrations (`migrations/`). Safe to run
    /// from several processes at once: the migrator holds an advisory lock.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!().run(&self.pool).await.map_err(|err| match err {
            sqlx::migrate::MigrateError::Execute(err) => error::store_error(err),
            other => StoreError::Other(format!("migration failed: {other}")),
        })?;
        // The data migrations SQL cannot express, each run until done (see `pending_backfills`).
        facts::backfill(&self.pool).await?;
        Ok(())
    }

    /// The underlying pool (for administration tools and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// What group commit has done so far (for metrics): how many transactions carried how
    /// many change sets.
    pub fn commit_stats(&self) -> CommitStats {
        self.counters.snapshot()
    }

    /// Closes the pool: waits for connections in use to come back, then closes them all.
    /// Later calls fail with [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Caps a listing limit at 500; 0 (a filter left at its default) means the full 500.
pub(crate) fn page_limit(limit: u32) -> i64 {
    const MAX: u32 = 500;
    i64::from(if limit == 0 { MAX } else { limit.min(MAX) })
}

/// Commits when everything was written, else rolls back now (rather than when the dropped
/// connection is next used) and reports the refusal.
pub(crate) async fn finish(tx: Transaction<'_, Postgres>, written: Result<(), StoreError>) -> Result<(), StoreError> {
    match written {
        Ok(()) => tx.commit().await.map_err(error::store_error),
        Err(err) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::debug!(error = %rollback, "rollback after a refused write failed");
            }
            Err(err)
        }
    }
}
