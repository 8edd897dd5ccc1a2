//! A real Admit server in-process on 127.0.0.1:0 (fresh SQLite file and card simulator in a
//! temporary folder) with one organiser, a venue of two gates and a general-admission event
//! (GA: one entry; PASS: two), plus terminals enrolled and synced against it through the real
//! API. Tickets are bought through the API, so their credentials are the server's own.
#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

use admit_credential::{Credential, HolderBinding, Issuer, Payload};
use admit_domain::{Currency, EntryPolicy, EventId, EventKind, GateId, GradeId, OrganiserId, SeatingMode, SessionId};
use admit_gate::{LocalDb, Terminal, TerminalConfig};
use admit_payments::CardSimulator;
use admit_server::auth::issue_staff_token;
use admit_server::ratelimit::LimitSettings;
use admit_server::{AppState, Settings};
use admit_store::{EventKeys, NewEvent, NewGate, NewGrade, NewSession, NewVenue, SqliteStore, StaffRole, Store};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const HOUR: i64 = 3_600_000;

/// A running server and its seeded world.
pub struct Venue {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub db_path: PathBuf,
    pub organiser: OrganiserId,
    pub staff_token: String,
    pub gates: [GateId; 2],
    pub event: EventId,
    pub session: SessionId,
    /// A second session (day) of the event, at the same times.
    pub day2: SessionId,
    pub ga: GradeId,
    /// Two entries.
    pub pass: GradeId,
    /// Re-entry with pass-out, up to five entries.
    pub reentry: GradeId,
    /// A multi-day pass: one entry per session.
    pub days: GradeId,
    pub keys: EventKeys,
    shutdown: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    server: std::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    pub dir: tempfile::TempDir,
}

impl Drop for Venue {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(());
        }
    }
}

/// A bought ticket: its id, version and the static credential the server issued.
#[derive(Debug, Clone)]
pub struct Bought {
    pub id: i64,
    pub credential: String,
}

