//! RFC 7662 introspection: active tokens described, everything else
//! exactly `{"active": false}`, only for authenticated confidential clients.

use auth_server::tokens::{AccessGrant, sign_access_token};
use auth_server::{clock, keys};
use serde_json::{Value, json};
use shared_claims::Scope;

use crate::helpers::{PASSWORD, TestApp, error_of};
use crate::oauth_helpers::{WEB, text, tokens};

const INACTIVE: fn() -> Value = || json!({"active": false});

#[actix_web::test]
async fn an_access_token_is_described() {
    let app = TestApp::spawn().await;
    let web_secret = app.add_web_client();
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let access = text(&login, "access_token");
    let claims = app.verify(access).await;

    // Any confidential client may ask about an access token.
    let answer = app.introspect_as((WEB, &web_secret), access).await;
    assert_eq!(
        answer,
        json!({
            "active": true,
            "scope": "notes:read notes:write",
            "client_id": "app",
            "username": "alice",
            "token_type": "Bearer",
            "exp": claims.exp,
            "iat": claims.iat,
            "nbf": claims.nbf,
            "sub": app.alice_id,
            "aud": "resource-server",
            "iss": app.issuer,
            "jti": claims.jti,
        })
    );

    // A client-credentials token has no user.
    let svc = tokens(
        app.token_basic(
            "svc",
            &app.svc_secret,
            &[("grant_type", "client_credentials")],
        )
        .await,
    )
    .await;
    let answer = app
        .introspect_as(("svc", &app.svc_secret), text(&svc, "access_token"))
        .await;
    assert_eq!(
        (answer["active"].clone(), answer["sub"].clone()),
        (json!(true), json!("svc"))
    );
    assert!(answer.get("username").is_none());
}

#[actix_web::test]
async fn a_refresh_token_is_described_to_its_own_client_only() {
    let app = TestApp::spawn().await;
    let web_secret = app.add_web_client();
    let login = app.login_web(&web_secret).await;
    let refresh = text(&login, "refresh_token");

    let answer = app.introspect_as((WEB, &web_secret), refresh).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "refresh_token");
    assert_eq!(answer["client_id"], WEB);
    assert_eq!(answer["username"], "alice");
    assert_eq!(answer["sub"], app.alice_id.as_str());
    assert_eq!(answer["scope"], "notes:read notes:write");
    assert!(answer["exp"].as_i64().unwrap() > answer["iat"].as_i64().unwrap());

    // Another confidential client learns nothing about it.
    let other = app.introspect_as(("svc", &app.svc_secret), refresh).await;
    assert_eq!(other, INACTIVE());

    // Once rotated, the old token is no longer active; the new one is.
    let rotated = tokens(
        app.token_basic(
            WEB,
            &web_secret,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await,
    )
    .await;
    assert_eq!(
        app.introspect_as((WEB, &web_secret), refresh).await,
        INACTIVE()
    );
    let new = text(&rotated, "refresh_token");
    assert_eq!(
        app.introspect_as((WEB, &web_secret), new).await["active"],
        true
    );
}

#[actix_web::test]
async fn expired_forged_unknown_and_revoked_tokens_are_inactive() {
    let app = TestApp::spawn().await;
    let web_secret = app.add_web_client();
    let grant = AccessGrant {
        subject: app.alice_id.clone(),
        client_id: "app".into(),
        audience: "resource-server".into(),
        scope: Scope::parse("notes:read").unwrap(),
    };

    // Signed with the server's own key, but expired a minute ago.
    let set = keys::load_key_set(&mut app.db.connection(), clock::now()).unwrap();
    let expired = sign_access_token(
        &set.signing,
        &app.issuer,
        60,
        grant.clone(),
        clock::now() - 120,
    )
    .unwrap();
    // Same claims, signed by a key the server never published.
    let stranger = keys::parse_active(&keys::generate_ed25519(99, 0).unwrap()).unwrap();
    let forged = sign_access_token(&stranger, &app.issuer, 600, grant, clock::now()).unwrap();

    let web_login = app.login_web(&web_secret).await;
    let revoked = text(&web_login, "refresh_token");
    let response = app
        .revoke(&[("token", revoked)], Some((WEB, &web_secret)))
        .await;
    assert_eq!(response.status(), 200);

    for token in [
        expired.as_str(),
        forged.as_str(),
        "unknown",
        "a.b.c",
        revoked,
    ] {
        assert_eq!(
            app.introspect_as((WEB, &web_secret), token).await,
            INACTIVE(),
            "{token}"
        );
    }
}

#[actix_web::test]
async fn a_disabled_users_tokens_are_inactive() {
    let app = TestApp::spawn().await;
    let web_secret = app.add_web_client();
    let login = app.login_web(&web_secret).await;
    auth_server::storage::sessions::disable(&mut app.db.connection(), "alice", clock::now())
        .unwrap()
        .unwrap();
    for name in ["access_token", "refresh_token"] {
        assert_eq!(
            app.introspect_as((WEB, &web_secret), text(&login, name))
                .await,
            INACTIVE(),
            "{name}"
        );
    }
}

#[actix_web::test]
async fn only_authenticated_confidential_clients_may_introspect() {
    let app = TestApp::spawn().await;
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let access = text(&login, "access_token");
    // A public client proves nothing; no client, or a wrong secret, neither.
    for params in [
        &[("token", access), ("client_id", "app")][..],
        &[("token", access)][..],
        &[
            ("token", access),
            ("client_id", "svc"),
            ("client_secret", "x"),
        ][..],
    ] {
        let (status, code, body) = error_of(app.introspect(params, None).await).await;
        assert_eq!((status, code.as_str()), (401, "invalid_client"), "{body}");
        assert!(body.get("active").is_none());
    }
    let response = app
        .introspect(&[("token", access)], Some(("svc", "wrong")))
        .await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    // A missing token parameter is a malformed request.
    let (status, code, _) =
        error_of(app.introspect(&[], Some(("svc", &app.svc_secret))).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
}
