//! An in-process Admit server on its own runtime and threads (so the load generator measures
//! real HTTP over loopback), seeded with one event of M seats or M general-admission units,
//! optionally with all of them already sold (for the gate benchmark).

use admit_credential::Issuer;
use admit_domain::{Currency, EntryPolicy, EventKind, GradeId, MAX_TICKETS_PER_HOLD, SeatingMode, SessionId};
use admit_payments::CardSimulator;
use admit_server::ratelimit::LimitSettings;
use admit_server::service::issue::build_tickets;
use admit_server::state::now_ms;
use admit_server::{AppState, Settings, auth};
use admit_store::postgres::scratch::ScratchDatabase;
use admit_store::{
    CompleteOrder, EventKeys, HoldRequest, NewEvent, NewGate, NewGrade, NewHold, NewPayment, NewSeat, NewSession,
    NewVenue, PgStore, SqliteStore, StaffRole, Store,
};
use std::sync::Arc;
use std::time::Duration;

pub struct Server {
    pub base: String,
    pub session_id: i64,
    pub grade_id: i64,
    pub staff_token: String,
    /// Every gate of the bench venue.
    pub gate_ids: Vec<i64>,
    /// Credentials of the tickets sold before the server started (empty unless asked for).
    pub credentials: Vec<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    /// Dropped after the server thread (fields drop in order): the database goes last.
    _scratch: Option<ScratchDatabase>,
}

