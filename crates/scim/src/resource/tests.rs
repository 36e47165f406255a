//! RFC 7643 §4 / RFC 7644 §3.3, §3.5.1 resource parsing and rendering tests.

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::ScimType;
use crate::projection::Projection;
use crate::schema::{
    AttrType, CustomAttribute, ENTERPRISE_USER_URN, ROSTER_USER_URN, SchemaRegistry,
};

fn registry() -> SchemaRegistry {
    let mut badge = CustomAttribute::new("badgeNumber", AttrType::Integer);
    badge.required = true;
    SchemaRegistry::new(&[badge, CustomAttribute::new("floor", AttrType::String)]).unwrap()
}

#[test]
fn user_create_is_normalised() {
    let r = registry();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "UserName": "bjensen@example.com",
        "id": "client-chosen", "meta": {"resourceType": "User"},
        "groups": [{"value": "g1"}],
        "password": "t1meMa$heen",
        "active": "True",
        "name": {"givenName": "Barbara", "FAMILYNAME": "Jensen", "middleName": null},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": "true"}],
        "title": "",
        "nickName": null
    });
    let p = parse_user(r.user(), &body).unwrap();
    assert_eq!(
        Value::Object(p.document.clone()),
        json!({
            "userName": "bjensen@example.com",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]
        })
    );
    assert!(p.ignored.is_empty());
    let u = p.user();
    assert_eq!(u.user_name(), Some("bjensen@example.com"));
    assert_eq!(u.active(), Some(true));
    assert_eq!(u.given_name(), Some("Barbara"));
    assert_eq!(u.family_name(), Some("Jensen"));
    assert_eq!(u.primary_email(), Some("bjensen@example.com"));
    assert_eq!(u.external_id(), None);
}

#[test]
fn extension_attributes_under_urn_and_as_qualified_keys() {
    let r = registry();
    let body = json!({
        "userName": "a",
        ENTERPRISE_USER_URN: {"employeeNumber": 701984, "Manager": "m-1", "department": null},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "4130",
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Babs",
        "name.givenName": "Barbara",
        ROSTER_USER_URN: {"badgeNumber": "17"}
    });
    let p = parse_user(r.user(), &body).unwrap();
    assert_eq!(
        Value::Object(p.document.clone()),
        json!({
            "userName": "a",
            "displayName": "Babs",
            "name": {"givenName": "Barbara"},
            ENTERPRISE_USER_URN: {"employeeNumber": "701984", "manager": {"value": "m-1"}, "costCenter": "4130"},
            ROSTER_USER_URN: {"badgeNumber": 17}
        })
    );
    assert_eq!(p.user().manager_id(), Some("m-1"));
}

#[test]
fn required_attributes() {
    let r = registry();
    let e = parse_user(r.user(), &json!({"name": {"givenName": "x"}})).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    assert!(e.detail().contains("userName"));
    // Empty string is "no value".
    assert!(parse_user(r.user(), &json!({"userName": ""})).is_err());
    // A used optional extension enforces its own required attributes.
    let e = parse_user(
        r.user(),
        &json!({"userName": "a", ROSTER_USER_URN: {"floor": "3"}}),
    )
    .unwrap_err();
    assert!(e.detail().contains("badgeNumber"), "{}", e.detail());
    let e = parse_group(r.group(), &json!({"members": []})).unwrap_err();
    assert!(e.detail().contains("displayName"));
}

#[test]
fn wrong_types_are_invalid_value_and_bad_shapes_invalid_syntax() {
    let r = registry();
    for body in [
        json!({"userName": "a", "active": "yes"}),
        json!({"userName": "a", "emails": [{"value": "x", "primary": 3}]}),
        json!({"userName": "a", "name": "Barbara"}),
        json!({"userName": ["a", "b"]}),
        json!({"userName": "a", ROSTER_USER_URN: {"badgeNumber": "seventeen"}}),
    ] {
        let e = parse_user(r.user(), &body).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{body}");
    }
    for body in [
        json!("string"),
        json!({"userName": "a", "schemas": "urn:x"}),
        json!({"userName": "a", ENTERPRISE_USER_URN: "x"}),
    ] {
        let e = parse_user(r.user(), &body).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidSyntax), "{body}");
    }
}

