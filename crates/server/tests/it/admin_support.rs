//! Helpers for the admin UI tests: an HTTP client that keeps cookies and speaks forms the
//! way a browser does, fixtures written through the entities (users, groups and log rows
//! come from the SCIM service, which is not this branch's), and a real headless
//! Chromium driven through chromedriver.

mod browser;

pub use browser::*;

use std::collections::HashMap;

use roster_core::admins::{AccountScope, Admin, AdminEmail};
use roster_core::memberships::TenantAccess;
use roster_core::tenants::{TenantName, TenantSlug};
use roster_entity::{group, group_member, provisioning_log, user};
use roster_testkit::TestApp;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use secrecy::ExposeSecret;
use uuid::Uuid;

pub const OPERATOR_EMAIL: &str = "admin@localhost";
pub const OPERATOR_PASSWORD: &str = "operator password 2026";

/// A cookie-keeping form client, like a browser without JavaScript.
pub struct Browserless {
    base: String,
    client: reqwest::Client,
    pub cookies: HashMap<String, String>,
    /// Sent as `X-Forwarded-For`, as a proxy in front of Roster would.
    forwarded_for: Option<String>,
}

impl Browserless {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            client: app.client.clone(),
            cookies: HashMap::new(),
            forwarded_for: None,
        }
    }

    /// A client behind a proxy that says it comes from `address` (believed only when the
    /// app trusts the proxy, here 127.0.0.1).
    pub fn behind_proxy_as(mut self, address: &str) -> Self {
        self.forwarded_for = Some(address.to_owned());
        self
    }

    fn with_forwarding(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.forwarded_for {
            Some(address) => request.header("x-forwarded-for", address),
            None => request,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let raw = value.to_str().unwrap();
            let pair = raw.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || raw.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header());
        let response = self.with_forwarding(request).send().await.unwrap();
        self.keep_cookies(&response);
        response
    }

    pub async fn get_text(&mut self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts a form from our own origin, as the browser would.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let origin = self.base.clone();
        self.post_from(path, form, Some(&origin)).await
    }

    pub async fn post_from(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in form {
            body.append_pair(name, value);
        }
        self.post_raw(path, body.finish().into_bytes(), origin)
            .await
    }

    pub async fn post_raw(
        &mut self,
        path: &str,
        body: Vec<u8>,
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = self.with_forwarding(request).send().await.unwrap();
        self.keep_cookies(&response);
        response
    }

    /// The CSRF token of the signed-in session, read from a page as a browser would.
    pub async fn csrf(&mut self) -> String {
        let (_, html) = self.get_text("/admin/password").await;
        csrf_in(&html)
    }

    /// Signs in as an operator (no organization).
    pub async fn sign_in(&mut self, email: &str, password: &str) -> reqwest::Response {
        self.sign_in_to("", email, password).await
    }

    /// Signs in to an organization's account (a tenant's slug; empty for an operator).
    pub async fn sign_in_to(
        &mut self,
        organization: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.post(
            "/admin/login",
            &[
                ("organization", organization),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Accepts an invitation link with a chosen password, as the invitee would.
    pub async fn accept_invitation(&mut self, link: &str, password: &str) -> reqwest::Response {
        let path = link
            .find("/admin/invitations/")
            .map(|at| link[at..].to_owned())
            .expect("an invitation link");
        let (status, _) = self.get_text(&path).await;
        assert_eq!(status, 200, "the invitation page opens");
        self.post(&path, &[("password", password), ("confirm", password)])
            .await
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.get("roster_session").cloned()
    }
}

pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The link on the page that answers an invitation.
pub fn invitation_link_in(html: &str) -> String {
    let marker = "id=\"invitation-link\" value=\"";
    let start = html.find(marker).expect("the page shows the link") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The bootstrap operator, with the one-time password already changed.
pub async fn operator(app: &TestApp) -> (Browserless, Admin) {
    let bootstrap = app
        .services
        .admins()
        .bootstrap_operator(AdminEmail::parse(OPERATOR_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut client = Browserless::new(app);
    let response = client
        .sign_in(OPERATOR_EMAIL, bootstrap.password.expose_secret())
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(location(&response), "/admin/password");
    let csrf = client.csrf().await;
    let response = client
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
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let admin = find_admin(app, OPERATOR_EMAIL).await;
    (client, admin)
}

/// An operator's account.
pub async fn find_admin(app: &TestApp, email: &str) -> Admin {
    app.services
        .admins()
        .find(&AccountScope::Operators, &AdminEmail::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// A tenant admin's account, if the tenant has one with this email.
pub async fn find_tenant_admin(app: &TestApp, scope: &TenantAccess, email: &str) -> Option<Admin> {
    app.services
        .admins()
        .find(
            &AccountScope::Tenant(scope.tenant().clone()),
            &AdminEmail::parse(email).unwrap(),
        )
        .await
        .unwrap()
}

/// An invitation's link, created through the service (the admins page shows the same).
pub async fn invitation_link(app: &TestApp, scope: &TenantAccess, email: &str) -> String {
    let invitation = app
        .services
        .invitations()
        .create(scope, AdminEmail::parse(email).unwrap(), None)
        .await
        .unwrap();
    format!(
        "{}/admin/invitations/{}",
        app.address,
        invitation.secret.expose_secret()
    )
}

pub async fn tenant(app: &TestApp, operator: &Admin, slug: &str, name: &str) -> TenantAccess {
    app.services
        .tenants()
        .create_by(
            operator,
            TenantSlug::parse(slug).unwrap(),
            TenantName::parse(name).unwrap(),
        )
        .await
        .unwrap()
}

/// The tenant `acme` ("Acme Inc."), created by the bootstrap operator.
pub async fn acme(app: &TestApp) -> TenantAccess {
    let (_, operator_admin) = operator(app).await;
    tenant(app, &operator_admin, "acme", "Acme Inc.").await
}

/// Invites a tenant admin, who accepts the link with a chosen password and is signed in.
pub async fn tenant_admin(
    app: &TestApp,
    scope: &TenantAccess,
    email: &str,
    password: &str,
) -> Browserless {
    let link = invitation_link(app, scope, email).await;
    let mut client = Browserless::new(app);
    let response = client.accept_invitation(&link, password).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(location(&response), format!("/admin/t/{}", scope.slug()));
    client
}

/// A provisioned user as the SCIM service will write it (fixture until that lands).
pub async fn fixture_user(
    app: &TestApp,
    scope: &TenantAccess,
    user_name: &str,
    display: &str,
    active: bool,
) -> Uuid {
    let id = Uuid::now_v7();
    let now = roster_core::time::Clock::system().now().as_micros();
    let doc = serde_json::json!({
        "userName": user_name,
        "name": {"givenName": display.split(' ').next().unwrap_or(display), "familyName": "Fixture"},
        "displayName": display,
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": active,
    });
    user::ActiveModel {
        id: Set(id),
        tenant_id: Set(scope.id().0),
        user_name: Set(user_name.to_owned()),
        user_name_lower: Set(user_name.to_lowercase()),
        external_id: Set(Some(format!("okta-{id}"))),
        display_name: Set(Some(display.to_owned())),
        display_name_lower: Set(Some(display.to_lowercase())),
        primary_email_lower: Set(Some(user_name.to_lowercase())),
        active: Set(active),
        doc: Set(doc.to_string()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        notifications: Set(None),
        hosts: Set(None),
        product_ref: Set(None),
    }
    .insert(app.services.db().writer())
    .await
    .unwrap();
    id
}

pub async fn fixture_group(
    app: &TestApp,
    scope: &TenantAccess,
    name: &str,
    members: &[Uuid],
) -> Uuid {
    let id = Uuid::now_v7();
    group::ActiveModel {
        id: Set(id),
        tenant_id: Set(scope.id().0),
        display_name: Set(name.to_owned()),
        display_name_lower: Set(name.to_lowercase()),
        external_id: Set(None),
        doc: Set("{}".to_owned()),
        version: Set(1),
        created_at: Set(1_700_000_000_000_000),
        updated_at: Set(1_700_000_000_000_000),
    }
    .insert(app.services.db().writer())
    .await
    .unwrap();
    for member in members {
        group_member::ActiveModel {
            group_id: Set(id),
            user_id: Set(*member),
            tenant_id: Set(scope.id().0),
            created_at: Set(1),
        }
        .insert(app.services.db().writer())
        .await
        .unwrap();
    }
    id
}

pub async fn fixture_log(
    app: &TestApp,
    scope: &TenantAccess,
    operation: &str,
    resource_id: Option<Uuid>,
    status: i32,
    detail: Option<&str>,
) -> String {
    let request_id = Uuid::now_v7().to_string();
    provisioning_log::ActiveModel {
        tenant_id: Set(scope.id().0),
        occurred_at: Set(roster_core::time::Clock::system().now().as_micros()),
        request_id: Set(request_id.clone()),
        token_id: Set(None),
        operation: Set(operation.to_owned()),
        resource_type: Set(resource_id.map(|_| "User".to_owned())),
        resource_id: Set(resource_id.map(|id| id.to_string())),
        outcome: Set(if status < 400 { "success" } else { "failure" }.to_owned()),
        status: Set(status),
        scim_type: Set((status >= 400).then(|| "invalidValue".to_owned())),
        detail: Set(detail.map(str::to_owned)),
        duration_us: Set(1_234),
        ..Default::default()
    }
    .insert(app.services.db().writer())
    .await
    .unwrap();
    request_id
}

/// The id in `…/{kind}/{id}/remove` of the first such link on a page.
pub fn first_id(html: &str, kind: &str) -> String {
    let marker = format!("/{kind}/");
    let mut rest = html;
    while let Some(at) = rest.find(&marker) {
        let candidate = &rest[at + marker.len()..];
        let id: String = candidate.chars().take(36).collect();
        if uuid::Uuid::parse_str(&id).is_ok() {
            return id;
        }
        rest = &rest[at + marker.len()..];
    }
    panic!("no /{kind}/<id> link on the page");
}
