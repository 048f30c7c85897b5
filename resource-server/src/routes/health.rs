//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::jwks::JwksCache;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: 200 once signing keys are loaded, so a load balancer sends no
/// traffic that could only be answered 503.
pub async fn readyz(cache: web::Data<JwksCache>) -> HttpResponse {
    if cache.is_ready() {
        HttpResponse::Ok().json(json!({ "status": "ready", "keys": cache.key_count() }))
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(json!({
                "status": "not_ready",
                "reason": "signing keys are not loaded yet",
            }))
    }
}
