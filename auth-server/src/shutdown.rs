//! Graceful shutdown.
//!
//! On SIGTERM actix stops accepting connections and lets the requests in
//! flight finish (their argon2 and database work included) for up to
//! `--shutdown-timeout`; what is still running then is cut off. SIGINT and
//! SIGQUIT stop at once (actix-server's choice: a terminal's Ctrl-C should
//! not wait). A load balancer should stop routing to an instance before it
//! is sent SIGTERM; `/readyz` keeps answering until the listener closes.

use std::time::Duration;

/// The timeout actix takes (whole seconds), rounded up so that `500ms`
/// still gives in-flight requests a chance rather than none.
pub fn timeout_secs(timeout: Duration) -> u64 {
    timeout
        .as_secs()
        .saturating_add(u64::from(timeout.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_to_whole_seconds() {
        assert_eq!(timeout_secs(Duration::from_secs(10)), 10);
        assert_eq!(timeout_secs(Duration::from_millis(1500)), 2);
        assert_eq!(timeout_secs(Duration::from_millis(1)), 1);
        assert_eq!(timeout_secs(Duration::ZERO), 0);
    }
}
