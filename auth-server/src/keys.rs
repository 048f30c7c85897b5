//! Signing keys: making sure one is active, rotating without downtime, and
//! holding the parsed signing keys and the JWKS in memory.
//!
//! A key's life: *pending* (published in the JWKS, not signing yet, so
//! every verifier can learn it first), *active* (the newest key past its
//! `activates_at`: it signs), *published* (superseded, kept in the JWKS
//! until the tokens it signed have expired), *retired* (past `retires_at`:
//! neither used nor published).

use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use shared_claims::{Jwk, JwkSet, TrustedKeys};

use crate::domain::SigningAlg;
use crate::key_material::{self, JwsSigner, MaterialError};
use crate::storage::signing_keys::{self, SigningKeyRow};
use crate::storage::{DbConnection, StorageError};

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

impl From<MaterialError> for KeyError {
    fn from(err: MaterialError) -> Self {
        match err {
            MaterialError::Random(e) => Self::Random(e),
            MaterialError::Invalid(reason) => Self::Corrupt {
                kid: "(new)".into(),
                reason: reason.into(),
            },
        }
    }
}

/// The key tokens are signed with, parsed once, with its JOSE header
/// already encoded (it is the same for every token). `Debug` shows only the
/// kid and algorithm.
#[derive(Clone)]
pub struct ActiveKey {
    kid: String,
    alg: SigningAlg,
    signer: JwsSigner,
    header_b64: String,
}

impl ActiveKey {
    /// Key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg.algorithm()
    }

    /// The parsed private key.
    pub fn signer(&self) -> &JwsSigner {
        &self.signer
    }

    /// The base64url JOSE header of every access token this key signs:
    /// `alg`, `typ: at+jwt` (RFC 9068) and `kid`.
    pub fn header_b64(&self) -> &str {
        &self.header_b64
    }
}

impl std::fmt::Debug for ActiveKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A consistent view of the keys: the one that signs, the one that will
/// sign next, and every published public key.
#[derive(Debug, Clone)]
pub struct KeySet {
    /// The key that was signing when the set was loaded.
    pub signing: ActiveKey,
    /// The newest pending key and its `activates_at`: [`KeySet::signer_at`]
    /// switches to it at that second, without waiting for the next reload,
    /// and never a second before.
    pub next: Option<(i64, ActiveKey)>,
    /// Every published public key, newest first.
    pub jwks: JwkSet,
    /// The same keys, parsed for verifying our own tokens (introspection,
    /// session endpoints).
    pub trusted: TrustedKeys,
}

impl KeySet {
    /// The key to sign with at `now`.
    pub fn signer_at(&self, now: i64) -> &ActiveKey {
        match &self.next {
            Some((activates_at, key)) if *activates_at <= now => key,
            _ => &self.signing,
        }
    }
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

/// A freshly generated key of `alg`, signing from `activates_at`.
pub fn generate(
    alg: SigningAlg,
    generation: i64,
    now: i64,
    activates_at: i64,
) -> Result<SigningKeyRow, KeyError> {
    let key = key_material::generate(alg)?;
    let public_jwk = serde_json::to_string(&key.public_jwk).map_err(|e| KeyError::Corrupt {
        kid: key.kid.clone(),
        reason: e.to_string(),
    })?;
    Ok(SigningKeyRow {
        kid: key.kid,
        generation,
        alg: alg.as_str().to_owned(),
        private_key: key.private_der,
        public_jwk,
        created_at: now,
        activates_at,
        retires_at: None,
    })
}

/// A freshly generated Ed25519 key, signing at once.
pub fn generate_ed25519(generation: i64, now: i64) -> Result<SigningKeyRow, KeyError> {
    generate(SigningAlg::EdDSA, generation, now, now)
}

/// Whether `key` may sign at `now`.
fn is_usable(key: &SigningKeyRow, now: i64) -> bool {
    key.activates_at <= now && key.retires_at.is_none_or(|r| r > now)
}

/// The lifecycle state of a key, as `keys list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// In the JWKS, waiting for its `activates_at` to sign.
    Pending,
    /// Signs new tokens (the newest usable key).
    Active,
    /// In the JWKS for verification only: superseded, kept until the tokens
    /// it signed have expired.
    Published,
    /// Neither used nor published.
    Retired,
}

impl KeyState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
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
    /// Retirement time, Unix seconds, once a newer key has been rotated in.
    pub retires_at: Option<i64>,
    /// State at the time of listing.
    pub state: KeyState,
}

/// What `keys rotate` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotatePlan {
    /// Algorithm of the new key.
    pub alg: SigningAlg,
    /// Seconds between publishing the new key and signing with it. Must
    /// exceed how long verifiers cache the JWKS, so that none meets a token
    /// signed by a key it has not fetched yet.
    pub activation_delay: i64,
    /// Seconds the older keys stay published after the new key activates.
    /// Must exceed the longest access-token lifetime (plus the servers' key
    /// refresh interval), so every token they signed expires first.
    pub retire_after: i64,
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
    ensure_signing_key(conn, now, SigningAlg::EdDSA)
}

