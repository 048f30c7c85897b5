//! The verifier, told as a table: one row per way an access token can be
//! wrong, each with the exact error it must produce.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::time::Duration;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;
use shared_claims::{AccessClaims, Audience, Scope, Verifier, VerifyError};

/// The token with one byte of its decoded signature flipped.
fn flip_signature_byte(token: &str) -> String {
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let mut bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    bytes[10] ^= 0x01;
    format!("{signing_input}.{}", b64(bytes))
}

/// The token with the last character of segment `index` replaced by one
/// that decodes to the same bytes but sets the unused trailing bits: a
/// non-canonical base64url encoding of the same value.
fn non_canonical(token: &str, index: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let segment = &mut parts[index];
    // 4 characters carry 3 bytes; a length of 4n+2 leaves 4 unused bits in
    // the last character, 4n+3 leaves 2.
    let unused_bits = match segment.len() % 4 {
        2 => 4,
        3 => 2,
        _ => panic!("segment {index} has no trailing bits to spoil"),
    };
    let last = segment.pop().unwrap();
    let value = ALPHABET.iter().position(|&c| c == last as u8).unwrap();
    let spoiled = value | ((1 << unused_bits) - 1);
    assert_ne!(value, spoiled, "the canonical character had them clear");
    segment.push(ALPHABET[spoiled] as char);
    parts.join(".")
}

/// Replaces the payload segment but keeps the original signature.
fn swap_payload(token: &str, claims: &serde_json::Value) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    let payload = b64(serde_json::to_vec(claims).unwrap());
    parts[1] = &payload;
    parts.join(".")
}

