//! Background workers: expired holds return to sale without any request, expired
//! idempotency records and expired or used login links are deleted, and payments a crash or a
//! time-out left open are settled with the gateway (first run at start-up).

use crate::service::purchase;
use crate::state::{AppState, now_ms};
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

/// How long a used login link is kept, so opening it again says "already used" rather than
/// "not valid"; expired links go at once.
const KEEP_USED_LOGIN_LINKS_MS: i64 = 3_600_000;

/// Deletes expired login links and links used more than [`KEEP_USED_LOGIN_LINKS_MS`] ago.
async fn purge_login_links(state: &AppState) {
    let now = now_ms();
    match state.store.purge_login_links(now, now - KEEP_USED_LOGIN_LINKS_MS).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(links = n, "expired and used login links purged"),
        Err(e) => tracing::warn!(error = %e, "login link purge failed"),
    }
}

pub fn spawn(state: AppState) -> Vec<JoinHandle<()>> {
    let sweeper = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = interval(state.settings.sweep_interval);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                state.limiters.forget_idle();
                purge_login_links(&state).await;
                match state.store.expire_holds(now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(holds = n, "expired holds returned to sale"),
                    Err(e) => tracing::warn!(error = %e, "hold sweep failed"),
                }
                match state.store.idempotency_purge(now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(records = n, "expired idempotency records deleted"),
                    Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
                }
            }
        })
    };
    let reconciler = tokio::spawn(async move {
        let mut tick = interval(state.settings.reconcile_interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = purchase::reconcile(&state).await {
                tracing::warn!(error = %e, "payment reconciliation failed");
            }
        }
    });
    vec![sweeper, reconciler]
}
