//! State-changing requests: every POST in the admin UI arrives through [`Submitted`],
//! which checks, in this order, that it comes from our own origin (`Origin`, or
//! `Referer` when a browser sends no `Origin`, against the configured public URL), that
//! it belongs to a live session, and that it carries that session's CSRF token (compared
//! in constant time). The sign-in form has no session yet; it gets the origin check.
//! [`canonical_host`] sends pages opened under another host name to the public URL
//! first, so that their forms post from the origin they are checked against.
//!
//! Form fields are all `#[serde(default)]` strings: a missing field is an empty value,
//! which the core newtypes turn into an inline error, never a 400 or 500.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::UrlencodedError;
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use roster_core::crypto::constant_time_eq;
use roster_core::sessions::CurrentSession;
use serde::de::DeserializeOwned;
use url::Url;

use super::error::AdminError;
use super::session::{current_session, current_viewer};
use crate::AppState;

/// Largest form body accepted; far above any legitimate form, small enough to refuse
/// floods before parsing.
const FORM_LIMIT: usize = 64 * 1024;

pub(crate) fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(FORM_LIMIT)
        .error_handler(|err, _| {
            match err {
                UrlencodedError::Overflow { .. } => AdminError::PayloadTooLarge,
                _ => AdminError::BadRequest,
            }
            .into()
        })
}

pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|_, _| AdminError::BadRequest.into())
}

pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| AdminError::NotFound.into())
}

/// A form that carries the session's CSRF token.
pub(crate) trait CsrfForm {
    fn csrf(&self) -> &str;
}

/// A form with nothing but the CSRF token: a button (sign out, revoke, remove).
#[derive(serde::Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm for CsrfOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A state-changing form, checked as described above.
pub(crate) struct Submitted<T> {
    pub session: CurrentSession,
    pub form: T,
}

impl<T: DeserializeOwned + CsrfForm + 'static> FromRequest for Submitted<T> {
    type Error = AdminError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AdminError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let form = web::Form::<T>::from_request(&req, payload);
        Box::pin(async move {
            check_origin(&req)?;
            let session = current_session(&req).await?;
            let web::Form(form) = form
                .await
                .map_err(|err| match err.as_error::<AdminError>() {
                    Some(AdminError::PayloadTooLarge) => AdminError::PayloadTooLarge,
                    _ => AdminError::BadRequest,
                })?;
            if !constant_time_eq(form.csrf().as_bytes(), session.csrf_token.as_bytes()) {
                tracing::warn!("refused a form without a valid CSRF token");
                return Err(AdminError::Forbidden);
            }
            Ok(Self { session, form })
        })
    }
}

/// A state-changing form on a page a setup session may use too ([`super::session::TenantView`]):
/// the same checks as [`Submitted`], against the CSRF token of whichever session the
/// request carries.
pub(crate) struct Posted<T> {
    pub form: T,
}

impl<T: DeserializeOwned + CsrfForm + 'static> FromRequest for Posted<T> {
    type Error = AdminError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AdminError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let form = web::Form::<T>::from_request(&req, payload);
        Box::pin(async move {
            check_origin(&req)?;
            let viewer = current_viewer(&req).await?;
            let web::Form(form) = form
                .await
                .map_err(|err| match err.as_error::<AdminError>() {
                    Some(AdminError::PayloadTooLarge) => AdminError::PayloadTooLarge,
                    _ => AdminError::BadRequest,
                })?;
            if !constant_time_eq(form.csrf().as_bytes(), viewer.csrf().as_bytes()) {
                tracing::warn!("refused a form without a valid CSRF token");
                return Err(AdminError::Forbidden);
            }
            Ok(Self { form })
        })
    }
}

