//! "Re-apply rules" on the locations page (a confirmation with a preview of how many
//! users would change), and the progress of the re-evaluation that every change of
//! locations, kiosks or mapping rules starts.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_core::memberships::TenantAccess;
use roster_core::rules::{HostJob, HostPreview};

use super::confirm::ConfirmPage;
use super::error::AdminError;
use super::forms::{CsrfOnly, Submitted};
use super::page::{Flash, Layout, ok, redirect_with, when};
use super::session::TenantPage;
use crate::AppState;

/// What started a re-evaluation, in words.
fn reason(action: &str) -> &'static str {
    match action {
        "location.remove" => "a location was removed",
        "kiosk.remove" => "a kiosk was removed",
        "rule.add" => "a mapping rule was added",
        "rule.remove" => "a mapping rule was removed",
        "rule.move" => "the mapping rules were reordered",
        "hosts.reapply" => "\"Re-apply rules\"",
        _ => "a change of the rules",
    }
}

fn users(n: u64) -> String {
    if n == 1 {
        "1 user".to_owned()
    } else {
        format!("{n} users")
    }
}

/// The sentence the locations page shows about the tenant's re-evaluation.
pub(crate) fn describe(job: &HostJob) -> String {
    if job.running {
        format!(
            "Re-evaluating users in the background since {} ({}): {} checked so far, {} \
             changed. Reload the page to follow the progress.",
            when(job.requested_at),
            reason(&job.reason),
            users(job.checked),
            job.changed
        )
    } else {
        format!(
            "Last re-evaluation: {} ({}), {} checked, {} changed.",
            when(job.finished_at.unwrap_or(job.requested_at)),
            reason(&job.reason),
            users(job.checked),
            job.changed
        )
    }
}

/// The tenant's re-evaluation, for the locations page.
pub(crate) async fn status(
    state: &AppState,
    scope: &TenantAccess,
) -> Result<Option<String>, AdminError> {
    Ok(state
        .services
        .rules()
        .host_job(scope)
        .await?
        .as_ref()
        .map(describe))
}

fn preview_text(preview: &HostPreview) -> String {
    let count = if preview.complete {
        format!(
            "{} would change (all {} users checked)",
            users(preview.changes),
            preview.checked
        )
    } else {
        format!(
            "{} would change among the first {} users checked (there are more; every user \
             is re-evaluated)",
            users(preview.changes),
            preview.checked
        )
    };
    format!(
        "Every user is evaluated again against the current locations, kiosks and mapping \
         rules: {count}. Each user whose locations or kiosks change gets a new version and \
         one user.updated event. Users who match no rule become hosts nowhere (they are never \
         removed). A large tenant is finished in the background; this page shows the \
         progress."
    )
}

pub(crate) async fn confirm_reapply(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let preview = state.services.rules().preview_hosts(&page.scope).await?;
    let slug = page.scope.slug().to_string();
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: "Re-apply the rules to every user?".to_owned(),
        message: preview_text(&preview),
        action: format!("/admin/t/{slug}/locations/reapply"),
        button: "Re-apply rules",
        cancel: format!("/admin/t/{slug}/locations"),
    })
}

pub(crate) async fn reapply(
    page: TenantPage,
    state: web::Data<AppState>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    state.services.rules().reapply_hosts(&page.scope).await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/locations", page.scope.slug()),
        Flash::HostsReapplied,
    ))
}
