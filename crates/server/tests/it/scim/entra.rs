//! Microsoft Entra ID's SCIM dialect, with and without the `aadOptscim062020` flag.

use serde_json::json;

use super::support::{Scim, encode, patch_op};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn entra_user(user_name: &str, external_id: &str) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": "True",
        "displayName": "Bjorn Nilsson",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"formatted": "Bjorn Nilsson", "familyName": "Nilsson", "givenName": "Bjorn"},
        "department": null,
        "meta": {"resourceType": "User"},
        ENTERPRISE: {"employeeNumber": "701984", "department": "Sales"}
    })
}

#[tokio::test]
async fn entra_test_connection_and_filters() {
    let scim = Scim::new().await;
    // Test connection: a random GUID matches nothing.
    for filter in [
        "userName eq \"3ba7a1b1-0c1f-4b4a-8a5b-7c4b4e1f8f3e\"",
        "externalId eq \"3ba7a1b1-0c1f-4b4a-8a5b-7c4b4e1f8f3e\"",
    ] {
        let answer = scim.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["totalResults"], 0);
        assert_eq!(answer.body["Resources"], json!([]));
    }

    let created = scim
        .post("/Users", entra_user("bjorn@contoso.test", "bjorn"))
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(
        created.body["active"], true,
        "the string \"True\" is a boolean"
    );
    assert_eq!(created.body[ENTERPRISE]["employeeNumber"], "701984");
    let id = created.body["id"].as_str().unwrap().to_owned();

    for filter in [
        "userName eq \"bjorn@contoso.test\"",
        "externalId eq \"bjorn\"",
        "externalId eq bjorn",
        "emails[type eq \"work\"].value eq \"Bjorn@Contoso.test\"",
        "DisplayName eq \"bjorn nilsson\"",
        "name.FamilyName eq \"Nilsson\"",
        "emails.Value eq \"bjorn@contoso.test\"",
        "meta.Created gt \"2000-01-01T00:00:00Z\"",
        "active eq true",
        "userName eq \"bjorn@contoso.test\" and active eq true",
    ] {
        let answer = scim.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(answer.status, 200, "{filter}: {answer:?}");
        assert_eq!(answer.body["totalResults"], 1, "{filter}");
        assert_eq!(answer.body["Resources"][0]["id"], id, "{filter}");
    }
    for filter in [
        "externalId eq \"BJORN\"",
        "emails[type eq \"home\"].value eq \"bjorn@contoso.test\"",
        "active eq false",
    ] {
        let answer = scim.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(answer.body["totalResults"], 0, "{filter}");
    }
    scim.get(&format!("/Users?filter={}", encode("userName eq")))
        .await
        .assert_error(400, Some("invalidFilter"));
    scim.get(&format!("/Users?filter={}", encode("nosuch eq \"x\"")))
        .await
        .assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn entra_patch_without_the_flag() {
    let scim = Scim::new().await;
    let id = scim
        .post("/Users", entra_user("bjorn@contoso.test", "bjorn"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/Users/{id}");

    let answer = scim
        .patch(
            &path,
            patch_op(json!([
                {"op": "Replace", "path": "displayName", "value": "Björn Nilsson"},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "bjorn@home.test"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Malmö"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+46 70 000 00 00"}
            ])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["displayName"], "Björn Nilsson");
    assert_eq!(answer.body["addresses"][0]["locality"], "Malmö");
    assert_eq!(answer.body["phoneNumbers"][0]["value"], "+46 70 000 00 00");
    let emails = answer.body["emails"].as_array().unwrap();
    assert!(
        emails
            .iter()
            .any(|e| e["type"] == "home" && e["value"] == "bjorn@home.test")
    );

    // The new email is filterable at once.
    let found = scim
        .get(&format!(
            "/Users?filter={}",
            encode("emails[type eq \"home\"].value eq \"bjorn@home.test\"")
        ))
        .await;
    assert_eq!(found.body["totalResults"], 1);

    // Disable with a string boolean.
    let off = scim
        .patch(
            &path,
            patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(off.body["active"], false, "{off:?}");

    // Manager: a plain id, then removal by an empty value.
    let manager = scim
        .post("/Users", entra_user("boss@contoso.test", "boss"))
        .await
        .body["id"]
        .clone();
    let answer = scim
        .patch(
            &path,
            patch_op(
                json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager}]),
            ),
        )
        .await;
    assert_eq!(
        answer.body[ENTERPRISE]["manager"]["value"], manager,
        "{answer:?}"
    );
    let answer = scim
        .patch(
            &path,
            patch_op(
                json!([{"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": ""}]),
            ),
        )
        .await;
    assert!(
        answer.body[ENTERPRISE].get("manager").is_none(),
        "{answer:?}"
    );

    // Clearing with "" and null.
    let answer = scim
        .patch(&path, patch_op(json!([{"op": "Replace", "path": "displayName", "value": ""}, {"op": "Replace", "path": "name.givenName", "value": null}])))
        .await;
    assert!(answer.body.get("displayName").is_none(), "{answer:?}");
    assert!(answer.body["name"].get("givenName").is_none());

    // A failing operation leaves the user untouched (atomic PATCH).
    let before = scim.get(&path).await.body;
    let answer = scim
        .patch(
            &path,
            patch_op(json!([
                {"op": "Replace", "path": "nickName", "value": "B"},
                {"op": "Remove", "path": "emails[type eq \"nosuch\"]"}
            ])),
        )
        .await;
    answer.assert_error(400, Some("noTarget"));
    assert_eq!(scim.get(&path).await.body, before);
    scim.patch(&path, patch_op(json!([{"op": "remove"}])))
        .await
        .assert_error(400, Some("noTarget"));
    scim.patch(
        &path,
        patch_op(json!([{"op": "Replace", "path": "id", "value": "x"}])),
    )
    .await
    .assert_error(400, Some("mutability"));
}

