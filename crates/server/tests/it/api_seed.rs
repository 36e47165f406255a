//! Issue 14, item 5: the product seeds the users it already had through the directory
//! API; Okta's `userName eq` lookup finds them, its create does what the tenant's
//! existing-user setting says, and every event carries the product's reference. Write
//! scope, bounds, all-or-nothing batches and tenant isolation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use roster_core::delivery::DeliverySettings;
use roster_core::rules::{ExistingUser, ProvisioningSettings};
use roster_core::tokens::ApiScope;
use roster_entity::{event, provisioning_log, user};
use roster_testkit::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::api::new_api_key;
use crate::rules::support::access;
use crate::scim::support::{Scim, encode, okta_user};

/// An API client with one key of one tenant.
pub(crate) struct Key {
    app: Arc<TestApp>,
    key: String,
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub allow: Option<String>,
    pub body: Value,
}

impl Key {
    pub(crate) async fn new(app: &Arc<TestApp>, slug: &str, scope: ApiScope) -> Self {
        let created = new_api_key(app, slug, "seed job", scope).await;
        assert_eq!(created.info.api_scope, scope);
        Self {
            app: app.clone(),
            key: created.token.expose_secret().to_owned(),
        }
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        content_type: &str,
    ) -> Reply {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(path))
            .header("Authorization", format!("Bearer {}", self.key));
        if let Some(body) = body {
            request = request.header("Content-Type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let allow = response
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Reply {
            status,
            allow,
            body,
        }
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(
            reqwest::Method::POST,
            path,
            Some(body.to_string()),
            "application/json",
        )
        .await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None, "").await
    }
}

fn ada() -> Value {
    json!({
        "userName": "ada@acme.test",
        "emails": ["ada@acme.test"],
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "productRef": "prod-ada",
    })
}

/// The tenant's events, oldest first: (type, data).
async fn events(app: &TestApp, tenant: uuid::Uuid) -> Vec<(String, Value)> {
    event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant))
        .order_by_asc(event::Column::Id)
        .all(app.services.db().reader())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event_type, serde_json::from_str(&e.payload).unwrap()))
        .collect()
}

async fn user_count(app: &TestApp, tenant: uuid::Uuid) -> u64 {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant))
        .count(app.services.db().reader())
        .await
        .unwrap()
}

async fn okta_lookup(scim: &Scim, user_name: &str) -> Value {
    let filter = encode(&format!("userName eq \"{user_name}\""));
    let answer = scim
        .get(&format!("/Users?filter={filter}&startIndex=1&count=100"))
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body
}

async fn sequencing_scim() -> Scim {
    let app = TestApp::builder()
        .delivery(DeliverySettings {
            poll_interval: Duration::from_millis(20),
            ..Default::default()
        })
        .spawn()
        .await;
    Scim::on(Arc::new(app), "acme").await
}

