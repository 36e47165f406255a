//! Applying a PatchOp to a document.
//!
//! Atomicity is by construction: operations run on a copy, and the caller's
//! document is only ever borrowed, so any failing operation leaves it exactly
//! as it was. Mutability and required-ness are checked once at the end by
//! comparing the copy with the original, which also yields the list of
//! changed attributes (empty for a no-op patch).

use serde_json::Value;

use super::diff::diff_and_check;
use super::filtered::apply_filtered;
use super::members::{MembersChange, members_change};
use super::{PatchOpKind, PatchOperation, PatchPath, PatchRequest};
use crate::error::ScimError;
use crate::filter::{Filter, validate_element_filter};
use crate::resource::{is_members, with_container};
use crate::schema::{AttributeDef, Mutability, Resolved, ResourceSchema, SchemaDef};
use crate::value::{JsonObject, get_ci, keep_one_primary, normalize, remove_ci, str_eq};

/// The result of a successful PATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The patched document.
    pub document: JsonObject,
    /// Canonical paths of the attributes whose value changed, e.g.
    /// `active`, `name.familyName`, `emails`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`
    /// (single-valued complex attributes are reported per sub-attribute).
    pub changed: Vec<String>,
    /// Membership changes for groups, in operation order.
    pub members: Vec<MembersChange>,
}

impl PatchOutcome {
    /// True when nothing changed: the caller can skip the write.
    pub fn is_noop(&self) -> bool {
        self.changed.is_empty() && self.members.is_empty()
    }
}

/// Applies `req` to `doc`, the stored document of the resource whose id is
/// `resource_id` (Okta repeats the id in its group-rename value object; the
/// same id is accepted silently, another one is a `mutability` error).
pub fn apply_patch(
    schema: &ResourceSchema,
    resource_id: &str,
    doc: &JsonObject,
    req: &PatchRequest,
) -> Result<PatchOutcome, ScimError> {
    let mut work = doc.clone();
    let mut members = Vec::new();
    for (i, op) in req.operations.iter().enumerate() {
        let mut ctx = Ctx {
            schema,
            resource_id,
            doc: &mut work,
            members: &mut members,
        };
        ctx.operation(op).map_err(|e| {
            let target = op
                .path
                .as_ref()
                .map(PatchPath::to_string)
                .unwrap_or_default();
            ScimError::new(
                e.status(),
                e.scim_type(),
                format!(
                    "Operations[{i}] ({} {target}): {}",
                    op.op.as_str(),
                    e.detail()
                ),
            )
        })?;
    }
    let changed = diff_and_check(schema, doc, &work)?;
    Ok(PatchOutcome {
        document: work,
        changed,
        members,
    })
}

struct Ctx<'a> {
    schema: &'a ResourceSchema,
    resource_id: &'a str,
    doc: &'a mut JsonObject,
    members: &'a mut Vec<MembersChange>,
}

