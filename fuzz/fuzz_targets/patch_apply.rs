//! Any JSON body: PatchOp parsing and application never panic, the input
//! document is never modified, and a successful patch reports changes
//! exactly when the document changed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_scim::patch::{PatchRequest, apply_patch};
use roster_scim::schema::{AttrType, CustomAttribute, SchemaRegistry};
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(req) = PatchRequest::parse(&body) else {
        return;
    };
    let Ok(registry) = SchemaRegistry::new(&[CustomAttribute::new("level", AttrType::Integer)])
    else {
        return;
    };
    let user = json!({
        "userName": "bjensen", "active": true, "title": "Guide",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@x.com", "type": "work", "primary": true}, {"value": "h@y.org", "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1", "manager": {"value": "m1"}},
        "urn:ietf:params:scim:schemas:extension:roster:2.0:User": {"level": 3}
    });
    let group = json!({"displayName": "Admins", "externalId": "g"});
    for (schema, doc) in [(registry.user(), &user), (registry.group(), &group)] {
        let Some(doc) = doc.as_object() else { return };
        let before = doc.clone();
        if let Ok(out) = apply_patch(schema, "id-1", doc, &req) {
            assert_eq!(
                out.changed.is_empty(),
                &out.document == doc,
                "changed {:?}",
                out.changed
            );
        }
        assert_eq!(doc, &before);
    }
});
