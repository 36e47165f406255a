//! Tenant policy through real SCIM requests, with the settings saved through the admin
//! UI's form: "Only users in verified domains" (Teamup), what a deactivation does
//! (Tribeloo: delete the user) and reactivation under the "Deactivate users" switch.

use roster_core::audit::AuditFilter;
use roster_core::paging::PageSize;
use roster_core::rules::{DeactivateMode, EmailDomain};
use serde_json::{Value, json};

use super::support::*;
use crate::admin_support::{Browserless, location, operator};
use crate::scim::support::{Scim, okta_user, patch_op};

/// Every setting as a browser posts the form: all on, RFC behaviour, then `changes`
/// (an empty value leaves a checkbox unticked).
pub async fn save_settings(
    client: &mut Browserless,
    slug: &str,
    changes: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = client.csrf().await;
    let mut form: Vec<(&str, &str)> = vec![
        ("enabled", "on"),
        ("create_users", "on"),
        ("update_users", "on"),
        ("deactivate_users", "on"),
        ("delete_users", "on"),
        ("push_groups", "on"),
        ("delete_mode", "delete"),
        ("existing_user", "conflict"),
        ("deactivate_mode", "keep"),
    ];
    for (name, value) in changes {
        form.retain(|(n, _)| n != name);
        if !value.is_empty() {
            form.push((name, value));
        }
    }
    form.push(("csrf", &csrf));
    let response = client
        .post(&format!("/admin/t/{slug}/settings"), &form)
        .await;
    assert_eq!(response.status(), 303, "the settings are saved");
    assert_eq!(location(&response), format!("/admin/t/{slug}/settings"));
    response
}

fn no_domain(verb: &str, user_name: &str) -> String {
    format!(
        "\"Only users in verified domains\" is on for this tenant in Roster and no domain is \
         verified yet, so Roster does not {verb} \"{user_name}\"; verify your email domain in \
         Roster under Trusted domains (publish its DNS TXT record, then press Verify), or turn \
         \"Only users in verified domains\" off under Provisioning settings"
    )
}

