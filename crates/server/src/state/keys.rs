//! The verification key ring, shared by every scan without copying, and reloaded from the
//! store only when a credential names a key ID it does not hold yet (a new event, possibly
//! created through another node).
//!
//! A reload is single-flight and happens at most once per [`RELOAD_INTERVAL`]: an unknown key
//! ID inside that interval is answered from memory (a short negative cache for every unknown
//! ID at once), so a staff-token holder sending made-up key IDs cannot turn each scan into a
//! database read. The price: a key created on another node may be reported unknown for up to
//! that interval after the previous reload. Keys this node signs with are added at once.

use admit_credential::KeyRing;
use admit_store::{Store, StoreResult};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The shortest time between two reloads of the key ring from the store.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

pub struct KeyCache {
    ring: RwLock<Arc<KeyRing>>,
    /// When the last reload from the store finished; held across the reload (single-flight).
    reloaded: tokio::sync::Mutex<Option<Instant>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache { ring: RwLock::new(Arc::new(KeyRing::new())), reloaded: tokio::sync::Mutex::new(None) }
    }
}

impl KeyCache {
    /// The ring as it is now.
    pub fn current(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The ring, reloaded first if it lacks `key_id` and no reload happened in the last
    /// [`RELOAD_INTERVAL`]. The answer may still lack `key_id`: then the key is unknown.
    pub async fn ring_with(&self, store: &dyn Store, key_id: u32) -> StoreResult<Arc<KeyRing>> {
        let ring = self.current();
        if ring.contains(key_id) {
            return Ok(ring);
        }
        let mut reloaded = self.reloaded.lock().await;
        let ring = self.current();
        if ring.contains(key_id) || reloaded.is_some_and(|at| at.elapsed() < RELOAD_INTERVAL) {
            return Ok(ring);
        }
        let mut fresh = KeyRing::new();
        for (id, public) in store.public_keys().await? {
            if let Err(e) = fresh.insert(id, &public) {
                tracing::warn!(key.id = id, error = %e, "skipping an invalid public key");
            }
        }
        let fresh = Arc::new(fresh);
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        *reloaded = Some(Instant::now());
        Ok(fresh)
    }

    /// Adds a key this node just loaded for signing, so its tickets verify without a reload.
    pub fn add(&self, key_id: u32, public_key: &[u8; 32]) {
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        if ring.contains(key_id) {
            return;
        }
        let mut next = KeyRing::clone(&ring);
        match next.insert(key_id, public_key) {
            Ok(()) => *ring = Arc::new(next),
            Err(e) => tracing::warn!(key.id = key_id, error = %e, "not adding an invalid public key"),
        }
    }
}
