//! Helpers for end-to-end tests that run the real `admit` binary: a child-process guard that
//! kills the server on drop, port discovery from the binary's own output, small HTTP helpers,
//! and an invariant checker that reads both SQLite files (Admit's `admit.db` and the card
//! simulator's `payments-sim.db`) directly, read-only.

use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Settings that make reconciliation and hold sweeping fast enough for a test: reconciliation
/// settles attempts older than the 1 s payment timeout, every 200 ms.
const FAST_ENV: &[(&str, &str)] =
    &[("ADMIT_PAYMENT_TIMEOUT_MS", "1000"), ("ADMIT_RECONCILE_INTERVAL_MS", "200"), ("ADMIT_SWEEP_INTERVAL_MS", "200")];
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const LOG_LINES_KEPT: usize = 300;

/// The card every buyer pays with: the simulator approves it.
pub fn approving_card() -> Value {
    serde_json::json!({ "card": { "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123" } })
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock before 1970").as_millis() as i64
}

/// A running `admit` child process. Dropping it kills the process, so no test leaves a server
/// behind, even when it panics.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// `admit demo --port 0 --data-dir DIR`: seeds the demo events (once) and serves.
    pub fn demo(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start("demo", data_dir, env)
    }

    /// `admit serve --port 0 --data-dir DIR`: serves what is already in the folder.
    pub fn serve(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start("serve", data_dir, env)
    }

    fn start(mode: &str, data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_admit"));
        command
            .arg(mode)
            .arg("--port")
            .arg("0")
            .arg("--data-dir")
            .arg(data_dir)
            .current_dir(data_dir)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info,sqlx=warn,tower_http=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in FAST_ENV.iter().chain(env) {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start `admit {mode}`: {e}"));
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (lines_tx, lines_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        // The guard exists from here on, so a panic below still kills the child.
        let mut server = Server { child, base: String::new(), log: log.clone() };
        drain(stdout, log.clone(), lines_tx.clone());
        drain(stderr, log, lines_tx);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(port) = listening_port(&line) {
                        server.base = format!("http://127.0.0.1:{port}");
                        return server;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "timed out after {STARTUP_TIMEOUT:?} waiting for `admit {mode}` to print the address it \
                     listens on; its output so far:\n{}",
                    server.log_tail()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "`admit {mode}` closed its output before printing its address (exit: {:?}); its output:\n{}",
                    server.child.try_wait(),
                    server.log_tail()
                ),
            }
        }
    }

    /// Kills the server the hard way and waits for it to be gone. `Child::kill` sends SIGKILL on
    /// Unix: no destructor, no graceful shutdown, no WAL checkpoint — exactly a crash.
    pub fn sigkill(&mut self) -> ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the server had already exited ({status}) before it was killed; output:\n{}", self.log_tail());
        }
        self.child.kill().expect("SIGKILL the server");
        let status = self.child.wait().expect("reap the killed server");
        assert!(!status.success(), "a SIGKILLed server cannot exit successfully: {status}");
        status
    }

    /// The last lines the server printed (stdout and stderr), for failure messages.
    pub fn log_tail(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGKILL on Unix; harmless if the process is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a pipe of the child until it closes, so the child never blocks on a full pipe; keeps
/// the last lines for diagnostics and forwards every line to whoever still listens.
fn drain(pipe: impl Read + Send + 'static, log: Arc<Mutex<VecDeque<String>>>, lines: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                    {
                        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                        if log.len() == LOG_LINES_KEPT {
                            log.pop_front();
                        }
                        log.push_back(line.clone());
                    }
                    let _ = lines.send(line);
                }
            }
        }
    });
}

/// The port in the demo's `Events  http://127.0.0.1:PORT/events` line, or in the
/// `admit is serving address=127.0.0.1:PORT` log line that `admit serve` prints.
fn listening_port(line: &str) -> Option<u16> {
    let plain = strip_ansi(line);
    if !(plain.contains("/events") || plain.contains("admit is serving")) {
        return None;
    }
    let rest = &plain[plain.find("127.0.0.1:")? + "127.0.0.1:".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|p| *p != 0)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// HTTP

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .expect("build the HTTP client")
}

