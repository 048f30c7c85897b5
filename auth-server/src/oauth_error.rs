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
use crate::throttle::Throttled;

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
    /// A status other than the code's own (429, 413).
    #[serde(skip)]
    status: Option<StatusCode>,
    /// `Retry-After` seconds, when retrying later can succeed.
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(error: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            error,
            error_description: description.into(),
            challenge: false,
            status: None,
            retry_after: None,
        }
    }

    /// 429: too many failed attempts (see [`crate::throttle`]).
    ///
    /// RFC 6749 defines no code for this. `temporarily_unavailable` is the
    /// honest one among the registered codes (RFC 6749 §4.1.2.1, IANA
    /// "OAuth Extensions Error" registry): it tells any OAuth client to
    /// retry later, and the 429 status with `Retry-After` says exactly
    /// when. The alternatives mislead: `invalid_request` says the request
    /// is malformed and must not be retried as is, `invalid_grant` says the
    /// password is wrong (unknown during a lockout: it was never checked),
    /// and `slow_down` (RFC 8628) is the device flow's polling signal.
    pub fn too_many_attempts(throttled: Throttled) -> Self {
        let mut err = Self::new(
            ErrorCode::TemporarilyUnavailable,
            "too many failed attempts; retry after the time in Retry-After",
        );
        err.status = Some(StatusCode::TOO_MANY_REQUESTS);
        err.retry_after = Some(throttled.retry_after_secs());
        err
    }

    /// 413: the body exceeds the endpoint's limit (`invalid_request`, the
    /// code for a request the server will not process as sent).
    pub fn payload_too_large(limit: usize) -> Self {
        let mut err = Self::new(
            ErrorCode::InvalidRequest,
            format!("the request body exceeds {limit} bytes"),
        );
        err.status = Some(StatusCode::PAYLOAD_TOO_LARGE);
        err
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
        let mut err = Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable; retry later",
        );
        err.retry_after = Some(u64::from(RETRY_AFTER_SECS));
        err
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
        self.status.unwrap_or_else(|| self.error.status())
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
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs));
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

impl From<Throttled> for OAuthError {
    fn from(throttled: Throttled) -> Self {
        Self::too_many_attempts(throttled)
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

    #[test]
    fn throttling_is_429_with_retry_after_and_a_json_body() {
        let err: OAuthError = Throttled {
            retry_after: std::time::Duration::from_millis(2500),
        }
        .into();
        let response = err.error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("3")
        );
        assert_eq!(err.code(), ErrorCode::TemporarilyUnavailable);
    }

    #[test]
    fn an_oversized_body_is_413_invalid_request() {
        let err = OAuthError::payload_too_large(16);
        assert_eq!(err.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        assert!(
            err.error_response()
                .headers()
                .get(header::RETRY_AFTER)
                .is_none()
        );
    }
}
