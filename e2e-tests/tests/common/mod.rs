//! The cast and props shared by the stories: a user, a first-party client,
//! both servers, and the HTTP calls a client makes.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

pub mod python;

use std::time::{Duration, Instant};

use e2e_tests::challenge::Challenge;
use e2e_tests::fixture::{
    AuthServer, AuthServerBuilder, DEFAULT_AUDIENCE, Database, ResourceServer, TEST_DATABASE_URL,
};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, EndpointNotSet, EndpointSet, TokenUrl};
use reqwest::blocking::{Client, Response};
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::Value;

/// Alice's password. Long and boring, as a password should be.
pub const PASSWORD: &str = "correct horse battery staple";
/// The first-party client that may use the password grant.
pub const CLIENT: &str = "notes-app";
/// Everything the notes API offers.
pub const FULL_SCOPE: &str = "notes:read notes:write";

/// Runs each named story (a `fn(Database)`) twice, as two tests in a module
/// named after it: `STORY::sqlite` on a fresh SQLite file, and
/// `STORY::postgres` on a fresh PostgreSQL database (see [`postgres`]). CI
/// greps the `postgres` test names to prove those ran.
#[allow(unused_macros)] // instances.rs, PostgreSQL only, does not use it
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[test]
            fn sqlite() {
                super::$story($crate::common::sqlite());
            }

            #[test]
            fn postgres() {
                if let Some(database) = $crate::common::postgres(module_path!()) {
                    super::$story(database);
                }
            }
        }
    )+};
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;

/// A fresh SQLite database.
pub fn sqlite() -> Database {
    Database::sqlite().expect("a fresh SQLite database")
}

/// A fresh PostgreSQL database on the server `TEST_DATABASE_URL` names.
/// Without that variable the test is skipped (`None`, with a line saying
/// so), except under CI (`CI` set), where a skipped PostgreSQL test would
/// hide a broken setup: there it panics.
pub fn postgres(test: &str) -> Option<Database> {
    let database = Database::postgres_from_env().expect("a fresh PostgreSQL database");
    if database.is_none() {
        let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
        assert!(
            !in_ci,
            "{TEST_DATABASE_URL} is not set, but CI must run the PostgreSQL tests ({test})"
        );
        println!("skipped {test}: {TEST_DATABASE_URL} is not set");
    }
    database
}

/// An OAuth client from the `oauth2` crate with only a token endpoint.
pub type OAuthClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Both servers, user alice and client `notes-app` (password and
/// refresh_token grants, full notes scope, audience resource-server).
pub struct Stack {
    // Dropped first, so no client connection is open when the servers stop.
    pub http: Client,
    pub api: ResourceServer,
    pub auth: AuthServer,
}

impl Stack {
    /// Starts the auth server from `auth`, registers alice and `notes-app`,
    /// then starts a resource server (leeway 0) that trusts it.
    pub fn start(auth: AuthServerBuilder) -> Self {
        let auth = auth.start().expect("auth-server starts");
        auth.add_user("alice", PASSWORD).expect("users add alice");
        auth.add_client(
            CLIENT,
            &["password", "refresh_token"],
            FULL_SCOPE,
            DEFAULT_AUDIENCE,
        )
        .expect("clients add notes-app");
        let api = ResourceServer::start(&auth).expect("resource-server starts");
        Self {
            http: http_client(),
            api,
            auth,
        }
    }

    /// An `oauth2` client for `client_id` pointed at this auth server.
    pub fn oauth_client(&self, client_id: &str) -> OAuthClient {
        BasicClient::new(ClientId::new(client_id.to_owned()))
            .set_token_uri(TokenUrl::new(self.auth.token_url()).expect("token URL"))
    }

    /// `POST /oauth/token` with `grant_type=password`, by hand.
    pub fn password_grant(&self, username: &str, password: &str, client_id: &str) -> Response {
        self.token_request(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("client_id", client_id),
        ])
    }

    /// `POST /oauth/token` with `grant_type=refresh_token`, by hand.
    pub fn refresh_grant(&self, refresh_token: &str, client_id: &str) -> Response {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ])
    }

    /// A form POST to the token endpoint.
    pub fn token_request(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.auth.token_url())
            .form(form)
            .send()
            .expect("token endpoint answers")
    }

    /// The token response for `username` (whose password is [`PASSWORD`])
    /// from `client_id`, by the password grant.
    pub fn login(&self, username: &str, client_id: &str) -> Value {
        let response = self.password_grant(username, PASSWORD, client_id);
        assert_eq!(response.status(), 200, "password grant for {username}");
        response.json().expect("token response is JSON")
    }

    /// `GET /api/me` with `Authorization: Bearer <token>`.
    pub fn me(&self, token: &str) -> Response {
        self.http
            .get(self.api.endpoint("/api/me"))
            .bearer_auth(token)
            .send()
            .expect("resource server answers")
    }
}

/// No redirects: an OAuth client must not follow them from a token endpoint.
/// No idle pooled connections either: a server's graceful shutdown waits
/// for open keep-alive connections, which would slow every test's teardown.
pub fn http_client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// The `WWW-Authenticate` challenge of `response`.
pub fn challenge(response: &Response) -> Challenge {
    let header = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .unwrap_or_else(|| panic!("{} without WWW-Authenticate", response.status()));
    let text = header.to_str().expect("WWW-Authenticate is ASCII");
    Challenge::parse(text).unwrap_or_else(|| panic!("unreadable challenge {text:?}"))
}

/// Calls `attempt` every 100 ms until it returns `Some`, for at most `limit`.
pub fn poll_until<T>(limit: Duration, what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = attempt() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `error` member of a JSON error body, after checking the status.
pub fn json_error(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "status of the error response");
    let body: Value = response.json().expect("error body is JSON");
    assert!(
        body["error"].is_string(),
        "error body carries an `error` code: {body}"
    );
    body
}