/// POSTs JSON; the status and the parsed body (`Null` when it is not JSON).
pub async fn post(client: &reqwest::Client, url: &str, body: &Value) -> reqwest::Result<(u16, Value)> {
    let response = client.post(url).json(body).send().await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

/// GETs a JSON resource and insists on 200.
pub async fn get_ok(client: &reqwest::Client, url: &str) -> Value {
    let response = client.get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_else(|e| panic!("GET {url}: body is not JSON: {e}"));
    assert_eq!(status.as_u16(), 200, "GET {url}: {body}");
    body
}

/// The problem `type` slug of a problem+json body (`sold-out` for `/problems/sold-out`).
pub fn problem_slug(body: &Value) -> &str {
    body["type"].as_str().and_then(|t| t.rsplit('/').next()).unwrap_or("")
}

/// A hold as the API returned it, with what a payment row for it needs.
#[derive(Debug, Clone)]
pub struct HeldSeats {
    pub id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub units: usize,
    pub seat_ids: BTreeSet<i64>,
}

/// Places a hold and insists it succeeds.
pub async fn hold(client: &reqwest::Client, base: &str, session: i64, grade: i64, quantity: u32) -> HeldSeats {
    let request = serde_json::json!({ "session_id": session, "grade_id": grade, "quantity": quantity });
    let (status, body) =
        post(client, &format!("{base}/holds"), &request).await.unwrap_or_else(|e| panic!("POST /holds: {e}"));
    assert_eq!(status, 201, "POST /holds {request}: {body}");
    let lines = body["lines"].as_array().expect("hold lines");
    HeldSeats {
        id: body["id"].as_str().expect("hold id").to_owned(),
        amount_minor: body["total"]["amount_minor"].as_i64().expect("total.amount_minor"),
        currency: body["total"]["currency"].as_str().expect("total.currency").to_owned(),
        units: lines.iter().map(|l| l["quantity"].as_u64().expect("line quantity") as usize).sum(),
        seat_ids: lines.iter().filter_map(|l| l["seat_id"].as_i64()).collect(),
    }
}

/// An order a buyer was shown: it must survive anything.
#[derive(Debug, Clone)]
pub struct Acked {
    pub order_id: String,
    pub hold_id: String,
    pub ticket_ids: BTreeSet<i64>,
}

impl Acked {
    pub fn from_order(order: &Value) -> Acked {
        Acked {
            order_id: order["id"].as_str().unwrap_or_else(|| panic!("order without id: {order}")).to_owned(),
            hold_id: order["hold_id"].as_str().unwrap_or_else(|| panic!("order without hold_id: {order}")).to_owned(),
            ticket_ids: order["tickets"]
                .as_array()
                .unwrap_or_else(|| panic!("order without tickets: {order}"))
                .iter()
                .map(|t| t["id"].as_str().and_then(|s| s.parse().ok()).expect("ticket id is a decimal string"))
                .collect(),
        }
    }
}

/// Polls `probe` every 50 ms until it yields a value; panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The data files

pub fn admit_db(data_dir: &Path) -> PathBuf {
    data_dir.join("admit.db")
}

pub fn sim_db(data_dir: &Path) -> PathBuf {
    data_dir.join("payments-sim.db")
}

/// A read-only connection (never creates the file, never migrates).
pub async fn open_ro(path: &Path) -> SqliteConnection {
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    SqliteConnection::connect_with(&options).await.unwrap_or_else(|e| panic!("open {} read-only: {e}", path.display()))
}

/// A writable connection to an existing file (for manufacturing crash states while the server
/// is down).
pub async fn open_rw(path: &Path) -> SqliteConnection {
    let options = SqliteConnectOptions::new().filename(path).busy_timeout(Duration::from_secs(10));
    SqliteConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| panic!("open {} for writing: {e}", path.display()))
}

