//! Key material, per algorithm: generating a key pair, naming it by its
//! RFC 7638 thumbprint, and turning a stored private key back into a signer
//! after checking it against its published public half.
//!
//! Stored private-key formats are what `jsonwebtoken`'s RustCrypto backend
//! reads: PKCS#8 DER for EdDSA and ES256, PKCS#1 DER for RS256.
//!
//! The server signs with a [`JwsSigner`] parsed once at key load, not with
//! `jsonwebtoken::encode`: that builds its signer from the DER on every call
//! (for Ed25519 a PKCS#8 parse plus a public-key derivation, doubling the
//! cost of a signature; see BENCHMARKS.md).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest, Sha256};
use shared_claims::Jwk;

use crate::domain::SigningAlg;
use crate::tokens::random_bytes;

/// RSA modulus size for new RS256 keys (RFC 7518 §3.3: at least 2048).
const RSA_BITS: usize = 2048;

/// A freshly generated key pair.
pub struct NewKey {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// The private key, DER, in the format the algorithm stores.
    pub private_der: Vec<u8>,
    /// The public key, as published.
    pub public_jwk: Jwk,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("kid", &self.kid)
            .field("private_der", &"***")
            .finish_non_exhaustive()
    }
}

/// Why key material could not be made or used. Never carries key bytes.
#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    /// The OS random source failed.
    #[error("could not generate a key")]
    Random(#[from] getrandom::Error),
    /// The key could not be encoded, decoded or used; says what, not how.
    #[error("{0}")]
    Invalid(&'static str),
}

/// Generates a key pair for `alg`.
pub fn generate(alg: SigningAlg) -> Result<NewKey, MaterialError> {
    match alg {
        SigningAlg::EdDSA => generate_ed25519(),
        SigningAlg::ES256 => generate_p256(),
        SigningAlg::RS256 => generate_rsa(),
    }
}

fn generate_ed25519() -> Result<NewKey, MaterialError> {
    let signing = ed25519_dalek::SigningKey::from_bytes(&random_bytes::<32>()?);
    let der = signing
        .to_pkcs8_der()
        .map_err(|_| MaterialError::Invalid("could not encode the Ed25519 key"))?;
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes());
    let kid = thumbprint_okp(&x);
    Ok(NewKey {
        public_jwk: Jwk::ed25519(kid.clone(), x),
        kid,
        private_der: der.as_bytes().to_vec(),
    })
}

fn generate_p256() -> Result<NewKey, MaterialError> {
    use p256::pkcs8::EncodePrivateKey as _;
    // A random 32-byte string is a valid scalar except with probability
    // about 2^-32 (zero or above the group order): retrying is the standard
    // rejection sampling.
    let signing = (0..8)
        .find_map(|_| {
            random_bytes::<32>()
                .map(|b| p256::ecdsa::SigningKey::from_slice(&b).ok())
                .transpose()
        })
        .ok_or(MaterialError::Invalid("could not draw a P-256 scalar"))??;
    let der = signing
        .to_pkcs8_der()
        .map_err(|_| MaterialError::Invalid("could not encode the P-256 key"))?;
    let (x, y) = p256_coordinates(signing.verifying_key())?;
    let kid = thumbprint_ec(&x, &y);
    Ok(NewKey {
        public_jwk: Jwk::p256(kid.clone(), x, y),
        kid,
        private_der: der.as_bytes().to_vec(),
    })
}

fn generate_rsa() -> Result<NewKey, MaterialError> {
    let private = rsa::PrivateKey::new(&mut OsRng, RSA_BITS)
        .map_err(|_| MaterialError::Invalid("could not generate an RSA key"))?;
    let der = private
        .to_pkcs1_der()
        .map_err(|_| MaterialError::Invalid("could not encode the RSA key"))?;
    let (n, e) = rsa_components(&private);
    let kid = thumbprint_rsa(&n, &e);
    Ok(NewKey {
        public_jwk: Jwk::rsa(kid.clone(), n, e),
        kid,
        private_der: der.as_bytes().to_vec(),
    })
}

