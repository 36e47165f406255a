//! Deliveries carry Standard Webhooks' headers beside Roster's own signature; the
//! endpoint page shows an event's payload and sends every failed delivery again at once.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use roster_core::audit::AuditFilter;
use roster_core::delivery::DeliverySettings;
use roster_core::delivery::signing::{signature, standard_signature};
use roster_core::delivery::webhooks::DeliveryCounts;
use roster_core::paging::PageSize;
use roster_core::tokens::TokenLabel;
use roster_testkit::{Receiver, TestApp};
use secrecy::ExposeSecret;

use crate::admin_support::*;
use crate::scim::support::Scim;
use crate::webhooks::wait_for_counts;

#[tokio::test]
async fn standard_webhooks_headers_payloads_and_bulk_redelivery() {
    let app = Arc::new(
        TestApp::builder()
            .allow_local_receivers()
            .delivery(DeliverySettings {
                poll_interval: Duration::from_millis(20),
                retry_base: Duration::from_millis(100),
                // The first failure is final: failed deliveries without waiting.
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
    let html = response.text().await.unwrap();
    let secret = {
        let marker = "id=\"secret\" value=\"";
        let at = html.find(marker).unwrap() + marker.len();
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    };
    // The secret is standard base64 of 32 bytes after `whsec_`, as Standard Webhooks'
    // verifiers take it.
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(key.len(), 32);
    let endpoint = app.services.webhooks().list(&scope).await.unwrap()[0].id;

    scim.create_user("ada@acme.test").await;
    let got = receiver.wait_for_accepted(1, Duration::from_secs(10)).await;
    let request = &got[0];
    let id = request.header("webhook-id").unwrap();
    assert_eq!(Some(id), request.header("roster-event-id"));
    let timestamp: i64 = request
        .header("webhook-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let roster = request.header("roster-signature").unwrap();
    assert!(roster.starts_with(&format!("t={timestamp},")));
    assert_eq!(
        roster,
        format!(
            "t={timestamp},v1={}",
            signature(&secret, timestamp, request.body.as_bytes())
        )
    );
    assert_eq!(
        request.header("webhook-signature").unwrap(),
        standard_signature([secret.as_str()], id, timestamp, request.body.as_bytes())
    );
    assert!(
        request
            .header("webhook-signature")
            .unwrap()
            .starts_with("v1,")
    );

    // Three failures (the receiver is down), then one click sends them all again.
    receiver.answer_next(&[500, 500, 500]);
    for name in ["grace@acme.test", "alan@acme.test", "edsger@acme.test"] {
        scim.create_user(name).await;
    }
    let three_failed = DeliveryCounts {
        pending: 0,
        delivered: 1,
        failed: 3,
    };
    wait_for_counts(&app, &scope, endpoint, three_failed).await;
    let page = format!("/admin/t/acme/webhooks/{}", endpoint.0);
    let (_, html) = client.get_text(&page).await;
    assert!(html.contains("Redeliver all 3 failed deliveries"), "{html}");
    let response = client
        .post(&format!("{page}/redeliver-failed"), &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), 303);
    let all_delivered = DeliveryCounts {
        pending: 0,
        delivered: 4,
        failed: 0,
    };
    wait_for_counts(&app, &scope, endpoint, all_delivered).await;
    let (_, html) = client.get_text(&page).await;
    assert!(html.contains("flash"), "{html}");
    assert!(!html.contains("Redeliver all"), "nothing left to redeliver");
    // Nothing to send: said in an amber banner, not a green one.
    let response = client
        .post(&format!("{page}/redeliver-failed"), &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = client.get_text(&page).await;
    assert!(html.contains("flash flash-warn"), "{html}");
    let audit = app
        .services
        .audit()
        .tenant(&scope, &AuditFilter::default(), PageSize::DEFAULT)
        .await
        .unwrap()
        .items;
    let bulk = audit
        .iter()
        .find(|e| e.action == "webhook.redeliver_failed")
        .unwrap();
    assert_eq!(bulk.after.as_ref().unwrap()["queued"], 3);

    // The payload of a delivery is what was POSTed.
    let deliveries = app
        .services
        .webhooks()
        .deliveries(&scope, endpoint, None, None, PageSize::DEFAULT)
        .await
        .unwrap()
        .items;
    let first = deliveries.last().unwrap();
    let (status, html) = client
        .get_text(&format!("{page}/deliveries/{}", first.id))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("&#34;type&#34;: &#34;user.created&#34;"),
        "{html}"
    );
    assert!(html.contains("ada@acme.test"), "{html}");
    assert_eq!(
        client
            .get_text(&format!("{page}/deliveries/999999"))
            .await
            .0,
        404
    );
    assert_eq!(
        client.get_text(&format!("{page}/deliveries/x")).await.0,
        404
    );
}
