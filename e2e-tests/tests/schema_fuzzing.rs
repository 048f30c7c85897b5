//! Schema-driven fuzzing: schemathesis generates requests from each
//! server's own `/openapi.json` and checks every answer against the same
//! document: no 5xx (`not_a_server_error`), and no response whose status,
//! or whose body, the document does not describe
//! (`status_code_conformance`, `response_schema_conformance`). The document
//! must say what the servers really do, and the servers must survive
//! whatever the document lets a client send.
//!
//! Bounded: a few examples per operation, so both servers take well under
//! two minutes. The run is random (hypothesis); a failure prints the seed
//! and the request to reproduce it. Needs Python with schemathesis
//! (`e2e-tests/python/requirements.txt`): skipped with the reason printed
//! without it, failed under CI.

mod common;

use std::time::Duration;

use common::python::{Python, python_with};
use common::{CLIENT, FULL_SCOPE, Stack};
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE, Database};

/// Random test cases per operation (the coverage phase adds its boundary
/// values): about a minute per server on a busy 2-core machine.
const MAX_EXAMPLES: &str = "10";
/// A hung run fails the test rather than the CI job.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
const CHECKS: &str = "not_a_server_error,status_code_conformance,response_schema_conformance";

/// One backend only, to stay within the time budget: PostgreSQL when
/// `TEST_DATABASE_URL` is set (as in CI; the stricter one, e.g. about NUL
/// bytes in text), else SQLite.
#[test]
fn neither_server_answers_5xx_or_contradicts_its_openapi_document() {
    let Some(python) = python_with(&["schemathesis"], module_path!()) else {
        return;
    };
    let database = Database::from_env().expect("a fresh database");
    // Given both servers, with registration open (so POST /users is live),
    // alice, the first-party client and a service client
    let stack = Stack::start(
        AuthServer::builder()
            .database(database)
            .allow_registration(true),
    );
    let service_secret = stack
        .auth
        .add_confidential_client(
            "svc",
            &["client_credentials"],
            "notes:read",
            DEFAULT_AUDIENCE,
        )
        .expect("clients add svc");

    // (alice's token is fetched first: the fuzzer's failed logins may get
    // the loopback address throttled)
    let login = stack.login("alice", CLIENT);
    assert_eq!(login["scope"], FULL_SCOPE);
    let bearer = format!(
        "Authorization: Bearer {}",
        login["access_token"].as_str().expect("an access token")
    );

    // When schemathesis fuzzes the auth server, authenticating as the
    // service client (HTTP Basic), so token, revocation and introspection
    // requests get past client authentication to the grant handling
    let basic = format!("svc:{service_secret}");
    fuzz(
        &python,
        &stack.auth.endpoint("/openapi.json"),
        &["--auth", basic.as_str()],
    );
    // and the resource server with a valid token of full scope, so requests
    // get past authentication to the notes handlers
    fuzz(
        &python,
        &stack.api.endpoint("/openapi.json"),
        &["--header", bearer.as_str()],
    );
    // Then (checked in `fuzz`) it found nothing.
}

/// Runs schemathesis against the document at `schema_url` (and the server
/// that serves it); fails the test on any finding.
fn fuzz(python: &Python, schema_url: &str, extra: &[&str]) {
    let mut args = vec![
        "run",
        schema_url,
        "--checks",
        CHECKS,
        "--max-examples",
        MAX_EXAMPLES,
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--max-redirects",
        "0",
        // Fuzzing and the coverage phase; stateful links are not described.
        "--phases",
        "examples,coverage,fuzzing",
        "--suppress-health-check",
        "all",
    ];
    args.extend_from_slice(extra);
    let output = python.run_script("schemathesis_cli.py", &args, &[], RUN_TIMEOUT);
    println!("{}", output.stdout);
}
