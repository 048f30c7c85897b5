//! `POST /oauth/token` (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::authorize::{AuthorizationCode, CodeVerifier};
use crate::clients::{self, Client, ClientCredentials};
use crate::domain::{GrantType, Password};
use crate::form::Form;
use crate::grants::{self, AuthorizationCodeRequest, GrantError, PasswordRequest, RefreshRequest};
use crate::oauth_error::{ErrorCode, OAuthError, no_store};
use crate::startup::AppState;
use crate::storage;
use crate::tokens::RefreshToken;

/// The token endpoint: parses the form, authenticates the client, and
/// dispatches on `grant_type`.
pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let mut form = super::form_endpoint::read_form(&req, &body)?;
    let grant_type = form.take("grant_type").ok_or_else(|| {
        OAuthError::new(ErrorCode::InvalidRequest, "missing parameter: grant_type")
    })?;

    let client = super::form_endpoint::authenticate_client(&req, &form, &state).await?;

    let ctx = &state.grants;
    let response = match grant_type.as_str() {
        "password" => {
            let request = PasswordRequest {
                username: required(&mut form, "username")?,
                password: Password::new(required(&mut form, "password")?),
                scope: form.take("scope"),
            };
            grants::password(ctx, &client, request).await?
        }
        "refresh_token" => {
            let request = RefreshRequest {
                refresh_token: RefreshToken::from_presented(required(&mut form, "refresh_token")?),
                scope: form.take("scope"),
            };
            grants::refresh(ctx, &client, request).await?
        }
        "client_credentials" => grants::client_credentials(ctx, &client, form.get("scope")).await?,
        "authorization_code" => {
            let request = AuthorizationCodeRequest {
                code: AuthorizationCode::from_presented(required(&mut form, "code")?),
                redirect_uri: form.take("redirect_uri"),
                code_verifier: CodeVerifier::parse(required(&mut form, "code_verifier")?)
                    .map_err(|e| GrantError::InvalidRequest(e.to_string().into()))?,
            };
            grants::authorization_code(ctx, &client, request).await?
        }
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "supported grant types: password, refresh_token, client_credentials, authorization_code",
            ));
        }
    };
    // Only known grant types get here, so the label set stays fixed.
    if let Ok(grant) = grant_type.parse::<GrantType>() {
        state.grants.metrics.token_issued(grant);
    }
    Ok(no_store(&mut HttpResponse::Ok()).json(response))
}

/// Looks the client up and checks its credentials.
pub(super) async fn authenticate(
    state: &AppState,
    credentials: ClientCredentials,
) -> Result<Client, OAuthError> {
    let id = credentials.client_id().to_owned();
    let row = storage::run(&state.grants.pool, move |conn| {
        storage::clients::find(conn, &id)
    })
    .await?;
    Ok(clients::authenticate(row, &credentials)?)
}

fn required(form: &mut Form, name: &'static str) -> Result<String, GrantError> {
    form.take(name)
        .ok_or_else(|| GrantError::InvalidRequest(format!("missing parameter: {name}").into()))
}

/// Whether the media type is `application/x-www-form-urlencoded`, whatever
/// its parameters (`; charset=UTF-8`) or letter case.
pub(super) fn is_form_urlencoded(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
