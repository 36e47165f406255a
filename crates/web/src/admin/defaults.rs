//! The operator's defaults for new tenants (operators only): provisioning on or off,
//! the allowed actions, what a POST for an existing user and a deactivation do, and
//! "Only users in verified domains". Saved here, they win over the configuration's
//! (`ROSTER_TENANT_…`) until the operator goes back to those.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::rules::{DeactivateMode, DefaultsSource, ExistingUser, ProvisioningSettings};
use roster_core::tenants::require_operator;

use super::error::AdminError;
use super::forms::{CsrfOnly, SettingsForm, Submitted};
use super::page::{Layout, invalid, ok, when};
use super::session::{Admin, origin_of};
use crate::AppState;

#[derive(Template)]
#[template(path = "admin/defaults.html")]
struct DefaultsPage {
    l: Layout,
    s: ProvisioningSettings,
    /// "the configuration", or who saved them and when.
    source: String,
    saved: bool,
    error: Option<String>,
    /// Just saved or reset.
    done: Option<&'static str>,
}

#[derive(serde::Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

async fn page(
    req: &HttpRequest,
    state: &AppState,
    session: &roster_core::sessions::CurrentSession,
    form: Option<(ProvisioningSettings, String)>,
    done: Option<&'static str>,
) -> Result<DefaultsPage, AdminError> {
    let current = state.services.tenant_defaults().current().await?;
    let (source, saved) = match &current.source {
        DefaultsSource::Configuration => (
            "the server's configuration (ROSTER_TENANT_…)".to_owned(),
            false,
        ),
        DefaultsSource::Saved { by, at } => (format!("{by}, {}", when(*at)), true),
    };
    let (s, error) = match form {
        Some((s, error)) => (s, Some(error)),
        None => (current.settings, None),
    };
    Ok(DefaultsPage {
        l: Layout::new(req, session, "defaults"),
        s,
        source,
        saved,
        error,
        done,
    })
}

pub(crate) async fn show(
    req: HttpRequest,
    Admin(session): Admin,
    state: web::Data<AppState>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, AdminError> {
    require_operator(&session.admin)?;
    let done = match query.done.as_deref() {
        Some("saved") => {
            Some("The defaults have been saved. Tenants created from now on start with them.")
        }
        Some("reset") => Some("New tenants start with the configuration's defaults again."),
        _ => None,
    };
    ok(&page(&req, &state, &session, None, done).await?)
}

pub(crate) async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    submitted: Submitted<SettingsForm>,
) -> Result<HttpResponse, AdminError> {
    let Submitted { session, form } = submitted;
    require_operator(&session.admin)?;
    let configured = state.services.tenant_defaults().configured();
    let mut settings = form.switches(configured);
    let (Some(existing_user), Some(deactivate_mode)) = (
        ExistingUser::parse(&form.existing_user),
        DeactivateMode::parse(&form.deactivate_mode),
    ) else {
        let error = "Choose what a POST for an existing user and a deactivation do.".to_owned();
        return invalid(&page(&req, &state, &session, Some((settings, error)), None).await?);
    };
    settings.existing_user = existing_user;
    settings.deactivate_mode = deactivate_mode;
    state
        .services
        .tenant_defaults()
        .save(&session.admin, origin_of(&req, &state), settings)
        .await?;
    Ok(super::error::see_other("/admin/defaults?done=saved"))
}

pub(crate) async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let session = submitted.session;
    require_operator(&session.admin)?;
    state
        .services
        .tenant_defaults()
        .reset(&session.admin, origin_of(&req, &state))
        .await?;
    Ok(super::error::see_other("/admin/defaults?done=reset"))
}
