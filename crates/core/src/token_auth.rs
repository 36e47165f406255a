//! Bearer-token authentication without argon2 on every request, for both kinds of
//! secret: SCIM tokens (`Services::token_auth`) and API keys (`Services::api_key_auth`).
//! Each authenticator handles one kind — its own prefix, its own rows (`kind` column),
//! its own cache — so a SCIM token never opens the API and an API key never the SCIM
//! endpoint. Their argon2 verifications go through the node's bounded hashing pool
//! (`crate::hashing`), as every password check does.
//!
//! The first request with a token verifies its secret against the stored argon2id hash
//! (on the hashing pool; when it is full, `Error::Busy` — a 503 to try again). The node then remembers the token's
//! id with a SHA-256 digest of the secret. Later requests compare digests in constant
//! time — microseconds — and re-read the token and tenant rows at most every
//! [`REVALIDATE_AFTER`], so that revocation, expiry and tenant suspension made through any
//! node take effect here within a second. `last_used_at` is written at most once a minute
//! per token.
//!
//! The token, not the URL, decides the tenant: a token of another tenant, an unknown
//! tenant and a bad token all get the same answer, so the answer never reveals whether a
//! tenant exists.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;

use crate::crypto::{constant_time_eq, sha256};
use crate::hashing::Hasher;
use crate::metrics::{CoreMetrics, TokenCheck};
use crate::store::TenantScope;
use crate::store::tokens::{self as store, CredentialRow};
use crate::tenants::{TenantId, TenantSlug};
use crate::time::Timestamp;
use crate::tokens::{PresentedToken, TokenId, TokenKind};
use crate::{Database, Result};

/// How old a cached verification may be before the rows are read again.
pub const REVALIDATE_AFTER: Duration = Duration::from_millis(750);
/// How often `last_used_at` is written for a busy token.
pub const LAST_USED_INTERVAL: Duration = Duration::from_secs(60);
/// Tokens remembered per node.
const CACHE_CAPACITY: usize = 10_000;

/// A request's proven identity: which token, for which tenant.
///
/// Only [`TokenAuthenticator`] makes one — its fields are private and it has no public
/// constructor — so "only an authenticated token yields a `RequestContext` or a
/// `TenantApi`" holds by construction, not by care. Code outside this crate cannot write
/// one:
///
/// ```compile_fail,E0451
/// use roster_core::token_auth::AuthenticatedToken;
/// use roster_core::tokens::{ApiScope, TokenId, TokenKind};
/// use roster_core::tenants::{TenantId, TenantSlug};
///
/// let forged = AuthenticatedToken {
///     kind: TokenKind::Api,
///     token_id: TokenId(uuid::Uuid::nil()),
///     tenant_id: TenantId(uuid::Uuid::nil()),
///     tenant_slug: TenantSlug::parse("acme").unwrap(),
///     rate_limit: None,
///     domain_id: None,
///     display_prefix: String::new(),
///     api_scope: ApiScope::Write,
/// };
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedToken {
    kind: TokenKind,
    token_id: TokenId,
    tenant_id: TenantId,
    tenant_slug: TenantSlug,
    rate_limit: Option<u32>,
    domain_id: Option<uuid::Uuid>,
    display_prefix: String,
    api_scope: crate::api::ApiScope,
}

impl AuthenticatedToken {
    /// Which kind of secret was presented (the authenticator's kind).
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    pub fn token_id(&self) -> TokenId {
        self.token_id
    }

    /// The tenant the token belongs to: the only source of the request's tenant.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    pub fn tenant_slug(&self) -> &TenantSlug {
        &self.tenant_slug
    }

    /// Requests per second allowed for this token, from the tenant; `None` = the server's
    /// default.
    pub fn rate_limit(&self) -> Option<u32> {
        self.rate_limit
    }

    /// The trusted domain the token is limited to, if any.
    pub fn domain_id(&self) -> Option<uuid::Uuid> {
        self.domain_id
    }

    /// `rst_<public id>` (`rak_…` for an API key): names the token in logs and in the
    /// admin UI's list, and opens nothing.
    pub fn display_prefix(&self) -> &str {
        &self.display_prefix
    }

    /// What an API key may do (`Read` for a SCIM token).
    pub fn api_scope(&self) -> crate::api::ApiScope {
        self.api_scope
    }
}

