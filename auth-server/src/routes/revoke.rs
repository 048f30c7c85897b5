//! `POST /oauth/revoke` (RFC 7009).

use actix_web::{HttpRequest, HttpResponse, web};

use super::form_endpoint::{FormBody, authenticate_client, required};
use crate::oauth_error::{ErrorCode, OAuthError, no_store};
use crate::revocation::{self, RevocationError, Revoked};
use crate::startup::AppState;

/// Revokes a token for the authenticated client: 200 with an empty body
/// whether or not there was anything to revoke (RFC 7009 §2.2), 400
/// `invalid_grant` for another client's token, 401 `invalid_client` when
/// client authentication fails. See [`crate::revocation`] for what each
/// kind of token does.
pub async fn revoke(
    req: HttpRequest,
    FormBody(form): FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let client = authenticate_client(&req, &form, &state).await?;
    let token = required(&form, "token")?.to_owned();
    match revocation::revoke(&state.grants, &client, token).await {
        Ok(Revoked::Family { id, now: true }) => {
            log::info!("client {} revoked token family {id}", client.id);
        }
        Ok(_) => {}
        Err(RevocationError::NotIssuedToClient) => {
            log::warn!(
                "client {} tried to revoke a token issued to another client",
                client.id
            );
            // RFC 7009 §2.1 and RFC 6749 §5.2; see crate::revocation::revoke.
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the token was issued to another client",
            ));
        }
        Err(RevocationError::Storage(err)) => return Err(err.into()),
    }
    Ok(no_store(&mut HttpResponse::Ok()).finish())
}
