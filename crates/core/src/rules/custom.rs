//! Custom user attributes, served in the Roster extension
//! (`urn:ietf:params:scim:schemas:extension:roster:2.0:User`).

use roster_scim::JsonObject;
use roster_scim::schema::{
    AttrType, CustomAttribute, ROSTER_USER_URN, ResourceSchema, SchemaRegistry,
};
use serde_json::Value;
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
    pub(crate) fn to_scim(&self) -> CustomAttribute {
        let mut attr = CustomAttribute::new(self.name.clone(), self.ty);
        attr.multi_valued = self.multi_valued;
        attr.description = self.description.clone();
        attr
    }
}

/// Whether `name` is a defined attribute of the Roster extension, or Roster's own
/// notification settings (always defined).
fn is_defined(defined: &[&str], name: &str) -> bool {
    name.eq_ignore_ascii_case(SCIM_ATTRIBUTE)
        || defined.iter().any(|d| d.eq_ignore_ascii_case(name))
}

/// The names of the Roster extension's attributes the tenant defines now.
pub(crate) fn defined_names(schema: &ResourceSchema) -> Vec<&str> {
    schema
        .extension(ROSTER_USER_URN)
        .map(|ext| ext.attributes.iter().map(|a| a.name.as_str()).collect())
        .unwrap_or_default()
}

/// Keeps aside, in a user's new document, the values the old one holds for custom
/// attributes that are not defined now: a removed definition hides its values (SCIM
/// renders only defined attributes), and a PUT — which cannot carry an attribute the
/// schema does not have — must not drop them, so they come back when the definition is
/// added again. A value the new document sets itself is left as it is.
pub(crate) fn keep_undefined(schema: &ResourceSchema, old: &JsonObject, new: &mut JsonObject) {
    let Some(Value::Object(old_ext)) = old.get(ROSTER_USER_URN) else {
        return;
    };
    let defined = defined_names(schema);
    let kept: Vec<(&String, &Value)> = old_ext
        .iter()
        .filter(|(name, _)| !is_defined(&defined, name))
        .collect();
    if kept.is_empty() {
        return;
    }
    let entry = new
        .entry(ROSTER_USER_URN)
        .or_insert_with(|| Value::Object(JsonObject::new()));
    if !entry.is_object() {
        *entry = Value::Object(JsonObject::new());
    }
    if let Value::Object(new_ext) = entry {
        for (name, value) in kept {
            if !new_ext.keys().any(|k| k.eq_ignore_ascii_case(name)) {
                new_ext.insert(name.clone(), value.clone());
            }
        }
    }
}

/// Removes from a user's stored document (as JSON) the values of custom attributes
/// that `defined` (the tenant's current definitions) does not name: what the product
/// sees of a user never shows an attribute that is not defined.
pub(crate) fn hide_undefined(defined: &[&str], doc: &mut Value) {
    let Some(Value::Object(ext)) = doc.get_mut(ROSTER_USER_URN) else {
        return;
    };
    ext.retain(|name, _| is_defined(defined, name));
    if ext.is_empty()
        && let Some(object) = doc.as_object_mut()
    {
        object.remove(ROSTER_USER_URN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registry(names: &[&str]) -> SchemaRegistry {
        let attrs: Vec<CustomAttribute> = names
            .iter()
            .map(|n| CustomAttribute::new(*n, AttrType::String))
            .collect();
        SchemaRegistry::new(&attrs).unwrap()
    }

    fn doc(value: Value) -> JsonObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_put_keeps_the_values_of_undefined_attributes() {
        let registry = registry(&["site"]);
        let old = doc(json!({"userName": "a",
            ROSTER_USER_URN: {"badgeNumber": "4711", "site": "HQ"}}));
        let mut new = doc(json!({"userName": "a", ROSTER_USER_URN: {"site": "Lab"}}));
        keep_undefined(registry.user(), &old, &mut new);
        assert_eq!(
            new[ROSTER_USER_URN],
            json!({"site": "Lab", "badgeNumber": "4711"})
        );
        // Without any extension in the new document, and a defined value dropped.
        let mut bare = doc(json!({"userName": "a"}));
        keep_undefined(registry.user(), &old, &mut bare);
        assert_eq!(bare[ROSTER_USER_URN], json!({"badgeNumber": "4711"}));
    }

    #[test]
    fn undefined_values_are_hidden_from_the_product() {
        let mut value = json!({"userName": "a", ROSTER_USER_URN: {"badgeNumber": "4711"}});
        hide_undefined(&[], &mut value);
        assert_eq!(value, json!({"userName": "a"}));
        let mut value = json!({ROSTER_USER_URN: {"badgeNumber": "1", "site": "HQ"}});
        hide_undefined(&["Site"], &mut value);
        assert_eq!(value, json!({ROSTER_USER_URN: {"site": "HQ"}}));
    }
}
