//! Rate limits that stop scripted buyers flooding holds and the waiting room.
//!
//! GCRA limiters (the `governor` crate) keyed by client address and by buyer (the waiting-room
//! entry behind an admission pass; member accounts later). They are per node: with N nodes
//! behind a load balancer without affinity, a client gets up to N times the limit. The waiting
//! room, which is shared through the store, is what paces an on-sale; these limits only stop
//! one client from taking more than its share.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;

/// A limit: so many per minute, with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Limit {
    fn quota(self) -> Option<Quota> {
        let per_minute = NonZeroU32::new(self.per_minute)?;
        Some(Quota::per_minute(per_minute).allow_burst(NonZeroU32::new(self.burst).unwrap_or(per_minute)))
    }
}

/// Which limits apply; `None` turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// Holds created per client address.
    pub holds_per_address: Option<Limit>,
    /// Holds created per admitted buyer.
    pub holds_per_buyer: Option<Limit>,
    /// Waiting-room joins per client address (each join may be a new place in line).
    pub joins_per_address: Option<Limit>,
    /// Take the client address from `X-Forwarded-For` when the request comes through one of
    /// `Settings::trusted_proxies` (see [`ClientAddr`]).
    pub trust_forwarded_for: bool,
}

impl Default for LimitSettings {
    /// Generous for people (a family or an office behind one address), tight for scripts.
    fn default() -> Self {
        LimitSettings {
            holds_per_address: Some(Limit { per_minute: 120, burst: 30 }),
            holds_per_buyer: Some(Limit { per_minute: 20, burst: 10 }),
            joins_per_address: Some(Limit { per_minute: 30, burst: 10 }),
            trust_forwarded_for: false,
        }
    }
}

impl LimitSettings {
    /// No limits at all (benchmarks and tests that are about something else).
    pub fn off() -> LimitSettings {
        LimitSettings { holds_per_address: None, holds_per_buyer: None, joins_per_address: None, ..Self::default() }
    }
}

/// The live limiters.
pub struct Limiters {
    holds_per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    holds_per_buyer: Option<DefaultKeyedRateLimiter<String>>,
    joins_per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(limit: Option<Limit>) -> Option<DefaultKeyedRateLimiter<K>> {
    limit.and_then(Limit::quota).map(DefaultKeyedRateLimiter::keyed)
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
    what: &str,
) -> Result<(), ApiError> {
    let Some(limiter) = limiter else { return Ok(()) };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("Too many {what}. Try again in {secs} s."),
        )
        .with("retry_after_secs", secs)
    })
}

impl Limiters {
    pub fn new(settings: &LimitSettings) -> Limiters {
        Limiters {
            holds_per_address: keyed(settings.holds_per_address),
            holds_per_buyer: keyed(settings.holds_per_buyer),
            joins_per_address: keyed(settings.joins_per_address),
        }
    }

    pub fn hold(&self, client: ClientAddr) -> Result<(), ApiError> {
        check(&self.holds_per_address, &client.0, "holds from your address")
    }

    /// `buyer`: the waiting-room entry behind the admission pass (a member account later).
    pub fn hold_for_buyer(&self, buyer: &str) -> Result<(), ApiError> {
        check(&self.holds_per_buyer, &buyer.to_owned(), "holds for your admission")
    }

    pub fn join(&self, client: ClientAddr) -> Result<(), ApiError> {
        check(&self.joins_per_address, &client.0, "waiting-room joins from your address")
    }

    /// Forgets clients that have not been limited lately (run periodically).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.holds_per_address {
            l.retain_recent();
        }
        if let Some(l) = &self.holds_per_buyer {
            l.retain_recent();
        }
        if let Some(l) = &self.joins_per_address {
            l.retain_recent();
        }
    }
}

/// The client's address. Directly connected: the TCP peer. Behind proxies
/// (`trust_forwarded_for`), and only when the peer is one of `Settings::trusted_proxies`: the
/// right-most `X-Forwarded-For` entry that is not a trusted proxy. Entries to its left were
/// written by the client (or by proxies we do not run) and could say anything; each trusted
/// proxy appends the address it received from, so the first untrusted one from the right is
/// the last address a proxy of ours saw. An unreadable entry stops the walk at the address to
/// its right, and a chain of trusted proxies only is answered with its left-most entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The client behind `peer` given the request's `X-Forwarded-For` headers.
    pub fn behind(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> ClientAddr {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&ip.to_canonical()));
        let mut client = peer;
        if !is_trusted(&peer) {
            return ClientAddr(client);
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for entry in entries.iter().rev() {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else { break };
            client = ip;
            if !is_trusted(&ip) {
                break;
            }
        }
        ClientAddr(client)
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if !state.settings.limits.trust_forwarded_for {
            return Ok(ClientAddr(peer));
        }
        Ok(ClientAddr::behind(peer, &parts.headers, &state.settings.trusted_proxies))
    }
}
