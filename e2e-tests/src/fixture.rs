//! Owners of real server processes for end-to-end tests and the demo.
//!
//! Each [`AuthServer`] gets its own database (a fresh SQLite file by default)
//! and a free port; each [`ResourceServer`] trusts one auth server. Both are
//! ready when constructed (their `/readyz` answered 200) and are stopped with
//! SIGTERM, then SIGKILL after a grace period, when dropped. If the test is
//! failing, the servers' stderr is printed as they are dropped.
//!
//! ```no_run
//! use e2e_tests::fixture::{AuthServer, ResourceServer};
//! # fn main() -> anyhow::Result<()> {
//! let auth = AuthServer::start()?;
//! auth.add_user("alice", "correct horse battery staple")?;
//! auth.add_client("notes-app", &["password", "refresh_token"], "notes:read", "resource-server")?;
//! let api = ResourceServer::start(&auth)?;
//! println!("{} trusts {}", api.url(), auth.issuer());
//! # Ok(())
//! # }
//! ```

mod binaries;
mod cli;
mod database;
mod process;
mod ready;

use std::ffi::OsString;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::Result;

pub use binaries::{BuildOutput, ensure_built};
pub use cli::CliOutput;
pub use database::{Database, TEST_DATABASE_URL};

use process::ServerProcess;

/// The audience the resource server accepts unless told otherwise.
pub const DEFAULT_AUDIENCE: &str = "resource-server";

/// Settings for an [`AuthServer`]; anything left unset is the server's default.
#[derive(Debug, Default)]
#[must_use]
pub struct AuthServerBuilder {
    database: Option<Database>,
    issuer: Option<String>,
    access_ttl: Option<Duration>,
    refresh_ttl: Option<Duration>,
    allow_registration: bool,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
}

impl AuthServerBuilder {
    /// Use this database (e.g. another server's, to run two instances over
    /// the same data) instead of a fresh SQLite file.
    pub fn database(mut self, database: Database) -> Self {
        self.database = Some(database);
        self
    }

    /// `--issuer`; by default the server uses `http://<bound address>`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// `--access-ttl`.
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = Some(ttl);
        self
    }

    /// `--refresh-ttl`.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = Some(ttl);
        self
    }

    /// `--allow-registration`: open `POST /users`.
    pub fn allow_registration(mut self, allow: bool) -> Self {
        self.allow_registration = allow;
        self
    }

    /// Any further command-line argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An environment variable for the server process.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Starts the server and waits until it is ready.
    pub fn start(self) -> Result<AuthServer> {
        ensure_built(BuildOutput::Captured)?;
        let binary = binaries::auth_server()?;
        let database = match self.database {
            Some(database) => database,
            None => Database::sqlite()?,
        };

        let mut command = server_command(&binary, "AUTH_");
        command
            .arg("--database-url")
            .arg(database.url())
            .args(["--bind", "127.0.0.1:0"]);
        if let Some(issuer) = &self.issuer {
            command.arg("--issuer").arg(issuer);
        }
        if let Some(ttl) = self.access_ttl {
            command.arg("--access-ttl").arg(duration_arg(ttl));
        }
        if let Some(ttl) = self.refresh_ttl {
            command.arg("--refresh-ttl").arg(duration_arg(ttl));
        }
        if self.allow_registration {
            command.arg("--allow-registration");
        }
        command.args(&self.args).envs(self.envs.iter().cloned());

        let mut process = ServerProcess::spawn("auth-server", command)?;
        ready::wait(&mut process)?;
        // The contract: without --issuer the issuer is the bound address.
        let issuer = self.issuer.unwrap_or_else(|| process.url().to_owned());
        Ok(AuthServer {
            process,
            issuer,
            binary,
            envs: self.envs,
            database,
        })
    }
}

/// A running `auth-server` process with its own database.
#[derive(Debug)]
pub struct AuthServer {
    // Field order matters: the process stops before the database goes away.
    process: ServerProcess,
    issuer: String,
    binary: std::path::PathBuf,
    envs: Vec<(OsString, OsString)>,
    database: Database,
}

impl AuthServer {
    /// Settings for a new server.
    pub fn builder() -> AuthServerBuilder {
        AuthServerBuilder::default()
    }

    /// A server with default settings on a fresh SQLite database.
    pub fn start() -> Result<Self> {
        Self::builder().start()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        self.process.url()
    }

    /// The `iss` its tokens carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `url` + `path`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// `POST /oauth/token`.
    pub fn token_url(&self) -> String {
        self.endpoint("/oauth/token")
    }

