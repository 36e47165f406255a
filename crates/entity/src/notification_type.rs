//! One row of a tenant's notification catalogue with its default channels.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_types")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Stable identifier, e.g. `visitor_arrived`; unique per tenant.
    pub key: String,
    pub label: String,
    /// The channels on by default, comma-separated in canonical order (`email,sms`).
    pub default_channels: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
