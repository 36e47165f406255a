//! Host assignments follow the rules (issue 14, item 2): removing a location or kiosk,
//! adding, removing or moving a rule re-evaluates every user of the tenant — a large
//! tenant's in the background, under a durable job — and each user whose hosts change
//! gets exactly one `user.updated` event; the directory API never names a location or
//! kiosk that no longer exists; "Re-apply rules" previews how many users would change;
//! locations are themselves events and are listed by `GET /api/v1/locations`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use roster_core::api::{CursorKind, encode_cursor};
use roster_core::memberships::TenantAccess;
use roster_core::rules::{
    KioskName, LocationCode, LocationName, MatchKind, MatchValues, NewRule, RulePath, TimeZoneName,
};
use roster_core::tokens::TokenLabel;
use roster_entity::{event, host_job, user};
use roster_testkit::TestApp;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::access;
use crate::admin_support::{location, operator};
use crate::scim::support::{Scim, encode, okta_user};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A GET of the directory API with an API key of the tenant.
async fn api_key(app: &TestApp, slug: &str) -> String {
    let created = app
        .services
        .api_keys()
        .create_for(
            &app.command_line_access(slug).await,
            TokenLabel::parse("product").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    created.token.expose_secret().to_owned()
}

async fn api(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(path))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn add_location(app: &TestApp, scope: &TenantAccess, name: &str, code: &str) -> Uuid {
    app.services
        .rules()
        .add_location(
            scope,
            LocationName::parse(name).unwrap(),
            LocationCode::parse(code).unwrap(),
            TimeZoneName::parse("Europe/Paris").unwrap(),
        )
        .await
        .unwrap()
}

async fn add_kiosk(app: &TestApp, scope: &TenantAccess, location: Uuid, name: &str) -> Uuid {
    let rules = app.services.rules();
    rules
        .add_kiosk(scope, location, KioskName::parse(name).unwrap())
        .await
        .unwrap();
    let snapshot = rules.rules(scope).await.unwrap();
    snapshot
        .location(location)
        .unwrap()
        .kiosks
        .iter()
        .find(|k| k.name == name)
        .unwrap()
        .id
}

async fn rule(
    app: &TestApp,
    scope: &TenantAccess,
    path: &str,
    values: &str,
    locations: Vec<Uuid>,
    kiosks: Vec<Uuid>,
) -> NewRule {
    let schema = app
        .services
        .rules()
        .rules(scope)
        .await
        .unwrap()
        .registry
        .clone();
    NewRule {
        path: RulePath::parse(path, schema.user()).unwrap(),
        kind: MatchKind::StartsWith,
        values: MatchValues::parse(values, MatchKind::StartsWith).unwrap(),
        locations,
        kiosks,
    }
}

/// The tenant's events after `after` (an event primary key), oldest first.
async fn events_after(app: &TestApp, scope: &TenantAccess, after: i64) -> Vec<event::Model> {
    event::Entity::find()
        .filter(event::Column::TenantId.eq(scope.id().0))
        .filter(event::Column::Id.gt(after))
        .order_by_asc(event::Column::Id)
        .all(app.services.db().reader())
        .await
        .unwrap()
}

async fn last_event_id(app: &TestApp, scope: &TenantAccess) -> i64 {
    events_after(app, scope, 0).await.last().map_or(0, |e| e.id)
}

/// `user.updated` events per user.
fn updates_per_user(events: &[event::Model]) -> HashMap<Uuid, usize> {
    let mut out = HashMap::new();
    for event in events.iter().filter(|e| e.event_type == "user.updated") {
        *out.entry(event.resource_id).or_insert(0) += 1;
    }
    out
}

fn payload(event: &event::Model) -> Value {
    serde_json::from_str(&event.payload).unwrap()
}

/// Waits until the tenant's background re-evaluation is done.
async fn settle(app: &TestApp, scope: &TenantAccess) {
    let start = Instant::now();
    loop {
        let job = app.services.rules().host_job(scope).await.unwrap();
        if job.as_ref().is_none_or(|job| !job.running) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the re-evaluation did not finish: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn person(user_name: &str, department: &str) -> Value {
    let mut body = okta_user(user_name);
    body[ENTERPRISE] = json!({ "department": department });
    body
}

#[tokio::test]
async fn removing_a_location_reevaluates_its_hosts_once_and_the_api_forgets_it() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let (_, acme) = access(&app, "acme").await;
    let key = api_key(&app, "acme").await;
    let start = last_event_id(&app, &acme).await;

    let paris = add_location(&app, &acme, "Paris HQ", "PAR").await;
    let berlin = add_location(&app, &acme, "Berlin", "BER").await;
    let lobby = add_kiosk(&app, &acme, paris, "Lobby").await;
    let department = format!("{ENTERPRISE}:department");
    let engineering = rule(&app, &acme, &department, "eng", vec![paris], vec![lobby]).await;
    app.services
        .rules()
        .add_rule(&acme, engineering)
        .await
        .unwrap();
    let sales = rule(&app, &acme, &department, "sales", vec![berlin], vec![]).await;
    app.services.rules().add_rule(&acme, sales).await.unwrap();

    // Location changes are events: the location with its kiosks.
    let places: Vec<(String, Value)> = events_after(&app, &acme, start)
        .await
        .iter()
        .map(|e| (e.event_type.clone(), payload(e)))
        .collect();
    let types: Vec<&str> = places.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        ["location.created", "location.created", "location.updated"]
    );
    assert_eq!(places[0].1["location"]["code"], "PAR");
    assert_eq!(places[0].1["location"]["timeZone"], "Europe/Paris");
    assert_eq!(
        places[2].1["location"]["kiosks"],
        json!([{"id": lobby.to_string(), "name": "Lobby"}])
    );

    let mut ids = Vec::new();
    for (name, dept) in [
        ("ada@acme.test", "Engineering"),
        ("bob@acme.test", "Engineering"),
        ("cy@acme.test", "Sales"),
    ] {
        let answer = scim.post("/Users", person(name, dept)).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        ids.push(answer.body["id"].as_str().unwrap().to_owned());
    }
    let (status, ada) = api(&app, &key, &format!("/api/v1/users/{}", ids[0])).await;
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["locations"][0]["code"], "PAR");
    assert_eq!(ada["kiosks"], json!([lobby.to_string()]));

    // The locations as the product resolves them.
    let (status, list) = api(&app, &key, "/api/v1/locations").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["has_more"], false);
    let paris_json = list["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "PAR")
        .unwrap()
        .clone();
    assert_eq!(paris_json["name"], "Paris HQ");
    assert_eq!(paris_json["timeZone"], "Europe/Paris");
    assert_eq!(
        paris_json["kiosks"],
        json!([{"id": lobby.to_string(), "name": "Lobby"}])
    );

    // Remove Paris with its kiosk: its two hosts get one user.updated each, with their
    // new (empty) hosts; the Berlin host gets nothing; the location itself is an event.
    let before = last_event_id(&app, &acme).await;
    let rehosted = app
        .services
        .rules()
        .remove_location(&acme, paris)
        .await
        .unwrap();
    assert_eq!(rehosted.changed, 2);
    assert!(!rehosted.pending);
    let after = events_after(&app, &acme, before).await;
    let per_user = updates_per_user(&after);
    assert_eq!(per_user.len(), 2, "{after:?}");
    for id in &ids[..2] {
        assert_eq!(per_user[&Uuid::parse_str(id).unwrap()], 1);
    }
    for e in after.iter().filter(|e| e.event_type == "user.updated") {
        let data = payload(e);
        assert_eq!(data["hosts"], json!({"locations": [], "kiosks": []}));
    }
    let deleted: Vec<Value> = after
        .iter()
        .filter(|e| e.event_type == "location.deleted")
        .map(payload)
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["location"]["id"], paris.to_string());
    assert_eq!(deleted[0]["location"]["kiosks"][0]["name"], "Lobby");

    let (_, ada) = api(&app, &key, &format!("/api/v1/users/{}", ids[0])).await;
    assert_eq!(ada["locations"], json!([]));
    assert_eq!(ada["kiosks"], json!([]));
    let (_, cy) = api(&app, &key, &format!("/api/v1/users/{}", ids[2])).await;
    assert_eq!(cy["locations"][0]["code"], "BER");
    let (_, list) = api(&app, &key, "/api/v1/locations").await;
    assert_eq!(list["locations"].as_array().unwrap().len(), 1);
    assert_eq!(list["locations"][0]["code"], "BER");

    // Even a row the re-evaluation has not reached yet (a large tenant's) shows nothing
    // that is gone: the stored assignment names Paris and its kiosk, the API does not.
    let stale = json!({
        "rule": null,
        "locations": [paris.to_string(), berlin.to_string()],
        "kiosks": [lobby.to_string()]
    })
    .to_string();
    user::Entity::update_many()
        .col_expr(user::Column::Hosts, Expr::value(Some(stale)))
        .filter(user::Column::Id.eq(Uuid::parse_str(&ids[1]).unwrap()))
        .exec(app.services.db().writer())
        .await
        .unwrap();
    let (_, bob) = api(&app, &key, &format!("/api/v1/users/{}", ids[1])).await;
    assert_eq!(bob["kiosks"], json!([]));
    let codes: Vec<&str> = bob["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["BER"]);
    let (_, hosts) = api(&app, &key, &format!("/api/v1/users?location={paris}")).await;
    assert_eq!(hosts["users"], json!([]));
}

