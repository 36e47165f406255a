//! Typed, borrowing accessors for what the server indexes.

use serde_json::Value;

use crate::value::{JsonObject, get_ci};

fn str_at<'a>(doc: &'a JsonObject, key: &str) -> Option<&'a str> {
    get_ci(doc, key).and_then(Value::as_str)
}

/// One `emails` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Email<'a> {
    /// The address.
    pub value: &'a str,
    /// `work`, `home`, `other`…
    pub kind: Option<&'a str>,
    /// Whether it is marked primary.
    pub primary: bool,
}

/// Accessors over a normalised User document (or a rendered User resource).
#[derive(Debug, Clone, Copy)]
pub struct UserView<'a> {
    doc: &'a JsonObject,
}

impl<'a> UserView<'a> {
    /// Wraps a document.
    pub fn new(doc: &'a JsonObject) -> Self {
        Self { doc }
    }
    /// `userName`.
    pub fn user_name(&self) -> Option<&'a str> {
        str_at(self.doc, "userName")
    }
    /// `externalId`.
    pub fn external_id(&self) -> Option<&'a str> {
        str_at(self.doc, "externalId")
    }
    /// `displayName`.
    pub fn display_name(&self) -> Option<&'a str> {
        str_at(self.doc, "displayName")
    }
    /// `active` as sent; `None` when absent.
    pub fn active(&self) -> Option<bool> {
        get_ci(self.doc, "active").and_then(Value::as_bool)
    }
    /// `name.givenName`.
    pub fn given_name(&self) -> Option<&'a str> {
        self.name_part("givenName")
    }
    /// `name.familyName`.
    pub fn family_name(&self) -> Option<&'a str> {
        self.name_part("familyName")
    }
    fn name_part(&self, part: &str) -> Option<&'a str> {
        get_ci(self.doc, "name")
            .and_then(Value::as_object)
            .and_then(|n| str_at(n, part))
    }
    /// Every email with a string `value`, in document order.
    pub fn emails(&self) -> impl Iterator<Item = Email<'a>> + 'a {
        get_ci(self.doc, "emails")
            .and_then(Value::as_array)
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let o = e.as_object()?;
                Some(Email {
                    value: str_at(o, "value")?,
                    kind: str_at(o, "type"),
                    primary: get_ci(o, "primary").and_then(Value::as_bool) == Some(true),
                })
            })
    }
    /// The primary email: the one marked `primary: true`, else the first.
    pub fn primary_email(&self) -> Option<&'a str> {
        self.emails()
            .find(|e| e.primary)
            .or_else(|| self.emails().next())
            .map(|e| e.value)
    }
    /// An extension's object, by URN.
    pub fn extension(&self, urn: &str) -> Option<&'a JsonObject> {
        get_ci(self.doc, urn).and_then(Value::as_object)
    }
    /// The Enterprise extension's `manager.value`.
    pub fn manager_id(&self) -> Option<&'a str> {
        self.extension(crate::schema::ENTERPRISE_USER_URN)
            .and_then(|e| get_ci(e, "manager"))
            .and_then(Value::as_object)
            .and_then(|m| str_at(m, "value"))
    }
}

/// Accessors over a normalised Group document.
#[derive(Debug, Clone, Copy)]
pub struct GroupView<'a> {
    doc: &'a JsonObject,
}

impl<'a> GroupView<'a> {
    /// Wraps a document.
    pub fn new(doc: &'a JsonObject) -> Self {
        Self { doc }
    }
    /// `displayName`.
    pub fn display_name(&self) -> Option<&'a str> {
        str_at(self.doc, "displayName")
    }
    /// `externalId`.
    pub fn external_id(&self) -> Option<&'a str> {
        str_at(self.doc, "externalId")
    }
}
