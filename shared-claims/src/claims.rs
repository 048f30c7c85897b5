//! The claims of an access token, per the JWT profile for OAuth 2.0 access
//! tokens (RFC 9068 §2.2).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Scope;

/// The `typ` header value RFC 9068 §2.1 requires, so an access token can never
/// be confused with an ID token or any other JWT signed by the same key.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims carried by every access token. Nothing secret goes in here: a
/// JWT is signed, not encrypted, and anyone holding it can read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: the auth server's URL (its RFC 8414 `issuer`).
    pub iss: String,
    /// Subject: the user's stable id, or the client id for `client_credentials`.
    pub sub: String,
    /// Audience: the resource server(s) the token is meant for.
    pub aud: Audience,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Unique token id.
    pub jti: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// Granted scope, space-separated on the wire. Absent when empty.
    #[serde(default, skip_serializing_if = "Scope::is_empty")]
    pub scope: Scope,
}

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3). A single
/// audience is written as a plain string, as most verifiers expect.
///
/// ```
/// use shared_claims::Audience;
///
/// // Both forms are read; a resource server checks that it is among them.
/// let one: Audience = serde_json::from_str(r#""notes-api""#)?;
/// let two: Audience = serde_json::from_str(r#"["billing", "notes-api"]"#)?;
/// assert!(one.contains("notes-api") && two.contains("notes-api"));
/// assert!(!one.contains("billing"));
/// assert_eq!(two.iter().collect::<Vec<_>>(), ["billing", "notes-api"]);
///
/// // One audience is written back as a plain string; none at all is refused.
/// assert_eq!(serde_json::to_string(&Audience::single("notes-api"))?, r#""notes-api""#);
/// assert!(serde_json::from_str::<Audience>("[]").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(Vec<String>);

impl Audience {
    /// An audience of exactly one recipient.
    pub fn single(aud: impl Into<String>) -> Self {
        Self(vec![aud.into()])
    }

    /// Whether `aud` is one of the recipients.
    pub fn contains(&self, aud: &str) -> bool {
        self.0.iter().any(|a| a == aud)
    }

    /// The recipients.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(a) => Ok(Self(vec![a])),
            OneOrMany::Many(v) if !v.is_empty() => Ok(Self(v)),
            OneOrMany::Many(_) => Err(serde::de::Error::custom("empty audience")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_accepts_a_string_or_an_array() {
        let one: Audience = serde_json::from_str("\"api\"").expect("string");
        let many: Audience = serde_json::from_str("[\"a\",\"api\"]").expect("array");
        assert!(one.contains("api") && many.contains("api") && !one.contains("a"));
        assert_eq!(serde_json::to_string(&one).expect("ser"), "\"api\"");
        assert!(serde_json::from_str::<Audience>("[]").is_err());
        assert!(serde_json::from_str::<Audience>("42").is_err());
    }
}
