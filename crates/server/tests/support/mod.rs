//! Test harness: starts the real server (`admit_server::serve`) on 127.0.0.1:0 with a fresh
//! SQLite file and card-simulator ledger in a temporary folder, seeds the fixture world, and
//! offers a reqwest client with helpers that speak the API. Each test gets its own server and
//! database; dropping the `TestApp` signals the server to shut down.
#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

mod assert;
pub mod chromium;
pub mod fixtures;
pub mod phone;

pub use assert::*;

use admit_domain::{GateId, GradeId, PaymentState, SessionId};
use admit_payments::CardSimulator;
use admit_server::ratelimit::LimitSettings;
use admit_server::{AppState, Settings};
use admit_store::{Payment, SqliteStore, Store};
use fixtures::{Layout, World};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Test cards of the simulator.
pub mod cards {
    pub const APPROVED: &str = "4242424242424242";
    pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
    pub const STOLEN: &str = "4000000000009979";
    pub const EXPIRED: &str = "4000000000000069";
    pub const TIMEOUT: &str = "4000000000000119";
    /// Fails the Luhn check (4242… with the last digit changed).
    pub const BAD_CHECK_DIGIT: &str = "4242424242424241";
}

/// What a test may tune: server settings, how long the timeout card hangs, event sizes.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub gateway_hang: Duration,
    pub layout: Layout,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            settings: Settings { limits: LimitSettings::off(), ..Settings::default() },
            gateway_hang: Duration::from_secs(2),
            layout: Layout::default(),
        }
    }
}

/// A running server with its seeded world (reachable through `Deref`).
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    /// The simulator's ledger, to check what was charged and refunded.
    pub gateway: CardSimulator,
    pub world: World,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestApp {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Config::default()).await
    }

    pub async fn spawn_with(config: Config) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(&dir.path().join("admit.db")).await.expect("open the store"));
        let gateway =
            CardSimulator::open(&dir.path().join("sim.db"), config.gateway_hang).await.expect("open the simulator");
        let world = fixtures::seed(store.as_ref(), &config.layout).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let state = AppState::new(store.clone(), Arc::new(gateway.clone()), config.settings);
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(admit_server::serve(listener, state, async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()
            .expect("http client");
        TestApp { base_url, client, store, gateway, world, shutdown: Some(tx), server: Some(server), _dir: dir }
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let server = self.server.take().expect("server handle");
        let served = tokio::time::timeout(Duration::from_secs(10), server).await;
        served.expect("the server stops within 10 s").expect("server task").expect("serve returns Ok");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.expect("POST")
    }

    /// Sends `POST path` on a task of its own, for races.
    pub fn spawn_post(&self, path: &str, body: Value, token: Option<&str>) -> JoinHandle<reqwest::Result<Response>> {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        tokio::spawn(request.send())
    }

    /// `quantity` of a grade: best-available seats (reserved) or units (general admission).
    pub async fn hold_best(&self, session: SessionId, grade: GradeId, quantity: u32) -> Response {
        self.post_json("/holds", &json!({ "session_id": session.0, "grade_id": grade.0, "quantity": quantity })).await
    }

    pub async fn hold_seats(&self, session: SessionId, seats: &[i64]) -> Response {
        self.post_json("/holds", &json!({ "session_id": session.0, "seat_ids": seats })).await
    }

    pub async fn cancel(&self, hold_id: &str) -> Response {
        self.client.delete(self.url(&format!("/holds/{hold_id}"))).send().await.expect("DELETE")
    }

    pub async fn pay(&self, hold_id: &str, card: &str) -> Response {
        self.post_json(&format!("/holds/{hold_id}/payments"), &card_body(card)).await
    }

    pub async fn scan(&self, credential: &str, gate: GateId, session: SessionId, token: &str) -> Response {
        self.client
            .post(self.url("/gate/scans"))
            .bearer_auth(token)
            .json(&json!({ "credential": credential, "gate_id": gate.0, "session_id": session.0 }))
            .send()
            .await
            .expect("POST /gate/scans")
    }

    /// Scans with the organiser's gate token and returns the verdict (asserting 200).
    pub async fn scan_verdict(&self, credential: &str, gate: GateId, session: SessionId) -> Value {
        json_body(self.scan(credential, gate, session, &self.organiser.gate_token).await, StatusCode::OK).await
    }

    /// The live availability of one grade in a session.
    pub async fn availability(&self, session: SessionId, grade: GradeId) -> Value {
        let body = json_body(self.get(&format!("/sessions/{}", session.0)).await, StatusCode::OK).await;
        let grades = body["availability"].as_array().expect("availability array");
        grades.iter().find(|a| a["grade_id"] == grade.0).cloned().expect("the grade's availability")
    }

    /// `(held, sold, remaining)` of one grade in a session.
    pub async fn counts(&self, session: SessionId, grade: GradeId) -> (u64, u64, u64) {
        let a = self.availability(session, grade).await;
        let n = |k: &str| a[k].as_u64().expect("count");
        (n("held"), n("sold"), n("remaining"))
    }

    pub async fn seats(&self, session: SessionId) -> Vec<Value> {
        let body = json_body(self.get(&format!("/sessions/{}/seats", session.0)).await, StatusCode::OK).await;
        body.as_array().expect("seat array").clone()
    }

    /// The seat ids of one grade in a session, best rows first.
    pub async fn seat_ids(&self, session: SessionId, grade: GradeId) -> Vec<i64> {
        let seats = self.seats(session).await;
        seats.iter().filter(|s| s["grade_id"] == grade.0).map(|s| s["id"].as_i64().expect("seat id")).collect()
    }

    pub async fn manifest(&self, session: SessionId, token: &str) -> Vec<Value> {
        let resp = self.get_as(&format!("/sessions/{}/manifest", session.0), token).await;
        json_body(resp, StatusCode::OK).await.as_array().expect("manifest rows").clone()
    }

    /// Every payment attempt the store recorded, in any state.
    pub async fn payments(&self) -> Vec<Payment> {
        let mut all = Vec::new();
        for state in [
            PaymentState::Pending,
            PaymentState::Approved,
            PaymentState::Declined,
            PaymentState::TimedOut,
            PaymentState::Refunded,
        ] {
            all.extend(self.store.payments_in_state(state, i64::MAX).await.expect("payments"));
        }
        all
    }

    /// Holds and pays with the approving card; returns the order.
    pub async fn buy(&self, session: SessionId, grade: GradeId, quantity: u32) -> Value {
        let hold = created_hold(self.hold_best(session, grade, quantity).await).await;
        json_body(self.pay(hold["id"].as_str().expect("hold id"), cards::APPROVED).await, StatusCode::CREATED).await
    }
}

pub fn card_body(number: &str) -> Value {
    json!({ "card": { "number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123" } })
}
