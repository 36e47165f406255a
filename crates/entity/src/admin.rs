//! A person who signs in to the admin UI: an operator (all tenants) or the admin of one
//! tenant. An account is identified by its scope and its email: `(tenant_id, email_lower)`
//! for a tenant's admin, `email_lower` among operators (`tenant_id` NULL). One person who
//! administers two tenants has two accounts.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant a tenant admin's account belongs to; NULL for operators (and for
    /// accounts an older release created during a rolling upgrade, which cannot sign in).
    pub tenant_id: Option<Uuid>,
    /// As entered; shown in the UI.
    pub email: String,
    /// Lower-cased; unique within the account's scope (its tenant, or the operators).
    pub email_lower: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub is_operator: bool,
    /// Set for one-time passwords: the next login must choose a new password.
    pub must_change_password: bool,
    /// When the current password is a one-time password: when it stops working.
    pub password_expires_at: Option<i64>,
    /// Unused since `login_throttles` (kept for releases that still read it).
    pub failed_logins: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
