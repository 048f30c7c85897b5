//! Building and running the HTTP server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::Logger;
use actix_web::{App, HttpServer, web};
use shared_claims::actix::TokenVerifier;
use tokio::task::JoinHandle;

use crate::clock;
use crate::config::{self, ConfigError, ServeConfig};
use crate::domain::SigningAlg;
use crate::grants::{GrantContext, TokenPolicy};
use crate::http_metrics::RequestMetrics;
use crate::keys::{self, KeyError, KeyStore};
use crate::metrics::Metrics;
use crate::own_tokens::OwnTokenVerifier;
use crate::passwords::{HashError, Hasher};
use crate::playground::Playground;
use crate::report::Chain;
use crate::routes::{self, AuthorizationServerMetadata};
use crate::shutdown;
use crate::storage::refresh_tokens::ReuseGrace;
use crate::storage::{self, DbPool, StorageError};
use crate::throttle::Throttles;

/// Shared by every request handler.
#[derive(Debug)]
pub struct AppState {
    /// What the grants need (pool, keys, hasher, lifetimes).
    pub grants: GrantContext,
    /// RFC 8414 metadata, computed once.
    pub metadata: AuthorizationServerMetadata,
    /// Brute-force throttling of logins and client authentication.
    pub throttle: Throttles,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A configuration value is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("could not open the database")]
    Storage(#[from] StorageError),
    /// No signing key could be loaded or created.
    #[error("could not load the signing keys")]
    Keys(#[from] KeyError),
    /// The password hasher could not start.
    #[error("could not initialise password hashing")]
    Hasher(#[from] HashError),
    /// The address could not be bound.
    #[error("could not listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A blocking start-up task died.
    #[error("start-up task failed")]
    Join(#[from] tokio::task::JoinError),
}

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    local_addr: SocketAddr,
    issuer: String,
    key_refresher: JoinHandle<()>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("local_addr", &self.local_addr)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the database (running migrations), makes sure a signing key
    /// exists, binds the listener, and builds the server. Must run inside an
    /// actix (tokio) runtime.
    pub async fn build(config: ServeConfig) -> Result<Self, StartupError> {
        let access_ttl = config::lifetime_secs(config.access_ttl, "access-ttl")?;
        let refresh_ttl = config::lifetime_secs(config.refresh_ttl, "refresh-ttl")?;
        let refresh_idle_ttl = config::lifetime_secs(config.refresh_idle_ttl, "refresh-idle-ttl")?;
        let reuse_grace = ReuseGrace {
            window_secs: i64::try_from(config.refresh_reuse_grace.as_secs())
                .map_err(|_| ConfigError::Lifetime("refresh-reuse-grace"))?,
            max_replays: i64::from(config.refresh_reuse_grace_max),
        };
        let signing_alg = config.signing_alg;
        if let Some(issuer) = &config.issuer {
            config::validate_issuer(issuer)?;
        }

        log::info!("database: {}", config.database.url);
        let settings = config.database.clone();
        let (pool, key_set) = tokio::task::spawn_blocking(move || -> Result<_, StartupError> {
            let pool = storage::connect(&settings)?;
            let mut conn = pool.get().map_err(StorageError::from)?;
            keys::ensure_signing_key(&mut conn, clock::now(), signing_alg)?;
            let key_set = keys::load_key_set(&mut conn, clock::now())?;
            drop(conn);
            Ok((pool, key_set))
        })
        .await??;
        log::info!("signing with key {}", key_set.signing.kid());
        let keys = Arc::new(KeyStore::new(key_set));
        let workers = config.password_workers;
        let hasher = tokio::task::spawn_blocking(move || Hasher::new(workers)).await??;

        let listener = TcpListener::bind(config.bind).map_err(|source| StartupError::Bind {
            addr: config.bind,
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.bind,
            source,
        })?;
        let issuer = config.issuer.clone().unwrap_or_else(|| {
            if local_addr.ip().is_unspecified() {
                log::warn!("bound to {local_addr}: the default issuer is not reachable as such; set --issuer");
            }
            format!("http://{local_addr}")
        });
        log::info!("issuer: {issuer}");

        let metrics = Arc::new(Metrics::default());
        let state = web::Data::new(AppState {
            metadata: AuthorizationServerMetadata::new(&issuer),
            throttle: Throttles::new(&config.throttle),
            grants: GrantContext {
                pool: pool.clone(),
                keys: keys.clone(),
                hasher,
                policy: Arc::new(TokenPolicy {
                    issuer: issuer.clone(),
                    access_ttl,
                    refresh_ttl,
                    refresh_idle_ttl,
                    reuse_grace,
                }),
                metrics: metrics.clone(),
            },
        });
        let allow_registration = config.allow_registration;
        let playground = config.playground_resource_url.as_ref().map(|resource| {
            log::info!("playground: {issuer}/playground, calling {resource}");
            web::Data::new(Playground::new(resource))
        });
        // What the bearer extractor of /sessions/logout-all verifies with.
        let own_tokens: web::Data<dyn TokenVerifier> = web::Data::from(Arc::new(
            OwnTokenVerifier::new(keys.clone(), issuer.clone()),
        )
            as Arc<dyn TokenVerifier>);
        let request_metrics =
            RequestMetrics::new(metrics.http().clone()).on_error(metrics.oauth_error_hook());
        let mut server = HttpServer::new(move || {
            App::new()
                // Path only (%U, not %r): a query string may carry a secret
                // some client put there by mistake.
                .wrap(
                    Logger::new("%a \"%{method}xi %U\" %s %b %Dms")
                        .custom_request_replace("method", |req| req.method().to_string()),
                )
                // Outermost, so the latency covers the logger too.
                .wrap(request_metrics.clone())
                .app_data(state.clone())
                .app_data(own_tokens.clone())
                .configure(routes::configure(allow_registration))
                .configure(routes::playground(playground.clone()))
        })
        .shutdown_timeout(shutdown::timeout_secs(config.shutdown_timeout))
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: local_addr,
            source,
        })?;
        if let Some(n) = config.http_workers {
            server = server.workers(n.max(1));
        }

        let key_refresher = tokio::spawn(refresh_keys(
            pool,
            keys,
            config.key_refresh_interval,
            signing_alg,
        ));
        Ok(Self {
            server: server.run(),
            local_addr,
            issuer,
            key_refresher,
        })
    }

    /// The address actually bound (the port is real even if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The issuer in effect.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A handle to stop the server (tests; the binary stops on SIGTERM/SIGINT).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.key_refresher.abort();
        result
    }
}

/// Reloads the keys periodically, so a rotation by the CLI or another
/// instance is picked up (signing and JWKS) within one interval. A failed
/// reload keeps the keys already in memory.
async fn refresh_keys(
    pool: DbPool,
    keys: Arc<KeyStore>,
    interval: Duration,
    signing_alg: SigningAlg,
) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate; keys were just loaded
    loop {
        ticker.tick().await;
        let reloaded = storage::run(&pool, move |conn| {
            let now = clock::now();
            keys::ensure_signing_key(conn, now, signing_alg)?;
            keys::load_key_set(conn, now)
        })
        .await;
        match reloaded {
            Ok(set) => keys.replace(set),
            Err(err) => log::warn!(
                "could not reload signing keys (keeping the current ones): {}",
                Chain(&err)
            ),
        }
    }
}
