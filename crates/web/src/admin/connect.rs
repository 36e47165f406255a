//! "Connect your identity provider": the guides of `docs/idp/` (Okta, Microsoft Entra ID,
//! OneLogin, JumpCloud) rendered with the tenant's own SCIM base URL filled in — the same
//! text as the documentation — and the connection check: has a live token of this tenant
//! been accepted yet, did the identity provider's test reach Roster, and what was the last
//! request Roster refused (a wrong, revoked or expired token)?

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use roster_core::directory::LogEntry;
use roster_core::paging::PageSize;
use roster_core::rules::{ExistingUser, ProvisioningSettings};

use super::error::AdminError;
use super::help::{Urls, guide, render};
use super::page::{Layout, ok, when};
use super::session::{Guide, TenantView};
use super::tenants::{scim_base_url, scim_shared_url};
use crate::AppState;

/// The identity providers with a guide: (path, tab label).
const PROVIDERS: [(&str, &str); 4] = [
    ("okta", "Okta"),
    ("entra", "Microsoft Entra ID"),
    ("onelogin", "OneLogin"),
    ("jumpcloud", "JumpCloud"),
];

/// One diagnosed request: when, and what Roster saw.
pub(crate) struct Seen {
    pub at: String,
    pub detail: String,
    /// For a refusal: it is newer than the last accepted request (the problem is now).
    pub current: bool,
}

/// What the connection check found.
pub(crate) struct Connection {
    /// When a live token was last accepted, if ever.
    pub last_used: Option<String>,
    /// Whether the tenant has any live token to paste into the IdP at all.
    pub has_live_token: bool,
    /// The identity provider's latest connection test.
    pub tested: Option<Seen>,
    /// The latest request refused at authentication.
    pub rejected: Option<Seen>,
    /// What is turned off in the tenant's provisioning settings, in plain words: then
    /// the page never says "Connected".
    pub paused: Option<String>,
}

/// What this tenant answers when the identity provider creates a user whose userName
/// already exists (a user the product seeded, say), in the guide's words: the guide
/// describes the tenant's actual setting, not the default.
pub(crate) fn existing_user_sentence(settings: &ProvisioningSettings, idp: &str) -> String {
    match settings.existing_user {
        ExistingUser::Conflict => format!(
            "This organization’s setting is “Refuse it (409)”: when {idp} creates a user \
             whose userName already exists and is active, Roster answers 409 “userName … is \
             already taken” and {idp} shows that error. {idp} looks users up by userName \
             first, so users your product seeded are found and linked rather than created \
             again. To have {idp}’s profile override an existing user instead, choose \
             “Override” under Provisioning settings."
        ),
        ExistingUser::Override => format!(
            "This organization’s setting is “Override”: when {idp} creates a user whose \
             userName already exists (for example a user your product seeded), Roster \
             updates that user with {idp}’s profile and answers 201 with its id; the user \
             keeps your product’s reference (productRef) and a user.updated event says so."
        ),
    }
}

/// What the tenant's settings turn off, as a sentence; `None` when provisioning is on
/// with every action allowed.
pub(crate) fn paused(settings: &ProvisioningSettings) -> Option<String> {
    if !settings.enabled {
        return Some(
            "Provisioning is off for this tenant: Roster refuses every SCIM request (403), \
             including your identity provider's connection test."
                .to_owned(),
        );
    }
    let off = settings.actions_off();
    let list = match off.as_slice() {
        [] => return None,
        [one] => format!("“{one}” is"),
        [init @ .., last] => format!(
            "{} and “{last}” are",
            init.iter()
                .map(|a| format!("“{a}”"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Some(format!(
        "Provisioning is on, but {list} turned off: Roster refuses those requests (403)."
    ))
}

pub(crate) async fn connection(
    state: &AppState,
    view: &TenantView<Guide>,
) -> Result<Connection, AdminError> {
    let tokens = state.services.tokens();
    let last_used = tokens.last_used(&view.scope).await?;
    // The newest tokens are the likely live ones; one page is plenty to answer "any?".
    let now = state.services.clock().now();
    let has_live_token = tokens
        .list(&view.scope, None, PageSize::DEFAULT)
        .await?
        .items
        .iter()
        .any(|token| token.is_live(now));
    let diagnosis = state
        .services
        .connection_log()
        .diagnose(&view.scope)
        .await?;
    let settings = state.services.rules().rules(&view.scope).await?.settings;
    let seen = |entry: LogEntry| Seen {
        current: last_used.is_none_or(|used| entry.occurred_at > used),
        at: when(entry.occurred_at),
        detail: entry.detail.unwrap_or_default(),
    };
    Ok(Connection {
        last_used: last_used.map(when),
        has_live_token,
        tested: diagnosis.tested.map(seen),
        rejected: diagnosis.rejected.map(seen),
        paused: paused(&settings),
    })
}

#[derive(Template)]
#[template(path = "admin/connect.html")]
struct ConnectPage {
    l: Layout,
    guide: &'static str,
    providers: &'static [(&'static str, &'static str)],
    title: &'static str,
    scim_url: String,
    /// The shared base URL, when the operator has it on.
    shared_url: Option<String>,
    /// The rendered guide (our own Markdown, without raw HTML).
    body: String,
    connection: Connection,
    /// What a create of an existing user does in this tenant.
    existing_user: String,
}

pub(crate) async fn guide_page(
    req: HttpRequest,
    view: TenantView<Guide>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (name, title) = PROVIDERS
        .iter()
        .find(|(name, _)| *name == path.1)
        .copied()
        .ok_or(AdminError::NotFound)?;
    let source = guide(name).ok_or(AdminError::NotFound)?;
    let urls = Urls::of(&state, view.scope.slug().as_str());
    let settings = state.services.rules().rules(&view.scope).await?.settings;
    ok(&ConnectPage {
        existing_user: existing_user_sentence(&settings, title),
        body: render(source.source, Some(&urls), true),
        scim_url: scim_base_url(&state, view.scope.slug()),
        shared_url: scim_shared_url(&state),
        connection: connection(&state, &view).await?,
        l: Layout::view(&req, &view, "connect"),
        guide: name,
        providers: &PROVIDERS,
        title,
    })
}

/// `/admin/t/{slug}/connect`: Okta's guide, the most common.
pub(crate) async fn default_guide(view: TenantView<Guide>) -> HttpResponse {
    super::error::see_other(&format!("/admin/t/{}/connect/okta", view.scope.slug()))
}
