//! Property tests for the PATCH engine: a failing operation leaves the
//! document exactly as it was, reported changes agree with the document, one
//! batch equals the same operations one by one, and no body panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use roster_scim::JsonObject;
use roster_scim::patch::{PatchRequest, apply_patch};
use roster_scim::schema::SchemaRegistry;
use serde_json::{Value, json};

const E: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn base() -> JsonObject {
    json!({
        "userName": "bjensen", "active": true, "title": "Guide",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@x.com", "type": "work", "primary": true}, {"value": "h@y.org", "type": "home"}],
        E: {"employeeNumber": "1", "manager": {"value": "m1"}}
    })
    .as_object()
    .unwrap()
    .clone()
}

fn paths() -> Vec<Option<String>> {
    [
        None,
        Some("title"),
        Some("active"),
        Some("nickName"),
        Some("name.givenName"),
        Some("name"),
        Some("emails"),
        Some("emails[type eq \"work\"].value"),
        Some("emails[type eq \"home\"]"),
        Some("emails[value co \"@\"]"),
        Some("emails[type eq \"other\"].primary"),
        Some("phoneNumbers[type eq \"mobile\"].value"),
        Some("addresses[type eq \"work\"].locality"),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
        Some("manager"),
        Some("userName"),
        Some("id"),
        Some("groups"),
        Some("nope"),
        Some("emails[nope eq 1]"),
    ]
    .into_iter()
    .map(|p| p.map(str::to_owned))
    .collect()
}

fn values() -> Vec<Option<Value>> {
    vec![
        None,
        Some(Value::Null),
        Some(json!("")),
        Some(json!("x")),
        Some(json!(true)),
        Some(json!("False")),
        Some(json!(5)),
        Some(json!({"givenName": "G"})),
        Some(json!([{"value": "n@x.com", "type": "work", "primary": true}])),
        Some(json!({"active": false, "name.familyName": "F", "displayName": "D"})),
        Some(json!({"value": "m2"})),
        Some(json!([])),
        Some(json!({"id": "u1", "title": "T"})),
        Some(json!({E: {"department": "Ops"}})),
    ]
}

fn operation() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["add", "replace", "remove", "Add", "Replace", "Remove"]),
        prop::sample::select(paths()),
        prop::sample::select(values()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = serde_json::Map::new();
            o.insert("op".into(), op.into());
            if let Some(p) = path {
                o.insert("path".into(), p.into());
            }
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        })
        // Keep operations that parse, so whole requests are not vacuous.
        .prop_filter("parses", |op| request(std::slice::from_ref(op)).is_some())
}

fn request(ops: &[Value]) -> Option<PatchRequest> {
    PatchRequest::parse(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops
    }))
    .ok()
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "add",
            "Remove",
            "members",
            "emails[type eq \"work\"].value",
            "name.givenName",
            "",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
        ])
        .prop_map(|s| json!(s)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "op",
                        "path",
                        "value",
                        "Operations",
                        "schemas",
                        "members",
                        "active",
                        "emails",
                        "x"
                    ]),
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn failing_operation_leaves_document_unchanged(ops in prop::collection::vec(operation(), 0..6)) {
        let r = SchemaRegistry::standard();
        let doc = base();
        let snapshot = doc.clone();
        let mut all = ops.clone();
        // Guaranteed to fail: nothing matches this filter.
        all.push(json!({"op": "remove", "path": "emails[type eq \"no-such-type\"]"}));
        let req = request(&all).unwrap();
        let res = apply_patch(r.user(), "u1", &doc, &req);
        prop_assert!(res.is_err());
        prop_assert_eq!(&doc, &snapshot);
    }

    #[test]
    fn reported_changes_agree_with_the_document(ops in prop::collection::vec(operation(), 1..6)) {
        let r = SchemaRegistry::standard();
        let doc = base();
        let req = request(&ops).unwrap();
        if let Ok(out) = apply_patch(r.user(), "u1", &doc, &req) {
            prop_assert_eq!(out.changed.is_empty(), out.document == doc, "{:?}", out.changed);
        }
    }

    #[test]
    fn batch_equals_one_by_one(ops in prop::collection::vec(operation(), 1..5)) {
        let r = SchemaRegistry::standard();
        let doc = base();
        let req = request(&ops).unwrap();
        let Ok(batch) = apply_patch(r.user(), "u1", &doc, &req) else { return Ok(()) };
        let mut step = doc.clone();
        for op in &ops {
            let single = request(std::slice::from_ref(op)).unwrap();
            match apply_patch(r.user(), "u1", &step, &single) {
                Ok(out) => step = out.document,
                // Intermediate states may violate end-of-patch checks
                // (e.g. a required attribute removed then re-added).
                Err(_) => return Ok(()),
            }
        }
        prop_assert_eq!(batch.document, step);
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in arb_json()) {
        let r = SchemaRegistry::standard();
        if let Ok(req) = PatchRequest::parse(&body) {
            let _ = apply_patch(r.user(), "u1", &base(), &req);
            let _ = apply_patch(r.group(), "g1", &json!({"displayName": "G"}).as_object().unwrap().clone(), &req);
        }
        let _ = roster_scim::resource::parse_user(r.user(), &body);
        let _ = roster_scim::resource::parse_group(r.group(), &body);
    }
}
