//! Value normalisation against attribute definitions, and the string and
//! date comparisons shared by filters and sorting.
//!
//! Normalisation is where the clients' dialects are absorbed: Entra's string
//! booleans (`"True"`), `null` and `""` meaning "clear", a single object where
//! an array is expected, a plain id where a complex `{value}` is expected.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ScimError;
use crate::schema::{AttrType, AttributeDef, Mutability};

/// A JSON object, the shape of every SCIM document this crate handles.
pub type JsonObject = Map<String, Value>;

/// Refuses a document holding the NUL character (U+0000) in any string or key: no
/// database stores it in text (PostgreSQL refuses it outright), so it is a clear 400
/// here rather than a failure deep in a write.
pub fn reject_nul(v: &Value) -> Result<(), crate::ScimError> {
    // Recursion is bounded: serde_json refuses documents nested deeper than 128.
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(walk),
            Value::Object(o) => o.iter().any(|(k, x)| k.contains('\0') || walk(x)),
            _ => false,
        }
    }
    if walk(v) {
        return Err(crate::ScimError::invalid_value(
            "the request holds the NUL character (U+0000), which cannot be stored; remove it",
        ));
    }
    Ok(())
}

/// Case-insensitive key lookup: exact match first (normalised documents use
/// canonical names, so this is the common case), then a scan without allocating.
pub fn get_ci<'a>(obj: &'a JsonObject, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The actual key spelling in `obj` that matches `key` case-insensitively.
pub(crate) fn key_ci<'a>(obj: &'a JsonObject, key: &str) -> Option<&'a str> {
    if let Some((k, _)) = obj.get_key_value(key) {
        return Some(k.as_str());
    }
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .map(String::as_str)
}

