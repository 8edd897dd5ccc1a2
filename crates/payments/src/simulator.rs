//! The card gateway SIMULATOR: behaves like an acquirer in test mode, following the published
//! test-card conventions, and keeps its own durable ledger (a SQLite file of its own) so that,
//! like a real provider, it remembers what it charged when Admit crashes mid-payment.
//!
//! | card number         | outcome                                      |
//! |---------------------|----------------------------------------------|
//! | 4242 4242 4242 4242 | approved                                     |
//! | 5555 5555 5555 4444 | approved                                     |
//! | 4000 0000 0000 9995 | declined: insufficient_funds                 |
//! | 4000 0000 0000 9979 | declined: stolen_card                        |
//! | 4000 0000 0000 0069 | declined: expired_card                       |
//! | 4000 0000 0000 0002 | declined: card_declined                      |
//! | 4000 0000 0000 0119 | never answers (the gateway times out)        |
//! | any other valid one | approved                                     |
//!
//! Any card past its expiry is declined `expired_card`: a card is valid through the last day of
//! its expiry month, judged (as card networks do) on the simulator's clock in UTC
//! ([`CardSimulator::with_clock`] lets tests move it).

use crate::{CardDetails, ChargeOutcome, DeclineReason, GatewayError, PaymentGateway, PaymentMethod};
use admit_domain::Money;
use admit_sqlite_batch::rusqlite::{self, Connection, OpenFlags, OptionalExtension, params};
use admit_sqlite_batch::{BatchConfig, BatchError, Readers, Writer};
use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The test cards and what they do, for docs and the API's payment error hints.
pub const TEST_CARDS: &[(&str, &str)] = &[
    ("4242424242424242", "approved"),
    ("5555555555554444", "approved"),
    ("4000000000009995", "insufficient_funds"),
    ("4000000000009979", "stolen_card"),
    ("4000000000000069", "expired_card"),
    ("4000000000000002", "card_declined"),
    ("4000000000000119", "timeout"),
];

const TIMEOUT_CARD: &str = "4000000000000119";

/// A simulated card acquirer with a durable ledger of its own. Charges and refunds are
/// group-committed by one writer thread (many callers, one COMMIT); lookups use reader threads.
#[derive(Clone)]
pub struct CardSimulator {
    writer: Writer,
    reader: Readers,
    hang: Duration,
    clock: Clock,
}

/// Where the simulator reads the time, for expiry dates.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

