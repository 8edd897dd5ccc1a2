//! Runs the store conformance suite against the embedded SQLite backend: every test gets a
//! fresh database file in its own temporary directory.

mod conformance;
mod group_commit;
mod sqlite_upgrade;

use admit_store::{SqliteStore, Store};
use std::sync::Arc;
use tempfile::TempDir;

/// A fresh, migrated SQLite store; the directory (and database) goes when the guard drops.
async fn open() -> Option<(Arc<dyn Store>, TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("admit.db")).await.expect("open SQLite store");
    Some((Arc::new(store), dir))
}

conformance::conformance_tests!(open);
