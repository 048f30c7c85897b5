//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::startup::AppState;

/// Authorization server metadata. Claims only what is implemented.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer, exactly as in the tokens' `iss`.
    pub issuer: String,
    /// The token endpoint URL.
    pub token_endpoint: String,
    /// The JWKS URL.
    pub jwks_uri: String,
    /// Grant types the token endpoint accepts.
    pub grant_types_supported: Vec<&'static str>,
    /// RFC 8414 makes this REQUIRED, but it lists `response_type` values of
    /// the authorization endpoint, which does not exist yet: the list stays
    /// empty until `/oauth/authorize` ships (then: `["code"]`).
    pub response_types_supported: Vec<&'static str>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
}

impl AuthorizationServerMetadata {
    /// The metadata for `issuer`.
    pub fn new(issuer: &str) -> Self {
        let base = issuer.trim_end_matches('/');
        Self {
            issuer: issuer.to_owned(),
            token_endpoint: format!("{base}/oauth/token"),
            jwks_uri: format!("{base}/.well-known/jwks.json"),
            grant_types_supported: vec!["password", "refresh_token", "client_credentials"],
            response_types_supported: Vec::new(),
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
        }
    }
}

/// Serves the metadata computed at start.
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(&state.metadata)
}