/// [`ensure_active_key`], generating a key of `alg` if one is needed
/// (`serve --signing-alg`: the algorithm of the first key).
pub fn ensure_signing_key(
    conn: &mut DbConnection,
    now: i64,
    alg: SigningAlg,
) -> Result<(), KeyError> {
    for _ in 0..3 {
        let existing = signing_keys::all(conn)?;
        if existing.iter().any(|k| is_usable(k, now)) {
            return Ok(());
        }
        let generation = existing.iter().map(|k| k.generation).max().unwrap_or(0) + 1;
        let key = generate(alg, generation, now, now)?;
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

/// Adds a new key, published at once and signing from `now +
/// activation_delay`, and schedules every older key's retirement for
/// `retire_after` seconds after that (an earlier retirement already
/// scheduled is kept). Both happen in one transaction. Returns the new
/// key's row. Two concurrent rotations cannot take the same generation; the
/// loser retries on top of the winner.
pub fn rotate(
    conn: &mut DbConnection,
    now: i64,
    plan: &RotatePlan,
) -> Result<SigningKeyRow, KeyError> {
    let activates_at = now.saturating_add(plan.activation_delay.max(0));
    let retires_at = activates_at.saturating_add(plan.retire_after.max(0));
    // RSA generation takes a moment: do it once, outside the retry loop.
    let mut key = generate(plan.alg, 0, now, activates_at)?;
    for _ in 0..3 {
        key.generation = signing_keys::latest_generation(conn)?.unwrap_or(0) + 1;
        match signing_keys::insert_and_retire_older(conn, &key, retires_at) {
            Ok(()) => return Ok(key),
            Err(StorageError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StorageError::Conflict.into())
}

/// Loads the published keys and parses the signing key and the next one.
pub fn load_key_set(conn: &mut DbConnection, now: i64) -> Result<KeySet, KeyError> {
    let rows = signing_keys::published(conn, now)?;
    let mut jwks = JwkSet::default();
    for row in &rows {
        jwks.keys.push(public_jwk(row)?);
    }
    // `published` is newest first: the first usable key signs, and the
    // newest pending one (if any) signs from its activation on.
    let signing_row = rows
        .iter()
        .find(|k| is_usable(k, now))
        .ok_or(KeyError::NoActiveKey)?;
    let next = match rows.first() {
        Some(row) if row.activates_at > now => Some((row.activates_at, parse_active(row)?)),
        _ => None,
    };
    let algorithms: Vec<Algorithm> = SigningAlg::ALL.iter().map(|a| a.algorithm()).collect();
    let (trusted, rejected) = TrustedKeys::from_jwks(&jwks, &algorithms);
    if let Some(rejection) = rejected.first() {
        // Our own keys, checked by parse_active: a rejection is a bug.
        return Err(KeyError::Corrupt {
            kid: rejection.kid().unwrap_or("(none)").to_owned(),
            reason: rejection.to_string(),
        });
    }
    Ok(KeySet {
        signing: parse_active(signing_row)?,
        next,
        jwks,
        trusted,
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
            } else if k.activates_at > now {
                KeyState::Pending
            } else {
                KeyState::Published
            };
            KeyInfo {
                kid: k.kid,
                alg: k.alg,
                created_at: k.created_at,
                activates_at: k.activates_at,
                retires_at: k.retires_at,
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
pub fn parse_active(row: &SigningKeyRow) -> Result<ActiveKey, KeyError> {
    let corrupt = |reason: &str| KeyError::Corrupt {
        kid: row.kid.clone(),
        reason: reason.to_owned(),
    };
    let alg: SigningAlg = row
        .alg
        .parse()
        .map_err(|_| corrupt("unsupported algorithm"))?;
    let public = public_jwk(row)?;
    if key_material::thumbprint(&public).as_deref() != Some(row.kid.as_str()) {
        return Err(corrupt("kid is not the public key's thumbprint"));
    }
    let signer =
        key_material::signer(alg, &row.private_key, &public).map_err(|e| KeyError::Corrupt {
            kid: row.kid.clone(),
            reason: e.to_string(),
        })?;
    let mut header = Header::new(alg.algorithm());
    header.typ = Some(shared_claims::ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(row.kid.clone());
    let header_json =
        serde_json::to_vec(&header).map_err(|_| corrupt("could not encode the JOSE header"))?;
    Ok(ActiveKey {
        kid: row.kid.clone(),
        alg,
        signer,
        header_b64: URL_SAFE_NO_PAD.encode(header_json),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_of_every_algorithm_parse() {
        for (alg, kty) in [
            (SigningAlg::EdDSA, "OKP"),
            (SigningAlg::ES256, "EC"),
            (SigningAlg::RS256, "RSA"),
        ] {
            let row = generate(alg, 1, 1_700_000_000, 1_700_000_000).expect("generate");
            let active = parse_active(&row).expect("parses");
            assert_eq!(active.kid(), row.kid);
            assert_eq!(active.algorithm(), alg.algorithm());
            let jwk = public_jwk(&row).expect("jwk");
            assert_eq!(jwk.kty, kty);
            assert_eq!(jwk.use_.as_deref(), Some("sig"));
            assert!(!format!("{row:?} {active:?}").contains(&format!("{:?}", row.private_key)));
        }
    }

    #[test]
    fn the_pending_key_signs_from_its_activation_second_on() {
        let old = generate(SigningAlg::EdDSA, 1, 0, 0).expect("generate");
        let new = generate(SigningAlg::ES256, 2, 0, 100).expect("generate");
        let set = KeySet {
            signing: parse_active(&old).expect("parses"),
            next: Some((100, parse_active(&new).expect("parses"))),
            jwks: JwkSet::default(),
            trusted: TrustedKeys::default(),
        };
        assert_eq!(set.signer_at(99).kid(), old.kid);
        assert_eq!(set.signer_at(100).kid(), new.kid);
    }

    #[test]
    fn a_mismatched_public_key_is_refused_at_load() {
        let mut row = generate_ed25519(1, 0).expect("generate");
        row.public_jwk = generate_ed25519(2, 0).expect("generate").public_jwk;
        assert!(matches!(parse_active(&row), Err(KeyError::Corrupt { .. })));
    }
}
