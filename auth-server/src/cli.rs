//! The command line. Every `serve` and database flag has an `AUTH_...`
//! environment fallback, shown in `--help`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::config::{ServeConfig, default_parallelism};
use crate::domain::GrantType;
use crate::storage::{DatabaseUrl, PoolSettings};

/// OAuth 2.0 authorization server: issues Ed25519-signed JWT access tokens
/// and rotating refresh tokens.
#[derive(Debug, Parser)]
#[command(name = "auth-server", version, about)]
pub struct Cli {
    /// Database settings (every subcommand).
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve` flags, also accepted without the word `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Where the database is, and how to pool it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database: sqlite://PATH, sqlite:PATH, a plain PATH, or postgres://...
    #[arg(
        long,
        env = "AUTH_DATABASE_URL",
        default_value = "sqlite://auth.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: DatabaseUrl,
    /// Most pooled database connections.
    #[arg(long, env = "AUTH_DB_POOL_SIZE", default_value_t = 10, global = true)]
    pub db_pool_size: u32,
    /// How long a request waits for a database connection before failing
    /// with 503 temporarily_unavailable.
    #[arg(long, env = "AUTH_DB_TIMEOUT", default_value = "2s", value_parser = humantime::parse_duration, global = true)]
    pub db_timeout: Duration,
}

impl DatabaseArgs {
    /// The pool settings.
    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            url: self.database_url.clone(),
            max_size: self.db_pool_size.max(1),
            checkout_timeout: self.db_timeout,
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `serve` flags.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Port 0 picks a free port; the first line of
    /// standard output then says `listening on http://ADDR`.
    #[arg(long, env = "AUTH_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Issuer URL (`iss` of tokens, RFC 8414 `issuer`). Default:
    /// http://<bound address>.
    #[arg(long, env = "AUTH_ISSUER")]
    pub issuer: Option<String>,
    /// Access-token lifetime (e.g. 30s, 15m, 1h).
    #[arg(long, env = "AUTH_ACCESS_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    pub access_ttl: Duration,
    /// Absolute lifetime of a refresh-token family, counted from the login;
    /// refreshing never extends it.
    #[arg(long, env = "AUTH_REFRESH_TTL", default_value = "14d", value_parser = humantime::parse_duration)]
    pub refresh_ttl: Duration,
    /// Idle lifetime: a refresh token not used within this time expires
    /// (never later than the family's absolute lifetime).
    #[arg(long, env = "AUTH_REFRESH_IDLE_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub refresh_idle_ttl: Duration,
    /// Serve POST /users (self-service registration). The variable takes
    /// true/false, 1/0, yes/no, on/off.
    #[arg(long, env = "AUTH_ALLOW_REGISTRATION", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub allow_registration: bool,
    /// Most argon2 password hashes computed at once [default: number of cores].
    #[arg(long, env = "AUTH_PASSWORD_WORKERS")]
    pub password_workers: Option<usize>,
    /// HTTP worker threads [default: number of cores].
    #[arg(long, env = "AUTH_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// How often to reload signing keys from the database, to pick up a
    /// rotation made elsewhere.
    #[arg(long, env = "AUTH_KEY_REFRESH_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration)]
    pub key_refresh_interval: Duration,
}

impl ServeArgs {
    /// The server configuration.
    pub fn into_config(self, database: &DatabaseArgs) -> ServeConfig {
        ServeConfig {
            bind: self.bind,
            database: database.pool_settings(),
            issuer: self.issuer,
            access_ttl: self.access_ttl,
            refresh_ttl: self.refresh_ttl,
            refresh_idle_ttl: self.refresh_idle_ttl,
            allow_registration: self.allow_registration,
            password_workers: self.password_workers.unwrap_or_else(default_parallelism),
            http_workers: self.http_workers,
            key_refresh_interval: self.key_refresh_interval,
        }
    }
}

/// `users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user. The password is read from the first line of stdin.
    Add {
        /// Username: 1-64 characters from A-Z a-z 0-9 . _ -
        name: String,
        /// Read the password from standard input (the only way: a password
        /// on the command line would show up in `ps` and shell history).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// `clients` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client. A confidential client's secret is printed once.
    Add(ClientAddArgs),
}

/// `clients add` arguments.
#[derive(Debug, Clone, Args)]
pub struct ClientAddArgs {
    /// Client id.
    pub id: String,
    /// Give the client a secret (required for client_credentials).
    #[arg(long)]
    pub confidential: bool,
    /// A grant type the client may use (repeat for several): password,
    /// refresh_token, client_credentials, authorization_code.
    #[arg(long = "grant", required = true)]
    pub grants: Vec<GrantType>,
    /// The widest scope the client may ask for, space-separated.
    #[arg(long, default_value = "")]
    pub scope: String,
    /// Audience (`aud`) of the client's access tokens: the resource server.
    #[arg(long)]
    pub audience: String,
    /// Redirect URI for the authorization-code grant (repeat for several).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys: kid, alg, created, state (active/published/retired).
    List,
    /// Add a new Ed25519 key that becomes the signing key; older keys stay
    /// published. Running servers switch within --key-refresh-interval.
    Rotate,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).expect("parses")
    }

    #[test]
    fn serve_is_the_default_and_flags_work_with_or_without_it() {
        let bare = parse(&[
            "auth-server",
            "--bind",
            "127.0.0.1:0",
            "--access-ttl",
            "30s",
        ]);
        assert!(bare.command.is_none());
        assert_eq!(bare.serve.bind.port(), 0);
        assert_eq!(bare.serve.access_ttl, Duration::from_secs(30));

        let explicit = parse(&[
            "auth-server",
            "serve",
            "--refresh-ttl",
            "14d",
            "--allow-registration",
        ]);
        let Some(Command::Serve(args)) = explicit.command else {
            panic!("serve")
        };
        assert_eq!(args.refresh_ttl, Duration::from_secs(14 * 86400));
        assert!(args.allow_registration);
    }

    #[test]
    fn the_database_url_is_global() {
        let cli = parse(&[
            "auth-server",
            "keys",
            "list",
            "--database-url",
            "sqlite:///tmp/a.db",
        ]);
        assert_eq!(
            cli.database.database_url,
            DatabaseUrl::Sqlite("/tmp/a.db".into())
        );
        let before = parse(&[
            "auth-server",
            "--database-url",
            "postgres://db/x",
            "users",
            "add",
            "bob",
            "--password-stdin",
        ]);
        assert!(matches!(
            before.database.database_url,
            DatabaseUrl::Postgres(_)
        ));
    }

    #[test]
    fn clients_add_takes_repeated_grants() {
        let cli = parse(&[
            "auth-server",
            "clients",
            "add",
            "app",
            "--grant",
            "password",
            "--grant",
            "refresh_token",
            "--scope",
            "notes:read notes:write",
            "--audience",
            "resource-server",
        ]);
        let Some(Command::Clients(ClientsCommand::Add(args))) = cli.command else {
            panic!("clients add")
        };
        assert_eq!(
            args.grants,
            vec![GrantType::Password, GrantType::RefreshToken]
        );
        assert!(!args.confidential);
        assert!(
            Cli::try_parse_from([
                "auth-server",
                "clients",
                "add",
                "app",
                "--grant",
                "implicit",
                "--audience",
                "a"
            ])
            .is_err()
        );
    }

    #[test]
    fn users_add_requires_password_stdin() {
        assert!(Cli::try_parse_from(["auth-server", "users", "add", "bob"]).is_err());
    }

    #[test]
    fn the_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
