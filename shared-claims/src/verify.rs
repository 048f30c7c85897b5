//! The one routine that turns an access-token string into verified
//! [`AccessClaims`] or a typed [`VerifyError`] (RFC 9068 §4, RFC 8725).
//!
//! The order of checks is documented on [`Verifier::verify_at`].

mod config;
mod error;
mod keys;
mod token;

use std::time::{SystemTime, UNIX_EPOCH};

pub use config::VerifierConfig;
pub use error::VerifyError;
pub use keys::{KeyRejection, TrustedKeys};

use crate::AccessClaims;

/// Verifies access tokens against a fixed set of trusted keys.
///
/// Cheap to share (`Arc<Verifier>`) and to clone; it holds no clock and no
/// network handle, so a resource server that refreshes its JWKS builds a new
/// `Verifier` and swaps it in.
#[derive(Debug, Clone)]
pub struct Verifier {
    config: VerifierConfig,
    keys: TrustedKeys,
}

impl Verifier {
    /// A verifier that trusts `keys` under the policy in `config`.
    pub fn new(config: VerifierConfig, keys: TrustedKeys) -> Self {
        Self { config, keys }
    }

    /// The policy this verifier applies.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// The keys this verifier trusts.
    pub fn keys(&self) -> &TrustedKeys {
        &self.keys
    }

    /// Verifies `token` against the system clock.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.verify_at(token, unix_now())
    }

    /// Verifies `token` as if the time were `now` (Unix seconds): the
    /// injectable clock tests use to check the leeway at its edges.
    ///
    /// # Order of checks
    ///
    /// The checks run in a fixed order, and the first failure is the answer:
    ///
    /// 1. size: longer than [`VerifierConfig::max_token_bytes`] is
    ///    [`VerifyError::TooLarge`], before a single byte is decoded;
    /// 2. shape: three base64url segments, a JSON-object header with a string
    ///    `alg`, no duplicate member, and no `crit` header (we understand no
    ///    extension), else [`VerifyError::Malformed`];
    /// 3. key: the header's `kid` must name a trusted key, else
    ///    [`VerifyError::UnknownKey`] (a resource server refetches its JWKS on it);
    /// 4. algorithm: the header's `alg` must equal the algorithm the trusted key is
    ///    bound to and be in the allowlist, else [`VerifyError::AlgorithmNotAllowed`];
    /// 5. signature, with that key and that algorithm, else
    ///    [`VerifyError::BadSignature`];
    /// 6. `typ` is `at+jwt`, else [`VerifyError::WrongType`];
    /// 7. claims: a JSON object with well-typed members, times as integer
    ///    seconds (else `Malformed`), holding `iss`, `sub`, `aud`, `exp`,
    ///    `iat`, `nbf`, `jti`, `client_id` (the first one absent, in that
    ///    order, is [`VerifyError::MissingClaim`]);
    /// 8. `iss`, then `aud`, then `exp`, `nbf`, `iat` against the clock.
    ///
    /// Everything after step 5 needs a valid signature, so a forger learns nothing
    /// about which claim would have been wrong. The headers `jku`, `x5u`, `jwk` and
    /// `x5c` are never read: the token does not get to choose the key that
    /// verifies it.
    ///
    /// # Example
    ///
    /// A key generated here plays the auth server; the clock is passed in, so
    /// the leeway can be checked at its edges.
    ///
    /// ```
    /// use base64::Engine as _;
    /// use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    /// use ed25519_dalek::{Signer as _, SigningKey};
    /// use shared_claims::{Jwk, JwkSet, TrustedKeys, Verifier, VerifierConfig, VerifyError};
    ///
    /// // The auth server's side: a fresh Ed25519 key, its JWKS, a signed token.
    /// let mut seed = [0u8; 32];
    /// getrandom::fill(&mut seed).expect("OS randomness");
    /// let key = SigningKey::from_bytes(&seed);
    /// let jwks = JwkSet {
    ///     keys: vec![Jwk::ed25519("k1", B64.encode(key.verifying_key().as_bytes()))],
    /// };
    /// let header = r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1"}"#;
    /// let claims = r#"{"iss":"https://auth.example","sub":"alice","aud":"notes-api",
    ///     "exp":1700000900,"iat":1700000000,"nbf":1700000000,"jti":"j1",
    ///     "client_id":"notes-app","scope":"notes:read"}"#;
    /// let signed = format!("{}.{}", B64.encode(header), B64.encode(claims));
    /// let token = format!("{signed}.{}", B64.encode(key.sign(signed.as_bytes()).to_bytes()));
    ///
    /// // The resource server's side, with the default 5 s leeway.
    /// let config = VerifierConfig::new("https://auth.example", "notes-api");
    /// let (keys, _) = TrustedKeys::from_jwks(&jwks, &config.algorithms);
    /// let verifier = Verifier::new(config, keys);
    ///
    /// let verified = verifier.verify_at(&token, 1_700_000_100)?;
    /// assert_eq!((verified.sub.as_str(), verified.client_id.as_str()), ("alice", "notes-app"));
    /// assert!(verified.scope.contains("notes:read"));
    /// // Valid while now < exp + leeway: the last valid second, then expired.
    /// assert!(verifier.verify_at(&token, 1_700_000_904).is_ok());
    /// assert_eq!(verifier.verify_at(&token, 1_700_000_905), Err(VerifyError::Expired));
    ///
    /// // A token signed by another key with the same kid fails at the signature,
    /// // before any claim is looked at.
    /// let impostor = SigningKey::from_bytes(&[42; 32]);
    /// let forged = format!("{signed}.{}", B64.encode(impostor.sign(signed.as_bytes()).to_bytes()));
    /// assert_eq!(verifier.verify_at(&forged, 1_700_000_100), Err(VerifyError::BadSignature));
    /// # Ok::<(), VerifyError>(())
    /// ```
    pub fn verify_at(&self, token: &str, now: i64) -> Result<AccessClaims, VerifyError> {
        if token.len() > self.config.max_token_bytes {
            return Err(VerifyError::TooLarge);
        }
        let parts = token::Parts::split(token)?;
        let header = parts.header()?;
        let key = self.keys.lookup(header.kid.as_deref())?;
        if header.alg != Some(key.alg) || !self.config.algorithms.contains(&key.alg) {
            return Err(VerifyError::AlgorithmNotAllowed);
        }
        key.verify_signature(parts.signing_input(), parts.signature())?;
        if !header.has_access_token_type() {
            return Err(VerifyError::WrongType);
        }
        let claims = parts.claims()?;
        token::check_claims(&claims, &self.config, now)?;
        Ok(claims)
    }
}

/// Seconds since the Unix epoch. A clock set before 1970 reads as 0, which
/// makes every token "not yet valid" rather than panicking on a request path.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
