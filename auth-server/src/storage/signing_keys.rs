//! The `signing_keys` table. Keys live in the database so every instance
//! signs with the same key and publishes the same JWKS.

use diesel::prelude::*;

use super::schema::signing_keys;
use super::{DbConnection, StorageError};

/// A stored signing key.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    /// Key id, as in the JWT header and the JWKS.
    pub kid: String,
    /// Rotation counter, unique: inserting a generation someone else already
    /// inserted fails, which serialises rotations across instances.
    pub generation: i64,
    /// JWS algorithm (`EdDSA`).
    pub alg: String,
    /// PKCS#8 DER private key.
    pub private_key: Vec<u8>,
    /// The public key as a JWK (JSON).
    pub public_jwk: String,
    /// Creation time.
    pub created_at: i64,
    /// From this time on the key may sign (and is the signing key while it
    /// is the newest active one). Until then it is only published, so
    /// verifiers learn it before the first token it signs.
    pub activates_at: i64,
    /// From this time on the key is neither used nor published.
    pub retires_at: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("generation", &self.generation)
            .field("alg", &self.alg)
            .field("private_key", &"***")
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retires_at", &self.retires_at)
            .finish()
    }
}

/// Every key, oldest first.
pub fn all(conn: &mut DbConnection) -> Result<Vec<SigningKeyRow>, StorageError> {
    Ok(signing_keys::table
        .order(signing_keys::generation.asc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Keys not retired at `now` (the JWKS), newest first.
pub fn published(conn: &mut DbConnection, now: i64) -> Result<Vec<SigningKeyRow>, StorageError> {
    Ok(signing_keys::table
        .filter(
            signing_keys::retires_at
                .is_null()
                .or(signing_keys::retires_at.gt(now)),
        )
        .order(signing_keys::generation.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// The highest generation stored, if any key exists.
pub fn latest_generation(conn: &mut DbConnection) -> Result<Option<i64>, StorageError> {
    Ok(signing_keys::table
        .select(diesel::dsl::max(signing_keys::generation))
        .first::<Option<i64>>(conn)?)
}

/// Inserts a key. [`StorageError::Conflict`] if its generation (or kid) is
/// taken: another instance got there first.
pub fn insert(conn: &mut DbConnection, key: &SigningKeyRow) -> Result<(), StorageError> {
    diesel::insert_into(signing_keys::table)
        .values(key)
        .execute(conn)?;
    Ok(())
}

/// Inserts a rotated-in key and schedules the retirement of every older key
/// at `retires_at`, in one transaction: a key is never added without its
/// predecessors getting an end, nor the other way round. An older key
/// already due to retire earlier keeps its date. [`StorageError::Conflict`]
/// if the generation is taken.
pub fn insert_and_retire_older(
    conn: &mut DbConnection,
    key: &SigningKeyRow,
    retires_at: i64,
) -> Result<(), StorageError> {
    conn.transaction(|conn| {
        diesel::insert_into(signing_keys::table)
            .values(key)
            .execute(conn)?;
        diesel::update(
            signing_keys::table
                .filter(signing_keys::generation.lt(key.generation))
                .filter(
                    signing_keys::retires_at
                        .is_null()
                        .or(signing_keys::retires_at.gt(retires_at)),
                ),
        )
        .set(signing_keys::retires_at.eq(retires_at))
        .execute(conn)?;
        diesel::QueryResult::Ok(())
    })?;
    Ok(())
}
