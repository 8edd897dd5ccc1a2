//! What a crash left open, and waiting for a restarted node to settle it: payment attempts
//! still `pending` or `timed_out`, and charges the gateway approved that have no order yet.

use super::deployment::Deployment;
use super::http::now_ms;
use std::time::{Duration, Instant};

/// Waits until no payment attempt is left `pending` or `timed_out`: the restarted server's
/// reconciler has settled everything the crash left open.
pub async fn wait_until_settled(deployment: &Deployment, timeout: Duration) {
    let mut db = deployment.admit_db().await;
    let deadline = Instant::now() + timeout;
    loop {
        let open: Vec<(String, String, i64)> = db
            .all(
                "SELECT id, state, updated_at FROM payments WHERE state IN ('pending', 'timed_out') ORDER BY updated_at",
                &[],
            )
            .await;
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

/// What a crash left behind, read straight from the data while the server is down.
#[derive(Debug, Default)]
pub struct CrashState {
    /// Attempts recorded before the gateway answered (or before tickets were issued).
    pub pending: i64,
    pub timed_out: i64,
    /// Charges the gateway approved for which Admit has no order yet: money taken, no tickets.
    pub charged_without_order: i64,
}

pub async fn crash_state(deployment: &Deployment) -> CrashState {
    let mut db = deployment.admit_db().await;
    let mut ledger = deployment.ledger().await;
    let count = "SELECT COUNT(*) FROM payments WHERE state = ?";
    let pending = db.scalar(count, &["pending".into()]).await;
    let timed_out = db.scalar(count, &["timed_out".into()]).await;
    let approved: Vec<String> =
        ledger.column("SELECT reference FROM sim_charges WHERE outcome = 'approved' AND refunded = 0", &[]).await;
    let mut charged_without_order = 0;
    for reference in &approved {
        let order: Option<(String,)> =
            db.optional("SELECT id FROM orders WHERE payment_id = ?", &[reference.into()]).await;
        charged_without_order += i64::from(order.is_none());
    }
    CrashState { pending, timed_out, charged_without_order }
}
