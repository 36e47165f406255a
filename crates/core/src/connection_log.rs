//! What the provisioning log records about requests that never became provisioning: a
//! request refused at authentication (a wrong, revoked or expired token — "Okta still has
//! the old token"), and an identity provider's connection test. Both are rows of
//! `provisioning_log` (operations `auth.rejected` and `connection.test`), so the log and
//! the connection check show the same thing.
//!
//! Bounds: nothing here can flood the log. Each node writes at most one row per minute
//! for the same tenant, reason and token prefix (or per token, for tests), at most
//! [`TENANT_BUDGET`] rows of refusals per tenant per ten minutes, and looks tenants up for
//! at most [`NODE_BUDGET`] refusals per second in all; what exceeds a bound is simply
//! not recorded. A refusal is recorded in the log of the tenant the URL names. It names a
//! token only when the token is that tenant's own, by label and prefix (`rst_b504c1d2…`),
//! never the secret; of another tenant's token or an unknown one it says only that the
//! token is not valid here. On the shared URL (`/scim/v2`, no tenant in it) a refusal is
//! recorded only for a token Roster knows — revoked, expired, of a suspended tenant, or
//! with a wrong secret — in its own tenant's log; nothing else names a tenant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::directory::LogEntry;
use crate::idp::{IdentityProvider, TestCall};
use crate::memberships::TenantAccess;
use crate::provisioning::{RequestContext, ScimEndpoint};
use crate::store::log::{self, LogRow};
use crate::store::{TenantScope, tokens};
use crate::token_auth::AuthError;
use crate::tokens::{PresentedToken, TOKEN_PREFIX, TokenKind};
use crate::{Database, Result};

/// The operation of a refused request's row.
pub const AUTH_REJECTED: &str = "auth.rejected";
/// The operation of a connection test's row.
pub const CONNECTION_TEST: &str = "connection.test";
/// The same tenant, reason and token prefix are recorded at most this often per node.
const REPEAT_AFTER: Duration = Duration::from_secs(60);
/// Refusals recorded per tenant and node within [`TENANT_WINDOW`].
pub const TENANT_BUDGET: u32 = 20;
const TENANT_WINDOW: Duration = Duration::from_secs(600);
/// Refusals per second a node looks into at all (each costs a tenant lookup).
pub const NODE_BUDGET: u32 = 50;
/// Keys remembered; beyond, the oldest are forgotten.
const MAX_KEYS: usize = 10_000;
/// Hex characters of the token's public id shown.
const PREFIX_CHARS: usize = 8;

/// In-memory bounds of one node.
#[derive(Debug, Default)]
struct Limits {
    /// Last time a key was recorded.
    recent: HashMap<String, Instant>,
    /// Per tenant: start of the window and rows in it.
    tenants: HashMap<uuid::Uuid, (Instant, u32)>,
    /// This second's refusals looked into.
    second: Option<(Instant, u32)>,
}

impl Limits {
    fn node_allows(&mut self) -> bool {
        let now = Instant::now();
        match &mut self.second {
            Some((start, count)) if now.duration_since(*start) < Duration::from_secs(1) => {
                *count += 1;
                *count <= NODE_BUDGET
            }
            slot => {
                *slot = Some((now, 1));
                true
            }
        }
    }

    /// Whether `key` may be recorded now (and notes that it is).
    fn fresh(&mut self, key: String) -> bool {
        let now = Instant::now();
        if let Some(at) = self.recent.get(&key)
            && now.duration_since(*at) < REPEAT_AFTER
        {
            return false;
        }
        if self.recent.len() >= MAX_KEYS {
            self.recent
                .retain(|_, at| now.duration_since(*at) < REPEAT_AFTER);
            if self.recent.len() >= MAX_KEYS {
                return false;
            }
        }
        self.recent.insert(key, now);
        true
    }

