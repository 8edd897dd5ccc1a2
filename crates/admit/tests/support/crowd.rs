//! A crowd of buyers for on-sale tests: each buyer holds and pays with an approving card, again
//! and again, until told to stop (or until its node is gone). With several nodes, a buyer holds
//! on one node and pays on the next, so no node can lean on state of its own.

use super::http::{Acked, approving_card, post, problem_slug};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Answers no buyer should get from a healthy server, kept for the report (the rest counted).
const UNEXPECTED_KEPT: usize = 20;

/// What the buyers saw, shared between them.
#[derive(Default)]
pub struct Crowd {
    pub stop: AtomicBool,
    pub holds: AtomicUsize,
    pub orders: AtomicUsize,
    pub sold_out: AtomicUsize,
    pub timeouts: AtomicUsize,
    /// Payment requests sent and not yet answered.
    pub paying: AtomicUsize,
    /// Every order a buyer received a 201 for.
    acked: Mutex<Vec<Acked>>,
    /// Orders confirmed per node (base URL) that took the payment.
    paid_on: Mutex<BTreeMap<String, usize>>,
    unexpected: Mutex<Vec<String>>,
    unexpected_total: AtomicUsize,
}

impl Crowd {
    /// Records an answer that is wrong unless the server is being killed.
    fn unexpected(&self, what: String) {
        if self.stop.load(Relaxed) {
            return;
        }
        if self.unexpected_total.fetch_add(1, Relaxed) < UNEXPECTED_KEPT {
            self.unexpected.lock().unwrap_or_else(|p| p.into_inner()).push(what);
        }
    }

    /// Every order a buyer was shown so far.
    pub fn acked(&self) -> Vec<Acked> {
        self.acked.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many orders each node confirmed.
    pub fn orders_by_node(&self) -> BTreeMap<String, usize> {
        self.paid_on.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The unexpected answers: the first few, and how many there were in all.
    pub fn unexpected_answers(&self) -> Vec<String> {
        let mut kept = self.unexpected.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let total = self.unexpected_total.load(Relaxed);
        if total > kept.len() {
            kept.push(format!("… and {} more", total - kept.len()));
        }
        kept
    }
}

/// Buyer `n`: holds one or two of the next target `(session, grade)` on one node, pays on the
/// next node, and goes round again. Sold out is not an error: the buyer pauses and tries the
/// next target (or quantity).
async fn buyer(
    n: usize,
    nodes: Arc<Vec<String>>,
    client: reqwest::Client,
    targets: Arc<Vec<(i64, i64)>>,
    crowd: Arc<Crowd>,
) {
    let mut turn = n;
    while !crowd.stop.load(Relaxed) {
        turn += 1;
        let (session, grade) = targets[turn % targets.len()];
        let quantity = 1 + (n + turn / targets.len()) % 2;
        let (hold_node, pay_node) = (&nodes[turn % nodes.len()], &nodes[(turn + 1) % nodes.len()]);
        let request = json!({ "session_id": session, "grade_id": grade, "quantity": quantity });
        let hold_id = match post(&client, &format!("{hold_node}/holds"), &request).await {
            Ok((201, body)) => match body["id"].as_str() {
                Some(id) => {
                    crowd.holds.fetch_add(1, Relaxed);
                    id.to_owned()
                }
                None => {
                    crowd.unexpected(format!("POST {hold_node}/holds {request} -> 201 without an id: {body}"));
                    continue;
                }
            },
            Ok((409, body)) if problem_slug(&body) == "sold-out" => {
                crowd.sold_out.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Ok((status, body)) => {
                crowd.unexpected(format!("POST {hold_node}/holds {request} -> {status} {body}"));
                continue;
            }
            Err(e) => {
                // Connection errors are what the kill looks like from here.
                crowd.unexpected(format!("POST {hold_node}/holds {request}: {e}"));
                break;
            }
        };
        crowd.paying.fetch_add(1, Relaxed);
        let paid = post(&client, &format!("{pay_node}/holds/{hold_id}/payments"), &approving_card()).await;
        crowd.paying.fetch_sub(1, Relaxed);
        match paid {
            Ok((201, order)) => {
                crowd.acked.lock().unwrap_or_else(|p| p.into_inner()).push(Acked::from_order(&order));
                *crowd.paid_on.lock().unwrap_or_else(|p| p.into_inner()).entry(pay_node.clone()).or_default() += 1;
                crowd.orders.fetch_add(1, Relaxed);
            }
            // The gateway did not answer in time: the reconciler refunds any charge later.
            Ok((503 | 504, _)) => {
                crowd.timeouts.fetch_add(1, Relaxed);
            }
            Ok((status, body)) => {
                crowd.unexpected(format!("POST {pay_node}/holds/{hold_id}/payments -> {status} {body}"))
            }
            Err(e) => {
                crowd.unexpected(format!("POST {pay_node}/holds/{hold_id}/payments: {e}"));
                break;
            }
        }
    }
}

/// Starts `count` buyers spread over `nodes`.
pub fn spawn_buyers(
    count: usize,
    nodes: Vec<String>,
    targets: Vec<(i64, i64)>,
    crowd: &Arc<Crowd>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (nodes, targets, client) = (Arc::new(nodes), Arc::new(targets), super::http::client());
    (0..count).map(|n| tokio::spawn(buyer(n, nodes.clone(), client.clone(), targets.clone(), crowd.clone()))).collect()
}
