//! The authorization-code grant with PKCE: the authorization request, the
//! login page (CSRF, wrong passwords), the code's single use, and every
//! binding the token endpoint checks. HTTP stories run on SQLite and, with
//! `TEST_DATABASE_URL`, on PostgreSQL; storage races and expiry use the
//! storage functions with an explicit `now` (the clock seam).

use std::sync::{Arc, Barrier};
use std::thread;

use auth_server::storage::authorization_codes::{self, CodeRow, Redemption};
use auth_server::storage::clients::ClientRow;
use auth_server::storage::{self, DbConnection};
use auth_server::{clock, tokens};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{
    Options, PASSWORD, TestApp, TestDb, add_user, assert_no_store, error_of, on_both_backends,
};
use crate::oauth_helpers::{text, tokens};

const SPA: &str = "spa";
const SPA_CB: &str = "http://127.0.0.1:9/callback";
const WEBAPP: &str = "webapp";
const WEBAPP_CBS: [&str; 2] = ["https://web.example/cb", "https://web.example/other"];

/// Runs an HTTP story on a fresh SQLite database and, when
/// `TEST_DATABASE_URL` is set, on a fresh PostgreSQL one.
macro_rules! http_on_both_backends {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            #[actix_web::test]
            async fn sqlite() {
                super::$story(crate::helpers::TestDb::sqlite()).await;
            }
            #[actix_web::test]
            async fn postgres() {
                match crate::helpers::TestDb::postgres() {
                    Some(db) => super::$story(db).await,
                    None => eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant skipped"),
                }
            }
        }
    )*};
}

http_on_both_backends!(
    the_code_flow_issues_tokens_bound_to_the_user,
    a_second_use_of_a_code_fails_and_revokes_its_tokens,
    a_wrong_verifier_is_refused_and_burns_the_code,
    a_mismatched_redirect_uri_is_refused,
    a_confidential_client_must_authenticate_and_name_its_redirect_uri,
    a_wrong_password_shows_the_form_again_with_a_generic_error,
    repeated_wrong_passwords_on_the_login_page_are_throttled,
    the_login_form_needs_its_csrf_token,
    requests_that_cannot_be_trusted_get_a_page,
    an_oversized_login_form_gets_the_413_page,
    bad_requests_go_back_to_the_client_with_the_rfc_error,
    the_user_may_cancel,
);

on_both_backends!(
    concurrent_redemptions_have_exactly_one_winner,
    an_expired_code_is_refused,
);

/// A PKCE pair: (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(tokens::random_bytes::<32>().unwrap());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn register(conn: &mut DbConnection, id: &str, grants: &str, uris: &[&str], secret: Option<&str>) {
    let row = ClientRow {
        id: id.into(),
        secret_hash: secret.map(|s| auth_server::clients::ClientSecret::new(s.into()).hash()),
        grants: grants.into(),
        scope: "notes:read notes:write".into(),
        audience: "resource-server".into(),
        redirect_uris: uris.join(" "),
        created_at: clock::now(),
    };
    storage::clients::insert(conn, &row).unwrap();
}

/// The test server with `spa` (public; authorization_code and
/// refresh_token; one redirect URI) and `webapp` (confidential, secret
/// `web-secret`; authorization_code only; two redirect URIs).
async fn spawn(db: TestDb) -> Flow {
    spawn_configured(db, Options::default()).await
}

async fn spawn_configured(db: TestDb, options: Options) -> Flow {
    let app = TestApp::spawn_with(db, options).await;
    {
        let mut conn = app.db.connection();
        register(
            &mut conn,
            SPA,
            "authorization_code refresh_token",
            &[SPA_CB],
            None,
        );
        register(
            &mut conn,
            WEBAPP,
            "authorization_code",
            &WEBAPP_CBS,
            Some("web-secret"),
        );
    }
    Flow {
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        app,
    }
}

/// The test server and a "browser" that does not follow redirects.
struct Flow {
    browser: reqwest::Client,
    app: TestApp,
}

