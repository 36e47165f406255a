//! RFC 7644 §3.5.2 PATCH tests.

use serde_json::{Value, json};

use super::*;
use crate::ScimType;
use crate::schema::{
    AttrType, CustomAttribute, ENTERPRISE_USER_URN, Mutability, ROSTER_USER_URN, SchemaRegistry,
};

pub(super) fn registry() -> SchemaRegistry {
    let mut code = CustomAttribute::new("code", AttrType::String);
    code.mutability = Mutability::Immutable;
    SchemaRegistry::new(&[code, CustomAttribute::new("level", AttrType::Integer)]).unwrap()
}

pub(super) fn user() -> JsonObject {
    json!({
        "userName": "bjensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        ENTERPRISE_USER_URN: {"employeeNumber": "1", "manager": {"value": "m1", "$ref": "../Users/m1"}},
        ROSTER_USER_URN: {"code": "C1"}
    })
    .as_object()
    .unwrap()
    .clone()
}

pub(super) fn ops(ops: Value) -> PatchRequest {
    PatchRequest::parse(&json!({"schemas": [PATCH_OP_URN], "Operations": ops})).unwrap()
}

pub(super) fn run(doc: &JsonObject, o: Value) -> Result<PatchOutcome, ScimError> {
    let r = registry();
    apply_patch(r.user(), "u-1", doc, &ops(o))
}

pub(super) fn ok(doc: &JsonObject, o: Value) -> PatchOutcome {
    run(doc, o.clone()).unwrap_or_else(|e| panic!("{o}: {e}"))
}

pub(super) fn fails(doc: &JsonObject, o: Value, t: ScimType) -> ScimError {
    let e = run(doc, o.clone()).unwrap_err();
    assert_eq!(e.scim_type(), Some(t), "{o}: {e}");
    e
}

#[test]
fn parse_message_rules() {
    let bad_schema =
        json!({"schemas": ["urn:x"], "Operations": [{"op": "add", "path": "title", "value": "x"}]});
    assert_eq!(
        PatchRequest::parse(&bad_schema).unwrap_err().scim_type(),
        Some(ScimType::InvalidSyntax)
    );
    // Member names and ops in any case.
    let r = PatchRequest::parse(&json!({"SCHEMAS": [PATCH_OP_URN], "operations": [{"OP": "Replace", "Path": "title", "Value": "x"}]})).unwrap();
    assert_eq!(r.operations[0].op, PatchOpKind::Replace);
    for (body, t) in [
        (json!({"Operations": []}), ScimType::InvalidSyntax),
        (json!({"Operations": {}}), ScimType::InvalidSyntax),
        (json!([]), ScimType::InvalidSyntax),
        (
            json!({"Operations": [{"op": "move", "path": "a"}]}),
            ScimType::InvalidSyntax,
        ),
        (
            json!({"Operations": [{"path": "a"}]}),
            ScimType::InvalidSyntax,
        ),
        (
            json!({"Operations": [{"op": "remove"}]}),
            ScimType::NoTarget,
        ),
        (
            json!({"Operations": [{"op": "add", "path": "title"}]}),
            ScimType::InvalidValue,
        ),
        (
            json!({"Operations": [{"op": "replace", "value": "x"}]}),
            ScimType::InvalidValue,
        ),
        (
            json!({"Operations": [{"op": "add", "path": "emails[type eq", "value": 1}]}),
            ScimType::InvalidPath,
        ),
        (
            json!({"Operations": [{"op": "add", "path": 3, "value": 1}]}),
            ScimType::InvalidPath,
        ),
    ] {
        let e = PatchRequest::parse(&body).unwrap_err();
        assert_eq!(e.scim_type(), Some(t), "{body}: {e}");
    }
}

#[test]
fn patch_paths_parse_and_print() {
    for s in [
        "members",
        "name.familyName",
        "addresses[type eq \"work\"]",
        "members[value eq \"2819c223\"]",
        "emails[type eq \"work\" and value ew \"example.com\"].value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    ] {
        let p = PatchPath::parse(s).unwrap();
        assert_eq!(PatchPath::parse(&p.to_string()).unwrap(), p, "{s}");
    }
    let p = PatchPath::parse("emails[type eq \"work\"].value").unwrap();
    assert_eq!(p.attr.name, "emails");
    assert_eq!(p.sub_attr.as_deref(), Some("value"));
    for bad in [
        "",
        "emails[",
        "emails[type eq \"w\"]x",
        "name.given[x pr]",
        "emails[type eq \"w\"].",
        "a b",
    ] {
        let e = PatchPath::parse(bad).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{bad}");
    }
}

