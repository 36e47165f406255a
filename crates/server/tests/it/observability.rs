//! What an on-call engineer reads: the per-request log line and the webhook warning (from
//! real `roster` processes, in JSON and text), the probes (`HEAD`, readiness while
//! draining), and sign-in behind the wrong address. The metrics are in
//! `observability_metrics.rs`.

use std::time::Duration;

use reqwest::Method;
use roster_testkit::{LOCAL_RECEIVERS, Receiver, TestDatabase};
use serde_json::{Value, json};

use crate::binary::{Node, cli_tenant_with_token, roster};

/// A user whose every attribute is personal data the logs must not hold.
fn personal_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada.lovelace@example.com",
        "name": { "givenName": "Augusta", "familyName": "Lovelace" },
        "emails": [
            { "value": "ada.lovelace@example.com", "type": "work", "primary": true },
            { "value": "ada.private@example.org", "type": "home" }
        ],
        "phoneNumbers": [{ "value": "+44 20 7946 0018" }],
        "active": true
    })
}

/// The phone number is looked for whole: four digits alone turn up by chance in
/// timestamps, ports and durations.
const PERSONAL: [&str; 5] = [
    "ada.lovelace",
    "ada.private",
    "Augusta",
    "Lovelace",
    "7946 0018",
];

