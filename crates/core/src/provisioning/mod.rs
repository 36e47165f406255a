//! The provisioning service: every SCIM operation on users and groups, with the tenant's
//! rules, in one transaction with its provisioning-log row and outbox events.
//!
//! Architecture invariants:
//! - Every query goes through a [`TenantScope`](crate::store::TenantScope), whose selects,
//!   updates and deletes always carry the tenant: a handler cannot forget it.
//! - A change, its audit row and its events commit together or not at all
//!   ([`audit`]). A failed request leaves nothing behind but one failure row in the log.
//! - The SCIM surface, the admin UI and the API call these same functions.

pub mod audit;
mod backfill;
mod bulk;
mod discovery;
mod group_updates;
mod groups;
mod list;
mod members;
mod notifications;
mod outsiders;
mod plan;
mod policy;
mod rehost;
mod resources;
mod seed;
mod seed_csv;
mod seed_input;
mod user_store;
mod user_updates;
mod users;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use roster_scim::ScimError;
use roster_scim::discovery::Capabilities;
use roster_scim::schema::SchemaRegistry;
use sea_orm::DbErr;

use uuid::Uuid;

use crate::Database;
use crate::idp::IdentityProvider;
use crate::memberships::TenantAccess;
use crate::rules::{RulesCache, TenantRules};
use crate::tenants::{TenantId, TenantSlug};
use crate::token_auth::AuthenticatedToken;
use crate::tokens::TokenId;

pub use crate::store::TenantScope;
pub use audit::Operation;
pub use bulk::BulkOutcome;
pub use outsiders::Outsider;
pub use plan::HeavyTurn;
pub(crate) use rehost::RehostBatch;
pub use seed::{
    ItemError, MAX_SEED_BATCH, SeedError, SeedInput, SeedOutcome, SeedUser, Seeded, seeded_json,
};
pub use seed_csv::{CsvError, MAX_CSV_BYTES, MAX_CSV_ROWS, SeedCsv, parse_seed_csv};
pub use seed_input::{MAX_EMAILS, MAX_PRODUCT_REF_CHARS, SeedName};
pub use users::ProjectionParams;

/// Which SCIM base URL a request came through: every location Roster answers with
/// (`meta.location`, `Location`, `$ref`, a Bulk operation's `location`, discovery) points
/// at the same one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScimEndpoint {
    /// `/scim/v2/{slug}`: the URL names the tenant, and the token must be its own.
    #[default]
    Tenant,
    /// `/scim/v2`: one URL for every tenant; the token alone decides which.
    Shared,
}

/// Who is asking, for which tenant, under which request id.
///
/// Made only from an [`AuthenticatedToken`] (SCIM, the API's seeding), a [`TenantAccess`]
/// (the admin UI, the command line) or by the crate itself for its own background work;
/// its fields are readable outside the crate but not writable, so a context's tenant is
/// always the one its token or access proved.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub(crate) tenant_id: TenantId,
    pub(crate) tenant_slug: TenantSlug,
    pub(crate) token_id: Option<TokenId>,
    /// The trusted domain the token is limited to: it may only create or change users
    /// of that domain.
    pub(crate) token_domain: Option<Uuid>,
    pub(crate) request_id: String,
    /// The caller's identity provider, for error texts that name it.
    pub(crate) idp: IdentityProvider,
    /// The base URL the request came through.
    pub(crate) endpoint: ScimEndpoint,
    started: Instant,
}

impl RequestContext {
    /// The context of a request authenticated by `token`: its tenant, its domain limit.
    pub fn for_token(token: &AuthenticatedToken, request_id: impl Into<String>) -> Self {
        Self {
            tenant_id: token.tenant_id(),
            tenant_slug: token.tenant_slug().clone(),
            token_id: Some(token.token_id()),
            token_domain: token.domain_id(),
            request_id: request_id.into(),
            idp: IdentityProvider::Unknown,
            endpoint: ScimEndpoint::Tenant,
            started: Instant::now(),
        }
    }

    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    pub fn tenant_slug(&self) -> &TenantSlug {
        &self.tenant_slug
    }

    /// The token that made the request; `None` for an admin or Roster itself.
    pub fn token_id(&self) -> Option<TokenId> {
        self.token_id
    }

