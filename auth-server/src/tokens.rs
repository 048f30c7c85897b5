//! Token material: signed access tokens (JWT), and opaque refresh tokens
//! with the hash under which they are stored.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use shared_claims::{AccessClaims, Audience, Scope};

use crate::keys::ActiveKey;

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(data)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// An opaque refresh token: 32 CSPRNG bytes, base64url without padding.
/// `Debug` prints stars; the token itself is only ever sent to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// A fresh token.
    pub fn generate() -> Result<Self, getrandom::Error> {
        Ok(Self(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)))
    }

    /// A token as a client presented it (not validated: unknown tokens
    /// simply have no row).
    pub fn from_presented(token: String) -> Self {
        Self(token)
    }

    /// The storage key: hex SHA-256. A database leak then yields no usable
    /// token; the 256 bits of entropy make a slow hash unnecessary.
    pub fn hash(&self) -> TokenHash {
        TokenHash(sha256_hex(self.0.as_bytes()))
    }

    /// The token, for the response body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(***)")
    }
}

/// Hex SHA-256 of a refresh token: what the database stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an access token says, before the issuer adds times and an id.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    /// The user's id, or the client id for `client_credentials`.
    pub subject: String,
    /// The client the token is issued to.
    pub client_id: String,
    /// Who the token is for.
    pub audience: String,
    /// What it allows.
    pub scope: Scope,
}

/// Why an access token could not be signed. Always a server fault.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The claims did not serialise (never expected: plain strings and
    /// numbers).
    #[error("could not encode the access token claims")]
    Claims(#[from] serde_json::Error),
    /// The crypto library refused to sign.
    #[error("could not sign the access token")]
    Signature(#[from] crate::key_material::MaterialError),
}

/// Signs an RFC 9068 access token with `key`: header `typ: at+jwt` and the
/// key's `kid`; `nbf = iat = now`, `exp = now + ttl`, a random `jti`.
///
/// Assembles the compact JWS (RFC 7515 §7.1) itself with the key parsed at
/// load and the header encoded at load: `jsonwebtoken::encode` would parse
/// the private key again for every token.
pub fn sign_access_token(
    key: &ActiveKey,
    issuer: &str,
    ttl_secs: i64,
    grant: AccessGrant,
    now: i64,
) -> Result<String, SigningError> {
    let claims = AccessClaims {
        iss: issuer.to_owned(),
        sub: grant.subject,
        aud: Audience::single(grant.audience),
        exp: now.saturating_add(ttl_secs),
        iat: now,
        nbf: now,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: grant.client_id,
        scope: grant.scope,
    };
    let claims_json = serde_json::to_vec(&claims)?;
    let header_b64 = key.header_b64();
    let claims_len = base64::encoded_len(claims_json.len(), false).unwrap_or(0);
    // header "." claims "." signature (at most 256 bytes: RSA-2048).
    let mut token = String::with_capacity(header_b64.len() + claims_len + 2 + 344);
    token.push_str(header_b64);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims_json, &mut token);
    let signature = key.signer().sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-assembled JWS is what `jsonwebtoken` would have produced:
    /// byte for byte for the deterministic algorithms (EdDSA, RS256), and a
    /// token `jsonwebtoken` verifies with the published key for all three.
    #[test]
    fn access_tokens_match_jsonwebtoken_and_verify() {
        use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, jwk::Jwk};

        use crate::domain::SigningAlg;
        for alg in SigningAlg::ALL {
            let row = crate::keys::generate(alg, 1, 0, 0).expect("generate");
            let key = crate::keys::parse_active(&row).expect("parse");
            let grant = AccessGrant {
                subject: "user-1".into(),
                client_id: "app".into(),
                audience: "api".into(),
                scope: Scope::parse("notes:read").expect("scope"),
            };
            let token =
                sign_access_token(&key, "https://issuer", 600, grant, 1_700_000_000).expect("sign");

            let jwk: Jwk = serde_json::from_str(&row.public_jwk).expect("jwk");
            let mut validation = Validation::new(alg.algorithm());
            validation.set_audience(&["api"]);
            validation.set_issuer(&["https://issuer"]);
            validation.validate_exp = false;
            let data = jsonwebtoken::decode::<AccessClaims>(
                &token,
                &DecodingKey::from_jwk(&jwk).expect("decoding key"),
                &validation,
            )
            .expect("jsonwebtoken verifies our token");
            assert_eq!(data.header.kid.as_deref(), Some(row.kid.as_str()));
            assert_eq!(
                data.header.typ.as_deref(),
                Some(shared_claims::ACCESS_TOKEN_TYP)
            );
            assert_eq!(data.claims.sub, "user-1");

            let encoding = match alg {
                SigningAlg::EdDSA => EncodingKey::from_ed_der(&row.private_key),
                // Verified above; jsonwebtoken's ES256 path (`sign_recoverable`)
                // is not the API compared here.
                SigningAlg::ES256 => continue,
                SigningAlg::RS256 => EncodingKey::from_rsa_der(&row.private_key),
            };
            let mut header = Header::new(alg.algorithm());
            header.typ = Some(shared_claims::ACCESS_TOKEN_TYP.to_owned());
            header.kid = Some(row.kid.clone());
            let expected =
                jsonwebtoken::encode(&header, &data.claims, &encoding).expect("jsonwebtoken");
            assert_eq!(token, expected, "{alg:?}");
        }
    }

    #[test]
    fn sha256_hex_matches_a_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn refresh_tokens_are_32_random_bytes_in_base64url() {
        let a = RefreshToken::generate().expect("csprng");
        let b = RefreshToken::generate().expect("csprng");
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn the_hash_is_stable_and_hides_the_token() {
        let token = RefreshToken::from_presented("abc".into());
        assert_eq!(
            token.hash(),
            RefreshToken::from_presented("abc".into()).hash()
        );
        assert_eq!(token.hash().as_str(), sha256_hex(b"abc"));
        assert!(!format!("{token:?}").contains("abc"));
    }
}
