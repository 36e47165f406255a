//! Tenant rules: what each tenant decides about what its identity provider pushes —
//! provisioning settings, trusted domains, custom attributes, the notification catalogue,
//! locations with kiosks and mapping rules.
//!
//! The provisioning service applies them on every write, so it reads them from
//! [`RulesCache`]: one immutable [`TenantRules`] snapshot per tenant and node, with the
//! tenant's [`SchemaRegistry`] built once. A snapshot is trusted for
//! [`REVALIDATE_AFTER`]; after that one indexed read of `tenants.rules_version` tells
//! whether another node changed anything (every change bumps it in its own transaction),
//! and only then are the rule tables read again. So a change made on any node applies on
//! every node within about a second, and the hot path costs no query at all.
//!
//! Architecture invariant: rules are changed only through [`RulesService`], which bumps
//! the version in the same transaction as the change and drops this node's snapshot.
//! A change of locations, kiosks or mapping rules also re-evaluates where users are
//! hosts ([`rehost`]): the first users in the change's own transaction, the rest in
//! the background under a durable job.

mod custom;
mod defaults;
mod domains;
mod mapping;
mod notifications;
mod places;
mod preview;
mod rehost;
mod service;
mod settings;
mod view;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use roster_scim::schema::SchemaRegistry;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::store::rules::{rule_rows, rules_version};

pub use custom::{AttributeName, AttributeType, CustomAttributeDef, NewAttribute};
pub(crate) use custom::{hide_undefined, keep_undefined};
pub use defaults::{DefaultsSource, TenantDefaults, TenantDefaultsService};
pub use domains::{
    DnsSettings, DomainVerifier, EmailDomain, TXT_PREFIX, TrustedDomain, Verification,
    VerifyOutcome,
};
pub(crate) use mapping::uuid_list;
pub use mapping::{
    Hosts, Kiosk, KioskName, Location, LocationCode, LocationName, MappingRule, MatchKind,
    MatchValues, NewRule, RulePath, TimeZoneName,
};
pub(crate) use notifications::parse_channels;
pub use notifications::{
    Channel, NotificationKey, NotificationLabel, NotificationMatrix, NotificationType,
    SCIM_ATTRIBUTE as NOTIFICATION_SETTINGS_ATTRIBUTE,
};
pub use places::MAX_ITEMS;
pub use preview::{RuleCheck, SampleUser, UserPreview, rule_attributes};
pub use rehost::{HostJob, HostJobWorker, HostPreview, Rehosted};
pub(crate) use service::store_settings;
pub use service::{ReapplyOutcome, RulesService};
pub use settings::{DeactivateMode, DeleteMode, ExistingUser, ProvisioningSettings};
pub use view::{NotificationRow, UserRulesView};

use crate::tenants::TenantId;
use crate::{Database, Error, Result};

/// How old a snapshot may be before `rules_version` is read again.
pub const REVALIDATE_AFTER: Duration = Duration::from_millis(750);
/// Tenants remembered per node.
const CACHE_CAPACITY: usize = 10_000;

/// Everything the provisioning service needs to know about one tenant's rules.
#[derive(Debug)]
pub struct TenantRules {
    pub version: i64,
    pub settings: ProvisioningSettings,
    pub domains: Vec<TrustedDomain>,
    pub attributes: Vec<CustomAttributeDef>,
    pub catalogue: Vec<NotificationType>,
    pub locations: Vec<Location>,
    pub mapping: Vec<MappingRule>,
    /// Core, enterprise and — with custom attributes or a notification catalogue — the
    /// Roster extension.
    pub registry: Arc<SchemaRegistry>,
}

impl TenantRules {
    /// The verified domains: only these restrict who may be provisioned.
    pub fn verified_domains(&self) -> impl Iterator<Item = &TrustedDomain> {
        self.domains.iter().filter(|d| d.verified.is_some())
    }

    pub fn domain(&self, id: Uuid) -> Option<&TrustedDomain> {
        self.domains.iter().find(|d| d.id == id)
    }

