//! Webhook delivery against a real local HTTP receiver: signatures, every event type,
//! retries with backoff, per-resource order, dead letters and redelivery, retention,
//! type filters and secret rotation, test events, the egress policy. Two nodes and a
//! kill -9 are in `webhooks_nodes.rs`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use roster_core::delivery::signing::signature;
use roster_core::delivery::webhooks::DeliveryCounts;
use roster_core::delivery::{DeliverySettings, DeliveryStatus, EndpointForm, EndpointId};
use roster_core::memberships::TenantAccess;
use roster_core::paging::PageSize;
use roster_testkit::{Received, Receiver, TestApp};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::rules::support::access;
use crate::scim::support::{Scim, patch_op};

pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) fn fast() -> DeliverySettings {
    DeliverySettings {
        poll_interval: Duration::from_millis(20),
        retry_base: Duration::from_millis(200),
        ..DeliverySettings::default()
    }
}

pub(crate) async fn scim_with_worker(settings: DeliverySettings) -> Scim {
    let app = TestApp::builder()
        .allow_local_receivers()
        .delivery(settings)
        .spawn()
        .await;
    Scim::on(Arc::new(app), "acme").await
}

pub(crate) async fn endpoint(
    scim: &Scim,
    receiver: &Receiver,
    types: &[&str],
) -> (TenantAccess, EndpointId, String) {
    let (_, access) = access(&scim.app, "acme").await;
    let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
    let form = EndpointForm::parse(&receiver.url, "product", &types, true).unwrap();
    let (endpoint, secret) = scim
        .app
        .services
        .webhooks()
        .create(&access, form)
        .await
        .unwrap();
    (access, endpoint.id, secret.expose_secret().to_owned())
}

