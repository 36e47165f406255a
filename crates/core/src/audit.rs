//! The audit log: who changed what, when, from where. One row per audited change — a
//! token created or revoked, a setting or rule changed, an admin invited or removed, a
//! tenant suspended, a webhook endpoint changed, a setup link created, used or revoked —
//! written **in the change's own transaction**, so a change without its row, or a row
//! without its change, cannot exist.
//!
//! Who acted travels with the [`TenantAccess`] the services already take: the web layer
//! gets it from `MembershipService::access` (an admin) or from a setup session, and adds
//! the request's id and client address ([`TenantAccess::with_origin`]). Rows never hold a
//! secret: tokens appear by their public prefix, webhook secrets not at all.

use sea_orm::ConnectionTrait;
use serde_json::Value;
use uuid::Uuid;

use crate::admins::{Admin, AdminId};
use crate::directory::SearchTerm;
use crate::memberships::TenantAccess;
use crate::paging::{Page, PageSize};
use crate::store::TenantScope;
use crate::store::audit::{self as stored, AuditQuery, AuditRow};
use crate::tenants::{TenantId, require_operator};
use crate::time::Timestamp;
use crate::token_auth::AuthenticatedToken;
use crate::{Database, Result};

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in account: an operator or one tenant's admin.
    Admin {
        id: AdminId,
        email: String,
        operator: bool,
    },
    /// Whoever holds a setup link (no account).
    SetupLink { id: Uuid, label: String },
    /// The `roster` command line on the server.
    CommandLine,
    /// Roster itself (nobody asked).
    System,
}

impl Actor {
    pub fn of_admin(admin: &Admin) -> Self {
        Self::Admin {
            id: admin.id,
            email: admin.email.clone(),
            operator: admin.is_operator,
        }
    }

