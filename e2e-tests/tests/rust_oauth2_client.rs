//! Rust's standard OAuth 2.0 client, the `oauth2` crate, against the real
//! binaries with no special cases: client credentials with
//! `client_secret_basic` and with `client_secret_post`, the password grant
//! of a confidential client, and RFC 7662 introspection of both tokens,
//! each through the crate's own request builders. Revocation is the one
//! exception: the crate sends it only to an `https` URL (RFC 7009 §2 says a
//! client MUST check that), and these servers speak plain HTTP on loopback
//! behind the TLS terminator of a real deployment, so the test checks that
//! refusal and revokes with the form the crate would have sent.
//! (`tests/lifecycle.rs` drives the same crate through the password and
//! refresh grants; `tests/standard_clients.rs` drives authlib through all of
//! these, revocation included.)

mod common;

use common::{PASSWORD, http_client, on_both_backends};
use e2e_tests::fixture::{AuthServer, DEFAULT_AUDIENCE, Database, ResourceServer};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, IntrospectionUrl, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, RevocationUrl, Scope, StandardRevocableToken,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use serde_json::Value;

on_both_backends!(
    a_service_gets_tokens_by_client_credentials_with_either_authentication_method,
    a_confidential_client_introspects_and_revokes_what_it_was_issued,
);

/// A client the `oauth2` crate can use for every endpoint we offer a
/// machine: token, introspection and revocation.
fn confidential_client(
    auth: &AuthServer,
    id: &str,
    secret: &str,
    auth_type: AuthType,
) -> oauth2::basic::BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_auth_type(auth_type)
        .set_token_uri(TokenUrl::new(auth.token_url()).expect("token URL"))
        .set_introspection_url(
            IntrospectionUrl::new(auth.endpoint("/oauth/introspect")).expect("introspection URL"),
        )
        .set_revocation_url(
            RevocationUrl::new(auth.endpoint("/oauth/revoke")).expect("revocation URL"),
        )
}

fn a_service_gets_tokens_by_client_credentials_with_either_authentication_method(
    database: Database,
) {
    // Given an auth server with a service client, and the API trusting it
    let auth = AuthServer::builder()
        .database(database)
        .start()
        .expect("auth-server starts");
    let secret = auth
        .add_confidential_client(
            "reporting",
            &["client_credentials"],
            "notes:read",
            DEFAULT_AUDIENCE,
        )
        .expect("clients add reporting");
    let api = ResourceServer::start(&auth).expect("resource-server starts");
    let http = http_client();

    for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
        let method = format!("{auth_type:?}");
        let client = confidential_client(&auth, "reporting", &secret, auth_type.clone());

        // When the service asks for a token for itself
        let token = client
            .exchange_client_credentials()
            .add_scope(Scope::new("notes:read".to_owned()))
            .request(&http)
            .unwrap_or_else(|e| panic!("client_credentials with {method}: {e:?}"));

        // Then it gets an access token and no refresh token (RFC 6749 §4.4.3)
        assert!(
            token.refresh_token().is_none(),
            "{method}: no refresh token"
        );
        assert_eq!(
            token
                .scopes()
                .map(|s| s.iter().map(|s| s.as_str()).collect()),
            Some(vec!["notes:read"]),
            "{method}: granted scope"
        );
        // And the API sees the service itself as the subject
        let me = http
            .get(api.endpoint("/api/me"))
            .bearer_auth(token.access_token().secret())
            .send()
            .expect("resource server answers");
        assert_eq!(me.status(), 200, "{method}: the API accepts the token");
        let me: Value = me.json().expect("JSON");
        assert_eq!(me["sub"], "reporting", "{method}: sub is the client");
        assert_eq!(me["client_id"], "reporting");

        // And a wrong secret is invalid_client, whichever way it is sent
        let impostor = confidential_client(&auth, "reporting", "not-the-secret", auth_type);
        match impostor.exchange_client_credentials().request(&http) {
            Err(RequestTokenError::ServerResponse(error)) => {
                assert_eq!(error.error(), &BasicErrorResponseType::InvalidClient);
            }
            other => panic!("{method}: a wrong secret must be invalid_client, got {other:?}"),
        }
    }
}

