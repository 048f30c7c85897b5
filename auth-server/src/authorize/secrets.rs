//! The random values of the authorization flow: the code, the pending
//! request's id and the login form's CSRF token. Each is 32 bytes from the
//! OS CSPRNG in base64url, stored (when at all) as its SHA-256; `Debug`
//! prints stars.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::tokens::{random_bytes, sha256_hex};

macro_rules! opaque_secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// A fresh value: 32 CSPRNG bytes, base64url without padding.
            pub fn generate() -> Result<Self, getrandom::Error> {
                Ok(Self(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)))
            }

            /// A value as a client or browser presented it (not validated:
            /// an unknown value simply matches nothing).
            pub fn from_presented(value: String) -> Self {
                Self(value)
            }

            /// Hex SHA-256: what the database stores.
            pub fn hash(&self) -> String {
                sha256_hex(self.0.as_bytes())
            }

            /// The value itself, for the one response that carries it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    };
}

opaque_secret!(
    /// An authorization code (RFC 6749 §4.1.2): single use, about a minute.
    AuthorizationCode
);
opaque_secret!(
    /// The login form's CSRF token: in a cookie and a hidden field; the
    /// pending request stores its hash.
    CsrfToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_base64url_and_hidden_from_debug() {
        let a = AuthorizationCode::generate().expect("csprng");
        let b = AuthorizationCode::generate().expect("csprng");
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(a.hash(), sha256_hex(a.expose().as_bytes()));
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
