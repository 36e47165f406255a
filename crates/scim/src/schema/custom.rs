//! Per-tenant custom attributes: plain run-time data the server builds from
//! its database rows and hands to [`SchemaRegistry::new`](super::SchemaRegistry::new).

use serde::{Deserialize, Serialize};

use super::{AttrType, AttributeDef, Mutability, Returned, Uniqueness};
use crate::error::ScimError;

/// Longest attribute name accepted; keeps paths and SQL identifiers sane.
const MAX_NAME_LEN: usize = 64;

/// A tenant-defined attribute of the `urn:ietf:params:scim:schemas:extension:roster:2.0:User`
/// extension. Every field maps one-to-one onto an RFC 7643 §7 characteristic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomAttribute {
    /// Attribute name: a letter, then letters, digits, `-` or `_`.
    pub name: String,
    /// Data type; `complex` needs `sub_attributes`, and those may not be complex.
    #[serde(rename = "type")]
    pub ty: AttrType,
    /// Whether the value is an array.
    #[serde(default)]
    pub multi_valued: bool,
    /// Human-readable description for `/Schemas`.
    #[serde(default)]
    pub description: String,
    /// Whether a value must be present on create and replace.
    #[serde(default)]
    pub required: bool,
    /// Whether string comparisons are case-sensitive.
    #[serde(default)]
    pub case_exact: bool,
    /// When the attribute may be written.
    #[serde(default = "default_mutability")]
    pub mutability: Mutability,
    /// When the attribute is returned.
    #[serde(default = "default_returned")]
    pub returned: Returned,
    /// Advertised uniqueness (enforcing it is the store's job).
    #[serde(default = "default_uniqueness")]
    pub uniqueness: Uniqueness,
    /// Allowed values for strings; when non-empty, other values are rejected
    /// with `invalidValue` and accepted ones are stored in canonical spelling.
    #[serde(default)]
    pub canonical_values: Vec<String>,
    /// Sub-attributes of a `complex` attribute.
    #[serde(default)]
    pub sub_attributes: Vec<CustomAttribute>,
}

fn default_mutability() -> Mutability {
    Mutability::ReadWrite
}
fn default_returned() -> Returned {
    Returned::Default
}
fn default_uniqueness() -> Uniqueness {
    Uniqueness::None
}

impl CustomAttribute {
    /// A single-valued, optional, readWrite attribute of type `ty`.
    pub fn new(name: impl Into<String>, ty: AttrType) -> Self {
        Self {
            name: name.into(),
            ty,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// Checks the definition and turns it into an [`AttributeDef`].
    pub(crate) fn to_def(&self, nested: bool) -> Result<AttributeDef, ScimError> {
        check_name(&self.name)?;
        if self.ty == AttrType::Complex {
            if nested {
                return Err(ScimError::invalid_value(format!(
                    "custom attribute {:?}: a sub-attribute cannot be complex",
                    self.name
                )));
            }
            if self.sub_attributes.is_empty() {
                return Err(ScimError::invalid_value(format!(
                    "custom attribute {:?}: a complex attribute needs sub-attributes",
                    self.name
                )));
            }
        } else if !self.sub_attributes.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "custom attribute {:?}: only complex attributes have sub-attributes",
                self.name
            )));
        }
        if !self.canonical_values.is_empty() && self.ty != AttrType::String {
            return Err(ScimError::invalid_value(format!(
                "custom attribute {:?}: canonical values need type string",
                self.name
            )));
        }
        let mut subs = Vec::with_capacity(self.sub_attributes.len());
        for sub in &self.sub_attributes {
            if subs
                .iter()
                .any(|d: &AttributeDef| d.name.eq_ignore_ascii_case(&sub.name))
            {
                return Err(ScimError::invalid_value(format!(
                    "custom attribute {:?}: duplicate sub-attribute {:?}",
                    self.name, sub.name
                )));
            }
            subs.push(sub.to_def(true)?);
        }
        Ok(AttributeDef {
            name: self.name.clone(),
            ty: self.ty,
            multi_valued: self.multi_valued,
            description: self.description.clone(),
            required: self.required,
            case_exact: self.case_exact,
            mutability: self.mutability,
            returned: self.returned,
            uniqueness: self.uniqueness,
            canonical_values: self.canonical_values.clone(),
            reference_types: if self.ty == AttrType::Reference {
                vec!["external".into()]
            } else {
                Vec::new()
            },
            sub_attributes: subs,
            enforce_canonical: !self.canonical_values.is_empty(),
        })
    }
}

/// RFC 7644 §3.10 ATTRNAME: ALPHA *(ALPHA / DIGIT / "-" / "_").
fn check_name(name: &str) -> Result<(), ScimError> {
    let mut chars = name.chars();
    let ok_first = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let ok_rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    // Filter keywords as attribute names would make `not (…)` ambiguous.
    let reserved = ["and", "or", "not"]
        .iter()
        .any(|k| name.eq_ignore_ascii_case(k));
    if !ok_first || !ok_rest || name.len() > MAX_NAME_LEN || reserved {
        return Err(ScimError::invalid_value(format!(
            "custom attribute name {name:?} must start with a letter, continue with letters, \
             digits, '-' or '_', be at most {MAX_NAME_LEN} characters, and not be \
             \"and\", \"or\" or \"not\""
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_names_and_shapes() {
        assert!(
            CustomAttribute::new("1abc", AttrType::String)
                .to_def(false)
                .is_err()
        );
        assert!(
            CustomAttribute::new("NOT", AttrType::String)
                .to_def(false)
                .is_err()
        );
        assert!(
            CustomAttribute::new("a.b", AttrType::String)
                .to_def(false)
                .is_err()
        );
        assert!(
            CustomAttribute::new("badge", AttrType::Complex)
                .to_def(false)
                .is_err()
        );
        let mut nested = CustomAttribute::new("outer", AttrType::Complex);
        let mut inner = CustomAttribute::new("inner", AttrType::Complex);
        inner
            .sub_attributes
            .push(CustomAttribute::new("x", AttrType::String));
        nested.sub_attributes.push(inner);
        assert!(nested.to_def(false).is_err());
        let mut canon = CustomAttribute::new("level", AttrType::Integer);
        canon.canonical_values = vec!["1".into()];
        assert!(canon.to_def(false).is_err());
    }

    #[test]
    fn converts_characteristics() {
        let mut a = CustomAttribute::new("costCode", AttrType::String);
        a.case_exact = true;
        a.canonical_values = vec!["A".into(), "B".into()];
        let d = a.to_def(false).unwrap();
        assert!(d.case_exact && d.enforce_canonical);
        assert_eq!(d.canonical_values, ["A", "B"]);
    }

    #[test]
    fn deserializes_from_rfc_style_json() {
        let a: CustomAttribute = serde_json::from_value(serde_json::json!({
            "name": "badgeNumber", "type": "integer", "required": true, "returned": "request"
        }))
        .unwrap();
        assert_eq!(a.ty, AttrType::Integer);
        assert!(a.required);
        assert_eq!(a.returned, Returned::Request);
        assert_eq!(a.mutability, Mutability::ReadWrite);
    }
}
