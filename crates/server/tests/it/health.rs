use roster_testkit::spawn_app;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;

    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let request_id = health
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    assert_eq!(
        health.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    let second = app.get("/healthz").await;
    assert_ne!(
        second
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap(),
        request_id
    );

    let missing = app
        .get("/no/such/page?filter=userName%20eq%20%22ada%40x.test%22")
        .await;
    assert_eq!(missing.status(), 404);

    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"roster_http_requests_total{method="GET",route="/healthz",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"roster_http_request_duration_seconds_bucket{method="GET",route="/readyz",status="200""#
    ));
    // Unmatched paths are counted under one label: no user data, bounded cardinality.
    assert!(text.contains(r#"route="unmatched",status="404""#));
    assert!(!text.contains("ada"));
}

#[tokio::test]
async fn readiness_fails_when_migrations_are_pending() {
    use roster_migration::{Migrator, MigratorTrait};
    let app = spawn_app().await;
    Migrator::down(app.services.db().writer(), Some(1))
        .await
        .unwrap();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["reason"], "1 migration(s) pending");
}
