//! JSON Web Key Set types (RFC 7517), as the auth server publishes them at
//! `/.well-known/jwks.json` and resource servers consume them.
//!
//! Only public, asymmetric signing keys belong here: `OKP` (Ed25519), `EC`
//! (P-256) and `RSA`. A symmetric `oct` key in a JWKS would let anyone who
//! fetched it mint tokens; the verifier refuses such keys.

use serde::{Deserialize, Serialize};

/// A JWK Set: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys. Unknown members of the set are ignored, as RFC 7517 says.
    pub keys: Vec<Jwk>,
}

/// One public key. The key-type-specific members are optional because each
/// `kty` uses a different subset; [`crate::TrustedKeys`] checks that the right
/// ones are present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`, `EC` or `RSA` (anything else is refused when trusted).
    pub kty: String,
    /// Key id; tokens name the key that signed them in their `kid` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The one algorithm this key is for (`EdDSA`, `ES256`, `RS256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use; `sig` for signing keys.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Curve, for `OKP` (`Ed25519`) and `EC` (`P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Public point x (`OKP`, `EC`), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Public point y (`EC`), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl Jwk {
    fn signing(kty: &str, kid: impl Into<String>, alg: &str) -> Self {
        Self {
            kty: kty.to_owned(),
            kid: Some(kid.into()),
            alg: Some(alg.to_owned()),
            use_: Some("sig".to_owned()),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        }
    }

    /// An Ed25519 public key (RFC 8037): `x` is the 32-byte public key, base64url.
    pub fn ed25519(kid: impl Into<String>, x: impl Into<String>) -> Self {
        Self {
            crv: Some("Ed25519".to_owned()),
            x: Some(x.into()),
            ..Self::signing("OKP", kid, "EdDSA")
        }
    }

    /// A P-256 public key for ES256: affine coordinates, base64url.
    pub fn p256(kid: impl Into<String>, x: impl Into<String>, y: impl Into<String>) -> Self {
        Self {
            crv: Some("P-256".to_owned()),
            x: Some(x.into()),
            y: Some(y.into()),
            ..Self::signing("EC", kid, "ES256")
        }
    }

    /// An RSA public key for RS256: modulus and exponent, base64url.
    pub fn rsa(kid: impl Into<String>, n: impl Into<String>, e: impl Into<String>) -> Self {
        Self {
            n: Some(n.into()),
            e: Some(e.into()),
            ..Self::signing("RSA", kid, "RS256")
        }
    }
}
