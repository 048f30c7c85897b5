//! Reading a `WWW-Authenticate: Bearer ...` challenge (RFC 6750 §3), so
//! tests can assert on its parameters rather than on its exact text.

use std::collections::BTreeMap;

/// One parsed challenge: its scheme and its `name=value` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The authentication scheme, e.g. `Bearer`.
    pub scheme: String,
    /// Parameters with quotes removed, keyed by lower-case name.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Parses `Bearer realm="api", error="invalid_token", ...`. Returns
    /// `None` for an empty header.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = match header.split_once(char::is_whitespace) {
            Some((scheme, rest)) => (scheme, rest),
            None => (header, ""),
        };
        if scheme.is_empty() {
            return None;
        }
        Some(Self {
            scheme: scheme.to_owned(),
            params: parse_params(rest),
        })
    }

    /// The `error` parameter, if any.
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }

    /// A parameter by (case-insensitive) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// `a="x, y", b=z` -> {a: "x, y", b: "z"}; quoted strings may contain commas
/// and backslash escapes.
fn parse_params(mut rest: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some((name, after)) = rest.split_once('=') else {
            return params;
        };
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = match after.strip_prefix('"') {
            Some(quoted) => read_quoted(quoted),
            None => match after.split_once(',') {
                Some((token, remainder)) => (token.trim().to_owned(), remainder),
                None => (after.trim().to_owned(), ""),
            },
        };
        params.insert(name, value);
        rest = remainder;
    }
}

/// Reads a quoted string whose opening quote is already consumed.
fn read_quoted(text: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            '"' => return (value, &text[index + 1..]),
            other => value.push(other),
        }
    }
    (value, "")
}

#[cfg(test)]
mod tests {
    use super::Challenge;

    #[test]
    fn an_error_challenge_yields_its_parameters() {
        let challenge = Challenge::parse(
            r#"Bearer realm="notes", error="invalid_token", error_description="token expired, renew it""#,
        )
        .expect("challenge");
        assert_eq!(challenge.scheme, "Bearer");
        assert_eq!(challenge.param("realm"), Some("notes"));
        assert_eq!(challenge.error(), Some("invalid_token"));
        assert_eq!(
            challenge.param("error_description"),
            Some("token expired, renew it")
        );
    }

    #[test]
    fn a_bare_challenge_has_no_error() {
        let challenge = Challenge::parse(r#"Bearer realm="notes""#).expect("challenge");
        assert_eq!(challenge.error(), None);
        assert_eq!(Challenge::parse("Bearer").expect("bare").params.len(), 0);
    }

    #[test]
    fn unquoted_values_and_escapes_are_read() {
        let challenge = Challenge::parse(r#"Bearer error=insufficient_scope, scope="a \"b\"""#)
            .expect("challenge");
        assert_eq!(challenge.error(), Some("insufficient_scope"));
        assert_eq!(challenge.param("scope"), Some(r#"a "b""#));
    }
}
