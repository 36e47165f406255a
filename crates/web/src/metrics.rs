//! Prometheus metrics (`/metrics`): requests by method, route template and status; SCIM
//! outcomes by operation and `scimType`; 429s; the services' counters (webhook attempts,
//! token checks, the write queue — `roster_core::metrics`); gauges read when scraped
//! (the outbox, the delivery backlog, the database pools); the process (CPU, memory, file
//! descriptors); and `roster_build_info`.
//!
//! Every label value comes from a small closed set, whatever a client sends: a method is
//! one of the standard ones or `OTHER`, a route is a template of the route table or
//! `unmatched`, a status is one this application answers, an operation or `scimType` one
//! of SCIM's. A client that invents methods or paths therefore cannot grow the
//! exposition (each new label set costs a counter and a histogram for as long as the
//! process lives). A `tenant` label exists only when the operator opts in
//! (`ROSTER_METRICS_TENANT_LABELS`): tenants are few and created by operators, but their
//! number is not bounded by the code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use roster_core::Services;
use roster_core::metrics::{Backlog, backlog, pool_stats};

use crate::telemetry::Caller;

/// How long a scrape reuses the database gauges of the one before: scraping often (or
/// an anonymous client requesting `/metrics` in a loop) costs the database at most a few
/// indexed counts a second.
const BACKLOG_TTL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    tenant_labels: bool,
    requests: IntCounterVec,
    latency: HistogramVec,
    scim: IntCounterVec,
    rate_limited: IntCounterVec,
    unsequenced: IntGauge,
    outbox_lag: Gauge,
    deliveries: IntGaugeVec,
    oldest_pending: Gauge,
    pools: IntGaugeVec,
    backlog: tokio::sync::Mutex<Option<(Instant, Backlog)>>,
}

/// The scimType label of a SCIM error answer, put in the response's extensions by the
/// SCIM error type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScimTypeLabel(pub &'static str);

