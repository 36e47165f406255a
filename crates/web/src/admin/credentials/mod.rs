//! Revocable credentials: SCIM tokens (`tokens`) and API keys (`api_keys`). Both live in
//! one table behind one `TokenService`, and their pages share a life cycle: a list with a
//! create form, the secret shown once in the answer to the POST (never stored, logged or
//! put in a URL), and revocation after a confirmation page. That life cycle is written
//! once here, parameterised by a [`Kind`]; each kind's module keeps only what differs —
//! who may open its pages, what a credential is limited to, and its create form.

pub(crate) mod api_keys;
pub(crate) mod tokens;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::memberships::TenantAccess;
use roster_core::paging::PageSize;
use roster_core::time::Timestamp;
use roster_core::tokens::{TokenId, TokenInfo, TokenService};
use serde::Deserialize;
use uuid::Uuid;

use super::error::AdminError;
use super::forms::CsrfForm;
use super::page::{Flash, Layout, ok, redirect_with, when, when_opt};
use super::session::{Ability, TenantPage, TenantView};
use crate::AppState;

/// One kind of revocable credential and the pages that show it.
pub(crate) trait Kind: 'static {
    /// Who may open the kind's pages (the extractor answers 404 or redirects otherwise).
    type Page: CredentialPage + FromRequest<Error = AdminError>;
    /// The revoke POST's CSRF-checked form.
    type RevokeForm: FromRequest<Error = AdminError>;
    /// What each credential is limited to, loaded once per page.
    type Limits;
    /// The list with its create form.
    type ListPage: Template;
    /// The path segment under `/admin/t/{slug}/` and the navigation section.
    const SECTION: &'static str;
    /// The flash shown after a revocation.
    const REVOKED: Flash;

    /// The service that keeps this kind (both are a `TokenService`, each for its kind).
    fn service(state: &AppState) -> &TokenService;

    /// What the credentials of `access` may be limited to, loaded once per page.
    async fn limits(state: &AppState, access: &TenantAccess) -> Result<Self::Limits, AdminError>;

    /// What the credential is limited to, as the page names it (empty: nothing).
    fn limit(info: &TokenInfo, limits: &Self::Limits) -> String;

    /// The list from `before` on, with the create form as `form` says.
    async fn list_page(
        req: &HttpRequest,
        state: &AppState,
        page: &Self::Page,
        before: Option<TokenId>,
        form: FormState,
    ) -> Result<Self::ListPage, AdminError>;

    /// The confirmation page for revoking `row`.
    fn revoke_page(l: Layout, row: CredentialRow) -> Result<HttpResponse, AdminError>;
}

/// A tenant page that shows credentials: the tenant and the layout for it.
pub(crate) trait CredentialPage {
    fn access(&self) -> &TenantAccess;
    fn layout(&self, req: &HttpRequest, section: &'static str) -> Layout;
}

impl CredentialPage for TenantPage {
    fn access(&self) -> &TenantAccess {
        &self.scope
    }

    fn layout(&self, req: &HttpRequest, section: &'static str) -> Layout {
        Layout::tenant(req, &self.session, &self.scope, section)
    }
}

impl<A: Ability> CredentialPage for TenantView<A> {
    fn access(&self) -> &TenantAccess {
        &self.scope
    }

