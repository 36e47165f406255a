//! The shared SCIM base URL, `/scim/v2`: one URL for every tenant, the token decides
//! which. The Okta flows run through it in `okta.rs`, and every cross-tenant attempt of
//! `isolation.rs` is tried on it too; here are Bulk and `.search`, the locations it
//! answers with, rate limits, the log, the switch that turns it off and the slugs it
//! reserves.

use reqwest::Method;
use roster_core::tenants::{TenantName, TenantSlug};
use roster_core::tokens::TokenLabel;
use roster_testkit::TestApp;
use secrecy::ExposeSecret;
use serde_json::json;
use std::sync::Arc;

use super::support::{Scim, encode, okta_user};
use crate::admin_support::operator;

#[tokio::test]
async fn bulk_and_search_through_the_shared_url_answer_with_its_locations() {
    let tenant = Scim::new().await;
    let shared = tenant.shared();
    let base = shared.base.clone();
    assert!(base.ends_with("/scim/v2"), "{base}");

    // Bulk: a user and a group holding it through its bulkId.
    let bulk = shared
        .post(
            "/Bulk",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "ada", "data": okta_user("ada@acme.test")},
                    {"method": "POST", "path": "/Groups", "bulkId": "eng", "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Engineering",
                        "members": [{"value": "bulkId:ada"}]
                    }}
                ]
            }),
        )
        .await;
    assert_eq!(bulk.status, 200, "{bulk:?}");
    let ops = bulk.body["Operations"].as_array().unwrap();
    assert_eq!(ops[0]["status"], "201", "{bulk:?}");
    assert_eq!(ops[1]["status"], "201", "{bulk:?}");
    let user_location = ops[0]["location"].as_str().unwrap();
    let group_location = ops[1]["location"].as_str().unwrap();
    assert!(
        user_location.starts_with(&format!("{base}/Users/")),
        "{user_location}"
    );
    assert!(
        group_location.starts_with(&format!("{base}/Groups/")),
        "{group_location}"
    );
    let user_id = user_location.rsplit('/').next().unwrap().to_owned();
    let group_id = group_location.rsplit('/').next().unwrap().to_owned();

    // `.search` at the root and on a resource: every resource's location is shared.
    let root = shared
        .post(
            "/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
        )
        .await;
    assert_eq!(root.status, 200, "{root:?}");
    assert_eq!(root.body["totalResults"], 2);
    for resource in root.body["Resources"].as_array().unwrap() {
        let location = resource["meta"]["location"].as_str().unwrap();
        assert!(location.starts_with(&format!("{base}/")), "{location}");
        assert!(!location.contains("/acme/"), "{location}");
    }
    let users = shared
        .post(
            "/Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"ADA@acme.test\""}),
        )
        .await;
    assert_eq!(users.body["totalResults"], 1, "{users:?}");
    let user = &users.body["Resources"][0];
    assert_eq!(user["meta"]["location"], format!("{base}/Users/{user_id}"));
    assert_eq!(user["groups"][0]["value"], group_id);
    assert_eq!(
        user["groups"][0]["$ref"],
        format!("{base}/Groups/{group_id}")
    );
    let listed = shared
        .get(&format!(
            "/Users?filter={}",
            encode("userName eq \"ada@acme.test\"")
        ))
        .await;
    assert_eq!(
        listed.body["Resources"][0]["meta"]["location"],
        format!("{base}/Users/{user_id}")
    );

    // The same user through the tenant's URL is located there.
    let own = tenant.get(&format!("/Users/{user_id}")).await;
    assert_eq!(
        own.body["meta"]["location"],
        format!("{}/Users/{user_id}", tenant.base)
    );

    // Discovery through the shared URL describes the token's tenant, located there.
    let config = shared.get("/ServiceProviderConfig").await;
    assert_eq!(config.status, 200, "{config:?}");
    assert_eq!(config.body["bulk"]["supported"], true);
    assert_eq!(
        config.body["meta"]["location"],
        format!("{base}/ServiceProviderConfig")
    );
    let types = shared.get("/ResourceTypes").await;
    assert_eq!(types.status, 200, "{types:?}");
    let user_type = shared.get("/ResourceTypes/User").await;
    assert_eq!(user_type.status, 200, "{user_type:?}");
    assert_eq!(
        user_type.body["meta"]["location"],
        format!("{base}/ResourceTypes/User")
    );
    let schemas = shared.get("/Schemas").await;
    assert_eq!(
        schemas.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let roster = shared
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(roster.status, 200, "{roster:?}");
    shared.get("/Me").await.assert_error(501, None);
    shared.get("/Nothing").await.assert_error(404, None);

    // The writes are the tenant's, in its log and its events.
    let log = tenant.log().await;
    assert!(log.iter().any(|row| row.outcome == "success"), "{log:?}");
    let tenant_id = tenant.tenant_id().await;
    assert!(log.iter().all(|row| row.tenant_id == tenant_id));
    let events: Vec<String> = tenant
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(events.contains(&"user.created".to_owned()), "{events:?}");
    assert!(events.contains(&"group.created".to_owned()), "{events:?}");
}

