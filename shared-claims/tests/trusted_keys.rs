//! Which JWKS entries become trusted keys, and the RFC 8037 Ed25519 vector.

mod common;

use common::*;
use jsonwebtoken::{Algorithm, DecodingKey};
use shared_claims::{Jwk, JwkSet, KeyRejection, TrustedKeys};

const DEFAULT_ALGS: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

fn trust_one(jwk: Jwk) -> Result<TrustedKeys, KeyRejection> {
    let (keys, mut rejected) = TrustedKeys::from_jwks(&JwkSet { keys: vec![jwk] }, &DEFAULT_ALGS);
    match rejected.pop() {
        Some(rejection) => Err(rejection),
        None => Ok(keys),
    }
}

fn ed(kid: &str) -> Jwk {
    ed_jwk(kid, &ed_key())
}

#[test]
fn the_published_keys_are_all_trusted_each_for_its_algorithm() {
    let (keys, rejected) = TrustedKeys::from_jwks(&jwks(), &DEFAULT_ALGS);
    assert_eq!(rejected, vec![]);
    assert_eq!(keys.len(), 3);
    assert!(!keys.is_empty());
    let mut kids: Vec<_> = keys.kids().collect();
    kids.sort_unstable();
    assert_eq!(kids, [EC_KID, ED_KID, RSA_KID]);
    assert_eq!(keys.algorithm(ED_KID), Some(Algorithm::EdDSA));
    assert_eq!(keys.algorithm(EC_KID), Some(Algorithm::ES256));
    assert_eq!(keys.algorithm(RSA_KID), Some(Algorithm::RS256));
    assert!(keys.contains(ED_KID) && !keys.contains("nope"));
}

#[test]
fn keys_without_an_alg_member_get_the_algorithm_of_their_type() {
    let keys = trust_one(Jwk {
        alg: None,
        use_: None,
        ..ed("k")
    })
    .expect("trusted");
    assert_eq!(keys.algorithm("k"), Some(Algorithm::EdDSA));
}

#[test]
fn a_symmetric_key_is_never_trusted() {
    let oct = Jwk {
        kty: "oct".to_owned(),
        alg: Some("HS256".to_owned()),
        ..ed("hmac")
    };
    assert_eq!(
        trust_one(oct).err(),
        Some(KeyRejection::Symmetric {
            kid: Some("hmac".to_owned())
        })
    );
}

#[test]
fn an_alg_member_that_contradicts_the_key_type_is_rejected() {
    let cases = [
        (
            Jwk {
                alg: Some("RS256".to_owned()),
                ..ed("k")
            },
            "RS256",
        ),
        (
            Jwk {
                alg: Some("HS256".to_owned()),
                ..ed("k")
            },
            "HS256",
        ),
        (
            Jwk {
                alg: Some("none".to_owned()),
                ..ed("k")
            },
            "none",
        ),
        (
            Jwk {
                alg: Some("ES384".to_owned()),
                ..Jwk {
                    kid: Some("k".to_owned()),
                    ..ec_jwk()
                }
            },
            "ES384",
        ),
        (
            Jwk {
                alg: Some("EdDSA".to_owned()),
                ..Jwk {
                    kid: Some("k".to_owned()),
                    ..rsa_jwk()
                }
            },
            "EdDSA",
        ),
    ];
    for (jwk, alg) in cases {
        assert_eq!(
            trust_one(jwk).err(),
            Some(KeyRejection::AlgorithmMismatch {
                kid: "k".to_owned(),
                alg: alg.to_owned()
            }),
            "{alg}"
        );
    }
}

#[test]
fn an_algorithm_outside_the_allowlist_is_rejected() {
    let (keys, rejected) = TrustedKeys::from_jwks(&jwks(), &[Algorithm::ES256]);
    assert_eq!(keys.len(), 1);
    assert_eq!(
        rejected,
        vec![
            KeyRejection::AlgorithmNotAllowed {
                kid: ED_KID.to_owned(),
                alg: Algorithm::EdDSA
            },
            KeyRejection::AlgorithmNotAllowed {
                kid: RSA_KID.to_owned(),
                alg: Algorithm::RS256
            },
        ]
    );
    // An RSA key may name another RSA algorithm; it is then bound to that one.
    let ps256 = Jwk {
        alg: Some("PS256".to_owned()),
        ..rsa_jwk()
    };
    assert_eq!(
        trust_one(ps256).err(),
        Some(KeyRejection::AlgorithmNotAllowed {
            kid: RSA_KID.to_owned(),
            alg: Algorithm::PS256
        })
    );
}

#[test]
fn an_encryption_key_is_rejected() {
    let enc = Jwk {
        use_: Some("enc".to_owned()),
        ..ed("k")
    };
    assert_eq!(
        trust_one(enc).err(),
        Some(KeyRejection::NotForSigning {
            kid: Some("k".to_owned()),
            use_: "enc".to_owned()
        })
    );
}

#[test]
fn a_key_without_kid_is_rejected() {
    for kid in [None, Some(String::new())] {
        assert_eq!(
            trust_one(Jwk { kid, ..ed("k") }).err(),
            Some(KeyRejection::MissingKid {
                kty: "OKP".to_owned()
            })
        );
    }
}

