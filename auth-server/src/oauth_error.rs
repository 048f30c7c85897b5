//! The token endpoint's error response (RFC 6749 §5.2), and the one place
//! where every lower-layer error becomes an HTTP status.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde::Serialize;

use crate::clients::ClientAuthError;
use crate::form::FormError;
use crate::grants::GrantError;
use crate::report::Chain;
use crate::storage::StorageError;

/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// The error codes of RFC 6749 §5.2, plus the two of §4.1.2.1 that fit a
/// token endpoint failing on our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Missing or repeated parameter, wrong content type, malformed request.
    InvalidRequest,
    /// Client authentication failed (401).
    InvalidClient,
    /// Bad credentials, or an invalid, expired or revoked refresh token.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The scope is malformed or too wide.
    InvalidScope,
    /// The database is unreachable for now (503).
    TemporarilyUnavailable,
    /// Our fault (500).
    ServerError,
}

impl ErrorCode {
    /// The wire name, as serialized (a metrics label, too).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
        }
    }

    /// The HTTP status for this code.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A token endpoint error. The description is written for the client
/// developer and never carries internal detail or secrets: unexpected
/// causes are logged where they are converted, and the client gets a
/// generic text.
#[derive(Debug, Clone, Serialize)]
pub struct OAuthError {
    error: ErrorCode,
    error_description: Cow<'static, str>,
    /// Add `WWW-Authenticate: Basic` (the client tried HTTP authentication).
    #[serde(skip)]
    challenge: bool,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(error: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            error,
            error_description: description.into(),
            challenge: false,
        }
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.error
    }

    fn with_challenge(mut self, challenge: bool) -> Self {
        self.challenge = challenge;
        self
    }

    fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable; retry later",
        )
    }

    fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "internal server error")
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.error, self.error_description)
    }
}

/// Sets the headers RFC 6749 §5.1 requires on token responses, so no cache
/// keeps a token (or an error about one).
pub fn no_store(builder: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.error.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        no_store(&mut builder);
        if self.challenge {
            builder.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth\""),
            ));
        }
        if self.error == ErrorCode::TemporarilyUnavailable {
            builder.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
        }
        builder.json(self)
    }
}

impl From<StorageError> for OAuthError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(_) => {
                log::warn!("token endpoint: {}", Chain(&err));
                Self::unavailable()
            }
            StorageError::Conflict | StorageError::Unexpected(_) => {
                log::error!("token endpoint: {}", Chain(&err));
                Self::server_error()
            }
        }
    }
}

impl From<FormError> for OAuthError {
    fn from(err: FormError) -> Self {
        Self::new(ErrorCode::InvalidRequest, err.to_string())
    }
}

impl From<ClientAuthError> for OAuthError {
    fn from(err: ClientAuthError) -> Self {
        match err {
            ClientAuthError::Malformed(description) => {
                Self::new(ErrorCode::InvalidRequest, description)
            }
            ClientAuthError::Missing => Self::new(ErrorCode::InvalidClient, err.to_string()),
            ClientAuthError::Failed { challenge } => {
                Self::new(ErrorCode::InvalidClient, err.to_string()).with_challenge(challenge)
            }
            ClientAuthError::Storage(err) => err.into(),
            ClientAuthError::Corrupt { .. } => {
                log::error!("token endpoint: {}", Chain(&err));
                Self::server_error()
            }
        }
    }
}

impl From<GrantError> for OAuthError {
    fn from(err: GrantError) -> Self {
        match err {
            GrantError::InvalidRequest(description) => {
                Self::new(ErrorCode::InvalidRequest, description)
            }
            GrantError::InvalidGrant(description) => {
                Self::new(ErrorCode::InvalidGrant, description)
            }
            GrantError::UnauthorizedClient(_) => {
                Self::new(ErrorCode::UnauthorizedClient, err.to_string())
            }
            GrantError::InvalidScope(description) => {
                Self::new(ErrorCode::InvalidScope, description)
            }
            GrantError::Storage(err) => err.into(),
            GrantError::Overloaded => {
                log::warn!("token endpoint: {err}");
                Self::unavailable()
            }
            GrantError::Unexpected(_) => {
                log::error!("token endpoint: {}", Chain(&err));
                Self::server_error()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_rfc_6749() {
        assert_eq!(ErrorCode::InvalidClient.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(ErrorCode::InvalidGrant.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            ErrorCode::TemporarilyUnavailable.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn unexpected_errors_reach_the_client_as_generic_text() {
        let err: OAuthError = GrantError::Unexpected("disk full at /var/secret".into()).into();
        assert_eq!(err.code(), ErrorCode::ServerError);
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn an_unavailable_database_is_503_with_retry_after() {
        let err: OAuthError = StorageError::Unavailable("pool timed out".into()).into();
        let response = err.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("5")
        );
        assert_eq!(err.code(), ErrorCode::TemporarilyUnavailable);
    }

    #[test]
    fn basic_failures_carry_a_challenge() {
        let err: OAuthError = ClientAuthError::Failed { challenge: true }.into();
        let response = err.error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok()),
            Some("Basic realm=\"oauth\"")
        );
        assert_eq!(
            response
                .headers()
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
    }
}
