//! The life of a login, told against the real binaries: issue, use, expire,
//! refresh, reuse. Each story runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (see `on_both_backends!`).

mod common;

use std::time::Duration;

use common::{
    CLIENT, FULL_SCOPE, PASSWORD, Stack, challenge, json_error, on_both_backends, poll_until,
};
use e2e_tests::fixture::{AuthServer, Database};
use e2e_tests::jwt;
use oauth2::basic::{BasicErrorResponseType, BasicTokenType};
use oauth2::{
    RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse,
};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use serde_json::{Value, json};
use shared_claims::AccessClaims;

on_both_backends!(
    a_login_lives_expires_refreshes_and_dies_when_a_refresh_token_is_replayed,
    a_token_response_is_json_that_no_cache_may_keep,
    a_wrong_password_and_an_unknown_user_look_the_same,
    the_api_keeps_accepting_tokens_while_the_auth_server_is_down,
    notes_written_with_notes_write_are_read_back_with_notes_read,
    a_user_registers_herself_only_where_registration_is_open,
    the_metadata_document_points_at_this_server,
);

fn a_login_lives_expires_refreshes_and_dies_when_a_refresh_token_is_replayed(database: Database) {
    // Given an auth server issuing 2-second access tokens, a resource server
    // with no clock leeway, user alice and the first-party client notes-app
    let stack = Stack::start(
        AuthServer::builder()
            .database(database)
            .access_ttl(Duration::from_secs(2)),
    );
    let oauth = stack.oauth_client(CLIENT);

    // When alice logs in through an OAuth client library nobody here wrote
    let username = ResourceOwnerUsername::new("alice".to_owned());
    let password = ResourceOwnerPassword::new(PASSWORD.to_owned());
    let login = oauth
        .exchange_password(&username, &password)
        .add_scope(Scope::new("notes:read".to_owned()))
        .add_scope(Scope::new("notes:write".to_owned()))
        .request(&stack.http)
        .expect("password grant succeeds");

    // Then she holds a Bearer access token with its lifetime, and a refresh token
    assert_eq!(login.token_type(), &BasicTokenType::Bearer);
    let lifetime = login.expires_in().expect("expires_in is given");
    assert!(
        lifetime > Duration::ZERO && lifetime <= Duration::from_secs(2),
        "expires_in {lifetime:?} matches --access-ttl 2s"
    );
    let first_refresh = login.refresh_token().expect("a refresh token").clone();
    let access = login.access_token().secret().clone();
    // And the access token is an RFC 9068 JWT for this issuer and audience
    let header = jwt::header(&access).expect("readable JWT header");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string(), "header names its key: {header}");
    let claims: AccessClaims = serde_json::from_value(jwt::claims(&access).expect("claims"))
        .expect("claims match the shared-claims contract");
    assert_eq!(claims.iss, stack.auth.issuer());
    assert!(claims.aud.contains("resource-server"));
    assert_eq!(claims.client_id, CLIENT);
    assert!(claims.scope.contains("notes:read") && claims.scope.contains("notes:write"));

    // When she calls the API with it
    let me = stack.me(&access);

    // Then the API knows who she is and what she may do
    assert_eq!(me.status(), 200);
    let me: Value = me.json().expect("/api/me is JSON");
    assert_eq!(me["sub"], claims.sub.as_str());
    assert_eq!(me["client_id"], CLIENT);
    assert!(
        me["scope"]
            .as_str()
            .is_some_and(|s| s.contains("notes:read")),
        "scope in {me}"
    );

    // When the access token's lifetime passes
    let expired = poll_until(
        Duration::from_secs(15),
        "the resource server refuses the expired access token",
        || {
            let response = stack.me(&access);
            (response.status() == 401).then_some(response)
        },
    );

    // Then the refusal says the token is no longer valid (RFC 6750 §3)
    let refusal = challenge(&expired);
    assert_eq!(refusal.scheme, "Bearer");
    assert_eq!(refusal.error(), Some("invalid_token"));
    assert!(
        refusal
            .param("error_description")
            .is_some_and(|text| text.to_lowercase().contains("expired")),
        "the refusal says the token expired: {refusal:?}"
    );

    // When the client refreshes
    let renewed = oauth
        .exchange_refresh_token(&first_refresh)
        .request(&stack.http)
        .expect("refresh grant succeeds");

    // Then it gets a new pair: a fresh access token, a rotated refresh token
    let newest_refresh = renewed.refresh_token().expect("a rotated refresh token");
    assert_ne!(newest_refresh.secret(), first_refresh.secret());
    let new_access = renewed.access_token().secret();
    assert_ne!(new_access, &access);
    // And the fresh access token is accepted
    assert_eq!(stack.me(new_access).status(), 200);

    // When someone replays the first, already used, refresh token
    let replay = stack.refresh_grant(first_refresh.secret(), CLIENT);

    // Then the replay is refused
    assert_eq!(json_error(replay, 400)["error"], "invalid_grant");
    // And reuse detection revoked the family: the newest refresh token is dead too
    let after_reuse = oauth
        .exchange_refresh_token(newest_refresh)
        .request(&stack.http);
    match after_reuse {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(error.error(), &BasicErrorResponseType::InvalidGrant);
        }
        other => panic!("the family should be revoked, got {other:?}"),
    }
}

