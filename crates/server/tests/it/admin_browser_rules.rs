//! Issue 14's browser journey: the connect page shows both SCIM base URLs, a user
//! provisioned through the shared one lands in the tenant (its log row names it), and
//! "Re-apply rules" previews how many users would change, then changes them.

use roster_entity::user;
use roster_testkit::TestApp;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::admin_support::*;

/// The users' stored host assignments (JSON), as the re-evaluation leaves them.
async fn stored_hosts(app: &TestApp) -> Vec<Option<String>> {
    user::Entity::find()
        .all(app.services.db().reader())
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.hosts)
        .collect()
}

#[tokio::test]
async fn shared_url_and_reapplying_rules_in_the_browser() {
    let app = TestApp::builder().spawn().await;
    let app = &app;
    acme(app).await;
    with_browser(|browser| async move {
        operator_on(&browser, app, "/admin/t/acme").await;

        // Both URLs on the connect page, each with what it is for.
        click(&browser, "nav.tabs a[href$='/connect/okta']").await;
        let tenant_url = value_of(&browser, "#scim-url").await;
        let shared_url = value_of(&browser, "#scim-shared-url").await;
        assert_eq!(tenant_url, app.url("/scim/v2/acme"));
        assert_eq!(shared_url, app.url("/scim/v2"));
        let card = text_of(&browser, "main section.card").await;
        assert!(card.contains("the SCIM token alone decides"), "{card}");

        // A token made on the page works on the shared URL: the user lands in acme.
        click(&browser, "nav.tabs a[href$='/tokens']").await;
        fill(&browser, "#label", "Okta").await;
        click(&browser, "main form button[type=submit]").await;
        let token = value_of(&browser, "#token").await;
        let created = app
            .client
            .post(format!("{shared_url}/Users"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .header("user-agent", "Okta SCIM Client 1.0.0")
            .body(
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ada@acme.test",
                    "name": {"givenName": "Ada", "familyName": "Lovelace"},
                    "emails": [{"primary": true, "value": "ada@acme.test", "type": "work"}],
                    "addresses": [{"type": "work", "locality": "Lyon"}],
                    "active": true
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(&format!("{shared_url}/Users/")),
            "{location}"
        );
        click(&browser, "nav.tabs a[href$='/connect/okta']").await;
        screenshot(&browser, "connect-urls").await;
        browser.goto(&app.url("/admin/t/acme/log")).await.unwrap();
        let log = text_of(&browser, "table.log").await;
        assert!(
            log.contains("user.create") && log.contains("User ada@acme.test"),
            "{log}"
        );

        // A location and a rule: adding the rule makes Ada a host in Lyon.
        browser
            .goto(&app.url("/admin/t/acme/locations"))
            .await
            .unwrap();
        fill(&browser, "#name", "Lyon office").await;
        fill(&browser, "#code", "LYS").await;
        fill(&browser, "#time_zone", "Europe/Paris").await;
        click(
            &browser,
            "main form[action$='/locations'] button[type=submit]",
        )
        .await;
        draft_work_city_rule(&browser, "Lyon").await;
        click(&browser, "main form[action$='/rules'] button[type=submit]").await;
        assert!(stored_hosts(app).await[0].is_some(), "the rule was applied");

        // Users an earlier release left without hosts: "Re-apply rules" previews how
        // many would change, and changes them.
        user::Entity::update_many()
            .col_expr(user::Column::Hosts, Expr::value(Option::<String>::None))
            .filter(user::Column::UserNameLower.eq("ada@acme.test"))
            .exec(app.services.db().writer())
            .await
            .unwrap();
        click(&browser, "a[href$='/locations/reapply']").await;
        let preview = text_of(&browser, "main").await;
        assert!(
            preview.contains("1 user would change (all 1 users checked)"),
            "{preview}"
        );
        screenshot(&browser, "reapply-preview").await;
        click(&browser, "main form button[type=submit]").await;
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("The rules have been re-applied")
        );
        let hosts = stored_hosts(app).await;
        assert!(
            hosts[0].as_deref().is_some_and(|h| h.contains("locations")),
            "{hosts:?}"
        );
        let status = text_of(&browser, "#rehost-status").await;
        assert!(
            status.contains("\"Re-apply rules\"") && status.contains("1 changed"),
            "{status}"
        );
        // Nothing left to change.
        click(&browser, "a[href$='/locations/reapply']").await;
        assert!(
            text_of(&browser, "main")
                .await
                .contains("0 users would change")
        );
    })
    .await;
}
