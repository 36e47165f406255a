//! API keys for the events and directory API: list, create (the key is shown once, in
//! the answer to the POST), revoke with confirmation. The same pattern as SCIM tokens;
//! the keys live in the same table with `kind = api` and never open the SCIM endpoint.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::paging::PageSize;
use roster_core::time::Timestamp;
use roster_core::tokens::{ApiScope, TokenExpiry, TokenId, TokenInfo, TokenLabel};
use secrecy::ExposeSecret;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::message_of;
use super::error::AdminError;
use super::forms::{CsrfForm, CsrfOnly, Submitted};
use super::page::{Flash, Layout, invalid, ok, redirect_with, when, when_opt};
use super::session::TenantPage;
use crate::AppState;

const SECTION: &str = "api-keys";

pub(crate) struct KeyRow {
    id: String,
    label: String,
    prefix: String,
    created: String,
    last_used: String,
    expires: String,
    /// What the key may do, as the page names it.
    scope: &'static str,
    /// `active`, `expired` or `revoked`.
    state: &'static str,
}

impl KeyRow {
    fn new(key: TokenInfo, now: Timestamp) -> Self {
        let state = if key.revoked_at.is_some() {
            "revoked"
        } else if key.is_live(now) {
            "active"
        } else {
            "expired"
        };
        Self {
            id: key.id.0.to_string(),
            label: key.label,
            prefix: key.display_prefix,
            created: when(key.created_at),
            last_used: when_opt(key.last_used_at, "Never"),
            expires: when_opt(key.expires_at, "Never"),
            scope: key.api_scope.label(),
            state,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
struct KeysPage {
    l: Layout,
    keys: Vec<KeyRow>,
    next: Option<String>,
    label: String,
    expires: String,
    /// `read` or `write`.
    scope: String,
    label_error: Option<String>,
    expires_error: Option<String>,
    scope_error: Option<String>,
    api_url: String,
}

#[derive(Deserialize)]
pub(crate) struct BeforeQuery {
    before: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    scope: String,
}

impl CsrfForm for KeyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Default)]
struct FormState {
    label: String,
    expires: String,
    scope: String,
    label_error: Option<String>,
    expires_error: Option<String>,
    scope_error: Option<String>,
}

/// The API's base URL, e.g. `https://roster.example.com/api/v1`.
fn api_base_url(state: &AppState) -> String {
    format!(
        "{}/api/v1",
        state.config.public_url.as_str().trim_end_matches('/')
    )
}

async fn keys_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    before: Option<TokenId>,
    form: FormState,
) -> Result<KeysPage, AdminError> {
    let result = state
        .services
        .api_keys()
        .list(&page.scope, before, PageSize::DEFAULT)
        .await?;
    let now = Timestamp::now();
    Ok(KeysPage {
        l: Layout::tenant(req, &page.session, &page.scope, SECTION),
        keys: result
            .items
            .into_iter()
            .map(|key| KeyRow::new(key, now))
            .collect(),
        next: result.next.map(|id| id.0.to_string()),
        label: form.label,
        expires: form.expires,
        scope: if form.scope.is_empty() {
            ApiScope::Read.as_str().to_owned()
        } else {
            form.scope
        },
        label_error: form.label_error,
        expires_error: form.expires_error,
        scope_error: form.scope_error,
        api_url: api_base_url(state),
    })
}

pub(crate) async fn list(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    query: web::Query<BeforeQuery>,
) -> Result<HttpResponse, AdminError> {
    let before = query
        .before
        .as_deref()
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .map(TokenId);
    ok(&keys_page(&req, &state, &page, before, FormState::default()).await?)
}

#[derive(Template)]
#[template(path = "admin/api_key_created.html")]
struct CreatedPage<'a> {
    l: Layout,
    label: String,
    key: &'a str,
    scope: &'static str,
    api_url: String,
}

pub(crate) async fn create(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<KeyForm>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let created = match (
        TokenLabel::parse(&form.label),
        TokenExpiry::parse(&form.expires),
        ApiScope::parse(&form.scope),
    ) {
        (Ok(label), Ok(expiry), Ok(scope)) => state
            .services
            .api_keys()
            .create_api_key(
                page.scope.id(),
                label,
                expiry.at(),
                Some(page.session.admin.id),
                scope,
            )
            .await
            .map(Ok)?,
        (label, expiry, scope) => Err((label.err(), expiry.err(), scope.err())),
    };
    match created {
        Ok(created) => {
            let body = CreatedPage {
                l: Layout::tenant(&req, &page.session, &page.scope, SECTION),
                label: created.info.label.clone(),
                key: created.token.expose_secret(),
                scope: created.info.api_scope.label(),
                api_url: api_base_url(&state),
            };
            // Shown once: no cache may keep it, and reloading would only create another.
            let mut response = ok(&body)?;
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Err((label, expiry, scope)) => {
            let form = FormState {
                label_error: label.map(message_of),
                expires_error: expiry.map(message_of),
                scope_error: scope.map(message_of),
                label: form.label,
                expires: form.expires,
                scope: form.scope,
            };
            invalid(&keys_page(&req, &state, &page, None, form).await?)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/api_key_revoke.html")]
struct RevokePage {
    l: Layout,
    key: KeyRow,
}

async fn find_key(
    state: &AppState,
    page: &TenantPage,
    raw_id: &str,
) -> Result<TokenInfo, AdminError> {
    let id = Uuid::parse_str(raw_id).map_err(|_| AdminError::NotFound)?;
    state
        .services
        .api_keys()
        .find(&page.scope, TokenId(id))
        .await?
        .ok_or(AdminError::NotFound)
}

pub(crate) async fn confirm_revoke(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let key = find_key(&state, &page, &path.1).await?;
    ok(&RevokePage {
        l: Layout::tenant(&req, &page.session, &page.scope, SECTION),
        key: KeyRow::new(key, Timestamp::now()),
    })
}

pub(crate) async fn revoke(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let key = find_key(&state, &page, &path.1).await?;
    state
        .services
        .api_keys()
        .revoke(&page.scope, key.id)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/api-keys", page.scope.slug()),
        Flash::ApiKeyRevoked,
    ))
}
