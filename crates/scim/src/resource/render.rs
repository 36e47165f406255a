//! Resources out: a stored document becomes a wire resource with `id`,
//! `schemas`, `meta` and (for groups) `members`, projected on the way.

use serde_json::Value;
use time::OffsetDateTime;

use crate::projection::{Pick, Projection, project_value};
use crate::schema::{ResourceKind, ResourceSchema};
use crate::value::{JsonObject, format_datetime};

/// Whether a group member is a user or a nested group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A User member.
    User,
    /// A Group member.
    Group,
}

/// A group member as the server stores it (one row each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id.
    pub value: String,
    /// User or Group.
    pub kind: MemberKind,
    /// Its display name, when the server has it at hand.
    pub display: Option<String>,
}

/// A stored resource, as the server hands it to [`render`].
#[derive(Debug, Clone, Copy)]
pub struct StoredResource<'a> {
    /// The server-assigned id.
    pub id: &'a str,
    /// The normalised document (see [`crate::resource`]).
    pub document: &'a JsonObject,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Last modification time.
    pub last_modified: OffsetDateTime,
    /// Opaque version; rendered as the weak ETag `W/"<version>"`.
    pub version: &'a str,
    /// Group members, when loaded. `None` leaves `members` out; load them
    /// only if `projection.includes(schema, "members")`.
    pub members: Option<&'a [Member]>,
}

/// `W/"<version>"`, the value of `meta.version` and of the `ETag` header.
pub fn weak_etag(version: &str) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` / `If-None-Match` header value matches `version`:
/// `*`, or a comma-separated list of (weak or strong) entity tags compared
/// weakly (RFC 7644 §3.14 uses weak ETags).
pub fn etag_matches(header: &str, version: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .is_some_and(|t| t == version)
    })
}

fn location(base_url: &str, kind: ResourceKind, id: &str) -> String {
    format!("{}{}/{id}", base_url.trim_end_matches('/'), kind.endpoint())
}

/// Renders a stored resource as the wire JSON object, applying `projection`.
/// `base_url` is the tenant's SCIM root, e.g. `https://host/scim/v2/acme`.
pub fn render(
    schema: &ResourceSchema,
    base_url: &str,
    stored: &StoredResource<'_>,
    projection: &Projection,
) -> JsonObject {
    let mut out = JsonObject::new();
    let mut schemas = vec![Value::String(schema.core().id.clone())];

    for (key, value) in stored.document {
        if let Some(ext) = schema.extension(key) {
            let Some(obj) = value.as_object() else {
                continue;
            };
            let mut kept = JsonObject::new();
            for (name, v) in obj {
                let Some(attr) = ext.attr(name) else { continue };
                if let Some(p) = project_value(attr, v, &projection.pick(Some(ext), attr)) {
                    kept.insert(attr.name.clone(), p);
                }
            }
            if !kept.is_empty() {
                schemas.push(Value::String(ext.id.clone()));
                out.insert(ext.id.clone(), Value::Object(kept));
            }
            continue;
        }
        let Some(attr) = schema.core_attr(key) else {
            continue;
        };
        // Server-owned attributes come from `stored`, never from the document.
        if matches!(attr.name.as_str(), "id" | "meta") || super::is_members(schema, None, attr) {
            continue;
        }
        if let Some(p) = project_value(attr, value, &projection.pick(None, attr)) {
            out.insert(attr.name.clone(), p);
        }
    }
    // Keep `schemas` in registry order whatever the document's key order.
    let ext_order: Vec<&str> = schema.extensions().map(|e| e.id.as_str()).collect();
    schemas[1..].sort_by_key(|s| ext_order.iter().position(|e| Some(*e) == s.as_str()));

    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(stored.id.to_owned()));

    if let (Some(members), Some(attr)) = (stored.members, schema.core().attr("members")) {
        let pick = projection.pick(None, attr);
        if pick != Pick::Skip {
            let list: Vec<Value> = members
                .iter()
                .map(|m| {
                    let endpoint = match m.kind {
                        MemberKind::User => ResourceKind::User,
                        MemberKind::Group => ResourceKind::Group,
                    };
                    let mut o = JsonObject::new();
                    o.insert("value".into(), Value::String(m.value.clone()));
                    o.insert("$ref".into(), location(base_url, endpoint, &m.value).into());
                    o.insert("type".into(), endpoint.name().into());
                    if let Some(d) = &m.display {
                        o.insert("display".into(), Value::String(d.clone()));
                    }
                    Value::Object(o)
                })
                .collect();
            let value = Value::Array(list);
            // An empty list stays an empty list (Entra shows `"members": []`).
            let projected = project_value(attr, &value, &pick).unwrap_or(Value::Array(Vec::new()));
            out.insert("members".into(), projected);
        }
    }

    if let Some(meta_def) = schema.common().attr("meta") {
        let pick = projection.pick(None, meta_def);
        let mut meta = JsonObject::new();
        meta.insert("resourceType".into(), schema.kind().name().into());
        meta.insert("created".into(), format_datetime(stored.created).into());
        meta.insert(
            "lastModified".into(),
            format_datetime(stored.last_modified).into(),
        );
        meta.insert(
            "location".into(),
            location(base_url, schema.kind(), stored.id).into(),
        );
        meta.insert("version".into(), weak_etag(stored.version).into());
        if let Some(m) = project_value(meta_def, &Value::Object(meta), &pick) {
            out.insert("meta".into(), m);
        }
    }
    out
}
