//! Operations: `/metrics`, `/readyz`, and what a database outage looks like
//! from outside: fast 503s while it lasts, recovery without a restart.

use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use auth_server::storage::DatabaseUrl;
use serde_json::Value;

use crate::helpers::{Options, PASSWORD, TestApp, TestDb, error_of};
use crate::proxy::CuttableProxy;

/// Bounds a whole test: a hang fails it instead of stalling the suite.
/// Generous: it catches a server that hangs on a dead database (a
/// connect waiting for the kernel's TCP timeout), not slowness.
const TEST_BOUND: Duration = Duration::from_secs(120);

async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_BOUND, test)
        .await
        .expect("the test finished within its bound (did a request hang?)")
}

async fn scrape(app: &TestApp) -> String {
    let response = app
        .http
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

/// The value of the sample line `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Every sample belongs to a family declared with `# TYPE` before it, and
/// its value is a number: what a Prometheus scraper needs to accept it.
fn assert_well_formed(text: &str) {
    let mut declared: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            declared.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let name = series.split('{').next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                declared.iter().any(|d| d == base).then_some(base)
            })
            .unwrap_or(name);
        assert!(
            declared.iter().any(|d| d == family),
            "no # TYPE before {line}"
        );
    }
}

#[actix_web::test]
async fn metrics_count_grants_rotations_reuse_errors_and_requests() {
    let app = TestApp::spawn().await;
    let login: Value = app.login("alice", PASSWORD).await.json().await.unwrap();
    let r1 = login["refresh_token"].as_str().unwrap();
    assert_eq!(app.refresh(r1).await.status(), 200);
    assert_eq!(error_of(app.refresh(r1).await).await.1, "invalid_grant");
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(
        app.token_basic("svc", &app.svc_secret, &cc).await.status(),
        200
    );
    let implicit = [("grant_type", "implicit"), ("client_id", "app")];
    assert_eq!(
        error_of(app.token(&implicit).await).await.1,
        "unsupported_grant_type"
    );
    let not_found = app
        .http
        .get(format!("{}/no/such/path/42", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(not_found.status(), 404);

    let text = scrape(&app).await;

    assert_well_formed(&text);
    for line in [
        "auth_tokens_issued_total{grant=\"password\"} 1",
        "auth_tokens_issued_total{grant=\"refresh_token\"} 1",
        "auth_tokens_issued_total{grant=\"client_credentials\"} 1",
        "auth_refresh_rotations_total 1",
        "auth_refresh_reuse_detected_total 1",
        "auth_token_errors_total{error=\"invalid_grant\"} 1",
        "auth_token_errors_total{error=\"unsupported_grant_type\"} 1",
        "http_requests_total{method=\"POST\",route=\"/oauth/token\",status=\"200\"} 3",
        "http_requests_total{method=\"POST\",route=\"/oauth/token\",status=\"400\"} 2",
        "http_request_duration_seconds_count{method=\"POST\",route=\"/oauth/token\",status=\"200\"} 3",
        "http_request_duration_seconds_bucket{method=\"POST\",route=\"/oauth/token\",status=\"200\",le=\"+Inf\"} 3",
        "http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        // The scrape itself.
        "http_requests_in_flight 1",
        "auth_password_hash_workers 2",
        "auth_password_hash_inflight 0",
        "auth_password_hash_waiting 0",
    ] {
        assert!(has_line(&text, line), "missing {line:?} in\n{text}");
    }
    assert!(sample(&text, "auth_db_pool_connections").is_some_and(|n| n >= 1.0));
    // Routes are patterns, never raw paths; no user or token in a label.
    assert!(!text.contains("/no/such/path"), "{text}");
    assert!(!text.contains("alice") && !text.contains(r1), "{text}");
}

#[actix_web::test]
async fn readyz_says_the_database_is_ok() {
    let app = TestApp::spawn().await;
    let response = app.readyz().await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
}

/// Where a PostgreSQL URL points (host and port; 5432 if none).
fn postgres_addr(url: &DatabaseUrl) -> SocketAddr {
    let DatabaseUrl::Postgres(url) = url else {
        panic!("not a PostgreSQL URL")
    };
    let (_, rest) = url.split_once("://").unwrap();
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    with_port
        .to_socket_addrs()
        .unwrap()
        .next()
        .expect("TEST_DATABASE_URL names a TCP host")
}

/// The same URL, pointing at `addr` instead.
fn via(url: &DatabaseUrl, addr: SocketAddr) -> DatabaseUrl {
    let DatabaseUrl::Postgres(url) = url else {
        panic!("not a PostgreSQL URL")
    };
    let (scheme, rest) = url.split_once("://").unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let userinfo = authority
        .rsplit_once('@')
        .map_or(String::new(), |(u, _)| format!("{u}@"));
    DatabaseUrl::Postgres(format!("{scheme}://{userinfo}{addr}{tail}"))
}

async fn assert_unavailable_everywhere(app: &TestApp, refresh_token: &str) {
    let ready = app.readyz().await;
    assert_eq!(ready.status(), 503);
    assert!(ready.headers().get("retry-after").is_some());
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "unavailable", "{body}");
    assert!(body["reason"].as_str().is_some_and(|r| !r.is_empty()));

    assert_eq!(app.healthz().await.status(), 200, "alive, just not ready");

    for response in [
        app.login("alice", PASSWORD).await,
        app.refresh(refresh_token).await,
    ] {
        assert_eq!(response.headers().get("retry-after").unwrap(), "5");
        let (status, code, body) = error_of(response).await;
        assert_eq!(
            (status, code.as_str()),
            (503, "temporarily_unavailable"),
            "{body}"
        );
    }
}

/// Polls `/readyz` until it answers 200.
async fn wait_until_ready(app: &TestApp) {
    let started = Instant::now();
    while app.readyz().await.status() != 200 {
        assert!(
            started.elapsed() < TEST_BOUND,
            "not ready again after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn postgres_outage_gives_503_and_the_service_recovers_without_a_restart() {
    let Some(db) = TestDb::postgres() else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant skipped");
        return;
    };
    let proxy = CuttableProxy::start(postgres_addr(&db.url()));
    let options = Options {
        server_database_url: Some(via(&db.url(), proxy.addr())),
        ..Options::default()
    };
    let app = TestApp::spawn_with(db, options).await;
    bounded(async {
        let login: Value = app.login("alice", PASSWORD).await.json().await.unwrap();
        let refresh_token = login["refresh_token"].as_str().unwrap().to_owned();
        // Several connections at once, so the pool holds more than one.
        let (a, b, c) = tokio::join!(app.readyz(), app.readyz(), app.readyz());
        assert!([a, b, c].iter().all(|r| r.status() == 200));

        // A blip: every pooled connection dies, the database is back at
        // once. The pool must test what it hands out, not fail requests
        // with connections that died while idle.
        proxy.cut();
        proxy.restore();
        let login = app.login("alice", PASSWORD).await;
        assert_eq!(login.status(), 200, "a dead pooled connection was used");

        // An outage: fast 503s with Retry-After, liveness unaffected.
        proxy.cut();
        assert_unavailable_everywhere(&app, &refresh_token).await;
        let text = scrape(&app).await;
        assert!(
            sample(
                &text,
                "auth_token_errors_total{error=\"temporarily_unavailable\"}"
            )
            .is_some_and(|n| n >= 2.0),
            "{text}"
        );

        // The database returns: the same process recovers, and the refresh
        // token from before the outage still works (nothing was lost).
        proxy.restore();
        wait_until_ready(&app).await;
        assert_eq!(app.login("alice", PASSWORD).await.status(), 200);
        let refreshed = app.refresh(&refresh_token).await;
        assert_eq!(refreshed.status(), 200);
    })
    .await;
}
