//! The admin UI's API-keys page over plain HTTP: a new key shown once, inline errors, the
//! read and write scopes, revocation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::admin_support::{csrf_in, location, operator, tenant};
use crate::api::Api;

#[tokio::test]
async fn the_api_keys_page_shows_a_new_key_once_and_revokes_it() {
    let app = Arc::new(roster_testkit::spawn_app().await);
    let (mut browser, admin) = operator(&app).await;
    tenant(&app, &admin, "acme", "Acme").await;

    let (status, html) = browser.get_text("/admin/t/acme/api-keys").await;
    assert_eq!(status, 200);
    assert!(html.contains("No API keys yet"), "{html}");
    assert!(html.contains("href=\"/admin/t/acme/api-keys\" aria-current=\"page\""));
    let csrf = csrf_in(&html);

    // Inline errors keep the form.
    let response = browser
        .post(
            "/admin/t/acme/api-keys",
            &[("csrf", &csrf), ("label", " "), ("expires", "2001-01-01")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Must not be empty."), "{html}");
    assert!(html.contains("Must be a day in the future."), "{html}");

    // Without the session's CSRF token nothing is created.
    let response = browser
        .post(
            "/admin/t/acme/api-keys",
            &[("csrf", "forged"), ("label", "x")],
        )
        .await;
    assert_eq!(response.status(), 403);

    let response = browser
        .post(
            "/admin/t/acme/api-keys",
            &[("csrf", &csrf), ("label", "Billing sync"), ("expires", "")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let start = html.find("rak_").expect("the key is shown");
    let key: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert_eq!(key.len(), 4 + 16 + 1 + 43, "{key}");
    assert!(html.contains("/api/v1"), "the API base URL is shown");

    // It works on the API, and the list shows its prefix only.
    let api = Api {
        app: app.clone(),
        key: key.clone(),
    };
    assert_eq!(api.get("/api/v1/users").await.status, 200);
    let (_, html) = browser.get_text("/admin/t/acme/api-keys").await;
    assert!(html.contains("Billing sync"));
    assert!(html.contains(&key[..20]), "the prefix is listed");
    assert!(!html.contains(&key), "never the whole key again");
    let (_, tokens) = browser.get_text("/admin/t/acme/tokens").await;
    assert!(!tokens.contains("Billing sync"), "not a SCIM token");

    // Revoke, with a confirmation page.
    let marker = "/admin/t/acme/api-keys/";
    let at = html.find(marker).unwrap() + marker.len();
    let id = &html[at..at + 36];
    let (status, confirm) = browser
        .get_text(&format!("/admin/t/acme/api-keys/{id}/revoke"))
        .await;
    assert_eq!(status, 200);
    assert!(confirm.contains("Revoke “Billing sync”?"), "{confirm}");
    let response = browser
        .post(
            &format!("/admin/t/acme/api-keys/{id}/revoke"),
            &[("csrf", &csrf_in(&confirm))],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/t/acme/api-keys");
    let (_, html) = browser.get_text("/admin/t/acme/api-keys").await;
    assert!(html.contains("The API key has been revoked"), "{html}");
    assert!(html.contains("badge-bad\">revoked"));
    let revoked_at = Instant::now();
    while api.get("/api/v1/users").await.status != 401 {
        assert!(revoked_at.elapsed() < Duration::from_millis(1500));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Another tenant's admin pages cannot see or revoke it.
    tenant(&app, &admin, "globex", "Globex").await;
    let (status, _) = browser
        .get_text(&format!("/admin/t/globex/api-keys/{id}/revoke"))
        .await;
    assert_eq!(status, 404);
}