#[tokio::test]
async fn a_large_tenant_is_reevaluated_in_the_background_once_per_user() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let (_, acme) = access(&app, "acme").await;
    let seeded = scim.seed_users("host", 1_150).await;
    let paris = add_location(&app, &acme, "Paris HQ", "PAR").await;
    let lobby = add_kiosk(&app, &acme, paris, "Lobby").await;

    // A rule added after the users exist assigns them: the first 500 at once, the rest
    // in the background.
    let before = last_event_id(&app, &acme).await;
    let by_name = rule(&app, &acme, "userName", "host", vec![paris], vec![lobby]).await;
    let rehosted = app.services.rules().add_rule(&acme, by_name).await.unwrap();
    assert_eq!(rehosted.changed, 500);
    assert!(rehosted.pending);
    settle(&app, &acme).await;
    let job = app.services.rules().host_job(&acme).await.unwrap().unwrap();
    assert_eq!((job.checked, job.changed), (1_150, 1_150), "{job:?}");
    assert_eq!(job.reason, "rule.add");
    let per_user = updates_per_user(&events_after(&app, &acme, before).await);
    assert_eq!(per_user.len(), 1_150);
    assert!(per_user.values().all(|n| *n == 1));
    assert!(seeded.iter().all(|id| per_user.contains_key(id)));

    // Removing the kiosk: again exactly one event per user, and nobody keeps it.
    let before = last_event_id(&app, &acme).await;
    let rehosted = app
        .services
        .rules()
        .remove_kiosk(&acme, lobby)
        .await
        .unwrap();
    assert!(rehosted.pending);
    settle(&app, &acme).await;
    let after = events_after(&app, &acme, before).await;
    let per_user = updates_per_user(&after);
    assert_eq!(per_user.len(), 1_150);
    assert!(per_user.values().all(|n| *n == 1));
    assert_eq!(
        after
            .iter()
            .filter(|e| e.event_type == "location.updated")
            .count(),
        1
    );
    let left = user::Entity::find()
        .filter(user::Column::TenantId.eq(acme.id().0))
        .filter(user::Column::Hosts.like(format!("%{lobby}%")))
        .all(app.services.db().reader())
        .await
        .unwrap();
    assert!(left.is_empty(), "{} users keep the kiosk", left.len());

    // A node died mid-job: its lease expired, and another node resumes from the cursor.
    // The users past the cursor still hold the kiosk (the dead node never got there).
    let ordered: Vec<Uuid> = user::Entity::find()
        .filter(user::Column::TenantId.eq(acme.id().0))
        .order_by_asc(user::Column::Id)
        .all(app.services.db().reader())
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    let cursor = ordered[699];
    let stale = json!({
        "rule": null,
        "locations": [paris.to_string()],
        "kiosks": [lobby.to_string()]
    })
    .to_string();
    let db = app.services.db().writer();
    user::Entity::update_many()
        .col_expr(user::Column::Hosts, Expr::value(Some(stale)))
        .filter(user::Column::TenantId.eq(acme.id().0))
        .filter(user::Column::Id.gt(cursor))
        .exec(db)
        .await
        .unwrap();
    let before = last_event_id(&app, &acme).await;
    host_job::Entity::update_many()
        .col_expr(host_job::Column::State, Expr::value("running"))
        .col_expr(host_job::Column::Cursor, Expr::value(Some(cursor)))
        .col_expr(host_job::Column::Checked, Expr::value(700_i64))
        .col_expr(host_job::Column::Changed, Expr::value(0_i64))
        .col_expr(
            host_job::Column::FinishedAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            host_job::Column::LeaseOwner,
            Expr::value(Some("a dead node")),
        )
        .col_expr(host_job::Column::LeaseUntil, Expr::value(Some(1_i64)))
        .filter(host_job::Column::TenantId.eq(acme.id().0))
        .exec(db)
        .await
        .unwrap();
    settle(&app, &acme).await;
    let job = app.services.rules().host_job(&acme).await.unwrap().unwrap();
    assert_eq!((job.checked, job.changed), (1_150, 450), "{job:?}");
    let per_user = updates_per_user(&events_after(&app, &acme, before).await);
    assert_eq!(per_user.len(), 450);
    assert!(per_user.keys().all(|id| *id > cursor));
    assert!(per_user.values().all(|n| *n == 1));
}