impl Ctx<'_> {
    fn operation(&mut self, op: &PatchOperation) -> Result<(), ScimError> {
        match &op.path {
            Some(path) => self.at_path(op.op, path, op.value.as_ref(), false),
            None => match &op.value {
                Some(Value::Object(obj)) => self.value_object(op.op, obj),
                _ => Err(ScimError::invalid_value("expected an object \"value\"")),
            },
        }
    }

    /// Path-less `add`/`replace`: every key is a path (plain, dotted,
    /// URN-qualified, even filtered) or an extension URN.
    fn value_object(&mut self, kind: PatchOpKind, obj: &JsonObject) -> Result<(), ScimError> {
        for (key, v) in obj {
            if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
                continue;
            }
            if key.eq_ignore_ascii_case("id") {
                if v.is_null() || v.as_str() == Some(self.resource_id) {
                    continue;
                }
                return Err(ScimError::mutability(
                    "\"id\" is read-only and cannot be changed",
                ));
            }
            if let Some(ext) = self.schema.extension(key) {
                self.extension_value(kind, ext, v, true)?;
                continue;
            }
            // Keys that are not paths at all are unknown attributes: ignored,
            // as in POST bodies.
            if let Ok(path) = PatchPath::parse(key) {
                self.at_path(kind, &path, Some(v), true)?;
            }
        }
        Ok(())
    }

    fn extension_value(
        &mut self,
        kind: PatchOpKind,
        ext: &SchemaDef,
        v: &Value,
        lenient: bool,
    ) -> Result<(), ScimError> {
        match v {
            Value::Null => {
                remove_ci(self.doc, &ext.id);
                Ok(())
            }
            Value::Object(o) => {
                for (k, ev) in o {
                    match ext.attr(k) {
                        Some(attr) => self.target(kind, Some(ext), attr, None, None, Some(ev))?,
                        // Clients echo the extension object as they read it, `schemas` and
                        // all (scim2-tester does); it names no attribute to change.
                        None if lenient || k.eq_ignore_ascii_case("schemas") => {}
                        None => {
                            return Err(ScimError::invalid_path(format!(
                                "unknown attribute {k:?} in {}",
                                ext.id
                            )));
                        }
                    }
                }
                Ok(())
            }
            _ => Err(ScimError::invalid_value(format!(
                "the value for {} must be an object",
                ext.id
            ))),
        }
    }

    fn at_path(
        &mut self,
        kind: PatchOpKind,
        path: &PatchPath,
        value: Option<&Value>,
        lenient: bool,
    ) -> Result<(), ScimError> {
        match self.schema.resolve(&path.attr) {
            None if lenient => Ok(()),
            None => Err(ScimError::invalid_path(format!(
                "unknown attribute '{}' for {}",
                path.attr,
                self.schema.kind().name()
            ))),
            Some(Resolved::Extension(ext)) => {
                if path.filter.is_some() || path.sub_attr.is_some() {
                    return Err(ScimError::invalid_path("a schema URN cannot be filtered"));
                }
                match kind {
                    PatchOpKind::Remove => {
                        remove_ci(self.doc, &ext.id);
                        Ok(())
                    }
                    _ => self.extension_value(kind, ext, value.unwrap_or(&Value::Null), lenient),
                }
            }
            Some(Resolved::Attr {
                extension,
                attr,
                sub,
            }) => {
                let sub = match (&path.sub_attr, sub) {
                    (Some(s), _) => Some(attr.sub_attr(s).ok_or_else(|| {
                        ScimError::invalid_path(format!(
                            "'{}' has no sub-attribute '{s}'",
                            attr.name
                        ))
                    })?),
                    (None, sub) => sub,
                };
                if path.filter.is_some() && !attr.multi_valued && !attr.is_complex() {
                    return Err(ScimError::invalid_path(format!(
                        "'{}' is single-valued and cannot be filtered",
                        attr.name
                    )));
                }
                self.target(kind, extension, attr, sub, path.filter.as_ref(), value)
            }
        }
    }

    fn target(
        &mut self,
        kind: PatchOpKind,
        ext: Option<&SchemaDef>,
        attr: &AttributeDef,
        sub: Option<&AttributeDef>,
        filter: Option<&Filter>,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if is_members(self.schema, ext, attr) {
            if let Some(change) = members_change(attr, kind, filter, sub, value)? {
                self.members.push(change);
            }
            return Ok(());
        }
        if ext.is_none() && attr.name == "password" {
            // Accepted and dropped: passwords are never stored.
            return Ok(());
        }
        let path = ResourceSchema::canonical_path(ext, attr, sub);
        if attr.mutability == Mutability::ReadOnly
            || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
        {
            return Err(ScimError::mutability(format!(
                "attribute {path:?} is read-only"
            )));
        }
        if let Some(f) = filter {
            validate_element_filter(f, attr)
                .map_err(|e| ScimError::invalid_path(format!("invalid filter: {}", e.detail())))?;
        }
        with_container(self.doc, ext, |c| match filter {
            None => apply_plain(c, kind, attr, sub, value, &path),
            Some(f) => apply_filtered(c, kind, attr, sub, f, value, &path),
        })
    }
}

pub(super) fn is_primary(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| get_ci(o, "primary"))
        .and_then(Value::as_bool)
        == Some(true)
}

pub(super) fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Sets (`Some`) or removes (`None`) a sub-attribute of a complex value.
pub(super) fn set_sub(elem: &mut Value, sub: &AttributeDef, n: Option<Value>) {
    if let Value::Object(o) = elem {
        remove_ci(o, &sub.name);
        if let Some(n) = n {
            o.insert(sub.name.clone(), n);
        }
    }
}

/// Normalises one element of `attr` (a multi-valued attribute's item, or a
/// single value).
pub(super) fn normalize_one(
    attr: &AttributeDef,
    path: &str,
    v: &Value,
) -> Result<Option<Value>, ScimError> {
    if !attr.multi_valued {
        return normalize(attr, path, v);
    }
    match normalize(attr, path, &Value::Array(vec![v.clone()]))? {
        Some(Value::Array(mut a)) if a.len() == 1 => Ok(a.pop()),
        _ => Ok(None),
    }
}

