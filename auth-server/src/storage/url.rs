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

/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`,
/// and a password given as a query parameter (libpq accepts
/// `?password=...` and `?sslpassword=...` in a URI) is masked the same way.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if is_password_parameter(key) => format!("{key}=***"),
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// The libpq connection parameters that carry a secret.
fn is_password_parameter(key: &str) -> bool {
    key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword")
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
        let in_query =
            parse("postgres://app@db/auth?sslmode=disable&password=s3cret&sslpassword=k3y")
                .expect("valid");
        assert_eq!(
            in_query.to_string(),
            "postgres://app@db/auth?sslmode=disable&password=***&sslpassword=***"
        );
        let both = parse("postgres://app:s3cret@db?password=s3cret").expect("valid");
        assert_eq!(both.to_string(), "postgres://app:***@db?password=***");
        let no_password = parse("postgres://postgres@127.0.0.1/test").expect("valid");
        assert_eq!(
            no_password.to_string(),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
