//! The actix-web extractors answer exactly as RFC 6750 §3 says.

#![cfg(feature = "actix")]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{App, HttpResponse, test, web};
use common::*;
use serde_json::{Value, json};
use shared_claims::actix::{
    Authenticated, BearerConfig, BearerError, RequiredScope, Scoped, TokenVerifier,
};
use shared_claims::{AccessClaims, TrustedKeys, Verifier, VerifyError};

struct NotesRead;
impl RequiredScope for NotesRead {
    const SCOPE: &'static str = "notes:read";
}

struct NotesWrite;
impl RequiredScope for NotesWrite {
    const SCOPE: &'static str = "notes:write";
}

async fn me(auth: Authenticated) -> HttpResponse {
    HttpResponse::Ok().body(auth.sub.clone())
}

async fn read_notes(caller: Scoped<NotesRead>) -> HttpResponse {
    HttpResponse::Ok().body(caller.claims().sub.clone())
}

async fn write_notes(caller: Scoped<NotesWrite>) -> HttpResponse {
    HttpResponse::Ok().body(caller.sub.clone())
}

async fn admin(auth: Authenticated) -> Result<HttpResponse, BearerError> {
    auth.require_scope("admin")?;
    Ok(HttpResponse::Ok().finish())
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    i64::try_from(secs).expect("fits")
}

/// A token valid now, with scope `notes:read profile`.
fn fresh_token() -> String {
    let now = unix_now();
    sign(
        &header(),
        &claims_with(json!({"exp": now + 900, "iat": now, "nbf": now})),
    )
}

fn expired_token() -> String {
    let now = unix_now();
    sign(
        &header(),
        &claims_with(json!({"exp": now - 60, "iat": now - 960, "nbf": now - 960})),
    )
}

/// Sends `GET path` with these `Authorization` values to an app holding
/// `verifier` (if any) and `config` (if any).
async fn call(
    verifier: Option<Arc<dyn TokenVerifier>>,
    config: Option<BearerConfig>,
    path: &str,
    authorization: &[&str],
) -> ServiceResponse {
    let mut app = App::new()
        .route("/me", web::get().to(me))
        .route("/notes", web::get().to(read_notes))
        .route("/notes/write", web::get().to(write_notes))
        .route("/admin", web::get().to(admin));
    if let Some(verifier) = verifier {
        app = app.app_data(web::Data::<dyn TokenVerifier>::from(verifier));
    }
    if let Some(config) = config {
        app = app.app_data(web::Data::new(config));
    }
    let app = test::init_service(app).await;
    let mut req = test::TestRequest::get().uri(path);
    for value in authorization {
        req = req.append_header((AUTHORIZATION, *value));
    }
    test::call_service(&app, req.to_request()).await
}

fn trusted() -> Option<Arc<dyn TokenVerifier>> {
    Some(Arc::new(verifier()))
}

async fn get(path: &str, authorization: &[&str]) -> ServiceResponse {
    call(trusted(), None, path, authorization).await
}

fn challenge(res: &ServiceResponse) -> &str {
    res.headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .expect("WWW-Authenticate")
}

async fn json_body(res: ServiceResponse) -> Value {
    serde_json::from_slice(&test::read_body(res).await).expect("JSON body")
}

