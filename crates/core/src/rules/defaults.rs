//! The operator's defaults for new tenants: whether provisioning starts on, which actions
//! the identity provider may take, what a POST for an existing user and a deactivation
//! do, and "Only users in verified domains". Each vendor has one policy for all its
//! customers (Teamgo overrides existing users, Tribeloo starts with provisioning off,
//! Teamup accepts verified domains only); a new tenant starts with it.
//!
//! The configuration (`ROSTER_TENANT_…`) gives the defaults; an operator may save others
//! in the admin UI, which then win on every node (they live in the database) until the
//! operator goes back to the configuration's. A tenant copies the defaults when it is
//! created — changing them later changes no existing tenant — and its settings page
//! shows each setting as "default" or "changed" against the current defaults.

use roster_entity::tenant_defaults;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use super::settings::{DeactivateMode, ExistingUser, ProvisioningSettings};
use crate::admins::Admin;
use crate::audit::{self, Actor, Change, Origin};
use crate::tenants::require_operator;
use crate::time::Timestamp;
use crate::{Database, Result};

/// The one row's key.
const ROW: i32 = 1;

/// Where the current defaults come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefaultsSource {
    /// The configuration (`ROSTER_TENANT_…`).
    Configuration,
    /// Saved by an operator in the admin UI.
    Saved { by: String, at: Timestamp },
}

/// The defaults a new tenant starts with, and where they come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantDefaults {
    pub settings: ProvisioningSettings,
    pub source: DefaultsSource,
}

#[derive(Clone, Debug)]
pub struct TenantDefaultsService {
    db: Database,
    configured: ProvisioningSettings,
}

impl TenantDefaultsService {
    pub fn new(db: Database, configured: ProvisioningSettings) -> Self {
        Self { db, configured }
    }

    /// The configuration's defaults.
    pub fn configured(&self) -> ProvisioningSettings {
        self.configured
    }

    /// The defaults now: the operator's saved ones, or the configuration's.
    pub async fn current(&self) -> Result<TenantDefaults> {
        self.current_on(self.db.reader()).await
    }

    /// [`Self::current`], read on `conn` (a tenant's creation reads them in its own
    /// transaction).
    pub(crate) async fn current_on(&self, conn: &impl ConnectionTrait) -> Result<TenantDefaults> {
        let row = tenant_defaults::Entity::find_by_id(ROW).one(conn).await?;
        Ok(match row {
            Some(row) => TenantDefaults {
                settings: ProvisioningSettings {
                    enabled: row.provisioning_enabled,
                    create_users: row.allow_create_users,
                    update_users: row.allow_update_users,
                    deactivate_users: row.allow_deactivate_users,
                    delete_users: row.allow_delete_users,
                    push_groups: row.allow_push_groups,
                    existing_user: ExistingUser::parse(&row.existing_user)
                        .unwrap_or(self.configured.existing_user),
                    deactivate_mode: DeactivateMode::parse(&row.deactivate_mode)
                        .unwrap_or(self.configured.deactivate_mode),
                    domains_only: row.domains_only,
                    ..self.configured
                },
                source: DefaultsSource::Saved {
                    by: row.updated_by,
                    at: Timestamp::from_micros(row.updated_at),
                },
            },
            None => TenantDefaults {
                settings: self.configured,
                source: DefaultsSource::Configuration,
            },
        })
    }

    /// Saves the operator's defaults (operators only; anyone else gets `NotFound`),
    /// audited in the same transaction.
    pub async fn save(
        &self,
        acting: &Admin,
        origin: Origin,
        settings: ProvisioningSettings,
    ) -> Result<()> {
        require_operator(acting)?;
        let before = self.current().await?.settings;
        let row = tenant_defaults::ActiveModel {
            id: Set(ROW),
            provisioning_enabled: Set(settings.enabled),
            allow_create_users: Set(settings.create_users),
            allow_update_users: Set(settings.update_users),
            allow_deactivate_users: Set(settings.deactivate_users),
            allow_delete_users: Set(settings.delete_users),
            allow_push_groups: Set(settings.push_groups),
            existing_user: Set(settings.existing_user.as_str().to_owned()),
            deactivate_mode: Set(settings.deactivate_mode.as_str().to_owned()),
            domains_only: Set(settings.domains_only),
            updated_at: Set(self.db.clock().now().as_micros()),
            updated_by: Set(acting.email.clone()),
        };
        let txn = self.db.begin_write().await?;
        use tenant_defaults::Column as C;
        tenant_defaults::Entity::insert(row)
            .on_conflict(
                OnConflict::column(C::Id)
                    .update_columns([
                        C::ProvisioningEnabled,
                        C::AllowCreateUsers,
                        C::AllowUpdateUsers,
                        C::AllowDeactivateUsers,
                        C::AllowDeleteUsers,
                        C::AllowPushGroups,
                        C::ExistingUser,
                        C::DeactivateMode,
                        C::DomainsOnly,
                        C::UpdatedAt,
                        C::UpdatedBy,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        audit::record_for(
            &txn,
            self.db.clock().now(),
            None,
            &Actor::of_admin(acting),
            &origin,
            Change::new("settings.defaults")
                .target("defaults", "tenant-defaults", "Defaults for new tenants")
                .before(before.defaults_json())
                .after(settings.defaults_json()),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Goes back to the configuration's defaults (operators only).
    pub async fn reset(&self, acting: &Admin, origin: Origin) -> Result<()> {
        require_operator(acting)?;
        let before = self.current().await?.settings;
        let txn = self.db.begin_write().await?;
        tenant_defaults::Entity::delete_by_id(ROW)
            .exec(&txn)
            .await?;
        audit::record_for(
            &txn,
            self.db.clock().now(),
            None,
            &Actor::of_admin(acting),
            &origin,
            Change::new("settings.defaults_reset")
                .target("defaults", "tenant-defaults", "Defaults for new tenants")
                .before(before.defaults_json())
                .after(self.configured.defaults_json()),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

impl ProvisioningSettings {
    /// The settings as the audit log shows them before and after a change.
    pub(crate) fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "enabled": self.enabled,
            "create_users": self.create_users,
            "update_users": self.update_users,
            "deactivate_users": self.deactivate_users,
            "delete_users": self.delete_users,
            "push_groups": self.push_groups,
            "delete_mode": self.delete_mode.as_str(),
            "existing_user": self.existing_user.as_str(),
            "deactivate_mode": self.deactivate_mode.as_str(),
            "domains_only": self.domains_only,
            "assign_hosts": self.assign_hosts,
        })
    }

    /// The part of the settings an operator sets for new tenants, as the audit log shows
    /// it.
    fn defaults_json(&self) -> serde_json::Value {
        serde_json::json!({
            "enabled": self.enabled,
            "create_users": self.create_users,
            "update_users": self.update_users,
            "deactivate_users": self.deactivate_users,
            "delete_users": self.delete_users,
            "push_groups": self.push_groups,
            "existing_user": self.existing_user.as_str(),
            "deactivate_mode": self.deactivate_mode.as_str(),
            "domains_only": self.domains_only,
        })
    }
}
