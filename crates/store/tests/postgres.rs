//! Runs the store conformance suite against PostgreSQL: every test gets a fresh scratch
//! database (and a small pool, since tests run in parallel against one server), plus what only
//! a shared database can show: two nodes, i.e. two separate pools, racing for the same seats,
//! units and tickets.
//!
//! PostgreSQL must be reachable (`ADMIT_TEST_POSTGRES`, default the local server); without it
//! these tests fail loudly, unless `ADMIT_SKIP_POSTGRES=1` skips them explicitly.

mod conformance;

use admit_store::postgres::scratch::{ScratchDatabase, require_postgres};
use admit_store::{PgStore, Store};
use std::sync::Arc;

/// Connections per pool: several tests run at once against a server allowing 100 in all.
const POOL: u32 = 4;

/// A fresh, migrated PostgreSQL store; the database goes when the guard drops.
async fn open() -> Option<(Arc<dyn Store>, ScratchDatabase)> {
    let db = require_postgres()?;
    let store = PgStore::connect_with(db.url(), POOL).await.expect("connect to the scratch database");
    Some((Arc::new(store), db))
}

conformance::conformance_tests!(open);

mod across_nodes;
mod grouped;