/// Checks the `Roster-Signature` header against the secrets, as a receiver would.
fn assert_signed(request: &Received, secrets: &[&str]) {
    let header = request
        .header("roster-signature")
        .expect("signature header");
    let mut parts = header.split(',');
    let timestamp: i64 = parts
        .next()
        .and_then(|t| t.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    let now = roster_core::time::Clock::system().now().as_micros() / 1_000_000;
    assert!((now - timestamp).abs() < 300, "stale timestamp {timestamp}");
    let signatures: Vec<&str> = parts.map(|p| p.strip_prefix("v1=").unwrap()).collect();
    assert_eq!(signatures.len(), secrets.len(), "{header}");
    for (secret, given) in secrets.iter().zip(&signatures) {
        assert_eq!(
            *given,
            signature(secret, timestamp, request.body.as_bytes()),
            "signature of {header}"
        );
    }
    let body = request.json();
    assert_eq!(request.header("roster-event-id"), body["id"].as_str());
    assert_eq!(request.header("idempotency-key"), body["id"].as_str());
    assert_eq!(request.header("roster-event-type"), body["type"].as_str());
    assert_eq!(request.header("content-type"), Some("application/json"));
}

/// Waits until the endpoint's delivery counts are `expected`: a receiver sees a request
/// before the worker records its outcome.
pub(crate) async fn wait_for_counts(
    app: &TestApp,
    scope: &TenantAccess,
    id: EndpointId,
    expected: DeliveryCounts,
) {
    let start = std::time::Instant::now();
    loop {
        let counts = app.services.webhooks().counts(scope, id).await.unwrap();
        if counts == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "counts {counts:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn every_event_type_arrives_signed_and_in_order() {
    let scim = scim_with_worker(fast()).await;
    let receiver = Receiver::start().await;
    let (_, _, secret) = endpoint(&scim, &receiver, &[]).await;

    let user = scim.create_user("ada@acme.test").await;
    let path = format!("/Users/{user}");
    let renamed = scim
        .patch(
            &path,
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ada K."}])),
        )
        .await;
    assert_eq!(renamed.status, 200, "{renamed:?}");
    let off = scim
        .patch(
            &path,
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    let on = scim
        .patch(
            &path,
            patch_op(json!([{"op": "replace", "value": {"active": true}}])),
        )
        .await;
    assert_eq!(on.status, 200, "{on:?}");
    let group = scim.create_group("Engineering").await;
    let group_path = format!("/Groups/{group}");
    let added = scim
        .patch(
            &group_path,
            patch_op(json!([{"op": "add", "path": "members", "value": [{"value": user}]}])),
        )
        .await;
    assert!(added.status.is_success(), "{added:?}");
    let removed = scim
        .patch(
            &group_path,
            patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}])),
        )
        .await;
    assert!(removed.status.is_success(), "{removed:?}");
    let renamed_group = scim
        .patch(
            &group_path,
            patch_op(json!([{"op": "replace", "value": {"id": group, "displayName": "Eng"}}])),
        )
        .await;
    assert!(renamed_group.status.is_success(), "{renamed_group:?}");
    assert_eq!(scim.delete(&group_path).await.status, 204);
    assert_eq!(scim.delete(&path).await.status, 204);

    let expected = [
        "user.created",
        "user.updated",
        "user.deactivated",
        "user.reactivated",
        "group.created",
        "group.member_added",
        "group.member_removed",
        "group.updated",
        "group.deleted",
        "user.deleted",
    ];
    let received = receiver.wait_for(expected.len(), WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received_all = receiver.received();
    assert_eq!(
        received_all.len(),
        expected.len(),
        "no duplicates in the normal case"
    );
    for request in &received {
        assert_signed(request, &[&secret]);
        assert_eq!(request.json()["tenant"], "acme");
    }
    // Each resource's events arrive in the order they happened.
    let of = |resource: &str| -> Vec<String> {
        received
            .iter()
            .map(Received::json)
            .filter(|body| {
                body["data"]["user"]["id"] == resource
                    && body["type"].as_str().unwrap().starts_with("user")
                    || body["data"]["group"]["id"] == resource
            })
            .map(|body| body["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        of(&user),
        [
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.reactivated",
            "user.deleted"
        ]
    );
    assert_eq!(
        of(&group),
        [
            "group.created",
            "group.member_added",
            "group.member_removed",
            "group.updated",
            "group.deleted"
        ]
    );
    let types: HashSet<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, expected.iter().map(|t| (*t).to_owned()).collect());

    // The payload: normalised fields and the SCIM document; membership events carry both.
    let created = received
        .iter()
        .map(Received::json)
        .find(|b| b["type"] == "user.created")
        .unwrap();
    assert_eq!(created["data"]["user"]["userName"], "ada@acme.test");
    assert_eq!(created["data"]["scim"]["userName"], "ada@acme.test");
    assert!(created["data"]["scim"].get("password").is_none());
    let member = received
        .iter()
        .map(Received::json)
        .find(|b| b["type"] == "group.member_added")
        .unwrap();
    assert_eq!(member["data"]["group"]["id"], group.as_str());
    assert_eq!(member["data"]["user"]["id"], user.as_str());
    let ids: HashSet<String> = received
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), expected.len());
}

#[tokio::test]
async fn a_failing_receiver_gets_each_event_once_more_after_each_failure_with_growing_delays() {
    let scim = scim_with_worker(fast()).await;
    let receiver = Receiver::start().await;
    let (access, endpoint_id, secret) = endpoint(&scim, &receiver, &["user.created"]).await;
    receiver.answer_next(&[500, 503, 502]);

    scim.create_user("ada@acme.test").await;
    receiver.wait_for(4, WAIT).await;
    // Nothing more comes once it succeeded.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let received = {
        let all = receiver.received();
        assert_eq!(all.len(), 4, "exactly one request per attempt");
        all
    };
    let first_id = received[0].json()["id"].clone();
    for (n, request) in received.iter().enumerate() {
        assert_eq!(request.json()["id"], first_id, "the same event every time");
        assert_signed(request, &[&secret]);
        assert_eq!(
            request.header("roster-delivery-attempt"),
            Some((n + 1).to_string().as_str())
        );
    }
    let gaps: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
    // 200 ms, 400 ms, 800 ms (±20% jitter), each longer than the one before.
    assert!(gaps[0] >= Duration::from_millis(150), "{gaps:?}");
    assert!(
        gaps[1] > gaps[0] && gaps[2] > gaps[1],
        "delays grow: {gaps:?}"
    );

    let deliveries = scim
        .app
        .services
        .webhooks()
        .deliveries(&access, endpoint_id, None, None, PageSize::DEFAULT)
        .await
        .unwrap();
    assert_eq!(deliveries.items.len(), 1);
    let delivery = &deliveries.items[0];
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts, 4);
    assert_eq!(delivery.last_status_code, Some(200));
}

