//! What the form-encoded OAuth endpoints share with the token endpoint:
//! the body rules and client authentication (RFC 6749 §2.3, which RFC 7009
//! §2.1 and RFC 7662 §2.1 refer to).

use actix_web::HttpRequest;
use actix_web::http::header;

use super::token;
use crate::clients::{self, Client};
use crate::form::Form;
use crate::oauth_error::{ErrorCode, OAuthError};
use crate::startup::AppState;

/// Parses an `application/x-www-form-urlencoded` body.
pub(super) fn read_form(req: &HttpRequest, body: &[u8]) -> Result<Form, OAuthError> {
    if !token::is_form_urlencoded(req) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "the request body must be application/x-www-form-urlencoded",
        ));
    }
    Ok(Form::parse(body)?)
}

/// Authenticates the calling client: HTTP Basic, `client_id` and
/// `client_secret` in the body, or (a public client) `client_id` alone.
pub(super) async fn authenticate_client(
    req: &HttpRequest,
    form: &Form,
    state: &AppState,
) -> Result<Client, OAuthError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let credentials = clients::extract_credentials(
        authorization,
        form.get("client_id"),
        form.get("client_secret"),
    )?;
    token::authenticate(state, credentials).await
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