/// Removes `key` (case-insensitively) and returns its value.
pub(crate) fn remove_ci(obj: &mut JsonObject, key: &str) -> Option<Value> {
    let k = key_ci(obj, key)?.to_owned();
    obj.remove(&k)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(path: &str, expected: &str, got: &Value) -> ScimError {
    ScimError::invalid_value(format!(
        "attribute {path:?}: expected {expected}, got {}",
        type_name(got)
    ))
}

/// Normalises a client-supplied value for `def`. `Ok(None)` means "no value"
/// (the client sent `null`, `""`, `[]` or an object with nothing in it),
/// which callers treat as "clear the attribute".
///
/// Read-only sub-attributes and unknown sub-attributes are dropped, as
/// RFC 7643 §2.2 asks of read-only input.
pub(crate) fn normalize(
    def: &AttributeDef,
    path: &str,
    v: &Value,
) -> Result<Option<Value>, ScimError> {
    if def.multi_valued {
        let items: &[Value] = match v {
            Value::Null => return Ok(None),
            Value::String(s) if s.is_empty() => return Ok(None),
            Value::Array(a) => a,
            // A lone value where an array belongs: treat it as a one-element array.
            other => std::slice::from_ref(other),
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(n) = normalize_single(def, path, item)? {
                out.push(n);
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        if def.is_complex() {
            keep_one_primary(&mut out, false);
        }
        return Ok(Some(Value::Array(out)));
    }
    match v {
        // Entra sends single-valued complex attributes (manager) as a
        // one-element array; an empty array clears.
        Value::Array(a) if a.is_empty() => Ok(None),
        Value::Array(a) if a.len() == 1 => normalize_single(def, path, &a[0]),
        Value::Array(_) => Err(ScimError::invalid_value(format!(
            "attribute {path:?} is single-valued but got several values"
        ))),
        other => normalize_single(def, path, other),
    }
}

/// Ensures `primary: true` appears at most once (RFC 7643 §2.4). With
/// `prefer_last`, the last true wins (a PATCH `add` of a new primary);
/// otherwise the first does.
pub(crate) fn keep_one_primary(items: &mut [Value], prefer_last: bool) {
    let is_primary = |v: &Value| {
        v.as_object()
            .and_then(|o| get_ci(o, "primary"))
            .and_then(Value::as_bool)
            == Some(true)
    };
    let winner = if prefer_last {
        items.iter().rposition(is_primary)
    } else {
        items.iter().position(is_primary)
    };
    let Some(winner) = winner else { return };
    for (i, item) in items.iter_mut().enumerate() {
        if i != winner
            && is_primary(item)
            && let Some(o) = item.as_object_mut()
        {
            o.insert("primary".into(), Value::Bool(false));
        }
    }
}

fn normalize_single(def: &AttributeDef, path: &str, v: &Value) -> Result<Option<Value>, ScimError> {
    if v.is_null() {
        return Ok(None);
    }
    if def.is_complex() {
        return normalize_complex(def, path, v);
    }
    normalize_scalar(def, path, v)
}

fn normalize_complex(
    def: &AttributeDef,
    path: &str,
    v: &Value,
) -> Result<Option<Value>, ScimError> {
    let obj = match v {
        Value::Object(o) => o,
        // A plain id where `{ "value": id }` belongs (Entra's and Okta's
        // manager, or member lists of bare ids).
        Value::String(_) | Value::Number(_) | Value::Bool(_) if def.sub_attr("value").is_some() => {
            let mut o = JsonObject::new();
            let sub = def
                .sub_attr("value")
                .map(|d| d.name.clone())
                .unwrap_or_default();
            if let Some(n) = normalize_scalar_sub(def, &sub, path, v)? {
                o.insert(sub, n);
            }
            return Ok(if o.is_empty() {
                None
            } else {
                Some(Value::Object(o))
            });
        }
        other => return Err(wrong_type(path, "an object", other)),
    };
    let mut out = JsonObject::new();
    for (k, val) in obj {
        let Some(sub) = def.sub_attr(k) else { continue };
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        let sub_path = format!("{path}.{}", sub.name);
        if let Some(n) = normalize(sub, &sub_path, val)? {
            out.insert(sub.name.clone(), n);
        }
    }
    Ok(if out.is_empty() {
        None
    } else {
        Some(Value::Object(out))
    })
}

fn normalize_scalar_sub(
    def: &AttributeDef,
    sub: &str,
    path: &str,
    v: &Value,
) -> Result<Option<Value>, ScimError> {
    match def.sub_attr(sub) {
        Some(s) => normalize_scalar(s, &format!("{path}.{}", s.name), v),
        None => Ok(None),
    }
}

/// Normalises a non-complex value.
pub(crate) fn normalize_scalar(
    def: &AttributeDef,
    path: &str,
    v: &Value,
) -> Result<Option<Value>, ScimError> {
    if let Value::String(s) = v
        && s.is_empty()
    {
        return Ok(None);
    }
    match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => match v {
            Value::String(s) => {
                if def.enforce_canonical {
                    let found = def.canonical_values.iter().find(|c| {
                        if def.case_exact {
                            *c == s
                        } else {
                            c.eq_ignore_ascii_case(s)
                        }
                    });
                    return match found {
                        Some(c) => Ok(Some(Value::String(c.clone()))),
                        None => Err(ScimError::invalid_value(format!(
                            "attribute {path:?}: {s:?} is not one of {:?}",
                            def.canonical_values
                        ))),
                    };
                }
                Ok(Some(v.clone()))
            }
            // Numeric ids (employeeNumber, externalId) often arrive unquoted.
            Value::Number(n) if !def.enforce_canonical => Ok(Some(Value::String(n.to_string()))),
            other => Err(wrong_type(path, "a string", other)),
        },
        AttrType::Boolean => match v {
            Value::Bool(_) => Ok(Some(v.clone())),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            other => Err(wrong_type(path, "a boolean", other)),
        },
        AttrType::Integer => {
            let n = match v {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                }),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            n.map(|n| Some(Value::from(n)))
                .ok_or_else(|| wrong_type(path, "an integer", v))
        }
        AttrType::Decimal => {
            let n = match v {
                Value::Number(n) => Some(n.clone()),
                Value::String(s) => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64),
                _ => None,
            };
            n.map(|n| Some(Value::Number(n)))
                .ok_or_else(|| wrong_type(path, "a decimal number", v))
        }
        AttrType::DateTime => match v {
            Value::String(s) if parse_datetime(s).is_some() => Ok(Some(v.clone())),
            Value::String(s) => Err(ScimError::invalid_value(format!(
                "attribute {path:?}: {s:?} is not an xsd:dateTime such as 2024-05-01T12:00:00Z"
            ))),
            other => Err(wrong_type(path, "a dateTime string", other)),
        },
        AttrType::Complex => Err(wrong_type(path, "an object", v)),
    }
}