#[test]
fn unknown_attributes_ignored_or_rejected() {
    let r = registry();
    let body = json!({"userName": "a", "favouriteColour": "blue", "urn:example:ext:1.0:x": 1});
    let p = parse_user(r.user(), &body).unwrap();
    assert_eq!(p.ignored, ["favouriteColour", "urn:example:ext:1.0:x"]);
    assert!(!p.document.contains_key("favouriteColour"));
    let strict = ParseOptions {
        unknown_attributes: UnknownAttributes::Reject,
    };
    let e = parse_resource(r.user(), &body, strict).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidSyntax));
}

#[test]
fn non_ascii_keys_do_not_panic() {
    // Found by the resource_parse fuzzer: a key whose 4th byte is inside a character.
    let r = registry();
    let body = json!({"userName": "a", "abƐx": 1, "ƐƐƐ": 2, "urn:é": 3, "ü.x": 4});
    let p = parse_user(r.user(), &body).unwrap();
    assert_eq!(p.ignored.len(), 4);
}

#[test]
fn group_members_are_split_out() {
    let r = registry();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "displayName": "Admins", "externalId": "e-1",
        "members": [{"value": "u1", "display": "A"}, {"value": "u2", "$ref": null}, {"value": "u1"}]
    });
    let (doc, members) = parse_group(r.group(), &body).unwrap();
    assert_eq!(
        Value::Object(doc.clone()),
        json!({"displayName": "Admins", "externalId": "e-1"})
    );
    assert_eq!(members, ["u1", "u2"]);
    assert_eq!(GroupView::new(&doc).display_name(), Some("Admins"));
    for bad in [
        json!([{"value": 5}]),
        json!(["u1"]),
        json!([{"display": "x"}]),
    ] {
        let e = parse_group(r.group(), &json!({"displayName": "g", "members": bad})).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    }
}

#[test]
fn replacement_keeps_immutable_values() {
    let mut code = CustomAttribute::new("code", AttrType::String);
    code.mutability = crate::schema::Mutability::Immutable;
    let r = SchemaRegistry::new(&[code]).unwrap();
    let existing = json!({"userName": "a", ROSTER_USER_URN: {"code": "X1"}});
    let existing = existing.as_object().unwrap();
    let same = json!({"userName": "b", ROSTER_USER_URN: {"code": "X1"}});
    assert!(parse_replacement(r.user(), &same, existing, ParseOptions::default()).is_ok());
    let omitted = json!({"userName": "b"});
    let p = parse_replacement(r.user(), &omitted, existing, ParseOptions::default()).unwrap();
    assert_eq!(p.document[ROSTER_USER_URN]["code"], "X1");
    let changed = json!({"userName": "b", ROSTER_USER_URN: {"code": "X2"}});
    let e = parse_replacement(r.user(), &changed, existing, ParseOptions::default()).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::Mutability));
}

fn stored<'a>(doc: &'a JsonObject, members: Option<&'a [Member]>) -> StoredResource<'a> {
    StoredResource {
        id: "2819c223",
        document: doc,
        created: datetime!(2011-08-01 18:29:49 UTC),
        last_modified: datetime!(2011-08-01 18:29:49 UTC),
        version: "3694e05e9dff590",
        members,
    }
}

#[test]
fn render_adds_id_schemas_meta_and_respects_returned() {
    let r = registry();
    let body = json!({
        "userName": "bjensen", "password": "secret", "displayName": "Babs",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        ENTERPRISE_USER_URN: {"employeeNumber": "1"}
    });
    let doc = parse_user(r.user(), &body).unwrap().document;
    let out = render(
        r.user(),
        "https://h/scim/v2/t1/",
        &stored(&doc, None),
        &Projection::all(),
    );
    assert_eq!(
        Value::Object(out),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_URN],
            "id": "2819c223",
            "userName": "bjensen",
            "displayName": "Babs",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            ENTERPRISE_USER_URN: {"employeeNumber": "1"},
            "meta": {
                "resourceType": "User",
                "created": "2011-08-01T18:29:49Z",
                "lastModified": "2011-08-01T18:29:49Z",
                "location": "https://h/scim/v2/t1/Users/2819c223",
                "version": "W/\"3694e05e9dff590\""
            }
        })
    );
}

