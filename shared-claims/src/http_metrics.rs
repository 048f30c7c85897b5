//! HTTP request metrics in the Prometheus text format (0.0.4): a latency
//! histogram and a request counter per (method, route, status), and a gauge
//! of requests in flight, recorded by an actix middleware.
//!
//! Written by hand with atomics, like the rest of our metrics: a few series
//! do not justify a metrics crate and its global registry (per-instance
//! state also keeps in-process test servers from sharing counters).
//!
//! Label cardinality is bounded whatever clients send: `route` is the
//! matched pattern (`/oauth/token`, `/api/notes`), never the raw path, and
//! `unmatched` for a path no route knows; methods outside RFC 9110's list
//! become `OTHER`.
//!
//! Both servers use it, and it lives here (behind the `actix` feature) so
//! that any other team's actix-web service protected by this crate can
//! report the same series with one `.wrap(RequestMetrics::new(..))`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `route` label of a request no route matched (404s of unknown paths).
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds of the latency buckets: Prometheus's default buckets, in
/// microseconds, with their label text. They span a JWKS answer from memory
/// (well under 5 ms) to an argon2 login queued behind others (seconds).
const BUCKETS: [(&str, u64); 11] = [
    ("0.005", 5_000),
    ("0.01", 10_000),
    ("0.025", 25_000),
    ("0.05", 50_000),
    ("0.1", 100_000),
    ("0.25", 250_000),
    ("0.5", 500_000),
    ("1", 1_000_000),
    ("2.5", 2_500_000),
    ("5", 5_000_000),
    ("10", 10_000_000),
];

/// Methods kept as their own label value (RFC 9110 §9 and PATCH).
const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Writes the `# HELP` and `# TYPE` lines of a metric family.
pub fn write_header(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
}

/// Escapes a label value as the text format requires (`\`, `"`, newline).
pub fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// One series' latency distribution. Buckets are counted individually and
/// made cumulative when rendered; the total is their sum, so a scrape that
/// races a request still shows `+Inf` equal to `_count`.
#[derive(Debug, Default)]
struct Histogram {
    /// One counter per bound in [`BUCKETS`], then the overflow (`+Inf`).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let index = BUCKETS
            .iter()
            .position(|&(_, bound)| micros <= bound)
            .unwrap_or(BUCKETS.len());
        if let Some(bucket) = self.buckets.get(index) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// The labels of one series.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    method: &'static str,
    route: String,
    status: u16,
}

impl SeriesKey {
    fn labels(&self) -> String {
        format!(
            "method=\"{}\",route=\"{}\",status=\"{}\"",
            self.method,
            escape_label(&self.route),
            self.status
        )
    }
}

/// Request counts, latencies and the in-flight gauge of one server.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// Ordered, so the exposition is stable between scrapes. Read-locked on
    /// the hot path; write-locked only the first time a series appears.
    series: RwLock<BTreeMap<SeriesKey, Histogram>>,
    in_flight: AtomicI64,
}