#[tokio::test]
async fn a_resource_waits_for_its_earlier_event_while_others_go_on() {
    let scim = scim_with_worker(fast()).await;
    let receiver = Receiver::start().await;
    endpoint(&scim, &receiver, &[]).await;
    // The first request (ada's creation) fails; bob's events must not wait for it, ada's
    // update must.
    receiver.answer_next(&[500]);
    let ada = scim.create_user("ada@acme.test").await;
    receiver.wait_for(1, WAIT).await;
    scim.patch(
        &format!("/Users/{ada}"),
        patch_op(json!([{"op": "replace", "path": "displayName", "value": "A"}])),
    )
    .await;
    let bob = scim.create_user("bob@acme.test").await;
    let received = receiver.wait_for_accepted(3, WAIT).await;
    let order: Vec<(String, String)> = received
        .iter()
        .map(|r| {
            let body = r.json();
            (
                body["data"]["user"]["id"].as_str().unwrap().to_owned(),
                body["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let position = |id: &str, kind: &str| {
        order
            .iter()
            .position(|(i, k)| i == id && k == kind)
            .unwrap_or_else(|| panic!("{kind} of {id} missing: {order:?}"))
    };
    assert!(position(&ada, "user.created") < position(&ada, "user.updated"));
    // bob did not wait for ada's retry (200 ms later).
    assert!(
        position(&bob, "user.created") < position(&ada, "user.created"),
        "{order:?}"
    );
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_dead_lettered_and_can_be_redelivered() {
    let scim = scim_with_worker(DeliverySettings {
        retry_base: Duration::from_millis(100),
        give_up_after: Duration::from_millis(500),
        ..fast()
    })
    .await;
    let receiver = Receiver::start().await;
    let (access, endpoint_id, _) = endpoint(&scim, &receiver, &["user.created"]).await;
    receiver.answer_next(&[500; 50]);
    scim.create_user("ada@acme.test").await;

    let webhooks = scim.app.services.webhooks();
    let started = std::time::Instant::now();
    let failed = loop {
        assert!(
            started.elapsed() < WAIT,
            "the delivery was never marked failed"
        );
        let page = webhooks
            .deliveries(
                &access,
                endpoint_id,
                Some(DeliveryStatus::Failed),
                None,
                PageSize::DEFAULT,
            )
            .await
            .unwrap();
        if let Some(delivery) = page.items.into_iter().next() {
            break delivery;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(failed.attempts >= 2, "{failed:?}");
    assert_eq!(failed.last_status_code, Some(500));
    assert!(
        failed.last_error.as_deref().unwrap().contains("500"),
        "{failed:?}"
    );
    let attempts = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        attempts,
        "a failed delivery is not retried"
    );

    // Redeliver, to a receiver that works.
    let fresh = Receiver::start().await;
    webhooks
        .update(
            &access,
            endpoint_id,
            EndpointForm::parse(&fresh.url, "product", &["user.created".into()], true).unwrap(),
        )
        .await
        .unwrap();
    // Only through its own endpoint.
    let other = endpoint(&scim, &receiver, &[]).await.1;
    assert!(matches!(
        webhooks.redeliver(&access, other, failed.id).await,
        Err(roster_core::Error::NotFound)
    ));
    webhooks
        .redeliver(&access, endpoint_id, failed.id)
        .await
        .unwrap();
    let again = fresh.wait_for(1, WAIT).await;
    assert_eq!(
        again[0].json()["id"].as_str().unwrap(),
        failed.event_id.to_string()
    );
    wait_for_counts(
        &scim.app,
        &access,
        endpoint_id,
        DeliveryCounts {
            pending: 0,
            delivered: 1,
            failed: 0,
        },
    )
    .await;
}

#[tokio::test]
async fn finished_deliveries_are_pruned_after_the_retention_and_pending_ones_kept() {
    let scim = scim_with_worker(DeliverySettings {
        retention: Some(Duration::from_millis(1)),
        prune_interval: Duration::from_millis(50),
        ..fast()
    })
    .await;
    let receiver = Receiver::start().await;
    let (access, id, _) = endpoint(&scim, &receiver, &["user.created"]).await;
    // One delivery succeeds; the next one keeps failing (retried, so pending).
    scim.create_user("ada@acme.test").await;
    receiver.wait_for(1, WAIT).await;
    receiver.answer_next(&[500; 1_000]);
    scim.create_user("bob@acme.test").await;
    receiver.wait_for(2, WAIT).await;

    let webhooks = scim.app.services.webhooks();
    let started = std::time::Instant::now();
    loop {
        let counts = webhooks.counts(&access, id).await.unwrap();
        if counts.delivered == 0 {
            assert_eq!(counts.pending, 1, "a pending delivery is never pruned");
            break;
        }
        assert!(started.elapsed() < WAIT, "never pruned: {counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn endpoints_get_only_the_types_they_want_and_rotation_signs_with_both_secrets() {
    let scim = scim_with_worker(fast()).await;
    let groups_only = Receiver::start().await;
    let everything = Receiver::start().await;
    endpoint(&scim, &groups_only, &["group.created"]).await;
    let (access, id, old_secret) = endpoint(&scim, &everything, &[]).await;

    scim.create_user("ada@acme.test").await;
    scim.create_group("Ops").await;
    everything.wait_for(2, WAIT).await;
    let got = groups_only.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["type"], "group.created");

    let (_, new_secret) = scim
        .app
        .services
        .webhooks()
        .rotate_secret(&access, id)
        .await
        .unwrap();
    scim.create_user("bob@acme.test").await;
    let received = everything.wait_for(3, WAIT).await;
    assert_signed(&received[2], &[new_secret.expose_secret(), &old_secret]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        groups_only.received().len(),
        1,
        "no user events for this endpoint"
    );
}

#[tokio::test]
async fn a_test_event_reports_the_receivers_answer() {
    let scim = scim_with_worker(fast()).await;
    let receiver = Receiver::start().await;
    let (access, id, secret) = endpoint(&scim, &receiver, &[]).await;
    let webhooks = scim.app.services.webhooks();
    let ok = webhooks.send_test(&access, id).await.unwrap();
    assert_eq!((ok.status_code, ok.error.as_deref()), (Some(200), None));
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["type"], "webhook.test");
    assert_signed(&got[0], &[&secret]);
    receiver.answer_next(&[418]);
    let refused = webhooks.send_test(&access, id).await.unwrap();
    assert_eq!(refused.status_code, Some(418));
    assert!(refused.error.unwrap().contains("418"));
    receiver.stop().await;
    let down = webhooks.send_test(&access, id).await.unwrap();
    assert_eq!(down.status_code, None);
    assert_eq!(
        down.error.as_deref(),
        Some("could not connect to the endpoint")
    );
}

#[tokio::test]
async fn a_metadata_address_is_never_called_even_when_written_to_the_database_directly() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let scim = scim_with_worker(fast()).await;
    let receiver = Receiver::start().await;
    let (access, id, _) = endpoint(&scim, &receiver, &[]).await;
    let webhooks = scim.app.services.webhooks();
    // The form refuses it …
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
    ] {
        let form = EndpointForm::parse(url, "", &[], true).unwrap();
        let err = webhooks.update(&access, id, form).await.unwrap_err();
        assert!(err.to_string().contains("cloud metadata"), "{url}: {err}");
    }
    // … and a URL written to the database some other way is not called either.
    roster_entity::webhook_endpoint::ActiveModel {
        id: Set(id.0),
        url: Set("http://169.254.169.254/latest/meta-data/".into()),
        ..Default::default()
    }
    .update(scim.app.services.db().writer())
    .await
    .unwrap();
    let outcome = webhooks.send_test(&access, id).await.unwrap();
    assert_eq!(outcome.status_code, None);
    assert!(
        outcome.error.as_deref().unwrap().contains("cloud metadata"),
        "{outcome:?}"
    );
    scim.create_user("ada@acme.test").await;
    let started = std::time::Instant::now();
    let page = loop {
        let page = webhooks
            .deliveries(&access, id, None, None, PageSize::DEFAULT)
            .await
            .unwrap();
        if page.items.first().is_some_and(|d| d.attempts > 0) {
            break page;
        }
        assert!(started.elapsed() < WAIT, "no attempt recorded");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let delivery = &page.items[0];
    assert_eq!(delivery.last_status_code, None);
    assert!(
        delivery
            .last_error
            .as_deref()
            .unwrap()
            .contains("cloud metadata"),
        "{delivery:?}"
    );
    assert!(receiver.received().is_empty());
}
