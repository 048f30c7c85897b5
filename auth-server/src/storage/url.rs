//! Which database to use, parsed from `--database-url`.

use std::fmt;
use std::str::FromStr;

/// A database location. The scheme picks the backend: `postgres://` or
/// `postgresql://` for PostgreSQL; `sqlite://path`, `sqlite:path` or a plain
/// path for SQLite.
///
/// `Debug` and `Display` hide a PostgreSQL password, so the value can be
/// logged.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite database file.
    Sqlite(String),
    /// A PostgreSQL connection URL, passed to libpq unchanged.
    Postgres(String),
}

/// Why a database URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// The URL names no file or server.
    #[error("the database URL is empty")]
    Empty,
    /// A scheme other than `sqlite` or `postgres(ql)`.
    #[error("unsupported database URL scheme {0:?} (use sqlite:// or postgres://)")]
    UnsupportedScheme(String),
    /// An in-memory SQLite database would be private to each pooled connection.
    #[error("an in-memory SQLite database cannot be shared by a connection pool; use a file")]
    InMemory,
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Self::Postgres(s.to_owned()));
        }
        let path = if let Some(rest) = s.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = s.strip_prefix("sqlite:") {
            rest
        } else if let Some((scheme, _)) = s.split_once("://") {
            return Err(DatabaseUrlError::UnsupportedScheme(scheme.to_owned()));
        } else {
            s
        };
        match path {
            "" => Err(DatabaseUrlError::Empty),
            ":memory:" => Err(DatabaseUrlError::InMemory),
            path => Ok(Self::Sqlite(path.to_owned())),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{path}"),
            Self::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        s.parse()
    }

    #[test]
    fn sqlite_accepts_every_documented_spelling() {
        let want = Ok(DatabaseUrl::Sqlite("/tmp/x/auth.db".into()));
        assert_eq!(parse("sqlite:///tmp/x/auth.db"), want);
        assert_eq!(parse("sqlite:/tmp/x/auth.db"), want);
        assert_eq!(parse("/tmp/x/auth.db"), want);
        assert_eq!(
            parse("sqlite://auth.db"),
            Ok(DatabaseUrl::Sqlite("auth.db".into()))
        );
    }

    #[test]
    fn postgres_is_passed_through() {
        let url = "postgresql://u:p@db:5432/auth?sslmode=disable";
        assert_eq!(parse(url), Ok(DatabaseUrl::Postgres(url.into())));
    }

    #[test]
    fn refuses_what_cannot_work() {
        assert_eq!(
            parse("mysql://x"),
            Err(DatabaseUrlError::UnsupportedScheme("mysql".into()))
        );
        assert_eq!(parse("sqlite://"), Err(DatabaseUrlError::Empty));
        assert_eq!(parse("sqlite::memory:"), Err(DatabaseUrlError::InMemory));
    }

    #[test]
    fn display_hides_the_password() {
        let url = parse("postgres://app:s3cret@db:5432/auth").expect("valid");
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/auth");
        assert!(!format!("{url:?}").contains("s3cret"));
        let no_password = parse("postgres://postgres@127.0.0.1/test").expect("valid");
        assert_eq!(
            no_password.to_string(),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
