//! SCIM bearer tokens: `rst_<public id>_<secret>`.
//!
//! The public id (8 random bytes, hex) finds the row; the secret (32 random bytes,
//! base64url) is checked against its argon2id hash. Only the hash is stored; the whole
//! token is shown once, when it is created.

use std::fmt;

use roster_entity::scim_token;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::admins::AdminId;
use crate::crypto;
use crate::tenants::TenantId;
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// The recognisable start of every Roster SCIM token (also what secret scanners match).
pub const TOKEN_PREFIX: &str = "rst_";
const PUBLIC_ID_LEN: usize = 16;
const SECRET_LEN: usize = 43;

/// A presented token split into its parts. Its `Debug` never shows the secret.
pub struct PresentedToken {
    public_id: String,
    secret: SecretString,
}

impl PresentedToken {
    /// Parses the token format without touching the database. Anything malformed is
    /// rejected here, before any lookup or hashing.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(TOKEN_PREFIX)?;
        let (public_id, secret) = rest.split_once('_')?;
        let public_ok = public_id.len() == PUBLIC_ID_LEN
            && public_id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let secret_ok = secret.len() == SECRET_LEN
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (public_ok && secret_ok).then(|| Self {
            public_id: public_id.to_owned(),
            secret: SecretString::from(secret.to_owned()),
        })
    }

    pub fn public_id(&self) -> &str {
        &self.public_id
    }

    pub fn secret(&self) -> &SecretString {
        &self.secret
    }
}

impl fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresentedToken({TOKEN_PREFIX}{}_***)", self.public_id)
    }
}

/// A token label: 1–100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenLabel(String);

impl TokenLabel {
    pub fn parse(raw: &str) -> Result<Self> {
        let label = raw.trim();
        if label.is_empty() {
            return Err(Error::invalid("label", "must not be empty"));
        }
        if label.chars().count() > 100 {
            return Err(Error::invalid(
                "label",
                "must be at most 100 characters long",
            ));
        }
        if label.chars().any(char::is_control) {
            return Err(Error::invalid(
                "label",
                "must not contain control characters",
            ));
        }
        Ok(Self(label.to_owned()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenId(pub Uuid);

/// What is known of a token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: TokenId,
    pub tenant_id: TenantId,
    /// `rst_<public id>`: enough to recognise the token in a list, useless to an attacker.
    pub display_prefix: String,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<scim_token::Model> for TokenInfo {
    fn from(row: scim_token::Model) -> Self {
        Self {
            id: TokenId(row.id),
            tenant_id: TenantId(row.tenant_id),
            display_prefix: format!("{TOKEN_PREFIX}{}", row.public_id),
            label: row.label,
            created_at: Timestamp::from_micros(row.created_at),
            expires_at: row.expires_at.map(Timestamp::from_micros),
            last_used_at: row.last_used_at.map(Timestamp::from_micros),
            revoked_at: row.revoked_at.map(Timestamp::from_micros),
        }
    }
}

/// A token just created: its description and the full token, to be shown once.
pub struct CreatedToken {
    pub info: TokenInfo,
    pub token: SecretString,
}

#[derive(Clone, Debug)]
pub struct TokenService {
    db: Database,
}

impl TokenService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub async fn create(
        &self,
        tenant: TenantId,
        label: TokenLabel,
        expires_at: Option<Timestamp>,
        created_by: Option<AdminId>,
    ) -> Result<CreatedToken> {
        let public_id = hex::encode(crypto::random_bytes::<8>());
        let secret = crypto::random_token::<32>();
        let token = SecretString::from(format!("{TOKEN_PREFIX}{public_id}_{secret}"));
        let secret_hash = crypto::hash_secret(SecretString::from(secret)).await?;
        let row = scim_token::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant.0),
            public_id: Set(public_id),
            secret_hash: Set(secret_hash),
            label: Set(label.0),
            created_at: Set(Timestamp::now().as_micros()),
            created_by: Set(created_by.map(|admin| admin.0)),
            expires_at: Set(expires_at.map(Timestamp::as_micros)),
            last_used_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(self.db.writer())
        .await?;
        debug_assert!(token.expose_secret().starts_with(TOKEN_PREFIX));
        Ok(CreatedToken {
            info: row.into(),
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_format_is_checked_before_any_lookup() {
        let secret = "A".repeat(SECRET_LEN);
        let good = format!("rst_0123456789abcdef_{secret}");
        let parsed = PresentedToken::parse(&good).unwrap();
        assert_eq!(parsed.public_id(), "0123456789abcdef");
        assert!(!format!("{parsed:?}").contains(&secret));
        assert!(PresentedToken::parse("rst_0123456789abcdef").is_none());
        assert!(PresentedToken::parse(&format!("rst_0123456789ABCDEF_{secret}")).is_none());
        assert!(PresentedToken::parse(&format!("xyz_0123456789abcdef_{secret}")).is_none());
        assert!(PresentedToken::parse(&format!("rst_0123456789abcdef_{secret}x")).is_none());
        let underscore_secret = format!("rst_0123456789abcdef_{}_", "A".repeat(SECRET_LEN - 1));
        assert!(PresentedToken::parse(&underscore_secret).is_some());
    }
}
