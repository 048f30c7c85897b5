//! What can go wrong in the storage layer, sorted by what a caller does
//! about it: retry later, report a duplicate, or give up.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// The error type of every storage function.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database could not be reached in time (pool checkout timed out,
    /// connection refused or lost). Worth retrying; maps to 503.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A unique constraint refused the row (a taken username, a key
    /// generation another instance inserted first).
    #[error("a conflicting row already exists")]
    Conflict,
    /// Anything else: a bug, a corrupt row, a failed migration.
    #[error("unexpected database error")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StorageError {
    /// Wraps any error as [`StorageError::Unexpected`].
    pub fn unexpected(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unexpected(err.into())
    }
}

impl From<DieselError> for StorageError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Self::Conflict,
            // UnableToSendCommand: libpq could not write to a connection
            // the server or the network dropped.
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | DieselError::BrokenTransactionManager => Self::Unavailable(Box::new(err)),
            other => Self::Unexpected(Box::new(other)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StorageError {
    /// r2d2 reports only one kind of error: no connection within the
    /// checkout timeout (the database is down, or every connection is busy).
    fn from(err: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(Box::new(err))
    }
}
