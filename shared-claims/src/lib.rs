//! The contract between the auth server and every resource server: the claims
//! an access token carries, the scope and audience types, the JWKS types, and
//! the one routine that turns a token string into verified claims. With the
//! feature `actix`, an extractor protects actix-web routes in a few lines.
//!
//! Nothing here talks to the network or reads the clock behind your back:
//! keys come in as a [`JwkSet`] you fetched or read, and
//! [`Verifier::verify_at`] takes the time as an argument (tests use it).
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
//!
//! # Keys from a file
//!
//! A service that must not depend on the auth server at start (an offline
//! deployment, a test) reads the JWKS from a file. Rejected keys come back
//! with the reason, for the operator's log; none usable is an error.
//!
//! ```
//! use std::error::Error;
//! use std::path::Path;
//!
//! use shared_claims::{JwkSet, TrustedKeys, VerifierConfig};
//!
//! fn keys_from_file(path: &Path, config: &VerifierConfig) -> Result<TrustedKeys, Box<dyn Error>> {
//!     let jwks: JwkSet = serde_json::from_str(&std::fs::read_to_string(path)?)?;
//!     let (keys, rejected) = TrustedKeys::from_jwks(&jwks, &config.algorithms);
//!     for rejection in &rejected {
//!         println!("ignoring a key of {}: {rejection}", path.display());
//!     }
//!     if keys.is_empty() {
//!         return Err(format!("{} holds no usable key", path.display()).into());
//!     }
//!     Ok(keys)
//! }
//!
//! # let path = std::env::temp_dir().join(format!("shared-claims-doc-{}.json", std::process::id()));
//! # std::fs::write(&path, r#"{"keys": [
//! #     {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
//! #     {"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"}
//! # ]}"#)?;
//! let config = VerifierConfig::new("https://auth.example", "notes-api");
//! let keys = keys_from_file(&path, &config)?; // the symmetric key is refused
//! assert!(keys.contains("k1") && !keys.contains("shared-secret"));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(feature = "actix", doc = include_str!("../docs/actix.md"))]
#![cfg_attr(
    not(feature = "actix"),
    doc = "# Protecting actix-web routes\n\nEnable the feature `actix` for extractors that \
           admit only requests with a valid bearer token; these docs then show how."
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
