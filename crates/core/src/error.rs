//! The error type shared by the services. Each surface (SCIM, admin UI, CLI) maps it to
//! its own presentation; the cause chain goes to the log once, where it is handled.

use sea_orm::{DbErr, SqlErr};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not satisfy a rule; `field` names the input, `message` is a
    /// sentence meant for the person who sent it.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The node is at its bound for password hashing (see [`crate::hashing`]): answer
    /// at once that the client should try again shortly, rather than queue without end.
    #[error("too busy to check a password now; try again in a few seconds")]
    Busy,
    #[error("database error")]
    Database(#[source] DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        Self::Database(err)
    }
}

/// True when the database refused a write because of a unique index.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// A row refers to one that is gone (e.g. a member whose user was deleted meanwhile).
pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}
