//! The audit log: a row for each audited change, with who, what, before/after, the
//! request id the answer carried and the client's address; shown per tenant and to
//! operators, filtered, exported as CSV, and read through the API.

use roster_core::audit::{AuditEntry, AuditFilter, Category};
use roster_core::memberships::TenantAccess;
use roster_core::paging::PageSize;
use roster_core::tokens::TokenLabel;
use roster_testkit::{TestApp, spawn_app};
use secrecy::ExposeSecret;

use crate::admin_support::*;

async fn entries(app: &TestApp, scope: &TenantAccess) -> Vec<AuditEntry> {
    app.services
        .audit()
        .tenant(scope, &AuditFilter::default(), PageSize::new(200))
        .await
        .unwrap()
        .items
}

/// The newest entry with this action.
async fn latest(app: &TestApp, scope: &TenantAccess, action: &str) -> AuditEntry {
    entries(app, scope)
        .await
        .into_iter()
        .find(|e| e.action == action)
        .unwrap_or_else(|| panic!("no {action} entry"))
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_audited_change_leaves_its_row_with_who_what_and_where() {
    let app = spawn_app().await;
    let (mut op, operator_admin) = operator(&app).await;
    let csrf = op.csrf().await;

    // Tenant creation through the form: the operator, the request id, the address.
    let response = op
        .post(
            "/admin/tenants",
            &[("csrf", &csrf), ("slug", "acme"), ("name", "Acme Inc.")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let rid = request_id(&response);
    let acme = app
        .services
        .memberships()
        .access(&operator_admin, "acme")
        .await
        .unwrap()
        .unwrap();
    let created = latest(&app, &acme, "tenant.create").await;
    assert_eq!(created.actor_name, OPERATOR_EMAIL);
    assert_eq!(created.actor_kind, "operator");
    assert_eq!(created.request_id.as_deref(), Some(rid.as_str()));
    assert_eq!(created.client_address.as_deref(), Some("127.0.0.1"));

    // A token: created (label and prefix, never the secret), then revoked.
    let response = op
        .post(
            "/admin/t/acme/tokens",
            &[("csrf", &csrf), ("label", "Okta")],
        )
        .await;
    let rid = request_id(&response);
    let html = response.text().await.unwrap();
    let token = {
        let marker = "id=\"token\" value=\"";
        let at = html.find(marker).unwrap() + marker.len();
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    };
    let entry = latest(&app, &acme, "token.create").await;
    assert_eq!(entry.request_id.as_deref(), Some(rid.as_str()));
    assert!(
        entry
            .target_name
            .as_deref()
            .unwrap()
            .starts_with("Okta (rst_")
    );
    // `rst_<public id>_<secret>`; the secret is base64url and may itself hold `_`.
    let secret = token.splitn(3, '_').nth(2).unwrap();
    assert!(secret.len() >= 40, "{token}");
    let everything = format!("{entry:?}");
    assert!(!everything.contains(secret), "no secret in the audit log");
    let id = app
        .services
        .tokens()
        .list(&acme, None, PageSize::DEFAULT)
        .await
        .unwrap()
        .items[0]
        .id;
    op.post(
        &format!("/admin/t/acme/tokens/{}/revoke", id.0),
        &[("csrf", &csrf)],
    )
    .await;
    let entry = latest(&app, &acme, "token.revoke").await;
    assert_eq!(entry.before.unwrap()["status"], "active");
    assert_eq!(entry.after.unwrap()["status"], "revoked");

    // Settings, with what they were and what they became.
    op.post(
        "/admin/t/acme/settings",
        &[
            ("csrf", &csrf),
            ("enabled", "on"),
            ("create_users", "on"),
            ("update_users", "on"),
            ("deactivate_users", "on"),
            ("push_groups", "on"),
            ("delete_mode", "deactivate"),
            ("existing_user", "conflict"),
        ],
    )
    .await;
    let entry = latest(&app, &acme, "settings.update").await;
    assert_eq!(entry.before.as_ref().unwrap()["delete_users"], true);
    assert_eq!(entry.after.as_ref().unwrap()["delete_users"], false);
    // A domain and an API key.
    op.post(
        "/admin/t/acme/domains",
        &[("csrf", &csrf), ("domain", "acme.test")],
    )
    .await;
    assert_eq!(
        latest(&app, &acme, "domain.add")
            .await
            .target_name
            .as_deref(),
        Some("acme.test")
    );
    op.post(
        "/admin/t/acme/api-keys",
        &[("csrf", &csrf), ("label", "Billing")],
    )
    .await;
    latest(&app, &acme, "api_key.create").await;

    // An invitation, revoked; another, accepted; that admin removed.
    op.post(
        "/admin/t/acme/admins",
        &[("csrf", &csrf), ("email", "first@acme.test")],
    )
    .await;
    let (_, admins) = op.get_text("/admin/t/acme/admins").await;
    let invitation = first_id(&admins, "invitations");
    op.post(
        &format!("/admin/t/acme/invitations/{invitation}/revoke"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(
        latest(&app, &acme, "invitation.revoke")
            .await
            .target_name
            .as_deref(),
        Some("first@acme.test")
    );
    let _ = tenant_admin(&app, &acme, "second@acme.test", "tenant admin password").await;
    latest(&app, &acme, "invitation.create").await;
    let joined = latest(&app, &acme, "invitation.accept").await;
    assert_eq!(joined.actor_name, "second@acme.test");
    let (_, admins) = op.get_text("/admin/t/acme/admins").await;
    let admin_id = first_id(&admins, "admins");
    op.post(
        &format!("/admin/t/acme/admins/{admin_id}/remove"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(
        latest(&app, &acme, "admin.remove")
            .await
            .target_name
            .as_deref(),
        Some("second@acme.test")
    );

    // Suspended and resumed.
    for status in ["suspended", "active"] {
        op.post(
            "/admin/t/acme/status",
            &[("csrf", &csrf), ("status", status)],
        )
        .await;
    }
    let suspended = latest(&app, &acme, "tenant.suspend").await;
    assert_eq!(suspended.before.unwrap()["status"], "active");
    latest(&app, &acme, "tenant.resume").await;

    // A change refused at its form leaves no row (the row is the change's own).
    let before = entries(&app, &acme).await.len();
    let refused = op
        .post(
            "/admin/tenants",
            &[("csrf", &csrf), ("slug", "acme"), ("name", "Again")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let refused = op
        .post("/admin/t/acme/tokens", &[("csrf", &csrf), ("label", "")])
        .await;
    assert_eq!(refused.status(), 422);
    assert_eq!(entries(&app, &acme).await.len(), before);

    // The tenant's page shows them, filtered by category and actor; the CSV too.
    let (status, page) = op.get_text("/admin/t/acme/audit").await;
    assert_eq!(status, 200);
    for action in [
        "tenant.create",
        "token.revoke",
        "settings.update",
        "admin.remove",
    ] {
        assert!(page.contains(action), "{action}");
    }
    let (_, tokens_only) = op
        .get_text("/admin/t/acme/audit?category=tokens&actor=admin%40local")
        .await;
    assert!(tokens_only.contains("token.create"));
    assert!(!tokens_only.contains("settings.update"), "{tokens_only}");
    let filtered = app
        .services
        .audit()
        .tenant(
            &acme,
            &AuditFilter {
                category: Some(Category::Admins),
                ..AuditFilter::default()
            },
            PageSize::DEFAULT,
        )
        .await
        .unwrap();
    assert!(
        filtered
            .items
            .iter()
            .all(|e| e.action.starts_with("invitation.") || e.action.starts_with("admin."))
    );
    let csv = op.get("/admin/t/acme/audit.csv?category=tenant").await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("time,tenant,actor_kind,actor,action"));
    assert_eq!(lines.len(), 4, "header + create, suspend, resume: {text}");

    // The operator's page has every tenant; a tenant admin gets 404 there and on
    // another tenant's audit log.
    let (_, all) = op.get_text("/admin/audit?tenant=acme").await;
    assert!(all.contains("tenant.suspend"));
    let globex = tenant(&app, &operator_admin, "globex", "Globex").await;
    let mut acme_admin =
        tenant_admin(&app, &acme, "third@acme.test", "tenant admin password").await;
    assert_eq!(acme_admin.get_text("/admin/t/acme/audit").await.0, 200);
    assert_eq!(acme_admin.get_text("/admin/audit").await.0, 404);
    assert_eq!(acme_admin.get_text("/admin/audit.csv").await.0, 404);
    assert_eq!(acme_admin.get_text("/admin/t/globex/audit").await.0, 404);
    assert_eq!(
        acme_admin.get_text("/admin/t/globex/audit.csv").await.0,
        404
    );
    assert!(
        entries(&app, &globex)
            .await
            .iter()
            .all(|e| e.action == "tenant.create")
    );
}

#[tokio::test]
async fn the_api_reads_the_keys_tenant_audit_log_forward() {
    let app = spawn_app().await;
    let (_, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let other = tenant(&app, &operator_admin, "other", "Other").await;
    let key = app
        .services
        .api_keys()
        .create_for(&acme, TokenLabel::parse("product").unwrap(), None, None)
        .await
        .unwrap();
    for n in 0..3 {
        app.services
            .tokens()
            .create_for(
                &acme,
                TokenLabel::parse(&format!("idp {n}")).unwrap(),
                None,
                None,
            )
            .await
            .unwrap();
        app.services
            .tokens()
            .create_for(&other, TokenLabel::parse("x").unwrap(), None, None)
            .await
            .unwrap();
    }
    let get = |query: String| {
        app.client
            .get(app.url(&format!("/api/v1/audit{query}")))
            .bearer_auth(key.token.expose_secret())
            .send()
    };
    let first: serde_json::Value = get("?limit=2".to_owned())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = first["entries"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["action"], "tenant.create");
    assert_eq!(page[1]["action"], "api_key.create");
    assert_eq!(page[1]["actor"]["kind"], "operator");
    assert_eq!(first["has_more"], true);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest: serde_json::Value = get(format!("?after={cursor}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rest = rest["entries"].as_array().unwrap();
    assert_eq!(rest.len(), 3, "only this tenant's: {rest:?}");
    assert!(rest.iter().all(|e| e["action"] == "token.create"));
    assert!(
        rest[0]["target"]["name"]
            .as_str()
            .unwrap()
            .starts_with("idp 0 (rst_")
    );
    // Bad input is a 400; a SCIM token is refused.
    for query in ["?after=bogus", "?limit=0", "?limit=1001"] {
        assert_eq!(
            get(query.to_owned()).await.unwrap().status(),
            400,
            "{query}"
        );
    }
    let scim = app
        .services
        .tokens()
        .create_for(&acme, TokenLabel::parse("scim").unwrap(), None, None)
        .await
        .unwrap();
    let refused = app
        .client
        .get(app.url("/api/v1/audit"))
        .bearer_auth(scim.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}
