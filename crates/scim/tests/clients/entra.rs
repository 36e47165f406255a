//! Microsoft Entra ID: the provisioning service's sample requests, its
//! SCIM compatibility notes, and both PATCH dialects (with and without the
//! `aadOptscim062020` flag).

use roster_scim::patch::MembersChange;
use roster_scim::projection::Projection;
use roster_scim::resource::{Member, MemberKind, StoredResource, render};
use roster_scim::{CompValue, CompareOp, ScimType, discovery};
use serde_json::{Value, json};
use time::macros::datetime;

use super::*;

#[test]
fn test_connection_with_random_guid_finds_nothing() {
    let users = [stored_user("1", "someone@x.com", "ext-1")];
    for f in [
        r#"userName eq "0b4b4a53-1c2f-4a5e-9d1a-2b3c4d5e6f70""#,
        r#"externalId eq "0b4b4a53-1c2f-4a5e-9d1a-2b3c4d5e6f70""#,
        "externalId eq 0b4b4a53-1c2f-4a5e-9d1a-2b3c4d5e6f70",
    ] {
        let q = query(&[("filter", f)]).unwrap();
        let v = list_users(&q, &users).to_json();
        assert_eq!(v["totalResults"], 0, "{f}");
        assert_eq!(v["Resources"], json!([]));
    }
}

#[test]
fn unquoted_filter_values() {
    let users = [stored_user("1", "someone@x.com", "5b3f0b4e-3a3e")];
    for f in [
        "userName eq someone@x.com",
        "externalId eq 5b3f0b4e-3a3e",
        "externalId eq \"5b3f0b4e-3a3e\"",
    ] {
        let q = query(&[("filter", f)]).unwrap();
        assert_eq!(list_users(&q, &users).total_results, 1, "{f}");
    }
    let Filter::Compare { op, value, .. } = Filter::parse("externalId eq jyoung").unwrap() else {
        panic!()
    };
    assert_eq!(
        (op, value),
        (CompareOp::Eq, CompValue::String("jyoung".into()))
    );
}

#[test]
fn email_value_path_filter_and_mixed_case_names() {
    let users = [stored_user("1", "someone@x.com", "e")];
    for f in [
        r#"emails[type eq "work"].value eq "SOMEONE@x.com""#,
        r#"DisplayName eq "some one""#,
        r#"name.FamilyName eq "One""#,
        r#"emails.Value eq "someone@x.com""#,
        r#"meta.Created lt "2024-06-01T00:00:00Z""#,
        r#"userName eq "someone@x.com" and active eq true"#,
    ] {
        assert!(filter_users(f).matches(&users[0], registry().user()), "{f}");
    }
}

