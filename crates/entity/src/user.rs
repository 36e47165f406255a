//! A provisioned SCIM user: indexed columns for what clients filter on, plus the document.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// The SCIM `id` (UUIDv7, so ordering by id is creation order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_name: String,
    /// Unicode lower case of `user_name`; unique per tenant (userName is caseExact=false).
    pub user_name_lower: String,
    /// caseExact; unique per tenant when present.
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display_name_lower: Option<String>,
    pub primary_email_lower: Option<String>,
    pub active: bool,
    /// The SCIM document as JSON, without `id`, `meta` or any password.
    #[sea_orm(column_type = "Text")]
    pub doc: String,
    /// Incremented on every change; the weak ETag.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The user's notification settings (JSON: type key → enabled channels), copied
    /// from the tenant's defaults at creation; never written by the identity provider.
    #[sea_orm(column_type = "Text", nullable)]
    pub notifications: Option<String>,
    /// Where the user is a host (JSON: location and kiosk ids), from the mapping rules.
    #[sea_orm(column_type = "Text", nullable)]
    pub hosts: Option<String>,
    /// The product's own id for this user, given when the product seeded it (directory
    /// API or CSV import); unique per tenant; never written by the identity provider.
    pub product_ref: Option<String>,
    #[sea_orm(has_many)]
    pub memberships: HasMany<super::group_member::Entity>,
    #[sea_orm(has_many, via = "group_member")]
    pub groups: HasMany<super::group::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