/// Parses an xsd:dateTime: RFC 3339, or without a zone (taken as UTC, as
/// Entra's samples omit it).
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    if s.len() < 40 && !s.ends_with(['Z', 'z']) {
        let mut with_zone = String::with_capacity(s.len() + 1);
        with_zone.push_str(s);
        with_zone.push('Z');
        return OffsetDateTime::parse(&with_zone, &Rfc3339).ok();
    }
    None
}

/// Formats a timestamp as SCIM wants it (RFC 3339).
pub fn format_datetime(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn lower_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// The one case fold of Roster: Unicode lower case, character by character (so a
/// word-final Σ folds to σ, as every other Σ does, not to ς). Filters, indexed columns,
/// the attribute index, the API's and the admin's searches all fold with this, so a value
/// stored as `ΟΔΥΣΣΕΥΣ` is found as `οδυσσευσ` everywhere.
pub fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        lower_chars(s).collect()
    }
}

/// String equality honouring `caseExact`, without allocating.
pub fn str_eq(a: &str, b: &str, case_exact: bool) -> bool {
    if case_exact {
        a == b
    } else if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        lower_chars(a).eq(lower_chars(b))
    }
}

/// String ordering honouring `caseExact`, without allocating.
pub fn str_cmp(a: &str, b: &str, case_exact: bool) -> Ordering {
    if case_exact {
        a.cmp(b)
    } else {
        lower_chars(a).cmp(lower_chars(b))
    }
}

/// Substring tests (`co`, `sw`, `ew`) honouring `caseExact`. ASCII inputs
/// (the common case) are compared in place; others are lower-cased first.
pub(crate) fn str_match(hay: &str, needle: &str, case_exact: bool, how: SubstringOp) -> bool {
    if case_exact {
        return match how {
            SubstringOp::Contains => hay.contains(needle),
            SubstringOp::StartsWith => hay.starts_with(needle),
            SubstringOp::EndsWith => hay.ends_with(needle),
        };
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        return match how {
            SubstringOp::StartsWith => h[..n.len()].eq_ignore_ascii_case(n),
            SubstringOp::EndsWith => h[h.len() - n.len()..].eq_ignore_ascii_case(n),
            SubstringOp::Contains => {
                n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
            }
        };
    }
    let (h, n) = (fold_case(hay), fold_case(needle));
    match how {
        SubstringOp::Contains => h.contains(&n),
        SubstringOp::StartsWith => h.starts_with(&n),
        SubstringOp::EndsWith => h.ends_with(&n),
    }
}