fn table() -> Vec<(&'static str, String, VerifyError)> {
    use VerifyError::*;
    let valid = valid_token();
    let (h, c) = (header(), claims());
    let claims_bytes = serde_json::to_vec(&c).unwrap();
    let header_bytes = serde_json::to_vec(&h).unwrap();
    let hs256 = encode(
        Algorithm::HS256,
        ED_KID,
        &EncodingKey::from_secret(ed_key().verifying_key().as_bytes()).expect("hmac key"),
        &c,
    );
    let attacker = attacker_key();
    let attacker_jwk = serde_json::to_value(ed_jwk(ED_KID, &attacker)).unwrap();
    let mut rows = vec![
        // Shape.
        ("empty string", String::new(), Malformed),
        ("one segment", "abc".to_owned(), Malformed),
        ("two segments", "abc.def".to_owned(), Malformed),
        ("four segments", format!("{valid}.abc"), Malformed),
        (
            "header not base64url",
            valid.replacen('e', "*", 1),
            Malformed,
        ),
        (
            "padded base64",
            format!(
                "{}=.{}",
                b64(&header_bytes),
                valid.split_once('.').unwrap().1
            ),
            Malformed,
        ),
        ("signature not base64url", format!("{valid}*"), Malformed),
        (
            "signature in non-canonical base64url (trailing bits set)",
            non_canonical(&valid, 2),
            Malformed,
        ),
        (
            "header not JSON",
            sign_bytes(b"{not json", &claims_bytes, &ed_key()),
            Malformed,
        ),
        (
            "header not an object",
            sign_bytes(b"[1]", &claims_bytes, &ed_key()),
            Malformed,
        ),
        (
            "header without alg",
            sign(&header_with(json!({"alg": null})), &c),
            Malformed,
        ),
        (
            "alg not a string",
            sign(&header_with(json!({"alg": 1})), &c),
            Malformed,
        ),
        (
            "kid not a string",
            sign(&header_with(json!({"kid": 7})), &c),
            Malformed,
        ),
        (
            "duplicate alg member",
            sign_bytes(
                br#"{"alg":"EdDSA","alg":"none","typ":"at+jwt","kid":"ed-1"}"#,
                &claims_bytes,
                &ed_key(),
            ),
            Malformed,
        ),
        (
            "crit header",
            sign(&header_with(json!({"crit": ["exp"], "exp": 1})), &c),
            Malformed,
        ),
        (
            "payload not JSON",
            sign_bytes(&header_bytes, b"{nope", &ed_key()),
            Malformed,
        ),
        (
            "payload not an object",
            sign_bytes(&header_bytes, b"\"claims\"", &ed_key()),
            Malformed,
        ),
        // Size.
        (
            "larger than 8 KiB",
            sign(&h, &claims_with(json!({"pad": "x".repeat(8 * 1024)}))),
            TooLarge,
        ),
        // Key selection: the kid must name a trusted key.
        (
            "unknown kid",
            sign(&header_with(json!({"kid": "nope"})), &c),
            UnknownKey {
                kid: Some("nope".to_owned()),
            },
        ),
        (
            "kid injecting a path",
            sign(&header_with(json!({"kid": "../../../../etc/passwd"})), &c),
            UnknownKey {
                kid: Some("../../../../etc/passwd".to_owned()),
            },
        ),
        (
            "kid injecting SQL",
            sign(&header_with(json!({"kid": "ed-1' OR '1'='1"})), &c),
            UnknownKey {
                kid: Some("ed-1' OR '1'='1".to_owned()),
            },
        ),
        (
            "kid of a trusted key plus a NUL byte",
            sign(&header_with(json!({"kid": format!("{ED_KID}\u{0}")})), &c),
            UnknownKey {
                kid: Some(format!("{ED_KID}\u{0}")),
            },
        ),
        (
            "kid of a trusted key in another case",
            sign(&header_with(json!({"kid": ED_KID.to_uppercase()})), &c),
            UnknownKey {
                kid: Some(ED_KID.to_uppercase()),
            },
        ),
        (
            "missing kid",
            sign(&header_with(json!({"kid": null})), &c),
            UnknownKey { kid: None },
        ),
        // Algorithm: the key decides, not the header.
        (
            "alg none, no signature",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"at+jwt","kid":"ed-1"}"#),
                b64(&claims_bytes)
            ),
            AlgorithmNotAllowed,
        ),
        (
            "alg none, signed",
            sign(&header_with(json!({"alg": "none"})), &c),
            AlgorithmNotAllowed,
        ),
        (
            "HS256 keyed with the Ed25519 public key",
            hs256,
            AlgorithmNotAllowed,
        ),
        (
            "RS256 header on the EdDSA key",
            sign(&header_with(json!({"alg": "RS256"})), &c),
            AlgorithmNotAllowed,
        ),
        (
            "EdDSA header naming the ES256 key",
            sign(&header_with(json!({"kid": EC_KID})), &c),
            AlgorithmNotAllowed,
        ),
        (
            "alg name in the wrong case",
            sign(&header_with(json!({"alg": "eddsa"})), &c),
            AlgorithmNotAllowed,
        ),
        // Signature.
        (
            "one signature byte flipped",
            flip_signature_byte(&valid),
            BadSignature,
        ),
        (
            "empty signature",
            format!("{}.", valid.rsplit_once('.').unwrap().0),
            BadSignature,
        ),
        (
            "payload changed after signing",
            swap_payload(&valid, &claims_with(json!({"sub": "admin"}))),
            BadSignature,
        ),
        (
            "signed by an untrusted key",
            sign_with(&h, &c, &attacker),
            BadSignature,
        ),
        (
            "forged, with the attacker's key embedded as jwk",
            sign_with(&header_with(json!({"jwk": attacker_jwk})), &c, &attacker),
            BadSignature,
        ),
        (
            "forged, with a jku pointing at the attacker's JWKS",
            sign_with(
                &header_with(json!({"jku": "https://evil.test/jwks.json"})),
                &c,
                &attacker,
            ),
            BadSignature,
        ),
        (
            "forged, with an x5u pointing at the attacker's certificate",
            sign_with(
                &header_with(json!({"x5u": "https://evil.test/cert.pem"})),
                &c,
                &attacker,
            ),
            BadSignature,
        ),
        (
            "forged, with an x5c chain embedded",
            sign_with(
                &header_with(json!({"x5c": ["MIIBszCCAVmgAwIBAgIU"]})),
                &c,
                &attacker,
            ),
            BadSignature,
        ),
        // Order: a forgery learns nothing about its header or claims.
        (
            "forged, with a wrong typ and expired",
            sign_with(
                &header_with(json!({"typ": "JWT"})),
                &claims_with(json!({"exp": 0})),
                &attacker,
            ),
            BadSignature,
        ),
        (
            "forged, with malformed claims",
            sign_bytes(&header_bytes, b"{nope", &attacker),
            BadSignature,
        ),
        // typ (RFC 9068 §2.1), only judged once the signature holds.
        (
            "typ missing",
            sign(&header_with(json!({"typ": null})), &c),
            WrongType,
        ),
        (
            "typ JWT",
            sign(&header_with(json!({"typ": "JWT"})), &c),
            WrongType,
        ),
        (
            "typ of an ID token",
            sign(&header_with(json!({"typ": "id_token+jwt"})), &c),
            WrongType,
        ),
        (
            "typ with a suffix",
            sign(&header_with(json!({"typ": "at+jwt2"})), &c),
            WrongType,
        ),
        (
            "typ not a string",
            sign(&header_with(json!({"typ": 1})), &c),
            Malformed,
        ),
        // Claim types.
        (
            "exp as a string",
            sign(&h, &claims_with(json!({"exp": EXP.to_string()}))),
            Malformed,
        ),
        (
            "exp as a float",
            sign(&h, &claims_with(json!({"exp": 1.7e9}))),
            Malformed,
        ),
        (
            "nbf as a string",
            sign(&h, &claims_with(json!({"nbf": NOW.to_string()}))),
            Malformed,
        ),
        (
            "iat as a string",
            sign(&h, &claims_with(json!({"iat": NOW.to_string()}))),
            Malformed,
        ),
        (
            "iss as a number",
            sign(&h, &claims_with(json!({"iss": 1}))),
            Malformed,
        ),
        (
            "iss as an array",
            sign(&h, &claims_with(json!({"iss": [ISSUER]}))),
            Malformed,
        ),
        (
            "aud as an object",
            sign(&h, &claims_with(json!({"aud": {"aud": "resource-server"}}))),
            Malformed,
        ),
        (
            "aud as a number",
            sign(&h, &claims_with(json!({"aud": 1}))),
            Malformed,
        ),
        (
            "aud as an empty array",
            sign(&h, &claims_with(json!({"aud": []}))),
            Malformed,
        ),
        (
            "scope with a quote",
            sign(&h, &claims_with(json!({"scope": "a\"b"}))),
            Malformed,
        ),
        (
            "sub as an object",
            sign(&h, &claims_with(json!({"sub": {}}))),
            Malformed,
        ),
        // Claim values.
        (
            "wrong issuer",
            sign(&h, &claims_with(json!({"iss": "https://evil.test"}))),
            WrongIssuer,
        ),
        (
            "issuer with a trailing slash",
            sign(&h, &claims_with(json!({"iss": format!("{ISSUER}/")}))),
            WrongIssuer,
        ),
        (
            "wrong audience",
            sign(&h, &claims_with(json!({"aud": "other-api"}))),
            WrongAudience,
        ),
        (
            "audience list without us",
            sign(&h, &claims_with(json!({"aud": ["a", "b"]}))),
            WrongAudience,
        ),
        (
            "expired",
            sign(&h, &claims_with(json!({"exp": NOW - 60}))),
            Expired,
        ),
        (
            "not yet valid",
            sign(&h, &claims_with(json!({"nbf": NOW + 60}))),
            NotYetValid,
        ),
        (
            "issued in the future",
            sign(&h, &claims_with(json!({"iat": NOW + 60}))),
            IssuedInFuture,
        ),
        (
            "expired and from the wrong issuer: issuer first",
            sign(&h, &claims_with(json!({"exp": NOW - 60, "iss": "x"}))),
            WrongIssuer,
        ),
    ];
    for claim in ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id"] {
        rows.push((
            "missing claim",
            sign(&h, &claims_with(json!({ claim: null }))),
            MissingClaim(claim),
        ));
    }
    rows
}

