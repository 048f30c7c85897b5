//! The server-rendered pages of the authorization endpoint: the login form
//! and the error page. Plain HTML, no script, no external asset; a strict
//! Content-Security-Policy allows the one inline style by its hash.

use std::fmt::Write as _;
use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The pages' only style, inline so that no other request is needed.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;line-height:1.5}\
label{display:block;margin-top:1rem;font-weight:600}\
input{display:block;width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}\
.error{color:#a00000;border:1px solid #a00000;padding:.5rem;margin:1rem 0}\
.actions{margin-top:1.5rem;display:flex;gap:1rem}\
button{padding:.5rem 1rem;font-size:1rem}";

/// `style-src` by hash: an injected `<style>` could not run.
static STYLE_HASH: LazyLock<String> =
    LazyLock::new(|| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(STYLE))));

/// What the login form shows and carries.
#[derive(Debug)]
pub struct LoginPage<'a> {
    /// The client asking.
    pub client_id: &'a str,
    /// The scope it will get.
    pub scope: &'a str,
    /// The pending request's id (hidden field).
    pub request_id: &'a str,
    /// The CSRF token (hidden field; also in a cookie).
    pub csrf_token: &'a str,
    /// The username to prefill after a failed attempt.
    pub username: &'a str,
    /// The error to show, tied to the fields.
    pub error: Option<&'a str>,
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

impl LoginPage<'_> {
    /// The HTML. The error, when there is one, comes first in reading
    /// order, is announced (`role="alert"`), and both inputs point at it
    /// with `aria-describedby` and `aria-invalid`.
    pub fn render(&self) -> String {
        let mut body = String::new();
        let _ = write!(
            body,
            "<h1>Sign in</h1>\n<p><strong>{}</strong> asks for access to your account with the scope: <code>{}</code>.</p>\n",
            escape(self.client_id),
            escape(if self.scope.is_empty() {
                "(none)"
            } else {
                self.scope
            })
        );
        let invalid = if let Some(error) = self.error {
            let _ = writeln!(
                body,
                "<p id=\"login-error\" class=\"error\" role=\"alert\">{}</p>",
                escape(error)
            );
            " aria-invalid=\"true\" aria-describedby=\"login-error\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/oauth/authorize\">\n\
             <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
             <label for=\"username\">Username</label>\n\
             <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required autofocus value=\"{username}\"{invalid}>\n\
             <label for=\"password\">Password</label>\n\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{invalid}>\n\
             <div class=\"actions\">\n\
             <button type=\"submit\" name=\"action\" value=\"login\">Sign in and allow</button>\n\
             <button type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button>\n\
             </div>\n</form>\n",
            request_id = escape(self.request_id),
            csrf = escape(self.csrf_token),
            username = escape(self.username),
        );
        document("Sign in", &body)
    }
}

/// An error page: what went wrong, for the person at the browser.
pub fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    let body = format!(
        "<h1>Sign-in cannot continue</h1>\n<p role=\"alert\">{}</p>\n<p>Go back to the application and start again.</p>\n",
        escape(message)
    );
    secured(&mut HttpResponse::build(status), &[]).body(document("Sign-in error", &body))
}

/// An HTML response with the headers every page of this endpoint carries:
/// no caching (the page holds a CSRF token), no framing (clickjacking), no
/// referrer (the URL holds the request), and a CSP allowing only the inline
/// style and form posts to here or to `form_targets` (the client's origin:
/// Chromium applies `form-action` to the redirect after the post too).
pub fn secured<'b>(
    builder: &'b mut HttpResponseBuilder,
    form_targets: &[&str],
) -> &'b mut HttpResponseBuilder {
    let mut form_action = String::from("'self'");
    for target in form_targets {
        form_action.push(' ');
        form_action.push_str(target);
    }
    let csp = format!(
        "default-src 'none'; style-src {}; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
        *STYLE_HASH
    );
    builder
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_shown_is_escaped() {
        let page = LoginPage {
            client_id: "<script>",
            scope: "a\"b",
            request_id: "r",
            csrf_token: "c",
            username: "x\" onfocus=\"y",
            error: Some("<b>"),
        }
        .render();
        assert!(!page.contains("<script>") && !page.contains("<b>"));
        assert!(page.contains("x&quot; onfocus=&quot;y"));
    }

    #[test]
    fn errors_are_tied_to_the_fields() {
        let mut login = LoginPage {
            client_id: "app",
            scope: "notes:read",
            request_id: "r",
            csrf_token: "c",
            username: "",
            error: None,
        };
        assert!(!login.render().contains("aria-invalid"));
        login.error = Some("wrong");
        let page = login.render();
        assert!(page.contains("id=\"login-error\""));
        assert_eq!(page.matches("aria-describedby=\"login-error\"").count(), 2);
        assert!(page.contains("<html lang=\"en\">"));
        assert!(
            page.contains("<label for=\"username\">") && page.contains("<label for=\"password\">")
        );
    }
}
