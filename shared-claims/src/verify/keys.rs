//! The public keys a verifier trusts, each bound to exactly one algorithm
//! decided by the key itself (RFC 8725 §3.1), never by a token header.

use std::collections::HashMap;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use super::VerifyError;
use crate::{Jwk, JwkSet};

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3 requires 2048).
const MIN_RSA_BITS: usize = 2048;

/// Public keys trusted for verification, by `kid`, each bound to exactly one
/// algorithm.
///
/// Every key is decoded and checked once, when the set is built, so
/// verifying a token does no key parsing it could fail at.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    by_kid: HashMap<String, TrustedKey>,
}

/// One trusted key and the only algorithm it may verify.
#[derive(Debug, Clone)]
pub(super) struct TrustedKey {
    pub(super) alg: Algorithm,
    key: DecodingKey,
}

/// Why a JWK from a set was not trusted. Callers log these: a JWKS that loses
/// keys this way is a misconfiguration someone must hear about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    /// A symmetric (`oct`) key: publishing one would let anyone mint tokens.
    #[error("key {kid:?}: symmetric (oct) keys are never trusted from a JWKS")]
    Symmetric {
        /// The key's `kid`, if any.
        kid: Option<String>,
    },
    /// A key type or curve the verifier does not implement.
    #[error("key {kid:?}: unsupported key type {kty:?} (curve {crv:?})")]
    UnsupportedKeyType {
        /// The key's `kid`, if any.
        kid: Option<String>,
        /// The `kty` member.
        kty: String,
        /// The `crv` member, if any.
        crv: Option<String>,
    },
    /// No `kid`, so no token could name this key.
    #[error("a {kty:?} key has no kid")]
    MissingKid {
        /// The `kty` member, to help find the key in the set.
        kty: String,
    },
    /// The key's algorithm is not in the verifier's allowlist.
    #[error("key {kid:?}: algorithm {alg:?} is not allowed")]
    AlgorithmNotAllowed {
        /// The key's `kid`.
        kid: String,
        /// The algorithm the key is bound to.
        alg: Algorithm,
    },
    /// The key's `alg` member does not fit its `kty`/`crv` (or is unknown).
    #[error("key {kid:?}: alg {alg:?} does not match its key type")]
    AlgorithmMismatch {
        /// The key's `kid`.
        kid: String,
        /// The `alg` member as published.
        alg: String,
    },
    /// The key's `use` is not `sig`.
    #[error("key {kid:?}: use {use_:?} is not sig")]
    NotForSigning {
        /// The key's `kid`, if any.
        kid: Option<String>,
        /// The `use` member as published.
        use_: String,
    },
    /// The key's components are absent, undecodable, the wrong size, or not a
    /// valid public key.
    #[error("key {kid:?}: invalid key material: {reason}")]
    Invalid {
        /// The key's `kid`.
        kid: String,
        /// What was wrong, for the operator.
        reason: &'static str,
    },
    /// An earlier key in the set has the same `kid`; the first one is kept.
    #[error("key {kid:?}: duplicate kid, only the first key with it is trusted")]
    DuplicateKid {
        /// The repeated `kid`.
        kid: String,
    },
}

impl KeyRejection {
    /// The rejected key's `kid`, if it had one.
    pub fn kid(&self) -> Option<&str> {
        match self {
            Self::Symmetric { kid }
            | Self::UnsupportedKeyType { kid, .. }
            | Self::NotForSigning { kid, .. } => kid.as_deref(),
            Self::MissingKid { .. } => None,
            Self::AlgorithmNotAllowed { kid, .. }
            | Self::AlgorithmMismatch { kid, .. }
            | Self::Invalid { kid, .. }
            | Self::DuplicateKid { kid } => Some(kid),
        }
    }
}

impl TrustedKeys {
    /// Keeps every acceptable key of `set` and returns the rejected ones with
    /// reasons (callers log them).
    ///
    /// Each key's algorithm comes from its `kty`/`crv`: `OKP`+`Ed25519` is
    /// EdDSA, `EC`+`P-256` is ES256 (`P-384`: ES384), `RSA` is RS256 unless
    /// its `alg` member names another RSA algorithm. An `alg` member must
    /// agree when present, and the algorithm must be in `allowed`.
    pub fn from_jwks(set: &JwkSet, allowed: &[Algorithm]) -> (Self, Vec<KeyRejection>) {
        let mut keys = Self::default();
        let mut rejected = Vec::new();
        for jwk in &set.keys {
            match trust(jwk, allowed) {
                Ok((kid, _)) if keys.by_kid.contains_key(&kid) => {
                    rejected.push(KeyRejection::DuplicateKid { kid });
                }
                Ok((kid, key)) => {
                    keys.by_kid.insert(kid, key);
                }
                Err(rejection) => rejected.push(rejection),
            }
        }
        (keys, rejected)
    }

    /// Whether no key is trusted (a verifier with no keys refuses everything).
    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }

    /// How many keys are trusted.
    pub fn len(&self) -> usize {
        self.by_kid.len()
    }

    /// Whether a key with this `kid` is trusted.
    pub fn contains(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }

    /// The trusted `kid`s, in no particular order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.by_kid.keys().map(String::as_str)
    }

    /// The algorithm the key `kid` is bound to, if it is trusted.
    pub fn algorithm(&self, kid: &str) -> Option<Algorithm> {
        self.by_kid.get(kid).map(|k| k.alg)
    }

    pub(super) fn lookup(&self, kid: Option<&str>) -> Result<&TrustedKey, VerifyError> {
        kid.and_then(|kid| self.by_kid.get(kid))
            .ok_or_else(|| VerifyError::UnknownKey {
                kid: kid.map(str::to_owned),
            })
    }
}

