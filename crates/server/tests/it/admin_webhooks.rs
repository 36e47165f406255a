//! The admin UI's webhook pages over plain HTTP: endpoints created with the secret shown
//! once, inline errors, edit, rotate, delete, send-test against a real receiver, other
//! tenants' ids, and deliveries (delivered, failed, redelivered) from the real worker.

use std::sync::Arc;
use std::time::Duration;

use roster_core::delivery::DeliverySettings;
use roster_core::delivery::webhooks::{DeliveryCounts, DeliveryStatus, EndpointForm, EndpointId};
use roster_core::memberships::TenantAccess;
use roster_core::paging::PageSize;
use roster_core::tokens::TokenLabel;
use roster_testkit::{Receiver, TestApp, spawn_app};
use secrecy::ExposeSecret;

use crate::admin_support::*;
use crate::scim::support::Scim;
use crate::webhooks::wait_for_counts;

/// The value of the read-only field `id` on a page (the copy field of a secret).
fn field_value(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" value=\"");
    let start = html.find(&marker).expect("the page has the field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

async fn only_endpoint(app: &TestApp, scope: &TenantAccess) -> EndpointId {
    let endpoints = app.services.webhooks().list(scope).await.unwrap();
    assert_eq!(endpoints.len(), 1);
    endpoints[0].id
}

#[tokio::test]
async fn endpoints_are_created_with_the_secret_shown_once_edited_rotated_and_deleted() {
    let app = TestApp::builder().allow_local_receivers().spawn().await;
    let (mut client, operator) = operator(&app).await;
    let scope = tenant(&app, &operator, "acme", "Acme").await;
    let receiver = Receiver::start().await;
    let csrf = client.csrf().await;

    let (status, html) = client.get_text("/admin/t/acme/webhooks").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("No webhook endpoints yet"), "{html}");
    assert!(html.contains("href=\"/admin/t/acme/webhooks\" aria-current=\"page\""));

    // Bad input: inline errors, nothing created.
    let response = client
        .post(
            "/admin/t/acme/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "ftp://example.com/x"),
                ("events", "all"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"url-error\""), "{html}");
    assert!(html.contains("http:// or https://"), "{html}");
    assert!(
        html.contains("value=\"ftp://example.com/x\""),
        "the value is kept"
    );
    // The cloud metadata service is never a receiver.
    let response = client
        .post(
            "/admin/t/acme/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "http://169.254.169.254/latest/meta-data/"),
                ("events", "all"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"url-error\""), "{html}");
    assert!(html.contains("cloud metadata address"), "{html}");
    let response = client
        .post(
            "/admin/t/acme/webhooks",
            &[("csrf", &csrf), ("url", &receiver.url), ("events", "some")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"events-error\""), "{html}");
    assert!(
        app.services
            .webhooks()
            .list(&scope)
            .await
            .unwrap()
            .is_empty()
    );

    // Created: the secret is in this answer, not cached, and on no later page.
    let response = client
        .post(
            "/admin/t/acme/webhooks",
            &[
                ("csrf", &csrf),
                ("url", &receiver.url),
                ("description", "User sync"),
                ("events", "some"),
                ("event_types", "user.created"),
                ("event_types", "user.deleted"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let secret = field_value(&html, "secret");
    assert!(
        secret.starts_with("whsec_") && secret.len() > 20,
        "{secret}"
    );
    assert!(html.contains("Roster-Signature"), "{html}");
    assert!(
        html.contains("href=\"/admin/t/acme/help/webhooks\""),
        "{html}"
    );
    assert!(html.contains("data-copy=\"#secret\""), "{html}");
    let id = only_endpoint(&app, &scope).await;
    let endpoint = app.services.webhooks().find(&scope, id).await.unwrap();
    assert_eq!(
        endpoint.event_types,
        Some(vec!["user.created".to_owned(), "user.deleted".to_owned()])
    );
    assert!(endpoint.enabled);

    let (status, html) = client.get_text("/admin/t/acme/webhooks").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&receiver.url) && html.contains("User sync"),
        "{html}"
    );
    assert!(html.contains("<code>user.deleted</code>"), "{html}");
    assert!(!html.contains(&secret), "the secret is shown once");
    let page = format!("/admin/t/acme/webhooks/{}", id.0);
    let (status, html) = client.get_text(&page).await;
    assert_eq!(status, 200);
    assert!(!html.contains(&secret), "the secret is shown once");
    assert!(html.contains(&endpoint.secret_hint), "{html}");
    assert!(html.contains("No deliveries yet"), "{html}");

    // Edit: a bad URL is an inline error and changes nothing; a good form is saved.
    let response = client
        .post(
            &page,
            &[("csrf", &csrf), ("url", "not a url"), ("events", "all")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("id=\"url-error\""));
    assert_eq!(
        app.services.webhooks().find(&scope, id).await.unwrap(),
        endpoint
    );
    let response = client
        .post(
            &page,
            &[
                ("csrf", &csrf),
                ("url", &receiver.url),
                ("description", "Renamed"),
                ("events", "all"),
                ("event_types", "user.created"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), page);
    let edited = app.services.webhooks().find(&scope, id).await.unwrap();
    assert_eq!(edited.description, "Renamed");
    assert_eq!(edited.event_types, None, "all events");
    assert!(!edited.enabled, "the box was not ticked");
    let (_, html) = client.get_text(&page).await;
    assert!(
        html.contains("The webhook endpoint has been saved"),
        "{html}"
    );

    // Send a test event: the receiver's answer is shown inline.
    let response = client
        .post(&format!("{page}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("accepted the test event: HTTP 200"), "{html}");
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        received[0].header("Roster-Event-Type"),
        Some("webhook.test")
    );
    assert!(received[0].header("Roster-Signature").is_some());
    receiver.answer_next(&[503]);
    let response = client
        .post(&format!("{page}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("was not accepted") && html.contains("503"),
        "{html}"
    );

    // Rotate: a confirmation that explains the overlap, then the new secret once.
    let (status, html) = client.get_text(&format!("{page}/rotate")).await;
    assert_eq!(status, 200);
    assert!(html.contains("24 hours"), "{html}");
    let response = client
        .post(&format!("{page}/rotate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let rotated = field_value(&html, "secret");
    assert!(rotated.starts_with("whsec_"));
    assert_ne!(rotated, secret);
    assert!(html.contains("previous one"), "{html}");
    let (_, html) = client.get_text(&page).await;
    assert!(!html.contains(&rotated) && !html.contains(&secret));
    assert!(
        html.contains("The previous secret also signs until"),
        "{html}"
    );

    // Delete, after a confirmation.
    let (status, html) = client.get_text(&format!("{page}/delete")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Delete endpoint"), "{html}");
    let response = client
        .post(&format!("{page}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&response), "/admin/t/acme/webhooks");
    assert!(
        app.services
            .webhooks()
            .list(&scope)
            .await
            .unwrap()
            .is_empty()
    );
    let (_, html) = client.get_text("/admin/t/acme/webhooks").await;
    assert!(html.contains("have been deleted"), "{html}");
    assert_eq!(client.get(&page).await.status(), 404);
}

#[tokio::test]
async fn another_tenants_endpoints_answer_404() {
    let app = spawn_app().await;
    let (_, operator) = operator(&app).await;
    let acme = tenant(&app, &operator, "acme", "Acme").await;
    let globex = tenant(&app, &operator, "globex", "Globex").await;
    let form = EndpointForm::parse("https://acme.example/hooks", "", &[], true).unwrap();
    let (endpoint, _) = app.services.webhooks().create(&acme, form).await.unwrap();
    let id = endpoint.id.0;
    let mut client = tenant_admin(&app, &globex, "ops@globex.test", "globex password 2026").await;
    let csrf = client.csrf().await;

    assert_eq!(client.get("/admin/t/acme/webhooks").await.status(), 404);
    for path in [
        format!("/admin/t/globex/webhooks/{id}"),
        format!("/admin/t/globex/webhooks/{id}/rotate"),
        format!("/admin/t/globex/webhooks/{id}/delete"),
        "/admin/t/globex/webhooks/not-an-id".to_owned(),
    ] {
        assert_eq!(client.get(&path).await.status(), 404, "{path}");
    }
    for path in [
        format!("/admin/t/globex/webhooks/{id}"),
        format!("/admin/t/globex/webhooks/{id}/test"),
        format!("/admin/t/globex/webhooks/{id}/rotate"),
        format!("/admin/t/globex/webhooks/{id}/delete"),
        format!("/admin/t/globex/webhooks/{id}/deliveries/1/redeliver"),
        format!("/admin/t/acme/webhooks/{id}/delete"),
    ] {
        let response = client
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("url", "https://evil.example/"),
                    ("events", "all"),
                ],
            )
            .await;
        assert_eq!(response.status(), 404, "{path}");
    }
    assert_eq!(
        app.services
            .webhooks()
            .find(&acme, endpoint.id)
            .await
            .unwrap(),
        endpoint,
        "unchanged"
    );
    // And the endpoint's own tenant page needs the CSRF token.
    let mut op_client = Browserless::new(&app);
    op_client.sign_in(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let response = op_client
        .post(&format!("/admin/t/acme/webhooks/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn deliveries_are_listed_and_a_failed_one_is_redelivered() {
    let app = Arc::new(
        TestApp::builder()
            .allow_local_receivers()
            .delivery(DeliverySettings {
                poll_interval: Duration::from_millis(20),
                retry_base: Duration::from_millis(100),
                // The first failure is final: a failed delivery without waiting.
                give_up_after: Duration::from_millis(1),
                ..Default::default()
            })
            .spawn()
            .await,
    );
    let (mut client, operator) = operator(&app).await;
    let scope = tenant(&app, &operator, "acme", "Acme").await;
    let token = app
        .services
        .tokens()
        .create_for(&scope, TokenLabel::parse("idp").unwrap(), None, None)
        .await
        .unwrap();
    let scim = Scim {
        app: app.clone(),
        base: app.url("/scim/v2/acme"),
        token: token.token.expose_secret().to_owned(),
        slug: "acme".to_owned(),
    };
    let receiver = Receiver::start().await;
    let csrf = client.csrf().await;
    let response = client
        .post(
            "/admin/t/acme/webhooks",
            &[
                ("csrf", &csrf),
                ("url", &receiver.url),
                ("events", "all"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let id = only_endpoint(&app, &scope).await;
    let page = format!("/admin/t/acme/webhooks/{}", id.0);

    scim.create_user("ada@acme.test").await;
    receiver.wait_for_accepted(1, Duration::from_secs(10)).await;
    let delivered = DeliveryCounts {
        pending: 0,
        delivered: 1,
        failed: 0,
    };
    wait_for_counts(&app, &scope, id, delivered).await;
    receiver.answer_next(&[500]);
    scim.create_user("bob@acme.test").await;
    let one_failed = DeliveryCounts {
        failed: 1,
        ..delivered
    };
    wait_for_counts(&app, &scope, id, one_failed).await;

    let (status, html) = client.get_text(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains("<code>user.created</code>"), "{html}");
    assert!(html.contains("badge-ok\">delivered"), "{html}");
    assert!(html.contains("badge-bad\">failed"), "{html}");
    assert!(
        html.contains("<span class=\"muted\">500</span>"),
        "the response code: {html}"
    );
    assert_eq!(
        html.matches("/redeliver\"").count(),
        2,
        "failed and delivered rows"
    );
    let (_, overview) = client.get_text("/admin/t/acme").await;
    assert!(
        overview.contains("1 webhook deliveries failed"),
        "{overview}"
    );
    let (_, list) = client.get_text("/admin/t/acme/webhooks").await;
    assert!(list.contains("1 failed"), "{list}");

    // Filter and keyset paging; a hand-edited query is ignored, not an error.
    let (_, failed_only) = client.get_text(&format!("{page}?status=failed")).await;
    assert_eq!(failed_only.matches("/redeliver\"").count(), 1);
    assert!(
        !failed_only.contains("badge-ok\">delivered"),
        "{failed_only}"
    );
    let all = app
        .services
        .webhooks()
        .deliveries(&scope, id, None, None, PageSize::DEFAULT)
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 2);
    let failed = all
        .iter()
        .find(|d| d.status == DeliveryStatus::Failed)
        .unwrap();
    assert!(html.contains(&failed.event_id.to_string()), "{html}");
    let (_, older) = client
        .get_text(&format!("{page}?before={}", all[0].id))
        .await;
    assert_eq!(older.matches("/redeliver\"").count(), 1, "{older}");
    assert!(older.contains(&all[1].event_id.to_string()));
    let (status, _) = client
        .get_text(&format!("{page}?status=bogus&before=xyz"))
        .await;
    assert_eq!(status, 200);

    // Redeliver: back to pending, then delivered by the worker.
    let action = format!("{page}/deliveries/{}/redeliver", failed.id);
    assert!(failed_only.contains(&action), "{failed_only}");
    let response = client.post(&action, &[("csrf", &csrf)]).await;
    assert_eq!(location(&response), page);
    receiver.wait_for_accepted(2, Duration::from_secs(10)).await;
    wait_for_counts(
        &app,
        &scope,
        id,
        DeliveryCounts {
            delivered: 2,
            ..delivered
        },
    )
    .await;
    let (_, html) = client.get_text(&format!("{page}?status=failed")).await;
    assert!(html.contains("No failed deliveries"), "{html}");
    assert!(html.contains("queued again"), "the flash: {html}");
    let (_, overview) = client.get_text("/admin/t/acme").await;
    assert!(!overview.contains("webhook deliveries failed"));
}

#[tokio::test]
async fn hostile_input_in_the_webhook_forms_never_gives_a_500() {
    use crate::admin_forms::{check, hostile_values};
    let app = spawn_app().await;
    let (mut client, operator) = operator(&app).await;
    let scope = tenant(&app, &operator, "acme", "Acme").await;
    let form = EndpointForm::parse("https://acme.example/hooks", "", &[], true).unwrap();
    let (endpoint, _) = app.services.webhooks().create(&scope, form).await.unwrap();
    let page = format!("/admin/t/acme/webhooks/{}", endpoint.id.0);
    let csrf = client.csrf().await;
    for value in hostile_values() {
        let value = value.as_str();
        let url = format!("https://acme.example/{value}");
        let what = |form: &str| {
            format!(
                "{form} with {:?}",
                value.chars().take(40).collect::<String>()
            )
        };
        for (url, description, events, event_type) in [
            (value, "d", "all", "user.created"),
            (url.as_str(), value, "some", value),
            (url.as_str(), "d", value, value),
        ] {
            let fields = [
                ("csrf", csrf.as_str()),
                ("url", url),
                ("description", description),
                ("events", events),
                ("event_types", event_type),
                ("enabled", value),
            ];
            let response = client.post("/admin/t/acme/webhooks", &fields).await;
            check(response, &what("create"), &[200, 422]).await;
            let response = client.post(&page, &fields).await;
            check(response, &what("edit"), &[303, 422]).await;
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("status", value)
            .append_pair("before", value)
            .finish();
        let response = client.get(&format!("{page}?{query}")).await;
        check(response, &what("deliveries query"), &[200]).await;
        let response = client
            .post(
                &format!(
                    "{page}/deliveries/{}/redeliver",
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
                ),
                &[("csrf", &csrf)],
            )
            .await;
        check(response, &what("redeliver"), &[404]).await;
    }
}
