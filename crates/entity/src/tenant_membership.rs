//! Which tenants a tenant admin may manage.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub admin_id: Uuid,
    /// `admin` for now; a column so read-only roles can come without a migration.
    pub role: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
