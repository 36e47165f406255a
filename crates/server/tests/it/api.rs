//! The events and directory API (`/api/v1`): API-key authentication kept apart from SCIM
//! tokens, the events feed paged by cursor while writes continue, the directory's
//! filters and paging, errors, and the admin page that manages the keys.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use roster_core::delivery::DeliverySettings;
use roster_core::rules::{
    LocationCode, LocationName, MatchKind, MatchValues, NewRule, ProvisioningSettings, RulePath,
    TimeZoneName,
};
use roster_core::time::Timestamp;
use roster_core::tokens::TokenLabel;
use roster_entity::{event, tenant};
use roster_testkit::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::admin_support::{csrf_in, location, operator, tenant};
use crate::rules::support::access;
use crate::scim::support::{Scim, encode, okta_user, patch_op};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// An API client with one tenant's key.
struct Api {
    app: Arc<TestApp>,
    key: String,
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn assert_error(&self, status: u16, code: &str) {
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

async fn get_with(app: &TestApp, path: &str, authorization: Option<&str>) -> Reply {
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

impl Api {
    async fn new(app: Arc<TestApp>, slug: &str) -> Self {
        let tenant = app
            .services
            .tenants()
            .find_by_slug(slug)
            .await
            .unwrap()
            .unwrap();
        let created = app
            .services
            .api_keys()
            .create(tenant.id, TokenLabel::parse("product").unwrap(), None, None)
            .await
            .unwrap();
        let key = created.token.expose_secret().to_owned();
        assert!(key.starts_with("rak_"), "{key}");
        Self { app, key }
    }

    async fn get(&self, path: &str) -> Reply {
        get_with(&self.app, path, Some(&format!("Bearer {}", self.key))).await
    }

    async fn ok(&self, path: &str) -> Value {
        let reply = self.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        reply.body
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The key with its last character changed: well-formed, wrong secret.
fn flip_last(key: &str) -> String {
    let (head, last) = key.split_at(key.len() - 1);
    format!("{head}{}", if last == "A" { "B" } else { "A" })
}

/// An app whose delivery worker sequences events every 20 ms.
async fn sequencing_app() -> Arc<TestApp> {
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

async fn tenant_events(app: &TestApp, slug: &str) -> Vec<event::Model> {
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
async fn sequenced(app: &TestApp) {
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
async fn api_keys_open_only_the_api_and_scim_tokens_only_scim() {
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
    let tenant_id = app
        .services
        .tenants()
        .find_by_slug("acme")
        .await
        .unwrap()
        .unwrap()
        .id;
    let expired = app
        .services
        .api_keys()
        .create(
            tenant_id,
            TokenLabel::parse("old").unwrap(),
            Some(Timestamp::now().minus(Duration::from_secs(1))),
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
async fn events_are_returned_exactly_once_in_commit_order_while_writes_continue() {
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
async fn events_filter_by_type_and_refuse_bad_input() {
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

#[tokio::test]
async fn the_directory_filters_and_pages_users_groups_and_members() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let api = Api::new(app.clone(), "acme").await;
    let (_, acme) = access(&app, "acme").await;

    // Two locations; users of engineering are hosts in Berlin, the rest in Paris.
    let rules = app.services.rules();
    let paris = rules
        .add_location(
            &acme,
            LocationName::parse("Paris HQ").unwrap(),
            LocationCode::parse("PAR").unwrap(),
            TimeZoneName::parse("Europe/Paris").unwrap(),
        )
        .await
        .unwrap();
    let berlin = rules
        .add_location(
            &acme,
            LocationName::parse("Berlin").unwrap(),
            LocationCode::parse("BER").unwrap(),
            TimeZoneName::parse("Europe/Berlin").unwrap(),
        )
        .await
        .unwrap();
    let schema = rules.rules(&acme).await.unwrap().registry.clone();
    for (values, location) in [("eng", berlin), ("s", paris)] {
        rules
            .add_rule(
                &acme,
                NewRule {
                    path: RulePath::parse(&format!("{ENTERPRISE}:department"), schema.user())
                        .unwrap(),
                    kind: MatchKind::StartsWith,
                    values: MatchValues::parse(values, MatchKind::StartsWith).unwrap(),
                    locations: vec![location],
                    kiosks: vec![],
                },
            )
            .await
            .unwrap();
    }
    rules
        .update_settings(
            &acme,
            ProvisioningSettings {
                assign_hosts: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let mut users = Vec::new();
    for (name, department) in [
        ("ada@acme.test", "Engineering"),
        ("bob@acme.test", "Sales"),
        ("cy@acme.test", "Engineering"),
        ("dee@acme.test", "Support"),
        ("eve@acme.test", "Sales"),
    ] {
        let mut body = okta_user(name);
        body[ENTERPRISE] = json!({"department": department});
        body["emails"] = json!([
            {"primary": true, "value": name.replace("@", ".Work@").to_uppercase(), "type": "work"},
            {"value": name, "type": "home"}
        ]);
        let answer = scim.post("/Users", body).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        users.push(answer.body["id"].as_str().unwrap().to_owned());
    }
    let answer = scim
        .patch(
            &format!("/Users/{}", users[1]),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let engineering = scim
        .post(
            "/Groups",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"value": users[0]}, {"value": users[2]}, {"value": users[3]}]
            }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let empty_group = scim.create_group("Empty").await;
    let globex = scim.tenant("globex").await;
    let theirs = globex.create_user("gina@globex.test").await;
    let their_group = globex.create_group("Theirs").await;

    // Paging: every user once, in order, whatever the page size.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = api
            .ok(&format!("/api/v1/users?limit=2&cursor={}", encode(&cursor)))
            .await;
        assert!(page["users"].as_array().unwrap().len() <= 2);
        paged.extend(ids(&page["users"]));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(page["has_more"], true);
                cursor = next.to_owned();
            }
            None => {
                assert_eq!(page["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(paged, users);

    // Filters.
    let only = |path: &str| {
        let api = &api;
        let path = path.to_owned();
        async move { ids(&api.ok(&path).await["users"]) }
    };
    assert_eq!(
        only("/api/v1/users?email=BOB@acme.test").await,
        [users[1].clone()]
    );
    assert_eq!(
        only("/api/v1/users?email=cy.work%40acme.test").await,
        [users[2].clone()],
        "any of the user's emails, case-insensitively"
    );
    assert_eq!(
        only("/api/v1/users?userName=DEE@ACME.TEST").await,
        [users[3].clone()]
    );
    assert_eq!(only("/api/v1/users?active=false").await, [users[1].clone()]);
    assert_eq!(only("/api/v1/users?active=true").await.len(), 4);
    assert_eq!(
        only(&format!("/api/v1/users?group={engineering}")).await,
        [users[0].clone(), users[2].clone(), users[3].clone()]
    );
    assert_eq!(
        only(&format!(
            "/api/v1/users?group={engineering}&active=true&location=ber"
        ))
        .await,
        [users[0].clone(), users[2].clone()]
    );
    assert_eq!(
        only("/api/v1/users?location=PAR").await,
        [users[1].clone(), users[3].clone(), users[4].clone()]
    );
    assert_eq!(
        only(&format!("/api/v1/users?location={berlin}")).await,
        [users[0].clone(), users[2].clone()]
    );
    assert!(only("/api/v1/users?location=NOWHERE").await.is_empty());
    assert!(
        only(&format!("/api/v1/users?group={their_group}"))
            .await
            .is_empty()
    );
    assert!(
        only("/api/v1/users?email=gina@globex.test")
            .await
            .is_empty()
    );

    // One user: groups, locations, notifications, names.
    let ada = api.ok(&format!("/api/v1/users/{}", users[0])).await;
    assert_eq!(ada["userName"], "ada@acme.test");
    assert_eq!(ada["externalId"], "00u-ada@acme.test");
    assert_eq!(ada["name"]["givenName"], "Ada");
    assert_eq!(ada["primaryEmail"], "ADA.WORK@ACME.TEST");
    assert_eq!(ada["emails"].as_array().unwrap().len(), 2);
    assert_eq!(ada["active"], true);
    assert_eq!(
        ada["groups"],
        json!([{"id": engineering, "displayName": "Engineering"}])
    );
    assert_eq!(ada["locations"][0]["code"], "BER");
    assert!(ada["scim"].get("password").is_none());
    assert!(ada["created"].as_str().unwrap().ends_with('Z'));
    assert!(ada.get("lastModified").is_some());

    api.get(&format!("/api/v1/users/{theirs}"))
        .await
        .assert_error(404, "not_found");
    api.get(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()))
        .await
        .assert_error(404, "not_found");

    // Groups and members, paged.
    let groups = api.ok("/api/v1/groups?limit=1").await;
    assert_eq!(ids(&groups["groups"]), std::slice::from_ref(&engineering));
    assert_eq!(groups["groups"][0]["members"], 3);
    let next = groups["next_cursor"].as_str().unwrap();
    let groups = api
        .ok(&format!("/api/v1/groups?limit=1&cursor={}", encode(next)))
        .await;
    assert_eq!(ids(&groups["groups"]), std::slice::from_ref(&empty_group));
    assert_eq!(groups["next_cursor"], Value::Null);

    let members = api
        .ok(&format!("/api/v1/groups/{engineering}/members?limit=2"))
        .await;
    let mut member_ids = ids(&members["members"]);
    let next = members["next_cursor"].as_str().unwrap();
    let members = api
        .ok(&format!(
            "/api/v1/groups/{engineering}/members?limit=2&cursor={}",
            encode(next)
        ))
        .await;
    member_ids.extend(ids(&members["members"]));
    assert_eq!(
        member_ids,
        [users[0].clone(), users[2].clone(), users[3].clone()]
    );
    assert_eq!(members["has_more"], false);
    assert!(
        api.ok(&format!("/api/v1/groups/{empty_group}/members"))
            .await["members"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    api.get(&format!("/api/v1/groups/{their_group}/members"))
        .await
        .assert_error(404, "not_found");

    // Bad input: 400 with a JSON error, never a 500.
    for bad in [
        "/api/v1/users/not-a-uuid".to_owned(),
        "/api/v1/users?active=yes".to_owned(),
        "/api/v1/users?group=engineering".to_owned(),
        "/api/v1/users?limit=0".to_owned(),
        "/api/v1/users?limit=201".to_owned(),
        "/api/v1/users?cursor=garbage".to_owned(),
        format!("/api/v1/users?cursor={}", encode(next)),
        "/api/v1/groups?limit=x".to_owned(),
        "/api/v1/groups/%20/members".to_owned(),
        "/api/v1/groups/123/members".to_owned(),
    ] {
        api.get(&bad).await.assert_error(400, "invalid_request");
    }
}

#[tokio::test]
async fn the_api_keys_page_shows_a_new_key_once_and_revokes_it() {
    let app = Arc::new(roster_testkit::spawn_app().await);
    let (mut browser, admin) = operator(&app).await;
    tenant(&app, &admin, "acme", "Acme").await;

    let (status, html) = browser.get_text("/admin/t/acme/api-keys").await;
    assert_eq!(status, 200);
    assert!(html.contains("No API keys yet"), "{html}");
    assert!(html.contains("href=\"/admin/t/acme/api-keys\" aria-current=\"page\""));
    let csrf = csrf_in(&html);

    // Inline errors keep the form.
    let response = browser
        .post(
            "/admin/t/acme/api-keys",
            &[("csrf", &csrf), ("label", " "), ("expires", "2001-01-01")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Must not be empty."), "{html}");
    assert!(html.contains("Must be a day in the future."), "{html}");

    // Without the session's CSRF token nothing is created.
    let response = browser
        .post(
            "/admin/t/acme/api-keys",
            &[("csrf", "forged"), ("label", "x")],
        )
        .await;
    assert_eq!(response.status(), 403);

    let response = browser
        .post(
            "/admin/t/acme/api-keys",
            &[("csrf", &csrf), ("label", "Billing sync"), ("expires", "")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let start = html.find("rak_").expect("the key is shown");
    let key: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert_eq!(key.len(), 4 + 16 + 1 + 43, "{key}");
    assert!(html.contains("/api/v1"), "the API base URL is shown");

    // It works on the API, and the list shows its prefix only.
    let api = Api {
        app: app.clone(),
        key: key.clone(),
    };
    assert_eq!(api.get("/api/v1/users").await.status, 200);
    let (_, html) = browser.get_text("/admin/t/acme/api-keys").await;
    assert!(html.contains("Billing sync"));
    assert!(html.contains(&key[..20]), "the prefix is listed");
    assert!(!html.contains(&key), "never the whole key again");
    let (_, tokens) = browser.get_text("/admin/t/acme/tokens").await;
    assert!(!tokens.contains("Billing sync"), "not a SCIM token");

    // Revoke, with a confirmation page.
    let marker = "/admin/t/acme/api-keys/";
    let at = html.find(marker).unwrap() + marker.len();
    let id = &html[at..at + 36];
    let (status, confirm) = browser
        .get_text(&format!("/admin/t/acme/api-keys/{id}/revoke"))
        .await;
    assert_eq!(status, 200);
    assert!(confirm.contains("Revoke “Billing sync”?"), "{confirm}");
    let response = browser
        .post(
            &format!("/admin/t/acme/api-keys/{id}/revoke"),
            &[("csrf", &csrf_in(&confirm))],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/t/acme/api-keys");
    let (_, html) = browser.get_text("/admin/t/acme/api-keys").await;
    assert!(html.contains("The API key has been revoked"), "{html}");
    assert!(html.contains("badge-bad\">revoked"));
    let revoked_at = Instant::now();
    while api.get("/api/v1/users").await.status != 401 {
        assert!(revoked_at.elapsed() < Duration::from_millis(1500));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Another tenant's admin pages cannot see or revoke it.
    tenant(&app, &admin, "globex", "Globex").await;
    let (status, _) = browser
        .get_text(&format!("/admin/t/globex/api-keys/{id}/revoke"))
        .await;
    assert_eq!(status, 404);
}
