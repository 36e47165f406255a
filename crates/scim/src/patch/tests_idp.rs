//! RFC 7644 §3.5.2 PATCH as identity providers send it beyond the RFC's letter: Entra's
//! filtered add that creates the item, string booleans and capitalised ops, clearing
//! with null or "", and the enterprise manager in each of its forms.

use serde_json::{Value, json};

use super::tests::{fails, ok, user};
use crate::ScimType;
use crate::schema::ENTERPRISE_USER_URN;

#[test]
fn entra_filtered_add_creates_missing_items() {
    let d = json!({"userName": "u"}).as_object().unwrap().clone();
    let out = ok(
        &d,
        json!([
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@x.com"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
            {"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "True"}
        ]),
    );
    assert_eq!(
        Value::Object(out.document),
        json!({
            "userName": "u",
            "emails": [{"type": "work", "value": "w@x.com", "primary": true}],
            "addresses": [{"type": "work", "locality": "Redmond"}],
            "phoneNumbers": [{"type": "mobile", "value": "+1 555"}]
        })
    );
    assert_eq!(out.changed, ["emails", "phoneNumbers", "addresses"]);
    // A filter that does not describe one element cannot create it.
    fails(
        &d,
        json!([{"op": "add", "path": "emails[type ne \"work\"].value", "value": "x"}]),
        ScimType::NoTarget,
    );
    // Clearing a value that does not exist creates nothing.
    assert!(
        ok(
            &d,
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": ""}])
        )
        .is_noop()
    );
}

#[test]
fn entra_string_booleans_and_capitalised_ops() {
    let d = user();
    let out = ok(
        &d,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(out.document["active"], false);
    let out = ok(
        &d,
        json!([{"op": "Add", "path": "active", "value": "True"}]),
    );
    assert!(out.is_noop());
}

#[test]
fn clearing_with_null_or_empty_string() {
    let d = user();
    let out = ok(
        &d,
        json!([{"op": "replace", "path": "name.familyName", "value": ""}]),
    );
    assert_eq!(out.document["name"], json!({"givenName": "Barbara"}));
    let out = ok(
        &d,
        json!([{"op": "replace", "path": "name", "value": null}]),
    );
    assert!(!out.document.contains_key("name"));
    let out = ok(&d, json!([{"op": "replace", "value": {"active": null}}]));
    assert!(!out.document.contains_key("active"));
}

#[test]
fn enterprise_manager_forms() {
    let d = json!({"userName": "u"}).as_object().unwrap().clone();
    let mgr = format!("{ENTERPRISE_USER_URN}:manager");
    let expect = json!({"value": "m-9"});
    for value in [
        json!("m-9"),
        json!({"value": "m-9"}),
        json!([{"$ref": null, "value": "m-9"}]),
    ] {
        let out = ok(&d, json!([{"op": "Add", "path": mgr, "value": value}]));
        assert_eq!(
            out.document[ENTERPRISE_USER_URN]["manager"], expect,
            "{value}"
        );
    }
    let out = ok(
        &d,
        json!([{"op": "Add", "path": mgr, "value": [{"$ref": "https://h/Users/m-9", "value": "m-9"}]}]),
    );
    assert_eq!(
        out.document[ENTERPRISE_USER_URN]["manager"],
        json!({"$ref": "https://h/Users/m-9", "value": "m-9"})
    );
    // A new manager replaces the stale $ref.
    let with = user();
    let out = ok(
        &with,
        json!([{"op": "replace", "path": mgr, "value": "m2"}]),
    );
    assert_eq!(
        out.document[ENTERPRISE_USER_URN]["manager"],
        json!({"value": "m2"})
    );
    // Removal: by remove, or by an empty value in any of its shapes.
    for o in [
        json!({"op": "remove", "path": mgr}),
        json!({"op": "Remove", "path": mgr, "value": [{"value": "m1"}]}),
        json!({"op": "replace", "path": mgr, "value": ""}),
        json!({"op": "Add", "path": mgr, "value": {"value": ""}}),
        json!({"op": "replace", "path": mgr, "value": null}),
        json!({"op": "replace", "path": mgr, "value": []}),
    ] {
        let out = ok(&with, json!([o.clone()]));
        assert!(
            out.document[ENTERPRISE_USER_URN].get("manager").is_none(),
            "{o}"
        );
        assert_eq!(
            out.changed,
            [format!("{mgr}.value"), format!("{mgr}.$ref")],
            "{o}"
        );
    }
    // Unqualified `manager` resolves into the extension too.
    let out = ok(
        &d,
        json!([{"op": "add", "path": "manager", "value": "m-3"}]),
    );
    assert_eq!(out.document[ENTERPRISE_USER_URN]["manager"]["value"], "m-3");
}
