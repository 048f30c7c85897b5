//! The playground: a page for learners, served at `GET /playground`, that
//! logs in, shows both tokens and every HTTP exchange, and calls the
//! resource server from the browser.
//!
//! It is served only when `--playground-resource-url` names the resource
//! server. The page's Content-Security-Policy must list that server's
//! origin in `connect-src` (nothing else may be fetched), so the server has
//! to know it; a page that let the learner type any URL would need a
//! policy open to every origin. Off by default: a production auth server
//! has no reason to serve a teaching page.
//!
//! Plain HTML, CSS and JavaScript from `assets/playground/`, embedded in the
//! binary: no build step, no external asset, no inline script or style, so
//! the policy can be `'self'` only.

use std::fmt;

/// The page, with the resource server's URL in a `<meta>` tag the script
/// reads (the policy forbids inline script, so it cannot be a variable).
const PAGE_TEMPLATE: &str = include_str!("../assets/playground/index.html");
/// The placeholder in [`PAGE_TEMPLATE`].
const RESOURCE_URL_SLOT: &str = "{{RESOURCE_URL}}";
/// The page's script.
pub const SCRIPT: &str = include_str!("../assets/playground/playground.js");
/// The page's style sheet.
pub const STYLE: &str = include_str!("../assets/playground/playground.css");

/// The resource server's base URL as the playground uses it: `http(s)`, a
/// host, an optional port and path, no credentials, query or fragment, and
/// only characters that need no escaping in HTML or in a CSP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUrl {
    /// Without a trailing slash: the page appends `/api/...`.
    base: String,
    /// `scheme://host[:port]`, for `connect-src`.
    origin: String,
}

impl ResourceUrl {
    /// Checks `value`; the error says what is wrong.
    pub fn parse(value: &str) -> Result<Self, String> {
        let trimmed = value.trim().trim_end_matches('/');
        let (scheme, rest) = trimmed
            .split_once("://")
            .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
            .ok_or_else(|| format!("{value:?} must start with http:// or https://"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host_ok = |c: char| c.is_ascii_alphanumeric() || "-.:[]".contains(c);
        // No `%`, quote, `;`, `,` or space anywhere: the value goes into an
        // HTML attribute and a CSP header verbatim, so it must not be able
        // to end either.
        let path_ok = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
        if authority.is_empty() || !authority.chars().all(host_ok) {
            return Err(format!(
                "{value:?}: expected http(s)://host[:port][/path], without credentials"
            ));
        }
        if !path.chars().all(path_ok) {
            return Err(format!(
                "{value:?}: the path may hold only letters, digits and - . _ ~ /; \
                 no query or fragment"
            ));
        }
        Ok(Self {
            base: trimmed.to_owned(),
            origin: format!("{scheme}://{}", authority.to_ascii_lowercase()),
        })
    }

    /// The base URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// `scheme://host[:port]`: what the resource server must allow by CORS
    /// is the auth server's origin; this is the other direction, what the
    /// page may connect to.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl fmt::Display for ResourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// The rendered page and the policy it is served with; built once at start.
#[derive(Debug, Clone)]
pub struct Playground {
    /// The HTML, with the resource URL filled in.
    pub page: String,
    /// The `Content-Security-Policy` header of the page.
    pub content_security_policy: String,
}

impl Playground {
    /// The page for a resource server at `resource`.
    pub fn new(resource: &ResourceUrl) -> Self {
        Self {
            page: PAGE_TEMPLATE.replace(RESOURCE_URL_SLOT, resource.as_str()),
            // Only this server's own script and style, and fetches to itself
            // (token, revoke) and to the resource server. No frames of it
            // elsewhere (clickjacking a login form), no form posts, no
            // <base> rewriting the relative asset URLs.
            content_security_policy: format!(
                "default-src 'none'; script-src 'self'; style-src 'self'; \
                 connect-src 'self' {}; base-uri 'none'; form-action 'none'; \
                 frame-ancestors 'none'",
                resource.origin()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_url_yields_its_base_and_origin() {
        let url = ResourceUrl::parse("http://127.0.0.1:8081/").expect("valid");
        assert_eq!(url.as_str(), "http://127.0.0.1:8081");
        assert_eq!(url.origin(), "http://127.0.0.1:8081");

        let url = ResourceUrl::parse("https://API.example/notes-v1").expect("valid");
        assert_eq!(url.as_str(), "https://API.example/notes-v1");
        assert_eq!(url.origin(), "https://api.example");
    }

    #[test]
    fn urls_that_could_break_out_of_html_or_csp_are_refused() {
        for bad in [
            "127.0.0.1:8081",
            "ftp://a.example",
            "http://",
            "http://user:pw@a.example",
            "http://a.example/?x=1",
            "http://a.example/#f",
            "http://a.example/\"><script>",
            "http://a.example; script-src *",
            "http://a.example/%22",
        ] {
            assert!(ResourceUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_page_names_the_resource_server_and_its_policy_allows_only_it() {
        let url = ResourceUrl::parse("http://127.0.0.1:8081").expect("valid");
        let playground = Playground::new(&url);
        assert!(
            playground
                .page
                .contains(r#"<meta name="resource-url" content="http://127.0.0.1:8081">"#)
        );
        assert!(!playground.page.contains(RESOURCE_URL_SLOT));
        assert!(
            playground
                .content_security_policy
                .contains("connect-src 'self' http://127.0.0.1:8081;")
        );
        assert!(!playground.page.contains("<script>"), "no inline script");
        assert!(!playground.page.contains("<style"), "no inline style");
        assert!(!playground.page.contains("style="), "no inline style");
    }
}
