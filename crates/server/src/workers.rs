//! Background workers: expired holds return to sale without any request, expired
//! idempotency records are deleted, and payments a crash or a time-out left open are settled
//! with the gateway (first run at start-up).

use crate::service::purchase;
use crate::state::{AppState, now_ms};
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

pub fn spawn(state: AppState) -> Vec<JoinHandle<()>> {
    let sweeper = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = interval(state.settings.sweep_interval);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                state.limiters.forget_idle();
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
