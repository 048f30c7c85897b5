//! The authorization endpoint's domain (RFC 6749 §4.1, RFC 7636, RFC 9700
//! §2.1.1 and §4.1): checking an authorization request against the client's
//! registration, and shaping the answers that go back to the client through
//! the browser. No HTTP here.
//!
//! Decisions:
//! - PKCE with `S256` is required of every client, public or confidential
//!   (OAuth 2.1); `plain` and a missing method are refused.
//! - A missing `scope` means the client's whole registered scope, as at the
//!   token endpoint (RFC 6749 §3.3 lets the server pick a default; the login
//!   page shows the user exactly what is granted).
//! - `redirect_uri` must equal one registered URI, character for character
//!   (RFC 9700 §4.1.3). It may be omitted only when exactly one is
//!   registered; it must then be omitted (or repeated) at the token endpoint.
//! - Every redirect carries `iss` (RFC 9207), so a client talking to several
//!   servers can tell which one answered (mix-up defence, RFC 9700 §4.4).

pub mod pkce;
mod redirect;
pub mod secrets;

use std::borrow::Cow;

use shared_claims::Scope;

use crate::domain::{GrantType, GrantTypes};
use crate::form::Form;
use crate::storage::clients::ClientRow;

pub use pkce::{CodeChallenge, CodeVerifier, PkceError};
pub use redirect::redirect_uri_with;
pub use secrets::{AuthorizationCode, CsrfToken};

/// Seconds a user has to log in after the request was validated.
pub const PENDING_REQUEST_TTL: i64 = 600;
/// Seconds an authorization code is valid (RFC 6749 §4.1.2: short, ten
/// minutes at most; a client exchanges it at once).
pub const CODE_TTL: i64 = 60;

/// The error codes of RFC 6749 §4.1.2.1, sent back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeErrorCode {
    /// Missing, repeated or malformed parameter (PKCE included).
    InvalidRequest,
    /// The client may not use the authorization-code grant.
    UnauthorizedClient,
    /// The user declined.
    AccessDenied,
    /// `response_type` other than `code`.
    UnsupportedResponseType,
    /// Scope malformed or beyond the client's registration.
    InvalidScope,
    /// Our fault.
    ServerError,
    /// The database is unreachable for now.
    TemporarilyUnavailable,
}

impl AuthorizeErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// A checked authorization request: what the login page asks the user to
/// grant, and what the code will be bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// The registered redirect URI in effect.
    pub redirect_uri: String,
    /// Whether the request named it (then the token request must repeat it).
    pub redirect_uri_sent: bool,
    /// The scope to grant.
    pub scope: Scope,
    /// The client's `state`, echoed back verbatim.
    pub state: Option<String>,
    /// The PKCE challenge.
    pub code_challenge: CodeChallenge,
}

/// Where an error goes: to the user, when the client or its redirect URI
/// cannot be trusted (RFC 6749 §4.1.2.1: never redirect to an unverified
/// URI), or back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Shown on an error page (400).
    Page(Cow<'static, str>),
    /// Sent to the client's redirect URI.
    Redirect(ErrorRedirect),
}

/// An error for the client, with where to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The verified redirect URI.
    pub redirect_uri: String,
    /// The code.
    pub error: AuthorizeErrorCode,
    /// For the client's developer.
    pub description: Cow<'static, str>,
    /// The client's `state`.
    pub state: Option<String>,
}

impl ErrorRedirect {
    /// The `Location` for this error, with `iss` (RFC 9207).
    pub fn location(&self, issuer: &str) -> Result<String, url::ParseError> {
        let mut params = vec![
            ("error", self.error.as_str()),
            ("error_description", self.description.as_ref()),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state.as_str()));
        }
        params.push(("iss", issuer));
        redirect_uri_with(&self.redirect_uri, &params)
    }
}

