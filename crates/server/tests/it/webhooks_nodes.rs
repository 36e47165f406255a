//! Webhook delivery across processes: two nodes on one database deliver each event once,
//! and a node killed with deliveries pending loses none.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use roster_core::delivery::EndpointForm;
use roster_entity::event;
use roster_testkit::{Receiver, TestApp};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::binary::{Node, cli_tenant_with_token};
use crate::scim::support::{Scim, okta_user};
use crate::webhooks::{WAIT, endpoint, fast, scim_with_worker};

#[tokio::test]
async fn two_nodes_deliver_each_event_once() {
    let a = scim_with_worker(fast()).await;
    let b_app = TestApp::builder()
        .allow_local_receivers()
        .database(a.app.database.handle())
        .delivery(fast())
        .spawn()
        .await;
    let b = Scim {
        base: a.base.replace(&a.app.address, &b_app.address),
        token: a.token.clone(),
        slug: a.slug.clone(),
        app: Arc::new(b_app),
    };
    let receiver = Receiver::start().await;
    endpoint(&a, &receiver, &["user.created"]).await;

    let mut writers = Vec::new();
    for (n, node) in [a, b].into_iter().enumerate() {
        writers.push(tokio::spawn(async move {
            for i in 0..60 {
                node.create_user(&format!("u{n}-{i}@acme.test")).await;
            }
            node
        }));
    }
    let mut nodes = Vec::new();
    for writer in writers {
        nodes.push(writer.await.unwrap());
    }
    let received = receiver.wait_for(120, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = {
        let all = receiver.received();
        assert_eq!(
            all.len(),
            received.len().max(120),
            "no event delivered twice"
        );
        all
    };
    let mut seen = HashMap::new();
    for request in &received {
        *seen
            .entry(request.json()["id"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 120);
    assert!(seen.values().all(|n| *n == 1), "each event once");
}

#[tokio::test]
async fn kill_9_with_deliveries_pending_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = roster_testkit::TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "acme").await;

    // The endpoint, made through the services on the same database.
    let receiver = Receiver::start().await;
    let db = test_db.connect().await;
    let services = roster_core::Services::new(
        db.clone(),
        roster_core::CoreConfig {
            egress: roster_core::delivery::EgressPolicy::parse(roster_testkit::LOCAL_RECEIVERS)
                .unwrap(),
            ..roster_core::CoreConfig::new("http://x", roster_testkit::test_keyring())
        },
    );
    let operator = services
        .admins()
        .create(
            roster_core::admins::AdminEmail::parse("op@roster.test").unwrap(),
            roster_core::admins::NewPassword::parse(secrecy::SecretString::from(
                "a long operator password",
            ))
            .unwrap(),
            roster_core::admins::Role::Operator,
            false,
        )
        .await
        .unwrap();
    let access = services
        .memberships()
        .access(&operator, "acme")
        .await
        .unwrap()
        .unwrap();
    services
        .webhooks()
        .create(
            &access,
            EndpointForm::parse(&receiver.url, "", &["user.created".into()], true).unwrap(),
        )
        .await
        .unwrap();

    // The receiver refuses everything at first: deliveries pile up, retried every 100 ms+.
    receiver.answer_next(&[503; 100_000]);
    let settings = [
        ("ROSTER_WEBHOOK_POLL_INTERVAL_MS", "20"),
        ("ROSTER_WEBHOOK_RETRY_BASE_MS", "100"),
        ("ROSTER_WEBHOOK_RETRY_MAX_SECS", "1"),
        (
            "ROSTER_WEBHOOK_ALLOWED_NETWORKS",
            roster_testkit::LOCAL_RECEIVERS,
        ),
    ];
    let node = Node::start_with(dir.path(), &url, &settings).await;
    let client = roster_testkit::http_client();
    for i in 0..50 {
        let response = client
            .post(format!("http://127.0.0.1:{}/scim/v2/acme/Users", node.port))
            .bearer_auth(&token)
            .header("Content-Type", "application/scim+json")
            .body(okta_user(&format!("u{i}@acme.test")).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    receiver.wait_for(10, WAIT).await;
    node.kill().await;

    // Restart with a receiver that now accepts: every event arrives.
    let fresh = Receiver::start().await;
    let endpoints = services.webhooks().list(&access).await.unwrap();
    services
        .webhooks()
        .update(
            &access,
            endpoints[0].id,
            EndpointForm::parse(&fresh.url, "", &["user.created".into()], true).unwrap(),
        )
        .await
        .unwrap();
    let node = Node::start_with(dir.path(), &url, &settings).await;
    fresh.wait_for(50, Duration::from_secs(60)).await;
    let delivered: HashSet<String> = fresh
        .received()
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    let events: HashSet<String> = event::Entity::find()
        .filter(event::Column::EventType.eq("user.created"))
        .order_by_asc(event::Column::Id)
        .all(db.reader())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_id.to_string())
        .collect();
    assert_eq!(events.len(), 50);
    assert_eq!(delivered, events, "every event delivered after the crash");
    node.stop().await;
    db.close().await;
}
