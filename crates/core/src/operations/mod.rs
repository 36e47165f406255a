//! What an operator does from the `roster` command line on the server: look at tenants
//! and change them, find and revoke tokens, disable webhooks, see which migrations ran,
//! back a SQLite database up and restore it.
//!
//! The command line has the authority of whoever runs it on the server (they hold the
//! database anyway), so nothing here asks for an admin; it is never reachable over
//! HTTP. Tenant-owned things are still reached through a [`TenantAccess`], so every
//! query carries the tenant.

use serde::Serialize;

use crate::delivery::{EndpointId, WebhookEndpoint};
use crate::memberships::TenantAccess;
use crate::store::operations::{self as stored, TenantChanges, TenantRow};
use crate::store::{TenantScope, deliveries, tokens};
use crate::tenants::{TenantName, TenantStatus};
use crate::time::Timestamp;
use crate::tokens::{TokenId, TokenInfo, TokenKind};
use crate::{Database, Error, Result, Services};

pub use crate::store::sqlite_backup::{BackupReport, RestoreReport, restore_sqlite};

/// A tenant as the command line shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TenantSummary {
    pub slug: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: &'static str,
    /// Requests per second per token; `None` = the server's default, 0 = unlimited.
    pub scim_rate_limit: Option<u32>,
    pub created_at: String,
}

impl From<TenantRow> for TenantSummary {
    fn from(row: TenantRow) -> Self {
        let tenant = row.tenant;
        Self {
            slug: tenant.slug.as_str().to_owned(),
            name: tenant.name,
            status: tenant.status.as_str(),
            scim_rate_limit: row.scim_rate_limit.and_then(|n| u32::try_from(n).ok()),
            created_at: tenant.created_at.to_rfc3339(),
        }
    }
}

/// A tenant with what it holds.
#[derive(Clone, Debug, Serialize)]
pub struct TenantDetails {
    #[serde(flatten)]
    pub tenant: TenantSummary,
    pub users: u64,
    pub active_users: u64,
    pub groups: u64,
    /// Live (neither revoked nor expired) SCIM tokens and API keys.
    pub live_tokens: u64,
    pub live_api_keys: u64,
    /// When a live SCIM token was last accepted (`None`: the IdP has not connected).
    pub last_scim_request: Option<String>,
    pub webhook_endpoints: u64,
    pub pending_deliveries: u64,
    pub failed_deliveries: u64,
}

/// What `tenant update` changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct TenantUpdate {
    pub name: Option<TenantName>,
    /// `Some(None)` = back to the server's default.
    pub scim_rate_limit: Option<Option<u32>>,
    pub status: Option<TenantStatus>,
}

/// A migration of this binary and whether the database has it.
#[derive(Clone, Debug, Serialize)]
pub struct MigrationInfo {
    pub name: String,
    /// When it was applied; `None` = pending.
    pub applied_at: Option<String>,
}

/// The migrations this binary knows, in order, and any the database has that it does not
/// (a newer version migrated it).
#[derive(Clone, Debug, Serialize)]
pub struct MigrationStatus {
    pub migrations: Vec<MigrationInfo>,
    pub unknown_applied: Vec<String>,
}

impl MigrationStatus {
    pub fn pending(&self) -> usize {
        self.migrations
            .iter()
            .filter(|m| m.applied_at.is_none())
            .count()
    }
}

/// The operator's command-line actions; see the module documentation.
#[derive(Clone, Debug)]
pub struct Operations<'a> {
    services: &'a Services,
}

impl Services {
    /// What the command line does on this database.
    pub fn operations(&self) -> Operations<'_> {
        Operations { services: self }
    }
}

