//! The rules pages of the admin UI over HTTP: every new form fed hostile and malformed
//! values (never a 500, always escaped), operator-only actions, and DNS verification
//! from the page against a DNS server on loopback.

use std::sync::Arc;

use roster_testkit::TestApp;

use crate::admin_support::*;
use crate::rules::dns::DnsServer;

const SCRIPT: &str = "<script>alert(1)</script>";

fn hostile_values() -> Vec<String> {
    vec![
        String::new(),
        "   ".to_owned(),
        "x".repeat(10_000),
        "Ünïcødé 名前 🚀 ok".to_owned(),
        SCRIPT.to_owned(),
        "a\0b".to_owned(),
        "'; DROP TABLE users; --".to_owned(),
        "%00%zz".to_owned(),
        "\u{202e}evil\u{200b}".to_owned(),
        "\"><img src=x onerror=alert(1)>".to_owned(),
        "a@b.test".to_owned(),
        "addresses[type eq \"work\"].locality".to_owned(),
    ]
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn check(response: reqwest::Response, what: &str, allowed: &[u16]) -> String {
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    assert!(allowed.contains(&status), "{what}: got {status}\n{html}");
    assert!(!html.contains(SCRIPT), "{what}: unescaped script");
    assert!(!html.contains("<img src=x"), "{what}: unescaped markup");
    html
}

/// The id in `…/{kind}/{id}/remove` of the first such link on a page.
fn first_id(html: &str, kind: &str) -> String {
    let marker = format!("/{kind}/");
    let mut rest = html;
    while let Some(at) = rest.find(&marker) {
        let candidate = &rest[at + marker.len()..];
        let id: String = candidate.chars().take(36).collect();
        if uuid::Uuid::parse_str(&id).is_ok() {
            return id;
        }
        rest = &rest[at + marker.len()..];
    }
    panic!("no /{kind}/<id> link on the page");
}

#[tokio::test]
async fn hostile_input_in_every_rules_form_never_gives_a_500() {
    let app = roster_testkit::spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let user = fixture_user(&app, &scope, "ada@acme.test", "Ada Lovelace", true).await;
    let mut admin = tenant_admin(&app, &scope, "it@acme.test", "tenant admin password").await;
    let csrf = admin.csrf().await;
    let operator_csrf = operator_client.csrf().await;
    let t = "/admin/t/acme";

    // Something to point at: a domain, a location with a kiosk, a type, a rule.
    let post = |path: &str| format!("{t}{path}");
    let response = admin
        .post(
            &post("/domains"),
            &[("csrf", &csrf), ("domain", "acme.test")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = admin
        .post(
            &post("/locations"),
            &[
                ("csrf", &csrf),
                ("name", "Paris HQ"),
                ("code", "PAR"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = admin.get_text(&post("/locations")).await;
    let location = first_id(&html, "locations");
    let response = admin
        .post(
            &post(&format!("/locations/{location}/kiosks")),
            &[("csrf", &csrf), ("kiosk", "Lobby")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = admin
        .post(
            &post("/notifications"),
            &[
                ("csrf", &csrf),
                ("key", "visitor_arrived"),
                ("label", "Visitor arrived"),
                ("n:new:email", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = admin.get_text(&post("/domains")).await;
    let domain = first_id(&html, "domains");

    for value in hostile_values() {
        let value = value.as_str();
        let what = |form: &str| {
            format!(
                "{form} with {:?}",
                value.chars().take(40).collect::<String>()
            )
        };

        let response = admin
            .post(
                &post("/settings"),
                &[
                    ("csrf", &csrf),
                    ("enabled", value),
                    ("create_users", value),
                    ("delete_mode", value),
                    ("existing_user", value),
                    ("assign_hosts", value),
                ],
            )
            .await;
        check(response, &what("settings"), &[303, 422]).await;
        let response = admin
            .post(
                &post("/domains"),
                &[
                    ("csrf", &csrf),
                    ("domain", value),
                    ("include_subdomains", value),
                ],
            )
            .await;
        check(response, &what("domain"), &[303, 422]).await;
        let response = admin
            .post(
                &post(&format!("/domains/{domain}/subdomains")),
                &[("csrf", &csrf), ("include_subdomains", value)],
            )
            .await;
        check(response, &what("subdomains"), &[303]).await;
        for (name, ty, description) in [
            (value, "string", ""),
            ("badge", value, ""),
            ("badge2", "integer", value),
        ] {
            let response = admin
                .post(
                    &post("/attributes"),
                    &[
                        ("csrf", &csrf),
                        ("name", name),
                        ("type", ty),
                        ("description", description),
                        ("multi_valued", value),
                    ],
                )
                .await;
            check(response, &what("attribute"), &[303, 422]).await;
        }
        for (key, label) in [(value, "Label"), ("k_label", value)] {
            let response = admin
                .post(
                    &post("/notifications"),
                    &[
                        ("csrf", &csrf),
                        ("key", key),
                        ("label", label),
                        (value, "on"),
                    ],
                )
                .await;
            check(response, &what("notification type"), &[303, 422]).await;
        }
        let response = admin
            .post(
                &post("/notifications/defaults"),
                &[
                    ("csrf", &csrf),
                    ("d:visitor_arrived:email", value),
                    (value, value),
                ],
            )
            .await;
        check(response, &what("defaults"), &[303]).await;
        for (name, code, tz) in [
            (value, "C1", "UTC"),
            ("N", value, "UTC"),
            ("N", "C2", value),
        ] {
            let response = admin
                .post(
                    &post("/locations"),
                    &[
                        ("csrf", &csrf),
                        ("name", name),
                        ("code", code),
                        ("time_zone", tz),
                    ],
                )
                .await;
            check(response, &what("location"), &[303, 422]).await;
        }
        let response = admin
            .post(
                &post(&format!("/locations/{location}/kiosks")),
                &[("csrf", &csrf), ("kiosk", value)],
            )
            .await;
        check(response, &what("kiosk"), &[303, 422]).await;
        for (attribute, kind, values, target) in [
            (value, "equals", "Paris", location.as_str()),
            ("title", value, "x", location.as_str()),
            ("title", "one_of", value, location.as_str()),
            ("title", "equals", "Boss", value),
        ] {
            let response = admin
                .post(
                    &post("/rules"),
                    &[
                        ("csrf", &csrf),
                        ("attribute", attribute),
                        ("match", kind),
                        ("values", values),
                        ("location", target),
                        ("kiosk", value),
                    ],
                )
                .await;
            check(response, &what("rule"), &[303, 422]).await;
        }
        let response = admin
            .post(
                &post(&format!("/users/{user}/notifications")),
                &[
                    ("csrf", &csrf),
                    ("u:visitor_arrived:sms", value),
                    (value, value),
                ],
            )
            .await;
        check(response, &what("user notifications"), &[303]).await;
        let response = admin
            .post(
                &post("/tokens"),
                &[("csrf", &csrf), ("label", "Okta"), ("domain", value)],
            )
            .await;
        check(response, &what("token domain"), &[200, 422]).await;

        let encoded = encode(&value.chars().take(2_000).collect::<String>());
        for path in [
            format!("{t}/rules?test={encoded}"),
            format!("{t}/notifications?changed={encoded}"),
        ] {
            check(admin.get(&path).await, &what(&path), &[200]).await;
        }
        if !encoded.is_empty() {
            for kind in [
                "domains",
                "attributes",
                "notifications",
                "locations",
                "kiosks",
                "rules",
            ] {
                let path = format!("{t}/{kind}/{encoded}/remove");
                check(admin.get(&path).await, &what(&path), &[404]).await;
                let response = admin.post(&path, &[("csrf", &csrf)]).await;
                check(response, &what(&path), &[404]).await;
            }
            let path = format!("{t}/help/{encoded}");
            check(admin.get(&path).await, &what(&path), &[404]).await;
        }
    }

    // What was accepted is shown escaped.
    for page in [
        "/locations",
        "/notifications",
        "/attributes",
        "/rules",
        "/domains",
    ] {
        let html = check(admin.get(&post(page)).await, page, &[200]).await;
        assert!(!html.contains("<script>"), "{page}");
    }
    let html = check(admin.get(&post("/locations")).await, "locations", &[200]).await;
    assert!(
        html.contains("&#60;script&#62;"),
        "the hostile location name is escaped"
    );

    // Operator-only: a tenant admin cannot mark a domain verified (404), the operator can.
    let response = admin
        .post(
            &post(&format!("/domains/{domain}/mark-verified")),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status(), 404);
    let (_, html) = admin.get_text(&post("/domains")).await;
    assert!(
        !html.contains("Mark verified"),
        "tenant admins are not offered it"
    );
    let response = operator_client
        .post(
            &post(&format!("/domains/{domain}/mark-verified")),
            &[("csrf", &operator_csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = admin.get_text(&post("/domains")).await;
    assert!(
        html.contains("by admin@localhost"),
        "recorded with who: {html}"
    );

    // Forms without the CSRF token change nothing.
    let response = admin.post(&post("/settings"), &[("enabled", "")]).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn verify_from_the_page_against_a_loopback_dns_server() {
    let dns = DnsServer::start().await;
    let app = Arc::new(TestApp::builder().dns_nameserver(dns.addr).spawn().await);
    let (_, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let mut admin = tenant_admin(&app, &scope, "it@acme.test", "tenant admin password").await;
    let csrf = admin.csrf().await;
    let response = admin
        .post(
            "/admin/t/acme/domains",
            &[("csrf", &csrf), ("domain", "acme.test")],
        )
        .await;
    assert_eq!(location(&response), "/admin/t/acme/domains");
    let (_, html) = admin.get_text("/admin/t/acme/domains").await;
    let domain = first_id(&html, "domains");
    let marker = "value=\"roster-verification=";
    let start = html.find(marker).unwrap() + "value=\"".len();
    let txt = html[start..start + html[start..].find('"').unwrap()].to_owned();

    let verify = format!("/admin/t/acme/domains/{domain}/verify");
    admin.post(&verify, &[("csrf", &csrf)]).await;
    let (_, html) = admin.get_text("/admin/t/acme/domains").await;
    assert!(html.contains("could not be verified yet"), "{html}");
    assert!(html.contains("no TXT record found for acme.test"), "{html}");

    dns.zone.publish("acme.test", &txt);
    admin.post(&verify, &[("csrf", &csrf)]).await;
    let (_, html) = admin.get_text("/admin/t/acme/domains").await;
    assert!(html.contains("The domain is verified"), "{html}");
    assert!(html.contains("badge-ok\">verified"), "{html}");
    assert!(html.contains("by dns"), "{html}");
}

#[tokio::test]
async fn scoped_tokens_reapplied_defaults_and_removals_through_the_pages() {
    let app = roster_testkit::spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let ada = fixture_user(&app, &scope, "ada@acme.test", "Ada Lovelace", true).await;
    let csrf = operator_client.csrf().await;
    let t = "/admin/t/acme";
    let path = |p: &str| format!("{t}{p}");

    // A verified domain is offered as a token scope, and the list shows it.
    operator_client
        .post(
            &path("/domains"),
            &[("csrf", &csrf), ("domain", "acme.test")],
        )
        .await;
    let (_, html) = operator_client.get_text(&path("/domains")).await;
    let domain = first_id(&html, "domains");
    let (_, html) = operator_client.get_text(&path("/tokens")).await;
    assert!(
        !html.contains(&format!("value=\"{domain}\"")),
        "unverified: not offered"
    );
    operator_client
        .post(
            &path(&format!("/domains/{domain}/mark-verified")),
            &[("csrf", &csrf)],
        )
        .await;
    let (_, html) = operator_client.get_text(&path("/tokens")).await;
    assert!(html.contains(&format!("value=\"{domain}\"")), "{html}");
    let response = operator_client
        .post(
            &path("/tokens"),
            &[
                ("csrf", &csrf),
                ("label", "Okta acme.test"),
                ("domain", &domain),
            ],
        )
        .await;
    let html = check(response, "scoped token", &[200]).await;
    assert!(html.contains("rst_"), "the token is shown once");
    let (_, html) = operator_client.get_text(&path("/tokens")).await;
    assert!(html.contains("users of acme.test"), "{html}");

    // Notification defaults: the fixture user has none, so re-applying changes one user
    // and says so.
    operator_client
        .post(
            &path("/notifications"),
            &[
                ("csrf", &csrf),
                ("key", "visitor_arrived"),
                ("label", "Visitor arrived"),
                ("n:new:email", "on"),
            ],
        )
        .await;
    let (status, html) = operator_client
        .get_text(&path("/notifications/reapply"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Re-apply the defaults"), "{html}");
    let response = operator_client
        .post(&path("/notifications/reapply"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&response), path("/notifications?changed=1"));
    let (_, html) = operator_client.get_text(&location(&response)).await;
    assert!(
        html.contains("Defaults re-applied: 1 user(s) changed."),
        "{html}"
    );
    let (_, html) = operator_client
        .get_text(&path(&format!("/users/{ada}")))
        .await;
    let start = html.find("name=\"u:visitor_arrived:email\"").unwrap();
    let input = &html[start..start + html[start..].find('>').unwrap()];
    assert!(input.contains("checked"), "{input}");

    // Removals: each through its confirmation page, then gone.
    operator_client
        .post(
            &path("/locations"),
            &[
                ("csrf", &csrf),
                ("name", "Paris HQ"),
                ("code", "PAR"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    let (_, html) = operator_client.get_text(&path("/locations")).await;
    let location_id = first_id(&html, "locations");
    operator_client
        .post(
            &path(&format!("/locations/{location_id}/kiosks")),
            &[("csrf", &csrf), ("kiosk", "Lobby")],
        )
        .await;
    operator_client
        .post(
            &path("/rules"),
            &[
                ("csrf", &csrf),
                ("attribute", "title"),
                ("match", "starts_with"),
                ("values", "Eng"),
                ("location", &location_id),
            ],
        )
        .await;
    operator_client
        .post(
            &path("/attributes"),
            &[
                ("csrf", &csrf),
                ("name", "badgeNumber"),
                ("type", "integer"),
            ],
        )
        .await;
    for (page, kind, gone) in [
        ("/rules", "rules", "title starts with"),
        ("/locations", "kiosks", "Lobby"),
        ("/locations", "locations", "<h2>Paris HQ"),
        ("/attributes", "attributes", "<code>badgeNumber</code></td>"),
        (
            "/notifications",
            "notifications",
            "<code>visitor_arrived</code></span>",
        ),
        ("/domains", "domains", "<h2>acme.test"),
    ] {
        let (_, html) = operator_client.get_text(&path(page)).await;
        assert!(html.contains(gone), "{page} before: {html}");
        let id = first_id(&html, kind);
        let remove = path(&format!("/{kind}/{id}/remove"));
        let (status, confirm) = operator_client.get_text(&remove).await;
        assert_eq!(status, 200, "{remove}");
        assert!(
            confirm.contains(&format!("action=\"{remove}\"")),
            "{confirm}"
        );
        let response = operator_client.post(&remove, &[("csrf", &csrf)]).await;
        assert_eq!(response.status(), 303, "{remove}");
        let (_, html) = operator_client.get_text(&path(page)).await;
        assert!(!html.contains(gone), "{page} after removing {kind}: {html}");
    }
    // The scoped token went with its domain.
    let (_, html) = operator_client.get_text(&path("/tokens")).await;
    assert!(html.contains("badge-bad\">revoked"), "{html}");
}
