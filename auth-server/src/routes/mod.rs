//! HTTP routes. Handlers parse the request, call the domain, and map the
//! result; they never build queries.

mod authorize;
mod form_endpoint;
mod health;
mod introspect;
mod jwks;
mod metadata;
mod metrics;
mod openapi;
mod playground;
mod revoke;
mod sessions;
mod token;
mod users;

use actix_web::{FromRequest, Handler, Resource, Responder, web};
use shared_claims::actix::BearerConfig;

use crate::playground::Playground;

pub use metadata::AuthorizationServerMetadata;
pub use openapi::OPENAPI_JSON;

/// Largest accepted token request body. Real requests are a few hundred
/// bytes; the cap bounds what an anonymous caller can make us parse.
const TOKEN_BODY_LIMIT: usize = 16 * 1024;

/// Registers every route. `/users` exists only when registration is on, so
/// it answers 404 otherwise.
pub fn configure(allow_registration: bool) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.service(
            web::resource("/oauth/token")
                .app_data(web::PayloadConfig::new(TOKEN_BODY_LIMIT))
                .route(web::post().to(token::token)),
        )
        .service(get("/.well-known/jwks.json", jwks::jwks))
        .service(get(
            "/.well-known/oauth-authorization-server",
            metadata::metadata,
        ))
        .service(
            web::resource("/oauth/authorize")
                .app_data(web::PayloadConfig::new(TOKEN_BODY_LIMIT))
                .route(web::get().to(authorize::authorize))
                .route(web::post().to(authorize::login)),
        )
        .service(get("/healthz", health::healthz))
        .service(get("/readyz", health::readyz))
        .service(get("/metrics", metrics::metrics));
        oauth_surface(cfg);
        if allow_registration {
            cfg.service(
                web::resource("/users")
                    .app_data(users::json_config())
                    .route(web::post().to(users::register)),
            );
        }
    }
}

/// Revocation, introspection, sessions and the API document.
fn oauth_surface(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/oauth/revoke")
            .app_data(web::PayloadConfig::new(TOKEN_BODY_LIMIT))
            .route(web::post().to(revoke::revoke)),
    )
    .service(
        web::resource("/oauth/introspect")
            .app_data(web::PayloadConfig::new(TOKEN_BODY_LIMIT))
            .route(web::post().to(introspect::introspect)),
    )
    .service(
        web::resource("/sessions/logout-all")
            .app_data(BearerConfig {
                realm: sessions::REALM.to_owned(),
            })
            .route(web::post().to(sessions::logout_all)),
    )
    .service(get("/openapi.json", openapi::openapi));
}

/// The playground page and its assets, when it is on; otherwise nothing, so
/// `/playground` answers 404.
pub fn playground(page: Option<web::Data<Playground>>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        if let Some(page) = page {
            cfg.app_data(page)
                .service(get("/playground", playground::page))
                .service(get("/playground/playground.js", playground::script))
                .service(get("/playground/playground.css", playground::style));
        }
    }
}

/// A resource answering GET. A resource, not a bare `route`, so other
/// methods get 405 with an `Allow` header (RFC 9110 §15.5.6) rather than
/// 404, as for the POST endpoints.
fn get<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path).route(web::get().to(handler))
}
