use actix_web::dev::ServerHandle;
use roster_core::{CoreConfig, Services};
use roster_web::{Application, WebConfig};

use crate::TestDatabase;

/// The running application, its database and an HTTP client.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub port: u16,
    pub services: Services,
    pub client: reqwest::Client,
    handle: ServerHandle,
    /// Stops the webhook worker, when the test runs one.
    worker: tokio_util::sync::CancellationToken,
    // Dropped last: the server must stop before its database disappears.
    pub database: TestDatabase,
}

type ConfigureWeb = Box<dyn FnOnce(&mut WebConfig)>;

pub struct TestAppBuilder {
    configure: Vec<ConfigureWeb>,
    database: Option<TestDatabase>,
    dns: roster_core::rules::DnsSettings,
    delivery: Option<roster_core::delivery::DeliverySettings>,
    egress: roster_core::delivery::EgressPolicy,
    keyring: Option<roster_core::secrets::Keyring>,
    hashing: Option<roster_core::hashing::HashingSettings>,
    invitation_ttl: Option<std::time::Duration>,
    tenant_metrics: bool,
    tenant_defaults: roster_core::rules::ProvisioningSettings,
    clock: Option<roster_core::time::Clock>,
}

/// Starts the application on a fresh, migrated database.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            configure: Vec::new(),
            database: None,
            dns: roster_core::rules::DnsSettings::default(),
            delivery: None,
            egress: roster_core::delivery::EgressPolicy::default(),
            keyring: None,
            hashing: None,
            invitation_ttl: None,
            tenant_metrics: false,
            tenant_defaults: roster_core::rules::ProvisioningSettings::default(),
            clock: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// The operator's authority over the tenant `slug`, as the `roster` command line has
    /// it (`MembershipService::command_line_access`): what tests pass to services that
    /// take a `TenantAccess` when no admin is involved, such as creating a token.
    pub async fn command_line_access(&self, slug: &str) -> roster_core::memberships::TenantAccess {
        self.services
            .memberships()
            .command_line_access(slug)
            .await
            .unwrap()
            .unwrap()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&self) {
        self.worker.cancel();
        self.handle.stop(true).await;
    }
}

impl TestAppBuilder {
    /// Adjusts the web configuration before the server starts.
    pub fn web_config(mut self, f: impl FnOnce(&mut WebConfig) + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// Sends trusted-domain verification lookups to this nameserver (a test's DNS
    /// server on loopback).
    pub fn dns_nameserver(mut self, addr: std::net::SocketAddr) -> Self {
        self.dns.nameserver = Some(addr);
        self.dns.timeout = Some(std::time::Duration::from_secs(2));
        self
    }

    /// Runs the webhook delivery worker with these settings (tests shorten the delays).
    pub fn delivery(mut self, settings: roster_core::delivery::DeliverySettings) -> Self {
        self.delivery = Some(settings);
        self
    }

    /// Lets webhooks reach these networks (`ROSTER_WEBHOOK_ALLOWED_NETWORKS`). By default
    /// the app refuses private addresses, as a node does.
    pub fn webhook_allowed_networks(mut self, list: &str) -> Self {
        self.egress = roster_core::delivery::EgressPolicy::parse(list).unwrap();
        self
    }

    /// Lets webhooks reach the test receivers ([`crate::Receiver`], on 127.0.0.1): the
    /// operator's opt-in for a product on the same host.
    pub fn allow_local_receivers(self) -> Self {
        self.webhook_allowed_networks(crate::LOCAL_RECEIVERS)
    }

    /// Seals stored secrets with these keys instead of [`crate::test_keyring`].
    pub fn keyring(mut self, keyring: roster_core::secrets::Keyring) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// Bounds the node's argon2 pool (tests of the "try again" answer make it tiny).
    pub fn hashing(mut self, settings: roster_core::hashing::HashingSettings) -> Self {
        self.hashing = Some(settings);
        self
    }

    /// How long invitation links work.
    pub fn invitation_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.invitation_ttl = Some(ttl);
        self
    }

