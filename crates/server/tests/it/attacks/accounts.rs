//! Accounts and sign-in (issue 11, items 1–4), attacked over HTTP as an attacker would:
//! cross-tenant takeover through invitations and its mirror, what the invite form
//! reveals, lockout bypass by concurrency, lockout as denial of service. Password hashing
//! and one-time passwords are in `passwords.rs`.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use roster_core::admins::{AccountScope, AdminEmail};
use roster_core::hashing::verify_blocking;
use roster_core::throttle::{PER_ACCOUNT_AND_ADDRESS, PER_ACCOUNT_UNTRUSTED, PER_ADDRESS};
use roster_entity::login_throttle;
use roster_testkit::{TestApp, spawn_app};
use sea_orm::EntityTrait;

use crate::admin_support::*;

const MALLORY_PASSWORD: &str = "mallory keeps this one";
pub(crate) const OWNER_PASSWORD: &str = "the real owner's password";

/// An admin invites `email` through the admins page and reads the link, once.
async fn invite(client: &mut Browserless, slug: &str, email: &str) -> (u16, String) {
    let csrf = client.csrf().await;
    let response = client
        .post(
            &format!("/admin/t/{slug}/admins"),
            &[("csrf", &csrf), ("email", email)],
        )
        .await;
    (response.status().as_u16(), response.text().await.unwrap())
}

fn path_of_link(app: &TestApp, link: &str) -> String {
    link.trim_start_matches(&app.address).to_owned()
}

/// The stored hash of a tenant's admin account.
async fn stored_hash(app: &TestApp, slug: &str, email: &str) -> Option<String> {
    let tenant = app
        .services
        .tenants()
        .find_by_slug(slug)
        .await
        .unwrap()
        .unwrap();
    app.services
        .admins()
        .password_hash(
            &AccountScope::Tenant(tenant),
            &AdminEmail::parse(email).unwrap(),
        )
        .await
        .unwrap()
}

