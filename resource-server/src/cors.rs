//! CORS (the Fetch standard's cross-origin rules) for the few browser pages
//! an operator names, such as the auth server's playground: a page served
//! from another origin may call the API only if the API says so.
//!
//! Deliberately narrow: exactly the configured origins, only GET and POST,
//! only the `Authorization` and `Content-Type` request headers, and
//! `WWW-Authenticate` exposed so a page can show why a token was refused.
//! No credentials mode: the API takes bearer tokens, never cookies. With no
//! origin configured the middleware is not there at all, so the API sends
//! no CORS header, which is what a server-to-server API should do.

use actix_cors::Cors;
use actix_web::http::{Method, header};
use actix_web::middleware::Condition;

/// How long a browser may cache a preflight answer: short, so a changed
/// `--cors-origin` takes effect within minutes.
const PREFLIGHT_MAX_AGE_SECS: usize = 600;

/// The CORS middleware for `origins` (each already checked by
/// [`parse_origin`]), or a no-op when there is none.
pub fn middleware(origins: &[String]) -> Condition<Cors> {
    let cors = origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::WWW_AUTHENTICATE])
        .max_age(PREFLIGHT_MAX_AGE_SECS)
        // A request from an origin not on the list is still served, just
        // without CORS headers: the browser then keeps the answer from the
        // page. Blocking it with a 400 would add nothing (CORS protects
        // readers in browsers, not the server) and would break clients that
        // send an Origin header outside a browser.
        .block_on_origin_mismatch(false);
    Condition::new(!origins.is_empty(), cors)
}

/// Checks and normalises one `--cors-origin`: `http` or `https`, a host and
/// an optional port, nothing else. Browsers send the `Origin` header in
/// exactly this form (lower case, no path, no trailing slash) and it is
/// compared byte for byte, so a path or a `*` would silently never match;
/// they are refused at start instead. One trailing `/` is forgiven, since a
/// URL copied from the address bar has it.
pub fn parse_origin(value: &str) -> Result<String, String> {
    let origin = value.trim().to_ascii_lowercase();
    let origin = origin.strip_suffix('/').unwrap_or(&origin);
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(|| {
            format!("{value:?} is not an origin: it must start with http:// or https://")
        })?;
    let host_chars = |c: char| c.is_ascii_alphanumeric() || "-.:[]".contains(c);
    if rest.is_empty() || !rest.chars().all(host_chars) {
        return Err(format!(
            "{value:?} is not an origin: expected scheme://host[:port], \
             e.g. http://127.0.0.1:8080, without path, query or `*`"
        ));
    }
    Ok(origin.to_owned())
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        assert_eq!(
            parse_origin("http://127.0.0.1:8080"),
            Ok("http://127.0.0.1:8080".into())
        );
        assert_eq!(
            parse_origin("HTTPS://Notes.Example/"),
            Ok("https://notes.example".into())
        );
        assert_eq!(
            parse_origin("http://[::1]:8080"),
            Ok("http://[::1]:8080".into())
        );
    }

    #[test]
    fn anything_that_could_never_match_an_origin_header_is_refused() {
        for bad in [
            "*",
            "127.0.0.1:8080",
            "ftp://a.example",
            "http://",
            "http://a.example/playground",
            "http://a.example?x=1",
            "http://user@a.example",
            "http://a.example, http://b.example",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
