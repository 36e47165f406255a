//! Resources in: parsing and validating User and Group bodies (POST, PUT).
//!
//! The output is a *document*: a JSON object with canonical attribute names,
//! core attributes at the top level and extension attributes under their
//! schema URN, without `id`, `meta`, `schemas`, `password` or (for groups)
//! `members`. That is what the server stores; [`render`] turns it back into a
//! wire resource.

mod render;
mod view;

use serde_json::Value;

pub use render::{Member, MemberKind, StoredResource, etag_matches, render, weak_etag};
pub use view::{Email, GroupView, UserView};

use crate::error::ScimError;
use crate::path::AttrPath;
use crate::schema::{AttributeDef, Mutability, Resolved, ResourceKind, ResourceSchema, SchemaDef};
use crate::value::{JsonObject, get_ci, normalize, remove_ci};

/// What to do with attributes the schema does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownAttributes {
    /// Drop them and list them in [`ParsedResource::ignored`]. The default:
    /// Entra sends attributes such as top-level `department: null` and an
    /// extra Group schema URN that a strict server would refuse.
    #[default]
    Ignore,
    /// Fail with `invalidSyntax`.
    Reject,
}

/// Options for [`parse_resource`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// Handling of undefined attributes.
    pub unknown_attributes: UnknownAttributes,
}

/// A validated, normalised resource body.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedResource {
    /// The document to store (see the module docs for its shape).
    pub document: JsonObject,
    /// Group member ids, in the order given, without duplicates (always empty for users).
    pub members: Vec<String>,
    /// Top-level attribute names that were not recognised and were dropped.
    pub ignored: Vec<String>,
}

impl ParsedResource {
    /// Typed accessors for a User document.
    pub fn user(&self) -> UserView<'_> {
        UserView::new(&self.document)
    }
    /// Typed accessors for a Group document.
    pub fn group(&self) -> GroupView<'_> {
        GroupView::new(&self.document)
    }
}

/// Parses a POST body into a document. `readOnly` attributes (`id`, `meta`,
/// `groups`…) are ignored, `password` is accepted and dropped, names match
/// case-insensitively, extension attributes may come under their URN or as
/// `urn:…:attr` keys, dotted keys (`name.givenName`) are accepted, and
/// required attributes must be present.
pub fn parse_resource(
    schema: &ResourceSchema,
    body: &Value,
    opts: ParseOptions,
) -> Result<ParsedResource, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    let mut b = Builder {
        schema,
        opts,
        out: ParsedResource {
            document: JsonObject::new(),
            members: Vec::new(),
            ignored: Vec::new(),
        },
    };
    for (key, value) in obj {
        b.top_level(key, value)?;
    }
    check_required(schema, &b.out.document)?;
    Ok(b.out)
}

/// Parses a PUT body: like [`parse_resource`], and additionally an
/// `immutable` attribute that `existing` already has may not change (an
/// omitted one keeps its value).
pub fn parse_replacement(
    schema: &ResourceSchema,
    body: &Value,
    existing: &JsonObject,
    opts: ParseOptions,
) -> Result<ParsedResource, ScimError> {
    let mut parsed = parse_resource(schema, body, opts)?;
    for (ext, attr) in all_attrs(schema) {
        if attr.mutability != Mutability::Immutable {
            continue;
        }
        let Some(old) = container(existing, ext).and_then(|c| get_ci(c, &attr.name)) else {
            continue;
        };
        let changed = with_container(&mut parsed.document, ext, |c| match c.get(&attr.name) {
            None => {
                c.insert(attr.name.clone(), old.clone());
                false
            }
            Some(new) => new != old,
        });
        if changed {
            return Err(ScimError::mutability(format!(
                "attribute {:?} is immutable and already set",
                ResourceSchema::canonical_path(ext, attr, None)
            )));
        }
    }
    Ok(parsed)
}

/// Parses a User body with default options.
pub fn parse_user(schema: &ResourceSchema, body: &Value) -> Result<ParsedResource, ScimError> {
    parse_resource(schema, body, ParseOptions::default())
}

/// Parses a Group body with default options into (document without members, member ids).
pub fn parse_group(
    schema: &ResourceSchema,
    body: &Value,
) -> Result<(JsonObject, Vec<String>), ScimError> {
    let p = parse_resource(schema, body, ParseOptions::default())?;
    Ok((p.document, p.members))
}

/// Every top-level attribute with the extension it lives in.
pub(crate) fn all_attrs(
    schema: &ResourceSchema,
) -> impl Iterator<Item = (Option<&SchemaDef>, &AttributeDef)> {
    schema
        .common()
        .attributes
        .iter()
        .chain(schema.core().attributes.iter())
        .map(|a| (None, a))
        .chain(
            schema
                .extensions()
                .flat_map(|e| e.attributes.iter().map(move |a| (Some(e), a))),
        )
}

/// The object holding an attribute: the document or its extension object.
pub(crate) fn container<'d>(
    doc: &'d JsonObject,
    ext: Option<&SchemaDef>,
) -> Option<&'d JsonObject> {
    match ext {
        None => Some(doc),
        Some(e) => get_ci(doc, &e.id)?.as_object(),
    }
}

/// Runs `f` on the object holding an attribute: the document itself, or its
/// extension object (created when missing, dropped again when left empty, so
/// `schemas` only ever lists extensions in use).
pub(crate) fn with_container<R>(
    doc: &mut JsonObject,
    ext: Option<&SchemaDef>,
    f: impl FnOnce(&mut JsonObject) -> R,
) -> R {
    let Some(e) = ext else { return f(doc) };
    let mut obj = match remove_ci(doc, &e.id) {
        Some(Value::Object(o)) => o,
        _ => JsonObject::new(),
    };
    let r = f(&mut obj);
    if !obj.is_empty() {
        doc.insert(e.id.clone(), Value::Object(obj));
    }
    r
}

