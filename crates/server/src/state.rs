//! Shared application state: the store, the payment gateway, settings, and caches of things
//! that never change once written (event signing keys, verification keys, where gates and
//! sessions belong, rendered QR images) or may be a moment stale (staff tokens).

mod keys;
mod places;

pub use keys::{KeyCache, RELOAD_INTERVAL};
pub use places::{Place, Places, SessionPlace};

use crate::auth::StaffTokens;
use crate::ratelimit::{LimitSettings, Limiters};
use admit_credential::{Issuer, KeyRing};
use admit_domain::EventId;
use admit_payments::PaymentGateway;
use admit_store::Store;
use axum::body::Bytes;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Server behaviour that operators tune.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a hold keeps its seats before they return to sale.
    pub hold_ttl: Duration,
    /// How long we wait for the payment gateway before giving up on an attempt.
    pub payment_timeout: Duration,
    /// How often expired holds are swept back to sale.
    pub sweep_interval: Duration,
    /// How often unfinished payments are reconciled with the gateway.
    pub reconcile_interval: Duration,
    /// How long an idempotency claim blocks retries of a request that never finished (after
    /// that, a retry takes the claim over: the first request is taken to have died).
    pub idempotency_lease: Duration,
    /// How long an idempotency record (a key's first answer) is kept; then the key may be
    /// used again and the sweeper deletes the record.
    pub idempotency_retention: Duration,
    /// Per-address and per-buyer rate limits on holds and waiting-room joins.
    pub limits: LimitSettings,
    /// The proxies whose `X-Forwarded-For` entries are believed when
    /// `limits.trust_forwarded_for` is on: the client is the right-most entry not written by one
    /// of these (see `ratelimit::ClientAddr`). Default: loopback only.
    pub trusted_proxies: Vec<IpNet>,
    /// Whether the buyer-session and waiting-room cookies are `Secure` (sent over HTTPS only).
    /// On by default; `admit` turns it off only when it serves plain HTTP on a loopback
    /// address (see its `secure_cookies` setting), where browsers would otherwise drop them.
    pub secure_cookies: bool,
    /// The longest the server works on one request before answering 503 `request-timeout`
    /// (longer than `payment_timeout`, so a slow payment gateway is answered as such).
    pub request_timeout: Duration,
}

/// The default trusted proxies: a proxy on the same machine.
pub const LOOPBACK: [IpNet; 2] = [
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hold_ttl: Duration::from_secs(600),
            payment_timeout: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(1),
            reconcile_interval: Duration::from_secs(5),
            idempotency_lease: Duration::from_secs(30),
            idempotency_retention: Duration::from_secs(24 * 60 * 60),
            limits: LimitSettings::default(),
            trusted_proxies: LOOPBACK.to_vec(),
            secure_cookies: true,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// An event's ticket signer and inspection key, loaded once.
pub struct EventSigner {
    pub issuer: Issuer,
    pub inspection_key: [u8; 32],
    /// Signs the waiting room's admission passes (derived from the inspection key).
    pub pass_key: [u8; 32],
}

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub settings: Settings,
    keys: KeyCache,
    signers: Mutex<HashMap<EventId, Arc<EventSigner>>>,
    /// Rendered QR images by (ticket id, version, format): rendered lazily, once.
    pub qr_cache: quick_cache::sync::Cache<(i64, u32, &'static str), Bytes>,
    pub limiters: Limiters,
    /// Whether an event sells through a waiting room, re-read from the store after
    /// `WAITING_ROOM_RECHECK` (another node may have switched it).
    waiting_rooms: quick_cache::sync::Cache<EventId, (bool, Instant)>,
    /// Which venue and organiser each gate, session and event belongs to.
    pub places: Places,
    /// Staff tokens read recently (see `auth::STAFF_TOKEN_TTL`).
    pub staff_tokens: StaffTokens,
}

/// How long a node trusts its cached "this event has (no) waiting room".
const WAITING_ROOM_RECHECK: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, gateway: Arc<dyn PaymentGateway>, settings: Settings) -> AppState {
        AppState(Arc::new(Inner {
            store,
            gateway,
            keys: KeyCache::default(),
            signers: Mutex::new(HashMap::new()),
            qr_cache: quick_cache::sync::Cache::new(20_000),
            places: Places::default(),
            staff_tokens: StaffTokens::default(),
            limiters: Limiters::new(&settings.limits),
            waiting_rooms: quick_cache::sync::Cache::new(10_000),
            settings,
        }))
    }

    /// The verification keys, reloaded from the store when `key_id` is not known yet (a new
    /// event, possibly created through another node) at most every [`RELOAD_INTERVAL`]; the
    /// ring is shared, never copied per scan.
    pub async fn keyring_with(&self, key_id: u32) -> Result<Arc<KeyRing>, admit_store::StoreError> {
        self.keys.ring_with(self.store.as_ref(), key_id).await
    }

    /// The verification keys as they are now, without asking the store.
    pub fn keyring(&self) -> Arc<KeyRing> {
        self.keys.current()
    }

    pub async fn signer(&self, event: EventId) -> Result<Arc<EventSigner>, admit_store::StoreError> {
        if let Some(s) = self.signers.lock().unwrap_or_else(|p| p.into_inner()).get(&event) {
            return Ok(s.clone());
        }
        let keys = self.store.event_keys(event).await?;
        self.keys.add(keys.key_id, &keys.public_key);
        let signer = Arc::new(EventSigner {
            issuer: Issuer::from_secret(keys.key_id, &keys.signing_secret),
            inspection_key: keys.inspection_key,
            pass_key: crate::admission::pass_key(&keys.inspection_key),
        });
        self.signers.lock().unwrap_or_else(|p| p.into_inner()).insert(event, signer.clone());
        Ok(signer)
    }
}

impl AppState {
    /// Whether holds for `event` need an admission pass.
    pub async fn has_waiting_room(&self, event: EventId) -> Result<bool, admit_store::StoreError> {
        if let Some((on, at)) = self.waiting_rooms.get(&event)
            && at.elapsed() < WAITING_ROOM_RECHECK
        {
            return Ok(on);
        }
        let on = self.store.waiting_room(event).await?.is_some();
        self.waiting_rooms.insert(event, (on, Instant::now()));
        Ok(on)
    }

    /// Drops the cached answer after this node changed the waiting room.
    pub fn forget_waiting_room(&self, event: EventId) {
        self.waiting_rooms.remove(&event);
    }
}

/// Wall-clock time in unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
