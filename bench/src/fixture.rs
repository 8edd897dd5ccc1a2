//! An in-process Admit server on its own runtime and threads (so the load generator measures
//! real HTTP over loopback), seeded with one event of M seats or M general-admission units.

use admit_credential::Issuer;
use admit_domain::{Currency, EntryPolicy, EventKind, SeatingMode};
use admit_payments::CardSimulator;
use admit_server::{AppState, Settings, auth};
use admit_store::{
    EventKeys, NewEvent, NewGate, NewGrade, NewSeat, NewSession, NewVenue, SqliteStore, StaffRole, Store,
};
use std::sync::Arc;
use std::time::Duration;

pub struct Server {
    pub base: String,
    pub session_id: i64,
    pub grade_id: i64,
    pub staff_token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn seed(store: &dyn Store, units: u32, reserved: bool) -> anyhow::Result<(i64, i64, String)> {
    let org = store.create_organiser("Bench").await?;
    let venue = store
        .create_venue(NewVenue {
            organiser_id: org,
            name: "Bench Arena".into(),
            city: "Seoul".into(),
            latitude: 37.5,
            longitude: 127.0,
            gates: vec![NewGate { name: "Gate 1".into(), latitude: 37.5, longitude: 127.0 }],
        })
        .await?;
    let seats = if reserved {
        (0..units)
            .map(|i| NewSeat {
                grade_code: "A".into(),
                section: "Floor".into(),
                row: format!("R{}", i / 50),
                row_rank: (i / 50) as i32,
                number: (i % 50) as i32 + 1,
                label: format!("R{}-{}", i / 50, i % 50 + 1),
            })
            .collect()
    } else {
        Vec::new()
    };
    let issuer = Issuer::generate(rand::random::<u32>() | 1);
    let now = admit_server::state::now_ms();
    let event = store
        .create_event(NewEvent {
            organiser_id: org,
            venue_id: venue.id,
            name: "Bench on-sale".into(),
            kind: EventKind::Concert,
            description: String::new(),
            currency: Currency::KRW,
            route: None,
            grades: vec![NewGrade {
                code: "A".into(),
                name: "A".into(),
                seating: if reserved { SeatingMode::Reserved } else { SeatingMode::GeneralAdmission },
                price_minor: 50_000,
                policy: EntryPolicy::SINGLE,
                quota: units,
            }],
            sessions: vec![NewSession {
                label: "Tonight".into(),
                starts_at_ms: now + 3_600_000,
                ends_at_ms: now + 4 * 3_600_000,
                doors_at_ms: now - 3_600_000,
            }],
            seats,
            keys: EventKeys {
                key_id: issuer.key_id(),
                signing_secret: issuer.secret_bytes(),
                public_key: issuer.public_key(),
                inspection_key: rand::random(),
            },
        })
        .await?;
    let detail = store.event(event).await?;
    let token = auth::issue_staff_token(store, org, StaffRole::Admin, "bench").await?;
    Ok((detail.sessions[0].id.0, detail.grades[0].id.0, token))
}

/// Starts the server on 127.0.0.1:0 with `server_threads` runtime workers.
pub fn start(units: u32, reserved: bool, server_threads: usize) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().to_owned();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(server_threads).enable_all().build();
        let rt = match rt {
            Ok(rt) => rt,
            Err(e) => return drop(ready_tx.send(Err(anyhow::anyhow!(e)))),
        };
        rt.block_on(async move {
            let boot = async {
                let store = SqliteStore::open(&path.join("admit.db")).await?;
                let seeded = seed(&store, units, reserved).await?;
                let sim = CardSimulator::open(&path.join("sim.db"), Duration::from_secs(1)).await?;
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let state = AppState::new(Arc::new(store), Arc::new(sim), Settings::default());
                anyhow::Ok((listener, state, addr, seeded))
            };
            match boot.await {
                Ok((listener, state, addr, seeded)) => {
                    let _ = ready_tx.send(Ok((addr, seeded)));
                    let _ = admit_server::serve(listener, state, async {
                        let _ = shutdown_rx.await;
                    })
                    .await;
                }
                Err(e) => drop(ready_tx.send(Err(e))),
            }
        });
    });
    let (addr, (session_id, grade_id, staff_token)) = ready_rx.recv()??;
    Ok(Server {
        base: format!("http://{addr}"),
        session_id,
        grade_id,
        staff_token,
        shutdown: Some(shutdown_tx),
        thread: Some(thread),
        _dir: dir,
    })
}