/// Why a token was refused. Only [`AuthError::Suspended`] is shown differently; every
/// other reason is a plain 401 whose detail does not say which tenant, if any, exists.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header must be \"Bearer <token>\"")]
    Missing,
    #[error("the bearer token is not valid for this endpoint")]
    Invalid,
    #[error("this token has been revoked; create a new one in Roster")]
    Revoked,
    #[error("this token has expired; create a new one in Roster")]
    Expired,
    #[error("provisioning for this tenant is suspended; contact the Roster operator")]
    Suspended,
}

#[derive(Clone)]
struct CacheEntry {
    digest: [u8; 32],
    token: AuthenticatedToken,
    expires_at: Option<Timestamp>,
    checked_at: Instant,
    last_used_written: Option<Instant>,
}

/// Per-node authenticator; clone freely (shared state).
#[derive(Clone)]
pub struct TokenAuthenticator {
    db: Database,
    kind: TokenKind,
    cache: Arc<RwLock<HashMap<String, CacheEntry>>>,
    hasher: Hasher,
    metrics: CoreMetrics,
}

impl std::fmt::Debug for TokenAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuthenticator").finish_non_exhaustive()
    }
}

impl TokenAuthenticator {
    /// The SCIM token authenticator; `metrics` counts how tokens were recognised.
    pub fn new(db: Database, hasher: Hasher, metrics: CoreMetrics) -> Self {
        Self {
            db,
            kind: TokenKind::Scim,
            cache: Arc::new(RwLock::new(HashMap::new())),
            hasher,
            metrics,
        }
    }

    /// An authenticator for another kind of secret, with its own cache, on the same
    /// hashing pool.
    pub fn for_kind(&self, kind: TokenKind) -> Self {
        Self {
            db: self.db.clone(),
            kind,
            cache: Arc::new(RwLock::new(HashMap::new())),
            hasher: self.hasher.clone(),
            metrics: self.metrics.clone(),
        }
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// Authenticates the value of an `Authorization` header for the tenant named in the
    /// URL.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        tenant_slug: &str,
    ) -> Result<std::result::Result<AuthenticatedToken, AuthError>> {
        self.authenticate_for(authorization, Some(tenant_slug))
            .await
    }

    /// Authenticates the value of an `Authorization` header whose secret alone decides
    /// the tenant (the API has no tenant in its URLs).
    pub async fn authenticate_any_tenant(
        &self,
        authorization: Option<&str>,
    ) -> Result<std::result::Result<AuthenticatedToken, AuthError>> {
        self.authenticate_for(authorization, None).await
    }

    async fn authenticate_for(
        &self,
        authorization: Option<&str>,
        tenant_slug: Option<&str>,
    ) -> Result<std::result::Result<AuthenticatedToken, AuthError>> {
        let Some(raw) = authorization.and_then(bearer_token) else {
            return Ok(Err(AuthError::Missing));
        };
        let Some(presented) = PresentedToken::parse_kind(self.kind, raw) else {
            return Ok(Err(AuthError::Invalid));
        };
        let digest = sha256(presented.secret().expose_secret().as_bytes());
        let now = self.db.clock().now();

        let cached = self.cached(presented.public_id());
        let outcome = match cached {
            Some(entry) if constant_time_eq(&entry.digest, &digest) => {
                if entry.checked_at.elapsed() < REVALIDATE_AFTER {
                    self.metrics.token_check(self.kind, TokenCheck::Hit);
                    check_expiry(entry.expires_at, now).map(|()| entry.token.clone())
                } else {
                    self.metrics.token_check(self.kind, TokenCheck::Revalidated);
                    self.revalidate(presented.public_id(), digest, now).await?
                }
            }
            _ => {
                self.metrics.token_check(self.kind, TokenCheck::Miss);
                self.verify_fully(&presented, digest, now).await?
            }
        };
        Ok(outcome.and_then(|token| {
            if tenant_slug.is_none_or(|slug| token.tenant_slug.as_str() == slug) {
                self.note_use(presented.public_id(), token.tenant_id, token.token_id);
                Ok(token)
            } else {
                Err(AuthError::Invalid)
            }
        }))
    }

    fn cached(&self, public_id: &str) -> Option<CacheEntry> {
        self.cache
            .read()
            .ok()
            .and_then(|cache| cache.get(public_id).cloned())
    }

