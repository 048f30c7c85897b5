//! Command-line configuration. Flag names are a contract (DESIGN.md §3):
//! operators, docker-compose and the e2e tests rely on them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use jsonwebtoken::Algorithm;

/// How the resource server is configured. Every flag has a `RESOURCE_*`
/// environment fallback.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "resource-server",
    version,
    about = "The protected notes API: verifies OAuth 2.0 access tokens locally with the auth server's public keys."
)]
pub struct Config {
    /// Address to listen on. Port 0 takes a free port; the first line of
    /// standard output then says which (`listening on http://ADDR`).
    #[arg(long, env = "RESOURCE_BIND", default_value = "127.0.0.1:8081")]
    pub bind: SocketAddr,

    /// The auth server's issuer URL; tokens must carry exactly this `iss`.
    #[arg(long, env = "RESOURCE_ISSUER", default_value = "http://127.0.0.1:8080")]
    pub issuer: String,

    /// This API's audience; tokens must list it in `aud`.
    #[arg(long, env = "RESOURCE_AUDIENCE", default_value = "resource-server")]
    pub audience: String,

    /// Where to fetch the auth server's public keys [default: {issuer}/.well-known/jwks.json].
    #[arg(long, env = "RESOURCE_JWKS_URL", conflicts_with = "jwks_file")]
    pub jwks_url: Option<String>,

    /// Read the public keys from this JWKS file once at start and never fetch
    /// (offline deployments).
    #[arg(long, env = "RESOURCE_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    #[arg(long, env = "RESOURCE_LEEWAY", default_value = "5s")]
    pub leeway: humantime::Duration,

    /// How often the key set is refetched in the background.
    #[arg(long, env = "RESOURCE_JWKS_REFRESH", default_value = "5m")]
    pub jwks_refresh: humantime::Duration,

    /// Minimum time between refetches triggered by tokens naming an unknown
    /// `kid`, so a flood of forged kids cannot flood the auth server.
    #[arg(long, env = "RESOURCE_JWKS_COOLDOWN", default_value = "30s")]
    pub jwks_cooldown: humantime::Duration,

    /// Signature algorithms accepted (comma-separated allowlist).
    #[arg(
        long,
        env = "RESOURCE_ALGORITHMS",
        value_delimiter = ',',
        default_value = "EdDSA,ES256,RS256",
        value_parser = parse_algorithm
    )]
    pub algorithms: Vec<Algorithm>,

    /// The realm named in `WWW-Authenticate` challenges.
    #[arg(long, env = "RESOURCE_REALM", default_value = "api")]
    pub realm: String,

    /// A browser origin allowed to call the API (CORS), e.g. the auth
    /// server serving the playground: http://127.0.0.1:8080. Repeat for
    /// several (comma-separated in the variable). None: no CORS headers.
    #[arg(
        long = "cors-origin",
        env = "RESOURCE_CORS_ORIGINS",
        value_delimiter = ',',
        value_parser = crate::cors::parse_origin
    )]
    pub cors_origins: Vec<String>,

    /// HTTP worker threads [default: the cores this process may run on].
    #[arg(long, env = "RESOURCE_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
}

impl Config {
    /// Where the keys come from: the file when one is given, else the URL,
    /// else the issuer's conventional JWKS location.
    pub fn key_location(&self) -> KeyLocation {
        match (&self.jwks_file, &self.jwks_url) {
            (Some(path), _) => KeyLocation::File(path.clone()),
            (None, Some(url)) => KeyLocation::Url(url.clone()),
            (None, None) => KeyLocation::Url(format!(
                "{}/.well-known/jwks.json",
                self.issuer.trim_end_matches('/')
            )),
        }
    }

    /// Durations as std types, for the layers below the CLI.
    pub fn leeway(&self) -> Duration {
        self.leeway.into()
    }
}

/// Where the public keys are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// Fetched over HTTP(S), refreshed in the background.
    Url(String),
    /// Read once from a file.
    File(PathBuf),
}

/// Only the asymmetric algorithms the shared verifier binds keys to: an HMAC
/// algorithm here would invite the classic "public key as HMAC secret" forgery.
fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    match s.trim() {
        "EdDSA" => Ok(Algorithm::EdDSA),
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        other => Err(format!(
            "unsupported algorithm {other:?}: expected EdDSA, ES256 or RS256"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("resource-server").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_derive_the_jwks_url_from_the_issuer() {
        let config = parse(&["--issuer", "http://auth.example/"]).expect("parses");
        assert_eq!(
            config.key_location(),
            KeyLocation::Url("http://auth.example/.well-known/jwks.json".into())
        );
        assert_eq!(config.audience, "resource-server");
        assert_eq!(config.leeway(), Duration::from_secs(5));
        assert_eq!(
            config.algorithms,
            vec![Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256]
        );
    }

    #[test]
    fn the_contract_flags_parse() {
        let config = parse(&[
            "--bind",
            "127.0.0.1:0",
            "--jwks-file",
            "/etc/keys.json",
            "--leeway",
            "0s",
            "--jwks-refresh",
            "1m",
            "--jwks-cooldown",
            "10s",
            "--algorithms",
            "EdDSA,RS256",
            "--realm",
            "notes",
        ])
        .expect("parses");
        assert_eq!(config.bind.port(), 0);
        assert_eq!(
            config.key_location(),
            KeyLocation::File("/etc/keys.json".into())
        );
        assert_eq!(
            Duration::from(config.jwks_cooldown),
            Duration::from_secs(10)
        );
        assert_eq!(config.algorithms, vec![Algorithm::EdDSA, Algorithm::RS256]);
        assert_eq!(config.realm, "notes");
    }

    #[test]
    fn cors_origins_repeat_and_default_to_none() {
        assert!(parse(&[]).expect("parses").cors_origins.is_empty());
        let config = parse(&[
            "--cors-origin",
            "http://127.0.0.1:8080/",
            "--cors-origin",
            "https://notes.example",
        ])
        .expect("parses");
        assert_eq!(
            config.cors_origins,
            vec!["http://127.0.0.1:8080", "https://notes.example"]
        );
        assert!(parse(&["--cors-origin", "*"]).is_err());
    }

    #[test]
    fn symmetric_algorithms_and_two_key_sources_are_refused() {
        assert!(parse(&["--algorithms", "HS256"]).is_err());
        assert!(parse(&["--jwks-url", "http://a/jwks", "--jwks-file", "k.json"]).is_err());
    }

    #[test]
    fn a_jwks_url_must_be_http_without_credentials() {
        for url in ["ftp://auth/jwks", "not a url", "https://user:pw@auth/jwks"] {
            let config = parse(&["--bind", "127.0.0.1:0", "--jwks-url", url]).expect("parses");
            let error = crate::Application::build(config).expect_err(url);
            assert!(
                matches!(error, crate::StartupError::JwksUrl { .. }),
                "{url}"
            );
            assert!(!error.to_string().contains("pw"), "{url}");
        }
    }
}
