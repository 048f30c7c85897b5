//! Why a token was refused.

/// Why [`crate::Verifier::verify`] refused a token.
///
/// `Display` is the same client-safe text as [`VerifyError::description`]:
/// no token contents, no key material, no library internals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a compact JWS, undecodable base64url or JSON, a claim of the wrong
    /// JSON type, or a `crit` header.
    #[error("the access token is malformed")]
    Malformed,
    /// Longer than [`crate::VerifierConfig::max_token_bytes`].
    #[error("the access token is too large")]
    TooLarge,
    /// No `kid` header (`None`), or a `kid` that names no trusted key. A
    /// resource server may refetch its JWKS once and try again.
    #[error("the access token was signed by an unknown key")]
    UnknownKey {
        /// The `kid` header, if the token had one. Attacker-chosen: log it
        /// escaped, never echo it to a client.
        kid: Option<String>,
    },
    /// The header's `alg` is not the algorithm the named key is bound to, or
    /// not in the allowlist (`none` and `HS256` always land here).
    #[error("the access token uses an algorithm that is not allowed")]
    AlgorithmNotAllowed,
    /// The signature does not verify with the named key.
    #[error("the access token signature is invalid")]
    BadSignature,
    /// The `typ` header is absent or not `at+jwt` (RFC 9068 §2.1), so this is
    /// some other kind of JWT, such as an ID token.
    #[error("the token is not an access token")]
    WrongType,
    /// `iss` is not the configured issuer.
    #[error("the access token was issued by an untrusted issuer")]
    WrongIssuer,
    /// `aud` does not contain this resource server.
    #[error("the access token is not meant for this resource server")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("the access token expired")]
    Expired,
    /// `nbf` is still in the future (beyond the leeway).
    #[error("the access token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway): a skewed or broken issuer.
    #[error("the access token was issued in the future")]
    IssuedInFuture,
    /// A required claim is absent; the name is one of `iss`, `sub`, `aud`,
    /// `exp`, `iat`, `nbf`, `jti`, `client_id`.
    #[error("the access token lacks the {0} claim")]
    MissingClaim(&'static str),
}

impl VerifyError {
    /// Short, client-safe text for RFC 6750 `error_description`: no token
    /// contents and no internal details, e.g. "the access token expired".
    /// Uses only characters RFC 6750 §3 allows in that parameter.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Malformed => "the access token is malformed",
            Self::TooLarge => "the access token is too large",
            Self::UnknownKey { .. } => "the access token was signed by an unknown key",
            Self::AlgorithmNotAllowed => "the access token uses an algorithm that is not allowed",
            Self::BadSignature => "the access token signature is invalid",
            Self::WrongType => "the token is not an access token",
            Self::WrongIssuer => "the access token was issued by an untrusted issuer",
            Self::WrongAudience => "the access token is not meant for this resource server",
            Self::Expired => "the access token expired",
            Self::NotYetValid => "the access token is not valid yet",
            Self::IssuedInFuture => "the access token was issued in the future",
            Self::MissingClaim(claim) => missing_claim_description(claim),
        }
    }

    /// A stable snake_case label for metrics and logs, e.g. `expired`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::UnknownKey { .. } => "unknown_key",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::BadSignature => "bad_signature",
            Self::WrongType => "wrong_type",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::MissingClaim(_) => "missing_claim",
        }
    }
}

/// A `&'static` description naming the claim: the set of required claims is
/// closed, so each gets its own sentence rather than an allocation.
fn missing_claim_description(claim: &str) -> &'static str {
    match claim {
        "iss" => "the access token lacks the iss claim",
        "sub" => "the access token lacks the sub claim",
        "aud" => "the access token lacks the aud claim",
        "exp" => "the access token lacks the exp claim",
        "iat" => "the access token lacks the iat claim",
        "nbf" => "the access token lacks the nbf claim",
        "jti" => "the access token lacks the jti claim",
        "client_id" => "the access token lacks the client_id claim",
        _ => "the access token lacks a required claim",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [VerifyError; 12] = [
        VerifyError::Malformed,
        VerifyError::TooLarge,
        VerifyError::UnknownKey { kid: None },
        VerifyError::AlgorithmNotAllowed,
        VerifyError::BadSignature,
        VerifyError::WrongType,
        VerifyError::WrongIssuer,
        VerifyError::WrongAudience,
        VerifyError::Expired,
        VerifyError::NotYetValid,
        VerifyError::IssuedInFuture,
        VerifyError::MissingClaim("client_id"),
    ];

    #[test]
    fn display_is_the_client_safe_description() {
        for error in ALL {
            assert_eq!(error.to_string(), error.description(), "{error:?}");
        }
    }

    #[test]
    fn descriptions_fit_the_rfc_6750_error_description_grammar() {
        // %x20-21 / %x23-5B / %x5D-7E: no quote, no backslash, no control.
        for error in ALL {
            let ok = error
                .description()
                .bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
            assert!(ok, "{error:?}");
        }
    }

    #[test]
    fn reasons_are_distinct_snake_case_labels() {
        let reasons: std::collections::BTreeSet<_> = ALL.iter().map(VerifyError::reason).collect();
        assert_eq!(reasons.len(), ALL.len());
        assert!(
            reasons
                .iter()
                .all(|r| r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }

    #[test]
    fn an_attacker_chosen_kid_never_reaches_the_description() {
        let error = VerifyError::UnknownKey {
            kid: Some("\"><script>".to_owned()),
        };
        assert!(!error.description().contains("script"));
        assert!(!error.to_string().contains("script"));
    }
}