/// The login form as served: its hidden fields and the CSRF cookie.
struct LoginForm {
    request_id: String,
    csrf_token: String,
    cookie: String,
}

impl Flow {
    async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        let query = serde_urlencoded::to_string(params).unwrap();
        self.browser
            .get(format!("{}/oauth/authorize?{query}", self.app.address))
            .send()
            .await
            .unwrap()
    }

    /// GET /oauth/authorize for `spa` with `challenge`; the login form.
    async fn login_form(&self, challenge: &str) -> LoginForm {
        self.login_form_as(challenge, None).await
    }

    /// Like [`Flow::login_form`], from a browser holding `cookie`.
    async fn login_form_as(&self, challenge: &str, cookie: Option<&str>) -> LoginForm {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", SPA),
            ("redirect_uri", SPA_CB),
            ("scope", "notes:read"),
            ("state", "s-123"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .unwrap();
        let mut request = self
            .browser
            .get(format!("{}/oauth/authorize?{query}", self.app.address));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        read_form(response).await
    }

    async fn post_login(&self, form: &[(&str, &str)], cookie: Option<&str>) -> reqwest::Response {
        let mut req = self
            .browser
            .post(format!("{}/oauth/authorize", self.app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        req.send().await.unwrap()
    }

    async fn submit(&self, form: &LoginForm, username: &str, password: &str) -> reqwest::Response {
        self.post_login(
            &[
                ("request_id", &form.request_id),
                ("csrf_token", &form.csrf_token),
                ("username", username),
                ("password", password),
            ],
            Some(&form.cookie),
        )
        .await
    }

    /// Alice signs in to `spa`; the code from the redirect.
    async fn code(&self, challenge: &str) -> String {
        let form = self.login_form(challenge).await;
        let response = self.submit(&form, "alice", PASSWORD).await;
        let params = redirect_params(&response, SPA_CB);
        assert_eq!(params.get("state").map(String::as_str), Some("s-123"));
        assert_eq!(params.get("iss"), Some(&self.app.issuer));
        params["code"].clone()
    }

    async fn exchange(&self, code: &str, verifier: &str) -> reqwest::Response {
        self.app
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", SPA_CB),
                ("code_verifier", verifier),
                ("client_id", SPA),
            ])
            .await
    }
}

async fn read_form(response: reqwest::Response) -> LoginForm {
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let html = response.text().await.unwrap();
    LoginForm {
        request_id: hidden(&html, "request_id"),
        csrf_token: hidden(&html, "csrf_token"),
        cookie,
    }
}

/// The value of the hidden input `name`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let len = html[start..].find('"').unwrap();
    html[start..start + len].to_owned()
}

/// Asserts a 303 to `expected_base` and returns its query parameters.
fn redirect_params(
    response: &reqwest::Response,
    expected_base: &str,
) -> std::collections::HashMap<String, String> {
    assert_eq!(response.status(), 303, "a See Other redirect");
    let location = response.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    assert_eq!(
        &location[..expected_base.len()],
        expected_base,
        "{location}"
    );
    url.query_pairs().into_owned().collect()
}

async fn the_code_flow_issues_tokens_bound_to_the_user(db: TestDb) {
    let flow = spawn(db).await;
    let (verifier, challenge) = pkce();
    let code = flow.code(&challenge).await;
    assert_eq!(code.len(), 43);

    let response = flow.exchange(&code, &verifier).await;
    assert_no_store(&response);
    let body = tokens(response).await;
    assert_eq!(body["scope"], "notes:read");
    let claims = flow.app.verify(text(&body, "access_token")).await;
    assert_eq!(claims.sub, flow.app.alice_id);
    assert_eq!(claims.client_id, SPA);
    // The refresh token works like any other (a new family).
    let refresh = text(&body, "refresh_token");
    let renewed = flow
        .app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", SPA),
        ])
        .await;
    tokens(renewed).await;
    // Only the hash is stored.
    let stored = authorization_codes::find(&mut flow.app.db.connection(), &code).unwrap();
    assert!(stored.is_none(), "the code itself is no key");
}

