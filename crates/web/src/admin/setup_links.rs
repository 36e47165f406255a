//! Setup links. Admins create them on the tenant's **Setup links** page (the link is shown
//! once, in the POST's answer, `no-store`), see their uses and revoke them. Whoever opens
//! a link sees a page branded with the tenant's name and starts the setup with a button —
//! a POST, so a chat's link preview never uses the link — which opens a setup session and
//! lands on the first page the link allows. Plain forms; nothing needs JavaScript.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::setup_links::{
    Abilities, SetupLinkId, SetupLinkInfo, SetupLinkLabel, SetupLinkLifetime, SetupLinkLookup,
    StartRefused,
};
use roster_core::time::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::auth::message_of;
use super::error::AdminError;
use super::forms::{CsrfOnly, Pairs, Posted, Submitted, check_origin};
use super::page::{Flash, Layout, invalid, ok, redirect_with, render, when, when_opt};
use super::session::{SETUP_COOKIE, TenantPage, cleared_setup_cookie, origin_of, setup_cookie};
use crate::AppState;

pub(crate) struct LinkRow {
    id: String,
    label: String,
    abilities: String,
    created_by: String,
    created: String,
    expires: String,
    last_used: String,
    uses: u64,
    /// `live`, `expired` or `revoked`.
    state: &'static str,
}