    fn forget(&self, public_id: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(public_id);
        }
    }

    fn remember(&self, public_id: &str, entry: CacheEntry) {
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_CAPACITY && !cache.contains_key(public_id) {
                // Evict the entry checked longest ago; a full cache is rare (one entry per
                // live token) and this keeps memory bounded.
                if let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, entry)| entry.checked_at)
                    .map(|(key, _)| key.clone())
                {
                    cache.remove(&oldest);
                }
            }
            let last_used_written = cache.get(public_id).and_then(|e| e.last_used_written);
            cache.insert(
                public_id.to_owned(),
                CacheEntry {
                    last_used_written,
                    ..entry
                },
            );
        }
    }

    /// What the database says about a token right now.
    async fn load(&self, public_id: &str) -> Result<Option<CredentialRow>> {
        Ok(store::credential(self.db.reader(), self.kind, public_id).await?)
    }

    /// A cached token whose check is stale: re-read the rows, no argon2 needed (the
    /// digest matched a secret argon2 verified before).
    async fn revalidate(
        &self,
        public_id: &str,
        digest: [u8; 32],
        now: Timestamp,
    ) -> Result<std::result::Result<AuthenticatedToken, AuthError>> {
        let Some(row) = self.load(public_id).await? else {
            self.forget(public_id);
            return Ok(Err(AuthError::Invalid));
        };
        Ok(self.admit(public_id, digest, row, now))
    }

    async fn verify_fully(
        &self,
        presented: &PresentedToken,
        digest: [u8; 32],
        now: Timestamp,
    ) -> Result<std::result::Result<AuthenticatedToken, AuthError>> {
        let Some(row) = self.load(presented.public_id()).await? else {
            return Ok(Err(AuthError::Invalid));
        };
        let verified = self
            .hasher
            .verify(presented.secret().clone(), Some(row.secret_hash.clone()))
            .await?;
        if !verified {
            return Ok(Err(AuthError::Invalid));
        }
        Ok(self.admit(presented.public_id(), digest, row, now))
    }

    /// Applies revocation, expiry and suspension to a token whose secret is proven, and
    /// caches it when it may be used.
    fn admit(
        &self,
        public_id: &str,
        digest: [u8; 32],
        row: CredentialRow,
        now: Timestamp,
    ) -> std::result::Result<AuthenticatedToken, AuthError> {
        if row.token.revoked_at.is_some() {
            self.forget(public_id);
            return Err(AuthError::Revoked);
        }
        let expires_at = row.token.expires_at;
        if let Err(err) = check_expiry(expires_at, now) {
            self.forget(public_id);
            return Err(err);
        }
        if row.tenant_status != "active" {
            self.forget(public_id);
            return Err(AuthError::Suspended);
        }
        let Ok(tenant_slug) = TenantSlug::parse(&row.tenant_slug) else {
            return Err(AuthError::Invalid);
        };
        let token = AuthenticatedToken {
            kind: self.kind,
            token_id: row.token.id,
            tenant_id: row.tenant_id,
            tenant_slug,
            rate_limit: row
                .tenant_rate_limit
                .and_then(|limit| u32::try_from(limit).ok()),
            domain_id: row.token.domain_id,
            display_prefix: format!("{}{public_id}", self.kind.prefix()),
            api_scope: row.token.api_scope,
        };
        self.remember(
            public_id,
            CacheEntry {
                digest,
                token: token.clone(),
                expires_at,
                checked_at: Instant::now(),
                last_used_written: None,
            },
        );
        Ok(token)
    }

    /// Writes `last_used_at` in the background when it is due for this token.
    fn note_use(&self, public_id: &str, tenant: TenantId, token_id: TokenId) {
        let due = {
            let Ok(mut cache) = self.cache.write() else {
                return;
            };
            match cache.get_mut(public_id) {
                Some(entry)
                    if entry
                        .last_used_written
                        .is_none_or(|at| at.elapsed() >= LAST_USED_INTERVAL) =>
                {
                    entry.last_used_written = Some(Instant::now());
                    true
                }
                _ => false,
            }
        };
        if !due {
            return;
        }
        let db = self.db.clone();
        tokio::spawn(async move {
            let result = store::record_use(
                db.writer(),
                TenantScope::of_stored(tenant),
                token_id,
                db.clock().now(),
            )
            .await;
            if let Err(err) = result {
                tracing::warn!(error = %err, "recording a token's last use failed");
            }
        });
    }
}

fn check_expiry(
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> std::result::Result<(), AuthError> {
    match expires_at {
        Some(at) if at <= now => Err(AuthError::Expired),
        _ => Ok(()),
    }
}

/// The token of a `Bearer` authorization header (scheme case-insensitive, RFC 7235).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
