//! Server configuration, independent of where it came from (the CLI, or a
//! test building it directly).

use std::net::SocketAddr;
use std::time::Duration;

use crate::domain::SigningAlg;
use crate::playground::ResourceUrl;
use crate::storage::{DatabaseUrl, PoolSettings};
use crate::throttle::ThrottleConfig;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// The database and its pool.
    pub database: PoolSettings,
    /// The `iss` of tokens and the metadata; `None`: `http://<bound address>`.
    pub issuer: Option<String>,
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Absolute lifetime of a refresh-token family, from login.
    pub refresh_ttl: Duration,
    /// Idle lifetime: a refresh token unused this long expires, even if its
    /// family is younger than `refresh_ttl`.
    pub refresh_idle_ttl: Duration,
    /// Reuse grace window after a rotation; zero turns it off.
    pub refresh_reuse_grace: Duration,
    /// Replays of one rotated token allowed within the grace window.
    pub refresh_reuse_grace_max: u32,
    /// Algorithm of a signing key generated because none exists.
    pub signing_alg: SigningAlg,
    /// Serve `POST /users`.
    pub allow_registration: bool,
    /// Most argon2 hashes computed at once.
    pub password_workers: usize,
    /// HTTP worker threads; `None`: one per core.
    pub http_workers: Option<usize>,
    /// How often to reload signing keys from the database (to see
    /// rotations made by the CLI or another instance).
    pub key_refresh_interval: Duration,
    /// After SIGTERM, how long requests in flight may take to finish.
    pub shutdown_timeout: Duration,
    /// Brute-force throttling limits.
    pub throttle: ThrottleConfig,
    /// Serve `GET /playground`, calling the resource server here; `None`:
    /// no playground.
    pub playground_resource_url: Option<ResourceUrl>,
}

impl ServeConfig {
    /// The defaults, on `database`.
    pub fn new(database: DatabaseUrl) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: PoolSettings {
                url: database,
                max_size: 10,
                checkout_timeout: Duration::from_secs(2),
            },
            issuer: None,
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            refresh_idle_ttl: Duration::from_secs(7 * 24 * 3600),
            refresh_reuse_grace: Duration::ZERO,
            refresh_reuse_grace_max: 2,
            signing_alg: SigningAlg::EdDSA,
            allow_registration: false,
            password_workers: default_parallelism(),
            http_workers: None,
            key_refresh_interval: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(10),
            throttle: ThrottleConfig::default(),
            playground_resource_url: None,
        }
    }
}

/// The number of cores, or 1 if unknown.
pub fn default_parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The issuer is not an http(s) URL without query or fragment (RFC 8414 §2).
    #[error("issuer must be an http:// or https:// URL without query or fragment: {0:?}")]
    Issuer(String),
    /// A lifetime is zero or too long to represent.
    #[error("{0} must be between 1 second and 100 years")]
    Lifetime(&'static str),
}

/// A lifetime in whole seconds, refusing zero and absurd values.
pub fn lifetime_secs(value: Duration, name: &'static str) -> Result<i64, ConfigError> {
    const HUNDRED_YEARS: u64 = 100 * 365 * 24 * 3600;
    match value.as_secs() {
        secs @ 1..=HUNDRED_YEARS => i64::try_from(secs).map_err(|_| ConfigError::Lifetime(name)),
        _ => Err(ConfigError::Lifetime(name)),
    }
}

/// Checks an issuer URL.
pub fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let ok = (issuer.starts_with("http://") || issuer.starts_with("https://"))
        && issuer.len() > "https://".len()
        && !issuer.contains(['?', '#', ' ']);
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Issuer(issuer.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers() {
        assert!(validate_issuer("https://auth.example.com").is_ok());
        assert!(validate_issuer("http://127.0.0.1:8080").is_ok());
        for bad in [
            "auth.example.com",
            "https://a/?x=1",
            "https://a/#f",
            "ftp://a",
            "http://",
        ] {
            assert!(validate_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lifetimes() {
        assert_eq!(
            lifetime_secs(Duration::from_secs(900), "access-ttl"),
            Ok(900)
        );
        assert!(lifetime_secs(Duration::from_millis(500), "access-ttl").is_err());
    }
}
