//! The database goes away and comes back: the auth server, running on a
//! PostgreSQL cluster of the test's own (so stopping it disturbs no other
//! test), says "try again later" while it is gone, stays alive and says it
//! is not ready, and serves again once the database is back, without a
//! restart.
//!
//! Needs PostgreSQL's server programs (`initdb`, `pg_ctl`; see
//! [`PgCluster`]): skipped without them, except under CI, where that is a
//! failure.

mod common;

use common::{CLIENT, Stack, json_error, poll_until};
use e2e_tests::fixture::{AuthServer, Database, PG_BIN_DIR, PgCluster};
use reqwest::blocking::Response;
use reqwest::header::RETRY_AFTER;
use std::time::Duration;

/// How long a request waits for a database connection (`--db-timeout`):
/// short, so the outage's answers come quickly.
const DB_TIMEOUT: &str = "1s";
/// How long the service may take to notice the database is back.
const RECOVERY_PATIENCE: Duration = Duration::from_secs(30);

/// A fresh cluster, or `None` (skip) where PostgreSQL is not installed,
/// except under CI, where a skipped outage test would hide a broken setup.
fn cluster() -> Option<PgCluster> {
    if !PgCluster::available() {
        let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
        assert!(
            !in_ci,
            "no PostgreSQL server programs (set {PG_BIN_DIR}), but CI must run the outage test"
        );
        println!("skipped: no PostgreSQL server programs (initdb, pg_ctl)");
        return None;
    }
    Some(PgCluster::start().expect("a throwaway PostgreSQL cluster starts"))
}

/// The status of `GET path` on the auth server.
fn status_of(stack: &Stack, path: &str) -> u16 {
    stack
        .http
        .get(stack.auth.endpoint(path))
        .send()
        .expect("the auth server answers")
        .status()
        .as_u16()
}

/// A 503 with `temporarily_unavailable` and a `Retry-After`.
fn assert_try_again_later(response: Response, what: &str) {
    assert!(
        response.headers().contains_key(RETRY_AFTER),
        "{what}: a 503 tells the client when to retry"
    );
    let body = json_error(response, 503);
    assert_eq!(body["error"], "temporarily_unavailable", "{what}: {body}");
}

#[test]
fn the_token_endpoint_says_try_later_while_the_database_is_down_and_recovers_without_a_restart() {
    // Declared first, so it is dropped last: the servers stop before it.
    let Some(mut cluster) = cluster() else { return };
    let database = Database::postgres_fresh(&cluster.admin_url()).expect("a fresh database");

    // Given an auth server on that cluster, and alice holding a refresh token
    let mut stack = Stack::start(
        AuthServer::builder()
            .database(database)
            .arg("--db-timeout")
            .arg(DB_TIMEOUT),
    );
    let pid = stack.auth.pid();
    let refresh_token = stack.login("alice", CLIENT)["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();

    // When the database stops
    cluster.stop().expect("the cluster stops");

    // Then logins and refreshes get 503 temporarily_unavailable, within the
    // client's timeout (the server gives up after --db-timeout), not a 500
    assert_try_again_later(
        stack.password_grant("alice", common::PASSWORD, CLIENT),
        "a login",
    );
    assert_try_again_later(stack.refresh_grant(&refresh_token, CLIENT), "a refresh");
    // And the server says it is not ready, but alive, and it is still running
    assert_eq!(
        status_of(&stack, "/readyz"),
        503,
        "not ready without a database"
    );
    assert_eq!(
        status_of(&stack, "/healthz"),
        200,
        "alive without a database"
    );
    assert!(
        stack.auth.is_running(),
        "the outage did not kill the server"
    );

    // When the database comes back
    cluster.start_again().expect("the cluster starts again");

    // Then the same process serves again: ready, logins work, and the refresh
    // token refused during the outage was not burned by that attempt
    poll_until(RECOVERY_PATIENCE, "ready again", || {
        (status_of(&stack, "/readyz") == 200).then_some(())
    });
    stack.login("alice", CLIENT);
    let refreshed = stack.refresh_grant(&refresh_token, CLIENT);
    assert_eq!(
        refreshed.status(),
        200,
        "the pre-outage refresh token still works"
    );
    assert!(stack.auth.is_running());
    assert_eq!(stack.auth.pid(), pid, "no restart happened");
    // And nothing panicked along the way
    let log = stack.auth.stderr_lines();
    assert!(
        !log.iter().any(|line| line.contains("panicked")),
        "the server log shows a panic: {log:#?}"
    );
}