    pub fn location(&self, id: Uuid) -> Option<&Location> {
        self.locations.iter().find(|l| l.id == id)
    }

    pub fn kiosk(&self, id: Uuid) -> Option<(&Location, &Kiosk)> {
        self.locations
            .iter()
            .find_map(|l| l.kiosks.iter().find(|k| k.id == id).map(|k| (l, k)))
    }

    /// The defaults a new user gets: a copy of the tenant's catalogue defaults.
    pub fn default_notifications(&self) -> NotificationMatrix {
        NotificationMatrix::defaults(&self.catalogue)
    }
}

#[derive(Clone)]
struct Cached {
    rules: Arc<TenantRules>,
    checked_at: Instant,
}

/// Per-node snapshots of tenants' rules. Cheap to clone (shared state).
#[derive(Clone)]
pub struct RulesCache {
    db: Database,
    entries: Arc<RwLock<HashMap<TenantId, Cached>>>,
}

impl std::fmt::Debug for RulesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesCache").finish_non_exhaustive()
    }
}

impl RulesCache {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            entries: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// The tenant's rules, at most about a second old.
    pub async fn get(&self, tenant: TenantId) -> Result<Arc<TenantRules>> {
        let cached = self
            .entries
            .read()
            .ok()
            .and_then(|entries| entries.get(&tenant).cloned());
        if let Some(cached) = &cached
            && cached.checked_at.elapsed() < REVALIDATE_AFTER
        {
            return Ok(cached.rules.clone());
        }
        // Read the version before the tables: a change committed in between makes the
        // snapshot newer than its version says, and the next check reloads it — never
        // the other way round.
        let version = rules_version(self.db.reader(), tenant).await?;
        let rules = match cached {
            Some(cached) if cached.rules.version == version => cached.rules,
            _ => Arc::new(load(self.db.reader(), tenant, version).await?),
        };
        self.remember(tenant, rules.clone());
        Ok(rules)
    }

    fn remember(&self, tenant: TenantId, rules: Arc<TenantRules>) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CACHE_CAPACITY && !entries.contains_key(&tenant) {
                // Evict the snapshot checked longest ago; it is only a cache.
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, c)| c.checked_at)
                    .map(|(id, _)| *id)
                {
                    entries.remove(&oldest);
                }
            }
            entries.insert(
                tenant,
                Cached {
                    rules,
                    checked_at: Instant::now(),
                },
            );
        }
    }

    /// Drops this node's snapshot, after a change made here.
    pub fn forget(&self, tenant: TenantId) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(&tenant);
        }
    }
}

/// The tenant's rules as `conn` sees them — inside a write transaction, the rules that
/// transaction is about to commit. Never cached.
pub(crate) async fn load_in(conn: &impl ConnectionTrait, tenant: TenantId) -> Result<TenantRules> {
    let version = rules_version(conn, tenant).await?;
    load(conn, tenant, version).await
}

/// Reads every rule table of one tenant (six indexed queries) and builds the registry.
async fn load(
    reader: &impl ConnectionTrait,
    tenant: TenantId,
    version: i64,
) -> Result<TenantRules> {
    let rows = rule_rows(reader, tenant).await?;
    let registry = Arc::new(build_registry(
        &rows.attributes,
        !rows.catalogue.is_empty(),
    )?);
    Ok(TenantRules {
        version,
        settings: rows.settings,
        domains: rows.domains,
        attributes: rows.attributes,
        catalogue: rows.catalogue,
        locations: rows.locations,
        mapping: rows.mapping,
        registry,
    })
}

/// The tenant's schemas. Stored definitions were checked when they were added, so a
/// failure here is a bug or a hand-edited row: it is an internal error, not the client's.
pub(crate) fn build_registry(
    attributes: &[CustomAttributeDef],
    with_notifications: bool,
) -> Result<SchemaRegistry> {
    let mut custom: Vec<_> = attributes.iter().map(CustomAttributeDef::to_scim).collect();
    if with_notifications {
        custom.push(notifications::scim_attribute());
    }
    SchemaRegistry::new(&custom).map_err(|err| Error::internal("a tenant's custom attributes", err))
}
