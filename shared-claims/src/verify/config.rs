//! The verification policy: who must have issued a token, for whom, with which
//! algorithms, and how much clock skew to forgive.

use std::time::Duration;

use jsonwebtoken::Algorithm;

/// What a [`crate::Verifier`] demands of a token beyond a valid signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// Required `iss`, compared exactly (RFC 9068 §4: no normalisation).
    pub issuer: String,
    /// This resource server's identifier; `aud` must contain it.
    pub audience: String,
    /// Clock skew forgiven on `exp`, `nbf` and `iat`. A token stays valid
    /// while `now < exp + leeway`. Whole seconds; fractions are ignored.
    pub leeway: Duration,
    /// Algorithms accepted at all. A key's own algorithm must also be in this
    /// list, so one setting turns an algorithm off everywhere.
    pub algorithms: Vec<Algorithm>,
    /// Longest token accepted, in bytes, checked before anything is decoded so
    /// an attacker cannot make us base64-decode and parse megabytes.
    pub max_token_bytes: usize,
}

impl VerifierConfig {
    /// Leeway used unless [`Self::with_leeway`] says otherwise.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
    /// Token size limit used unless changed (8 KiB: far above any token we
    /// issue, far below anything that costs real work).
    pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

    /// A policy for tokens from `issuer` meant for `audience`, with a 5 s
    /// leeway, the algorithms EdDSA, ES256 and RS256, and an 8 KiB size limit.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Self::DEFAULT_LEEWAY,
            algorithms: vec![Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256],
            max_token_bytes: Self::DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Replaces the clock-skew leeway.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Replaces the algorithm allowlist.
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: Vec<Algorithm>) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// Replaces the token size limit.
    #[must_use]
    pub fn with_max_token_bytes(mut self, max_token_bytes: usize) -> Self {
        self.max_token_bytes = max_token_bytes;
        self
    }

    /// The leeway in whole seconds, saturating so no configured value can
    /// overflow the time arithmetic.
    pub(crate) fn leeway_secs(&self) -> i64 {
        i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX)
    }
}
