//! Wiring: bind the listener, build the key cache and the routes.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use log::{info, warn};
use shared_claims::VerifierConfig;
use shared_claims::actix::{BearerConfig, TokenVerifier};

use crate::config::{Config, KeyLocation};
use crate::cors;
use crate::error::json_error;
use crate::http_metrics::{HttpMetrics, RequestMetrics};
use crate::jwks::{
    CacheSettings, FetchError, JwksCache, JwksSource, read_jwks_file, spawn_refresher,
};
use crate::notes::{Limits, NoteStore};
use crate::routes;

/// How long one JWKS fetch may take before it counts as failed.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A note body is at most 1000 characters: 4 bytes each in UTF-8, or 12 as
/// JSON `\u` escapes of surrogate pairs, plus the braces.
const MAX_JSON_BODY: usize = 16 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address from `--bind`.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--jwks-url` (or the URL derived from `--issuer`) is not an http(s) URL.
    #[error("invalid JWKS URL {url:?}: {reason}")]
    JwksUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (e.g. no TLS roots).
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// `--jwks-file` could not be read or holds no usable key.
    #[error("cannot load the key set file")]
    KeyFile(#[source] FetchError),
}

/// A bound, not yet running, resource server.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    cache: Arc<JwksCache>,
}

impl Application {
    /// Binds `config.bind` and prepares the server. Nothing is served and no
    /// key is fetched until [`Application::run_until_stopped`]; a key-set
    /// file, by contrast, is read here, so a bad one fails the start.
    pub fn build(config: Config) -> Result<Self, StartupError> {
        let cache = Arc::new(build_cache(&config)?);
        let listener = TcpListener::bind(config.bind).map_err(|source| StartupError::Bind {
            addr: config.bind,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.bind,
            source,
        })?;
        let notes = web::Data::new(NoteStore::new(Limits::default()));
        let bearer = web::Data::new(BearerConfig {
            realm: config.realm.clone(),
        });
        let app_cache = Arc::clone(&cache);
        let http_metrics = Arc::new(HttpMetrics::default());
        let cors_origins = config.cors_origins.clone();
        if !cors_origins.is_empty() {
            info!("CORS: allowing {}", cors_origins.join(", "));
        }
        let mut server = HttpServer::new(move || {
            // `dyn TokenVerifier` is not `Send`, so each worker makes its own
            // `Data` handle to the one shared cache.
            let verifier: Arc<dyn TokenVerifier> = app_cache.clone();
            App::new()
                // Inside the metrics, so preflights are counted like any request.
                .wrap(cors::middleware(&cors_origins))
                .wrap(RequestMetrics::new(Arc::clone(&http_metrics)))
                .app_data(web::Data::from(Arc::clone(&http_metrics)))
                .app_data(web::Data::from(verifier))
                .app_data(web::Data::from(Arc::clone(&app_cache)))
                .app_data(bearer.clone())
                .app_data(notes.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(MAX_JSON_BODY)
                        .error_handler(|error, _req| json_error(&error).into()),
                )
                .route("/healthz", web::get().to(routes::healthz))
                .route("/readyz", web::get().to(routes::readyz))
                .route("/metrics", web::get().to(routes::metrics))
                .route("/openapi.json", web::get().to(routes::openapi))
                .service(
                    web::scope("/api")
                        .route("/me", web::get().to(routes::me))
                        .route("/notes", web::get().to(routes::list_notes))
                        .route("/notes", web::post().to(routes::add_note)),
                )
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: config.bind,
            source,
        })?;
        if let Some(workers) = config.http_workers {
            server = server.workers(workers.max(1));
        }
        // In-flight requests are short; do not hold a SIGTERM for 30 s.
        let server = server.shutdown_timeout(5).run();
        Ok(Self {
            addr,
            server,
            cache,
        })
    }

    /// The address actually bound (the real port when `--bind` said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The key cache, for readiness checks and fetch counters.
    pub fn jwks_cache(&self) -> Arc<JwksCache> {
        Arc::clone(&self.cache)
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Starts fetching keys and serves until the server is stopped (by
    /// SIGINT/SIGTERM or [`ServerHandle::stop`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let refresher = spawn_refresher(&self.cache);
        let result = self.server.await;
        if let Some(task) = refresher {
            task.abort();
        }
        result
    }
}

impl std::fmt::Debug for Application {
    // actix's `Server` has no `Debug`; the address is what identifies us.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

fn build_cache(config: &Config) -> Result<JwksCache, StartupError> {
    let verifier = VerifierConfig::new(&config.issuer, &config.audience)
        .with_leeway(config.leeway())
        .with_algorithms(config.algorithms.clone());
    let settings = CacheSettings {
        refresh_every: config.jwks_refresh.into(),
        unknown_kid_cooldown: config.jwks_cooldown.into(),
        ..CacheSettings::new(verifier)
    };
    match config.key_location() {
        KeyLocation::File(path) => {
            let set = read_jwks_file(&path).map_err(StartupError::KeyFile)?;
            let cache = JwksCache::fixed(settings, &set).map_err(StartupError::KeyFile)?;
            info!(
                "trusting the key set in {} (never refetched)",
                path.display()
            );
            Ok(cache)
        }
        KeyLocation::Url(url) => {
            let parsed = reqwest::Url::parse(&url).map_err(|e| StartupError::JwksUrl {
                url: url.clone(),
                reason: e.to_string(),
            })?;
            if !parsed.username().is_empty() || parsed.password().is_some() {
                // A JWKS is public; credentials in its URL would only end up
                // in logs and error messages.
                return Err(StartupError::JwksUrl {
                    url: "(redacted)".to_owned(),
                    reason: "a JWKS URL must not carry credentials".to_owned(),
                });
            }
            match parsed.scheme() {
                "https" => {}
                "http" if is_loopback(&parsed) => {}
                "http" => warn!(
                    "fetching signing keys over plain http from {parsed}: anyone on the path could substitute their own keys; use https"
                ),
                other => {
                    return Err(StartupError::JwksUrl {
                        url,
                        reason: format!("scheme {other:?} is not http or https"),
                    });
                }
            }
            info!("fetching signing keys from {parsed}");
            let source =
                JwksSource::new(parsed, JWKS_FETCH_TIMEOUT).map_err(StartupError::HttpClient)?;
            Ok(JwksCache::remote(settings, source))
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}