impl Metrics {
    /// The registry of one application: its HTTP metrics and the services' metrics.
    pub fn new(services: &Services) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let tenant_labels = services.config().tenant_metrics;
        let with_tenant = |labels: &[&'static str]| -> Vec<&'static str> {
            let mut labels = labels.to_vec();
            if tenant_labels {
                labels.push("tenant");
            }
            labels
        };
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("roster_http_requests_total", "HTTP requests answered"),
            &labels,
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "roster_http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &labels,
        )?;
        let scim = IntCounterVec::new(
            Opts::new(
                "roster_scim_requests_total",
                "SCIM requests by operation, resource, status and scimType (empty when none)",
            ),
            &with_tenant(&["operation", "resource", "status", "scim_type"]),
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "roster_rate_limited_total",
                "Requests refused with 429 because their token was over its rate, by surface (scim, api)",
            ),
            &with_tenant(&["surface"]),
        )?;
        let unsequenced = IntGauge::new(
            "roster_outbox_unsequenced_events",
            "Events committed but not yet numbered by the sequencer (not yet visible to webhooks and the events API)",
        )?;
        let outbox_lag = Gauge::new(
            "roster_outbox_lag_seconds",
            "Age of the oldest event the sequencer has not numbered yet; 0 when it is up to date",
        )?;
        let deliveries = IntGaugeVec::new(
            Opts::new(
                "roster_webhook_deliveries",
                "Webhook deliveries in the database by status: pending (waiting to be sent or retried), failed (gave up; redeliverable)",
            ),
            &["status"],
        )?;
        let oldest_pending = Gauge::new(
            "roster_webhook_oldest_pending_seconds",
            "Age of the oldest pending webhook delivery; 0 when none is pending",
        )?;
        let pools = IntGaugeVec::new(
            Opts::new(
                "roster_db_pool_connections",
                "Database connections by pool (SQLite: write, read; PostgreSQL: main) and state (in_use, idle, max)",
            ),
            &["pool", "state"],
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "roster_build_info",
                "Always 1; the version of the running binary is its label",
            ),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(scim.clone()),
            Box::new(rate_limited.clone()),
            Box::new(unsequenced.clone()),
            Box::new(outbox_lag.clone()),
            Box::new(deliveries.clone()),
            Box::new(oldest_pending.clone()),
            Box::new(pools.clone()),
            Box::new(build_info),
        ] {
            registry.register(collector)?;
        }
        for collector in services.metric_collectors() {
            registry.register(collector)?;
        }
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            inner: Arc::new(Inner {
                registry,
                tenant_labels,
                requests,
                latency,
                scim,
                rate_limited,
                unsequenced,
                outbox_lag,
                deliveries,
                oldest_pending,
                pools,
                backlog: tokio::sync::Mutex::new(None),
            }),
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        if let Ok(counter) = self.inner.requests.get_metric_with_label_values(&labels) {
            counter.inc();
        }
        if let Ok(histogram) = self.inner.latency.get_metric_with_label_values(&labels) {
            histogram.observe(seconds);
        }
    }

    /// Labels with the tenant appended when the operator asked for it.
    fn labelled<'a>(&self, mut labels: Vec<&'a str>, tenant: Option<&'a str>) -> Vec<&'a str> {
        if self.inner.tenant_labels {
            labels.push(tenant.unwrap_or(""));
        }
        labels
    }

    fn observe_scim(
        &self,
        method: &Method,
        route: &str,
        status: u16,
        scim_type: &str,
        tenant: Option<&str>,
    ) {
        let Some((operation, resource)) = scim_operation(method, route) else {
            return;
        };
        let status = status.to_string();
        let labels = self.labelled(vec![operation, resource, &status, scim_type], tenant);
        if let Ok(counter) = self.inner.scim.get_metric_with_label_values(&labels) {
            counter.inc();
        }
    }

    fn observe_rate_limited(&self, surface: &str, tenant: Option<&str>) {
        let labels = self.labelled(vec![surface], tenant);
        if let Ok(counter) = self
            .inner
            .rate_limited
            .get_metric_with_label_values(&labels)
        {
            counter.inc();
        }
    }

    /// Reads the database gauges (at most every [`BACKLOG_TTL`]) and the pools.
    pub(crate) async fn refresh(&self, services: &Services) {
        let backlog = {
            let mut cached = self.inner.backlog.lock().await;
            match *cached {
                Some((at, backlog)) if at.elapsed() < BACKLOG_TTL => Some(backlog),
                _ => match backlog(services.db()).await {
                    Ok(backlog) => {
                        *cached = Some((Instant::now(), backlog));
                        Some(backlog)
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "reading the outbox for /metrics failed");
                        None
                    }
                },
            }
        };
        if let Some(backlog) = backlog {
            let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            self.inner
                .unsequenced
                .set(count(backlog.unsequenced_events));
            self.inner.outbox_lag.set(backlog.outbox_lag_seconds);
            self.inner
                .oldest_pending
                .set(backlog.oldest_pending_seconds);
            for (status, value) in [
                ("pending", backlog.pending_deliveries),
                ("failed", backlog.failed_deliveries),
            ] {
                if let Ok(gauge) = self
                    .inner
                    .deliveries
                    .get_metric_with_label_values(&[status])
                {
                    gauge.set(count(value));
                }
            }
        }
        for pool in pool_stats(services.db()) {
            let in_use = pool.open.saturating_sub(pool.idle);
            for (state, value) in [("in_use", in_use), ("idle", pool.idle), ("max", pool.max)] {
                if let Ok(gauge) = self
                    .inner
                    .pools
                    .get_metric_with_label_values(&[pool.pool, state])
                {
                    gauge.set(i64::from(value));
                }
            }
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut buffer) {
            tracing::error!(error = %err, "encoding metrics failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

pub(crate) async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let method = request.method().clone();
    let response = next.call(request).await?;
    if let Some(metrics) = metrics {
        // The route template (`/scim/v2/{tenant}/Users/{id}`, `/scim/v2/Users/{id}` on the
        // shared URL), not the path: bounded
        // label values, and no user data in metrics.
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| UNMATCHED.to_owned());
        let status = response.status().as_u16();
        metrics.observe(
            method_label(&method),
            &route,
            status,
            started.elapsed().as_secs_f64(),
        );
        let caller = response.request().extensions().get::<Caller>().cloned();
        let tenant = caller.as_ref().map(|caller| caller.tenant.as_str());
        if route.starts_with(SCIM_SCOPE) {
            let scim_type = response
                .response()
                .extensions()
                .get::<ScimTypeLabel>()
                .map_or("", |label| label.0);
            metrics.observe_scim(&method, &route, status, scim_type, tenant);
        }
        if status == 429 {
            let surface = if route.starts_with(SCIM_SCOPE) {
                "scim"
            } else if route.starts_with("/api/") {
                "api"
            } else {
                "other"
            };
            metrics.observe_rate_limited(surface, tenant);
        }
    }
    Ok(response)
}

