//! The JWS algorithms this server can sign access tokens with.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::Algorithm;

/// A signing algorithm for new keys. EdDSA (Ed25519) is the default: small
/// keys, fast, deterministic. ES256 and RS256 exist for verifiers that lack
/// Ed25519; RFC 9068 §4 makes RS256 support mandatory for the profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// Ed25519 (RFC 8037).
    #[default]
    EdDSA,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys.
    RS256,
}

/// An algorithm name this server cannot sign with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported signing algorithm {0:?} (use EdDSA, ES256 or RS256)")]
pub struct UnsupportedAlg(pub String);

impl SigningAlg {
    /// Every supported algorithm, default first.
    pub const ALL: [SigningAlg; 3] = [Self::EdDSA, Self::ES256, Self::RS256];

    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
        }
    }

    /// The `jsonwebtoken` algorithm.
    pub fn algorithm(self) -> Algorithm {
        match self {
            Self::EdDSA => Algorithm::EdDSA,
            Self::ES256 => Algorithm::ES256,
            Self::RS256 => Algorithm::RS256,
        }
    }
}

impl FromStr for SigningAlg {
    type Err = UnsupportedAlg;

    /// The JWS names, ignoring letter case (`es256` works on a command line).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnsupportedAlg(s.to_owned()))
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jws_names() {
        assert_eq!("EdDSA".parse(), Ok(SigningAlg::EdDSA));
        assert_eq!("es256".parse(), Ok(SigningAlg::ES256));
        assert_eq!("RS256".parse(), Ok(SigningAlg::RS256));
        assert!("HS256".parse::<SigningAlg>().is_err());
        assert!("none".parse::<SigningAlg>().is_err());
        for alg in SigningAlg::ALL {
            assert_eq!(alg.to_string().parse(), Ok(alg));
        }
    }
}
