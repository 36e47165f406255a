//! Okta's published "SCIM 2.0 Spec Test" and "CRUD Test", and the flows of its
//! provisioning reference (SCIM-CLIENTS.md).

use serde_json::json;

use super::support::{Scim, encode, okta_user, patch_op};

#[tokio::test]
async fn okta_spec_test_passes() {
    okta_spec_test_passes_through(Scim::new().await).await;
}

/// Okta's spec test through the shared base URL, where the token alone decides the tenant.
#[tokio::test]
async fn okta_spec_test_passes_on_the_shared_url() {
    okta_spec_test_passes_through(Scim::new().await.shared()).await;
}

async fn okta_spec_test_passes_through(scim: Scim) {
    let id = scim.create_user("ada@acme.test").await;
    scim.create_user("grace@acme.test").await;

    // Test API Credentials.
    let list = scim.get("/Users?startIndex=1&count=2").await;
    assert_eq!(list.status, 200);
    let list = scim.get("/Groups?startIndex=1&count=100").await;
    assert_eq!(list.status, 200);

    // List users with count=1: a ListResponse with numbers, and a complete user.
    let list = scim.get("/Users?count=1&startIndex=1").await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(list.body["totalResults"], 2);
    assert_eq!(list.body["itemsPerPage"], 1);
    assert_eq!(list.body["startIndex"], 1);
    let user = &list.body["Resources"][0];
    for key in ["id", "userName", "active"] {
        assert!(!user[key].is_null(), "{key} in {user}");
    }
    assert_eq!(user["name"]["givenName"], "Ada");
    assert_eq!(user["name"]["familyName"], "Lovelace");
    assert!(user["emails"][0]["value"].is_string());

    // Get by id.
    let got = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["id"], id);
    assert!(
        got.body.get("password").is_none(),
        "passwords are never returned"
    );

    // Filter on an unknown userName: 200 with nothing.
    let none = scim
        .get(&format!(
            "/Users?filter={}",
            encode("userName eq \"nobody@acme.test\"")
        ))
        .await;
    assert_eq!(none.status, 200);
    assert_eq!(none.body["totalResults"], 0);

    // Unknown id: 404 with an Error body.
    scim.get("/Users/010101010101")
        .await
        .assert_error(404, None);

    // Create again: 409.
    let again = scim.post("/Users", okta_user("ada@acme.test")).await;
    again.assert_error(409, Some("uniqueness"));

    // userName is case-insensitive: the upper-cased filter finds the user.
    let upper = scim
        .get(&format!(
            "/Users?filter={}",
            encode("userName eq \"ADA@ACME.TEST\"")
        ))
        .await;
    assert_eq!(upper.body["totalResults"], 1);
    assert_eq!(upper.body["Resources"][0]["id"], id);

    // Groups answer.
    assert_eq!(scim.get("/Groups").await.status, 200);

    // A bad token: 401 with an Error body whose status is "401" and a detail.
    let fake = "rst_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let unauthorized = scim.get_with_token("/Users", fake).await;
    unauthorized.assert_error(401, None);
    assert!(
        unauthorized
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    scim.get_with_token("/Users", "not a token")
        .await
        .assert_error(401, None);

    // Another unknown id.
    scim.get("/Users/9876543210").await.assert_error(404, None);
}

#[tokio::test]
async fn okta_crud_lifecycle_keeps_one_id() {
    okta_crud_lifecycle_keeps_one_id_through(Scim::new().await).await;
}

/// Okta's CRUD test through the shared base URL, where the token alone decides the tenant.
#[tokio::test]
async fn okta_crud_lifecycle_keeps_one_id_on_the_shared_url() {
    okta_crud_lifecycle_keeps_one_id_through(Scim::new().await.shared()).await;
}

async fn okta_crud_lifecycle_keeps_one_id_through(scim: Scim) {
    // Assign: look up by userName, then create.
    let lookup = scim
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            encode("userName eq \"ada@acme.test\"")
        ))
        .await;
    assert_eq!(lookup.body["totalResults"], 0);
    let created = scim.post("/Users", okta_user("ada@acme.test")).await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = created.header("location").unwrap().to_owned();
    // The location is under the base URL the client used.
    assert_eq!(location, format!("{}/Users/{id}", scim.base));
    assert_eq!(created.body["meta"]["location"], location);
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert!(created.header("etag").unwrap().starts_with("W/\""));

    // Profile update: GET then a full PUT, which carries id, meta and active.
    let mut user = scim.get(&format!("/Users/{id}")).await.body;
    user["name"]["familyName"] = json!("King");
    user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "Analytics"});
    let put = scim.put(&format!("/Users/{id}"), user).await;
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(put.body["id"], id);
    assert_eq!(put.body["name"]["familyName"], "King");
    assert_eq!(
        put.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Analytics",
        "a PUT keeps the extension it carries"
    );

    // Deactivate: PATCH replace without path.
    let off = scim
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    assert_eq!(off.body["active"], false);
    // Still readable and findable.
    assert_eq!(
        scim.get(&format!("/Users/{id}")).await.body["active"],
        false
    );
    let found = scim
        .get(&format!(
            "/Users?filter={}",
            encode("userName eq \"ada@acme.test\"")
        ))
        .await;
    assert_eq!(found.body["Resources"][0]["active"], false);

    // Reactivate.
    let on = scim
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {"active": true}}])),
        )
        .await;
    assert_eq!(on.body["active"], true);
    assert_eq!(on.body["id"], id);

    // Unassign (deactivate), then re-assign with a new POST: same user, reactivated, 201.
    scim.patch(
        &format!("/Users/{id}"),
        patch_op(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await;
    let mut again = okta_user("ada@acme.test");
    again["name"]["familyName"] = json!("Byron");
    let reassigned = scim.post("/Users", again).await;
    assert_eq!(reassigned.status, 201, "{reassigned:?}");
    assert_eq!(reassigned.body["id"], id);
    assert_eq!(reassigned.body["active"], true);
    assert_eq!(reassigned.body["name"]["familyName"], "Byron");

    let events: Vec<String> = scim
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        events,
        [
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.reactivated",
            "user.deactivated",
            "user.reactivated"
        ]
    );
}