/// Item 1, the attack: acme's admin invites globex's IT address in acme, claims the
/// account herself, keeps what she got and removes it; later globex invites the same
/// address. She gains nothing in globex.
#[tokio::test]
async fn an_account_claimed_through_one_tenant_gains_nothing_in_another() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    tenant(&app, &operator_admin, "globex", "Globex").await;
    let mut mallory =
        tenant_admin(&app, &acme, "mallory@acme.test", "mallory's own password").await;

    // She invites globex's IT address in acme and claims the account herself.
    let (status, html) = invite(&mut mallory, "acme", "it-admin@globex.example").await;
    assert_eq!(status, 200);
    let claimed = invitation_link_in(&html);
    let mut mallory_second = Browserless::new(&app);
    let response = mallory_second
        .accept_invitation(&claimed, MALLORY_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin/t/acme");
    // A second link for the address, kept unused.
    let (_, html) = invite(&mut mallory, "acme", "spare@globex.example").await;
    let spare = invitation_link_in(&html);
    // She removes the claimed account from acme, keeping its password and link.
    let claimed_account = find_tenant_admin(&app, &acme, "it-admin@globex.example")
        .await
        .unwrap();
    let remove = format!("/admin/t/acme/admins/{}/remove", claimed_account.id.0);
    let csrf = mallory.csrf().await;
    let response = mallory.post(&remove, &[("csrf", &csrf)]).await;
    assert_eq!(location(&response), "/admin/t/acme/admins");

    // Later, globex's operator invites the address; the real IT admin accepts.
    let (status, html) = invite(&mut operator_client, "globex", "it-admin@globex.example").await;
    assert_eq!(status, 200);
    let globex_link = invitation_link_in(&html);
    let mut it_admin = Browserless::new(&app);
    let response = it_admin
        .accept_invitation(&globex_link, OWNER_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin/t/globex");

    // Everything Mallory holds fails against globex.
    let mut attacker = Browserless::new(&app);
    for organization in ["globex", "acme", ""] {
        let response = attacker
            .sign_in_to(organization, "it-admin@globex.example", MALLORY_PASSWORD)
            .await;
        assert_eq!(response.status(), 422, "organization {organization:?}");
        assert_eq!(attacker.session_cookie(), None);
    }
    assert_eq!(
        attacker.get_text(&path_of_link(&app, &claimed)).await.0,
        404,
        "a used link is dead"
    );
    // The spare link still makes an account — in acme, where she is admin anyway.
    let response = attacker.accept_invitation(&spare, MALLORY_PASSWORD).await;
    assert_eq!(location(&response), "/admin/t/acme");
    for client in [&mut attacker, &mut mallory, &mut mallory_second] {
        for path in [
            "/admin/t/globex",
            "/admin/t/globex/admins",
            "/admin/t/globex/users",
            "/admin/t/globex/tokens",
        ] {
            // Not found for her live sessions; the session of the removed account is
            // gone, so that one is sent to sign in.
            let response = client.get(path).await;
            let status = response.status().as_u16();
            let to_sign_in = status == 303 && location(&response).starts_with("/admin/login");
            assert!(status == 404 || to_sign_in, "{path}: {status}");
        }
    }
    assert_eq!(mallory.get_text("/admin/t/globex").await.0, 404);
    // The globex account is the real admin's: their password, not hers.
    let hash = stored_hash(&app, "globex", "it-admin@globex.example")
        .await
        .unwrap();
    assert!(verify_blocking(OWNER_PASSWORD, &hash));
    assert!(!verify_blocking(MALLORY_PASSWORD, &hash));
    assert_eq!(it_admin.get_text("/admin/t/globex").await.0, 200);
    let response = Browserless::new(&app)
        .sign_in_to("globex", "it-admin@globex.example", OWNER_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin");
}

/// Item 1, the mirror: globex's admin invites an address that administers acme (and
/// the operator's address), claims the accounts herself, and gains no power over those
/// accounts, over acme, or over the operator's powers.
#[tokio::test]
async fn inviting_an_address_that_administers_elsewhere_gains_no_power_over_it() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let globex = tenant(&app, &operator_admin, "globex", "Globex").await;
    let mut acme_admin = tenant_admin(&app, &acme, "it@acme.test", OWNER_PASSWORD).await;
    let mut gina = tenant_admin(&app, &globex, "gina@globex.test", "gina's own password").await;
    let acme_hash = stored_hash(&app, "acme", "it@acme.test").await.unwrap();

    for target in ["it@acme.test", OPERATOR_EMAIL] {
        let (status, html) = invite(&mut gina, "globex", target).await;
        assert_eq!(status, 200, "{target}");
        let link = invitation_link_in(&html);
        let mut claimed = Browserless::new(&app);
        let response = claimed.accept_invitation(&link, MALLORY_PASSWORD).await;
        assert_eq!(location(&response), "/admin/t/globex", "{target}");
        // What she made is a globex account, nothing more.
        for path in [
            "/admin/t/acme",
            "/admin/t/acme/admins",
            "/admin/t/acme/users",
        ] {
            assert_eq!(claimed.get_text(path).await.0, 404, "{target} {path}");
        }
        let csrf = claimed.csrf().await;
        let response = claimed
            .post(
                "/admin/tenants",
                &[("csrf", &csrf), ("slug", "mine"), ("name", "Mine")],
            )
            .await;
        assert_eq!(response.status(), 404, "no operator powers");
        // Her password opens neither the acme account nor the operator's.
        let mut attacker = Browserless::new(&app);
        for organization in ["acme", ""] {
            let response = attacker
                .sign_in_to(organization, target, MALLORY_PASSWORD)
                .await;
            assert_eq!(response.status(), 422, "{target} {organization:?}");
        }
    }
    // The accounts she targeted are untouched: same password, sessions alive.
    assert_eq!(
        stored_hash(&app, "acme", "it@acme.test").await.unwrap(),
        acme_hash
    );
    assert_eq!(acme_admin.get_text("/admin/t/acme").await.0, 200);
    assert_eq!(operator_client.get_text("/admin/tenants").await.0, 200);
    let response = Browserless::new(&app)
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin");
    let response = Browserless::new(&app)
        .sign_in(OPERATOR_EMAIL, OPERATOR_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin");
    // And acme's admins page shows only acme's own account.
    let (_, page) = acme_admin.get_text("/admin/t/acme/admins").await;
    assert!(
        !page.contains("gina") && !page.contains(OPERATOR_EMAIL),
        "{page}"
    );
}

/// Item 1: the invite form's answer is the same whether the address is unknown, an
/// admin of another tenant (in any case), an operator's, or invited elsewhere.
#[tokio::test]
async fn the_invite_form_answers_alike_for_every_address() {
    let app = spawn_app().await;
    let (_, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let globex = tenant(&app, &operator_admin, "globex", "Globex").await;
    let _ = tenant_admin(&app, &acme, "it@acme.test", OWNER_PASSWORD).await;
    let _ = invitation_link(&app, &acme, "pending@acme.test").await;
    let mut gina = tenant_admin(&app, &globex, "gina@globex.test", "gina's own password").await;

    let mut answers = BTreeMap::new();
    for email in [
        "nobody@nowhere.test",
        "it@acme.test",
        "IT@ACME.TEST",
        OPERATOR_EMAIL,
        "pending@acme.test",
    ] {
        let (status, html) = invite(&mut gina, "globex", email).await;
        let link = invitation_link_in(&html);
        let normalised = html.replace(&link, "LINK").replace(email, "EMAIL");
        // Times differ by the second; cut them out.
        let normalised: String = normalised
            .split("UTC")
            .map(|part| part.trim_end_matches(|c: char| c.is_ascii_digit() || "-: ".contains(c)))
            .collect();
        answers.insert(email, (status, normalised));
    }
    let first = answers.values().next().unwrap().clone();
    for (email, answer) in &answers {
        assert_eq!(answer.0, 200, "{email}");
        assert_eq!(answer.1, first.1, "the answer for {email} differs");
    }
    for word in ["operator", "already", "account exists", "another"] {
        assert!(
            !first.1.to_lowercase().contains(word),
            "{word}: {}",
            first.1
        );
    }
}

/// Item 2: two hundred concurrent wrong passwords get at most the policy's number of
/// password checks, and then the right password is refused too. Locks are never
/// shortened.
#[tokio::test]
async fn concurrent_wrong_passwords_get_no_more_checks_than_the_policy_allows() {
    let app = spawn_app().await;
    let (_, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let mut owner_browser = tenant_admin(&app, &acme, "it@acme.test", OWNER_PASSWORD).await;
    let checks_before = app.services.hasher().verifications();

    let attempts = (0..200).map(|n| {
        let app = &app;
        async move {
            let mut client = Browserless::new(app);
            let password = format!("guess number {n}");
            client
                .sign_in_to("acme", "it@acme.test", &password)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = join_all(attempts).await;
    let checks = app.services.hasher().verifications() - checks_before;
    let limit = u64::try_from(PER_ACCOUNT_AND_ADDRESS.attempts).unwrap();
    assert!(
        statuses.iter().all(|status| [422, 429].contains(status)),
        "{statuses:?}"
    );
    assert!(checks >= 1, "the first attempts are checked");
    assert!(
        checks <= limit,
        "{checks} password checks for 200 concurrent attempts; the policy allows {limit}"
    );
    assert!(statuses.iter().filter(|s| **s == 422).count() < usize::try_from(limit).unwrap());

    // The lock stands: the right password from a new browser is refused, unchecked.
    let locks = || async {
        login_throttle::Entity::find()
            .all(app.services.db().reader())
            .await
            .unwrap()
            .into_iter()
            .filter_map(|row| row.locked_until)
            .max()
    };
    let lock = locks()
        .await
        .expect("the account is locked from this address");
    let response = Browserless::new(&app)
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(response.status(), 429);
    assert_eq!(
        app.services.hasher().verifications() - checks_before,
        checks,
        "a refused attempt costs no password check"
    );
    for n in 0..20 {
        let response = Browserless::new(&app)
            .sign_in_to("acme", "it@acme.test", &format!("later guess {n}"))
            .await;
        assert_eq!(response.status(), 429);
    }
    assert_eq!(
        locks().await,
        Some(lock),
        "the lock is neither shortened nor moved"
    );

    // The owner's own browser (it signed in when accepting the invitation) still works.
    let response = owner_browser
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin");
}

/// Item 3: an attacker's failures from one address lock that address, not the owner
/// signing in from another; spraying many accounts from one address is throttled; many
/// addresses lock the account for unknown browsers, but not the owner's known one.
#[tokio::test]
async fn an_attacker_cannot_lock_the_owner_out() {
    let app = TestApp::builder()
        .trusted_proxies("127.0.0.1/32")
        .spawn()
        .await;
    let (_, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let _ = tenant_admin(&app, &acme, "it@acme.test", OWNER_PASSWORD).await;

    // One address, fifty failures: throttled after five.
    let mut attacker = Browserless::new(&app).behind_proxy_as("198.51.100.7");
    let mut statuses = Vec::new();
    for n in 0..50 {
        let response = attacker
            .sign_in_to("acme", "it@acme.test", &format!("guess {n}"))
            .await;
        statuses.push(response.status().as_u16());
    }
    let limit = usize::try_from(PER_ACCOUNT_AND_ADDRESS.attempts).unwrap();
    assert!(
        statuses[..limit - 1].iter().all(|s| *s == 422),
        "{statuses:?}"
    );
    assert!(
        statuses[limit - 1..].iter().all(|s| *s == 429),
        "{statuses:?}"
    );
    // The owner, elsewhere, in a browser Roster has never seen: signed in.
    let mut owner = Browserless::new(&app).behind_proxy_as("203.0.113.20");
    let response = owner
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(location(&response), "/admin", "the owner is not locked out");
    // The attacker still is.
    let response = attacker
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(response.status(), 429);

    // Spraying: one address, a guess at each of many accounts.
    let mut sprayer = Browserless::new(&app).behind_proxy_as("198.51.100.8");
    let budget = usize::try_from(PER_ADDRESS.attempts).unwrap();
    for n in 0..budget {
        let response = sprayer
            .sign_in_to("acme", &format!("user{n}@acme.test"), "Winter2026!")
            .await;
        assert_eq!(
            response.status(),
            if n + 1 < budget { 422 } else { 429 },
            "{n}"
        );
    }
    let response = sprayer
        .sign_in_to("acme", "it@acme.test", "Winter2026!")
        .await;
    assert_eq!(response.status(), 429, "the address is throttled");

    // Many addresses: unknown browsers are locked out of the account, the owner's
    // known browser (its device cookie from the sign-in above) is not.
    let per_address = PER_ACCOUNT_AND_ADDRESS.attempts;
    let addresses = PER_ACCOUNT_UNTRUSTED.attempts / per_address + 1;
    for a in 0..addresses {
        let mut bot = Browserless::new(&app).behind_proxy_as(&format!("192.0.2.{}", a + 1));
        for n in 0..per_address {
            bot.sign_in_to("acme", "it@acme.test", &format!("bot {a} guess {n}"))
                .await;
        }
    }
    let mut stranger = Browserless::new(&app).behind_proxy_as("203.0.113.99");
    let response = stranger
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(response.status(), 429, "unknown browsers are locked out");
    let csrf = owner.csrf().await;
    owner.post("/admin/logout", &[("csrf", &csrf)]).await;
    let response = owner
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(
        location(&response),
        "/admin",
        "the owner's browser is trusted"
    );
}

/// Item 3: `X-Forwarded-For` is believed only from the operator's proxies; otherwise an
/// attacker could pick a fresh address for every guess.
#[tokio::test]
async fn forwarded_addresses_are_ignored_unless_the_proxy_is_trusted() {
    let app = spawn_app().await;
    let (_, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let _ = tenant_admin(&app, &acme, "it@acme.test", OWNER_PASSWORD).await;
    for n in 0..PER_ACCOUNT_AND_ADDRESS.attempts {
        let mut client = Browserless::new(&app).behind_proxy_as(&format!("198.51.100.{n}"));
        client
            .sign_in_to("acme", "it@acme.test", &format!("guess {n}"))
            .await;
    }
    let response = Browserless::new(&app)
        .behind_proxy_as("203.0.113.20")
        .sign_in_to("acme", "it@acme.test", OWNER_PASSWORD)
        .await;
    assert_eq!(response.status(), 429, "all of it came from 127.0.0.1");
}
