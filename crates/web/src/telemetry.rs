//! One span per request, carrying a request id that is also returned as `X-Request-Id`,
//! and one log line when the request is answered (the access log).
//!
//! The span and the line record the route template, never the raw path or query string:
//! SCIM paths carry ids, query strings carry filters with user names and emails, and
//! bodies carry everything — none of which may reach the logs. What identifies the caller
//! is the tenant's slug and the token's public prefix (`rst_<16 hex>`), which the
//! authenticating extractors leave in the request's extensions as a [`Caller`].

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

pub(crate) struct RosterRootSpan;

impl RootSpanBuilder for RosterRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!(
            "http.request",
            request.id = %request_id,
            http.method = crate::metrics::method_label(request.method()),
            http.route = %route,
            http.status_code = tracing::field::Empty,
            tenant = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Copies the request id chosen by `TracingLogger` into the response.
pub(crate) async fn request_id_header(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string);
    let mut response = next.call(request).await?;
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// Who made an authenticated request: set by the SCIM and API extractors, read by the
/// access log and the metrics.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The tenant's slug.
    pub tenant: String,
    /// The token's public prefix (`rst_…`, `rak_…`), never its secret.
    pub token: String,
}

impl Caller {
    /// Records the caller on the request (for the access log and the metrics) and its
    /// tenant on the request's span.
    pub(crate) fn attach(req: &actix_web::HttpRequest, tenant: &str, token: &str) {
        tracing::Span::current().record("tenant", tenant);
        req.extensions_mut().insert(Caller {
            tenant: tenant.to_owned(),
            token: token.to_owned(),
        });
    }
}

/// Routes polled by probes and scrapers: their lines are logged at debug, so that a
/// health check every few seconds does not drown the requests that matter.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// One line per answered request: method, route template, status, latency, tenant,
/// token prefix and (from the span) the request id. Never the path, the query string,
/// a header or a body.
pub(crate) async fn access_log(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let method = request.method().clone();
    let response = next.call(request).await?;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let caller = response.request().extensions().get::<Caller>().cloned();
    let (tenant, token) = caller.map_or((String::new(), String::new()), |caller| {
        (caller.tenant, caller.token)
    });
    // A method outside the standard ones is client input: logged as `OTHER`.
    let method = crate::metrics::method_label(&method);
    if PROBES.contains(&route.as_str()) {
        tracing::debug!(
            http.method = method,
            request.id = %request_id,
            http.route = %route,
            http.status_code = status,
            latency_ms,
            tenant = %tenant,
            token = %token,
            "request answered"
        );
    } else {
        tracing::info!(
            http.method = method,
            request.id = %request_id,
            http.route = %route,
            http.status_code = status,
            latency_ms,
            tenant = %tenant,
            token = %token,
            "request answered"
        );
    }
    Ok(response)
}
