//! The contract between the auth server and every resource server: the claims
//! an access token carries, the scope and audience types, the JWKS types, and
//! the one routine that turns a token string into verified claims.
//!
//! # Verifying a token
//!
//! Trust the public keys of the issuer's JWKS, then verify each token against
//! them. The algorithm comes from the trusted key, never from the token; see
//! [`Verifier::verify_at`] for the order of checks.
//!
//! ```
//! use shared_claims::{JwkSet, TrustedKeys, Verifier, VerifierConfig, VerifyError};
//!
//! let jwks: JwkSet = serde_json::from_str(r#"{"keys": [{
//!     "kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig",
//!     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
//! }]}"#)?;
//! let config = VerifierConfig::new("https://auth.example", "resource-server");
//! let (keys, rejected) = TrustedKeys::from_jwks(&jwks, &config.algorithms);
//! assert!(rejected.is_empty() && keys.contains("k1"));
//!
//! let verifier = Verifier::new(config, keys);
//! match verifier.verify("not.a.token") {
//!     Ok(claims) => println!("hello {}", claims.sub),
//!     // `description()` is safe to send to the client; `reason()` to metrics.
//!     Err(error) => assert_eq!(error, VerifyError::Malformed),
//! }
//! # Ok::<(), serde_json::Error>(())
//! ```
#![cfg_attr(
    feature = "actix",
    doc = r#"
# Protecting actix-web routes (feature `actix`)

Register the verifier once; then a handler argument of type
[`actix::Authenticated`] or [`actix::Scoped`] admits only requests with a valid
bearer token (and scope), and every refusal is an RFC 6750 §3 response.

```no_run
use std::sync::Arc;
use actix_web::{App, HttpServer, get, web};
use shared_claims::actix::{Authenticated, RequiredScope, Scoped, TokenVerifier};
use shared_claims::{JwkSet, TrustedKeys, Verifier, VerifierConfig};

struct NotesRead;
impl RequiredScope for NotesRead {
    const SCOPE: &'static str = "notes:read";
}

#[get("/api/me")]
async fn me(auth: Authenticated) -> String {
    format!("hello {}", auth.sub)
}

#[get("/api/notes")]
async fn notes(caller: Scoped<NotesRead>) -> String {
    format!("the notes of {}", caller.sub)
}

# async fn run(jwks: JwkSet) -> std::io::Result<()> {
let config = VerifierConfig::new("https://auth.example", "resource-server");
let (keys, _rejected) = TrustedKeys::from_jwks(&jwks, &config.algorithms);
let verifier: Arc<dyn TokenVerifier> = Arc::new(Verifier::new(config, keys));
HttpServer::new(move || {
    App::new()
        .app_data(web::Data::<dyn TokenVerifier>::from(verifier.clone()))
        .service(me)
        .service(notes)
})
.bind(("127.0.0.1", 0))?
.run()
.await
# }
```
"#
)]

mod claims;
mod jwks;
mod scope;
mod verify;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "actix")]
pub mod http_metrics;

pub use claims::{ACCESS_TOKEN_TYP, AccessClaims, Audience};
pub use jwks::{Jwk, JwkSet};
pub use scope::{Scope, ScopeError};
pub use verify::{KeyRejection, TrustedKeys, Verifier, VerifierConfig, VerifyError};
