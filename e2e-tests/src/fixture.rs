//! Owners of real server processes for end-to-end tests and the demo.
//!
//! Each [`AuthServer`] gets its own database (a fresh SQLite file by default,
//! or a fresh PostgreSQL database: [`Database::postgres_fresh`]) and a free
//! port; each [`ResourceServer`] trusts one auth server. Both are
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

mod auth;
mod binaries;
mod cli;
mod command;
mod database;
mod invocation;
mod pg_cluster;
mod postgres;
mod process;
mod ready;
mod resource;

pub use auth::{AuthServer, AuthServerBuilder};
pub use binaries::{BuildOutput, ensure_built};
pub use cli::{CliOutput, run_command};
pub use database::{Database, TEST_DATABASE_URL};
pub use invocation::{Invocation, InvokedServer};
pub use pg_cluster::{PG_BIN_DIR, PgCluster};
pub use postgres::DATABASE_PREFIX;
pub use resource::{ResourceServer, ResourceServerBuilder};

/// The audience the resource server accepts unless told otherwise.
pub const DEFAULT_AUDIENCE: &str = "resource-server";

/// A local address that was free a moment ago: for the one server whose
/// address another must know before either starts. The playground is the
/// case: the auth server serving it needs the resource server's URL (for
/// the page's Content-Security-Policy), and the resource server needs the
/// auth server (its issuer, its keys, and its origin for CORS). The port is
/// released before the server binds it, so another process could take it in
/// between; the system hands out ports in turn, which makes that unlikely.
pub fn reserve_local_address() -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?)
}
