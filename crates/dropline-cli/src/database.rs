//! Which database: PostgreSQL when the URL says `postgres://`, otherwise the embedded SQLite
//! file in the data directory, created and migrated on first use.

use crate::config::Settings;
use anyhow::Context;
use dropline_app::ports::Backend;
use dropline_store_postgres::PostgresStore;
use dropline_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "dropline.db";

/// A chosen database.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

impl Database {
    /// The database the settings name: `postgres://…` (or `postgresql://…`), `sqlite:PATH`
    /// for an SQLite file elsewhere, or by default `<data-dir>/dropline.db`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let Some(url) = settings.database_url.as_deref().map(str::trim) else {
            return Ok(Self::Sqlite {
                path: settings.data_dir.join(SQLITE_FILE),
            });
        };
        if is_postgres_url(url) {
            return Ok(Self::Postgres { url: url.to_string() });
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            anyhow::ensure!(!path.is_empty(), "the database URL '{url}' names no file");
            return Ok(Self::Sqlite {
                path: PathBuf::from(path),
            });
        }
        anyhow::bail!(
            "the database URL '{}' is not supported: use postgres://… for PostgreSQL, or leave it unset for \
             SQLite in the data directory",
            redact_url(url)
        )
    }

    /// How to name the database to a person, without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("SQLite {}", path.display()),
            Self::Postgres { url } => format!("PostgreSQL {}", redact_url(url)),
        }
    }

    /// Opens the database and brings its schema up to date.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Backend>> {
        self.open_with(SqliteOptions::default()).await
    }

    /// Opens with explicit SQLite options (the benchmark's `--synchronous`).
    pub async fn open_with(&self, options: SqliteOptions) -> anyhow::Result<Arc<dyn Backend>> {
        match self {
            Self::Sqlite { path } => Ok(Arc::new(open_sqlite(path, options).await?)),
            Self::Postgres { url } => {
                let store = PostgresStore::connect(url)
                    .await
                    .with_context(|| format!("while connecting to {}", redact_url(url)))?;
                store
                    .migrate()
                    .await
                    .context("while migrating the PostgreSQL database")?;
                Ok(Arc::new(store))
            }
        }
    }
}

/// Opens (creating and migrating) an SQLite database file, creating its folder.
pub async fn open_sqlite(path: &Path, options: SqliteOptions) -> anyhow::Result<SqliteStore> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("while creating the folder {}", parent.display()))?;
    }
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || SqliteStore::open(&owned, options))
        .await
        .context("the database opener failed")?
        .with_context(|| format!("while opening the database {}", path.display()))
}

fn is_postgres_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// `dropline migrate`.
pub async fn run_migrate(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let database = Database::from_settings(settings)?;
    database.open().await?;
    if json {
        crate::output::print_json(&serde_json::json!({ "database": database.describe(), "migrated": true }))?;
    } else {
        println!("{} is up to date", database.describe());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_and_recognised() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert!(is_postgres_url("PostgreSQL://db/x"));
        assert!(!is_postgres_url("sqlite://x.db"));
    }
}