#[test]
fn add_rules() {
    let d = user();
    // Single-valued: set, and replace an existing value.
    let out = ok(
        &d,
        json!([{"op": "add", "path": "title", "value": "Guide"}, {"op": "add", "path": "active", "value": false}]),
    );
    assert_eq!(out.document["title"], "Guide");
    assert_eq!(out.document["active"], false);
    assert_eq!(out.changed, ["title", "active"]);
    // Multi-valued: appended; an identical value is not duplicated; new primary wins.
    let out = ok(
        &d,
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "new@x.com", "type": "other", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ]}]),
    );
    let emails = out.document["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 3);
    assert_eq!(emails[0]["primary"], false);
    assert_eq!(emails[2]["primary"], true);
    // Complex: sub-attributes merged.
    let out = ok(
        &d,
        json!([{"op": "add", "path": "name", "value": {"middleName": "J"}}]),
    );
    assert_eq!(
        out.document["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"})
    );
    assert_eq!(out.changed, ["name.middleName"]);
    // Adding a value already there changes nothing.
    let out = ok(
        &d,
        json!([{"op": "add", "path": "userName", "value": "bjensen"}]),
    );
    assert!(out.is_noop());
}

#[test]
fn replace_rules() {
    let d = user();
    let out = ok(
        &d,
        json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com"}]}]),
    );
    assert_eq!(out.document["emails"], json!([{"value": "only@x.com"}]));
    let out = ok(
        &d,
        json!([{"op": "replace", "path": "name.familyName", "value": "Smith"}]),
    );
    assert_eq!(out.document["name"]["familyName"], "Smith");
    assert_eq!(out.changed, ["name.familyName"]);
    // Filtered replace of a matched element's sub-attribute.
    let out = ok(
        &d,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "upd@x.com"}]),
    );
    assert_eq!(
        out.document["emails"][0],
        json!({"value": "upd@x.com", "type": "work", "primary": true})
    );
    // Filtered replace of whole matched elements.
    let out = ok(
        &d,
        json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@x.com", "type": "home"}}]),
    );
    assert_eq!(
        out.document["emails"][1],
        json!({"value": "h@x.com", "type": "home"})
    );
    // Replace of an absent attribute adds it.
    let out = ok(
        &d,
        json!([{"op": "replace", "path": "nickName", "value": "Babs"}]),
    );
    assert_eq!(out.document["nickName"], "Babs");
}

