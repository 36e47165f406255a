//! End-of-patch checks and the list of changed attributes.

use serde_json::Value;

use crate::error::ScimError;
use crate::resource::{all_attrs, container, is_members};
use crate::schema::{Mutability, ResourceSchema};
use crate::value::{JsonObject, get_ci};

/// Compares before and after: enforces `immutable` and `required`, and
/// lists what changed.
pub(super) fn diff_and_check(
    schema: &ResourceSchema,
    before: &JsonObject,
    after: &JsonObject,
) -> Result<Vec<String>, ScimError> {
    let mut changed = Vec::new();
    for (ext, attr) in all_attrs(schema) {
        if is_members(schema, ext, attr) {
            continue;
        }
        let b = container(before, ext).and_then(|c| get_ci(c, &attr.name));
        let a = container(after, ext).and_then(|c| get_ci(c, &attr.name));
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
    Ok(changed)
}
