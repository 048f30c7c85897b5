//! The grants: domain logic that turns an authenticated client and its
//! request into tokens, or a typed refusal. No HTTP here.

mod authorization_code;
mod client_credentials;
mod password;
mod refresh;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};
use shared_claims::Scope;

pub use authorization_code::{AuthorizationCodeRequest, authorization_code};
pub use client_credentials::client_credentials;
pub use password::{PasswordRequest, check_credentials, password};
pub use refresh::{RefreshRequest, refresh};

use crate::domain::GrantType;
use crate::keys::KeyStore;
use crate::metrics::Metrics;
use crate::passwords::{HashError, Hasher};
use crate::storage::refresh_tokens::ReuseGrace;
use crate::storage::{DbPool, StorageError};
use crate::tokens::{AccessGrant, RefreshToken, SigningError, sign_access_token};

/// Token lifetimes and the issuer name.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// The `iss` of every access token.
    pub issuer: String,
    /// Access-token lifetime, seconds.
    pub access_ttl: i64,
    /// Absolute lifetime of a refresh-token family from login, seconds.
    pub refresh_ttl: i64,
    /// Idle lifetime of one refresh token, seconds (capped by the family's).
    pub refresh_idle_ttl: i64,
    /// The reuse grace window (off by default).
    pub reuse_grace: ReuseGrace,
}

/// What every grant needs.
#[derive(Debug, Clone)]
pub struct GrantContext {
    /// The database.
    pub pool: DbPool,
    /// The signing keys.
    pub keys: Arc<KeyStore>,
    /// The password hasher.
    pub hasher: Hasher,
    /// Lifetimes and issuer.
    pub policy: Arc<TokenPolicy>,
    /// Counters for `/metrics` (issued tokens, rotations, reuse).
    pub metrics: Arc<Metrics>,
}

/// A successful token response (RFC 6749 §5.1). `Debug` hides both tokens.
#[derive(Serialize)]
pub struct TokenResponse {
    /// The signed JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The new refresh token, when the grant issues one.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_refresh_token"
    )]
    pub refresh_token: Option<RefreshToken>,
    /// The granted scope.
    pub scope: Scope,
}

fn expose_refresh_token<S: Serializer>(
    token: &Option<RefreshToken>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match token {
        Some(t) => s.serialize_some(t.expose()),
        None => s.serialize_none(),
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"***")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Why a grant refused, in RFC 6749 §5.2 terms, plus the unexpected.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A required parameter is missing or malformed.
    #[error("{0}")]
    InvalidRequest(Cow<'static, str>),
    /// The credentials or refresh token are invalid, expired or revoked.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// The client may not use this grant type.
    #[error("client is not allowed to use the {0} grant")]
    UnauthorizedClient(GrantType),
    /// The requested scope is malformed or exceeds what may be granted.
    #[error("{0}")]
    InvalidScope(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Every password hash thread is busy and its queue full: 503 with
    /// Retry-After, answered at once.
    #[error("password hashing is saturated")]
    Overloaded,
    /// Anything else (hashing, signing, randomness): a server fault.
    #[error("grant failed unexpectedly")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<HashError> for GrantError {
    fn from(err: HashError) -> Self {
        if err.is_busy() {
            return Self::Overloaded;
        }
        Self::Unexpected(Box::new(err))
    }
}

impl From<SigningError> for GrantError {
    fn from(err: SigningError) -> Self {
        Self::Unexpected(Box::new(err))
    }
}

impl From<getrandom::Error> for GrantError {
    fn from(err: getrandom::Error) -> Self {
        Self::Unexpected(Box::new(err))
    }
}

/// Parses the optional `scope` parameter.
fn parse_requested_scope(raw: Option<&str>) -> Result<Option<Scope>, GrantError> {
    raw.map(Scope::parse)
        .transpose()
        .map_err(|e| GrantError::InvalidScope(e.to_string()))
}

/// The scope to grant when a client holding `allowed` asks for `requested`
/// (absent: all of `allowed`).
fn narrow_scope(allowed: &Scope, requested: Option<&Scope>) -> Result<Scope, GrantError> {
    allowed
        .narrow(requested)
        .map_err(|extra| GrantError::InvalidScope(format!("scope not allowed: {extra}")))
}

impl GrantContext {
    /// Signs an access token and assembles the response.
    fn respond(
        &self,
        grant: AccessGrant,
        refresh_token: Option<RefreshToken>,
        now: i64,
    ) -> Result<TokenResponse, GrantError> {
        let scope = grant.scope.clone();
        let keys = self.keys.current();
        let access_token = sign_access_token(
            keys.signer_at(now),
            &self.policy.issuer,
            self.policy.access_ttl,
            grant,
            now,
        )?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.policy.access_ttl,
            refresh_token,
            scope,
        })
    }
}
