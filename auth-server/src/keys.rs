//! Signing keys: generating Ed25519 keys, making sure one is active,
//! rotating, and holding the parsed active key and the JWKS in memory.

use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey};
use sha2::{Digest, Sha256};
use shared_claims::{Jwk, JwkSet};

use crate::storage::signing_keys::{self, SigningKeyRow};
use crate::storage::{DbConnection, StorageError};
use crate::tokens::random_bytes;

/// The JWS algorithm name of Ed25519 keys.
const EDDSA: &str = "EdDSA";

/// Why key handling failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The OS random source failed.
    #[error("could not generate a key")]
    Random(#[from] getrandom::Error),
    /// A stored key could not be used.
    #[error("signing key {kid} is unusable: {reason}")]
    Corrupt {
        /// The key.
        kid: String,
        /// What is wrong with it (never key material).
        reason: String,
    },
    /// No key is active (all retired or not yet active) and none could be made.
    #[error("no active signing key")]
    NoActiveKey,
}

/// The key tokens are signed with, parsed once. `Debug` shows only the kid.
#[derive(Clone)]
pub struct ActiveKey {
    kid: String,
    encoding: EncodingKey,
}

impl ActiveKey {
    /// Key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm.
    pub fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }

    /// The key for `jsonwebtoken::encode`.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

impl std::fmt::Debug for ActiveKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A consistent view of the keys: the one that signs, and every published
/// public key.
#[derive(Debug, Clone)]
pub struct KeySet {
    /// The signing key.
    pub signing: ActiveKey,
    /// Every published public key, newest first.
    pub jwks: JwkSet,
}

/// The in-memory key set, swapped atomically when the database shows a
/// change. Readers never block and never see a half-updated set.
#[derive(Debug)]
pub struct KeyStore {
    current: ArcSwap<KeySet>,
}

impl KeyStore {
    /// A store holding `set`.
    pub fn new(set: KeySet) -> Self {
        Self {
            current: ArcSwap::from_pointee(set),
        }
    }

    /// The current key set.
    pub fn current(&self) -> Arc<KeySet> {
        self.current.load_full()
    }

    /// Replaces the key set, logging a change of signing key.
    pub fn replace(&self, set: KeySet) {
        let old = self.current.swap(Arc::new(set));
        let new = self.current.load();
        if old.signing.kid != new.signing.kid {
            log::info!(
                "signing key is now {} (was {})",
                new.signing.kid,
                old.signing.kid
            );
        }
    }
}

/// A freshly generated Ed25519 key, ready to insert once it has a generation.
pub fn generate_ed25519(generation: i64, now: i64) -> Result<SigningKeyRow, KeyError> {
    let seed = random_bytes::<32>()?;
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let der = signing.to_pkcs8_der().map_err(|e| KeyError::Corrupt {
        kid: "(new)".into(),
        reason: e.to_string(),
    })?;
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes());
    let kid = thumbprint_ed25519(&x);
    let jwk = Jwk::ed25519(kid.clone(), x);
    let public_jwk = serde_json::to_string(&jwk).map_err(|e| KeyError::Corrupt {
        kid: kid.clone(),
        reason: e.to_string(),
    })?;
    Ok(SigningKeyRow {
        kid,
        generation,
        alg: EDDSA.to_owned(),
        private_key: der.as_bytes().to_vec(),
        public_jwk,
        created_at: now,
        activates_at: now,
        retires_at: None,
    })
}

/// RFC 7638 JWK thumbprint of an Ed25519 key (RFC 8037 §2): a kid that is
/// derived from the key itself, so it can never name two different keys.
fn thumbprint_ed25519(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Whether `key` may sign at `now`.
fn is_usable(key: &SigningKeyRow, now: i64) -> bool {
    key.activates_at <= now && key.retires_at.is_none_or(|r| r > now)
}

/// The lifecycle state of a key, as `keys list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Signs new tokens (the newest usable key).
    Active,
    /// In the JWKS but not signing: waiting to activate, or superseded and
    /// kept until the tokens it signed have expired.
    Published,
    /// Neither used nor published.
    Retired,
}

impl KeyState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Published => "published",
            Self::Retired => "retired",
        }
    }
}

/// One row of `keys list`.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Activation time, Unix seconds.
    pub activates_at: i64,
    /// State at the time of listing.
    pub state: KeyState,
}

