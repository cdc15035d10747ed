//! What every module needs to talk to SQLite: time and JSON conversions and the mapping of
//! SQLite errors onto [`StoreError`].

use dropline_app::ports::StoreError;
use rusqlite::ErrorCode;
use rusqlite::ffi;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

/// A time as stored: UTC unix microseconds (sub-microsecond digits are dropped, rounding down).
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos().div_euclid(1_000);
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

/// A stored time back as UTC.
pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|e| StoreError::Other(format!("stored time {micros} is out of range: {e}")))
}

/// A value as JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(format!("cannot encode JSON: {e}")))
}

/// A value from stored JSON text.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Other(format!("stored {what} is not valid: {e}")))
}

/// A stored snake_case name back as its enum.
pub(crate) fn parse_name<T>(text: &str, parse: impl Fn(&str) -> Option<T>, what: &str) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::Other(format!("stored {what} '{text}' is unknown")))
}

/// Whether an error is a broken uniqueness rule (unique key or primary key).
pub(crate) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE || e.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Whether an error is a reference to a row that does not exist.
pub(crate) fn is_foreign_key_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == ffi::SQLITE_CONSTRAINT_FOREIGNKEY
    )
}

/// The [`StoreError`] of an SQLite error, sorted by what the caller can do about it.
pub(crate) fn store_error(error: rusqlite::Error) -> StoreError {
    if is_unique_violation(&error) {
        return StoreError::Conflict(error.to_string());
    }
    if is_foreign_key_violation(&error) {
        return StoreError::NotFound(format!("a referenced row ({error})"));
    }
    match error.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::OutOfMemory,
        ) => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Other(error.to_string()),
    }
}

/// Like [`store_error`], but a broken uniqueness rule says which thing already exists.
pub(crate) fn conflict_as(what: impl FnOnce() -> String) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| {
        if is_unique_violation(&error) {
            StoreError::Conflict(format!("{} ({error})", what()))
        } else {
            store_error(error)
        }
    }
}

/// Result of a statement, with the error mapped.
pub(crate) trait SqlResult<T> {
    /// Maps the SQLite error onto a [`StoreError`].
    fn store(self) -> Result<T, StoreError>;
}

impl<T> SqlResult<T> for Result<T, rusqlite::Error> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(store_error)
    }
}

/// Runs a query and decodes every row.
pub(crate) fn collect<T, P: rusqlite::Params>(
    statement: &mut rusqlite::Statement<'_>,
    params: P,
    mut decode: impl FnMut(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut rows = statement.query(params).store()?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().store()? {
        items.push(decode(row)?);
    }
    Ok(items)
}

/// Runs a query and decodes its first row, if any.
pub(crate) fn first<T, P: rusqlite::Params>(
    statement: &mut rusqlite::Statement<'_>,
    params: P,
    decode: impl FnOnce(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut rows = statement.query(params).store()?;
    match rows.next().store()? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}

/// A column of a row.
pub(crate) fn column<T: rusqlite::types::FromSql>(row: &rusqlite::Row<'_>, index: usize) -> Result<T, StoreError> {
    row.get(index).store()
}

/// A limit of a listing: at most 500; 0 means "as many as allowed".
pub(crate) fn listing_limit(limit: u32) -> i64 {
    match limit {
        0 => 500,
        n => i64::from(n.min(500)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_and_round_down() {
        let at = time::macros::datetime!(2026-03-04 05:06:07.123456789 UTC);
        let stored = micros(at);
        assert_eq!(stored % 1_000_000, 123_456);
        assert_eq!(
            from_micros(stored).ok(),
            Some(time::macros::datetime!(2026-03-04 05:06:07.123456 UTC))
        );
        let before_epoch = time::macros::datetime!(1969-12-31 23:59:59.9999995 UTC);
        assert_eq!(micros(before_epoch), -1);
    }
}
