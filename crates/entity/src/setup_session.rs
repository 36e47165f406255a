//! A browser session opened with a setup link. `id` is the SHA-256 (hex) of the cookie's
//! secret; the session ends with its link (revocation, expiry) at the latest.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "setup_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub link_id: Uuid,
    pub tenant_id: Uuid,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
