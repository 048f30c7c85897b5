//! `POST /users`: self-service registration, when enabled.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, error, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::clock;
use crate::domain::{Password, PasswordPolicyError, Username, UsernameError};
use crate::passwords::HashError;
use crate::report::Chain;
use crate::startup::AppState;
use crate::storage::{self, StorageError};

/// The request body. `Debug` hides the password.
#[derive(Deserialize)]
pub struct RegisterRequest {
    username: String,
    password: String,
}

impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// The created user.
#[derive(Debug, Serialize)]
struct Registered {
    id: String,
    username: String,
}

/// Why registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The body is not the expected JSON.
    #[error("expected a JSON body {{\"username\", \"password\"}}")]
    InvalidBody,
    /// The body exceeds [`BODY_LIMIT`].
    #[error("the request body exceeds {BODY_LIMIT} bytes")]
    TooLarge,
    /// The username breaks the rules.
    #[error(transparent)]
    InvalidUsername(#[from] UsernameError),
    /// The password breaks the policy.
    #[error(transparent)]
    WeakPassword(#[from] PasswordPolicyError),
    /// The username is taken.
    #[error("username is already taken")]
    Taken,
    /// The database failed.
    #[error(transparent)]
    Storage(StorageError),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<StorageError> for RegistrationError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Conflict => Self::Taken,
            other => Self::Storage(other),
        }
    }
}

impl RegistrationError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidBody | Self::TooLarge => "invalid_request",
            Self::InvalidUsername(_) => "invalid_username",
            Self::WeakPassword(_) => "invalid_password",
            Self::Taken => "username_taken",
            Self::Storage(StorageError::Unavailable(_)) => "temporarily_unavailable",
            Self::Hash(err) if err.is_busy() => "temporarily_unavailable",
            Self::Storage(_) | Self::Hash(_) => "server_error",
        }
    }
}

impl ResponseError for RegistrationError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidBody | Self::InvalidUsername(_) | Self::WeakPassword(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Taken => StatusCode::CONFLICT,
            Self::Storage(StorageError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Hash(err) if err.is_busy() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Storage(_) | Self::Hash(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let description = if status.is_server_error() {
            log::error!("registration: {}", Chain(self));
            "the service could not complete the registration; retry later".to_owned()
        } else {
            self.to_string()
        };
        let mut builder = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            builder.insert_header(("Retry-After", crate::oauth_error::RETRY_AFTER_SECS));
        }
        builder.json(json!({"error": self.code(), "error_description": description}))
    }
}

/// Largest accepted registration body: a username and a password of the
/// longest accepted lengths fit many times over.
const BODY_LIMIT: usize = 4096;

/// Malformed or oversized JSON gets our error body, not actix's plain text.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|err, _req| {
            let refusal = match &err {
                error::JsonPayloadError::Overflow { .. }
                | error::JsonPayloadError::OverflowKnownLength { .. } => {
                    RegistrationError::TooLarge
                }
                _ => RegistrationError::InvalidBody,
            };
            // The serde error is dropped, not attached as the cause: actix's
            // Logger prints a response's cause at debug level, and serde
            // messages can quote the offending value (a password).
            error::InternalError::from_response(refusal.to_string(), refusal.error_response())
                .into()
        })
}

/// Registers a user: validates, hashes off the async workers (bounded like
/// logins), stores. 201 with the new id.
pub async fn register(
    body: web::Json<RegisterRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, RegistrationError> {
    let RegisterRequest { username, password } = body.into_inner();
    let username = Username::parse(&username)?;
    let password = Password::new_checked(password)?;
    let hash = state.grants.hasher.hash(password).await?;
    let name = username.clone();
    let user = storage::write(&state.grants.pool, move |conn| {
        storage::users::create(conn, name.as_str(), hash, clock::now())
    })
    .await?;
    log::info!("registered user {} ({})", user.username, user.id);
    Ok(HttpResponse::Created().json(Registered {
        id: user.id,
        username: user.username,
    }))
}
