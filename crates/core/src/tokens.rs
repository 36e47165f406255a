//! Bearer secrets of a tenant, of two kinds sharing one table and one code path:
//! SCIM tokens `rst_<public id>_<secret>` (what an identity provider sends) and API keys
//! `rak_<public id>_<secret>` (what the product behind Roster sends to the events and
//! directory API). A [`TokenService`] handles one kind; a secret of one kind never lists,
//! revokes or authenticates as the other.
//!
//! The public id (8 random bytes, hex) finds the row; the secret (32 random bytes,
//! base64url) is checked against its argon2id hash. Only the hash is stored; the whole
//! token is shown once, when it is created.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

pub use crate::api::ApiScope;
use crate::audit::{self, Change};
use crate::crypto;
use crate::hashing::Hasher;
use crate::memberships::TenantAccess;
use crate::paging::{Page, PageSize};
use crate::store::TenantScope;
use crate::store::tokens::{self as store, NewToken};
use crate::tenants::TenantId;
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// The recognisable start of every Roster SCIM token (also what secret scanners match).
pub const TOKEN_PREFIX: &str = "rst_";
/// The recognisable start of every Roster API key.
pub const API_KEY_PREFIX: &str = "rak_";
/// `scim_tokens.kind` of a SCIM token (API keys share the table with `api`).
pub const KIND_SCIM: &str = "scim";
/// `scim_tokens.kind` of an API key.
pub const KIND_API: &str = "api";

/// Which kind of bearer secret: it decides the prefix, the `kind` column and the
/// endpoint the secret opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A SCIM token: opens `/scim/v2/{tenant}`.
    Scim,
    /// An API key: opens `/api/v1`.
    Api,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Scim => TOKEN_PREFIX,
            Self::Api => API_KEY_PREFIX,
        }
    }

    /// The value of the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scim => KIND_SCIM,
            Self::Api => KIND_API,
        }
    }
}
const PUBLIC_ID_LEN: usize = 16;
const SECRET_LEN: usize = 43;

/// A presented token split into its parts. Its `Debug` never shows the secret.
pub struct PresentedToken {
    kind: TokenKind,
    public_id: String,
    secret: SecretString,
}

impl PresentedToken {
    /// Parses a SCIM token without touching the database. Anything malformed is
    /// rejected here, before any lookup or hashing.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::parse_kind(TokenKind::Scim, raw)
    }

    /// Parses a secret of `kind`: its prefix must be that kind's.
    pub fn parse_kind(kind: TokenKind, raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(kind.prefix())?;
        let (public_id, secret) = rest.split_once('_')?;
        let public_ok = public_id.len() == PUBLIC_ID_LEN
            && public_id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let secret_ok = secret.len() == SECRET_LEN
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (public_ok && secret_ok).then(|| Self {
            kind,
            public_id: public_id.to_owned(),
            secret: SecretString::from(secret.to_owned()),
        })
    }

    pub fn public_id(&self) -> &str {
        &self.public_id
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    pub fn secret(&self) -> &SecretString {
        &self.secret
    }
}

impl fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PresentedToken({}{}_***)",
            self.kind.prefix(),
            self.public_id
        )
    }
}

/// A token label: 1–100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenLabel(String);

impl TokenLabel {
    pub fn parse(raw: &str) -> Result<Self> {
        let label = raw.trim();
        if label.is_empty() {
            return Err(Error::invalid("label", "must not be empty"));
        }
        if label.chars().count() > 100 {
            return Err(Error::invalid(
                "label",
                "must be at most 100 characters long",
            ));
        }
        if label.chars().any(char::is_control) {
            return Err(Error::invalid(
                "label",
                "must not contain control characters",
            ));
        }
        Ok(Self(label.to_owned()))
    }
}

/// When a token stops working: the end (23:59:59 UTC) of a day in `YYYY-MM-DD` form,
/// which is what a date input sends. Empty means never; a day before `now`'s is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenExpiry(Option<Timestamp>);

