//! The one entry point the web layer and the CLI hold.

use std::sync::Arc;

use crate::Database;
use crate::admins::AdminService;
use crate::api::ApiService;
use crate::audit::AuditService;
use crate::connection_log::ConnectionLog;
use crate::delivery::{
    DeliverySettings, DeliveryWorker, EgressPolicy, SecretsAtRest, WebhookService,
};
use crate::directory::DirectoryService;
use crate::hashing::{Hasher, HashingSettings};
use crate::invitations::InvitationService;
use crate::memberships::MembershipService;
use crate::metrics::CoreMetrics;
use crate::provisioning::{Provisioning, ScimSettings};
use crate::rate_limit::{Admission, RateLimiter};
use crate::rules::{
    DnsSettings, DomainVerifier, HostJobWorker, ProvisioningSettings, RulesCache, RulesService,
    TenantDefaultsService,
};
use crate::secrets::Keyring;
use crate::sessions::SessionService;
use crate::setup_links::SetupLinkService;
use crate::tenants::TenantService;
use crate::token_auth::TokenAuthenticator;
use crate::tokens::{TokenKind, TokenService};

/// SCIM (and API) requests per second per token when neither the tenant nor the operator
/// sets a rate: a steady sync of a large directory (Entra asks a SCIM service to take 25
/// a second) with room to spare.
pub const DEFAULT_SCIM_RATE_LIMIT: u32 = 100;
/// Seconds of the rate a token may spend at once (its bucket): 1,000 requests at the
/// default rate, so that an Okta import, Entra's first cycle or a conformance suite
/// (scim2-tester sends about 700 requests in a few seconds) pass without a 429.
pub const DEFAULT_SCIM_RATE_BURST_SECS: u32 = 10;

/// Settings the services need from the configuration.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The externally visible base URL, e.g. `https://roster.example.com`.
    pub public_url: String,
    /// SCIM requests per second per token when the tenant sets no limit; 0 = unlimited.
    pub default_scim_rate_limit: u32,
    /// Where trusted-domain verification looks TXT records up.
    pub dns: DnsSettings,
    /// How webhooks are delivered.
    pub delivery: DeliverySettings,
    /// Where webhooks may go.
    pub egress: EgressPolicy,
    /// The keys that seal secrets stored in the database (webhook signing secrets).
    pub keyring: Keyring,
    /// How long an admin invitation link works.
    pub invitation_ttl: std::time::Duration,
    /// The node's bound on argon2 work.
    pub hashing: HashingSettings,
    /// Seconds of its rate a token may spend at once (the size of its bucket).
    pub scim_rate_burst_secs: u32,
    /// Whether metrics carry a `tenant` label (`ROSTER_METRICS_TENANT_LABELS`).
    pub tenant_metrics: bool,
    /// The settings a new tenant starts with, unless an operator saved others in the
    /// admin UI (`ROSTER_TENANT_…`).
    pub tenant_defaults: ProvisioningSettings,
}

impl CoreConfig {
    /// The defaults, with the keys of this deployment.
    pub fn new(public_url: impl Into<String>, keyring: Keyring) -> Self {
        Self {
            public_url: public_url.into(),
            default_scim_rate_limit: DEFAULT_SCIM_RATE_LIMIT,
            dns: DnsSettings::default(),
            delivery: DeliverySettings::default(),
            egress: EgressPolicy::default(),
            keyring,
            invitation_ttl: crate::invitations::DEFAULT_TTL,
            hashing: HashingSettings::default(),
            scim_rate_burst_secs: DEFAULT_SCIM_RATE_BURST_SECS,
            tenant_metrics: false,
            tenant_defaults: ProvisioningSettings::default(),
        }
    }
}

/// Every service, sharing one database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    db: Database,
    config: Arc<CoreConfig>,
    hasher: Hasher,
    tenants: TenantService,
    admins: AdminService,
    tokens: TokenService,
    api_keys: TokenService,
    token_auth: TokenAuthenticator,
    api_key_auth: TokenAuthenticator,
    admission: Arc<Admission>,
    provisioning: Provisioning,
    sessions: SessionService,
    memberships: MembershipService,
    invitations: InvitationService,
    directory: DirectoryService,
    api: ApiService,
    rules: RulesService,
    tenant_defaults: TenantDefaultsService,
    webhooks: WebhookService,
    metrics: CoreMetrics,
    audit: AuditService,
    setup_links: SetupLinkService,
    connection_log: ConnectionLog,
}

impl Services {
    /// The node's clock, which every service reads (tests move it; see `time::Clock`).
    pub fn clock(&self) -> &crate::time::Clock {
        self.db.clock()
    }

