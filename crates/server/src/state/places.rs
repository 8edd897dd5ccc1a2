//! Where gates, sessions and events belong, cached in memory: a gate's venue and organiser, a
//! session's event, an event's venue and organiser never change once written, so the online
//! check answers "may this staff member scan here, for this session?" without reading the
//! database. Only found rows are cached; an unknown id is looked up (and is a 404) each time.
//!
//! Next to each event sits its credential policy, which the organiser may change: a node
//! re-reads it after [`POLICY_RECHECK`] (another node may have changed it) and takes a change
//! it made itself at once, so the scan path reads the store at most that often.

use admit_domain::{CredentialPolicy, EventId, GateId, OrganiserId, SessionId, VenueId};
use admit_store::{Grade, Session, Store, StoreResult};
use quick_cache::sync::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a node trusts its cached copy of an event's credential policy.
pub const POLICY_RECHECK: Duration = Duration::from_secs(2);

/// Who owns a gate or an event, and at which venue it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub venue_id: VenueId,
    pub organiser_id: OrganiserId,
}

/// Session → its event → the event's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPlace {
    pub event_id: EventId,
    pub place: Place,
}

pub struct Places {
    gates: Cache<GateId, Place>,
    /// Sessions (times included: a reschedule would re-issue tickets anyway).
    sessions: Cache<SessionId, Session>,
    events: Cache<EventId, Place>,
    /// An event's grades (codes, seating modes, prices, entry policies): fixed once the event
    /// is created, read on every hold.
    grades: Cache<EventId, Arc<Vec<Grade>>>,
    /// An event's credential policy and when it was read (see [`POLICY_RECHECK`]).
    policies: Cache<EventId, (CredentialPolicy, Instant)>,
}

impl Default for Places {
    fn default() -> Self {
        Places {
            gates: Cache::new(10_000),
            sessions: Cache::new(100_000),
            events: Cache::new(10_000),
            grades: Cache::new(10_000),
            policies: Cache::new(10_000),
        }
    }
}

impl Places {
    pub async fn gate(&self, store: &dyn Store, id: GateId) -> StoreResult<Place> {
        self.gates
            .get_or_insert_async(&id, async {
                let gate = store.gate(id).await?;
                Ok(Place { venue_id: gate.venue_id, organiser_id: gate.organiser_id })
            })
            .await
    }

    pub async fn event(&self, store: &dyn Store, id: EventId) -> StoreResult<Place> {
        self.events
            .get_or_insert_async(&id, async {
                let event = store.event(id).await?.event;
                Ok(Place { venue_id: event.venue_id, organiser_id: event.organiser_id })
            })
            .await
    }

    pub async fn grades(&self, store: &dyn Store, id: EventId) -> StoreResult<Arc<Vec<Grade>>> {
        self.grades.get_or_insert_async(&id, async { store.event(id).await.map(|d| Arc::new(d.grades)) }).await
    }

    pub async fn session(&self, store: &dyn Store, id: SessionId) -> StoreResult<SessionPlace> {
        let event_id = self.session_detail(store, id).await?.event_id;
        Ok(SessionPlace { event_id, place: self.event(store, event_id).await? })
    }

    pub async fn session_detail(&self, store: &dyn Store, id: SessionId) -> StoreResult<Session> {
        self.sessions.get_or_insert_async(&id, async { store.session(id).await }).await
    }

    /// The event's credential policy, from memory unless older than [`POLICY_RECHECK`].
    pub async fn credential_policy(&self, store: &dyn Store, id: EventId) -> StoreResult<CredentialPolicy> {
        if let Some((policy, read_at)) = self.policies.get(&id)
            && read_at.elapsed() < POLICY_RECHECK
        {
            return Ok(policy);
        }
        let policy = store.credential_policy(id).await?;
        self.policies.insert(id, (policy, Instant::now()));
        Ok(policy)
    }

    /// Keeps the policy this node just wrote, so its next scan applies it at once.
    pub fn remember_credential_policy(&self, id: EventId, policy: CredentialPolicy) {
        self.policies.insert(id, (policy, Instant::now()));
    }
}
