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
async fn an_oversized_note_body_is_413_invalid_request_as_json() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    let token = key.sign(&claims("alice", "notes:write"));
    // Over the 16 KiB JSON limit, so refused before it is parsed.
    let huge = json!({ "text": "x".repeat(17 * 1024) }).to_string();

    let response = app
        .post_raw("/api/notes", &token, "application/json", &huge)
        .await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "the body is too large");
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

// --- CORS: only the configured origins, and only what the playground needs.

const PLAYGROUND: &str = "http://127.0.0.1:8080";

/// A ready resource server allowing `origins` by CORS.
async fn app_allowing(key: &TestKey, origins: &[&str]) -> (FakeJwks, TestApp) {
    let jwks = FakeJwks::start(key_set(&[key]));
    let mut flags = Vec::new();
    for origin in origins {
        flags.extend(["--cors-origin", origin]);
    }
    let app = TestApp::spawn(&jwks.url, &flags);
    app.wait_ready().await;
    (jwks, app)
}

/// The preflight a browser sends before `GET /api/me` with a bearer token.
async fn preflight(app: &TestApp, origin: &str, method: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, format!("{}/api/me", app.base))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .expect("request sent")
}

/// `GET /api/me` as a page on `origin` sends it.
async fn get_from(app: &TestApp, origin: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{}/api/me", app.base))
        .header("Origin", origin);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Every CORS response header a browser acts on.
const CORS_HEADERS: [&str; 5] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-allow-credentials",
];

#[actix_web::test]
async fn a_preflight_from_the_allowed_origin_allows_get_and_post_with_a_bearer_token() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = app_allowing(&key, &[PLAYGROUND, "https://notes.example"]).await;

    for method in ["GET", "POST"] {
        let response = preflight(&app, PLAYGROUND, method).await;

        assert!(
            response.status().is_success(),
            "{method}: {}",
            response.status()
        );
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(PLAYGROUND)
        );
        let methods = header(&response, "access-control-allow-methods").unwrap_or_default();
        assert!(
            methods.contains("GET") && methods.contains("POST"),
            "{methods}"
        );
        assert!(!methods.contains("DELETE"), "{methods}");
        let headers = header(&response, "access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(headers.contains("authorization"), "{headers}");
        assert!(headers.contains("content-type"), "{headers}");
        // Bearer tokens, never cookies: no credentials mode.
        assert_eq!(header(&response, "access-control-allow-credentials"), None);
    }
    // The second origin on the list is allowed too, and named as itself.
    let other = preflight(&app, "https://notes.example", "GET").await;
    assert_eq!(
        header(&other, "access-control-allow-origin"),
        Some("https://notes.example")
    );
}

#[actix_web::test]
async fn the_allowed_origin_can_read_answers_and_the_challenge_of_a_401() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = app_allowing(&key, &[PLAYGROUND]).await;
    let token = key.sign(&claims("alice", "notes:read"));

    let ok = get_from(&app, PLAYGROUND, Some(&token)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(header(&ok, "access-control-allow-origin"), Some(PLAYGROUND));

    // A page must see why its token was refused: WWW-Authenticate is exposed.
    let refused = get_from(&app, PLAYGROUND, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&refused, "access-control-allow-origin"),
        Some(PLAYGROUND)
    );
    let exposed = header(&refused, "access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("www-authenticate"), "{exposed}");
}

#[actix_web::test]
async fn another_origin_gets_no_cors_header_at_all() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = app_allowing(&key, &[PLAYGROUND]).await;
    let token = key.sign(&claims("alice", "notes:read"));

    for response in [
        preflight(&app, "http://evil.example", "GET").await,
        // Same host, other port: another origin.
        preflight(&app, "http://127.0.0.1:8081", "GET").await,
        // The API still answers (CORS binds browsers, not servers), but the
        // browser will keep the answer from the page.
        get_from(&app, "http://evil.example", Some(&token)).await,
    ] {
        // Without Access-Control-Allow-Origin a browser grants nothing; the
        // middleware may still name the exposed headers, which is inert.
        for name in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
        ] {
            assert_eq!(
                header(&response, name),
                None,
                "{name} sent to another origin"
            );
        }
    }
}

#[actix_web::test]
async fn a_method_or_header_beyond_get_post_authorization_is_not_allowed() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = app_allowing(&key, &[PLAYGROUND]).await;

    let delete = preflight(&app, PLAYGROUND, "DELETE").await;
    assert!(!delete.status().is_success(), "{}", delete.status());
    assert_eq!(header(&delete, "access-control-allow-origin"), None);

    let custom_header = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/api/me", app.base))
        .header("Origin", PLAYGROUND)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-debug")
        .send()
        .await
        .expect("request sent");
    assert!(
        !custom_header.status().is_success(),
        "{}",
        custom_header.status()
    );
    assert_eq!(header(&custom_header, "access-control-allow-origin"), None);
}

#[actix_web::test]
async fn without_cors_origins_no_cors_header_is_ever_sent() {
    let key = TestKey::new("k1", 1);
    let (_jwks, app) = ready_app(&key).await;
    let token = key.sign(&claims("alice", "notes:read"));

    let answer = get_from(&app, PLAYGROUND, Some(&token)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    for response in [answer, preflight(&app, PLAYGROUND, "GET").await] {
        for name in CORS_HEADERS {
            assert_eq!(
                header(&response, name),
                None,
                "{name} without --cors-origin"
            );
        }
    }
}
