//! The storage layer: plain functions over a [`DbConnection`], grouped by
//! table. The same functions serve SQLite and PostgreSQL. Callers outside
//! this module never build queries.
//!
//! Times are integer Unix seconds, passed in by the caller (`now`), so tests
//! can move the clock without sleeping.

pub mod authorization_codes;
pub mod authorization_requests;
pub mod clients;
mod connect_timeout;
mod error;
mod group_commit;
mod pool;
pub mod refresh_tokens;
pub mod schema;
pub mod sessions;
pub mod signing_keys;
mod url;
pub mod users;

pub use error::StorageError;
pub use pool::{
    ConnectionManager, DbConnection, DbPool, PoolSettings, PooledDb, connect, ping, run,
    run_migrations, write,
};
pub use url::{DatabaseUrl, DatabaseUrlError};
