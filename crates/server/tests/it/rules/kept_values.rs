//! A removed custom attribute's values are kept aside: hidden while it is undefined
//! (SCIM, events, the directory API), never dropped by a PUT or PATCH that cannot carry
//! them, and back when it is defined again.

use roster_core::memberships::TenantAccess;
use roster_core::rules::{AttributeName, AttributeType, NewAttribute};
use serde_json::json;

use super::support::*;
use crate::scim::support::{Scim, encode, okta_user, patch_op};

const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

async fn define(scim: &Scim, acme: &TenantAccess, name: &str) {
    scim.app
        .services
        .rules()
        .add_attribute(
            acme,
            NewAttribute {
                name: AttributeName::parse(name).unwrap(),
                ty: AttributeType::parse("string").unwrap(),
                multi_valued: false,
                description: String::new(),
            },
        )
        .await
        .unwrap();
}

async fn undefine(scim: &Scim, acme: &TenantAccess, name: &str) {
    let rules = scim.app.services.rules();
    let id = rules
        .rules(acme)
        .await
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == name)
        .unwrap()
        .id;
    rules.remove_attribute(acme, id).await.unwrap();
}

#[tokio::test]
async fn values_of_a_removed_definition_survive_a_put_and_come_back() {
    let scim = Scim::new().await;
    let (_, acme) = access(&scim.app, "acme").await;
    define(&scim, &acme, "badgeNumber").await;
    define(&scim, &acme, "site").await;
    let mut body = okta_user("ada@acme.test");
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ROSTER]);
    body[ROSTER] = json!({"badgeNumber": "4711", "site": "HQ"});
    let answer = scim.post("/Users", body).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let id = answer.body["id"].as_str().unwrap().to_owned();

    undefine(&scim, &acme, "badgeNumber").await;
    // Hidden while undefined: SCIM and the directory API.
    let user = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(user.body[ROSTER], json!({"site": "HQ"}), "{user:?}");
    let product = api_user(&scim, &id).await;
    assert_eq!(product["scim"][ROSTER], json!({"site": "HQ"}), "{product}");

    // Okta pushes the profile it has, which cannot carry the undefined attribute (and
    // one that tries is ignored), then a PATCH.
    let mut profile = okta_user("ada@acme.test");
    profile["title"] = json!("Countess");
    profile["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ROSTER]);
    profile[ROSTER] = json!({"site": "Lab", "badgeNumber": "0000"});
    let answer = scim.put(&format!("/Users/{id}"), profile).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body[ROSTER], json!({"site": "Lab"}));
    let (_, event) = last_event(&scim).await;
    assert_eq!(event["scim"][ROSTER], json!({"site": "Lab"}), "{event}");
    let answer = scim
        .put(&format!("/Users/{id}"), okta_user("ada@acme.test"))
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.body.get(ROSTER).is_none(), "{answer:?}");
    let answer = scim
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ada"}])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");

    // Defined again: the value Okta could not see is back; `site`, which the PUT
    // removed while it was defined, stays removed.
    define(&scim, &acme, "badgeNumber").await;
    let user = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(
        user.body[ROSTER],
        json!({"badgeNumber": "4711"}),
        "{user:?}"
    );
    assert_eq!(user.body["displayName"], "Ada");
    let product = api_user(&scim, &id).await;
    assert_eq!(product["scim"][ROSTER], json!({"badgeNumber": "4711"}));
    // And a filter finds it at once: the attribute-value index held it meanwhile.
    let found = scim
        .get(&format!(
            "/Users?filter={}",
            encode(&format!("{ROSTER}:badgeNumber eq \"4711\""))
        ))
        .await;
    assert_eq!(found.body["totalResults"], 1, "{found:?}");
    // A value sent once it is defined replaces it as usual.
    let mut body = okta_user("ada@acme.test");
    body[ROSTER] = json!({"badgeNumber": "42"});
    let answer = scim.put(&format!("/Users/{id}"), body).await;
    assert_eq!(
        answer.body[ROSTER],
        json!({"badgeNumber": "42"}),
        "{answer:?}"
    );
}
