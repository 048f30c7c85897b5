//! A bound on how long opening a PostgreSQL connection may take.
//!
//! The pool's checkout timeout bounds how long a request waits, but not the
//! connection attempt itself, which r2d2 makes on a few background threads:
//! without libpq's `connect_timeout`, a database host that drops packets
//! keeps those threads in `connect()` for the kernel's TCP timeout (minutes),
//! and the pool cannot reconnect when the database is back. SQLite opens a
//! local file and needs nothing.

use std::time::Duration;

use super::DatabaseUrl;

/// libpq's smallest effective `connect_timeout`: it treats 1 as 2.
const MIN_CONNECT_TIMEOUT_SECS: u64 = 2;

/// `url` with `connect_timeout` set to `timeout` (whole seconds, at least
/// 2), unless the URL already sets one: the operator's choice wins.
pub fn with_connect_timeout(url: &DatabaseUrl, timeout: Duration) -> DatabaseUrl {
    match url {
        DatabaseUrl::Sqlite(_) => url.clone(),
        DatabaseUrl::Postgres(raw) => {
            let (_, query) = raw.split_once('?').unwrap_or((raw, ""));
            let already_set = query
                .split('&')
                .any(|pair| pair.split('=').next() == Some("connect_timeout"));
            if already_set {
                return url.clone();
            }
            let rounded_up = timeout
                .as_secs()
                .saturating_add(u64::from(timeout.subsec_nanos() > 0));
            let secs = rounded_up.max(MIN_CONNECT_TIMEOUT_SECS);
            let separator = match query {
                "" if raw.ends_with('?') => "",
                "" => "?",
                _ => "&",
            };
            DatabaseUrl::Postgres(format!("{raw}{separator}connect_timeout={secs}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(url: &str) -> DatabaseUrl {
        DatabaseUrl::Postgres(url.to_owned())
    }

    #[test]
    fn adds_a_timeout_to_postgres_urls() {
        let two = Duration::from_secs(2);
        assert_eq!(
            with_connect_timeout(&pg("postgres://u@db/auth"), two),
            pg("postgres://u@db/auth?connect_timeout=2")
        );
        assert_eq!(
            with_connect_timeout(&pg("postgres://u@db/auth?sslmode=disable"), two),
            pg("postgres://u@db/auth?sslmode=disable&connect_timeout=2")
        );
        assert_eq!(
            with_connect_timeout(&pg("postgres://u@db/auth?"), two),
            pg("postgres://u@db/auth?connect_timeout=2")
        );
    }

    #[test]
    fn follows_the_pool_timeout_but_never_below_libpqs_minimum() {
        assert_eq!(
            with_connect_timeout(&pg("postgres://db/a"), Duration::from_millis(300)),
            pg("postgres://db/a?connect_timeout=2")
        );
        assert_eq!(
            with_connect_timeout(&pg("postgres://db/a"), Duration::from_millis(4500)),
            pg("postgres://db/a?connect_timeout=5")
        );
    }

    #[test]
    fn keeps_an_explicit_timeout_and_leaves_sqlite_alone() {
        let explicit = pg("postgres://db/a?connect_timeout=30&sslmode=require");
        assert_eq!(
            with_connect_timeout(&explicit, Duration::from_secs(2)),
            explicit
        );
        let sqlite = DatabaseUrl::Sqlite("/tmp/auth.db".into());
        assert_eq!(
            with_connect_timeout(&sqlite, Duration::from_secs(2)),
            sqlite
        );
    }
}
