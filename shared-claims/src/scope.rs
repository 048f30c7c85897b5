//! OAuth 2.0 scopes (RFC 6749 §3.3): a set of space-separated tokens.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of scope tokens. Order and duplicates in the input do not matter;
/// the canonical form is the tokens sorted and joined by single spaces.
///
/// ```
/// use shared_claims::Scope;
///
/// let granted: Scope = "notes:write notes:read notes:read".parse()?;
/// assert_eq!(granted.to_string(), "notes:read notes:write");
/// assert!(granted.contains("notes:read") && !granted.contains("admin"));
///
/// // A refresh may narrow what was granted, never widen it: the error names
/// // what was asked for beyond the grant.
/// let read_only = Scope::parse("notes:read")?;
/// assert_eq!(granted.narrow(Some(&read_only)), Ok(read_only.clone()));
/// assert_eq!(granted.narrow(None), Ok(granted.clone()));
/// let wider = Scope::parse("notes:read admin")?;
/// assert_eq!(granted.narrow(Some(&wider)), Err(Scope::parse("admin")?));
///
/// // RFC 6749 §3.3 allows no quote, backslash, space inside a token, or non-ASCII.
/// assert!(Scope::parse(r#"say "hi""#).is_err());
/// assert!(Scope::parse("café").is_err());
/// # Ok::<(), shared_claims::ScopeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope(BTreeSet<String>);

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A token contained a character outside RFC 6749's `scope-token` grammar
    /// (`%x21 / %x23-5B / %x5D-7E`).
    #[error("scope token {0:?} contains a character RFC 6749 does not allow")]
    InvalidToken(String),
}

impl Scope {
    /// The empty scope.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a space-delimited scope string. Runs of spaces are tolerated;
    /// each token must match RFC 6749 §3.3 `scope-token`.
    pub fn parse(input: &str) -> Result<Self, ScopeError> {
        let mut set = BTreeSet::new();
        for token in input.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_char) {
                return Err(ScopeError::InvalidToken(token.to_owned()));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    /// Whether this scope grants `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Whether every token of `other` is also in `self`.
    pub fn includes(&self, other: &Scope) -> bool {
        other.0.is_subset(&self.0)
    }

    /// Narrowing: the scope a client gets when it asks for `requested` while
    /// holding `self`. `None` (ask for nothing in particular) keeps the whole
    /// grant; asking for anything outside the grant is refused with the
    /// tokens that were not granted, so a refresh can narrow but never widen.
    pub fn narrow(&self, requested: Option<&Scope>) -> Result<Scope, Scope> {
        match requested {
            None => Ok(self.clone()),
            Some(req) if self.includes(req) => Ok(req.clone()),
            Some(req) => Err(Scope(req.0.difference(&self.0).cloned().collect())),
        }
    }

    /// Whether the scope holds no token.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens, in canonical (sorted) order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Scope::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Scope {
        Scope::parse(s).expect("valid scope")
    }

    #[test]
    fn parse_is_order_and_whitespace_insensitive() {
        assert_eq!(scope("b a  a"), scope("a b"));
        assert_eq!(scope("b a").to_string(), "a b");
        assert!(scope("   ").is_empty());
    }

    #[test]
    fn parse_refuses_characters_outside_the_grammar() {
        assert!(Scope::parse("notes:read \"quoted\"").is_err());
        assert!(Scope::parse("back\\slash").is_err());
        assert!(Scope::parse("caf\u{e9}").is_err());
        assert!(Scope::parse("tab\there").is_err());
    }

    #[test]
    fn narrowing_keeps_subsets_and_refuses_widening() {
        let granted = scope("notes:read notes:write");
        assert_eq!(granted.narrow(None), Ok(granted.clone()));
        assert_eq!(
            granted.narrow(Some(&scope("notes:read"))),
            Ok(scope("notes:read"))
        );
        assert_eq!(
            granted.narrow(Some(&scope("notes:read admin"))),
            Err(scope("admin"))
        );
    }

    #[test]
    fn serde_uses_the_space_separated_form() {
        let json = serde_json::to_string(&scope("b a")).expect("serializes");
        assert_eq!(json, "\"a b\"");
        let back: Scope = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, scope("a b"));
    }
}