/// What each ability is called on the pages.
fn describe(abilities: Abilities) -> String {
    abilities
        .names()
        .iter()
        .map(|name| match *name {
            "tokens" => "SCIM tokens",
            "guide" => "IdP guide and connection check",
            "log" => "provisioning log",
            _ => "users and groups",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl LinkRow {
    fn new(link: SetupLinkInfo, now: Timestamp) -> Self {
        let state = if link.revoked_at.is_some() {
            "revoked"
        } else if link.is_live(now) {
            "live"
        } else {
            "expired"
        };
        Self {
            id: link.id.0.to_string(),
            abilities: describe(link.abilities),
            label: link.label,
            created_by: link.created_by,
            created: when(link.created_at),
            expires: when(link.expires_at),
            last_used: when_opt(link.last_used_at, "Never"),
            uses: link.uses,
            state,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/setup_links.html")]
struct LinksPage {
    l: Layout,
    links: Vec<LinkRow>,
    lifetimes: &'static [(u64, &'static str)],
    label: String,
    expires: String,
    /// The abilities ticked in the form.
    ticked: Vec<&'static str>,
    label_error: Option<String>,
    expires_error: Option<String>,
    abilities_error: Option<String>,
}

struct FormState {
    label: String,
    expires: String,
    ticked: Vec<&'static str>,
    label_error: Option<String>,
    expires_error: Option<String>,
    abilities_error: Option<String>,
}

impl Default for FormState {
    fn default() -> Self {
        Self {
            label: String::new(),
            expires: "72".to_owned(),
            ticked: Abilities::ALL.names(),
            label_error: None,
            expires_error: None,
            abilities_error: None,
        }
    }
}

async fn links_page(
    req: &HttpRequest,
    state: &AppState,
    page: &TenantPage,
    form: FormState,
) -> Result<LinksPage, AdminError> {
    let now = state.services.clock().now();
    let links = state.services.setup_links().list(&page.scope).await?;
    Ok(LinksPage {
        l: Layout::tenant(req, &page.session, &page.scope, "setup-links"),
        links: links.into_iter().map(|l| LinkRow::new(l, now)).collect(),
        lifetimes: &SetupLinkLifetime::CHOICES,
        label: form.label,
        expires: form.expires,
        ticked: form.ticked,
        label_error: form.label_error,
        expires_error: form.expires_error,
        abilities_error: form.abilities_error,
    })
}

pub(crate) async fn list(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    ok(&links_page(&req, &state, &page, FormState::default()).await?)
}

#[derive(Template)]
#[template(path = "admin/setup_link_created.html")]
struct CreatedPage<'a> {
    l: Layout,
    label: String,
    abilities: String,
    expires: String,
    link: &'a str,
}

pub(crate) async fn create(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    submitted: Submitted<Pairs>,
) -> Result<HttpResponse, AdminError> {
    let form = submitted.form;
    let parsed = (
        SetupLinkLabel::parse(form.get("label")),
        SetupLinkLifetime::parse(form.get("expires")),
        Abilities::parse(form.all("ability")),
    );
    let result = match parsed {
        (Ok(label), Ok(lifetime), Ok(abilities)) => state
            .services
            .setup_links()
            .create(&page.scope, label, lifetime, abilities)
            .await
            .map_err(|err| (Some(err), None, None)),
        (label, lifetime, abilities) => Err((label.err(), lifetime.err(), abilities.err())),
    };
    match result {
        Ok(created) => {
            let link = format!(
                "{}/admin/setup/{}",
                state.config.public_url.as_str().trim_end_matches('/'),
                created.secret.expose_secret()
            );
            let body = CreatedPage {
                l: Layout::tenant(&req, &page.session, &page.scope, "setup-links"),
                abilities: describe(created.info.abilities),
                expires: when(created.info.expires_at),
                label: created.info.label,
                link: &link,
            };
            // Shown once: no cache may keep it.
            let mut response = ok(&body)?;
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Err((label, lifetime, abilities)) => {
            if let Some(err) = &label
                && !matches!(err, roster_core::Error::Invalid { .. })
            {
                return Err(label.map_or(AdminError::Internal, Into::into));
            }
            let state_form = FormState {
                label: form.get("label").to_owned(),
                expires: form.get("expires").to_owned(),
                ticked: Abilities::parse(form.all("ability"))
                    .map(Abilities::names)
                    .unwrap_or_default(),
                label_error: label.map(message_of),
                expires_error: lifetime.map(message_of),
                abilities_error: abilities.map(message_of),
            };
            invalid(&links_page(&req, &state, &page, state_form).await?)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/setup_link_revoke.html")]
struct RevokePage {
    l: Layout,
    link: LinkRow,
}

async fn find(state: &AppState, page: &TenantPage, raw: &str) -> Result<SetupLinkInfo, AdminError> {
    let id = Uuid::parse_str(raw).map_err(|_| AdminError::NotFound)?;
    Ok(state
        .services
        .setup_links()
        .find(&page.scope, SetupLinkId(id))
        .await?)
}

pub(crate) async fn confirm_revoke(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let link = find(&state, &page, &path.1).await?;
    ok(&RevokePage {
        l: Layout::tenant(&req, &page.session, &page.scope, "setup-links"),
        link: LinkRow::new(link, state.services.clock().now()),
    })
}

pub(crate) async fn revoke(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let link = find(&state, &page, &path.1).await?;
    state
        .services
        .setup_links()
        .revoke(&page.scope, link.id)
        .await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/setup-links", page.scope.slug()),
        Flash::SetupLinkRevoked,
    ))
}

// ---------------------------------------------------------------------------------------
// The link's holder.

#[derive(Template)]
#[template(path = "admin/setup_landing.html")]
struct LandingPage {
    l: Layout,
    tenant_name: String,
    label: String,
    abilities: String,
    expires: String,
    action: String,
}

#[derive(Template)]
#[template(path = "admin/setup_gone.html")]
struct GonePage {
    l: Layout,
    tenant_name: Option<String>,
    message: &'static str,
}

fn gone(status: StatusCode, tenant_name: Option<String>) -> Result<HttpResponse, AdminError> {
    let message = match status {
        StatusCode::NOT_FOUND => {
            "This setup link is not valid. Check that you copied all of it, or ask whoever sent it for a new one."
        }
        _ => {
            "This setup link no longer works: it was revoked or has expired. Ask whoever sent it for a new one."
        }
    };
    render(
        status,
        &GonePage {
            l: Layout::anonymous(),
            tenant_name,
            message,
        },
    )
}

/// The link's page: who it is for, what it allows, until when; a button starts.
pub(crate) async fn landing(
    state: web::Data<AppState>,
    secret: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    match state.services.setup_links().lookup(&secret).await? {
        SetupLinkLookup::Open { tenant, link } => ok(&LandingPage {
            l: Layout::anonymous(),
            tenant_name: tenant.name,
            abilities: describe(link.abilities),
            expires: when(link.expires_at),
            label: link.label,
            action: format!("/admin/setup/{}", secret.as_str()),
        }),
        SetupLinkLookup::Expired { tenant } | SetupLinkLookup::Revoked { tenant } => {
            gone(StatusCode::GONE, Some(tenant.name))
        }
        SetupLinkLookup::Unknown => gone(StatusCode::NOT_FOUND, None),
    }
}

/// Starts a setup session: the cookie, then the first page the link allows.
pub(crate) async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    secret: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    // No session yet: the origin check and SameSite=Strict stand in for the CSRF token,
    // as on the sign-in form.
    check_origin(&req)?;
    let secret = SecretString::from(secret.into_inner());
    let started = state
        .services
        .setup_links()
        .start(&secret, origin_of(&req, &state))
        .await?;
    match started {
        Ok(started) => {
            let slug = started.tenant.slug.to_string();
            let abilities = started.abilities;
            let first = if abilities.guide {
                "connect/okta"
            } else if abilities.tokens {
                "tokens"
            } else if abilities.log {
                "log"
            } else {
                "users"
            };
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/admin/t/{slug}/{first}")))
                .cookie(setup_cookie(&state, &started))
                .finish())
        }
        Err(StartRefused::Expired { tenant } | StartRefused::Revoked { tenant }) => {
            gone(StatusCode::GONE, Some(tenant.name))
        }
        Err(StartRefused::Unknown) => gone(StatusCode::NOT_FOUND, None),
    }
}

#[derive(Template)]
#[template(path = "admin/setup_ended.html")]
struct EndedPage {
    l: Layout,
}

/// Ends the browser's setup session.
pub(crate) async fn end(
    req: HttpRequest,
    state: web::Data<AppState>,
    _posted: Posted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    if let Some(cookie) = req.cookie(SETUP_COOKIE) {
        state.services.setup_links().end(cookie.value()).await?;
    }
    let mut response = ok(&EndedPage {
        l: Layout::anonymous(),
    })?;
    response
        .add_cookie(&cleared_setup_cookie(&state))
        .map_err(|_| AdminError::Internal)?;
    Ok(response)
}