    /// The trusted domain the token is limited to, if any.
    pub fn token_domain(&self) -> Option<Uuid> {
        self.token_domain
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn idp(&self) -> IdentityProvider {
        self.idp
    }

    pub fn endpoint(&self) -> ScimEndpoint {
        self.endpoint
    }

    /// The same context, for a caller recognised as `idp`.
    pub fn with_idp(mut self, idp: IdentityProvider) -> Self {
        self.idp = idp;
        self
    }

    /// The same context, for a request through `endpoint`.
    pub fn through(mut self, endpoint: ScimEndpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// A change made by an admin in the admin UI (no token, no domain scope).
    pub fn for_admin(access: &TenantAccess, request_id: impl Into<String>) -> Self {
        Self {
            tenant_id: access.id(),
            tenant_slug: access.slug().clone(),
            token_id: None,
            token_domain: None,
            request_id: request_id.into(),
            idp: IdentityProvider::Unknown,
            endpoint: ScimEndpoint::Tenant,
            started: Instant::now(),
        }
    }

    /// Work of Roster itself for a tenant (the background re-evaluation of hosts).
    pub(crate) fn for_system(tenant_id: TenantId, tenant_slug: TenantSlug) -> Self {
        Self {
            tenant_id,
            tenant_slug,
            token_id: None,
            token_domain: None,
            request_id: String::new(),
            idp: IdentityProvider::Unknown,
            endpoint: ScimEndpoint::Tenant,
            started: Instant::now(),
        }
    }

    pub(crate) fn elapsed_us(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX)
    }
}

/// A SCIM answer to give the client, or a failure of ours.
#[derive(Debug, thiserror::Error)]
pub enum ProvisioningError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error("internal error")]
    Internal(#[from] crate::Error),
    /// The snapshot a write was computed from changed before it was applied. Never
    /// leaves the service: [`Provisioning::optimistic`] computes the request again.
    #[error("the resource changed while the request was applied")]
    Stale,
}

impl From<DbErr> for ProvisioningError {
    fn from(err: DbErr) -> Self {
        Self::Internal(crate::Error::Database(err))
    }
}

pub type ProvResult<T> = Result<T, ProvisioningError>;

/// A resource as the client sees it.
#[derive(Clone, Debug)]
pub struct Resource {
    pub id: String,
    /// The wire JSON, projected.
    pub body: serde_json::Value,
    /// `meta.version` without the `W/"…"` wrapping.
    pub version: String,
}

/// What a write did: the resource after it, and whether the resource was created
/// (201) or already existed (200).
#[derive(Clone, Debug)]
pub struct Written {
    pub resource: Resource,
    pub created: bool,
}

/// The settings of the SCIM surface that the service needs.
#[derive(Clone, Debug)]
pub struct ScimSettings {
    /// e.g. `https://roster.example.com`; a tenant's SCIM root is
    /// `{public_url}/scim/v2/{slug}`, the shared one `{public_url}/scim/v2`.
    pub public_url: String,
    pub capabilities: Capabilities,
    /// `count` when the client gives none.
    pub default_count: u64,
}

impl ScimSettings {
    pub fn new(public_url: &str) -> Self {
        let capabilities = Capabilities::default();
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            default_count: capabilities.default_page_size,
            capabilities,
        }
    }

    pub fn base_url(&self, slug: &TenantSlug) -> String {
        format!("{}/scim/v2/{}", self.public_url, slug)
    }

    /// The shared SCIM base URL, where the token decides the tenant.
    pub fn shared_base_url(&self) -> String {
        format!("{}/scim/v2", self.public_url)
    }

    pub fn max_results(&self) -> u64 {
        self.capabilities.filter_max_results.unwrap_or(200)
    }
}

/// The provisioning service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Provisioning {
    db: Database,
    settings: Arc<ScimSettings>,
    rules: RulesCache,
    locks: plan::ResourceLocks,
    /// List requests answered by evaluating rows in memory (what SQL could not decide).
    evaluations: Arc<std::sync::atomic::AtomicU64>,
    /// List windows read by walking the attribute-value index in sort order.
    walked_sorts: Arc<std::sync::atomic::AtomicU64>,
    /// Where recent `startIndex` pages ended, so the next page seeks instead of skipping.
    seek_cache: Arc<crate::store::seek::SeekCache>,
}

