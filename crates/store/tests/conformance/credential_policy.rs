//! The per-event credential policy: defaults for a new event, replaced and read back per event,
//! refused (changing nothing) when outside the domain's bounds or for an unknown event.

use super::fixtures::World;
use admit_domain::{CredentialPolicy, EventId};
use admit_store::{Store, StoreError};
use std::sync::Arc;

const STRICT: CredentialPolicy =
    CredentialPolicy { static_accepted: false, rotation_seconds: 5, proof_window_seconds: 15 };

pub async fn a_new_event_has_the_default_credential_policy(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    assert_eq!(store.credential_policy(w.event).await.expect("read"), CredentialPolicy::default());
}

pub async fn a_credential_policy_is_replaced_and_read_back_for_its_event_only(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    let other = World::builder().hosted_like(&w).build(&*store).await;
    store.set_credential_policy(w.event, STRICT).await.expect("set");
    assert_eq!(store.credential_policy(w.event).await.expect("read"), STRICT);
    assert_eq!(store.credential_policy(other.event).await.expect("read"), CredentialPolicy::default());
    let relaxed = CredentialPolicy { static_accepted: true, rotation_seconds: 300, proof_window_seconds: 600 };
    store.set_credential_policy(w.event, relaxed).await.expect("set again");
    assert_eq!(store.credential_policy(w.event).await.expect("read"), relaxed);
}

pub async fn an_invalid_credential_policy_is_refused_and_changes_nothing(store: Arc<dyn Store>) {
    let w = World::builder().build(&*store).await;
    store.set_credential_policy(w.event, STRICT).await.expect("set");
    for invalid in [
        CredentialPolicy { rotation_seconds: 1, ..STRICT },
        CredentialPolicy { rotation_seconds: 301, proof_window_seconds: 400, ..STRICT },
        CredentialPolicy { proof_window_seconds: 4, ..STRICT },
        CredentialPolicy { proof_window_seconds: 601, ..STRICT },
    ] {
        assert_err!(store.set_credential_policy(w.event, invalid).await, StoreError::Invalid(_));
    }
    assert_eq!(store.credential_policy(w.event).await.expect("read"), STRICT);
}

pub async fn an_unknown_event_has_no_credential_policy(store: Arc<dyn Store>) {
    assert_err!(store.credential_policy(EventId(9_999)).await, StoreError::NotFound("event"));
    assert_err!(store.set_credential_policy(EventId(9_999), STRICT).await, StoreError::NotFound("event"));
}