/// Which substring test [`str_match`] performs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SubstringOp {
    Contains,
    StartsWith,
    EndsWith,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::SchemaRegistry;

    fn user_attr(name: &str) -> AttributeDef {
        SchemaRegistry::standard()
            .user()
            .core_attr(name)
            .unwrap()
            .clone()
    }

    #[test]
    fn entra_string_booleans_and_clearing() {
        let active = user_attr("active");
        assert_eq!(
            normalize(&active, "active", &json!("True")).unwrap(),
            Some(json!(true))
        );
        assert_eq!(
            normalize(&active, "active", &json!("false")).unwrap(),
            Some(json!(false))
        );
        assert_eq!(normalize(&active, "active", &json!(null)).unwrap(), None);
        assert_eq!(normalize(&active, "active", &json!("")).unwrap(), None);
        let e = normalize(&active, "active", &json!("yes")).unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue));
    }

    #[test]
    fn complex_values_get_canonical_names_and_drop_unknown_and_read_only() {
        let emails = user_attr("emails");
        let v = json!([{"VALUE": "a@x.com", "Type": "work", "Primary": "True", "bogus": 1}]);
        assert_eq!(
            normalize(&emails, "emails", &v).unwrap(),
            Some(json!([{"value": "a@x.com", "type": "work", "primary": true}]))
        );
        // A lone object where an array belongs.
        assert_eq!(
            normalize(&emails, "emails", &json!({"value": "b@x.com"})).unwrap(),
            Some(json!([{"value": "b@x.com"}]))
        );
        assert_eq!(normalize(&emails, "emails", &json!([])).unwrap(), None);
        let groups = user_attr("groups");
        assert_eq!(
            normalize(&groups, "groups", &json!([{"display": "x"}])).unwrap(),
            None
        );
    }

    #[test]
    fn at_most_one_primary() {
        let emails = user_attr("emails");
        let v = json!([{"value": "a", "primary": true}, {"value": "b", "primary": true}]);
        assert_eq!(
            normalize(&emails, "emails", &v).unwrap(),
            Some(json!([{"value": "a", "primary": true}, {"value": "b", "primary": false}]))
        );
    }

    #[test]
    fn scalar_types() {
        let mut int = AttributeDef::new("n", AttrType::Integer);
        assert_eq!(normalize(&int, "n", &json!("42")).unwrap(), Some(json!(42)));
        assert_eq!(normalize(&int, "n", &json!(4.0)).unwrap(), Some(json!(4)));
        assert!(normalize(&int, "n", &json!(4.5)).is_err());
        int.ty = AttrType::Decimal;
        assert_eq!(
            normalize(&int, "n", &json!("4.5")).unwrap(),
            Some(json!(4.5))
        );
        int.ty = AttrType::DateTime;
        assert!(
            normalize(&int, "n", &json!("2018-03-27T19:59:26.000Z"))
                .unwrap()
                .is_some()
        );
        assert!(
            normalize(&int, "n", &json!("2018-03-27T19:59:26"))
                .unwrap()
                .is_some()
        );
        assert!(normalize(&int, "n", &json!("yesterday")).is_err());
        let s = AttributeDef::new("s", AttrType::String);
        assert_eq!(
            normalize(&s, "s", &json!(12345)).unwrap(),
            Some(json!("12345"))
        );
        assert!(normalize(&s, "s", &json!(true)).is_err());
        assert!(normalize(&s, "s", &json!(["a", "b"])).is_err());
    }

    #[test]
    fn canonical_values_enforced_when_asked() {
        let mut s = AttributeDef::new("tier", AttrType::String);
        s.canonical_values = vec!["Gold".into(), "Silver".into()];
        s.enforce_canonical = true;
        assert_eq!(
            normalize(&s, "tier", &json!("gold")).unwrap(),
            Some(json!("Gold"))
        );
        assert!(normalize(&s, "tier", &json!("bronze")).is_err());
    }

    #[test]
    fn string_comparisons() {
        assert!(str_eq("Bjensen", "bjensen", false));
        assert!(!str_eq("Bjensen", "bjensen", true));
        assert!(str_eq("ÄBC", "äbc", false));
        assert_eq!(str_cmp("b", "A", false), Ordering::Greater);
        assert!(str_match(
            "Foo@Example.com",
            "EXAMPLE",
            false,
            SubstringOp::Contains
        ));
        assert!(str_match(
            "Foo@Example.com",
            "foo",
            false,
            SubstringOp::StartsWith
        ));
        assert!(!str_match(
            "Foo@Example.com",
            "foo",
            true,
            SubstringOp::StartsWith
        ));
        assert!(str_match("Ärger", "är", false, SubstringOp::StartsWith));
        assert!(str_match("x", "", false, SubstringOp::Contains));
    }
}
