//! Several nodes on one database, and a crash in the middle of a load.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use roster_core::admins::{AdminEmail, NewPassword, Role};
use roster_core::paging::PageSize;
use roster_entity::{event, provisioning_log};
use roster_testkit::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::SecretString;

use super::support::{Scim, okta_user};
use crate::binary::{Node, cli_tenant_with_token};

#[tokio::test]
async fn two_nodes_share_users_and_token_revocation() {
    let a = Scim::new().await;
    let b_app = TestApp::builder()
        .database(a.app.database.handle())
        .spawn()
        .await;
    let b = Scim {
        base: a.base.replace(&a.app.address, &b_app.address),
        token: a.token.clone(),
        slug: a.slug.clone(),
        app: Arc::new(b_app),
    };

    // A user created through A is read through B.
    let id = a.create_user("ada@acme.test").await;
    let through_b = b.get(&format!("/Users/{id}")).await;
    assert_eq!(through_b.status, 200, "{through_b:?}");
    assert_eq!(through_b.body["userName"], "ada@acme.test");
    // B's token cache is warm.
    assert_eq!(b.get("/Users").await.status, 200);

    // Revoke the token through A's services.
    let services = &a.app.services;
    let operator = services
        .admins()
        .create(
            AdminEmail::parse("op@roster.test").unwrap(),
            NewPassword::parse(SecretString::from("a long operator password")).unwrap(),
            Role::Operator,
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
    let tokens = services
        .tokens()
        .list(&access, None, PageSize::DEFAULT)
        .await
        .unwrap();
    services
        .tokens()
        .revoke(&access, tokens.items[0].id)
        .await
        .unwrap();

    // Any request B receives a second after the revocation is refused (B re-reads a
    // cached token at least every 750 ms).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let refused = b.get("/Users").await;
    refused.assert_error(401, None);
    assert_eq!(
        refused.body["detail"],
        "this token has been revoked; create a new one in Roster and paste it into Okta"
    );
}

#[tokio::test]
async fn kill_9_during_a_create_load_loses_no_acknowledged_user() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = roster_testkit::TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "crash").await;

    let node = Node::start(dir.path(), &url).await;
    let base = format!("http://127.0.0.1:{}/scim/v2/crash", node.port);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let client = roster_testkit::http_client();
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (client, base, token, acknowledged) = (
            client.clone(),
            base.clone(),
            token.clone(),
            acknowledged.clone(),
        );
        workers.push(tokio::spawn(async move {
            for i in 0.. {
                let body = okta_user(&format!("w{worker}-{i}@crash.test"));
                let Ok(response) = client
                    .post(format!("{base}/Users"))
                    .bearer_auth(&token)
                    .header("Content-Type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                else {
                    return;
                };
                if response.status() != 201 {
                    return;
                }
                let Ok(json) = response.json::<serde_json::Value>().await else {
                    return;
                };
                acknowledged
                    .lock()
                    .unwrap()
                    .push(json["id"].as_str().unwrap().to_owned());
            }
        }));
    }
    // Let the load run, then pull the plug while requests are in flight.
    while acknowledged.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill().await;
    for worker in workers {
        let _ = worker.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 200);

    // After a restart, every user whose POST was answered 201 is there, with its log
    // row and its event.
    let node = Node::start(dir.path(), &url).await;
    let base = format!("http://127.0.0.1:{}/scim/v2/crash", node.port);
    for id in &acknowledged {
        let response = client
            .get(format!("{base}/Users/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "user {id} was acknowledged but is gone"
        );
    }
    let db = test_db.connect().await;
    for id in &acknowledged {
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        let events = event::Entity::find()
            .filter(event::Column::ResourceId.eq(uuid))
            .filter(event::Column::EventType.eq("user.created"))
            .count(db.reader())
            .await
            .unwrap();
        assert_eq!(events, 1, "event of {id}");
        let logged = provisioning_log::Entity::find()
            .filter(provisioning_log::Column::ResourceId.eq(id.as_str()))
            .filter(provisioning_log::Column::Operation.eq("user.create"))
            .filter(provisioning_log::Column::Outcome.eq("success"))
            .count(db.reader())
            .await
            .unwrap();
        assert_eq!(logged, 1, "log row of {id}");
    }
    node.stop().await;
}
