//! The tenant list (operators: all, with the create form; tenant admins: theirs), a
//! tenant's overview, and suspending or reactivating a tenant.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::directory::Overview;
use roster_core::paging::PageSize;
use roster_core::tenants::{Tenant, TenantName, TenantSlug, TenantStatus};
use serde::Deserialize;

use super::auth::message_of;
use super::directory::LogRow;
use super::error::{AdminError, see_other};
use super::forms::{CsrfForm, Submitted};
use super::page::{Flash, Layout, invalid, ok, redirect_with, when, when_opt};
use super::session::{Admin, TenantPage, origin_of};
use crate::AppState;

pub(crate) struct TenantRow {
    slug: String,
    name: String,
    suspended: bool,
    created: String,
}

impl From<Tenant> for TenantRow {
    fn from(tenant: Tenant) -> Self {
        Self {
            slug: tenant.slug.to_string(),
            name: tenant.name,
            suspended: tenant.status == TenantStatus::Suspended,
            created: when(tenant.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/tenants.html")]
struct TenantsPage {
    l: Layout,
    tenants: Vec<TenantRow>,
    next: Option<String>,
    form: TenantFormValues,
}

#[derive(Default)]
struct TenantFormValues {
    slug: String,
    name: String,
    slug_error: Option<String>,
    name_error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    after: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct TenantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
}

impl CsrfForm for TenantForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn tenants_page(
    req: &HttpRequest,
    state: &AppState,
    session: &roster_core::sessions::CurrentSession,
    after: Option<&str>,
    form: TenantFormValues,
) -> Result<TenantsPage, AdminError> {
    let (tenants, next) = if session.admin.is_operator {
        let after = after.and_then(|raw| TenantSlug::parse(raw).ok());
        let page = state
            .services
            .tenants()
            .list_page(&session.admin, after.as_ref(), PageSize::DEFAULT)
            .await?;
        (page.items, page.next.map(|slug| slug.to_string()))
    } else {
        let tenants = state
            .services
            .memberships()
            .tenants_of(&session.admin)
            .await?;
        (tenants, None)
    };
    Ok(TenantsPage {
        l: Layout::new(req, session, "tenants"),
        tenants: tenants.into_iter().map(TenantRow::from).collect(),
        next,
        form,
    })
}

pub(crate) async fn list(
    req: HttpRequest,
    Admin(session): Admin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AdminError> {
    let page = tenants_page(
        &req,
        &state,
        &session,
        query.after.as_deref(),
        TenantFormValues::default(),
    )
    .await?;
    ok(&page)
}

pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(_): Admin,
    submitted: Submitted<TenantForm>,
) -> Result<HttpResponse, AdminError> {
    let Submitted { session, form } = submitted;
    let slug = TenantSlug::parse_new(&form.slug);
    let name = TenantName::parse(&form.name);
    let mut values = TenantFormValues {
        slug: form.slug.clone(),
        name: form.name.clone(),
        ..TenantFormValues::default()
    };
    match (slug, name) {
        (Ok(slug), Ok(name)) => {
            match state
                .services
                .tenants()
                .create_in_request(&session.admin, origin_of(&req, &state), slug, name)
                .await
            {
                Ok(scope) => {
                    return Ok(redirect_with(
                        &format!("/admin/t/{}", scope.slug()),
                        Flash::TenantCreated,
                    ));
                }
                Err(err @ roster_core::Error::Conflict(_)) => {
                    values.slug_error = Some(message_of(err));
                }
                Err(err) => return Err(err.into()),
            }
        }
        (slug, name) => {
            values.slug_error = slug.err().map(message_of);
            values.name_error = name.err().map(message_of);
        }
    }
    let page = tenants_page(&req, &state, &session, None, values).await?;
    invalid(&page)
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    l: Layout,
    scim_url: String,
    active_users: u64,
    inactive_users: u64,
    groups: u64,
    last_activity: String,
    entries: Vec<LogRow>,
    connected: bool,
    /// What the provisioning settings turn off, in plain words.
    paused: Option<String>,
    /// Whether provisioning is on (the overview offers to turn it on).
    enabled: bool,
    /// Webhook deliveries that gave up, across the tenant's endpoints.
    failed_deliveries: u64,
}

/// `{public_url}/scim/v2/{slug}`: what the identity provider is given.
pub(crate) fn scim_base_url(state: &AppState, slug: &TenantSlug) -> String {
    format!(
        "{}/scim/v2/{slug}",
        state.config.public_url.as_str().trim_end_matches('/')
    )
}

/// `{public_url}/scim/v2`, the base URL every tenant shares (the token decides), when the
/// operator has it on (`ROSTER_SCIM_SHARED_URL`).
pub(crate) fn scim_shared_url(state: &AppState) -> Option<String> {
    state.config.scim_shared_url.then(|| {
        format!(
            "{}/scim/v2",
            state.config.public_url.as_str().trim_end_matches('/')
        )
    })
}

pub(crate) async fn overview(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let TenantPage { session, scope } = page;
    let directory = state.services.directory();
    let directory = directory.tenant(&scope);
    let Overview {
        active_users,
        inactive_users,
        groups,
        last_activity,
        mut recent_failures,
    } = directory.overview().await?;
    directory.name_resources(&mut recent_failures).await?;
    let last_used = state.services.tokens().last_used(&scope).await?;
    let failed_deliveries = state.services.webhooks().failed_count(&scope).await?;
    let settings = state.services.rules().rules(&scope).await?.settings;
    let paused = super::connect::paused(&settings);
    ok(&OverviewPage {
        scim_url: scim_base_url(&state, scope.slug()),
        active_users,
        inactive_users,
        groups,
        last_activity: when_opt(last_activity, "No SCIM request yet"),
        entries: recent_failures.into_iter().map(LogRow::from).collect(),
        connected: last_used.is_some() && paused.is_none(),
        paused,
        enabled: settings.enabled,
        failed_deliveries,
        l: Layout::tenant(&req, &session, &scope, "overview"),
    })
}

#[derive(Template)]
#[template(path = "admin/tenant_status.html")]
struct StatusPage {
    l: Layout,
    suspend: bool,
}

/// The confirmation page for suspending or reactivating (operators only).
pub(crate) async fn confirm_status(
    req: HttpRequest,
    page: TenantPage,
) -> Result<HttpResponse, AdminError> {
    let TenantPage { session, scope } = page;
    roster_core::tenants::require_operator(&session.admin)?;
    ok(&StatusPage {
        suspend: scope.tenant().status == TenantStatus::Active,
        l: Layout::tenant(&req, &session, &scope, "overview"),
    })
}

#[derive(Deserialize)]
pub(crate) struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

impl CsrfForm for StatusForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn set_status(
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<StatusForm>,
) -> Result<HttpResponse, AdminError> {
    let (status, flash) = match submitted.form.status.as_str() {
        "suspended" => (TenantStatus::Suspended, Flash::TenantSuspended),
        "active" => (TenantStatus::Active, Flash::TenantResumed),
        _ => return Err(AdminError::BadRequest),
    };
    state
        .services
        .tenants()
        .set_status(&page.session.admin, &page.scope, status)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}", page.scope.slug()),
        flash,
    ))
}

/// `/admin/t/{slug}/` and similar near-misses land on the overview.
pub(crate) async fn to_overview(page: TenantPage) -> HttpResponse {
    see_other(&format!("/admin/t/{}", page.scope.slug()))
}
