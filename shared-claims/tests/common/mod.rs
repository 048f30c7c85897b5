//! Test keys and token builders shared by the integration tests.
//!
//! Every key here is a throwaway generated for these tests; none is used
//! anywhere else.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signer, SigningKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use shared_claims::{Jwk, JwkSet, TrustedKeys, Verifier, VerifierConfig};

pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "resource-server";
/// The clock every test verifies at.
pub const NOW: i64 = 1_700_000_000;
pub const EXP: i64 = NOW + 900;

pub const ED_KID: &str = "ed-1";
pub const EC_KID: &str = "ec-1";
pub const RSA_KID: &str = "rsa-1";

/// P-256 key (PKCS#8 DER) and its public point.
const EC_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNLYDVCC8TTEE9PFOCdmLyVYs7FzOuPICyM4m1YSyJjihRANCAATDEIuLwnJHYZSwIm3udNEv8CgJ+wywWav/M48hIJ1C6EKKSah4kxMhNmj1mObToSH8otgdnimX8mmuZTMIdmoP";
const EC_X: &str = "wxCLi8JyR2GUsCJt7nTRL_AoCfsMsFmr_zOPISCdQug";
const EC_Y: &str = "QopJqHiTEyE2aPWY5tOhIfyi2B2eKZfyaa5lMwh2ag8";

/// RSA-2048 key (PKCS#1 DER) and its public modulus and exponent.
const RSA_PKCS1: &str = "MIIEogIBAAKCAQEAiNJR5o5fn9gRMyaZa5+q+A4Au70DWXBMAb7oPCS6WQyn0FuFpYk7UBMTwm268EeIg2zrSsEP9qlYc+sd8/ZEfX/yiDWMrpg0Gf9XE0vEj8iYj9UK92xipBtdmiXO6SVBcABiJPyinrIQU10Y0w424qHaT8N8EZj0ynyr4Z2jXUlxG8wz7lUtlqYcCeNoQqWE+h7Xs28HgBgI8voAq6zgf3kr3UJ+6eOOeIsMuK4NdHahHNDxwv7DbR/yBHlQo3hgkoczrYF8AYmQ0XdxdUItYATOczQcHAzq3BBLWVxvBqeAqvVIjz1IBk4YGICZzMxvLKXHK3D9WyTf7/dllw6qhQIDAQABAoIBABreHjolrC6B6gK+6jLBtHuomElFmTJHhI11NTqWRce13gBi8JAsriqPzHoKPULw8SRJz7yqw90+rQF6YrPlINb6OKC5z0n71oNianF+F/faPudDwTcMICS0wQFDuml7KOn7EUrNF4wNUHpmVjkf2fRQL0QpkaQNAsj+iWwxHgLz3xLDmapBrzjKJf9a4+BBJZhA7nqPqUyWfbmArMR9O5im2CbH+Y9NLW72nig9zL7E1bgo7pfVJnjGxdmRWE+DNlKyx2i5XpFevPrvVWBxbLtLQEOGXTwbirnscA9g0DCz/eG8BLPsuqpItVcFOwuVRXxgOMygzU4RcHOSjZO8A1MCgYEAu6Md/PpLiHl8fO/f+nNm579yKawvOziT7t7a6Nkn+5QztVsz1lOKHoQK2xYPg3deJSb2xMd6p5IodhLN9vfx/sLeNdIENBz1z5SsAjraxwKzIyKvj4cAF8DPdCNrLbn42lLkXUNZ6re+3ArW55kcq7X2Zme9lr4xKD4I3zwm+hMCgYEAuquj7pG0YN1w8ELIxda0IQ4vgTtQT6Qgmxki4IoK6jFVBbpW0eXA5BJgpI3XzGMCu4kHtBVpG/xwqeXPUUIvudM4AML0/rcl0JSpSyscZMTRQVq1uhh9qk8E2MQVSb5NOiCHlgfRsEvG8xhNvnqdeLJWRzxu53I4GxhYd3NFXAcCgYAJAGJH6JoHCgz20WslULP3GjAX37LEXIp8QyStVv2cDBgO8zkhZxCRNjRvHjfQTsGtdpkQB6HSuChIwc4vsuVhG2gdnN2mwlzogHFgCgLE2VROszNI52kRuqY5JBnYL7vIfYGHF9wQbpAxbjOxGJ9PfYM8lm159dXV4GP8kZ4tEQKBgGC80HCzC6JjP8MTKQ71zFWRD2dOgLk1GjymUx/AChYByMj2H0YZZdQL/g9o/puJ+AGN6vMVYWpCcXRqhvzaavdHEa+7WNGjwjIMyIsO5WEHalYPFzxAsucOmjlnrIyR1V25O+qxVKajLpAOWUPMMU06RmIWXHcPByprfHUyxJADAoGAMYBKbAv09h0MMfUdqT0w+TZpVf3ZMXQ2vWFbqu3guzVI3i25xzNZ5vBXbTOINOqtXYHSFN39RWn6bC8GwaTc+1cGvDoiITa5pYam0hfIjBlHi1qQTKGghyip4Y3dOa7Q0Yv9qsIKZsBeeRw6S/hm8LlEIetJ1gDrKJ/aSqv+Rbw=";
const RSA_N: &str = "iNJR5o5fn9gRMyaZa5-q-A4Au70DWXBMAb7oPCS6WQyn0FuFpYk7UBMTwm268EeIg2zrSsEP9qlYc-sd8_ZEfX_yiDWMrpg0Gf9XE0vEj8iYj9UK92xipBtdmiXO6SVBcABiJPyinrIQU10Y0w424qHaT8N8EZj0ynyr4Z2jXUlxG8wz7lUtlqYcCeNoQqWE-h7Xs28HgBgI8voAq6zgf3kr3UJ-6eOOeIsMuK4NdHahHNDxwv7DbR_yBHlQo3hgkoczrYF8AYmQ0XdxdUItYATOczQcHAzq3BBLWVxvBqeAqvVIjz1IBk4YGICZzMxvLKXHK3D9WyTf7_dllw6qhQ";
const RSA_E: &str = "AQAB";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The trusted Ed25519 signing key.
pub fn ed_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A key nobody trusts.
pub fn attacker_key() -> SigningKey {
    SigningKey::from_bytes(&[66; 32])
}

