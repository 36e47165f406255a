//! Values a standard defines, checked against their registries: IANA time zones for
//! locations and users, BCP 47 locales for users; rule paths whose sub-attribute does not
//! exist; the notification grid's labels for screen readers.

use serde_json::json;

use crate::admin_support::*;
use crate::scim::support::{Scim, okta_user, patch_op};

#[tokio::test]
async fn users_carry_real_time_zones_and_locales() {
    let scim = Scim::new().await;
    let mut body = okta_user("ada@acme.test");
    body["timezone"] = json!("Mars/Olympus");
    let answer = scim.post("/Users", body.clone()).await;
    answer.assert_error(400, Some("invalidValue"));
    assert_eq!(
        answer.body["detail"],
        "timezone \"Mars/Olympus\" is not a time zone of the IANA database (such as \
         Europe/Paris or America/New_York); correct the user's time zone in Okta"
    );
    body["timezone"] = json!("Europe/Paris");
    body["locale"] = json!("xx-Nowhere-at-all");
    let answer = scim.post("/Users", body.clone()).await;
    answer.assert_error(400, Some("invalidValue"));
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("locale \"xx-Nowhere-at-all\" is not a BCP 47 language tag"),
        "{answer:?}"
    );
    assert!(scim.events().await.is_empty(), "nothing was written");

    // Okta's own format, en_US, is the tag en-US.
    body["locale"] = json!("en_US");
    let created = scim.post("/Users", body).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["timezone"], "Europe/Paris");
    let id = created.body["id"].as_str().unwrap().to_owned();

    // Updates are checked too: PATCH and PUT.
    let answer = scim
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "timezone", "value": "Europe/Pariss"}])),
        )
        .await;
    answer.assert_error(400, Some("invalidValue"));
    let mut user = scim.get(&format!("/Users/{id}")).await.body;
    user["locale"] = json!("klingon");
    scim.put(&format!("/Users/{id}"), user.clone())
        .await
        .assert_error(400, Some("invalidValue"));
    user["locale"] = json!("de-CH");
    user["timezone"] = json!("America/Argentina/Buenos_Aires");
    let answer = scim.put(&format!("/Users/{id}"), user).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["locale"], "de-CH");
}

#[tokio::test]
async fn locations_take_iana_time_zones_and_rules_existing_sub_attributes() {
    let app = roster_testkit::spawn_app().await;
    let (mut client, operator_admin) = operator(&app).await;
    tenant(&app, &operator_admin, "acme", "Acme").await;
    let csrf = client.csrf().await;
    let location = |tz: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("name", format!("HQ {tz}")),
            ("code", format!("C{}", tz.len())),
            ("time_zone", tz.to_owned()),
        ]
    };
    let form = location("Mars/Olympus");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = client.post("/admin/t/acme/locations", &pairs).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Must be a time zone of the IANA database"),
        "{html}"
    );
    // Any case is accepted, and stored as the database spells it.
    let form = location("europe/paris");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = client.post("/admin/t/acme/locations", &pairs).await;
    assert_eq!(response.status(), 303);
    let (_, html) = client.get_text("/admin/t/acme/locations").await;
    assert!(html.contains("Europe/Paris"), "{html}");
    let location_id = first_id(&html, "locations");

    // A rule on a sub-attribute the User schema does not have is refused when saved.
    let response = client
        .post(
            "/admin/t/acme/rules",
            &[
                ("csrf", &csrf),
                ("attribute", "addresses[type eq \"work\"].town"),
                ("match", "equals"),
                ("values", "Paris"),
                ("location", &location_id),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("has no sub-attribute"), "{html}");
    let response = client
        .post(
            "/admin/t/acme/rules",
            &[
                ("csrf", &csrf),
                ("attribute", "addresses[type eq \"work\"].locality"),
                ("match", "equals"),
                ("values", "Paris"),
                ("location", &location_id),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn the_notification_grid_speaks_type_and_channel_names() {
    let app = roster_testkit::spawn_app().await;
    let (mut client, operator_admin) = operator(&app).await;
    tenant(&app, &operator_admin, "acme", "Acme").await;
    let csrf = client.csrf().await;
    client
        .post(
            "/admin/t/acme/notifications",
            &[
                ("csrf", &csrf),
                ("key", "visitor_arrived"),
                ("label", "Visitor arrived"),
                ("n:new:email", "on"),
            ],
        )
        .await;
    let (_, html) = client.get_text("/admin/t/acme/notifications").await;
    assert!(
        html.contains("aria-label=\"Visitor arrived: Email\""),
        "{html}"
    );
    assert!(!html.contains("aria-label=\"Visitor arrived: d:"), "{html}");
}
