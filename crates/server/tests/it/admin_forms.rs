//! Every admin form and query string — the rules pages' included — fed malformed and
//! hostile values: the answer is an inline error or a success — never a 500 — and
//! whatever is echoed back is escaped.

use roster_testkit::spawn_app;

use crate::admin_support::*;

pub(crate) const SCRIPT: &str = "<script>alert(1)</script>";

pub(crate) fn hostile_values() -> Vec<String> {
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

pub(crate) async fn check(response: reqwest::Response, what: &str, allowed: &[u16]) -> String {
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
        let response = anonymous
            .sign_in_to(value, &format!("{index}@acme.test"), value)
            .await;
        check(response, &what("login organization"), &[422]).await;
        let (status, _) = anonymous
            .get_text(&format!("/admin/login?tenant={}", encode(value)))
            .await;
        assert_eq!(status, 200, "{}", what("login link"));
        let invitation = format!("/admin/invitations/{}", encode(value));
        let response = anonymous.get(&invitation).await;
        check(response, &what("invitation link"), &[404]).await;
        let response = anonymous
            .post(&invitation, &[("password", value), ("confirm", value)])
            .await;
        check(response, &what("invitation form"), &[404]).await;

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
    let response = again
        .sign_in_to("acme", "it@acme.test", "tenant admin password")
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn hostile_input_in_every_rules_form_never_gives_a_500() {
    let app = spawn_app().await;
    let (mut operator_client, operator_admin) = operator(&app).await;
    let scope = tenant(&app, &operator_admin, "acme", "Acme").await;
    let user = fixture_user(&app, &scope, "ada@acme.test", "Ada Lovelace", true).await;
    let mut admin = tenant_admin(&app, &scope, "it@acme.test", "tenant admin password").await;
    let csrf = admin.csrf().await;
    let operator_csrf = operator_client.csrf().await;
    let t = "/admin/t/acme";

    // Something to point at: a domain, a location with a kiosk, a type, a rule.
    let post = |path: &str| format!("{t}{path}");
    let response = admin
        .post(
            &post("/domains"),
            &[("csrf", &csrf), ("domain", "acme.test")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = admin
        .post(
            &post("/locations"),
            &[
                ("csrf", &csrf),
                ("name", "Paris HQ"),
                ("code", "PAR"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = admin.get_text(&post("/locations")).await;
    let location = first_id(&html, "locations");
    let response = admin
        .post(
            &post(&format!("/locations/{location}/kiosks")),
            &[("csrf", &csrf), ("kiosk", "Lobby")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = admin
        .post(
            &post("/notifications"),
            &[
                ("csrf", &csrf),
                ("key", "visitor_arrived"),
                ("label", "Visitor arrived"),
                ("n:new:email", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = admin.get_text(&post("/domains")).await;
    let domain = first_id(&html, "domains");

    let mut values = hostile_values();
    values.push("a@b.test".to_owned());
    values.push("addresses[type eq \"work\"].locality".to_owned());
    for value in values {
        let value = value.as_str();
        let what = |form: &str| {
            format!(
                "{form} with {:?}",
                value.chars().take(40).collect::<String>()
            )
        };

        let response = admin
            .post(
                &post("/settings"),
                &[
                    ("csrf", &csrf),
                    ("enabled", value),
                    ("create_users", value),
                    ("delete_mode", value),
                    ("existing_user", value),
                    ("assign_hosts", value),
                ],
            )
            .await;
        check(response, &what("settings"), &[303, 422]).await;
        let response = admin
            .post(
                &post("/domains"),
                &[
                    ("csrf", &csrf),
                    ("domain", value),
                    ("include_subdomains", value),
                ],
            )
            .await;
        check(response, &what("domain"), &[303, 422]).await;
        let response = admin
            .post(
                &post(&format!("/domains/{domain}/subdomains")),
                &[("csrf", &csrf), ("include_subdomains", value)],
            )
            .await;
        check(response, &what("subdomains"), &[303]).await;
        for (name, ty, description) in [
            (value, "string", ""),
            ("badge", value, ""),
            ("badge2", "integer", value),
        ] {
            let response = admin
                .post(
                    &post("/attributes"),
                    &[
                        ("csrf", &csrf),
                        ("name", name),
                        ("type", ty),
                        ("description", description),
                        ("multi_valued", value),
                    ],
                )
                .await;
            check(response, &what("attribute"), &[303, 422]).await;
        }
        for (key, label) in [(value, "Label"), ("k_label", value)] {
            let response = admin
                .post(
                    &post("/notifications"),
                    &[
                        ("csrf", &csrf),
                        ("key", key),
                        ("label", label),
                        (value, "on"),
                    ],
                )
                .await;
            check(response, &what("notification type"), &[303, 422]).await;
        }
        let response = admin
            .post(
                &post("/notifications/defaults"),
                &[
                    ("csrf", &csrf),
                    ("d:visitor_arrived:email", value),
                    (value, value),
                ],
            )
            .await;
        check(response, &what("defaults"), &[303]).await;
        for (name, code, tz) in [
            (value, "C1", "UTC"),
            ("N", value, "UTC"),
            ("N", "C2", value),
        ] {
            let response = admin
                .post(
                    &post("/locations"),
                    &[
                        ("csrf", &csrf),
                        ("name", name),
                        ("code", code),
                        ("time_zone", tz),
                    ],
                )
                .await;
            check(response, &what("location"), &[303, 422]).await;
        }
        let response = admin
            .post(
                &post(&format!("/locations/{location}/kiosks")),
                &[("csrf", &csrf), ("kiosk", value)],
            )
            .await;
        check(response, &what("kiosk"), &[303, 422]).await;
        for (attribute, kind, values, target) in [
            (value, "equals", "Paris", location.as_str()),
            ("title", value, "x", location.as_str()),
            ("title", "one_of", value, location.as_str()),
            ("title", "equals", "Boss", value),
        ] {
            let response = admin
                .post(
                    &post("/rules"),
                    &[
                        ("csrf", &csrf),
                        ("attribute", attribute),
                        ("match", kind),
                        ("values", values),
                        ("location", target),
                        ("kiosk", value),
                    ],
                )
                .await;
            check(response, &what("rule"), &[303, 422]).await;
        }
        let response = admin
            .post(
                &post(&format!("/users/{user}/notifications")),
                &[
                    ("csrf", &csrf),
                    ("u:visitor_arrived:sms", value),
                    (value, value),
                ],
            )
            .await;
        check(response, &what("user notifications"), &[303]).await;
        let response = admin
            .post(
                &post("/tokens"),
                &[("csrf", &csrf), ("label", "Okta"), ("domain", value)],
            )
            .await;
        check(response, &what("token domain"), &[200, 422]).await;

        let encoded = encode(&value.chars().take(2_000).collect::<String>());
        for path in [
            format!("{t}/rules?test={encoded}"),
            format!("{t}/notifications?changed={encoded}"),
        ] {
            check(admin.get(&path).await, &what(&path), &[200]).await;
        }
        if !encoded.is_empty() {
            for kind in [
                "domains",
                "attributes",
                "notifications",
                "locations",
                "kiosks",
                "rules",
            ] {
                let path = format!("{t}/{kind}/{encoded}/remove");
                check(admin.get(&path).await, &what(&path), &[404]).await;
                let response = admin.post(&path, &[("csrf", &csrf)]).await;
                check(response, &what(&path), &[404]).await;
            }
            let path = format!("{t}/help/{encoded}");
            check(admin.get(&path).await, &what(&path), &[404]).await;
        }
    }

    // What was accepted is shown escaped.
    for page in [
        "/locations",
        "/notifications",
        "/attributes",
        "/rules",
        "/domains",
    ] {
        let html = check(admin.get(&post(page)).await, page, &[200]).await;
        assert!(!html.contains("<script>"), "{page}");
    }
    let html = check(admin.get(&post("/locations")).await, "locations", &[200]).await;
    assert!(
        html.contains("&#60;script&#62;"),
        "the hostile location name is escaped"
    );

    // Operator-only: a tenant admin cannot mark a domain verified (404), the operator can.
    let response = admin
        .post(
            &post(&format!("/domains/{domain}/mark-verified")),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status(), 404);
    let (_, html) = admin.get_text(&post("/domains")).await;
    assert!(
        !html.contains("Mark verified"),
        "tenant admins are not offered it"
    );
    let response = operator_client
        .post(
            &post(&format!("/domains/{domain}/mark-verified")),
            &[("csrf", &operator_csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = admin.get_text(&post("/domains")).await;
    assert!(
        html.contains("by admin@localhost"),
        "recorded with who: {html}"
    );

    // Forms without the CSRF token change nothing.
    let response = admin.post(&post("/settings"), &[("enabled", "")]).await;
    assert_eq!(response.status(), 403);
}
