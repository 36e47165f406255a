//! The events and directory API (`/api/v1`): API-key authentication kept apart from SCIM
//! tokens, the events feed paged by cursor while writes continue, the directory's
//! filters and paging (`api_directory.rs`), errors, and the admin page that manages the
//! keys (`admin_api_keys.rs`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use roster_core::delivery::DeliverySettings;
use roster_core::tokens::{ApiScope, CreatedToken, TokenLabel};
use roster_entity::{event, tenant};
use roster_testkit::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::rules::support::access;
use crate::scim::support::{Scim, encode, patch_op};

pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// An API client with one tenant's key.
pub(crate) struct Api {
    pub(crate) app: Arc<TestApp>,
    pub(crate) key: String,
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.body["error"], code, "{self:?}");
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        if status == 401 {
            let challenge = self.headers["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer"), "{challenge}");
        }
    }
}

pub(crate) async fn get_with(app: &TestApp, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = app.client.get(app.url(path));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    Reply {
        status,
        headers,
        body,
    }
}

/// A new API key of the tenant `slug`, made as the command line makes it.
pub(crate) async fn new_api_key(
    app: &TestApp,
    slug: &str,
    label: &str,
    scope: ApiScope,
) -> CreatedToken {
    app.services
        .api_keys()
        .create_api_key(
            &app.command_line_access(slug).await,
            TokenLabel::parse(label).unwrap(),
            None,
            scope,
        )
        .await
        .unwrap()
}

impl Api {
    pub(crate) async fn new(app: Arc<TestApp>, slug: &str) -> Self {
        let created = new_api_key(&app, slug, "product", ApiScope::Read).await;
        let key = created.token.expose_secret().to_owned();
        assert!(key.starts_with("rak_"), "{key}");
        Self { app, key }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        get_with(&self.app, path, Some(&format!("Bearer {}", self.key))).await
    }

    pub(crate) async fn ok(&self, path: &str) -> Value {
        let reply = self.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        reply.body
    }
}

pub(crate) fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The key with its last character changed: well-formed, wrong secret.
pub(crate) fn flip_last(key: &str) -> String {
    let (head, last) = key.split_at(key.len() - 1);
    format!("{head}{}", if last == "A" { "B" } else { "A" })
}

/// An app whose delivery worker sequences events every 20 ms.
pub(crate) async fn sequencing_app() -> Arc<TestApp> {
    Arc::new(
        TestApp::builder()
            .delivery(DeliverySettings {
                poll_interval: Duration::from_millis(20),
                ..Default::default()
            })
            .spawn()
            .await,
    )
}

pub(crate) async fn tenant_events(app: &TestApp, slug: &str) -> Vec<event::Model> {
    let tenant = app
        .services
        .tenants()
        .find_by_slug(slug)
        .await
        .unwrap()
        .unwrap();
    event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant.id.0))
        .all(app.services.db().reader())
        .await
        .unwrap()
}

