//! Test fixtures: a fake auth server publishing a JWKS we control, keys that
//! mint tokens, and the resource server started in process on port 0.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser as _;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use resource_server::jwks::JwksCache;
use resource_server::{Application, Config};
use serde_json::{Value, json};
use shared_claims::{Jwk, JwkSet};

pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "resource-server";

/// An Ed25519 key that signs access tokens the way the auth server does.
pub struct TestKey {
    pub kid: String,
    signing: SigningKey,
    encoding: EncodingKey,
}

impl TestKey {
    /// Deterministic per `seed`: test keys guard nothing.
    pub fn new(kid: &str, seed: u8) -> Self {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let der = signing.to_pkcs8_der().expect("pkcs8");
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            signing,
        }
    }

    /// The public half, as the auth server publishes it.
    pub fn jwk(&self) -> Jwk {
        Jwk::ed25519(
            self.kid.clone(),
            URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes()),
        )
    }

    /// A token with our kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// A token whose header names `kid`, signed with this key.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let header = Header {
            typ: Some("at+jwt".to_owned()),
            kid: Some(kid.to_owned()),
            ..Header::new(Algorithm::EdDSA)
        };
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signs")
    }
}

pub fn key_set(keys: &[&TestKey]) -> JwkSet {
    JwkSet {
        keys: keys.iter().map(|k| k.jwk()).collect(),
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Valid claims for `sub` with `scope`, expiring in five minutes.
pub fn claims(sub: &str, scope: &str) -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "sub": sub,
        "aud": AUDIENCE,
        "exp": now + 300,
        "iat": now,
        "nbf": now,
        "jti": format!("jti-{sub}-{now}"),
        "client_id": "test-client",
        "scope": scope,
    })
}

/// `claims` with some members replaced.
pub fn claims_with(sub: &str, scope: &str, changes: Value) -> Value {
    let mut claims = claims(sub, scope);
    if let (Some(c), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
        c.extend(changes.clone());
    }
    claims
}

/// The fake auth server's mutable state.
struct FakeState {
    keys: Mutex<JwkSet>,
    available: AtomicBool,
    requests: AtomicU64,
}

/// A JWKS endpoint that serves whatever the test says, and counts requests.
pub struct FakeJwks {
    pub url: String,
    state: Arc<FakeState>,
    handle: ServerHandle,
}

impl FakeJwks {
    pub fn start(keys: JwkSet) -> Self {
        let state = Arc::new(FakeState {
            keys: Mutex::new(keys),
            available: AtomicBool::new(true),
            requests: AtomicU64::new(0),
        });
        let data = web::Data::from(Arc::clone(&state));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().expect("addr")
        );
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).route(
                "/.well-known/jwks.json",
                web::get().to(|state: web::Data<FakeState>| async move {
                    state.requests.fetch_add(1, Ordering::SeqCst);
                    if !state.available.load(Ordering::SeqCst) {
                        return HttpResponse::ServiceUnavailable().finish();
                    }
                    let keys = state.keys.lock().unwrap().clone();
                    HttpResponse::Ok().json(keys)
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .shutdown_timeout(0)
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { url, state, handle }
    }

    pub fn set_keys(&self, keys: JwkSet) {
        *self.state.keys.lock().unwrap() = keys;
    }

    pub fn add_key(&self, key: Jwk) {
        self.state.keys.lock().unwrap().keys.push(key);
    }

    /// While unavailable, every request is answered 503.
    pub fn set_available(&self, available: bool) {
        self.state.available.store(available, Ordering::SeqCst);
    }

    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Stops listening: fetches now fail with "connection refused".
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// The resource server under test, in process.
pub struct TestApp {
    pub base: String,
    pub cache: Arc<JwksCache>,
    pub client: reqwest::Client,
    handle: ServerHandle,
}

impl TestApp {
    /// Starts with `--leeway 0s` and the fake's URL, plus `extra` flags.
    pub fn spawn(jwks_url: &str, extra: &[&str]) -> Self {
        let mut args = vec![
            "resource-server",
            "--bind",
            "127.0.0.1:0",
            "--issuer",
            ISSUER,
            "--audience",
            AUDIENCE,
            "--jwks-url",
            jwks_url,
            "--leeway",
            "0s",
        ];
        args.extend_from_slice(extra);
        Self::spawn_with_args(&args)
    }

    pub fn spawn_with_args(args: &[&str]) -> Self {
        let config = Config::try_parse_from(args).expect("valid flags");
        let app = Application::build(config).expect("builds");
        let base = format!("http://{}", app.local_addr());
        let cache = app.jwks_cache();
        let handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        Self {
            base,
            cache,
            client: reqwest::Client::new(),
            handle,
        }
    }

    /// Polls `/readyz` until 200 (bounded).
    pub async fn wait_ready(&self) {
        let ready = eventually(|| async {
            self.get("/readyz", None).await.status() == reqwest::StatusCode::OK
        })
        .await;
        assert!(ready, "resource server never became ready");
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: &str,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent")
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// Polls `condition` every 20 ms for up to 10 s; whether it became true.
pub async fn eventually<F, Fut>(mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// The `WWW-Authenticate` header, or "" when absent.
pub fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
