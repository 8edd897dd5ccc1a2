//! HTTP helpers for talking to a running node as a buyer would: a client, JSON requests, the
//! hold a buyer placed, the order a buyer was shown, and polling until something is true.

use serde_json::Value;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

/// The card every buyer pays with: the simulator approves it.
pub fn approving_card() -> Value {
    serde_json::json!({ "card": { "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123" } })
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock before 1970").as_millis() as i64
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .expect("build the HTTP client")
}

/// POSTs JSON; the status and the parsed body (`Null` when it is not JSON).
pub async fn post(client: &reqwest::Client, url: &str, body: &Value) -> reqwest::Result<(u16, Value)> {
    send(client.post(url).json(body)).await
}

/// Sends a request; the status and the parsed body (`Null` when it is not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Result<(u16, Value)> {
    let response = request.send().await?;
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