/// Makes sure a usable key exists, generating one if not. Safe when several
/// instances start at once: whether a key is usable and which generation
/// comes next are read in ONE query (one snapshot), so an instance that saw
/// no key proposes the generation that another instance may have taken in
/// the meantime; the unique constraint then refuses the second insert and
/// the loser re-reads and finds the winner's key. (Two separate reads would
/// let a late instance see "no key" and then "generation 1 taken", and add
/// a second key.)
pub fn ensure_active_key(conn: &mut DbConnection, now: i64) -> Result<(), KeyError> {
    for _ in 0..3 {
        let existing = signing_keys::all(conn)?;
        if existing.iter().any(|k| is_usable(k, now)) {
            return Ok(());
        }
        let generation = existing.iter().map(|k| k.generation).max().unwrap_or(0) + 1;
        let key = generate_ed25519(generation, now)?;
        match signing_keys::insert(conn, &key) {
            Ok(()) => {
                log::info!(
                    "generated signing key {} (generation {generation})",
                    key.kid
                );
                return Ok(());
            }
            Err(StorageError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(KeyError::NoActiveKey)
}

/// Adds a new key that signs from `now` on; older keys stay published.
/// Returns its kid. Two concurrent rotations cannot take the same
/// generation; the loser retries on top of the winner.
pub fn rotate(conn: &mut DbConnection, now: i64) -> Result<String, KeyError> {
    for _ in 0..3 {
        let generation = signing_keys::latest_generation(conn)?.unwrap_or(0) + 1;
        let key = generate_ed25519(generation, now)?;
        match signing_keys::insert(conn, &key) {
            Ok(()) => return Ok(key.kid),
            Err(StorageError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StorageError::Conflict.into())
}

/// Loads the published keys and parses the signing key.
pub fn load_key_set(conn: &mut DbConnection, now: i64) -> Result<KeySet, KeyError> {
    let rows = signing_keys::published(conn, now)?;
    let mut jwks = JwkSet::default();
    for row in &rows {
        jwks.keys.push(public_jwk(row)?);
    }
    // `published` is newest first: the first usable key signs.
    let signing_row = rows
        .iter()
        .find(|k| is_usable(k, now))
        .ok_or(KeyError::NoActiveKey)?;
    Ok(KeySet {
        signing: parse_active(signing_row)?,
        jwks,
    })
}

/// Every key with its state at `now`, oldest first.
pub fn list(conn: &mut DbConnection, now: i64) -> Result<Vec<KeyInfo>, KeyError> {
    let rows = signing_keys::all(conn)?;
    let active_generation = rows
        .iter()
        .filter(|k| is_usable(k, now))
        .map(|k| k.generation)
        .max();
    Ok(rows
        .into_iter()
        .map(|k| {
            let state = if Some(k.generation) == active_generation {
                KeyState::Active
            } else if k.retires_at.is_some_and(|r| r <= now) {
                KeyState::Retired
            } else {
                KeyState::Published
            };
            KeyInfo {
                kid: k.kid,
                alg: k.alg,
                created_at: k.created_at,
                activates_at: k.activates_at,
                state,
            }
        })
        .collect())
}

fn public_jwk(row: &SigningKeyRow) -> Result<Jwk, KeyError> {
    let jwk: Jwk = serde_json::from_str(&row.public_jwk).map_err(|e| KeyError::Corrupt {
        kid: row.kid.clone(),
        reason: format!("public JWK: {e}"),
    })?;
    if jwk.kid.as_deref() != Some(row.kid.as_str()) || jwk.alg.as_deref() != Some(row.alg.as_str())
    {
        return Err(KeyError::Corrupt {
            kid: row.kid.clone(),
            reason: "public JWK does not match the row's kid or alg".into(),
        });
    }
    Ok(jwk)
}

/// Parses the private key, checking it is what the row says it is, so a bad
/// row fails here, at load, rather than on every token request.
fn parse_active(row: &SigningKeyRow) -> Result<ActiveKey, KeyError> {
    let corrupt = |reason: &str| KeyError::Corrupt {
        kid: row.kid.clone(),
        reason: reason.to_owned(),
    };
    if row.alg != EDDSA {
        return Err(corrupt("unsupported algorithm"));
    }
    let signing = ed25519_dalek::SigningKey::from_pkcs8_der(&row.private_key)
        .map_err(|_| corrupt("private key is not PKCS#8 Ed25519"))?;
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes());
    if public_jwk(row)?.x.as_deref() != Some(x.as_str()) {
        return Err(corrupt("private and public key do not match"));
    }
    Ok(ActiveKey {
        kid: row.kid.clone(),
        encoding: EncodingKey::from_ed_der(&row.private_key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_name_themselves_by_thumbprint() {
        let row = generate_ed25519(1, 1_700_000_000).expect("generate");
        let active = parse_active(&row).expect("parses");
        assert_eq!(active.kid(), row.kid);
        let jwk = public_jwk(&row).expect("jwk");
        assert_eq!(jwk.kty, "OKP");
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert_eq!(thumbprint_ed25519(jwk.x.as_deref().expect("x")), row.kid);
        assert!(!format!("{row:?} {active:?}").contains(&format!("{:?}", row.private_key)));
    }

    #[test]
    fn rfc_8037_thumbprint_vector() {
        // RFC 8037 appendix A.3.
        assert_eq!(
            thumbprint_ed25519("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn a_mismatched_public_key_is_refused_at_load() {
        let mut row = generate_ed25519(1, 0).expect("generate");
        row.public_jwk = generate_ed25519(2, 0).expect("generate").public_jwk;
        assert!(matches!(parse_active(&row), Err(KeyError::Corrupt { .. })));
    }
}