#[test]
fn every_bad_token_gets_its_exact_error() {
    let verifier = verifier();
    let mut failures = Vec::new();
    for (name, token, expected) in table() {
        let got = verifier.verify_at(&token, NOW);
        if got.as_ref().err() != Some(&expected) {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_valid_token_yields_its_claims() {
    let claims = verifier().verify_at(&valid_token(), NOW).expect("valid");
    assert_eq!(
        claims,
        AccessClaims {
            iss: ISSUER.to_owned(),
            sub: "alice".to_owned(),
            aud: Audience::single(AUDIENCE),
            exp: EXP,
            iat: NOW,
            nbf: NOW,
            jti: "6f1c2a52-6c1e-4a55-9d1f-3f0e4a8b2c11".to_owned(),
            client_id: "demo-client".to_owned(),
            scope: Scope::parse("notes:read profile").expect("scope"),
        }
    );
}

#[test]
fn es256_and_rs256_tokens_verify_with_their_keys() {
    let verifier = verifier();
    let es = encode(Algorithm::ES256, EC_KID, &ec_encoding_key(), &claims());
    let rs = encode(Algorithm::RS256, RSA_KID, &rsa_encoding_key(), &claims());
    assert_eq!(
        verifier.verify_at(&es, NOW).map(|c| c.sub),
        Ok("alice".to_owned())
    );
    assert_eq!(
        verifier.verify_at(&rs, NOW).map(|c| c.sub),
        Ok("alice".to_owned())
    );
    // Each key verifies only its own algorithm.
    let rs_as_ec = encode(Algorithm::RS256, EC_KID, &rsa_encoding_key(), &claims());
    assert_eq!(
        verifier.verify_at(&rs_as_ec, NOW),
        Err(VerifyError::AlgorithmNotAllowed)
    );
}

#[test]
fn key_url_and_embedded_key_headers_are_ignored() {
    let attacker_jwk = serde_json::to_value(ed_jwk("evil", &attacker_key())).expect("jwk");
    let header = header_with(json!({
        "jku": "https://evil.test/jwks.json",
        "x5u": "https://evil.test/cert.pem",
        "jwk": attacker_jwk,
        "x5c": ["MIIB"],
    }));
    // Signed by the trusted key: the extra headers change nothing.
    let token = sign(&header, &claims());
    assert_eq!(
        verifier().verify_at(&token, NOW).map(|c| c.sub),
        Ok("alice".to_owned())
    );
}

#[test]
fn typ_is_case_insensitive_and_may_carry_the_media_type_prefix() {
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+Jwt",
    ] {
        let token = sign(&header_with(json!({"typ": typ})), &claims());
        assert!(verifier().verify_at(&token, NOW).is_ok(), "{typ}");
    }
}

#[test]
fn an_audience_list_containing_us_is_accepted() {
    let token = sign(&header(), &claims_with(json!({"aud": ["other", AUDIENCE]})));
    assert!(verifier().verify_at(&token, NOW).is_ok());
}

#[test]
fn the_scope_claim_is_optional() {
    let token = sign(&header(), &claims_with(json!({"scope": null})));
    assert_eq!(
        verifier().verify_at(&token, NOW).map(|c| c.scope),
        Ok(Scope::empty())
    );
}

#[test]
fn unknown_claims_are_ignored() {
    let token = sign(
        &header(),
        &claims_with(json!({"auth_time": NOW, "acr": "1"})),
    );
    assert!(verifier().verify_at(&token, NOW).is_ok());
}

#[test]
fn the_size_limit_is_inclusive() {
    let token = valid_token();
    let at_limit = verifier_with(config().with_max_token_bytes(token.len()));
    let below = verifier_with(config().with_max_token_bytes(token.len() - 1));
    assert!(at_limit.verify_at(&token, NOW).is_ok());
    assert_eq!(below.verify_at(&token, NOW), Err(VerifyError::TooLarge));
}

/// `verifier` judging the valid token at `now`.
fn judge(verifier: &Verifier, now: i64) -> Result<(), VerifyError> {
    verifier.verify_at(&valid_token(), now).map(|_| ())
}

#[test]
fn exp_leeway_edges() {
    let five = verifier_with(config().with_leeway(Duration::from_secs(5)));
    assert_eq!(judge(&five, EXP + 4), Ok(()));
    assert_eq!(judge(&five, EXP + 5), Err(VerifyError::Expired));
    let none = verifier_with(config().with_leeway(Duration::ZERO));
    assert_eq!(judge(&none, EXP - 1), Ok(()));
    assert_eq!(judge(&none, EXP), Err(VerifyError::Expired));
}

#[test]
fn nbf_leeway_edges() {
    // The valid token has nbf = iat = NOW.
    let five = verifier_with(config().with_leeway(Duration::from_secs(5)));
    assert_eq!(judge(&five, NOW - 5), Ok(()));
    assert_eq!(judge(&five, NOW - 6), Err(VerifyError::NotYetValid));
    let none = verifier_with(config().with_leeway(Duration::ZERO));
    assert_eq!(judge(&none, NOW), Ok(()));
    assert_eq!(judge(&none, NOW - 1), Err(VerifyError::NotYetValid));
}

#[test]
fn iat_leeway_edges() {
    let token = sign(
        &header(),
        &claims_with(json!({"nbf": NOW - 100, "iat": NOW})),
    );
    let five = verifier_with(config().with_leeway(Duration::from_secs(5)));
    assert!(five.verify_at(&token, NOW - 5).is_ok());
    assert_eq!(
        five.verify_at(&token, NOW - 6),
        Err(VerifyError::IssuedInFuture)
    );
}

#[test]
fn absurd_times_do_not_overflow() {
    let forever = sign(&header(), &claims_with(json!({"exp": i64::MAX})));
    let huge_leeway = verifier_with(config().with_leeway(Duration::from_secs(u64::MAX)));
    assert!(huge_leeway.verify_at(&forever, NOW).is_ok());
    assert!(
        huge_leeway
            .verify_at(&valid_token(), EXP + 1_000_000_000)
            .is_ok()
    );
    let ancient = sign(&header(), &claims_with(json!({"exp": i64::MIN})));
    assert_eq!(
        verifier().verify_at(&ancient, NOW),
        Err(VerifyError::Expired)
    );
}

#[test]
fn the_system_clock_is_used_by_verify() {
    // Minted in 2023 and valid for 15 minutes: expired by any real clock.
    assert_eq!(verifier().verify(&valid_token()), Err(VerifyError::Expired));
}

#[test]
fn the_config_allowlist_applies_to_trusted_keys_too() {
    let verifier = verifier();
    let narrowed = Verifier::new(
        config().with_algorithms(vec![Algorithm::ES256]),
        verifier.keys().clone(),
    );
    assert_eq!(
        narrowed.verify_at(&valid_token(), NOW),
        Err(VerifyError::AlgorithmNotAllowed)
    );
}

#[test]
fn a_verifier_without_keys_knows_no_kid() {
    let verifier = Verifier::new(config(), Default::default());
    assert_eq!(
        verifier.verify_at(&valid_token(), NOW),
        Err(VerifyError::UnknownKey {
            kid: Some(ED_KID.to_owned())
        })
    );
}

#[test]
fn verifier_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<Verifier>();
}
