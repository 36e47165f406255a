//! Filter evaluation against JSON resources, and validation against a schema.

use std::cmp::Ordering;

use serde_json::Value;

use super::{CompValue, CompareOp, Filter};
use crate::error::ScimError;
use crate::path::AttrPath;
use crate::schema::{AttrType, AttributeDef, Resolved, ResourceSchema};
use crate::value::{JsonObject, SubstringOp, get_ci, parse_datetime, str_cmp, str_eq, str_match};

/// Whether `resource` satisfies `filter`. `resource` is a full resource
/// object (as rendered, with `id` and `meta`); attribute names in it are
/// matched case-insensitively. Paths unknown to `schema` never match.
pub fn matches(filter: &Filter, resource: &JsonObject, schema: &ResourceSchema) -> bool {
    eval_resource(filter, resource, schema)
}

fn eval_resource(f: &Filter, doc: &JsonObject, schema: &ResourceSchema) -> bool {
    match f {
        Filter::And(l, r) => eval_resource(l, doc, schema) && eval_resource(r, doc, schema),
        Filter::Or(l, r) => eval_resource(l, doc, schema) || eval_resource(r, doc, schema),
        Filter::Not(inner) => !eval_resource(inner, doc, schema),
        Filter::Present(path) => match schema.resolve(path) {
            Some(Resolved::Attr { sub, .. }) => {
                present_attr(sub, lookup(doc, schema, path).map(|(_, v)| v))
            }
            _ => false,
        },
        Filter::Compare { path, op, value } => {
            let Some(Resolved::Attr { attr, sub, .. }) = schema.resolve(path) else {
                return false;
            };
            let found = lookup(doc, schema, path).map(|(_, v)| v);
            compare_attr(attr, sub, found, *op, value)
        }
        Filter::ValuePath { path, filter } => {
            let Some((attr, v)) = lookup(doc, schema, path) else {
                return false;
            };
            match v {
                Value::Array(items) => items.iter().any(|e| eval_element(filter, attr, e)),
                Value::Object(_) => eval_element(filter, attr, v),
                _ => false,
            }
        }
    }
}

/// Finds the attribute's value in the document (top level or under its
/// extension URN), with its definition. A sub-attribute path yields the
/// parent's value; callers descend.
fn lookup<'d, 's>(
    doc: &'d JsonObject,
    schema: &'s ResourceSchema,
    path: &AttrPath,
) -> Option<(&'s AttributeDef, &'d Value)> {
    let Resolved::Attr {
        extension, attr, ..
    } = schema.resolve(path)?
    else {
        return None;
    };
    let container = match extension {
        Some(ext) => get_ci(doc, &ext.id)?.as_object()?,
        None => doc,
    };
    Some((attr, get_ci(container, &attr.name)?))
}

/// `pr` on an attribute, or on a sub-attribute of each of its elements.
fn present_attr(sub: Option<&AttributeDef>, found: Option<&Value>) -> bool {
    let Some(v) = found else { return false };
    let Some(s) = sub else {
        return is_present(v);
    };
    let sub_present = |e: &Value| {
        e.as_object()
            .and_then(|o| get_ci(o, &s.name))
            .is_some_and(is_present)
    };
    match v {
        Value::Array(items) => items.iter().any(sub_present),
        other => sub_present(other),
    }
}

/// Whether a value counts as present for `pr` (RFC 7644 §3.4.2.2): not `null`, not an
/// empty string, and for arrays and objects, holding a present value.
pub fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

/// Compares the value(s) of `attr` (or of its sub-attribute `sub`).
fn compare_attr(
    attr: &AttributeDef,
    sub: Option<&AttributeDef>,
    found: Option<&Value>,
    op: CompareOp,
    expected: &CompValue,
) -> bool {
    // Which scalar to compare in each element: the named sub-attribute, or
    // for complex attributes compared as a whole, their `value`.
    let (leaf_def, leaf_key) = match (sub, attr.is_complex()) {
        (Some(s), _) => (s, Some(s.name.as_str())),
        (None, true) => match attr.sub_attr("value") {
            Some(v) => (v, Some(v.name.as_str())),
            None => return absent_result(op, expected),
        },
        (None, false) => (attr, None),
    };
    fn leaf<'v>(elem: &'v Value, key: Option<&str>) -> Option<&'v Value> {
        match key {
            Some(k) => elem.as_object().and_then(|o| get_ci(o, k)),
            None => Some(elem),
        }
    }
    let mut any_value = false;
    let mut hit = false;
    let mut check = |elem: &Value| {
        if let Some(v) = leaf(elem, leaf_key).filter(|v| is_present(v)) {
            any_value = true;
            hit = hit || compare_scalar(leaf_def, v, op, expected);
        }
    };
    match found {
        Some(Value::Array(items)) => items.iter().for_each(&mut check),
        Some(v) => check(v),
        None => {}
    }
    if any_value {
        hit
    } else {
        absent_result(op, expected)
    }
}

