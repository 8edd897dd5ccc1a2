//! The few ways the SQLite backend talks to rusqlite: run a statement, read rows as owned
//! [`SqlRow`]s that the backend-neutral decoders (`decode.rs`, `rules.rs` …) read through
//! [`Columns`]. Every statement is prepared once per connection and cached.

use crate::rows::{Columns, corrupt};
use crate::{StoreError, StoreResult};
use rusqlite::types::Value;
use rusqlite::{Connection, Params};
use std::sync::Arc;

/// One result row, owned: column names (shared by the rows of one query) and values.
pub struct SqlRow {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl SqlRow {
    fn value(&self, col: &str) -> Result<&Value, StoreError> {
        self.names
            .iter()
            .position(|n| n == col)
            .map(|i| &self.values[i])
            .ok_or_else(|| corrupt(format!("no column {col}")))
    }
}

fn wrong(col: &str, what: &str, v: &Value) -> StoreError {
    corrupt(format!("column {col} is {:?}, not {what}", v.data_type()))
}

impl Columns for SqlRow {
    fn i64_col(&self, col: &str) -> Result<i64, StoreError> {
        match self.value(col)? {
            Value::Integer(i) => Ok(*i),
            v => Err(wrong(col, "an integer", v)),
        }
    }
    fn opt_i64_col(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self.value(col)? {
            Value::Null => Ok(None),
            Value::Integer(i) => Ok(Some(*i)),
            v => Err(wrong(col, "an integer", v)),
        }
    }
    fn str_col(&self, col: &str) -> Result<String, StoreError> {
        match self.value(col)? {
            Value::Text(s) => Ok(s.clone()),
            v => Err(wrong(col, "text", v)),
        }
    }
    fn opt_str_col(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.value(col)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            v => Err(wrong(col, "text", v)),
        }
    }
    fn bytes_col(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        match self.value(col)? {
            Value::Blob(b) => Ok(b.clone()),
            v => Err(wrong(col, "a blob", v)),
        }
    }
    fn f64_col(&self, col: &str) -> Result<f64, StoreError> {
        match self.value(col)? {
            Value::Real(f) => Ok(*f),
            Value::Integer(i) => Ok(*i as f64),
            v => Err(wrong(col, "a number", v)),
        }
    }
    fn bool_col(&self, col: &str) -> Result<bool, StoreError> {
        match self.value(col)? {
            Value::Integer(i) => Ok(*i != 0),
            v => Err(wrong(col, "a boolean", v)),
        }
    }
}

/// Every row the query returns.
pub fn rows(c: &Connection, sql: &str, params: impl Params) -> StoreResult<Vec<SqlRow>> {
    let mut stmt = c.prepare_cached(sql)?;
    let names: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let n = names.len();
    let mut out = Vec::new();
    let mut rows = stmt.query(params)?;
    while let Some(r) = rows.next()? {
        let values = (0..n).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(SqlRow { names: names.clone(), values });
    }
    Ok(out)
}

/// The first row the query returns, if any.
pub fn row(c: &Connection, sql: &str, params: impl Params) -> StoreResult<Option<SqlRow>> {
    let mut stmt = c.prepare_cached(sql)?;
    let names: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = stmt.query(params)?;
    let Some(r) = rows.next()? else { return Ok(None) };
    let values = (0..names.len()).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(SqlRow { names, values }))
}

/// The first column of the first row, if there is a row.
pub fn scalar<T: rusqlite::types::FromSql>(c: &Connection, sql: &str, params: impl Params) -> StoreResult<Option<T>> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    Ok(match rows.next()? {
        Some(r) => Some(r.get(0)?),
        None => None,
    })
}

/// Runs a statement; how many rows it changed.
pub fn exec(c: &Connection, sql: &str, params: impl Params) -> StoreResult<usize> {
    Ok(c.prepare_cached(sql)?.execute(params)?)
}

/// Runs a statement whose violation of a UNIQUE or PRIMARY KEY constraint means `taken`.
pub fn exec_unique(
    c: &Connection,
    sql: &str,
    params: impl Params,
    taken: impl FnOnce() -> StoreError,
) -> StoreResult<usize> {
    match c.prepare_cached(sql)?.execute(params) {
        Ok(n) => Ok(n),
        Err(e) if is_unique_violation(&e) => Err(taken()),
        Err(e) => Err(e.into()),
    }
}

/// Runs an INSERT; the new row's id.
pub fn insert(c: &Connection, sql: &str, params: impl Params) -> StoreResult<i64> {
    c.prepare_cached(sql)?.execute(params)?;
    Ok(c.last_insert_rowid())
}

/// True when the error is a violated UNIQUE (or PRIMARY KEY) constraint.
pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}
