//! Custom attributes: in the tenant's /Schemas and /ResourceTypes, validated on write,
//! filterable, carried in events.

use roster_core::rules::{AttributeName, AttributeType, NewAttribute};
use serde_json::json;

use super::support::*;
use crate::scim::support::{Scim, encode, okta_user};

const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

#[tokio::test]
async fn custom_attributes_are_served_validated_filtered_and_sent() {
    let scim = Scim::new().await;
    let other = scim.tenant("globex").await;
    let (_, acme) = access(&scim.app, "acme").await;
    let rules = scim.app.services.rules();
    // Discovery before: no Roster extension.
    let types = scim.get("/ResourceTypes/User").await;
    assert!(
        types
            .body
            .get("schemaExtensions")
            .is_none_or(|e| !e.to_string().contains(ROSTER))
    );

    for (name, ty, multi) in [
        ("badgeNumber", "integer", false),
        ("costCode", "string", false),
        ("skills", "string", true),
    ] {
        rules
            .add_attribute(
                &acme,
                NewAttribute {
                    name: AttributeName::parse(name).unwrap(),
                    ty: AttributeType::parse(ty).unwrap(),
                    multi_valued: multi,
                    description: format!("{name} from Okta"),
                },
            )
            .await
            .unwrap();
    }
    assert!(
        rules
            .add_attribute(
                &acme,
                NewAttribute {
                    name: AttributeName::parse("BADGENUMBER").unwrap(),
                    ty: AttributeType::parse("string").unwrap(),
                    multi_valued: false,
                    description: String::new(),
                },
            )
            .await
            .is_err(),
        "names are unique regardless of case"
    );
    assert!(AttributeName::parse("notificationSettings").is_err());
    assert!(AttributeName::parse("not").is_err());

    let schema = scim.get(&format!("/Schemas/{ROSTER}")).await;
    assert_eq!(schema.status, 200, "{schema:?}");
    let names: Vec<_> = schema.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["badgeNumber", "costCode", "skills"]);
    assert_eq!(schema.body["attributes"][2]["multiValued"], true);
    let types = scim.get("/ResourceTypes/User").await;
    assert!(types.body["schemaExtensions"].to_string().contains(ROSTER));
    // Another tenant's schema is its own.
    assert_eq!(other.get(&format!("/Schemas/{ROSTER}")).await.status, 404);

    // Validated on write.
    let mut body = okta_user("ada@acme.test");
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ROSTER]);
    body[ROSTER] = json!({"badgeNumber": "not a number", "costCode": "CC-1"});
    let before = counts(&scim, &acme).await;
    let answer = scim.post("/Users", body.clone()).await;
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        400,
        Some("invalidValue"),
        &format!("attribute \"{ROSTER}:badgeNumber\": expected an integer, got a string"),
    )
    .await;

    body[ROSTER] = json!({"badgeNumber": 42, "costCode": "CC-1", "skills": ["rust", "sql"]});
    let answer = scim.post("/Users", body).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body[ROSTER]["badgeNumber"], 42);
    assert!(
        answer.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ROSTER))
    );
    let (_, event) = last_event(&scim).await;
    assert_eq!(event["scim"][ROSTER]["costCode"], "CC-1");
    scim.create_user("grace@acme.test").await;

    // Filterable, by full path and by name.
    for filter in [
        format!("{ROSTER}:badgeNumber eq 42"),
        "costCode eq \"cc-1\"".to_owned(),
        "skills co \"rus\"".to_owned(),
    ] {
        let list = scim
            .get(&format!("/Users?filter={}", encode(&filter)))
            .await;
        assert_eq!(list.status, 200, "{filter}: {list:?}");
        assert_eq!(list.body["totalResults"], 1, "{filter}");
        assert_eq!(list.body["Resources"][0]["userName"], "ada@acme.test");
    }
}
