//! One row per SCIM request that reached a tenant, successful or not. Never holds bodies.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provisioning_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: Uuid,
    pub occurred_at: i64,
    pub request_id: String,
    pub token_id: Option<Uuid>,
    /// What was attempted, e.g. `user.create`, `group.patch`.
    pub operation: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// The HTTP status answered.
    pub status: i32,
    pub scim_type: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    pub duration_us: i64,
    /// The userName the row is about (as the request sent it, or the stored user's),
    /// for user operations; `None` for groups and requests that named no user.
    pub user_name: Option<String>,
    /// `user_name` lower-cased (Unicode), what the log's search compares.
    pub user_name_lower: Option<String>,
    /// What an accepted write should know about (a value kept from the product).
    #[sea_orm(column_type = "Text", nullable)]
    pub warning: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
