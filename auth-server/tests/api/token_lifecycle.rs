//! The token endpoint's successes: the password grant, rotation, reuse
//! detection, scope narrowing, client credentials, and access tokens that
//! the shared verifier accepts.

use jsonwebtoken::Algorithm;
use serde_json::Value;
use shared_claims::{AccessClaims, JwkSet, TrustedKeys, Verifier, VerifierConfig};

use crate::helpers::{Options, PASSWORD, TestApp, TestDb, assert_no_store, error_of};

async fn tokens(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    assert_no_store(&response);
    response.json().await.unwrap()
}

/// Verifies an access token the way a resource server does.
async fn verify(app: &TestApp, access_token: &str) -> AccessClaims {
    let jwks: JwkSet = app.jwks().await.json().await.unwrap();
    let (keys, rejected) = TrustedKeys::from_jwks(&jwks, &[Algorithm::EdDSA]);
    assert!(rejected.is_empty(), "{rejected:?}");
    let verifier = Verifier::new(
        VerifierConfig::new(app.issuer.clone(), "resource-server"),
        keys,
    );
    verifier.verify(access_token).expect("the token verifies")
}

#[actix_web::test]
async fn password_grant_issues_a_verifiable_access_token_and_a_refresh_token() {
    let app = TestApp::spawn().await;
    let body = tokens(app.login("alice", PASSWORD).await).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "notes:read notes:write");
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() == 43)
    );

    let access_token = body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access_token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let claims = verify(&app, access_token).await;
    assert_eq!(
        claims.sub, app.alice_id,
        "sub is the stable user id, not the name"
    );
    assert_eq!(claims.client_id, "app");
    assert_eq!(claims.iss, app.issuer);
    assert_eq!(claims.nbf, claims.iat);
    assert_eq!(claims.exp - claims.iat, 900);
}

#[actix_web::test]
async fn refresh_rotates_and_a_replay_revokes_the_family() {
    let app = TestApp::spawn().await;
    let first = tokens(app.login("alice", PASSWORD).await).await;
    let r1 = first["refresh_token"].as_str().unwrap();

    // Refreshing gives a new pair...
    let second = tokens(app.refresh(r1).await).await;
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    let claims = verify(&app, second["access_token"].as_str().unwrap()).await;
    assert_eq!(claims.sub, app.alice_id);

    // ...replaying the old token is reuse...
    let (status, code, _) = error_of(app.refresh(r1).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
    // ...which killed the newest token of the family too.
    let (status, code, _) = error_of(app.refresh(r2).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
    // A fresh login starts a new, healthy family.
    let again = tokens(app.login("alice", PASSWORD).await).await;
    tokens(app.refresh(again["refresh_token"].as_str().unwrap()).await).await;
}

#[actix_web::test]
async fn refresh_may_narrow_the_scope_but_never_widen_it() {
    let app = TestApp::spawn().await;
    let params = [
        ("grant_type", "password"),
        ("client_id", "app"),
        ("username", "alice"),
        ("password", PASSWORD),
        ("scope", "notes:read"),
    ];
    let login = tokens(app.token(&params).await).await;
    assert_eq!(login["scope"], "notes:read");
    let r1 = login["refresh_token"].as_str().unwrap();

    // Widening is refused and does not use the token up.
    let wider = [
        ("grant_type", "refresh_token"),
        ("client_id", "app"),
        ("refresh_token", r1),
        ("scope", "notes:read notes:write"),
    ];
    let (status, code, _) = error_of(app.token(&wider).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_scope"));

    let same = [
        ("grant_type", "refresh_token"),
        ("client_id", "app"),
        ("refresh_token", r1),
        ("scope", "notes:read"),
    ];
    let refreshed = tokens(app.token(&same).await).await;
    assert_eq!(refreshed["scope"], "notes:read");
}

#[actix_web::test]
async fn client_credentials_gives_an_access_token_only() {
    let app = TestApp::spawn().await;
    let body = tokens(
        app.token_basic(
            "svc",
            &app.svc_secret,
            &[("grant_type", "client_credentials")],
        )
        .await,
    )
    .await;
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "notes:read");
    let claims = verify(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (claims.sub.as_str(), claims.client_id.as_str()),
        ("svc", "svc")
    );

    // client_secret_post works as well.
    let post = [
        ("grant_type", "client_credentials"),
        ("client_id", "svc"),
        ("client_secret", app.svc_secret.as_str()),
    ];
    tokens(app.token(&post).await).await;
}

#[actix_web::test]
async fn the_whole_flow_works_on_postgres() {
    let Some(db) = TestDb::postgres() else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant skipped");
        return;
    };
    let app = TestApp::spawn_with(db, Options::default()).await;
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let r1 = login["refresh_token"].as_str().unwrap();
    let refreshed = tokens(app.refresh(r1).await).await;
    verify(&app, refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(error_of(app.refresh(r1).await).await.1, "invalid_grant");
}
