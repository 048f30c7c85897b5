//! Every way a token can be wrong, each with the exact answer it must get
//! from the resource server (RFC 6750 §3). Each story runs on SQLite, and on
//! PostgreSQL when `TEST_DATABASE_URL` is set.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{CLIENT, PASSWORD, Stack, challenge, http_client, on_both_backends, poll_until};
use e2e_tests::fixture::{AuthServer, Database};
use e2e_tests::jwt::{self, Parts};
use ed25519_dalek::{Signer, SigningKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::blocking::Response;
use serde_json::{Value, json};
use shared_claims::JwkSet;

on_both_backends!(
    every_forged_or_misused_token_is_refused_as_invalid_token,
    a_request_without_a_token_is_asked_to_authenticate_without_an_error_code,
    a_token_without_the_needed_scope_is_forbidden_and_told_which_scope,
);

/// A token, what is wrong with it, and the words of which at least one
/// must appear in the `error_description` (RFC 6750 §3: it says what was
/// wrong), so each row is refused for its own reason and not another's.
struct Forgery {
    what: &'static str,
    token: String,
    because: &'static [&'static str],
}

fn every_forged_or_misused_token_is_refused_as_invalid_token(database: Database) {
    // Given alice, and a genuine access token the API accepts
    let stack = Stack::start(AuthServer::builder().database(database));
    let genuine = access_token(&stack.login("alice", CLIENT));
    assert_eq!(stack.me(&genuine).status(), 200, "the genuine token works");
    let parts = Parts::split(&genuine).expect("a compact JWT");
    let header = parts.header_json().expect("header");
    let claims = parts.claims_json().expect("claims");
    let kid = header["kid"].as_str().expect("kid").to_owned();
    let published_key = published_ed25519_key(&stack, &kid);
    // And tokens the auth server really issued, but for the wrong use
    let other_audience = token_for_other_audience(&stack);
    let expired = expired_token(&stack);

    let forgeries = [
        Forgery {
            what: "genuine token with one signature byte flipped",
            because: &["signature"],
            token: flip_signature_byte(&parts),
        },
        Forgery {
            what: "claims edited (sub), genuine signature kept",
            because: &["signature"],
            token: {
                let mut edited = claims.clone();
                edited["sub"] = json!("someone-else");
                format!(
                    "{}.{}.{}",
                    parts.header,
                    jwt::encode_json(&edited),
                    parts.signature
                )
            },
        },
        Forgery {
            what: "alg none, no signature",
            because: &["algorithm", "unsigned"],
            token: {
                let none = json!({"alg": "none", "typ": "at+jwt", "kid": kid});
                format!("{}.{}.", jwt::encode_json(&none), parts.claims)
            },
        },
        Forgery {
            what: "HS256 keyed with the published public key",
            because: &["algorithm"],
            token: hs256_with_key(&claims, &kid, &published_key),
        },
        Forgery {
            what: "an attacker's Ed25519 key under the genuine kid",
            because: &["signature"],
            token: eddsa(
                &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid}),
                &claims,
            ),
        },
        Forgery {
            what: "an attacker's key embedded as a jwk header",
            because: &["unknown key", "signature"],
            token: eddsa(
                &json!({
                    "alg": "EdDSA", "typ": "at+jwt", "kid": "attacker",
                    "jwk": {"kty": "OKP", "crv": "Ed25519", "kid": "attacker",
                            "x": jwt::encode(attacker_key().verifying_key().as_bytes())},
                }),
                &claims,
            ),
        },
        Forgery {
            what: "a jku and an x5u pointing at the attacker, with the genuine kid",
            because: &["signature"],
            token: eddsa(
                &json!({
                    "alg": "EdDSA", "typ": "at+jwt", "kid": kid,
                    "jku": "http://127.0.0.1:9/jwks.json",
                    "x5u": "http://127.0.0.1:9/cert.pem",
                }),
                &claims,
            ),
        },
        Forgery {
            what: "a kid injecting a path",
            because: &["unknown key"],
            token: eddsa(
                &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "../../../../etc/passwd"}),
                &claims,
            ),
        },
        Forgery {
            what: "a kid injecting SQL",
            because: &["unknown key"],
            token: eddsa(
                &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": format!("{kid}' OR '1'='1")}),
                &claims,
            ),
        },
        Forgery {
            what: "issued for another audience (other-api)",
            because: &["audience", "not meant for"],
            token: other_audience,
        },
        Forgery {
            what: "expired",
            because: &["expired"],
            token: expired,
        },
        Forgery {
            what: "not a JWT at all",
            because: &["malformed"],
            token: "not-a-jwt".to_owned(),
        },
    ];

    for forgery in forgeries {
        // When the forged token is presented
        let response = stack.me(&forgery.token);

        // Then it is refused with 401 invalid_token, in header and body alike
        assert_eq!(response.status(), 401, "{}", forgery.what);
        let refusal = challenge(&response);
        assert_eq!(refusal.scheme, "Bearer", "{}", forgery.what);
        assert_eq!(refusal.error(), Some("invalid_token"), "{}", forgery.what);
        let body: Value = response.json().expect("JSON error body");
        assert_eq!(body["error"], "invalid_token", "{}: {body}", forgery.what);
        // And the description names the reason
        let description = body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        assert!(
            forgery
                .because
                .iter()
                .any(|word| description.contains(word)),
            "{}: the description should mention one of {:?}: {body}",
            forgery.what,
            forgery.because
        );
    }
}

