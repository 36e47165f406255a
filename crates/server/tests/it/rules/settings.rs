//! Provisioning settings: the switch, the allowed actions, what DELETE and a POST for an
//! existing user do — and a change on one node reaching another within a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_core::rules::{DeleteMode, ExistingUser, ProvisioningSettings};
use roster_testkit::TestApp;
use serde_json::json;

use super::support::*;
use crate::scim::support::{Scim, encode, okta_user, patch_op};

fn refused(action: &str) -> String {
    format!(
        "\"{action}\" is turned off for this tenant in Roster (Provisioning settings), so this \
         request is refused; turn it on in Roster, or turn the matching provisioning action \
         off in Okta"
    )
}

#[tokio::test]
async fn the_switch_and_the_allowed_actions() {
    let scim = Scim::new().await;
    let (_, acme) = access(&scim.app, "acme").await;
    let rules = scim.app.services.rules();
    let ada = scim.create_user("ada@acme.test").await;
    let group = scim.create_group("Engineering").await;

    // Off: every request, even Okta's "Test API Credentials" query, is refused with why.
    let off = ProvisioningSettings {
        enabled: false,
        ..Default::default()
    };
    rules.update_settings(&acme, off).await.unwrap();
    let before = counts(&scim, &acme).await;
    let answer = scim
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=1",
            encode("userName eq \"probe@acme.test\"")
        ))
        .await;
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        403,
        None,
        "provisioning is turned off for the tenant \"acme\" in Roster, so every SCIM request is \
         refused; a Roster admin can turn it on under Provisioning settings",
    )
    .await;
    scim.post("/Users", okta_user("bob@acme.test"))
        .await
        .assert_error(403, None);
    scim.get("/ServiceProviderConfig")
        .await
        .assert_error(403, None);

    // On, but creating users is not allowed.
    let mut settings = ProvisioningSettings {
        create_users: false,
        ..Default::default()
    };
    rules.update_settings(&acme, settings).await.unwrap();
    let before = counts(&scim, &acme).await;
    let answer = scim.post("/Users", okta_user("bob@acme.test")).await;
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        403,
        None,
        &refused("Create users"),
    )
    .await;

    // Updates not allowed: a profile change is refused; deactivation and reactivation
    // are not updates ("Deactivate users" covers both, as in Okta and Tribeloo).
    settings.update_users = false;
    rules.update_settings(&acme, settings).await.unwrap();
    let rename = patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ada L."}]));
    let answer = scim.patch(&format!("/Users/{ada}"), rename.clone()).await;
    answer.assert_error(403, None);
    assert_eq!(answer.body["detail"], refused("Update users"));
    let deactivate = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    let reactivate = patch_op(json!([{"op": "replace", "value": {"active": true}}]));
    for change in [&deactivate, &reactivate, &deactivate] {
        let answer = scim.patch(&format!("/Users/{ada}"), change.clone()).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }

    // Deactivation not allowed: neither deactivation nor reactivation passes.
    settings.update_users = true;
    settings.deactivate_users = false;
    rules.update_settings(&acme, settings).await.unwrap();
    let answer = scim
        .patch(&format!("/Users/{ada}"), reactivate.clone())
        .await;
    answer.assert_error(403, None);
    assert_eq!(answer.body["detail"], refused("Deactivate users"));
    assert_eq!(
        scim.patch(&format!("/Users/{ada}"), rename).await.status,
        200
    );
    settings.deactivate_users = true;
    rules.update_settings(&acme, settings).await.unwrap();
    assert_eq!(
        scim.patch(&format!("/Users/{ada}"), reactivate)
            .await
            .status,
        200
    );
    settings.deactivate_users = false;
    rules.update_settings(&acme, settings).await.unwrap();
    let answer = scim.patch(&format!("/Users/{ada}"), deactivate).await;
    answer.assert_error(403, None);
    assert_eq!(answer.body["detail"], refused("Deactivate users"));

    // Deleting users and pushing groups not allowed; reading groups still works.
    settings.delete_users = false;
    settings.push_groups = false;
    rules.update_settings(&acme, settings).await.unwrap();
    let answer = scim.delete(&format!("/Users/{ada}")).await;
    answer.assert_error(403, None);
    assert_eq!(answer.body["detail"], refused("Delete users"));
    let answer = scim
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"}),
        )
        .await;
    answer.assert_error(403, None);
    assert_eq!(answer.body["detail"], refused("Push groups"));
    scim.patch(
        &format!("/Groups/{group}"),
        patch_op(json!([{"op": "add", "path": "members", "value": [{"value": ada}]}])),
    )
    .await
    .assert_error(403, None);
    assert_eq!(scim.get(&format!("/Groups/{group}")).await.status, 200);
    assert_eq!(scim.get(&format!("/Users/{ada}")).await.status, 200);
}

#[tokio::test]
async fn delete_can_deactivate_and_post_can_override() {
    let scim = Scim::new().await;
    let (_, acme) = access(&scim.app, "acme").await;
    let rules = scim.app.services.rules();
    let ada = scim.create_user("ada@acme.test").await;

    // The RFC default: a second POST for the same userName is a conflict.
    let answer = scim.post("/Users", okta_user("ada@acme.test")).await;
    answer.assert_error(409, Some("uniqueness"));

    rules
        .update_settings(
            &acme,
            ProvisioningSettings {
                existing_user: ExistingUser::Override,
                delete_mode: DeleteMode::Deactivate,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Override: the existing user takes the pushed profile; 201 with its id.
    let mut pushed = okta_user("ADA@acme.test");
    pushed["displayName"] = json!("Ada King");
    let answer = scim.post("/Users", pushed).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["id"], ada);
    assert_eq!(answer.body["displayName"], "Ada King");
    assert_eq!(answer.body["meta"]["version"], "W/\"2\"");
    let (kind, data) = last_event(&scim).await;
    assert_eq!(kind, "user.updated");
    assert_eq!(data["user"]["displayName"], "Ada King");

    // Deactivate and keep: DELETE answers 204, the user stays, inactive.
    assert_eq!(scim.delete(&format!("/Users/{ada}")).await.status, 204);
    let kept = scim.get(&format!("/Users/{ada}")).await;
    assert_eq!(kept.status, 200);
    assert_eq!(kept.body["active"], false);
    assert_eq!(last_event(&scim).await.0, "user.deactivated");
    assert_eq!(scim.log().await[0].operation, "user.delete");
    // Again: nothing changes, still 204.
    assert_eq!(scim.delete(&format!("/Users/{ada}")).await.status, 204);
    // Okta re-assigns with a POST: reactivated, same id.
    let answer = scim.post("/Users", okta_user("ada@acme.test")).await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.body["id"], ada);
    assert_eq!(answer.body["active"], true);
}

#[tokio::test]
async fn a_change_on_one_node_applies_on_another_within_a_second() {
    let a = Scim::new().await;
    let b_app = TestApp::builder()
        .database(a.app.database.handle())
        .spawn()
        .await;
    let b = Scim {
        base: a.base.replace(&a.app.address, &b_app.address),
        token: a.token.clone(),
        slug: a.slug.clone(),
        app: Arc::new(b_app),
    };
    // B has the rules cached.
    assert_eq!(b.get("/Users").await.status, 200);
    let (_, acme) = access(&a.app, "acme").await;
    a.app
        .services
        .rules()
        .update_settings(
            &acme,
            ProvisioningSettings {
                enabled: false,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let answer = b.get("/Users").await;
        if answer.status == 403 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "node B still serves after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started.elapsed() <= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}
