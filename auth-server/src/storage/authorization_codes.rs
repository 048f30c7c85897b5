//! The `authorization_codes` table: issuing a code and redeeming it exactly
//! once. Rows hold the code's SHA-256, never the code.

use diesel::prelude::*;

use super::refresh_tokens::{self, FamilyRow};
use super::schema::{authorization_codes, users};
use super::{DbConnection, StorageError};

/// The reason recorded on a family revoked because its code was redeemed
/// twice (RFC 6749 §4.1.2).
pub const REVOKED_FOR_CODE_REUSE: &str = "code_reuse";

/// Used codes are kept this long past their expiry, so that a late replay
/// still finds the row and revokes what the code issued; then they go.
const KEEP_AFTER_EXPIRY_SECS: i64 = 24 * 60 * 60;

/// An authorization code and what it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct CodeRow {
    /// Hex SHA-256 of the code.
    pub code_hash: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who logged in.
    pub user_id: String,
    /// The redirect URI it was sent to.
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI.
    pub redirect_uri_sent: bool,
    /// The scope granted.
    pub scope: String,
    /// PKCE `S256` challenge.
    pub code_challenge: String,
    /// Issue time.
    pub created_at: i64,
    /// Not redeemable at or after this time.
    pub expires_at: i64,
    /// When it was redeemed (or a redemption was attempted).
    pub used_at: Option<i64>,
    /// The refresh-token family issued from it, if any.
    pub family_id: Option<String>,
}

/// Stores a new code, and deletes codes long past their expiry.
pub fn insert(conn: &mut DbConnection, row: &CodeRow) -> Result<(), StorageError> {
    diesel::delete(authorization_codes::table.filter(
        authorization_codes::expires_at.lt(row.created_at.saturating_sub(KEEP_AFTER_EXPIRY_SECS)),
    ))
    .execute(conn)?;
    diesel::insert_into(authorization_codes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The code with this hash (tests and diagnostics).
pub fn find(conn: &mut DbConnection, code_hash: &str) -> Result<Option<CodeRow>, StorageError> {
    Ok(authorization_codes::table
        .find(code_hash)
        .select(CodeRow::as_select())
        .first(conn)
        .optional()?)
}

/// A refresh-token family to start from a redeemed code.
#[derive(Debug, Clone)]
pub struct NewFamily {
    /// The family (its `absolute_expires_at` set).
    pub family: FamilyRow,
    /// Hash of its first refresh token.
    pub token_hash: String,
    /// That token's idle lifetime, seconds.
    pub idle_ttl: i64,
}

/// What became of a redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption<R> {
    /// The code is used up now, the caller's checks passed, and the family
    /// (if the caller asked for one) is stored and linked to the code.
    Redeemed(CodeRow),
    /// The code is used up now, but the caller's checks refused the request
    /// (wrong client, redirect URI or verifier): a code gets one attempt.
    Refused(R),
    /// No such code.
    Unknown,
    /// Unused, but too old.
    Expired,
    /// The user behind the code is disabled (the code is used up).
    UserDisabled,
    /// The code had been redeemed before: the family issued from it, if
    /// any, is now revoked.
    Reused {
        /// The revoked family (safe to log).
        family_id: Option<String>,
    },
}

/// Redeems a code exactly once.
///
/// One transaction: a conditional `UPDATE ... SET used_at = now WHERE
/// code_hash = ? AND used_at IS NULL AND expires_at > now` claims the code
/// (of concurrent redemptions, in any number of processes, exactly one
/// matches a row; the row lock on PostgreSQL, the write lock on SQLite,
/// holds the others until this one commits). Then `admit` checks the
/// request against the row and returns the family to start, which is
/// stored and linked to the code in the same transaction, so a replay
/// always finds the family it must revoke.
pub fn redeem<R>(
    conn: &mut DbConnection,
    code_hash: &str,
    now: i64,
    admit: impl FnOnce(&CodeRow) -> Result<Option<NewFamily>, R>,
) -> Result<Redemption<R>, StorageError> {
    conn.transaction::<_, StorageError, _>(|conn| {
        let claimed = diesel::update(
            authorization_codes::table
                .filter(authorization_codes::code_hash.eq(code_hash))
                .filter(authorization_codes::used_at.is_null())
                .filter(authorization_codes::expires_at.gt(now)),
        )
        .set(authorization_codes::used_at.eq(now))
        .execute(conn)?;
        let row: Option<CodeRow> = authorization_codes::table
            .find(code_hash)
            .select(CodeRow::as_select())
            .first(conn)
            .optional()?;
        let Some(row) = row else {
            return Ok(Redemption::Unknown);
        };
        if claimed == 0 {
            if row.used_at.is_none() {
                return Ok(Redemption::Expired);
            }
            if let Some(family_id) = &row.family_id {
                refresh_tokens::revoke_family(conn, family_id, REVOKED_FOR_CODE_REUSE, now)?;
            }
            return Ok(Redemption::Reused {
                family_id: row.family_id,
            });
        }
        let disabled_at = users::table
            .find(&row.user_id)
            .select(users::disabled_at)
            .first::<Option<i64>>(conn)
            .optional()?;
        // A deleted user takes the code with it (ON DELETE CASCADE); only
        // `disabled_at` needs checking.
        if matches!(disabled_at, Some(Some(at)) if at <= now) {
            return Ok(Redemption::UserDisabled);
        }
        let new_family = match admit(&row) {
            Ok(family) => family,
            Err(refusal) => return Ok(Redemption::Refused(refusal)),
        };
        let mut row = row;
        if let Some(new) = new_family {
            // start_family re-checks the user under a row lock, closing the
            // race with a concurrent `users disable`.
            let started =
                refresh_tokens::start_family(conn, &new.family, &new.token_hash, new.idle_ttl)?;
            if matches!(started, refresh_tokens::FamilyStart::UserDisabled) {
                return Ok(Redemption::UserDisabled);
            }
            diesel::update(authorization_codes::table.find(code_hash))
                .set(authorization_codes::family_id.eq(&new.family.id))
                .execute(conn)?;
            row.family_id = Some(new.family.id);
        }
        Ok(Redemption::Redeemed(row))
    })
}