    fn layout(&self, req: &HttpRequest, section: &'static str) -> Layout {
        Layout::view(req, self, section)
    }
}

/// One credential as its list and its revoke page show it.
pub(crate) struct CredentialRow {
    id: String,
    label: String,
    prefix: String,
    created: String,
    last_used: String,
    expires: String,
    /// `active`, `expired` or `revoked`.
    state: &'static str,
    /// What the credential is limited to, as the kind names it.
    scope: String,
}

impl CredentialRow {
    fn new<K: Kind>(info: TokenInfo, now: Timestamp, limits: &K::Limits) -> Self {
        let state = if info.revoked_at.is_some() {
            "revoked"
        } else if info.is_live(now) {
            "active"
        } else {
            "expired"
        };
        let scope = K::limit(&info, limits);
        Self {
            id: info.id.0.to_string(),
            label: info.label,
            prefix: info.display_prefix,
            created: when(info.created_at),
            last_used: when_opt(info.last_used_at, "Never"),
            expires: when_opt(info.expires_at, "Never"),
            state,
            scope,
        }
    }
}

/// The create form of either kind: a label, an optional expiry, and what the credential is
/// limited to — a token's verified domain (`domain`), a key's scope (`scope`). Each kind
/// reads its own field.
#[derive(Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    expires: String,
    /// A verified domain's id, or empty for the whole tenant.
    #[serde(default)]
    domain: String,
    /// `read` or `write`.
    #[serde(default)]
    scope: String,
}

impl CsrfForm for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// What the list page's create form shows: the values typed and the errors found.
#[derive(Default)]
pub(crate) struct FormState {
    label: String,
    expires: String,
    /// The kind's limit as typed: a domain's id, or a key's scope.
    limit: String,
    label_error: Option<String>,
    expires_error: Option<String>,
    limit_error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct BeforeQuery {
    before: Option<String>,
}

impl BeforeQuery {
    /// The page cursor; a malformed one is the first page.
    fn cursor(&self) -> Option<TokenId> {
        self.before
            .as_deref()
            .and_then(|raw| Uuid::parse_str(raw).ok())
            .map(TokenId)
    }
}

/// One page of a kind's credentials, the cursor of the next, and the kind's limits.
struct Listed<K: Kind> {
    rows: Vec<CredentialRow>,
    next: Option<String>,
    limits: K::Limits,
}

async fn listing<K: Kind>(
    state: &AppState,
    access: &TenantAccess,
    before: Option<TokenId>,
) -> Result<Listed<K>, AdminError> {
    let result = K::service(state)
        .list(access, before, PageSize::DEFAULT)
        .await?;
    let limits = K::limits(state, access).await?;
    let now = state.services.clock().now();
    Ok(Listed {
        rows: result
            .items
            .into_iter()
            .map(|info| CredentialRow::new::<K>(info, now, &limits))
            .collect(),
        next: result.next.map(|id| id.0.to_string()),
        limits,
    })
}

/// The answer that shows a new secret: no cache may keep it, and reloading would only
/// create another.
fn shown_once<T: Template>(body: &T) -> Result<HttpResponse, AdminError> {
    let mut response = ok(body)?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub(crate) async fn list<K: Kind>(
    req: HttpRequest,
    page: K::Page,
    state: web::Data<AppState>,
    query: web::Query<BeforeQuery>,
) -> Result<HttpResponse, AdminError> {
    let before = query.cursor();
    ok(&K::list_page(&req, &state, &page, before, FormState::default()).await?)
}

async fn find<K: Kind>(
    state: &AppState,
    access: &TenantAccess,
    raw_id: &str,
) -> Result<TokenInfo, AdminError> {
    let id = Uuid::parse_str(raw_id).map_err(|_| AdminError::NotFound)?;
    K::service(state)
        .find(access, TokenId(id))
        .await?
        .ok_or(AdminError::NotFound)
}

pub(crate) async fn confirm_revoke<K: Kind>(
    req: HttpRequest,
    page: K::Page,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let info = find::<K>(&state, page.access(), &path.1).await?;
    let limits = K::limits(&state, page.access()).await?;
    K::revoke_page(
        page.layout(&req, K::SECTION),
        CredentialRow::new::<K>(info, state.services.clock().now(), &limits),
    )
}

pub(crate) async fn revoke<K: Kind>(
    page: K::Page,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: K::RevokeForm,
) -> Result<HttpResponse, AdminError> {
    let info = find::<K>(&state, page.access(), &path.1).await?;
    K::service(&state).revoke(page.access(), info.id).await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/{}", page.access().slug(), K::SECTION),
        K::REVOKED,
    ))
}
