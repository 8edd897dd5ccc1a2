//! Idempotency keys: a retried request gets the first answer, a concurrent one waits, a key
//! reused for a different request is refused, a crashed request's claim can be taken over
//! (and says when the key was first claimed), and records expire and are purged.

use super::fixtures::T0;
use admit_store::{IdempotencyClaim, IdempotencyStart, Store, StoredResponse};
use std::sync::Arc;

const SCOPE: &str = "orders:org-1";
const LEASE: i64 = 30_000;
/// How long a record lives in these tests.
const RETAIN: i64 = 100 * LEASE;

/// Claims `key` in `scope` at `now` for a request hashing to `hash`; the record expires
/// `RETAIN` after the claim.
async fn start(store: &Arc<dyn Store>, scope: &str, key: &str, hash: [u8; 32], now: i64) -> IdempotencyStart {
    let claim = IdempotencyClaim {
        scope: scope.into(),
        key: key.into(),
        request_hash: hash,
        now_ms: now,
        lease_ms: LEASE,
        expires_at_ms: now + RETAIN,
    };
    store.idempotency_start(claim).await.unwrap()
}

const fn proceed(claimed_at_ms: i64) -> IdempotencyStart {
    IdempotencyStart::Proceed { claimed_at_ms }
}

fn created() -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        location: Some("/orders/o-1".into()),
        headers: vec![("cache-control".into(), "no-store".into()), ("retry-after".into(), "5".into())],
        body: br#"{"order":"o-1"}"#.to_vec(),
    }
}

pub async fn a_new_key_proceeds_and_a_repeat_in_flight_is_in_progress(store: Arc<dyn Store>) {
    let first = start(&store, SCOPE, "k1", [1; 32], T0).await;
    let repeat = start(&store, SCOPE, "k1", [1; 32], T0 + 1).await;
    let other_scope = start(&store, "orders:org-2", "k1", [1; 32], T0 + 1).await;
    let other_key = start(&store, SCOPE, "k2", [1; 32], T0 + 1).await;

    assert_eq!(first, proceed(T0));
    assert_eq!(repeat, IdempotencyStart::InProgress);
    assert_eq!(other_scope, proceed(T0 + 1), "keys are per scope");
    assert_eq!(other_key, proceed(T0 + 1));
}

pub async fn a_key_reused_for_a_different_request_is_refused(store: Arc<dyn Store>) {
    start(&store, SCOPE, "k1", [1; 32], T0).await;

    let in_flight = start(&store, SCOPE, "k1", [2; 32], T0 + 1).await;
    store.idempotency_finish(SCOPE, "k1", created()).await.unwrap();
    let finished = start(&store, SCOPE, "k1", [2; 32], T0 + 2).await;

    assert_eq!(in_flight, IdempotencyStart::KeyReused);
    assert_eq!(finished, IdempotencyStart::KeyReused);
}

pub async fn a_finished_request_is_replayed_exactly(store: Arc<dyn Store>) {
    start(&store, SCOPE, "k1", [1; 32], T0).await;
    store.idempotency_finish(SCOPE, "k1", created()).await.unwrap();

    let soon = start(&store, SCOPE, "k1", [1; 32], T0 + 1).await;
    let long_after = start(&store, SCOPE, "k1", [1; 32], T0 + RETAIN - 1).await;

    assert_eq!(soon, IdempotencyStart::Replay(created()));
    assert_eq!(long_after, IdempotencyStart::Replay(created()), "a finished answer outlives the lease");
    store.idempotency_release(SCOPE, "k1").await.unwrap();
    let after_release = start(&store, SCOPE, "k1", [1; 32], T0 + 2).await;
    assert_eq!(after_release, IdempotencyStart::Replay(created()), "a finished answer is never released");
}

pub async fn a_released_claim_runs_again(store: Arc<dyn Store>) {
    start(&store, SCOPE, "k1", [1; 32], T0).await;

    store.idempotency_release(SCOPE, "k1").await.unwrap();

    assert_eq!(start(&store, SCOPE, "k1", [1; 32], T0 + 1).await, proceed(T0 + 1));
    assert_eq!(start(&store, SCOPE, "k1", [1; 32], T0 + 2).await, IdempotencyStart::InProgress);
}

pub async fn an_abandoned_claim_is_taken_over_after_its_lease(store: Arc<dyn Store>) {
    start(&store, SCOPE, "k1", [1; 32], T0).await;

    let before = start(&store, SCOPE, "k1", [1; 32], T0 + LEASE - 1).await;
    let after = start(&store, SCOPE, "k1", [1; 32], T0 + LEASE).await;
    let right_after = start(&store, SCOPE, "k1", [1; 32], T0 + LEASE + 1).await;

    assert_eq!(before, IdempotencyStart::InProgress);
    assert_eq!(after, proceed(T0), "the crashed request's claim is taken over, and keeps its first time");
    assert_eq!(right_after, IdempotencyStart::InProgress, "the new claim has a fresh lease");
    store.idempotency_finish(SCOPE, "k1", created()).await.unwrap();
    assert_eq!(start(&store, SCOPE, "k1", [1; 32], T0 + LEASE + 2).await, IdempotencyStart::Replay(created()));
}

pub async fn an_expired_record_is_forgotten_and_purged(store: Arc<dyn Store>) {
    start(&store, SCOPE, "done", [1; 32], T0).await;
    store.idempotency_finish(SCOPE, "done", created()).await.unwrap();
    start(&store, SCOPE, "abandoned", [1; 32], T0).await;
    start(&store, SCOPE, "young", [1; 32], T0 + 10).await;

    let still_replayed = start(&store, SCOPE, "done", [1; 32], T0 + RETAIN - 1).await;
    let purged = store.idempotency_purge(T0 + RETAIN).await.unwrap();

    assert_eq!(still_replayed, IdempotencyStart::Replay(created()), "kept until it expires");
    assert_eq!(purged, 2, "the two records that expired, not the younger one");
    let later = T0 + RETAIN + 1;
    assert_eq!(start(&store, SCOPE, "done", [2; 32], later).await, proceed(later), "the key is free again");
    assert_eq!(start(&store, SCOPE, "young", [1; 32], later).await, proceed(T0 + 10), "taken over, not purged");
    assert_eq!(store.idempotency_purge(later).await.unwrap(), 0);
}

pub async fn an_expired_record_not_yet_purged_is_claimed_anew(store: Arc<dyn Store>) {
    start(&store, SCOPE, "k1", [1; 32], T0).await;
    store.idempotency_finish(SCOPE, "k1", created()).await.unwrap();

    let after_expiry = start(&store, SCOPE, "k1", [2; 32], T0 + RETAIN).await;

    assert_eq!(after_expiry, proceed(T0 + RETAIN), "neither replayed nor refused as a reused key");
    assert_eq!(start(&store, SCOPE, "k1", [2; 32], T0 + RETAIN + 1).await, IdempotencyStart::InProgress);
}