/// The route label of a request that matched no route.
const UNMATCHED: &str = "unmatched";

/// Where the SCIM routes live: the shared base URL, and each tenant's below it.
const SCIM_SCOPE: &str = "/scim/v2";
const TENANT_SCOPE: &str = "/scim/v2/{tenant}";

/// The SCIM operation and resource of a route template, `None` outside the SCIM scope.
/// The two base URLs name their operations alike; the route label tells them apart.
fn scim_operation(method: &Method, route: &str) -> Option<(&'static str, &'static str)> {
    let rest = route
        .strip_prefix(TENANT_SCOPE)
        .or_else(|| route.strip_prefix(SCIM_SCOPE))?;
    let (resource, rest) = if let Some(rest) = rest.strip_prefix("/Users") {
        ("users", rest)
    } else if let Some(rest) = rest.strip_prefix("/Groups") {
        ("groups", rest)
    } else {
        ("", rest)
    };
    let operation = match (resource, rest, method) {
        ("", "/.search", _) | (_, "/.search", _) => "search",
        ("", "/Bulk", _) => "bulk",
        ("", "/Me", _) => "me",
        ("", path, _)
            if path.starts_with("/ServiceProviderConfig")
                || path.starts_with("/ResourceTypes")
                || path.starts_with("/Schemas") =>
        {
            "discovery"
        }
        (_, "", &Method::GET) if !resource.is_empty() => "list",
        (_, "", &Method::POST) if !resource.is_empty() => "create",
        (_, "/{id}", &Method::GET) => "get",
        (_, "/{id}", &Method::PUT) => "replace",
        (_, "/{id}", &Method::PATCH) => "patch",
        (_, "/{id}", &Method::DELETE) => "delete",
        _ => "other",
    };
    Some((operation, resource))
}

/// The method as a label: the standard methods as they are, anything else `OTHER`
/// (methods are case-sensitive tokens, so `get` is not `GET`).
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unknown_methods_collapse_into_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for raw in ["get", "PROPFIND", "X-RANDOM-1", "BREW"] {
            let method = Method::from_bytes(raw.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "OTHER", "{raw}");
        }
    }

    #[test]
    fn scim_routes_name_their_operation() {
        let op = |method: Method, route: &str| scim_operation(&method, route);
        assert_eq!(
            op(Method::POST, "/scim/v2/{tenant}/Users"),
            Some(("create", "users"))
        );
        assert_eq!(
            op(Method::GET, "/scim/v2/{tenant}/Groups"),
            Some(("list", "groups"))
        );
        assert_eq!(
            op(Method::PATCH, "/scim/v2/{tenant}/Groups/{id}"),
            Some(("patch", "groups"))
        );
        assert_eq!(
            op(Method::POST, "/scim/v2/{tenant}/Users/.search"),
            Some(("search", "users"))
        );
        assert_eq!(
            op(Method::POST, "/scim/v2/{tenant}/Bulk"),
            Some(("bulk", ""))
        );
        assert_eq!(
            op(Method::GET, "/scim/v2/{tenant}/Schemas/{urn}"),
            Some(("discovery", ""))
        );
        assert_eq!(
            op(Method::TRACE, "/scim/v2/{tenant}/Users/{id}"),
            Some(("other", "users"))
        );
        assert_eq!(op(Method::GET, "/api/v1/users"), None);
        // The shared base URL names the same operations.
        assert_eq!(
            op(Method::POST, "/scim/v2/Users"),
            Some(("create", "users"))
        );
        assert_eq!(
            op(Method::DELETE, "/scim/v2/Groups/{id}"),
            Some(("delete", "groups"))
        );
        assert_eq!(op(Method::POST, "/scim/v2/.search"), Some(("search", "")));
        assert_eq!(op(Method::POST, "/scim/v2/Bulk"), Some(("bulk", "")));
        assert_eq!(
            op(Method::GET, "/scim/v2/ServiceProviderConfig"),
            Some(("discovery", ""))
        );
    }
}
