//! OAuth clients: who is calling the token endpoint, and may it.
//!
//! Client authentication per RFC 6749 §2.3: HTTP Basic
//! (`client_secret_basic`), `client_id` + `client_secret` in the body
//! (`client_secret_post`), or, for a public client, `client_id` alone.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use shared_claims::Scope;
use subtle::ConstantTimeEq;

use crate::domain::{GrantType, GrantTypes};
use crate::form::decode_component;
use crate::storage::StorageError;
use crate::storage::clients::ClientRow;
use crate::tokens::{random_bytes, sha256_hex};

/// A client secret. High-entropy (32 random bytes), so a fast hash
/// (SHA-256) compared in constant time protects it at rest. `Debug` prints
/// stars.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// A fresh secret.
    pub fn generate() -> Result<Self, getrandom::Error> {
        Ok(Self(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)))
    }

    /// A secret as presented.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// Hex SHA-256, as stored.
    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    /// The secret, to show the operator once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// What the request says about the client, before checking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic {
        /// Client id.
        id: String,
        /// Client secret.
        secret: ClientSecret,
    },
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    Post {
        /// Client id.
        id: String,
        /// Client secret.
        secret: ClientSecret,
    },
    /// `client_id` alone: a public client.
    Public {
        /// Client id.
        id: String,
    },
}

impl ClientCredentials {
    /// The claimed client id.
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { id, .. } | Self::Post { id, .. } | Self::Public { id } => id,
        }
    }

    /// Whether HTTP Basic was used (a 401 then carries a Basic challenge).
    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

