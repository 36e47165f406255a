//! The admins of a tenant: invite (a new account gets a one-time password, shown once
//! in the answer to the POST) and remove with confirmation.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::admins::{AdminEmail, AdminId};
use roster_core::memberships::TenantAdmin;
use roster_core::paging::PageSize;
use secrecy::ExposeSecret;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::message_of;
use super::error::AdminError;
use super::forms::{CsrfForm, CsrfOnly, Submitted};
use super::page::{Flash, Layout, invalid, ok, redirect_with, when, when_opt};
use super::session::TenantPage;
use crate::AppState;

pub(crate) struct AdminRow {
    id: String,
    email: String,
    added: String,
    last_login: String,
    pending: bool,
    is_me: bool,
}

impl AdminRow {
    fn new(admin: TenantAdmin, me: AdminId) -> Self {
        Self {
            id: admin.id.0.to_string(),
            is_me: admin.id == me,
            email: admin.email,
            added: when(admin.added_at),
            last_login: when_opt(admin.last_login_at, "Never"),
            pending: admin.pending,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/admins.html")]
struct AdminsPage {
    l: Layout,
    admins: Vec<AdminRow>,
    next: Option<String>,
    email: String,
    email_error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct AfterQuery {
    after: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

impl CsrfForm for InviteForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn admins_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    after: Option<AdminId>,
    email: String,
    email_error: Option<String>,
) -> Result<AdminsPage, AdminError> {
    let result = state
        .services
        .memberships()
        .admins(&page.scope, after, PageSize::DEFAULT)
        .await?;
    let me = page.session.admin.id;
    Ok(AdminsPage {
        l: Layout::tenant(req, &page.session, &page.scope, "admins"),
        admins: result
            .items
            .into_iter()
            .map(|admin| AdminRow::new(admin, me))
            .collect(),
        next: result.next.map(|id| id.0.to_string()),
        email,
        email_error,
    })
}

pub(crate) async fn list(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, AdminError> {
    let after = query
        .after
        .as_deref()
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .map(AdminId);
    ok(&admins_page(&req, &state, &page, after, String::new(), None).await?)
}

#[derive(Template)]
#[template(path = "admin/admin_invited.html")]
struct InvitedPage<'a> {
    l: Layout,
    email: String,
    password: Option<&'a str>,
    sign_in_url: String,
}

pub(crate) async fn invite(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<InviteForm>,
) -> Result<HttpResponse, AdminError> {
    let raw = submitted.form.email;
    let error = match AdminEmail::parse(&raw) {
        Ok(email) => match state
            .services
            .memberships()
            .invite(&page.scope, email)
            .await
        {
            Ok(invitation) => {
                let password = invitation.one_time_password;
                let body = InvitedPage {
                    l: Layout::tenant(&req, &page.session, &page.scope, "admins"),
                    email: invitation.admin.email,
                    password: password.as_ref().map(|p| p.expose_secret()),
                    sign_in_url: format!(
                        "{}/admin/login",
                        state.config.public_url.as_str().trim_end_matches('/')
                    ),
                };
                let mut response = ok(&body)?;
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    header::HeaderValue::from_static("no-store"),
                );
                return Ok(response);
            }
            Err(err @ (roster_core::Error::Invalid { .. } | roster_core::Error::Conflict(_))) => {
                message_of(err)
            }
            Err(err) => return Err(err.into()),
        },
        Err(err) => message_of(err),
    };
    invalid(&admins_page(&req, &state, &page, None, raw, Some(error)).await?)
}

#[derive(Template)]
#[template(path = "admin/admin_remove.html")]
struct RemovePage {
    l: Layout,
    admin: AdminRow,
}

async fn find_admin(
    state: &AppState,
    page: &TenantPage,
    raw_id: &str,
) -> Result<TenantAdmin, AdminError> {
    let id = Uuid::parse_str(raw_id).map_err(|_| AdminError::NotFound)?;
    state
        .services
        .memberships()
        .find(&page.scope, AdminId(id))
        .await?
        .ok_or(AdminError::NotFound)
}

pub(crate) async fn confirm_remove(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let admin = find_admin(&state, &page, &path.1).await?;
    ok(&RemovePage {
        admin: AdminRow::new(admin, page.session.admin.id),
        l: Layout::tenant(&req, &page.session, &page.scope, "admins"),
    })
}

pub(crate) async fn remove(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let admin = find_admin(&state, &page, &path.1).await?;
    match state
        .services
        .memberships()
        .remove(&page.scope, admin.id, &page.session.admin)
        .await
    {
        Ok(()) => Ok(redirect_with(
            &format!("/admin/t/{}/admins", page.scope.slug()),
            Flash::AdminRemoved,
        )),
        Err(err @ roster_core::Error::Invalid { .. }) => invalid(
            &admins_page(
                &req,
                &state,
                &page,
                None,
                String::new(),
                Some(message_of(err)),
            )
            .await?,
        ),
        Err(err) => Err(err.into()),
    }
}
