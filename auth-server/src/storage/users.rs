//! The `users` table.

use diesel::prelude::*;

use super::DbConnection;
use super::StorageError;
use super::schema::users;

/// A stored user.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Stable id (uuid); the access token's `sub`.
    pub id: String,
    /// Login name, unique.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// When the user was disabled; a disabled user cannot log in or refresh.
    pub disabled_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"***")
            .field("disabled_at", &self.disabled_at)
            .finish()
    }
}

impl UserRow {
    /// Whether the user may log in at `now`.
    pub fn is_enabled(&self, now: i64) -> bool {
        self.disabled_at.is_none_or(|t| t > now)
    }
}

/// Creates a user with a new random id. A taken username gives
/// [`StorageError::Conflict`].
pub fn create(
    conn: &mut DbConnection,
    username: &str,
    password_hash: String,
    now: i64,
) -> Result<UserRow, StorageError> {
    let user = UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.to_owned(),
        password_hash,
        disabled_at: None,
        created_at: now,
    };
    insert(conn, &user)?;
    Ok(user)
}

/// Inserts a user. A taken username gives [`StorageError::Conflict`].
pub fn insert(conn: &mut DbConnection, user: &UserRow) -> Result<(), StorageError> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)?;
    Ok(())
}

/// The user with this username, if any.
pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<UserRow>, StorageError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user with this id, if any.
pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<Option<UserRow>, StorageError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inside the caller's transaction: whether the user may start a new
/// session (is not disabled), holding the user's row until the transaction
/// ends so a concurrent `users disable` cannot slip in between this check
/// and the caller's insert.
///
/// It is a no-op `UPDATE` (not a plain `SELECT`) on purpose, the same on
/// both backends:
/// - PostgreSQL (read committed): the update takes the row lock. If a
///   disable has updated the row but not committed, this waits for it and
///   then re-checks the condition on the committed row, so it sees the
///   disable. If this locks first, the disable waits for the caller's
///   commit, and its revocation (a later statement, hence a later snapshot)
///   sees the caller's new family and revokes it.
/// - SQLite: as the transaction's first statement, a write takes the
///   database write lock at once (a read would pin a snapshot that a
///   concurrent disable could make stale).
///
/// Any `disabled_at` counts, even one later than `now`: disabling always
/// stamps the disabling process's clock, which may run a second ahead of
/// ours.
pub(super) fn lock_if_enabled(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<bool, diesel::result::Error> {
    let locked = diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::disabled_at.is_null()),
    )
    .set(users::disabled_at.eq(users::disabled_at))
    .execute(conn)?;
    Ok(locked == 1)
}
