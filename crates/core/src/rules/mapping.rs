//! Locations, kiosks and the mapping rules that make users hosts.
//!
//! A rule names a SCIM attribute path of the user (`addresses[type eq "work"].locality`,
//! `urn:…:enterprise:2.0:User:department`, a custom attribute), a case-insensitive match
//! (equals, one of, starts with) and the locations and kiosks where a matching user
//! becomes a host. Rules are tried in priority order; the first that matches decides.

use roster_scim::filter::Filter;
use roster_scim::patch::PatchPath;
use roster_scim::schema::{Resolved, ResourceSchema};
use roster_scim::value::get_ci;
use roster_scim::{AttrPath, JsonObject};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Error, Result};
use roster_scim::value::fold_case;

fn short_text(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters, without control characters"),
        ));
    }
    Ok(text.to_owned())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationName(pub(crate) String);

impl LocationName {
    pub fn parse(raw: &str) -> Result<Self> {
        short_text("name", raw, 100).map(Self)
    }
}

/// A short code for a location (`PAR-HQ`): 1–32 of letters, digits, `-` and `_`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationCode(pub(crate) String);

impl LocationCode {
    pub fn parse(raw: &str) -> Result<Self> {
        let code = raw.trim();
        let ok = !code.is_empty()
            && code.len() <= 32
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(Error::invalid(
                "code",
                "must be 1–32 letters, digits, - or _ (e.g. PAR-HQ)",
            ));
        }
        Ok(Self(code.to_owned()))
    }
}

/// An IANA time zone name (`Europe/Paris`, `America/Argentina/Buenos_Aires`, `UTC`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZoneName(pub(crate) String);

impl TimeZoneName {
    /// A time zone of the IANA database (through `chrono-tz`), stored in the database's
    /// own case whatever case it was typed in.
    pub fn parse(raw: &str) -> Result<Self> {
        match crate::formats::iana_time_zone(raw) {
            Some(name) => Ok(Self(name.to_owned())),
            None => Err(Error::invalid(
                "time_zone",
                "must be a time zone of the IANA database, such as Europe/Paris, \
                 America/New_York or UTC",
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KioskName(pub(crate) String);

impl KioskName {
    pub fn parse(raw: &str) -> Result<Self> {
        short_text("kiosk", raw, 100).map(Self)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kiosk {
    pub id: Uuid,
    pub location_id: Uuid,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    pub code: String,
    pub time_zone: String,
    pub kiosks: Vec<Kiosk>,
}

/// How a rule compares the attribute's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    Equals,
    OneOf,
    StartsWith,
}

impl MatchKind {
    pub const ALL: [MatchKind; 3] = [MatchKind::Equals, MatchKind::OneOf, MatchKind::StartsWith];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equals => "equals",
            Self::OneOf => "one_of",
            Self::StartsWith => "starts_with",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Equals => "equals",
            Self::OneOf => "is one of",
            Self::StartsWith => "starts with",
        }
    }

    pub fn parse(raw: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| Error::invalid("match", "must be equals, one of, or starts with"))
    }
}

/// The values a rule compares with: one per line (or comma-separated for "one of");
/// 1–50 values of at most 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchValues(pub(crate) Vec<String>);

impl MatchValues {
    pub fn parse(raw: &str, kind: MatchKind) -> Result<Self> {
        let values: Vec<String> = raw
            .split(['\n', ','])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if values.is_empty() {
            return Err(Error::invalid("values", "must not be empty"));
        }
        if kind != MatchKind::OneOf && values.len() > 1 {
            return Err(Error::invalid(
                "values",
                "takes one value with this match; use \"is one of\" for several",
            ));
        }
        if values.len() > 50
            || values
                .iter()
                .any(|v| v.chars().count() > 200 || v.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "values",
                "takes at most 50 values of at most 200 characters each",
            ));
        }
        Ok(Self(values))
    }
}

/// A rule's attribute: a SCIM path the tenant's User schema knows.
#[derive(Clone, Debug, PartialEq)]
pub struct RulePath(pub(crate) PatchPath);

impl RulePath {
    pub fn parse(raw: &str, schema: &ResourceSchema) -> Result<Self> {
        let invalid = |why: &str| Error::invalid("attribute", why.to_owned());
        let path = PatchPath::parse(raw.trim()).map_err(|err| invalid(err.detail()))?;
        if schema.resolve(&path.attr).is_none() {
            return Err(invalid(
                "is not an attribute of the User schema (custom attributes count once defined)",
            ));
        }
        // After a filter (`addresses[type eq "work"].locality`) the sub-attribute is
        // checked too: a rule on one that does not exist would never match anyone.
        if let Some(sub) = &path.sub_attr {
            let full = AttrPath {
                urn: path.attr.urn.clone(),
                name: path.attr.name.clone(),
                sub_attr: Some(sub.clone()),
            };
            if schema.resolve(&full).is_none() {
                return Err(Error::invalid(
                    "attribute",
                    format!(
                        "{} has no sub-attribute \"{sub}\" in the User schema",
                        path.attr.name
                    ),
                ));
            }
        }
        Ok(Self(path))
    }
}

/// A rule to add.
#[derive(Clone, Debug)]
pub struct NewRule {
    pub path: RulePath,
    pub kind: MatchKind,
    pub values: MatchValues,
    pub locations: Vec<Uuid>,
    pub kiosks: Vec<Uuid>,
}

#[derive(Clone, Debug)]
pub struct MappingRule {
    pub id: Uuid,
    pub position: i32,
    pub attribute: String,
    pub(crate) path: PatchPath,
    pub kind: MatchKind,
    pub values: Vec<String>,
    pub locations: Vec<Uuid>,
    pub kiosks: Vec<Uuid>,
}

pub(crate) fn uuid_list(raw: &str) -> Vec<Uuid> {
    serde_json::from_str::<Vec<String>>(raw)
        .unwrap_or_default()
        .iter()
        .filter_map(|id| Uuid::try_parse(id).ok())
        .collect()
}

pub(crate) fn uuid_json(ids: &[Uuid]) -> String {
    Value::Array(ids.iter().map(|id| json!(id.to_string())).collect()).to_string()
}

impl MappingRule {
    /// Whether one of `candidates` matches (case-insensitively).
    pub fn matches(&self, candidates: &[String]) -> bool {
        candidates.iter().any(|candidate| {
            let candidate = fold_case(candidate.trim());
            self.values.iter().any(|value| {
                let value = fold_case(value);
                match self.kind {
                    MatchKind::Equals | MatchKind::OneOf => candidate == value,
                    MatchKind::StartsWith => candidate.starts_with(&value),
                }
            })
        })
    }

