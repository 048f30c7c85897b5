//! The resource server: a small notes API that accepts OAuth 2.0 access
//! tokens (RFC 9068 JWTs) and verifies them locally with the auth server's
//! public keys, fetched from its JWKS and cached. It never calls the auth
//! server per request and has no database.
//!
//! `main.rs` only parses [`Config`] and runs an [`Application`]; tests start
//! the same `Application` in process on port 0.

pub mod config;
pub mod cors;
pub mod error;
pub use shared_claims::http_metrics;
pub mod jwks;
pub mod notes;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::{Application, StartupError};
