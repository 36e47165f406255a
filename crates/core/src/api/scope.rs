//! What an API key may do. Every key reads (events, directory, audit); a key of scope
//! [`ApiScope::Write`] may also seed users (`POST /api/v1/users`). Keys made before
//! scopes existed, and every key made without choosing, read only: a leaked read key
//! never writes.

/// An API key's scope (`scim_tokens.api_scope`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApiScope {
    /// Events, directory and audit log: `GET` only.
    #[default]
    Read,
    /// Everything `Read` may, and seeding the product's existing users.
    Write,
}

impl ApiScope {
    /// The stored value and the form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// How the admin UI names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "Read",
            Self::Write => "Read and write users",
        }
    }

    /// A form's or command line's value; empty is `Read`.
    pub fn parse(raw: &str) -> crate::Result<Self> {
        match raw.trim() {
            "" | "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            _ => Err(crate::Error::invalid("scope", "must be read or write")),
        }
    }

    /// A stored value; anything unknown reads only (never widens a key).
    pub fn from_stored(raw: &str) -> Self {
        if raw == "write" {
            Self::Write
        } else {
            Self::Read
        }
    }

    pub fn can_write(self) -> bool {
        self == Self::Write
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_never_widen_a_key() {
        assert_eq!(ApiScope::from_stored("write"), ApiScope::Write);
        assert_eq!(ApiScope::from_stored("WRITE"), ApiScope::Read);
        assert_eq!(ApiScope::from_stored(""), ApiScope::Read);
        assert_eq!(ApiScope::parse(" write ").unwrap(), ApiScope::Write);
        assert_eq!(ApiScope::parse("").unwrap(), ApiScope::Read);
        assert!(ApiScope::parse("admin").is_err());
    }
}
