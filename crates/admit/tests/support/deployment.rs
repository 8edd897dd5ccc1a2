//! One deployment under test and where it keeps its data: a temporary folder holding the card
//! simulator's ledger (always SQLite, shared by every node like a real payment provider), and
//! Admit's own tables either in `admit.db` in that folder or in a scratch PostgreSQL database.
//! Starts its nodes with test settings, and opens its data for the checks.

use super::db::Db;
use super::process::{Mode, Server, admit_token};
use admit_store::postgres::scratch::{ScratchDatabase, require_postgres};
use std::path::{Path, PathBuf};

/// Settings every node under test runs with: reconciliation settles attempts older than the
/// 1 s payment timeout, every 200 ms; holds are swept every 200 ms; rate limits are off (a
/// crowd of test buyers shares one address); few PostgreSQL connections per node, since tests
/// run several nodes at once against one server.
const TEST_ENV: &[(&str, &str)] = &[
    ("ADMIT_PAYMENT_TIMEOUT_MS", "1000"),
    ("ADMIT_RECONCILE_INTERVAL_MS", "200"),
    ("ADMIT_SWEEP_INTERVAL_MS", "200"),
    ("ADMIT_LIMIT_HOLDS_PER_ADDRESS", "0"),
    ("ADMIT_LIMIT_HOLDS_PER_BUYER", "0"),
    ("ADMIT_LIMIT_JOINS_PER_ADDRESS", "0"),
    ("ADMIT_DATABASE_POOL", "8"),
];

pub struct Deployment {
    dir: tempfile::TempDir,
    /// Dropped with the deployment. Tests declare their servers after it, so the nodes are
    /// killed before the database goes.
    postgres: Option<ScratchDatabase>,
}

impl Deployment {
    /// Everything in SQLite files in a fresh folder: the embedded default.
    pub fn sqlite() -> Deployment {
        Deployment { dir: tempfile::tempdir().expect("temp dir"), postgres: None }
    }

    /// Admit's tables in a fresh scratch PostgreSQL database. Panics when PostgreSQL is not
    /// reachable; `None` only when `ADMIT_SKIP_POSTGRES=1` (the skip is announced).
    pub fn postgres() -> Option<Deployment> {
        let database = require_postgres()?;
        Some(Deployment { dir: tempfile::tempdir().expect("temp dir"), postgres: Some(database) })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn database_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(ScratchDatabase::url)
    }

    /// "SQLite in /tmp/…" or "PostgreSQL database admit_t_…", for messages.
    pub fn describe(&self) -> String {
        match &self.postgres {
            Some(db) => format!("PostgreSQL database {}", db.name()),
            None => format!("SQLite in {}", self.dir().display()),
        }
    }

    /// The card simulator's ledger, which every node of the deployment charges through.
    pub fn ledger_path(&self) -> PathBuf {
        self.dir().join("payments-sim.db")
    }

    /// Node `a`, seeding the demo events on first start.
    pub fn demo(&self, env: &[(&str, &str)]) -> Server {
        self.node("a", Mode::Demo, env)
    }

    /// Node `a` again, serving what is there.
    pub fn serve(&self, env: &[(&str, &str)]) -> Server {
        self.node("a", Mode::Serve, env)
    }

    /// Nodes `a`, `b`, `c`, …: the first seeds the demo (once), the others start after it and
    /// serve the same data.
    pub fn cluster(&self, names: &[&str], env: &[(&str, &str)]) -> Vec<Server> {
        let mut nodes = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            nodes.push(self.node(name, if i == 0 { Mode::Demo } else { Mode::Serve }, env));
        }
        nodes
    }

    /// A node with `env` on top of the test settings. On PostgreSQL each node has a data
    /// folder of its own (nodes are stateless: they share only the database and the ledger);
    /// on SQLite the data folder holds `admit.db`, so every start uses the same one.
    pub fn node(&self, name: &str, mode: Mode, env: &[(&str, &str)]) -> Server {
        let data_dir = match self.postgres {
            Some(_) => self.dir().join(format!("node-{name}")),
            None => self.dir().to_owned(),
        };
        let ledger = self.ledger_path();
        let ledger = ledger.to_str().expect("a UTF-8 temp path");
        let shared = [("ADMIT_SIMULATOR_LEDGER", ledger)];
        let env: Vec<(&str, &str)> = TEST_ENV.iter().chain(&shared).chain(env).copied().collect();
        Server::start(name, mode, &data_dir, self.database_url(), &env)
    }

    /// A staff token for `organiser` (`admin` or `gate`), made with `admit token`.
    pub fn staff_token(&self, organiser: i64, role: &str) -> String {
        admit_token(self.dir(), self.database_url(), organiser, role)
    }

    /// Admit's tables, read-only on SQLite.
    pub async fn admit_db(&self) -> Db {
        match self.database_url() {
            Some(url) => Db::postgres(url).await,
            None => Db::sqlite_read_only(&self.dir().join("admit.db")).await,
        }
    }

    /// Admit's tables, writable (only while every node is down).
    pub async fn admit_db_writable(&self) -> Db {
        match self.database_url() {
            Some(url) => Db::postgres(url).await,
            None => Db::sqlite_writable(&self.dir().join("admit.db")).await,
        }
    }

    /// The simulator's ledger, read-only.
    pub async fn ledger(&self) -> Db {
        Db::sqlite_read_only(&self.ledger_path()).await
    }

    /// The simulator's ledger, writable (only while every node is down).
    pub async fn ledger_writable(&self) -> Db {
        Db::sqlite_writable(&self.ledger_path()).await
    }
}