    pub fn new(db: Database, config: CoreConfig) -> Self {
        // One snapshot cache per node, shared by the provisioning service (which reads
        // it on every write) and the rules service (which drops entries it changed).
        let rules_cache = RulesCache::new(db.clone());
        // One hashing pool per node: every argon2 computation is bounded by it.
        let hasher = Hasher::new(config.hashing);
        let metrics = CoreMetrics::new(config.tenant_metrics);
        let token_auth = TokenAuthenticator::new(db.clone(), hasher.clone(), metrics.clone());
        let provisioning = Provisioning::new(
            db.clone(),
            ScimSettings::new(&config.public_url),
            rules_cache.clone(),
        );
        let tenant_defaults = TenantDefaultsService::new(db.clone(), config.tenant_defaults);
        Self {
            rules: RulesService::new(
                db.clone(),
                rules_cache,
                DomainVerifier::new(&config.dns),
                provisioning.clone(),
            ),
            tenants: TenantService::new(db.clone(), tenant_defaults.clone()),
            tenant_defaults,
            admins: AdminService::new(db.clone(), hasher.clone()),
            tokens: TokenService::new(db.clone(), hasher.clone()),
            api_keys: TokenService::of_kind(db.clone(), hasher.clone(), TokenKind::Api),
            api_key_auth: token_auth.for_kind(TokenKind::Api),
            token_auth,
            admission: Arc::new(Admission::new(
                RateLimiter::with_burst_seconds(f64::from(config.scim_rate_burst_secs)),
                config.default_scim_rate_limit,
            )),
            provisioning,
            config: Arc::new(config.clone()),
            sessions: SessionService::new(db.clone(), hasher.clone()),
            memberships: MembershipService::new(db.clone()),
            invitations: InvitationService::new(db.clone(), hasher.clone(), config.invitation_ttl),
            directory: DirectoryService::new(db.clone()),
            api: ApiService::new(db.clone()),
            webhooks: WebhookService::new(
                db.clone(),
                &config.delivery,
                Arc::new(config.egress.clone()),
                config.keyring.clone(),
            ),
            audit: AuditService::new(db.clone()),
            setup_links: SetupLinkService::new(db.clone()),
            connection_log: ConnectionLog::new(db.clone()),
            hasher,
            metrics,
            db,
        }
    }

    /// The services' counters, and the write queue's, to register for `/metrics`.
    pub fn metrics(&self) -> &CoreMetrics {
        &self.metrics
    }

    /// Every metric of the services and the database, to register in the registry
    /// `/metrics` exposes.
    pub fn metric_collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        let mut all = self.metrics.collectors();
        all.extend(self.db.write_queue().collectors());
        all
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// The node's argon2 pool (its counters prove bounds in tests).
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    pub fn tenants(&self) -> &TenantService {
        &self.tenants
    }

    pub fn admins(&self) -> &AdminService {
        &self.admins
    }

    pub fn tokens(&self) -> &TokenService {
        &self.tokens
    }

    pub fn token_auth(&self) -> &TokenAuthenticator {
        &self.token_auth
    }

    /// The tenant's API keys (events and directory API), kept apart from SCIM tokens.
    pub fn api_keys(&self) -> &TokenService {
        &self.api_keys
    }

    /// Authenticates API keys; never accepts a SCIM token.
    pub fn api_key_auth(&self) -> &TokenAuthenticator {
        &self.api_key_auth
    }

    /// The per-token rate limits every authenticated request passes (SCIM and API).
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    pub fn provisioning(&self) -> &Provisioning {
        &self.provisioning
    }

    pub fn sessions(&self) -> &SessionService {
        &self.sessions
    }

    pub fn memberships(&self) -> &MembershipService {
        &self.memberships
    }

    /// Invitations of tenant admins (links that expire, can be revoked, are used once).
    pub fn invitations(&self) -> &InvitationService {
        &self.invitations
    }

    pub fn directory(&self) -> &DirectoryService {
        &self.directory
    }

    /// The events and directory API's read side.
    pub fn api(&self) -> &ApiService {
        &self.api
    }

    pub fn rules(&self) -> &RulesService {
        &self.rules
    }

    /// The operator's defaults for new tenants.
    pub fn tenant_defaults(&self) -> &TenantDefaultsService {
        &self.tenant_defaults
    }

    pub fn webhooks(&self) -> &WebhookService {
        &self.webhooks
    }

    /// The audit log's read side (rows are written by each service, in its change's
    /// transaction).
    pub fn audit(&self) -> &AuditService {
        &self.audit
    }

    /// Setup links and the sessions they open.
    pub fn setup_links(&self) -> &SetupLinkService {
        &self.setup_links
    }

    /// Refused SCIM requests and connection tests, for the log and the connection check.
    pub fn connection_log(&self) -> &ConnectionLog {
        &self.connection_log
    }

    /// The webhook delivery worker of this node (spawned by `roster serve`).
    pub fn delivery_worker(&self) -> DeliveryWorker {
        DeliveryWorker::new(
            self.db.clone(),
            self.config.delivery.clone(),
            Arc::new(self.config.egress.clone()),
            self.config.keyring.clone(),
            self.metrics.clone(),
        )
    }

    /// The worker that re-evaluates users' hosts after locations, kiosks or mapping
    /// rules changed (spawned by `roster serve` on every node).
    pub fn host_job_worker(&self) -> HostJobWorker {
        HostJobWorker::new(self.db.clone(), self.provisioning.clone())
    }

    /// The stored signing secrets as a whole: sealing at startup, key rotation.
    pub fn secrets_at_rest(&self) -> SecretsAtRest {
        SecretsAtRest::new(self.db.clone(), self.config.keyring.clone())
    }
}