#[tokio::test]
async fn a_seeded_user_is_found_by_okta_and_its_create_follows_the_existing_user_setting() {
    let scim = sequencing_scim().await;
    let app = scim.app.clone();
    let tenant = scim.tenant_id().await;
    let writer = Key::new(&app, "acme", ApiScope::Write).await;

    // The product seeds Ada: created, with its reference.
    let reply = writer.post("/api/v1/users", ada()).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["outcome"], "created");
    let id = reply.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.body["user"]["productRef"], "prod-ada");
    assert_eq!(reply.body["user"]["name"]["givenName"], "Ada");
    assert_eq!(reply.body["user"]["primaryEmail"], "ada@acme.test");
    // Re-running the seed changes nothing.
    let again = writer.post("/api/v1/users", ada()).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["outcome"], "unchanged");
    assert_eq!(again.body["user"]["id"], id.as_str());
    assert_eq!(again.body["user"]["version"], 1);
    // Written like a SCIM create: its log row and one event.
    let log = provisioning_log::Entity::find()
        .filter(provisioning_log::Column::TenantId.eq(tenant))
        .filter(provisioning_log::Column::Operation.eq("user.seed"))
        .all(app.services.db().reader())
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].resource_id.as_deref(), Some(id.as_str()));
    assert_eq!(log[0].status, 201);

    // Okta's lookup finds the seeded user (case-insensitively, like any userName).
    let found = okta_lookup(&scim, "ADA@acme.test").await;
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    assert_eq!(found["Resources"][0]["name"]["familyName"], "Lovelace");

    // With the default setting, Okta's create for that userName is a conflict.
    let answer = scim.post("/Users", okta_user("ada@acme.test")).await;
    answer.assert_error(409, Some("uniqueness"));

    // With "override", the seeded user takes Okta's profile: 201, same id.
    let (_, acme) = access(&app, "acme").await;
    app.services
        .rules()
        .update_settings(
            &acme,
            ProvisioningSettings {
                existing_user: ExistingUser::Override,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut pushed = okta_user("ada@acme.test");
    pushed["displayName"] = json!("Ada King");
    let answer = scim.post("/Users", pushed).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["id"], id.as_str());
    assert_eq!(answer.body["displayName"], "Ada King");

    // Every event about the user carries the product's reference.
    let events = events(&app, tenant).await;
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["user.created", "user.updated"]);
    for (_, data) in &events {
        assert_eq!(data["user"]["id"], id.as_str());
        assert_eq!(data["user"]["productRef"], "prod-ada", "{data}");
    }
    assert_eq!(events[1].1["user"]["displayName"], "Ada King");

    // And so do the directory and the events feed.
    let listed = writer.get("/api/v1/users?productRef=prod-ada").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["users"][0]["id"], id.as_str());
    assert_eq!(listed.body["users"][0]["displayName"], "Ada King");
    let started = Instant::now();
    let feed = loop {
        let feed = writer.get("/api/v1/events?types=user.updated").await;
        if feed.body["events"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
        {
            break feed;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{feed:?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert_eq!(
        feed.body["events"][0]["data"]["user"]["productRef"],
        "prod-ada"
    );
}

#[tokio::test]
async fn a_seed_links_an_existing_user_and_refuses_conflicting_references() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let tenant = scim.tenant_id().await;
    let writer = Key::new(&app, "acme", ApiScope::Write).await;

    // Okta created Bob before the product seeded him: the seed links, the profile stays.
    let bob = scim.create_user("bob@acme.test").await;
    let seed = json!({"userName": "Bob@Acme.test", "name": {"givenName": "Robert"}, "productRef": "prod-bob"});
    let reply = writer.post("/api/v1/users", seed).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["outcome"], "linked");
    assert_eq!(reply.body["user"]["id"], bob.as_str());
    assert_eq!(reply.body["user"]["productRef"], "prod-bob");
    assert_eq!(
        reply.body["user"]["name"]["givenName"], "Ada",
        "Okta's profile is kept"
    );
    let (kind, data) = events(&app, tenant).await.pop().unwrap();
    assert_eq!(kind, "user.updated");
    assert_eq!(data["user"]["productRef"], "prod-bob");

    // Another reference for Bob, or Bob's reference for someone else: 409, nothing written.
    let reply = writer
        .post(
            "/api/v1/users",
            json!({"userName": "bob@acme.test", "productRef": "prod-other"}),
        )
        .await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.body["error"], "conflict");
    assert_eq!(reply.body["errors"][0]["field"], "productRef");
    assert!(
        reply.body["message"].as_str().unwrap().contains("prod-bob"),
        "{reply:?}"
    );
    let reply = writer
        .post(
            "/api/v1/users",
            json!({"userName": "carol@acme.test", "productRef": "prod-bob"}),
        )
        .await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("already belongs to the user \"bob@acme.test\""),
        "{reply:?}"
    );
    assert_eq!(user_count(&app, tenant).await, 1);

    // A batch: all or nothing, every error at once; then all of it, in chunks.
    let mut users: Vec<Value> = (0..120)
        .map(|i| json!({"userName": format!("u{i}@acme.test"), "emails": [format!("u{i}@acme.test")], "productRef": format!("p{i}")}))
        .collect();
    users.push(json!({"userName": "U7@acme.test", "productRef": "p-dup"}));
    users.push(json!({"userName": "x@acme.test", "emails": ["not an address"]}));
    let reply = writer
        .post("/api/v1/users/batch", json!({ "users": users }))
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(reply.body["errors"][0]["index"], 121);
    assert_eq!(reply.body["errors"][0]["field"], "emails");
    users.pop();
    let reply = writer
        .post("/api/v1/users/batch", json!({ "users": users }))
        .await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.body["errors"][0]["index"], 120);
    assert_eq!(reply.body["errors"][0]["sameAs"], 7);
    assert_eq!(user_count(&app, tenant).await, 1, "nothing half-written");
    users.pop();
    let reply = writer
        .post("/api/v1/users/batch", json!({ "users": users }))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["created"], 120);
    assert_eq!(reply.body["results"][119]["outcome"], "created");
    assert_eq!(user_count(&app, tenant).await, 121);
    let reply = writer
        .post("/api/v1/users/batch", json!({ "users": users }))
        .await;
    assert_eq!(reply.body["unchanged"], 120, "{reply:?}");
    assert_eq!(
        okta_lookup(&scim, "u119@acme.test").await["totalResults"],
        1
    );
}