impl Operations<'_> {
    fn db(&self) -> &Database {
        self.services.db()
    }

    /// A consistent copy of this SQLite database while the node keeps serving (see
    /// [`crate::store::sqlite_backup::backup`]); PostgreSQL is refused (use `pg_dump`).
    pub async fn backup(&self, file: &std::path::Path) -> Result<BackupReport> {
        crate::store::sqlite_backup::backup(self.db(), file).await
    }

    async fn access(&self, slug: &str) -> Result<TenantAccess> {
        self.services
            .memberships()
            .command_line_access(slug)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "tenant",
                    format!("there is no tenant with the slug \"{slug}\""),
                )
            })
    }

    /// Every tenant, by slug.
    pub async fn tenants(&self) -> Result<Vec<TenantSummary>> {
        Ok(stored::tenants(self.db().reader())
            .await?
            .into_iter()
            .map(TenantSummary::from)
            .collect())
    }

    /// One tenant with the counts an operator asks first.
    pub async fn tenant(&self, slug: &str) -> Result<TenantDetails> {
        let access = self.access(slug).await?;
        let scope = TenantScope::from(&access);
        let reader = self.db().reader();
        let row = stored::tenant(reader, access.id().0)
            .await?
            .ok_or(Error::NotFound)?;
        let users = stored::count_users(reader, scope, false).await?;
        let active_users = stored::count_users(reader, scope, true).await?;
        let groups = stored::count_groups(reader, scope).await?;
        let now = self.db().clock().now();
        let live = |kind: TokenKind| async move {
            let rows = tokens::tokens(reader, scope, kind, true).await?;
            Ok::<u64, Error>(rows.into_iter().filter(|token| token.is_live(now)).count() as u64)
        };
        let live_tokens = live(TokenKind::Scim).await?;
        let live_api_keys = live(TokenKind::Api).await?;
        let last_scim_request = self
            .services
            .tokens()
            .last_used(&access)
            .await?
            .map(Timestamp::to_rfc3339);
        let webhook_endpoints = deliveries::count_endpoints(reader, scope).await?;
        let pending_deliveries = deliveries::count_with_status(reader, scope, "pending").await?;
        let failed_deliveries = deliveries::count_with_status(reader, scope, "failed").await?;
        Ok(TenantDetails {
            tenant: TenantSummary::from(row),
            users,
            active_users,
            groups,
            live_tokens,
            live_api_keys,
            last_scim_request,
            webhook_endpoints,
            pending_deliveries,
            failed_deliveries,
        })
    }

    /// Changes a tenant's name, rate limit or status. A suspended tenant keeps its data;
    /// its SCIM endpoint and API refuse requests within a second on every node.
    pub async fn update_tenant(&self, slug: &str, update: TenantUpdate) -> Result<TenantSummary> {
        let access = self.access(slug).await?;
        let changes = TenantChanges {
            name: update.name.map(|name| name.as_str().to_owned()),
            scim_rate_limit: update
                .scim_rate_limit
                .map(|limit| limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX))),
            status: update.status.map(|status| status.as_str().to_owned()),
        };
        let updated_at = self.db().clock().now().as_micros();
        let row = stored::update_tenant(self.db().writer(), access.id().0, updated_at, changes);
        Ok(TenantSummary::from(row.await?))
    }

    /// The tenant's SCIM tokens (or API keys, with `kind`), newest first, revoked ones
    /// included.
    pub async fn tokens(&self, slug: &str, kind: TokenKind) -> Result<Vec<TokenInfo>> {
        let access = self.access(slug).await?;
        let scope = TenantScope::from(&access);
        Ok(tokens::tokens(self.db().reader(), scope, kind, false).await?)
    }

    /// Revokes the tenant's token named by its prefix as lists show it (`rst_<16 hex>`,
    /// `rak_…` for an API key), its bare public id, or its id. Nodes refuse it within a
    /// second.
    pub async fn revoke_token(
        &self,
        slug: &str,
        kind: TokenKind,
        which: &str,
    ) -> Result<TokenInfo> {
        let access = self.access(slug).await?;
        let which = which.trim();
        let public_id = which.strip_prefix(kind.prefix()).unwrap_or(which);
        let (reader, scope) = (self.db().reader(), TenantScope::from(&access));
        let found = match uuid::Uuid::try_parse(which) {
            Ok(id) => tokens::find(reader, scope, kind, TokenId(id)).await?,
            Err(_) => tokens::by_public_id(reader, Some(scope), kind, public_id).await?,
        };
        let Some(row) = found else {
            return Err(Error::invalid(
                "token",
                format!("the tenant \"{slug}\" has no token {which}"),
            ));
        };
        let service = match kind {
            TokenKind::Scim => self.services.tokens(),
            TokenKind::Api => self.services.api_keys(),
        };
        service.revoke(&access, row.id).await
    }

    /// The tenant's webhook endpoints with their pending and failed deliveries.
    pub async fn webhooks(
        &self,
        slug: &str,
    ) -> Result<Vec<(WebhookEndpoint, crate::delivery::webhooks::DeliveryCounts)>> {
        let access = self.access(slug).await?;
        let webhooks = self.services.webhooks();
        let mut all = Vec::new();
        for endpoint in webhooks.list(&access).await? {
            let counts = webhooks.counts(&access, endpoint.id).await?;
            all.push((endpoint, counts));
        }
        Ok(all)
    }

    /// Turns a webhook endpoint off (or on again): a disabled endpoint gets no new
    /// deliveries; those already queued are still attempted.
    pub async fn set_webhook_enabled(
        &self,
        slug: &str,
        id: &str,
        enabled: bool,
    ) -> Result<WebhookEndpoint> {
        let access = self.access(slug).await?;
        let id = uuid::Uuid::try_parse(id.trim()).map_err(|_| {
            Error::invalid(
                "webhook",
                "the endpoint id is a UUID, as `roster webhook list` shows it",
            )
        })?;
        match self
            .services
            .webhooks()
            .set_enabled(&access, EndpointId(id), enabled)
            .await
        {
            Err(Error::NotFound) => Err(Error::invalid(
                "webhook",
                format!("the tenant \"{slug}\" has no webhook endpoint {id}"),
            )),
            other => other,
        }
    }
}

/// Which migrations the database has (nothing is applied).
pub async fn migration_status(db: &Database) -> Result<MigrationStatus> {
    let applied = stored::applied_migrations(db.reader()).await?;
    let known = stored::known_migrations();
    let migrations = known
        .iter()
        .map(|name| MigrationInfo {
            name: name.clone(),
            applied_at: applied.iter().find(|(version, _)| version == name).map(
                |(_, applied_at)| {
                    Timestamp::from_micros(applied_at.saturating_mul(1_000_000)).to_rfc3339()
                },
            ),
        })
        .collect();
    let unknown_applied = applied
        .into_iter()
        .map(|(version, _)| version)
        .filter(|name| !known.contains(name))
        .collect();
    Ok(MigrationStatus {
        migrations,
        unknown_applied,
    })
}
