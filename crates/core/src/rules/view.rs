//! What the admin UI shows of a user's rules: where they are a host, their notification
//! settings against the catalogue, and their custom attributes.

use roster_scim::schema::ROSTER_USER_URN;

use super::{Channel, Hosts, NotificationMatrix, RulesService};
use crate::Result;
use crate::directory::UserDetail;
use crate::memberships::TenantAccess;

/// One notification type of a user: its key and label, and each channel on or off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRow {
    pub key: String,
    pub label: String,
    pub cells: Vec<(Channel, bool)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserRulesView {
    /// `Paris HQ (PAR)`
    pub locations: Vec<String>,
    /// `Lobby (Paris HQ)`
    pub kiosks: Vec<String>,
    pub notifications: Vec<NotificationRow>,
    /// The tenant's custom attributes with the user's values (`name`, `value`).
    pub custom: Vec<(String, String)>,
}

impl RulesService {
    pub async fn user_view(
        &self,
        scope: &TenantAccess,
        user: &UserDetail,
    ) -> Result<UserRulesView> {
        let rules = self.rules(scope).await?;
        let hosts = Hosts::from_stored(user.hosts.as_deref());
        let settings = NotificationMatrix::from_stored(user.notifications.as_deref());
        let prefix = format!("{ROSTER_USER_URN}.");
        Ok(UserRulesView {
            locations: hosts
                .locations
                .iter()
                .filter_map(|id| rules.location(*id))
                .map(|l| format!("{} ({})", l.name, l.code))
                .collect(),
            kiosks: hosts
                .kiosks
                .iter()
                .filter_map(|id| rules.kiosk(*id))
                .map(|(l, k)| format!("{} ({})", k.name, l.name))
                .collect(),
            notifications: rules
                .catalogue
                .iter()
                .map(|t| NotificationRow {
                    key: t.key.clone(),
                    label: t.label.clone(),
                    cells: Channel::ALL
                        .into_iter()
                        .map(|c| (c, settings.is_on(&t.key, c)))
                        .collect(),
                })
                .collect(),
            custom: rules
                .attributes
                .iter()
                .map(|a| {
                    let values: Vec<&str> = user
                        .attributes
                        .iter()
                        .filter(|(path, _)| {
                            path.strip_prefix(&prefix).is_some_and(|rest| {
                                let name = rest.split(['[', '.']).next().unwrap_or_default();
                                name.eq_ignore_ascii_case(&a.name)
                            })
                        })
                        .map(|(_, value)| value.as_str())
                        .collect();
                    (a.name.clone(), values.join(", "))
                })
                .collect(),
        })
    }
}
