//! The store conformance suite on SQLite: a fresh database file per test.

use dropline_store_sqlite::{SqliteOptions, SqliteStore};
use dropline_store_tests::Fixture;

dropline_store_tests::conformance_tests!(async {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("dropline.db"), SqliteOptions::default()).expect("the store opens");
    Fixture::with_guard(store, dir)
});