impl CardSimulator {
    /// Opens (or creates) the simulator's ledger file. `hang` is how long the timeout card
    /// keeps the caller waiting before the gateway gives up.
    pub async fn open(path: &Path, hang: Duration) -> Result<CardSimulator, GatewayError> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(path, hang))
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
    }

    fn open_blocking(path: PathBuf, hang: Duration) -> Result<CardSimulator, GatewayError> {
        let conn = Connection::open(&path).map_err(unavailable)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(unavailable)?;
        // Like Admit's own store, a charge the simulated provider acknowledged survives power
        // loss too: the group-commit writer answers only after its syncer fsynced the WAL (it
        // switches its own connection to NORMAL and fsyncs once for several batches).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 10000;
             CREATE TABLE IF NOT EXISTS sim_charges (
                reference TEXT PRIMARY KEY,
                amount_minor INTEGER NOT NULL,
                currency TEXT NOT NULL,
                last4 TEXT NOT NULL,
                outcome TEXT NOT NULL,
                authorization TEXT,
                refunded INTEGER NOT NULL DEFAULT 0
            );",
        )
        .map_err(unavailable)?;
        let writer =
            Writer::spawn(conn, BatchConfig::default()).map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let readers = (0..2)
            .map(|_| {
                let c = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(unavailable)?;
                c.busy_timeout(Duration::from_secs(10)).map_err(unavailable)?;
                Ok(c)
            })
            .collect::<Result<Vec<_>, GatewayError>>()?;
        let reader = Readers::spawn(readers).map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(CardSimulator { writer, reader, hang, clock: Arc::new(Utc::now) })
    }

    /// The same simulator reading the time from `clock` (tests move it instead of waiting).
    pub fn with_clock(mut self, clock: Clock) -> CardSimulator {
        self.clock = clock;
        self
    }

    /// Whether the card's expiry month is over at `now`: a card marked 03/2030 works through
    /// 31 March 2030 and is expired from 1 April.
    fn expired(card: &CardDetails, now: DateTime<Utc>) -> bool {
        (now.year(), now.month()) > (i32::from(card.exp_year), u32::from(card.exp_month))
    }

    fn decide(card: &CardDetails, now: DateTime<Utc>) -> ChargeOutcome {
        if Self::expired(card, now) {
            return ChargeOutcome::Declined(DeclineReason::ExpiredCard);
        }
        let decline = match card.number() {
            "4000000000009995" => Some(DeclineReason::InsufficientFunds),
            "4000000000009979" => Some(DeclineReason::StolenCard),
            "4000000000000069" => Some(DeclineReason::ExpiredCard),
            "4000000000000002" => Some(DeclineReason::CardDeclined),
            _ => None,
        };
        match decline {
            Some(reason) => ChargeOutcome::Declined(reason),
            None => ChargeOutcome::Approved { authorization: format!("sim_{}", uuid::Uuid::new_v4().simple()) },
        }
    }

    /// What the ledger holds for `reference`: outcome and authorization, if recorded.
    fn read(c: &Connection, reference: &str) -> Result<Option<(String, Option<String>)>, GatewayError> {
        c.prepare_cached("SELECT outcome, authorization FROM sim_charges WHERE reference = ?")
            .and_then(|mut stmt| stmt.query_row([reference], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(unavailable)
    }

    /// What the ledger holds for `reference` (inside a write, after recording it).
    fn recorded(c: &Connection, reference: &str) -> Result<ChargeOutcome, GatewayError> {
        let row = Self::read(c, reference)?;
        let (outcome, authorization) = row.ok_or_else(|| GatewayError::Unavailable("charge not recorded".into()))?;
        Self::outcome_of(&outcome, authorization)
    }

    fn outcome_of(outcome: &str, authorization: Option<String>) -> Result<ChargeOutcome, GatewayError> {
        if outcome == VOIDED {
            return Ok(ChargeOutcome::Declined(DeclineReason::Voided));
        }
        if outcome == "approved" {
            return Ok(ChargeOutcome::Approved { authorization: authorization.unwrap_or_default() });
        }
        DeclineReason::parse(outcome)
            .map(ChargeOutcome::Declined)
            .ok_or_else(|| GatewayError::Unavailable(format!("corrupt simulator ledger outcome '{outcome}'")))
    }
}

/// The ledger's tombstone for a reference voided before any charge arrived.
const VOIDED: &str = "voided";

/// `None` for a tombstone: never charged.
fn charged(outcome: ChargeOutcome) -> Option<ChargeOutcome> {
    (outcome != ChargeOutcome::Declined(DeclineReason::Voided)).then_some(outcome)
}

fn unavailable(e: rusqlite::Error) -> GatewayError {
    GatewayError::Unavailable(e.to_string())
}

impl From<BatchError> for GatewayError {
    fn from(e: BatchError) -> Self {
        GatewayError::Unavailable(e.to_string())
    }
}

#[async_trait]
impl PaymentGateway for CardSimulator {
    fn name(&self) -> &'static str {
        "card-simulator"
    }

    async fn charge(
        &self,
        reference: &str,
        amount: Money,
        method: &PaymentMethod,
    ) -> Result<ChargeOutcome, GatewayError> {
        let PaymentMethod::Card(card) = method;
        if card.number() == TIMEOUT_CARD {
            tokio::time::sleep(self.hang).await;
            return Err(GatewayError::Timeout);
        }
        let (outcome, authorization) = match Self::decide(card, (self.clock)()) {
            ChargeOutcome::Approved { authorization } => ("approved", Some(authorization)),
            ChargeOutcome::Declined(reason) => (reason.code(), None),
        };
        let (reference, last4) = (reference.to_owned(), card.last4().to_owned());
        self.writer
            .run(move |c| {
                // Idempotent on the reference: a repeated charge returns what was recorded first.
                c.prepare_cached(
                    "INSERT INTO sim_charges (reference, amount_minor, currency, last4, outcome, authorization)
                     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        reference,
                        amount.minor(),
                        amount.currency().code(),
                        last4,
                        outcome,
                        authorization
                    ])
                })
                .map_err(unavailable)?;
                Self::recorded(c, &reference)
            })
            .await
    }

    async fn lookup(&self, reference: &str) -> Result<Option<ChargeOutcome>, GatewayError> {
        let reference = reference.to_owned();
        let row = self.reader.run(move |c| Self::read(c, &reference)).await?;
        Ok(row.map(|(o, a)| Self::outcome_of(&o, a)).transpose()?.and_then(charged))
    }

    async fn void(&self, reference: &str) -> Result<Option<ChargeOutcome>, GatewayError> {
        let reference = reference.to_owned();
        let outcome = self
            .writer
            .run(move |c| {
                // One writer: this and any charge of the same reference are ordered, so a
                // charge either landed before (and is returned) or finds the tombstone.
                c.prepare_cached(
                    "INSERT INTO sim_charges (reference, amount_minor, currency, last4, outcome)
                     VALUES (?, 0, '', '', ?) ON CONFLICT (reference) DO NOTHING",
                )
                .and_then(|mut stmt| stmt.execute(params![reference, VOIDED]))
                .map_err(unavailable)?;
                Self::recorded(c, &reference)
            })
            .await?;
        Ok(charged(outcome))
    }

    async fn refund(&self, reference: &str) -> Result<(), GatewayError> {
        let reference = reference.to_owned();
        self.writer
            .run(move |c| {
                c.prepare_cached("UPDATE sim_charges SET refunded = 1 WHERE reference = ? AND outcome = 'approved'")
                    .and_then(|mut stmt| stmt.execute([&reference]))
                    .map_err(unavailable)?;
                Ok(())
            })
            .await
    }
}

