//! Every admin form and query string, fed malformed and hostile values: the answer is an
//! inline error or a success — never a 500 — and whatever is echoed back is escaped.

use roster_testkit::spawn_app;

use crate::admin_support::*;

const SCRIPT: &str = "<script>alert(1)</script>";

fn hostile_values() -> Vec<String> {
    vec![
        String::new(),
        "   ".to_owned(),
        "x".repeat(10_000),
        "Ünïcødé 名前 🚀 ok".to_owned(),
        SCRIPT.to_owned(),
        "a\0b".to_owned(),
        "'; DROP TABLE users; --".to_owned(),
        "%00%zz".to_owned(),
        "\u{202e}evil\u{200b}".to_owned(),
        "\"><img src=x onerror=alert(1)>".to_owned(),
    ]
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn check(response: reqwest::Response, what: &str, allowed: &[u16]) -> String {
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    assert!(allowed.contains(&status), "{what}: got {status}\n{html}");
    assert!(
        !html.contains(SCRIPT),
        "{what}: unescaped script in the page"
    );
    assert!(
        !html.contains("<img src=x"),
        "{what}: unescaped markup in the page"
    );
    html
}

#[tokio::test]
async fn hostile_input_gets_inline_errors_never_a_500() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let user = fixture_user(&app, &scope, "ada@acme.test", "Ada Lovelace", true).await;
    fixture_group(&app, &scope, "Engineers", &[user]).await;
    let mut admin = tenant_admin(&app, &scope, "it@acme.test", "tenant admin password").await;
    let admin_csrf = admin.csrf().await;
    let operator_csrf = operator_client.csrf().await;

    for (index, value) in hostile_values().iter().enumerate() {
        let value = value.as_str();
        let what = |form: &str| {
            format!(
                "{form} with {:?}",
                value.chars().take(40).collect::<String>()
            )
        };

        // Sign-in: a distinct login name per value keeps the lockout out of the way.
        let mut anonymous = Browserless::new(&app);
        let response = anonymous.sign_in(&format!("{index}{value}"), value).await;
        check(response, &what("login"), &[422]).await;

        let response = admin
            .post(
                "/admin/password",
                &[
                    ("csrf", &admin_csrf),
                    ("current", value),
                    ("new", value),
                    ("confirm", value),
                ],
            )
            .await;
        check(response, &what("password"), &[422]).await;

        let slug = format!("t{index}");
        for (slug, name) in [(value, "Name"), (slug.as_str(), value)] {
            let response = operator_client
                .post(
                    "/admin/tenants",
                    &[("csrf", &operator_csrf), ("slug", slug), ("name", name)],
                )
                .await;
            check(response, &what("tenant"), &[303, 422]).await;
        }

        for (label, expires) in [(value, ""), ("Okta", value)] {
            let response = admin
                .post(
                    "/admin/t/acme/tokens",
                    &[
                        ("csrf", &admin_csrf),
                        ("label", label),
                        ("expires", expires),
                    ],
                )
                .await;
            check(response, &what("token"), &[200, 422]).await;
        }

        let response = admin
            .post(
                "/admin/t/acme/admins",
                &[("csrf", &admin_csrf), ("email", value)],
            )
            .await;
        check(response, &what("invite"), &[422]).await;

        let response = operator_client
            .post(
                "/admin/t/acme/status",
                &[("csrf", &operator_csrf), ("status", value)],
            )
            .await;
        check(response, &what("status"), &[400]).await;

        // Overlong values in URLs are cut at 2,000 characters: beyond that the HTTP
        // server refuses the request line itself, before the admin UI sees it.
        let encoded = encode(&value.chars().take(2_000).collect::<String>());
        for path in [
            format!("/admin/t/acme/users?q={encoded}&status={encoded}&after={encoded}"),
            format!("/admin/t/acme/log?outcome={encoded}&before={encoded}"),
            format!("/admin/t/acme/groups?after={encoded}"),
            format!("/admin/t/acme/tokens?before={encoded}"),
            format!("/admin/t/acme/admins?after={encoded}"),
            format!("/admin/tenants?after={encoded}"),
        ] {
            let response = admin.get(&path).await;
            check(response, &what(&path), &[200]).await;
        }
        if !encoded.is_empty() {
            for path in [
                format!("/admin/t/acme/users/{encoded}"),
                format!("/admin/t/acme/groups/{encoded}"),
                format!("/admin/t/acme/tokens/{encoded}/revoke"),
                format!("/admin/t/acme/admins/{encoded}/remove"),
                format!("/admin/t/{encoded}"),
            ] {
                let response = admin.get(&path).await;
                check(response, &what(&path), &[404]).await;
            }
        }
    }

    // What was accepted is shown escaped.
    let html = check(
        operator_client.get("/admin/tenants").await,
        "tenant list",
        &[200],
    )
    .await;
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    let html = check(
        admin.get("/admin/t/acme/tokens").await,
        "token list",
        &[200],
    )
    .await;
    assert!(html.contains("&#60;script&#62;"));
    let html = check(
        admin.get("/admin/t/acme/users?q=%3Cscript%3E").await,
        "search",
        &[200],
    )
    .await;
    assert!(
        html.contains("value=\"&#60;script&#62;\""),
        "the search is kept, escaped"
    );

    // Missing fields, a body that is not UTF-8, and one far too large.
    let response = admin
        .post("/admin/t/acme/tokens", &[("csrf", &admin_csrf)])
        .await;
    let html = check(response, "missing fields", &[422]).await;
    assert!(html.contains("Must not be empty"), "{html}");
    let origin = app.address.clone();
    let mut body = format!("csrf={admin_csrf}&label=").into_bytes();
    body.extend_from_slice(&[0xff, 0xfe, b'%', 0xc3]);
    let response = admin
        .post_raw("/admin/t/acme/tokens", body, Some(&origin))
        .await;
    // Decoded lossily (U+FFFD), so it may even be a valid label.
    check(response, "invalid UTF-8", &[200, 400, 422]).await;
    let big = format!("csrf={admin_csrf}&label={}", "x".repeat(100_000)).into_bytes();
    let response = admin
        .post_raw("/admin/t/acme/tokens", big, Some(&origin))
        .await;
    check(response, "oversized", &[413]).await;
    let response = admin.post("/admin/login", &[]).await;
    check(response, "empty sign-in", &[422]).await;

    // Nothing slipped through: the tenant admin still has their password.
    let mut again = Browserless::new(&app);
    let response = again.sign_in("it@acme.test", "tenant admin password").await;
    assert_eq!(response.status(), 303);
}
