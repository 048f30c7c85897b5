//! An actix-web extractor that turns `Authorization: Bearer <token>` into
//! verified claims, and answers every failure the way RFC 6750 §3 says.
//!
//! Register a [`TokenVerifier`] as `web::Data<dyn TokenVerifier>` (and
//! optionally a [`BearerConfig`] for the realm), then take [`Authenticated`]
//! or [`Scoped`] as a handler argument; the [crate-level docs](crate) show a
//! whole service.
//!
//! The responses, with the default realm `api`:
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no `Authorization`, or another scheme | 401 | `Bearer realm="api"` (no error code, empty body) |
//! | `Bearer` with no token, two tokens, bad characters, repeated header | 400 | `Bearer realm="api", error="invalid_request", error_description="..."` |
//! | token refused by the verifier | 401 | `Bearer realm="api", error="invalid_token", error_description="..."` |
//! | valid token without the scope | 403 | `Bearer realm="api", error="insufficient_scope", error_description="...", scope="..."` |
//! | no verifier registered, or no keys yet | 503 | none; `Retry-After: 5` |
//!
//! Every response with an error code carries the JSON body
//! `{"error": "...", "error_description": "..."}` (plus `"scope"` for
//! `insufficient_scope`). The plain 401 has an empty body: RFC 6750 §3.1 says a
//! request without credentials gets no error code, so there is nothing to say.

mod challenge;
mod credentials;
mod extract;

use std::future::Future;
use std::pin::Pin;

pub use challenge::{BearerChallenge, BearerError};
pub use extract::{Authenticated, RequiredScope, Scoped};

use crate::{AccessClaims, Verifier, VerifyError};

/// The realm used when no [`BearerConfig`] is registered.
pub const DEFAULT_REALM: &str = "api";

/// Anything that can verify a token: [`Verifier`] implements it, and a
/// resource server's JWKS cache implements it to refetch keys on an unknown
/// `kid`.
///
/// Register it as `web::Data::<dyn TokenVerifier>::from(arc)`. `Send + Sync`
/// because actix clones that handle into every worker thread.
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token`, possibly after fetching keys.
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<AccessClaims, VerifyError>> + 'a>>;

    /// Whether the verifier can judge tokens at all (for instance, whether
    /// any keys have been loaded). When it is not, requests with a token get
    /// 503 instead of a misleading `invalid_token`.
    fn is_ready(&self) -> bool {
        true
    }
}

impl TokenVerifier for Verifier {
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<AccessClaims, VerifyError>> + 'a>> {
        Box::pin(std::future::ready(Verifier::verify(self, token)))
    }

    fn is_ready(&self) -> bool {
        !self.keys().is_empty()
    }
}

/// Settings of the extractor, registered as `web::Data<BearerConfig>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerConfig {
    /// The `realm` of every `WWW-Authenticate` challenge (RFC 7235 §2.2).
    pub realm: String,
}

impl Default for BearerConfig {
    fn default() -> Self {
        Self {
            realm: DEFAULT_REALM.to_owned(),
        }
    }
}