/// A private key parsed once, signing JWS signing inputs
/// (`b64(header) "." b64(claims)`). `Debug` names the algorithm only.
#[derive(Clone)]
pub enum JwsSigner {
    /// EdDSA (RFC 8037): a 64-byte Ed25519 signature.
    Ed25519(ed25519_dalek::SigningKey),
    /// ES256: P-256 ECDSA with SHA-256, deterministic nonces (RFC 6979),
    /// the 64-byte `r || s` form JWS requires (RFC 7518 §3.4).
    Es256(p256::ecdsa::SigningKey),
    /// RS256: RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256(rsa::pkcs1v15::SigningKey<rsa::sha2::Sha256>),
}

impl JwsSigner {
    /// The raw JWS signature over `message`. Errors only if the crypto
    /// library refuses (never observed with a key that passed
    /// [`signer`]'s self-test).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, MaterialError> {
        use ed25519_dalek::Signer as _;
        let refused = |_| MaterialError::Invalid("the key refused to sign");
        match self {
            Self::Ed25519(key) => Ok(key.sign(message).to_bytes().to_vec()),
            Self::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.try_sign(message).map_err(refused)?;
                Ok(signature.to_bytes().to_vec())
            }
            Self::Rs256(key) => {
                use rsa::signature::SignatureEncoding as _;
                Ok(key.try_sign(message).map_err(refused)?.to_vec())
            }
        }
    }
}

impl std::fmt::Debug for JwsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ed25519(_) => "JwsSigner::Ed25519(***)",
            Self::Es256(_) => "JwsSigner::Es256(***)",
            Self::Rs256(_) => "JwsSigner::Rs256(***)",
        })
    }
}

/// Parses a stored private key for `alg`, checks that its public half is
/// `public` (so a row whose halves were mixed up fails at load, not in a
/// verifier), and proves it can sign.
pub fn signer(
    alg: SigningAlg,
    private_der: &[u8],
    public: &Jwk,
) -> Result<JwsSigner, MaterialError> {
    let mismatch = MaterialError::Invalid("private and public key do not match");
    let signer = match alg {
        SigningAlg::EdDSA => {
            let signing = ed25519_dalek::SigningKey::from_pkcs8_der(private_der)
                .map_err(|_| MaterialError::Invalid("private key is not PKCS#8 Ed25519"))?;
            let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes());
            if public.x.as_deref() != Some(x.as_str()) {
                return Err(mismatch);
            }
            JwsSigner::Ed25519(signing)
        }
        SigningAlg::ES256 => {
            use p256::pkcs8::DecodePrivateKey as _;
            let signing = p256::ecdsa::SigningKey::from_pkcs8_der(private_der)
                .map_err(|_| MaterialError::Invalid("private key is not PKCS#8 P-256"))?;
            let (x, y) = p256_coordinates(signing.verifying_key())?;
            if public.x.as_deref() != Some(x.as_str()) || public.y.as_deref() != Some(y.as_str()) {
                return Err(mismatch);
            }
            JwsSigner::Es256(signing)
        }
        SigningAlg::RS256 => {
            let private = rsa::PrivateKey::from_pkcs1_der(private_der)
                .map_err(|_| MaterialError::Invalid("private key is not PKCS#1 RSA"))?;
            let (n, e) = rsa_components(&private);
            if public.n.as_deref() != Some(n.as_str()) || public.e.as_deref() != Some(e.as_str()) {
                return Err(mismatch);
            }
            JwsSigner::Rs256(rsa::pkcs1v15::SigningKey::new(private))
        }
    };
    signer
        .sign(b"key self-test")
        .map_err(|_| MaterialError::Invalid("the signing library cannot use the key"))?;
    Ok(signer)
}

