//! The session cookie and the extractors that turn it into a signed-in admin.
//!
//! The cookie holds only a random secret (`HttpOnly`, `SameSite=Strict`, `Secure` when
//! served over HTTPS, path `/admin`); the session lives in the database, so any node
//! answers any request and a sign-out on one node ends the session on all of them.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use roster_core::audit::Origin;
use roster_core::memberships::TenantAccess;
use roster_core::sessions::{CurrentSession, NewSession, SessionPolicy};
use roster_core::setup_links::{Abilities, SetupSession, StartedSetup};
use secrecy::{ExposeSecret, SecretString};

use super::error::AdminError;
use crate::client::client_address;
use crate::{AppState, CookieSecure};

pub(crate) const SESSION_COOKIE: &str = "roster_session";
/// OWASP's device cookie: this browser signed in to an account before, so a stranger's
/// failed attempts do not lock it out (see `roster_core::throttle`). Read by the sign-in
/// and invitation forms; like the session cookie it is `HttpOnly`, `SameSite=Strict`,
/// path `/admin`, and only its digest is stored.
pub(crate) const DEVICE_COOKIE: &str = "roster_device";

pub(crate) fn policy(state: &AppState) -> SessionPolicy {
    SessionPolicy {
        ttl: state.config.session_ttl,
        idle_timeout: state.config.session_idle_timeout,
    }
}

fn secure(state: &AppState) -> bool {
    match state.config.cookie_secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => state.config.public_url.scheme() == "https",
    }
}

/// The cookie for a session just opened.
pub(crate) fn session_cookie(state: &AppState, session: &NewSession) -> Cookie<'static> {
    let seconds =
        (session.expires_at.as_micros() - state.services.clock().now().as_micros()) / 1_000_000;
    Cookie::build(SESSION_COOKIE, session.secret.expose_secret().to_owned())
        .path("/admin")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(seconds.max(0)))
        .finish()
}

/// The device cookie after a sign-in: the browser stays trusted for the account for
/// `DEVICE_LIFETIME` after its last sign-in.
pub(crate) fn device_cookie(state: &AppState, secret: &SecretString) -> Cookie<'static> {
    let seconds = i64::try_from(roster_core::throttle::DEVICE_LIFETIME.as_secs()).unwrap_or(0);
    Cookie::build(DEVICE_COOKIE, secret.expose_secret().to_owned())
        .path("/admin")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(seconds))
        .finish()
}

/// A cookie that makes the browser forget the session.
pub(crate) fn cleared_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/admin")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}

/// Any signed-in admin, including one who must still change a one-time password.
pub(crate) struct SignedIn(pub CurrentSession);

/// A signed-in admin who may use the UI (password already changed).
pub(crate) struct Admin(pub CurrentSession);

/// A signed-in admin on a page of a tenant they may manage (`{slug}` in the path).
/// Unknown tenants and other admins' tenants are both 404.
pub(crate) struct TenantPage {
    pub session: CurrentSession,
    pub scope: TenantAccess,
}

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, AdminError>>>>;

/// The session of this request, looked up once and kept in the request's extensions.
pub(crate) async fn current_session(req: &HttpRequest) -> Result<CurrentSession, AdminError> {
    if let Some(session) = req.extensions().get::<CurrentSession>() {
        return Ok(session.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(AdminError::Internal)?;
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Err(AdminError::SignIn);
    };
    let session = state
        .services
        .sessions()
        .authenticate(cookie.value(), policy(state))
        .await?
        .ok_or(AdminError::SignIn)?;
    req.extensions_mut().insert(session.clone());
    Ok(session)
}

impl FromRequest for SignedIn {
    type Error = AdminError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { current_session(&req).await.map(SignedIn) })
    }
}

impl FromRequest for Admin {
    type Error = AdminError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = current_session(&req).await?;
            if session.admin.must_change_password {
                return Err(AdminError::Redirect("/admin/password"));
            }
            Ok(Admin(session))
        })
    }
}

impl FromRequest for TenantPage {
    type Error = AdminError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let admin = Admin::from_request(&req, payload);
        Box::pin(async move {
            let slug = req.match_info().get("slug").unwrap_or_default();
            let Admin(session) = admin.await.map_err(|err| match err {
                // Signed out on a tenant's page: the sign-in form names the tenant.
                AdminError::SignIn => roster_core::tenants::TenantSlug::parse(slug)
                    .map_or(AdminError::SignIn, AdminError::SignInTo),
                other => other,
            })?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or(AdminError::Internal)?;
            let scope = state
                .services
                .memberships()
                .access(&session.admin, slug)
                .await?
                .ok_or(AdminError::NotFound)?
                .with_origin(origin_of(&req, state));
            tracing::Span::current().record("tenant", scope.slug().as_str());
            Ok(TenantPage { session, scope })
        })
    }
}