#[tokio::test]
async fn okta_import_pages_are_stable_and_complete() {
    let scim = Scim::new().await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(scim.create_user(&format!("user{i:02}@acme.test")).await);
    }
    for count in [1usize, 7, 10, 100] {
        let mut seen = Vec::new();
        let mut start = 1;
        loop {
            let page = scim
                .get(&format!("/Users?startIndex={start}&count={count}"))
                .await;
            assert_eq!(page.body["totalResults"], 25);
            let resources = page.body["Resources"].as_array().unwrap();
            assert_eq!(page.body["itemsPerPage"], resources.len());
            seen.extend(
                resources
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_owned()),
            );
            start += count;
            if start > 25 {
                break;
            }
        }
        assert_eq!(
            seen, ids,
            "count={count}: every user once, in a stable order"
        );
    }
    // startIndex below 1 means 1; a negative count means 0.
    let page = scim.get("/Users?startIndex=0&count=-5").await;
    assert_eq!(page.body["totalResults"], 25);
    assert_eq!(page.body["itemsPerPage"], 0);
    assert_eq!(page.body["startIndex"], 1);
    // Past the end: empty page.
    let page = scim.get("/Users?startIndex=100&count=10").await;
    assert_eq!(page.body["itemsPerPage"], 0);
    assert_eq!(page.body["totalResults"], 25);
}

#[tokio::test]
async fn okta_groups_push_membership_and_rename() {
    okta_groups_push_membership_and_rename_through(Scim::new().await).await;
}

/// Okta's group pushes through the shared base URL, where the token alone decides the tenant.
#[tokio::test]
async fn okta_groups_push_membership_and_rename_on_the_shared_url() {
    okta_groups_push_membership_and_rename_through(Scim::new().await.shared()).await;
}

async fn okta_groups_push_membership_and_rename_through(scim: Scim) {
    let ada = scim.create_user("ada@acme.test").await;
    let grace = scim.create_user("grace@acme.test").await;
    let group = scim.create_group("Engineering").await;

    let lookup = scim
        .get(&format!(
            "/Groups?filter={}",
            encode("displayName eq \"Engineering\"")
        ))
        .await;
    assert_eq!(lookup.body["Resources"][0]["id"], group);

    // Okta's membership PATCH carries a rename op as well.
    let add = scim
        .patch(
            &format!("/Groups/{group}"),
            patch_op(json!([
                {"op": "replace", "value": {"id": group, "displayName": "Engineering"}},
                {"op": "add", "path": "members", "value": [{"value": ada, "display": "ada@acme.test"}, {"value": grace}]}
            ])),
        )
        .await;
    assert!(add.status == 204 || add.status == 200, "{add:?}");
    let got = scim.get(&format!("/Groups/{group}")).await;
    let members: Vec<&str> = got.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 2);
    assert!(members.contains(&ada.as_str()) && members.contains(&grace.as_str()));

    // The user shows the group.
    let user = scim.get(&format!("/Users/{ada}")).await;
    assert_eq!(user.body["groups"][0]["value"], group);
    assert_eq!(user.body["groups"][0]["display"], "Engineering");

    // Remove one by filter.
    let remove = scim
        .patch(
            &format!("/Groups/{group}"),
            patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{ada}\"]")}])),
        )
        .await;
    assert!(remove.status.is_success(), "{remove:?}");
    let got = scim.get(&format!("/Groups/{group}")).await;
    assert_eq!(got.body["members"].as_array().unwrap().len(), 1);

    // Rename.
    scim.patch(
        &format!("/Groups/{group}"),
        patch_op(json!([{"op": "replace", "value": {"id": group, "displayName": "Platform"}}])),
    )
    .await;
    assert_eq!(
        scim.get(&format!("/Groups/{group}")).await.body["displayName"],
        "Platform"
    );

    // Replace members with an empty list.
    scim.patch(
        &format!("/Groups/{group}"),
        patch_op(json!([{"op": "replace", "path": "members", "value": []}])),
    )
    .await;
    assert_eq!(
        scim.get(&format!("/Groups/{group}")).await.body["members"],
        json!([])
    );

    // Wizard apps PUT the whole group.
    let put = scim
        .put(
            &format!("/Groups/{group}"),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": group, "displayName": "Platform", "members": [{"value": grace}]}),
        )
        .await;
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(put.body["members"][0]["value"], grace);

    assert_eq!(scim.delete(&format!("/Groups/{group}")).await.status, 204);
    scim.get(&format!("/Groups/{group}"))
        .await
        .assert_error(404, None);

    let events: Vec<String> = scim
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    let tail: Vec<&str> = events.iter().skip(2).map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "group.created",
            "group.member_added",
            "group.member_added",
            "group.member_removed",
            "group.updated",
            "group.member_removed",
            "group.member_added",
            "group.deleted"
        ]
    );
}