/// Waits until no payment attempt is left `pending` or `timed_out`: the restarted server's
/// reconciler has settled everything the crash left open.
pub async fn wait_until_settled(data_dir: &Path, timeout: Duration) {
    let mut db = open_ro(&admit_db(data_dir)).await;
    let deadline = Instant::now() + timeout;
    loop {
        let open: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, state, updated_at FROM payments WHERE state IN ('pending', 'timed_out') ORDER BY updated_at",
        )
        .fetch_all(&mut db)
        .await
        .expect("read open payments");
        if open.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for reconciliation to settle every open payment; still open \
             (id, state, age ms): {:?}",
            open.iter().take(20).map(|(id, s, at)| (id, s, now_ms() - at)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a crash left behind, read straight from the files while the server is down.
#[derive(Debug, Default)]
pub struct CrashState {
    /// Attempts recorded before the gateway answered (or before tickets were issued).
    pub pending: i64,
    pub timed_out: i64,
    /// Charges the gateway approved for which Admit has no order yet: money taken, no tickets.
    pub charged_without_order: i64,
}

pub async fn crash_state(data_dir: &Path) -> CrashState {
    let mut db = open_ro(&admit_db(data_dir)).await;
    let mut sim = open_ro(&sim_db(data_dir)).await;
    let count =
        |state: &'static str| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM payments WHERE state = ?").bind(state);
    let pending = count("pending").fetch_one(&mut db).await.expect("count pending");
    let timed_out = count("timed_out").fetch_one(&mut db).await.expect("count timed_out");
    let approved: Vec<String> =
        sqlx::query_scalar("SELECT reference FROM sim_charges WHERE outcome = 'approved' AND refunded = 0")
            .fetch_all(&mut sim)
            .await
            .expect("read the simulator ledger");
    let mut charged_without_order = 0;
    for reference in approved {
        let order: Option<String> = sqlx::query_scalar("SELECT id FROM orders WHERE payment_id = ?")
            .bind(&reference)
            .fetch_optional(&mut db)
            .await
            .expect("look up an order");
        charged_without_order += i64::from(order.is_none());
    }
    CrashState { pending, timed_out, charged_without_order }
}

/// One (session, grade) inventory row next to what the seats, tickets and holds say.
#[derive(sqlx::FromRow)]
struct InventoryRow {
    session_id: i64,
    grade_id: i64,
    total: i64,
    held: i64,
    sold: i64,
    /// Valid tickets of this session and grade.
    real_sold: i64,
    /// Units in the lines of active holds.
    real_held: i64,
    /// Seats of this grade (0 for general admission).
    seats: i64,
    seats_held: i64,
    seats_sold: i64,
}

/// Counts from a successful invariant check.
#[derive(Debug, Default)]
pub struct Summary {
    pub approved_charges: usize,
    pub refunded_charges: usize,
    pub orders: usize,
    pub valid_tickets: i64,
    pub payments_by_state: Vec<(String, i64)>,
}

/// Checks invariants 1 and 2 of DESIGN.md §4 over both data files, plus that every order in
/// `acked` (a buyer saw it) is present with exactly the tickets the buyer was shown; panics
/// listing every violation. Run it on a stopped server, so both files are quiescent and the
/// cross-file comparison is exact.
pub async fn check_invariants(data_dir: &Path, acked: &[Acked]) -> Summary {
    let (bad, summary) = violations(data_dir, acked).await;
    assert!(
        bad.is_empty(),
        "{} invariant violation(s) in {}:\n  {}\n(summary: {summary:?})",
        bad.len(),
        data_dir.display(),
        bad.join("\n  ")
    );
    summary
}

/// Every violation of the invariants [`check_invariants`] enforces, as readable lines.
pub async fn violations(data_dir: &Path, acked: &[Acked]) -> (Vec<String>, Summary) {
    let mut db = open_ro(&admit_db(data_dir)).await;
    let mut sim = open_ro(&sim_db(data_dir)).await;
    let mut bad: Vec<String> = Vec::new();
    let mut summary = Summary::default();

    // Invariant 2: every approved charge ends with issued tickets or a recorded refund.
    let charges: Vec<(String, i64, i64, String)> = sqlx::query_as(
        "SELECT reference, refunded, amount_minor, currency FROM sim_charges WHERE outcome = 'approved' ORDER BY reference",
    )
    .fetch_all(&mut sim)
    .await
    .expect("read approved charges");
    summary.approved_charges = charges.len();
    for (reference, refunded, amount, currency) in &charges {
        summary.refunded_charges += usize::from(*refunded == 1);
        let payment: Option<(String, String, i64, String)> =
            sqlx::query_as("SELECT state, hold_id, amount_minor, currency FROM payments WHERE id = ?")
                .bind(reference)
                .fetch_optional(&mut db)
                .await
                .expect("read a payment");
        let Some((state, hold_id, p_amount, p_currency)) = payment else {
            bad.push(format!("approved charge {reference} has no payment row in admit.db"));
            continue;
        };
        if (p_amount, &p_currency) != (*amount, currency) {
            bad.push(format!(
                "payment {reference}: admit.db says {p_amount} {p_currency}, the gateway charged {amount} {currency}"
            ));
        }
        let order: Option<(String, String)> = sqlx::query_as("SELECT id, hold_id FROM orders WHERE payment_id = ?")
            .bind(reference)
            .fetch_optional(&mut db)
            .await
            .expect("read an order");
        match order {
            Some((order_id, order_hold)) => {
                let tickets: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE order_id = ? AND status = 'valid'")
                        .bind(&order_id)
                        .fetch_one(&mut db)
                        .await
                        .expect("count tickets");
                let units: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(quantity), 0) FROM hold_lines WHERE hold_id = ?")
                    .bind(&order_hold)
                    .fetch_one(&mut db)
                    .await
                    .expect("sum hold lines");
                if order_hold != hold_id {
                    bad.push(format!("order {order_id} is for hold {order_hold} but its payment for hold {hold_id}"));
                }
                if units == 0 || tickets != units {
                    bad.push(format!("order {order_id} (payment {reference}) has {tickets} tickets for a hold of {units}"));
                }
                if *refunded != 0 {
                    bad.push(format!("payment {reference} was refunded at the gateway but order {order_id} kept its tickets"));
                }
                if state != "approved" {
                    bad.push(format!("payment {reference} has order {order_id} but is '{state}', not 'approved'"));
                }
            }
            None if *refunded == 1 && state == "refunded" => {}
            None => bad.push(format!(
                "approved charge {reference} (payment '{state}', gateway refunded={refunded}, hold {hold_id}) has neither \
                 an order with tickets nor a recorded refund: money taken, nothing delivered"
            )),
        }
    }
    // The converse: no order (no ticket) without money, and Admit's payment states agree.
    let orders: Vec<(String, String, String)> =
        sqlx::query_as("SELECT o.id, o.payment_id, p.state FROM orders o JOIN payments p ON p.id = o.payment_id")
            .fetch_all(&mut db)
            .await
            .expect("read orders");
    summary.orders = orders.len();
    let order_count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(&mut db).await.expect("count");
    if order_count as usize != orders.len() {
        bad.push(format!("{} orders have no payment row", order_count as usize - orders.len()));
    }
    for (order_id, payment_id, state) in &orders {
        let charge: Option<(String, i64)> =
            sqlx::query_as("SELECT outcome, refunded FROM sim_charges WHERE reference = ?")
                .bind(payment_id)
                .fetch_optional(&mut sim)
                .await
                .expect("read a charge");
        if charge != Some(("approved".into(), 0)) {
            bad.push(format!("order {order_id} rests on payment {payment_id} whose gateway record is {charge:?}"));
        }
        if state != "approved" {
            bad.push(format!("order {order_id}: its payment {payment_id} is '{state}'"));
        }
    }
    let approved_without_order: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM payments p WHERE state = 'approved' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.payment_id = p.id)",
    )
    .fetch_all(&mut db)
    .await
    .expect("read approved payments");
    for id in approved_without_order {
        bad.push(format!("payment {id} is 'approved' in admit.db but has no order"));
    }
    let refunded: Vec<String> = sqlx::query_scalar("SELECT id FROM payments WHERE state = 'refunded'")
        .fetch_all(&mut db)
        .await
        .expect("read refunded payments");
    for id in refunded {
        let at_gateway: Option<(String, i64)> =
            sqlx::query_as("SELECT outcome, refunded FROM sim_charges WHERE reference = ?")
                .bind(&id)
                .fetch_optional(&mut sim)
                .await
                .expect("read a charge");
        if at_gateway != Some(("approved".into(), 1)) {
            bad.push(format!("payment {id} is 'refunded' in admit.db but the gateway says {at_gateway:?}"));
        }
    }
    // Nothing is left open once reconciliation has run.
    let open: Vec<(String, String)> =
        sqlx::query_as("SELECT id, state FROM payments WHERE state IN ('pending', 'timed_out')")
            .fetch_all(&mut db)
            .await
            .expect("read open payments");
    for (id, state) in open {
        bad.push(format!("payment {id} is still '{state}' after reconciliation"));
    }
    summary.payments_by_state = sqlx::query_as("SELECT state, COUNT(*) FROM payments GROUP BY state ORDER BY state")
        .fetch_all(&mut db)
        .await
        .expect("count payments");

    // Invariant 1: no seat both sold and free, none sold twice.
    let checks: &[(&str, &str)] = &[
        (
            "sold seat without exactly one valid ticket (seat id, valid tickets)",
            "SELECT s.id, (SELECT COUNT(*) FROM tickets t WHERE t.seat_id = s.id AND t.status = 'valid')
             FROM seats s WHERE s.state = 'sold'
               AND (SELECT COUNT(*) FROM tickets t WHERE t.seat_id = s.id AND t.status = 'valid') != 1",
        ),
        (
            "valid ticket on a seat that is not sold (ticket id, seat id)",
            "SELECT t.id, t.seat_id FROM tickets t JOIN seats s ON s.id = t.seat_id
             WHERE t.status = 'valid' AND s.state != 'sold'",
        ),
        (
            "seat in two valid tickets (seat id, tickets)",
            "SELECT seat_id, COUNT(*) FROM tickets WHERE status = 'valid' AND seat_id IS NOT NULL
             GROUP BY seat_id HAVING COUNT(*) > 1",
        ),
        (
            "held seat whose hold is not active (seat id, hold state)",
            "SELECT s.id, COALESCE(h.state, 'missing') FROM seats s LEFT JOIN holds h ON h.id = s.hold_id
             WHERE s.state = 'held' AND (h.state IS NULL OR h.state != 'active')",
        ),
        (
            "sold seat whose hold is not converted (seat id, hold state)",
            "SELECT s.id, COALESCE(h.state, 'missing') FROM seats s LEFT JOIN holds h ON h.id = s.hold_id
             WHERE s.state = 'sold' AND (h.state IS NULL OR h.state != 'converted')",
        ),
        (
            "active hold whose seat it does not hold (hold id, seat id)",
            "SELECT l.hold_id, l.seat_id FROM hold_lines l JOIN holds h ON h.id = l.hold_id
             JOIN seats s ON s.id = l.seat_id
             WHERE h.state = 'active' AND (s.state != 'held' OR s.hold_id IS NOT h.id)",
        ),
        (
            "ticket for a seat its order's hold never had (ticket id, seat id)",
            "SELECT t.id, t.seat_id FROM tickets t JOIN orders o ON o.id = t.order_id
             WHERE t.seat_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM hold_lines l WHERE l.hold_id = o.hold_id AND l.seat_id = t.seat_id)",
        ),
        (
            "converted hold without an order (hold id, state)",
            "SELECT h.id, h.state FROM holds h
             WHERE h.state = 'converted' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.hold_id = h.id)",
        ),
    ];
    for (what, sql) in checks {
        let rows: Vec<(String, String)> =
            sqlx::query_as(&format!("WITH x(a, b) AS ({sql}) SELECT CAST(a AS TEXT), CAST(b AS TEXT) FROM x"))
                .fetch_all(&mut db)
                .await
                .unwrap_or_else(|e| panic!("invariant query for '{what}' failed: {e}"));
        for (a, b) in rows.iter().take(20) {
            bad.push(format!("{what}: ({a}, {b})"));
        }
    }

    // Inventory counters agree with the seats, the tickets and the active holds.
    let inventory: Vec<InventoryRow> = sqlx::query_as(
        "SELECT i.session_id, i.grade_id, i.total, i.held, i.sold,
           (SELECT COUNT(*) FROM tickets t
             WHERE t.session_id = i.session_id AND t.grade_id = i.grade_id AND t.status = 'valid') AS real_sold,
           (SELECT COALESCE(SUM(l.quantity), 0) FROM hold_lines l JOIN holds h ON h.id = l.hold_id
             WHERE h.state = 'active' AND h.session_id = i.session_id AND l.grade_id = i.grade_id) AS real_held,
           (SELECT COUNT(*) FROM seats s
             WHERE s.session_id = i.session_id AND s.grade_id = i.grade_id) AS seats,
           (SELECT COUNT(*) FROM seats s
             WHERE s.session_id = i.session_id AND s.grade_id = i.grade_id AND s.state = 'held') AS seats_held,
           (SELECT COUNT(*) FROM seats s
             WHERE s.session_id = i.session_id AND s.grade_id = i.grade_id AND s.state = 'sold') AS seats_sold
         FROM inventory i ORDER BY i.session_id, i.grade_id",
    )
    .fetch_all(&mut db)
    .await
    .expect("read inventory");
    assert!(!inventory.is_empty(), "the demo has inventory rows");
    for row in inventory {
        let InventoryRow {
            session_id,
            grade_id,
            total,
            held,
            sold,
            real_sold,
            real_held,
            seats,
            seats_held,
            seats_sold,
        } = row;
        let at = format!("inventory (session {session_id}, grade {grade_id})");
        if sold != real_sold {
            bad.push(format!("{at}: sold = {sold} but there are {real_sold} valid tickets"));
        }
        if held != real_held {
            bad.push(format!("{at}: held = {held} but active holds hold {real_held}"));
        }
        if held < 0 || sold < 0 || held + sold > total {
            bad.push(format!("{at}: held {held} + sold {sold} exceeds total {total}"));
        }
        if seats > 0 && (seats != total || seats_held != held || seats_sold != sold) {
            bad.push(format!(
                "{at}: counters (total {total}, held {held}, sold {sold}) disagree with the seats \
                 ({seats} seats, {seats_held} held, {seats_sold} sold)"
            ));
        }
    }
    summary.valid_tickets = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE status = 'valid'")
        .fetch_one(&mut db)
        .await
        .expect("count tickets");

    // Acknowledged commits survive: every order a buyer was shown, with exactly its tickets.
    for a in acked {
        let hold: Option<String> = sqlx::query_scalar("SELECT hold_id FROM orders WHERE id = ?")
            .bind(&a.order_id)
            .fetch_optional(&mut db)
            .await
            .expect("read an acknowledged order");
        if hold.as_deref() != Some(a.hold_id.as_str()) {
            bad.push(format!(
                "acknowledged order {} (hold {}) is missing or moved: found hold {hold:?}",
                a.order_id, a.hold_id
            ));
            continue;
        }
        let tickets: BTreeSet<i64> =
            sqlx::query_scalar::<_, i64>("SELECT id FROM tickets WHERE order_id = ? AND status = 'valid'")
                .bind(&a.order_id)
                .fetch_all(&mut db)
                .await
                .expect("read an acknowledged order's tickets")
                .into_iter()
                .collect();
        if tickets != a.ticket_ids {
            bad.push(format!(
                "acknowledged order {} showed tickets {:?} but the database has {tickets:?}",
                a.order_id, a.ticket_ids
            ));
        }
    }

    (bad, summary)
}