/// An attribute without a value matches `ne` and `eq null`, nothing else.
fn absent_result(op: CompareOp, expected: &CompValue) -> bool {
    match op {
        CompareOp::Eq => matches!(expected, CompValue::Null),
        CompareOp::Ne => !matches!(expected, CompValue::Null),
        _ => false,
    }
}

fn ordering_holds(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn number_text(expected: &CompValue) -> Option<std::borrow::Cow<'_, str>> {
    match expected {
        CompValue::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
        CompValue::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        CompValue::Bool(b) => Some(std::borrow::Cow::Borrowed(if *b {
            "true"
        } else {
            "false"
        })),
        CompValue::Null => None,
    }
}

fn compare_scalar(def: &AttributeDef, actual: &Value, op: CompareOp, expected: &CompValue) -> bool {
    if matches!(expected, CompValue::Null) {
        // A present value is never equal to null.
        return op == CompareOp::Ne;
    }
    match def.ty {
        AttrType::Boolean => {
            let want = match expected {
                CompValue::Bool(b) => Some(*b),
                CompValue::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
                CompValue::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            };
            let got = match actual {
                Value::Bool(b) => Some(*b),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            };
            match (op, got, want) {
                (CompareOp::Eq, Some(g), Some(w)) => g == w,
                (CompareOp::Ne, Some(g), Some(w)) => g != w,
                (CompareOp::Ne, _, None) => true,
                _ => false,
            }
        }
        AttrType::Integer | AttrType::Decimal => {
            let got = match actual {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            let want = match expected {
                CompValue::Number(n) => n.as_f64(),
                CompValue::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match (got, want) {
                (Some(g), Some(w)) => g.partial_cmp(&w).is_some_and(|o| ordering_holds(op, o)),
                _ => op == CompareOp::Ne,
            }
        }
        AttrType::DateTime => {
            let (Some(got), Some(want)) = (actual.as_str(), number_text(expected)) else {
                return op == CompareOp::Ne;
            };
            match (parse_datetime(got), parse_datetime(&want)) {
                (Some(g), Some(w)) => ordering_holds(op, g.cmp(&w)),
                _ => compare_text(got, &want, true, op),
            }
        }
        AttrType::Complex => false,
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            let got: std::borrow::Cow<'_, str> = match actual {
                Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                Value::Number(n) => std::borrow::Cow::Owned(n.to_string()),
                Value::Bool(b) => std::borrow::Cow::Owned(b.to_string()),
                _ => return false,
            };
            match number_text(expected) {
                Some(want) => compare_text(&got, &want, def.case_exact, op),
                None => op == CompareOp::Ne,
            }
        }
    }
}

fn compare_text(got: &str, want: &str, case_exact: bool, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => str_eq(got, want, case_exact),
        CompareOp::Ne => !str_eq(got, want, case_exact),
        CompareOp::Co => str_match(got, want, case_exact, SubstringOp::Contains),
        CompareOp::Sw => str_match(got, want, case_exact, SubstringOp::StartsWith),
        CompareOp::Ew => str_match(got, want, case_exact, SubstringOp::EndsWith),
        _ => ordering_holds(op, str_cmp(got, want, case_exact)),
    }
}

/// Evaluates a value-filter body against one element of `parent`.
fn eval_element(f: &Filter, parent: &AttributeDef, elem: &Value) -> bool {
    match f {
        Filter::And(l, r) => eval_element(l, parent, elem) && eval_element(r, parent, elem),
        Filter::Or(l, r) => eval_element(l, parent, elem) || eval_element(r, parent, elem),
        Filter::Not(inner) => !eval_element(inner, parent, elem),
        Filter::Present(path) => {
            element_leaf(parent, elem, &path.name).is_some_and(|(_, v)| is_present(v))
        }
        Filter::Compare { path, op, value } => match element_leaf(parent, elem, &path.name) {
            Some((def, v)) if is_present(v) => compare_scalar(def, v, *op, value),
            Some(_) => absent_result(*op, value),
            // The sub-attribute is defined but this element lacks it.
            None if element_def(parent, &path.name).is_some() => absent_result(*op, value),
            None => false,
        },
        // The parser never nests value paths.
        Filter::ValuePath { .. } => false,
    }
}

fn element_def<'a>(parent: &'a AttributeDef, name: &str) -> Option<&'a AttributeDef> {
    if parent.is_complex() {
        parent.sub_attr(name)
    } else if name.eq_ignore_ascii_case("value") {
        // Elements of a simple multi-valued attribute are called `value`.
        Some(parent)
    } else {
        None
    }
}

fn element_leaf<'a, 'v>(
    parent: &'a AttributeDef,
    elem: &'v Value,
    name: &str,
) -> Option<(&'a AttributeDef, &'v Value)> {
    let def = element_def(parent, name)?;
    if parent.is_complex() {
        let v = get_ci(elem.as_object()?, &def.name)?;
        Some((def, v))
    } else {
        Some((def, elem))
    }
}

