//! `application/x-www-form-urlencoded` request bodies, read strictly.
//!
//! Strict where the WHATWG parser most libraries use is lenient: a broken
//! `%` escape or percent-encoded bytes that are not UTF-8 make the body
//! malformed instead of being passed through or replaced with U+FFFD, so
//! a password or token is never silently altered. Sizes are bounded, so a
//! hostile body costs at most one pass over bytes the endpoint already
//! capped.

use std::collections::HashMap;

/// Most parameters a body may carry. The largest real request (a password
/// grant with client credentials and scope) has six.
pub const MAX_PARAMS: usize = 32;
/// Longest parameter name, decoded. The longest OAuth name we read is
/// `token_type_hint`.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest parameter value, decoded: as long as the largest access token
/// a verifier accepts (`shared_claims` `DEFAULT_MAX_TOKEN_BYTES`), so any
/// token we could have issued can still be introspected or revoked.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// Parsed form parameters.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Form(HashMap<String, String>);

/// Why a body was refused. Messages never quote a value, which may be a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// Not decodable as `application/x-www-form-urlencoded` UTF-8.
    #[error("the request body is not valid application/x-www-form-urlencoded UTF-8")]
    Malformed,
    /// A parameter appeared more than once (RFC 6749 §3.2 forbids it).
    #[error("parameter {0:?} is repeated")]
    Repeated(String),
    /// More than [`MAX_PARAMS`] parameters.
    #[error("too many parameters (at most {MAX_PARAMS})")]
    TooManyParameters,
    /// A parameter name longer than [`MAX_NAME_BYTES`].
    #[error("a parameter name is longer than {MAX_NAME_BYTES} bytes")]
    NameTooLong,
    /// A value longer than [`MAX_VALUE_BYTES`].
    #[error("parameter {0:?} is longer than {MAX_VALUE_BYTES} bytes")]
    ValueTooLong(String),
}

impl Form {
    /// Parses a body. Parameters with an empty value count as absent
    /// (RFC 6749 §3.1); any parameter given twice is an error, so that two
    /// parts of a system can never read two different values.
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let mut params = HashMap::new();
        let pairs = body.split(|&b| b == b'&').filter(|pair| !pair.is_empty());
        for (index, pair) in pairs.enumerate() {
            if index >= MAX_PARAMS {
                return Err(FormError::TooManyParameters);
            }
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let name = decode_component(name).ok_or(FormError::Malformed)?;
            if name.len() > MAX_NAME_BYTES {
                return Err(FormError::NameTooLong);
            }
            let value = decode_component(value).ok_or(FormError::Malformed)?;
            if value.len() > MAX_VALUE_BYTES {
                return Err(FormError::ValueTooLong(name));
            }
            if value.is_empty() {
                continue;
            }
            if params.contains_key(&name) {
                return Err(FormError::Repeated(name));
            }
            params.insert(name, value);
        }
        Ok(Self(params))
    }

    /// The parameter names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Removes and returns a parameter's value.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }
}