    /// The values of the rule's attribute in a user document, as text.
    pub fn values_in(&self, schema: &ResourceSchema, doc: &JsonObject) -> Vec<String> {
        values_at(&self.path, schema, doc)
    }

    /// `department equals "Sales"`, for messages and lists.
    pub fn describe(&self) -> String {
        let values: Vec<String> = self.values.iter().map(|v| format!("\"{v}\"")).collect();
        format!(
            "{} {} {}",
            self.attribute,
            self.kind.label(),
            values.join(", ")
        )
    }
}

/// Where a user is a host, and which rule said so.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hosts {
    pub rule: Option<Uuid>,
    pub locations: Vec<Uuid>,
    pub kiosks: Vec<Uuid>,
}

impl Hosts {
    pub fn of_rule(rule: &MappingRule) -> Self {
        Self {
            rule: Some(rule.id),
            locations: rule.locations.clone(),
            kiosks: rule.kiosks.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.locations.is_empty() && self.kiosks.is_empty()
    }

    pub fn from_stored(raw: Option<&str>) -> Self {
        let Some(Ok(value)) = raw.map(serde_json::from_str::<Value>) else {
            return Self::default();
        };
        let ids = |key: &str| uuid_list(&value[key].to_string());
        Self {
            rule: value["rule"]
                .as_str()
                .and_then(|id| Uuid::try_parse(id).ok()),
            locations: ids("locations"),
            kiosks: ids("kiosks"),
        }
    }

    /// `None` when the user is host nowhere.
    pub fn to_stored(&self) -> Option<String> {
        (!self.is_empty() || self.rule.is_some()).then(|| {
            json!({
                "rule": self.rule.map(|id| id.to_string()),
                "locations": self.locations.iter().map(Uuid::to_string).collect::<Vec<_>>(),
                "kiosks": self.kiosks.iter().map(Uuid::to_string).collect::<Vec<_>>(),
            })
            .to_string()
        })
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(obj) => get_ci(obj, "value").and_then(scalar_text),
        _ => None,
    }
}

fn elements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The values at `path` in a stored user document (extension attributes live under
/// their URN), as text. A filter keeps the elements of a multi-valued attribute that
/// match it, decided by the engine's own evaluator.
fn values_at(path: &PatchPath, schema: &ResourceSchema, doc: &JsonObject) -> Vec<String> {
    let Some(Resolved::Attr {
        extension,
        attr,
        sub,
    }) = schema.resolve(&path.attr)
    else {
        return Vec::new();
    };
    let container = match extension {
        Some(ext) => match doc.get(&ext.id).and_then(Value::as_object) {
            Some(obj) => obj,
            None => return Vec::new(),
        },
        None => doc,
    };
    let Some(value) = get_ci(container, &attr.name) else {
        return Vec::new();
    };
    let sub_name = path
        .sub_attr
        .as_deref()
        .or_else(|| sub.map(|s| s.name.as_str()));
    let mut out = Vec::new();
    for element in elements(value) {
        if let Some(filter) = &path.filter {
            let mut probe = JsonObject::new();
            let mut attr_path = AttrPath::new(attr.name.clone());
            probe.insert(attr.name.clone(), Value::Array(vec![element.clone()]));
            if let Some(ext) = extension {
                attr_path = attr_path.with_urn(ext.id.clone());
                let inner = std::mem::take(&mut probe);
                probe.insert(ext.id.clone(), Value::Object(inner));
            }
            let keep = Filter::ValuePath {
                path: attr_path,
                filter: Box::new(filter.clone()),
            }
            .matches(&probe, schema);
            if !keep {
                continue;
            }
        }
        let picked = match (sub_name, element) {
            (Some(sub), Value::Object(obj)) => get_ci(obj, sub),
            (Some(_), _) => None,
            (None, v) => Some(v),
        };
        out.extend(
            picked
                .into_iter()
                .flat_map(elements)
                .filter_map(scalar_text),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use roster_scim::schema::SchemaRegistry;
    use serde_json::json;

    use super::*;

    fn rule(path: &str, kind: MatchKind, values: &[&str]) -> MappingRule {
        MappingRule {
            id: Uuid::nil(),
            position: 0,
            attribute: path.to_owned(),
            path: PatchPath::parse(path).unwrap(),
            kind,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            locations: Vec::new(),
            kiosks: Vec::new(),
        }
    }

    #[test]
    fn values_come_from_filtered_paths_and_extensions() {
        let registry = SchemaRegistry::new(&[]).unwrap();
        let doc = json!({
            "userName": "a@x.test",
            "addresses": [
                {"type": "home", "locality": "Lyon"},
                {"type": "work", "locality": "Paris"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
        });
        let doc = doc.as_object().unwrap();
        let work = rule(
            r#"addresses[type eq "work"].locality"#,
            MatchKind::Equals,
            &["PARIS"],
        );
        assert_eq!(work.values_in(registry.user(), doc), ["Paris"]);
        assert!(work.matches(&work.values_in(registry.user(), doc)));
        let dept = rule(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            MatchKind::StartsWith,
            &["sa"],
        );
        assert_eq!(dept.values_in(registry.user(), doc), ["Sales"]);
        assert!(dept.matches(&["Sales".to_owned()]));
        let one_of = rule("userName", MatchKind::OneOf, &["b@x.test", "A@X.TEST"]);
        assert!(one_of.matches(&one_of.values_in(registry.user(), doc)));
        assert!(!one_of.matches(&[]));
    }

    #[test]
    fn hosts_round_trip() {
        let hosts = Hosts {
            rule: Some(Uuid::now_v7()),
            locations: vec![Uuid::now_v7()],
            kiosks: vec![],
        };
        assert_eq!(Hosts::from_stored(hosts.to_stored().as_deref()), hosts);
        assert_eq!(Hosts::default().to_stored(), None);
    }
}