#[test]
fn remove_rules() {
    let d = user();
    let out = ok(&d, json!([{"op": "remove", "path": "name.givenName"}]));
    assert_eq!(out.document["name"], json!({"familyName": "Jensen"}));
    let out = ok(
        &d,
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
    );
    assert_eq!(out.document["emails"].as_array().unwrap().len(), 1);
    let out = ok(&d, json!([{"op": "remove", "path": "emails"}]));
    assert!(!out.document.contains_key("emails"));
    let out = ok(
        &d,
        json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
    );
    assert_eq!(
        out.document["emails"][0],
        json!({"value": "bjensen@example.com", "type": "work"})
    );
    // Removing every element leaves the attribute unassigned.
    let out = ok(
        &d,
        json!([{"op": "remove", "path": "emails[value co \"@\"]"}]),
    );
    assert!(!out.document.contains_key("emails"));
    // Removing an attribute without a value is a no-op.
    assert!(ok(&d, json!([{"op": "remove", "path": "title"}])).is_noop());
    // A filter matching nothing is noTarget.
    fails(
        &d,
        json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
        ScimType::NoTarget,
    );
    // Remove by value (Entra style) on any multi-valued attribute.
    let out = ok(
        &d,
        json!([{"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
    );
    assert_eq!(out.document["emails"].as_array().unwrap().len(), 1);
}

#[test]
fn pathless_add_and_replace() {
    let d = user();
    // Okta deactivate.
    let out = ok(&d, json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(out.document["active"], false);
    assert_eq!(out.changed, ["active"]);
    // Entra (aadOptscim062020): dotted and URN-qualified keys.
    let out = ok(
        &d,
        json!([{"op": "replace", "value": {
            "name.givenName": "Babs",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
            "emails[type eq \"work\"].value": "w2@x.com",
            "unknownThing": 1,
            "schemas": ["x"], "meta": {}
        }}]),
    );
    assert_eq!(out.document["name"]["givenName"], "Babs");
    assert_eq!(out.document[ENTERPRISE_USER_URN]["employeeNumber"], "42");
    assert_eq!(out.document["emails"][0]["value"], "w2@x.com");
    assert_eq!(
        out.changed,
        [
            "name.givenName",
            "emails",
            format!("{ENTERPRISE_USER_URN}:employeeNumber").as_str()
        ]
    );
    // Extension object under its URN.
    let out = ok(
        &d,
        json!([{"op": "add", "value": {ENTERPRISE_USER_URN: {"department": "Ops"}}}]),
    );
    assert_eq!(out.document[ENTERPRISE_USER_URN]["department"], "Ops");
    // The resource's own id is accepted, another is not.
    assert!(ok(&d, json!([{"op": "replace", "value": {"id": "u-1"}}])).is_noop());
    fails(
        &d,
        json!([{"op": "replace", "value": {"id": "other"}}]),
        ScimType::Mutability,
    );
}

#[test]
fn mutability_enforced() {
    let d = user();
    fails(
        &d,
        json!([{"op": "replace", "path": "id", "value": "x"}]),
        ScimType::Mutability,
    );
    fails(
        &d,
        json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
        ScimType::Mutability,
    );
    fails(
        &d,
        json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
        ScimType::Mutability,
    );
    fails(
        &d,
        json!([{"op": "replace", "path": "manager.displayName", "value": "x"}]),
        ScimType::Mutability,
    );
    // Immutable: may be re-sent unchanged, not changed or removed.
    assert!(
        ok(
            &d,
            json!([{"op": "replace", "path": "code", "value": "C1"}])
        )
        .is_noop()
    );
    fails(
        &d,
        json!([{"op": "replace", "path": "code", "value": "C2"}]),
        ScimType::Mutability,
    );
    fails(
        &d,
        json!([{"op": "remove", "path": "code"}]),
        ScimType::Mutability,
    );
    let fresh = json!({"userName": "u"}).as_object().unwrap().clone();
    assert_eq!(
        ok(
            &fresh,
            json!([{"op": "add", "path": "code", "value": "C9"}])
        )
        .changed,
        [format!("{ROSTER_USER_URN}:code")]
    );
    // Required attributes cannot be removed.
    fails(
        &d,
        json!([{"op": "remove", "path": "userName"}]),
        ScimType::Mutability,
    );
    fails(
        &d,
        json!([{"op": "replace", "path": "userName", "value": ""}]),
        ScimType::Mutability,
    );
}

#[test]
fn password_is_accepted_and_dropped() {
    let d = user();
    let out = ok(
        &d,
        json!([{"op": "replace", "path": "password", "value": "hunter2"}, {"op": "replace", "value": {"password": "x"}}]),
    );
    assert!(out.is_noop());
    assert!(!out.document.contains_key("password"));
}

#[test]
fn invalid_path_and_value() {
    let d = user();
    fails(
        &d,
        json!([{"op": "add", "path": "nope", "value": 1}]),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        json!([{"op": "add", "path": "name.nope", "value": 1}]),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        json!([{"op": "add", "path": "emails[nope eq \"x\"].value", "value": 1}]),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        json!([{"op": "add", "path": "title[value eq \"x\"]", "value": 1}]),
        ScimType::InvalidPath,
    );
    fails(
        &d,
        json!([{"op": "add", "path": "active", "value": "maybe"}]),
        ScimType::InvalidValue,
    );
    fails(
        &d,
        json!([{"op": "add", "path": "level", "value": "high"}]),
        ScimType::InvalidValue,
    );
    fails(
        &d,
        json!([{"op": "add", "path": "name", "value": 3}]),
        ScimType::InvalidValue,
    );
}

#[test]
fn atomic_failure_leaves_document_untouched_and_reports_op() {
    let d = user();
    let before = d.clone();
    let e = fails(
        &d,
        json!([
            {"op": "replace", "path": "title", "value": "changed"},
            {"op": "remove", "path": "emails[type eq \"nope\"]"}
        ]),
        ScimType::NoTarget,
    );
    assert!(
        e.detail()
            .starts_with("Operations[1] (remove emails[type eq \"nope\"])"),
        "{}",
        e.detail()
    );
    assert_eq!(d, before);
}

#[test]
fn order_of_operations_matters() {
    let d = user();
    let out = ok(
        &d,
        json!([
            {"op": "replace", "path": "title", "value": "A"},
            {"op": "remove", "path": "title"}
        ]),
    );
    assert!(out.is_noop());
}

#[test]
fn extension_as_a_whole() {
    let d = user();
    let out = ok(&d, json!([{"op": "remove", "path": ENTERPRISE_USER_URN}]));
    assert!(!out.document.contains_key(ENTERPRISE_USER_URN));
    let out = ok(
        &d,
        json!([{"op": "replace", "path": ENTERPRISE_USER_URN, "value": {"department": "X"}}]),
    );
    assert_eq!(out.document[ENTERPRISE_USER_URN]["department"], "X");
    assert_eq!(out.document[ENTERPRISE_USER_URN]["employeeNumber"], "1");
}

#[test]
fn extension_value_may_echo_its_schemas() {
    let d = user();
    let out = ok(
        &d,
        json!([{"op": "add", "path": ENTERPRISE_USER_URN, "value": {
            "schemas": [ENTERPRISE_USER_URN],
            "department": "Y"
        }}]),
    );
    assert_eq!(out.document[ENTERPRISE_USER_URN]["department"], "Y");
    let err = run(
        &d,
        json!([{"op": "add", "path": ENTERPRISE_USER_URN, "value": {"nosuch": 1}}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some(crate::ScimType::InvalidPath));
}

#[test]
fn a_request_carries_at_most_max_operations() {
    let one = json!({"op": "replace", "path": "title", "value": "x"});
    let at_bound = json!({"Operations": vec![one.clone(); MAX_OPERATIONS]});
    assert_eq!(
        PatchRequest::parse(&at_bound).unwrap().operations.len(),
        MAX_OPERATIONS
    );
    let past = json!({"Operations": vec![one; MAX_OPERATIONS + 1]});
    let err = PatchRequest::parse(&past).unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    assert!(
        err.detail().contains("at most 1000 operations"),
        "{}",
        err.detail()
    );
}
