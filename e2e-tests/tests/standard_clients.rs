//! A standard OAuth 2.0 client library, Python's authlib, against the real
//! binaries with no special cases: client credentials (`client_secret_basic`
//! and `client_secret_post`), the password grant, refresh, revocation and
//! introspection, all through authlib's `OAuth2Session`. The script is
//! `e2e-tests/python/authlib_client.py`; its packages are pinned in
//! `e2e-tests/python/requirements.txt`. Without Python or authlib the test
//! is skipped with the reason printed, except under CI, where it fails.
//! (Rust's `oauth2` crate is the client of `tests/lifecycle.rs`.)

mod common;

use std::time::Duration;

use common::python::python_with;
use common::{PASSWORD, on_both_backends};
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE, Database, ResourceServer};

on_both_backends!(authlib_performs_every_grant_revocation_and_introspection);

/// The checks the script reports, each as `ok <check>`: all of them must
/// have run, so a script that silently skipped one fails the test.
const CHECKS: [&str; 10] = [
    "discovery",
    "client_credentials with client_secret_basic",
    "client_credentials with client_secret_post",
    "password grant",
    "refresh",
    "refresh narrowing the scope",
    "introspection",
    "revocation",
    "invalid_client",
    "all",
];

/// The script makes a dozen requests; a minute means something hangs.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

fn authlib_performs_every_grant_revocation_and_introspection(database: Database) {
    let Some(python) = python_with(&["authlib", "requests"], module_path!()) else {
        return;
    };
    // Given both servers, user alice, a service client and a confidential
    // first-party client, registered through the command line
    let auth = AuthServer::builder()
        .database(database)
        .start()
        .expect("auth-server starts");
    auth.add_user("alice", PASSWORD).expect("users add alice");
    let service_secret = auth
        .add_confidential_client(
            "svc",
            &["client_credentials"],
            "notes:read",
            DEFAULT_AUDIENCE,
        )
        .expect("clients add svc");
    let web_secret = auth
        .add_confidential_client(
            "notes-web",
            &["password", "refresh_token"],
            "notes:read notes:write",
            DEFAULT_AUDIENCE,
        )
        .expect("clients add notes-web");
    let api = ResourceServer::start(&auth).expect("resource-server starts");

    // When authlib runs every flow against them
    let output = python.run_script(
        "authlib_client.py",
        &[],
        &[
            ("AUTH_URL", auth.url()),
            ("API_URL", api.url()),
            ("SERVICE_ID", "svc"),
            ("SERVICE_SECRET", service_secret.as_str()),
            ("WEB_ID", "notes-web"),
            ("WEB_SECRET", web_secret.as_str()),
            ("USERNAME", "alice"),
            ("PASSWORD", PASSWORD),
        ],
        SCRIPT_TIMEOUT,
    );

    // Then every check passed
    let passed: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("ok "))
        .collect();
    assert_eq!(passed, CHECKS, "stdout:\n{}", output.stdout);
}
