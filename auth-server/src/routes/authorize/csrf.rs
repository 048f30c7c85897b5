//! The login form's CSRF defence: a double-submit token bound to a server
//! record. The browser gets the token twice, in a `SameSite=Strict`,
//! `HttpOnly` cookie and in a hidden field; the pending request stores its
//! SHA-256. A post is accepted only when field and cookie agree and hash to
//! the stored value, so a cross-site form (no cookie: SameSite) and a form
//! lifted from another browser (wrong cookie) both fail, on any instance.
//!
//! A browser keeps one token for all its pending logins (the cookie is
//! reused while it lives), so two tabs signing in at once both work.

use actix_web::HttpRequest;
use actix_web::http::header;
use subtle::ConstantTimeEq;

use crate::authorize::{CsrfToken, PENDING_REQUEST_TTL};
use crate::tokens::sha256_hex;

/// The cookie's name. Over HTTPS the `__Host-` prefix makes browsers
/// refuse it unless it is `Secure`, host-only and `Path=/`, so a sibling
/// subdomain cannot plant a token of its choosing.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-authorize_csrf"
    } else {
        "authorize_csrf"
    }
}

/// The token in the request's cookie, if it looks like one of ours.
pub fn from_cookie(req: &HttpRequest, secure: bool) -> Option<CsrfToken> {
    let name = cookie_name(secure);
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
        .filter(|value| is_well_formed(value))
        .map(|value| CsrfToken::from_presented(value.to_owned()))
}

/// The `Set-Cookie` value carrying `token`.
pub fn set_cookie(token: &CsrfToken, secure: bool) -> String {
    format!(
        "{}={}; Path=/; Max-Age={PENDING_REQUEST_TTL}; HttpOnly; SameSite=Strict{}",
        cookie_name(secure),
        token.expose(),
        if secure { "; Secure" } else { "" }
    )
}

/// Whether the posted field and the cookie carry the same token and it is
/// the one the pending request was created with.
pub fn verify(cookie: &CsrfToken, field: Option<&str>, stored_hash: &str) -> bool {
    let Some(field) = field else {
        return false;
    };
    let same: bool = cookie.expose().as_bytes().ct_eq(field.as_bytes()).into();
    let known: bool = sha256_hex(field.as_bytes())
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into();
    same & known
}

/// 32 bytes in base64url: what [`CsrfToken::generate`] makes.
fn is_well_formed(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_and_cookie_must_agree_with_the_stored_hash() {
        let token = CsrfToken::generate().expect("csprng");
        let other = CsrfToken::generate().expect("csprng");
        let stored = token.hash();
        assert!(verify(&token, Some(token.expose()), &stored));
        assert!(!verify(&token, None, &stored), "no field");
        assert!(!verify(&token, Some(other.expose()), &stored), "mismatch");
        assert!(
            !verify(&other, Some(other.expose()), &stored),
            "another browser's pair"
        );
    }

    #[test]
    fn cookies_are_strict_and_secure_over_https() {
        let token = CsrfToken::generate().expect("csprng");
        let cookie = set_cookie(&token, true);
        assert!(cookie.starts_with("__Host-authorize_csrf="));
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(cookie.ends_with("; Secure"));
        assert!(!set_cookie(&token, false).contains("Secure"));
    }
}
