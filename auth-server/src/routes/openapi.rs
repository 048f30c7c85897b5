//! `GET /openapi.json`: the OpenAPI 3.1 document of this server, a static
//! file kept beside the code and checked against the routes by the tests.

use actix_web::HttpResponse;
use actix_web::http::header;

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// Serves the document.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(OPENAPI_JSON)
}
