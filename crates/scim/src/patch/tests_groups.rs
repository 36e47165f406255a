//! RFC 7644 §3.5.2 PATCH on groups: the members delta and Okta's rename.

use serde_json::{Value, json};

use super::*;
use crate::ScimType;
use crate::schema::{AttrType, CustomAttribute, SchemaRegistry};

fn registry() -> SchemaRegistry {
    SchemaRegistry::new(&[CustomAttribute::new("level", AttrType::Integer)]).unwrap()
}

fn ops(ops: Value) -> PatchRequest {
    PatchRequest::parse(&json!({"schemas": [PATCH_OP_URN], "Operations": ops})).unwrap()
}

fn group_doc() -> JsonObject {
    json!({"displayName": "Admins", "externalId": "g-ext"})
        .as_object()
        .unwrap()
        .clone()
}

fn run_group(o: Value) -> Result<PatchOutcome, ScimError> {
    let r = registry();
    apply_patch(r.group(), "g-1", &group_doc(), &ops(o))
}

#[test]
fn group_members_become_a_delta() {
    let out = run_group(json!([{"op": "add", "path": "members", "value": [{"value": "u1", "display": "A"}, {"value": "u2"}]}])).unwrap();
    assert_eq!(
        out.members,
        [MembersChange::Add(vec!["u1".into(), "u2".into()])]
    );
    assert!(out.changed.is_empty());
    assert!(!out.document.contains_key("members"));
    let out = run_group(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}])).unwrap();
    assert_eq!(out.members, [MembersChange::Remove(vec!["u1".into()])]);
    let out =
        run_group(json!([{"op": "remove", "path": "members[value eq \"u1\" or value eq \"u2\"]"}]))
            .unwrap();
    assert_eq!(
        out.members,
        [MembersChange::Remove(vec!["u1".into(), "u2".into()])]
    );
    let out = run_group(json!([{"op": "remove", "path": "members[type eq \"Group\"]"}])).unwrap();
    assert!(matches!(
        &out.members[..],
        [MembersChange::RemoveMatching(_)]
    ));
    let out = run_group(json!([{"op": "Remove", "path": "members", "value": [{"value": "u3"}]}]))
        .unwrap();
    assert_eq!(out.members, [MembersChange::Remove(vec!["u3".into()])]);
    let out = run_group(json!([{"op": "remove", "path": "members"}])).unwrap();
    assert_eq!(out.members, [MembersChange::RemoveAll]);
    let out = run_group(json!([{"op": "replace", "path": "members", "value": []}])).unwrap();
    assert_eq!(out.members, [MembersChange::Replace(vec![])]);
    let out = run_group(json!([{"op": "add", "path": "members", "value": []}])).unwrap();
    assert!(out.is_noop());
    // Path-less member keys too.
    let out = run_group(json!([{"op": "add", "value": {"members": [{"value": "u4"}]}}])).unwrap();
    assert_eq!(out.members, [MembersChange::Add(vec!["u4".into()])]);
}

#[test]
fn group_rename_and_member_errors() {
    // Okta: rename with the group's own id in the value.
    let out = run_group(json!([{"op": "replace", "value": {"id": "g-1", "displayName": "Ops"}}]))
        .unwrap();
    assert_eq!(out.document["displayName"], "Ops");
    assert_eq!(out.changed, ["displayName"]);
    for (o, t) in [
        (
            json!([{"op": "add", "path": "members", "value": [{"value": 5}]}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "add", "path": "members", "value": ["u1"]}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "replace", "path": "members[value eq \"u1\"]", "value": {"value": "u2"}}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "remove", "path": "members[bogus eq \"u1\"]"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "replace", "path": "members.value", "value": "x"}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "remove", "path": "displayName"}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "replace", "value": {"id": "g-2"}}]),
            ScimType::Mutability,
        ),
    ] {
        let e = run_group(o.clone()).unwrap_err();
        assert_eq!(e.scim_type(), Some(t), "{o}: {e}");
    }
}
