//! `GET /api/me`: who the token says the caller is.

use actix_web::web;
use serde::Serialize;
use shared_claims::actix::Authenticated;

/// The caller as the access token describes it.
#[derive(Debug, Serialize)]
pub struct Me {
    sub: String,
    client_id: String,
    scope: String,
    exp: i64,
}

/// Any valid token may ask.
pub async fn me(auth: Authenticated) -> web::Json<Me> {
    let claims = auth.0;
    web::Json(Me {
        scope: claims.scope.to_string(),
        sub: claims.sub,
        client_id: claims.client_id,
        exp: claims.exp,
    })
}
