//! Tenant policy through the admin UI's pages and forms: the operator's defaults for new
//! tenants (configuration and admin UI), "default" vs "changed" on the settings page,
//! provisioning that starts off (overview and connect page say so), the users outside
//! the verified domains deactivated in one action, and each domain's SCIM secrets.

use roster_core::audit::AuditFilter;
use roster_core::paging::PageSize;
use roster_core::rules::{DeactivateMode, ExistingUser, ProvisioningSettings};
use roster_core::tokens::TokenLabel;
use roster_testkit::TestApp;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::admin_support::*;
use crate::rules::support::access;
use crate::scim::support::Scim;

fn mark<'a>(html: &'a str, field: &str) -> &'a str {
    let marker = format!("id=\"mark-{field}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no mark for {field}"))
        + marker.len();
    &html[start..start + html[start..].find('<').unwrap()]
}

#[tokio::test]
async fn new_tenants_start_with_the_operators_defaults() {
    // The configuration: Tribeloo's policy (provisioning starts off, deletes on
    // deactivation), no groups, override, verified domains only.
    let configured = ProvisioningSettings {
        enabled: false,
        push_groups: false,
        existing_user: ExistingUser::Override,
        deactivate_mode: DeactivateMode::Delete,
        domains_only: true,
        ..ProvisioningSettings::default()
    };
    let app = std::sync::Arc::new(TestApp::builder().tenant_defaults(configured).spawn().await);
    let (mut op, operator_admin) = operator(&app).await;
    let csrf = op.csrf().await;
    let response = op
        .post(
            "/admin/tenants",
            &[("csrf", &csrf), ("slug", "tribeloo"), ("name", "Tribeloo")],
        )
        .await;
    assert_eq!(location(&response), "/admin/t/tribeloo");
    let (_, tribeloo) = access(&app, "tribeloo").await;
    let rules = app.services.rules();
    assert_eq!(rules.rules(&tribeloo).await.unwrap().settings, configured);

    // Every setting is the default, and says so.
    let (_, html) = op.get_text("/admin/t/tribeloo/settings").await;
    for field in [
        "enabled",
        "push_groups",
        "deactivate_mode",
        "domains_only",
        "existing_user",
    ] {
        assert_eq!(mark(&html, field), "default", "{field}");
    }

    // Provisioning is off: SCIM refuses, the overview and the connect page say so.
    let token = app
        .services
        .tokens()
        .create_for(&tribeloo, TokenLabel::parse("Okta").unwrap(), None, None)
        .await
        .unwrap();
    let scim = Scim {
        app: app.clone(),
        base: app.url("/scim/v2/tribeloo"),
        token: token.token.expose_secret().to_owned(),
        slug: "tribeloo".to_owned(),
    };
    scim.get("/Users").await.assert_error(403, None);
    let (_, html) = op.get_text("/admin/t/tribeloo").await;
    assert!(
        html.contains("Provisioning is off for this tenant"),
        "{html}"
    );
    assert!(html.contains("Turn provisioning on"), "{html}");
    assert!(!html.contains("badge-ok\">connected"), "{html}");
    let (_, html) = op.get_text("/admin/t/tribeloo/connect/okta").await;
    assert!(html.contains("id=\"provisioning-paused\""), "{html}");
    assert!(!html.contains("Connected."), "{html}");

    // Tribeloo's "Enable User provisioning": one button on the overview.
    let response = op
        .post(
            "/admin/t/tribeloo/settings/provisioning",
            &[("csrf", &csrf), ("enabled", "on")],
        )
        .await;
    assert_eq!(location(&response), "/admin/t/tribeloo");
    assert_eq!(scim.get("/Users").await.status, 200);
    // Still not "connected": an action is off, and the pages name it.
    let (_, html) = op.get_text("/admin/t/tribeloo").await;
    assert!(html.contains("“Push groups” is turned off"), "{html}");
    assert!(!html.contains("badge-ok\">connected"), "{html}");
    let (_, html) = op.get_text("/admin/t/tribeloo/connect/okta").await;
    assert!(html.contains("“Push groups” is turned off"), "{html}");
    assert!(!html.contains("Connected."), "{html}");
    let (_, html) = op.get_text("/admin/t/tribeloo/settings").await;
    assert_eq!(mark(&html, "enabled"), "changed (default: off)");
    assert_eq!(mark(&html, "push_groups"), "default");

    // The operator saves other defaults in the admin UI: they win over the
    // configuration for tenants created from now on, and are audited.
    let response = op
        .post(
            "/admin/defaults",
            &[
                ("csrf", &csrf),
                ("enabled", "on"),
                ("create_users", "on"),
                ("update_users", "on"),
                ("deactivate_users", "on"),
                ("delete_users", "on"),
                ("push_groups", "on"),
                ("existing_user", "override"),
                ("deactivate_mode", "keep"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin/defaults?done=saved");
    let (_, html) = op.get_text("/admin/defaults?done=saved").await;
    assert!(html.contains(OPERATOR_EMAIL), "who saved them: {html}");
    let saved = ProvisioningSettings {
        existing_user: ExistingUser::Override,
        ..ProvisioningSettings::default()
    };
    assert_eq!(
        app.services
            .tenant_defaults()
            .current()
            .await
            .unwrap()
            .settings,
        saved
    );
    let audit = app
        .services
        .audit()
        .all(
            &operator_admin,
            None,
            &AuditFilter::default(),
            PageSize::new(5),
        )
        .await
        .unwrap();
    let entry = audit
        .items
        .iter()
        .find(|e| e.action == "settings.defaults")
        .expect("an audit entry");
    assert_eq!(entry.before.as_ref().unwrap()["enabled"], false);
    assert_eq!(entry.after.as_ref().unwrap()["enabled"], true);
    assert_eq!(entry.actor_name, OPERATOR_EMAIL);

    let teamgo = tenant(&app, &operator_admin, "teamgo", "Teamgo").await;
    assert_eq!(rules.rules(&teamgo).await.unwrap().settings, saved);
    // Tribeloo keeps its settings; its page now compares them with the new defaults.
    let (_, html) = op.get_text("/admin/t/tribeloo/settings").await;
    assert_eq!(mark(&html, "enabled"), "default");
    assert_eq!(mark(&html, "push_groups"), "changed (default: on)");
    assert_eq!(
        mark(&html, "deactivate_mode"),
        "changed (default: keep the user inactive)"
    );

    // Back to the configuration's defaults.
    let response = op.post("/admin/defaults/reset", &[("csrf", &csrf)]).await;
    assert_eq!(location(&response), "/admin/defaults?done=reset");
    let globex = tenant(&app, &operator_admin, "globex", "Globex").await;
    assert_eq!(rules.rules(&globex).await.unwrap().settings, configured);

    // A tenant admin sees no such page and cannot post it.
    let mut admin = tenant_admin(&app, &teamgo, "it@teamgo.test", "tenant admin password").await;
    let (status, _) = admin.get_text("/admin/defaults").await;
    assert_eq!(status, 404);
    let admin_csrf = admin.csrf().await;
    let response = admin
        .post(
            "/admin/defaults",
            &[
                ("csrf", &admin_csrf),
                ("existing_user", "conflict"),
                ("deactivate_mode", "keep"),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        app.services
            .tenant_defaults()
            .current()
            .await
            .unwrap()
            .settings,
        configured
    );
}

#[tokio::test]
async fn users_outside_the_verified_domains_are_deactivated_in_one_action() {
    let scim = Scim::new().await;
    let globex = scim.tenant("globex").await;
    let (mut op, _) = operator(&scim.app).await;
    let csrf = op.csrf().await;
    let (_, acme) = access(&scim.app, "acme").await;

    // Provisioned before any domain was verified: two outsiders, an insider, a user of
    // a subdomain (not included), an inactive outsider — and many seeded outsiders, more
    // than one chunk of the action.
    let early = scim.create_user("early@gmail.com").await;
    let ada = scim.create_user("ada@acme.test").await;
    let eu = scim.create_user("bob@eu.acme.test").await;
    let gone = scim.create_user("gone@gmail.com").await;
    let deactivate =
        crate::scim::support::patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(
        scim.patch(&format!("/Users/{gone}"), deactivate)
            .await
            .status,
        200
    );
    scim.seed_users("seed", 501).await;
    let other = globex.create_user("other@gmail.com").await;

    let (_, html) = op.get_text("/admin/t/acme/domains/outsiders").await;
    assert!(
        html.contains("id=\"blocked\""),
        "no verified domain yet: {html}"
    );
    let response = op
        .post(
            "/admin/t/acme/domains/outsiders/deactivate",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        location(&response),
        "/admin/t/acme/domains/outsiders",
        "never the whole tenant"
    );
    assert_eq!(
        scim.get(&format!("/Users/{ada}")).await.body["active"],
        true
    );

    op.post(
        "/admin/t/acme/domains",
        &[("csrf", &csrf), ("domain", "acme.test")],
    )
    .await;
    let (_, html) = op.get_text("/admin/t/acme/domains").await;
    let domain = first_id(&html, "domains");
    op.post(
        &format!("/admin/t/acme/domains/{domain}/mark-verified"),
        &[("csrf", &csrf)],
    )
    .await;

    // The list: a page at a time, with the count.
    let (status, html) = op.get_text("/admin/t/acme/domains/outsiders").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<strong>503</strong> active user(s) outside acme.test"),
        "{html}"
    );
    assert!(
        html.contains("early@gmail.com") && html.contains("bob@eu.acme.test"),
        "{html}"
    );
    assert!(
        !html.contains("ada@acme.test") && !html.contains("gone@gmail.com"),
        "{html}"
    );
    assert!(
        !html.contains("other@gmail.com"),
        "another tenant's user: {html}"
    );
    assert!(html.contains("Next page"), "{html}");
    let (status, html) = op
        .get_text("/admin/t/acme/domains/outsiders/deactivate")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Deactivate 503 user(s)"), "{html}");

    let events_before = scim.events().await.len();
    let response = op
        .post(
            "/admin/t/acme/domains/outsiders/deactivate",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        location(&response),
        "/admin/t/acme/domains/outsiders?deactivated=503"
    );
    let (_, html) = op.get_text(&location(&response)).await;
    assert!(html.contains("503 user(s) deactivated."), "{html}");
    assert!(
        html.contains("Every active user is in a verified domain."),
        "{html}"
    );

    for (id, active) in [(&early, false), (&eu, false), (&ada, true), (&gone, false)] {
        let user = scim.get(&format!("/Users/{id}")).await;
        assert_eq!(user.body["active"], active, "{user:?}");
    }
    assert_eq!(
        globex.get(&format!("/Users/{other}")).await.body["active"],
        true
    );
    let events = scim.events().await;
    let new: Vec<_> = events[events_before..].iter().collect();
    assert_eq!(new.len(), 503);
    assert!(new.iter().all(|e| e.event_type == "user.deactivated"));
    let early_event = new
        .iter()
        .find(|e| e.resource_id.to_string() == early)
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(&early_event.payload).unwrap();
    assert_eq!(data["scim"]["active"], false);
    assert_eq!(
        scim.get(&format!("/Users/{early}")).await.body["meta"]["version"],
        "W/\"2\""
    );
    let audit = scim
        .app
        .services
        .audit()
        .tenant(&acme, &AuditFilter::default(), PageSize::new(5))
        .await
        .unwrap();
    let chunks: Vec<_> = audit
        .items
        .iter()
        .filter(|e| e.action == "domain.deactivate_outsiders")
        .map(|e| e.after.as_ref().unwrap()["deactivated"].as_u64().unwrap())
        .collect();
    assert_eq!(chunks.iter().sum::<u64>(), 503);
    assert_eq!(chunks.len(), 2, "two chunks");
    // Deactivated users can be reactivated by the IdP once in a verified domain only.
    let reactivate =
        crate::scim::support::patch_op(json!([{"op": "replace", "value": {"active": true}}]));
    scim.patch(&format!("/Users/{early}"), reactivate)
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn each_domain_card_shows_and_adds_its_scim_secrets() {
    let app = roster_testkit::spawn_app().await;
    let (mut op, operator_admin) = operator(&app).await;
    tenant(&app, &operator_admin, "teamup", "Teamup").await;
    let csrf = op.csrf().await;
    op.post(
        "/admin/t/teamup/domains",
        &[("csrf", &csrf), ("domain", "example.com")],
    )
    .await;
    let (_, html) = op.get_text("/admin/t/teamup/domains").await;
    let domain = first_id(&html, "domains");
    assert!(!html.contains("+ Add SCIM secret"), "unverified: {html}");
    assert!(
        html.contains("Verify the domain to add a SCIM secret"),
        "{html}"
    );
    op.post(
        &format!("/admin/t/teamup/domains/{domain}/mark-verified"),
        &[("csrf", &csrf)],
    )
    .await;
    let (_, html) = op.get_text("/admin/t/teamup/domains").await;
    assert!(html.contains("+ Add SCIM secret"), "{html}");
    assert!(
        html.contains("No SCIM token is limited to this domain."),
        "{html}"
    );

    // The card's form, as the browser posts it.
    let response = op
        .post(
            "/admin/t/teamup/tokens",
            &[
                ("csrf", &csrf),
                ("domain", &domain),
                ("label", "Okta – example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("rst_"), "the secret is shown once: {html}");
    let (_, html) = op.get_text("/admin/t/teamup/domains").await;
    assert!(
        html.contains("<strong>Okta – example.com</strong>"),
        "{html}"
    );
    assert!(
        !html.contains("No SCIM token is limited to this domain."),
        "{html}"
    );
    // A whole-tenant token is not on the card.
    let (_, scope) = access(&app, "teamup").await;
    app.services
        .tokens()
        .create_for(
            &scope,
            TokenLabel::parse("Whole tenant").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    let (_, html) = op.get_text("/admin/t/teamup/domains").await;
    assert!(!html.contains("Whole tenant"), "{html}");
}
