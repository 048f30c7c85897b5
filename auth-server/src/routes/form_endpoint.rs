//! What the form-encoded OAuth endpoints share with the token endpoint:
//! the body rules, client authentication (RFC 6749 §2.3, which RFC 7009
//! §2.1 and RFC 7662 §2.1 refer to), and its throttling.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;

use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev, web};

use super::token;
use crate::clients::{self, Client, ClientAuthError, ClientCredentials};
use crate::form::Form;
use crate::oauth_error::{ErrorCode, OAuthError};
use crate::startup::AppState;
use crate::storage;
use crate::throttle;

/// Longest `Authorization` header read. Basic credentials are a client id
/// and a 43-character secret; anything near this is not a credential.
const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// Parameters that carry credentials or the request itself. RFC 6749
/// §2.3.1 and §3.2 want them in the body; in the URL they would end up in
/// access logs and browser history, and since we read only the body, a
/// client sending them there would be silently misunderstood.
const BODY_ONLY: [&str; 12] = [
    "grant_type",
    "client_id",
    "client_secret",
    "username",
    "password",
    "refresh_token",
    "scope",
    "token",
    "token_type_hint",
    "code",
    "code_verifier",
    "redirect_uri",
];

/// The parsed body of a form endpoint. As an extractor it reads the body
/// under the resource's `PayloadConfig` limit and answers every problem
/// (too large, wrong media type, malformed, repeated parameters, OAuth
/// parameters in the URL) with an OAuth JSON error, never actix's text.
#[derive(Debug)]
pub(super) struct FormBody(pub Form);

impl FromRequest for FormBody {
    type Error = OAuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, OAuthError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let req = req.clone();
        // The routes give every form endpoint this limit (PayloadConfig).
        let limit = super::TOKEN_BODY_LIMIT;
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body
                .await
                .map_err(|err| match err.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => OAuthError::payload_too_large(limit),
                    _ => OAuthError::new(
                        ErrorCode::InvalidRequest,
                        "the request body could not be read",
                    ),
                })?;
            read_form(&req, &body).map(FormBody)
        })
    }
}

/// Parses an `application/x-www-form-urlencoded` body, refusing OAuth
/// parameters in the URL query.
fn read_form(req: &HttpRequest, body: &[u8]) -> Result<Form, OAuthError> {
    if !token::is_form_urlencoded(req) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "the request body must be application/x-www-form-urlencoded",
        ));
    }
    refuse_parameters_in_query(req.query_string())?;
    Ok(Form::parse(body)?)
}

fn refuse_parameters_in_query(query: &str) -> Result<(), OAuthError> {
    if query.is_empty() {
        return Ok(());
    }
    let misplaced = match Form::parse(query.as_bytes()) {
        Ok(params) => params.names().any(|name| BODY_ONLY.contains(&name)),
        // A query we cannot read might hide a credential: refuse it too.
        Err(_) => true,
    };
    if misplaced {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "OAuth parameters belong in the request body, not the URL",
        ));
    }
    Ok(())
}

/// Authenticates the calling client: HTTP Basic, `client_id` and
/// `client_secret` in the body, or (a public client) `client_id` alone.
/// Failures are throttled per client id and per address
/// ([`crate::throttle`]); a locked-out client gets 429 before its secret is
/// checked.
pub(super) async fn authenticate_client(
    req: &HttpRequest,
    form: &Form,
    state: &AppState,
) -> Result<Client, OAuthError> {
    let authorization = match req.headers().get(header::AUTHORIZATION) {
        Some(value) if value.len() > MAX_AUTHORIZATION_BYTES => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "the Authorization header is too long",
            ));
        }
        Some(value) => Some(value.to_str().unwrap_or_default()),
        None => None,
    };
    let credentials = clients::extract_credentials(
        authorization,
        form.get("client_id"),
        form.get("client_secret"),
    )?;
    let guard = &state.throttle.client;
    let id = credentials.client_id().to_owned();
    let ip = source_address(req);
    guard.check(&id, ip)?;
    match authenticate(state, credentials).await {
        Ok(client) => {
            // A public client proves nothing by naming itself, so only a
            // secret that matched vouches for the address.
            if client.confidential {
                guard.record_success(&id, ip);
            }
            Ok(client)
        }
        Err(err) => {
            if matches!(err, ClientAuthError::Failed { .. }) {
                guard.record_failure(&id, ip);
            }
            Err(err.into())
        }
    }
}

/// Looks the client up and checks its credentials.
async fn authenticate(
    state: &AppState,
    credentials: ClientCredentials,
) -> Result<Client, ClientAuthError> {
    let id = credentials.client_id().to_owned();
    let row = storage::run(&state.grants.pool, move |conn| {
        storage::clients::find(conn, &id)
    })
    .await?;
    clients::authenticate(row, &credentials)
}

/// The address throttling counts against: the TCP peer (see
/// [`throttle::source_network`]). `X-Forwarded-For` is not trusted: any
/// client can write it, so honouring it would let an attacker pick a fresh
/// address per guess. Behind a reverse proxy every request then comes from
/// the proxy's address; raise or turn off the per-address limits there
/// (README, "Brute-force throttling").
pub(super) fn source_address(req: &HttpRequest) -> IpAddr {
    // Only a request built without a connection (unit tests) lacks a peer.
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
    throttle::source_network(peer)
}

/// A required parameter.
pub(super) fn required<'f>(form: &'f Form, name: &'static str) -> Result<&'f str, OAuthError> {
    form.get(name).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidRequest,
            format!("missing parameter: {name}"),
        )
    })
}
