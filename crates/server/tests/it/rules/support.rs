use roster_core::admins::{AccountScope, Admin, AdminEmail, NewPassword, Role};
use roster_core::memberships::TenantAccess;
use roster_entity::{event, provisioning_log, user};
use roster_testkit::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::Value;

use crate::scim::support::{Answer, Scim};

pub const OPERATOR: &str = "op@roster.test";

/// The operator of this app (created on first use) and its access to `slug`.
pub async fn access(app: &TestApp, slug: &str) -> (Admin, TenantAccess) {
    let email = AdminEmail::parse(OPERATOR).unwrap();
    let operator = match app
        .services
        .admins()
        .find(&AccountScope::Operators, &email)
        .await
        .unwrap()
    {
        Some(admin) => admin,
        None => app
            .services
            .admins()
            .create(
                email,
                NewPassword::parse(SecretString::from("a long operator password")).unwrap(),
                Role::Operator,
                false,
            )
            .await
            .unwrap(),
    };
    let access = app
        .services
        .memberships()
        .access(&operator, slug)
        .await
        .unwrap()
        .unwrap();
    (operator, access)
}

/// Row counts of one tenant, to show that a refused request left nothing behind.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Counts {
    pub users: u64,
    pub events: u64,
    pub log: u64,
}

pub async fn counts(scim: &Scim, access: &TenantAccess) -> Counts {
    let db = scim.app.services.db().reader();
    let tenant = access.id().0;
    Counts {
        users: user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant))
            .count(db)
            .await
            .unwrap(),
        events: event::Entity::find()
            .filter(event::Column::TenantId.eq(tenant))
            .count(db)
            .await
            .unwrap(),
        log: provisioning_log::Entity::find()
            .filter(provisioning_log::Column::TenantId.eq(tenant))
            .count(db)
            .await
            .unwrap(),
    }
}

/// Asserts the SCIM error (status, scimType, exact detail), and that the request left
/// only its one failure row in the provisioning log.
pub async fn assert_refused(
    scim: &Scim,
    access: &TenantAccess,
    before: Counts,
    answer: &Answer,
    status: u16,
    scim_type: Option<&str>,
    detail: &str,
) {
    answer.assert_error(status, scim_type);
    assert_eq!(answer.body["detail"], detail, "{answer:?}");
    let after = counts(scim, access).await;
    assert_eq!(after.users, before.users, "no user row was written");
    assert_eq!(after.events, before.events, "no event was written");
    assert_eq!(after.log, before.log + 1, "one provisioning-log row");
    let last = &scim.log().await[0];
    assert_eq!(last.outcome, "failure");
    assert_eq!(i32::from(status), last.status);
    assert_eq!(last.detail.as_deref(), Some(detail));
}

pub fn user_body(user_name: &str, email: &str) -> Value {
    let mut body = crate::scim::support::okta_user(user_name);
    body["emails"][0]["value"] = Value::String(email.to_owned());
    body
}

/// The payload of the tenant's last event.
pub async fn last_event(scim: &Scim) -> (String, Value) {
    let event = scim.events().await.pop().unwrap();
    (
        event.event_type,
        serde_json::from_str(&event.payload).unwrap(),
    )
}

/// A user as the product reads it: `GET /api/v1/users/{id}` with a new API key.
pub async fn api_user(scim: &Scim, id: &str) -> Value {
    use roster_core::tokens::TokenLabel;
    use secrecy::ExposeSecret;
    let key = scim
        .app
        .services
        .api_keys()
        .create_for(
            &scim.app.command_line_access(&scim.slug).await,
            TokenLabel::parse("product").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .get(scim.app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(key.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
