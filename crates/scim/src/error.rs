//! The SCIM error type (RFC 7644 §3.12).
//!
//! Every fallible operation of this crate returns [`ScimError`], which already
//! carries the HTTP status and `scimType` the RFC prescribes, so the web layer
//! only has to serialize it.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// URN of the SCIM error message schema.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` detail codes of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    /// The filter syntax was invalid, or the attribute and comparison are not supported.
    InvalidFilter,
    /// The filter yields too many results for the server to process.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The modification is incompatible with the attribute's mutability.
    Mutability,
    /// The request body structure was invalid.
    InvalidSyntax,
    /// The `path` attribute was invalid or malformed.
    InvalidPath,
    /// The `path` did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing, or a value was incompatible with the attribute type.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because it would reveal sensitive information.
    Sensitive,
    /// The `cursor` is not one this server issued for this query (RFC 9865 §2.2).
    InvalidCursor,
}

impl ScimType {
    /// Every code, in RFC order — RFC 7644's, then RFC 9865's (handy for exhaustive tests).
    pub const ALL: [ScimType; 11] = [
        ScimType::InvalidFilter,
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::Mutability,
        ScimType::InvalidSyntax,
        ScimType::InvalidPath,
        ScimType::NoTarget,
        ScimType::InvalidValue,
        ScimType::InvalidVers,
        ScimType::Sensitive,
        ScimType::InvalidCursor,
    ];

    /// The wire spelling, e.g. `"invalidFilter"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
        }
    }

    /// The HTTP status RFC 7644 pairs with this code (409 for `uniqueness`,
    /// 403 for `sensitive`, 400 otherwise).
    pub fn default_status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM protocol error: HTTP status, optional `scimType` and a human-readable detail.
///
/// `Serialize` produces the RFC 7644 §3.12 body, with `status` as a string:
/// `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map_or("error", ScimType::as_str))]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
}

impl ScimError {
    /// An error with an explicit status, code and detail.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// An error with the status RFC 7644 pairs with `scim_type`.
    pub fn typed(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(scim_type.default_status(), Some(scim_type), detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidFilter, detail)
    }
    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidSyntax, detail)
    }
    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidPath, detail)
    }
    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidValue, detail)
    }
    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::NoTarget, detail)
    }
    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::Mutability, detail)
    }
    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::TooMany, detail)
    }
    /// 400 `invalidCursor` (RFC 9865).
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidCursor, detail)
    }
    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::Uniqueness, detail)
    }
    /// 400 `invalidVers`.
    pub fn invalid_vers(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidVers, detail)
    }
    /// 403 `sensitive`.
    pub fn sensitive(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::Sensitive, detail)
    }
    /// 404 without a `scimType`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    /// 413 without a `scimType` (bulk payload or operation count over the advertised limit).
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }
    /// 409 without a `scimType` (e.g. a circular bulk reference).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, None, detail)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The `scimType`, if any.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }
    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The error body as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("schemas".into(), serde_json::json!([ERROR_URN]));
        body.insert("status".into(), self.status.to_string().into());
        if let Some(t) = self.scim_type {
            body.insert("scimType".into(), t.as_str().into());
        }
        body.insert("detail".into(), self.detail.clone().into());
        serde_json::Value::Object(body)
    }
}

impl Serialize for ScimError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = if self.scim_type.is_some() { 4 } else { 3 };
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("schemas", &[ERROR_URN])?;
        // RFC 7644 §3.12: "status" is a string, not a number.
        map.serialize_entry("status", &self.status.to_string())?;
        if let Some(t) = self.scim_type {
            map.serialize_entry("scimType", t.as_str())?;
        }
        map.serialize_entry("detail", &self.detail)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_string_status_and_scim_type() {
        let e = ScimError::uniqueness("userName is already taken");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "schemas": [ERROR_URN],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "userName is already taken"
            })
        );
        assert_eq!(v, e.to_json());
    }

    #[test]
    fn not_found_has_no_scim_type() {
        let v = serde_json::to_value(ScimError::not_found("no such user")).unwrap();
        assert_eq!(v["status"], "404");
        assert!(v.get("scimType").is_none());
    }

    #[test]
    fn every_scim_type_has_rfc_spelling_and_status() {
        let spelled: Vec<_> = ScimType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            spelled,
            [
                "invalidFilter",
                "tooMany",
                "uniqueness",
                "mutability",
                "invalidSyntax",
                "invalidPath",
                "noTarget",
                "invalidValue",
                "invalidVers",
                "sensitive",
                "invalidCursor"
            ]
        );
        for t in ScimType::ALL {
            let e = ScimError::typed(t, "x");
            assert_eq!(e.scim_type(), Some(t));
            let expected = match t {
                ScimType::Uniqueness => 409,
                ScimType::Sensitive => 403,
                _ => 400,
            };
            assert_eq!(e.status(), expected);
        }
    }

    #[test]
    fn display_mentions_status_and_type() {
        let e = ScimError::invalid_filter("bad");
        assert_eq!(e.to_string(), "400 invalidFilter: bad");
        assert_eq!(e.detail(), "bad");
    }
}
