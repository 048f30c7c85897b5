//! Signing and verifying access tokens, per algorithm, through the same code
//! the servers run: `auth_server::tokens::sign_access_token` with a key
//! loaded from the database, and `shared_claims::Verifier`.
//!
//! Also measured, to put numbers behind "parse the signing key once":
//! `sign_raw` is the bare signature with a key parsed once, the floor the
//! full token signing could reach.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;

use auth_server::domain::SigningAlg;
use auth_server::keys;
use auth_server::tokens::{AccessGrant, sign_access_token};
use criterion::{Criterion, criterion_group, criterion_main};
use shared_claims::{Scope, Verifier, VerifierConfig};

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

        let mut group = c.benchmark_group(format!("token/{}", alg.as_str()));
        group.bench_function("sign", |b| {
            b.iter(|| sign_access_token(&key, ISSUER, 900, grant(), black_box(now)).expect("sign"));
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
