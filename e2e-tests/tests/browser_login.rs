//! The login page in a real browser: headless Chromium opens the
//! authorization URL a client built (PKCE S256, `state`), meets the page's
//! CSRF cookie and hidden fields as any browser does, is told a wrong
//! password without learning more, signs in, and is redirected to the
//! client's callback, a small listener in this test. The client then
//! exchanges the code with its verifier and calls the resource server.
//!
//! The HTTP-level error paths (wrong verifier, reused code, mismatched
//! redirect URI) are in `authorization_code.rs`.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{FULL_SCOPE, PASSWORD, Stack};
use e2e_tests::browser::Browser;
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE};
use fantoccini::{Client, Locator};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use serde_json::Value;

/// A public client of the authorization-code kind, as a single-page or
/// mobile app would be registered.
const APP: &str = "browser-app";
/// Bound for anything the browser does after a click.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[test]
fn a_user_signs_in_on_the_login_page_and_the_client_gets_tokens_the_api_accepts() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let Some(browser) = runtime
        .block_on(Browser::start("login page"))
        .expect("headless Chromium starts")
    else {
        return;
    };

    // Given the client's callback, the two servers, alice, and the client
    // registered with that exact redirect URI
    let callback = Callback::listen();
    let stack = Stack::start(AuthServer::builder());
    stack
        .auth
        .cli(&[
            "clients",
            "add",
            APP,
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--scope",
            FULL_SCOPE,
            "--audience",
            DEFAULT_AUDIENCE,
            "--redirect-uri",
            &callback.url,
        ])
        .expect("clients add browser-app");
    let client = BasicClient::new(ClientId::new(APP.to_owned()))
        .set_auth_uri(AuthUrl::new(stack.auth.endpoint("/oauth/authorize")).expect("URL"))
        .set_token_uri(TokenUrl::new(stack.auth.token_url()).expect("URL"))
        .set_redirect_uri(RedirectUrl::new(callback.url.clone()).expect("URL"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("notes:read".to_owned()))
        .set_pkce_challenge(challenge)
        .url();

    runtime.block_on(async {
        let page = browser.client();
        // When the browser opens the authorization URL, it gets the login page
        page.goto(authorize_url.as_str()).await.expect("goto");
        let heading = text_of(page, "h1").await;
        assert_eq!(heading, "Sign in");

        // A wrong password shows the one generic error, on the same form
        sign_in(page, "alice", "not her password").await;
        let error = wait_for_text(page, "#login-error").await;
        assert_eq!(error, "The username or password is incorrect.");

        // The right one sends the browser to the client's callback
        sign_in(page, "alice", PASSWORD).await;
    });
    let query = callback.wait_for_redirect();
    assert_eq!(query.get("state"), Some(state.secret()), "state is echoed");
    assert_eq!(
        query.get("iss").map(String::as_str),
        Some(stack.auth.issuer()),
        "RFC 9207 iss"
    );
    let code = query.get("code").expect("a code in the redirect").clone();

    // Then the client exchanges the code with its verifier
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request(&stack.http)
        .expect("the code exchange succeeds");
    // And the resource server accepts the access token as alice's
    let me = stack.me(tokens.access_token().secret());
    assert_eq!(me.status(), 200);
    let me: Value = me.json().expect("JSON");
    assert_eq!(me["client_id"], APP);
    assert_eq!(me["scope"], "notes:read");
    assert!(tokens.refresh_token().is_some(), "a refresh token as well");

    runtime
        .block_on(browser.close())
        .expect("the browser closes");
}

/// Types the credentials into the form and presses "Sign in and allow".
async fn sign_in(page: &Client, username: &str, password: &str) {
    let name = page.find(Locator::Id("username")).await.expect("#username");
    name.clear().await.expect("clear #username");
    name.send_keys(username).await.expect("type the username");
    page.find(Locator::Id("password"))
        .await
        .expect("#password")
        .send_keys(password)
        .await
        .expect("type the password");
    page.find(Locator::Css("button[value=login]"))
        .await
        .expect("the sign-in button")
        .click()
        .await
        .expect("click sign in");
}

async fn text_of(page: &Client, css: &str) -> String {
    page.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("text of {css}: {e}"))
}

/// Polls until `css` matches an element with text (the page after a post).
async fn wait_for_text(page: &Client, css: &str) -> String {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Ok(element) = page.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
            && !text.is_empty()
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{css} never showed");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The client's redirect URI: a one-page HTTP listener that hands the query
/// of the first request it gets to the test.
struct Callback {
    url: String,
    queries: mpsc::Receiver<String>,
}

impl Callback {
    fn listen() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!(
            "http://{}/callback",
            listener.local_addr().expect("local address")
        );
        let (sender, queries) = mpsc::channel();
        // Detached: it blocks in accept until the process ends.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut writer = &stream;
                let _ = writer.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nconnection: close\r\n\r\nsigned in",
                );
                // "GET /callback?code=...&state=... HTTP/1.1"
                let target = request_line.split(' ').nth(1).unwrap_or_default();
                if let Some((_, query)) = target.split_once('?')
                    && sender.send(query.to_owned()).is_err()
                {
                    return;
                }
            }
        });
        Self { url, queries }
    }

    /// The redirect's query parameters, once the browser arrives.
    fn wait_for_redirect(&self) -> HashMap<String, String> {
        let query = self
            .queries
            .recv_timeout(STEP_TIMEOUT)
            .expect("the browser is redirected to the callback");
        oauth2::url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }
}