/// Why client authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// The request is malformed: two authentication methods, a secret
    /// without an id... (`invalid_request`).
    #[error("{0}")]
    Malformed(&'static str),
    /// No client identified itself (`invalid_client`).
    #[error("client authentication is required")]
    Missing,
    /// Unknown client, wrong or missing secret, a secret for a public client,
    /// a malformed `Authorization` header (`invalid_client`).
    #[error("client authentication failed")]
    Failed {
        /// The client tried HTTP Basic (or another `Authorization` scheme):
        /// the 401 must carry a `WWW-Authenticate` challenge.
        challenge: bool,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A stored client row is unusable.
    #[error("client {id} is misconfigured: {reason}")]
    Corrupt {
        /// The client.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// Reads the client's credentials from the `Authorization` header and the
/// body parameters. Using both Basic and body credentials is refused
/// (RFC 6749 §2.3: one method per request); a `client_id` in the body that
/// repeats the Basic one is tolerated, as many client libraries send it.
pub fn extract_credentials(
    authorization: Option<&str>,
    body_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<ClientCredentials, ClientAuthError> {
    if let Some(header) = authorization {
        let (id, secret) =
            parse_basic(header).ok_or(ClientAuthError::Failed { challenge: true })?;
        if body_secret.is_some() {
            return Err(ClientAuthError::Malformed(
                "use one client authentication method: HTTP Basic or client_secret in the body, not both",
            ));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(ClientAuthError::Malformed(
                "client_id in the body differs from the HTTP Basic client id",
            ));
        }
        return Ok(ClientCredentials::Basic {
            id,
            secret: ClientSecret::new(secret),
        });
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(ClientCredentials::Post {
            id: id.to_owned(),
            secret: ClientSecret::new(secret.to_owned()),
        }),
        (Some(id), None) => Ok(ClientCredentials::Public { id: id.to_owned() }),
        (None, Some(_)) => Err(ClientAuthError::Malformed(
            "client_secret without client_id",
        )),
        (None, None) => Err(ClientAuthError::Missing),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` per RFC 6749 §2.3.1.
/// `None` for any other scheme or malformed content.
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = decode_component(id.as_bytes())?;
    if id.is_empty() {
        return None;
    }
    Some((id, decode_component(secret.as_bytes())?))
}

/// A registered client, parsed from its row.
#[derive(Debug, Clone)]
pub struct Client {
    /// Client id.
    pub id: String,
    /// Grant types it may use.
    pub grants: GrantTypes,
    /// The widest scope it may get.
    pub scope: Scope,
    /// The audience of its access tokens.
    pub audience: String,
    /// Whether it has a secret (and authenticated with it).
    pub confidential: bool,
}

impl Client {
    /// Whether it may use `grant`.
    pub fn may_use(&self, grant: GrantType) -> bool {
        self.grants.allows(grant)
    }
}

/// Checks `credentials` against the stored client (`None`: unknown id).
/// A confidential client must present its secret; a public client must not
/// present one.
pub fn authenticate(
    row: Option<ClientRow>,
    credentials: &ClientCredentials,
) -> Result<Client, ClientAuthError> {
    let challenge = credentials.used_basic();
    let failed = ClientAuthError::Failed { challenge };
    let Some(row) = row else {
        return Err(failed);
    };
    let presented = match credentials {
        ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. } => {
            Some(secret)
        }
        ClientCredentials::Public { .. } => None,
    };
    match (&row.secret_hash, presented) {
        (Some(stored), Some(secret)) => {
            let matches: bool = secret.hash().as_bytes().ct_eq(stored.as_bytes()).into();
            if !matches {
                return Err(failed);
            }
        }
        (None, None) => {}
        // A confidential client without its secret, or a secret for a
        // public client (which has none to check).
        _ => return Err(failed),
    }
    let corrupt = |reason: String| ClientAuthError::Corrupt {
        id: row.id.clone(),
        reason,
    };
    Ok(Client {
        grants: GrantTypes::parse(&row.grants).map_err(|e| corrupt(e.to_string()))?,
        scope: Scope::parse(&row.scope).map_err(|e| corrupt(e.to_string()))?,
        audience: row.audience.clone(),
        confidential: row.secret_hash.is_some(),
        id: row.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn row(secret: Option<&str>) -> ClientRow {
        ClientRow {
            id: "app".into(),
            secret_hash: secret.map(|s| ClientSecret::new(s.into()).hash()),
            grants: "password refresh_token".into(),
            scope: "notes:read".into(),
            audience: "api".into(),
            redirect_uris: String::new(),
            created_at: 0,
        }
    }

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        let header = basic("my%20app", "s%3Ac+r%2Bt");
        let creds = extract_credentials(Some(&header), None, None).expect("valid");
        assert_eq!(
            creds,
            ClientCredentials::Basic {
                id: "my app".into(),
                secret: ClientSecret::new("s:c r+t".into())
            }
        );
        // The scheme name is case-insensitive.
        let lower = header.replacen("Basic", "basic", 1);
        assert!(extract_credentials(Some(&lower), None, None).is_ok());
    }

    #[test]
    fn malformed_authorization_headers_fail_with_a_challenge() {
        for header in [
            "Basic !!!",
            "Bearer abc",
            "Basic",
            &basic("", "x"),
            "Basic YWJj", /* no colon */
        ] {
            let err = extract_credentials(Some(header), None, None).expect_err(header);
            assert!(
                matches!(err, ClientAuthError::Failed { challenge: true }),
                "{header}: {err:?}"
            );
        }
        assert!(extract_credentials(Some(&basic("a", "%zz")), None, None).is_err());
    }

    #[test]
    fn two_methods_at_once_are_a_malformed_request() {
        let header = basic("app", "s");
        let both = extract_credentials(Some(&header), Some("app"), Some("s"));
        assert!(matches!(both, Err(ClientAuthError::Malformed(_))));
        let other_id = extract_credentials(Some(&header), Some("other"), None);
        assert!(matches!(other_id, Err(ClientAuthError::Malformed(_))));
        let same_id = extract_credentials(Some(&header), Some("app"), None);
        assert!(matches!(same_id, Ok(ClientCredentials::Basic { .. })));
    }

    #[test]
    fn body_credentials() {
        assert!(matches!(
            extract_credentials(None, Some("app"), Some("s")),
            Ok(ClientCredentials::Post { .. })
        ));
        assert_eq!(
            extract_credentials(None, Some("app"), None).expect("public"),
            ClientCredentials::Public { id: "app".into() }
        );
        assert!(matches!(
            extract_credentials(None, None, Some("s")),
            Err(ClientAuthError::Malformed(_))
        ));
        assert!(matches!(
            extract_credentials(None, None, None),
            Err(ClientAuthError::Missing)
        ));
    }

    #[test]
    fn authentication_rules() {
        let post = |s: &str| ClientCredentials::Post {
            id: "app".into(),
            secret: ClientSecret::new(s.into()),
        };
        let public = ClientCredentials::Public { id: "app".into() };
        let ok = authenticate(Some(row(Some("right"))), &post("right")).expect("right secret");
        assert!(ok.confidential && ok.may_use(GrantType::Password));
        assert!(authenticate(Some(row(Some("right"))), &post("wrong")).is_err());
        assert!(
            authenticate(Some(row(Some("right"))), &public).is_err(),
            "secret required"
        );
        assert!(
            authenticate(Some(row(None)), &post("any")).is_err(),
            "public clients have no secret"
        );
        assert!(
            !authenticate(Some(row(None)), &public)
                .expect("public")
                .confidential
        );
        assert!(authenticate(None, &public).is_err());
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let secret = ClientSecret::generate().expect("csprng");
        let creds = ClientCredentials::Post {
            id: "app".into(),
            secret: secret.clone(),
        };
        assert!(!format!("{creds:?}").contains(secret.expose()));
    }
}
