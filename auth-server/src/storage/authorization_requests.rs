//! The `authorization_requests` table: validated authorization requests
//! waiting for the user to log in.
//!
//! Why the database and not process memory or a signed blob: the login form
//! may be posted to any instance behind a load balancer, and a row can be
//! consumed exactly once (one conditional `DELETE`), so a captured form
//! cannot be replayed into a second code. Only the hash of the CSRF token is
//! stored.

use diesel::prelude::*;

use super::schema::authorization_requests;
use super::{DbConnection, StorageError};

/// A pending authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_requests)]
pub struct PendingRequestRow {
    /// Random id, carried by the login form.
    pub id: String,
    /// Hex SHA-256 of the login form's CSRF token.
    pub csrf_hash: String,
    /// The client.
    pub client_id: String,
    /// The redirect URI in effect.
    pub redirect_uri: String,
    /// Whether the request named the redirect URI.
    pub redirect_uri_sent: bool,
    /// The scope to grant.
    pub scope: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// PKCE `S256` challenge.
    pub code_challenge: String,
    /// When the request was validated.
    pub created_at: i64,
    /// The login must happen before this.
    pub expires_at: i64,
}

/// Stores a pending request, and clears out requests that expired (nobody
/// logged in), so the table stays small without a background job.
pub fn insert(conn: &mut DbConnection, row: &PendingRequestRow) -> Result<(), StorageError> {
    diesel::delete(
        authorization_requests::table.filter(authorization_requests::expires_at.le(row.created_at)),
    )
    .execute(conn)?;
    diesel::insert_into(authorization_requests::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The pending request with this id, unless it expired.
pub fn find_live(
    conn: &mut DbConnection,
    id: &str,
    now: i64,
) -> Result<Option<PendingRequestRow>, StorageError> {
    Ok(authorization_requests::table
        .find(id)
        .filter(authorization_requests::expires_at.gt(now))
        .select(PendingRequestRow::as_select())
        .first(conn)
        .optional()?)
}

/// Consumes the pending request: `true` for exactly one caller, however
/// many instances post the same form at once.
pub fn take(conn: &mut DbConnection, id: &str, now: i64) -> Result<bool, StorageError> {
    let deleted = diesel::delete(
        authorization_requests::table
            .filter(authorization_requests::id.eq(id))
            .filter(authorization_requests::expires_at.gt(now)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}
