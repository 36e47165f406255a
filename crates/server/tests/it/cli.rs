//! The operator's command line, run as a process against the test database (SQLite, or
//! PostgreSQL in the PostgreSQL pass): tenants, tokens, webhooks. Nodes are real `roster
//! serve` processes where a command's effect must show on the wire. Migration status,
//! backup and restore are in `cli_backup.rs`.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use roster_testkit::TestDatabase;
use serde_json::{Value, json};

use crate::binary::{Node, cli_tenant_with_token, roster};

/// Runs `roster <args>` on `url` and returns its output.
async fn run(dir: &Path, url: &str, args: &[&str]) -> Output {
    roster(dir)
        .env("ROSTER_DATABASE_URL", url)
        .env("ROSTER_PUBLIC_URL", "https://roster.example.com")
        .args(args)
        .output()
        .await
        .unwrap()
}

/// `run`, which must succeed; its stdout.
pub(crate) async fn ok(dir: &Path, url: &str, args: &[&str]) -> String {
    let output = run(dir, url, args).await;
    assert!(
        output.status.success(),
        "roster {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `run`, which must fail with one sentence on stderr; that sentence.
pub(crate) async fn refused(dir: &Path, url: &str, args: &[&str]) -> String {
    let output = run(dir, url, args).await;
    assert!(!output.status.success(), "roster {args:?} succeeded");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

pub(crate) async fn json_of(dir: &Path, url: &str, args: &[&str]) -> Value {
    let stdout = ok(dir, url, args).await;
    serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"))
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": [{ "value": user_name, "primary": true }],
        "active": true
    })
}

/// A SCIM client of one node.
pub(crate) struct Scim {
    pub(crate) base: String,
    pub(crate) token: String,
    pub(crate) client: reqwest::Client,
}

impl Scim {
    pub(crate) fn new(node: &Node, token: &str) -> Self {
        Self {
            base: format!("http://127.0.0.1:{}/scim/v2/acme", node.port),
            token: token.to_owned(),
            client: roster_testkit::http_client(),
        }
    }

    pub(crate) async fn create(&self, user_name: &str) -> String {
        let response = self
            .client
            .post(format!("{}/Users", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(user(user_name).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn status(&self) -> u16 {
        self.client
            .get(format!("{}/Users", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Waits (at most two seconds: nodes re-read tokens and tenants every 750 ms) until
    /// the endpoint answers `status`.
    pub(crate) async fn until(&self, status: u16) {
        let started = Instant::now();
        while self.status().await != status {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "never answered {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn user_names(&self) -> Vec<String> {
        let page: Value = self
            .client
            .get(format!("{}/Users?count=100", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut names: Vec<String> = page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

#[tokio::test]
async fn tenants_are_listed_shown_updated_suspended_and_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "acme").await;
    ok(
        dir.path(),
        &url,
        &["tenant", "create", "--slug", "globex", "--name", "Globex"],
    )
    .await;
    let node = Node::start(dir.path(), &url).await;
    let scim = Scim::new(&node, &token);
    scim.create("ada@acme.test").await;
    scim.create("grace@acme.test").await;

    let tenants = json_of(dir.path(), &url, &["tenant", "list", "--json"]).await;
    assert_eq!(tenants.as_array().unwrap().len(), 2);
    assert_eq!(tenants[0]["slug"], "acme");
    assert_eq!(tenants[0]["status"], "active");
    assert_eq!(tenants[0]["scim_rate_limit"], 0, "created unlimited");
    assert_eq!(tenants[1]["slug"], "globex");
    assert_eq!(tenants[1]["scim_rate_limit"], Value::Null, "the default");
    let table = ok(dir.path(), &url, &["tenant", "list"]).await;
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("SLUG"));
    assert!(lines.next().unwrap().starts_with("acme  "), "{table}");

    let details = json_of(dir.path(), &url, &["tenant", "show", "acme", "--json"]).await;
    assert_eq!(details["users"], 2);
    assert_eq!(details["active_users"], 2);
    assert_eq!(details["live_tokens"], 1);
    assert_eq!(details["pending_deliveries"], 0);
    let shown = ok(dir.path(), &url, &["tenant", "show", "acme"]).await;
    assert!(
        shown.contains("SCIM base URL:      https://roster.example.com/scim/v2/acme"),
        "{shown}"
    );
    assert!(
        shown.contains("users:              2 (2 active)"),
        "{shown}"
    );

    let updated = ok(
        dir.path(),
        &url,
        &[
            "tenant",
            "update",
            "acme",
            "--name",
            "Acme Corp",
            "--scim-rate-limit",
            "250",
        ],
    )
    .await;
    assert!(
        updated.contains("\"Acme Corp\", SCIM rate limit 250/s"),
        "{updated}"
    );
    let details = json_of(dir.path(), &url, &["tenant", "show", "acme", "--json"]).await;
    assert_eq!(details["name"], "Acme Corp");
    assert_eq!(details["scim_rate_limit"], 250);
    ok(
        dir.path(),
        &url,
        &["tenant", "update", "acme", "--scim-rate-limit", "default"],
    )
    .await;
    let details = json_of(dir.path(), &url, &["tenant", "show", "acme", "--json"]).await;
    assert_eq!(details["scim_rate_limit"], Value::Null);

    let stderr = refused(
        dir.path(),
        &url,
        &["tenant", "update", "acme", "--scim-rate-limit", "lots"],
    )
    .await;
    assert!(
        stderr.contains("--scim-rate-limit must be a number"),
        "{stderr}"
    );
    let stderr = refused(dir.path(), &url, &["tenant", "update", "acme"]).await;
    assert!(stderr.contains("nothing to change"), "{stderr}");
    let stderr = refused(dir.path(), &url, &["tenant", "show", "nope"]).await;
    assert!(
        stderr.contains("no tenant with the slug \"nope\""),
        "{stderr}"
    );
    let stderr = refused(
        dir.path(),
        &url,
        &["tenant", "update", "acme", "--name", " "],
    )
    .await;
    assert!(stderr.contains("name"), "{stderr}");

    // Suspension reaches the running node within a second, and so does resuming.
    let out = ok(dir.path(), &url, &["tenant", "suspend", "acme"]).await;
    assert!(out.starts_with("Suspended tenant acme"), "{out}");
    scim.until(403).await;
    let details = json_of(dir.path(), &url, &["tenant", "show", "acme", "--json"]).await;
    assert_eq!(details["status"], "suspended");
    ok(dir.path(), &url, &["tenant", "resume", "acme"]).await;
    scim.until(200).await;
    node.stop().await;
}

#[tokio::test]
async fn tokens_and_api_keys_are_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    let token = cli_tenant_with_token(dir.path(), &url, "acme").await;
    ok(
        dir.path(),
        &url,
        &[
            "api-key", "create", "--tenant", "acme", "--label", "Billing",
        ],
    )
    .await;
    let node = Node::start(dir.path(), &url).await;
    let scim = Scim::new(&node, &token);
    assert_eq!(scim.status().await, 200);

    let tokens = json_of(
        dir.path(),
        &url,
        &["token", "list", "--tenant", "acme", "--json"],
    )
    .await;
    let tokens = tokens.as_array().unwrap();
    assert_eq!(tokens.len(), 1, "API keys are listed apart");
    let prefix = tokens[0]["prefix"].as_str().unwrap();
    assert!(token.starts_with(prefix) && prefix.len() == 20, "{prefix}");
    assert_eq!(tokens[0]["status"], "live");
    assert_eq!(tokens[0]["label"], "load");
    assert!(
        !tokens[0].to_string().contains(&token[21..]),
        "never the secret"
    );
    let keys = json_of(
        dir.path(),
        &url,
        &["api-key", "list", "--tenant", "acme", "--json"],
    )
    .await;
    assert_eq!(keys[0]["label"], "Billing");
    assert!(keys[0]["prefix"].as_str().unwrap().starts_with("rak_"));
    let table = ok(dir.path(), &url, &["token", "list", "--tenant", "acme"]).await;
    assert!(table.contains(prefix) && table.contains("live"), "{table}");

    // A SCIM token is not an API key, nor another tenant's.
    let stderr = refused(
        dir.path(),
        &url,
        &["api-key", "revoke", "--tenant", "acme", prefix],
    )
    .await;
    assert!(stderr.contains("has no token"), "{stderr}");
    ok(
        dir.path(),
        &url,
        &["tenant", "create", "--slug", "globex", "--name", "Globex"],
    )
    .await;
    let stderr = refused(
        dir.path(),
        &url,
        &["token", "revoke", "--tenant", "globex", prefix],
    )
    .await;
    assert!(stderr.contains("has no token"), "{stderr}");

    let out = ok(
        dir.path(),
        &url,
        &["token", "revoke", "--tenant", "acme", prefix],
    )
    .await;
    assert!(out.starts_with(&format!("Revoked token {prefix}")), "{out}");
    scim.until(401).await;
    let tokens = json_of(
        dir.path(),
        &url,
        &["token", "list", "--tenant", "acme", "--json"],
    )
    .await;
    assert_eq!(tokens[0]["status"], "revoked");
    assert!(tokens[0]["revoked_at"].is_string());
    // By id too; revoking twice changes nothing.
    let id = tokens[0]["id"].as_str().unwrap().to_owned();
    ok(
        dir.path(),
        &url,
        &["token", "revoke", "--tenant", "acme", &id],
    )
    .await;
    node.stop().await;
}

#[tokio::test]
async fn webhook_endpoints_are_listed_and_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDatabase::new().await;
    let url = test_db.url().to_owned();
    cli_tenant_with_token(dir.path(), &url, "acme").await;
    let empty = ok(dir.path(), &url, &["webhook", "list", "--tenant", "acme"]).await;
    assert!(empty.contains("no webhook endpoints"), "{empty}");
    ok(
        dir.path(),
        &url,
        &[
            "webhook",
            "create",
            "--tenant",
            "acme",
            "--url",
            "https://hooks.example.com/roster",
            "--events",
            "user.created,user.deleted",
        ],
    )
    .await;
    let endpoints = json_of(
        dir.path(),
        &url,
        &["webhook", "list", "--tenant", "acme", "--json"],
    )
    .await;
    assert_eq!(endpoints.as_array().unwrap().len(), 1);
    let endpoint = &endpoints[0];
    assert_eq!(endpoint["url"], "https://hooks.example.com/roster");
    assert_eq!(endpoint["enabled"], true);
    assert_eq!(
        endpoint["event_types"],
        json!(["user.created", "user.deleted"])
    );
    assert_eq!(endpoint["pending"], 0);
    assert!(!endpoint.to_string().contains("whsec_"), "never the secret");
    let id = endpoint["id"].as_str().unwrap().to_owned();

    let out = ok(
        dir.path(),
        &url,
        &["webhook", "disable", "--tenant", "acme", &id],
    )
    .await;
    assert!(
        out.starts_with(&format!("Disabled webhook endpoint {id}")),
        "{out}"
    );
    let endpoints = json_of(
        dir.path(),
        &url,
        &["webhook", "list", "--tenant", "acme", "--json"],
    )
    .await;
    assert_eq!(endpoints[0]["enabled"], false);
    let table = ok(dir.path(), &url, &["webhook", "list", "--tenant", "acme"]).await;
    assert!(table.contains("disabled"), "{table}");
    ok(
        dir.path(),
        &url,
        &["webhook", "enable", "--tenant", "acme", &id],
    )
    .await;
    let endpoints = json_of(
        dir.path(),
        &url,
        &["webhook", "list", "--tenant", "acme", "--json"],
    )
    .await;
    assert_eq!(endpoints[0]["enabled"], true);

    let stderr = refused(
        dir.path(),
        &url,
        &["webhook", "disable", "--tenant", "acme", "nope"],
    )
    .await;
    assert!(stderr.contains("UUID"), "{stderr}");
    ok(
        dir.path(),
        &url,
        &["tenant", "create", "--slug", "globex", "--name", "Globex"],
    )
    .await;
    let stderr = refused(
        dir.path(),
        &url,
        &["webhook", "disable", "--tenant", "globex", &id],
    )
    .await;
    assert!(
        stderr.contains("has no webhook endpoint"),
        "another tenant's endpoint: {stderr}"
    );
}