pub fn ed_jwk(kid: &str, key: &SigningKey) -> Jwk {
    Jwk::ed25519(kid, b64(key.verifying_key().as_bytes()))
}

pub fn ec_jwk() -> Jwk {
    Jwk::p256(EC_KID, EC_X, EC_Y)
}

pub fn rsa_jwk() -> Jwk {
    Jwk::rsa(RSA_KID, RSA_N, RSA_E)
}

/// The JWKS the auth server would publish: one key of each algorithm.
pub fn jwks() -> JwkSet {
    JwkSet {
        keys: vec![ed_jwk(ED_KID, &ed_key()), ec_jwk(), rsa_jwk()],
    }
}

pub fn config() -> VerifierConfig {
    VerifierConfig::new(ISSUER, AUDIENCE)
}

pub fn verifier_with(config: VerifierConfig) -> Verifier {
    let (keys, rejected) = TrustedKeys::from_jwks(&jwks(), &config.algorithms);
    assert_eq!(rejected, vec![]);
    Verifier::new(config, keys)
}

pub fn verifier() -> Verifier {
    verifier_with(config())
}

/// Claims of a token valid at [`NOW`].
pub fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "alice",
        "aud": AUDIENCE,
        "exp": EXP,
        "iat": NOW,
        "nbf": NOW,
        "jti": "6f1c2a52-6c1e-4a55-9d1f-3f0e4a8b2c11",
        "client_id": "demo-client",
        "scope": "notes:read profile",
    })
}

/// [`claims`] with `changes` merged in; a `null` change removes the claim.
pub fn claims_with(changes: Value) -> Value {
    merge(claims(), changes)
}

/// A header the auth server would write.
pub fn header() -> Value {
    json!({"alg": "EdDSA", "typ": "at+jwt", "kid": ED_KID})
}

/// [`header`] with `changes` merged in; a `null` change removes the member.
pub fn header_with(changes: Value) -> Value {
    merge(header(), changes)
}

fn merge(mut base: Value, changes: Value) -> Value {
    if let (Some(base), Value::Object(changes)) = (base.as_object_mut(), changes) {
        for (name, value) in changes {
            if value.is_null() {
                base.remove(&name);
            } else {
                base.insert(name, value);
            }
        }
    }
    base
}

/// A compact JWS over exactly these header and payload bytes, signed by `key`
/// with Ed25519 whatever the header says.
pub fn sign_bytes(header: &[u8], payload: &[u8], key: &SigningKey) -> String {
    let signing_input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(signature.to_bytes()))
}

/// A compact JWS of these JSON values, signed by the trusted Ed25519 key.
pub fn sign(header: &Value, claims: &Value) -> String {
    sign_with(header, claims, &ed_key())
}

pub fn sign_with(header: &Value, claims: &Value, key: &SigningKey) -> String {
    sign_bytes(
        &serde_json::to_vec(header).unwrap(),
        &serde_json::to_vec(claims).unwrap(),
        key,
    )
}

/// A valid token, as the auth server mints it (through jsonwebtoken).
pub fn valid_token() -> String {
    encode(Algorithm::EdDSA, ED_KID, &ed_encoding_key(), &claims())
}

pub fn encode(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let header = Header {
        typ: Some("at+jwt".to_owned()),
        kid: Some(kid.to_owned()),
        ..Header::new(alg)
    };
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// The Ed25519 key as PKCS#8 v1 DER, which is a fixed prefix and the seed
/// (RFC 8410 §7).
pub fn ed_encoding_key() -> EncodingKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(ed_key().as_bytes());
    EncodingKey::from_ed_der(&der)
}

pub fn ec_encoding_key() -> EncodingKey {
    EncodingKey::from_ec_der(&STANDARD.decode(EC_PKCS8).unwrap())
}

pub fn rsa_encoding_key() -> EncodingKey {
    EncodingKey::from_rsa_der(&STANDARD.decode(RSA_PKCS1).unwrap())
}
