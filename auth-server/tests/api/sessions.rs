//! Sessions: logging out everywhere with an access token, and the operator
//! commands `users disable | enable | sessions`.

use std::time::{Duration, Instant};

use auth_server::cli::{DatabaseArgs, UsersCommand};
use auth_server::storage::refresh_tokens::{self, FamilyRow, FamilyStart};
use auth_server::storage::{DatabaseUrl, DbConnection, sessions, users};
use auth_server::{clock, commands};
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, TestDb, add_client, add_user, error_of, on_both_backends};
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

on_both_backends!(
    a_login_that_checked_the_password_before_a_disable_starts_no_session,
    a_login_storing_its_session_while_a_disable_commits_waits_and_starts_none,
);

/// The family a password login of `user_id` on client `app` stores.
fn login_family(user_id: &str, now: i64) -> FamilyRow {
    FamilyRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: Some(user_id.to_owned()),
        client_id: "app".into(),
        scope: "notes:read".into(),
        audience: "resource-server".into(),
        created_at: now,
        absolute_expires_at: now + 3600,
        revoked_at: None,
        revoked_reason: None,
    }
}

fn live_sessions(conn: &mut DbConnection, user_id: &str, now: i64) -> usize {
    sessions::active(conn, user_id, now).unwrap().len()
}

/// The password grant reads the user, spends a while on argon2, then stores
/// the family: a disable can land in between.
fn a_login_that_checked_the_password_before_a_disable_starts_no_session(db: &TestDb) {
    let mut conn = db.connection();
    let user_id = add_user(&mut conn, "alice");
    add_client(
        &mut conn,
        "app",
        "password refresh_token",
        "notes:read",
        false,
    );
    let now = clock::now();
    // Given a login that found alice enabled and verified her password...
    let checked = users::find_by_username(&mut conn, "alice")
        .unwrap()
        .unwrap();
    assert!(checked.is_enabled(now));
    // ...when an operator (another process) disables her before the login
    // stores its session...
    let (_, revoked) = sessions::disable(&mut db.connection(), "alice", now)
        .unwrap()
        .unwrap();
    assert_eq!(revoked, 0, "no session existed yet");
    // ...then the login's family is refused, and nothing is stored.
    let family = login_family(&checked.id, now);
    assert_eq!(
        refresh_tokens::start_family(&mut conn, &family, "t0", 3600).unwrap(),
        FamilyStart::UserDisabled
    );
    assert_eq!(
        refresh_tokens::find_family(&mut conn, &family.id).unwrap(),
        None
    );
    assert_eq!(refresh_tokens::find_token(&mut conn, "t0").unwrap(), None);
    assert_eq!(live_sessions(&mut conn, &user_id, now), 0);

    // Enabled again, the same login stores its session.
    sessions::enable(&mut conn, "alice").unwrap().unwrap();
    assert_eq!(
        refresh_tokens::start_family(&mut conn, &family, "t0", 3600).unwrap(),
        FamilyStart::Started
    );
    assert_eq!(live_sessions(&mut conn, &user_id, now), 1);
}

/// The disable has updated alice's row but not committed when the login
/// stores its family. A plain read would still see her enabled (the disable
/// is not committed) and store a family the disable never revokes; the
/// login must instead wait for the disable and then see it.
fn a_login_storing_its_session_while_a_disable_commits_waits_and_starts_none(db: &TestDb) {
    let mut conn = db.connection();
    let user_id = add_user(&mut conn, "alice");
    add_client(
        &mut conn,
        "app",
        "password refresh_token",
        "notes:read",
        false,
    );
    let now = clock::now();
    let family = login_family(&user_id, now);

    let mut operator = db.connection();
    // The login runs on its own connection, as in another process.
    let mut login_conn = db.connection();
    let login = operator
        .transaction(|operator| {
            sessions::disable(operator, "alice", now).unwrap().unwrap();
            let login_family = family.clone();
            let login = std::thread::spawn(move || {
                refresh_tokens::start_family(&mut login_conn, &login_family, "t0", 3600)
            });
            wait_until_blocked_on_a_lock(db);
            diesel::QueryResult::Ok(login)
        })
        .unwrap();
    let outcome = login.join().expect("login thread").unwrap();

    assert_eq!(outcome, FamilyStart::UserDisabled);
    assert_eq!(
        refresh_tokens::find_family(&mut conn, &family.id).unwrap(),
        None
    );
    assert_eq!(live_sessions(&mut conn, &user_id, now), 0);
}

/// On PostgreSQL, waits until some session of the test database waits for a
/// row lock (the login, behind the uncommitted disable). SQLite has one
/// writer at a time: the login either waits for the write lock (busy
/// timeout) or runs after the commit; there is nothing to observe.
fn wait_until_blocked_on_a_lock(db: &TestDb) {
    let DatabaseUrl::Postgres(url) = db.url() else {
        return;
    };
    let mut observer = PgConnection::establish(&url).expect("connect");
    let waiting = diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM pg_stat_activity \
          WHERE datname = current_database() AND wait_event_type = 'Lock')",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while diesel::select(waiting.clone())
        .get_result::<i64>(&mut observer)
        .expect("pg_stat_activity")
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the login should wait for the disable's row lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