#[test]
fn create_user_sample() {
    let p = user("entra/create_user.json");
    assert_eq!(
        p.user().user_name(),
        Some("Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee")
    );
    assert_eq!(
        p.user().external_id(),
        Some("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
    );
    assert!(!p.document.contains_key("meta"));
    assert!(!p.document.contains_key("roles")); // [] means no roles
    assert_eq!(p.document["name"]["formatted"], "givenName familyName");
}

#[test]
fn create_user_with_nulls_and_misspelled_schema() {
    let p = user("entra/create_user_with_nulls.json");
    // null means "no value"; top-level department/manager resolve into the enterprise extension.
    for k in ["addresses", "phoneNumbers", "preferredLanguage", "title", E] {
        assert!(!p.document.contains_key(k), "{k}");
    }
    assert_eq!(p.user().primary_email(), Some("jyoung@Contoso.com"));
    assert!(p.ignored.is_empty());
}

#[test]
fn create_user_with_string_booleans() {
    let p = user("entra/create_user_string_booleans.json");
    assert_eq!(p.document["active"], true);
    assert_eq!(p.document["emails"][0]["primary"], true);
    assert_eq!(p.user().manager_id(), Some("mgr-1"));
}

fn entra_user() -> JsonObject {
    user("entra/create_user.json").document
}

#[test]
fn update_user_samples() {
    let out = patch_user(&entra_user(), "entra/update_user_multi_valued.json");
    assert_eq!(
        out.document["emails"],
        json!([{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}])
    );
    assert_eq!(out.document["name"]["familyName"], "updatedFamilyName");
    assert_eq!(out.changed, ["name.familyName", "emails"]);
    let out = patch_user(&entra_user(), "entra/update_user_single_valued.json");
    assert_eq!(
        out.document["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
}

#[test]
fn disable_user_both_dialects() {
    for f in [
        "entra/disable_user.json",
        "entra/disable_user_string_boolean.json",
    ] {
        let out = patch_user(&entra_user(), f);
        assert_eq!(out.document["active"], false, "{f}");
        assert_eq!(out.changed, ["active"]);
    }
}

#[test]
fn pathless_replace_with_dotted_and_urn_keys() {
    let out = patch_user(&entra_user(), "entra/pathless_replace_flagged.json");
    let d = &out.document;
    assert_eq!(d["displayName"], "Updated Name");
    assert_eq!(d["name"]["givenName"], "Given");
    assert_eq!(d["name"]["familyName"], "Family");
    assert_eq!(d["active"], false);
    assert_eq!(d[E]["employeeNumber"], "EMP-9");
    assert_eq!(d["emails"][0]["value"], "new@contoso.com");
}

#[test]
fn filtered_adds_create_missing_items() {
    let doc = obj(json!({"userName": "u"}));
    let out = patch_user(&doc, "entra/add_filtered_paths.json");
    assert_eq!(
        Value::Object(out.document),
        json!({
            "userName": "u",
            "emails": [{"type": "work", "value": "work@contoso.com"}],
            "addresses": [{"type": "work", "locality": "Redmond", "postalCode": "98052"}],
            "phoneNumbers": [{"type": "mobile", "value": "+1 425 555 0100"}, {"type": "work", "value": "+1 425 555 0199"}]
        })
    );
}

#[test]
fn manager_add_and_removal() {
    let doc = entra_user();
    let a = patch_user(&doc, "entra/add_manager_id.json");
    assert_eq!(
        a.document[E]["manager"],
        json!({"value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"})
    );
    let b = patch_user(&doc, "entra/add_manager_ref.json");
    assert_eq!(
        b.document[E]["manager"]["value"],
        "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    );
    for f in [
        "entra/remove_manager.json",
        "entra/clear_manager_empty.json",
    ] {
        let out = patch_user(&b.document, f);
        assert!(!out.document.contains_key(E), "{f}: {:?}", out.document);
    }
}

#[test]
fn clearing_with_empty_string_and_null() {
    let doc = obj(
        json!({"userName": "u", "title": "T", "name": {"givenName": "G", "familyName": "F"}, E: {"department": "D"}}),
    );
    let out = patch_user(&doc, "entra/clear_attributes.json");
    assert_eq!(
        Value::Object(out.document),
        json!({"userName": "u", "name": {"familyName": "F"}})
    );
}

#[test]
fn groups_create_read_update_members() {
    let (doc, members) = group("entra/create_group.json");
    assert_eq!(
        Value::Object(doc.clone()),
        json!({"displayName": "displayName", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"})
    );
    assert!(members.is_empty());

    // GET /Groups?excludedAttributes=members&filter=displayName eq "displayName"
    let r = registry();
    let q = query(&[
        ("excludedAttributes", "members"),
        ("filter", r#"displayName eq "displayName""#),
    ])
    .unwrap();
    q.validate(r.group()).unwrap();
    let proj = q.projection(r.group()).unwrap();
    assert!(
        !proj.includes(r.group(), "members"),
        "the server need not load members"
    );
    let rows = [Member {
        value: "u1".into(),
        kind: MemberKind::User,
        display: None,
    }];
    let stored = StoredResource {
        id: "927fa2c08dcb4a7fae9e",
        document: &doc,
        created: datetime!(2018-03-27 19:59:26 UTC),
        last_modified: datetime!(2018-03-27 19:59:26 UTC),
        version: "1",
        members: Some(&rows),
    };
    let wire = render(r.group(), "https://h/scim", &stored, &proj);
    assert!(wire.get("members").is_none());
    assert!(q.filter.unwrap().matches(&wire, r.group()));
    let full = render(r.group(), "https://h/scim", &stored, &Projection::all());
    assert_eq!(full["members"][0]["value"], "u1");

    let gid = "a99962b9f99d4c4fac67";
    let out = patch_group(&doc, gid, "entra/update_group_display_name.json");
    assert_eq!(out.changed, ["displayName"]);
    let out = patch_group(&doc, gid, "entra/add_members.json");
    assert_eq!(
        out.members,
        [MembersChange::Add(vec!["f648f8d5ea4e4cd38e9c".into()])]
    );
    let out = patch_group(&doc, gid, "entra/remove_members.json");
    assert_eq!(
        out.members,
        [MembersChange::Remove(vec!["f648f8d5ea4e4cd38e9c".into()])]
    );
    let out = patch_group(&doc, gid, "entra/remove_member_filtered.json");
    assert_eq!(
        out.members,
        [MembersChange::Remove(vec!["f648f8d5ea4e4cd38e9c".into()])]
    );
    let out = patch_group(&doc, gid, "entra/add_multiple_members.json");
    assert_eq!(
        out.members,
        [
            MembersChange::Add(vec!["u-1".into(), "u-2".into()]),
            MembersChange::Remove(vec!["u-3".into()])
        ]
    );
}

#[test]
fn schemas_endpoint_is_a_list_response() {
    let v = discovery::schemas(&registry(), "https://h/scim");
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(v["totalResults"], 4);
    // No nulls anywhere ("If a value isn't present, don't send null values").
    fn no_nulls(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(a) => a.iter().all(no_nulls),
            Value::Object(o) => o.values().all(no_nulls),
            _ => true,
        }
    }
    assert!(no_nulls(&v));
}

#[test]
fn unknown_patch_attribute_is_invalid_path() {
    let r = registry();
    let req = PatchRequest::parse(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "costCentre", "value": "x"}]}),
    )
    .unwrap();
    let e = apply_patch(r.user(), "u", &entra_user(), &req).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
}
