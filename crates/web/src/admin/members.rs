//! The admins of a tenant: the accounts, the pending invitations (revocable), the invite
//! form — its answer shows the single-use link once, `no-store` — and removal with
//! confirmation.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::admins::{AdminEmail, AdminId};
use roster_core::invitations::{InvitationId, PendingInvitation};
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

pub(crate) struct InvitationRow {
    id: String,
    email: String,
    invited: String,
    expires: String,
}

impl From<PendingInvitation> for InvitationRow {
    fn from(invitation: PendingInvitation) -> Self {
        Self {
            id: invitation.id.0.to_string(),
            email: invitation.email,
            invited: when(invitation.created_at),
            expires: when(invitation.expires_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/admins.html")]
struct AdminsPage {
    l: Layout,
    admins: Vec<AdminRow>,
    invitations: Vec<InvitationRow>,
    next: Option<String>,
    email: String,
    email_error: Option<String>,
    sign_in_url: String,
    ttl_hours: u64,
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
    let invitations = state.services.invitations().pending(&page.scope).await?;
    let me = page.session.admin.id;
    Ok(AdminsPage {
        l: Layout::tenant(req, &page.session, &page.scope, "admins"),
        admins: result
            .items
            .into_iter()
            .map(|admin| AdminRow::new(admin, me))
            .collect(),
        invitations: invitations.into_iter().map(InvitationRow::from).collect(),
        next: result.next.map(|id| id.0.to_string()),
        email,
        email_error,
        sign_in_url: sign_in_url(state, page.scope.slug().as_str()),
        ttl_hours: state.services.invitations().ttl().as_secs() / 3600,
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

/// The tenant's own sign-in link: the form with the organization filled in.
fn sign_in_url(state: &AppState, slug: &str) -> String {
    format!(
        "{}/admin/login?tenant={slug}",
        state.config.public_url.as_str().trim_end_matches('/')
    )
}

#[derive(Template)]
#[template(path = "admin/admin_invited.html")]
struct InvitedPage<'a> {
    l: Layout,
    email: String,
    link: &'a str,
    expires: String,
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
            .invitations()
            .create(&page.scope, email, Some(&page.session.admin))
            .await
        {
            Ok(invitation) => {
                let link = format!(
                    "{}/admin/invitations/{}",
                    state.config.public_url.as_str().trim_end_matches('/'),
                    invitation.secret.expose_secret()
                );
                let body = InvitedPage {
                    l: Layout::tenant(&req, &page.session, &page.scope, "admins"),
                    email: invitation.email,
                    link: &link,
                    expires: when(invitation.expires_at),
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

pub(crate) async fn revoke_invitation(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let id = Uuid::parse_str(&path.1).map_err(|_| AdminError::NotFound)?;
    state
        .services
        .invitations()
        .revoke(&page.scope, InvitationId(id))
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/admins", page.scope.slug()),
        Flash::InvitationRevoked,
    ))
}