impl CardSimulator {
    /// Whether the simulator refunded `reference` (for tests and reconciliation reports).
    pub async fn was_refunded(&self, reference: &str) -> Result<bool, GatewayError> {
        let reference = reference.to_owned();
        let refunded: Option<i64> = self
            .reader
            .run(move |c| {
                c.prepare_cached("SELECT refunded FROM sim_charges WHERE reference = ?")
                    .and_then(|mut stmt| stmt.query_row([&reference], |r| r.get(0)).optional())
                    .map_err(unavailable)
            })
            .await?;
        Ok(refunded == Some(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_domain::Currency;
    use chrono::TimeZone;

    async fn sim(dir: &tempfile::TempDir) -> CardSimulator {
        CardSimulator::open(&dir.path().join("sim.db"), Duration::from_millis(50)).await.unwrap()
    }

    fn card(number: &str) -> PaymentMethod {
        PaymentMethod::Card(CardDetails::parse(number, 12, 2030, "123").unwrap())
    }

    fn won(n: i64) -> Money {
        Money::new(n, Currency::KRW).unwrap()
    }

    #[tokio::test]
    async fn the_test_cards_approve_and_decline_as_published() {
        let dir = tempfile::tempdir().unwrap();
        let s = sim(&dir).await;
        assert!(matches!(s.charge("a", won(1), &card("4242424242424242")).await, Ok(ChargeOutcome::Approved { .. })));
        for (number, code) in TEST_CARDS.iter().filter(|(_, c)| !matches!(*c, "approved" | "timeout")) {
            let got = s.charge(number, won(1), &card(number)).await.unwrap();
            assert_eq!(got, ChargeOutcome::Declined(DeclineReason::parse(code).unwrap()), "{number}");
        }
        assert_eq!(s.charge("t", won(1), &card(TIMEOUT_CARD)).await, Err(GatewayError::Timeout));
        assert_eq!(s.lookup("t").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_expired_card_is_declined_and_a_card_is_valid_through_its_expiry_month() {
        let dir = tempfile::tempdir().unwrap();
        let now = Arc::new(std::sync::Mutex::new(Utc.with_ymd_and_hms(2030, 3, 31, 23, 59, 59).unwrap()));
        let clock = now.clone();
        let s = sim(&dir).await.with_clock(Arc::new(move || *clock.lock().unwrap()));
        let march_2030 = PaymentMethod::Card(CardDetails::parse("4242424242424242", 3, 2030, "123").unwrap());
        let expired_2020 = PaymentMethod::Card(CardDetails::parse("4242424242424242", 1, 2020, "123").unwrap());

        let old = s.charge("old", won(1), &expired_2020).await.unwrap();
        let last_day = s.charge("last-day", won(1), &march_2030).await.unwrap();
        *now.lock().unwrap() = Utc.with_ymd_and_hms(2030, 4, 1, 0, 0, 0).unwrap();
        let next_month = s.charge("next-month", won(1), &march_2030).await.unwrap();

        assert_eq!(old, ChargeOutcome::Declined(DeclineReason::ExpiredCard));
        assert!(matches!(last_day, ChargeOutcome::Approved { .. }), "{last_day:?}");
        assert_eq!(next_month, ChargeOutcome::Declined(DeclineReason::ExpiredCard));
    }

    #[tokio::test]
    async fn charging_a_reference_twice_returns_the_first_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let s = sim(&dir).await;
        let first = s.charge("r1", won(5), &card("4242424242424242")).await.unwrap();
        let again = s.charge("r1", won(5), &card("4000000000009995")).await.unwrap();
        assert_eq!(first, again);
    }

    #[tokio::test]
    async fn a_charge_arriving_after_its_reference_was_voided_takes_no_money() {
        let dir = tempfile::tempdir().unwrap();
        let s = sim(&dir).await;
        assert_eq!(s.void("late").await.unwrap(), None, "never charged, and now never will be");
        let late = s.charge("late", won(5), &card("4242424242424242")).await.unwrap();
        assert_eq!(late, ChargeOutcome::Declined(DeclineReason::Voided));
        assert_eq!(s.lookup("late").await.unwrap(), None);
        assert_eq!(s.void("late").await.unwrap(), None, "voiding again changes nothing");
    }

    #[tokio::test]
    async fn voiding_a_charged_reference_returns_the_charge_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let s = sim(&dir).await;
        let charged = s.charge("paid", won(5), &card("4242424242424242")).await.unwrap();
        assert_eq!(s.void("paid").await.unwrap(), Some(charged.clone()));
        assert_eq!(s.lookup("paid").await.unwrap(), Some(charged));
        assert!(!s.was_refunded("paid").await.unwrap());
    }

    #[tokio::test]
    async fn the_ledger_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let first = sim(&dir).await.charge("r", won(9), &card("5555555555554444")).await.unwrap();
        let reopened = sim(&dir).await;
        assert_eq!(reopened.lookup("r").await.unwrap(), Some(first));
        reopened.refund("r").await.unwrap();
        assert!(reopened.was_refunded("r").await.unwrap());
    }
}