/// The JSON lines of a node's stderr.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_request_leaves_one_json_line_that_names_it_and_nothing_personal() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let token = cli_tenant_with_token(dir.path(), test_db.url(), "acme").await;
    let node = Node::start(dir.path(), test_db.url()).await;
    let base = format!("http://127.0.0.1:{}", node.port);
    let client = roster_testkit::http_client();
    let scim = |method: Method, path: &str| {
        client
            .request(method, format!("{base}/scim/v2/acme{path}"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
    };

    let created = scim(Method::POST, "/Users")
        .body(personal_user().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let create_id = request_id(&created);
    let user: Value = created.json().await.unwrap();
    let user_id = user["id"].as_str().unwrap().to_owned();

    let filtered = scim(
        Method::GET,
        "/Users?filter=emails.value%20eq%20%22ada.private%40example.org%22",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(filtered.status(), 200);
    let filter_id = request_id(&filtered);

    let patched = scim(Method::PATCH, &format!("/Users/{user_id}"))
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "name.familyName", "value": "Lovelace-King" }]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let patch_id = request_id(&patched);

    let duplicate = scim(Method::POST, "/Users")
        .body(personal_user().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 409);
    let duplicate_id = request_id(&duplicate);

    let anonymous = client
        .get(format!(
            "{base}/scim/v2/acme/Users?filter=userName%20eq%20%22ada.lovelace%40example.com%22"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let anonymous_id = request_id(&anonymous);

    let (_, stderr) = node.stop().await;
    let lines = json_lines(&stderr);
    let answered = |id: &str| -> Value {
        let found: Vec<&Value> = lines
            .iter()
            .filter(|line| line["message"] == "request answered" && line["request.id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "one line for request {id}: {stderr}");
        found[0].clone()
    };

    let line = answered(&create_id);
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["http.method"], "POST");
    assert_eq!(line["http.route"], "/scim/v2/{tenant}/Users");
    assert_eq!(line["http.status_code"], 201);
    assert!(line["latency_ms"].as_f64().unwrap() > 0.0, "{line}");
    assert_eq!(line["tenant"], "acme");
    let prefix = line["token"].as_str().unwrap();
    assert!(
        prefix.starts_with("rst_") && prefix.len() == 20 && token.starts_with(prefix),
        "the token's public prefix, not its secret: {prefix}"
    );
    assert!(line["timestamp"].is_string());

    let line = answered(&filter_id);
    assert_eq!(line["http.route"], "/scim/v2/{tenant}/Users");
    assert_eq!(line["http.status_code"], 200);
    let line = answered(&patch_id);
    assert_eq!(line["http.method"], "PATCH");
    assert_eq!(line["http.route"], "/scim/v2/{tenant}/Users/{id}");
    assert_eq!(answered(&duplicate_id)["http.status_code"], 409);
    let line = answered(&anonymous_id);
    assert_eq!(line["http.status_code"], 401);
    assert_eq!(line["tenant"], "", "no tenant is proven without a token");

    // Nothing personal, no raw path, no query string, no secret, anywhere in the logs.
    for needle in
        PERSONAL
            .iter()
            .copied()
            .chain([user_id.as_str(), "filter", "emails.value", &token[20..]])
    {
        assert!(
            !stderr.contains(needle),
            "{needle:?} reached the logs:\n{stderr}"
        );
    }
}

/// Starts `roster serve` with text logs on a free port; returns it with the port.
async fn text_node(dir: &std::path::Path, database_url: &str) -> (tokio::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = roster(dir)
        .env("ROSTER_DATABASE_URL", database_url)
        .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("ROSTER_LOG_FORMAT", "text")
        .arg("serve")
        .spawn()
        .unwrap();
    let client = roster_testkit::http_client();
    for _ in 0..300 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return (child, port);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the text-logging node did not start");
}

#[tokio::test]
async fn text_logs_carry_the_same_line() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let token = cli_tenant_with_token(dir.path(), test_db.url(), "acme").await;
    let (child, port) = text_node(dir.path(), test_db.url()).await;
    let created = roster_testkit::http_client()
        .post(format!("http://127.0.0.1:{port}/scim/v2/acme/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(personal_user().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = request_id(&created);
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|line| line.contains("request answered") && line.contains(&id))
        .unwrap_or_else(|| panic!("no line for {id}:\n{stderr}"));
    assert!(line.contains(" INFO "), "{line}");
    for field in [
        "http.route=/scim/v2/{tenant}/Users",
        "http.status_code=201",
        "tenant=acme",
        "token=rst_",
        "latency_ms=",
        "POST",
    ] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
    for needle in PERSONAL {
        assert!(
            !stderr.contains(needle),
            "{needle:?} reached the logs:\n{stderr}"
        );
    }
}

#[tokio::test]
async fn a_delivery_that_fails_for_good_is_logged_with_tenant_event_type_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "acme").await;
    let receiver = Receiver::start().await;
    receiver.answer_next(&[503]);
    let created = roster(dir.path())
        .env("ROSTER_DATABASE_URL", &url)
        .env("ROSTER_WEBHOOK_ALLOWED_NETWORKS", LOCAL_RECEIVERS)
        .args([
            "webhook",
            "create",
            "--tenant",
            "acme",
            "--url",
            &receiver.url,
        ])
        .output()
        .await
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    // Giving up after 0 hours: the first failure is the last.
    let node = Node::start_with(
        dir.path(),
        &url,
        &[
            ("ROSTER_WEBHOOK_ALLOWED_NETWORKS", LOCAL_RECEIVERS),
            ("ROSTER_WEBHOOK_POLL_INTERVAL_MS", "20"),
            ("ROSTER_WEBHOOK_GIVE_UP_HOURS", "0"),
        ],
    )
    .await;
    let response = roster_testkit::http_client()
        .post(format!("http://127.0.0.1:{}/scim/v2/acme/Users", node.port))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(personal_user().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    receiver.wait_for(1, Duration::from_secs(20)).await;
    let db = test_db.connect().await;
    for _ in 0..200 {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let failed = roster_entity::webhook_delivery::Entity::find()
            .filter(roster_entity::webhook_delivery::Column::Status.eq("failed"))
            .count(db.reader())
            .await
            .unwrap();
        if failed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    db.close().await;
    let (_, stderr) = node.stop().await;
    let warning = json_lines(&stderr)
        .into_iter()
        .find(|line| {
            line["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("webhook delivery failed for good"))
        })
        .unwrap_or_else(|| panic!("no warning:\n{stderr}"));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["tenant"], "acme");
    assert_eq!(warning["event_type"], "user.created");
    assert_eq!(warning["reason"], "the endpoint answered 503");
    assert_eq!(warning["status_code"], 503);
    assert_eq!(warning["attempts"], 1);
    for needle in PERSONAL {
        assert!(
            !stderr.contains(needle),
            "{needle:?} reached the logs:\n{stderr}"
        );
    }
}

#[tokio::test]
async fn probes_answer_head_and_refuse_other_methods() {
    let app = roster_testkit::spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert!(head.headers().contains_key("x-request-id"));
        assert_eq!(head.text().await.unwrap(), "", "no body for HEAD");
        let post = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(post.status(), 405, "POST {path}");
        assert_eq!(post.headers()["allow"], "GET, HEAD");
    }
    let trace = app
        .client
        .request(Method::TRACE, app.url("/api/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(trace.status(), 405);
    // `/users` reads (GET) and seeds the product's users (POST).
    assert_eq!(trace.headers()["allow"], "GET, POST");
}

#[tokio::test]
async fn readiness_turns_503_at_sigterm_before_the_listener_closes() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let node = Node::start_with(
        dir.path(),
        test_db.url(),
        &[("ROSTER_SHUTDOWN_DRAIN_SECS", "2")],
    )
    .await;
    let client = roster_testkit::http_client();
    let base = format!("http://127.0.0.1:{}", node.port);
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    node.terminate();
    let mut draining = None;
    for _ in 0..100 {
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        if ready.status() == 503 {
            draining = Some(ready.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let draining = draining.expect("readiness turned 503 while the node still listened");
    assert_eq!(draining["reason"], "shutting down");
    // Still alive and serving meanwhile.
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (_, stderr) = node.stop().await;
    assert!(
        stderr.contains("load balancers drain this node"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_sign_in_from_another_address_says_which_address_to_use() {
    let app = roster_testkit::spawn_app().await;
    let public = app.address.clone();
    let other = format!("http://localhost:{}", app.port);
    let form = [("email", "admin@localhost"), ("password", "whatever it is")];
    let response = app
        .client
        .post(app.url("/admin/login"))
        .header("origin", &other)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&form))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "This page was opened at {other}, but Roster&#39;s public URL is {public}"
        )),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"{public}/admin\"")), "{html}");

    // Without any origin it stays the plain refusal.
    let response = app
        .client
        .post(app.url("/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&form))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(!response.text().await.unwrap().contains("was opened at"));

    // A GET under another host name goes to the public URL first.
    let response = app
        .client
        .get(app.url("/admin/login?next=%2Fadmin"))
        .header("host", format!("localhost:{}", app.port))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(
        response.headers()["location"],
        format!("{public}/admin/login?next=%2Fadmin").as_str()
    );
    let marker = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(marker.starts_with("roster_redirected=1"), "{marker}");
    // Under its own name it is served; right after a redirect too (a proxy that rewrites
    // Host must not send the browser round in circles).
    let own = app
        .client
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let again = app
        .client
        .get(app.url("/admin/login"))
        .header("host", format!("localhost:{}", app.port))
        .header("cookie", "roster_redirected=1")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    // Only admin pages: SCIM and the probes answer under any name.
    let probe = app
        .client
        .get(app.url("/healthz"))
        .header("host", "internal-lb.local")
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 200);
}

#[tokio::test]
async fn the_wrong_origin_is_logged_with_both_origins() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let node = Node::start(dir.path(), test_db.url()).await;
    let other = format!("http://localhost:{}", node.port);
    let response = roster_testkit::http_client()
        .post(format!("http://127.0.0.1:{}/admin/login", node.port))
        .header("origin", &other)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("email", "ada.lovelace@example.com"),
            ("password", "x"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let (_, stderr) = node.stop().await;
    let warning = json_lines(&stderr)
        .into_iter()
        .find(|line| line["received_origin"].is_string())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(warning["received_origin"], other);
    // The node's public URL: here the default, `http://<listen>`.
    assert!(
        warning["expected_origin"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{warning}"
    );
    assert!(!stderr.contains("ada.lovelace"));
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        body.append_pair(name, value);
    }
    body.finish()
}
