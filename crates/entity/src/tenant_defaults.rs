//! The operator's defaults for new tenants, as saved in the admin UI: at most one row
//! (`id = 1`). Without it, the configuration's defaults apply.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_defaults")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub provisioning_enabled: bool,
    pub allow_create_users: bool,
    pub allow_update_users: bool,
    pub allow_deactivate_users: bool,
    pub allow_delete_users: bool,
    pub allow_push_groups: bool,
    /// `conflict` or `override`.
    pub existing_user: String,
    /// `keep` or `delete`.
    pub deactivate_mode: String,
    pub domains_only: bool,
    pub updated_at: i64,
    /// The operator who saved them.
    pub updated_by: String,
}

impl ActiveModelBehavior for ActiveModel {}
