//! PKCE (RFC 7636) with the `S256` method only: `plain` would send the
//! verifier itself through the browser, where it can leak, so OAuth 2.1 and
//! RFC 9700 §2.1.1 leave `S256` as the one method worth offering.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The only `code_challenge_method` accepted.
pub const S256: &str = "S256";

/// Why a PKCE parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    /// `code_challenge` is not the base64url of a SHA-256 (43 characters).
    #[error("code_challenge must be 43 base64url characters (BASE64URL(SHA256(code_verifier)))")]
    MalformedChallenge,
    /// A method other than `S256`, or none (which means `plain`).
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    /// `code_verifier` is not 43–128 characters of `[A-Za-z0-9-._~]`.
    #[error("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    MalformedVerifier,
}

/// A `code_challenge` for the `S256` method, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Checks the challenge and its method. A missing method means `plain`
    /// (RFC 7636 §4.3), which is refused like `plain` itself.
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, PkceError> {
        if method != Some(S256) {
            return Err(PkceError::UnsupportedMethod);
        }
        let well_formed = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD
                .decode(challenge)
                .is_ok_and(|d| d.len() == 32);
        if !well_formed {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// A challenge read back from storage (checked when it was stored).
    pub fn from_stored(challenge: String) -> Self {
        Self(challenge)
    }

    /// The challenge text, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` hashes to this challenge, compared in constant time.
    pub fn is_answered_by(&self, verifier: &CodeVerifier) -> bool {
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes()));
        computed.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

/// A `code_verifier` presented at the token endpoint. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Checks the RFC 7636 §4.1 syntax.
    pub fn parse(verifier: String) -> Result<Self, PkceError> {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if well_formed {
            Ok(Self(verifier))
        } else {
            Err(PkceError::MalformedVerifier)
        }
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies() {
        let challenge = CodeChallenge::parse(CHALLENGE, Some("S256")).expect("valid");
        let verifier = CodeVerifier::parse(VERIFIER.into()).expect("valid");
        assert!(challenge.is_answered_by(&verifier));
        let other = CodeVerifier::parse("a".repeat(43)).expect("valid");
        assert!(!challenge.is_answered_by(&other));
    }

    #[test]
    fn only_s256_is_accepted() {
        for method in [None, Some("plain"), Some("s256"), Some("S512")] {
            assert_eq!(
                CodeChallenge::parse(CHALLENGE, method),
                Err(PkceError::UnsupportedMethod),
                "{method:?}"
            );
        }
    }

    #[test]
    fn malformed_challenges_are_refused() {
        for bad in [
            "",
            "short",
            &format!("{CHALLENGE}A"),
            &CHALLENGE.replace('-', "+"),
        ] {
            assert_eq!(
                CodeChallenge::parse(bad, Some("S256")),
                Err(PkceError::MalformedChallenge),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn verifier_syntax_follows_rfc_7636() {
        assert!(CodeVerifier::parse("a".repeat(42)).is_err(), "too short");
        assert!(CodeVerifier::parse("a".repeat(129)).is_err(), "too long");
        assert!(CodeVerifier::parse("a".repeat(128)).is_ok());
        assert!(CodeVerifier::parse(format!("{}+", "a".repeat(43))).is_err());
        assert!(CodeVerifier::parse(format!("{}-._~", "a".repeat(43))).is_ok());
        let verifier = CodeVerifier::parse(VERIFIER.into()).expect("valid");
        assert!(!format!("{verifier:?}").contains(VERIFIER));
    }
}
