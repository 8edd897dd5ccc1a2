//! The Admit gate terminal.
//!
//! A terminal is enrolled once for one gate (`admit gate enrol`), syncs what it needs to verify
//! tickets with no network ([`sync`]: keys, sessions, the ticket version/revocation list), and
//! then decides every scan itself ([`verify`]: signature, key, device proof, revocation,
//! session, and `admit_domain::decide_entry` — the online check's own rule — against its local
//! scan log). Each scan is committed to the local SQLite file ([`local`]) before its verdict is
//! shown ([`display`]), uploaded later ([`upload`]) and reconciled by the server. In online
//! mode the server's atomic verdict is asked first, with a deadline, and the offline verdict
//! stands in when the server is slow or unreachable ([`terminal`]).

pub mod client;
pub mod display;
pub mod local;
pub mod model;
pub mod places;
pub mod run;
pub mod sync;
pub mod terminal;
pub mod upload;
pub mod verify;

pub use client::{ServerClient, enrol, gate_choices};
pub use local::LocalDb;
pub use model::*;
pub use terminal::{Terminal, TerminalConfig};

/// What can go wrong in the terminal (the scan path itself never fails on the network: it
/// falls back to the offline verdict).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("this terminal is not enrolled yet: run `admit gate enrol` first")]
    NotEnrolled,
    #[error("the local gate file failed: {0}")]
    Local(String),
    #[error("could not reach the server: {0}")]
    Network(String),
    #[error("the server refused: {status} {detail}")]
    Refused { status: u16, detail: String },
    #[error("the server answered something unexpected: {0}")]
    Protocol(String),
}

impl From<sqlx::Error> for GateError {
    fn from(e: sqlx::Error) -> Self {
        GateError::Local(e.to_string())
    }
}

impl From<reqwest::Error> for GateError {
    fn from(e: reqwest::Error) -> Self {
        GateError::Network(e.to_string())
    }
}

/// Wall-clock time in unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
