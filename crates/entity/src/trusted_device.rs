//! A browser that signed in to an account before (OWASP's "device cookie"): its attempts
//! are throttled on their own, so a stranger's failures cannot lock it out.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trusted_devices")]
pub struct Model {
    /// SHA-256 (hex) of the device cookie's secret.
    #[sea_orm(primary_key, auto_increment = false)]
    pub device: String,
    /// SHA-256 (hex) of the account key (organization and email) it signed in to.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_key: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
