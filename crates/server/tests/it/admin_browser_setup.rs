//! Issue 16's journeys in a real headless Chromium: a setup link from its creation to a
//! working identity-provider connection and to its revocation, with the audit log after
//! each audited action and the diagnosis of a revoked token; and a tour of every page,
//! checked by axe-core and at phone width, with the user page's attributes measured.

use fantoccini::{Client, Locator};
use roster_core::tokens::TokenLabel;
use roster_testkit::{Receiver, TestApp};
use secrecy::ExposeSecret;

use crate::admin_support::*;

/// The actions the audit log page shows, newest first.
async fn audit_actions(browser: &Client, app: &TestApp) -> Vec<String> {
    browser.goto(&app.url("/admin/t/acme/audit")).await.unwrap();
    let mut actions = Vec::new();
    for cell in browser
        .find_all(Locator::Css("table.audit tbody code.action"))
        .await
        .unwrap()
    {
        actions.push(cell.text().await.unwrap());
    }
    actions
}

async fn scim(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(&format!("/scim/v2/acme{path}")))
        .bearer_auth(token)
        .header("user-agent", "Okta SCIM Client 1.0.0")
        .header("content-type", "application/scim+json");
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn setup_link_from_creation_to_a_working_connection_and_revocation() {
    let app = TestApp::builder().spawn().await;
    let app = &app;
    acme(app).await;
    with_browser(|browser| async move {
        // The operator creates a link for the customer's IT admin.
        operator_on(&browser, app, "/admin/t/acme").await;
        click(&browser, "nav.tabs a[href$='/setup-links']").await;
        assert!(
            text_of(&browser, ".empty")
                .await
                .contains("No setup links yet")
        );
        fill(&browser, "#label", "Jane Doe, Acme IT").await;
        click(&browser, "main form button[type=submit]").await;
        let link = value_of(&browser, "#setup-link").await;
        assert!(link.contains("/admin/setup/"), "{link}");
        screenshot(&browser, "setup-link-created").await;
        let actions = audit_actions(&browser, app).await;
        assert_eq!(
            actions.first().map(String::as_str),
            Some("setup_link.create")
        );
        click(&browser, "form[action='/admin/logout'] button").await;

        // The IT admin opens it: branded, works without script, one button.
        browser.goto(&link).await.unwrap();
        assert_eq!(
            text_of(&browser, "h1").await,
            "Set up provisioning for Acme Inc."
        );
        screenshot(&browser, "setup-link").await;
        click(&browser, "main form button[type=submit]").await;
        assert_eq!(path_of(&browser).await, "/admin/t/acme/connect/okta");
        assert!(
            text_of(&browser, ".topbar")
                .await
                .contains("Setting up provisioning for Acme Inc.")
        );
        let tabs = text_of(&browser, "nav.tabs").await;
        assert!(
            tabs.contains("SCIM tokens") && !tabs.contains("Webhooks"),
            "{tabs}"
        );
        let scim_url = value_of(&browser, "#scim-url").await;
        assert_eq!(scim_url, format!("{}/scim/v2/acme", app.address));
        let shared_url = value_of(&browser, "#scim-shared-url").await;
        assert_eq!(shared_url, format!("{}/scim/v2", app.address));
        assert!(
            text_of(&browser, "#connection-check")
                .await
                .contains("no active SCIM token")
        );

        // A token, pasted into the IdP, which runs its test: connected, test recorded.
        click(&browser, "nav.tabs a[href$='/tokens']").await;
        fill(&browser, "#label", "Okta").await;
        click(&browser, "main form button[type=submit]").await;
        let token = value_of(&browser, "#token").await;
        assert!(token.starts_with("rst_"));
        let test = scim(
            app,
            reqwest::Method::GET,
            "/Users?startIndex=1&count=2",
            &token,
            None,
        )
        .await;
        assert_eq!(test.status(), 200);
        click(&browser, "nav.tabs a[href$='/connect/okta']").await;
        let check = text_of(&browser, "#connection-check").await;
        assert!(check.contains("Connected."), "{check}");
        assert!(check.contains("Okta tested the connection"), "{check}");
        screenshot(&browser, "connection-check").await;
        click(&browser, "nav.tabs a[href$='/log']").await;
        assert!(
            text_of(&browser, "table.log")
                .await
                .contains("connection test")
        );
        // Okta provisions a user; the holder sees it.
        let created = scim(
            app,
            reqwest::Method::POST,
            "/Users",
            &token,
            Some(crate::scim::support::okta_user("ada@acme.test")),
        )
        .await;
        assert_eq!(created.status(), 201);
        click(&browser, "nav.tabs a[href$='/users']").await;
        assert!(text_of(&browser, "tbody").await.contains("ada@acme.test"));

        // "Okta still has the old token": revoked here, then used by the IdP.
        click(&browser, "nav.tabs a[href$='/tokens']").await;
        click(&browser, "a[href$='/revoke']").await;
        click(&browser, "main form button[type=submit]").await;
        assert!(text_of(&browser, ".flash").await.contains("revoked"));
        tokio::time::sleep(roster_core::token_auth::REVALIDATE_AFTER).await;
        let refused = scim(app, reqwest::Method::GET, "/Users", &token, None).await;
        assert_eq!(refused.status(), 401);
        click(&browser, "nav.tabs a[href$='/connect/okta']").await;
        let refusal = text_of(&browser, "#rejected").await;
        assert!(
            refusal.contains("a request with the revoked token \"Okta\" (rst_"),
            "{refusal}"
        );
        assert!(
            refusal.contains("Okta still has the old token"),
            "{refusal}"
        );
        screenshot(&browser, "connection-check-refused").await;
        click(&browser, "nav.tabs a[href$='/log']").await;
        assert!(
            text_of(&browser, "table.log")
                .await
                .contains("refused token")
        );

        // The operator sees every step in the audit log, and revokes the link.
        sign_in_with(&browser, app, OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
        let actions = audit_actions(&browser, app).await;
        assert_eq!(
            actions[..4],
            [
                "token.revoke",
                "token.create",
                "setup_link.use",
                "setup_link.create"
            ],
            "{actions:?}"
        );
        let who = text_of(&browser, "table.audit tbody tr").await;
        assert!(
            who.contains("Jane Doe, Acme IT") && who.contains("setup link"),
            "{who}"
        );
        screenshot(&browser, "audit-log").await;
        click(&browser, "nav.tabs a[href$='/setup-links']").await;
        assert!(text_of(&browser, "tbody").await.contains("1 ×"));
        click(&browser, "a[href$='/revoke']").await;
        click(&browser, "main form button[type=submit]").await;
        assert!(text_of(&browser, ".flash").await.contains("revoked"));
        let actions = audit_actions(&browser, app).await;
        assert_eq!(
            actions.first().map(String::as_str),
            Some("setup_link.revoke")
        );
        click(&browser, "form[action='/admin/logout'] button").await;

        // The holder's browser still has its setup cookie: the session has ended.
        browser
            .goto(&app.url("/admin/t/acme/tokens"))
            .await
            .unwrap();
        assert_eq!(text_of(&browser, "h1").await, "Setup session ended");
        browser.goto(&link).await.unwrap();
        assert!(text_of(&browser, "main").await.contains("no longer works"));
    })
    .await;
}

#[tokio::test]
async fn every_page_is_accessible_and_fits_a_phone() {
    let dns = crate::rules::dns::DnsServer::start().await;
    let app = TestApp::builder()
        .allow_local_receivers()
        .dns_nameserver(dns.addr)
        .delivery(roster_core::delivery::DeliverySettings {
            poll_interval: std::time::Duration::from_millis(20),
            ..Default::default()
        })
        .spawn()
        .await;
    let app = &app;
    let (mut op, operator_admin) = operator(app).await;
    let acme = tenant(app, &operator_admin, "acme", "Acme Inc.").await;
    let token = app
        .services
        .tokens()
        .create_for(&acme, TokenLabel::parse("Entra").unwrap(), None, None)
        .await
        .unwrap();
    let token = token.token.expose_secret().to_owned();
    // An Entra user with extension attributes: long URNs beside short values.
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
        "userName": "bjorn.nilsson@contoso-international-holdings.example",
        "externalId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "name": {"givenName": "Bjorn", "familyName": "Nilsson", "formatted": "Bjorn Nilsson"},
        "displayName": "Bjorn Nilsson",
        "title": "Senior Procurement Specialist, Nordics",
        "emails": [{"primary": true, "type": "work", "value": "bjorn.nilsson@contoso-international-holdings.example"}],
        "addresses": [{"type": "work", "locality": "Stockholm", "country": "SE"}],
        "active": true,
        enterprise: {
            "employeeNumber": "701984",
            "department": "Procurement and Supplier Relations",
            "costCenter": "CC-4471",
            "organization": "Contoso International Holdings",
            "manager": {"value": "mgr-00417"}
        }
    });
    let created = scim(app, reqwest::Method::POST, "/Users", &token, Some(user)).await;
    assert_eq!(created.status(), 201);
    let user_id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let group = scim(
        app,
        reqwest::Method::POST,
        "/Groups",
        &token,
        Some(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Procurement",
            "members": [{"value": user_id}]
        })),
    )
    .await;
    let group_id = group.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A refusal and a test, so the log and the check show both kinds.
    scim(
        app,
        reqwest::Method::GET,
        "/Users?startIndex=1&count=2",
        &token,
        None,
    )
    .await;
    scim(
        app,
        reqwest::Method::GET,
        "/Users",
        "rst_0123456789abcdef_x",
        None,
    )
    .await;
    // A webhook endpoint with a delivery.
    let receiver = Receiver::start().await;
    let csrf = op.csrf().await;
    op.post(
        "/admin/t/acme/webhooks",
        &[
            ("csrf", &csrf),
            ("url", &receiver.url),
            ("events", "all"),
            ("enabled", "on"),
        ],
    )
    .await;
    let endpoint = app.services.webhooks().list(&acme).await.unwrap()[0].id.0;
    scim(
        app,
        reqwest::Method::POST,
        "/Users",
        &token,
        Some(crate::scim::support::okta_user("ada@acme.test")),
    )
    .await;
    receiver
        .wait_for_accepted(1, std::time::Duration::from_secs(10))
        .await;
    let mut delivery = None;
    for _ in 0..100 {
        let page = app
            .services
            .webhooks()
            .deliveries(
                &acme,
                roster_core::delivery::webhooks::EndpointId(endpoint),
                None,
                None,
                roster_core::paging::PageSize::DEFAULT,
            )
            .await
            .unwrap();
        if let Some(d) = page.items.first() {
            delivery = Some(d.id);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let delivery = delivery.expect("a delivery");
    // Rules, an invitation and a setup link, so their pages have rows.
    for (path, form) in [
        ("/admin/t/acme/domains", vec![("domain", "acme.test")]),
        (
            "/admin/t/acme/locations",
            vec![
                ("name", "Stockholm"),
                ("code", "STO"),
                ("time_zone", "Europe/Stockholm"),
            ],
        ),
        (
            "/admin/t/acme/notifications",
            vec![("key", "visitor_arrived"), ("label", "Visitor arrived")],
        ),
        (
            "/admin/t/acme/attributes",
            vec![("name", "badgeNumber"), ("type", "string")],
        ),
        ("/admin/t/acme/admins", vec![("email", "it@acme.test")]),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        op.post(path, &form).await;
    }
    let link = crate::admin_setup::create_link(
        &mut op,
        "acme",
        "Jane",
        &["guide", "tokens", "log", "users"],
    )
    .await;

    with_browser(|browser| async move {
        // Signed out: the sign-in page, the setup link's page, a guide, an error page.
        let signed_out: Vec<String> = [
            "/admin/login",
            link.trim_start_matches(&app.address),
            "/admin/help/okta",
            "/admin/t/acme/nothing-here",
        ]
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
        check_pages(&browser, app, &signed_out).await;

        sign_in_with(&browser, app, OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
        // The user page: at desktop and phone width no attribute value wraps per letter.
        for size in [DESKTOP, PHONE] {
            window(&browser, size).await;
            browser
                .goto(&app.url(&format!("/admin/t/acme/users/{user_id}")))
                .await
                .unwrap();
            let measured = browser
                .execute(
                    "return [...document.querySelectorAll('#all-attributes dd')].map(dd => {
                       const probe = document.createElement('span');
                       probe.style.whiteSpace = 'nowrap';
                       probe.style.font = getComputedStyle(dd).font;
                       probe.textContent = dd.textContent;
                       document.body.appendChild(probe);
                       const natural = probe.getBoundingClientRect().width;
                       probe.remove();
                       return [dd.textContent, dd.getBoundingClientRect().width, natural];
                     });",
                    vec![],
                )
                .await
                .unwrap();
            let values = measured.as_array().unwrap();
            assert!(
                values.len() >= 10,
                "extension attributes listed: {values:?}"
            );
            assert!(
                values
                    .iter()
                    .any(|v| v[0].as_str().unwrap() == "Procurement and Supplier Relations")
            );
            for value in values {
                let (text, width, natural) = (
                    value[0].as_str().unwrap(),
                    value[1].as_f64().unwrap(),
                    value[2].as_f64().unwrap(),
                );
                assert!(
                    width >= natural.min(120.0) - 1.0,
                    "{size:?}: \"{text}\" gets {width} px for {natural} px of text"
                );
            }
            screenshot(
                &browser,
                if size == DESKTOP {
                    "user-attributes"
                } else {
                    "user-attributes-phone"
                },
            )
            .await;
        }
        window(&browser, DESKTOP).await;

        // The Redeliver button is in view at 1,400 px, without scrolling the table.
        browser.set_window_size(1400, 900).await.unwrap();
        browser
            .goto(&app.url(&format!("/admin/t/acme/webhooks/{endpoint}")))
            .await
            .unwrap();
        let fits = browser
            .execute(
                "const b = document.querySelector('td.row-actions button');
                 const w = b.closest('.table-wrap');
                 return b.getBoundingClientRect().right <= w.getBoundingClientRect().right
                     && w.scrollWidth <= w.clientWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(fits, serde_json::Value::Bool(true), "Redeliver is cut off");
        screenshot(&browser, "webhook-endpoint").await;
        window(&browser, DESKTOP).await;

        // A failed domain verification is a warning, not a success.
        browser
            .goto(&app.url("/admin/t/acme/domains"))
            .await
            .unwrap();
        click(&browser, "form[action$='/verify'] button").await;
        let banner = browser.find(Locator::Css(".flash")).await.unwrap();
        assert_eq!(
            banner.attr("class").await.unwrap().as_deref(),
            Some("flash flash-warn")
        );
        assert_eq!(banner.attr("role").await.unwrap().as_deref(), Some("alert"));

        // A rendered guide.
        browser
            .goto(&app.url("/admin/t/acme/help/okta"))
            .await
            .unwrap();
        assert_eq!(
            text_of(&browser, "article.guide h1").await,
            "Connecting Okta"
        );
        assert!(
            text_of(&browser, "article.guide")
                .await
                .contains(&format!("{}/scim/v2/acme", app.address))
        );
        assert!(!text_of(&browser, "article.guide").await.contains("**"));
        screenshot(&browser, "help").await;

        // Every page of the admin UI.
        let t = "/admin/t/acme";
        let mut pages: Vec<String> = vec![
            "/admin/tenants".to_owned(),
            "/admin/audit".to_owned(),
            "/admin/password".to_owned(),
        ];
        for page in [
            "",
            "/connect/okta",
            "/connect/entra",
            "/connect/onelogin",
            "/connect/jumpcloud",
            "/tokens",
            "/api-keys",
            "/users",
            "/users/import",
            "/groups",
            "/log",
            "/log?outcome=failure",
            "/webhooks",
            "/settings",
            "/attributes",
            "/domains",
            "/notifications",
            "/locations",
            "/rules",
            "/admins",
            "/setup-links",
            "/audit",
            "/help/webhooks",
            "/help/api",
            "/help/locations",
            "/status",
        ] {
            pages.push(format!("{t}{page}"));
        }
        pages.push(format!("{t}/users/{user_id}"));
        pages.push(format!("{t}/groups/{group_id}"));
        pages.push(format!("{t}/webhooks/{endpoint}"));
        pages.push(format!("{t}/webhooks/{endpoint}/deliveries/{delivery}"));
        pages.push(format!("{t}/webhooks/{endpoint}/rotate"));
        check_pages(&browser, app, &pages).await;
        // Pages that answer a form: a new token, a new setup link.
        browser
            .goto(&app.url(&format!("{t}/tokens")))
            .await
            .unwrap();
        fill(&browser, "#label", "Another").await;
        click(&browser, "main form button[type=submit]").await;
        assert_accessible(&browser, "token created").await;
        browser
            .goto(&app.url(&format!("{t}/tokens")))
            .await
            .unwrap();
        click(&browser, "a[href$='/revoke']").await;
        assert_accessible(&browser, "revoke a token").await;
        browser
            .goto(&app.url(&format!("{t}/setup-links")))
            .await
            .unwrap();
        fill(&browser, "#label", "Tour").await;
        click(&browser, "main form button[type=submit]").await;
        assert_accessible(&browser, "setup link created").await;
        screenshot(&browser, "tenant-overview-after").await;

        // The setup session's pages.
        click(&browser, "form[action='/admin/logout'] button").await;
        browser.goto(&link).await.unwrap();
        click(&browser, "main form button[type=submit]").await;
        let setup_pages: Vec<String> = ["/connect/okta", "/tokens", "/log", "/users", "/help/okta"]
            .iter()
            .map(|p| format!("{t}{p}"))
            .collect();
        check_pages(&browser, app, &setup_pages).await;
    })
    .await;
}
