//! `GET /metrics`: Prometheus text exposition of the key cache, token
//! validation failures and HTTP requests, written by hand because a handful
//! of counters does not justify a metrics crate.

use std::fmt::Write as _;

use actix_web::{HttpResponse, web};

use crate::http_metrics::{CONTENT_TYPE, HttpMetrics};
use crate::jwks::JwksCache;

/// The cache's counters and gauges, then the request metrics.
pub async fn metrics(cache: web::Data<JwksCache>, http: web::Data<HttpMetrics>) -> HttpResponse {
    let stats = cache.stats();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    };
    metric(
        "resource_jwks_fetches_total",
        "counter",
        "JWKS fetch attempts (initial, background and unknown-kid).",
        stats.fetches(),
    );
    metric(
        "resource_jwks_fetch_failures_total",
        "counter",
        "JWKS fetch attempts that failed or brought no usable key.",
        stats.failures(),
    );
    metric(
        "resource_jwks_unknown_kid_refetches_total",
        "counter",
        "JWKS fetches triggered by tokens naming an unknown key id.",
        stats.unknown_kid_refetches(),
    );
    metric(
        "resource_jwks_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful JWKS fetch (0 if none).",
        stats.last_success_unix(),
    );
    metric(
        "resource_jwks_keys",
        "gauge",
        "Signing keys currently trusted.",
        cache.key_count() as u64,
    );
    metric(
        "resource_ready",
        "gauge",
        "1 once signing keys are loaded.",
        u64::from(cache.is_ready()),
    );
    let _ = write!(
        out,
        "# HELP resource_token_validation_failures_total Access tokens refused, by reason.\n\
         # TYPE resource_token_validation_failures_total counter\n"
    );
    for (reason, count) in cache.rejections() {
        let _ = writeln!(
            out,
            "resource_token_validation_failures_total{{reason=\"{reason}\"}} {count}"
        );
    }
    http.render(&mut out);
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(out)
}
