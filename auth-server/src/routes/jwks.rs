//! `GET /.well-known/jwks.json` (RFC 7517): the published public keys.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::startup::AppState;

/// The JWKS, from memory. Caches may keep it for five minutes: a new key is
/// published before it signs (once activation delays exist), and resource
/// servers refetch on an unknown `kid` anyway.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state.grants.keys.current();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(&keys.jwks)
}
