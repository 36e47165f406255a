//! A person who signs in to the admin UI: an operator (all tenants) or a tenant admin.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// As entered; shown in the UI.
    pub email: String,
    /// Lower-cased; the login key, unique.
    #[sea_orm(unique)]
    pub email_lower: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub is_operator: bool,
    /// Set for one-time passwords: the next login must choose a new password.
    pub must_change_password: bool,
    pub failed_logins: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