#[tokio::test]
async fn one_rate_limit_per_token_on_both_urls() {
    let tenant = Scim::new().await;
    let found = tenant
        .app
        .services
        .tenants()
        .find_by_slug("acme")
        .await
        .unwrap()
        .unwrap();
    tenant
        .app
        .services
        .tenants()
        .set_scim_rate_limit(found.id, Some(1))
        .await
        .unwrap();
    let shared = tenant.shared();
    // The token's bucket (a burst of ten seconds of one request a second) is the same
    // whichever URL spends it.
    let mut statuses = Vec::new();
    for i in 0..14 {
        let answer = if i % 2 == 0 {
            tenant.get("/Users").await
        } else {
            shared.get("/Users").await
        };
        statuses.push(answer);
    }
    let limited = statuses
        .iter()
        .position(|a| a.status == 429)
        .expect("a 429");
    assert!(limited <= 12, "{statuses:?}");
    statuses[limited].assert_error(429, None);
    assert!(statuses[limited].header("retry-after").is_some());
    shared.get("/Users").await.assert_error(429, None);
}

#[tokio::test]
async fn refusals_on_the_shared_url_reach_only_the_log_of_the_token_they_name() {
    let acme = Scim::new().await;
    let beta = acme.tenant("beta").await;
    let shared = acme.shared();
    assert_eq!(beta.shared().get("/Users").await.status, 200);
    let before = acme.log().await.len();

    // No token, junk, an unknown token: 401 alike, and no tenant to tell.
    let unknown = "rst_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let mut details = Vec::new();
    for token in ["", "not a token", unknown] {
        let answer = shared.get_with_token("/Users", token).await;
        answer.assert_error(401, None);
        assert!(
            answer
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
        details.push(answer.body["detail"].clone());
    }
    assert_eq!(details[1], details[2], "junk and unknown tokens look alike");
    assert_eq!(acme.log().await.len(), before, "nothing is recorded");

    // A revoked token of acme: the same answer as on acme's URL, and a row in acme's log
    // naming it by label and prefix, saying which URL it came to.
    let created = acme
        .app
        .services
        .tokens()
        .create_for(
            &acme.app.command_line_access("acme").await,
            TokenLabel::parse("old Okta token").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    let old = created.token.expose_secret().to_owned();
    assert_eq!(shared.get_with_token("/Users", &old).await.status, 200);
    let access = acme
        .app
        .services
        .memberships()
        .command_line_access("acme")
        .await
        .unwrap()
        .unwrap();
    acme.app
        .services
        .tokens()
        .revoke(&access, created.info.id)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let refused = shared.get_with_token("/Users", &old).await;
    refused.assert_error(401, None);
    assert!(
        refused.body["detail"].as_str().unwrap().contains("revoked"),
        "{refused:?}"
    );
    let rows: Vec<_> = acme
        .log()
        .await
        .into_iter()
        .filter(|row| row.operation == "auth.rejected")
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let acme_id = acme.tenant_id().await;
    assert_eq!(rows[0].tenant_id, acme_id);
    assert_eq!(rows[0].token_id, Some(created.info.id.0));
    let detail = rows[0].detail.clone().unwrap();
    assert!(
        detail.starts_with(
            "a request to the shared SCIM URL with the revoked token \"old Okta token\""
        ),
        "{detail}"
    );
    // beta's log holds nothing of it.
    let beta_id = beta.tenant_id().await;
    assert!(
        acme.log()
            .await
            .iter()
            .filter(|row| row.tenant_id == beta_id)
            .all(|row| row.operation != "auth.rejected")
    );
}

#[tokio::test]
async fn a_connection_test_through_the_shared_url_is_recorded_as_one() {
    let tenant = Scim::new().await;
    let shared = tenant.shared();
    // Okta's "Test API Credentials".
    let answer = shared.get("/Users?startIndex=1&count=2").await;
    assert_eq!(answer.status, 200);
    let tests: Vec<_> = tenant
        .log()
        .await
        .into_iter()
        .filter(|row| row.operation == "connection.test")
        .collect();
    assert_eq!(tests.len(), 1, "{tests:?}");
    let detail = tests[0].detail.clone().unwrap();
    assert!(
        detail.starts_with("Okta tested the connection through the shared SCIM URL"),
        "{detail}"
    );
}

#[tokio::test]
async fn the_operator_can_turn_the_shared_url_off() {
    let app = Arc::new(TestApp::builder().without_shared_scim_url().spawn().await);
    let tenant = Scim::on(app, "acme").await;
    let shared = tenant.shared();
    let paths = [
        (Method::GET, "/Users"),
        (Method::POST, "/Users"),
        (Method::GET, "/Users/0190a1b2-0000-7000-8000-000000000000"),
        (Method::POST, "/Users/.search"),
        (Method::GET, "/Groups"),
        (Method::POST, "/Bulk"),
        (Method::POST, "/.search"),
        (Method::GET, "/ServiceProviderConfig"),
        (Method::GET, "/ResourceTypes"),
        (Method::GET, "/ResourceTypes/User"),
        (Method::GET, "/Schemas"),
        (Method::GET, "/Me"),
    ];
    for (method, path) in paths {
        let answer = shared
            .send(method.clone(), path, Some(okta_user("x@acme.test")))
            .await;
        answer.assert_error(404, None);
    }
    // The tenant's own URL is untouched.
    assert_eq!(tenant.create_user("ada@acme.test").await.len(), 36);
    assert_eq!(tenant.get("/Users").await.body["totalResults"], 1);

    // The admin pages offer only the tenant's URL.
    let (mut op, _) = operator(&tenant.app).await;
    let (status, page) = op.get_text("/admin/t/acme/connect/okta").await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"scim-shared-url\""), "{page}");
}