async fn a_second_use_of_a_code_fails_and_revokes_its_tokens(db: TestDb) {
    let flow = spawn(db).await;
    let (verifier, challenge) = pkce();
    let code = flow.code(&challenge).await;
    let first = tokens(flow.exchange(&code, &verifier).await).await;
    let refresh = text(&first, "refresh_token");

    let (status, error, body) = error_of(flow.exchange(&code, &verifier).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"), "{body}");

    // The family issued from the code is gone: its refresh token fails...
    let reuse = flow
        .app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", SPA),
        ])
        .await;
    let (status, error, _) = error_of(reuse).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    // ...and introspection says so.
    let hash = tokens::sha256_hex(code.as_bytes());
    let row = authorization_codes::find(&mut flow.app.db.connection(), &hash)
        .unwrap()
        .unwrap();
    let family = storage::refresh_tokens::find_family(
        &mut flow.app.db.connection(),
        row.family_id.as_deref().unwrap(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        family.revoked_reason.as_deref(),
        Some(authorization_codes::REVOKED_FOR_CODE_REUSE)
    );
}

async fn a_wrong_verifier_is_refused_and_burns_the_code(db: TestDb) {
    let flow = spawn(db).await;
    let (verifier, challenge) = pkce();
    let code = flow.code(&challenge).await;
    let (other, _) = pkce();

    let (status, error, body) = error_of(flow.exchange(&code, &other).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );
    // One attempt per code: the right verifier now comes too late.
    let (_, error, _) = error_of(flow.exchange(&code, &verifier).await).await;
    assert_eq!(error, "invalid_grant");

    // A malformed verifier is a malformed request, and does not burn a code.
    let (verifier, challenge) = pkce();
    let code = flow.code(&challenge).await;
    let (status, error, _) = error_of(flow.exchange(&code, "too-short").await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    let missing = flow
        .app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SPA_CB),
            ("client_id", SPA),
        ])
        .await;
    assert_eq!(error_of(missing).await.1, "invalid_request");
    tokens(flow.exchange(&code, &verifier).await).await;
}

async fn a_mismatched_redirect_uri_is_refused(db: TestDb) {
    let flow = spawn(db).await;
    let (verifier, challenge) = pkce();
    let code = flow.code(&challenge).await;
    let response = flow
        .app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code_verifier", &verifier),
            ("client_id", SPA),
        ])
        .await;
    let (status, error, body) = error_of(response).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri")
    );

    // Named in the authorization request, so required at the token endpoint.
    let (verifier, challenge) = pkce();
    let code = flow.code(&challenge).await;
    let response = flow
        .app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", SPA),
        ])
        .await;
    assert_eq!(error_of(response).await.1, "invalid_grant");
}

async fn a_confidential_client_must_authenticate_and_name_its_redirect_uri(db: TestDb) {
    let flow = spawn(db).await;
    let (verifier, challenge) = pkce();
    let page = flow
        .authorize(&[
            ("response_type", "code"),
            ("client_id", WEBAPP),
            ("redirect_uri", WEBAPP_CBS[1]),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .await;
    let form = read_form(page).await;
    let params = redirect_params(&flow.submit(&form, "alice", PASSWORD).await, WEBAPP_CBS[1]);
    assert!(!params.contains_key("state"), "no state was sent");
    let code = params["code"].clone();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEBAPP_CBS[1]),
        ("code_verifier", verifier.as_str()),
    ];

    // Another client cannot redeem it (and the attempt uses it up)...
    let mut as_spa = exchange.to_vec();
    as_spa.push(("client_id", SPA));
    let (_, error, body) = error_of(flow.app.token(&as_spa).await).await;
    assert_eq!(error, "invalid_grant", "{body}");
    // ...nor can the client without its secret (before the code is touched).
    let mut public = exchange.to_vec();
    public.push(("client_id", WEBAPP));
    let (status, error, _) = error_of(flow.app.token(&public).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));

    // A fresh code, redeemed properly with Basic: access token, no refresh
    // token (webapp may not refresh).
    let (verifier, challenge) = pkce();
    let page = flow
        .authorize(&[
            ("response_type", "code"),
            ("client_id", WEBAPP),
            ("redirect_uri", WEBAPP_CBS[0]),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", "notes:write"),
        ])
        .await;
    let form = read_form(page).await;
    let params = redirect_params(&flow.submit(&form, "alice", PASSWORD).await, WEBAPP_CBS[0]);
    let body = tokens(
        flow.app
            .token_basic(
                WEBAPP,
                "web-secret",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &params["code"]),
                    ("redirect_uri", WEBAPP_CBS[0]),
                    ("code_verifier", &verifier),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(body["scope"], "notes:write");
    assert!(body.get("refresh_token").is_none());
}

