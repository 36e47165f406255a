//! Tenant A can never read, change or even learn of tenant B's data, through its own
//! base URL, B's, or the shared one.

use reqwest::Method;
use serde_json::json;

use super::support::{Scim, encode, okta_user, patch_op};

#[tokio::test]
async fn no_route_gives_one_tenant_anything_of_another() {
    let a = Scim::new().await;
    let b = a.tenant("beta").await;
    let b_user = b.create_user("ada@acme.test").await;
    let b_group = b.create_group("Secret").await;
    // The same userName and group name in two tenants are two resources.
    let a_user = a.create_user("ada@acme.test").await;
    let a_group = a.create_group("Secret").await;
    assert_ne!(a_user, b_user);

    // A's token never reaches B's resources: on A's endpoint, nor on the shared one where
    // the token alone decides the tenant.
    for a in [&a, &a.shared()] {
        for path in [format!("/Users/{b_user}"), format!("/Groups/{b_group}")] {
            a.get(&path).await.assert_error(404, None);
            a.put(&path, okta_user("x@acme.test"))
                .await
                .assert_error(404, None);
            a.patch(
                &path,
                patch_op(json!([{"op": "replace", "value": {"displayName": "x"}}])),
            )
            .await
            .assert_error(404, None);
            a.delete(&path).await.assert_error(404, None);
        }
        let list = a.get("/Users").await;
        assert_eq!(list.body["totalResults"], 1);
        assert_eq!(list.body["Resources"][0]["id"], a_user);
        let filtered = a
            .get(&format!(
                "/Users?filter={}",
                encode(&format!("id eq \"{b_user}\""))
            ))
            .await;
        assert_eq!(filtered.body["totalResults"], 0);
        let groups = a
            .get(&format!(
                "/Groups?filter={}",
                encode(&format!("members.value eq \"{b_user}\""))
            ))
            .await;
        assert_eq!(groups.body["totalResults"], 0);
        a.patch(
            &format!("/Groups/{a_group}"),
            patch_op(json!([{"op": "add", "path": "members", "value": [{"value": b_user}]}])),
        )
        .await
        .assert_error(400, Some("invalidValue"));
        let bulk = a
            .post("/Bulk", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [{"method": "DELETE", "path": format!("/Users/{b_user}")}]}))
            .await;
        assert_eq!(bulk.body["Operations"][0]["status"], "404");
        let root = a
            .post(
                "/.search",
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
            )
            .await;
        assert_eq!(root.body["totalResults"], 2);
    }
    // A's token on B's endpoint: the same 401 as an unknown tenant — existence is not
    // revealed.
    let paths = [
        "/Users".to_owned(),
        format!("/Users/{b_user}"),
        "/Groups".to_owned(),
        format!("/Groups/{b_group}"),
        "/ServiceProviderConfig".to_owned(),
        "/ResourceTypes".to_owned(),
        "/Schemas".to_owned(),
        "/Me".to_owned(),
    ];
    let on_b = |path: &str| format!("{}{path}", b.base);
    let on_nowhere = |path: &str| format!("{}{path}", b.base.replace("/beta", "/gamma"));
    for path in &paths {
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            for url in [on_b(path), on_nowhere(path)] {
                let response = a
                    .app
                    .client
                    .request(method.clone(), &url)
                    .header("Authorization", format!("Bearer {}", a.token))
                    .header("Content-Type", "application/scim+json")
                    .body(okta_user("x@acme.test").to_string())
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                // Unknown sub-paths may 404 or 405 identically for every tenant; every
                // authenticated route must refuse A's token with the same 401.
                assert!(status == 401 || status == 405, "{method} {url}: {status}");
                if status == 401 {
                    assert_eq!(
                        body["detail"],
                        "the bearer token is not valid for this endpoint"
                    );
                }
            }
        }
    }

    // B saw nothing change.
    assert_eq!(b.get(&format!("/Users/{b_user}")).await.status, 200);
    assert_eq!(b.get("/Users").await.body["totalResults"], 1);
    // B's log holds only B's own two writes; A's attempts are in A's log.
    let b_tenant = a
        .app
        .services
        .tenants()
        .find_by_slug("beta")
        .await
        .unwrap()
        .unwrap();
    let (refused, b_log): (Vec<_>, Vec<_>) = b
        .log()
        .await
        .into_iter()
        .filter(|row| row.tenant_id == b_tenant.id.0)
        .partition(|row| row.operation == "auth.rejected");
    assert_eq!(b_log.len(), 2);
    assert!(b_log.iter().all(|row| row.outcome == "success"));
    // A's attempts at B's URL are refusals in B's log that say nothing of A's token:
    // neither its id nor any part of it.
    assert!(!refused.is_empty());
    let a_public_id = a.token.split('_').nth(1).unwrap().to_owned();
    for row in &refused {
        assert_eq!(row.token_id, None);
        let detail = row.detail.clone().unwrap_or_default();
        assert!(detail.contains("not valid for this tenant"), "{detail}");
        assert!(!detail.contains(&a_public_id[..4]), "{detail}");
    }

    // B's token on the shared URL sees B's own, and only them (after the log checks:
    // the refused read is a row of B's log).
    let b_shared = b.shared();
    let list = b_shared.get("/Users").await;
    assert_eq!(list.body["totalResults"], 1);
    assert_eq!(list.body["Resources"][0]["id"], b_user);
    b_shared
        .get(&format!("/Users/{a_user}"))
        .await
        .assert_error(404, None);
}