#[tokio::test]
async fn the_connect_page_shows_both_urls_and_when_to_use_which() {
    let tenant = Scim::new().await;
    let (mut op, _) = operator(&tenant.app).await;
    let (status, page) = op.get_text("/admin/t/acme/connect/okta").await;
    assert_eq!(status, 200);
    let address = &tenant.app.address;
    assert!(
        page.contains(&format!("value=\"{address}/scim/v2/acme\"")),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "id=\"scim-shared-url\" value=\"{address}/scim/v2\""
        )),
        "{page}"
    );
    assert!(page.contains("the SCIM token alone decides the organization"));
    // The guide says it too, with this node's URLs.
    assert!(page.contains("shared"), "{page}");

    // The token's page shows both as well.
    let csrf = op.csrf().await;
    let response = op
        .post(
            "/admin/t/acme/tokens",
            &[("csrf", &csrf), ("label", "Okta"), ("expires", "")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"scim-shared-url\""), "{page}");
}

#[tokio::test]
async fn new_tenants_cannot_take_an_endpoint_name_and_old_ones_keep_working() {
    let tenant = Scim::new().await;
    let app = tenant.app.clone();

    // The admin form refuses each name, in any case it could be typed, inline.
    let (mut op, _) = operator(&app).await;
    for slug in [
        "users",
        "groups",
        "bulk",
        "schemas",
        "me",
        "serviceproviderconfig",
    ] {
        let csrf = op.csrf().await;
        let response = op
            .post(
                "/admin/tenants",
                &[("csrf", &csrf), ("slug", slug), ("name", "Taken")],
            )
            .await;
        assert_eq!(response.status(), 422, "{slug}");
        let page = response.text().await.unwrap();
        assert!(page.contains("is reserved"), "{slug}: {page}");
    }
    assert!(
        app.services
            .tenants()
            .find_by_slug("users")
            .await
            .unwrap()
            .is_none()
    );

    // A tenant that already had such a slug (created before it was reserved) keeps its
    // URL, and its token works on the shared URL too.
    let old = app
        .services
        .tenants()
        .create(
            TenantSlug::parse("users").unwrap(),
            TenantName::parse("Users Inc.").unwrap(),
        )
        .await
        .unwrap();
    let token = app
        .services
        .tokens()
        .create_for(
            &app.command_line_access(old.slug.as_str()).await,
            TokenLabel::parse("okta").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    let old = Scim {
        app: app.clone(),
        base: app.url("/scim/v2/users"),
        token: token.token.expose_secret().to_owned(),
        slug: "users".to_owned(),
    };
    let id = old.create_user("ada@users.test").await;
    let got = old.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(
        got.body["meta"]["location"],
        format!("{}/Users/{id}", old.base)
    );
    let through_shared = old.shared().get(&format!("/Users/{id}")).await;
    assert_eq!(through_shared.status, 200, "{through_shared:?}");
    // acme's token is no key to it on either URL.
    let acme_on_old = old
        .get_with_token(&format!("/Users/{id}"), &tenant.token)
        .await;
    acme_on_old.assert_error(401, None);
    tenant
        .shared()
        .get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn the_command_line_refuses_reserved_slugs_and_prints_both_urls() {
    let dir = tempfile::tempdir().unwrap();
    let database = roster_testkit::TestDatabase::new().await;
    let url = database.url().to_owned();
    let run = |args: &'static [&'static str], shared: &'static str| {
        let dir = dir.path().to_owned();
        let url = url.clone();
        async move {
            crate::binary::roster(&dir)
                .env("ROSTER_DATABASE_URL", url)
                .env("ROSTER_PUBLIC_URL", "https://roster.example.com")
                .env("ROSTER_SCIM_SHARED_URL", shared)
                .args(args)
                .output()
                .await
                .unwrap()
        }
    };
    let refused = run(
        &["tenant", "create", "--slug", "bulk", "--name", "Bulk"],
        "true",
    )
    .await;
    assert!(!refused.status.success());
    // The database is opened (and migrated, which logs) first; the refusal is the last
    // line, one sentence.
    let stderr = String::from_utf8(refused.stderr).unwrap();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: slug: "), "{stderr}");
    assert!(last.contains("\"bulk\" is reserved"), "{stderr}");

    let created = run(
        &["tenant", "create", "--slug", "acme", "--name", "Acme"],
        "true",
    )
    .await;
    assert!(created.status.success());
    let token = run(
        &["token", "create", "--tenant", "acme", "--label", "okta"],
        "true",
    )
    .await;
    let stdout = String::from_utf8(token.stdout).unwrap();
    assert!(
        stdout.contains("SCIM base URL: https://roster.example.com/scim/v2/acme"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Shared SCIM base URL (the token decides the tenant): https://roster.example.com/scim/v2\n"
        ),
        "{stdout}"
    );
    let token = run(
        &["token", "create", "--tenant", "acme", "--label", "two"],
        "false",
    )
    .await;
    assert!(token.status.success());
    let stdout = String::from_utf8(token.stdout).unwrap();
    assert!(!stdout.contains("Shared"), "{stdout}");
}
