//! Schemas and attribute characteristics (RFC 7643 §2, §7).
//!
//! Everything downstream — validation, case rules, projection, filters, PATCH
//! and the discovery documents — is driven by these definitions, so adding a
//! custom attribute at run time changes all of them at once.

mod core_defs;
mod custom;
mod registry;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use custom::CustomAttribute;
pub use registry::{Resolved, ResourceKind, ResourceSchema, SchemaRegistry};

/// URN of the core User schema.
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the core Group schema.
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// URN of the Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of Roster's per-tenant custom User extension.
pub const ROSTER_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

/// Attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A sequence of Unicode characters.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An xsd:dateTime (RFC 3339) string.
    DateTime,
    /// Base64-encoded binary data.
    Binary,
    /// A URI for a resource.
    Reference,
    /// A set of sub-attributes.
    Complex,
}

impl AttrType {
    /// The wire spelling, e.g. `"dateTime"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// When an attribute may be changed (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by the server only; ignored in POST/PUT bodies, rejected in PATCH.
    ReadOnly,
    /// Freely writable.
    ReadWrite,
    /// Writable once; afterwards it may only be re-sent unchanged.
    Immutable,
    /// Writable but never returned (e.g. `password`).
    WriteOnly,
}

impl Mutability {
    /// The wire spelling, e.g. `"readWrite"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always returned, whatever `attributes`/`excludedAttributes` say.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded or unless `attributes` names others.
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

impl Returned {
    /// The wire spelling, e.g. `"default"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// How unique a value must be (RFC 7643 §7). The engine only advertises it;
/// enforcing it needs the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No uniqueness.
    None,
    /// Unique within the service provider (here: within the tenant).
    Server,
    /// Globally unique.
    Global,
}

impl Uniqueness {
    /// The wire spelling, e.g. `"server"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

macro_rules! wire_enum_text {
    ($ty:ty, [$($v:expr),+ $(,)?]) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            /// Case-insensitive, so values stored in any case round-trip.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                [$($v),+]
                    .into_iter()
                    .find(|v: &$ty| v.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| format!("unknown {} {s:?}", stringify!($ty)))
            }
        }
    };
}

wire_enum_text!(
    AttrType,
    [
        AttrType::String,
        AttrType::Boolean,
        AttrType::Decimal,
        AttrType::Integer,
        AttrType::DateTime,
        AttrType::Binary,
        AttrType::Reference,
        AttrType::Complex
    ]
);
wire_enum_text!(
    Mutability,
    [
        Mutability::ReadOnly,
        Mutability::ReadWrite,
        Mutability::Immutable,
        Mutability::WriteOnly
    ]
);
wire_enum_text!(
    Returned,
    [
        Returned::Always,
        Returned::Never,
        Returned::Default,
        Returned::Request
    ]
);
wire_enum_text!(
    Uniqueness,
    [Uniqueness::None, Uniqueness::Server, Uniqueness::Global]
);

/// One attribute definition with all its characteristics (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    /// Canonical name (matched case-insensitively).
    pub name: String,
    /// Data type.
    pub ty: AttrType,
    /// Whether the value is a JSON array.
    pub multi_valued: bool,
    /// Human-readable description.
    pub description: String,
    /// Whether a value must be present.
    pub required: bool,
    /// Whether string comparison is case-sensitive.
    pub case_exact: bool,
    /// When the attribute may be written.
    pub mutability: Mutability,
    /// When the attribute is returned.
    pub returned: Returned,
    /// How unique values must be.
    pub uniqueness: Uniqueness,
    /// Suggested (or, with `enforce_canonical`, allowed) values.
    pub canonical_values: Vec<String>,
    /// For `reference` attributes: what they may point to (`User`, `Group`, `external`, `uri`).
    pub reference_types: Vec<String>,
    /// For `complex` attributes: the sub-attributes.
    pub sub_attributes: Vec<AttributeDef>,
    /// Reject values outside `canonical_values` (RFC 7643 only suggests them,
    /// so core attributes leave this off; tenants may turn it on for their own).
    pub enforce_canonical: bool,
}

impl AttributeDef {
    /// A single-valued, optional, case-insensitive, readWrite, default-returned attribute.
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
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
            enforce_canonical: false,
        }
    }

    /// The sub-attribute named `name`, matched case-insensitively without allocating.
    pub fn sub_attr(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether this is a complex attribute.
    pub fn is_complex(&self) -> bool {
        self.ty == AttrType::Complex
    }
}

/// A schema: a URN and its attributes (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDef {
    /// The schema URN (its `id`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Human-readable description.
    pub description: String,
    /// Top-level attributes.
    pub attributes: Vec<AttributeDef>,
}

impl SchemaDef {
    /// The attribute named `name`, matched case-insensitively without allocating.
    pub fn attr(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_enums_round_trip_case_insensitively() {
        assert_eq!("DATETIME".parse::<AttrType>(), Ok(AttrType::DateTime));
        assert_eq!(AttrType::DateTime.to_string(), "dateTime");
        assert_eq!("readonly".parse::<Mutability>(), Ok(Mutability::ReadOnly));
        assert_eq!("Request".parse::<Returned>(), Ok(Returned::Request));
        assert_eq!("server".parse::<Uniqueness>(), Ok(Uniqueness::Server));
        assert!("float".parse::<AttrType>().is_err());
        assert_eq!(
            serde_json::to_value(Mutability::WriteOnly).unwrap(),
            "writeOnly"
        );
    }

    #[test]
    fn sub_attr_lookup_is_case_insensitive() {
        let mut name = AttributeDef::new("name", AttrType::Complex);
        name.sub_attributes
            .push(AttributeDef::new("givenName", AttrType::String));
        assert_eq!(name.sub_attr("GIVENNAME").unwrap().name, "givenName");
        assert!(name.sub_attr("given").is_none());
    }
}