fn a_confidential_client_introspects_and_revokes_what_it_was_issued(database: Database) {
    // Given alice and a confidential first-party web client
    let auth = AuthServer::builder()
        .database(database)
        .start()
        .expect("auth-server starts");
    auth.add_user("alice", PASSWORD).expect("users add alice");
    let secret = auth
        .add_confidential_client(
            "notes-web",
            &["password", "refresh_token"],
            "notes:read notes:write",
            DEFAULT_AUDIENCE,
        )
        .expect("clients add notes-web");
    let http = http_client();
    let client = confidential_client(&auth, "notes-web", &secret, AuthType::BasicAuth);

    // When alice logs in through it
    let login = client
        .exchange_password(
            &ResourceOwnerUsername::new("alice".to_owned()),
            &ResourceOwnerPassword::new(PASSWORD.to_owned()),
        )
        .add_scope(Scope::new("notes:read".to_owned()))
        .request(&http)
        .expect("password grant succeeds");
    let access = login.access_token().clone();
    let refresh = login.refresh_token().expect("a refresh token").clone();

    // Then introspection describes the access token (RFC 7662 §2.2)
    let about = client
        .introspect(&access)
        .request(&http)
        .expect("introspection of the access token");
    assert!(about.active(), "a fresh access token is active");
    assert_eq!(about.client_id().map(|c| c.as_str()), Some("notes-web"));
    assert!(about.sub().is_some(), "the subject is disclosed");
    assert!(about.exp().is_some(), "its expiry is disclosed");
    assert_eq!(
        about
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect()),
        Some(vec!["notes:read"])
    );
    // And the refresh token, named by its type hint
    let refresh_as_presented = AccessToken::new(refresh.secret().clone());
    let about_refresh = client
        .introspect(&refresh_as_presented)
        .set_token_type_hint("refresh_token")
        .request(&http)
        .expect("introspection of the refresh token");
    assert!(about_refresh.active(), "a fresh refresh token is active");
    assert_eq!(
        about_refresh.client_id().map(|c| c.as_str()),
        Some("notes-web")
    );

    // When the client revokes the refresh token (logging alice out): the
    // crate itself insists on TLS for that,
    assert!(
        client
            .revoke_token(StandardRevocableToken::RefreshToken(refresh.clone()))
            .is_err(),
        "the oauth2 crate refuses a plain-HTTP revocation URL"
    );
    // so the request it would send goes out by hand
    assert_eq!(
        revoke(&auth, &secret, refresh.secret(), "refresh_token"),
        200
    );

    // Then introspection says only that it is inactive
    let after = client
        .introspect(&refresh_as_presented)
        .set_token_type_hint("refresh_token")
        .request(&http)
        .expect("introspection after revocation");
    assert!(!after.active(), "a revoked refresh token is inactive");
    assert!(
        after.client_id().is_none() && after.sub().is_none() && after.scopes().is_none(),
        "nothing else is disclosed about an inactive token"
    );
    // And it no longer refreshes
    match client.exchange_refresh_token(&refresh).request(&http) {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(error.error(), &BasicErrorResponseType::InvalidGrant);
        }
        other => panic!("a revoked refresh token must be invalid_grant, got {other:?}"),
    }
    // And revoking it again, or an access token, or garbage, is still 200
    // (RFC 7009 §2.2)
    for (token, hint) in [
        (refresh.secret().as_str(), "refresh_token"),
        (access.secret().as_str(), "access_token"),
        ("no-such-token", "access_token"),
    ] {
        assert_eq!(
            revoke(&auth, &secret, token, hint),
            200,
            "revoking a {hint} again"
        );
    }
    // And an unknown token introspects as inactive
    let unknown = client
        .introspect(&AccessToken::new("no-such-token".to_owned()))
        .request(&http)
        .expect("introspection of garbage");
    assert!(!unknown.active());
}

/// RFC 7009 revocation as the `oauth2` crate sends it: a form with the
/// token and its type hint, the client authenticated with HTTP Basic.
fn revoke(auth: &AuthServer, secret: &str, token: &str, hint: &str) -> u16 {
    http_client()
        .post(auth.endpoint("/oauth/revoke"))
        .basic_auth("notes-web", Some(secret))
        .form(&[("token", token), ("token_type_hint", hint)])
        .send()
        .expect("the revocation endpoint answers")
        .status()
        .as_u16()
}
