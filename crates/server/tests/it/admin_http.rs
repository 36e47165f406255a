//! The admin UI over plain HTTP: sessions, CSRF and origin checks, tenant isolation,
//! lockout, two nodes on one database, hostile form input, headers and error pages.

use roster_core::admins::AdminEmail;
use roster_testkit::{TestApp, spawn_app};
use secrecy::ExposeSecret;

use crate::admin_support::*;

#[tokio::test]
async fn sign_in_renews_the_session_and_forces_the_password_change() {
    let app = spawn_app().await;
    let bootstrap = app
        .services
        .admins()
        .bootstrap_operator(AdminEmail::parse(OPERATOR_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut browser = Browserless::new(&app);
    let response = browser.get("/admin").await;
    assert_eq!(location(&response), "/admin/login");

    let response = browser
        .sign_in(OPERATOR_EMAIL, bootstrap.password.expose_secret())
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/password");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    let first = browser.session_cookie().unwrap();

    // Until the one-time password is changed, every page leads to the change form.
    let response = browser.get("/admin/tenants").await;
    assert_eq!(location(&response), "/admin/password");

    // Signing in again, with the old cookie still sent, gives a new session id and
    // ends the old one.
    let response = browser
        .sign_in(OPERATOR_EMAIL, bootstrap.password.expose_secret())
        .await;
    assert_eq!(response.status(), 303);
    let second = browser.session_cookie().unwrap();
    assert_ne!(first, second);
    let mut stale = Browserless::new(&app);
    stale.cookies.insert("roster_session".into(), first);
    assert_eq!(
        location(&stale.get("/admin/password").await),
        "/admin/login"
    );

    // The password change: inline errors keep nothing secret, success ends every other
    // session and renews this one.
    let csrf = browser.csrf().await;
    let response = browser
        .post(
            "/admin/password",
            &[
                ("csrf", &csrf),
                ("current", "wrong"),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("at least 12 characters"), "{html}");
    let mut other = Browserless::new(&app);
    other
        .sign_in(OPERATOR_EMAIL, bootstrap.password.expose_secret())
        .await;
    let response = browser
        .post(
            "/admin/password",
            &[
                ("csrf", &csrf),
                ("current", bootstrap.password.expose_secret()),
                ("new", OPERATOR_PASSWORD),
                ("confirm", OPERATOR_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin");
    assert_ne!(browser.session_cookie().unwrap(), second);
    assert_eq!(location(&other.get("/admin/tenants").await), "/admin/login");
    let (status, html) = browser.get_text("/admin/tenants").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Your password has been changed"),
        "flash shown once"
    );
    let (_, html) = browser.get_text("/admin/tenants").await;
    assert!(
        !html.contains("Your password has been changed"),
        "and only once"
    );

    let csrf = browser.csrf().await;
    let response = browser.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(location(&response), "/admin/login");
    assert_eq!(browser.session_cookie(), None);
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::builder()
        .web_config(|config| config.public_url = url::Url::parse("https://roster.test").unwrap())
        .spawn()
        .await;
    let bootstrap = app
        .services
        .admins()
        .bootstrap_operator(AdminEmail::parse(OPERATOR_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut browser = Browserless::new(&app);
    let password = bootstrap.password.expose_secret();
    let form = [("email", OPERATOR_EMAIL), ("password", password)];
    // The origin that counts is the public URL's, not the address the test reaches.
    let response = browser
        .post_from("/admin/login", &form, Some(&app.address))
        .await;
    assert_eq!(response.status(), 403);
    let response = browser
        .post_from("/admin/login", &form, Some("https://roster.test"))
        .await;
    assert_eq!(response.status(), 303);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}

#[tokio::test]
async fn forms_without_the_session_token_or_from_elsewhere_are_refused() {
    let app = spawn_app().await;
    let (_, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let mut admin = tenant_admin(&app, &scope, "it@acme.test", "tenant admin password").await;
    let csrf = admin.csrf().await;
    let path = "/admin/t/acme/tokens";

    let wrong = "x".repeat(43);
    let ours = Some(app.address.as_str());
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);
    let cases: [Case; 4] = [
        ("no token", vec![("label", "Okta")], ours),
        (
            "wrong token",
            vec![("csrf", &wrong), ("label", "Okta")],
            ours,
        ),
        (
            "other origin",
            vec![("csrf", &csrf), ("label", "Okta")],
            Some("https://evil.example"),
        ),
        ("no origin", vec![("csrf", &csrf), ("label", "Okta")], None),
    ];
    for (case, form, origin) in cases {
        let response = admin.post_from(path, &form, origin).await;
        assert_eq!(response.status(), 403, "{case}");
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = response.text().await.unwrap();
        assert!(html.contains("Forbidden"), "{case}: {html}");
        assert!(
            html.contains(&request_id),
            "{case}: the page names the request"
        );
    }
    let tokens = app
        .services
        .tokens()
        .list(&scope, None, Default::default())
        .await
        .unwrap();
    assert!(tokens.items.is_empty(), "nothing was created");

    // The same form with the token and from our origin works.
    let response = admin
        .post(path, &[("csrf", &csrf), ("label", "Okta")])
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn another_tenants_pages_answer_404() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let acme = tenant(&app, &operator_admin, "acme", "Acme").await;
    let globex = tenant(&app, &operator_admin, "globex", "Globex").await;
    let globex_user = fixture_user(&app, &globex, "hank@globex.test", "Hank Scorpio", true).await;
    let globex_token = app
        .services
        .tokens()
        .create_for(
            &globex,
            roster_core::tokens::TokenLabel::parse("Okta").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    let mut admin = tenant_admin(&app, &acme, "it@acme.test", "tenant admin password").await;

    let (status, own) = admin.get_text("/admin/t/acme").await;
    assert_eq!(status, 200);
    assert!(own.contains("/scim/v2/acme"));
    for path in [
        "/admin/t/globex".to_owned(),
        "/admin/t/globex/users".to_owned(),
        format!("/admin/t/globex/users/{globex_user}"),
        format!("/admin/t/acme/users/{globex_user}"),
        format!("/admin/t/acme/tokens/{}/revoke", globex_token.info.id.0),
        "/admin/t/acme/status".to_owned(),
        "/admin/t/no-such-tenant".to_owned(),
        "/admin/t/%00/users".to_owned(),
    ] {
        let (status, html) = admin.get_text(&path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!html.contains("Globex") && !html.contains("Hank"), "{path}");
        assert!(html.contains("Not found"));
    }
    // Operator-only actions are 404 for a tenant admin, also as POSTs.
    let csrf = admin.csrf().await;
    let response = admin
        .post(
            "/admin/t/acme/status",
            &[("csrf", &csrf), ("status", "suspended")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = admin
        .post(
            "/admin/tenants",
            &[("csrf", &csrf), ("slug", "mine"), ("name", "Mine")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = admin
        .post(
            &format!("/admin/t/acme/tokens/{}/revoke", globex_token.info.id.0),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status(), 404);
    let still = app
        .services
        .tokens()
        .find(&globex, globex_token.info.id)
        .await
        .unwrap()
        .unwrap();
    assert!(still.revoked_at.is_none());

    // The operator sees both.
    assert_eq!(operator_client.get_text("/admin/t/globex").await.0, 200);
}

#[tokio::test]
async fn repeated_failures_lock_a_login_known_or_not() {
    let app = spawn_app().await;
    let (_, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let _ = tenant_admin(&app, &scope, "it@acme.test", "tenant admin password").await;
    let limit = roster_core::throttle::PER_ACCOUNT_AND_ADDRESS.attempts;
    for (organization, email) in [
        ("acme", "it@acme.test"),
        ("acme", "nobody@acme.test"),
        ("no-such-tenant", "it@acme.test"),
    ] {
        let mut browser = Browserless::new(&app);
        for attempt in 1..=limit {
            let response = browser
                .sign_in_to(organization, email, "wrong password!")
                .await;
            // The attempt that reaches the limit says so.
            let expected = if attempt < limit { 422 } else { 429 };
            assert_eq!(response.status(), expected, "{email} attempt {attempt}");
            let html = response.text().await.unwrap();
            if expected == 422 {
                assert!(html.contains("The organization, email or password is not right."));
            }
        }
        // Locked: even the right password is refused, and the answer does not tell
        // whether the account exists.
        let response = browser
            .sign_in_to(organization, email, "tenant admin password")
            .await;
        assert_eq!(response.status(), 429, "{email}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Too many failed attempts"), "{html}");
        assert_eq!(browser.session_cookie(), None);
    }
    // Other accounts are not affected.
    let mut browser = Browserless::new(&app);
    let response = browser.sign_in(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn two_nodes_on_one_database_share_sessions() {
    let node_a = spawn_app().await;
    let node_b = TestApp::builder()
        .database(node_a.database.handle())
        .spawn()
        .await;
    let (mut on_a, _) = operator(&node_a).await;
    let mut on_b = Browserless::new(&node_b);
    on_b.cookies = on_a.cookies.clone();
    let (status, _) = on_b.get_text("/admin/tenants").await;
    assert_eq!(status, 200, "a session opened on A works on B");

    let csrf = on_a.csrf().await;
    on_a.post("/admin/logout", &[("csrf", &csrf)]).await;
    let response = on_b.get("/admin/tenants").await;
    assert_eq!(
        location(&response),
        "/admin/login",
        "signed out on A is out on B"
    );
    node_b.stop().await;
}

#[tokio::test]
async fn pages_carry_security_headers_and_errors_name_the_request() {
    let app = spawn_app().await;
    let mut browser = Browserless::new(&app);
    let response = browser.get("/admin/login").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");

    let css = html
        .split("href=\"")
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|href| href.ends_with("admin.css"))
        })
        .unwrap()
        .to_owned();
    assert!(css.starts_with("/static/"), "{css}");
    let response = browser.get(&css).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    let response = browser.get("/admin/no/such/page").await;
    assert_eq!(response.status(), 404);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&request_id) && html.contains("Not found"),
        "{html}"
    );
    assert_eq!(location(&browser.get("/").await), "/admin");
}

#[tokio::test]
async fn a_server_error_is_an_opaque_page_with_the_request_id() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    tenant(&app, &operator_admin, "acme", "Acme").await;
    // Break the database under the page: its query fails.
    app.services
        .db()
        .writer()
        .execute_unprepared("DROP TABLE provisioning_log")
        .await
        .unwrap();
    let response = operator_client.get("/admin/t/acme").await;
    assert_eq!(response.status(), 500);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    assert!(html.contains("Something went wrong") && html.contains(&request_id));
    assert!(
        !html.to_lowercase().contains("provisioning_log"),
        "opaque: {html}"
    );
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = TestApp::builder()
        .web_config(|config| config.session_idle_timeout = std::time::Duration::from_secs(1))
        .spawn()
        .await;
    let (mut operator_client, _) = operator(&app).await;
    assert_eq!(operator_client.get_text("/admin/tenants").await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let response = operator_client.get("/admin/tenants").await;
    assert_eq!(location(&response), "/admin/login");
}
