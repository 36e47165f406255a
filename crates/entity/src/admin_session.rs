//! A signed-in browser. Stored in the database so that any node can serve any request.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_sessions")]
pub struct Model {
    /// SHA-256 (hex) of the cookie's secret: a stolen database does not yield live cookies.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub admin_id: Uuid,
    /// Per-session CSRF token, compared in constant time.
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