#[test]
fn unsupported_key_types_and_curves_are_rejected() {
    let x448 = Jwk {
        crv: Some("X25519".to_owned()),
        alg: None,
        ..ed("k")
    };
    let p521 = Jwk {
        crv: Some("P-521".to_owned()),
        alg: None,
        ..Jwk {
            kid: Some("k".to_owned()),
            ..ec_jwk()
        }
    };
    let unknown = Jwk {
        kty: "AKP".to_owned(),
        crv: None,
        alg: None,
        ..ed("k")
    };
    for jwk in [x448, p521, unknown] {
        let rejection = trust_one(jwk).err();
        assert!(
            matches!(rejection, Some(KeyRejection::UnsupportedKeyType { .. })),
            "{rejection:?}"
        );
    }
}

#[test]
fn broken_key_material_is_rejected_without_panicking() {
    let short_ed = Jwk {
        x: Some(b64([1u8; 16])),
        ..ed("k")
    };
    let not_b64 = Jwk {
        x: Some("!!".to_owned()),
        ..ed("k")
    };
    let no_x = Jwk { x: None, ..ed("k") };
    let off_curve = Jwk::p256("k", b64([1u8; 32]), b64([2u8; 32]));
    let short_ec = Jwk::p256("k", b64([1u8; 31]), b64([2u8; 32]));
    let rsa_1024 = Jwk::rsa("k", b64([0xC5u8; 128]), "AQAB");
    let rsa_e_1 = Jwk::rsa("k", b64([0xC5u8; 256]), "AQ");
    for jwk in [
        short_ed, not_b64, no_x, off_curve, short_ec, rsa_1024, rsa_e_1,
    ] {
        let rejection = trust_one(jwk.clone()).err();
        assert!(
            matches!(rejection, Some(KeyRejection::Invalid { .. })),
            "{jwk:?}: {rejection:?}"
        );
    }
}

#[test]
fn a_duplicate_kid_keeps_the_first_key_only() {
    let set = JwkSet {
        keys: vec![ed(ED_KID), ed_jwk(ED_KID, &attacker_key())],
    };
    let (keys, rejected) = TrustedKeys::from_jwks(&set, &DEFAULT_ALGS);
    assert_eq!(
        rejected,
        vec![KeyRejection::DuplicateKid {
            kid: ED_KID.to_owned()
        }]
    );
    // The first key is the one that verifies.
    let verifier = shared_claims::Verifier::new(config(), keys);
    assert!(verifier.verify_at(&valid_token(), NOW).is_ok());
}

#[test]
fn rejections_name_their_key_and_log_safely() {
    let rejection = trust_one(Jwk {
        use_: Some("enc".to_owned()),
        ..ed("k\"\n")
    })
    .expect_err("rejected");
    assert_eq!(rejection.kid(), Some("k\"\n"));
    // Display escapes the attacker-controllable kid, so one log line stays one.
    assert!(!rejection.to_string().contains('\n'), "{rejection}");
}

#[test]
fn a_jwks_document_parses_and_unknown_members_are_ignored() {
    let json = format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"a","x":"{}","key_ops":["verify"]}}],"extra":1}}"#,
        b64(ed_key().verifying_key().as_bytes())
    );
    let set: JwkSet = serde_json::from_str(&json).expect("parses");
    let (keys, rejected) = TrustedKeys::from_jwks(&set, &DEFAULT_ALGS);
    assert!(rejected.is_empty() && keys.contains("a"));
}

/// RFC 8037 Appendix A.1, A.2 and A.4: the Ed25519 key pair and the JWS it
/// signs. That JWS has neither `typ` nor claims, so it is checked at the
/// signature level, with the same backend the verifier uses.
mod rfc8037 {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    const D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const SIGNING_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    const SIGNATURE: &str =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn key() -> DecodingKey {
        DecodingKey::from_ed_components(X).expect("x decodes")
    }

    #[test]
    fn the_example_signature_verifies() {
        let ok = jsonwebtoken::crypto::verify(
            SIGNATURE,
            SIGNING_INPUT.as_bytes(),
            &key(),
            Algorithm::EdDSA,
        );
        assert_eq!(ok, Ok(true));
    }

    #[test]
    fn a_changed_input_does_not_verify() {
        let tampered = SIGNING_INPUT.replace("RXhh", "RXha");
        let ok =
            jsonwebtoken::crypto::verify(SIGNATURE, tampered.as_bytes(), &key(), Algorithm::EdDSA);
        assert_eq!(ok, Ok(false));
    }

    #[test]
    fn the_private_key_reproduces_the_public_key_and_signature() {
        let d: [u8; 32] =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, D)
                .expect("d decodes")
                .try_into()
                .expect("32 bytes");
        let signing = SigningKey::from_bytes(&d);
        assert_eq!(b64(signing.verifying_key().as_bytes()), X);
        // Ed25519 is deterministic, so the RFC's signature is reproducible.
        assert_eq!(
            b64(signing.sign(SIGNING_INPUT.as_bytes()).to_bytes()),
            SIGNATURE
        );
    }

    #[test]
    fn the_example_key_is_trusted_from_a_jwks() {
        let keys = trust_one(Jwk::ed25519("rfc8037", X)).expect("trusted");
        assert_eq!(keys.algorithm("rfc8037"), Some(Algorithm::EdDSA));
    }
}
