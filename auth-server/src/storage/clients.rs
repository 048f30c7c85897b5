//! The `clients` table.

use diesel::prelude::*;

use super::DbConnection;
use super::StorageError;
use super::schema::clients;

/// A registered OAuth client, as stored. Lists are space-separated text;
/// [`crate::clients::Client`] is the parsed form.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    /// The client id.
    pub id: String,
    /// Hex SHA-256 of the secret; `None` for a public client. A hash, not a
    /// secret, but never logged all the same.
    pub secret_hash: Option<String>,
    /// Grant types the client may use.
    pub grants: String,
    /// The widest scope the client may ask for.
    pub scope: String,
    /// The audience of the access tokens it gets.
    pub audience: String,
    /// Redirect URIs (for the authorization-code grant).
    pub redirect_uris: String,
    /// Registration time.
    pub created_at: i64,
}

/// Inserts a client. A taken id gives [`StorageError::Conflict`].
pub fn insert(conn: &mut DbConnection, client: &ClientRow) -> Result<(), StorageError> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)?;
    Ok(())
}

/// The scope column of every client (space-separated lists), for the
/// metadata's `scopes_supported`.
pub fn scopes(conn: &mut DbConnection) -> Result<Vec<String>, StorageError> {
    Ok(clients::table
        .select(clients::scope)
        .distinct()
        .load(conn)?)
}

/// The client with this id, if any.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ClientRow>, StorageError> {
    Ok(clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}