async fn a_wrong_password_shows_the_form_again_with_a_generic_error(db: TestDb) {
    let flow = spawn(db).await;
    let (_, challenge) = pkce();
    let form = flow.login_form(&challenge).await;

    let wrong = flow.submit(&form, "alice", "not her password").await;
    assert_eq!(wrong.status(), 400);
    let wrong_html = wrong.text().await.unwrap();
    let unknown = flow.submit(&form, "mallory", PASSWORD).await;
    let unknown_html = unknown.text().await.unwrap();
    for html in [&wrong_html, &unknown_html] {
        assert!(
            html.contains("The username or password is incorrect."),
            "{html}"
        );
        assert!(html.contains("aria-describedby=\"login-error\""));
        assert!(!html.contains("not her password"));
    }
    // The same pending request still works with the right password.
    let params = redirect_params(&flow.submit(&form, "alice", PASSWORD).await, SPA_CB);
    assert!(params.contains_key("code"));
    // And it is used up now: one form, one code.
    let again = flow.submit(&form, "alice", PASSWORD).await;
    assert_eq!(again.status(), 400);
}

/// Three failures per account and address, on the login page as on the
/// password grant (they share one guard).
fn three_login_failures_per_source(config: &mut auth_server::config::ServeConfig) {
    config.throttle.login = auth_server::throttle::Limits {
        per_source: 3,
        ..auth_server::throttle::Limits::OFF
    };
}

async fn repeated_wrong_passwords_on_the_login_page_are_throttled(db: TestDb) {
    // Given a server that locks an account for an address after 3 failures
    let flow = spawn_configured(
        db,
        Options {
            serve: three_login_failures_per_source,
            ..Options::default()
        },
    )
    .await;
    let (_, challenge) = pkce();
    let form = flow.login_form(&challenge).await;

    // When alice's password is guessed wrong three times on the login page
    for _ in 0..3 {
        let wrong = flow.submit(&form, "alice", "not her password").await;
        assert_eq!(wrong.status(), 400);
    }

    // Then the next attempt, even with the right password, gets the form
    // back with 429 and Retry-After, before any password is checked
    let locked = flow.submit(&form, "alice", PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);
    let html = locked.text().await.unwrap();
    assert!(
        html.contains("name=\"csrf_token\""),
        "the form again: {html}"
    );
    assert!(html.contains("Too many failed sign-ins."), "{html}");
    assert!(!html.contains("code="), "no code is issued: {html}");

    // And the password grant shares the count: the lockout holds there too
    let grant = flow.app.login("alice", PASSWORD).await;
    assert_eq!(grant.status(), 429);
    // While another user is not affected
    let (_, challenge) = pkce();
    let other = flow.login_form(&challenge).await;
    let bob = flow.submit(&other, "bob", "whatever").await;
    assert_eq!(bob.status(), 400);
}

