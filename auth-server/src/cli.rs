//! The command line. Every `serve` and database flag has an `AUTH_...`
//! environment fallback, shown in `--help`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::config::{ServeConfig, default_parallelism};
use crate::domain::{GrantType, SigningAlg};
use crate::playground::ResourceUrl;
use crate::storage::{DatabaseUrl, PoolSettings};
use crate::throttle::{Limits, ThrottleConfig};

/// OAuth 2.0 authorization server: issues signed JWT access tokens (EdDSA,
/// ES256 or RS256) and rotating refresh tokens; revocation, introspection,
/// zero-downtime key rotation.
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
    /// with 503 temporarily_unavailable (Retry-After). Also bounds opening a
    /// PostgreSQL connection (libpq connect_timeout, at least 2s, unless the
    /// URL sets one).
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
    /// Reuse grace window (0s: off). For this long after a refresh token
    /// was rotated, presenting it again is not treated as theft but answered
    /// with a fresh pair in the same family, for clients whose refresh
    /// response got lost; the successor issued before is used up, so the
    /// family keeps one live token. Only the immediate predecessor of the
    /// live token qualifies, at most --refresh-reuse-grace-max times;
    /// anything older or later is reuse and revokes the family. Trade-off:
    /// within the window a thief replaying a just-rotated token is served
    /// too, and caught only one refresh later (when the victim's token turns
    /// out used); keep it to seconds.
    #[arg(long, env = "AUTH_REFRESH_REUSE_GRACE", default_value = "0s", value_parser = humantime::parse_duration)]
    pub refresh_reuse_grace: Duration,
    /// How many times one rotated refresh token may be replayed within the
    /// reuse grace window.
    #[arg(long, env = "AUTH_REFRESH_REUSE_GRACE_MAX", default_value_t = 2)]
    pub refresh_reuse_grace_max: u32,
    /// Algorithm of the signing key generated when none exists (the first
    /// start): EdDSA, ES256 or RS256. Later keys: `keys rotate --alg`.
    #[arg(long, env = "AUTH_SIGNING_ALG", default_value = "EdDSA")]
    pub signing_alg: SigningAlg,
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
    /// After SIGTERM: stop accepting connections, and give requests in
    /// flight this long to finish (rounded up to whole seconds) before
    /// cutting them off. SIGINT stops at once.
    #[arg(long, env = "AUTH_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
    /// Serve the playground, a page for learners, at GET /playground, calling
    /// the resource server at this URL (e.g. http://127.0.0.1:8081). That
    /// server must allow this one's origin: its --cors-origin. Off when unset.
    #[arg(long, env = "AUTH_PLAYGROUND_RESOURCE_URL", value_parser = ResourceUrl::parse)]
    pub playground_resource_url: Option<ResourceUrl>,
    /// Brute-force throttling.
    #[command(flatten)]
    pub throttle: ThrottleArgs,
}

/// Brute-force throttling flags. Over a limit, attempts get 429 with
/// Retry-After until the lockout ends; each repeat lockout doubles, up to
/// --throttle-max-lockout. A limit of 0 turns it off. Counts are per
/// instance: behind a load balancer over N instances, an attacker gets up
/// to N times each limit. Addresses are the TCP peer's (an IPv6 /64 counts
/// as one): behind a reverse proxy, raise or turn off the per-IP limits.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Brute-force throttling")]
pub struct ThrottleArgs {
    /// Failed logins for one account from one address before a lockout. A
    /// successful login from that address clears its count.
    #[arg(long, env = "AUTH_LOGIN_FAILURES_PER_SOURCE", default_value_t = 5)]
    pub login_failures_per_source: u32,
    /// Failed logins for one account from all addresses before the account
    /// is locked for new addresses. Addresses that logged in to it
    /// successfully in the last 30 days are exempt, so an attacker cannot
    /// lock the owner out of a familiar device.
    #[arg(long, env = "AUTH_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 20)]
    pub login_failures_per_account: u32,
    /// Failed logins from one address, for all accounts, before a lockout.
    #[arg(long, env = "AUTH_LOGIN_FAILURES_PER_IP", default_value_t = 100)]
    pub login_failures_per_ip: u32,
    /// Failed client authentications for one client id from one address.
    #[arg(long, env = "AUTH_CLIENT_FAILURES_PER_SOURCE", default_value_t = 10)]
    pub client_failures_per_source: u32,
    /// Failed client authentications for one client id from all addresses
    /// (addresses where it authenticated in the last 30 days are exempt).
    #[arg(long, env = "AUTH_CLIENT_FAILURES_PER_CLIENT", default_value_t = 50)]
    pub client_failures_per_client: u32,
    /// Failed client authentications from one address, for all clients.
    #[arg(long, env = "AUTH_CLIENT_FAILURES_PER_IP", default_value_t = 100)]
    pub client_failures_per_ip: u32,
    /// Failures older than this stop counting; a key quiet this long after
    /// its last lockout is forgotten, so the backoff starts over.
    #[arg(long, env = "AUTH_THROTTLE_WINDOW", default_value = "15m", value_parser = humantime::parse_duration)]
    pub throttle_window: Duration,
    /// The first lockout.
    #[arg(long, env = "AUTH_THROTTLE_LOCKOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub throttle_lockout: Duration,
    /// The longest single lockout.
    #[arg(long, env = "AUTH_THROTTLE_MAX_LOCKOUT", default_value = "15m", value_parser = humantime::parse_duration)]
    pub throttle_max_lockout: Duration,
    /// Most keys (account+address, account, address) each throttle table
    /// remembers; the oldest are dropped first. About 100 bytes each.
    #[arg(long, env = "AUTH_THROTTLE_CAPACITY", default_value_t = 100_000)]
    pub throttle_capacity: usize,
}

