//! Issue 14, item 5 in the admin UI: a tenant admin imports the product's existing users
//! from a CSV (preview with every line's error in place, nothing half-written, CSRF,
//! bounds); API keys get a scope on their page; the Okta guide names the tenant's actual
//! existing-user setting.

use std::sync::Arc;

use roster_core::rules::{ExistingUser, ProvisioningSettings};
use roster_core::tokens::ApiScope;
use roster_entity::user;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::admin_support::{csrf_in, location, operator, tenant, tenant_admin};
use crate::api_seed::Key;
use crate::scim::support::{Scim, encode};

async fn users_of(app: &roster_testkit::TestApp, tenant: uuid::Uuid) -> Vec<user::Model> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant))
        .all(app.services.db().reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tenant_admin_imports_a_csv_with_errors_shown_inline_and_nothing_half_written() {
    let scim = Scim::new().await;
    let app = scim.app.clone();
    let tenant_id = scim.tenant_id().await;
    let acme = crate::rules::support::access(&app, "acme").await.1;
    let mut browser = tenant_admin(&app, &acme, "it@acme.test", "a long admin password 1").await;
    // Okta already created one user: the import links it.
    let okta_bob = scim.create_user("bob@acme.test").await;

    let (status, html) = browser.get_text("/admin/t/acme/users").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("/admin/t/acme/users/import"),
        "the users page links the import"
    );
    let (status, html) = browser.get_text("/admin/t/acme/users/import").await;
    assert_eq!(status, 200);
    let csrf = csrf_in(&html);

    // One bad line (3: not an address) and one repeated userName (5 repeats 2): every
    // error is shown next to its line, on preview and on import, and nothing is written.
    let bad = "userName,email,givenName,familyName,productRef\n\
               ada@acme.test,ada@acme.test,Ada,Lovelace,p-ada\n\
               cy@acme.test,cy at acme,Cy,<b>Young</b>,p-cy\n\
               bob@acme.test,,,,p-bob\n\
               ADA@acme.test,,,,p-ada2\n";
    for action in ["preview", "import"] {
        let response = browser
            .post(
                "/admin/t/acme/users/import",
                &[("csrf", &csrf), ("csv", bad), ("action", action)],
            )
            .await;
        assert_eq!(response.status(), 422, "{action}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Nothing was imported"), "{html}");
        assert!(
            html.contains("<td>3</td><td>cy@acme.test</td><td>emails</td><td>&#34;cy at acme&#34; is not an email address</td>"),
            "{html}"
        );
        // The CSV stays in the form, escaped.
        assert!(html.contains("&#60;b&#62;Young&#60;/b&#62;"), "{html}");
        assert!(!html.contains("<b>Young</b>"));
        assert_eq!(users_of(&app, tenant_id).await.len(), 1, "{action}");
    }
    // Fixed line 3: now line 5's duplicate is the only error, named with line 2.
    let duplicate = bad.replace("cy at acme", "cy@acme.test");
    let response = browser
        .post(
            "/admin/t/acme/users/import",
            &[("csrf", &csrf), ("csv", &duplicate), ("action", "import")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("the same userName as another user of this request (line 2)"),
        "{html}"
    );
    assert_eq!(users_of(&app, tenant_id).await.len(), 1);

    // A clean file: the preview says what will happen, and writes nothing.
    let good: String = duplicate
        .lines()
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect();
    let response = browser
        .post(
            "/admin/t/acme/users/import",
            &[("csrf", &csrf), ("csv", &good), ("action", "preview")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<strong>2</strong> user(s) to create, <strong>1</strong> to link"),
        "{html}"
    );
    assert_eq!(users_of(&app, tenant_id).await.len(), 1);

    // Without the session's CSRF token nothing is imported.
    let response = browser
        .post(
            "/admin/t/acme/users/import",
            &[("csrf", "forged"), ("csv", &good), ("action", "import")],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(users_of(&app, tenant_id).await.len(), 1);

    // Import: 303 to the result; users created with their references, Bob linked.
    let response = browser
        .post(
            "/admin/t/acme/users/import",
            &[("csrf", &csrf), ("csv", &good), ("action", "import")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert_eq!(
        to,
        "/admin/t/acme/users/import?created=2&linked=1&unchanged=0"
    );
    let (_, html) = browser.get_text(&to).await;
    assert!(
        html.contains("Imported: 2 created, 1 linked, 0 unchanged."),
        "{html}"
    );
    let users = users_of(&app, tenant_id).await;
    assert_eq!(users.len(), 3);
    let bob = users.iter().find(|u| u.id.to_string() == okta_bob).unwrap();
    assert_eq!(bob.product_ref.as_deref(), Some("p-bob"));
    let cy = users
        .iter()
        .find(|u| u.user_name == "cy@acme.test")
        .unwrap();
    assert_eq!(cy.product_ref.as_deref(), Some("p-cy"));
    assert!(
        cy.doc.contains("<b>Young</b>"),
        "stored as given, escaped when shown"
    );
    let filter = encode("userName eq \"cy@acme.test\"");
    let found = scim.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(
        found.body["totalResults"], 1,
        "Okta's lookup finds imported users"
    );

    // Importing the same file again changes nothing.
    let response = browser
        .post(
            "/admin/t/acme/users/import",
            &[("csrf", &csrf), ("csv", &good), ("action", "import")],
        )
        .await;
    assert_eq!(
        location(&response),
        "/admin/t/acme/users/import?created=0&linked=0&unchanged=3"
    );
    // Each import is in the audit log, with its counts and who made it.
    let (_, audit) = browser.get_text("/admin/t/acme/audit").await;
    assert_eq!(audit.matches("users.import").count(), 2, "{audit}");
    assert!(audit.contains("it@acme.test"), "{audit}");

    // Bounds: a file over 5 MB, an unknown column, a header alone: one clear error each.
    let big = format!("userName\n{}", "a".repeat(5 * 1024 * 1024));
    for (csv, says) in [
        (big.as_str(), "at most 5242880 (5 MB)"),
        (
            "userName,password\nx,y\n",
            "unknown column &#34;password&#34;",
        ),
        ("userName\n", "a header but no users"),
    ] {
        let response = browser
            .post(
                "/admin/t/acme/users/import",
                &[("csrf", &csrf), ("csv", csv), ("action", "preview")],
            )
            .await;
        assert_eq!(response.status(), 422);
        let html = response.text().await.unwrap();
        assert!(html.contains(says), "{says}");
    }
    assert_eq!(users_of(&app, tenant_id).await.len(), 3);
}

#[tokio::test]
async fn api_keys_get_a_scope_and_the_okta_guide_names_the_existing_user_setting() {
    let app = Arc::new(roster_testkit::spawn_app().await);
    let (mut browser, admin) = operator(&app).await;
    let acme = tenant(&app, &admin, "acme", "Acme").await;

    let (_, html) = browser.get_text("/admin/t/acme/api-keys").await;
    let csrf = csrf_in(&html);
    assert!(
        html.contains("value=\"read\" checked"),
        "read is the default"
    );
    let response = browser
        .post(
            "/admin/t/acme/api-keys",
            &[("csrf", &csrf), ("label", "Seed"), ("scope", "admin")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Must be read or write.")
    );
    let response = browser
        .post(
            "/admin/t/acme/api-keys",
            &[("csrf", &csrf), ("label", "Seed"), ("scope", "write")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Scope: <strong>Read and write users</strong>"),
        "{html}"
    );
    let start = html.find("rak_").unwrap();
    let key: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let seeded = app
        .client
        .post(app.url("/api/v1/users"))
        .header("Authorization", format!("Bearer {key}"))
        .json(&json!({"userName": "ada@acme.test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), 201);
    let (_, html) = browser.get_text("/admin/t/acme/api-keys").await;
    assert!(html.contains("<td>Read and write users</td>"), "{html}");
    Key::new(&app, "acme", ApiScope::Read).await;
    let (_, html) = browser.get_text("/admin/t/acme/api-keys").await;
    assert!(html.contains("<td>Read</td>"), "{html}");

    // The Okta guide says what this tenant does, and follows the setting.
    let (_, html) = browser.get_text("/admin/t/acme/connect/okta").await;
    assert!(
        html.contains("This organization’s setting is “Refuse it (409)”"),
        "{html}"
    );
    app.services
        .rules()
        .update_settings(
            &acme,
            ProvisioningSettings {
                existing_user: ExistingUser::Override,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_, html) = browser.get_text("/admin/t/acme/connect/okta").await;
    assert!(
        html.contains("This organization’s setting is “Override”"),
        "{html}"
    );
    let users = user::Entity::find()
        .count(app.services.db().reader())
        .await
        .unwrap();
    assert_eq!(users, 1);
}
