//! Payment providers behind one trait.
//!
//! The server only ever talks to [`PaymentGateway`]. Today the one implementation is
//! [`CardSimulator`], a clearly labelled simulator following published test-card conventions;
//! a real acquirer, the crypto exchange client and an on-chain rail implement the same trait.

mod card;
mod simulator;

pub use card::{CardDetails, CardError, PaymentMethod};
pub use simulator::{CardSimulator, TEST_CARDS};

use admit_domain::Money;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Why a gateway refused a charge. The codes are shown to buyers and are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    InsufficientFunds,
    StolenCard,
    ExpiredCard,
    CardDeclined,
    /// The merchant voided this attempt (it gave up waiting) before the charge arrived.
    Voided,
}

impl DeclineReason {
    pub fn code(&self) -> &'static str {
        match self {
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::StolenCard => "stolen_card",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::CardDeclined => "card_declined",
            DeclineReason::Voided => "voided",
        }
    }

    pub fn parse(code: &str) -> Option<DeclineReason> {
        [
            DeclineReason::InsufficientFunds,
            DeclineReason::StolenCard,
            DeclineReason::ExpiredCard,
            DeclineReason::CardDeclined,
            DeclineReason::Voided,
        ]
        .into_iter()
        .find(|d| d.code() == code)
    }
}

/// The gateway's final word on one charge reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved { authorization: String },
    Declined(DeclineReason),
}

/// The gateway could not give an answer (the outcome is unknown, not a decline).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("the payment gateway did not answer in time")]
    Timeout,
    #[error("the payment gateway is unavailable: {0}")]
    Unavailable(String),
}

/// A payment provider. Every call is keyed by `reference` (Admit's payment attempt id) and is
/// idempotent on it: charging the same reference twice returns the first outcome and never
/// takes money twice. That is what makes crash recovery and client retries safe.
#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    /// Short name recorded with each attempt, e.g. `card-simulator`.
    fn name(&self) -> &'static str;

    /// Authorise and capture `amount`.
    async fn charge(
        &self,
        reference: &str,
        amount: Money,
        method: &PaymentMethod,
    ) -> Result<ChargeOutcome, GatewayError>;

    /// What the gateway recorded for `reference`, or `None` if it has not charged it (yet: a
    /// charge request may still be on its way).
    async fn lookup(&self, reference: &str) -> Result<Option<ChargeOutcome>, GatewayError>;

    /// Closes `reference` for good: what it already was, or `None` when it was never charged and
    /// now never will be (a charge request still on its way is declined `voided`). This, not
    /// `lookup`, is what settles an attempt left open: "not charged yet" is not an answer.
    async fn void(&self, reference: &str) -> Result<Option<ChargeOutcome>, GatewayError>;

    /// Return a captured charge in full. Idempotent.
    async fn refund(&self, reference: &str) -> Result<(), GatewayError>;
}
