//! A tenant's provisioning settings; a tenant without a row has the defaults.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Off: the SCIM endpoint answers every request with 403.
    pub provisioning_enabled: bool,
    pub allow_create_users: bool,
    pub allow_update_users: bool,
    pub allow_deactivate_users: bool,
    pub allow_delete_users: bool,
    pub allow_push_groups: bool,
    /// What DELETE of a user does: `delete` or `deactivate`.
    pub delete_mode: String,
    /// What a POST for an existing userName does: `conflict` (409) or `override`.
    pub existing_user: String,
    /// Users must match a location mapping rule to be created.
    pub assign_hosts: bool,
    /// What an identity provider's deactivation (`active: false`) does: `keep` the user
    /// inactive, or `delete` it.
    pub deactivate_mode: String,
    /// "Only users in verified domains": without a verified domain nobody is created.
    pub domains_only: bool,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
