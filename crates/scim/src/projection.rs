//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9), honouring
//! each attribute's `returned` characteristic: `always` cannot be excluded,
//! `never` is never returned, `request` only when asked for.

use serde_json::Value;

use crate::error::ScimError;
use crate::path::AttrPath;
use crate::schema::{AttributeDef, Resolved, ResourceSchema, Returned, SchemaDef};
use crate::value::{JsonObject, get_ci};

/// One resolved entry of an attribute list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sel {
    /// Extension URN (canonical), `None` for core and common attributes.
    ext: Option<String>,
    /// Attribute name (canonical); `None` selects the whole extension.
    attr: Option<String>,
    /// Sub-attribute name (canonical).
    sub: Option<String>,
}

impl Sel {
    fn names(&self, ext: Option<&SchemaDef>, attr: &AttributeDef) -> bool {
        self.ext.as_deref() == ext.map(|e| e.id.as_str())
            && self.attr.as_deref().is_none_or(|a| a == attr.name)
    }
}

/// A parsed projection. The default returns every `always` and `default` attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    include: Option<Vec<Sel>>,
    exclude: Vec<Sel>,
}

/// What to do with one top-level attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pick {
    Skip,
    /// Keep it; `only` restricts sub-attributes, `drop` removes some.
    Keep {
        only: Option<Vec<String>>,
        drop: Vec<String>,
    },
}

fn parse_list(
    schema: &ResourceSchema,
    list: Option<&str>,
    param: &str,
) -> Result<Vec<Sel>, ScimError> {
    let mut out = Vec::new();
    for raw in list.unwrap_or_default().split(',') {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let path = AttrPath::parse(raw)
            .map_err(|e| ScimError::invalid_value(format!("{param}: {}", e.detail())))?;
        // Names the schema does not define select nothing (RFC 7644 leaves
        // this open; refusing would break clients that ask for optional extras).
        match schema.resolve(&path) {
            Some(Resolved::Attr {
                extension,
                attr,
                sub,
            }) => out.push(Sel {
                ext: extension.map(|e| e.id.clone()),
                attr: Some(attr.name.clone()),
                sub: sub.map(|s| s.name.clone()),
            }),
            Some(Resolved::Extension(e)) => out.push(Sel {
                ext: Some(e.id.clone()),
                attr: None,
                sub: None,
            }),
            None => {}
        }
    }
    Ok(out)
}

impl Projection {
    /// Every `always` and `default` attribute.
    pub fn all() -> Self {
        Self::default()
    }

    /// Parses the comma-separated `attributes` and `excludedAttributes`
    /// values (either may be absent). Names may be sub-attributes
    /// (`name.givenName`), URN-qualified, or a whole extension URN.
    pub fn parse(
        schema: &ResourceSchema,
        attributes: Option<&str>,
        excluded_attributes: Option<&str>,
    ) -> Result<Self, ScimError> {
        let include = match attributes.map(str::trim) {
            Some(a) if !a.is_empty() => Some(parse_list(schema, Some(a), "attributes")?),
            _ => None,
        };
        Ok(Self {
            include,
            exclude: parse_list(schema, excluded_attributes, "excludedAttributes")?,
        })
    }

    /// From already-split lists (a SearchRequest body carries arrays).
    pub fn from_lists(
        schema: &ResourceSchema,
        attributes: &[String],
        excluded: &[String],
    ) -> Result<Self, ScimError> {
        let a = attributes.join(",");
        let e = excluded.join(",");
        Self::parse(schema, Some(a.as_str()), Some(e.as_str()))
    }

    /// Whether the top-level attribute at `path` would be returned. Use it to
    /// skip loading what will not be shown, e.g. `includes(schema, "members")`
    /// for Entra's `excludedAttributes=members`.
    pub fn includes(&self, schema: &ResourceSchema, path: &str) -> bool {
        let Ok(p) = AttrPath::parse(path) else {
            return false;
        };
        match schema.resolve(&p) {
            Some(Resolved::Attr {
                extension, attr, ..
            }) => self.pick(extension, attr) != Pick::Skip,
            _ => false,
        }
    }

    pub(crate) fn pick(&self, ext: Option<&SchemaDef>, attr: &AttributeDef) -> Pick {
        if attr.returned == Returned::Never {
            return Pick::Skip;
        }
        let mut only: Option<Vec<String>> = None;
        if attr.returned != Returned::Always {
            if let Some(include) = &self.include {
                let whole = include
                    .iter()
                    .any(|s| s.names(ext, attr) && s.sub.is_none());
                if !whole {
                    let subs: Vec<String> = include
                        .iter()
                        .filter(|s| s.names(ext, attr))
                        .filter_map(|s| s.sub.clone())
                        .collect();
                    if subs.is_empty() {
                        return Pick::Skip;
                    }
                    only = Some(subs);
                }
            } else if attr.returned == Returned::Request {
                return Pick::Skip;
            }
            if self
                .exclude
                .iter()
                .any(|s| s.names(ext, attr) && s.sub.is_none())
            {
                return Pick::Skip;
            }
        }
        let drop = self
            .exclude
            .iter()
            .filter(|s| s.names(ext, attr))
            .filter_map(|s| s.sub.clone())
            .collect();
        Pick::Keep { only, drop }
    }
}

/// Copies `value` keeping only the sub-attributes `pick` allows. `None` when
/// nothing is left.
pub(crate) fn project_value(attr: &AttributeDef, value: &Value, pick: &Pick) -> Option<Value> {
    let Pick::Keep { only, drop } = pick else {
        return None;
    };
    if !attr.is_complex() {
        return Some(value.clone());
    }
    let keep_sub = |key: &str| -> bool {
        let Some(sub) = attr.sub_attr(key) else {
            return false;
        };
        let named = only.as_ref().is_some_and(|o| o.contains(&sub.name));
        match sub.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Request => named,
            Returned::Default => only.as_ref().is_none_or(|_| named) && !drop.contains(&sub.name),
        }
    };
    let one = |v: &Value| -> Option<Value> {
        let o = v.as_object()?;
        let kept: JsonObject = o
            .iter()
            .filter(|(k, _)| keep_sub(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(one).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => one(other),
    }
}

/// Applies a projection to an already-rendered resource in place (useful for
/// resources the server built itself). `id` and `schemas` always stay.
pub fn apply(projection: &Projection, schema: &ResourceSchema, resource: &mut JsonObject) {
    let keys: Vec<String> = resource.keys().cloned().collect();
    for key in keys {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(&key) {
            let Some(Value::Object(obj)) = resource.get_mut(&key) else {
                continue;
            };
            let names: Vec<String> = obj.keys().cloned().collect();
            for name in names {
                let kept = ext.attr(&name).and_then(|attr| {
                    obj.get(&name)
                        .and_then(|v| project_value(attr, v, &projection.pick(Some(ext), attr)))
                });
                match kept {
                    Some(v) => {
                        obj.insert(name, v);
                    }
                    None => {
                        obj.remove(&name);
                    }
                }
            }
            if obj.is_empty() {
                resource.remove(&key);
            }
            continue;
        }
        let kept = schema.core_attr(&key).and_then(|attr| {
            get_ci(resource, &key)
                .and_then(|v| project_value(attr, v, &projection.pick(None, attr)))
        });
        match kept {
            Some(v) => {
                resource.insert(key, v);
            }
            None => {
                resource.remove(&key);
            }
        }
    }
}
