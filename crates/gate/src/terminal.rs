//! One terminal at work: decides a scan (online first when asked, with a deadline, else or on
//! failure offline), commits it to the local log, and only then returns the verdict to show.
//! In the background it uploads what it scanned and pulls changes every few seconds.

use crate::client::ServerClient;
use crate::local::LocalDb;
use crate::model::{Enrolment, NewScan, Verdict};
use crate::sync::{SyncSummary, sync};
use crate::upload::{UploadSummary, upload_pending};
use crate::verify::{decide_offline, key_ring};
use crate::{GateError, now_ms};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the terminal works.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalConfig {
    /// The session this gate admits for; None: any session of the venue the ticket is for.
    pub session: Option<i64>,
    /// Ask the server for an atomic verdict first.
    pub online: bool,
    /// Entry (default), or exit: a terminal at an exit lane scans pass-outs.
    pub direction: admit_domain::Direction,
    /// How long to wait for the server's verdict before deciding offline.
    pub online_deadline: Duration,
    /// Where the gate stands, logged with every scan.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// How often to upload and pull changes in the background.
    pub refresh_every: Duration,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        TerminalConfig {
            session: None,
            online: false,
            direction: admit_domain::Direction::Entry,
            online_deadline: Duration::from_millis(300),
            latitude: None,
            longitude: None,
            refresh_every: Duration::from_secs(3),
        }
    }
}

/// The connection state the display shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// When the last background round reached the server.
    pub last_contact_ms: Option<i64>,
    /// Why the last round failed, if it did.
    pub last_error: Option<String>,
    /// Scans waiting for upload.
    pub pending: i64,
}

pub struct Terminal {
    db: LocalDb,
    enrolment: Enrolment,
    client: ServerClient,
    config: TerminalConfig,
    health: Mutex<Health>,
}

impl Terminal {
    pub async fn open(db: LocalDb, config: TerminalConfig) -> Result<Terminal, GateError> {
        let enrolment = db.enrolment().await?;
        let client = ServerClient::new(&enrolment)?;
        Ok(Terminal { db, enrolment, client, config, health: Mutex::new(Health::default()) })
    }

    pub fn db(&self) -> &LocalDb {
        &self.db
    }

    pub fn enrolment(&self) -> &Enrolment {
        &self.enrolment
    }

    pub fn config(&self) -> &TerminalConfig {
        &self.config
    }

    pub fn health(&self) -> Health {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Decides one scanned code and commits it to the log; returns its sequence number and the
    /// verdict, which may be shown from now on.
    pub async fn scan(&self, code: &str) -> Result<(i64, Verdict), GateError> {
        let code = code.trim();
        let now = now_ms();
        let ring = key_ring(&self.db).await?;
        let offline = decide_offline(&self.db, &ring, code, self.config.session, self.config.direction, now).await?;
        let mut verdict = offline.clone();
        if self.config.online
            && let Some(session) = self.config.session.or(offline.session_id)
        {
            let (gate, deadline) = (self.enrolment.gate_id, self.config.online_deadline);
            match self.client.online_scan(code, gate, session, self.config.direction, deadline).await {
                Ok(online) => {
                    verdict = Verdict {
                        ticket_id: offline.ticket_id,
                        ticket_version: offline.ticket_version,
                        device_counter: offline.device_counter,
                        ..online
                    };
                }
                Err(e) => tracing::info!(error = %e, "online check failed; deciding offline"),
            }
        }
        // The session the gate admitted for: fixed, or the ticket's if it is one of this venue's
        // (a code naming anything else is logged without one, so its upload is never refused).
        let session_id = match (self.config.session, verdict.session_id) {
            (Some(fixed), _) => Some(fixed),
            (None, Some(id)) if self.db.session(id).await?.is_some() => Some(id),
            _ => None,
        };
        let seq = self
            .db
            .record_scan(&NewScan {
                scanned_at_ms: now,
                gate_id: self.enrolment.gate_id,
                session_id,
                ticket_id: verdict.ticket_id,
                ticket_version: verdict.ticket_version,
                reason: verdict.deny,
                latitude: self.config.latitude,
                longitude: self.config.longitude,
                online: verdict.online,
                server_entries_used: verdict.entries_used,
                direction: self.config.direction,
                device_counter: verdict.device_counter,
            })
            .await?;
        Ok((seq, verdict))
    }

    /// Uploads pending scans, then pulls changes.
    pub async fn refresh(&self) -> Result<(UploadSummary, SyncSummary), GateError> {
        let uploaded = upload_pending(&self.db, &self.client).await?;
        let synced = sync(&self.db, &self.client, |_, _| {}).await?;
        Ok((uploaded, synced))
    }

    /// Refreshes every `refresh_every` until `stop` turns true, keeping [`Health`] current.
    pub async fn run_background(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let outcome = self.refresh().await;
            let pending = self.db.scan_counts().await.map(|(_, p)| p).unwrap_or(0);
            {
                let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
                health.pending = pending;
                match outcome {
                    Ok((up, _)) => {
                        health.last_contact_ms = Some(now_ms());
                        health.last_error = None;
                        if up.conflicts > 0 {
                            tracing::warn!(
                                conflicts = up.conflicts,
                                "the server reported conflicts for uploaded admits"
                            );
                        }
                    }
                    Err(e) => health.last_error = Some(e.to_string()),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.refresh_every) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}
