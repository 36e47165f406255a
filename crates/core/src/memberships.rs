//! Who may manage which tenant: operators every tenant, a tenant admin the one tenant
//! their account belongs to (`admins.tenant_id`). [`TenantAccess`] is the proof of that
//! check that the tenant-scoped services take, so a query for a tenant the admin cannot
//! see cannot be written.
//!
//! Accounts are scoped to the tenant that invited them (see `crate::invitations`): an
//! admin of two tenants has two accounts, and nothing done in one tenant reaches an
//! account of another. `tenant_memberships` is still written, for releases before this
//! one during a rolling upgrade, but no longer read.

use crate::admins::{Admin, AdminId};
use crate::audit::{self, Actor, Change, Origin};
use crate::paging::{Page, PageSize};
use crate::store::TenantScope;
use crate::store::accounts::{self as store, AccountRow};
use crate::tenants::{Tenant, TenantId, TenantSlug};
use crate::throttle::{AccountKey, Throttle};
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// The only role for now.
const ROLE_ADMIN: &str = "admin";

/// A tenant the admin holding it may manage. Made only by [`MembershipService::access`]
/// (after the access check), by tenant creation and by a setup session
/// (`crate::setup_links`). It also says who acts through it and from which request, for
/// the audit rows the services write ([`crate::audit`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantAccess {
    tenant: Tenant,
    actor: Actor,
    origin: Origin,
}

impl TenantAccess {
    pub(crate) fn new(tenant: Tenant, actor: Actor) -> Self {
        Self {
            tenant,
            actor,
            origin: Origin::default(),
        }
    }

    /// The same access, within a request: its id and client address go into the audit
    /// rows of what is changed through it.
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Who acts through this access.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    pub fn id(&self) -> TenantId {
        self.tenant.id
    }

    pub fn slug(&self) -> &TenantSlug {
        &self.tenant.slug
    }
}

/// An admin of one tenant, as the admins page lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantAdmin {
    pub id: AdminId,
    pub email: String,
    pub role: String,
    pub added_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
    /// Still on a one-time password (`roster admin reset-password`).
    pub pending: bool,
}

impl From<AccountRow> for TenantAdmin {
    fn from(account: AccountRow) -> Self {
        Self {
            id: account.admin.id,
            email: account.admin.email,
            role: ROLE_ADMIN.to_owned(),
            added_at: account.created_at,
            last_login_at: account.last_login_at,
            pending: account.admin.must_change_password,
        }
    }
}

#[derive(Clone, Debug)]
pub struct MembershipService {
    db: Database,
}

impl MembershipService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The tenant `slug` names, if this admin may manage it. Unknown tenants and tenants
    /// of others are both `None`, so that the caller cannot tell them apart (404, not 403).
    pub async fn access(&self, admin: &Admin, slug: &str) -> Result<Option<TenantAccess>> {
        let Ok(slug) = TenantSlug::parse(slug) else {
            return Ok(None);
        };
        let Some(tenant) =
            crate::store::tenants::find_by_slug(self.db.reader(), slug.as_str()).await?
        else {
            return Ok(None);
        };
        if !admin.is_operator && admin.tenant_id != Some(tenant.id) {
            return Ok(None);
        }
        Ok(Some(TenantAccess::new(tenant, Actor::of_admin(admin))))
    }

    /// The tenant `slug` names, with the authority of whoever runs the `roster` command
    /// line on the server (who holds the database anyway). Never reachable over HTTP.
    pub async fn command_line_access(&self, slug: &str) -> Result<Option<TenantAccess>> {
        let Ok(slug) = TenantSlug::parse(slug) else {
            return Ok(None);
        };
        Ok(
            crate::store::tenants::find_by_slug(self.db.reader(), slug.as_str())
                .await?
                .map(|tenant| TenantAccess::new(tenant, Actor::CommandLine)),
        )
    }

    /// The tenant a tenant admin's account belongs to (none for operators, who see every
    /// tenant through `TenantService::list_page`).
    pub async fn tenants_of(&self, admin: &Admin) -> Result<Vec<Tenant>> {
        if admin.is_operator {
            return Ok(Vec::new());
        }
        let Some(id) = admin.tenant_id else {
            return Ok(Vec::new());
        };
        Ok(crate::store::tenants::find(self.db.reader(), id)
            .await?
            .into_iter()
            .collect())
    }

    /// The admins of a tenant, oldest first, a page at a time (keyset on the account id,
    /// a UUIDv7).
    pub async fn admins(
        &self,
        scope: &TenantAccess,
        after: Option<AdminId>,
        size: PageSize,
    ) -> Result<Page<TenantAdmin, AdminId>> {
        let tenant = TenantScope::from(scope);
        let rows = store::tenant_admins(self.db.reader(), tenant, after, size.probe())
            .await?
            .into_iter()
            .map(TenantAdmin::from)
            .collect();
        Ok(Page::from_probe(rows, size, |row: &TenantAdmin| row.id))
    }

    /// One admin of this tenant, for the confirmation page.
    pub async fn find(&self, scope: &TenantAccess, id: AdminId) -> Result<Option<TenantAdmin>> {
        let tenant = TenantScope::from(scope);
        Ok(store::tenant_admin(self.db.reader(), tenant, id)
            .await?
            .map(TenantAdmin::from))
    }

    /// Removes an admin of this tenant: their account is deleted (it belongs to this
    /// tenant only), and their sessions end with it. Nobody removes themselves (a tenant
    /// must not lose its last admin by a slip).
    pub async fn remove(&self, scope: &TenantAccess, id: AdminId, acting: &Admin) -> Result<()> {
        if acting.id == id {
            return Err(Error::invalid("admin", "you cannot remove yourself"));
        }
        let tenant = TenantScope::from(scope);
        let Some(AccountRow { admin: account, .. }) =
            store::tenant_admin(self.db.reader(), tenant, id).await?
        else {
            return Err(Error::NotFound);
        };
        let txn = self.db.begin_write().await?;
        // Both accounts locked: two admins removing each other at once remove one, and the
        // second finds its own account gone — a tenant does not lose both.
        let alive = store::lock_accounts((&self.db, &txn), &[acting.id, account.id]).await?;
        if !alive.contains(&acting.id) {
            txn.rollback().await?;
            return Err(Error::invalid(
                "admin",
                "your own account was removed meanwhile; nothing was changed",
            ));
        }
        let deleted = store::delete_admin(&txn, account.id).await?;
        if deleted == 0 {
            txn.rollback().await?;
            return Err(Error::NotFound);
        }
        audit::record(
            &txn,
            self.db.clock().now(),
            scope,
            Change::new("admin.remove").target("admin", account.id.0, account.email.clone()),
        )
        .await?;
        txn.commit().await?;
        // A later account of the same email here starts without this one's browsers.
        Throttle::new(self.db.clone())
            .forget_devices(&AccountKey::new(scope.slug().as_str(), &account.email))
            .await
    }
}
