//! A URL of the product behind Roster that receives a tenant's events.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub url: String,
    pub description: String,
    /// `*` for every type, else the wanted types as `,user.created,group.updated,`.
    #[sea_orm(column_type = "Text")]
    pub event_types: String,
    pub enabled: bool,
    /// The HMAC signing secret (`whsec_…`). Kept in clear: the worker signs with it.
    pub secret: String,
    /// The secret before the last rotation, still signing until it expires.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
