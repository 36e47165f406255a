//! The one entry point the web layer and the CLI hold.

use std::sync::Arc;

use crate::Database;
use crate::admins::AdminService;
use crate::directory::DirectoryService;
use crate::memberships::MembershipService;
use crate::provisioning::{Provisioning, ScimSettings};
use crate::rate_limit::RateLimiter;
use crate::rules::{DnsSettings, DomainVerifier, RulesCache, RulesService};
use crate::sessions::SessionService;
use crate::tenants::TenantService;
use crate::token_auth::TokenAuthenticator;
use crate::tokens::TokenService;

/// Settings the services need from the configuration.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The externally visible base URL, e.g. `https://roster.example.com`.
    pub public_url: String,
    /// SCIM requests per second per token when the tenant sets no limit; 0 = unlimited.
    pub default_scim_rate_limit: u32,
    /// Where trusted-domain verification looks TXT records up.
    pub dns: DnsSettings,
}

impl CoreConfig {
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            default_scim_rate_limit: 100,
            dns: DnsSettings::default(),
        }
    }
}

/// Every service, sharing one database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Services {
    db: Database,
    config: Arc<CoreConfig>,
    tenants: TenantService,
    admins: AdminService,
    tokens: TokenService,
    token_auth: TokenAuthenticator,
    rate_limiter: Arc<RateLimiter>,
    provisioning: Provisioning,
    sessions: SessionService,
    memberships: MembershipService,
    directory: DirectoryService,
    rules: RulesService,
}

impl Services {
    pub fn new(db: Database, config: CoreConfig) -> Self {
        // One snapshot cache per node, shared by the provisioning service (which reads
        // it on every write) and the rules service (which drops entries it changed).
        let rules_cache = RulesCache::new(db.clone());
        Self {
            rules: RulesService::new(
                db.clone(),
                rules_cache.clone(),
                DomainVerifier::new(&config.dns),
            ),
            tenants: TenantService::new(db.clone()),
            admins: AdminService::new(db.clone()),
            tokens: TokenService::new(db.clone()),
            token_auth: TokenAuthenticator::new(db.clone()),
            rate_limiter: Arc::new(RateLimiter::new()),
            provisioning: Provisioning::new(
                db.clone(),
                ScimSettings::new(&config.public_url),
                rules_cache,
            ),
            config: Arc::new(config),
            sessions: SessionService::new(db.clone()),
            memberships: MembershipService::new(db.clone()),
            directory: DirectoryService::new(db.clone()),
            db,
        }
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
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

    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.rate_limiter
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

    pub fn directory(&self) -> &DirectoryService {
        &self.directory
    }

    pub fn rules(&self) -> &RulesService {
        &self.rules
    }
}
