//! Two auth-server processes over one PostgreSQL database, as behind a load
//! balancer, behave as one service: one key set, each other's refresh
//! tokens, one rotation, and exactly one winner when clients race.
//!
//! PostgreSQL only (the shared database for several instances): every test
//! here is skipped without `TEST_DATABASE_URL`, except under CI, where that
//! is a failure. The tests live in `mod postgres` so their names say so.

mod common;

use std::collections::BTreeSet;
use std::sync::Barrier;
use std::time::Duration;

use common::{CLIENT, FULL_SCOPE, PASSWORD, http_client, json_error, poll_until};
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE, Database, ResourceServer};
use e2e_tests::jwt;
use reqwest::blocking::{Client, Response};
use serde_json::Value;

/// The public name both instances answer to, as behind a load balancer:
/// tokens from either carry this `iss`.
const ISSUER: &str = "https://auth.example.test";
/// How often each instance reloads its keys from the database; short, so a
/// rotation made elsewhere shows up within the test's patience.
const KEY_REFRESH: &str = "500ms";
/// How long a rotated key may take to appear everywhere.
const ROTATION_PATIENCE: Duration = Duration::from_secs(20);

/// Two auth-server instances over one database, user alice, client
/// notes-app, and a resource server trusting the shared issuer.
struct Cluster {
    // Dropped first, so no client connection is open when the servers stop.
    http: Client,
    api: ResourceServer,
    instances: [AuthServer; 2],
}

impl Cluster {
    fn start(database: &Database) -> Self {
        let first = instance(database);
        first.add_user("alice", PASSWORD).expect("users add alice");
        first
            .add_client(
                CLIENT,
                &["password", "refresh_token"],
                FULL_SCOPE,
                DEFAULT_AUDIENCE,
            )
            .expect("clients add notes-app");
        // Started after the first is ready, which ran the migrations and
        // created the signing key: the second finds both in the database.
        let second = instance(database);
        let api = ResourceServer::builder(&first)
            .jwks_cooldown(Duration::ZERO)
            .start()
            .expect("resource-server starts");
        Self {
            http: http_client(),
            api,
            instances: [first, second],
        }
    }

    /// Instance `n % 2`, so `0, 1, 2, ...` alternates like a round-robin
    /// load balancer.
    fn instance(&self, n: usize) -> &AuthServer {
        &self.instances[n % 2]
    }

    fn login(&self, n: usize) -> Value {
        let response = self
            .http
            .post(self.instance(n).token_url())
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
                ("client_id", CLIENT),
            ])
            .send()
            .expect("token endpoint answers");
        assert_eq!(response.status(), 200, "login at instance {}", n % 2);
        response.json().expect("token response is JSON")
    }

    fn refresh(&self, n: usize, refresh_token: &str) -> Response {
        refresh_at(&self.http, self.instance(n), refresh_token)
    }

    fn revoke(&self, n: usize, refresh_token: &str) -> Response {
        self.http
            .post(self.instance(n).endpoint("/oauth/revoke"))
            .form(&[
                ("token", refresh_token),
                ("token_type_hint", "refresh_token"),
                ("client_id", CLIENT),
            ])
            .send()
            .expect("revocation endpoint answers")
    }

    fn jwks(&self, n: usize) -> Value {
        self.http
            .get(self.instance(n).jwks_url())
            .send()
            .expect("JWKS answers")
            .json()
            .expect("JWKS is JSON")
    }

    fn me_status(&self, access_token: &str) -> u16 {
        self.http
            .get(self.api.endpoint("/api/me"))
            .bearer_auth(access_token)
            .send()
            .expect("resource server answers")
            .status()
            .as_u16()
    }
}

fn instance(database: &Database) -> AuthServer {
    AuthServer::builder()
        .database(database.clone())
        .issuer(ISSUER)
        .arg("--key-refresh-interval")
        .arg(KEY_REFRESH)
        .start()
        .expect("an auth-server instance starts")
}

