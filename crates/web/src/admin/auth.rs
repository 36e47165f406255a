//! Signing in and out, and changing the password (forced after a one-time password).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::admins::NewPassword;
use roster_core::sessions::{LoginOutcome, PasswordChange, SignIn};
use roster_core::throttle::ClientAddress;
use secrecy::SecretString;
use serde::Deserialize;

use super::error::{AdminError, see_other, with_retry_after};
use super::forms::{CsrfForm, CsrfOnly, Submitted, check_origin};
use super::page::{Flash, Layout, invalid, ok, redirect_with, render, when};
use super::session::{
    Admin, DEVICE_COOKIE, SESSION_COOKIE, SignedIn, cleared_cookie, current_session, device_cookie,
    policy, session_cookie,
};
use crate::AppState;
use crate::client::client_address;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    l: Layout,
    organization: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    organization: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `/admin`: operators land on the tenant list, tenant admins on their tenant.
pub(crate) async fn home(
    Admin(session): Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    if !session.admin.is_operator {
        let tenants = state
            .services
            .memberships()
            .tenants_of(&session.admin)
            .await?;
        if let [only] = tenants.as_slice() {
            return Ok(see_other(&format!("/admin/t/{}", only.slug)));
        }
    }
    Ok(see_other("/admin/tenants"))
}

pub(crate) async fn login_form(req: HttpRequest) -> Result<HttpResponse, AdminError> {
    if current_session(&req).await.is_ok() {
        return Ok(see_other("/admin"));
    }
    // A tenant's sign-in link (`?tenant=acme`) fills in the organization; a query string
    // that does not parse is ignored, like every other on these pages.
    let tenant = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "tenant")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    ok(&LoginPage {
        l: Layout::anonymous().with_flash(&req),
        organization: short(&tenant, 64),
        email: String::new(),
        error: None,
    })
}

/// At most `max` characters of what was typed, to show back in the form.
fn short(value: &str, max: usize) -> String {
    value.trim().chars().take(max).collect()
}

pub(crate) async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AdminError> {
    // No session yet, so no CSRF token: the origin check and SameSite=Strict stand in.
    check_origin(&req)?;
    let LoginForm {
        organization,
        email,
        password,
    } = form.into_inner();
    let previous = req.cookie(SESSION_COOKIE);
    let device = req.cookie(DEVICE_COOKIE);
    let client = ClientAddress::new(client_address(&req, &state.config.trusted_proxies));
    let outcome = state
        .services
        .sessions()
        .login(
            SignIn {
                organization: &organization,
                email: &email,
                password: SecretString::from(password),
                client,
                device: device.as_ref().map(|cookie| cookie.value()),
                previous_session: previous.as_ref().map(|cookie| cookie.value()),
            },
            policy(&state),
        )
        .await;
    let refused = match &outcome {
        Ok(LoginOutcome::SignedIn { .. }) => None,
        Ok(LoginOutcome::Rejected) => Some("rejected"),
        Ok(LoginOutcome::LockedOut { .. }) => Some("locked"),
        Ok(LoginOutcome::OneTimePasswordExpired { .. }) => Some("one-time password expired"),
        Err(roster_core::Error::Busy) => Some("busy"),
        Err(_) => None,
    };
    if let Some(reason) = refused {
        // Never the email: it is personal data (and a mistyped one may be a password).
        tracing::info!(reason, "sign-in refused");
    }
    let (status, error) = match outcome {
        Ok(LoginOutcome::SignedIn {
            admin,
            session,
            device,
        }) => {
            let next = if admin.must_change_password {
                "/admin/password"
            } else {
                "/admin"
            };
            return Ok(HttpResponse::SeeOther()
                .insert_header(("Location", next))
                .cookie(session_cookie(&state, &session))
                .cookie(device_cookie(&state, &device))
                .finish());
        }
        Ok(LoginOutcome::Rejected) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The organization, email or password is not right.".to_owned(),
        ),
        Ok(LoginOutcome::LockedOut { until }) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed attempts. Sign-in to this account from here is locked until {}.",
                when(until)
            ),
        ),
        Ok(LoginOutcome::OneTimePasswordExpired {
            email,
            organization,
        }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            match organization {
                None => format!(
                    "This one-time password has expired (they work for 24 hours). On the \
                     server, run `roster admin reset-password --email {email}` to get a new one."
                ),
                Some(slug) => format!(
                    "This one-time password has expired (they work for 24 hours). Ask your \
                     Roster operator to run `roster admin reset-password --tenant {slug} \
                     --email {email}` for a new one."
                ),
            },
        ),
        Err(roster_core::Error::Busy) => {
            return Ok(with_retry_after(render(
                StatusCode::SERVICE_UNAVAILABLE,
                &LoginPage {
                    l: Layout::anonymous(),
                    organization: short(&organization, 64),
                    email: short(&email, 320),
                    error: Some(
                        "Roster is busy checking other sign-ins. Try again in a few seconds."
                            .to_owned(),
                    ),
                },
            )?));
        }
        Err(err) => return Err(err.into()),
    };
    render(
        status,
        &LoginPage {
            l: Layout::anonymous(),
            organization: short(&organization, 64),
            email: short(&email, 320),
            error: Some(error),
        },
    )
}

