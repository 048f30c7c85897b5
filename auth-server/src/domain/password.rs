//! Passwords, in transit from the client to the hasher.

use std::fmt;

/// A plaintext password. `Debug` prints stars, so it cannot leak through a
/// log line or a panic message.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Fewer than [`Password::MIN_CHARS`] characters.
    #[error("password must be at least {min} characters long", min = Password::MIN_CHARS)]
    TooShort,
    /// More than [`Password::MAX_BYTES`] bytes.
    #[error("password must be at most {max} bytes long", max = Password::MAX_BYTES)]
    TooLong,
}

impl Password {
    /// Shortest password accepted for a new account (characters), per
    /// NIST SP 800-63B and OWASP ASVS.
    pub const MIN_CHARS: usize = 8;
    /// Longest password accepted (bytes): generous for passphrases, bounded
    /// so nobody can make the hasher chew megabytes.
    pub const MAX_BYTES: usize = 1024;

    /// Wraps a password presented at login. No policy: an old account may
    /// predate the current rules, and the hash check decides anyway.
    pub fn new(password: String) -> Self {
        Self(password)
    }

    /// Checks a new password against the policy.
    pub fn new_checked(password: String) -> Result<Self, PasswordPolicyError> {
        if password.len() > Self::MAX_BYTES {
            return Err(PasswordPolicyError::TooLong);
        }
        if password.chars().count() < Self::MIN_CHARS {
            return Err(PasswordPolicyError::TooShort);
        }
        Ok(Self(password))
    }

    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the password is longer than any the policy accepts; such a
    /// login attempt is refused without hashing.
    pub fn exceeds_max_len(&self) -> bool {
        self.0.len() > Self::MAX_BYTES
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_bounds_length_in_characters_and_bytes() {
        assert_eq!(
            Password::new_checked("1234567".into()),
            Err(PasswordPolicyError::TooShort)
        );
        assert!(Password::new_checked("12345678".into()).is_ok());
        // 8 characters, 16 bytes: long enough.
        assert!(Password::new_checked("éééééééé".into()).is_ok());
        assert!(Password::new_checked("x".repeat(1024)).is_ok());
        assert_eq!(
            Password::new_checked("x".repeat(1025)),
            Err(PasswordPolicyError::TooLong)
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", Password::new("hunter22".into()));
        assert!(!shown.contains("hunter22"), "{shown}");
    }
}
