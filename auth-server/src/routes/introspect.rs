//! `POST /oauth/introspect` (RFC 7662).

use actix_web::{HttpRequest, HttpResponse, web};

use super::form_endpoint::{FormBody, authenticate_client, required};
use crate::introspection;
use crate::oauth_error::{ErrorCode, OAuthError, no_store};
use crate::startup::AppState;

/// Answers whether `token` is active, for an authenticated confidential
/// client (RFC 7662 §2.1 requires authorization; a public client proves
/// nothing, so it gets 401 `invalid_client`). The answer is never cached.
pub async fn introspect(
    req: HttpRequest,
    FormBody(form): FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let client = authenticate_client(&req, &form, &state).await?;
    if !client.confidential {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "introspection requires an authenticated confidential client",
        ));
    }
    let token = required(&form, "token")?.to_owned();
    let answer = introspection::introspect(&state.grants, &client, token).await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(answer))
}
