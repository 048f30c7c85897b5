//! The authorization-code flow with PKCE, against the real binaries, with
//! the `oauth2` crate doing what a client does (the PKCE pair, the
//! authorization URL, `state`, the code exchange) and this test playing the
//! browser over plain HTTP: fetch the login page, post the form with its
//! hidden fields and cookie, read the code from the redirect. Then the
//! error paths a client can meet: a wrong verifier, a reused code, a
//! mismatched redirect URI.

mod common;

use std::collections::HashMap;

use common::{FULL_SCOPE, PASSWORD, Stack, json_error, on_both_backends};
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE, Database};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};
use serde_json::Value;

on_both_backends!(
    a_browser_login_gives_a_code_the_client_exchanges_for_tokens_the_api_accepts,
    a_wrong_verifier_a_reused_code_and_a_wrong_redirect_uri_are_refused,
);

/// The third-party-style client: public, authorization_code + refresh_token.
const APP: &str = "browser-app";
/// Its registered redirect URI. Never contacted: the test reads the
/// redirect's `Location` instead of following it.
const CALLBACK: &str = "https://notes.example/callback";

type CodeClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn start(database: Database) -> (Stack, CodeClient) {
    let stack = Stack::start(AuthServer::builder().database(database));
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
            CALLBACK,
        ])
        .expect("clients add browser-app");
    let client = BasicClient::new(ClientId::new(APP.to_owned()))
        .set_auth_uri(AuthUrl::new(stack.auth.endpoint("/oauth/authorize")).expect("URL"))
        .set_token_uri(TokenUrl::new(stack.auth.token_url()).expect("URL"))
        .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned()).expect("URL"));
    (stack, client)
}

/// Alice signs in through the login page. Returns the code and the PKCE
/// verifier, after checking `state` and `iss` came back.
fn sign_in(stack: &Stack, client: &CodeClient) -> (AuthorizationCode, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("notes:read".to_owned()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser opens the authorization URL: a login page and a cookie.
    let page = stack.http.get(url).send().expect("login page");
    assert_eq!(page.status(), 200);
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("the CSRF cookie")
        .to_owned();
    let html = page.text().expect("HTML");
    assert!(html.contains("<form method=\"post\""), "{html}");

    // The user fills in the form; the browser posts it with the hidden fields.
    let redirect = stack
        .http
        .post(stack.auth.endpoint("/oauth/authorize"))
        .header("cookie", cookie)
        .form(&[
            ("request_id", hidden(&html, "request_id")),
            ("csrf_token", hidden(&html, "csrf_token")),
            ("username", "alice".to_owned()),
            ("password", PASSWORD.to_owned()),
        ])
        .send()
        .expect("login post");

    // It is sent back to the client with a code, its state and the issuer.
    assert_eq!(redirect.status(), 303);
    let location = redirect.headers()["location"].to_str().expect("ASCII");
    assert!(location.starts_with(CALLBACK), "{location}");
    let query: HashMap<String, String> = url_query(location);
    assert_eq!(query.get("state"), Some(state.secret()), "state is echoed");
    assert_eq!(
        query.get("iss").map(String::as_str),
        Some(stack.auth.issuer())
    );
    let code = query.get("code").expect("a code").clone();
    (AuthorizationCode::new(code), verifier)
}

fn a_browser_login_gives_a_code_the_client_exchanges_for_tokens_the_api_accepts(
    database: Database,
) {
    // Given an auth server, alice, and a public client with a redirect URI
    let (stack, client) = start(database);

    // When alice signs in and the client exchanges the code with its verifier
    let (code, verifier) = sign_in(&stack, &client);
    let tokens = client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request(&stack.http)
        .expect("the code exchange succeeds");

    // Then the API accepts the access token as alice's, for this client
    let me = stack.me(tokens.access_token().secret());
    assert_eq!(me.status(), 200);
    let me: Value = me.json().expect("JSON");
    assert_eq!(me["client_id"], APP);
    assert_eq!(me["scope"], "notes:read");
    // And the refresh token refreshes
    let refresh = tokens.refresh_token().expect("a refresh token");
    client
        .exchange_refresh_token(refresh)
        .request(&stack.http)
        .expect("refresh succeeds");
}

fn a_wrong_verifier_a_reused_code_and_a_wrong_redirect_uri_are_refused(database: Database) {
    let (stack, client) = start(database);

    // A wrong verifier is refused
    let (code, _) = sign_in(&stack, &client);
    let (_, wrong) = PkceCodeChallenge::new_random_sha256();
    let refused = client
        .exchange_code(code)
        .set_pkce_verifier(wrong)
        .request(&stack.http);
    assert_invalid_grant(refused);

    // A reused code is refused, and what it issued is revoked
    let (code, verifier) = sign_in(&stack, &client);
    let first = client
        .exchange_code(code.clone())
        .set_pkce_verifier(verifier)
        .request(&stack.http)
        .expect("first exchange");
    let replay = stack.token_request(&[
        ("grant_type", "authorization_code"),
        ("code", code.secret()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", "a".repeat(43).as_str()),
        ("client_id", APP),
    ]);
    assert_eq!(json_error(replay, 400)["error"], "invalid_grant");
    let after = client
        .exchange_refresh_token(first.refresh_token().expect("refresh token"))
        .request(&stack.http);
    assert_invalid_grant(after);

    // A redirect URI other than the one the code was sent to is refused
    let (code, verifier) = sign_in(&stack, &client);
    let elsewhere = client
        .clone()
        .set_redirect_uri(RedirectUrl::new("https://notes.example/other".to_owned()).expect("URL"))
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request(&stack.http);
    assert_invalid_grant(elsewhere);
}

fn assert_invalid_grant<T: std::fmt::Debug, E: std::error::Error + 'static>(
    result: Result<T, RequestTokenError<E, oauth2::basic::BasicErrorResponse>>,
) {
    match result {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(error.error(), &BasicErrorResponseType::InvalidGrant);
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

/// The value of the hidden input `name` in `html`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote");
    html[start..start + end].to_owned()
}

/// The query parameters of a URL.
fn url_query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .expect("an absolute URL")
        .query_pairs()
        .into_owned()
        .collect()
}
