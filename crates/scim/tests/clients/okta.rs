//! Okta: SCIM 2.0 reference, "SCIM 2.0 Spec Test" and "CRUD Test" suites.

use roster_scim::patch::MembersChange;
use roster_scim::projection::Projection;
use roster_scim::resource::{StoredResource, parse_replacement, render};
use roster_scim::{ScimError, ScimType};
use serde_json::{Value, json};
use time::macros::datetime;

use super::*;

#[test]
fn test_api_credentials_paging() {
    // GET /Users?startIndex=1&count=2 and GET /Groups?startIndex=1&count=100
    let q = query(&[("startIndex", "1"), ("count", "2")]).unwrap();
    let p = q.page(100, 200);
    assert_eq!((p.offset, p.limit, p.start_index), (0, 2, 1));
    let q = query(&[("startIndex", "1"), ("count", "100")]).unwrap();
    assert_eq!(q.page(100, 200).limit, 100);
}

#[test]
fn import_pages_until_total_results() {
    // GET /Users?startIndex=1&count=100, then +100 until totalResults.
    let users: Vec<JsonObject> = (0..250)
        .map(|i| {
            stored_user(
                &format!("id-{i:03}"),
                &format!("user{i}@example.com"),
                &format!("ext-{i}"),
            )
        })
        .collect();
    let mut seen = 0;
    let mut start = 1;
    loop {
        let s = start.to_string();
        let q = query(&[("startIndex", s.as_str()), ("count", "100")]).unwrap();
        let page = list_users(&q, &users);
        let v = page.to_json();
        assert_eq!(v["totalResults"], 250);
        assert_eq!(v["startIndex"], start);
        assert_eq!(v["itemsPerPage"], page.resources.len());
        seen += page.resources.len();
        start += 100;
        if start > 250 {
            break;
        }
    }
    assert_eq!(seen, 250);
}

