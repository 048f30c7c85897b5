//! The API's own errors (bad request bodies, full note store) and their one
//! mapping to HTTP. Token and scope errors are the shared extractor's
//! `BearerError`, which answers per RFC 6750 by itself.

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::notes::{NoteTextError, StoreError};

/// An error a handler returns. `Display` is client-safe: it becomes the
/// `error_description`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request body is not what the endpoint takes (RFC 6750 §3.1
    /// `invalid_request`).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// The body is over the JSON limit: still `invalid_request`, but with
    /// 413 so a client knows that resending it as is cannot succeed.
    #[error("the body is too large")]
    PayloadTooLarge,
    /// The note text is out of bounds.
    #[error(transparent)]
    InvalidNote(#[from] NoteTextError),
    /// The note store refused the note.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The JSON error body, the same shape RFC 6749 §5.2 and RFC 6750 use.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: String,
}

impl ApiError {
    /// The RFC-style error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::InvalidNote(_) | Self::PayloadTooLarge => {
                "invalid_request"
            }
            Self::Store(StoreError::SubjectFull(_)) => "note_limit_reached",
            Self::Store(StoreError::StoreFull) => "storage_full",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::InvalidNote(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            // The request is fine; the caller's quota is not.
            Self::Store(StoreError::SubjectFull(_)) => StatusCode::CONFLICT,
            Self::Store(StoreError::StoreFull) => StatusCode::INSUFFICIENT_STORAGE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.code(),
            error_description: self.to_string(),
        })
    }
}

/// Turns actix's JSON extractor failures into `invalid_request` (413 for
/// a body over the limit). The descriptions are ours: serde's messages echo
/// parts of the input back.
pub fn json_error(error: &JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::ContentType => {
            ApiError::InvalidRequest("the body must be application/json")
        }
        JsonPayloadError::Deserialize(_) => {
            ApiError::InvalidRequest("the body must be a JSON object with a string member \"text\"")
        }
        _ => ApiError::InvalidRequest("the body could not be read"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_maps_to_400_invalid_request() {
        for error in [
            json_error(&JsonPayloadError::ContentType),
            ApiError::InvalidNote(NoteTextError::TooLong),
        ] {
            assert_eq!(error.status_code(), StatusCode::BAD_REQUEST);
            assert_eq!(error.code(), "invalid_request");
        }
    }

    #[test]
    fn an_oversized_body_maps_to_413_invalid_request() {
        let error = json_error(&JsonPayloadError::Overflow { limit: 1 });
        assert_eq!(error.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(error.code(), "invalid_request");
    }

    #[test]
    fn a_full_store_is_not_blamed_on_the_request() {
        assert_eq!(
            ApiError::Store(StoreError::SubjectFull(100)).status_code(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::Store(StoreError::StoreFull).status_code(),
            StatusCode::INSUFFICIENT_STORAGE
        );
    }
}
