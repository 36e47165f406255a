//! End-of-patch checks and the list of changed attributes.

use serde_json::Value;

use crate::error::ScimError;
use crate::resource::{container, is_members};
use crate::schema::{AttributeDef, Mutability, ResourceSchema, SchemaDef};
use crate::value::{JsonObject, get_ci};

/// Compares before and after: enforces `immutable` and `required`, and
/// lists what changed, in schema order.
pub(super) fn diff_and_check(
    schema: &ResourceSchema,
    before: &JsonObject,
    after: &JsonObject,
) -> Result<Vec<String>, ScimError> {
    let mut changed = Vec::new();
    let top = [&schema.common().attributes, &schema.core().attributes];
    for attrs in top {
        diff_container(schema, None, attrs, Some(before), Some(after), &mut changed)?;
    }
    for ext in schema.extensions() {
        let (b, a) = (container(before, Some(ext)), container(after, Some(ext)));
        if b.is_some() || a.is_some() {
            diff_container(schema, Some(ext), &ext.attributes, b, a, &mut changed)?;
        }
    }
    Ok(changed)
}

/// Marks which of `attrs` have a key in `c` (case-insensitively).
fn mark_present(attrs: &[AttributeDef], c: Option<&JsonObject>, marks: &mut [bool]) {
    for key in c.into_iter().flat_map(|c| c.keys()) {
        if let Some(i) = attrs.iter().position(|a| a.name.eq_ignore_ascii_case(key)) {
            marks[i] = true;
        }
    }
}

fn diff_container(
    schema: &ResourceSchema,
    ext: Option<&SchemaDef>,
    attrs: &[AttributeDef],
    before: Option<&JsonObject>,
    after: Option<&JsonObject>,
    changed: &mut Vec<String>,
) -> Result<(), ScimError> {
    // Only attributes present in either version can differ; looking only at
    // those keeps this proportional to the document, not to the schema.
    let mut present = vec![false; attrs.len()];
    mark_present(attrs, before, &mut present);
    mark_present(attrs, after, &mut present);
    for (attr, _) in attrs.iter().zip(&present).filter(|(_, p)| **p) {
        if is_members(schema, ext, attr) {
            continue;
        }
        let b = before.and_then(|c| get_ci(c, &attr.name));
        let a = after.and_then(|c| get_ci(c, &attr.name));
        if b == a {
            continue;
        }
        let path = ResourceSchema::canonical_path(ext, attr, None);
        if attr.mutability == Mutability::Immutable && b.is_some() {
            return Err(ScimError::mutability(format!(
                "attribute {path:?} is immutable"
            )));
        }
        if attr.required && a.is_none() {
            return Err(ScimError::mutability(format!(
                "attribute {path:?} is required and cannot be removed"
            )));
        }
        if attr.is_complex() && !attr.multi_valued {
            fn sub_of<'v>(v: Option<&'v Value>, name: &str) -> Option<&'v Value> {
                v.and_then(Value::as_object).and_then(|o| get_ci(o, name))
            }
            for s in &attr.sub_attributes {
                if sub_of(b, &s.name) != sub_of(a, &s.name) {
                    changed.push(ResourceSchema::canonical_path(ext, attr, Some(s)));
                }
            }
        } else {
            changed.push(path);
        }
    }
    Ok(())
}
