//! The admin audit trail as stored.