#[tokio::test]
async fn only_write_keys_seed_inputs_are_bounded_and_a_key_seeds_its_own_tenant_only() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let tenant = scim.tenant_id().await;
    let reader = Key::new(&app, "acme", ApiScope::Read).await;
    let writer = Key::new(&app, "acme", ApiScope::Write).await;

    // A read key reads, and never writes.
    assert_eq!(reader.get("/api/v1/users").await.status, 200);
    for path in ["/api/v1/users", "/api/v1/users/batch"] {
        let body = if path.ends_with("batch") {
            json!({"users": [ada()]})
        } else {
            ada()
        };
        let reply = reader.post(path, body).await;
        assert_eq!(reply.status, 403, "{reply:?}");
        assert_eq!(reply.body["error"], "insufficient_scope");
    }
    assert_eq!(user_count(&app, tenant).await, 0);

    // Bad input: a clear 4xx naming the problem, never a 500, nothing written.
    let cases = [
        (json!({"emails": ["a@acme.test"]}), "userName"),
        (json!({"userName": "a", "externalId": "x"}), "externalId"),
        (
            json!({"userName": "a", "emails": ["nope"]}),
            "not an email address",
        ),
        (
            json!({"userName": "a", "productRef": "x".repeat(256)}),
            "at most 255",
        ),
        (json!({"userName": "a\u{0}b"}), "control characters"),
        (
            json!({"userName": "x".repeat(257)}),
            "at most 256 characters",
        ),
        (json!({"userName": " "}), "blank"),
        (
            json!({"userName": "a", "emails": [""]}),
            "not an email address",
        ),
        (
            json!({"userName": "a", "emails": (0..11).map(|i| format!("a{i}@acme.test")).collect::<Vec<_>>()}),
            "at most 10",
        ),
        (json!(["ada"]), "must be a JSON object"),
        (
            json!({"userName": "a", "name": [null, null]}),
            "must be an object",
        ),
        (
            json!({"userName": "a", "name": {"givenName": 7}}),
            "invalid type",
        ),
    ];
    for (body, says) in cases {
        let reply = writer.post("/api/v1/users", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert_eq!(reply.body["error"], "invalid_request");
        assert!(
            reply.body["message"].as_str().unwrap().contains(says),
            "{says}: {reply:?}"
        );
    }
    let not_json = writer
        .send(
            reqwest::Method::POST,
            "/api/v1/users",
            Some("{".into()),
            "application/json",
        )
        .await;
    assert_eq!(not_json.status, 400, "{not_json:?}");
    let text = writer
        .send(
            reqwest::Method::POST,
            "/api/v1/users",
            Some("userName=a".into()),
            "text/plain",
        )
        .await;
    assert_eq!(text.status, 415, "{text:?}");
    let huge = json!({"userName": "a", "productRef": "x".repeat(70 * 1024)});
    let reply = writer.post("/api/v1/users", huge).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"userName": format!("u{i}")}))
        .collect();
    let reply = writer
        .post("/api/v1/users/batch", json!({"users": too_many}))
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(
        reply.body["message"].as_str().unwrap().contains("1000"),
        "{reply:?}"
    );
    let reply = writer
        .post("/api/v1/users/batch", json!({"users": []}))
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(user_count(&app, tenant).await, 0);

    // Methods: /users reads and seeds, /users/batch only seeds.
    let reply = writer
        .send(reqwest::Method::PUT, "/api/v1/users", None, "")
        .await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.allow.as_deref(), Some("GET, POST"));
    let reply = writer.get("/api/v1/users/batch").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.allow.as_deref(), Some("POST"));

    // Isolation: the key decides the tenant. Globex's write key seeds into Globex only,
    // and neither tenant sees the other's seeded user, by API or by SCIM.
    let globex = scim.tenant("globex").await;
    let globex_tenant = globex.tenant_id().await;
    let globex_writer = Key::new(&app, "globex", ApiScope::Write).await;
    let reply = globex_writer.post("/api/v1/users", ada()).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let globex_ada = reply.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(user_count(&app, tenant).await, 0);
    assert_eq!(user_count(&app, globex_tenant).await, 1);
    assert_eq!(okta_lookup(&scim, "ada@acme.test").await["totalResults"], 0);
    assert_eq!(
        okta_lookup(&globex, "ada@acme.test").await["totalResults"],
        1
    );
    let reply = writer.get("/api/v1/users?productRef=prod-ada").await;
    assert_eq!(reply.body["users"].as_array().unwrap().len(), 0);
    let reply = writer.get(&format!("/api/v1/users/{globex_ada}")).await;
    assert_eq!(reply.status, 404);
    // The same reference in acme is acme's own: references are unique per tenant.
    let reply = writer.post("/api/v1/users", ada()).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_ne!(reply.body["user"]["id"], globex_ada.as_str());
}