impl Server {
    /// The session's manifest as the organiser's staff see it.
    pub async fn manifest(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let url = format!("{}/sessions/{}/manifest", self.base, self.session_id);
        Ok(reqwest::Client::new().get(url).bearer_auth(&self.staff_token).send().await?.json().await?)
    }
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

/// What the load generator is started against.
struct Plan {
    units: u32,
    reserved: bool,
    gates: usize,
    /// Sell every unit before serving (general admission only).
    sell_all: bool,
}

struct Seeded {
    session_id: i64,
    grade_id: i64,
    staff_token: String,
    gate_ids: Vec<i64>,
    credentials: Vec<String>,
}

async fn seed(store: &dyn Store, plan: &Plan) -> anyhow::Result<Seeded> {
    let (units, reserved) = (plan.units, plan.reserved);
    let org = store.create_organiser("Bench").await?;
    let venue = store
        .create_venue(NewVenue {
            organiser_id: org,
            name: "Bench Arena".into(),
            city: "Seoul".into(),
            latitude: 37.5,
            longitude: 127.0,
            gates: (1..=plan.gates.max(1))
                .map(|i| NewGate { name: format!("Gate {i}"), latitude: 37.5, longitude: 127.0 })
                .collect(),
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
    let now = now_ms();
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
    Ok(Seeded {
        session_id: detail.sessions[0].id.0,
        grade_id: detail.grades[0].id.0,
        staff_token: token,
        gate_ids: venue.gates.iter().map(|g| g.id.0).collect(),
        credentials: Vec::new(),
    })
}

/// Sells `count` general-admission tickets straight through the store (hold, pending payment,
/// `complete_order`), signed by the server's own issuing code; returns their credentials.
/// Eight sellers overlap the signing with the writer's commits.
async fn sell(state: &AppState, session: SessionId, grade: GradeId, count: u32) -> anyhow::Result<Vec<String>> {
    let holds = count.div_ceil(MAX_TICKETS_PER_HOLD);
    let mut sellers = tokio::task::JoinSet::new();
    for seller in 0..8 {
        let state = state.clone();
        sellers.spawn(async move {
            let mut credentials = Vec::new();
            for h in (seller..holds).step_by(8) {
                let quantity = MAX_TICKETS_PER_HOLD.min(count - h * MAX_TICKETS_PER_HOLD);
                let now = now_ms();
                let request = HoldRequest::Units { grade, quantity };
                let id = format!("bench-hold-{h}");
                let new = NewHold { id, session_id: session, request, now_ms: now, expires_at_ms: now + 600_000 };
                let hold = state.store.create_hold(new).await?;
                let payment_id = format!("bench-payment-{h}");
                let (gateway, method) = ("bench-seed".to_owned(), "seeded by admit-bench".to_owned());
                let payment = NewPayment {
                    id: payment_id.clone(),
                    hold_id: hold.id.clone(),
                    gateway,
                    amount: hold.total,
                    method,
                    now_ms: now,
                };
                state.store.begin_payment(payment).await?;
                let tickets = build_tickets(&state, &hold).await?;
                credentials.extend(tickets.iter().map(|t| t.credential.clone()));
                let order = CompleteOrder {
                    order_id: format!("bench-order-{h}"),
                    hold_id: hold.id,
                    payment_id,
                    authorization: "bench-seed".into(),
                    tickets,
                    now_ms: now_ms(),
                    login_link: None,
                };
                state.store.complete_order(order).await?;
            }
            anyhow::Ok(credentials)
        });
    }
    let mut credentials = Vec::with_capacity(count as usize);
    while let Some(done) = sellers.join_next().await {
        credentials.extend(done??);
    }
    Ok(credentials)
}

/// Starts the server on 127.0.0.1:0 with `server_threads` runtime workers.
pub fn start(units: u32, reserved: bool, server_threads: usize, backend: Backend) -> anyhow::Result<Server> {
    boot(Plan { units, reserved, gates: 1, sell_all: false }, server_threads, backend)
}

/// Starts the server with `tickets` general-admission tickets already sold and `gates` gates
/// at the venue: what the gate benchmark scans.
pub fn start_sold(tickets: u32, gates: usize, server_threads: usize, backend: Backend) -> anyhow::Result<Server> {
    boot(Plan { units: tickets, reserved: false, gates, sell_all: true }, server_threads, backend)
}

/// Which store the benchmarked server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh scratch database on the PostgreSQL of `ADMIT_TEST_POSTGRES`
    /// (default postgres://postgres@127.0.0.1:5432/test), dropped afterwards.
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Peak resident memory of this process (server and load generator together), in MiB.
pub fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn boot(plan: Plan, server_threads: usize, backend: Backend) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().to_owned();
    let scratch = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(ScratchDatabase::create()?),
    };
    let pg_url = scratch.as_ref().map(|s| s.url().to_owned());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(server_threads)
            .thread_name("admit-server")
            .enable_all()
            .build();
        let rt = match rt {
            Ok(rt) => rt,
            Err(e) => return drop(ready_tx.send(Err(anyhow::anyhow!(e)))),
        };
        rt.block_on(async move {
            let boot = async {
                let (store, sqlite): (Arc<dyn Store>, _) = match &pg_url {
                    Some(url) => (Arc::new(PgStore::connect_with(url, 16).await?), None),
                    None => {
                        let s = SqliteStore::open(&path.join("admit.db")).await?;
                        (Arc::new(s.clone()), Some(s))
                    }
                };
                let mut seeded = seed(store.as_ref(), &plan).await?;
                let sim = CardSimulator::open(&path.join("sim.db"), Duration::from_secs(1)).await?;
                let listener = admit_server::listen::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let settings = Settings { limits: LimitSettings::off(), ..Settings::default() };
                let state = AppState::new(store, Arc::new(sim), settings);
                if plan.sell_all {
                    let (session, grade) = (SessionId(seeded.session_id), GradeId(seeded.grade_id));
                    seeded.credentials = sell(&state, session, grade, plan.units).await?;
                }
                anyhow::Ok((listener, state, addr, seeded, sqlite))
            };
            match boot.await {
                Ok((listener, state, addr, seeded, sqlite)) => {
                    let _ = ready_tx.send(Ok((addr, seeded)));
                    let before = sqlite.as_ref().map(SqliteStore::write_stats);
                    let _ = admit_server::serve(listener, state, async {
                        let _ = shutdown_rx.await;
                    })
                    .await;
                    // How well writes were grouped while the load ran (stderr: the JSON line
                    // on stdout stays the only output scripts read).
                    if let (Some(s), Some(b)) = (&sqlite, before) {
                        let a = s.write_stats();
                        let (commits, ops) = (a.batches - b.batches, a.ops - b.ops);
                        eprintln!(
                            "sqlite writer: {ops} operations in {commits} commits ({:.1} per commit)",
                            ops as f64 / commits.max(1) as f64
                        );
                    }
                }
                Err(e) => drop(ready_tx.send(Err(e))),
            }
        });
    });
    let (addr, seeded) = ready_rx.recv()??;
    Ok(Server {
        base: format!("http://{addr}"),
        session_id: seeded.session_id,
        grade_id: seeded.grade_id,
        staff_token: seeded.staff_token,
        gate_ids: seeded.gate_ids,
        credentials: seeded.credentials,
        shutdown: Some(shutdown_tx),
        thread: Some(thread),
        _dir: dir,
        _scratch: scratch,
    })
}
