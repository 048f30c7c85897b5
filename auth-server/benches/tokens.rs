//! Signing and verifying access tokens, per algorithm, through the same code
//! the servers run: `auth_server::tokens::sign_access_token` with a key
//! loaded from the database, and `shared_claims::Verifier`.
//!
//! Also measured, to put numbers behind "parse the signing key once":
//! `sign_jsonwebtoken_encode` is the same token made the way the server
//! made it before (`jsonwebtoken::encode`, which parses the DER key on
//! every call), and `sign_raw_*` the bare Ed25519 signature with the key
//! parsed once or per signature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;

use auth_server::domain::SigningAlg;
use auth_server::keys;
use auth_server::tokens::{AccessGrant, sign_access_token};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{EncodingKey, Header};
use shared_claims::{AccessClaims, Audience, Scope, Verifier, VerifierConfig};

const ISSUER: &str = "https://auth.bench";
const AUDIENCE: &str = "resource-server";

fn grant() -> AccessGrant {
    AccessGrant {
        subject: "6f1c2a9e-8d7b-4a51-9c3e-2b0f4d6a8e71".into(),
        client_id: "notes-app".into(),
        audience: AUDIENCE.into(),
        scope: Scope::parse("notes:read notes:write").expect("scope"),
    }
}

fn sign_and_verify(c: &mut Criterion) {
    let now = auth_server::clock::now();
    for alg in SigningAlg::ALL {
        let db = common::sqlite();
        let mut conn = db.pool.get().expect("connection");
        keys::ensure_signing_key(&mut conn, now, alg).expect("key");
        let set = keys::load_key_set(&mut conn, now).expect("key set");
        let key = set.signing.clone();
        let row = auth_server::storage::signing_keys::all(&mut conn)
            .expect("rows")
            .into_iter()
            .find(|row| row.kid == key.kid())
            .expect("the signing key's row");

        let mut group = c.benchmark_group(format!("token/{}", alg.as_str()));
        group.bench_function("sign", |b| {
            b.iter(|| sign_access_token(&key, ISSUER, 900, grant(), black_box(now)).expect("sign"));
        });

        group.bench_function("sign_jsonwebtoken_encode", |b| {
            let encoding = match alg {
                SigningAlg::EdDSA => EncodingKey::from_ed_der(&row.private_key),
                SigningAlg::ES256 => EncodingKey::from_ec_der(&row.private_key),
                SigningAlg::RS256 => EncodingKey::from_rsa_der(&row.private_key),
            };
            b.iter(|| encode_with_jsonwebtoken(&encoding, alg, key.kid(), black_box(now)));
        });

        let token = sign_access_token(&key, ISSUER, 900, grant(), now).expect("sign");
        let verifier = Verifier::new(VerifierConfig::new(ISSUER, AUDIENCE), set.trusted.clone());
        verifier.verify(&token).expect("our own token verifies");
        group.bench_function("verify", |b| {
            b.iter(|| verifier.verify(black_box(&token)).expect("valid"));
        });
        group.finish();
    }
}

/// The access token as `sign_access_token` built it before it kept the
/// parsed key: the same header and claims through `jsonwebtoken::encode`.
fn encode_with_jsonwebtoken(
    encoding: &EncodingKey,
    alg: SigningAlg,
    kid: &str,
    now: i64,
) -> String {
    let grant = grant();
    let mut header = Header::new(alg.algorithm());
    header.typ = Some(shared_claims::ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(kid.to_owned());
    let claims = AccessClaims {
        iss: ISSUER.to_owned(),
        sub: grant.subject,
        aud: Audience::single(grant.audience),
        exp: now + 900,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: grant.client_id,
        scope: grant.scope,
    };
    jsonwebtoken::encode(&header, &claims, encoding).expect("encode")
}

/// The bare Ed25519 signature over a token-sized message with a key parsed
/// once, and the same key parsed from PKCS#8 per signature, as
/// `jsonwebtoken::encode` does.
fn ed25519_parse_cost(c: &mut Criterion) {
    use ed25519_dalek::Signer as _;
    use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};

    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let der = key.to_pkcs8_der().expect("pkcs8");
    let message = [b'x'; 330];
    let mut group = c.benchmark_group("token/EdDSA");
    group.bench_function("sign_raw_parsed_once", |b| {
        b.iter(|| key.sign(black_box(&message)));
    });
    group.bench_function("sign_raw_parse_per_token", |b| {
        b.iter(|| {
            ed25519_dalek::SigningKey::from_pkcs8_der(black_box(der.as_bytes()))
                .expect("der")
                .sign(&message)
        });
    });
    group.finish();
}

criterion_group!(benches, sign_and_verify, ed25519_parse_cost);
criterion_main!(benches);
