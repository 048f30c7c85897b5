//! Usernames.

use std::fmt;

/// A login name: 1 to 64 characters from `[A-Za-z0-9._-]`. The narrow
/// alphabet rules out look-alike Unicode names and anything that needs
/// escaping in logs or URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// Why a username was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Empty, or longer than 64 characters.
    #[error("username must be 1 to {max} characters long", max = Username::MAX_LEN)]
    Length,
    /// A character outside `[A-Za-z0-9._-]`.
    #[error("username may contain only letters A-Z and a-z, digits, '.', '_' and '-'")]
    Character,
}

impl Username {
    /// Longest accepted username, in characters.
    pub const MAX_LEN: usize = 64;

    /// Validates a username.
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        if input.is_empty() || input.len() > Self::MAX_LEN {
            return Err(UsernameError::Length);
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(UsernameError::Character);
        }
        Ok(Self(input.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet_up_to_64_characters() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("A.b_c-9").is_ok());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn refuses_empty_long_and_odd_names() {
        assert_eq!(Username::parse(""), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"a".repeat(65)), Err(UsernameError::Length));
        for bad in ["al ice", "alice@example.com", "émile", "a/b", "a\nb", "a:b"] {
            assert_eq!(
                Username::parse(bad),
                Err(UsernameError::Character),
                "{bad:?}"
            );
        }
    }
}
