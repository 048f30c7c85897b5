//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use std::collections::BTreeSet;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::report::Chain;
use crate::startup::AppState;
use crate::storage;

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
    /// The authorization endpoint URL (RFC 6749 §3.1).
    pub authorization_endpoint: String,
    /// `response_type` values of the authorization endpoint: `code` only.
    pub response_types_supported: Vec<&'static str>,
    /// PKCE methods (RFC 7636 §6.2): `S256` only, required of every client.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// Every authorization response carries `iss` (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The RFC 7009 revocation endpoint URL.
    pub revocation_endpoint: String,
    /// Client authentication at the revocation endpoint: public clients
    /// identify with `client_id` alone (`none`).
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The RFC 7662 introspection endpoint URL.
    pub introspection_endpoint: String,
    /// Client authentication at the introspection endpoint: confidential
    /// clients only.
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Every scope some registered client may ask for, read per request so
    /// clients registered since start appear. Omitted when the database
    /// cannot say (RFC 8414 makes the member optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
}

impl AuthorizationServerMetadata {
    /// The metadata for `issuer`.
    pub fn new(issuer: &str) -> Self {
        let base = issuer.trim_end_matches('/');
        Self {
            issuer: issuer.to_owned(),
            token_endpoint: format!("{base}/oauth/token"),
            jwks_uri: format!("{base}/.well-known/jwks.json"),
            grant_types_supported: vec![
                "password",
                "refresh_token",
                "client_credentials",
                "authorization_code",
            ],
            authorization_endpoint: format!("{base}/oauth/authorize"),
            response_types_supported: vec!["code"],
            code_challenge_methods_supported: vec![crate::authorize::pkce::S256],
            authorization_response_iss_parameter_supported: true,
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            revocation_endpoint: format!("{base}/oauth/revoke"),
            revocation_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            introspection_endpoint: format!("{base}/oauth/introspect"),
            introspection_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
            ],
            scopes_supported: None,
        }
    }
}

/// Serves the metadata computed at start, with the scopes of the clients
/// registered now. Cached for five minutes: long enough to spare the
/// database, short enough for a new client's scopes to show up soon.
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let mut metadata = state.metadata.clone();
    match storage::run(&state.grants.pool, storage::clients::scopes).await {
        Ok(lists) => {
            let scopes: BTreeSet<String> = lists
                .iter()
                .flat_map(|list| list.split_whitespace())
                .map(str::to_owned)
                .collect();
            metadata.scopes_supported = Some(scopes.into_iter().collect());
        }
        Err(err) => log::warn!("metadata: scopes unavailable: {}", Chain(&err)),
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(&metadata)
}
