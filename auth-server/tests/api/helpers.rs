//! Test fixtures: a fresh database per test, and `TestApp`, the server on a
//! free port with one method per endpoint.

use std::time::Duration;

use auth_server::clients::ClientSecret;
use auth_server::config::ServeConfig;
use auth_server::domain::Password;
use auth_server::startup::Application;
use auth_server::storage::clients::ClientRow;
use auth_server::storage::{
    self, ConnectionManager, DatabaseUrl, DbConnection, DbPool, PoolSettings,
};
use auth_server::{clock, passwords};
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

/// A database that exists for one test: a SQLite file in a temporary
/// directory, or a PostgreSQL database created for the test and dropped
/// after it.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: DatabaseUrl,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: DatabaseUrl,
    },
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("auth.db");
        let url = DatabaseUrl::Sqlite(path.to_str().expect("utf-8 path").to_owned());
        Self::Sqlite { _dir: dir, url }
    }

    /// A fresh PostgreSQL database, or `None` when `TEST_DATABASE_URL` is
    /// not set (the PostgreSQL variant of a test then does nothing).
    pub fn postgres() -> Option<Self> {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!("auth_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let (server, _db) = base.rsplit_once('/').expect("URL with a database path");
        let url = DatabaseUrl::Postgres(format!("{server}/{name}{query}"));
        Some(Self::Postgres {
            admin_url,
            name,
            url,
        })
    }

    pub fn url(&self) -> DatabaseUrl {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url.clone(),
        }
    }

    pub fn settings(&self) -> PoolSettings {
        PoolSettings {
            url: self.url(),
            max_size: 4,
            checkout_timeout: Duration::from_secs(5),
        }
    }

    /// A migrated pool.
    pub fn pool(&self) -> DbPool {
        storage::connect(&self.settings()).expect("open test database")
    }

    /// A connection of its own, outside any pool (what another process
    /// has), on a migrated schema.
    pub fn connection(&self) -> DbConnection {
        let mut conn = ConnectionManager::establish(&self.url()).expect("connect");
        storage::run_migrations(&mut conn).expect("migrate");
        conn
    }

    /// Drops a PostgreSQL test database now, connections and all.
    pub fn drop_now(&self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            match PgConnection::establish(admin_url) {
                Ok(mut admin) => {
                    if let Err(e) =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                    {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                }
                Err(e) => eprintln!("could not drop test database {name}: {e}"),
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.drop_now();
    }
}

/// Runs a storage test against SQLite, and against PostgreSQL when
/// `TEST_DATABASE_URL` is set. Each gets a fresh database.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(&$crate::helpers::TestDb::sqlite()); } )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    match $crate::helpers::TestDb::postgres() {
                        Some(db) => super::$name(&db),
                        None => eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant skipped"),
                    }
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// Runs an HTTP test, `async fn name(db: TestDb)`, against a server on
/// SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.
macro_rules! on_both_backends_async {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[actix_web::test] async fn $name() { super::$name($crate::helpers::TestDb::sqlite()).await; } )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    match $crate::helpers::TestDb::postgres() {
                        Some(db) => super::$name(db).await,
                        None => eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant skipped"),
                    }
                }
            )*
        }
    };
}
pub(crate) use on_both_backends_async;

pub const PASSWORD: &str = "correct horse battery staple";

/// Stores a user with [`PASSWORD`]; returns its id.
pub fn add_user(conn: &mut DbConnection, name: &str) -> String {
    let hash = passwords::hash_blocking(&Password::new(PASSWORD.into())).unwrap();
    storage::users::create(conn, name, hash, clock::now())
        .unwrap()
        .id
}

/// Stores a client; returns its secret when `confidential`.
pub fn add_client(
    conn: &mut DbConnection,
    id: &str,
    grants: &str,
    scope: &str,
    confidential: bool,
) -> Option<String> {
    let secret = confidential.then(|| ClientSecret::generate().unwrap());
    let row = ClientRow {
        id: id.into(),
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        grants: grants.into(),
        scope: scope.into(),
        audience: "resource-server".into(),
        redirect_uris: String::new(),
        created_at: clock::now(),
    };
    storage::clients::insert(conn, &row).unwrap();
    secret.map(|s| s.expose().to_owned())
}