/// Checks an authorization request's query parameters against the client's
/// registration (`None`: no such client), in the order RFC 6749 §4.1.2.1
/// implies: first what decides whether a redirect is safe, then the rest.
pub fn validate(
    params: &Form,
    client: Option<&ClientRow>,
) -> Result<AuthorizationRequest, Rejection> {
    let page = |text: &'static str| Rejection::Page(Cow::Borrowed(text));
    if params.get("client_id").is_none() {
        return Err(page("The request names no client (client_id is missing)."));
    }
    let client = client
        .ok_or_else(|| page("The application asking you to sign in is not registered here."))?;
    let registered: Vec<&str> = client.redirect_uris.split_whitespace().collect();
    let (redirect_uri, redirect_uri_sent) = match params.get("redirect_uri") {
        Some(uri) if registered.contains(&uri) => (uri.to_owned(), true),
        Some(_) => {
            return Err(page(
                "The application's redirect_uri is not one it registered, so you cannot be sent back to it.",
            ));
        }
        None => match registered.as_slice() {
            [only] => ((*only).to_owned(), false),
            [] => return Err(page("The application has no registered redirect URI.")),
            _ => {
                return Err(page(
                    "The application registered several redirect URIs and did not say which to use.",
                ));
            }
        },
    };
    let state = params.get("state").map(str::to_owned);
    let refuse = |error: AuthorizeErrorCode, description: Cow<'static, str>| {
        Rejection::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: state.clone(),
        })
    };

    match params.get("response_type") {
        None => {
            return Err(refuse(
                AuthorizeErrorCode::InvalidRequest,
                "missing parameter: response_type".into(),
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                AuthorizeErrorCode::UnsupportedResponseType,
                "the only supported response_type is code".into(),
            ));
        }
    }
    let grants = GrantTypes::parse(&client.grants).map_err(|_| {
        refuse(
            AuthorizeErrorCode::ServerError,
            "the client's registration is unusable".into(),
        )
    })?;
    if !grants.allows(GrantType::AuthorizationCode) {
        return Err(refuse(
            AuthorizeErrorCode::UnauthorizedClient,
            "client is not allowed to use the authorization_code grant".into(),
        ));
    }
    let allowed = Scope::parse(&client.scope).map_err(|_| {
        refuse(
            AuthorizeErrorCode::ServerError,
            "the client's registration is unusable".into(),
        )
    })?;
    let requested = params
        .get("scope")
        .map(Scope::parse)
        .transpose()
        .map_err(|e| refuse(AuthorizeErrorCode::InvalidScope, e.to_string().into()))?;
    let scope = allowed.narrow(requested.as_ref()).map_err(|extra| {
        refuse(
            AuthorizeErrorCode::InvalidScope,
            format!("scope not allowed: {extra}").into(),
        )
    })?;
    let challenge = params.get("code_challenge").ok_or_else(|| {
        refuse(
            AuthorizeErrorCode::InvalidRequest,
            "PKCE is required: missing parameter code_challenge".into(),
        )
    })?;
    let code_challenge = CodeChallenge::parse(challenge, params.get("code_challenge_method"))
        .map_err(|e| refuse(AuthorizeErrorCode::InvalidRequest, e.to_string().into()))?;

    Ok(AuthorizationRequest {
        client_id: client.id.clone(),
        redirect_uri,
        redirect_uri_sent,
        scope,
        state,
        code_challenge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CB: &str = "https://app.example/cb";

    fn client(grants: &str, uris: &str) -> ClientRow {
        ClientRow {
            id: "app".into(),
            secret_hash: None,
            grants: grants.into(),
            scope: "notes:read notes:write".into(),
            audience: "api".into(),
            redirect_uris: uris.into(),
            created_at: 0,
        }
    }

    fn query(extra: &str) -> Form {
        let base = format!(
            "client_id=app&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz{extra}"
        );
        Form::parse(base.as_bytes()).expect("valid query")
    }

    fn redirected_error(result: Result<AuthorizationRequest, Rejection>) -> AuthorizeErrorCode {
        match result {
            Err(Rejection::Redirect(r)) => {
                assert_eq!(r.state.as_deref(), Some("xyz"), "state is echoed");
                r.error
            }
            other => panic!("expected a redirected error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_defaults_to_the_one_uri_and_the_whole_scope() {
        let client = client("authorization_code", CB);
        let ok = validate(&query(""), Some(&client)).expect("valid");
        assert_eq!(ok.redirect_uri, CB);
        assert!(!ok.redirect_uri_sent);
        assert_eq!(ok.scope.to_string(), "notes:read notes:write");
        let narrowed = validate(&query("&scope=notes:read"), Some(&client)).expect("valid");
        assert_eq!(narrowed.scope.to_string(), "notes:read");
    }

    #[test]
    fn untrusted_clients_and_uris_get_a_page_not_a_redirect() {
        let one = client("authorization_code", CB);
        let two = client(
            "authorization_code",
            "https://a.example/cb https://b.example/cb",
        );
        assert!(matches!(
            validate(&query(""), None),
            Err(Rejection::Page(_))
        ));
        for (params, client) in [
            (query("&redirect_uri=https://evil.example/cb"), &one),
            (query("&redirect_uri=https://app.example/cb/"), &one),
            (query(""), &two),
            (query(""), &client("authorization_code", "")),
        ] {
            assert!(matches!(
                validate(&params, Some(client)),
                Err(Rejection::Page(_))
            ));
        }
        let no_id = Form::parse(b"response_type=code").expect("valid");
        assert!(matches!(
            validate(&no_id, Some(&one)),
            Err(Rejection::Page(_))
        ));
    }

    #[test]
    fn the_rest_is_redirected_with_the_rfc_code() {
        let c = client("authorization_code", CB);
        let q = |s: &str| Form::parse(s.as_bytes()).expect("valid");
        use AuthorizeErrorCode::*;
        let cases = [
            (q("client_id=app&state=xyz"), InvalidRequest),
            (
                q("client_id=app&state=xyz&response_type=token"),
                UnsupportedResponseType,
            ),
            (
                q(&format!(
                    "client_id=app&state=xyz&response_type=code&code_challenge={CHALLENGE}"
                )),
                InvalidRequest,
            ),
            (
                q(&format!(
                    "client_id=app&state=xyz&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=plain"
                )),
                InvalidRequest,
            ),
            (
                q("client_id=app&state=xyz&response_type=code"),
                InvalidRequest,
            ),
            (query("&scope=admin"), InvalidScope),
        ];
        for (params, code) in cases {
            assert_eq!(
                redirected_error(validate(&params, Some(&c))),
                code,
                "{params:?}"
            );
        }
        let password_only = client("password", CB);
        assert_eq!(
            redirected_error(validate(&query(""), Some(&password_only))),
            UnauthorizedClient
        );
    }

    #[test]
    fn error_redirects_keep_the_uri_query_and_add_iss() {
        let r = ErrorRedirect {
            redirect_uri: "https://app.example/cb?tenant=1".into(),
            error: AuthorizeErrorCode::AccessDenied,
            description: "the user said no".into(),
            state: Some("a b".into()),
        };
        assert_eq!(
            r.location("https://auth.example").expect("valid"),
            "https://app.example/cb?tenant=1&error=access_denied&error_description=the+user+said+no&state=a+b&iss=https%3A%2F%2Fauth.example"
        );
    }
}
