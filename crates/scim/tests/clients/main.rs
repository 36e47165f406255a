//! The request bodies and queries Okta and Microsoft Entra ID actually send
//! (see shared SCIM-CLIENTS.md, Okta's SCIM 2.0 reference and spec tests,
//! Microsoft's "Develop and plan provisioning for a SCIM endpoint" samples),
//! each with its expected outcome. Bodies live in `tests/fixtures/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod entra;
mod okta;

use roster_scim::list::{ListQuery, ListResponse};
use roster_scim::patch::{PatchOutcome, PatchRequest, apply_patch};
use roster_scim::resource::{ParsedResource, parse_group, parse_user};
use roster_scim::schema::{AttrType, CustomAttribute, SchemaRegistry};
use roster_scim::{Filter, JsonObject, ScimError};
use serde_json::{Value, json};

pub const E: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const R: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

/// A tenant with one custom attribute, as the server would build it.
pub fn registry() -> SchemaRegistry {
    SchemaRegistry::new(&[CustomAttribute::new("badgeNumber", AttrType::Integer)]).unwrap()
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

pub fn obj(v: Value) -> JsonObject {
    v.as_object().unwrap().clone()
}

pub fn user(name: &str) -> ParsedResource {
    parse_user(registry().user(), &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn group(name: &str) -> (JsonObject, Vec<String>) {
    parse_group(registry().group(), &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn patch_user(doc: &JsonObject, name: &str) -> PatchOutcome {
    let r = registry();
    let req = PatchRequest::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    apply_patch(r.user(), "u-id", doc, &req).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn patch_group(doc: &JsonObject, id: &str, name: &str) -> PatchOutcome {
    let r = registry();
    let req = PatchRequest::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    apply_patch(r.group(), id, doc, &req).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parses a query string the way the web layer will have decoded it.
pub fn query(pairs: &[(&str, &str)]) -> Result<ListQuery, ScimError> {
    ListQuery::from_query(pairs.iter().copied())
}

/// Runs a list query over `resources` in memory, as a reference for the store.
pub fn list_users(q: &ListQuery, resources: &[JsonObject]) -> ListResponse {
    let r = registry();
    q.validate(r.user()).unwrap();
    let matching: Vec<&JsonObject> = resources
        .iter()
        .filter(|d| q.filter.as_ref().is_none_or(|f| f.matches(d, r.user())))
        .collect();
    let page = q.page(100, 200);
    let items: Vec<Value> = matching
        .iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .map(|d| Value::Object((*d).clone()))
        .collect();
    ListResponse::indexed(matching.len() as u64, page.start_index, items)
}

/// A stored user as rendered (with id), for filter tests.
pub fn stored_user(id: &str, user_name: &str, external_id: &str) -> JsonObject {
    obj(json!({
        "id": id, "userName": user_name, "externalId": external_id, "displayName": "Some One",
        "name": {"givenName": "Some", "familyName": "One"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true,
        "meta": {"resourceType": "User", "created": "2024-05-01T10:00:00Z", "lastModified": "2024-05-02T10:00:00Z"}
    }))
}

pub fn filter_users(src: &str) -> Filter {
    Filter::parse_for(src, registry().user()).unwrap_or_else(|e| panic!("{src}: {e}"))
}
