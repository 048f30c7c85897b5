//! `GET /playground` and its script and style sheet (see
//! [`crate::playground`]). Registered only when the playground is on.

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder, web};

use crate::playground::{Playground, SCRIPT, STYLE};

/// The page, with its Content-Security-Policy.
pub async fn page(playground: web::Data<Playground>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    hardened(&mut response, "text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            playground.content_security_policy.as_str(),
        ))
        // Tokens the page shows never leave it through a Referer.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(playground.page.clone())
}

/// `playground.js`.
pub async fn script() -> HttpResponse {
    hardened(&mut HttpResponse::Ok(), "text/javascript; charset=utf-8").body(SCRIPT)
}

/// `playground.css`.
pub async fn style() -> HttpResponse {
    hardened(&mut HttpResponse::Ok(), "text/css; charset=utf-8").body(STYLE)
}

/// The content type, never sniffed, and revalidated on each load so a
/// learner never runs a stale script against a newer server.
fn hardened<'a>(
    response: &'a mut HttpResponseBuilder,
    content_type: &'static str,
) -> &'a mut HttpResponseBuilder {
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
}