#[tokio::test]
async fn reapply_rules_previews_and_assigns_users_through_the_admin_pages() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let (mut admin, _) = operator(&app).await;
    let (_, acme) = access(&app, "acme").await;
    let paris = add_location(&app, &acme, "Paris HQ", "PAR").await;

    // A rule added through the form after users exist assigns the users it matches.
    let ada = scim
        .post("/Users", person("ada@acme.test", "Engineering"))
        .await;
    assert_eq!(ada.status, 201);
    let bob = scim.post("/Users", person("bob@acme.test", "Sales")).await;
    assert_eq!(bob.status, 201);
    let csrf = admin.csrf().await;
    let before = last_event_id(&app, &acme).await;
    let paris_id = paris.to_string();
    let response = admin
        .post(
            "/admin/t/acme/rules",
            &[
                ("csrf", &csrf),
                ("attribute", &format!("{ENTERPRISE}:department")),
                ("match", "starts_with"),
                ("values", "eng"),
                ("location", &paris_id),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let per_user = updates_per_user(&events_after(&app, &acme, before).await);
    let ada_id = Uuid::parse_str(ada.body["id"].as_str().unwrap()).unwrap();
    assert_eq!(per_user, HashMap::from([(ada_id, 1)]));

    // Users that arrived without evaluation (here: written straight to the database,
    // as an import would) are found by the preview and assigned by "Re-apply rules".
    let seeded = scim.seed_users("eng", 3).await;
    for (i, id) in seeded.iter().enumerate() {
        user::Entity::update_many()
            .col_expr(
                user::Column::Doc,
                Expr::value(
                    json!({
                        "userName": format!("eng{i}@big.test"),
                        ENTERPRISE: {"department": "Engineering"}
                    })
                    .to_string(),
                ),
            )
            .filter(user::Column::Id.eq(*id))
            .exec(app.services.db().writer())
            .await
            .unwrap();
    }
    let preview = app.services.rules().preview_hosts(&acme).await.unwrap();
    assert_eq!((preview.changes, preview.checked), (3, 5));
    assert!(preview.complete);
    let (status, html) = admin.get_text("/admin/t/acme/locations/reapply").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("3 users would change (all 5 users checked)"),
        "{html}"
    );

    let before = last_event_id(&app, &acme).await;
    let response = admin
        .post("/admin/t/acme/locations/reapply", &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/t/acme/locations");
    let per_user = updates_per_user(&events_after(&app, &acme, before).await);
    assert_eq!(per_user.len(), 3);
    assert!(seeded.iter().all(|id| per_user.get(id) == Some(&1)));
    let (_, html) = admin.get_text("/admin/t/acme/locations").await;
    assert!(html.contains("The rules have been re-applied"), "{html}");
    assert!(
        html.contains("Last re-evaluation") && html.contains("5 users checked, 3 changed"),
        "{html}"
    );
    assert_eq!(
        app.services
            .rules()
            .preview_hosts(&acme)
            .await
            .unwrap()
            .changes,
        0
    );

    // Another tenant's admin page cannot reach this tenant's re-apply.
    let response = admin
        .post("/admin/t/nobody/locations/reapply", &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn locations_are_paged_and_isolated_per_tenant() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let (_, acme) = access(&app, "acme").await;
    scim.tenant("globex").await;
    let (_, globex) = access(&app, "globex").await;
    let key = api_key(&app, "acme").await;
    let mut ours = Vec::new();
    for code in ["A1", "B2", "C3"] {
        ours.push(add_location(&app, &acme, code, code).await);
    }
    add_kiosk(&app, &acme, ours[0], "Zeta").await;
    add_kiosk(&app, &acme, ours[0], "Alpha").await;
    let theirs = add_location(&app, &globex, "Theirs", "T1").await;

    let (status, first) = api(&app, &key, "/api/v1/locations?limit=2").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["has_more"], true);
    let kiosks: Vec<&str> = first["locations"][0]["kiosks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(kiosks, ["Alpha", "Zeta"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = api(
        &app,
        &key,
        &format!("/api/v1/locations?limit=2&cursor={}", encode(cursor)),
    )
    .await;
    assert_eq!(second["has_more"], false);
    assert_eq!(second["next_cursor"], Value::Null);
    let mut seen: Vec<String> = first["locations"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["locations"].as_array().unwrap())
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    let mut expected: Vec<String> = ours.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(seen, expected);
    assert!(!seen.contains(&theirs.to_string()));

    for bad in [
        "/api/v1/locations?limit=0",
        "/api/v1/locations?cursor=nope!",
    ] {
        let (status, body) = api(&app, &key, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // A users cursor is not a locations cursor.
    let users_cursor = encode_cursor(CursorKind::Users, &Uuid::now_v7().to_string());
    let (status, _) = api(
        &app,
        &key,
        &format!("/api/v1/locations?cursor={users_cursor}"),
    )
    .await;
    assert_eq!(status, 400);
    let response = app
        .client
        .post(app.url("/api/v1/locations"))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}
