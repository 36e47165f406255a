//! Discovery documents (RFC 7644 §4, RFC 7643 §5–§7): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, generated from the tenant's registry so
//! they describe exactly what this server does, custom extension included.

use serde_json::{Value, json};

use crate::bulk::BulkLimits;
use crate::list::ListResponse;
use crate::schema::{AttributeDef, ResourceKind, ResourceSchema, SchemaDef, SchemaRegistry};
use crate::value::JsonObject;

/// URN of the ServiceProviderConfig schema.
pub const SERVICE_PROVIDER_CONFIG_URN: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// URN of the ResourceType schema.
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// URN of the Schema schema.
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// What the server supports, for `/ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// `documentationUri`: the tenant-facing setup guide, if any.
    pub documentation_uri: Option<String>,
    /// `patch.supported`.
    pub patch: bool,
    /// `bulk`: `None` advertises bulk as unsupported.
    pub bulk: Option<BulkLimits>,
    /// `filter.maxResults`: `None` advertises filtering as unsupported.
    pub filter_max_results: Option<u64>,
    /// `changePassword.supported` (Roster never stores passwords: `false`).
    pub change_password: bool,
    /// `sort.supported`.
    pub sort: bool,
    /// `etag.supported`.
    pub etag: bool,
    /// `pagination.cursor` (RFC 9865): cursor-based paging is offered beside `startIndex`.
    pub cursor_paging: bool,
    /// `pagination.defaultPageSize`: the page size when a request gives no `count`.
    pub default_page_size: u64,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            documentation_uri: None,
            patch: true,
            bulk: Some(BulkLimits {
                max_operations: 1000,
                max_payload_size: 1_048_576,
            }),
            filter_max_results: Some(200),
            change_password: false,
            sort: true,
            etag: true,
            cursor_paging: true,
            default_page_size: 200,
        }
    }
}

fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

fn meta(resource_type: &str, location: String) -> Value {
    json!({"resourceType": resource_type, "location": location})
}

/// `GET /ServiceProviderConfig`.
pub fn service_provider_config(caps: &Capabilities, base_url: &str) -> Value {
    let mut doc = JsonObject::new();
    doc.insert("schemas".into(), json!([SERVICE_PROVIDER_CONFIG_URN]));
    if let Some(d) = &caps.documentation_uri {
        doc.insert("documentationUri".into(), d.clone().into());
    }
    doc.insert("patch".into(), json!({"supported": caps.patch}));
    doc.insert(
        "bulk".into(),
        match caps.bulk {
            Some(b) => json!({
                "supported": true,
                "maxOperations": b.max_operations,
                "maxPayloadSize": b.max_payload_size
            }),
            None => json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 0}),
        },
    );
    doc.insert(
        "filter".into(),
        json!({
            "supported": caps.filter_max_results.is_some(),
            "maxResults": caps.filter_max_results.unwrap_or(0)
        }),
    );
    doc.insert(
        "changePassword".into(),
        json!({"supported": caps.change_password}),
    );
    doc.insert("sort".into(), json!({"supported": caps.sort}));
    doc.insert("etag".into(), json!({"supported": caps.etag}));
    // RFC 9865 §3: both methods; index paging stays the default (what Okta and Entra
    // use). Roster's cursors name a position in the sort order, so they do not expire:
    // no `cursorTimeout`.
    let max_page = caps.filter_max_results.unwrap_or(caps.default_page_size);
    doc.insert(
        "pagination".into(),
        json!({
            "cursor": caps.cursor_paging,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": caps.default_page_size.min(max_page),
            "maxPageSize": max_page
        }),
    );
    doc.insert(
        "authenticationSchemes".into(),
        json!([{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token issued by the tenant's administrator.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }]),
    );
    doc.insert(
        "meta".into(),
        meta(
            "ServiceProviderConfig",
            format!("{}/ServiceProviderConfig", base(base_url)),
        ),
    );
    Value::Object(doc)
}

fn resource_type_json(rs: &ResourceSchema, base_url: &str) -> Value {
    let kind = rs.kind();
    let description = match kind {
        ResourceKind::User => "User Account",
        ResourceKind::Group => "Group",
    };
    let extensions: Vec<Value> = rs
        .extensions()
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    let mut doc = JsonObject::new();
    doc.insert("schemas".into(), json!([RESOURCE_TYPE_URN]));
    doc.insert("id".into(), kind.name().into());
    doc.insert("name".into(), kind.name().into());
    doc.insert("endpoint".into(), kind.endpoint().into());
    doc.insert("description".into(), description.into());
    doc.insert("schema".into(), rs.core().id.clone().into());
    if !extensions.is_empty() {
        doc.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    doc.insert(
        "meta".into(),
        meta(
            "ResourceType",
            format!("{}/ResourceTypes/{}", base(base_url), kind.name()),
        ),
    );
    Value::Object(doc)
}

/// `GET /ResourceTypes`, as a ListResponse.
pub fn resource_types(registry: &SchemaRegistry, base_url: &str) -> Value {
    let resources = vec![
        resource_type_json(registry.user(), base_url),
        resource_type_json(registry.group(), base_url),
    ];
    ListResponse::indexed(resources.len() as u64, 1, resources).to_json()
}

/// `GET /ResourceTypes/{id}` (`User` or `Group`, case-insensitive); `None` → 404.
pub fn resource_type(registry: &SchemaRegistry, base_url: &str, id: &str) -> Option<Value> {
    [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(id))
        .map(|k| resource_type_json(registry.get(k), base_url))
}

fn attribute_json(a: &AttributeDef) -> Value {
    let mut o = JsonObject::new();
    o.insert("name".into(), a.name.clone().into());
    o.insert("type".into(), a.ty.as_str().into());
    if a.is_complex() {
        o.insert(
            "subAttributes".into(),
            Value::Array(a.sub_attributes.iter().map(attribute_json).collect()),
        );
    }
    o.insert("multiValued".into(), a.multi_valued.into());
    o.insert("description".into(), a.description.clone().into());
    o.insert("required".into(), a.required.into());
    if !a.is_complex() && a.ty != crate::schema::AttrType::Boolean {
        o.insert("caseExact".into(), a.case_exact.into());
    }
    if !a.canonical_values.is_empty() {
        o.insert("canonicalValues".into(), a.canonical_values.clone().into());
    }
    if !a.reference_types.is_empty() {
        o.insert("referenceTypes".into(), a.reference_types.clone().into());
    }
    o.insert("mutability".into(), a.mutability.as_str().into());
    o.insert("returned".into(), a.returned.as_str().into());
    // Like RFC 7643 §8.7, booleans carry neither caseExact nor uniqueness.
    if a.ty != crate::schema::AttrType::Boolean {
        o.insert("uniqueness".into(), a.uniqueness.as_str().into());
    }
    Value::Object(o)
}

/// One schema's representation (RFC 7643 §7).
pub fn schema_json(def: &SchemaDef, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_URN],
        "id": def.id,
        "name": def.name,
        "description": def.description,
        "attributes": def.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": meta("Schema", format!("{}/Schemas/{}", base(base_url), def.id)),
    })
}