/// Checks `filter` against `schema`: every path must name a known attribute,
/// `gt/ge/lt/le` may not target booleans, binaries or complex attributes
/// without a `value`, booleans compare only with booleans, dates only with
/// dates, numbers only with numbers, and `[...]` only follows multi-valued or
/// complex attributes. Failures are `invalidFilter` (RFC 7644 §3.4.2.2).
pub fn validate(filter: &Filter, schema: &ResourceSchema) -> Result<(), ScimError> {
    match filter {
        Filter::And(l, r) | Filter::Or(l, r) => {
            validate(l, schema)?;
            validate(r, schema)
        }
        Filter::Not(inner) => validate(inner, schema),
        Filter::Present(path) => resolve_for_filter(schema, path).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let (attr, sub) = resolve_for_filter(schema, path)?;
            let leaf = match (sub, attr.is_complex()) {
                (Some(s), _) => s,
                (None, true) => attr.sub_attr("value").ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "'{path}' is complex; compare one of its sub-attributes"
                    ))
                })?,
                (None, false) => attr,
            };
            check_comparison(leaf, &path.to_string(), *op, value)
        }
        Filter::ValuePath { path, filter } => {
            let (attr, _) = resolve_for_filter(schema, path)?;
            if !attr.multi_valued && !attr.is_complex() {
                return Err(ScimError::invalid_filter(format!(
                    "'{path}' is neither multi-valued nor complex, so '[...]' cannot filter it"
                )));
            }
            validate_element(filter, attr, path)
        }
    }
}

fn resolve_for_filter<'s>(
    schema: &'s ResourceSchema,
    path: &AttrPath,
) -> Result<(&'s AttributeDef, Option<&'s AttributeDef>), ScimError> {
    match schema.resolve(path) {
        Some(Resolved::Attr { attr, sub, .. }) => Ok((attr, sub)),
        Some(Resolved::Extension(_)) => Err(ScimError::invalid_filter(format!(
            "'{path}' is a schema, not an attribute"
        ))),
        None => Err(ScimError::invalid_filter(format!(
            "unknown attribute '{path}' for {}",
            schema.kind().name()
        ))),
    }
}

fn validate_element(
    f: &Filter,
    parent: &AttributeDef,
    parent_path: &AttrPath,
) -> Result<(), ScimError> {
    match f {
        Filter::And(l, r) | Filter::Or(l, r) => {
            validate_element(l, parent, parent_path)?;
            validate_element(r, parent, parent_path)
        }
        Filter::Not(inner) => validate_element(inner, parent, parent_path),
        Filter::Present(p) | Filter::Compare { path: p, .. } => {
            let def = element_def(parent, &p.name).ok_or_else(|| {
                ScimError::invalid_filter(format!(
                    "'{parent_path}' has no sub-attribute '{}'",
                    p.name
                ))
            })?;
            if let Filter::Compare { op, value, .. } = f {
                check_comparison(def, &format!("{parent_path}.{}", p.name), *op, value)?;
            }
            Ok(())
        }
        Filter::ValuePath { .. } => {
            Err(ScimError::invalid_filter("value filters cannot be nested"))
        }
    }
}

fn check_comparison(
    def: &AttributeDef,
    path: &str,
    op: CompareOp,
    value: &CompValue,
) -> Result<(), ScimError> {
    let bad = |why: &str| {
        Err(ScimError::invalid_filter(format!(
            "'{path}' {}: {why}",
            op.as_str()
        )))
    };
    if matches!(value, CompValue::Null) {
        return if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            Ok(())
        } else {
            bad("null can only be compared with eq or ne")
        };
    }
    match def.ty {
        AttrType::Boolean | AttrType::Binary | AttrType::Complex if op.is_ordering() => {
            bad("ordering comparisons are not defined for this attribute type")
        }
        AttrType::Boolean if !matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            bad("booleans support only eq and ne")
        }
        AttrType::Boolean => match value {
            CompValue::Bool(_) => Ok(()),
            CompValue::String(s)
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                Ok(())
            }
            _ => bad("expected true or false"),
        },
        AttrType::Integer | AttrType::Decimal => match value {
            CompValue::Number(_) => Ok(()),
            CompValue::String(s) if s.trim().parse::<f64>().is_ok() => Ok(()),
            _ => bad("expected a number"),
        },
        AttrType::DateTime => match value {
            CompValue::String(s) if parse_datetime(s).is_some() => Ok(()),
            _ => bad("expected a dateTime such as \"2024-05-01T00:00:00Z\""),
        },
        _ => Ok(()),
    }
}

/// Validates a value-filter body (the part inside `[...]`) against the
/// sub-attributes of `parent`.
pub(crate) fn validate_element_filter(f: &Filter, parent: &AttributeDef) -> Result<(), ScimError> {
    validate_element(f, parent, &AttrPath::new(parent.name.clone()))
}

/// Whether one element of `parent` satisfies a value-filter body.
pub(crate) fn matches_element(f: &Filter, parent: &AttributeDef, elem: &Value) -> bool {
    eval_element(f, parent, elem)
}
