//! State-changing requests: every POST in the admin UI arrives through [`Submitted`],
//! which checks, in this order, that it comes from our own origin (`Origin`, or
//! `Referer` when a browser sends no `Origin`, against the configured public URL), that
//! it belongs to a live session, and that it carries that session's CSRF token (compared
//! in constant time). The sign-in form has no session yet; it gets the origin check.
//!
//! Form fields are all `#[serde(default)]` strings: a missing field is an empty value,
//! which the core newtypes turn into an inline error, never a 400 or 500.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::UrlencodedError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use roster_core::crypto::constant_time_eq;
use roster_core::sessions::CurrentSession;
use serde::de::DeserializeOwned;
use url::Url;

use super::error::AdminError;
use super::session::current_session;
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

/// Refuses a state-changing request that a browser says comes from another origin.
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
    let same = claimed
        .and_then(|raw| Url::parse(&raw).ok())
        .is_some_and(|url| url.origin() == expected);
    if same {
        Ok(())
    } else {
        tracing::warn!("refused a form from another origin");
        Err(AdminError::Forbidden)
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
