//! The directory half of the events and directory API (`/api/v1/users`, `/groups`,
//! `/groups/{id}/members`): filters, paging and the errors of bad input. The harness is in
//! `api.rs`.

use roster_core::rules::{
    LocationCode, LocationName, MatchKind, MatchValues, NewRule, ProvisioningSettings, RulePath,
    TimeZoneName,
};
use serde_json::{Value, json};

use crate::api::{Api, ENTERPRISE, ids};
use crate::rules::support::access;
use crate::scim::support::{Scim, encode, okta_user, patch_op};

#[tokio::test]
async fn the_directory_filters_and_pages_users_groups_and_members() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let api = Api::new(app.clone(), "acme").await;
    let (_, acme) = access(&app, "acme").await;

    // Two locations; users of engineering are hosts in Berlin, the rest in Paris.
    let rules = app.services.rules();
    let paris = rules
        .add_location(
            &acme,
            LocationName::parse("Paris HQ").unwrap(),
            LocationCode::parse("PAR").unwrap(),
            TimeZoneName::parse("Europe/Paris").unwrap(),
        )
        .await
        .unwrap();
    let berlin = rules
        .add_location(
            &acme,
            LocationName::parse("Berlin").unwrap(),
            LocationCode::parse("BER").unwrap(),
            TimeZoneName::parse("Europe/Berlin").unwrap(),
        )
        .await
        .unwrap();
    let schema = rules.rules(&acme).await.unwrap().registry.clone();
    for (values, location) in [("eng", berlin), ("s", paris)] {
        rules
            .add_rule(
                &acme,
                NewRule {
                    path: RulePath::parse(&format!("{ENTERPRISE}:department"), schema.user())
                        .unwrap(),
                    kind: MatchKind::StartsWith,
                    values: MatchValues::parse(values, MatchKind::StartsWith).unwrap(),
                    locations: vec![location],
                    kiosks: vec![],
                },
            )
            .await
            .unwrap();
    }
    rules
        .update_settings(
            &acme,
            ProvisioningSettings {
                assign_hosts: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let mut users = Vec::new();
    for (name, department) in [
        ("ada@acme.test", "Engineering"),
        ("bob@acme.test", "Sales"),
        ("cy@acme.test", "Engineering"),
        ("dee@acme.test", "Support"),
        ("eve@acme.test", "Sales"),
    ] {
        let mut body = okta_user(name);
        body[ENTERPRISE] = json!({"department": department});
        body["emails"] = json!([
            {"primary": true, "value": name.replace("@", ".Work@").to_uppercase(), "type": "work"},
            {"value": name, "type": "home"}
        ]);
        let answer = scim.post("/Users", body).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        users.push(answer.body["id"].as_str().unwrap().to_owned());
    }
    let answer = scim
        .patch(
            &format!("/Users/{}", users[1]),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let engineering = scim
        .post(
            "/Groups",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"value": users[0]}, {"value": users[2]}, {"value": users[3]}]
            }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let empty_group = scim.create_group("Empty").await;
    let globex = scim.tenant("globex").await;
    let theirs = globex.create_user("gina@globex.test").await;
    let their_group = globex.create_group("Theirs").await;

    // Paging: every user once, in order, whatever the page size.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = api
            .ok(&format!("/api/v1/users?limit=2&cursor={}", encode(&cursor)))
            .await;
        assert!(page["users"].as_array().unwrap().len() <= 2);
        paged.extend(ids(&page["users"]));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(page["has_more"], true);
                cursor = next.to_owned();
            }
            None => {
                assert_eq!(page["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(paged, users);

    // Filters.
    let only = |path: &str| {
        let api = &api;
        let path = path.to_owned();
        async move { ids(&api.ok(&path).await["users"]) }
    };
    assert_eq!(
        only("/api/v1/users?email=BOB@acme.test").await,
        [users[1].clone()]
    );
    assert_eq!(
        only("/api/v1/users?email=cy.work%40acme.test").await,
        [users[2].clone()],
        "any of the user's emails, case-insensitively"
    );
    assert_eq!(
        only("/api/v1/users?userName=DEE@ACME.TEST").await,
        [users[3].clone()]
    );
    assert_eq!(only("/api/v1/users?active=false").await, [users[1].clone()]);
    assert_eq!(only("/api/v1/users?active=true").await.len(), 4);
    assert_eq!(
        only(&format!("/api/v1/users?group={engineering}")).await,
        [users[0].clone(), users[2].clone(), users[3].clone()]
    );
    assert_eq!(
        only(&format!(
            "/api/v1/users?group={engineering}&active=true&location=ber"
        ))
        .await,
        [users[0].clone(), users[2].clone()]
    );
    assert_eq!(
        only("/api/v1/users?location=PAR").await,
        [users[1].clone(), users[3].clone(), users[4].clone()]
    );
    assert_eq!(
        only(&format!("/api/v1/users?location={berlin}")).await,
        [users[0].clone(), users[2].clone()]
    );
    assert!(only("/api/v1/users?location=NOWHERE").await.is_empty());
    assert!(
        only(&format!("/api/v1/users?group={their_group}"))
            .await
            .is_empty()
    );
    assert!(
        only("/api/v1/users?email=gina@globex.test")
            .await
            .is_empty()
    );

    // One user: groups, locations, notifications, names.
    let ada = api.ok(&format!("/api/v1/users/{}", users[0])).await;
    assert_eq!(ada["userName"], "ada@acme.test");
    assert_eq!(ada["externalId"], "00u-ada@acme.test");
    assert_eq!(ada["name"]["givenName"], "Ada");
    assert_eq!(ada["primaryEmail"], "ADA.WORK@ACME.TEST");
    assert_eq!(ada["emails"].as_array().unwrap().len(), 2);
    assert_eq!(ada["active"], true);
    assert_eq!(
        ada["groups"],
        json!([{"id": engineering, "displayName": "Engineering"}])
    );
    assert_eq!(ada["locations"][0]["code"], "BER");
    assert!(ada["scim"].get("password").is_none());
    assert!(ada["created"].as_str().unwrap().ends_with('Z'));
    assert!(ada.get("lastModified").is_some());

    api.get(&format!("/api/v1/users/{theirs}"))
        .await
        .assert_error(404, "not_found");
    api.get(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()))
        .await
        .assert_error(404, "not_found");

    // Groups and members, paged.
    let groups = api.ok("/api/v1/groups?limit=1").await;
    assert_eq!(ids(&groups["groups"]), std::slice::from_ref(&engineering));
    assert_eq!(groups["groups"][0]["members"], 3);
    let next = groups["next_cursor"].as_str().unwrap();
    let groups = api
        .ok(&format!("/api/v1/groups?limit=1&cursor={}", encode(next)))
        .await;
    assert_eq!(ids(&groups["groups"]), std::slice::from_ref(&empty_group));
    assert_eq!(groups["next_cursor"], Value::Null);

    let members = api
        .ok(&format!("/api/v1/groups/{engineering}/members?limit=2"))
        .await;
    let mut member_ids = ids(&members["members"]);
    let next = members["next_cursor"].as_str().unwrap();
    let members = api
        .ok(&format!(
            "/api/v1/groups/{engineering}/members?limit=2&cursor={}",
            encode(next)
        ))
        .await;
    member_ids.extend(ids(&members["members"]));
    assert_eq!(
        member_ids,
        [users[0].clone(), users[2].clone(), users[3].clone()]
    );
    assert_eq!(members["has_more"], false);
    assert!(
        api.ok(&format!("/api/v1/groups/{empty_group}/members"))
            .await["members"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    api.get(&format!("/api/v1/groups/{their_group}/members"))
        .await
        .assert_error(404, "not_found");

    // Bad input: 400 with a JSON error, never a 500.
    for bad in [
        "/api/v1/users/not-a-uuid".to_owned(),
        "/api/v1/users?active=yes".to_owned(),
        "/api/v1/users?group=engineering".to_owned(),
        "/api/v1/users?limit=0".to_owned(),
        "/api/v1/users?limit=201".to_owned(),
        "/api/v1/users?cursor=garbage".to_owned(),
        format!("/api/v1/users?cursor={}", encode(next)),
        "/api/v1/groups?limit=x".to_owned(),
        "/api/v1/groups/%20/members".to_owned(),
        "/api/v1/groups/123/members".to_owned(),
    ] {
        api.get(&bad).await.assert_error(400, "invalid_request");
    }
}