#[test]
fn projection_attributes_and_excluded_attributes() {
    let r = registry();
    let body = json!({
        "userName": "bjensen", "displayName": "Babs", "title": "Guide",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "a@x", "type": "work"}],
        ENTERPRISE_USER_URN: {"employeeNumber": "1", "department": "Ops"}
    });
    let doc = parse_user(r.user(), &body).unwrap().document;
    let s = stored(&doc, None);
    let proj = |a: Option<&str>, e: Option<&str>| {
        let p = Projection::parse(r.user(), a, e).unwrap();
        Value::Object(render(r.user(), "https://h", &s, &p))
    };
    // attributes: always-returned id, schemas, userName stay; meta goes.
    assert_eq!(
        proj(Some("name.givenName,EMAILS.value"), None),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223", "userName": "bjensen",
            "name": {"givenName": "Barbara"},
            "emails": [{"value": "a@x"}]
        })
    );
    assert_eq!(
        proj(Some(&format!("{ENTERPRISE_USER_URN}:department")), None),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_URN],
            "id": "2819c223", "userName": "bjensen",
            ENTERPRISE_USER_URN: {"department": "Ops"}
        })
    );
    let whole_ext = proj(Some(ENTERPRISE_USER_URN), None);
    assert_eq!(
        whole_ext[ENTERPRISE_USER_URN],
        json!({"employeeNumber": "1", "department": "Ops"})
    );
    // excludedAttributes cannot remove always-returned attributes.
    let v = proj(None, Some("userName,id,name.familyName,emails,meta,title"));
    assert_eq!(v["userName"], "bjensen");
    assert_eq!(v["id"], "2819c223");
    assert_eq!(v["name"], json!({"givenName": "Barbara"}));
    assert!(v.get("emails").is_none() && v.get("meta").is_none() && v.get("title").is_none());
    let v = proj(None, Some(ENTERPRISE_USER_URN));
    assert!(v.get(ENTERPRISE_USER_URN).is_none());
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    // Unknown names select nothing; password is never returned even if asked.
    assert_eq!(
        proj(Some("password,bogus"), None)
            .as_object()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn group_render_members_and_exclusion() {
    let r = registry();
    let (doc, _) = parse_group(r.group(), &json!({"displayName": "Admins"})).unwrap();
    let members = [Member {
        value: "u1".into(),
        kind: MemberKind::User,
        display: Some("Babs".into()),
    }];
    let all = Projection::all();
    let v = render(
        r.group(),
        "https://h/scim",
        &stored(&doc, Some(&members)),
        &all,
    );
    assert_eq!(
        v["members"],
        json!([{"value": "u1", "$ref": "https://h/scim/Users/u1", "type": "User", "display": "Babs"}])
    );
    let v = render(r.group(), "https://h/scim", &stored(&doc, Some(&[])), &all);
    assert_eq!(v["members"], json!([]));
    let excl = Projection::parse(r.group(), None, Some("members")).unwrap();
    assert!(!excl.includes(r.group(), "members"));
    assert!(all.includes(r.group(), "members"));
    let v = render(
        r.group(),
        "https://h/scim",
        &stored(&doc, Some(&members)),
        &excl,
    );
    assert!(v.get("members").is_none());
    assert_eq!(v["meta"]["location"], "https://h/scim/Groups/2819c223");
}

#[test]
fn etags() {
    assert_eq!(weak_etag("abc"), "W/\"abc\"");
    assert!(etag_matches("W/\"abc\"", "abc"));
    assert!(etag_matches("\"abc\"", "abc"));
    assert!(etag_matches("\"x\", W/\"abc\"", "abc"));
    assert!(etag_matches("*", "abc"));
    assert!(!etag_matches("W/\"abd\"", "abc"));
    assert!(!etag_matches("abc", "abc"));
}
