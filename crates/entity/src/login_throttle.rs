//! Failed sign-in attempts for one login name (known or not), for lockout.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttles")]
pub struct Model {
    /// SHA-256 (hex) of the lower-cased email: no email address stored in clear.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Failures since `window_started_at`.
    pub failures: i32,
    pub window_started_at: i64,
    pub locked_until: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
