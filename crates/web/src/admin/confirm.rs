//! The confirmation page of destructive actions: it says what will happen, and its form
//! posts to the same URL (with the CSRF token); Cancel goes back. For the tenant's rules
//! (domains, attributes, notification types, locations, kiosks, mapping rules) the POST
//! that follows is one generic handler, [`remove`], parameterised by what it removes.

use actix_web::{HttpResponse, web};
use askama::Template;
use roster_core::memberships::TenantAccess;
use roster_core::rules::RulesService;

use super::error::AdminError;
use super::forms::{CsrfOnly, Submitted};
use super::page::{Flash, Layout, redirect_with};
use super::session::TenantPage;
use super::settings::parse_path_id;
use crate::AppState;

#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub(crate) struct ConfirmPage {
    pub l: Layout,
    pub title: String,
    pub message: String,
    /// Where the form posts (the page's own URL).
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
}

/// One thing of a tenant's rules that a confirmed POST to `…/{id}/remove` removes.
pub(crate) trait Removal: 'static {
    /// The list page under `/admin/t/{slug}/` the answer returns to.
    const LIST: &'static str;
    /// The flash shown there.
    const REMOVED: Flash;

    async fn remove(
        rules: &RulesService,
        scope: &TenantAccess,
        id: uuid::Uuid,
    ) -> roster_core::Result<()>;
}

/// Declares a [`Removal`]: its marker type, the list page it returns to, the flash, and
/// the `RulesService` method that removes.
macro_rules! removal {
    ($(#[$doc:meta])* $name:ident, $list:literal, $flash:ident, $method:ident) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl $crate::admin::confirm::Removal for $name {
            const LIST: &'static str = $list;
            const REMOVED: $crate::admin::page::Flash = $crate::admin::page::Flash::$flash;

            async fn remove(
                rules: &roster_core::rules::RulesService,
                scope: &roster_core::memberships::TenantAccess,
                id: uuid::Uuid,
            ) -> roster_core::Result<()> {
                rules.$method(scope, id).await.map(drop)
            }
        }
    };
}
pub(crate) use removal;

/// The POST of a rules confirmation page: removes the item and returns to its list.
pub(crate) async fn remove<R: Removal>(
    page: TenantPage,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _submitted: Submitted<CsrfOnly>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_path_id(&path.1)?;
    R::remove(state.services.rules(), &page.scope, id).await?;
    Ok(redirect_with(
        &format!("/admin/t/{}/{}", page.scope.slug(), R::LIST),
        R::REMOVED,
    ))
}