/// The RFC 7638 thumbprint a key of this JWK would have: the kid must equal
/// it, so a kid can never name two different keys.
pub fn thumbprint(jwk: &Jwk) -> Option<String> {
    match jwk.kty.as_str() {
        "OKP" => Some(thumbprint_okp(jwk.x.as_deref()?)),
        "EC" => Some(thumbprint_ec(jwk.x.as_deref()?, jwk.y.as_deref()?)),
        "RSA" => Some(thumbprint_rsa(jwk.n.as_deref()?, jwk.e.as_deref()?)),
        _ => None,
    }
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order,
/// no whitespace. Base64url values need no JSON escaping.
fn thumbprint_json(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn thumbprint_okp(x: &str) -> String {
    thumbprint_json(&format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#))
}

fn thumbprint_ec(x: &str, y: &str) -> String {
    thumbprint_json(&format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
    ))
}

fn thumbprint_rsa(n: &str, e: &str) -> String {
    thumbprint_json(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#))
}

/// Affine coordinates, base64url, each exactly 32 bytes (RFC 7518 §6.2.1.2).
fn p256_coordinates(key: &p256::ecdsa::VerifyingKey) -> Result<(String, String), MaterialError> {
    let point = key.to_sec1_point(false);
    match (point.x(), point.y()) {
        (Some(x), Some(y)) => Ok((URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))),
        _ => Err(MaterialError::Invalid(
            "P-256 public key is not a finite point",
        )),
    }
}

/// Modulus and exponent, base64url of their minimal big-endian bytes
/// (RFC 7518 §6.3.1).
fn rsa_components(key: &rsa::PrivateKey) -> (String, String) {
    (
        URL_SAFE_NO_PAD.encode(key.n_bytes()),
        URL_SAFE_NO_PAD.encode(key.e_bytes()),
    )
}

/// The operating system's CSPRNG for the `rsa` crate, which takes its
/// randomness through `rand_core` 0.10 traits.
struct OsRng;

impl rsa::rand_core::TryRng for OsRng {
    type Error = getrandom::Error;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        random_bytes::<4>().map(u32::from_le_bytes)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        random_bytes::<8>().map(u64::from_le_bytes)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(dst)
    }
}

impl rsa::rand_core::TryCryptoRng for OsRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips_and_names_its_key_by_thumbprint() {
        for alg in SigningAlg::ALL {
            let key = generate(alg).expect("generate");
            assert_eq!(key.public_jwk.alg.as_deref(), Some(alg.as_str()));
            assert_eq!(
                thumbprint(&key.public_jwk).as_deref(),
                Some(key.kid.as_str())
            );
            signer(alg, &key.private_der, &key.public_jwk).expect("usable");
            assert!(!format!("{key:?}").contains(&format!("{:?}", key.private_der)));
        }
    }

    #[test]
    fn rsa_keys_have_a_2048_bit_modulus_and_exponent_65537() {
        let key = generate(SigningAlg::RS256).expect("generate");
        let n = URL_SAFE_NO_PAD
            .decode(key.public_jwk.n.as_deref().expect("n"))
            .expect("base64url");
        assert_eq!(n.len(), 256);
        assert_eq!(key.public_jwk.e.as_deref(), Some("AQAB"));
    }

    #[test]
    fn rfc_8037_thumbprint_vector() {
        // RFC 8037 appendix A.3.
        assert_eq!(
            thumbprint_okp("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn rfc_7638_rsa_thumbprint_vector() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint_rsa(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn mismatched_halves_are_refused() {
        for alg in SigningAlg::ALL {
            let a = generate(alg).expect("generate");
            let b = generate(alg).expect("generate");
            assert!(signer(alg, &a.private_der, &b.public_jwk).is_err(), "{alg}");
        }
        let ed = generate(SigningAlg::EdDSA).expect("generate");
        assert!(signer(SigningAlg::ES256, &ed.private_der, &ed.public_jwk).is_err());
    }
}