/// Server options a test may change.
pub struct Options {
    pub allow_registration: bool,
    pub db_timeout: Duration,
    pub key_refresh_interval: Duration,
    /// The database URL the server uses, when it must differ from the one
    /// the test seeds through (a proxy in between).
    pub server_database_url: Option<DatabaseUrl>,
    /// Any other server setting, applied last.
    pub serve: fn(&mut ServeConfig),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allow_registration: false,
            db_timeout: Duration::from_secs(2),
            key_refresh_interval: Duration::from_secs(60),
            server_database_url: None,
            serve: |_| {},
        }
    }
}

/// The server, started in process on a free port, with a seeded database:
/// user `alice` (password [`PASSWORD`]), public client `app` (password,
/// refresh_token; notes:read notes:write), confidential client `svc`
/// (client_credentials; notes:read) whose secret is `svc_secret`.
pub struct TestApp {
    pub address: String,
    pub issuer: String,
    pub http: reqwest::Client,
    pub db: TestDb,
    pub svc_secret: String,
    pub alice_id: String,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestDb::sqlite(), Options::default()).await
    }

    pub async fn spawn_with(db: TestDb, options: Options) -> Self {
        let (alice_id, svc_secret) = {
            let pool = db.pool();
            let mut conn = pool.get().unwrap();
            let alice = add_user(&mut conn, "alice");
            add_client(
                &mut conn,
                "app",
                "password refresh_token",
                "notes:read notes:write",
                false,
            );
            let secret =
                add_client(&mut conn, "svc", "client_credentials", "notes:read", true).unwrap();
            (alice, secret)
        };
        let mut config = ServeConfig::new(options.server_database_url.unwrap_or_else(|| db.url()));
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.http_workers = Some(1);
        config.password_workers = 2;
        config.allow_registration = options.allow_registration;
        config.database.checkout_timeout = options.db_timeout;
        config.key_refresh_interval = options.key_refresh_interval;
        (options.serve)(&mut config);
        let app = Application::build(config).await.expect("server starts");
        let address = format!("http://{}", app.local_addr());
        let issuer = app.issuer().to_owned();
        let handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        Self {
            address,
            issuer,
            http: reqwest::Client::new(),
            db,
            svc_secret,
            alice_id,
            handle,
        }
    }

    /// POST /oauth/token with a form body built from `params` (repeats kept).
    pub async fn token(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.token_raw(
            "application/x-www-form-urlencoded",
            serde_urlencoded::to_string(params).unwrap(),
            None,
        )
        .await
    }

    /// POST /oauth/token with HTTP Basic client authentication.
    pub async fn token_basic(
        &self,
        id: &str,
        secret: &str,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        let body = serde_urlencoded::to_string(params).unwrap();
        self.token_raw(
            "application/x-www-form-urlencoded",
            body,
            Some((id, secret)),
        )
        .await
    }

    pub async fn token_raw(
        &self,
        content_type: &str,
        body: String,
        basic: Option<(&str, &str)>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/oauth/token", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.unwrap()
    }

    /// The password grant for `app`.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.token(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("client_id", "app"),
        ])
        .await
    }

    /// The refresh grant for `app`.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "app"),
        ])
        .await
    }

    pub async fn jwks(&self) -> reqwest::Response {
        self.get("/.well-known/jwks.json").await
    }

    pub async fn metadata(&self) -> reqwest::Response {
        self.get("/.well-known/oauth-authorization-server").await
    }

    pub async fn register(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/users", self.address))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn healthz(&self) -> reqwest::Response {
        self.get("/healthz").await
    }

    pub async fn readyz(&self) -> reqwest::Response {
        self.get("/readyz").await
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; nothing needs to wait for it.
        drop(self.handle.stop(false));
    }
}

/// Status, `error` code and the whole body of an error response.
pub async fn error_of(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let code = body["error"].as_str().unwrap_or_default().to_owned();
    (status, code, body)
}

/// Asserts the RFC 6749 §5.1 cache headers.
pub fn assert_no_store(response: &reqwest::Response) {
    let headers = response.headers();
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(headers.get("pragma").unwrap(), "no-cache");
}
