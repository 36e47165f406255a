//! A customer organisation; every other tenant-owned row points here.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL-safe identifier used in `/scim/v2/{slug}`; unique.
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// SCIM requests per second allowed per token; `None` = the server's default,
    /// `0` = unlimited.
    pub scim_rate_limit: Option<i32>,
    /// Bumped by every change to the tenant's rules (settings, domains, catalogue,
    /// locations, mapping rules, custom attributes); nodes compare it to their cache.
    pub rules_version: i64,
}

impl ActiveModelBehavior for ActiveModel {}