#[actix_web::test]
async fn a_valid_token_reaches_the_handler() {
    let token = fresh_token();
    let res = get("/me", &[&format!("Bearer {token}")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(test::read_body(res).await, "alice");
}

#[actix_web::test]
async fn the_scheme_name_is_case_insensitive() {
    let token = fresh_token();
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let res = get("/me", &[&format!("{scheme} {token}")]).await;
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
    }
}

#[actix_web::test]
async fn no_credentials_get_a_bare_challenge_without_error_code() {
    for authorization in [&[][..], &["Basic dXNlcjpwYXNz"], &["Token abc"]] {
        let res = get("/me", authorization).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(challenge(&res), r#"Bearer realm="api""#);
        assert!(test::read_body(res).await.is_empty());
    }
}

#[actix_web::test]
async fn a_malformed_authorization_header_is_an_invalid_request() {
    let cases: [&[&str]; 6] = [
        &["Bearer"],
        &["Bearer    "],
        &["Bearer abc def"],
        &["Bearer abc\"def"],
        &["Bearer abc,def"],
        &["Bearer abc", "Bearer def"],
    ];
    for authorization in cases {
        let res = get("/me", authorization).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{authorization:?}");
        let challenge = challenge(&res).to_owned();
        assert!(
            challenge
                .starts_with(r#"Bearer realm="api", error="invalid_request", error_description=""#),
            "{challenge}"
        );
        let body = json_body(res).await;
        assert_eq!(body["error"], "invalid_request");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
}

#[actix_web::test]
async fn a_non_ascii_authorization_header_is_an_invalid_request() {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::<dyn TokenVerifier>::from(
                Arc::new(verifier()) as Arc<dyn TokenVerifier>
            ))
            .route("/me", web::get().to(me)),
    )
    .await;
    let value =
        actix_web::http::header::HeaderValue::from_bytes(b"Bearer caf\xe9").expect("obs-text");
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((AUTHORIZATION, value));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn an_expired_token_is_an_invalid_token_saying_so() {
    let res = get("/me", &[&format!("Bearer {}", expired_token())]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&res),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token expired""#
    );
    assert_eq!(
        json_body(res).await,
        json!({"error": "invalid_token", "error_description": "the access token expired"})
    );
}

#[actix_web::test]
async fn a_forged_token_is_an_invalid_token() {
    let now = unix_now();
    let forged = sign_with(
        &header(),
        &claims_with(json!({"exp": now + 900, "iat": now, "nbf": now})),
        &attacker_key(),
    );
    let res = get("/me", &[&format!("Bearer {forged}")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_body(res).await["error_description"],
        "the access token signature is invalid"
    );
}

#[actix_web::test]
async fn a_missing_scope_is_forbidden_naming_the_scope() {
    let token = fresh_token();
    let res = get("/notes/write", &[&format!("Bearer {token}")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&res),
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the scope notes:write", scope="notes:write""#
    );
    let body = json_body(res).await;
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scope"], "notes:write");
}

#[actix_web::test]
async fn a_granted_scope_reaches_the_handler() {
    let token = fresh_token();
    let res = get("/notes", &[&format!("Bearer {token}")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(test::read_body(res).await, "alice");
}

#[actix_web::test]
async fn require_scope_in_a_handler_answers_403() {
    let token = fresh_token();
    let res = get("/admin", &[&format!("Bearer {token}")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&res).ends_with(r#"scope="admin""#));
}

#[actix_web::test]
async fn scope_is_only_checked_for_a_valid_token() {
    let res = get("/notes/write", &[&format!("Bearer {}", expired_token())]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn no_verifier_or_no_keys_is_unavailable_not_invalid() {
    let token = fresh_token();
    let keyless: Arc<dyn TokenVerifier> = Arc::new(Verifier::new(config(), TrustedKeys::default()));
    for verifier in [None, Some(keyless)] {
        let res = call(verifier, None, "/me", &[&format!("Bearer {token}")]).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers().get(RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"5"[..])
        );
        assert!(res.headers().get(WWW_AUTHENTICATE).is_none());
        assert_eq!(json_body(res).await["error"], "temporarily_unavailable");
    }
    // Without a token the answer is still the challenge.
    let res = call(None, None, "/me", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn the_configured_realm_is_used_and_quoted() {
    let config = BearerConfig {
        realm: "notes \"prod\"\\eu".to_owned(),
    };
    let res = call(trusted(), Some(config.clone()), "/me", &[]).await;
    assert_eq!(challenge(&res), r#"Bearer realm="notes \"prod\"\\eu""#);
    let token = fresh_token();
    let res = call(
        trusted(),
        Some(config),
        "/notes/write",
        &[&format!("Bearer {token}")],
    )
    .await;
    assert!(
        challenge(&res)
            .starts_with(r#"Bearer realm="notes \"prod\"\\eu", error="insufficient_scope""#)
    );
}

/// A verifier of another shape, as a resource server's JWKS cache would be.
struct Fixed(Result<AccessClaims, VerifyError>);

impl TokenVerifier for Fixed {
    fn verify<'a>(
        &'a self,
        _token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<AccessClaims, VerifyError>> + 'a>> {
        Box::pin(async move { self.0.clone() })
    }
}

#[actix_web::test]
async fn any_token_verifier_can_back_the_extractor() {
    let claims = verifier().verify_at(&valid_token(), NOW).expect("valid");
    let res = call(
        Some(Arc::new(Fixed(Ok(claims)))),
        None,
        "/me",
        &["Bearer x"],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let unknown = Fixed(Err(VerifyError::UnknownKey {
        kid: Some("<evil-kid>".to_owned()),
    }));
    let res = call(Some(Arc::new(unknown)), None, "/me", &["Bearer x"]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body = test::read_body(res).await;
    assert!(!String::from_utf8_lossy(&body).contains("evil-kid"));
}
