//! What every page shares: the layout data, flash messages, time formatting and the
//! render helper.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use roster_core::memberships::TenantAccess;
use roster_core::sessions::CurrentSession;
use roster_core::tenants::TenantStatus;
use roster_core::time::Timestamp;

use super::assets;
use super::error::AdminError;
use super::session::{TenantView, Viewer};
use roster_core::setup_links::Abilities;

pub(crate) const FLASH_COOKIE: &str = "roster_flash";

/// A one-line message shown on the page a POST redirects to. Only its code travels in
/// the cookie, so a forged cookie can show nothing but one of these sentences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flash {
    SignedOut,
    PasswordChanged,
    TenantCreated,
    TenantSuspended,
    TenantResumed,
    TokenRevoked,
    ApiKeyRevoked,
    AdminRemoved,
    InvitationRevoked,
    Joined,
    SettingsSaved,
    DomainAdded,
    DomainVerified,
    DomainNotVerified,
    DomainChanged,
    DomainRemoved,
    AttributeAdded,
    AttributeRemoved,
    NotificationTypeAdded,
    NotificationTypeRemoved,
    DefaultsSaved,
    UserNotificationsSaved,
    LocationAdded,
    LocationRemoved,
    KioskAdded,
    KioskRemoved,
    RuleAdded,
    RuleRemoved,
    RuleMoved,
    HostsReapplied,
    WebhookSaved,
    WebhookDeleted,
    DeliveryQueued,
    FailedQueued,
    NothingToRedeliver,
    SetupLinkRevoked,
    SetupEnded,
}

const FLASHES: [(Flash, &str, &str); 37] = [
    (Flash::SignedOut, "signed-out", "You have signed out."),
    (
        Flash::PasswordChanged,
        "password-changed",
        "Your password has been changed. Other sessions have been signed out.",
    ),
    (
        Flash::TenantCreated,
        "tenant-created",
        "The tenant has been created. Next: invite its admin or create a SCIM token.",
    ),
    (
        Flash::TenantSuspended,
        "tenant-suspended",
        "The tenant has been suspended. Its SCIM endpoint now refuses requests.",
    ),
    (
        Flash::TenantResumed,
        "tenant-resumed",
        "The tenant is active again.",
    ),
    (
        Flash::TokenRevoked,
        "token-revoked",
        "The token has been revoked. Requests using it are now refused.",
    ),
    (
        Flash::ApiKeyRevoked,
        "api-key-revoked",
        "The API key has been revoked. Requests using it are now refused.",
    ),
    (
        Flash::AdminRemoved,
        "admin-removed",
        "The admin's account has been removed; they can no longer sign in to this tenant.",
    ),
    (
        Flash::InvitationRevoked,
        "invitation-revoked",
        "The invitation has been revoked. Its link no longer works.",
    ),
    (
        Flash::Joined,
        "joined",
        "Welcome. Your account is ready: sign in next time with your organization, email and password.",
    ),
    (
        Flash::SettingsSaved,
        "settings-saved",
        "The provisioning settings have been saved. They apply to the next SCIM request.",
    ),
    (
        Flash::DomainAdded,
        "domain-added",
        "The domain has been added. Publish its TXT record, then verify it.",
    ),
    (
        Flash::DomainVerified,
        "domain-verified",
        "The domain is verified. Only users in verified domains are provisioned now.",
    ),
    (
        Flash::DomainNotVerified,
        "domain-not-verified",
        "The domain could not be verified yet; the reason is shown next to it.",
    ),
    (
        Flash::DomainChanged,
        "domain-changed",
        "The domain has been updated.",
    ),
    (
        Flash::DomainRemoved,
        "domain-removed",
        "The domain has been removed, and the tokens limited to it revoked.",
    ),
    (
        Flash::AttributeAdded,
        "attribute-added",
        "The attribute has been added to the tenant's SCIM schema.",
    ),
    (
        Flash::AttributeRemoved,
        "attribute-removed",
        "The attribute has been removed from the tenant's SCIM schema.",
    ),
    (
        Flash::NotificationTypeAdded,
        "notification-added",
        "The notification type has been added. New users get its defaults.",
    ),
    (
        Flash::NotificationTypeRemoved,
        "notification-removed",
        "The notification type has been removed.",
    ),
    (
        Flash::DefaultsSaved,
        "defaults-saved",
        "The default notification settings have been saved. They apply to users provisioned from now on.",
    ),
    (
        Flash::UserNotificationsSaved,
        "user-notifications-saved",
        "The user's notification settings have been saved.",
    ),
    (
        Flash::LocationAdded,
        "location-added",
        "The location has been added.",
    ),
    (
        Flash::LocationRemoved,
        "location-removed",
        "The location and its kiosks have been removed.",
    ),
    (
        Flash::KioskAdded,
        "kiosk-added",
        "The kiosk has been added.",
    ),
    (
        Flash::KioskRemoved,
        "kiosk-removed",
        "The kiosk has been removed.",
    ),
    (
        Flash::RuleAdded,
        "rule-added",
        "The mapping rule has been added at the lowest priority.",
    ),
    (
        Flash::RuleRemoved,
        "rule-removed",
        "The mapping rule has been removed.",
    ),
    (
        Flash::RuleMoved,
        "rule-moved",
        "The rule order has been changed.",
    ),
    (
        Flash::HostsReapplied,
        "hosts-reapplied",
        "The rules have been re-applied. Each user whose hosts changed got a user.updated event.",
    ),
    (
        Flash::WebhookSaved,
        "webhook-saved",
        "The webhook endpoint has been saved. Changes apply to events from now on.",
    ),
    (
        Flash::WebhookDeleted,
        "webhook-deleted",
        "The webhook endpoint and its delivery history have been deleted.",
    ),
    (
        Flash::DeliveryQueued,
        "delivery-queued",
        "The delivery has been queued again and is sent within moments.",
    ),
    (
        Flash::FailedQueued,
        "failed-queued",
        "Every failed delivery of this endpoint has been queued again; they are sent within moments, in order.",
    ),
    (
        Flash::NothingToRedeliver,
        "nothing-to-redeliver",
        "There are no failed deliveries to send again.",
    ),
    (
        Flash::SetupLinkRevoked,
        "setup-link-revoked",
        "The setup link has been revoked. Its sessions have ended and it no longer opens.",
    ),
    (
        Flash::SetupEnded,
        "setup-ended",
        "Your setup session has ended. Open the setup link again to continue.",
    ),
];

