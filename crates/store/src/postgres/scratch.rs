//! Throw-away PostgreSQL databases for tests and benchmarks: one fresh, uniquely named
//! database per test, dropped when the guard goes.
//!
//! The admin URL comes from `ADMIT_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`, then user `root` if `postgres` is refused).
//! Each scratch database is a copy of a migrated template (made once per migration set).
//! Creating and dropping run on a thread of their own with a small runtime, so the guard
//! works inside and outside tokio, and dropping it in an async test never blocks the test's
//! runtime on itself. Tests call [`require_postgres`]: PostgreSQL missing is a loud failure,
//! never a silent pass, unless `ADMIT_SKIP_POSTGRES=1` skips them explicitly.

use sqlx::{Connection, Executor, PgConnection};
use std::future::Future;
use std::io::Write;
use std::time::Duration;

/// The environment variable naming the admin URL scratch databases are created through.
pub const ADMIN_URL_VAR: &str = "ADMIT_TEST_POSTGRES";
/// Set to `1` to skip PostgreSQL tests explicitly (each one says so on stderr).
pub const SKIP_VAR: &str = "ADMIT_SKIP_POSTGRES";
const DEFAULT_ADMIN_URLS: [&str; 2] =
    ["postgres://postgres@127.0.0.1:5432/test", "postgres://root@127.0.0.1:5432/test"];

#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error("PostgreSQL is not reachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("could not create a scratch database through {url}: {source}")]
    Create { url: String, source: sqlx::Error },
}

/// A database of its own for one test; dropped (`WITH (FORCE)`) when this guard drops.
#[derive(Debug)]
pub struct ScratchDatabase {
    name: String,
    admin_url: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates `admit_t_<random hex>` through the admin URL. Blocking; safe in async code.
    pub fn create() -> Result<ScratchDatabase, ScratchError> {
        let candidates: Vec<String> = match std::env::var(ADMIN_URL_VAR) {
            Ok(url) if !url.is_empty() => vec![url],
            _ => DEFAULT_ADMIN_URLS.iter().map(|u| u.to_string()).collect(),
        };
        on_own_runtime(move || async move {
            let mut refusals = Vec::new();
            for admin in &candidates {
                let mut conn = match connect(admin).await {
                    Ok(conn) => conn,
                    Err(reason) if candidates.len() > 1 => {
                        refusals.push(format!("{}: {reason}", redacted(admin)));
                        continue;
                    }
                    Err(reason) => {
                        refusals.push(reason);
                        continue;
                    }
                };
                let name = format!("admit_t_{:016x}", rand::random::<u64>());
                let created = match template(&mut conn, admin).await {
                    Ok(template) => conn.execute(format!("CREATE DATABASE {name} TEMPLATE {template}").as_str()).await,
                    Err(e) => Err(e),
                };
                let _ = conn.close().await;
                created.map_err(|source| ScratchError::Create { url: redacted(admin), source })?;
                return Ok(ScratchDatabase { url: with_database(admin, &name), name, admin_url: admin.clone() });
            }
            let url = candidates.iter().map(|u| redacted(u)).collect::<Vec<_>>().join(" or ");
            Err(ScratchError::Unreachable { url, reason: refusals.join("; ") })
        })
    }

    /// The scratch database's connection URL (the admin URL with its database swapped).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            block_on(async {
                let mut conn = connect(&admin).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                conn.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: scratch database {} was not dropped: {e}", self.name),
            Err(_) => eprintln!("warning: scratch database {} was not dropped: the drop thread panicked", self.name),
        }
    }
}

/// A scratch database for a PostgreSQL test. Panics with what to do when PostgreSQL is not
/// reachable; returns `None` (and says `SKIPPED` on stderr) only when `ADMIT_SKIP_POSTGRES=1`.
pub fn require_postgres() -> Option<ScratchDatabase> {
    if std::env::var(SKIP_VAR).as_deref() == Ok("1") {
        let test = std::thread::current().name().unwrap_or("a PostgreSQL test").to_owned();
        // Straight to the process's stderr: the test harness captures `eprintln!`.
        let _ = writeln!(std::io::stderr(), "SKIPPED ({SKIP_VAR}=1): {test} did not run against PostgreSQL");
        return None;
    }
    match ScratchDatabase::create() {
        Ok(db) => Some(db),
        Err(e) => panic!(
            "{e}\nStart PostgreSQL, or set {ADMIN_URL_VAR}=<admin url>, or set {SKIP_VAR}=1 to skip PostgreSQL tests explicitly"
        ),
    }
}

/// The name of a template database holding every migration, made the first time it is
/// needed. Scratch databases are copies of it, so a test pays for a file copy, not for a
/// migration run. Its name carries the migrations' checksums: a changed migration gets a new
/// template. One process makes it while others wait (advisory lock); it refuses connections
/// once made, since PostgreSQL copies only a database nobody is connected to.
async fn template(admin: &mut PgConnection, admin_url: &str) -> Result<String, sqlx::Error> {
    const LOCK: i64 = 0x6164_6d69_745f_7470; // "admit_tp"
    let migrator = sqlx::migrate!("migrations/postgres");
    // FNV-1a: stable across Rust versions, unlike std's hasher.
    let digest = migrator
        .iter()
        .flat_map(|m| m.checksum.iter())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    let name = format!("admit_tpl_{digest:016x}");
    sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK).execute(&mut *admin).await?;
    let made = async {
        let state: Option<bool> = sqlx::query_scalar("SELECT datistemplate FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_optional(&mut *admin)
            .await?;
        if state == Some(true) {
            return Ok(());
        }
        // Absent, or left half-made by a process that died while making it.
        admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
        let mut conn = PgConnection::connect(&with_database(admin_url, &name)).await?;
        let migrated = migrator.run(&mut conn).await;
        conn.close().await?;
        migrated.map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        admin.execute(format!("ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").as_str()).await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK).execute(&mut *admin).await?;
    made.map(|()| name)
}

async fn connect(url: &str) -> Result<PgConnection, String> {
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer from {} within 5 s", redacted(url))),
    }
}

fn block_on<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a small tokio runtime").block_on(work)
}

/// Runs the future `work` makes to completion on a new thread with its own runtime,
/// re-raising its panic.
fn on_own_runtime<T: Send + 'static, F: Future<Output = T>>(work: impl FnOnce() -> F + Send + 'static) -> T {
    std::thread::spawn(move || block_on(work())).join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// `url` naming database `db` instead of its own, query parameters kept.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{db}", &base[..path]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `url` with any password replaced, fit for messages.
fn redacted(url: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let Some(at) = url[authority..].find('@').map(|i| authority + i) else { return url.to_owned() };
    match url[authority..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..authority + colon], &url[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_url_names_the_scratch_database_and_keeps_parameters() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/test?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redacted("postgres://u:secret@h/test"), "postgres://u:***@h/test");
        assert_eq!(redacted("postgres://u@h/test"), "postgres://u@h/test");
    }
}
