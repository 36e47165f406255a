//! Provisioning settings: the on/off switch, which actions the identity provider may
//! take, what DELETE, a deactivation and a POST for an existing user do, whether only
//! users in verified domains are accepted, and whether users must match a location
//! mapping rule.

/// What DELETE of a user does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteMode {
    /// Remove the user (RFC 7644).
    Delete,
    /// Deactivate the user and keep it.
    Deactivate,
}

impl DeleteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Deactivate => "deactivate",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "delete" => Some(Self::Delete),
            "deactivate" => Some(Self::Deactivate),
            _ => None,
        }
    }
}

/// What a POST for a userName (or externalId) that an active user already has does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExistingUser {
    /// 409 `uniqueness` (RFC 7644).
    Conflict,
    /// Update the existing user with the pushed profile and answer 201 with its id.
    Override,
}

impl ExistingUser {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conflict => "conflict",
            Self::Override => "override",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "conflict" => Some(Self::Conflict),
            "override" => Some(Self::Override),
            _ => None,
        }
    }
}

/// What an identity provider's deactivation (`active: false` by PUT or PATCH) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeactivateMode {
    /// The user stays, inactive (`user.deactivated`).
    Keep,
    /// The user is deleted (`user.deleted`), as Tribeloo's "Deactivate users" does.
    Delete,
}

impl DeactivateMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Delete => "delete",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "keep" => Some(Self::Keep),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProvisioningSettings {
    pub enabled: bool,
    pub create_users: bool,
    pub update_users: bool,
    pub deactivate_users: bool,
    pub delete_users: bool,
    pub push_groups: bool,
    pub delete_mode: DeleteMode,
    pub existing_user: ExistingUser,
    /// What an identity provider's deactivation does.
    pub deactivate_mode: DeactivateMode,
    /// "Only users in verified domains": with no verified domain nobody is created, and
    /// a user who stays active must be in a verified domain.
    pub domains_only: bool,
    /// "Assign users to locations and kiosks as host": a user who matches no mapping
    /// rule is not added.
    pub assign_hosts: bool,
}

impl Default for ProvisioningSettings {
    /// What a tenant has until its admin changes something: everything allowed, RFC
    /// behaviour.
    fn default() -> Self {
        Self {
            enabled: true,
            create_users: true,
            update_users: true,
            deactivate_users: true,
            delete_users: true,
            push_groups: true,
            delete_mode: DeleteMode::Delete,
            existing_user: ExistingUser::Conflict,
            deactivate_mode: DeactivateMode::Keep,
            domains_only: false,
            assign_hosts: false,
        }
    }
}

impl ProvisioningSettings {
    /// The identity provider's actions that are turned off, by their names in the
    /// admin UI (empty when every action is allowed).
    pub fn actions_off(&self) -> Vec<&'static str> {
        [
            (self.create_users, "Create users"),
            (self.update_users, "Update users"),
            (self.deactivate_users, "Deactivate users"),
            (self.delete_users, "Delete users"),
            (self.push_groups, "Push groups"),
        ]
        .into_iter()
        .filter(|(on, _)| !on)
        .map(|(_, name)| name)
        .collect()
    }
}
