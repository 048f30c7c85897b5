//! RFC 6750 §3 error responses: status, `WWW-Authenticate` challenge, JSON body.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};

use super::DEFAULT_REALM;
use crate::VerifyError;

/// Seconds a client is asked to wait while the verifier has no keys.
const RETRY_AFTER_SECS: u32 = 5;

/// Why a request was not let through. `Display` is client-safe.
///
/// As a [`ResponseError`] it answers with the default realm `api`; the
/// extractors answer with [`BearerChallenge`], which carries the configured
/// realm. Return it from a handler with `?` after
/// [`super::Authenticated::require_scope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No `Authorization` header, or one with another scheme: 401 with a
    /// bare challenge and no error code (RFC 6750 §3.1).
    #[error("the request carries no bearer token")]
    MissingToken,
    /// The `Authorization` header breaks the Bearer grammar: 400
    /// `invalid_request`.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// The token was refused: 401 `invalid_token`, with the reason as
    /// `error_description`.
    #[error("{}", .0.description())]
    InvalidToken(VerifyError),
    /// The token is valid but lacks `scope`: 403 `insufficient_scope`.
    #[error("the access token lacks the scope {scope}")]
    InsufficientScope {
        /// The scope the request needs.
        scope: String,
    },
    /// No verifier is registered, or it has no keys yet: 503 with
    /// `Retry-After`.
    #[error("token verification is temporarily unavailable")]
    Unavailable,
}

impl BearerError {
    /// The RFC 6750 `error` code, if this case has one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken => None,
            Self::InvalidRequest(_) => Some("invalid_request"),
            Self::InvalidToken(_) => Some("invalid_token"),
            Self::InsufficientScope { .. } => Some("insufficient_scope"),
            Self::Unavailable => Some("temporarily_unavailable"),
        }
    }

    /// The HTTP status of this case.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// This error answered under `realm`.
    pub fn with_realm(self, realm: impl Into<String>) -> BearerChallenge {
        BearerChallenge {
            realm: realm.into(),
            error: self,
        }
    }

    /// The full response under `realm`.
    pub fn response(&self, realm: &str) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status());
        if let Some(challenge) = self.challenge(realm) {
            builder.insert_header((WWW_AUTHENTICATE, challenge));
        }
        if matches!(self, Self::Unavailable) {
            builder.insert_header((RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS)));
        }
        let Some(code) = self.error_code() else {
            return builder.finish();
        };
        let description = self.to_string();
        match self {
            Self::InsufficientScope { scope } => builder.json(serde_json::json!({
                "error": code, "error_description": description, "scope": scope,
            })),
            _ => builder.json(serde_json::json!({
                "error": code, "error_description": description,
            })),
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3), or `None` for a 503.
    fn challenge(&self, realm: &str) -> Option<HeaderValue> {
        if matches!(self, Self::Unavailable) {
            return None;
        }
        let mut value = String::from("Bearer ");
        push_param(&mut value, "realm", realm);
        if let Some(code) = self.error_code() {
            value.push_str(", ");
            push_param(&mut value, "error", code);
            value.push_str(", ");
            push_param(&mut value, "error_description", &self.to_string());
        }
        if let Self::InsufficientScope { scope } = self {
            value.push_str(", ");
            push_param(&mut value, "scope", scope);
        }
        // Cannot fail: push_param only emits visible ASCII and spaces.
        Some(HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer")))
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.response(DEFAULT_REALM)
    }
}

/// A [`BearerError`] with the realm to answer it under; what the extractors
/// fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct BearerChallenge {
    realm: String,
    error: BearerError,
}

impl BearerChallenge {
    /// Why the request was refused.
    pub fn error(&self) -> &BearerError {
        &self.error
    }

    /// The realm of the challenge.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The error without its realm.
    pub fn into_error(self) -> BearerError {
        self.error
    }
}

impl ResponseError for BearerChallenge {
    fn status_code(&self) -> StatusCode {
        self.error.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.error.response(&self.realm)
    }
}

/// Appends `name="value"` as an RFC 7230 quoted-string: `"` and `\` are
/// escaped, and anything outside printable ASCII is dropped, so no configured
/// realm or scope can break the header or inject another one.
fn push_param(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "{name}=\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_quoted_and_stripped_of_control_characters() {
        let mut out = String::new();
        push_param(&mut out, "realm", "a\"b\\c\r\nSet-Cookie: x\u{e9}");
        assert_eq!(out, r#"realm="a\"b\\cSet-Cookie: x""#);
    }

    #[test]
    fn every_case_maps_to_its_rfc_6750_status_and_code() {
        let cases = [
            (BearerError::MissingToken, 401, None),
            (
                BearerError::InvalidRequest("x"),
                400,
                Some("invalid_request"),
            ),
            (
                BearerError::InvalidToken(VerifyError::Expired),
                401,
                Some("invalid_token"),
            ),
            (
                BearerError::InsufficientScope {
                    scope: "s".to_owned(),
                },
                403,
                Some("insufficient_scope"),
            ),
            (
                BearerError::Unavailable,
                503,
                Some("temporarily_unavailable"),
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.error_code(), code, "{error:?}");
        }
    }
}
