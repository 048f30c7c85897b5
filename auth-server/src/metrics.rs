//! The auth server's own metrics: tokens issued per grant, refresh
//! rotations and reuse detections, OAuth error codes, and the gauges read at
//! scrape time (password hashing, database pool), rendered next to the HTTP
//! request metrics in the Prometheus text format.
//!
//! Counters are per [`Metrics`] value, not global, so two servers in one
//! process (tests) count separately. Nothing here carries a token, a user
//! name or a client id: labels come from fixed sets only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::domain::GrantType;
use crate::http_metrics::{ErrorHook, HttpMetrics, write_header};
use crate::oauth_error::{ErrorCode, OAuthError};

/// Counters of one auth server.
#[derive(Debug, Default)]
pub struct Metrics {
    http: Arc<HttpMetrics>,
    /// Indexed like [`GrantType::ALL`].
    tokens_issued: [AtomicU64; GrantType::ALL.len()],
    refresh_rotations: AtomicU64,
    refresh_reuse_detected: AtomicU64,
    /// By RFC 6749 §5.2 code; only touched on failures.
    oauth_errors: Mutex<BTreeMap<&'static str, u64>>,
}

/// Values read when `/metrics` is scraped rather than counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Password hashes running now.
    pub password_hash_in_flight: usize,
    /// Password hashes waiting for a hashing slot.
    pub password_hash_waiting: usize,
    /// Most hashes run at once (`--password-workers`).
    pub password_hash_workers: usize,
    /// Database connections open (idle or in use).
    pub db_connections: u32,
    /// Database connections idle in the pool.
    pub db_idle_connections: u32,
    /// The pool's size limit (`--db-pool-size`).
    pub db_max_connections: u32,
}

impl Metrics {
    /// Fresh counters; HTTP request metrics go to `http`.
    pub fn new(http: Arc<HttpMetrics>) -> Self {
        Self {
            http,
            ..Self::default()
        }
    }

    /// The HTTP request metrics (shared with the middleware).
    pub fn http(&self) -> &Arc<HttpMetrics> {
        &self.http
    }

