//! Journeys through the admin UI in a real headless Chromium (chromedriver + fantoccini),
//! with screenshots of the main pages.

use fantoccini::Locator;
use roster_core::admins::AdminEmail;
use roster_core::tokens::PresentedToken;
use roster_testkit::{TestApp, spawn_app};
use secrecy::ExposeSecret;

use crate::admin_support::*;
use crate::rules::dns::DnsServer;

#[tokio::test]
async fn operator_and_tenant_admin_journey() {
    let dns = DnsServer::start().await;
    let app = TestApp::builder().dns_nameserver(dns.addr).spawn().await;
    let app = &app;
    let dns = &dns;
    let bootstrap = app
        .services
        .admins()
        .bootstrap_operator(AdminEmail::parse(OPERATOR_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    with_browser(|browser| async move {
        // The operator's first sign-in forces a new password.
        sign_in_with(
            &browser,
            app,
            OPERATOR_EMAIL,
            bootstrap.password.expose_secret(),
        )
        .await;
        assert!(
            text_of(&browser, ".notice")
                .await
                .contains("one-time password")
        );
        change_password(
            &browser,
            bootstrap.password.expose_secret(),
            OPERATOR_PASSWORD,
        )
        .await;
        assert_eq!(path_of(&browser).await, "/admin/tenants");
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("password has been changed")
        );
        assert!(text_of(&browser, ".empty").await.contains("No tenants yet"));

        // A slug that is not allowed: the error sits next to the field, input kept.
        fill(&browser, "#name", "Acme Inc.").await;
        fill(&browser, "#slug", "Acme Inc").await;
        click(&browser, "main form button[type=submit]").await;
        assert!(
            text_of(&browser, "#slug-error")
                .await
                .contains("lowercase letters")
        );
        assert_eq!(value_of(&browser, "#name").await, "Acme Inc.");
        // The shared SCIM URL's endpoint names are no slugs.
        fill(&browser, "#slug", "users").await;
        click(&browser, "main form button[type=submit]").await;
        assert!(
            text_of(&browser, "#slug-error")
                .await
                .contains("is reserved")
        );
        fill(&browser, "#slug", "acme").await;
        click(&browser, "main form button[type=submit]").await;
        assert_eq!(path_of(&browser).await, "/admin/t/acme");
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("tenant has been created")
        );
        let scim_url = value_of(&browser, "#scim-url").await;
        assert_eq!(scim_url, format!("{}/scim/v2/acme", app.address));

        // Invite the tenant's admin: the link is shown once, with a copy button.
        browser
            .goto(&app.url("/admin/t/acme/admins"))
            .await
            .unwrap();
        fill(&browser, "#email", "it@acme.test").await;
        click(&browser, "main form button[type=submit]").await;
        let link = value_of(&browser, "#invitation-link").await;
        assert!(link.contains("/admin/invitations/"), "{link}");
        let copy = browser
            .find(Locator::Css("button[data-copy='#invitation-link']"))
            .await
            .unwrap();
        assert!(copy.is_displayed().await.unwrap());
        screenshot(&browser, "invitation-created").await;
        sign_out(&browser).await;

        // The invitee opens the link, chooses a password and lands on the tenant.
        browser.goto(&link).await.unwrap();
        assert!(text_of(&browser, "h1").await.contains("Join Acme Inc."));
        screenshot(&browser, "invitation").await;
        fill(&browser, "#password", "tenant admin password").await;
        fill(&browser, "#confirm", "tenant admin password").await;
        click(&browser, "main form button[type=submit]").await;
        assert_eq!(path_of(&browser).await, "/admin/t/acme");
        // Signed out, the sign-in form knows the organization.
        sign_out(&browser).await;
        assert_eq!(value_of(&browser, "#organization").await, "acme");
        fill(&browser, "#email", "it@acme.test").await;
        fill(&browser, "#password", "tenant admin password").await;
        click(&browser, "form button[type=submit]").await;
        assert_eq!(path_of(&browser).await, "/admin/t/acme");
        assert!(text_of(&browser, ".stats").await.contains("active users"));

        // The Okta guide, with the tenant's URL and the connection check.
        click(&browser, "nav.tabs a[href$='/connect/okta']").await;
        let guide = text_of(&browser, "main").await;
        for expected in [
            "HTTP Header",
            "userName",
            "Create Users",
            "Update User Attributes",
            "Deactivate Users",
            "Push Groups",
            "Test API Credentials",
            "Import",
        ] {
            assert!(
                guide.contains(expected),
                "the Okta guide mentions {expected}"
            );
        }
        assert!(guide.contains(&scim_url));
        assert!(
            text_of(&browser, ".status")
                .await
                .contains("no active SCIM token")
        );
        screenshot(&browser, "okta-guide").await;
        click(&browser, "nav.subtabs a[href$='/connect/entra']").await;
        let guide = text_of(&browser, "main").await;
        for expected in [
            "Tenant URL",
            "Secret Token",
            "Test Connection",
            "Mappings",
            "Scope",
        ] {
            assert!(
                guide.contains(expected),
                "the Entra guide mentions {expected}"
            );
        }

        // Create a token and read it, once.
        let operator_admin = find_admin(app, OPERATOR_EMAIL).await;
        let scope = app
            .services
            .memberships()
            .access(&operator_admin, "acme")
            .await
            .unwrap()
            .unwrap();
        click(&browser, "nav.tabs a[href$='/tokens']").await;
        fill(&browser, "#label", "Okta").await;
        click(&browser, "main form button[type=submit]").await;
        let token = value_of(&browser, "#token").await;
        let presented = PresentedToken::parse(&token).expect("a well-formed token");
        screenshot(&browser, "token-created").await;
        let stored = app
            .services
            .tokens()
            .list(&scope, None, Default::default())
            .await
            .unwrap();
        assert_eq!(stored.items.len(), 1);
        assert!(
            stored.items[0]
                .display_prefix
                .ends_with(presented.public_id())
        );
        browser
            .goto(&app.url("/admin/t/acme/tokens"))
            .await
            .unwrap();
        let list = browser.source().await.unwrap();
        assert!(!list.contains(&token), "the token is never shown again");
        assert!(list.contains(presented.public_id()), "but its prefix is");
        // A second token, for rotation: both active at once.
        fill(&browser, "#label", "Okta (rotation)").await;
        click(&browser, "main form button[type=submit]").await;
        browser
            .goto(&app.url("/admin/t/acme/tokens"))
            .await
            .unwrap();
        let actives = browser
            .find_all(Locator::Css("td .badge-ok"))
            .await
            .unwrap();
        assert_eq!(actives.len(), 2);

        // The tenant's rules: a trusted domain verified through DNS (a server on loopback
        // answers for acme.test), notification defaults, a location with a kiosk and a
        // mapping rule, and "assign users as host" on.
        click(&browser, "nav.tabs a[href$='/settings']").await;
        click(&browser, "nav.subtabs a[href$='/domains']").await;
        fill(&browser, "#domain", "acme.test").await;
        click(
            &browser,
            "main form[action$='/domains'] button[type=submit]",
        )
        .await;
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("Publish its TXT record")
        );
        let txt = value_of(&browser, ".domain .copy-field input").await;
        assert!(txt.starts_with("roster-verification="), "{txt}");
        dns.zone.publish("acme.test", &txt);
        click(&browser, "form[action$='/verify'] button").await;
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("The domain is verified")
        );
        assert!(text_of(&browser, ".domain h2").await.contains("verified"));
        screenshot(&browser, "trusted-domains").await;

        click(&browser, "nav.subtabs a[href$='/notifications']").await;
        fill(&browser, "#key", "visitor_arrived").await;
        fill(&browser, "#label", "Visitor arrived").await;
        browser
            .find(Locator::Css("#new-email"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click(
            &browser,
            "main form[action$='/notifications'] button[type=submit]",
        )
        .await;
        // The grid: push on too, by default.
        browser
            .find(Locator::Css("input[name='d:visitor_arrived:push']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click(
            &browser,
            "form[action$='/notifications/defaults'] button[type=submit]",
        )
        .await;
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("default notification settings")
        );

        click(&browser, "nav.subtabs a[href$='/locations']").await;
        fill(&browser, "#name", "Paris HQ").await;
        fill(&browser, "#code", "PAR").await;
        fill(&browser, "#time_zone", "Europe/Paris").await;
        click(
            &browser,
            "main form[action$='/locations'] button[type=submit]",
        )
        .await;
        fill(&browser, ".location input[name=kiosk]", "Lobby").await;
        click(&browser, ".location form button[type=submit]").await;
        assert!(text_of(&browser, ".location").await.contains("Lobby"));

        draft_work_city_rule(&browser, "Paris").await;
        tick(&browser, "input[name=kiosk]").await;
        click(&browser, "main form[action$='/rules'] button[type=submit]").await;
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("mapping rule has been added")
        );
        // "Test a user": one field per attribute the rules use (here the work city).
        fill(&browser, "#sample-0", "paris").await;
        click(&browser, "#preview form button").await;
        let preview = text_of(&browser, "#preview-result").await;
        assert!(
            preview.contains("Rule 1") && preview.contains("Paris HQ"),
            "{preview}"
        );
        screenshot(&browser, "mapping-rules").await;

        click(&browser, "nav.subtabs a[href$='/settings']").await;
        browser
            .find(Locator::Css("#assign_hosts"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click(&browser, "main form button[type=submit]").await;
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("provisioning settings have been saved")
        );

        // Okta provisions through SCIM with the token from the page.
        let scim = |method: reqwest::Method, path: &str, body: serde_json::Value| {
            app.client
                .request(method, format!("{scim_url}{path}"))
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/scim+json")
                .body(body.to_string())
                .send()
        };
        let person = |user_name: &str, given: &str, family: &str, city: &str| {
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "name": {"givenName": given, "familyName": family},
                "displayName": format!("{given} {family}"),
                "emails": [{"primary": true, "value": user_name, "type": "work"}],
                "addresses": [{"type": "work", "locality": city}],
                "active": true
            })
        };
        let created = scim(
            reqwest::Method::POST,
            "/Users",
            person("ada@acme.test", "Ada", "Lovelace", "Paris"),
        )
        .await
        .unwrap();
        assert_eq!(created.status(), 201);
        let created_request = created.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let ada: serde_json::Value = created.json().await.unwrap();
        let ada = ada["id"].as_str().unwrap().to_owned();
        let mut ids = Vec::new();
        for (user_name, given, family) in [
            ("grace@acme.test", "Grace", "Hopper"),
            ("alan@acme.test", "Alan", "Turing"),
        ] {
            let answer = scim(
                reqwest::Method::POST,
                "/Users",
                person(user_name, given, family, "PARIS"),
            )
            .await
            .unwrap();
            assert_eq!(answer.status(), 201);
            let body: serde_json::Value = answer.json().await.unwrap();
            ids.push(body["id"].as_str().unwrap().to_owned());
        }
        let deactivate = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        });
        let answer = scim(
            reqwest::Method::PATCH,
            &format!("/Users/{}", ids[1]),
            deactivate,
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 200);
        let group = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{"value": ada}, {"value": ids[0]}]
        });
        assert_eq!(
            scim(reqwest::Method::POST, "/Groups", group)
                .await
                .unwrap()
                .status(),
            201
        );
        // Outside the trusted domain: refused, and the log says why.
        let refused = scim(
            reqwest::Method::POST,
            "/Users",
            person("bob@elsewhere.test", "Bob", "Smith", "Paris"),
        )
        .await
        .unwrap();
        assert_eq!(refused.status(), 400);
        let failed = refused.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();

        // The overview counts them.
        browser.goto(&app.url("/admin/t/acme")).await.unwrap();
        let stats = text_of(&browser, ".stats").await;
        assert!(
            stats.contains("2\nactive users") || stats.contains("2 active users"),
            "{stats}"
        );
        assert!(browser.source().await.unwrap().contains(&failed));
        screenshot(&browser, "tenant-overview").await;

        // The users page: search, the user's page with groups, location, notification
        // settings and history.
        click(&browser, "nav.tabs a[href$='/users']").await;
        assert_eq!(
            browser
                .find_all(Locator::Css("tbody tr"))
                .await
                .unwrap()
                .len(),
            3
        );
        screenshot(&browser, "users").await;
        fill(&browser, "#q", "LOVELACE").await;
        click(&browser, "form.filters button").await;
        let rows = browser.find_all(Locator::Css("tbody tr")).await.unwrap();
        assert_eq!(rows.len(), 1);
        click(&browser, "tbody a").await;
        assert_eq!(
            path_of(&browser).await,
            format!("/admin/t/acme/users/{ada}")
        );
        let page = text_of(&browser, "main").await;
        assert!(page.contains("Engineering") && page.contains("Ada Lovelace"));
        let hosts = text_of(&browser, "#hosts").await;
        assert!(
            hosts.contains("Paris HQ (PAR)") && hosts.contains("Lobby"),
            "{hosts}"
        );
        let email = browser
            .find(Locator::Css("input[name='u:visitor_arrived:email']"))
            .await
            .unwrap();
        assert!(email.is_selected().await.unwrap(), "the default was copied");
        let sms = browser
            .find(Locator::Css("input[name='u:visitor_arrived:sms']"))
            .await
            .unwrap();
        assert!(!sms.is_selected().await.unwrap());
        assert!(
            browser.source().await.unwrap().contains(&created_request),
            "history has the request id"
        );
        // The admin turns SMS on for Ada.
        sms.click().await.unwrap();
        click(&browser, "#notifications form button[type=submit]").await;
        assert!(
            text_of(&browser, ".flash")
                .await
                .contains("notification settings have been saved")
        );
        assert!(
            browser
                .find(Locator::Css("input[name='u:visitor_arrived:sms']"))
                .await
                .unwrap()
                .is_selected()
                .await
                .unwrap()
        );
        screenshot(&browser, "user-rules").await;

        // The provisioning log, filtered to failures.
        click(&browser, "nav.tabs a[href$='/log']").await;
        assert!(
            browser
                .find_all(Locator::Css("tbody tr"))
                .await
                .unwrap()
                .len()
                >= 6
        );
        browser
            .goto(&app.url("/admin/t/acme/log?outcome=failure"))
            .await
            .unwrap();
        let rows = browser.find_all(Locator::Css("tbody tr")).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].text().await.unwrap().contains("trusted domain"));

        // A forged form (wrong CSRF token) is refused and changes nothing.
        browser
            .goto(&app.url("/admin/t/acme/tokens"))
            .await
            .unwrap();
        fill(&browser, "#label", "Forged").await;
        browser
            .execute(
                "document.querySelector('main form input[name=csrf]').value = 'forged';",
                vec![],
            )
            .await
            .unwrap();
        click(&browser, "main form button[type=submit]").await;
        assert_eq!(text_of(&browser, "h1").await, "Forbidden");
        assert!(text_of(&browser, "main").await.contains("Request id"));

        // Revoke the first token, with confirmation.
        browser
            .goto(&app.url("/admin/t/acme/tokens"))
            .await
            .unwrap();
        let revoke_links = browser
            .find_all(Locator::Css("a[href$='/revoke']"))
            .await
            .unwrap();
        assert_eq!(revoke_links.len(), 2, "the forged form created nothing");
        // Newest first: the last link is the first token.
        click_element(&browser, &revoke_links[1]).await;
        assert!(text_of(&browser, "h1").await.contains("Revoke “Okta”?"));
        click(&browser, "main form button[type=submit]").await;
        assert_eq!(path_of(&browser).await, "/admin/t/acme/tokens");
        assert!(text_of(&browser, ".flash").await.contains("revoked"));
        assert_eq!(
            browser
                .find_all(Locator::Css("td .badge-bad"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            browser
                .find_all(Locator::Css("td .badge-ok"))
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn other_tenants_are_404_and_failed_sign_ins_lock() {
    let app = spawn_app().await;
    let app: &TestApp = &app;
    let (_, operator_admin) = operator(app).await;
    let acme = tenant(app, &operator_admin, "acme", "Acme").await;
    tenant(app, &operator_admin, "globex", "Globex").await;
    let _ = tenant_admin(app, &acme, "it@acme.test", "tenant admin password").await;
    with_browser(|browser| async move {
        // A session id planted before sign-in (fixation) is not the one signed in.
        browser.goto(&app.url("/admin/login")).await.unwrap();
        let planted = "p".repeat(43);
        browser
            .execute(
                "document.cookie = 'roster_session=' + arguments[0] + '; path=/admin; SameSite=Strict';",
                vec![serde_json::json!(planted)],
            )
            .await
            .unwrap();
        let before = browser.get_named_cookie("roster_session").await.unwrap();
        assert_eq!(before.value(), planted);
        sign_in_to_with(&browser, app, "acme", "it@acme.test", "tenant admin password").await;
        assert_eq!(path_of(&browser).await, "/admin/t/acme");
        let session = browser.get_named_cookie("roster_session").await.unwrap();
        assert_ne!(session.value(), planted);
        assert_eq!(session.http_only(), Some(true));
        browser
            .goto(&app.url("/admin/t/globex/users"))
            .await
            .unwrap();
        assert_eq!(text_of(&browser, "h1").await, "Not found");
        assert!(text_of(&browser, "main").await.contains("Request id"));
        browser.goto(&app.url("/admin/t/acme")).await.unwrap();
        sign_out(&browser).await;

        // This browser signed in before: it holds the account's device cookie, and its
        // own failures lock it (the device, then this address) like anyone else's.
        for _ in 0..roster_core::throttle::PER_DEVICE.attempts {
            sign_in_to_with(&browser, app, "acme", "it@acme.test", "not my password").await;
        }
        for _ in 0..roster_core::throttle::PER_ACCOUNT_AND_ADDRESS.attempts {
            sign_in_to_with(&browser, app, "acme", "it@acme.test", "not my password").await;
        }
        sign_in_to_with(&browser, app, "acme", "it@acme.test", "tenant admin password").await;
        assert_eq!(path_of(&browser).await, "/admin/login");
        assert!(
            text_of(&browser, ".error-summary")
                .await
                .contains("Too many failed attempts")
        );
        assert_eq!(value_of(&browser, "#email").await, "it@acme.test");
        assert_eq!(value_of(&browser, "#organization").await, "acme");
    })
    .await;
}
