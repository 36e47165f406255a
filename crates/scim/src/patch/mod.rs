//! PATCH (RFC 7644 §3.5.2): parsing the PatchOp message and applying it to a
//! document atomically.
//!
//! Group members are not part of the document: member operations come out as
//! an ordered list of [`MembersChange`]s for the server to apply to its
//! membership rows, so patching a 50,000-member group never loads the list.

mod apply;
mod diff;
mod filtered;
mod members;

use std::fmt;

use serde_json::Value;

pub use apply::{PatchOutcome, apply_patch};
pub use members::MembersChange;

use crate::error::ScimError;
use crate::filter::{Filter, FilterLimits, parse_value_filter_at};
use crate::path::{AttrPath, char_pos, scan_attr_path};
use crate::value::{JsonObject, get_ci};

/// URN of the PatchOp message schema.
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `replace`
    Replace,
}

impl PatchOpKind {
    /// The lower-case wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

/// A PATCH `path`: `attrPath`, or `attr[valFilter]` optionally followed by `.subAttr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (with its sub-attribute when there is no filter, e.g. `name.givenName`).
    pub attr: AttrPath,
    /// The value filter, e.g. `type eq "work"` in `emails[type eq "work"].value`.
    pub filter: Option<Filter>,
    /// The sub-attribute after the filter, e.g. `value` in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}

impl PatchPath {
    /// Parses a path; failures are `invalidPath` with position and reason.
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        let err = |pos: usize, why: &str| {
            ScimError::invalid_path(format!(
                "invalid path {s:?} at position {}: {why}",
                char_pos(s, pos)
            ))
        };
        let (attr, mut end) = scan_attr_path(s, 0).map_err(|(p, why)| err(p, &why))?;
        let mut filter = None;
        let mut sub_attr = None;
        if s.as_bytes().get(end) == Some(&b'[') {
            if attr.sub_attr.is_some() {
                return Err(err(
                    end,
                    "'[' must follow an attribute, not a sub-attribute",
                ));
            }
            let (f, after) = parse_value_filter_at(s, end, FilterLimits::default())
                .map_err(|(p, why)| err(p, &why))?;
            filter = Some(f);
            end = after;
            if s.as_bytes().get(end) == Some(&b'.') {
                let (sub, sub_end) = scan_attr_path(s, end + 1).map_err(|(p, why)| err(p, &why))?;
                if sub.urn.is_some() || sub.sub_attr.is_some() {
                    return Err(err(end + 1, "expected a sub-attribute name"));
                }
                sub_attr = Some(sub.name);
                end = sub_end;
            }
        }
        if end != s.len() {
            return Err(err(end, "unexpected character"));
        }
        Ok(Self {
            attr,
            filter,
            sub_attr,
        })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// One operation of a PatchOp message.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOpKind,
    /// The target; `None` means the resource itself (`add`/`replace` with a value object).
    pub path: Option<PatchPath>,
    /// The value; `Some(Value::Null)` when the client sent `null` explicitly.
    pub value: Option<Value>,
}

/// Operations one PATCH request may carry. Identity providers send a handful (Entra's
/// attribute updates, Okta's membership changes); a bound keeps one request's work
/// proportionate to what it may cost the others.
pub const MAX_OPERATIONS: usize = 1000;

/// A parsed PatchOp message.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, in order.
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// Parses a PatchOp body. Member names match case-insensitively
    /// (`Operations`, `op`, `path`, `value`), ops in any case (Entra's
    /// `"Replace"`). `schemas`, when present, must list the PatchOp URN.
    /// A `remove` without `path` is `noTarget`; an `add`/`replace` without
    /// `value` is `invalidValue`.
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the PATCH body must be a JSON object"))?;
        if let Some(schemas) = get_ci(obj, "schemas") {
            let ok = schemas.as_array().is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_URN))
                })
            });
            if !ok {
                return Err(ScimError::invalid_syntax(format!(
                    "\"schemas\" must contain {PATCH_OP_URN:?}"
                )));
            }
        }
        let ops = get_ci(obj, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ScimError::invalid_syntax("\"Operations\" must be an array of operations")
            })?;
        if ops.is_empty() {
            return Err(ScimError::invalid_syntax("\"Operations\" is empty"));
        }
        if ops.len() > MAX_OPERATIONS {
            return Err(ScimError::invalid_value(format!(
                "a PATCH request may carry at most {MAX_OPERATIONS} operations; this one has {}. \
                 Send the changes in several requests.",
                ops.len()
            )));
        }
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                parse_operation(op).map_err(|e| {
                    ScimError::new(
                        e.status(),
                        e.scim_type(),
                        format!("Operations[{i}]: {}", e.detail()),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { operations })
    }
}

fn parse_operation(v: &Value) -> Result<PatchOperation, ScimError> {
    let o: &JsonObject = v
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("an operation must be a JSON object"))?;
    let op_name = get_ci(o, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("\"op\" is missing or not a string"))?;
    let op = [PatchOpKind::Add, PatchOpKind::Remove, PatchOpKind::Replace]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(op_name.trim()))
        .ok_or_else(|| {
            ScimError::invalid_syntax(format!(
                "unknown op {op_name:?}; expected add, remove or replace"
            ))
        })?;
    let path = match get_ci(o, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(PatchPath::parse(s.trim())?),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = get_ci(o, "value").cloned();
    match (op, &path, &value) {
        (PatchOpKind::Remove, None, _) => {
            Err(ScimError::no_target("a remove operation needs a \"path\""))
        }
        (PatchOpKind::Add | PatchOpKind::Replace, _, None) => Err(ScimError::invalid_value(
            format!("an {} operation needs a \"value\"", op.as_str()),
        )),
        (PatchOpKind::Add | PatchOpKind::Replace, None, Some(v)) if !v.is_object() => {
            Err(ScimError::invalid_value(format!(
                "an {} operation without \"path\" needs an object \"value\"",
                op.as_str()
            )))
        }
        _ => Ok(PatchOperation { op, path, value }),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_groups;
#[cfg(test)]
mod tests_idp;
