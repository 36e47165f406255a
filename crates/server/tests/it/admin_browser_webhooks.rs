//! A webhook endpoint's journey through the admin UI in a real headless Chromium: created
//! with its secret shown once, a test event sent to a real receiver, and its deliveries.

use fantoccini::Locator;
use roster_testkit::TestApp;
use secrecy::ExposeSecret;

use crate::admin_support::*;

/// A short webhook journey: add an endpoint, read its secret once (the copy button works
/// without inline script), send a test event, and see a real delivery in the table.
#[tokio::test]
async fn webhook_endpoint_journey() {
    let app = TestApp::builder()
        .allow_local_receivers()
        .delivery(roster_core::delivery::DeliverySettings {
            poll_interval: std::time::Duration::from_millis(20),
            retry_base: std::time::Duration::from_millis(100),
            ..Default::default()
        })
        .spawn()
        .await;
    let app = &app;
    let (_, operator) = operator(app).await;
    let scope = tenant(app, &operator, "acme", "Acme").await;
    let receiver = roster_testkit::Receiver::start().await;
    let receiver = &receiver;
    let scope = &scope;
    with_browser(|browser| async move {
        operator_on(&browser, app, "/admin/t/acme").await;
        click(&browser, "nav.tabs a[href$='/webhooks']").await;
        assert!(
            text_of(&browser, ".empty")
                .await
                .contains("No webhook endpoints")
        );
        fill(&browser, "#url", &receiver.url).await;
        fill(&browser, "#description", "Product sync").await;
        click(&browser, "main form button[type=submit]").await;
        let secret = value_of(&browser, "#secret").await;
        assert!(secret.starts_with("whsec_"), "{secret}");
        let copy = browser
            .find(Locator::Css("button[data-copy='#secret']"))
            .await
            .unwrap();
        assert!(
            copy.is_displayed().await.unwrap(),
            "admin.js shows the copy button"
        );
        screenshot(&browser, "webhook-created").await;

        click(&browser, "main a.button.primary").await;
        click(&browser, "form[action$='/test'] button").await;
        assert!(
            text_of(&browser, "#test-outcome")
                .await
                .contains("HTTP 200")
        );

        // A provisioning change is delivered and listed.
        let token = app
            .services
            .tokens()
            .create_for(
                scope,
                roster_core::tokens::TokenLabel::parse("idp").unwrap(),
                None,
                None,
            )
            .await
            .unwrap();
        let response = app
            .client
            .post(app.url("/scim/v2/acme/Users"))
            .bearer_auth(token.token.expose_secret())
            .header("content-type", "application/scim+json")
            .body(crate::scim::support::okta_user("ada@acme.test").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        receiver
            .wait_for_accepted(2, std::time::Duration::from_secs(10))
            .await;
        let mut listed = false;
        for _ in 0..100 {
            browser.refresh().await.unwrap();
            if let Ok(badge) = browser.find(Locator::Css("td .badge-ok")).await
                && badge.text().await.unwrap() == "delivered"
            {
                listed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(listed, "the delivery is listed as delivered");
        assert!(text_of(&browser, "table").await.contains("user.created"));
        screenshot(&browser, "webhook-endpoint").await;
    })
    .await;
}
