//! Turning `sqlx` errors into [`StoreError`]s, sorted by what the caller should do.

use dropline_app::ports::StoreError;

/// SQLSTATE of a unique-constraint violation.
const UNIQUE_VIOLATION: &str = "23505";
/// SQLSTATE of a foreign-key violation.
const FOREIGN_KEY_VIOLATION: &str = "23503";

/// Maps a database error: unique violations are conflicts, lost connections and an
/// overloaded or restarting server are "retry later", everything else is a bug or a corrupt row.
pub(crate) fn store_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let what = match db.constraint() {
                Some(constraint) => format!("{} ({constraint})", db.message()),
                None => db.message().to_string(),
            };
            match code.as_str() {
                UNIQUE_VIOLATION => StoreError::Conflict(what),
                FOREIGN_KEY_VIOLATION => StoreError::NotFound(what),
                // Serialization failure and deadlock: the same write succeeds when retried.
                "40001" | "40P01" => StoreError::Unavailable(what),
                // Connection exceptions, insufficient resources, operator intervention
                // (shutdown, crash recovery), "cannot connect now".
                c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") => {
                    StoreError::Unavailable(what)
                }
                _ => StoreError::Other(format!("{what} [{code}]")),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
        _ => StoreError::Other(err.to_string()),
    }
}

/// A stored document that no longer reads as its type: a corrupt row or a bug.
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("stored {what} cannot be read: {err}"))
}
