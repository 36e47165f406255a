//! The invitation link's page: the invitee, signed out, chooses a password and so creates
//! their account in the inviting tenant, then lands signed in on it. Branded with the
//! tenant's name; a plain form, no script.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::admins::NewPassword;
use roster_core::invitations::{Acceptance, InvitationLookup};
use secrecy::SecretString;
use serde::Deserialize;

use super::auth::message_of;
use super::error::{AdminError, with_retry_after};
use super::forms::check_origin;
use super::page::{Flash, Layout, render, when};
use super::session::{DEVICE_COOKIE, SESSION_COOKIE, device_cookie, policy, session_cookie};
use crate::AppState;

#[derive(Template)]
#[template(path = "admin/invitation.html")]
struct InvitationPage {
    l: Layout,
    tenant_name: String,
    organization: String,
    email: String,
    expires: String,
    action: String,
    error: Option<String>,
    password_error: Option<String>,
    confirm_error: Option<String>,
}

/// An invitation that cannot be used (expired, used, revoked, never issued).
#[derive(Template)]
#[template(path = "admin/invitation_gone.html")]
struct GonePage {
    l: Layout,
    /// The tenant, when the link is known but past its time.
    tenant_name: Option<String>,
    message: String,
}

#[derive(Deserialize)]
pub(crate) struct AcceptForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn gone(
    status: StatusCode,
    tenant_name: Option<String>,
    message: &str,
) -> Result<HttpResponse, AdminError> {
    render(
        status,
        &GonePage {
            l: Layout::anonymous(),
            tenant_name,
            message: message.to_owned(),
        },
    )
}

fn unknown() -> Result<HttpResponse, AdminError> {
    gone(
        StatusCode::NOT_FOUND,
        None,
        "This invitation link is not valid: it has been used already, or revoked. Ask an admin of your organization for a new one.",
    )
}

fn expired(tenant_name: String) -> Result<HttpResponse, AdminError> {
    gone(
        StatusCode::GONE,
        Some(tenant_name),
        "This invitation has expired. Ask an admin of your organization for a new one.",
    )
}

pub(crate) async fn show(
    state: web::Data<AppState>,
    secret: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    match state.services.invitations().lookup(&secret).await? {
        InvitationLookup::Open {
            tenant,
            email,
            expires_at,
        } => render(
            StatusCode::OK,
            &InvitationPage {
                l: Layout::anonymous(),
                tenant_name: tenant.name,
                organization: tenant.slug.to_string(),
                email,
                expires: when(expires_at),
                action: format!("/admin/invitations/{}", secret.as_str()),
                error: None,
                password_error: None,
                confirm_error: None,
            },
        ),
        InvitationLookup::Expired { tenant } => expired(tenant.name),
        InvitationLookup::Unknown => unknown(),
    }
}

pub(crate) async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    secret: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, AdminError> {
    // No session: the origin check and SameSite=Strict stand in for the CSRF token, as
    // on the sign-in form.
    check_origin(&req)?;
    let invitations = state.services.invitations();
    let (tenant, email, expires_at) = match invitations.lookup(&secret).await? {
        InvitationLookup::Open {
            tenant,
            email,
            expires_at,
        } => (tenant, email, expires_at),
        InvitationLookup::Expired { tenant } => return expired(tenant.name),
        InvitationLookup::Unknown => return unknown(),
    };
    let form = form.into_inner();
    let mut page = InvitationPage {
        l: Layout::anonymous(),
        tenant_name: tenant.name.clone(),
        organization: tenant.slug.to_string(),
        email,
        expires: when(expires_at),
        action: format!("/admin/invitations/{}", secret.as_str()),
        error: None,
        password_error: None,
        confirm_error: None,
    };
    let password = match NewPassword::parse(SecretString::from(form.password.clone())) {
        Ok(password) if form.password == form.confirm => password,
        Ok(_) => {
            page.confirm_error = Some("The two passwords are not the same.".to_owned());
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(err) => {
            page.password_error = Some(message_of(err));
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let device = req.cookie(DEVICE_COOKIE);
    let outcome = invitations
        .accept(
            &SecretString::from(secret.into_inner()),
            password,
            device.as_ref().map(|cookie| cookie.value()),
            policy(&state),
        )
        .await;
    match outcome {
        Ok(Acceptance::Joined {
            tenant,
            session,
            device,
            ..
        }) => {
            // Whoever was signed in in this browser before is not any more.
            if let Some(previous) = req.cookie(SESSION_COOKIE) {
                state.services.sessions().end(previous.value()).await?;
            }
            let mut response =
                super::page::redirect_with(&format!("/admin/t/{}", tenant.slug), Flash::Joined);
            response
                .add_cookie(&session_cookie(&state, &session))
                .map_err(|_| AdminError::Internal)?;
            response
                .add_cookie(&device_cookie(&state, &device))
                .map_err(|_| AdminError::Internal)?;
            Ok(response)
        }
        Ok(Acceptance::Expired { tenant }) => expired(tenant.name),
        Ok(Acceptance::Unknown) => unknown(),
        Ok(Acceptance::AlreadyAdmin { tenant }) => gone(
            StatusCode::CONFLICT,
            Some(tenant.name),
            "This email is already an admin of this organization. Sign in instead.",
        ),
        Err(roster_core::Error::Busy) => {
            page.error =
                Some("Roster is busy checking other passwords. Try again in a few seconds.".into());
            Ok(with_retry_after(render(
                StatusCode::SERVICE_UNAVAILABLE,
                &page,
            )?))
        }
        Err(err) => Err(err.into()),
    }
}
