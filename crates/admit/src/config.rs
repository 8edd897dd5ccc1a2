//! Layered configuration: built-in defaults, then an optional TOML file (`--config`), then
//! `ADMIT_*` environment variables (`ADMIT_HOLD_TTL_SECS=300`), then command-line flags.

use admit_server::Settings;
use admit_server::ratelimit::{Limit, LimitSettings};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A value that must not reach logs (a database URL with its password, a token): `Debug`
/// prints `Secret(***)`; the value itself is read only through [`Secret::expose`]. A dozen
/// lines of our own rather than the `secrecy` crate, whose `SecretString` is not `Serialize`
/// (figment layers this config through serde) and brings zeroize for a value that also lives
/// in the environment anyway.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub hold_ttl_secs: u64,
    pub payment_timeout_ms: u64,
    /// The longest the server works on one request (503 `request-timeout` after that).
    pub request_timeout_ms: u64,
    /// How long the simulator's "timeout" test card keeps the caller waiting.
    pub simulator_hang_ms: u64,
    pub sweep_interval_ms: u64,
    pub reconcile_interval_ms: u64,
    /// How long a retry with the same `Idempotency-Key` is told "in progress" before it takes
    /// over the claim of a request that never answered (the node died).
    pub idempotency_lease_secs: u64,
    /// How long a key's first answer is kept for retries; then the record is deleted.
    pub idempotency_retention_secs: u64,
    /// `postgres://…` for PostgreSQL; unset: SQLite in `data_dir/admit.db`. May hold a
    /// password, so `Debug` never shows it.
    pub database: Option<Secret>,
    /// PostgreSQL connections per node.
    pub database_pool: u32,
    /// The card simulator's ledger; nodes of one deployment share it like a real provider
    /// (default `data_dir/payments-sim.db`).
    pub simulator_ledger: Option<PathBuf>,
    /// Rate limits per minute (0 turns one off); bursts are a quarter of the rate.
    pub limit_holds_per_address: u32,
    pub limit_holds_per_buyer: u32,
    pub limit_joins_per_address: u32,
    /// Take client addresses from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_forwarded_for: bool,
    /// The proxies (addresses or CIDR blocks) whose `X-Forwarded-For` entries are believed:
    /// the client is the right-most entry none of them wrote. Default: loopback.
    pub trusted_proxies: Vec<IpNet>,
    /// Mark cookies `Secure` (HTTPS only). Unset: on, unless `host` is a loopback address
    /// (`127.0.0.1`, `::1`, `localhost`: plain HTTP on this machine, the demo).
    pub secure_cookies: Option<bool>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 8080,
            data_dir: PathBuf::from("."),
            hold_ttl_secs: 600,
            payment_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            simulator_hang_ms: 30_000,
            sweep_interval_ms: 1_000,
            reconcile_interval_ms: 5_000,
            idempotency_lease_secs: 30,
            idempotency_retention_secs: 24 * 60 * 60,
            database: None,
            database_pool: 16,
            simulator_ledger: None,
            limit_holds_per_address: 120,
            limit_holds_per_buyer: 20,
            limit_joins_per_address: 30,
            trust_forwarded_for: false,
            trusted_proxies: admit_server::state::LOOPBACK.to_vec(),
            secure_cookies: None,
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_ttl_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<Secret>,
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(Env::prefixed("ADMIT_")).merge(Serialized::defaults(overrides)).extract().map_err(Box::new)
    }

    pub fn settings(&self) -> Settings {
        Settings {
            hold_ttl: Duration::from_secs(self.hold_ttl_secs),
            payment_timeout: Duration::from_millis(self.payment_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            sweep_interval: Duration::from_millis(self.sweep_interval_ms),
            reconcile_interval: Duration::from_millis(self.reconcile_interval_ms),
            idempotency_lease: Duration::from_secs(self.idempotency_lease_secs),
            idempotency_retention: Duration::from_secs(self.idempotency_retention_secs),
            limits: LimitSettings {
                holds_per_address: limit(self.limit_holds_per_address),
                holds_per_buyer: limit(self.limit_holds_per_buyer),
                joins_per_address: limit(self.limit_joins_per_address),
                trust_forwarded_for: self.trust_forwarded_for,
            },
            trusted_proxies: self.trusted_proxies.clone(),
            secure_cookies: self.secure_cookies.unwrap_or_else(|| !self.serves_loopback()),
        }
    }

    /// Whether `host` is this machine only, where the server speaks plain HTTP.
    fn serves_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    pub fn simulator_ledger(&self) -> PathBuf {
        self.simulator_ledger.clone().unwrap_or_else(|| self.data_dir.join("payments-sim.db"))
    }
}

fn limit(per_minute: u32) -> Option<Limit> {
    (per_minute > 0).then(|| Limit { per_minute, burst: (per_minute / 4).max(1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotency_lease_and_retention_reach_the_server_settings() {
        let config = Config { idempotency_lease_secs: 5, idempotency_retention_secs: 3600, ..Config::default() };

        let settings = config.settings();

        assert_eq!(settings.idempotency_lease, Duration::from_secs(5));
        assert_eq!(settings.idempotency_retention, Duration::from_secs(3600));
        assert_eq!(Config::default().settings().idempotency_lease, Settings::default().idempotency_lease);
    }
}
