//! SCIM errors on the wire: `application/scim+json` bodies with a string `status`, the
//! headers RFC 6750 and Okta expect (`WWW-Authenticate`, `Retry-After`), and opaque 5xx
//! bodies that carry the request id.

use std::fmt;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use roster_core::idp::IdentityProvider;
use roster_core::provisioning::ProvisioningError;
use roster_core::rate_limit::RetryAfter;
use roster_core::token_auth::AuthError;
use roster_scim::ScimError;

pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// An error answered by the SCIM surface.
#[derive(Debug)]
pub struct ScimHttpError {
    error: ScimError,
    www_authenticate: Option<&'static str>,
    retry_after: Option<Duration>,
}

impl ScimHttpError {
    pub fn new(error: ScimError) -> Self {
        Self {
            error,
            www_authenticate: None,
            retry_after: None,
        }
    }

    pub fn unauthorized(reason: &AuthError, idp: IdentityProvider) -> Self {
        let (status, header) = match reason {
            AuthError::Missing => (401, "Bearer realm=\"roster\""),
            AuthError::Suspended => (403, "Bearer realm=\"roster\", error=\"insufficient_scope\""),
            _ => (401, "Bearer realm=\"roster\", error=\"invalid_token\""),
        };
        let detail = match reason {
            AuthError::Revoked | AuthError::Expired => {
                format!("{reason} and paste it into {}", idp.name())
            }
            _ => reason.to_string(),
        };
        Self {
            error: ScimError::new(status, None, detail),
            www_authenticate: Some(header),
            retry_after: None,
        }
    }

    pub fn rate_limited(retry: RetryAfter) -> Self {
        let wait = retry.duration();
        Self {
            error: ScimError::new(
                429,
                None,
                format!(
                    "too many requests for this token; retry after {} second(s)",
                    wait.as_secs().max(1)
                ),
            ),
            www_authenticate: None,
            retry_after: Some(wait),
        }
    }

    /// Too many first verifications of tokens at once on this node: 503, try again.
    pub fn busy() -> Self {
        Self {
            error: ScimError::new(
                503,
                None,
                "too many new tokens to check at once; retry in a few seconds".to_owned(),
            ),
            www_authenticate: None,
            retry_after: Some(roster_core::hashing::RETRY_AFTER),
        }
    }

    /// A failure of ours: the body says only that, with the request id to quote.
    pub fn internal(request_id: &str) -> Self {
        Self::new(ScimError::new(
            500,
            None,
            format!("internal error; quote request id {request_id} to the Roster operator"),
        ))
    }

    pub(crate) fn from_provisioning(err: ProvisioningError, request_id: &str) -> Self {
        match err {
            ProvisioningError::Scim(err) => Self::new(err),
            // The cause was logged where it was recorded (provisioning audit).
            ProvisioningError::Internal(_) | ProvisioningError::Stale => Self::internal(request_id),
        }
    }
}

impl From<ScimError> for ScimHttpError {
    fn from(error: ScimError) -> Self {
        Self::new(error)
    }
}

impl fmt::Display for ScimHttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl ResponseError for ScimHttpError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, SCIM_JSON));
        if let Some(value) = self.www_authenticate {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.insert_header((header::RETRY_AFTER, value));
            }
        }
        let mut response = response.body(self.error.to_json().to_string());
        if let Some(scim_type) = self.error.scim_type() {
            response
                .extensions_mut()
                .insert(crate::metrics::ScimTypeLabel(scim_type.as_str()));
        }
        response
    }
}
