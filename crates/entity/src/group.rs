//! A SCIM group. Its members are rows of `group_members`, never part of `doc`.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub display_name: String,
    /// Unique per tenant.
    pub display_name_lower: String,
    pub external_id: Option<String>,
    /// The SCIM document as JSON, without `id`, `meta` or `members`.
    #[sea_orm(column_type = "Text")]
    pub doc: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    #[sea_orm(has_many)]
    pub members: HasMany<super::group_member::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
