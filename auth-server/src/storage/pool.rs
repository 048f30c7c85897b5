//! Connections and the pool: one connection type for both backends, a pool
//! manager that picks the backend from the URL, the per-connection SQLite
//! settings, and the queue SQLite writers take turns in.
//!
//! Why SQLite writes go through one writer thread: SQLite admits one writer
//! per database file. When several pooled connections tried to write at
//! once, the losers waited in SQLite's busy handler, which polls with sleeps
//! of up to 100 ms instead of queueing: refresh throughput fell from ~1,400/s
//! with one connection to ~100/s with ten, with multi-second tails
//! (BENCHMARKS.md). [`write`] hands SQLite writes to the writer thread of
//! `group_commit`, which runs them in order and commits each batch of them
//! with one fsync. Other processes on the same file are still serialised by
//! SQLite's own lock, which `BEGIN IMMEDIATE` waits for through
//! `busy_timeout`; readers stay concurrent (WAL). PostgreSQL writers lock
//! rows, not the database, and run in parallel on pooled connections.

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::connect_timeout::with_connect_timeout;
use super::group_commit::GroupCommit;
use super::{DatabaseUrl, StorageError};

/// One connection type over both backends, so every query function in this
/// module is written once. diesel's `MultiConnection` derive generates the
/// dispatch; the query subset both backends share is all we need.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// An embedded SQLite database file.
    Sqlite(SqliteConnection),
    /// A PostgreSQL server.
    Pg(PgConnection),
}

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "DbConnection::Sqlite",
            Self::Pg(_) => "DbConnection::Pg",
        })
    }
}

/// The connection pool shared by the HTTP workers and the CLI, with the
/// SQLite writer thread. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct DbPool {
    connections: Pool<ConnectionManager>,
    /// SQLite only: the writer thread that commits writes in batches.
    sqlite_writer: Option<Arc<GroupCommit>>,
}

impl DbPool {
    /// Checks a connection out, waiting up to the checkout timeout.
    /// Blocking; request handlers use [`run`] or [`write`].
    pub fn get(&self) -> Result<PooledDb, diesel::r2d2::PoolError> {
        self.connections.get()
    }

    /// Connections open and idle now (the metrics endpoint).
    pub fn state(&self) -> diesel::r2d2::State {
        self.connections.state()
    }

    /// Most connections the pool holds.
    pub fn max_size(&self) -> u32 {
        self.connections.max_size()
    }
}

/// A connection checked out of [`DbPool`].
pub type PooledDb = PooledConnection<ConnectionManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Where the database is.
    pub url: DatabaseUrl,
    /// Most connections the pool holds.
    pub max_size: u32,
    /// How long a checkout waits before the request fails with 503. Short,
    /// so a dead database answers fast instead of piling up requests. Also
    /// the PostgreSQL connect timeout (see `connect_timeout`).
    pub checkout_timeout: Duration,
}

/// Opens connections for r2d2. diesel's own `ConnectionManager` would call
/// the derived `DbConnection::establish`, which tries each backend in turn and
/// drops their errors: a mistyped PostgreSQL URL could silently become a
/// SQLite file of that name. This manager dispatches on the parsed URL and
/// keeps the real error.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    /// A manager for `url`.
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    /// Opens one connection, outside any pool (the CLI and tests use this).
    pub fn establish(url: &DatabaseUrl) -> diesel::ConnectionResult<DbConnection> {
        match url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // Also applied by the pool customizer; repeated here for
                // connections opened without a pool.
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url).map(DbConnection::Pg),
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                SqliteConnection::establish(path).map(DbConnection::Sqlite)
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url).map(DbConnection::Pg),
        }
        .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// WAL lets readers work while a writer commits; the busy timeout makes a
/// writer wait for the lock instead of failing at once; foreign keys are off
/// by default in SQLite; `synchronous=FULL` makes a committed rotation
/// survive a power loss (WAL's default, NORMAL, may lose the last commits).
/// The busy timeout comes first: switching to WAL takes a lock, and several
/// pooled connections opening at once would otherwise fail with "database is
/// locked" instead of waiting their turn.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                              PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";

