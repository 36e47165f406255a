//! What a tenant admin diagnoses alone: requests refused because of their token (by
//! prefix, bounded), the identity provider's connection tests (recorded and shown as
//! such), error texts that name the caller's identity provider; the guides rendered with
//! the tenant's URLs; searching and exporting the log, users and groups.

use roster_core::connection_log::{AUTH_REJECTED, CONNECTION_TEST, TENANT_BUDGET};
use roster_core::memberships::TenantAccess;
use roster_core::tokens::TokenLabel;
use roster_entity::provisioning_log;
use roster_testkit::{TestApp, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::ExposeSecret;

use crate::admin_support::*;

const OKTA: &str = "Okta SCIM Client 1.0.0";

async fn rows(
    app: &TestApp,
    scope: &TenantAccess,
    operation: &str,
) -> Vec<provisioning_log::Model> {
    provisioning_log::Entity::find()
        .filter(provisioning_log::Column::TenantId.eq(scope.id().0))
        .filter(provisioning_log::Column::Operation.eq(operation))
        .all(app.services.db().reader())
        .await
        .unwrap()
}

async fn scim_get(app: &TestApp, path: &str, token: &str, agent: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/scim/v2/acme{path}")))
        .bearer_auth(token)
        .header("user-agent", agent)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_revoked_token_is_diagnosed_by_its_prefix_and_cannot_flood_the_log() {
    let app = spawn_app().await;
    let (mut op, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    tenant(&app, &operator_admin, "globex", "Globex").await;
    let old = app
        .services
        .tokens()
        .create_for(&acme, TokenLabel::parse("Okta").unwrap(), None, None)
        .await
        .unwrap();
    let old_token = old.token.expose_secret().to_owned();
    assert_eq!(
        scim_get(&app, "/Users", &old_token, OKTA).await.status(),
        200
    );
    app.services
        .tokens()
        .revoke(&acme, old.info.id)
        .await
        .unwrap();
    // Nodes re-read a cached token within a second.
    tokio::time::sleep(roster_core::token_auth::REVALIDATE_AFTER).await;

    // A token that is not the tenant's: refused, named as such (before any flood, so
    // the node's budget of lookups per second has room).
    let stranger = format!("rst_{:016x}_{}", 7, "A".repeat(43));
    assert_eq!(
        scim_get(&app, "/Users", &stranger, "curl/8").await.status(),
        401
    );

    // "Okta still has the old token": refused, and the tenant sees which.
    for _ in 0..100 {
        let refused = scim_get(&app, "/Users", &old_token, OKTA).await;
        assert_eq!(refused.status(), 401);
    }
    let refused = rows(&app, &acme, AUTH_REJECTED).await;
    assert_eq!(
        refused.len(),
        2,
        "one row per token and minute: {refused:?}"
    );
    let revoked = refused
        .iter()
        .find(|r| r.token_id.is_some())
        .expect("the revoked token's row");
    let detail = revoked.detail.clone().unwrap();
    let public_id = old.info.display_prefix.trim_start_matches("rst_");
    assert!(
        detail.contains(&format!(
            "revoked token \"Okta\" (rst_{}…)",
            &public_id[..8]
        )),
        "{detail}"
    );
    assert!(detail.contains("Okta still has the old token"), "{detail}");
    assert!(
        !detail.contains(old_token.splitn(3, '_').nth(2).unwrap()),
        "never the secret"
    );
    assert_eq!(revoked.token_id, Some(old.info.id.0));

    // The connection check and the log say so.
    let (_, check) = op.get_text("/admin/t/acme/connect/okta").await;
    assert!(check.contains("id=\"rejected\""), "{check}");
    assert!(check.contains("revoked token"), "{check}");
    let (_, log) = op.get_text("/admin/t/acme/log").await;
    assert!(
        log.contains("refused token") && log.contains("revoked token"),
        "{log}"
    );

    // A flood of garbage adds nothing: tokens that are not the tenant's are one kind of
    // refusal (one row a minute), and unknown tenants record nothing.
    for n in 0..(TENANT_BUDGET * 3) {
        let junk = format!("rst_{n:016x}_{}", "A".repeat(43));
        assert_eq!(
            scim_get(&app, "/Users", &junk, "curl/8").await.status(),
            401
        );
        let unknown = app
            .client
            .get(app.url("/scim/v2/nobody/Users"))
            .bearer_auth(&junk)
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 401);
    }
    let refused = rows(&app, &acme, AUTH_REJECTED).await;
    assert!(refused.len() <= TENANT_BUDGET as usize);
    assert_eq!(refused.len(), 2, "{refused:?}");
    let unknown = refused
        .iter()
        .find(|r| {
            r.detail
                .as_deref()
                .unwrap_or_default()
                .contains("not valid for this tenant")
        })
        .unwrap();
    assert!(
        unknown
            .detail
            .as_deref()
            .unwrap()
            .contains("your identity provider"),
        "no provider named for an unknown caller: {unknown:?}"
    );
    assert!(
        !unknown.detail.as_deref().unwrap().contains("rst_0"),
        "an unknown token is not echoed"
    );
}

#[tokio::test]
async fn connection_tests_are_recorded_as_such_and_errors_name_the_caller() {
    let app = spawn_app().await;
    let (mut op, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let token = app
        .services
        .tokens()
        .create_for(&acme, TokenLabel::parse("Okta").unwrap(), None, None)
        .await
        .unwrap();
    let token = token.token.expose_secret().to_owned();

    // Before: the log says nothing happened yet, and so does the check.
    let (_, log) = op.get_text("/admin/t/acme/log").await;
    assert!(log.contains("No SCIM requests yet"), "{log}");

    // Okta's Test Connector Configuration; again at once (one row a minute).
    for _ in 0..3 {
        let answer = scim_get(&app, "/Users?startIndex=1&count=2", &token, OKTA).await;
        assert_eq!(answer.status(), 200);
    }
    // An import page is provisioning, not a test.
    scim_get(&app, "/Users?startIndex=1&count=100", &token, OKTA).await;
    let tests = rows(&app, &acme, CONNECTION_TEST).await;
    assert_eq!(tests.len(), 1, "{tests:?}");
    assert_eq!(
        tests[0].detail.as_deref(),
        Some(
            "Okta tested the connection: it listed users (startIndex=1, count=2) and Roster answered"
        )
    );
    let (_, check) = op.get_text("/admin/t/acme/connect/okta").await;
    assert!(check.contains("Connected."), "{check}");
    assert!(check.contains("id=\"tested\"") && check.contains("Okta tested the connection"));
    let (_, log) = op.get_text("/admin/t/acme/log").await;
    assert!(log.contains("connection test"), "{log}");
    let (_, overview) = op.get_text("/admin/t/acme").await;
    assert!(!overview.contains("No SCIM request yet"), "{overview}");

    // Entra's Test Connection, with another token: recorded, naming Entra.
    let entra = app
        .services
        .tokens()
        .create_for(&acme, TokenLabel::parse("Entra").unwrap(), None, None)
        .await
        .unwrap();
    let filter = "filter=userName%20eq%20%228f2a1b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b%22";
    let answer = scim_get(
        &app,
        &format!("/Users?{filter}"),
        entra.token.expose_secret(),
        "Azure AD SCIM client",
    )
    .await;
    assert_eq!(answer.status(), 200);
    let tests = rows(&app, &acme, CONNECTION_TEST).await;
    assert!(
        tests.iter().any(|t| t
            .detail
            .as_deref()
            .unwrap()
            .starts_with("Microsoft Entra ID tested")),
        "{tests:?}"
    );

    // Refusals name the caller's identity provider, or none.
    let csrf = op.csrf().await;
    op.post(
        "/admin/t/acme/settings",
        &[
            ("csrf", &csrf),
            ("enabled", "on"),
            ("update_users", "on"),
            ("deactivate_users", "on"),
            ("push_groups", "on"),
            ("delete_mode", "delete"),
            ("existing_user", "conflict"),
        ],
    )
    .await;
    for (agent, named) in [
        (OKTA, "in Okta"),
        ("Azure AD SCIM client", "in Microsoft Entra ID"),
        ("OneLogin SCIM", "in OneLogin"),
        ("curl/8", "in your identity provider"),
    ] {
        let answer = app
            .client
            .post(app.url("/scim/v2/acme/Users"))
            .bearer_auth(&token)
            .header("user-agent", agent)
            .header("content-type", "application/scim+json")
            .body(crate::scim::support::okta_user("ada@acme.test").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403);
        let body: serde_json::Value = answer.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.ends_with(named), "{agent}: {detail}");
        if agent != OKTA {
            assert!(!detail.contains("Okta"), "{agent}: {detail}");
        }
    }
}

#[tokio::test]
async fn guides_are_pages_with_the_tenants_urls() {
    let app = spawn_app().await;
    let (mut op, operator_admin) = operator(&app).await;
    tenant(&app, &operator_admin, "acme", "Acme").await;
    let scim_url = format!("{}/scim/v2/acme", app.address);
    for name in [
        "okta",
        "entra",
        "onelogin",
        "jumpcloud",
        "provisioning-settings",
        "trusted-domains",
        "custom-attributes",
        "notification-defaults",
        "locations",
        "api",
        "webhooks",
    ] {
        let response = op.get(&format!("/admin/t/acme/help/{name}")).await;
        assert_eq!(response.status(), 200, "{name}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{name}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("<h1"), "{name}: a heading, not `#`");
        assert!(
            !html.contains("<p># ") && !html.contains("**"),
            "{name}: rendered"
        );
        assert!(html.contains("aria-label=\"Guides\""), "{name}: navigation");
        assert!(
            !html.contains("&lt;tenant&gt;"),
            "{name}: placeholders filled"
        );
        assert!(!html.contains("roster.example.com"), "{name}");
    }
    let (_, okta) = op.get_text("/admin/t/acme/help/okta").await;
    assert!(okta.contains(&scim_url), "{okta}");
    assert!(okta.contains("Test Connector Configuration"));
    let (_, webhooks) = op.get_text("/admin/t/acme/help/webhooks").await;
    assert!(
        webhooks.contains("href=\"/admin/t/acme/help/api\""),
        "guide links stay in the UI"
    );
    let (_, api) = op.get_text("/admin/t/acme/help/api").await;
    assert!(
        api.contains(&format!("{}/api/v1/users", app.address)),
        "{api}"
    );
    // The same guides, signed out, as written.
    let mut anonymous = Browserless::new(&app);
    let (status, page) = anonymous.get_text("/admin/help/okta").await;
    assert_eq!(status, 200);
    assert!(page.contains("https://&lt;roster host&gt;/scim/v2/&lt;tenant&gt;"));
    assert_eq!(anonymous.get_text("/admin/help/nothing").await.0, 404);
    assert_eq!(op.get_text("/admin/t/acme/help/../../etc").await.0, 404);
    // The in-app guide and the documentation are one text.
    let (_, connect) = op.get_text("/admin/t/acme/connect/okta").await;
    assert!(connect.contains("Test Connector Configuration"));
    assert!(connect.contains("Create App Integration"));
    for idp in ["entra", "onelogin", "jumpcloud"] {
        let (status, page) = op.get_text(&format!("/admin/t/acme/connect/{idp}")).await;
        assert_eq!(status, 200);
        assert!(page.contains(&scim_url), "{idp}");
    }
    assert_eq!(op.get_text("/admin/t/acme/connect/google").await.0, 404);
}

#[tokio::test]
async fn the_log_users_and_groups_are_searched_named_and_exported() {
    let app = spawn_app().await;
    let (mut op, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let ada = fixture_user(&app, &acme, "ada@acme.test", "Ada Lovelace", true).await;
    let evil = fixture_user(&app, &acme, "=cmd|' /C calc'!A0", "Mallory", true).await;
    fixture_group(&app, &acme, "Engineering", &[ada]).await;
    fixture_group(&app, &acme, "Sales", &[evil]).await;
    let request = fixture_log(&app, &acme, "user.create", Some(ada), 201, None).await;
    fixture_log(&app, &acme, "user.create", Some(evil), 201, None).await;

    // The log names users by userName, and finds them by it or by request id.
    let (_, log) = op.get_text("/admin/t/acme/log").await;
    assert!(log.contains("User ada@acme.test"), "{log}");
    assert!(!log.contains(&format!("User {ada}")), "{log}");
    let (_, found) = op.get_text("/admin/t/acme/log?q=ADA%40acme").await;
    assert_eq!(found.matches("<tr class=").count(), 1, "{found}");
    let (_, by_id) = op.get_text(&format!("/admin/t/acme/log?q={request}")).await;
    assert!(by_id.contains(&request));
    assert_eq!(by_id.matches("<tr class=").count(), 1);
    let (_, none) = op.get_text("/admin/t/acme/log?q=nobody").await;
    assert!(none.contains("No entries match"));

    // Groups are searched.
    let (_, groups) = op.get_text("/admin/t/acme/groups?q=engin").await;
    assert!(groups.contains("Engineering") && !groups.contains("Sales"));

    // Exports: the filters apply, formulas are defused.
    for (path, expect) in [
        ("/admin/t/acme/users.csv", "ada@acme.test"),
        ("/admin/t/acme/groups.csv?q=sales", "Sales"),
        ("/admin/t/acme/log.csv", "user.create"),
    ] {
        let response = op.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("attachment"),
            "{path}"
        );
        let text = response.text().await.unwrap();
        assert!(text.contains(expect), "{path}: {text}");
        assert!(
            !text.contains(",=cmd") && !text.contains("\n=cmd"),
            "{path}: {text}"
        );
    }
    let users = op
        .get("/admin/t/acme/users.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(users.contains("'=cmd"), "{users}");
    let groups = op
        .get("/admin/t/acme/groups.csv?q=sales")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(groups.lines().count(), 2, "{groups}");
}
