//! The token endpoint's refusals: each RFC 6749 §5.2 error where it applies,
//! always as JSON with the no-store headers.

use crate::helpers::{PASSWORD, TestApp, assert_no_store, error_of};

#[actix_web::test]
async fn a_body_that_is_not_a_form_is_an_invalid_request() {
    let app = TestApp::spawn().await;
    let response = app
        .token_raw(
            "application/json",
            r#"{"grant_type":"password"}"#.into(),
            None,
        )
        .await;
    assert_no_store(&response);
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
}

#[actix_web::test]
async fn malformed_requests_are_invalid_requests() {
    let app = TestApp::spawn().await;
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("no grant_type", &[("client_id", "app")]),
        (
            "a repeated parameter",
            &[
                ("grant_type", "password"),
                ("client_id", "app"),
                ("username", "alice"),
                ("username", "bob"),
                ("password", PASSWORD),
            ],
        ),
        (
            "no username",
            &[
                ("grant_type", "password"),
                ("client_id", "app"),
                ("password", PASSWORD),
            ],
        ),
        (
            "no refresh_token",
            &[("grant_type", "refresh_token"), ("client_id", "app")],
        ),
        (
            "a secret without an id",
            &[("grant_type", "password"), ("client_secret", "x")],
        ),
    ];
    for (case, params) in cases {
        let (status, code, body) = error_of(app.token(params).await).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_request"),
            "{case}: {body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{case}"
        );
    }
}

#[actix_web::test]
async fn two_client_authentication_methods_at_once_are_refused() {
    let app = TestApp::spawn().await;
    let params = [
        ("grant_type", "client_credentials"),
        ("client_secret", app.svc_secret.as_str()),
    ];
    let (status, code, _) = error_of(app.token_basic("svc", &app.svc_secret, &params).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
}

#[actix_web::test]
async fn client_authentication_failures_are_invalid_client() {
    let app = TestApp::spawn().await;

    // No client at all: 401, and no Basic challenge since none was tried.
    let response = app
        .token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(error_of(response).await.1, "invalid_client");

    // Wrong secret over Basic: 401 with the challenge.
    let response = app
        .token_basic("svc", "wrong", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Basic realm=\"oauth\""
    );
    assert_no_store(&response);
    assert_eq!(error_of(response).await.1, "invalid_client");

    // Unknown client, a confidential client without its secret, and a
    // public client sending a secret: all the same refusal.
    for params in [
        &[("grant_type", "password"), ("client_id", "nobody")][..],
        &[("grant_type", "client_credentials"), ("client_id", "svc")][..],
        &[
            ("grant_type", "password"),
            ("client_id", "app"),
            ("client_secret", "guess"),
        ][..],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "wrong"),
        ][..],
    ] {
        let (status, code, body) = error_of(app.token(params).await).await;
        assert_eq!(
            (status, code.as_str()),
            (401, "invalid_client"),
            "{params:?}: {body}"
        );
    }
}

#[actix_web::test]
async fn unknown_grant_types_are_unsupported() {
    let app = TestApp::spawn().await;
    let (status, code, _) = error_of(
        app.token(&[("grant_type", "implicit"), ("client_id", "app")])
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "unsupported_grant_type"));
}

#[actix_web::test]
async fn clients_may_only_use_their_registered_grants() {
    let app = TestApp::spawn().await;
    // svc is registered for client_credentials only.
    let params = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let (status, code, _) = error_of(app.token_basic("svc", &app.svc_secret, &params).await).await;
    assert_eq!((status, code.as_str()), (400, "unauthorized_client"));
    // app is public: never client_credentials.
    let (status, code, _) = error_of(
        app.token(&[("grant_type", "client_credentials"), ("client_id", "app")])
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "unauthorized_client"));
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    let wrong_password = app.login("alice", "not the password").await;
    assert_no_store(&wrong_password);
    let (status, code, wrong_password) = error_of(wrong_password).await;
    let (_, _, unknown_user) = error_of(app.login("mallory", "not the password").await).await;
    let (_, _, malformed_user) = error_of(app.login("not a valid name!", "x").await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password, malformed_user);
}

#[actix_web::test]
async fn a_disabled_user_cannot_log_in() {
    use auth_server::storage::schema::users;
    use diesel::prelude::*;
    let app = TestApp::spawn().await;
    let mut conn = app.db.connection();
    diesel::update(users::table.filter(users::username.eq("alice")))
        .set(users::disabled_at.eq(Some(0_i64)))
        .execute(&mut conn)
        .unwrap();
    let (status, code, body) = error_of(app.login("alice", PASSWORD).await).await;
    let (_, _, wrong_password) = error_of(app.login("alice", "nope").await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
    assert_eq!(body, wrong_password, "no hint that the account exists");
}

#[actix_web::test]
async fn a_scope_beyond_the_clients_allowance_is_invalid_scope() {
    let app = TestApp::spawn().await;
    let params = [
        ("grant_type", "password"),
        ("client_id", "app"),
        ("username", "alice"),
        ("password", PASSWORD),
        ("scope", "notes:read admin"),
    ];
    let (status, code, body) = error_of(app.token(&params).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_scope"), "{body}");
    let cc = [
        ("grant_type", "client_credentials"),
        ("scope", "notes:write"),
    ];
    let (status, code, _) = error_of(app.token_basic("svc", &app.svc_secret, &cc).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_scope"));
}

#[actix_web::test]
async fn a_bad_refresh_token_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let response = app.refresh("made-up-token").await;
    assert_no_store(&response);
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
}