impl ThrottleArgs {
    /// The throttling settings.
    pub fn config(&self) -> ThrottleConfig {
        ThrottleConfig {
            login: Limits {
                per_source: self.login_failures_per_source,
                per_subject: self.login_failures_per_account,
                per_ip: self.login_failures_per_ip,
            },
            client: Limits {
                per_source: self.client_failures_per_source,
                per_subject: self.client_failures_per_client,
                per_ip: self.client_failures_per_ip,
            },
            window: self.throttle_window,
            lockout: self.throttle_lockout,
            max_lockout: self.throttle_max_lockout,
            capacity: self.throttle_capacity,
        }
    }
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
            refresh_reuse_grace: self.refresh_reuse_grace,
            refresh_reuse_grace_max: self.refresh_reuse_grace_max,
            signing_alg: self.signing_alg,
            allow_registration: self.allow_registration,
            password_workers: self.password_workers.unwrap_or_else(default_parallelism),
            http_workers: self.http_workers,
            key_refresh_interval: self.key_refresh_interval,
            shutdown_timeout: self.shutdown_timeout,
            throttle: self.throttle.config(),
            playground_resource_url: self.playground_resource_url,
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
        /// Succeed without changes when the user exists (its password is
        /// left as it is), so a setup script can run again.
        #[arg(long)]
        if_missing: bool,
    },
    /// Disable a user: no more logins or refreshes, and every session
    /// (token family) is revoked at once. Access tokens already issued stay
    /// valid until they expire (they are self-contained JWTs).
    Disable {
        /// Username.
        name: String,
    },
    /// Enable a disabled user again (revoked sessions stay revoked).
    Enable {
        /// Username.
        name: String,
    },
    /// List a user's active sessions: token family id, client, scope,
    /// created, last refresh, expiry.
    Sessions {
        /// Username.
        name: String,
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
    /// Succeed without changes when a client with this id exists (its
    /// settings are left as they are), so a setup script can run again.
    #[arg(long)]
    pub if_missing: bool,
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys: kid, alg, created, activates, retires, and state
    /// (pending, active, published = verify-only, retired).
    List,
    /// Rotate without downtime: publish a new key at once, sign with it
    /// after --activation-delay, and retire the older keys --retire-after
    /// later, when every token they signed has expired.
    Rotate(KeysRotateArgs),
}

/// `keys rotate` arguments.
#[derive(Debug, Clone, Args)]
pub struct KeysRotateArgs {
    /// Algorithm of the new key: EdDSA, ES256 or RS256.
    #[arg(long, default_value = "EdDSA")]
    pub alg: SigningAlg,
    /// Time between publishing the new key and signing with it. Must exceed
    /// how long resource servers cache the JWKS (their refresh interval,
    /// 5m by default), so none sees a token from a key it has not fetched.
    #[arg(long, env = "AUTH_KEY_ACTIVATION_DELAY", default_value = "10m", value_parser = humantime::parse_duration)]
    pub activation_delay: Duration,
    /// How long the older keys stay published after the new one starts
    /// signing. Must exceed the servers' --access-ttl plus their
    /// --key-refresh-interval, so every token an old key signed has expired
    /// before verifiers forget the key.
    #[arg(long, env = "AUTH_KEY_RETIRE_AFTER", default_value = "1h", value_parser = humantime::parse_duration)]
    pub retire_after: Duration,
    /// The servers' access-token lifetime (`serve --access-ttl`, read from
    /// the same AUTH_ACCESS_TTL), to check --retire-after against: a
    /// shorter --retire-after strands the old key's last tokens before they
    /// expire, which is only what you want when retiring a compromised key.
    #[arg(long, env = "AUTH_ACCESS_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    pub access_ttl: Duration,
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
    fn throttling_defaults_match_the_library_and_flags_override_them() {
        let defaults = parse(&["auth-server"]);
        assert_eq!(defaults.serve.throttle.config(), ThrottleConfig::default());
        let tuned = parse(&[
            "auth-server",
            "--login-failures-per-source",
            "3",
            "--client-failures-per-ip",
            "0",
            "--throttle-lockout",
            "1m",
        ]);
        let config = tuned.serve.throttle.config();
        assert_eq!(config.login.per_source, 3);
        assert_eq!(config.client.per_ip, 0);
        assert_eq!(config.lockout, Duration::from_secs(60));
    }

    #[test]
    fn the_playground_is_off_unless_given_a_resource_url() {
        assert!(
            parse(&["auth-server"])
                .serve
                .playground_resource_url
                .is_none()
        );
        let on = parse(&[
            "auth-server",
            "--playground-resource-url",
            "http://127.0.0.1:8081/",
        ]);
        assert_eq!(
            on.serve.playground_resource_url.map(|url| url.to_string()),
            Some("http://127.0.0.1:8081".to_owned())
        );
        assert!(
            Cli::try_parse_from(["auth-server", "--playground-resource-url", "127.0.0.1:8081"])
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
