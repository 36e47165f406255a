//! A setup link: whoever holds it may, until it expires or is revoked, do the few things
//! it names in one tenant (SCIM tokens, the IdP guide and connection check, the log,
//! users) without an account. Only a digest of its secret is stored.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "setup_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub label: String,
    /// SHA-256 (hex) of the link's secret, unique.
    pub secret_digest: String,
    /// Comma-separated abilities: `tokens`, `guide`, `log`, `users`.
    pub abilities: String,
    /// Who created it (NULL once that account is removed).
    pub created_by: Option<Uuid>,
    pub created_by_name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// How many sessions the link has opened.
    pub uses: i64,
}

impl ActiveModelBehavior for ActiveModel {}