fn refresh_at(http: &Client, auth: &AuthServer, refresh_token: &str) -> Response {
    http.post(auth.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT),
        ])
        .send()
        .expect("token endpoint answers")
}

fn field(json: &Value, name: &str) -> String {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {json}"))
        .to_owned()
}

fn kids(jwks: &Value) -> BTreeSet<String> {
    jwks["keys"]
        .as_array()
        .expect("a JWKS has keys")
        .iter()
        .map(|key| field(key, "kid"))
        .collect()
}

fn kid_of(access_token: &str) -> String {
    field(&jwt::header(access_token).expect("JWT header"), "kid")
}

/// Asserts that `response` is a 400 `invalid_grant`.
fn assert_invalid_grant(response: Response, what: &str) {
    let body = json_error(response, 400);
    assert_eq!(body["error"], "invalid_grant", "{what}: {body}");
}

mod postgres {
    use super::*;

    fn database() -> Option<Database> {
        common::postgres(module_path!())
    }

    #[test]
    fn two_instances_publish_one_key_set_and_honour_each_others_tokens() {
        let Some(database) = database() else { return };
        // Given two instances over one database
        let cluster = Cluster::start(&database);

        // Then both publish the same keys
        let published = cluster.jwks(0);
        assert_eq!(published, cluster.jwks(1), "one JWKS for the service");
        assert!(!kids(&published).is_empty());

        // When alice logs in at the first
        let login = cluster.login(0);
        let access = field(&login, "access_token");
        assert_eq!(jwt::claims(&access).expect("claims")["iss"], ISSUER);
        assert_eq!(cluster.me_status(&access), 200);

        // Then the second refreshes her refresh token
        let renewed = cluster.refresh(1, &field(&login, "refresh_token"));
        assert_eq!(renewed.status(), 200, "refresh at the other instance");
        let renewed: Value = renewed.json().expect("JSON");
        // And its access token, signed with the shared key, is accepted
        assert_eq!(cluster.me_status(&field(&renewed, "access_token")), 200);
        // And the token it rotated to works back at the first
        let again = cluster.refresh(0, &field(&renewed, "refresh_token"));
        assert_eq!(again.status(), 200, "refresh back at the first instance");
    }

    #[test]
    fn a_key_rotated_through_one_instance_is_served_and_used_by_both() {
        let Some(database) = database() else { return };
        // Given two instances that reload keys every 500ms
        let cluster = Cluster::start(&database);
        let before = kids(&cluster.jwks(0));

        // When an operator rotates the key through the first one's database
        // URL, to sign at once
        cluster.instances[0]
            .cli(&["keys", "rotate", "--activation-delay", "0s"])
            .expect("keys rotate");

        // Then both instances publish the new key next to the old ones
        let new_kid = poll_until(ROTATION_PATIENCE, "the first publishes a new key", || {
            kids(&cluster.jwks(0))
                .difference(&before)
                .next()
                .map(ToOwned::to_owned)
        });
        for n in 0..2 {
            poll_until(
                ROTATION_PATIENCE,
                &format!("instance {n} publishes {new_kid} and keeps the old keys"),
                || {
                    let published = kids(&cluster.jwks(n));
                    (published.contains(&new_kid) && published.is_superset(&before)).then_some(())
                },
            );
        }
        // And both sign new tokens with it
        for n in 0..2 {
            let access = poll_until(
                ROTATION_PATIENCE,
                &format!("instance {n} signs with {new_kid}"),
                || {
                    let access = field(&cluster.login(n), "access_token");
                    (kid_of(&access) == new_kid).then_some(access)
                },
            );
            // And the resource server, meeting an unknown kid, fetches it
            assert_eq!(cluster.me_status(&access), 200, "token from instance {n}");
        }
    }

