//! The JWKS cache against a fake auth server: loading, readiness, unknown
//! kids, cooldown, outages, and the static-file mode.

mod common;

use std::io::Write as _;

use common::{FakeJwks, TestApp, TestKey, challenge, claims, eventually, key_set};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;
use shared_claims::{Jwk, JwkSet};

#[actix_web::test]
async fn not_ready_until_the_keys_load_then_ready() {
    // Given an auth server that is not answering yet
    let key = TestKey::new("k1", 1);
    let jwks = FakeJwks::start(key_set(&[&key]));
    jwks.set_available(false);
    let app = TestApp::spawn(&jwks.url, &[]);
    let token = key.sign(&claims("alice", ""));

    // Then the server is up but not ready, and cannot judge tokens yet
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert!(eventually(|| async { jwks.requests() >= 1 }).await);
    let readyz = app.get("/readyz", None).await;
    assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
    let reason: Value = readyz.json().await.expect("json");
    assert!(reason["reason"].as_str().is_some());
    let response = app.get("/api/me", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));

    // When the auth server comes up
    jwks.set_available(true);

    // Then the retrying fetch loads the keys and tokens are accepted
    app.wait_ready().await;
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    assert!(app.cache.stats().failures() >= 1);
}

#[actix_web::test]
async fn an_unknown_kid_triggers_one_refetch_that_finds_the_rotated_key() {
    // Given a server that loaded the old key only
    let old = TestKey::new("old", 1);
    let new = TestKey::new("new", 2);
    let jwks = FakeJwks::start(key_set(&[&old]));
    let app = TestApp::spawn(&jwks.url, &[]);
    app.wait_ready().await;
    let fetches_before = jwks.requests();

    // When the auth server rotates, and many clients arrive at once with
    // tokens signed by the new key
    jwks.add_key(new.jwk());
    let tokens: Vec<String> = (0..20)
        .map(|i| new.sign(&claims(&format!("user{i}"), "")))
        .collect();
    let responses = join_all(tokens.iter().map(|t| app.get("/api/me", Some(t)))).await;

    // Then all are accepted after a single refetch
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(jwks.requests() - fetches_before, 1);
    assert_eq!(app.cache.stats().unknown_kid_refetches(), 1);
    // and tokens of the old key still work
    let old_token = old.sign(&claims("alice", ""));
    assert_eq!(
        app.get("/api/me", Some(&old_token)).await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn a_flood_of_random_kids_fetches_at_most_once_per_cooldown() {
    // Given a ready server with the default 30 s cooldown
    let key = TestKey::new("k1", 1);
    let jwks = FakeJwks::start(key_set(&[&key]));
    let app = TestApp::spawn(&jwks.url, &["--jwks-cooldown", "30s"]);
    app.wait_ready().await;
    let fetches_before = jwks.requests();

    // When an attacker sends tokens with made-up kids, at once and in turn
    let forged: Vec<String> = (0..50)
        .map(|i| key.sign_as(&format!("random-{i}"), &claims("mallory", "")))
        .collect();
    let burst = join_all(forged[..25].iter().map(|t| app.get("/api/me", Some(t)))).await;
    let mut sequential = Vec::new();
    for token in &forged[25..] {
        sequential.push(app.get("/api/me", Some(token)).await);
    }

    // Then every one is refused, and the auth server was asked only once
    for response in burst.iter().chain(&sequential) {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(response).contains("error=\"invalid_token\""));
    }
    assert_eq!(jwks.requests() - fetches_before, 1);
}

#[actix_web::test]
async fn an_auth_server_outage_keeps_the_cached_keys() {
    // Given a server that refreshes often and has loaded its keys
    let key = TestKey::new("k1", 1);
    let jwks = FakeJwks::start(key_set(&[&key]));
    let app = TestApp::spawn(&jwks.url, &["--jwks-refresh", "20ms"]);
    app.wait_ready().await;

    // When the auth server goes away and refreshes start failing
    jwks.stop().await;
    let failures = app.cache.stats().failures();
    assert!(eventually(|| async { app.cache.stats().failures() > failures }).await);

    // Then valid tokens are still accepted and the server stays ready
    let token = key.sign(&claims("alice", ""));
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_key_set_without_usable_keys_never_replaces_a_good_one() {
    // Given a server that loaded a good key
    let key = TestKey::new("k1", 1);
    let jwks = FakeJwks::start(key_set(&[&key]));
    let app = TestApp::spawn(&jwks.url, &["--jwks-refresh", "20ms"]);
    app.wait_ready().await;

    // When the auth server starts publishing only unusable keys (empty, or
    // a symmetric one)
    let oct = Jwk {
        kty: "oct".to_owned(),
        ..Jwk::ed25519("k1", "c2VjcmV0")
    };
    for bad in [JwkSet::default(), JwkSet { keys: vec![oct] }] {
        jwks.set_keys(bad);
        let failures = app.cache.stats().failures();
        assert!(eventually(|| async { app.cache.stats().failures() > failures }).await);

        // Then the good key is still trusted
        let token = key.sign(&claims("alice", ""));
        assert_eq!(
            app.get("/api/me", Some(&token)).await.status(),
            StatusCode::OK
        );
    }
}

#[actix_web::test]
async fn a_jwks_file_serves_offline_without_fetching() {
    // Given a key-set file and no auth server at all
    let key = TestKey::new("k1", 1);
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    let set = serde_json::to_string(&key_set(&[&key])).expect("json");
    file.write_all(set.as_bytes()).expect("written");
    let path = file.path().to_str().expect("utf-8 path");

    // When the server starts from the file
    let app = TestApp::spawn_with_args(&[
        "resource-server",
        "--bind",
        "127.0.0.1:0",
        "--issuer",
        common::ISSUER,
        "--jwks-file",
        path,
    ]);

    // Then it is ready at once, accepts tokens, and never fetches
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    let token = key.sign(&claims("alice", ""));
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    let unknown = key.sign_as("rotated", &claims("alice", ""));
    assert_eq!(
        app.get("/api/me", Some(&unknown)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.cache.stats().fetches(), 0);
}

#[actix_web::test]
async fn a_bad_jwks_file_fails_the_start() {
    use clap::Parser as _;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(br#"{"keys":[]}"#).expect("written");
    let missing = file.path().with_extension("missing");

    for path in [file.path(), missing.as_path()] {
        let config = resource_server::Config::try_parse_from([
            "resource-server",
            "--bind",
            "127.0.0.1:0",
            "--jwks-file",
            path.to_str().expect("utf-8 path"),
        ])
        .expect("valid flags");
        let result = resource_server::Application::build(config);
        assert!(
            matches!(result, Err(resource_server::StartupError::KeyFile(_))),
            "{path:?}"
        );
    }
}
