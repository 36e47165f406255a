//! One throttling bucket of sign-in attempts: per account and client address, per client
//! address, per account from untrusted clients, or per trusted device (see
//! `roster_core::throttle`).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttles")]
pub struct Model {
    /// SHA-256 (hex) of what the bucket counts: no email or address stored in clear.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Attempts reserved since `window_started_at` (a successful one is given back).
    pub failures: i32,
    pub window_started_at: i64,
    pub locked_until: Option<i64>,
    /// SHA-256 (hex) of the account key the bucket belongs to, if any: what
    /// `roster admin unlock` deletes by. NULL for per-address buckets and old rows.
    pub account_key: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