    /// Believes `X-Forwarded-For` from these proxies (e.g. `127.0.0.1/32`, so that a test
    /// can speak for several client addresses).
    pub fn trusted_proxies(self, networks: &str) -> Self {
        let proxies = roster_web::TrustedProxies::parse(networks).unwrap();
        self.web_config(move |config| config.trusted_proxies = proxies)
    }

    /// Turns the shared SCIM base URL (`/scim/v2`) off, as `ROSTER_SCIM_SHARED_URL=false`.
    pub fn without_shared_scim_url(self) -> Self {
        self.web_config(|config| config.scim_shared_url = false)
    }

    /// Labels metrics with the tenant (`ROSTER_METRICS_TENANT_LABELS=true`).
    pub fn tenant_metrics(mut self) -> Self {
        self.tenant_metrics = true;
        self
    }

    /// The configuration's defaults for new tenants (`ROSTER_TENANT_…`).
    pub fn tenant_defaults(mut self, settings: roster_core::rules::ProvisioningSettings) -> Self {
        self.tenant_defaults = settings;
        self
    }

    /// The services read the time from `clock` (a manual one, which the test moves)
    /// instead of the system's.
    pub fn clock(mut self, clock: roster_core::time::Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses the given database instead of a fresh one (several nodes, restarts).
    pub fn database(mut self, database: TestDatabase) -> Self {
        self.database = Some(database);
        self
    }

    pub async fn spawn(self) -> TestApp {
        let database = match self.database {
            Some(database) => database,
            None => TestDatabase::new().await,
        };
        let mut db = database.migrated().await;
        if let Some(clock) = self.clock.clone() {
            db = db.with_clock(clock);
        }
        let mut config = WebConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: url::Url::parse("http://127.0.0.1").unwrap(),
            cookie_secure: roster_web::CookieSecure::Auto,
            session_ttl: std::time::Duration::from_secs(3600),
            session_idle_timeout: std::time::Duration::from_secs(3600),
            shutdown_timeout: std::time::Duration::from_secs(5),
            workers: Some(2),
            trusted_proxies: roster_web::TrustedProxies::default(),
            scim_shared_url: true,
        };
        for f in self.configure {
            f(&mut config);
        }
        // The public URL must carry the real port, known only once bound.
        let listener = std::net::TcpListener::bind(config.listen).unwrap();
        let port = listener.local_addr().unwrap().port();
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if config.public_url.port().is_none() && config.public_url.host_str() == Some("127.0.0.1") {
            config.public_url = url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        }
        let services = Services::new(
            db,
            CoreConfig {
                public_url: config.public_url.as_str().trim_end_matches('/').to_owned(),
                default_scim_rate_limit: 0,
                dns: self.dns,
                delivery: self.delivery.clone().unwrap_or_default(),
                egress: self.egress,
                keyring: self.keyring.unwrap_or_else(crate::test_keyring),
                invitation_ttl: self
                    .invitation_ttl
                    .unwrap_or(roster_core::invitations::DEFAULT_TTL),
                hashing: self.hashing.unwrap_or_default(),
                scim_rate_burst_secs: roster_core::services::DEFAULT_SCIM_RATE_BURST_SECS,
                tenant_metrics: self.tenant_metrics,
                tenant_defaults: self.tenant_defaults,
            },
        );
        let worker = tokio_util::sync::CancellationToken::new();
        if self.delivery.is_some() {
            tokio::spawn(services.delivery_worker().run(worker.clone()));
        }
        // As every node: large tenants' host re-evaluations run in the background.
        tokio::spawn(services.host_job_worker().run(worker.clone()));
        let application = Application::from_listener(listener, config, services.clone()).unwrap();
        let handle = application.handle();
        tokio::spawn(application.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            services,
            client: {
                roster_core::delivery::install_crypto_provider();
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap()
            },
            handle,
            worker,
            database,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.worker.cancel();
    }
}