/// The request's id and client address, for the audit rows of what it changes.
pub(crate) fn origin_of(req: &HttpRequest, state: &AppState) -> Origin {
    Origin {
        request_id: Some(super::page::request_id_of(req)),
        client_address: Some(client_address(req, &state.config.trusted_proxies).to_string()),
    }
}

// ---------------------------------------------------------------------------------------
// Setup links: pages a setup session may reach too.

/// The cookie of a setup session (opened with a setup link, no account). Like the
/// session cookie: `HttpOnly`, `SameSite=Strict`, path `/admin`, only its digest stored.
pub(crate) const SETUP_COOKIE: &str = "roster_setup";

pub(crate) fn setup_cookie(state: &AppState, started: &StartedSetup) -> Cookie<'static> {
    let seconds =
        (started.expires_at.as_micros() - state.services.clock().now().as_micros()) / 1_000_000;
    Cookie::build(SETUP_COOKIE, started.secret.expose_secret().to_owned())
        .path("/admin")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(seconds.max(0)))
        .finish()
}

pub(crate) fn cleared_setup_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build(SETUP_COOKIE, "")
        .path("/admin")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}

/// Who looks at a page that a setup link may also open.
#[derive(Clone, Debug)]
pub(crate) enum Viewer {
    Admin(CurrentSession),
    Setup(Box<SetupSession>),
}

impl Viewer {
    pub(crate) fn csrf(&self) -> &str {
        match self {
            Self::Admin(session) => &session.csrf_token,
            Self::Setup(session) => &session.csrf_token,
        }
    }
}

/// What a page needs a setup link to allow.
pub(crate) trait Ability {
    fn allowed(abilities: &Abilities) -> bool;
}

/// Creating and revoking SCIM tokens.
pub(crate) struct Tokens;
/// The identity provider's guide and the connection check.
pub(crate) struct Guide;
/// The provisioning log.
pub(crate) struct Log;
/// Users and groups.
pub(crate) struct Users;

impl Ability for Tokens {
    fn allowed(abilities: &Abilities) -> bool {
        abilities.tokens
    }
}
impl Ability for Guide {
    fn allowed(abilities: &Abilities) -> bool {
        abilities.guide
    }
}
impl Ability for Log {
    fn allowed(abilities: &Abilities) -> bool {
        abilities.log
    }
}
impl Ability for Users {
    fn allowed(abilities: &Abilities) -> bool {
        abilities.users
    }
}

/// A tenant's page that an admin of the tenant sees, and a setup session of the tenant
/// too when its link allows `A`. Anything else is what [`TenantPage`] answers: the
/// sign-in page, or 404; a setup session that has ended gets its own page (410).
pub(crate) struct TenantView<A> {
    pub viewer: Viewer,
    pub scope: TenantAccess,
    ability: PhantomData<A>,
}

/// The viewer of this request: an admin session first, else a setup session.
pub(crate) async fn current_viewer(req: &HttpRequest) -> Result<Viewer, AdminError> {
    if let Some(viewer) = req.extensions().get::<Viewer>() {
        return Ok(viewer.clone());
    }
    let viewer = match current_session(req).await {
        Ok(session) => {
            if session.admin.must_change_password {
                return Err(AdminError::Redirect("/admin/password"));
            }
            Viewer::Admin(session)
        }
        Err(AdminError::SignIn) => {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or(AdminError::Internal)?;
            let Some(cookie) = req.cookie(SETUP_COOKIE) else {
                return Err(AdminError::SignIn);
            };
            let session = state
                .services
                .setup_links()
                .authenticate(cookie.value())
                .await?
                .ok_or(AdminError::SetupEnded)?;
            Viewer::Setup(Box::new(session))
        }
        Err(other) => return Err(other),
    };
    req.extensions_mut().insert(viewer.clone());
    Ok(viewer)
}

impl<A: Ability + 'static> FromRequest for TenantView<A> {
    type Error = AdminError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let slug = req.match_info().get("slug").unwrap_or_default().to_owned();
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or(AdminError::Internal)?
                .clone();
            let viewer = current_viewer(&req).await.map_err(|err| match err {
                AdminError::SignIn => roster_core::tenants::TenantSlug::parse(&slug)
                    .map_or(AdminError::SignIn, AdminError::SignInTo),
                other => other,
            })?;
            let scope = match &viewer {
                Viewer::Admin(session) => state
                    .services
                    .memberships()
                    .access(&session.admin, &slug)
                    .await?
                    .ok_or(AdminError::NotFound)?,
                Viewer::Setup(session) => {
                    if session.scope.slug().as_str() != slug || !A::allowed(&session.link.abilities)
                    {
                        return Err(AdminError::NotFound);
                    }
                    session.scope.clone()
                }
            };
            let scope = scope.with_origin(origin_of(&req, &state));
            tracing::Span::current().record("tenant", scope.slug().as_str());
            Ok(TenantView {
                viewer,
                scope,
                ability: PhantomData,
            })
        })
    }
}
