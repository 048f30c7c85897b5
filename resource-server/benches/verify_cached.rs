//! What a protected request pays to check its token in the resource server:
//! `JwksCache::verify_token` on a token seen before (a verified-token cache
//! hit) and on a token never seen before (a full Ed25519 verification, plus
//! the cache insert), and the hit path's parts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use resource_server::jwks::{CacheSettings, JwksCache, TokenDigest};
use shared_claims::{Jwk, JwkSet, VerifierConfig};

const ISSUER: &str = "https://auth.bench";
const AUDIENCE: &str = "resource-server";

struct Minter {
    encoding: EncodingKey,
    jwks: JwkSet,
    n: u64,
}

impl Minter {
    fn new() -> Self {
        let signing = SigningKey::from_bytes(&[3; 32]);
        let der = signing.to_pkcs8_der().expect("pkcs8");
        let jwk = Jwk::ed25519(
            "k1".to_owned(),
            URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()),
        );
        Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwks: JwkSet { keys: vec![jwk] },
            n: 0,
        }
    }

    /// A token shaped like the auth server's, distinct by `jti`.
    fn token(&mut self) -> String {
        self.n += 1;
        let now = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock")
                .as_secs(),
        )
        .expect("now");
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some("k1".into());
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "6f1c2a9e-8d7b-4a51-9c3e-2b0f4d6a8e71", "aud": AUDIENCE,
            "exp": now + 900, "iat": now, "nbf": now,
            "jti": format!("bench-{}", self.n), "client_id": "notes-app",
            "scope": "notes:read notes:write",
        });
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("sign")
    }
}

fn cache(minter: &Minter, capacity: usize) -> JwksCache {
    let settings = CacheSettings {
        verified_capacity: capacity,
        ..CacheSettings::new(VerifierConfig::new(ISSUER, AUDIENCE))
    };
    JwksCache::fixed(settings, &minter.jwks).expect("keys")
}

fn verify_cached(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut minter = Minter::new();
    let mut group = c.benchmark_group("resource_verify");

    let hit_cache = cache(&minter, 10_000);
    let token = minter.token();
    rt.block_on(hit_cache.verify_token(&token)).expect("valid");
    group.bench_function("cache_hit", |b| {
        b.iter(|| {
            rt.block_on(hit_cache.verify_token(black_box(&token)))
                .expect("valid")
        });
    });

    let miss_cache = cache(&minter, 10_000);
    group.bench_function("cache_miss_distinct_token", |b| {
        b.iter_batched(
            || minter.token(),
            |token| rt.block_on(miss_cache.verify_token(&token)).expect("valid"),
            BatchSize::SmallInput,
        );
    });

    let no_cache = cache(&minter, 0);
    group.bench_function("no_cache", |b| {
        b.iter(|| {
            rt.block_on(no_cache.verify_token(black_box(&token)))
                .expect("valid")
        });
    });

    group.bench_function("sha256_of_token", |b| {
        b.iter(|| TokenDigest::of(black_box(&token)));
    });
    group.finish();
}

criterion_group!(benches, verify_cached);
criterion_main!(benches);