    /// `GET /.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        self.endpoint("/.well-known/jwks.json")
    }

    /// `GET /.well-known/oauth-authorization-server`.
    pub fn metadata_url(&self) -> String {
        self.endpoint("/.well-known/oauth-authorization-server")
    }

    /// The database this server runs on.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Runs `auth-server --database-url <this server's> <args>`; fails unless
    /// it exits successfully.
    pub fn cli(&self, args: &[&str]) -> Result<CliOutput> {
        self.cli_with_stdin(args, "")
    }

    /// Like [`AuthServer::cli`], writing `stdin` to the command's input.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> Result<CliOutput> {
        let output = self.cli_output(args, stdin)?;
        output.success()?;
        Ok(output)
    }

    /// Like [`AuthServer::cli_with_stdin`], returning the output whatever the
    /// exit status, for tests of the command line's failures.
    pub fn cli_output(&self, args: &[&str], stdin: &str) -> Result<CliOutput> {
        let mut command = server_command(&self.binary, "AUTH_");
        command
            .arg("--database-url")
            .arg(self.database.url())
            .args(args)
            .envs(self.envs.iter().cloned());
        cli::run(command, stdin)
    }

    /// `users add NAME --password-stdin`.
    pub fn add_user(&self, name: &str, password: &str) -> Result<CliOutput> {
        // No trailing newline: the password is exactly these bytes whether
        // or not the server strips one.
        self.cli_with_stdin(&["users", "add", name, "--password-stdin"], password)
    }

    /// `clients add ID --grant G... --scope S --audience A` (a public client).
    pub fn add_client(
        &self,
        id: &str,
        grants: &[&str],
        scope: &str,
        audience: &str,
    ) -> Result<CliOutput> {
        let mut args = vec!["clients", "add", id];
        for grant in grants {
            args.extend(["--grant", grant]);
        }
        args.extend(["--scope", scope, "--audience", audience]);
        self.cli(&args)
    }

    /// Stops the process (SIGTERM, then SIGKILL after a grace period) and
    /// keeps its database. Returns the exit status if it could be collected.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.process.stop()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.try_exit_status().is_none()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything the server wrote to stderr (its log) so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.process.stderr_lines()
    }

    /// Everything the server wrote to stdout after the `listening on` line.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.process.stdout_lines()
    }
}

/// Settings for a [`ResourceServer`] that trusts one auth server.
#[derive(Debug)]
#[must_use]
pub struct ResourceServerBuilder {
    issuer: String,
    jwks_url: String,
    audience: String,
    leeway: Option<Duration>,
    jwks_cooldown: Option<Duration>,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
}

impl ResourceServerBuilder {
    /// `--audience`; [`DEFAULT_AUDIENCE`] unless set.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// `--issuer`; the auth server's issuer unless set.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// `--jwks-url`; the auth server's JWKS unless set.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = url.into();
        self
    }

    /// `--leeway`; zero unless set, so expiry is exact in tests.
    /// `None` leaves the server's default.
    pub fn leeway(mut self, leeway: Option<Duration>) -> Self {
        self.leeway = leeway;
        self
    }

    /// `--jwks-cooldown`: minimum time between refetches on an unknown `kid`.
    pub fn jwks_cooldown(mut self, cooldown: Duration) -> Self {
        self.jwks_cooldown = Some(cooldown);
        self
    }

    /// Any further command-line argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An environment variable for the server process.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Starts the server and waits until it is ready (its keys are loaded).
    pub fn start(self) -> Result<ResourceServer> {
        ensure_built(BuildOutput::Captured)?;
        let binary = binaries::resource_server()?;
        let mut command = server_command(&binary, "RESOURCE_");
        command
            .args(["--bind", "127.0.0.1:0"])
            .arg("--issuer")
            .arg(&self.issuer)
            .arg("--audience")
            .arg(&self.audience)
            .arg("--jwks-url")
            .arg(&self.jwks_url);
        if let Some(leeway) = self.leeway {
            command.arg("--leeway").arg(duration_arg(leeway));
        }
        if let Some(cooldown) = self.jwks_cooldown {
            command.arg("--jwks-cooldown").arg(duration_arg(cooldown));
        }
        command.args(&self.args).envs(self.envs);

        let mut process = ServerProcess::spawn("resource-server", command)?;
        ready::wait(&mut process)?;
        Ok(ResourceServer { process })
    }
}

/// A running `resource-server` process.
#[derive(Debug)]
pub struct ResourceServer {
    process: ServerProcess,
}

impl ResourceServer {
    /// Settings for a server that trusts `auth` (its issuer and JWKS).
    pub fn builder(auth: &AuthServer) -> ResourceServerBuilder {
        ResourceServerBuilder {
            issuer: auth.issuer().to_owned(),
            jwks_url: auth.jwks_url(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            leeway: Some(Duration::ZERO),
            jwks_cooldown: None,
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// A server trusting `auth`, for audience [`DEFAULT_AUDIENCE`], leeway 0.
    pub fn start(auth: &AuthServer) -> Result<Self> {
        Self::builder(auth).start()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        self.process.url()
    }

    /// `url` + `path`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// Stops the process; see [`AuthServer::stop`].
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.process.stop()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.try_exit_status().is_none()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything the server wrote to stderr (its log) so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.process.stderr_lines()
    }
}

/// A command for a server binary with an environment that cannot leak into
/// the test: the developer's own `AUTH_*` / `RESOURCE_*` settings (the
/// servers' flag fallbacks) are removed.
fn server_command(binary: &std::path::Path, env_prefix: &str) -> Command {
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with(env_prefix) {
            command.env_remove(key);
        }
    }
    // Logs are only shown when a test fails, so make them worth reading.
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "info");
    }
    command
}

/// `2s`, `1500ms`: the duration syntax the servers' flags accept.
fn duration_arg(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::duration_arg;
    use std::time::Duration;

    #[test]
    fn durations_are_written_the_way_the_flags_read_them() {
        assert_eq!(duration_arg(Duration::from_secs(2)), "2s");
        assert_eq!(duration_arg(Duration::ZERO), "0s");
        assert_eq!(duration_arg(Duration::from_millis(1500)), "1500ms");
    }
}