/// Refuses a state-changing request that a browser says comes from another origin.
///
/// When the browser names its origin and it is not the public URL's, the answer says
/// both ("this page was opened at X, but Roster's public URL is Y"): the usual cause is
/// not an attack but a page opened under another name (`localhost` for `127.0.0.1`, a
/// changed port), which reloading never fixes. The log gets both origins too.
pub(crate) fn check_origin(req: &HttpRequest) -> Result<(), AdminError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(AdminError::Internal)?;
    let expected = state.config.public_url.origin();
    let header_value = |name| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let claimed = header_value(header::ORIGIN).or_else(|| header_value(header::REFERER));
    let received = claimed
        .and_then(|raw| Url::parse(&raw).ok())
        .map(|url| url.origin());
    match received {
        Some(origin) if origin == expected => Ok(()),
        Some(origin) if origin.is_tuple() => {
            let received = origin.ascii_serialization();
            let expected = expected.ascii_serialization();
            tracing::warn!(
                expected_origin = %expected,
                received_origin = %received,
                "refused a form from another origin than the public URL's (ROSTER_PUBLIC_URL)"
            );
            Err(AdminError::WrongOrigin { received, expected })
        }
        _ => {
            tracing::warn!(
                expected_origin = %expected.ascii_serialization(),
                "refused a form that names no origin"
            );
            Err(AdminError::Forbidden)
        }
    }
}

/// The cookie that marks a request redirected to the public URL's host, so that a proxy
/// which rewrites `Host` cannot send the browser round in circles.
const REDIRECTED_COOKIE: &str = "roster_redirected";

/// Sends a `GET` or `HEAD` of an admin page that arrived under another host name than
/// the public URL's to the same page there (307), so that the forms on it post from the
/// origin they are checked against. The host is `X-Forwarded-Host`, else `Host`; ports
/// are not compared (a proxy's `Host` often lacks the public port).
///
/// A browser already redirected within the last minute is let through (with a warning in
/// the log): that happens only when a proxy replaces the `Host` of requests made to the
/// public URL itself, where another redirect would loop.
pub(crate) async fn canonical_host(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let redirect = redirect_target(&req);
    let Some((received, location)) = redirect else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if req.cookie(REDIRECTED_COOKIE).is_some() {
        tracing::warn!(
            received_host = %received,
            "an admin page was requested for another host than the public URL's right after \
             a redirect to it; a proxy may be replacing the Host header (pass it through, or \
             set X-Forwarded-Host)"
        );
        return Ok(next.call(req).await?.map_into_left_body());
    }
    tracing::info!(
        received_host = %received,
        location = %location,
        "redirected an admin page opened under another host name to the public URL"
    );
    let marker = actix_web::cookie::Cookie::build(REDIRECTED_COOKIE, "1")
        .path("/admin")
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(60))
        .finish();
    let response = HttpResponse::TemporaryRedirect()
        .insert_header((header::LOCATION, location))
        .cookie(marker)
        .finish();
    Ok(req.into_response(response).map_into_right_body())
}

/// The host a `GET`/`HEAD` arrived under and the public URL to send it to, when the
/// host is not the public URL's.
fn redirect_target(req: &ServiceRequest) -> Option<(String, String)> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let state = req.app_data::<web::Data<AppState>>()?;
    let public = &state.config.public_url;
    let expected = public.host_str()?.to_ascii_lowercase();
    let header_value = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|value| {
                value
                    .split(',')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .filter(|value| !value.is_empty())
    };
    let received = header_value("x-forwarded-host").or_else(|| header_value("host"))?;
    let host = host_name(&received)?;
    if host == expected {
        return None;
    }
    let mut location = format!("{}{}", public.origin().ascii_serialization(), req.path());
    if !req.query_string().is_empty() {
        location.push('?');
        location.push_str(req.query_string());
    }
    Some((host, location))
}

/// The host name of a `Host` value (`name`, `name:port`, `[v6]:port`), lower-cased;
/// `None` when it is not one.
fn host_name(value: &str) -> Option<String> {
    let value = value.trim();
    let host = if let Some(rest) = value.strip_prefix('[') {
        format!("[{}]", rest.split_once(']')?.0)
    } else {
        value.split(':').next()?.to_owned()
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':' | '_'));
    valid.then(|| host.to_ascii_lowercase())
}

