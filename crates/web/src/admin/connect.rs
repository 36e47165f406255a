//! "Connect your identity provider": step-by-step guides for Okta and Microsoft Entra ID
//! with the tenant's own SCIM base URL filled in, and the connection check (has a live
//! token of this tenant been accepted by the SCIM endpoint yet?).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::paging::PageSize;
use roster_core::time::Timestamp;

use super::error::AdminError;
use super::page::{Layout, ok, when};
use super::session::TenantPage;
use super::tenants::scim_base_url;
use crate::AppState;

/// What the connection check found.
pub(crate) struct Connection {
    /// When a live token was last accepted, if ever.
    last_used: Option<String>,
    /// Whether the tenant has any live token to paste into the IdP at all.
    has_live_token: bool,
}

#[derive(Template)]
#[template(path = "admin/connect_okta.html")]
struct OktaGuide {
    l: Layout,
    scim_url: String,
    connection: Connection,
}

#[derive(Template)]
#[template(path = "admin/connect_entra.html")]
struct EntraGuide {
    l: Layout,
    scim_url: String,
    connection: Connection,
}

async fn connection(state: &AppState, page: &TenantPage) -> Result<Connection, AdminError> {
    let tokens = state.services.tokens();
    let last_used = tokens.last_used(&page.scope).await?;
    // The newest tokens are the likely live ones; one page is plenty to answer "any?".
    let now = Timestamp::now();
    let has_live_token = tokens
        .list(&page.scope, None, PageSize::DEFAULT)
        .await?
        .items
        .iter()
        .any(|token| token.is_live(now));
    Ok(Connection {
        last_used: last_used.map(when),
        has_live_token,
    })
}

pub(crate) async fn okta(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let connection = connection(&state, &page).await?;
    ok(&OktaGuide {
        scim_url: scim_base_url(&state, page.scope.slug()),
        connection,
        l: Layout::tenant(&req, &page.session, &page.scope, "connect"),
    })
}

pub(crate) async fn entra(
    req: HttpRequest,
    page: TenantPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let connection = connection(&state, &page).await?;
    ok(&EntraGuide {
        scim_url: scim_base_url(&state, page.scope.slug()),
        connection,
        l: Layout::tenant(&req, &page.session, &page.scope, "connect"),
    })
}
