//! `POST /oauth/token` (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::form_endpoint::{FormBody, authenticate_client, source_address};
use crate::authorize::{AuthorizationCode, CodeVerifier};
use crate::clients::Client;
use crate::domain::{GrantType, Password};
use crate::form::Form;
use crate::grants::{
    self, AuthorizationCodeRequest, GrantError, PasswordRequest, RefreshRequest, TokenResponse,
};
use crate::oauth_error::{ErrorCode, OAuthError, no_store};
use crate::startup::AppState;
use crate::tokens::RefreshToken;

/// The token endpoint: parses the form, authenticates the client, and
/// dispatches on `grant_type`.
pub async fn token(
    req: HttpRequest,
    FormBody(mut form): FormBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let grant_type = form.take("grant_type").ok_or_else(|| {
        OAuthError::new(ErrorCode::InvalidRequest, "missing parameter: grant_type")
    })?;

    let client = authenticate_client(&req, &form, &state).await?;

    let ctx = &state.grants;
    let response = match grant_type.as_str() {
        "password" => password_grant(&req, &state, &client, &mut form).await?,
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

/// The password grant, throttled per account and address
/// ([`crate::throttle`]): a locked-out login gets 429 before its password
/// is hashed, whether or not the account exists.
async fn password_grant(
    req: &HttpRequest,
    state: &AppState,
    client: &Client,
    form: &mut Form,
) -> Result<TokenResponse, OAuthError> {
    let username = required(form, "username")?;
    let password = Password::new(required(form, "password")?);
    let guard = &state.throttle.login;
    let ip = source_address(req);
    guard.check(&username, ip)?;
    let request = PasswordRequest {
        username: username.clone(),
        password,
        scope: form.take("scope"),
    };
    let result = grants::password(&state.grants, client, request).await;
    match &result {
        Ok(_) => guard.record_success(&username, ip),
        // The only invalid_grant of this grant: bad credentials.
        Err(GrantError::InvalidGrant(_)) => guard.record_failure(&username, ip),
        Err(_) => {}
    }
    Ok(result?)
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
