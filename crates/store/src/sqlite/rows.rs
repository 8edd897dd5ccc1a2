//! Small helpers that turn SQLite rows into domain values with meaningful errors.

use crate::StoreError;
use admit_domain::{Currency, Money};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Other(what.into().into())
}

pub fn i64_at(row: &SqliteRow, col: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub fn u32_at(row: &SqliteRow, col: &str) -> Result<u32, StoreError> {
    u32::try_from(i64_at(row, col)?).map_err(|_| corrupt(format!("{col} out of range")))
}

pub fn str_at(row: &SqliteRow, col: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(col)?)
}

pub fn money_at(row: &SqliteRow, minor: &str, currency: &str) -> Result<Money, StoreError> {
    let c = Currency::parse(&str_at(row, currency)?).map_err(|e| corrupt(e.to_string()))?;
    Money::new(i64_at(row, minor)?, c).map_err(|e| corrupt(e.to_string()))
}

pub fn key32(row: &SqliteRow, col: &str) -> Result<[u8; 32], StoreError> {
    let bytes: Vec<u8> = row.try_get(col)?;
    bytes.try_into().map_err(|_| corrupt(format!("{col} is not 32 bytes")))
}

/// Parses a stored enum name or reports the row as corrupt.
pub fn parsed<T>(row: &SqliteRow, col: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let s = str_at(row, col)?;
    parse(&s).ok_or_else(|| corrupt(format!("unknown {col} '{s}'")))
}

/// True when the error is a violated UNIQUE constraint.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