impl TokenExpiry {
    pub fn parse(raw: &str, now: Timestamp) -> Result<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self(None));
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(raw, &format)
            .map_err(|_| Error::invalid("expires", "must be a date like 2027-01-31, or empty"))?;
        let end_of_day = date
            .with_hms_micro(23, 59, 59, 999_999)
            .map_err(|_| Error::invalid("expires", "must be a date like 2027-01-31"))?
            .assume_utc();
        let at = Timestamp::from_datetime(end_of_day);
        if at <= now {
            return Err(Error::invalid("expires", "must be a day in the future"));
        }
        Ok(Self(Some(at)))
    }

    pub fn at(self) -> Option<Timestamp> {
        self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenId(pub Uuid);

/// What is known of a token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: TokenId,
    pub tenant_id: TenantId,
    /// `rst_<public id>` (`rak_…` for an API key): enough to recognise the token in a list, useless to an attacker.
    pub display_prefix: String,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The trusted domain the token is limited to (it may only create or change users
    /// of that domain).
    pub domain_id: Option<Uuid>,
    /// What an API key may do (`Read` for SCIM tokens).
    pub api_scope: ApiScope,
}

/// What a new token is limited to: a trusted domain (SCIM tokens), a scope (API keys).
struct Limits {
    domain: Option<Uuid>,
    api_scope: ApiScope,
}

impl Limits {
    fn domain(domain: Option<Uuid>) -> Self {
        Self {
            domain,
            api_scope: ApiScope::Read,
        }
    }
}

/// A token just created: its description and the full token, to be shown once.
pub struct CreatedToken {
    pub info: TokenInfo,
    pub token: SecretString,
}

/// The tokens of one kind: `Services::tokens()` (SCIM) or `Services::api_keys()`.
#[derive(Clone, Debug)]
pub struct TokenService {
    db: Database,
    kind: TokenKind,
    hasher: Hasher,
}

impl TokenService {
    /// The SCIM tokens.
    pub fn new(db: Database, hasher: Hasher) -> Self {
        Self::of_kind(db, hasher, TokenKind::Scim)
    }

    pub fn of_kind(db: Database, hasher: Hasher, kind: TokenKind) -> Self {
        Self { db, kind, hasher }
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// Creates an API key that may do what `api_scope` says (the admin UI's "Read" or
    /// "Read and write users"; the command line's `--write`), on behalf of whoever holds
    /// `scope`, audited in the same transaction. For a SCIM token `api_scope` must be
    /// `Read` (its endpoint decides what it may do). The command line, which is the
    /// operator, gets its `TenantAccess` from `MembershipService::command_line_access`.
    pub async fn create_api_key(
        &self,
        scope: &TenantAccess,
        label: TokenLabel,
        expires_at: Option<Timestamp>,
        api_scope: ApiScope,
    ) -> Result<CreatedToken> {
        self.insert(
            scope,
            label,
            expires_at,
            Limits {
                domain: None,
                api_scope,
            },
        )
        .await
    }

    /// Creates a token on behalf of whoever holds `scope` (an admin, a setup link, the
    /// command line), optionally limited to one of the tenant's verified trusted domains
    /// (a secret per domain), audited in the same transaction. There is no way to create
    /// a token from a bare tenant id.
    pub async fn create_for(
        &self,
        scope: &TenantAccess,
        label: TokenLabel,
        expires_at: Option<Timestamp>,
        domain: Option<Uuid>,
    ) -> Result<CreatedToken> {
        self.insert(scope, label, expires_at, Limits::domain(domain))
            .await
    }

    async fn insert(
        &self,
        scope: &TenantAccess,
        label: TokenLabel,
        expires_at: Option<Timestamp>,
        limits: Limits,
    ) -> Result<CreatedToken> {
        let tenant = scope.id();
        let created_by = scope.actor().admin_id();
        let Limits { domain, api_scope } = limits;
        if api_scope != ApiScope::Read && self.kind != TokenKind::Api {
            return Err(Error::invalid("scope", "only API keys have a scope"));
        }
        if domain.is_some() && self.kind != TokenKind::Scim {
            return Err(Error::invalid(
                "domain",
                "only SCIM tokens can be limited to a domain",
            ));
        }
        if let Some(domain) = domain {
            let verified =
                store::is_verified_domain(self.db.reader(), TenantScope::of_stored(tenant), domain)
                    .await?;
            if !verified {
                return Err(Error::invalid(
                    "domain",
                    "must be one of this tenant's verified domains",
                ));
            }
        }
        let public_id = hex::encode(crypto::random_bytes::<8>());
        let secret = crypto::random_token::<32>();
        let prefix = self.kind.prefix();
        let token = SecretString::from(format!("{prefix}{public_id}_{secret}"));
        let secret_hash = self
            .hasher
            .hash_random_secret(SecretString::from(secret))
            .await?;
        let txn = self.db.begin_write().await?;
        let new = NewToken {
            kind: self.kind,
            public_id,
            secret_hash,
            label: label.0,
            created_at: self.db.clock().now(),
            created_by: created_by.map(|admin| admin.0),
            expires_at,
            domain,
            api_scope,
        };
        let info = store::insert(&txn, TenantScope::of_stored(tenant), new).await?;
        audit::record_for(
            &txn,
            self.db.clock().now(),
            Some(tenant),
            scope.actor(),
            scope.origin(),
            Change::new(self.action("create"))
                .target(self.target_kind(), info.id.0, describe(&info))
                .after(serde_json::json!({
                    "label": info.label,
                    "prefix": info.display_prefix,
                    "expires_at": info.expires_at.map(Timestamp::to_rfc3339),
                    "domain_id": info.domain_id,
                    "scope": (self.kind == TokenKind::Api).then(|| info.api_scope.as_str()),
                })),
        )
        .await?;
        txn.commit().await?;
        debug_assert!(token.expose_secret().starts_with(prefix));
        Ok(CreatedToken { info, token })
    }

    /// How the audit log names this kind of secret.
    fn target_kind(&self) -> &'static str {
        match self.kind {
            TokenKind::Scim => "token",
            TokenKind::Api => "api_key",
        }
    }

    /// The audit action of this kind of secret: `token.…` or `api_key.…`.
    fn action(&self, verb: &'static str) -> &'static str {
        match (self.kind, verb) {
            (TokenKind::Scim, "create") => "token.create",
            (TokenKind::Scim, _) => "token.revoke",
            (TokenKind::Api, "create") => "api_key.create",
            (TokenKind::Api, _) => "api_key.revoke",
        }
    }
}

/// How the audit log names a token: its label and public prefix, never its secret.
fn describe(token: &TokenInfo) -> String {
    format!("{} ({}…)", token.label, token.display_prefix)
}

impl TokenInfo {
    /// Usable now: neither revoked nor expired.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

impl TokenService {
    /// The tenant's tokens, newest first, revoked ones included (keyset on the UUIDv7 id).
    pub async fn list(
        &self,
        scope: &TenantAccess,
        before: Option<TokenId>,
        size: PageSize,
    ) -> Result<Page<TokenInfo, TokenId>> {
        let rows = store::page(
            self.db.reader(),
            TenantScope::from(scope),
            self.kind,
            before,
            size.probe(),
        )
        .await?;
        Ok(Page::from_probe(rows, size, |token: &TokenInfo| token.id))
    }

    /// The live-or-expired (not revoked) tokens limited to one of `domains`, newest first,
    /// at most `limit` (the trusted-domains page shows them on each domain's card).
    pub async fn for_domains(
        &self,
        scope: &TenantAccess,
        domains: &[Uuid],
        limit: u64,
    ) -> Result<Vec<TokenInfo>> {
        if domains.is_empty() {
            return Ok(Vec::new());
        }
        Ok(store::for_domains(
            self.db.reader(),
            TenantScope::from(scope),
            self.kind,
            domains,
            limit,
        )
        .await?)
    }

    pub async fn find(&self, scope: &TenantAccess, id: TokenId) -> Result<Option<TokenInfo>> {
        Ok(store::find(self.db.reader(), TenantScope::from(scope), self.kind, id).await?)
    }

    /// Revokes a token of this tenant. Revoking a revoked token changes nothing.
    pub async fn revoke(&self, scope: &TenantAccess, id: TokenId) -> Result<TokenInfo> {
        let txn = self.db.begin_write().await?;
        let revoked = store::revoke(
            &txn,
            TenantScope::from(scope),
            self.kind,
            id,
            self.db.clock().now(),
        )
        .await?;
        if let Some(info) = revoked {
            audit::record(
                &txn,
                self.db.clock().now(),
                scope,
                Change::new(self.action("revoke"))
                    .target(self.target_kind(), info.id.0, describe(&info))
                    .before(serde_json::json!({ "status": "active" }))
                    .after(serde_json::json!({ "status": "revoked" })),
            )
            .await?;
        }
        txn.commit().await?;
        self.find(scope, id).await?.ok_or(Error::NotFound)
    }

    /// When a live token of the tenant (of this kind) was last accepted by its endpoint: whether
    /// the identity provider has connected yet.
    pub async fn last_used(&self, scope: &TenantAccess) -> Result<Option<Timestamp>> {
        let now = self.db.clock().now();
        Ok(store::last_used(self.db.reader(), TenantScope::from(scope), self.kind, now).await?)
    }
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
