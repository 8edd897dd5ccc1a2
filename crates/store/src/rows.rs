//! Reading columns out of rows of either backend with meaningful errors.
//!
//! [`Columns`] is implemented for every sqlx row type that can decode the handful of column
//! types the schema uses, so the helpers below and the model decoders in `decode.rs` are
//! written once for SQLite and PostgreSQL.

use crate::StoreError;
use admit_domain::{Currency, Money};
use sqlx::{ColumnIndex, Decode, Row, Type};

/// The column reads the store needs, for any backend's row type.
pub trait Columns {
    fn i64_col(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_i64_col(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn str_col(&self, col: &str) -> Result<String, StoreError>;
    fn opt_str_col(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn bytes_col(&self, col: &str) -> Result<Vec<u8>, StoreError>;
    fn f64_col(&self, col: &str) -> Result<f64, StoreError>;
    fn bool_col(&self, col: &str) -> Result<bool, StoreError>;
}

impl<R> Columns for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    f64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    bool: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn i64_col(&self, col: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn opt_i64_col(&self, col: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn str_col(&self, col: &str) -> Result<String, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn opt_str_col(&self, col: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn bytes_col(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn f64_col(&self, col: &str) -> Result<f64, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn bool_col(&self, col: &str) -> Result<bool, StoreError> {
        Ok(self.try_get(col)?)
    }
}

pub fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Other(what.into().into())
}

pub fn i64_at(row: &impl Columns, col: &str) -> Result<i64, StoreError> {
    row.i64_col(col)
}

pub fn u32_at(row: &impl Columns, col: &str) -> Result<u32, StoreError> {
    u32::try_from(i64_at(row, col)?).map_err(|_| corrupt(format!("{col} out of range")))
}

pub fn str_at(row: &impl Columns, col: &str) -> Result<String, StoreError> {
    row.str_col(col)
}

pub fn money_at(row: &impl Columns, minor: &str, currency: &str) -> Result<Money, StoreError> {
    let c = Currency::parse(&str_at(row, currency)?).map_err(|e| corrupt(e.to_string()))?;
    Money::new(i64_at(row, minor)?, c).map_err(|e| corrupt(e.to_string()))
}

pub fn key32(row: &impl Columns, col: &str) -> Result<[u8; 32], StoreError> {
    row.bytes_col(col)?.try_into().map_err(|_| corrupt(format!("{col} is not 32 bytes")))
}

/// Parses a stored enum name or reports the row as corrupt.
pub fn parsed<T>(row: &impl Columns, col: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let s = str_at(row, col)?;
    parse(&s).ok_or_else(|| corrupt(format!("unknown {col} '{s}'")))
}

/// True when the error is a violated UNIQUE constraint.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