/// Only parameter names: values may be passwords or tokens.
impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Decodes one name or value: `+` is a space, `%XX` a byte, and the
/// result must be UTF-8. `None` on a broken escape or invalid UTF-8.
pub fn decode_component(encoded: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut bytes = encoded.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = char::from(*bytes.next()?).to_digit(16)?;
                let lo = char::from(*bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_values() {
        let form =
            Form::parse(b"grant_type=password&username=al+ice&password=p%26w%3D").expect("valid");
        assert_eq!(form.get("grant_type"), Some("password"));
        assert_eq!(form.get("username"), Some("al ice"));
        assert_eq!(form.get("password"), Some("p&w="));
        assert_eq!(form.get("scope"), None);
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(
            Form::parse(b"scope=a&grant_type=password&scope=b"),
            Err(FormError::Repeated("scope".into()))
        );
        assert!(Form::parse(b"a=1&a=1").is_err(), "even with the same value");
    }

    #[test]
    fn empty_values_count_as_absent() {
        let form = Form::parse(b"scope=&grant_type=password&scope=x").expect("one real scope");
        assert_eq!(form.get("scope"), Some("x"));
        assert_eq!(Form::parse(b"").expect("empty"), Form::default());
    }

    #[test]
    fn debug_shows_names_only() {
        let form = Form::parse(b"password=hunter2").expect("valid");
        assert!(!format!("{form:?}").contains("hunter2"));
    }

    #[test]
    fn broken_escapes_and_non_utf8_are_malformed() {
        for body in [
            &b"password=%zz"[..],
            b"password=%4",
            b"password=%",
            b"password=%ff%fe",
            b"pass%ffword=x",
            b"password=\xff",
        ] {
            assert_eq!(Form::parse(body), Err(FormError::Malformed), "{body:?}");
        }
        assert_eq!(
            Form::parse(b"password=%C3%A9")
                .expect("UTF-8")
                .get("password"),
            Some("\u{e9}")
        );
    }

    #[test]
    fn sizes_are_bounded() {
        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=v")).collect();
        let many = many.join("&");
        assert_eq!(
            Form::parse(many.as_bytes()),
            Err(FormError::TooManyParameters)
        );
        let distinct: Vec<String> = (0..MAX_PARAMS).map(|i| format!("p{i}=v")).collect();
        assert!(Form::parse(distinct.join("&").as_bytes()).is_ok());

        let long_name = format!("{}=x", "n".repeat(MAX_NAME_BYTES + 1));
        assert_eq!(
            Form::parse(long_name.as_bytes()),
            Err(FormError::NameTooLong)
        );
        let long_value = format!("token={}", "t".repeat(MAX_VALUE_BYTES + 1));
        assert_eq!(
            Form::parse(long_value.as_bytes()),
            Err(FormError::ValueTooLong("token".into()))
        );
        let longest = format!("token={}", "t".repeat(MAX_VALUE_BYTES));
        assert!(Form::parse(longest.as_bytes()).is_ok());
    }

    #[test]
    fn errors_never_quote_a_value() {
        let secret = "s3cr3t-value";
        for body in [
            format!("password={secret}&password={secret}"),
            format!("password=%zz{secret}"),
            format!("password={secret}{}", "x".repeat(MAX_VALUE_BYTES)),
        ] {
            let err = Form::parse(body.as_bytes()).expect_err("refused");
            assert!(!err.to_string().contains(secret), "{err}");
        }
    }

    #[test]
    fn names_without_a_value_and_empty_pairs_are_ignored() {
        let form = Form::parse(b"&&flag&grant_type=password&").expect("valid");
        assert_eq!(form.names().collect::<Vec<_>>(), ["grant_type"]);
    }

    /// Property tests: 256 cases each by default (`PROPTEST_CASES` raises
    /// it), a few hundred milliseconds in all.
    mod properties {
        use std::collections::BTreeMap;

        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;

        use super::super::*;

        /// Names and values with every kind of character a client may
        /// send: separators, `+`, `%`, non-ASCII.
        fn text(max: usize) -> impl Strategy<Value = String> {
            proptest::string::string_regex(&format!("[a-z0-9 =&+%._~é😀-]{{1,{max}}}"))
                .expect("valid regex")
        }

        fn params() -> impl Strategy<Value = BTreeMap<String, String>> {
            btree_map(text(16), text(40), 0..MAX_PARAMS)
        }

        fn encode(pairs: &[(&str, &str)]) -> String {
            serde_urlencoded::to_string(pairs).expect("encodable")
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(body in vec(any::<u8>(), 0..2048)) {
                let _ = Form::parse(&body);
            }

            #[test]
            fn form_like_bytes_never_panic(body in "[a-z=&%+0-9A-F\\xff]{0,256}") {
                let _ = Form::parse(body.as_bytes());
            }

            #[test]
            fn well_formed_forms_round_trip(params in params()) {
                let pairs: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let form = Form::parse(encode(&pairs).as_bytes()).expect("well-formed");
                prop_assert_eq!(form.names().count(), params.len());
                for (name, value) in &params {
                    prop_assert_eq!(form.get(name), Some(value.as_str()));
                }
            }

            #[test]
            fn any_repeated_parameter_is_refused(
                params in params().prop_filter("non-empty", |p| !p.is_empty()),
                pick in any::<prop::sample::Index>(),
                second_value in text(40),
                position in any::<prop::sample::Index>(),
            ) {
                let mut pairs: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let (name, _) = pairs[pick.index(pairs.len())];
                pairs.insert(position.index(pairs.len() + 1), (name, second_value.as_str()));
                prop_assert_eq!(
                    Form::parse(encode(&pairs).as_bytes()),
                    Err(FormError::Repeated(name.to_owned()))
                );
            }
        }
    }
}
