//! Brute-force throttling over HTTP: failed logins and client
//! authentications lead to 429 with `Retry-After`, never revealing whether
//! a user exists, and never for good. Every request here comes from
//! 127.0.0.1, so the per-address behaviour across many addresses is told in
//! the unit tests of `auth_server::throttle`.

use std::time::{Duration, Instant};

use auth_server::config::ServeConfig;
use auth_server::throttle::Limits;

use crate::helpers::{
    Options, PASSWORD, TestApp, TestDb, assert_no_store, error_of, on_both_backends_async,
};
use crate::oauth_helpers::tokens;

on_both_backends_async!(
    repeated_wrong_passwords_lock_the_account_for_that_address,
    unknown_users_are_throttled_exactly_like_real_ones,
    a_successful_login_clears_the_count,
    the_lockout_ends_by_itself,
    failed_client_authentication_is_throttled_on_every_endpoint,
    one_address_guessing_many_accounts_is_locked,
    limits_of_zero_turn_throttling_off,
    the_defaults_let_a_user_mistype_a_few_times,
);

const WRONG: &str = "not the password";

/// Three failures per account and address; nothing else.
fn three_per_source(config: &mut ServeConfig) {
    let limits = Limits {
        per_source: 3,
        ..Limits::OFF
    };
    config.throttle.login = limits;
    config.throttle.client = limits;
}

async fn spawn(db: TestDb, serve: fn(&mut ServeConfig)) -> TestApp {
    TestApp::spawn_with(
        db,
        Options {
            serve,
            ..Options::default()
        },
    )
    .await
}

/// Asserts a 429 with `Retry-After` (whole seconds, at least 1), the
/// no-store headers and the OAuth JSON body.
async fn assert_throttled(response: reqwest::Response) {
    assert_no_store(&response);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);
    let (status, code, body) = error_of(response).await;
    assert_eq!((status, code.as_str()), (429, "temporarily_unavailable"));
    assert!(body["error_description"].is_string(), "{body}");
}

async fn assert_bad_credentials(response: reqwest::Response) {
    let (status, code, body) = error_of(response).await;
    assert_eq!((status, code.as_str()), (400, "invalid_grant"), "{body}");
}

async fn repeated_wrong_passwords_lock_the_account_for_that_address(db: TestDb) {
    let app = spawn(db, three_per_source).await;
    for _ in 0..3 {
        assert_bad_credentials(app.login("alice", WRONG).await).await;
    }
    // Locked: even the right password is refused without being checked.
    assert_throttled(app.login("alice", PASSWORD).await).await;
    // Other accounts from the same address are not affected.
    assert_bad_credentials(app.login("bob", WRONG).await).await;
}

async fn unknown_users_are_throttled_exactly_like_real_ones(db: TestDb) {
    let app = spawn(db, three_per_source).await;
    let mut answers = Vec::new();
    for name in ["alice", "nobody"] {
        let mut seen = Vec::new();
        for _ in 0..4 {
            let response = app.login(name, WRONG).await;
            let retry_after = response.headers().contains_key("retry-after");
            let (status, _, body) = error_of(response).await;
            seen.push((status, body, retry_after));
        }
        answers.push(seen);
    }
    assert_eq!(
        answers[0], answers[1],
        "same answers, whether or not the user exists"
    );
    assert_eq!(answers[0][3].0, 429);
}

async fn a_successful_login_clears_the_count(db: TestDb) {
    let app = spawn(db, three_per_source).await;
    for _ in 0..2 {
        assert_bad_credentials(app.login("alice", WRONG).await).await;
    }
    tokens(app.login("alice", PASSWORD).await).await;
    for _ in 0..2 {
        assert_bad_credentials(app.login("alice", WRONG).await).await;
    }
    tokens(app.login("alice", PASSWORD).await).await;
}

async fn the_lockout_ends_by_itself(db: TestDb) {
    fn short_lockout(config: &mut ServeConfig) {
        three_per_source(config);
        config.throttle.lockout = Duration::from_millis(300);
    }
    let app = spawn(db, short_lockout).await;
    for _ in 0..3 {
        assert_bad_credentials(app.login("alice", WRONG).await).await;
    }
    assert_throttled(app.login("alice", PASSWORD).await).await;
    // Poll until the lockout is over; attempts while locked do not extend it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = app.login("alice", PASSWORD).await;
        if response.status() != 429 {
            tokens(response).await;
            break;
        }
        assert!(Instant::now() < deadline, "still locked out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn failed_client_authentication_is_throttled_on_every_endpoint(db: TestDb) {
    let app = spawn(db, three_per_source).await;
    let grant = [("grant_type", "client_credentials")];
    for _ in 0..3 {
        let response = app.token_basic("svc", "wrong secret", &grant).await;
        let (status, code, _) = error_of(response).await;
        assert_eq!((status, code.as_str()), (401, "invalid_client"));
    }
    // Locked: the right secret is refused too, on every endpoint that
    // authenticates clients.
    let secret = app.svc_secret.clone();
    assert_throttled(app.token_basic("svc", &secret, &grant).await).await;
    let basic = Some(("svc", secret.as_str()));
    assert_throttled(app.revoke(&[("token", "x")], basic).await).await;
    assert_throttled(app.introspect(&[("token", "x")], basic).await).await;
    // Another client is unaffected.
    tokens(app.login("alice", PASSWORD).await).await;
}

async fn one_address_guessing_many_accounts_is_locked(db: TestDb) {
    fn three_per_ip(config: &mut ServeConfig) {
        config.throttle.login = Limits {
            per_ip: 3,
            ..Limits::OFF
        };
    }
    let app = spawn(db, three_per_ip).await;
    for name in ["bob", "carol", "dave"] {
        assert_bad_credentials(app.login(name, WRONG).await).await;
    }
    assert_throttled(app.login("alice", PASSWORD).await).await;
}

async fn limits_of_zero_turn_throttling_off(db: TestDb) {
    fn off(config: &mut ServeConfig) {
        config.throttle.login = Limits::OFF;
        config.throttle.client = Limits::OFF;
    }
    let app = spawn(db, off).await;
    for _ in 0..8 {
        assert_bad_credentials(app.login("alice", WRONG).await).await;
    }
    tokens(app.login("alice", PASSWORD).await).await;
}

async fn the_defaults_let_a_user_mistype_a_few_times(db: TestDb) {
    let app = spawn(db, |_| {}).await;
    for _ in 0..4 {
        assert_bad_credentials(app.login("alice", WRONG).await).await;
    }
    tokens(app.login("alice", PASSWORD).await).await;
}
