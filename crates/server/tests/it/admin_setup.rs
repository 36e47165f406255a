//! Setup links over HTTP, as a browser without JavaScript uses them: created once by an
//! admin, opened by someone without an account, limited to what the link allows, every
//! use audited, ended by revocation or expiry.

use roster_core::audit::AuditFilter;
use roster_core::paging::PageSize;
use roster_entity::setup_link;
use roster_testkit::{TestApp, spawn_app};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::admin_support::*;

/// The link on the page that answers the creation of a setup link.
pub fn setup_link_in(html: &str) -> String {
    let marker = "id=\"setup-link\" value=\"";
    let start = html.find(marker).expect("the page shows the link") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Creates a setup link on the tenant's page, as an admin does.
pub async fn create_link(
    client: &mut Browserless,
    slug: &str,
    label: &str,
    abilities: &[&str],
) -> String {
    let csrf = client.csrf().await;
    let mut form = vec![("csrf", csrf.as_str()), ("label", label), ("expires", "72")];
    for ability in abilities {
        form.push(("ability", ability));
    }
    let response = client
        .post(&format!("/admin/t/{slug}/setup-links"), &form)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    setup_link_in(&html)
}

fn path_of(link: &str) -> String {
    let at = link.find("/admin/setup/").expect("a setup link");
    link[at..].to_owned()
}

async fn actions(app: &TestApp, scope: &roster_core::memberships::TenantAccess) -> Vec<String> {
    app.services
        .audit()
        .tenant(scope, &AuditFilter::default(), PageSize::new(200))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| format!("{} by {} ({})", e.action, e.actor_name, e.actor_kind))
        .collect()
}

