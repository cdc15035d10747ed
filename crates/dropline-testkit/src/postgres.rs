//! A PostgreSQL store in a schema of its own, dropped when the test is over, so tests run
//! in parallel in one database without seeing each other (as the store's own tests do).

use dropline_store_postgres::{ConnectOptions, PostgresSettings, PostgresStore};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::str::FromStr;

/// Drops its schema when dropped (also after a panic).
pub struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
        // Drop cannot await inside the test's runtime: clean up from a thread with a
        // runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut connection = PgConnection::connect(&url).await?;
                sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut connection).await?;
                connection.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("could not drop test schema {}: {err}", self.schema),
            Err(_) => eprintln!("could not drop test schema {}: cleanup panicked", self.schema),
        }
    }
}

/// A migrated store in a fresh schema of the database at `url`.
pub async fn isolated_store(url: &str) -> (PostgresStore, SchemaGuard) {
    let schema = format!("dropline_testkit_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(url).await.expect("connect to the test database");
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&mut admin)
        .await
        .expect("create the test schema");
    admin.close().await.expect("close the admin connection");
    let guard = SchemaGuard {
        url: url.to_string(),
        schema,
    };
    let options = ConnectOptions::from_str(url)
        .expect("a PostgreSQL URL")
        .options([("search_path", guard.schema.as_str())]);
    // Tests run in parallel against one server: a few connections each.
    let settings = PostgresSettings {
        max_connections: 4,
        ..PostgresSettings::default()
    };
    let store = PostgresStore::connect_with(options, settings)
        .await
        .expect("connect to PostgreSQL");
    store.migrate().await.expect("migrate the test schema");
    (store, guard)
}
