//! A PostgreSQL store in a schema of its own, dropped when the test is over, so tests run
//! in parallel in one database without seeing each other (as the store's own tests do). The
//! schema is made and dropped by [`dropline_store_postgres::scratch`]: this crate imports no
//! database driver.

use dropline_store_postgres::scratch::{ScratchSchema, open_scratch_store};
use dropline_store_postgres::{PostgresSettings, PostgresStore};

/// A migrated store in a fresh schema of the database at `url`, and the guard that drops the
/// schema when dropped (also after a panic).
pub async fn isolated_store(url: &str) -> (PostgresStore, ScratchSchema) {
    // Tests run in parallel against one server: a few connections each.
    let settings = PostgresSettings {
        max_connections: 4,
        ..PostgresSettings::default()
    };
    open_scratch_store(url, settings)
        .await
        .expect("open a scratch PostgreSQL store")
}