/// `GET /Schemas`, as a ListResponse (Entra insists on one).
pub fn schemas(registry: &SchemaRegistry, base_url: &str) -> Value {
    let resources: Vec<Value> = registry
        .schemas()
        .map(|s| schema_json(s, base_url))
        .collect();
    ListResponse::indexed(resources.len() as u64, 1, resources).to_json()
}

/// `GET /Schemas/{urn}`; `None` → 404.
pub fn schema(registry: &SchemaRegistry, base_url: &str, urn: &str) -> Option<Value> {
    registry.schema(urn).map(|s| schema_json(s, base_url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER_URN, USER_URN};

    #[test]
    fn lookups() {
        let r = SchemaRegistry::standard();
        assert!(resource_type(&r, "https://h", "user").is_some());
        assert!(resource_type(&r, "https://h", "Widget").is_none());
        let s = schema(&r, "https://h/", &USER_URN.to_lowercase()).unwrap();
        assert_eq!(s["id"], USER_URN);
        assert_eq!(
            s["meta"]["location"],
            format!("https://h/Schemas/{USER_URN}")
        );
        assert!(schema(&r, "https://h", "urn:nope").is_none());
        let list = schemas(&r, "https://h");
        assert_eq!(list["totalResults"], 3);
        let rt = resource_types(&r, "https://h");
        assert_eq!(
            rt["Resources"][0]["schemaExtensions"][0]["schema"],
            ENTERPRISE_USER_URN
        );
        assert!(rt["Resources"][1].get("schemaExtensions").is_none());
    }

    #[test]
    fn spc_reflects_capabilities() {
        let caps = Capabilities {
            bulk: None,
            filter_max_results: None,
            ..Capabilities::default()
        };
        let v = service_provider_config(&caps, "https://h");
        assert_eq!(v["bulk"]["supported"], false);
        assert_eq!(v["filter"]["supported"], false);
        assert_eq!(v["changePassword"]["supported"], false);
        assert_eq!(v["authenticationSchemes"][0]["type"], "oauthbearertoken");
    }
}
