//! Setup links: an operator or a tenant's admin sends the customer's IT admin a link that,
//! until it expires or is revoked, lets whoever holds it set up provisioning for one
//! tenant alone — without an account, and with only the abilities the link names.
//!
//! - The link carries 32 random bytes; only their SHA-256 is stored
//!   (`setup_links.secret_digest`), and the creator sees the link once.
//! - Opening the link shows a page branded with the tenant's name; starting the setup (a
//!   POST, so a chat's link preview never uses it) opens a **setup session**: its own
//!   cookie secret, stored as a digest in `setup_sessions`, ending with the link at the
//!   latest. Every start is counted on the link and written to the audit log, and so is
//!   everything done in the session (the actor is the link).
//! - The session yields a [`TenantAccess`] whose actor is the link; the web layer lets it
//!   reach only the pages of the link's [`Abilities`], and every other page answers 404.
//! - Revoking the link deletes its sessions in the same transaction: the next request of
//!   its holder is refused.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::audit::{self, Actor, Change, Origin};
use crate::crypto;
use crate::memberships::TenantAccess;
use crate::store::TenantScope;
use crate::store::accounts::setup_links::{self as store, NewSetupLink, SetupLinkRow};
use crate::store::tenants::find as tenant_by_id;
use crate::tenants::{Tenant, TenantStatus};
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// Length of a link or cookie secret: 32 random bytes, base64url without padding.
const SECRET_LEN: usize = 43;
/// Links of one tenant that may be live at once.
pub const MAX_LIVE_LINKS: u64 = 50;
/// The longest a setup session lasts (less when its link ends sooner).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// `last_seen_at` is written at most this often per session.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// What a setup link lets its holder do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Abilities {
    /// Create and revoke SCIM tokens.
    pub tokens: bool,
    /// Follow the identity provider's guide (with the tenant's URL) and run the
    /// connection check.
    pub guide: bool,
    /// Read the provisioning log.
    pub log: bool,
    /// See the users and groups provisioned.
    pub users: bool,
}

impl Abilities {
    pub const ALL: Self = Self {
        tokens: true,
        guide: true,
        log: true,
        users: true,
    };

    /// The abilities named in a form (checkbox names); at least one.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut abilities = Self::default();
        for name in names {
            match name {
                "tokens" => abilities.tokens = true,
                "guide" => abilities.guide = true,
                "log" => abilities.log = true,
                "users" => abilities.users = true,
                _ => {}
            }
        }
        if abilities == Self::default() {
            return Err(Error::invalid(
                "abilities",
                "choose at least one thing the link may do",
            ));
        }
        Ok(abilities)
    }

    pub(crate) fn stored(self) -> String {
        self.names().join(",")
    }

    pub(crate) fn from_stored(raw: &str) -> Self {
        Self::parse(raw.split(',')).unwrap_or_default()
    }

    /// The names of the abilities, in a fixed order.
    pub fn names(self) -> Vec<&'static str> {
        let mut names = Vec::with_capacity(4);
        for (on, name) in [
            (self.tokens, "tokens"),
            (self.guide, "guide"),
            (self.log, "log"),
            (self.users, "users"),
        ] {
            if on {
                names.push(name);
            }
        }
        names
    }
}

/// A link's label: 1–100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLinkLabel(String);