    /// A token endpoint answer with tokens from `grant`.
    pub fn token_issued(&self, grant: GrantType) {
        if let Some(i) = GrantType::ALL.iter().position(|g| *g == grant)
            && let Some(counter) = self.tokens_issued.get(i)
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tokens issued so far by `grant`.
    pub fn tokens_issued(&self, grant: GrantType) -> u64 {
        GrantType::ALL
            .iter()
            .position(|g| *g == grant)
            .and_then(|i| self.tokens_issued.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// A refresh token was exchanged for its successor.
    pub fn refresh_rotated(&self) {
        self.refresh_rotations.fetch_add(1, Ordering::Relaxed);
    }

    /// A used refresh token was presented again and its family revoked.
    pub fn refresh_reuse_detected(&self) {
        self.refresh_reuse_detected.fetch_add(1, Ordering::Relaxed);
    }

    /// An OAuth error response was sent.
    pub fn oauth_error(&self, code: ErrorCode) {
        let mut errors = self
            .oauth_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *errors.entry(code.as_str()).or_default() += 1;
    }

    /// A hook for [`crate::http_metrics::RequestMetrics::on_error`] that
    /// counts every [`OAuthError`] a handler answered with, whichever
    /// endpoint and layer produced it.
    pub fn oauth_error_hook(self: &Arc<Self>) -> ErrorHook {
        let metrics = Arc::clone(self);
        Arc::new(move |err: &actix_web::Error| {
            if let Some(err) = err.as_error::<OAuthError>() {
                metrics.oauth_error(err.code());
            }
        })
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        write_header(
            &mut out,
            "auth_tokens_issued_total",
            "counter",
            "Successful token endpoint answers, by grant type.",
        );
        for (grant, counter) in GrantType::ALL.iter().zip(&self.tokens_issued) {
            let _ = writeln!(
                out,
                "auth_tokens_issued_total{{grant=\"{grant}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        counter(
            &mut out,
            "auth_refresh_rotations_total",
            "Refresh tokens exchanged for a successor in the same family.",
            self.refresh_rotations.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "auth_refresh_reuse_detected_total",
            "Used refresh tokens presented again; each revoked its token family.",
            self.refresh_reuse_detected.load(Ordering::Relaxed),
        );
        write_header(
            &mut out,
            "auth_token_errors_total",
            "counter",
            "OAuth error responses (RFC 6749 section 5.2 codes), by error code.",
        );
        let errors = self
            .oauth_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (code, count) in errors {
            let _ = writeln!(out, "auth_token_errors_total{{error=\"{code}\"}} {count}");
        }

        gauge(
            &mut out,
            "auth_password_hash_inflight",
            "Password hashes (argon2id) computing now.",
            gauges.password_hash_in_flight,
        );
        gauge(
            &mut out,
            "auth_password_hash_waiting",
            "Password hashes queued for a hashing slot.",
            gauges.password_hash_waiting,
        );
        gauge(
            &mut out,
            "auth_password_hash_workers",
            "Most password hashes computed at once.",
            gauges.password_hash_workers,
        );
        gauge(
            &mut out,
            "auth_db_pool_connections",
            "Database connections open, idle or in use.",
            gauges.db_connections,
        );
        gauge(
            &mut out,
            "auth_db_pool_idle_connections",
            "Database connections idle in the pool.",
            gauges.db_idle_connections,
        );
        gauge(
            &mut out,
            "auth_db_pool_max_connections",
            "The database pool's size limit.",
            gauges.db_max_connections,
        );

        self.http.render(&mut out);
        out
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    write_header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    write_header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_line(out: &str, line: &str) -> bool {
        out.lines().any(|l| l == line)
    }

    #[test]
    fn counters_render_with_their_labels() {
        let metrics = Arc::new(Metrics::default());
        metrics.token_issued(GrantType::Password);
        metrics.token_issued(GrantType::RefreshToken);
        metrics.token_issued(GrantType::RefreshToken);
        metrics.refresh_rotated();
        metrics.refresh_reuse_detected();
        metrics.oauth_error(ErrorCode::InvalidGrant);
        metrics.oauth_error(ErrorCode::InvalidGrant);
        metrics.oauth_error(ErrorCode::TemporarilyUnavailable);
        let out = metrics.render(&Gauges {
            password_hash_workers: 2,
            db_max_connections: 10,
            ..Gauges::default()
        });
        for line in [
            "auth_tokens_issued_total{grant=\"password\"} 1",
            "auth_tokens_issued_total{grant=\"refresh_token\"} 2",
            "auth_tokens_issued_total{grant=\"client_credentials\"} 0",
            "auth_refresh_rotations_total 1",
            "auth_refresh_reuse_detected_total 1",
            "auth_token_errors_total{error=\"invalid_grant\"} 2",
            "auth_token_errors_total{error=\"temporarily_unavailable\"} 1",
            "auth_password_hash_workers 2",
            "auth_db_pool_max_connections 10",
            "http_requests_in_flight 0",
        ] {
            assert!(has_line(&out, line), "missing {line:?} in\n{out}");
        }
        assert_eq!(metrics.tokens_issued(GrantType::RefreshToken), 2);
    }

    #[test]
    fn error_labels_are_the_wire_codes() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidClient,
            ErrorCode::InvalidGrant,
            ErrorCode::UnauthorizedClient,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidScope,
            ErrorCode::TemporarilyUnavailable,
            ErrorCode::ServerError,
        ] {
            assert_eq!(
                serde_json::to_value(code).expect("serializes"),
                code.as_str()
            );
        }
    }

    #[test]
    fn the_hook_counts_oauth_errors_only() {
        let metrics = Arc::new(Metrics::default());
        let hook = metrics.oauth_error_hook();
        hook(&OAuthError::new(ErrorCode::InvalidClient, "no").into());
        hook(&actix_web::error::ErrorNotFound("elsewhere"));
        let out = metrics.render(&Gauges::default());
        assert!(has_line(
            &out,
            "auth_token_errors_total{error=\"invalid_client\"} 1"
        ));
        assert_eq!(out.matches("auth_token_errors_total{").count(), 1, "{out}");
    }
}