#[tokio::test]
async fn entra_patch_with_the_flag() {
    let scim = Scim::new().await;
    let id = scim
        .post("/Users", entra_user("bjorn@contoso.test", "bjorn"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = scim
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {
                "name.givenName": "Björn",
                "name.familyName": "Nilsson-Berg",
                format!("{ENTERPRISE}:employeeNumber"): "42",
                "active": false
            }}])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["name"]["givenName"], "Björn");
    assert_eq!(answer.body["name"]["familyName"], "Nilsson-Berg");
    assert_eq!(answer.body[ENTERPRISE]["employeeNumber"], "42");
    assert_eq!(answer.body["active"], false);

    let manager = scim
        .post("/Users", entra_user("boss@contoso.test", "boss"))
        .await
        .body["id"]
        .clone();
    let answer = scim
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": [{"$ref": null, "value": manager}]}])),
        )
        .await;
    assert_eq!(
        answer.body[ENTERPRISE]["manager"]["value"], manager,
        "{answer:?}"
    );
    let answer = scim
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "remove", "path": format!("{ENTERPRISE}:manager")}])),
        )
        .await;
    assert!(
        answer.body[ENTERPRISE].get("manager").is_none(),
        "{answer:?}"
    );
}

#[tokio::test]
async fn entra_groups_and_deletion() {
    let scim = Scim::new().await;
    let bjorn = scim
        .post("/Users", entra_user("bjorn@contoso.test", "bjorn"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let anna = scim
        .post("/Users", entra_user("anna@contoso.test", "anna"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let created = scim
        .post(
            "/Groups",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Group1DisplayName",
                "meta": {"resourceType": "Group"}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let group = created.body["id"].as_str().unwrap().to_owned();

    let add = scim
        .patch(&format!("/Groups/{group}"), patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": bjorn}, {"value": anna}]}])))
        .await;
    assert_eq!(add.status, 204, "{add:?}");
    let remove = scim
        .patch(
            &format!("/Groups/{group}"),
            patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": bjorn}]}])),
        )
        .await;
    assert_eq!(remove.status, 204, "{remove:?}");

    let lean = scim
        .get(&format!("/Groups/{group}?excludedAttributes=members"))
        .await;
    assert_eq!(lean.status, 200);
    assert!(lean.body.get("members").is_none());
    assert_eq!(lean.body["displayName"], "Group1DisplayName");
    let full = scim.get(&format!("/Groups/{group}")).await;
    assert_eq!(full.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(full.body["members"][0]["value"], anna);

    let filtered = scim
        .get(&format!(
            "/Groups?filter={}&excludedAttributes=members",
            encode(&format!("members.value eq \"{anna}\""))
        ))
        .await;
    assert_eq!(filtered.body["totalResults"], 1);
    let by_external = scim
        .get(&format!(
            "/Groups?filter={}",
            encode("externalId eq \"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\"")
        ))
        .await;
    assert_eq!(by_external.body["totalResults"], 1);

    // A member must be a user of this tenant.
    scim.patch(&format!("/Groups/{group}"), patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": "0190a1b2-0000-7000-8000-000000000000"}]}])))
        .await
        .assert_error(400, Some("invalidValue"));

    // Deleting a user removes its memberships; its id is gone everywhere; its name is free.
    assert_eq!(scim.delete(&format!("/Users/{anna}")).await.status, 204);
    scim.get(&format!("/Users/{anna}"))
        .await
        .assert_error(404, None);
    scim.patch(
        &format!("/Users/{anna}"),
        patch_op(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await
    .assert_error(404, None);
    scim.put(
        &format!("/Users/{anna}"),
        entra_user("anna@contoso.test", "anna"),
    )
    .await
    .assert_error(404, None);
    scim.delete(&format!("/Users/{anna}"))
        .await
        .assert_error(404, None);
    assert_eq!(
        scim.get(&format!("/Groups/{group}")).await.body["members"],
        json!([])
    );
    let again = scim
        .post("/Users", entra_user("anna@contoso.test", "anna"))
        .await;
    assert_eq!(again.status, 201);
    assert_ne!(again.body["id"], anna);

    // Schemas is a ListResponse.
    let schemas = scim.get("/Schemas").await;
    assert_eq!(
        schemas.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert!(schemas.body["totalResults"].as_u64().unwrap() >= 3);
}
