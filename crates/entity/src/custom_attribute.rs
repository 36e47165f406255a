//! A tenant-defined attribute of the Roster SCIM user extension.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_attributes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// ASCII lower case of `name`; unique per tenant (SCIM names are case-insensitive).
    pub name_lower: String,
    /// A SCIM type: `string`, `boolean`, `integer`, `decimal`, `dateTime`, `reference`.
    pub attr_type: String,
    pub multi_valued: bool,
    pub description: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
