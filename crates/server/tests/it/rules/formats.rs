//! Values a standard defines, checked against their registry: IANA time zones for
//! locations; and rule paths whose sub-attribute does not exist. (A user's `timezone`
//! and `locale` are not refused — the scim2-tester suite, which must pass, writes random
//! strings into them — but withheld from the product: `user_formats.rs`.)

use crate::admin_support::*;

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