fn a_token_response_is_json_that_no_cache_may_keep(database: Database) {
    // Given alice and notes-app
    let stack = Stack::start(AuthServer::builder().database(database));

    // When she logs in
    let response = stack.password_grant("alice", PASSWORD, CLIENT);

    // Then the response is the RFC 6749 §5.1 shape and must not be cached
    assert_eq!(response.status(), 200);
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header(CACHE_CONTROL).contains("no-store"), "Cache-Control");
    assert!(header(PRAGMA).contains("no-cache"), "Pragma");
    assert!(header(CONTENT_TYPE).starts_with("application/json"));
    let body: Value = response.json().expect("JSON body");
    assert!(body["access_token"].is_string());
    assert!(
        body["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    );
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0));
    assert!(body["refresh_token"].is_string());
    assert_eq!(body["scope"], FULL_SCOPE);
}

fn a_wrong_password_and_an_unknown_user_look_the_same(database: Database) {
    // Given alice and notes-app
    let stack = Stack::start(AuthServer::builder().database(database));

    // When one login has a wrong password and another names nobody
    let wrong_password = stack.password_grant("alice", "not her password", CLIENT);
    let unknown_user = stack.password_grant("mallory", PASSWORD, CLIENT);

    // Then both get the same invalid_grant answer, so usernames cannot be probed
    let wrong_password = json_error(wrong_password, 400);
    let unknown_user = json_error(unknown_user, 400);
    assert_eq!(wrong_password["error"], "invalid_grant");
    assert_eq!(wrong_password, unknown_user);
    // And the answer does not echo the password
    assert!(!wrong_password.to_string().contains("not her password"));
}

fn the_api_keeps_accepting_tokens_while_the_auth_server_is_down(database: Database) {
    // Given alice holds a valid access token
    let mut stack = Stack::start(AuthServer::builder().database(database));
    let login = stack.login("alice", CLIENT);
    let access = login["access_token"].as_str().expect("access token");

    // When the auth server stops
    let exit = stack.auth.stop().expect("auth-server exit status");
    assert!(exit.success(), "SIGTERM is a clean shutdown, got {exit}");

    // Then the resource server still verifies the token with its cached keys
    assert_eq!(stack.me(access).status(), 200);
    let ready = stack
        .http
        .get(stack.api.endpoint("/readyz"))
        .send()
        .expect("readyz answers");
    assert_eq!(ready.status(), 200, "still ready with cached keys");
}

fn notes_written_with_notes_write_are_read_back_with_notes_read(database: Database) {
    // Given alice and bob, each logged in with the full notes scope
    let stack = Stack::start(AuthServer::builder().database(database));
    stack.auth.add_user("bob", PASSWORD).expect("users add bob");
    let alice = stack.login("alice", CLIENT)["access_token"]
        .as_str()
        .expect("alice's token")
        .to_owned();
    let bob = stack.login("bob", CLIENT)["access_token"]
        .as_str()
        .expect("bob's token")
        .to_owned();
    let notes = stack.api.endpoint("/api/notes");

    // When alice writes a note
    let written = stack
        .http
        .post(&notes)
        .bearer_auth(&alice)
        .json(&json!({"text": "buy oat milk"}))
        .send()
        .expect("POST /api/notes answers");

    // Then it is stored
    assert!(written.status().is_success(), "{}", written.status());

    // And alice reads it back
    let read = stack
        .http
        .get(&notes)
        .bearer_auth(&alice)
        .send()
        .expect("GET /api/notes answers");
    assert_eq!(read.status(), 200);
    let read = read.text().expect("body");
    assert!(read.contains("buy oat milk"), "alice's notes: {read}");

    // But bob, another subject, does not see it
    let bobs = stack
        .http
        .get(&notes)
        .bearer_auth(&bob)
        .send()
        .expect("GET /api/notes answers");
    assert_eq!(bobs.status(), 200);
    let bobs = bobs.text().expect("body");
    assert!(!bobs.contains("buy oat milk"), "bob's notes: {bobs}");
}

fn a_user_registers_herself_only_where_registration_is_open(database: Database) {
    // Given one auth server with registration open and one without, each
    // with its own database
    let other_database = database.fresh_like().expect("a second fresh database");
    let open = Stack::start(
        AuthServer::builder()
            .database(database)
            .allow_registration(true),
    );
    let closed = Stack::start(AuthServer::builder().database(other_database));
    let register = |stack: &Stack| {
        stack
            .http
            .post(stack.auth.endpoint("/users"))
            .json(&json!({"username": "carol", "password": PASSWORD}))
            .send()
            .expect("POST /users answers")
    };

    // When carol registers on both
    let accepted = register(&open);
    let refused = register(&closed);

    // Then only the open one accepts her, and she can log in there
    assert!(accepted.status().is_success(), "{}", accepted.status());
    assert_eq!(open.login("carol", CLIENT)["token_type"], "Bearer");
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert_eq!(
        json_error(closed.password_grant("carol", PASSWORD, CLIENT), 400)["error"],
        "invalid_grant"
    );
}

fn the_metadata_document_points_at_this_server(database: Database) {
    // Given an auth server on a free port
    let stack = Stack::start(AuthServer::builder().database(database));

    // When a client discovers it (RFC 8414)
    let metadata: Value = stack
        .http
        .get(stack.auth.metadata_url())
        .send()
        .expect("metadata answers")
        .json()
        .expect("metadata is JSON");

    // Then issuer, token endpoint and JWKS are the ones it actually serves
    assert_eq!(metadata["issuer"], stack.auth.issuer());
    assert_eq!(metadata["token_endpoint"], stack.auth.token_url());
    assert_eq!(metadata["jwks_uri"], stack.auth.jwks_url());
}
