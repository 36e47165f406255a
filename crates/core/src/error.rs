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
    /// Something that should not happen and that the person who sent the request cannot
    /// fix. The message says what was being done; use [`Error::internal`] when there is
    /// an underlying error, so that its chain reaches the log.
    #[error("internal error: {0}")]
    Internal(String),
    /// [`Error::Internal`] with the error that caused it, kept for the log.
    #[error("internal error: {context}")]
    InternalFrom {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// An internal error caused by `source`, while doing `context` ("reading the
    /// backup"); the log shows both, the client neither.
    pub fn internal(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::InternalFrom {
            context: context.into(),
            source: source.into(),
        }
    }

    /// True for the errors that are ours, not the caller's (answered 500).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Database(_) | Self::Internal(_) | Self::InternalFrom { .. }
        )
    }

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

/// An error and every cause under it, each after a colon: how errors are written to the
/// log everywhere (docs/LOGGING.md), so a cause is never lost and nothing is printed
/// with `Debug`.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
