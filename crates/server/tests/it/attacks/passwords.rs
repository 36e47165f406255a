//! Password hashing and one-time passwords (issue 11, items 3 and 4), attacked over HTTP:
//! hashing is bounded and beyond the bound the answer is "try again"; one-time passwords
//! expire and name the command that replaces them.

use futures_util::future::join_all;
use roster_core::admins::{AccountScope, AdminEmail, NewPassword, Role};
use roster_core::hashing::HashingSettings;
use roster_entity::admin;
use roster_testkit::{TestApp, spawn_app};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use secrecy::{ExposeSecret, SecretString};

use crate::admin_support::*;
use crate::attacks::accounts::OWNER_PASSWORD;

/// Item 4: beyond the node's bound on password hashing, sign-ins are answered at once
/// with 503 and `Retry-After` — nothing waits without end, nothing is counted against
/// the account — and the same bound covers a token's first verification.
#[tokio::test]
async fn password_hashing_is_bounded_and_beyond_the_bound_the_answer_is_try_again() {
    let app = TestApp::builder()
        .hashing(HashingSettings {
            threads: 1,
            queue: 2,
        })
        .trusted_proxies("127.0.0.1/32")
        .spawn()
        .await;
    let (_, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let _ = tenant_admin(&app, &acme, "it@acme.test", OWNER_PASSWORD).await;

    // A flood of sign-ins from many addresses for many names.
    let checks_before = app.services.hasher().verifications();
    let flood = (0..100).map(|n| {
        let app = &app;
        async move {
            let mut client =
                Browserless::new(app).behind_proxy_as(&format!("10.9.{}.{}", n / 200, n % 200 + 1));
            let response = client
                .sign_in_to("acme", &format!("flood{n}@acme.test"), "a guessed password")
                .await;
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, retry, response.text().await.unwrap())
        }
    });
    let answers = join_all(flood).await;
    let checks = app.services.hasher().verifications() - checks_before;
    let busy: Vec<_> = answers
        .iter()
        .filter(|(status, ..)| *status == 503)
        .collect();
    let checked = answers.iter().filter(|(status, ..)| *status == 422).count();
    assert_eq!(busy.len() + checked, answers.len(), "only 422 or 503");
    assert!(
        !busy.is_empty(),
        "beyond 3 waiting hashes, some are told to try again"
    );
    for (_, retry, html) in &busy {
        assert_eq!(retry.as_deref(), Some("2"));
        assert!(
            html.contains("busy") && html.contains("Try again"),
            "{html}"
        );
    }
    assert_eq!(checks, u64::try_from(checked).unwrap());

    // Deterministically: with every place taken, a sign-in is told to try again and
    // is not counted against the account; once places are free, it is checked.
    let held: Vec<_> = (0..3)
        .map(|_| app.services.hasher().reserve().unwrap())
        .collect();
    for _ in 0..10 {
        let response = Browserless::new(&app)
            .sign_in_to("acme", "it@acme.test", "wrong while busy")
            .await;
        assert_eq!(response.status(), 503);
    }
    // A token's first verification goes through the same bound.
    let token = app
        .services
        .tokens()
        .create_for(
            &acme,
            roster_core::tokens::TokenLabel::parse("Okta").unwrap(),
            None,
            None,
        )
        .await;
    assert!(
        matches!(token, Err(roster_core::Error::Busy)),
        "creating hashes too"
    );
    drop(held);
    let token = app
        .services
        .tokens()
        .create_for(
            &acme,
            roster_core::tokens::TokenLabel::parse("Okta").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    let held: Vec<_> = (0..3)
        .map(|_| app.services.hasher().reserve().unwrap())
        .collect();
    let response = app
        .client
        .get(app.url("/scim/v2/acme/Users"))
        .bearer_auth(token.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    drop(held);
    let response = app
        .client
        .get(app.url("/scim/v2/acme/Users"))
        .bearer_auth(token.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The ten busy answers took nothing from the account's allowance.
    let response = Browserless::new(&app)
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin");
}

/// Item 1: a one-time password stops working after 24 hours; signing in with it says so
/// and names the command that issues a new one; `reset-password` does.
#[tokio::test]
async fn one_time_passwords_expire_and_name_the_command_that_replaces_them() {
    let app = spawn_app().await;
    let bootstrap = app
        .services
        .admins()
        .bootstrap_operator(AdminEmail::parse(OPERATOR_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    let day = std::time::Duration::from_secs(24 * 3600);
    let in_a_day = roster_core::time::Clock::system().now().plus(day);
    assert!(bootstrap.expires_at <= in_a_day);
    assert!(
        bootstrap.expires_at
            > roster_core::time::Clock::system()
                .now()
                .plus(day - std::time::Duration::from_secs(60))
    );

    // A day later.
    let expire = |email: &'static str| {
        let app = &app;
        async move {
            let rows = admin::Entity::find()
                .all(app.services.db().reader())
                .await
                .unwrap();
            let row = rows.into_iter().find(|row| row.email == email).unwrap();
            let mut row: admin::ActiveModel = row.into();
            row.password_expires_at = Set(Some(
                roster_core::time::Clock::system().now().as_micros() - 1,
            ));
            row.update(app.services.db().writer()).await.unwrap();
        }
    };
    expire(OPERATOR_EMAIL).await;
    let mut browser = Browserless::new(&app);
    let response = browser
        .sign_in(OPERATOR_EMAIL, bootstrap.password.expose_secret())
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("one-time password has expired"), "{html}");
    assert!(
        html.contains("roster admin reset-password --email admin@localhost"),
        "{html}"
    );
    assert_eq!(browser.session_cookie(), None);
    // A wrong password says nothing about expiry.
    let response = browser.sign_in(OPERATOR_EMAIL, "not the password").await;
    assert!(!response.text().await.unwrap().contains("expired"));

    // A tenant's admin is told to ask the operator, with the tenant in the command.
    let operator_admin = find_admin(&app, OPERATOR_EMAIL).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    app.services
        .admins()
        .create(
            AdminEmail::parse("temp@acme.test").unwrap(),
            NewPassword::parse(SecretString::from("a temporary password")).unwrap(),
            Role::TenantAdmin(acme.id()),
            true,
        )
        .await
        .unwrap();
    expire("temp@acme.test").await;
    let response = browser
        .sign_in_to("acme", "temp@acme.test", "a temporary password")
        .await;
    let html = response.text().await.unwrap();
    assert!(
        html.contains("roster admin reset-password --tenant acme --email temp@acme.test"),
        "{html}"
    );

    // A new one-time password works (and must be changed).
    let issued = app
        .services
        .admins()
        .reset_password(
            &AccountScope::Operators,
            &AdminEmail::parse(OPERATOR_EMAIL).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let response = browser
        .sign_in(OPERATOR_EMAIL, issued.password.expose_secret())
        .await;
    assert_eq!(location(&response), "/admin/password");
}
