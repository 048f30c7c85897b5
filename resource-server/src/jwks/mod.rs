//! The auth server's public keys: where they come from (`source`), the cache
//! that verifies tokens with them (`cache`), and the background task that
//! loads and refreshes it (`refresher`, retrying with `backoff`), and the
//! tokens already verified with the current keys (`verified`).

mod backoff;
mod cache;
mod refresher;
mod source;
mod verified;

pub use backoff::Backoff;
pub use cache::{CacheRejection, CacheSettings, FetchStats, JwksCache};
pub use refresher::spawn_refresher;
pub use source::{FetchError, JwksSource, read_jwks_file};
pub use verified::{DEFAULT_CAPACITY, TokenDigest, VerifiedStats, VerifiedTokens};

/// The error and its causes on one line, for logs: `reqwest` puts the
/// interesting part (refused, timed out) in the source.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
