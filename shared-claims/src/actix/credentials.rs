//! Reading the bearer token out of the `Authorization` header (RFC 6750 §2.1).

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;

use super::BearerError;

/// The token of `Authorization: Bearer <token>`.
///
/// No header, or a header with another scheme, is [`BearerError::MissingToken`]
/// (the client sent no bearer credentials). A `Bearer` header that breaks the
/// grammar `"Bearer" 1*SP b64token` is [`BearerError::InvalidRequest`], as is
/// more than one `Authorization` header. Only the header is read: RFC 6750's
/// form-body and query-string methods leak tokens into logs and are not
/// supported.
pub(super) fn bearer_token(req: &HttpRequest) -> Result<String, BearerError> {
    let mut values = req.headers().get_all(AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(BearerError::MissingToken);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    // `from_utf8` rather than `HeaderValue::to_str`: both refuse what a
    // token cannot hold, but the standard library's check runs a word at a
    // time where `to_str` goes byte by byte, and this runs on every
    // request. Whatever UTF-8 beyond ASCII gets through is refused below as
    // not a b64token.
    let value = std::str::from_utf8(value.as_bytes())
        .map_err(|_| BearerError::InvalidRequest("the Authorization header is not ASCII"))?;
    parse_bearer(value).map(str::to_owned)
}

fn parse_bearer(value: &str) -> Result<&str, BearerError> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    // Auth scheme names are case-insensitive (RFC 7235 §2.1).
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(BearerError::MissingToken);
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(BearerError::InvalidRequest(
            "the Bearer credentials are empty",
        ));
    }
    if !is_b64token(token) {
        return Err(BearerError::InvalidRequest(
            "the Bearer credentials are not one b64token",
        ));
    }
    Ok(token)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
///
/// This runs over every byte of every token on every request, so it is a
/// fold of comparisons without an early exit, which the compiler turns
/// into vector instructions (16 bytes a step on the baseline x86-64
/// target); a token is refused rarely, so stopping at the first bad byte
/// would save nothing.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().fold(true, |ok, b| ok & is_b64token_char(b))
}

/// A character of b64token before its `=` padding, without branches.
fn is_b64token_char(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter
        | digit
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branchless_character_test_is_the_grammar() {
        for b in 0..=u8::MAX {
            let grammar =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_b64token_char(b), grammar, "byte {b:#04x}");
        }
    }

    #[test]
    fn non_ascii_in_the_token_is_an_invalid_request() {
        assert!(matches!(
            parse_bearer("Bearer abc\u{e9}def"),
            Err(BearerError::InvalidRequest(_))
        ));
    }

    #[test]
    fn accepts_the_bearer_grammar_in_any_case() {
        assert_eq!(parse_bearer("Bearer abc.def-_~+/=="), Ok("abc.def-_~+/=="));
        assert_eq!(parse_bearer("bearer abc"), Ok("abc"));
        assert_eq!(parse_bearer("BEARER  abc"), Ok("abc"));
    }

    #[test]
    fn another_scheme_is_no_bearer_token() {
        assert_eq!(
            parse_bearer("Basic dXNlcjpwYXNz"),
            Err(BearerError::MissingToken)
        );
        assert_eq!(parse_bearer("Bearerabc"), Err(BearerError::MissingToken));
        assert_eq!(parse_bearer(""), Err(BearerError::MissingToken));
    }

    #[test]
    fn a_broken_bearer_header_is_an_invalid_request() {
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a\"b",
            "Bearer ===",
            "Bearer a=b",
        ] {
            assert!(
                matches!(parse_bearer(value), Err(BearerError::InvalidRequest(_))),
                "{value:?}"
            );
        }
    }
}
