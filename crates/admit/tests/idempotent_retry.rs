//! A retried request never runs twice (DESIGN.md §4), on SQLite and PostgreSQL, across a crash
//! of the real `admit` binary.
//!
//! Each test makes a request with an `Idempotency-Key`, stops the node with SIGKILL, and writes
//! into Admit's tables exactly what a crash at one precise moment leaves behind: the operation
//! committed, its answer never stored (the key's claim without an answer). Then it restarts
//! `admit serve` on the same data and retries: a hold is found again instead of made a second
//! time (a second hold would stay held, owned by nobody, until it expired), and a paid hold
//! answers with its order at once instead of "in progress" for the rest of the lease.

#[allow(dead_code, reason = "each test binary uses its own part of the shared support")]
mod support;

use reqwest::Client;
use serde_json::{Value, json};
use support::db::Db;
use support::deployment::Deployment;
use support::http::{approving_card, client, hold, now_ms};

/// What a crash after the operation committed, before its answer was stored, leaves of the
/// key's record: the claim, locked until `?`, without an answer.
const ANSWER_LOST: &str = "UPDATE idempotency_keys SET status = NULL, content_type = NULL, location = NULL,
         headers = NULL, body = NULL, locked_until = ? WHERE key = ?";

/// POSTs `body` with `key`: the status, the body, and `Idempotent-Replayed`.
async fn post_keyed(http: &Client, url: &str, key: &str, body: &Value) -> (u16, Value, String) {
    let response = http.post(url).header("idempotency-key", key).json(body).send().await.expect("POST");
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, replayed.unwrap_or_default())
}

async fn lose_the_answer(deployment: &Deployment, key: &str, locked_until: i64) {
    let mut db: Db = deployment.admit_db_writable().await;
    assert_eq!(db.execute(ANSWER_LOST, &[locked_until.into(), key.into()]).await, 1, "the key's record");
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_whose_answer_was_lost_in_a_crash_is_found_by_the_retry() {
    hold_answer_lost(&Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_whose_answer_was_lost_in_a_postgres_crash_is_found_by_the_retry() {
    let Some(deployment) = Deployment::postgres() else { return };
    hold_answer_lost(&deployment).await;
}

async fn hold_answer_lost(deployment: &Deployment) {
    let request = json!({ "session_id": 1, "grade_id": 1, "quantity": 2 });
    let http = client();
    let mut server = deployment.demo(&[]);
    let (status, first, _) = post_keyed(&http, &format!("{}/holds", server.base), "hold-k", &request).await;
    assert_eq!(status, 201, "{first}");
    server.sigkill();
    // The claim's lease ran out long ago: the retry takes it over and runs the request again.
    lose_the_answer(deployment, "hold-k", now_ms() - 60_000).await;

    let server = deployment.serve(&[]);
    let url = format!("{}/holds", server.base);
    let (status, retry, replayed) = post_keyed(&http, &url, "hold-k", &request).await;
    let (again_status, again, again_replayed) = post_keyed(&http, &url, "hold-k", &request).await;

    assert_eq!((status, replayed.as_str()), (201, "false"), "the retry ran: {retry}");
    assert_eq!(retry["id"], first["id"], "the same hold, not a second one");
    assert_eq!(retry["lines"], first["lines"], "the same seats");
    let active: i64 =
        deployment.admit_db().await.scalar("SELECT count(*) FROM holds WHERE state = 'active'", &[]).await;
    assert_eq!(active, 1, "no second, ownerless hold");
    assert_eq!((again_status, again_replayed.as_str(), &again["id"]), (201, "true", &first["id"]), "now stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_whose_answer_was_lost_in_a_crash_answers_its_order_at_once() {
    payment_answer_lost(&Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_whose_answer_was_lost_in_a_postgres_crash_answers_its_order_at_once() {
    let Some(deployment) = Deployment::postgres() else { return };
    payment_answer_lost(&deployment).await;
}

async fn payment_answer_lost(deployment: &Deployment) {
    let http = client();
    let mut server = deployment.demo(&[]);
    let held = hold(&http, &server.base, 1, 1, 1).await;
    let url = |base: &str| format!("{base}/holds/{}/payments", held.id);
    let (status, order, _) = post_keyed(&http, &url(&server.base), "pay-k", &approving_card()).await;
    assert_eq!(status, 201, "{order}");
    server.sigkill();
    // Killed right after the order committed: the claim still blocks retries for ten minutes.
    lose_the_answer(deployment, "pay-k", now_ms() + 600_000).await;

    let server = deployment.serve(&[]);
    let (status, retry, replayed) = post_keyed(&http, &url(&server.base), "pay-k", &approving_card()).await;

    assert_eq!((status, replayed.as_str()), (200, "false"), "the paid order, not 409 in progress: {retry}");
    assert_eq!(retry["id"], order["id"]);
    assert_eq!(retry["tickets"].as_array().map(Vec::len), Some(1), "{retry}");
    let sql = "SELECT count(*) FROM payments WHERE hold_id = ?";
    let attempts: i64 = deployment.admit_db().await.scalar(sql, &[(&held.id).into()]).await;
    assert_eq!(attempts, 1, "charged once");
}
