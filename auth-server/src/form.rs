//! `application/x-www-form-urlencoded` request bodies, read strictly.

use std::collections::HashMap;

/// Parsed form parameters.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Form(HashMap<String, String>);

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// Not decodable as `application/x-www-form-urlencoded`.
    #[error("the request body is not valid application/x-www-form-urlencoded")]
    Malformed,
    /// A parameter appeared more than once (RFC 6749 §3.2 forbids it).
    #[error("parameter {0:?} is repeated")]
    Repeated(String),
}

impl Form {
    /// Parses a body. Parameters with an empty value count as absent
    /// (RFC 6749 §3.1); any parameter given twice is an error, so that two
    /// parts of a system can never read two different values.
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| FormError::Malformed)?;
        let mut params = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
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
}
