//! OAuth grant types, and the set of them a client may use.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A grant type (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    /// `password`: resource owner password credentials (§4.3). First-party
    /// clients only, and only when registered for it.
    Password,
    /// `refresh_token` (§6).
    RefreshToken,
    /// `client_credentials` (§4.4): a confidential client on its own behalf.
    ClientCredentials,
    /// `authorization_code` (§4.1). Registrable now; the endpoint comes later.
    AuthorizationCode,
}

/// A grant type name this server does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown grant type {0:?}")]
pub struct UnknownGrantType(pub String);

impl GrantType {
    /// Every grant type, in a stable order.
    pub const ALL: [GrantType; 4] = [
        Self::Password,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::AuthorizationCode,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
        }
    }
}

impl FromStr for GrantType {
    type Err = UnknownGrantType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| UnknownGrantType(s.to_owned()))
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The grant types a client is registered for. Stored space-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantTypes(BTreeSet<GrantType>);

impl GrantTypes {
    /// Whether `grant` is allowed.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.0.contains(&grant)
    }

    /// Parses the stored, space-separated form.
    pub fn parse(s: &str) -> Result<Self, UnknownGrantType> {
        s.split_whitespace().map(str::parse).collect()
    }
}

impl FromIterator<GrantType> for GrantTypes {
    fn from_iter<I: IntoIterator<Item = GrantType>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for GrantTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|g| g.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_stored_form() {
        let grants = GrantTypes::parse("refresh_token password").expect("known");
        assert!(grants.allows(GrantType::Password) && !grants.allows(GrantType::ClientCredentials));
        assert_eq!(grants.to_string(), "password refresh_token");
        assert_eq!(GrantTypes::parse(&grants.to_string()), Ok(grants));
        assert!(GrantTypes::parse("password implicit").is_err());
    }
}
