//! The HTTP surface: the actix-web application with its SCIM, admin and API routes and
//! the middleware around them.
//!
//! Architecture invariant: handlers are thin — extract, call one service of
//! `roster-core`, map the result. No SQL and no business rules live here; only this crate
//! knows actix-web.

mod admin;
mod api;
mod client;
mod health;
mod metrics;
mod scim;
mod telemetry;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use roster_core::Services;
use tracing_actix_web::TracingLogger;
use url::Url;

pub use client::TrustedProxies;
pub use metrics::Metrics;

/// Whether cookies carry the `Secure` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieSecure {
    /// Secure when the public URL is `https://`.
    Auto,
    Always,
    Never,
}

/// What the web layer needs to know, built by the binary from its configuration.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Where to listen; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// The externally visible base URL, e.g. `https://roster.example.com`.
    pub public_url: Url,
    pub cookie_secure: CookieSecure,
    pub session_ttl: Duration,
    pub session_idle_timeout: Duration,
    /// How long in-flight requests may take to finish after a shutdown signal.
    pub shutdown_timeout: Duration,
    /// Worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// Proxies whose `X-Forwarded-For` names the client (sign-in throttling).
    pub trusted_proxies: TrustedProxies,
    /// Whether `/scim/v2` itself serves SCIM, the token deciding the tenant
    /// (`ROSTER_SCIM_SHARED_URL`); off, its paths answer 404.
    pub scim_shared_url: bool,
}

/// Shared state of the application.
#[derive(Clone)]
pub(crate) struct AppState {
    pub services: Services,
    pub config: WebConfig,
    pub readiness: Readiness,
}

/// Whether this node should receive new traffic. It stops being ready when its shutdown
/// begins, before the listener closes, so that a load balancer polling `/readyz` (a
/// Kubernetes readiness probe) takes it out first. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
}

impl Readiness {
    /// From now on `/readyz` answers 503 ("shutting down").
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    readiness: Readiness,
}

impl Application {
    /// Binds the listening socket and builds the server. Binding happens here so that
    /// callers (tests, the binary) know the port before the server runs.
    pub fn build(config: WebConfig, services: Services) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.listen)?;
        Self::from_listener(listener, config, services)
    }

    /// Builds the server on a socket bound by the caller (tests bind port 0 first, to
    /// put the real port into the public URL).
    pub fn from_listener(
        listener: TcpListener,
        config: WebConfig,
        services: Services,
    ) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let metrics = Metrics::new(&services).map_err(std::io::Error::other)?;
        let readiness = Readiness::default();
        let state = AppState {
            services,
            config: config.clone(),
            readiness: readiness.clone(),
        };
        let shared_scim_url = config.scim_shared_url;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(web::Data::new(metrics.clone()))
                .wrap(security_headers())
                .wrap(from_fn(metrics::record))
                .wrap(from_fn(telemetry::access_log))
                .wrap(from_fn(telemetry::request_id_header))
                .wrap(TracingLogger::<telemetry::RosterRootSpan>::new())
                .configure(health::routes)
                .configure(|cfg| scim::routes(cfg, shared_scim_url))
                .configure(api::routes)
                .configure(admin::routes)
        })
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .listen(listener)?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            readiness,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The switch `/readyz` reads: flip it when shutdown begins.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// A handle to stop the server gracefully from elsewhere (a signal, a test).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped through the handle; in-flight requests finish within the
    /// configured shutdown timeout.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
}
