//! The notification catalogue (types × channels with a default per cell) and a user's
//! settings, a copy of the defaults taken when the user is provisioned.
//!
//! A user's settings are stored as JSON beside the user (`users.notifications`): type key
//! → the channels that are on. The identity provider never writes them; the admin may.

use std::collections::{BTreeMap, BTreeSet};

use roster_scim::schema::{AttrType, CustomAttribute, Mutability};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Error, Result};

/// The name of the read-only attribute of the Roster extension that shows a user's
/// notification settings.
pub const SCIM_ATTRIBUTE: &str = "notificationSettings";

/// Where a notification can be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Email,
    Sms,
    Push,
    Slack,
    Teams,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Email,
        Channel::Sms,
        Channel::Push,
        Channel::Slack,
        Channel::Teams,
    ];

    /// The stored and wire name (also the SCIM sub-attribute name).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::Slack => "slack",
            Channel::Teams => "teams",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "Email",
            Channel::Sms => "SMS",
            Channel::Push => "Push",
            Channel::Slack => "Slack",
            Channel::Teams => "Microsoft Teams",
        }
    }

    pub fn parse(raw: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

/// A notification type's key: 1–64 of `a-z`, `0-9`, `_`, `-`, starting with a letter;
/// what the product behind Roster matches on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NotificationKey(String);

impl NotificationKey {
    pub fn parse(raw: &str) -> Result<Self> {
        let key = raw.trim();
        let ok = key.len() <= 64
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(Error::invalid(
                "key",
                "must start with a lowercase letter and use only a–z, 0–9, _ and - (at most 64)",
            ));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A notification type's label, as admins and users read it: 1–100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationLabel(String);

impl NotificationLabel {
    pub fn parse(raw: &str) -> Result<Self> {
        let label = raw.trim();
        if label.is_empty() {
            return Err(Error::invalid("label", "must not be empty"));
        }
        if label.chars().count() > 100 || label.chars().any(char::is_control) {
            return Err(Error::invalid(
                "label",
                "must be at most 100 characters, without control characters",
            ));
        }
        Ok(Self(label.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One type of the catalogue and its default channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationType {
    pub id: Uuid,
    pub key: String,
    pub label: String,
    pub defaults: BTreeSet<Channel>,
}

pub(crate) fn parse_channels(raw: &str) -> BTreeSet<Channel> {
    raw.split(',')
        .filter_map(|c| Channel::parse(c.trim()))
        .collect()
}

pub(crate) fn format_channels(channels: &BTreeSet<Channel>) -> String {
    channels
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A user's settings: for each type key, the channels that are on. Serialised with
/// sorted keys and channels, so equal settings are equal strings (re-applying the
/// defaults counts what changed by comparing them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationMatrix(BTreeMap<String, BTreeSet<Channel>>);

impl NotificationMatrix {
    pub fn defaults(catalogue: &[NotificationType]) -> Self {
        Self(
            catalogue
                .iter()
                .map(|t| (t.key.clone(), t.defaults.clone()))
                .collect(),
        )
    }

    /// From what is stored; anything unreadable is no setting at all.
    pub fn from_stored(raw: Option<&str>) -> Self {
        let Some(Ok(Value::Object(map))) = raw.map(serde_json::from_str::<Value>) else {
            return Self::default();
        };
        Self(
            map.into_iter()
                .map(|(key, channels)| {
                    let set = channels
                        .as_array()
                        .map(|list| {
                            list.iter()
                                .filter_map(|c| c.as_str().and_then(Channel::parse))
                                .collect()
                        })
                        .unwrap_or_default();
                    (key, set)
                })
                .collect(),
        )
    }

    pub fn to_stored(&self) -> String {
        let map: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(key, channels)| {
                (
                    key.clone(),
                    Value::Array(
                        channels
                            .iter()
                            .map(|c| Value::String(c.as_str().to_owned()))
                            .collect(),
                    ),
                )
            })
            .collect();
        Value::Object(map).to_string()
    }

    pub fn is_on(&self, key: &str, channel: Channel) -> bool {
        self.0.get(key).is_some_and(|set| set.contains(&channel))
    }

    pub fn set(&mut self, key: &str, channels: BTreeSet<Channel>) {
        self.0.insert(key.to_owned(), channels);
    }

    /// The settings as the SCIM user shows them: one entry per type of the catalogue,
    /// a boolean per channel (types the user has no setting for are all off).
    pub fn to_scim(&self, catalogue: &[NotificationType]) -> Value {
        Value::Array(
            catalogue
                .iter()
                .map(|t| {
                    let mut entry = json!({ "type": t.key, "display": t.label });
                    for channel in Channel::ALL {
                        entry[channel.as_str()] = Value::Bool(self.is_on(&t.key, channel));
                    }
                    entry
                })
                .collect(),
        )
    }
}

/// `notificationSettings` of the Roster extension: read-only, multi-valued, complex.
pub(crate) fn scim_attribute() -> CustomAttribute {
    let mut attr = CustomAttribute::new(SCIM_ATTRIBUTE, AttrType::Complex);
    attr.multi_valued = true;
    attr.mutability = Mutability::ReadOnly;
    attr.description = "The user's notification settings in Roster (read-only): one entry per \
                        notification type, a boolean per channel. Set from the tenant's \
                        defaults when the user is provisioned; never changed by the \
                        identity provider."
        .into();
    let mut kind = CustomAttribute::new("type", AttrType::String);
    kind.mutability = Mutability::ReadOnly;
    kind.case_exact = true;
    let mut display = CustomAttribute::new("display", AttrType::String);
    display.mutability = Mutability::ReadOnly;
    attr.sub_attributes = vec![kind, display];
    for channel in Channel::ALL {
        let mut sub = CustomAttribute::new(channel.as_str(), AttrType::Boolean);
        sub.mutability = Mutability::ReadOnly;
        attr.sub_attributes.push(sub);
    }
    attr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_canonical() {
        let mut m = NotificationMatrix::default();
        m.set("b", [Channel::Sms, Channel::Email].into());
        m.set("a", BTreeSet::new());
        assert_eq!(m.to_stored(), r#"{"a":[],"b":["email","sms"]}"#);
        assert_eq!(NotificationMatrix::from_stored(Some(&m.to_stored())), m);
        assert_eq!(
            NotificationMatrix::from_stored(Some("not json")),
            NotificationMatrix::default()
        );
    }

    #[test]
    fn keys_are_checked() {
        assert!(NotificationKey::parse("visitor_arrived").is_ok());
        assert!(NotificationKey::parse("Visitor").is_err());
        assert!(NotificationKey::parse("1abc").is_err());
        assert!(NotificationKey::parse("a b").is_err());
    }
}