/// Applies [`SQLITE_PRAGMAS`] to every SQLite connection the pool opens:
/// these are per-connection settings, so setting them once is not enough.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        match conn {
            DbConnection::Sqlite(conn) => conn
                .batch_execute(SQLITE_PRAGMAS)
                .map_err(diesel::r2d2::Error::QueryError),
            DbConnection::Pg(_) => Ok(()),
        }
    }
}

/// Builds the pool and runs the embedded migrations. Blocking: call it from
/// a blocking thread or before the async runtime serves requests.
pub fn connect(settings: &PoolSettings) -> Result<DbPool, StorageError> {
    let connections = Pool::builder()
        .max_size(settings.max_size)
        // Keep one connection open, not `max_size`: start-up stays fast and
        // idle instances hold few PostgreSQL connections.
        .min_idle(Some(1))
        .connection_timeout(settings.checkout_timeout)
        // r2d2's default, stated because recovery depends on it: a
        // connection the database closed (restart, failover, network cut)
        // fails this ping and is replaced, instead of failing a request.
        .test_on_check_out(true)
        .connection_customizer(Box::new(SqlitePragmas))
        .build(ConnectionManager::new(with_connect_timeout(
            &settings.url,
            settings.checkout_timeout,
        )))?;
    let mut conn = connections.get()?;
    if let Err(first) = run_migrations(&mut conn) {
        // Two instances starting together race to create the same tables;
        // the loser fails once, then finds the work done.
        log::warn!("migrations failed, retrying once: {first}");
        run_migrations(&mut conn)?;
    }
    drop(conn);
    let sqlite_writer = match settings.url {
        // A write waits in the writer's queue at most as long as a request
        // waits for a pooled connection.
        DatabaseUrl::Sqlite(_) => Some(Arc::new(GroupCommit::start(
            connections.clone(),
            settings.checkout_timeout,
        )?)),
        DatabaseUrl::Postgres(_) => None,
    };
    Ok(DbPool {
        connections,
        sqlite_writer,
    })
}

/// Brings the schema up to date. Each backend has its own SQL files, so the
/// harness runs on the inner connection.
pub fn run_migrations(conn: &mut DbConnection) -> Result<(), StorageError> {
    let applied = match conn {
        DbConnection::Sqlite(conn) => conn
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len()),
        DbConnection::Pg(conn) => conn
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .map_err(StorageError::Unexpected)?;
    if applied > 0 {
        log::info!("applied {applied} database migration(s)");
    }
    Ok(())
}

/// Runs `f` with a pooled connection on a blocking thread, so neither the
/// pool checkout (which may wait up to its timeout) nor the query stalls an
/// async worker. (`actix_web::web::block` is the same tokio blocking pool;
/// calling tokio directly keeps this layer free of HTTP types.)
pub async fn run<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(StorageError::from)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| E::from(StorageError::unexpected(e)))?
}

/// Like [`run`], for work that writes. On SQLite the write is handed to the
/// writer thread (see `group_commit`): it runs in a savepoint of a `BEGIN
/// IMMEDIATE` transaction shared with the writes queued beside it, and its
/// result comes back once that transaction has committed. `f`'s own
/// transactions nest as savepoints; an `Err` from `f` rolls back `f`'s
/// writes only. Waiting in the queue is bounded by the checkout timeout
/// (then 503, as for a checkout). On PostgreSQL it is exactly [`run`].
pub async fn write<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    match &pool.sqlite_writer {
        Some(writer) => writer.write(f).await,
        None => run(pool, f).await,
    }
}

/// Whether the database answers a trivial query: the readiness check.
pub fn ping(conn: &mut DbConnection) -> Result<(), StorageError> {
    conn.batch_execute("SELECT 1").map_err(StorageError::from)
}
