//! HTTP routes. Handlers parse the request, call the domain, and map the
//! result; they never build queries.

mod health;
mod jwks;
mod metadata;
mod metrics;
mod token;
mod users;

use actix_web::web;

pub use metadata::AuthorizationServerMetadata;

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
        .route("/.well-known/jwks.json", web::get().to(jwks::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(metadata::metadata),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics));
        if allow_registration {
            cfg.service(
                web::resource("/users")
                    .app_data(users::json_config())
                    .route(web::post().to(users::register)),
            );
        }
    }
}
