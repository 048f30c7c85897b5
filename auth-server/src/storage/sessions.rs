//! A user's sessions, that is, token families: listing the live ones,
//! revoking them all, and disabling a user (which revokes them too).

use diesel::prelude::*;

use super::refresh_tokens::FamilyRow;
use super::schema::{refresh_tokens, token_families, users};
use super::users::UserRow;
use super::{DbConnection, StorageError};

/// Revocation reason: the client revoked a refresh token (RFC 7009), which
/// is how a user logs out of one session.
pub const REVOKED_BY_CLIENT: &str = "revoked";
/// Revocation reason: the user logged out everywhere.
pub const REVOKED_LOGOUT_ALL: &str = "logout_all";
/// Revocation reason: an operator disabled the user.
pub const REVOKED_USER_DISABLED: &str = "user_disabled";

/// A live session: its family and its one live refresh token's times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The family.
    pub family: FamilyRow,
    /// When the live token was issued: the login, or the last refresh.
    pub last_refresh_at: i64,
    /// When the session ends unless refreshed (idle expiry, already capped
    /// by the family's absolute lifetime).
    pub expires_at: i64,
}

/// The user's live sessions at `now`, oldest first: families neither
/// revoked nor past their absolute lifetime, with an unused, unrevoked,
/// unexpired refresh token.
pub fn active(
    conn: &mut DbConnection,
    user_id: &str,
    now: i64,
) -> Result<Vec<SessionRow>, StorageError> {
    let rows: Vec<(FamilyRow, i64, i64)> = token_families::table
        .inner_join(refresh_tokens::table)
        .filter(token_families::user_id.eq(user_id))
        .filter(token_families::revoked_at.is_null())
        .filter(token_families::absolute_expires_at.gt(now))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::revoked_at.is_null())
        .filter(refresh_tokens::expires_at.gt(now))
        .order((token_families::created_at.asc(), token_families::id.asc()))
        .select((
            FamilyRow::as_select(),
            refresh_tokens::issued_at,
            refresh_tokens::expires_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(family, last_refresh_at, expires_at)| SessionRow {
            family,
            last_refresh_at,
            expires_at,
        })
        .collect())
}

/// Revokes every unrevoked family of the user. Returns how many.
pub fn revoke_all(
    conn: &mut DbConnection,
    user_id: &str,
    reason: &str,
    now: i64,
) -> Result<usize, StorageError> {
    Ok(revoke_all_tx(conn, user_id, reason, now)?)
}

fn revoke_all_tx(
    conn: &mut DbConnection,
    user_id: &str,
    reason: &str,
    now: i64,
) -> Result<usize, diesel::result::Error> {
    diesel::update(
        token_families::table
            .filter(token_families::user_id.eq(user_id))
            .filter(token_families::revoked_at.is_null()),
    )
    .set((
        token_families::revoked_at.eq(now),
        token_families::revoked_reason.eq(reason),
    ))
    .execute(conn)
}

/// Disables the user and revokes all of their families, in one
/// transaction. Returns the user and how many families were revoked, or
/// `None` for an unknown username. Disabling a disabled user keeps the
/// first date (and revokes anything issued since, which should be nothing).
///
/// A refresh racing with this either commits first (and its family is then
/// revoked here) or finds the user disabled inside its own transaction.
pub fn disable(
    conn: &mut DbConnection,
    username: &str,
    now: i64,
) -> Result<Option<(UserRow, usize)>, StorageError> {
    let result = conn.transaction(|conn| {
        diesel::update(
            users::table
                .filter(users::username.eq(username))
                .filter(users::disabled_at.is_null()),
        )
        .set(users::disabled_at.eq(now))
        .execute(conn)?;
        let Some(user) = find_user(conn, username)? else {
            return diesel::QueryResult::Ok(None);
        };
        let revoked = revoke_all_tx(conn, &user.id, REVOKED_USER_DISABLED, now)?;
        Ok(Some((user, revoked)))
    })?;
    Ok(result)
}

/// Enables the user again. Revoked sessions stay revoked. `None` for an
/// unknown username.
pub fn enable(conn: &mut DbConnection, username: &str) -> Result<Option<UserRow>, StorageError> {
    diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::disabled_at.eq(None::<i64>))
        .execute(conn)?;
    Ok(find_user(conn, username)?)
}

fn find_user(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<UserRow>, diesel::result::Error> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}
