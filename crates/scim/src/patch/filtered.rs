//! Operations on filtered paths: `emails[type eq "work"].value` and friends.

use serde_json::Value;

use super::PatchOpKind;
use super::apply::{is_empty_value, is_primary, normalize_one, set_sub};
use crate::error::ScimError;
use crate::filter::{CompValue, CompareOp, Filter, matches_element};
use crate::schema::AttributeDef;
use crate::value::{JsonObject, keep_one_primary, normalize, remove_ci};

/// The element a filter describes, from its `eq` comparisons joined by
/// `and` (`type eq "work"` → `{"type": "work"}`); `None` when the filter
/// says anything else, as then there is no single element to create.
fn seed_from_filter(f: &Filter, attr: &AttributeDef, out: &mut JsonObject) -> bool {
    match f {
        Filter::And(l, r) => seed_from_filter(l, attr, out) && seed_from_filter(r, attr, out),
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if !matches!(value, CompValue::Null) => match attr.sub_attr(&path.name) {
            Some(sub) => {
                out.insert(sub.name.clone(), value.to_json());
                true
            }
            None => false,
        },
        _ => false,
    }
}

pub(super) fn apply_filtered(
    c: &mut JsonObject,
    kind: PatchOpKind,
    attr: &AttributeDef,
    sub: Option<&AttributeDef>,
    f: &Filter,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    let mut items: Vec<Value> = match remove_ci(c, &attr.name) {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    let matched: Vec<usize> = (0..items.len())
        .filter(|&i| matches_element(f, attr, &items[i]))
        .collect();
    let raw = value.unwrap_or(&Value::Null);
    let mut primary_set = false;
    match kind {
        PatchOpKind::Remove => {
            if matched.is_empty() {
                return Err(ScimError::no_target(format!(
                    "no value of {path:?} matches [{f}]"
                )));
            }
            for &i in matched.iter().rev() {
                match sub {
                    None => {
                        items.remove(i);
                    }
                    Some(s) => set_sub(&mut items[i], s, None),
                }
            }
        }
        PatchOpKind::Add | PatchOpKind::Replace if matched.is_empty() => {
            // Entra: an add/replace on `emails[type eq "work"].value` when no
            // work email exists creates it.
            let new = if attr.is_complex() {
                let mut seed = JsonObject::new();
                if !seed_from_filter(f, attr, &mut seed) {
                    return Err(ScimError::no_target(format!(
                        "no value of {path:?} matches [{f}], and the filter does not describe one to create"
                    )));
                }
                match (sub, raw) {
                    (Some(s), v) => {
                        seed.insert(s.name.clone(), v.clone());
                    }
                    (None, Value::Object(o)) => {
                        seed.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())))
                    }
                    (None, Value::Null) => {}
                    (None, _) => {
                        return Err(ScimError::invalid_value(format!(
                            "expected an object for {path:?}"
                        )));
                    }
                }
                Value::Object(seed)
            } else {
                raw.clone()
            };
            // A value that clears (`""`) has nothing to create.
            let has_payload = sub.is_none_or(|s| normalize(s, path, raw).ok().flatten().is_some());
            if has_payload && let Some(n) = normalize_one(attr, path, &new)? {
                primary_set = is_primary(&n);
                items.push(n);
            }
        }
        PatchOpKind::Add | PatchOpKind::Replace => {
            for &i in &matched {
                match sub {
                    Some(s) => {
                        let n = normalize(s, path, raw)?;
                        primary_set |= s.name == "primary" && n == Some(Value::Bool(true));
                        set_sub(&mut items[i], s, n);
                    }
                    None => {
                        let merged = match (kind, &items[i], raw) {
                            (PatchOpKind::Add, Value::Object(old), Value::Object(new)) => {
                                let mut m = old.clone();
                                m.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
                                Value::Object(m)
                            }
                            _ => raw.clone(),
                        };
                        let n = normalize_one(attr, path, &merged)?;
                        primary_set |= n.as_ref().is_some_and(is_primary);
                        items[i] = n.unwrap_or(Value::Null);
                    }
                }
            }
        }
    }
    items.retain(|e| !is_empty_value(e));
    if primary_set {
        keep_one_primary(&mut items, true);
    }
    if !items.is_empty() {
        let v = if attr.multi_valued {
            Value::Array(items)
        } else {
            items.swap_remove(0)
        };
        c.insert(attr.name.clone(), v);
    }
    Ok(())
}