impl SetupLinkLabel {
    pub fn parse(raw: &str) -> Result<Self> {
        let label = raw.trim();
        if label.is_empty() {
            return Err(Error::invalid(
                "label",
                "must not be empty: say who the link is for",
            ));
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

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long a link works: one of the offered choices, in hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetupLinkLifetime(u64);

impl SetupLinkLifetime {
    /// The choices the form offers: (hours, label).
    pub const CHOICES: [(u64, &'static str); 4] = [
        (24, "24 hours"),
        (72, "3 days"),
        (168, "7 days"),
        (336, "14 days"),
    ];

    pub fn parse(raw: &str) -> Result<Self> {
        raw.trim()
            .parse::<u64>()
            .ok()
            .filter(|hours| Self::CHOICES.iter().any(|(h, _)| h == hours))
            .map(Self)
            .ok_or_else(|| Error::invalid("expires", "choose one of the offered durations"))
    }

    pub fn hours(self) -> u64 {
        self.0
    }

    fn duration(self) -> Duration {
        Duration::from_secs(self.0 * 3600)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetupLinkId(pub Uuid);

/// A link as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLinkInfo {
    pub id: SetupLinkId,
    pub label: String,
    pub abilities: Abilities,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub uses: u64,
}

impl SetupLinkInfo {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A link just created: shown once.
pub struct CreatedSetupLink {
    pub info: SetupLinkInfo,
    pub secret: SecretString,
}

/// What a link's secret leads to.
#[derive(Debug)]
pub enum SetupLinkLookup {
    Open {
        tenant: Tenant,
        link: SetupLinkInfo,
    },
    /// Past its expiry (the page says so, with the tenant's name).
    Expired {
        tenant: Tenant,
    },
    /// Revoked by an admin.
    Revoked {
        tenant: Tenant,
    },
    Unknown,
}

/// A setup session, as each request finds it.
#[derive(Clone, PartialEq, Eq)]
pub struct SetupSession {
    pub link: SetupLinkInfo,
    /// The tenant, with the link as the actor.
    pub scope: TenantAccess,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

impl fmt::Debug for SetupSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetupSession")
            .field("link", &self.link.id)
            .finish_non_exhaustive()
    }
}

/// A session just opened with a link: the cookie secret goes to the browser only.
pub struct StartedSetup {
    pub secret: SecretString,
    pub expires_at: Timestamp,
    pub tenant: Tenant,
    /// What the link allows (where its holder lands first).
    pub abilities: Abilities,
}

/// Opening a setup session failed because the link no longer works.
#[derive(Debug)]
pub enum StartRefused {
    Expired { tenant: Tenant },
    Revoked { tenant: Tenant },
    Unknown,
}

#[derive(Clone, Debug)]
pub struct SetupLinkService {
    db: Database,
}

fn well_formed(secret: &str) -> bool {
    secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl SetupLinkService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Creates a link for the tenant of `scope`. Only admins create links (a link's
    /// holder cannot make more).
    pub async fn create(
        &self,
        scope: &TenantAccess,
        label: SetupLinkLabel,
        lifetime: SetupLinkLifetime,
        abilities: Abilities,
    ) -> Result<CreatedSetupLink> {
        let Actor::Admin { id: admin, .. } = scope.actor() else {
            return Err(Error::NotFound);
        };
        let now = self.db.clock().now();
        let tenant = TenantScope::from(scope);
        let live = store::count_live_links(self.db.reader(), tenant, now).await?;
        if live >= MAX_LIVE_LINKS {
            return Err(Error::invalid(
                "label",
                format!("this tenant has {MAX_LIVE_LINKS} live setup links; revoke some first"),
            ));
        }
        let secret = crypto::random_token::<32>();
        let new = NewSetupLink {
            label: label.as_str(),
            secret_digest: crypto::sha256_hex(secret.as_bytes()),
            abilities,
            created_by: *admin,
            created_by_name: scope.actor().name(),
            created_at: now,
            expires_at: now.plus(lifetime.duration()),
        };
        let txn = self.db.begin_write().await?;
        let info = store::insert_link(&txn, tenant, new).await?;
        audit::record(
            &txn,
            self.db.clock().now(),
            scope,
            Change::new("setup_link.create")
                .target("setup_link", info.id.0, info.label.clone())
                .after(serde_json::json!({
                    "abilities": info.abilities.names(),
                    "expires_at": info.expires_at.to_rfc3339(),
                })),
        )
        .await?;
        txn.commit().await?;
        Ok(CreatedSetupLink {
            info,
            secret: SecretString::from(secret),
        })
    }

    /// The tenant's links, newest first: the live ones and the last ended ones (a
    /// bounded list: at most [`MAX_LIVE_LINKS`] are live).
    pub async fn list(&self, scope: &TenantAccess) -> Result<Vec<SetupLinkInfo>> {
        let tenant = TenantScope::from(scope);
        Ok(store::links(self.db.reader(), tenant, MAX_LIVE_LINKS * 2).await?)
    }

    pub async fn find(&self, scope: &TenantAccess, id: SetupLinkId) -> Result<SetupLinkInfo> {
        let tenant = TenantScope::from(scope);
        store::link(self.db.reader(), tenant, id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Revokes a link and ends its sessions, in one transaction with the audit row.
    /// Revoking a revoked link changes nothing.
    pub async fn revoke(&self, scope: &TenantAccess, id: SetupLinkId) -> Result<()> {
        if !matches!(scope.actor(), Actor::Admin { .. }) {
            return Err(Error::NotFound);
        }
        let link = self.find(scope, id).await?;
        let tenant = TenantScope::from(scope);
        let txn = self.db.begin_write().await?;
        let revoked = store::revoke_link(&txn, tenant, id, self.db.clock().now()).await?;
        store::delete_link_sessions(&txn, tenant, id).await?;
        if revoked {
            audit::record(
                &txn,
                self.db.clock().now(),
                scope,
                Change::new("setup_link.revoke").target("setup_link", id.0, link.label),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn by_secret(&self, secret: &str) -> Result<Option<(SetupLinkRow, Tenant)>> {
        if !well_formed(secret) {
            return Ok(None);
        }
        let digest = crypto::sha256_hex(secret.as_bytes());
        let Some(row) = store::link_by_secret(self.db.reader(), &digest).await? else {
            return Ok(None);
        };
        let tenant = tenant_by_id(self.db.reader(), row.tenant).await?;
        Ok(tenant.map(|tenant| (row, tenant)))
    }

    /// What the link with this secret leads to (the landing page; nothing is written).
    pub async fn lookup(&self, secret: &str) -> Result<SetupLinkLookup> {
        let Some((row, tenant)) = self.by_secret(secret).await? else {
            return Ok(SetupLinkLookup::Unknown);
        };
        let link = row.link;
        Ok(if link.revoked_at.is_some() {
            SetupLinkLookup::Revoked { tenant }
        } else if link.expires_at <= self.db.clock().now() {
            SetupLinkLookup::Expired { tenant }
        } else {
            SetupLinkLookup::Open { tenant, link }
        })
    }

    /// Starts a setup session with the link: counted on the link and audited (with the
    /// request's id and client address) in the transaction that opens the session.
    pub async fn start(
        &self,
        secret: &SecretString,
        origin: Origin,
    ) -> Result<std::result::Result<StartedSetup, StartRefused>> {
        let Some((row, tenant)) = self.by_secret(secret.expose_secret()).await? else {
            return Ok(Err(StartRefused::Unknown));
        };
        let SetupLinkRow {
            tenant: tenant_id,
            link: row,
        } = row;
        let now = self.db.clock().now();
        if row.revoked_at.is_some() {
            return Ok(Err(StartRefused::Revoked { tenant }));
        }
        if row.expires_at <= now {
            return Ok(Err(StartRefused::Expired { tenant }));
        }
        let cookie = crypto::random_token::<32>();
        let expires_at = Ord::min(now.plus(SESSION_LIFETIME), row.expires_at);
        let scope = TenantScope::of_stored(tenant_id);
        let txn = self.db.begin_write().await?;
        // Counting the use is the first write, guarded like the checks above: a link
        // revoked in between opens nothing.
        if !store::count_link_use(&txn, scope, row.id, now).await? {
            txn.rollback().await?;
            return Ok(Err(StartRefused::Revoked { tenant }));
        }
        let session_id = crypto::sha256_hex(cookie.as_bytes());
        let csrf_token = crypto::random_token::<32>();
        // Setup sessions that have ended, of every tenant, go first (sign-ins sweep
        // admin sessions the same way).
        store::delete_expired_setup_sessions(&txn, now).await?;
        store::insert_setup_session(&txn, scope, session_id, row.id, csrf_token, now, expires_at)
            .await?;
        let actor = Actor::SetupLink {
            id: row.id.0,
            label: row.label.clone(),
        };
        audit::record_for(
            &txn,
            self.db.clock().now(),
            Some(tenant.id),
            &actor,
            &origin,
            Change::new("setup_link.use").target("setup_link", row.id.0, row.label.clone()),
        )
        .await?;
        txn.commit().await?;
        Ok(Ok(StartedSetup {
            secret: SecretString::from(cookie),
            expires_at,
            tenant,
            abilities: row.abilities,
        }))
    }

    /// The live setup session of a cookie, if any: its link still live, its tenant
    /// active (a suspended tenant's setup stops), within its lifetime.
    pub async fn authenticate(&self, cookie: &str) -> Result<Option<SetupSession>> {
        if !well_formed(cookie) {
            return Ok(None);
        }
        let now = self.db.clock().now();
        let id = crypto::sha256_hex(cookie.as_bytes());
        let Some(session) = store::setup_session(self.db.reader(), &id).await? else {
            return Ok(None);
        };
        if session.expires_at <= now {
            return Ok(None);
        }
        let scope = TenantScope::of_stored(session.tenant);
        let Some(link) = store::link(self.db.reader(), scope, session.link).await? else {
            return Ok(None);
        };
        let Some(tenant) = tenant_by_id(self.db.reader(), scope.tenant()).await? else {
            return Ok(None);
        };
        if !link.is_live(now) || tenant.status != TenantStatus::Active {
            return Ok(None);
        }
        if now.as_micros() - session.last_seen_at.as_micros()
            >= i64::try_from(TOUCH_INTERVAL.as_micros()).unwrap_or(i64::MAX)
        {
            store::touch_setup_session(self.db.writer(), scope, &id, now).await?;
        }
        let actor = Actor::SetupLink {
            id: link.id.0,
            label: link.label.clone(),
        };
        Ok(Some(SetupSession {
            scope: TenantAccess::new(tenant, actor),
            link,
            csrf_token: session.csrf_token,
            expires_at: session.expires_at,
        }))
    }

    /// Ends a setup session (its holder is done).
    pub async fn end(&self, cookie: &str) -> Result<()> {
        if well_formed(cookie) {
            let id = crypto::sha256_hex(cookie.as_bytes());
            store::delete_setup_session(self.db.writer(), id).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
