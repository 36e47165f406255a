//! The provisioning log names the user of every row — created, replaced, patched,
//! deleted, refused before any user existed, through Bulk — and the admin's log page
//! shows and finds it.

use roster_core::rules::ProvisioningSettings;
use serde_json::json;

use super::support::*;
use crate::admin_support::operator;
use crate::scim::support::{Scim, encode, okta_user, patch_op};

/// The userName of the newest log row.
async fn last_named(scim: &Scim) -> (String, Option<String>) {
    let row = scim.log().await.remove(0);
    (row.operation, row.user_name)
}

#[tokio::test]
async fn every_row_names_its_user_and_the_log_page_finds_it() {
    let scim = Scim::new().await;
    // The operator signs in first: `access` then uses the same account.
    let (mut admin, _) = operator(&scim.app).await;
    let (_, acme) = access(&scim.app, "acme").await;
    let ada = scim.create_user("ada@acme.test").await;
    assert_eq!(
        last_named(&scim).await,
        ("user.create".into(), Some("ada@acme.test".into()))
    );
    let mut body = okta_user("ada@acme.test");
    body["displayName"] = json!("Ada L.");
    assert_eq!(scim.put(&format!("/Users/{ada}"), body).await.status, 200);
    assert_eq!(
        last_named(&scim).await,
        ("user.replace".into(), Some("ada@acme.test".into()))
    );
    // A PATCH names no user in its body: the row names the stored one, refused or not.
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ada"}])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        last_named(&scim).await,
        ("user.patch".into(), Some("ada@acme.test".into()))
    );
    scim.patch(
        &format!("/Users/{ada}"),
        patch_op(json!([{"op": "replace", "path": "nickName.nope", "value": "x"}])),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    let row = scim.log().await.remove(0);
    assert_eq!(
        (row.outcome.as_str(), row.user_name.as_deref()),
        ("failure", Some("ada@acme.test"))
    );

    // A refused create: no user exists, the row still names the one the IdP sent.
    let off = ProvisioningSettings {
        create_users: false,
        ..Default::default()
    };
    scim.app
        .services
        .rules()
        .update_settings(&acme, off)
        .await
        .unwrap();
    scim.post("/Users", okta_user("Bob@Acme.test"))
        .await
        .assert_error(403, None);
    let row = scim.log().await.remove(0);
    assert_eq!(row.operation, "user.create");
    assert_eq!(row.resource_id, None);
    assert_eq!(row.user_name.as_deref(), Some("Bob@Acme.test"));
    assert_eq!(row.user_name_lower.as_deref(), Some("bob@acme.test"));

    // Bulk: each operation's row names its user, the refused create included.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": okta_user("carol@acme.test")},
            {"method": "PATCH", "path": format!("/Users/{ada}"),
             "data": patch_op(json!([{"op": "replace", "path": "title", "value": "Countess"}]))},
            {"method": "DELETE", "path": format!("/Users/{ada}")}
        ]
    });
    let answer = scim.post("/Bulk", bulk).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let rows = scim.log().await;
    let named: Vec<(&str, &str, Option<&str>)> = rows[..3]
        .iter()
        .rev()
        .map(|r| {
            (
                r.operation.as_str(),
                r.outcome.as_str(),
                r.user_name.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("user.create", "failure", Some("carol@acme.test")),
            ("user.patch", "success", Some("ada@acme.test")),
            ("user.delete", "success", Some("ada@acme.test")),
        ]
    );
    // Groups name no user.
    scim.create_group("Engineering").await;
    assert_eq!(scim.log().await[0].user_name, None);

    // The admin's log page shows the name of the refused create, and finds it by its
    // userName (any case); the deleted user's rows keep theirs.
    let (status, html) = admin
        .get_text(&format!("/admin/t/acme/log?q={}", encode("BOB@acme.test")))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("User Bob@Acme.test"), "{html}");
    assert!(!html.contains("carol@acme.test"), "{html}");
    let (_, html) = admin
        .get_text(&format!(
            "/admin/t/acme/log?q={}",
            encode("carol@acme.test")
        ))
        .await;
    assert!(html.contains("User carol@acme.test"), "{html}");
    let (_, html) = admin.get_text("/admin/t/acme/log").await;
    assert!(html.contains("User ada@acme.test"), "{html}");
    let csv = admin
        .get("/admin/t/acme/log.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.lines().next().unwrap().ends_with("user_name,warning"),
        "{csv}"
    );
    assert!(csv.contains("Bob@Acme.test"), "{csv}");
}