impl Venue {
    pub async fn start() -> Venue {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("admit.db");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db_path).await.expect("open the store"));
        let gateway = CardSimulator::open(&dir.path().join("sim.db"), Duration::from_secs(1)).await.expect("simulator");
        let organiser = store.create_organiser("Gate Test Productions").await.unwrap();
        let staff_token = issue_staff_token(store.as_ref(), organiser, StaffRole::Gate, "gate tests").await.unwrap();
        let gate = |name: &str| NewGate { name: name.into(), latitude: 37.5, longitude: 127.0 };
        let venue = store
            .create_venue(NewVenue {
                organiser_id: organiser,
                name: "Test Park".into(),
                city: "Seoul".into(),
                latitude: 37.5,
                longitude: 127.0,
                gates: vec![gate("North"), gate("South")],
            })
            .await
            .unwrap();
        let issuer = Issuer::generate(rand::random::<u32>() >> 2);
        let keys = EventKeys {
            key_id: issuer.key_id(),
            signing_secret: issuer.secret_bytes(),
            public_key: issuer.public_key(),
            inspection_key: rand::random(),
        };
        let now = admit_gate::now_ms();
        let grade = |code: &str, policy| NewGrade {
            code: code.into(),
            name: code.into(),
            seating: SeatingMode::GeneralAdmission,
            price_minor: 10_000,
            policy,
            quota: 50,
        };
        let reentry = EntryPolicy { max_entries: 5, reentry: true, multi_day: false };
        let days = EntryPolicy { max_entries: 1, reentry: false, multi_day: true };
        let event = store
            .create_event(NewEvent {
                organiser_id: organiser,
                venue_id: venue.id,
                name: "Gate Test Festival".into(),
                kind: EventKind::Concert,
                description: "General admission".into(),
                currency: Currency::KRW,
                route: None,
                grades: vec![
                    grade("GA", EntryPolicy::SINGLE),
                    grade("PASS", EntryPolicy::entries(2)),
                    grade("OUT", reentry),
                    grade("DAYS", days),
                ],
                sessions: ["Saturday", "Sunday"]
                    .into_iter()
                    .map(|label| NewSession {
                        label: label.into(),
                        starts_at_ms: now + HOUR,
                        ends_at_ms: now + 4 * HOUR,
                        doors_at_ms: now - HOUR,
                    })
                    .collect(),
                seats: vec![],
                keys: keys.clone(),
            })
            .await
            .unwrap();
        let detail = store.event(event).await.unwrap();
        let grade_id = |code: &str| detail.grades.iter().find(|g| g.code == code).unwrap().id;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let settings = Settings { limits: LimitSettings::off(), ..Settings::default() };
        let state = AppState::new(store.clone(), Arc::new(gateway), settings);
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(admit_server::serve(listener, state, async {
            let _ = rx.await;
        }));
        Venue {
            base,
            client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            store,
            db_path,
            organiser,
            staff_token,
            gates: [venue.gates[0].id, venue.gates[1].id],
            event,
            session: detail.sessions[0].id,
            day2: detail.sessions[1].id,
            ga: grade_id("GA"),
            pass: grade_id("PASS"),
            reentry: grade_id("OUT"),
            days: grade_id("DAYS"),
            keys,
            shutdown: std::sync::Mutex::new(Some(tx)),
            server: std::sync::Mutex::new(Some(server)),
            dir,
        }
    }

    /// Stops the server and waits until it is gone: the terminals must decide alone from now on.
    pub async fn stop_server_for_offline(&self) {
        if let Some(tx) = self.shutdown.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(());
        }
        let server = self.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(server) = server {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }

    /// Buys `quantity` tickets of `grade` with the approving test card.
    pub async fn buy(&self, grade: GradeId, quantity: u32) -> Vec<Bought> {
        let hold: Value = self
            .client
            .post(format!("{}/holds", self.base))
            .json(&json!({ "session_id": self.session.0, "grade_id": grade.0, "quantity": quantity }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hold_id = hold["id"].as_str().unwrap_or_else(|| panic!("no hold: {hold}"));
        let card = json!({ "card": { "number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123" } });
        let order: Value = self
            .client
            .post(format!("{}/holds/{hold_id}/payments", self.base))
            .json(&card)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tickets = order["tickets"].as_array().unwrap_or_else(|| panic!("no order: {order}"));
        tickets
            .iter()
            .map(|t| Bought {
                id: t["id"].as_str().unwrap().parse().unwrap(),
                credential: t["credential"].as_str().unwrap().to_owned(),
            })
            .collect()
    }

    /// The event's signer, as the server holds it (to re-issue like a re-bind would).
    pub fn issuer(&self) -> Issuer {
        Issuer::from_secret(self.keys.key_id, &self.keys.signing_secret)
    }

    /// Re-issues a ticket as the server does on a change: version + 1 in the store, so every
    /// earlier credential is revoked; returns the new credential with `holder`.
    pub async fn reissue(&self, ticket: &Bought, holder: HolderBinding) -> Credential {
        let mut payload: Payload = Credential::from_text(&ticket.credential).unwrap().payload_unverified().unwrap();
        payload.ticket_version += 1;
        payload.holder = holder;
        let credential = self.issuer().issue(payload.clone()).unwrap();
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.db_path.display())).await.unwrap();
        sqlx::query("UPDATE tickets SET version = ?, credential = ? WHERE id = ?")
            .bind(i64::from(payload.ticket_version))
            .bind(credential.to_text())
            .bind(ticket.id)
            .execute(&mut conn)
            .await
            .unwrap();
        credential
    }

    /// Enrols a terminal at gate `gate` (0 or 1) through the API, in its own folder, synced.
    pub async fn terminal(&self, gate: usize, config: TerminalConfig) -> Terminal {
        let folder = self.dir.path().join(format!("terminal-{gate}-{}", rand::random::<u32>()));
        let db = LocalDb::open(&folder.join("gate.db")).await.unwrap();
        let enrolment =
            admit_gate::enrol(&self.base, &self.staff_token, self.gates[gate].0, Some("test")).await.unwrap();
        db.save_enrolment(&enrolment).await.unwrap();
        let terminal = Terminal::open(db, config).await.unwrap();
        terminal.refresh().await.expect("first sync");
        terminal
    }

    /// `GET /sessions/{id}/conflicts` as the organiser's staff.
    pub async fn conflicts(&self) -> Vec<Value> {
        let url = format!("{}/sessions/{}/conflicts", self.base, self.session.0);
        let body: Value =
            self.client.get(url).bearer_auth(&self.staff_token).send().await.unwrap().json().await.unwrap();
        body.as_array().unwrap_or_else(|| panic!("conflicts: {body}")).clone()
    }
}

use sqlx::Connection;