/// A checkbox of a typed form: ticked when sent and not empty.
fn ticked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

/// The provisioning settings form: a tenant's settings page and the operator's defaults
/// for new tenants. Switches are checkboxes (absent when not ticked); the three choices
/// are names that `roster_core::rules` parses (empty when not sent).
#[derive(serde::Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    csrf: String,
    enabled: Option<String>,
    create_users: Option<String>,
    update_users: Option<String>,
    deactivate_users: Option<String>,
    delete_users: Option<String>,
    push_groups: Option<String>,
    domains_only: Option<String>,
    assign_hosts: Option<String>,
    #[serde(default)]
    pub delete_mode: String,
    #[serde(default)]
    pub existing_user: String,
    #[serde(default)]
    pub deactivate_mode: String,
}

impl SettingsForm {
    /// `base` with the switches both forms have, as ticked.
    pub(crate) fn switches(
        &self,
        base: roster_core::rules::ProvisioningSettings,
    ) -> roster_core::rules::ProvisioningSettings {
        roster_core::rules::ProvisioningSettings {
            enabled: ticked(&self.enabled),
            create_users: ticked(&self.create_users),
            update_users: ticked(&self.update_users),
            deactivate_users: ticked(&self.deactivate_users),
            delete_users: ticked(&self.delete_users),
            push_groups: ticked(&self.push_groups),
            domains_only: ticked(&self.domains_only),
            ..base
        }
    }

    /// "Assign users as hosts" (a tenant's page only).
    pub(crate) fn assign_hosts(&self) -> bool {
        ticked(&self.assign_hosts)
    }
}

impl CsrfForm for SettingsForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A trusted domain: its name, and whether its subdomains count (the add form and the
/// per-domain switch).
#[derive(serde::Deserialize)]
pub(crate) struct DomainForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub domain: String,
    include_subdomains: Option<String>,
}

impl DomainForm {
    pub(crate) fn include_subdomains(&self) -> bool {
        ticked(&self.include_subdomains)
    }
}

impl CsrfForm for DomainForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A new location: name, code and time zone as typed.
#[derive(serde::Deserialize)]
pub(crate) struct PlaceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub time_zone: String,
}

impl CsrfForm for PlaceForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A new kiosk of a location: its name.
#[derive(serde::Deserialize)]
pub(crate) struct KioskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub kiosk: String,
}

impl CsrfForm for KioskForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A new custom attribute: name, type, multi-valued, description.
#[derive(serde::Deserialize)]
pub(crate) struct AttributeDefinitionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub ty: String,
    multi_valued: Option<String>,
    #[serde(default)]
    pub description: String,
}

impl AttributeDefinitionForm {
    pub(crate) fn multi_valued(&self) -> bool {
        ticked(&self.multi_valued)
    }
}

impl CsrfForm for AttributeDefinitionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// One value a button sends besides the CSRF token: a rule's move (`direction`), the
/// provisioning switch (`enabled`).
#[derive(serde::Deserialize)]
pub(crate) struct ChoiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub direction: String,
    #[serde(default)]
    pub enabled: String,
}

impl CsrfForm for ChoiceForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A form whose fields repeat or are named by the page (checkbox grids, several
/// locations): every pair as sent, in order. Values are strings like any other field;
/// what does not parse is an inline error or is ignored, never a 400 or 500.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// The first value of `name`, or empty.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A checkbox: present and not empty.
    pub(crate) fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
}

impl CsrfForm for Pairs {
    fn csrf(&self) -> &str {
        self.get("csrf")
    }
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_values_lose_their_port() {
        assert_eq!(
            host_name("Roster.Example.com:8443").as_deref(),
            Some("roster.example.com")
        );
        assert_eq!(host_name("127.0.0.1:8080").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("[::1]:8080").as_deref(), Some("[::1]"));
        assert_eq!(host_name("localhost").as_deref(), Some("localhost"));
        assert_eq!(host_name("evil.example/path"), None);
        assert_eq!(host_name(""), None);
    }
}
