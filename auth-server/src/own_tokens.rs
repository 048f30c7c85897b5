//! Verifying access tokens this server issued, for its own endpoints
//! (introspection, logging out everywhere), with the same
//! [`shared_claims::Verifier`] every resource server uses and the keys this
//! server publishes.
//!
//! One check differs: the audience. A resource server asks "is this token
//! meant for me?"; here the question is "did we issue it, and is it
//! valid?", whatever resource server it was meant for. The verifier is
//! therefore given the token's own `aud` as the expected audience. Reading
//! `aud` before the signature is checked is safe: the verifier then checks
//! the signature over that very claim, so a forged `aud` fails there.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use shared_claims::actix::TokenVerifier;
use shared_claims::{AccessClaims, Audience, Verifier, VerifierConfig, VerifyError};

use crate::clock;
use crate::keys::{KeySet, KeyStore};

/// Verifies `token` as one of ours at `now`. `iat` and `nbf` get the usual
/// leeway, as another instance's clock may run a little ahead, but `exp`
/// none: a token past its expiry is not active (RFC 7662 §2.2).
pub fn verify(
    keys: &KeySet,
    issuer: &str,
    token: &str,
    now: i64,
) -> Result<AccessClaims, VerifyError> {
    // The size check comes first in the verifier too; repeated here so the
    // audience peek never decodes an oversized token.
    if token.len() > VerifierConfig::DEFAULT_MAX_TOKEN_BYTES {
        return Err(VerifyError::TooLarge);
    }
    let audience = peek_audience(token).ok_or(VerifyError::Malformed)?;
    let config = VerifierConfig::new(issuer, audience);
    let claims = Verifier::new(config, keys.trusted.clone()).verify_at(token, now)?;
    if now >= claims.exp {
        return Err(VerifyError::Expired);
    }
    Ok(claims)
}

/// The first `aud` of an unverified token, or `None` if there is none to read.
fn peek_audience(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Aud {
        aud: Audience,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let Aud { aud } = serde_json::from_slice(&bytes).ok()?;
    aud.iter().next().map(str::to_owned)
}

/// [`verify`] as the `shared_claims` actix extractor's verifier, so the
/// auth server's own bearer-protected routes answer exactly as RFC 6750
/// says, like every resource server.
#[derive(Debug)]
pub struct OwnTokenVerifier {
    keys: Arc<KeyStore>,
    issuer: String,
}

impl OwnTokenVerifier {
    /// A verifier over the live key store.
    pub fn new(keys: Arc<KeyStore>, issuer: String) -> Self {
        Self { keys, issuer }
    }
}

impl TokenVerifier for OwnTokenVerifier {
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<AccessClaims, VerifyError>> + 'a>> {
        let result = verify(&self.keys.current(), &self.issuer, token, clock::now());
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn the_audience_is_read_from_the_payload() {
        let token = format!("{}.{}.sig", segment("{}"), segment(r#"{"aud":"api"}"#));
        assert_eq!(peek_audience(&token).as_deref(), Some("api"));
        let many = format!("h.{}.s", segment(r#"{"aud":["a","b"]}"#));
        assert_eq!(peek_audience(&many).as_deref(), Some("a"));
        for bad in [
            "",
            "a.b.c",
            "onlyone",
            &format!("h.{}.s", segment(r#"{"sub":"x"}"#)),
        ] {
            assert_eq!(peek_audience(bad), None, "{bad}");
        }
    }
}
