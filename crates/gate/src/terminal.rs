//! One terminal at work: decides a scan (online first when asked, with a deadline, else or on
//! failure offline), commits it to the local log, and only then returns the verdict to show.
//! In the background it uploads what it scanned and pulls changes every few seconds; a refused
//! upload is shown and the changes are pulled all the same.

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
    /// Why the last round could not sync, if it could not.
    pub last_error: Option<String>,
    /// Why the last upload was refused or failed, if it was (the sync still ran).
    pub upload_error: Option<String>,
    /// Scans waiting for upload (recounted after every scan and every round).
    pub pending: i64,
}

/// What one background round did: the upload and the sync each succeed or fail on their own,
/// so a refused upload never keeps the terminal from pulling changes.
#[derive(Debug)]
pub struct Refreshed {
    pub upload: Result<UploadSummary, GateError>,
    pub sync: Result<SyncSummary, GateError>,
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
        if let Ok(pending) = self.db.pending_count().await {
            self.health.lock().unwrap_or_else(|p| p.into_inner()).pending = pending;
        }
        Ok((seq, verdict))
    }

    /// Logs a scan whose code could not be read as text at all (not UTF-8: a misread
    /// barcode): refused `malformed`, like any other code that is no ticket.
    pub async fn scan_unreadable(&self) -> Result<(i64, Verdict), GateError> {
        let verdict = Verdict {
            deny: Some(admit_domain::DenyReason::Malformed),
            reference: None,
            seat: None,
            grade: None,
            admits: 0,
            direction: self.config.direction,
            inside: None,
            entry_policy: None,
            entries_used: None,
            max_entries: None,
            session_id: None,
            ticket_id: None,
            ticket_version: None,
            online: false,
            device_counter: None,
        };
        let seq = self
            .db
            .record_scan(&NewScan {
                scanned_at_ms: now_ms(),
                gate_id: self.enrolment.gate_id,
                session_id: self.config.session,
                ticket_id: None,
                ticket_version: None,
                reason: verdict.deny,
                latitude: self.config.latitude,
                longitude: self.config.longitude,
                online: false,
                server_entries_used: None,
                direction: self.config.direction,
                device_counter: None,
            })
            .await?;
        if let Ok(pending) = self.db.pending_count().await {
            self.health.lock().unwrap_or_else(|p| p.into_inner()).pending = pending;
        }
        Ok((seq, verdict))
    }

    /// Uploads pending scans, then pulls changes: an error of either (the upload's first).
    pub async fn refresh(&self) -> Result<(UploadSummary, SyncSummary), GateError> {
        let Refreshed { upload, sync } = self.refresh_each().await;
        Ok((upload?, sync?))
    }

    /// Uploads pending scans, then pulls changes whatever the upload did.
    pub async fn refresh_each(&self) -> Refreshed {
        let upload = upload_pending(&self.db, &self.client).await;
        if let Err(e) = &upload {
            tracing::warn!(error = %e, "upload failed; syncing anyway");
        }
        let sync = sync(&self.db, &self.client, |_, _| {}).await;
        Refreshed { upload, sync }
    }

    /// Refreshes every `refresh_every` until `stop` turns true, keeping [`Health`] current.
    pub async fn run_background(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let Refreshed { upload, sync } = self.refresh_each().await;
            let pending = self.db.pending_count().await;
            {
                let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
                if let Ok(pending) = pending {
                    health.pending = pending;
                }
                match upload {
                    Ok(up) => {
                        health.upload_error = None;
                        if up.conflicts > 0 {
                            tracing::warn!(
                                conflicts = up.conflicts,
                                "the server reported conflicts for uploaded admits"
                            );
                        }
                    }
                    Err(e) => health.upload_error = Some(e.to_string()),
                }
                match sync {
                    Ok(_) => {
                        health.last_contact_ms = Some(now_ms());
                        health.last_error = None;
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