    fn tenant_allows(&mut self, tenant: uuid::Uuid) -> bool {
        let now = Instant::now();
        if self.tenants.len() >= MAX_KEYS {
            self.tenants
                .retain(|_, (start, _)| now.duration_since(*start) < TENANT_WINDOW);
        }
        let entry = self.tenants.entry(tenant).or_insert((now, 0));
        if now.duration_since(entry.0) >= TENANT_WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= TENANT_BUDGET
    }
}

/// What the connection check shows besides "last accepted".
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    /// The latest refused request.
    pub rejected: Option<LogEntry>,
    /// The latest connection test.
    pub tested: Option<LogEntry>,
}

#[derive(Clone, Debug)]
pub struct ConnectionLog {
    db: Database,
    limits: Arc<Mutex<Limits>>,
}

impl ConnectionLog {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            limits: Arc::new(Mutex::new(Limits::default())),
        }
    }

    fn limits(&self) -> std::sync::MutexGuard<'_, Limits> {
        // A poisoned lock only means another thread panicked while counting.
        self.limits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a request refused at authentication, within the bounds above: against
    /// `/scim/v2/{slug}` (`slug` given) in that tenant's log; against the shared URL
    /// (`None`) in the log of the tenant whose token it names, if any. Best effort: a
    /// failure to record is logged, never returned.
    pub async fn rejected(
        &self,
        slug: Option<&str>,
        authorization: Option<&str>,
        reason: &AuthError,
        request_id: &str,
        idp: IdentityProvider,
    ) {
        if !self.limits().node_allows() {
            return;
        }
        if let Err(err) = self
            .record_rejection(slug, authorization, reason, request_id, idp)
            .await
        {
            tracing::warn!(error = %err, "recording a refused SCIM request failed");
        }
    }

    async fn record_rejection(
        &self,
        slug: Option<&str>,
        authorization: Option<&str>,
        reason: &AuthError,
        request_id: &str,
        idp: IdentityProvider,
    ) -> Result<()> {
        let presented = authorization
            .and_then(|header| header.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .and_then(|(_, token)| PresentedToken::parse(token.trim()));
        let (tenant_id, own) = match slug {
            Some(slug) => {
                if crate::tenants::TenantSlug::parse(slug).is_err() {
                    return Ok(());
                }
                let Some(tenant) =
                    crate::store::tenants::find_by_slug(self.db.reader(), slug).await?
                else {
                    return Ok(());
                };
                // The token is named only when it is this tenant's own: of another
                // tenant's or an unknown token, the log says alike that it is not valid
                // here.
                let own = match &presented {
                    Some(token) => {
                        tokens::by_public_id(
                            self.db.reader(),
                            Some(TenantScope::of_stored(tenant.id)),
                            TokenKind::Scim,
                            token.public_id(),
                        )
                        .await?
                    }
                    None => None,
                };
                (tenant.id, own)
            }
            // The shared URL names no tenant: only a token Roster knows says whose log
            // this belongs in. A missing, malformed or unknown token has no tenant to
            // tell, and is left to the access log and the metrics.
            None => {
                let Some(token) = &presented else {
                    return Ok(());
                };
                let Some(own) = tokens::by_public_id(
                    self.db.reader(),
                    None,
                    TokenKind::Scim,
                    token.public_id(),
                )
                .await?
                else {
                    return Ok(());
                };
                (own.tenant_id, Some(own))
            }
        };
        let prefix = presented.as_ref().filter(|_| own.is_some()).map(|token| {
            let short: String = token.public_id().chars().take(PREFIX_CHARS).collect();
            format!("{TOKEN_PREFIX}{short}…")
        });
        let well_formed = presented.is_some();
        let who = idp.name();
        let (status, detail) = match (reason, &own, &prefix) {
            (AuthError::Missing, _, _) => (
                401,
                format!(
                    "a request without a bearer token arrived; {who} must send the SCIM token \
                     in the Authorization header (\"Bearer rst_…\")"
                ),
            ),
            (AuthError::Revoked, Some(token), Some(prefix)) => (
                401,
                format!(
                    "a request with the revoked token \"{}\" ({prefix}) arrived; {who} still \
                     has the old token: paste a current one",
                    token.label
                ),
            ),
            (AuthError::Expired, Some(token), Some(prefix)) => (
                401,
                format!(
                    "a request with the expired token \"{}\" ({prefix}) arrived; create a new \
                     token and paste it into {who}",
                    token.label
                ),
            ),
            (AuthError::Suspended, Some(_), _) => (
                403,
                "a request arrived while this tenant is suspended; the Roster operator can \
                 resume it"
                    .to_owned(),
            ),
            (_, Some(token), Some(prefix)) => (
                401,
                format!(
                    "a request with the token \"{}\" ({prefix}) arrived with a wrong secret; \
                     paste the whole token into {who}, or create a new one",
                    token.label
                ),
            ),
            (_, _, _) if well_formed => (
                401,
                format!(
                    "a request with a token that is not valid for this tenant arrived; paste \
                     a token created on this tenant's SCIM tokens page into {who}"
                ),
            ),
            (_, _, _) => (
                401,
                format!(
                    "a request with something that is not a Roster SCIM token arrived; paste \
                     a token (rst_…) from this tenant's SCIM tokens page into {who}"
                ),
            ),
        };
        let detail = if slug.is_none() {
            detail.replacen("a request", "a request to the shared SCIM URL", 1)
        } else {
            detail
        };
        let key = format!(
            "{}:{status}:{}",
            tenant_id.0,
            prefix.as_deref().unwrap_or("-")
        );
        {
            let mut limits = self.limits();
            if !limits.fresh(key) || !limits.tenant_allows(tenant_id.0) {
                return Ok(());
            }
        }
        let row = LogRow {
            occurred_at: self.db.clock().now(),
            request_id: request_id.to_owned(),
            token_id: own.map(|token| token.id.0),
            operation: AUTH_REJECTED,
            resource_type: None,
            resource_id: None,
            outcome: "failure",
            status,
            scim_type: None,
            detail: Some(detail),
            duration_us: 0,
            user_name: None,
            user_name_lower: None,
            warning: None,
        };
        log::record(self.db.writer(), TenantScope::of_stored(tenant_id), row).await?;
        Ok(())
    }

    /// Records an identity provider's connection test that succeeded (at most one row
    /// per token and minute on this node). Best effort.
    pub async fn tested(&self, ctx: &RequestContext, call: &TestCall) {
        let key = format!(
            "test:{}:{}",
            ctx.tenant_id.0,
            ctx.token_id.map(|t| t.0.to_string()).unwrap_or_default()
        );
        if !self.limits().fresh(key) {
            return;
        }
        let through = match ctx.endpoint {
            ScimEndpoint::Tenant => "",
            ScimEndpoint::Shared => " through the shared SCIM URL",
        };
        let detail = format!(
            "{} tested the connection{through}: it {} and Roster answered",
            ctx.idp.subject(),
            call.what
        );
        let row = LogRow {
            occurred_at: self.db.clock().now(),
            request_id: ctx.request_id.clone(),
            token_id: ctx.token_id.map(|t| t.0),
            operation: CONNECTION_TEST,
            resource_type: None,
            resource_id: None,
            outcome: "success",
            status: 200,
            scim_type: None,
            detail: Some(detail),
            duration_us: ctx.elapsed_us(),
            user_name: None,
            user_name_lower: None,
            warning: None,
        };
        let result = log::record(self.db.writer(), TenantScope::from(ctx), row).await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "recording a connection test failed");
        }
    }

    /// The latest refusal and the latest connection test of the tenant (two index
    /// lookups on `(tenant_id, id)` narrowed by operation).
    pub async fn diagnose(&self, scope: &TenantAccess) -> Result<Diagnosis> {
        let scope = TenantScope::from(scope);
        let reader = self.db.reader();
        Ok(Diagnosis {
            rejected: log::latest(reader, scope, AUTH_REJECTED).await?,
            tested: log::latest(reader, scope, CONNECTION_TEST).await?,
        })
    }
}
