//! `ROSTER_TENANT_…`: the operator's defaults for new tenants, from the configuration.

use roster_core::rules::{DeactivateMode, ExistingUser, ProvisioningSettings};

use super::{Config, ConfigError};

/// The identity provider's actions, as `ROSTER_TENANT_ALLOWED_ACTIONS` names them.
pub(super) const ALL_ACTIONS: [&str; 5] = ["create", "update", "deactivate", "delete", "groups"];

impl Config {
    /// `ROSTER_TENANT_…`: the settings a new tenant starts with (until an operator saves
    /// others in the admin UI).
    pub fn tenant_defaults(&self) -> Result<ProvisioningSettings, ConfigError> {
        let mut actions: Vec<&str> = Vec::new();
        for raw in self.tenant_allowed_actions.split([',', ' ']) {
            let action = raw.trim();
            if action.is_empty() {
                continue;
            }
            if !ALL_ACTIONS.contains(&action) {
                return Err(ConfigError(format!(
                    "ROSTER_TENANT_ALLOWED_ACTIONS: \"{action}\" is not an action (use {})",
                    ALL_ACTIONS.join(", ")
                )));
            }
            actions.push(action);
        }
        let existing_user =
            ExistingUser::parse(self.tenant_existing_user.trim()).ok_or_else(|| {
                ConfigError(format!(
                    "ROSTER_TENANT_EXISTING_USER \"{}\" must be conflict or override",
                    self.tenant_existing_user
                ))
            })?;
        let deactivate_mode =
            DeactivateMode::parse(self.tenant_deactivation.trim()).ok_or_else(|| {
                ConfigError(format!(
                    "ROSTER_TENANT_DEACTIVATION \"{}\" must be keep or delete",
                    self.tenant_deactivation
                ))
            })?;
        Ok(ProvisioningSettings {
            enabled: self.tenant_provisioning_enabled,
            create_users: actions.contains(&"create"),
            update_users: actions.contains(&"update"),
            deactivate_users: actions.contains(&"deactivate"),
            delete_users: actions.contains(&"delete"),
            push_groups: actions.contains(&"groups"),
            existing_user,
            deactivate_mode,
            domains_only: self.tenant_domains_only,
            ..ProvisioningSettings::default()
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tenant_defaults_are_checked_and_named_in_errors() {
        let mut config = Config::default();
        assert_eq!(
            config.tenant_defaults().unwrap(),
            ProvisioningSettings::default()
        );
        config.tenant_provisioning_enabled = false;
        config.tenant_allowed_actions = "create, update,deactivate".into();
        config.tenant_existing_user = "override".into();
        config.tenant_deactivation = "delete".into();
        config.tenant_domains_only = true;
        let defaults = config.tenant_defaults().unwrap();
        assert!(!defaults.enabled && defaults.create_users && defaults.deactivate_users);
        assert!(!defaults.delete_users && !defaults.push_groups && defaults.domains_only);
        assert_eq!(defaults.existing_user, ExistingUser::Override);
        assert_eq!(defaults.deactivate_mode, DeactivateMode::Delete);
        config.tenant_allowed_actions = "create,fly".into();
        let err = config.check().unwrap_err().to_string();
        assert!(err.starts_with("ROSTER_TENANT_ALLOWED_ACTIONS"), "{err}");
        assert!(err.contains("\"fly\""), "{err}");
        config.tenant_allowed_actions = String::new();
        assert!(!config.tenant_defaults().unwrap().create_users);
        config.tenant_deactivation = "archive".into();
        let err = config.check().unwrap_err().to_string();
        assert!(err.starts_with("ROSTER_TENANT_DEACTIVATION"), "{err}");
    }
}
