//! Snapshots of what clients see on the wire: SCIM users and groups (full and projected),
//! a ListResponse, errors and a webhook body. One snapshot per response serves both
//! databases, so a difference between SQLite and PostgreSQL fails here as surely as a
//! change of format. Values that differ from run to run (ids, times, versions, the port)
//! are replaced by placeholders first; `cargo insta review` shows a changed snapshot.

use std::sync::Arc;
use std::time::Duration;

use roster_core::delivery::{DeliverySettings, EndpointForm};
use roster_testkit::{Receiver, TestApp};
use serde_json::{Value, json};

use crate::rules::support::access;
use crate::scim::support::{Scim, encode, patch_op};

/// Replaces what changes between runs: the named ids wherever they occur (inside
/// locations and `$ref`s too), the app's address, times, versions and sequence numbers.
fn scrub(mut value: Value, scim: &Scim, ids: &[(&str, &str)]) -> Value {
    let origin = scim.app.url("");
    let origin = origin.trim_end_matches('/').to_owned();
    fn walk(value: &mut Value, origin: &str, ids: &[(&str, &str)]) {
        match value {
            Value::String(text) => {
                let mut out = text.replace(origin, "https://roster.example");
                for (id, name) in ids {
                    out = out.replace(id, name);
                }
                *text = out;
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, origin, ids)),
            Value::Object(map) => {
                for (key, field) in map.iter_mut() {
                    let placeholder = match key.as_str() {
                        "created" | "lastModified" | "occurred_at" => Some("[time]"),
                        "version" => Some("[version]"),
                        "seq" => Some("[seq]"),
                        _ => None,
                    };
                    match placeholder {
                        Some(p) if !field.is_object() => *field = Value::from(p),
                        _ => walk(field, origin, ids),
                    }
                }
            }
            _ => {}
        }
    }
    walk(&mut value, &origin, ids);
    value
}

fn enterprise_user(user_name: &str) -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": user_name,
        "externalId": "00u1ada",
        "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        "displayName": "Ada Lovelace",
        "title": "Analyst",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "emails": [
            {"value": user_name, "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "1815",
            "department": "Engines",
            "manager": {"value": "00u0babbage"}
        }
    })
}

#[tokio::test]
async fn scim_users_groups_lists_and_errors() {
    let scim = Scim::new().await;
    let created = scim.post("/Users", enterprise_user("ada@acme.test")).await;
    assert_eq!(created.status, 201, "{created:?}");
    let user = created.body["id"].as_str().unwrap().to_owned();
    // The group's id is known once it exists.
    let scrubbed = |body: Value, group: Option<&str>| {
        let mut ids = vec![(user.as_str(), "[user]")];
        ids.extend(group.map(|g| (g, "[group]")));
        scrub(body, &scim, &ids)
    };

    insta::assert_json_snapshot!("user_created", scrubbed(created.body.clone(), None));
    let projected = scim
        .get(&format!(
            "/Users/{user}?attributes=userName,name.familyName,emails.value"
        ))
        .await;
    assert_eq!(projected.status, 200, "{projected:?}");
    insta::assert_json_snapshot!("user_projected", scrubbed(projected.body, None));
    let excluded = scim
        .get(&format!(
            "/Users/{user}?excludedAttributes=emails,phoneNumbers,name"
        ))
        .await;
    assert_eq!(excluded.status, 200, "{excluded:?}");
    insta::assert_json_snapshot!("user_excluded", scrubbed(excluded.body, None));

    let group = scim
        .post(
            "/Groups",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "externalId": "00g1eng",
                "members": [{"value": user}]
            }),
        )
        .await;
    assert_eq!(group.status, 201, "{group:?}");
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    insta::assert_json_snapshot!("group_created", scrubbed(group.body, Some(&group_id)));
    let group_projected = scim
        .get(&format!("/Groups/{group_id}?excludedAttributes=members"))
        .await;
    assert_eq!(group_projected.status, 200, "{group_projected:?}");
    insta::assert_json_snapshot!(
        "group_without_members",
        scrubbed(group_projected.body, Some(&group_id))
    );
    let renamed = scim
        .patch(
            &format!("/Groups/{group_id}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Eng"}])),
        )
        .await;
    assert!(renamed.status.is_success(), "{renamed:?}");

    let list = scim
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=10",
            encode("userName eq \"ADA@acme.test\"")
        ))
        .await;
    assert_eq!(list.status, 200, "{list:?}");
    insta::assert_json_snapshot!("user_list", scrubbed(list.body, Some(&group_id)));
    let groups = scim
        .get("/Groups?attributes=displayName,members&count=5")
        .await;
    assert_eq!(groups.status, 200, "{groups:?}");
    insta::assert_json_snapshot!("group_list", scrubbed(groups.body, Some(&group_id)));

    let duplicate = scim.post("/Users", enterprise_user("ada@acme.test")).await;
    duplicate.assert_error(409, Some("uniqueness"));
    insta::assert_json_snapshot!(
        "error_uniqueness",
        scrubbed(duplicate.body, Some(&group_id))
    );
    let bad_filter = scim
        .get(&format!("/Users?filter={}", encode("userName eq")))
        .await;
    bad_filter.assert_error(400, Some("invalidFilter"));
    insta::assert_json_snapshot!("error_invalid_filter", scrubbed(bad_filter.body, None));
    let missing = scim
        .get("/Users/00000000-0000-0000-0000-000000000000")
        .await;
    missing.assert_error(404, None);
    insta::assert_json_snapshot!("error_not_found", scrubbed(missing.body, None));
}

#[tokio::test]
async fn webhook_bodies() {
    let app = TestApp::builder()
        .allow_local_receivers()
        .delivery(DeliverySettings {
            poll_interval: Duration::from_millis(20),
            ..DeliverySettings::default()
        })
        .spawn()
        .await;
    let scim = Scim::on(Arc::new(app), "acme").await;
    let receiver = Receiver::start().await;
    let (_, tenant) = access(&scim.app, "acme").await;
    let types = vec!["user.created".to_owned(), "group.member_added".to_owned()];
    let form = EndpointForm::parse(&receiver.url, "product", &types, true).unwrap();
    scim.app
        .services
        .webhooks()
        .create(&tenant, form)
        .await
        .unwrap();

    let created = scim.post("/Users", enterprise_user("ada@acme.test")).await;
    assert_eq!(created.status, 201, "{created:?}");
    let user = created.body["id"].as_str().unwrap().to_owned();
    let group = scim.create_group("Engineering").await;
    let added = scim
        .patch(
            &format!("/Groups/{group}"),
            patch_op(json!([{"op": "add", "path": "members", "value": [{"value": user}]}])),
        )
        .await;
    assert!(added.status.is_success(), "{added:?}");

    let received = receiver.wait_for(2, Duration::from_secs(30)).await;
    let tenant_id = scim.tenant_id().await.to_string();
    for request in received {
        let body = request.json();
        let event = body["id"].as_str().unwrap().to_owned();
        let kind = body["type"].as_str().unwrap().replace('.', "_");
        let ids = [
            (user.as_str(), "[user]"),
            (group.as_str(), "[group]"),
            (tenant_id.as_str(), "[tenant]"),
            (event.as_str(), "[event]"),
        ];
        insta::assert_json_snapshot!(format!("webhook_{kind}"), scrub(body, &scim, &ids));
    }
}
