//! The auth server as a library: `main.rs` only parses the command line and
//! calls in here, so tests can start the real server in process.

pub mod admin;
pub mod authorize;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod commands;
pub mod config;
pub mod domain;
pub mod form;
pub mod grants;
pub use shared_claims::http_metrics;
pub mod introspection;
pub mod key_material;
pub mod keys;
pub mod metrics;
pub mod oauth_error;
pub mod own_tokens;
pub mod passwords;
pub mod playground;
pub mod report;
pub mod revocation;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod storage;
pub mod throttle;
pub mod tokens;
