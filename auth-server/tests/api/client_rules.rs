//! Client registration rules that the token endpoint enforces beyond the
//! basics in `token_endpoint`: refresh tokens only for clients registered
//! for them.

use crate::helpers::{PASSWORD, TestApp, add_client, error_of};
use crate::oauth_helpers::{text, tokens};

#[actix_web::test]
async fn refresh_tokens_only_for_clients_registered_for_the_grant() {
    let app = TestApp::spawn().await;
    add_client(
        &mut app.db.connection(),
        "once",
        "password",
        "notes:read",
        false,
    );
    // A password-only client gets an access token and no refresh token...
    let body = tokens(
        app.token(&[
            ("grant_type", "password"),
            ("client_id", "once"),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .await,
    )
    .await;
    assert!(body.get("refresh_token").is_none(), "{body}");
    // ...and may not use the refresh grant, even with another client's token.
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let (status, code, _) = error_of(
        app.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "once"),
            ("refresh_token", text(&login, "refresh_token")),
        ])
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "unauthorized_client"));
    // The refusal did not burn the owner's token.
    tokens(app.refresh(text(&login, "refresh_token")).await).await;
}

#[actix_web::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let app = TestApp::spawn().await;
    let secret = app.add_web_client();
    let login = tokens(app.login("alice", PASSWORD).await).await;
    let (status, code, _) = error_of(
        app.token_basic(
            crate::oauth_helpers::WEB,
            &secret,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", text(&login, "refresh_token")),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
    tokens(app.refresh(text(&login, "refresh_token")).await).await;
}