#[test]
fn assign_user_lookup_then_create() {
    // GET /Users?filter=userName eq "x"&startIndex=1&count=100 → none → POST /Users
    let q = query(&[
        ("filter", r#"userName eq "isaac.brock@example.com""#),
        ("startIndex", "1"),
        ("count", "100"),
    ])
    .unwrap();
    let empty = list_users(&q, &[stored_user("a", "other@example.com", "e")]);
    assert_eq!(empty.to_json()["totalResults"], 0);
    assert_eq!(empty.to_json()["Resources"], json!([]));

    let p = user("okta/create_user.json");
    let u = p.user();
    assert_eq!(u.user_name(), Some("isaac.brock@example.com"));
    assert_eq!(u.external_id(), Some("00ujl29u0le5T6Aj10h7"));
    assert_eq!(u.given_name(), Some("Isaac"));
    assert_eq!(u.family_name(), Some("Brock"));
    assert_eq!(u.primary_email(), Some("isaac.brock@example.com"));
    assert_eq!(u.display_name(), Some("Isaac Brock"));
    assert_eq!(u.active(), Some(true));
    // password accepted and dropped; `groups` is read-only and ignored.
    assert!(!p.document.contains_key("password"));
    assert!(!p.document.contains_key("groups"));
    assert_eq!(p.document["locale"], "en-US");
    assert!(p.ignored.is_empty());
}

#[test]
fn profile_update_put_keeps_everything_it_carries() {
    let created = user("okta/create_user.json").document;
    let r = registry();
    let p = parse_replacement(
        r.user(),
        &fixture("okta/replace_user.json"),
        &created,
        Default::default(),
    )
    .unwrap();
    // id and meta (read-only) are ignored; both extensions are kept.
    assert!(!p.document.contains_key("id") && !p.document.contains_key("meta"));
    assert_eq!(
        p.document[E],
        json!({"employeeNumber": "4242", "department": "Engineering"})
    );
    assert_eq!(p.document[R], json!({"badgeNumber": 17}));
    assert_eq!(p.user().active(), Some(true));
}

#[test]
fn deactivate_and_reactivate_by_pathless_patch() {
    let doc = user("okta/create_user.json").document;
    let off = patch_user(&doc, "okta/deactivate_user.json");
    assert_eq!(off.document["active"], false);
    assert_eq!(off.changed, ["active"]);
    // A deactivated user stays readable with active:false.
    let r = registry();
    let stored = StoredResource {
        id: "u-id",
        document: &off.document,
        created: datetime!(2024-01-01 0:00 UTC),
        last_modified: datetime!(2024-01-02 0:00 UTC),
        version: "2",
        members: None,
    };
    let wire = render(
        r.user(),
        "https://roster.example/scim/v2/acme",
        &stored,
        &Projection::all(),
    );
    assert_eq!(wire["active"], false);
    assert!(wire.get("password").is_none());
    let on = patch_user(&off.document, "okta/reactivate_user.json");
    assert_eq!(on.document["active"], true);
    // Sending the same state again is a no-op the server can skip.
    assert!(patch_user(&on.document, "okta/reactivate_user.json").is_noop());
}

#[test]
fn groups_create_lookup_rename_and_members() {
    let (doc, members) = group("okta/create_group.json");
    assert_eq!(doc["displayName"], "Test SCIMv2");
    assert!(members.is_empty());
    assert!(!doc.contains_key("members"));

    // GET /Groups?filter=displayName eq "Test SCIMv2"
    let f = Filter::parse_for(r#"displayName eq "Test SCIMv2""#, registry().group()).unwrap();
    let mut wire = doc.clone();
    wire.insert("id".into(), json!("abf4dd94-a4c0-4f67-89c9-76b03340cb9b"));
    assert!(f.matches(&wire, registry().group()));

    let gid = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b";
    let renamed = patch_group(&doc, gid, "okta/rename_group.json");
    assert_eq!(renamed.document["displayName"], "Test SCIMv2 renamed");
    assert_eq!(renamed.changed, ["displayName"]);
    // Okta repeats the rename on every membership change: a no-op then.
    assert!(patch_group(&renamed.document, gid, "okta/rename_group.json").is_noop());
    // The same body against a different group id is refused.
    let r = registry();
    let req = PatchRequest::parse(&fixture("okta/rename_group.json")).unwrap();
    let e = apply_patch(r.group(), "other", &doc, &req).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::Mutability));

    let add = patch_group(&doc, gid, "okta/add_members.json");
    assert_eq!(
        add.members,
        [MembersChange::Add(vec![
            "23a35c27-23d3-4c03-b4c5-6443c09e7173".into()
        ])]
    );
    assert!(add.changed.is_empty());
    let rm = patch_group(&doc, gid, "okta/remove_member.json");
    assert_eq!(
        rm.members,
        [MembersChange::Remove(vec![
            "23a35c27-23d3-4c03-b4c5-6443c09e7173".into()
        ])]
    );
    let rep = patch_group(&doc, gid, "okta/replace_members.json");
    assert_eq!(
        rep.members,
        [MembersChange::Replace(vec!["u-1".into(), "u-2".into()])]
    );
    let none = patch_group(&doc, gid, "okta/replace_members_empty.json");
    assert_eq!(none.members, [MembersChange::Replace(vec![])]);
}

#[test]
fn wizard_apps_put_the_whole_group() {
    let (doc, members) = group("okta/replace_group.json");
    assert_eq!(Value::Object(doc), json!({"displayName": "Test SCIMv2"}));
    assert_eq!(members, ["u-1", "u-2"]);
}

#[test]
fn spec_test_user_name_is_case_insensitive() {
    let users = [stored_user("1", "isaac.brock@example.com", "x")];
    let q = query(&[
        ("filter", r#"userName eq "ISAAC.BROCK@EXAMPLE.COM""#),
        ("startIndex", "1"),
        ("count", "1"),
    ])
    .unwrap();
    assert_eq!(list_users(&q, &users).total_results, 1);
    let q = query(&[("filter", r#"userName eq "unknown@example.com""#)]).unwrap();
    assert_eq!(list_users(&q, &users).to_json()["totalResults"], 0);
}

#[test]
fn spec_test_error_bodies() {
    let e = ScimError::new(401, None, "Authentication failed");
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["status"], "401");
    assert_eq!(v["detail"], "Authentication failed");
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    let v = serde_json::to_value(ScimError::not_found("User 010101 not found")).unwrap();
    assert_eq!(v["status"], "404");
    let v = serde_json::to_value(ScimError::uniqueness("userName already exists")).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["scimType"].as_str()),
        (Some("409"), Some("uniqueness"))
    );
}
