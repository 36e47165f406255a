//! The service's metrics as an on-call engineer reads them: each counter and gauge moving
//! when its event happens, and tenant labels only when the operator asks for them.

use std::sync::Arc;
use std::time::Duration;

use roster_core::delivery::{DeliverySettings, DeliveryWorker, EgressPolicy, EndpointForm};
use roster_testkit::{LOCAL_RECEIVERS, Receiver, TestApp};

use crate::scim::support::{Scim, okta_user};

/// The value of the series `name{labels}` in an exposition, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_metrics_move_when_their_events_happen() {
    let receiver = Receiver::start().await;
    let app = Arc::new(TestApp::builder().allow_local_receivers().spawn().await);
    let scim = Scim::on(app.clone(), "acme").await;

    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            &format!(
                "roster_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        Some(1.0)
    );
    for present in [
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_cpu_seconds_total ",
        "roster_db_write_queue_depth ",
        "roster_outbox_unsequenced_events 0",
        "roster_outbox_lag_seconds 0",
        "roster_webhook_deliveries{status=\"pending\"} 0",
    ] {
        assert!(text.contains(present), "{present} missing:\n{text}");
    }
    let pools: &[&str] = match app.database.backend() {
        roster_core::Backend::Sqlite => &["write", "read"],
        roster_core::Backend::Postgres => &["main"],
    };
    for pool in pools {
        let max = sample(
            &text,
            &format!("roster_db_pool_connections{{pool=\"{pool}\",state=\"max\"}}"),
        );
        assert!(max.is_some_and(|max| max >= 1.0), "{pool}:\n{text}");
    }

    // SCIM outcomes by operation, status and scimType; token checks.
    assert_eq!(
        scim.post("/Users", okta_user("ada@acme.test")).await.status,
        201
    );
    assert_eq!(
        scim.post("/Users", okta_user("ada@acme.test")).await.status,
        409
    );
    assert_eq!(scim.get("/Users?filter=userName%20eq").await.status, 400);
    let text = scrape(&app).await;
    let scim_requests = |operation: &str, resource: &str, status: u16, scim_type: &str| {
        sample(
            &text,
            &format!(
                "roster_scim_requests_total{{operation=\"{operation}\",resource=\"{resource}\",scim_type=\"{scim_type}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(
        scim_requests("create", "users", 201, ""),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        scim_requests("create", "users", 409, "uniqueness"),
        Some(1.0)
    );
    assert_eq!(
        scim_requests("list", "users", 400, "invalidFilter"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "roster_token_checks_total{kind=\"scim\",result=\"miss\"}"
        ),
        Some(1.0),
        "argon2 once"
    );
    assert!(
        sample(
            &text,
            "roster_token_checks_total{kind=\"scim\",result=\"hit\"}"
        )
        .is_some_and(|hits| hits >= 1.0)
    );
    if app.database.backend() == roster_core::Backend::Sqlite {
        assert!(
            sample(&text, "roster_db_group_commit_batch_size_count").is_some_and(|n| n >= 1.0),
            "{text}"
        );
    }

    // 429s.
    app.services
        .operations()
        .update_tenant(
            "acme",
            roster_core::operations::TenantUpdate {
                scim_rate_limit: Some(Some(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(roster_core::token_auth::REVALIDATE_AFTER).await;
    let mut limited = false;
    for _ in 0..30 {
        if scim.get("/Users").await.status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited);
    let text = scrape(&app).await;
    assert!(
        sample(&text, "roster_rate_limited_total{surface=\"scim\"}").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(text.contains("status=\"429\""));

    // The outbox: events not yet numbered, then the deliveries they make.
    let access = app
        .services
        .memberships()
        .command_line_access("acme")
        .await
        .unwrap()
        .unwrap();
    app.services
        .webhooks()
        .create(
            &access,
            EndpointForm::parse(&receiver.url, "", &[], true).unwrap(),
        )
        .await
        .unwrap();
    // The database gauges are read at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let text = scrape(&app).await;
    assert!(
        sample(&text, "roster_outbox_unsequenced_events").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(sample(&text, "roster_outbox_lag_seconds").is_some_and(|lag| lag > 0.0));

    // A worker of this node (its counters are the node's), giving up at the first
    // failure, with the receiver failing once.
    let worker = DeliveryWorker::new(
        app.services.db().clone(),
        DeliverySettings {
            give_up_after: Duration::ZERO,
            ..DeliverySettings::default()
        },
        Arc::new(EgressPolicy::parse(LOCAL_RECEIVERS).unwrap()),
        app.services.config().keyring.clone(),
        app.services.metrics().clone(),
    );
    receiver.answer_next(&[503]);
    worker.round().await.unwrap();
    tokio::time::sleep(roster_core::token_auth::REVALIDATE_AFTER).await;
    let _ = scim.post("/Users", okta_user("grace@acme.test")).await;
    worker.round().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "roster_outbox_unsequenced_events"), Some(0.0));
    assert_eq!(
        sample(&text, "roster_webhook_attempts_total{outcome=\"failed\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "roster_webhook_attempts_total{outcome=\"delivered\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "roster_webhook_attempt_duration_seconds_count{outcome=\"failed\"}"
        ) == Some(1.0)
    );
    assert_eq!(
        sample(&text, "roster_webhook_deliveries{status=\"failed\"}"),
        Some(1.0)
    );
    // Nothing personal or unbounded in any label.
    assert!(!text.contains("ada@acme.test"));
    assert!(
        !text.contains("tenant=\""),
        "no tenant label unless asked for"
    );
}

#[tokio::test]
async fn tenant_labels_appear_only_when_the_operator_asks() {
    let app = Arc::new(TestApp::builder().tenant_metrics().spawn().await);
    let scim = Scim::on(app.clone(), "acme").await;
    assert_eq!(
        scim.post("/Users", okta_user("ada@acme.test")).await.status,
        201
    );
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "roster_scim_requests_total{operation=\"create\",resource=\"users\",scim_type=\"\",status=\"201\",tenant=\"acme\"}"
        ),
        Some(1.0),
        "{text}"
    );
}