#[tokio::test]
async fn a_setup_link_opens_only_what_it_allows_until_it_is_revoked() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme Inc.").await;
    tenant(&app, &operator_admin, "globex", "Globex").await;
    let mut admin = tenant_admin(&app, &acme, "it@acme.test", "tenant admin password").await;

    // A tenant admin creates a link for the guide and tokens only; shown once.
    let link = create_link(&mut admin, "acme", "Jane, Acme IT", &["guide", "tokens"]).await;
    assert!(link.starts_with(&app.address), "{link}");
    let (_, list) = admin.get_text("/admin/t/acme/setup-links").await;
    assert!(list.contains("Jane, Acme IT"), "{list}");
    assert!(!list.contains(&path_of(&link)), "never shown again");
    // Labels are checked inline; nothing is created.
    let csrf = admin.csrf().await;
    let refused = admin
        .post(
            "/admin/t/acme/setup-links",
            &[("csrf", &csrf), ("label", " "), ("expires", "5")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("label-error") && html.contains("expires-error"));
    assert!(html.contains("abilities-error"), "{html}");

    // The holder, signed out: the page names the tenant; opening it uses nothing.
    let mut holder = Browserless::new(&app);
    let (status, landing) = holder.get_text(&path_of(&link)).await;
    assert_eq!(status, 200);
    assert!(
        landing.contains("Set up provisioning for Acme Inc."),
        "{landing}"
    );
    assert!(landing.contains("SCIM tokens") && landing.contains("Jane, Acme IT"));
    assert!(!landing.contains("<script>"), "no inline script");
    let row = setup_link::Entity::find()
        .one(app.services.db().reader())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.uses, 0, "a GET (a link preview) uses nothing");
    // Starting from another site is refused.
    let forged = holder
        .post_from(&path_of(&link), &[], Some("https://evil.example"))
        .await;
    assert_eq!(forged.status(), 403);
    let started = holder.post(&path_of(&link), &[]).await;
    assert_eq!(started.status(), 303);
    assert_eq!(location(&started), "/admin/t/acme/connect/okta");
    assert!(holder.cookies.contains_key("roster_setup"));
    assert!(holder.session_cookie().is_none(), "no account session");

    // Allowed: the guide and the tokens; nothing else of this tenant, nothing of another.
    let (status, guide) = holder.get_text("/admin/t/acme/connect/okta").await;
    assert_eq!(status, 200);
    assert!(guide.contains(&format!("{}/scim/v2/acme", app.address)));
    assert!(
        guide.contains("Setting up provisioning for"),
        "branded: {guide}"
    );
    assert!(
        !guide.contains("/admin/t/acme/webhooks"),
        "no tabs it cannot open"
    );
    for page in [
        "/admin/t/acme/tokens",
        "/admin/t/acme/connect/entra",
        "/admin/t/acme/help/jumpcloud",
    ] {
        assert_eq!(holder.get_text(page).await.0, 200, "{page}");
    }
    for page in [
        "/admin/t/acme",
        "/admin/t/acme/log",
        "/admin/t/acme/users",
        "/admin/t/acme/groups",
        "/admin/t/acme/settings",
        "/admin/t/acme/webhooks",
        "/admin/t/acme/admins",
        "/admin/t/acme/api-keys",
        "/admin/t/acme/setup-links",
        "/admin/t/acme/audit",
        "/admin/t/globex/tokens",
        "/admin/t/globex/connect/okta",
    ] {
        let (status, _) = holder.get_text(page).await;
        assert!(status == 404 || status == 303, "{page}: {status}");
        if status == 303 {
            // Pages for signed-in admins send the holder to the sign-in page.
            let response = holder.get(page).await;
            assert!(location(&response).starts_with("/admin/login"), "{page}");
        }
    }
    assert_eq!(holder.get_text("/admin/tenants").await.0, 303);

    // The holder creates a token (CSRF of the setup session required) and revokes it.
    let (_, tokens) = holder.get_text("/admin/t/acme/tokens").await;
    let csrf = csrf_in(&tokens);
    let forged = holder
        .post(
            "/admin/t/acme/tokens",
            &[("csrf", "wrong"), ("label", "Forged")],
        )
        .await;
    assert_eq!(forged.status(), 403);
    let created = holder
        .post(
            "/admin/t/acme/tokens",
            &[("csrf", &csrf), ("label", "Okta from setup")],
        )
        .await;
    assert_eq!(created.status(), 200);
    let tokens = app
        .services
        .tokens()
        .list(&acme, None, PageSize::DEFAULT)
        .await
        .unwrap()
        .items;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].label, "Okta from setup");
    let revoked = holder
        .post(
            &format!("/admin/t/acme/tokens/{}/revoke", tokens[0].id.0),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status(), 303);
    // Settings are not the link's: a forged post is refused like the page.
    let settings = holder
        .post(
            "/admin/t/acme/settings",
            &[("csrf", &csrf), ("enabled", "")],
        )
        .await;
    assert!(
        settings.status() == 303 || settings.status() == 404,
        "{}",
        settings.status()
    );

    // Every use and every change is in the audit log, the link as the actor.
    let log = actions(&app, &acme).await;
    for expected in [
        "setup_link.create by it@acme.test (admin)",
        "setup_link.use by Jane, Acme IT (setup_link)",
        "token.create by Jane, Acme IT (setup_link)",
        "token.revoke by Jane, Acme IT (setup_link)",
    ] {
        assert!(log.iter().any(|l| l == expected), "{expected} in {log:?}");
    }
    let row = setup_link::Entity::find()
        .one(app.services.db().reader())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.uses, 1);

    // The operator revokes it: the holder's next request ends the session (410).
    let (_, list) = operator_client.get_text("/admin/t/acme/setup-links").await;
    let id = first_id(&list, "setup-links");
    let csrf = operator_client.csrf().await;
    let response = operator_client
        .post(
            &format!("/admin/t/acme/setup-links/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, page) = holder.get_text("/admin/t/acme/connect/okta").await;
    assert_eq!(status, 410);
    assert!(page.contains("Setup session ended"), "{page}");
    assert!(
        !holder.cookies.contains_key("roster_setup"),
        "cookie cleared"
    );
    let (status, landing) = holder.get_text(&path_of(&link)).await;
    assert_eq!(status, 410);
    assert!(landing.contains("Acme Inc.") && landing.contains("revoked"));
    assert_eq!(holder.post(&path_of(&link), &[]).await.status(), 410);
    let log = actions(&app, &acme).await;
    assert!(
        log.iter()
            .any(|l| l == "setup_link.revoke by admin@localhost (operator)"),
        "{log:?}"
    );
}

#[tokio::test]
async fn an_expired_link_and_a_garbled_one_open_nothing() {
    let app = spawn_app().await;
    let (mut client, operator_admin) = operator(&app).await;
    tenant(&app, &operator_admin, "acme", "Acme Inc.").await;
    let link = create_link(&mut client, "acme", "Later", &["log"]).await;
    let mut holder = Browserless::new(&app);
    assert_eq!(holder.post(&path_of(&link), &[]).await.status(), 303);
    assert_eq!(holder.get_text("/admin/t/acme/log").await.0, 200);
    assert_eq!(holder.get_text("/admin/t/acme/tokens").await.0, 404);
    setup_link::Entity::update_many()
        .col_expr(setup_link::Column::ExpiresAt, Expr::value(1_i64))
        .filter(setup_link::Column::Label.eq("Later"))
        .exec(app.services.db().writer())
        .await
        .unwrap();
    assert_eq!(holder.get_text("/admin/t/acme/log").await.0, 410);
    let (status, page) = holder.get_text(&path_of(&link)).await;
    assert_eq!(status, 410);
    assert!(page.contains("no longer works"), "{page}");
    for garbled in [
        "/admin/setup/x",
        "/admin/setup/%00",
        &format!("{}x", path_of(&link)),
    ] {
        assert_eq!(holder.get_text(garbled).await.0, 404, "{garbled}");
    }
    // Ending the session by hand works the same way.
    let link = create_link(&mut client, "acme", "Now", &["users"]).await;
    let mut holder = Browserless::new(&app);
    assert_eq!(holder.post(&path_of(&link), &[]).await.status(), 303);
    let (_, users) = holder.get_text("/admin/t/acme/users").await;
    let csrf = csrf_in(&users);
    let ended = holder.post("/admin/setup/end", &[("csrf", &csrf)]).await;
    assert_eq!(ended.status(), 200);
    assert!(!holder.cookies.contains_key("roster_setup"));
    assert_eq!(holder.get_text("/admin/t/acme/users").await.0, 303);
}

/// A setup session that has ended is deleted when the next one starts, whichever
/// tenant's it was: the table does not keep every session ever opened.
#[tokio::test]
async fn setup_sessions_that_ended_are_swept_when_the_next_one_starts() {
    use roster_entity::setup_session;
    let app = spawn_app().await;
    let (mut client, operator_admin) = operator(&app).await;
    tenant(&app, &operator_admin, "acme", "Acme Inc.").await;
    tenant(&app, &operator_admin, "globex", "Globex").await;
    let first = create_link(&mut client, "acme", "First", &["log"]).await;
    for _ in 0..2 {
        let mut holder = Browserless::new(&app);
        assert_eq!(holder.post(&path_of(&first), &[]).await.status(), 303);
    }
    let db = app.services.db();
    assert_eq!(
        setup_session::Entity::find()
            .all(db.reader())
            .await
            .unwrap()
            .len(),
        2
    );
    setup_session::Entity::update_many()
        .col_expr(setup_session::Column::ExpiresAt, Expr::value(1_i64))
        .exec(db.writer())
        .await
        .unwrap();
    let second = create_link(&mut client, "globex", "Second", &["log"]).await;
    let mut holder = Browserless::new(&app);
    assert_eq!(holder.post(&path_of(&second), &[]).await.status(), 303);
    assert_eq!(holder.get_text("/admin/t/globex/log").await.0, 200);
    let left = setup_session::Entity::find()
        .all(db.reader())
        .await
        .unwrap();
    let second_link = setup_link::Entity::find()
        .filter(setup_link::Column::Label.eq("Second"))
        .one(db.reader())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].link_id, second_link.id);
}
