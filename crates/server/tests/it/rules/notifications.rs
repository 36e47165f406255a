//! Default notification settings: a new user gets a copy of the defaults, the identity
//! provider never overwrites them, the admin can change one user's or re-apply the
//! defaults to all; SCIM and events show them.

use std::collections::BTreeSet;

use roster_core::rules::{Channel, NotificationKey, NotificationLabel, NotificationMatrix};
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::scim::support::{Scim, okta_user, patch_op};

const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

fn cell(user: &Value, key: &str, channel: &str) -> Value {
    user[ROSTER]["notificationSettings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["type"] == key)
        .unwrap()[channel]
        .clone()
}

#[tokio::test]
async fn new_users_get_the_defaults_and_the_idp_never_overwrites_them() {
    let scim = Scim::new().await;
    let (_, acme) = access(&scim.app, "acme").await;
    let rules = scim.app.services.rules();
    for (key, label, defaults) in [
        (
            "visitor_arrived",
            "Visitor arrived",
            BTreeSet::from([Channel::Email, Channel::Push]),
        ),
        (
            "package",
            "Package delivered",
            BTreeSet::from([Channel::Sms]),
        ),
    ] {
        rules
            .add_notification_type(
                &acme,
                NotificationKey::parse(key).unwrap(),
                NotificationLabel::parse(label).unwrap(),
                defaults,
            )
            .await
            .unwrap();
    }

    // The tenant's schema shows the read-only attribute.
    let schema = scim.get(&format!("/Schemas/{ROSTER}")).await;
    assert_eq!(schema.status, 200, "{schema:?}");
    let attr = &schema.body["attributes"][0];
    assert_eq!(attr["name"], "notificationSettings");
    assert_eq!(attr["mutability"], "readOnly");

    let created = scim.post("/Users", okta_user("ada@acme.test")).await;
    assert_eq!(created.status, 201, "{created:?}");
    let ada = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(cell(&created.body, "visitor_arrived", "email"), true);
    assert_eq!(cell(&created.body, "visitor_arrived", "sms"), false);
    assert_eq!(cell(&created.body, "package", "sms"), true);
    let (_, event) = last_event(&scim).await;
    assert_eq!(
        event["scim"][ROSTER]["notificationSettings"],
        created.body[ROSTER]["notificationSettings"]
    );

    // Okta's PUT sends back what it read, possibly changed: ignored (read-only).
    let mut put = created.body.clone();
    put[ROSTER]["notificationSettings"][0]["email"] = json!(false);
    put["displayName"] = json!("Ada King");
    let answer = scim.put(&format!("/Users/{ada}"), put).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(cell(&answer.body, "visitor_arrived", "email"), true);
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([{"op": "replace", "path": format!("{ROSTER}:notificationSettings"), "value": []}])),
        )
        .await;
    answer.assert_error(400, Some("mutability"));
    assert_eq!(
        answer.body["detail"],
        format!(
            "Operations[0] (replace {ROSTER}:notificationSettings): attribute \"{ROSTER}:notificationSettings\" is read-only"
        )
    );

    // The admin changes Ada's settings: a new version and an event.
    let access_scope = acme.clone();
    let mut mine = NotificationMatrix::defaults(&rules.rules(&acme).await.unwrap().catalogue);
    mine.set("visitor_arrived", BTreeSet::from([Channel::Slack]));
    let provisioning = scim.app.services.provisioning();
    let id = Uuid::parse_str(&ada).unwrap();
    assert!(
        provisioning
            .set_user_notifications(&access_scope, "req-1", id, &mine)
            .await
            .unwrap()
    );
    assert!(
        !provisioning
            .set_user_notifications(&access_scope, "req-2", id, &mine)
            .await
            .unwrap(),
        "the same settings again change nothing"
    );
    let read = scim.get(&format!("/Users/{ada}")).await;
    assert_eq!(cell(&read.body, "visitor_arrived", "slack"), true);
    assert_eq!(cell(&read.body, "visitor_arrived", "email"), false);
    assert_eq!(read.body["meta"]["version"], "W/\"3\"");
    let (kind, event) = last_event(&scim).await;
    assert_eq!(kind, "user.updated");
    assert_eq!(
        event["scim"][ROSTER]["notificationSettings"],
        read.body[ROSTER]["notificationSettings"]
    );

    // Okta's profile update leaves them alone.
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ada L."}])),
        )
        .await;
    assert_eq!(cell(&answer.body, "visitor_arrived", "slack"), true);

    // Grace arrives with the defaults; re-applying them changes Ada only.
    let grace = scim.post("/Users", okta_user("grace@acme.test")).await;
    assert_eq!(cell(&grace.body, "visitor_arrived", "email"), true);
    let outcome = provisioning
        .reapply_notification_defaults(&access_scope, "req-3")
        .await
        .unwrap();
    assert_eq!(outcome.changed, 1);
    let read = scim.get(&format!("/Users/{ada}")).await;
    assert_eq!(cell(&read.body, "visitor_arrived", "slack"), false);
    assert_eq!(cell(&read.body, "visitor_arrived", "email"), true);
    assert_eq!(
        provisioning
            .reapply_notification_defaults(&access_scope, "req-4")
            .await
            .unwrap()
            .changed,
        0
    );
}
