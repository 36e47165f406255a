//! RFC 7643/7644 behaviour that servers most often get wrong.

use reqwest::Method;
use serde_json::json;

use super::support::{Scim, encode, okta_user, patch_op};

#[tokio::test]
async fn media_types_etags_and_conditional_requests() {
    let scim = Scim::new().await;
    // application/json is accepted as well as application/scim+json.
    let created = scim
        .send_raw(
            Method::POST,
            "/Users",
            Some(okta_user("ada@acme.test").to_string()),
            &[("Content-Type", "application/json")],
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(
        created.header("content-type"),
        Some("application/scim+json")
    );
    let id = created.body["id"].as_str().unwrap().to_owned();
    let etag = created.header("etag").unwrap().to_owned();
    assert_eq!(created.body["meta"]["version"], etag);

    let wrong = scim
        .send_raw(
            Method::POST,
            "/Users",
            Some(okta_user("x@acme.test").to_string()),
            &[("Content-Type", "text/plain")],
        )
        .await;
    wrong.assert_error(415, None);

    let path = format!("/Users/{id}");
    let same = scim
        .send_raw(Method::GET, &path, None, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(same.status, 304);
    let stale = scim
        .send_raw(
            Method::PUT,
            &path,
            Some(okta_user("ada@acme.test").to_string()),
            &[
                ("If-Match", "W/\"999\""),
                ("Content-Type", "application/scim+json"),
            ],
        )
        .await;
    stale.assert_error(412, None);

    // A PUT that changes nothing keeps the version and writes no event.
    let events_before = scim.events().await.len();
    let unchanged = scim
        .send_raw(
            Method::PUT,
            &path,
            Some(okta_user("ada@acme.test").to_string()),
            &[
                ("If-Match", &etag),
                ("Content-Type", "application/scim+json"),
            ],
        )
        .await;
    assert_eq!(unchanged.status, 200, "{unchanged:?}");
    assert_eq!(unchanged.header("etag"), Some(etag.as_str()));
    assert_eq!(scim.events().await.len(), events_before);

    let mut changed = okta_user("ada@acme.test");
    changed["displayName"] = json!("Countess");
    let answer = scim.put(&path, changed).await;
    assert_ne!(answer.header("etag"), Some(etag.as_str()));
    assert_eq!(scim.events().await.len(), events_before + 1);
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_leaves_nothing_behind() {
    let scim = Scim::new().await;
    let send = |body: &str| {
        scim.send_raw(
            Method::POST,
            "/Users",
            Some(body.to_owned()),
            &[("Content-Type", "application/scim+json")],
        )
    };
    send("{not json")
        .await
        .assert_error(400, Some("invalidSyntax"));
    send("").await.assert_error(400, Some("invalidSyntax"));
    send("[1,2,3]")
        .await
        .assert_error(400, Some("invalidSyntax"));
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    send(&deep).await.assert_error(400, Some("invalidSyntax"));
    send(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}"#)
        .await
        .assert_error(400, Some("invalidValue"));
    send(r#"{"userName": 42.5e400}"#)
        .await
        .assert_error(400, Some("invalidSyntax"));
    send(r#"{"userName": "a@b.test", "active": "maybe"}"#)
        .await
        .assert_error(400, Some("invalidValue"));
    send(r#"{"userName": "a@b.test", "emails": [{"value": {"nested": 1}}]}"#)
        .await
        .assert_error(400, Some("invalidValue"));
    let long = json!({"userName": "x".repeat(5000)}).to_string();
    send(&long).await.assert_error(400, Some("invalidValue"));
    let huge = json!({"userName": "a@b.test", "nickName": "x".repeat(2 * 1024 * 1024)}).to_string();
    send(&huge).await.assert_error(413, None);

    // Nothing was created; every failure is in the provisioning log, without bodies.
    assert_eq!(scim.get("/Users").await.body["totalResults"], 0);
    assert!(scim.events().await.is_empty());
    let log = scim.log().await;
    assert_eq!(log.len(), 10);
    assert!(
        log.iter()
            .all(|row| row.outcome == "failure" && row.operation == "user.create")
    );
    assert!(log.iter().all(|row| {
        !row.detail
            .as_deref()
            .unwrap_or_default()
            .contains("xxxxxxxxxx")
    }));
    assert_eq!(log[0].status, 413);

    scim.get("/Users?count=abc")
        .await
        .assert_error(400, Some("invalidValue"));
    scim.get(&format!(
        "/Users?filter={}",
        encode("userName eq \"unterminated")
    ))
    .await
    .assert_error(400, Some("invalidFilter"));
    scim.get(&format!("/Users?filter={}", encode(&"(".repeat(200))))
        .await
        .assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn projection_sorting_search_and_endpoints() {
    let scim = Scim::new().await;
    for name in ["carol", "alice", "bob"] {
        let mut body = okta_user(&format!("{name}@acme.test"));
        body["externalId"] = json!(name);
        body["displayName"] = json!(name.to_uppercase());
        assert_eq!(scim.post("/Users", body).await.status, 201);
    }
    let list = scim
        .get("/Users?attributes=userName&sortBy=userName&sortOrder=descending")
        .await;
    let names: Vec<&str> = list.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["carol@acme.test", "bob@acme.test", "alice@acme.test"]
    );
    let first = list.body["Resources"][0].as_object().unwrap();
    assert!(first.contains_key("id") && first.contains_key("schemas"));
    assert!(
        !first.contains_key("name") && !first.contains_key("emails"),
        "{first:?}"
    );

    let lean = scim.get("/Users?excludedAttributes=emails,name,meta").await;
    let one = lean.body["Resources"][0].as_object().unwrap();
    assert!(
        !one.contains_key("emails") && !one.contains_key("meta") && one.contains_key("userName")
    );

    // An unindexed filter still answers exactly (evaluated in memory).
    let list = scim
        .get(&format!(
            "/Users?filter={}&sortBy=displayName",
            encode("name.givenName eq \"Ada\" and not (externalId sw \"c\")")
        ))
        .await;
    assert_eq!(list.body["totalResults"], 2);
    assert_eq!(list.body["Resources"][0]["displayName"], "ALICE");

    // POST .search is GET's equivalent.
    let searched = scim
        .post("/Users/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"b\"", "attributes": ["userName"]}))
        .await;
    assert_eq!(searched.status, 200, "{searched:?}");
    assert_eq!(searched.body["totalResults"], 1);
    let root = scim
        .post("/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "startIndex": 1, "count": 10}))
        .await;
    assert_eq!(root.body["totalResults"], 3);

    // Discovery.
    let spc = scim.get("/ServiceProviderConfig").await;
    assert_eq!(spc.body["bulk"]["supported"], true);
    assert!(spc.body["bulk"]["maxOperations"].as_u64().unwrap() > 0);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["changePassword"]["supported"], false);
    let types = scim.get("/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 2);
    assert_eq!(
        scim.get("/ResourceTypes/User").await.body["endpoint"],
        "/Users"
    );
    scim.get("/ResourceTypes/Printer")
        .await
        .assert_error(404, None);
    let enterprise = scim
        .get("/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        .await;
    assert_eq!(
        enterprise.body["id"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    scim.get("/Schemas/urn:nope").await.assert_error(404, None);

    // Trailing slashes, unknown endpoints, methods, /Me.
    assert_eq!(scim.get("/Users/").await.status, 200);
    scim.get("/Printers").await.assert_error(404, None);
    scim.send(Method::DELETE, "/Users", None)
        .await
        .assert_error(405, None);
    scim.get("/Me").await.assert_error(501, None);
}

#[tokio::test]
async fn bulk_resolves_bulk_ids_and_stops_on_errors() {
    let scim = Scim::new().await;
    let answer = scim
        .post(
            "/Bulk",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops", "members": [{"value": "bulkId:u1"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "u1", "data": okta_user("ada@acme.test")},
                    {"method": "PATCH", "path": "/Users/bulkId:u1", "data": patch_op(json!([{"op": "replace", "value": {"displayName": "Ada L."}}]))},
                    {"method": "POST", "path": "/Users", "bulkId": "dup", "data": okta_user("ada@acme.test")}
                ]
            }),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let ops = answer.body["Operations"].as_array().unwrap();
    let status_of = |bulk_id: &str| {
        ops.iter()
            .find(|o| o["bulkId"] == bulk_id)
            .map(|o| o["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of("u1").as_deref(), Some("201"));
    assert_eq!(status_of("g1").as_deref(), Some("201"));
    assert_eq!(status_of("dup").as_deref(), Some("409"));
    let group = scim
        .get(&format!(
            "/Groups?filter={}",
            encode("displayName eq \"Ops\"")
        ))
        .await;
    assert_eq!(
        group.body["Resources"][0]["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let stopped = scim
        .post(
            "/Bulk",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": ""}},
                    {"method": "POST", "path": "/Users", "bulkId": "b", "data": okta_user("bob@acme.test")}
                ]
            }),
        )
        .await;
    assert_eq!(stopped.body["Operations"].as_array().unwrap().len(), 1);
    assert_eq!(
        scim.get(&format!(
            "/Users?filter={}",
            encode("userName eq \"bob@acme.test\"")
        ))
        .await
        .body["totalResults"],
        0
    );

    let too_many: Vec<_> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    scim.post("/Bulk", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": too_many}))
        .await
        .assert_error(413, None);
}

#[tokio::test]
async fn removing_active_leaves_it_unassigned_and_filters_stay_exact() {
    let scim = Scim::new().await;
    let on = scim.create_user("on@acme.test").await;
    let off = scim.create_user("off@acme.test").await;
    let unset = scim.create_user("unset@acme.test").await;
    scim.patch(
        &format!("/Users/{off}"),
        patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await;
    let removed = scim
        .patch(
            &format!("/Users/{unset}"),
            patch_op(json!([{"op": "remove", "path": "active"}])),
        )
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert!(removed.body.get("active").is_none(), "{removed:?}");

    let ids = |filter: &str| {
        let scim = &scim;
        let filter = filter.to_owned();
        async move {
            let list = scim
                .get(&format!("/Users?filter={}", encode(&filter)))
                .await;
            let mut ids: Vec<String> = list.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            assert_eq!(list.body["totalResults"], ids.len(), "{filter}");
            ids
        }
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(ids("active eq true").await, sorted(vec![on.clone()]));
    assert_eq!(ids("active eq false").await, sorted(vec![off.clone()]));
    assert_eq!(
        ids("active ne false").await,
        sorted(vec![on.clone(), unset.clone()])
    );
    assert_eq!(
        ids("active ne true").await,
        sorted(vec![off.clone(), unset.clone()])
    );
    assert_eq!(
        ids("active pr").await,
        sorted(vec![on.clone(), off.clone()])
    );
    assert_eq!(ids("not (active pr)").await, sorted(vec![unset.clone()]));
}