fn a_request_without_a_token_is_asked_to_authenticate_without_an_error_code(database: Database) {
    // Given the API
    let stack = Stack::start(AuthServer::builder().database(database));

    // When a request carries no token at all
    let response = stack
        .http
        .get(stack.api.endpoint("/api/me"))
        .send()
        .expect("resource server answers");

    // Then it gets a bare Bearer challenge: no error, as RFC 6750 §3.1 says
    assert_eq!(response.status(), 401);
    let refusal = challenge(&response);
    assert_eq!(refusal.scheme, "Bearer");
    assert!(refusal.param("realm").is_some(), "challenge has a realm");
    assert_eq!(refusal.error(), None);
}

fn a_token_without_the_needed_scope_is_forbidden_and_told_which_scope(database: Database) {
    // Given a client that may only read notes, and alice's token from it
    let stack = Stack::start(AuthServer::builder().database(database));
    stack
        .auth
        .add_client("reader-app", &["password"], "notes:read", "resource-server")
        .expect("clients add reader-app");
    let reader = access_token(&stack.login("alice", "reader-app"));

    // When it tries to write a note
    let response = write_note(&stack, &reader);

    // Then it is forbidden, with the scope it lacks
    assert_eq!(response.status(), 403);
    let refusal = challenge(&response);
    assert_eq!(refusal.error(), Some("insufficient_scope"));
    assert!(
        refusal
            .param("scope")
            .is_some_and(|scope| scope.split(' ').any(|s| s == "notes:write")),
        "challenge names notes:write: {refusal:?}"
    );
    // While reading, which its scope covers, works
    let read = stack
        .http
        .get(stack.api.endpoint("/api/notes"))
        .bearer_auth(&reader)
        .send()
        .expect("GET /api/notes answers");
    assert_eq!(read.status(), 200);
}

fn access_token(token_response: &Value) -> String {
    token_response["access_token"]
        .as_str()
        .expect("access_token in the token response")
        .to_owned()
}

fn write_note(stack: &Stack, token: &str) -> Response {
    stack
        .http
        .post(stack.api.endpoint("/api/notes"))
        .bearer_auth(token)
        .json(&json!({"text": "should not be stored"}))
        .send()
        .expect("POST /api/notes answers")
}

/// The raw Ed25519 public key the auth server publishes under `kid`.
fn published_ed25519_key(stack: &Stack, kid: &str) -> Vec<u8> {
    let jwks: JwkSet = stack
        .http
        .get(stack.auth.jwks_url())
        .send()
        .expect("JWKS answers")
        .json()
        .expect("JWKS is a JWK set");
    let jwk = jwks
        .keys
        .iter()
        .find(|key| key.kid.as_deref() == Some(kid))
        .unwrap_or_else(|| panic!("kid {kid} is published: {jwks:?}"));
    let x = jwk.x.as_deref().expect("an OKP key has x");
    jwt::decode(x).expect("x is base64url")
}

fn flip_signature_byte(parts: &Parts<'_>) -> String {
    let mut signature = parts.signature_bytes().expect("signature");
    signature[0] ^= 0x01;
    format!(
        "{}.{}.{}",
        parts.header,
        parts.claims,
        jwt::encode(&signature)
    )
}

/// The classic algorithm confusion: a verifier that took `alg` from the
/// token would check this HMAC with the public key as its secret.
fn hs256_with_key(claims: &Value, kid: &str, key: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_secret(key).expect("HMAC key");
    jsonwebtoken::encode(&header, claims, &key).expect("HS256 token")
}

/// A key the auth server never saw.
fn attacker_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn eddsa(header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", jwt::encode_json(header), jwt::encode_json(claims));
    let signature = attacker_key().sign(input.as_bytes());
    format!("{input}.{}", jwt::encode(&signature.to_bytes()))
}

/// A genuine token whose `aud` is another API.
fn token_for_other_audience(stack: &Stack) -> String {
    stack
        .auth
        .add_client("other-app", &["password"], "notes:read", "other-api")
        .expect("clients add other-app");
    let token = access_token(&stack.login("alice", "other-app"));
    let claims = jwt::claims(&token).expect("claims");
    assert_eq!(claims["aud"], "other-api", "precondition: {claims}");
    token
}

/// A genuine token that has expired. A second auth-server instance over the
/// same database signs with the same key and issuer, with a 1-second TTL,
/// so the first instance's tokens stay long-lived for the other rows.
fn expired_token(stack: &Stack) -> String {
    let short_lived = AuthServer::builder()
        .database(stack.auth.database().clone())
        .issuer(stack.auth.issuer())
        .access_ttl(Duration::from_secs(1))
        .start()
        .expect("a second auth-server instance starts");
    let response = http_client()
        .post(short_lived.token_url())
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("client_id", CLIENT),
        ])
        .send()
        .expect("token endpoint answers");
    assert_eq!(response.status(), 200, "login on the second instance");
    let token = access_token(&response.json().expect("JSON"));
    let exp = jwt::claims(&token).expect("claims")["exp"]
        .as_u64()
        .expect("exp");
    assert_eq!(
        jwt::header(&token).expect("header")["kid"],
        jwt::header(&access_token(&stack.login("alice", CLIENT))).expect("header")["kid"],
        "precondition: both instances sign with the key in the database"
    );
    poll_until(Duration::from_secs(10), "the token's exp passes", || {
        (unix_now() > exp).then_some(())
    });
    token
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
