//! The protected API as a client sees it: RFC 6750 answers for every way a
//! token can be wrong, and the notes endpoints.

mod common;

use common::{FakeJwks, TestApp, TestKey, challenge, claims, claims_with, key_set};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared_claims::VerifyError;

/// A ready resource server trusting `key`.
async fn ready_app(key: &TestKey) -> (FakeJwks, TestApp) {
    let jwks = FakeJwks::start(key_set(&[key]));
    let app = TestApp::spawn(&jwks.url, &[]);
    app.wait_ready().await;
    (jwks, app)
}

#[actix_web::test]
async fn me_returns_the_caller_as_the_token_describes_it() {
    // Given a valid token for alice
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    let token = key.sign(&claims("alice", "notes:read notes:write"));

    // When she asks who she is
    let response = app.get("/api/me", Some(&token)).await;

    // Then she is told, from the token alone
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["client_id"], "test-client");
    assert_eq!(body["scope"], "notes:read notes:write");
    assert!(body["exp"].as_i64().expect("exp") > common::now());
}

#[actix_web::test]
async fn no_token_is_a_bare_challenge_without_an_error_code() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;

    let response = app.get("/api/me", None).await;

    // RFC 6750 §3.1: a request without credentials gets no error code.
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = challenge(&response);
    assert!(challenge.starts_with("Bearer realm=\"api\""), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");
}

#[actix_web::test]
async fn each_bad_token_is_401_invalid_token_saying_what_was_wrong() {
    let key = TestKey::new("k1", 1);
    let stranger = TestKey::new("k1", 2); // same kid, different key
    let (_jwks, app) = ready_app(&key).await;
    let now = common::now();

    let cases: Vec<(&str, String, VerifyError)> = vec![
        (
            "expired",
            key.sign(&claims_with(
                "alice",
                "",
                json!({"exp": now - 10, "iat": now - 100, "nbf": now - 100}),
            )),
            VerifyError::Expired,
        ),
        (
            "other audience",
            key.sign(&claims_with("alice", "", json!({"aud": "other-api"}))),
            VerifyError::WrongAudience,
        ),
        (
            "other issuer",
            key.sign(&claims_with(
                "alice",
                "",
                json!({"iss": "https://evil.test"}),
            )),
            VerifyError::WrongIssuer,
        ),
        (
            "signed by another key",
            stranger.sign(&claims("alice", "")),
            VerifyError::BadSignature,
        ),
        ("not a JWT", "not-a-jwt".to_owned(), VerifyError::Malformed),
    ];

    for (name, token, expected) in cases {
        let response = app.get("/api/me", Some(&token)).await;

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        let challenge = challenge(&response);
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{name}: {challenge}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_token", "{name}");
        assert_eq!(body["error_description"], expected.description(), "{name}");
    }
}

#[actix_web::test]
async fn oversized_tokens_are_refused_before_decoding_never_500() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    // Well past the verifier's 8 KiB cap, up to near actix's 128 KiB head cap.
    for len in [8 * 1024 + 1, 100 * 1024] {
        let token = "a".repeat(len);
        let response = app.get("/api/me", Some(&token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{len}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_token", "{len}");
        assert_eq!(
            body["error_description"],
            VerifyError::TooLarge.description(),
            "{len}"
        );
    }
}

#[actix_web::test]
async fn a_missing_scope_is_403_naming_the_scope_needed() {
    // Given a token that may write but not read
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    let token = key.sign(&claims("alice", "notes:write"));

    // When it reads notes
    let response = app.get("/api/notes", Some(&token)).await;

    // Then RFC 6750 §3.1 insufficient_scope, with the scope it lacks
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = challenge(&response);
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"notes:read\""), "{challenge}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "insufficient_scope");
}