impl HttpMetrics {
    /// Records one answered request.
    pub fn observe(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let key = SeriesKey {
            method: method_label(method),
            route: route.to_owned(),
            status,
        };
        {
            let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(histogram) = series.get(&key) {
                histogram.observe(elapsed);
                return;
            }
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        series.entry(key).or_default().observe(elapsed);
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests answered so far with this method, route and status.
    pub fn requests(&self, method: &Method, route: &str, status: u16) -> u64 {
        let key = SeriesKey {
            method: method_label(method),
            route: route.to_owned(),
            status,
        };
        let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
        series.get(&key).map_or(0, |h| {
            h.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
        })
    }

    /// Appends `http_requests_total`, `http_request_duration_seconds` and
    /// `http_requests_in_flight` in the text format.
    pub fn render(&self, out: &mut String) {
        let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
        let snapshot: Vec<(String, Vec<u64>, u64)> = series
            .iter()
            .map(|(key, h)| {
                let buckets = h.buckets.iter().map(|b| b.load(Ordering::Relaxed));
                (
                    key.labels(),
                    buckets.collect(),
                    h.sum_micros.load(Ordering::Relaxed),
                )
            })
            .collect();
        drop(series);

        write_header(
            out,
            "http_requests_total",
            "counter",
            "HTTP requests answered, by method, matched route and status.",
        );
        for (labels, buckets, _) in &snapshot {
            let total: u64 = buckets.iter().sum();
            let _ = writeln!(out, "http_requests_total{{{labels}}} {total}");
        }

        write_header(
            out,
            "http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its response head, by method, matched route and status.",
        );
        for (labels, buckets, sum_micros) in &snapshot {
            let mut cumulative = 0_u64;
            for (&(le, _), count) in BUCKETS.iter().zip(buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let total: u64 = buckets.iter().sum();
            // Microseconds to seconds; f64 is exact far beyond any real sum.
            let sum = *sum_micros as f64 / 1e6;
            let _ = write!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {total}\n\
                 http_request_duration_seconds_sum{{{labels}}} {sum}\n\
                 http_request_duration_seconds_count{{{labels}}} {total}\n"
            );
        }

        write_header(
            out,
            "http_requests_in_flight",
            "gauge",
            "Requests being handled now (this scrape included).",
        );
        let _ = writeln!(out, "http_requests_in_flight {}", self.in_flight());
    }
}

/// A bounded label for a method.
fn method_label(method: &Method) -> &'static str {
    KNOWN_METHODS
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("OTHER")
}

/// Counts a request in flight until dropped, so a request whose client went
/// away (its future dropped) leaves the gauge too.
struct InFlight(Arc<HttpMetrics>);

impl InFlight {
    fn enter(metrics: Arc<HttpMetrics>) -> Self {
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(metrics)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sees the error a handler answered with, for service-specific counters
/// (the auth server counts OAuth error codes this way).
pub type ErrorHook = Arc<dyn Fn(&actix_web::Error) + Send + Sync>;

/// The middleware: wrap the whole `App` with it, so every route is timed.
#[derive(Clone)]
pub struct RequestMetrics {
    metrics: Arc<HttpMetrics>,
    on_error: Option<ErrorHook>,
}

impl std::fmt::Debug for RequestMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetrics")
            .field("metrics", &self.metrics)
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

impl RequestMetrics {
    /// Records into `metrics`.
    pub fn new(metrics: Arc<HttpMetrics>) -> Self {
        Self {
            metrics,
            on_error: None,
        }
    }

    /// Also calls `hook` with the error of every response that carries one.
    pub fn on_error(mut self, hook: ErrorHook) -> Self {
        self.on_error = Some(hook);
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequestMetrics
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequestMetricsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestMetricsService {
            service,
            metrics: Arc::clone(&self.metrics),
            on_error: self.on_error.clone(),
        }))
    }
}

/// The service [`RequestMetrics`] wraps around the app.
pub struct RequestMetricsService<S> {
    service: S,
    metrics: Arc<HttpMetrics>,
    on_error: Option<ErrorHook>,
}

impl<S> std::fmt::Debug for RequestMetricsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetricsService")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RequestMetricsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let method = req.method().clone();
        let in_flight = InFlight::enter(Arc::clone(&self.metrics));
        let on_error = self.on_error.clone();
        let response = self.service.call(req);
        Box::pin(async move {
            let result = response.await;
            let elapsed = started.elapsed();
            let metrics = &in_flight.0;
            match &result {
                Ok(res) => {
                    if let (Some(hook), Some(err)) = (&on_error, res.response().error()) {
                        hook(err);
                    }
                    let route = res.request().match_pattern();
                    let route = route.as_deref().unwrap_or(UNMATCHED);
                    metrics.observe(&method, route, res.status().as_u16(), elapsed);
                }
                // Only a failing middleware gets here; which route would
                // have matched is unknown.
                Err(err) => {
                    let status = err.as_response_error().status_code().as_u16();
                    metrics.observe(&method, UNMATCHED, status, elapsed);
                }
            }
            drop(in_flight);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(metrics: &HttpMetrics) -> String {
        let mut out = String::new();
        metrics.render(&mut out);
        out
    }

    #[test]
    fn buckets_are_cumulative_and_count_matches_inf() {
        let metrics = HttpMetrics::default();
        for millis in [1, 7, 7, 300, 20_000] {
            metrics.observe(
                &Method::POST,
                "/oauth/token",
                200,
                Duration::from_millis(millis),
            );
        }
        let out = render(&metrics);
        let labels = "method=\"POST\",route=\"/oauth/token\",status=\"200\"";
        for line in [
            format!("http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"0.01\"}} 3"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"0.25\"}} 3"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"0.5\"}} 4"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"10\"}} 4"),
            format!("http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 5"),
            format!("http_request_duration_seconds_count{{{labels}}} 5"),
            format!("http_request_duration_seconds_sum{{{labels}}} 20.315"),
            format!("http_requests_total{{{labels}}} 5"),
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        assert_eq!(metrics.requests(&Method::POST, "/oauth/token", 200), 5);
    }

    #[test]
    fn series_are_split_by_method_route_and_status() {
        let metrics = HttpMetrics::default();
        let tick = Duration::from_millis(1);
        metrics.observe(&Method::GET, "/healthz", 200, tick);
        metrics.observe(&Method::GET, "/healthz", 200, tick);
        metrics.observe(&Method::GET, UNMATCHED, 404, tick);
        assert_eq!(metrics.requests(&Method::GET, "/healthz", 200), 2);
        assert_eq!(metrics.requests(&Method::GET, UNMATCHED, 404), 1);
        assert_eq!(metrics.requests(&Method::POST, "/healthz", 200), 0);
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let metrics = HttpMetrics::default();
        let brew = Method::from_bytes(b"BREW").expect("a valid token");
        let tick = Duration::from_millis(1);
        metrics.observe(&brew, UNMATCHED, 404, tick);
        let out = render(&metrics);
        assert!(out.contains("method=\"OTHER\""), "{out}");
        assert!(!out.contains("BREW"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("a\nb"), "a\\nb");
    }

    #[test]
    fn every_family_has_help_and_type() {
        let out = render(&HttpMetrics::default());
        for name in [
            "http_requests_total",
            "http_request_duration_seconds",
            "http_requests_in_flight",
        ] {
            assert!(out.contains(&format!("# HELP {name} ")), "{out}");
            assert!(out.contains(&format!("# TYPE {name} ")), "{out}");
        }
        assert!(out.contains("http_requests_in_flight 0\n"), "{out}");
    }
}
