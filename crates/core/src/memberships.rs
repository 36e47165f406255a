//! Who may manage which tenant: operators every tenant, tenant admins the tenants they
//! are members of. [`TenantAccess`] is the proof of that check that the tenant-scoped
//! services take, so a query for a tenant the admin cannot see cannot be written.

use roster_entity::{admin, tenant, tenant_membership};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use secrecy::SecretString;
use uuid::Uuid;

use crate::admins::{Admin, AdminEmail, AdminId};
use crate::crypto;
use crate::error::is_unique_violation;
use crate::paging::{Page, PageSize};
use crate::tenants::{Tenant, TenantId, TenantSlug};
use crate::time::Timestamp;
use crate::{Database, Error, Result};

/// The only membership role for now; a column so that read-only roles can come later.
const ROLE_ADMIN: &str = "admin";

/// A tenant the admin holding it may manage. Made only by [`MembershipService::access`]
/// (after the access check) and by tenant creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantAccess {
    tenant: Tenant,
}

impl TenantAccess {
    pub(crate) fn new(tenant: Tenant) -> Self {
        Self { tenant }
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
    /// Still on the one-time password of the invitation.
    pub pending: bool,
}

/// The result of an invitation. A new account comes with a one-time password, to be
/// shown once to the inviting admin; an existing account just gains the tenant.
pub struct Invitation {
    pub admin: Admin,
    pub one_time_password: Option<SecretString>,
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
        let Some(row) = tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug.as_str()))
            .one(self.db.reader())
            .await?
        else {
            return Ok(None);
        };
        if !admin.is_operator {
            let member = tenant_membership::Entity::find_by_id((row.id, admin.id.0))
                .one(self.db.reader())
                .await?;
            if member.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(TenantAccess::new(Tenant::from(row))))
    }

    /// The tenant `slug` names, with the authority of whoever runs the `roster` command
    /// line on the server (who holds the database anyway). Never reachable over HTTP.
    pub async fn command_line_access(&self, slug: &str) -> Result<Option<TenantAccess>> {
        let Ok(slug) = TenantSlug::parse(slug) else {
            return Ok(None);
        };
        Ok(tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug.as_str()))
            .one(self.db.reader())
            .await?
            .map(|row| TenantAccess::new(Tenant::from(row))))
    }

    /// The tenants a tenant admin belongs to, by slug. (Operators see every tenant through
    /// `TenantService::list_page`.)
    pub async fn tenants_of(&self, admin: AdminId) -> Result<Vec<Tenant>> {
        let ids: Vec<Uuid> = tenant_membership::Entity::find()
            .select_only()
            .column(tenant_membership::Column::TenantId)
            .filter(tenant_membership::Column::AdminId.eq(admin.0))
            .into_tuple()
            .all(self.db.reader())
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(ids))
            .order_by_asc(tenant::Column::Slug)
            .all(self.db.reader())
            .await?
            .into_iter()
            .map(Tenant::from)
            .collect())
    }

    /// The admins of a tenant, oldest membership first, a page at a time (keyset on the
    /// admin id, which is a UUIDv7).
    pub async fn admins(
        &self,
        scope: &TenantAccess,
        after: Option<AdminId>,
        size: PageSize,
    ) -> Result<Page<TenantAdmin, AdminId>> {
        let mut query = tenant_membership::Entity::find()
            .filter(tenant_membership::Column::TenantId.eq(scope.id().0))
            .order_by_asc(tenant_membership::Column::AdminId)
            .limit(size.probe());
        if let Some(after) = after {
            query = query.filter(tenant_membership::Column::AdminId.gt(after.0));
        }
        let memberships = query.all(self.db.reader()).await?;
        let ids: Vec<Uuid> = memberships.iter().map(|m| m.admin_id).collect();
        let admins = admin::Entity::find()
            .filter(admin::Column::Id.is_in(ids))
            .all(self.db.reader())
            .await?;
        let rows = memberships
            .into_iter()
            .filter_map(|membership| {
                let account = admins.iter().find(|a| a.id == membership.admin_id)?;
                Some(TenantAdmin {
                    id: AdminId(account.id),
                    email: account.email.clone(),
                    role: membership.role,
                    added_at: Timestamp::from_micros(membership.created_at),
                    last_login_at: account.last_login_at.map(Timestamp::from_micros),
                    pending: account.must_change_password,
                })
            })
            .collect();
        Ok(Page::from_probe(rows, size, |row: &TenantAdmin| row.id))
    }

    /// Makes `email` an admin of the tenant. A new account gets a one-time password it
    /// must change at first sign-in; an existing one keeps its password.
    pub async fn invite(&self, scope: &TenantAccess, email: AdminEmail) -> Result<Invitation> {
        let existing = admin::Entity::find()
            .filter(admin::Column::EmailLower.eq(email.lowercase()))
            .one(self.db.reader())
            .await?;
        if let Some(account) = &existing
            && account.is_operator
        {
            return Err(Error::invalid(
                "email",
                "belongs to an operator, who can already manage every tenant",
            ));
        }
        // Hashing happens before the write transaction: argon2 must not hold the lock.
        let (password, hash) = if existing.is_none() {
            let password = crypto::readable_password();
            let hash = crypto::hash_secret(SecretString::from(password.clone())).await?;
            (Some(SecretString::from(password)), Some(hash))
        } else {
            (None, None)
        };
        let now = Timestamp::now().as_micros();
        let txn = self.db.begin_write().await?;
        let account = match (existing, hash) {
            (Some(account), _) => account,
            (None, Some(hash)) => {
                let inserted = admin::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    email: Set(email.as_str().to_owned()),
                    email_lower: Set(email.lowercase()),
                    password_hash: Set(hash),
                    is_operator: Set(false),
                    must_change_password: Set(true),
                    failed_logins: Set(0),
                    locked_until: Set(None),
                    created_at: Set(now),
                    last_login_at: Set(None),
                }
                .insert(&txn)
                .await;
                match inserted {
                    Ok(row) => row,
                    Err(err) if is_unique_violation(&err) => {
                        return Err(Error::Conflict(
                            "this email was invited a moment ago; try again".to_owned(),
                        ));
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            (None, None) => return Err(Error::Internal("no password hash".to_owned())),
        };
        let membership = tenant_membership::ActiveModel {
            tenant_id: Set(scope.id().0),
            admin_id: Set(account.id),
            role: Set(ROLE_ADMIN.to_owned()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await;
        match membership {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                return Err(Error::invalid(
                    "email",
                    "is already an admin of this tenant",
                ));
            }
            Err(err) => return Err(err.into()),
        }
        txn.commit().await?;
        Ok(Invitation {
            admin: account.into(),
            one_time_password: password,
        })
    }

    /// One admin of this tenant, for the confirmation page.
    pub async fn find(&self, scope: &TenantAccess, id: AdminId) -> Result<Option<TenantAdmin>> {
        let Some(membership) = tenant_membership::Entity::find_by_id((scope.id().0, id.0))
            .one(self.db.reader())
            .await?
        else {
            return Ok(None);
        };
        Ok(admin::Entity::find_by_id(id.0)
            .one(self.db.reader())
            .await?
            .map(|account| TenantAdmin {
                id,
                email: account.email,
                role: membership.role,
                added_at: Timestamp::from_micros(membership.created_at),
                last_login_at: account.last_login_at.map(Timestamp::from_micros),
                pending: account.must_change_password,
            }))
    }

    /// Ends an admin's membership of this tenant. Nobody removes themselves (a tenant
    /// must not lose its last admin by a slip); the account itself stays.
    pub async fn remove(&self, scope: &TenantAccess, id: AdminId, acting: &Admin) -> Result<()> {
        if acting.id == id {
            return Err(Error::invalid("admin", "you cannot remove yourself"));
        }
        let deleted = tenant_membership::Entity::delete_by_id((scope.id().0, id.0))
            .exec(self.db.writer())
            .await?;
        if deleted.rows_affected == 0 {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}
