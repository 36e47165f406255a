use std::sync::Arc;

use reqwest::{Method, StatusCode, header::HeaderMap};
use roster_core::tenants::{TenantName, TenantSlug};
use roster_core::tokens::TokenLabel;
use roster_testkit::{TestApp, spawn_app};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// A tenant with a token, on a running app.
pub struct Scim {
    pub app: Arc<TestApp>,
    /// The SCIM base URL requests go to: the tenant's, or the shared one ([`Scim::shared`]).
    pub base: String,
    pub token: String,
    pub slug: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error body with this status and scimType.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{self:?}"
        );
        assert_eq!(
            self.body["status"],
            status.to_string(),
            "status is a string: {self:?}"
        );
        match scim_type {
            Some(t) => assert_eq!(self.body["scimType"], t, "{self:?}"),
            None => assert!(self.body.get("scimType").is_none(), "{self:?}"),
        }
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{self:?}"
        );
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
    }
}

pub async fn create_tenant(app: &TestApp, slug: &str) -> (String, String) {
    let tenant = app
        .services
        .tenants()
        .create(
            TenantSlug::parse(slug).unwrap(),
            TenantName::parse(slug).unwrap(),
        )
        .await
        .unwrap();
    let token = app
        .services
        .tokens()
        .create_for(
            &app.command_line_access(tenant.slug.as_str()).await,
            TokenLabel::parse("test").unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    (
        app.url(&format!("/scim/v2/{slug}")),
        token.token.expose_secret().to_owned(),
    )
}

impl Scim {
    pub async fn new() -> Self {
        Self::on(Arc::new(spawn_app().await), "acme").await
    }

    /// Another tenant on the same app.
    pub async fn tenant(&self, slug: &str) -> Self {
        Self::on(self.app.clone(), slug).await
    }

    pub async fn on(app: Arc<TestApp>, slug: &str) -> Self {
        let (base, token) = create_tenant(&app, slug).await;
        Self {
            app,
            base,
            token,
            slug: slug.to_owned(),
        }
    }

    /// The same tenant and token, through the shared base URL `/scim/v2`, where the
    /// token alone decides the tenant.
    pub fn shared(&self) -> Self {
        Self {
            app: self.app.clone(),
            base: self.app.url("/scim/v2"),
            token: self.token.clone(),
            slug: self.slug.clone(),
        }
    }

    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("User-Agent", "Okta SCIM Client 1.0.0");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A GET with another token (or none, with an empty one).
    pub async fn get_with_token(&self, path: &str, token: &str) -> Answer {
        let mut request = self.app.client.get(format!("{}{path}", self.base));
        if !token.is_empty() {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let headers = [("Content-Type", "application/scim+json; charset=utf-8")];
        self.send_raw(method, path, body.map(|b| b.to_string()), &headers)
            .await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a user as Okta does and returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let answer = self.post("/Users", okta_user(user_name)).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        answer.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn create_group(&self, name: &str) -> String {
        let answer = self
            .post(
                "/Groups",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": []}),
            )
            .await;
        assert_eq!(answer.status, 201, "{answer:?}");
        answer.body["id"].as_str().unwrap().to_owned()
    }

    /// Rows of the provisioning log, newest first.
    pub async fn log(&self) -> Vec<roster_entity::provisioning_log::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        roster_entity::provisioning_log::Entity::find()
            .order_by_desc(roster_entity::provisioning_log::Column::Id)
            .all(self.app.services.db().reader())
            .await
            .unwrap()
    }

    /// Outbox events, oldest first.
    pub async fn events(&self) -> Vec<roster_entity::event::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        roster_entity::event::Entity::find()
            .order_by_asc(roster_entity::event::Column::Id)
            .all(self.app.services.db().reader())
            .await
            .unwrap()
    }
}

/// The body Okta sends to create a user (Okta SCIM 2.0 reference).
pub fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": format!("00u-{user_name}"),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

pub fn patch_op(operations: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    })
}

pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Scim {
    /// The tenant's id, read from the database.
    pub async fn tenant_id(&self) -> uuid::Uuid {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let slug = self.slug.clone();
        roster_entity::tenant::Entity::find()
            .filter(roster_entity::tenant::Column::Slug.eq(slug))
            .one(self.app.services.db().reader())
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Inserts `count` users directly (the subject of a test is what it does with them,
    /// not how they arrive): `{prefix}{i}@big.test`, with their email rows, then indexes
    /// them as a node's start does. Returns the ids in creation order.
    pub async fn seed_users(&self, prefix: &str, count: usize) -> Vec<uuid::Uuid> {
        let tenant_id = self.tenant_id().await;
        let ids = insert_users(self.app.services.db().writer(), tenant_id, prefix, count).await;
        self.app
            .services
            .provisioning()
            .index_unindexed_users()
            .await
            .unwrap();
        ids
    }
}

/// Inserts `count` users of `tenant_id` with a bulk insert, not indexed yet (a node's
/// start indexes them): `{prefix}{i}@big.test`, with their email rows. Returns the ids in
/// creation order.
pub async fn insert_users(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: uuid::Uuid,
    prefix: &str,
    count: usize,
) -> Vec<uuid::Uuid> {
    use roster_entity::{user, user_email};
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let ids: Vec<uuid::Uuid> = (0..count).map(|_| uuid::Uuid::now_v7()).collect();
    for (n, chunk) in ids.chunks(2000).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, id)| {
            let i = n * 2000 + i;
            let name = format!("{prefix}{i}@big.test");
            user::ActiveModel {
                id: Set(*id),
                tenant_id: Set(tenant_id),
                user_name: Set(name.clone()),
                user_name_lower: Set(name.to_lowercase()),
                external_id: Set(Some(format!("ext-{prefix}{i}"))),
                display_name: Set(Some(format!("User {i}"))),
                display_name_lower: Set(Some(format!("user {i}"))),
                primary_email_lower: Set(Some(name.to_lowercase())),
                active: Set(true),
                doc: Set(json!({
                    "userName": name,
                    "externalId": format!("ext-{prefix}{i}"),
                    "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
                    "displayName": format!("User {i}"),
                    "emails": [{"value": name, "type": "work", "primary": true}],
                    "active": true
                })
                .to_string()),
                version: Set(1),
                created_at: Set(1),
                updated_at: Set(1),
                notifications: Set(None),
                hosts: Set(None),
                product_ref: Set(None),
            }
        });
        user::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .unwrap();
        let emails = chunk.iter().enumerate().map(|(i, id)| {
            let i = n * 2000 + i;
            user_email::ActiveModel {
                user_id: Set(*id),
                position: Set(0),
                tenant_id: Set(tenant_id),
                value_lower: Set(format!("{prefix}{i}@big.test").to_lowercase()),
                type_lower: Set(Some("work".to_owned())),
                is_primary: Set(true),
            }
        });
        user_email::Entity::insert_many(emails)
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    ids
}
