//! RFC 7009 revocation: a refresh token takes its family with it, unknown
//! tokens answer 200, a client can only revoke its own tokens.

use crate::helpers::{PASSWORD, TestApp, assert_no_store, error_of};
use crate::oauth_helpers::{WEB, text, tokens};

#[actix_web::test]
async fn revoking_a_refresh_token_logs_the_session_out() {
    let app = TestApp::spawn().await;
    // Given a session that has been refreshed once, and a second session...
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let refreshed = tokens(app.refresh(text(&login, "refresh_token")).await).await;
    let current = text(&refreshed, "refresh_token");
    let other = tokens(app.login("alice", PASSWORD).await).await;

    // ...when the public client revokes the current refresh token...
    let response = app
        .revoke(
            &[
                ("token", current),
                ("token_type_hint", "refresh_token"),
                ("client_id", "app"),
            ],
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_no_store(&response);
    assert!(response.bytes().await.unwrap().is_empty());

    // ...then that session is over, and only that one.
    let (status, code, _) = error_of(app.refresh(current).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
    tokens(app.refresh(text(&other, "refresh_token")).await).await;
    // Revoking again, or revoking an older token of the family, is fine.
    for token in [current, text(&login, "refresh_token")] {
        let again = app
            .revoke(&[("token", token), ("client_id", "app")], None)
            .await;
        assert_eq!(again.status(), 200);
    }
}

#[actix_web::test]
async fn unknown_and_invalid_tokens_answer_200() {
    let app = TestApp::spawn().await;
    for token in ["made-up", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let response = app
            .revoke(&[("token", token), ("client_id", "app")], None)
            .await;
        assert_eq!(response.status(), 200, "{token}");
    }
    // Any hint is accepted: the server tells the kinds apart itself.
    let response = app
        .revoke(
            &[
                ("token", "x"),
                ("token_type_hint", "something_else"),
                ("client_id", "app"),
            ],
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[actix_web::test]
async fn revoking_an_access_token_is_accepted_but_it_lives_until_exp() {
    let app = TestApp::spawn().await;
    let web_secret = app.add_web_client();
    let login = app.login_web(&web_secret).await;
    let access = text(&login, "access_token");
    let response = app
        .revoke(
            &[("token", access), ("token_type_hint", "access_token")],
            Some((WEB, &web_secret)),
        )
        .await;
    assert_eq!(response.status(), 200);
    // Self-contained JWTs cannot be recalled: still active, and the refresh
    // token (the session) is untouched.
    let answer = app.introspect_as((WEB, &web_secret), access).await;
    assert_eq!(answer["active"], true);
    tokens(
        app.token_basic(
            WEB,
            &web_secret,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", text(&login, "refresh_token")),
            ],
        )
        .await,
    )
    .await;
}

#[actix_web::test]
async fn a_client_cannot_revoke_another_clients_tokens() {
    let app = TestApp::spawn().await;
    let web_secret = app.add_web_client();
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let refresh = text(&login, "refresh_token");
    let access = text(&login, "access_token");
    // RFC 7009 §2.1: the request is refused (invalid_grant, RFC 6749 §5.2)...
    for token in [refresh, access] {
        let response = app
            .revoke(&[("token", token)], Some((WEB, &web_secret)))
            .await;
        assert_no_store(&response);
        let (status, code, _) = error_of(response).await;
        assert_eq!((status, code.as_str()), (400, "invalid_grant"), "{token}");
    }
    // ...and the token still works for its owner.
    tokens(app.refresh(refresh).await).await;
}

#[actix_web::test]
async fn client_authentication_is_required() {
    let app = TestApp::spawn().await;
    let web_secret = app.add_web_client();
    let login = app.login_web(&web_secret).await;
    let refresh = text(&login, "refresh_token");

    // No client at all, a confidential client without its secret, and a
    // wrong secret: 401 invalid_client, and nothing revoked.
    for params in [
        &[("token", refresh)][..],
        &[("token", refresh), ("client_id", WEB)][..],
        &[
            ("token", refresh),
            ("client_id", WEB),
            ("client_secret", "wrong"),
        ][..],
    ] {
        let (status, code, _) = error_of(app.revoke(params, None).await).await;
        assert_eq!((status, code.as_str()), (401, "invalid_client"));
    }
    let response = app
        .revoke(&[("token", refresh)], Some((WEB, "wrong")))
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"oauth\""
    );
    let answer = app.introspect_as((WEB, &web_secret), refresh).await;
    assert_eq!(answer["active"], true, "still live");

    // client_secret_post works too.
    let response = app
        .revoke(
            &[
                ("token", refresh),
                ("client_id", WEB),
                ("client_secret", &web_secret),
            ],
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let answer = app.introspect_as((WEB, &web_secret), refresh).await;
    assert_eq!(answer, serde_json::json!({"active": false}));
}

#[actix_web::test]
async fn malformed_requests_are_invalid_requests() {
    let app = TestApp::spawn().await;
    let (status, code, _) = error_of(app.revoke(&[("client_id", "app")], None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (400, "invalid_request"),
        "no token"
    );
    let (status, code, _) = error_of(
        app.revoke(
            &[("token", "a"), ("token", "b"), ("client_id", "app")],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (400, "invalid_request"),
        "repeated"
    );
    let response = app
        .http
        .post(format!("{}/oauth/revoke", app.address))
        .json(&serde_json::json!({"token": "x", "client_id": "app"}))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(response).await;
    assert_eq!(
        (status, code.as_str()),
        (400, "invalid_request"),
        "JSON body"
    );
}