/// Waits until the sequencer has numbered every event.
pub(crate) async fn sequenced(app: &TestApp) {
    let started = Instant::now();
    loop {
        let pending = event::Entity::find()
            .filter(event::Column::Seq.is_null())
            .count(app.services.db().reader())
            .await
            .unwrap();
        if pending == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{pending} events never sequenced"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
pub(crate) async fn api_keys_open_only_the_api_and_scim_tokens_only_scim() {
    let scim = Scim::new().await;
    let globex_scim = scim.tenant("globex").await;
    let api = Api::new(scim.app.clone(), "acme").await;
    let globex = Api::new(scim.app.clone(), "globex").await;
    let ada = scim.create_user("ada@acme.test").await;
    let app = &scim.app;

    assert_eq!(api.ok("/api/v1/users").await["users"][0]["id"], ada);

    // Missing, malformed and wrong secrets: the same 401, with a Bearer challenge.
    get_with(app, "/api/v1/users", None)
        .await
        .assert_error(401, "unauthorized");
    for bad in [
        "Bearer".to_owned(),
        "Basic abc".to_owned(),
        "Bearer nope".to_owned(),
        format!("Bearer {}x", api.key),
        format!("Bearer {}", flip_last(&api.key)),
    ] {
        get_with(app, "/api/v1/events", Some(&bad))
            .await
            .assert_error(401, "unauthorized");
    }

    // A SCIM token never opens the API, even with the API-key prefix put in front of
    // its parts; an API key never opens the SCIM endpoint.
    let as_key = scim.token.replacen("rst_", "rak_", 1);
    for token in [&scim.token, &as_key] {
        get_with(app, "/api/v1/users", Some(&format!("Bearer {token}")))
            .await
            .assert_error(401, "unauthorized");
    }
    let answer = scim.get_with_token("/Users", &api.key).await;
    answer.assert_error(401, None);
    let as_token = api.key.replacen("rak_", "rst_", 1);
    assert_eq!(scim.get_with_token("/Users", &as_token).await.status, 401);
    assert_eq!(scim.get("/Users").await.status, 200, "the SCIM token works");

    // Another tenant's key sees nothing of this tenant.
    globex_scim.create_user("gina@globex.test").await;
    let theirs = globex.ok("/api/v1/users").await;
    assert_eq!(theirs["users"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["users"][0]["userName"], "gina@globex.test");
    globex
        .get(&format!("/api/v1/users/{ada}"))
        .await
        .assert_error(404, "not_found");
    assert!(
        globex.ok("/api/v1/groups").await["groups"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The key list is per kind: API keys are not SCIM tokens and vice versa.
    let (_, acme) = access(app, "acme").await;
    let keys = app
        .services
        .api_keys()
        .list(&acme, None, Default::default())
        .await
        .unwrap();
    assert_eq!(keys.items.len(), 1);
    assert!(keys.items[0].display_prefix.starts_with("rak_"));
    let tokens = app
        .services
        .tokens()
        .list(&acme, None, Default::default())
        .await
        .unwrap();
    assert_eq!(tokens.items.len(), 1);
    assert!(tokens.items[0].display_prefix.starts_with("rst_"));
    // Revoking through the wrong kind's service finds nothing.
    assert!(
        app.services
            .tokens()
            .revoke(&acme, keys.items[0].id)
            .await
            .is_err()
    );
    assert_eq!(api.get("/api/v1/users").await.status, 200);

    // Expired: refused, with the reason told to the key's holder only.
    let expired = app
        .services
        .api_keys()
        .create_for(
            &app.command_line_access("acme").await,
            TokenLabel::parse("old").unwrap(),
            Some(
                roster_core::time::Clock::system()
                    .now()
                    .minus(Duration::from_secs(1)),
            ),
            None,
        )
        .await
        .unwrap();
    let reply = get_with(
        app,
        "/api/v1/events",
        Some(&format!("Bearer {}", expired.token.expose_secret())),
    )
    .await;
    reply.assert_error(401, "unauthorized");
    assert!(reply.body["message"].as_str().unwrap().contains("expired"));

    // Revoked: refused within a second (the cache revalidates every 750 ms).
    app.services
        .api_keys()
        .revoke(&acme, keys.items[0].id)
        .await
        .unwrap();
    let revoked_at = Instant::now();
    loop {
        let reply = api.get("/api/v1/users").await;
        if reply.status == 401 {
            reply.assert_error(401, "unauthorized");
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_millis(1500),
            "{reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(scim.get("/Users").await.status, 200, "SCIM is unaffected");

    // A suspended tenant's key gets 403 within a second.
    assert_eq!(globex.get("/api/v1/users").await.status, 200);
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::Status,
            sea_orm::sea_query::Expr::value("suspended"),
        )
        .filter(tenant::Column::Slug.eq("globex"))
        .exec(app.services.db().writer())
        .await
        .unwrap();
    let suspended_at = Instant::now();
    loop {
        let reply = globex.get("/api/v1/users").await;
        if reply.status == 403 {
            reply.assert_error(403, "tenant_suspended");
            break;
        }
        assert!(
            suspended_at.elapsed() < Duration::from_millis(1500),
            "{reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
pub(crate) async fn events_are_returned_exactly_once_in_commit_order_while_writes_continue() {
    let app = sequencing_app().await;
    let scim = Arc::new(Scim::on(app.clone(), "acme").await);
    let other = scim.tenant("globex").await;
    other.create_user("noise@globex.test").await;
    let api = Arc::new(Api::new(app.clone(), "acme").await);

    let stop_at = Instant::now() + Duration::from_secs(2);
    let writers: Vec<_> = (0..6)
        .map(|writer| {
            let scim = scim.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < stop_at {
                    let id = scim.create_user(&format!("w{writer}-{n}@acme.test")).await;
                    let answer = scim
                        .patch(
                            &format!("/Users/{id}"),
                            patch_op(json!([{"op": "replace", "value": {"displayName": format!("W {writer} {n}")}}])),
                        )
                        .await;
                    assert_eq!(answer.status, 200, "{answer:?}");
                    n += 1;
                }
                n
            })
        })
        .collect();

    let poller = {
        let api = api.clone();
        tokio::spawn(async move {
            let mut cursor = String::new();
            let mut seen: Vec<Value> = Vec::new();
            let mut polls = 0;
            while Instant::now() < stop_at {
                let page = api
                    .ok(&format!("/api/v1/events?limit=7&after={}", encode(&cursor)))
                    .await;
                polls += 1;
                let events = page["events"].as_array().unwrap();
                assert!(events.len() <= 7);
                if events.is_empty() && !cursor.is_empty() {
                    assert_eq!(
                        page["next_cursor"],
                        cursor.as_str(),
                        "an empty page stays put"
                    );
                }
                seen.extend(events.iter().cloned());
                cursor = page["next_cursor"].as_str().unwrap().to_owned();
                if page["has_more"] == false {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            (cursor, seen, polls)
        })
    };
    let mut written = 0;
    for writer in writers {
        written += writer.await.unwrap();
    }
    let (mut cursor, mut seen, polls) = poller.await.unwrap();
    assert!(written >= 6, "the writers wrote ({written})");
    assert!(polls > 3, "the poller ran during the writes ({polls})");
    assert!(!seen.is_empty(), "events were read while writes continued");

    // The writers stopped; once every event is numbered, drain the feed.
    sequenced(&app).await;
    loop {
        let page = api
            .ok(&format!("/api/v1/events?limit=7&after={}", encode(&cursor)))
            .await;
        seen.extend(page["events"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if page["has_more"] == false {
            break;
        }
    }
    let tail = api
        .ok(&format!("/api/v1/events?after={}", encode(&cursor)))
        .await;
    assert!(tail["events"].as_array().unwrap().is_empty());
    assert_eq!(tail["has_more"], false);

    // Exactly the tenant's events, each once, in strictly increasing commit order.
    let rows = tenant_events(&app, "acme").await;
    assert_eq!(rows.len(), written * 2, "a create and a patch per user");
    eprintln!(
        "{written} users by 6 writers, {} events, {polls} polls during the writes",
        rows.len()
    );
    let seq_of: HashMap<String, i64> = rows
        .iter()
        .map(|row| (row.event_id.to_string(), row.seq.unwrap()))
        .collect();
    let got = ids(&Value::Array(seen.clone()));
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no event twice");
    assert_eq!(
        unique,
        seq_of.keys().collect::<HashSet<_>>(),
        "every event of this tenant and no other"
    );
    let seqs: Vec<i64> = got.iter().map(|id| seq_of[id]).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "commit order");

    // Each object is exactly the webhook's JSON for the event.
    let first = rows
        .iter()
        .find(|row| row.event_id.to_string() == got[0])
        .unwrap();
    let expected: Value = serde_json::from_str(&roster_core::delivery::event_json(
        first.event_id,
        &first.event_type,
        "acme",
        first.occurred_at,
        &first.payload,
    ))
    .unwrap();
    assert_eq!(seen[0], expected);
    assert_eq!(seen[0]["tenant"], "acme");
    assert_eq!(seen[0]["type"], "user.created");
}

#[tokio::test]
pub(crate) async fn events_filter_by_type_and_refuse_bad_input() {
    let app = sequencing_app().await;
    let scim = Scim::on(app.clone(), "acme").await;
    let api = Api::new(app.clone(), "acme").await;
    let ada = scim.create_user("ada@acme.test").await;
    scim.create_group("Engineering").await;
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    sequenced(&app).await;

    let all = api.ok("/api/v1/events").await;
    let types: Vec<&str> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["user.created", "group.created", "user.deactivated"]);
    assert_eq!(all["has_more"], false);

    let filtered = api
        .ok("/api/v1/events?types=user.deactivated,group.created")
        .await;
    let types: Vec<&str> = filtered["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["group.created", "user.deactivated"]);

    // limit=1 pages one at a time; the last cursor resumes after everything.
    let first = api.ok("/api/v1/events?limit=1").await;
    assert_eq!(first["events"].as_array().unwrap().len(), 1);
    assert_eq!(first["has_more"], true);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = api
        .ok(&format!(
            "/api/v1/events?limit=1000&after={}",
            encode(cursor)
        ))
        .await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 2);
    let end = rest["next_cursor"].as_str().unwrap();
    let empty = api
        .ok(&format!("/api/v1/events?after={}", encode(end)))
        .await;
    assert_eq!(empty["events"], json!([]));
    assert_eq!(empty["next_cursor"], end);

    let users_cursor = api.ok("/api/v1/users?limit=1").await["next_cursor"].clone();
    for bad in [
        "/api/v1/events?types=user.exploded".to_owned(),
        "/api/v1/events?types=user.created,".to_owned() + "nope",
        "/api/v1/events?after=42".to_owned(),
        "/api/v1/events?after=%FF%FE".to_owned(),
        "/api/v1/events?after=!!".to_owned(),
        "/api/v1/events?limit=0".to_owned(),
        "/api/v1/events?limit=1001".to_owned(),
        "/api/v1/events?limit=-5".to_owned(),
        "/api/v1/events?limit=ten".to_owned(),
        format!(
            "/api/v1/events?after={}",
            encode(users_cursor.as_str().unwrap_or("dTp4"))
        ),
    ] {
        api.get(&bad).await.assert_error(400, "invalid_request");
    }
    api.get("/api/v1/nothing-here")
        .await
        .assert_error(404, "not_found");
}

/// A key's expiry is judged on the services' clock, also while the key sits in the
/// verified-digest cache: moved past its expiry, the same key is refused at once.
#[tokio::test]
async fn a_key_stops_working_when_the_clock_passes_its_expiry() {
    let clock = roster_core::time::Clock::manual(roster_core::time::Clock::system().now());
    let app = Arc::new(TestApp::builder().clock(clock.clone()).spawn().await);
    crate::scim::support::Scim::on(app.clone(), "acme").await;
    let key = app
        .services
        .api_keys()
        .create_for(
            &app.command_line_access("acme").await,
            TokenLabel::parse("nightly").unwrap(),
            Some(clock.now().plus(Duration::from_secs(3600))),
            None,
        )
        .await
        .unwrap();
    let bearer = format!("Bearer {}", key.token.expose_secret());
    assert_eq!(
        get_with(&app, "/api/v1/users", Some(&bearer)).await.status,
        200
    );
    clock.advance(Duration::from_secs(3599));
    assert_eq!(
        get_with(&app, "/api/v1/users", Some(&bearer)).await.status,
        200
    );
    clock.advance(Duration::from_secs(2));
    let reply = get_with(&app, "/api/v1/users", Some(&bearer)).await;
    reply.assert_error(401, "unauthorized");
    assert!(reply.body["message"].as_str().unwrap().contains("expired"));
}
