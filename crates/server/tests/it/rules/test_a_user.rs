//! "Test a user": a sample user with one value per attribute the rules use, posted
//! through the admin form; each rule is tried against its own attribute, and the page
//! says which matched, which decides, where the user would be a host and the
//! notification settings it would start with.

use std::collections::BTreeSet;

use roster_core::rules::{Channel, NotificationKey, NotificationLabel};

use crate::admin_support::*;

const DEPARTMENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
const CITY: &str = "addresses[type eq \"work\"].locality";

/// The text of the preview, tags removed and spaces folded.
fn preview_text(html: &str) -> String {
    let start = html.find("id=\"preview-result\"").expect("a preview");
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[start..].chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&#34;", "\"")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn each_rule_is_tested_against_its_own_attribute() {
    let app = roster_testkit::spawn_app().await;
    let (mut client, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    app.services
        .rules()
        .add_notification_type(
            &acme,
            NotificationKey::parse("visitor_arrived").unwrap(),
            NotificationLabel::parse("Visitor arrived").unwrap(),
            BTreeSet::from([Channel::Email, Channel::Sms]),
        )
        .await
        .unwrap();
    let csrf = client.csrf().await;
    for (name, code) in [("Sales floor", "SALES"), ("Paris HQ", "PAR")] {
        let response = client
            .post(
                "/admin/t/acme/locations",
                &[
                    ("csrf", &csrf),
                    ("name", name),
                    ("code", code),
                    ("time_zone", "Europe/Paris"),
                ],
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    let places = app.services.rules().rules(&acme).await.unwrap();
    let ids: Vec<String> = ["SALES", "PAR"]
        .iter()
        .map(|code| {
            let place = places.locations.iter().find(|l| l.code == *code).unwrap();
            place.id.to_string()
        })
        .collect();
    for (attribute, value, location) in [
        (DEPARTMENT, "Sales", &ids[0]),
        (CITY, "Paris", &ids[1]),
        (DEPARTMENT, "Support", &ids[1]),
    ] {
        let response = client
            .post(
                "/admin/t/acme/rules",
                &[
                    ("csrf", &csrf),
                    ("attribute", attribute),
                    ("match", "equals"),
                    ("values", value),
                    ("location", location),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "{attribute}");
    }

    // The form asks for each attribute once, in the order of the rules.
    let (_, html) = client.get_text("/admin/t/acme/rules").await;
    let department = html.find("id=\"sample-0\"").unwrap();
    let city = html.find("id=\"sample-1\"").unwrap();
    assert!(
        department < city && !html.contains("id=\"sample-2\""),
        "{html}"
    );

    // An engineer in Paris: rule 1 does not match its department, rule 2 matches its
    // city and decides — one value for every rule ("Paris") would have matched nothing
    // in rule 1 and 3 for the wrong reason, and "Engineering" nothing at all.
    let response = client
        .post(
            "/admin/t/acme/rules/test",
            &[
                ("csrf", &csrf),
                ("attribute", DEPARTMENT),
                ("value", "engineering"),
                ("attribute", CITY),
                ("value", "PARIS"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let text = preview_text(&html);
    assert!(
        text.contains("1 urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department equals \"Sales\" engineering not matched")
            && text.contains("2 addresses[type eq \"work\"].locality equals \"Paris\" PARIS matched — decides")
            && text.contains("3 urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department equals \"Support\" engineering not matched")
            && text.contains("Rule 2 decides: host at Paris HQ.")
            && text.contains("Visitor arrived: Email, SMS"),
        "{text}"
    );
    // The values stay in the form.
    assert!(html.contains("value=\"PARIS\""), "{html}");

    // A salesperson in Paris: rule 1 decides, rule 2 matches too but comes later; a
    // missing value is said so.
    let response = client
        .post(
            "/admin/t/acme/rules/test",
            &[
                ("csrf", &csrf),
                ("attribute", DEPARTMENT),
                ("value", "Sales"),
                ("attribute", CITY),
                ("value", ""),
            ],
        )
        .await;
    let text = preview_text(&response.text().await.unwrap());
    assert!(
        text.contains("\"Sales\" Sales matched — decides")
            && text.contains("\"Paris\" — no value")
            && text.contains("Rule 1 decides: host at Sales floor."),
        "{text}"
    );

    // Nothing matches.
    let response = client
        .post(
            "/admin/t/acme/rules/test",
            &[
                ("csrf", &csrf),
                ("attribute", DEPARTMENT),
                ("value", "Legal"),
            ],
        )
        .await;
    let text = preview_text(&response.text().await.unwrap());
    assert!(
        text.contains("No rule matches: such a user would be added without a location."),
        "{text}"
    );

    // Without the CSRF token the form is refused; hostile input is escaped.
    let response = client
        .post(
            "/admin/t/acme/rules/test",
            &[("attribute", DEPARTMENT), ("value", "x")],
        )
        .await;
    assert_eq!(response.status(), 403);
    let response = client
        .post(
            "/admin/t/acme/rules/test",
            &[
                ("csrf", &csrf),
                ("attribute", DEPARTMENT),
                ("value", "<script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"), "escaped");
}
