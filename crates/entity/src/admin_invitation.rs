//! An invitation to become an admin of one tenant: a single-use link that expires. Only a
//! digest of the link's secret is stored; the inviter sees the link once.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// As entered by the inviter; the account's email once accepted.
    pub email: String,
    /// Lower-cased; one pending invitation per email and tenant.
    pub email_lower: String,
    /// SHA-256 (hex) of the link's secret, unique.
    pub secret_digest: String,
    /// Who invited (NULL once that account is removed).
    pub created_by: Option<Uuid>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
