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

use sea_orm::ConnectionTrait;

use super::settings::ProvisioningSettings;
use crate::admins::Admin;
use crate::audit::{self, Actor, Change, Origin};
use crate::store::places::{self, SavedDefaults};
use crate::tenants::require_operator;
use crate::time::Timestamp;
use crate::{Database, Result};

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
        let saved = places::saved_defaults(conn, self.configured).await?;
        Ok(match saved {
            Some(SavedDefaults { settings, by, at }) => TenantDefaults {
                settings,
                source: DefaultsSource::Saved { by, at },
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
        let saved_at = self.db.clock().now();
        let txn = self.db.begin_write().await?;
        places::save_defaults(&txn, settings, saved_at, acting.email.clone()).await?;
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
        places::reset_defaults(&txn).await?;
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
