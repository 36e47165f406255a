//! One case fold everywhere: a user stored as `ΟΔΥΣΣΕΥΣ` (Greek capitals whose last Σ
//! would become a final ς under a whole-string lower-casing) is found by the same name
//! through a SCIM filter, the directory API and the admin search, on both databases.

use secrecy::ExposeSecret;
use serde_json::json;

use crate::admin_support::operator;
use crate::scim::support::{Scim, encode};

#[tokio::test]
async fn a_greek_user_name_is_found_through_scim_the_api_and_the_admin_search() {
    let scim = Scim::new().await;
    let name = "ΟΔΥΣΣΕΥΣ";
    let created = scim
        .post(
            "/Users",
            json!({"userName": name, "displayName": "Οδυσσεύς", "name": {"familyName": "ΛΑΕΡΤΙΑΔΗΣ"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.body["id"].as_str().unwrap().to_owned();

    for filter in [
        format!("userName eq \"{name}\""),
        "userName eq \"Οδυσσευσ\"".to_owned(),
        "name.familyName eq \"λαερτιαδησ\"".to_owned(),
        "name.familyName sw \"ΛΑΕΡ\"".to_owned(),
    ] {
        let found = scim
            .get(&format!("/Users?filter={}", encode(&filter)))
            .await;
        assert_eq!(found.body["totalResults"], 1, "{filter}: {found:?}");
        assert_eq!(found.body["Resources"][0]["id"], id.as_str());
    }

    let tenant = scim
        .app
        .services
        .tenants()
        .find_by_slug("acme")
        .await
        .unwrap()
        .unwrap();
    let key = scim
        .app
        .services
        .api_keys()
        .create_for(
            &scim.app.command_line_access(tenant.slug.as_str()).await,
            roster_core::tokens::TokenLabel::parse("product").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    let answer: serde_json::Value = scim
        .app
        .client
        .get(
            scim.app
                .url(&format!("/api/v1/users?userName={}", encode(name))),
        )
        .bearer_auth(key.token.expose_secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["users"][0]["id"], id.as_str(), "{answer}");

    let (mut admin, _) = operator(&scim.app).await;
    let (status, html) = admin
        .get_text(&format!("/admin/t/acme/users?q={}", encode(name)))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(&id), "the admin search finds the user");
}
