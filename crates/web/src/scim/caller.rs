//! The authenticated SCIM caller: a token proven for the tenant in the URL (or, on the
//! shared URL, for whichever tenant it belongs to), within its rate limit, and the
//! request context every service call takes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use roster_core::idp::IdentityProvider;
use roster_core::provisioning::{
    Operation, Provisioning, ProvisioningError, RequestContext, ScimEndpoint,
};
use roster_scim::ScimError;
use serde_json::Value;
use tracing_actix_web::RequestId;

use super::error::ScimHttpError;
use crate::AppState;
use crate::telemetry::Caller;

pub struct ScimCaller {
    pub ctx: RequestContext,
    state: web::Data<AppState>,
    /// Held from the parsing of a large body to the end of the request: the tenant's
    /// large requests run one at a time on this node.
    heavy: std::sync::Mutex<Option<roster_core::provisioning::HeavyTurn>>,
}

pub(crate) fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default()
}

impl FromRequest for ScimCaller {
    type Error = ScimHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let request_id = request_id(&req);
            let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
                return Err(ScimHttpError::internal(&request_id));
            };
            // `/scim/v2/{tenant}/…` names the tenant the token must belong to; the shared
            // `/scim/v2/…` names none, and the token alone decides.
            let tenant = req.match_info().get("tenant").map(str::to_owned);
            let endpoint = match tenant {
                Some(_) => ScimEndpoint::Tenant,
                None => ScimEndpoint::Shared,
            };
            let authorization = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok());
            let services = &state.services;
            let idp = IdentityProvider::recognise(
                req.headers()
                    .get(header::USER_AGENT)
                    .and_then(|value| value.to_str().ok()),
                req.query_string(),
            );
            let authenticated = match &tenant {
                Some(tenant) => {
                    services
                        .token_auth()
                        .authenticate(authorization, tenant)
                        .await
                }
                None => {
                    services
                        .token_auth()
                        .authenticate_any_tenant(authorization)
                        .await
                }
            };
            let token = match authenticated {
                Ok(Ok(token)) => token,
                Ok(Err(reason)) => {
                    // The tenant's admin sees it in the log and the connection check
                    // (bounded; by token prefix only).
                    services
                        .connection_log()
                        .rejected(tenant.as_deref(), authorization, &reason, &request_id, idp)
                        .await;
                    return Err(ScimHttpError::unauthorized(&reason, idp));
                }
                // The node's hashing pool is full: a first use of this token waits for
                // nobody; the client tries again shortly.
                Err(roster_core::Error::Busy) => return Err(ScimHttpError::busy()),
                Err(err) => {
                    tracing::error!(error = %roster_core::error::chain(&err), "token authentication failed");
                    return Err(ScimHttpError::internal(&request_id));
                }
            };
            Caller::attach(&req, token.tenant_slug().as_str(), token.display_prefix());
            services
                .admission()
                .admit(&token)
                .map_err(ScimHttpError::rate_limited)?;
            let ctx = RequestContext::for_token(&token, request_id)
                .with_idp(idp)
                .through(endpoint);
            // For the connection-test recorder around the SCIM scope (`super::record_test_calls`).
            req.extensions_mut().insert(ctx.clone());
            Ok(ScimCaller {
                ctx,
                state,
                heavy: std::sync::Mutex::new(None),
            })
        })
    }
}

impl ScimCaller {
    pub fn provisioning(&self) -> &Provisioning {
        self.state.services.provisioning()
    }

    /// Maps a service error to the response, keeping the request id.
    pub fn fail(&self, err: ProvisioningError) -> ScimHttpError {
        ScimHttpError::from_provisioning(err, self.ctx.request_id())
    }

    /// Records a failure that happened before the service was reached (a bad body, a
    /// bad query) and turns it into the response.
    pub async fn reject(&self, operation: Operation, err: ScimError) -> ScimHttpError {
        let err = ProvisioningError::Scim(err);
        self.provisioning()
            .record_failure(&self.ctx, operation, None, &err)
            .await;
        self.fail(err)
    }

    /// The request body as JSON, or the recorded failure.
    pub async fn json(&self, operation: Operation, body: &RawBody) -> Result<Value, ScimHttpError> {
        // Parsing (and checking) up to a megabyte of JSON takes milliseconds of CPU: a
        // large body is parsed off the HTTP workers.
        let parsed = if body.len() > LARGE_BODY {
            let turn = self.provisioning().heavy_turn(&self.ctx).await;
            if let Ok(mut held) = self.heavy.lock() {
                *held = Some(turn);
            }
            let body = body.clone();
            match roster_core::cpu::offload(move || body.json()).await {
                Ok(parsed) => parsed,
                Err(_) => return Err(ScimHttpError::internal(self.ctx.request_id())),
            }
        } else {
            body.json()
        };
        match parsed {
            Ok(value) => Ok(value),
            Err(err) => Err(self.reject(operation, err).await),
        }
    }
}

/// The request body, read up to the limit. Never fails to extract: problems (too large,
/// wrong media type) are reported as SCIM errors by the handler, through the caller, so
/// that they reach the provisioning log.
#[derive(Clone)]
pub struct RawBody {
    bytes: Result<web::Bytes, ScimError>,
}

/// Bodies larger than this are parsed on the blocking pool, one request of the tenant at
/// a time on this node (identity providers send a few KiB; 1,000 PATCH operations or a
/// Bulk request are tens or hundreds).
const LARGE_BODY: usize = 16 * 1024;

impl RawBody {
    pub fn len(&self) -> usize {
        self.bytes.as_ref().map(|b| b.len()).unwrap_or(0)
    }

    pub fn json(&self) -> Result<Value, ScimError> {
        let bytes = self.bytes.as_ref().map_err(Clone::clone)?;
        if bytes.is_empty() {
            return Err(ScimError::invalid_syntax(
                "the request body is empty; a JSON object is required",
            ));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|err| {
            ScimError::invalid_syntax(format!("the request body is not valid JSON: {err}"))
        })?;
        roster_scim::value::reject_nul(&value)?;
        Ok(value)
    }
}

fn acceptable_media_type(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json")
}

impl FromRequest for RawBody {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.services.provisioning().bulk_limits().max_payload_size)
            .unwrap_or(1 << 20);
        let media_ok = acceptable_media_type(req);
        let mut payload = payload.take();
        Box::pin(async move {
            use futures_util::StreamExt as _;
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let Ok(chunk) = chunk else {
                    return Ok(RawBody {
                        bytes: Err(ScimError::invalid_syntax(
                            "the request body could not be read",
                        )),
                    });
                };
                if body.len() + chunk.len() > limit {
                    return Ok(RawBody {
                        bytes: Err(ScimError::payload_too_large(format!(
                            "the request body is larger than {limit} bytes"
                        ))),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            if !media_ok {
                return Ok(RawBody {
                    bytes: Err(ScimError::new(
                        415,
                        None,
                        "Content-Type must be application/scim+json or application/json",
                    )),
                });
            }
            Ok(RawBody {
                bytes: Ok(body.freeze()),
            })
        })
    }
}
