//! The auth server goes away: the resource server keeps serving on the keys
//! it cached, and a flood of tokens naming key ids nobody published cannot
//! turn it into a flood of JWKS fetches at the (already struggling) auth
//! server: at most one fetch per `--jwks-cooldown`.
//!
//! The fetches are counted twice, independently: by the resource server's
//! own `/metrics`, and by a stand-in listening where the auth server was,
//! which counts every connection made to it and closes it unanswered (a
//! dead peer).

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{CLIENT, Stack, http_client, on_both_backends};
use e2e_tests::fixture::{AuthServer, Database, ResourceServer};
use e2e_tests::jwt::{self, Parts};
use reqwest::blocking::Client;
use serde_json::json;

on_both_backends!(a_kid_flood_during_an_auth_outage_costs_one_jwks_fetch);

/// Longer than the test: the whole flood falls into one cooldown.
const COOLDOWN: Duration = Duration::from_secs(3600);
/// Threads sending forged tokens at once, and tokens each sends.
const FLOODERS: usize = 4;
const TOKENS_EACH: usize = 50;

fn a_kid_flood_during_an_auth_outage_costs_one_jwks_fetch(database: Database) {
    // Given a resource server that fetched its keys, refetches on an unknown
    // kid at most once an hour, and never in the background during the test
    let mut stack = Stack::start(AuthServer::builder().database(database));
    let api = ResourceServer::builder(&stack.auth)
        .jwks_cooldown(COOLDOWN)
        .arg("--jwks-refresh")
        .arg("1h")
        .start()
        .expect("resource-server starts");
    let genuine = stack.login("alice", CLIENT)["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let me = |token: &str| me_status(&stack.http, &api, token);
    assert_eq!(me(&genuine), 200, "the genuine token works");

    // When the auth server stops, and a stand-in takes its address that
    // counts connections and answers none
    let auth_address = stack
        .auth
        .url()
        .strip_prefix("http://")
        .expect("an http URL")
        .to_owned();
    stack.auth.stop();
    let dead_peer = DeadPeer::listen(&auth_address);
    let before = jwks_metrics(&stack.http, &api);

    // And tokens naming random key ids pour in from several clients
    let parts = Parts::split(&genuine).expect("a compact JWT");
    let flooders: Vec<_> = (0..FLOODERS)
        .map(|_| {
            let (url, claims, signature) = (
                api.endpoint("/api/me"),
                parts.claims.to_owned(),
                parts.signature.to_owned(),
            );
            thread::spawn(move || {
                let http = http_client();
                (0..TOKENS_EACH)
                    .map(|_| {
                        let kid = uuid::Uuid::new_v4().simple().to_string();
                        let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
                        let forged = format!("{}.{claims}.{signature}", jwt::encode_json(&header));
                        let response = http
                            .get(&url)
                            .bearer_auth(forged)
                            .send()
                            .expect("the resource server answers");
                        response.status().as_u16()
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = flooders
        .into_iter()
        .flat_map(|flooder| flooder.join().expect("a flooding thread"))
        .collect();

    // Then every forged token is refused as 401, none crashes anything
    assert_eq!(statuses.len(), FLOODERS * TOKENS_EACH);
    assert!(
        statuses.iter().all(|&status| status == 401),
        "forged kids get 401: {statuses:?}"
    );
    // And the whole flood cost one fetch attempt, by both counts
    let after = jwks_metrics(&stack.http, &api);
    assert_eq!(
        after.unknown_kid_refetches - before.unknown_kid_refetches,
        1,
        "one refetch per cooldown: {before:?} -> {after:?}"
    );
    assert_eq!(after.fetches - before.fetches, 1, "{before:?} -> {after:?}");
    assert_eq!(after.failures - before.failures, 1, "the peer is down");
    assert_eq!(dead_peer.connections(), 1, "connections the dead peer saw");
    // And the cached keys still serve: the genuine token works, and the
    // resource server stays ready
    assert_eq!(me(&genuine), 200, "cached keys survive the failed refetch");
    assert!(after.keys >= 1, "keys still cached: {after:?}");
    let ready = stack
        .http
        .get(api.endpoint("/readyz"))
        .send()
        .expect("readyz answers");
    assert_eq!(ready.status(), 200, "still ready on cached keys");
}

fn me_status(http: &Client, api: &ResourceServer, token: &str) -> u16 {
    http.get(api.endpoint("/api/me"))
        .bearer_auth(token)
        .send()
        .expect("the resource server answers")
        .status()
        .as_u16()
}

/// The resource server's JWKS counters, from `/metrics`.
#[derive(Debug, Clone, Copy)]
struct JwksMetrics {
    fetches: u64,
    failures: u64,
    unknown_kid_refetches: u64,
    keys: u64,
}

fn jwks_metrics(http: &Client, api: &ResourceServer) -> JwksMetrics {
    let text = http
        .get(api.endpoint("/metrics"))
        .send()
        .expect("metrics answer")
        .text()
        .expect("metrics text");
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
    };
    JwksMetrics {
        fetches: value("resource_jwks_fetches_total"),
        failures: value("resource_jwks_fetch_failures_total"),
        unknown_kid_refetches: value("resource_jwks_unknown_kid_refetches_total"),
        keys: value("resource_jwks_keys"),
    }
}

/// A listener at a stopped peer's address that accepts connections, counts
/// them and closes them without a word: a server that is down (as seen from
/// the resource server's HTTP client, a fetch that fails).
struct DeadPeer {
    connections: Arc<AtomicUsize>,
}

impl DeadPeer {
    fn listen(address: &str) -> Self {
        // The stopped server's port is free again; the standard library
        // sets SO_REUSEADDR, so its closed connections do not block it.
        let listener = TcpListener::bind(address).expect("take over the stopped server's port");
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        // Detached: it lives until the test process ends, accepting nothing
        // once the resource server is gone.
        thread::spawn(move || {
            for stream in listener.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self { connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
