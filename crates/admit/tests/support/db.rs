//! Direct SQL access for the checks, on either backend: one connection to Admit's tables in
//! SQLite or PostgreSQL, or to the card simulator's SQLite ledger. Each query is written once
//! with `?` placeholders (PostgreSQL gets `$1, $2, …`) in SQL both engines accept; rows decode
//! into anything that implements `FromRow` for both (tuples, `#[derive(sqlx::FromRow)]`).
//! Every failure panics with the query, since a check that cannot read proves nothing.

use sqlx::postgres::PgRow;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Connection, FromRow, PgConnection, SqliteConnection};
use std::path::Path;
use std::time::Duration;

pub enum Db {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// A bound parameter: the checks only ever bind text and integers.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

/// `query` with every argument bound, for either backend's query type.
macro_rules! bound {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match *arg {
                Arg::Text(s) => query.bind(s),
                Arg::Int(i) => query.bind(i),
            };
        }
        query
    }};
}

/// A row type both backends can decode.
pub trait AnyRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> AnyRow for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

impl Db {
    /// A read-only SQLite connection (never creates the file, never migrates).
    pub async fn sqlite_read_only(path: &Path) -> Db {
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let conn = SqliteConnection::connect_with(&options).await;
        Db::Sqlite(conn.unwrap_or_else(|e| panic!("open {} read-only: {e}", path.display())))
    }

    /// A writable SQLite connection to an existing file (for manufacturing crash states while
    /// the server is down).
    pub async fn sqlite_writable(path: &Path) -> Db {
        let options = SqliteConnectOptions::new().filename(path).busy_timeout(Duration::from_secs(10));
        let conn = SqliteConnection::connect_with(&options).await;
        Db::Sqlite(conn.unwrap_or_else(|e| panic!("open {} for writing: {e}", path.display())))
    }

    pub async fn postgres(url: &str) -> Db {
        Db::Postgres(PgConnection::connect(url).await.unwrap_or_else(|e| panic!("connect to PostgreSQL: {e}")))
    }

    /// Every row of `sql`.
    pub async fn all<T: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Vec<T> {
        let dollar_sql = numbered(sql);
        let rows = match self {
            Db::Sqlite(conn) => bound!(sqlx::query_as::<_, T>(sql), args).fetch_all(conn).await,
            Db::Postgres(conn) => bound!(sqlx::query_as::<_, T>(&dollar_sql), args).fetch_all(conn).await,
        };
        rows.unwrap_or_else(|e| panic!("query failed: {e}\n{sql}\nwith {args:?}"))
    }

    /// The first column of every row.
    pub async fn column<T>(&mut self, sql: &str, args: &[Arg<'_>]) -> Vec<T>
    where
        (T,): AnyRow,
    {
        self.all::<(T,)>(sql, args).await.into_iter().map(|(v,)| v).collect()
    }

    /// At most one row (panics on more: the query is wrong).
    pub async fn optional<T: AnyRow>(&mut self, sql: &str, args: &[Arg<'_>]) -> Option<T> {
        let mut rows = self.all::<T>(sql, args).await;
        assert!(rows.len() <= 1, "expected at most one row, got {}: {sql}", rows.len());
        rows.pop()
    }

    /// The single value of a one-row, one-column query (`SELECT COUNT(*) …`).
    pub async fn scalar<T>(&mut self, sql: &str, args: &[Arg<'_>]) -> T
    where
        (T,): AnyRow,
    {
        let row = self.optional::<(T,)>(sql, args).await;
        row.unwrap_or_else(|| panic!("expected one row: {sql} with {args:?}")).0
    }

    /// Runs a statement; the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> u64 {
        let dollar_sql = numbered(sql);
        let done = match self {
            Db::Sqlite(conn) => bound!(sqlx::query(sql), args).execute(conn).await.map(|r| r.rows_affected()),
            Db::Postgres(conn) => bound!(sqlx::query(&dollar_sql), args).execute(conn).await.map(|r| r.rows_affected()),
        };
        done.unwrap_or_else(|e| panic!("statement failed: {e}\n{sql}\nwith {args:?}"))
    }

    pub async fn close(self) {
        let closed = match self {
            Db::Sqlite(conn) => conn.close().await,
            Db::Postgres(conn) => conn.close().await,
        };
        closed.expect("close the connection");
    }
}

/// `?` placeholders as PostgreSQL's `$1, $2, …` (the checks' SQL has no `?` in literals).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}
