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
