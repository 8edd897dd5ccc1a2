//! The store's own error type: callers match on meaning, never on driver errors.

use admit_domain::DenyReason;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Not enough seats or units are available for the request.
    #[error("sold out")]
    SoldOut,
    /// The hold is no longer active (paid, cancelled or expired).
    #[error("the hold is {}", .0.as_str())]
    HoldNotActive(admit_domain::HoldState),
    /// The request contradicts the current state (e.g. a payment already in progress).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is well-formed but not acceptable (e.g. seats of another session).
    #[error("invalid: {0}")]
    Invalid(String),
    /// A scan was denied.
    #[error("denied: {0}")]
    Denied(DenyReason),
    /// Anything else (I/O, driver, corrupt row): logged, shown to clients as a plain 500.
    #[error("storage failure: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound("row"),
            other => StoreError::Other(Box::new(other)),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound("row"),
            other => StoreError::Other(Box::new(other)),
        }
    }
}

impl From<admit_sqlite_batch::BatchError> for StoreError {
    fn from(e: admit_sqlite_batch::BatchError) -> Self {
        StoreError::Other(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(Box::new(e))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
