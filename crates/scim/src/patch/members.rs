//! Group membership operations, turned into an explicit delta.

use serde_json::Value;

use super::PatchOpKind;
use crate::error::ScimError;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::resource::member_ids;
use crate::schema::AttributeDef;

/// One change to a group's membership, to be applied in order by the store.
#[derive(Debug, Clone, PartialEq)]
pub enum MembersChange {
    /// Add these member ids (already present ones are no-ops).
    Add(Vec<String>),
    /// Remove these member ids (absent ones are no-ops).
    Remove(Vec<String>),
    /// Remove every member.
    RemoveAll,
    /// Make the membership exactly these ids (possibly none).
    Replace(Vec<String>),
    /// Remove members matching a filter over the member sub-attributes
    /// (`value`, `type`, `display`, `$ref`) that is not a plain list of ids.
    RemoveMatching(Filter),
}

/// `value eq "id"` or an `or` of those → the ids; anything else → `None`.
fn ids_from_filter(f: &Filter, out: &mut Vec<String>) -> bool {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(id),
        } if path.urn.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            if !out.contains(id) {
                out.push(id.clone());
            }
            true
        }
        Filter::Or(l, r) => ids_from_filter(l, out) && ids_from_filter(r, out),
        _ => false,
    }
}

/// Translates one operation on `members` into a [`MembersChange`] (or none
/// when it changes nothing, e.g. adding an empty list).
pub(super) fn members_change(
    members_def: &AttributeDef,
    op: PatchOpKind,
    filter: Option<&Filter>,
    sub: Option<&AttributeDef>,
    value: Option<&Value>,
) -> Result<Option<MembersChange>, ScimError> {
    if sub.is_some() {
        return Err(ScimError::mutability(
            "member sub-attributes are immutable; add or remove the member instead",
        ));
    }
    if let Some(f) = filter {
        crate::filter::validate_element_filter(f, members_def).map_err(|e| {
            ScimError::invalid_path(format!("invalid members filter: {}", e.detail()))
        })?;
        if op != PatchOpKind::Remove {
            return Err(ScimError::invalid_path(
                "members can be filtered only to remove them; add or replace members without a filter",
            ));
        }
        let mut ids = Vec::new();
        return Ok(Some(if ids_from_filter(f, &mut ids) {
            MembersChange::Remove(ids)
        } else {
            MembersChange::RemoveMatching(f.clone())
        }));
    }
    let value = value.unwrap_or(&Value::Null);
    Ok(match op {
        PatchOpKind::Add => {
            let ids = member_ids(value)?;
            (!ids.is_empty()).then_some(MembersChange::Add(ids))
        }
        PatchOpKind::Replace => Some(MembersChange::Replace(member_ids(value)?)),
        // Entra: `{"op":"Remove","path":"members","value":[{"value":"id"}]}`.
        PatchOpKind::Remove if value.is_null() => Some(MembersChange::RemoveAll),
        PatchOpKind::Remove => {
            let ids = member_ids(value)?;
            (!ids.is_empty()).then_some(MembersChange::Remove(ids))
        }
    })
}