impl Flash {
    fn code(self) -> &'static str {
        FLASHES
            .iter()
            .find(|(flash, _, _)| *flash == self)
            .map_or("", |(_, code, _)| code)
    }

    /// Flashes that report a problem rather than a success.
    fn is_warning(self) -> bool {
        matches!(self, Self::DomainNotVerified | Self::NothingToRedeliver)
    }

    /// Whether the flash cookie the request carries reports a problem.
    pub(crate) fn warns(req: &HttpRequest) -> bool {
        req.cookie(FLASH_COOKIE).is_some_and(|cookie| {
            FLASHES
                .iter()
                .any(|(flash, code, _)| *code == cookie.value() && flash.is_warning())
        })
    }

    /// The message of the flash cookie the request carries, if it is one of ours.
    pub(crate) fn message(req: &HttpRequest) -> Option<&'static str> {
        let cookie = req.cookie(FLASH_COOKIE)?;
        FLASHES
            .iter()
            .find(|(_, code, _)| *code == cookie.value())
            .map(|(_, _, text)| *text)
    }

    pub(crate) fn cookie(self) -> Cookie<'static> {
        Cookie::build(FLASH_COOKIE, self.code())
            .path("/admin")
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(CookieDuration::seconds(60))
            .finish()
    }
}

/// The tenant whose pages are shown, for the navigation.
pub(crate) struct TenantNav {
    pub slug: String,
    pub name: String,
    pub suspended: bool,
}

impl TenantNav {
    pub(crate) fn of(scope: &TenantAccess) -> Self {
        let tenant = scope.tenant();
        Self {
            slug: tenant.slug.to_string(),
            name: tenant.name.clone(),
            suspended: tenant.status == TenantStatus::Suspended,
        }
    }
}

