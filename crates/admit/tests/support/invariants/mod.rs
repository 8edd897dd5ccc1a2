//! The invariant checker: reads a stopped deployment's data directly (Admit's tables on either
//! backend, and the card simulator's ledger) and lists every violation of DESIGN.md §4
//! invariants 1 and 2, plus every acknowledged order that did not survive.

mod paid;
mod seats;

use super::db::Db;
use super::deployment::Deployment;
use super::http::Acked;
use std::collections::BTreeSet;

/// Counts from a successful invariant check.
#[derive(Debug, Default)]
pub struct Summary {
    pub approved_charges: usize,
    pub refunded_charges: usize,
    pub orders: usize,
    pub valid_tickets: i64,
    pub payments_by_state: Vec<(String, i64)>,
}

/// Checks invariants 1 and 2 of DESIGN.md §4, plus that every order in `acked` (a buyer saw
/// it) is present with exactly the tickets the buyer was shown; panics listing every
/// violation. Run it with every node stopped, so Admit's data and the ledger are quiescent and
/// the comparison between them is exact.
pub async fn check_invariants(deployment: &Deployment, acked: &[Acked]) -> Summary {
    let (bad, summary) = violations(deployment, acked).await;
    assert!(
        bad.is_empty(),
        "{} invariant violation(s) in {}:\n  {}\n(summary: {summary:?})",
        bad.len(),
        deployment.describe(),
        bad.join("\n  ")
    );
    summary
}

/// Every violation of the invariants [`check_invariants`] enforces, as readable lines.
pub async fn violations(deployment: &Deployment, acked: &[Acked]) -> (Vec<String>, Summary) {
    let mut db = deployment.admit_db().await;
    let mut ledger = deployment.ledger().await;
    let mut bad: Vec<String> = Vec::new();
    let mut summary = Summary::default();
    paid::check(&mut db, &mut ledger, &mut bad, &mut summary).await;
    seats::check(&mut db, &mut bad).await;
    summary.valid_tickets = db.scalar("SELECT COUNT(*) FROM tickets WHERE status = 'valid'", &[]).await;
    acknowledged_orders_survive(&mut db, acked, &mut bad).await;
    (bad, summary)
}

/// Acknowledged commits survive: every order a buyer was shown, with exactly its tickets.
async fn acknowledged_orders_survive(db: &mut Db, acked: &[Acked], bad: &mut Vec<String>) {
    for a in acked {
        let hold: Option<(String,)> =
            db.optional("SELECT hold_id FROM orders WHERE id = ?", &[(&a.order_id).into()]).await;
        let hold = hold.map(|(h,)| h);
        if hold.as_deref() != Some(a.hold_id.as_str()) {
            bad.push(format!(
                "acknowledged order {} (hold {}) is missing or moved: found hold {hold:?}",
                a.order_id, a.hold_id
            ));
            continue;
        }
        let tickets: BTreeSet<i64> = db
            .column("SELECT id FROM tickets WHERE order_id = ? AND status = 'valid'", &[(&a.order_id).into()])
            .await
            .into_iter()
            .collect();
        if tickets != a.ticket_ids {
            bad.push(format!(
                "acknowledged order {} showed tickets {:?} but the database has {tickets:?}",
                a.order_id, a.ticket_ids
            ));
        }
    }
}
