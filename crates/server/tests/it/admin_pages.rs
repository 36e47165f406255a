//! What the tenant pages show: paging of long lists, the connection check, and the
//! admins page (invitation links: shown once, replaced, revoked, used once, expired;
//! removal).

use roster_testkit::spawn_app;
use sea_orm::EntityTrait;

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
        .create_for(&scope, label, None, None)
        .await
        .unwrap();
    let (_, html) = operator_client
        .get_text("/admin/t/acme/connect/entra")
        .await;
    assert!(
        html.contains("has not accepted a request with a token of this tenant"),
        "{html}"
    );

    // What the SCIM endpoint records when it accepts the token.
    let used = scim_token::ActiveModel {
        id: Set(token.info.id.0),
        last_used_at: Set(Some(roster_core::time::Clock::system().now().as_micros())),
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
async fn admins_are_invited_by_single_use_links_revoked_and_removed() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    tenant(&app, &operator_admin, "globex", "Globex").await;
    let csrf = operator_client.csrf().await;
    let invite = |email: &'static str| [("csrf", csrf.clone()), ("email", email.to_owned())];

    // The link is shown once, not cached, and the invitation is listed as pending.
    let form = invite("it@acme.test");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = operator_client.post("/admin/t/acme/admins", &form).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let first = invitation_link_in(&response.text().await.unwrap());
    assert!(
        first.starts_with(&format!("{}/admin/invitations/", app.address)),
        "{first}"
    );
    let (_, page) = operator_client.get_text("/admin/t/acme/admins").await;
    assert!(
        page.contains("pending") && page.contains("it@acme.test"),
        "{page}"
    );
    assert!(!page.contains(&first), "the link is never shown again");
    // Only a digest of the link's secret is stored.
    let secret = first.rsplit('/').next().unwrap().to_owned();
    let stored = roster_entity::admin_invitation::Entity::find()
        .all(app.services.db().reader())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].secret_digest, secret);
    assert_eq!(
        stored[0].secret_digest,
        roster_core::crypto::sha256_hex(secret.as_bytes())
    );

    // Inviting again replaces the pending invitation: the first link stops working.
    let response = operator_client.post("/admin/t/acme/admins", &form).await;
    let second = invitation_link_in(&response.text().await.unwrap());
    let mut invitee = Browserless::new(&app);
    let path = |link: &str| link.trim_start_matches(&app.address).to_owned();
    assert_eq!(invitee.get_text(&path(&first)).await.0, 404);
    // Revoked from the list: the second stops working too.
    let (_, page) = operator_client.get_text("/admin/t/acme/admins").await;
    let id = first_id(&page, "invitations");
    let response = operator_client
        .post(
            &format!("/admin/t/acme/invitations/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&response), "/admin/t/acme/admins");
    let (_, page) = operator_client.get_text("/admin/t/acme/admins").await;
    assert!(page.contains("The invitation has been revoked"), "{page}");
    assert!(!page.contains("pending"), "{page}");
    assert_eq!(invitee.get_text(&path(&second)).await.0, 404);

    // A third link is used: the page is branded with the tenant, the invitee chooses a
    // password and lands signed in on the tenant; the link works once.
    let response = operator_client.post("/admin/t/acme/admins", &form).await;
    let third = invitation_link_in(&response.text().await.unwrap());
    let (status, html) = invitee.get_text(&path(&third)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Join Acme on Roster") && html.contains("it@acme.test"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "a plain form");
    let response = invitee
        .post(
            &path(&third),
            &[("password", "short"), ("confirm", "short")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("at least 12 characters")
    );
    let response = invitee
        .post(
            &path(&third),
            &[
                ("password", "tenant admin password"),
                ("confirm", "tenant admin password!"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let response = invitee
        .accept_invitation(&third, "tenant admin password")
        .await;
    assert_eq!(location(&response), "/admin/t/acme");
    let (status, html) = invitee.get_text("/admin/t/acme").await;
    assert_eq!(status, 200);
    assert!(html.contains("Your account is ready"), "{html}");
    assert_eq!(invitee.get_text(&path(&third)).await.0, 404, "used once");
    let mut again = Browserless::new(&app);
    let response = again
        .post(
            &path(&third),
            &[
                ("password", "another password 1"),
                ("confirm", "another password 1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
    let account = find_tenant_admin(&app, &acme, "it@acme.test")
        .await
        .unwrap();
    assert_eq!(account.tenant_id, Some(acme.id()));
    assert!(!account.must_change_password);

    // An admin of this tenant cannot be invited again; the input is kept.
    let response = operator_client.post("/admin/t/acme/admins", &form).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("already an admin of this tenant"), "{html}");
    assert!(html.contains("value=\"it@acme.test\""), "input kept");
    // The account is for acme only.
    assert_eq!(invitee.get_text("/admin/t/globex").await.0, 404);

    // Nobody removes themselves; removing another deletes their account and ends their
    // sessions.
    let remove = format!("/admin/t/acme/admins/{}/remove", account.id.0);
    let it_csrf = invitee.csrf().await;
    let response = invitee.post(&remove, &[("csrf", &it_csrf)]).await;
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
    assert_eq!(
        location(&invitee.get("/admin/t/acme").await),
        "/admin/login?tenant=acme"
    );
    assert!(
        find_tenant_admin(&app, &acme, "it@acme.test")
            .await
            .is_none()
    );
    let response = invitee
        .sign_in_to("acme", "it@acme.test", "tenant admin password")
        .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn expired_invitations_name_their_tenant_and_create_nothing() {
    // The services' clock stands still until the test moves it past the link's hour.
    let clock = roster_core::time::Clock::manual(roster_core::time::Clock::system().now());
    let app = roster_testkit::TestApp::builder()
        .invitation_ttl(std::time::Duration::from_secs(3600))
        .clock(clock.clone())
        .spawn()
        .await;
    let (_, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme Inc.").await;
    let link = invitation_link(&app, &acme, "late@acme.test").await;
    clock.advance(std::time::Duration::from_secs(3_599));
    let mut early = Browserless::new(&app);
    let (status, _) = early.get_text(link.trim_start_matches(&app.address)).await;
    assert_eq!(
        status, 200,
        "a second before its hour ends, the link still works"
    );
    clock.advance(std::time::Duration::from_secs(2));
    let mut invitee = Browserless::new(&app);
    let path = link.trim_start_matches(&app.address).to_owned();
    let (status, html) = invitee.get_text(&path).await;
    assert_eq!(status, 410);
    assert!(
        html.contains("Acme Inc.") && html.contains("expired"),
        "{html}"
    );
    let response = invitee
        .post(
            &path,
            &[
                ("password", "a long enough password"),
                ("confirm", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 410);
    assert!(
        find_tenant_admin(&app, &acme, "late@acme.test")
            .await
            .is_none()
    );
    // Expired invitations are not listed as pending.
    assert!(
        app.services
            .invitations()
            .pending(&acme)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Two admins of a tenant removing each other at the same moment remove one: the second
/// finds its own account gone and changes nothing, so the tenant keeps an admin.
#[tokio::test]
async fn two_admins_removing_each_other_at_once_leave_one() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let _ = tenant_admin(&app, &acme, "ada@acme.test", "ada's password 1").await;
    let _ = tenant_admin(&app, &acme, "bob@acme.test", "bob's password 1").await;
    let ada = find_tenant_admin(&app, &acme, "ada@acme.test")
        .await
        .unwrap();
    let bob = find_tenant_admin(&app, &acme, "bob@acme.test")
        .await
        .unwrap();
    let memberships = app.services.memberships();
    let (ada_removes_bob, bob_removes_ada) = tokio::join!(
        memberships.remove(&acme, bob.id, &ada),
        memberships.remove(&acme, ada.id, &bob),
    );
    assert!(
        ada_removes_bob.is_ok() != bob_removes_ada.is_ok(),
        "{ada_removes_bob:?} {bob_removes_ada:?}"
    );
    let refused = ada_removes_bob.err().or(bob_removes_ada.err()).unwrap();
    assert!(
        refused.to_string().contains("your own account was removed"),
        "{refused}"
    );
    let left = [
        find_tenant_admin(&app, &acme, "ada@acme.test").await,
        find_tenant_admin(&app, &acme, "bob@acme.test").await,
    ];
    assert_eq!(left.iter().flatten().count(), 1, "one admin stays");
}