fn apply_plain(
    c: &mut JsonObject,
    kind: PatchOpKind,
    attr: &AttributeDef,
    sub: Option<&AttributeDef>,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    // Re-key under the canonical name so later steps can use exact lookups.
    if let Some(v) = remove_ci(c, &attr.name) {
        c.insert(attr.name.clone(), v);
    }
    let key = attr.name.as_str();
    let raw = value.unwrap_or(&Value::Null);
    let Some(sub) = sub else {
        return match kind {
            PatchOpKind::Remove if attr.multi_valued && !raw.is_null() => {
                remove_values(c, attr, raw, path)
            }
            PatchOpKind::Remove => {
                c.remove(key);
                Ok(())
            }
            PatchOpKind::Add | PatchOpKind::Replace => {
                match normalize(attr, path, raw)? {
                    // `null`, `""`, `[]`: clear — except that adding nothing
                    // to a list leaves it alone.
                    None if kind == PatchOpKind::Add && attr.multi_valued => {}
                    None => {
                        c.remove(key);
                    }
                    Some(Value::Array(new)) if kind == PatchOpKind::Add => {
                        append_values(c, key, new)
                    }
                    Some(Value::Object(new)) if attr.is_complex() && !attr.multi_valued => {
                        merge_object(c, key, new)
                    }
                    Some(n) => {
                        c.insert(key.to_owned(), n);
                    }
                }
                Ok(())
            }
        };
    };
    let n = match kind {
        PatchOpKind::Remove => None,
        _ => normalize(sub, path, raw)?,
    };
    let mut now_empty = false;
    match c.get_mut(key) {
        Some(Value::Array(items)) => {
            // `emails.value` without a filter addresses every element.
            items.iter_mut().for_each(|e| set_sub(e, sub, n.clone()));
            items.retain(|e| !is_empty_value(e));
            now_empty = items.is_empty();
        }
        Some(elem @ Value::Object(_)) => {
            set_sub(elem, sub, n);
            now_empty = is_empty_value(elem);
        }
        _ => {
            if let Some(n) = n {
                let mut o = JsonObject::new();
                o.insert(sub.name.clone(), n);
                let v = if attr.multi_valued {
                    Value::Array(vec![Value::Object(o)])
                } else {
                    Value::Object(o)
                };
                c.insert(key.to_owned(), v);
            }
        }
    }
    if now_empty {
        c.remove(key);
    }
    Ok(())
}

/// `add` to a multi-valued attribute: append what is not already there.
fn append_values(c: &mut JsonObject, key: &str, new: Vec<Value>) {
    let slot = c
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        let old = std::mem::take(slot);
        *slot = Value::Array(if old.is_null() { Vec::new() } else { vec![old] });
    }
    if let Value::Array(items) = slot {
        let mut new_primary = false;
        for v in new {
            if !items.contains(&v) {
                new_primary |= is_primary(&v);
                items.push(v);
            }
        }
        if new_primary {
            keep_one_primary(items, true);
        }
    }
}

/// `add`/`replace` of a single-valued complex attribute: sub-attributes not
/// given are kept (RFC 7644 §3.5.2.1, §3.5.2.3) — unless `value` changes,
/// in which case the old sub-attributes describe someone else (a new
/// manager's stale `$ref`) and the object is replaced whole.
fn merge_object(c: &mut JsonObject, key: &str, new: JsonObject) {
    match c.get_mut(key) {
        Some(Value::Object(old)) => {
            let identity_changed =
                new.contains_key("value") && old.get("value") != new.get("value");
            if identity_changed {
                *old = new;
            } else {
                old.extend(new);
            }
        }
        _ => {
            c.insert(key.to_owned(), Value::Object(new));
        }
    }
}

/// Entra's `remove` with a value: drop the listed values (matched by their
/// `value`, honouring `caseExact`). Values that are not present are ignored.
fn remove_values(
    c: &mut JsonObject,
    attr: &AttributeDef,
    raw: &Value,
    path: &str,
) -> Result<(), ScimError> {
    let Some(Value::Array(targets)) = normalize(attr, path, raw)? else {
        return Ok(());
    };
    let value_def = attr.sub_attr("value").unwrap_or(attr);
    let key_of = |v: &Value| -> Option<String> {
        match v {
            Value::Object(o) => o.get("value").and_then(Value::as_str).map(str::to_owned),
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    };
    let same = |a: &Value, b: &Value| match (key_of(a), key_of(b)) {
        (Some(x), Some(y)) => str_eq(&x, &y, value_def.case_exact),
        _ => a == b,
    };
    let mut now_empty = false;
    if let Some(Value::Array(items)) = c.get_mut(&attr.name) {
        items.retain(|e| !targets.iter().any(|t| same(e, t)));
        now_empty = items.is_empty();
    }
    if now_empty {
        c.remove(&attr.name);
    }
    Ok(())
}
