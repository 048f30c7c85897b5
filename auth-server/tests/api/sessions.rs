//! Sessions: logging out everywhere with an access token, and the operator
//! commands `users disable | enable | sessions`.

use auth_server::cli::{DatabaseArgs, UsersCommand};
use auth_server::commands;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, error_of};
use crate::oauth_helpers::{text, tokens};

#[actix_web::test]
async fn logging_out_everywhere_revokes_every_session_of_the_user() {
    let app = TestApp::spawn().await;
    // Given two sessions (say, a phone and a laptop)...
    let phone = tokens(app.login("alice", PASSWORD).await).await;
    let laptop = tokens(app.login("alice", PASSWORD).await).await;
    // ...when the laptop logs out everywhere...
    let response = app.logout_all(Some(text(&laptop, "access_token"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"revoked_sessions": 2}));
    // ...then neither session can refresh any more.
    for session in [&phone, &laptop] {
        let (status, code, _) = error_of(app.refresh(text(session, "refresh_token")).await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_grant"));
    }
    // A new login starts a new session.
    let again = tokens(app.login("alice", PASSWORD).await).await;
    tokens(app.refresh(text(&again, "refresh_token")).await).await;
}

#[actix_web::test]
async fn logout_everywhere_needs_a_valid_user_token() {
    let app = TestApp::spawn().await;
    // No token: a bare RFC 6750 challenge.
    let response = app.logout_all(None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"auth-server\""
    );
    // A bad token: invalid_token.
    let response = app.logout_all(Some("not.a.token")).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(error_of(response).await.1, "invalid_token");
    // A client-credentials token represents no user.
    let svc = tokens(
        app.token_basic(
            "svc",
            &app.svc_secret,
            &[("grant_type", "client_credentials")],
        )
        .await,
    )
    .await;
    let (status, code, _) = error_of(app.logout_all(Some(text(&svc, "access_token"))).await).await;
    assert_eq!((status, code.as_str()), (403, "insufficient_scope"));
}

fn database(app: &TestApp) -> DatabaseArgs {
    DatabaseArgs {
        database_url: app.db.url(),
        db_pool_size: 1,
        db_timeout: std::time::Duration::from_secs(5),
    }
}

/// Runs a `users` command; returns its standard output.
fn users(app: &TestApp, command: UsersCommand) -> Result<String, commands::CommandError> {
    let mut out = Vec::new();
    commands::users(&database(app), command, &mut std::io::empty(), &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[actix_web::test]
async fn an_operator_lists_sessions_and_disables_and_enables_a_user() {
    let app = TestApp::spawn().await;
    let first = tokens(app.login("alice", PASSWORD).await).await;
    let second = tokens(app.login("alice", PASSWORD).await).await;
    tokens(app.refresh(text(&second, "refresh_token")).await).await;

    // `users sessions` lists both live sessions, one line each.
    let listing = users(
        &app,
        UsersCommand::Sessions {
            name: "alice".into(),
        },
    )
    .unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(lines[0].starts_with("FAMILY"));
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.contains(" app ") && l.ends_with("notes:read notes:write"))
    );

    // `users disable` revokes both and stops logins.
    let out = users(
        &app,
        UsersCommand::Disable {
            name: "alice".into(),
        },
    )
    .unwrap();
    assert!(out.contains("revoked 2 session(s)"), "{out}");
    let (status, code, _) = error_of(app.refresh(text(&first, "refresh_token")).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));
    assert_eq!(
        error_of(app.login("alice", PASSWORD).await).await.1,
        "invalid_grant"
    );
    let listing = users(
        &app,
        UsersCommand::Sessions {
            name: "alice".into(),
        },
    )
    .unwrap();
    assert_eq!(listing.lines().count(), 1, "header only: {listing}");

    // `users enable` lets the user log in again; the old sessions stay dead.
    users(
        &app,
        UsersCommand::Enable {
            name: "alice".into(),
        },
    )
    .unwrap();
    tokens(app.login("alice", PASSWORD).await).await;
    let (status, _, _) = error_of(app.refresh(text(&first, "refresh_token")).await).await;
    assert_eq!(status, 400);

    // An unknown user is an error, not a silent no-op.
    assert!(
        users(
            &app,
            UsersCommand::Disable {
                name: "nobody".into()
            }
        )
        .is_err()
    );
    assert!(
        users(
            &app,
            UsersCommand::Sessions {
                name: "nobody".into()
            }
        )
        .is_err()
    );
}