async fn the_login_form_needs_its_csrf_token(db: TestDb) {
    let flow = spawn(db).await;
    let (_, challenge) = pkce();
    let form = flow.login_form(&challenge).await;
    let other = flow.login_form_as(&pkce().1, Some(&form.cookie)).await;
    // A browser keeps its token for all its pending logins.
    assert_eq!(form.csrf_token, other.csrf_token);
    let forged = "A".repeat(43);
    let stranger = format!("authorize_csrf={forged}");
    for (csrf, cookie) in [
        (None, Some(form.cookie.clone())),
        (Some(form.csrf_token.as_str()), None),
        (Some(forged.as_str()), Some(form.cookie.clone())),
        (Some(forged.as_str()), Some(stranger.clone())),
    ] {
        let mut fields = vec![
            ("request_id", form.request_id.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
        ];
        fields.extend(csrf.map(|csrf| ("csrf_token", csrf)));
        let response = flow.post_login(&fields, cookie.as_deref()).await;
        assert_eq!(response.status(), 403, "{csrf:?} {cookie:?}");
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY");
    }
    // The genuine form still works.
    redirect_params(&flow.submit(&form, "alice", PASSWORD).await, SPA_CB);
}

async fn requests_that_cannot_be_trusted_get_a_page(db: TestDb) {
    let flow = spawn(db).await;
    let (_, challenge) = pkce();
    let base = [
        ("response_type", "code"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let cases: [&[(&str, &str)]; 4] = [
        &[("client_id", "nobody"), ("redirect_uri", SPA_CB)],
        &[
            ("client_id", SPA),
            ("redirect_uri", "https://evil.example/cb"),
        ],
        &[("client_id", WEBAPP)], // two registered URIs, none named
        &[("redirect_uri", SPA_CB)],
    ];
    for extra in cases {
        let mut params = base.to_vec();
        params.extend_from_slice(extra);
        let response = flow.authorize(&params).await;
        assert_eq!(response.status(), 400, "{extra:?}");
        assert!(response.headers().get("location").is_none());
        assert_is_secured_page(&response);
    }
}

/// An HTML page with the headers every page of ours carries: a locked-down
/// CSP, no referrer, not stored.
fn assert_is_secured_page(response: &reqwest::Response) {
    let headers = response.headers();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
}

async fn an_oversized_login_form_gets_the_413_page(db: TestDb) {
    let flow = spawn(db).await;
    let (_, challenge) = pkce();
    let form = flow.login_form(&challenge).await;
    // Over the 16 KiB form limit the token endpoint also applies.
    let huge = "a".repeat(17 * 1024);
    let response = flow
        .post_login(
            &[
                ("request_id", form.request_id.as_str()),
                ("csrf_token", form.csrf_token.as_str()),
                ("username", "alice"),
                ("password", huge.as_str()),
            ],
            Some(&form.cookie),
        )
        .await;
    assert_eq!(response.status(), 413);
    assert_is_secured_page(&response);
    assert!(response.text().await.unwrap().contains("too large"));
    // The pending request was not touched: the genuine form still works.
    redirect_params(&flow.submit(&form, "alice", PASSWORD).await, SPA_CB);
}

async fn bad_requests_go_back_to_the_client_with_the_rfc_error(db: TestDb) {
    let flow = spawn(db).await;
    let (_, challenge) = pkce();
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("code_challenge_method", "S256")], "invalid_request"),
        (
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (&[("code_challenge", &challenge)], "invalid_request"),
        (
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("scope", "admin"),
            ],
            "invalid_scope",
        ),
        (
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("response_type", "token"),
            ],
            "unsupported_response_type",
        ),
        (
            &[("code_challenge", "abc"), ("code_challenge_method", "S256")],
            "invalid_request",
        ),
    ];
    for (extra, expected) in cases {
        let mut params = vec![("client_id", SPA), ("state", "s-9")];
        if !extra.iter().any(|(k, _)| *k == "response_type") {
            params.push(("response_type", "code"));
        }
        params.extend_from_slice(extra);
        let response = flow.authorize(&params).await;
        let got = redirect_params(&response, SPA_CB);
        assert_eq!(got["error"], expected, "{extra:?}");
        assert_eq!(got["state"], "s-9");
        assert_eq!(got["iss"], flow.app.issuer);
    }
    // A client without the grant is told so.
    register(
        &mut flow.app.db.connection(),
        "pw-only",
        "password",
        &[SPA_CB],
        None,
    );
    let response = flow
        .authorize(&[
            ("client_id", "pw-only"),
            ("response_type", "code"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .await;
    assert_eq!(
        redirect_params(&response, SPA_CB)["error"],
        "unauthorized_client"
    );
}

async fn the_user_may_cancel(db: TestDb) {
    let flow = spawn(db).await;
    let form = flow.login_form(&pkce().1).await;
    let response = flow
        .post_login(
            &[
                ("request_id", &form.request_id),
                ("csrf_token", &form.csrf_token),
                ("action", "cancel"),
            ],
            Some(&form.cookie),
        )
        .await;
    let params = redirect_params(&response, SPA_CB);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "s-123");
}

/// A code for alice and `spa`, stored directly.
fn seed_code(conn: &mut DbConnection, now: i64) -> (String, String) {
    let user = add_user(conn, "alice");
    register(
        conn,
        SPA,
        "authorization_code refresh_token",
        &[SPA_CB],
        None,
    );
    let (verifier, challenge) = pkce();
    let hash = tokens::sha256_hex(b"the code");
    let row = CodeRow {
        code_hash: hash.clone(),
        client_id: SPA.into(),
        user_id: user,
        redirect_uri: SPA_CB.into(),
        redirect_uri_sent: true,
        scope: "notes:read".into(),
        code_challenge: challenge,
        created_at: now,
        expires_at: now + 60,
        used_at: None,
        family_id: None,
    };
    authorization_codes::insert(conn, &row).unwrap();
    (hash, verifier)
}

fn concurrent_redemptions_have_exactly_one_winner(db: &TestDb) {
    let now = clock::now();
    let (hash, _) = seed_code(&mut db.connection(), now);
    let racers = 4;
    let barrier = Arc::new(Barrier::new(racers));
    let handles: Vec<_> = (0..racers)
        .map(|_| {
            let mut conn = db.connection();
            let barrier = barrier.clone();
            let hash = hash.clone();
            thread::spawn(move || {
                barrier.wait();
                authorization_codes::redeem(&mut conn, &hash, now, |_| Ok::<_, ()>(None)).unwrap()
            })
        })
        .collect();
    let outcomes: Vec<Redemption<()>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners = outcomes
        .iter()
        .filter(|o| matches!(o, Redemption::Redeemed(_)))
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Redemption::Redeemed(_) | Redemption::Reused { .. })),
        "{outcomes:?}"
    );
}

fn an_expired_code_is_refused(db: &TestDb) {
    let now = clock::now();
    let mut conn = db.connection();
    let (hash, _) = seed_code(&mut conn, now);
    let later = authorization_codes::redeem(&mut conn, &hash, now + 60, |_| Ok::<_, ()>(None));
    assert_eq!(later.unwrap(), Redemption::Expired);
    let unknown = authorization_codes::redeem(&mut conn, "nope", now, |_| Ok::<_, ()>(None));
    assert_eq!(unknown.unwrap(), Redemption::Unknown);
    // Still redeemable in time: expiry changed nothing.
    assert!(matches!(
        authorization_codes::redeem(&mut conn, &hash, now + 59, |_| Ok::<_, ()>(None)).unwrap(),
        Redemption::Redeemed(_)
    ));
}

#[actix_web::test]
async fn metadata_advertises_the_endpoint_and_s256_only() {
    let app = TestApp::spawn().await;
    let metadata: Value = app.metadata().await.json().await.unwrap();
    assert_eq!(
        metadata["authorization_endpoint"],
        format!("{}/oauth/authorize", app.issuer)
    );
    assert_eq!(
        metadata["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"authorization_code".into())
    );
}
