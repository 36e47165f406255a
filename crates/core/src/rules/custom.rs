//! Custom user attributes, served in the Roster extension
//! (`urn:ietf:params:scim:schemas:extension:roster:2.0:User`).

use roster_entity::custom_attribute;
use roster_scim::schema::{AttrType, CustomAttribute, SchemaRegistry};
use uuid::Uuid;

use super::notifications::SCIM_ATTRIBUTE;
use crate::{Error, Result};

/// A custom attribute's name: what SCIM allows (a letter, then letters, digits, `-`,
/// `_`; at most 64), not a filter keyword, not Roster's own `notificationSettings`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeName(String);

impl AttributeName {
    pub fn parse(raw: &str) -> Result<Self> {
        let name = raw.trim();
        // The engine's own check decides, so a name accepted here always builds a schema.
        if SchemaRegistry::new(&[CustomAttribute::new(name, AttrType::String)]).is_err() {
            return Err(Error::invalid(
                "name",
                "must start with a letter and use only letters, digits, - and _ (at most 64), \
                 and not be \"and\", \"or\" or \"not\"",
            ));
        }
        if name.eq_ignore_ascii_case(SCIM_ATTRIBUTE) {
            return Err(Error::invalid(
                "name",
                "is Roster's own attribute for notification settings",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The types a custom attribute may have (complex and binary are not offered: Okta's
/// Profile Editor maps scalar fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeType(AttrType);

impl AttributeType {
    pub const CHOICES: [AttrType; 6] = [
        AttrType::String,
        AttrType::Boolean,
        AttrType::Integer,
        AttrType::Decimal,
        AttrType::DateTime,
        AttrType::Reference,
    ];

    pub fn parse(raw: &str) -> Result<Self> {
        Self::CHOICES
            .into_iter()
            .find(|t| t.as_str() == raw)
            .map(Self)
            .ok_or_else(|| Error::invalid("type", "must be one of the listed types"))
    }

    pub fn get(self) -> AttrType {
        self.0
    }
}

/// A custom attribute to add.
#[derive(Clone, Debug)]
pub struct NewAttribute {
    pub name: AttributeName,
    pub ty: AttributeType,
    pub multi_valued: bool,
    /// At most 500 characters; may be empty.
    pub description: String,
}

impl NewAttribute {
    pub fn parse_description(raw: &str) -> Result<String> {
        let text = raw.trim();
        if text.chars().count() > 500 || text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid(
                "description",
                "must be at most 500 characters, without control characters",
            ));
        }
        Ok(text.to_owned())
    }
}

/// A stored definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomAttributeDef {
    pub id: Uuid,
    pub name: String,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub description: String,
}

impl CustomAttributeDef {
    /// `None` for a row whose type is not one Roster offers (a hand-edited row): it is
    /// left out of the schema rather than failing every request of the tenant.
    pub(crate) fn from_row(row: custom_attribute::Model) -> Option<Self> {
        let ty = AttributeType::parse(&row.attr_type).ok()?.get();
        Some(Self {
            id: row.id,
            name: row.name,
            ty,
            multi_valued: row.multi_valued,
            description: row.description,
        })
    }

    pub(crate) fn to_scim(&self) -> CustomAttribute {
        let mut attr = CustomAttribute::new(self.name.clone(), self.ty);
        attr.multi_valued = self.multi_valued;
        attr.description = self.description.clone();
        attr
    }
}
