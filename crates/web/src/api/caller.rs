//! The authenticated API caller: an API key proven valid (argon2 once, then the cached
//! digest), within its rate limit. It yields the tenant-scoped read handle.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use roster_core::api::TenantApi;
use roster_core::token_auth::AuthenticatedToken;

use super::error::ApiError;
use crate::AppState;
use crate::telemetry::Caller;

pub(crate) struct ApiCaller {
    key: AuthenticatedToken,
    state: web::Data<AppState>,
}

impl ApiCaller {
    /// The key's tenant's audit log, after `after`, oldest first.
    pub(crate) async fn audit(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<roster_core::audit::AuditEntry>, ApiError> {
        Ok(self
            .state
            .services
            .audit()
            .for_api_key(&self.key, after, limit)
            .await?)
    }

    /// The request context of a seed, when the key may write (403 otherwise).
    pub(crate) fn seeding(
        &self,
        req: &HttpRequest,
    ) -> Result<roster_core::provisioning::RequestContext, ApiError> {
        if !self.key.api_scope().can_write() {
            return Err(ApiError::insufficient_scope());
        }
        Ok(roster_core::provisioning::RequestContext::for_token(
            &self.key,
            crate::scim::caller::request_id(req),
        ))
    }

    pub(crate) fn provisioning(&self) -> &roster_core::provisioning::Provisioning {
        self.state.services.provisioning()
    }

    /// The API of the key's tenant.
    pub(crate) fn api(&self) -> Result<TenantApi<'_>, ApiError> {
        self.state
            .services
            .api()
            .tenant(&self.key)
            .ok_or_else(ApiError::internal)
    }
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
                return Err(ApiError::internal());
            };
            let authorization = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok());
            let services = &state.services;
            let key = match services
                .api_key_auth()
                .authenticate_any_tenant(authorization)
                .await
            {
                Ok(Ok(key)) => key,
                Ok(Err(reason)) => return Err(ApiError::unauthorized(&reason)),
                Err(roster_core::Error::Busy) => return Err(ApiError::busy()),
                Err(err) => {
                    tracing::error!(error = %roster_core::error::chain(&err), "API key authentication failed");
                    return Err(ApiError::internal());
                }
            };
            Caller::attach(&req, key.tenant_slug().as_str(), key.display_prefix());
            services
                .admission()
                .admit(&key)
                .map_err(ApiError::rate_limited)?;
            Ok(ApiCaller { key, state })
        })
    }
}