#[tokio::test]
async fn only_users_in_verified_domains_refuses_creates_until_a_domain_is_verified() {
    let scim = Scim::new().await;
    let (mut op, _) = operator(&scim.app).await;
    let (operator_admin, acme) = access(&scim.app, "acme").await;

    // Off (the default): with no verified domain, any email is provisioned.
    let early = scim.create_user("early@gmail.com").await;

    save_settings(&mut op, "acme", &[("domains_only", "on")]).await;
    let audit = scim
        .app
        .services
        .audit()
        .tenant(&acme, &AuditFilter::default(), PageSize::new(1))
        .await
        .unwrap();
    let entry = &audit.items[0];
    assert_eq!(entry.action, "settings.update");
    assert_eq!(entry.before.as_ref().unwrap()["domains_only"], false);
    assert_eq!(entry.after.as_ref().unwrap()["domains_only"], true);

    // No verified domain: every create is refused, saying what to verify, and logged.
    let before = counts(&scim, &acme).await;
    let answer = scim.post("/Users", okta_user("late@gmail.com")).await;
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        403,
        None,
        &no_domain("add", "late@gmail.com"),
    )
    .await;
    let answer = scim.post("/Users", okta_user("ada@acme.test")).await;
    answer.assert_error(403, None);
    // A user created before may leave, but not change while active.
    let mut profile = scim.get(&format!("/Users/{early}")).await.body;
    profile["displayName"] = json!("Early Bird");
    let answer = scim.put(&format!("/Users/{early}"), profile).await;
    answer.assert_error(403, None);
    assert_eq!(
        answer.body["detail"],
        no_domain("update", "early@gmail.com")
    );
    let deactivate = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    let answer = scim.patch(&format!("/Users/{early}"), deactivate).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["active"], false);

    // Verified: users in the domain are created, others refused with the domain rule.
    let rules = scim.app.services.rules();
    let id = rules
        .add_domain(&acme, EmailDomain::parse("acme.test").unwrap(), false)
        .await
        .unwrap();
    rules
        .mark_verified(&acme, id, &operator_admin)
        .await
        .unwrap();
    let answer = scim.post("/Users", okta_user("ada@acme.test")).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let before = counts(&scim, &acme).await;
    let answer = scim.post("/Users", okta_user("late@gmail.com")).await;
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        400,
        Some("invalidValue"),
        "userName \"late@gmail.com\" is in the domain \"gmail.com\", which is not a trusted \
         domain of this tenant (allowed: acme.test); add and verify gmail.com in Roster under \
         Trusted domains, or give the user an address in an allowed domain in Okta",
    )
    .await;
    // The outsider cannot come back while its email is outside.
    let reactivate = patch_op(json!([{"op": "replace", "value": {"active": true}}]));
    scim.patch(&format!("/Users/{early}"), reactivate)
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn a_deactivation_deletes_the_user_when_the_tenant_says_so() {
    let scim = Scim::new().await;
    let (mut op, _) = operator(&scim.app).await;
    let (_, acme) = access(&scim.app, "acme").await;
    save_settings(&mut op, "acme", &[("deactivate_mode", "delete")]).await;
    assert_eq!(
        scim.app
            .services
            .rules()
            .rules(&acme)
            .await
            .unwrap()
            .settings
            .deactivate_mode,
        DeactivateMode::Delete
    );
    let ada = scim.create_user("ada@acme.test").await;
    let bob = scim.create_user("bob@acme.test").await;
    let group = scim.create_group("Engineering").await;
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": ada}]}]));
    assert!(
        scim.patch(&format!("/Groups/{group}"), add)
            .await
            .status
            .is_success()
    );

    // Okta's deactivation (PATCH active=false): 200 with the user as it was left, then
    // the user is gone, with its membership and a user.deleted event.
    let before = counts(&scim, &acme).await;
    let deactivate = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    let answer = scim
        .patch(&format!("/Users/{ada}"), deactivate.clone())
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["active"], false);
    let after = counts(&scim, &acme).await;
    assert_eq!(after.users, before.users - 1);
    assert_eq!(after.log, before.log + 1);
    let log = &scim.log().await[0];
    assert_eq!(
        (log.operation.as_str(), log.status, log.outcome.as_str()),
        ("user.patch", 200, "success")
    );
    scim.get(&format!("/Users/{ada}"))
        .await
        .assert_error(404, None);
    let events = scim.events().await;
    let mut kinds: Vec<&str> = events[events.len() - 2..]
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["group.member_removed", "user.deleted"]);
    let deleted = events
        .iter()
        .rev()
        .find(|e| e.event_type == "user.deleted")
        .unwrap();
    let data: Value = serde_json::from_str(&deleted.payload).unwrap();
    assert_eq!(data["user"]["userName"], "ada@acme.test");
    let members = scim.get(&format!("/Groups/{group}")).await.body;
    assert!(
        members.get("members").is_none_or(|m| m == &json!([])),
        "{members}"
    );

    // A wizard-built app's PUT with active=false does the same.
    let mut body: Value = scim.get(&format!("/Users/{bob}")).await.body;
    body["active"] = json!(false);
    let answer = scim.put(&format!("/Users/{bob}"), body).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(last_event(&scim).await.0, "user.deleted");
    assert_eq!(scim.log().await[0].operation, "user.replace");
    scim.get(&format!("/Users/{bob}"))
        .await
        .assert_error(404, None);

    // The userName is free again: re-assigning creates a new user.
    let again = scim.post("/Users", okta_user("ada@acme.test")).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_ne!(again.body["id"], json!(ada));

    // "Deactivate users" off: refused, and the user stays.
    save_settings(
        &mut op,
        "acme",
        &[("deactivate_mode", "delete"), ("deactivate_users", "")],
    )
    .await;
    let id = again.body["id"].as_str().unwrap().to_owned();
    let answer = scim.patch(&format!("/Users/{id}"), deactivate).await;
    answer.assert_error(403, None);
    assert_eq!(scim.get(&format!("/Users/{id}")).await.status, 200);
}

#[tokio::test]
async fn reactivation_follows_the_deactivate_switch_not_the_update_switch() {
    let scim = Scim::new().await;
    let (mut op, _) = operator(&scim.app).await;
    let ada = scim.create_user("ada@acme.test").await;
    let deactivate = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    let reactivate = patch_op(json!([{"op": "replace", "value": {"active": true}}]));

    // "Update users" off, "Deactivate users" on: both directions pass.
    save_settings(&mut op, "acme", &[("update_users", "")]).await;
    for change in [&deactivate, &reactivate, &deactivate] {
        let answer = scim.patch(&format!("/Users/{ada}"), change.clone()).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let mut body = scim.get(&format!("/Users/{ada}")).await.body;
    body["active"] = json!(true);
    let answer = scim.put(&format!("/Users/{ada}"), body.clone()).await;
    assert_eq!(answer.status, 200, "a PUT reactivation too: {answer:?}");
    scim.patch(&format!("/Users/{ada}"), deactivate.clone())
        .await;

    // "Deactivate users" off, "Update users" on: a reactivation is refused.
    save_settings(&mut op, "acme", &[("deactivate_users", "")]).await;
    let answer = scim.patch(&format!("/Users/{ada}"), reactivate).await;
    answer.assert_error(403, None);
    assert_eq!(
        answer.body["detail"],
        "\"Deactivate users\" is turned off for this tenant in Roster (Provisioning settings), \
         so this request is refused; turn it on in Roster, or turn the matching provisioning \
         action off in Okta"
    );
    let answer = scim.put(&format!("/Users/{ada}"), body).await;
    answer.assert_error(403, None);
    assert_eq!(
        scim.get(&format!("/Users/{ada}")).await.body["active"],
        false
    );
}
