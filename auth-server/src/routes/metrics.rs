//! `GET /metrics`: Prometheus text exposition (format 0.0.4).

use actix_web::{HttpResponse, web};

use crate::http_metrics::CONTENT_TYPE;
use crate::metrics::Gauges;
use crate::startup::AppState;

/// Counters since start, plus gauges read now. Holds no secret and no
/// per-user label, but it does describe traffic: deployments that expose
/// the server publicly may want to keep this path internal at the proxy.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let grants = &state.grants;
    let pool = grants.pool.state();
    let gauges = Gauges {
        password_hash_in_flight: grants.hasher.in_flight(),
        password_hash_waiting: grants.hasher.waiting(),
        password_hash_workers: grants.hasher.workers(),
        db_connections: pool.connections,
        db_idle_connections: pool.idle_connections,
        db_max_connections: grants.pool.max_size(),
    };
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(grants.metrics.render(&gauges))
}
