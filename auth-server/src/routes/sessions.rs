//! `POST /sessions/logout-all`: the user behind an access token logs out
//! everywhere.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::json;
use shared_claims::actix::Authenticated;

use crate::clock;
use crate::oauth_error::RETRY_AFTER_SECS;
use crate::report::Chain;
use crate::startup::AppState;
use crate::storage::{self, StorageError, sessions, users};

/// The realm of this server's bearer challenges.
pub const REALM: &str = "auth-server";

/// Why logging out everywhere failed (after the token was accepted; token
/// failures are answered by the extractor, per RFC 6750 §3).
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// The token was issued to a client on its own behalf (client
    /// credentials) or to a user who no longer exists: there are no user
    /// sessions to end.
    #[error("the access token does not represent a user")]
    NotAUser,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ResponseError for LogoutError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotAUser => StatusCode::FORBIDDEN,
            Self::Storage(StorageError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        let (code, description) = match self {
            // RFC 6750 §3.1 has no code for "valid token, wrong kind of
            // subject"; insufficient_scope (403) is the nearest: the token
            // does not grant this.
            Self::NotAUser => {
                builder.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"auth-server\", error=\"insufficient_scope\", \
                         error_description=\"the access token does not represent a user\"",
                    ),
                ));
                ("insufficient_scope", self.to_string())
            }
            Self::Storage(StorageError::Unavailable(_)) => {
                log::warn!("logout-all: {}", Chain(self));
                builder.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
                (
                    "temporarily_unavailable",
                    "the service is temporarily unavailable; retry later".to_owned(),
                )
            }
            Self::Storage(_) => {
                log::error!("logout-all: {}", Chain(self));
                ("server_error", "internal server error".to_owned())
            }
        };
        builder.json(json!({"error": code, "error_description": description}))
    }
}

/// Revokes every token family (session) of the token's user: all refresh
/// tokens on every device die at once. Access tokens already issued live on
/// until they expire (minutes), as they are verified offline. Answers 200
/// with the number of sessions revoked.
///
/// Any valid access token this server issued is accepted, whatever its
/// audience: it is the user's proof of identity here, and the worst a
/// replayed token can do is end that user's sessions.
pub async fn logout_all(
    caller: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LogoutError> {
    let claims = caller.into_claims();
    if claims.sub == claims.client_id {
        return Err(LogoutError::NotAUser);
    }
    let user_id = claims.sub;
    let now = clock::now();
    let revoked = storage::write(&state.grants.pool, move |conn| {
        if users::find_by_id(conn, &user_id)?.is_none() {
            return Ok(None);
        }
        sessions::revoke_all(conn, &user_id, sessions::REVOKED_LOGOUT_ALL, now).map(Some)
    })
    .await?
    .ok_or(LogoutError::NotAUser)?;
    log::info!("user logged out everywhere: {revoked} session(s) revoked");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"revoked_sessions": revoked})))
}
