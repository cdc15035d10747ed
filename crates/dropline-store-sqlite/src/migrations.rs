//! This crate's schema migrations: the SQL files of `migrations/`, embedded, applied in order
//! and recorded in `schema_migrations`, so applying them again is a no-op.

use crate::sql::{SqlResult, micros};
use dropline_app::ports::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// A migration: its number, its name, its SQL.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order. New files are added at the end; applied ones never change.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "storefront_connections",
        sql: include_str!("../migrations/0002_storefront_connections.sql"),
    },
    Migration {
        version: 3,
        name: "tracking_exceptions_outbox",
        sql: include_str!("../migrations/0003_tracking_exceptions_outbox.sql"),
    },
    Migration {
        version: 4,
        name: "accounts",
        sql: include_str!("../migrations/0004_accounts.sql"),
    },
    Migration {
        version: 5,
        name: "order_search",
        sql: include_str!("../migrations/0005_order_search.sql"),
    },
    Migration {
        version: 6,
        name: "order_facts",
        sql: include_str!("../migrations/0006_order_facts.sql"),
    },
    Migration {
        version: 7,
        name: "payouts",
        sql: include_str!("../migrations/0007_payouts.sql"),
    },
    Migration {
        version: 8,
        name: "exchange_rates",
        sql: include_str!("../migrations/0008_exchange_rates.sql"),
    },
    Migration {
        version: 9,
        name: "inventory",
        sql: include_str!("../migrations/0009_inventory.sql"),
    },
];

/// Applies the migrations that `conn`'s database lacks and returns their names
/// (`0001_initial`, ...). Each runs in its own immediate transaction, so two processes
/// migrating at once do not both apply one.
pub(crate) fn run(conn: &mut Connection) -> Result<Vec<String>, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER NOT NULL,
             name TEXT NOT NULL,
             applied_at INTEGER NOT NULL,
             CONSTRAINT schema_migrations_pkey PRIMARY KEY (version)
         )",
    )
    .store()?;
    let newest_known = MIGRATIONS.last().map_or(0, |m| m.version);
    let newest_applied: i64 = conn
        .query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .store()?;
    if newest_applied > newest_known {
        return Err(StoreError::Other(format!(
            "the database has schema version {newest_applied}, newer than this dropline knows \
             ({newest_known}); upgrade dropline"
        )));
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).store()?;
        let done: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                [migration.version],
                |row| row.get(0),
            )
            .store()?;
        if !done {
            tx.execute_batch(migration.sql).map_err(|e| {
                StoreError::Other(format!(
                    "migration {:04}_{} failed: {e}",
                    migration.version, migration.name
                ))
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                (
                    migration.version,
                    migration.name,
                    micros(time::OffsetDateTime::now_utc()),
                ),
            )
            .store()?;
            applied.push(format!("{:04}_{}", migration.version, migration.name));
        }
        tx.commit().store()?;
    }
    if !applied.is_empty() {
        tracing::info!(?applied, "SQLite migrations applied");
    }
    // The data migrations SQL cannot express, each run until done (see `pending_backfills`).
    crate::facts::backfill(conn)?;
    Ok(applied)
}
