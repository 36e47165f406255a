//! The rules pages of the admin UI over HTTP: DNS verification from the page against a
//! DNS server on loopback, domain-scoped tokens, re-applied defaults and removals through
//! confirmation pages. (Hostile input in these forms: `admin_forms.rs`.)

use std::sync::Arc;

use roster_testkit::TestApp;

use crate::admin_support::*;
use crate::rules::dns::DnsServer;

const SCRIPT: &str = "<script>alert(1)</script>";

async fn check(response: reqwest::Response, what: &str, allowed: &[u16]) -> String {
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    assert!(allowed.contains(&status), "{what}: got {status}\n{html}");
    assert!(!html.contains(SCRIPT), "{what}: unescaped script");
    html
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
    tenant(&app, &operator_admin, "globex", "Globex").await;
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
    // A screen reader names each checkbox by type and channel, never by field name.
    assert!(
        html.contains("aria-label=\"Visitor arrived: Email\"")
            && html.contains("aria-label=\"Visitor arrived: Microsoft Teams\""),
        "{html}"
    );
    assert!(!html.contains("aria-label=\"Visitor arrived: n:"), "{html}");
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
        // Through another tenant's pages, the id names nothing.
        let elsewhere = format!("/admin/t/globex/{kind}/{id}/remove");
        assert_eq!(operator_client.get_text(&elsewhere).await.0, 404);
        let response = operator_client.post(&elsewhere, &[("csrf", &csrf)]).await;
        assert_eq!(response.status(), 404, "{elsewhere}");
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