/// Everything `base.html` and `layout.html` read. Every page struct has one, named `l`.
pub(crate) struct Layout {
    pub css: &'static str,
    pub js: &'static str,
    pub email: Option<String>,
    pub is_operator: bool,
    pub csrf: String,
    pub tenant: Option<TenantNav>,
    /// Which navigation entry is current.
    pub section: &'static str,
    pub flash: Option<&'static str>,
    /// Whether the flash reports a problem (an amber banner, not a green one).
    pub flash_warns: bool,
    /// What the viewer may open: everything for an admin, the link's abilities in a
    /// setup session.
    pub allow: Abilities,
    /// The setup link's label, in a setup session.
    pub setup: Option<String>,
}

impl Layout {
    /// For pages seen signed out (sign-in, errors).
    pub(crate) fn anonymous() -> Self {
        Self {
            css: assets::css_url(),
            js: assets::js_url(),
            email: None,
            is_operator: false,
            csrf: String::new(),
            tenant: None,
            section: "",
            flash: None,
            flash_warns: false,
            allow: Abilities::default(),
            setup: None,
        }
    }

    pub(crate) fn new(req: &HttpRequest, session: &CurrentSession, section: &'static str) -> Self {
        Self {
            email: Some(session.admin.email.clone()),
            is_operator: session.admin.is_operator,
            csrf: session.csrf_token.clone(),
            section,
            flash: Flash::message(req),
            flash_warns: Flash::warns(req),
            allow: Abilities::ALL,
            ..Self::anonymous()
        }
    }

    /// A tenant page seen by an admin or a setup session ([`TenantView`]).
    pub(crate) fn view<A>(req: &HttpRequest, view: &TenantView<A>, section: &'static str) -> Self {
        match &view.viewer {
            Viewer::Admin(session) => Self::tenant(req, session, &view.scope, section),
            Viewer::Setup(setup) => Self {
                csrf: setup.csrf_token.clone(),
                section,
                flash: Flash::message(req),
                flash_warns: Flash::warns(req),
                allow: setup.link.abilities,
                setup: Some(setup.link.label.clone()),
                tenant: Some(TenantNav::of(&view.scope)),
                ..Self::anonymous()
            },
        }
    }

    pub(crate) fn tenant(
        req: &HttpRequest,
        session: &CurrentSession,
        scope: &TenantAccess,
        section: &'static str,
    ) -> Self {
        Self {
            tenant: Some(TenantNav::of(scope)),
            ..Self::new(req, session, section)
        }
    }

    pub(crate) fn with_flash(mut self, req: &HttpRequest) -> Self {
        self.flash = Flash::message(req);
        self.flash_warns = Flash::warns(req);
        self
    }
}

/// Renders a page with a status. A template that fails to render is logged and becomes
/// the opaque 500 page.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AdminError> {
    match page.render() {
        Ok(body) => Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body)),
        Err(err) => {
            tracing::error!(error = %err, "rendering a page failed");
            Err(AdminError::Internal)
        }
    }
}

pub(crate) fn ok(page: &impl Template) -> Result<HttpResponse, AdminError> {
    render(StatusCode::OK, page)
}

/// A form sent back with its errors inline.
pub(crate) fn invalid(page: &impl Template) -> Result<HttpResponse, AdminError> {
    render(StatusCode::UNPROCESSABLE_ENTITY, page)
}

/// POST → 303 → GET, with a flash message for the page it lands on.
pub(crate) fn redirect_with(location: &str, flash: Flash) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .cookie(flash.cookie())
        .finish()
}

/// `2026-11-22 04:42:55 UTC`: stored times are UTC, and saying so avoids guesswork.
pub(crate) fn when(at: Timestamp) -> String {
    let text = at.to_rfc3339();
    let mut out: String = text.chars().take(19).collect();
    out = out.replacen('T', " ", 1);
    out.push_str(" UTC");
    out
}

pub(crate) fn when_opt(at: Option<Timestamp>, none: &str) -> String {
    at.map_or_else(|| none.to_owned(), when)
}

/// The request's id (as in `X-Request-Id`), for changes that write events.
pub(crate) fn request_id_of(req: &HttpRequest) -> String {
    use actix_web::HttpMessage as _;
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default()
}