#[actix_web::test]
async fn the_scope_is_checked_before_the_body() {
    // A read-only token posting garbage learns about its scope, not the body.
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    let token = key.sign(&claims("alice", "notes:read"));

    let response = app
        .post_raw("/api/notes", &token, "application/json", "{not json")
        .await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&response).contains("scope=\"notes:write\""));
}

#[actix_web::test]
async fn notes_are_written_and_read_back_per_subject() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    let alice = key.sign(&claims("alice", "notes:read notes:write"));
    let bob = key.sign(&claims("bob", "notes:read"));

    // Given alice wrote two notes
    let first = app
        .post_json("/api/notes", &alice, &json!({"text": "buy milk"}))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("json");
    assert_eq!(first["text"], "buy milk");
    assert!(first["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(first["created_at"].as_i64().is_some());
    let second = app
        .post_json("/api/notes", &alice, &json!({"text": "call mum"}))
        .await;
    assert_eq!(second.status(), StatusCode::CREATED);

    // When alice and bob read their notes
    let mine: Value = app
        .get("/api/notes", Some(&alice))
        .await
        .json()
        .await
        .expect("json");
    let his: Value = app
        .get("/api/notes", Some(&bob))
        .await
        .json()
        .await
        .expect("json");

    // Then alice sees hers in order, bob sees none of them
    let texts: Vec<&str> = mine
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|n| n["text"].as_str())
        .collect();
    assert_eq!(texts, ["buy milk", "call mum"]);
    assert_eq!(mine[0], first);
    assert_eq!(his, json!([]));
}

#[actix_web::test]
async fn bad_note_bodies_are_400_invalid_request_never_500() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    let token = key.sign(&claims("alice", "notes:write"));
    let too_long = json!({ "text": "x".repeat(1001) }).to_string();

    let cases = [
        ("empty text", "application/json", r#"{"text":""}"#),
        ("blank text", "application/json", r#"{"text":"  "}"#),
        ("text too long", "application/json", too_long.as_str()),
        ("text not a string", "application/json", r#"{"text":42}"#),
        ("missing text", "application/json", r#"{}"#),
        (
            "unknown member",
            "application/json",
            r#"{"text":"a","txt":"b"}"#,
        ),
        ("not JSON", "application/json", "{not json"),
        ("JSON string", "application/json", r#""a""#),
        ("wrong content type", "text/plain", r#"{"text":"a"}"#),
    ];

    for (name, content_type, body) in cases {
        let response = app.post_raw("/api/notes", &token, content_type, body).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_request", "{name}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }
    // Nothing was stored by any of them.
    let read = key.sign(&claims("alice", "notes:read"));
    let notes: Value = app
        .get("/api/notes", Some(&read))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(notes, json!([]));
}

#[actix_web::test]
async fn the_text_limit_counts_characters_not_bytes() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    let token = key.sign(&claims("alice", "notes:write"));

    let response = app
        .post_json("/api/notes", &token, &json!({ "text": "é".repeat(1000) }))
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn health_metrics_and_api_document_are_served() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;

    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    let ready: Value = app.get("/readyz", None).await.json().await.expect("json");
    assert_eq!(ready["keys"], 1);

    let expired = key.sign(&claims_with("a", "", json!({"exp": common::now() - 5})));
    app.get("/api/me", Some(&expired)).await;
    let metrics = app.get("/metrics", None).await.text().await.expect("text");
    assert!(
        metrics.contains("resource_jwks_fetches_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("resource_ready 1"), "{metrics}");
    assert!(
        metrics.contains("resource_token_validation_failures_total{reason=\"expired\"} 1"),
        "{metrics}"
    );
    // Request metrics, labelled by route pattern.
    for line in [
        "http_requests_total{method=\"GET\",route=\"/api/me\",status=\"401\"} 1",
        "http_request_duration_seconds_count{method=\"GET\",route=\"/api/me\",status=\"401\"} 1",
        "http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1",
        "http_requests_in_flight 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }

    let document: Value = app
        .get("/openapi.json", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/api/notes"]["post"].is_object());
}
