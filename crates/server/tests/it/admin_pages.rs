//! What the tenant pages show: paging of long lists, the connection check, and the
//! admins page (invitations of existing accounts, removal).

use roster_testkit::spawn_app;

use crate::admin_support::*;

#[tokio::test]
async fn long_lists_are_paged() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let mut users = Vec::new();
    for n in 0..55 {
        let id = fixture_user(
            &app,
            &scope,
            &format!("user{n:02}@acme.test"),
            "Pat",
            n % 2 == 0,
        )
        .await;
        users.push(id);
        fixture_log(&app, &scope, "user.create", Some(id), 201, None).await;
    }
    fixture_group(&app, &scope, "Everyone", &users).await;

    let rows = |html: &str| html.matches("<tr").count() - 1;
    let next_link = |html: &str| {
        let marker = "Next page →";
        let end = html.find(marker)?;
        let start = html[..end].rfind("href=\"")? + 6;
        Some(
            html[start..html[start..].find('"')? + start]
                .replace("&#38;", "&")
                .replace("&amp;", "&"),
        )
    };
    let (_, first) = operator_client.get_text("/admin/t/acme/users").await;
    assert_eq!(rows(&first), 50);
    let next = next_link(&first).unwrap();
    let (_, second) = operator_client.get_text(&next).await;
    assert_eq!(rows(&second), 5);
    assert!(next_link(&second).is_none());
    assert!(second.contains("user54@acme.test") && !second.contains("user00@acme.test"));

    let (_, inactive) = operator_client
        .get_text("/admin/t/acme/users?status=inactive")
        .await;
    assert_eq!(rows(&inactive), 27);

    let (_, log) = operator_client.get_text("/admin/t/acme/log").await;
    assert_eq!(rows(&log), 50);
    assert!(log.contains("Older →"));
    let (_, groups) = operator_client.get_text("/admin/t/acme/groups").await;
    assert!(
        groups.contains("Everyone") && groups.contains(">55<"),
        "{groups}"
    );
    let start = groups.find("/groups/").unwrap() + 8;
    let group_id = groups[start..start + 36].to_owned();
    let (_, members) = operator_client
        .get_text(&format!("/admin/t/acme/groups/{group_id}"))
        .await;
    assert_eq!(rows(&members), 50);
    assert!(members.contains("Next page →"));
}

#[tokio::test]
async fn the_connection_check_counts_only_live_tokens() {
    use roster_entity::scim_token;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let (_, html) = operator_client.get_text("/admin/t/acme/connect/okta").await;
    assert!(html.contains("no active SCIM token"), "{html}");

    let label = roster_core::tokens::TokenLabel::parse("Okta").unwrap();
    let token = app
        .services
        .tokens()
        .create(scope.id(), label, None, None)
        .await
        .unwrap();
    let (_, html) = operator_client
        .get_text("/admin/t/acme/connect/entra")
        .await;
    assert!(
        html.contains("has not seen a request with a valid token"),
        "{html}"
    );

    // What the SCIM endpoint records when it accepts the token.
    let used = scim_token::ActiveModel {
        id: Set(token.info.id.0),
        last_used_at: Set(Some(roster_core::time::Timestamp::now().as_micros())),
        ..Default::default()
    };
    used.update(app.services.db().writer()).await.unwrap();
    let (_, html) = operator_client.get_text("/admin/t/acme/connect/okta").await;
    assert!(html.contains("Connected."), "{html}");

    // A revoked token's last use does not count.
    app.services
        .tokens()
        .revoke(&scope, token.info.id)
        .await
        .unwrap();
    let (_, html) = operator_client.get_text("/admin/t/acme/connect/okta").await;
    assert!(!html.contains("Connected."), "{html}");
}

#[tokio::test]
async fn admins_are_invited_once_and_removed_with_their_access() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    tenant(&app, &operator_admin, "globex", "Globex").await;
    let mut it = tenant_admin(&app, &acme, "it@acme.test", "tenant admin password").await;
    let csrf = operator_client.csrf().await;

    // An existing account gains the tenant without a new password.
    let response = operator_client
        .post(
            "/admin/t/globex/admins",
            &[("csrf", &csrf), ("email", "IT@acme.test")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("already have a Roster account"), "{html}");
    assert!(!html.contains("one-time-password"));
    // With two tenants, /admin lists them instead of picking one.
    assert_eq!(location(&it.get("/admin").await), "/admin/tenants");
    let (_, html) = it.get_text("/admin/tenants").await;
    assert!(html.contains("Acme") && html.contains("Globex"));

    for (email, expected) in [
        ("it@acme.test", "already an admin of this tenant"),
        (OPERATOR_EMAIL, "belongs to an operator"),
    ] {
        let response = operator_client
            .post(
                "/admin/t/globex/admins",
                &[("csrf", &csrf), ("email", email)],
            )
            .await;
        assert_eq!(response.status(), 422);
        let html = response.text().await.unwrap();
        assert!(html.to_lowercase().contains(expected), "{html}");
        assert!(html.contains(&format!("value=\"{email}\"")), "input kept");
    }

    // Nobody removes themselves; removing another ends their access to that tenant only.
    let it_admin = find_admin(&app, "it@acme.test").await;
    let remove = format!("/admin/t/acme/admins/{}/remove", it_admin.id.0);
    let it_csrf = it.csrf().await;
    let response = it.post(&remove, &[("csrf", &it_csrf)]).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("cannot remove yourself")
    );
    let (status, html) = operator_client.get_text(&remove).await;
    assert_eq!(status, 200);
    assert!(html.contains("Remove it@acme.test?"));
    let response = operator_client.post(&remove, &[("csrf", &csrf)]).await;
    assert_eq!(location(&response), "/admin/t/acme/admins");
    assert_eq!(it.get_text("/admin/t/acme").await.0, 404);
    assert_eq!(it.get_text("/admin/t/globex").await.0, 200);
}
