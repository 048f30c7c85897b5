//! Set-up shared by the auth-server benchmarks: a fresh database of either
//! backend, migrated and with the real per-connection settings.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use auth_server::storage::{self, DatabaseUrl, DbPool, PoolSettings};

/// A migrated database and what keeps it alive (the temp dir of a SQLite file).
pub struct BenchDb {
    pub pool: DbPool,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh SQLite file, opened through the server's own pool (WAL,
/// `synchronous=FULL`, busy timeout, foreign keys).
pub fn sqlite() -> BenchDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let url: DatabaseUrl = format!("sqlite://{}", path.display())
        .parse()
        .expect("sqlite url");
    BenchDb {
        pool: pool(url),
        label: "sqlite",
        _dir: Some(dir),
    }
}

/// The PostgreSQL database named by `TEST_DATABASE_URL`, if set.
pub fn postgres() -> Option<BenchDb> {
    let url = std::env::var("TEST_DATABASE_URL").ok()?;
    let url: DatabaseUrl = url.parse().expect("TEST_DATABASE_URL");
    Some(BenchDb {
        pool: pool(url),
        label: "postgres",
        _dir: None,
    })
}

/// Every backend available here: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<BenchDb> {
    let mut dbs = vec![sqlite()];
    dbs.extend(postgres());
    dbs
}

fn pool(url: DatabaseUrl) -> DbPool {
    storage::connect(&PoolSettings {
        url,
        max_size: 2,
        checkout_timeout: Duration::from_secs(5),
    })
    .expect("database")
}