impl TrustedKey {
    /// Checks `signature` (base64url) over `signing_input` with this key and
    /// its bound algorithm.
    pub(super) fn verify_signature(
        &self,
        signing_input: &[u8],
        signature: &str,
    ) -> Result<(), VerifyError> {
        match jsonwebtoken::crypto::verify(signature, signing_input, &self.key, self.alg) {
            Ok(true) => Ok(()),
            // An error here is a signature of the wrong length or encoding:
            // the key itself was proven usable when it was trusted.
            Ok(false) | Err(_) => Err(VerifyError::BadSignature),
        }
    }
}

/// Decides whether one JWK is trusted, and for which algorithm.
fn trust(jwk: &Jwk, allowed: &[Algorithm]) -> Result<(String, TrustedKey), KeyRejection> {
    if jwk.kty == "oct" {
        return Err(KeyRejection::Symmetric {
            kid: jwk.kid.clone(),
        });
    }
    if let Some(use_) = jwk.use_.as_deref().filter(|u| *u != "sig") {
        return Err(KeyRejection::NotForSigning {
            kid: jwk.kid.clone(),
            use_: use_.to_owned(),
        });
    }
    let Some(kid) = jwk.kid.clone().filter(|k| !k.is_empty()) else {
        return Err(KeyRejection::MissingKid {
            kty: jwk.kty.clone(),
        });
    };
    let alg = bound_algorithm(jwk).ok_or_else(|| KeyRejection::UnsupportedKeyType {
        kid: Some(kid.clone()),
        kty: jwk.kty.clone(),
        crv: jwk.crv.clone(),
    })?;
    if let Some(published) = &jwk.alg
        && Algorithm::from_str(published).ok() != Some(alg)
    {
        return Err(KeyRejection::AlgorithmMismatch {
            kid,
            alg: published.clone(),
        });
    }
    if !allowed.contains(&alg) {
        return Err(KeyRejection::AlgorithmNotAllowed { kid, alg });
    }
    let key = decoding_key(jwk, alg).map_err(|reason| KeyRejection::Invalid {
        kid: kid.clone(),
        reason,
    })?;
    // Building the verifier once here proves the key is a valid point or
    // modulus, so a broken key is reported now, not on every request.
    if jsonwebtoken::crypto::verify("", b"", &key, alg).is_err() {
        return Err(KeyRejection::Invalid {
            kid,
            reason: "not a valid public key",
        });
    }
    Ok((kid, TrustedKey { alg, key }))
}

/// The one algorithm a key may verify, from its type and curve.
fn bound_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
        ("EC", Some("P-256")) => Some(Algorithm::ES256),
        ("EC", Some("P-384")) => Some(Algorithm::ES384),
        // An RSA key can serve several RSA algorithms; its `alg` member picks
        // one (RS256 when absent), and from then on it verifies only that one.
        ("RSA", _) => match jwk.alg.as_deref().map(Algorithm::from_str) {
            Some(Ok(alg)) if alg.family() == AlgorithmFamily::Rsa => Some(alg),
            _ => Some(Algorithm::RS256),
        },
        _ => None,
    }
}

/// Decodes and size-checks the key's public components. The sizes matter:
/// the Ed25519 backend indexes the key bytes and would panic on a short one.
fn decoding_key(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, &'static str> {
    match alg.family() {
        AlgorithmFamily::Ed => {
            let x = component(jwk.x.as_deref(), "missing x")?;
            if x.len() != 32 {
                return Err("an Ed25519 x must be 32 bytes");
            }
            Ok(DecodingKey::from_ed_der(&x))
        }
        AlgorithmFamily::Ec => {
            let size = if alg == Algorithm::ES384 { 48 } else { 32 };
            let x = component(jwk.x.as_deref(), "missing x")?;
            let y = component(jwk.y.as_deref(), "missing y")?;
            if x.len() != size || y.len() != size {
                return Err("EC coordinates have the wrong length for the curve");
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04); // SEC1 uncompressed point
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Ok(DecodingKey::from_ec_der(&point))
        }
        AlgorithmFamily::Rsa => {
            let n = component(jwk.n.as_deref(), "missing n")?;
            let e = component(jwk.e.as_deref(), "missing e")?;
            if significant_bits(&n) < MIN_RSA_BITS {
                return Err("RSA modulus is shorter than 2048 bits");
            }
            if significant_bits(&e) < 2 || e.len() > 8 {
                return Err("RSA exponent is out of range");
            }
            Ok(DecodingKey::from_rsa_raw_components(&n, &e))
        }
        AlgorithmFamily::Hmac => Err("symmetric algorithm"),
    }
}

/// A base64url key component; `missing` says which one when it is absent.
fn component(value: Option<&str>, missing: &'static str) -> Result<Vec<u8>, &'static str> {
    let value = value.ok_or(missing)?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| "a component is not base64url")
}

/// Bit length of a big-endian unsigned integer.
fn significant_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        Some(i) => (bytes.len() - i) * 8 - bytes[i].leading_zeros() as usize,
        None => 0,
    }
}