impl Provisioning {
    /// How many list requests this node answered by evaluating rows in memory rather
    /// than in SQL: only filters on the few attributes the index does not hold (see
    /// `query`). Tests use it to prove a filter was decided by SQL.
    pub fn in_memory_evaluations(&self) -> u64 {
        self.evaluations.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// List windows sorted by a path of the attribute-value index that this node read
    /// by walking the index in order (`list::segments`) rather than sorting the tenant.
    pub fn index_walked_sorts(&self) -> u64 {
        self.walked_sorts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `startIndex` list pages this node answered by seeking from where the previous
    /// page ended rather than with `OFFSET`.
    pub fn seeked_pages(&self) -> u64 {
        self.seek_cache.hits()
    }

    pub fn new(db: Database, settings: ScimSettings, rules: RulesCache) -> Self {
        Self {
            db,
            settings: Arc::new(settings),
            rules,
            locks: plan::ResourceLocks::default(),
            evaluations: Arc::default(),
            walked_sorts: Arc::default(),
            seek_cache: Arc::default(),
        }
    }

    pub fn settings(&self) -> &ScimSettings {
        &self.settings
    }

    /// The tenant's rules: a per-node snapshot at most about a second old (see
    /// [`crate::rules`]).
    /// The node's clock.
    pub(crate) fn clock(&self) -> &crate::time::Clock {
        self.db.clock()
    }

    pub async fn rules(&self, tenant: TenantId) -> ProvResult<Arc<TenantRules>> {
        Ok(self.rules.get(tenant).await?)
    }

    /// The tenant's schemas (core, enterprise and its Roster extension).
    pub async fn registry(&self, tenant: TenantId) -> ProvResult<Arc<SchemaRegistry>> {
        Ok(self.rules(tenant).await?.registry.clone())
    }

    fn scope(&self, ctx: &RequestContext) -> TenantScope {
        TenantScope::from(ctx)
    }

    /// The key of one resource for [`plan::ResourceLocks`].
    fn lock_key(ctx: &RequestContext, kind: &str, id: &str) -> String {
        format!("{}/{kind}/{id}", ctx.tenant_id.0)
    }

    /// The base URL the request came through (see [`ScimEndpoint`]).
    fn base_url(&self, ctx: &RequestContext) -> String {
        match ctx.endpoint {
            ScimEndpoint::Tenant => self.settings.base_url(&ctx.tenant_slug),
            ScimEndpoint::Shared => self.settings.shared_base_url(),
        }
    }

    /// Records a request that failed before reaching an operation (a body that is not
    /// JSON, a bad query parameter), so the admin sees it in the provisioning log.
    pub async fn record_failure(
        &self,
        ctx: &RequestContext,
        operation: Operation,
        resource_id: Option<&str>,
        err: &ProvisioningError,
    ) {
        let name = self.user_name_of(ctx, operation, resource_id, None).await;
        audit::record_failure(&self.db, ctx, operation, resource_id, err, name.as_deref()).await;
    }

    /// Runs one operation: refused at once when the tenant's settings forbid it (the
    /// switch, or the action), and recorded in the log when it fails.
    async fn run<T, F>(
        &self,
        ctx: &RequestContext,
        operation: Operation,
        resource_id: Option<&str>,
        work: impl FnOnce(Arc<TenantRules>) -> F,
    ) -> ProvResult<T>
    where
        F: Future<Output = ProvResult<T>>,
    {
        self.run_for_user(ctx, operation, resource_id, None, work)
            .await
    }

    /// [`Provisioning::run`] for an operation on a user whose userName the request
    /// names (`user_name`, a create's or a PUT's): a failure's log row names it, or else
    /// the stored user of `resource_id`.
    async fn run_for_user<T, F>(
        &self,
        ctx: &RequestContext,
        operation: Operation,
        resource_id: Option<&str>,
        user_name: Option<&str>,
        work: impl FnOnce(Arc<TenantRules>) -> F,
    ) -> ProvResult<T>
    where
        F: Future<Output = ProvResult<T>>,
    {
        // The tenant's rules are read once per operation: what admits it is what runs it.
        let result = match self.rules(ctx.tenant_id).await {
            Ok(rules) => match policy::admit(&rules, ctx, operation) {
                Ok(()) => work(rules).await,
                Err(err) => Err(err.into()),
            },
            Err(err) => Err(err),
        };
        if let Err(err) = &result {
            let name = self
                .user_name_of(ctx, operation, resource_id, user_name)
                .await;
            audit::record_failure(&self.db, ctx, operation, resource_id, err, name.as_deref())
                .await;
        }
        result
    }

    /// The userName a failed user operation's log row names: the one the request
    /// sent, else the stored user's (one primary-key read, on failures only).
    async fn user_name_of(
        &self,
        ctx: &RequestContext,
        operation: Operation,
        resource_id: Option<&str>,
        sent: Option<&str>,
    ) -> Option<String> {
        if operation.resource_type() != Some("User") {
            return None;
        }
        if let Some(name) = sent.map(str::trim).filter(|n| !n.is_empty()) {
            return Some(name.chars().take(256).collect());
        }
        let id = resource_id.and_then(crate::store::columns::parse_id)?;
        let found: Result<Option<String>, DbErr> =
            crate::store::provisioning::user_name(self.db.reader(), self.scope(ctx), id).await;
        found.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "naming the user of a failed request failed");
            None
        })
    }
}

pub(crate) use roster_scim::value::fold_case;

/// The `userName` a request body sends, for naming a refused request in the log.
pub(crate) fn sent_user_name(body: &serde_json::Value) -> Option<&str> {
    body.as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("userName"))
        .and_then(|(_, value)| value.as_str())
}
