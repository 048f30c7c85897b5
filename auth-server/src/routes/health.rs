//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::report::Chain;
use crate::startup::AppState;
use crate::storage;

/// `GET /healthz`: the process serves HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers a query within the pool timeout.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match storage::run(&state.grants.pool, storage::ping).await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(err) => {
            log::warn!("readiness check failed: {}", Chain(&err));
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable"}))
        }
    }
}
