//! A user's `timezone` (IANA) and `locale` (BCP 47): a value no standard defines is
//! stored as sent — SCIM clients test with random strings, and the write is not
//! refused — but never passed to the product: the directory API and the webhook body
//! show `null`, and the write's log row warns, naming the field.

use serde_json::{Value, json};

use super::support::*;
use crate::scim::support::{Scim, okta_user, patch_op};

#[tokio::test]
async fn invalid_time_zones_and_locales_are_stored_but_withheld_from_the_product() {
    let scim = Scim::new().await;
    let mut body = okta_user("ada@acme.test");
    body["timezone"] = json!("Mars/Olympus");
    body["locale"] = json!("xx_NOT-A-LOCALE");
    let answer = scim.post("/Users", body).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    // SCIM keeps what was sent.
    assert_eq!(answer.body["timezone"], "Mars/Olympus");
    assert_eq!(answer.body["locale"], "xx_NOT-A-LOCALE");
    let id = answer.body["id"].as_str().unwrap().to_owned();
    let read = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(read.body["timezone"], "Mars/Olympus");

    // The product does not get them.
    let (kind, event) = last_event(&scim).await;
    assert_eq!(kind, "user.created");
    assert_eq!(event["scim"]["timezone"], Value::Null, "{event}");
    assert_eq!(event["scim"]["locale"], Value::Null, "{event}");
    let product = api_user(&scim, &id).await;
    assert_eq!(product["scim"]["timezone"], Value::Null, "{product}");
    assert_eq!(product["scim"]["locale"], Value::Null, "{product}");
    assert_eq!(product["userName"], "ada@acme.test");

    // The log row warns, naming both fields.
    let row = scim.log().await.remove(0);
    assert_eq!(row.outcome, "success");
    let warning = row.warning.expect("a warning");
    assert!(
        warning.contains("timezone \"Mars/Olympus\" is not an IANA time zone")
            && warning.contains("locale \"xx_NOT-A-LOCALE\" is not a BCP 47 language tag")
            && warning.contains("not passed to the product"),
        "{warning}"
    );
    let (mut admin, _) = crate::admin_support::operator(&scim.app).await;
    let (_, html) = admin.get_text("/admin/t/acme/log").await;
    assert!(html.contains("is not an IANA time zone"), "{html}");

    // Valid values pass through, and the row has no warning.
    let answer = scim
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "replace", "path": "timezone", "value": "Europe/Paris"},
                {"op": "replace", "path": "locale", "value": "fr-CA"}
            ])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let (_, event) = last_event(&scim).await;
    assert_eq!(event["scim"]["timezone"], "Europe/Paris", "{event}");
    assert_eq!(event["scim"]["locale"], "fr-CA", "{event}");
    let product = api_user(&scim, &id).await;
    assert_eq!(product["scim"]["timezone"], "Europe/Paris");
    assert_eq!(product["scim"]["locale"], "fr-CA");
    assert_eq!(scim.log().await[0].warning, None);

    // One bad field alone is named alone.
    let mut body = okta_user("bob@acme.test");
    body["timezone"] = json!("Europe/Paris");
    body["locale"] = json!("en_US");
    assert_eq!(scim.post("/Users", body).await.status, 201);
    let warning = scim.log().await.remove(0).warning.unwrap();
    assert!(warning.starts_with("locale \"en_US\""), "{warning}");
    assert!(!warning.contains("timezone"), "{warning}");
}