pub(crate) async fn logout(
    state: web::Data<AppState>,
    submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let session = &submitted.session;
    state.services.sessions().logout(session).await?;
    // A tenant's admin goes back to that tenant's sign-in form.
    let tenants = state
        .services
        .memberships()
        .tenants_of(&session.admin)
        .await?;
    let to = match tenants.as_slice() {
        [only] => format!("/admin/login?tenant={}", only.slug),
        _ => "/admin/login".to_owned(),
    };
    let mut response = redirect_with(&to, Flash::SignedOut);
    response
        .add_cookie(&cleared_cookie(&state))
        .map_err(|_| AdminError::Internal)?;
    Ok(response)
}

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage {
    l: Layout,
    forced: bool,
    errors: PasswordErrors,
}

#[derive(Default)]
struct PasswordErrors {
    current: Option<String>,
    new: Option<String>,
    confirm: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

impl CsrfForm for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn password_form(
    req: HttpRequest,
    SignedIn(session): SignedIn,
) -> Result<HttpResponse, AdminError> {
    ok(&PasswordPage {
        forced: session.admin.must_change_password,
        l: Layout::new(&req, &session, "password"),
        errors: PasswordErrors::default(),
    })
}

pub(crate) async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    submitted: Submitted<PasswordForm>,
) -> Result<HttpResponse, AdminError> {
    let Submitted { session, form } = submitted;
    // Passwords are never sent back into the form: errors only.
    let mut errors = PasswordErrors::default();
    let new = match NewPassword::parse(SecretString::from(form.new.clone())) {
        Ok(new) if form.new == form.confirm => Some(new),
        Ok(_) => {
            errors.confirm = Some("The two new passwords are not the same.".to_owned());
            None
        }
        Err(err) => {
            errors.new = Some(message_of(err));
            None
        }
    };
    if let Some(new) = new {
        let change = state
            .services
            .sessions()
            .change_password(
                &session,
                SecretString::from(form.current),
                new,
                policy(&state),
            )
            .await;
        let change = match change {
            Err(roster_core::Error::Busy) => {
                errors.current = Some(
                    "Roster is busy checking other passwords. Try again in a few seconds."
                        .to_owned(),
                );
                return Ok(with_retry_after(render(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &PasswordPage {
                        forced: session.admin.must_change_password,
                        l: Layout::new(&req, &session, "password"),
                        errors,
                    },
                )?));
            }
            other => other?,
        };
        match change {
            PasswordChange::Changed(new_session) => {
                let mut response = redirect_with("/admin", Flash::PasswordChanged);
                response
                    .add_cookie(&session_cookie(&state, &new_session))
                    .map_err(|_| AdminError::Internal)?;
                return Ok(response);
            }
            PasswordChange::WrongCurrentPassword => {
                errors.current = Some("This is not your current password.".to_owned());
            }
            PasswordChange::Unchanged => {
                errors.new = Some("Choose a password different from the current one.".to_owned());
            }
        }
    }
    invalid(&PasswordPage {
        forced: session.admin.must_change_password,
        l: Layout::new(&req, &session, "password"),
        errors,
    })
}

/// The sentence of a validation error, for display next to its field.
pub(crate) fn message_of(err: roster_core::Error) -> String {
    match err {
        roster_core::Error::Invalid { message, .. } => capitalise(&message),
        roster_core::Error::Conflict(message) => capitalise(&message),
        _ => "This value cannot be used.".to_owned(),
    }
}

fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        ),
        None => String::new(),
    }
}
