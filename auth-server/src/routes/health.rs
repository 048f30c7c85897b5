//! Liveness and readiness.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::oauth_error::RETRY_AFTER_SECS;
use crate::report::Chain;
use crate::startup::AppState;
use crate::storage::{self, StorageError};

/// `GET /healthz`: the process serves HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers a query within the pool timeout.
/// A 503 says which way the database failed, in words fit for an operator
/// and free of internals (host names, driver messages): those go to the log.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match storage::run(&state.grants.pool, storage::ping).await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"})),
        Err(err) => {
            log::warn!("readiness check failed: {}", Chain(&err));
            let (database, reason) = match err {
                StorageError::Unavailable(_) => (
                    "unavailable",
                    "no database connection within the pool timeout (--db-timeout)",
                ),
                StorageError::Conflict | StorageError::Unexpected(_) => {
                    ("error", "the database failed a trivial query")
                }
            };
            HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS))
                .json(json!({"status": "unavailable", "database": database, "reason": reason}))
        }
    }
}