    /// The stored `actor_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Admin { operator: true, .. } => "operator",
            Self::Admin { .. } => "admin",
            Self::SetupLink { .. } => "setup_link",
            Self::CommandLine => "command_line",
            Self::System => "system",
        }
    }

    fn id(&self) -> Option<Uuid> {
        match self {
            Self::Admin { id, .. } => Some(id.0),
            Self::SetupLink { id, .. } => Some(*id),
            Self::CommandLine | Self::System => None,
        }
    }

    /// How the log names the actor.
    pub fn name(&self) -> String {
        match self {
            Self::Admin { email, .. } => email.clone(),
            Self::SetupLink { label, .. } => label.clone(),
            Self::CommandLine => "roster command line".to_owned(),
            Self::System => "Roster".to_owned(),
        }
    }

    /// The account, when the actor is one.
    pub fn admin_id(&self) -> Option<AdminId> {
        match self {
            Self::Admin { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Where a request came from: its id (as in `X-Request-Id`) and the client's address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

/// One audited change, built by the service that makes it.
#[derive(Clone, Debug)]
pub struct Change {
    action: &'static str,
    target: Option<(&'static str, String, String)>,
    before: Option<Value>,
    after: Option<Value>,
}

impl Change {
    pub(crate) fn new(action: &'static str) -> Self {
        Self {
            action,
            target: None,
            before: None,
            after: None,
        }
    }

    /// What was changed: its kind, id and a name a person recognises.
    pub(crate) fn target(
        mut self,
        kind: &'static str,
        id: impl ToString,
        name: impl Into<String>,
    ) -> Self {
        self.target = Some((kind, id.to_string(), name.into()));
        self
    }

    pub(crate) fn before(mut self, value: Value) -> Self {
        self.before = Some(value);
        self
    }

    pub(crate) fn after(mut self, value: Value) -> Self {
        self.after = Some(value);
        self
    }

    /// The action, e.g. `location.remove`.
    pub(crate) fn action(&self) -> &'static str {
        self.action
    }
}

/// Writes the row of `change`, made through `scope`, on `conn` — the change's own
/// transaction.
pub(crate) async fn record(
    conn: &impl ConnectionTrait,
    at: Timestamp,
    scope: &TenantAccess,
    change: Change,
) -> Result<()> {
    record_for(
        conn,
        at,
        Some(scope.id()),
        scope.actor(),
        scope.origin(),
        change,
    )
    .await
}

/// [`record`] for a change that is not made through a tenant scope.
pub(crate) async fn record_for(
    conn: &impl ConnectionTrait,
    at: Timestamp,
    tenant: Option<TenantId>,
    actor: &Actor,
    origin: &Origin,
    change: Change,
) -> Result<()> {
    let (target_kind, target_id, target_name) = match change.target {
        Some((kind, id, name)) => (Some(kind), Some(id), Some(name)),
        None => (None, None, None),
    };
    let row = AuditRow {
        occurred_at: at,
        actor_kind: actor.kind(),
        actor_id: actor.id(),
        actor_name: truncate(&actor.name(), 320),
        action: change.action,
        target_kind,
        target_id,
        target_name: target_name.map(|name| truncate(&name, 320)),
        before: change.before.map(|v| v.to_string()),
        after: change.after.map(|v| v.to_string()),
        request_id: origin.request_id.clone().filter(|id| !id.is_empty()),
        client_address: origin.client_address.clone(),
    };
    stored::insert(conn, tenant.map(TenantScope::of_stored), row).await?;
    Ok(())
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Groups of actions an admin filters by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Tenant,
    Tokens,
    ApiKeys,
    Rules,
    Admins,
    Webhooks,
    SetupLinks,
}

impl Category {
    pub const ALL: [Self; 7] = [
        Self::Tenant,
        Self::Tokens,
        Self::ApiKeys,
        Self::Rules,
        Self::Admins,
        Self::Webhooks,
        Self::SetupLinks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Tokens => "tokens",
            Self::ApiKeys => "api-keys",
            Self::Rules => "rules",
            Self::Admins => "admins",
            Self::Webhooks => "webhooks",
            Self::SetupLinks => "setup-links",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Tenant => "Tenant status",
            Self::Tokens => "SCIM tokens",
            Self::ApiKeys => "API keys",
            Self::Rules => "Rules and settings",
            Self::Admins => "Admins and invitations",
            Self::Webhooks => "Webhooks",
            Self::SetupLinks => "Setup links",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    /// The action prefixes of the category (`token.` matches `token.create`…).
    fn prefixes(self) -> &'static [&'static str] {
        match self {
            Self::Tenant => &["tenant."],
            Self::Tokens => &["token."],
            Self::ApiKeys => &["api_key."],
            Self::Rules => &[
                "settings.",
                "domain.",
                "attribute.",
                "notification",
                "location.",
                "kiosk.",
                "rule.",
                "user_notifications.",
            ],
            Self::Admins => &["invitation.", "admin."],
            Self::Webhooks => &["webhook."],
            Self::SetupLinks => &["setup_link."],
        }
    }
}

/// What a list of audit entries is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub category: Option<Category>,
    /// Part of the actor's email or the setup link's label.
    pub actor: Option<SearchTerm>,
    /// Entries older than this id (the keyset cursor).
    pub before: Option<i64>,
}

/// One entry as the log and the API show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub tenant_id: Option<TenantId>,
    /// The tenant's slug, on the operator's list ([`AuditService::all`]).
    pub tenant_slug: Option<String>,
    pub occurred_at: Timestamp,
    pub actor_kind: String,
    pub actor_name: String,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

/// Reading the audit log (writing is [`record`], inside each service's transaction).
#[derive(Clone, Debug)]
pub struct AuditService {
    db: Database,
}

impl AuditService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// A tenant's entries, newest first.
    pub async fn tenant(
        &self,
        scope: &TenantAccess,
        filter: &AuditFilter,
        size: PageSize,
    ) -> Result<Page<AuditEntry, i64>> {
        self.page(Some(scope.id()), filter, size).await
    }

    /// Every tenant's entries and those of no tenant, newest first: operators only
    /// (anyone else gets `NotFound`). `tenant` narrows to one tenant.
    pub async fn all(
        &self,
        acting: &Admin,
        tenant: Option<TenantId>,
        filter: &AuditFilter,
        size: PageSize,
    ) -> Result<Page<AuditEntry, i64>> {
        require_operator(acting)?;
        let mut page = self.page(tenant, filter, size).await?;
        let ids: Vec<Uuid> = page
            .items
            .iter()
            .filter_map(|e| e.tenant_id.map(|t| t.0))
            .collect();
        if !ids.is_empty() {
            let slugs = crate::store::tenants::slugs_of(self.db.reader(), ids).await?;
            for entry in &mut page.items {
                entry.tenant_slug = entry.tenant_id.and_then(|t| slugs.get(&t.0).cloned());
            }
        }
        Ok(page)
    }

    /// The entries of an API key's tenant after `after`, oldest first (the API pages
    /// forward, like the events feed).
    pub async fn for_api_key(
        &self,
        key: &AuthenticatedToken,
        after: i64,
        limit: u64,
    ) -> Result<Vec<AuditEntry>> {
        let scope = TenantScope::from(key);
        Ok(stored::after(self.db.reader(), scope, after, limit).await?)
    }

    async fn page(
        &self,
        tenant: Option<TenantId>,
        filter: &AuditFilter,
        size: PageSize,
    ) -> Result<Page<AuditEntry, i64>> {
        let query = AuditQuery {
            before: filter.before,
            action_prefixes: filter.category.map(Category::prefixes),
            actor: filter.actor.as_ref(),
        };
        let scope = tenant.map(TenantScope::of_stored);
        let rows = stored::page(self.db.reader(), scope, query, size.probe()).await?;
        Ok(Page::from_probe(rows, size, |entry: &AuditEntry| entry.id))
    }
}
