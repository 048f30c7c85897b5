//! The JWKS and the RFC 8414 metadata.

use std::time::{Duration, Instant};

use auth_server::domain::SigningAlg;
use auth_server::{clock, keys};
use serde_json::Value;
use shared_claims::JwkSet;

use crate::helpers::{Options, PASSWORD, TestApp, TestDb};

#[actix_web::test]
async fn jwks_publishes_the_signing_key_with_kid_alg_and_use() {
    let app = TestApp::spawn().await;
    let response = app.jwks().await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=300")
    );
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert_eq!(
        (key["alg"].as_str(), key["use"].as_str()),
        (Some("EdDSA"), Some("sig"))
    );
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(key.get("d").is_none(), "never the private part");
}

#[actix_web::test]
async fn metadata_describes_what_is_implemented() {
    let app = TestApp::spawn().await;
    let meta: Value = app.metadata().await.json().await.unwrap();
    assert_eq!(meta["issuer"], app.issuer.as_str());
    assert_eq!(
        meta["token_endpoint"],
        format!("{}/oauth/token", app.issuer)
    );
    assert_eq!(
        meta["jwks_uri"],
        format!("{}/.well-known/jwks.json", app.issuer)
    );
    assert_eq!(
        meta["grant_types_supported"],
        serde_json::json!([
            "password",
            "refresh_token",
            "client_credentials",
            "authorization_code"
        ])
    );
    assert_eq!(
        meta["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        meta["revocation_endpoint"],
        format!("{}/oauth/revoke", app.issuer)
    );
    assert_eq!(
        meta["revocation_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        meta["introspection_endpoint"],
        format!("{}/oauth/introspect", app.issuer)
    );
    assert_eq!(
        meta["introspection_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    // The union of the registered clients' scopes.
    assert_eq!(
        meta["scopes_supported"],
        serde_json::json!(["notes:read", "notes:write"])
    );
    // The default issuer is the bound address, so port 0 works.
    assert_eq!(app.issuer, app.address);
}

#[actix_web::test]
async fn a_key_rotated_elsewhere_is_published_and_then_signs() {
    let options = Options {
        key_refresh_interval: Duration::from_secs(1),
        ..Options::default()
    };
    let app = TestApp::spawn_with(TestDb::sqlite(), options).await;

    // Given a rotation by another process (the CLI, another instance)...
    let plan = keys::RotatePlan {
        alg: SigningAlg::EdDSA,
        activation_delay: 0,
        retire_after: 3600,
    };
    let new_kid = keys::rotate(&mut app.db.connection(), clock::now(), &plan)
        .unwrap()
        .kid;

    // ...the running server publishes both keys within its refresh interval...
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let jwks: JwkSet = app.jwks().await.json().await.unwrap();
        if jwks.keys.len() == 2 {
            assert_eq!(
                jwks.keys[0].kid.as_deref(),
                Some(new_kid.as_str()),
                "newest first"
            );
            break;
        }
        assert!(Instant::now() < deadline, "rotation not picked up");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // ...and signs new tokens with the new key.
    let body: Value = app.login("alice", PASSWORD).await.json().await.unwrap();
    let header = jsonwebtoken::decode_header(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
}
