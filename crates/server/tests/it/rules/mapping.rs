//! Locations, kiosks and mapping rules: users become hosts where the first matching rule
//! says; with "assign users to locations and kiosks as host" on, a user who matches no
//! rule is not added.

use roster_core::rules::{
    AttributeName, AttributeType, KioskName, LocationCode, LocationName, MatchKind, MatchValues,
    NewAttribute, NewRule, ProvisioningSettings, RulePath, SampleUser, TimeZoneName,
};
use roster_entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::scim::support::{Scim, okta_user, patch_op};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

fn person(user_name: &str, city: &str, department: &str) -> Value {
    let mut body = okta_user(user_name);
    body["addresses"] = json!([
        {"type": "home", "locality": "Paris"},
        {"type": "work", "locality": city}
    ]);
    body[ENTERPRISE] = json!({"department": department});
    body
}

fn codes(event: &Value) -> Vec<String> {
    event["hosts"]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn users_become_hosts_by_rule_and_unmatched_users_are_not_added() {
    let scim = Scim::new().await;
    let (_, acme) = access(&scim.app, "acme").await;
    let rules = scim.app.services.rules();
    let paris = rules
        .add_location(
            &acme,
            LocationName::parse("Paris HQ").unwrap(),
            LocationCode::parse("PAR").unwrap(),
            TimeZoneName::parse("Europe/Paris").unwrap(),
        )
        .await
        .unwrap();
    let berlin = rules
        .add_location(
            &acme,
            LocationName::parse("Berlin").unwrap(),
            LocationCode::parse("BER").unwrap(),
            TimeZoneName::parse("Europe/Berlin").unwrap(),
        )
        .await
        .unwrap();
    rules
        .add_kiosk(&acme, paris, KioskName::parse("Lobby").unwrap())
        .await
        .unwrap();
    let lobby = rules
        .rules(&acme)
        .await
        .unwrap()
        .location(paris)
        .unwrap()
        .kiosks[0]
        .id;
    rules
        .add_attribute(
            &acme,
            NewAttribute {
                name: AttributeName::parse("site").unwrap(),
                ty: AttributeType::parse("string").unwrap(),
                multi_valued: false,
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let schema = rules.rules(&acme).await.unwrap().registry.clone();
    let rule = |path: &str, kind: MatchKind, values: &str, locations: Vec<Uuid>, kiosks| NewRule {
        path: RulePath::parse(path, schema.user()).unwrap(),
        kind,
        values: MatchValues::parse(values, kind).unwrap(),
        locations,
        kiosks,
    };
    for new in [
        rule(
            r#"addresses[type eq "work"].locality"#,
            MatchKind::Equals,
            "Paris",
            vec![paris],
            vec![lobby],
        ),
        rule(
            &format!("{ENTERPRISE}:department"),
            MatchKind::StartsWith,
            "eng",
            vec![berlin],
            vec![],
        ),
        rule(
            &format!("{ROSTER}:site"),
            MatchKind::OneOf,
            "HQ\nMain",
            vec![paris],
            vec![],
        ),
    ] {
        rules.add_rule(&acme, new).await.unwrap();
    }
    assert!(RulePath::parse("noSuchAttribute", schema.user()).is_err());
    assert!(RulePath::parse("emails[type eq", schema.user()).is_err());
    assert!(MatchValues::parse("a, b", MatchKind::Equals).is_err());

    // The preview: a sample user through the rules, in order, each rule against its
    // own attribute.
    let sample = SampleUser::new([
        (
            r#"addresses[type eq "work"].locality"#.to_owned(),
            "paris".to_owned(),
        ),
        (format!("{ENTERPRISE}:department"), "Engineering".to_owned()),
    ]);
    let preview = rules.preview_user(&acme, &sample).await.unwrap();
    assert_eq!(preview.decided_by, Some(1));
    let matched: Vec<(bool, bool)> = preview
        .checks
        .iter()
        .map(|c| (c.matched, c.decides))
        .collect();
    assert_eq!(matched, [(true, true), (true, false), (false, false)]);
    assert_eq!(preview.checks[2].value, None, "no site in the sample");
    assert_eq!(preview.locations, ["Paris HQ"]);
    assert_eq!(preview.kiosks, ["Lobby (Paris HQ)"]);
    let lyon = SampleUser::new([(
        r#"ADDRESSES[type eq "work"].locality"#.to_owned(),
        "Lyon".to_owned(),
    )]);
    assert_eq!(
        rules.preview_user(&acme, &lyon).await.unwrap().decided_by,
        None
    );

    rules
        .update_settings(
            &acme,
            ProvisioningSettings {
                assign_hosts: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // Matched by the first rule (the home address does not count).
    let answer = scim
        .post("/Users", person("ada@acme.test", "PARIS", "Sales"))
        .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let ada = answer.body["id"].as_str().unwrap().to_owned();
    let (_, event) = last_event(&scim).await;
    assert_eq!(codes(&event), ["PAR"]);
    assert_eq!(event["hosts"]["kiosks"][0]["name"], "Lobby");

    // Nothing matches: not added, and the log says why.
    let before = counts(&scim, &acme).await;
    let answer = scim
        .post("/Users", person("bob@acme.test", "Lyon", "Sales"))
        .await;
    assert_refused(
        &scim,
        &acme,
        before,
        &answer,
        400,
        Some("invalidValue"),
        &format!(
            "no location mapping rule matches this user, so Roster does not add it (\"Assign \
             users to locations and kiosks as host\" is on): addresses[type eq \"work\"].locality \
             is \"Lyon\"; {ENTERPRISE}:department is \"Sales\"; {ROSTER}:site has no value. Add a \
             mapping rule for this value in Roster under Locations, or change the user's \
             attribute in Okta"
        ),
    )
    .await;
    assert!(
        user::Entity::find()
            .filter(user::Column::UserNameLower.eq("bob@acme.test"))
            .one(scim.app.services.db().reader())
            .await
            .unwrap()
            .is_none()
    );

    // A custom attribute can decide too.
    let mut carol = person("carol@acme.test", "Lyon", "Sales");
    carol["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ENTERPRISE,
        ROSTER
    ]);
    carol[ROSTER] = json!({"site": "main"});
    let answer = scim.post("/Users", carol).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(codes(&last_event(&scim).await.1), ["PAR"]);

    // Recomputed when the attribute changes.
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([
                {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Lyon"},
                {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Engineering"}
            ])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(codes(&last_event(&scim).await.1), ["BER"]);
    // An update that matches nothing is refused like a creation…
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"}])),
        )
        .await;
    answer.assert_error(400, Some("invalidValue"));
    let detail = answer.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("so Roster does not apply this update (the user keeps its current values)"),
        "{detail}"
    );
    assert!(!detail.contains("does not add it"), "{detail}");
    // …but a deactivation never is, and neither is a deletion.
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([
                {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"},
                {"op": "replace", "path": "active", "value": false}
            ])),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    // Reactivating means matching again.
    let answer = scim
        .patch(
            &format!("/Users/{ada}"),
            patch_op(json!([{"op": "replace", "path": "active", "value": true}])),
        )
        .await;
    answer.assert_error(400, Some("invalidValue"));
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("so Roster does not reactivate it"),
        "{answer:?}"
    );
    assert_eq!(scim.delete(&format!("/Users/{ada}")).await.status, 204);

    // Removing a location takes it out of what rules assign.
    rules.remove_location(&acme, berlin).await.unwrap();
    let answer = scim
        .post("/Users", person("dan@acme.test", "Lyon", "Engineering"))
        .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert!(codes(&last_event(&scim).await.1).is_empty());
}