    #[test]
    fn fifty_concurrent_refreshes_across_instances_have_exactly_one_winner() {
        let Some(database) = database() else { return };
        // Given alice's refresh token from a login at the first instance
        let cluster = Cluster::start(&database);
        let refresh_token = field(&cluster.login(0), "refresh_token");

        // When 50 clients present it at once, round-robin over both instances
        const RACERS: usize = 50;
        let start = Barrier::new(RACERS);
        let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..RACERS)
                .map(|n| {
                    let (cluster, start, token) = (&cluster, &start, &refresh_token);
                    scope.spawn(move || {
                        start.wait();
                        let response = cluster.refresh(n, token);
                        let status = response.status().as_u16();
                        (status, response.json().unwrap_or(Value::Null))
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|racer| racer.join().expect("racer thread"))
                .collect()
        });

        // Then exactly one gets a new pair, and the 49 others invalid_grant
        let winners: Vec<&Value> = answers
            .iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
            .collect();
        let refused = answers
            .iter()
            .filter(|(status, body)| *status == 400 && body["error"] == "invalid_grant")
            .count();
        assert_eq!(winners.len(), 1, "one winner: {answers:?}");
        assert_eq!(refused, RACERS - 1, "everyone else refused: {answers:?}");

        // And the losers were reuse: the family is revoked, so the winner's
        // new refresh token is dead at either instance
        let winners_token = field(winners[0], "refresh_token");
        assert_invalid_grant(
            cluster.refresh(0, &winners_token),
            "the winner's rotated token",
        );
        assert_invalid_grant(
            cluster.refresh(1, &winners_token),
            "the winner's rotated token",
        );
        assert_invalid_grant(cluster.refresh(1, &refresh_token), "the raced token");
        // While alice can still log in again
        assert!(cluster.login(1)["refresh_token"].is_string());
    }

    #[test]
    fn a_refresh_racing_a_revocation_never_leaves_a_live_token() {
        let Some(database) = database() else { return };
        // Given two instances
        let cluster = Cluster::start(&database);
        const ROUNDS: usize = 20;
        let mut refresh_won = 0;
        for round in 0..ROUNDS {
            // Given a fresh login (a family of its own)
            let refresh_token = field(&cluster.login(round), "refresh_token");

            // When a refresh at one instance races a revocation at the other
            let start = Barrier::new(2);
            let (refreshed, revoked) = std::thread::scope(|scope| {
                let refresher = scope.spawn(|| {
                    start.wait();
                    let response = cluster.refresh(round, &refresh_token);
                    let status = response.status().as_u16();
                    (status, response.json().unwrap_or(Value::Null))
                });
                let revoker = scope.spawn(|| {
                    start.wait();
                    cluster.revoke(round + 1, &refresh_token).status().as_u16()
                });
                (
                    refresher.join().expect("refresher thread"),
                    revoker.join().expect("revoker thread"),
                )
            });

            // Then the revocation is acknowledged (RFC 7009 §2.2)
            assert_eq!(revoked, 200, "round {round}: revocation answered");
            // And whichever came first, no token of the family works. The
            // newest is tried first: presenting the used original would
            // itself revoke the family (reuse) and hide a revocation that
            // missed the token the refresh just issued.
            let mut family = vec![refresh_token.clone()];
            match refreshed {
                (200, body) => {
                    refresh_won += 1;
                    family.push(field(&body, "refresh_token"));
                }
                (400, body) => assert_eq!(body["error"], "invalid_grant", "round {round}"),
                other => panic!("round {round}: unexpected refresh answer {other:?}"),
            }
            for (index, token) in family.iter().enumerate().rev() {
                for n in 0..2 {
                    assert_invalid_grant(
                        cluster.refresh(n, token),
                        &format!("round {round}: family token {index} at instance {n}"),
                    );
                }
            }
        }
        // Not an assertion (scheduling decides), but a reader of the output
        // sees that both orders were exercised.
        println!("the refresh won {refresh_won} of {ROUNDS} races");
    }
}
