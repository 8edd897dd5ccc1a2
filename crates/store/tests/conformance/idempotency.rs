//! Idempotency keys: a retried request gets the first answer, a concurrent one waits, a key
//! reused for a different request is refused, and a crashed request's claim can be taken over.

use super::fixtures::T0;
use admit_store::{IdempotencyStart, Store, StoredResponse};
use std::sync::Arc;

const SCOPE: &str = "orders:org-1";
const LEASE: i64 = 30_000;

fn created() -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        location: Some("/orders/o-1".into()),
        body: br#"{"order":"o-1"}"#.to_vec(),
    }
}

pub async fn a_new_key_proceeds_and_a_repeat_in_flight_is_in_progress(store: Arc<dyn Store>) {
    let first = store.idempotency_start(SCOPE, "k1", [1; 32], T0, LEASE).await.unwrap();
    let repeat = store.idempotency_start(SCOPE, "k1", [1; 32], T0 + 1, LEASE).await.unwrap();
    let other_scope = store.idempotency_start("orders:org-2", "k1", [1; 32], T0 + 1, LEASE).await.unwrap();
    let other_key = store.idempotency_start(SCOPE, "k2", [1; 32], T0 + 1, LEASE).await.unwrap();

    assert_eq!(first, IdempotencyStart::Proceed);
    assert_eq!(repeat, IdempotencyStart::InProgress);
    assert_eq!(other_scope, IdempotencyStart::Proceed, "keys are per scope");
    assert_eq!(other_key, IdempotencyStart::Proceed);
}

pub async fn a_key_reused_for_a_different_request_is_refused(store: Arc<dyn Store>) {
    store.idempotency_start(SCOPE, "k1", [1; 32], T0, LEASE).await.unwrap();

    let in_flight = store.idempotency_start(SCOPE, "k1", [2; 32], T0 + 1, LEASE).await.unwrap();
    store.idempotency_finish(SCOPE, "k1", created()).await.unwrap();
    let finished = store.idempotency_start(SCOPE, "k1", [2; 32], T0 + 2, LEASE).await.unwrap();

    assert_eq!(in_flight, IdempotencyStart::KeyReused);
    assert_eq!(finished, IdempotencyStart::KeyReused);
}

pub async fn a_finished_request_is_replayed_exactly(store: Arc<dyn Store>) {
    store.idempotency_start(SCOPE, "k1", [1; 32], T0, LEASE).await.unwrap();
    store.idempotency_finish(SCOPE, "k1", created()).await.unwrap();

    let soon = store.idempotency_start(SCOPE, "k1", [1; 32], T0 + 1, LEASE).await.unwrap();
    let long_after = store.idempotency_start(SCOPE, "k1", [1; 32], T0 + 100 * LEASE, LEASE).await.unwrap();

    assert_eq!(soon, IdempotencyStart::Replay(created()));
    assert_eq!(long_after, IdempotencyStart::Replay(created()), "a finished answer outlives the lease");
    store.idempotency_release(SCOPE, "k1").await.unwrap();
    let after_release = store.idempotency_start(SCOPE, "k1", [1; 32], T0 + 2, LEASE).await.unwrap();
    assert_eq!(after_release, IdempotencyStart::Replay(created()), "a finished answer is never released");
}

pub async fn a_released_claim_runs_again(store: Arc<dyn Store>) {
    store.idempotency_start(SCOPE, "k1", [1; 32], T0, LEASE).await.unwrap();

    store.idempotency_release(SCOPE, "k1").await.unwrap();

    assert_eq!(store.idempotency_start(SCOPE, "k1", [1; 32], T0 + 1, LEASE).await.unwrap(), IdempotencyStart::Proceed);
    assert_eq!(
        store.idempotency_start(SCOPE, "k1", [1; 32], T0 + 2, LEASE).await.unwrap(),
        IdempotencyStart::InProgress
    );
}

pub async fn an_abandoned_claim_is_taken_over_after_its_lease(store: Arc<dyn Store>) {
    store.idempotency_start(SCOPE, "k1", [1; 32], T0, LEASE).await.unwrap();

    let before = store.idempotency_start(SCOPE, "k1", [1; 32], T0 + LEASE - 1, LEASE).await.unwrap();
    let after = store.idempotency_start(SCOPE, "k1", [1; 32], T0 + LEASE, LEASE).await.unwrap();
    let right_after = store.idempotency_start(SCOPE, "k1", [1; 32], T0 + LEASE + 1, LEASE).await.unwrap();

    assert_eq!(before, IdempotencyStart::InProgress);
    assert_eq!(after, IdempotencyStart::Proceed, "the crashed request's claim is taken over");
    assert_eq!(right_after, IdempotencyStart::InProgress, "the new claim has a fresh lease");
    store.idempotency_finish(SCOPE, "k1", created()).await.unwrap();
    assert_eq!(
        store.idempotency_start(SCOPE, "k1", [1; 32], T0 + LEASE + 2, LEASE).await.unwrap(),
        IdempotencyStart::Replay(created())
    );
}
