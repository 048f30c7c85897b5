//! Key rotation without downtime, across the real binaries: `auth-server
//! keys rotate` while a resource server runs. The new key is published at
//! once and signs after the activation delay; tokens of both keys verify
//! throughout, with no restart; once the old key retires, its tokens are
//! refused. Runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is
//! set (see `on_both_backends!`).
//!
//! Having a retired key's token that has not expired yet takes an operator
//! who retires sooner than the access-token lifetime: `keys rotate` allows
//! it (its `--help` tells the operator not to), and so does this test, with
//! 5-minute access tokens and a 3-second `--retire-after`. That is the
//! honest way to get such a token; nothing here is forged. A key retired
//! on schedule only outlives tokens that are expired anyway.

mod common;

use std::time::Duration;

use common::{challenge, http_client, on_both_backends, poll_until};
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE, Database, ResourceServer};
use e2e_tests::jwt;
use reqwest::blocking::{Client, Response};
use serde_json::Value;

on_both_backends!(tokens_of_both_keys_verify_through_a_rotation_until_the_old_key_retires);

/// The service client that fetches tokens (client_credentials is cheap:
/// no argon2, so polling for the new key costs little).
const SERVICE: &str = "svc";
/// Long enough to outlive the whole story: a refusal below is the key's
/// retirement, never the token's expiry.
const ACCESS_TTL: Duration = Duration::from_secs(300);
/// Generous bound for each condition polled below (each takes seconds).
const PATIENCE: Duration = Duration::from_secs(30);

/// Both servers and the service client's credentials.
struct Rotation {
    http: Client,
    api: ResourceServer,
    auth: AuthServer,
    secret: String,
}

