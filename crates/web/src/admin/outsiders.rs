//! Users outside the verified domains: a page at a time, with how many there are, and
//! "Deactivate them all" behind a confirmation page (the service works in chunks).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::paging::PageSize;
use serde::Deserialize;
use uuid::Uuid;

use super::confirm::ConfirmPage;
use super::error::AdminError;
use super::forms::{CsrfOnly, Submitted};
use super::page::{Layout, ok, request_id_of};
use super::session::TenantPage;
use crate::AppState;

/// Counted up to this many; beyond, the page says "more than".
const COUNT_CAP: u64 = 10_000;

pub(crate) struct OutsiderRow {
    id: String,
    user_name: String,
    display_name: String,
    email: String,
}

#[derive(Template)]
#[template(path = "admin/outsiders.html")]
struct OutsidersPage {
    l: Layout,
    sub: &'static str,
    /// Why nothing is listed (no verified domain), if so.
    blocked: Option<String>,
    users: Vec<OutsiderRow>,
    next: Option<String>,
    /// "12", or "more than 10000".
    count: String,
    any: bool,
    domains: String,
    /// Users deactivated by the action just taken.
    deactivated: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct OutsidersQuery {
    after: Option<String>,
    deactivated: Option<u64>,
}

pub(crate) async fn list(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    query: web::Query<OutsidersQuery>,
) -> Result<HttpResponse, AdminError> {
    let provisioning = state.services.provisioning();
    let after = query
        .after
        .as_deref()
        .and_then(|raw| Uuid::parse_str(raw).ok());
    let rules = state.services.rules().rules(&page.scope).await?;
    let domains = rules
        .verified_domains()
        .map(|d| d.describe())
        .collect::<Vec<_>>()
        .join(", ");
    let mut body = OutsidersPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        sub: "domains",
        blocked: None,
        users: Vec::new(),
        next: None,
        count: "0".to_owned(),
        any: false,
        domains,
        deactivated: query.deactivated,
    };
    match provisioning
        .users_outside_domains(&page.scope, after, PageSize::DEFAULT)
        .await
    {
        Ok(found) => {
            let count = provisioning
                .count_users_outside_domains(&page.scope, COUNT_CAP)
                .await?;
            body.count = if count > COUNT_CAP {
                format!("more than {COUNT_CAP}")
            } else {
                count.to_string()
            };
            body.any = count > 0;
            body.next = found.next.map(|id| id.to_string());
            body.users = found
                .items
                .into_iter()
                .map(|u| OutsiderRow {
                    id: u.id.to_string(),
                    user_name: u.user_name,
                    display_name: u.display_name.unwrap_or_default(),
                    email: u.email.unwrap_or_default(),
                })
                .collect();
        }
        Err(roster_core::Error::Invalid { message, .. }) => body.blocked = Some(message),
        Err(err) => return Err(err.into()),
    }
    ok(&body)
}

pub(crate) async fn confirm_deactivate(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let slug = page.scope.slug().to_string();
    let count = state
        .services
        .provisioning()
        .count_users_outside_domains(&page.scope, COUNT_CAP)
        .await?;
    let how_many = if count > COUNT_CAP {
        format!("more than {COUNT_CAP}")
    } else {
        count.to_string()
    };
    ok(&ConfirmPage {
        l: Layout::tenant(&req, &page.session, &page.scope, "rules"),
        title: format!("Deactivate {how_many} user(s) outside the verified domains?"),
        message: "Each active user whose userName or primary email is outside this tenant's \
                  verified domains becomes inactive, with a new version and a user.deactivated \
                  event. Nobody is deleted; your identity provider can still reactivate a user \
                  once their email is in a verified domain."
            .to_owned(),
        action: format!("/admin/t/{slug}/domains/outsiders/deactivate"),
        button: "Deactivate users",
        cancel: format!("/admin/t/{slug}/domains/outsiders"),
    })
}

pub(crate) async fn deactivate(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let slug = page.scope.slug();
    let deactivated = match state
        .services
        .provisioning()
        .deactivate_users_outside_domains(&page.scope, &request_id_of(&req))
        .await
    {
        Ok(n) => n,
        // No verified domain: the list says so.
        Err(roster_core::Error::Invalid { .. }) => {
            return Ok(super::error::see_other(&format!(
                "/admin/t/{slug}/domains/outsiders"
            )));
        }
        Err(err) => return Err(err.into()),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/admin/t/{slug}/domains/outsiders?deactivated={deactivated}"),
        ))
        .finish())
}