/// Extracts member ids from a `members` value: objects whose `value` is a
/// non-empty string. Duplicates are dropped, order kept.
pub(crate) fn member_ids(v: &Value) -> Result<Vec<String>, ScimError> {
    let items: &[Value] = match v {
        Value::Null => &[],
        Value::Array(a) => a,
        other => std::slice::from_ref(other),
    };
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let id = item
            .as_object()
            .and_then(|o| get_ci(o, "value"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ScimError::invalid_value(
                    "each member must be an object whose \"value\" is the member's id as a string",
                )
            })?;
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

fn is_password(ext: Option<&SchemaDef>, attr: &AttributeDef) -> bool {
    ext.is_none() && attr.name == "password"
}

pub(crate) fn is_members(
    schema: &ResourceSchema,
    ext: Option<&SchemaDef>,
    attr: &AttributeDef,
) -> bool {
    schema.kind() == ResourceKind::Group && ext.is_none() && attr.name == "members"
}

fn check_required(schema: &ResourceSchema, doc: &JsonObject) -> Result<(), ScimError> {
    for (ext, attr) in all_attrs(schema) {
        if attr.mutability == Mutability::ReadOnly || is_members(schema, ext, attr) {
            continue;
        }
        // An optional extension's required attributes apply once it is used.
        let Some(c) = container(doc, ext) else {
            continue;
        };
        let value = c.get(&attr.name);
        if attr.required && value.is_none() {
            return Err(ScimError::invalid_value(format!(
                "attribute {:?} is required",
                ResourceSchema::canonical_path(ext, attr, None)
            )));
        }
        let required_subs = attr.sub_attributes.iter().filter(|s| s.required);
        for sub in required_subs {
            let elems: &[Value] = match value {
                Some(Value::Array(a)) => a,
                Some(v) => std::slice::from_ref(v),
                None => &[],
            };
            if elems
                .iter()
                .any(|e| e.as_object().is_none_or(|o| !o.contains_key(&sub.name)))
            {
                return Err(ScimError::invalid_value(format!(
                    "attribute {:?} is required in every {:?} value",
                    ResourceSchema::canonical_path(ext, attr, Some(sub)),
                    attr.name
                )));
            }
        }
    }
    Ok(())
}

struct Builder<'s> {
    schema: &'s ResourceSchema,
    opts: ParseOptions,
    out: ParsedResource,
}

impl<'s> Builder<'s> {
    fn unknown(&mut self, key: &str) -> Result<(), ScimError> {
        match self.opts.unknown_attributes {
            UnknownAttributes::Ignore => {
                self.out.ignored.push(key.to_owned());
                Ok(())
            }
            UnknownAttributes::Reject => Err(ScimError::invalid_syntax(format!(
                "unknown attribute {key:?} for {}",
                self.schema.kind().name()
            ))),
        }
    }

    fn top_level(&mut self, key: &str, value: &Value) -> Result<(), ScimError> {
        if key.eq_ignore_ascii_case("schemas") {
            return match value {
                Value::Array(a) if a.iter().all(Value::is_string) => Ok(()),
                _ => Err(ScimError::invalid_syntax(
                    "\"schemas\" must be an array of URNs",
                )),
            };
        }
        let schema = self.schema;
        if let Some(ext) = schema.extension(key) {
            return match value {
                Value::Null => Ok(()),
                Value::Object(o) => {
                    for (k, v) in o {
                        match ext.attr(k) {
                            Some(attr) => self.set(Some(ext), attr, None, v)?,
                            None => self.unknown(&format!("{}:{k}", ext.id))?,
                        }
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_syntax(format!(
                    "extension {:?} must be a JSON object",
                    ext.id
                ))),
            };
        }
        // `urn:…:attr` and dotted keys (Entra) are paths; plain keys are names.
        // (Byte comparison: a key may start with a multi-byte character.)
        let is_path = key
            .as_bytes()
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"urn:"))
            || key.contains('.');
        let resolved = if is_path {
            AttrPath::parse(key).ok().and_then(|p| schema.resolve(&p))
        } else {
            schema
                .find_attr(None, key)
                .map(|(extension, attr)| Resolved::Attr {
                    extension,
                    attr,
                    sub: None,
                })
        };
        match resolved {
            Some(Resolved::Attr {
                extension,
                attr,
                sub,
            }) => self.set(extension, attr, sub, value),
            _ => self.unknown(key),
        }
    }

    fn set(
        &mut self,
        ext: Option<&SchemaDef>,
        attr: &AttributeDef,
        sub: Option<&AttributeDef>,
        value: &Value,
    ) -> Result<(), ScimError> {
        if attr.mutability == Mutability::ReadOnly
            || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
            || is_password(ext, attr)
        {
            return Ok(());
        }
        if is_members(self.schema, ext, attr) {
            self.out.members = member_ids(value)?;
            return Ok(());
        }
        let path = ResourceSchema::canonical_path(ext, attr, sub);
        let n = normalize(sub.unwrap_or(attr), &path, value)?;
        with_container(&mut self.out.document, ext, |c| match sub {
            None => match n {
                Some(v) => {
                    c.insert(attr.name.clone(), v);
                }
                None => {
                    c.remove(&attr.name);
                }
            },
            Some(sub) => {
                let parent = c
                    .entry(attr.name.clone())
                    .or_insert_with(|| Value::Object(JsonObject::new()));
                if let (Value::Object(p), Some(n)) = (&mut *parent, n) {
                    p.insert(sub.name.clone(), n);
                }
                if parent.as_object().is_some_and(|o| o.is_empty()) {
                    c.remove(&attr.name);
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