impl Rotation {
    /// A fresh access token from `POST /oauth/token` (client_credentials).
    fn issue(&self) -> String {
        let response = self
            .http
            .post(self.auth.token_url())
            .basic_auth(SERVICE, Some(&self.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .expect("token endpoint answers");
        assert_eq!(response.status(), 200, "client_credentials grant");
        let body: Value = response.json().expect("token response is JSON");
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// `GET /api/me` at the resource server with `token`.
    fn me(&self, token: &str) -> Response {
        self.http
            .get(self.api.endpoint("/api/me"))
            .bearer_auth(token)
            .send()
            .expect("resource server answers")
    }

    /// Asserts the resource server accepts `token`.
    fn assert_verifies(&self, token: &str, what: &str) {
        let response = self.me(token);
        assert_eq!(
            response.status(),
            200,
            "{what} verifies at the resource server"
        );
    }

    /// The kids the auth server's JWKS publishes now.
    fn published(&self) -> Vec<String> {
        let jwks: Value = self
            .http
            .get(self.auth.jwks_url())
            .send()
            .and_then(Response::json)
            .expect("JWKS answers JSON");
        jwks["keys"]
            .as_array()
            .expect("JWKS has keys")
            .iter()
            .filter_map(|key| key["kid"].as_str().map(str::to_owned))
            .collect()
    }

    /// The state `keys list` shows for `kid`.
    fn state(&self, kid: &str) -> String {
        let listing = self.auth.cli(&["keys", "list"]).expect("keys list");
        listing
            .stdout
            .lines()
            .find(|line| line.starts_with(kid))
            .and_then(|line| line.split_whitespace().last())
            .unwrap_or_else(|| panic!("keys list shows {kid}:\n{}", listing.stdout))
            .to_owned()
    }

    /// The old key's token is accepted, unless the old key has retired by
    /// now. (Asked in that order: a refusal seen before the retirement
    /// would fail here.)
    fn assert_verifies_until_retired(&self, token: &str, kid: &str) {
        let status = self.me(token).status();
        if status != 200 {
            assert_eq!(
                self.state(kid),
                "retired",
                "the old key's token was refused ({status}) before the key retired"
            );
        }
    }
}

fn kid(token: &str) -> String {
    let header = jwt::header(token).expect("a JWT header");
    header["kid"].as_str().expect("a kid").to_owned()
}

fn tokens_of_both_keys_verify_through_a_rotation_until_the_old_key_retires(database: Database) {
    // Given an auth server that reloads its keys every second, a service
    // client, and a resource server that refreshes its JWKS every second
    let auth = AuthServer::builder()
        .database(database)
        .access_ttl(ACCESS_TTL)
        .arg("--key-refresh-interval")
        .arg("1s")
        .start()
        .expect("auth-server starts");
    let secret = auth
        .add_confidential_client(
            SERVICE,
            &["client_credentials"],
            "notes:read",
            DEFAULT_AUDIENCE,
        )
        .expect("clients add svc");
    let api = ResourceServer::builder(&auth)
        .arg("--jwks-refresh")
        .arg("1s")
        .jwks_cooldown(Duration::from_secs(1))
        .start()
        .expect("resource-server starts");
    let stack = Rotation {
        http: http_client(),
        api,
        auth,
        secret,
    };
    let old_token = stack.issue();
    let old_kid = kid(&old_token);
    stack.assert_verifies(&old_token, "a token of the first key");

    // When the operator rotates: publish now, sign from 2 s on, retire the
    // old key 3 s after that (far sooner than its tokens expire)
    let rotated = stack
        .auth
        .cli(&[
            "keys",
            "rotate",
            "--activation-delay",
            "2s",
            "--retire-after",
            "3s",
        ])
        .expect("keys rotate");
    let new_kid = rotated
        .stdout
        .lines()
        .find_map(|line| line.split_once("signing key: ").map(|(_, kid)| kid.trim()))
        .unwrap_or_else(|| panic!("keys rotate names the new key:\n{}", rotated.stdout))
        .to_owned();
    assert_ne!(new_kid, old_kid);
    // And it is warned that this strands the old key's last tokens
    assert!(
        rotated
            .stdout
            .contains("warning: --retire-after 3s is shorter"),
        "keys rotate warns about the early retirement:\n{}",
        rotated.stdout
    );

    // Then the new key is published before it signs anything
    poll_until(PATIENCE, "the new key in the JWKS", || {
        let published = stack.published();
        assert!(published.contains(&old_kid), "the old key stays published");
        published.contains(&new_kid).then_some(())
    });
    // and new tokens carry it once it activates, each verifying at once,
    // while the old key's token keeps verifying
    let new_token = poll_until(PATIENCE, "a token signed with the new key", || {
        let token = stack.issue();
        stack.assert_verifies(&token, "a freshly issued token");
        stack.assert_verifies_until_retired(&old_token, &old_kid);
        let signer = kid(&token);
        assert!(
            signer == old_kid || signer == new_kid,
            "signed by a key of the rotation"
        );
        (signer == new_kid).then_some(token)
    });
    assert_eq!(kid(&stack.issue()), new_kid, "the new key keeps signing");

    // When the old key's retirement comes
    poll_until(PATIENCE, "keys list shows the old key retired", || {
        stack.assert_verifies(&new_token, "a token of the new key");
        stack.assert_verifies_until_retired(&old_token, &old_kid);
        (stack.state(&old_kid) == "retired").then_some(())
    });
    assert_eq!(stack.state(&new_kid), "active");
    poll_until(PATIENCE, "the old key gone from the JWKS", || {
        (!stack.published().contains(&old_kid)).then_some(())
    });

    // Then the resource server, at its next JWKS refresh and still without
    // a restart, refuses the old key's unexpired token as signed by an
    // unknown key, and keeps accepting the new key's
    let refusal = poll_until(PATIENCE, "the old key's token refused", || {
        stack.assert_verifies(&new_token, "a token of the new key");
        let response = stack.me(&old_token);
        (response.status() != 200).then_some(response)
    });
    assert_eq!(refusal.status(), 401);
    let refusal = challenge(&refusal);
    assert_eq!(refusal.error(), Some("invalid_token"));
    assert_eq!(
        refusal.param("error_description"),
        Some("the access token was signed by an unknown key"),
        "refused for its retired key, not for its expiry"
    );
    stack.assert_verifies(&stack.issue(), "a fresh token");
}
